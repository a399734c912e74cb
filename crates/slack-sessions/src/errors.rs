//! Turning failures into exit codes and into messages people can act on.
//!
//! Exit codes: 0 success, 1 API error (ok:false, HTTP or transport), 2 usage error (also
//! invalid arguments caught before sending, like clap's own), 3 partial failure in bulk work.

use std::fmt::Write as _;
use std::sync::OnceLock;

use sessions_client::Error as ClientError;
use sessions_wire::ErrorCode;

/// Exit code of an API failure.
pub const EXIT_API: u8 = 1;
/// Exit code of a usage error (clap uses 2 too).
pub const EXIT_USAGE: u8 = 2;
/// Exit code when bulk work partly failed.
pub const EXIT_PARTIAL: u8 = 3;
/// Exit code of a `revoke` run stopped by Ctrl-C (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

/// A mistake in how the command was called, found before anything was sent.
#[derive(Debug)]
pub struct UsageError {
    /// What was wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl UsageError {
    pub fn new(message: impl Into<String>) -> Self {
        UsageError {
            message: message.into(),
            hint: None,
        }
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UsageError {}

static SECRETS: OnceLock<Vec<String>> = OnceLock::new();

/// Remembers the token so that no message we print can ever contain it, whatever a server
/// echoes back.
pub fn remember_secret(token: &str) {
    if token.len() >= 4 {
        let _ = SECRETS.set(vec![token.to_owned()]);
    }
}

/// Replaces any remembered secret in `text`.
pub fn redact(text: &str) -> String {
    let mut out = text.to_owned();
    for s in SECRETS.get().into_iter().flatten() {
        out = out.replace(s.as_str(), "[redacted]");
    }
    out
}

/// Codes after which nothing else this token does can succeed: bulk work stops at once.
pub use sessions_revoke::is_fatal;

/// The exit code for an error that ended the command.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if err.downcast_ref::<UsageError>().is_some() {
        return EXIT_USAGE;
    }
    match err.downcast_ref::<ClientError>() {
        Some(ClientError::InvalidArgument(_)) | Some(ClientError::Config(_)) => EXIT_USAGE,
        _ => EXIT_API,
    }
}

/// A hint for an API error code, if we have one.
fn hint_for(code: &ErrorCode, needed: Option<&str>, provided: Option<&str>) -> Option<String> {
    let token_help = "check the token (--token, --token-file or SLACK_TOKEN) and that --api-url \
                      (SLACK_API_URL) points at the right server";
    Some(match code {
        ErrorCode::MissingScope => format!(
            "this call needs the scope {}; the token has: {}",
            needed.filter(|s| !s.is_empty()).unwrap_or("(not said)"),
            provided.filter(|s| !s.is_empty()).unwrap_or("(none)")
        ),
        ErrorCode::NotAuthed => {
            "pass a token with --token or --token-file, or set SLACK_TOKEN".to_owned()
        }
        ErrorCode::InvalidAuth
        | ErrorCode::TokenRevoked
        | ErrorCode::TokenExpired
        | ErrorCode::AccountInactive => token_help.to_owned(),
        ErrorCode::NotAnAdmin | ErrorCode::AdminUnauthorized => {
            "the token's user must be an org owner or org admin of an Enterprise Grid org"
                .to_owned()
        }
        ErrorCode::NotAllowedTokenType => {
            "admin.users.session.* methods need a user token (xoxp-), not a bot token".to_owned()
        }
        ErrorCode::UserNotFound | ErrorCode::TeamNotFound | ErrorCode::SessionNotFound => {
            "ids are case-sensitive and belong to one org; `slack-sessions list` shows them"
                .to_owned()
        }
        ErrorCode::InvalidCursor => {
            "cursors are only valid for the same query; start again without --cursor".to_owned()
        }
        ErrorCode::CannotResetPrimaryOwner
        | ErrorCode::CannotInvalidatePrimaryOwner
        | ErrorCode::SessionResetNotAllowed => {
            "only the primary owner can do this to the primary owner's sessions".to_owned()
        }
        _ => return None,
    })
}

/// The causes under `err`, joined, without the repeats HTTP libraries' wrappers add.
fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = err.source();
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    if parts.is_empty() {
        err.to_string()
    } else {
        parts.join(": ")
    }
}

