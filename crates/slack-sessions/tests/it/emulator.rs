//! Issue #6 through the built binary: `slack-sessions serve` with the emulator flags, driven by
//! the binary's own admin commands and the control API (rate limits and the client's retry,
//! faults, clock, state dump/reset, delayed resetBulk, request log).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command as StdCommand, Stdio};

use serde_json::{json, Value};
use sessions_test_support::wait;

use crate::harness::{bin, fixture, Run, ADMIN_TOKEN};

const CONTROL: &str = "emulator-control-token";

/// A `slack-sessions serve` process (killed on drop).
struct Serve {
    child: Child,
    api_url: String,
    control_url: String,
    _dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl Serve {
    fn start(extra: &[&str]) -> Serve {
        let dir = tempfile::tempdir().unwrap();
        let mut child = crate::procs::serve_command(dir.path(), &fixture(0))
            .args(["--control-token", CONTROL])
            .args(extra)
            .spawn()
            .unwrap();
        let banner = crate::procs::read_banner(&mut child, |line| {
            line.contains("Press Ctrl-C") || line.trim().starts_with("Emulator:")
        });
        let field = |name: &str| {
            banner
                .lines()
                .find_map(|l| Some(l.trim().strip_prefix(name)?.trim().to_owned()))
        };
        let emulator = field("Emulator:").unwrap_or_else(|| panic!("no emulator line: {banner}"));
        assert!(emulator.ends_with("/control/emulator/"), "{banner}");
        Serve {
            child,
            api_url: field("API URL:").expect("no API URL in the banner"),
            control_url: field("Control URL:").expect("no Control URL in the banner"),
            _dir: dir,
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            http: reqwest::Client::new(),
        }
    }

    /// The binary as a client of this server, with the admin token.
    fn cli(&self, args: &[&str]) -> Run {
        Run::of(
            bin()
                .env("SLACK_API_URL", &self.api_url)
                .env("SLACK_TOKEN", ADMIN_TOKEN)
                .args(args),
        )
    }

    fn control(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{}", self.control_url, path);
        self.rt.block_on(async {
            let mut req = self
                .http
                .request(method.parse().unwrap(), url)
                .bearer_auth(CONTROL);
            if let Some(b) = body {
                req = req
                    .header("content-type", "application/json")
                    .body(b.to_string());
            }
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            let v = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
            (status, v)
        })
    }

    fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.control(method, path, body);
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {v}"
        );
        v
    }

    fn answers(&self, method: &str) -> Vec<String> {
        self.ok("GET", &format!("emulator/requests?method={method}"), None)["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["answer"].as_str().unwrap().to_owned())
            .collect()
    }

    fn session_ids(&self) -> Vec<u64> {
        let out = self.cli(&["list", "--all", "--format", "ndjson"]).ok();
        out.lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["session_id"]
                    .as_u64()
                    .unwrap()
            })
            .collect()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serve_help_documents_the_emulator_flags() {
    let out = Run::of(bin().args(["serve", "--help"])).ok();
    for flag in [
        "--rate-limits",
        "--rate-limit-file",
        "--fault-seed",
        "slack",
    ] {
        assert!(
            out.contains(flag),
            "{flag} missing from serve --help:\n{out}"
        );
    }
    let err = Run::of(bin().args(["serve", "--rate-limits", "sometimes"])).fails(2);
    assert!(err.contains("sometimes"), "{err}");
}

#[test]
fn rate_limits_slack_refuses_the_21st_reset_and_the_cli_retries_it() {
    let s = Serve::start(&["--rate-limits", "slack"]);
    for i in 0..20 {
        let run = s.cli(&["reset", "W0DEV"]);
        assert_eq!(run.code, 0, "call {i}: {run:?}");
    }
    // Tier 2: the 21st waits out Retry-After (3 s) inside the client, then succeeds.
    s.cli(&["reset", "W0DEV"]).ok();
    let answers = s.answers("admin.users.session.reset");
    assert_eq!(answers.len(), 22, "{answers:?}");
    assert_eq!(answers[20], "ratelimited");
    assert_eq!(answers[21], "ok");
    let v = s.ok("GET", "emulator/rate-limits", None);
    assert_eq!(v["mode"], "slack");
}

