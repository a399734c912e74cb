//! `list` as a lazy stream of pages and of sessions.

use futures::{StreamExt, TryStreamExt};
use sessions_client::*;
use sessions_test_support::wait;
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

/// The org scan's compact pages hold exactly what the ordinary decode gives.
fn owned(pages: &[SessionPage]) -> Vec<ActiveSession> {
    pages.iter().flat_map(|p| p.to_active_sessions()).collect()
}

#[tokio::test]
async fn scan_yields_the_same_sessions_as_list_all() {
    let server = MockServer::start().await;
    page_n(&server, "limit=2", page_json(0..2, "p2"), 3).await;
    page_n(&server, "limit=2&cursor=p2", page_json(2..4, "p3"), 3).await;
    page_n(&server, "limit=2&cursor=p3", page_json(4..5, ""), 3).await;
    let c = client(&server);
    let stream = c.admin_users_session_scan(ListRequest::org().limit(2));
    tokio::task::yield_now().await;
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        0,
        "requested before polled"
    );
    let pages: Vec<SessionPage> = stream.try_collect().await.unwrap();
    assert_eq!(
        pages.iter().map(SessionPage::len).collect::<Vec<_>>(),
        [2, 2, 1]
    );
    assert_eq!(pages[0].next_cursor(), Some("p2"));
    assert_eq!(pages[2].next_cursor(), None);
    let all: Vec<ActiveSession> = c
        .admin_users_session_list_all(ListRequest::org().limit(2))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(owned(&pages), all);
    let ahead: Vec<SessionPage> = c
        .admin_users_session_scan_ahead(ListRequest::org().limit(2))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(owned(&ahead), all);
    let s = pages[1].get(1).unwrap();
    assert_eq!((s.user_id, s.session_id.0), ("W0003", 3));
    assert_eq!(s.created.os, Some("iOS"));
    assert_eq!(s.recent.unwrap().ip, Some("10.0.0.2"));
    assert_eq!(s.recent.unwrap().os_version, None);
}

#[tokio::test]
async fn scan_ahead_requests_one_page_ahead_and_no_more_while_scan_waits_to_be_polled() {
    let server = MockServer::start().await;
    page_n(&server, "", page_json(0..1, "p2"), 2).await;
    page_n(&server, "cursor=p2", page_json(1..2, "p3"), 1).await;
    page_n(&server, "cursor=p3", page_json(2..3, "p4"), 0).await;
    let c = client(&server);
    let requests = || async { server.received_requests().await.unwrap().len() };

    // The lazy scan: one call per page polled, nothing ahead.
    let mut lazy = Box::pin(c.admin_users_session_scan(ListRequest::org()));
    assert_eq!(lazy.next().await.unwrap().unwrap().len(), 1);
    // The short sleeps here are kept on purpose: they check that a request is NOT made
    // without a poll, by a task the client does not expose, so there is no later event to wait
    // for; they give a wrongly made request time to reach the mock (whose `expect(0)` on page 3
    // checks the same once more when it drops). Shorter sleeps could only miss a bug, never fail
    // a correct client.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(requests().await, 1);
    drop(lazy);

    let mut s = Box::pin(c.admin_users_session_scan_ahead(ListRequest::org()));
    assert_eq!(s.next().await.unwrap().unwrap().len(), 1);
    // While the caller holds page 1, page 2 is fetched without being polled for.
    wait::until_true("the next page to be requested ahead", || async {
        requests().await >= 3
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(requests().await, 3, "only one page ahead");
    // Dropping the stream (page 2 arrived, page 3 not yet asked for) asks for nothing more;
    // the mock's `expect(0)` on page 3 is checked when the server drops.
    drop(s);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(requests().await, 3);
}

#[tokio::test]
async fn scan_errors_and_loops_end_it_as_they_end_list_pages() {
    let server = MockServer::start().await;
    page(&server, "", page_json(0..2, "p2")).await;
    let bad = serde_json::json!({"ok": false, "error": "invalid_cursor",
        "response_metadata": {"messages": ["[ERROR] bad cursor"]}});
    page(&server, "cursor=p2", bad).await;
    let c = client(&server);
    let mut s = Box::pin(c.admin_users_session_scan(ListRequest::org()));
    assert_eq!(s.next().await.unwrap().unwrap().len(), 2);
    match s.next().await.unwrap().unwrap_err() {
        Error::Api { code, messages, .. } => {
            assert_eq!(code, ErrorCode::InvalidCursor);
            assert_eq!(messages, ["[ERROR] bad cursor"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(s.next().await.is_none());

    // A cursor pointing back stops the scan.
    let server = MockServer::start().await;
    page(&server, "", page_json(0..1, "A")).await;
    page(&server, "cursor=A", page_json(1..2, "A")).await;
    let pages: Vec<_> = client(&server)
        .admin_users_session_scan(ListRequest::org())
        .collect()
        .await;
    assert_eq!(pages.len(), 2);

    // A body that is not JSON is the ordinary decode error, with its path.
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_string(
            r#"{"ok":true,"active_sessions":[{"user_id":"W1","team_id":"T1","session_id":-4}]}"#,
        ))
        .mount(&server)
        .await;
    match client(&server)
        .admin_users_session_list_page(ListRequest::org())
        .await
        .unwrap_err()
    {
        Error::Decode { path, .. } => assert_eq!(path, "active_sessions[0].session_id"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn scan_waits_out_rate_limits_and_checks_arguments_first() {
    let server = MockServer::start().await;
    page(&server, "", page_json(0..1, "p2")).await;
    Mock::given(body_string("cursor=p2"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    page(&server, "cursor=p2", page_json(1..2, "")).await;
    let (c, sleeper) = recording(&server, RetryPolicy::default());
    let pages: Vec<SessionPage> = c
        .admin_users_session_scan(ListRequest::org())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(owned(&pages).len(), 2);
    assert_eq!(sleeper.waits(), vec![secs(3)]);

    let server = MockServer::start().await;
    let err = client(&server)
        .admin_users_session_scan(ListRequest::org().limit(0))
        .collect::<Vec<_>>()
        .await;
    assert!(
        matches!(err[..], [Err(Error::InvalidArgument(_))]),
        "{err:?}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}
