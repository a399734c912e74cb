//! Slack errors, HTTP errors, decode errors and timeouts.

use std::time::Duration;

use sessions_client::*;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{builder, client};

async fn reply(server: &MockServer, status: u16, body: &str) {
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(status).set_body_string(body))
        .mount(server)
        .await;
}

#[tokio::test]
async fn ok_false_becomes_api_error_with_details() {
    let server = MockServer::start().await;
    reply(&server, 200, r#"{"ok":false,"error":"missing_scope","needed":"admin.users:write",
        "provided":"admin.users:read","warning":"w1","response_metadata":{"messages":["[ERROR] nope"],"warnings":["w2"]}}"#).await;
    let err = client(&server)
        .admin_users_session_reset(ResetRequest::new("W1"))
        .await
        .unwrap_err();
    match &err {
        Error::Api {
            code,
            needed,
            provided,
            warnings,
            messages,
        } => {
            assert_eq!(code, &ErrorCode::MissingScope);
            assert_eq!(needed.as_deref(), Some("admin.users:write"));
            assert_eq!(provided.as_deref(), Some("admin.users:read"));
            assert_eq!(warnings, &["w1", "w2"]);
            assert_eq!(messages, &["[ERROR] nope"]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.code(), Some(ErrorCode::MissingScope));
    // One attempt only: a Slack error is an answer, not a failure to retry.
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn unknown_error_codes_are_kept() {
    let server = MockServer::start().await;
    reply(&server, 200, r#"{"ok":false,"error":"brand_new_code"}"#).await;
    let err = client(&server).auth_test().await.unwrap_err();
    assert!(
        matches!(err, Error::Api { code: ErrorCode::Other(ref c), .. } if c == "brand_new_code")
    );
    assert_eq!(err.to_string(), "brand_new_code");
}

#[tokio::test]
async fn other_non_2xx_is_http_error_with_cut_body() {
    let server = MockServer::start().await;
    let long = "x".repeat(10_000);
    reply(&server, 404, &long).await;
    let err = client(&server).auth_test().await.unwrap_err();
    match err {
        Error::Http { status, body } => {
            assert_eq!(status, http::StatusCode::NOT_FOUND);
            assert!(
                body.len() <= HTTP_BODY_KEEP + 3 && body.starts_with("xxx"),
                "{}",
                body.len()
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "4xx is not retried"
    );
}

#[tokio::test]
async fn decode_error_names_the_json_path() {
    let server = MockServer::start().await;
    reply(
        &server,
        200,
        r#"{"ok":true,"active_sessions":[{"user_id":"W1","team_id":"T1","session_id":1},
        {"user_id":"W2","team_id":"T1","session_id":"abc"}]}"#,
    )
    .await;
    let err = client(&server)
        .admin_users_session_list(ListRequest::org())
        .await
        .unwrap_err();
    match err {
        Error::Decode { path, message } => {
            assert_eq!(path, "active_sessions[1].session_id");
            assert!(message.contains("session id"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn non_json_body_is_decode_error() {
    let server = MockServer::start().await;
    reply(&server, 200, "<html>maintenance</html>").await;
    let err = client(&server).auth_test().await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    let server = MockServer::start().await;
    reply(&server, 200, r#"{"ok":"yes"}"#).await;
    match client(&server).auth_test().await.unwrap_err() {
        Error::Decode { path, .. } => assert_eq!(path, "ok"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn slow_response_times_out() {
    let server = MockServer::start().await;
    Mock::given(path("/api/admin.users.session.invalidate"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"ok": true}))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    let c = builder(&server)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = c
        .admin_users_session_invalidate(InvalidateRequest::for_user(1u64, "W1"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    // invalidate is not retry-safe: exactly one attempt.
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn connect_failure_is_transport_or_timeout() {
    // Bind then drop a listener so the port is (almost certainly) closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = Client::builder("xoxp-t")
        .base_url(format!("http://127.0.0.1:{port}/api"))
        .connect_timeout(Duration::from_millis(300))
        .retry(RetryPolicy::disabled())
        .build()
        .unwrap();
    let err = c.auth_test().await.unwrap_err();
    match &err {
        Error::Transport(src) => assert!(src.is_connect(), "{src:?}"),
        Error::Timeout => {}
        other => panic!("{other:?}"),
    }
    assert!(std::error::Error::source(&err).is_some() || matches!(err, Error::Timeout));
}

#[tokio::test]
async fn connect_timeout_is_timeout() {
    // A listener that never accepts, its one-slot backlog already filled: further SYNs go
    // unanswered, so connecting hangs until the client's connect timeout.
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = sock.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        let connect = tokio::net::TcpStream::connect(addr);
        if let Ok(Ok(s)) = tokio::time::timeout(Duration::from_millis(200), connect).await {
            fillers.push(s);
        }
    }
    let c = Client::builder("xoxp-t")
        .base_url(format!("http://{addr}/api"))
        .connect_timeout(Duration::from_millis(300))
        .timeout(Duration::from_secs(20))
        .retry(RetryPolicy::disabled())
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = c.auth_test().await.unwrap_err();
    assert!(matches!(err, Error::Timeout), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    drop((fillers, listener));
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let server = MockServer::start().await;
    Mock::given(path("/api/admin.users.session.reset"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/elsewhere"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/elsewhere"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"ok": true})))
        .expect(0)
        .mount(&server)
        .await;
    let err = client(&server)
        .admin_users_session_reset(ResetRequest::new("W1"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Http { status, .. } if status == http::StatusCode::FOUND),
        "{err:?}"
    );
}

/// Callers spawn these futures and streams on multi-threaded runtimes.
#[test]
fn futures_and_streams_are_send() {
    fn send<T: Send>(_: T) {}
    let c = Client::new("xoxp-t").unwrap();
    send(c.admin_users_session_list(ListRequest::org()));
    send(c.admin_users_session_list_pages(ListRequest::org()));
    send(c.admin_users_session_list_all(ListRequest::org()));
    send(c.admin_users_session_invalidate(InvalidateRequest::default()));
    send(c.admin_users_session_reset(ResetRequest::new("W1")));
    send(c.admin_users_session_reset_bulk(ResetBulkRequest::new(["W1"])));
    send(c.admin_users_session_get_settings(GetSettingsRequest::new(["W1"])));
    send(c.admin_users_session_set_settings(SetSettingsRequest::new(["W1"])));
    send(c.admin_users_session_clear_settings(ClearSettingsRequest::new(["W1"])));
    send(c.auth_test());
    send(c.call_with_http_info::<SessionList>(&ListRequest::org()));
    fn sync<T: Send + Sync + Clone + 'static>(_: &T) {}
    sync(&c);
}
