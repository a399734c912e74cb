//! Runs the conformance suite on PostgreSQL, plus PostgreSQL-specific tests: many writers at
//! once, two nodes sharing one database, concurrent migrations.
//!
//! Every test gets a fresh database created through the admin URL in `SESSIONS_TEST_PG_URL`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`). Without a reachable PostgreSQL these
//! tests fail, on purpose.

use std::collections::HashSet;
use std::sync::Arc;

use sessions_store::testing::PlainWrites;
use sessions_store::*;
use sessions_store_postgres::PgStore;
use sessions_test_support::pg::{admin_url, TempDb};
use tokio_postgres::NoTls;

/// A store on a fresh database, as the conformance suite wants it, with the database as the
/// guard that is dropped after it.
pub async fn pg_store() -> (DynStore, TempDb) {
    let db = fresh_database().await;
    let store = PgStore::connect(&db.url)
        .await
        .unwrap_or_else(|e| panic!("opening {}: {e}", db.url));
    (Arc::new(store), db)
}

/// An empty database of its own for one test.
async fn fresh_database() -> TempDb {
    TempDb::fresh("store_pg").await
}

async fn node(url: &str) -> Arc<PgStore> {
    Arc::new(
        PgStore::connect(url)
            .await
            .unwrap_or_else(|e| panic!("opening {url}: {e}")),
    )
}

const NOW: UnixTime = 1_700_000_000;

/// One org, `users` members W0..W{n-1} on T1 (W0 an admin), each with one session of every
/// client kind (ids 100*(u+1) + 1..=4), plus a bot with a session.
fn fixture(users: usize) -> Fixture {
    let mut f = Fixture::from_json(
        r#"{"orgs":[{"id":"E1","name":"Acme","teams":[{"id":"T1","name":"Eng"},{"id":"T2","name":"Ops"}],
            "users":[{"id":"WBOT","name":"bot","role":"member","is_bot":true,"teams":["T1"]}],
            "tokens":[{"token":"xoxb-bot","user":"WBOT","type":"bot","scopes":["chat:write"]}],
            "sessions":[{"session_id":9,"user":"WBOT","team":"T1","client":"web","token":"xoxc-bot"}]}]}"#,
    )
    .unwrap();
    let org = &mut f.orgs[0];
    for u in 0..users {
        let id = format!("W{u}");
        org.users.push(FixtureUser {
            id: id.clone(),
            name: format!("user{u}"),
            role: if u == 0 { "admin" } else { "member" }.into(),
            is_bot: false,
            teams: vec!["T1".into()],
            ..Default::default()
        });
        org.tokens.push(FixtureToken {
            token: format!("xoxp-{u}"),
            user: id.clone(),
            kind: "user".into(),
            scopes: vec!["admin.users:read".into(), "admin.users:write".into()],
            revoked: false,
        });
        for (k, client) in ["desktop", "web", "ios", "android"].iter().enumerate() {
            let sid = 100 * (u as u64 + 1) + k as u64 + 1;
            org.sessions.push(FixtureSession {
                session_id: sid,
                user: id.clone(),
                team: "T1".into(),
                client: (*client).into(),
                token: Some(format!("xoxc-{sid}")),
                created_at: Some(NOW - 100),
                created: Device {
                    os: Some("macOS".into()),
                    ..Default::default()
                },
                recent: None,
            });
        }
    }
    f.check().unwrap();
    f
}

fn ids(n: usize) -> Vec<String> {
    (0..n).map(|u| format!("W{u}")).collect()
}

/// Every session of E1 whatever its state (dump leaves revoked ones out), found by probing
/// the id range that fixtures here and the sign-ins after them use.
async fn all_sessions(s: &dyn Store) -> Vec<SessionRow> {
    let mut out = Vec::new();
    for id in 1..=1000 {
        out.extend(s.session("E1", id).await.unwrap());
    }
    out
}

// ----- smoke tests (exercise every method once) ---------------------------------------------

