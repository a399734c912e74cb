//! Shorthands for tests about sessions, settings and jobs rather than about audit: each write
//! the trait has only in audited form, called with a plain entry (actor `test`, at [`NOW`] or
//! the write's `now`), so a test need not build one. The entry is recorded like any other; the
//! audit conformance tests build their entries themselves.

use super::NOW;
use crate::*;

/// A plain entry for `action` by `method` (actor `test`, result `ok`).
pub fn plain_entry(org_id: &str, at: UnixTime, action: &str, method: &str) -> AuditEntry {
    AuditEntry {
        id: 0,
        org_id: org_id.to_owned(),
        at,
        actor_user_id: "test".to_owned(),
        action: action.to_owned(),
        method: method.to_owned(),
        target_user_ids: Vec::new(),
        session_id: None,
        details: serde_json::Value::Object(Default::default()),
        ip: None,
        user_agent: None,
        result: RESULT_OK.to_owned(),
    }
}

/// The audited writes with a plain entry (see the module doc). In scope, `store.reset_user(..)`
/// reads as the write it is.
#[async_trait::async_trait]
pub trait PlainWrites {
    /// [`Store::invalidate_session_audited`] with a plain entry.
    async fn invalidate_session(
        &self,
        org_id: &str,
        session_id: u64,
        now: UnixTime,
    ) -> Result<bool>;
    /// [`Store::reset_user_audited`] with a plain entry.
    async fn reset_user(
        &self,
        org_id: &str,
        user_id: &str,
        filter: ResetFilter,
        now: UnixTime,
    ) -> Result<u64>;
    /// [`Store::set_settings_audited`] with a plain entry.
    async fn set_settings(
        &self,
        org_id: &str,
        user_ids: &[String],
        change: SettingsChange,
    ) -> Result<()>;
    /// [`Store::clear_settings_audited`] with a plain entry.
    async fn clear_settings(&self, org_id: &str, user_ids: &[String]) -> Result<()>;
    /// [`Store::revoke_token_audited`] with a plain entry (of org `org_id`).
    async fn revoke_token(&self, org_id: &str, token: &TokenHash) -> Result<bool>;
    /// [`Store::enqueue_bulk_reset_audited`] with a plain entry.
    async fn enqueue_bulk_reset(
        &self,
        org_id: &str,
        actor_user_id: &str,
        user_ids: &[String],
        filter: ResetFilter,
        now: UnixTime,
        run_after: UnixTime,
    ) -> Result<i64>;
}

#[async_trait::async_trait]
impl<S: Store + ?Sized> PlainWrites for S {
    async fn invalidate_session(
        &self,
        org_id: &str,
        session_id: u64,
        now: UnixTime,
    ) -> Result<bool> {
        let mut e = plain_entry(
            org_id,
            now,
            ACTION_SESSION_INVALIDATED,
            "admin.users.session.invalidate",
        );
        e.session_id = Some(session_id);
        self.invalidate_session_audited(org_id, session_id, now, &e)
            .await
    }
    async fn reset_user(
        &self,
        org_id: &str,
        user_id: &str,
        filter: ResetFilter,
        now: UnixTime,
    ) -> Result<u64> {
        let mut e = plain_entry(
            org_id,
            now,
            ACTION_SESSION_RESET,
            "admin.users.session.reset",
        );
        e.target_user_ids = vec![user_id.to_owned()];
        self.reset_user_audited(org_id, user_id, filter, now, &e)
            .await
    }
    async fn set_settings(
        &self,
        org_id: &str,
        user_ids: &[String],
        change: SettingsChange,
    ) -> Result<()> {
        let mut e = plain_entry(
            org_id,
            NOW,
            ACTION_SETTINGS_CHANGED,
            "admin.users.session.setSettings",
        );
        e.target_user_ids = user_ids.to_vec();
        self.set_settings_audited(org_id, user_ids, change, &e)
            .await
    }
    async fn clear_settings(&self, org_id: &str, user_ids: &[String]) -> Result<()> {
        let mut e = plain_entry(
            org_id,
            NOW,
            ACTION_SETTINGS_CHANGED,
            "admin.users.session.clearSettings",
        );
        e.target_user_ids = user_ids.to_vec();
        self.clear_settings_audited(org_id, user_ids, &e).await
    }
    async fn revoke_token(&self, org_id: &str, token: &TokenHash) -> Result<bool> {
        let e = plain_entry(org_id, NOW, ACTION_TOKEN_REVOKED, "auth.revoke");
        self.revoke_token_audited(token, &e).await
    }
    async fn enqueue_bulk_reset(
        &self,
        org_id: &str,
        actor_user_id: &str,
        user_ids: &[String],
        filter: ResetFilter,
        now: UnixTime,
        run_after: UnixTime,
    ) -> Result<i64> {
        let mut e = plain_entry(
            org_id,
            now,
            ACTION_BULK_RESET,
            "admin.users.session.resetBulk",
        );
        e.actor_user_id = actor_user_id.to_owned();
        e.target_user_ids = user_ids.to_vec();
        self.enqueue_bulk_reset_audited(org_id, actor_user_id, user_ids, filter, now, run_after, &e)
            .await
    }
}
