//! How fast calls go: a rate per method (its Slack tier, or `--max-rate`), turned into waits by
//! a pure [`Pacer`] that is handed the time. The clock and the sleeper are injected, so tests
//! record the waits instead of sleeping.
//!
//! Calls of one method are spaced evenly, `60 / rate` seconds apart, with no burst: Slack
//! tolerates bursts within a minute, but an even pace never draws a 429 from a limit that
//! counts per minute, and a 429 that comes anyway (another script on the same token, a
//! stricter server) is waited out by the client (`RetryPolicy::wait_out_rate_limits`).

use std::collections::HashMap;
use std::fmt::Debug;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sessions_wire::RateTier;

use crate::Error;

/// Tells the time. Injected so tests control it.
pub trait Clock: Send + Sync + Debug {
    /// Now.
    fn now(&self) -> Instant;
}

/// The real monotonic clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// The pace asked for: each method's Slack tier, or one rate for every call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Pacing {
    /// Calls per minute for every method instead of its tier (`--max-rate`); `None` = tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_minute: Option<f64>,
}

impl Pacing {
    /// Each method at its Slack tier.
    pub fn tier() -> Pacing {
        Pacing::default()
    }

    /// Every method at `per_minute`.
    pub fn max_rate(per_minute: f64) -> Pacing {
        Pacing {
            max_per_minute: Some(per_minute),
        }
    }

    /// Calls per minute for a method of this tier.
    pub fn per_minute(&self, tier: RateTier) -> f64 {
        self.max_per_minute
            .unwrap_or_else(|| f64::from(tier.per_minute()))
    }

    /// Time between two calls of a method of this tier.
    pub fn interval(&self, tier: RateTier) -> Duration {
        Duration::from_secs_f64(60.0 / self.per_minute(tier))
    }

    /// How long `calls` calls of one method take at this pace (the first goes at once).
    pub fn duration_of(&self, tier: RateTier, calls: u64) -> Duration {
        let gaps = calls.saturating_sub(1) as f64;
        Duration::from_secs_f64(gaps * 60.0 / self.per_minute(tier))
    }
}

/// Parses `--max-rate`: `N/min`, `N/m`, `N/s`, `N/h`, or a plain `N` (per minute). `N` may
/// have a fraction; it must be above 0.
pub fn parse_rate(text: &str) -> Result<f64, Error> {
    let t = text.trim();
    let (num, per) = t.split_once('/').unwrap_or((t, "min"));
    let factor = match per.trim() {
        "min" | "m" | "minute" => 1.0,
        "s" | "sec" | "second" => 60.0,
        "h" | "hour" => 1.0 / 60.0,
        other => {
            return Err(Error::Selection(format!(
                "rate {t:?}: unknown unit {other:?} (use N/min, N/s or N/h)"
            )))
        }
    };
    let n: f64 = num.trim().parse().map_err(|_| {
        Error::Selection(format!("rate {t:?} is not a number of calls like 20/min"))
    })?;
    let per_minute = n * factor;
    if !(per_minute.is_finite() && per_minute > 0.0 && per_minute <= 6_000_000.0) {
        return Err(Error::Selection(format!(
            "rate {t:?} must be above 0 and at most 100000/s"
        )));
    }
    Ok(per_minute)
}

/// Spaces calls per method. Pure: the caller passes the time and sleeps the answer.
#[derive(Debug, Clone, Default)]
pub struct Pacer {
    pacing: Pacing,
    next: HashMap<&'static str, Instant>,
}

impl Pacer {
    /// A pacer with nothing sent yet.
    pub fn new(pacing: Pacing) -> Pacer {
        Pacer {
            pacing,
            next: HashMap::new(),
        }
    }

    /// The pace in use.
    pub fn pacing(&self) -> Pacing {
        self.pacing
    }

    /// Books the next call of `method` (of `tier`) and returns how long to wait from `now`
    /// before making it.
    pub fn reserve(&mut self, method: &'static str, tier: RateTier, now: Instant) -> Duration {
        let slot = match self.next.get(method) {
            Some(&next) if next > now => next,
            _ => now,
        };
        self.next.insert(method, slot + self.pacing.interval(tier));
        slot - now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_in_every_unit() {
        assert_eq!(parse_rate("20/min").unwrap(), 20.0);
        assert_eq!(parse_rate("20").unwrap(), 20.0);
        assert_eq!(parse_rate("5/s").unwrap(), 300.0);
        assert_eq!(parse_rate("120/h").unwrap(), 2.0);
        assert_eq!(parse_rate(" 0.5 / m ").unwrap(), 0.5);
        for bad in ["0/min", "-3", "fast", "3/day", "1e9/s", "NaN"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pacer_spaces_each_method_evenly_and_independently() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut p = Pacer::new(Pacing::tier());
        let inv = "admin.users.session.invalidate";
        // Tier 2: 20/min = one every 3 s; the first goes at once.
        assert_eq!(p.reserve(inv, RateTier::Tier2, t0), Duration::ZERO);
        assert_eq!(p.reserve(inv, RateTier::Tier2, t0), s(3));
        assert_eq!(p.reserve(inv, RateTier::Tier2, t0 + s(1)), s(5));
        // Another method has its own budget.
        assert_eq!(
            p.reserve("admin.users.session.list", RateTier::Tier2, t0),
            Duration::ZERO
        );
        // After a long pause, no debt and no burst: at once, then spaced again.
        assert_eq!(p.reserve(inv, RateTier::Tier2, t0 + s(100)), Duration::ZERO);
        assert_eq!(p.reserve(inv, RateTier::Tier2, t0 + s(100)), s(3));
    }

    #[test]
    fn max_rate_overrides_every_tier() {
        let p = Pacing::max_rate(600.0);
        assert_eq!(p.interval(RateTier::Tier2), Duration::from_millis(100));
        assert_eq!(p.interval(RateTier::Tier4), Duration::from_millis(100));
        assert_eq!(
            Pacing::tier().interval(RateTier::Tier4),
            Duration::from_millis(600)
        );
        assert_eq!(
            Pacing::tier().duration_of(RateTier::Tier2, 2001),
            Duration::from_secs(6000)
        );
        assert_eq!(
            Pacing::tier().duration_of(RateTier::Tier2, 0),
            Duration::ZERO
        );
    }
}
