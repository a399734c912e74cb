//! `reset-bulk`: any number of users, in chunks of [`USER_IDS_MAX`].
//!
//! When Slack refuses a chunk because of particular users, it names each one on a line
//! `[ERROR] <code>: <user_id>`; those users are recorded as failed with that reason and the rest
//! of the chunk is sent again. Errors that no retry can fix (bad token, missing scope, not an
//! admin, unreachable server) stop the run. The summary lists every failed user with its reason.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use sessions_client::Error as ClientError;
use sessions_wire::args::is_plausible_id;
use sessions_wire::{ErrorCode, ResetBulkRequest, USER_IDS_MAX};

use super::{client, scope_flags, scope_words, stdout, Outcome};
use crate::cli::{Global, ResetBulkArgs};
use crate::errors::{is_fatal, UsageError};
use crate::parse;
use sessions_revoke::offenders;

/// Reads the user ids from the arguments, a file or stdin; deduplicated, order kept.
fn gather(a: &ResetBulkArgs) -> Result<Vec<String>> {
    let mut ids = Vec::new();
    let mut stdin_used = false;
    let mut read_stdin = |ids: &mut Vec<String>| -> Result<()> {
        if !stdin_used {
            stdin_used = true;
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading user ids from stdin")?;
            parse::user_ids_from_text(&text, ids);
        }
        Ok(())
    };
    for arg in &a.users {
        if arg == "-" {
            read_stdin(&mut ids)?;
        } else {
            parse::split_ids(arg, &mut ids);
        }
    }
    if let Some(path) = &a.file {
        if path == Path::new("-") {
            read_stdin(&mut ids)?;
        } else {
            let text = std::fs::read_to_string(path).map_err(|e| {
                UsageError::new(format!("cannot read --file {}: {e}", path.display()))
            })?;
            parse::user_ids_from_text(&text, &mut ids);
        }
    }
    let ids = parse::dedupe(ids);
    if ids.is_empty() {
        return Err(UsageError::new("no user ids given")
            .hint("pass user ids, --file FILE, or - to read them from stdin")
            .into());
    }
    let bad: Vec<&str> = ids
        .iter()
        .filter(|id| !is_plausible_id(id))
        .map(String::as_str)
        .collect();
    if !bad.is_empty() {
        let shown: Vec<&str> = bad.iter().copied().take(5).collect();
        let more = if bad.len() > 5 {
            format!(" and {} more", bad.len() - 5)
        } else {
            String::new()
        };
        return Err(UsageError::new(format!(
            "invalid_arguments: not a user id: {}{more}",
            shown.join(", ")
        ))
        .hint("user ids are letters and digits like W012ABC; nothing was sent")
        .into());
    }
    Ok(ids)
}

/// What happened to each user.
#[derive(Debug, Default)]
struct Tally {
    done: usize,
    /// Failed users by reason, in the order they failed.
    failed: BTreeMap<String, Vec<String>>,
    failed_count: usize,
}

impl Tally {
    fn fail(&mut self, users: impl IntoIterator<Item = String>, reason: String) {
        let list = self.failed.entry(reason).or_default();
        let before = list.len();
        list.extend(users);
        self.failed_count += list.len() - before;
    }

