//! Statements and row mapping: the column lists, rows to model values, and the multi-row
//! writes several `Store` methods share (revocations, job inserts, settings changes).

use tokio_postgres::Row;

use sessions_store::*;

use crate::engine::*;
use crate::{audit, PgStore};

/// `invalidate_session`: revokes one session if active. One statement: after waiting on a
/// concurrent writer PostgreSQL re-checks the WHERE clause, so exactly one of several
/// concurrent calls sees a row updated. $1 org, $2 session, $3 now.
pub(crate) const INVALIDATE_SQL: &str = "UPDATE sessions SET revoked_at = $3
     WHERE org_id = $1 AND session_id = $2 AND revoked_at IS NULL
       AND (expires_at IS NULL OR expires_at > $3)";

/// Columns of a session row, in the order [`session_from_row`] reads them by name.
pub(crate) const SESSION_COLS: &str = "s.session_id, s.org_id, s.user_id, s.team_id, s.client, \
     s.created_at, s.expires_at, s.revoked_at, s.created, s.recent";

/// Columns of a user row (`users u`), read by [`user_from_row`].
pub(crate) const USER_COLS: &str = "u.org_id AS u_org, u.user_id AS u_id, u.name AS u_name, \
     u.role AS u_role, u.is_bot AS u_bot, \
     ARRAY(SELECT ut.team_id FROM user_teams ut \
           WHERE ut.org_id = u.org_id AND ut.user_id = u.user_id ORDER BY ut.pos) AS u_teams";

/// Columns of a job row.
pub(crate) const JOB_COLS: &str =
    "job_id, org_id, actor_user_id, user_ids, filter, state, created_at, \
     run_after, finished_at, results, attempts, lease_token";

/// Org, user and first team of a principal (`users u JOIN orgs o`), read by
/// [`principal_from_row`].
pub(crate) const PRINCIPAL_COLS: &str =
    "o.name AS o_name, ft.team_id AS ft_id, ft.name AS ft_name, \
     COALESCE(pr.deleted, FALSE) AS u_deleted";
pub(crate) const PRINCIPAL_JOINS: &str =
    "JOIN users u ON u.org_id = x.org_id AND u.user_id = x.user_id \
     JOIN orgs o ON o.org_id = u.org_id \
     LEFT JOIN user_profiles pr ON pr.org_id = x.org_id AND pr.user_id = x.user_id \
     LEFT JOIN LATERAL (SELECT tm.team_id, tm.name FROM user_teams ut \
         JOIN teams tm ON tm.org_id = ut.org_id AND tm.team_id = ut.team_id \
         WHERE ut.org_id = u.org_id AND ut.user_id = u.user_id \
         ORDER BY ut.pos LIMIT 1) ft ON TRUE";

// ----- row mapping ---------------------------------------------------------------------------

pub(crate) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A duration as stored; larger than any column can hold is refused rather than clamped.
pub(crate) fn duration_i64(d: u64) -> Result<i64> {
    i64::try_from(d).map_err(|_| StoreError::Conflict(format!("duration {d} is out of range")))
}

pub(crate) fn device_json(d: &Device) -> String {
    serde_json::to_string(d).unwrap_or_else(|_| "{}".into())
}

pub(crate) fn parse_device(text: &str) -> Result<Device, TxError> {
    serde_json::from_str(text).map_err(|_| corrupt("device", text))
}

pub(crate) fn session_from_row(row: &Row) -> Result<SessionRow, TxError> {
    let client: String = row.try_get("client")?;
    let created: String = row.try_get("created")?;
    let recent: Option<String> = row.try_get("recent")?;
    let id: i64 = row.try_get("session_id")?;
    Ok(SessionRow {
        session_id: u64::try_from(id).map_err(|_| corrupt("session id", &id.to_string()))?,
        org_id: row.try_get("org_id")?,
        user_id: row.try_get("user_id")?,
        team_id: row.try_get("team_id")?,
        client: ClientKind::parse(&client).ok_or_else(|| corrupt("client", &client))?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
        created: parse_device(&created)?,
        recent: recent.as_deref().map(parse_device).transpose()?,
    })
}

