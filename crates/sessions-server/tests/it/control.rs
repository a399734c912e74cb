//! The control API.

use reqwest::Method;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn control_requires_the_control_token() {
    let s = start().await;
    let r = Resp::from(
        http()
            .get(format!("{}/control/health", s.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.error(), "not_authed");
    let r = Resp::from(
        http()
            .get(format!("{}/control/health", s.base))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.error(), "invalid_auth");
    let r = s.control(Method::GET, "health", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["node_id"], "test-node");
    assert_eq!(r.body["pending_jobs"], 0);
}

#[tokio::test]
async fn sign_in_validates_its_input() {
    let s = start().await;
    let bad = [
        (
            json!({"org_id":"E1","user_id":"WDANA","client":"fax"}),
            400,
            "invalid_client",
        ),
        (
            json!({"org_id":"E1","user_id":"W404","client":"web"}),
            404,
            "user_not_found",
        ),
        (
            json!({"org_id":"E1","user_id":"WDANA","team_id":"T2","client":"web"}),
            400,
            "team_not_found",
        ),
        (json!({"org_id":"E1","client":"web"}), 400, "invalid_json"),
    ];
    for (body, status, code) in bad {
        let r = s
            .control(Method::POST, "sessions", Some(body.clone()))
            .await;
        assert_eq!((r.status, r.error()), (status, code), "{body}: {}", r.text);
    }
    // org found from the user alone; team defaults to the user's first
    let r = s
        .control(
            Method::POST,
            "sessions",
            Some(json!({"user_id":"W9MEM","client":"android"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["org_id"], "E2");
    assert_eq!(r.body["team_id"], "T9");
    assert!(r.body["token"].as_str().unwrap().starts_with("xoxc-"));
    // not malformed JSON
    let r = Resp::from(
        http()
            .post(format!("{}/control/sessions", s.base))
            .bearer_auth(CONTROL)
            .body("{")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn fixtures_load_all_or_nothing_and_reset_wipes() {
    let s = start_with(options(), None).await;
    let bad =
        r#"{"orgs":[{"id":"E5","teams":[{"id":"T1"}],"users":[{"id":"W1","role":"emperor"}]}]}"#;
    let r = Resp::from(
        http()
            .post(format!("{}/control/fixtures", s.base))
            .bearer_auth(CONTROL)
            .body(bad)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error(), "fixture_refused");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("users[0] (W1)"),
        "{}",
        r.text
    );
    assert_eq!(s.store.dump(None).await.unwrap().orgs.len(), 0);

    let r = Resp::from(
        http()
            .post(format!("{}/control/fixtures", s.base))
            .bearer_auth(CONTROL)
            .body(FIXTURE)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(s.client(ADMIN).auth_test().await.unwrap().user_id, "WADMIN");

    let r = s.control(Method::GET, "dump?org_id=E2", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["orgs"][0]["id"], "E2");
    assert!(
        !r.text.contains("xoxp-globex-admin"),
        "dumps leave tokens out"
    );

    let r = s.control(Method::POST, "reset", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        code(s.client(ADMIN).auth_test().await.unwrap_err()),
        "invalid_auth"
    );
}

#[tokio::test]
async fn jobs_and_clock() {
    let s = start().await;
    let r = s.control(Method::GET, "jobs/E1/999", None).await;
    assert_eq!(r.status, 404);
    let r = s.control(Method::GET, "jobs/E1/abc", None).await;
    assert_eq!(r.status, 400);

    // moving the clock expires sessions of users with a duration
    let r = s
        .control(Method::POST, "clock", Some(json!({"advance": 86_401})))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["offset"], 86_401);
    let page = s
        .client(ADMIN)
        .admin_users_session_list(sessions_client::ListRequest::org())
        .await
        .unwrap();
    let ids: Vec<u64> = page
        .active_sessions
        .iter()
        .map(|a| a.session_id.0)
        .collect();
    assert!(
        !ids.contains(&104) && !ids.contains(&105),
        "WSAM's sessions outlived 86400s: {ids:?}"
    );
    assert!(ids.contains(&101));
    assert_eq!(
        code(s.client("xoxc-sam-android").auth_test().await.unwrap_err()),
        "invalid_auth"
    );
}
