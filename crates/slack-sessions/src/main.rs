//! `slack-sessions`: administer Slack sessions (`admin.users.session.*`) from the command line,
//! and run the Slack-compatible server.
//!
//! ```text
//! slack-sessions serve --demo                      # a local server with a demo org
//! SLACK_API_URL=http://127.0.0.1:8080/api/ SLACK_TOKEN=xoxp-demo-admin slack-sessions list
//! slack-sessions reset-bulk --file leavers.txt --dry-run
//! ```
//!
//! Exit codes: 0 success; 1 API error (Slack answered `ok:false`, or HTTP/transport failed);
//! 2 usage error (bad flags, or arguments refused before anything was sent); 3 partial failure
//! in bulk work (some users failed; the summary says which and why); 130 `revoke` interrupted
//! by Ctrl-C (resumable from its journal).
//!
//! Tokens come from `--token`, `--token-file` or `SLACK_TOKEN` and are never printed, logged or
//! echoed in errors.

mod cli;
mod commands;
mod errors;
mod output;
mod parse;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::commands::Outcome;

fn init_tracing(g: &cli::Global) {
    // Our crates get the detail asked for; dependencies stay at info so that no HTTP library
    // ever traces request headers.
    let json = g.log_format == cli::LogFormat::Json;
    let default = match (g.quiet, g.verbose) {
        (true, _) => "error",
        // Structured logs are asked for to be collected: include the per-request lines.
        (false, 0) if json => "info",
        (false, 0) => "warn",
        (false, 1) => "info,slack_sessions=debug,sessions_client=debug,sessions_server=debug",
        _ => "info,slack_sessions=trace,sessions_client=trace,sessions_server=trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}

/// A reader that went away (`| head`) is not a failure.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_tracing(&cli.global);
    // The org scans (`revoke`, `list`) are one request at a time with the next page at most
    // one ahead: on one thread they skip the cross-thread hand-offs of a work-stealing runtime
    // (about 8% of the scan's CPU). Servers and everything else keep the multi-thread runtime.
    let runtime = match &cli.command {
        cli::Command::Revoke(_) | cli::Command::List(_) => {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        }
        _ => tokio::runtime::Runtime::new(),
    };
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(errors::EXIT_API);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Partial) => ExitCode::from(errors::EXIT_PARTIAL),
        Ok(Outcome::Interrupted) => ExitCode::from(errors::EXIT_INTERRUPTED),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = std::io::stderr()
                .lock()
                .write_all(errors::render(&e).as_bytes());
            ExitCode::from(errors::exit_code(&e))
        }
    }
}
