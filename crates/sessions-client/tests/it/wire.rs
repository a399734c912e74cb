//! Exact request bytes and headers for every method.

use sessions_client::*;
use wiremock::matchers::{body_string, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{client, TOKEN};

/// Expects exactly one `POST /api/<name>` with Slack's headers and exactly `body`.
pub async fn expect_exact(server: &MockServer, name: &str, body: &str, reply: serde_json::Value) {
    Mock::given(method("POST"))
        .and(path(format!("/api/{name}")))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("accept", "application/json"))
        .and(body_string(body))
        .respond_with(ResponseTemplate::new(200).set_body_json(reply))
        .expect(1)
        .mount(server)
        .await;
}

/// The token travels only in the Authorization header.
async fn token_only_in_header(server: &MockServer) {
    for r in server.received_requests().await.unwrap() {
        assert!(!r.url.as_str().contains(TOKEN), "token in URL {}", r.url);
        assert!(
            !String::from_utf8_lossy(&r.body).contains(TOKEN),
            "token in body"
        );
        assert!(r.url.query().is_none(), "query string sent: {}", r.url);
    }
}

#[tokio::test]
async fn list_sends_exact_form() {
    let server = MockServer::start().await;
    let reply = serde_json::json!({"ok": true, "active_sessions": [
        {"user_id": "W1", "team_id": "T1", "session_id": "77", "created": {"os": "Mac"}, "new": 1}
    ], "response_metadata": {"next_cursor": ""}});
    expect_exact(
        &server,
        "admin.users.session.list",
        "team_id=T1&user_id=W1&limit=2&cursor=c%3D%3D",
        reply,
    )
    .await;
    let page = client(&server)
        .admin_users_session_list(ListRequest::user("T1", "W1").limit(2).cursor("c=="))
        .await
        .unwrap();
    assert_eq!(page.active_sessions.len(), 1);
    assert_eq!(page.active_sessions[0].session_id, SessionId(77));
    assert_eq!(page.active_sessions[0].created.os.as_deref(), Some("Mac"));
    assert_eq!(page.next_cursor(), None);
    token_only_in_header(&server).await;
}

#[tokio::test]
async fn list_org_sends_empty_body() {
    let server = MockServer::start().await;
    expect_exact(
        &server,
        "admin.users.session.list",
        "",
        serde_json::json!({"ok": true}),
    )
    .await;
    let page = client(&server)
        .admin_users_session_list(ListRequest::org())
        .await
        .unwrap();
    assert!(page.active_sessions.is_empty());
}

#[tokio::test]
async fn invalidate_sends_session_and_user() {
    let server = MockServer::start().await;
    expect_exact(
        &server,
        "admin.users.session.invalidate",
        "session_id=12345&user_id=W1",
        serde_json::json!({"ok": true}),
    )
    .await;
    let c = client(&server);
    assert_eq!(
        c.admin_users_session_invalidate(InvalidateRequest::for_user(12345u64, "W1"))
            .await
            .unwrap(),
        Empty {}
    );
    token_only_in_header(&server).await;
}

#[tokio::test]
async fn invalidate_seed_form_sends_team() {
    let server = MockServer::start().await;
    expect_exact(
        &server,
        "admin.users.session.invalidate",
        "session_id=9&team_id=T1",
        serde_json::json!({"ok": true}),
    )
    .await;
    client(&server)
        .admin_users_session_invalidate(InvalidateRequest::for_team(9u64, "T1"))
        .await
        .unwrap();
}

#[tokio::test]
async fn reset_sends_flags_as_true_false() {
    let server = MockServer::start().await;
    expect_exact(
        &server,
        "admin.users.session.reset",
        "user_id=W1&mobile_only=true&web_only=false",
        serde_json::json!({"ok": true}),
    )
    .await;
    let req = ResetRequest {
        mobile_only: Some(true),
        web_only: Some(false),
        ..ResetRequest::new("W1")
    };
    client(&server)
        .admin_users_session_reset(req)
        .await
        .unwrap();
}

#[tokio::test]
async fn reset_bulk_joins_user_ids_with_commas() {
    let server = MockServer::start().await;
    expect_exact(
        &server,
        "admin.users.session.resetBulk",
        "user_ids=W1%2CW2%2CW3&web_only=true",
        serde_json::json!({"ok": true}),
    )
    .await;
    let req = ResetBulkRequest {
        web_only: Some(true),
        ..ResetBulkRequest::new(["W1", "W2", "W3"])
    };
    client(&server)
        .admin_users_session_reset_bulk(req)
        .await
        .unwrap();
    token_only_in_header(&server).await;
}

#[tokio::test]
async fn get_settings_round_trip() {
    let server = MockServer::start().await;
    let reply = serde_json::json!({"ok": true,
        "session_settings": [{"user_id": "W1", "desktop_app_browser_quit": true, "duration": 28800}],
        "no_settings_applied": ["W2"]});
    expect_exact(
        &server,
        "admin.users.session.getSettings",
        "user_ids=W1%2CW2",
        reply,
    )
    .await;
    let got = client(&server)
        .admin_users_session_get_settings(GetSettingsRequest::new(["W1", "W2"]))
        .await
        .unwrap();
    assert_eq!(got.session_settings[0].duration, Some(28800));
    assert_eq!(got.session_settings[0].desktop_app_browser_quit, Some(true));
    assert_eq!(got.no_settings_applied, vec!["W2"]);
}

