//! The seven `admin.users.session.*` methods, `auth.test`, the three `users.*` look-ups and the
//! audit log read: one marker type each, tying the method's name, HTTP verb and path to its
//! request and response types through [`Method`], so a client needs one send loop for all.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::args::{check_ids, ArgError, Args};
use crate::audit::{AuditLogsRequest, AuditLogsResponse, AUDIT_LOGS_PATH};
use crate::envelope::ResponseMetadata;
use crate::types::{ActiveSession, ResetScope, SessionId, SessionSetting};
use crate::users::{
    UserResponse, UsersInfoRequest, UsersListRequest, UsersListResponse, UsersLookupByEmailRequest,
};

/// Slack's rate-limit tiers for the methods here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RateTier {
    /// About 20 requests per minute.
    Tier2,
    /// About 50 requests per minute.
    Tier3,
    /// About 100 requests per minute.
    Tier4,
    /// `auth.test`'s own tier (far more generous).
    AuthTest,
}

impl RateTier {
    /// Sustained requests per minute Slack allows.
    pub fn per_minute(self) -> u32 {
        match self {
            RateTier::Tier2 => 20,
            RateTier::Tier3 => 50,
            RateTier::Tier4 => 100,
            RateTier::AuthTest => 600,
        }
    }
}

/// The scope a method needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scope {
    /// No scope (`auth.test`).
    None,
    /// `admin.users:read`.
    AdminUsersRead,
    /// `admin.users:write`.
    AdminUsersWrite,
    /// `users:read`.
    UsersRead,
    /// `users:read.email`.
    UsersReadEmail,
    /// `auditlogs:read`.
    AuditLogsRead,
}

impl Scope {
    /// The scope's name, or `""` for none.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::None => "",
            Scope::AdminUsersRead => "admin.users:read",
            Scope::AdminUsersWrite => "admin.users:write",
            Scope::UsersRead => "users:read",
            Scope::UsersReadEmail => "users:read.email",
            Scope::AuditLogsRead => "auditlogs:read",
        }
    }
}

/// A request's arguments: encoding for the wire, decoding from any client's shape, validation.
pub trait Request: Sized {
    /// Form fields in Slack's conventions: booleans `true`/`false`, lists comma-joined.
    fn to_form(&self) -> Vec<(&'static str, String)>;
    /// Decodes from wire arguments (tolerant of every SDK's encoding). Does not validate.
    fn from_args(args: &Args) -> Result<Self, ArgError>;
    /// Checks required arguments and bounds. A client calls this before sending anything.
    fn validate(&self) -> Result<(), ArgError>;
}

/// The HTTP verb a method is called with; it also says where the arguments go. Exhaustive on
/// purpose: a new verb must be handled by every client, not fall into a default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// `POST`, the arguments as an `application/x-www-form-urlencoded` body (the Web API).
    Post,
    /// `GET`, the arguments in the query string (the audit log).
    Get,
}

