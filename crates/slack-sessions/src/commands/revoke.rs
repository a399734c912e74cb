//! `revoke`: the revocation engine (`sessions_revoke`) on the command line. Selection from
//! flags, the plan printed, confirmation, a journal, a progress bar on a terminal, a summary
//! and a report. The logic is the engine's; this file only talks to people.

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use indicatif::{ProgressBar, ProgressStyle};
use sessions_client::{Client, Outcome as RetryOutcome};
use sessions_revoke::{
    build_plan, engine_retry_policy, parse_users_file, report_rows, run as run_plan, Call, Context,
    Error as EngineError, Journal, Pacing, Plan, ReportFormat, RowResult, RunStatus, Selection,
    UserRef,
};
use sessions_wire::ResetScope;

use super::{stdout, token, Outcome};
use crate::cli::{Global, RevokeArgs};
use crate::errors::UsageError;

/// Most rows of a kind the plan and the summary print; the report has them all.
const SHOWN: usize = 20;

pub async fn run(g: &Global, a: RevokeArgs) -> Result<Outcome> {
    let pacing = a.max_rate.map_or_else(Pacing::tier, Pacing::max_rate);
    let report = match &a.report {
        Some(p) => Some((p.clone(), ReportFormat::for_path(p).map_err(usage)?)),
        None => None,
    };
    if let Some(path) = &a.resume {
        return resume(g, &a, path, pacing, report).await;
    }
    let selection = selection(&a)?;
    let waits = Arc::new(AtomicU64::new(0));
    let client = engine_client(g, &g.api_url, &waits)?;
    let cx = Context::new(pacing);
    watch_ctrl_c(&cx);

    let spinner = spinner(g);
    let planned = build_plan(&client, &selection, client.base_url(), &cx, &mut |p| {
        spinner.set_message(format!(
            "planning: {}/{} users looked up, {} sessions listed, {} matched",
            p.users_looked_up, p.users_total, p.sessions_scanned, p.sessions_matched
        ));
        spinner.tick();
    })
    .await;
    spinner.finish_and_clear();
    let plan = match planned {
        Ok(plan) => plan,
        Err(EngineError::Cancelled) => {
            eprintln!("Interrupted while planning; nothing was changed.");
            return Ok(Outcome::Interrupted);
        }
        Err(e) => return Err(engine_error(e)),
    };
    let mut out = stdout();
    write_plan(&mut out, &plan, &pacing)?;
    out.flush()?;
    drop(out);
    let has_unresolved = !plan.unresolved.is_empty();
    let settle = |plan: &Plan| -> Result<Outcome> {
        if let Some((path, format)) = &report {
            write_report_file(path, *format, plan, None)?;
        }
        Ok(if has_unresolved {
            Outcome::Partial
        } else {
            Outcome::Done
        })
    };
    if a.plan {
        say_err(g, "Nothing was changed (--plan).");
        return settle(&plan);
    }
    if plan.action_count() == 0 {
        say_err(g, "Nothing to do.");
        return settle(&plan);
    }
    confirm(a.yes, &plan)?;
    let path = match &a.journal {
        Some(p) => p.clone(),
        None => {
            let dir = sessions_revoke::default_journal_dir();
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("creating the journal directory {}", dir.display()))?;
            sessions_revoke::default_journal_path(&dir)
        }
    };
    let journal = Journal::create(&path, plan).map_err(engine_error)?;
    eprintln!(
        "Journal: {} (resume with: slack-sessions revoke --resume {} --yes)",
        path.display(),
        shell_quote(&path)
    );
    execute(g, &client, journal, &cx, &waits, report).await
}

async fn resume(
    g: &Global,
    a: &RevokeArgs,
    path: &Path,
    pacing: Pacing,
    report: Option<(PathBuf, ReportFormat)>,
) -> Result<Outcome> {
    let journal = Journal::open(path).map_err(engine_error)?;
    let plan = journal.plan();
    let given = g.api_url.trim_end_matches('/');
    if given != sessions_client::DEFAULT_BASE_URL.trim_end_matches('/')
        && given != plan.api_url.trim_end_matches('/')
    {
        return Err(UsageError::new(format!(
            "the journal's plan was made against {}, not {}",
            plan.api_url, g.api_url
        ))
        .hint("resume against the same API (leave out --api-url / SLACK_API_URL to use the journal's)")
        .into());
    }
    let counts = journal.state().counts();
    eprintln!(
        "Resuming {}: {} of {} calls settled, {} to go (about {} at this pace).",
        path.display(),
        counts.settled(),
        counts.total,
        counts.pending,
        human_duration(remaining_estimate(plan, counts.pending, &pacing)),
    );
    if counts.pending > 0 {
        confirm(a.yes, plan)?;
    }
    let waits = Arc::new(AtomicU64::new(0));
    let client = engine_client(g, &plan.api_url.clone(), &waits)?;
    let cx = Context::new(pacing);
    watch_ctrl_c(&cx);
    execute(g, &client, journal, &cx, &waits, report).await
}