#[tokio::test]
async fn smoke_load_authenticate_list_invalidate() {
    let (s, _db) = pg_store().await;
    s.load_fixture(&fixture(3), NOW).await.unwrap();

    let TokenLookup::Active(p) = s.authenticate(&TokenHash::of("xoxp-0"), NOW).await.unwrap()
    else {
        panic!("user token should be active");
    };
    assert_eq!(p.user.user_id, "W0");
    assert_eq!(p.kind, PrincipalKind::UserToken);
    assert_eq!(p.org.name, "Acme");
    assert_eq!(p.team, Some(("T1".into(), "Eng".into())));
    assert_eq!(p.scopes, vec!["admin.users:read", "admin.users:write"]);
    let TokenLookup::Active(b) = s
        .authenticate(&TokenHash::of("xoxb-bot"), NOW)
        .await
        .unwrap()
    else {
        panic!("bot token should be active");
    };
    assert_eq!(b.kind, PrincipalKind::BotToken);
    let TokenLookup::Active(x) = s
        .authenticate(&TokenHash::of("xoxc-101"), NOW)
        .await
        .unwrap()
    else {
        panic!("session token should be active");
    };
    assert_eq!(x.kind, PrincipalKind::Session(101));
    assert!(x.scopes.is_empty());
    assert_eq!(
        s.authenticate(&TokenHash::of("nope"), NOW).await.unwrap(),
        TokenLookup::Unknown
    );

    let page = s
        .list_sessions("E1", &SessionFilter::default(), None, 5, NOW)
        .await
        .unwrap();
    let got: Vec<u64> = page.iter().map(|r| r.session_id).collect();
    assert_eq!(
        got,
        vec![101, 102, 103, 104, 201],
        "bot session 9 is never listed"
    );
    let next = s
        .list_sessions("E1", &SessionFilter::default(), Some(201), 100, NOW)
        .await
        .unwrap();
    assert_eq!(next.len(), 7);
    assert_eq!(next[0].session_id, 202);
    assert_eq!(next[0].created.os.as_deref(), Some("macOS"));

    assert!(s.invalidate_session("E1", 101, NOW).await.unwrap());
    assert!(!s.invalidate_session("E1", 101, NOW).await.unwrap());
    assert!(
        !s.invalidate_session("E2", 102, NOW).await.unwrap(),
        "other org's id"
    );
    assert_eq!(
        s.authenticate(&TokenHash::of("xoxc-101"), NOW)
            .await
            .unwrap(),
        TokenLookup::SessionEnded
    );
    assert_eq!(
        s.session("E1", 101).await.unwrap().unwrap().revoked_at,
        Some(NOW)
    );

    assert!(s
        .revoke_token("E1", &TokenHash::of("xoxp-1"))
        .await
        .unwrap());
    assert_eq!(
        s.authenticate(&TokenHash::of("xoxp-1"), NOW).await.unwrap(),
        TokenLookup::Revoked
    );

    let users = s
        .users("E1", &["W2".into(), "nobody".into(), "W1".into()])
        .await
        .unwrap();
    let names: Vec<&str> = users.iter().map(|u| u.user_id.as_str()).collect();
    assert_eq!(names, vec!["W2", "W1"]);
    assert!(s.team_exists("E1", "T2").await.unwrap());
    assert!(!s.team_exists("E1", "T9").await.unwrap());
}

