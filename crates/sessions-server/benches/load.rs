//! Load generator: the real server in-process against a bare axum handler returning a fixed JSON
//! body, measured in the same run with the same HTTP client.
//!
//! `cargo bench -p sessions-server --bench load` (LOAD_QUICK=1 for a CI-sized run;
//! LOAD_SESSIONS=N to change the size of the listed org, default 10 000).
//!
//! `LOAD_BACKENDS` picks the deployments measured, one after another in the same run, each on
//! fresh storage with the baseline re-measured just before it (comma-separated; default
//! `sqlite`): `sqlite` (a file in a tempdir), `sqlite-nocache` (the same with the SQLite
//! store's token cache off, so every call authenticates against the database), `postgres` (one node on a fresh database on
//! `LOAD_PG_URL`, default the tests' `SESSIONS_TEST_PG_URL` or `postgres://postgres@127.0.0.1:5432/postgres`,
//! dropped afterwards),
//! `postgres2` (two nodes in this process, each with its own pool, on one fresh database;
//! request i goes to node i mod 2, so list pages alternate nodes with one cursor chain).
//! `LOAD_PG_POOL=N` sets the PostgreSQL pool size of each node (default 4 x cores).
//! `LOAD_ONLY=auth` stops after the baseline and auth.test (for profiling the read path);
//! `LOAD_ONLY=list` measures the baseline and the list pages only.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::post;
use sessions_server::testing::TestServer;
use sessions_server::{AppState, ServerSettings};
use sessions_store::{Fixture, FixtureOrg};
use sessions_test_support::pg::TempDb;

#[path = "support/synthetic.rs"]
mod synthetic;

const TOKEN: &str = "xoxp-bench-admin";

fn org(id: &str, users: usize, sessions: usize, first_id: u64) -> FixtureOrg {
    synthetic::org(id, TOKEN, users, sessions, first_id)
}

#[derive(Debug, Clone)]
struct Stats {
    name: String,
    requests: usize,
    errors: usize,
    secs: f64,
    p50: Duration,
    p99: Duration,
}

impl Stats {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.secs
    }
}

/// Runs `total` requests over `concurrency` workers; `make(i)` builds the i-th request, `ok`
/// checks its answer.
async fn drive<F>(name: &str, concurrency: usize, total: usize, make: F) -> Stats
where
    F: Fn(usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let make = make.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let t = Instant::now();
                let ok = match make(i).send().await {
                    Ok(r) => match r.bytes().await {
                        Ok(b) => b.starts_with(br#"{"ok":true"#),
                        Err(_) => false,
                    },
                    Err(_) => false,
                };
                lat.push(t.elapsed());
                errors += usize::from(!ok);
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::with_capacity(total);
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await.unwrap();
        all.extend(lat);
        errors += e;
    }
    let secs = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Stats {
        name: name.into(),
        requests: all.len(),
        errors,
        secs,
        p50: pct(0.50),
        p99: pct(0.99),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

/// One deployment to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Sqlite { token_cache: bool },
    Postgres { nodes: usize },
}

impl Target {
    fn parse(s: &str) -> Target {
        match s.trim() {
            "sqlite" => Target::Sqlite { token_cache: true },
            "sqlite-nocache" => Target::Sqlite { token_cache: false },
            "postgres" | "postgres1" => Target::Postgres { nodes: 1 },
            "postgres2" => Target::Postgres { nodes: 2 },
            other => {
                panic!(
                    "LOAD_BACKENDS: unknown target {other:?} \
                     (sqlite, sqlite-nocache, postgres, postgres2)"
                )
            }
        }
    }

    fn label(self) -> String {
        match self {
            Target::Sqlite { token_cache: true } => "SQLite, 1 node".into(),
            Target::Sqlite { token_cache: false } => "SQLite, 1 node, token cache off".into(),
            Target::Postgres { nodes: 1 } => "PostgreSQL, 1 node".into(),
            Target::Postgres { nodes } => format!("PostgreSQL, {nodes} nodes"),
        }
    }
}

/// The PostgreSQL server the PostgreSQL targets use: `LOAD_PG_URL`, else the tests' one.
fn pg_admin_url() -> String {
    std::env::var("LOAD_PG_URL").unwrap_or_else(|_| sessions_test_support::pg::admin_url())
}

/// Where the nodes of one target listen; its storage is removed by [`Deployment::remove`].
struct Deployment {
    seed_secs: f64,
    nodes: Vec<TestServer>,
    _dir: Option<tempfile::TempDir>,
    pg_db: Option<TempDb>,
}

impl Deployment {
    async fn start(target: Target, fixture: &Fixture) -> Deployment {
        let (urls, dir, pg_db) = match target {
            Target::Sqlite { .. } => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("bench.db").display());
                (vec![url], Some(dir), None)
            }
            Target::Postgres { nodes } => {
                let db = TempDb::fresh_at(&pg_admin_url(), "bench").await;
                // LOAD_PG_POOL=N sets each node's pool size (default: the store's, 4 x cores).
                let query = std::env::var("LOAD_PG_POOL")
                    .map(|n| format!("?pool_size={n}"))
                    .unwrap_or_default();
                (vec![format!("{}{query}", db.url); nodes], None, Some(db))
            }
        };
        let mut d = Deployment {
            seed_secs: 0.0,
            nodes: Vec::new(),
            _dir: dir,
            pg_db,
        };
        for (n, url) in urls.iter().enumerate() {
            // Each node opens its own store: its own pool (PostgreSQL) or handle (SQLite).
            let store = match target {
                Target::Sqlite { token_cache: false } => {
                    let path = url.strip_prefix("sqlite://").unwrap();
                    let s = sessions_store_sqlite::SqliteStore::open(path)
                        .await
                        .unwrap();
                    Arc::new(s.with_token_cache(false)) as sessions_store::DynStore
                }
                _ => sessions_server::store::open(url).await.unwrap(),
            };
            if n == 0 {
                let t = Instant::now();
                store
                    .load_fixture(fixture, sessions_server::Clock::system().now())
                    .await
                    .unwrap();
                d.seed_secs = t.elapsed().as_secs_f64();
            }
            let state = AppState::new(
                store,
                ServerSettings {
                    control_token: Some("ctl".into()),
                    node_id: Some(format!("bench-{n}")),
                    ..ServerSettings::default()
                },
            )
            .await
            .unwrap();
            d.nodes.push(TestServer::serve(state).await.unwrap());
        }
        d
    }

    /// Stops the nodes and removes the storage.
    async fn remove(mut self) {
        for node in self.nodes.drain(..) {
            let _ = node.stop().await;
        }
        // Dropped (forcibly) once the nodes are gone.
        drop(self.pg_db.take());
    }
}

