//! Requests and payloads of the seven `admin.users.session.*` methods, `auth.test` and
//! `auth.revoke`: how each encodes for the wire, decodes from any SDK's shape, and validates.

use serde::{Deserialize, Serialize};

use crate::args::{check_ids, ArgError, Args};
use crate::envelope::ResponseMetadata;
use crate::methods::{check_limit, limit_arg, non_empty, opt, Request};
use crate::types::{ActiveSession, ResetScope, SessionId, SessionSetting};

/// Largest page `list` returns.
pub const LIST_LIMIT_MAX: u32 = 1000;
/// Page size when `limit` is not given (the spec's default).
pub const LIST_LIMIT_DEFAULT: u32 = 1000;
/// Most users one resetBulk or settings call takes.
pub const USER_IDS_MAX: usize = 1000;
/// Shortest session duration accepted, in seconds. Slack's prose says 28800 (8 hours) while its
/// schema says 180; we follow the prose, which the Node SDK's docs repeat.
pub const DURATION_MIN: u64 = 28_800;
/// Longest session duration accepted, in seconds (10 years).
pub const DURATION_MAX: u64 = 315_569_520;

/// A response with no payload beyond the envelope.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

// ---------------------------------------------------------------- list

/// `admin.users.session.list` arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListRequest {
    /// Workspace to list; must come with `user_id`.
    pub team_id: Option<String>,
    /// User to list; must come with `team_id`.
    pub user_id: Option<String>,
    /// Page size, 1..=1000 (server default 1000).
    pub limit: Option<u32>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

impl ListRequest {
    /// The whole organization.
    pub fn org() -> Self {
        ListRequest::default()
    }
    /// One user's sessions on one workspace.
    pub fn user(team_id: impl Into<String>, user_id: impl Into<String>) -> Self {
        ListRequest {
            team_id: Some(team_id.into()),
            user_id: Some(user_id.into()),
            ..Default::default()
        }
    }
    // `limit` and `cursor`: see `paged!` in `methods`.
}

impl Request for ListRequest {
    fn to_form(&self) -> Vec<(&'static str, String)> {
        let mut f = Vec::with_capacity(4);
        opt(&mut f, "team_id", &self.team_id);
        opt(&mut f, "user_id", &self.user_id);
        opt(&mut f, "limit", &self.limit);
        opt(&mut f, "cursor", &self.cursor);
        f
    }

    fn from_args(args: &Args) -> Result<Self, ArgError> {
        Ok(ListRequest {
            team_id: args.optional("team_id"),
            user_id: args.optional("user_id"),
            limit: limit_arg(args, LIST_LIMIT_MAX)?,
            cursor: args.optional("cursor"),
        })
    }

    fn validate(&self) -> Result<(), ArgError> {
        let team = self.team_id.as_deref().is_some_and(|s| !s.is_empty());
        let user = self.user_id.as_deref().is_some_and(|s| !s.is_empty());
        match (team, user) {
            (true, false) => return Err(ArgError::MissingUser),
            (false, true) => return Err(ArgError::MissingTeam),
            _ => {}
        }
        check_limit(self.limit, LIST_LIMIT_MAX)
    }
}

/// `admin.users.session.list` payload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListResponse {
    /// Active sessions on this page.
    #[serde(default)]
    pub active_sessions: Vec<ActiveSession>,
    /// Carries `next_cursor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_metadata: Option<ResponseMetadata>,
}

// ---------------------------------------------------------------- invalidate

/// `admin.users.session.invalidate` arguments.
///
/// Slack's reference today requires `user_id`; the seeds, older SDKs and Slack's OpenAPI send
/// `team_id` instead. Either (or both) is accepted and sent as given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvalidateRequest {
    /// The session to revoke.
    pub session_id: Option<SessionId>,
    /// Owner of the session (Slack's current form).
    pub user_id: Option<String>,
    /// Workspace of the session (the older form).
    pub team_id: Option<String>,
}

impl InvalidateRequest {
    /// Today's form: session and its user.
    pub fn for_user(session_id: impl Into<SessionId>, user_id: impl Into<String>) -> Self {
        InvalidateRequest {
            session_id: Some(session_id.into()),
            user_id: Some(user_id.into()),
            team_id: None,
        }
    }
    /// The seeds' form: session and its workspace.
    pub fn for_team(session_id: impl Into<SessionId>, team_id: impl Into<String>) -> Self {
        InvalidateRequest {
            session_id: Some(session_id.into()),
            team_id: Some(team_id.into()),
            user_id: None,
        }
    }
}

