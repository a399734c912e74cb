//! Synchronous queries on one connection. Writers run on the writer thread inside a savepoint;
//! readers run on a read-only connection, inside a read transaction when they take several
//! statements.

use std::collections::{HashMap, HashSet};

use rusqlite::types::Type;
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::engine::Ctx;
use sessions_store::*;

/// Largest id a session can have (ids are SQLite INTEGERs).
pub(crate) const ID_MAX: u64 = i64::MAX as u64;

/// A stored value we cannot interpret: reported as a backend error, never a panic.
pub(crate) fn bad(col: usize, msg: impl Into<String>) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(col, Type::Text, msg.into().into())
}

pub(crate) fn json<T: serde::de::DeserializeOwned>(col: usize, text: &str) -> rusqlite::Result<T> {
    serde_json::from_str(text).map_err(|e| bad(col, format!("bad JSON: {e}")))
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::backend_from(format!("encoding JSON: {e}"), e))
}

/// `created_at + duration`, saturating instead of overflowing into a REAL.
pub(crate) const EXPIRY_SQL: &str = "CASE WHEN ?3 > 9223372036854775807 - created_at \
     THEN 9223372036854775807 ELSE created_at + ?3 END";

pub(crate) fn duration_i64(d: u64) -> Result<i64> {
    i64::try_from(d).map_err(|_| StoreError::Conflict(format!("duration {d} is out of range")))
}

pub(crate) fn dedup(ids: &[String]) -> Vec<&str> {
    let mut seen = HashSet::new();
    ids.iter()
        .map(String::as_str)
        .filter(|id| seen.insert(*id))
        .collect()
}

// ----- rows ---------------------------------------------------------------------------------

pub(crate) const SESSION_COLS: &str = "session_id, org_id, user_id, team_id, client, created_at, \
                            expires_at, revoked_at, created, recent";

pub(crate) fn session_row(r: &Row<'_>) -> rusqlite::Result<SessionRow> {
    let id: i64 = r.get(0)?;
    // The text columns that are parsed are read in place, not copied into Strings first (a
    // list page reads a thousand rows).
    let text = |col: usize| -> rusqlite::Result<Option<&str>> {
        r.get_ref(col)?
            .as_str_or_null()
            .map_err(|e| bad(col, e.to_string()))
    };
    let client = text(4)?.unwrap_or_default();
    Ok(SessionRow {
        session_id: u64::try_from(id).map_err(|_| bad(0, format!("negative session id {id}")))?,
        org_id: r.get(1)?,
        user_id: r.get(2)?,
        team_id: r.get(3)?,
        client: ClientKind::parse(client)
            .ok_or_else(|| bad(4, format!("unknown client {client:?}")))?,
        created_at: r.get(5)?,
        expires_at: r.get(6)?,
        revoked_at: r.get(7)?,
        created: json(8, text(8)?.ok_or_else(|| bad(8, "created is NULL"))?)?,
        recent: text(9)?.map(|t| json(9, t)).transpose()?,
    })
}

/// The role stored in column `col`.
pub(super) fn role(r: &Row<'_>, col: usize) -> rusqlite::Result<Role> {
    let role: String = r.get(col)?;
    Role::parse(&role).ok_or_else(|| bad(col, format!("unknown role {role:?}")))
}

pub(super) fn user(conn: &Connection, org: &str, user: &str) -> Result<Option<UserRow>> {
    let head = conn
        .prepare_cached("SELECT name, role, is_bot FROM users WHERE org_id = ?1 AND user_id = ?2")
        .ctx("reading user")?
        .query_row((org, user), |r| {
            Ok((r.get::<_, String>(0)?, role(r, 1)?, r.get::<_, bool>(2)?))
        })
        .optional()
        .ctx("reading user")?;
    let Some((name, role, is_bot)) = head else {
        return Ok(None);
    };
    let teams = user_teams(conn, org, user)?;
    Ok(Some(UserRow {
        org_id: org.to_owned(),
        user_id: user.to_owned(),
        name,
        role,
        is_bot,
        teams: teams.into_iter().map(|(id, _)| id).collect(),
    }))
}