async fn run() {
    let quick = std::env::var("LOAD_QUICK").is_ok_and(|v| v != "0");
    let list_sessions: usize = std::env::var("LOAD_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let targets: Vec<Target> = std::env::var("LOAD_BACKENDS")
        .unwrap_or_else(|_| "sqlite".into())
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(Target::parse)
        .collect();
    let scale = if quick { 1 } else { 10 };
    let (n_read, n_list, n_write) = (2_000 * scale, 20 * scale, 1_000 * scale);

    // --- baseline: a bare axum handler with a fixed body
    let bare = axum::Router::new().route(
        "/api/auth.test",
        post(|| async {
            (
                [(http::header::CONTENT_TYPE, "application/json; charset=utf-8")],
                r#"{"ok":true,"url":"https://bench.enterprise.slack.com/","team":"Bench","user":"admin","team_id":"TE1","user_id":"WE1ADMIN","enterprise_id":"E1","is_enterprise_install":true}"#,
            )
        }),
    );
    let bl = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bare_url = format!("http://{}/api/auth.test", bl.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(bl, bare).await.unwrap() });

    let users = (list_sessions / 10).max(1);
    let fixture = Fixture {
        orgs: vec![
            org("E1", users, list_sessions, 1),
            // invalidate pool, one session per request
            org("E2", 1_000, n_write, 100_000_000),
            // reset targets
            org("E3", 1_000, 4_000, 200_000_000),
        ],
    };
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    println!(
        "# server load ({} mode): {} sessions listed in E1, {} cores, targets: {}",
        if quick { "quick" } else { "full" },
        list_sessions,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        targets
            .iter()
            .map(|t| t.label())
            .collect::<Vec<_>>()
            .join("; ")
    );

    let mut all: Vec<(Target, Vec<Stats>)> = Vec::new();
    for target in targets {
        let d = Deployment::start(target, &fixture).await;
        println!(
            "\n## {} (seeded E1/E2/E3 in {:.1}s)",
            target.label(),
            d.seed_secs
        );
        let results = scenarios(
            &client,
            &bare_url,
            &d.nodes.iter().map(TestServer::api).collect::<Vec<_>>(),
            list_sessions,
            n_read,
            n_list,
            n_write,
        )
        .await;
        print_table(&results);
        all.push((target, results));
        d.remove().await;
    }
    if all.len() > 1 {
        println!("\n## Side by side: req/s (ratio to the baseline measured just before) / p99 ms");
        let mut head = "| scenario |".to_owned();
        let mut rule = "|---|".to_owned();
        for (t, _) in &all {
            head.push_str(&format!(" {} |", t.label()));
            rule.push_str("---:|");
        }
        println!("\n{head}\n{rule}");
        for row in 0..all[0].1.len() {
            let name = &all[0].1[row].name;
            let mut line = format!("| {name} |");
            for (_, results) in &all {
                let (s, base) = (&results[row], &results[0]);
                line.push_str(&format!(
                    " {:.0} ({:.2}x) / {:.2} |",
                    s.rps(),
                    s.rps() / base.rps(),
                    ms(s.p99)
                ));
            }
            println!("{line}");
        }
    }
}

