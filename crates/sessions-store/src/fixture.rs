//! The fixture file format (../shared/docs/fixtures.md), parsed and checked before any write.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::model::{ClientKind, Device, Role, SessionRow, UnixTime, UserRow};

/// A whole fixture file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// Organizations.
    pub orgs: Vec<FixtureOrg>,
}

/// One org.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixtureOrg {
    /// `E...` id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Workspaces.
    #[serde(default)]
    pub teams: Vec<FixtureTeam>,
    /// Users.
    #[serde(default)]
    pub users: Vec<FixtureUser>,
    /// API tokens.
    #[serde(default)]
    pub tokens: Vec<FixtureToken>,
    /// Sessions.
    #[serde(default)]
    pub sessions: Vec<FixtureSession>,
    /// Per-user settings.
    #[serde(default)]
    pub settings: Vec<FixtureSettings>,
}

/// A workspace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixtureTeam {
    /// `T...` id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
}

/// A user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixtureUser {
    /// `W...` id.
    pub id: String,
    /// Handle.
    #[serde(default)]
    pub name: String,
    /// `primary_owner`, `owner`, `admin` or `member`.
    pub role: String,
    /// Bot user.
    #[serde(default)]
    pub is_bot: bool,
    /// Workspaces the user belongs to.
    #[serde(default)]
    pub teams: Vec<String>,
    /// Email address: unique within the org, compared case-insensitively; found by
    /// `users.lookupByEmail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub real_name: Option<String>,
    /// Deactivated (`users.info` and `users.list` report it; `users.lookupByEmail` does not
    /// find deactivated users, as on Slack).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

/// A stored user as a dump shows it, before its directory profile (email, real name,
/// deactivation) is filled in by the backend.
impl From<UserRow> for FixtureUser {
    fn from(u: UserRow) -> Self {
        FixtureUser {
            id: u.user_id,
            name: u.name,
            role: u.role.as_str().to_owned(),
            is_bot: u.is_bot,
            teams: u.teams,
            ..Default::default()
        }
    }
}

impl FixtureUser {
    /// Whether any profile field (`email`, `real_name`, `deleted`) is set.
    pub fn has_profile(&self) -> bool {
        self.email.is_some() || self.real_name.is_some() || self.deleted
    }
}

/// An API token (stored hashed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixtureToken {
    /// Clear token. Left out of state dumps.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token: String,
    /// Owner.
    pub user: String,
    /// `user` or `bot`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Already revoked (as by `auth.revoke`), from the load on: it authenticates as revoked.
    /// Lets a fixture describe a revoked token without an action (and its audit entry).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub revoked: bool,
}

/// A signed-in session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixtureSession {
    /// Unique within the server.
    pub session_id: u64,
    /// Owner.
    pub user: String,
    /// Workspace.
    pub team: String,
    /// `desktop`, `web`, `ios` or `android`.
    pub client: String,
    /// The session's own token (stored hashed). Optional: a session without one cannot be used
    /// with `auth.test`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Creation time; defaults to load time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<UnixTime>,
    /// Device at creation.
    #[serde(default)]
    pub created: Device,
    /// Device most recently seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recent: Option<Device>,
}

/// A stored session as a dump shows it: its token left out (only its hash is stored), its
/// creation time given, so reloading the dump derives the same expiry.
impl From<SessionRow> for FixtureSession {
    fn from(s: SessionRow) -> Self {
        FixtureSession {
            session_id: s.session_id,
            user: s.user_id,
            team: s.team_id,
            client: s.client.as_str().to_owned(),
            token: None,
            created_at: Some(s.created_at),
            created: s.created,
            recent: s.recent,
        }
    }
}

/// Per-user settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixtureSettings {
    /// User.
    pub user: String,
    /// Duration in seconds.
    #[serde(default)]
    pub duration: Option<u64>,
    /// Quit flag.
    #[serde(default)]
    pub desktop_app_browser_quit: Option<bool>,
}

/// Why a fixture is refused; the message names the offending entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entry}: {message}")]
pub struct FixtureError {
    /// Path of the offending entry, e.g. `orgs[0].sessions[2] (session_id 1001)`.
    pub entry: String,
    /// What is wrong with it.
    pub message: String,
}

impl Fixture {
    /// Parses JSON, naming the position of a syntax error.
    pub fn from_json(text: &str) -> Result<Fixture, FixtureError> {
        Self::checked(serde_json::from_str(text))
    }

    /// Parses JSON from a reader (a file), without holding the whole text in memory next to
    /// the parsed fixture. An I/O error is reported like a syntax error, with its position.
    pub fn from_reader(reader: impl std::io::Read) -> Result<Fixture, FixtureError> {
        Self::checked(serde_json::from_reader(std::io::BufReader::new(reader)))
    }

