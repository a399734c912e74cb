//! Running a plan: each pending action, paced, its result journaled before the next call.
//!
//! How each answer counts:
//! * `ok` -> done. `session_not_found` on an invalidate -> already done (the session had
//!   ended, possibly by this very call before a crash).
//! * A refusal no retry can fix for this action only (`user_not_found`,
//!   `cannot_invalidate_primary_owner`, ...) -> failed, named in the summary; the run goes on.
//!   A `resetBulk` refusal naming users (`[ERROR] <code>: <user>`) fails those users and sends
//!   the chunk again without them. A `reset` (a chunk of one user) refusal fails its user the
//!   same way (journaled as `users_failed`, then the action as `all_users_refused`).
//! * A refusal of the token itself (`invalid_auth`, `missing_scope`, `not_an_admin`, ...), a
//!   transport failure, a timeout or a 5xx the client gave up on -> the run stops, the action
//!   stays pending, and a resume continues from it.
//! * HTTP 429 never reaches here: the client waits out `Retry-After` (its
//!   `wait_out_rate_limits` policy).

use sessions_client::Error as ClientError;
use sessions_wire::{ErrorCode, SessionId};

use crate::api::{is_fatal, offenders, Api, Call};
use crate::context::{Context, Gate};
use crate::journal::{ActionRecord, ActionStatus, Counts, Failure, Journal, Record};
use crate::plan::{reset_call, Action};
use crate::Error;

/// Sent to the progress callback after each settled action (and once at the start).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Where the plan stands.
    pub counts: Counts,
    /// The action just settled and how, if any.
    pub last: Option<(usize, ActionStatus)>,
}

/// How a run ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum RunStatus {
    /// Every action is settled (done, already done or failed).
    Completed,
    /// The cancellation token fired; the call in flight finished and was journaled.
    Cancelled,
    /// A failure stopped the run; pending actions are left for a resume.
    Stopped(Error),
}

/// What a run did, from the journal.
#[derive(Debug)]
pub struct RunSummary {
    /// How it ended.
    pub status: RunStatus,
    /// Where the plan stands now (all runs on the journal included).
    pub counts: Counts,
}

/// Runs the journal's pending actions. Checks first that the token belongs to the user (and
/// org) that made the plan. Every settled action is journaled (fsynced) before the next call;
/// `on_progress` hears of each.
pub async fn run(
    api: &dyn Api,
    journal: &mut Journal,
    cx: &Context,
    on_progress: &mut (dyn FnMut(&Progress) + Send),
) -> RunSummary {
    let status = match run_inner(api, journal, cx, on_progress).await {
        Ok(()) => RunStatus::Completed,
        Err(Error::Cancelled) => RunStatus::Cancelled,
        Err(e) => RunStatus::Stopped(e),
    };
    RunSummary {
        status,
        counts: journal.state().counts(),
    }
}

fn stop(source: ClientError) -> Error {
    Error::api("running the plan")(source)
}

/// The answer's code, when it is a refusal of this action only.
fn action_refusal(e: &ClientError) -> Option<(&ErrorCode, &[String])> {
    match e {
        ClientError::Api { code, messages, .. } if !is_fatal(code) => Some((code, messages)),
        _ => None,
    }
}

fn failure(code: &ErrorCode, messages: &[String]) -> Failure {
    Failure {
        code: code.as_str().to_owned(),
        detail: if messages.is_empty() {
            code.description().to_owned()
        } else {
            messages.join("; ")
        },
    }
}

