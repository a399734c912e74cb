//! Slack's documented example responses (spec `examples.success`), decoded through the client
//! and snapshotted as the client hands them to callers.

use sessions_client::*;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::client;

async fn serving(method: &str, body: serde_json::Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path(format!("/api/{method}")))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-slack-req-id", "req-1")
                .set_body_json(body),
        )
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn list_example() {
    let server = serving(
        "admin.users.session.list",
        serde_json::json!({"ok": true,
        "active_sessions": [{"user_id": "U012S9M77JP", "team_id": "E011E2SBBFC",
            "session_id": 1112275520242_u64,
            "recent": {"device_hardware": "Intel", "os": "OS X", "os_version": "10.15.7",
                "slack_client_version": "91.0.4472.77", "ip": "24.6.145.138"},
            "created": {"device_hardware": "Intel", "os": "OS X", "os_version": "10.15.7",
                "slack_client_version": "91.0.4472.77", "ip": "24.6.145.138"}}]}),
    )
    .await;
    let page = client(&server)
        .admin_users_session_list(ListRequest::user("T12345", "U12345"))
        .await
        .unwrap();
    insta::assert_json_snapshot!(page);
}

#[tokio::test]
async fn get_settings_example() {
    let server = serving(
        "admin.users.session.getSettings",
        serde_json::json!({"ok": true,
        "session_settings": [{"user_id": "U1234", "desktop_app_browser_quit": true,
            "duration": 315569520}], "no_settings_applied": []}),
    )
    .await;
    let got = client(&server)
        .admin_users_session_get_settings(GetSettingsRequest::new(["U1234"]))
        .await
        .unwrap();
    insta::assert_json_snapshot!(got);
}

#[tokio::test]
async fn auth_test_bot_example_with_http_info() {
    let server = serving(
        "auth.test",
        serde_json::json!({"ok": true,
        "url": "https://subarachnoid.slack.com/", "team": "Subarachnoid Workspace", "user": "bot",
        "team_id": "T0G9PQBBK", "user_id": "W23456789", "bot_id": "BZYBOTHED"}),
    )
    .await;
    let info = client(&server).auth_test_with_http_info().await.unwrap();
    assert_eq!(info.headers["x-slack-req-id"], "req-1");
    insta::assert_json_snapshot!(serde_json::json!({
        "status": info.status.as_u16(),
        "envelope": info.envelope,
        "data": info.data,
    }));
}