/// A user's teams in fixture order, each with its name (`None` if the team row is missing).
/// Sorted here rather than by `ORDER BY pos`, which would make SQLite run a sorter for a
/// handful of rows on every authenticated call.
pub(super) fn user_teams(
    conn: &Connection,
    org: &str,
    user: &str,
) -> Result<Vec<(String, Option<String>)>> {
    let mut teams = conn
        .prepare_cached(
            "SELECT ut.pos, ut.team_id, t.name FROM user_teams ut \
               LEFT JOIN teams t ON t.org_id = ut.org_id AND t.team_id = ut.team_id \
              WHERE ut.org_id = ?1 AND ut.user_id = ?2",
        )
        .ctx("reading user teams")?
        .query_map((org, user), |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get(2)?))
        })
        .ctx("reading user teams")?
        .collect::<rusqlite::Result<Vec<(i64, String, Option<String>)>>>()
        .ctx("reading user teams")?;
    teams.sort_by_key(|t| t.0);
    Ok(teams.into_iter().map(|(_, id, name)| (id, name)).collect())
}

pub(super) fn users(conn: &Connection, org: &str, ids: &[String]) -> Result<Vec<UserRow>> {
    let mut out = Vec::new();
    for id in dedup(ids) {
        if let Some(u) = user(conn, org, id)? {
            out.push(u);
        }
    }
    Ok(out)
}

pub(super) fn team_name(conn: &Connection, org: &str, team: &str) -> Result<Option<String>> {
    conn.prepare_cached("SELECT name FROM teams WHERE org_id = ?1 AND team_id = ?2")
        .ctx("reading team")?
        .query_row((org, team), |r| r.get(0))
        .optional()
        .ctx("reading team")
}

// ----- identity -----------------------------------------------------------------------------

/// The caller's org name and user, as joined onto a token row: `None` when either row is
/// missing (foreign keys make them present; a hand-edited database without them authenticates
/// no one).
pub(crate) type Holder = Option<(String, String, Role, bool, bool)>;

/// Reads columns `first..first+5` (org name, user name, role, is_bot, deactivated) of an
/// authentication row.
pub(crate) fn holder(r: &Row<'_>, first: usize) -> rusqlite::Result<Holder> {
    let (org, user): (Option<String>, Option<String>) = (r.get(first)?, r.get(first + 1)?);
    let (Some(org), Some(user)) = (org, user) else {
        return Ok(None);
    };
    Ok(Some((
        org,
        user,
        role(r, first + 2)?,
        r.get(first + 3)?,
        r.get(first + 4)?,
    )))
}

/// The row `x` of `$table` (`tokens` or `sessions`) whose `token_hash` is `?1`: its `$cols`, then
/// its holder's org name, user name, role, bot flag and whether the user is deactivated (what
/// [`holder`] reads), one statement text for both kinds of credential.
macro_rules! by_token_hash {
    ($cols:literal, $table:literal) => {
        concat!(
            "SELECT ",
            $cols,
            ", o.name, u.name, u.role, u.is_bot, COALESCE(p.deleted, 0) FROM ",
            $table,
            " x LEFT JOIN orgs o ON o.org_id = x.org_id \
             LEFT JOIN users u ON u.org_id = x.org_id AND u.user_id = x.user_id \
             LEFT JOIN user_profiles p ON p.org_id = x.org_id AND p.user_id = x.user_id \
             WHERE x.token_hash = ?1"
        )
    };
}

