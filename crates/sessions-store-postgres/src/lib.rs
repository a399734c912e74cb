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
//! silent: `revoke_token` stamps the database clock (the trait passes no `now`); a resetBulk job
//! records `user_not_found` / `cannot_reset_bot` per user and resets the rest; completing a
//! finished job is `LeaseLost`; `dump` leaves out tokens and revoked sessions.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use sessions_store::*;

mod audit;
mod directory;

/// Advisory lock key serializing migrations across nodes ("SESSMIGR").
const MIGRATION_LOCK: i64 = 0x5345_5353_4d49_4752;
/// Advisory lock key serializing fixture loads across nodes ("SESSFIXT").
const FIXTURE_LOCK: i64 = 0x5345_5353_4649_5854;
/// Namespace of the per-org advisory locks: writers take their org's lock shared, fixture loads
/// (which delete and re-insert an org) take it exclusive.
const ORG_LOCK_NS: i32 = 0x5345_5353;
/// Attempts for a transaction failing with a serialization failure or deadlock.
const MAX_ATTEMPTS: u32 = 10;

/// Ordered schema migrations; never edit one that shipped, append a new one.
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);
CREATE TABLE orgs (
    org_id TEXT PRIMARY KEY,
    name   TEXT NOT NULL
);
CREATE TABLE teams (
    org_id  TEXT NOT NULL REFERENCES orgs ON DELETE CASCADE,
    team_id TEXT NOT NULL,
    name    TEXT NOT NULL,
    pos     INT NOT NULL,
    PRIMARY KEY (org_id, team_id)
);
CREATE TABLE users (
    org_id  TEXT NOT NULL REFERENCES orgs ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    name    TEXT NOT NULL,
    role    TEXT NOT NULL,
    is_bot  BOOLEAN NOT NULL,
    pos     INT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE TABLE user_teams (
    org_id  TEXT NOT NULL,
    user_id TEXT NOT NULL,
    team_id TEXT NOT NULL,
    pos     INT NOT NULL,
    PRIMARY KEY (org_id, user_id, team_id),
    FOREIGN KEY (org_id, user_id) REFERENCES users ON DELETE CASCADE,
    FOREIGN KEY (org_id, team_id) REFERENCES teams ON DELETE CASCADE
);
CREATE TABLE tokens (
    token_hash BYTEA PRIMARY KEY,
    org_id     TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('user', 'bot')),
    scopes     TEXT[] NOT NULL,
    revoked_at BIGINT,
    pos        INT NOT NULL,
    FOREIGN KEY (org_id, user_id) REFERENCES users ON DELETE CASCADE
);
CREATE INDEX tokens_by_org ON tokens (org_id, pos);
CREATE TABLE sessions (
    session_id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    org_id     TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    team_id    TEXT NOT NULL,
    client     TEXT NOT NULL CHECK (client IN ('desktop', 'web', 'ios', 'android')),
    is_bot     BOOLEAN NOT NULL,
    token_hash BYTEA UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT,
    created    TEXT NOT NULL,
    recent     TEXT,
    FOREIGN KEY (org_id, user_id) REFERENCES users ON DELETE CASCADE,
    FOREIGN KEY (org_id, team_id) REFERENCES teams ON DELETE CASCADE
);
-- list of an org: O(log n + page) over the sessions that can be active.
CREATE INDEX sessions_listable ON sessions (org_id, session_id)
    WHERE revoked_at IS NULL AND NOT is_bot;
-- list of one user on one team, resets of a user.
CREATE INDEX sessions_by_user ON sessions (org_id, user_id, team_id, session_id);
CREATE TABLE settings (
    org_id                   TEXT NOT NULL,
    user_id                  TEXT NOT NULL,
    duration                 BIGINT,
    desktop_app_browser_quit BOOLEAN,
    PRIMARY KEY (org_id, user_id),
    FOREIGN KEY (org_id, user_id) REFERENCES users ON DELETE CASCADE
);
CREATE TABLE bulk_jobs (
    job_id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id        TEXT NOT NULL,
    actor_user_id TEXT NOT NULL,
    user_ids      TEXT[] NOT NULL,
    filter        TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('pending', 'done')),
    created_at    BIGINT NOT NULL,
    run_after     BIGINT NOT NULL,
    finished_at   BIGINT,
    results       TEXT,
    lease_owner   TEXT,
    lease_token   TEXT,
    lease_until   BIGINT,
    attempts      INT NOT NULL DEFAULT 0
);
CREATE INDEX bulk_jobs_pending ON bulk_jobs (job_id) WHERE state = 'pending';
CREATE INDEX bulk_jobs_by_org ON bulk_jobs (org_id, job_id);
"#,
    ),
    (2, audit::MIGRATION_V2),
    (3, audit::MIGRATION_V3),
    (4, audit::MIGRATION_V4),
    // The user directory (`users.*`), self-contained in `postgres/directory.rs`.
    (5, directory::MIGRATION),
];

/// Columns of a session row, in the order [`session_from_row`] reads them by name.
const SESSION_COLS: &str = "s.session_id, s.org_id, s.user_id, s.team_id, s.client, \
     s.created_at, s.expires_at, s.revoked_at, s.created, s.recent";

/// Columns of a user row (`users u`), read by [`user_from_row`].
const USER_COLS: &str = "u.org_id AS u_org, u.user_id AS u_id, u.name AS u_name, \
     u.role AS u_role, u.is_bot AS u_bot, \
     ARRAY(SELECT ut.team_id FROM user_teams ut \
           WHERE ut.org_id = u.org_id AND ut.user_id = u.user_id ORDER BY ut.pos) AS u_teams";

/// Columns of a job row.
const JOB_COLS: &str = "job_id, org_id, actor_user_id, user_ids, filter, state, created_at, \
     run_after, finished_at, results, attempts, lease_token";

/// Org, user and first team of a principal (`users u JOIN orgs o`), read by
/// [`principal_from_row`].
const PRINCIPAL_COLS: &str = "o.name AS o_name, ft.team_id AS ft_id, ft.name AS ft_name";
const PRINCIPAL_JOINS: &str = "JOIN users u ON u.org_id = x.org_id AND u.user_id = x.user_id \
     JOIN orgs o ON o.org_id = u.org_id \
     LEFT JOIN LATERAL (SELECT tm.team_id, tm.name FROM user_teams ut \
         JOIN teams tm ON tm.org_id = ut.org_id AND tm.team_id = ut.team_id \
         WHERE ut.org_id = u.org_id AND ut.user_id = u.user_id \
         ORDER BY ut.pos LIMIT 1) ft ON TRUE";

/// A failure inside one transaction attempt.
#[derive(Debug)]
enum TxError {
    Db(tokio_postgres::Error),
    Store(StoreError),
    /// Try the whole transaction again (e.g. a session id raced with a fixture load).
    Retry(String),
}

impl From<tokio_postgres::Error> for TxError {
    fn from(e: tokio_postgres::Error) -> Self {
        TxError::Db(e)
    }
}

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> Self {
        TxError::Store(e)
    }
}

impl From<FixtureError> for TxError {
    fn from(e: FixtureError) -> Self {
        TxError::Store(StoreError::Fixture(e))
    }
}

impl TxError {
    fn is_retryable(&self) -> bool {
        match self {
            TxError::Db(e) => matches!(
                e.code(),
                Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE
                    || *c == SqlState::T_R_DEADLOCK_DETECTED
            ),
            TxError::Retry(_) => true,
            TxError::Store(_) => false,
        }
    }

    fn into_store(self, context: &str) -> StoreError {
        match self {
            TxError::Db(e) => StoreError::Backend(format!("{context}: {}", describe(&e))),
            TxError::Store(e) => e,
            TxError::Retry(why) => StoreError::Backend(format!(
                "{context}: gave up after {MAX_ATTEMPTS} attempts: {why}"
            )),
        }
    }
}

/// A readable one-line description of a driver error (its Display alone says only "db error").
fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = format!("{} (SQLSTATE {})", db.message(), db.code().code());
        if let Some(detail) = db.detail() {
            s.push_str(": ");
            s.push_str(detail);
        }
        return s;
    }
    match std::error::Error::source(e) {
        Some(src) => format!("{e}: {src}"),
        None => e.to_string(),
    }
}

fn corrupt(what: &str, value: &str) -> TxError {
    TxError::Store(StoreError::Backend(format!(
        "unexpected stored {what} {value:?}"
    )))
}

