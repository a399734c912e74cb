//! The resetBulk worker: claims recorded jobs (from this node or any other sharing the store)
//! under a lease and completes them. A job recorded before a crash or shutdown is finished
//! after restart, by whichever node claims it once its lease lapses.

use std::time::Duration;

use sessions_store::StoreError;
use tokio::sync::watch;

use crate::state::AppState;

/// Runs until `stop` turns true.
pub(crate) async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let inner = &state.inner;
    tracing::info!(node = %inner.node_id, "resetBulk worker started");
    loop {
        if *stop.borrow() {
            break;
        }
        let now = state.clock().now();
        let wait = match inner
            .store
            .claim_bulk_job(&inner.node_id, now, inner.settings.bulk_lease_secs)
            .await
        {
            Ok(Some(claim)) => {
                let id = claim.job.job_id;
                if !inner.settings.bulk_hold.is_zero() {
                    // Simulated slow job; on shutdown the claim is abandoned to its lease.
                    tokio::select! {
                        _ = tokio::time::sleep(inner.settings.bulk_hold) => {}
                        _ = stop.changed() => break,
                    }
                }
                match inner
                    .store
                    .complete_bulk_job(&claim, state.clock().now())
                    .await
                {
                    Ok(job) => {
                        let failed: Vec<_> =
                            job.results.iter().filter(|(_, e)| e.is_some()).collect();
                        if failed.is_empty() {
                            tracing::info!(org = %job.org_id, job_id = id, users = job.results.len(), "resetBulk done");
                        } else {
                            tracing::warn!(org = %job.org_id, job_id = id, failed = ?failed, "resetBulk done with failures");
                        }
                    }
                    Err(StoreError::LeaseLost) => {
                        tracing::warn!(job_id = id, "resetBulk lease lost to another worker")
                    }
                    Err(e) => {
                        tracing::error!(job_id = id, error = %e, "resetBulk failed; will retry after the lease")
                    }
                }
                // Look for the next job at once.
                Duration::ZERO
            }
            Ok(None) => inner.settings.bulk_poll,
            Err(e) => {
                tracing::error!(error = %e, "claiming resetBulk jobs failed");
                inner.settings.bulk_poll * 5
            }
        };
        if wait.is_zero() {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = inner.wake.notified() => {}
            changed = stop.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }
    tracing::info!("resetBulk worker stopped");
}

/// Entries deleted per store call: bounds each transaction, whatever the backlog.
const PRUNE_BATCH: u32 = 1_000;

/// Audit retention: at start and then every `audit_prune_every`, deletes the entries older than
/// `keep` by the server's clock, in batches. Every node sharing a store may run it; deleting
/// what another node already deleted is a no-op. Runs until `stop` turns true.
pub(crate) async fn prune_audit(state: AppState, keep: Duration, mut stop: watch::Receiver<bool>) {
    let keep = i64::try_from(keep.as_secs()).unwrap_or(i64::MAX);
    loop {
        if *stop.borrow() {
            break;
        }
        let cut = state.clock().now().saturating_sub(keep);
        let mut deleted = 0;
        loop {
            match state.inner.store.prune_audit(cut, PRUNE_BATCH).await {
                Ok(n) => {
                    deleted += n;
                    if n < u64::from(PRUNE_BATCH) || *stop.borrow() {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "audit retention failed; retrying next round");
                    break;
                }
            }
        }
        if deleted > 0 {
            tracing::info!(
                deleted,
                before = cut,
                "audit entries past retention deleted"
            );
        }
        tokio::select! {
            _ = tokio::time::sleep(state.inner.settings.audit_prune_every) => {}
            _ = stop.changed() => break,
        }
    }
}

/// Sessions marked ended per store call by the expiry sweep.
const EXPIRE_BATCH: u32 = 1_000;
/// How often the expiry sweep runs (besides at start, at shutdown and before every clock move).
const EXPIRE_EVERY: Duration = Duration::from_secs(60);

/// Marks every session past its expiry at the clock's current time as ended for good
/// ([`sessions_store::Store::expire_sessions`]), in batches; returns how many. Expiry is then
/// final: a clock moved back afterwards (the emulator's controls, a restart that loses the
/// emulator's offset, a stepped system clock) cannot make those sessions active again.
pub(crate) async fn sweep_expired(state: &AppState) -> Result<u64, StoreError> {
    let now = state.clock().now();
    let mut ended = 0;
    loop {
        let n = state.inner.store.expire_sessions(now, EXPIRE_BATCH).await?;
        ended += n;
        if n < u64::from(EXPIRE_BATCH) {
            return Ok(ended);
        }
    }
}

/// The expiry sweep: at start, every [`EXPIRE_EVERY`], and once more at shutdown. Every node
/// sharing a store may run it; marking what another node already marked is a no-op. Only a
/// session that expired since the last sweep, on a node killed before its next sweep, and then
/// met by a clock set back before its expiry could still be taken for active.
pub(crate) async fn expire_sessions(state: AppState, mut stop: watch::Receiver<bool>) {
    loop {
        match sweep_expired(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(ended = n, "expired sessions marked ended"),
            Err(e) => tracing::warn!(error = %e, "expiry sweep failed; retrying next round"),
        }
        if *stop.borrow() {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(EXPIRE_EVERY) => {}
            // One last sweep on the way out (a stop, or the sender gone).
            _ = stop.changed() => {}
        }
    }
}
