//! `serve`: the Slack-compatible server, until SIGINT or SIGTERM.

use std::io::Write;

use anyhow::{Context, Result};
use sessions_server::Started;

use super::Outcome;
use crate::cli::ServeArgs;

/// The start banner on stdout: where to point clients, and with `--demo` how to try it.
fn banner(started: &Started, print_control_token: bool) -> String {
    let mut s = String::new();
    s.push_str("slack-sessions server is running\n");
    s.push_str(&format!("  API URL:       {}\n", started.api_url));
    if started.control_enabled {
        s.push_str(&format!("  Control URL:   {}\n", started.control_url));
        // Rate limits, faults, clock, state reset, request log: docs/emulator.md.
        s.push_str(&format!(
            "  Emulator:      {}emulator/\n",
            started.control_url
        ));
        if print_control_token {
            // Generated for this run: the only way to learn it.
            s.push_str(&format!("  Control token: {}\n", started.control_token));
        }
    } else {
        s.push_str("  Control API:   off (--control or --control-token to turn it on)\n");
    }
    if let Some(demo) = &started.demo {
        s.push_str(&format!("\nDemo org {} is loaded.\n", demo.org_id));
        s.push_str(&format!("  Admin token:   {}\n", demo.admin_token));
        if !demo.users.is_empty() {
            s.push_str(&format!("  Users:         {}\n", demo.users.join(", ")));
        }
        if !demo.emails.is_empty() {
            s.push_str(&format!("  Emails:        {}\n", demo.emails.join(", ")));
        }
        let ids: Vec<String> = demo
            .session_ids
            .iter()
            .take(5)
            .map(u64::to_string)
            .collect();
        if !ids.is_empty() {
            s.push_str(&format!("  Sessions:      {}\n", ids.join(", ")));
        }
        s.push_str("\nTry:\n");
        s.push_str(&format!(
            "  SLACK_API_URL={} SLACK_TOKEN={} slack-sessions list\n",
            started.api_url, demo.admin_token
        ));
    }
    s.push_str("\nPress Ctrl-C to stop.\n");
    s
}

pub async fn run(a: ServeArgs) -> Result<Outcome> {
    let print_control_token = a.settings.control_token.is_none();
    let config = a.settings;
    sessions_server::run(
        config,
        move |started| {
            let mut out = std::io::stdout().lock();
            // A closed stdout must not stop the server.
            let _ = out.write_all(banner(started, print_control_token).as_bytes());
            let _ = out.flush();
        },
        sessions_server::shutdown_signal(),
    )
    .await
    .context("the server stopped with an error")?;
    tracing::info!("server stopped");
    Ok(Outcome::Done)
}
