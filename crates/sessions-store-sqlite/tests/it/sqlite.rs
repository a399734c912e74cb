//! Runs the conformance suite on SQLite, plus what only SQLite has: a file that outlives the
//! process, migrations, the query plan of a page, group commit.

use std::sync::Arc;

use sessions_store::testing::{base_fixture, loaded, PlainWrites, NOW};
use sessions_store::*;
use sessions_store_sqlite::SqliteStore;
use tempfile::TempDir;

/// A fresh store in a fresh temporary directory (in a nested path, which open creates), with
/// the directory as the guard that outlives it.
async fn sqlite_store() -> (DynStore, TempDir) {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("nested/dir/state.db");
    let store = sessions_store_sqlite::open(path.to_str().unwrap())
        .await
        .unwrap();
    (store, dir)
}

sessions_store::conformance_tests!(sqlite_store().await);

fn db_path(dir: &TempDir) -> String {
    dir.path().join("state.db").to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_close_and_reopen() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    let (secret, created) = {
        let s: DynStore = Arc::new(SqliteStore::open(&path).await.unwrap());
        loaded(&s).await;
        assert!(s.invalidate_session("E1", 1002, NOW).await.unwrap());
        let created = s
            .create_session(NewSession {
                org_id: "E1".into(),
                user_id: "W2".into(),
                team_id: "T1".into(),
                client: ClientKind::Ios,
                token_hash: TokenHash::of("xoxc-durable"),
                created: Device::default(),
                created_at: NOW,
            })
            .await
            .unwrap();
        let job = s
            .enqueue_bulk_reset("E1", "W1", &["W4".to_string()], ResetFilter::All, NOW, NOW)
            .await
            .unwrap();
        assert!(job > 0);
        (s.server_secret().await.unwrap(), created)
    }; // dropped: writer thread joined, file closed

    let s: DynStore = Arc::new(SqliteStore::open(&path).await.unwrap());
    assert_eq!(s.server_secret().await.unwrap(), secret);
    assert_eq!(
        s.session("E1", created.session_id).await.unwrap(),
        Some(created.clone())
    );
    assert!(s
        .session("E1", 1002)
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_some());
    assert!(matches!(
        s.authenticate(&TokenHash::of("xoxc-durable"), NOW)
            .await
            .unwrap(),
        TokenLookup::Active(_)
    ));
    assert_eq!(s.pending_bulk_jobs().await.unwrap(), 1);
    // A new id after reopen is still fresh.
    let next = s
        .create_session(NewSession {
            org_id: "E1".into(),
            user_id: "W2".into(),
            team_id: "T1".into(),
            client: ClientKind::Web,
            token_hash: TokenHash::of("xoxc-durable-2"),
            created: Device::default(),
            created_at: NOW,
        })
        .await
        .unwrap();
    assert!(next.session_id > created.session_id);
}

#[tokio::test]
async fn migrations_are_idempotent_on_reopen() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    for _ in 0..3 {
        let s = SqliteStore::open(&path).await.unwrap();
        assert_eq!(
            s.schema_version().await.unwrap(),
            SqliteStore::latest_schema_version()
        );
        drop(s);
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    let rows: i64 = conn
        .query_row("SELECT COUNT(*) FROM schema_migrations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        rows,
        SqliteStore::latest_schema_version(),
        "each migration recorded once"
    );
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

/// A file of schema version 2 (before audit retention) is upgraded in place at open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_2_file_is_migrated_to_the_latest() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    SqliteStore::create_at_schema_version(&path, 2).unwrap();
    let s = SqliteStore::open(&path).await.unwrap();
    assert_eq!(
        s.schema_version().await.unwrap(),
        SqliteStore::latest_schema_version()
    );
    let conn = rusqlite::Connection::open(&path).unwrap();
    let indexes: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' \
             AND name IN ('audit_log_at', 'audit_targets_entry', 'sessions_expiring')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(indexes, 3);
    let s: DynStore = Arc::new(s);
    loaded(&s).await;
    assert!(s.invalidate_session("E1", 1001, NOW).await.unwrap());
    // The directory (version 5) works on the migrated file.
    assert!(s.user_record("E1", "W2").await.unwrap().is_some());
    assert_eq!(s.list_users("E1", None, None, 10).await.unwrap().len(), 5);
}

