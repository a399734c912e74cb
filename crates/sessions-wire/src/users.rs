//! `users.lookupByEmail`, `users.info` and `users.list`: finding the people whose sessions an
//! admin means to end. Requests, responses and Slack's user object.
//!
//! Where Slack's sources are loose we choose, the same way in client and server:
//! * `users.list` `limit`: Slack's default is 0 ("everything"); it documents no maximum but says
//!   fewer items than asked may come back. Any non-negative integer is accepted; 0 or none means
//!   [`USERS_LIST_LIMIT_DEFAULT`] and anything above [`USERS_LIST_LIMIT_MAX`] is served as
//!   that many, with a cursor for the rest.
//! * `include_locale` is accepted by the server and ignored (no locale is stored).
//! * The user object always carries the fields [`User`] names; unknown fields from Slack are
//!   ignored when decoding.

use serde::{Deserialize, Serialize};

use crate::args::{ArgError, Args};
use crate::envelope::ResponseMetadata;
use crate::methods::{non_empty, opt};

/// Page size of `users.list` when `limit` is absent or 0.
pub const USERS_LIST_LIMIT_DEFAULT: u32 = 1000;
/// Most members one `users.list` page carries; larger limits are served as this many.
pub const USERS_LIST_LIMIT_MAX: u32 = 1000;
/// Longest email address accepted (RFC 5321's path limit).
pub const EMAIL_MAX_LEN: usize = 254;

/// Slack's user object (the fields admins act on; others are ignored when decoding).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Encoded user id (`W012A3CDE`).
    pub id: String,
    /// The user's home workspace (on Grid: the first of their workspaces).
    #[serde(default)]
    pub team_id: String,
    /// Username.
    #[serde(default)]
    pub name: String,
    /// Full name (`""` when not set).
    #[serde(default)]
    pub real_name: String,
    /// Deactivated user.
    #[serde(default)]
    pub deleted: bool,
    /// Workspace or org admin.
    #[serde(default)]
    pub is_admin: bool,
    /// Workspace or org owner.
    #[serde(default)]
    pub is_owner: bool,
    /// The primary owner.
    #[serde(default)]
    pub is_primary_owner: bool,
    /// Multi-channel guest.
    #[serde(default)]
    pub is_restricted: bool,
    /// Single-channel guest.
    #[serde(default)]
    pub is_ultra_restricted: bool,
    /// A bot user.
    #[serde(default)]
    pub is_bot: bool,
    /// An app user.
    #[serde(default)]
    pub is_app_user: bool,
    /// Unix time of the last profile change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<i64>,
    /// Profile: email, names.
    #[serde(default)]
    pub profile: UserProfile,
    /// Enterprise Grid membership; absent outside Grid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enterprise_user: Option<EnterpriseUser>,
}

impl User {
    /// The email address, when the token may see it (`users:read.email`).
    pub fn email(&self) -> Option<&str> {
        self.profile.email.as_deref()
    }
}

/// `user.profile`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserProfile {
    /// Email address; only shown to tokens with `users:read.email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Full name (`""` when not set).
    #[serde(default)]
    pub real_name: String,
    /// Full name, normalized.
    #[serde(default)]
    pub real_name_normalized: String,
    /// Display name (`""` when not set).
    #[serde(default)]
    pub display_name: String,
    /// Display name, normalized.
    #[serde(default)]
    pub display_name_normalized: String,
    /// The workspace the profile belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

/// `user.enterprise_user`: the user's place in the Grid org.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnterpriseUser {
    /// The user's org-level id (same as `user.id` on Grid).
    #[serde(default)]
    pub id: String,
    /// Org id (`E0…`).
    pub enterprise_id: String,
    /// Org name.
    #[serde(default)]
    pub enterprise_name: String,
    /// Org admin.
    #[serde(default)]
    pub is_admin: bool,
    /// Org owner.
    #[serde(default)]
    pub is_owner: bool,
    /// Org primary owner.
    #[serde(default)]
    pub is_primary_owner: bool,
    /// Workspaces the user belongs to.
    #[serde(default)]
    pub teams: Vec<String>,
}

// ---------------------------------------------------------------- users.lookupByEmail

/// `users.lookupByEmail` arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsersLookupByEmailRequest {
    /// Address to look up; matched case-insensitively, surrounding spaces ignored.
    pub email: String,
}

impl UsersLookupByEmailRequest {
    /// Looks up `email`.
    pub fn new(email: impl Into<String>) -> Self {
        UsersLookupByEmailRequest {
            email: email.into(),
        }
    }
}

impl crate::Request for UsersLookupByEmailRequest {
    fn to_form(&self) -> Vec<(&'static str, String)> {
        vec![("email", self.email.clone())]
    }
    fn from_args(args: &Args) -> Result<Self, ArgError> {
        Ok(UsersLookupByEmailRequest {
            email: args.optional("email").unwrap_or_default(),
        })
    }
    fn validate(&self) -> Result<(), ArgError> {
        non_empty("email", &self.email)?;
        let len = self.email.trim().len();
        if len > EMAIL_MAX_LEN {
            return Err(ArgError::TooLong {
                name: "email",
                max: EMAIL_MAX_LEN,
                got: len,
            });
        }
        Ok(())
    }
}

