//! SQLite backend: one file, WAL mode, group commit.
//!
//! - One dedicated writer thread owns the only read-write connection. Writes are sent to it as
//!   closures; it folds everything pending into ONE transaction (each write in its own
//!   SAVEPOINT, so a failing write rolls back alone), commits once with `synchronous=FULL`, then
//!   answers every caller. `Ok` from a write therefore means committed and fsynced, and N
//!   concurrent writes cost one fsync.
//! - Reads use a small pool of read-only connections; WAL lets them run while the writer
//!   commits. Multi-statement reads run in one read transaction (a snapshot). Big reads (pages,
//!   dumps, many users) run on tokio's blocking pool, at most 8 at once. Point reads
//!   (authentication, one user, one session, one team) run right on the calling thread, since
//!   handing them to another thread costs more than the read; one that meets a lock is rerun
//!   on the blocking pool instead of waiting on the runtime.
//! - Successful token lookups are remembered while the database is unchanged, as told by the
//!   wal-index header SQLite rewrites at every commit of any process (see `token_cache`; off
//!   with [`SqliteStore::with_token_cache`]).
//! - Migrations are applied at open (see `schema_migrations`).
//! - Session ids come from AUTOINCREMENT and are never reused, even after rows are deleted.
//!
//! Several processes may open the same file (SQLite's own locking plus `busy_timeout` keep
//! them consistent), but PostgreSQL is the backend meant for several server nodes.
//!
//! Choices where the [`Store`] contract is silent (the PostgreSQL backend passes the same
//! conformance suite):
//! - `users` and `get_settings` answer in request order, duplicates collapsed.
//! - `set_settings` naming an unknown user fails with [`StoreError::NotFound`] and changes
//!   nobody; a change with no fields is a no-op (no empty settings row). `clear_settings`
//!   ignores users that have no settings.
//! - `create_session` needs the user to be a member of the team ([`StoreError::NotFound`]
//!   otherwise) and a session token no other token or session uses ([`StoreError::Conflict`]).
//! - `dump` leaves revoked sessions out: the fixture format cannot say "revoked", and loading
//!   a dump must not bring them back.
//! - `revoke_token_audited` stamps `revoked_at` with the wall clock (it takes no `now`); only
//!   the fact of revocation is ever read.
//! - A fixture replacing several orgs may move session ids and tokens between them.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use sessions_store_sqlite::SqliteStore;
//! use sessions_store::Store;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = SqliteStore::open(dir.path().join("db/state.db").to_str().unwrap()).await.unwrap();
//! let secret = store.server_secret().await.unwrap();
//! assert_eq!(secret, store.server_secret().await.unwrap());
//! assert!(store.commit_count() >= 1);
//! # });
//! ```

mod audit;
mod directory;
mod engine;
mod fixture;
mod queries;
mod schema;
mod token_cache;

use std::path::Path;
use std::sync::Arc;

use engine::{snapshot, Ctx, Engine};
use token_cache::{Cached, TokenCache};

use sessions_store::*;

/// The SQLite store. Cheap to share behind an `Arc`; dropping it finishes queued writes and
/// closes the file.
#[derive(Debug)]
pub struct SqliteStore {
    engine: Engine,
    /// Told about every call (see [`Store::set_observer`]).
    observer: ObserverSlot,
    /// Token lookups remembered while the database is unchanged (see `token_cache`).
    tokens: TokenCache,
}

impl SqliteStore {
    /// Opens (creating the file and its parent directories if needed) and runs migrations.
    pub async fn open(path: &str) -> Result<Self> {
        if path.is_empty() || path == ":memory:" {
            // WAL and a separate writer need a real file shared by several connections.
            return Err(StoreError::BadUrl(format!(
                "sqlite://{path} (a file path is required)"
            )));
        }
        let path = Path::new(path).to_owned();
        let engine = tokio::task::spawn_blocking(move || Engine::open(&path))
            .await
            .map_err(|e| StoreError::backend_from(format!("sqlite: open task failed: {e}"), e))??;
        // Migrations have read the database in WAL mode, so its `-shm` file exists.
        let tokens = TokenCache::new(engine.path(), true);
        Ok(SqliteStore {
            engine,
            tokens,
            observer: ObserverSlot::default(),
        })
    }

