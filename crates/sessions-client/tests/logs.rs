//! The token never shows in logs, and every call has its span.
//!
//! A test binary of its own: tracing caches each callsite's interest process-wide, and a test
//! running beside it on another thread, with no subscriber, can register the `slack.call`
//! span's callsite as uninteresting while this test's thread-local subscriber is being set,
//! so the span went missing from the log now and then. Alone in its process, it cannot.

use std::io::Write;
use std::sync::{Arc, Mutex};

use sessions_client::*;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[allow(dead_code)]
#[path = "it/support.rs"]
mod support;

use support::{builder, recording, TOKEN};

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_have_a_span_per_call_and_no_token() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"ok": true})))
        .mount(&server)
        .await;
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (c, _) = recording(&server, RetryPolicy::default());
    c.admin_users_session_reset(ResetRequest::new("W1"))
        .await
        .unwrap();
    let _ = builder(&server)
        .build()
        .unwrap()
        .with_token("xoxp-bad\n")
        .auth_test()
        .await;

    let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("slack.call"), "{logs}");
    assert!(
        logs.contains("method=\"admin.users.session.reset\"")
            || logs.contains("method=admin.users.session.reset"),
        "{logs}"
    );
    assert!(logs.contains("attempt=2"), "{logs}");
    assert!(logs.contains("retrying"), "{logs}");
    assert!(
        !logs.contains(TOKEN) && !logs.contains("secret") && !logs.contains("xoxp-bad"),
        "{logs}"
    );
}
