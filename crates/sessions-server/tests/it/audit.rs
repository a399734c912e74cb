//! The audit log over HTTP: every admin action recorded (who, whom, from where, result),
//! refusals of authenticated callers recorded, nothing for unauthenticated ones, and
//! `GET /audit/v1/logs` with its scope, filters, signed cursors and org isolation.

use std::time::Duration;

use insta::assert_json_snapshot;
use serde_json::{json, Value};
use sessions_server::ServerSettings;
use sessions_store::{AuditFilter, AuditPage};
use sessions_test_support::wait;

use crate::support::*;

const AUDITOR: &str = "xoxp-acme-auditor";
const MEMBER_AUDITOR: &str = "xoxp-acme-member-auditor";
const BOT_AUDITOR: &str = "xoxb-acme-bot-auditor";
const GLOBEX_AUDITOR: &str = "xoxp-globex-auditor";
const UA: &str = "audit-test/1.0 (+https://example.invalid)";

/// The standard fixture plus tokens carrying `auditlogs:read`.
fn fixture() -> String {
    let mut f: Value = serde_json::from_str(FIXTURE).unwrap();
    let all = json!(["admin.users:read", "admin.users:write", "auditlogs:read"]);
    let acme = f["orgs"][0]["tokens"].as_array_mut().unwrap();
    acme.push(json!({"token": AUDITOR, "user": "WADMIN", "type": "user", "scopes": all}));
    acme.push(json!({"token": MEMBER_AUDITOR, "user": "WDANA", "type": "user", "scopes": all}));
    acme.push(json!({"token": BOT_AUDITOR, "user": "WBOT", "type": "bot", "scopes": all}));
    let globex = f["orgs"][1]["tokens"].as_array_mut().unwrap();
    globex.push(json!({"token": GLOBEX_AUDITOR, "user": "W9ADMIN", "type": "user", "scopes": all}));
    f.to_string()
}

async fn server() -> Server {
    start_with(options(), Some(&fixture())).await
}