pub(crate) fn user_from_row(row: &Row) -> Result<UserRow, TxError> {
    let role: String = row.try_get("u_role")?;
    Ok(UserRow {
        org_id: row.try_get("u_org")?,
        user_id: row.try_get("u_id")?,
        name: row.try_get("u_name")?,
        role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
        is_bot: row.try_get("u_bot")?,
        teams: row.try_get("u_teams")?,
    })
}

/// A live credential's lookup: [`TokenLookup::Inactive`] when its user is deactivated
/// (`u_deleted`, from [`PRINCIPAL_COLS`]), else the principal.
pub(crate) fn lookup_from_row(
    row: &Row,
    kind: PrincipalKind,
    scopes: Vec<String>,
) -> Result<TokenLookup, TxError> {
    if row.try_get::<_, bool>("u_deleted")? {
        return Ok(TokenLookup::Inactive);
    }
    Ok(TokenLookup::Active(std::sync::Arc::new(
        principal_from_row(row, kind, scopes)?,
    )))
}

fn principal_from_row(
    row: &Row,
    kind: PrincipalKind,
    scopes: Vec<String>,
) -> Result<Principal, TxError> {
    let user = user_from_row(row)?;
    let team_id: Option<String> = row.try_get("ft_id")?;
    let team_name: Option<String> = row.try_get("ft_name")?;
    Ok(Principal {
        org: OrgRow {
            org_id: user.org_id.clone(),
            name: row.try_get("o_name")?,
        },
        user,
        kind,
        scopes,
        team: team_id.map(|id| (id, team_name.unwrap_or_default())),
    })
}

pub(crate) fn job_from_row(row: &Row) -> Result<BulkJob, TxError> {
    let filter: String = row.try_get("filter")?;
    let state: String = row.try_get("state")?;
    let results: Option<String> = row.try_get("results")?;
    let attempts: i32 = row.try_get("attempts")?;
    Ok(BulkJob {
        job_id: row.try_get("job_id")?,
        org_id: row.try_get("org_id")?,
        actor_user_id: row.try_get("actor_user_id")?,
        user_ids: row.try_get("user_ids")?,
        filter: ResetFilter::parse(&filter).ok_or_else(|| corrupt("reset filter", &filter))?,
        state: match state.as_str() {
            "pending" => JobState::Pending,
            "done" => JobState::Done,
            _ => return Err(corrupt("job state", &state)),
        },
        created_at: row.try_get("created_at")?,
        run_after: row.try_get("run_after")?,
        finished_at: row.try_get("finished_at")?,
        results: match results {
            Some(text) => serde_json::from_str(&text).map_err(|_| corrupt("job results", &text))?,
            None => Vec::new(),
        },
        attempts: u32::try_from(attempts).unwrap_or(0),
    })
}

/// Records a pending job under the org's next job number, in the caller's transaction.
pub(crate) async fn insert_job(
    tx: &tokio_postgres::Transaction<'_>,
    org_id: &str,
    actor_user_id: &str,
    user_ids: &[String],
    filter: ResetFilter,
    now: UnixTime,
    run_after: UnixTime,
) -> Result<i64, TxError> {
    let id = audit::next_org_id(tx, org_id, "job").await?;
    tx.execute(
        "INSERT INTO bulk_jobs (job_id, org_id, actor_user_id, user_ids, filter, state,
             created_at, run_after)
         VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7)",
        &[
            &id,
            &org_id,
            &actor_user_id,
            &user_ids,
            &filter.as_str(),
            &now,
            &run_after,
        ],
    )
    .await?;
    Ok(id)
}

/// Client kinds a reset filter covers, as stored.
pub(crate) fn filter_clients(filter: ResetFilter) -> Vec<String> {
    [
        ClientKind::Desktop,
        ClientKind::Web,
        ClientKind::Ios,
        ClientKind::Android,
    ]
    .into_iter()
    .filter(|c| filter.matches(*c))
    .map(|c| c.as_str().to_owned())
    .collect()
}

