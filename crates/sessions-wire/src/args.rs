//! Arguments as they arrive on the wire, and the tolerant parsers every client shape needs.
//!
//! Slack's SDKs disagree on encodings (booleans as `true`/`1`, `user_ids` comma-joined, as a
//! JSON array string, or as a Python-style list); a server must accept all of them. The parsers
//! here are pure so they can be fuzzed and property-tested.

use std::fmt;

/// Named arguments, in arrival order; a name may repeat (`user_ids=U1&user_ids=U2`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Args {
    pairs: Vec<(String, String)>,
}

impl Args {
    /// No arguments.
    pub fn new() -> Self {
        Args::default()
    }

    /// Adds one value.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.pairs.push((name.into(), value.into()));
    }

    /// The first non-empty value of `name`. Empty values count as absent, as in Slack's API.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, empty ones included.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether no argument was given.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// All pairs in arrival order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// Removes every value of `name` and returns the first non-empty one.
    pub fn take(&mut self, name: &str) -> Option<String> {
        let mut found = None;
        self.pairs.retain(|(n, v)| {
            if n == name {
                if found.is_none() && !v.is_empty() {
                    found = Some(v.clone());
                }
                false
            } else {
                true
            }
        });
        found
    }

    /// A required string argument.
    pub fn required(&self, name: &'static str) -> Result<String, ArgError> {
        self.get(name)
            .map(str::to_owned)
            .ok_or(ArgError::Missing { name })
    }

    /// An optional string argument.
    pub fn optional(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }

    /// An optional boolean (`true`/`false`/`1`/`0`, any case).
    pub fn bool(&self, name: &'static str) -> Result<Option<bool>, ArgError> {
        self.get(name)
            .map(|v| parse_bool(v).ok_or(ArgError::NotBoolean { name }))
            .transpose()
    }

    /// An optional unsigned integer (decimal, surrounding quotes tolerated).
    pub fn u64(&self, name: &'static str) -> Result<Option<u64>, ArgError> {
        self.get(name)
            .map(|v| parse_u64(v).ok_or(ArgError::NotInteger { name }))
            .transpose()
    }

    /// A list of ids from every accepted shape, across repeated fields.
    pub fn list(&self, name: &'static str) -> Result<Option<Vec<String>>, ArgError> {
        let mut out = Vec::new();
        let mut seen = false;
        for v in self.all(name) {
            seen = true;
            out.extend(parse_id_list(v).ok_or(ArgError::BadList { name })?);
        }
        Ok(seen.then_some(out))
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Args {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Args {
            pairs: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

/// `true`/`false`/`1`/`0` (any case, surrounding whitespace ignored).
pub fn parse_bool(v: &str) -> Option<bool> {
    let v = v.trim();
    if v == "1" || v.eq_ignore_ascii_case("true") {
        Some(true)
    } else if v == "0" || v.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// A decimal unsigned integer; `"12345"` with JSON-style quotes is accepted too.
pub fn parse_u64(v: &str) -> Option<u64> {
    let v = v.trim();
    let v = v
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(v);
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// A list of ids as any client sends it: `U1,U2`, `["U1","U2"]`, `['U1', 'U2']`, or `U1`.
///
/// Returns `None` for a malformed list (unbalanced brackets or quotes). Blank entries are kept as
/// empty strings so the caller can name them as invalid rather than silently dropping them.
pub fn parse_id_list(v: &str) -> Option<Vec<String>> {
    let t = v.trim();
    let inner = match (t.strip_prefix('['), t.strip_suffix(']')) {
        (Some(_), Some(_)) if t.len() >= 2 => &t[1..t.len() - 1],
        (None, None) => {
            return Some(t.split(',').map(|s| s.trim().to_owned()).collect());
        }
        _ => return None,
    };
    if inner.trim().is_empty() {
        return Some(Vec::new());
    }
    let mut out = Vec::new();
    for item in inner.split(',') {
        let item = item.trim();
        let unquoted = match item.as_bytes() {
            [q @ (b'"' | b'\''), .., last] if last == q && item.len() >= 2 => {
                &item[1..item.len() - 1]
            }
            [b'"' | b'\'', ..] => return None,
            _ if item.ends_with('"') || item.ends_with('\'') => return None,
            _ => item,
        };
        out.push(unquoted.trim().to_owned());
    }
    Some(out)
}

/// Why a request's arguments are not acceptable. Checked before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArgError {
    /// A required argument is absent or empty.
    Missing { name: &'static str },
    /// At least one of these must be given (invalidate: `user_id` or `team_id`).
    MissingOneOf { names: &'static [&'static str] },
    /// list: `user_id` without `team_id`.
    MissingTeam,
    /// list: `team_id` without `user_id`.
    MissingUser,
    /// A number outside its bounds.
    OutOfRange {
        name: &'static str,
        min: u64,
        max: u64,
        got: u64,
    },
    /// A list with too few or too many entries.
    BadLength {
        name: &'static str,
        min: usize,
        max: usize,
        got: usize,
    },
    /// A list entry that is empty or not an id.
    BadListEntry { name: &'static str, index: usize },
    /// A list in none of the accepted shapes.
    BadList { name: &'static str },
    /// Not `true`/`false`/`1`/`0`.
    NotBoolean { name: &'static str },
    /// Not an unsigned integer.
    NotInteger { name: &'static str },
    /// setSettings with neither `duration` nor `desktop_app_browser_quit`.
    AtLeastOneSetting,
    /// Two options that cannot be combined (reset: `mobile_only` and `web_only`).
    Conflict { a: &'static str, b: &'static str },
    /// A text argument longer than allowed.
    TooLong {
        name: &'static str,
        max: usize,
        got: usize,
    },
    /// A single id argument that is not an id.
    NotAnId { name: &'static str },
}

impl ArgError {
    /// The Slack error code a server answers with.
    pub fn code(&self) -> crate::ErrorCode {
        use crate::ErrorCode;
        match self {
            ArgError::MissingTeam => ErrorCode::MissingTeam,
            ArgError::MissingUser => ErrorCode::MissingUser,
            ArgError::AtLeastOneSetting => ErrorCode::AtLeastOneSessionSettingRequired,
            _ => ErrorCode::InvalidArguments,
        }
    }

    /// The argument at fault (the first one, where two are involved).
    pub fn argument(&self) -> &'static str {
        match self {
            ArgError::Missing { name }
            | ArgError::OutOfRange { name, .. }
            | ArgError::BadLength { name, .. }
            | ArgError::BadListEntry { name, .. }
            | ArgError::BadList { name }
            | ArgError::NotBoolean { name }
            | ArgError::NotInteger { name }
            | ArgError::TooLong { name, .. }
            | ArgError::NotAnId { name } => name,
            ArgError::MissingOneOf { names } => names.first().copied().unwrap_or("?"),
            ArgError::MissingTeam => "team_id",
            ArgError::MissingUser => "user_id",
            ArgError::AtLeastOneSetting => "duration",
            ArgError::Conflict { a, .. } => a,
        }
    }

    /// A `response_metadata.messages` line in Slack's style.
    pub fn slack_message(&self) -> String {
        match self {
            ArgError::Missing { name } => format!("[ERROR] missing required field: {name}"),
            other => format!("[ERROR] {other}"),
        }
    }
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The seeds' wording: `Required arguments :session_id missing`.
            ArgError::Missing { name } => write!(f, "Required arguments :{name} missing"),
            ArgError::MissingOneOf { names } => {
                let list: Vec<String> = names.iter().map(|n| format!(":{n}")).collect();
                write!(
                    f,
                    "Required arguments: one of {} missing",
                    list.join(" or ")
                )
            }
            ArgError::MissingTeam => f.write_str("team_id must be given with user_id"),
            ArgError::MissingUser => f.write_str("user_id must be given with team_id"),
            ArgError::OutOfRange {
                name,
                min,
                max,
                got,
            } => {
                write!(f, "{name} must be between {min} and {max} (got {got})")
            }
            ArgError::BadLength {
                name,
                min,
                max,
                got,
            } => {
                write!(
                    f,
                    "{name} must have between {min} and {max} entries (got {got})"
                )
            }
            ArgError::BadListEntry { name, index } => {
                write!(f, "{name}[{index}] is not a valid id")
            }
            ArgError::BadList { name } => write!(
                f,
                "{name} must be a comma-separated list or a JSON array of ids"
            ),
            ArgError::NotBoolean { name } => write!(f, "{name} must be true, false, 1 or 0"),
            ArgError::NotInteger { name } => write!(f, "{name} must be an integer"),
            ArgError::AtLeastOneSetting => {
                f.write_str("at least one of duration or desktop_app_browser_quit is required")
            }
            ArgError::Conflict { a, b } => write!(f, "{a} and {b} cannot both be true"),
            ArgError::TooLong { name, max, got } => {
                write!(f, "{name} must be at most {max} characters (got {got})")
            }
            ArgError::NotAnId { name } => write!(f, "{name} is not a valid id"),
        }
    }
}

impl std::error::Error for ArgError {}

/// Checks a list of ids: length bounds and no blank or malformed entry.
pub fn check_ids(
    name: &'static str,
    ids: &[String],
    min: usize,
    max: usize,
) -> Result<(), ArgError> {
    if ids.len() < min || ids.len() > max {
        return Err(ArgError::BadLength {
            name,
            min,
            max,
            got: ids.len(),
        });
    }
    check_id_entries(name, ids)
}

/// Checks each entry is a plausible Slack id (ASCII alphanumerics, at most 64).
pub fn check_id_entries(name: &'static str, ids: &[String]) -> Result<(), ArgError> {
    for (index, id) in ids.iter().enumerate() {
        if !is_plausible_id(id) {
            return Err(ArgError::BadListEntry { name, index });
        }
    }
    Ok(())
}

/// Slack ids are short upper-case alphanumerics (`W012ABC`); we accept any ASCII alphanumerics
/// plus `_`/`-` up to 64 characters, so test fixtures may use readable ids.
pub fn is_plausible_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_in_every_client_shape() {
        let want = vec!["U1".to_owned(), "U2".to_owned()];
        assert_eq!(parse_id_list("U1,U2").unwrap(), want);
        assert_eq!(parse_id_list("U1, U2").unwrap(), want);
        assert_eq!(parse_id_list(r#"["U1","U2"]"#).unwrap(), want);
        assert_eq!(parse_id_list(r#"["U1", "U2"]"#).unwrap(), want);
        assert_eq!(parse_id_list("['U1','U2']").unwrap(), want);
        assert_eq!(parse_id_list("[U1,U2]").unwrap(), want);
        assert_eq!(parse_id_list("U1").unwrap(), vec!["U1"]);
        assert_eq!(parse_id_list("[]").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn malformed_lists_are_refused() {
        assert_eq!(parse_id_list("[\"U1\""), None);
        assert_eq!(parse_id_list("U1]"), None);
        assert_eq!(parse_id_list("[\"U1]"), None);
    }

    #[test]
    fn repeated_fields_concatenate() {
        let args: Args = [("user_ids", "U1"), ("user_ids", "U2,U3")]
            .into_iter()
            .collect();
        assert_eq!(
            args.list("user_ids").unwrap().unwrap(),
            vec!["U1", "U2", "U3"]
        );
    }

    #[test]
    fn booleans_and_integers() {
        assert_eq!(parse_bool("TRUE"), Some(true));
        assert_eq!(parse_bool("0"), Some(false));
        assert_eq!(parse_bool("yes"), None);
        assert_eq!(parse_u64("\"42\""), Some(42));
        assert_eq!(parse_u64("-1"), None);
        assert_eq!(parse_u64("99999999999999999999999"), None);
    }

    #[test]
    fn empty_values_count_as_absent() {
        let args: Args = [("user_id", "")].into_iter().collect();
        assert_eq!(
            args.required("user_id"),
            Err(ArgError::Missing { name: "user_id" })
        );
    }

    #[test]
    fn messages_name_the_argument() {
        let e = ArgError::Missing { name: "session_id" };
        assert_eq!(e.to_string(), "Required arguments :session_id missing");
        assert_eq!(
            e.slack_message(),
            "[ERROR] missing required field: session_id"
        );
        let e = ArgError::OutOfRange {
            name: "limit",
            min: 1,
            max: 1000,
            got: 0,
        };
        assert!(e.slack_message().contains("limit"));
    }
}
