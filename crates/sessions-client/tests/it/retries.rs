//! 429s, 5xx and timeouts, with waits recorded by the injected sleeper.

use std::time::Duration;

use sessions_client::*;
use wiremock::matchers::{any, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{recording, secs};

fn limited(retry_after: Option<&str>) -> ResponseTemplate {
    let t = ResponseTemplate::new(429)
        .set_body_json(serde_json::json!({"ok": false, "error": "ratelimited"}));
    match retry_after {
        Some(v) => t.insert_header("retry-after", v),
        None => t,
    }
}

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({"ok": true}))
}

/// Answers `first` `n` times, then `ok()`.
async fn then_ok(server: &MockServer, first: ResponseTemplate, n: u64) {
    Mock::given(any())
        .respond_with(first)
        .up_to_n_times(n)
        .mount(server)
        .await;
    Mock::given(any()).respond_with(ok()).mount(server).await;
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

#[tokio::test]
async fn rate_limit_then_success_honours_retry_after() {
    let server = MockServer::start().await;
    then_ok(&server, limited(Some("7")), 1).await;
    let (c, sleeper) = recording(&server, RetryPolicy::default());
    // Even a non-idempotent method: a 429 means Slack did not run it.
    c.admin_users_session_reset(ResetRequest::new("W1"))
        .await
        .unwrap();
    assert_eq!(sleeper.waits(), vec![secs(7)]);
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test]
async fn rate_limit_without_usable_retry_after_waits_default() {
    for header in [None, Some("soon")] {
        let server = MockServer::start().await;
        then_ok(&server, limited(header), 1).await;
        let (c, sleeper) = recording(&server, RetryPolicy::default());
        c.auth_test().await.unwrap();
        assert_eq!(
            sleeper.waits(),
            vec![RetryPolicy::default().default_retry_after]
        );
    }
}

#[tokio::test]
async fn rate_limit_exhausting_attempts_is_rate_limited() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(limited(Some("2")))
        .mount(&server)
        .await;
    let policy = RetryPolicy {
        max_attempts: 3,
        ..RetryPolicy::default()
    };
    let (c, sleeper) = recording(&server, policy);
    let err = c
        .admin_users_session_list(ListRequest::org())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { retry_after } if retry_after == secs(2)),
        "{err:?}"
    );
    assert_eq!(sleeper.waits(), vec![secs(2), secs(2)]);
    assert_eq!(requests(&server).await, 3);
}

#[tokio::test]
async fn rate_limit_longer_than_total_wait_gives_up_at_once() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(limited(Some("600")))
        .mount(&server)
        .await;
    let (c, sleeper) = recording(&server, RetryPolicy::default());
    let err = c.auth_test().await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { retry_after } if retry_after == secs(600)));
    assert!(sleeper.waits().is_empty());
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn disabled_policy_never_retries() {
    let server = MockServer::start().await;
    then_ok(&server, limited(Some("1")), 1).await;
    let (c, sleeper) = recording(&server, RetryPolicy::disabled());
    assert!(matches!(
        c.auth_test().await,
        Err(Error::RateLimited { .. })
    ));
    assert!(sleeper.waits().is_empty());
}

#[tokio::test]
async fn server_errors_are_retried_for_safe_methods() {
    let server = MockServer::start().await;
    then_ok(
        &server,
        ResponseTemplate::new(503).set_body_string("busy"),
        2,
    )
    .await;
    let (c, sleeper) = recording(&server, RetryPolicy::default());
    c.admin_users_session_list(ListRequest::org())
        .await
        .unwrap();
    let base = RetryPolicy::default().backoff_base;
    assert_eq!(sleeper.waits(), vec![base, base * 2]);

    let server = MockServer::start().await;
    then_ok(&server, ResponseTemplate::new(500), 1).await;
    let (c, sleeper) = recording(&server, RetryPolicy::default());
    c.admin_users_session_get_settings(GetSettingsRequest::new(["W1"]))
        .await
        .unwrap();
    assert_eq!(sleeper.waits(), vec![base]);
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test]
async fn server_errors_are_not_retried_for_unsafe_methods() {
    let server = MockServer::start().await;
    then_ok(
        &server,
        ResponseTemplate::new(502).set_body_string("bad gateway"),
        1,
    )
    .await;
    let (c, sleeper) = recording(&server, RetryPolicy::default());
    let err = c
        .admin_users_session_invalidate(InvalidateRequest::for_user(5u64, "W1"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Http { status, body } if status.as_u16() == 502 && body == "bad gateway"),
        "{err:?}"
    );
    let err = c.admin_users_session_reset(ResetRequest::new("W1")).await;
    // The second call sees the mock's second answer (ok): each call made one attempt.
    assert!(err.is_ok());
    assert!(sleeper.waits().is_empty());
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test]
async fn retry_unsafe_opts_in() {
    let server = MockServer::start().await;
    then_ok(&server, ResponseTemplate::new(500), 1).await;
    let policy = RetryPolicy {
        retry_unsafe: true,
        ..RetryPolicy::default()
    };
    let (c, sleeper) = recording(&server, policy);
    c.admin_users_session_reset(ResetRequest::new("W1"))
        .await
        .unwrap();
    assert_eq!(sleeper.waits().len(), 1);
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test]
async fn server_errors_exhausting_attempts_return_http() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(504))
        .mount(&server)
        .await;
    let policy = RetryPolicy {
        max_attempts: 2,
        ..RetryPolicy::default()
    };
    let (c, sleeper) = recording(&server, policy);
    let err = c.auth_test().await.unwrap_err();
    assert!(matches!(err, Error::Http { status, .. } if status.as_u16() == 504));
    assert_eq!(sleeper.waits().len(), 1);
    assert_eq!(requests(&server).await, 2);
}

#[tokio::test]
async fn timeouts_are_retried_for_safe_methods_only() {
    let slow = || ok().set_delay(Duration::from_secs(3));
    let server = MockServer::start().await;
    Mock::given(path("/api/admin.users.session.list"))
        .respond_with(slow())
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(any()).respond_with(ok()).mount(&server).await;
    let sleeper = std::sync::Arc::new(crate::support::RecordingSleeper::default());
    let c = crate::support::builder(&server)
        .timeout(Duration::from_millis(200))
        .sleeper(sleeper.clone())
        .build()
        .unwrap();
    c.admin_users_session_list(ListRequest::org())
        .await
        .unwrap();
    assert_eq!(sleeper.waits(), vec![RetryPolicy::default().backoff_base]);

    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(slow())
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(any()).respond_with(ok()).mount(&server).await;
    let c = crate::support::builder(&server)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = c
        .admin_users_session_clear_settings(ClearSettingsRequest::new(["W1"]))
        .await;
    assert!(matches!(err, Err(Error::Timeout)), "{err:?}");
}