/// Revokes the active sessions of `users` matching `clients`, locking them in session_id order
/// (the global lock order) so overlapping resets queue instead of deadlocking. Returns how many.
pub(crate) async fn revoke_users_sessions(
    tx: &tokio_postgres::Transaction<'_>,
    org_id: &str,
    users: &[String],
    clients: &[String],
    now: UnixTime,
) -> Result<u64, TxError> {
    Ok(tx
        .execute(
            "UPDATE sessions SET revoked_at = $4 WHERE session_id IN (
                 SELECT session_id FROM sessions
                 WHERE org_id = $1 AND user_id = ANY($2) AND client = ANY($3)
                   AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $4)
                 ORDER BY session_id FOR UPDATE)",
            &[&org_id, &users, &clients, &now],
        )
        .await?)
}

/// The page query of `list_sessions`: $1 org, $2 after, $3 now, $4 limit, and $5 user, $6 team
/// when filtered. The org-wide form repeats the predicate of the partial index
/// `sessions_listable` so the planner can use it: a page is an index range scan.
pub(crate) fn list_sql(filter: &SessionFilter) -> String {
    let user_team = if filter.user_team.is_some() {
        "AND s.user_id = $5 AND s.team_id = $6"
    } else {
        ""
    };
    format!(
        "SELECT {SESSION_COLS} FROM sessions s
         WHERE s.org_id = $1 {user_team} AND s.revoked_at IS NULL AND NOT s.is_bot
           AND s.session_id > $2 AND (s.expires_at IS NULL OR s.expires_at > $3)
         ORDER BY s.session_id LIMIT $4"
    )
}

