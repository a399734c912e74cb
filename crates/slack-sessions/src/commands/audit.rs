//! `audit`: the audit log of admin actions, newest first, one page or every page.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;
use futures::StreamExt;
use sessions_server::emulator::rfc3339;
use sessions_wire::audit::{AuditLogEntry, AuditLogsRequest};

use super::{check, stdout, Outcome};
use crate::cli::{AuditArgs, AuditFormat, Global};
use crate::errors::UsageError;
use crate::output::write_table;

const HEADERS: [&str; 6] = ["TIME", "ACTOR", "ACTION", "TARGET", "IP", "RESULT"];

fn actor(e: &AuditLogEntry) -> String {
    match &e.actor.user.name {
        Some(n) => format!("{} ({n})", e.actor.user.id),
        None => e.actor.user.id.clone(),
    }
}

fn row(e: &AuditLogEntry) -> Vec<String> {
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    vec![
        rfc3339(e.date_create),
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

/// One entry in `format`: NDJSON is written at once; a table row or a JSON entry is kept for
/// the document written at the end.
fn take(
    format: AuditFormat,
    e: AuditLogEntry,
    out: &mut impl Write,
    rows: &mut Vec<Vec<String>>,
    entries: &mut Vec<AuditLogEntry>,
) -> Result<()> {
    match format {
        AuditFormat::Ndjson => {
            serde_json::to_writer(&mut *out, &e)?;
            writeln!(out)?;
        }
        AuditFormat::Table => rows.push(row(&e)),
        AuditFormat::Json => entries.push(e),
    }
    Ok(())
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
                // NDJSON streams: memory stays at one page.
                take(a.format, e, &mut out, &mut rows, &mut entries)?;
            }
            out.flush()?;
        }
    } else {
        let page = client.audit_logs(req).await?;
        next = page.next_cursor().unwrap_or("").to_owned();
        for e in page.entries {
            take(a.format, e, &mut out, &mut rows, &mut entries)?;
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
