//! The exact JSON of representative answers.

use insta::assert_json_snapshot;

use crate::support::*;

#[tokio::test]
async fn response_shapes() {
    let s = start().await;
    let r = s
        .post_form("admin.users.session.list", Some(ADMIN), &[("limit", "2")])
        .await;
    assert_json_snapshot!("list_page", r.body, {".response_metadata.next_cursor" => "[cursor]"});
    let r = s
        .post_form(
            "admin.users.session.list",
            Some(ADMIN),
            &[("team_id", "T1"), ("user_id", "WDANA")],
        )
        .await;
    assert_json_snapshot!("list_user_last_page", r.body);
    let r = s
        .post_form(
            "admin.users.session.getSettings",
            Some(ADMIN),
            &[("user_ids", "WSAM,WDANA")],
        )
        .await;
    assert_json_snapshot!("get_settings", r.body);
    let r = s.post_form("auth.test", Some(ADMIN), &[]).await;
    assert_json_snapshot!("auth_test", r.body);
    let r = s
        .post_form(
            "admin.users.session.reset",
            Some(ADMIN),
            &[("user_id", "WDANA")],
        )
        .await;
    assert_json_snapshot!("ok_empty", r.body);
}

#[tokio::test]
async fn error_shapes() {
    let s = start().await;
    let r = s
        .post_form(
            "admin.users.session.reset",
            Some(READ_ONLY),
            &[("user_id", "WDANA")],
        )
        .await;
    assert_json_snapshot!("missing_scope", r.body);
    let r = s
        .post_form(
            "admin.users.session.invalidate",
            Some(ADMIN),
            &[("user_id", "WDANA")],
        )
        .await;
    assert_json_snapshot!("invalid_arguments_missing", r.body);
    let r = s
        .post_form(
            "admin.users.session.setSettings",
            Some(ADMIN),
            &[("user_ids", "WDANA"), ("duration", "5")],
        )
        .await;
    assert_json_snapshot!("invalid_arguments_range", r.body);
    let r = s
        .post_form(
            "admin.users.session.setSettings",
            Some(ADMIN),
            &[("user_ids", "WDANA")],
        )
        .await;
    assert_json_snapshot!("at_least_one_setting", r.body);
    let r = s
        .post_form(
            "admin.users.session.resetBulk",
            Some(ADMIN),
            &[("user_ids", "W404,WBOT")],
        )
        .await;
    assert_json_snapshot!("reset_bulk_offenders", r.body);
    let r = s.post_form("admin.users.session.list", None, &[]).await;
    assert_json_snapshot!("not_authed", r.body);
    let r = s
        .post_form(
            "admin.users.session.list",
            Some(ADMIN),
            &[("cursor", "forged")],
        )
        .await;
    assert_json_snapshot!("invalid_cursor", r.body);
    let r = s
        .post_form("admin.users.session.nope", Some(ADMIN), &[])
        .await;
    assert_json_snapshot!("unknown_method", r.body);
    let r = s
        .post_raw(
            "auth.test",
            Some(ADMIN),
            Some("application/json"),
            b"{".to_vec(),
        )
        .await;
    assert_json_snapshot!("invalid_json", r.body, {".response_metadata.messages[0]" => "[serde message]"});
}
