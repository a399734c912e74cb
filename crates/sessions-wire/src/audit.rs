//! The audit log read API, in the style of Slack's Audit Logs API
//! (`GET /audit/v1/logs`). Not one of the seven `admin.users.session.*` methods: it lives at
//! its own path, answers newest first, and needs the `auditlogs:read` scope.
//!
//! ```
//! use sessions_wire::audit::{AuditLogsRequest, AuditLogsResponse};
//! use sessions_wire::{Args, Request};
//!
//! let req = AuditLogsRequest::default().action("user_session_reset_by_admin").limit(50);
//! req.validate().unwrap();
//! let args: Args = req.to_form().into_iter().collect();
//! assert_eq!(AuditLogsRequest::from_args(&args).unwrap(), req);
//!
//! let page: AuditLogsResponse = serde_json::from_str(r#"{"entries":[{"id":"7",
//!     "date_create":1700000000,"action":"user_session_invalidated",
//!     "actor":{"type":"user","user":{"id":"W1","name":"adam"}},
//!     "entity":{"type":"session","session":{"id":1001,"user_id":"W2"}},
//!     "context":{"location":{"type":"enterprise","id":"E1"},"ip_address":"203.0.113.9"},
//!     "details":{"result":"ok"}}],"response_metadata":{"next_cursor":""}}"#).unwrap();
//! assert_eq!(page.entries[0].result(), "ok");
//! assert_eq!(page.entries[0].target(), "session 1001 (W2)");
//! assert_eq!(page.next_cursor(), None);
//! ```

use serde::{Deserialize, Serialize};

use crate::args::{ArgError, Args};
use crate::envelope::ResponseMetadata;
use crate::methods::{check_limit, limit_arg, opt};
use crate::types::SessionId;

/// Path of the endpoint, relative to the server root (not to `/api/`).
pub const AUDIT_LOGS_PATH: &str = "audit/v1/logs";
/// Scope a user token needs to read the audit log.
pub const AUDIT_SCOPE: &str = crate::Scope::AuditLogsRead.as_str();
/// Largest page (Slack's Audit Logs API maximum).
pub const AUDIT_LIMIT_MAX: u32 = 9999;
/// Page size when `limit` is not given.
pub const AUDIT_LIMIT_DEFAULT: u32 = 100;

/// Query of `GET /audit/v1/logs`. Every set filter must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditLogsRequest {
    /// Exact action name, e.g. `user_session_invalidated`.
    pub action: Option<String>,
    /// Actor user id.
    pub actor: Option<String>,
    /// A user the action was aimed at.
    pub user: Option<String>,
    /// Only entries at or after this unix time.
    pub oldest: Option<u64>,
    /// Only entries at or before this unix time.
    pub latest: Option<u64>,
    /// Page size, 1..=9999 (default 100).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page (bound to the filters it was issued for).
    pub cursor: Option<String>,
}

impl AuditLogsRequest {
    /// Filters by action.
    pub fn action(mut self, action: impl Into<String>) -> Self {
        self.action = Some(action.into());
        self
    }
    /// Filters by actor.
    pub fn actor(mut self, user_id: impl Into<String>) -> Self {
        self.actor = Some(user_id.into());
        self
    }
    /// Filters by target user.
    pub fn user(mut self, user_id: impl Into<String>) -> Self {
        self.user = Some(user_id.into());
        self
    }
    /// Only entries at or after `t`.
    pub fn oldest(mut self, t: u64) -> Self {
        self.oldest = Some(t);
        self
    }
    /// Only entries at or before `t`.
    pub fn latest(mut self, t: u64) -> Self {
        self.latest = Some(t);
        self
    }
    // `limit` and `cursor`: see `paged!` in `methods`.
}

impl crate::Request for AuditLogsRequest {
    fn to_form(&self) -> Vec<(&'static str, String)> {
        let mut f = Vec::new();
        opt(&mut f, "action", &self.action);
        opt(&mut f, "actor", &self.actor);
        opt(&mut f, "user", &self.user);
        opt(&mut f, "oldest", &self.oldest);
        opt(&mut f, "latest", &self.latest);
        opt(&mut f, "limit", &self.limit);
        opt(&mut f, "cursor", &self.cursor);
        f
    }

