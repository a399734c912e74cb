//! Every method and every error that applies, through the Rust client.

use futures::TryStreamExt;
use sessions_client::{
    ClearSettingsRequest, Error, GetSettingsRequest, InvalidateRequest, ListRequest,
    ResetBulkRequest, ResetRequest, SetSettingsRequest,
};
use sessions_test_support::wait;

use crate::support::*;

#[tokio::test]
async fn auth_test_for_api_and_session_tokens() {
    let s = start().await;
    let who = s.client(ADMIN).auth_test().await.unwrap();
    assert_eq!(who.user_id, "WADMIN");
    assert_eq!(who.user.as_deref(), Some("adam"));
    assert_eq!(who.team_id, "T1");
    assert_eq!(who.team, "Engineering");
    assert_eq!(who.enterprise_id.as_deref(), Some("E1"));
    assert_eq!(who.url, "https://acme-corp.enterprise.slack.com/");
    assert!(who.is_enterprise_install);

    let who = s.client("xoxc-dana-ios").auth_test().await.unwrap();
    assert_eq!(who.user_id, "WDANA");
    assert!(!who.is_enterprise_install);

    let bot = s.client(BOT).auth_test().await.unwrap();
    assert_eq!(bot.bot_id.as_deref(), Some("BBOT"));

    assert_eq!(
        code(s.client("xoxp-nope").auth_test().await.unwrap_err()),
        "invalid_auth"
    );
    assert_eq!(
        code(s.client(REVOKED).auth_test().await.unwrap_err()),
        "token_revoked"
    );
}

#[tokio::test]
async fn session_tokens_stop_working_once_their_session_ends() {
    let s = start().await;
    let admin = s.client(ADMIN);
    // invalidate
    admin
        .admin_users_session_invalidate(InvalidateRequest::for_user(102u64, "WDANA"))
        .await
        .unwrap();
    assert_eq!(
        code(s.client("xoxc-dana-ios").auth_test().await.unwrap_err()),
        "invalid_auth"
    );
    // reset
    s.client("xoxc-dana-web").auth_test().await.unwrap();
    admin
        .admin_users_session_reset(ResetRequest::new("WDANA"))
        .await
        .unwrap();
    assert_eq!(
        code(s.client("xoxc-dana-web").auth_test().await.unwrap_err()),
        "invalid_auth"
    );
    assert_eq!(
        code(s.client("xoxc-dana-desktop").auth_test().await.unwrap_err()),
        "invalid_auth"
    );
    // a session created through the control API works, then fails after invalidation
    let (id, token) = s.sign_in("E1", "WSAM", "T1", "web").await;
    assert_eq!(s.client(&token).auth_test().await.unwrap().user_id, "WSAM");
    admin
        .admin_users_session_invalidate(InvalidateRequest::for_team(id, "T1"))
        .await
        .unwrap();
    assert_eq!(
        code(s.client(&token).auth_test().await.unwrap_err()),
        "invalid_auth"
    );
}

#[tokio::test]
async fn authorization_errors_in_order() {
    let s = start().await;
    let list = |t: &str| {
        let c = s.client(t);
        async move {
            code(
                c.admin_users_session_list(ListRequest::org())
                    .await
                    .unwrap_err(),
            )
        }
    };
    assert_eq!(list("xoxp-unknown").await, "invalid_auth");
    assert_eq!(list(REVOKED).await, "token_revoked");
    assert_eq!(list("xoxc-dana-desktop").await, "not_allowed_token_type");
    assert_eq!(list(BOT).await, "not_allowed_token_type");
    assert_eq!(list(WRITE_ONLY).await, "missing_scope");
    assert_eq!(list(MEMBER).await, "not_an_admin");

    let err = s
        .client(READ_ONLY)
        .admin_users_session_reset(ResetRequest::new("WDANA"))
        .await
        .unwrap_err();
    match err {
        Error::Api {
            code,
            needed,
            provided,
            ..
        } => {
            assert_eq!(code.as_str(), "missing_scope");
            assert_eq!(needed.as_deref(), Some("admin.users:write"));
            assert_eq!(provided.as_deref(), Some("admin.users:read"));
        }
        other => panic!("{other:?}"),
    }
    // no token at all
    let r = s.post_form("admin.users.session.list", None, &[]).await;
    r.slack();
    assert_eq!(r.error(), "not_authed");
}

