//! Benchmark: `slack-sessions list --all --format ndjson` over N sessions on our own server.
//!
//! Seeds N sessions through a generated fixture, starts the release `slack-sessions serve` on a
//! free port, then measures in the same run:
//! - baseline: raw HTTP paging with reqwest (request, read the body, find `next_cursor`, no
//!   decoding of sessions): what the server and the loopback network cost;
//! - the CLI: `list --all --format ndjson` writing every session to a pipe we count lines from,
//!   with its peak RSS (VmHWM, sampled from /proc while it runs).
//!
//! Run with `crates/slack-sessions/benches/list_all.sh [N]` (builds release first).

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "xoxp-bench-admin";

fn write_fixture(path: &Path, sessions: usize) -> std::io::Result<()> {
    let users = (sessions / 100).max(1);
    let mut f = BufWriter::new(std::fs::File::create(path)?);
    write!(
        f,
        r#"{{"orgs":[{{"id":"E0BENCH","name":"Bench","teams":[{{"id":"T0BENCH","name":"Bench"}}],"users":["#
    )?;
    write!(
        f,
        r#"{{"id":"W0ADMIN","name":"admin","role":"admin","teams":["T0BENCH"]}}"#
    )?;
    for u in 0..users {
        write!(
            f,
            r#",{{"id":"W{u:07}","name":"u{u}","role":"member","teams":["T0BENCH"]}}"#
        )?;
    }
    write!(
        f,
        r#"],"tokens":[{{"token":"{TOKEN}","user":"W0ADMIN","type":"user","scopes":["admin.users:read","admin.users:write"]}}],"sessions":["#
    )?;
    for s in 0..sessions {
        let sep = if s == 0 { "" } else { "," };
        let u = s % users;
        let (client, os, hw) = match s % 4 {
            0 => ("desktop", "macOS", "MacBookPro18,3"),
            1 => ("ios", "iOS", "iPhone15,2"),
            2 => ("web", "Windows", "Chrome"),
            _ => ("android", "Android", "Pixel 8"),
        };
        write!(
            f,
            r#"{sep}{{"session_id":{id},"user":"W{u:07}","team":"T0BENCH","client":"{client}","token":"xoxc-b-{s}","created":{{"device_hardware":"{hw}","os":"{os}","os_version":"14.1","slack_client_version":"4.35.126","ip":"203.0.113.{ip}"}}}}"#,
            id = 1_000_000 + s,
            ip = s % 250
        )?;
    }
    write!(f, "]}}]}}")?;
    f.flush()
}

/// Starts `serve` and returns it with its API URL (read from the banner).
fn start_server(bin: &Path, dir: &Path, fixture: Option<&Path>) -> (Child, String) {
    // The control API stays off, as on a production server: the fixture is then not kept in
    // memory as the emulator's reset target.
    let mut cmd = Command::new(bin);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.join("data"));
    if let Some(f) = fixture {
        cmd.arg("--fixtures").arg(f);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting the server");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(rest) = line.trim().strip_prefix("API URL:") {
                    break rest.trim().to_owned();
                }
            }
            _ => panic!("the server exited before printing its API URL"),
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

#[derive(serde::Deserialize)]
struct PageHead {
    ok: bool,
    #[serde(default)]
    active_sessions: serde::de::IgnoredAny,
    #[serde(default)]
    response_metadata: Option<Meta>,
}

#[derive(serde::Deserialize)]
struct Meta {
    #[serde(default)]
    next_cursor: String,
}

/// Pages through everything with bare reqwest; returns the number of pages.
async fn baseline(url: &str) -> usize {
    let http = reqwest::Client::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let mut form = vec![("limit", "1000".to_owned())];
        if !cursor.is_empty() {
            form.push(("cursor", cursor.clone()));
        }
        let body = http
            .post(format!("{url}admin.users.session.list"))
            .bearer_auth(TOKEN)
            .form(&form)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let head: PageHead = serde_json::from_slice(&body).unwrap();
        assert!(head.ok, "{}", String::from_utf8_lossy(&body));
        let _ = head.active_sessions;
        pages += 1;
        match head.response_metadata {
            Some(m) if !m.next_cursor.is_empty() => cursor = m.next_cursor,
            _ => return pages,
        }
    }
}

fn vm_hwm_kb(pid: u32) -> Option<u64> {
    proc_status_kb(pid, "VmHWM:")
}

