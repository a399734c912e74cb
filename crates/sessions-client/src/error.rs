//! The client's error type.

use std::fmt::Write as _;
use std::time::Duration;

use http::StatusCode;
use sessions_wire::{ArgError, ErrorCode};

/// Most bytes of an unexpected HTTP body kept in [`Error::Http`]; enough to recognise an HTML
/// error page or a proxy message without holding megabytes.
pub const HTTP_BODY_KEEP: usize = 1024;

/// Everything a call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request's arguments were refused before anything was sent. Displays in the Ruby
    /// SDK's wording (`Required arguments :session_id missing`).
    #[error("{0}")]
    InvalidArgument(#[from] ArgError),
    /// Slack answered `ok:false`.
    #[error("{}", api_display(code, needed.as_deref(), provided.as_deref(), messages))]
    Api {
        /// The `error` code.
        code: ErrorCode,
        /// With `missing_scope`: the scope the method needs.
        needed: Option<String>,
        /// With `missing_scope`: the scopes the token has.
        provided: Option<String>,
        /// Warning codes (`warning` and `response_metadata.warnings`).
        warnings: Vec<String>,
        /// `response_metadata.messages`, e.g. `[ERROR] missing required field: user_id`.
        messages: Vec<String>,
    },
    /// HTTP 429 and no retry left (or retries disabled, or the wait would exceed the policy's
    /// total wait).
    #[error("rate limited by Slack; retry after {}s", retry_after.as_secs_f64())]
    RateLimited {
        /// What the `Retry-After` header asked for.
        retry_after: Duration,
    },
    /// Any other non-2xx answer. `body` is cut to [`HTTP_BODY_KEEP`] bytes.
    #[error("HTTP {status}: {body}")]
    Http {
        /// The status.
        status: StatusCode,
        /// The start of the body.
        body: String,
    },
    /// The connect or request timeout elapsed.
    #[error("request timed out")]
    Timeout,
    /// Connecting, sending or reading failed.
    #[error("transport error: {0}")]
    Transport(#[source] reqwest::Error),
    /// The body was not the JSON expected. `path` names where (`active_sessions[0].session_id`,
    /// or `.` for the document itself).
    #[error("could not decode response at {path}: {message}")]
    Decode {
        /// JSON path of the offending value.
        path: String,
        /// What was wrong there.
        message: String,
    },
    /// Bad client configuration (token, base URL, environment).
    #[error("configuration error: {0}")]
    Config(String),
}

fn api_display(
    code: &ErrorCode,
    needed: Option<&str>,
    provided: Option<&str>,
    messages: &[String],
) -> String {
    let mut s = code.as_str().to_owned();
    if let Some(n) = needed {
        let _ = write!(s, " (needed: {n}, provided: {})", provided.unwrap_or(""));
    }
    if !messages.is_empty() {
        let _ = write!(s, ": {}", messages.join("; "));
    }
    s
}

impl Error {
    /// The Slack error code, for [`Error::Api`] (and the code a server would give an
    /// [`Error::InvalidArgument`]).
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Error::Api { code, .. } => Some(code.clone()),
            Error::InvalidArgument(e) => Some(e.code()),
            Error::RateLimited { .. } => Some(ErrorCode::parse("ratelimited")),
            _ => None,
        }
    }

    /// Whether nothing was sent because the arguments were refused.
    pub fn is_invalid_argument(&self) -> bool {
        matches!(self, Error::InvalidArgument(_))
    }
}

/// Cuts `body` to at most [`HTTP_BODY_KEEP`] bytes on a character boundary.
pub(crate) fn truncate_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if text.len() <= HTTP_BODY_KEEP {
        return text.into_owned();
    }
    let mut end = HTTP_BODY_KEEP;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_display_names_code_scope_and_messages() {
        let e = Error::Api {
            code: ErrorCode::MissingScope,
            needed: Some("admin.users:write".into()),
            provided: Some("admin.users:read".into()),
            warnings: vec![],
            messages: vec!["[ERROR] nope".into()],
        };
        assert_eq!(
            e.to_string(),
            "missing_scope (needed: admin.users:write, provided: admin.users:read): [ERROR] nope"
        );
    }

    #[test]
    fn invalid_argument_uses_seed_wording() {
        let e = Error::from(ArgError::Missing { name: "session_id" });
        assert_eq!(e.to_string(), "Required arguments :session_id missing");
        assert_eq!(e.code(), Some(ErrorCode::InvalidArguments));
    }

    #[test]
    fn long_bodies_are_cut_on_char_boundary() {
        let body = "é".repeat(HTTP_BODY_KEEP);
        let cut = truncate_body(body.as_bytes());
        assert!(cut.len() <= HTTP_BODY_KEEP + '…'.len_utf8());
        assert!(cut.ends_with('…'));
        assert_eq!(truncate_body(b"short"), "short");
    }
}