/// The scenarios against `apis` (request i goes to node i mod n), after a fresh baseline.
async fn scenarios(
    client: &reqwest::Client,
    bare_url: &str,
    apis: &[String],
    list_sessions: usize,
    n_read: usize,
    n_list: usize,
    n_write: usize,
) -> Vec<Stats> {
    let apis: Arc<Vec<String>> = Arc::new(apis.to_vec());
    let node = move |i: usize| apis[i % apis.len()].clone();

    let c = client.clone();
    let u = bare_url.to_owned();
    // warm-up (both the baseline and every node)
    drive("warmup", 8, 200, move |_| c.post(&u)).await;
    let c = client.clone();
    let n = node.clone();
    drive("warmup", 8, 200, move |i| {
        c.post(format!("{}auth.test", n(i)))
            .bearer_auth(format!("{TOKEN}-E1"))
    })
    .await;

    let mut results = Vec::new();
    let c = client.clone();
    let u = bare_url.to_owned();
    results.push(
        drive(
            "baseline: bare axum, fixed JSON (c=32)",
            32,
            n_read,
            move |_| c.post(&u),
        )
        .await,
    );

    let only = std::env::var("LOAD_ONLY").unwrap_or_default();
    if only != "list" {
        let c = client.clone();
        let n = node.clone();
        results.push(
            drive("auth.test (c=32)", 32, n_read, move |i| {
                c.post(format!("{}auth.test", n(i)))
                    .bearer_auth(format!("{TOKEN}-E1"))
            })
            .await,
        );
    }
    if only == "auth" {
        return results;
    }

    // list: each request is one full page of 1000 at some position (signed cursor). Collect the
    // cursors of every page once, alternating nodes, then replay them.
    let c = client.clone();
    let mut cursors = vec![String::new()];
    loop {
        let r: serde_json::Value = c
            .post(format!(
                "{}admin.users.session.list",
                node(cursors.len() - 1)
            ))
            .bearer_auth(format!("{TOKEN}-E1"))
            .form(&[
                ("limit", "1000"),
                ("cursor", cursors.last().unwrap().as_str()),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["ok"], true, "{r}");
        let next = r["response_metadata"]["next_cursor"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        if next.is_empty() {
            break;
        }
        cursors.push(next);
    }
    let pages = cursors.len();
    let cursors = Arc::new(cursors);
    let n = node.clone();
    results.push(
        drive(
            &format!("list, pages of 1000 of {list_sessions} (c=8)"),
            8,
            n_list.max(pages),
            move |i| {
                c.post(format!("{}admin.users.session.list", n(i)))
                    .bearer_auth(format!("{TOKEN}-E1"))
                    .form(&[
                        ("limit", "1000"),
                        ("cursor", cursors[i % cursors.len()].as_str()),
                    ])
            },
        )
        .await,
    );
    if only == "list" {
        return results;
    }

    let c = client.clone();
    let n = node.clone();
    results.push(
        drive("invalidate, durable (c=64)", 64, n_write, move |i| {
            c.post(format!("{}admin.users.session.invalidate", n(i)))
                .bearer_auth(format!("{TOKEN}-E2"))
                .form(&[
                    ("session_id", (100_000_000 + i as u64).to_string()),
                    ("user_id", format!("WE2U{}", i % 1000)),
                ])
        })
        .await,
    );

    let c = client.clone();
    let n = node.clone();
    results.push(
        drive("reset, durable (c=64)", 64, n_write, move |i| {
            c.post(format!("{}admin.users.session.reset", n(i)))
                .bearer_auth(format!("{TOKEN}-E3"))
                .form(&[("user_id", format!("WE3U{}", i % 1000))])
        })
        .await,
    );
    println!("(list rows/s = list req/s x 1000; pages replayed over {pages} cursors)");
    results
}

fn print_table(results: &[Stats]) {
    let base = results[0].clone();
    println!("\n| scenario | requests | errors | req/s | p50 ms | p99 ms | req/s vs baseline | p50 vs baseline |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for s in results {
        println!(
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2}x | {:.1}x |",
            s.name,
            s.requests,
            s.errors,
            s.rps(),
            ms(s.p50),
            ms(s.p99),
            s.rps() / base.rps(),
            ms(s.p50) / ms(base.p50).max(1e-6),
        );
    }
}