#[tokio::test]
async fn list_whole_org_and_one_user() {
    let s = start().await;
    let c = s.client(ADMIN);
    let page = c
        .admin_users_session_list(ListRequest::org())
        .await
        .unwrap();
    let ids: Vec<u64> = page
        .active_sessions
        .iter()
        .map(|a| a.session_id.0)
        .collect();
    // ascending, bots excluded, other org excluded
    assert_eq!(ids, vec![101, 102, 103, 104, 105, 106, 107]);
    assert_eq!(page.next_cursor(), None);
    let first = &page.active_sessions[0];
    assert_eq!(first.created.os_version.as_deref(), Some("14.1"));
    assert_eq!(
        first.recent.as_ref().unwrap().os_version.as_deref(),
        Some("14.2")
    );
    assert!(page.active_sessions[1].recent.is_none());

    let page = c
        .admin_users_session_list(ListRequest::user("T1", "WSAM"))
        .await
        .unwrap();
    let ids: Vec<u64> = page
        .active_sessions
        .iter()
        .map(|a| a.session_id.0)
        .collect();
    assert_eq!(ids, vec![105]);

    assert_eq!(
        code(
            c.admin_users_session_list(ListRequest::user("T404", "WSAM"))
                .await
                .unwrap_err()
        ),
        "team_not_found"
    );
    assert_eq!(
        code(
            c.admin_users_session_list(ListRequest::user("T1", "W404"))
                .await
                .unwrap_err()
        ),
        "user_not_found"
    );
}

#[tokio::test]
async fn list_pages_follow_cursors_to_the_end() {
    let s = start().await;
    let c = s.client(READ_ONLY);
    let pages: Vec<_> = c
        .admin_users_session_list_pages(ListRequest::org().limit(3))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 3);
    let ids: Vec<u64> = pages
        .iter()
        .flat_map(|p| p.active_sessions.iter().map(|a| a.session_id.0))
        .collect();
    assert_eq!(ids, vec![101, 102, 103, 104, 105, 106, 107]);
    assert!(pages[0].next_cursor().is_some());
    assert_eq!(pages[2].next_cursor(), None);
    // exactly a multiple of the page size: no empty trailing page
    let pages: Vec<_> = c
        .admin_users_session_list_pages(ListRequest::org().limit(7))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 1);
}

#[tokio::test]
async fn invalidate_semantics_and_errors() {
    let s = start().await;
    let c = s.client(ADMIN);
    let inv = |r: InvalidateRequest| {
        let c = c.clone();
        async move { c.admin_users_session_invalidate(r).await.map_err(code) }
    };
    assert_eq!(
        inv(InvalidateRequest::for_user(101u64, "W404"))
            .await
            .unwrap_err(),
        "user_not_found"
    );
    assert_eq!(
        inv(InvalidateRequest::for_user(9999u64, "WDANA"))
            .await
            .unwrap_err(),
        "session_not_found"
    );
    // another user's session, another team's session
    assert_eq!(
        inv(InvalidateRequest::for_user(101u64, "WSAM"))
            .await
            .unwrap_err(),
        "session_not_found"
    );
    assert_eq!(
        inv(InvalidateRequest::for_team(101u64, "T2"))
            .await
            .unwrap_err(),
        "session_not_found"
    );
    // both given: both must match
    let both = InvalidateRequest {
        session_id: Some(101u64.into()),
        user_id: Some("WDANA".into()),
        team_id: Some("T2".into()),
    };
    assert_eq!(inv(both).await.unwrap_err(), "session_not_found");
    // primary owner's session: only the primary owner
    assert_eq!(
        inv(InvalidateRequest::for_user(106u64, "WOWNER"))
            .await
            .unwrap_err(),
        "cannot_invalidate_primary_owner"
    );
    s.client(OWNER)
        .admin_users_session_invalidate(InvalidateRequest::for_user(106u64, "WOWNER"))
        .await
        .unwrap();
    // success, then the same session is no longer found
    inv(InvalidateRequest::for_user(101u64, "WDANA"))
        .await
        .unwrap();
    assert_eq!(
        inv(InvalidateRequest::for_user(101u64, "WDANA"))
            .await
            .unwrap_err(),
        "session_not_found"
    );
    assert!(!session_ids(&s.store, "E1").await.contains(&101));
    // the seeds' form (team_id)
    inv(InvalidateRequest::for_team(103u64, "T1"))
        .await
        .unwrap();
    assert_eq!(session_ids(&s.store, "E1").await, vec![102, 104, 105, 107]);
}

