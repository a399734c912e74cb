//! Benchmark: `slack-sessions list --all --format ndjson` over N sessions on our own server.
//!
//! Seeds N sessions through a generated fixture, starts the release `slack-sessions serve` on a
//! free port, then measures in the same run:
//! - baseline: raw HTTP paging with reqwest (request, read the body, find `next_cursor`, no
//!   decoding of sessions): what the server and the loopback network cost;
//! - the CLI: `list --all --format ndjson` writing every session to a pipe we count lines from,
//!   with its peak RSS (VmHWM, sampled from /proc while it runs).
//!
//! - the revocation engine's org scan: `revoke --ip <a range no session is in> --plan`, one
//!   paged scan of the org at `limit=1000` with every session matched against the selection,
//!   in sessions/s and CPU seconds per session of the CLI process;
//! - the client's part of it alone: `admin_users_session_scan_ahead` in a child process;
//! - Python `slack_sdk` paging the same org with `admin_users_session_list(limit=1000)`
//!   (`benches/slack_sdk_scan.py`, in a child process), its CPU per session, and the ratios;
//! - the plan of every session (`revoke --ip <the range all are in> --plan`: N invalidations),
//!   its peak RSS.
//!
//! CPU is user + system time of the scanning process alone (`getrusage(RUSAGE_CHILDREN)` around
//! its run); the server's CPU over the same interval is shown beside it.
//!
//! Run with `crates/slack-sessions/benches/list_all.sh [N]` (builds release first).

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use sessions_wire::ListRequest;

const TOKEN: &str = "xoxp-bench-admin";
/// Every generated session's ip is in this range ...
const EVERY_SESSION_CIDR: &str = "203.0.113.0/24";
/// ... and none is in this one.
const NO_SESSION_CIDR: &str = "198.51.100.0/24";

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

/// What one measured child process did.
struct Run {
    /// Lines it wrote to stdout.
    lines: u64,
    /// The start of its output (a plan's counts).
    head: String,
    /// Its last line (the scanners print their session count).
    last: String,
    elapsed: Duration,
    /// User + system CPU of the child alone.
    cpu: Duration,
    /// User + system CPU the server spent over the same interval.
    server_cpu: Duration,
    /// Peak RSS (VmHWM) in KiB.
    peak_kb: u64,
}

impl Run {
    fn cpu_per_session_us(&self, n: usize) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / n as f64
    }
}

/// `/proc/<pid>/stat`: the process state (`Z` once it has exited but is not yet reaped) and
/// the CPU (user + system) it has spent, its threads included.
fn proc_stat(pid: u32) -> Option<(char, Duration)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the `(comm)`: state is field 3, utime 14, stime 15 (in USER_HZ = 100 ticks/s).
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    let state = fields.first()?.chars().next()?;
    Some((state, Duration::from_millis((ticks(11)? + ticks(12)?) * 10)))
}

fn process_cpu(pid: u32) -> Duration {
    proc_stat(pid).map(|(_, cpu)| cpu).unwrap_or_default()
}

