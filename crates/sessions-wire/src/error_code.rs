//! Slack error codes as a closed set of known codes plus a catch-all.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! error_codes {
    ($( $variant:ident => $code:literal, $desc:literal; )*) => {
        /// A Slack Web API error code (`"error"` in an `ok:false` response).
        ///
        /// Codes this crate does not know decode as [`ErrorCode::Other`], so a new code from
        /// Slack never breaks decoding.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( #[doc = $desc] $variant, )*
            /// A code this crate does not know.
            Other(String),
        }

        impl ErrorCode {
            /// Every known code, in declaration order.
            pub const KNOWN: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as Slack spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( ErrorCode::$variant => $code, )*
                    ErrorCode::Other(s) => s,
                }
            }

            /// A plain-language description (from Slack's method reference).
            pub fn description(&self) -> &'static str {
                match self {
                    $( ErrorCode::$variant => $desc, )*
                    ErrorCode::Other(_) => "An error this tool does not know; see Slack's documentation.",
                }
            }

            /// Parse a code; unknown codes become [`ErrorCode::Other`].
            pub fn parse(s: &str) -> ErrorCode {
                match s {
                    $( $code => ErrorCode::$variant, )*
                    other => ErrorCode::Other(other.to_owned()),
                }
            }
        }
    };
}

error_codes! {
    NotAuthed => "not_authed", "No authentication token provided.";
    InvalidAuth => "invalid_auth", "Some aspect of authentication cannot be validated: the token is unknown, or its session ended.";
    TokenRevoked => "token_revoked", "Authentication token is for a deleted user or workspace, or the app has been removed.";
    TokenExpired => "token_expired", "Authentication token has expired.";
    AccountInactive => "account_inactive", "Authentication token is for a deleted user or workspace.";
    NotAllowedTokenType => "not_allowed_token_type", "The token type used in this request is not allowed (admin methods need a user token).";
    MissingScope => "missing_scope", "The token used is not granted the specific scope permissions required to complete this request.";
    NoPermission => "no_permission", "The workspace token used does not have necessary permissions.";
    NotAnAdmin => "not_an_admin", "This method must be called by an Org Owner or Admin.";
    AdminUnauthorized => "admin_unauthorized", "The owner of this token isn't authorized for this action.";
    FeatureNotEnabled => "feature_not_enabled", "This method is only available to Enterprise Grid customers.";
    RestrictedAction => "restricted_action", "Restricted action.";
    InvalidArguments => "invalid_arguments", "Required arguments either were not provided or contain invalid values.";
    InvalidArgName => "invalid_arg_name", "An argument name is malformed.";
    InvalidArrayArg => "invalid_array_arg", "An array argument was passed in PHP style (name[]=value).";
    InvalidCharset => "invalid_charset", "The charset given in the Content-Type header is not supported.";
    InvalidFormData => "invalid_form_data", "The form data submitted was malformed.";
    InvalidJson => "invalid_json", "The JSON body could not be parsed.";
    JsonNotObject => "json_not_object", "The JSON body is not an object.";
    InvalidPostType => "invalid_post_type", "The Content-Type is not one Slack accepts.";
    RequestTimeout => "request_timeout", "The request body was not received in time.";
    InvalidCursor => "invalid_cursor", "The cursor passed was invalid (tampered with, expired, or from another organization).";
    MissingTeam => "missing_team", "A team_id must be provided with a user_id.";
    MissingUser => "missing_user", "A user_id must be provided with a team_id.";
    TeamNotFound => "team_not_found", "The requested workspace wasn't found.";
    UserNotFound => "user_not_found", "The requested user wasn't found.";
    UsersNotFound => "users_not_found", "No user has that email address.";
    UserNotVisible => "user_not_visible", "The requested user is not visible to the calling user.";
    TooManyUsers => "too_many_users", "Too many users.";
    LimitRequired => "limit_required", "For large teams a limit is required.";
    MissingArgument => "missing_argument", "A required argument is missing.";
    EnterpriseIsRestricted => "enterprise_is_restricted", "This method cannot be called with an enterprise-level token.";
    NoActiveSessions => "no_active_sessions", "No active sessions were found.";
    BotsNotAllowed => "bots_not_allowed", "Bot users are not allowed for this method.";
    SessionNotFound => "session_not_found", "The requested session wasn't found.";
    SessionInvalidationFailed => "session_invalidation_failed", "There was an error invalidating the session.";
    CannotInvalidatePrimaryOwner => "cannot_invalidate_primary_owner", "Only the primary owner of an organization can invalidate a primary owner's sessions.";
    CannotResetBot => "cannot_reset_bot", "Bot users' sessions cannot be reset.";
    CannotResetPrimaryOwner => "cannot_reset_primary_owner", "Only the primary owner can reset the primary owner's sessions.";
    SessionResetNotAllowed => "session_reset_not_allowed", "Only the primary owner can reset the primary owner's sessions.";
    UserSessionResetFailed => "user_session_reset_failed", "There was an error starting the session reset. Try again.";
    FailedForSomeUsers => "failed_for_some_users", "Some users' sessions could not be reset.";
    AtLeastOneSessionSettingRequired => "at_least_one_session_setting_required", "At least one session setting (duration or desktop_app_browser_quit) is required.";
    UnableToUpdateExistingSessions => "unable_to_update_existing_sessions", "The session settings could not be applied to users' existing sessions.";
    Ratelimited => "ratelimited", "The rate limit for this method has been reached; retry after the Retry-After delay.";
    InternalError => "internal_error", "The server had an internal error; try again.";
    FatalError => "fatal_error", "The server could not complete the operation.";
    ServiceUnavailable => "service_unavailable", "The service is temporarily unavailable.";
    UnknownMethod => "unknown_method", "This method is not available.";
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for ErrorCode {
    fn from(s: &str) -> Self {
        ErrorCode::parse(s)
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(ErrorCode::parse(&s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_round_trip_through_their_text() {
        for code in ErrorCode::KNOWN {
            assert_eq!(&ErrorCode::parse(code.as_str()), code);
        }
    }

    #[test]
    fn unknown_codes_are_kept_verbatim() {
        let code: ErrorCode = serde_json::from_str("\"brand_new_code\"").unwrap();
        assert_eq!(code, ErrorCode::Other("brand_new_code".into()));
        assert_eq!(serde_json::to_string(&code).unwrap(), "\"brand_new_code\"");
    }
}
