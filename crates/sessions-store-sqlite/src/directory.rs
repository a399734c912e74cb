//! The user directory behind `users.info`, `users.lookupByEmail` and `users.list`: the profile
//! fields fixtures may give users (`email`, `real_name`, `deleted`), kept in their own table
//! so the identity path (authentication, admin methods) never reads them.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::engine::Ctx;
use super::queries::{role, user_teams};
use sessions_store::*;

/// Columns read by [`record`], from `users u LEFT JOIN user_profiles p`.
const COLS: &str = "u.user_id, u.name, u.role, u.is_bot, p.email, p.real_name, \
     COALESCE(p.deleted, 0)";
const JOIN: &str = "LEFT JOIN user_profiles p ON p.org_id = u.org_id AND p.user_id = u.user_id";

/// A record without its teams (filled in by [`with_teams`]).
fn record(org: &str, r: &Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        user: UserRow {
            org_id: org.to_owned(),
            user_id: r.get(0)?,
            name: r.get(1)?,
            role: role(r, 2)?,
            is_bot: r.get(3)?,
            teams: Vec::new(),
        },
        email: r.get(4)?,
        real_name: r.get(5)?,
        deleted: r.get(6)?,
    })
}

fn with_teams(conn: &Connection, mut rec: UserRecord) -> Result<UserRecord> {
    rec.user.teams = user_teams(conn, &rec.user.org_id, &rec.user.user_id)?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    Ok(rec)
}

pub(super) fn by_id(conn: &Connection, org: &str, user: &str) -> Result<Option<UserRecord>> {
    let rec = conn
        .prepare_cached(&format!(
            "SELECT {COLS} FROM users u {JOIN} WHERE u.org_id = ?1 AND u.user_id = ?2"
        ))
        .ctx("reading user profile")?
        .query_row((org, user), |r| record(org, r))
        .optional()
        .ctx("reading user profile")?;
    rec.map(|r| with_teams(conn, r)).transpose()
}

pub(super) fn by_email(conn: &Connection, org: &str, email: &str) -> Result<Option<UserRecord>> {
    let id: Option<String> = conn
        .prepare_cached("SELECT user_id FROM user_profiles WHERE org_id = ?1 AND email_key = ?2")
        .ctx("looking up email")?
        .query_row((org, email_key(email)), |r| r.get(0))
        .optional()
        .ctx("looking up email")?;
    match id {
        Some(id) => by_id(conn, org, &id),
        None => Ok(None),
    }
}

/// Users of an org (or of one team) with ids after `after`, in id order, at most `limit`.
pub(super) fn list(
    conn: &Connection,
    org: &str,
    team: Option<&str>,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<UserRecord>> {
    // Every stored id is non-empty, so "after the empty string" is the first page.
    let after = after.unwrap_or("");
    let rows = match team {
        None => conn
            .prepare_cached(&format!(
                "SELECT {COLS} FROM users u {JOIN} \
                 WHERE u.org_id = ?1 AND u.user_id > ?2 ORDER BY u.user_id LIMIT ?3"
            ))
            .ctx("listing users")?
            .query_map(params![org, after, limit], |r| record(org, r))
            .ctx("listing users")?
            .collect::<rusqlite::Result<Vec<_>>>(),
        Some(team) => conn
            .prepare_cached(&format!(
                "SELECT {COLS} FROM user_teams ut \
                 JOIN users u ON u.org_id = ut.org_id AND u.user_id = ut.user_id {JOIN} \
                 WHERE ut.org_id = ?1 AND ut.team_id = ?4 AND ut.user_id > ?2 \
                 ORDER BY ut.user_id LIMIT ?3"
            ))
            .ctx("listing team users")?
            .query_map(params![org, after, limit, team], |r| record(org, r))
            .ctx("listing team users")?
            .collect::<rusqlite::Result<Vec<_>>>(),
    }
    .ctx("listing users")?;
    rows.into_iter().map(|r| with_teams(conn, r)).collect()
}

/// Stores the profile of every fixture user that has one (part of a fixture load).
pub(super) fn insert(conn: &Connection, org: &FixtureOrg) -> Result<()> {
    for u in org.users.iter().filter(|u| u.has_profile()) {
        conn.prepare_cached(
            "INSERT INTO user_profiles (org_id, user_id, email, email_key, real_name, deleted) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .ctx("inserting user profile")?
        .execute(params![
            org.id,
            u.id,
            u.email,
            u.email.as_deref().map(email_key),
            u.real_name,
            u.deleted
        ])
        .ctx("inserting user profile")?;
    }
    Ok(())
}

/// Adds the stored profiles to dumped users (part of a dump).
pub(super) fn fill(conn: &Connection, org: &str, users: &mut [FixtureUser]) -> Result<()> {
    for u in users {
        if let Some(rec) = by_id(conn, org, &u.id)? {
            u.email = rec.email;
            u.real_name = rec.real_name;
            u.deleted = rec.deleted;
        }
    }
    Ok(())
}
