//! RFC 8936 poll delivery end to end: the test serves a poll endpoint; the bridge polls it with
//! its bearer token, signs out the subject of a good SET (an `iss_sub` mapped by
//! `--subject-map`), acknowledges it, and reports the refused one in `setErrs`.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Json;
use serde_json::json;

use super::*;

const POLL_TOKEN: &str = "poll-secret-4e1d";

/// A transmitter's poll endpoint: serves the SETs not yet acknowledged or refused, and keeps
/// every request it gets.
struct PollEndpoint {
    url: String,
    requests: Recorded<Value>,
}

async fn poll_endpoint(sets: BTreeMap<String, String>) -> PollEndpoint {
    let queue = Arc::new(Mutex::new(sets));
    let requests: Recorded<Value> = Arc::default();
    let (q, r) = (queue.clone(), requests.clone());
    let app = axum::Router::new().route(
        "/poll",
        post(move |headers: HeaderMap, Json(body): Json<Value>| {
            let (queue, requests) = (q.clone(), r.clone());
            async move {
                let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
                if auth != Some(&format!("Bearer {POLL_TOKEN}")) {
                    return (StatusCode::UNAUTHORIZED, Json(json!({})));
                }
                requests.lock().unwrap().push(body.clone());
                let mut queue = queue.lock().unwrap();
                for jti in body["ack"].as_array().into_iter().flatten() {
                    queue.remove(jti.as_str().unwrap());
                }
                for jti in body["setErrs"]
                    .as_object()
                    .into_iter()
                    .flat_map(|m| m.keys())
                {
                    queue.remove(jti);
                }
                let max = body["maxEvents"].as_u64().unwrap_or(u64::MAX) as usize;
                let sets: BTreeMap<_, _> = queue
                    .iter()
                    .take(max)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                let more = queue.len() > sets.len();
                (
                    StatusCode::OK,
                    Json(json!({"sets": sets, "moreAvailable": more})),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    PollEndpoint {
        url: format!("http://{addr}/poll"),
        requests,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn polled_sets_are_acted_on_acknowledged_and_refusals_reported() {
    let Setup { dir, serve, tx } = setup().await;
    let good = tx.rsa.sign(
        &Transmitter::set_claims(
            "poll-good",
            "https://schemas.openid.net/secevent/risc/event-type/sessions-revoked",
            json!({"format": "iss_sub", "iss": ISSUER, "sub": "00u-omar"}),
        ),
        "secevent+jwt",
    );
    let mut wrong_aud = Transmitter::set_claims(
        "poll-bad",
        SESSION_REVOKED,
        json!({"format": "email", "email": "dana@acme.example"}),
    );
    wrong_aud["aud"] = json!("https://someone-else.example");
    let bad = tx.ec.sign(&wrong_aud, "secevent+jwt");
    let endpoint = poll_endpoint(BTreeMap::from([
        ("poll-good".to_owned(), good),
        ("poll-bad".to_owned(), bad),
    ]))
    .await;
    let map = dir.path().join("subjects.csv");
    std::fs::write(&map, "sub,email_or_user_id\n00u-omar,W0OPS\n").unwrap();
    let map = map.display().to_string();
    let bridge = BridgeProcess::start(
        &serve,
        &tx,
        &dir.path().join("bridge"),
        &[
            "--poll-url",
            &endpoint.url,
            "--poll-token",
            POLL_TOKEN,
            "--poll-interval",
            "200ms",
            "--subject-map",
            &map,
        ],
    )
    .await;

    eventually("omar signed out through poll delivery", &bridge, || async {
        sessions_of(&serve, "W0OPS").await.is_empty()
    })
    .await;
    assert!(!token_works(&serve, "xoxc-omar-phone").await);
    assert_eq!(
        sessions_of(&serve, "W0DEV").await.len(),
        3,
        "the refused SET was acted on"
    );
    eventually(
        "the acknowledgement and the error report",
        &bridge,
        || async {
            let requests = endpoint.requests.lock().unwrap().clone();
            requests.iter().any(|r| r["ack"] == json!(["poll-good"]))
                && requests
                    .iter()
                    .any(|r| r["setErrs"]["poll-bad"]["err"] == "invalid_audience")
        },
    )
    .await;
    let requests = endpoint.requests.lock().unwrap().clone();
    let first = &requests[0];
    assert_eq!(first["ack"], json!([]));
    assert!(first["maxEvents"].as_u64().unwrap() > 0, "{first}");
    assert!(
        requests.iter().all(|r| r["ack"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|j| *j == "poll-good")
            .count()
            <= 1),
        "acknowledged twice: {requests:?}"
    );
    let desc = requests
        .iter()
        .find_map(|r| {
            r["setErrs"]["poll-bad"]["description"]
                .as_str()
                .map(str::to_owned)
        })
        .unwrap();
    assert!(!desc.is_empty());
    let status = status_json(&bridge.data_dir);
    assert_eq!(status["signals"][0]["via"], "poll");
    assert_eq!(status["signals"][0]["actions"][0]["target"], "user:W0OPS");
    assert_eq!(status["signals"][0]["actions"][0]["state"], "signed_out");
}
