//! Conformance bodies for expiry being final and for ids that reveal nothing about other orgs
//! (run on every backend through `conformance::conformance_tests!`).

use crate::*;
use serde_json::json;

use super::{base_fixture, loaded, strings, PlainWrites, NOW};

const DAY: i64 = 86_400;

async fn set_duration(s: &DynStore, users: &[&str], secs: i64) {
    s.set_settings(
        "E1",
        &strings(users),
        SettingsChange {
            duration: Some(secs as u64),
            desktop_app_browser_quit: None,
        },
    )
    .await
    .unwrap();
}

async fn listed(s: &DynStore, now: UnixTime) -> Vec<u64> {
    s.list_sessions("E1", &SessionFilter::default(), None, 1000, now)
        .await
        .unwrap()
        .iter()
        .map(|r| r.session_id)
        .collect()
}

async fn lookup(s: &DynStore, token: &str, now: UnixTime) -> TokenLookup {
    s.authenticate(&TokenHash::of(token), now).await.unwrap()
}

/// Once past its expiry a session stays ended: a longer duration, clearing the settings, and
/// (once swept by `expire_sessions`) a clock moved back all leave it ended.
pub async fn expired_sessions_never_come_back(s: DynStore) {
    loaded(&s).await;
    // 1008 (W0, token xoxc-1008) is two days old: a one-day duration ends it.
    set_duration(&s, &["W0"], DAY).await;
    assert_eq!(
        lookup(&s, "xoxc-1008", NOW).await,
        TokenLookup::SessionEnded
    );

    // A longer duration does not bring it back, nor lengthen the other session.
    set_duration(&s, &["W0"], 30 * DAY).await;
    assert_eq!(
        lookup(&s, "xoxc-1008", NOW).await,
        TokenLookup::SessionEnded
    );
    assert!(!listed(&s, NOW).await.contains(&1008));
    assert_eq!(
        s.session("E1", 1007).await.unwrap().unwrap().expires_at,
        Some(NOW + DAY)
    );
    // Neither does clearing.
    s.clear_settings("E1", &strings(&["W0"])).await.unwrap();
    assert_eq!(
        lookup(&s, "xoxc-1008", NOW).await,
        TokenLookup::SessionEnded
    );
    assert!(!listed(&s, NOW).await.contains(&1008));

    // Swept: the end is recorded at the expiry time, so a clock moved back to before the
    // expiry still finds it ended.
    assert_eq!(s.expire_sessions(NOW, 100).await.unwrap(), 1);
    let row = s.session("E1", 1008).await.unwrap().unwrap();
    assert_eq!(row.revoked_at, Some(NOW - DAY));
    assert!(!row.is_active(NOW - 2 * DAY + 1));
    assert_eq!(
        lookup(&s, "xoxc-1008", NOW - 2 * DAY + 1).await,
        TokenLookup::SessionEnded
    );
    assert!(!listed(&s, NOW - 2 * DAY + 1).await.contains(&1008));
    // And no settings change afterwards touches it.
    set_duration(&s, &["W0"], 300 * DAY).await;
    assert_eq!(
        lookup(&s, "xoxc-1008", NOW - DAY - 1).await,
        TokenLookup::SessionEnded
    );

    // 1007 expires a day from now; swept then, it stays ended when the clock goes back.
    assert!(listed(&s, NOW).await.contains(&1007));
    assert_eq!(s.expire_sessions(NOW + DAY, 100).await.unwrap(), 1);
    assert!(!listed(&s, NOW).await.contains(&1007));
    assert_eq!(s.expire_sessions(NOW + DAY, 100).await.unwrap(), 0);
}

/// `expire_sessions` ends at most `limit` sessions per call, only expired ones.
pub async fn expire_sessions_works_in_batches(s: DynStore) {
    loaded(&s).await;
    // W2's four sessions (created now) expire in a day; W4's never.
    set_duration(&s, &["W2"], DAY).await;
    assert_eq!(
        s.expire_sessions(NOW, 10).await.unwrap(),
        0,
        "none expired yet"
    );
    let later = NOW + 2 * DAY;
    assert_eq!(s.expire_sessions(later, 3).await.unwrap(), 3);
    assert_eq!(s.expire_sessions(later, 3).await.unwrap(), 1);
    assert_eq!(s.expire_sessions(later, 3).await.unwrap(), 0);
    for id in 1001..=1004 {
        let row = s.session("E1", id).await.unwrap().unwrap();
        assert_eq!(row.revoked_at, Some(NOW + DAY), "session {id}");
    }
    assert!(s
        .session("E1", 1006)
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_none());
    assert_eq!(
        lookup(&s, "xoxc-1001", NOW).await,
        TokenLookup::SessionEnded
    );
}

