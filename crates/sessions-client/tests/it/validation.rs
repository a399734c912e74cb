//! Every refused argument fails before any request is sent.

use sessions_client::*;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::client;

async fn no_request_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"ok": true})))
        .expect(0)
        .mount(&server)
        .await;
    server
}

fn arg(err: Error) -> ArgError {
    match err {
        Error::InvalidArgument(a) => a,
        other => panic!("expected InvalidArgument, got {other:?}"),
    }
}

#[tokio::test]
async fn list_arguments() {
    let server = no_request_server().await;
    let c = client(&server);
    let only_team = ListRequest {
        team_id: Some("T1".into()),
        ..ListRequest::org()
    };
    let e = arg(c.admin_users_session_list(only_team).await.unwrap_err());
    assert_eq!(e, ArgError::MissingUser);
    assert_eq!(e.code(), ErrorCode::MissingUser);
    let only_user = ListRequest {
        user_id: Some("W1".into()),
        ..ListRequest::org()
    };
    assert_eq!(
        arg(c.admin_users_session_list(only_user).await.unwrap_err()),
        ArgError::MissingTeam
    );
    for bad in [0, 1001] {
        let err = c
            .admin_users_session_list(ListRequest::org().limit(bad))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("limit"), "{err}");
        assert!(matches!(
            arg(err),
            ArgError::OutOfRange { name: "limit", .. }
        ));
    }
    // The stream validates too, and ends after the error.
    use futures::StreamExt;
    let items: Vec<_> = c
        .admin_users_session_list_pages(ListRequest::org().limit(0))
        .collect()
        .await;
    assert_eq!(items.len(), 1);
    assert!(matches!(items[0], Err(Error::InvalidArgument(_))));
}

#[tokio::test]
async fn invalidate_arguments() {
    let server = no_request_server().await;
    let c = client(&server);
    let err = c
        .admin_users_session_invalidate(InvalidateRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Required arguments :session_id missing");
    let no_owner = InvalidateRequest {
        session_id: Some(SessionId(1)),
        ..Default::default()
    };
    let err = c
        .admin_users_session_invalidate(no_owner)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("user_id") && msg.contains("team_id"), "{msg}");
    let blank_user = InvalidateRequest::for_user(1u64, "  ");
    assert!(c
        .admin_users_session_invalidate(blank_user)
        .await
        .unwrap_err()
        .is_invalid_argument());
}

#[tokio::test]
async fn reset_arguments() {
    let server = no_request_server().await;
    let c = client(&server);
    let err = c
        .admin_users_session_reset(ResetRequest::new(""))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Required arguments :user_id missing");
    let both = ResetRequest {
        mobile_only: Some(true),
        web_only: Some(true),
        ..ResetRequest::new("W1")
    };
    let err = c.admin_users_session_reset(both).await.unwrap_err();
    assert!(err.to_string().contains("mobile_only"), "{err}");
}

#[tokio::test]
async fn user_ids_arguments_for_every_list_method() {
    let server = no_request_server().await;
    let c = client(&server);
    let none: Vec<String> = vec![];
    let too_many: Vec<String> = (0..1001).map(|i| format!("W{i}")).collect();
    let blank = vec!["W1".to_owned(), String::new()];

    let e = c
        .admin_users_session_reset_bulk(ResetBulkRequest::new(none.clone()))
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "Required arguments :user_ids missing");
    let e = c
        .admin_users_session_reset_bulk(ResetBulkRequest::new(too_many.clone()))
        .await
        .unwrap_err();
    assert!(matches!(
        arg(e),
        ArgError::BadLength {
            name: "user_ids",
            got: 1001,
            ..
        }
    ));
    let e = c
        .admin_users_session_reset_bulk(ResetBulkRequest::new(blank.clone()))
        .await
        .unwrap_err();
    assert!(matches!(
        arg(e),
        ArgError::BadListEntry {
            name: "user_ids",
            index: 1
        }
    ));

    let e = c
        .admin_users_session_get_settings(GetSettingsRequest::new(none.clone()))
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "Required arguments :user_ids missing");
    let e = c
        .admin_users_session_get_settings(GetSettingsRequest::new(too_many.clone()))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("user_ids"));
    let e = c
        .admin_users_session_clear_settings(ClearSettingsRequest::new(blank.clone()))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("user_ids[1]"), "{e}");
    let e = c
        .admin_users_session_clear_settings(ClearSettingsRequest::new(none))
        .await
        .unwrap_err();
    assert!(e.is_invalid_argument());
    let e = c
        .admin_users_session_set_settings(SetSettingsRequest::new(too_many).duration(28800))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("user_ids"));
}

#[tokio::test]
async fn set_settings_needs_a_setting_within_bounds() {
    let server = no_request_server().await;
    let c = client(&server);
    let e = c
        .admin_users_session_set_settings(SetSettingsRequest::new(["W1"]))
        .await
        .unwrap_err();
    assert_eq!(arg(e), ArgError::AtLeastOneSetting);
    for d in [DURATION_MIN - 1, DURATION_MAX + 1, 0] {
        let e = c
            .admin_users_session_set_settings(SetSettingsRequest::new(["W1"]).duration(d))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("duration"), "{e}");
    }
}
