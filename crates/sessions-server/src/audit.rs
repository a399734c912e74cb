//! The audit log: recording admin actions, and `GET /audit/v1/logs` to read them.
//!
//! Recording:
//! - Every call of `invalidate`, `reset`, `resetBulk`, `setSettings` and `clearSettings` by an
//!   authenticated caller is recorded under Slack's audit action names
//!   (`user_session_invalidated`, `user_session_reset_by_admin`, `bulk_session_reset_by_admin`,
//!   `user_session_settings_changed`), with the actor (the token's user), the targets, the
//!   caller's address and user agent, the server clock's time, and the result: `ok` or the
//!   error code the caller got (`not_an_admin`, `missing_scope`, `user_not_found`,
//!   `invalid_arguments`, ...). Reads (`list`, `getSettings`, `auth.test`) are not recorded.
//! - Calls without a valid token (`not_authed`, `invalid_auth`, `token_revoked`) are not
//!   recorded: anyone could fill the log with them, and there is no actor to name.
//! - A successful action's entry is written in the action's own transaction (the store's
//!   `*_audited` writes): the action is applied if and only if its entry exists. Refusals are
//!   appended on their own before the answer is sent; a failed append of a refusal is logged
//!   at `error` and does not change the answer.
//! - `resetBulk` records `bulk_session_reset_by_admin` in the same transaction as the job, and
//!   the store appends one `user_session_reset_by_admin` per user (with that user's outcome and
//!   the original caller's address and user agent) in the transaction that completes the job:
//!   no window there, a recorded job always has its entries.
//! - A refusal's entry is bounded whatever the request: at most [`REFUSED_TARGETS_MAX`] (100)
//!   target ids, each cut to [`ID_MAX`] (32) bytes, with `details.target_count` (the number of
//!   distinct ids asked for) and `details.targets_truncated: true` when some were left out;
//!   text in details cut to [`ID_MAX`] bytes too; the user agent to 512 bytes. A refused call
//!   therefore adds at most about 8 KB to the store (entry plus target index rows), however
//!   large its body. Successful calls keep every target: validation already bounds them
//!   (at most 1,000 existing users).
//! - The caller's address is the TCP peer's. `X-Forwarded-For` is honoured only when the
//!   server runs with `trust_forwarded_for` (`--trust-forwarded-for`), and then its LAST entry
//!   is used: the one the nearest proxy appended, which a client cannot forge.
//!
//! Reading: `GET /audit/v1/logs?action=&actor=&user=&oldest=&latest=&limit=&cursor=`, in the
//! shape of Slack's Audit Logs API, newest first, for a user token of an org admin with the
//! `auditlogs:read` scope; only the caller's org is visible. Cursors are HMAC-signed with the
//! store's secret and bound to the org and the filters, like `list`'s.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use http::{HeaderValue, StatusCode};
use serde_json::{json, Map, Value};
use sessions_store::{
    AuditEntry, AuditFilter, AuditPage, Principal, PrincipalKind, TokenHash, TokenLookup, UnixTime,
    ACTION_BULK_RESET, ACTION_SESSION_INVALIDATED, ACTION_SESSION_RESET, ACTION_SETTINGS_CHANGED,
    RESULT_OK,
};
use sessions_wire::audit::{
    AuditActor, AuditContext, AuditEntity, AuditLocation, AuditLogEntry, AuditLogsRequest,
    AuditLogsResponse, AuditSession, AuditUser, AUDIT_LIMIT_DEFAULT, AUDIT_SCOPE,
};
use sessions_wire::{
    Args, AuthTest, Envelope, ErrorCode, Method, Request as _, ResetScope, ResponseMetadata,
    SessionClearSettings, SessionGetSettings, SessionId, SessionInvalidate, SessionList,
    SessionReset, SessionResetBulk, SessionSetSettings, UsersInfo, UsersList, UsersLookupByEmail,
};

use crate::service::ApiError;
use crate::state::AppState;

/// Longest user agent kept (longer ones are cut at a character boundary).
const UA_MAX: usize = 512;
/// Most target ids a refusal's entry keeps.
pub(crate) const REFUSED_TARGETS_MAX: usize = 100;
/// Longest id (or other text argument) a refusal's entry keeps; Slack ids are about 11 bytes.
pub(crate) const ID_MAX: usize = 32;

