//! `bridge`: the Shared Signals receiver and Global Token Revocation endpoint
//! (`sessions_bridge::run`) until SIGINT or SIGTERM; `bridge status`: what it received and did.

use std::io::Write;

use anyhow::{Context, Result};
use sessions_bridge::inbox::SignalStatus;
use sessions_bridge::{BridgeConfig, Inbox, KeySource, PollConfig};
use sessions_client::Client;
use sessions_revoke::{engine_retry_policy, Pacing};
use sessions_server::emulator::rfc3339;

use super::{stdout, token, Outcome};
use crate::cli::{BridgeArgs, BridgeCommand, BridgeStatusArgs, Global, SmallFormat};
use crate::errors::{remember_secret, UsageError};
use crate::output::write_table;

pub async fn run(g: &Global, a: BridgeArgs) -> Result<Outcome> {
    if let Some(BridgeCommand::Status(s)) = a.command {
        return status(s).await;
    }
    // clap enforces these when no subcommand is given.
    let (Some(issuer), Some(audience)) = (a.issuer, a.audience) else {
        return Err(UsageError::new("bridge needs --issuer and --audience").into());
    };
    let keys = match (a.jwks_uri, a.jwks_file) {
        (Some(uri), None) => KeySource::Uri(uri),
        (None, Some(file)) => KeySource::File(file),
        _ => return Err(UsageError::new("bridge needs one of --jwks-uri or --jwks-file").into()),
    };
    let poll = match (a.poll_url, a.poll_token) {
        (Some(url), Some(token)) => {
            remember_secret(&token);
            Some(PollConfig {
                url,
                token,
                interval: a.poll_interval,
                max_events: 100,
            })
        }
        _ => None,
    };
    let config = BridgeConfig {
        listen: a.listen,
        issuer,
        audience,
        keys,
        data_dir: a.data_dir,
        poll,
        subject_map: a.subject_map,
        skew: a.iat_skew,
        slack: engine_client(g)?,
        pacing: a.max_rate.map_or_else(Pacing::tier, Pacing::max_rate),
    };
    sessions_bridge::run(
        config,
        |started| {
            let mut out = std::io::stdout().lock();
            // A closed stdout must not stop the bridge.
            let _ = writeln!(
                out,
                "slack-sessions bridge is running\nBridge URL: {}\n  Push (RFC 8935):          {}\n  Global Token Revocation: {}\n  Health, metrics:         {}health, {}metrics\n\nPress Ctrl-C to stop.",
                started.url, started.push_url, started.gtr_url, started.url, started.url
            );
            let _ = out.flush();
        },
        sessions_server::shutdown_signal(),
    )
    .await
    .context("the bridge stopped with an error")?;
    tracing::info!("bridge stopped");
    Ok(Outcome::Done)
}

/// The client the engine drives: its retry policy (429s waited out), no throttle of its own.
fn engine_client(g: &Global) -> Result<Client> {
    Ok(Client::builder(token(g)?)
        .base_url(&g.api_url)
        .timeout(g.timeout)
        .retry(engine_retry_policy())
        .build()?)
}

async fn status(a: BridgeStatusArgs) -> Result<Outcome> {
    let inbox = Inbox::open_existing(&a.data_dir).map_err(|e| {
        UsageError::new(format!("no bridge inbox in {}: {e}", a.data_dir.display()))
            .hint("pass the --data-dir the bridge runs with")
    })?;
    let recent = inbox.recent(a.limit as usize).await?;
    let counts = inbox.counts().await?;
    let mut out = stdout();
    match a.format {
        SmallFormat::Json => {
            let counts: serde_json::Map<String, serde_json::Value> =
                counts.into_iter().map(|(k, v)| (k, v.into())).collect();
            serde_json::to_writer_pretty(
                &mut out,
                &serde_json::json!({"actions": counts, "signals": recent}),
            )?;
            writeln!(out)?;
        }
        SmallFormat::Table => {
            let summary: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
            if summary.is_empty() {
                writeln!(out, "Actions: none")?;
            } else {
                writeln!(out, "Actions: {}", summary.join(", "))?;
            }
            writeln!(out)?;
            let rows: Vec<Vec<String>> = recent.iter().flat_map(rows).collect();
            write_table(
                &mut out,
                &["RECEIVED", "VIA", "EVENT", "JTI", "SUBJECT", "OUTCOME"],
                &rows,
            )?;
        }
    }
    out.flush()?;
    Ok(Outcome::Done)
}

/// One row per action (one for a signal without any).
fn rows(s: &SignalStatus) -> Vec<Vec<String>> {
    let event = s
        .event_types
        .iter()
        .map(|t| match sessions_bridge::events::label(t) {
            "other" => t.rsplit('/').next().unwrap_or(t).to_owned(),
            l => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",");
    let head = [
        rfc3339(s.received_ms / 1000),
        s.via.clone(),
        event,
        s.jti.clone(),
    ];
    if s.actions.is_empty() {
        let outcome = match s.note.as_str() {
            "verification" => "verified",
            _ => "ignored",
        };
        let mut row = head.to_vec();
        row.extend(["-".to_owned(), outcome.to_owned()]);
        return vec![row];
    }
    s.actions
        .iter()
        .map(|a| {
            let subject = a.target.clone().unwrap_or_else(|| a.subject.to_string());
            let mut outcome = a.state.clone();
            if let Some(u) = &a.user_id {
                outcome.push_str(&format!(" ({u})"));
            }
            if a.state != "signed_out" {
                if let Some(d) = &a.detail {
                    outcome.push_str(&format!(": {d}"));
                }
                if a.attempts > 0 {
                    outcome.push_str(&format!(" [{} attempts]", a.attempts));
                }
            }
            let mut row = head.to_vec();
            row.extend([subject, outcome]);
            row
        })
        .collect()
}
