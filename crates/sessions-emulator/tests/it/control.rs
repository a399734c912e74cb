use sessions_emulator::{EmulatorConfig, RateLimitMode};

use crate::support::start;

#[tokio::test]
async fn overview_shows_every_control() {
    let app = start(EmulatorConfig {
        rate_limits: RateLimitMode::Slack,
        seed: 99,
        log_capacity: 10,
        ..Default::default()
    })
    .await;
    app.call("auth.test", "t", "").await;
    // Nested at /control/emulator, the overview answers at exactly that path.
    let v = app.control_ok("GET", "", None).await;
    assert_eq!(v["rate_limits"]["mode"], "slack");
    assert_eq!(
        v["rate_limits"]["effective"]["admin.users.session.list"]["per_minute"],
        20
    );
    assert_eq!(
        v["rate_limits"]["effective"]["admin.users.session.getSettings"]["per_minute"],
        100
    );
    assert_eq!(v["faults"]["seed"], 99);
    assert_eq!(v["requests"]["held"], 1);
    assert_eq!(v["requests"]["capacity"], 10);
    assert_eq!(v["clock"]["offset"], 0);
}

#[tokio::test]
async fn unknown_paths_and_verbs_get_json_errors() {
    let app = start(EmulatorConfig::default()).await;
    let a = app.control("GET", "/nope", None).await;
    assert_eq!(a.status, 404);
    assert_eq!(a.json()["error"], "not_found");
    let a = app.control("PATCH", "/clock", Some("{}")).await;
    assert_eq!(a.status, 405);
    assert_eq!(a.json()["error"], "method_not_allowed");
}

#[tokio::test]
async fn control_calls_are_not_logged_or_limited() {
    let app = start(EmulatorConfig::default()).await;
    app.control_ok(
        "PUT",
        "/rate-limits",
        Some(r#"{"mode":"custom","overrides":{"auth.test":{"per_minute":1}}}"#),
    )
    .await;
    app.control_ok("POST", "/faults", Some(r#"{"action":"drop"}"#))
        .await;
    for _ in 0..5 {
        app.control_ok("GET", "/clock", None).await;
    }
    assert!(app.requests("").await.is_empty());
}

/// The control API's JSON shapes, pinned: what scripts and the CLI depend on.
#[tokio::test]
async fn response_shapes() {
    let app = start(EmulatorConfig {
        rate_limits: RateLimitMode::Slack,
        ..Default::default()
    })
    .await;
    let limits = app
        .control_ok(
            "PUT",
            "/rate-limits",
            Some(r#"{"overrides":{"admin.users.session.list":{"per_minute":5,"burst":1}}}"#),
        )
        .await;
    insta::assert_json_snapshot!("rate_limits", limits);

    let rules = app
        .control_ok(
            "POST",
            "/faults",
            Some(
                r#"[{"method":"auth.test","action":"error","error":"invalid_auth","times":2},
                    {"action":"status","status":429,"retry_after":30,"probability":0.1},
                    {"method":"admin.users.session.reset","action":"drop","after":true},
                    {"action":"delay","ms":250}]"#,
            ),
        )
        .await;
    insta::assert_json_snapshot!("fault_rules", rules);

    app.control_ok("DELETE", "/faults", None).await;
    app.http
        .post(format!(
            "{}/api/admin.users.session.invalidate?team_id=T1",
            app.base
        ))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=xoxp-1&session_id=42")
        .send()
        .await
        .unwrap();
    let log = app.control_ok("GET", "/requests", None).await;
    insta::assert_json_snapshot!("request_log", log, {
        ".requests[].time" => "[time]",
        ".requests[].time_rfc3339" => "[time]",
        ".requests[].duration_ms" => "[ms]",
    });
}

/// The server builds a `Router<AppState>` and calls `with_state` last; the control router and
/// the layer must fit into that shape.
#[tokio::test]
async fn mounts_inside_a_stateful_router() {
    #[derive(Clone)]
    struct AppState {
        greeting: &'static str,
    }
    let emu = sessions_emulator::Emulator::default();
    let app: axum::Router = axum::Router::<AppState>::new()
        .route(
            "/api/{method}",
            axum::routing::post(
                |axum::extract::State(s): axum::extract::State<AppState>| async move {
                    format!(r#"{{"ok":true,"greeting":"{}"}}"#, s.greeting)
                },
            ),
        )
        .route_layer(emu.layer())
        .nest("/control/emulator", emu.control_router())
        .with_state(AppState { greeting: "hi" });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::new();
    let text = http
        .post(format!("http://{addr}/api/auth.test"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text, r#"{"ok":true,"greeting":"hi"}"#);
    let log = http
        .get(format!("http://{addr}/control/emulator/requests"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(log.contains(r#""method":"auth.test""#), "{log}");
}