/// Who a token is, and when its session expires (session tokens). Every API call starts here,
/// so it costs at most three indexed statements (token row joined to its org and user; the same
/// for a session token; the user's teams joined to their names) inside the caller's read
/// transaction.
pub(super) fn authenticate(
    conn: &Connection,
    token: &TokenHash,
    now: UnixTime,
) -> Result<(TokenLookup, Option<UnixTime>)> {
    let api = conn
        .prepare_cached(by_token_hash!(
            "x.org_id, x.user_id, x.kind, x.scopes, x.revoked_at",
            "tokens"
        ))
        .ctx("looking up token")?
        .query_row([&token.0[..]], |r| {
            let scopes: String = r.get(3)?;
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                json::<Vec<String>>(3, &scopes)?,
                r.get::<_, Option<i64>>(4)?,
                holder(r, 5)?,
            ))
        })
        .optional()
        .ctx("looking up token")?;
    if let Some((org, user, kind, scopes, revoked, holder)) = api {
        if revoked.is_some() {
            return Ok((TokenLookup::Revoked, None));
        }
        let kind = if kind == "bot" {
            PrincipalKind::BotToken
        } else {
            PrincipalKind::UserToken
        };
        return Ok((principal(conn, org, user, holder, kind, scopes)?, None));
    }
    let session = conn
        .prepare_cached(by_token_hash!(
            "x.session_id, x.org_id, x.user_id, x.revoked_at, x.expires_at",
            "sessions"
        ))
        .ctx("looking up session token")?
        .query_row([&token.0[..]], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, Option<i64>>(4)?,
                holder(r, 5)?,
            ))
        })
        .optional()
        .ctx("looking up session token")?;
    let lookup = match session {
        None => TokenLookup::Unknown,
        Some((_, _, _, revoked, expires, _))
            if revoked.is_some() || expires.is_some_and(|e| e <= now) =>
        {
            TokenLookup::SessionEnded
        }
        Some((id, org, user, _, expires, holder)) => match u64::try_from(id) {
            Ok(id) => {
                let kind = PrincipalKind::Session(id);
                return Ok((
                    principal(conn, org, user, holder, kind, Vec::new())?,
                    expires,
                ));
            }
            Err(_) => TokenLookup::Unknown, // impossible id: hand-edited database
        },
    };
    Ok((lookup, None))
}

pub(crate) fn principal(
    conn: &Connection,
    org_id: String,
    user_id: String,
    holder: Holder,
    kind: PrincipalKind,
    scopes: Vec<String>,
) -> Result<TokenLookup> {
    let Some((org_name, name, role, is_bot, deactivated)) = holder else {
        return Ok(TokenLookup::Unknown);
    };
    if deactivated {
        return Ok(TokenLookup::Inactive);
    }
    let mut teams = user_teams(conn, &org_id, &user_id)?;
    let team = match teams.first_mut() {
        Some((id, Some(name))) => Some((id.clone(), std::mem::take(name))),
        _ => None,
    };
    Ok(TokenLookup::Active(std::sync::Arc::new(Principal {
        org: OrgRow {
            org_id: org_id.clone(),
            name: org_name,
        },
        user: UserRow {
            org_id,
            user_id,
            name,
            role,
            is_bot,
            teams: teams.into_iter().map(|(id, _)| id).collect(),
        },
        kind,
        scopes,
        team,
    })))
}

pub(super) fn revoke_token(conn: &Connection, token: &TokenHash, now: UnixTime) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE tokens SET revoked_at = ?2 WHERE token_hash = ?1 AND revoked_at IS NULL",
        )
        .ctx("revoking token")?
        .execute(params![&token.0[..], now])
        .ctx("revoking token")?;
    Ok(n > 0)
}

// ----- sessions -----------------------------------------------------------------------------

/// The page query over the whole org. Its WHERE clause repeats the partial index's predicate
/// literally so SQLite can use `sessions_active_org`.
pub(super) const LIST_ORG_SQL: &str = "SELECT session_id, org_id, user_id, team_id, client, \
     created_at, expires_at, revoked_at, created, recent FROM sessions \
     WHERE org_id = ?1 AND revoked_at IS NULL AND is_bot = 0 AND session_id > ?2 \
     AND (expires_at IS NULL OR expires_at > ?3) ORDER BY session_id LIMIT ?4";

/// The page query for one user on one team, served by `sessions_user_team`.
pub(super) const LIST_USER_TEAM_SQL: &str = "SELECT session_id, org_id, user_id, team_id, client, \
     created_at, expires_at, revoked_at, created, recent FROM sessions \
     WHERE org_id = ?1 AND user_id = ?5 AND team_id = ?6 AND revoked_at IS NULL AND is_bot = 0 \
     AND session_id > ?2 AND (expires_at IS NULL OR expires_at > ?3) \
     ORDER BY session_id LIMIT ?4";

