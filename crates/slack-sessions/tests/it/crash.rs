//! Crash safety (issue #7): the built `slack-sessions serve` on a real SQLite file and on a fresh
//! PostgreSQL database is SIGKILLed at random moments while several tasks drive invalidations,
//! resets, resetBulk jobs and settings changes through the Rust client, then restarted on the
//! same database. After every restart:
//! - every write answered `ok:true` is there: invalidated sessions and sessions of reset users
//!   are gone from the stored state and their session tokens fail `auth.test`; settings read
//!   back as the last value answered ok (or a later write whose answer was lost in the kill);
//! - no session ever seen revoked is active again (checked on the whole org, and through
//!   `auth.test` for the newly revoked and a sample of the older ones);
//! - every recorded resetBulk job (id from `x-sessions-job-id`) finishes, and its users' sessions
//!   are revoked.
//!
//! The RNG is seeded (`SESSIONS_CRASH_SEED`, else a random seed printed at the start, so a
//! failure can be replayed). PostgreSQL must be reachable (`SESSIONS_TEST_PG_URL`); the test
//! fails otherwise.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sessions_client::{
    Client, Error, ErrorCode, GetSettingsRequest, InvalidateRequest, ResetBulkRequest,
    ResetRequest, SetSettingsRequest,
};
use sessions_test_support::wait;

use crate::procs::{serve, ServeClient, ServeProcess, TempDb};

const ADMIN: &str = "xoxp-crash-admin";
const ORG: &str = "E1";
const USERS: usize = 300;
const SESSIONS_PER_USER: usize = 6;
const TASKS: usize = 4;
const KILLS: usize = 25;

fn user(i: usize) -> String {
    format!("W{i:04}")
}

fn session_id(u: usize, k: usize) -> u64 {
    10_000 + (u * SESSIONS_PER_USER + k) as u64
}

fn session_token(id: u64) -> String {
    format!("xoxc-crash-{id}")
}

fn fixture() -> String {
    let mut users =
        vec![serde_json::json!({"id":"WADMIN","name":"admin","role":"admin","teams":["T1"]})];
    let mut sessions = Vec::new();
    for u in 0..USERS {
        users.push(serde_json::json!({"id": user(u), "name": format!("user{u}"), "role": "member", "teams": ["T1"]}));
        for k in 0..SESSIONS_PER_USER {
            let id = session_id(u, k);
            let client = ["desktop", "web", "ios", "android"][k % 4];
            sessions.push(
                serde_json::json!({"session_id": id, "user": user(u), "team": "T1",
                "client": client, "token": session_token(id),
                "created": {"os": "macOS"}}),
            );
        }
    }
    serde_json::json!({"orgs":[{"id": ORG, "name": "Crash", "teams":[{"id":"T1","name":"Eng"}],
        "users": users,
        "tokens":[{"token": ADMIN, "user": "WADMIN", "type": "user",
                   "scopes": ["admin.users:read", "admin.users:write"]}],
        "sessions": sessions}]})
    .to_string()
}

type Server = ServeProcess;

/// Serve flags of every start. A job leased by a killed process is taken over once its lease
/// lapses: keep that short so the run stays brief. Each job is held 40 ms after it is claimed,
/// so kills often land mid-job and the restarted server must take the job over.
const SERVE_FLAGS: &[&str] = &["--bulk-lease-secs", "2", "--bulk-hold-ms", "40"];

type Setting = Option<(u64, bool)>;

/// What the server acknowledged, and what verification has established.
#[derive(Default)]
struct Ledger {
    /// Sessions whose invalidate was answered ok.
    invalidated: HashSet<u64>,
    /// Users whose reset was answered ok (no session is created during the run, so all of
    /// their sessions must stay revoked).
    reset_users: HashSet<usize>,
    /// resetBulk jobs answered ok: id and users.
    jobs: Vec<(i64, Vec<usize>)>,
    /// Jobs seen done.
    jobs_done: HashSet<i64>,
    /// Jobs done that took more than one claim (their first holder was killed).
    jobs_taken_over: u64,
    /// Per user, the settings values the server may hold: the last one answered ok, plus any
    /// later one whose answer was lost. Each user's settings are written by one task only.
    settings: HashMap<usize, BTreeSet<Setting>>,
    /// Sessions seen revoked by an earlier verification.
    revoked: BTreeSet<u64>,
    /// Counters for the report.
    acked: u64,
    unknown: u64,
}

