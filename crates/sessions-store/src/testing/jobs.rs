//! Conformance: resetBulk jobs, dump, reset, the server secret and concurrent writers.

use std::collections::BTreeSet;

use super::*;

// ----- bulk jobs ----------------------------------------------------------------------------

pub async fn bulk_jobs_claim_lease_and_complete(s: DynStore) {
    loaded(&s).await;
    assert_eq!(s.pending_bulk_jobs().await.unwrap(), 0);
    assert!(
        s.claim_bulk_job("w", NOW, 60).await.unwrap().is_none(),
        "nothing to claim"
    );

    let users = strings(&["W2", "W404", "W3", "W4"]);
    let j1 = s
        .enqueue_bulk_reset("E1", "W1", &users, ResetFilter::MobileOnly, NOW, NOW)
        .await
        .unwrap();
    let j2 = s
        .enqueue_bulk_reset("E1", "W1", &strings(&["W4"]), ResetFilter::All, NOW, NOW)
        .await
        .unwrap();
    let j3 = s
        .enqueue_bulk_reset(
            "E1",
            "W1",
            &strings(&["W0"]),
            ResetFilter::All,
            NOW,
            NOW + 100,
        )
        .await
        .unwrap();
    assert!(j1 < j2 && j2 < j3, "ids grow: {j1} {j2} {j3}");
    assert_eq!(s.pending_bulk_jobs().await.unwrap(), 3);
    let stored = s.bulk_job("E1", j1).await.unwrap().unwrap();
    assert_eq!(stored.user_ids, users);
    assert_eq!(stored.filter, ResetFilter::MobileOnly);
    assert_eq!(stored.state, JobState::Pending);
    assert_eq!(
        (stored.created_at, stored.run_after, stored.attempts),
        (NOW, NOW, 0)
    );
    assert!(stored.results.is_empty() && stored.finished_at.is_none());
    assert_eq!(stored.actor_user_id, "W1");
    assert_eq!(
        s.bulk_job("E2", j1).await.unwrap(),
        None,
        "jobs are per org"
    );

    // Oldest first; a leased job is not handed out again; run_after is honoured.
    let a = s.claim_bulk_job("A", NOW, 60).await.unwrap().unwrap();
    assert_eq!((a.job.job_id, a.job.attempts), (j1, 1));
    let b = s.claim_bulk_job("B", NOW, 60).await.unwrap().unwrap();
    assert_eq!(b.job.job_id, j2);
    assert!(
        s.claim_bulk_job("C", NOW + 60, 60).await.unwrap().is_none(),
        "leases still held"
    );

    // A's lease lapses; C takes j1 over.
    let c = s.claim_bulk_job("C", NOW + 61, 60).await.unwrap().unwrap();
    assert_eq!((c.job.job_id, c.job.attempts), (j1, 2));
    assert_ne!(c.lease, a.lease);
    assert!(matches!(
        s.complete_bulk_job(&a, NOW + 62).await,
        Err(StoreError::LeaseLost)
    ));
    assert_eq!(
        list_all(&s, "E1", NOW).await,
        vec![1001, 1002, 1003, 1004, 1006, 1007, 1008],
        "A applied nothing"
    );
    assert_eq!(
        s.bulk_job("E1", j1).await.unwrap().unwrap().state,
        JobState::Pending
    );

    let done = s.complete_bulk_job(&c, NOW + 63).await.unwrap();
    assert_eq!(done.state, JobState::Done);
    assert_eq!(done.finished_at, Some(NOW + 63));
    assert_eq!(done.attempts, 2);
    assert_eq!(
        done.results,
        vec![
            ("W2".to_string(), None),
            ("W404".to_string(), Some("user_not_found".to_string())),
            ("W3".to_string(), Some("cannot_reset_bot".to_string())),
            ("W4".to_string(), None),
        ]
    );
    assert_eq!(s.bulk_job("E1", j1).await.unwrap().unwrap(), done);
    // Mobile only: W2's ios and android sessions; W4 has only web.
    assert_eq!(
        list_all(&s, "E1", NOW + 63).await,
        vec![1001, 1002, 1006, 1007, 1008]
    );
    assert_eq!(
        s.session("E1", 1003).await.unwrap().unwrap().revoked_at,
        Some(NOW + 63)
    );
    assert!(
        matches!(
            s.complete_bulk_job(&c, NOW + 64).await,
            Err(StoreError::LeaseLost)
        ),
        "done once"
    );
    assert_eq!(s.pending_bulk_jobs().await.unwrap(), 2);

    let done = s.complete_bulk_job(&b, NOW + 65).await.unwrap();
    assert_eq!(done.results, vec![("W4".to_string(), None)]);
    assert!(
        s.claim_bulk_job("C", NOW + 99, 60).await.unwrap().is_none(),
        "j3 not yet runnable"
    );
    let c3 = s.claim_bulk_job("C", NOW + 100, 60).await.unwrap().unwrap();
    assert_eq!(c3.job.job_id, j3);
    s.complete_bulk_job(&c3, NOW + 101).await.unwrap();
    assert_eq!(s.pending_bulk_jobs().await.unwrap(), 0);
    assert!(
        s.claim_bulk_job("C", NOW + 1000, 60)
            .await
            .unwrap()
            .is_none(),
        "done jobs stay done"
    );
}

