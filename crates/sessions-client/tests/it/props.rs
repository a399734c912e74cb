//! Invariants of the retry decision.

use std::time::Duration;

use proptest::prelude::*;
use sessions_client::*;

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        (0u64..200).prop_map(|s| Outcome::RateLimited {
            retry_after: Duration::from_secs(s)
        }),
        (500u16..600, proptest::option::of(0u64..100)).prop_map(|(s, ra)| Outcome::ServerError {
            status: http::StatusCode::from_u16(s).unwrap(),
            retry_after: ra.map(Duration::from_secs),
        }),
        Just(Outcome::Timeout),
        Just(Outcome::Transport),
    ]
}

fn policy() -> impl Strategy<Value = RetryPolicy> {
    (
        1u32..10,
        0u64..300,
        any::<bool>(),
        0u64..5_000,
        0u64..60_000,
    )
        .prop_map(
            |(max_attempts, total, retry_unsafe, base_ms, cap_ms)| RetryPolicy {
                max_attempts,
                max_total_wait: Duration::from_secs(total),
                retry_unsafe,
                backoff_base: Duration::from_millis(base_ms),
                max_backoff: Duration::from_millis(cap_ms),
                ..RetryPolicy::default()
            },
        )
}

proptest! {
    /// Driving `decide` like the client does never exceeds the attempt or wait budget.
    #[test]
    fn never_exceeds_attempts_or_total_wait(
        p in policy(),
        safe in any::<bool>(),
        outcomes in proptest::collection::vec(outcome(), 1..30),
    ) {
        let mut attempts = 0u32;
        let mut waited = Duration::ZERO;
        for o in &outcomes {
            attempts += 1;
            match decide(&p, safe, attempts, waited, o) {
                Decision::Retry { after } => {
                    waited += after;
                    if !safe && !p.retry_unsafe {
                        let is_429 = matches!(o, Outcome::RateLimited { .. });
                        prop_assert!(is_429);
                    }
                }
                Decision::GiveUp => break,
            }
        }
        prop_assert!(attempts <= p.max_attempts);
        prop_assert!(waited <= p.max_total_wait);
    }

    /// A 429 within budget is always retried, after exactly what Slack asked.
    #[test]
    fn rate_limits_within_budget_wait_retry_after(secs in 0u64..60, safe in any::<bool>()) {
        let ra = Duration::from_secs(secs);
        let d = decide(&RetryPolicy::default(), safe, 1, Duration::ZERO,
            &Outcome::RateLimited { retry_after: ra });
        prop_assert_eq!(d, Decision::Retry { after: ra });
    }
}
