//! The calls the engine makes, behind a trait: [`sessions_client::Client`] implements it (with
//! the client's validation, retries and error classification), tests implement it in memory,
//! and the console and bridge may wrap it (to meter or to audit).

use async_trait::async_trait;
use futures::stream::BoxStream;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sessions_client::{Error as ClientError, SessionPage};
use sessions_wire::{
    AuthTest, AuthTestResponse, ErrorCode, ListRequest, ListResponse, Method, RateTier,
    ResetBulkRequest, ResetRequest, SessionId, SessionInvalidate, SessionList, SessionReset,
    SessionResetBulk,
};

/// A user as the engine needs one: id, email, and the workspaces whose sessions to list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// User id.
    pub id: String,
    /// `profile.email`, when the token may read it.
    pub email: Option<String>,
    /// Workspaces the user belongs to (`enterprise_user.teams`, else `team_id`).
    pub teams: Vec<String>,
    /// Deactivated.
    pub deleted: bool,
}

/// One Web API call the engine makes, for pacing, counting and estimates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Call {
    /// `auth.test`: who runs the job (their own sessions are left alone).
    AuthTest,
    /// `users.lookupByEmail`.
    LookupByEmail,
    /// `users.info`.
    UsersInfo,
    /// `admin.users.session.list`.
    List,
    /// `admin.users.session.invalidate`.
    Invalidate,
    /// `admin.users.session.reset`: a whole-user chunk of one user.
    Reset,
    /// `admin.users.session.resetBulk`: a whole-user chunk of two or more users.
    ResetBulk,
}

impl Call {
    /// The method name.
    pub fn name(self) -> &'static str {
        match self {
            Call::AuthTest => AuthTest::NAME,
            Call::LookupByEmail => crate::api::users::LOOKUP_BY_EMAIL.0,
            Call::UsersInfo => crate::api::users::INFO.0,
            Call::List => SessionList::NAME,
            Call::Invalidate => SessionInvalidate::NAME,
            Call::Reset => SessionReset::NAME,
            Call::ResetBulk => SessionResetBulk::NAME,
        }
    }

    /// Slack's tier for the method.
    pub fn tier(self) -> RateTier {
        match self {
            Call::AuthTest => AuthTest::TIER,
            Call::LookupByEmail => crate::api::users::LOOKUP_BY_EMAIL.1,
            Call::UsersInfo => crate::api::users::INFO.1,
            Call::List => SessionList::TIER,
            Call::Invalidate => SessionInvalidate::TIER,
            Call::Reset => SessionReset::TIER,
            Call::ResetBulk => SessionResetBulk::TIER,
        }
    }
}

mod users {
    use sessions_wire::{Method, RateTier, UsersInfo, UsersLookupByEmail};
    pub(super) const LOOKUP_BY_EMAIL: (&str, RateTier) =
        (UsersLookupByEmail::NAME, UsersLookupByEmail::TIER);
    pub(super) const INFO: (&str, RateTier) = (UsersInfo::NAME, UsersInfo::TIER);
}

/// What the engine calls. Every method is one Web API call (or, for [`Api::list_pages`], one
/// call per page polled); pacing is the engine's, retries the implementation's.
///
/// Implementations should wait out HTTP 429 themselves (the client does, with
/// `RetryPolicy::wait_out_rate_limits`): a 429 returned here stops the run like any transport
/// failure (resumably).
#[async_trait]
pub trait Api: Send + Sync {
    /// `auth.test`.
    async fn auth_test(&self) -> Result<AuthTestResponse, ClientError>;
    /// `users.lookupByEmail`.
    async fn user_by_email(&self, email: &str) -> Result<Person, ClientError>;
    /// `users.info`.
    async fn user_by_id(&self, user: &str) -> Result<Person, ClientError>;
    /// `admin.users.session.list`, page after page from `req.cursor`, lazily: each poll of the
    /// stream is one call, so the engine paces by polling.
    fn list_pages(&self, req: ListRequest)
        -> BoxStream<'static, Result<ListResponse, ClientError>>;
    /// The same pages as compact [`SessionPage`]s, which the org scan reads (a million
    /// sessions decoded without a dozen allocations each). Same laziness: each poll is one
    /// call. The default converts [`Api::list_pages`]; the client decodes compactly.
    fn list_session_pages(
        &self,
        req: ListRequest,
    ) -> BoxStream<'static, Result<SessionPage, ClientError>> {
        self.list_pages(req)
            .map(|page| page.map(SessionPage::from))
            .boxed()
    }
    /// `admin.users.session.invalidate` with `user_id` + `session_id`.
    async fn invalidate(&self, user_id: &str, session_id: SessionId) -> Result<(), ClientError>;
    /// `admin.users.session.reset`: synchronous, so `Ok` means the user's sessions are ended.
    async fn reset(&self, req: ResetRequest) -> Result<(), ClientError>;
    /// `admin.users.session.resetBulk`: `Ok` means Slack accepted the job (it runs
    /// asynchronously).
    async fn reset_bulk(&self, req: ResetBulkRequest) -> Result<(), ClientError>;
}

/// Codes after which nothing else this token does can succeed: the engine stops at once
/// (resumably) instead of failing action after action. `unknown_method` is one: a server
/// without the method (an older emulator, a proxy) answers it for every entry alike.
pub fn is_fatal(code: &ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::NotAuthed
            | ErrorCode::InvalidAuth
            | ErrorCode::TokenRevoked
            | ErrorCode::TokenExpired
            | ErrorCode::AccountInactive
            | ErrorCode::NotAllowedTokenType
            | ErrorCode::MissingScope
            | ErrorCode::NoPermission
            | ErrorCode::NotAnAdmin
            | ErrorCode::AdminUnauthorized
            | ErrorCode::FeatureNotEnabled
            | ErrorCode::UnknownMethod
    )
}

/// Users Slack named as the cause of a refusal: `[ERROR] <code>: <user_id>` lines, kept only
/// when the user is one we sent (so an unrelated message never drops anyone).
pub fn offenders(messages: &[String], sent: &[String]) -> Vec<(String, ErrorCode)> {
    let mut out = Vec::new();
    for line in messages {
        let rest = line.trim().strip_prefix("[ERROR]").unwrap_or(line).trim();
        let Some((code, user)) = rest.split_once(':') else {
            continue;
        };
        let (code, user) = (code.trim(), user.trim());
        let code_ok = !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        if code_ok && sent.iter().any(|u| u == user) && !out.iter().any(|(u, _)| u == user) {
            out.push((user.to_owned(), ErrorCode::parse(code)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offenders_are_read_from_error_lines_for_sent_users_only() {
        let sent = vec!["W1".to_owned(), "W2".to_owned(), "W3".to_owned()];
        let messages = vec![
            "[ERROR] user_not_found: W2".to_owned(),
            "[ERROR] cannot_reset_bot: W3".to_owned(),
            "[ERROR] user_not_found: W9".to_owned(),
            "[ERROR] something went wrong".to_owned(),
            "[ERROR] user_not_found: W2".to_owned(),
        ];
        assert_eq!(
            offenders(&messages, &sent),
            vec![
                ("W2".to_owned(), ErrorCode::UserNotFound),
                ("W3".to_owned(), ErrorCode::CannotResetBot)
            ]
        );
        assert!(offenders(&["[ERROR] missing required field: user_ids".into()], &sent).is_empty());
    }
}