/// Where a method lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MethodPath {
    /// `<Web API root>/<name>`: `https://slack.com/api/admin.users.session.list`.
    WebApi(&'static str),
    /// Relative to the server root instead of the Web API root: `audit/v1/logs`, at
    /// `https://api.slack.com/audit/v1/logs` on Slack.
    Root(&'static str),
}

/// Describes one method: its name, how it is reached over HTTP, its request and response
/// types, and what retrying, throttling and authorization need to know about it.
pub trait Method {
    /// The method name: as in the URL for Web API methods (`admin.users.session.list`), a
    /// label for the others (`audit.logs`).
    const NAME: &'static str;
    /// The HTTP verb (and so where the arguments go).
    const VERB: Verb;
    /// Where the method is sent.
    const PATH: MethodPath;
    /// Slack's rate-limit tier for the method.
    const TIER: RateTier;
    /// The scope a user token needs.
    const SCOPE: Scope;
    /// Whether repeating the call after an unknown outcome is harmless. Reads are; revocations
    /// are too in effect, but we let callers opt in rather than assume.
    const RETRY_SAFE: bool;
    /// Whether only org owners and admins may call it.
    const ADMIN_ONLY: bool;
    /// The request type.
    type Request: Request + std::fmt::Debug + Clone + Send + Sync + 'static;
    /// The payload of an `ok:true` response.
    type Response: DeserializeOwned + Serialize + std::fmt::Debug + Send + 'static;
}

/// Pushes `name=value` when `value` is set.
pub(crate) fn opt(
    form: &mut Vec<(&'static str, String)>,
    name: &'static str,
    value: &Option<impl ToString>,
) {
    if let Some(v) = value {
        form.push((name, v.to_string()));
    }
}

/// The `limit` argument of a paged method. A number too large for a page size is out of
/// `1..=max` (checked in full by [`check_limit`]).
pub(crate) fn limit_arg(args: &Args, max: u32) -> Result<Option<u32>, ArgError> {
    match args.u64("limit")? {
        Some(v) => u32::try_from(v)
            .map(Some)
            .map_err(|_| limit_out_of_range(max, v)),
        None => Ok(None),
    }
}

/// `limit`, when given, is in `1..=max`.
pub(crate) fn check_limit(limit: Option<u32>, max: u32) -> Result<(), ArgError> {
    match limit {
        Some(l) if !(1..=max).contains(&l) => Err(limit_out_of_range(max, l.into())),
        _ => Ok(()),
    }
}

fn limit_out_of_range(max: u32, got: u64) -> ArgError {
    ArgError::OutOfRange {
        name: "limit",
        min: 1,
        max: max.into(),
        got,
    }
}

/// A required text argument: present and not only whitespace.
pub(crate) fn non_empty(name: &'static str, v: &str) -> Result<(), ArgError> {
    if v.trim().is_empty() {
        Err(ArgError::Missing { name })
    } else {
        Ok(())
    }
}

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

/// One marker type and its [`Method`] impl. A Web API method is `POST <base>/<name>`; any
/// other endpoint states its verb and path (`get = "audit/v1/logs"`).
macro_rules! method {
    ($ty:ident, $name:literal, $($rest:tt)*) => {
        method!(@ $ty, $name, Post, MethodPath::WebApi($name), $($rest)*);
    };
    ($ty:ident, $name:literal get = $path:expr, $($rest:tt)*) => {
        method!(@ $ty, $name, Get, MethodPath::Root($path), $($rest)*);
    };
    (@ $ty:ident, $name:literal, $verb:ident, $path:expr, $tier:ident, $scope:ident, retry = $retry:literal, admin = $admin:literal, $req:ty => $resp:ty) => {
        #[doc = concat!("`", $name, "`.")]
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $ty;
        impl Method for $ty {
            const NAME: &'static str = $name;
            const VERB: Verb = Verb::$verb;
            const PATH: MethodPath = $path;
            const TIER: RateTier = RateTier::$tier;
            const SCOPE: Scope = Scope::$scope;
            const RETRY_SAFE: bool = $retry;
            const ADMIN_ONLY: bool = $admin;
            type Request = $req;
            type Response = $resp;
        }
    };
}

method!(SessionList, "admin.users.session.list", Tier2, AdminUsersRead, retry = true, admin = true, ListRequest => ListResponse);
method!(SessionInvalidate, "admin.users.session.invalidate", Tier2, AdminUsersWrite, retry = false, admin = true, InvalidateRequest => Empty);
method!(SessionReset, "admin.users.session.reset", Tier2, AdminUsersWrite, retry = false, admin = true, ResetRequest => Empty);
method!(SessionResetBulk, "admin.users.session.resetBulk", Tier2, AdminUsersWrite, retry = false, admin = true, ResetBulkRequest => Empty);
method!(SessionGetSettings, "admin.users.session.getSettings", Tier4, AdminUsersRead, retry = true, admin = true, GetSettingsRequest => GetSettingsResponse);
method!(SessionSetSettings, "admin.users.session.setSettings", Tier4, AdminUsersWrite, retry = false, admin = true, SetSettingsRequest => Empty);
method!(SessionClearSettings, "admin.users.session.clearSettings", Tier4, AdminUsersWrite, retry = false, admin = true, ClearSettingsRequest => Empty);
method!(AuthTest, "auth.test", AuthTest, None, retry = true, admin = false, AuthTestRequest => AuthTestResponse);
method!(UsersLookupByEmail, "users.lookupByEmail", Tier3, UsersReadEmail, retry = true, admin = false, UsersLookupByEmailRequest => UserResponse);
method!(UsersInfo, "users.info", Tier4, UsersRead, retry = true, admin = false, UsersInfoRequest => UserResponse);
method!(UsersList, "users.list", Tier2, UsersRead, retry = true, admin = false, UsersListRequest => UsersListResponse);
// Slack names no tier for the audit log; Tier 3 is what a throttle would assume. (The client's
// proactive throttle covers Web API methods only.)
method!(AuditLogs, "audit.logs" get = AUDIT_LOGS_PATH, Tier3, AuditLogsRead, retry = true, admin = true, AuditLogsRequest => AuditLogsResponse);

/// A method whose answers come in pages linked by `response_metadata.next_cursor`.
pub trait Paged: Method {
    /// The request's `cursor` argument.
    fn cursor(req: &mut Self::Request) -> &mut Option<String>;
    /// The cursor of the page after this one, `None` on the last.
    fn next_cursor(page: &Self::Response) -> Option<&str>;
}

/// [`Paged`] for methods whose request has `cursor` and whose response has
/// `response_metadata`, with the response's own `next_cursor()`.
macro_rules! paged {
    ($($ty:ident: $resp:ty),*) => {$(
        impl $resp {
            /// The cursor of the next page, or `None` on the last one.
            pub fn next_cursor(&self) -> Option<&str> {
                self.response_metadata
                    .as_ref()
                    .and_then(ResponseMetadata::next_cursor)
            }
        }
        impl Paged for $ty {
            fn cursor(req: &mut Self::Request) -> &mut Option<String> {
                &mut req.cursor
            }
            fn next_cursor(page: &Self::Response) -> Option<&str> {
                page.next_cursor()
            }
        }
    )*};
}

paged!(SessionList: ListResponse, UsersList: UsersListResponse, AuditLogs: AuditLogsResponse);

/// Names of every Web API method (`POST <base>/<name>`) the server implements; the audit log
/// ([`AuditLogs`]) is served at its own path.
pub const METHOD_NAMES: &[&str] = &[
    SessionList::NAME,
    SessionInvalidate::NAME,
    SessionReset::NAME,
    SessionResetBulk::NAME,
    SessionGetSettings::NAME,
    SessionSetSettings::NAME,
    SessionClearSettings::NAME,
    AuthTest::NAME,
    UsersLookupByEmail::NAME,
    UsersInfo::NAME,
    UsersList::NAME,
];

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
    /// Sets the page size.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }
    /// Sets the cursor.
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }
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
        ResetScope::from_flags(
            self.mobile_only.unwrap_or(false),
            self.web_only.unwrap_or(false),
        )
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
            user_ids: user_ids.into_iter().map(Into::into).collect(),
            ..Default::default()
        }
    }
    /// Which sessions the flags select.
    pub fn scope(&self) -> Result<ResetScope, ArgError> {
        ResetScope::from_flags(
            self.mobile_only.unwrap_or(false),
            self.web_only.unwrap_or(false),
        )
    }
}

