//! Conformance bodies for the audit log (run on every backend through
//! `conformance::conformance_tests!`).

use std::collections::BTreeSet;

use crate::*;
use serde_json::json;

use super::{base_fixture, loaded, NOW};

fn entry(org: &str, at: UnixTime, actor: &str, action: &str, targets: &[&str]) -> AuditEntry {
    AuditEntry {
        id: 0,
        org_id: org.into(),
        at,
        actor_user_id: actor.into(),
        action: action.into(),
        method: "admin.users.session.reset".into(),
        target_user_ids: targets.iter().map(|t| t.to_string()).collect(),
        session_id: None,
        details: json!({}),
        ip: None,
        user_agent: None,
        result: RESULT_OK.into(),
    }
}

fn ids(v: &[AuditEntry]) -> Vec<i64> {
    v.iter().map(|e| e.id).collect()
}

/// Appends the standard history of E1 (plus one E2 entry) and returns E1's ids in order.
async fn history(s: &DynStore) -> Vec<i64> {
    let plan = [
        ("E1", NOW, "W1", ACTION_SESSION_INVALIDATED, vec!["W2"]),
        ("E1", NOW + 10, "W1", ACTION_SESSION_RESET, vec!["W4"]),
        ("E2", NOW + 15, "W9", ACTION_SESSION_RESET, vec!["W9"]),
        ("E1", NOW + 20, "W0", ACTION_BULK_RESET, vec!["W2", "W4"]),
        ("E1", NOW + 30, "W0", ACTION_SETTINGS_CHANGED, vec!["W2"]),
        ("E1", NOW + 40, "W1", ACTION_SESSION_RESET, vec!["W2"]),
    ];
    let mut out = Vec::new();
    for (org, at, actor, action, targets) in plan {
        let id = s
            .append_audit(&entry(org, at, actor, action, &targets))
            .await
            .unwrap();
        if org == "E1" {
            out.push(id);
        }
    }
    out
}

async fn all(s: &DynStore, org: &str, f: &AuditFilter) -> Vec<AuditEntry> {
    s.list_audit(org, f, AuditPage::Newest, 1000).await.unwrap()
}

pub async fn audit_entries_round_trip_newest_first(s: DynStore) {
    loaded(&s).await;
    let mut full = entry("E1", NOW, "W1", ACTION_SESSION_INVALIDATED, &["W2"]);
    full.method = "admin.users.session.invalidate".into();
    full.session_id = Some(1001);
    full.details = json!({"team_id": "T1", "nested": {"n": [1, 2]}});
    full.ip = Some("203.0.113.9".into());
    full.user_agent = Some("Python/3.12 slack_sdk/3.33".into());
    let a = s.append_audit(&full).await.unwrap();
    let mut failed = entry("E1", NOW + 1, "W2", ACTION_SESSION_RESET, &[]);
    failed.result = "not_an_admin".into();
    failed.id = 999_999; // ignored on append
    let b = s.append_audit(&failed).await.unwrap();
    assert!(b > a, "ids increase: {a} then {b}");
    let got = all(&s, "E1", &AuditFilter::default()).await;
    assert_eq!(ids(&got), vec![b, a], "newest first");
    assert_eq!(got[1], AuditEntry { id: a, ..full });
    assert_eq!(got[0], AuditEntry { id: b, ..failed });
    assert!(all(&s, "E2", &AuditFilter::default()).await.is_empty());
}

