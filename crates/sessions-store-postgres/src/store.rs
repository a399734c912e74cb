//! The [`Store`] implementation: each method is one transaction (retried as a whole, see
//! `engine`), timed for the observer.

use std::collections::HashMap;

use sessions_store::*;
use tokio_postgres::error::SqlState;

use crate::engine::*;
use crate::fixture::{dump_in, FixturePlan};
use crate::queries::*;
use crate::{audit, directory, PgStore};

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
                        return lookup_from_row(&row, kind, scopes);
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
                    lookup_from_row(&row, kind, Vec::new())
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
            .time("create_session", self.insert_session(&new))
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

    async fn revoke_token_audited(&self, token: &TokenHash, entry: &AuditEntry) -> Result<bool> {
        self.observer
            .time("revoke_token", async {
                let hash: &[u8] = &token.0;
                with_retry!(self, "revoking a token", |c| {
                    let tx = c.transaction().await?;
                    // The trait gives no `now`: the database clock only records when it happened.
                    // One statement, so of concurrent calls exactly one sees a row (and records).
                    let n = tx
                        .execute(
                            "UPDATE tokens SET revoked_at = EXTRACT(EPOCH FROM now())::bigint
                             WHERE token_hash = $1 AND revoked_at IS NULL",
                            &[&hash],
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
                    let invalidate = tx.prepare_cached(INVALIDATE_SQL).await?;
                    let n = tx.execute(&invalidate, &[&org_id, &id, &now]).await?;
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
                    let results_json = serde_json::to_string(&results).map_err(|e| {
                        StoreError::backend_from(format!("encoding job results: {e}"), e)
                    })?;
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
