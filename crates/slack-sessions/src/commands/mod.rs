//! One function per command. Each returns what happened; `main` turns that into an exit code.

mod audit;
mod bulk;
mod list;
mod revoke;
mod serve;
mod settings;

use std::io::{self, BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;
use sessions_client::Client;
use sessions_wire::{InvalidateRequest, Request, ResetRequest, SessionId};

use crate::cli::{Cli, Command, CompletionsArgs, Global, InvalidateArgs, ResetArgs, Shell};
use crate::cli::{SmallFormat, WhoamiArgs};
use crate::errors::{remember_secret, UsageError};
use crate::output;

/// How a command ended, when it did not fail outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything asked for was done.
    Done,
    /// Bulk work where some items failed (exit 3).
    Partial,
    /// Stopped by Ctrl-C, resumable (exit 130).
    Interrupted,
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> Result<Outcome> {
    let g = &cli.global;
    match cli.command {
        Command::Whoami(a) => whoami(g, a).await,
        Command::List(a) => list::run(g, a).await,
        Command::Invalidate(a) => invalidate(g, a).await,
        Command::Reset(a) => reset(g, a).await,
        Command::ResetBulk(a) => bulk::run(g, a).await,
        Command::Revoke(a) => revoke::run(g, a).await,
        Command::Settings(c) => settings::run(g, c).await,
        Command::Audit(a) => audit::run(g, a).await,
        Command::Completions(a) => completions(a),
        Command::Serve(a) => serve::run(a).await,
    }
}

/// The token from `--token`, `--token-file` or `SLACK_TOKEN` (clap folds the env var into
/// `--token`).
fn token(g: &Global) -> Result<String> {
    let token = match (&g.token, &g.token_file) {
        (_, Some(path)) => read_token_file(path)?,
        (Some(t), None) => t.trim().to_owned(),
        (None, None) => String::new(),
    };
    if token.is_empty() {
        return Err(UsageError::new("not_authed: no token given")
            .hint("pass --token or --token-file, or set SLACK_TOKEN")
            .into());
    }
    remember_secret(&token);
    Ok(token)
}

fn read_token_file(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        UsageError::new(format!("cannot read --token-file {}: {e}", path.display()))
    })?;
    let t = text.trim();
    if t.is_empty() {
        return Err(UsageError::new(format!("--token-file {} is empty", path.display())).into());
    }
    Ok(t.to_owned())
}

/// A client for the configured API. `throttle` paces calls to Slack's rate tiers.
pub(crate) fn client(g: &Global, throttle: bool) -> Result<Client> {
    let token = token(g)?;
    let client = Client::builder(token)
        .base_url(&g.api_url)
        .timeout(g.timeout)
        .throttle(throttle)
        .build()?;
    Ok(client)
}

/// Buffered stdout: output is written in blocks, not per line.
pub(crate) fn stdout() -> BufWriter<io::StdoutLock<'static>> {
    BufWriter::with_capacity(64 * 1024, io::stdout().lock())
}

/// Prints a confirmation line unless `-q`.
pub(crate) fn say(g: &Global, line: impl std::fmt::Display) -> Result<()> {
    if !g.quiet {
        let mut out = io::stdout().lock();
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// Checks a request as the API would, before sending: failures are usage errors (exit 2).
pub(crate) fn check(req: &impl Request) -> Result<()> {
    req.validate().map_err(|e| {
        UsageError::new(format!("{}: {e}", e.code()))
            .hint("nothing was sent")
            .into()
    })
}

async fn whoami(g: &Global, a: WhoamiArgs) -> Result<Outcome> {
    let who = client(g, false)?.auth_test().await?;
    let mut out = stdout();
    match a.format {
        SmallFormat::Table => output::write_whoami(&mut out, &who)?,
        SmallFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &who)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(Outcome::Done)
}

async fn invalidate(g: &Global, a: InvalidateArgs) -> Result<Outcome> {
    let req = InvalidateRequest {
        session_id: Some(SessionId(a.session_id)),
        user_id: a.user,
        team_id: a.team,
    };
    check(&req)?;
    client(g, false)?
        .admin_users_session_invalidate(req)
        .await?;
    say(g, format_args!("Invalidated session {}.", a.session_id))?;
    Ok(Outcome::Done)
}

/// `--mobile-only` / `--web-only` as Slack's optional flags (absent rather than `false`).
pub(crate) fn scope_flags(mobile_only: bool, web_only: bool) -> (Option<bool>, Option<bool>) {
    (mobile_only.then_some(true), web_only.then_some(true))
}

pub(crate) fn scope_words(mobile_only: bool, web_only: bool) -> &'static str {
    match (mobile_only, web_only) {
        (true, _) => "mobile sessions",
        (_, true) => "web sessions",
        _ => "all sessions",
    }
}

async fn reset(g: &Global, a: ResetArgs) -> Result<Outcome> {
    let (mobile_only, web_only) = scope_flags(a.mobile_only, a.web_only);
    let req = ResetRequest {
        user_id: a.user.clone(),
        mobile_only,
        web_only,
    };
    check(&req)?;
    client(g, false)?.admin_users_session_reset(req).await?;
    say(
        g,
        format_args!(
            "Reset {} of {}.",
            scope_words(a.mobile_only, a.web_only),
            a.user
        ),
    )?;
    Ok(Outcome::Done)
}

fn completions(a: CompletionsArgs) -> Result<Outcome> {
    let shell = match a.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut out = stdout();
    clap_complete::generate(shell, &mut Cli::command(), "slack-sessions", &mut out);
    out.flush().context("writing the completion script")?;
    Ok(Outcome::Done)
}
