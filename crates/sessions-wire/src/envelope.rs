//! The `ok` / `error` envelope every Slack Web API response shares.

use serde::{Deserialize, Serialize};

use crate::ErrorCode;

/// `response_metadata`: paging cursor plus human-readable messages and warnings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseMetadata {
    /// Cursor for the next page; empty or absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// Lines such as `[ERROR] missing required field: user_id` or `[WARN] ...`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<String>,
    /// Warning codes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl ResponseMetadata {
    /// The next cursor, treating `""` as "no more pages".
    pub fn next_cursor(&self) -> Option<&str> {
        self.next_cursor.as_deref().filter(|c| !c.is_empty())
    }
}

/// The envelope fields of any response, decoded without the method's own payload.
///
/// Unknown fields are ignored, so this decodes every Slack response body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// `true` when the call succeeded.
    #[serde(default)]
    pub ok: bool,
    /// The error code when `ok` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorCode>,
    /// A warning code, or several comma-separated (`ok` stays true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// With `missing_scope`: the scope the method needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needed: Option<String>,
    /// With `missing_scope`: the scopes the token has, comma-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provided: Option<String>,
    /// Cursor, messages and warnings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_metadata: Option<ResponseMetadata>,
}

impl Envelope {
    /// An `ok:false` envelope with the given code.
    pub fn error(code: ErrorCode) -> Self {
        Envelope {
            ok: false,
            error: Some(code),
            ..Envelope::default()
        }
    }

    /// Adds a `response_metadata.messages` line.
    pub fn with_message(mut self, line: impl Into<String>) -> Self {
        self.response_metadata
            .get_or_insert_with(Default::default)
            .messages
            .push(line.into());
        self
    }

    /// The `response_metadata.messages` lines (empty when there are none).
    pub fn messages(&self) -> &[String] {
        self.response_metadata
            .as_ref()
            .map(|m| m.messages.as_slice())
            .unwrap_or(&[])
    }

    /// Warning codes from both `warning` and `response_metadata.warnings`.
    pub fn warnings(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .warning
            .iter()
            .flat_map(|w| w.split(','))
            .map(|w| w.trim().to_owned())
            .filter(|w| !w.is_empty())
            .collect();
        if let Some(meta) = &self.response_metadata {
            for w in &meta.warnings {
                if !out.contains(w) {
                    out.push(w.clone());
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_missing_scope_with_needed_and_provided() {
        let body = r#"{"ok":false,"error":"missing_scope","needed":"admin.users:write","provided":"admin.users:read","extra":[1,2]}"#;
        let env: Envelope = serde_json::from_str(body).unwrap();
        assert!(!env.ok);
        assert_eq!(env.error, Some(ErrorCode::MissingScope));
        assert_eq!(env.needed.as_deref(), Some("admin.users:write"));
        assert_eq!(env.provided.as_deref(), Some("admin.users:read"));
    }

    #[test]
    fn empty_next_cursor_means_last_page() {
        let meta = ResponseMetadata {
            next_cursor: Some(String::new()),
            ..Default::default()
        };
        assert_eq!(meta.next_cursor(), None);
    }

    #[test]
    fn warnings_merge_both_places_without_duplicates() {
        let body = r#"{"ok":true,"warning":"missing_charset,superfluous_charset","response_metadata":{"warnings":["missing_charset","other"]}}"#;
        let env: Envelope = serde_json::from_str(body).unwrap();
        assert_eq!(
            env.warnings(),
            vec!["missing_charset", "superfluous_charset", "other"]
        );
    }
}
