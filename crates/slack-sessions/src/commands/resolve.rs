//! Users named by id or by email: the one resolver every command that takes users shares.
//!
//! An entry with an `@` is an email address, looked up with `users.lookupByEmail` (the token
//! needs `users:read.email`); anything else is a user id and passes through untouched. Each
//! distinct address is looked up once. Resolution is all or nothing: when any address names no
//! user, the command stops before changing anything and names every such address
//! ([`Unresolved`], exit 1).

use anyhow::Result;
use sessions_client::{Client, Error as ClientError, ErrorCode};

use crate::errors::UsageError;
use crate::parse::dedupe;

/// Whether an entry is an email address rather than a user id.
pub fn is_email(entry: &str) -> bool {
    entry.contains('@')
}

/// Addresses that name no user (`users_not_found` from `users.lookupByEmail`).
#[derive(Debug)]
pub struct Unresolved {
    /// The addresses, in the order given.
    pub emails: Vec<String>,
}

impl std::fmt::Display for Unresolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.emails.len();
        write!(
            f,
            "users_not_found: no user has the email address{} {}",
            if n == 1 { "" } else { "es" },
            self.emails.join(", ")
        )
    }
}

impl std::error::Error for Unresolved {}

/// One user id for `entry` (an id, or an email looked up).
pub async fn user(client: &Client, entry: &str) -> Result<String> {
    Ok(users(client, &[entry.to_owned()]).await?.remove(0))
}

/// User ids for `entries`, in order, repeats (also an id and an email of the same user) once.
/// Lookups other than `users_not_found` that fail (a token without `users:read.email`, an
/// unreachable server) end the resolution with that error.
pub async fn users(client: &Client, entries: &[String]) -> Result<Vec<String>> {
    let mut ids = Vec::with_capacity(entries.len());
    let mut missing = Vec::new();
    let mut found = std::collections::HashMap::new();
    for entry in entries {
        if !is_email(entry) {
            ids.push(entry.clone());
            continue;
        }
        let key = entry.trim().to_lowercase();
        if let Some(id) = found.get(&key) {
            ids.push(String::clone(id));
            continue;
        }
        match client.users_lookup_by_email(entry.trim()).await {
            Ok(u) => {
                tracing::debug!(email = %entry, user = %u.id, "resolved");
                found.insert(key, u.id.clone());
                ids.push(u.id);
            }
            Err(ClientError::Api {
                code: ErrorCode::UsersNotFound,
                ..
            }) => {
                if !missing.contains(entry) {
                    missing.push(entry.clone());
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    if !missing.is_empty() {
        return Err(Unresolved { emails: missing }.into());
    }
    Ok(dedupe(ids))
}

/// Resolves `entry` only when it is an email (no client is built for plain ids).
pub async fn optional_user(
    client: impl FnOnce() -> Result<Client>,
    entry: Option<String>,
) -> Result<Option<String>> {
    match entry {
        Some(e) if is_email(&e) => Ok(Some(user(&client()?, &e).await?)),
        other => Ok(other),
    }
}

/// Refuses, before anything is sent, entries that are neither a plausible user id nor an email
/// address (naming the first five).
pub fn check_entries(entries: &[String]) -> Result<()> {
    let bad: Vec<&str> = entries
        .iter()
        .filter(|e| !(is_email(e) || sessions_wire::args::is_plausible_id(e)))
        .map(String::as_str)
        .collect();
    if bad.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = bad.iter().copied().take(5).collect();
    let more = if bad.len() > 5 {
        format!(" and {} more", bad.len() - 5)
    } else {
        String::new()
    };
    Err(UsageError::new(format!(
        "invalid_arguments: not a user id or email: {}{more}",
        shown.join(", ")
    ))
    .hint("users are ids (letters and digits like W012ABC) or email addresses; nothing was sent")
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_emails_pass_anything_else_is_refused() {
        let ok: Vec<String> = ["W0DEV", "dana@acme.example", "U_1-2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        check_entries(&ok).unwrap();
        let bad: Vec<String> = ["W1", "not/an-id", "also bad"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let e = check_entries(&bad).unwrap_err().to_string();
        assert_eq!(
            e,
            "invalid_arguments: not a user id or email: not/an-id, also bad"
        );
        assert_eq!(
            Unresolved {
                emails: vec!["a@x.example".into(), "b@x.example".into()]
            }
            .to_string(),
            "users_not_found: no user has the email addresses a@x.example, b@x.example"
        );
    }
}