async fn run_inner(
    api: &dyn Api,
    journal: &mut Journal,
    cx: &Context,
    on_progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<(), Error> {
    let mut gate = Gate::new(cx);
    gate.admit(Call::AuthTest).await?;
    let who = api
        .auth_test()
        .await
        .map_err(Error::api("checking the token (auth.test)"))?;
    let actor = &journal.plan().actor;
    if who.user_id != actor.user_id || who.enterprise_id != actor.enterprise_id {
        return Err(Error::Journal {
            path: journal.path().to_owned(),
            message: format!(
                "the plan was made by {} of {}; this token is {} of {}: resume with the \
                 token that made it",
                actor.user_id,
                actor.enterprise_id.as_deref().unwrap_or(&actor.team_id),
                who.user_id,
                who.enterprise_id.as_deref().unwrap_or(&who.team_id),
            ),
        });
    }
    journal.record(&Record::Run {
        run: "started".into(),
        at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        pid: std::process::id(),
    })?;
    on_progress(&Progress {
        counts: journal.state().counts(),
        last: None,
    });
    let pending: Vec<usize> = journal.state().pending().collect();
    for i in pending {
        let result = match journal.plan().action(i) {
            Some(Action::Invalidate(inv)) => {
                let user = journal.plan().user(inv.user).id.clone();
                gate.admit(Call::Invalidate).await?;
                match api.invalidate(&user, SessionId(inv.session)).await {
                    Ok(()) => ActionRecord::Done,
                    Err(ClientError::Api {
                        code: ErrorCode::SessionNotFound,
                        ..
                    }) => ActionRecord::AlreadyDone,
                    Err(e) => match action_refusal(&e) {
                        Some((code, messages)) => ActionRecord::Failed(failure(code, messages)),
                        None => return Err(stop(e)),
                    },
                }
            }
            Some(Action::Reset { .. } | Action::ResetBulk { .. }) => {
                let users = journal.plan().reset_chunk(i).unwrap_or_default().to_vec();
                reset_chunk(api, journal, &mut gate, i, &users).await?
            }
            None => continue,
        };
        journal.record(&Record::Action { i, result })?;
        on_progress(&Progress {
            counts: journal.state().counts(),
            last: Some((i, journal.state().status(i))),
        });
    }
    Ok(())
}

/// One whole-user chunk, as the call the plan chose ([`reset_call`]): a `reset` for one user, a
/// `resetBulk` otherwise, sent without the users already refused. Users Slack names as refused
/// (a `reset`'s refusal names its one user) are journaled and the rest sent again.
async fn reset_chunk(
    api: &dyn Api,
    journal: &mut Journal,
    gate: &mut Gate<'_>,
    i: usize,
    users: &[u32],
) -> Result<ActionRecord, Error> {
    let call = reset_call(users);
    loop {
        let refused: Vec<u32> = journal
            .state()
            .user_failures(i)
            .iter()
            .map(|(u, _)| *u)
            .collect();
        let req = journal.plan().reset_request(users, &refused);
        if req.user_ids.is_empty() {
            // Every user of the chunk was refused, each journaled with why.
            return Ok(ActionRecord::Failed(Failure {
                code: "all_users_refused".into(),
                detail: format!("Slack refused every user of this {} call", call.name()),
            }));
        }
        gate.admit(call).await?;
        let sent = req.user_ids.clone();
        let answer = match (call, users) {
            (Call::Reset, &[user]) => api.reset(journal.plan().reset_one_request(user)).await,
            _ => api.reset_bulk(req).await,
        };
        let e = match answer {
            Ok(()) => return Ok(ActionRecord::Done),
            Err(e) => e,
        };
        let Some((code, messages)) = action_refusal(&e) else {
            return Err(stop(e));
        };
        let named: Vec<(String, Failure)> = if call == Call::Reset {
            // A reset is about its one user: whatever Slack refused is that user's failure.
            sent.into_iter()
                .map(|u| (u, failure(code, messages)))
                .collect()
        } else {
            offenders(messages, &sent)
                .into_iter()
                .map(|(u, why)| (u, failure(&why, &[])))
                .collect()
        };
        if named.is_empty() {
            return Ok(ActionRecord::Failed(failure(code, messages)));
        }
        for (user, why) in named {
            let ix = users
                .iter()
                .copied()
                .find(|&u| journal.plan().user(u).id == user);
            if let Some(ix) = ix {
                journal.record(&Record::Action {
                    i,
                    result: ActionRecord::UsersFailed {
                        users: vec![ix],
                        failure: why,
                    },
                })?;
            }
        }
    }
}
