//! Two server nodes on one store: cursors and jobs cross nodes.

use sessions_client::ListRequest;
use sessions_server::ServerSettings;
use sessions_test_support::wait;

use crate::support::*;

#[tokio::test]
async fn a_cursor_from_one_node_is_accepted_by_another_and_jobs_move_between_nodes() {
    let a = start_with(
        ServerSettings {
            bulk_worker: false,
            node_id: Some("a".into()),
            ..options()
        },
        Some(FIXTURE),
    )
    .await;
    let b = a
        .second_node(ServerSettings {
            node_id: Some("b".into()),
            ..options()
        })
        .await;

    let first = a
        .client(ADMIN)
        .admin_users_session_list(ListRequest::org().limit(4))
        .await
        .unwrap();
    let cursor = first.next_cursor().unwrap().to_owned();
    let rest = b
        .client(ADMIN)
        .admin_users_session_list(ListRequest::org().limit(4).cursor(cursor))
        .await
        .unwrap();
    let ids: Vec<u64> = rest
        .active_sessions
        .iter()
        .map(|s| s.session_id.0)
        .collect();
    assert_eq!(ids, vec![105, 106, 107]);

    // recorded on A (no worker), finished by B's worker
    let job = a.reset_bulk("WDANA").await;
    let left = wait::until("B's worker to run A's job", || async {
        let left = session_ids(&a.store, "E1").await;
        (!left.contains(&101)).then_some(left)
    })
    .await;
    assert_eq!(left, vec![104, 105, 106, 107]);
    let r = b
        .control(reqwest::Method::GET, &format!("jobs/E1/{job}"), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["state"], "done");
    assert!(b.halt().await.is_none());
    a.stop().await;
}
