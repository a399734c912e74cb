//! Audit entries from plans: the `ok` entry the service writes in an action's own
//! transaction ([`ok_entry`]), and the entry of a refused call, appended before the answer
//! ([`refused`]).

use serde_json::Value;
use sessions_store::{AuditEntry, Principal, UnixTime, RESULT_OK};
use sessions_wire::ErrorCode;

use super::{Origin, Plan};
use crate::service::{ApiError, Ctx};
use crate::state::AppState;

/// The entry of one call.
fn entry(
    principal: &Principal,
    origin: &Origin,
    plan: Plan,
    now: UnixTime,
    result: String,
) -> AuditEntry {
    AuditEntry {
        id: 0,
        org_id: principal.org.org_id.clone(),
        at: now,
        actor_user_id: principal.user.user_id.clone(),
        action: plan.action.to_owned(),
        method: plan.method.to_owned(),
        target_user_ids: plan.targets,
        session_id: plan.session_id,
        details: Value::Object(plan.details),
        ip: origin.ip.clone(),
        user_agent: origin.user_agent.clone(),
        result,
    }
}

/// The `ok` entry of the call the service is about to apply, from the call's plan, naming the
/// checked (deduplicated) `targets`; the store appends it in the write's own transaction.
///
/// A call without a plan is a method that is not recorded; a write there would go unaudited,
/// so it is refused (`internal_error`) rather than applied.
pub(crate) fn ok_entry(ctx: &Ctx, targets: Vec<String>) -> Result<AuditEntry, ApiError> {
    let Some(plan) = &ctx.plan else {
        tracing::error!("a write without an audit plan was refused");
        return Err(ApiError::new(ErrorCode::InternalError));
    };
    let plan = Plan {
        method: plan.method,
        action: plan.action,
        targets,
        session_id: plan.session_id,
        details: plan.details.clone(),
    };
    Ok(entry(
        &ctx.principal,
        &ctx.origin,
        plan,
        ctx.now,
        RESULT_OK.to_owned(),
    ))
}

/// Appends the entry of a call by an authenticated `principal` refused with `err`, from the
/// call's `plan`, bounded (see the module docs). Failures to append are logged, never
/// answered.
pub(crate) async fn refused(
    state: &AppState,
    principal: &Principal,
    origin: &Origin,
    now: UnixTime,
    plan: Plan,
    err: &ApiError,
) {
    let mut plan = plan.bounded();
    // An invalidation names the session's owner even when the caller gave only its team.
    if let (Some(sid), true) = (plan.session_id, plan.targets.is_empty()) {
        if let Ok(Some(s)) = state.store().session(&principal.org.org_id, sid).await {
            plan.targets.push(s.user_id);
        }
    }
    let entry = entry(principal, origin, plan, now, err.code.as_str().to_owned());
    if let Err(e) = state.store().append_audit(&entry).await {
        tracing::error!(
            error = %e,
            org = %entry.org_id,
            action = %entry.action,
            actor = %entry.actor_user_id,
            result = %entry.result,
            "could not record an audit entry"
        );
    }
}
