//! Global Token Revocation (draft-parecki-oauth-global-token-revocation-06):
//! `POST /global-token-revocation` with `{"sub_id": {...}}`, the caller authenticated by a
//! private-key JWT in `Authorization: Bearer`.
//!
//! The request is authenticated before its body is read, then recorded (consuming the
//! assertion's `jti`) with its sign-out before anything is done, and answered when the
//! sign-out is finished: `204` signed out, `404` nobody in Slack is that person, `422` Slack
//! refused. A sign-out still failing transiently after [`GTR_WAIT`] is answered `503` with
//! `Retry-After`; it goes on in the background and is never dropped.
//!
//! A person alone in the worker's round is signed out with `admin.users.session.reset`, which
//! is synchronous: by the `204` their sessions are ended (their tokens already fail). Only when
//! other sign-outs fall due in the same round (within [`crate::worker::GATHER`]) does the
//! round use one `resetBulk`, whose ok means Slack accepted the job that ends them.

use std::time::Duration;

use serde_json::Value;

use crate::inbox::{Final, NewAction, NewSignal, Note, Recorded, Via};
use crate::receive::{now_ms, now_s, Receiver};
use crate::subject;

/// Longest time a revocation request waits for its sign-out before `503`.
pub const GTR_WAIT: Duration = Duration::from_secs(25);

/// How a revocation request ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GtrOutcome {
    /// `204`: the person's sessions are reset (ended, when a `reset` did it; see the module).
    SignedOut,
    /// `400 invalid_request`.
    BadRequest(String),
    /// `401 invalid_client`.
    Unauthorized(String),
    /// `404`: nobody in Slack is that person.
    NotFound(String),
    /// `422`: Slack refused to sign them out.
    Refused(String),
    /// `503`: not done yet (still retrying) or the inbox failed; the caller may retry.
    Unavailable(String),
}

impl Receiver {
    /// Handles one revocation request.
    pub async fn revoke(&self, authorization: Option<&str>, body: &[u8]) -> GtrOutcome {
        let outcome = self.revoke_inner(authorization, body).await;
        let result = match &outcome {
            GtrOutcome::SignedOut => "signed_out",
            GtrOutcome::BadRequest(_) => "invalid_request",
            GtrOutcome::Unauthorized(_) => "invalid_client",
            GtrOutcome::NotFound(_) => "not_found",
            GtrOutcome::Refused(_) => "refused",
            GtrOutcome::Unavailable(_) => "unavailable",
        };
        self.metrics.event("gtr", result);
        outcome
    }

    async fn revoke_inner(&self, authorization: Option<&str>, body: &[u8]) -> GtrOutcome {
        let Some(token) = authorization.and_then(bearer) else {
            return GtrOutcome::Unauthorized(
                "a private-key JWT in `Authorization: Bearer` is required".into(),
            );
        };
        let assertion = match self.verifier.verify_assertion(token, now_s()).await {
            Ok(a) => a,
            Err(r) => {
                tracing::warn!(err = r.err.as_str(), description = %r.description, "revocation request refused: client authentication failed");
                return GtrOutcome::Unauthorized(r.description);
            }
        };
        let subject = match sub_id(body) {
            Ok(s) => s,
            Err(why) => return GtrOutcome::BadRequest(why),
        };
        let target = subject::map(&subject, &self.subjects);
        let signal = NewSignal {
            via: Via::Gtr,
            iss: assertion.iss.clone(),
            jti: assertion.jti.clone(),
            iat: None,
            event_types: vec!["global-token-revocation".into()],
            txn: None,
            note: Note::SignOut,
            actions: vec![NewAction {
                subject: subject.clone(),
                target: target.clone(),
            }],
        };
        let pending = match self.inbox.record(signal, now_ms()).await {
            Ok(Recorded::New { pending, .. }) => pending,
            Ok(Recorded::Duplicate) => {
                return GtrOutcome::Unauthorized("the assertion's `jti` was already used".into())
            }
            Err(e) => {
                tracing::error!(error = %e, "revocation request could not be recorded");
                return GtrOutcome::Unavailable("the request could not be recorded".into());
            }
        };
        if let Err(subject::NotMapped(why)) = target {
            self.metrics.action("not_mapped");
            return GtrOutcome::NotFound(why);
        }
        let Some(&id) = pending.first() else {
            return GtrOutcome::Unavailable("nothing was recorded".into());
        };
        tracing::info!(jti = %assertion.jti, action = id, "revocation request recorded");
        let done = self.waiters.register(id);
        self.wake.notify_one();
        // It may have finished before we registered.
        let outcome = match self.inbox.action(id).await {
            Ok(Some(a)) if a.state != "pending" => Some((a.state, a.detail)),
            _ => None,
        };
        let (state, detail) = match outcome {
            Some(done) => {
                self.waiters.forget(id);
                done
            }
            None => match tokio::time::timeout(GTR_WAIT, done).await {
                Ok(Ok(f)) => {
                    let detail = self
                        .inbox
                        .action(id)
                        .await
                        .ok()
                        .flatten()
                        .and_then(|a| a.detail);
                    (f.as_str().to_owned(), detail)
                }
                _ => {
                    self.waiters.forget(id);
                    return GtrOutcome::Unavailable(
                        "the sign-out is still being retried; it will be completed".into(),
                    );
                }
            },
        };
        let detail = detail.unwrap_or_default();
        match state.as_str() {
            s if s == Final::SignedOut.as_str() => GtrOutcome::SignedOut,
            s if s == Final::NotFound.as_str() => GtrOutcome::NotFound(detail),
            _ => GtrOutcome::Refused(detail),
        }
    }
}

fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The request's `sub_id`: an `email` or `iss_sub` subject identifier with its members.
fn sub_id(body: &[u8]) -> Result<Value, String> {
    let doc: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let Some(sub) = doc.get("sub_id").filter(|s| s.is_object()) else {
        return Err("the body must be an object with a `sub_id` object".into());
    };
    let text = |k: &str| {
        sub.get(k)
            .and_then(Value::as_str)
            .is_some_and(|v| !v.is_empty())
    };
    match sub.get("format").and_then(Value::as_str) {
        Some("email") if text("email") => Ok(sub.clone()),
        Some("iss_sub") if text("iss") && text("sub") => Ok(sub.clone()),
        Some("email") => Err("an `email` subject needs `email`".into()),
        Some("iss_sub") => Err("an `iss_sub` subject needs `iss` and `sub`".into()),
        Some(other) => Err(format!(
            "subject format `{other}` is not supported (use `email` or `iss_sub`)"
        )),
        None => Err("`sub_id` has no `format`".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_bearer_token_and_the_subject() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer"), None);
        assert!(sub_id(br#"{"sub_id":{"format":"email","email":"a@b.c"}}"#).is_ok());
        assert!(sub_id(br#"{"sub_id":{"format":"iss_sub","iss":"i","sub":"s"}}"#).is_ok());
        for bad in [
            &br#"{"sub_id":{"format":"opaque","id":"x"}}"#[..],
            br#"{"sub_id":{"format":"email"}}"#,
            br#"{"sub_id":"a@b.c"}"#,
            br#"{}"#,
            b"nope",
        ] {
            assert!(sub_id(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
