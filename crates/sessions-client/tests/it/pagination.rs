//! `list` as a lazy stream of pages and of sessions.

use futures::{StreamExt, TryStreamExt};
use sessions_client::*;
use wiremock::matchers::{any, body_string};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{client, page_json, recording, secs};

async fn page(server: &MockServer, body: &str, reply: serde_json::Value) {
    page_n(server, body, reply, 1).await
}

async fn page_n(server: &MockServer, body: &str, reply: serde_json::Value, n: u64) {
    Mock::given(body_string(body))
        .respond_with(ResponseTemplate::new(200).set_body_json(reply))
        .expect(n)
        .mount(server)
        .await;
}

#[tokio::test]
async fn follows_cursors_across_pages_lazily() {
    let server = MockServer::start().await;
    page(&server, "limit=2", page_json(0..2, "p2")).await;
    page(&server, "limit=2&cursor=p2", page_json(2..4, "p3")).await;
    page(&server, "limit=2&cursor=p3", page_json(4..5, "")).await;
    let c = client(&server);

    let stream = c.admin_users_session_list_pages(ListRequest::org().limit(2));
    tokio::task::yield_now().await;
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        0,
        "requested before polled"
    );
    let pages: Vec<ListResponse> = stream.try_collect().await.unwrap();
    assert_eq!(
        pages
            .iter()
            .map(|p| p.active_sessions.len())
            .collect::<Vec<_>>(),
        [2, 2, 1]
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn all_flattens_sessions_in_order() {
    let server = MockServer::start().await;
    Mock::given(body_string("limit=2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page_json(0..2, "p2")))
        .mount(&server)
        .await;
    Mock::given(body_string("limit=2&cursor=p2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page_json(2..3, "")))
        .mount(&server)
        .await;
    let c = client(&server);
    let all: Vec<ActiveSession> = c
        .admin_users_session_list_all(ListRequest::org().limit(2))
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<u64> = all.iter().map(|s| s.session_id.0).collect();
    assert_eq!(ids, [0, 1, 2]);
    assert_eq!(all[2].user_id, "W0002");

    // Taking only the first sessions stops after the first page.
    let server2 = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(page_json(0..2, "more")))
        .mount(&server2)
        .await;
    let first: Vec<_> = client(&server2)
        .admin_users_session_list_all(ListRequest::org())
        .take(2)
        .collect()
        .await;
    assert_eq!(first.len(), 2);
    assert_eq!(server2.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn error_mid_way_yields_pages_then_err_then_ends() {
    let server = MockServer::start().await;
    page_n(&server, "", page_json(0..2, "p2"), 2).await;
    let bad = serde_json::json!({"ok": false, "error": "invalid_cursor"});
    page_n(&server, "cursor=p2", bad, 2).await;
    let c = client(&server);
    let mut s = Box::pin(c.admin_users_session_list_pages(ListRequest::org()));
    assert_eq!(s.next().await.unwrap().unwrap().active_sessions.len(), 2);
    let err = s.next().await.unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            Error::Api {
                code: ErrorCode::InvalidCursor,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(s.next().await.is_none());
    assert!(s.next().await.is_none());

    // The session stream ends the same way.
    let items: Vec<_> = c
        .admin_users_session_list_all(ListRequest::org())
        .collect()
        .await;
    assert_eq!(items.len(), 3);
    assert!(items[..2].iter().all(Result::is_ok) && items[2].is_err());
}

#[tokio::test]
async fn repeated_cursor_stops() {
    let server = MockServer::start().await;
    page(&server, "", page_json(0..1, "A")).await;
    page(&server, "cursor=A", page_json(1..2, "B")).await;
    // B points back to A: a loop.
    page(&server, "cursor=B", page_json(2..3, "A")).await;
    let pages: Vec<_> = client(&server)
        .admin_users_session_list_pages(ListRequest::org())
        .collect()
        .await;
    assert_eq!(pages.len(), 3);
    assert!(pages.iter().all(Result::is_ok));

    // A cursor equal to the one we started from counts as seen.
    let server = MockServer::start().await;
    page(&server, "cursor=S", page_json(0..1, "S")).await;
    let pages: Vec<_> = client(&server)
        .admin_users_session_list_pages(ListRequest::org().cursor("S"))
        .collect()
        .await;
    assert_eq!(pages.len(), 1);
}

#[tokio::test]
async fn rate_limit_mid_way_is_waited_out() {
    let server = MockServer::start().await;
    page(&server, "", page_json(0..1, "p2")).await;
    Mock::given(body_string("cursor=p2"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    page(&server, "cursor=p2", page_json(1..2, "")).await;
    let (c, sleeper) = recording(&server, RetryPolicy::default());
    let all: Vec<ActiveSession> = c
        .admin_users_session_list_all(ListRequest::org())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(sleeper.waits(), vec![secs(3)]);
}
