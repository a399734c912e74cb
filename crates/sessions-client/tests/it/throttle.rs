//! Proactive throttling waits through the sleeper when bursting.

use std::time::Duration;

use sessions_client::throttle::THROTTLE_BURST;
use sessions_client::*;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{builder, client, RecordingSleeper};

async fn ok_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"ok": true})))
        .mount(&server)
        .await;
    server
}

fn close(a: Duration, b: Duration) -> bool {
    a.abs_diff(b) < Duration::from_millis(500)
}

#[tokio::test]
async fn bursting_past_the_tier_waits() {
    let server = ok_server().await;
    let sleeper = std::sync::Arc::new(RecordingSleeper::default());
    let c = builder(&server)
        .throttle(true)
        .sleeper(sleeper.clone())
        .build()
        .unwrap();
    for _ in 0..5 {
        c.admin_users_session_list(ListRequest::org())
            .await
            .unwrap();
    }
    // Tier 2: 20/min, i.e. one call per 3 s after the burst.
    let waits = sleeper.waits();
    assert_eq!(waits.len(), 5 - THROTTLE_BURST as usize, "{waits:?}");
    assert!(close(waits[0], Duration::from_secs(3)), "{waits:?}");
    assert!(close(waits[1], Duration::from_secs(6)), "{waits:?}");

    // getSettings is Tier 4 (100/min) with its own bucket; another token has its own too.
    for _ in 0..3 {
        c.admin_users_session_get_settings(GetSettingsRequest::new(["W1"]))
            .await
            .unwrap();
        c.with_token("xoxp-other")
            .admin_users_session_list(ListRequest::org())
            .await
            .unwrap();
    }
    assert_eq!(sleeper.waits().len(), 2);
    c.admin_users_session_get_settings(GetSettingsRequest::new(["W1"]))
        .await
        .unwrap();
    let last = *sleeper.waits().last().unwrap();
    assert!(close(last, Duration::from_millis(600)), "{last:?}");
}

#[tokio::test]
async fn throttle_is_off_by_default() {
    let server = ok_server().await;
    let (c, sleeper) = crate::support::recording(&server, RetryPolicy::default());
    for _ in 0..6 {
        c.admin_users_session_list(ListRequest::org())
            .await
            .unwrap();
    }
    assert!(sleeper.waits().is_empty());
    let _ = client(&server);
}
