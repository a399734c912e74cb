//! Failures of API calls as one plain sentence for a page: what went wrong, Slack's code, and
//! for `missing_scope` the scope the token needs.

use sessions_client::{Error, ErrorCode};

/// A sentence describing `err`, ending in the error code where there is one.
pub(crate) fn sentence(err: &Error) -> String {
    match err {
        Error::Api {
            code: ErrorCode::MissingScope,
            needed,
            provided,
            ..
        } => {
            let needed = needed.as_deref().filter(|s| !s.is_empty());
            let has = provided.as_deref().filter(|s| !s.is_empty());
            format!(
                "Slack refused: the token lacks a permission this needs. It needs the scope {}{} \
                 (missing_scope).",
                needed.unwrap_or("(Slack did not say which)"),
                has.map(|h| format!("; the token has {h}"))
                    .unwrap_or_default()
            )
        }
        Error::Api { code, messages, .. } => {
            let mut s = format!("Slack refused: {} ({code}).", trim_dot(code.description()));
            for m in messages {
                s.push(' ');
                s.push_str(m);
            }
            s
        }
        Error::RateLimited { retry_after } => format!(
            "Slack is rate limiting these calls; try again in {} s (ratelimited).",
            retry_after.as_secs().max(1)
        ),
        Error::InvalidArgument(a) => format!("{a} ({}).", a.code()),
        Error::Http { status, .. } => format!(
            "The API answered HTTP {status}; check that --api-url points at a Slack-compatible \
             API."
        ),
        Error::Timeout => "The API did not answer in time (timeout).".to_owned(),
        Error::Transport(_) => {
            "Could not reach the API; check that it is running and that --api-url is right \
             (transport error)."
                .to_owned()
        }
        other => format!("The call failed: {other}."),
    }
}

fn trim_dot(s: &str) -> &str {
    s.trim_end_matches('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_scope_names_the_scope_and_the_code() {
        let e = Error::Api {
            code: ErrorCode::MissingScope,
            needed: Some("users:read.email".into()),
            provided: Some("admin.users:read".into()),
            warnings: vec![],
            messages: vec![],
        };
        let s = sentence(&e);
        assert!(s.contains("It needs the scope users:read.email"), "{s}");
        assert!(s.contains("(missing_scope)"), "{s}");
    }

    #[test]
    fn other_codes_are_a_sentence_with_the_code() {
        let e = Error::Api {
            code: ErrorCode::UserNotFound,
            needed: None,
            provided: None,
            warnings: vec![],
            messages: vec![],
        };
        let s = sentence(&e);
        assert!(s.starts_with("Slack refused: "), "{s}");
        assert!(s.ends_with("(user_not_found)."), "{s}");
    }
}
