//! Fixture loads and dumps: a fixture flattened into column arrays and inserted with `unnest`,
//! after checking it clashes with no org it does not replace; and the stored state read back
//! as a fixture.

use std::collections::HashMap;

use tokio_postgres::types::ToSql;

use sessions_store::*;

use crate::directory;
use crate::engine::*;
use crate::queries::*;

// ----- fixtures ------------------------------------------------------------------------------

/// org, user, name, role, is_bot, pos.
pub(crate) type UserCols = (
    Vec<String>,
    Vec<String>,
    Vec<String>,
    Vec<String>,
    Vec<bool>,
    Vec<i32>,
);
/// hash, org, user, kind, scopes (JSON), pos.
pub(crate) type TokenCols = (
    Vec<Vec<u8>>,
    Vec<String>,
    Vec<String>,
    Vec<String>,
    Vec<String>,
    Vec<i32>,
    Vec<Option<i64>>,
);
/// org, user, duration, quit.
pub(crate) type SettingsCols = (
    Vec<String>,
    Vec<String>,
    Vec<Option<i64>>,
    Vec<Option<bool>>,
);

/// A fixture flattened into column arrays, inserted with `unnest` (one round trip per table).
#[derive(Debug, Default)]
pub(crate) struct FixturePlan {
    pub(crate) org_ids: Vec<String>,
    pub(crate) org_names: Vec<String>,
    pub(crate) teams: (Vec<String>, Vec<String>, Vec<String>, Vec<i32>),
    pub(crate) users: UserCols,
    pub(crate) user_teams: (Vec<String>, Vec<String>, Vec<String>, Vec<i32>),
    pub(crate) tokens: TokenCols,
    pub(crate) settings: SettingsCols,
    pub(crate) sessions: SessionCols,
    /// What may clash with orgs that stay, in file order, with the entry to name.
    pub(crate) checks: Vec<Check>,
}

/// A fixture value that must not be used by an org the fixture does not replace.
#[derive(Debug)]
pub(crate) enum Check {
    Token(Vec<u8>, String),
    SessionId(i64, String),
}

#[derive(Debug, Default)]
pub(crate) struct SessionCols {
    id: Vec<i64>,
    org: Vec<String>,
    user: Vec<String>,
    team: Vec<String>,
    client: Vec<String>,
    is_bot: Vec<bool>,
    token: Vec<Option<Vec<u8>>>,
    created_at: Vec<i64>,
    expires_at: Vec<Option<i64>>,
    created: Vec<String>,
    recent: Vec<Option<String>>,
}

/// `Vec<String>` scopes as one array literal per token, because `unnest` flattens 2-D arrays.
pub(crate) fn scopes_literal(scopes: &[String]) -> String {
    serde_json::to_string(scopes).unwrap_or_else(|_| "[]".into())
}

pub(crate) fn pos(i: usize) -> i32 {
    i32::try_from(i).unwrap_or(i32::MAX)
}

