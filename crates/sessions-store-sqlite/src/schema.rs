//! Schema migrations: an ordered list, applied at open inside one IMMEDIATE transaction, so
//! two processes opening the same new file cannot both apply a migration.

use rusqlite::{Connection, TransactionBehavior};

use super::engine::Ctx;
use sessions_store::{Result, StoreError};

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

/// Version 4: ids an org sees reveal nothing about other orgs, and expiry is final.
///
/// - Audit entry ids and resetBulk job ids become per-org numbers (1, 2, 3, ... within each
///   org), allocated from `org_counters` (never reused, not even after `reset_all` or a fixture
///   replacing the org). Existing rows are renumbered in their old order; job ids inside audit
///   details are renumbered with their jobs (ids of jobs already deleted with their org too).
///   Both tables are rebuilt with `(org_id, id)` keys (SQLite cannot change a primary key).
/// - `sessions_expiring` finds sessions past their expiry that are not yet marked ended, for
///   `expire_sessions` (which stamps `revoked_at` with the expiry time).
const V4: &str = r#"
CREATE TABLE org_counters (
    org_id TEXT NOT NULL,
    kind   TEXT NOT NULL CHECK (kind IN ('audit', 'job')),
    last   INTEGER NOT NULL,
    PRIMARY KEY (org_id, kind)
) WITHOUT ROWID;

CREATE TEMP TABLE v4_job_ids AS
    SELECT org_id, old_id,
           ROW_NUMBER() OVER (PARTITION BY org_id ORDER BY old_id) AS new_id
    FROM (SELECT org_id, job_id AS old_id FROM bulk_jobs
          UNION
          SELECT org_id, CAST(json_extract(details, '$.job_id') AS INTEGER) FROM audit_log
          WHERE json_type(details, '$.job_id') = 'integer');
CREATE TEMP TABLE v4_audit_ids AS
    SELECT id AS old_id, ROW_NUMBER() OVER (PARTITION BY org_id ORDER BY id) AS new_id
    FROM audit_log;

CREATE TABLE bulk_jobs_v4 (
    job_id        INTEGER NOT NULL,
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
    attempts      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, job_id)
);
INSERT INTO bulk_jobs_v4
    SELECT m.new_id, j.org_id, j.actor_user_id, j.user_ids, j.filter, j.state, j.created_at,
           j.run_after, j.finished_at, j.results, j.lease_owner, j.lease_token, j.lease_until,
           j.attempts
    FROM bulk_jobs j JOIN v4_job_ids m ON m.org_id = j.org_id AND m.old_id = j.job_id;
DROP TABLE bulk_jobs;
ALTER TABLE bulk_jobs_v4 RENAME TO bulk_jobs;
CREATE INDEX bulk_jobs_pending ON bulk_jobs(created_at, org_id, job_id) WHERE state = 'pending';

CREATE TABLE audit_log_v4 (
    id              INTEGER NOT NULL,
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
    result          TEXT NOT NULL,
    PRIMARY KEY (org_id, id)
);
INSERT INTO audit_log_v4
    SELECT m.new_id, a.org_id, a.at, a.actor_user_id, a.action, a.method, a.target_user_ids,
           a.session_id,
           CASE WHEN json_type(a.details, '$.job_id') = 'integer'
                THEN json_set(a.details, '$.job_id',
                     (SELECT j.new_id FROM v4_job_ids j WHERE j.org_id = a.org_id
                        AND j.old_id = CAST(json_extract(a.details, '$.job_id') AS INTEGER)))
                ELSE a.details END,
           a.ip, a.user_agent, a.result
    FROM audit_log a JOIN v4_audit_ids m ON m.old_id = a.id;
CREATE TABLE audit_targets_v4 (
    org_id   TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    entry_id INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id, entry_id)
) WITHOUT ROWID;
INSERT INTO audit_targets_v4
    SELECT t.org_id, t.user_id, m.new_id
    FROM audit_targets t JOIN v4_audit_ids m ON m.old_id = t.entry_id;
DROP TABLE audit_targets;
DROP TABLE audit_log;
ALTER TABLE audit_log_v4 RENAME TO audit_log;
ALTER TABLE audit_targets_v4 RENAME TO audit_targets;
CREATE INDEX audit_log_org_action ON audit_log(org_id, action, id);
CREATE INDEX audit_log_org_actor ON audit_log(org_id, actor_user_id, id);
CREATE INDEX audit_log_at ON audit_log(at, org_id, id);
CREATE INDEX audit_targets_entry ON audit_targets(org_id, entry_id);

INSERT INTO org_counters (org_id, kind, last)
    SELECT org_id, 'job', MAX(new_id) FROM v4_job_ids GROUP BY org_id;
INSERT INTO org_counters (org_id, kind, last)
    SELECT org_id, 'audit', MAX(id) FROM audit_log GROUP BY org_id;
DROP TABLE v4_job_ids;
DROP TABLE v4_audit_ids;

CREATE INDEX sessions_expiring ON sessions(expires_at)
    WHERE revoked_at IS NULL AND expires_at IS NOT NULL;
"#;

/// Ordered migrations: (version, SQL). Append only; never edit a released entry. Version 5 is
/// the user directory (`users.*`: emails, real names, deactivation), self-contained in
/// `directory.rs`.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, V1),
    (2, V2),
    (3, V3),
    (4, V4),
    (5, super::directory::MIGRATION),
];

/// The schema version this build writes.
pub(super) fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// Applies every migration newer than the file's version, in one transaction.
pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    migrate_to(conn, latest())
}

/// Applies the migrations newer than the file's version up to `target` (tests build files of
/// older versions with it, to check upgrades).
pub(super) fn migrate_to(conn: &mut Connection, target: i64) -> Result<()> {
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
    for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current && m.0 <= target) {
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