impl Request for ResetBulkRequest {
    fn to_form(&self) -> Vec<(&'static str, String)> {
        let mut f = vec![("user_ids", self.user_ids.join(","))];
        opt(&mut f, "mobile_only", &self.mobile_only);
        opt(&mut f, "web_only", &self.web_only);
        f
    }

    fn from_args(args: &Args) -> Result<Self, ArgError> {
        Ok(ResetBulkRequest {
            user_ids: args.list("user_ids")?.unwrap_or_default(),
            mobile_only: args.bool("mobile_only")?,
            web_only: args.bool("web_only")?,
        })
    }

    fn validate(&self) -> Result<(), ArgError> {
        if self.user_ids.is_empty() {
            return Err(ArgError::Missing { name: "user_ids" });
        }
        check_ids("user_ids", &self.user_ids, 1, USER_IDS_MAX)?;
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
            user_ids: user_ids.into_iter().map(Into::into).collect(),
        }
    }
}

fn user_ids_only(args: &Args) -> Result<Vec<String>, ArgError> {
    Ok(args.list("user_ids")?.unwrap_or_default())
}

fn validate_user_ids(ids: &[String]) -> Result<(), ArgError> {
    if ids.is_empty() {
        return Err(ArgError::Missing { name: "user_ids" });
    }
    check_ids("user_ids", ids, 1, USER_IDS_MAX)
}

impl Request for GetSettingsRequest {
    fn to_form(&self) -> Vec<(&'static str, String)> {
        vec![("user_ids", self.user_ids.join(","))]
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
            user_ids: user_ids.into_iter().map(Into::into).collect(),
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
        let mut f = vec![("user_ids", self.user_ids.join(","))];
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
            user_ids: user_ids.into_iter().map(Into::into).collect(),
        }
    }
}

impl Request for ClearSettingsRequest {
    fn to_form(&self) -> Vec<(&'static str, String)> {
        vec![("user_ids", self.user_ids.join(","))]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_api_methods_are_posted_to_their_name_and_the_audit_log_is_read_at_its_path() {
        fn route<M: Method>() -> (Verb, MethodPath) {
            (M::VERB, M::PATH)
        }
        assert_eq!(
            route::<SessionList>(),
            (Verb::Post, MethodPath::WebApi("admin.users.session.list"))
        );
        assert_eq!(
            route::<UsersInfo>(),
            (Verb::Post, MethodPath::WebApi("users.info"))
        );
        assert_eq!(
            route::<AuditLogs>(),
            (Verb::Get, MethodPath::Root("audit/v1/logs"))
        );
        assert_eq!(AuditLogs::SCOPE.as_str(), crate::audit::AUDIT_SCOPE);
        assert_eq!((AuditLogs::RETRY_SAFE, AuditLogs::ADMIN_ONLY), (true, true));
        assert!(!METHOD_NAMES.contains(&AuditLogs::NAME));
    }

    #[test]
    fn paged_methods_follow_non_empty_cursors() {
        let mut req = ListRequest::org();
        *SessionList::cursor(&mut req) = Some("c1".to_owned());
        assert_eq!(req.cursor.as_deref(), Some("c1"));
        let meta = |c: &str| {
            Some(ResponseMetadata {
                next_cursor: Some(c.to_owned()),
                ..Default::default()
            })
        };
        let page = AuditLogsResponse {
            response_metadata: meta("n2"),
            ..Default::default()
        };
        assert_eq!(AuditLogs::next_cursor(&page), Some("n2"));
        let last = UsersListResponse {
            response_metadata: meta(""),
            ..Default::default()
        };
        assert_eq!(UsersList::next_cursor(&last), None);
        assert_eq!(SessionList::next_cursor(&ListResponse::default()), None);
    }
}
