-- Version 2: the audit log. `audit_targets` indexes each entry under every target user so a
-- per-user filter is a range scan. AUTOINCREMENT: entry ids are never reused.
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
