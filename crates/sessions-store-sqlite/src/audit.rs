//! Audit log queries (schema version 2; per-org entry ids since version 4).

use rusqlite::types::{ToSql, Type};
use rusqlite::{params, Connection, Row};

use super::engine::Ctx;
use sessions_store::*;

const COLS: &str = "id, org_id, at, actor_user_id, action, method, target_user_ids, session_id, \
                    details, ip, user_agent, result";

fn bad(col: usize, msg: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(col, Type::Text, msg.into())
}

fn row(r: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    let targets: String = r.get(6)?;
    let details: String = r.get(8)?;
    let session: Option<i64> = r.get(7)?;
    Ok(AuditEntry {
        id: r.get(0)?,
        org_id: r.get(1)?,
        at: r.get(2)?,
        actor_user_id: r.get(3)?,
        action: r.get(4)?,
        method: r.get(5)?,
        target_user_ids: serde_json::from_str(&targets)
            .map_err(|e| bad(6, format!("bad JSON: {e}")))?,
        session_id: session.map(|s| s.max(0) as u64),
        details: serde_json::from_str(&details).map_err(|e| bad(8, format!("bad JSON: {e}")))?,
        ip: r.get(9)?,
        user_agent: r.get(10)?,
        result: r.get(11)?,
    })
}

pub(super) fn append(conn: &Connection, e: &AuditEntry) -> Result<i64> {
    let id = super::queries::next_org_id(conn, &e.org_id, "audit")?;
    conn.prepare_cached(
        "INSERT INTO audit_log (org_id, at, actor_user_id, action, method, target_user_ids, \
         session_id, details, ip, user_agent, result, id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )
    .ctx("appending audit entry")?
    .execute(params![
        e.org_id,
        e.at,
        e.actor_user_id,
        e.action,
        e.method,
        encode(&e.target_user_ids)?,
        e.session_id.map(|s| i64::try_from(s).unwrap_or(i64::MAX)),
        encode(&e.details)?,
        e.ip,
        e.user_agent,
        e.result,
        id,
    ])
    .ctx("appending audit entry")?;
    let mut seen = std::collections::HashSet::new();
    let mut stmt = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO audit_targets (org_id, user_id, entry_id) VALUES (?1, ?2, ?3)",
        )
        .ctx("indexing audit entry")?;
    for u in e.target_user_ids.iter().filter(|u| seen.insert(u.as_str())) {
        stmt.execute(params![e.org_id, u, id])
            .ctx("indexing audit entry")?;
    }
    Ok(id)
}

fn encode<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::backend_from(format!("encoding JSON: {e}"), e))
}

pub(super) fn list(
    conn: &Connection,
    org: &str,
    f: &AuditFilter,
    page: AuditPage,
    limit: u32,
) -> Result<Vec<AuditEntry>> {
    let mut sql = format!("SELECT {COLS} FROM audit_log WHERE org_id = ?1");
    let mut args: Vec<Box<dyn ToSql>> = vec![Box::new(org.to_owned())];
    let mut push = |cond: &str, v: Box<dyn ToSql>, args: &mut Vec<Box<dyn ToSql>>| {
        args.push(v);
        sql.push_str(&cond.replace('#', &format!("?{}", args.len())));
    };
    if let Some(a) = &f.action {
        push(" AND action = #", Box::new(a.clone()), &mut args);
    }
    if let Some(a) = &f.actor {
        push(" AND actor_user_id = #", Box::new(a.clone()), &mut args);
    }
    if let Some(u) = &f.user {
        push(
            " AND id IN (SELECT entry_id FROM audit_targets WHERE org_id = ?1 AND user_id = #)",
            Box::new(u.clone()),
            &mut args,
        );
    }
    if let Some(t) = f.oldest {
        push(" AND at >= #", Box::new(t), &mut args);
    }
    if let Some(t) = f.latest {
        push(" AND at <= #", Box::new(t), &mut args);
    }
    let order = match page {
        AuditPage::Newest => "DESC",
        AuditPage::Before(id) => {
            push(" AND id < #", Box::new(id), &mut args);
            "DESC"
        }
        AuditPage::After(id) => {
            push(" AND id > #", Box::new(id), &mut args);
            "ASC"
        }
    };
    args.push(Box::new(i64::from(limit)));
    sql.push_str(&format!(" ORDER BY id {order} LIMIT ?{}", args.len()));
    let mut stmt = conn.prepare_cached(&sql).ctx("reading audit log")?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(args.iter()), row)
        .ctx("reading audit log")?
        .collect::<rusqlite::Result<Vec<_>>>()
        .ctx("reading audit log")?;
    Ok(rows)
}

/// Address and user agent of a job's `bulk_session_reset_by_admin` entry.
fn job_origin(conn: &Connection, job: &BulkJob) -> Result<(Option<String>, Option<String>)> {
    use rusqlite::OptionalExtension;
    let found = conn
        .prepare_cached(
            "SELECT ip, user_agent FROM audit_log WHERE org_id = ?1 AND action = ?2 \
             AND actor_user_id = ?3 AND json_extract(details, '$.job_id') = ?4 \
             ORDER BY id DESC LIMIT 1",
        )
        .ctx("reading the job's audit entry")?
        .query_row(
            params![job.org_id, ACTION_BULK_RESET, job.actor_user_id, job.job_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .ctx("reading the job's audit entry")?;
    Ok(found.unwrap_or((None, None)))
}

/// The per-user entries of a job just completed (same savepoint as the completion).
pub(super) fn append_job_entries(conn: &Connection, job: &BulkJob, now: UnixTime) -> Result<()> {
    let origin = job_origin(conn, job)?;
    for e in sessions_store::job_user_entries(job, now, origin) {
        append(conn, &e)?;
    }
    Ok(())
}

/// Deletes up to `limit` entries older than `before`, oldest first, with their target rows.
pub(super) fn prune(conn: &Connection, before: UnixTime, limit: u32) -> Result<u64> {
    let ids = conn
        .prepare_cached(
            "SELECT org_id, id FROM audit_log WHERE at < ?1 ORDER BY at, org_id, id LIMIT ?2",
        )
        .ctx("finding old audit entries")?
        .query_map(params![before, limit], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })
        .ctx("finding old audit entries")?
        .collect::<rusqlite::Result<Vec<_>>>()
        .ctx("finding old audit entries")?;
    for (org, id) in &ids {
        conn.prepare_cached("DELETE FROM audit_targets WHERE org_id = ?1 AND entry_id = ?2")
            .ctx("pruning audit targets")?
            .execute(params![org, id])
            .ctx("pruning audit targets")?;
        conn.prepare_cached("DELETE FROM audit_log WHERE org_id = ?1 AND id = ?2")
            .ctx("pruning audit entries")?
            .execute(params![org, id])
            .ctx("pruning audit entries")?;
    }
    Ok(ids.len() as u64)
}
