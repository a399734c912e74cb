//! The worker: takes due actions from the inbox, finds each person in Slack and signs them
//! out, one `reset` for a single person or one `resetBulk` for several that are due together
//! (the engine's plan decides: `sessions_revoke::reset_call`), and records every outcome. A
//! `reset` is synchronous, so a single person is signed out when the round records it (and
//! when Global Token Revocation answers `204`); a `resetBulk`'s ok means Slack accepted the
//! job. Failures are retried with backoff ([`crate::slack::next_step`])
//! and, when the budget is spent, recorded as `failed` and reported (an error log line, the
//! `bridge_actions_total{result="failed"}` counter, `bridge status`) — never dropped.
//!
//! On shutdown the round in flight is finished; what is still pending stays in the inbox for
//! the next start.

use std::sync::Arc;
use std::time::Duration;

use sessions_revoke::{
    build_plan, run, ActionStatus, Context, Journal, JournalState, Plan, RunStatus, Selection,
    UserRef,
};
use tokio::sync::{watch, Notify};

use crate::inbox::{DueAction, Final, Inbox, InboxError};
use crate::metrics::Metrics;
use crate::receive::now_ms;
use crate::slack::{next_step, Failure, Next, BULK_MAX};
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
    pub(crate) engine: Engine,
    pub(crate) metrics: Metrics,
    pub(crate) wake: Arc<Notify>,
    pub(crate) waiters: Waiters,
}