#[test]
fn a_rate_limit_file_limits_its_methods_and_a_bad_one_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("limits.json");
    std::fs::write(
        &file,
        r#"{"admin.users.session.list": {"per_minute": 60, "burst": 1}}"#,
    )
    .unwrap();
    let s = Serve::start(&["--rate-limit-file", file.to_str().unwrap()]);
    s.cli(&["list"]).ok();
    s.cli(&["list"]).ok();
    assert_eq!(
        s.answers("admin.users.session.list"),
        ["ok", "ratelimited", "ok"]
    );
    assert_eq!(s.ok("GET", "emulator/rate-limits", None)["mode"], "custom");
    // Methods not in the file stay unlimited.
    for _ in 0..3 {
        s.cli(&["whoami"]).ok();
    }
    assert_eq!(s.answers("auth.test"), ["ok", "ok", "ok"]);

    std::fs::write(&file, r#"{"admin.users.session.list": {"per_minute": 0}}"#).unwrap();
    let data = tempfile::tempdir().unwrap();
    let err = Run::of(
        bin()
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data.path())
            .arg("--rate-limit-file")
            .arg(&file),
    )
    .fails(1);
    assert!(
        err.contains("limits.json") && err.contains("per_minute"),
        "{err}"
    );
}

fn whoami_pattern(s: &Serve) -> Vec<bool> {
    s.ok("DELETE", "emulator/faults", None);
    s.ok(
        "POST",
        "emulator/faults",
        Some(
            json!({"method": "auth.test", "action": "error", "error": "invalid_auth",
                    "probability": 0.5}),
        ),
    );
    (0..12).map(|_| s.cli(&["whoami"]).code == 0).collect()
}

#[test]
fn fault_seed_makes_probabilistic_faults_repeatable_across_runs() {
    let a = Serve::start(&["--fault-seed", "1234"]);
    let first = whoami_pattern(&a);
    assert!(first.contains(&true) && first.contains(&false), "{first:?}");
    assert_eq!(whoami_pattern(&a), first, "clearing restarts the sequence");
    drop(a);
    let b = Serve::start(&["--fault-seed", "1234"]);
    assert_eq!(whoami_pattern(&b), first, "same seed, same faults");
    assert_eq!(b.ok("GET", "emulator/faults/seed", None)["seed"], 1234);
}

#[test]
fn injected_errors_statuses_and_drops_reach_the_cli() {
    let s = Serve::start(&[]);
    s.ok(
        "POST",
        "emulator/faults",
        Some(json!([
            {"method": "admin.users.session.invalidate", "action": "status", "status": 503,
             "times": 1},
            {"method": "admin.users.session.reset", "action": "drop", "times": 1},
            {"method": "admin.users.session.getSettings", "action": "error",
             "error": "fatal_error", "times": 1}
        ])),
    );
    let err = s.cli(&["invalidate", "1001", "--user", "W0DEV"]).fails(1);
    assert!(err.contains("503"), "{err}");
    let err = s.cli(&["reset", "W0DEV"]).fails(1);
    assert!(
        err.contains("could not reach the API") && err.contains("connection closed"),
        "{err}"
    );
    let err = s.cli(&["settings", "get", "W0DEV"]).fails(1);
    assert!(err.contains("fatal_error"), "{err}");
    // Each rule fired once; the server itself never saw the calls.
    assert_eq!(s.session_ids()[..3], [1001, 1002, 1003]);
    s.cli(&["settings", "get", "W0DEV"]).ok();
    // A 500 on list is retried by the client (a read).
    s.ok(
        "POST",
        "emulator/faults",
        Some(
            json!({"method": "admin.users.session.list", "action": "status", "status": 500,
                    "times": 1}),
        ),
    );
    s.cli(&["list"]).ok();
    let list = s.answers("admin.users.session.list");
    assert_eq!(list[list.len() - 2..], ["internal_error", "ok"]);
}

#[test]
fn clock_advance_expires_sessions_by_duration() {
    let s = Serve::start(&[]);
    // W0DEV's sessions last 86400 s; xoxc-dana-web is session 1003's token.
    let whoami = |token: &str| {
        Run::of(
            bin()
                .env("SLACK_API_URL", &s.api_url)
                .env("SLACK_TOKEN", token)
                .args(["whoami", "--format", "json"]),
        )
    };
    whoami("xoxc-dana-web").ok();
    s.ok(
        "POST",
        "emulator/clock/advance",
        Some(json!({"seconds": 86_401})),
    );
    let err = whoami("xoxc-dana-web").fails(1);
    assert!(err.contains("invalid_auth"), "{err}");
    let ids = s.session_ids();
    assert!(!ids.contains(&1003) && ids.contains(&1004), "{ids:?}");
}

#[test]
fn dump_and_reset_to_the_fixture() {
    let s = Serve::start(&[]);
    s.cli(&["reset", "W0DEV"]).ok();
    assert!(!s.session_ids().contains(&1001));
    let dump = s.ok("GET", "emulator/state?org_id=E0ACME", None);
    let text = dump.to_string();
    assert!(
        !text.contains(ADMIN_TOKEN) && !text.contains("xoxc-"),
        "{text}"
    );
    assert_eq!(dump["orgs"][0]["id"], "E0ACME");
    let v = s.ok(
        "POST",
        "emulator/state/reset",
        Some(json!({"org_id": "E0ACME"})),
    );
    assert_eq!(v["orgs"], json!(["E0ACME"]));
    assert_eq!(s.session_ids(), [1001, 1002, 1003, 1004, 1005]);
}