#[tokio::test]
async fn set_settings_sends_duration_and_quit() {
    let server = MockServer::start().await;
    expect_exact(
        &server,
        "admin.users.session.setSettings",
        "user_ids=W1&duration=28800&desktop_app_browser_quit=false",
        serde_json::json!({"ok": true}),
    )
    .await;
    let req = SetSettingsRequest::new(["W1"])
        .duration(28800)
        .desktop_app_browser_quit(false);
    client(&server)
        .admin_users_session_set_settings(req)
        .await
        .unwrap();
}

#[tokio::test]
async fn clear_settings_sends_user_ids() {
    let server = MockServer::start().await;
    expect_exact(
        &server,
        "admin.users.session.clearSettings",
        "user_ids=W1%2CW2",
        serde_json::json!({"ok": true}),
    )
    .await;
    client(&server)
        .admin_users_session_clear_settings(ClearSettingsRequest::new(["W1", "W2"]))
        .await
        .unwrap();
}

#[tokio::test]
async fn auth_test_sends_empty_form() {
    let server = MockServer::start().await;
    let reply = serde_json::json!({"ok": true, "url": "https://acme.slack.com/", "team": "Acme",
        "user": "admin", "team_id": "T1", "user_id": "W1", "enterprise_id": "E1", "is_enterprise_install": false});
    expect_exact(&server, "auth.test", "", reply).await;
    let who = client(&server).auth_test().await.unwrap();
    assert_eq!((who.user_id.as_str(), who.team_id.as_str()), ("W1", "T1"));
    assert_eq!(who.enterprise_id.as_deref(), Some("E1"));
}

#[tokio::test]
async fn base_url_with_trailing_slash_and_user_agent() {
    let server = MockServer::start().await;
    Mock::given(path("/api/auth.test"))
        .and(header("user-agent", "ua-test/1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"ok": true})))
        .expect(1)
        .mount(&server)
        .await;
    let c = Client::builder(TOKEN)
        .base_url(format!("{}/api/", server.uri()))
        .user_agent("ua-test/1")
        .build()
        .unwrap();
    c.auth_test().await.unwrap();
}

#[tokio::test]
async fn with_token_overrides_header_and_shares_config() {
    let server = MockServer::start().await;
    Mock::given(path("/api/auth.test"))
        .and(header("authorization", "Bearer xoxp-other"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"ok": true, "user_id": "W2"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let base = client(&server);
    let other = base.with_token("xoxp-other");
    assert_eq!(other.base_url(), base.base_url());
    assert_eq!(other.auth_test().await.unwrap().user_id, "W2");
    // An unusable override fails before sending.
    let err = base.with_token("").auth_test().await.unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
}

#[tokio::test]
async fn with_http_info_returns_status_headers_envelope() {
    let server = MockServer::start().await;
    Mock::given(path("/api/admin.users.session.getSettings"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-slack-req-id", "req-42")
                .insert_header("x-oauth-scopes", "admin.users:read")
                .set_body_json(
                    serde_json::json!({"ok": true, "warning": "superfluous_charset",
                    "session_settings": [], "no_settings_applied": ["W1"]}),
                ),
        )
        .mount(&server)
        .await;
    let c = client(&server);
    let info = c
        .admin_users_session_get_settings_with_http_info(GetSettingsRequest::new(["W1"]))
        .await
        .unwrap();
    assert_eq!(info.status, http::StatusCode::OK);
    assert_eq!(info.headers["x-slack-req-id"], "req-42");
    assert_eq!(info.headers["x-oauth-scopes"], "admin.users:read");
    assert!(info.envelope.ok);
    assert_eq!(info.envelope.warnings(), vec!["superfluous_charset"]);
    assert_eq!(info.data.no_settings_applied, vec!["W1"]);

    let generic = c
        .call_with_http_info::<SessionGetSettings>(&GetSettingsRequest::new(["W1"]))
        .await
        .unwrap();
    assert_eq!(generic.headers["x-slack-req-id"], "req-42");
}

#[tokio::test]
async fn from_env_reads_token_and_url() {
    let server = MockServer::start().await;
    Mock::given(path("/api/auth.test"))
        .and(header("authorization", "Bearer xoxp-from-env"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"ok": true, "user_id": "WENV"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    // The only test touching these variables.
    std::env::remove_var("SLACK_TOKEN");
    std::env::set_var("SLACK_API_URL", format!("{}/api", server.uri()));
    assert!(matches!(Client::from_env(), Err(Error::Config(m)) if m.contains("SLACK_TOKEN")));
    std::env::set_var("SLACK_TOKEN", "xoxp-from-env");
    let c = Client::from_env().unwrap();
    std::env::remove_var("SLACK_API_URL");
    assert_eq!(Client::from_env().unwrap().base_url(), DEFAULT_BASE_URL);
    std::env::remove_var("SLACK_TOKEN");
    assert_eq!(c.auth_test().await.unwrap().user_id, "WENV");
}

#[tokio::test]
async fn auth_revoke_sends_nothing_but_the_token_and_test_only_when_asked() {
    let server = MockServer::start().await;
    expect_exact(
        &server,
        "auth.revoke",
        "",
        serde_json::json!({"ok": true, "revoked": true}),
    )
    .await;
    let out = client(&server)
        .auth_revoke(AuthRevokeRequest::new())
        .await
        .unwrap();
    assert!(out.revoked);
    token_only_in_header(&server).await;

    let server = MockServer::start().await;
    expect_exact(
        &server,
        "auth.revoke",
        "test=true",
        serde_json::json!({"ok": true, "revoked": false}),
    )
    .await;
    let out = client(&server)
        .auth_revoke(AuthRevokeRequest::test())
        .await
        .unwrap();
    assert!(!out.revoked);
}
