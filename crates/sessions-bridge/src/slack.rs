//! What each failure of a sign-out means for the next attempt.
//!
//! [`next_step`] is the retry decision, a pure function of how the signal arrived, how many
//! attempts were made and what went wrong: a transient failure (rate limit, 5xx, timeout,
//! transport) is retried with exponential backoff for up to [`TRANSIENT_ATTEMPTS`] attempts;
//! a refusal (`ok:false` with any other code) is retried [`REFUSED_ATTEMPTS`] times, since an
//! admin may fix a scope or a role in the meantime, then reported as failed. A Global Token
//! Revocation caller is waiting for its answer, so a refusal there is final at once (`422`).

use std::time::Duration;

use sessions_client::Error;

use crate::inbox::Via;

/// Attempts for an action that keeps failing transiently (about 1 h 20 min of backoff).
pub const TRANSIENT_ATTEMPTS: u32 = 20;
/// Attempts for an action Slack keeps refusing (1 + 2 + 4 + 8 s of backoff).
pub const REFUSED_ATTEMPTS: u32 = 5;
/// Longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Most actions one round of the worker takes (one resetBulk call's worth of users).
pub const BULK_MAX: usize = 1000;

/// Why a call to Slack did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No such user (`users_not_found`, `user_not_found`).
    NotFound(String),
    /// Worth trying again soon: rate limited, 5xx, timeout, transport. `Some` wait when
    /// Slack said how long.
    Transient(String, Option<Duration>),
    /// Slack refused (`ok:false`, or a 4xx).
    Refused(String),
}

impl Failure {
    /// The error as stored and reported.
    pub fn detail(&self) -> &str {
        match self {
            Failure::NotFound(d) | Failure::Transient(d, _) | Failure::Refused(d) => d,
        }
    }

    /// Classifies a client error.
    pub fn of(e: &Error) -> Failure {
        let detail = e.to_string();
        match e {
            Error::RateLimited { retry_after } => Failure::Transient(detail, Some(*retry_after)),
            Error::Timeout | Error::Transport(_) | Error::Decode { .. } => {
                Failure::Transient(detail, None)
            }
            Error::Http { status, .. } if status.is_server_error() || status.as_u16() == 408 => {
                Failure::Transient(detail, None)
            }
            Error::Api { code, .. } => match code.as_str() {
                "user_not_found" | "users_not_found" => Failure::NotFound(detail),
                "ratelimited"
                | "internal_error"
                | "fatal_error"
                | "service_unavailable"
                | "request_timeout" => Failure::Transient(detail, None),
                _ => Failure::Refused(detail),
            },
            _ => Failure::Refused(detail),
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Try again after this long.
    RetryAfter(Duration),
    /// Stop and report the action as failed.
    GiveUp,
}

/// The retry decision after attempt number `attempts` (1 for the first) failed with `failure`
/// (not [`Failure::NotFound`], which is final).
pub fn next_step(via: Via, attempts: u32, failure: &Failure) -> Next {
    let backoff = MAX_BACKOFF.min(Duration::from_secs(
        1u64 << attempts.saturating_sub(1).min(16),
    ));
    match failure {
        Failure::NotFound(_) => Next::GiveUp,
        Failure::Refused(_) if via == Via::Gtr || attempts >= REFUSED_ATTEMPTS => Next::GiveUp,
        Failure::Refused(_) => Next::RetryAfter(backoff),
        Failure::Transient(..) if attempts >= TRANSIENT_ATTEMPTS => Next::GiveUp,
        Failure::Transient(_, asked) => Next::RetryAfter(asked.map_or(backoff, |a| a.max(backoff))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_retried_a_few_times_then_given_up_gtr_at_once() {
        let refused = Failure::Refused("not_an_admin".into());
        assert_eq!(
            next_step(Via::Push, 1, &refused),
            Next::RetryAfter(Duration::from_secs(1))
        );
        assert_eq!(
            next_step(Via::Poll, 4, &refused),
            Next::RetryAfter(Duration::from_secs(8))
        );
        assert_eq!(
            next_step(Via::Push, REFUSED_ATTEMPTS, &refused),
            Next::GiveUp
        );
        assert_eq!(next_step(Via::Gtr, 1, &refused), Next::GiveUp);
    }

    #[test]
    fn transient_failures_back_off_exponentially_up_to_a_cap_and_honour_retry_after() {
        let t = Failure::Transient("HTTP 503".into(), None);
        assert_eq!(
            next_step(Via::Push, 3, &t),
            Next::RetryAfter(Duration::from_secs(4))
        );
        assert_eq!(next_step(Via::Gtr, 12, &t), Next::RetryAfter(MAX_BACKOFF));
        assert_eq!(next_step(Via::Push, TRANSIENT_ATTEMPTS, &t), Next::GiveUp);
        let limited = Failure::Transient("ratelimited".into(), Some(Duration::from_secs(30)));
        assert_eq!(
            next_step(Via::Push, 1, &limited),
            Next::RetryAfter(Duration::from_secs(30))
        );
        assert_eq!(
            next_step(Via::Push, 1, &Failure::NotFound("x".into())),
            Next::GiveUp
        );
    }

    #[test]
    fn client_errors_are_classified() {
        let api = |code: &str| Error::Api {
            code: sessions_client::ErrorCode::parse(code),
            needed: None,
            provided: None,
            warnings: vec![],
            messages: vec![],
        };
        assert!(matches!(
            Failure::of(&api("users_not_found")),
            Failure::NotFound(_)
        ));
        assert!(matches!(
            Failure::of(&api("user_not_found")),
            Failure::NotFound(_)
        ));
        assert!(matches!(
            Failure::of(&api("internal_error")),
            Failure::Transient(..)
        ));
        assert!(matches!(
            Failure::of(&api("missing_scope")),
            Failure::Refused(_)
        ));
        assert!(matches!(
            Failure::of(&Error::Timeout),
            Failure::Transient(..)
        ));
        assert_eq!(
            Failure::of(&Error::RateLimited {
                retry_after: Duration::from_secs(9)
            }),
            Failure::Transient(
                "rate limited by Slack; retry after 9s".into(),
                Some(Duration::from_secs(9))
            )
        );
    }
}