#[tokio::test]
async fn reset_filters_and_errors() {
    let s = start().await;
    let c = s.client(ADMIN);
    let mobile = ResetRequest {
        mobile_only: Some(true),
        ..ResetRequest::new("WDANA")
    };
    c.admin_users_session_reset(mobile).await.unwrap();
    assert_eq!(
        session_ids(&s.store, "E1").await,
        vec![101, 103, 104, 105, 106, 107]
    );
    let web = ResetRequest {
        web_only: Some(true),
        ..ResetRequest::new("WSAM")
    };
    c.admin_users_session_reset(web).await.unwrap();
    assert_eq!(
        session_ids(&s.store, "E1").await,
        vec![101, 103, 104, 106, 107]
    );
    c.admin_users_session_reset(ResetRequest::new("WDANA"))
        .await
        .unwrap();
    assert_eq!(session_ids(&s.store, "E1").await, vec![104, 106, 107]);

    assert_eq!(
        code(
            c.admin_users_session_reset(ResetRequest::new("W404"))
                .await
                .unwrap_err()
        ),
        "user_not_found"
    );
    assert_eq!(
        code(
            c.admin_users_session_reset(ResetRequest::new("WBOT"))
                .await
                .unwrap_err()
        ),
        "cannot_reset_bot"
    );
    assert_eq!(
        code(
            c.admin_users_session_reset(ResetRequest::new("WOWNER"))
                .await
                .unwrap_err()
        ),
        "cannot_reset_primary_owner"
    );
    s.client(OWNER)
        .admin_users_session_reset(ResetRequest::new("WOWNER"))
        .await
        .unwrap();
    assert_eq!(session_ids(&s.store, "E1").await, vec![104, 107]);
}

#[tokio::test]
async fn reset_bulk_records_a_job_that_the_worker_completes() {
    let s = start().await;
    let r = s
        .post_form(
            "admin.users.session.resetBulk",
            Some(ADMIN),
            &[("user_ids", "WDANA,WSAM"), ("mobile_only", "1")],
        )
        .await;
    r.slack();
    assert_eq!(r.body["ok"], true, "{}", r.text);
    let job = r.header("x-sessions-job-id").unwrap().to_owned();
    let done = s.job_done("E1", &job).await;
    assert_eq!(done["user_ids"], serde_json::json!(["WDANA", "WSAM"]));
    assert_eq!(
        session_ids(&s.store, "E1").await,
        vec![101, 103, 105, 106, 107]
    );

    // the client form too
    s.client(ADMIN)
        .admin_users_session_reset_bulk(ResetBulkRequest::new(["WDANA"]))
        .await
        .unwrap();
    wait::until_true("the client's job to run", || async {
        !session_ids(&s.store, "E1").await.contains(&101)
    })
    .await;
    assert_eq!(session_ids(&s.store, "E1").await, vec![105, 106, 107]);
}

