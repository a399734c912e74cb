//! Another org's ids look exactly like ids that do not exist, on every method.

use sessions_client::{
    ClearSettingsRequest, GetSettingsRequest, InvalidateRequest, ListRequest, ResetBulkRequest,
    ResetRequest, SetSettingsRequest,
};

use crate::support::*;

#[tokio::test]
async fn every_method_is_scoped_to_the_callers_org() {
    let s = start().await;
    let acme = s.client(ADMIN);
    let globex = s.client(OTHER_ADMIN);

    let page = acme
        .admin_users_session_list(ListRequest::org())
        .await
        .unwrap();
    assert!(page.active_sessions.iter().all(|a| a.session_id.0 != 901));
    let page = globex
        .admin_users_session_list(ListRequest::org())
        .await
        .unwrap();
    let ids: Vec<u64> = page
        .active_sessions
        .iter()
        .map(|a| a.session_id.0)
        .collect();
    assert_eq!(ids, vec![901]);

    assert_eq!(
        code(
            acme.admin_users_session_list(ListRequest::user("T9", "W9MEM"))
                .await
                .unwrap_err()
        ),
        "team_not_found"
    );
    assert_eq!(
        code(
            acme.admin_users_session_list(ListRequest::user("T1", "W9MEM"))
                .await
                .unwrap_err()
        ),
        "user_not_found"
    );
    assert_eq!(
        code(
            acme.admin_users_session_invalidate(InvalidateRequest::for_team(901u64, "T9"))
                .await
                .unwrap_err()
        ),
        "session_not_found"
    );
    assert_eq!(
        code(
            acme.admin_users_session_invalidate(InvalidateRequest::for_user(901u64, "W9MEM"))
                .await
                .unwrap_err()
        ),
        "user_not_found"
    );
    assert_eq!(
        code(
            globex
                .admin_users_session_invalidate(InvalidateRequest::for_team(101u64, "T1"))
                .await
                .unwrap_err()
        ),
        "session_not_found"
    );
    assert_eq!(
        code(
            acme.admin_users_session_reset(ResetRequest::new("W9MEM"))
                .await
                .unwrap_err()
        ),
        "user_not_found"
    );
    assert_eq!(
        code(
            acme.admin_users_session_reset_bulk(ResetBulkRequest::new(["W9MEM"]))
                .await
                .unwrap_err()
        ),
        "user_not_found"
    );
    assert_eq!(
        code(
            acme.admin_users_session_get_settings(GetSettingsRequest::new(["W9MEM"]))
                .await
                .unwrap_err()
        ),
        "user_not_found"
    );
    assert_eq!(
        code(
            acme.admin_users_session_set_settings(
                SetSettingsRequest::new(["W9MEM"]).duration(30_000)
            )
            .await
            .unwrap_err()
        ),
        "user_not_found"
    );
    assert_eq!(
        code(
            acme.admin_users_session_clear_settings(ClearSettingsRequest::new(["W9MEM"]))
                .await
                .unwrap_err()
        ),
        "user_not_found"
    );
    // Globex is untouched
    assert_eq!(session_ids(&s.store, "E2").await, vec![901]);
    let got = globex
        .admin_users_session_get_settings(GetSettingsRequest::new(["W9MEM"]))
        .await
        .unwrap();
    assert_eq!(got.session_settings[0].duration, Some(28_800));
    assert_eq!(
        s.client("xoxc-homer-web")
            .auth_test()
            .await
            .unwrap()
            .enterprise_id
            .as_deref(),
        Some("E2")
    );
    // and Acme's settings stay Acme's
    let got = globex
        .admin_users_session_get_settings(GetSettingsRequest::new(["WSAM"]))
        .await;
    assert_eq!(code(got.unwrap_err()), "user_not_found");
}
