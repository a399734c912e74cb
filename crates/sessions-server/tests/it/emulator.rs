//! Issue #6: every emulator control, through `run()` (fixtures file, control token, emulator
//! config) and the Rust client: rate limits, faults, clock, state dump/reset, job speed and the
//! request log.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use serde_json::{json, Value};
use sessions_client::{
    AuthTestResponse, Client, Error, InvalidateRequest, ListRequest, ResetBulkRequest,
    ResetRequest, RetryPolicy, Sleeper,
};
use sessions_server::emulator::{EmulatorConfig, RateLimitMode};
use sessions_server::testing::TestServer;
use sessions_server::{ServerSettings, Started};
use sessions_test_support::wait;

use crate::support::{ADMIN, CONTROL, FIXTURE, OTHER_ADMIN};

/// A server started by `run()` with the standard fixture loaded from a file.
struct Emu {
    started: Started,
    http: reqwest::Client,
    /// Stopped when the test drops it.
    _server: TestServer,
    _dir: tempfile::TempDir,
}

async fn start(emulator: EmulatorConfig) -> Emu {
    let dir = tempfile::tempdir().unwrap();
    let fixture = dir.path().join("fixture.json");
    std::fs::write(&fixture, FIXTURE).unwrap();
    start_with(
        ServerSettings {
            listen: "127.0.0.1:0".parse().unwrap(),
            database_url: Some(format!("sqlite://{}", dir.path().join("emu.db").display())),
            fixtures: Some(fixture),
            control_token: Some(CONTROL.into()),
            emulator,
            ..ServerSettings::default()
        },
        dir,
    )
    .await
}

async fn start_with(config: ServerSettings, dir: tempfile::TempDir) -> Emu {
    let (server, started) = TestServer::run(config)
        .await
        .expect("the server did not start");
    Emu {
        started,
        http: reqwest::Client::new(),
        _server: server,
        _dir: dir,
    }
}

/// Advances the emulator clock instead of sleeping, and records every wait.
#[derive(Debug, Clone)]
struct ClockSleeper {
    advance: String,
    waits: Arc<Mutex<Vec<Duration>>>,
}

impl Sleeper for ClockSleeper {
    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        self.waits.lock().unwrap().push(d);
        let url = self.advance.clone();
        let secs = d.as_secs_f64().ceil() as i64;
        Box::pin(async move {
            let r = reqwest::Client::new()
                .post(url)
                .bearer_auth(CONTROL)
                .json(&json!({ "seconds": secs }))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        })
    }
}

impl Emu {
    fn control_url(&self, path: &str) -> String {
        format!(
            "{}{}",
            self.started.control_url,
            path.trim_start_matches('/')
        )
    }

    /// A control call; returns (status, JSON body).
    async fn control(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method.parse().unwrap(), self.control_url(path))
            .bearer_auth(CONTROL);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}")),
        )
    }

    async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.control(method, path, body).await;
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {v}"
        );
        v
    }

    fn client(&self, token: &str, retry: RetryPolicy) -> Client {
        Client::builder(token)
            .base_url(&self.started.api_url)
            .retry(retry)
            .build()
            .unwrap()
    }

    /// A client whose retry waits move the emulator clock (no real sleeping).
    fn clock_client(&self, token: &str) -> (Client, Arc<Mutex<Vec<Duration>>>) {
        let waits = Arc::new(Mutex::new(Vec::new()));
        let sleeper = ClockSleeper {
            advance: self.control_url("emulator/clock/advance"),
            waits: waits.clone(),
        };
        let c = Client::builder(token)
            .base_url(&self.started.api_url)
            .sleeper(Arc::new(sleeper))
            .build()
            .unwrap();
        (c, waits)
    }

    async fn ids(&self, token: &str) -> Vec<u64> {
        let r = self
            .client(token, RetryPolicy::disabled())
            .admin_users_session_list(ListRequest::org().limit(1000))
            .await
            .unwrap();
        r.active_sessions.iter().map(|s| s.session_id.0).collect()
    }

    async fn requests(&self, query: &str) -> Vec<Value> {
        let v = self
            .ok("GET", &format!("emulator/requests{query}"), None)
            .await;
        v["requests"].as_array().unwrap().clone()
    }
}