/// Where a call came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Origin {
    /// The caller's address (see the module docs for `X-Forwarded-For`) and user agent.
    pub(crate) fn of(state: &AppState, parts: &http::request::Parts) -> Origin {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_canonical());
        let forwarded = state
            .inner
            .settings
            .trust_forwarded_for
            .then(|| forwarded_for(&parts.headers))
            .flatten();
        let user_agent = parts
            .headers
            .get(http::header::USER_AGENT)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .map(|ua| truncate(ua, UA_MAX));
        Origin {
            ip: forwarded.or(peer).map(|ip| ip.to_string()),
            user_agent,
        }
    }
}

/// The last well-formed address of the last `X-Forwarded-For` header.
fn forwarded_for(headers: &http::HeaderMap) -> Option<IpAddr> {
    let last = headers.get_all("x-forwarded-for").iter().next_back()?;
    let text = last.to_str().ok()?;
    let entry = text.rsplit(',').next()?.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// What one call is about, before it runs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    action: &'static str,
    targets: Vec<String>,
    session_id: Option<u64>,
    details: Map<String, Value>,
}

impl Plan {
    /// The plan of a refusal, bounded in size whatever the request (see the module docs).
    fn bounded(mut self) -> Plan {
        let total = self.targets.len();
        if total > REFUSED_TARGETS_MAX {
            self.targets.truncate(REFUSED_TARGETS_MAX);
            self.details.insert("target_count".into(), total.into());
            self.details.insert("targets_truncated".into(), true.into());
        }
        let mut seen = std::collections::HashSet::new();
        self.targets = std::mem::take(&mut self.targets)
            .into_iter()
            .map(|t| truncate(t, ID_MAX))
            .filter(|t| seen.insert(t.clone()))
            .collect();
        for v in self.details.values_mut() {
            if let Value::String(text) = v {
                *text = truncate(std::mem::take(text), ID_MAX);
            }
        }
        self
    }
}

/// Which methods are recorded, and how their arguments become an entry.
pub(crate) trait Audited: Method {
    /// The audit action, `None` for reads.
    const ACTION: Option<&'static str>;
    /// Whether the service records a successful call itself, in the action's own
    /// transaction through the store's `*_audited` writes (then [`record`] only records
    /// failures).
    const RECORDED_BY_SERVICE: bool = false;
    /// Targets and details from parsed arguments.
    fn plan(_req: &Self::Request) -> Plan {
        Plan::default()
    }
}

macro_rules! not_audited {
    ($($m:ty),*) => {$(
        impl Audited for $m {
            const ACTION: Option<&'static str> = None;
        }
    )*};
}
not_audited!(
    SessionList,
    SessionGetSettings,
    AuthTest,
    UsersLookupByEmail,
    UsersInfo,
    UsersList
);

fn scope_name(scope: Result<ResetScope, sessions_wire::ArgError>) -> &'static str {
    match scope {
        Ok(ResetScope::All) => "all",
        Ok(ResetScope::MobileOnly) => "mobile_only",
        Ok(ResetScope::WebOnly) => "web_only",
        Err(_) => "invalid",
    }
}

