//! Durable storage for the slack-sessions server: one [`Store`] trait with SQLite and
//! PostgreSQL backends, checked by one conformance suite.
//!
//! Every write that returns `Ok` is committed to disk. Every call that depends on time takes
//! `now` (unix seconds) from the caller, so the server's clock can be controlled and several
//! server nodes agree. Tokens are stored only as [`TokenHash`]es.
//!
//! Backends live in their own crates (`sessions-store-sqlite`, `sessions-store-postgres`), each
//! running the conformance suite of `sessions_store::testing` (feature `testing`); the server opens one by
//! URL (`sessions_server::store::open`). This crate holds what they share: the trait, the
//! model, fixtures, audit entries and the business rules above SQL ([`bulk`]).
//!
//! ```
//! use sessions_store::{Fixture, TokenHash};
//!
//! let fixture = Fixture::from_json(r#"{"orgs":[{"id":"E1","name":"Acme",
//!     "teams":[{"id":"T1","name":"Eng"}],
//!     "users":[{"id":"W1","name":"ada","role":"admin","teams":["T1"]}],
//!     "tokens":[{"token":"xoxp-ada","user":"W1","type":"user","scopes":["admin.users:read"]}]}]}"#).unwrap();
//! assert_eq!(fixture.orgs[0].users[0].id, "W1");
//! // Tokens are stored and looked up only by hash.
//! assert_ne!(TokenHash::of("xoxp-ada"), TokenHash::of("xoxp-bob"));
//! ```

mod audit;
pub mod bulk;
mod fixture;
mod model;
mod observe;
#[cfg(feature = "testing")]
pub mod testing;

use std::sync::Arc;

pub use audit::*;
pub use fixture::*;
pub use model::*;
pub use observe::{ObserverSlot, StoreObserver};

/// What a token-lookup cache has done since the store opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenCacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that went to the database (nothing remembered, or the database had changed).
    pub misses: u64,
}

/// Errors from a store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A fixture was refused; nothing was written.
    #[error("fixture refused: {0}")]
    Fixture(#[from] FixtureError),
    /// The database URL is not one we support.
    #[error("unsupported database url {0:?} (expected sqlite://PATH or postgres://...)")]
    BadUrl(String),
    /// A lease-guarded write by a worker whose lease was taken over.
    #[error("job lease lost")]
    LeaseLost,
    /// A referenced row does not exist (e.g. a sign-in for an unknown user or team).
    #[error("not found: {0}")]
    NotFound(String),
    /// A unique constraint would be violated.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The backend failed (I/O, connection, corruption).
    #[error("storage backend: {context}")]
    Backend {
        /// What the store was doing and what went wrong, in words (the driver's own message
        /// included, since some drivers' `Display` alone says little).
        context: String,
        /// The driver's error, when the failure came from one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl StoreError {
    /// A backend failure with no underlying error (e.g. a corrupt value, a stopped thread).
    pub fn backend(context: impl Into<String>) -> Self {
        StoreError::Backend {
            context: context.into(),
            source: None,
        }
    }

    /// A backend failure caused by `source` (a driver or I/O error), kept as the source.
    pub fn backend_from(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StoreError::Backend {
            context: context.into(),
            source: Some(Box::new(source)),
        }
    }
}

/// Result alias.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which sessions `list_sessions` returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionFilter {
    /// One user's sessions on one team, or the whole org when `None`.
    pub user_team: Option<(String, String)>,
}