impl Request for InvalidateRequest {
    fn to_form(&self) -> Vec<(&'static str, String)> {
        let mut f = Vec::with_capacity(3);
        opt(&mut f, "session_id", &self.session_id);
        opt(&mut f, "user_id", &self.user_id);
        opt(&mut f, "team_id", &self.team_id);
        f
    }

    fn from_args(args: &Args) -> Result<Self, ArgError> {
        Ok(InvalidateRequest {
            session_id: args.u64("session_id")?.map(SessionId),
            user_id: args.optional("user_id"),
            team_id: args.optional("team_id"),
        })
    }

    fn validate(&self) -> Result<(), ArgError> {
        if self.session_id.is_none() {
            return Err(ArgError::Missing { name: "session_id" });
        }
        let user = self
            .user_id
            .as_deref()
            .is_some_and(|s| !s.trim().is_empty());
        let team = self
            .team_id
            .as_deref()
            .is_some_and(|s| !s.trim().is_empty());
        if !user && !team {
            return Err(ArgError::MissingOneOf {
                names: &["user_id", "team_id"],
            });
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- reset

/// `admin.users.session.reset` arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResetRequest {
    /// The user whose sessions to wipe.
    pub user_id: String,
    /// Only mobile sessions.
    pub mobile_only: Option<bool>,
    /// Only web sessions.
    pub web_only: Option<bool>,
}

impl ResetRequest {
    /// All of a user's sessions.
    pub fn new(user_id: impl Into<String>) -> Self {
        ResetRequest {
            user_id: user_id.into(),
            ..Default::default()
        }
    }
    /// Which sessions the flags select.
    pub fn scope(&self) -> Result<ResetScope, ArgError> {
        reset_scope(self.mobile_only, self.web_only)
    }
}

impl Request for ResetRequest {
    fn to_form(&self) -> Vec<(&'static str, String)> {
        let mut f = vec![("user_id", self.user_id.clone())];
        opt(&mut f, "mobile_only", &self.mobile_only);
        opt(&mut f, "web_only", &self.web_only);
        f
    }

    fn from_args(args: &Args) -> Result<Self, ArgError> {
        Ok(ResetRequest {
            user_id: args.optional("user_id").unwrap_or_default(),
            mobile_only: args.bool("mobile_only")?,
            web_only: args.bool("web_only")?,
        })
    }

    fn validate(&self) -> Result<(), ArgError> {
        non_empty("user_id", &self.user_id)?;
        self.scope().map(|_| ())
    }
}

// ---------------------------------------------------------------- resetBulk

/// `admin.users.session.resetBulk` arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResetBulkRequest {
    /// 1..=1000 users.
    pub user_ids: Vec<String>,
    /// Only mobile sessions.
    pub mobile_only: Option<bool>,
    /// Only web sessions.
    pub web_only: Option<bool>,
}

impl ResetBulkRequest {
    /// All sessions of the given users.
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(user_ids: I) -> Self {
        ResetBulkRequest {
            user_ids: ids(user_ids),
            ..Default::default()
        }
    }
    /// Which sessions the flags select.
    pub fn scope(&self) -> Result<ResetScope, ArgError> {
        reset_scope(self.mobile_only, self.web_only)
    }
}

impl Request for ResetBulkRequest {
    fn to_form(&self) -> Vec<(&'static str, String)> {
        let mut f = vec![user_ids_field(&self.user_ids)];
        opt(&mut f, "mobile_only", &self.mobile_only);
        opt(&mut f, "web_only", &self.web_only);
        f
    }

    fn from_args(args: &Args) -> Result<Self, ArgError> {
        Ok(ResetBulkRequest {
            user_ids: user_ids_only(args)?,
            mobile_only: args.bool("mobile_only")?,
            web_only: args.bool("web_only")?,
        })
    }

    fn validate(&self) -> Result<(), ArgError> {
        validate_user_ids(&self.user_ids)?;
        self.scope().map(|_| ())
    }
}

// ---------------------------------------------------------------- settings

/// `admin.users.session.getSettings` arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetSettingsRequest {
    /// 1..=1000 users.
    pub user_ids: Vec<String>,
}

