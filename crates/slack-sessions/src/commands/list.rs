//! `list`: one page, or every page streamed as it arrives.

use std::io::Write;

use anyhow::Result;
use futures::StreamExt;
use sessions_wire::ListRequest;

use super::{check, client, stdout, Outcome};
use crate::cli::{Format, Global, ListArgs};
use crate::output::SessionWriter;

pub async fn run(g: &Global, a: ListArgs) -> Result<Outcome> {
    let mut req = ListRequest {
        team_id: a.team,
        user_id: a.user,
        limit: a.limit,
        cursor: a.pages.cursor,
    };
    check(&req)?;
    let client = client(g, false)?;
    req.user_id = super::resolve::optional_user(|| Ok(client.clone()), req.user_id).await?;
    if a.pages.all {
        // Pages are fetched by a task one page ahead of the writer (a channel of one), so the
        // next request is in flight while this page is written; memory stays at two pages.
        let (tx, mut rx) = tokio::sync::mpsc::channel(1);
        let fetcher = tokio::spawn(async move {
            let pages = client.admin_users_session_list_pages(req);
            let mut pages = std::pin::pin!(pages);
            while let Some(page) = pages.next().await {
                if tx.send(page).await.is_err() {
                    break; // the writer stopped (error or closed stdout)
                }
            }
        });
        let mut out = SessionWriter::begin(stdout(), a.pages.format, true)?;
        while let Some(page) = rx.recv().await {
            for s in &page?.active_sessions {
                out.session(s)?;
            }
            out.flush()?;
        }
        let n = out.finish("")?;
        fetcher.await?;
        tracing::debug!(sessions = n, "listed every page");
    } else {
        let page = client.admin_users_session_list(req).await?;
        let mut out = SessionWriter::begin(stdout(), a.pages.format, false)?;
        for s in &page.active_sessions {
            out.session(s)?;
        }
        let next = page.next_cursor().unwrap_or("");
        out.finish(next)?;
        // JSON carries the cursor itself; other formats get a hint people (and scripts reading
        // stderr) can use.
        if !next.is_empty() && a.pages.format != Format::Json && !g.quiet {
            let mut err = std::io::stderr().lock();
            writeln!(
                err,
                "More sessions: slack-sessions list --cursor {next} (or --all)"
            )?;
        }
    }
    Ok(Outcome::Done)
}
