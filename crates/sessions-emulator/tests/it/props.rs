//! Invariants of the rate limiter and the request log, over arbitrary call sequences.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use sessions_emulator::{
    Limit, LogQuery, RateLimitMode, RateLimitSettings, RateLimiter, RequestLog, RequestRecord,
};

fn limiter(per_minute: u32, burst: u32) -> RateLimiter {
    RateLimiter::new(RateLimitSettings {
        mode: RateLimitMode::Custom,
        overrides: [(
            "auth.test".to_owned(),
            Limit::per_minute(per_minute).with_burst(burst),
        )]
        .into(),
    })
    .unwrap()
}

proptest! {
    /// In any window, allowed calls never exceed the burst plus what the window refills, and
    /// every refusal's Retry-After is at least one second and honest: waiting that long is
    /// enough for one call.
    #[test]
    fn limiter_never_allows_more_than_budget_and_retry_after_is_honest(
        per_minute in 1u32..700,
        burst in 1u32..50,
        gaps_ms in prop::collection::vec(0u64..5_000, 1..200),
    ) {
        let rl = limiter(per_minute, burst);
        let t0 = Instant::now();
        let mut t = t0;
        let mut allowed = Vec::new();
        for gap in gaps_ms {
            t += Duration::from_millis(gap);
            match rl.check("k", "auth.test", t) {
                Ok(()) => allowed.push(t),
                Err(wait) => {
                    prop_assert!(wait >= Duration::from_secs(1));
                    prop_assert_eq!(wait.subsec_nanos(), 0);
                    // A twin limiter in the same state shows waiting `wait` suffices.
                    let twin = limiter(per_minute, burst);
                    for a in &allowed {
                        twin.check("k", "auth.test", *a).unwrap();
                    }
                    prop_assert!(twin.check("k", "auth.test", t + wait).is_ok());
                }
            }
        }
        for (i, start) in allowed.iter().enumerate() {
            for (j, end) in allowed.iter().enumerate().skip(i) {
                let window = end.duration_since(*start).as_secs_f64();
                let budget = f64::from(burst) + window * f64::from(per_minute) / 60.0;
                prop_assert!((j - i + 1) as f64 <= budget + 1e-6,
                    "{} calls in {window}s > {budget}", j - i + 1);
            }
        }
    }

    /// The log holds at most its capacity, newest last, ids strictly increasing, and a limited
    /// listing is the tail of the full one.
    #[test]
    fn log_is_a_bounded_ordered_tail(
        capacity in 0usize..20,
        methods in prop::collection::vec(0usize..3, 0..60),
        limit in 0usize..25,
    ) {
        let names = ["auth.test", "admin.users.session.list", "admin.users.session.reset"];
        let log = RequestLog::new(capacity);
        for m in &methods {
            log.record(RequestRecord {
                id: 0,
                method: names[*m].to_owned(),
                http_method: "POST".into(),
                args: Default::default(),
                args_truncated: false,
                answer: "ok".into(),
                status: Some(200),
                fault: None,
                time: 0,
                time_rfc3339: String::new(),
                duration_ms: 0,
            });
        }
        let all = log.list(&LogQuery::default());
        prop_assert_eq!(all.len(), methods.len().min(capacity));
        prop_assert!(all.windows(2).all(|w| w[0].id < w[1].id));
        if let Some(last) = all.last() {
            prop_assert_eq!(last.id, methods.len() as u64);
        }
        let q = LogQuery { method: Some("auth.test".into()), limit: Some(limit), after: None };
        let some = log.list(&q);
        let full: Vec<_> = all.iter().filter(|r| r.method == "auth.test").cloned().collect();
        prop_assert_eq!(&some[..], &full[full.len() - some.len()..]);
        prop_assert_eq!(some.len(), full.len().min(limit));
    }
}
