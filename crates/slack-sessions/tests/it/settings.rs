use serde_json::{json, Value};

use crate::harness::Server;

#[test]
fn get_set_clear_round_trip() {
    let s = Server::start();
    let table = s.run(&["settings", "get", "W0DEV", "W0OPS"]).ok();
    insta::assert_snapshot!("settings_before", table);

    let out = s
        .run(&[
            "settings",
            "set",
            "W0OPS,W0ADMIN",
            "--duration",
            "12h",
            "--quit-on-close",
            "false",
        ])
        .ok();
    assert_eq!(
        out,
        "Updated settings of 2 users: duration 12 hours (43200 s), quit on close false.\n"
    );

    let got: Value = serde_json::from_str(
        &s.run(&["settings", "get", "W0OPS", "W0ADMIN", "--format", "json"])
            .ok(),
    )
    .unwrap();
    let mut settings = got["session_settings"].as_array().unwrap().clone();
    settings.sort_by_key(|v| v["user_id"].as_str().unwrap().to_owned());
    assert_eq!(
        Value::Array(settings),
        json!([
            {"user_id": "W0ADMIN", "desktop_app_browser_quit": false, "duration": 43200},
            {"user_id": "W0OPS", "desktop_app_browser_quit": false, "duration": 43200}
        ])
    );

    let out = s.run(&["settings", "clear", "W0OPS", "W0DEV"]).ok();
    assert_eq!(out, "Cleared settings of 2 users.\n");
    let after = s
        .run(&["settings", "get", "W0DEV", "W0OPS", "W0ADMIN"])
        .ok();
    insta::assert_snapshot!("settings_after", after);
}

#[test]
fn set_needs_a_setting() {
    let s = Server::start();
    let err = s.run(&["settings", "set", "W0DEV"]).fails(2);
    assert!(err.contains("--duration"), "{err}");
}
