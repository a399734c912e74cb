//! Audit log queries (schema version 2).
//!
//! Entry ids are per-org numbers from `org_counters` (schema version 4), so an org's ids say
//! nothing about other orgs. Taking the next number locks the org's counter row until the
//! append's transaction commits (it is the last statement of an admin write's transaction):
//! one org's audited writes commit one at a time, in id order, while other orgs' proceed.

use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::TxError;
use sessions_store::*;

pub(super) const MIGRATION_V2: &str = r#"
CREATE TABLE audit_log (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id          TEXT NOT NULL,
    at              BIGINT NOT NULL,
    actor_user_id   TEXT NOT NULL,
    action          TEXT NOT NULL,
    method          TEXT NOT NULL,
    target_user_ids TEXT[] NOT NULL,
    session_id      BIGINT,
    details         TEXT NOT NULL,
    ip              TEXT,
    user_agent      TEXT,
    result          TEXT NOT NULL
);
CREATE INDEX audit_log_org ON audit_log (org_id, id);
CREATE INDEX audit_log_org_action ON audit_log (org_id, action, id);
CREATE INDEX audit_log_org_actor ON audit_log (org_id, actor_user_id, id);
CREATE INDEX audit_log_targets ON audit_log USING GIN (target_user_ids);
"#;

/// Version 3: audit retention deletes by age, oldest first.
pub(super) const MIGRATION_V3: &str = "CREATE INDEX audit_log_at ON audit_log (at, id);";

/// Version 4: ids an org sees reveal nothing about other orgs, and expiry is final.
///
/// - Audit entry ids and resetBulk job ids become per-org numbers allocated from
///   `org_counters` (see [`next_org_id`]); existing rows are renumbered per org in their old
///   order, and job ids inside audit details with their jobs (also those of jobs already
///   deleted with their org). Primary keys become `(org_id, id)` / `(org_id, job_id)`.
/// - `sessions_expiring` finds sessions past their expiry not yet marked ended.
pub(super) const MIGRATION_V4: &str = r#"
CREATE TABLE org_counters (
    org_id TEXT NOT NULL,
    kind   TEXT NOT NULL CHECK (kind IN ('audit', 'job')),
    last   BIGINT NOT NULL,
    PRIMARY KEY (org_id, kind)
);

CREATE TEMP TABLE v4_job_ids ON COMMIT DROP AS
    SELECT org_id, old_id,
           row_number() OVER (PARTITION BY org_id ORDER BY old_id) AS new_id
    FROM (SELECT org_id, job_id AS old_id FROM bulk_jobs
          UNION
          SELECT org_id, (details::jsonb ->> 'job_id')::bigint FROM audit_log
          WHERE jsonb_typeof(details::jsonb -> 'job_id') = 'number') x;
CREATE TEMP TABLE v4_audit_ids ON COMMIT DROP AS
    SELECT id AS old_id, row_number() OVER (PARTITION BY org_id ORDER BY id) AS new_id
    FROM audit_log;

ALTER TABLE bulk_jobs ALTER COLUMN job_id DROP IDENTITY;
ALTER TABLE bulk_jobs DROP CONSTRAINT bulk_jobs_pkey;
UPDATE bulk_jobs j SET job_id = m.new_id
    FROM v4_job_ids m WHERE m.org_id = j.org_id AND m.old_id = j.job_id;
ALTER TABLE bulk_jobs ADD PRIMARY KEY (org_id, job_id);
DROP INDEX bulk_jobs_pending;
DROP INDEX bulk_jobs_by_org;
CREATE INDEX bulk_jobs_pending ON bulk_jobs (created_at, org_id, job_id) WHERE state = 'pending';

UPDATE audit_log a
    SET details = jsonb_set(a.details::jsonb, '{job_id}', to_jsonb(m.new_id))::text
    FROM v4_job_ids m
    WHERE jsonb_typeof(a.details::jsonb -> 'job_id') = 'number'
      AND m.org_id = a.org_id AND m.old_id = (a.details::jsonb ->> 'job_id')::bigint;
ALTER TABLE audit_log ALTER COLUMN id DROP IDENTITY;
ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey;
UPDATE audit_log a SET id = m.new_id FROM v4_audit_ids m WHERE m.old_id = a.id;
ALTER TABLE audit_log ADD PRIMARY KEY (org_id, id);
DROP INDEX audit_log_org;

INSERT INTO org_counters (org_id, kind, last)
    SELECT org_id, 'job', max(new_id) FROM v4_job_ids GROUP BY org_id;
INSERT INTO org_counters (org_id, kind, last)
    SELECT org_id, 'audit', max(id) FROM audit_log GROUP BY org_id;

CREATE INDEX sessions_expiring ON sessions (expires_at)
    WHERE revoked_at IS NULL AND expires_at IS NOT NULL;
"#;

/// The next per-org number of `kind` (`audit` or `job`) in the caller's transaction. The
/// counter row stays locked until that transaction ends, so within an org ids also commit in
/// order (and an org's audited writes commit one at a time; other orgs are not held up).
pub(super) async fn next_org_id(
    tx: &tokio_postgres::Transaction<'_>,
    org: &str,
    kind: &str,
) -> Result<i64, TxError> {
    let row = tx
        .query_one(
            "INSERT INTO org_counters (org_id, kind, last) VALUES ($1, $2, 1)
             ON CONFLICT (org_id, kind) DO UPDATE SET last = org_counters.last + 1
             RETURNING last",
            &[&org, &kind],
        )
        .await?;
    Ok(row.try_get(0)?)
}

