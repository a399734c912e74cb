-- Version 3: audit retention deletes by age, oldest first.
CREATE INDEX audit_log_at ON audit_log (at, id);
