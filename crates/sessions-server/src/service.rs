//! Authorization ([`authz`]: the one `authorize`, for `/api` and `/audit`) and semantics of
//! every method. No HTTP types and no SQL here: this layer sees a [`Principal`], typed requests
//! from `sessions_wire`, and the [`Store`](sessions_store::Store) trait, and returns typed
//! responses or an [`ApiError`].
//!
//! Choices where Slack's reference is silent:
//! - A session token (`xoxc`) or a bot token on an admin method: `not_allowed_token_type`.
//! - `invalidate` of a session that exists but is no longer active (revoked or expired):
//!   `session_not_found`, the same as a session that never existed, so repeated calls are
//!   distinguishable from a first success and nothing about other orgs leaks.
//! - `invalidate` with an unknown `team_id`: `session_not_found` (the session is not on it).
//! - `getSettings`, `setSettings` and `clearSettings` refuse bot users with `bots_not_allowed`
//!   (bots have no sessions), and unknown users with `user_not_found`; every offending user gets
//!   its own `[ERROR] <code>: <user_id>` message line and nothing is applied.
//! - `resetBulk` validates every user first (one message line per offending user, nothing
//!   recorded), then records a durable job; per-user outcomes of the job are visible through
//!   the control API (`GET /control/jobs/{org}/{id}`) and in the logs.
//! - Write scope does not imply read scope: each method needs exactly its own scope.
//! - The primary owner's sessions are protected from everyone else on every path:
//!   `invalidate` answers `cannot_invalidate_primary_owner`, `reset` and `resetBulk`
//!   `cannot_reset_primary_owner`, and a `setSettings` that sets a `duration` for the primary
//!   owner `admin_unauthorized` (Slack's code for a token without permission to end a
//!   session), with a `[ERROR] admin_unauthorized: <user_id>` line, nothing applied to anyone.
//!   A duration would end the primary owner's existing sessions (settings shorten existing
//!   sessions), so it is refused rather than silently applied to new sessions only, which
//!   would leave the caller believing it took effect. A `desktop_app_browser_quit`-only change
//!   and `clearSettings` end no session (clearing never lengthens or shortens existing
//!   sessions) and are allowed.
//! - Settings apply to existing sessions only by shortening them, and expiry is final (see
//!   `Store::set_settings` and `Store::expire_sessions`).
//! - `getSettings` leaves out users without an active session (Slack's reference: "if a user
//!   does not have any active sessions, they will not be returned in the response"): they are
//!   in neither `session_settings` nor `no_settings_applied`. Unknown users and bots are still
//!   refused as above.
//! - `auth.revoke` revokes the calling API token, user or bot (Slack: "revokes a token"); with
//!   `test` it revokes nothing and answers `"revoked": false`. A session token (`xoxc`) is
//!   refused with `not_allowed_token_type`: it is not a token of its own to revoke but ends with
//!   its session (`admin.users.session.invalidate`, `reset`). Afterwards the token answers
//!   `token_revoked` everywhere, as Slack's does. A revocation is recorded in the audit log
//!   (`user_token_revoked`, actor and target the caller) in the same transaction; a test call
//!   changes nothing and is not recorded.
//! - Non-admin methods (`auth.test`, `auth.revoke`, `users.*`) take any token type. API tokens (user or bot)
//!   need the method's scope; a session token (`xoxc`), the signed-in user's own client, needs
//!   none, as Slack's own client calls these methods with its session (see `users`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sessions_store::{
    Principal, PrincipalKind, ResetFilter, Role, SessionFilter, SessionRow, SettingsChange,
    StoreError, TokenHash, UnixTime, UserRow,
};
use sessions_wire::{
    ActiveSession, ArgError, AuthRevokeRequest, AuthRevokeResponse, AuthTestResponse,
    ClearSettingsRequest, DeviceInfo, Empty, Envelope, ErrorCode, GetSettingsRequest,
    GetSettingsResponse, InvalidateRequest, ListRequest, ListResponse, ResetBulkRequest,
    ResetRequest, ResetScope, ResponseMetadata, SessionId, SessionSetting, SetSettingsRequest,
    LIST_LIMIT_DEFAULT,
};

use crate::audit;
use crate::cursor::{self, CursorState};
use crate::state::AppState;

