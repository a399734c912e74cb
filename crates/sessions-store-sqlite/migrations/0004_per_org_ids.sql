-- Version 4: ids an org sees reveal nothing about other orgs, and expiry is final.
--
-- - Audit entry ids and resetBulk job ids become per-org numbers (1, 2, 3, ... within each
-- org), allocated from `org_counters` (never reused, not even after `reset_all` or a fixture
-- replacing the org). Existing rows are renumbered in their old order; job ids inside audit
-- details are renumbered with their jobs (ids of jobs already deleted with their org too).
-- Both tables are rebuilt with `(org_id, id)` keys (SQLite cannot change a primary key).
-- - `sessions_expiring` finds sessions past their expiry that are not yet marked ended, for
-- `expire_sessions` (which stamps `revoked_at` with the expiry time).
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