pub async fn audit_filters_match_every_field(s: DynStore) {
    loaded(&s).await;
    let h = history(&s).await; // [inv W2, reset W4, bulk W2+W4, settings W2, reset W2]
    let q = |f: AuditFilter| {
        let s = s.clone();
        async move { ids(&all(&s, "E1", &f).await) }
    };
    assert_eq!(
        q(AuditFilter::default()).await,
        vec![h[4], h[3], h[2], h[1], h[0]]
    );
    let action = |a: &str| AuditFilter {
        action: Some(a.into()),
        ..Default::default()
    };
    assert_eq!(q(action(ACTION_SESSION_RESET)).await, vec![h[4], h[1]]);
    assert_eq!(q(action(ACTION_BULK_RESET)).await, vec![h[2]]);
    assert_eq!(q(action("no_such_action")).await, Vec::<i64>::new());
    let actor = |a: &str| AuditFilter {
        actor: Some(a.into()),
        ..Default::default()
    };
    assert_eq!(q(actor("W0")).await, vec![h[3], h[2]]);
    assert_eq!(q(actor("W9")).await, Vec::<i64>::new(), "E2's actor");
    let user = |u: &str| AuditFilter {
        user: Some(u.into()),
        ..Default::default()
    };
    assert_eq!(q(user("W2")).await, vec![h[4], h[3], h[2], h[0]]);
    assert_eq!(
        q(user("W4")).await,
        vec![h[2], h[1]],
        "bulk entry names W4 too"
    );
    assert_eq!(q(user("W9")).await, Vec::<i64>::new(), "E2's target");
    let window = AuditFilter {
        oldest: Some(NOW + 10),
        latest: Some(NOW + 30),
        ..Default::default()
    };
    assert_eq!(q(window).await, vec![h[3], h[2], h[1]], "bounds inclusive");
    let combined = AuditFilter {
        action: Some(ACTION_SESSION_RESET.into()),
        actor: Some("W1".into()),
        user: Some("W2".into()),
        oldest: Some(NOW + 40),
        latest: Some(NOW + 40),
    };
    assert_eq!(q(combined).await, vec![h[4]]);
    let e2 = all(&s, "E2", &AuditFilter::default()).await;
    assert_eq!(e2.len(), 1);
    assert_eq!(e2[0].actor_user_id, "W9");
}

pub async fn audit_pages_cover_each_entry_once(s: DynStore) {
    loaded(&s).await;
    let mut expected = Vec::new();
    for i in 0..23 {
        let target = if i % 2 == 0 { "W2" } else { "W4" };
        let e = entry("E1", NOW + i, "W1", ACTION_SESSION_RESET, &[target]);
        let id = s.append_audit(&e).await.unwrap();
        if i % 2 == 0 {
            expected.push(id);
        }
        // Noise in another org interleaved with ours.
        s.append_audit(&entry("E2", NOW + i, "W9", ACTION_SESSION_RESET, &["W2"]))
            .await
            .unwrap();
    }
    let f = AuditFilter {
        user: Some("W2".into()),
        ..Default::default()
    };
    // Newest first, 5 at a time.
    let mut seen = Vec::new();
    let mut page = AuditPage::Newest;
    loop {
        let rows = s.list_audit("E1", &f, page, 5).await.unwrap();
        assert!(rows.len() <= 5);
        let Some(last) = rows.last() else { break };
        page = AuditPage::Before(last.id);
        seen.extend(ids(&rows));
    }
    let mut newest_first = expected.clone();
    newest_first.reverse();
    assert_eq!(seen, newest_first);
    // Oldest first from the start, 4 at a time.
    let mut seen = Vec::new();
    let mut page = AuditPage::After(0);
    loop {
        let rows = s.list_audit("E1", &f, page, 4).await.unwrap();
        let Some(last) = rows.last() else { break };
        page = AuditPage::After(last.id);
        seen.extend(ids(&rows));
    }
    assert_eq!(seen, expected);
    assert!(s
        .list_audit("E1", &f, AuditPage::Newest, 0)
        .await
        .unwrap()
        .is_empty());
}

pub async fn audit_survives_fixture_reloads_not_reset_all(s: DynStore) {
    loaded(&s).await;
    let h = history(&s).await;
    // Reloading (replacing) E1 keeps its history.
    s.load_fixture(&base_fixture(), NOW + 100).await.unwrap();
    assert_eq!(
        ids(&all(&s, "E1", &AuditFilter::default()).await).len(),
        h.len()
    );
    s.reset_all().await.unwrap();
    assert!(all(&s, "E1", &AuditFilter::default()).await.is_empty());
    assert!(all(&s, "E2", &AuditFilter::default()).await.is_empty());
    // Ids are not reused after a reset.
    let next = s
        .append_audit(&entry("E1", NOW, "W1", ACTION_SESSION_RESET, &["W2"]))
        .await
        .unwrap();
    assert!(next > *h.iter().max().unwrap());
}

