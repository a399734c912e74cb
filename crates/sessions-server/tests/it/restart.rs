//! State survives a restart; a recorded resetBulk finishes after one.

use sessions_client::{
    GetSettingsRequest, InvalidateRequest, ResetBulkRequest, SetSettingsRequest,
};
use sessions_server::ServerSettings;
use sessions_test_support::wait;

use crate::support::*;

#[tokio::test]
async fn writes_survive_a_restart() {
    let s = start().await;
    let c = s.client(ADMIN);
    c.admin_users_session_invalidate(InvalidateRequest::for_user(101u64, "WDANA"))
        .await
        .unwrap();
    c.admin_users_session_set_settings(SetSettingsRequest::new(["WDANA"]).duration(40_000))
        .await
        .unwrap();
    let (id, token) = s.sign_in("E1", "WSAM", "T2", "desktop").await;
    let dir = s.stop().await;

    let s = reopen(dir, options()).await;
    let ids = session_ids(&s.store, "E1").await;
    assert!(!ids.contains(&101));
    assert!(ids.contains(&id));
    assert_eq!(s.client(&token).auth_test().await.unwrap().user_id, "WSAM");
    assert_eq!(
        code(s.client("xoxc-dana-desktop").auth_test().await.unwrap_err()),
        "invalid_auth"
    );
    let got = s
        .client(ADMIN)
        .admin_users_session_get_settings(GetSettingsRequest::new(["WDANA"]))
        .await
        .unwrap();
    assert_eq!(got.session_settings[0].duration, Some(40_000));
}

#[tokio::test]
async fn a_recorded_reset_bulk_is_finished_after_restart() {
    let held = ServerSettings {
        bulk_worker: false,
        ..options()
    };
    let s = start_with(held, Some(FIXTURE)).await;
    s.client(ADMIN)
        .admin_users_session_reset_bulk(ResetBulkRequest::new(["WDANA", "WSAM"]))
        .await
        .unwrap();
    // Nothing to wait for: this node runs no worker, so the job stays recorded.
    assert_eq!(
        s.store.pending_bulk_jobs().await.unwrap(),
        1,
        "recorded, not run"
    );
    assert!(session_ids(&s.store, "E1").await.contains(&101));
    let dir = s.stop().await;

    let s = reopen(dir, options()).await;
    wait::until_true("the recorded job to finish after restart", || async {
        s.store.pending_bulk_jobs().await.unwrap() == 0
    })
    .await;
    assert_eq!(session_ids(&s.store, "E1").await, vec![106, 107]);
}