/// A version 3 file, whose audit entry and job ids were counters shared by all orgs, is
/// renumbered per org when opened: order kept, job ids in audit details follow their jobs
/// (also of jobs already gone), targets still found, and new ids continue each org's count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_3_file_gets_per_org_ids() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    SqliteStore::create_at_schema_version(&path, 3).unwrap();
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            r#"
            INSERT INTO bulk_jobs (job_id, org_id, actor_user_id, user_ids, filter, state,
                created_at, run_after) VALUES
              (7, 'E1', 'W1', '["W2"]', 'all', 'pending', 100, 100),
              (8, 'E2', 'W9', '["W9"]', 'all', 'done', 101, 101),
              (9, 'E1', 'W1', '["W4"]', 'all', 'done', 102, 102);
            INSERT INTO audit_log (id, org_id, at, actor_user_id, action, method,
                target_user_ids, session_id, details, ip, user_agent, result) VALUES
              (20, 'E1', 1, 'W1', 'bulk_session_reset_by_admin', 'm', '["W2"]', NULL,
               '{"job_id":7,"scope":"all"}', NULL, NULL, 'ok'),
              (21, 'E2', 2, 'W9', 'bulk_session_reset_by_admin', 'm', '["W9"]', NULL,
               '{"job_id":8}', NULL, NULL, 'ok'),
              (22, 'E2', 3, 'W9', 'user_session_reset_by_admin', 'm', '["W9"]', NULL,
               '{"job_id":5}', NULL, NULL, 'ok'),
              (23, 'E1', 4, 'W1', 'user_session_reset_by_admin', 'm', '["W4"]', NULL,
               '{"job_id":9}', NULL, NULL, 'ok'),
              (24, 'E1', 5, 'W1', 'user_session_settings_changed', 'm', '["W2","W4"]', NULL,
               '{}', NULL, NULL, 'not_an_admin');
            INSERT INTO audit_targets (org_id, user_id, entry_id) VALUES
              ('E1', 'W2', 20), ('E2', 'W9', 21), ('E2', 'W9', 22), ('E1', 'W4', 23),
              ('E1', 'W2', 24), ('E1', 'W4', 24);
            "#,
        )
        .unwrap();
    }
    let s: DynStore = Arc::new(SqliteStore::open(&path).await.unwrap());
    let all = |org: &'static str| {
        let s = s.clone();
        async move {
            s.list_audit(org, &AuditFilter::default(), AuditPage::Newest, 100)
                .await
                .unwrap()
        }
    };
    let e1 = all("E1").await;
    assert_eq!(
        e1.iter().map(|e| (e.id, e.at)).collect::<Vec<_>>(),
        vec![(3, 5), (2, 4), (1, 1)]
    );
    // E1's jobs 7 and 9 are its jobs 1 and 2.
    assert_eq!(e1[1].details["job_id"], 2);
    assert_eq!(e1[2].details["job_id"], 1);
    assert_eq!(e1[2].details["scope"], "all");
    let e2 = all("E2").await;
    assert_eq!(e2.iter().map(|e| e.id).collect::<Vec<_>>(), vec![2, 1]);
    // E2's gone job 5 and job 8 are its jobs 1 and 2.
    assert_eq!(e2[1].details["job_id"], 2);
    assert_eq!(e2[0].details["job_id"], 1);
    let j = s.bulk_job("E1", 1).await.unwrap().unwrap();
    assert_eq!(
        (j.user_ids.clone(), j.created_at),
        (vec!["W2".to_owned()], 100)
    );
    assert_eq!(s.bulk_job("E1", 2).await.unwrap().unwrap().created_at, 102);
    assert_eq!(s.bulk_job("E2", 2).await.unwrap().unwrap().created_at, 101);
    // Targets still lead to their entries.
    let by_user = s
        .list_audit(
            "E1",
            &AuditFilter {
                user: Some("W4".into()),
                ..Default::default()
            },
            AuditPage::Newest,
            100,
        )
        .await
        .unwrap();
    assert_eq!(by_user.iter().map(|e| e.id).collect::<Vec<_>>(), vec![3, 2]);
    // New ids continue each org's own count.
    let mut next = e1[0].clone();
    next.details = serde_json::json!({});
    assert_eq!(s.append_audit(&next).await.unwrap(), 4);
    let job = s
        .enqueue_bulk_reset("E2", "W9", &["W9".to_owned()], ResetFilter::All, 200, 200)
        .await
        .unwrap();
    assert_eq!(job, 3);
    // The pending job is still claimed.
    let claim = s.claim_bulk_job("w", 300, 30).await.unwrap().unwrap();
    assert_eq!((claim.job.org_id.as_str(), claim.job.job_id), ("E1", 1));
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    drop(SqliteStore::open(&path).await.unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)",
        [],
    )
    .unwrap();
    drop(conn);
    let err = SqliteStore::open(&path).await.unwrap_err();
    assert!(err.to_string().contains("999"), "{err}");
}

