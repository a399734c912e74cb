use sessions_emulator::EmulatorConfig;

use crate::support::start;

#[tokio::test]
async fn calls_are_logged_with_secrets_redacted() {
    let app = start(EmulatorConfig::default()).await;
    app.http
        .post(format!(
            "{}/api/admin.users.session.resetBulk?team_id=T1",
            app.base
        ))
        .bearer_auth("xoxp-header-secret")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=xoxp-body-secret&user_ids=U1&user_ids=U2&mobile_only=true")
        .send()
        .await
        .unwrap();
    app.call(
        "admin.users.session.list",
        "t",
        "fail=invalid_cursor&cursor=abc",
    )
    .await;
    app.http
        .post(format!("{}/api/admin.users.session.setSettings", app.base))
        .header("content-type", "application/json; charset=utf-8")
        .body(r#"{"token":"xoxp-json-secret","user_ids":["U9"],"duration":28800}"#)
        .send()
        .await
        .unwrap();

    let raw = app.control("GET", "/requests", None).await.text;
    for secret in ["xoxp-header-secret", "xoxp-body-secret", "xoxp-json-secret"] {
        assert!(!raw.contains(secret), "{secret} leaked: {raw}");
    }
    let logged = app.requests("").await;
    assert_eq!(logged.len(), 3);
    let first = &logged[0];
    assert_eq!(first["method"], "admin.users.session.resetBulk");
    assert_eq!(first["http_method"], "POST");
    assert_eq!(first["args"]["token"], "[redacted]");
    assert_eq!(first["args"]["team_id"], "T1");
    assert_eq!(first["args"]["user_ids"], serde_json::json!(["U1", "U2"]));
    assert_eq!(first["args"]["mobile_only"], "true");
    assert_eq!(first["answer"], "ok");
    assert_eq!(first["status"], 200);
    assert_eq!(first["args_truncated"], false);
    assert!(first.get("fault").is_none());
    assert_eq!(
        first["time_rfc3339"],
        sessions_emulator::rfc3339(first["time"].as_i64().unwrap())
    );

    assert_eq!(logged[1]["answer"], "invalid_cursor");
    assert_eq!(logged[1]["args"]["cursor"], "abc");
    assert_eq!(logged[2]["args"]["token"], "[redacted]");
    assert_eq!(logged[2]["args"]["user_ids"], serde_json::json!(["U9"]));
    assert_eq!(logged[2]["args"]["duration"], 28800);
    let ids: Vec<u64> = logged.iter().map(|r| r["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, [1, 2, 3], "newest last");
}

#[tokio::test]
async fn filter_limit_after_and_clear() {
    let app = start(EmulatorConfig::default()).await;
    for m in [
        "auth.test",
        "admin.users.session.list",
        "auth.test",
        "auth.test",
    ] {
        app.call(m, "t", "").await;
    }
    let only = app.requests("?method=auth.test&limit=2").await;
    let ids: Vec<u64> = only.iter().map(|r| r["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, [3, 4]);
    let after = app.requests("?after=2").await;
    assert_eq!(after.len(), 2);
    let a = app.control("GET", "/requests?limit=many", None).await;
    assert_eq!(a.status, 400);
    assert!(
        a.json()["message"].as_str().unwrap().contains("query"),
        "{}",
        a.text
    );
    let a = app.control("GET", "/requests?metod=auth.test", None).await;
    assert_eq!(a.status, 400, "{}", a.text);

    let v = app.control_ok("DELETE", "/requests", None).await;
    assert_eq!(v["requests"], serde_json::json!([]));
    assert!(app.requests("").await.is_empty());
    app.call("auth.test", "t", "").await;
    assert_eq!(
        app.requests("").await[0]["id"],
        5,
        "ids keep increasing after a clear"
    );
}

#[tokio::test]
async fn capacity_bounds_the_log() {
    let app = start(EmulatorConfig {
        log_capacity: 3,
        ..Default::default()
    })
    .await;
    for _ in 0..5 {
        app.call("auth.test", "t", "").await;
    }
    let ids: Vec<u64> = app
        .requests("")
        .await
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [3, 4, 5]);
    assert_eq!(
        app.control_ok("GET", "/requests", None).await["capacity"],
        3
    );
}

#[tokio::test]
async fn large_bodies_pass_through_whole_and_are_logged_as_truncated() {
    let app = start(EmulatorConfig::default()).await;
    let big = format!("user_ids={}", "U1234567,".repeat(20_000));
    let a = app.call("admin.users.session.resetBulk", "t", &big).await;
    assert_eq!(a.json()["body_len"], big.len());
    let logged = app.requests("").await;
    assert_eq!(logged[0]["args_truncated"], true);
    assert!(logged[0]["args"].get("user_ids").is_none());
    assert_eq!(logged[0]["answer"], "ok");
}

#[tokio::test]
async fn refused_calls_are_logged_too() {
    let app = start(EmulatorConfig::default()).await;
    app.control_ok(
        "PUT",
        "/rate-limits",
        Some(r#"{"mode":"custom","overrides":{"auth.test":{"per_minute":1}}}"#),
    )
    .await;
    app.call("auth.test", "t", "").await;
    app.call("auth.test", "t", "").await;
    app.control_ok(
        "POST",
        "/faults",
        Some(r#"{"action":"error","error":"not_authed","times":1}"#),
    )
    .await;
    app.call("admin.users.session.list", "t", "").await;
    let logged = app.requests("").await;
    assert_eq!(logged[1]["answer"], "ratelimited");
    assert_eq!(logged[1]["status"], 429);
    assert_eq!(logged[2]["answer"], "not_authed");
    assert_eq!(logged[2]["fault"], "#1 error not_authed");
}

#[tokio::test]
async fn the_server_may_record_entries_itself() {
    let app = start(EmulatorConfig::default()).await;
    app.call("auth.test", "t", "").await;
    let mut entry = app.emu.log().list(&Default::default())[0].clone();
    entry.args.insert("token".into(), "xoxp-oops".into());
    let id = app.emu.log().record(entry);
    assert_eq!(id, 2);
    let logged = app.requests("").await;
    assert_eq!(
        logged[1]["args"]["token"], "[redacted]",
        "record() redacts as well"
    );
}

#[tokio::test]
async fn query_and_multipart_arguments_are_captured() {
    let app = start(EmulatorConfig::default()).await;
    app.http
        .get(format!("{}/api/auth.test?token=xoxp-q&pretty=1", app.base))
        .send()
        .await
        .unwrap();
    let body = "--XyZ\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\nxoxp-m\r\n\
                --XyZ\r\nContent-Disposition: form-data; name=\"user_id\"\r\n\r\nW1\r\n\
                --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\
                Content-Type: text/plain\r\n\r\nhello\r\n--XyZ--\r\n";
    let a = app
        .http
        .post(format!("{}/api/admin.users.session.reset", app.base))
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(a.status(), 200);
    // The server still received the whole multipart body.
    let echoed: serde_json::Value = serde_json::from_str(&a.text().await.unwrap()).unwrap();
    assert_eq!(echoed["body_len"], body.len());
    let logged = app.requests("").await;
    assert_eq!(logged[0]["http_method"], "GET");
    assert_eq!(
        logged[0]["args"],
        serde_json::json!({"token": "[redacted]", "pretty": "1"})
    );
    assert_eq!(
        logged[1]["args"],
        serde_json::json!({"token": "[redacted]", "user_id": "W1", "file": "[file]"})
    );
    let raw = app.control("GET", "/requests", None).await.text;
    assert!(!raw.contains("xoxp-"), "{raw}");
}