fn code(e: &Error) -> String {
    match e {
        Error::Api { code, .. } => code.as_str().to_owned(),
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn custom_limit_answers_429_with_retry_after_and_the_client_retries() {
    let emu = start(EmulatorConfig::default()).await;
    let limits = json!({"mode": "custom",
        "overrides": {"admin.users.session.list": {"per_minute": 60, "burst": 1}}});
    emu.ok("PUT", "emulator/rate-limits", Some(limits)).await;

    // Raw HTTP: the second call is refused as Slack does.
    let url = format!("{}admin.users.session.list", emu.started.api_url);
    let first = emu.http.post(&url).bearer_auth(ADMIN).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let second = emu.http.post(&url).bearer_auth(ADMIN).send().await.unwrap();
    assert_eq!(second.status(), 429);
    assert_eq!(second.headers()["retry-after"], "1");
    let body: Value = second.json().await.unwrap();
    assert_eq!(body, json!({"ok": false, "error": "ratelimited"}));

    // Per token: another caller (another org's admin) has its own bucket.
    let other = emu.client(OTHER_ADMIN, RetryPolicy::disabled());
    other
        .admin_users_session_list(ListRequest::org())
        .await
        .unwrap();

    // Without retries the client reports the wait; with them it waits it out and succeeds.
    let e = emu
        .client(ADMIN, RetryPolicy::disabled())
        .admin_users_session_list(ListRequest::org())
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::RateLimited { retry_after } if retry_after == Duration::from_secs(1)),
        "{e:?}"
    );
    let (client, waits) = emu.clock_client(ADMIN);
    let page = client
        .admin_users_session_list(ListRequest::org())
        .await
        .unwrap();
    assert!(!page.active_sessions.is_empty());
    assert_eq!(*waits.lock().unwrap(), vec![Duration::from_secs(1)]);

    // The log saw the refusals and the retried success, in order.
    let answers: Vec<String> = emu
        .requests("?method=admin.users.session.list")
        .await
        .iter()
        .map(|r| r["answer"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        answers,
        [
            "ok",
            "ratelimited",
            "ok",
            "ratelimited",
            "ratelimited",
            "ok"
        ]
    );
    // Other methods are not limited in custom mode.
    for _ in 0..5 {
        emu.client(ADMIN, RetryPolicy::disabled())
            .auth_test()
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn slack_mode_applies_tier_2_per_token_from_config() {
    let emu = start(EmulatorConfig {
        rate_limits: RateLimitMode::Slack,
        ..EmulatorConfig::default()
    })
    .await;
    let c = emu.client(ADMIN, RetryPolicy::disabled());
    // Tier 2: 20 per minute, all of them as a burst.
    for i in 0..20 {
        c.admin_users_session_reset(ResetRequest::new("WDANA"))
            .await
            .unwrap_or_else(|e| panic!("call {i}: {e}"));
    }
    let e = c
        .admin_users_session_reset(ResetRequest::new("WDANA"))
        .await
        .unwrap_err();
    // One call every 3 s; less is left to wait when the 20 calls took more than a second of
    // real time (a loaded machine).
    assert!(
        matches!(e, Error::RateLimited { retry_after }
            if retry_after >= Duration::from_secs(1) && retry_after <= Duration::from_secs(3)),
        "{e:?}"
    );
    // Tier 4 methods and other tokens are unaffected.
    c.auth_test().await.unwrap();
    emu.client(OTHER_ADMIN, RetryPolicy::disabled())
        .admin_users_session_reset(ResetRequest::new("W9MEM"))
        .await
        .unwrap();
    // Advancing the clock refills the bucket.
    emu.ok(
        "POST",
        "emulator/clock/advance",
        Some(json!({"seconds": 3})),
    )
    .await;
    c.admin_users_session_reset(ResetRequest::new("WDANA"))
        .await
        .unwrap();
    let v = emu.ok("GET", "emulator/rate-limits", None).await;
    assert_eq!(v["mode"], "slack");
    assert_eq!(
        v["effective"]["admin.users.session.reset"]["per_minute"],
        20
    );
}

#[tokio::test]
async fn slack_mode_limits_the_users_methods_by_their_own_tiers() {
    let emu = start(EmulatorConfig {
        rate_limits: RateLimitMode::Slack,
        ..EmulatorConfig::default()
    })
    .await;
    let c = emu.client(ADMIN, RetryPolicy::disabled());
    // The limit applies before authorization: the answers are missing_scope (the token has no
    // users:* scope) until the tier's burst is spent, then 429. Buckets refill in real time
    // while the calls run (slowly on a loaded machine), so a few extra calls may pass.
    async fn calls_until_limited<F, Fut>(call: F) -> (usize, Duration)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Error>,
    {
        for n in 0..1000 {
            if let Error::RateLimited { retry_after } = call().await {
                return (n, retry_after);
            }
        }
        panic!("never rate limited");
    }
    // users.lookupByEmail, Tier 3: 50 a minute, one every 1.2 s (Retry-After rounds up).
    let (n, wait) =
        calls_until_limited(|| async { c.users_lookup_by_email("x@y.example").await.unwrap_err() })
            .await;
    assert!((50..=55).contains(&n), "{n} calls before the first 429");
    assert!(wait <= Duration::from_secs(2), "{wait:?}");
    // users.list, Tier 2: 20 a minute, one every 3 s.
    let (n, wait) =
        calls_until_limited(|| async { c.users_list(Default::default()).await.unwrap_err() }).await;
    assert!((20..=22).contains(&n), "{n} calls before the first 429");
    assert!(
        wait <= Duration::from_secs(3) && wait >= Duration::from_secs(1),
        "{wait:?}"
    );
    // users.info, Tier 4: 100 a minute, a bucket of its own.
    let (n, _) = calls_until_limited(|| async { c.users_info("WDANA").await.unwrap_err() }).await;
    assert!((100..=110).contains(&n), "{n} calls before the first 429");
    let v = emu.ok("GET", "emulator/rate-limits", None).await;
    assert_eq!(v["effective"]["users.lookupByEmail"]["per_minute"], 50);
    assert_eq!(v["effective"]["users.info"]["per_minute"], 100);
    assert_eq!(v["effective"]["users.list"]["per_minute"], 20);
}

#[tokio::test]
async fn rate_limit_file_sets_per_method_limits_and_bad_files_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("limits.json");
    std::fs::write(
        &file,
        r#"{"admin.users.session.getSettings": {"per_minute": 2}}"#,
    )
    .unwrap();
    let emu = start(EmulatorConfig {
        rate_limit_file: Some(file.clone()),
        ..EmulatorConfig::default()
    })
    .await;
    let c = emu.client(ADMIN, RetryPolicy::disabled());
    let req = sessions_client::GetSettingsRequest::new(["WSAM"]);
    c.admin_users_session_get_settings(req.clone())
        .await
        .unwrap();
    c.admin_users_session_get_settings(req.clone())
        .await
        .unwrap();
    let e = c.admin_users_session_get_settings(req).await.unwrap_err();
    assert!(
        matches!(e, Error::RateLimited { retry_after } if retry_after == Duration::from_secs(30)),
        "{e:?}"
    );
    assert_eq!(
        emu.ok("GET", "emulator/rate-limits", None).await["mode"],
        "custom"
    );

    std::fs::write(&file, r#"{"admin.users.session.nope": {"per_minute": 2}}"#).unwrap();
    let e = sessions_server::run(
        ServerSettings {
            listen: "127.0.0.1:0".parse().unwrap(),
            database_url: Some(format!("sqlite://{}", dir.path().join("x.db").display())),
            emulator: EmulatorConfig {
                rate_limit_file: Some(file),
                ..EmulatorConfig::default()
            },
            ..ServerSettings::default()
        },
        |_| panic!("must not start"),
        async {},
    )
    .await
    .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("limits.json") && msg.contains("admin.users.session.nope"),
        "{msg}"
    );
}

#[tokio::test]
async fn next_n_faults_then_normal_answers() {
    let emu = start(EmulatorConfig::default()).await;
    let rule = json!({"method": "admin.users.session.list", "action": "error",
        "error": "fatal_error", "times": 2});
    let v = emu.ok("POST", "emulator/faults", Some(rule)).await;
    assert_eq!(v["rule"]["times"], 2);
    let c = emu.client(ADMIN, RetryPolicy::disabled());
    for _ in 0..2 {
        let e = c
            .admin_users_session_list(ListRequest::org())
            .await
            .unwrap_err();
        assert_eq!(code(&e), "fatal_error");
    }
    c.admin_users_session_list(ListRequest::org())
        .await
        .unwrap();
    // The rule used itself up.
    let v = emu.ok("GET", "emulator/faults", None).await;
    assert_eq!(v["rules"], json!([]));
    // Other methods were never affected.
    c.auth_test().await.unwrap();
}

async fn fault_pattern(emu: &Emu) -> Vec<bool> {
    emu.ok("DELETE", "emulator/faults", None).await;
    let rule = json!({"method": "auth.test", "action": "error", "error": "invalid_auth",
        "probability": 0.5});
    emu.ok("POST", "emulator/faults", Some(rule)).await;
    let c = emu.client(ADMIN, RetryPolicy::disabled());
    let mut out = Vec::new();
    for _ in 0..24 {
        out.push(c.auth_test().await.is_ok());
    }
    out
}

#[tokio::test]
async fn seeded_probability_faults_repeat_exactly() {
    let emu = start(EmulatorConfig {
        seed: 42,
        ..EmulatorConfig::default()
    })
    .await;
    let a = fault_pattern(&emu).await;
    let b = fault_pattern(&emu).await;
    assert_eq!(a, b, "same seed, same calls, same faults");
    assert!(a.contains(&true) && a.contains(&false), "{a:?}");
    // Another seed gives another sequence; back to 42 gives the first again.
    emu.ok("PUT", "emulator/faults/seed", Some(json!({"seed": 7})))
        .await;
    let c = fault_pattern(&emu).await;
    assert_ne!(a, c);
    emu.ok("PUT", "emulator/faults/seed", Some(json!({"seed": 42})))
        .await;
    assert_eq!(fault_pattern(&emu).await, a);

    // A second server started with the same seed sees the same faults.
    let twin = start(EmulatorConfig {
        seed: 42,
        ..EmulatorConfig::default()
    })
    .await;
    assert_eq!(fault_pattern(&twin).await, a);
}

#[tokio::test]
async fn status_faults_reach_the_client_and_list_is_retried() {
    let emu = start(EmulatorConfig::default()).await;
    // 503 on a write: not retried (it may have happened), reported as HTTP 503.
    let rule = json!({"method": "admin.users.session.invalidate", "action": "status",
        "status": 503, "times": 1});
    emu.ok("POST", "emulator/faults", Some(rule)).await;
    let (client, waits) = emu.clock_client(ADMIN);
    let e = client
        .admin_users_session_invalidate(InvalidateRequest::for_user(101u64, "WDANA"))
        .await
        .unwrap_err();
    match e {
        Error::Http { status, body } => {
            assert_eq!(status, 503);
            assert!(body.contains("service_unavailable"), "{body}");
        }
        other => panic!("expected HTTP 503, got {other:?}"),
    }
    assert!(waits.lock().unwrap().is_empty());
    // The server never saw it: the session is still there.
    assert!(emu.ids(ADMIN).await.contains(&101));

    // 500 twice on list: retried with backoff, then the real answer.
    let rule = json!({"method": "admin.users.session.list", "action": "status",
        "status": 500, "times": 2});
    emu.ok("POST", "emulator/faults", Some(rule)).await;
    let page = client
        .admin_users_session_list(ListRequest::org())
        .await
        .unwrap();
    assert!(!page.active_sessions.is_empty());
    assert_eq!(waits.lock().unwrap().len(), 2);
    let statuses: Vec<Value> = emu
        .requests("?method=admin.users.session.list")
        .await
        .iter()
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(
        statuses[statuses.len() - 3..],
        [json!(500), json!(500), json!(200)]
    );
}

#[tokio::test]
async fn delay_faults_slow_the_answer() {
    let emu = start(EmulatorConfig::default()).await;
    let rule = json!({"method": "auth.test", "action": "delay", "ms": 400, "times": 1});
    emu.ok("POST", "emulator/faults", Some(rule)).await;
    let c = emu.client(ADMIN, RetryPolicy::disabled());
    let t = Instant::now();
    let who: AuthTestResponse = c.auth_test().await.unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(400),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(who.user_id, "WADMIN");
    let log = emu.requests("?method=auth.test").await;
    assert!(log[0]["duration_ms"].as_u64().unwrap() >= 400, "{log:?}");
    assert!(log[0]["fault"].as_str().unwrap().contains("delay"));
}

#[tokio::test]
async fn dropped_connection_is_a_transport_error() {
    let emu = start(EmulatorConfig::default()).await;
    let rule = json!({"method": "admin.users.session.reset", "action": "drop", "times": 1,
        "after": true});
    emu.ok("POST", "emulator/faults", Some(rule)).await;
    let c = emu.client(ADMIN, RetryPolicy::default());
    let e = c
        .admin_users_session_reset(ResetRequest::new("WDANA"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Transport(_)), "{e:?}");
    // `after`: the server carried the reset out even though the answer was lost.
    let ids = emu.ids(ADMIN).await;
    assert!(!ids.contains(&101) && !ids.contains(&103), "{ids:?}");
    let log = emu.requests("?method=admin.users.session.reset").await;
    assert_eq!(log.len(), 1, "a write is not retried after a lost answer");
    assert_eq!(log[0]["answer"], "dropped");
    assert_eq!(log[0]["status"], Value::Null);
}

#[tokio::test]
async fn clock_advance_expires_sessions_by_duration() {
    let emu = start(EmulatorConfig::default()).await;
    // WSAM's sessions (104, 105) last 86400 s; xoxc-sam-android is 104's token.
    let sam = emu.client("xoxc-sam-android", RetryPolicy::disabled());
    assert_eq!(sam.auth_test().await.unwrap().user_id, "WSAM");
    assert!(emu.ids(ADMIN).await.contains(&104));

    let v = emu
        .ok(
            "POST",
            "emulator/clock/advance",
            Some(json!({"seconds": 86_000})),
        )
        .await;
    assert_eq!(v["offset"], 86_000);
    sam.auth_test().await.unwrap();
    emu.ok(
        "POST",
        "emulator/clock/advance",
        Some(json!({"seconds": 401})),
    )
    .await;
    let e = sam.auth_test().await.unwrap_err();
    assert_eq!(code(&e), "invalid_auth");
    let ids = emu.ids(ADMIN).await;
    assert!(!ids.contains(&104) && !ids.contains(&105), "{ids:?}");
    assert!(
        ids.contains(&101),
        "sessions without a duration stay: {ids:?}"
    );

    // One clock: the health view and the older /control/clock endpoint agree with it.
    let h = emu.ok("GET", "health", None).await;
    assert_eq!(h["clock_offset"], 86_401);
    let v = emu
        .ok("POST", "clock", Some(json!({"advance": -86_401})))
        .await;
    assert_eq!(v["offset"], 0);
    let v = emu.ok("GET", "emulator/clock", None).await;
    assert_eq!(v["offset"], 0);
}

#[tokio::test]
async fn dump_per_org_or_all_without_tokens() {
    let emu = start(EmulatorConfig::default()).await;
    for path in ["emulator/state", "dump"] {
        let all = emu.ok("GET", path, None).await;
        let ids: Vec<&str> = all["orgs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["E1", "E2"], "{path}");
        let text = all.to_string();
        assert!(!text.contains("xoxp-") && !text.contains("xoxc-") && !text.contains("xoxb-"));
        let one = emu.ok("GET", &format!("{path}?org_id=E2"), None).await;
        assert_eq!(one["orgs"].as_array().unwrap().len(), 1);
        assert_eq!(one["orgs"][0]["id"], "E2");
        assert_eq!(one["orgs"][0]["sessions"][0]["session_id"], 901);
    }
    let (status, v) = emu.control("GET", "emulator/state?org_id=E404", None).await;
    assert_eq!((status, v["error"].as_str()), (404, Some("org_not_found")));
    // Token entries are kept (owner, type, scopes), their secrets are not.
    let dump = emu.ok("GET", "emulator/state?org_id=E2", None).await;
    let token = &dump["orgs"][0]["tokens"][0];
    assert_eq!(token["user"], "W9ADMIN");
    assert!(token.get("token").is_none(), "{token}");
}

#[tokio::test]
async fn reset_to_the_loaded_fixture_per_org_and_all() {
    let emu = start(EmulatorConfig::default()).await;
    let acme = emu.client(ADMIN, RetryPolicy::disabled());
    let globex = emu.client(OTHER_ADMIN, RetryPolicy::disabled());
    acme.admin_users_session_reset(ResetRequest::new("WDANA"))
        .await
        .unwrap();
    globex
        .admin_users_session_reset(ResetRequest::new("W9MEM"))
        .await
        .unwrap();
    acme.admin_users_session_clear_settings(sessions_client::ClearSettingsRequest::new(["WSAM"]))
        .await
        .unwrap();
    assert!(!emu.ids(ADMIN).await.contains(&101));
    assert_eq!(emu.ids(OTHER_ADMIN).await, Vec::<u64>::new());

    let v = emu
        .ok(
            "POST",
            "emulator/state/reset",
            Some(json!({"org_id": "E1"})),
        )
        .await;
    assert_eq!(v["orgs"], json!(["E1"]));
    assert_eq!(
        emu.ids(ADMIN).await,
        [101, 102, 103, 104, 105, 106, 107],
        "E1 is back as loaded"
    );
    let s = acme
        .admin_users_session_get_settings(sessions_client::GetSettingsRequest::new(["WSAM"]))
        .await
        .unwrap();
    assert_eq!(s.session_settings[0].duration, Some(86_400));
    assert_eq!(
        emu.ids(OTHER_ADMIN).await,
        Vec::<u64>::new(),
        "E2 untouched"
    );
    // The session token works again.
    emu.client("xoxc-dana-desktop", RetryPolicy::disabled())
        .auth_test()
        .await
        .unwrap();

    // Everything: E2 back too, and orgs from elsewhere gone.
    let extra = json!({"orgs": [{"id": "E3", "name": "Initech",
        "teams": [{"id": "T3", "name": "HQ"}],
        "users": [{"id": "W3", "name": "peter", "role": "admin", "teams": ["T3"]}],
        "tokens": [{"token": "xoxp-initech", "user": "W3", "type": "user",
                    "scopes": ["admin.users:read", "admin.users:write"]}],
        "sessions": [{"session_id": 3001, "user": "W3", "team": "T3", "client": "web"}]}]});
    emu.ok("POST", "fixtures", Some(extra)).await;
    emu.client("xoxp-initech", RetryPolicy::disabled())
        .admin_users_session_reset(ResetRequest::new("W3"))
        .await
        .unwrap();
    // Fixtures loaded through the control API are remembered too.
    emu.ok(
        "POST",
        "emulator/state/reset",
        Some(json!({"org_id": "E3"})),
    )
    .await;
    assert_eq!(emu.ids("xoxp-initech").await, [3001]);
    let v = emu.ok("POST", "emulator/state/reset", None).await;
    assert_eq!(v["orgs"], json!(["E1", "E2", "E3"]));
    assert_eq!(emu.ids(OTHER_ADMIN).await, [901]);

    let (status, v) = emu
        .control(
            "POST",
            "emulator/state/reset",
            Some(json!({"org_id": "E404"})),
        )
        .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (404, Some("org_not_in_fixture"))
    );
    let (status, v) = emu
        .control("POST", "emulator/state/reset", Some(json!({"org": "E1"})))
        .await;
    assert_eq!((status, v["error"].as_str()), (400, Some("invalid_json")));
    // The remembered fixture is readable, without its tokens.
    let f = emu.ok("GET", "emulator/fixture?org_id=E1", None).await;
    assert_eq!(f["orgs"][0]["sessions"].as_array().unwrap().len(), 8);
    assert!(!f.to_string().contains("xoxp-acme-admin"));
}

#[tokio::test]
async fn delayed_reset_bulk_is_accepted_but_not_done_until_its_time() {
    let emu = start(EmulatorConfig::default()).await;
    let v = emu
        .ok("PUT", "emulator/jobs", Some(json!({"delay_seconds": 3600})))
        .await;
    assert_eq!(v["delay_seconds"], 3600);
    let c = emu.client(ADMIN, RetryPolicy::disabled());
    let r = c
        .admin_users_session_reset_bulk_with_http_info(ResetBulkRequest::new(["WDANA", "WSAM"]))
        .await
        .unwrap();
    assert!(r.envelope.ok);
    let job_id: i64 = r.headers["x-sessions-job-id"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();

    // Accepted, not done: the worker leaves it alone. Proof that the worker has looked at the
    // queue since: an undelayed job recorded after it ("at once" again) is run.
    emu.ok("PUT", "emulator/jobs", Some(json!({"delay_seconds": 0})))
        .await;
    c.admin_users_session_reset_bulk(ResetBulkRequest::new(["WOWNER"]))
        .await
        .unwrap_err(); // an admin may not reset the primary owner...
    emu.client(crate::support::OWNER, RetryPolicy::disabled())
        .admin_users_session_reset_bulk(ResetBulkRequest::new(["WOWNER"]))
        .await
        .unwrap();
    wait::until_true("the undelayed job to run", || async {
        !emu.ids(ADMIN).await.contains(&106)
    })
    .await;
    let v = emu.ok("GET", "emulator/jobs?org_id=E1", None).await;
    assert_eq!(v["pending"], 1, "{v}");
    let delayed = |v: &Value| {
        v["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["job_id"] == job_id)
            .unwrap_or_else(|| panic!("job {job_id} not listed: {v}"))
            .clone()
    };
    assert_eq!(delayed(&v)["state"], "pending");
    assert!(emu.ids(ADMIN).await.contains(&101));
    let job = emu.ok("GET", &format!("jobs/E1/{job_id}"), None).await;
    assert_eq!(job["state"], "pending");

    // Its time comes when the clock does.
    emu.ok(
        "POST",
        "emulator/clock/advance",
        Some(json!({"seconds": 3600})),
    )
    .await;
    let v = wait::until("the delayed job to finish", || async {
        let v = emu.ok("GET", "emulator/jobs", None).await;
        (delayed(&v)["state"] == "done").then_some(v)
    })
    .await;
    assert_eq!(v["pending"], 0, "{v}");
    let ids = emu.ids(ADMIN).await;
    assert!(
        ids.iter().all(|i| ![101, 102, 103, 104, 105].contains(i)),
        "{ids:?}"
    );

    for bad in [json!({"delay_seconds": -1}), json!({"delay": 5})] {
        let (status, _) = emu.control("PUT", "emulator/jobs", Some(bad)).await;
        assert_eq!(status, 400);
    }
}

#[tokio::test]
async fn request_log_lists_calls_with_tokens_redacted_and_clears() {
    let emu = start(EmulatorConfig::default()).await;
    let c = emu.client(ADMIN, RetryPolicy::disabled());
    c.admin_users_session_invalidate(InvalidateRequest::for_user(101u64, "WDANA"))
        .await
        .unwrap();
    let e = c
        .admin_users_session_reset(ResetRequest::new("WNOBODY"))
        .await
        .unwrap_err();
    assert_eq!(code(&e), "user_not_found");
    // A token sent as a form argument, as older SDKs do.
    let r = emu
        .http
        .post(format!("{}auth.test", emu.started.api_url))
        .form(&[("token", ADMIN)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let log = emu.requests("").await;
    let summary: Vec<(String, String)> = log
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap().to_owned(),
                r["answer"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("admin.users.session.invalidate".into(), "ok".into()),
            ("admin.users.session.reset".into(), "user_not_found".into()),
            ("auth.test".into(), "ok".into()),
        ]
    );
    assert_eq!(log[0]["args"]["session_id"], "101");
    assert_eq!(log[0]["args"]["user_id"], "WDANA");
    assert_eq!(log[2]["args"]["token"], "[redacted]");
    assert!(log[0]["time"].as_i64().unwrap() > 1_700_000_000);
    let text = serde_json::to_string(&log).unwrap();
    assert!(!text.contains(ADMIN), "a token leaked into the log: {text}");

    // Control calls are not logged; clearing empties the log.
    let v = emu.ok("DELETE", "emulator/requests", None).await;
    assert_eq!(v["requests"], json!([]));
    assert!(emu.requests("").await.is_empty());
    c.auth_test().await.unwrap();
    assert_eq!(emu.requests("").await.len(), 1);
}

#[tokio::test]
async fn emulator_controls_need_the_control_token() {
    let emu = start(EmulatorConfig::default()).await;
    for path in [
        "emulator",
        "emulator/requests",
        "emulator/state",
        "emulator/jobs",
    ] {
        let r = emu
            .http
            .get(emu.control_url(path))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path}");
    }
    let v = emu.ok("GET", "emulator", None).await;
    assert_eq!(v["rate_limits"]["mode"], "off");
    assert_eq!(v["faults"]["rules"], json!([]));
}

#[tokio::test]
async fn without_the_emulator_nothing_is_limited_or_logged() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = dir.path().join("fixture.json");
    std::fs::write(&fixture, FIXTURE).unwrap();
    let emu = start_with(
        ServerSettings {
            listen: "127.0.0.1:0".parse().unwrap(),
            database_url: Some(format!(
                "sqlite://{}",
                dir.path().join("plain.db").display()
            )),
            fixtures: Some(fixture),
            control_token: Some(CONTROL.into()),
            emulation: false,
            ..ServerSettings::default()
        },
        dir,
    )
    .await;
    let (status, _) = emu.control("GET", "emulator/requests", None).await;
    assert_eq!(status, 404);
    // The store-backed controls stay: state, reset, job speed.
    emu.ok("POST", "emulator/state/reset", None).await;
    emu.ok("GET", "emulator/jobs", None).await;
    // The clock still moves (the server's own).
    let v = emu
        .ok("POST", "clock", Some(json!({"advance": 86_401})))
        .await;
    assert_eq!(v["offset"], 86_401);
    assert!(!emu.ids(ADMIN).await.contains(&104));
}

#[tokio::test]
async fn slow_and_oversized_bodies_get_408_and_413_with_the_emulator_mounted() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let emu = start_with(
        ServerSettings {
            listen: "127.0.0.1:0".parse().unwrap(),
            database_url: Some(format!("sqlite://{}", dir.path().join("slow.db").display())),
            control_token: Some(CONTROL.into()),
            max_body_bytes: 1024,
            limits: sessions_server::net::Limits {
                body_timeout: Duration::from_millis(300),
                ..Default::default()
            },
            ..ServerSettings::default()
        },
        dir,
    )
    .await;
    // A body that never finishes arriving: answered once the body timeout passes.
    let mut tcp = tokio::net::TcpStream::connect(emu.started.local_addr)
        .await
        .unwrap();
    tcp.write_all(
        b"POST /api/auth.test HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\n\
          content-length: 100\r\n\r\nlimit=1",
    )
    .await
    .unwrap();
    let mut text = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut text)).await;
    let text = String::from_utf8_lossy(&text);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains(r#""error":"request_timeout""#), "{text}");

    let r = emu
        .http
        .post(format!("{}auth.test", emu.started.api_url))
        .bearer_auth(ADMIN)
        .body(vec![b'a'; 4096])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "request_too_large");
    // A body within the limit still reaches the server through the emulator.
    let r = emu
        .http
        .post(format!("{}auth.test", emu.started.api_url))
        .form(&[("token", ADMIN)])
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_auth", "no fixture here: {v}");
    let log = emu.requests("").await;
    assert_eq!(log.len(), 1, "only the complete call was logged: {log:?}");
    assert_eq!(log[0]["answer"], "invalid_auth");
}