/// Runs the journal's pending calls and prints the summary.
async fn execute(
    g: &Global,
    client: &Client,
    mut journal: Journal,
    cx: &Context,
    waits: &AtomicU64,
    report: Option<(PathBuf, ReportFormat)>,
) -> Result<Outcome> {
    let total = journal.state().counts().total;
    let bar = if std::io::stderr().is_terminal() && !g.quiet {
        let bar = ProgressBar::new(total);
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {pos}/{len} calls, {msg} (eta {eta})")
        {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let summary = run_plan(client, &mut journal, cx, &mut |p| {
        bar.set_position(p.counts.settled());
        bar.set_message(format!("{} failed", p.counts.failed));
    })
    .await;
    bar.finish_and_clear();

    let plan = journal.plan();
    let state = journal.state();
    let c = summary.counts;
    let mut out = stdout();
    writeln!(
        out,
        "Summary: {} of {} calls done, {} already done, {} failed, {} not yet done.",
        c.done, c.total, c.already_done, c.failed, c.pending
    )?;
    let waited = waits.load(Ordering::Relaxed);
    if waited > 0 {
        writeln!(
            out,
            "Rate limited {waited} times; each wait was waited out (none failed)."
        )?;
    }
    let mut failed = report_rows(plan, Some(state))
        .filter(|r| matches!(r.result, RowResult::Failed | RowResult::Unresolved))
        .peekable();
    let any_failed = failed.peek().is_some();
    if any_failed {
        writeln!(out, "Not done:")?;
    }
    for (n, r) in failed.by_ref().enumerate() {
        if n == 200 {
            writeln!(out, "  ... and more (see --report)")?;
            break;
        }
        let what = match (r.result, r.session_id) {
            (RowResult::Unresolved, _) => format!("{} (not resolved)", r.user),
            (_, Some(s)) => format!("session {s} of {}", r.user),
            (_, None) => format!("user {}", r.user),
        };
        writeln!(
            out,
            "  {what}: {}: {}",
            r.code.unwrap_or_default(),
            r.detail.unwrap_or_default()
        )?;
    }
    out.flush()?;
    drop(out);
    if let Some((path, format)) = &report {
        write_report_file(path, *format, plan, Some(state))?;
    }
    let resume_hint = || {
        format!(
            "resume with: slack-sessions revoke --resume {} --yes",
            shell_quote(journal.path())
        )
    };
    match summary.status {
        RunStatus::Completed if any_failed => Ok(Outcome::Partial),
        RunStatus::Completed => Ok(Outcome::Done),
        RunStatus::Cancelled => {
            eprintln!("Interrupted after the call in flight; {}", resume_hint());
            Ok(Outcome::Interrupted)
        }
        RunStatus::Stopped(e) => {
            eprintln!("Stopped; {}", resume_hint());
            Err(engine_error(e))
        }
        _ => Err(anyhow::anyhow!("the run ended in an unknown state")),
    }
}

/// The selection from the flags; bad input is a usage error.
fn selection(a: &RevokeArgs) -> Result<Selection> {
    let mut users = Vec::new();
    for u in &a.users {
        users.push(UserRef::parse(u).map_err(usage)?);
    }
    if let Some(path) = &a.users_file {
        let text = if path == Path::new("-") {
            let mut t = String::new();
            std::io::stdin()
                .read_to_string(&mut t)
                .context("reading users from stdin")?;
            t
        } else {
            std::fs::read_to_string(path).map_err(|e| {
                UsageError::new(format!("cannot read --users-file {}: {e}", path.display()))
            })?
        };
        let from_file = parse_users_file(&text).map_err(usage)?;
        if from_file.is_empty() {
            return Err(
                UsageError::new(format!("--users-file {} names no users", path.display())).into(),
            );
        }
        users.extend(from_file);
    }
    let scope = ResetScope::from_flags(a.mobile_only, a.web_only)
        .map_err(|e| UsageError::new(e.to_string()))?;
    let sel = Selection {
        users,
        teams: a.teams.clone(),
        ips: a.ips.clone(),
        os: a.os.clone(),
        devices: a.devices.clone(),
        client_version_below: a.client_version_below.iter().max().cloned(),
        everyone: a.everyone,
        include_self: a.include_self,
        scope,
    };
    sel.validate().map_err(usage)?;
    Ok(sel)
}

fn usage(e: EngineError) -> anyhow::Error {
    UsageError::new(e.to_string())
        .hint("nothing was sent; see slack-sessions revoke --help")
        .into()
}

/// Engine errors as the CLI reports them: client errors keep their hints and exit code 1,
/// a journal in use or unusable is a refusal (exit 2).
fn engine_error(e: EngineError) -> anyhow::Error {
    match e {
        EngineError::Api { during, source } => {
            eprintln!("Stopped while {during}.");
            anyhow::Error::new(*source).context(during)
        }
        EngineError::Selection(_) => usage(e),
        e @ (EngineError::JournalLocked { .. } | EngineError::Journal { .. }) => {
            UsageError::new(e.to_string())
                .hint("nothing was sent")
                .into()
        }
        other => anyhow::Error::new(other),
    }
}

/// A client for the engine: its retry policy (429s waited out) and a count of those waits.
fn engine_client(g: &Global, api_url: &str, waits: &Arc<AtomicU64>) -> Result<Client> {
    let waits = Arc::clone(waits);
    Ok(Client::builder(token(g)?)
        .base_url(api_url)
        .timeout(g.timeout)
        .retry(engine_retry_policy())
        .on_retry(Arc::new(move |_, outcome, _| {
            if matches!(outcome, RetryOutcome::RateLimited { .. }) {
                waits.fetch_add(1, Ordering::Relaxed);
            }
        }))
        .build()?)
}

/// First Ctrl-C: stop after the call in flight. Second: quit at once (the journal is
/// consistent at any instant).
fn watch_ctrl_c(cx: &Context) {
    let cancel = cx.cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\nStopping after the call in flight (Ctrl-C again to quit now)...");
            cancel.cancel();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
}

fn spinner(g: &Global) -> ProgressBar {
    if std::io::stderr().is_terminal() && !g.quiet {
        let s = ProgressBar::new_spinner();
        s.enable_steady_tick(Duration::from_millis(200));
        s
    } else {
        ProgressBar::hidden()
    }
}

fn say_err(g: &Global, line: &str) {
    if !g.quiet {
        eprintln!("{line}");
    }
}

/// Without `--yes`: ask on a terminal, refuse off one.
fn confirm(yes: bool, plan: &Plan) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(
            UsageError::new("refusing to revoke without --yes when not on a terminal")
                .hint("review the plan with --plan, then run again with --yes")
                .into(),
        );
    }
    eprint!(
        "Make these {} calls? Type yes to go on: ",
        plan.action_count()
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim().eq_ignore_ascii_case("yes") || answer.trim().eq_ignore_ascii_case("y") {
        Ok(())
    } else {
        Err(UsageError::new("not confirmed; nothing was changed").into())
    }
}

fn write_report_file(
    path: &Path,
    format: ReportFormat,
    plan: &Plan,
    state: Option<&sessions_revoke::JournalState>,
) -> Result<()> {
    let file = std::fs::File::create(path)
        .with_context(|| format!("creating the report {}", path.display()))?;
    sessions_revoke::write_report(
        std::io::BufWriter::new(file),
        format,
        report_rows(plan, state),
    )
    .with_context(|| format!("writing the report {}", path.display()))?;
    eprintln!("Report: {}", path.display());
    Ok(())
}

fn remaining_estimate(plan: &Plan, pending: u64, pacing: &Pacing) -> Duration {
    let tier = if plan.invalidations.is_empty() {
        Call::ResetBulk.tier()
    } else {
        Call::Invalidate.tier()
    };
    pacing.duration_of(tier, pending)
}

/// `1h 05m`, `3m 20s`, `9s`.
pub(crate) fn human_duration(d: Duration) -> String {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m {s:02}s"),
        (h, m, _) => format!("{h}h {m:02}m"),
    }
}