impl FixturePlan {
    pub(crate) fn new(fixture: &Fixture, now: UnixTime) -> Result<Self> {
        let mut p = FixturePlan::default();
        for (oi, org) in fixture.orgs.iter().enumerate() {
            let o = format!("orgs[{oi}] ({})", org.id);
            p.org_ids.push(org.id.clone());
            p.org_names.push(org.name.clone());
            for (i, t) in org.teams.iter().enumerate() {
                p.teams.0.push(org.id.clone());
                p.teams.1.push(t.id.clone());
                p.teams.2.push(t.name.clone());
                p.teams.3.push(pos(i));
            }
            let mut bots = HashMap::new();
            for (i, u) in org.users.iter().enumerate() {
                p.users.0.push(org.id.clone());
                p.users.1.push(u.id.clone());
                p.users.2.push(u.name.clone());
                p.users.3.push(u.role.clone());
                p.users.4.push(u.is_bot);
                p.users.5.push(pos(i));
                bots.insert(u.id.as_str(), u.is_bot);
                for (ti, t) in u.teams.iter().enumerate() {
                    p.user_teams.0.push(org.id.clone());
                    p.user_teams.1.push(u.id.clone());
                    p.user_teams.2.push(t.clone());
                    p.user_teams.3.push(pos(ti));
                }
            }
            for (i, k) in org.tokens.iter().enumerate() {
                let hash = TokenHash::of(&k.token).0.to_vec();
                p.checks.push(Check::Token(
                    hash.clone(),
                    format!("{o}.tokens[{i}] (user {})", k.user),
                ));
                p.tokens.0.push(hash);
                p.tokens.1.push(org.id.clone());
                p.tokens.2.push(k.user.clone());
                p.tokens.3.push(k.kind.clone());
                p.tokens.4.push(scopes_literal(&k.scopes));
                p.tokens.5.push(pos(i));
                p.tokens.6.push(k.revoked.then_some(now));
            }
            let mut durations = HashMap::new();
            for s in &org.settings {
                p.settings.0.push(org.id.clone());
                p.settings.1.push(s.user.clone());
                let duration = s.duration.map(duration_i64).transpose()?;
                p.settings.2.push(duration);
                p.settings.3.push(s.desktop_app_browser_quit);
                if let Some(d) = duration {
                    durations.insert(s.user.as_str(), d);
                }
            }
            for (i, s) in org.sessions.iter().enumerate() {
                let id = to_i64(s.session_id);
                let entry = format!("{o}.sessions[{i}] (session_id {})", s.session_id);
                let created_at = s.created_at.unwrap_or(now);
                let token = s.token.as_deref().map(|t| TokenHash::of(t).0.to_vec());
                p.checks.push(Check::SessionId(id, entry.clone()));
                if let Some(h) = &token {
                    p.checks.push(Check::Token(h.clone(), entry));
                }
                let c = &mut p.sessions;
                c.id.push(id);
                c.org.push(org.id.clone());
                c.user.push(s.user.clone());
                c.team.push(s.team.clone());
                c.client.push(s.client.clone());
                c.is_bot
                    .push(bots.get(s.user.as_str()).copied().unwrap_or(false));
                c.token.push(token);
                c.created_at.push(created_at);
                c.expires_at.push(
                    durations
                        .get(s.user.as_str())
                        .map(|d| created_at.saturating_add(*d)),
                );
                c.created.push(device_json(&s.created));
                c.recent.push(s.recent.as_ref().map(device_json));
            }
        }
        Ok(p)
    }

    /// Session ids and tokens already used by orgs this fixture does not replace.
    pub(crate) async fn check_clashes(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
    ) -> Result<(), TxError> {
        let mut used_ids = HashMap::new();
        for r in tx
            .query(
                "SELECT session_id, org_id FROM sessions
                 WHERE session_id = ANY($1) AND NOT (org_id = ANY($2))",
                &[&self.sessions.id, &self.org_ids],
            )
            .await?
        {
            used_ids.insert(r.try_get::<_, i64>(0)?, r.try_get::<_, String>(1)?);
        }
        let hashes: Vec<&Vec<u8>> = self
            .checks
            .iter()
            .filter_map(|c| match c {
                Check::Token(h, _) => Some(h),
                Check::SessionId(..) => None,
            })
            .collect();
        let mut used_tokens = HashMap::new();
        for r in tx
            .query(
                "SELECT token_hash, org_id FROM tokens
                     WHERE token_hash = ANY($1) AND NOT (org_id = ANY($2))
                 UNION ALL
                 SELECT token_hash, org_id FROM sessions
                     WHERE token_hash = ANY($1) AND NOT (org_id = ANY($2))",
                &[&hashes, &self.org_ids],
            )
            .await?
        {
            used_tokens.insert(r.try_get::<_, Vec<u8>>(0)?, r.try_get::<_, String>(1)?);
        }
        // Report the first clash in file order, as the SQLite backend does.
        for check in &self.checks {
            let (owner, entry, what) = match check {
                Check::Token(h, entry) => (used_tokens.get(h), entry, "token"),
                Check::SessionId(id, entry) => (used_ids.get(id), entry, "session_id"),
            };
            if let Some(other) = owner {
                return Err(FixtureError {
                    entry: entry.clone(),
                    message: format!("{what} already used by org {other}"),
                }
                .into());
            }
        }
        Ok(())
    }