mod authz;
mod users;
pub use authz::{authorize, Access, Refusal};
pub use users::{users_info, users_list, users_lookup_by_email};

/// An `ok:false` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// Slack code.
    pub code: ErrorCode,
    /// `response_metadata.messages` lines.
    pub messages: Vec<String>,
    /// `needed` (with `missing_scope`).
    pub needed: Option<String>,
    /// `provided` (with `missing_scope`).
    pub provided: Option<String>,
}

impl ApiError {
    /// A bare code.
    pub fn new(code: ErrorCode) -> Self {
        ApiError {
            code,
            messages: Vec::new(),
            needed: None,
            provided: None,
        }
    }
    /// A code with one `[ERROR]` line.
    pub fn msg(code: ErrorCode, message: impl std::fmt::Display) -> Self {
        let mut e = ApiError::new(code);
        e.messages.push(format!("[ERROR] {message}"));
        e
    }
}

/// The `ok:false` envelope of an error: code, `needed`/`provided`, and the message lines (the
/// `response_metadata` left out when there are none).
impl From<ApiError> for Envelope {
    fn from(e: ApiError) -> Self {
        Envelope {
            ok: false,
            error: Some(e.code),
            needed: e.needed,
            provided: e.provided,
            response_metadata: (!e.messages.is_empty()).then(|| ResponseMetadata {
                messages: e.messages,
                ..Default::default()
            }),
            ..Envelope::default()
        }
    }
}

impl From<ArgError> for ApiError {
    fn from(e: ArgError) -> Self {
        ApiError {
            code: e.code(),
            messages: vec![e.slack_message()],
            needed: None,
            provided: None,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        // The detail goes to the log, not to the caller.
        tracing::error!(error = %e, "storage failure");
        ApiError::msg(
            ErrorCode::InternalError,
            "the server could not complete the request; retry",
        )
    }
}

/// One authorized call: who made it, when, from where, and its audit plan.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Shared state.
    pub state: AppState,
    /// Who called.
    pub principal: Arc<Principal>,
    /// The hash of the token the call came with (what `auth.revoke` revokes).
    pub token: TokenHash,
    /// The clock's time when the request arrived.
    pub now: UnixTime,
    /// The caller's address and user agent (for the audit log).
    pub origin: crate::audit::Origin,
    /// What the call is about, for its audit entry, built once when its arguments were parsed
    /// (`None` for methods that are not recorded).
    pub(crate) plan: Option<crate::audit::Plan>,
}

impl Ctx {
    fn org(&self) -> &str {
        &self.principal.org.org_id
    }
    fn caller_is_primary_owner(&self) -> bool {
        self.principal.user.role == Role::PrimaryOwner
    }
}

fn device(d: sessions_store::Device) -> DeviceInfo {
    DeviceInfo {
        device_hardware: d.device_hardware,
        os: d.os,
        os_version: d.os_version,
        slack_client_version: d.slack_client_version,
        ip: d.ip,
    }
}

/// The one place a stored session becomes a wire entry. Takes the row by value: a list page
/// moves a thousand rows' strings into the answer instead of copying them.
pub fn to_wire(row: SessionRow) -> ActiveSession {
    ActiveSession {
        user_id: row.user_id,
        team_id: row.team_id,
        session_id: SessionId(row.session_id),
        created: device(row.created),
        recent: row.recent.map(device),
    }
}

fn filter_of(scope: ResetScope) -> ResetFilter {
    match scope {
        ResetScope::All => ResetFilter::All,
        ResetScope::MobileOnly => ResetFilter::MobileOnly,
        ResetScope::WebOnly => ResetFilter::WebOnly,
    }
}

