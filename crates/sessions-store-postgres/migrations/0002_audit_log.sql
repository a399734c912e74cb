CREATE TABLE audit_log (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id          TEXT NOT NULL,
    at              BIGINT NOT NULL,
    actor_user_id   TEXT NOT NULL,
    action          TEXT NOT NULL,
    method          TEXT NOT NULL,
    target_user_ids TEXT[] NOT NULL,
    session_id      BIGINT,
    details         TEXT NOT NULL,
    ip              TEXT,
    user_agent      TEXT,
    result          TEXT NOT NULL
);
CREATE INDEX audit_log_org ON audit_log (org_id, id);
CREATE INDEX audit_log_org_action ON audit_log (org_id, action, id);
CREATE INDEX audit_log_org_actor ON audit_log (org_id, actor_user_id, id);
CREATE INDEX audit_log_targets ON audit_log USING GIN (target_user_ids);