    fn write_summary(&self, out: &mut impl Write, not_attempted: usize) -> std::io::Result<()> {
        writeln!(
            out,
            "Reset done for {} user{}; {} failed.",
            self.done,
            plural(self.done),
            self.failed_count
        )?;
        if not_attempted > 0 {
            writeln!(out, "Not attempted (stopped early): {not_attempted} users.")?;
        }
        for (reason, users) in &self.failed {
            writeln!(
                out,
                "Failed ({reason}): {} user{}",
                users.len(),
                plural(users.len())
            )?;
            for u in users {
                writeln!(out, "  {u}")?;
            }
        }
        Ok(())
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn describe(code: &ErrorCode) -> String {
    format!("{code}: {}", code.description())
}

pub async fn run(g: &Global, a: ResetBulkArgs) -> Result<Outcome> {
    let ids = gather(&a)?;
    let (mobile_only, web_only) = scope_flags(a.mobile_only, a.web_only);
    let scope = scope_words(a.mobile_only, a.web_only);
    let chunks: Vec<&[String]> = ids.chunks(USER_IDS_MAX).collect();

    if a.dry_run {
        let mut out = stdout();
        writeln!(
            out,
            "Dry run: would reset {scope} of {} users in {} admin.users.session.resetBulk \
             call(s). Nothing was sent.",
            ids.len(),
            chunks.len()
        )?;
        for (i, c) in chunks.iter().enumerate() {
            let first = c.first().map(String::as_str).unwrap_or("");
            let last = c.last().map(String::as_str).unwrap_or("");
            writeln!(
                out,
                "  call {}: {} users ({first} .. {last})",
                i + 1,
                c.len()
            )?;
        }
        out.flush()?;
        return Ok(Outcome::Done);
    }

    let client = client(g, !a.no_throttle)?;
    let bar = if std::io::stderr().is_terminal() && !g.quiet {
        let bar = ProgressBar::new(ids.len() as u64);
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {pos}/{len} users {msg} (eta {eta})")
        {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };

    let mut tally = Tally::default();
    let mut stopped: Option<(anyhow::Error, usize)> = None;
    'chunks: for (i, chunk) in chunks.iter().enumerate() {
        let mut pending: Vec<String> = chunk.to_vec();
        while !pending.is_empty() {
            let req = ResetBulkRequest {
                user_ids: pending.clone(),
                mobile_only,
                web_only,
            };
            match client.admin_users_session_reset_bulk(req).await {
                Ok(_) => {
                    tally.done += pending.len();
                    bar.inc(pending.len() as u64);
                    pending.clear();
                }
                Err(ClientError::Api { code, messages, .. }) if !is_fatal(&code) => {
                    let named = offenders(&messages, &pending);
                    if named.is_empty() {
                        // Nothing says who is at fault: the whole rest of the chunk failed.
                        tracing::warn!(%code, chunk = i + 1, "chunk refused");
                        bar.inc(pending.len() as u64);
                        tally.fail(std::mem::take(&mut pending), describe(&code));
                    } else {
                        for (user, why) in named {
                            pending.retain(|u| u != &user);
                            bar.inc(1);
                            tally.fail([user], describe(&why));
                        }
                    }
                }
                Err(
                    e @ (ClientError::Timeout
                    | ClientError::Http { .. }
                    | ClientError::RateLimited { .. }
                    | ClientError::Decode { .. }),
                ) => {
                    // The outcome of this chunk is unknown or refused; later chunks may work.
                    tracing::warn!(chunk = i + 1, error = %e, "chunk failed");
                    bar.inc(pending.len() as u64);
                    tally.fail(std::mem::take(&mut pending), format!("{e}"));
                }
                Err(e) => {
                    let rest: usize = chunks[i + 1..].iter().map(|c| c.len()).sum();
                    stopped = Some((e.into(), rest + pending.len()));
                    break 'chunks;
                }
            }
        }
    }
    bar.finish_and_clear();

    let mut out = stdout();
    tally.write_summary(&mut out, stopped.as_ref().map_or(0, |s| s.1))?;
    out.flush()?;
    match stopped {
        Some((e, _)) => Err(e),
        None if tally.failed_count > 0 => Ok(Outcome::Partial),
        None => Ok(Outcome::Done),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_counts_and_groups_failures() {
        let mut t = Tally {
            done: 5,
            ..Default::default()
        };
        t.fail(["W1".to_owned()], "a".into());
        t.fail(["W2".to_owned(), "W3".to_owned()], "b".into());
        t.fail(["W4".to_owned()], "a".into());
        assert_eq!(t.failed_count, 4);
        let mut buf = Vec::new();
        t.write_summary(&mut buf, 0).unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "Reset done for 5 users; 4 failed.\nFailed (a): 2 users\n  W1\n  W4\n\
             Failed (b): 2 users\n  W2\n  W3\n"
        );
    }
}
