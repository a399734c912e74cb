//! SQLite store micro-benchmark. Prints ratios against baselines measured in the same run, so
//! the numbers mean something on any machine:
//!
//! 1. group commit: N concurrent writes vs the same N writes awaited one after another;
//! 2. paging cost: the last page of a big org vs the first page of a small org (O(log n + page)
//!    means the ratio stays near 1 as the org grows);
//! 3. authentication (the lookup every API call starts with): an API token and a session token
//!    in the big org and the small one, with the token cache on and off, against the cheapest
//!    read there is (`team_exists`).
//!
//! Run: `cargo run --release -p sessions-store-sqlite --example sqlite_bench [SESSIONS]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use sessions_store::testing::PlainWrites;
use sessions_store::*;
use sessions_store_sqlite::SqliteStore;

const NOW: UnixTime = 1_700_000_000;
const WRITES: u64 = 256;
const PAGE: u32 = 100;
const PAGE_REPEATS: u32 = 200;

fn fixture(first_id: u64, sessions: u64) -> Fixture {
    let mut f = Fixture::from_json(
        r#"{"orgs":[{"id":"E1","name":"Bench","teams":[{"id":"T1","name":"t"}],
        "users":[{"id":"W1","name":"u","role":"member","teams":["T1"]}]}]}"#,
    )
    .expect("valid fixture");
    f.orgs[0].sessions = (0..sessions)
        .map(|i| FixtureSession {
            session_id: first_id + i,
            user: "W1".into(),
            team: "T1".into(),
            client: "web".into(),
            // One session token per org, on the last session.
            token: (i + 1 == sessions).then(|| "xoxc-bench-session".into()),
            created_at: None,
            created: Device::default(),
            recent: None,
        })
        .collect();
    f.orgs[0].tokens.push(FixtureToken {
        token: "xoxp-bench-admin".into(),
        user: "W1".into(),
        kind: "user".into(),
        scopes: vec!["admin.users:read".into(), "admin.users:write".into()],
        revoked: false,
    });
    f
}

const AUTH_REPEATS: u32 = 20_000;

/// Mean time of `AUTH_REPEATS` sequential calls of `f`.
async fn mean<F, Fut>(f: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let t = Instant::now();
    for _ in 0..AUTH_REPEATS {
        assert!(f().await);
    }
    t.elapsed() / AUTH_REPEATS
}

async fn store(dir: &tempfile::TempDir, name: &str) -> Arc<SqliteStore> {
    let path = dir.path().join(name);
    Arc::new(
        SqliteStore::open(path.to_str().expect("utf-8 path"))
            .await
            .expect("open"),
    )
}

async fn page_time(s: &SqliteStore, after: Option<u64>) -> Duration {
    let t = Instant::now();
    for _ in 0..PAGE_REPEATS {
        let page = s
            .list_sessions("E1", &SessionFilter::default(), after, PAGE, NOW)
            .await;
        assert_eq!(page.expect("list").len(), PAGE as usize);
    }
    t.elapsed() / PAGE_REPEATS
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let big: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("tempdir");

    // 1. Group commit.
    let s = store(&dir, "writes.db").await;
    s.load_fixture(&fixture(1, 2 * WRITES), NOW)
        .await
        .expect("load");
    let (c0, t) = (s.commit_count(), Instant::now());
    for i in 0..WRITES {
        assert!(s.invalidate_session("E1", 1 + i, NOW).await.expect("write"));
    }
    let (serial, serial_commits) = (t.elapsed(), s.commit_count() - c0);
    let (c0, t) = (s.commit_count(), Instant::now());
    let tasks: Vec<_> = (0..WRITES)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move { s.invalidate_session("E1", 1 + WRITES + i, NOW).await })
        })
        .collect();
    for task in tasks {
        assert!(task.await.expect("join").expect("write"));
    }
    let (grouped, grouped_commits) = (t.elapsed(), s.commit_count() - c0);
    println!("group commit, {WRITES} invalidations (each Ok = committed and fsynced):");
    println!("  one after another: {serial:>10.2?}  {serial_commits} commits  (baseline)");
    println!(
        "  all concurrently:  {grouped:>10.2?}  {grouped_commits} commits  ratio {:.3} of baseline time",
        grouped.as_secs_f64() / serial.as_secs_f64()
    );

    // 2. Paging cost against org size.
    let small = store(&dir, "small.db").await;
    small
        .load_fixture(&fixture(1, 1_000), NOW)
        .await
        .expect("load");
    let large = store(&dir, "large.db").await;
    large
        .load_fixture(&fixture(1, big), NOW)
        .await
        .expect("load");
    let base = page_time(&small, None).await;
    let first = page_time(&large, None).await;
    let last = page_time(&large, Some(big - u64::from(PAGE))).await;
    println!("list page of {PAGE} (mean of {PAGE_REPEATS}):");
    println!("  1,000 sessions, first page:   {base:>10.2?}  (baseline)");
    println!(
        "  {big} sessions, first page: {first:>10.2?}  ratio {:.2}",
        first.as_secs_f64() / base.as_secs_f64()
    );
    println!(
        "  {big} sessions, last page:  {last:>10.2?}  ratio {:.2}",
        last.as_secs_f64() / base.as_secs_f64()
    );

    // 3. Authentication, with the token cache (the default) and without it (a second store on
    //    the same file with the cache off: every call goes to the database).
    let api = TokenHash::of("xoxp-bench-admin");
    let session = TokenHash::of("xoxc-bench-session");
    let active = |r: Result<TokenLookup>| matches!(r, Ok(TokenLookup::Active(_)));
    let floor = mean(|| async { small.team_exists("E1", "T1").await.expect("read") }).await;
    println!("authenticate (mean of {AUTH_REPEATS} sequential calls):");
    println!("  team_exists, one-row read:    {floor:>10.2?}  (baseline)");
    for (label, s, file) in [
        ("1,000", &small, "small.db"),
        (&*big.to_string(), &large, "large.db"),
    ] {
        let uncached = SqliteStore::open(dir.path().join(file).to_str().expect("utf-8 path"))
            .await
            .expect("open")
            .with_token_cache(false);
        for (kind, token) in [("API token", &api), ("session token", &session)] {
            for (cache, s) in [("cache on ", &**s), ("cache off", &uncached)] {
                let t = mean(|| async { active(s.authenticate(token, NOW).await) }).await;
                println!(
                    "  {label} sessions, {kind}, {cache}: {t:>10.2?}  ratio {:.2}",
                    t.as_secs_f64() / floor.as_secs_f64()
                );
            }
        }
    }
}