pub async fn bulk_job_claims_are_exclusive_under_contention(s: DynStore) {
    loaded(&s).await;
    for _ in 0..4 {
        s.enqueue_bulk_reset("E1", "W1", &strings(&["W2"]), ResetFilter::All, NOW, NOW)
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for w in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.claim_bulk_job(&format!("w{w}"), NOW, 60).await.unwrap()
        }));
    }
    let mut claimed = Vec::new();
    for t in tasks {
        if let Some(c) = t.await.unwrap() {
            claimed.push(c.job.job_id);
        }
    }
    claimed.sort();
    let distinct: BTreeSet<_> = claimed.iter().collect();
    assert_eq!(
        claimed.len(),
        4,
        "each job claimed exactly once: {claimed:?}"
    );
    assert_eq!(distinct.len(), 4);
}

// ----- administration -----------------------------------------------------------------------

pub async fn dump_leaves_tokens_out(s: DynStore) {
    loaded(&s).await;
    s.set_settings(
        "E1",
        &strings(&["W2"]),
        SettingsChange {
            duration: Some(28_800),
            desktop_app_browser_quit: Some(true),
        },
    )
    .await
    .unwrap();
    let d = s.dump(None).await.unwrap();
    assert_eq!(
        d.orgs.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
        vec!["E1", "E2"]
    );
    let e1 = &d.orgs[0];
    let base = &base_fixture().orgs[0];
    assert_eq!(e1.name, "Acme");
    assert_eq!(e1.teams, base.teams);
    assert_eq!(e1.users, base.users);
    assert_eq!(e1.tokens.len(), 3);
    assert!(
        e1.tokens.iter().all(|t| t.token.is_empty()),
        "no clear tokens"
    );
    assert_eq!(e1.tokens[0].user, "W1");
    assert_eq!(e1.tokens[0].kind, "user");
    assert_eq!(e1.tokens[0].scopes, base.tokens[0].scopes);
    assert_eq!(e1.tokens[1].kind, "bot");
    assert_eq!(
        e1.sessions.iter().map(|x| x.session_id).collect::<Vec<_>>(),
        (1001..=1008).collect::<Vec<_>>()
    );
    assert!(
        e1.sessions.iter().all(|x| x.token.is_none()),
        "no session tokens"
    );
    assert_eq!(e1.sessions[0].created, base.sessions[0].created);
    assert_eq!(e1.sessions[0].recent, base.sessions[0].recent);
    assert_eq!(e1.sessions[0].created_at, Some(NOW));
    assert_eq!(e1.sessions[7].created_at, Some(NOW - 2 * DAY));
    assert_eq!(
        e1.settings,
        vec![FixtureSettings {
            user: "W2".into(),
            duration: Some(28_800),
            desktop_app_browser_quit: Some(true)
        }]
    );
    let json = serde_json::to_string(&d).unwrap();
    for t in ["xoxp-admin", "xoxb-bot", "xoxc-1001", "xoxp-other"] {
        assert!(!json.contains(t), "{t} leaked into the dump");
    }
    let only = s.dump(Some("E2")).await.unwrap();
    assert_eq!(only.orgs, vec![d.orgs[1].clone()]);
    assert!(s.dump(Some("E404")).await.unwrap().orgs.is_empty());
}

