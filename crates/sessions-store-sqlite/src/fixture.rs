//! Fixture loads, dumps, `reset_all` and the server secret: whole orgs replaced or read back
//! at once, in the writer's transaction (loads) or one read snapshot (dumps).

use std::collections::{HashMap, HashSet};

use rusqlite::{params, Connection, OptionalExtension};

use crate::engine::Ctx;
use crate::queries::*;
use sessions_store::*;

// ----- administration -----------------------------------------------------------------------

pub(crate) fn delete_org(conn: &Connection, org: &str) -> Result<()> {
    for table in [
        "sessions",
        "tokens",
        "settings",
        "user_profiles",
        "user_teams",
        "users",
        "teams",
        "bulk_jobs",
        "orgs",
    ] {
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE org_id = ?1"))
            .ctx("deleting org")?
            .execute([org])
            .ctx(&format!("deleting org {org} from {table}"))?;
    }
    Ok(())
}

pub(super) fn reset_all(conn: &Connection) -> Result<()> {
    // sqlite_sequence and org_counters are kept on purpose: session, job and audit ids are
    // never handed out twice.
    conn.execute_batch(
        "DELETE FROM sessions; DELETE FROM tokens; DELETE FROM settings; DELETE FROM user_teams;
         DELETE FROM user_profiles;
         DELETE FROM users; DELETE FROM teams; DELETE FROM bulk_jobs; DELETE FROM orgs;
         DELETE FROM audit_targets; DELETE FROM audit_log;",
    )
    .ctx("resetting")
}

pub(super) fn load_fixture(conn: &Connection, fixture: &Fixture, now: UnixTime) -> Result<()> {
    fixture.check()?;
    let replaced: HashSet<&str> = fixture.orgs.iter().map(|o| o.id.as_str()).collect();
    let refuse =
        |entry: String, message: String| Err(StoreError::Fixture(FixtureError { entry, message }));
    // Clashes with orgs that stay: checked before anything is deleted or written.
    for (oi, org) in fixture.orgs.iter().enumerate() {
        let o = format!("orgs[{oi}] ({})", org.id);
        for (ki, k) in org.tokens.iter().enumerate() {
            if let Some(other) = token_owner_orgs(conn, &TokenHash::of(&k.token))?
                .into_iter()
                .find(|x| !replaced.contains(x.as_str()))
            {
                return refuse(
                    format!("{o}.tokens[{ki}] (user {})", k.user),
                    format!("token already used by org {other}"),
                );
            }
        }
        for (si, s) in org.sessions.iter().enumerate() {
            let e = format!("{o}.sessions[{si}] (session_id {})", s.session_id);
            let owner: Option<String> = conn
                .prepare_cached("SELECT org_id FROM sessions WHERE session_id = ?1")
                .ctx("checking session id")?
                .query_row([s.session_id as i64], |r| r.get(0))
                .optional()
                .ctx("checking session id")?;
            if let Some(other) = owner.filter(|x| !replaced.contains(x.as_str())) {
                return refuse(e, format!("session_id already used by org {other}"));
            }
            if let Some(t) = &s.token {
                if let Some(other) = token_owner_orgs(conn, &TokenHash::of(t))?
                    .into_iter()
                    .find(|x| !replaced.contains(x.as_str()))
                {
                    return refuse(e, format!("token already used by org {other}"));
                }
            }
        }
    }
    // Delete every replaced org before inserting any: the file may move an id or a token
    // from one replaced org to another.
    for org in &fixture.orgs {
        delete_org(conn, &org.id)?;
    }
    for org in &fixture.orgs {
        insert_org(conn, org, now)?;
    }
    Ok(())
}

