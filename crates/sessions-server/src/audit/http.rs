//! `GET /audit/v1/logs?action=&actor=&user=&oldest=&latest=&limit=&cursor=`: the audit log in
//! the shape of Slack's Audit Logs API, newest first, for a user token of an org admin with the
//! `auditlogs:read` scope ([`Access::AUDIT_LOG`], checked by the one
//! [`authorize`](crate::service::authorize)); only the caller's org is visible. Cursors are
//! signed by [`crate::cursor`] and bound to the org and the filters, like `list`'s.

use std::collections::HashMap;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use sessions_store::{AuditEntry, AuditFilter, AuditPage, Principal};
use sessions_wire::audit::{
    AuditActor, AuditContext, AuditEntity, AuditLocation, AuditLogEntry, AuditLogsRequest,
    AuditLogsResponse, AuditSession, AuditUser, AUDIT_LIMIT_DEFAULT, AUDIT_SCOPE,
};
use sessions_wire::{ErrorCode, Request as _, ResponseMetadata, SessionId};

use crate::api::Reply;
use crate::cursor;
use crate::service::{authorize, Access, ApiError};
use crate::state::AppState;

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
    let input =
        crate::extract::read_call(&parts.headers, parts.uri.query(), Default::default()).await?;
    let token = input.token.as_deref().map(sessions_store::TokenHash::of);
    let principal = authorize(state, Access::AUDIT_LOG, token.as_ref(), now)
        .await
        .map_err(|refusal| refusal.error)?;
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
            cursor::decode_audit(state.cursor_key(), c, &org, &filter)
                .map_err(|e| ApiError::msg(ErrorCode::InvalidCursor, e))?,
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
        (true, Some(last)) => cursor::encode_audit(state.cursor_key(), &org, &filter, last.id),
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
    let mut reply = match read_logs(&state, req).await {
        Ok(page) => Reply::ok(&page),
        Err(e) => Reply::error(e),
    };
    reply.accepted = Some(AUDIT_SCOPE);
    reply.into_response()
}
