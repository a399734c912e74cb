//! `users.lookupByEmail`, `users.info` and `users.list`: finding the people whose sessions an
//! admin means to end. Same validation, retry (all three are reads, so 5xx and timeouts are
//! retried too) and error story as every other method; `users.list` pages are a lazy stream.

use futures::stream::Stream;
use sessions_wire::{
    User, UsersInfo, UsersInfoRequest, UsersList, UsersListRequest, UsersListResponse,
    UsersLookupByEmail, UsersLookupByEmailRequest,
};

use super::Client;
use crate::error::Error;

impl Client {
    /// `users.lookupByEmail`: the user with this email address (needs `users:read.email`).
    /// An address nobody has is `Error::Api` with `ErrorCode::UsersNotFound`.
    pub async fn users_lookup_by_email(&self, email: &str) -> Result<User, Error> {
        self.call::<UsersLookupByEmail>(&UsersLookupByEmailRequest::new(email))
            .await
            .map(|r| r.user)
    }

    /// `users.info`: one user by id (needs `users:read`). An unknown id is `Error::Api` with
    /// `ErrorCode::UserNotFound`.
    pub async fn users_info(&self, user: &str) -> Result<User, Error> {
        self.call::<UsersInfo>(&UsersInfoRequest::new(user))
            .await
            .map(|r| r.user)
    }

    /// Every page of `users.list`, lazily, following `next_cursor` (same rules as
    /// [`Client::admin_users_session_list_pages`]).
    pub fn users_list_pages(
        &self,
        req: UsersListRequest,
    ) -> impl Stream<Item = Result<UsersListResponse, Error>> + Send + 'static {
        self.pages::<UsersList>(req)
    }

    /// Every user on every page (see [`Client::users_list_pages`]).
    pub fn users_list_all(
        &self,
        req: UsersListRequest,
    ) -> impl Stream<Item = Result<User, Error>> + Send + 'static {
        crate::paging::items(self.users_list_pages(req), |p| p.members)
    }
}

typed! {
    "users.list" ": one page": users_list, users_list_with_http_info,
        UsersList, UsersListRequest => UsersListResponse;
}