/// A `/proc/<pid>/status` field in KiB (`VmHWM:` peak, `VmRSS:` current).
fn proc_status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs the CLI; returns (sessions written, elapsed, peak RSS in KiB).
fn run_cli(bin: &Path, url: &str) -> (u64, Duration, u64) {
    let start = Instant::now();
    let mut child = Command::new(bin)
        .args(["list", "--all", "--format", "ndjson"])
        .env("SLACK_API_URL", url)
        .env("SLACK_TOKEN", TOKEN)
        .stdout(Stdio::piped())
        .spawn()
        .expect("running the CLI");
    let pid = child.id();
    let mut stdout = child.stdout.take().unwrap();
    let counter = std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        let mut lines = 0u64;
        loop {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => return lines,
                Ok(n) => lines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64,
            }
        }
    });
    let mut peak = 0;
    while child.try_wait().unwrap().is_none() {
        if let Some(kb) = vm_hwm_kb(pid) {
            peak = peak.max(kb);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let elapsed = start.elapsed();
    let status = child.wait().unwrap();
    assert!(status.success(), "the CLI failed: {status}");
    (counter.join().unwrap(), elapsed, peak)
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/examples/list_all_bench -> target/<profile>/slack-sessions
    let bin: PathBuf = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("slack-sessions");
    assert!(bin.exists(), "build the binary first: {}", bin.display());
    let dir = tempfile::tempdir().unwrap();
    let fixture = dir.path().join("fixture.json");

    let t = Instant::now();
    write_fixture(&fixture, n).unwrap();
    println!(
        "fixture: {n} sessions written in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let (seeder, _) = start_server(&bin, dir.path(), Some(&fixture));
    let seed_peak = vm_hwm_kb(seeder.id()).unwrap_or(0);
    let seed_rss = proc_status_kb(seeder.id(), "VmRSS:").unwrap_or(0);
    println!(
        "server: seeded in {:.1} s (peak RSS while loading the fixture file: {:.1} MiB; \
         RSS once serving: {:.1} MiB)",
        t.elapsed().as_secs_f64(),
        seed_peak as f64 / 1024.0,
        seed_rss as f64 / 1024.0
    );
    stop(seeder);
    // Measure a server that holds N sessions, as in production: restarted on the same database
    // without a fixture to parse.
    let (server, url) = start_server(&bin, dir.path(), None);
    println!("server: restarted on the seeded database at {url}");

    let rt = tokio::runtime::Runtime::new().unwrap();
    let t = Instant::now();
    let pages = rt.block_on(baseline(&url));
    let base = t.elapsed();
    let base_rate = n as f64 / base.as_secs_f64();
    println!(
        "baseline (bare reqwest paging, no session decoding): {pages} pages in {:.2} s = {:.0} sessions/s",
        base.as_secs_f64(),
        base_rate
    );

    let (count, elapsed, peak_kb) = run_cli(&bin, &url);
    assert_eq!(
        count, n as u64,
        "the CLI wrote {count} sessions, expected {n}"
    );
    let rate = n as f64 / elapsed.as_secs_f64();
    println!(
        "cli list --all --format ndjson: {count} sessions in {:.2} s = {:.0} sessions/s \
         ({:.2}x the baseline's time), peak RSS {:.1} MiB",
        elapsed.as_secs_f64(),
        rate,
        elapsed.as_secs_f64() / base.as_secs_f64(),
        peak_kb as f64 / 1024.0
    );
    println!(
        "targets: >= 100000 sessions/s {}, < 50 MiB {}",
        if rate >= 100_000.0 { "met" } else { "MISSED" },
        if peak_kb < 50 * 1024 { "met" } else { "MISSED" }
    );
    // The server's own memory with N sessions stored, after serving every page twice.
    let rss = proc_status_kb(server.id(), "VmRSS:").unwrap_or(0);
    let hwm = proc_status_kb(server.id(), "VmHWM:").unwrap_or(0);
    println!(
        "server memory with {n} sessions: RSS {:.1} MiB after serving every page twice, peak {:.1} MiB; \
         target < 300 MiB {}",
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0,
        if hwm < 300 * 1024 { "met" } else { "MISSED" }
    );
    stop(server);
}

/// SIGTERM, then wait: the server shuts down gracefully.
fn stop(mut server: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let _ = server.wait();
}