pub async fn reset_all_keeps_only_the_secret(s: DynStore) {
    let secret = s.server_secret().await.unwrap();
    loaded(&s).await;
    s.enqueue_bulk_reset("E1", "W1", &strings(&["W2"]), ResetFilter::All, NOW, NOW)
        .await
        .unwrap();
    s.reset_all().await.unwrap();
    assert!(s.dump(None).await.unwrap().orgs.is_empty());
    assert_eq!(s.pending_bulk_jobs().await.unwrap(), 0);
    assert_eq!(
        s.authenticate(&TokenHash::of("xoxp-admin"), NOW)
            .await
            .unwrap(),
        TokenLookup::Unknown
    );
    assert_eq!(
        s.authenticate(&TokenHash::of("xoxc-1001"), NOW)
            .await
            .unwrap(),
        TokenLookup::Unknown
    );
    assert_eq!(s.user("E1", "W2").await.unwrap(), None);
    assert_eq!(s.server_secret().await.unwrap(), secret);
    loaded(&s).await; // the same fixture loads again
    assert_eq!(list_all(&s, "E1", NOW).await.len(), 7);
}

pub async fn server_secret_is_created_once(s: DynStore) {
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(
            async move { s.server_secret().await.unwrap() },
        ));
    }
    let mut got = BTreeSet::new();
    for t in tasks {
        got.insert(t.await.unwrap());
    }
    assert_eq!(got.len(), 1, "every caller sees the same secret");
    let secret = got.into_iter().next().unwrap();
    assert_eq!(secret.len(), 32);
    assert!(secret.iter().any(|b| *b != 0));
    assert_eq!(s.server_secret().await.unwrap(), secret);
}

// ----- concurrency --------------------------------------------------------------------------

pub async fn concurrent_writes_are_all_applied(s: DynStore) {
    loaded(&s).await;
    // 64 sessions to invalidate plus 16 users' resets, all at once.
    let mut f = base_fixture();
    for u in 0..16 {
        f.orgs[0].users.push(FixtureUser {
            id: format!("WC{u}"),
            name: format!("c{u}"),
            role: "member".into(),
            is_bot: false,
            teams: vec!["T1".into()],
            ..Default::default()
        });
        for k in 0..2 {
            f.orgs[0].sessions.push(FixtureSession {
                session_id: 5000 + u * 2 + k,
                user: format!("WC{u}"),
                team: "T1".into(),
                client: "ios".into(),
                token: None,
                created_at: None,
                created: Device::default(),
                recent: None,
            });
        }
    }
    for i in 0..64 {
        f.orgs[0].sessions.push(FixtureSession {
            session_id: 6000 + i,
            user: "W4".into(),
            team: "T2".into(),
            client: "desktop".into(),
            token: None,
            created_at: None,
            created: Device::default(),
            recent: None,
        });
    }
    s.load_fixture(&f, NOW).await.unwrap();

    let mut invalidations = Vec::new();
    for i in 0..64u64 {
        let s = s.clone();
        invalidations.push(tokio::spawn(async move {
            s.invalidate_session("E1", 6000 + i, NOW).await
        }));
    }
    let mut resets = Vec::new();
    for u in 0..16 {
        let s = s.clone();
        resets.push(tokio::spawn(async move {
            s.reset_user("E1", &format!("WC{u}"), ResetFilter::All, NOW)
                .await
        }));
    }
    let mut creates = Vec::new();
    for i in 0..16 {
        let s = s.clone();
        creates.push(tokio::spawn(async move {
            s.create_session(new_session("W2", "T1", &format!("xoxc-conc-{i}"), NOW))
                .await
        }));
    }
    for t in invalidations {
        assert!(
            t.await.unwrap().unwrap(),
            "each invalidation found its session active"
        );
    }
    for t in resets {
        assert_eq!(t.await.unwrap().unwrap(), 2);
    }
    let mut new_ids = BTreeSet::new();
    for t in creates {
        assert!(
            new_ids.insert(t.await.unwrap().unwrap().session_id),
            "unique ids"
        );
    }
    let listed = list_all(&s, "E1", NOW).await;
    assert!(
        listed
            .iter()
            .all(|id| !(5000..5032).contains(id) && !(6000..6064).contains(id)),
        "{listed:?}"
    );
    for id in &new_ids {
        assert!(listed.contains(id), "created session {id} is listed");
    }
    assert_eq!(listed.len(), 7 + 16);
}
