//! When to try a call again: a pure decision function plus the injected sleeper.

use std::fmt::Debug;
use std::time::Duration;

use futures::future::BoxFuture;
use http::StatusCode;

/// How a client retries. On by default.
///
/// * HTTP 429 is always retried (Slack did not run the call), waiting `Retry-After`.
/// * 5xx, timeouts and transport errors are retried with exponential backoff only for methods
///   marked `RETRY_SAFE` (list, getSettings, auth.test), or for every method when
///   `retry_unsafe` is set: a revocation whose answer was lost may or may not have happened.
/// * No more than `max_attempts` attempts in all, and no retry whose wait would push the sum
///   of waits past `max_total_wait`; with `wait_out_rate_limits`, 429s are outside both budgets
///   (a long job that paces itself waits out every 429 and never fails on one).
///
/// Backoff has no jitter, so [`decide`] stays a pure function; callers that fan out many
/// clients can add jitter through their own [`Sleeper`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = never retry).
    pub max_attempts: u32,
    /// Ceiling on the sum of all waits of one call.
    pub max_total_wait: Duration,
    /// Also retry non-idempotent methods after 5xx / timeouts / transport errors.
    pub retry_unsafe: bool,
    /// First backoff; doubles each further attempt.
    pub backoff_base: Duration,
    /// Ceiling on a single backoff wait.
    pub max_backoff: Duration,
    /// Wait used when a 429 has no usable `Retry-After` header.
    pub default_retry_after: Duration,
    /// Wait out every 429, however many and however long: rate-limited attempts count toward
    /// neither `max_attempts` nor `max_total_wait` (whose budgets are left to 5xx, timeouts
    /// and transport errors). Off by default; long paced jobs (the revocation engine) turn it on.
    pub wait_out_rate_limits: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            max_total_wait: Duration::from_secs(120),
            retry_unsafe: false,
            backoff_base: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            default_retry_after: Duration::from_secs(1),
            wait_out_rate_limits: false,
        }
    }
}

impl RetryPolicy {
    /// Never retry: every failure is returned as it happens.
    pub fn disabled() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }
}

/// What went wrong with one attempt, as far as retrying cares.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// HTTP 429 with the wait Slack asked for.
    RateLimited {
        /// Parsed `Retry-After` (or the policy default).
        retry_after: Duration,
    },
    /// HTTP 5xx; `retry_after` when the server sent one.
    ServerError {
        /// The status.
        status: StatusCode,
        /// `Retry-After`, if present and valid.
        retry_after: Option<Duration>,
    },
    /// The connect or request timeout elapsed.
    Timeout,
    /// Connecting, sending or reading failed.
    Transport,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Sleep this long, then try again.
    Retry {
        /// How long to wait.
        after: Duration,
    },
    /// Return the error.
    GiveUp,
}

/// Decides whether attempt number `attempt` (1-based, the one that just failed) is followed by
/// another, given the time `waited` so far. Pure: no clock, no randomness.
///
/// With [`RetryPolicy::wait_out_rate_limits`] a 429 is always retried after its wait, and the
/// caller counts neither that attempt nor that wait (see [`counts_toward_budget`]).
pub fn decide(
    policy: &RetryPolicy,
    method_retry_safe: bool,
    attempt: u32,
    waited: Duration,
    outcome: &Outcome,
) -> Decision {
    if let (true, Outcome::RateLimited { retry_after }) = (policy.wait_out_rate_limits, outcome) {
        return Decision::Retry {
            after: *retry_after,
        };
    }
    if attempt >= policy.max_attempts {
        return Decision::GiveUp;
    }
    let after = match outcome {
        Outcome::RateLimited { retry_after } => *retry_after,
        Outcome::ServerError { .. } | Outcome::Timeout | Outcome::Transport => {
            if !(method_retry_safe || policy.retry_unsafe) {
                return Decision::GiveUp;
            }
            let backoff = backoff(policy, attempt);
            match outcome {
                Outcome::ServerError {
                    retry_after: Some(ra),
                    ..
                } => backoff.max(*ra),
                _ => backoff,
            }
        }
    };
    match waited.checked_add(after) {
        Some(total) if total <= policy.max_total_wait => Decision::Retry { after },
        _ => Decision::GiveUp,
    }
}

/// Whether a failed attempt with this outcome uses up the policy's attempt and wait budgets:
/// always, except a 429 under [`RetryPolicy::wait_out_rate_limits`].
pub fn counts_toward_budget(policy: &RetryPolicy, outcome: &Outcome) -> bool {
    !(policy.wait_out_rate_limits && matches!(outcome, Outcome::RateLimited { .. }))
}

/// `backoff_base * 2^(attempt-1)`, capped at `max_backoff`.
fn backoff(policy: &RetryPolicy, attempt: u32) -> Duration {
    let exp = attempt.saturating_sub(1).min(31);
    policy
        .backoff_base
        .checked_mul(1u32 << exp)
        .unwrap_or(Duration::MAX)
        .min(policy.max_backoff)
}

