//! Whole `slack-sessions serve` processes (the built binary) and throwaway PostgreSQL databases,
//! for the tests that need real processes: several nodes on one database, and SIGKILL. The
//! machinery is `sessions-test-support`'s; this names the binary and adds a client.

use std::path::Path;
use std::time::Duration;

use sessions_client::{Client, RetryPolicy};
pub use sessions_test_support::pg::TempDb;
pub use sessions_test_support::process::{spawn_until_line, ServeProcess};

/// The binary under test.
pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_slack-sessions"))
}

/// Starts `slack-sessions serve` on `database_url` (see [`ServeProcess::start`]).
pub async fn serve(database_url: &str, fixture: Option<&str>, extra: &[&str]) -> ServeProcess {
    ServeProcess::start(bin(), database_url, fixture, extra).await
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
