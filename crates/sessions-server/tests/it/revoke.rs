//! `auth.revoke` over HTTP: the calling token stops working everywhere (checked through a second
//! door, `auth.test`), `test` revokes nothing, bad arguments get Slack's `ok:false` shape, and a
//! revocation is audited in its own transaction.

use serde_json::{json, Value};
use sessions_client::AuthRevokeRequest;

use crate::support::*;

const AUDITOR: &str = "xoxp-acme-auditor";

/// The standard fixture plus a token that may read the audit log.
fn fixture() -> String {
    let mut f: Value = serde_json::from_str(FIXTURE).unwrap();
    f["orgs"][0]["tokens"].as_array_mut().unwrap().push(json!({
        "token": AUDITOR, "user": "WADMIN", "type": "user",
        "scopes": ["admin.users:read", "auditlogs:read"]}));
    f.to_string()
}

async fn revoke(s: &Server, token: Option<&str>, form: &[(&str, &str)]) -> Resp {
    let r = s.post_form("auth.revoke", token, form).await;
    r.slack();
    r
}

async fn auth_test(s: &Server, token: &str) -> Resp {
    s.post_form("auth.test", Some(token), &[]).await
}

/// Entries of the auditor's org, newest first, as `action actor target result`.
async fn audit_log(s: &Server) -> Vec<String> {
    let r = Resp::from(
        http()
            .get(format!("{}/audit/v1/logs", s.base))
            .bearer_auth(AUDITOR)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.body["ok"], true, "{}", r.text);
    r.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {} {} {}",
                e["action"].as_str().unwrap(),
                e["actor"]["user"]["id"].as_str().unwrap(),
                e["entity"]["user"]["id"].as_str().unwrap_or("-"),
                e["details"]["result"].as_str().unwrap_or("?"),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_revoked_token_answers_token_revoked_and_others_keep_working() {
    let s = start().await;
    assert_eq!(auth_test(&s, OWNER).await.body["ok"], true);

    let r = revoke(&s, Some(OWNER), &[]).await;
    assert_eq!(r.text, r#"{"ok":true,"revoked":true}"#);
    assert_eq!(r.header("x-accepted-oauth-scopes"), Some(""));

    // The second door: the same token on another method, then on auth.revoke itself.
    assert_eq!(auth_test(&s, OWNER).await.error(), "token_revoked");
    assert_eq!(revoke(&s, Some(OWNER), &[]).await.error(), "token_revoked");
    // Only that token: another token of an admin, and a bot token, still work.
    assert_eq!(auth_test(&s, ADMIN).await.body["ok"], true);
    let bot = s.client(BOT);
    assert!(
        bot.auth_revoke(AuthRevokeRequest::new())
            .await
            .unwrap()
            .revoked
    );
    assert_eq!(
        code(bot.auth_test().await.unwrap_err()),
        "token_revoked",
        "bot tokens are revoked like user tokens"
    );
    assert_eq!(auth_test(&s, MEMBER).await.body["ok"], true);
    s.stop().await;
}

#[tokio::test]
async fn test_mode_revokes_nothing() {
    let s = start().await;
    for test in ["true", "1"] {
        let r = revoke(&s, Some(MEMBER), &[("test", test)]).await;
        assert_eq!(r.text, r#"{"ok":true,"revoked":false}"#, "test={test}");
    }
    let out = s
        .client(MEMBER)
        .auth_revoke(AuthRevokeRequest::test())
        .await
        .unwrap();
    assert!(!out.revoked);
    assert_eq!(auth_test(&s, MEMBER).await.body["user_id"], "WDANA");
    // `test=false` is a real revocation.
    let r = revoke(&s, Some(MEMBER), &[("test", "false")]).await;
    assert_eq!(r.body["revoked"], true, "{}", r.text);
    assert_eq!(auth_test(&s, MEMBER).await.error(), "token_revoked");
    s.stop().await;
}

#[tokio::test]
async fn bad_arguments_and_tokens_get_slacks_error_shape() {
    let s = start().await;
    let r = revoke(&s, Some(MEMBER), &[("test", "maybe")]).await;
    assert_eq!(r.body["ok"], false, "{}", r.text);
    assert_eq!(r.error(), "invalid_arguments");
    assert!(
        r.messages().iter().any(|m| m.contains("test")),
        "{:?}",
        r.messages()
    );
    // Nothing was revoked by the refused call.
    assert_eq!(auth_test(&s, MEMBER).await.body["ok"], true);

    assert_eq!(revoke(&s, None, &[]).await.error(), "not_authed");
    assert_eq!(
        revoke(&s, Some("xoxp-nope"), &[]).await.error(),
        "invalid_auth"
    );
    assert_eq!(
        revoke(&s, Some(REVOKED), &[]).await.error(),
        "token_revoked"
    );
    // A session token ends with its session, not on its own.
    let r = revoke(&s, Some("xoxc-dana-ios"), &[]).await;
    assert_eq!(r.error(), "not_allowed_token_type", "{}", r.text);
    assert_eq!(auth_test(&s, "xoxc-dana-ios").await.body["ok"], true);
    s.stop().await;
}

#[tokio::test]
async fn a_revocation_is_audited_and_a_test_is_not() {
    let s = start_with(options(), Some(&fixture())).await;
    revoke(&s, Some(MEMBER), &[("test", "true")]).await;
    assert!(audit_log(&s).await.is_empty(), "a test changes nothing");
    revoke(&s, Some(MEMBER), &[("test", "maybe")]).await;
    let r = revoke(&s, Some(MEMBER), &[]).await;
    assert_eq!(r.body["revoked"], true);
    assert_eq!(
        audit_log(&s).await,
        [
            "user_token_revoked WDANA WDANA ok",
            "user_token_revoked WDANA - invalid_arguments",
        ]
    );
    s.stop().await;
}
