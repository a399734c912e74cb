//! Issue #11: the findings of an outside probe of the server, one test (or more) each. Like
//! every test here they run on SQLite and, with `SESSIONS_TEST_BACKEND=postgres`, on
//! PostgreSQL.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sessions_server::emulator::{Emulator, EmulatorConfig};
use sessions_server::net::Limits;
use sessions_server::{AppState, ServerSettings};
use sessions_store::{AuditFilter, AuditPage};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{
    self, options, reopen, start, start_emulated, start_with, Resp, Server, ADMIN, BOT, CONTROL,
    FIXTURE, MEMBER, OTHER_ADMIN, OWNER, READ_ONLY,
};

const HOUR: i64 = 3600;

fn addr_of(s: &Server) -> String {
    s.base.trim_start_matches("http://").to_owned()
}

/// Sends raw bytes on a fresh connection and reads until the server closes it (10 s at most).
async fn raw(s: &Server, request: &[u8]) -> String {
    let mut tcp = TcpStream::connect(addr_of(s)).await.unwrap();
    tcp.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// Status and JSON body of a raw HTTP/1.1 answer.
fn parse_answer(text: &str) -> (u16, String, Value) {
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
    let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let content_type = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_owned())
        })
        .unwrap_or_default();
    (
        status,
        content_type,
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

async fn move_clock(s: &Server, secs: i64) {
    let r = s
        .control(
            reqwest::Method::POST,
            "clock",
            Some(json!({ "advance": secs })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn auth_test(s: &Server, token: &str) -> Resp {
    s.post_form("auth.test", Some(token), &[]).await
}

// ----- 1. audit amplification -----------------------------------------------------------------

/// A refused call stores a bounded entry whatever its size, from every kind of token: at most
/// 100 targets of at most 32 bytes, the total in `details.target_count`; the entry (and a page
/// of them) stays a few KB where the requests were 0.9 MB each.
#[tokio::test]
async fn refused_calls_store_bounded_audit_entries() {
    let s = start().await;
    // 0.9 MB of distinct user ids.
    let many: Vec<String> = (0..50_000).map(|i| format!("W{i:015}")).collect();
    let body = format!("user_ids={}", many.join(","));
    assert!(body.len() > 850_000);
    let refusals = [
        (MEMBER, "not_an_admin"),
        (BOT, "not_allowed_token_type"),
        ("xoxc-dana-desktop", "not_allowed_token_type"),
        (READ_ONLY, "missing_scope"),
        (ADMIN, "invalid_arguments"), // more than 1,000 ids
    ];
    for (token, code) in refusals {
        let r = s
            .post_raw(
                "admin.users.session.resetBulk",
                Some(token),
                Some("application/x-www-form-urlencoded"),
                body.clone().into_bytes(),
            )
            .await;
        assert_eq!(r.error(), code, "{token}: {}", r.text);
    }
    // One huge id: cut.
    let huge = format!("W{}", "X".repeat(900_000));
    let r = s
        .post_form(
            "admin.users.session.reset",
            Some(MEMBER),
            &[("user_id", &huge)],
        )
        .await;
    assert_eq!(r.error(), "not_an_admin");

    let entries = s
        .store
        .list_audit("E1", &AuditFilter::default(), AuditPage::Newest, 100)
        .await
        .unwrap();
    assert_eq!(
        entries.len(),
        refusals.len() + 1,
        "every refusal is recorded"
    );
    let mut page_bytes = 0;
    for e in &entries {
        let size = serde_json::to_vec(e).unwrap().len();
        page_bytes += size;
        assert!(size < 8 * 1024, "entry of {size} bytes: {:?}", e.result);
        assert!(
            e.target_user_ids.len() <= 100,
            "{}",
            e.target_user_ids.len()
        );
        assert!(e.target_user_ids.iter().all(|t| t.len() <= 32));
    }
    for e in &entries[1..] {
        assert_eq!(e.target_user_ids.len(), 100);
        assert_eq!(e.target_user_ids[0], many[0], "the first ids are kept");
        assert_eq!(e.details["target_count"], 50_000, "{}", e.details);
        assert_eq!(e.details["targets_truncated"], true);
    }
    assert_eq!(entries[0].target_user_ids, vec![huge[..32].to_owned()]);
    assert!(page_bytes < 6 * 8 * 1024, "{page_bytes}");
    s.stop().await;
}

// ----- 2. expiry is final -----------------------------------------------------------------------

/// An expired session stays ended: a longer duration, clearing the settings, the clock moved
/// back, and a restart (whose clock no longer has the moved offset) all leave its token
/// refused.
#[tokio::test]
async fn expired_sessions_never_come_back() {
    let s = start().await;
    // WSAM has a one-day duration: two days on, xoxc-sam-android has expired.
    move_clock(&s, 48 * HOUR).await;
    assert_eq!(
        auth_test(&s, "xoxc-sam-android").await.error(),
        "invalid_auth"
    );
    let longer = s
        .post_form(
            "admin.users.session.setSettings",
            Some(ADMIN),
            &[("user_ids", "WSAM"), ("duration", "2592000")],
        )
        .await;
    assert_eq!(longer.body["ok"], true, "{}", longer.text);
    assert_eq!(
        auth_test(&s, "xoxc-sam-android").await.error(),
        "invalid_auth"
    );
    let cleared = s
        .post_form(
            "admin.users.session.clearSettings",
            Some(ADMIN),
            &[("user_ids", "WSAM")],
        )
        .await;
    assert_eq!(cleared.body["ok"], true, "{}", cleared.text);
    assert_eq!(
        auth_test(&s, "xoxc-sam-android").await.error(),
        "invalid_auth"
    );

    // Dana signs in, gets an 8-hour duration, and 9 hours pass: the clock moved back finds
    // her session still ended.
    let (_, token) = s.sign_in("E1", "WDANA", "T1", "desktop").await;
    let set = s
        .post_form(
            "admin.users.session.setSettings",
            Some(ADMIN),
            &[("user_ids", "WDANA"), ("duration", "28800")],
        )
        .await;
    assert_eq!(set.body["ok"], true, "{}", set.text);
    assert_eq!(auth_test(&s, &token).await.body["ok"], true);
    move_clock(&s, 9 * HOUR).await;
    assert_eq!(auth_test(&s, &token).await.error(), "invalid_auth");
    move_clock(&s, -9 * HOUR).await;
    assert_eq!(auth_test(&s, &token).await.error(), "invalid_auth");

    // A new session of Dana's expires 8 hours on; 9 hours pass, and the server restarts with
    // a clock back at the system's (the moved offset is gone): still ended.
    let (fresh, token) = s.sign_in("E1", "WDANA", "T1", "web").await;
    assert_eq!(auth_test(&s, &token).await.body["ok"], true);
    move_clock(&s, 9 * HOUR).await;
    let data = s.stop().await;
    let s = reopen(data, options()).await;
    for token in [token.as_str(), "xoxc-dana-desktop", "xoxc-sam-android"] {
        assert_eq!(
            auth_test(&s, token).await.error(),
            "invalid_auth",
            "{token}"
        );
    }
    let listed = support::session_ids(&s.store, "E1").await;
    assert!(
        !listed.contains(&fresh) && !listed.contains(&101),
        "{listed:?}"
    );
    assert!(listed.contains(&106), "others are untouched: {listed:?}");
    s.stop().await;
}

// ----- 3. the primary owner -----------------------------------------------------------------

/// An admin's `setSettings` with a duration for the primary owner is refused with
/// `admin_unauthorized`, nothing applied to anyone; the owner's sessions live on. The owner
/// may set their own; a quit-flag-only change by an admin is applied.
#[tokio::test]
async fn set_settings_never_ends_the_primary_owners_sessions() {
    let s = start().await;
    let r = s
        .post_form(
            "admin.users.session.setSettings",
            Some(ADMIN),
            &[("user_ids", "WDANA,WOWNER"), ("duration", "28800")],
        )
        .await;
    r.slack();
    assert_eq!(r.error(), "admin_unauthorized", "{}", r.text);
    assert_eq!(r.messages(), vec!["[ERROR] admin_unauthorized: WOWNER"]);
    // Nothing applied: Dana has no settings, nobody's sessions expire.
    let got = s
        .post_form(
            "admin.users.session.getSettings",
            Some(ADMIN),
            &[("user_ids", "WDANA,WOWNER")],
        )
        .await;
    assert_eq!(got.body["session_settings"], json!([]), "{}", got.text);
    move_clock(&s, 9 * HOUR).await;
    assert_eq!(auth_test(&s, "xoxc-owner-desktop").await.body["ok"], true);
    assert_eq!(auth_test(&s, "xoxc-dana-desktop").await.body["ok"], true);
    // The refusal is in the audit log.
    let entries = s
        .store
        .list_audit("E1", &AuditFilter::default(), AuditPage::Newest, 10)
        .await
        .unwrap();
    assert_eq!(entries[0].result, "admin_unauthorized");

    // A quit-flag change ends nothing and is applied.
    let quit = s
        .post_form(
            "admin.users.session.setSettings",
            Some(ADMIN),
            &[("user_ids", "WOWNER"), ("desktop_app_browser_quit", "true")],
        )
        .await;
    assert_eq!(quit.body["ok"], true, "{}", quit.text);
    // The primary owner may shorten their own sessions.
    let own = s
        .post_form(
            "admin.users.session.setSettings",
            Some(OWNER),
            &[("user_ids", "WOWNER"), ("duration", "28800")],
        )
        .await;
    assert_eq!(own.body["ok"], true, "{}", own.text);
    assert_eq!(
        auth_test(&s, "xoxc-owner-desktop").await.error(),
        "invalid_auth"
    );
    s.stop().await;
}

// ----- 4. idle connections ------------------------------------------------------------------

/// More idle connections than the cap (some never sent a byte, some after an answered
/// request) do not hold a complete request up: it is answered at once.
#[tokio::test]
async fn idle_connections_are_shed_at_the_cap() {
    let s = start_with(
        ServerSettings {
            limits: Limits {
                max_connections: 4,
                // Without shedding, the request below would wait this long.
                header_timeout: Duration::from_secs(60),
                ..Limits::default()
            },
            ..options()
        },
        Some(FIXTURE),
    )
    .await;
    let mut idle = Vec::new();
    for i in 0..10 {
        let mut tcp = TcpStream::connect(addr_of(&s)).await.unwrap();
        if i % 2 == 0 {
            // A keep-alive connection after one answered request.
            tcp.write_all(
                format!(
                    "POST /api/auth.test HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {ADMIN}\r\n\
                     content-length: 0\r\n\r\n"
                )
                .as_bytes(),
            )
            .await
            .unwrap();
            let mut buf = [0u8; 1024];
            let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf))
                .await
                .unwrap()
                .unwrap();
            assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        }
        idle.push(tcp);
    }
    let started = Instant::now();
    let answered = tokio::time::timeout(
        Duration::from_secs(5),
        raw(
            &s,
            format!(
                "POST /api/auth.test HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {ADMIN}\r\n\
                 connection: close\r\ncontent-length: 0\r\n\r\n"
            )
            .as_bytes(),
        ),
    )
    .await
    .expect("a complete request is answered while idle connections fill the cap");
    let took = started.elapsed();
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
    assert!(answered.contains(r#""ok":true"#), "{answered}");
    assert!(took < Duration::from_secs(1), "answered after {took:?}");
    drop(idle);
    s.stop().await;
}

// ----- 5. ids ------------------------------------------------------------------------------

/// One org's activity leaves no trace in another's ids: Acme's first job is its job 1 and its
/// audit entries count 1, 2, 3 whatever Globex did in between.
#[tokio::test]
async fn job_and_audit_ids_count_per_org() {
    let s = start().await;
    for _ in 0..3 {
        let r = s
            .post_form(
                "admin.users.session.resetBulk",
                Some(OTHER_ADMIN),
                &[("user_ids", "W9MEM")],
            )
            .await;
        assert_eq!(r.body["ok"], true, "{}", r.text);
        let r = s
            .post_form(
                "admin.users.session.setSettings",
                Some(OTHER_ADMIN),
                &[("user_ids", "W9MEM"), ("duration", "28800")],
            )
            .await;
        assert_eq!(r.body["ok"], true, "{}", r.text);
    }
    let mut acme_jobs = Vec::new();
    for _ in 0..2 {
        let r = s
            .post_form(
                "admin.users.session.resetBulk",
                Some(ADMIN),
                &[("user_ids", "WSAM")],
            )
            .await;
        assert_eq!(r.body["ok"], true, "{}", r.text);
        acme_jobs.push(r.header("x-sessions-job-id").unwrap().to_owned());
        let r = s
            .post_form(
                "admin.users.session.setSettings",
                Some(ADMIN),
                &[("user_ids", "WDANA"), ("duration", "86400")],
            )
            .await;
        assert_eq!(r.body["ok"], true, "{}", r.text);
    }
    assert_eq!(acme_jobs, vec!["1", "2"]);
    let job = s.control(reqwest::Method::GET, "jobs/E1/2", None).await;
    assert_eq!(job.status, 200, "{}", job.text);
    // Acme's recorded entries (the jobs, settings, and per-user entries of finished jobs)
    // are numbered 1..n without gaps.
    let entries = s
        .store
        .list_audit("E1", &AuditFilter::default(), AuditPage::Newest, 100)
        .await
        .unwrap();
    let mut ids: Vec<i64> = entries.iter().map(|e| e.id).collect();
    ids.reverse();
    assert_eq!(ids, (1..=ids.len() as i64).collect::<Vec<_>>());
    let jobs: Vec<&Value> = entries
        .iter()
        .filter(|e| e.action == "bulk_session_reset_by_admin")
        .map(|e| &e.details["job_id"])
        .collect();
    assert_eq!(jobs, vec![&json!(2), &json!(1)]);
    s.stop().await;
}

// ----- 6. Slack-shaped answers from the HTTP layer ---------------------------------------------

fn assert_slack_error(text: &str, status: u16, code: &str) {
    let (got, content_type, body) = parse_answer(text);
    assert_eq!(got, status, "{text}");
    assert_eq!(content_type, "application/json; charset=utf-8", "{text}");
    assert_eq!(body["ok"], false, "{text}");
    assert_eq!(body["error"], code, "{text}");
    assert!(
        body["response_metadata"]["messages"][0]
            .as_str()
            .is_some_and(|m| m.starts_with("[ERROR] ")),
        "{text}"
    );
}

/// Every refusal of the HTTP layer is Slack-shaped JSON with its own code.
#[tokio::test]
async fn http_layer_refusals_are_slack_shaped() {
    for emulator in [false, true] {
        let s = start_emulated(
            ServerSettings {
                limits: Limits {
                    max_header_bytes: 16 << 10,
                    body_timeout: Duration::from_millis(300),
                    ..Limits::default()
                },
                max_body_bytes: 4096,
                ..options()
            },
            emulator.then(|| Emulator::new(EmulatorConfig::default()).unwrap()),
            Some(FIXTURE),
        )
        .await;
        // A method name that is not UTF-8.
        let r = support::http()
            .post(format!("{}/api/%ff%fe", s.base))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap();
        let r = Resp::from(r).await;
        r.slack();
        assert_eq!(r.error(), "unknown_method");
        // A head over the size limit, and one with too many header fields.
        let big = format!(
            "GET /api/auth.test HTTP/1.1\r\nhost: x\r\nx-padding: {}\r\n\r\n",
            "a".repeat(32 << 10)
        );
        assert_slack_error(&raw(&s, big.as_bytes()).await, 431, "request_too_large");
        let many: String = (0..120).map(|i| format!("x-h{i}: 1\r\n")).collect();
        let many = format!("GET /api/auth.test HTTP/1.1\r\nhost: x\r\n{many}\r\n");
        assert_slack_error(&raw(&s, many.as_bytes()).await, 431, "request_too_large");
        // A malformed head.
        assert_slack_error(
            &raw(&s, b"NOT HTTP AT ALL\r\n\r\n").await,
            400,
            "invalid_arguments",
        );
        // A malformed chunked body is not "too large".
        let chunked = format!(
            "POST /api/auth.test HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {ADMIN}\r\n\
             content-type: application/x-www-form-urlencoded\r\ntransfer-encoding: chunked\r\n\
             connection: close\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"
        );
        assert_slack_error(&raw(&s, chunked.as_bytes()).await, 400, "invalid_form_data");
        // Too large, and too slow.
        let large = format!(
            "POST /api/auth.test HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\
             content-type: application/x-www-form-urlencoded\r\ncontent-length: 5000\r\n\r\n{}",
            "a".repeat(5000)
        );
        assert_slack_error(&raw(&s, large.as_bytes()).await, 413, "request_too_large");
        let slow = "POST /api/auth.test HTTP/1.1\r\nhost: x\r\n\
             content-type: application/x-www-form-urlencoded\r\ncontent-length: 100\r\n\r\nx=1";
        assert_slack_error(&raw(&s, slow.as_bytes()).await, 408, "request_timeout");
        // The server is fine.
        auth_test(&s, ADMIN).await.slack();
        s.stop().await;
    }
}

// ----- 7. getSettings ------------------------------------------------------------------------

/// Users without an active session are left out of `getSettings` (Slack's reference), whether
/// or not they have settings.
#[tokio::test]
async fn get_settings_leaves_out_users_without_active_sessions() {
    let s = start().await;
    let reset = s
        .post_form(
            "admin.users.session.reset",
            Some(ADMIN),
            &[("user_id", "WSAM")],
        )
        .await;
    assert_eq!(reset.body["ok"], true, "{}", reset.text);
    let got = s
        .post_form(
            "admin.users.session.getSettings",
            Some(ADMIN),
            &[("user_ids", "WSAM,WDANA,WADMIN")],
        )
        .await;
    got.slack();
    // WSAM has settings but no session now; the others have sessions but no settings.
    assert_eq!(got.body["session_settings"], json!([]), "{}", got.text);
    assert_eq!(
        got.body["no_settings_applied"],
        json!(["WDANA", "WADMIN"]),
        "{}",
        got.text
    );
    // A user whose sessions all expired is left out too.
    let set = s
        .post_form(
            "admin.users.session.setSettings",
            Some(ADMIN),
            &[("user_ids", "WDANA"), ("duration", "28800")],
        )
        .await;
    assert_eq!(set.body["ok"], true, "{}", set.text);
    move_clock(&s, 9 * HOUR).await;
    let got = s
        .post_form(
            "admin.users.session.getSettings",
            Some(ADMIN),
            &[("user_ids", "WSAM,WDANA,WADMIN")],
        )
        .await;
    assert_eq!(got.body["session_settings"], json!([]), "{}", got.text);
    assert_eq!(
        got.body["no_settings_applied"],
        json!(["WADMIN"]),
        "{}",
        got.text
    );
    s.stop().await;
}

// ----- 8. request log, control bearer, empty control token -------------------------------------

/// Anything shaped like a Slack token is redacted in the request log, wherever it is.
#[tokio::test]
async fn request_log_redacts_tokens_anywhere() {
    let s = start_emulated(
        options(),
        Some(Emulator::new(EmulatorConfig::default()).unwrap()),
        Some(FIXTURE),
    )
    .await;
    let secrets = [
        "xoxp-nested-secret-1",
        "xoxb-123-456-list-item",
        "xoxc-in-another-argument",
        "xoxd-query-string",
        "XOXP-UPPER-CASE",
        "xoxe-key-secret",
    ];
    let mut meta = json!({"deep": [{"note": format!("see {}", secrets[0])}]});
    meta.as_object_mut()
        .unwrap()
        .insert(secrets[5].to_owned(), json!(1));
    let body = json!({"user_ids": ["WDANA"], "meta": meta, "list": [secrets[1]]});
    support::http()
        .post(format!(
            "{}admin.users.session.getSettings?hint={}",
            s.api, secrets[3]
        ))
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await
        .unwrap();
    s.post_form(
        "admin.users.session.list",
        Some(ADMIN),
        &[("cursor", secrets[2]), ("limit", secrets[4])],
    )
    .await;
    let log = s
        .control(reqwest::Method::GET, "emulator/requests", None)
        .await;
    assert_eq!(log.status, 200, "{}", log.text);
    for secret in secrets {
        assert!(!log.text.contains(secret), "{secret} leaked: {}", log.text);
    }
    assert!(log.text.contains("[redacted]"), "{}", log.text);
    assert!(
        log.text.contains("WDANA"),
        "other values stay: {}",
        log.text
    );
    s.stop().await;
}

/// The control API takes the bearer scheme in any case, as `/api` does.
#[tokio::test]
async fn control_api_accepts_the_bearer_scheme_in_any_case() {
    let s = start().await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let r = support::http()
            .get(format!("{}/control/health", s.base))
            .header("authorization", format!("{scheme} {CONTROL}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{scheme}");
    }
    let r = support::http()
        .get(format!("{}/control/health", s.base))
        .header("authorization", format!("Basic {CONTROL}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    s.stop().await;
}

/// An empty control token would turn on a control API no request can use: refused.
#[tokio::test]
async fn an_empty_control_token_is_refused_at_start() {
    let data = support::Data::new();
    let store = sessions_server::store::open(&data.url).await.unwrap();
    for token in ["", "  "] {
        let err = AppState::new(
            store.clone(),
            ServerSettings {
                control_token: Some(token.into()),
                ..ServerSettings::default()
            },
        )
        .await
        .map(|_| ())
        .unwrap_err();
        assert!(err.to_string().contains("control token"), "{err}");
    }
}