#[tokio::test]
async fn shapes_of_the_server_side_controls() {
    use insta::assert_json_snapshot;
    let emu = start(EmulatorConfig::default()).await;
    let (_, jobs) = emu
        .control("PUT", "emulator/jobs", Some(json!({"delay_seconds": 60})))
        .await;
    assert_json_snapshot!("emulator_jobs_empty", jobs);
    emu.client(ADMIN, RetryPolicy::disabled())
        .admin_users_session_reset_bulk(ResetBulkRequest::new(["WDANA"]))
        .await
        .unwrap();
    let (_, jobs) = emu.control("GET", "emulator/jobs", None).await;
    assert_json_snapshot!("emulator_jobs_pending", jobs, {
        ".jobs[].created_at" => "[time]",
        ".jobs[].run_after" => "[time]",
    });
    let (_, reset) = emu
        .control(
            "POST",
            "emulator/state/reset",
            Some(json!({"org_id": "E2"})),
        )
        .await;
    assert_json_snapshot!("emulator_state_reset", reset);
    let (_, dump) = emu.control("GET", "emulator/state?org_id=E2", None).await;
    assert_json_snapshot!("emulator_state_dump_e2", dump, {
        ".orgs[].sessions[].created_at" => "[time]",
    });
    for (name, method, path, body) in [
        (
            "emulator_err_not_in_fixture",
            "POST",
            "emulator/state/reset",
            Some(json!({"org_id": "E9"})),
        ),
        (
            "emulator_err_org_not_found",
            "GET",
            "emulator/state?org_id=E9",
            None,
        ),
        (
            "emulator_err_delay",
            "PUT",
            "emulator/jobs",
            Some(json!({"delay_seconds": -5})),
        ),
    ] {
        let (status, v) = emu.control(method, path, body).await;
        assert_json_snapshot!(name, json!({"status": status, "body": v}));
    }
}