#[tokio::test]
async fn bad_paths_are_refused() {
    assert!(matches!(
        sessions_store_sqlite::open("").await,
        Err(StoreError::BadUrl(_))
    ));
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"not a directory").unwrap();
    let under_file = file.join("state.db");
    let err = SqliteStore::open(under_file.to_str().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Backend { .. }), "{err:?}");
    assert!(
        std::error::Error::source(&err).is_some(),
        "the I/O error is kept: {err:?}"
    );
}

#[tokio::test]
async fn relative_paths_work() {
    let dir = TempDir::new().unwrap();
    // Relative to the current directory; the test makes a unique subdirectory name.
    let rel = format!(
        "target-sqlite-rel-{}/state.db",
        dir.path().file_name().unwrap().to_str().unwrap()
    );
    let s = SqliteStore::open(&rel).await.unwrap();
    assert!(s.path().is_relative());
    s.server_secret().await.unwrap();
    drop(s);
    assert!(std::path::Path::new(&rel).exists());
    std::fs::remove_dir_all(std::path::Path::new(&rel).parent().unwrap()).unwrap();
}

#[tokio::test]
async fn pages_use_an_index_not_a_scan() {
    let dir = TempDir::new().unwrap();
    let s = SqliteStore::open(&db_path(&dir)).await.unwrap();
    let org = s
        .explain_list_sessions(&SessionFilter::default())
        .await
        .unwrap();
    let joined = org.join(" | ");
    assert!(
        joined.contains("USING INDEX sessions_active_org"),
        "{joined}"
    );
    assert!(
        org.iter().all(|step| !step.starts_with("SCAN")),
        "no full scan: {joined}"
    );
    assert!(!joined.contains("TEMP B-TREE"), "no sort step: {joined}");

    let one = s
        .explain_list_sessions(&SessionFilter {
            user_team: Some(("W".into(), "T".into())),
        })
        .await
        .unwrap();
    let joined = one.join(" | ");
    assert!(
        joined.contains("USING INDEX sessions_user_team"),
        "{joined}"
    );
    assert!(
        one.iter().all(|step| !step.starts_with("SCAN")),
        "no full scan: {joined}"
    );
    assert!(!joined.contains("TEMP B-TREE"), "no sort step: {joined}");
}

/// [`base_fixture`] plus `n` web sessions of W4 on T2 with ids from `first`.
fn fixture_with_w4_sessions(first: u64, n: u64) -> Fixture {
    let mut f = base_fixture();
    for i in 0..n {
        f.orgs[0].sessions.push(FixtureSession {
            session_id: first + i,
            user: "W4".into(),
            team: "T2".into(),
            client: "web".into(),
            token: None,
            created_at: None,
            created: Device::default(),
            recent: None,
        });
    }
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_commit_batches_concurrent_writes() {
    let dir = TempDir::new().unwrap();
    let s = Arc::new(SqliteStore::open(&db_path(&dir)).await.unwrap());
    s.load_fixture(&fixture_with_w4_sessions(7000, 64), NOW)
        .await
        .unwrap();
    let before = s.commit_count();
    // Start all 64 writes before awaiting any of them.
    let writes: Vec<_> = (0..64u64)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move { s.invalidate_session("E1", 7000 + i, NOW).await })
        })
        .collect();
    for w in writes {
        assert!(w.await.unwrap().unwrap());
    }
    let commits = s.commit_count() - before;
    assert!(commits >= 1);
    assert!(commits < 64, "64 writes took {commits} commits");
    for i in 0..64 {
        assert!(s
            .session("E1", 7000 + i)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some());
    }
}