impl GetSettingsRequest {
    /// Settings of the given users.
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(user_ids: I) -> Self {
        GetSettingsRequest {
            user_ids: ids(user_ids),
        }
    }
}

/// Owned ids from any list of strings (the constructors' argument).
fn ids<I: IntoIterator<Item = S>, S: Into<String>>(user_ids: I) -> Vec<String> {
    user_ids.into_iter().map(Into::into).collect()
}

/// `user_ids` on the wire: comma-joined.
fn user_ids_field(ids: &[String]) -> (&'static str, String) {
    ("user_ids", ids.join(","))
}

/// Which sessions `mobile_only` / `web_only` select (both unset: all).
fn reset_scope(mobile_only: Option<bool>, web_only: Option<bool>) -> Result<ResetScope, ArgError> {
    ResetScope::from_flags(mobile_only.unwrap_or(false), web_only.unwrap_or(false))
}

/// `user_ids` as sent; absent is empty (which [`validate_user_ids`] refuses).
fn user_ids_only(args: &Args) -> Result<Vec<String>, ArgError> {
    Ok(args.list("user_ids")?.unwrap_or_default())
}

/// 1..=[`USER_IDS_MAX`] plausible ids.
fn validate_user_ids(ids: &[String]) -> Result<(), ArgError> {
    if ids.is_empty() {
        return Err(ArgError::Missing { name: "user_ids" });
    }
    check_ids("user_ids", ids, 1, USER_IDS_MAX)
}

impl Request for GetSettingsRequest {
    fn to_form(&self) -> Vec<(&'static str, String)> {
        vec![user_ids_field(&self.user_ids)]
    }
    fn from_args(args: &Args) -> Result<Self, ArgError> {
        Ok(GetSettingsRequest {
            user_ids: user_ids_only(args)?,
        })
    }
    fn validate(&self) -> Result<(), ArgError> {
        validate_user_ids(&self.user_ids)
    }
}

/// `admin.users.session.getSettings` payload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetSettingsResponse {
    /// Users that have settings.
    #[serde(default)]
    pub session_settings: Vec<SessionSetting>,
    /// Requested users with no settings applied.
    #[serde(default)]
    pub no_settings_applied: Vec<String>,
}

/// `admin.users.session.setSettings` arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetSettingsRequest {
    /// 1..=1000 users.
    pub user_ids: Vec<String>,
    /// Session duration in seconds, [`DURATION_MIN`]..=[`DURATION_MAX`].
    pub duration: Option<u64>,
    /// End sessions when the desktop app or browser quits.
    pub desktop_app_browser_quit: Option<bool>,
}

impl SetSettingsRequest {
    /// No settings yet: set at least one before sending.
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(user_ids: I) -> Self {
        SetSettingsRequest {
            user_ids: ids(user_ids),
            ..Default::default()
        }
    }
    /// Sets the duration.
    pub fn duration(mut self, seconds: u64) -> Self {
        self.duration = Some(seconds);
        self
    }
    /// Sets `desktop_app_browser_quit`.
    pub fn desktop_app_browser_quit(mut self, quit: bool) -> Self {
        self.desktop_app_browser_quit = Some(quit);
        self
    }
}

impl Request for SetSettingsRequest {
    fn to_form(&self) -> Vec<(&'static str, String)> {
        let mut f = vec![user_ids_field(&self.user_ids)];
        opt(&mut f, "duration", &self.duration);
        opt(
            &mut f,
            "desktop_app_browser_quit",
            &self.desktop_app_browser_quit,
        );
        f
    }
    fn from_args(args: &Args) -> Result<Self, ArgError> {
        Ok(SetSettingsRequest {
            user_ids: user_ids_only(args)?,
            duration: args.u64("duration")?,
            desktop_app_browser_quit: args.bool("desktop_app_browser_quit")?,
        })
    }
    fn validate(&self) -> Result<(), ArgError> {
        validate_user_ids(&self.user_ids)?;
        if self.duration.is_none() && self.desktop_app_browser_quit.is_none() {
            return Err(ArgError::AtLeastOneSetting);
        }
        if let Some(d) = self.duration {
            if !(DURATION_MIN..=DURATION_MAX).contains(&d) {
                return Err(ArgError::OutOfRange {
                    name: "duration",
                    min: DURATION_MIN,
                    max: DURATION_MAX,
                    got: d,
                });
            }
        }
        Ok(())
    }
}