/// One load task until `stop`: random writes, recording what was answered ok.
async fn load_task(
    client: Client,
    task: usize,
    mut rng: StdRng,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
) {
    let own: Vec<usize> = (0..USERS).filter(|u| u % TASKS == task).collect();
    while !stop.load(Ordering::Relaxed) {
        let roll = rng.gen_range(0..100);
        // Ok(true) = acknowledged, Ok(false) = refused by the API (nothing applied),
        // Err = outcome unknown (the server died under us).
        let outcome: Result<bool, Error>;
        // Rare resets keep sessions alive to the end, so late kills still have work to lose.
        if roll < 64 {
            let u = own[rng.gen_range(0..own.len())];
            let v = (rng.gen_range(28_800..400_000u64), rng.gen_bool(0.5));
            let req = SetSettingsRequest {
                duration: Some(v.0),
                desktop_app_browser_quit: Some(v.1),
                ..SetSettingsRequest::new([user(u)])
            };
            outcome = classify(client.admin_users_session_set_settings(req).await);
            let mut l = ledger.lock().unwrap();
            let set = l
                .settings
                .entry(u)
                .or_insert_with(|| BTreeSet::from([None]));
            match &outcome {
                Ok(true) => *set = BTreeSet::from([Some(v)]),
                Ok(false) => {}
                Err(_) => {
                    set.insert(Some(v));
                }
            }
        } else if roll < 94 {
            let u = rng.gen_range(0..USERS);
            let id = session_id(u, rng.gen_range(0..SESSIONS_PER_USER));
            outcome = classify(
                client
                    .admin_users_session_invalidate(InvalidateRequest::for_user(id, user(u)))
                    .await,
            );
            if matches!(outcome, Ok(true)) {
                ledger.lock().unwrap().invalidated.insert(id);
            }
        } else if roll < 97 {
            let u = rng.gen_range(0..USERS);
            outcome = classify(
                client
                    .admin_users_session_reset(ResetRequest::new(user(u)))
                    .await,
            );
            if matches!(outcome, Ok(true)) {
                ledger.lock().unwrap().reset_users.insert(u);
            }
        } else {
            // Distinct users (the server folds duplicates into one result).
            let users: Vec<usize> = (0..rng.gen_range(2..5))
                .map(|_| rng.gen_range(0..USERS))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let r = client
                .admin_users_session_reset_bulk_with_http_info(ResetBulkRequest::new(
                    users.iter().map(|u| user(*u)),
                ))
                .await;
            outcome = match r {
                Ok(info) => {
                    let id: i64 = info
                        .headers
                        .get("x-sessions-job-id")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse().ok())
                        .expect("resetBulk ok:true without x-sessions-job-id");
                    ledger.lock().unwrap().jobs.push((id, users));
                    Ok(true)
                }
                Err(e) => classify::<()>(Err(e)),
            };
        }
        {
            let mut l = ledger.lock().unwrap();
            match outcome {
                Ok(true) => l.acked += 1,
                Ok(false) => {}
                Err(_) => {
                    l.unknown += 1;
                    // The server is gone; wait for the next one.
                    return;
                }
            }
        }
        // Kept: random pacing is part of the load this test generates (nothing to wait for).
        let pause = rng.gen_range(0..12);
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
}

/// `Ok(true)` answered ok, `Ok(false)` refused by the API, `Err` when the outcome is unknown.
fn classify<T>(r: Result<T, Error>) -> Result<bool, Error> {
    match r {
        Ok(_) => Ok(true),
        Err(Error::Api { code, messages, .. }) => {
            // Every refusal here must be a documented, expected one; internal_error would mean
            // the store failed under load.
            assert!(
                code != ErrorCode::InternalError,
                "internal_error: {messages:?}"
            );
            Ok(false)
        }
        // A rate limit answers before any work is done.
        Err(Error::RateLimited { .. }) => Ok(false),
        Err(e @ (Error::Transport(_) | Error::Timeout)) => Err(e),
        Err(e) => panic!("unexpected client error: {e}"),
    }
}

/// The session tokens given must all fail `auth.test`.
async fn assert_tokens_fail(s: &Server, ids: impl IntoIterator<Item = u64>, why: &str) {
    let client = s.client("unused");
    let ids: Vec<u64> = ids.into_iter().collect();
    let results = futures::future::join_all(ids.iter().map(|id| {
        let c = client.with_token(session_token(*id));
        async move { (*id, c.auth_test().await) }
    }))
    .await;
    for (id, r) in results {
        match r {
            Err(Error::Api { .. }) => {}
            Ok(_) => panic!("session {id} ({why}) still authenticates"),
            Err(e) => panic!("auth.test for session {id}: {e}"),
        }
    }
}

