//! The emulated clock: system time plus an adjustable offset shared by every clone.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A cheap, cloneable clock handle: system time plus an offset in seconds. Every clone shares
/// the offset, so moving one moves them all (the server's session expiry, the request log's
/// timestamps and the rate limiter all see the same time).
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset: Arc<AtomicI64>,
}

impl Clock {
    /// The system clock with no offset.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// Now, in unix seconds, offset applied.
    pub fn now_unix(&self) -> i64 {
        let sys = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        sys.saturating_add(self.offset())
    }

    /// Same as [`Clock::now_unix`]; named like the server's clock so it can swap in unchanged.
    pub fn now(&self) -> i64 {
        self.now_unix()
    }

    /// Moves the clock by `secs` (backwards when negative); returns the new offset.
    pub fn advance(&self, secs: i64) -> i64 {
        // fetch_update so the offset saturates instead of wrapping on absurd input.
        let prev = self
            .offset
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |o| {
                Some(o.saturating_add(secs))
            })
            .unwrap_or_else(|o| o);
        prev.saturating_add(secs)
    }

    /// Sets the offset from system time, in seconds.
    pub fn set_offset(&self, secs: i64) {
        self.offset.store(secs, Ordering::SeqCst);
    }

    /// The current offset from system time, in seconds.
    pub fn offset(&self) -> i64 {
        self.offset.load(Ordering::SeqCst)
    }

    /// A monotonic instant moved forward by the offset (negative offsets count as zero, since an
    /// `Instant` cannot predate the process). The rate limiter runs on this, so advancing the
    /// clock refills buckets without anyone sleeping.
    pub fn instant(&self) -> Instant {
        let now = Instant::now();
        match u64::try_from(self.offset()) {
            Ok(secs) if secs > 0 => now.checked_add(Duration::from_secs(secs)).unwrap_or(now),
            _ => now,
        }
    }
}

/// Formats unix seconds as RFC 3339 UTC (`2026-11-24T05:41:38Z`).
pub fn rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian), avoiding a date crate.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_offset() {
        let a = Clock::system();
        let b = a.clone();
        let before = b.now_unix();
        assert_eq!(a.advance(3600), 3600);
        assert!(b.now_unix() >= before + 3600);
        b.set_offset(-10);
        assert_eq!(a.offset(), -10);
    }

    #[test]
    fn advance_saturates() {
        let c = Clock::system();
        c.set_offset(i64::MAX - 1);
        assert_eq!(c.advance(10), i64::MAX);
    }

    #[test]
    fn instant_moves_with_positive_offset() {
        let c = Clock::system();
        let base = c.instant();
        c.advance(100);
        assert!(c.instant() >= base + Duration::from_secs(100));
    }

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_412_498), "2026-11-23T05:41:38Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }
}
