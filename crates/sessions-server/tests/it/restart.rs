//! State survives a restart; a recorded resetBulk finishes after one.

use std::time::Duration;

use sessions_client::{
    GetSettingsRequest, InvalidateRequest, ResetBulkRequest, SetSettingsRequest,
};
use sessions_server::ServerSettings;

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
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        s.store.pending_bulk_jobs().await.unwrap(),
        1,
        "recorded, not run"
    );
    assert!(session_ids(&s.store, "E1").await.contains(&101));
    let dir = s.stop().await;

    let s = reopen(dir, options()).await;
    let mut left = Vec::new();
    for _ in 0..100 {
        left = session_ids(&s.store, "E1").await;
        if s.store.pending_bulk_jobs().await.unwrap() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(s.store.pending_bulk_jobs().await.unwrap(), 0);
    let left = if left.contains(&101) {
        session_ids(&s.store, "E1").await
    } else {
        left
    };
    assert_eq!(left, vec![106, 107]);
}
