//! Audit log queries (schema version 2).
//!
//! Entry ids come from an identity sequence shared by all nodes. Appends take no lock of their
//! own (most are the last statement of an admin write's transaction, and a lock held through
//! the commit would serialize every audited write): concurrent appends may therefore commit
//! out of id order, which only an [`AuditPage::After`] walk can notice (see
//! [`Store::list_audit`](crate::Store::list_audit)).

use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::TxError;
use crate::*;

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

/// Deletes up to `limit` entries older than `before`, oldest first.
pub(super) async fn prune(
    c: &deadpool_postgres::Client,
    before: UnixTime,
    limit: u32,
) -> Result<u64, TxError> {
    let n = c
        .execute(
            "DELETE FROM audit_log WHERE id IN \
             (SELECT id FROM audit_log WHERE at < $1 ORDER BY at, id LIMIT $2)",
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
    let row = tx
        .query_one(
            "INSERT INTO audit_log (org_id, at, actor_user_id, action, method, target_user_ids,
                 session_id, details, ip, user_agent, result)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
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
            ],
        )
        .await?;
    Ok(row.try_get(0)?)
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
    for e in crate::audit::job_user_entries(job, now, origin) {
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