/// Runs `$body` (an async block body using `$client`, a pooled connection) and retries the
/// whole of it on serialization failure / deadlock, returning `Result<T, StoreError>`.
macro_rules! with_retry {
    ($self:expr, $ctx:expr, |$client:ident| $body:block) => {{
        let mut attempt: u32 = 0;
        loop {
            #[allow(unused_mut)]
            let mut $client = $self.conn().await?;
            let outcome: std::result::Result<_, TxError> = async { $body }.await;
            match outcome {
                Ok(v) => break Ok(v),
                Err(e) if e.is_retryable() && attempt + 1 < MAX_ATTEMPTS => {
                    attempt += 1;
                    $self
                        .retried
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::debug!(context = $ctx, attempt, error = ?e, "retrying transaction");
                    backoff(attempt).await;
                }
                Err(e) => break Err(e.into_store($ctx)),
            }
        }
    }};
}

async fn backoff(attempt: u32) {
    let cap_ms = 2u64 << attempt.min(7);
    let ms = rand::random::<u64>() % cap_ms + 1;
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// The PostgreSQL store. Cheap to share behind an `Arc`; every call takes a pooled connection.
pub struct PgStore {
    pool: Pool,
    pool_size: usize,
    secret: tokio::sync::OnceCell<Vec<u8>>,
    retried: std::sync::atomic::AtomicU64,
    /// Told about every call (see [`Store::set_observer`]).
    observer: ObserverSlot,
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

/// The URL with any password replaced, for error messages. Defensive about unencoded `/` or
/// `@` in the password: everything up to the last `@` before the query is user info.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<unparsable url>".into();
    };
    let before_query = rest.split('?').next().unwrap_or(rest);
    match before_query.rfind('@') {
        Some(at) => {
            let (userinfo, host_and_more) = rest.split_at(at);
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{scheme}://{user}:***{host_and_more}"),
                None => url.to_owned(),
            }
        }
        None => url.to_owned(),
    }
}

/// Splits our own `pool_size` parameter off a URL; the rest goes to tokio-postgres, which
/// refuses options it does not know.
fn split_pool_size(url: &str) -> Result<(String, Option<usize>)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), None));
    };
    let mut size = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.strip_prefix("pool_size=") {
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=10_000).contains(&n) => size = Some(n),
                _ => {
                    return Err(StoreError::BadUrl(format!(
                        "{} (pool_size must be an integer between 1 and 10000, got {v:?})",
                        redact(url)
                    )))
                }
            },
            None => kept.push(pair),
        }
    }
    let rebuilt = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((rebuilt, size))
}

fn default_pool_size() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get() * 4)
        .unwrap_or(16)
}

impl PgStore {
    /// Connects (lazily pooled), and runs migrations before returning. The URL is a libpq-style
    /// `postgres://user[:password]@host[:port]/db[?options]`, plus our optional `pool_size=N`.
    pub async fn connect(url: &str) -> Result<Self> {
        let (pg_url, size) = split_pool_size(url)?;
        let config = tokio_postgres::Config::from_str(&pg_url)
            .map_err(|e| StoreError::BadUrl(format!("{} ({})", redact(url), describe(&e))))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool_size = size.unwrap_or_else(default_pool_size);
        let pool = Pool::builder(manager)
            .max_size(pool_size)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|e| StoreError::Backend(format!("building connection pool: {e}")))?;
        let store = PgStore {
            pool,
            pool_size,
            secret: tokio::sync::OnceCell::new(),
            retried: std::sync::atomic::AtomicU64::new(0),
            observer: ObserverSlot::default(),
        };
        store.migrate().await.map_err(|e| match e {
            StoreError::Backend(m) => {
                StoreError::Backend(format!("opening PostgreSQL at {}: {m}", redact(url)))
            }
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

    /// Applied schema migration versions, ascending.
    pub async fn schema_versions(&self) -> Result<Vec<i32>> {
        with_retry!(self, "reading schema versions", |c| {
            let rows = c
                .query(
                    "SELECT version FROM schema_migrations ORDER BY version",
                    &[],
                )
                .await?;
            rows.iter()
                .map(|r| Ok(r.try_get::<_, i32>(0)?))
                .collect::<Result<Vec<_>, TxError>>()
        })
    }

    async fn conn(&self) -> Result<deadpool_postgres::Client> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Backend(format!("getting a PostgreSQL connection: {e}")))
    }