pub async fn audit_concurrent_appends_get_distinct_ids(s: DynStore) {
    loaded(&s).await;
    let mut tasks = Vec::new();
    for i in 0..32 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let e = entry("E1", NOW + i, "W1", ACTION_SESSION_RESET, &["W2"]);
            s.append_audit(&e).await.unwrap()
        }));
    }
    let mut got = BTreeSet::new();
    for t in tasks {
        assert!(got.insert(t.await.unwrap()), "duplicate id");
    }
    let listed: BTreeSet<i64> = ids(&all(&s, "E1", &AuditFilter::default()).await)
        .into_iter()
        .collect();
    assert_eq!(listed, got);
}

pub async fn audit_bulk_jobs_record_their_entries_atomically(s: DynStore) {
    loaded(&s).await;
    let mut bulk = entry("E1", NOW, "W1", ACTION_BULK_RESET, &["W2", "W404", "W3"]);
    bulk.method = "admin.users.session.resetBulk".into();
    bulk.ip = Some("192.0.2.1".into());
    bulk.user_agent = Some("ua/1".into());
    bulk.details = json!({"scope": "all"});
    let users: Vec<String> = ["W2", "W404", "W3"].map(String::from).to_vec();
    let job = s
        .enqueue_bulk_reset_audited("E1", "W1", &users, ResetFilter::All, NOW, NOW, &bulk)
        .await
        .unwrap();
    // A job whose entry is gone (pruned by retention before the job ran) still gets
    // per-user entries, without a caller context.
    let mut old = entry("E1", NOW - 100, "W0", ACTION_BULK_RESET, &["W2"]);
    old.ip = Some("192.0.2.9".into());
    let bare = s
        .enqueue_bulk_reset_audited(
            "E1",
            "W0",
            &users[..1],
            ResetFilter::WebOnly,
            NOW,
            NOW,
            &old,
        )
        .await
        .unwrap();
    assert_eq!(s.prune_audit(NOW - 50, 10).await.unwrap(), 1);
    let got = all(&s, "E1", &AuditFilter::default()).await;
    assert_eq!(got.len(), 1, "the bulk entry came with the job");
    assert_eq!(got[0].details, json!({"scope": "all", "job_id": job}));
    assert_eq!(got[0].ip.as_deref(), Some("192.0.2.1"));

    for _ in 0..2 {
        let claim = s.claim_bulk_job("w", NOW + 5, 60).await.unwrap().unwrap();
        s.complete_bulk_job(&claim, NOW + 7).await.unwrap();
        // Completing again is refused and adds nothing.
        assert!(matches!(
            s.complete_bulk_job(&claim, NOW + 8).await,
            Err(StoreError::LeaseLost)
        ));
    }
    let per_user = s
        .list_audit(
            "E1",
            &AuditFilter {
                action: Some(ACTION_SESSION_RESET.into()),
                ..Default::default()
            },
            AuditPage::After(0),
            100,
        )
        .await
        .unwrap();
    let summary: Vec<(String, String, String, i64, Option<String>)> = per_user
        .iter()
        .map(|e| {
            assert_eq!(e.at, NOW + 7);
            assert_eq!(e.method, "admin.users.session.resetBulk");
            assert_eq!(e.details["job_id"], e.details["job_id"].as_i64().unwrap());
            (
                e.actor_user_id.clone(),
                e.target_user_ids.join(","),
                e.result.clone(),
                e.details["job_id"].as_i64().unwrap(),
                e.ip.clone(),
            )
        })
        .collect();
    let ip = Some("192.0.2.1".to_owned());
    assert_eq!(
        summary,
        vec![
            ("W1".into(), "W2".into(), "ok".into(), job, ip.clone()),
            (
                "W1".into(),
                "W404".into(),
                "user_not_found".into(),
                job,
                ip.clone()
            ),
            ("W1".into(), "W3".into(), "cannot_reset_bot".into(), job, ip),
            ("W0".into(), "W2".into(), "ok".into(), bare, None),
        ]
    );
    assert_eq!(per_user[0].user_agent.as_deref(), Some("ua/1"));
    assert_eq!(per_user[0].details["scope"], "all");
    assert_eq!(per_user[3].details["scope"], "web_only");
}

