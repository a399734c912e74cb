//! PostgreSQL backend: several server nodes share one database.
//!
//! ```no_run
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use sessions_store_postgres::PgStore;
//! use sessions_store::Store;
//!
//! // `pool_size` is ours and is stripped before the URL reaches tokio-postgres.
//! let store = PgStore::connect("postgres://postgres@127.0.0.1:5432/test?pool_size=32")
//!     .await
//!     .unwrap();
//! assert_eq!(store.pool_size(), 32);
//! let secret = store.server_secret().await.unwrap();
//! assert_eq!(secret.len(), 32);
//! # });
//! ```
//!
//! Design notes:
//! - **Pool sizing.** A deadpool-postgres pool of `max_size` connections, by default
//!   `4 × available cores` (16 when the core count is unknown): each request holds a connection
//!   only for its few statements, so a handful per core keeps the CPU busy while some wait on
//!   the network or on row locks. Override with `?pool_size=N` (1..=10000) in the URL, e.g. to
//!   stay under the server's `max_connections` when many nodes share one database
//!   (nodes × pool_size must fit). Connections are opened lazily; `connect` opens one to run
//!   migrations, so an unreachable server fails fast (10 s connect timeout).
//! - **Migrations** run at connect inside one transaction that first takes
//!   `pg_advisory_xact_lock(MIGRATION_LOCK)`, so nodes starting together apply each migration
//!   exactly once; `schema_migrations` records applied versions.
//! - **Privileges.** Applying migrations needs CREATE on the schema (e.g. the database's
//!   owner). On an up-to-date database `connect` only reads `schema_migrations`, so the server
//!   can then run as a role with SELECT, INSERT, UPDATE, DELETE on the tables and USAGE, SELECT,
//!   UPDATE on the sequences.
//! - **Concurrency.** Every write runs at READ COMMITTED and locks rows in one global order:
//!   `users` (by user_id) before `settings` before `sessions` (by session_id); bulk jobs lock
//!   their job row first. Multi-row revocations lock with `ORDER BY session_id FOR UPDATE`, so
//!   overlapping writers queue instead of deadlocking, and the re-check PostgreSQL does after a
//!   lock wait means no revocation is counted twice. As a safety net any transaction failing with
//!   40001 (serialization) or 40P01 (deadlock) is retried transparently, with jittered backoff,
//!   up to 10 times. `Ok` means committed.
//! - **Fixture loads** replace orgs by deleting and re-inserting their rows. They take a global
//!   advisory lock (one load at a time) and each replaced org's advisory lock exclusively;
//!   writers take their org's lock shared first, so they see an org either wholly before or
//!   wholly after a load, never rows vanishing under them. Loads insert each table with one
//!   `unnest` statement.
//! - **Session ids** come from an identity sequence shared by all nodes; fixture loads move it
//!   past the largest loaded id (never backwards), so ids are never reused. A rare race between a
//!   fixture load and a sign-in on another node is absorbed by retrying the sign-in.
//! - **Bulk jobs** are claimed with `FOR UPDATE SKIP LOCKED` and completed only if the lease token
//!   still matches, in the same transaction as the resets: exactly once across nodes.
//! - Expiry (`expires_at > now`) is checked in queries rather than indexed: expired rows are
//!   rare, and the partial index over unrevoked, non-bot sessions keeps list at O(log n + page).
//! - Hot queries (authenticate, list, session, invalidate) are prepared once per pooled
//!   connection; they name their columns, so later additive migrations do not invalidate them.
//! - Only plaintext connections (`NoTls`): the database is expected on a private network.
//!
//! Semantics match the SQLite backend (one conformance suite runs on both); where the trait is
//! silent: `revoke_token_audited` stamps the database clock (the trait passes no `now`); a
//! resetBulk job records `user_not_found` / `cannot_reset_bot` per user and resets the rest;
//! completing a finished job is `LeaseLost`; `dump` leaves out tokens and revoked sessions.

use std::fmt;