/// `admin.users.session.list`.
pub async fn list(ctx: &Ctx, req: ListRequest) -> Result<ListResponse, ApiError> {
    let store = ctx.state.store();
    let filter = match (&req.team_id, &req.user_id) {
        (Some(t), Some(u)) if !t.is_empty() && !u.is_empty() => Some((t.clone(), u.clone())),
        _ => None,
    };
    // The cursor is checked first: a cursor that is not this org's (or not this filter's) is
    // reported as such, not as whatever the foreign filter happens to miss.
    let after = match req.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(
            cursor::decode(ctx.state.cursor_key(), c, ctx.org(), filter.as_ref())
                .map_err(|e| ApiError::msg(ErrorCode::InvalidCursor, e))?,
        ),
        None => None,
    };
    if let Some((t, u)) = &filter {
        if !store.team_exists(ctx.org(), t).await? {
            return Err(ApiError::msg(
                ErrorCode::TeamNotFound,
                format_args!("team_not_found: {t}"),
            ));
        }
        if store.user(ctx.org(), u).await?.is_none() {
            return Err(ApiError::msg(
                ErrorCode::UserNotFound,
                format_args!("user_not_found: {u}"),
            ));
        }
    }
    let limit = req.limit.unwrap_or(LIST_LIMIT_DEFAULT);
    // The store's filter is (user, team); the cursor's is (team, user), as on the wire.
    let sf = SessionFilter {
        user_team: filter.as_ref().map(|(t, u)| (u.clone(), t.clone())),
    };
    // One extra row tells whether another page exists without a second query.
    let mut rows = store
        .list_sessions(ctx.org(), &sf, after, limit + 1, ctx.now)
        .await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = match (more, rows.last()) {
        (true, Some(last)) => cursor::encode(
            ctx.state.cursor_key(),
            &CursorState {
                org_id: ctx.org().to_owned(),
                filter,
                last: last.session_id,
            },
        ),
        _ => String::new(),
    };
    Ok(ListResponse {
        active_sessions: rows.into_iter().map(to_wire).collect(),
        response_metadata: Some(ResponseMetadata {
            next_cursor: Some(next_cursor),
            ..Default::default()
        }),
    })
}

/// `admin.users.session.invalidate`.
pub async fn invalidate(ctx: &Ctx, req: InvalidateRequest) -> Result<Empty, ApiError> {
    let store = ctx.state.store();
    let sid = req.session_id.map(|s| s.0).unwrap_or_default();
    let user_id = req.user_id.as_deref().filter(|u| !u.trim().is_empty());
    let team_id = req.team_id.as_deref().filter(|t| !t.trim().is_empty());
    if let Some(u) = user_id {
        if store.user(ctx.org(), u).await?.is_none() {
            return Err(ApiError::msg(
                ErrorCode::UserNotFound,
                format_args!("user_not_found: {u}"),
            ));
        }
    }
    let not_found = || {
        ApiError::msg(
            ErrorCode::SessionNotFound,
            format_args!("session_not_found: {sid}"),
        )
    };
    let Some(session) = store.session(ctx.org(), sid).await? else {
        return Err(not_found());
    };
    if user_id.is_some_and(|u| u != session.user_id)
        || team_id.is_some_and(|t| t != session.team_id)
        || !session.is_active(ctx.now)
    {
        return Err(not_found());
    }
    let owner = store.user(ctx.org(), &session.user_id).await?;
    if owner.is_some_and(|o| o.role == Role::PrimaryOwner) && !ctx.caller_is_primary_owner() {
        return Err(ApiError::msg(
            ErrorCode::CannotInvalidatePrimaryOwner,
            "only the primary owner can invalidate the primary owner's sessions",
        ));
    }
    let entry = audit::ok_entry(ctx, vec![session.user_id.clone()])?;
    if !store
        .invalidate_session_audited(ctx.org(), sid, ctx.now, &entry)
        .await?
    {
        // Ended between our read and the write (another request or node won).
        return Err(not_found());
    }
    tracing::info!(org = ctx.org(), session_id = sid, actor = %ctx.principal.user.user_id, "session invalidated");
    Ok(Empty {})
}

/// `ids` in order, each once: the users a multi-user call is about (and its audit entry names).
pub(crate) fn unique(ids: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    ids.iter()
        .filter(|u| seen.insert(u.as_str()))
        .cloned()
        .collect()
}

/// One offending user of a multi-user call.
fn offenders(code: ErrorCode, bad: &[(ErrorCode, String)]) -> ApiError {
    let mut e = ApiError::new(code);
    e.messages = bad
        .iter()
        .map(|(c, u)| format!("[ERROR] {c}: {u}"))
        .collect();
    e
}

