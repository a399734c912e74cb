//! From a verified token to recorded work: which events sign whom out, and recording it all
//! before anyone is answered. Push, poll and Global Token Revocation all come through here.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::Notify;

use crate::events::{self, Kind};
use crate::inbox::{Inbox, InboxError, NewAction, NewSignal, Note, Recorded, Via};
use crate::metrics::Metrics;
use crate::subject::{self, SubjectMap};
use crate::verify::{ErrorCode, Refusal, Verifier};
use crate::waiters::Waiters;

/// Why a SET was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetRejected {
    /// It failed verification: answer with this code (push `400`, poll `setErrs`).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// It could not be recorded: do not acknowledge it, so that it is delivered again.
    #[error(transparent)]
    Store(#[from] InboxError),
}

/// What happened to an accepted SET.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetAccepted {
    /// Recorded now.
    New,
    /// Recorded before (replay or redelivery); nothing more is done.
    Duplicate,
}

/// Everything the endpoints share.
#[derive(Debug)]
pub struct Receiver {
    pub(crate) verifier: Verifier,
    pub(crate) inbox: Inbox,
    pub(crate) subjects: SubjectMap,
    pub(crate) metrics: Metrics,
    /// Wakes the worker when new work is recorded.
    pub(crate) wake: Arc<Notify>,
    pub(crate) waiters: Waiters,
}

/// Unix seconds now.
pub fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Receiver {
    /// Verifies a SET and records it with the sign-outs it asks for. `Ok` means it is on disk
    /// (or was already): the transmitter may be told so.
    pub async fn accept_set(&self, token: &str, via: Via) -> Result<SetAccepted, SetRejected> {
        self.accept_set_checked(token, via, None).await
    }

    /// [`Receiver::accept_set`], and the SET's `jti` must be `listed_as` when given (a poll
    /// answer lists each SET under its `jti`).
    pub(crate) async fn accept_set_checked(
        &self,
        token: &str,
        via: Via,
        listed_as: Option<&str>,
    ) -> Result<SetAccepted, SetRejected> {
        let verified =
            self.verifier
                .verify_set(token, now_s())
                .await
                .and_then(|set| match listed_as {
                    Some(jti) if jti != set.jti => Err(Refusal {
                        err: ErrorCode::InvalidRequest,
                        description: "the SET's `jti` is not the one it was listed under".into(),
                    }),
                    _ => Ok(set),
                });
        let set = match verified {
            Ok(set) => set,
            Err(refusal) => {
                self.metrics.event("unverified", refusal.err.as_str());
                tracing::warn!(via = ?via, err = refusal.err.as_str(), description = %refusal.description, "SET refused");
                return Err(refusal.into());
            }
        };
        let mut actions: Vec<NewAction> = Vec::new();
        let mut note = Note::Ignored;
        for event in &set.events {
            match events::kind(&event.event_type) {
                Kind::SignOut => {
                    note = Note::SignOut;
                    let subject = set.subject_of(event).cloned().unwrap_or(Value::Null);
                    // Several events about one subject sign it out once.
                    if actions.iter().any(|a| a.subject == subject) {
                        continue;
                    }
                    let target = if subject.is_null() {
                        Err(subject::NotMapped("the event names no subject".into()))
                    } else {
                        subject::map(&subject, &self.subjects)
                    };
                    actions.push(NewAction { subject, target });
                }
                Kind::Verification if note == Note::Ignored => note = Note::Verification,
                Kind::Verification | Kind::Other => {}
            }
        }
        let event_types: Vec<String> = set.events.iter().map(|e| e.event_type.clone()).collect();
        let signal = NewSignal {
            via,
            iss: set.iss.clone(),
            jti: set.jti.clone(),
            iat: Some(set.iat),
            event_types: event_types.clone(),
            txn: set.txn.clone(),
            note,
            actions: actions.clone(),
        };
        let recorded = self.inbox.record(signal, now_ms()).await?;
        let result = match recorded {
            Recorded::New { .. } => "accepted",
            Recorded::Duplicate => "duplicate",
        };
        for t in &event_types {
            self.metrics.event(events::label(t), result);
        }
        match recorded {
            Recorded::New { pending, .. } => {
                let not_mapped = actions.iter().filter(|a| a.target.is_err()).count();
                for _ in 0..not_mapped {
                    self.metrics.action("not_mapped");
                }
                for a in actions.iter().filter(|a| a.target.is_err()) {
                    if let Err(subject::NotMapped(why)) = &a.target {
                        tracing::warn!(jti = %set.jti, subject = %a.subject, why = %why, "subject not mapped to a Slack user; recorded, nothing done");
                    }
                }
                tracing::info!(
                    jti = %set.jti, via = ?via, events = ?event_types.iter().map(|t| events::label(t)).collect::<Vec<_>>(),
                    sign_outs = pending.len(), "SET recorded"
                );
                if !pending.is_empty() {
                    self.wake.notify_one();
                }
                Ok(SetAccepted::New)
            }
            Recorded::Duplicate => {
                tracing::info!(jti = %set.jti, via = ?via, "SET seen before; acknowledged, not acted on again");
                Ok(SetAccepted::Duplicate)
            }
        }
    }
}