use deadpool_postgres::Pool;

use sessions_store::*;

use engine::{build_pool, default_pool_size, redact, split_pool_size};
use queries::{list_sql, to_i64};

#[macro_use]
mod engine;
mod audit;
mod directory;
mod fixture;
mod queries;
mod schema;
mod store;

/// The PostgreSQL store. Cheap to share behind an `Arc`; every call takes a pooled connection.
pub struct PgStore {
    pub(crate) pool: Pool,
    pool_size: usize,
    pub(crate) secret: tokio::sync::OnceCell<Vec<u8>>,
    pub(crate) retried: std::sync::atomic::AtomicU64,
    /// Told about every call (see [`Store::set_observer`]).
    pub(crate) observer: ObserverSlot,
}

impl fmt::Debug for PgStore {
    // The URL may carry a password: show only the shape of the pool.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.pool.status();
        f.debug_struct("PgStore")
            .field("pool_size", &self.pool_size)
            .field("connections", &status.size)
            .field("idle", &status.available)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects (lazily pooled), and runs migrations before returning. The URL is a libpq-style
    /// `postgres://user[:password]@host[:port]/db[?options]`, plus our optional `pool_size=N`.
    pub async fn connect(url: &str) -> Result<Self> {
        let (pg_url, size) = split_pool_size(url)?;
        let store = PgStore::with_pool(&pg_url, url, size.unwrap_or_else(default_pool_size))?;
        store.migrate().await.map_err(|e| match e {
            StoreError::Backend { context, source } => StoreError::Backend {
                context: format!("opening PostgreSQL at {}: {context}", redact(url)),
                source,
            },
            other => other,
        })?;
        Ok(store)
    }

    /// How many transactions were retried (after a deadlock, a serialization failure or a
    /// session id race) since connect: a health signal, expected to stay near zero.
    pub fn retried_transactions(&self) -> u64 {
        self.retried.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Maximum number of pooled connections.
    pub fn pool_size(&self) -> usize {
        self.pool_size
    }

    /// The plan PostgreSQL picks for a page of [`Store::list_sessions`] (`EXPLAIN`, text), for
    /// operators checking that a page is an index range scan on their data.
    pub async fn explain_list_sessions(
        &self,
        org_id: &str,
        filter: &SessionFilter,
        after: u64,
        limit: u32,
        now: UnixTime,
    ) -> Result<String> {
        let sql = format!("EXPLAIN {}", list_sql(filter));
        let after = to_i64(after);
        let limit = i64::from(limit);
        with_retry!(self, "explaining a page query", |c| {
            let rows = match &filter.user_team {
                None => c.query(&sql, &[&org_id, &after, &now, &limit]).await?,
                Some((user_id, team_id)) => {
                    c.query(&sql, &[&org_id, &after, &now, &limit, user_id, team_id])
                        .await?
                }
            };
            let lines = rows
                .iter()
                .map(|r| r.try_get::<_, String>(0))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(lines.join("\n"))
        })
    }

    /// A store over a fresh pool of at most `pool_size` connections, not yet migrated.
    pub(crate) fn with_pool(pg_url: &str, url: &str, pool_size: usize) -> Result<Self> {
        Ok(PgStore {
            pool: build_pool(pg_url, &redact(url), pool_size)?,
            pool_size,
            secret: tokio::sync::OnceCell::new(),
            retried: std::sync::atomic::AtomicU64::new(0),
            observer: ObserverSlot::default(),
        })
    }

    /// A pooled connection.
    pub(crate) async fn conn(&self) -> Result<deadpool_postgres::Client> {
        self.pool.get().await.map_err(|e| {
            StoreError::backend_from(format!("getting a PostgreSQL connection: {e}"), e)
        })
    }
}

/// Opens the PostgreSQL store behind a [`DynStore`]; see [`PgStore::connect`].
pub async fn open(url: &str) -> Result<DynStore> {
    Ok(std::sync::Arc::new(PgStore::connect(url).await?))
}