/// Renders an error for stderr: `error: <code>: <explanation>`, detail lines, then a hint.
pub fn render(err: &anyhow::Error) -> String {
    let mut out = String::new();
    if let Some(u) = err.downcast_ref::<UsageError>() {
        let _ = writeln!(out, "error: {}", u.message);
        if let Some(h) = &u.hint {
            let _ = writeln!(out, "hint: {h}");
        }
        return redact(&out);
    }
    let Some(ce) = err.downcast_ref::<ClientError>() else {
        let _ = writeln!(out, "error: {err:#}");
        return redact(&out);
    };
    match ce {
        ClientError::InvalidArgument(a) => {
            let _ = writeln!(out, "error: {}: {a}", a.code());
            let _ = writeln!(
                out,
                "hint: nothing was sent; fix the argument {}",
                a.argument()
            );
        }
        ClientError::Api {
            code,
            needed,
            provided,
            warnings,
            messages,
            ..
        } => {
            let _ = writeln!(out, "error: {code}: {}", code.description());
            for m in messages {
                let _ = writeln!(out, "  {m}");
            }
            for w in warnings {
                let _ = writeln!(out, "warning: {w}");
            }
            if let Some(h) = hint_for(code, needed.as_deref(), provided.as_deref()) {
                let _ = writeln!(out, "hint: {h}");
            }
        }
        ClientError::RateLimited { retry_after } => {
            let _ = writeln!(
                out,
                "error: ratelimited: {}",
                ErrorCode::Ratelimited.description()
            );
            let _ = writeln!(out, "hint: retry after {} s", retry_after.as_secs().max(1));
        }
        ClientError::Http { status, body } => {
            let _ = writeln!(out, "error: the API answered HTTP {status}");
            let body = body.trim();
            if !body.is_empty() {
                let short: String = body.chars().take(300).collect();
                let _ = writeln!(out, "  {short}");
            }
            let _ = writeln!(
                out,
                "hint: check --api-url (SLACK_API_URL); it should end in /api/"
            );
        }
        ClientError::Timeout => {
            let _ = writeln!(out, "error: the request timed out");
            let _ = writeln!(
                out,
                "hint: raise --timeout, or check the server is answering"
            );
        }
        ClientError::Transport(_) => {
            let _ = writeln!(out, "error: could not reach the API: {}", causes(ce));
            let _ = writeln!(
                out,
                "hint: is the server running? check --api-url (SLACK_API_URL) and the network"
            );
        }
        ClientError::Decode { path, message } => {
            let _ = writeln!(
                out,
                "error: unexpected response from the API at {path}: {message}"
            );
            let _ = writeln!(out, "hint: is --api-url a Slack-compatible API?");
        }
        ClientError::Config(m) => {
            let _ = writeln!(out, "error: {m}");
        }
        other => {
            let _ = writeln!(out, "error: {other}");
        }
    }
    redact(&out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn usage_errors_exit_2_and_api_errors_exit_1() {
        let usage = anyhow::Error::new(UsageError::new("no users"));
        assert_eq!(exit_code(&usage), EXIT_USAGE);
        let api = anyhow::Error::new(ClientError::Api {
            code: ErrorCode::NotAnAdmin,
            needed: None,
            provided: None,
            warnings: vec![],
            messages: vec![],
        });
        assert_eq!(exit_code(&api), EXIT_API);
        let text = render(&api);
        assert!(
            text.starts_with("error: not_an_admin: This method must be called"),
            "{text}"
        );
        assert!(
            text.contains("hint: the token's user must be an org owner"),
            "{text}"
        );
        let io = anyhow::anyhow!("disk full");
        assert_eq!(exit_code(&io), EXIT_API);
    }

    #[test]
    fn missing_scope_names_needed_and_provided() {
        let e = anyhow::Error::new(ClientError::Api {
            code: ErrorCode::MissingScope,
            needed: Some("admin.users:write".into()),
            provided: Some("admin.users:read".into()),
            warnings: vec![],
            messages: vec![],
        });
        assert!(render(&e).contains(
            "hint: this call needs the scope admin.users:write; the token has: admin.users:read"
        ));
    }

    #[test]
    fn ratelimited_and_invalid_arguments_explain_what_to_do() {
        let e = anyhow::Error::new(ClientError::RateLimited {
            retry_after: Duration::from_secs(7),
        });
        assert_eq!(exit_code(&e), EXIT_API);
        assert!(
            render(&e).ends_with("hint: retry after 7 s\n"),
            "{}",
            render(&e)
        );
        let e = anyhow::Error::new(ClientError::Api {
            code: ErrorCode::InvalidArguments,
            needed: None,
            provided: None,
            warnings: vec!["superfluous_charset".into()],
            messages: vec!["[ERROR] missing required field: user_id".into()],
        });
        assert_eq!(
            render(&e),
            "error: invalid_arguments: Required arguments either were not provided or contain \
             invalid values.\n  [ERROR] missing required field: user_id\n\
             warning: superfluous_charset\n"
        );
    }

    #[test]
    fn remembered_secrets_never_survive_rendering() {
        remember_secret("xoxp-unit-secret-42");
        let e = anyhow::anyhow!("server echoed xoxp-unit-secret-42 back");
        assert_eq!(render(&e), "error: server echoed [redacted] back\n");
    }
}
