//! Conformance: revocations, sign-ins and settings.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use super::*;

/// Sessions added and removed between pages: every session active throughout is listed
/// exactly once, new sessions (whose ids are larger) are listed, removed ones never after
/// their removal, and ids come in strictly ascending order.
pub async fn list_is_stable_while_sessions_change(s: DynStore) {
    loaded(&s).await;
    // Between two pages: add a session, or remove one of the existing sessions (by index).
    #[derive(Debug, Clone)]
    enum Op {
        Add,
        Remove(usize),
    }
    let op = prop_oneof![Just(Op::Add), (0usize..64).prop_map(Op::Remove)];
    let strategy = (
        1u32..5,
        proptest::collection::vec(proptest::collection::vec(op, 0..4), 1..8),
    );

    let handle = tokio::runtime::Handle::current();
    let case = std::sync::atomic::AtomicU32::new(0);
    tokio::task::spawn_blocking(move || {
        let mut runner = TestRunner::new(Config {
            cases: 16,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&strategy, |(limit, between)| {
                let n = case.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                handle.block_on(async {
                    // A fresh user per case keeps cases independent in one store.
                    let user = format!("WP{n}");
                    let mut f = base_fixture();
                    f.orgs.truncate(1);
                    f.orgs[0].users.push(FixtureUser {
                        id: user.clone(),
                        name: user.clone(),
                        role: "member".into(),
                        is_bot: false,
                        teams: vec!["T1".into()],
                        ..Default::default()
                    });
                    // Reload keeps E1's shape; earlier cases' sessions disappear with it.
                    s.load_fixture(&f, NOW).await.unwrap();
                    let filter = user_team(&user, "T1");
                    let mut live: BTreeSet<u64> = BTreeSet::new();
                    for i in 0..6 {
                        let row = s
                            .create_session(new_session(
                                &user,
                                "T1",
                                &format!("xoxc-p{n}-{i}"),
                                NOW,
                            ))
                            .await
                            .unwrap();
                        live.insert(row.session_id);
                    }
                    let mut removed_at: BTreeMap<u64, usize> = BTreeMap::new();
                    let mut ever_removed = HashSet::new();
                    let mut seen = Vec::new();
                    let mut after = None;
                    let mut page_no = 0;
                    let mut extra = 0;
                    loop {
                        let page = s
                            .list_sessions("E1", &filter, after, limit, NOW)
                            .await
                            .unwrap();
                        for r in &page {
                            prop_assert!(
                                live.contains(&r.session_id),
                                "listed a removed session {}",
                                r.session_id
                            );
                        }
                        seen.extend(ids(&page));
                        if (page.len() as u32) < limit {
                            break;
                        }
                        after = page.last().map(|r| r.session_id);
                        for op in between.get(page_no).cloned().unwrap_or_default() {
                            match op {
                                Op::Add => {
                                    extra += 1;
                                    let row = s
                                        .create_session(new_session(
                                            &user,
                                            "T1",
                                            &format!("xoxc-p{n}-x{extra}"),
                                            NOW,
                                        ))
                                        .await
                                        .unwrap();
                                    live.insert(row.session_id);
                                }
                                Op::Remove(k) if !live.is_empty() => {
                                    let id = *live.iter().nth(k % live.len()).unwrap();
                                    prop_assert!(s
                                        .invalidate_session("E1", id, NOW)
                                        .await
                                        .unwrap());
                                    live.remove(&id);
                                    removed_at.insert(id, page_no);
                                    ever_removed.insert(id);
                                }
                                Op::Remove(_) => {}
                            }
                        }
                        page_no += 1;
                    }
                    prop_assert!(
                        seen.windows(2).all(|w| w[0] < w[1]),
                        "ascending, no duplicates: {seen:?}"
                    );
                    for id in &live {
                        prop_assert!(seen.contains(id), "survivor {id} skipped; saw {seen:?}");
                    }
                    prop_assert_eq!(seen.len(), seen.iter().collect::<HashSet<_>>().len());
                    Ok(())
                })
            })
            .unwrap();
    })
    .await
    .unwrap();
}

// ----- invalidate / reset -------------------------------------------------------------------

pub async fn invalidate_is_true_only_once(s: DynStore) {
    loaded(&s).await;
    assert!(s.invalidate_session("E1", 1003, NOW + 5).await.unwrap());
    assert!(
        !s.invalidate_session("E1", 1003, NOW + 6).await.unwrap(),
        "already revoked"
    );
    let row = s.session("E1", 1003).await.unwrap().unwrap();
    assert_eq!(
        row.revoked_at,
        Some(NOW + 5),
        "the first revocation time stays"
    );
    assert!(!row.is_active(NOW + 5));
    assert!(
        !s.invalidate_session("E1", 9999, NOW).await.unwrap(),
        "unknown id"
    );
    assert!(
        !s.invalidate_session("E2", 1004, NOW).await.unwrap(),
        "another org's session"
    );
    assert!(s
        .session("E1", 1004)
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_none());
    assert!(!s.invalidate_session("E1", u64::MAX, NOW).await.unwrap());

    // An expired session is not active, so invalidating it reports false.
    s.set_settings(
        "E1",
        &strings(&["W0"]),
        SettingsChange {
            duration: Some(DAY as u64),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(!s.invalidate_session("E1", 1008, NOW).await.unwrap());
    assert_eq!(
        s.session("E1", 1008).await.unwrap().unwrap().revoked_at,
        None
    );
}

pub async fn reset_honours_client_filters(s: DynStore) {
    loaded(&s).await;
    assert_eq!(
        s.reset_user("E1", "W2", ResetFilter::WebOnly, NOW)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        list_all(&s, "E1", NOW).await,
        vec![1001, 1003, 1004, 1006, 1007, 1008]
    );
    assert_eq!(
        s.reset_user("E1", "W2", ResetFilter::WebOnly, NOW)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        s.reset_user("E1", "W2", ResetFilter::MobileOnly, NOW)
            .await
            .unwrap(),
        2
    );
    assert_eq!(list_all(&s, "E1", NOW).await, vec![1001, 1006, 1007, 1008]);
    assert_eq!(
        s.reset_user("E1", "W2", ResetFilter::All, NOW)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.reset_user("E1", "W2", ResetFilter::All, NOW)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        list_all(&s, "E1", NOW).await,
        vec![1006, 1007, 1008],
        "other users untouched"
    );
    for id in [1001, 1002, 1003, 1004] {
        assert_eq!(
            s.session("E1", id).await.unwrap().unwrap().revoked_at,
            Some(NOW)
        );
    }
    assert_eq!(
        s.reset_user("E1", "W404", ResetFilter::All, NOW)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        s.reset_user("E2", "W0", ResetFilter::All, NOW)
            .await
            .unwrap(),
        0,
        "per org"
    );
    assert_eq!(list_all(&s, "E1", NOW).await, vec![1006, 1007, 1008]);

    // W0: 1007 active, 1008 expired by duration -> only 1007 counts.
    s.set_settings(
        "E1",
        &strings(&["W0"]),
        SettingsChange {
            duration: Some(DAY as u64),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        s.reset_user("E1", "W0", ResetFilter::All, NOW)
            .await
            .unwrap(),
        1
    );
}

// ----- create_session -----------------------------------------------------------------------

pub async fn create_session_allocates_fresh_ids(s: DynStore) {
    loaded(&s).await;
    let mut got = BTreeSet::new();
    for i in 0..20 {
        let row = s
            .create_session(new_session("W2", "T1", &format!("xoxc-new-{i}"), NOW + i))
            .await
            .unwrap();
        assert!(
            row.session_id > 2001,
            "above every stored id: {}",
            row.session_id
        );
        assert!(got.insert(row.session_id), "unique");
        assert_eq!(row.created_at, NOW + i);
        assert_eq!(row.expires_at, None, "no duration setting");
        assert_eq!(row.revoked_at, None);
        assert_eq!(row.created.os.as_deref(), Some("Linux"));
        assert_eq!(
            s.session("E1", row.session_id).await.unwrap(),
            Some(row.clone())
        );
        let p = active(&s, &format!("xoxc-new-{i}"), NOW + i).await;
        assert_eq!(p.kind, PrincipalKind::Session(row.session_id));
    }
    let listed: BTreeSet<u64> = list_all(&s, "E1", NOW + 100).await.into_iter().collect();
    assert!(got.is_subset(&listed));

    // Ids are never handed out twice, even after their rows are gone.
    let highest = *got.iter().max().unwrap();
    let mut f = base_fixture();
    f.orgs.truncate(1);
    s.load_fixture(&f, NOW).await.unwrap();
    assert_eq!(
        s.session("E1", highest).await.unwrap(),
        None,
        "replaced org lost its sessions"
    );
    let row = s
        .create_session(new_session("W2", "T1", "xoxc-after-reload", NOW))
        .await
        .unwrap();
    assert!(
        !got.contains(&row.session_id) && row.session_id > highest,
        "{} reused",
        row.session_id
    );
    s.reset_all().await.unwrap();
    s.load_fixture(&f, NOW).await.unwrap();
    let again = s
        .create_session(new_session("W2", "T1", "xoxc-after-reset", NOW))
        .await
        .unwrap();
    assert!(
        again.session_id > row.session_id,
        "{} reused after reset_all",
        again.session_id
    );
}

pub async fn create_session_follows_duration_and_refuses_bad_refs(s: DynStore) {
    loaded(&s).await;
    s.set_settings(
        "E1",
        &strings(&["W2"]),
        SettingsChange {
            duration: Some(28_800),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let row = s
        .create_session(new_session("W2", "T1", "xoxc-d", NOW))
        .await
        .unwrap();
    assert_eq!(row.expires_at, Some(NOW + 28_800));
    assert_eq!(
        s.session("E1", row.session_id)
            .await
            .unwrap()
            .unwrap()
            .expires_at,
        Some(NOW + 28_800)
    );

    let before = s.dump(None).await.unwrap();
    let err = s
        .create_session(new_session("W404", "T1", "xoxc-e1", NOW))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound(_)),
        "unknown user: {err:?}"
    );
    let err = s
        .create_session(new_session("W2", "T404", "xoxc-e2", NOW))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound(_)),
        "unknown team: {err:?}"
    );
    let err = s
        .create_session(new_session("W2", "T2", "xoxc-e3", NOW))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound(_)),
        "not a member: {err:?}"
    );
    let mut other_org = new_session("W9", "T9", "xoxc-e4", NOW);
    other_org.org_id = "E404".into();
    assert!(matches!(
        s.create_session(other_org).await,
        Err(StoreError::NotFound(_))
    ));
    let err = s
        .create_session(new_session("W2", "T1", "xoxc-1001", NOW))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(_)),
        "token in use: {err:?}"
    );
    assert_eq!(
        s.dump(None).await.unwrap(),
        before,
        "refusals write nothing"
    );
    for t in ["xoxc-e1", "xoxc-e2", "xoxc-e3", "xoxc-e4"] {
        assert_eq!(
            s.authenticate(&TokenHash::of(t), NOW).await.unwrap(),
            TokenLookup::Unknown
        );
    }
}

