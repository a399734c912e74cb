//! The seven `admin.users.session.*` methods, `auth.test`, `auth.revoke`, the three `users.*`
//! look-ups and the audit log read: one marker type each, tying the method's name, HTTP verb and path to its
//! request and response types through [`Method`], so a client needs one send loop for all.
//! The request and payload types themselves live in `sessions`, `users` and `audit`.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::args::{ArgError, Args};
use crate::audit::{AuditLogsRequest, AuditLogsResponse, AUDIT_LOGS_PATH};
use crate::envelope::ResponseMetadata;
use crate::sessions::{
    AuthRevokeRequest, AuthRevokeResponse, AuthTestRequest, AuthTestResponse, ClearSettingsRequest,
    Empty, GetSettingsRequest, GetSettingsResponse, InvalidateRequest, ListRequest, ListResponse,
    ResetBulkRequest, ResetRequest, SetSettingsRequest,
};
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
    /// No scope (`auth.test`, `auth.revoke`).
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
// Revoking twice is not harmless to retry: the second call answers `token_revoked`.
method!(AuthRevoke, "auth.revoke", Tier3, None, retry = false, admin = false, AuthRevokeRequest => AuthRevokeResponse);
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

/// [`Paged`] for methods whose request has `cursor` and `limit` and whose response has
/// `response_metadata`: the request's `limit()` and `cursor()` setters, the response's own
/// `next_cursor()`, written once for every paged method.
macro_rules! paged {
    ($($ty:ident: $req:ty => $resp:ty),*) => {$(
        impl $req {
            /// Sets the page size (`limit`).
            pub fn limit(mut self, limit: u32) -> Self {
                self.limit = Some(limit);
                self
            }
            /// Sets the cursor: the `next_cursor` of the page before, to continue after it.
            pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
                self.cursor = Some(cursor.into());
                self
            }
        }
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

paged!(
    SessionList: ListRequest => ListResponse,
    UsersList: UsersListRequest => UsersListResponse,
    AuditLogs: AuditLogsRequest => AuditLogsResponse
);

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
    AuthRevoke::NAME,
    UsersLookupByEmail::NAME,
    UsersInfo::NAME,
    UsersList::NAME,
];

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