impl PgStore {
    /// `create_session`: a sign-in, its expiry derived from the user's settings.
    pub(crate) async fn insert_session(&self, new: &NewSession) -> Result<SessionRow> {
        let hash: &[u8] = &new.token_hash.0;
        let created = device_json(&new.created);
        with_retry!(self, "creating a session", |c| {
            let tx = c.transaction().await?;
            share_org(&tx, &new.org_id).await?;
            // Shared lock on the user: settings changes (which lock it exclusively) wait for
            // us or we for them, so the expiry below is derived from committed settings.
            let user = tx
                    .query_opt(
                        &format!(
                            "SELECT {USER_COLS}, st.duration FROM users u
                             LEFT JOIN settings st ON st.org_id = u.org_id AND st.user_id = u.user_id
                             WHERE u.org_id = $1 AND u.user_id = $2 FOR SHARE OF u"
                        ),
                        &[&new.org_id, &new.user_id],
                    )
                    .await?;
            let Some(row) = user else {
                return Err(StoreError::NotFound(format!(
                    "user {} in org {}",
                    new.user_id, new.org_id
                ))
                .into());
            };
            let user = user_from_row(&row)?;
            let duration: Option<i64> = row.try_get("duration")?;
            let team = tx
                .query_opt(
                    "SELECT 1 FROM teams WHERE org_id = $1 AND team_id = $2",
                    &[&new.org_id, &new.team_id],
                )
                .await?;
            if team.is_none() {
                return Err(StoreError::NotFound(format!(
                    "team {} in org {}",
                    new.team_id, new.org_id
                ))
                .into());
            }
            if !user.teams.contains(&new.team_id) {
                return Err(StoreError::NotFound(format!(
                    "membership of user {} in team {}",
                    new.user_id, new.team_id
                ))
                .into());
            }
            let clash = tx
                .query_opt("SELECT 1 FROM tokens WHERE token_hash = $1", &[&hash])
                .await?;
            if clash.is_some() {
                return Err(
                    StoreError::Conflict("the session token is already in use".into()).into(),
                );
            }
            let expires = duration.map(|d| new.created_at.saturating_add(d));
            let sql = format!(
                "INSERT INTO sessions AS s (org_id, user_id, team_id, client, is_bot, token_hash,
                         created_at, expires_at, created)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                     ON CONFLICT DO NOTHING
                     RETURNING {SESSION_COLS}"
            );
            let inserted = tx
                .query_opt(
                    &sql,
                    &[
                        &new.org_id,
                        &new.user_id,
                        &new.team_id,
                        &new.client.as_str(),
                        &user.is_bot,
                        &hash,
                        &new.created_at,
                        &expires,
                        &created,
                    ],
                )
                .await?;
            let Some(row) = inserted else {
                // Either the token is taken, or the id drawn from the sequence was just
                // loaded from a fixture on another node (then a new draw succeeds).
                let taken = tx
                    .query_opt("SELECT 1 FROM sessions WHERE token_hash = $1", &[&hash])
                    .await?;
                if taken.is_some() {
                    return Err(
                        StoreError::Conflict("the session token is already in use".into()).into(),
                    );
                }
                return Err(TxError::Retry(
                    "session id collided with a fixture load".into(),
                ));
            };
            let session = session_from_row(&row)?;
            tx.commit().await?;
            Ok(session)
        })
    }

    /// `set_settings`, appending `audit` in the same transaction when given.
    pub(crate) async fn set_settings_with(
        &self,
        org_id: &str,
        user_ids: &[String],
        change: SettingsChange,
        audit: Option<&AuditEntry>,
    ) -> Result<()> {
        let duration = change.duration.map(duration_i64).transpose()?;
        let quit = change.desktop_app_browser_quit;
        with_retry!(self, "changing settings", |c| {
            let tx = c.transaction().await?;
            share_org(&tx, org_id).await?;
            let users = lock_users(&tx, org_id, user_ids).await?;
            // All or nothing: an unknown user refuses the whole change, naming the first.
            if let Some(missing) = user_ids.iter().find(|u| !users.contains(u)) {
                return Err(StoreError::NotFound(format!("user {missing} in org {org_id}")).into());
            }
            if duration.is_none() && quit.is_none() {
                // Nothing to set; do not create empty settings rows.
                if let Some(e) = audit {
                    audit::append_in(&tx, e).await?;
                }
                tx.commit().await?;
                return Ok(());
            }
            tx.execute(
                "INSERT INTO settings (org_id, user_id, duration, desktop_app_browser_quit)
                 SELECT $1, u, $3, $4 FROM unnest($2::text[]) AS u
                 ON CONFLICT (org_id, user_id) DO UPDATE SET
                     duration = COALESCE(EXCLUDED.duration, settings.duration),
                     desktop_app_browser_quit =
                         COALESCE(EXCLUDED.desktop_app_browser_quit,
                                  settings.desktop_app_browser_quit)",
                &[&org_id, &users, &duration, &quit],
            )
            .await?;
            if let Some(d) = duration {
                // Only ever shortens: a session keeps an earlier expiry it already has, so an
                // expired one stays expired whatever the new duration.
                tx.execute(
                    "UPDATE sessions SET expires_at =
                         LEAST(created_at::numeric + $3::bigint, 9223372036854775807)::bigint
                     WHERE session_id IN (
                         SELECT session_id FROM sessions WHERE org_id = $1 AND user_id = ANY($2)
                           AND (expires_at IS NULL OR expires_at >
                                LEAST(created_at::numeric + $3::bigint,
                                      9223372036854775807)::bigint)
                         ORDER BY session_id FOR UPDATE)",
                    &[&org_id, &users, &d],
                )
                .await?;
            }
            if let Some(e) = audit {
                audit::append_in(&tx, e).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// `clear_settings`, appending `audit` in the same transaction when given.
    pub(crate) async fn clear_settings_with(
        &self,
        org_id: &str,
        user_ids: &[String],
        audit: Option<&AuditEntry>,
    ) -> Result<()> {
        with_retry!(self, "clearing settings", |c| {
            let tx = c.transaction().await?;
            share_org(&tx, org_id).await?;
            let users = lock_users(&tx, org_id, user_ids).await?;
            tx.execute(
                "DELETE FROM settings WHERE org_id = $1 AND user_id = ANY($2)",
                &[&org_id, &users],
            )
            .await?;
            // Existing sessions keep their expiry (settings only ever shorten them); sessions
            // created from now on have none.
            if let Some(e) = audit {
                audit::append_in(&tx, e).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_map_to_client_kinds() {
        assert_eq!(filter_clients(ResetFilter::All).len(), 4);
        assert_eq!(
            filter_clients(ResetFilter::MobileOnly),
            vec!["ios", "android"]
        );
        assert_eq!(filter_clients(ResetFilter::WebOnly), vec!["web"]);
    }
}
