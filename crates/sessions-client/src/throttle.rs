//! Proactive client-side throttling: one token bucket per (token, method).
//!
//! Slack allows each method about `tier.per_minute()` calls a minute per token, with small
//! bursts tolerated. With throttling on, a call that would exceed that waits (through the
//! client's [`Sleeper`](crate::Sleeper)) instead of drawing a 429. The bucket holds
//! [`THROTTLE_BURST`] calls and refills at `per_minute / 60` calls a second. Waits are
//! reserved before sleeping, so concurrent callers queue up rather than stampede.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Calls a fresh bucket allows back to back.
pub const THROTTLE_BURST: f64 = 3.0;

#[derive(Debug)]
struct Bucket {
    /// Calls available now; negative when callers have reserved future calls.
    tokens: f64,
    last: Instant,
}

/// Buckets keyed by a hash of the token (the token itself is not kept here) and method name.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    buckets: Mutex<HashMap<(u64, &'static str), Bucket>>,
}

pub(crate) fn token_key(token: &str) -> u64 {
    let mut h = DefaultHasher::new();
    token.hash(&mut h);
    h.finish()
}

impl Throttle {
    /// Takes one call from the bucket and returns how long to wait before making it.
    pub(crate) fn reserve(&self, token: u64, method: &'static str, per_minute: u32) -> Duration {
        self.reserve_at(token, method, per_minute, Instant::now())
    }

    fn reserve_at(
        &self,
        token: u64,
        method: &'static str,
        per_minute: u32,
        now: Instant,
    ) -> Duration {
        let rate = f64::from(per_minute.max(1)) / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let b = buckets.entry((token, method)).or_insert(Bucket {
            tokens: THROTTLE_BURST,
            last: now,
        });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(THROTTLE_BURST);
        b.last = now;
        b.tokens -= 1.0;
        if b.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-b.tokens / rate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_paced_at_tier_rate() {
        let t = Throttle::default();
        let now = Instant::now();
        let waits: Vec<_> = (0..5).map(|_| t.reserve_at(1, "m", 20, now)).collect();
        // 20/min = one call every 3 s once the burst of 3 is spent.
        let s = Duration::from_secs;
        assert_eq!(waits, [s(0), s(0), s(0), s(3), s(6)]);
        // Other methods and tokens have their own buckets.
        assert_eq!(t.reserve_at(1, "other", 20, now), s(0));
        assert_eq!(t.reserve_at(2, "m", 20, now), s(0));
    }

    proptest::proptest! {
        /// Calls made at one instant are spaced exactly one refill interval apart once the
        /// burst is spent, for every tier.
        #[test]
        fn same_instant_calls_queue_at_the_tier_rate(per_minute in 1u32..1000, n in 1usize..40) {
            let t = Throttle::default();
            let now = Instant::now();
            let interval = 60.0 / f64::from(per_minute);
            for k in 0..n {
                let wait = t.reserve_at(7, "m", per_minute, now).as_secs_f64();
                let want = ((k as f64 + 1.0 - THROTTLE_BURST) * interval).max(0.0);
                proptest::prop_assert!((wait - want).abs() < 1e-6, "call {}: {} vs {}", k, wait, want);
            }
        }
    }

    #[test]
    fn refills_over_time() {
        let t = Throttle::default();
        let now = Instant::now();
        for _ in 0..3 {
            t.reserve_at(1, "m", 60, now);
        }
        assert_eq!(
            t.reserve_at(1, "m", 60, now + Duration::from_secs(2)),
            Duration::ZERO
        );
    }
}
