-- Version 4: ids an org sees reveal nothing about other orgs, and expiry is final.
--
-- - Audit entry ids and resetBulk job ids become per-org numbers allocated from
-- `org_counters` (see [`next_org_id`]); existing rows are renumbered per org in their old
-- order, and job ids inside audit details with their jobs (also those of jobs already
-- deleted with their org). Primary keys become `(org_id, id)` / `(org_id, job_id)`.
-- - `sessions_expiring` finds sessions past their expiry not yet marked ended.
CREATE TABLE org_counters (
    org_id TEXT NOT NULL,
    kind   TEXT NOT NULL CHECK (kind IN ('audit', 'job')),
    last   BIGINT NOT NULL,
    PRIMARY KEY (org_id, kind)
);

CREATE TEMP TABLE v4_job_ids ON COMMIT DROP AS
    SELECT org_id, old_id,
           row_number() OVER (PARTITION BY org_id ORDER BY old_id) AS new_id
    FROM (SELECT org_id, job_id AS old_id FROM bulk_jobs
          UNION
          SELECT org_id, (details::jsonb ->> 'job_id')::bigint FROM audit_log
          WHERE jsonb_typeof(details::jsonb -> 'job_id') = 'number') x;
CREATE TEMP TABLE v4_audit_ids ON COMMIT DROP AS
    SELECT id AS old_id, row_number() OVER (PARTITION BY org_id ORDER BY id) AS new_id
    FROM audit_log;

ALTER TABLE bulk_jobs ALTER COLUMN job_id DROP IDENTITY;
ALTER TABLE bulk_jobs DROP CONSTRAINT bulk_jobs_pkey;
UPDATE bulk_jobs j SET job_id = m.new_id
    FROM v4_job_ids m WHERE m.org_id = j.org_id AND m.old_id = j.job_id;
ALTER TABLE bulk_jobs ADD PRIMARY KEY (org_id, job_id);
DROP INDEX bulk_jobs_pending;
DROP INDEX bulk_jobs_by_org;
CREATE INDEX bulk_jobs_pending ON bulk_jobs (created_at, org_id, job_id) WHERE state = 'pending';

UPDATE audit_log a
    SET details = jsonb_set(a.details::jsonb, '{job_id}', to_jsonb(m.new_id))::text
    FROM v4_job_ids m
    WHERE jsonb_typeof(a.details::jsonb -> 'job_id') = 'number'
      AND m.org_id = a.org_id AND m.old_id = (a.details::jsonb ->> 'job_id')::bigint;
ALTER TABLE audit_log ALTER COLUMN id DROP IDENTITY;
ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey;
UPDATE audit_log a SET id = m.new_id FROM v4_audit_ids m WHERE m.old_id = a.id;
ALTER TABLE audit_log ADD PRIMARY KEY (org_id, id);
DROP INDEX audit_log_org;

INSERT INTO org_counters (org_id, kind, last)
    SELECT org_id, 'job', max(new_id) FROM v4_job_ids GROUP BY org_id;
INSERT INTO org_counters (org_id, kind, last)
    SELECT org_id, 'audit', max(id) FROM audit_log GROUP BY org_id;

CREATE INDEX sessions_expiring ON sessions (expires_at)
    WHERE revoked_at IS NULL AND expires_at IS NOT NULL;
