-- Version 1: the whole model.
--
-- Notes on choices:
-- - `sessions` uses AUTOINCREMENT so a session id is never handed out twice, even after the
-- row was deleted (an org replaced by a fixture, `reset_all`): SQLite's `sqlite_sequence`
-- remembers the largest id ever stored, including ids given explicitly by fixtures.
-- - `sessions.is_bot` copies the user's flag so listing needs no join.
-- - `sessions_active_org` is a partial index over exactly the rows a list can return (apart
-- from expiry), so an org-wide page is a range scan of `limit` rows. Expired rows are
-- filtered during that scan; they are rare because sessions only expire by an explicit
-- duration setting, and a page therefore stays O(log n + limit) in practice.
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