    fn checked(parsed: serde_json::Result<Fixture>) -> Result<Fixture, FixtureError> {
        let fixture = parsed.map_err(|e| FixtureError {
            entry: format!("line {} column {}", e.line(), e.column()),
            message: format!("malformed fixture JSON: {e}"),
        })?;
        fixture.check()?;
        Ok(fixture)
    }

    /// Checks every cross-reference and uniqueness rule within the file. The store additionally
    /// refuses ids and tokens that clash with orgs already stored (other than the ones replaced).
    pub fn check(&self) -> Result<(), FixtureError> {
        let err = |entry: String, message: String| Err(FixtureError { entry, message });
        let mut org_ids = HashSet::new();
        let mut session_ids = HashSet::new();
        let mut tokens = HashSet::new();
        for (oi, org) in self.orgs.iter().enumerate() {
            let o = format!("orgs[{oi}] ({})", org.id);
            if org.id.is_empty() {
                return err(format!("orgs[{oi}]"), "org id is empty".into());
            }
            if !org_ids.insert(&org.id) {
                return err(o, "duplicate org id".into());
            }
            let mut teams = HashSet::new();
            for (ti, t) in org.teams.iter().enumerate() {
                if t.id.is_empty() || !teams.insert(t.id.as_str()) {
                    return err(
                        format!("{o}.teams[{ti}] ({})", t.id),
                        "empty or duplicate team id".into(),
                    );
                }
            }
            let mut users = std::collections::HashMap::new();
            let mut emails = std::collections::HashMap::new();
            let mut primary = 0;
            for (ui, u) in org.users.iter().enumerate() {
                let e = format!("{o}.users[{ui}] ({})", u.id);
                if u.id.is_empty() {
                    return err(e, "user id is empty".into());
                }
                let Some(role) = Role::parse(&u.role) else {
                    return err(
                        e,
                        format!(
                            "unknown role {:?} (expected primary_owner, owner, admin or member)",
                            u.role
                        ),
                    );
                };
                if role == Role::PrimaryOwner {
                    primary += 1;
                    if primary > 1 {
                        return err(e, "an org has at most one primary_owner".into());
                    }
                }
                for t in &u.teams {
                    if !teams.contains(t.as_str()) {
                        return err(e, format!("unknown team {t:?}"));
                    }
                }
                if users.insert(u.id.as_str(), u).is_some() {
                    return err(e, "duplicate user id".into());
                }
                if let Some(email) = &u.email {
                    let key = crate::model::email_key(email);
                    if key.is_empty() || !key.contains('@') || key.len() > 254 {
                        return err(
                            e,
                            format!("email {email:?} is not an email address (user@domain)"),
                        );
                    }
                    if let Some(other) = emails.insert(key, u.id.as_str()) {
                        return err(
                            e,
                            format!(
                                "email {email:?} is already used by user {other} \
                                 (emails are compared case-insensitively)"
                            ),
                        );
                    }
                }
            }
            for (ki, k) in org.tokens.iter().enumerate() {
                let e = format!("{o}.tokens[{ki}] (user {})", k.user);
                if k.token.is_empty() {
                    return err(e, "token is empty".into());
                }
                if !users.contains_key(k.user.as_str()) {
                    return err(e, format!("unknown user {:?}", k.user));
                }
                if k.kind != "user" && k.kind != "bot" {
                    return err(
                        e,
                        format!("unknown token type {:?} (expected user or bot)", k.kind),
                    );
                }
                if !tokens.insert(k.token.as_str()) {
                    return err(e, "duplicate token".into());
                }
            }
            for (si, s) in org.sessions.iter().enumerate() {
                let e = format!("{o}.sessions[{si}] (session_id {})", s.session_id);
                let Some(user) = users.get(s.user.as_str()) else {
                    return err(e, format!("unknown user {:?}", s.user));
                };
                if !teams.contains(s.team.as_str()) {
                    return err(e, format!("unknown team {:?}", s.team));
                }
                if !user.teams.is_empty() && !user.teams.contains(&s.team) {
                    return err(
                        e,
                        format!("user {} is not a member of team {}", s.user, s.team),
                    );
                }
                if ClientKind::parse(&s.client).is_none() {
                    return err(
                        e,
                        format!(
                            "unknown client {:?} (expected desktop, web, ios or android)",
                            s.client
                        ),
                    );
                }
                if s.session_id == 0 || s.session_id > i64::MAX as u64 {
                    return err(e, "session_id must be between 1 and 2^63-1".into());
                }
                if !session_ids.insert(s.session_id) {
                    return err(e, "duplicate session_id".into());
                }
                if let Some(t) = &s.token {
                    if t.is_empty() || !tokens.insert(t.as_str()) {
                        return err(e, "empty or duplicate token".into());
                    }
                }
            }
            let mut set_users = HashSet::new();
            for (xi, s) in org.settings.iter().enumerate() {
                let e = format!("{o}.settings[{xi}] (user {})", s.user);
                if !users.contains_key(s.user.as_str()) {
                    return err(e, format!("unknown user {:?}", s.user));
                }
                if !set_users.insert(s.user.as_str()) {
                    return err(e, "duplicate settings for user".into());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{"orgs":[{"id":"E1","name":"Acme","teams":[{"id":"T1","name":"Eng"}],
      "users":[{"id":"W1","name":"o","role":"primary_owner","teams":["T1"]}],
      "tokens":[{"token":"xoxp-1","user":"W1","type":"user","scopes":["admin.users:read"]}],
      "sessions":[{"session_id":5,"user":"W1","team":"T1","client":"web","token":"xoxc-1"}],
      "settings":[{"user":"W1","duration":86400}]}]}"#;

    #[test]
    fn emails_are_unique_per_org_whatever_their_case() {
        let two = |a: &str, b: &str| {
            format!(
                r#"{{"orgs":[{{"id":"E1","users":[
                  {{"id":"W1","role":"member","email":"{a}"}},
                  {{"id":"W2","role":"member","email":"{b}","real_name":"Two","deleted":true}}]}},
                  {{"id":"E2","users":[{{"id":"W1","role":"member","email":"{a}"}}]}}]}}"#
            )
        };
        let f = Fixture::from_json(&two("dana@acme.example", "lee@acme.example")).unwrap();
        assert_eq!(f.orgs[0].users[1].real_name.as_deref(), Some("Two"));
        assert!(f.orgs[0].users[1].deleted && !f.orgs[0].users[0].deleted);
        let e = Fixture::from_json(&two("dana@acme.example", " DANA@Acme.Example")).unwrap_err();
        assert_eq!(e.entry, "orgs[0] (E1).users[1] (W2)");
        assert!(e.message.contains("already used by user W1"), "{e}");
        let e = Fixture::from_json(&two("dana@acme.example", "")).unwrap_err();
        assert!(e.message.contains("not an email address"), "{e}");
    }

    #[test]
    fn the_sample_loads() {
        let f = Fixture::from_json(SAMPLE).unwrap();
        assert_eq!(f.orgs[0].sessions[0].session_id, 5);
    }

    #[test]
    fn errors_name_the_offending_entry() {
        let bad = SAMPLE.replace("\"primary_owner\"", "\"emperor\"");
        let e = Fixture::from_json(&bad).unwrap_err();
        assert!(e.to_string().contains("orgs[0] (E1).users[0] (W1)"), "{e}");
        assert!(e.to_string().contains("emperor"), "{e}");

        let bad = SAMPLE.replace("\"user\":\"W1\",\"team\"", "\"user\":\"W9\",\"team\"");
        let e = Fixture::from_json(&bad).unwrap_err();
        assert!(e.to_string().contains("sessions[0] (session_id 5)"), "{e}");

        let e = Fixture::from_json("{\"orgs\": [").unwrap_err();
        assert!(e.message.contains("malformed"), "{e}");
    }

    /// A file read through `from_reader` gives what its text gives to `from_json`, errors
    /// included (same entry; a type error's column may differ by the one byte the reader has
    /// already taken, so only its line is compared).
    #[test]
    fn a_reader_parses_like_the_text() {
        assert_eq!(
            Fixture::from_reader(SAMPLE.as_bytes()).unwrap(),
            Fixture::from_json(SAMPLE).unwrap()
        );
        let bad = SAMPLE.replace("\"primary_owner\"", "\"emperor\"");
        assert_eq!(
            Fixture::from_reader(bad.as_bytes()).unwrap_err(),
            Fixture::from_json(&bad).unwrap_err()
        );
        let broken = "{\"orgs\": [\n  {\"id\": 1}";
        let (a, b) = (
            Fixture::from_reader(broken.as_bytes()).unwrap_err(),
            Fixture::from_json(broken).unwrap_err(),
        );
        let line = |e: &FixtureError| e.entry.split(" column").next().unwrap().to_owned();
        assert_eq!(line(&a), "line 2", "{a} / {b}");
        assert_eq!(line(&a), line(&b), "{a} / {b}");
        assert!(a.message.contains("expected a string"), "{a}");
    }
}