fn trimmed(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl Audited for SessionInvalidate {
    const ACTION: Option<&'static str> = Some(ACTION_SESSION_INVALIDATED);
    const RECORDED_BY_SERVICE: bool = true;
    fn plan(req: &Self::Request) -> Plan {
        let mut details = Map::new();
        if let Some(t) = trimmed(&req.team_id) {
            details.insert("team_id".into(), t.into());
        }
        Plan {
            action: ACTION_SESSION_INVALIDATED,
            targets: trimmed(&req.user_id).into_iter().collect(),
            session_id: req.session_id.map(|s| s.0),
            details,
        }
    }
}

impl Audited for SessionReset {
    const ACTION: Option<&'static str> = Some(ACTION_SESSION_RESET);
    const RECORDED_BY_SERVICE: bool = true;
    fn plan(req: &Self::Request) -> Plan {
        let mut details = Map::new();
        details.insert("scope".into(), scope_name(req.scope()).into());
        Plan {
            action: ACTION_SESSION_RESET,
            targets: vec![req.user_id.trim().to_owned()],
            session_id: None,
            details,
        }
    }
}

fn unique(ids: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    ids.iter()
        .filter(|u| seen.insert(u.as_str()))
        .cloned()
        .collect()
}

impl Audited for SessionResetBulk {
    const ACTION: Option<&'static str> = Some(ACTION_BULK_RESET);
    const RECORDED_BY_SERVICE: bool = true;
    fn plan(req: &Self::Request) -> Plan {
        let mut details = Map::new();
        details.insert("scope".into(), scope_name(req.scope()).into());
        Plan {
            action: ACTION_BULK_RESET,
            targets: unique(&req.user_ids),
            session_id: None,
            details,
        }
    }
}

impl Audited for SessionSetSettings {
    const ACTION: Option<&'static str> = Some(ACTION_SETTINGS_CHANGED);
    const RECORDED_BY_SERVICE: bool = true;
    fn plan(req: &Self::Request) -> Plan {
        let mut details = Map::new();
        if let Some(d) = req.duration {
            details.insert("duration".into(), d.into());
        }
        if let Some(q) = req.desktop_app_browser_quit {
            details.insert("desktop_app_browser_quit".into(), q.into());
        }
        Plan {
            action: ACTION_SETTINGS_CHANGED,
            targets: unique(&req.user_ids),
            session_id: None,
            details,
        }
    }
}

impl Audited for SessionClearSettings {
    const ACTION: Option<&'static str> = Some(ACTION_SETTINGS_CHANGED);
    const RECORDED_BY_SERVICE: bool = true;
    fn plan(req: &Self::Request) -> Plan {
        let mut details = Map::new();
        details.insert("cleared".into(), true.into());
        Plan {
            action: ACTION_SETTINGS_CHANGED,
            targets: unique(&req.user_ids),
            session_id: None,
            details,
        }
    }
}

/// The plan of a call refused before it ran: from its arguments if they parse, else
/// [`plan_from_args`]. `None` for methods that are not recorded.
pub(crate) fn plan_for_failure<M: Audited>(args: &Args) -> Option<Plan> {
    M::ACTION?;
    match M::Request::from_args(args) {
        Ok(req) => Some(M::plan(&req)),
        Err(_) => plan_from_args::<M>(args),
    }
}

/// A best-effort plan from arguments that did not parse (so the refusal names whom the
/// caller was after, when it can be read).
pub(crate) fn plan_from_args<M: Audited>(args: &Args) -> Option<Plan> {
    let action = M::ACTION?;
    let mut targets: Vec<String> = Vec::new();
    if let Some(u) = args.get("user_id").map(str::trim).filter(|u| !u.is_empty()) {
        targets.push(u.to_owned());
    }
    if let Ok(Some(list)) = args.list("user_ids") {
        targets.extend(list);
    }
    let session_id = args
        .get("session_id")
        .and_then(sessions_wire::args::parse_u64);
    Some(Plan {
        action,
        targets: unique(&targets),
        session_id,
        details: Map::new(),
    })
}

/// Builds and appends the entry of one call. Failures to append are logged, never answered.
pub(crate) async fn record<M: Audited>(
    state: &AppState,
    origin: &Origin,
    principal: &Principal,
    plan: Plan,
    now: UnixTime,
    outcome: Result<Option<i64>, &ApiError>,
) {
    if M::ACTION.is_none() || (outcome.is_ok() && M::RECORDED_BY_SERVICE) {
        return;
    }
    let org = &principal.org.org_id;
    let mut plan = plan;
    let result = match outcome {
        Ok(job) => {
            if let Some(job) = job {
                plan.details.insert("job_id".into(), job.into());
            }
            RESULT_OK.to_owned()
        }
        Err(e) => {
            plan = plan.bounded();
            e.code.as_str().to_owned()
        }
    };
    // An invalidation names the session's owner even when the caller gave only its team.
    if let (Some(sid), true) = (plan.session_id, plan.targets.is_empty()) {
        if let Ok(Some(s)) = state.store().session(org, sid).await {
            plan.targets.push(s.user_id);
        }
    }
    append(state, &entry::<M>(principal, origin, plan, now, result)).await;
}

/// The entry of one call of `M`.
pub(crate) fn entry<M: Audited>(
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
        method: M::NAME.to_owned(),
        target_user_ids: plan.targets,
        session_id: plan.session_id,
        details: Value::Object(plan.details),
        ip: origin.ip.clone(),
        user_agent: origin.user_agent.clone(),
        result,
    }
}

