//! A real server per test (sessions_server::run on 127.0.0.1:0 with a tempdir SQLite file and a
//! fixture), and the built binary pointed at it.

use std::path::PathBuf;
use std::process::Output;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::{json, Value};
use sessions_server::testing::TestServer;

/// The admin token every test uses; distinctive so we can prove it never leaks.
pub const ADMIN_TOKEN: &str = "xoxp-SECRET-admin-7f3a9c1e";
/// Read scope only.
pub const READONLY_TOKEN: &str = "xoxp-SECRET-readonly-51d0";
/// A member (not an admin) with both scopes.
pub const MEMBER_TOKEN: &str = "xoxp-SECRET-member-c0ffee";
/// Not known to the server.
pub const UNKNOWN_TOKEN: &str = "xoxp-SECRET-unknown-9b8a";
/// Every secret a test might pass; none may ever be printed.
pub const SECRETS: [&str; 4] = [ADMIN_TOKEN, READONLY_TOKEN, MEMBER_TOKEN, UNKNOWN_TOKEN];

/// Number of generated members `W1000..` (for bulk tests).
pub fn fixture(generated_users: usize) -> Value {
    let mut users = vec![
        json!({"id": "W0OWNER", "name": "olivia", "role": "primary_owner", "teams": ["T0ENG", "T0OPS"],
               "email": "olivia@acme.example"}),
        json!({"id": "W0ADMIN", "name": "adam", "role": "admin", "teams": ["T0ENG"],
               "email": "adam@acme.example"}),
        json!({"id": "W0DEV", "name": "dana", "role": "member", "teams": ["T0ENG"],
               "email": "Dana@Acme.example", "real_name": "Dana Scully"}),
        json!({"id": "W0OPS", "name": "omar", "role": "member", "teams": ["T0OPS"],
               "email": "omar@acme.example"}),
        json!({"id": "W0MEMBER", "name": "mia", "role": "member", "teams": ["T0ENG"],
               "email": "mia@acme.example"}),
        json!({"id": "W0BOT", "name": "deploybot", "role": "member", "is_bot": true, "teams": ["T0ENG"]}),
        json!({"id": "W0GONE", "name": "gone", "role": "member", "teams": ["T0OPS"],
               "email": "gone@acme.example", "deleted": true}),
    ];
    let mut sessions = vec![
        json!({"session_id": 1001, "user": "W0DEV", "team": "T0ENG", "client": "desktop",
            "token": "xoxc-dana-laptop",
            "created": {"device_hardware": "MacBookPro18,3", "os": "macOS", "os_version": "14.1",
                        "slack_client_version": "4.35.126", "ip": "203.0.113.7"},
            "recent": {"device_hardware": "MacBookPro18,3", "os": "macOS", "os_version": "14.2",
                       "slack_client_version": "4.36.140", "ip": "203.0.113.9"}}),
        json!({"session_id": 1002, "user": "W0DEV", "team": "T0ENG", "client": "ios",
            "token": "xoxc-dana-phone",
            "created": {"device_hardware": "iPhone15,2", "os": "iOS", "os_version": "17.1",
                        "slack_client_version": "23.10.10", "ip": "198.51.100.23"}}),
        json!({"session_id": 1003, "user": "W0DEV", "team": "T0ENG", "client": "web",
            "token": "xoxc-dana-web",
            "created": {"os": "Windows", "os_version": "11", "ip": "198.51.100.40"}}),
        json!({"session_id": 1004, "user": "W0OPS", "team": "T0OPS", "client": "android",
            "token": "xoxc-omar-phone",
            "created": {"device_hardware": "Pixel 8", "os": "Android", "os_version": "14",
                        "slack_client_version": "23.11.20.0", "ip": "2001:db8::42"}}),
        json!({"session_id": 1005, "user": "W0ADMIN", "team": "T0ENG", "client": "desktop",
            "token": "xoxc-adam-laptop",
            "created": {"device_hardware": "ThinkPad X1 Carbon Gen 11", "os": "Linux",
                        "os_version": "6.5", "slack_client_version": "4.35.131", "ip": "192.0.2.10"}}),
    ];
    for i in 0..generated_users {
        let id = format!("W{}", 1000 + i);
        // One session for every tenth user, so bulk tests can watch them disappear.
        if i % 10 == 0 {
            sessions.push(
                json!({"session_id": 100_000 + i, "user": id, "team": "T0ENG",
                "client": "web", "token": format!("xoxc-gen-{i}"),
                "created": {"os": "Linux", "ip": "192.0.2.99"}}),
            );
        }
        users.push(
            json!({"id": id, "name": format!("user{i}"), "role": "member", "teams": ["T0ENG"]}),
        );
    }
    json!({"orgs": [{
        "id": "E0ACME", "name": "Acme Corp",
        "teams": [{"id": "T0ENG", "name": "Engineering"}, {"id": "T0OPS", "name": "Operations"}],
        "users": users,
        "tokens": [
            {"token": ADMIN_TOKEN, "user": "W0ADMIN", "type": "user",
             "scopes": ["admin.users:read", "admin.users:write", "users:read", "users:read.email"]},
            {"token": READONLY_TOKEN, "user": "W0ADMIN", "type": "user", "scopes": ["admin.users:read"]},
            {"token": MEMBER_TOKEN, "user": "W0MEMBER", "type": "user",
             "scopes": ["admin.users:read", "admin.users:write"]}
        ],
        "sessions": sessions,
        "settings": [{"user": "W0DEV", "duration": 86400, "desktop_app_browser_quit": true}]
    }]})
}

