//! `users.lookupByEmail`, `users.info` and `users.list` over HTTP: Slack's user object, emails
//! shown only to those who may read them, pages, errors and org isolation.

use futures::TryStreamExt;
use serde_json::{json, Value};
use sessions_client::{ErrorCode, ListRequest, UsersListRequest};

use crate::support::*;

/// Admin with `users:read` and `users:read.email`.
const DIR: &str = "xoxp-acme-dir";
/// `users:read` only: sees no emails, cannot look up by email.
const READ_NO_EMAIL: &str = "xoxp-acme-users-noemail";
/// `users:read.email` only.
const EMAIL_ONLY: &str = "xoxp-acme-email-only";
/// A member (not an admin) with both scopes: the methods are not admin-only.
const MEMBER_DIR: &str = "xoxp-acme-member-dir";
/// A bot with `users:read`.
const BOT_DIR: &str = "xoxb-acme-bot-dir";
/// Globex admin with both scopes.
const GLOBEX_DIR: &str = "xoxp-globex-dir";
/// The deactivated user's own admin token.
const GONE: &str = "xoxp-acme-gone";

/// The standard fixture plus profiles (dana's email in mixed case, a deactivated user with an
/// email), directory tokens, and a Globex user whose email exists in Acme too.
fn fixture() -> String {
    let mut f: Value = serde_json::from_str(FIXTURE).unwrap();
    let acme = &mut f["orgs"][0];
    let users = acme["users"].as_array_mut().unwrap();
    for u in users.iter_mut() {
        let name = u["name"].as_str().unwrap().to_owned();
        if name != "deploybot" {
            u["email"] = json!(format!("{name}@acme.example"));
        }
    }
    users[2]["email"] = json!("Dana@Acme.example");
    users[2]["real_name"] = json!("Dana Scully");
    users.push(
        json!({"id": "WGONE", "name": "gone", "role": "member", "teams": ["T2"],
                      "email": "gone@acme.example", "real_name": "Gone Away", "deleted": true}),
    );
    let both = json!(["users:read", "users:read.email"]);
    let tokens = acme["tokens"].as_array_mut().unwrap();
    tokens.push(json!({"token": DIR, "user": "WADMIN", "type": "user", "scopes": both}));
    tokens.push(
        json!({"token": READ_NO_EMAIL, "user": "WADMIN", "type": "user", "scopes": ["users:read"]}),
    );
    tokens.push(json!({"token": EMAIL_ONLY, "user": "WADMIN", "type": "user", "scopes": ["users:read.email"]}));
    tokens.push(json!({"token": MEMBER_DIR, "user": "WSAM", "type": "user", "scopes": both}));
    tokens.push(json!({"token": BOT_DIR, "user": "WBOT", "type": "bot", "scopes": ["users:read"]}));
    tokens.push(json!({"token": GONE, "user": "WGONE", "type": "user", "scopes": both}));
    let globex = &mut f["orgs"][1];
    globex["users"][1]["email"] = json!("sam@acme.example");
    globex["tokens"]
        .as_array_mut()
        .unwrap()
        .push(json!({"token": GLOBEX_DIR, "user": "W9ADMIN", "type": "user", "scopes": both}));
    f.to_string()
}

async fn server() -> Server {
    start_with(options(), Some(&fixture())).await
}