#[tokio::test]
async fn smoke_reset_settings_create_and_dump() {
    let (s, _db) = pg_store().await;
    s.load_fixture(&fixture(2), NOW).await.unwrap();

    assert_eq!(
        s.reset_user("E1", "W0", ResetFilter::MobileOnly, NOW)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        s.reset_user("E1", "W0", ResetFilter::WebOnly, NOW)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.reset_user("E1", "W0", ResetFilter::All, NOW)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.reset_user("E1", "W0", ResetFilter::All, NOW)
            .await
            .unwrap(),
        0
    );

    // Duration shorter than the sessions' age (100 s) ends them; clearing does not bring
    // them back (expiry is final).
    let w1 = vec!["W1".to_owned()];
    s.set_settings(
        "E1",
        &w1,
        SettingsChange {
            duration: Some(50),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let live = s
        .list_sessions("E1", &SessionFilter::default(), None, 100, NOW)
        .await
        .unwrap();
    assert!(live.is_empty(), "{live:?}");
    s.set_settings(
        "E1",
        &w1,
        SettingsChange {
            desktop_app_browser_quit: Some(true),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let got = s
        .get_settings("E1", &["W0".into(), "W1".into()])
        .await
        .unwrap();
    assert_eq!(
        got,
        vec![SettingsRow {
            user_id: "W1".into(),
            duration: Some(50),
            desktop_app_browser_quit: Some(true)
        }]
    );
    s.clear_settings("E1", &w1).await.unwrap();
    assert!(s.get_settings("E1", &w1).await.unwrap().is_empty());
    let live = s
        .list_sessions("E1", &SessionFilter::default(), None, 100, NOW)
        .await
        .unwrap();
    assert!(live.is_empty(), "{live:?}");

    // Sign-in: id above every loaded one, expiry from settings.
    s.set_settings(
        "E1",
        &w1,
        SettingsChange {
            duration: Some(3600),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let new = s
        .create_session(NewSession {
            org_id: "E1".into(),
            user_id: "W1".into(),
            team_id: "T1".into(),
            client: ClientKind::Ios,
            token_hash: TokenHash::of("xoxc-new"),
            created: Device::default(),
            created_at: NOW,
        })
        .await
        .unwrap();
    assert!(new.session_id > 204, "{}", new.session_id);
    assert_eq!(new.expires_at, Some(NOW + 3600));
    let err = s
        .create_session(NewSession {
            org_id: "E1".into(),
            user_id: "W1".into(),
            team_id: "T2".into(),
            client: ClientKind::Ios,
            token_hash: TokenHash::of("xoxc-new2"),
            created: Device::default(),
            created_at: NOW,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");
    let err = s
        .create_session(NewSession {
            org_id: "E1".into(),
            user_id: "W1".into(),
            team_id: "T1".into(),
            client: ClientKind::Ios,
            token_hash: TokenHash::of("xoxc-new"),
            created: Device::default(),
            created_at: NOW,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");

    let dump = s.dump(None).await.unwrap();
    assert_eq!(dump.orgs.len(), 1);
    assert!(dump.orgs[0].tokens.iter().all(|t| t.token.is_empty()));
    assert!(dump.orgs[0].sessions.iter().all(|t| t.token.is_none()));
    assert_eq!(
        dump.orgs[0].sessions.len(),
        6,
        "revoked sessions are left out"
    );
    assert_eq!(dump.orgs[0].settings.len(), 1);

    let secret = s.server_secret().await.unwrap();
    assert_eq!(secret.len(), 32);
    s.reset_all().await.unwrap();
    assert!(s.dump(None).await.unwrap().orgs.is_empty());
    assert_eq!(s.server_secret().await.unwrap(), secret);
}

#[tokio::test]
async fn fixture_clashes_with_other_orgs_are_refused_and_nothing_changes() {
    let (s, _db) = pg_store().await;
    s.load_fixture(&fixture(2), NOW).await.unwrap();
    let before = s.dump(None).await.unwrap();

    let mut other = fixture(1);
    other.orgs[0].id = "E2".into();
    // Session ids differ from E1's, but a token is reused.
    for (i, sess) in other.orgs[0].sessions.iter_mut().enumerate() {
        sess.session_id = 5000 + i as u64;
        sess.token = None;
    }
    other.orgs[0].tokens.truncate(1);
    let err = s.load_fixture(&other, NOW).await.unwrap_err();
    let StoreError::Fixture(e) = err else {
        panic!("{err}")
    };
    assert!(e.entry.contains("orgs[0] (E2).tokens[0]"), "{e}");

    let mut other = fixture(1);
    other.orgs[0].id = "E2".into();
    other.orgs[0].tokens.clear();
    for sess in &mut other.orgs[0].sessions {
        sess.token = None;
    }
    let err = s.load_fixture(&other, NOW).await.unwrap_err();
    let StoreError::Fixture(e) = err else {
        panic!("{err}")
    };
    assert!(e.entry.contains("(E2).sessions[0] (session_id 9)"), "{e}");
    assert!(e.message.contains("E1"), "{e}");
    assert_eq!(s.dump(None).await.unwrap(), before);

    // Replacing E1 itself with the same ids is fine.
    s.load_fixture(&fixture(1), NOW).await.unwrap();
    assert_eq!(s.dump(None).await.unwrap().orgs[0].users.len(), 2);
}

// ----- many writers ----------------------------------------------------------------------------

/// 64 tasks invalidate and reset overlapping sessions: no deadlock, and every session is
/// revoked exactly once (the counts add up to the number of sessions).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_resets_and_invalidations_count_each_session_once() {
    let (s, _db) = pg_store().await;
    let users = 8;
    s.load_fixture(&fixture(users), NOW).await.unwrap();
    let mut tasks = Vec::new();
    for t in 0..64u64 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let u = (t % users as u64) as usize;
            let user = format!("W{u}");
            match t % 4 {
                0 => s
                    .reset_user("E1", &user, ResetFilter::All, NOW)
                    .await
                    .unwrap(),
                1 => s
                    .reset_user("E1", &user, ResetFilter::MobileOnly, NOW)
                    .await
                    .unwrap(),
                2 => {
                    let mut n = 0;
                    // Descending order, against the resets' ascending lock order.
                    for sid in (101..=100 * users as u64 + 4).rev() {
                        n += u64::from(s.invalidate_session("E1", sid, NOW).await.unwrap());
                    }
                    n
                }
                _ => {
                    s.enqueue_bulk_reset("E1", "W0", &ids(users), ResetFilter::All, NOW, NOW)
                        .await
                        .unwrap();
                    if let Some(claim) = s.claim_bulk_job(&format!("w{t}"), NOW, 60).await.unwrap()
                    {
                        s.complete_bulk_job(&claim, NOW).await.unwrap();
                    }
                    0
                }
            }
        }));
    }
    let mut counted = 0;
    for t in tasks {
        counted += t.await.unwrap();
    }
    let sessions = all_sessions(&*s).await;
    let human: Vec<&SessionRow> = sessions.iter().filter(|r| r.user_id != "WBOT").collect();
    assert!(
        human.iter().all(|r| r.revoked_at == Some(NOW)),
        "every session ends revoked"
    );
    // Bulk jobs do not report counts; only check nothing was counted twice.
    assert!(
        counted <= human.len() as u64,
        "{counted} revocations counted for {}",
        human.len()
    );
    let bot = sessions.iter().find(|r| r.user_id == "WBOT").unwrap();
    assert_eq!(bot.revoked_at, None, "bulk jobs skip bots");
}

async fn revoked_count(s: &dyn Store) -> usize {
    all_sessions(s)
        .await
        .iter()
        .filter(|r| r.revoked_at.is_some())
        .count()
}

/// Same, with only counted operations, so the total must be exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_counted_revocations_add_up_exactly() {
    let (s, _db) = pg_store().await;
    let users = 6;
    s.load_fixture(&fixture(users), NOW).await.unwrap();
    let mut tasks = Vec::new();
    for t in 0..64u64 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            // Every user meets every kind of operation, from several tasks.
            let u = t as usize % users;
            match (t as usize / users) % 3 {
                0 => s
                    .reset_user("E1", &format!("W{u}"), ResetFilter::WebOnly, NOW)
                    .await
                    .unwrap(),
                1 => s
                    .reset_user("E1", &format!("W{u}"), ResetFilter::All, NOW)
                    .await
                    .unwrap(),
                _ => {
                    let mut n = 0;
                    for k in (1..=4).rev() {
                        let sid = 100 * (u as u64 + 1) + k;
                        n += u64::from(s.invalidate_session("E1", sid, NOW).await.unwrap());
                    }
                    n
                }
            }
        }));
    }
    let mut counted = 0;
    for t in tasks {
        counted += t.await.unwrap();
    }
    assert_eq!(
        counted,
        4 * users as u64,
        "each session revoked exactly once"
    );
    assert!(s
        .list_sessions("E1", &SessionFilter::default(), None, 1000, NOW)
        .await
        .unwrap()
        .is_empty());
}

