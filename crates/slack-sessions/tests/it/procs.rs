//! Whole `slack-sessions serve` processes (the built binary) and throwaway PostgreSQL databases,
//! for the tests that need real processes: several nodes on one database, and SIGKILL.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sessions_client::{Client, RetryPolicy};

/// Control token every process here is started with.
pub const CONTROL: &str = "procs-control-token";

/// The PostgreSQL server tests use (`SESSIONS_TEST_PG_URL`).
pub fn pg_admin_url() -> String {
    std::env::var("SESSIONS_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh database on the test PostgreSQL server, dropped (forcibly) with this value. Declare
/// it before the processes that use it, so that it is dropped after them.
pub struct PgDb {
    pub url: String,
    name: String,
}

impl PgDb {
    /// Creates `sessions_<purpose>_<random>`; fails the test (never skips) when PostgreSQL is
    /// unreachable.
    pub async fn fresh(purpose: &str) -> PgDb {
        let admin = pg_admin_url();
        let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL at {admin} is required by the {purpose} tests \
                     (bash scripts/ensure-postgres.sh): {e}"
                )
            });
        tokio::spawn(conn);
        let name = format!("sessions_{purpose}_{:016x}", rand::random::<u64>());
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        let (base, _) = admin.rsplit_once('/').unwrap();
        PgDb {
            url: format!("{base}/{name}"),
            name,
        }
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let (admin, name) = (pg_admin_url(), self.name.clone());
        // Drop is synchronous, inside the test's runtime: use a thread and runtime of our own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
                    .await
                    .ok()?;
                tokio::spawn(conn);
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .ok()
            })
        })
        .join();
    }
}

/// Spawns `cmd` (its stdout must be piped) and reads its stdout until a line starting, once
/// trimmed, with `prefix`; returns the child and the rest of that line (trimmed), or `None` if
/// stdout ended first. The rest of stdout is drained so the child never blocks on a full pipe.
pub async fn spawn_until_line(mut cmd: Command, prefix: &'static str) -> (Child, Option<String>) {
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let found = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines();
        let mut found = None;
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.trim().strip_prefix(prefix) {
                found = Some(rest.trim().to_owned());
                break;
            }
        }
        std::thread::spawn(move || lines.for_each(drop));
        found
    })
    .await
    .unwrap();
    (child, found)
}

/// A running `slack-sessions serve`; SIGKILLed when dropped.
pub struct ServeProcess {
    child: Child,
    /// `http://127.0.0.1:PORT/api/`
    pub api: String,
    /// `http://127.0.0.1:PORT/control`
    pub control: String,
    dir: tempfile::TempDir,
}

impl ServeProcess {
    /// Starts the binary on `database_url` (on a free port, control API on), loading `fixture`
    /// (JSON text) if given, with `extra` serve flags, and waits until it answers.
    pub async fn start(database_url: &str, fixture: Option<&str>, extra: &[&str]) -> ServeProcess {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_slack-sessions"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--database-url"])
            .arg(database_url)
            .args(["--control-token", CONTROL]);
        if let Some(f) = fixture {
            let path = dir.path().join("fixture.json");
            std::fs::write(&path, f).unwrap();
            cmd.arg("--fixtures").arg(path);
        }
        cmd.args(extra)
            .env_remove("SLACK_SESSIONS_CONTROL_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.path().join("stderr.log")).unwrap());
        // The banner names the bound address: "  API URL:       http://127.0.0.1:PORT/api/".
        let (mut child, api) = spawn_until_line(cmd, "API URL:").await;
        let Some(api) = api else {
            let status = child.wait().unwrap();
            let log = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default();
            panic!("serve on {database_url} printed no API URL and exited with {status}:\n{log}");
        };
        assert!(api.ends_with("/api/"), "{api}");
        let control = format!("{}control", api.strip_suffix("api/").unwrap());
        let p = ServeProcess {
            child,
            api,
            control,
            dir,
        };
        p.wait_healthy().await;
        p
    }

    async fn wait_healthy(&self) {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ok = http
                .get(format!("{}/health", self.control))
                .bearer_auth(CONTROL)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                return;
            }
            let log = std::fs::read_to_string(self.dir.path().join("stderr.log"));
            assert!(
                Instant::now() < deadline,
                "serve at {} never became healthy: {log:?}",
                self.api
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A client on this process: one attempt per call (tests see every answer), 10 s timeout.
    pub fn client(&self, token: &str) -> Client {
        Client::builder(token)
            .base_url(&self.api)
            .retry(RetryPolicy {
                max_attempts: 1,
                ..RetryPolicy::default()
            })
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
    }

    /// `GET /control{path}`; the answer must be a success.
    pub async fn control_get(&self, path: &str) -> Value {
        let r = reqwest::Client::new()
            .get(format!("{}{path}", self.control))
            .bearer_auth(CONTROL)
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "GET /control{path}: {}",
            r.status()
        );
        serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
    }

    /// `{method} /control{path}` with a JSON body; the answer must be a success.
    pub async fn control_send(&self, method: reqwest::Method, path: &str, body: &Value) {
        let r = reqwest::Client::new()
            .request(method.clone(), format!("{}{path}", self.control))
            .bearer_auth(CONTROL)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = r.status();
        assert!(
            status.is_success(),
            "{method} /control{path}: {status} {}",
            r.text().await.unwrap_or_default()
        );
    }

    /// SIGKILL: no shutdown code runs, leases are left as they are.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
