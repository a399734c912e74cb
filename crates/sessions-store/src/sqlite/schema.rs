//! Schema migrations: an ordered list, applied at open inside one IMMEDIATE transaction, so
//! two processes opening the same new file cannot both apply a migration.

use rusqlite::{Connection, TransactionBehavior};

use super::engine::Ctx;
use crate::{Result, StoreError};

/// Version 1: the whole model.
///
/// Notes on choices:
/// - `sessions` uses AUTOINCREMENT so a session id is never handed out twice, even after the
///   row was deleted (an org replaced by a fixture, `reset_all`): SQLite's `sqlite_sequence`
///   remembers the largest id ever stored, including ids given explicitly by fixtures.
/// - `sessions.is_bot` copies the user's flag so listing needs no join.
/// - `sessions_active_org` is a partial index over exactly the rows a list can return (apart
///   from expiry), so an org-wide page is a range scan of `limit` rows. Expired rows are
///   filtered during that scan; they are rare because sessions only expire by an explicit
///   duration setting, and a page therefore stays O(log n + limit) in practice.
const V1: &str = r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE orgs (
    org_id TEXT PRIMARY KEY,
    name   TEXT NOT NULL
);
CREATE TABLE teams (
    org_id  TEXT NOT NULL REFERENCES orgs(org_id),
    team_id TEXT NOT NULL,
    name    TEXT NOT NULL,
    pos     INTEGER NOT NULL,
    PRIMARY KEY (org_id, team_id)
);
CREATE TABLE users (
    org_id  TEXT NOT NULL REFERENCES orgs(org_id),
    user_id TEXT NOT NULL,
    name    TEXT NOT NULL,
    role    TEXT NOT NULL,
    is_bot  INTEGER NOT NULL,
    pos     INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE TABLE user_teams (
    org_id  TEXT NOT NULL,
    user_id TEXT NOT NULL,
    team_id TEXT NOT NULL,
    pos     INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id, team_id),
    FOREIGN KEY (org_id, user_id) REFERENCES users(org_id, user_id),
    FOREIGN KEY (org_id, team_id) REFERENCES teams(org_id, team_id)
);
CREATE TABLE tokens (
    token_hash BLOB PRIMARY KEY,
    org_id     TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('user', 'bot')),
    scopes     TEXT NOT NULL,
    revoked_at INTEGER,
    pos        INTEGER NOT NULL,
    FOREIGN KEY (org_id, user_id) REFERENCES users(org_id, user_id)
);
CREATE INDEX tokens_org ON tokens(org_id);
CREATE TABLE sessions (
    session_id INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id     TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    team_id    TEXT NOT NULL,
    client     TEXT NOT NULL,
    is_bot     INTEGER NOT NULL,
    token_hash BLOB UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER,
    created    TEXT NOT NULL,
    recent     TEXT,
    FOREIGN KEY (org_id, user_id) REFERENCES users(org_id, user_id),
    FOREIGN KEY (org_id, team_id) REFERENCES teams(org_id, team_id)
);
CREATE INDEX sessions_active_org ON sessions(org_id, session_id)
    WHERE revoked_at IS NULL AND is_bot = 0;
CREATE INDEX sessions_user_team ON sessions(org_id, user_id, team_id, session_id);
CREATE TABLE settings (
    org_id   TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    duration INTEGER,
    quit     INTEGER,
    PRIMARY KEY (org_id, user_id),
    FOREIGN KEY (org_id, user_id) REFERENCES users(org_id, user_id)
);
CREATE TABLE bulk_jobs (
    job_id        INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id        TEXT NOT NULL,
    actor_user_id TEXT NOT NULL,
    user_ids      TEXT NOT NULL,
    filter        TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('pending', 'done')),
    created_at    INTEGER NOT NULL,
    run_after     INTEGER NOT NULL,
    finished_at   INTEGER,
    results       TEXT,
    lease_owner   TEXT,
    lease_token   TEXT,
    lease_until   INTEGER,
    attempts      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX bulk_jobs_pending ON bulk_jobs(job_id) WHERE state = 'pending';
CREATE INDEX bulk_jobs_org ON bulk_jobs(org_id);
"#;

/// Version 2: the audit log. `audit_targets` indexes each entry under every target user so a
/// per-user filter is a range scan. AUTOINCREMENT: entry ids are never reused.
const V2: &str = r#"
CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id          TEXT NOT NULL,
    at              INTEGER NOT NULL,
    actor_user_id   TEXT NOT NULL,
    action          TEXT NOT NULL,
    method          TEXT NOT NULL,
    target_user_ids TEXT NOT NULL,
    session_id      INTEGER,
    details         TEXT NOT NULL,
    ip              TEXT,
    user_agent      TEXT,
    result          TEXT NOT NULL
);
CREATE INDEX audit_log_org ON audit_log(org_id, id);
CREATE INDEX audit_log_org_action ON audit_log(org_id, action, id);
CREATE INDEX audit_log_org_actor ON audit_log(org_id, actor_user_id, id);
CREATE TABLE audit_targets (
    org_id   TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    entry_id INTEGER NOT NULL REFERENCES audit_log(id),
    PRIMARY KEY (org_id, user_id, entry_id)
) WITHOUT ROWID;
"#;

/// Version 3: audit retention deletes by age, oldest first; and with the entry's targets.
const V3: &str = r#"
CREATE INDEX audit_log_at ON audit_log(at, id);
CREATE INDEX audit_targets_entry ON audit_targets(entry_id);
"#;

/// Ordered migrations: (version, SQL). Append only; never edit a released entry. Version 5 is
/// the user directory (`users.*`: emails, real names, deactivation); it is self-contained
/// and skips 4, which a concurrent change takes.
const MIGRATIONS: &[(i64, &str)] = &[(1, V1), (2, V2), (3, V3), (5, super::directory::MIGRATION)];

/// The schema version this build writes.
pub(super) fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// Applies every migration newer than the file's version, in one transaction.
pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .ctx("starting migration")?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version    INTEGER PRIMARY KEY,
            applied_at INTEGER NOT NULL
        )",
    )
    .ctx("creating schema_migrations")?;
    let current: i64 = tx
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .ctx("reading schema version")?;
    if current > latest() {
        return Err(StoreError::Backend(format!(
            "sqlite: database schema version {current} is newer than this build understands ({})",
            latest()
        )));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        tx.execute_batch(sql)
            .ctx(&format!("applying migration {version}"))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            (version, now),
        )
        .ctx("recording migration")?;
    }
    tx.commit().ctx("committing migrations")
}