/// Settings changes, sign-ins and clears race on overlapping users; at the end every session's
/// expiry matches its user's final settings (no sign-in used stale settings, no update lost).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_settings_changes_and_sign_ins_stay_consistent() {
    let (s, _db) = pg_store().await;
    let users = 4;
    s.load_fixture(&fixture(users), NOW).await.unwrap();
    let mut tasks = Vec::new();
    for t in 0..64u64 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let a = (t % users as u64) as usize;
            let pair = vec![format!("W{a}"), format!("W{}", (a + 1) % users)];
            match t % 4 {
                0 => s
                    .set_settings(
                        "E1",
                        &pair,
                        SettingsChange {
                            duration: Some(28_800 + t),
                            ..Default::default()
                        },
                    )
                    .await
                    .unwrap(),
                1 => s
                    .set_settings(
                        "E1",
                        &pair,
                        SettingsChange {
                            desktop_app_browser_quit: Some(true),
                            ..Default::default()
                        },
                    )
                    .await
                    .unwrap(),
                2 => {
                    s.create_session(NewSession {
                        org_id: "E1".into(),
                        user_id: format!("W{a}"),
                        team_id: "T1".into(),
                        client: ClientKind::Web,
                        token_hash: TokenHash::of(&format!("xoxc-new-{t}")),
                        created: Device::default(),
                        created_at: NOW + t as i64,
                    })
                    .await
                    .unwrap();
                }
                _ => {
                    if t == 63 {
                        s.clear_settings("E1", &[format!("W{a}")]).await.unwrap();
                    } else {
                        s.set_settings(
                            "E1",
                            &[pair[1].clone(), pair[0].clone()],
                            SettingsChange {
                                duration: Some(40_000 + t),
                                desktop_app_browser_quit: Some(false),
                            },
                        )
                        .await
                        .unwrap()
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let settings = s.get_settings("E1", &ids(users)).await.unwrap();
    let sessions = all_sessions(&*s).await;
    assert_eq!(
        sessions.len(),
        1 + 4 * users + 16,
        "16 sign-ins, all with distinct ids"
    );
    // Settings only ever shorten existing sessions, so each session's expiry is its creation
    // plus the shortest duration applied to it, never later than the current duration says.
    for u in 0..users {
        let user = format!("W{u}");
        let duration = settings
            .iter()
            .find(|x| x.user_id == user)
            .and_then(|x| x.duration);
        for r in sessions.iter().filter(|r| r.user_id == user) {
            if let (Some(d), Some(e)) = (duration, r.expires_at) {
                assert!(
                    e <= r.created_at + d as i64 && e - r.created_at >= 28_800,
                    "session {} of {user}: expiry {e} vs duration {d}",
                    r.session_id
                );
            }
            if duration.is_some() {
                assert!(r.expires_at.is_some(), "session {} of {user}", r.session_id);
            }
        }
    }
    let ids: HashSet<u64> = sessions.iter().map(|r| r.session_id).collect();
    assert_eq!(ids.len(), sessions.len());
}

// ----- several nodes -----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrations_run_concurrently_from_several_nodes() {
    let db = fresh_database().await;
    let url = db.url.clone();
    let opened = futures_join_all((0..4).map(|_| {
        let url = url.clone();
        async move { PgStore::connect(&url).await }
    }))
    .await;
    for r in &opened {
        assert!(r.is_ok(), "{:?}", r.as_ref().err());
    }
    let store = opened.into_iter().next().unwrap().unwrap();
    assert_eq!(store.schema_versions().await.unwrap(), vec![1, 2, 3, 4, 5]);
    // And again on an existing schema.
    let again = PgStore::connect(&url).await.unwrap();
    assert_eq!(again.schema_versions().await.unwrap(), vec![1, 2, 3, 4, 5]);
}

/// A version 3 database, whose audit entry and job ids were counters shared by all orgs, is
/// renumbered per org when a node connects: order kept, job ids in audit details follow their
/// jobs (also of jobs already gone), and new ids continue each org's count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_3_database_gets_per_org_ids() {
    let db = fresh_database().await;
    PgStore::create_at_schema_version(&db.url, 3).await.unwrap();
    let (client, conn) = tokio_postgres::connect(&db.url, NoTls).await.unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(
            r#"
            INSERT INTO bulk_jobs (job_id, org_id, actor_user_id, user_ids, filter, state,
                created_at, run_after) OVERRIDING SYSTEM VALUE VALUES
              (7, 'E1', 'W1', '{W2}', 'all', 'pending', 100, 100),
              (8, 'E2', 'W9', '{W9}', 'all', 'done', 101, 101),
              (9, 'E1', 'W1', '{W4}', 'all', 'done', 102, 102);
            INSERT INTO audit_log (id, org_id, at, actor_user_id, action, method,
                target_user_ids, session_id, details, ip, user_agent, result)
                OVERRIDING SYSTEM VALUE VALUES
              (20, 'E1', 1, 'W1', 'bulk_session_reset_by_admin', 'm', '{W2}', NULL,
               '{"job_id":7,"scope":"all"}', NULL, NULL, 'ok'),
              (21, 'E2', 2, 'W9', 'bulk_session_reset_by_admin', 'm', '{W9}', NULL,
               '{"job_id":8}', NULL, NULL, 'ok'),
              (22, 'E2', 3, 'W9', 'user_session_reset_by_admin', 'm', '{W9}', NULL,
               '{"job_id":5}', NULL, NULL, 'ok'),
              (23, 'E1', 4, 'W1', 'user_session_reset_by_admin', 'm', '{W4}', NULL,
               '{"job_id":9}', NULL, NULL, 'ok'),
              (24, 'E1', 5, 'W1', 'user_session_settings_changed', 'm', '{W2,W4}', NULL,
               '{}', NULL, NULL, 'not_an_admin');
            "#,
        )
        .await
        .unwrap();
    let s: DynStore = Arc::new(PgStore::connect(&db.url).await.unwrap());
    let list = |org: &'static str, user: Option<&'static str>| {
        let s = s.clone();
        async move {
            let f = AuditFilter {
                user: user.map(str::to_owned),
                ..Default::default()
            };
            s.list_audit(org, &f, AuditPage::Newest, 100).await.unwrap()
        }
    };
    let e1 = list("E1", None).await;
    assert_eq!(
        e1.iter().map(|e| (e.id, e.at)).collect::<Vec<_>>(),
        vec![(3, 5), (2, 4), (1, 1)]
    );
    assert_eq!(e1[1].details["job_id"], 2);
    assert_eq!(e1[2].details["job_id"], 1);
    assert_eq!(e1[2].details["scope"], "all");
    let e2 = list("E2", None).await;
    assert_eq!(e2.iter().map(|e| e.id).collect::<Vec<_>>(), vec![2, 1]);
    assert_eq!(e2[1].details["job_id"], 2);
    assert_eq!(e2[0].details["job_id"], 1);
    let j = s.bulk_job("E1", 1).await.unwrap().unwrap();
    assert_eq!(
        (j.user_ids.clone(), j.created_at),
        (vec!["W2".to_owned()], 100)
    );
    assert_eq!(s.bulk_job("E1", 2).await.unwrap().unwrap().created_at, 102);
    assert_eq!(s.bulk_job("E2", 2).await.unwrap().unwrap().created_at, 101);
    let by_user = list("E1", Some("W4")).await;
    assert_eq!(by_user.iter().map(|e| e.id).collect::<Vec<_>>(), vec![3, 2]);
    let mut next = e1[0].clone();
    next.details = serde_json::json!({});
    assert_eq!(s.append_audit(&next).await.unwrap(), 4);
    let job = s
        .enqueue_bulk_reset("E2", "W9", &["W9".to_owned()], ResetFilter::All, 200, 200)
        .await
        .unwrap();
    assert_eq!(job, 3);
    let claim = s.claim_bulk_job("w", 300, 30).await.unwrap().unwrap();
    assert_eq!((claim.job.org_id.as_str(), claim.job.job_id), ("E1", 1));
}

