//! Store timing without a decorator: a backend reports the duration and outcome of every
//! [`Store`](crate::Store) call to the observer it was given
//! ([`Store::set_observer`](crate::Store::set_observer)), so the server's metrics need no
//! wrapper that forwards every method.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use crate::Result;

/// Told about every store call: its operation name (the [`Store`](crate::Store) method, with
/// audited writes named after the write, e.g. `invalidate_session`), how long it took, and
/// whether it failed.
pub trait StoreObserver: Send + Sync + 'static {
    /// One finished call.
    fn store_call(&self, op: &'static str, took: Duration, failed: bool);
}

/// Where a backend keeps its observer; [`ObserverSlot::time`] wraps each call. Empty until an
/// observer is set; setting another replaces it.
#[derive(Default)]
pub struct ObserverSlot(RwLock<Option<Arc<dyn StoreObserver>>>);

impl fmt::Debug for ObserverSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = self.0.read().map(|o| o.is_some()).unwrap_or(false);
        f.debug_struct("ObserverSlot").field("set", &set).finish()
    }
}

impl ObserverSlot {
    /// Reports every later call to `observer`.
    pub fn set(&self, observer: Arc<dyn StoreObserver>) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Some(observer);
    }

    /// Runs `call` and reports it as `op`. The lock is taken only after the call finished, for
    /// as long as the report takes.
    pub async fn time<T>(
        &self,
        op: &'static str,
        call: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let start = Instant::now();
        let result = call.await;
        let took = start.elapsed();
        if let Some(o) = self
            .0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
        {
            o.store_call(op, took, result.is_err());
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::StoreError;

    #[derive(Default)]
    struct Calls(Mutex<Vec<(&'static str, bool)>>);

    impl StoreObserver for Calls {
        fn store_call(&self, op: &'static str, _took: Duration, failed: bool) {
            self.0.lock().unwrap().push((op, failed));
        }
    }

    #[tokio::test]
    async fn calls_are_reported_by_name_and_outcome_once_an_observer_is_set() {
        let slot = ObserverSlot::default();
        assert_eq!(slot.time("before", async { Ok(1) }).await.unwrap(), 1);
        let calls = Arc::new(Calls::default());
        slot.set(calls.clone());
        slot.time("ok", async { Ok(()) }).await.unwrap();
        let failed: Result<()> = slot.time("bad", async { Err(StoreError::LeaseLost) }).await;
        assert!(matches!(failed, Err(StoreError::LeaseLost)));
        assert_eq!(*calls.0.lock().unwrap(), vec![("ok", false), ("bad", true)]);
    }
}
