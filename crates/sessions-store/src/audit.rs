//! The audit log: one row per admin action (or refused attempt), kept durably and readable
//! newest first with filters and keyset paging.
//!
//! Rows are domain records, not wire types; the server maps them to its Audit Logs API shape.
//! Audit rows belong to an org id but are NOT removed when a fixture replaces that org: history
//! outlives the state it describes. Only [`Store::reset_all`](crate::Store::reset_all) removes
//! them.

use serde::{Deserialize, Serialize};

use crate::{BulkJob, UnixTime};

/// Slack's audit action for `admin.users.session.invalidate`.
pub const ACTION_SESSION_INVALIDATED: &str = "user_session_invalidated";
/// Slack's audit action for `admin.users.session.reset` (and each user of a finished
/// resetBulk job).
pub const ACTION_SESSION_RESET: &str = "user_session_reset_by_admin";
/// Slack's audit action for `admin.users.session.resetBulk` (recorded when the job is).
pub const ACTION_BULK_RESET: &str = "bulk_session_reset_by_admin";
/// Slack's audit action for `setSettings` and `clearSettings`.
pub const ACTION_SETTINGS_CHANGED: &str = "user_session_settings_changed";

/// The action recorded for `auth.revoke`: a caller revoking its own API token. Slack's audit
/// reference names no action for that method; this name is ours.
pub const ACTION_TOKEN_REVOKED: &str = "user_token_revoked";

/// The `result` of an entry whose action succeeded (otherwise the Slack error code).
pub const RESULT_OK: &str = "ok";

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Assigned by the store on append (ignored there): numbered per org (1, 2, ... within
    /// each org, never reused), unique within the org across the nodes sharing the store.
    pub id: i64,
    /// Org of the actor.
    pub org_id: String,
    /// When the action happened (server clock).
    pub at: UnixTime,
    /// The admin user who acted.
    pub actor_user_id: String,
    /// Slack audit action name (see the `ACTION_*` constants).
    pub action: String,
    /// Web API method called, e.g. `admin.users.session.reset`.
    pub method: String,
    /// Users the action was aimed at (owner of an invalidated session, reset users, ...).
    pub target_user_ids: Vec<String>,
    /// The session, for `invalidate`.
    pub session_id: Option<u64>,
    /// Free-form details (filter, settings values, job id, ...), a JSON object.
    pub details: serde_json::Value,
    /// Caller's address.
    pub ip: Option<String>,
    /// Caller's `User-Agent`.
    pub user_agent: Option<String>,
    /// [`RESULT_OK`] or the Slack error code the caller got.
    pub result: String,
}

/// Which entries `list_audit` returns; every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Exact action name.
    pub action: Option<String>,
    /// Actor user id.
    pub actor: Option<String>,
    /// A user among the targets.
    pub user: Option<String>,
    /// `at >= oldest`.
    pub oldest: Option<UnixTime>,
    /// `at <= latest`.
    pub latest: Option<UnixTime>,
}

/// Where a page of the audit log starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AuditPage {
    /// The newest entries, newest first.
    #[default]
    Newest,
    /// Entries with `id < before`, newest first (the next page of a newest-first walk).
    Before(i64),
    /// Entries with `id > after`, oldest first (following the log as it grows; see
    /// [`Store::list_audit`](crate::Store::list_audit) on commit order).
    After(i64),
}

impl AuditEntry {
    /// This entry with `details.job_id` set (a non-object `details` is replaced).
    pub fn with_job_id(&self, job_id: i64) -> AuditEntry {
        let mut e = self.clone();
        if !e.details.is_object() {
            e.details = serde_json::Value::Object(Default::default());
        }
        if let Some(m) = e.details.as_object_mut() {
            m.insert("job_id".into(), job_id.into());
        }
        e
    }
}

/// The per-user entries of a finished resetBulk job, as both backends append them in the
/// job's completing transaction: `user_session_reset_by_admin` by the job's actor, at `now`,
/// with the user's outcome, and the caller's address and user agent from `origin` (the job's
/// `bulk_session_reset_by_admin` entry).
pub fn job_user_entries(
    job: &BulkJob,
    now: UnixTime,
    origin: (Option<String>, Option<String>),
) -> Vec<AuditEntry> {
    job.results
        .iter()
        .map(|(user, outcome)| AuditEntry {
            id: 0,
            org_id: job.org_id.clone(),
            at: now,
            actor_user_id: job.actor_user_id.clone(),
            action: ACTION_SESSION_RESET.to_owned(),
            method: "admin.users.session.resetBulk".to_owned(),
            target_user_ids: vec![user.clone()],
            session_id: None,
            details: serde_json::json!({"job_id": job.job_id, "scope": job.filter.as_str()}),
            ip: origin.0.clone(),
            user_agent: origin.1.clone(),
            result: outcome.clone().unwrap_or_else(|| RESULT_OK.to_owned()),
        })
        .collect()
}
