//! Subject identifiers (RFC 9493, and SSF 1.0's `complex` form) and whom they name in Slack.
//!
//! Mapping is pure and needs no network: an `email` subject names the Slack user with that
//! email (found later with `users.lookupByEmail`); an `iss_sub` subject names the user listed
//! for its `sub` in the subject map, else — when `sub` is itself an email address — the user
//! with that email; a `complex` subject is mapped through its `user` member. Anything else is
//! recorded as not mapped.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

/// Whom a subject names in Slack, before any lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The user with this email (to look up).
    Email(String),
    /// This Slack user id.
    UserId(String),
}

impl Target {
    /// `email:` or `user:` followed by the value, as stored and shown.
    pub fn to_stored(&self) -> String {
        match self {
            Target::Email(e) => format!("email:{e}"),
            Target::UserId(u) => format!("user:{u}"),
        }
    }

    /// The inverse of [`Target::to_stored`].
    pub fn from_stored(s: &str) -> Option<Target> {
        if let Some(e) = s.strip_prefix("email:") {
            Some(Target::Email(e.to_owned()))
        } else {
            s.strip_prefix("user:")
                .map(|u| Target::UserId(u.to_owned()))
        }
    }
}

/// `--subject-map`: `sub,email_or_user_id` lines.
#[derive(Debug, Clone, Default)]
pub struct SubjectMap {
    by_sub: HashMap<String, Target>,
}

/// A subject map file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubjectMapError {
    /// The file could not be read.
    #[error("cannot read the subject map {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A line is not `sub,email_or_user_id`.
    #[error("subject map line {line}: {why}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        why: String,
    },
}

impl SubjectMap {
    /// Reads a map file.
    pub fn read(path: &Path) -> Result<SubjectMap, SubjectMapError> {
        let text = std::fs::read_to_string(path).map_err(|e| SubjectMapError::Read {
            path: path.display().to_string(),
            source: e,
        })?;
        SubjectMap::parse(&text)
    }

    /// Parses `sub,email_or_user_id` lines. Blank lines and lines starting with `#` are
    /// skipped, and so is a first line `sub,...` (a header). Fields are trimmed; a value with
    /// an `@` is an email, anything else a Slack user id. A `sub` listed twice is an error.
    pub fn parse(text: &str) -> Result<SubjectMap, SubjectMapError> {
        let mut by_sub = HashMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |why: &str| SubjectMapError::Line {
                line: i + 1,
                why: why.to_owned(),
            };
            let Some((sub, value)) = line.split_once(',') else {
                return Err(err("expected `sub,email_or_user_id`"));
            };
            let (sub, value) = (sub.trim(), value.trim());
            if by_sub.is_empty() && i == 0 && sub.eq_ignore_ascii_case("sub") {
                continue;
            }
            if sub.is_empty() || value.is_empty() || value.contains(',') {
                return Err(err("expected `sub,email_or_user_id`"));
            }
            let target = if value.contains('@') {
                Target::Email(value.to_owned())
            } else {
                Target::UserId(value.to_owned())
            };
            if by_sub.insert(sub.to_owned(), target).is_some() {
                return Err(err(&format!("`{sub}` is listed twice")));
            }
        }
        Ok(SubjectMap { by_sub })
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.by_sub.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.by_sub.is_empty()
    }
}

/// Why a subject could not be mapped to a Slack user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotMapped(pub String);

/// Maps a subject identifier to whom it names in Slack.
pub fn map(subject: &Value, subjects: &SubjectMap) -> Result<Target, NotMapped> {
    let not = |why: String| Err(NotMapped(why));
    let Some(format) = subject.get("format").and_then(Value::as_str) else {
        return not("the subject has no `format`".into());
    };
    match format {
        "email" => match subject.get("email").and_then(Value::as_str) {
            Some(email) if looks_like_email(email) => Ok(Target::Email(email.trim().to_owned())),
            _ => not("an `email` subject without a valid `email`".into()),
        },
        "iss_sub" => {
            let Some(sub) = subject.get("sub").and_then(Value::as_str) else {
                return not("an `iss_sub` subject without `sub`".into());
            };
            if let Some(t) = subjects.by_sub.get(sub) {
                Ok(t.clone())
            } else if looks_like_email(sub) {
                Ok(Target::Email(sub.trim().to_owned()))
            } else {
                not(format!(
                    "`iss_sub` subject `{sub}` is not an email and not in the subject map"
                ))
            }
        }
        "complex" => match subject.get("user") {
            Some(user) if user.get("format").and_then(Value::as_str) != Some("complex") => {
                map(user, subjects)
            }
            _ => not("a `complex` subject without a `user` member".into()),
        },
        other => not(format!(
            "subject format `{other}` is not mapped to Slack users"
        )),
    }
}

fn looks_like_email(s: &str) -> bool {
    let s = s.trim();
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !s.chars().any(|c| c.is_whitespace() || c.is_control())
                && s.len() <= 254
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn maps_email_iss_sub_and_complex() {
        let m =
            SubjectMap::parse("sub,email_or_user_id\n00u1,W0DEV\n# c\n\n00u2, lee@example.com\n")
                .unwrap();
        assert_eq!(m.len(), 2);
        let email = json!({"format": "email", "email": "dana@example.com"});
        assert_eq!(
            map(&email, &m),
            Ok(Target::Email("dana@example.com".into()))
        );
        let mapped = json!({"format": "iss_sub", "iss": "https://idp", "sub": "00u1"});
        assert_eq!(map(&mapped, &m), Ok(Target::UserId("W0DEV".into())));
        let mapped = json!({"format": "iss_sub", "iss": "https://idp", "sub": "00u2"});
        assert_eq!(
            map(&mapped, &m),
            Ok(Target::Email("lee@example.com".into()))
        );
        let sub_email =
            json!({"format": "iss_sub", "iss": "https://idp", "sub": "sam@example.com"});
        assert_eq!(
            map(&sub_email, &m),
            Ok(Target::Email("sam@example.com".into()))
        );
        let complex =
            json!({"format": "complex", "user": mapped, "tenant": {"format": "opaque", "id": "t"}});
        assert_eq!(
            map(&complex, &m),
            Ok(Target::Email("lee@example.com".into()))
        );
    }

    #[test]
    fn everything_else_is_not_mapped() {
        let m = SubjectMap::default();
        for s in [
            json!({"format": "iss_sub", "iss": "https://idp", "sub": "00u9"}),
            json!({"format": "opaque", "id": "x"}),
            json!({"format": "phone_number", "phone_number": "+12065550100"}),
            json!({"format": "email", "email": "not an email"}),
            json!({"format": "complex", "device": {"format": "opaque", "id": "d"}}),
            json!({"email": "a@b.c"}),
        ] {
            assert!(map(&s, &m).is_err(), "{s}");
        }
    }

    #[test]
    fn bad_map_files_are_refused_with_the_line() {
        let e = SubjectMap::parse("a,W1\nb\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "subject map line 2: expected `sub,email_or_user_id`"
        );
        let e = SubjectMap::parse("a,W1\na,W2\n").unwrap_err();
        assert!(e.to_string().contains("listed twice"), "{e}");
        assert!(SubjectMap::parse("a,W1,W2\n").is_err());
    }

    #[test]
    fn stored_targets_round_trip() {
        for t in [Target::Email("a@b.c".into()), Target::UserId("W1".into())] {
            assert_eq!(Target::from_stored(&t.to_stored()), Some(t));
        }
    }
}
