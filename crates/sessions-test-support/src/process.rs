//! Whole processes of the built binary: spawning one and reading its banner, and a running
//! `slack-sessions serve` that is SIGKILLed when dropped.
//!
//! The binary's path comes from the caller (`env!("CARGO_BIN_EXE_slack-sessions")` exists only
//! in the binary crate's own tests).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Control token every [`ServeProcess`] is started with.
pub const CONTROL: &str = "procs-control-token";

/// Reads `child`'s stdout (it must be piped) line by line up to and including the first line
/// for which `last` is true, or to its end, and returns those lines (each ending in `\n`). The
/// rest of stdout is drained on a thread of its own so the child never blocks on a full pipe.
pub fn read_banner(child: &mut Child, last: impl Fn(&str) -> bool) -> String {
    let stdout = child.stdout.take().expect("stdout must be piped");
    let mut lines = BufReader::new(stdout).lines();
    let mut banner = String::new();
    for line in lines.by_ref() {
        let Ok(line) = line else { break };
        banner.push_str(&line);
        banner.push('\n');
        if last(&line) {
            break;
        }
    }
    std::thread::spawn(move || lines.for_each(drop));
    banner
}

/// Spawns `cmd` (its stdout must be piped) and reads its stdout until a line that starts,
/// once trimmed, with `prefix` ([`read_banner`]); returns the child and the rest of that line
/// (trimmed), or `None` if stdout ended first.
pub fn spawn_until_line_blocking(mut cmd: Command, prefix: &str) -> (Child, Option<String>) {
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {cmd:?}: {e}"));
    let banner = read_banner(&mut child, |l| l.trim().starts_with(prefix));
    let found = banner
        .lines()
        .last()
        .and_then(|l| l.trim().strip_prefix(prefix))
        .map(|rest| rest.trim().to_owned());
    (child, found)
}

/// [`spawn_until_line_blocking`] off the async runtime's threads.
pub async fn spawn_until_line(cmd: Command, prefix: &'static str) -> (Child, Option<String>) {
    tokio::task::spawn_blocking(move || spawn_until_line_blocking(cmd, prefix))
        .await
        .expect("reader thread")
}

/// A running `slack-sessions serve`; SIGKILLed when dropped.
#[derive(Debug)]
pub struct ServeProcess {
    child: Child,
    /// `http://127.0.0.1:PORT/api/`
    pub api: String,
    /// `http://127.0.0.1:PORT/control`
    pub control: String,
    dir: tempfile::TempDir,
}

impl ServeProcess {
    /// Starts `bin serve` on `database_url` (free port, control API on with [`CONTROL`]),
    /// loading `fixture` (JSON text) if given, with `extra` serve flags, and waits until it
    /// answers its health check.
    pub async fn start(
        bin: &Path,
        database_url: &str,
        fixture: Option<&str>,
        extra: &[&str],
    ) -> ServeProcess {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cmd = Command::new(bin);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--database-url"])
            .arg(database_url)
            .args(["--control-token", CONTROL]);
        if let Some(f) = fixture {
            let path = dir.path().join("fixture.json");
            std::fs::write(&path, f).expect("writing the fixture");
            cmd.arg("--fixtures").arg(path);
        }
        let stderr = std::fs::File::create(dir.path().join("stderr.log")).expect("stderr.log");
        cmd.args(extra)
            .env_remove("SLACK_SESSIONS_CONTROL_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        // The banner names the bound address: "  API URL:       http://127.0.0.1:PORT/api/".
        let (mut child, api) = spawn_until_line(cmd, "API URL:").await;
        let Some(api) = api else {
            let status = child.wait();
            let log = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default();
            panic!("serve on {database_url} printed no API URL and exited with {status:?}:\n{log}");
        };
        assert!(api.ends_with("/api/"), "{api}");
        let control = format!("{}control", api.strip_suffix("api/").unwrap_or(&api));
        let p = ServeProcess {
            child,
            api,
            control,
            dir,
        };
        let http = reqwest::Client::new();
        let health = format!("{}/health", p.control);
        crate::wait::until_true_or(
            &format!("serve at {} to be healthy", p.api),
            || {
                let req = http.get(&health).bearer_auth(CONTROL).send();
                async move { req.await.is_ok_and(|r| r.status().is_success()) }
            },
            || format!("its stderr:\n{}", p.stderr()),
        )
        .await;
        p
    }

    /// What the process wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// The process, to signal or wait for it.
    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// SIGKILL: no shutdown code runs, leases are left as they are.
    pub fn kill(&mut self) {
        self.child.kill().expect("killing serve");
        self.child.wait().expect("reaping serve");
    }

    /// `GET /control{path}`; the answer must be a success, and JSON.
    pub async fn control_get(&self, path: &str) -> serde_json::Value {
        let r = reqwest::Client::new()
            .get(format!("{}{path}", self.control))
            .bearer_auth(CONTROL)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET /control{path}: {e}"));
        let status = r.status();
        let body = r.bytes().await.expect("reading the answer");
        assert!(
            status.is_success(),
            "GET /control{path}: {status} {}",
            String::from_utf8_lossy(&body)
        );
        serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("GET /control{path} answered no JSON: {e}"))
    }

    /// `{method} /control{path}` with a JSON body; the answer must be a success.
    pub async fn control_send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &serde_json::Value,
    ) {
        let r = reqwest::Client::new()
            .request(method.clone(), format!("{}{path}", self.control))
            .bearer_auth(CONTROL)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} /control{path}: {e}"));
        let status = r.status();
        assert!(
            status.is_success(),
            "{method} /control{path}: {status} {}",
            r.text().await.unwrap_or_default()
        );
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