    pub(crate) async fn write(&self, tx: &tokio_postgres::Transaction<'_>) -> Result<(), TxError> {
        // Replaced orgs go entirely, with their jobs; cascades take teams, users, tokens,
        // sessions and settings.
        tx.execute(
            "DELETE FROM bulk_jobs WHERE org_id = ANY($1)",
            &[&self.org_ids],
        )
        .await?;
        tx.execute("DELETE FROM orgs WHERE org_id = ANY($1)", &[&self.org_ids])
            .await?;
        tx.execute(
            "INSERT INTO orgs (org_id, name) SELECT * FROM unnest($1::text[], $2::text[])",
            &[&self.org_ids, &self.org_names],
        )
        .await?;
        let t = &self.teams;
        tx.execute(
            "INSERT INTO teams (org_id, team_id, name, pos)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[])",
            &[&t.0, &t.1, &t.2, &t.3],
        )
        .await?;
        let u = &self.users;
        tx.execute(
            "INSERT INTO users (org_id, user_id, name, role, is_bot, pos)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bool[],
                                  $6::int[])",
            &[&u.0, &u.1, &u.2, &u.3, &u.4, &u.5],
        )
        .await?;
        let m = &self.user_teams;
        tx.execute(
            // A team listed twice for a user counts once (the fixture check allows it).
            "INSERT INTO user_teams (org_id, user_id, team_id, pos)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[])
             ON CONFLICT DO NOTHING",
            &[&m.0, &m.1, &m.2, &m.3],
        )
        .await?;
        let k = &self.tokens;
        tx.execute(
            "INSERT INTO tokens (token_hash, org_id, user_id, kind, scopes, pos, revoked_at)
             SELECT h, o, u, k,
                    ARRAY(SELECT jsonb_array_elements_text(s::jsonb)), p, r
             FROM unnest($1::bytea[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[],
                         $7::bigint[])
                  AS x(h, o, u, k, s, p, r)",
            &[&k.0, &k.1, &k.2, &k.3, &k.4, &k.5, &k.6],
        )
        .await?;
        let st = &self.settings;
        tx.execute(
            "INSERT INTO settings (org_id, user_id, duration, desktop_app_browser_quit)
             SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bool[])",
            &[&st.0, &st.1, &st.2, &st.3],
        )
        .await?;
        let s = &self.sessions;
        let params: [&(dyn ToSql + Sync); 11] = [
            &s.id,
            &s.org,
            &s.user,
            &s.team,
            &s.client,
            &s.is_bot,
            &s.token,
            &s.created_at,
            &s.expires_at,
            &s.created,
            &s.recent,
        ];
        tx.execute(
            "INSERT INTO sessions (session_id, org_id, user_id, team_id, client, is_bot,
                 token_hash, created_at, expires_at, created, recent)
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],
                 $6::bool[], $7::bytea[], $8::bigint[], $9::bigint[], $10::text[], $11::text[])",
            &params,
        )
        .await?;
        if !s.id.is_empty() {
            // Later sign-ins (on any node) draw ids above everything loaded; never move the
            // sequence backwards, so ids handed out before are not reused either.
            tx.query(
                "SELECT setval(pg_get_serial_sequence('sessions', 'session_id'),
                     GREATEST((SELECT max(session_id) FROM sessions),
                              nextval(pg_get_serial_sequence('sessions', 'session_id'))))",
                &[],
            )
            .await?;
        }
        Ok(())
    }
}