#[tokio::test]
async fn a_schema_from_a_newer_build_is_refused() {
    let db = fresh_database().await;
    let url = db.url.clone();
    PgStore::connect(&url).await.unwrap();
    let (client, conn) = tokio_postgres::connect(&url, NoTls).await.unwrap();
    tokio::spawn(conn);
    client
        .batch_execute("INSERT INTO schema_migrations (version) VALUES (999)")
        .await
        .unwrap();
    let err = PgStore::connect(&url).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Backend { ref context, .. } if context.contains("999")),
        "{err}"
    );
}

/// Polls every future at once (no `futures` dependency here).
async fn futures_join_all<F: std::future::Future + Send + 'static>(
    futs: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_claim_exclusively_reclaim_lapsed_leases_and_apply_once() {
    let db = fresh_database().await;
    let url = db.url.clone();
    let (a, b) = (node(&url).await, node(&url).await);
    a.load_fixture(&fixture(3), NOW).await.unwrap();
    let job = a
        .enqueue_bulk_reset(
            "E1",
            "W0",
            &["W1".into(), "W2".into()],
            ResetFilter::All,
            NOW,
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(b.pending_bulk_jobs().await.unwrap(), 1);

    // Both claim at once: exactly one wins.
    let (ca, cb) = tokio::join!(
        a.claim_bulk_job("node-a", NOW, 30),
        b.claim_bulk_job("node-b", NOW, 30)
    );
    let (ca, cb) = (ca.unwrap(), cb.unwrap());
    assert_eq!(
        u8::from(ca.is_some()) + u8::from(cb.is_some()),
        1,
        "{ca:?} {cb:?}"
    );
    let (first, first_store, second_store) = match ca {
        Some(c) => (c, a.clone(), b.clone()),
        None => (cb.unwrap(), b.clone(), a.clone()),
    };
    assert_eq!(first.job.job_id, job);
    assert_eq!(first.job.attempts, 1);
    // Still leased at its last second.
    assert!(second_store
        .claim_bulk_job("other", NOW + 30, 30)
        .await
        .unwrap()
        .is_none());

    // The lease lapses; the other node takes the job over.
    let second = second_store
        .claim_bulk_job("other", NOW + 31, 30)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.job.job_id, job);
    assert_eq!(second.job.attempts, 2);
    assert_ne!(second.lease, first.lease);

    // The first worker comes back: refused, nothing applied.
    let err = first_store
        .complete_bulk_job(&first, NOW + 32)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::LeaseLost), "{err}");
    assert_eq!(revoked_count(&*a).await, 0);

    let done = second_store
        .complete_bulk_job(&second, NOW + 33)
        .await
        .unwrap();
    assert_eq!(done.state, JobState::Done);
    assert_eq!(done.finished_at, Some(NOW + 33));
    assert_eq!(
        done.results,
        vec![("W1".to_owned(), None), ("W2".to_owned(), None)]
    );
    assert_eq!(revoked_count(&*a).await, 8);
    let w1 = a.session("E1", 201).await.unwrap().unwrap();
    assert_eq!(w1.revoked_at, Some(NOW + 33));
    assert_eq!(
        a.session("E1", 101).await.unwrap().unwrap().revoked_at,
        None,
        "W0 untouched"
    );

    // Neither finishes it again, and it is never claimed again.
    assert!(matches!(
        first_store
            .complete_bulk_job(&first, NOW + 40)
            .await
            .unwrap_err(),
        StoreError::LeaseLost
    ));
    assert!(a
        .claim_bulk_job("late", NOW + 1000, 30)
        .await
        .unwrap()
        .is_none());
    assert_eq!(b.pending_bulk_jobs().await.unwrap(), 0);
    assert_eq!(b.bulk_job("E1", job).await.unwrap().unwrap(), done);
}