/// Parses `Retry-After`: whole seconds as Slack sends them. Anything else (absent, a date,
/// garbage) gives `None`, and the caller falls back to the policy's default.
pub fn parse_retry_after(value: Option<&http::HeaderValue>) -> Option<Duration> {
    let text = value?.to_str().ok()?.trim();
    text.parse::<u64>().ok().map(Duration::from_secs)
}

/// Told of each retry before its wait: `(method name, what failed, how long it waits)`.
pub type RetryHook = std::sync::Arc<dyn Fn(&'static str, &Outcome, Duration) + Send + Sync>;

/// Waits. Injected so tests can record waits instead of sleeping.
pub trait Sleeper: Send + Sync + Debug {
    /// A future finishing after `d`.
    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()>;
}

/// Sleeps on the tokio timer. The default.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn p() -> RetryPolicy {
        RetryPolicy::default()
    }

    #[test]
    fn rate_limit_waits_retry_after_even_for_unsafe_methods() {
        let o = Outcome::RateLimited { retry_after: 7 * S };
        assert_eq!(
            decide(&p(), false, 1, Duration::ZERO, &o),
            Decision::Retry { after: 7 * S }
        );
    }

    #[test]
    fn server_errors_retry_only_when_safe_or_opted_in() {
        let o = Outcome::ServerError {
            status: StatusCode::BAD_GATEWAY,
            retry_after: None,
        };
        assert_eq!(decide(&p(), false, 1, Duration::ZERO, &o), Decision::GiveUp);
        let after = p().backoff_base;
        assert_eq!(
            decide(&p(), true, 1, Duration::ZERO, &o),
            Decision::Retry { after }
        );
        let unsafe_ok = RetryPolicy {
            retry_unsafe: true,
            ..p()
        };
        assert_eq!(
            decide(&unsafe_ok, false, 1, Duration::ZERO, &o),
            Decision::Retry { after }
        );
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let pol = RetryPolicy {
            max_attempts: 100,
            max_total_wait: Duration::MAX,
            ..p()
        };
        let waits: Vec<_> = (1..=8)
            .map(
                |a| match decide(&pol, true, a, Duration::ZERO, &Outcome::Timeout) {
                    Decision::Retry { after } => after,
                    Decision::GiveUp => panic!("gave up at {a}"),
                },
            )
            .collect();
        let ms = |m| Duration::from_millis(m);
        assert_eq!(waits[..4], [ms(500), ms(1000), ms(2000), ms(4000)]);
        assert_eq!(waits[7], pol.max_backoff);
    }

    #[test]
    fn server_retry_after_lengthens_backoff() {
        let o = Outcome::ServerError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            retry_after: Some(3 * S),
        };
        assert_eq!(
            decide(&p(), true, 1, Duration::ZERO, &o),
            Decision::Retry { after: 3 * S }
        );
    }

    #[test]
    fn gives_up_at_max_attempts_and_total_wait() {
        let o = Outcome::RateLimited { retry_after: S };
        assert_eq!(decide(&p(), true, 5, Duration::ZERO, &o), Decision::GiveUp);
        assert_eq!(
            decide(&RetryPolicy::disabled(), true, 1, Duration::ZERO, &o),
            Decision::GiveUp
        );
        let long = Outcome::RateLimited {
            retry_after: 121 * S,
        };
        assert_eq!(
            decide(&p(), true, 1, Duration::ZERO, &long),
            Decision::GiveUp
        );
        assert_eq!(
            decide(
                &p(),
                true,
                2,
                119 * S,
                &Outcome::RateLimited { retry_after: 2 * S }
            ),
            Decision::GiveUp
        );
    }

    #[test]
    fn waiting_out_rate_limits_ignores_both_budgets_for_429_only() {
        let pol = RetryPolicy {
            wait_out_rate_limits: true,
            ..RetryPolicy::disabled()
        };
        let long = Outcome::RateLimited {
            retry_after: 600 * S,
        };
        assert_eq!(
            decide(&pol, false, 99, 10_000 * S, &long),
            Decision::Retry { after: 600 * S }
        );
        assert!(!counts_toward_budget(&pol, &long));
        assert!(counts_toward_budget(&p(), &long));
        // Other failures keep their budgets.
        assert_eq!(
            decide(&pol, true, 1, Duration::ZERO, &Outcome::Timeout),
            Decision::GiveUp
        );
        assert!(counts_toward_budget(&pol, &Outcome::Timeout));
    }

    #[test]
    fn retry_after_parsing() {
        let hv = |s: &'static str| http::HeaderValue::from_static(s);
        assert_eq!(parse_retry_after(Some(&hv("30"))), Some(30 * S));
        assert_eq!(parse_retry_after(Some(&hv(" 2 "))), Some(2 * S));
        assert_eq!(parse_retry_after(Some(&hv("soon"))), None);
        assert_eq!(parse_retry_after(Some(&hv("-1"))), None);
        assert_eq!(parse_retry_after(None), None);
    }
}
