//! Whole `slack-sessions serve` processes (the built binary) and throwaway PostgreSQL databases,
//! for the tests that need real processes: several nodes on one database, and SIGKILL. The
//! machinery is `sessions-test-support`'s; this names the binary and adds a client.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use sessions_client::{Client, RetryPolicy};
pub use sessions_test_support::pg::TempDb;
pub use sessions_test_support::process::{
    read_banner, spawn_until_line, spawn_until_line_blocking, ServeProcess,
};

/// The binary under test.
pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_slack-sessions"))
}

/// Starts `slack-sessions serve` on `database_url` (see [`ServeProcess::start`]).
pub async fn serve(database_url: &str, fixture: Option<&str>, extra: &[&str]) -> ServeProcess {
    ServeProcess::start(bin(), database_url, fixture, extra).await
}

/// `slack-sessions serve` on a free port with its data in `dir`, loading `fixture` (written to
/// `dir/fixture.json`), without `RUST_LOG` from the environment; stdin closed, stdout piped
/// (its banner), stderr discarded unless the caller says otherwise. For tests that keep the
/// process synchronous and read more of its banner than [`ServeProcess`] does.
pub fn serve_command(dir: &Path, fixture: &serde_json::Value) -> Command {
    let path = dir.join("fixture.json");
    std::fs::write(&path, serde_json::to_vec(fixture).unwrap()).unwrap();
    let mut cmd = Command::new(bin());
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .arg("--fixtures")
        .arg(&path)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    cmd
}

/// A client on a serve process.
pub trait ServeClient {
    /// One attempt per call (tests see every answer), 10 s timeout.
    fn client(&self, token: &str) -> Client;
}

impl ServeClient for ServeProcess {
    fn client(&self, token: &str) -> Client {
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
}
