//! Several `serve` processes (the built binary) on one PostgreSQL database: one truth.
//!
//! Each test gets a fresh database on `SESSIONS_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), dropped afterwards. PostgreSQL must be
//! reachable: these tests fail, never skip, without it (`bash scripts/ensure-postgres.sh`).

use futures::TryStreamExt;
use serde_json::Value;
use sessions_client::{
    Error, ErrorCode, GetSettingsRequest, InvalidateRequest, ListRequest, ResetBulkRequest,
    ResetRequest, SetSettingsRequest,
};
use sessions_test_support::wait;

use crate::procs::{serve, ServeClient, ServeProcess, TempDb};

const ADMIN: &str = "xoxp-mn-admin";

/// One org, 30 members with one session each (ids 1000..1030, tokens `xoxc-mn-{i}`), so lists
/// span many pages.
fn fixture() -> String {
    let mut users =
        vec![serde_json::json!({"id":"WADMIN","name":"adam","role":"admin","teams":["T1"]})];
    let mut sessions = Vec::new();
    for i in 0..30u64 {
        let id = format!("W{i:03}");
        users.push(
            serde_json::json!({"id": id, "name": format!("user{i}"), "role": "member",
            "teams": ["T1"]}),
        );
        let client = ["desktop", "web", "ios", "android"][(i % 4) as usize];
        sessions.push(
            serde_json::json!({"session_id": 1000 + i, "user": id, "team": "T1",
            "client": client, "token": format!("xoxc-mn-{i}"), "created": {"os": "macOS"}}),
        );
    }
    serde_json::json!({"orgs":[{"id":"E1","name":"Multi Node","teams":[{"id":"T1","name":"Eng"}],
        "users": users,
        "tokens":[{"token":ADMIN,"user":"WADMIN","type":"user",
            "scopes":["admin.users:read","admin.users:write"]}],
        "sessions": sessions}]})
    .to_string()
}

/// The serve processes of these tests.
type Node = ServeProcess;

/// Reads of one node's control API.
trait NodeExt {
    /// `GET /control/jobs/E1/{id}`.
    async fn job(&self, id: i64) -> Value;
    /// `GET /ready` (no token: what a load balancer polls); must answer 200.
    async fn ready(&self) -> Value;
}

impl NodeExt for Node {
    async fn job(&self, id: i64) -> Value {
        self.control_get(&format!("/jobs/E1/{id}")).await
    }

    async fn ready(&self) -> Value {
        let url = format!("{}ready", self.api.strip_suffix("api/").unwrap());
        let r = reqwest::get(url).await.unwrap();
        assert_eq!(r.status(), 200);
        serde_json::from_str(&r.text().await.unwrap()).unwrap()
    }
}

async fn wait_job_done(node: &Node, id: i64) -> Value {
    wait::until(&format!("job {id} to be done"), || async {
        let job = node.job(id).await;
        (job["state"] == "done").then_some(job)
    })
    .await
}