/// Looks the listed users up; unknown ones and those `refuse` rejects are errors, one line
/// each, the first offender's code being the answer's code.
async fn check_users(
    ctx: &Ctx,
    ids: &[String],
    refuse: impl Fn(&UserRow) -> Option<ErrorCode>,
) -> Result<Vec<String>, ApiError> {
    let unique = unique(ids);
    let rows = ctx.state.store().users(ctx.org(), &unique).await?;
    let by_id: HashMap<&str, &UserRow> = rows.iter().map(|u| (u.user_id.as_str(), u)).collect();
    let mut bad = Vec::new();
    for id in &unique {
        match by_id.get(id.as_str()) {
            None => bad.push((ErrorCode::UserNotFound, id.clone())),
            Some(u) => {
                if let Some(code) = refuse(u) {
                    bad.push((code, id.clone()));
                }
            }
        }
    }
    match bad.first() {
        Some((code, _)) => Err(offenders(code.clone(), &bad)),
        None => Ok(unique),
    }
}

fn reset_refusal(ctx: &Ctx) -> impl Fn(&UserRow) -> Option<ErrorCode> + '_ {
    move |u| {
        if u.is_bot {
            Some(ErrorCode::CannotResetBot)
        } else if u.role == Role::PrimaryOwner && !ctx.caller_is_primary_owner() {
            Some(ErrorCode::CannotResetPrimaryOwner)
        } else {
            None
        }
    }
}

/// `admin.users.session.reset`.
pub async fn reset(ctx: &Ctx, req: ResetRequest) -> Result<Empty, ApiError> {
    let scope = req.scope()?;
    let user = req.user_id.trim().to_owned();
    let checked = check_users(ctx, std::slice::from_ref(&user), reset_refusal(ctx)).await;
    if let Err(mut e) = checked {
        // One user: keep the plain Slack message form.
        e.messages = vec![format!("[ERROR] {}: {user}", e.code)];
        return Err(e);
    }
    let n = ctx
        .state
        .store()
        .reset_user_audited(
            ctx.org(),
            &user,
            filter_of(scope),
            ctx.now,
            &audit::ok_entry(ctx, vec![user.clone()])?,
        )
        .await?;
    tracing::info!(org = ctx.org(), user = %user, ended = n, actor = %ctx.principal.user.user_id, "sessions reset");
    Ok(Empty {})
}

/// `admin.users.session.resetBulk`: validates, records a durable job, wakes the worker.
/// Returns the job id (exposed as the `x-sessions-job-id` header).
pub async fn reset_bulk(ctx: &Ctx, req: ResetBulkRequest) -> Result<(Empty, i64), ApiError> {
    let scope = req.scope()?;
    let users = check_users(ctx, &req.user_ids, reset_refusal(ctx)).await?;
    // The job and its audit entry are recorded together.
    let entry = audit::ok_entry(ctx, users.clone())?;
    let job = ctx
        .state
        .store()
        .enqueue_bulk_reset_audited(
            ctx.org(),
            &ctx.principal.user.user_id,
            &users,
            filter_of(scope),
            ctx.now,
            // The emulator's job speed control: 0 (default) runs it at once.
            ctx.now
                .saturating_add(ctx.state.inner.emulation.job_delay()),
            &entry,
        )
        .await?;
    ctx.state.inner.emulation.note_job(ctx.org(), job);
    ctx.state.wake_worker();
    tracing::info!(
        org = ctx.org(),
        job_id = job,
        users = users.len(),
        "resetBulk recorded"
    );
    Ok((Empty {}, job))
}

fn no_bots(u: &UserRow) -> Option<ErrorCode> {
    u.is_bot.then_some(ErrorCode::BotsNotAllowed)
}

/// `admin.users.session.getSettings`.
pub async fn get_settings(
    ctx: &Ctx,
    req: GetSettingsRequest,
) -> Result<GetSettingsResponse, ApiError> {
    let users = check_users(ctx, &req.user_ids, no_bots).await?;
    let users = ctx
        .state
        .store()
        .users_with_sessions(ctx.org(), &users, ctx.now)
        .await?;
    let rows = ctx.state.store().get_settings(ctx.org(), &users).await?;
    let by_id: HashMap<&str, _> = rows.iter().map(|r| (r.user_id.as_str(), r)).collect();
    let mut out = GetSettingsResponse::default();
    for u in &users {
        match by_id.get(u.as_str()) {
            Some(r) if r.duration.is_some() || r.desktop_app_browser_quit.is_some() => {
                out.session_settings.push(SessionSetting {
                    user_id: u.clone(),
                    desktop_app_browser_quit: r.desktop_app_browser_quit,
                    duration: r.duration,
                })
            }
            _ => out.no_settings_applied.push(u.clone()),
        }
    }
    Ok(out)
}

