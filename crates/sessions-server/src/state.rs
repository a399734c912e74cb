//! Shared server state.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rand::RngCore;
use sessions_store::{DynStore, TokenHash};
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::ServerError;

/// Knobs for [`AppState::new`].
#[derive(Debug, Clone)]
pub struct StateOptions {
    /// Clock (system time by default; tests and the emulator move it).
    pub clock: Clock,
    /// Control API token; a random one is generated when `None`.
    pub control_token: Option<String>,
    /// Name of this node (worker lease holder); random when `None`.
    pub node_id: Option<String>,
    /// Largest request body accepted (413 above it).
    pub max_body_bytes: usize,
    /// Whether [`serve`](crate::serve) runs the resetBulk worker. Tests turn it off to hold a
    /// recorded job unfinished.
    pub bulk_worker: bool,
    /// How often the worker polls for jobs recorded by other nodes.
    pub bulk_poll: Duration,
    /// How long a claimed job stays leased to this node.
    pub bulk_lease_secs: i64,
    /// Test knob: the worker holds each claimed job this long before completing it, simulating
    /// a slow job (so a test can kill the node mid-job). Zero by default.
    pub bulk_hold: Duration,
    /// Audit entries older than this (by the server's clock) are deleted by
    /// [`serve`](crate::serve); `None` (the default) keeps them forever.
    pub audit_retention: Option<Duration>,
    /// How often retention runs (default one hour).
    pub audit_prune_every: Duration,
    /// The emulator controls (rate limits, faults, request log, clock), mounted on
    /// `/api/<method>` and under `/control/emulator` when given; the server's clock then runs
    /// on the emulator's (see [`crate::emulation`]). The only rate limiting the server does.
    pub emulator: Option<sessions_emulator::Emulator>,
    /// Enable the control API even without a `control_token` (a random token is generated).
    /// The control API is off unless this is set or `control_token` is given.
    pub control: bool,
    /// Accept control API calls from non-loopback peers (off: 403 for them).
    pub control_allow_remote: bool,
    /// Connection, header and slow-client limits of [`serve`](crate::serve).
    pub limits: crate::net::Limits,
    /// Take the audit log's caller address from `X-Forwarded-For` (its last entry) instead of
    /// the TCP peer. Off by default: only turn it on behind a proxy that sets the header.
    pub trust_forwarded_for: bool,
}

impl Default for StateOptions {
    fn default() -> Self {
        StateOptions {
            clock: Clock::system(),
            control_token: None,
            node_id: None,
            max_body_bytes: 1 << 20,
            bulk_worker: true,
            bulk_poll: Duration::from_millis(200),
            bulk_lease_secs: 30,
            bulk_hold: Duration::ZERO,
            audit_retention: None,
            audit_prune_every: Duration::from_secs(3600),
            emulator: None,
            control: false,
            control_allow_remote: false,
            limits: crate::net::Limits::default(),
            trust_forwarded_for: false,
        }
    }
}

pub(crate) struct Inner {
    pub store: DynStore,
    pub clock: Clock,
    pub cursor_key: Vec<u8>,
    pub control_hash: TokenHash,
    pub control_token: String,
    pub node_id: String,
    pub max_body_bytes: usize,
    pub bulk_worker: bool,
    pub bulk_poll: Duration,
    pub bulk_lease_secs: i64,
    pub bulk_hold: Duration,
    pub audit_retention: Option<Duration>,
    pub audit_prune_every: Duration,
    pub emulation: crate::emulation::Emulation,
    pub wake: Notify,
    pub control_enabled: bool,
    pub control_allow_remote: bool,
    pub limits: crate::net::Limits,
    pub metrics: crate::metrics::Metrics,
    pub trust_forwarded_for: bool,
}

/// Everything a request handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.inner.store)
            .field("node_id", &self.inner.node_id)
            .field("control_token", &"<redacted>")
            .field("max_body_bytes", &self.inner.max_body_bytes)
            .field("bulk_worker", &self.inner.bulk_worker)
            .finish_non_exhaustive()
    }
}

pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

impl AppState {
    /// Builds the state; reads the store's server secret (the cursor signing key, shared by
    /// all nodes on one store).
    pub async fn new(store: DynStore, opts: StateOptions) -> Result<Self, ServerError> {
        if opts
            .control_token
            .as_deref()
            .is_some_and(|t| t.trim().is_empty())
        {
            // It would turn the control API on with a token no request can present.
            return Err(ServerError::Config(
                "the control token must not be empty".into(),
            ));
        }
        let metrics = crate::metrics::Metrics::default();
        // Every store call is timed for `/metrics` (store latency by operation).
        store.set_observer(Arc::new(metrics.clone()));
        let control_enabled = opts.control || opts.control_token.is_some();
        let cursor_key = store.server_secret().await?;
        let clock = match &opts.emulator {
            Some(e) => crate::emulation::compose_clock(opts.clock, e),
            None => opts.clock,
        };
        let control_token = opts
            .control_token
            .unwrap_or_else(|| format!("ctl-{}", random_hex(24)));
        let node_id = opts
            .node_id
            .unwrap_or_else(|| format!("node-{}", random_hex(4)));
        Ok(AppState {
            inner: Arc::new(Inner {
                store,
                clock,
                cursor_key,
                control_hash: TokenHash::of(&control_token),
                control_token,
                node_id,
                max_body_bytes: opts.max_body_bytes,
                bulk_worker: opts.bulk_worker,
                bulk_poll: opts.bulk_poll,
                bulk_lease_secs: opts.bulk_lease_secs,
                bulk_hold: opts.bulk_hold,
                audit_retention: opts.audit_retention,
                audit_prune_every: opts.audit_prune_every,
                emulation: crate::emulation::Emulation::new(opts.emulator),
                wake: Notify::new(),
                control_enabled,
                control_allow_remote: opts.control_allow_remote,
                limits: opts.limits,
                metrics,
                trust_forwarded_for: opts.trust_forwarded_for,
            }),
        })
    }

    /// The store.
    pub fn store(&self) -> &DynStore {
        &self.inner.store
    }

    /// The clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Whether the control API answers (see [`StateOptions::control`]).
    pub fn control_enabled(&self) -> bool {
        self.inner.control_enabled
    }

    /// The control API token (clear; never log it).
    pub fn control_token(&self) -> &str {
        &self.inner.control_token
    }

    /// This node's name.
    pub fn node_id(&self) -> &str {
        &self.inner.node_id
    }

    pub(crate) fn cursor_key(&self) -> &[u8] {
        &self.inner.cursor_key
    }

    /// Wakes the resetBulk worker (after an enqueue).
    pub(crate) fn wake_worker(&self) {
        self.inner.wake.notify_one();
    }
}