/// `admin.users.session.clearSettings` arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClearSettingsRequest {
    /// 1..=1000 users.
    pub user_ids: Vec<String>,
}

impl ClearSettingsRequest {
    /// Clear the given users' settings.
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(user_ids: I) -> Self {
        ClearSettingsRequest {
            user_ids: ids(user_ids),
        }
    }
}

impl Request for ClearSettingsRequest {
    fn to_form(&self) -> Vec<(&'static str, String)> {
        vec![user_ids_field(&self.user_ids)]
    }
    fn from_args(args: &Args) -> Result<Self, ArgError> {
        Ok(ClearSettingsRequest {
            user_ids: user_ids_only(args)?,
        })
    }
    fn validate(&self) -> Result<(), ArgError> {
        validate_user_ids(&self.user_ids)
    }
}

// ---------------------------------------------------------------- auth.test

/// `auth.test` takes no arguments beyond the token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthTestRequest {}

impl Request for AuthTestRequest {
    fn to_form(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
    fn from_args(_: &Args) -> Result<Self, ArgError> {
        Ok(AuthTestRequest {})
    }
    fn validate(&self) -> Result<(), ArgError> {
        Ok(())
    }
}

/// `auth.test` payload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthTestResponse {
    /// Workspace URL.
    #[serde(default)]
    pub url: String,
    /// Workspace (or org) name.
    #[serde(default)]
    pub team: String,
    /// User name.
    #[serde(default)]
    pub user: Option<String>,
    /// Workspace id.
    #[serde(default)]
    pub team_id: String,
    /// User id.
    #[serde(default)]
    pub user_id: String,
    /// Enterprise Grid org id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enterprise_id: Option<String>,
    /// Bot id, for bot tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_id: Option<String>,
    /// Whether the token belongs to an org-wide installation.
    #[serde(default)]
    pub is_enterprise_install: bool,
}

// ---------------------------------------------------------------- auth.revoke

/// `auth.revoke` arguments: the token to revoke is the calling one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthRevokeRequest {
    /// Slack's test mode: when true the token is NOT revoked and the answer says
    /// `"revoked": false`.
    pub test: Option<bool>,
}

impl AuthRevokeRequest {
    /// Revokes the calling token.
    pub fn new() -> Self {
        AuthRevokeRequest::default()
    }
    /// Test mode: checks the call without revoking anything.
    pub fn test() -> Self {
        AuthRevokeRequest { test: Some(true) }
    }
    /// Whether the call is only a test (the token stays valid).
    pub fn is_test(&self) -> bool {
        self.test.unwrap_or(false)
    }
}

impl Request for AuthRevokeRequest {
    fn to_form(&self) -> Vec<(&'static str, String)> {
        let mut f = Vec::with_capacity(1);
        opt(&mut f, "test", &self.test);
        f
    }
    fn from_args(args: &Args) -> Result<Self, ArgError> {
        Ok(AuthRevokeRequest {
            test: args.bool("test")?,
        })
    }
    fn validate(&self) -> Result<(), ArgError> {
        Ok(())
    }
}

/// `auth.revoke` payload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthRevokeResponse {
    /// Whether the token was revoked (false in test mode).
    #[serde(default)]
    pub revoked: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_revoke_sends_test_only_when_set_and_reads_every_boolean_shape() {
        assert!(AuthRevokeRequest::new().to_form().is_empty());
        assert_eq!(
            AuthRevokeRequest::test().to_form(),
            [("test", "true".to_owned())]
        );
        for (sent, read) in [("1", true), ("true", true), ("0", false), ("FALSE", false)] {
            let args: Args = [("test", sent)].into_iter().collect();
            let req = AuthRevokeRequest::from_args(&args).unwrap();
            assert_eq!(req.is_test(), read, "{sent}");
        }
        let args: Args = [("test", "maybe")].into_iter().collect();
        assert_eq!(
            AuthRevokeRequest::from_args(&args),
            Err(ArgError::NotBoolean { name: "test" })
        );
    }
}