/// How the worker drives the revocation engine.
#[derive(Debug, Clone)]
pub struct Engine {
    /// The Slack client (built with `sessions_revoke::engine_retry_policy`).
    pub client: sessions_client::Client,
    /// Pacing of the engine's calls.
    pub pacing: sessions_revoke::Pacing,
    /// Where each round's journal is written.
    pub journal_dir: std::path::PathBuf,
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
        self.round(due).await?;
        Ok(true)
    }

    /// Signs out everyone the due actions name, through the revocation engine: one plan for
    /// the round (users looked up by email or id, unresolved ones named, the bridge's own
    /// admin left alone), journaled under `<data-dir>/journals/`, run paced (one `reset` for a
    /// single person, else `resetBulk` calls of up to 1,000 users). Each action's outcome is
    /// read back from the plan and journal.
    async fn round(&self, due: Vec<DueAction>) -> Result<(), InboxError> {
        let mut selection = Selection::default();
        for a in &due {
            let entry = match &a.target {
                Target::Email(e) => UserRef::Email(e.clone()),
                Target::UserId(u) => UserRef::Id(u.clone()),
            };
            if !selection.users.contains(&entry) {
                selection.users.push(entry);
            }
        }
        let cx = Context::new(self.engine.pacing);
        let api = &self.engine.client;
        let plan = match build_plan(
            api,
            &selection,
            self.engine.client.base_url(),
            &cx,
            &mut |_| {},
        )
        .await
        {
            Ok(plan) => plan,
            Err(e) => {
                let f = engine_failure(&e);
                self.metrics.round("plan_failed");
                tracing::warn!(error = %e, "planning the sign-outs failed");
                for a in &due {
                    self.failed(a, f.clone()).await?;
                }
                return Ok(());
            }
        };
        let journal = if plan.action_count() == 0 {
            self.metrics.round("nothing_to_run");
            None
        } else {
            let path =
                self.engine
                    .journal_dir
                    .join(format!("round-{}-{}.jsonl", now_ms(), due[0].id));
            match Journal::create(&path, plan.clone()) {
                Ok(mut journal) => {
                    let summary = run(api, &mut journal, &cx, &mut |_| {}).await;
                    let stop = match summary.status {
                        RunStatus::Completed => {
                            self.metrics.round("completed");
                            None
                        }
                        RunStatus::Stopped(e) => {
                            self.metrics.round("run_stopped");
                            tracing::warn!(error = %e, journal = %path.display(), "the revocation run stopped");
                            Some(engine_failure(&e))
                        }
                        RunStatus::Cancelled => Some(Failure::Transient("cancelled".into(), None)),
                        _ => None,
                    };
                    Some((journal, stop))
                }
                Err(e) => {
                    let f = engine_failure(&e);
                    self.metrics.round("journal_failed");
                    tracing::error!(error = %e, journal = %path.display(), "cannot write the round's journal");
                    for a in &due {
                        self.failed(a, f.clone()).await?;
                    }
                    return Ok(());
                }
            }
        };
        for a in &due {
            match outcome(
                a,
                &plan,
                journal.as_ref().map(|(j, s)| (j.state(), s.as_ref())),
            ) {
                Ok((user, method)) => {
                    self.signed_out(&user, std::slice::from_ref(a), method)
                        .await?
                }
                Err(f) => self.failed(a, f).await?,
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
        for id in &ids {
            self.inbox.set_user_id(*id, user.to_owned()).await?;
        }
        self.inbox
            .finish(ids.clone(), Final::SignedOut, None, now)
            .await?;
        for a in actions {
            self.metrics.action("signed_out");
            // From the identity provider's iat; a revocation request has none: from its arrival.
            let from_ms = a.iat.map_or(a.received_ms, |iat| iat.saturating_mul(1000));
            self.metrics.lag((now - from_ms) as f64 / 1000.0);
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

/// What became of one action, from the round's plan and journal: the user id signed out and
/// the method that did it, or why not.
fn outcome(
    a: &DueAction,
    plan: &Plan,
    journal: Option<(&JournalState, Option<&Failure>)>,
) -> Result<(String, &'static str), Failure> {
    let named = |entry: &str| match &a.target {
        Target::Email(e) => entry.eq_ignore_ascii_case(e),
        Target::UserId(u) => entry == u,
    };
    if let Some(u) = plan.unresolved.iter().find(|u| named(&u.entry)) {
        let detail = format!("{}: {}", u.code, u.reason);
        return Err(match u.code.as_str() {
            "users_not_found" | "user_not_found" => Failure::NotFound(detail),
            _ => Failure::Refused(detail),
        });
    }
    let found = plan.users.iter().position(|p| match &a.target {
        Target::Email(e) => p
            .email
            .as_deref()
            .is_some_and(|pe| pe.eq_ignore_ascii_case(e)),
        Target::UserId(u) => p.id == *u,
    });
    let Some(ix) = found else {
        // Resolved but not planned: the bridge's own admin user, which is never signed out
        // (that would end the bridge's own access).
        return Err(Failure::Refused(format!(
            "this is the bridge's own admin user ({}); it is never signed out by the bridge",
            plan.actor.user_id
        )));
    };
    let user_id = plan.users[ix].id.clone();
    let Some(chunk) = plan.resets.iter().position(|c| c.contains(&(ix as u32))) else {
        return Ok((user_id, "no call needed"));
    };
    let method = plan.action(chunk).map_or("", |a| a.call().name());
    let Some((state, stop)) = journal else {
        return Err(Failure::Transient(
            "the plan was not journaled".into(),
            None,
        ));
    };
    if let Some((_, f)) = state
        .user_failures(chunk)
        .iter()
        .find(|(u, _)| *u == ix as u32)
    {
        return Err(journal_failure(f));
    }
    match state.status(chunk) {
        ActionStatus::Done | ActionStatus::AlreadyDone => Ok((user_id, method)),
        ActionStatus::Failed => Err(state.failure(chunk).map_or_else(
            || Failure::Refused(format!("{method} failed")),
            journal_failure,
        )),
        ActionStatus::Pending => Err(stop
            .cloned()
            .unwrap_or_else(|| Failure::Transient("the run did not reach this user".into(), None))),
    }
}

fn journal_failure(f: &sessions_revoke::Failure) -> Failure {
    let detail = if f.detail.is_empty() {
        f.code.clone()
    } else {
        format!("{}: {}", f.code, f.detail)
    };
    match f.code.as_str() {
        "user_not_found" | "users_not_found" => Failure::NotFound(detail),
        _ => Failure::Refused(detail),
    }
}

/// A planning or run failure of the engine as a retry decision input.
fn engine_failure(e: &sessions_revoke::Error) -> Failure {
    match e {
        sessions_revoke::Error::Api { source, .. } => {
            let mut f = Failure::of(source);
            let detail = e.to_string();
            match &mut f {
                Failure::NotFound(d) | Failure::Transient(d, _) | Failure::Refused(d) => {
                    *d = detail
                }
            }
            f
        }
        sessions_revoke::Error::Selection(_) => Failure::Refused(e.to_string()),
        _ => Failure::Transient(e.to_string(), None),
    }
}