/// The `ok` entry of a call of `M` the service is about to apply, naming the checked
/// (deduplicated) `targets`; the store appends it in the write's own transaction.
pub(crate) fn ok_entry<M: Audited>(
    ctx: &crate::service::Ctx,
    req: &M::Request,
    targets: Vec<String>,
) -> AuditEntry {
    let mut plan = M::plan(req);
    plan.targets = targets;
    entry::<M>(
        &ctx.principal,
        &ctx.origin,
        plan,
        ctx.now,
        RESULT_OK.to_owned(),
    )
}

async fn append(state: &AppState, entry: &AuditEntry) {
    if let Err(e) = state.store().append_audit(entry).await {
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

/// Records a refusal that happened during authorization (`not_an_admin`, `missing_scope`,
/// `not_allowed_token_type`) for a caller whose token is valid. Unauthenticated calls are
/// not recorded.
pub(crate) async fn refused<M: Audited>(
    state: &AppState,
    origin: &Origin,
    token: Option<&str>,
    args: &Args,
    now: UnixTime,
    err: &ApiError,
) {
    if M::ACTION.is_none()
        || matches!(
            err.code,
            ErrorCode::NotAuthed | ErrorCode::InvalidAuth | ErrorCode::TokenRevoked
        )
    {
        return;
    }
    let Some(token) = token else { return };
    let principal = match state.store().authenticate(&TokenHash::of(token), now).await {
        Ok(TokenLookup::Active(p)) => p,
        _ => return,
    };
    if let Some(plan) = plan_for_failure::<M>(args) {
        record::<M>(state, origin, &principal, plan, now, Err(err)).await;
    }
}

// ----- reading --------------------------------------------------------------------------------

type HmacSha256 = Hmac<Sha256>;
use sha2::Sha256;

/// 2 since entry ids count per org (schema v4 renumbered them): a cursor issued before holds
/// an old id that would point elsewhere, so it is refused as malformed (`invalid_cursor`).
const CURSOR_VERSION: u8 = 2;
const TAG_LEN: usize = 32;

/// The filters a cursor is bound to, in a fixed order.
fn filter_fingerprint(org: &str, f: &AuditFilter) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut field = |s: Option<&str>| match s {
        None => buf.push(0),
        Some(s) => {
            buf.push(1);
            buf.extend_from_slice(&(s.len() as u32).to_be_bytes());
            buf.extend_from_slice(s.as_bytes());
        }
    };
    field(Some(org));
    field(f.action.as_deref());
    field(f.actor.as_deref());
    field(f.user.as_deref());
    field(f.oldest.map(|t| t.to_string()).as_deref());
    field(f.latest.map(|t| t.to_string()).as_deref());
    buf
}

fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; TAG_LEN] {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(b"audit-cursor");
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// `version | last id | tag(fingerprint, version, last id)`: the org and filters are not in
/// the cursor, only in its tag, so a cursor used with other filters or by another org fails.
pub(crate) fn encode_cursor(key: &[u8], org: &str, f: &AuditFilter, last: i64) -> String {
    let mut buf = vec![CURSOR_VERSION];
    buf.extend_from_slice(&last.to_be_bytes());
    let tag = mac(key, &[&filter_fingerprint(org, f), &buf]);
    buf.extend_from_slice(&tag);
    URL_SAFE_NO_PAD.encode(buf)
}

/// The last id of the previous page, if the cursor is genuine and was issued for these
/// filters in this org.
pub(crate) fn decode_cursor(
    key: &[u8],
    org: &str,
    f: &AuditFilter,
    cursor: &str,
) -> Result<i64, &'static str> {
    let raw = URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .map_err(|_| "cursor is malformed")?;
    if raw.len() != 1 + 8 + TAG_LEN || raw[0] != CURSOR_VERSION {
        return Err("cursor is malformed");
    }
    let (body, tag) = raw.split_at(9);
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(b"audit-cursor");
    m.update(&filter_fingerprint(org, f));
    m.update(body);
    // Constant-time comparison.
    m.verify_slice(tag).map_err(|_| {
        "cursor signature does not match (tampered with, issued by another server, or for \
         other filters or another organization)"
    })?;
    let mut id = [0u8; 8];
    id.copy_from_slice(&body[1..9]);
    Ok(i64::from_be_bytes(id))
}

fn error_response(e: ApiError) -> Response {
    let env = Envelope::from(e);
    json_response(serde_json::to_string(&env).unwrap_or_default())
}