/// A running server; stopped (gracefully) on drop.
pub struct Server {
    pub api_url: String,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start() -> Server {
        Server::with_fixture(&fixture(0))
    }

    pub fn with_fixture(fixture: &Value) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let fixture_path: PathBuf = dir.path().join("fixture.json");
        std::fs::write(&fixture_path, serde_json::to_vec(fixture).unwrap()).unwrap();
        let config = sessions_server::ServerSettings {
            listen: "127.0.0.1:0".parse().unwrap(),
            database_url: Some(format!(
                "sqlite://{}",
                dir.path().join("sessions.db").display()
            )),
            fixtures: Some(fixture_path),
            demo: false,
            control_token: Some("control-test".into()),
            ..Default::default()
        };
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (url_tx, url_rx) = mpsc::channel::<String>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async move {
                let (server, started) = match TestServer::run(config).await {
                    Ok(running) => running,
                    Err(e) => panic!("server failed: {e}"),
                };
                let _ = url_tx.send(started.api_url.clone());
                let _ = stop_rx.await;
                if let Err(e) = server.stop().await {
                    panic!("server failed: {e}");
                }
            });
        });
        let api_url = url_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server did not start within 60 s");
        Server {
            api_url,
            dir,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// The binary, pointed at this server with the admin token in the environment.
    pub fn cli(&self) -> Command {
        let mut cmd = bin();
        cmd.env("SLACK_API_URL", &self.api_url)
            .env("SLACK_TOKEN", ADMIN_TOKEN);
        cmd
    }

    /// Runs the binary with these arguments and returns its output after checking no token
    /// appears in it.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::of(self.cli().args(args))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The built binary with a clean environment.
pub fn bin() -> Command {
    let mut cmd = Command::cargo_bin("slack-sessions").unwrap();
    cmd.env_remove("SLACK_TOKEN")
        .env_remove("SLACK_API_URL")
        .env_remove("RUST_LOG");
    cmd.timeout(Duration::from_secs(120));
    cmd
}

/// A finished run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn of(cmd: &mut Command) -> Run {
        let out: Output = cmd.output().unwrap();
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        };
        for secret in SECRETS {
            assert!(
                !run.stdout.contains(secret),
                "token leaked to stdout: {run:?}"
            );
            assert!(
                !run.stderr.contains(secret),
                "token leaked to stderr: {run:?}"
            );
        }
        run
    }

    /// Asserts success and returns stdout.
    pub fn ok(self) -> String {
        assert_eq!(self.code, 0, "expected success: {self:?}");
        self.stdout
    }

    /// Asserts the exit code and returns stderr.
    pub fn fails(self, code: i32) -> String {
        assert_eq!(self.code, code, "expected exit {code}: {self:?}");
        self.stderr
    }
}