/// Deletes up to `limit` entries older than `before`, oldest first.
pub(super) async fn prune(
    c: &deadpool_postgres::Client,
    before: UnixTime,
    limit: u32,
) -> Result<u64, TxError> {
    let n = c
        .execute(
            "DELETE FROM audit_log WHERE (org_id, id) IN \
             (SELECT org_id, id FROM audit_log WHERE at < $1 ORDER BY at, id LIMIT $2)",
            &[&before, &i64::from(limit)],
        )
        .await?;
    Ok(n)
}

const COLS: &str = "id, org_id, at, actor_user_id, action, method, target_user_ids, session_id, \
                    details, ip, user_agent, result";

fn from_row(r: &Row) -> Result<AuditEntry, TxError> {
    let details: String = r.try_get("details")?;
    let session: Option<i64> = r.try_get("session_id")?;
    Ok(AuditEntry {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        at: r.try_get("at")?,
        actor_user_id: r.try_get("actor_user_id")?,
        action: r.try_get("action")?,
        method: r.try_get("method")?,
        target_user_ids: r.try_get("target_user_ids")?,
        session_id: session.map(|s| s.max(0) as u64),
        details: serde_json::from_str(&details)
            .map_err(|_| super::corrupt("audit details", &details))?,
        ip: r.try_get("ip")?,
        user_agent: r.try_get("user_agent")?,
        result: r.try_get("result")?,
    })
}

pub(super) async fn append(
    c: &mut deadpool_postgres::Client,
    e: &AuditEntry,
) -> Result<i64, TxError> {
    let tx = c.transaction().await?;
    let id = append_in(&tx, e).await?;
    tx.commit().await?;
    Ok(id)
}

/// Appends inside the caller's transaction.
pub(super) async fn append_in(
    tx: &tokio_postgres::Transaction<'_>,
    e: &AuditEntry,
) -> Result<i64, TxError> {
    let details = serde_json::to_string(&e.details)
        .map_err(|err| StoreError::Backend(format!("encoding audit details: {err}")))?;
    let session = e.session_id.map(|s| i64::try_from(s).unwrap_or(i64::MAX));
    let id = next_org_id(tx, &e.org_id, "audit").await?;
    tx.execute(
        "INSERT INTO audit_log (org_id, at, actor_user_id, action, method, target_user_ids,
                 session_id, details, ip, user_agent, result, id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            &e.org_id,
            &e.at,
            &e.actor_user_id,
            &e.action,
            &e.method,
            &e.target_user_ids,
            &session,
            &details,
            &e.ip,
            &e.user_agent,
            &e.result,
            &id,
        ],
    )
    .await?;
    Ok(id)
}

/// The per-user entries of a job being completed in `tx`, with the address and user agent of
/// the job's `bulk_session_reset_by_admin` entry.
pub(super) async fn append_job_entries(
    tx: &tokio_postgres::Transaction<'_>,
    job: &BulkJob,
    now: UnixTime,
) -> Result<(), TxError> {
    let origin = tx
        .query_opt(
            "SELECT ip, user_agent FROM audit_log WHERE org_id = $1 AND action = $2
               AND actor_user_id = $3 AND (details::jsonb ->> 'job_id') = $4
             ORDER BY id DESC LIMIT 1",
            &[
                &job.org_id,
                &ACTION_BULK_RESET,
                &job.actor_user_id,
                &job.job_id.to_string(),
            ],
        )
        .await?
        .map(|r| -> Result<_, TxError> { Ok((r.try_get(0)?, r.try_get(1)?)) })
        .transpose()?
        .unwrap_or((None, None));
    for e in sessions_store::job_user_entries(job, now, origin) {
        append_in(tx, &e).await?;
    }
    Ok(())
}

pub(super) async fn list(
    c: &deadpool_postgres::Client,
    org: &str,
    f: &AuditFilter,
    page: AuditPage,
    limit: u32,
) -> Result<Vec<AuditEntry>, TxError> {
    let mut sql = format!("SELECT {COLS} FROM audit_log WHERE org_id = $1");
    let mut args: Vec<Box<dyn ToSql + Sync + Send>> = vec![Box::new(org.to_owned())];
    let mut push = |cond: &str, v: Box<dyn ToSql + Sync + Send>, sql: &mut String| {
        args.push(v);
        sql.push_str(&cond.replace('#', &format!("${}", args.len())));
    };
    if let Some(a) = &f.action {
        push(" AND action = #", Box::new(a.clone()), &mut sql);
    }
    if let Some(a) = &f.actor {
        push(" AND actor_user_id = #", Box::new(a.clone()), &mut sql);
    }
    if let Some(u) = &f.user {
        push(
            " AND target_user_ids @> ARRAY[#::text]",
            Box::new(u.clone()),
            &mut sql,
        );
    }
    if let Some(t) = f.oldest {
        push(" AND at >= #", Box::new(t), &mut sql);
    }
    if let Some(t) = f.latest {
        push(" AND at <= #", Box::new(t), &mut sql);
    }
    let order = match page {
        AuditPage::Newest => "DESC",
        AuditPage::Before(id) => {
            push(" AND id < #", Box::new(id), &mut sql);
            "DESC"
        }
        AuditPage::After(id) => {
            push(" AND id > #", Box::new(id), &mut sql);
            "ASC"
        }
    };
    push(
        &format!(" ORDER BY id {order} LIMIT #"),
        Box::new(i64::from(limit)),
        &mut sql,
    );
    let refs: Vec<&(dyn ToSql + Sync)> = args
        .iter()
        .map(|b| b.as_ref() as &(dyn ToSql + Sync))
        .collect();
    let rows = c.query(&sql, &refs).await?;
    rows.iter().map(from_row).collect()
}
