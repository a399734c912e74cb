//! A [`Store`] decorator timing every call, for `/metrics` (store latency and errors by
//! operation). Holds no SQL: it forwards each call unchanged.

use std::time::Instant;

use sessions_store::{
    AuditEntry, AuditFilter, AuditPage, BulkJob, DynStore, Fixture, JobClaim, NewSession,
    ResetFilter, Result, SessionFilter, SessionRow, SettingsChange, SettingsRow, Store,
    TokenCacheStats, TokenHash, TokenLookup, UnixTime, UserRecord, UserRow,
};

use crate::metrics::Metrics;

/// Forwards to the wrapped store, recording each call's duration and failure under its
/// operation name.
#[derive(Debug)]
pub(crate) struct TimedStore {
    inner: DynStore,
    metrics: Metrics,
}

impl TimedStore {
    pub(crate) fn new(inner: DynStore, metrics: Metrics) -> Self {
        TimedStore { inner, metrics }
    }

    async fn timed<T>(
        &self,
        op: &'static str,
        call: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let start = Instant::now();
        let result = call.await;
        self.metrics
            .store_call(op, start.elapsed(), result.is_err());
        result
    }
}

#[async_trait::async_trait]
impl Store for TimedStore {
    async fn authenticate(&self, token: &TokenHash, now: UnixTime) -> Result<TokenLookup> {
        self.timed("authenticate", self.inner.authenticate(token, now))
            .await
    }
    fn token_cache_stats(&self) -> Option<TokenCacheStats> {
        self.inner.token_cache_stats()
    }
    async fn user(&self, org_id: &str, user_id: &str) -> Result<Option<UserRow>> {
        self.timed("user", self.inner.user(org_id, user_id)).await
    }
    async fn users(&self, org_id: &str, user_ids: &[String]) -> Result<Vec<UserRow>> {
        self.timed("users", self.inner.users(org_id, user_ids))
            .await
    }
    async fn team_exists(&self, org_id: &str, team_id: &str) -> Result<bool> {
        self.timed("team_exists", self.inner.team_exists(org_id, team_id))
            .await
    }
    async fn revoke_token(&self, token: &TokenHash) -> Result<bool> {
        self.timed("revoke_token", self.inner.revoke_token(token))
            .await
    }
    async fn user_record(&self, org_id: &str, user_id: &str) -> Result<Option<UserRecord>> {
        self.timed("user_record", self.inner.user_record(org_id, user_id))
            .await
    }
    async fn user_by_email(&self, org_id: &str, email: &str) -> Result<Option<UserRecord>> {
        self.timed("user_by_email", self.inner.user_by_email(org_id, email))
            .await
    }
    async fn list_users(
        &self,
        org_id: &str,
        team_id: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<UserRecord>> {
        self.timed(
            "list_users",
            self.inner.list_users(org_id, team_id, after, limit),
        )
        .await
    }
    async fn list_sessions(
        &self,
        org_id: &str,
        filter: &SessionFilter,
        after: Option<u64>,
        limit: u32,
        now: UnixTime,
    ) -> Result<Vec<SessionRow>> {
        self.timed(
            "list_sessions",
            self.inner.list_sessions(org_id, filter, after, limit, now),
        )
        .await
    }
    async fn session(&self, org_id: &str, session_id: u64) -> Result<Option<SessionRow>> {
        self.timed("session", self.inner.session(org_id, session_id))
            .await
    }
    async fn invalidate_session(
        &self,
        org_id: &str,
        session_id: u64,
        now: UnixTime,
    ) -> Result<bool> {
        self.timed(
            "invalidate_session",
            self.inner.invalidate_session(org_id, session_id, now),
        )
        .await
    }
    async fn reset_user(
        &self,
        org_id: &str,
        user_id: &str,
        filter: ResetFilter,
        now: UnixTime,
    ) -> Result<u64> {
        self.timed(
            "reset_user",
            self.inner.reset_user(org_id, user_id, filter, now),
        )
        .await
    }
    async fn create_session(&self, new: NewSession) -> Result<SessionRow> {
        self.timed("create_session", self.inner.create_session(new))
            .await
    }
    async fn get_settings(&self, org_id: &str, user_ids: &[String]) -> Result<Vec<SettingsRow>> {
        self.timed("get_settings", self.inner.get_settings(org_id, user_ids))
            .await
    }
    async fn set_settings(
        &self,
        org_id: &str,
        user_ids: &[String],
        change: SettingsChange,
    ) -> Result<()> {
        self.timed(
            "set_settings",
            self.inner.set_settings(org_id, user_ids, change),
        )
        .await
    }
    async fn clear_settings(&self, org_id: &str, user_ids: &[String]) -> Result<()> {
        self.timed(
            "clear_settings",
            self.inner.clear_settings(org_id, user_ids),
        )
        .await
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
        self.timed(
            "enqueue_bulk_reset",
            self.inner
                .enqueue_bulk_reset(org_id, actor_user_id, user_ids, filter, now, run_after),
        )
        .await
    }
    async fn claim_bulk_job(
        &self,
        worker: &str,
        now: UnixTime,
        lease_secs: i64,
    ) -> Result<Option<JobClaim>> {
        self.timed(
            "claim_bulk_job",
            self.inner.claim_bulk_job(worker, now, lease_secs),
        )
        .await
    }
    async fn complete_bulk_job(&self, claim: &JobClaim, now: UnixTime) -> Result<BulkJob> {
        self.timed(
            "complete_bulk_job",
            self.inner.complete_bulk_job(claim, now),
        )
        .await
    }
    async fn bulk_job(&self, org_id: &str, job_id: i64) -> Result<Option<BulkJob>> {
        self.timed("bulk_job", self.inner.bulk_job(org_id, job_id))
            .await
    }
    async fn pending_bulk_jobs(&self) -> Result<u64> {
        self.timed("pending_bulk_jobs", self.inner.pending_bulk_jobs())
            .await
    }
    async fn load_fixture(&self, fixture: &Fixture, now: UnixTime) -> Result<()> {
        self.timed("load_fixture", self.inner.load_fixture(fixture, now))
            .await
    }
    async fn load_fixture_owned(&self, fixture: Fixture, now: UnixTime) -> Result<()> {
        self.timed("load_fixture", self.inner.load_fixture_owned(fixture, now))
            .await
    }
    async fn dump(&self, org_id: Option<&str>) -> Result<Fixture> {
        self.timed("dump", self.inner.dump(org_id)).await
    }
    async fn reset_all(&self) -> Result<()> {
        self.timed("reset_all", self.inner.reset_all()).await
    }
    async fn server_secret(&self) -> Result<Vec<u8>> {
        self.timed("server_secret", self.inner.server_secret())
            .await
    }
    async fn prune_audit(&self, before: UnixTime, limit: u32) -> Result<u64> {
        self.timed("prune_audit", self.inner.prune_audit(before, limit))
            .await
    }
    async fn append_audit(&self, entry: &AuditEntry) -> Result<i64> {
        self.timed("append_audit", self.inner.append_audit(entry))
            .await
    }
    async fn invalidate_session_audited(
        &self,
        org_id: &str,
        session_id: u64,
        now: UnixTime,
        entry: &AuditEntry,
    ) -> Result<bool> {
        self.timed(
            "invalidate_session",
            self.inner
                .invalidate_session_audited(org_id, session_id, now, entry),
        )
        .await
    }
    async fn reset_user_audited(
        &self,
        org_id: &str,
        user_id: &str,
        filter: ResetFilter,
        now: UnixTime,
        entry: &AuditEntry,
    ) -> Result<u64> {
        self.timed(
            "reset_user",
            self.inner
                .reset_user_audited(org_id, user_id, filter, now, entry),
        )
        .await
    }
    async fn set_settings_audited(
        &self,
        org_id: &str,
        user_ids: &[String],
        change: SettingsChange,
        entry: &AuditEntry,
    ) -> Result<()> {
        self.timed(
            "set_settings",
            self.inner
                .set_settings_audited(org_id, user_ids, change, entry),
        )
        .await
    }
    async fn clear_settings_audited(
        &self,
        org_id: &str,
        user_ids: &[String],
        entry: &AuditEntry,
    ) -> Result<()> {
        self.timed(
            "clear_settings",
            self.inner.clear_settings_audited(org_id, user_ids, entry),
        )
        .await
    }
    async fn enqueue_bulk_reset_audited(
        &self,
        org_id: &str,
        actor_user_id: &str,
        user_ids: &[String],
        filter: ResetFilter,
        now: UnixTime,
        run_after: UnixTime,
        entry: &AuditEntry,
    ) -> Result<i64> {
        // Delegated (not the trait's default) so the job and its entry stay one transaction.
        self.timed(
            "enqueue_bulk_reset",
            self.inner.enqueue_bulk_reset_audited(
                org_id,
                actor_user_id,
                user_ids,
                filter,
                now,
                run_after,
                entry,
            ),
        )
        .await
    }
    async fn list_audit(
        &self,
        org_id: &str,
        filter: &AuditFilter,
        page: AuditPage,
        limit: u32,
    ) -> Result<Vec<AuditEntry>> {
        self.timed(
            "list_audit",
            self.inner.list_audit(org_id, filter, page, limit),
        )
        .await
    }
}
