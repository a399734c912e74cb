//! The audit log read API: GET with the query, bearer token, pages as a stream, errors and
//! retries like the Web API methods, validation before sending.

use futures::TryStreamExt;
use serde_json::json;
use sessions_client::audit::{AuditLogEntry, AuditLogsRequest};
use sessions_client::*;
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{builder, client, recording, secs, TOKEN};

fn entry(id: u64) -> serde_json::Value {
    json!({
        "id": id.to_string(), "date_create": 1_700_000_000 + id, "action": "user_session_reset_by_admin",
        "actor": {"type": "user", "user": {"id": "W1", "name": "adam"}},
        "entity": {"type": "user", "user": {"id": format!("W{id}")}},
        "context": {"location": {"type": "enterprise", "id": "E1"}, "ip_address": "127.0.0.1"},
        "details": {"method": "admin.users.session.reset", "result": "ok"}
    })
}

fn page(ids: std::ops::Range<u64>, next: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "ok": true,
        "entries": ids.map(entry).collect::<Vec<_>>(),
        "response_metadata": {"next_cursor": next}
    }))
}

#[tokio::test]
async fn reads_pages_with_get_next_to_the_api_root() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/audit/v1/logs"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(query_param("action", "user_session_reset_by_admin"))
        .and(query_param("limit", "2"))
        .and(query_param_is_missing("cursor"))
        .respond_with(page(0..2, "c2"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/audit/v1/logs"))
        .and(query_param("cursor", "c2"))
        .respond_with(page(2..3, ""))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    assert_eq!(c.audit_url(), format!("{}/audit/v1/logs", server.uri()));
    let req = AuditLogsRequest::default()
        .action("user_session_reset_by_admin")
        .limit(2);
    let all: Vec<AuditLogEntry> = c.audit_logs_all(req).try_collect().await.unwrap();
    let ids: Vec<&str> = all.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["0", "1", "2"]);
    assert_eq!(all[1].target(), "W1");
    assert_eq!(all[1].result(), "ok");
}

#[tokio::test]
async fn errors_and_validation_match_the_web_api() {
    let server = MockServer::start().await;
    Mock::given(path("/audit/v1/logs"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": false, "error": "missing_scope", "needed": "auditlogs:read",
            "provided": "admin.users:read"
        })))
        .mount(&server)
        .await;
    let c = client(&server);
    match c.audit_logs(AuditLogsRequest::default()).await {
        Err(Error::Api { code, needed, .. }) => {
            assert_eq!(code.as_str(), "missing_scope");
            assert_eq!(needed.as_deref(), Some("auditlogs:read"));
        }
        other => panic!("{other:?}"),
    }
    let requests = server.received_requests().await.unwrap().len();
    let err = c
        .audit_logs(AuditLogsRequest::default().limit(0))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("limit"), "{err}");
    assert_eq!(server.received_requests().await.unwrap().len(), requests);
}

#[tokio::test]
async fn rate_limits_are_waited_out() {
    let server = MockServer::start().await;
    Mock::given(path("/audit/v1/logs"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/audit/v1/logs"))
        .respond_with(page(0..1, ""))
        .mount(&server)
        .await;
    let (c, sleeper) = recording(&server, RetryPolicy::default());
    let p = c.audit_logs(AuditLogsRequest::default()).await.unwrap();
    assert_eq!(p.entries.len(), 1);
    assert_eq!(sleeper.waits(), vec![secs(3)]);
}

#[tokio::test]
async fn the_audit_url_can_be_set() {
    let server = MockServer::start().await;
    Mock::given(path("/elsewhere/logs"))
        .respond_with(page(0..1, ""))
        .expect(1)
        .mount(&server)
        .await;
    let c = builder(&server)
        .audit_url(format!("{}/elsewhere/logs", server.uri()))
        .build()
        .unwrap();
    assert_eq!(
        c.audit_logs(AuditLogsRequest::default())
            .await
            .unwrap()
            .entries
            .len(),
        1
    );
    assert!(builder(&server).audit_url("ftp://nope/").build().is_err());
}

#[tokio::test]
async fn a_get_carries_no_body_and_no_form_header() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/audit/v1/logs"))
        .and(query_param("user", "W2"))
        .respond_with(page(0..1, ""))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    c.audit_logs(AuditLogsRequest::default().user("W2"))
        .await
        .unwrap();
    let sent = server.received_requests().await.unwrap();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].body.is_empty());
    assert!(sent[0].headers.get("content-type").is_none());
    assert_eq!(sent[0].headers.get("accept").unwrap(), "application/json");
    // No arguments, no `?`.
    c.audit_logs(AuditLogsRequest::default()).await.unwrap_err();
    let sent = server.received_requests().await.unwrap();
    assert_eq!(sent[1].url.query(), None);
}

#[tokio::test]
async fn retries_are_reported_and_waited_out_like_any_method() {
    let server = MockServer::start().await;
    Mock::given(path("/audit/v1/logs"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "2"))
        .up_to_n_times(3)
        .mount(&server)
        .await;
    Mock::given(path("/audit/v1/logs"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/audit/v1/logs"))
        .respond_with(page(0..1, ""))
        .mount(&server)
        .await;
    let told = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let hook_told = told.clone();
    let sleeper = std::sync::Arc::new(crate::support::RecordingSleeper::default());
    // Two attempts in all: only because the 429s are outside the budget does the 503 get
    // its retry.
    let policy = RetryPolicy {
        max_attempts: 2,
        wait_out_rate_limits: true,
        ..RetryPolicy::default()
    };
    let c = builder(&server)
        .retry(policy)
        .sleeper(sleeper.clone())
        .throttle(true)
        .on_retry(std::sync::Arc::new(
            move |m: &'static str, o: &Outcome, _| {
                hook_told.lock().unwrap().push((m, o.clone()));
            },
        ))
        .build()
        .unwrap();
    c.audit_logs(AuditLogsRequest::default()).await.unwrap();
    let told = told.lock().unwrap().clone();
    assert_eq!(told.len(), 4, "{told:?}");
    assert!(told.iter().all(|(m, _)| *m == "audit.logs"));
    assert!(matches!(told[3].1, Outcome::ServerError { .. }));
    // Three 429 waits and one backoff; the throttle (Web API tiers only) added none.
    assert_eq!(sleeper.waits()[..3], [secs(2), secs(2), secs(2)]);
    assert_eq!(sleeper.waits().len(), 4);
}
