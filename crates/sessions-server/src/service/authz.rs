//! Authorization: the one place a token becomes a [`Principal`] allowed to make a call, for
//! every `/api` method and for `GET /audit/v1/logs`.
//!
//! The token is looked up once per call. A refusal keeps the principal when the token was
//! valid (`not_allowed_token_type`, `missing_scope`, `not_an_admin`), so the caller can record
//! the refusal in the audit log without a second lookup; refusals without one (`not_authed`,
//! `invalid_auth`, `token_revoked`, a store failure) carry none, and are not recorded.

use std::sync::Arc;

use sessions_store::{Principal, PrincipalKind, TokenHash, TokenLookup, UnixTime};
use sessions_wire::{ErrorCode, Method};

use super::ApiError;
use crate::state::AppState;

/// What a call needs of its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// The OAuth scope an API token must carry (`""`: none).
    pub scope: &'static str,
    /// Admin surfaces: user tokens of org admins only.
    pub admin_only: bool,
    /// What the caller was trying, for the `not_allowed_token_type` message
    /// (`"<kind> tokens cannot <doing>; use a user token"`).
    pub doing: &'static str,
}

impl Access {
    /// What calling Web API method `M` needs.
    pub fn method<M: Method>() -> Access {
        Access {
            scope: M::SCOPE.as_str(),
            admin_only: M::ADMIN_ONLY,
            doing: "call admin methods",
        }
    }

    /// What reading the audit log needs: a user token of an org admin with `auditlogs:read`.
    pub const AUDIT_LOG: Access = Access {
        scope: sessions_wire::audit::AUDIT_SCOPE,
        admin_only: true,
        doing: "read the audit log",
    };
}

/// A refused call: why, and who asked when the token was valid.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// The caller, when the token was valid but may not make this call.
    pub principal: Option<Arc<Principal>>,
    /// The answer.
    pub error: ApiError,
}

impl Refusal {
    fn anonymous(error: ApiError) -> Refusal {
        Refusal {
            principal: None,
            error,
        }
    }
}

/// Authenticates a token, given hashed (one store lookup), and checks it may make a call needing `access`
/// (everything before argument parsing).
pub async fn authorize(
    state: &AppState,
    access: Access,
    token: Option<&TokenHash>,
    now: UnixTime,
) -> Result<Arc<Principal>, Refusal> {
    let Some(token) = token else {
        return Err(Refusal::anonymous(ApiError::new(ErrorCode::NotAuthed)));
    };
    let lookup = state
        .store()
        .authenticate(token, now)
        .await
        .map_err(|e| Refusal::anonymous(e.into()))?;
    let principal = match lookup {
        TokenLookup::Active(p) => p,
        TokenLookup::Revoked => {
            return Err(Refusal::anonymous(ApiError::new(ErrorCode::TokenRevoked)))
        }
        TokenLookup::Inactive => {
            return Err(Refusal::anonymous(ApiError::new(
                ErrorCode::AccountInactive,
            )))
        }
        // `SessionEnded`, `Unknown`.
        _ => return Err(Refusal::anonymous(ApiError::new(ErrorCode::InvalidAuth))),
    };
    match check(&principal, access) {
        Ok(()) => Ok(principal),
        Err(error) => Err(Refusal {
            principal: Some(principal),
            error,
        }),
    }
}

/// Whether an authenticated `p` may make a call needing `access`: token type, then scope, then
/// role. A pure decision.
pub fn check(p: &Principal, access: Access) -> Result<(), ApiError> {
    if access.admin_only {
        let kind = match p.kind {
            PrincipalKind::UserToken => None,
            PrincipalKind::Session(_) => Some("session"),
            PrincipalKind::BotToken => Some("bot"),
        };
        if let Some(kind) = kind {
            return Err(ApiError::msg(
                ErrorCode::NotAllowedTokenType,
                format_args!("{kind} tokens cannot {}; use a user token", access.doing),
            ));
        }
    }
    // A session token is the signed-in user's own client: it carries no scopes and may call
    // the non-admin methods (`auth.test`, `users.*`) as that user, as Slack's client does.
    // API tokens need the call's scope, admin or not.
    let session = matches!(p.kind, PrincipalKind::Session(_));
    if !access.scope.is_empty() && !session && !p.scopes.iter().any(|s| s == access.scope) {
        return Err(ApiError {
            code: ErrorCode::MissingScope,
            messages: Vec::new(),
            needed: Some(access.scope.to_owned()),
            provided: Some(p.scopes.join(",")),
        });
    }
    if access.admin_only && !p.user.role.is_admin() {
        return Err(ApiError::new(ErrorCode::NotAnAdmin));
    }
    Ok(())
}
