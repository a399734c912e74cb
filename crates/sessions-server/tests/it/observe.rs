//! Issue #7 observability and exposure: `/metrics`, `/health`, `/ready`, the control API's
//! on/off switch and loopback rule, connection/header/slow-client limits, `/openapi.json`.

use std::time::Duration;

use serde_json::Value;
use sessions_server::net::Limits;
use sessions_server::{app, AppState, ServerSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower::ServiceExt;

use crate::support::{self, http, options, start_with, Resp, ADMIN, CONTROL, FIXTURE};

pub(crate) async fn get(url: String) -> (u16, String) {
    let r = http().get(url).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.text().await.unwrap())
}

/// The value of one sample line `name{labels} value`, if present.
pub(crate) fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn metrics_count_calls_by_method_and_code_and_time_the_store() {
    let s = start_with(options(), Some(FIXTURE)).await;
    for _ in 0..3 {
        s.post_form("auth.test", Some(ADMIN), &[]).await.slack();
    }
    let bad = s
        .post_form("admin.users.session.reset", Some(ADMIN), &[])
        .await;
    assert_eq!(bad.error(), "invalid_arguments");
    let nobody = s.post_form("auth.test", Some("xoxp-nobody"), &[]).await;
    assert_eq!(nobody.error(), "invalid_auth");
    s.post_form("chat.postMessage", Some(ADMIN), &[]).await;
    s.post_form(
        "admin.users.session.resetBulk",
        Some(ADMIN),
        &[("user_ids", "WDANA")],
    )
    .await
    .slack();

    let (status, text) = get(format!("{}/metrics", s.base)).await;
    assert_eq!(status, 200);
    let m = |series: &str| sample(&text, series);
    assert_eq!(
        m(r#"sessions_api_requests_total{method="auth.test",code="ok"}"#),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        m(r#"sessions_api_requests_total{method="auth.test",code="invalid_auth"}"#),
        Some(1.0)
    );
    assert_eq!(
        m(r#"sessions_api_errors_total{method="auth.test",code="invalid_auth"}"#),
        Some(1.0)
    );
    assert_eq!(
        m(
            r#"sessions_api_errors_total{method="admin.users.session.reset",code="invalid_arguments"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        m(r#"sessions_api_errors_total{method="unknown",code="unknown_method"}"#),
        Some(1.0)
    );
    assert_eq!(
        m(r#"sessions_api_errors_total{method="auth.test",code="ok"}"#),
        None,
        "successes are not errors"
    );
    assert_eq!(
        m(r#"sessions_api_request_duration_seconds_count{method="auth.test"}"#),
        Some(4.0)
    );
    assert_eq!(
        m(r#"sessions_api_request_duration_seconds_bucket{method="auth.test",le="+Inf"}"#),
        Some(4.0)
    );
    // Every authenticated call went through the store's authenticate.
    let auth_calls = m(r#"sessions_store_operation_duration_seconds_count{op="authenticate"}"#)
        .expect("store latency of authenticate");
    assert!(auth_calls >= 6.0, "{text}");
    assert!(
        m(r#"sessions_store_operation_duration_seconds_count{op="enqueue_bulk_reset"}"#)
            .is_some_and(|n| n >= 1.0)
    );
    assert_eq!(m("sessions_store_up"), Some(1.0));
    // The three auth.test calls in a row: the first went to the database, the others were
    // answered from SQLite's token cache (nothing was written in between). PostgreSQL has none.
    let (hits, misses) = (
        m("sessions_token_cache_hits_total"),
        m("sessions_token_cache_misses_total"),
    );
    match support::backend() {
        support::Backend::Sqlite => {
            assert!(hits.is_some_and(|h| h >= 2.0), "{text}");
            assert!(misses.is_some_and(|n| n >= 1.0), "{text}");
        }
        support::Backend::Postgres => assert_eq!((hits, misses), (None, None)),
    }
    let pending = m("sessions_bulk_jobs_pending").expect("backlog gauge");
    assert!(pending <= 1.0);
    assert!(m("sessions_http_connections_total").is_some_and(|n| n >= 1.0));
    assert!(m("process_resident_memory_bytes").is_some_and(|n| n > 0.0));
    // Well-formed exposition: every sample line belongs to a declared family.
    let declared: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let name = line.split(['{', ' ']).next().unwrap();
        assert!(
            declared.iter().any(|d| name == *d
                || name
                    .strip_prefix(d)
                    .is_some_and(|r| matches!(r, "_bucket" | "_sum" | "_count"))),
            "undeclared sample {line}"
        );
    }
    s.stop().await;
}

#[tokio::test]
async fn backlog_gauge_counts_pending_jobs() {
    // No worker: the recorded job stays pending.
    let s = start_with(
        ServerSettings {
            bulk_worker: false,
            ..options()
        },
        Some(FIXTURE),
    )
    .await;
    for users in ["WDANA", "WSAM"] {
        s.post_form(
            "admin.users.session.resetBulk",
            Some(ADMIN),
            &[("user_ids", users)],
        )
        .await
        .slack();
    }
    let (_, text) = get(format!("{}/metrics", s.base)).await;
    assert_eq!(sample(&text, "sessions_bulk_jobs_pending"), Some(2.0));
    let (status, body) = get(format!("{}/ready", s.base)).await;
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["ok"], true);
    assert_eq!(body["pending_jobs"], 2);
    s.stop().await;
}

#[tokio::test]
async fn health_and_ready_answer_without_a_token() {
    let s = start_with(options(), Some(FIXTURE)).await;
    let (status, body) = get(format!("{}/health", s.base)).await;
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["ok"], true);
    let (status, body) = get(format!("{}/ready", s.base)).await;
    assert_eq!(status, 200, "{body}");
    s.stop().await;
}

// ----- control API exposure ------------------------------------------------------------------

fn no_control() -> ServerSettings {
    ServerSettings {
        control_token: None,
        control: false,
        ..options()
    }
}

#[tokio::test]
async fn control_api_is_off_unless_enabled() {
    let s = start_with(no_control(), Some(FIXTURE)).await;
    for (verb, path) in [
        (reqwest::Method::GET, "health"),
        (reqwest::Method::GET, "dump"),
        (reqwest::Method::POST, "reset"),
    ] {
        let r = Resp::from(
            http()
                .request(verb, format!("{}/control/{path}", s.base))
                .bearer_auth(CONTROL)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.body["error"], "control_disabled");
    }
    // The API itself works, and nothing was reset.
    s.post_form("auth.test", Some(ADMIN), &[]).await.slack();
    s.stop().await;

    // `control: true` alone enables it with a random token.
    let s = start_with(
        ServerSettings {
            control: true,
            ..no_control()
        },
        Some(FIXTURE),
    )
    .await;
    let r = Resp::from(
        http()
            .get(format!("{}/control/health", s.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 401, "enabled, but the token is still required");
    s.stop().await;
}

#[tokio::test]
async fn control_api_answers_loopback_peers_over_tcp() {
    let s = start_with(options(), Some(FIXTURE)).await;
    let r = s.control(reqwest::Method::GET, "health", None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    s.stop().await;
}

async fn state(opts: ServerSettings) -> (AppState, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store =
        sessions_server::store::open(&format!("sqlite://{}", dir.path().join("s.db").display()))
            .await
            .unwrap();
    (AppState::new(store, opts).await.unwrap(), dir)
}

fn control_request(peer: Option<&str>) -> http::Request<axum::body::Body> {
    let mut req = http::Request::get("/control/health")
        .header("authorization", format!("Bearer {CONTROL}"))
        .body(axum::body::Body::empty())
        .unwrap();
    if let Some(p) = peer {
        req.extensions_mut().insert(axum::extract::ConnectInfo(
            p.parse::<std::net::SocketAddr>().unwrap(),
        ));
    }
    req
}

async fn status_of(state: &AppState, req: http::Request<axum::body::Body>) -> (u16, Value) {
    let res = app(state.clone()).oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn control_api_refuses_remote_peers_unless_allowed() {
    let (st, _dir) = state(options()).await;
    for peer in ["203.0.113.5:40000", "[2001:db8::1]:40000"] {
        let (status, body) = status_of(&st, control_request(Some(peer))).await;
        assert_eq!(status, 403, "{peer}");
        assert_eq!(body["error"], "control_remote_forbidden");
    }
    // A router embedded without peer addresses trusts nobody.
    let (status, _) = status_of(&st, control_request(None)).await;
    assert_eq!(status, 403);
    for peer in ["127.0.0.1:1", "[::1]:1", "[::ffff:127.0.0.1]:1"] {
        let (status, body) = status_of(&st, control_request(Some(peer))).await;
        assert_eq!(status, 200, "{peer}: {body}");
    }

    let (st, _dir) = state(ServerSettings {
        control_allow_remote: true,
        ..options()
    })
    .await;
    let (status, body) = status_of(&st, control_request(Some("203.0.113.5:40000"))).await;
    assert_eq!(status, 200, "{body}");
}

// ----- limits ------------------------------------------------------------------------------------

fn limits(l: Limits) -> ServerSettings {
    ServerSettings {
        limits: l,
        ..options()
    }
}

fn addr_of(s: &support::Server) -> String {
    s.base.trim_start_matches("http://").to_owned()
}

/// Reads until the peer closes; fails when it has not closed within 10 s.
async fn read_all(tcp: &mut TcpStream) -> String {
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut out))
        .await
        .expect("the server closes the connection")
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn oversized_headers_get_431() {
    let s = start_with(
        limits(Limits {
            max_header_bytes: 16 << 10,
            ..Limits::default()
        }),
        Some(FIXTURE),
    )
    .await;
    let r = http()
        .post(format!("{}auth.test", s.api))
        .bearer_auth(ADMIN)
        .header("x-padding", "a".repeat(32 << 10))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 431);
    // Under the limit is fine.
    let r = http()
        .post(format!("{}auth.test", s.api))
        .bearer_auth(ADMIN)
        .header("x-padding", "a".repeat(8 << 10))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    s.stop().await;
}

#[tokio::test]
async fn oversized_bodies_get_413_in_slack_shape() {
    let s = start_with(
        ServerSettings {
            max_body_bytes: 1024,
            ..options()
        },
        Some(FIXTURE),
    )
    .await;
    let r = s
        .post_raw(
            "admin.users.session.getSettings",
            Some(ADMIN),
            Some("application/x-www-form-urlencoded"),
            format!("user_ids={}", "W1,".repeat(1000)).into_bytes(),
        )
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.body["ok"], false);
    assert_eq!(r.body["error"], "request_too_large");
    s.stop().await;
}

#[tokio::test]
async fn slow_bodies_get_408_request_timeout() {
    let s = start_with(
        limits(Limits {
            body_timeout: Duration::from_millis(300),
            ..Limits::default()
        }),
        Some(FIXTURE),
    )
    .await;
    let mut tcp = TcpStream::connect(addr_of(&s)).await.unwrap();
    tcp.write_all(
        format!(
            "POST /api/auth.test HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {ADMIN}\r\n\
             content-type: application/x-www-form-urlencoded\r\ncontent-length: 100\r\n\r\nlimit=1"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let text = read_all(&mut tcp).await;
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains(r#""error":"request_timeout""#), "{text}");
    assert!(text.contains(r#""ok":false"#), "{text}");
    s.stop().await;
}

#[tokio::test]
async fn slow_headers_get_408_and_idle_connections_close_silently() {
    let s = start_with(
        limits(Limits {
            header_timeout: Duration::from_millis(300),
            ..Limits::default()
        }),
        Some(FIXTURE),
    )
    .await;
    // A request head that never completes: answered, then closed.
    let mut tcp = TcpStream::connect(addr_of(&s)).await.unwrap();
    tcp.write_all(b"POST /api/auth.test HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let text = read_all(&mut tcp).await;
    assert!(text.starts_with("HTTP/1.1 408"), "{text:?}");
    let body: Value = serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["ok"], false);
    assert_eq!(body["error"], "request_timeout");

    // An idle connection (nothing sent, or idle after an answered request): closed without an
    // unsolicited answer.
    let mut idle = TcpStream::connect(addr_of(&s)).await.unwrap();
    assert_eq!(read_all(&mut idle).await, "");
    let mut kept = TcpStream::connect(addr_of(&s)).await.unwrap();
    kept.write_all(
        format!(
            "POST /api/auth.test HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {ADMIN}\r\n\
             content-length: 0\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let text = read_all(&mut kept).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert_eq!(text.matches("HTTP/1.1").count(), 1, "{text}");
    s.stop().await;
}

#[tokio::test]
async fn clients_that_stop_reading_are_disconnected() {
    let s = start_with(
        limits(Limits {
            write_timeout: Duration::from_millis(300),
            ..Limits::default()
        }),
        Some(FIXTURE),
    )
    .await;
    // A small receive window, and many pipelined requests whose answers are never read. The
    // answers are large and need no store (the ~50 KB OpenAPI document), so the buffers fill
    // within the first second on any backend.
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let mut tcp = sock.connect(addr_of(&s).parse().unwrap()).await.unwrap();
    let one = "GET /openapi.json HTTP/1.1\r\nhost: x\r\n\r\n".to_owned();
    let requests = one.repeat(3000);
    // The server stops reading once its answers back up; writing may then block: bound it.
    let _ = tokio::time::timeout(Duration::from_secs(2), tcp.write_all(requests.as_bytes())).await;
    // Wait (without reading, which would unblock the server) until the server has dropped the
    // stalled connection: its open-connections gauge counts only the probe itself. Polling an
    // observable state rather than sleeping a fixed time keeps this robust on a loaded machine.
    let probe = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let metrics_url = format!("{}/metrics", s.base);
    sessions_test_support::wait::until_true("the stalled connection to be dropped", || async {
        let text = probe
            .get(&metrics_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        sample(&text, "sessions_http_connections_open") == Some(1.0)
    })
    .await;
    // The server gave up on this connection: reading drains what was sent, then ends.
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut out))
        .await
        .expect("the server closed the connection");
    let answered = String::from_utf8_lossy(&out)
        .matches("HTTP/1.1 200")
        .count();
    assert!(
        read.is_err() || answered < 3000,
        "all {answered} answers arrived; nothing was cut"
    );
    // The server itself is fine.
    s.post_form("auth.test", Some(ADMIN), &[]).await.slack();
    s.stop().await;
}

#[tokio::test]
async fn connections_over_the_cap_wait_while_all_are_busy() {
    let s = start_with(
        limits(Limits {
            max_connections: 1,
            ..Limits::default()
        }),
        Some(FIXTURE),
    )
    .await;
    // The first connection takes the only slot with a request whose body is still arriving:
    // busy, so it is not shed. The server's "100 Continue" shows the handler is reading it.
    let mut hog = TcpStream::connect(addr_of(&s)).await.unwrap();
    hog.write_all(
        format!(
            "POST /api/auth.test HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {ADMIN}\r\n\
             content-type: application/x-www-form-urlencoded\r\ncontent-length: 6\r\n\
             expect: 100-continue\r\n\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut head = Vec::new();
    while !String::from_utf8_lossy(&head).contains("\r\n\r\n") {
        let mut byte = [0u8; 1];
        let n = tokio::time::timeout(Duration::from_secs(30), hog.read(&mut byte))
            .await
            .expect("100 Continue")
            .unwrap();
        assert_eq!(n, 1, "closed before 100 Continue: {head:?}");
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 100"), "{head:?}");
    hog.write_all(b"x=").await.unwrap();
    // The next connection waits. What it gets shows when it was served: its metrics already
    // count the busy request as answered, so it was served only after that one completed.
    let mut waiting = TcpStream::connect(addr_of(&s)).await.unwrap();
    waiting
        .write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    // The busy request completes and its connection turns idle: it is shed for the waiting
    // one, which gets a normal answer.
    hog.write_all(b"1234").await.unwrap();
    let text = read_all(&mut waiting).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert_eq!(
        sample(
            &text,
            r#"sessions_api_requests_total{method="auth.test",code="ok"}"#
        ),
        Some(1.0),
        "served while over the cap: {text}"
    );
    let hog_text = read_all(&mut hog).await;
    assert!(hog_text.starts_with("HTTP/1.1 200"), "{hog_text}");
    s.stop().await;
}

// ----- OpenAPI -------------------------------------------------------------------------------------

#[tokio::test]
async fn openapi_document_is_served_and_covers_every_method() {
    let s = start_with(options(), Some(FIXTURE)).await;
    let r = http()
        .get(format!("{}/openapi.json", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let doc: Value = r.json().await.unwrap();
    s.stop().await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let methods = [
        "admin.users.session.list",
        "admin.users.session.invalidate",
        "admin.users.session.reset",
        "admin.users.session.resetBulk",
        "admin.users.session.getSettings",
        "admin.users.session.setSettings",
        "admin.users.session.clearSettings",
        "auth.test",
        "auth.revoke",
        "users.lookupByEmail",
        "users.info",
        "users.list",
    ];
    let paths = doc["paths"].as_object().unwrap();
    // The methods, and the audit log's read endpoint.
    assert_eq!(paths.len(), methods.len() + 1);
    assert!(doc["paths"]["/audit/v1/logs"]["get"].is_object());
    for m in methods {
        let op = &doc["paths"][format!("/api/{m}")]["post"];
        assert!(op.is_object(), "{m} missing");
        let content = op["requestBody"]["content"].as_object().unwrap();
        for ct in [
            "application/x-www-form-urlencoded",
            "application/json",
            "multipart/form-data",
        ] {
            assert!(content.contains_key(ct), "{m}: {ct}");
        }
        let ok = op["responses"]["200"]["content"]["application/json"]["schema"]["oneOf"]
            .as_array()
            .unwrap();
        let refs: Vec<&str> = ok.iter().filter_map(|s| s["$ref"].as_str()).collect();
        assert!(refs.contains(&"#/components/schemas/Error"), "{m}");
        assert_eq!(refs.len(), 2, "{m}: success and error schemas");
        assert!(op["responses"]["429"].is_object(), "{m}: 429");
        assert!(op["responses"]["413"].is_object(), "{m}: 413");
    }
    // What is served is the built document, whose `$ref`s all resolve (checked with its
    // other structural rules by `openapi::tests::the_document_is_well_formed_openapi_3`).
    assert_eq!(doc, sessions_server::openapi::document());
    let error = &doc["components"]["schemas"]["Error"];
    assert_eq!(error["required"], serde_json::json!(["ok", "error"]));
    assert!(doc["components"]["responses"]["RateLimited"]["headers"]["Retry-After"].is_object());
}

/// (method, form, documented success schema).
type Case = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
);

#[tokio::test]
async fn success_answers_match_the_documented_required_fields() {
    let s = start_with(options(), Some(FIXTURE)).await;
    let doc: Value = sessions_server::openapi::document();
    let cases: [Case; 3] = [
        ("admin.users.session.list", &[("limit", "2")], "ListOk"),
        (
            "admin.users.session.getSettings",
            &[("user_ids", "WSAM,WDANA")],
            "GetSettingsOk",
        ),
        ("auth.test", &[], "AuthTestOk"),
    ];
    for (method, form, schema) in cases {
        let r = s.post_form(method, Some(ADMIN), form).await;
        r.slack();
        for field in doc["components"]["schemas"][schema]["required"]
            .as_array()
            .unwrap()
        {
            let f = field.as_str().unwrap();
            assert!(!r.body[f].is_null(), "{method}: {f} missing in {}", r.text);
        }
    }
    s.stop().await;
}

// ----- readiness when the store is gone ------------------------------------------------------

/// Needs PostgreSQL (`SESSIONS_TEST_PG_URL`), and fails without it: dropping the database
/// under a running server is the realistic way to lose a store.
#[tokio::test]
async fn ready_and_metrics_report_a_lost_store_and_the_api_stays_slack_shaped() {
    let db = sessions_test_support::pg::TempDb::fresh("obs_ready").await;
    let pg = sessions_test_support::pg::admin().await;
    let store = sessions_server::store::open(&db.url).await.unwrap();
    let s = crate::support::launch_on(None, db.url.clone(), store, options(), None).await;
    let base = s.base.clone();

    let (status, _) = get(format!("{base}/ready")).await;
    assert_eq!(status, 200);
    pg.batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", db.name))
        .await
        .unwrap();

    let (status, body) = get(format!("{base}/ready")).await;
    assert_eq!(status, 503, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "store_unavailable");
    // Liveness does not depend on the store.
    let (status, _) = get(format!("{base}/health")).await;
    assert_eq!(status, 200);
    // The API answers Slack's way, not with a 5xx.
    let r = Resp::from(
        http()
            .post(format!("{base}/api/auth.test"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["ok"], false);
    assert_eq!(r.body["error"], "internal_error");
    let (status, text) = get(format!("{base}/metrics")).await;
    assert_eq!(status, 200);
    assert_eq!(sample(&text, "sessions_store_up"), Some(0.0), "{text}");
    assert!(sample(&text, "sessions_bulk_jobs_pending").is_none());
    assert!(
        sample(
            &text,
            r#"sessions_store_errors_total{op="pending_bulk_jobs"}"#
        )
        .is_some_and(|n| n >= 2.0),
        "{text}"
    );
    assert!(
        sample(&text, r#"sessions_store_errors_total{op="authenticate"}"#)
            .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"sessions_api_errors_total{method="auth.test",code="internal_error"}"#
        ),
        Some(1.0)
    );
    s.halt().await;
}