fn json_response(body: String) -> Response {
    let mut res = Response::new(axum::body::Body::from(body));
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(crate::api::JSON),
    );
    res.headers_mut().insert(
        "x-accepted-oauth-scopes",
        HeaderValue::from_static(AUDIT_SCOPE),
    );
    *res.status_mut() = StatusCode::OK;
    res
}

/// Token checks of the read endpoint: a user token of an org admin with `auditlogs:read`.
async fn authorize(
    state: &AppState,
    token: Option<&str>,
    now: UnixTime,
) -> Result<std::sync::Arc<Principal>, ApiError> {
    let token = token.ok_or_else(|| ApiError::new(ErrorCode::NotAuthed))?;
    let p = match state
        .store()
        .authenticate(&TokenHash::of(token), now)
        .await?
    {
        TokenLookup::Active(p) => p,
        TokenLookup::Revoked => return Err(ApiError::new(ErrorCode::TokenRevoked)),
        _ => return Err(ApiError::new(ErrorCode::InvalidAuth)),
    };
    if p.kind != PrincipalKind::UserToken {
        return Err(ApiError::msg(
            ErrorCode::NotAllowedTokenType,
            "the audit log needs a user token",
        ));
    }
    if !p.scopes.iter().any(|s| s == AUDIT_SCOPE) {
        return Err(ApiError {
            code: ErrorCode::MissingScope,
            messages: Vec::new(),
            needed: Some(AUDIT_SCOPE.to_owned()),
            provided: Some(p.scopes.join(",")),
        });
    }
    if !p.user.role.is_admin() {
        return Err(ApiError::new(ErrorCode::NotAnAdmin));
    }
    Ok(p)
}

/// The one place a stored entry becomes a wire entry.
fn to_wire(e: AuditEntry, principal: &Principal, names: &HashMap<String, String>) -> AuditLogEntry {
    let mut details = match e.details {
        Value::Object(m) => m,
        other => {
            let mut m = Map::new();
            m.insert("value".into(), other);
            m
        }
    };
    details.insert("method".into(), e.method.into());
    details.insert("result".into(), e.result.into());
    let entity = match (e.session_id, e.target_user_ids.as_slice()) {
        (Some(sid), targets) => AuditEntity {
            kind: "session".into(),
            user: None,
            session: Some(AuditSession {
                id: SessionId(sid),
                user_id: targets.first().cloned(),
            }),
        },
        (None, [one]) => AuditEntity {
            kind: "user".into(),
            user: Some(AuditUser {
                id: one.clone(),
                name: names.get(one).cloned(),
            }),
            session: None,
        },
        (None, many) => {
            details.insert("user_ids".into(), json!(many));
            AuditEntity {
                kind: "users".into(),
                user: None,
                session: None,
            }
        }
    };
    AuditLogEntry {
        id: e.id.to_string(),
        date_create: e.at,
        action: e.action,
        actor: AuditActor {
            kind: "user".into(),
            user: AuditUser {
                name: names.get(&e.actor_user_id).cloned(),
                id: e.actor_user_id,
            },
        },
        entity,
        context: AuditContext {
            location: AuditLocation {
                kind: "enterprise".into(),
                id: principal.org.org_id.clone(),
                name: Some(principal.org.name.clone()),
            },
            ua: e.user_agent,
            ip_address: e.ip,
        },
        details: Value::Object(details),
    }
}