/// Failing writes batched with succeeding ones: each failure rolls back only its own savepoint
/// (including what it wrote before failing), everything else commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_write_in_a_batch_does_not_spoil_the_others() {
    let dir = TempDir::new().unwrap();
    let s = Arc::new(SqliteStore::open(&db_path(&dir)).await.unwrap());
    s.load_fixture(&fixture_with_w4_sessions(7000, 64), NOW)
        .await
        .unwrap();
    let before = s.commit_count();
    let tasks: Vec<_> = (0..64u64)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                if i % 2 == 0 {
                    s.invalidate_session("E1", 7000 + i, NOW).await.map(|_| ())
                } else {
                    // W2 is written first, then the unknown user fails the whole call.
                    let users = ["W2".to_string(), format!("W404-{i}")];
                    let change = SettingsChange {
                        duration: Some(28_800),
                        ..Default::default()
                    };
                    s.set_settings("E1", &users, change).await
                }
            })
        })
        .collect();
    for (i, t) in tasks.into_iter().enumerate() {
        let got = t.await.unwrap();
        if i % 2 == 0 {
            assert!(got.is_ok(), "write {i}: {got:?}");
        } else {
            assert!(
                matches!(got, Err(StoreError::NotFound(_))),
                "write {i}: {got:?}"
            );
        }
    }
    assert!(s.commit_count() - before < 64, "the writes were batched");
    let w2 = s.get_settings("E1", &["W2".to_string()]).await.unwrap();
    assert!(w2.is_empty(), "no failed write left anything: {w2:?}");
    assert_eq!(
        s.session("E1", 1002).await.unwrap().unwrap().expires_at,
        None
    );
    for i in 0..64u64 {
        let row = s.session("E1", 7000 + i).await.unwrap().unwrap();
        assert_eq!(row.revoked_at.is_some(), i % 2 == 0, "session {}", 7000 + i);
    }
}

#[tokio::test]
async fn tokens_are_stored_only_as_hashes() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    {
        let s: DynStore = Arc::new(SqliteStore::open(&path).await.unwrap());
        loaded(&s).await;
    }
    let mut bytes = std::fs::read(&path).unwrap();
    if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
        bytes.extend(wal);
    }
    let text = String::from_utf8_lossy(&bytes);
    for t in ["xoxp-admin", "xoxb-bot", "xoxc-1001", "xoxp-other"] {
        assert!(!text.contains(t), "{t} stored in clear");
    }
    assert!(text.contains("Acme"), "the check reads real data");
}

/// Two stores on one file (two processes sharing it) stay consistent: SQLite's file lock
/// serialises their writers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_file_agree() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    let a: DynStore = Arc::new(SqliteStore::open(&path).await.unwrap());
    let b: DynStore = Arc::new(SqliteStore::open(&path).await.unwrap());

    let (sa, sb) = tokio::join!(a.server_secret(), b.server_secret());
    assert_eq!(sa.unwrap(), sb.unwrap(), "one secret for both");

    loaded(&a).await;
    assert!(
        b.invalidate_session("E1", 1001, NOW).await.unwrap(),
        "b sees a's fixture"
    );
    assert!(
        !a.invalidate_session("E1", 1001, NOW).await.unwrap(),
        "a sees b's write"
    );

    for _ in 0..4 {
        a.enqueue_bulk_reset("E1", "W1", &["W2".to_string()], ResetFilter::All, NOW, NOW)
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for i in 0..16 {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            let claim = s.claim_bulk_job(&format!("w{i}"), NOW, 60).await.unwrap();
            let made = s
                .create_session(NewSession {
                    org_id: "E1".into(),
                    user_id: "W2".into(),
                    team_id: "T1".into(),
                    client: ClientKind::Web,
                    token_hash: TokenHash::of(&format!("xoxc-two-{i}")),
                    created: Device::default(),
                    created_at: NOW,
                })
                .await
                .unwrap();
            (claim.map(|c| c.job.job_id), made.session_id)
        }));
    }
    let mut jobs = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let (job, id) = t.await.unwrap();
        jobs.extend(job);
        assert!(ids.insert(id), "session id {id} handed out twice");
    }
    jobs.sort();
    jobs.dedup();
    assert_eq!(jobs.len(), 4, "each job claimed once across both stores");
    let listed = b
        .list_sessions("E1", &SessionFilter::default(), None, 1000, NOW)
        .await
        .unwrap();
    assert!(ids
        .iter()
        .all(|id| listed.iter().any(|r| r.session_id == *id)));
}

fn is_active(l: &TokenLookup) -> bool {
    matches!(l, TokenLookup::Active(_))
}

