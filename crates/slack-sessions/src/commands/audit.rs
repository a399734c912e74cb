//! `audit`: the audit log of admin actions, newest first, one page or every page.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;
use futures::StreamExt;
use sessions_wire::audit::{AuditLogEntry, AuditLogsRequest};

use super::{check, stdout, Outcome};
use crate::cli::{AuditArgs, AuditFormat, Global};
use crate::errors::UsageError;
use crate::output::write_table;

const HEADERS: [&str; 6] = ["TIME", "ACTOR", "ACTION", "TARGET", "IP", "RESULT"];

/// `2026-11-24T06:11:27Z` from unix seconds (proleptic Gregorian, UTC).
pub(crate) fn iso8601(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn actor(e: &AuditLogEntry) -> String {
    match &e.actor.user.name {
        Some(n) => format!("{} ({n})", e.actor.user.id),
        None => e.actor.user.id.clone(),
    }
}

fn row(e: &AuditLogEntry) -> Vec<String> {
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    vec![
        iso8601(e.date_create),
        actor(e),
        e.action.clone(),
        e.target(),
        dash(&e.context.ip_address),
        e.result().to_owned(),
    ]
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub async fn run(g: &Global, a: AuditArgs) -> Result<Outcome> {
    let oldest = match a.since {
        Some(d) => Some(now().checked_sub(d.as_secs()).ok_or_else(|| {
            UsageError::new("--since reaches before 1970").hint("nothing was sent")
        })?),
        None => a.oldest,
    };
    let req = AuditLogsRequest {
        action: a.action,
        actor: a.actor,
        user: a.user,
        oldest,
        latest: a.latest,
        limit: a.limit,
        cursor: a.cursor,
    };
    check(&req)?;
    let client = match &a.audit_url {
        None => super::client(g, false)?,
        Some(url) => sessions_client::Client::builder(super::token(g)?)
            .base_url(&g.api_url)
            .audit_url(url)
            .timeout(g.timeout)
            .build()?,
    };
    let mut req = req;
    req.actor = super::resolve::optional_user(|| Ok(client.clone()), req.actor).await?;
    req.user = super::resolve::optional_user(|| Ok(client.clone()), req.user).await?;
    let mut out = stdout();
    let mut rows = Vec::new();
    let mut entries = Vec::new();
    let mut next = String::new();
    if a.all {
        let mut pages = std::pin::pin!(client.audit_logs_pages(req));
        while let Some(page) = pages.next().await {
            for e in page?.entries {
                match a.format {
                    // Streams: memory stays at one page.
                    AuditFormat::Ndjson => {
                        serde_json::to_writer(&mut out, &e)?;
                        writeln!(out)?;
                    }
                    AuditFormat::Table => rows.push(row(&e)),
                    AuditFormat::Json => entries.push(e),
                }
            }
            out.flush()?;
        }
    } else {
        let page = client.audit_logs(req).await?;
        next = page.next_cursor().unwrap_or("").to_owned();
        for e in page.entries {
            match a.format {
                AuditFormat::Ndjson => {
                    serde_json::to_writer(&mut out, &e)?;
                    writeln!(out)?;
                }
                AuditFormat::Table => rows.push(row(&e)),
                AuditFormat::Json => entries.push(e),
            }
        }
    }
    match a.format {
        AuditFormat::Table => write_table(&mut out, &HEADERS, &rows)?,
        AuditFormat::Json => {
            let doc = serde_json::json!({"entries": entries, "next_cursor": next});
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        AuditFormat::Ndjson => {}
    }
    out.flush()?;
    // JSON carries the cursor; other formats get a hint on stderr.
    if !next.is_empty() && a.format != AuditFormat::Json && !g.quiet {
        let mut err = std::io::stderr().lock();
        writeln!(
            err,
            "More entries: slack-sessions audit --cursor {next} (same filters), or --all"
        )?;
    }
    Ok(Outcome::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_iso8601() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(-1), "1969-12-31T23:59:59Z");
        assert_eq!(iso8601(4_102_444_799), "2099-12-31T23:59:59Z");
    }
}