    /// Turns the token-lookup cache on (the default) or off. Off, every call authenticates
    /// against the database; benchmarks use it to show what the cache saves.
    pub fn with_token_cache(mut self, on: bool) -> Self {
        self.tokens = TokenCache::new(self.engine.path(), on);
        self
    }

    /// Whether token lookups are being remembered (on unless turned off, or the wal-index
    /// could not be opened).
    pub fn token_cache_enabled(&self) -> bool {
        self.tokens.enabled()
    }

    /// Number of transactions the writer has committed since open. Several concurrent writes
    /// share one commit, so under load this grows slower than the number of writes.
    pub fn commit_count(&self) -> u64 {
        self.engine.commit_count()
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        self.engine.path()
    }

    /// The schema version of the open file (the number of applied migrations' latest entry).
    pub async fn schema_version(&self) -> Result<i64> {
        self.engine
            .read(|c| {
                c.query_row(
                    "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                    [],
                    |r| r.get(0),
                )
                .ctx("reading schema version")
            })
            .await
    }

    /// The schema version this build migrates to.
    pub fn latest_schema_version() -> i64 {
        schema::latest()
    }

    /// Creates (or upgrades) the file at `path` only up to schema `version`, without opening a
    /// store on it: for tests of what later migrations do to older files.
    #[doc(hidden)]
    pub fn create_at_schema_version(path: &str, version: i64) -> Result<()> {
        let mut conn = rusqlite::Connection::open(path).ctx("opening the file")?;
        conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;")
            .ctx("setting pragmas")?;
        schema::migrate_to(&mut conn, version)
    }

    /// `EXPLAIN QUERY PLAN` of the page query `list_sessions` runs for `filter`, one line per
    /// plan step (diagnostics, and a test that pages never scan the table).
    pub async fn explain_list_sessions(&self, filter: &SessionFilter) -> Result<Vec<String>> {
        let sql = match filter.user_team {
            None => queries::LIST_ORG_SQL,
            Some(_) => queries::LIST_USER_TEAM_SQL,
        };
        let (user, team) = filter.user_team.clone().unwrap_or_default();
        self.engine
            .read(move |c| {
                let mut stmt = c
                    .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                    .ctx("explaining list")?;
                let args: Vec<Box<dyn rusqlite::ToSql>> = vec![
                    Box::new("E"),
                    Box::new(0i64),
                    Box::new(0i64),
                    Box::new(100i64),
                    Box::new(user),
                    Box::new(team),
                ];
                let n = stmt.parameter_count();
                let rows = stmt
                    .query_map(rusqlite::params_from_iter(args.iter().take(n)), |r| {
                        r.get::<_, String>(3)
                    })
                    .ctx("explaining list")?
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .ctx("explaining list")?;
                Ok(rows)
            })
            .await
    }
}

/// Opens the sqlite store behind a [`DynStore`].
pub async fn open(path: &str) -> Result<DynStore> {
    Ok(Arc::new(SqliteStore::open(path).await?))
}

fn owned(ids: &[String]) -> Vec<String> {
    ids.to_vec()
}