/// Two nodes drain 40 jobs with several workers each: every job is done exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_nodes_drain_a_queue_exactly_once() {
    let db = fresh_database().await;
    let url = db.url.clone();
    let (a, b) = (node(&url).await, node(&url).await);
    a.load_fixture(&fixture(4), NOW).await.unwrap();
    let mut jobs = HashSet::new();
    for i in 0..40usize {
        let user = format!("W{}", i % 4);
        jobs.insert(
            a.enqueue_bulk_reset("E1", "W0", &[user], ResetFilter::All, NOW, NOW)
                .await
                .unwrap(),
        );
    }
    let mut workers = Vec::new();
    for w in 0..8 {
        let store = if w % 2 == 0 { a.clone() } else { b.clone() };
        workers.push(tokio::spawn(async move {
            let mut done = Vec::new();
            while let Some(claim) = store
                .claim_bulk_job(&format!("w{w}"), NOW, 600)
                .await
                .unwrap()
            {
                done.push(store.complete_bulk_job(&claim, NOW).await.unwrap().job_id);
            }
            done
        }));
    }
    let mut completed = Vec::new();
    for w in workers {
        completed.extend(w.await.unwrap());
    }
    assert_eq!(completed.len(), jobs.len(), "each job completed once");
    assert_eq!(completed.iter().copied().collect::<HashSet<_>>(), jobs);
    for id in jobs {
        assert_eq!(b.bulk_job("E1", id).await.unwrap().unwrap().attempts, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn session_ids_are_unique_across_nodes_and_above_fixture_ids() {
    let db = fresh_database().await;
    let url = db.url.clone();
    let (a, b) = (node(&url).await, node(&url).await);
    a.load_fixture(&fixture(2), NOW).await.unwrap();
    let mut tasks = Vec::new();
    for t in 0..40u32 {
        let store = if t % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            store
                .create_session(NewSession {
                    org_id: "E1".into(),
                    user_id: format!("W{}", t % 2),
                    team_id: "T1".into(),
                    client: ClientKind::Desktop,
                    token_hash: TokenHash::of(&format!("xoxc-n{t}")),
                    created: Device::default(),
                    created_at: NOW,
                })
                .await
                .unwrap()
                .session_id
        }));
    }
    let mut got = HashSet::new();
    for t in tasks {
        let id = t.await.unwrap();
        assert!(id > 204, "{id} would collide with fixture ids");
        assert!(got.insert(id), "id {id} handed out twice");
    }
    // A later fixture with a higher id moves allocation past it, and ids are not reused after
    // the org is replaced by one with lower ids.
    let mut f = fixture(1);
    f.orgs[0].sessions[0].session_id = 10_000;
    a.load_fixture(&f, NOW).await.unwrap();
    let next = b
        .create_session(NewSession {
            org_id: "E1".into(),
            user_id: "W0".into(),
            team_id: "T1".into(),
            client: ClientKind::Web,
            token_hash: TokenHash::of("xoxc-after"),
            created: Device::default(),
            created_at: NOW,
        })
        .await
        .unwrap();
    assert!(next.session_id > 10_000, "{}", next.session_id);
    a.load_fixture(&fixture(1), NOW).await.unwrap();
    let again = a
        .create_session(NewSession {
            org_id: "E1".into(),
            user_id: "W0".into(),
            team_id: "T1".into(),
            client: ClientKind::Web,
            token_hash: TokenHash::of("xoxc-again"),
            created: Device::default(),
            created_at: NOW,
        })
        .await
        .unwrap();
    assert!(again.session_id > next.session_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn server_secret_is_shared_by_nodes_starting_together() {
    let db = fresh_database().await;
    let url = db.url.clone();
    let nodes = futures_join_all((0..4).map(|_| {
        let url = url.clone();
        async move { node(&url).await.server_secret().await.unwrap() }
    }))
    .await;
    assert!(nodes.iter().all(|s| s == &nodes[0] && s.len() == 32));
}

// ----- configuration ---------------------------------------------------------------------------

#[tokio::test]
async fn pool_size_comes_from_the_url_and_is_not_passed_to_postgres() {
    let db = fresh_database().await;
    let url = db.url.clone();
    let sep = if url.contains('?') { '&' } else { '?' };
    let store = PgStore::connect(&format!("{url}{sep}pool_size=3"))
        .await
        .unwrap();
    assert_eq!(store.pool_size(), 3);
    let expected = std::thread::available_parallelism()
        .map(|n| n.get() * 4)
        .unwrap_or(16);
    assert_eq!(PgStore::connect(&url).await.unwrap().pool_size(), expected);
    let err = PgStore::connect(&format!("{url}{sep}pool_size=lots"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::BadUrl(ref m) if m.contains("pool_size")),
        "{err}"
    );
    // The pool works at its limit: more concurrent calls than connections.
    let store = Arc::new(store);
    let secrets = futures_join_all((0..12).map(|_| {
        let s = store.clone();
        async move { s.server_secret().await.unwrap() }
    }))
    .await;
    assert!(secrets.iter().all(|s| s == &secrets[0]));
}

#[tokio::test]
async fn unreachable_server_fails_clearly_and_hides_the_password() {
    let err = PgStore::connect("postgres://u:hunter2@127.0.0.1:1/db")
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, StoreError::Backend { .. }), "{msg}");
    assert!(msg.contains("127.0.0.1:1"), "{msg}");
    assert!(!msg.contains("hunter2"), "{msg}");
    let err = PgStore::connect("postgres://u:hunter2@127.0.0.1/db?bogus_option=1")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::BadUrl(_)), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    let db = fresh_database().await;
    assert!(!format!("{:?}", node(&db.url).await).contains("postgres://"));
}