// ----- settings -----------------------------------------------------------------------------

pub async fn settings_set_partially_and_clear(s: DynStore) {
    loaded(&s).await;
    let users = strings(&["W2", "W4"]);
    assert!(
        s.get_settings("E1", &users).await.unwrap().is_empty(),
        "nobody has settings"
    );

    s.set_settings(
        "E1",
        &users,
        SettingsChange {
            duration: Some(28_800),
            desktop_app_browser_quit: None,
        },
    )
    .await
    .unwrap();
    let got = s
        .get_settings("E1", &strings(&["W4", "W2", "W1", "W4"]))
        .await
        .unwrap();
    assert_eq!(
        got,
        vec![
            SettingsRow {
                user_id: "W4".into(),
                duration: Some(28_800),
                desktop_app_browser_quit: None
            },
            SettingsRow {
                user_id: "W2".into(),
                duration: Some(28_800),
                desktop_app_browser_quit: None
            },
        ]
    );
    // Only the Some fields change.
    s.set_settings(
        "E1",
        &strings(&["W2"]),
        SettingsChange {
            duration: None,
            desktop_app_browser_quit: Some(true),
        },
    )
    .await
    .unwrap();
    let got = s.get_settings("E1", &strings(&["W2"])).await.unwrap();
    assert_eq!(got[0].duration, Some(28_800));
    assert_eq!(got[0].desktop_app_browser_quit, Some(true));
    s.set_settings(
        "E1",
        &strings(&["W2"]),
        SettingsChange {
            duration: Some(86_400),
            desktop_app_browser_quit: None,
        },
    )
    .await
    .unwrap();
    let got = s.get_settings("E1", &strings(&["W2"])).await.unwrap();
    assert_eq!(
        (got[0].duration, got[0].desktop_app_browser_quit),
        (Some(86_400), Some(true))
    );
    assert!(
        s.get_settings("E2", &strings(&["W2"]))
            .await
            .unwrap()
            .is_empty(),
        "per org"
    );

    // An unknown user in the list: refused, nobody changed.
    let err = s
        .set_settings(
            "E1",
            &strings(&["W4", "W404"]),
            SettingsChange {
                duration: Some(40_000),
                desktop_app_browser_quit: None,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    assert_eq!(
        s.get_settings("E1", &strings(&["W4"])).await.unwrap()[0].duration,
        Some(28_800)
    );
    assert_eq!(
        s.session("E1", 1006).await.unwrap().unwrap().expires_at,
        Some(NOW + 28_800)
    );

    s.clear_settings("E1", &strings(&["W2"])).await.unwrap();
    let got = s.get_settings("E1", &users).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].user_id, "W4");
    // Settings only ever shorten existing sessions: the longer 86400 left 1001 at the 28800
    // it had, and clearing leaves it there too.
    assert_eq!(
        s.session("E1", 1001).await.unwrap().unwrap().expires_at,
        Some(NOW + 28_800)
    );
}