pub(crate) fn insert_org(conn: &Connection, org: &FixtureOrg, now: UnixTime) -> Result<()> {
    let id = org.id.as_str();
    conn.execute(
        "INSERT INTO orgs (org_id, name) VALUES (?1, ?2)",
        (id, &org.name),
    )
    .ctx("inserting org")?;
    let mut stmt = conn
        .prepare_cached("INSERT INTO teams (org_id, team_id, name, pos) VALUES (?1, ?2, ?3, ?4)")
        .ctx("inserting team")?;
    for (i, t) in org.teams.iter().enumerate() {
        stmt.execute(params![id, t.id, t.name, i as i64])
            .ctx("inserting team")?;
    }
    let mut bots = HashSet::new();
    for (i, u) in org.users.iter().enumerate() {
        if u.is_bot {
            bots.insert(u.id.as_str());
        }
        conn.prepare_cached(
            "INSERT INTO users (org_id, user_id, name, role, is_bot, pos) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .ctx("inserting user")?
        .execute(params![id, u.id, u.name, u.role, u.is_bot, i as i64])
        .ctx("inserting user")?;
        for (ti, t) in u.teams.iter().enumerate() {
            conn.prepare_cached(
                "INSERT OR IGNORE INTO user_teams (org_id, user_id, team_id, pos) \
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .ctx("inserting membership")?
            .execute(params![id, u.id, t, ti as i64])
            .ctx("inserting membership")?;
        }
    }
    crate::directory::insert(conn, org)?;
    for (i, k) in org.tokens.iter().enumerate() {
        conn.prepare_cached(
            "INSERT INTO tokens (token_hash, org_id, user_id, kind, scopes, pos, revoked_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .ctx("inserting token")?
        .execute(params![
            &TokenHash::of(&k.token).0[..],
            id,
            k.user,
            k.kind,
            to_json(&k.scopes)?,
            i as i64,
            k.revoked.then_some(now)
        ])
        .ctx("inserting token")?;
    }
    let mut durations = HashMap::new();
    for s in &org.settings {
        let d = s.duration.map(duration_i64).transpose()?;
        conn.prepare_cached(
            "INSERT INTO settings (org_id, user_id, duration, quit) VALUES (?1, ?2, ?3, ?4)",
        )
        .ctx("inserting settings")?
        .execute(params![id, s.user, d, s.desktop_app_browser_quit])
        .ctx("inserting settings")?;
        if let Some(d) = d {
            durations.insert(s.user.as_str(), d);
        }
    }
    for s in &org.sessions {
        let created_at = s.created_at.unwrap_or(now);
        let expires_at = durations
            .get(s.user.as_str())
            .map(|d| created_at.saturating_add(*d));
        conn.prepare_cached(
            "INSERT INTO sessions (session_id, org_id, user_id, team_id, client, is_bot, \
             token_hash, created_at, expires_at, created, recent) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )
        .ctx("inserting session")?
        .execute(params![
            s.session_id as i64,
            id,
            s.user,
            s.team,
            s.client,
            bots.contains(s.user.as_str()),
            s.token.as_deref().map(|t| TokenHash::of(t).0.to_vec()),
            created_at,
            expires_at,
            to_json(&s.created)?,
            s.recent.as_ref().map(to_json).transpose()?,
        ])
        .ctx("inserting session")?;
    }
    Ok(())
}

/// The stored state as a fixture. Tokens are left out (only hashes are stored). Revoked
/// sessions are left out too: the fixture format cannot say "revoked", and loading a dump
/// must not bring them back to life.
pub(super) fn dump(conn: &Connection, only: Option<&str>) -> Result<Fixture> {
    let org_ids: Vec<(String, String)> = conn
        .prepare_cached(
            "SELECT org_id, name FROM orgs WHERE ?1 IS NULL OR org_id = ?1 ORDER BY org_id",
        )
        .ctx("dumping orgs")?
        .query_map([only], |r| Ok((r.get(0)?, r.get(1)?)))
        .ctx("dumping orgs")?
        .collect::<rusqlite::Result<_>>()
        .ctx("dumping orgs")?;
    let mut orgs = Vec::with_capacity(org_ids.len());
    for (id, name) in org_ids {
        let teams = conn
            .prepare_cached("SELECT team_id, name FROM teams WHERE org_id = ?1 ORDER BY pos")
            .ctx("dumping teams")?
            .query_map([&id], |r| {
                Ok(FixtureTeam {
                    id: r.get(0)?,
                    name: r.get(1)?,
                })
            })
            .ctx("dumping teams")?
            .collect::<rusqlite::Result<_>>()
            .ctx("dumping teams")?;
        let user_ids: Vec<String> = conn
            .prepare_cached("SELECT user_id FROM users WHERE org_id = ?1 ORDER BY pos")
            .ctx("dumping users")?
            .query_map([&id], |r| r.get(0))
            .ctx("dumping users")?
            .collect::<rusqlite::Result<_>>()
            .ctx("dumping users")?;
        let mut users = Vec::with_capacity(user_ids.len());
        for uid in &user_ids {
            if let Some(u) = user(conn, &id, uid)? {
                users.push(FixtureUser::from(u));
            }
        }
        crate::directory::fill(conn, &id, &mut users)?;
        let tokens = conn
            .prepare_cached(
                "SELECT user_id, kind, scopes, revoked_at IS NOT NULL FROM tokens \
                 WHERE org_id = ?1 ORDER BY pos",
            )
            .ctx("dumping tokens")?
            .query_map([&id], |r| {
                let scopes: String = r.get(2)?;
                Ok(FixtureToken {
                    token: String::new(),
                    user: r.get(0)?,
                    kind: r.get(1)?,
                    scopes: json(2, &scopes)?,
                    revoked: r.get(3)?,
                })
            })
            .ctx("dumping tokens")?
            .collect::<rusqlite::Result<_>>()
            .ctx("dumping tokens")?;
        let sessions = conn
            .prepare_cached(&format!(
                "SELECT {SESSION_COLS} FROM sessions WHERE org_id = ?1 AND revoked_at IS NULL \
                 ORDER BY session_id"
            ))
            .ctx("dumping sessions")?
            .query_map([&id], session_row)
            .ctx("dumping sessions")?
            .map(|r| r.map(FixtureSession::from))
            .collect::<rusqlite::Result<_>>()
            .ctx("dumping sessions")?;
        let settings = conn
            .prepare_cached(
                "SELECT s.user_id, s.duration, s.quit FROM settings s JOIN users u \
                 ON u.org_id = s.org_id AND u.user_id = s.user_id WHERE s.org_id = ?1 \
                 ORDER BY u.pos",
            )
            .ctx("dumping settings")?
            .query_map([&id], |r| {
                let d: Option<i64> = r.get(1)?;
                Ok(FixtureSettings {
                    user: r.get(0)?,
                    duration: d.map(|d| d.max(0) as u64),
                    desktop_app_browser_quit: r.get(2)?,
                })
            })
            .ctx("dumping settings")?
            .collect::<rusqlite::Result<_>>()
            .ctx("dumping settings")?;
        orgs.push(FixtureOrg {
            id,
            name,
            teams,
            users,
            tokens,
            sessions,
            settings,
        });
    }
    Ok(Fixture { orgs })
}

pub(super) fn server_secret(conn: &Connection) -> Result<Option<Vec<u8>>> {
    conn.prepare_cached("SELECT value FROM meta WHERE key = 'secret'")
        .ctx("reading secret")?
        .query_row([], |r| r.get(0))
        .optional()
        .ctx("reading secret")
}

pub(super) fn create_server_secret(conn: &Connection) -> Result<Vec<u8>> {
    // INSERT OR IGNORE: whoever commits first wins, everyone reads the winner's value.
    conn.prepare_cached("INSERT OR IGNORE INTO meta (key, value) VALUES ('secret', ?1)")
        .ctx("creating secret")?
        .execute([rand::random::<[u8; 32]>().to_vec()])
        .ctx("creating secret")?;
    server_secret(conn)?.ok_or_else(|| StoreError::backend("server secret missing"))
}