/// A form POST with our user agent (and optional extra headers).
async fn call(
    s: &Server,
    method: &str,
    token: Option<&str>,
    form: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Resp {
    let mut rb = http()
        .post(format!("{}{}", s.api, method))
        .header("user-agent", UA)
        .form(form);
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    Resp::from(rb.send().await.unwrap()).await
}

async fn logs(s: &Server, token: Option<&str>, query: &[(&str, &str)]) -> Resp {
    let mut rb = http().get(format!("{}/audit/v1/logs", s.base)).query(query);
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    let r = Resp::from(rb.send().await.unwrap()).await;
    r.slack();
    r
}

fn entries(r: &Resp) -> Vec<Value> {
    assert_eq!(r.body["ok"], true, "{}", r.text);
    r.body["entries"].as_array().unwrap().clone()
}

fn actions(r: &Resp) -> Vec<String> {
    entries(r)
        .iter()
        .map(|e| {
            format!(
                "{} {} {}",
                e["action"].as_str().unwrap(),
                e["actor"]["user"]["id"].as_str().unwrap(),
                e["details"]["result"].as_str().unwrap()
            )
        })
        .collect()
}

/// Waits until `n` entries of the org are stored (the resetBulk worker appends its own).
async fn wait_for_entries(s: &Server, org: &str, n: usize) {
    wait_until_entries(s, org, |len| len >= n).await;
}

/// Waits until the number of stored entries of the org satisfies `done`; returns them.
async fn wait_until_entries(
    s: &Server,
    org: &str,
    done: impl Fn(usize) -> bool,
) -> Vec<sessions_store::AuditEntry> {
    wait::until(
        &format!("the audit entries of {org} to reach the expected count"),
        || async {
            let got = s
                .store
                .list_audit(org, &AuditFilter::default(), AuditPage::Newest, 1000)
                .await
                .unwrap();
            done(got.len()).then_some(got)
        },
    )
    .await
}

#[tokio::test]
async fn every_action_is_recorded_with_who_whom_where_and_result() {
    let s = server().await;
    let ok = |r: Resp| assert_eq!(r.body["ok"], true, "{}", r.text);
    ok(call(
        &s,
        "admin.users.session.invalidate",
        Some(ADMIN),
        &[("session_id", "101"), ("team_id", "T1")],
        &[],
    )
    .await);
    ok(call(
        &s,
        "admin.users.session.reset",
        Some(ADMIN),
        &[("user_id", "WSAM"), ("mobile_only", "true")],
        &[],
    )
    .await);
    ok(call(
        &s,
        "admin.users.session.resetBulk",
        Some(OWNER),
        &[("user_ids", "WDANA,WSAM")],
        &[],
    )
    .await);
    // The job's per-user entries come from the worker.
    wait_for_entries(&s, "E1", 5).await;
    ok(call(
        &s,
        "admin.users.session.setSettings",
        Some(ADMIN),
        &[
            ("user_ids", "WDANA"),
            ("duration", "28800"),
            ("desktop_app_browser_quit", "true"),
        ],
        &[],
    )
    .await);
    ok(call(
        &s,
        "admin.users.session.clearSettings",
        Some(ADMIN),
        &[("user_ids", "WSAM")],
        &[],
    )
    .await);
    // Reads are not admin actions.
    ok(call(&s, "admin.users.session.list", Some(ADMIN), &[], &[]).await);
    ok(call(
        &s,
        "admin.users.session.getSettings",
        Some(ADMIN),
        &[("user_ids", "WSAM")],
        &[],
    )
    .await);

    let r = logs(&s, Some(AUDITOR), &[]).await;
    assert_eq!(r.header("x-accepted-oauth-scopes"), Some("auditlogs:read"));
    let all = entries(&r);
    assert_eq!(all.len(), 7, "{}", r.text);
    for e in &all {
        assert_eq!(e["context"]["ip_address"], "127.0.0.1", "{e}");
        assert_eq!(e["context"]["ua"], UA, "{e}");
        assert_eq!(e["context"]["location"]["id"], "E1");
        let at = e["date_create"].as_i64().unwrap();
        let now = sessions_server::Clock::system().now();
        assert!((now - 60..=now).contains(&at), "date_create {at}");
    }
    assert_json_snapshot!("audit_every_action", r.body, {
        ".entries[].date_create" => "[date]",
    });
    // Each action's entity, as stored: the invalidation names the session's owner although
    // the caller gave only its team.
    let stored = s
        .store
        .list_audit("E1", &AuditFilter::default(), AuditPage::After(0), 100)
        .await
        .unwrap();
    assert_eq!(stored[0].target_user_ids, vec!["WDANA"]);
    assert_eq!(stored[0].session_id, Some(101));
    assert_eq!(stored[0].method, "admin.users.session.invalidate");
    s.stop().await;
}

#[tokio::test]
async fn refusals_are_recorded_only_for_authenticated_callers() {
    let s = server().await;
    let reset = |token: Option<&'static str>, user: &'static str| {
        let s = &s;
        async move {
            call(
                s,
                "admin.users.session.reset",
                token,
                &[("user_id", user)],
                &[],
            )
            .await
        }
    };
    assert_eq!(reset(Some(MEMBER), "WSAM").await.error(), "not_an_admin");
    assert_eq!(
        reset(Some(READ_ONLY), "WSAM").await.error(),
        "missing_scope"
    );
    assert_eq!(
        reset(Some(BOT), "WSAM").await.error(),
        "not_allowed_token_type"
    );
    assert_eq!(reset(Some(ADMIN), "WNOPE").await.error(), "user_not_found");
    assert_eq!(
        reset(Some(ADMIN), "WOWNER").await.error(),
        "cannot_reset_primary_owner"
    );
    let r = call(
        &s,
        "admin.users.session.invalidate",
        Some(ADMIN),
        &[("user_id", "WDANA")],
        &[],
    )
    .await;
    assert_eq!(r.error(), "invalid_arguments");
    let r = call(
        &s,
        "admin.users.session.setSettings",
        Some(ADMIN),
        &[("user_ids", "WDANA"), ("duration", "5")],
        &[],
    )
    .await;
    assert_eq!(r.error(), "invalid_arguments");
    // Not recorded: no token, an unknown token, a revoked token.
    assert_eq!(reset(None, "WSAM").await.error(), "not_authed");
    assert_eq!(
        reset(Some("xoxp-nope"), "WSAM").await.error(),
        "invalid_auth"
    );
    assert_eq!(reset(Some(REVOKED), "WSAM").await.error(), "token_revoked");

    let r = logs(&s, Some(AUDITOR), &[]).await;
    assert_eq!(
        actions(&r),
        vec![
            "user_session_settings_changed WADMIN invalid_arguments",
            "user_session_invalidated WADMIN invalid_arguments",
            "user_session_reset_by_admin WADMIN cannot_reset_primary_owner",
            "user_session_reset_by_admin WADMIN user_not_found",
            "user_session_reset_by_admin WBOT not_allowed_token_type",
            "user_session_reset_by_admin WADMIN missing_scope",
            "user_session_reset_by_admin WDANA not_an_admin",
        ]
    );
    let e = entries(&r);
    assert_eq!(e[0]["entity"]["user"]["id"], "WDANA", "{}", e[0]);
    assert_eq!(e[0]["details"]["duration"], 5);
    assert_eq!(e[1]["entity"]["user"]["id"], "WDANA");
    assert_eq!(e[6]["entity"]["user"]["id"], "WSAM");
    assert_eq!(e[6]["actor"]["user"]["name"], "dana");
    // Nothing was applied by any of them: WSAM's sessions are all there.
    let ids = session_ids(&s.store, "E1").await;
    assert!(ids.contains(&104) && ids.contains(&105), "{ids:?}");
    s.stop().await;
}

#[tokio::test]
async fn reading_needs_an_admin_user_token_with_the_scope() {
    let s = server().await;
    let r = logs(&s, Some(ADMIN), &[]).await;
    assert_eq!(r.error(), "missing_scope");
    assert_eq!(r.body["needed"], "auditlogs:read");
    assert_eq!(r.body["provided"], "admin.users:read,admin.users:write");
    assert_eq!(
        logs(&s, Some(MEMBER_AUDITOR), &[]).await.error(),
        "not_an_admin"
    );
    assert_eq!(
        logs(&s, Some(BOT_AUDITOR), &[]).await.error(),
        "not_allowed_token_type"
    );
    assert_eq!(logs(&s, None, &[]).await.error(), "not_authed");
    assert_eq!(
        logs(&s, Some("xoxp-nope"), &[]).await.error(),
        "invalid_auth"
    );
    let r = logs(&s, Some(AUDITOR), &[("limit", "0")]).await;
    assert_eq!(r.error(), "invalid_arguments");
    assert!(r.messages()[0].contains("limit"), "{:?}", r.messages());
    let r = logs(&s, Some(AUDITOR), &[("oldest", "10"), ("latest", "9")]).await;
    assert_eq!(r.error(), "invalid_arguments");
    // The token may come as a query argument too.
    let r = logs(&s, None, &[("token", AUDITOR)]).await;
    assert!(entries(&r).is_empty());
    assert_eq!(r.body["response_metadata"]["next_cursor"], "");
    // Reading is not itself an audited action.
    assert!(entries(&logs(&s, Some(AUDITOR), &[]).await).is_empty());
    s.stop().await;
}

#[tokio::test]
async fn orgs_see_only_their_own_entries() {
    let s = server().await;
    call(
        &s,
        "admin.users.session.reset",
        Some(ADMIN),
        &[("user_id", "WDANA")],
        &[],
    )
    .await;
    call(
        &s,
        "admin.users.session.reset",
        Some(OTHER_ADMIN),
        &[("user_id", "W9MEM")],
        &[],
    )
    .await;
    // Globex naming an Acme user: user_not_found, recorded in Globex only.
    call(
        &s,
        "admin.users.session.reset",
        Some(OTHER_ADMIN),
        &[("user_id", "WDANA")],
        &[],
    )
    .await;
    let acme = logs(&s, Some(AUDITOR), &[]).await;
    assert_eq!(
        actions(&acme),
        vec!["user_session_reset_by_admin WADMIN ok"]
    );
    let globex = logs(&s, Some(GLOBEX_AUDITOR), &[]).await;
    assert_eq!(
        actions(&globex),
        vec![
            "user_session_reset_by_admin W9ADMIN user_not_found",
            "user_session_reset_by_admin W9ADMIN ok",
        ]
    );
    assert_eq!(entries(&globex)[0]["context"]["location"]["id"], "E2");
    // Filters cannot reach across orgs.
    let r = logs(&s, Some(GLOBEX_AUDITOR), &[("actor", "WADMIN")]).await;
    assert!(entries(&r).is_empty());
    s.stop().await;
}

/// Resets each user in turn as the admin, each call succeeding.
async fn reset_each(s: &Server, users: &[&str]) {
    for user in users {
        let r = call(
            s,
            "admin.users.session.reset",
            Some(ADMIN),
            &[("user_id", user)],
            &[],
        )
        .await;
        assert_eq!(r.body["ok"], true, "{}", r.text);
    }
}

#[tokio::test]
async fn filters_and_signed_cursors_page_through_everything_once() {
    let s = server().await;
    reset_each(
        &s,
        &["WDANA", "WSAM", "WDANA", "WSAM", "WDANA", "WADMIN", "WDANA"],
    )
    .await;
    call(
        &s,
        "admin.users.session.setSettings",
        Some(OWNER),
        &[("user_ids", "WDANA,WSAM"), ("duration", "86400")],
        &[],
    )
    .await;
    // user=WDANA: 4 resets + the settings change (which names WDANA among others).
    let q = [("user", "WDANA"), ("limit", "2")];
    let mut seen = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let mut query = q.to_vec();
        if !cursor.is_empty() {
            query.push(("cursor", &cursor));
        }
        let r = logs(&s, Some(AUDITOR), &query).await;
        let page = entries(&r);
        assert!(page.len() <= 2);
        seen.extend(page.iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        pages += 1;
        cursor = r.body["response_metadata"]["next_cursor"]
            .as_str()
            .unwrap()
            .to_owned();
        if cursor.is_empty() {
            break;
        }
        // The cursor is bound to the filters and the org.
        let other = logs(&s, Some(AUDITOR), &[("user", "WSAM"), ("cursor", &cursor)]).await;
        assert_eq!(other.error(), "invalid_cursor", "{}", other.text);
        let foreign = logs(
            &s,
            Some(GLOBEX_AUDITOR),
            &[("user", "WDANA"), ("cursor", &cursor)],
        )
        .await;
        assert_eq!(foreign.error(), "invalid_cursor");
        let mut forged = cursor.clone().into_bytes();
        forged[3] = if forged[3] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        let r = logs(
            &s,
            Some(AUDITOR),
            &[("user", "WDANA"), ("limit", "2"), ("cursor", &forged)],
        )
        .await;
        assert_eq!(r.error(), "invalid_cursor");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 5);
    let mut ids: Vec<i64> = seen.iter().map(|s| s.parse().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    ids.dedup();
    assert_eq!(ids.len(), 5);

    let count = |r: &Resp| entries(r).len();
    assert_eq!(
        count(
            &logs(
                &s,
                Some(AUDITOR),
                &[("action", "user_session_reset_by_admin")]
            )
            .await
        ),
        7
    );
    assert_eq!(
        count(
            &logs(
                &s,
                Some(AUDITOR),
                &[("action", "user_session_settings_changed")]
            )
            .await
        ),
        1
    );
    assert_eq!(
        count(&logs(&s, Some(AUDITOR), &[("actor", "WOWNER")]).await),
        1
    );
    assert_eq!(
        count(&logs(&s, Some(AUDITOR), &[("user", "WSAM")]).await),
        3
    );
    let now = sessions_server::Clock::system().now().to_string();
    assert_eq!(
        count(&logs(&s, Some(AUDITOR), &[("latest", "1000")]).await),
        0
    );
    assert_eq!(
        count(&logs(&s, Some(AUDITOR), &[("oldest", "1000"), ("latest", &now)]).await),
        8
    );
    s.stop().await;
}

#[tokio::test]
async fn forwarded_for_is_used_only_when_trusted() {
    let forwarded = [("x-forwarded-for", "198.51.100.1, 198.51.100.77")];
    let s = server().await;
    call(
        &s,
        "admin.users.session.reset",
        Some(ADMIN),
        &[("user_id", "WDANA")],
        &forwarded,
    )
    .await;
    let e = entries(&logs(&s, Some(AUDITOR), &[]).await);
    assert_eq!(e[0]["context"]["ip_address"], "127.0.0.1");
    s.stop().await;

    let trusting = ServerSettings {
        trust_forwarded_for: true,
        ..options()
    };
    let s = start_with(trusting, Some(&fixture())).await;
    call(
        &s,
        "admin.users.session.reset",
        Some(ADMIN),
        &[("user_id", "WDANA")],
        &forwarded,
    )
    .await;
    call(
        &s,
        "admin.users.session.reset",
        Some(ADMIN),
        &[("user_id", "WSAM")],
        &[],
    )
    .await;
    let e = entries(&logs(&s, Some(AUDITOR), &[]).await);
    // The proxy's own entry (the last one), not what the client claimed first.
    assert_eq!(e[1]["context"]["ip_address"], "198.51.100.77");
    // Without the header, the peer.
    assert_eq!(e[0]["context"]["ip_address"], "127.0.0.1");
    s.stop().await;
}

#[tokio::test]
async fn bulk_job_entries_carry_each_users_outcome() {
    let s = server().await;
    // Duplicates collapse: one entry per distinct user.
    let r = call(
        &s,
        "admin.users.session.resetBulk",
        Some(ADMIN),
        &[("user_ids", "WDANA,WSAM,WDANA"), ("web_only", "true")],
        &[],
    )
    .await;
    assert_eq!(r.body["ok"], true, "{}", r.text);
    let job: i64 = r.header("x-sessions-job-id").unwrap().parse().unwrap();
    wait_for_entries(&s, "E1", 3).await;
    let r = logs(&s, Some(AUDITOR), &[]).await;
    let e = entries(&r);
    assert_eq!(e.len(), 3, "{}", r.text);
    let bulk = &e[2];
    assert_eq!(bulk["action"], "bulk_session_reset_by_admin");
    assert_eq!(bulk["entity"]["type"], "users");
    assert_eq!(bulk["details"]["user_ids"], json!(["WDANA", "WSAM"]));
    assert_eq!(bulk["details"]["job_id"], job);
    assert_eq!(bulk["details"]["scope"], "web_only");
    let mut per_user: Vec<(String, String)> = e[..2]
        .iter()
        .map(|x| {
            assert_eq!(x["action"], "user_session_reset_by_admin");
            assert_eq!(x["details"]["job_id"], job);
            assert_eq!(x["details"]["method"], "admin.users.session.resetBulk");
            assert_eq!(x["context"]["ua"], UA, "the enqueuing call's context");
            (
                x["entity"]["user"]["id"].as_str().unwrap().to_owned(),
                x["details"]["result"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    per_user.sort();
    assert_eq!(
        per_user,
        vec![("WDANA".into(), "ok".into()), ("WSAM".into(), "ok".into())]
    );
    s.stop().await;
}

#[tokio::test]
async fn nodes_sharing_a_store_share_the_log_and_its_cursors() {
    let a = server().await;
    let b = a.second_node(options()).await;
    for (node, user) in [(&a, "WDANA"), (&b, "WSAM"), (&a, "WADMIN")] {
        let r = call(
            node,
            "admin.users.session.reset",
            Some(ADMIN),
            &[("user_id", user)],
            &[],
        )
        .await;
        assert_eq!(r.body["ok"], true, "{}", r.text);
    }
    let first = logs(&a, Some(AUDITOR), &[("limit", "2")]).await;
    assert_eq!(entries(&first).len(), 2);
    let cursor = first.body["response_metadata"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    // Node B continues node A's walk.
    let rest = logs(&b, Some(AUDITOR), &[("limit", "2"), ("cursor", &cursor)]).await;
    let rest = entries(&rest);
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0]["entity"]["user"]["id"], "WDANA");
    let all_b = entries(&logs(&b, Some(AUDITOR), &[]).await);
    assert_eq!(all_b, entries(&logs(&a, Some(AUDITOR), &[]).await));
    b.halt().await;
    a.stop().await;
}

/// With a retention set, entries older than it (by the server's clock) are deleted in the
/// background; newer ones stay.
#[tokio::test]
async fn retention_deletes_entries_past_it_and_keeps_newer_ones() {
    let mut opts = options();
    opts.audit_retention = Some(Duration::from_secs(86_400));
    opts.audit_prune_every = Duration::from_millis(20);
    let s = start_with(opts, Some(&fixture())).await;
    let old = call(
        &s,
        "admin.users.session.reset",
        Some(ADMIN),
        &[("user_id", "WSAM")],
        &[],
    )
    .await;
    assert_eq!(old.body["ok"], true, "{}", old.text);
    wait_for_entries(&s, "E1", 1).await;
    // A day and a bit later that entry is past retention.
    let v = s
        .control(
            reqwest::Method::POST,
            "clock",
            Some(json!({"advance": 86_401})),
        )
        .await;
    assert_eq!(v.body["ok"], true, "{}", v.text);
    let new = call(
        &s,
        "admin.users.session.reset",
        Some(ADMIN),
        &[("user_id", "WDANA")],
        &[],
    )
    .await;
    assert_eq!(new.body["ok"], true, "{}", new.text);
    let left = wait_until_entries(&s, "E1", |len| len == 1).await;
    assert_eq!(left[0].target_user_ids, vec!["WDANA".to_string()]);
    // The API answers from what is left.
    let r = logs(&s, Some(AUDITOR), &[]).await;
    assert_eq!(entries(&r).len(), 1, "{}", r.text);
}

/// Without a retention nothing is ever deleted, however old.
#[tokio::test]
async fn without_retention_entries_are_kept() {
    let s = server().await;
    let r = call(
        &s,
        "admin.users.session.reset",
        Some(ADMIN),
        &[("user_id", "WSAM")],
        &[],
    )
    .await;
    assert_eq!(r.body["ok"], true, "{}", r.text);
    wait_for_entries(&s, "E1", 1).await;
    s.control(
        reqwest::Method::POST,
        "clock",
        Some(json!({"advance": 10 * 365 * 86_400})),
    )
    .await;
    // Nothing to wait for: the clock has moved when its call returns, and deletion happens only
    // in the retention worker, which prunes as soon as it starts. The store's metrics prove it
    // never ran: no prune call at all.
    let metrics = s.metrics().await;
    assert!(metrics.contains(r#"op="reset_user""#), "{metrics}");
    assert!(!metrics.contains(r#"op="prune_audit""#), "{metrics}");
    assert_eq!(entries(&logs(&s, Some(AUDITOR), &[]).await).len(), 1);
}

/// The store's `authenticate` calls so far, as `/metrics` counts them.
async fn authentications(s: &Server) -> f64 {
    let (_, text) = crate::observe::get(format!("{}/metrics", s.base)).await;
    crate::observe::sample(
        &text,
        r#"sessions_store_operation_duration_seconds_count{op="authenticate"}"#,
    )
    .unwrap_or(0.0)
}

/// A refused call looks its token up exactly once, whether authorization refuses it (the
/// refusal's entry names the principal authorization found), its arguments do, or the
/// service does; and so does a refused read of the audit log.
#[tokio::test]
async fn a_refused_call_authenticates_its_token_once() {
    let s = server().await;
    const RESET: &str = "admin.users.session.reset";
    const INVALIDATE: &str = "admin.users.session.invalidate";
    let (sam, dana, nobody) = (
        [("user_id", "WSAM")],
        [("user_id", "WDANA")],
        [("user_id", "WNOPE")],
    );
    // (method, token, form, expected code)
    let cases = [
        (RESET, MEMBER, &sam, "not_an_admin"),
        (RESET, READ_ONLY, &sam, "missing_scope"),
        (RESET, BOT, &sam, "not_allowed_token_type"),
        (INVALIDATE, ADMIN, &dana, "invalid_arguments"),
        (RESET, ADMIN, &nobody, "user_not_found"),
    ];
    for (method, token, form, code) in cases {
        let before = authentications(&s).await;
        let r = call(&s, method, Some(token), form, &[]).await;
        assert_eq!(r.error(), code, "{}", r.text);
        assert_eq!(authentications(&s).await - before, 1.0, "{method} {code}");
    }
    let before = authentications(&s).await;
    assert_eq!(logs(&s, Some(ADMIN), &[]).await.error(), "missing_scope");
    assert_eq!(authentications(&s).await - before, 1.0, "audit log read");
    // Every refusal was recorded, under the actor authorization found.
    assert_eq!(
        actions(&logs(&s, Some(AUDITOR), &[]).await),
        vec![
            "user_session_reset_by_admin WADMIN user_not_found",
            "user_session_invalidated WADMIN invalid_arguments",
            "user_session_reset_by_admin WBOT not_allowed_token_type",
            "user_session_reset_by_admin WADMIN missing_scope",
            "user_session_reset_by_admin WDANA not_an_admin",
        ]
    );
    s.stop().await;
}

/// One key signs every cursor, each kind under its own domain tag: a cursor of one listing
/// (`admin.users.session.list`, `users.list`, the audit log) is refused by every other one with
/// `invalid_cursor`, and still pages where it was issued.
#[tokio::test]
async fn cursors_of_one_listing_are_refused_by_the_others() {
    let s = server().await;
    reset_each(&s, &["WSAM", "WADMIN"]).await;
    // A session token may list users (see `service::users`).
    const DANA: &str = "xoxc-dana-desktop";
    let next = |r: Resp| {
        let c = r.body["response_metadata"]["next_cursor"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(!c.is_empty(), "expected a next page: {}", r.text);
        c
    };
    let audit = next(logs(&s, Some(AUDITOR), &[("limit", "1")]).await);
    let sessions = next(
        s.post_form("admin.users.session.list", Some(AUDITOR), &[("limit", "1")])
            .await,
    );
    let users = next(
        s.post_form("users.list", Some(DANA), &[("limit", "1")])
            .await,
    );

    let read = |kind: &'static str, cursor: String| {
        let s = &s;
        async move {
            let form = [("limit", "1"), ("cursor", cursor.as_str())];
            match kind {
                "audit" => logs(s, Some(AUDITOR), &form).await,
                "sessions" => {
                    s.post_form("admin.users.session.list", Some(AUDITOR), &form)
                        .await
                }
                _ => s.post_form("users.list", Some(DANA), &form).await,
            }
        }
    };
    let all = [
        ("audit", &audit),
        ("sessions", &sessions),
        ("users", &users),
    ];
    for (issued_by, cursor) in all {
        for (read_by, _) in all {
            let r = read(read_by, cursor.clone()).await;
            if read_by == issued_by {
                assert_eq!(r.body["ok"], true, "{issued_by}: {}", r.text);
            } else {
                assert_eq!(
                    r.error(),
                    "invalid_cursor",
                    "{issued_by} cursor read by {read_by}: {}",
                    r.text
                );
                assert_eq!(
                    r.messages(),
                    vec!["[ERROR] cursor was issued by another method"],
                    "{issued_by} cursor read by {read_by}"
                );
            }
        }
    }
    s.stop().await;
}