/// Records a resetBulk job through `node`; its id.
async fn reset_bulk(node: &Node, users: &[&str]) -> i64 {
    let info = node
        .client(ADMIN)
        .admin_users_session_reset_bulk_with_http_info(ResetBulkRequest::new(users.iter().copied()))
        .await
        .unwrap();
    info.headers["x-sessions-job-id"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn assert_invalid_auth(err: Error) {
    assert!(
        matches!(err, Error::Api { ref code, .. } if *code == ErrorCode::InvalidAuth),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_on_one_node_is_seen_at_once_on_the_other() {
    let db = TempDb::fresh("mn").await;
    let a = serve(&db.url, Some(&fixture()), &[]).await;
    let b = serve(&db.url, None, &[]).await;

    // Both nodes accept every session token before anything happens.
    for i in 0..30 {
        let token = format!("xoxc-mn-{i}");
        a.client(&token).auth_test().await.unwrap();
        b.client(&token).auth_test().await.unwrap();
    }
    // Each write is answered by one node; the very next request, on the other node, sees it.
    for i in 0..20u64 {
        let (writer, reader) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let user = format!("W{i:03}");
        if i % 4 < 2 {
            writer
                .client(ADMIN)
                .admin_users_session_invalidate(InvalidateRequest::for_user(1000 + i, &*user))
                .await
                .unwrap();
        } else {
            writer
                .client(ADMIN)
                .admin_users_session_reset(ResetRequest::new(&*user))
                .await
                .unwrap();
        }
        assert_invalid_auth(
            reader
                .client(&format!("xoxc-mn-{i}"))
                .auth_test()
                .await
                .unwrap_err(),
        );
    }
    // Untouched sessions still work on both.
    for i in 20..30 {
        let token = format!("xoxc-mn-{i}");
        a.client(&token).auth_test().await.unwrap();
        b.client(&token).auth_test().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_cursor_pages_alternately_through_both_nodes() {
    let db = TempDb::fresh("mn").await;
    let a = serve(&db.url, Some(&fixture()), &[]).await;
    let b = serve(&db.url, None, &[]).await;
    let (ca, cb) = (a.client(ADMIN), b.client(ADMIN));

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for turn in 0.. {
        let client = if turn % 2 == 0 { &ca } else { &cb };
        let mut req = ListRequest::org().limit(4);
        req.cursor = cursor.clone();
        let page = client.admin_users_session_list(req).await.unwrap();
        seen.extend(page.active_sessions.iter().map(|s| s.session_id.0));
        match page.next_cursor() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
        assert!(turn < 100, "pagination does not end");
    }
    let want: Vec<u64> = (1000..1030).collect();
    assert_eq!(seen, want, "every session exactly once, in order");

    // The same holds for the client's stream, on either node.
    let all: Vec<_> = cb
        .admin_users_session_list_all(ListRequest::org().limit(7))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 30);

    // What a load balancer checks: both nodes ready (their store answers), each its own node.
    let (ra, rb) = (a.ready().await, b.ready().await);
    assert_eq!(
        (ra["ok"].clone(), rb["ok"].clone()),
        (true.into(), true.into())
    );
    assert_ne!(ra["node_id"], rb["node_id"], "{ra} {rb}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_bulk_jobs_run_exactly_once_across_nodes() {
    let db = TempDb::fresh("mn").await;
    let a = serve(&db.url, Some(&fixture()), &[]).await;
    let b = serve(&db.url, None, &[]).await;

    // Six jobs, recorded alternately on A and B; both workers compete for all of them.
    let mut jobs = Vec::new();
    for i in 0..6usize {
        let node = if i % 2 == 0 { &a } else { &b };
        let users = [format!("W{:03}", i * 2), format!("W{:03}", i * 2 + 1)];
        let refs: Vec<&str> = users.iter().map(String::as_str).collect();
        jobs.push((reset_bulk(node, &refs).await, users));
    }
    for (id, users) in &jobs {
        let job = wait_job_done(&a, *id).await;
        assert_eq!(
            job["attempts"], 1,
            "job {id} was claimed more than once: {job}"
        );
        let want: Vec<Value> = users.iter().map(|u| serde_json::json!([u, null])).collect();
        assert_eq!(job["results"], Value::Array(want), "{job}");
        // Both nodes report the same job.
        assert_eq!(b.job(*id).await, job);
    }
    let left: Vec<u64> = a
        .client(ADMIN)
        .admin_users_session_list_all(ListRequest::org())
        .map_ok(|s| s.session_id.0)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(left, (1012..1030).collect::<Vec<u64>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_node_is_killed_mid_way_is_finished_by_another() {
    let db = TempDb::fresh("mn").await;
    // Node A claims jobs but holds them (a slow job), with a short lease.
    let mut a = serve(
        &db.url,
        Some(&fixture()),
        &["--bulk-lease-secs", "2", "--bulk-hold-ms", "600000"],
    )
    .await;
    let id = reset_bulk(&a, &["W010", "W011", "W012"]).await;
    // Wait until A has claimed it.
    let job = wait::until("node A to claim the job", || async {
        let job = a.job(id).await;
        (job["attempts"] == 1).then_some(job)
    })
    .await;
    assert_eq!(job["state"], "pending");
    // Claimed but not applied: the sessions still work.
    a.client("xoxc-mn-10").auth_test().await.unwrap();
    a.kill();
    let b = serve(&db.url, None, &["--bulk-lease-secs", "2"]).await;

    let job = wait_job_done(&b, id).await;
    assert_eq!(job["attempts"], 2, "{job}");
    let want: Vec<Value> = ["W010", "W011", "W012"]
        .iter()
        .map(|u| serde_json::json!([u, null]))
        .collect();
    assert_eq!(job["results"], Value::Array(want), "{job}");
    for token in ["xoxc-mn-10", "xoxc-mn-11", "xoxc-mn-12"] {
        assert_invalid_auth(b.client(token).auth_test().await.unwrap_err());
    }
    b.client("xoxc-mn-13").auth_test().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_on_both_nodes_lose_nothing() {
    let db = TempDb::fresh("mn").await;
    let a = serve(&db.url, Some(&fixture()), &[]).await;
    let b = serve(&db.url, None, &[]).await;
    const ROUNDS: u64 = 10;
    let users: Vec<String> = (0..30).map(|i| format!("W{i:03}")).collect();

    // Every session invalidated twice at once, once through each node: exactly one succeeds.
    let mut races = tokio::task::JoinSet::new();
    for i in 0..30u64 {
        for client in [a.client(ADMIN), b.client(ADMIN)] {
            races.spawn(async move {
                let r = client
                    .admin_users_session_invalidate(InvalidateRequest::for_user(
                        1000 + i,
                        format!("W{i:03}"),
                    ))
                    .await;
                match r {
                    Ok(_) => Some(i),
                    Err(Error::Api {
                        code: ErrorCode::SessionNotFound,
                        ..
                    }) => None,
                    Err(e) => panic!("invalidate {i}: {e:?}"),
                }
            });
        }
    }
    // Meanwhile node A writes durations of the first half, node B the quit flag of everyone:
    // each field's last acknowledged value must be the final one.
    let (ca, half) = (a.client(ADMIN), users[..15].to_vec());
    let durations = tokio::spawn(async move {
        for r in 0..ROUNDS {
            ca.admin_users_session_set_settings(
                SetSettingsRequest::new(half.clone()).duration(28_800 + r),
            )
            .await
            .unwrap();
        }
    });
    let (cb, all) = (b.client(ADMIN), users.clone());
    let quits = tokio::spawn(async move {
        for r in 0..ROUNDS {
            cb.admin_users_session_set_settings(
                SetSettingsRequest::new(all.clone()).desktop_app_browser_quit(r % 2 == 1),
            )
            .await
            .unwrap();
        }
    });
    let mut ended = Vec::new();
    while let Some(r) = races.join_next().await {
        ended.extend(r.unwrap());
    }
    durations.await.unwrap();
    quits.await.unwrap();
    ended.sort();
    assert_eq!(ended, (0..30).collect::<Vec<u64>>());
    let left: Vec<_> = b
        .client(ADMIN)
        .admin_users_session_list_all(ListRequest::org())
        .try_collect()
        .await
        .unwrap();
    assert!(left.is_empty(), "{left:?}");

    // Nobody has an active session left, so getSettings lists nobody; the stored settings
    // are read from the state dump.
    let got = a
        .client(ADMIN)
        .admin_users_session_get_settings(GetSettingsRequest::new(users.clone()))
        .await
        .unwrap();
    assert!(got.session_settings.is_empty() && got.no_settings_applied.is_empty());
    let dump = a.control_get("/dump?org_id=E1").await;
    let settings = dump["orgs"][0]["settings"].as_array().unwrap();
    assert_eq!(settings.len(), 30);
    for s in settings {
        let i: usize = s["user"].as_str().unwrap()[1..].parse().unwrap();
        let want = (i < 15).then_some(28_800 + ROUNDS - 1);
        assert_eq!(s["duration"].as_u64(), want, "{s}");
        assert_eq!(
            s["desktop_app_browser_quit"].as_bool(),
            Some((ROUNDS - 1) % 2 == 1),
            "{s}"
        );
    }
}