    fn from_args(args: &Args) -> Result<Self, ArgError> {
        let text = |n: &str| args.optional(n).filter(|v| !v.trim().is_empty());
        Ok(AuditLogsRequest {
            action: text("action"),
            actor: text("actor"),
            user: text("user"),
            oldest: args.u64("oldest")?,
            latest: args.u64("latest")?,
            limit: limit_arg(args, AUDIT_LIMIT_MAX)?,
            cursor: text("cursor"),
        })
    }

    fn validate(&self) -> Result<(), ArgError> {
        check_limit(self.limit, AUDIT_LIMIT_MAX)?;
        for (name, v) in [("oldest", self.oldest), ("latest", self.latest)] {
            // Stored times are i64 seconds.
            if let Some(t) = v.filter(|t| *t > i64::MAX as u64) {
                return Err(ArgError::OutOfRange {
                    name,
                    min: 0,
                    max: i64::MAX as u64,
                    got: t,
                });
            }
        }
        if let (Some(o), Some(l)) = (self.oldest, self.latest) {
            if o > l {
                return Err(ArgError::OutOfRange {
                    name: "oldest",
                    min: 0,
                    max: l,
                    got: o,
                });
            }
        }
        Ok(())
    }
}

/// A user as the audit log names them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditUser {
    /// User id.
    pub id: String,
    /// Handle, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Who acted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditActor {
    /// Always `user` here.
    #[serde(rename = "type")]
    pub kind: String,
    /// The admin.
    pub user: AuditUser,
}

/// A session as the audit log names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditSession {
    /// Session id.
    pub id: SessionId,
    /// Its owner, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// What the action was aimed at: `type` is `user` (with `user`), `session` (with `session`),
/// or `users` (several, listed in `details.user_ids`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntity {
    /// `user`, `session` or `users`.
    #[serde(rename = "type")]
    pub kind: String,
    /// With `type: user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<AuditUser>,
    /// With `type: session`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<AuditSession>,
}

/// Where the action happened.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLocation {
    /// `enterprise`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Org id.
    pub id: String,
    /// Org name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Request context of the action.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditContext {
    /// The org.
    pub location: AuditLocation,
    /// Caller's `User-Agent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ua: Option<String>,
    /// Caller's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
}

/// One entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLogEntry {
    /// Entry id (opaque text, as in Slack).
    pub id: String,
    /// Unix time of the action.
    pub date_create: i64,
    /// Slack action name.
    pub action: String,
    /// Who acted.
    pub actor: AuditActor,
    /// On what.
    pub entity: AuditEntity,
    /// From where.
    pub context: AuditContext,
    /// `method`, `result` (`ok` or the error code the caller got), and per-action fields.
    #[serde(default)]
    pub details: serde_json::Value,
}

impl AuditLogEntry {
    /// `details.result`: `ok` or the Slack error code the caller got.
    pub fn result(&self) -> &str {
        self.details
            .get("result")
            .and_then(|v| v.as_str())
            .unwrap_or("")
    }
    /// `details.method`.
    pub fn method(&self) -> &str {
        self.details
            .get("method")
            .and_then(|v| v.as_str())
            .unwrap_or("")
    }
    /// A one-line description of the entity: a user id, `session N (user)`, or a user list.
    pub fn target(&self) -> String {
        match (&self.entity.session, &self.entity.user) {
            (Some(s), _) => match &s.user_id {
                Some(u) => format!("session {} ({u})", s.id),
                None => format!("session {}", s.id),
            },
            (None, Some(u)) => u.id.clone(),
            (None, None) => match self.details.get("user_ids").and_then(|v| v.as_array()) {
                Some(ids) => ids
                    .iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                None => String::new(),
            },
        }
    }
}

/// Answer of `GET /audit/v1/logs`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLogsResponse {
    /// Entries, newest first.
    #[serde(default)]
    pub entries: Vec<AuditLogEntry>,
    /// `next_cursor` (empty on the last page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_metadata: Option<ResponseMetadata>,
}
