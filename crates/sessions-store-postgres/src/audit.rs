//! Audit log queries (schema version 2).
//!
//! Entry ids are per-org numbers from `org_counters` (schema version 4), so an org's ids say
//! nothing about other orgs. Taking the next number locks the org's counter row until the
//! append's transaction commits (it is the last statement of an admin write's transaction):
//! one org's audited writes commit one at a time, in id order, while other orgs' proceed.

use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use crate::engine::TxError;
use sessions_store::*;

/// The next per-org number of `kind` (`audit` or `job`) in the caller's transaction. The
/// counter row stays locked until that transaction ends, so within an org ids also commit in
/// order (and an org's audited writes commit one at a time; other orgs are not held up).
pub(crate) async fn next_org_id(
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
pub(crate) async fn prune(
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
            .map_err(|_| crate::engine::corrupt("audit details", &details))?,
        ip: r.try_get("ip")?,
        user_agent: r.try_get("user_agent")?,
        result: r.try_get("result")?,
    })
}

pub(crate) async fn append(
    c: &mut deadpool_postgres::Client,
    e: &AuditEntry,
) -> Result<i64, TxError> {
    let tx = c.transaction().await?;
    let id = append_in(&tx, e).await?;
    tx.commit().await?;
    Ok(id)
}

/// Appends inside the caller's transaction.
pub(crate) async fn append_in(
    tx: &tokio_postgres::Transaction<'_>,
    e: &AuditEntry,
) -> Result<i64, TxError> {
    let details = serde_json::to_string(&e.details)
        .map_err(|err| StoreError::backend_from(format!("encoding audit details: {err}"), err))?;
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
pub(crate) async fn append_job_entries(
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

pub(crate) async fn list(
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