/// `users.lookupByEmail` and `users.info` payload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserResponse {
    /// The user found.
    pub user: User,
}

// ---------------------------------------------------------------- users.info

/// `users.info` arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsersInfoRequest {
    /// User id.
    pub user: String,
}

impl UsersInfoRequest {
    /// Information on `user`.
    pub fn new(user: impl Into<String>) -> Self {
        UsersInfoRequest { user: user.into() }
    }
}

impl crate::Request for UsersInfoRequest {
    fn to_form(&self) -> Vec<(&'static str, String)> {
        vec![("user", self.user.clone())]
    }
    fn from_args(args: &Args) -> Result<Self, ArgError> {
        Ok(UsersInfoRequest {
            user: args.optional("user").unwrap_or_default(),
        })
    }
    fn validate(&self) -> Result<(), ArgError> {
        non_empty("user", &self.user)
    }
}

// ---------------------------------------------------------------- users.list

/// `users.list` arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsersListRequest {
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// Page size; 0 or none means [`USERS_LIST_LIMIT_DEFAULT`], more than
    /// [`USERS_LIST_LIMIT_MAX`] is served as that many.
    pub limit: Option<u32>,
    /// Only members of this workspace (Slack requires it for org tokens; our server lists the
    /// whole org without it).
    pub team_id: Option<String>,
}

impl UsersListRequest {
    /// Every user of the org (or the token's workspace).
    pub fn new() -> Self {
        UsersListRequest::default()
    }
    /// Only members of `team_id`.
    pub fn team(mut self, team_id: impl Into<String>) -> Self {
        self.team_id = Some(team_id.into());
        self
    }
    // `limit` and `cursor`: see `paged!` in `methods`.
    /// The page size the server serves for this request.
    pub fn page_size(&self) -> u32 {
        match self.limit {
            None | Some(0) => USERS_LIST_LIMIT_DEFAULT,
            Some(n) => n.min(USERS_LIST_LIMIT_MAX),
        }
    }
}

impl crate::Request for UsersListRequest {
    fn to_form(&self) -> Vec<(&'static str, String)> {
        let mut f = Vec::with_capacity(3);
        opt(&mut f, "team_id", &self.team_id);
        opt(&mut f, "limit", &self.limit);
        opt(&mut f, "cursor", &self.cursor);
        f
    }
    fn from_args(args: &Args) -> Result<Self, ArgError> {
        Ok(UsersListRequest {
            cursor: args.optional("cursor"),
            // Anything above u32::MAX asks for "as many as you serve" just as well.
            limit: args
                .u64("limit")?
                .map(|v| u32::try_from(v).unwrap_or(u32::MAX)),
            team_id: args.optional("team_id"),
        })
    }
    fn validate(&self) -> Result<(), ArgError> {
        if let Some(team) = self.team_id.as_deref().filter(|t| !t.is_empty()) {
            if !crate::args::is_plausible_id(team) {
                return Err(ArgError::NotAnId { name: "team_id" });
            }
        }
        Ok(())
    }
}

/// `users.list` payload.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsersListResponse {
    /// Users on this page.
    #[serde(default)]
    pub members: Vec<User>,
    /// Unix time the list was produced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_ts: Option<i64>,
    /// Carries `next_cursor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_metadata: Option<ResponseMetadata>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Request;

    #[test]
    fn lookup_needs_an_email() {
        assert_eq!(
            UsersLookupByEmailRequest::new("  ").validate(),
            Err(ArgError::Missing { name: "email" })
        );
        let long = format!("{}@x.example", "a".repeat(300));
        assert!(matches!(
            UsersLookupByEmailRequest::new(long).validate(),
            Err(ArgError::TooLong { name: "email", .. })
        ));
        UsersLookupByEmailRequest::new("Dana@Acme.example")
            .validate()
            .unwrap();
    }

    #[test]
    fn info_needs_a_user() {
        assert_eq!(
            UsersInfoRequest::default().validate(),
            Err(ArgError::Missing { name: "user" })
        );
        UsersInfoRequest::new("W0DEV").validate().unwrap();
    }

    #[test]
    fn list_limits_are_served_within_bounds() {
        assert_eq!(UsersListRequest::new().page_size(), 1000);
        assert_eq!(UsersListRequest::new().limit(0).page_size(), 1000);
        assert_eq!(UsersListRequest::new().limit(2).page_size(), 2);
        assert_eq!(UsersListRequest::new().limit(5000).page_size(), 1000);
        let args: Args = [("limit", "99999999999999")].into_iter().collect();
        assert_eq!(
            UsersListRequest::from_args(&args).unwrap().limit,
            Some(u32::MAX)
        );
        let args: Args = [("limit", "ten")].into_iter().collect();
        assert_eq!(
            UsersListRequest::from_args(&args),
            Err(ArgError::NotInteger { name: "limit" })
        );
        assert!(UsersListRequest::new().team("T 1").validate().is_err());
    }
}