/// `users_with_sessions` keeps the users (deduplicated, in order) with an active session.
pub async fn users_with_sessions_are_those_with_active_ones(s: DynStore) {
    loaded(&s).await;
    let asked = strings(&["W1", "W2", "W0", "W2", "W404", "W9"]);
    assert_eq!(
        s.users_with_sessions("E1", &asked, NOW).await.unwrap(),
        strings(&["W2", "W0"])
    );
    s.reset_user("E1", "W2", ResetFilter::All, NOW)
        .await
        .unwrap();
    assert_eq!(
        s.users_with_sessions("E1", &asked, NOW).await.unwrap(),
        strings(&["W0"])
    );
    // Expired sessions do not count.
    set_duration(&s, &["W0"], DAY).await;
    assert_eq!(
        s.users_with_sessions("E1", &asked, NOW + 2 * DAY)
            .await
            .unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        s.users_with_sessions("E2", &strings(&["W9"]), NOW)
            .await
            .unwrap(),
        strings(&["W9"])
    );
}

fn entry(org: &str, actor: &str) -> AuditEntry {
    AuditEntry {
        id: 0,
        org_id: org.into(),
        at: NOW,
        actor_user_id: actor.into(),
        action: ACTION_SESSION_RESET.into(),
        method: "admin.users.session.reset".into(),
        target_user_ids: vec![actor.into()],
        session_id: None,
        details: json!({}),
        ip: None,
        user_agent: None,
        result: RESULT_OK.into(),
    }
}

/// Audit entry ids and job ids count per org: one org's activity leaves no gap in another's
/// ids. Ids are never handed out twice, not even after `reset_all` or a fixture reload.
pub async fn audit_and_job_ids_are_numbered_per_org(s: DynStore) {
    loaded(&s).await;
    let mut e1 = Vec::new();
    let mut e2 = Vec::new();
    for _ in 0..3 {
        e1.push(s.append_audit(&entry("E1", "W1")).await.unwrap());
        e2.push(s.append_audit(&entry("E2", "W9")).await.unwrap());
        e2.push(s.append_audit(&entry("E2", "W9")).await.unwrap());
    }
    assert_eq!(e1, vec![1, 2, 3]);
    assert_eq!(e2, vec![1, 2, 3, 4, 5, 6]);
    let listed: Vec<i64> = s
        .list_audit("E1", &AuditFilter::default(), AuditPage::Newest, 10)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(listed, vec![3, 2, 1]);
    let after: Vec<i64> = s
        .list_audit("E2", &AuditFilter::default(), AuditPage::Before(3), 10)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(after, vec![2, 1]);

    let users = strings(&["W2"]);
    let j1 = s
        .enqueue_bulk_reset("E2", "W9", &strings(&["W9"]), ResetFilter::All, NOW, NOW)
        .await
        .unwrap();
    let j2 = s
        .enqueue_bulk_reset_audited(
            "E1",
            "W1",
            &users,
            ResetFilter::All,
            NOW,
            NOW,
            &entry("E1", "W1"),
        )
        .await
        .unwrap();
    assert_eq!((j1, j2), (1, 1), "each org's first job");
    let recorded = s
        .list_audit("E1", &AuditFilter::default(), AuditPage::Newest, 1)
        .await
        .unwrap();
    assert_eq!(recorded[0].id, 4);
    assert_eq!(recorded[0].details["job_id"], json!(1));
    // Both orgs' job 1 exist side by side and are told apart by org.
    assert_eq!(s.bulk_job("E1", 1).await.unwrap().unwrap().org_id, "E1");
    assert_eq!(s.bulk_job("E2", 1).await.unwrap().unwrap().org_id, "E2");
    assert!(s.bulk_job("E1", 2).await.unwrap().is_none());
    // Both run, each against its own org.
    for _ in 0..2 {
        let claim = s.claim_bulk_job("w", NOW, 30).await.unwrap().unwrap();
        let done = s.complete_bulk_job(&claim, NOW).await.unwrap();
        assert_eq!(done.state, JobState::Done);
    }
    assert!(s.claim_bulk_job("w", NOW, 30).await.unwrap().is_none());
    assert_eq!(
        s.bulk_job("E1", 1).await.unwrap().unwrap().results,
        vec![("W2".to_owned(), None)]
    );

    // A fixture reload deletes E1's jobs but not its numbering.
    s.load_fixture(&base_fixture(), NOW).await.unwrap();
    let j3 = s
        .enqueue_bulk_reset("E1", "W1", &users, ResetFilter::All, NOW, NOW)
        .await
        .unwrap();
    assert_eq!(j3, 2);
    // Nor does reset_all.
    s.reset_all().await.unwrap();
    assert!(s.append_audit(&entry("E1", "W1")).await.unwrap() > 4);
}
