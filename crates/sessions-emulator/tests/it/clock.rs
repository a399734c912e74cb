use sessions_emulator::EmulatorConfig;

use crate::support::start;

fn system_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn clock_advances_and_is_shared_with_the_server() {
    let app = start(EmulatorConfig::default()).await;
    let server_clock = app.emu.clock();
    let v = app.control_ok("GET", "/clock", None).await;
    assert_eq!(v["offset"], 0);
    let now = v["now"].as_i64().unwrap();
    assert!((now - system_now()).abs() <= 2);
    assert_eq!(v["now_rfc3339"], sessions_emulator::rfc3339(now));

    let before = system_now();
    let v = app
        .control_ok("POST", "/clock/advance", Some(r#"{"seconds": 86400}"#))
        .await;
    assert_eq!(v["offset"], 86400);
    assert!(v["now"].as_i64().unwrap() >= before + 86400);
    assert!(server_clock.now_unix() >= before + 86400);
    assert_eq!(server_clock.offset(), 86400);

    // The request log stamps calls with the emulated time.
    app.call("auth.test", "t", "").await;
    let logged = app.requests("").await;
    assert!(logged[0]["time"].as_i64().unwrap() >= before + 86400);

    let v = app
        .control_ok("POST", "/clock/advance", Some(r#"{"seconds": -400}"#))
        .await;
    assert_eq!(v["offset"], 86000);
    let v = app
        .control_ok("PUT", "/clock", Some(r#"{"offset": 0}"#))
        .await;
    assert_eq!(v["offset"], 0);
    assert_eq!(server_clock.offset(), 0);
}

#[tokio::test]
async fn bad_clock_requests_get_json_400s() {
    let app = start(EmulatorConfig::default()).await;
    for (verb, path, body, needle) in [
        (
            "POST",
            "/clock/advance",
            Some(r#"{"seconds": "soon"}"#),
            "invalid type",
        ),
        ("POST", "/clock/advance", Some(r#"{}"#), "seconds"),
        (
            "POST",
            "/clock/advance",
            Some(r#"{"seconds": 1, "minutes": 2}"#),
            "minutes",
        ),
        ("POST", "/clock/advance", None, "JSON body is required"),
        ("PUT", "/clock", Some(r#"{"offset": 1.5}"#), "expected i64"),
    ] {
        let a = app.control(verb, path, body).await;
        assert_eq!(a.status, 400, "{body:?}: {}", a.text);
        let v = a.json();
        assert_eq!(v["error"], "invalid_request");
        assert!(
            v["message"].as_str().unwrap().contains(needle),
            "{body:?}: {}",
            a.text
        );
    }
    assert_eq!(app.emu.clock().offset(), 0);
}