fn shell_quote(path: &Path) -> String {
    let s = path.display().to_string();
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-+:@".contains(&b))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn scope_words(scope: ResetScope) -> &'static str {
    match scope {
        ResetScope::All => "all sessions",
        ResetScope::MobileOnly => "mobile sessions",
        ResetScope::WebOnly => "web sessions",
    }
}

/// The plan, for people.
pub(crate) fn write_plan(
    out: &mut impl Write,
    plan: &Plan,
    pacing: &Pacing,
) -> std::io::Result<()> {
    let who = plan
        .actor
        .enterprise_id
        .as_deref()
        .unwrap_or(&plan.actor.team_id);
    writeln!(out, "Plan (by {} of {who}):", plan.actor.user_id)?;
    let st = &plan.stats;
    if !plan.selection.users.is_empty() {
        writeln!(
            out,
            "  Users named: {}, resolved: {}, not resolved: {}",
            plan.selection.users.len(),
            st.users_resolved,
            plan.unresolved.len()
        )?;
    }
    for u in plan.unresolved.iter().take(SHOWN) {
        writeln!(
            out,
            "    not resolved: {}: {}: {}",
            u.entry, u.code, u.reason
        )?;
    }
    if plan.unresolved.len() > SHOWN {
        writeln!(
            out,
            "    ... and {} more not resolved",
            plan.unresolved.len() - SHOWN
        )?;
    }
    if st.own_user_skipped {
        writeln!(
            out,
            "  Left alone: your own user {} (--include-self to include it)",
            plan.actor.user_id
        )?;
    }
    if st.own_sessions_skipped > 0 {
        writeln!(
            out,
            "  Left alone: {} of your own sessions (--include-self to include them)",
            st.own_sessions_skipped
        )?;
    }
    if plan.selection.has_session_filter() {
        writeln!(
            out,
            "  Sessions listed: {}, matched: {}",
            st.sessions_scanned,
            plan.invalidations.len()
        )?;
    } else if st.sessions_scanned > 0 {
        writeln!(
            out,
            "  Sessions listed: {} (every user with one is reset)",
            st.sessions_scanned
        )?;
    }
    let mut emails: HashMap<&str, &str> = HashMap::new();
    for u in &plan.users {
        if let Some(e) = &u.email {
            emails.insert(&u.id, e);
        }
    }
    for s in &plan.sample {
        let email = emails
            .get(s.user_id.as_str())
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        let d = s.recent.as_ref().unwrap_or(&s.created);
        let mut parts: Vec<String> = Vec::new();
        let machine: Vec<&str> = [&d.device_hardware, &d.os]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        if !machine.is_empty() {
            parts.push(machine.join(" "));
        }
        if let Some(v) = &d.slack_client_version {
            parts.push(format!("app {v}"));
        }
        if let Some(ip) = &d.ip {
            parts.push(format!("ip {ip}"));
        }
        let dev = parts.join(", ");
        writeln!(
            out,
            "    session {} of {}{email} on {}: {dev}",
            s.session_id, s.user_id, s.team_id
        )?;
    }
    if plan.invalidations.len() > plan.sample.len() {
        writeln!(
            out,
            "    ... and {} more sessions (--report FILE lists them all)",
            plan.invalidations.len() - plan.sample.len()
        )?;
    }
    if !plan.resets.is_empty() {
        writeln!(
            out,
            "  Users to reset ({}): {}",
            scope_words(plan.selection.scope),
            plan.reset_user_count()
        )?;
        for ix in plan.resets.iter().flatten().take(SHOWN) {
            let u = plan.user(*ix);
            match &u.email {
                Some(e) => writeln!(out, "    {} ({e})", u.id)?,
                None => writeln!(out, "    {}", u.id)?,
            }
        }
        if plan.reset_user_count() > SHOWN {
            writeln!(
                out,
                "    ... and {} more users",
                plan.reset_user_count() - SHOWN
            )?;
        }
    }
    let calls: Vec<String> = plan
        .calls()
        .iter()
        .map(|(c, n)| format!("{n} x {}", c.name()))
        .collect();
    if calls.is_empty() {
        writeln!(out, "  Calls: none (nothing matched)")?;
    } else {
        writeln!(out, "  Calls: {}", calls.join(", "))?;
        let pace = match pacing.max_per_minute {
            Some(r) => format!("at --max-rate {r}/min"),
            None => "at Slack's tier rates".to_owned(),
        };
        writeln!(
            out,
            "  Estimated duration: {} {pace}",
            human_duration(plan.estimate(pacing))
        )?;
    }
    let made: Vec<String> = st
        .calls
        .iter()
        .map(|(c, n)| format!("{n} x {}", c.name()))
        .collect();
    writeln!(out, "  Planning made: {}", made.join(", "))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_for_people() {
        assert_eq!(human_duration(Duration::from_secs(9)), "9s");
        assert_eq!(human_duration(Duration::from_millis(9100)), "10s");
        assert_eq!(human_duration(Duration::from_secs(200)), "3m 20s");
        assert_eq!(human_duration(Duration::from_secs(6000)), "1h 40m");
    }

    #[test]
    fn paths_are_quoted_for_the_shell_only_when_needed() {
        assert_eq!(shell_quote(Path::new("/tmp/j-1.jsonl")), "/tmp/j-1.jsonl");
        assert_eq!(shell_quote(Path::new("/tmp/my j's")), "'/tmp/my j'\\''s'");
    }
}
