-- Version 3: audit retention deletes by age, oldest first; and with the entry's targets.
CREATE INDEX audit_log_at ON audit_log(at, id);
CREATE INDEX audit_targets_entry ON audit_targets(entry_id);