pub(super) fn list_sessions(
    conn: &Connection,
    org: &str,
    filter: &SessionFilter,
    after: Option<u64>,
    limit: u32,
    now: UnixTime,
) -> Result<Vec<SessionRow>> {
    let after = after.unwrap_or(0).min(ID_MAX) as i64;
    let limit = i64::from(limit);
    let rows = match &filter.user_team {
        None => conn
            .prepare_cached(LIST_ORG_SQL)
            .ctx("listing sessions")?
            .query_map(params![org, after, now, limit], session_row)
            .ctx("listing sessions")?
            .collect::<rusqlite::Result<Vec<_>>>(),
        Some((user, team)) => conn
            .prepare_cached(LIST_USER_TEAM_SQL)
            .ctx("listing sessions")?
            .query_map(params![org, after, now, limit, user, team], session_row)
            .ctx("listing sessions")?
            .collect::<rusqlite::Result<Vec<_>>>(),
    };
    rows.ctx("listing sessions")
}

pub(super) fn session(conn: &Connection, org: &str, id: u64) -> Result<Option<SessionRow>> {
    if id > ID_MAX {
        return Ok(None);
    }
    conn.prepare_cached(&format!(
        "SELECT {SESSION_COLS} FROM sessions WHERE org_id = ?1 AND session_id = ?2"
    ))
    .ctx("reading session")?
    .query_row(params![org, id as i64], session_row)
    .optional()
    .ctx("reading session")
}

pub(super) fn invalidate_session(
    conn: &Connection,
    org: &str,
    id: u64,
    now: UnixTime,
) -> Result<bool> {
    if id > ID_MAX {
        return Ok(false);
    }
    let n = conn
        .prepare_cached(
            "UPDATE sessions SET revoked_at = ?3 WHERE org_id = ?1 AND session_id = ?2 \
             AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?3)",
        )
        .ctx("invalidating session")?
        .execute(params![org, id as i64, now])
        .ctx("invalidating session")?;
    Ok(n > 0)
}

pub(super) fn reset_user(
    conn: &Connection,
    org: &str,
    user: &str,
    filter: ResetFilter,
    now: UnixTime,
) -> Result<u64> {
    let clients = match filter {
        ResetFilter::All => "",
        ResetFilter::MobileOnly => " AND client IN ('ios', 'android')",
        ResetFilter::WebOnly => " AND client = 'web'",
    };
    let n = conn
        .prepare_cached(&format!(
            "UPDATE sessions SET revoked_at = ?3 WHERE org_id = ?1 AND user_id = ?2 \
             AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?3){clients}"
        ))
        .ctx("resetting sessions")?
        .execute(params![org, user, now])
        .ctx("resetting sessions")?;
    Ok(n as u64)
}

pub(crate) fn token_owner_orgs(conn: &Connection, token: &TokenHash) -> Result<Vec<String>> {
    conn.prepare_cached(
        "SELECT org_id FROM tokens WHERE token_hash = ?1 \
         UNION ALL SELECT org_id FROM sessions WHERE token_hash = ?1",
    )
    .ctx("checking token")?
    .query_map([&token.0[..]], |r| r.get(0))
    .ctx("checking token")?
    .collect::<rusqlite::Result<Vec<String>>>()
    .ctx("checking token")
}

pub(crate) fn duration_of(conn: &Connection, org: &str, user: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT duration FROM settings WHERE org_id = ?1 AND user_id = ?2")
        .ctx("reading settings")?
        .query_row((org, user), |r| r.get::<_, Option<i64>>(0))
        .optional()
        .ctx("reading settings")?
        .flatten())
}

