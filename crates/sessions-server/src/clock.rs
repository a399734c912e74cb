//! The server's clock: system time plus an adjustable offset, so the emulator can move time
//! forward (expire sessions, run delayed jobs) without waiting.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use sessions_store::UnixTime;

/// A cheap, cloneable clock handle. Every clone shares one offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset: Arc<AtomicI64>,
}

impl Clock {
    /// The system clock, no offset.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// Now, in unix seconds, offset applied.
    pub fn now(&self) -> UnixTime {
        let sys = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        sys + self.offset.load(Ordering::Relaxed)
    }

    /// Moves the clock forward (or back, with a negative value) by `secs`; returns the new
    /// offset.
    pub fn advance(&self, secs: i64) -> i64 {
        self.offset.fetch_add(secs, Ordering::Relaxed) + secs
    }

    /// The current offset from system time, in seconds.
    pub fn offset(&self) -> i64 {
        self.offset.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_offset() {
        let a = Clock::system();
        let b = a.clone();
        let before = b.now();
        a.advance(3600);
        assert!(b.now() >= before + 3600);
        assert_eq!(b.offset(), 3600);
    }
}
