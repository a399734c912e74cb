use std::time::{Duration, Instant};

use sessions_emulator::EmulatorConfig;

use crate::support::{start, TestApp};

#[tokio::test]
async fn next_n_calls_get_the_injected_error_without_reaching_the_server() {
    let app = start(EmulatorConfig::default()).await;
    let v = app
        .control_ok(
            "POST",
            "/faults",
            Some(r#"{"method":"admin.users.session.list","action":"error","error":"internal_error","times":2}"#),
        )
        .await;
    let id = v["rule"]["id"].as_u64().unwrap();
    assert_eq!(v["rule"]["times"], 2);

    // Another method is untouched.
    assert_eq!(app.call("auth.test", "t", "").await.json()["ok"], true);
    for _ in 0..2 {
        let a = app.call("admin.users.session.list", "t", "").await;
        assert_eq!(a.status, 200);
        assert_eq!(a.text, r#"{"ok":false,"error":"internal_error"}"#);
        assert_eq!(a.header("x-emulator-fault"), Some(id.to_string().as_str()));
    }
    assert_eq!(app.handled(), 1);
    assert_eq!(
        app.call("admin.users.session.list", "t", "").await.json()["ok"],
        true
    );
    assert_eq!(app.handled(), 2);
    let v = app.control_ok("GET", "/faults", None).await;
    assert_eq!(v["rules"], serde_json::json!([]), "spent rules disappear");
}

#[tokio::test]
async fn http_status_faults_carry_a_json_body_and_retry_after() {
    let app = start(EmulatorConfig::default()).await;
    app.control_ok(
        "POST",
        "/faults",
        Some(
            r#"[{"action":"status","status":503,"retry_after":7,"times":1},
                 {"action":"status","status":500,"error":"fatal_error","times":1}]"#,
        ),
    )
    .await;
    let a = app.call("admin.users.session.reset", "t", "").await;
    assert_eq!(a.status, 503);
    assert_eq!(a.header("retry-after"), Some("7"));
    assert_eq!(
        a.json(),
        serde_json::json!({"ok": false, "error": "service_unavailable"})
    );
    let a = app.call("admin.users.session.reset", "t", "").await;
    assert_eq!(a.status, 500);
    assert_eq!(a.json()["error"], "fatal_error");
    assert_eq!(
        app.call("admin.users.session.reset", "t", "").await.status,
        200
    );
    assert_eq!(app.handled(), 1);
}

/// Runs 40 calls under a p=0.5 rule and returns which ones were faulted.
async fn pattern(app: &TestApp) -> Vec<bool> {
    let mut out = Vec::new();
    for _ in 0..40 {
        let a = app.call("auth.test", "t", "").await;
        out.push(a.json()["ok"] == false);
    }
    out
}

const COIN: &str = r#"{"action":"error","error":"fatal_error","probability":0.5}"#;

#[tokio::test]
async fn seeded_probability_faults_repeat_across_runs() {
    let run = |seed| async move {
        let app = start(EmulatorConfig {
            seed,
            ..Default::default()
        })
        .await;
        app.control_ok("POST", "/faults", Some(COIN)).await;
        pattern(&app).await
    };
    let first = run(7).await;
    let second = run(7).await;
    assert_eq!(first, second);
    let hits = first.iter().filter(|f| **f).count();
    assert!((5..=35).contains(&hits), "p=0.5 gave {hits}/40");
    assert_ne!(first, run(8).await, "another seed gives another sequence");

    // Within one process: clearing restarts the sequence; a new seed switches it.
    let app = start(EmulatorConfig {
        seed: 7,
        ..Default::default()
    })
    .await;
    app.control_ok("POST", "/faults", Some(COIN)).await;
    pattern(&app).await;
    app.control_ok("DELETE", "/faults", None).await;
    app.control_ok("POST", "/faults", Some(COIN)).await;
    assert_eq!(pattern(&app).await, first);
    app.control_ok("PUT", "/faults/seed", Some(r#"{"seed": 8}"#))
        .await;
    assert_eq!(app.control_ok("GET", "/faults/seed", None).await["seed"], 8);
    assert_ne!(pattern(&app).await, first);
}

#[tokio::test]
async fn delays_slow_the_call_then_it_proceeds() {
    let app = start(EmulatorConfig::default()).await;
    app.control_ok(
        "POST",
        "/faults",
        Some(r#"{"method":"auth.test","action":"delay","ms":300,"times":1}"#),
    )
    .await;
    let t = Instant::now();
    let a = app.call("auth.test", "t", "").await;
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(a.json()["ok"], true);
    assert_eq!(app.handled(), 1);
    let logged = app.requests("").await;
    assert!(logged[0]["duration_ms"].as_u64().unwrap() >= 300);
    assert_eq!(logged[0]["fault"], "#1 delay 300ms");
}

#[tokio::test]
async fn dropped_connections_reach_the_client_as_errors() {
    let app = start(EmulatorConfig::default()).await;
    app.control_ok("POST", "/faults", Some(r#"{"action":"drop","times":1}"#))
        .await;
    // Not even a status line arrives: `send` itself fails.
    let err = app
        .http
        .post(format!("{}/api/admin.users.session.invalidate", app.base))
        .send()
        .await
        .unwrap_err();
    assert!(
        err.is_request() && !err.is_status(),
        "a drop is not an HTTP answer: {err:?}"
    );
    assert_eq!(
        app.handled(),
        0,
        "a drop before the call never reaches the server"
    );
    // The next call, on a fresh connection, is answered.
    assert_eq!(
        app.call("admin.users.session.invalidate", "t", "")
            .await
            .status,
        200
    );

    // `after`: the server did the work but the answer is lost (what retries must survive).
    app.control_ok(
        "POST",
        "/faults",
        Some(r#"{"action":"drop","times":1,"after":true}"#),
    )
    .await;
    assert!(app
        .try_call("admin.users.session.invalidate", "t", "")
        .await
        .is_err());
    assert_eq!(app.handled(), 2);

    let logged = app.requests("").await;
    assert_eq!(logged.len(), 3);
    assert_eq!(logged[0]["answer"], "dropped");
    assert_eq!(logged[0]["status"], serde_json::Value::Null);
    assert_eq!(logged[2]["answer"], "dropped");
}

#[tokio::test]
async fn error_after_the_call_replaces_a_real_answer() {
    let app = start(EmulatorConfig::default()).await;
    app.control_ok(
        "POST",
        "/faults",
        Some(r#"{"action":"error","error":"internal_error","times":1,"after":true}"#),
    )
    .await;
    let a = app.call("admin.users.session.reset", "t", "").await;
    assert_eq!(a.json()["error"], "internal_error");
    assert_eq!(app.handled(), 1);
}

#[tokio::test]
async fn rules_are_listed_and_removed_one_by_one() {
    let app = start(EmulatorConfig::default()).await;
    let v = app
        .control_ok(
            "POST",
            "/faults",
            Some(r#"[{"method":"auth.test","action":"drop"},{"action":"delay","ms":5,"probability":0.25}]"#),
        )
        .await;
    let ids: Vec<u64> = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2]);
    let listed = app.control_ok("GET", "/faults", None).await;
    assert_eq!(listed["rules"], v["rules"]);
    assert_eq!(listed["rules"][0]["method"], "auth.test");
    assert_eq!(listed["rules"][1]["method"], "*");
    assert_eq!(listed["rules"][1]["probability"], 0.25);

    app.control_ok("DELETE", "/faults/1", None).await;
    let a = app.control("DELETE", "/faults/1", None).await;
    assert_eq!(a.status, 404);
    assert_eq!(a.json()["error"], "fault_not_found");
    let a = app.control("DELETE", "/faults/one", None).await;
    assert_eq!(a.status, 400);
    let listed = app.control_ok("GET", "/faults", None).await;
    assert_eq!(listed["rules"].as_array().unwrap().len(), 1);
    assert_eq!(listed["rules"][0]["id"], 2);
}

#[tokio::test]
async fn bad_rules_get_json_400s_and_add_nothing() {
    let app = start(EmulatorConfig::default()).await;
    for (body, needle) in [
        (r#"{"action":"error"}"#, "needs `error`"),
        (r#"{"action":"error","error":"x","tims":2}"#, "tims"),
        (r#"{"action":"status","status":302}"#, "400..=599"),
        (
            r#"{"action":"drop","method":"chat.postMessage"}"#,
            "chat.postMessage",
        ),
        (r#"{"action":"drop","probability":0}"#, "probability"),
        (r#"[{"action":"drop"},{"action":"delay"}]"#, "rule 1"),
        (r#"[{"action":"drop"},{"acton":"delay"}]"#, "index 1"),
        (r#""drop""#, "invalid fault rule"),
        ("", "JSON body is required"),
    ] {
        let a = app.control("POST", "/faults", Some(body)).await;
        assert_eq!(a.status, 400, "{body}: {}", a.text);
        let v = a.json();
        assert_eq!(v["ok"], false);
        assert!(
            v["message"].as_str().unwrap().contains(needle),
            "{body}: {}",
            a.text
        );
    }
    assert_eq!(
        app.control_ok("GET", "/faults", None).await["rules"],
        serde_json::json!([])
    );
}