// ----- the conformance suite -------------------------------------------------------------------

sessions_store::conformance_tests!(pg_store().await);

// ----- query plans and contention with fixture loads ---------------------------------------

/// With enough rows for the planner to care, a page is an index range scan: the partial index
/// for an org, the (org, user, team, session) index for one user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_is_an_index_range_scan() {
    let db = fresh_database().await;
    let url = db.url.clone();
    let s = node(&url).await;
    // E1 with 12 000 sessions, nine in ten revoked (as in a long-lived org), and a second org
    // whose session ids interleave with E1's, so neither the primary key nor a filter on
    // org alone finds a page cheaply.
    let mut f = fixture(3000);
    let mut e2 = fixture(1000).orgs.remove(0);
    e2.id = "E2".into();
    e2.tokens.clear();
    for sess in &mut e2.sessions {
        sess.session_id += 50;
        sess.token = None;
    }
    e2.sessions.retain(|x| x.user != "WBOT");
    f.orgs.push(e2);
    s.load_fixture(&f, NOW).await.unwrap();
    let revoked: Vec<String> = (0..3000)
        .filter(|u| u % 10 != 7)
        .map(|u| format!("W{u}"))
        .collect();
    s.enqueue_bulk_reset("E1", "W0", &revoked, ResetFilter::All, NOW, NOW)
        .await
        .unwrap();
    let claim = s.claim_bulk_job("setup", NOW, 60).await.unwrap().unwrap();
    s.complete_bulk_job(&claim, NOW).await.unwrap();
    let (client, conn) = tokio_postgres::connect(&url, NoTls).await.unwrap();
    tokio::spawn(conn);
    client.batch_execute("ANALYZE").await.unwrap();

    let org = s
        .explain_list_sessions("E1", &SessionFilter::default(), 150_000, 100, NOW)
        .await
        .unwrap();
    assert!(org.contains("sessions_listable"), "{org}");
    assert!(!org.contains("Seq Scan") && !org.contains("Sort"), "{org}");
    let one = SessionFilter {
        user_team: Some(("W7".into(), "T1".into())),
    };
    let user = s
        .explain_list_sessions("E1", &one, 0, 100, NOW)
        .await
        .unwrap();
    assert!(user.contains("sessions_by_user"), "{user}");
    assert!(!user.contains("Seq Scan"), "{user}");

    // And the page itself is right.
    let page = s
        .list_sessions("E1", &SessionFilter::default(), Some(150_000), 3, NOW)
        .await
        .unwrap();
    let got: Vec<u64> = page.iter().map(|r| r.session_id).collect();
    assert_eq!(
        got,
        vec![150_801, 150_802, 150_803],
        "W1507 is the next user left active"
    );
}