/// Storage for orgs, users, tokens, sessions, settings and bulk jobs.
///
/// Implementations must make each method atomic: it either applies fully or not at all.
#[async_trait::async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    // ----- identity -------------------------------------------------------------------
    /// Resolves an API token or a session token.
    async fn authenticate(&self, token: &TokenHash, now: UnixTime) -> Result<TokenLookup>;
    /// One user of an org.
    async fn user(&self, org_id: &str, user_id: &str) -> Result<Option<UserRow>>;
    /// Users of an org among `user_ids` (missing ones are simply absent from the result).
    async fn users(&self, org_id: &str, user_ids: &[String]) -> Result<Vec<UserRow>>;
    /// Whether a team exists in an org.
    async fn team_exists(&self, org_id: &str, team_id: &str) -> Result<bool>;

    // ----- directory (users.*) ------------------------------------------------------------
    /// One user of an org with its profile (email, real name, deactivation).
    async fn user_record(&self, org_id: &str, user_id: &str) -> Result<Option<UserRecord>>;
    /// The user of an org whose email matches `email` by [`email_key`] (deactivated users
    /// included; the caller decides what to show).
    async fn user_by_email(&self, org_id: &str, email: &str) -> Result<Option<UserRecord>>;
    /// Users of an org, or only the members of `team_id`, with `user_id > after`, in ascending
    /// `user_id` order, at most `limit`. Must cost O(log n + limit).
    async fn list_users(
        &self,
        org_id: &str,
        team_id: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<UserRecord>>;

    // ----- sessions -------------------------------------------------------------------
    /// Active sessions (not revoked, not expired at `now`, not of bots) of an org, in ascending
    /// `session_id` order, with `session_id > after`, at most `limit`. Must cost O(log n + limit).
    async fn list_sessions(
        &self,
        org_id: &str,
        filter: &SessionFilter,
        after: Option<u64>,
        limit: u32,
        now: UnixTime,
    ) -> Result<Vec<SessionRow>>;
    /// One session of an org, whatever its state.
    async fn session(&self, org_id: &str, session_id: u64) -> Result<Option<SessionRow>>;
    /// Creates a session (sign-in). Its `expires_at` follows the user's duration setting.
    /// Ids are allocated by the store, unique across the server and across nodes.
    async fn create_session(&self, new: NewSession) -> Result<SessionRow>;

    /// Those of `user_ids` (deduplicated, in the order given) that have at least one active
    /// session at `now`.
    async fn users_with_sessions(
        &self,
        org_id: &str,
        user_ids: &[String],
        now: UnixTime,
    ) -> Result<Vec<String>>;
    /// Marks up to `limit` sessions whose expiry is at or before `now` as ended for good
    /// (`revoked_at` set to their expiry) and returns how many: expiry is final, so a clock
    /// that later moves back cannot make them active again. A sweeper calls it until it
    /// returns less than `limit`. Costs O(log n + limit).
    async fn expire_sessions(&self, now: UnixTime, limit: u32) -> Result<u64>;

    // ----- settings -------------------------------------------------------------------
    /// Settings of those `user_ids` that have any (users without settings are absent).
    async fn get_settings(&self, org_id: &str, user_ids: &[String]) -> Result<Vec<SettingsRow>>;
    // ----- resetBulk jobs ---------------------------------------------------------------
    /// Records a job and appends `audit` (with the new job's id added as `details.job_id`) in
    /// one transaction; once this returns both survive restarts. Job ids are numbered per org
    /// (1, 2, ... within each org, never reused), so they reveal nothing about other orgs.
    #[allow(clippy::too_many_arguments)]
    async fn enqueue_bulk_reset_audited(
        &self,
        org_id: &str,
        actor_user_id: &str,
        user_ids: &[String],
        filter: ResetFilter,
        now: UnixTime,
        run_after: UnixTime,
        audit: &AuditEntry,
    ) -> Result<i64>;
    /// Claims the oldest runnable pending job whose lease is free or lapsed, for `lease_secs`.
    /// At most one worker holds a job's lease at a time, across nodes.
    async fn claim_bulk_job(
        &self,
        worker: &str,
        now: UnixTime,
        lease_secs: i64,
    ) -> Result<Option<JobClaim>>;
    /// Resets every user of a claimed job and marks it done, atomically, recording per-user
    /// results. Fails with [`StoreError::LeaseLost`] if another worker took the job over, in
    /// which case nothing is applied.
    ///
    /// In the same transaction it appends one [`ACTION_SESSION_RESET`] audit entry per user
    /// (the job's actor, `at = now`, result `ok` or the user's error code, `details.job_id`
    /// and `details.scope`), carrying the address and user agent of the job's
    /// [`ACTION_BULK_RESET`] entry when one exists.
    async fn complete_bulk_job(&self, claim: &JobClaim, now: UnixTime) -> Result<BulkJob>;
    /// One job.
    async fn bulk_job(&self, org_id: &str, job_id: i64) -> Result<Option<BulkJob>>;
    /// Jobs not yet done (all orgs).
    async fn pending_bulk_jobs(&self) -> Result<u64>;

    // ----- administration -----------------------------------------------------------------
    /// Loads a fixture, all or nothing. Orgs in the file replace stored orgs with the same id;
    /// other orgs are untouched. Sessions loaded older than their user's duration are expired.
    async fn load_fixture(&self, fixture: &Fixture, now: UnixTime) -> Result<()>;
    /// [`Store::load_fixture`] for a caller done with the fixture: a backend that has to own
    /// it (SQLite hands it to its writer thread) takes it instead of copying a possibly huge
    /// fixture.
    async fn load_fixture_owned(&self, fixture: Fixture, now: UnixTime) -> Result<()> {
        self.load_fixture(&fixture, now).await
    }
    /// The stored state in fixture form, tokens left out; one org or all.
    async fn dump(&self, org_id: Option<&str>) -> Result<Fixture>;
    /// Deletes everything but the server secret.
    async fn reset_all(&self) -> Result<()>;
    /// A random server secret shared by all nodes (for cursor signing), created on first use.
    async fn server_secret(&self) -> Result<Vec<u8>>;
    /// Counters of the store's token-lookup cache, if it has one (SQLite does; PostgreSQL,
    /// whose nodes cannot see each other's writes cheaply, does not).
    fn token_cache_stats(&self) -> Option<TokenCacheStats> {
        None
    }
    /// Reports every later call (its operation name, duration and outcome) to `observer`,
    /// replacing any observer set before: how the server times the store for `/metrics`.
    fn set_observer(&self, observer: std::sync::Arc<dyn StoreObserver>);

    // ----- audited writes ---------------------------------------------------------------
    // Writes exist only in this form: each applies its write and appends `entry` in ONE
    // transaction, so the entry exists if and only if the write was applied.

    /// Revokes one session if active and returns whether it was; `entry` is appended only
    /// when it was.
    async fn invalidate_session_audited(
        &self,
        org_id: &str,
        session_id: u64,
        now: UnixTime,
        entry: &AuditEntry,
    ) -> Result<bool>;
    /// Marks an API token revoked if it is not yet and returns whether it was; `entry` is
    /// appended only when it was. (`revoked_at` records when, from the backend's own clock:
    /// only the fact of revocation is ever read.)
    async fn revoke_token_audited(&self, token: &TokenHash, entry: &AuditEntry) -> Result<bool>;
    /// Revokes a user's active sessions matching `filter`, appends `entry`, and returns how
    /// many sessions were revoked.
    async fn reset_user_audited(
        &self,
        org_id: &str,
        user_id: &str,
        filter: ResetFilter,
        now: UnixTime,
        entry: &AuditEntry,
    ) -> Result<u64>;
    /// Applies a change to every listed user and appends `entry`. A new duration applies to
    /// their existing sessions only by shortening them: each session's expiry becomes
    /// `created_at + duration` when that is earlier than the expiry it has (or it has none),
    /// so an expired session stays expired.
    async fn set_settings_audited(
        &self,
        org_id: &str,
        user_ids: &[String],
        change: SettingsChange,
        entry: &AuditEntry,
    ) -> Result<()>;
    /// Removes the listed users' settings and appends `entry`. Their existing sessions keep
    /// the expiry they have (clearing would only lengthen them); sessions created afterwards
    /// have none.
    async fn clear_settings_audited(
        &self,
        org_id: &str,
        user_ids: &[String],
        entry: &AuditEntry,
    ) -> Result<()>;

    // ----- audit log --------------------------------------------------------------------
    /// Appends one entry durably (`Ok` means committed) and returns its id; `entry.id` is
    /// ignored. Ids are numbered per org (1, 2, ... within each org, never reused, unique
    /// across nodes) and increase in commit order within the org, so they reveal nothing
    /// about other orgs.
    async fn append_audit(&self, entry: &AuditEntry) -> Result<i64>;
    /// Entries of one org matching `filter`, at most `limit`, newest first (or oldest first
    /// for [`AuditPage::After`]). Must cost O(log n + scanned rows).
    ///
    /// A `Newest`/`Before` walk sees every entry committed before it started. Within an org
    /// entries commit in id order on both backends (SQLite has one writer; PostgreSQL's
    /// per-org counter row stays locked until the append commits), so an `After` walk
    /// following a growing log misses nothing.
    async fn list_audit(
        &self,
        org_id: &str,
        filter: &AuditFilter,
        page: AuditPage,
        limit: u32,
    ) -> Result<Vec<AuditEntry>>;
    /// Deletes up to `limit` audit entries recorded before `before` (by `at`, all orgs),
    /// oldest first, and returns how many went: a retention policy calls it until it returns
    /// less than `limit`, so no one transaction grows with the backlog. Costs O(log n + limit).
    async fn prune_audit(&self, before: UnixTime, limit: u32) -> Result<u64>;
}

/// A shared store handle.
pub type DynStore = Arc<dyn Store>;
