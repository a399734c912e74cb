//! Soak benchmark: mixed load at a fixed rate against a real server process for a long time,
//! reporting p50/p99 latency per minute and the server's resident memory (RSS) over time.
//!
//! ```text
//! cargo run --release -p sessions-server --example soak            # 10 minutes, 100 req/s
//! SOAK_SECS=60 SOAK_RATE=200 cargo run --release -p sessions-server --example soak
//! SOAK_DATABASE_URL=postgres://postgres@127.0.0.1:5432/soak cargo run ... --example soak
//! ```
//!
//! The server runs in a child process (this binary re-executed with `SOAK_SERVE=<url>`) so its
//! RSS is measured alone, without the load generator's. Requests are issued open-loop at the
//! fixed rate and latency is measured from each request's *scheduled* start, so a stalled
//! server shows up as latency instead of silently lowering the rate (no coordinated omission).
//! The baseline is the first minute: later minutes print their p99 and RSS as ratios of it.
//!
//! Mix per 20 requests: 6 auth.test, 5 list (half following the previous page's cursor), 3
//! getSettings (5 users), 2 setSettings, 2 invalidate (each a fresh session), 1 reset, 1
//! resetBulk (10 users; jobs run by the server's worker). Reads go to org E1, invalidations to
//! E2, resets to E3, so the read workload does not shrink as writes revoke sessions.
//! Not run in CI.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sessions_server::testing::TestServer;
use sessions_server::{AppState, ServerSettings};
use sessions_store::{Fixture, FixtureOrg};

#[path = "../benches/support/synthetic.rs"]
mod synthetic;

const TOKEN: &str = "xoxp-soak-admin";
const USERS: usize = 1_000;