async fn read_logs(state: &AppState, req: Request) -> Result<AuditLogsResponse, ApiError> {
    let (parts, _) = req.into_parts();
    let now = state.clock().now();
    let input = crate::extract::read_call(&parts.headers, parts.uri.query(), Default::default())
        .await
        .map_err(|e| {
            let mut err = ApiError::new(e.code);
            err.messages.push(e.message);
            err
        })?;
    let principal = authorize(state, input.token.as_deref(), now).await?;
    let q = AuditLogsRequest::from_args(&input.args).and_then(|r| r.validate().map(|()| r))?;
    let org = principal.org.org_id.clone();
    let filter = AuditFilter {
        action: q.action.clone(),
        actor: q.actor.clone(),
        user: q.user.clone(),
        // Validation keeps both within i64.
        oldest: q.oldest.map(|t| t as i64),
        latest: q.latest.map(|t| t as i64),
    };
    let page = match q.cursor.as_deref() {
        Some(c) => AuditPage::Before(
            decode_cursor(state.cursor_key(), &org, &filter, c)
                .map_err(|m| ApiError::msg(ErrorCode::InvalidCursor, m))?,
        ),
        None => AuditPage::Newest,
    };
    let limit = q.limit.unwrap_or(AUDIT_LIMIT_DEFAULT);
    // One extra row tells whether another page exists.
    let mut rows = state
        .store()
        .list_audit(&org, &filter, page, limit + 1)
        .await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = match (more, rows.last()) {
        (true, Some(last)) => encode_cursor(state.cursor_key(), &org, &filter, last.id),
        _ => String::new(),
    };
    let mut ids: Vec<String> = rows
        .iter()
        .flat_map(|e| std::iter::once(&e.actor_user_id).chain(e.target_user_ids.first()))
        .cloned()
        .collect();
    ids.sort();
    ids.dedup();
    let names: HashMap<String, String> = state
        .store()
        .users(&org, &ids)
        .await?
        .into_iter()
        .map(|u| (u.user_id, u.name))
        .collect();
    Ok(AuditLogsResponse {
        entries: rows
            .into_iter()
            .map(|e| to_wire(e, &principal, &names))
            .collect(),
        response_metadata: Some(ResponseMetadata {
            next_cursor: Some(next_cursor),
            ..Default::default()
        }),
    })
}

/// `GET /audit/v1/logs`.
pub(crate) async fn logs(State(state): State<AppState>, req: Request) -> Response {
    match read_logs(&state, req).await {
        Err(e) => error_response(e),
        Ok(page) => match serde_json::to_string(&page) {
            Ok(s) if s.starts_with('{') => json_response(format!(r#"{{"ok":true,{}"#, &s[1..])),
            _ => error_response(ApiError::new(ErrorCode::InternalError)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_takes_the_last_entry() {
        let mut h = http::HeaderMap::new();
        h.append(
            "x-forwarded-for",
            "198.51.100.1, 203.0.113.5".parse().unwrap(),
        );
        assert_eq!(forwarded_for(&h), Some("203.0.113.5".parse().unwrap()));
        h.append("x-forwarded-for", "192.0.2.44:5555".parse().unwrap());
        assert_eq!(forwarded_for(&h), Some("192.0.2.44".parse().unwrap()));
        h.append("x-forwarded-for", "garbage".parse().unwrap());
        assert_eq!(forwarded_for(&h), None);
    }

    #[test]
    fn user_agents_are_cut_at_char_boundaries() {
        let s = "é".repeat(400);
        let t = truncate(s, UA_MAX);
        assert!(t.len() <= UA_MAX && t.chars().all(|c| c == 'é'));
    }

    proptest::proptest! {
        /// Arbitrary text is never taken for a cursor (and never panics), and every genuine
        /// cursor decodes to the id it carries.
        #[test]
        fn cursor_decoding_is_total_and_exact(text in ".{0,80}", last in proptest::num::i64::ANY) {
            let f = AuditFilter::default();
            proptest::prop_assert!(decode_cursor(b"k", "E1", &f, &text).is_err());
            let c = encode_cursor(b"k", "E1", &f, last);
            proptest::prop_assert_eq!(decode_cursor(b"k", "E1", &f, &c), Ok(last));
        }
    }

    #[test]
    fn cursors_are_bound_to_org_and_filters() {
        let key = b"k".as_slice();
        let f = AuditFilter {
            action: Some("a".into()),
            ..Default::default()
        };
        let c = encode_cursor(key, "E1", &f, 42);
        assert_eq!(decode_cursor(key, "E1", &f, &c), Ok(42));
        assert!(decode_cursor(key, "E2", &f, &c).is_err());
        assert!(decode_cursor(key, "E1", &AuditFilter::default(), &c).is_err());
        assert!(decode_cursor(b"other", "E1", &f, &c).is_err());
        assert!(decode_cursor(key, "E1", &f, "!!").is_err());
        let mut raw = URL_SAFE_NO_PAD.decode(&c).unwrap();
        for i in 0..raw.len() {
            raw[i] ^= 1;
            let flipped = URL_SAFE_NO_PAD.encode(&raw);
            assert!(decode_cursor(key, "E1", &f, &flipped).is_err(), "bit {i}");
            raw[i] ^= 1;
        }
    }
}
