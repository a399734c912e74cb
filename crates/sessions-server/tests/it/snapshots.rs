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

/// snapshot name, method, token, form.
type ErrCase<'a> = (&'a str, &'a str, Option<&'a str>, &'a [(&'a str, &'a str)]);

#[tokio::test]
async fn every_error_shape() {
    let s = start().await;
    let cases: &[ErrCase<'_>] = &[
        ("err_invalid_auth", "auth.test", Some("xoxp-nope"), &[]),
        ("err_token_revoked", "auth.test", Some(REVOKED), &[]),
        (
            "err_not_allowed_token_type_session",
            "admin.users.session.list",
            Some("xoxc-dana-web"),
            &[],
        ),
        (
            "err_not_allowed_token_type_bot",
            "admin.users.session.list",
            Some(BOT),
            &[],
        ),
        (
            "err_not_an_admin",
            "admin.users.session.list",
            Some(MEMBER),
            &[],
        ),
        (
            "err_missing_team",
            "admin.users.session.list",
            Some(ADMIN),
            &[("user_id", "WDANA")],
        ),
        (
            "err_missing_user",
            "admin.users.session.list",
            Some(ADMIN),
            &[("team_id", "T1")],
        ),
        (
            "err_team_not_found",
            "admin.users.session.list",
            Some(ADMIN),
            &[("team_id", "T404"), ("user_id", "WDANA")],
        ),
        (
            "err_user_not_found",
            "admin.users.session.reset",
            Some(ADMIN),
            &[("user_id", "W404")],
        ),
        (
            "err_session_not_found",
            "admin.users.session.invalidate",
            Some(ADMIN),
            &[("session_id", "901"), ("team_id", "T9")],
        ),
        (
            "err_cannot_invalidate_primary_owner",
            "admin.users.session.invalidate",
            Some(ADMIN),
            &[("session_id", "106"), ("user_id", "WOWNER")],
        ),
        (
            "err_cannot_reset_bot",
            "admin.users.session.reset",
            Some(ADMIN),
            &[("user_id", "WBOT")],
        ),
        (
            "err_cannot_reset_primary_owner",
            "admin.users.session.reset",
            Some(ADMIN),
            &[("user_id", "WOWNER")],
        ),
        (
            "err_bots_not_allowed",
            "admin.users.session.clearSettings",
            Some(ADMIN),
            &[("user_ids", "WBOT")],
        ),
        (
            "err_get_settings_unknown_users",
            "admin.users.session.getSettings",
            Some(ADMIN),
            &[("user_ids", "W404,WSAM,W405")],
        ),
        (
            "err_limit_range",
            "admin.users.session.list",
            Some(ADMIN),
            &[("limit", "0")],
        ),
        (
            "err_reset_both_flags",
            "admin.users.session.reset",
            Some(ADMIN),
            &[
                ("user_id", "WDANA"),
                ("mobile_only", "1"),
                ("web_only", "1"),
            ],
        ),
        (
            "err_invalid_array_arg",
            "admin.users.session.getSettings",
            Some(ADMIN),
            &[("user_ids[]", "WDANA")],
        ),
    ];
    for (name, method, token, form) in cases {
        let r = s.post_form(method, *token, form).await;
        r.slack();
        assert_eq!(r.body["ok"], false, "{name}");
        assert_json_snapshot!(*name, r.body);
    }
    let raw: &[(&str, &str, &[u8])] = &[
        ("err_invalid_post_type", "application/xml", b"<a/>"),
        ("err_json_not_object", "application/json", b"[1]"),
        (
            "err_invalid_form_data",
            "application/x-www-form-urlencoded",
            b"user_ids=%FF",
        ),
        (
            "err_invalid_charset",
            "application/x-www-form-urlencoded; charset=latin9",
            b"user_ids=W1",
        ),
    ];
    for (name, ct, body) in raw {
        let r = s
            .post_raw(
                "admin.users.session.getSettings",
                Some(ADMIN),
                Some(ct),
                body.to_vec(),
            )
            .await;
        r.slack();
        assert_json_snapshot!(*name, r.body);
    }
    let r = s
        .post_raw(
            "auth.test",
            Some(ADMIN),
            Some("application/x-www-form-urlencoded"),
            vec![b'x'; (1 << 20) + 1],
        )
        .await;
    assert_eq!(r.status, 413);
    assert_json_snapshot!("err_request_too_large", r.body);
}