pub(super) fn create_session(conn: &Connection, new: &NewSession) -> Result<SessionRow> {
    let Some(user) = user(conn, &new.org_id, &new.user_id)? else {
        return Err(StoreError::NotFound(format!(
            "user {} in org {}",
            new.user_id, new.org_id
        )));
    };
    if team_name(conn, &new.org_id, &new.team_id)?.is_none() {
        return Err(StoreError::NotFound(format!(
            "team {} in org {}",
            new.team_id, new.org_id
        )));
    }
    if !user.teams.contains(&new.team_id) {
        return Err(StoreError::NotFound(format!(
            "membership of user {} in team {}",
            new.user_id, new.team_id
        )));
    }
    if !token_owner_orgs(conn, &new.token_hash)?.is_empty() {
        return Err(StoreError::Conflict(
            "the session token is already in use".into(),
        ));
    }
    let expires_at =
        duration_of(conn, &new.org_id, &new.user_id)?.map(|d| new.created_at.saturating_add(d));
    conn.prepare_cached(
        "INSERT INTO sessions (org_id, user_id, team_id, client, is_bot, token_hash, created_at, \
         expires_at, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .ctx("creating session")?
    .execute(params![
        new.org_id,
        new.user_id,
        new.team_id,
        new.client.as_str(),
        user.is_bot,
        &new.token_hash.0[..],
        new.created_at,
        expires_at,
        to_json(&new.created)?,
    ])
    .ctx("creating session")?;
    let id = conn.last_insert_rowid();
    Ok(SessionRow {
        session_id: id as u64,
        org_id: new.org_id.clone(),
        user_id: new.user_id.clone(),
        team_id: new.team_id.clone(),
        client: new.client,
        created_at: new.created_at,
        expires_at,
        revoked_at: None,
        created: new.created.clone(),
        recent: None,
    })
}

// ----- settings -----------------------------------------------------------------------------

pub(super) fn get_settings(
    conn: &Connection,
    org: &str,
    ids: &[String],
) -> Result<Vec<SettingsRow>> {
    let mut stmt = conn
        .prepare_cached("SELECT duration, quit FROM settings WHERE org_id = ?1 AND user_id = ?2")
        .ctx("reading settings")?;
    let mut out = Vec::new();
    for id in dedup(ids) {
        let row = stmt
            .query_row((org, id), |r| {
                let d: Option<i64> = r.get(0)?;
                Ok(SettingsRow {
                    user_id: id.to_owned(),
                    duration: d.map(|d| d.max(0) as u64),
                    desktop_app_browser_quit: r.get(1)?,
                })
            })
            .optional()
            .ctx("reading settings")?;
        out.extend(row);
    }
    Ok(out)
}

pub(super) fn set_settings(
    conn: &Connection,
    org: &str,
    ids: &[String],
    change: SettingsChange,
) -> Result<()> {
    let duration = change.duration.map(duration_i64).transpose()?;
    for id in dedup(ids) {
        if user(conn, org, id)?.is_none() {
            return Err(StoreError::NotFound(format!("user {id} in org {org}")));
        }
        if duration.is_none() && change.desktop_app_browser_quit.is_none() {
            continue; // nothing to set; do not create an empty settings row
        }
        conn.prepare_cached(
            "INSERT INTO settings (org_id, user_id, duration, quit) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (org_id, user_id) DO UPDATE SET \
             duration = COALESCE(excluded.duration, settings.duration), \
             quit = COALESCE(excluded.quit, settings.quit)",
        )
        .ctx("writing settings")?
        .execute(params![org, id, duration, change.desktop_app_browser_quit])
        .ctx("writing settings")?;
        if let Some(d) = duration {
            // Only ever shortens: a session keeps an earlier expiry it already has, so an
            // expired one stays expired whatever the new duration.
            conn.prepare_cached(&format!(
                "UPDATE sessions SET expires_at = {EXPIRY_SQL} WHERE org_id = ?1 AND user_id = ?2 \
                 AND (expires_at IS NULL OR expires_at > {EXPIRY_SQL})"
            ))
            .ctx("shortening session expiry")?
            .execute(params![org, id, d])
            .ctx("shortening session expiry")?;
        }
    }
    Ok(())
}

pub(super) fn clear_settings(conn: &Connection, org: &str, ids: &[String]) -> Result<()> {
    for id in dedup(ids) {
        conn.prepare_cached("DELETE FROM settings WHERE org_id = ?1 AND user_id = ?2")
            .ctx("clearing settings")?
            .execute((org, id))
            .ctx("clearing settings")?;
        // Existing sessions keep their expiry (settings only ever shorten them); sessions
        // created from now on have none.
    }
    Ok(())
}

/// Marks up to `limit` sessions past their expiry at `now` as ended (`revoked_at` = their
/// expiry), so no later clock or settings change can make them active again.
pub(super) fn expire_sessions(conn: &Connection, now: UnixTime, limit: u32) -> Result<u64> {
    conn.prepare_cached(
        "UPDATE sessions SET revoked_at = expires_at WHERE session_id IN ( \
             SELECT session_id FROM sessions INDEXED BY sessions_expiring \
             WHERE revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at <= ?1 \
             LIMIT ?2)",
    )
    .ctx("ending expired sessions")?
    .execute(params![now, limit])
    .ctx("ending expired sessions")
    .map(|n| n as u64)
}

/// Which of `ids` have at least one active session at `now`.
pub(super) fn users_with_sessions(
    conn: &Connection,
    org: &str,
    ids: &[String],
    now: UnixTime,
) -> Result<Vec<String>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM sessions WHERE org_id = ?1 AND user_id = ?2 \
             AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?3))",
        )
        .ctx("finding active sessions")?;
    let mut out = Vec::new();
    for id in dedup(ids) {
        let any: bool = stmt
            .query_row(params![org, id, now], |r| r.get(0))
            .ctx("finding active sessions")?;
        if any {
            out.push(id.to_owned());
        }
    }
    Ok(out)
}

