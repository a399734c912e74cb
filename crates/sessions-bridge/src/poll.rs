//! RFC 8936 poll delivery: the bridge asks the transmitter's poll endpoint for SETs,
//! acknowledges (`ack`) each one it recorded, and reports (`setErrs`) each one it refused with
//! its error code, in the next request.
//!
//! A SET is acknowledged only once it is on disk; one that could not be recorded is neither
//! acknowledged nor refused, so the transmitter delivers it again. Acknowledgements not yet
//! sent when the bridge stops are sent in a last request (`maxEvents: 0`); if the bridge is
//! killed first, the transmitter redelivers and the inbox recognises the `jti`s.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::inbox::Via;
use crate::receive::{Receiver, SetRejected};
use crate::verify::Refusal;

/// `--poll-url` and friends.
#[derive(Clone)]
pub struct PollConfig {
    /// The transmitter's poll endpoint.
    pub url: String,
    /// Bearer token for it.
    pub token: String,
    /// Pause after an answer without SETs (and the start of the backoff after a failure).
    pub interval: Duration,
    /// `maxEvents` per request.
    pub max_events: u32,
}

impl std::fmt::Debug for PollConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PollConfig")
            .field("url", &self.url)
            .field("token", &"<redacted>")
            .field("interval", &self.interval)
            .field("max_events", &self.max_events)
            .finish()
    }
}

/// An RFC 8936 poll request.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PollRequest {
    /// `jti`s recorded since the last request.
    pub ack: Vec<String>,
    /// `jti`s refused since the last request, with why.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub set_errs: BTreeMap<String, Refusal>,
    /// Most SETs wanted (0: only acknowledge).
    pub max_events: u32,
    /// Answer at once even without SETs.
    pub return_immediately: bool,
}

/// An RFC 8936 poll answer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PollResponse {
    /// `jti` -> SET.
    #[serde(default)]
    pub sets: BTreeMap<String, String>,
    /// More are waiting.
    #[serde(default)]
    pub more_available: bool,
}

/// Polls until `shutdown`, then sends what is left to acknowledge.
pub async fn run(
    rx: Arc<Receiver>,
    http: reqwest::Client,
    cfg: PollConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut pending = PollRequest::default();
    let mut failures = 0u32;
    loop {
        if *shutdown.borrow() {
            break;
        }
        let req = PollRequest {
            max_events: cfg.max_events,
            return_immediately: true,
            ..pending.clone()
        };
        let answer = tokio::select! {
            a = send(&http, &cfg, &req) => a,
            _ = shutdown.changed() => break,
        };
        let resp = match answer {
            Ok(resp) => {
                failures = 0;
                pending = PollRequest::default();
                resp
            }
            Err(e) => {
                failures += 1;
                let wait = cfg
                    .interval
                    .saturating_mul(1 << failures.min(6))
                    .min(Duration::from_secs(60));
                tracing::warn!(error = %e, retry_in_s = wait.as_secs_f64(), "poll request failed");
                pause(wait, &mut shutdown).await;
                continue;
            }
        };
        let got = resp.sets.len();
        for (jti, token) in resp.sets {
            match rx.accept_set_polled(&jti, &token).await {
                Ok(()) => pending.ack.push(jti),
                Err(SetRejected::Refused(r)) => {
                    pending.set_errs.insert(jti, r);
                }
                Err(e) => {
                    tracing::error!(error = %e, jti = %jti, "polled SET not recorded; it will be delivered again")
                }
            }
        }
        if got == 0 && !resp.more_available {
            pause(cfg.interval, &mut shutdown).await;
        }
    }
    if !pending.ack.is_empty() || !pending.set_errs.is_empty() {
        let last = PollRequest {
            max_events: 0,
            return_immediately: true,
            ..pending
        };
        match tokio::time::timeout(Duration::from_secs(10), send(&http, &cfg, &last)).await {
            Ok(Ok(_)) => tracing::info!(acks = last.ack.len(), errs = last.set_errs.len(), "final poll acknowledgement sent"),
            _ => tracing::warn!("final poll acknowledgement not sent; the transmitter will redeliver (duplicates are recognised)"),
        }
    }
    tracing::info!("poller stopped");
}

async fn pause(d: Duration, shutdown: &mut watch::Receiver<bool>) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = shutdown.changed() => {}
    }
}

#[derive(Debug, thiserror::Error)]
enum PollError {
    #[error("{0}")]
    Http(#[from] reqwest::Error),
    #[error("the poll endpoint answered HTTP {0}")]
    Status(u16),
    #[error("the poll endpoint's answer is not an RFC 8936 response: {0}")]
    Body(serde_json::Error),
}

async fn send(
    http: &reqwest::Client,
    cfg: &PollConfig,
    req: &PollRequest,
) -> Result<PollResponse, PollError> {
    let body = serde_json::to_vec(req).map_err(PollError::Body)?;
    let resp = http
        .post(&cfg.url)
        .bearer_auth(&cfg.token)
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .body(body)
        .send()
        .await?;
    let status = resp.status();
    if !status.is_success() {
        return Err(PollError::Status(status.as_u16()));
    }
    let bytes = resp.bytes().await?;
    serde_json::from_slice(&bytes).map_err(PollError::Body)
}

impl Receiver {
    /// A SET from a poll answer, listed under `jti`: verified, and its key must be its `jti`.
    async fn accept_set_polled(&self, jti: &str, token: &str) -> Result<(), SetRejected> {
        self.accept_set_checked(token, Via::Poll, Some(jti))
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::ErrorCode;

    #[test]
    fn requests_use_rfc_8936_member_names() {
        let mut req = PollRequest {
            ack: vec!["a".into()],
            max_events: 10,
            return_immediately: true,
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            serde_json::json!({"ack": ["a"], "maxEvents": 10, "returnImmediately": true})
        );
        req.set_errs.insert(
            "b".into(),
            Refusal {
                err: ErrorCode::InvalidKey,
                description: "unknown kid".into(),
            },
        );
        assert_eq!(
            serde_json::to_value(&req).unwrap()["setErrs"],
            serde_json::json!({"b": {"err": "invalid_key", "description": "unknown kid"}})
        );
        let resp: PollResponse =
            serde_json::from_str(r#"{"sets": {"j": "a.b.c"}, "moreAvailable": true}"#).unwrap();
        assert_eq!(resp.sets["j"], "a.b.c");
        assert!(resp.more_available);
    }
}