pub async fn audit_writes_record_their_entry_iff_applied(s: DynStore) {
    loaded(&s).await;
    let count = |s: DynStore| async move { all(&s, "E1", &AuditFilter::default()).await.len() };
    let e = |action: &str, target: &str| entry("E1", NOW, "W1", action, &[target]);

    let inv = e(ACTION_SESSION_INVALIDATED, "W2");
    assert!(s
        .invalidate_session_audited("E1", 1001, NOW, &inv)
        .await
        .unwrap());
    assert_eq!(count(s.clone()).await, 1);
    // Not active any more: nothing applied, nothing recorded.
    assert!(!s
        .invalidate_session_audited("E1", 1001, NOW, &inv)
        .await
        .unwrap());
    assert!(!s
        .invalidate_session_audited("E2", 1002, NOW, &inv)
        .await
        .unwrap());
    assert_eq!(count(s.clone()).await, 1);

    let reset = e(ACTION_SESSION_RESET, "W2");
    let n = s
        .reset_user_audited("E1", "W2", ResetFilter::MobileOnly, NOW, &reset)
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(count(s.clone()).await, 2);

    let set = e(ACTION_SETTINGS_CHANGED, "W2");
    let change = SettingsChange {
        duration: Some(86_400),
        desktop_app_browser_quit: None,
    };
    // An unknown user refuses the change, and its entry with it.
    let bad = ["W2", "W404"].map(String::from).to_vec();
    assert!(matches!(
        s.set_settings_audited("E1", &bad, change, &set).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(count(s.clone()).await, 2);
    assert!(s.get_settings("E1", &bad).await.unwrap().is_empty());
    let good = ["W2".to_owned()];
    s.set_settings_audited("E1", &good, change, &set)
        .await
        .unwrap();
    assert_eq!(
        s.get_settings("E1", &good).await.unwrap()[0].duration,
        Some(86_400)
    );
    s.clear_settings_audited("E1", &good, &set).await.unwrap();
    assert!(s.get_settings("E1", &good).await.unwrap().is_empty());

    let actions: Vec<String> = all(&s, "E1", &AuditFilter::default())
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            ACTION_SETTINGS_CHANGED,
            ACTION_SETTINGS_CHANGED,
            ACTION_SESSION_RESET,
            ACTION_SESSION_INVALIDATED
        ]
    );
}

/// Retention: entries older than the cut go, oldest first and at most `limit` per call, in
/// every org and with their targets (a per-user filter no longer finds them); newer ones stay.
pub async fn audit_prune_deletes_old_entries_oldest_first(s: DynStore) {
    loaded(&s).await;
    let e1 = history(&s).await; // E1 at NOW, +10, +20, +30, +40; E2 at +15
    assert_eq!(
        s.prune_audit(NOW + 25, 2).await.unwrap(),
        2,
        "NOW and NOW+10 go first"
    );
    let left = all(&s, "E1", &AuditFilter::default()).await;
    assert_eq!(ids(&left), vec![e1[4], e1[3], e1[2]]);
    assert_eq!(
        s.prune_audit(NOW + 25, 2).await.unwrap(),
        2,
        "E2's +15 and E1's +20"
    );
    assert_eq!(
        s.prune_audit(NOW + 25, 2).await.unwrap(),
        0,
        "nothing older is left"
    );
    assert_eq!(
        ids(&all(&s, "E1", &AuditFilter::default()).await),
        vec![e1[4], e1[3]]
    );
    assert!(all(&s, "E2", &AuditFilter::default()).await.is_empty());
    let w4 = AuditFilter {
        user: Some("W4".into()),
        ..AuditFilter::default()
    };
    assert!(
        all(&s, "E1", &w4).await.is_empty(),
        "W4 was a target of pruned entries only"
    );
    let w2 = AuditFilter {
        user: Some("W2".into()),
        ..AuditFilter::default()
    };
    assert_eq!(ids(&all(&s, "E1", &w2).await), vec![e1[4], e1[3]]);
    // Appends after a prune still work and get fresh ids.
    let id = s
        .append_audit(&entry("E1", NOW + 50, "W1", ACTION_SESSION_RESET, &["W2"]))
        .await
        .unwrap();
    assert!(id > e1[4]);
}
