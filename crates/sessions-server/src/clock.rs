//! The server's clock: a time source (the system clock unless one is plugged in, e.g. the
//! emulator's) plus an adjustable offset, so time can be moved forward (expire sessions, run
//! delayed jobs) without waiting.

use std::fmt;
use std::sync::Arc;

use sessions_store::UnixTime;

type Source = Arc<dyn Fn() -> UnixTime + Send + Sync>;

/// A cheap, cloneable clock handle. Every clone shares one offset (and one source). The
/// offset is the emulator's clock ([`sessions_emulator::Clock`]: system time plus a shared
/// offset), so moving and reading it is written once; a plugged-in source replaces only the
/// system time under it.
#[derive(Clone, Default)]
pub struct Clock {
    offset: sessions_emulator::Clock,
    source: Option<Source>,
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Clock")
            .field("offset", &self.offset())
            .field(
                "source",
                &if self.source.is_some() {
                    "custom"
                } else {
                    "system"
                },
            )
            .finish()
    }
}

impl Clock {
    /// The system clock, no offset.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock reading time from `source` (unix seconds), e.g. an emulator's shared clock, so
    /// moving that clock moves the server's too. [`Clock::advance`] adds on top of it.
    pub fn from_fn(source: impl Fn() -> UnixTime + Send + Sync + 'static) -> Clock {
        Clock {
            offset: sessions_emulator::Clock::system(),
            source: Some(Arc::new(source)),
        }
    }

    /// Now, in unix seconds, offset applied.
    pub fn now(&self) -> UnixTime {
        match &self.source {
            Some(source) => source().saturating_add(self.offset.offset()),
            None => self.offset.now_unix(),
        }
    }

    /// Moves the clock forward (or back, with a negative value) by `secs`; returns the new
    /// offset (saturating).
    pub fn advance(&self, secs: i64) -> i64 {
        self.offset.advance(secs)
    }

    /// The offset added to the source, in seconds.
    pub fn offset(&self) -> i64 {
        self.offset.offset()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};

    use super::*;

    // Moving the offset (shared by clones, saturating) is the emulator clock's, tested there;
    // what this clock adds is the source under it.
    #[test]
    fn a_plugged_in_source_drives_now_under_the_shared_offset() {
        let t = Arc::new(AtomicI64::new(1_000));
        let t2 = t.clone();
        let c = Clock::from_fn(move || t2.load(Ordering::Relaxed));
        let other = c.clone();
        assert_eq!(c.now(), 1_000);
        t.store(5_000, Ordering::Relaxed);
        c.advance(10);
        assert_eq!(c.now(), 5_010);
        assert_eq!(other.now(), 5_010, "clones share the source and the offset");
        assert_eq!(other.offset(), 10);
        let system = Clock::system();
        let before = system.now();
        system.clone().advance(3600);
        assert!(system.now() >= before + 3600);
    }
}
