//! `users.lookupByEmail`, `users.info` and `users.list`: exact bytes, errors, retries, paging.

use futures::{StreamExt, TryStreamExt};
use sessions_client::*;
use wiremock::matchers::{any, body_string, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{client, recording, secs, TOKEN};

fn user_json(id: &str, email: Option<&str>) -> serde_json::Value {
    let mut profile = serde_json::json!({"real_name": "Dana Scully", "display_name": "dana"});
    if let Some(e) = email {
        profile["email"] = e.into();
    }
    serde_json::json!({
        "id": id, "team_id": "T0ENG", "name": "dana", "real_name": "Dana Scully",
        "deleted": false, "is_admin": false, "is_owner": false, "is_primary_owner": false,
        "is_restricted": false, "is_ultra_restricted": false, "is_bot": false,
        "is_app_user": false, "color": "9f69e7", "profile": profile,
        "enterprise_user": {"id": id, "enterprise_id": "E0ACME", "enterprise_name": "Acme",
                            "is_admin": false, "is_owner": false, "teams": ["T0ENG", "T0OPS"]}
    })
}

async fn expect_exact(server: &MockServer, name: &str, body: &str, reply: serde_json::Value) {
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

#[tokio::test]
async fn lookup_by_email_sends_exact_form() {
    let server = MockServer::start().await;
    expect_exact(
        &server,
        "users.lookupByEmail",
        "email=dana%2Bwork%40acme.example",
        serde_json::json!({"ok": true, "user": user_json("W0DEV", Some("dana+work@acme.example"))}),
    )
    .await;
    let user = client(&server)
        .users_lookup_by_email("dana+work@acme.example")
        .await
        .unwrap();
    assert_eq!(user.id, "W0DEV");
    assert_eq!(user.email(), Some("dana+work@acme.example"));
    assert_eq!(user.real_name, "Dana Scully");
    let grid = user.enterprise_user.unwrap();
    assert_eq!(grid.enterprise_id, "E0ACME");
    assert_eq!(grid.teams, ["T0ENG", "T0OPS"]);
}

#[tokio::test]
async fn info_sends_exact_form_and_tolerates_hidden_email() {
    let server = MockServer::start().await;
    expect_exact(
        &server,
        "users.info",
        "user=W0DEV",
        serde_json::json!({"ok": true, "user": user_json("W0DEV", None)}),
    )
    .await;
    let user = client(&server).users_info("W0DEV").await.unwrap();
    assert_eq!(user.email(), None);
    assert_eq!(user.profile.real_name, "Dana Scully");
}

#[tokio::test]
async fn the_generic_call_reaches_the_same_methods() {
    let server = MockServer::start().await;
    expect_exact(
        &server,
        "users.list",
        "team_id=T0ENG&limit=2&cursor=c%3D%3D",
        serde_json::json!({"ok": true, "members": [user_json("W1", None)], "cache_ts": 1700000000,
                           "response_metadata": {"next_cursor": ""}}),
    )
    .await;
    let page = client(&server)
        .call::<UsersList>(&UsersListRequest::new().team("T0ENG").limit(2).cursor("c=="))
        .await
        .unwrap();
    assert_eq!(page.members.len(), 1);
    assert_eq!(page.cache_ts, Some(1_700_000_000));
    assert_eq!(page.next_cursor(), None);
}

#[tokio::test]
async fn bad_arguments_send_nothing() {
    let server = MockServer::start().await;
    let c = client(&server);
    let e = c.users_lookup_by_email(" ").await.unwrap_err();
    assert!(matches!(
        e,
        Error::InvalidArgument(ArgError::Missing { name: "email" })
    ));
    assert_eq!(e.to_string(), "Required arguments :email missing");
    let e = c.users_info("").await.unwrap_err();
    assert!(matches!(
        e,
        Error::InvalidArgument(ArgError::Missing { name: "user" })
    ));
    let e = c
        .users_list(UsersListRequest::new().team("T0 ENG"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("team_id"), "{e}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn not_found_and_missing_scope_are_api_errors() {
    let server = MockServer::start().await;
    Mock::given(path("/api/users.lookupByEmail"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"ok": false, "error": "users_not_found"})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/api/users.info"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!(
            {"ok": false, "error": "missing_scope", "needed": "users:read", "provided": "admin.users:read"}
        )))
        .mount(&server)
        .await;
    let c = client(&server);
    let e = c
        .users_lookup_by_email("nobody@x.example")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::UsersNotFound));
    let e = c.users_info("W1").await.unwrap_err();
    match e {
        Error::Api {
            code,
            needed,
            provided,
            ..
        } => {
            assert_eq!(code, ErrorCode::MissingScope);
            assert_eq!(needed.as_deref(), Some("users:read"));
            assert_eq!(provided.as_deref(), Some("admin.users:read"));
        }
        other => panic!("{other:?}"),
    }
    // Answers are not retried.
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn reads_are_retried_after_429_and_5xx() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "7")
                .set_body_json(serde_json::json!({"ok": false, "error": "ratelimited"})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"ok": true, "user": user_json("W1", None)})),
        )
        .mount(&server)
        .await;
    let (c, sleeper) = recording(&server, RetryPolicy::default());
    let user = c.users_lookup_by_email("a@b.example").await.unwrap();
    assert_eq!(user.id, "W1");
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    assert_eq!(sleeper.waits()[0], secs(7));
    assert_eq!(sleeper.waits().len(), 2);
}

fn members_page(ids: std::ops::Range<u32>, next: &str) -> serde_json::Value {
    let members: Vec<_> = ids.map(|i| user_json(&format!("W{i:03}"), None)).collect();
    serde_json::json!({"ok": true, "members": members, "cache_ts": 1,
                       "response_metadata": {"next_cursor": next}})
}

#[tokio::test]
async fn list_all_is_a_lazy_stream_across_pages() {
    let server = MockServer::start().await;
    // The last page is asked for twice: once by the full walk, once by the walk from `p3`.
    for (body, reply, times) in [
        ("limit=2", members_page(0..2, "p2"), 1),
        ("limit=2&cursor=p2", members_page(2..4, "p3"), 1),
        ("limit=2&cursor=p3", members_page(4..5, ""), 2),
    ] {
        Mock::given(body_string(body))
            .respond_with(ResponseTemplate::new(200).set_body_json(reply))
            .expect(times)
            .mount(&server)
            .await;
    }
    let c = client(&server);
    let stream = c.users_list_all(UsersListRequest::new().limit(2));
    tokio::task::yield_now().await;
    assert!(server.received_requests().await.unwrap().is_empty());
    let ids: Vec<String> = stream.map_ok(|u| u.id).try_collect().await.unwrap();
    assert_eq!(ids, ["W000", "W001", "W002", "W003", "W004"]);

    let pages: Vec<UsersListResponse> = c
        .users_list_pages(UsersListRequest::new().limit(2).cursor("p3"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 1);
}

#[tokio::test]
async fn list_stream_ends_after_an_error() {
    let server = MockServer::start().await;
    Mock::given(body_string("limit=2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(members_page(0..2, "p2")))
        .mount(&server)
        .await;
    Mock::given(body_string("limit=2&cursor=p2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"ok": false, "error": "invalid_cursor"})),
        )
        .mount(&server)
        .await;
    let items: Vec<Result<User, Error>> = client(&server)
        .users_list_all(UsersListRequest::new().limit(2))
        .collect()
        .await;
    assert_eq!(items.len(), 3);
    assert!(items[0].is_ok() && items[1].is_ok());
    assert_eq!(
        items[2].as_ref().unwrap_err().code(),
        Some(ErrorCode::InvalidCursor)
    );
}