#[tokio::test]
async fn reset_bulk_names_every_offending_user_and_records_nothing() {
    let s = start().await;
    let err = s
        .client(ADMIN)
        .admin_users_session_reset_bulk(ResetBulkRequest::new([
            "WDANA", "W404", "WBOT", "WOWNER", "W405",
        ]))
        .await
        .unwrap_err();
    match err {
        Error::Api { code, messages, .. } => {
            assert_eq!(code.as_str(), "user_not_found");
            assert_eq!(
                messages,
                vec![
                    "[ERROR] user_not_found: W404",
                    "[ERROR] cannot_reset_bot: WBOT",
                    "[ERROR] cannot_reset_primary_owner: WOWNER",
                    "[ERROR] user_not_found: W405",
                ]
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.store.pending_bulk_jobs().await.unwrap(), 0);
    // Proof that the worker has run since (jobs run in the order recorded): a valid job
    // recorded now is done, and it is the only change.
    s.job_done("E1", &s.reset_bulk("WSAM").await).await;
    assert_eq!(
        session_ids(&s.store, "E1").await,
        vec![101, 102, 103, 106, 107]
    );
    // a bot alone: its own code
    let err = s
        .client(ADMIN)
        .admin_users_session_reset_bulk(ResetBulkRequest::new(["WBOT"]))
        .await
        .unwrap_err();
    assert_eq!(code(err), "cannot_reset_bot");
}

#[tokio::test]
async fn settings_get_set_clear() {
    let s = start().await;
    let c = s.client(ADMIN);
    let got = c
        .admin_users_session_get_settings(GetSettingsRequest::new(["WSAM", "WDANA"]))
        .await
        .unwrap();
    assert_eq!(got.session_settings.len(), 1);
    assert_eq!(got.session_settings[0].user_id, "WSAM");
    assert_eq!(got.session_settings[0].duration, Some(86400));
    assert_eq!(got.session_settings[0].desktop_app_browser_quit, Some(true));
    assert_eq!(got.no_settings_applied, vec!["WDANA"]);

    c.admin_users_session_set_settings(
        SetSettingsRequest::new(["WDANA", "WADMIN"]).duration(28_800),
    )
    .await
    .unwrap();
    let got = c
        .admin_users_session_get_settings(GetSettingsRequest::new(["WDANA"]))
        .await
        .unwrap();
    assert_eq!(got.session_settings[0].duration, Some(28_800));
    assert_eq!(got.session_settings[0].desktop_app_browser_quit, None);

    c.admin_users_session_set_settings(
        SetSettingsRequest::new(["WDANA"]).desktop_app_browser_quit(false),
    )
    .await
    .unwrap();
    let got = c
        .admin_users_session_get_settings(GetSettingsRequest::new(["WDANA"]))
        .await
        .unwrap();
    assert_eq!(got.session_settings[0].duration, Some(28_800));
    assert_eq!(
        got.session_settings[0].desktop_app_browser_quit,
        Some(false)
    );

    c.admin_users_session_clear_settings(ClearSettingsRequest::new(["WDANA", "WSAM"]))
        .await
        .unwrap();
    let got = c
        .admin_users_session_get_settings(GetSettingsRequest::new(["WDANA", "WSAM", "WADMIN"]))
        .await
        .unwrap();
    assert_eq!(got.no_settings_applied, vec!["WDANA", "WSAM"]);
    assert_eq!(got.session_settings[0].user_id, "WADMIN");
}

#[tokio::test]
async fn settings_refuse_unknown_users_and_bots_all_or_nothing() {
    let s = start().await;
    let c = s.client(ADMIN);
    let err = c
        .admin_users_session_get_settings(GetSettingsRequest::new(["WSAM", "W404"]))
        .await
        .unwrap_err();
    match err {
        Error::Api { code, messages, .. } => {
            assert_eq!(code.as_str(), "user_not_found");
            assert_eq!(messages, vec!["[ERROR] user_not_found: W404"]);
        }
        other => panic!("{other:?}"),
    }
    let set = SetSettingsRequest::new(["WDANA", "WBOT"]).duration(30_000);
    assert_eq!(
        code(c.admin_users_session_set_settings(set).await.unwrap_err()),
        "bots_not_allowed"
    );
    let set = SetSettingsRequest::new(["WDANA", "W404"]).duration(30_000);
    assert_eq!(
        code(c.admin_users_session_set_settings(set).await.unwrap_err()),
        "user_not_found"
    );
    // nothing applied to WDANA
    let got = c
        .admin_users_session_get_settings(GetSettingsRequest::new(["WDANA"]))
        .await
        .unwrap();
    assert_eq!(got.no_settings_applied, vec!["WDANA"]);
    let clear = ClearSettingsRequest::new(["WSAM", "W404"]);
    assert_eq!(
        code(
            c.admin_users_session_clear_settings(clear)
                .await
                .unwrap_err()
        ),
        "user_not_found"
    );
    let got = c
        .admin_users_session_get_settings(GetSettingsRequest::new(["WSAM"]))
        .await
        .unwrap();
    assert_eq!(got.session_settings.len(), 1, "clear must not half-apply");
    assert_eq!(
        code(
            c.admin_users_session_clear_settings(ClearSettingsRequest::new(["WBOT"]))
                .await
                .unwrap_err()
        ),
        "bots_not_allowed"
    );
}

/// method, form, expected code, text the message must contain.
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, &'a str);

#[tokio::test]
async fn argument_errors_reach_the_caller_with_messages() {
    // The client validates first, so these go raw.
    let s = start().await;
    let cases: &[Case<'_>] = &[
        (
            "admin.users.session.invalidate",
            &[("user_id", "WDANA")],
            "invalid_arguments",
            "session_id",
        ),
        (
            "admin.users.session.invalidate",
            &[("session_id", "101")],
            "invalid_arguments",
            "user_id",
        ),
        (
            "admin.users.session.invalidate",
            &[("session_id", "abc"), ("user_id", "WDANA")],
            "invalid_arguments",
            "session_id",
        ),
        (
            "admin.users.session.reset",
            &[],
            "invalid_arguments",
            "user_id",
        ),
        (
            "admin.users.session.reset",
            &[
                ("user_id", "WDANA"),
                ("mobile_only", "true"),
                ("web_only", "1"),
            ],
            "invalid_arguments",
            "mobile_only",
        ),
        (
            "admin.users.session.reset",
            &[("user_id", "WDANA"), ("mobile_only", "maybe")],
            "invalid_arguments",
            "mobile_only",
        ),
        (
            "admin.users.session.list",
            &[("limit", "0")],
            "invalid_arguments",
            "limit",
        ),
        (
            "admin.users.session.list",
            &[("limit", "1001")],
            "invalid_arguments",
            "limit",
        ),
        (
            "admin.users.session.list",
            &[("user_id", "WDANA")],
            "missing_team",
            "team_id",
        ),
        (
            "admin.users.session.list",
            &[("team_id", "T1")],
            "missing_user",
            "user_id",
        ),
        (
            "admin.users.session.resetBulk",
            &[],
            "invalid_arguments",
            "user_ids",
        ),
        (
            "admin.users.session.getSettings",
            &[("user_ids", "[\"W1\"")],
            "invalid_arguments",
            "user_ids",
        ),
        (
            "admin.users.session.setSettings",
            &[("user_ids", "WDANA")],
            "at_least_one_session_setting_required",
            "duration",
        ),
        (
            "admin.users.session.setSettings",
            &[("user_ids", "WDANA"), ("duration", "100")],
            "invalid_arguments",
            "duration",
        ),
        (
            "admin.users.session.setSettings",
            &[("user_ids", "WDANA"), ("duration", "315569521")],
            "invalid_arguments",
            "duration",
        ),
        (
            "admin.users.session.clearSettings",
            &[("user_ids", "")],
            "invalid_arguments",
            "user_ids",
        ),
    ];
    for (method, form, want, names) in cases {
        let r = s.post_form(method, Some(ADMIN), form).await;
        r.slack();
        assert_eq!(r.error(), *want, "{method} {form:?}: {}", r.text);
        let msgs = r.messages();
        assert!(
            msgs.iter()
                .any(|m| m.starts_with("[ERROR]") && m.contains(names)),
            "{method} {form:?}: {msgs:?}"
        );
    }
    let bulk: Vec<String> = (0..1001).map(|i| format!("W{i}")).collect();
    let r = s
        .post_form(
            "admin.users.session.resetBulk",
            Some(ADMIN),
            &[("user_ids", &bulk.join(","))],
        )
        .await;
    assert_eq!(r.error(), "invalid_arguments");
    assert!(r.messages()[0].contains("1001"), "{:?}", r.messages());
    // nothing changed
    assert_eq!(
        session_ids(&s.store, "E1").await,
        vec![101, 102, 103, 104, 105, 106, 107]
    );
}

#[tokio::test]
async fn unknown_methods_and_scope_headers() {
    let s = start().await;
    let r = s
        .post_form("admin.users.session.explode", Some(ADMIN), &[])
        .await;
    r.slack();
    assert_eq!(r.error(), "unknown_method");
    let r = s
        .post_form("admin.users.session.list", Some(READ_ONLY), &[])
        .await;
    r.slack();
    assert_eq!(r.header("x-oauth-scopes"), Some("admin.users:read"));
    assert_eq!(
        r.header("x-accepted-oauth-scopes"),
        Some("admin.users:read")
    );
    let r = s
        .post_form(
            "admin.users.session.reset",
            Some(READ_ONLY),
            &[("user_id", "WDANA")],
        )
        .await;
    assert_eq!(r.error(), "missing_scope");
    assert_eq!(
        r.header("x-accepted-oauth-scopes"),
        Some("admin.users:write")
    );
    assert_eq!(r.body["needed"], "admin.users:write");
    assert_eq!(r.body["provided"], "admin.users:read");
}
