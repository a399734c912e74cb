//! [`Api`] for the real client: every call goes through `sessions_client::Client`, with its
//! validation, retries (429s waited out under [`engine_retry_policy`]) and error classification.

use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt};
use sessions_client::{Client, Error as ClientError, RetryPolicy, SessionPage};
use sessions_wire::{
    AuthTestResponse, InvalidateRequest, ListRequest, ListResponse, ResetBulkRequest, ResetRequest,
    SessionId, User,
};

use crate::api::{Api, Person};

/// The retry policy a client driving the engine should have: the default budgets for 5xx,
/// timeouts and transport errors, also for revocations (repeating an invalidate, a reset or a
/// resetBulk whose answer was lost does no harm: the repeat answers `session_not_found` or
/// resets nothing new), and every 429 waited out however long it asks.
pub fn engine_retry_policy() -> RetryPolicy {
    RetryPolicy {
        retry_unsafe: true,
        wait_out_rate_limits: true,
        ..RetryPolicy::default()
    }
}
impl From<User> for Person {
    fn from(u: User) -> Person {
        let teams = match u.enterprise_user {
            Some(e) if !e.teams.is_empty() => e.teams,
            _ => vec![u.team_id],
        };
        Person {
            id: u.id,
            email: u.profile.email,
            teams,
            deleted: u.deleted,
        }
    }
}

#[async_trait]
impl Api for Client {
    async fn auth_test(&self) -> Result<AuthTestResponse, ClientError> {
        Client::auth_test(self).await
    }

    async fn user_by_email(&self, email: &str) -> Result<Person, ClientError> {
        self.users_lookup_by_email(email).await.map(Person::from)
    }

    async fn user_by_id(&self, user: &str) -> Result<Person, ClientError> {
        self.users_info(user).await.map(Person::from)
    }

    fn list_pages(
        &self,
        req: ListRequest,
    ) -> BoxStream<'static, Result<ListResponse, ClientError>> {
        self.admin_users_session_list_pages(req).boxed()
    }

    fn list_session_pages(
        &self,
        req: ListRequest,
    ) -> BoxStream<'static, Result<SessionPage, ClientError>> {
        self.admin_users_session_scan(req).boxed()
    }

    async fn invalidate(&self, user_id: &str, session_id: SessionId) -> Result<(), ClientError> {
        self.admin_users_session_invalidate(InvalidateRequest::for_user(session_id, user_id))
            .await
            .map(drop)
    }

    async fn reset(&self, req: ResetRequest) -> Result<(), ClientError> {
        self.admin_users_session_reset(req).await.map(drop)
    }

    async fn reset_bulk(&self, req: ResetBulkRequest) -> Result<(), ClientError> {
        self.admin_users_session_reset_bulk(req).await.map(drop)
    }
}
