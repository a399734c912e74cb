//! The worker: takes due actions from the inbox, finds each person in Slack and signs them
//! out, one `reset` for a single person or one `resetBulk` for several that are due together,
//! and records every outcome. Failures are retried with backoff ([`crate::slack::next_step`])
//! and, when the budget is spent, recorded as `failed` and reported (an error log line, the
//! `bridge_actions_total{result="failed"}` counter, `bridge status`) — never dropped.
//!
//! On shutdown the round in flight is finished; what is still pending stays in the inbox for
//! the next start.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

use crate::inbox::{DueAction, Final, Inbox, InboxError};
use crate::metrics::Metrics;
use crate::receive::now_ms;
use crate::slack::{next_step, Failure, Next, Slack, BULK_MAX};
use crate::subject::Target;
use crate::waiters::Waiters;

/// Most actions taken in one round.
const ROUND: usize = BULK_MAX;
/// Longest sleep when nothing is due (a safety net: new work wakes the worker).
const IDLE: Duration = Duration::from_secs(30);
/// After new work wakes the worker, how long it waits for more to arrive, so that signals
/// arriving together (an identity provider disabling several accounts) become one resetBulk.
pub const GATHER: Duration = Duration::from_millis(300);

/// The worker's parts.
#[derive(Debug, Clone)]
pub struct Worker {
    pub(crate) inbox: Inbox,
    pub(crate) slack: Slack,
    pub(crate) metrics: Metrics,
    pub(crate) wake: Arc<Notify>,
    pub(crate) waiters: Waiters,
}

/// A resolved action: whom to sign out.
#[derive(Debug, Clone)]
struct Ready {
    action: DueAction,
    user_id: String,
}

