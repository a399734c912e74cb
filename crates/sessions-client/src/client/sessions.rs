//! The typed `admin.users.session.*` methods, `auth.test` and `auth.revoke`, each with its
//! `_with_http_info` twin; `list` also as pages, items, and the compact org scan.

use futures::stream::{Stream, StreamExt};
use sessions_wire::{
    ActiveSession, AuthRevoke, AuthRevokeRequest, AuthRevokeResponse, AuthTest, AuthTestRequest,
    AuthTestResponse, ClearSettingsRequest, Empty, GetSettingsRequest, GetSettingsResponse,
    InvalidateRequest, ListRequest, ListResponse, Paged, ResetBulkRequest, ResetRequest,
    SessionClearSettings, SessionGetSettings, SessionInvalidate, SessionList, SessionReset,
    SessionResetBulk, SessionSetSettings, SetSettingsRequest,
};

use super::pipeline::BodyRead;
use super::{Client, WithHttpInfo};
use crate::error::Error;
use crate::paging::Paging;
use crate::scan::SessionPage;

impl Client {
    /// Every page of `admin.users.session.list`, lazily, following `next_cursor`.
    ///
    /// Starts from `req.cursor` if set. Ends after a page with no (or an empty) cursor, after
    /// a page whose cursor was already followed (a server looping would otherwise loop us),
    /// or right after yielding an error. 429s mid-way are waited out by the retry policy.
    pub fn admin_users_session_list_pages(
        &self,
        req: ListRequest,
    ) -> impl Stream<Item = Result<ListResponse, Error>> + Send + 'static {
        self.pages::<SessionList>(req)
    }

    /// Every session on every page (see [`Client::admin_users_session_list_pages`]).
    pub fn admin_users_session_list_all(
        &self,
        req: ListRequest,
    ) -> impl Stream<Item = Result<ActiveSession, Error>> + Send + 'static {
        crate::paging::items(self.admin_users_session_list_pages(req), |p| {
            p.active_sessions
        })
    }

    /// `admin.users.session.list`: one page, decoded compactly for scanning (see
    /// [`SessionPage`]). Same validation, retries and errors as
    /// [`Client::admin_users_session_list`].
    pub async fn admin_users_session_list_page(
        &self,
        req: ListRequest,
    ) -> Result<SessionPage, Error> {
        let mut page = self
            .call_decoded::<SessionList, _>(&req, BodyRead::Pooled, |status, headers, bytes| {
                match SessionPage::decode(bytes) {
                    Ok(page) => Ok(page),
                    // Not the usual success: the ordinary decoder says what it is.
                    Err(bytes) => Self::finish::<SessionList>(status, headers, bytes)
                        .map(|r| SessionPage::from(r.data)),
                }
            })
            .await?;
        // The next page's body is read into this one's buffer once it is dropped.
        page.return_to(self.inner.bodies.clone());
        Ok(page)
    }

    /// Every page of `admin.users.session.list` as compact [`SessionPage`]s: the org scan.
    ///
    /// Lazy, one call per page polled, ending as [`Client::admin_users_session_list_pages`]
    /// does; a caller that paces its calls paces this by polling. Use `limit=1000` to scan an
    /// org in the fewest calls.
    pub fn admin_users_session_scan(
        &self,
        req: ListRequest,
    ) -> impl Stream<Item = Result<SessionPage, Error>> + Send + 'static {
        self.scan(req, false)
    }

    /// [`Client::admin_users_session_scan`], with the next page requested (and decoded) on a
    /// task of its own as soon as the previous one has arrived, while the caller works on
    /// that one: the scan then waits for the network only when it outruns the server. One
    /// request ahead at most, aborted when the stream is dropped; so one call may be made
    /// before the caller polls for it (not for callers that pace calls by polling).
    pub fn admin_users_session_scan_ahead(
        &self,
        req: ListRequest,
    ) -> impl Stream<Item = Result<SessionPage, Error>> + Send + 'static {
        self.scan(req, true)
    }

    /// The org scan's paging, polled page by page or one page ahead.
    fn scan(
        &self,
        req: ListRequest,
        ahead: bool,
    ) -> impl Stream<Item = Result<SessionPage, Error>> + Send + 'static {
        let client = self.clone();
        let paging = Paging::new(
            req,
            SessionList::cursor,
            SessionPage::next_cursor,
            move |r| scan_page(client.clone(), r),
        );
        if ahead {
            paging.ahead().right_stream()
        } else {
            paging.pages().left_stream()
        }
    }

    /// `auth.test`: who the token belongs to.
    pub async fn auth_test(&self) -> Result<AuthTestResponse, Error> {
        self.call::<AuthTest>(&AuthTestRequest {}).await
    }

    /// `auth.test` with HTTP details (`x-oauth-scopes` lists the token's scopes).
    pub async fn auth_test_with_http_info(&self) -> Result<WithHttpInfo<AuthTestResponse>, Error> {
        self.call_with_http_info::<AuthTest>(&AuthTestRequest {})
            .await
    }
}

/// One page of the org scan, owning its client (what the paging streams call).
async fn scan_page(client: Client, req: ListRequest) -> Result<SessionPage, Error> {
    client.admin_users_session_list_page(req).await
}

typed! {
    "admin.users.session.list" ": one page": admin_users_session_list,
        admin_users_session_list_with_http_info, SessionList, ListRequest => ListResponse;
    "admin.users.session.invalidate": admin_users_session_invalidate, admin_users_session_invalidate_with_http_info,
        SessionInvalidate, InvalidateRequest => Empty;
    "admin.users.session.reset": admin_users_session_reset, admin_users_session_reset_with_http_info,
        SessionReset, ResetRequest => Empty;
    "admin.users.session.resetBulk": admin_users_session_reset_bulk, admin_users_session_reset_bulk_with_http_info,
        SessionResetBulk, ResetBulkRequest => Empty;
    "admin.users.session.getSettings": admin_users_session_get_settings, admin_users_session_get_settings_with_http_info,
        SessionGetSettings, GetSettingsRequest => GetSettingsResponse;
    "admin.users.session.setSettings": admin_users_session_set_settings, admin_users_session_set_settings_with_http_info,
        SessionSetSettings, SetSettingsRequest => Empty;
    "admin.users.session.clearSettings": admin_users_session_clear_settings, admin_users_session_clear_settings_with_http_info,
        SessionClearSettings, ClearSettingsRequest => Empty;
    "auth.revoke" ": revokes this client's own token (never retried)": auth_revoke,
        auth_revoke_with_http_info, AuthRevoke, AuthRevokeRequest => AuthRevokeResponse;
}