fn org(id: &str, sessions: usize, first_id: u64) -> FixtureOrg {
    synthetic::org(id, TOKEN, USERS, sessions, first_id)
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Child role: seed (if empty), serve on 127.0.0.1:0, print the base URL, run until killed.
async fn serve_child(url: String, invalidate_pool: usize) {
    let store = sessions_server::store::open(&url)
        .await
        .expect("open store");
    let now = sessions_server::Clock::system().now();
    if store.dump(None).await.expect("dump").orgs.is_empty() {
        let fixture = Fixture {
            orgs: vec![
                org("E1", 10_000, 1),
                org("E2", invalidate_pool, 100_000_000),
                org("E3", 4_000, 200_000_000),
            ],
        };
        store.load_fixture(&fixture, now).await.expect("seed");
    }
    let state = AppState::new(
        store,
        ServerSettings {
            control_token: Some("ctl-soak".into()),
            ..ServerSettings::default()
        },
    )
    .await
    .expect("state");
    let server = TestServer::serve(state).await.expect("listen");
    println!("SOAK_URL {}/", server.base());
    // Serves until the parent kills this process.
    std::future::pending::<()>().await;
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[derive(Default)]
struct Minute {
    lat: Vec<Duration>,
    errors: u64,
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let secs = env_num("SOAK_SECS", 600);
    let rate = env_num("SOAK_RATE", 100).max(1);
    // Two invalidations per 20 requests, each on a fresh session, plus headroom.
    let pool = (secs * rate / 10 + 1_000) as usize;
    if let Ok(url) = std::env::var("SOAK_SERVE") {
        rt.block_on(serve_child(url, pool));
        return;
    }
    rt.block_on(drive(secs, rate));
}

async fn drive(secs: u64, rate: u64) {
    let dir = tempfile::tempdir().unwrap();
    let db = std::env::var("SOAK_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("soak.db").display()));
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .env("SOAK_SERVE", &db)
        .env_remove("SOAK_DATABASE_URL")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn server");
    let pid = child.id().unwrap();
    let mut lines =
        tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(child.stdout.take().unwrap()));
    let base = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("server exited early");
        if let Some(u) = line.strip_prefix("SOAK_URL ") {
            break u.to_owned();
        }
    };
    let api = format!("{base}api/");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    // Warm up so the first minute measures a running server, not connection setup.
    for _ in 0..50 {
        let _ = client
            .post(format!("{api}auth.test"))
            .bearer_auth(format!("{TOKEN}-E1"))
            .send()
            .await;
    }
    let rss_start = rss_kib(pid);
    println!(
        "# soak: {secs}s at {rate} req/s against {} ({} cores), server pid {pid}, RSS at start {:.1} MiB",
        if db.starts_with("postgres") { "PostgreSQL" } else { "SQLite" },
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        rss_start as f64 / 1024.0
    );

    let minutes: Arc<Mutex<Vec<Minute>>> = Arc::new(Mutex::new(
        (0..secs.div_ceil(60)).map(|_| Minute::default()).collect(),
    ));
    let cursor: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let next_session = Arc::new(AtomicU64::new(100_000_000));
    let jobs = Arc::new(AtomicU64::new(0));
    let total = secs * rate;
    let start = Instant::now();
    let period = Duration::from_secs_f64(1.0 / rate as f64);
    let mut rss_by_minute = Vec::new();
    let mut inflight = tokio::task::JoinSet::new();
    for i in 0..total {
        let scheduled = start + period.mul_f64(i as f64);
        tokio::time::sleep_until(scheduled.into()).await;
        // Sample RSS on each minute boundary.
        if i % (rate * 60) == 0 {
            rss_by_minute.push(rss_kib(pid));
        }
        while inflight.try_join_next().is_some() {}
        let (c, api, minutes, cursor, next_session, jobs) = (
            client.clone(),
            api.clone(),
            minutes.clone(),
            cursor.clone(),
            next_session.clone(),
            jobs.clone(),
        );
        inflight.spawn(async move {
            let u = (i as usize * 7919) % USERS;
            let req = match i % 20 {
                0..=5 => c
                    .post(format!("{api}auth.test"))
                    .bearer_auth(format!("{TOKEN}-E1")),
                6..=10 => {
                    let cur = if i % 2 == 0 {
                        cursor.lock().unwrap().clone()
                    } else {
                        None
                    };
                    let mut form = vec![("limit", "100".to_owned())];
                    if let Some(cur) = cur {
                        form.push(("cursor", cur));
                    }
                    c.post(format!("{api}admin.users.session.list"))
                        .bearer_auth(format!("{TOKEN}-E1"))
                        .form(&form)
                }
                11..=13 => c
                    .post(format!("{api}admin.users.session.getSettings"))
                    .bearer_auth(format!("{TOKEN}-E1"))
                    .form(&[(
                        "user_ids",
                        (0..5)
                            .map(|k| format!("WE1U{}", (u + k) % USERS))
                            .collect::<Vec<_>>()
                            .join(","),
                    )]),
                14..=15 => c
                    .post(format!("{api}admin.users.session.setSettings"))
                    .bearer_auth(format!("{TOKEN}-E1"))
                    .form(&[
                        ("user_ids", format!("WE1U{u}")),
                        ("duration", (28_800 + (i % 100) * 60).to_string()),
                        ("desktop_app_browser_quit", (i % 2 == 0).to_string()),
                    ]),
                16..=17 => {
                    let id = next_session.fetch_add(1, Ordering::Relaxed);
                    c.post(format!("{api}admin.users.session.invalidate"))
                        .bearer_auth(format!("{TOKEN}-E2"))
                        .form(&[
                            ("session_id", id.to_string()),
                            (
                                "user_id",
                                format!("WE2U{}", (id - 100_000_000) as usize % USERS),
                            ),
                        ])
                }
                18 => c
                    .post(format!("{api}admin.users.session.reset"))
                    .bearer_auth(format!("{TOKEN}-E3"))
                    .form(&[("user_id", format!("WE3U{u}"))]),
                _ => {
                    jobs.fetch_add(1, Ordering::Relaxed);
                    c.post(format!("{api}admin.users.session.resetBulk"))
                        .bearer_auth(format!("{TOKEN}-E3"))
                        .form(&[(
                            "user_ids",
                            (0..10)
                                .map(|k| format!("WE3U{}", (u + k * 97) % USERS))
                                .collect::<Vec<_>>()
                                .join(","),
                        )])
                }
            };
            let ok = match req.send().await {
                Ok(r) => match r.json::<serde_json::Value>().await {
                    Ok(v) => {
                        if let Some(next) = v["response_metadata"]["next_cursor"].as_str() {
                            *cursor.lock().unwrap() = (!next.is_empty()).then(|| next.to_owned());
                        }
                        v["ok"] == true
                    }
                    Err(_) => false,
                },
                Err(_) => false,
            };
            let lat = scheduled.elapsed();
            let mut m = minutes.lock().unwrap();
            let slot = &mut m[(i / (rate * 60)) as usize];
            slot.lat.push(lat);
            slot.errors += u64::from(!ok);
        });
    }
    while inflight.join_next().await.is_some() {}
    let wall = start.elapsed().as_secs_f64();
    let rss_end = rss_kib(pid);
    rss_by_minute.push(rss_end);

    let mut minutes = std::mem::take(&mut *minutes.lock().unwrap());
    println!(
        "\n| minute | requests | errors | p50 ms | p99 ms | max ms | p99 vs minute 1 | server RSS MiB (start of minute) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut base_p99 = None;
    let mut all = Vec::new();
    for (k, m) in minutes.iter_mut().enumerate() {
        m.lat.sort_unstable();
        let p99 = pct(&m.lat, 0.99);
        let base = *base_p99.get_or_insert(p99);
        println!(
            "| {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2}x | {:.1} |",
            k + 1,
            m.lat.len(),
            m.errors,
            pct(&m.lat, 0.50),
            p99,
            m.lat
                .last()
                .map(|d| d.as_secs_f64() * 1000.0)
                .unwrap_or(0.0),
            p99 / base.max(1e-6),
            rss_by_minute.get(k).copied().unwrap_or(0) as f64 / 1024.0,
        );
        all.extend(m.lat.iter().copied());
    }
    all.sort_unstable();
    let errors: u64 = minutes.iter().map(|m| m.errors).sum();
    println!(
        "\noverall: {} requests in {wall:.0}s ({:.1} req/s achieved), {errors} errors, p50 {:.2} ms, p99 {:.2} ms, {} resetBulk jobs recorded",
        all.len(),
        all.len() as f64 / wall,
        pct(&all, 0.50),
        pct(&all, 0.99),
        jobs.load(Ordering::Relaxed)
    );
    println!(
        "server RSS: start {:.1} MiB, end {:.1} MiB (end/start {:.2}x)",
        rss_start as f64 / 1024.0,
        rss_end as f64 / 1024.0,
        rss_end as f64 / rss_start.max(1) as f64
    );
    let _ = child.kill().await;
}