impl Worker {
    /// Runs until `shutdown` turns true, finishing the round in flight.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                break;
            }
            match self.step().await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, "bridge worker: inbox failed; trying again"),
            }
            let wait = match self.inbox.next_due_ms().await {
                Ok(Some(at)) => {
                    Duration::from_millis((at - now_ms()).clamp(0, IDLE.as_millis() as i64) as u64)
                }
                _ => IDLE,
            };
            tokio::select! {
                _ = self.wake.notified() => {
                    tokio::select! {
                        _ = tokio::time::sleep(GATHER) => {}
                        _ = shutdown.changed() => {}
                    }
                }
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {}
            }
        }
        tracing::info!("bridge worker stopped");
    }

    /// One round: returns whether anything was due.
    async fn step(&self) -> Result<bool, InboxError> {
        let due = self.inbox.due(now_ms(), ROUND).await?;
        if due.is_empty() {
            return Ok(false);
        }
        let mut ready = Vec::new();
        for action in due {
            if let Some(r) = self.resolve(action).await? {
                ready.push(r);
            }
        }
        self.sign_out(ready).await?;
        Ok(true)
    }

    /// Finds the Slack user an action names; `None` if it was finished or rescheduled.
    async fn resolve(&self, action: DueAction) -> Result<Option<Ready>, InboxError> {
        if let Some(user_id) = action.user_id.clone() {
            return Ok(Some(Ready { action, user_id }));
        }
        let email = match &action.target {
            Target::UserId(u) => {
                let user_id = u.clone();
                return Ok(Some(Ready { action, user_id }));
            }
            Target::Email(e) => e.clone(),
        };
        match self.slack.lookup_email(&email).await {
            Ok(user_id) => {
                self.metrics.call("users.lookupByEmail", "ok");
                self.inbox.set_user_id(action.id, user_id.clone()).await?;
                Ok(Some(Ready { action, user_id }))
            }
            Err(f) => {
                self.metrics.call("users.lookupByEmail", failure_label(&f));
                self.failed(&action, f).await?;
                Ok(None)
            }
        }
    }

    /// Signs the ready actions' users out: `reset` for one user, `resetBulk` for several. A
    /// refused `resetBulk` (all or nothing) falls back to one `reset` each, so that one user
    /// Slack will not reset does not hold back the others.
    async fn sign_out(&self, ready: Vec<Ready>) -> Result<(), InboxError> {
        let mut by_user: BTreeMap<String, Vec<DueAction>> = BTreeMap::new();
        for r in ready {
            by_user.entry(r.user_id).or_default().push(r.action);
        }
        if by_user.len() > 1 {
            let users: Vec<String> = by_user.keys().cloned().collect();
            match self.slack.reset_bulk(users).await {
                Ok(()) => {
                    self.metrics.call("admin.users.session.resetBulk", "ok");
                    for (user, actions) in &by_user {
                        self.signed_out(user, actions, "admin.users.session.resetBulk")
                            .await?;
                    }
                    return Ok(());
                }
                Err(f @ Failure::Transient(..)) => {
                    self.metrics
                        .call("admin.users.session.resetBulk", "transient");
                    for action in by_user.values().flatten() {
                        self.failed(action, f.clone()).await?;
                    }
                    return Ok(());
                }
                Err(f) => {
                    self.metrics
                        .call("admin.users.session.resetBulk", failure_label(&f));
                    tracing::warn!(
                        error = f.detail(),
                        "resetBulk refused; resetting each user on its own"
                    );
                }
            }
        }
        for (user, actions) in &by_user {
            match self.slack.reset(user).await {
                Ok(()) => {
                    self.metrics.call("admin.users.session.reset", "ok");
                    self.signed_out(user, actions, "admin.users.session.reset")
                        .await?;
                }
                Err(f) => {
                    self.metrics
                        .call("admin.users.session.reset", failure_label(&f));
                    for action in actions {
                        self.failed(action, f.clone()).await?;
                    }
                }
            }
        }
        Ok(())
    }

    async fn signed_out(
        &self,
        user: &str,
        actions: &[DueAction],
        method: &str,
    ) -> Result<(), InboxError> {
        let now = now_ms();
        let ids: Vec<i64> = actions.iter().map(|a| a.id).collect();
        self.inbox
            .finish(ids.clone(), Final::SignedOut, None, now)
            .await?;
        for a in actions {
            self.metrics.action("signed_out");
            if let Some(iat) = a.iat {
                self.metrics.lag(now as f64 / 1000.0 - iat as f64);
            }
            self.waiters.finish(a.id, Final::SignedOut);
        }
        tracing::info!(user = %user, actions = ?ids, method, "signed out everywhere");
        Ok(())
    }

    /// Records a failed attempt: retry later, or finish as not found / failed.
    async fn failed(&self, action: &DueAction, f: Failure) -> Result<(), InboxError> {
        let attempts = action.attempts + 1;
        let now = now_ms();
        let fin = match (&f, next_step(action.via, attempts, &f)) {
            (Failure::NotFound(_), _) => Final::NotFound,
            (_, Next::RetryAfter(wait)) => {
                self.metrics.action("retry");
                tracing::warn!(
                    action = action.id,
                    attempts,
                    retry_in_s = wait.as_secs_f64(),
                    error = f.detail(),
                    "sign-out attempt failed; will retry"
                );
                let at = now.saturating_add(wait.as_millis() as i64);
                return self
                    .inbox
                    .retry_later(action.id, at, f.detail().to_owned())
                    .await;
            }
            (_, Next::GiveUp) => Final::Failed,
        };
        self.inbox
            .finish(vec![action.id], fin, Some(f.detail().to_owned()), now)
            .await?;
        self.metrics.action(fin.as_str());
        self.waiters.finish(action.id, fin);
        match fin {
            Final::NotFound => {
                tracing::warn!(action = action.id, target = %action.target.to_stored(), error = f.detail(), "nobody in Slack matches the subject; nothing done")
            }
            _ => {
                tracing::error!(action = action.id, target = %action.target.to_stored(), attempts, via = ?action.via, error = f.detail(), "sign-out FAILED after retries; see `slack-sessions bridge status`")
            }
        }
        Ok(())
    }
}

fn failure_label(f: &Failure) -> &'static str {
    match f {
        Failure::NotFound(_) => "not_found",
        Failure::Transient(..) => "transient",
        Failure::Refused(_) => "refused",
    }
}