// ----- bulk jobs ----------------------------------------------------------------------------

pub(crate) const JOB_COLS: &str =
    "job_id, org_id, actor_user_id, user_ids, filter, state, created_at, \
                        run_after, finished_at, results, attempts";

pub(crate) fn job_row(r: &Row<'_>) -> rusqlite::Result<BulkJob> {
    let user_ids: String = r.get(3)?;
    let filter: String = r.get(4)?;
    let state: String = r.get(5)?;
    let results: Option<String> = r.get(9)?;
    let attempts: i64 = r.get(10)?;
    Ok(BulkJob {
        job_id: r.get(0)?,
        org_id: r.get(1)?,
        actor_user_id: r.get(2)?,
        user_ids: json(3, &user_ids)?,
        filter: ResetFilter::parse(&filter)
            .ok_or_else(|| bad(4, format!("unknown filter {filter:?}")))?,
        state: match state.as_str() {
            "pending" => JobState::Pending,
            "done" => JobState::Done,
            _ => return Err(bad(5, format!("unknown job state {state:?}"))),
        },
        created_at: r.get(6)?,
        run_after: r.get(7)?,
        finished_at: r.get(8)?,
        results: results
            .map(|t| json(9, &t))
            .transpose()?
            .unwrap_or_default(),
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
    })
}

pub(super) fn bulk_job(conn: &Connection, org: &str, job_id: i64) -> Result<Option<BulkJob>> {
    conn.prepare_cached(&format!(
        "SELECT {JOB_COLS} FROM bulk_jobs WHERE org_id = ?1 AND job_id = ?2"
    ))
    .ctx("reading job")?
    .query_row(params![org, job_id], job_row)
    .optional()
    .ctx("reading job")
}

/// The next per-org number of `kind` (`audit` or `job`): 1, 2, 3, ... within each org, never
/// handed out twice (schema version 4), so an org's ids say nothing about other orgs.
pub(super) fn next_org_id(conn: &Connection, org: &str, kind: &str) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO org_counters (org_id, kind, last) VALUES (?1, ?2, 1) \
         ON CONFLICT (org_id, kind) DO UPDATE SET last = last + 1 RETURNING last",
    )
    .ctx("allocating an id")?
    .query_row(params![org, kind], |r| r.get(0))
    .ctx("allocating an id")
}

pub(super) fn pending_bulk_jobs(conn: &Connection) -> Result<u64> {
    conn.prepare_cached("SELECT COUNT(*) FROM bulk_jobs WHERE state = 'pending'")
        .ctx("counting jobs")?
        .query_row([], |r| r.get::<_, i64>(0))
        .ctx("counting jobs")
        .map(|n| n as u64)
}

