//! Callers waiting for an action to finish (a Global Token Revocation request answers only
//! once the person is signed out, or it is known that they cannot be).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::inbox::Final;

/// Action id -> the callers waiting for it.
#[derive(Debug, Default, Clone)]
pub struct Waiters(Arc<Mutex<HashMap<i64, Vec<oneshot::Sender<Final>>>>>);

impl Waiters {
    /// Waits for action `id`. Register before checking the stored state, so that a finish in
    /// between is not missed.
    pub fn register(&self, id: i64) -> oneshot::Receiver<Final> {
        let (tx, rx) = oneshot::channel();
        self.lock().entry(id).or_default().push(tx);
        rx
    }

    /// Tells everyone waiting for `id`.
    pub fn finish(&self, id: i64, outcome: Final) {
        if let Some(list) = self.lock().remove(&id) {
            for tx in list {
                let _ = tx.send(outcome);
            }
        }
    }

    /// Forgets the waiters of `id` (the caller gave up).
    pub fn forget(&self, id: i64) {
        self.lock().remove(&id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Vec<oneshot::Sender<Final>>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}
