//! `users get` and `users list`: the org's directory (`users.info`, `users.lookupByEmail`,
//! `users.list`), to find the ids the other commands act on.

use std::io::Write;

use anyhow::Result;
use futures::StreamExt;
use sessions_client::{Error as ClientError, ErrorCode, User, UsersListRequest};

use super::{check, client, resolve, stdout, Outcome};
use crate::cli::{Format, Global, SmallFormat, UsersCommand, UsersGetArgs, UsersListArgs};
use crate::output::{write_csv_row, write_table};
use crate::parse::{dedupe, split_ids};

const HEADERS: [&str; 7] = [
    "ID",
    "NAME",
    "REAL NAME",
    "EMAIL",
    "TEAMS",
    "ROLE",
    "STATUS",
];

fn role(u: &User) -> &'static str {
    if u.is_primary_owner {
        "primary_owner"
    } else if u.is_owner {
        "owner"
    } else if u.is_admin {
        "admin"
    } else {
        "member"
    }
}

fn cells(u: &User) -> Vec<String> {
    let dash = |s: &str| {
        if s.is_empty() {
            "-".to_owned()
        } else {
            s.to_owned()
        }
    };
    let teams = match &u.enterprise_user {
        Some(e) if !e.teams.is_empty() => e.teams.join(" "),
        _ => dash(&u.team_id),
    };
    let status = match (u.deleted, u.is_bot) {
        (true, _) => "deactivated",
        (false, true) => "bot",
        (false, false) => "active",
    };
    vec![
        u.id.clone(),
        dash(&u.name),
        dash(&u.real_name),
        dash(u.email().unwrap_or("")),
        teams,
        role(u).to_owned(),
        status.to_owned(),
    ]
}

pub async fn run(g: &Global, c: UsersCommand) -> Result<Outcome> {
    match c {
        UsersCommand::Get(a) => get(g, a).await,
        UsersCommand::List(a) => list(g, a).await,
    }
}

async fn get(g: &Global, a: UsersGetArgs) -> Result<Outcome> {
    let mut entries = Vec::new();
    for arg in &a.users {
        split_ids(arg, &mut entries);
    }
    resolve::check_entries(&entries)?;
    let entries = dedupe(entries);
    let client = client(g, false)?;
    let mut found = Vec::with_capacity(entries.len());
    let mut missing: Vec<(String, ErrorCode)> = Vec::new();
    for entry in &entries {
        let got = if resolve::is_email(entry) {
            client.users_lookup_by_email(entry).await
        } else {
            client.users_info(entry).await
        };
        match got {
            Ok(u) => found.push(u),
            Err(ClientError::Api {
                code: code @ (ErrorCode::UsersNotFound | ErrorCode::UserNotFound),
                ..
            }) => missing.push((entry.clone(), code)),
            Err(e) => return Err(e.into()),
        }
    }
    if found.is_empty() && entries.len() == 1 {
        if let Some((entry, code)) = missing.pop() {
            return Err(not_found(&entry, code));
        }
    }
    let mut out = stdout();
    match a.format {
        SmallFormat::Table => {
            let rows: Vec<Vec<String>> = found.iter().map(cells).collect();
            write_table(&mut out, &HEADERS, &rows)?;
        }
        SmallFormat::Json => {
            let doc = serde_json::json!({"users": found});
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    if missing.is_empty() {
        return Ok(Outcome::Done);
    }
    let mut err = std::io::stderr().lock();
    for (entry, code) in &missing {
        writeln!(err, "not found ({code}): {entry}")?;
    }
    Ok(Outcome::Partial)
}

/// The error for one entry that names nobody.
fn not_found(entry: &str, code: ErrorCode) -> anyhow::Error {
    if code == ErrorCode::UsersNotFound {
        resolve::Unresolved {
            emails: vec![entry.to_owned()],
        }
        .into()
    } else {
        ClientError::Api {
            messages: vec![format!("[ERROR] {code}: {entry}")],
            code,
            needed: None,
            provided: None,
            warnings: Vec::new(),
        }
        .into()
    }
}

async fn list(g: &Global, a: UsersListArgs) -> Result<Outcome> {
    let req = UsersListRequest {
        cursor: a.pages.cursor,
        limit: a.limit,
        team_id: a.team,
    };
    check(&req)?;
    let client = client(g, false)?;
    let mut out = stdout();
    let mut rows = Vec::new();
    let mut members = Vec::new();
    let mut write = |u: User, out: &mut dyn Write| -> Result<()> {
        match a.pages.format {
            Format::Ndjson => {
                serde_json::to_writer(&mut *out, &u)?;
                writeln!(out)?;
            }
            Format::Csv => write_csv_row(&mut *out, &cells(&u))?,
            Format::Table => rows.push(cells(&u)),
            Format::Json => members.push(u),
        }
        Ok(())
    };
    if a.pages.format == Format::Csv {
        let head: Vec<String> = HEADERS
            .iter()
            .map(|h| h.to_lowercase().replace(' ', "_"))
            .collect();
        write_csv_row(&mut out, &head)?;
    }
    let mut next = String::new();
    if a.pages.all {
        let mut pages = std::pin::pin!(client.users_list_pages(req));
        while let Some(page) = pages.next().await {
            for u in page?.members {
                write(u, &mut out)?;
            }
            out.flush()?;
        }
    } else {
        let page = client.users_list(req).await?;
        next = page.next_cursor().unwrap_or("").to_owned();
        for u in page.members {
            write(u, &mut out)?;
        }
    }
    match a.pages.format {
        Format::Table => write_table(&mut out, &HEADERS, &rows)?,
        Format::Json => {
            let doc = serde_json::json!({"members": members, "next_cursor": next});
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        Format::Ndjson | Format::Csv => {}
    }
    out.flush()?;
    if !next.is_empty() && a.pages.format != Format::Json && !g.quiet {
        writeln!(
            std::io::stderr().lock(),
            "More users: slack-sessions users list --cursor {next} (or --all)"
        )?;
    }
    Ok(Outcome::Done)
}