/// Runs `cmd` to completion, counting its stdout lines, sampling its peak RSS, and measuring
/// its CPU and the server's over the run. Panics if it fails.
fn measure(mut cmd: Command, server: u32) -> Run {
    let server_before = process_cpu(server);
    let start = Instant::now();
    let mut child = cmd.stdout(Stdio::piped()).spawn().expect("running a child");
    let pid = child.id();
    let mut stdout = child.stdout.take().unwrap();
    let counter = std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        let mut lines = 0u64;
        let mut head = Vec::new();
        let mut tail = Vec::new();
        loop {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    lines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
                    if head.len() < 8192 {
                        head.extend_from_slice(&buf[..n.min(8192 - head.len())]);
                    }
                    tail.extend_from_slice(&buf[..n]);
                    if tail.len() > 256 {
                        tail.drain(..tail.len() - 256);
                    }
                }
            }
        }
        let tail = String::from_utf8_lossy(&tail).trim_end().to_owned();
        let last = tail.rsplit('\n').next().unwrap_or("").to_owned();
        (lines, String::from_utf8_lossy(&head).into_owned(), last)
    });
    // Until it exits, sample its peak RSS; once it is a zombie (exited, not yet reaped), its
    // stat still holds the CPU of all its threads.
    let mut peak = 0;
    let cpu = loop {
        match proc_stat(pid) {
            Some(('Z', cpu)) => break cpu,
            Some(_) => {
                if let Some(kb) = vm_hwm_kb(pid) {
                    peak = peak.max(kb);
                }
            }
            None => panic!("{cmd:?}: /proc/{pid}/stat vanished before it was reaped"),
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let elapsed = start.elapsed();
    let server_cpu = process_cpu(server).saturating_sub(server_before);
    let status = child.wait().unwrap();
    assert!(status.success(), "{cmd:?} failed: {status}");
    let (lines, head, last) = counter.join().unwrap();
    Run {
        lines,
        head,
        last,
        elapsed,
        cpu,
        server_cpu,
        peak_kb: peak,
    }
}

/// The `--scan URL` mode: this program re-executed as a scanning process, so its CPU is
/// measured alone. Pages the org with the client's prefetching compact scan and prints the
/// count: the client's share of the engine's scan.
fn scan_child(url: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let n = rt.block_on(async {
        let client = sessions_client::Client::builder(TOKEN)
            .base_url(url)
            .build()
            .unwrap();
        let mut pages =
            std::pin::pin!(client.admin_users_session_scan_ahead(ListRequest::org().limit(1000)));
        let mut n = 0u64;
        while let Some(page) = pages.next().await {
            n += page.unwrap().len() as u64;
        }
        n
    });
    println!("{n}");
}

fn report(what: &str, n: usize, run: &Run) {
    println!(
        "{what}: {n} sessions in {:.2} s = {:.0} sessions/s; CPU {:.2} s = {:.3} us/session \
         (server CPU meanwhile {:.2} s); peak RSS {:.1} MiB",
        run.elapsed.as_secs_f64(),
        n as f64 / run.elapsed.as_secs_f64(),
        run.cpu.as_secs_f64(),
        run.cpu_per_session_us(n),
        run.server_cpu.as_secs_f64(),
        run.peak_kb as f64 / 1024.0
    );
}

/// Seeds `dir` with an `n`-session org through one `serve --fixtures` start, then stops it.
fn seed(bin: &Path, dir: &Path, n: usize) {
    let fixture = dir.join("fixture.json");
    let t = Instant::now();
    write_fixture(&fixture, n).unwrap();
    println!(
        "fixture: {n} sessions written in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let (seeder, _) = start_server(bin, dir, Some(&fixture));
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
    let _ = std::fs::remove_file(&fixture);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, mode, url] = &args[..] {
        if mode == "--scan" {
            return scan_child(url);
        }
    }
    let n: usize = args
        .get(1)
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
    // LIST_ALL_DATA_DIR keeps the seeded database between runs (seeding 1M sessions takes a
    // while); by default everything lives in a tempdir.
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("LIST_ALL_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_owned());
    std::fs::create_dir_all(&dir).unwrap();
    let seeded = dir.join(format!("seeded-{n}"));
    if seeded.exists() {
        println!(
            "server: reusing the {n}-session database in {}",
            dir.display()
        );
    } else {
        seed(&bin, &dir, n);
        std::fs::write(&seeded, b"").unwrap();
    }
    // Measure a server that holds N sessions, as in production: restarted on the same database
    // without a fixture to parse.
    let (server, url) = start_server(&bin, &dir, None);
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

    let mut cli = Command::new(&bin);
    cli.args(["list", "--all", "--format", "ndjson"])
        .env("SLACK_API_URL", &url)
        .env("SLACK_TOKEN", TOKEN);
    let run = measure(cli, server.id());
    assert_eq!(
        run.lines, n as u64,
        "the CLI wrote {} sessions, expected {n}",
        run.lines
    );
    report("cli list --all --format ndjson", n, &run);
    let rate = n as f64 / run.elapsed.as_secs_f64();
    println!(
        "cli: {:.2}x the baseline's time; targets: >= 100000 sessions/s {}, < 50 MiB {}",
        run.elapsed.as_secs_f64() / base.as_secs_f64(),
        if rate >= 100_000.0 { "met" } else { "MISSED" },
        if run.peak_kb < 50 * 1024 {
            "met"
        } else {
            "MISSED"
        }
    );

    // The engine's org scan (`revoke --plan`, a selection no session matches, so the run is
    // the scan and the matching), the client's scan alone, and Python slack_sdk paging the same
    // org, each in a process of its own.
    let revoke = |cidr: &str| {
        let mut cmd = Command::new(&bin);
        cmd.args(["revoke", "--ip", cidr, "--plan", "--max-rate", "100000/s"])
            .env("SLACK_API_URL", &url)
            .env("SLACK_TOKEN", TOKEN);
        cmd
    };
    // The three run in turn, `LIST_ALL_ROUNDS` times (default 3): this machine's run-to-run
    // spread is larger than the margins measured, so each round's ratio is printed and the
    // median is the figure.
    let rounds: usize = std::env::var("LIST_ALL_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .filter(|&r| r > 0)
        .unwrap_or(3);
    let python = std::env::var("BENCH_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let mut engine_ratios = Vec::new();
    let mut scan_ratios = Vec::new();
    let mut engine_rates = Vec::new();
    for round in 1..=rounds {
        println!("-- round {round} of {rounds}");
        let engine = measure(revoke(NO_SESSION_CIDR), server.id());
        let listed = format!("Sessions listed: {n}, matched: 0");
        assert!(engine.head.contains(&listed), "{}", engine.head);
        report(
            "engine org scan (revoke --plan, nothing matched)",
            n,
            &engine,
        );
        let mut scan = Command::new(&exe);
        scan.args(["--scan", &url]);
        let scan = measure(scan, server.id());
        assert_eq!(
            scan.last,
            n.to_string(),
            "the client scan saw {} sessions",
            scan.last
        );
        report(
            "client scan alone (admin_users_session_scan_ahead)",
            n,
            &scan,
        );
        let mut py = Command::new(&python);
        py.arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/benches/slack_sdk_scan.py"
        ))
        .args([&url, TOKEN]);
        let py = measure(py, server.id());
        assert_eq!(py.last, n.to_string(), "slack_sdk saw {} sessions", py.last);
        report(
            "python slack_sdk admin_users_session_list(limit=1000)",
            n,
            &py,
        );
        let ratio = |r: &Run| py.cpu.as_secs_f64() / r.cpu.as_secs_f64();
        println!(
            "round {round}: slack_sdk CPU / engine CPU {:.1}x, / client scan CPU {:.1}x, / cli list --all CPU {:.1}x",
            ratio(&engine),
            ratio(&scan),
            ratio(&run),
        );
        engine_ratios.push(ratio(&engine));
        scan_ratios.push(ratio(&scan));
        engine_rates.push(n as f64 / engine.elapsed.as_secs_f64());
    }
    let (engine_ratio, scan_ratio, engine_rate) = (
        median(&mut engine_ratios),
        median(&mut scan_ratios),
        median(&mut engine_rates),
    );
    println!(
        "engine org scan, median of {rounds} rounds: {engine_rate:.0} sessions/s (target >= 300000: {}); \
         CPU per session {engine_ratio:.1}x less than slack_sdk (target >= 10x: {}; rounds {}); \
         client scan alone {scan_ratio:.1}x less",
        if engine_rate >= 300_000.0 {
            "met"
        } else {
            "MISSED"
        },
        if engine_ratio >= 10.0 { "met" } else { "MISSED" },
        engine_ratios
            .iter()
            .map(|r| format!("{r:.1}x"))
            .collect::<Vec<_>>()
            .join(", "),
    );

    // The plan of every session (each one matched: N invalidations).
    let plan = measure(revoke(EVERY_SESSION_CIDR), server.id());
    let listed = format!("Sessions listed: {n}, matched: {n}");
    assert!(plan.head.contains(&listed), "{}", plan.head);
    report(
        "plan of every session (revoke --plan, all matched)",
        n,
        &plan,
    );
    println!(
        "plan of {n} matched sessions: peak RSS {:.1} MiB (target < 200 MB: {})",
        plan.peak_kb as f64 / 1024.0,
        if plan.peak_kb * 1024 < 200_000_000 {
            "met"
        } else {
            "MISSED"
        }
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

/// The median of `xs` (sorted in place; the mean of the middle two for an even count).
fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    let mid = xs.len() / 2;
    if xs.len().is_multiple_of(2) {
        (xs[mid - 1] + xs[mid]) / 2.0
    } else {
        xs[mid]
    }
}

/// SIGTERM, then wait: the server shuts down gracefully.
fn stop(mut server: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let _ = server.wait();
}