/// The org's active sessions, from the stored state.
async fn active_sessions(s: &Server) -> HashSet<u64> {
    let dump = s.control_get(&format!("/dump?org_id={ORG}")).await;
    dump["orgs"][0]["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["session_id"].as_u64().unwrap())
        .collect()
}

/// Checks everything the ledger promises against the restarted server. With `wait_jobs`,
/// waits until every recorded job is done.
async fn verify(s: &Server, ledger: &Mutex<Ledger>, rng: &mut StdRng, wait_jobs: bool) {
    // 1. Jobs: every recorded job finishes (its lease, if its holder was killed, lapses).
    let jobs: Vec<(i64, Vec<usize>)> = {
        let l = ledger.lock().unwrap();
        l.jobs
            .iter()
            .filter(|(id, _)| !l.jobs_done.contains(id))
            .cloned()
            .collect()
    };
    let mut done_users = Vec::new();
    for (id, users) in jobs {
        let done = || async {
            let job = s.control_get(&format!("/jobs/{ORG}/{id}")).await;
            (job["state"] == "done").then_some(job)
        };
        let job = if wait_jobs {
            Some(wait::until(&format!("job {id} to finish after restart"), done).await)
        } else {
            done().await
        };
        if let Some(job) = job {
            let results = job["results"].as_array().unwrap();
            assert_eq!(results.len(), users.len(), "job {id}: {job}");
            for r in results {
                assert!(r[1].is_null(), "job {id} failed for a user: {job}");
            }
            let mut l = ledger.lock().unwrap();
            l.jobs_done.insert(id);
            l.jobs_taken_over += u64::from(job["attempts"].as_u64().unwrap_or(0) > 1);
            done_users.extend(users);
        }
    }
    if !done_users.is_empty() {
        ledger.lock().unwrap().reset_users.extend(done_users);
    }

    // 2. The whole org: which sessions are still active.
    let active = active_sessions(s).await;
    let (newly_revoked, sample) = {
        let mut l = ledger.lock().unwrap();
        for id in &l.invalidated {
            assert!(
                !active.contains(id),
                "session {id} was invalidated (ok:true) but is active after a crash"
            );
        }
        for u in &l.reset_users {
            for k in 0..SESSIONS_PER_USER {
                let id = session_id(*u, k);
                assert!(
                    !active.contains(&id),
                    "user {} was reset (ok:true) but session {id} is active after a crash",
                    user(*u)
                );
            }
        }
        for id in &l.revoked {
            assert!(
                !active.contains(id),
                "session {id} was revoked before but works again"
            );
        }
        let all = (0..USERS).flat_map(|u| (0..SESSIONS_PER_USER).map(move |k| session_id(u, k)));
        let newly: Vec<u64> = all
            .filter(|id| !active.contains(id) && !l.revoked.contains(id))
            .collect();
        let older: Vec<u64> = l.revoked.iter().copied().collect();
        let sample: Vec<u64> = (0..older.len().min(24))
            .map(|_| older[rng.gen_range(0..older.len())])
            .collect();
        l.revoked.extend(newly.iter().copied());
        (newly, sample)
    };
    // 3. Through the API: revoked tokens fail, and (so the check can fail) active ones pass.
    assert_tokens_fail(s, newly_revoked, "newly revoked").await;
    assert_tokens_fail(s, sample, "revoked earlier").await;
    let active: Vec<u64> = active.into_iter().collect();
    for _ in 0..active.len().min(4) {
        let id = active[rng.gen_range(0..active.len())];
        if let Err(e) = s.client(&session_token(id)).auth_test().await {
            // A job taken over by this server's worker may have revoked it since the dump;
            // otherwise an active session must authenticate.
            let now = active_sessions(s).await;
            assert!(
                !now.contains(&id),
                "active session {id} fails auth.test: {e}"
            );
        }
    }
    // 4. Settings answered ok are stored (or a later write whose answer was lost).
    let users: Vec<usize> = ledger.lock().unwrap().settings.keys().copied().collect();
    if users.is_empty() {
        return;
    }
    // The stored state is the reference (getSettings leaves out users without an active
    // session); what getSettings answers must agree with it.
    let dump = s.control_get(&format!("/dump?org_id={ORG}")).await;
    let mut stored: HashMap<String, Setting> = users.iter().map(|u| (user(*u), None)).collect();
    for st in dump["orgs"][0]["settings"].as_array().unwrap() {
        let v = st["duration"]
            .as_u64()
            .zip(st["desktop_app_browser_quit"].as_bool());
        stored.insert(st["user"].as_str().unwrap().to_owned(), v);
    }
    let with_sessions: HashSet<String> = dump["orgs"][0]["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["user"].as_str().unwrap().to_owned())
        .collect();
    let got = s
        .client(ADMIN)
        .admin_users_session_get_settings(GetSettingsRequest::new(users.iter().map(|u| user(*u))))
        .await
        .unwrap();
    for u in &got.no_settings_applied {
        assert_eq!(
            stored.get(u),
            Some(&None),
            "getSettings: {u} has no settings"
        );
    }
    for st in &got.session_settings {
        let v = st.duration.zip(st.desktop_app_browser_quit);
        assert_eq!(
            stored.get(&st.user_id),
            Some(&v),
            "getSettings of {}",
            st.user_id
        );
    }
    // Sessions only end in the meantime (a job taken over by this server), so whoever
    // getSettings lists had an active session in the dump taken before it.
    for u in got
        .no_settings_applied
        .iter()
        .chain(got.session_settings.iter().map(|st| &st.user_id))
    {
        assert!(
            with_sessions.contains(u),
            "getSettings listed {u}, who has no session"
        );
    }
    let mut l = ledger.lock().unwrap();
    for u in users {
        let v = stored
            .get(&user(u))
            .unwrap_or_else(|| panic!("getSettings left out {}", user(u)));
        let allowed = l.settings.get_mut(&u).unwrap();
        assert!(
            allowed.contains(v),
            "settings of {} are {v:?}; acknowledged writes allow only {allowed:?}",
            user(u)
        );
        // Whatever was in doubt is settled now: the killed process can commit nothing more.
        *allowed = BTreeSet::from([*v]);
    }
}

async fn crash_run(db: String, backend: &str) {
    let seed: u64 = std::env::var("SESSIONS_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("crash test on {backend}: SESSIONS_CRASH_SEED={seed}");
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let restarts = Arc::new(AtomicU64::new(0));
    // The fixture is loaded once: loading it again would bring revoked sessions back.
    let mut server = serve(&db, Some(&fixture()), SERVE_FLAGS).await;
    for cycle in 0..KILLS {
        let stop = Arc::new(AtomicBool::new(false));
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                tokio::spawn(load_task(
                    server.client(ADMIN),
                    t,
                    StdRng::seed_from_u64(seed ^ ((cycle * TASKS + t) as u64 + 1) << 20),
                    ledger.clone(),
                    stop.clone(),
                ))
            })
            .collect();
        // Kept: the random moment of the SIGKILL is what this test varies.
        tokio::time::sleep(Duration::from_millis(rng.gen_range(80..700))).await;
        server.kill();
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            t.await.unwrap();
        }
        server = serve(&db, None, SERVE_FLAGS).await;
        restarts.fetch_add(1, Ordering::Relaxed);
        verify(&server, &ledger, &mut rng, false).await;
    }
    verify(&server, &ledger, &mut rng, true).await;
    let l = ledger.lock().unwrap();
    eprintln!(
        "crash test on {backend}: {} kills, {} writes acknowledged, {} lost in kills, {} jobs \
         ({} taken over after a kill), {} sessions revoked, {:.1}s",
        restarts.load(Ordering::Relaxed),
        l.acked,
        l.unknown,
        l.jobs.len(),
        l.jobs_taken_over,
        l.revoked.len(),
        started.elapsed().as_secs_f64()
    );
    // The run must have exercised what it claims to check.
    assert!(l.acked > 100, "too few acknowledged writes: {}", l.acked);
    assert!(!l.jobs.is_empty() && l.jobs_done.len() == l.jobs.len());
    assert!(!l.invalidated.is_empty() && !l.reset_users.is_empty());
    assert!(l.unknown > 0, "no kill ever interrupted a write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_loses_no_acknowledged_write_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("crash.db").display());
    crash_run(db, "SQLite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_loses_no_acknowledged_write_on_postgres() {
    let db = TempDb::fresh("crash").await;
    crash_run(db.url.clone(), "PostgreSQL").await;
}
