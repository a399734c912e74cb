//! Two server nodes on one PostgreSQL database: the multi-node deployment.
//!
//! Needs PostgreSQL at `SESSIONS_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`; `scripts/ensure-postgres.sh` starts one).
//! Without it these tests fail, on purpose.

use sessions_client::{
    AuthRevokeRequest, GetSettingsRequest, InvalidateRequest, ListRequest, SetSettingsRequest,
};
use sessions_server::ServerSettings;
use sessions_store::Fixture;
use sessions_test_support::pg::TempDb;

use crate::support::*;

async fn node(db: &TempDb, opts: ServerSettings) -> Server {
    let store = sessions_server::store::open(&db.url).await.unwrap();
    launch_on(None, Default::default(), store, opts, None).await
}

#[tokio::test]
async fn two_nodes_share_sessions_cursors_settings_and_jobs() {
    let db = TempDb::fresh("srv_nodes").await;
    let a = node(
        &db,
        ServerSettings {
            bulk_worker: false,
            node_id: Some("a".into()),
            ..options()
        },
    )
    .await;
    a.store
        .load_fixture(
            &Fixture::from_json(FIXTURE).unwrap(),
            sessions_server::Clock::system().now(),
        )
        .await
        .unwrap();
    let b = node(
        &db,
        ServerSettings {
            node_id: Some("b".into()),
            ..options()
        },
    )
    .await;

    // a cursor from A continues on B
    let first = a
        .client(ADMIN)
        .admin_users_session_list(ListRequest::org().limit(4))
        .await
        .unwrap();
    let rest = b
        .client(ADMIN)
        .admin_users_session_list(
            ListRequest::org()
                .limit(4)
                .cursor(first.next_cursor().unwrap()),
        )
        .await
        .unwrap();
    let ids: Vec<u64> = rest
        .active_sessions
        .iter()
        .map(|s| s.session_id.0)
        .collect();
    assert_eq!(ids, vec![105, 106, 107]);

    // a write on B is seen by A at once; the session token dies on both
    b.client(ADMIN)
        .admin_users_session_invalidate(InvalidateRequest::for_user(101u64, "WDANA"))
        .await
        .unwrap();
    assert_eq!(
        code(a.client("xoxc-dana-desktop").auth_test().await.unwrap_err()),
        "invalid_auth"
    );
    assert_eq!(
        code(a.client(REVOKED).auth_test().await.unwrap_err()),
        "token_revoked"
    );
    // a token revoked through B (`auth.revoke`) is refused by A at once
    let out = b
        .client(MEMBER)
        .auth_revoke(AuthRevokeRequest::new())
        .await
        .unwrap();
    assert!(out.revoked);
    assert_eq!(
        code(a.client(MEMBER).auth_test().await.unwrap_err()),
        "token_revoked"
    );
    a.client(ADMIN)
        .admin_users_session_set_settings(SetSettingsRequest::new(["WDANA"]).duration(50_000))
        .await
        .unwrap();
    let got = b
        .client(ADMIN)
        .admin_users_session_get_settings(GetSettingsRequest::new(["WDANA"]))
        .await
        .unwrap();
    assert_eq!(got.session_settings[0].duration, Some(50_000));

    // a sign-in on A gets an id unique across nodes and works on B
    let (id, token) = a.sign_in("E1", "WSAM", "T1", "web").await;
    assert_eq!(b.client(&token).auth_test().await.unwrap().user_id, "WSAM");
    let (id2, _) = b.sign_in("E1", "WSAM", "T1", "ios").await;
    assert_ne!(id, id2);

    // resetBulk recorded on A (no worker there) is finished by B
    let job = a.reset_bulk("WSAM").await;
    b.job_done("E1", &job).await;
    assert_eq!(session_ids(&a.store, "E1").await, vec![102, 103, 106, 107]);

    assert!(a.halt().await.is_none());
    assert!(b.halt().await.is_none());
}