#[tokio::test]
async fn lookup_by_email_answers_slacks_user_object() {
    let s = server().await;
    let r = s
        .post_form(
            "users.lookupByEmail",
            Some(DIR),
            &[("email", "dana@ACME.example")],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["ok"], true, "{}", r.text);
    assert!(r.text.starts_with(r#"{"ok":true,"#), "{}", r.text);
    let u = &r.body["user"];
    assert_eq!(u["id"], "WDANA");
    assert_eq!(u["team_id"], "T1");
    assert_eq!(u["name"], "dana");
    assert_eq!(u["real_name"], "Dana Scully");
    for flag in [
        "deleted",
        "is_admin",
        "is_owner",
        "is_primary_owner",
        "is_bot",
        "is_app_user",
        "is_restricted",
        "is_ultra_restricted",
    ] {
        assert_eq!(u[flag], false, "{flag}: {u}");
    }
    assert_eq!(u["profile"]["email"], "Dana@Acme.example", "as given");
    assert_eq!(u["profile"]["real_name"], "Dana Scully");
    assert_eq!(u["enterprise_user"]["enterprise_id"], "E1");
    assert_eq!(u["enterprise_user"]["enterprise_name"], "Acme Corp");
    assert_eq!(u["enterprise_user"]["teams"], json!(["T1"]));
    assert_eq!(
        r.header("x-accepted-oauth-scopes"),
        Some("users:read.email")
    );

    // Every SDK shape: JSON body, query string, surrounding spaces.
    let j = s
        .post_raw(
            "users.lookupByEmail",
            Some(DIR),
            Some("application/json"),
            br#"{"email":" DANA@acme.example "}"#.to_vec(),
        )
        .await;
    assert_eq!(j.body["user"]["id"], "WDANA", "{}", j.text);
    let url = format!(
        "{}users.lookupByEmail?email=sam%40acme.example&token={DIR}",
        s.api
    );
    let g = Resp::from(http().get(url).send().await.unwrap()).await;
    assert_eq!(g.body["user"]["id"], "WSAM", "{}", g.text);
    assert_eq!(
        g.body["user"]["enterprise_user"]["teams"],
        json!(["T1", "T2"])
    );
}

#[tokio::test]
async fn lookup_by_email_errors() {
    let s = server().await;
    let c = s.client(DIR);
    let not_found = |e: sessions_client::Error| e.code() == Some(ErrorCode::UsersNotFound);
    assert!(not_found(
        c.users_lookup_by_email("nobody@acme.example")
            .await
            .unwrap_err()
    ));
    // Deactivated users are not found by email, as on Slack...
    assert!(not_found(
        c.users_lookup_by_email("gone@acme.example")
            .await
            .unwrap_err()
    ));
    // ...another org's users neither, even when the address exists there.
    assert!(not_found(
        c.users_lookup_by_email("homer@globex.example")
            .await
            .unwrap_err()
    ));
    let g = s.client(GLOBEX_DIR);
    assert_eq!(
        g.users_lookup_by_email("sam@acme.example")
            .await
            .unwrap()
            .id,
        "W9MEM"
    );
    assert!(not_found(
        g.users_lookup_by_email("dana@acme.example")
            .await
            .unwrap_err()
    ));

    let r = s.post_form("users.lookupByEmail", Some(DIR), &[]).await;
    assert_eq!(r.error(), "invalid_arguments");
    assert_eq!(r.messages(), ["[ERROR] missing required field: email"]);

    let r = s
        .post_form(
            "users.lookupByEmail",
            Some(READ_NO_EMAIL),
            &[("email", "dana@acme.example")],
        )
        .await;
    assert_eq!(r.error(), "missing_scope");
    assert_eq!(r.body["needed"], "users:read.email");
    assert_eq!(r.body["provided"], "users:read");
    let r = s
        .post_form(
            "users.lookupByEmail",
            Some(ADMIN),
            &[("email", "dana@acme.example")],
        )
        .await;
    assert_eq!(r.error(), "missing_scope");
    let r = s
        .post_form(
            "users.lookupByEmail",
            None,
            &[("email", "dana@acme.example")],
        )
        .await;
    assert_eq!(r.error(), "not_authed");
    let r = s
        .post_form(
            "users.lookupByEmail",
            Some(REVOKED),
            &[("email", "dana@acme.example")],
        )
        .await;
    assert_eq!(r.error(), "token_revoked");
}

#[tokio::test]
async fn info_reports_roles_deactivation_and_hides_emails_without_the_scope() {
    let s = server().await;
    let c = s.client(DIR);
    let owner = c.users_info("WOWNER").await.unwrap();
    assert!(owner.is_primary_owner && owner.is_owner && owner.is_admin);
    assert_eq!(owner.enterprise_user.as_ref().unwrap().teams, ["T1", "T2"]);
    assert!(owner.enterprise_user.unwrap().is_primary_owner);
    let admin = c.users_info("WADMIN").await.unwrap();
    assert!(admin.is_admin && !admin.is_owner && !admin.is_primary_owner);
    let bot = c.users_info("WBOT").await.unwrap();
    assert!(bot.is_bot);
    assert_eq!(bot.email(), None);
    let gone = c.users_info("WGONE").await.unwrap();
    assert!(gone.deleted);
    assert_eq!(gone.email(), Some("gone@acme.example"));
    assert_eq!(gone.team_id, "T2");

    // users:read alone: the user, without the address.
    let r = s
        .post_form("users.info", Some(READ_NO_EMAIL), &[("user", "WDANA")])
        .await;
    assert_eq!(r.body["user"]["id"], "WDANA", "{}", r.text);
    assert_eq!(r.body["user"]["profile"]["real_name"], "Dana Scully");
    assert!(
        r.body["user"]["profile"].get("email").is_none(),
        "{}",
        r.text
    );
    assert!(!r.text.contains("acme.example"), "{}", r.text);
    assert_eq!(r.header("x-accepted-oauth-scopes"), Some("users:read"));

    // Unknown, foreign and malformed ids are all just not found.
    for id in ["WNOBODY", "W9MEM", "not an id", "W9ADMIN"] {
        let r = s.post_form("users.info", Some(DIR), &[("user", id)]).await;
        assert_eq!(
            r.body,
            json!({"ok": false, "error": "user_not_found"}),
            "{id}"
        );
    }
    let r = s.post_form("users.info", Some(DIR), &[]).await;
    assert_eq!(r.error(), "invalid_arguments");
    let r = s
        .post_form("users.info", Some(EMAIL_ONLY), &[("user", "WDANA")])
        .await;
    assert_eq!(r.error(), "missing_scope");
    assert_eq!(r.body["needed"], "users:read");
    // include_locale is accepted (and there is no locale to add).
    let r = s
        .post_form(
            "users.info",
            Some(DIR),
            &[("user", "WDANA"), ("include_locale", "true")],
        )
        .await;
    assert_eq!(r.body["ok"], true, "{}", r.text);
}

#[tokio::test]
async fn any_token_type_with_the_scope_may_look_users_up() {
    let s = server().await;
    // A member, not an admin.
    let sam = s.client(MEMBER_DIR);
    assert_eq!(
        sam.users_lookup_by_email("dana@acme.example")
            .await
            .unwrap()
            .id,
        "WDANA"
    );
    // A bot with users:read: no emails.
    let bot = s.client(BOT_DIR);
    let dana = bot.users_info("WDANA").await.unwrap();
    assert_eq!(dana.email(), None);
    assert_eq!(
        bot.users_lookup_by_email("dana@acme.example")
            .await
            .unwrap_err()
            .code(),
        Some(ErrorCode::MissingScope)
    );
    // A signed-in session's own token acts as that user's client: no scope needed, emails
    // shown, as in Slack's own client.
    let web = s.client("xoxc-dana-web");
    let me = web.users_info("WDANA").await.unwrap();
    assert_eq!(me.email(), Some("Dana@Acme.example"));
    assert_eq!(
        web.users_lookup_by_email("sam@acme.example")
            .await
            .unwrap()
            .id,
        "WSAM"
    );
    // Once the session ends its token is refused like any other.
    s.client(ADMIN)
        .admin_users_session_invalidate(sessions_client::InvalidateRequest::for_user(
            103u64, "WDANA",
        ))
        .await
        .unwrap();
    assert_eq!(
        web.users_info("WDANA").await.unwrap_err().code(),
        Some(ErrorCode::InvalidAuth)
    );
}

#[tokio::test]
async fn list_pages_through_the_org_in_id_order() {
    let s = server().await;
    let c = s.client(DIR);
    let all: Vec<String> = c
        .users_list_all(UsersListRequest::new().limit(2))
        .map_ok(|u| u.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all, ["WADMIN", "WBOT", "WDANA", "WGONE", "WOWNER", "WSAM"]);
    // Without a limit: everything on one page, deactivated users included, emails shown.
    let page = c.users_list(UsersListRequest::new()).await.unwrap();
    assert_eq!(page.members.len(), 6);
    assert_eq!(page.next_cursor(), None);
    assert!(page.cache_ts.is_some_and(|t| t > 1_600_000_000));
    let gone = page.members.iter().find(|u| u.id == "WGONE").unwrap();
    assert!(gone.deleted);
    assert_eq!(page.members[2].email(), Some("Dana@Acme.example"));
    // Huge and zero limits are served, not refused.
    for limit in ["0", "5000", "99999999999999999"] {
        let r = s
            .post_form("users.list", Some(DIR), &[("limit", limit)])
            .await;
        assert_eq!(
            r.body["members"].as_array().unwrap().len(),
            6,
            "{limit}: {}",
            r.text
        );
    }
    // One workspace.
    let t2: Vec<String> = c
        .users_list_all(UsersListRequest::new().team("T2").limit(1))
        .map_ok(|u| u.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(t2, ["WGONE", "WOWNER", "WSAM"]);
    // users:read alone lists without addresses.
    let r = s.post_form("users.list", Some(READ_NO_EMAIL), &[]).await;
    assert_eq!(r.body["members"].as_array().unwrap().len(), 6);
    assert!(!r.text.contains("@acme.example"), "{}", r.text);
    // Globex sees only Globex.
    let g = s
        .client(GLOBEX_DIR)
        .users_list(UsersListRequest::new())
        .await
        .unwrap();
    let ids: Vec<&str> = g.members.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, ["W9ADMIN", "W9MEM"]);
}

#[tokio::test]
async fn list_refuses_foreign_tampered_and_other_methods_cursors() {
    let s = server().await;
    let c = s.client(DIR);
    let first = c
        .users_list(UsersListRequest::new().limit(2))
        .await
        .unwrap();
    let cursor = first.next_cursor().unwrap().to_owned();
    let second = c
        .users_list(UsersListRequest::new().limit(2).cursor(cursor.clone()))
        .await
        .unwrap();
    assert_eq!(second.members[0].id, "WDANA");

    let invalid = |r: &Resp| {
        assert_eq!(r.error(), "invalid_cursor", "{}", r.text);
        assert_eq!(r.messages().len(), 1, "{}", r.text);
    };
    // Another org.
    invalid(
        &s.post_form("users.list", Some(GLOBEX_DIR), &[("cursor", &cursor)])
            .await,
    );
    // Another team filter.
    invalid(
        &s.post_form(
            "users.list",
            Some(DIR),
            &[("cursor", &cursor), ("team_id", "T1")],
        )
        .await,
    );
    // Tampered.
    let mut t = cursor.clone().into_bytes();
    let last = t.len() - 1;
    t[last] = if t[last] == b'A' { b'B' } else { b'A' };
    invalid(
        &s.post_form(
            "users.list",
            Some(DIR),
            &[("cursor", std::str::from_utf8(&t).unwrap())],
        )
        .await,
    );
    invalid(
        &s.post_form("users.list", Some(DIR), &[("cursor", "garbage")])
            .await,
    );
    // A session list cursor is not a users cursor.
    let sessions = s
        .client(ADMIN)
        .admin_users_session_list(ListRequest::org().limit(1))
        .await
        .unwrap();
    let session_cursor = sessions.next_cursor().unwrap();
    invalid(
        &s.post_form("users.list", Some(DIR), &[("cursor", session_cursor)])
            .await,
    );
    // ...nor the reverse.
    let r = s
        .post_form(
            "admin.users.session.list",
            Some(ADMIN),
            &[("cursor", &cursor)],
        )
        .await;
    assert_eq!(r.error(), "invalid_cursor");

    // A workspace of another org, or none at all, is not found.
    for team in ["T9", "TNOPE"] {
        let r = s
            .post_form("users.list", Some(DIR), &[("team_id", team)])
            .await;
        assert_eq!(r.error(), "team_not_found", "{team}");
    }
    let r = s
        .post_form("users.list", Some(DIR), &[("limit", "ten")])
        .await;
    assert_eq!(r.error(), "invalid_arguments");
    let r = s.post_form("users.list", Some(EMAIL_ONLY), &[]).await;
    assert_eq!(r.error(), "missing_scope");
}

/// A deactivated user's token is refused as Slack refuses it (`account_inactive`) on every
/// method, and changes nothing; the rest of the org is unaffected.
#[tokio::test]
async fn a_deactivated_users_token_is_account_inactive() {
    let s = server().await;
    for method in ["auth.test", "users.info", "admin.users.session.list"] {
        let r = s.post_form(method, Some(GONE), &[("user", "WDANA")]).await;
        assert_eq!(r.error(), "account_inactive", "{method}");
    }
    let err = s.client(GONE).auth_test().await.unwrap_err();
    assert_eq!(code(err), "account_inactive");
    let before = s.client(DIR).users_info("WGONE").await.unwrap();
    assert!(before.deleted, "still listed, as deactivated");
    assert_eq!(
        s.client(DIR).auth_test().await.unwrap().user_id,
        "WADMIN",
        "the org's other tokens work"
    );
}

#[tokio::test]
async fn the_directory_survives_a_restart() {
    let s = server().await;
    let data = s.stop().await;
    let s = reopen(data, options()).await;
    let u = s
        .client(DIR)
        .users_lookup_by_email("DANA@acme.example")
        .await
        .unwrap();
    assert_eq!(
        (u.id.as_str(), u.real_name.as_str()),
        ("WDANA", "Dana Scully")
    );
    assert!(s.client(DIR).users_info("WGONE").await.unwrap().deleted);
}

#[tokio::test]
async fn answers_match_the_documented_schemas() {
    let s = server().await;
    let doc: Value = sessions_server::openapi::document();
    let schemas = &doc["components"]["schemas"];
    // Every field the schema (at this JSON pointer below `components/schemas`) requires.
    let has_all = |v: &Value, schema: &str| {
        let required = schemas.pointer(&format!("/{schema}/required")).unwrap();
        for f in required.as_array().unwrap() {
            let f = f.as_str().unwrap();
            assert!(!v[f].is_null(), "{schema}: {f} missing in {v}");
        }
    };
    for (method, form, ok) in [
        (
            "users.lookupByEmail",
            vec![("email", "sam@acme.example")],
            "UserOk",
        ),
        ("users.info", vec![("user", "WOWNER")], "UserOk"),
        ("users.list", vec![("limit", "2")], "UsersListOk"),
    ] {
        let r = s.post_form(method, Some(DIR), &form).await;
        r.slack();
        has_all(&r.body, ok);
        let op = &doc["paths"][format!("/api/{method}")]["post"];
        assert_eq!(
            r.header("x-accepted-oauth-scopes"),
            op["x-slack-scope"].as_str(),
            "{method}"
        );
        let users = match r.body.get("members") {
            Some(m) => m.as_array().unwrap().clone(),
            None => vec![r.body["user"].clone()],
        };
        for u in &users {
            has_all(u, "User");
            has_all(&u["profile"], "User/properties/profile");
            has_all(&u["enterprise_user"], "User/properties/enterprise_user");
        }
    }
}