#[test]
fn delayed_reset_bulk_is_accepted_then_done_after_the_clock_moves() {
    let s = Serve::start(&[]);
    s.ok("PUT", "emulator/jobs", Some(json!({"delay_seconds": 600})));
    s.cli(&["reset-bulk", "W0DEV", "W0OPS", "--no-throttle"])
        .ok();
    // Accepted, not done: the worker leaves it alone. Proof that the worker has looked at the
    // queue since: an undelayed job recorded after it (for a user without sessions) is run.
    s.ok("PUT", "emulator/jobs", Some(json!({"delay_seconds": 0})));
    s.cli(&["reset-bulk", "W0MEMBER", "--no-throttle"]).ok();
    let v = wait::until_blocking("the undelayed job to run", || {
        let v = s.ok("GET", "emulator/jobs", None);
        (v["jobs"][1]["state"] == "done").then_some(v)
    });
    assert_eq!(v["pending"], 1, "{v}");
    assert_eq!(v["jobs"][0]["state"], "pending", "{v}");
    assert_eq!(v["jobs"][0]["user_ids"], json!(["W0DEV", "W0OPS"]), "{v}");
    assert!(s.session_ids().contains(&1001));
    s.ok(
        "POST",
        "emulator/clock/advance",
        Some(json!({"seconds": 600})),
    );
    wait::until_blocking("the delayed job to run", || {
        (s.ok("GET", "emulator/jobs", None)["jobs"][0]["state"] == "done").then_some(())
    });
    assert_eq!(s.session_ids(), [1005]);
}

#[test]
fn the_request_log_records_cli_calls_without_tokens_and_clears() {
    let s = Serve::start(&[]);
    s.cli(&["whoami"]).ok();
    s.cli(&["settings", "set", "W0OPS", "--duration", "8h"])
        .ok();
    let v = s.ok("GET", "emulator/requests", None);
    let log = v["requests"].as_array().unwrap();
    let methods: Vec<&str> = log.iter().map(|r| r["method"].as_str().unwrap()).collect();
    assert_eq!(methods, ["auth.test", "admin.users.session.setSettings"]);
    assert_eq!(log[1]["args"]["duration"], "28800");
    assert_eq!(log[1]["answer"], "ok");
    assert!(!v.to_string().contains(ADMIN_TOKEN));
    s.ok("DELETE", "emulator/requests", None);
    assert_eq!(
        s.ok("GET", "emulator/requests", None)["requests"],
        json!([])
    );
}

/// Rate limits asked for at start apply even with the control API off (the emulator is mounted
/// for them alone), and nothing of the control API is reachable then.
#[test]
fn rate_limits_asked_for_at_start_apply_with_the_control_api_off() {
    let dir = tempfile::tempdir().unwrap();
    let fixture_path = dir.path().join("fixture.json");
    std::fs::write(&fixture_path, serde_json::to_vec(&fixture(0)).unwrap()).unwrap();
    let limits = dir.path().join("limits.json");
    std::fs::write(
        &limits,
        r#"{"admin.users.session.list": {"per_minute": 1, "burst": 1}}"#,
    )
    .unwrap();
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("slack-sessions"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .arg("--fixtures")
        .arg(&fixture_path)
        .arg("--rate-limit-file")
        .arg(&limits)
        .env_remove("SLACK_SESSIONS_CONTROL_TOKEN")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let api = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| {
            l.trim()
                .strip_prefix("API URL:")
                .map(|u| u.trim().to_owned())
        })
        .expect("no API URL in the banner");
    std::thread::spawn(move || for _ in lines {});
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (first, second, control) = rt.block_on(async {
        let http = reqwest::Client::new();
        let list = || {
            http.post(format!("{api}admin.users.session.list"))
                .bearer_auth(ADMIN_TOKEN)
                .send()
        };
        let first = list().await.unwrap();
        let first = (first.status().as_u16(), first.text().await.unwrap());
        let second = list().await.unwrap();
        let retry_after = second.headers().get("retry-after").cloned();
        let second = (
            second.status().as_u16(),
            retry_after,
            second.text().await.unwrap(),
        );
        let control = http
            .get(format!("{}control/emulator", api.trim_end_matches("api/")))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        (first, second, control)
    });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(first.0, 200, "{}", first.1);
    assert!(first.1.contains(r#""ok":true"#), "{}", first.1);
    assert_eq!(second.0, 429, "{}", second.2);
    assert!(second.1.is_some(), "429 without Retry-After");
    assert!(second.2.contains("ratelimited"), "{}", second.2);
    assert_eq!(control, 404, "the control API must stay off");
}