/// The token cache never answers for a database that has changed since: writes made through
/// another store on the same file (another process, as far as SQLite knows) reach a store whose
/// lookups are cached, and a cached session still expires on time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_cache_follows_every_write_to_the_file() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    let a = SqliteStore::open(&path).await.unwrap();
    assert!(a.token_cache_enabled());
    let b: DynStore = Arc::new(SqliteStore::open(&path).await.unwrap());
    loaded(&b).await;

    // A session token, looked up twice (the second time from the cache), then invalidated.
    let stats = |hits, misses| Some(TokenCacheStats { hits, misses });
    assert_eq!(a.token_cache_stats(), stats(0, 0));
    let session = TokenHash::of("xoxc-1001");
    for _ in 0..2 {
        assert!(is_active(&a.authenticate(&session, NOW).await.unwrap()));
    }
    assert_eq!(
        a.token_cache_stats(),
        stats(1, 1),
        "the second lookup was a hit"
    );
    assert!(b.invalidate_session("E1", 1001, NOW).await.unwrap());
    assert_eq!(
        a.authenticate(&session, NOW).await.unwrap(),
        TokenLookup::SessionEnded
    );
    assert_eq!(
        a.token_cache_stats(),
        stats(1, 2),
        "the write sent it to the database"
    );
    // Ended sessions are not remembered.
    a.authenticate(&session, NOW).await.unwrap();
    assert_eq!(a.token_cache_stats(), stats(1, 3));

    // An API token, cached, then revoked elsewhere.
    let api = TokenHash::of("xoxp-dana");
    for _ in 0..2 {
        assert!(is_active(&a.authenticate(&api, NOW).await.unwrap()));
    }
    assert!(b.revoke_token("E1", &api).await.unwrap());
    assert_eq!(
        a.authenticate(&api, NOW).await.unwrap(),
        TokenLookup::Revoked
    );

    // A reset of the user's sessions.
    let token = "xoxc-cache-reset";
    b.create_session(NewSession {
        org_id: "E1".into(),
        user_id: "W2".into(),
        team_id: "T1".into(),
        client: ClientKind::Web,
        token_hash: TokenHash::of(token),
        created: Device::default(),
        created_at: NOW,
    })
    .await
    .unwrap();
    let reset = TokenHash::of(token);
    for _ in 0..2 {
        assert!(is_active(&a.authenticate(&reset, NOW).await.unwrap()));
    }
    assert!(
        b.reset_user("E1", "W2", ResetFilter::All, NOW)
            .await
            .unwrap()
            > 0
    );
    assert_eq!(
        a.authenticate(&reset, NOW).await.unwrap(),
        TokenLookup::SessionEnded
    );

    // A session given a duration: cached while young, ended once its time is up, with no
    // write in between to refresh the cache.
    let token = "xoxc-cache-expiry";
    b.create_session(NewSession {
        org_id: "E1".into(),
        user_id: "W2".into(),
        team_id: "T1".into(),
        client: ClientKind::Web,
        token_hash: TokenHash::of(token),
        created: Device::default(),
        created_at: NOW,
    })
    .await
    .unwrap();
    b.set_settings(
        "E1",
        &["W2".to_string()],
        SettingsChange {
            duration: Some(28_800),
            desktop_app_browser_quit: None,
        },
    )
    .await
    .unwrap();
    let expiring = TokenHash::of(token);
    for _ in 0..2 {
        assert!(is_active(&a.authenticate(&expiring, NOW).await.unwrap()));
    }
    assert!(is_active(
        &a.authenticate(&expiring, NOW + 28_799).await.unwrap()
    ));
    assert_eq!(
        a.authenticate(&expiring, NOW + 28_800).await.unwrap(),
        TokenLookup::SessionEnded
    );

    // A fixture load replacing everything: the admin token of the old fixture is gone.
    let admin = TokenHash::of("xoxp-admin");
    assert!(is_active(&a.authenticate(&admin, NOW).await.unwrap()));
    b.reset_all().await.unwrap();
    assert_eq!(
        a.authenticate(&admin, NOW).await.unwrap(),
        TokenLookup::Unknown
    );
}

/// With the cache off every lookup goes to the database and answers the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_cache_can_be_turned_off() {
    let dir = TempDir::new().unwrap();
    let path = db_path(&dir);
    let s = SqliteStore::open(&path)
        .await
        .unwrap()
        .with_token_cache(false);
    assert!(!s.token_cache_enabled());
    assert_eq!(s.token_cache_stats(), None);
    let s: DynStore = Arc::new(s);
    loaded(&s).await;
    let t = TokenHash::of("xoxc-1001");
    assert!(is_active(&s.authenticate(&t, NOW).await.unwrap()));
    assert!(s.invalidate_session("E1", 1001, NOW).await.unwrap());
    assert_eq!(
        s.authenticate(&t, NOW).await.unwrap(),
        TokenLookup::SessionEnded
    );
}