/// `admin.users.session.setSettings`.
pub async fn set_settings(ctx: &Ctx, req: SetSettingsRequest) -> Result<Empty, ApiError> {
    let sets_duration = req.duration.is_some();
    let refuse = |u: &UserRow| {
        no_bots(u).or_else(|| {
            (sets_duration && u.role == Role::PrimaryOwner && !ctx.caller_is_primary_owner())
                .then_some(ErrorCode::AdminUnauthorized)
        })
    };
    let users = check_users(ctx, &req.user_ids, refuse).await?;
    let change = SettingsChange {
        duration: req.duration,
        desktop_app_browser_quit: req.desktop_app_browser_quit,
    };
    ctx.state
        .store()
        .set_settings_audited(
            ctx.org(),
            &users,
            change,
            &audit::ok_entry(ctx, users.clone())?,
        )
        .await?;
    Ok(Empty {})
}

/// `admin.users.session.clearSettings`.
pub async fn clear_settings(ctx: &Ctx, req: ClearSettingsRequest) -> Result<Empty, ApiError> {
    let users = check_users(ctx, &req.user_ids, no_bots).await?;
    let entry = audit::ok_entry(ctx, users.clone())?;
    ctx.state
        .store()
        .clear_settings_audited(ctx.org(), &users, &entry)
        .await?;
    Ok(Empty {})
}

/// `https://<slug>.enterprise.slack.com/` from an org name.
pub fn org_url(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    let slug = if slug.is_empty() { "org" } else { slug };
    format!("https://{slug}.enterprise.slack.com/")
}

/// `auth.test`. `is_enterprise_install` is true for API tokens (every token here stands for an
/// org-wide installation, the only kind that may call admin methods) and false for session
/// tokens; bot tokens get a `bot_id` derived from their user id.
pub async fn auth_test(
    ctx: &Ctx,
    _req: sessions_wire::AuthTestRequest,
) -> Result<AuthTestResponse, ApiError> {
    let p = &ctx.principal;
    let (team_id, team) = p
        .team
        .clone()
        .unwrap_or_else(|| (p.org.org_id.clone(), p.org.name.clone()));
    Ok(AuthTestResponse {
        url: org_url(&p.org.name),
        team,
        user: Some(p.user.name.clone()),
        team_id,
        user_id: p.user.user_id.clone(),
        enterprise_id: Some(p.org.org_id.clone()),
        bot_id: matches!(p.kind, PrincipalKind::BotToken)
            .then(|| format!("B{}", p.user.user_id.get(1..).unwrap_or(""))),
        is_enterprise_install: !matches!(p.kind, PrincipalKind::Session(_)),
    })
}

/// `auth.revoke`: revokes the calling API token (see the module docs).
pub async fn auth_revoke(
    ctx: &Ctx,
    req: AuthRevokeRequest,
) -> Result<AuthRevokeResponse, ApiError> {
    if let PrincipalKind::Session(_) = ctx.principal.kind {
        return Err(ApiError::msg(
            ErrorCode::NotAllowedTokenType,
            "session tokens cannot be revoked on their own; they end with their session",
        ));
    }
    if req.is_test() {
        return Ok(AuthRevokeResponse { revoked: false });
    }
    let me = ctx.principal.user.user_id.clone();
    let entry = audit::ok_entry(ctx, vec![me])?;
    if !ctx
        .state
        .store()
        .revoke_token_audited(&ctx.token, &entry)
        .await?
    {
        // Revoked between our lookup and the write (a concurrent call won).
        return Err(ApiError::new(ErrorCode::TokenRevoked));
    }
    tracing::info!(org = ctx.org(), actor = %ctx.principal.user.user_id, "token revoked");
    Ok(AuthRevokeResponse { revoked: true })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_urls_are_slugs() {
        assert_eq!(
            org_url("Demo Corp"),
            "https://demo-corp.enterprise.slack.com/"
        );
        assert_eq!(
            org_url("  ACME, Inc. "),
            "https://acme-inc.enterprise.slack.com/"
        );
        assert_eq!(org_url("***"), "https://org.enterprise.slack.com/");
    }
}