/// The stored state as a fixture, in one snapshot. Tokens are left out (only hashes are
/// stored); revoked sessions too, since the format cannot say "revoked" and loading a dump must
/// not bring them back. Expired sessions stay: reloading derives the same expiry.
pub(crate) async fn dump_in(
    tx: &tokio_postgres::Transaction<'_>,
    org_id: Option<&str>,
) -> Result<Fixture, TxError> {
    // `$1 IS NULL` selects every org.
    let orgs = tx
        .query(
            "SELECT org_id, name FROM orgs WHERE $1::text IS NULL OR org_id = $1 ORDER BY org_id",
            &[&org_id],
        )
        .await?;
    let mut fixture = Fixture::default();
    let mut index = HashMap::new();
    for r in &orgs {
        let id: String = r.try_get(0)?;
        index.insert(id.clone(), fixture.orgs.len());
        fixture.orgs.push(FixtureOrg {
            id,
            name: r.try_get(1)?,
            ..Default::default()
        });
    }
    let filter = "WHERE $1::text IS NULL OR org_id = $1";
    for r in tx
        .query(
            &format!("SELECT org_id, team_id, name FROM teams {filter} ORDER BY org_id, pos"),
            &[&org_id],
        )
        .await?
    {
        if let Some(&i) = index.get(&r.try_get::<_, String>(0)?) {
            fixture.orgs[i].teams.push(FixtureTeam {
                id: r.try_get(1)?,
                name: r.try_get(2)?,
            });
        }
    }
    let sql = format!(
        "SELECT {USER_COLS} FROM users u WHERE $1::text IS NULL OR u.org_id = $1 ORDER BY u.org_id, u.pos"
    );
    for r in tx.query(&sql, &[&org_id]).await? {
        let u = user_from_row(&r)?;
        if let Some(&i) = index.get(&u.org_id) {
            fixture.orgs[i].users.push(FixtureUser::from(u));
        }
    }
    for r in tx
        .query(
            &format!(
                "SELECT org_id, user_id, kind, scopes, revoked_at IS NOT NULL FROM tokens {filter} \
                 ORDER BY org_id, pos"
            ),
            &[&org_id],
        )
        .await?
    {
        if let Some(&i) = index.get(&r.try_get::<_, String>(0)?) {
            fixture.orgs[i].tokens.push(FixtureToken {
                token: String::new(),
                user: r.try_get(1)?,
                kind: r.try_get(2)?,
                scopes: r.try_get(3)?,
                revoked: r.try_get(4)?,
            });
        }
    }
    let sql = format!(
        "SELECT {SESSION_COLS} FROM sessions s \
         WHERE ($1::text IS NULL OR s.org_id = $1) AND s.revoked_at IS NULL \
         ORDER BY s.session_id"
    );
    for r in tx.query(&sql, &[&org_id]).await? {
        let s = session_from_row(&r)?;
        if let Some(&i) = index.get(&s.org_id) {
            fixture.orgs[i].sessions.push(FixtureSession::from(s));
        }
    }
    let sql = "SELECT st.org_id, st.user_id, st.duration, st.desktop_app_browser_quit
               FROM settings st JOIN users u ON u.org_id = st.org_id AND u.user_id = st.user_id
               WHERE $1::text IS NULL OR st.org_id = $1 ORDER BY st.org_id, u.pos";
    for r in tx.query(sql, &[&org_id]).await? {
        if let Some(&i) = index.get(&r.try_get::<_, String>(0)?) {
            let duration: Option<i64> = r.try_get(2)?;
            fixture.orgs[i].settings.push(FixtureSettings {
                user: r.try_get(1)?,
                duration: duration.map(|d| u64::try_from(d).unwrap_or(0)),
                desktop_app_browser_quit: r.try_get(3)?,
            });
        }
    }
    directory::fill(tx, org_id, &mut fixture).await?;
    Ok(fixture)
}