pub async fn settings_rederive_session_expiry(s: DynStore) {
    loaded(&s).await;
    let w0 = strings(&["W0"]);
    // 1008 is two days old, 1007 brand new.
    s.set_settings(
        "E1",
        &w0,
        SettingsChange {
            duration: Some(3 * DAY as u64),
            desktop_app_browser_quit: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        s.session("E1", 1008).await.unwrap().unwrap().expires_at,
        Some(NOW + DAY)
    );
    assert_eq!(
        s.session("E1", 1007).await.unwrap().unwrap().expires_at,
        Some(NOW + 3 * DAY)
    );
    assert!(list_all(&s, "E1", NOW).await.contains(&1008));

    // Shrinking the duration below 1008's age ends it at once.
    s.set_settings(
        "E1",
        &w0,
        SettingsChange {
            duration: Some(DAY as u64),
            desktop_app_browser_quit: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        s.session("E1", 1008).await.unwrap().unwrap().expires_at,
        Some(NOW - DAY)
    );
    assert!(!list_all(&s, "E1", NOW).await.contains(&1008));
    assert!(list_all(&s, "E1", NOW).await.contains(&1007));
    assert_eq!(
        s.authenticate(&TokenHash::of("xoxc-1008"), NOW)
            .await
            .unwrap(),
        TokenLookup::SessionEnded
    );
    // A quit-flag change leaves expiry alone.
    s.set_settings(
        "E1",
        &w0,
        SettingsChange {
            duration: None,
            desktop_app_browser_quit: Some(false),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        s.session("E1", 1007).await.unwrap().unwrap().expires_at,
        Some(NOW + DAY)
    );
    // Clearing never lengthens: the expired session stays expired, the other keeps its expiry.
    s.clear_settings("E1", &w0).await.unwrap();
    assert_eq!(
        s.session("E1", 1008).await.unwrap().unwrap().expires_at,
        Some(NOW - DAY)
    );
    assert!(!list_all(&s, "E1", NOW).await.contains(&1008));
    assert_eq!(
        s.authenticate(&TokenHash::of("xoxc-1008"), NOW)
            .await
            .unwrap(),
        TokenLookup::SessionEnded
    );
    assert_eq!(
        s.session("E1", 1007).await.unwrap().unwrap().expires_at,
        Some(NOW + DAY)
    );
    // Other users' sessions never got an expiry.
    assert_eq!(
        s.session("E1", 1001).await.unwrap().unwrap().expires_at,
        None
    );
}
