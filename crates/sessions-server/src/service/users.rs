//! `users.lookupByEmail`, `users.info` and `users.list`: the org's directory, as Slack's user
//! object. Any token type may call them (they are not admin methods); API tokens need the
//! method's scope (`users:read.email`, `users:read`).
//!
//! Choices where Slack's reference is silent or its sources disagree:
//! - `profile.email` is shown only to callers that may read emails: API tokens with
//!   `users:read.email` (Slack's rule) and session tokens (Slack's own client shows
//!   colleagues' addresses to signed-in members). Others get the profile without `email`.
//! - A deactivated user is `users_not_found` to `users.lookupByEmail` (Slack's documented
//!   behaviour) but is answered with `deleted: true` by `users.info` and listed by `users.list`.
//! - `users.list` pages in user id order. Without `team_id` it lists the whole org (Slack
//!   requires `team_id` for org-wide tokens; every token here is one, so requiring it would
//!   break the SDKs' plain `users_list()`); with a `team_id` that is not one of the org's
//!   workspaces it answers `team_not_found`, like `admin.users.session.list`.
//! - A user's `team_id` is their first workspace (fixture order), or the org id for a user in
//!   no workspace. `enterprise_user` carries the org and every workspace of the user. Roles map
//!   as Slack's: an owner is also an admin, the primary owner also an owner. Guests, app users
//!   and `updated` are not modelled (`is_restricted`, `is_ultra_restricted`, `is_app_user`
//!   false).
//! - `cache_ts` is the request time.

use sessions_store::{PrincipalKind, Role, UserRecord};
use sessions_wire::{
    EnterpriseUser, ErrorCode, ResponseMetadata, Scope, User, UserProfile, UserResponse,
    UsersInfoRequest, UsersListRequest, UsersListResponse, UsersLookupByEmailRequest,
};

use super::{ApiError, Ctx};
use crate::cursor;

/// Whether the caller may see `profile.email`.
fn sees_emails(ctx: &Ctx) -> bool {
    matches!(ctx.principal.kind, PrincipalKind::Session(_))
        || ctx
            .principal
            .scopes
            .iter()
            .any(|s| s == Scope::UsersReadEmail.as_str())
}

/// The one place a stored user becomes Slack's user object.
pub fn to_wire(rec: UserRecord, org_name: &str, with_email: bool) -> User {
    let u = rec.user;
    let is_primary_owner = u.role == Role::PrimaryOwner;
    let is_owner = is_primary_owner || u.role == Role::Owner;
    let is_admin = u.role.is_admin();
    let team_id = u.teams.first().cloned().unwrap_or_else(|| u.org_id.clone());
    let real_name = rec.real_name.unwrap_or_default();
    User {
        team_id: team_id.clone(),
        name: u.name.clone(),
        real_name: real_name.clone(),
        deleted: rec.deleted,
        is_admin,
        is_owner,
        is_primary_owner,
        is_restricted: false,
        is_ultra_restricted: false,
        is_bot: u.is_bot,
        is_app_user: false,
        updated: None,
        profile: UserProfile {
            email: rec.email.filter(|_| with_email),
            real_name_normalized: real_name.clone(),
            real_name,
            display_name: u.name.clone(),
            display_name_normalized: u.name,
            team: Some(team_id),
        },
        enterprise_user: Some(EnterpriseUser {
            id: u.user_id.clone(),
            enterprise_id: u.org_id,
            enterprise_name: org_name.to_owned(),
            is_admin,
            is_owner,
            is_primary_owner,
            teams: u.teams,
        }),
        id: u.user_id,
    }
}

fn answer(ctx: &Ctx, rec: UserRecord) -> UserResponse {
    UserResponse {
        user: to_wire(rec, &ctx.principal.org.name, sees_emails(ctx)),
    }
}

/// `users.lookupByEmail`.
pub async fn users_lookup_by_email(
    ctx: &Ctx,
    req: UsersLookupByEmailRequest,
) -> Result<UserResponse, ApiError> {
    match ctx
        .state
        .store()
        .user_by_email(ctx.org(), &req.email)
        .await?
    {
        Some(rec) if !rec.deleted => Ok(answer(ctx, rec)),
        _ => Err(ApiError::new(ErrorCode::UsersNotFound)),
    }
}

/// `users.info`.
pub async fn users_info(ctx: &Ctx, req: UsersInfoRequest) -> Result<UserResponse, ApiError> {
    let id = req.user.trim();
    // Anything that is not an id cannot name a user: the same answer as an unknown id.
    if !sessions_wire::args::is_plausible_id(id) {
        return Err(ApiError::new(ErrorCode::UserNotFound));
    }
    match ctx.state.store().user_record(ctx.org(), id).await? {
        Some(rec) => Ok(answer(ctx, rec)),
        None => Err(ApiError::new(ErrorCode::UserNotFound)),
    }
}

/// `users.list`.
pub async fn users_list(ctx: &Ctx, req: UsersListRequest) -> Result<UsersListResponse, ApiError> {
    let store = ctx.state.store();
    let team = req.team_id.as_deref().filter(|t| !t.is_empty());
    // The cursor is checked first, as for `admin.users.session.list`.
    let after = match req.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(
            cursor::decode_users(ctx.state.cursor_key(), c, ctx.org(), team)
                .map_err(|e| ApiError::msg(ErrorCode::InvalidCursor, e))?,
        ),
        None => None,
    };
    if let Some(t) = team {
        if !store.team_exists(ctx.org(), t).await? {
            return Err(ApiError::msg(
                ErrorCode::TeamNotFound,
                format_args!("team_not_found: {t}"),
            ));
        }
    }
    let limit = req.page_size();
    // One extra row tells whether another page exists without a second query.
    let mut rows = store
        .list_users(ctx.org(), team, after.as_deref(), limit + 1)
        .await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = match (more, rows.last()) {
        (true, Some(last)) => {
            cursor::encode_users(ctx.state.cursor_key(), ctx.org(), team, &last.user.user_id)
        }
        _ => String::new(),
    };
    let with_email = sees_emails(ctx);
    let org_name = ctx.principal.org.name.clone();
    Ok(UsersListResponse {
        members: rows
            .into_iter()
            .map(|r| to_wire(r, &org_name, with_email))
            .collect(),
        cache_ts: Some(ctx.now),
        response_metadata: Some(ResponseMetadata {
            next_cursor: Some(next_cursor),
            ..Default::default()
        }),
    })
}
