-- Migration: the profile table (dropped with its user by cascade). `email_key` is
-- [`email_key`] of the address, computed in Rust so both backends fold case alike; the
-- partial unique index makes an email unique within an org and a look-up one index probe.
-- `user_teams_by_team` lets `users.list` with `team_id` walk one team's members in id order.
CREATE TABLE user_profiles (
    org_id    TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    email     TEXT,
    email_key TEXT,
    real_name TEXT,
    deleted   BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (org_id, user_id),
    FOREIGN KEY (org_id, user_id) REFERENCES users ON DELETE CASCADE
);
CREATE UNIQUE INDEX user_profiles_email ON user_profiles (org_id, email_key)
    WHERE email_key IS NOT NULL;
CREATE INDEX user_teams_by_team ON user_teams (org_id, team_id, user_id);
