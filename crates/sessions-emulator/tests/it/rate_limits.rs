use std::io::Write;

use sessions_emulator::{EmulatorConfig, RateLimitMode};

use crate::support::start;

const RATELIMITED: &str = r#"{"ok":false,"error":"ratelimited"}"#;

#[tokio::test]
async fn tier2_trips_after_its_budget_and_recovers_when_time_advances() {
    let app = start(EmulatorConfig {
        rate_limits: RateLimitMode::Slack,
        ..Default::default()
    })
    .await;
    for i in 0..20 {
        let a = app.call("admin.users.session.list", "xoxp-a", "").await;
        assert_eq!(a.status, 200, "call {i}: {}", a.text);
    }
    let a = app.call("admin.users.session.list", "xoxp-a", "").await;
    assert_eq!(a.status, 429);
    assert_eq!(a.text, RATELIMITED);
    // 20 per minute: the next call is 3 s away.
    assert_eq!(a.header("retry-after"), Some("3"));
    assert_eq!(
        app.handled(),
        20,
        "a refused call must not reach the server"
    );

    // Other tokens and other methods have their own buckets.
    assert_eq!(
        app.call("admin.users.session.list", "xoxp-b", "")
            .await
            .status,
        200
    );
    assert_eq!(
        app.call("admin.users.session.getSettings", "xoxp-a", "")
            .await
            .status,
        200
    );

    // Advancing the emulator's clock refills the bucket: no sleeping.
    app.control_ok("POST", "/clock/advance", Some(r#"{"seconds": 3}"#))
        .await;
    assert_eq!(
        app.call("admin.users.session.list", "xoxp-a", "")
            .await
            .status,
        200
    );
    assert_eq!(
        app.call("admin.users.session.list", "xoxp-a", "")
            .await
            .status,
        429
    );
}

#[tokio::test]
async fn tier4_allows_a_hundred_then_asks_for_one_second() {
    let app = start(EmulatorConfig {
        rate_limits: RateLimitMode::Slack,
        ..Default::default()
    })
    .await;
    for _ in 0..100 {
        assert_eq!(
            app.call("admin.users.session.setSettings", "t", "")
                .await
                .status,
            200
        );
    }
    let a = app.call("admin.users.session.setSettings", "t", "").await;
    assert_eq!(a.status, 429);
    assert_eq!(a.header("retry-after"), Some("1"));
}

#[tokio::test]
async fn off_by_default() {
    let app = start(EmulatorConfig::default()).await;
    for _ in 0..60 {
        assert_eq!(
            app.call("admin.users.session.reset", "t", "").await.status,
            200
        );
    }
}

#[tokio::test]
async fn per_method_override_from_file() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    write!(
        file,
        r#"{{"admin.users.session.list": {{"per_minute": 5, "burst": 1}}}}"#
    )
    .unwrap();
    // A file with mode off means "these limits only".
    let app = start(EmulatorConfig {
        rate_limit_file: Some(file.path().to_owned()),
        ..Default::default()
    })
    .await;
    assert_eq!(
        app.call("admin.users.session.list", "t", "").await.status,
        200
    );
    let a = app.call("admin.users.session.list", "t", "").await;
    assert_eq!(a.status, 429);
    assert_eq!(a.header("retry-after"), Some("12"));
    for _ in 0..30 {
        assert_eq!(
            app.call("admin.users.session.reset", "t", "").await.status,
            200
        );
    }
    let v = app.control_ok("GET", "/rate-limits", None).await;
    assert_eq!(v["mode"], "custom");
    assert_eq!(v["effective"]["admin.users.session.list"]["per_minute"], 5);
    assert!(v["effective"].get("admin.users.session.reset").is_none());
}

#[tokio::test]
async fn slack_mode_file_override_replaces_only_that_tier() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    write!(file, r#"{{"auth.test": {{"per_minute": 2}}}}"#).unwrap();
    let app = start(EmulatorConfig {
        rate_limits: RateLimitMode::Slack,
        rate_limit_file: Some(file.path().to_owned()),
        ..Default::default()
    })
    .await;
    let v = app.control_ok("GET", "/rate-limits", None).await;
    assert_eq!(v["mode"], "slack");
    assert_eq!(v["effective"]["auth.test"]["per_minute"], 2);
    assert_eq!(v["effective"]["admin.users.session.list"]["per_minute"], 20);
}

#[test]
fn bad_file_is_refused_with_its_path() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    write!(
        file,
        r#"{{"admin.users.session.lst": {{"per_minute": 5}}}}"#
    )
    .unwrap();
    let err = sessions_emulator::Emulator::new(EmulatorConfig {
        rate_limit_file: Some(file.path().to_owned()),
        ..Default::default()
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains(&file.path().display().to_string()), "{err}");
    assert!(err.contains("admin.users.session.lst"), "{err}");
    let err = sessions_emulator::Emulator::new(EmulatorConfig {
        rate_limit_file: Some("/nonexistent/limits.json".into()),
        ..Default::default()
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("/nonexistent/limits.json"), "{err}");
}

#[tokio::test]
async fn limits_change_at_runtime_and_bad_changes_change_nothing() {
    let app = start(EmulatorConfig::default()).await;
    let v = app
        .control_ok(
            "PUT",
            "/rate-limits",
            Some(r#"{"mode":"custom","overrides":{"auth.test":{"per_minute":2,"burst":2}}}"#),
        )
        .await;
    assert_eq!(v["effective"]["auth.test"]["burst"], 2);
    assert_eq!(app.call("auth.test", "t", "").await.status, 200);
    assert_eq!(app.call("auth.test", "t", "").await.status, 200);
    let a = app.call("auth.test", "t", "").await;
    assert_eq!(a.status, 429);
    assert_eq!(a.header("retry-after"), Some("30"));

    for (body, needle) in [
        (
            r#"{"overrides":{"auth.tset":{"per_minute":2}}}"#,
            "auth.tset",
        ),
        (r#"{"mode":"fast"}"#, "fast"),
        (
            r#"{"overrides":{"auth.test":{"per_minute":0}}}"#,
            "per_minute",
        ),
        (r#"{"modes":"slack"}"#, "modes"),
        ("not json", "invalid JSON"),
    ] {
        let a = app.control("PUT", "/rate-limits", Some(body)).await;
        assert_eq!(a.status, 400, "{body}: {}", a.text);
        let v = a.json();
        assert_eq!(v["ok"], false);
        assert_eq!(v["error"], "invalid_request");
        assert!(
            v["message"].as_str().unwrap().contains(needle),
            "{body}: {}",
            a.text
        );
    }
    let v = app.control_ok("GET", "/rate-limits", None).await;
    assert_eq!(v["mode"], "custom");
    assert_eq!(v["overrides"]["auth.test"]["per_minute"], 2);

    // Leaving out `overrides` keeps them; the bucket is refilled by any settings change.
    app.control_ok("PUT", "/rate-limits", Some(r#"{"mode":"slack"}"#))
        .await;
    let v = app.control_ok("GET", "/rate-limits", None).await;
    assert_eq!(v["overrides"]["auth.test"]["per_minute"], 2);
    assert_eq!(app.call("auth.test", "t", "").await.status, 200);

    // Reset refills every bucket.
    app.call("auth.test", "t", "").await;
    assert_eq!(app.call("auth.test", "t", "").await.status, 429);
    app.control_ok("POST", "/rate-limits/reset", None).await;
    assert_eq!(app.call("auth.test", "t", "").await.status, 200);

    app.control_ok("PUT", "/rate-limits", Some(r#"{"mode":"off"}"#))
        .await;
    for _ in 0..10 {
        assert_eq!(app.call("auth.test", "t", "").await.status, 200);
    }
}

#[tokio::test]
async fn token_arguments_key_buckets_when_no_header_is_sent() {
    let app = start(EmulatorConfig::default()).await;
    app.control_ok(
        "PUT",
        "/rate-limits",
        Some(r#"{"mode":"custom","overrides":{"auth.test":{"per_minute":1}}}"#),
    )
    .await;
    let post = |form: &'static str| {
        app.http
            .post(format!("{}/api/auth.test", app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
    };
    assert_eq!(post("token=xoxp-one").await.unwrap().status(), 200);
    assert_eq!(post("token=xoxp-one").await.unwrap().status(), 429);
    assert_eq!(post("token=xoxp-two").await.unwrap().status(), 200);
    // A bearer header with the same token shares the bucket.
    assert_eq!(app.call("auth.test", "xoxp-two", "").await.status, 429);
}

#[tokio::test]
async fn the_servers_key_function_decides_who_shares_a_bucket() {
    // The server maps tokens to identities; here every token of "team one" is one caller.
    let emu = sessions_emulator::Emulator::new(EmulatorConfig::default())
        .unwrap()
        .with_key_fn(|parts| {
            let auth = parts.headers.get("authorization")?.to_str().ok()?;
            Some(auth.split('-').nth(1)?.to_owned())
        });
    let app = crate::support::start_with(emu).await;
    app.control_ok(
        "PUT",
        "/rate-limits",
        Some(r#"{"mode":"custom","overrides":{"auth.test":{"per_minute":1}}}"#),
    )
    .await;
    assert_eq!(app.call("auth.test", "xoxp-one-a", "").await.status, 200);
    assert_eq!(app.call("auth.test", "xoxp-one-b", "").await.status, 429);
    assert_eq!(app.call("auth.test", "xoxp-two-a", "").await.status, 200);
}
