//! `settings get|set|clear` for up to 1000 users per call.

use std::io::Write;

use anyhow::Result;
use sessions_wire::{ClearSettingsRequest, GetSettingsRequest, SetSettingsRequest};

use sessions_client::Client;

use super::{check, client, resolve, say, stdout, Outcome};
use crate::cli::{Global, SettingsCommand, SmallFormat};
use crate::output;
use crate::parse::{dedupe, human_seconds, split_ids};

/// Users from arguments that may themselves be comma-separated lists of ids or emails, checked
/// before anything is sent.
fn entries(args: &[String]) -> Result<Vec<String>> {
    let mut entries = Vec::new();
    for a in args {
        split_ids(a, &mut entries);
    }
    resolve::check_entries(&entries)?;
    Ok(dedupe(entries))
}

/// [`entries`] with emails resolved to ids.
async fn users(
    client: impl FnOnce() -> Result<Client>,
    args: &[String],
) -> Result<(Client, Vec<String>)> {
    let entries = entries(args)?;
    let client = client()?;
    let ids = resolve::users(&client, &entries).await?;
    Ok((client, ids))
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

pub async fn run(g: &Global, c: SettingsCommand) -> Result<Outcome> {
    match c {
        SettingsCommand::Get(a) => {
            let (client, user_ids) = users(|| client(g, false), &a.users).await?;
            let req = GetSettingsRequest { user_ids };
            check(&req)?;
            let got = client.admin_users_session_get_settings(req).await?;
            let mut out = stdout();
            match a.format {
                SmallFormat::Table => output::write_settings_table(&mut out, &got)?,
                SmallFormat::Json => {
                    serde_json::to_writer_pretty(&mut out, &got)?;
                    writeln!(out)?;
                }
            }
            out.flush()?;
        }
        SettingsCommand::Set(a) => {
            let (client, user_ids) = users(|| client(g, false), &a.users).await?;
            let req = SetSettingsRequest {
                user_ids,
                duration: a.duration,
                desktop_app_browser_quit: a.quit_on_close,
            };
            check(&req)?;
            let n = req.user_ids.len();
            client.admin_users_session_set_settings(req).await?;
            let mut what = Vec::new();
            if let Some(d) = a.duration {
                what.push(format!("duration {} ({d} s)", human_seconds(d)));
            }
            if let Some(q) = a.quit_on_close {
                what.push(format!("quit on close {q}"));
            }
            say(
                g,
                format_args!(
                    "Updated settings of {n} user{}: {}.",
                    plural(n),
                    what.join(", ")
                ),
            )?;
        }
        SettingsCommand::Clear(a) => {
            let (client, user_ids) = users(|| client(g, false), &a.users).await?;
            let req = ClearSettingsRequest { user_ids };
            check(&req)?;
            let n = req.user_ids.len();
            client.admin_users_session_clear_settings(req).await?;
            say(
                g,
                format_args!("Cleared settings of {n} user{}.", plural(n)),
            )?;
        }
    }
    Ok(Outcome::Done)
}