/// Wall-clock seconds, only for the informational `revoked_at` of API tokens (the trait's
/// `revoke_token_audited` takes no `now`).
fn wall_clock() -> UnixTime {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn authenticate(&self, token: &TokenHash, now: UnixTime) -> Result<TokenLookup> {
        self.observer
            .time("authenticate", async {
                // On a miss, the header was read before the lookup below: a commit in between makes the
                // entry stale at once.
                let seen = match self.tokens.get(token, now) {
                    Cached::Hit(lookup) => return Ok(lookup),
                    Cached::Miss(seen) => seen,
                };
                let token = *token;
                let (lookup, expires_at) = self
                    .engine
                    .read_quick(move |c| snapshot(c, |c| queries::authenticate(c, &token, now)))
                    .await?;
                if let Some(seen) = seen {
                    self.tokens.put(&token, seen, &lookup, expires_at);
                }
                Ok(lookup)
            })
            .await
    }

    fn set_observer(&self, observer: std::sync::Arc<dyn StoreObserver>) {
        self.observer.set(observer);
    }

    fn token_cache_stats(&self) -> Option<TokenCacheStats> {
        self.tokens.stats()
    }

    async fn user(&self, org_id: &str, user_id: &str) -> Result<Option<UserRow>> {
        self.observer
            .time("user", async {
                let (org, user) = (org_id.to_owned(), user_id.to_owned());
                self.engine
                    .read_quick(move |c| snapshot(c, |c| queries::user(c, &org, &user)))
                    .await
            })
            .await
    }

    async fn users(&self, org_id: &str, user_ids: &[String]) -> Result<Vec<UserRow>> {
        self.observer
            .time("users", async {
                let (org, ids) = (org_id.to_owned(), owned(user_ids));
                self.engine
                    .read(move |c| snapshot(c, |c| queries::users(c, &org, &ids)))
                    .await
            })
            .await
    }

    async fn team_exists(&self, org_id: &str, team_id: &str) -> Result<bool> {
        self.observer
            .time("team_exists", async {
                let (org, team) = (org_id.to_owned(), team_id.to_owned());
                self.engine
                    .read_quick(move |c| Ok(queries::team_name(c, &org, &team)?.is_some()))
                    .await
            })
            .await
    }

    async fn user_record(&self, org_id: &str, user_id: &str) -> Result<Option<UserRecord>> {
        self.observer
            .time("user_record", async {
                let (org, user) = (org_id.to_owned(), user_id.to_owned());
                self.engine
                    .read_quick(move |c| snapshot(c, |c| directory::by_id(c, &org, &user)))
                    .await
            })
            .await
    }

    async fn user_by_email(&self, org_id: &str, email: &str) -> Result<Option<UserRecord>> {
        self.observer
            .time("user_by_email", async {
                let (org, email) = (org_id.to_owned(), email.to_owned());
                self.engine
                    .read_quick(move |c| snapshot(c, |c| directory::by_email(c, &org, &email)))
                    .await
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
                let org = org_id.to_owned();
                let (team, after) = (team_id.map(str::to_owned), after.map(str::to_owned));
                self.engine
                    .read(move |c| {
                        snapshot(c, |c| {
                            directory::list(c, &org, team.as_deref(), after.as_deref(), limit)
                        })
                    })
                    .await
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
                let (org, filter) = (org_id.to_owned(), filter.clone());
                self.engine
                    .read(move |c| queries::list_sessions(c, &org, &filter, after, limit, now))
                    .await
            })
            .await
    }

    async fn session(&self, org_id: &str, session_id: u64) -> Result<Option<SessionRow>> {
        self.observer
            .time("session", async {
                let org = org_id.to_owned();
                self.engine
                    .read_quick(move |c| queries::session(c, &org, session_id))
                    .await
            })
            .await
    }

    async fn create_session(&self, new: NewSession) -> Result<SessionRow> {
        self.observer
            .time("create_session", async {
                self.engine
                    .write(move |c| queries::create_session(c, &new))
                    .await
            })
            .await
    }

    async fn get_settings(&self, org_id: &str, user_ids: &[String]) -> Result<Vec<SettingsRow>> {
        self.observer
            .time("get_settings", async {
                let (org, ids) = (org_id.to_owned(), owned(user_ids));
                self.engine
                    .read(move |c| snapshot(c, |c| queries::get_settings(c, &org, &ids)))
                    .await
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
                let (org, ids) = (org_id.to_owned(), owned(user_ids));
                self.engine
                    .read(move |c| {
                        snapshot(c, |c| queries::users_with_sessions(c, &org, &ids, now))
                    })
                    .await
            })
            .await
    }

    async fn expire_sessions(&self, now: UnixTime, limit: u32) -> Result<u64> {
        self.observer
            .time("expire_sessions", async {
                self.engine
                    .write(move |c| queries::expire_sessions(c, now, limit))
                    .await
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
                let (org, entry) = (org_id.to_owned(), entry.clone());
                self.engine
                    .write(move |c| {
                        let applied = queries::invalidate_session(c, &org, session_id, now)?;
                        if applied {
                            audit::append(c, &entry)?;
                        }
                        Ok(applied)
                    })
                    .await
            })
            .await
    }

    async fn revoke_token_audited(&self, token: &TokenHash, entry: &AuditEntry) -> Result<bool> {
        self.observer
            .time("revoke_token", async {
                let (token, entry) = (*token, entry.clone());
                let now = wall_clock();
                self.engine
                    .write(move |c| {
                        let applied = queries::revoke_token(c, &token, now)?;
                        if applied {
                            audit::append(c, &entry)?;
                        }
                        Ok(applied)
                    })
                    .await
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
                let (org, user, entry) = (org_id.to_owned(), user_id.to_owned(), entry.clone());
                self.engine
                    .write(move |c| {
                        let n = queries::reset_user(c, &org, &user, filter, now)?;
                        audit::append(c, &entry)?;
                        Ok(n)
                    })
                    .await
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
                let (org, ids, entry) = (org_id.to_owned(), owned(user_ids), entry.clone());
                self.engine
                    .write(move |c| {
                        queries::set_settings(c, &org, &ids, change)?;
                        audit::append(c, &entry).map(drop)
                    })
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
                let (org, ids, entry) = (org_id.to_owned(), owned(user_ids), entry.clone());
                self.engine
                    .write(move |c| {
                        queries::clear_settings(c, &org, &ids)?;
                        audit::append(c, &entry).map(drop)
                    })
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
                let (org, actor, ids) =
                    (org_id.to_owned(), actor_user_id.to_owned(), owned(user_ids));
                let entry = entry.clone();
                self.engine
                    .write(move |c| {
                        let id = queries::enqueue_bulk_reset(
                            c, &org, &actor, &ids, filter, now, run_after,
                        )?;
                        audit::append(c, &entry.with_job_id(id))?;
                        Ok(id)
                    })
                    .await
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
                let worker = worker.to_owned();
                self.engine
                    .write(move |c| queries::claim_bulk_job(c, &worker, now, lease_secs))
                    .await
            })
            .await
    }

    async fn complete_bulk_job(&self, claim: &JobClaim, now: UnixTime) -> Result<BulkJob> {
        self.observer
            .time("complete_bulk_job", async {
                let claim = claim.clone();
                self.engine
                    .write(move |c| queries::complete_bulk_job(c, &claim, now))
                    .await
            })
            .await
    }

    async fn bulk_job(&self, org_id: &str, job_id: i64) -> Result<Option<BulkJob>> {
        self.observer
            .time("bulk_job", async {
                let org = org_id.to_owned();
                self.engine
                    .read(move |c| queries::bulk_job(c, &org, job_id))
                    .await
            })
            .await
    }

    async fn pending_bulk_jobs(&self) -> Result<u64> {
        self.observer
            .time("pending_bulk_jobs", async {
                self.engine.read(|c| queries::pending_bulk_jobs(c)).await
            })
            .await
    }

    async fn load_fixture(&self, fixture: &Fixture, now: UnixTime) -> Result<()> {
        // Timed (once) by `load_fixture_owned`.
        self.load_fixture_owned(fixture.clone(), now).await
    }

    async fn load_fixture_owned(&self, fixture: Fixture, now: UnixTime) -> Result<()> {
        self.observer
            .time("load_fixture", async {
                // Checked here too so a bad file is refused without a trip to the writer.
                fixture.check()?;
                self.engine
                    .write(move |c| fixture::load_fixture(c, &fixture, now))
                    .await
            })
            .await
    }

    async fn dump(&self, org_id: Option<&str>) -> Result<Fixture> {
        self.observer
            .time("dump", async {
                let org = org_id.map(str::to_owned);
                self.engine
                    .read(move |c| snapshot(c, |c| fixture::dump(c, org.as_deref())))
                    .await
            })
            .await
    }

    async fn reset_all(&self) -> Result<()> {
        self.observer
            .time("reset_all", async {
                self.engine.write(fixture::reset_all).await
            })
            .await
    }

    async fn server_secret(&self) -> Result<Vec<u8>> {
        self.observer
            .time("server_secret", async {
                if let Some(s) = self.engine.read(|c| fixture::server_secret(c)).await? {
                    return Ok(s);
                }
                self.engine.write(fixture::create_server_secret).await
            })
            .await
    }

    async fn prune_audit(&self, before: UnixTime, limit: u32) -> Result<u64> {
        self.observer
            .time("prune_audit", async {
                self.engine
                    .write(move |c| audit::prune(c, before, limit))
                    .await
            })
            .await
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<i64> {
        self.observer
            .time("append_audit", async {
                let entry = entry.clone();
                self.engine.write(move |c| audit::append(c, &entry)).await
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
                let (org, filter) = (org_id.to_owned(), filter.clone());
                self.engine
                    .read(move |c| audit::list(c, &org, &filter, page, limit))
                    .await
            })
            .await
    }
}