pub(super) fn enqueue_bulk_reset(
    conn: &Connection,
    org: &str,
    actor: &str,
    ids: &[String],
    filter: ResetFilter,
    now: UnixTime,
    run_after: UnixTime,
) -> Result<i64> {
    let id = next_org_id(conn, org, "job")?;
    conn.prepare_cached(
        "INSERT INTO bulk_jobs (job_id, org_id, actor_user_id, user_ids, filter, state, \
         created_at, run_after, attempts) VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7, 0)",
    )
    .ctx("enqueueing job")?
    .execute(params![
        id,
        org,
        actor,
        to_json(&ids)?,
        filter.as_str(),
        now,
        run_after
    ])
    .ctx("enqueueing job")?;
    Ok(id)
}

pub(super) fn claim_bulk_job(
    conn: &Connection,
    worker: &str,
    now: UnixTime,
    lease_secs: i64,
) -> Result<Option<JobClaim>> {
    let found: Option<(String, i64)> = conn
        .prepare_cached(
            "SELECT org_id, job_id FROM bulk_jobs WHERE state = 'pending' AND run_after <= ?1 \
             AND (lease_until IS NULL OR lease_until < ?1) \
             ORDER BY created_at, org_id, job_id LIMIT 1",
        )
        .ctx("finding a job")?
        .query_row([now], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .ctx("finding a job")?;
    let Some((org, id)) = found else {
        return Ok(None);
    };
    let lease: String = rand::random::<[u8; 16]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    conn.prepare_cached(
        "UPDATE bulk_jobs SET lease_owner = ?2, lease_token = ?3, lease_until = ?4, \
         attempts = attempts + 1 WHERE job_id = ?1 AND org_id = ?5",
    )
    .ctx("claiming job")?
    .execute(params![
        id,
        worker,
        lease,
        now.saturating_add(lease_secs.max(0)),
        org
    ])
    .ctx("claiming job")?;
    let job = bulk_job(conn, &org, id)?
        .ok_or_else(|| StoreError::backend(format!("job {id} vanished while claiming")))?;
    Ok(Some(JobClaim { job, lease }))
}

pub(super) fn complete_bulk_job(
    conn: &Connection,
    claim: &JobClaim,
    now: UnixTime,
) -> Result<BulkJob> {
    let id = claim.job.job_id;
    let lease: Option<Option<String>> = conn
        .prepare_cached(
            "SELECT lease_token FROM bulk_jobs WHERE job_id = ?1 AND org_id = ?2 \
             AND state = 'pending'",
        )
        .ctx("checking lease")?
        .query_row(params![id, claim.job.org_id], |r| r.get(0))
        .optional()
        .ctx("checking lease")?;
    if lease.flatten().as_deref() != Some(claim.lease.as_str()) {
        return Err(StoreError::LeaseLost);
    }
    // Work from the stored job, not the caller's copy.
    let job = bulk_job(conn, &claim.job.org_id, id)?.ok_or(StoreError::LeaseLost)?;
    let mut is_bot = HashMap::new();
    for uid in &job.user_ids {
        if let Some(u) = user(conn, &job.org_id, uid)? {
            is_bot.insert(uid.clone(), u.is_bot);
        }
    }
    let sessions_store::bulk::BulkPlan { targets, results } =
        sessions_store::bulk::plan(&job.user_ids, &is_bot);
    for uid in &targets {
        reset_user(conn, &job.org_id, uid, job.filter, now)?;
    }
    conn.prepare_cached(
        "UPDATE bulk_jobs SET state = 'done', finished_at = ?2, results = ?3, \
         lease_token = NULL, lease_until = NULL WHERE job_id = ?1 AND org_id = ?4",
    )
    .ctx("finishing job")?
    .execute(params![id, now, to_json(&results)?, job.org_id])
    .ctx("finishing job")?;
    let done = bulk_job(conn, &job.org_id, id)?
        .ok_or_else(|| StoreError::backend(format!("job {id} vanished")))?;
    super::audit::append_job_entries(conn, &done, now)?;
    Ok(done)
}
