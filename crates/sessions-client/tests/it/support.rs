use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use sessions_client::{Client, ClientBuilder, RetryPolicy, Sleeper};
use wiremock::MockServer;

pub const TOKEN: &str = "xoxp-secret-token-123";

/// Returns at once and records every wait asked for.
#[derive(Debug, Default)]
pub struct RecordingSleeper {
    waits: Mutex<Vec<Duration>>,
}

impl RecordingSleeper {
    pub fn waits(&self) -> Vec<Duration> {
        self.waits.lock().unwrap().clone()
    }
}

impl Sleeper for RecordingSleeper {
    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        self.waits.lock().unwrap().push(d);
        Box::pin(async {})
    }
}

pub fn builder(server: &MockServer) -> ClientBuilder {
    Client::builder(TOKEN).base_url(format!("{}/api", server.uri()))
}

/// A client whose waits are recorded rather than slept.
pub fn recording(server: &MockServer, policy: RetryPolicy) -> (Client, Arc<RecordingSleeper>) {
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = builder(server)
        .retry(policy)
        .sleeper(sleeper.clone())
        .build()
        .unwrap();
    (client, sleeper)
}

pub fn client(server: &MockServer) -> Client {
    recording(server, RetryPolicy::default()).0
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn session_json(i: u64) -> serde_json::Value {
    serde_json::json!({
        "user_id": format!("W{i:04}"),
        "team_id": "T0ENG",
        "session_id": i,
        "created": {"device_hardware": "iPhone", "os": "iOS", "os_version": "17.1",
                    "slack_client_version": "23.10", "ip": "10.0.0.1"},
        "recent": {"device_hardware": "iPhone", "os": "iOS", "ip": "10.0.0.2"}
    })
}

pub fn page_json(ids: std::ops::Range<u64>, next: &str) -> serde_json::Value {
    serde_json::json!({
        "ok": true,
        "active_sessions": ids.map(session_json).collect::<Vec<_>>(),
        "response_metadata": {"next_cursor": next}
    })
}
