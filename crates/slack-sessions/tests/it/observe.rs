//! `serve` observability and exposure flags, through the built binary: JSON logs that never
//! carry a token, the control API off by default, `--control`, and `/metrics`.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::harness::{fixture, ADMIN_TOKEN, SECRETS, UNKNOWN_TOKEN};

const CONTROL_TOKEN: &str = "ctl-SECRET-observe-4411";

struct Serve {
    child: Child,
    /// Drains stderr from the start, so a chatty server never blocks on a full pipe.
    stderr: std::thread::JoinHandle<String>,
    base: String,
    banner: String,
    _dir: tempfile::TempDir,
}

impl Serve {
    fn start(extra: &[&str]) -> Serve {
        let dir = tempfile::tempdir().unwrap();
        let mut child = crate::procs::serve_command(dir.path(), &fixture(0))
            .args(extra)
            .env_remove("SLACK_SESSIONS_CONTROL_TOKEN")
            .env_remove("SLACK_SESSIONS_LOG_FORMAT")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        let banner = crate::procs::read_banner(&mut child, |l| l.starts_with("Press Ctrl-C"));
        let api = banner
            .lines()
            .find_map(|l| l.split("API URL:").nth(1))
            .unwrap_or_else(|| panic!("no API URL in {banner:?}"))
            .trim()
            .to_owned();
        Serve {
            child,
            stderr,
            base: api.trim_end_matches("/api/").to_owned(),
            banner,
            _dir: dir,
        }
    }

    /// Stops with SIGTERM (graceful) and returns everything written to stderr.
    fn stop(mut self) -> String {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let ok = self.child.wait().unwrap().success();
        let err = self.stderr.join().unwrap();
        assert!(ok, "serve failed:\n{err}");
        err
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Calls that carry tokens every way a client can send one.
async fn calls_with_tokens(base: &str) {
    let h = http();
    let api = format!("{base}/api/");
    let r = h
        .post(format!("{api}admin.users.session.list"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r: Value = serde_json::from_str(&r).unwrap();
    assert_eq!(r["ok"], true, "{r}");
    h.post(format!("{api}auth.test"))
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    h.get(format!("{api}auth.test?token={UNKNOWN_TOKEN}"))
        .send()
        .await
        .unwrap();
    h.post(format!("{api}admin.users.session.reset"))
        .header("content-type", "application/json")
        .body(serde_json::json!({"token": ADMIN_TOKEN, "user_id": "W404"}).to_string())
        .send()
        .await
        .unwrap();
    h.post(format!("{api}auth.test"))
        .header("token", UNKNOWN_TOKEN)
        .send()
        .await
        .unwrap();
}

fn assert_no_secret(text: &str) {
    for s in SECRETS.iter().chain([&CONTROL_TOKEN]) {
        assert!(!text.contains(s), "a token leaked into the log:\n{text}");
    }
}

#[tokio::test]
async fn json_logs_have_one_line_per_call_and_no_token() {
    // Default level with --log-format json: the access lines are there.
    let s = Serve::start(&["--log-format", "json", "--control-token", CONTROL_TOKEN]);
    calls_with_tokens(&s.base).await;
    let r = http()
        .get(format!("{}/control/health", s.base))
        .bearer_auth(CONTROL_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let log = s.stop();
    assert_no_secret(&log);
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let access: Vec<&Value> = lines
        .iter()
        .filter(|l| l["target"] == "sessions_server::access")
        .collect();
    assert_eq!(access.len(), 5, "{log}");
    let list = access
        .iter()
        .find(|l| l["method"] == "admin.users.session.list")
        .expect("list call logged");
    assert_eq!(list["code"], "ok");
    assert_eq!(list["status"], 200);
    assert_eq!(list["level"], "INFO");
    assert!(list["duration_ms"].as_f64().is_some());
    assert!(list["peer"].as_str().unwrap().starts_with("127.0.0.1:"));
    let codes: Vec<&str> = access.iter().filter_map(|l| l["code"].as_str()).collect();
    assert!(codes.contains(&"invalid_auth"), "{codes:?}");
    assert!(codes.contains(&"user_not_found"), "{codes:?}");

    // Everything our crates trace, at the finest level: still no token.
    let s = Serve::start(&[
        "--log-format",
        "json",
        "-vv",
        "--control-token",
        CONTROL_TOKEN,
    ]);
    calls_with_tokens(&s.base).await;
    let log = s.stop();
    assert!(log.lines().count() > 5, "{log}");
    assert_no_secret(&log);
}

#[tokio::test]
async fn control_api_is_off_by_default_and_on_with_control() {
    let s = Serve::start(&[]);
    assert!(s.banner.contains("Control API:   off"), "{}", s.banner);
    assert!(!s.banner.contains("Control token"), "{}", s.banner);
    let r = http()
        .get(format!("{}/control/health", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(body["error"], "control_disabled");
    s.stop();

    let s = Serve::start(&["--control"]);
    let token = s
        .banner
        .lines()
        .find_map(|l| l.split("Control token:").nth(1))
        .unwrap_or_else(|| panic!("no generated token in {}", s.banner))
        .trim()
        .to_owned();
    let r = http()
        .get(format!("{}/control/health", s.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    s.stop();
}

#[tokio::test]
async fn metrics_health_and_ready_are_served() {
    let limits = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        limits.path(),
        r#"{"admin.users.session.getSettings": {"per_minute": 1, "burst": 1}}"#,
    )
    .unwrap();
    let s = Serve::start(&[
        "--max-connections",
        "8",
        "--body-timeout",
        "5s",
        "--rate-limit-file",
        limits.path().to_str().unwrap(),
    ]);
    calls_with_tokens(&s.base).await;
    let h = http();
    // The emulator's 429 (made outside the handlers) is counted under its Slack code.
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let r = h
            .post(format!("{}/api/admin.users.session.getSettings", s.base))
            .bearer_auth(ADMIN_TOKEN)
            .form(&[("user_ids", "W0DEV")])
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [200, 429]);
    let metrics = h
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            r#"sessions_api_requests_total{method="admin.users.session.list",code="ok"} 1"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("sessions_bulk_jobs_pending 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            r#"sessions_api_errors_total{method="admin.users.session.getSettings",code="ratelimited"} 1"#
        ),
        "{metrics}"
    );
    assert_no_secret(&metrics);
    for path in ["health", "ready"] {
        let r = h.get(format!("{}/{path}", s.base)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    s.stop();
}