    /// Connects and applies the schema migrations only up to `version`: for tests of what
    /// later migrations do to older databases. The handle is not for use as a store.
    #[doc(hidden)]
    pub async fn create_at_schema_version(url: &str, version: i32) -> Result<()> {
        let (pg_url, _) = split_pool_size(url)?;
        let config = tokio_postgres::Config::from_str(&pg_url)
            .map_err(|e| StoreError::BadUrl(format!("{} ({})", redact(url), describe(&e))))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(1)
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Backend(format!("building connection pool: {e}")))?;
        let store = PgStore {
            pool,
            pool_size: 1,
            secret: tokio::sync::OnceCell::new(),
            retried: std::sync::atomic::AtomicU64::new(0),
            observer: ObserverSlot::default(),
        };
        store.migrate_to(version).await
    }

    async fn migrate(&self) -> Result<()> {
        self.migrate_to(MIGRATIONS.last().map_or(0, |m| m.0)).await
    }

    async fn migrate_to(&self, target: i32) -> Result<()> {
        with_retry!(self, "running migrations", |c| {
            let tx = c.transaction().await?;
            tx.query("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                .await?;
            // `CREATE TABLE IF NOT EXISTS` needs CREATE on the schema even when the table
            // exists: create it only when missing, so that a migrated database can be served by
            // a role holding data privileges only.
            let missing: bool = tx
                .query_one("SELECT to_regclass('schema_migrations') IS NULL", &[])
                .await?
                .try_get(0)?;
            if missing {
                tx.batch_execute(
                    "CREATE TABLE schema_migrations (
                         version    INT PRIMARY KEY,
                         applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                )
                .await?;
            }
            let applied: Vec<i32> = tx
                .query("SELECT version FROM schema_migrations", &[])
                .await?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?;
            let known = MIGRATIONS.last().map_or(0, |m| m.0);
            if let Some(newer) = applied.iter().copied().filter(|v| *v > known).max() {
                // A newer build migrated this database: refuse rather than misread its rows.
                return Err(StoreError::Backend(format!(
                    "database schema version {newer} is newer than this build understands \
                     ({known})"
                ))
                .into());
            }
            for (version, sql) in MIGRATIONS {
                if applied.contains(version) || *version > target {
                    continue;
                }
                tx.batch_execute(sql).await?;
                tx.execute(
                    "INSERT INTO schema_migrations (version) VALUES ($1)",
                    &[version],
                )
                .await?;
                tracing::info!(version, "applied PostgreSQL schema migration");
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// `set_settings`, appending `audit` in the same transaction when given.
    async fn set_settings_with(
        &self,
        org_id: &str,
        user_ids: &[String],
        change: SettingsChange,
        audit: Option<&AuditEntry>,
    ) -> Result<()> {
        let duration = change.duration.map(duration_i64).transpose()?;
        let quit = change.desktop_app_browser_quit;
        with_retry!(self, "changing settings", |c| {
            let tx = c.transaction().await?;
            share_org(&tx, org_id).await?;
            let users = lock_users(&tx, org_id, user_ids).await?;
            // All or nothing: an unknown user refuses the whole change, naming the first.
            if let Some(missing) = user_ids.iter().find(|u| !users.contains(u)) {
                return Err(StoreError::NotFound(format!("user {missing} in org {org_id}")).into());
            }
            if duration.is_none() && quit.is_none() {
                // Nothing to set; do not create empty settings rows.
                if let Some(e) = audit {
                    audit::append_in(&tx, e).await?;
                }
                tx.commit().await?;
                return Ok(());
            }
            tx.execute(
                "INSERT INTO settings (org_id, user_id, duration, desktop_app_browser_quit)
                 SELECT $1, u, $3, $4 FROM unnest($2::text[]) AS u
                 ON CONFLICT (org_id, user_id) DO UPDATE SET
                     duration = COALESCE(EXCLUDED.duration, settings.duration),
                     desktop_app_browser_quit =
                         COALESCE(EXCLUDED.desktop_app_browser_quit,
                                  settings.desktop_app_browser_quit)",
                &[&org_id, &users, &duration, &quit],
            )
            .await?;
            if let Some(d) = duration {
                // Only ever shortens: a session keeps an earlier expiry it already has, so an
                // expired one stays expired whatever the new duration.
                tx.execute(
                    "UPDATE sessions SET expires_at =
                         LEAST(created_at::numeric + $3::bigint, 9223372036854775807)::bigint
                     WHERE session_id IN (
                         SELECT session_id FROM sessions WHERE org_id = $1 AND user_id = ANY($2)
                           AND (expires_at IS NULL OR expires_at >
                                LEAST(created_at::numeric + $3::bigint,
                                      9223372036854775807)::bigint)
                         ORDER BY session_id FOR UPDATE)",
                    &[&org_id, &users, &d],
                )
                .await?;
            }
            if let Some(e) = audit {
                audit::append_in(&tx, e).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// `clear_settings`, appending `audit` in the same transaction when given.
    async fn clear_settings_with(
        &self,
        org_id: &str,
        user_ids: &[String],
        audit: Option<&AuditEntry>,
    ) -> Result<()> {
        with_retry!(self, "clearing settings", |c| {
            let tx = c.transaction().await?;
            share_org(&tx, org_id).await?;
            let users = lock_users(&tx, org_id, user_ids).await?;
            tx.execute(
                "DELETE FROM settings WHERE org_id = $1 AND user_id = ANY($2)",
                &[&org_id, &users],
            )
            .await?;
            // Existing sessions keep their expiry (settings only ever shorten them); sessions
            // created from now on have none.
            if let Some(e) = audit {
                audit::append_in(&tx, e).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }
}

/// Opens the PostgreSQL store behind a [`DynStore`]; see [`PgStore::connect`].
pub async fn open(url: &str) -> Result<DynStore> {
    Ok(std::sync::Arc::new(PgStore::connect(url).await?))
}

// ----- row mapping ---------------------------------------------------------------------------

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A duration as stored; larger than any column can hold is refused rather than clamped.
fn duration_i64(d: u64) -> Result<i64> {
    i64::try_from(d).map_err(|_| StoreError::Conflict(format!("duration {d} is out of range")))
}

fn device_json(d: &Device) -> String {
    serde_json::to_string(d).unwrap_or_else(|_| "{}".into())
}

fn parse_device(text: &str) -> Result<Device, TxError> {
    serde_json::from_str(text).map_err(|_| corrupt("device", text))
}

fn session_from_row(row: &Row) -> Result<SessionRow, TxError> {
    let client: String = row.try_get("client")?;
    let created: String = row.try_get("created")?;
    let recent: Option<String> = row.try_get("recent")?;
    let id: i64 = row.try_get("session_id")?;
    Ok(SessionRow {
        session_id: u64::try_from(id).map_err(|_| corrupt("session id", &id.to_string()))?,
        org_id: row.try_get("org_id")?,
        user_id: row.try_get("user_id")?,
        team_id: row.try_get("team_id")?,
        client: ClientKind::parse(&client).ok_or_else(|| corrupt("client", &client))?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
        created: parse_device(&created)?,
        recent: recent.as_deref().map(parse_device).transpose()?,
    })
}

fn user_from_row(row: &Row) -> Result<UserRow, TxError> {
    let role: String = row.try_get("u_role")?;
    Ok(UserRow {
        org_id: row.try_get("u_org")?,
        user_id: row.try_get("u_id")?,
        name: row.try_get("u_name")?,
        role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
        is_bot: row.try_get("u_bot")?,
        teams: row.try_get("u_teams")?,
    })
}

fn principal_from_row(
    row: &Row,
    kind: PrincipalKind,
    scopes: Vec<String>,
) -> Result<Principal, TxError> {
    let user = user_from_row(row)?;
    let team_id: Option<String> = row.try_get("ft_id")?;
    let team_name: Option<String> = row.try_get("ft_name")?;
    Ok(Principal {
        org: OrgRow {
            org_id: user.org_id.clone(),
            name: row.try_get("o_name")?,
        },
        user,
        kind,
        scopes,
        team: team_id.map(|id| (id, team_name.unwrap_or_default())),
    })
}

fn job_from_row(row: &Row) -> Result<BulkJob, TxError> {
    let filter: String = row.try_get("filter")?;
    let state: String = row.try_get("state")?;
    let results: Option<String> = row.try_get("results")?;
    let attempts: i32 = row.try_get("attempts")?;
    Ok(BulkJob {
        job_id: row.try_get("job_id")?,
        org_id: row.try_get("org_id")?,
        actor_user_id: row.try_get("actor_user_id")?,
        user_ids: row.try_get("user_ids")?,
        filter: ResetFilter::parse(&filter).ok_or_else(|| corrupt("reset filter", &filter))?,
        state: match state.as_str() {
            "pending" => JobState::Pending,
            "done" => JobState::Done,
            _ => return Err(corrupt("job state", &state)),
        },
        created_at: row.try_get("created_at")?,
        run_after: row.try_get("run_after")?,
        finished_at: row.try_get("finished_at")?,
        results: match results {
            Some(text) => serde_json::from_str(&text).map_err(|_| corrupt("job results", &text))?,
            None => Vec::new(),
        },
        attempts: u32::try_from(attempts).unwrap_or(0),
    })
}

/// Records a pending job under the org's next job number, in the caller's transaction.
async fn insert_job(
    tx: &tokio_postgres::Transaction<'_>,
    org_id: &str,
    actor_user_id: &str,
    user_ids: &[String],
    filter: ResetFilter,
    now: UnixTime,
    run_after: UnixTime,
) -> Result<i64, TxError> {
    let id = audit::next_org_id(tx, org_id, "job").await?;
    tx.execute(
        "INSERT INTO bulk_jobs (job_id, org_id, actor_user_id, user_ids, filter, state,
             created_at, run_after)
         VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7)",
        &[
            &id,
            &org_id,
            &actor_user_id,
            &user_ids,
            &filter.as_str(),
            &now,
            &run_after,
        ],
    )
    .await?;
    Ok(id)
}

/// Client kinds a reset filter covers, as stored.
fn filter_clients(filter: ResetFilter) -> Vec<String> {
    [
        ClientKind::Desktop,
        ClientKind::Web,
        ClientKind::Ios,
        ClientKind::Android,
    ]
    .into_iter()
    .filter(|c| filter.matches(*c))
    .map(|c| c.as_str().to_owned())
    .collect()
}

/// Revokes the active sessions of `users` matching `clients`, locking them in session_id order
/// (the global lock order) so overlapping resets queue instead of deadlocking. Returns how many.
async fn revoke_users_sessions(
    tx: &tokio_postgres::Transaction<'_>,
    org_id: &str,
    users: &[String],
    clients: &[String],
    now: UnixTime,
) -> Result<u64, TxError> {
    Ok(tx
        .execute(
            "UPDATE sessions SET revoked_at = $4 WHERE session_id IN (
                 SELECT session_id FROM sessions
                 WHERE org_id = $1 AND user_id = ANY($2) AND client = ANY($3)
                   AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $4)
                 ORDER BY session_id FOR UPDATE)",
            &[&org_id, &users, &clients, &now],
        )
        .await?)
}

/// The page query of `list_sessions`: $1 org, $2 after, $3 now, $4 limit, and $5 user, $6 team
/// when filtered. The org-wide form repeats the predicate of the partial index
/// `sessions_listable` so the planner can use it: a page is an index range scan.
fn list_sql(filter: &SessionFilter) -> String {
    let user_team = if filter.user_team.is_some() {
        "AND s.user_id = $5 AND s.team_id = $6"
    } else {
        ""
    };
    format!(
        "SELECT {SESSION_COLS} FROM sessions s
         WHERE s.org_id = $1 {user_team} AND s.revoked_at IS NULL AND NOT s.is_bot
           AND s.session_id > $2 AND (s.expires_at IS NULL OR s.expires_at > $3)
         ORDER BY s.session_id LIMIT $4"
    )
}

/// The per-org advisory lock key (stable across nodes and builds).
fn org_lock_key(org_id: &str) -> i32 {
    let h = TokenHash::of(org_id).0;
    i32::from_be_bytes([h[0], h[1], h[2], h[3]])
}

/// Takes the org's lock shared for the rest of the transaction. Without it a write racing a
/// fixture load of its org would look for rows in a snapshot from before the load, find them
/// deleted once the load commits, and wrongly report "not found" (or silently skip users),
/// though the org was never missing them. It must be its own statement, before the ones it
/// protects: in READ COMMITTED each statement then takes a snapshot after the load.
async fn share_org(tx: &tokio_postgres::Transaction<'_>, org_id: &str) -> Result<(), TxError> {
    tx.execute(
        "SELECT pg_advisory_xact_lock_shared($1, $2)",
        &[&ORG_LOCK_NS, &org_lock_key(org_id)],
    )
    .await?;
    Ok(())
}

/// Locks the listed existing users of an org in user_id order (before their settings and
/// sessions) and returns their ids. Sign-ins take a shared lock on their user, so a sign-in
/// never derives its expiry from settings that are being changed.
async fn lock_users(
    tx: &tokio_postgres::Transaction<'_>,
    org_id: &str,
    user_ids: &[String],
) -> Result<Vec<String>, TxError> {
    tx.query(
        "SELECT user_id FROM users WHERE org_id = $1 AND user_id = ANY($2)
         ORDER BY user_id FOR NO KEY UPDATE",
        &[&org_id, &user_ids],
    )
    .await?
    .iter()
    .map(|r| Ok(r.try_get(0)?))
    .collect()
}

// ----- the Store ---------------------------------------------------------------------------

#[async_trait::async_trait]
impl Store for PgStore {
    fn set_observer(&self, observer: std::sync::Arc<dyn StoreObserver>) {
        self.observer.set(observer);
    }

    async fn authenticate(&self, token: &TokenHash, now: UnixTime) -> Result<TokenLookup> {
        self.observer
            .time("authenticate", async {
                let hash: &[u8] = &token.0;
                with_retry!(self, "authenticating a token", |c| {
                    let sql = format!(
                        "SELECT x.kind, x.scopes, x.revoked_at, {USER_COLS}, {PRINCIPAL_COLS}
                     FROM tokens x {PRINCIPAL_JOINS} WHERE x.token_hash = $1"
                    );
                    let stmt = c.prepare_cached(&sql).await?;
                    if let Some(row) = c.query_opt(&stmt, &[&hash]).await? {
                        let revoked: Option<i64> = row.try_get("revoked_at")?;
                        if revoked.is_some() {
                            return Ok(TokenLookup::Revoked);
                        }
                        let kind: String = row.try_get("kind")?;
                        let kind = match kind.as_str() {
                            "bot" => PrincipalKind::BotToken,
                            "user" => PrincipalKind::UserToken,
                            _ => return Err(corrupt("token kind", &kind)),
                        };
                        let scopes = row.try_get("scopes")?;
                        return Ok(TokenLookup::Active(std::sync::Arc::new(
                            principal_from_row(&row, kind, scopes)?,
                        )));
                    }
                    let sql = format!(
                    "SELECT x.session_id, x.revoked_at, x.expires_at, {USER_COLS}, {PRINCIPAL_COLS}
                     FROM sessions x {PRINCIPAL_JOINS} WHERE x.token_hash = $1"
                );
                    let stmt = c.prepare_cached(&sql).await?;
                    let Some(row) = c.query_opt(&stmt, &[&hash]).await? else {
                        return Ok(TokenLookup::Unknown);
                    };
                    let revoked: Option<i64> = row.try_get("revoked_at")?;
                    let expires: Option<i64> = row.try_get("expires_at")?;
                    if revoked.is_some() || expires.is_some_and(|e| e <= now) {
                        return Ok(TokenLookup::SessionEnded);
                    }
                    let id: i64 = row.try_get("session_id")?;
                    let kind = PrincipalKind::Session(u64::try_from(id).unwrap_or(0));
                    Ok(TokenLookup::Active(std::sync::Arc::new(
                        principal_from_row(&row, kind, Vec::new())?,
                    )))
                })
            })
            .await
    }

    async fn user(&self, org_id: &str, user_id: &str) -> Result<Option<UserRow>> {
        self.observer
            .time("user", async {
                with_retry!(self, "reading a user", |c| {
                    let sql = format!(
                        "SELECT {USER_COLS} FROM users u WHERE u.org_id = $1 AND u.user_id = $2"
                    );
                    let stmt = c.prepare_cached(&sql).await?;
                    c.query_opt(&stmt, &[&org_id, &user_id])
                        .await?
                        .as_ref()
                        .map(user_from_row)
                        .transpose()
                })
            })
            .await
    }

    async fn users(&self, org_id: &str, user_ids: &[String]) -> Result<Vec<UserRow>> {
        self.observer
            .time("users", async {
                with_retry!(self, "reading users", |c| {
                    // In the order asked, each once.
                    let sql = format!(
                        "SELECT {USER_COLS} FROM unnest($2::text[]) WITH ORDINALITY AS q(id, n)
                     JOIN users u ON u.org_id = $1 AND u.user_id = q.id
                     ORDER BY q.n"
                    );
                    let mut seen = std::collections::HashSet::new();
                    let mut out = Vec::new();
                    for row in c.query(&sql, &[&org_id, &user_ids]).await? {
                        let user = user_from_row(&row)?;
                        if seen.insert(user.user_id.clone()) {
                            out.push(user);
                        }
                    }
                    Ok(out)
                })
            })
            .await
    }

    async fn user_record(&self, org_id: &str, user_id: &str) -> Result<Option<UserRecord>> {
        self.observer
            .time("user_record", async {
                with_retry!(self, "reading a user profile", |c| {
                    directory::one(
                        &c,
                        "users u",
                        "u.org_id = $1 AND u.user_id = $2",
                        &[&org_id, &user_id],
                    )
                    .await
                })
            })
            .await
    }

    async fn user_by_email(&self, org_id: &str, email: &str) -> Result<Option<UserRecord>> {
        self.observer
            .time("user_by_email", async {
                let key = email_key(email);
                with_retry!(self, "looking up an email", |c| {
                    directory::one(
                    &c,
                    "user_profiles q JOIN users u ON u.org_id = q.org_id AND u.user_id = q.user_id",
                    "q.org_id = $1 AND q.email_key = $2",
                    &[&org_id, &key],
                )
                .await
                })
            })
            .await
    }

    async fn list_users(
        &self,
        org_id: &str,
        team_id: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<UserRecord>> {
        self.observer
            .time("list_users", async {
            // Every stored id is non-empty, so "after the empty string" is the first page.
            let after = after.unwrap_or("");
            let limit = i64::from(limit);
            with_retry!(self, "listing users", |c| {
                let rows = match team_id {
                    None => {
                        let sql = format!(
                            "{} FROM users u {} WHERE u.org_id = $1 AND u.user_id > $2                          ORDER BY u.user_id LIMIT $3",
                            directory::select(),
                            directory::JOIN
                        );
                        let stmt = c.prepare_cached(&sql).await?;
                        c.query(&stmt, &[&org_id, &after, &limit]).await?
                    }
                    Some(team) => {
                        let sql = format!(
                            "{} FROM user_teams m JOIN users u ON u.org_id = m.org_id                          AND u.user_id = m.user_id {}                          WHERE m.org_id = $1 AND m.team_id = $4 AND m.user_id > $2                          ORDER BY m.user_id LIMIT $3",
                            directory::select(),
                            directory::JOIN
                        );
                        let stmt = c.prepare_cached(&sql).await?;
                        c.query(&stmt, &[&org_id, &after, &limit, &team]).await?
                    }
                };
                rows.iter().map(directory::record_from_row).collect()
            })
        })
            .await
    }

    async fn team_exists(&self, org_id: &str, team_id: &str) -> Result<bool> {
        self.observer
            .time("team_exists", async {
                with_retry!(self, "checking a team", |c| {
                    let row = c
                    .query_one(
                        "SELECT EXISTS (SELECT 1 FROM teams WHERE org_id = $1 AND team_id = $2)",
                        &[&org_id, &team_id],
                    )
                    .await?;
                    Ok(row.try_get::<_, bool>(0)?)
                })
            })
            .await
    }

    async fn revoke_token(&self, token: &TokenHash) -> Result<bool> {
        self.observer
            .time("revoke_token", async {
                let hash: &[u8] = &token.0;
                with_retry!(self, "revoking a token", |c| {
                    // The trait gives no `now`: the database clock only records when it happened.
                    let n = c
                        .execute(
                            "UPDATE tokens SET revoked_at = EXTRACT(EPOCH FROM now())::bigint
                         WHERE token_hash = $1 AND revoked_at IS NULL",
                            &[&hash],
                        )
                        .await?;
                    Ok(n == 1)
                })
            })
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
        self.observer
            .time("list_sessions", async {
                let Ok(after) = i64::try_from(after.unwrap_or(0)) else {
                    return Ok(Vec::new());
                };
                let limit = i64::from(limit);
                let sql = list_sql(filter);
                with_retry!(self, "listing sessions", |c| {
                    let stmt = c.prepare_cached(&sql).await?;
                    let rows = match &filter.user_team {
                        None => c.query(&stmt, &[&org_id, &after, &now, &limit]).await?,
                        Some((user_id, team_id)) => {
                            c.query(&stmt, &[&org_id, &after, &now, &limit, user_id, team_id])
                                .await?
                        }
                    };
                    rows.iter()
                        .map(session_from_row)
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .await
    }

    async fn session(&self, org_id: &str, session_id: u64) -> Result<Option<SessionRow>> {
        self.observer
            .time("session", async {
            let Ok(id) = i64::try_from(session_id) else {
                return Ok(None);
            };
            with_retry!(self, "reading a session", |c| {
                let sql = format!(
                    "SELECT {SESSION_COLS} FROM sessions s WHERE s.org_id = $1 AND s.session_id = $2"
                );
                let stmt = c.prepare_cached(&sql).await?;
                c.query_opt(&stmt, &[&org_id, &id])
                    .await?
                    .as_ref()
                    .map(session_from_row)
                    .transpose()
            })
        })
            .await
    }

    async fn create_session(&self, new: NewSession) -> Result<SessionRow> {
        self.observer
            .time("create_session", async {
            let hash: &[u8] = &new.token_hash.0;
            let created = device_json(&new.created);
            with_retry!(self, "creating a session", |c| {
                let tx = c.transaction().await?;
                share_org(&tx, &new.org_id).await?;
                // Shared lock on the user: settings changes (which lock it exclusively) wait for
                // us or we for them, so the expiry below is derived from committed settings.
                let user = tx
                    .query_opt(
                        &format!(
                            "SELECT {USER_COLS}, st.duration FROM users u
                             LEFT JOIN settings st ON st.org_id = u.org_id AND st.user_id = u.user_id
                             WHERE u.org_id = $1 AND u.user_id = $2 FOR SHARE OF u"
                        ),
                        &[&new.org_id, &new.user_id],
                    )
                    .await?;
                let Some(row) = user else {
                    return Err(StoreError::NotFound(format!(
                        "user {} in org {}",
                        new.user_id, new.org_id
                    ))
                    .into());
                };
                let user = user_from_row(&row)?;
                let duration: Option<i64> = row.try_get("duration")?;
                let team = tx
                    .query_opt(
                        "SELECT 1 FROM teams WHERE org_id = $1 AND team_id = $2",
                        &[&new.org_id, &new.team_id],
                    )
                    .await?;
                if team.is_none() {
                    return Err(StoreError::NotFound(format!(
                        "team {} in org {}",
                        new.team_id, new.org_id
                    ))
                    .into());
                }
                if !user.teams.contains(&new.team_id) {
                    return Err(StoreError::NotFound(format!(
                        "membership of user {} in team {}",
                        new.user_id, new.team_id
                    ))
                    .into());
                }
                let clash = tx
                    .query_opt("SELECT 1 FROM tokens WHERE token_hash = $1", &[&hash])
                    .await?;
                if clash.is_some() {
                    return Err(
                        StoreError::Conflict("the session token is already in use".into()).into(),
                    );
                }
                let expires = duration.map(|d| new.created_at.saturating_add(d));
                let sql = format!(
                    "INSERT INTO sessions AS s (org_id, user_id, team_id, client, is_bot, token_hash,
                         created_at, expires_at, created)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                     ON CONFLICT DO NOTHING
                     RETURNING {SESSION_COLS}"
                );
                let inserted = tx
                    .query_opt(
                        &sql,
                        &[
                            &new.org_id,
                            &new.user_id,
                            &new.team_id,
                            &new.client.as_str(),
                            &user.is_bot,
                            &hash,
                            &new.created_at,
                            &expires,
                            &created,
                        ],
                    )
                    .await?;
                let Some(row) = inserted else {
                    // Either the token is taken, or the id drawn from the sequence was just
                    // loaded from a fixture on another node (then a new draw succeeds).
                    let taken = tx
                        .query_opt("SELECT 1 FROM sessions WHERE token_hash = $1", &[&hash])
                        .await?;
                    if taken.is_some() {
                        return Err(
                            StoreError::Conflict("the session token is already in use".into()).into(),
                        );
                    }
                    return Err(TxError::Retry(
                        "session id collided with a fixture load".into(),
                    ));
                };
                let session = session_from_row(&row)?;
                tx.commit().await?;
                Ok(session)
            })
        })
            .await
    }

    async fn get_settings(&self, org_id: &str, user_ids: &[String]) -> Result<Vec<SettingsRow>> {
        self.observer
            .time("get_settings", async {
                with_retry!(self, "reading settings", |c| {
                    let rows = c
                        .query(
                            "SELECT st.user_id, st.duration, st.desktop_app_browser_quit
                         FROM unnest($2::text[]) WITH ORDINALITY AS q(id, n)
                         JOIN settings st ON st.org_id = $1 AND st.user_id = q.id
                         ORDER BY q.n",
                            &[&org_id, &user_ids],
                        )
                        .await?;
                    let mut seen = std::collections::HashSet::new();
                    let mut out = Vec::new();
                    for row in rows {
                        let user_id: String = row.try_get(0)?;
                        let duration: Option<i64> = row.try_get(1)?;
                        if seen.insert(user_id.clone()) {
                            out.push(SettingsRow {
                                user_id,
                                duration: duration.map(|d| u64::try_from(d).unwrap_or(0)),
                                desktop_app_browser_quit: row.try_get(2)?,
                            });
                        }
                    }
                    Ok(out)
                })
            })
            .await
    }

    async fn users_with_sessions(
        &self,
        org_id: &str,
        user_ids: &[String],
        now: UnixTime,
    ) -> Result<Vec<String>> {
        self.observer
            .time("users_with_sessions", async {
                with_retry!(self, "finding users with sessions", |c| {
                    let rows = c
                        .query(
                            "SELECT u FROM unnest($2::text[]) WITH ORDINALITY AS x(u, pos)
                         WHERE EXISTS (SELECT 1 FROM sessions s
                             WHERE s.org_id = $1 AND s.user_id = x.u AND s.revoked_at IS NULL
                               AND (s.expires_at IS NULL OR s.expires_at > $3))
                         ORDER BY pos",
                            &[&org_id, &user_ids, &now],
                        )
                        .await?;
                    let mut out: Vec<String> = Vec::with_capacity(rows.len());
                    for r in &rows {
                        let u: String = r.try_get(0)?;
                        if !out.contains(&u) {
                            out.push(u);
                        }
                    }
                    Ok(out)
                })
            })
            .await
    }

    async fn expire_sessions(&self, now: UnixTime, limit: u32) -> Result<u64> {
        self.observer
            .time("expire_sessions", async {
                with_retry!(self, "ending expired sessions", |c| {
                    // Locked in session_id order like every other multi-row revocation; rows another
                    // writer holds are skipped and left to the next sweep.
                    Ok(c.execute(
                        "UPDATE sessions SET revoked_at = expires_at WHERE session_id IN (
                         SELECT session_id FROM sessions
                         WHERE revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at <= $1
                         ORDER BY session_id LIMIT $2 FOR UPDATE SKIP LOCKED)",
                        &[&now, &i64::from(limit)],
                    )
                    .await?)
                })
            })
            .await
    }

    async fn invalidate_session_audited(
        &self,
        org_id: &str,
        session_id: u64,
        now: UnixTime,
        entry: &AuditEntry,
    ) -> Result<bool> {
        self.observer
            .time("invalidate_session", async {
                let Ok(id) = i64::try_from(session_id) else {
                    return Ok(false);
                };
                with_retry!(self, "invalidating a session", |c| {
                    let tx = c.transaction().await?;
                    share_org(&tx, org_id).await?;
                    // One statement: after waiting on a concurrent writer PostgreSQL re-checks the
                    // WHERE clause, so exactly one of several concurrent calls sees `true` (and
                    // records the entry).
                    let n = tx
                        .execute(
                            "UPDATE sessions SET revoked_at = $3
                         WHERE org_id = $1 AND session_id = $2 AND revoked_at IS NULL
                           AND (expires_at IS NULL OR expires_at > $3)",
                            &[&org_id, &id, &now],
                        )
                        .await?;
                    if n == 1 {
                        audit::append_in(&tx, entry).await?;
                    }
                    tx.commit().await?;
                    Ok(n == 1)
                })
            })
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
        self.observer
            .time("reset_user", async {
                let users = [user_id.to_owned()];
                let clients = filter_clients(filter);
                with_retry!(self, "resetting a user's sessions", |c| {
                    let tx = c.transaction().await?;
                    share_org(&tx, org_id).await?;
                    let n = revoke_users_sessions(&tx, org_id, &users, &clients, now).await?;
                    audit::append_in(&tx, entry).await?;
                    tx.commit().await?;
                    Ok(n)
                })
            })
            .await
    }

    async fn set_settings_audited(
        &self,
        org_id: &str,
        user_ids: &[String],
        change: SettingsChange,
        entry: &AuditEntry,
    ) -> Result<()> {
        self.observer
            .time("set_settings", async {
                self.set_settings_with(org_id, user_ids, change, Some(entry))
                    .await
            })
            .await
    }

    async fn clear_settings_audited(
        &self,
        org_id: &str,
        user_ids: &[String],
        entry: &AuditEntry,
    ) -> Result<()> {
        self.observer
            .time("clear_settings", async {
                self.clear_settings_with(org_id, user_ids, Some(entry))
                    .await
            })
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
        self.observer
            .time("enqueue_bulk_reset", async {
                with_retry!(self, "recording a resetBulk job", |c| {
                    let tx = c.transaction().await?;
                    let id =
                        insert_job(&tx, org_id, actor_user_id, user_ids, filter, now, run_after)
                            .await?;
                    audit::append_in(&tx, &entry.with_job_id(id)).await?;
                    tx.commit().await?;
                    Ok(id)
                })
            })
            .await
    }

    async fn claim_bulk_job(
        &self,
        worker: &str,
        now: UnixTime,
        lease_secs: i64,
    ) -> Result<Option<JobClaim>> {
        self.observer
            .time("claim_bulk_job", async {
                let until = now.saturating_add(lease_secs.max(0));
                with_retry!(self, "claiming a resetBulk job", |c| {
                    let lease = format!("{:032x}", rand::random::<u128>());
                    // SKIP LOCKED: nodes claiming at once each get a different job (or none) instead of
                    // queueing behind one another.
                    let sql = format!(
                        "UPDATE bulk_jobs SET lease_owner = $1, lease_token = $2, lease_until = $4,
                         attempts = attempts + 1
                     WHERE (org_id, job_id) = (
                         SELECT org_id, job_id FROM bulk_jobs
                         WHERE state = 'pending' AND run_after <= $3
                           AND (lease_until IS NULL OR lease_until < $3)
                         ORDER BY created_at, org_id, job_id LIMIT 1
                         FOR UPDATE SKIP LOCKED)
                     RETURNING {JOB_COLS}"
                    );
                    let row = c.query_opt(&sql, &[&worker, &lease, &now, &until]).await?;
                    row.map(|r| {
                        Ok(JobClaim {
                            job: job_from_row(&r)?,
                            lease: lease.clone(),
                        })
                    })
                    .transpose()
                })
            })
            .await
    }

    async fn complete_bulk_job(&self, claim: &JobClaim, now: UnixTime) -> Result<BulkJob> {
        self.observer
            .time("complete_bulk_job", async {
                with_retry!(self, "completing a resetBulk job", |c| {
                    let tx = c.transaction().await?;
                    share_org(&tx, &claim.job.org_id).await?;
                    let sql = format!(
                    "SELECT {JOB_COLS} FROM bulk_jobs WHERE org_id = $1 AND job_id = $2 FOR UPDATE"
                );
                    let Some(row) = tx
                        .query_opt(&sql, &[&claim.job.org_id, &claim.job.job_id])
                        .await?
                    else {
                        return Err(StoreError::LeaseLost.into());
                    };
                    let token: Option<String> = row.try_get("lease_token")?;
                    let job = job_from_row(&row)?;
                    // A finished job has no lease any more: completing it again is refused, so nothing
                    // is ever applied twice.
                    if token.as_deref() != Some(claim.lease.as_str())
                        || job.state != JobState::Pending
                        || job.org_id != claim.job.org_id
                    {
                        return Err(StoreError::LeaseLost.into());
                    }
                    let found = tx
                    .query(
                        "SELECT user_id, is_bot FROM users WHERE org_id = $1 AND user_id = ANY($2)",
                        &[&job.org_id, &job.user_ids],
                    )
                    .await?;
                    let mut kinds = HashMap::new();
                    for r in &found {
                        kinds.insert(r.try_get::<_, String>(0)?, r.try_get::<_, bool>(1)?);
                    }
                    let sessions_store::bulk::BulkPlan { targets, results } =
                        sessions_store::bulk::plan(&job.user_ids, &kinds);
                    revoke_users_sessions(
                        &tx,
                        &job.org_id,
                        &targets,
                        &filter_clients(job.filter),
                        now,
                    )
                    .await?;
                    let results_json = serde_json::to_string(&results)
                        .map_err(|e| StoreError::Backend(format!("encoding job results: {e}")))?;
                    let sql = format!(
                        "UPDATE bulk_jobs SET state = 'done', finished_at = $2, results = $3,
                         lease_token = NULL, lease_until = NULL
                     WHERE job_id = $1 AND org_id = $4 RETURNING {JOB_COLS}"
                    );
                    let row = tx
                        .query_one(&sql, &[&job.job_id, &now, &results_json, &job.org_id])
                        .await?;
                    let done = job_from_row(&row)?;
                    audit::append_job_entries(&tx, &done, now).await?;
                    tx.commit().await?;
                    Ok(done)
                })
            })
            .await
    }

    async fn bulk_job(&self, org_id: &str, job_id: i64) -> Result<Option<BulkJob>> {
        self.observer
            .time("bulk_job", async {
                with_retry!(self, "reading a resetBulk job", |c| {
                    let sql = format!(
                        "SELECT {JOB_COLS} FROM bulk_jobs WHERE org_id = $1 AND job_id = $2"
                    );
                    c.query_opt(&sql, &[&org_id, &job_id])
                        .await?
                        .as_ref()
                        .map(job_from_row)
                        .transpose()
                })
            })
            .await
    }

    async fn pending_bulk_jobs(&self) -> Result<u64> {
        self.observer
            .time("pending_bulk_jobs", async {
                with_retry!(self, "counting resetBulk jobs", |c| {
                    let row = c
                        .query_one(
                            "SELECT count(*) FROM bulk_jobs WHERE state = 'pending'",
                            &[],
                        )
                        .await?;
                    Ok(u64::try_from(row.try_get::<_, i64>(0)?).unwrap_or(0))
                })
            })
            .await
    }

    async fn load_fixture(&self, fixture: &Fixture, now: UnixTime) -> Result<()> {
        self.observer
            .time("load_fixture", async {
                fixture.check()?;
                let plan = FixturePlan::new(fixture, now)?;
                with_retry!(self, "loading a fixture", |c| {
                    let tx = c.transaction().await?;
                    // One load at a time across nodes, so the clash checks below stay true until commit.
                    tx.query("SELECT pg_advisory_xact_lock($1)", &[&FIXTURE_LOCK])
                        .await?;
                    // Writers to the replaced orgs wait for the load (see `share_org`).
                    let mut keys: Vec<i32> = plan.org_ids.iter().map(|o| org_lock_key(o)).collect();
                    keys.sort_unstable();
                    keys.dedup();
                    tx.execute(
                    "SELECT pg_advisory_xact_lock($1, k) FROM unnest($2::int[]) AS k ORDER BY k",
                    &[&ORG_LOCK_NS, &keys],
                )
                .await?;
                    plan.check_clashes(&tx).await?;
                    plan.write(&tx).await.map_err(|e| match e {
                        TxError::Db(db) if db.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                            TxError::Store(StoreError::Fixture(FixtureError {
                                entry: "fixture".into(),
                                message: format!("clashes with stored data: {}", describe(&db)),
                            }))
                        }
                        other => other,
                    })?;
                    directory::insert(&tx, fixture).await?;
                    tx.commit().await?;
                    Ok(())
                })
            })
            .await
    }

    async fn dump(&self, org_id: Option<&str>) -> Result<Fixture> {
        self.observer
            .time("dump", async {
                with_retry!(self, "dumping state", |c| {
                    // One snapshot for all the reads.
                    let tx = c
                        .build_transaction()
                        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                        .read_only(true)
                        .start()
                        .await?;
                    let fixture = dump_in(&tx, org_id).await?;
                    tx.commit().await?;
                    Ok(fixture)
                })
            })
            .await
    }

    async fn reset_all(&self) -> Result<()> {
        self.observer
            .time("reset_all", async {
            with_retry!(self, "deleting all state", |c| {
                // Sequences are kept: ids are never reused, not even after a reset.
                c.batch_execute(
                    "TRUNCATE orgs, teams, users, user_teams, tokens, sessions, settings, bulk_jobs, \
                     audit_log, user_profiles",
                )
                .await?;
                Ok(())
            })
        })
            .await
    }

    async fn server_secret(&self) -> Result<Vec<u8>> {
        self.observer
            .time("server_secret", async {
                self.secret
                    .get_or_try_init(|| async {
                        with_retry!(self, "reading the server secret", |c| {
                            let fresh: Vec<u8> = (0..32).map(|_| rand::random::<u8>()).collect();
                            // Whoever inserts first wins; everyone then reads the winner's secret.
                            c.execute(
                                "INSERT INTO meta (key, value) VALUES ('server_secret', $1)
                             ON CONFLICT (key) DO NOTHING",
                                &[&fresh],
                            )
                            .await?;
                            let row = c
                                .query_one(
                                    "SELECT value FROM meta WHERE key = 'server_secret'",
                                    &[],
                                )
                                .await?;
                            Ok(row.try_get::<_, Vec<u8>>(0)?)
                        })
                    })
                    .await
                    .cloned()
            })
            .await
    }

    async fn prune_audit(&self, before: UnixTime, limit: u32) -> Result<u64> {
        self.observer
            .time("prune_audit", async {
                with_retry!(self, "pruning the audit log", |c| {
                    audit::prune(&c, before, limit).await
                })
            })
            .await
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<i64> {
        self.observer
            .time("append_audit", async {
                with_retry!(self, "appending an audit entry", |c| {
                    audit::append(&mut c, entry).await
                })
            })
            .await
    }

    async fn list_audit(
        &self,
        org_id: &str,
        filter: &AuditFilter,
        page: AuditPage,
        limit: u32,
    ) -> Result<Vec<AuditEntry>> {
        self.observer
            .time("list_audit", async {
                with_retry!(self, "reading the audit log", |c| {
                    audit::list(&c, org_id, filter, page, limit).await
                })
            })
            .await
    }
}

// ----- fixtures ------------------------------------------------------------------------------

/// org, user, name, role, is_bot, pos.
type UserCols = (
    Vec<String>,
    Vec<String>,
    Vec<String>,
    Vec<String>,
    Vec<bool>,
    Vec<i32>,
);
/// hash, org, user, kind, scopes (JSON), pos.
type TokenCols = (
    Vec<Vec<u8>>,
    Vec<String>,
    Vec<String>,
    Vec<String>,
    Vec<String>,
    Vec<i32>,
);
/// org, user, duration, quit.
type SettingsCols = (
    Vec<String>,
    Vec<String>,
    Vec<Option<i64>>,
    Vec<Option<bool>>,
);

/// A fixture flattened into column arrays, inserted with `unnest` (one round trip per table).
#[derive(Debug, Default)]
struct FixturePlan {
    org_ids: Vec<String>,
    org_names: Vec<String>,
    teams: (Vec<String>, Vec<String>, Vec<String>, Vec<i32>),
    users: UserCols,
    user_teams: (Vec<String>, Vec<String>, Vec<String>, Vec<i32>),
    tokens: TokenCols,
    settings: SettingsCols,
    sessions: SessionCols,
    /// What may clash with orgs that stay, in file order, with the entry to name.
    checks: Vec<Check>,
}

/// A fixture value that must not be used by an org the fixture does not replace.
#[derive(Debug)]
enum Check {
    Token(Vec<u8>, String),
    SessionId(i64, String),
}

#[derive(Debug, Default)]
struct SessionCols {
    id: Vec<i64>,
    org: Vec<String>,
    user: Vec<String>,
    team: Vec<String>,
    client: Vec<String>,
    is_bot: Vec<bool>,
    token: Vec<Option<Vec<u8>>>,
    created_at: Vec<i64>,
    expires_at: Vec<Option<i64>>,
    created: Vec<String>,
    recent: Vec<Option<String>>,
}

/// `Vec<String>` scopes as one array literal per token, because `unnest` flattens 2-D arrays.
fn scopes_literal(scopes: &[String]) -> String {
    serde_json::to_string(scopes).unwrap_or_else(|_| "[]".into())
}

fn pos(i: usize) -> i32 {
    i32::try_from(i).unwrap_or(i32::MAX)
}

impl FixturePlan {
    fn new(fixture: &Fixture, now: UnixTime) -> Result<Self> {
        let mut p = FixturePlan::default();
        for (oi, org) in fixture.orgs.iter().enumerate() {
            let o = format!("orgs[{oi}] ({})", org.id);
            p.org_ids.push(org.id.clone());
            p.org_names.push(org.name.clone());
            for (i, t) in org.teams.iter().enumerate() {
                p.teams.0.push(org.id.clone());
                p.teams.1.push(t.id.clone());
                p.teams.2.push(t.name.clone());
                p.teams.3.push(pos(i));
            }
            let mut bots = HashMap::new();
            for (i, u) in org.users.iter().enumerate() {
                p.users.0.push(org.id.clone());
                p.users.1.push(u.id.clone());
                p.users.2.push(u.name.clone());
                p.users.3.push(u.role.clone());
                p.users.4.push(u.is_bot);
                p.users.5.push(pos(i));
                bots.insert(u.id.as_str(), u.is_bot);
                for (ti, t) in u.teams.iter().enumerate() {
                    p.user_teams.0.push(org.id.clone());
                    p.user_teams.1.push(u.id.clone());
                    p.user_teams.2.push(t.clone());
                    p.user_teams.3.push(pos(ti));
                }
            }
            for (i, k) in org.tokens.iter().enumerate() {
                let hash = TokenHash::of(&k.token).0.to_vec();
                p.checks.push(Check::Token(
                    hash.clone(),
                    format!("{o}.tokens[{i}] (user {})", k.user),
                ));
                p.tokens.0.push(hash);
                p.tokens.1.push(org.id.clone());
                p.tokens.2.push(k.user.clone());
                p.tokens.3.push(k.kind.clone());
                p.tokens.4.push(scopes_literal(&k.scopes));
                p.tokens.5.push(pos(i));
            }
            let mut durations = HashMap::new();
            for s in &org.settings {
                p.settings.0.push(org.id.clone());
                p.settings.1.push(s.user.clone());
                let duration = s.duration.map(duration_i64).transpose()?;
                p.settings.2.push(duration);
                p.settings.3.push(s.desktop_app_browser_quit);
                if let Some(d) = duration {
                    durations.insert(s.user.as_str(), d);
                }
            }
            for (i, s) in org.sessions.iter().enumerate() {
                let id = to_i64(s.session_id);
                let entry = format!("{o}.sessions[{i}] (session_id {})", s.session_id);
                let created_at = s.created_at.unwrap_or(now);
                let token = s.token.as_deref().map(|t| TokenHash::of(t).0.to_vec());
                p.checks.push(Check::SessionId(id, entry.clone()));
                if let Some(h) = &token {
                    p.checks.push(Check::Token(h.clone(), entry));
                }
                let c = &mut p.sessions;
                c.id.push(id);
                c.org.push(org.id.clone());
                c.user.push(s.user.clone());
                c.team.push(s.team.clone());
                c.client.push(s.client.clone());
                c.is_bot
                    .push(bots.get(s.user.as_str()).copied().unwrap_or(false));
                c.token.push(token);
                c.created_at.push(created_at);
                c.expires_at.push(
                    durations
                        .get(s.user.as_str())
                        .map(|d| created_at.saturating_add(*d)),
                );
                c.created.push(device_json(&s.created));
                c.recent.push(s.recent.as_ref().map(device_json));
            }
        }
        Ok(p)
    }

    /// Session ids and tokens already used by orgs this fixture does not replace.
    async fn check_clashes(&self, tx: &tokio_postgres::Transaction<'_>) -> Result<(), TxError> {
        let mut used_ids = HashMap::new();
        for r in tx
            .query(
                "SELECT session_id, org_id FROM sessions
                 WHERE session_id = ANY($1) AND NOT (org_id = ANY($2))",
                &[&self.sessions.id, &self.org_ids],
            )
            .await?
        {
            used_ids.insert(r.try_get::<_, i64>(0)?, r.try_get::<_, String>(1)?);
        }
        let hashes: Vec<&Vec<u8>> = self
            .checks
            .iter()
            .filter_map(|c| match c {
                Check::Token(h, _) => Some(h),
                Check::SessionId(..) => None,
            })
            .collect();
        let mut used_tokens = HashMap::new();
        for r in tx
            .query(
                "SELECT token_hash, org_id FROM tokens
                     WHERE token_hash = ANY($1) AND NOT (org_id = ANY($2))
                 UNION ALL
                 SELECT token_hash, org_id FROM sessions
                     WHERE token_hash = ANY($1) AND NOT (org_id = ANY($2))",
                &[&hashes, &self.org_ids],
            )
            .await?
        {
            used_tokens.insert(r.try_get::<_, Vec<u8>>(0)?, r.try_get::<_, String>(1)?);
        }
        // Report the first clash in file order, as the SQLite backend does.
        for check in &self.checks {
            let (owner, entry, what) = match check {
                Check::Token(h, entry) => (used_tokens.get(h), entry, "token"),
                Check::SessionId(id, entry) => (used_ids.get(id), entry, "session_id"),
            };
            if let Some(other) = owner {
                return Err(FixtureError {
                    entry: entry.clone(),
                    message: format!("{what} already used by org {other}"),
                }
                .into());
            }
        }
        Ok(())
    }

    async fn write(&self, tx: &tokio_postgres::Transaction<'_>) -> Result<(), TxError> {
        // Replaced orgs go entirely, with their jobs; cascades take teams, users, tokens,
        // sessions and settings.
        tx.execute(
            "DELETE FROM bulk_jobs WHERE org_id = ANY($1)",
            &[&self.org_ids],
        )
        .await?;
        tx.execute("DELETE FROM orgs WHERE org_id = ANY($1)", &[&self.org_ids])
            .await?;
        tx.execute(
            "INSERT INTO orgs (org_id, name) SELECT * FROM unnest($1::text[], $2::text[])",
            &[&self.org_ids, &self.org_names],
        )
        .await?;
        let t = &self.teams;
        tx.execute(
            "INSERT INTO teams (org_id, team_id, name, pos)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[])",
            &[&t.0, &t.1, &t.2, &t.3],
        )
        .await?;
        let u = &self.users;
        tx.execute(
            "INSERT INTO users (org_id, user_id, name, role, is_bot, pos)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bool[],
                                  $6::int[])",
            &[&u.0, &u.1, &u.2, &u.3, &u.4, &u.5],
        )
        .await?;
        let m = &self.user_teams;
        tx.execute(
            // A team listed twice for a user counts once (the fixture check allows it).
            "INSERT INTO user_teams (org_id, user_id, team_id, pos)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[])
             ON CONFLICT DO NOTHING",
            &[&m.0, &m.1, &m.2, &m.3],
        )
        .await?;
        let k = &self.tokens;
        tx.execute(
            "INSERT INTO tokens (token_hash, org_id, user_id, kind, scopes, pos)
             SELECT h, o, u, k,
                    ARRAY(SELECT jsonb_array_elements_text(s::jsonb)), p
             FROM unnest($1::bytea[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[])
                  AS x(h, o, u, k, s, p)",
            &[&k.0, &k.1, &k.2, &k.3, &k.4, &k.5],
        )
        .await?;
        let st = &self.settings;
        tx.execute(
            "INSERT INTO settings (org_id, user_id, duration, desktop_app_browser_quit)
             SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bool[])",
            &[&st.0, &st.1, &st.2, &st.3],
        )
        .await?;
        let s = &self.sessions;
        let params: [&(dyn ToSql + Sync); 11] = [
            &s.id,
            &s.org,
            &s.user,
            &s.team,
            &s.client,
            &s.is_bot,
            &s.token,
            &s.created_at,
            &s.expires_at,
            &s.created,
            &s.recent,
        ];
        tx.execute(
            "INSERT INTO sessions (session_id, org_id, user_id, team_id, client, is_bot,
                 token_hash, created_at, expires_at, created, recent)
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],
                 $6::bool[], $7::bytea[], $8::bigint[], $9::bigint[], $10::text[], $11::text[])",
            &params,
        )
        .await?;
        if !s.id.is_empty() {
            // Later sign-ins (on any node) draw ids above everything loaded; never move the
            // sequence backwards, so ids handed out before are not reused either.
            tx.query(
                "SELECT setval(pg_get_serial_sequence('sessions', 'session_id'),
                     GREATEST((SELECT max(session_id) FROM sessions),
                              nextval(pg_get_serial_sequence('sessions', 'session_id'))))",
                &[],
            )
            .await?;
        }
        Ok(())
    }
}

/// The stored state as a fixture, in one snapshot. Tokens are left out (only hashes are
/// stored); revoked sessions too, since the format cannot say "revoked" and loading a dump must
/// not bring them back. Expired sessions stay: reloading derives the same expiry.
async fn dump_in(
    tx: &tokio_postgres::Transaction<'_>,
    org_id: Option<&str>,
) -> Result<Fixture, TxError> {
    // `$1 IS NULL` selects every org.
    let orgs = tx
        .query(
            "SELECT org_id, name FROM orgs WHERE $1::text IS NULL OR org_id = $1 ORDER BY org_id",
            &[&org_id],
        )
        .await?;
    let mut fixture = Fixture::default();
    let mut index = HashMap::new();
    for r in &orgs {
        let id: String = r.try_get(0)?;
        index.insert(id.clone(), fixture.orgs.len());
        fixture.orgs.push(FixtureOrg {
            id,
            name: r.try_get(1)?,
            ..Default::default()
        });
    }
    let filter = "WHERE $1::text IS NULL OR org_id = $1";
    for r in tx
        .query(
            &format!("SELECT org_id, team_id, name FROM teams {filter} ORDER BY org_id, pos"),
            &[&org_id],
        )
        .await?
    {
        if let Some(&i) = index.get(&r.try_get::<_, String>(0)?) {
            fixture.orgs[i].teams.push(FixtureTeam {
                id: r.try_get(1)?,
                name: r.try_get(2)?,
            });
        }
    }
    let sql = format!(
        "SELECT {USER_COLS} FROM users u WHERE $1::text IS NULL OR u.org_id = $1 ORDER BY u.org_id, u.pos"
    );
    for r in tx.query(&sql, &[&org_id]).await? {
        let u = user_from_row(&r)?;
        if let Some(&i) = index.get(&u.org_id) {
            fixture.orgs[i].users.push(FixtureUser {
                id: u.user_id,
                name: u.name,
                role: u.role.as_str().to_owned(),
                is_bot: u.is_bot,
                teams: u.teams,
                ..Default::default()
            });
        }
    }
    for r in tx
        .query(
            &format!(
                "SELECT org_id, user_id, kind, scopes FROM tokens {filter} ORDER BY org_id, pos"
            ),
            &[&org_id],
        )
        .await?
    {
        if let Some(&i) = index.get(&r.try_get::<_, String>(0)?) {
            fixture.orgs[i].tokens.push(FixtureToken {
                token: String::new(),
                user: r.try_get(1)?,
                kind: r.try_get(2)?,
                scopes: r.try_get(3)?,
            });
        }
    }
    let sql = format!(
        "SELECT {SESSION_COLS} FROM sessions s \
         WHERE ($1::text IS NULL OR s.org_id = $1) AND s.revoked_at IS NULL \
         ORDER BY s.session_id"
    );
    for r in tx.query(&sql, &[&org_id]).await? {
        let s = session_from_row(&r)?;
        if let Some(&i) = index.get(&s.org_id) {
            fixture.orgs[i].sessions.push(FixtureSession {
                session_id: s.session_id,
                user: s.user_id,
                team: s.team_id,
                client: s.client.as_str().to_owned(),
                token: None,
                created_at: Some(s.created_at),
                created: s.created,
                recent: s.recent,
            });
        }
    }
    let sql = "SELECT st.org_id, st.user_id, st.duration, st.desktop_app_browser_quit
               FROM settings st JOIN users u ON u.org_id = st.org_id AND u.user_id = st.user_id
               WHERE $1::text IS NULL OR st.org_id = $1 ORDER BY st.org_id, u.pos";
    for r in tx.query(sql, &[&org_id]).await? {
        if let Some(&i) = index.get(&r.try_get::<_, String>(0)?) {
            let duration: Option<i64> = r.try_get(2)?;
            fixture.orgs[i].settings.push(FixtureSettings {
                user: r.try_get(1)?,
                duration: duration.map(|d| u64::try_from(d).unwrap_or(0)),
                desktop_app_browser_quit: r.try_get(3)?,
            });
        }
    }
    directory::fill(tx, org_id, &mut fixture).await?;
    Ok(fixture)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_size_is_split_off_and_other_options_kept() {
        let (url, size) = split_pool_size("postgres://u@h/db?pool_size=32").unwrap();
        assert_eq!((url.as_str(), size), ("postgres://u@h/db", Some(32)));
        let (url, size) =
            split_pool_size("postgres://u@h/db?connect_timeout=5&pool_size=2&application_name=x")
                .unwrap();
        assert_eq!(
            url,
            "postgres://u@h/db?connect_timeout=5&application_name=x"
        );
        assert_eq!(size, Some(2));
        assert_eq!(split_pool_size("postgres://u@h/db").unwrap().1, None);
        for bad in ["0", "-1", "x", "", "10001"] {
            let err =
                split_pool_size(&format!("postgres://u:pw@h/db?pool_size={bad}")).unwrap_err();
            assert!(
                matches!(err, StoreError::BadUrl(ref m) if !m.contains("pw")),
                "{err}"
            );
        }
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://u:secret@h:5/db?x=1"),
            "postgres://u:***@h:5/db?x=1"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
        assert!(!redact("postgresql://u:p@ss@h/db").contains("p@ss"));
        assert_eq!(redact("postgres://u:a/b@h/db"), "postgres://u:***@h/db");
        assert_eq!(
            redact("postgres://u@h/db?opt=x@y"),
            "postgres://u@h/db?opt=x@y"
        );
    }

    #[test]
    fn filters_map_to_client_kinds() {
        assert_eq!(filter_clients(ResetFilter::All).len(), 4);
        assert_eq!(
            filter_clients(ResetFilter::MobileOnly),
            vec!["ios", "android"]
        );
        assert_eq!(filter_clients(ResetFilter::WebOnly), vec!["web"]);
    }
}