/// Fixture reloads (which delete and re-insert the org) race with writers on the same rows:
/// nobody sees a deadlock or a half-loaded org, and every call returns normally.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fixture_reloads_race_with_writers_without_errors() {
    let (s, _db) = pg_store().await;
    let f = fixture(6);
    s.load_fixture(&f, NOW).await.unwrap();
    let mut tasks = Vec::new();
    for t in 0..48u64 {
        let s = s.clone();
        let f = f.clone();
        tasks.push(tokio::spawn(async move {
            let user = format!("W{}", t % 6);
            match t % 6 {
                0 => s.load_fixture(&f, NOW).await.unwrap(),
                1 => {
                    s.reset_user("E1", &user, ResetFilter::All, NOW)
                        .await
                        .unwrap();
                }
                2 => {
                    for sid in (101..=604).rev().step_by(7) {
                        s.invalidate_session("E1", sid, NOW).await.unwrap();
                    }
                }
                3 => s
                    .set_settings(
                        "E1",
                        &ids(6),
                        SettingsChange {
                            duration: Some(30_000 + t),
                            ..Default::default()
                        },
                    )
                    .await
                    .unwrap(),
                4 => {
                    s.create_session(NewSession {
                        org_id: "E1".into(),
                        user_id: user,
                        team_id: "T1".into(),
                        client: ClientKind::Android,
                        token_hash: TokenHash::of(&format!("xoxc-race-{t}")),
                        created: Device::default(),
                        created_at: NOW,
                    })
                    .await
                    .unwrap();
                }
                _ => {
                    let dump = s.dump(Some("E1")).await.unwrap();
                    assert_eq!(dump.orgs.len(), 1, "never half-loaded");
                    assert_eq!(dump.orgs[0].users.len(), 7, "never half-loaded");
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let TokenLookup::Active(p) = s.authenticate(&TokenHash::of("xoxp-3"), NOW).await.unwrap()
    else {
        panic!("the org is whole at the end");
    };
    assert_eq!(p.user.user_id, "W3");
}

/// A deadlock with another client (here: a hand-made transaction locking a session, then the
/// user) costs the store's transaction nothing but a transparent retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadlock_victim_is_retried_transparently() {
    let db = fresh_database().await;
    let s = node(&db.url).await;
    s.load_fixture(&fixture(1), NOW).await.unwrap();
    let (mut other, conn) = tokio_postgres::connect(&db.url, NoTls).await.unwrap();
    tokio::spawn(conn);
    let tx = other.transaction().await.unwrap();
    tx.execute(
        "SELECT 1 FROM sessions WHERE session_id = 102 FOR UPDATE",
        &[],
    )
    .await
    .unwrap();

    // Locks user W0, then waits for session 102.
    let settings = tokio::spawn({
        let s = s.clone();
        async move {
            s.set_settings(
                "E1",
                &["W0".to_owned()],
                SettingsChange {
                    duration: Some(28_800),
                    ..Default::default()
                },
            )
            .await
        }
    });
    // The store's transaction is blocked on session 102's row lock: PostgreSQL says so.
    let (watch, conn) = tokio_postgres::connect(&db.url, NoTls).await.unwrap();
    tokio::spawn(conn);
    let watch = &watch;
    sessions_test_support::wait::until_true(
        "set_settings to wait for session 102's lock",
        || async move {
            let waiting: i64 = watch
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity \
                  WHERE datname = current_database() AND wait_event_type = 'Lock'",
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            waiting >= 1
        },
    )
    .await;
    assert!(
        !settings.is_finished(),
        "set_settings should wait for session 102"
    );
    // Closes the cycle. The store's backend has waited longest, so PostgreSQL's deadlock check
    // (after deadlock_timeout, 1 s by default) picks it as the victim; ours then gets the lock.
    let ours = tx
        .execute("SELECT 1 FROM users WHERE user_id = 'W0' FOR UPDATE", &[])
        .await;
    let we_were_victim = ours.is_err();
    if we_were_victim {
        tx.rollback().await.unwrap();
    } else {
        tx.commit().await.unwrap();
    }
    settings.await.unwrap().unwrap();
    assert!(
        !we_were_victim,
        "the store's transaction was expected to be the victim"
    );
    assert!(s.retried_transactions() >= 1);
    let row = s.session("E1", 102).await.unwrap().unwrap();
    assert_eq!(row.expires_at, Some(row.created_at + 28_800));
}

/// A login role for one test, dropped (with its grants in `db`) when this guard goes. Declare it
/// after the database guard so that it goes first.
struct TempRole {
    name: String,
    db_url: String,
}

impl Drop for TempRole {
    fn drop(&mut self) {
        let (admin, db_url, name) = (admin_url(), self.db_url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                for (url, sql) in [
                    (db_url, format!("DROP OWNED BY {name}")),
                    (admin, format!("DROP ROLE IF EXISTS {name}")),
                ] {
                    let (client, conn) = tokio_postgres::connect(&url, NoTls).await.ok()?;
                    tokio::spawn(conn);
                    client.batch_execute(&sql).await.ok()?;
                }
                Some(())
            })
        })
        .join();
    }
}

/// `url` with its user replaced (and any password dropped).
fn with_user(url: &str, user: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let host = rest.split_once('@').map_or(rest, |(_, h)| h);
    format!("{scheme}://{user}@{host}")
}

#[tokio::test]
async fn a_migrated_database_is_served_by_a_role_with_data_privileges_only() {
    let db = fresh_database().await;
    let role = TempRole {
        name: format!("sessions_dml_{:016x}", rand::random::<u64>()),
        db_url: db.url.clone(),
    };
    let (client, conn) = tokio_postgres::connect(&db.url, NoTls).await.unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(&format!(
            "CREATE ROLE {r} LOGIN; GRANT CONNECT ON DATABASE {d} TO {r};
             REVOKE CREATE ON SCHEMA public FROM PUBLIC;
             GRANT USAGE ON SCHEMA public TO {r}",
            r = role.name,
            d = db
                .url
                .rsplit('/')
                .next()
                .unwrap()
                .split('?')
                .next()
                .unwrap(),
        ))
        .await
        .unwrap();
    let app_url = with_user(&db.url, &role.name);

    // Without CREATE on the schema the role cannot migrate a fresh database, and says why.
    let err = PgStore::connect(&app_url).await.unwrap_err();
    assert!(err.to_string().contains("permission denied"), "{err}");

    // The owner migrates; then data privileges are enough for every kind of call.
    PgStore::connect(&db.url).await.unwrap();
    client
        .batch_execute(&format!(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {r};
             GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {r}",
            r = role.name
        ))
        .await
        .unwrap();
    let store = PgStore::connect(&app_url)
        .await
        .unwrap_or_else(|e| panic!("a migrated database with data privileges only: {e}"));
    store.load_fixture(&fixture(3), NOW).await.unwrap();
    assert_eq!(store.server_secret().await.unwrap().len(), 32);
    let active = store
        .list_sessions("E1", &SessionFilter::default(), None, 100, NOW)
        .await
        .unwrap();
    assert!(store
        .invalidate_session("E1", active[0].session_id, NOW)
        .await
        .unwrap());
    let ids = ids(2);
    store
        .set_settings(
            "E1",
            &ids,
            SettingsChange {
                duration: Some(40_000),
                desktop_app_browser_quit: None,
            },
        )
        .await
        .unwrap();
    let job = store
        .enqueue_bulk_reset("E1", "W0", &ids, ResetFilter::default(), NOW, NOW)
        .await
        .unwrap();
    let claim = store.claim_bulk_job("w", NOW, 30).await.unwrap().unwrap();
    assert_eq!(claim.job.job_id, job);
    store.complete_bulk_job(&claim, NOW).await.unwrap();
}
