//! Shared server state: the settings, kept whole, and what is derived from them at start.

use std::fmt;
use std::sync::Arc;

use rand::RngCore;
use sessions_store::{DynStore, TokenHash};
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::settings::ServerSettings;
use crate::ServerError;

pub(crate) struct Inner {
    pub store: DynStore,
    /// The settings as given (see [`ServerSettings`]); what follows is derived from them.
    pub settings: ServerSettings,
    /// `settings.clock`, running on the emulator's when one is mounted.
    pub clock: Clock,
    pub cursor_key: Vec<u8>,
    pub control_hash: TokenHash,
    /// `settings.control_token`, or a generated one.
    pub control_token: String,
    /// `settings.node_id`, or a generated one.
    pub node_id: String,
    pub emulation: crate::emulation::Emulation,
    pub wake: Notify,
    pub metrics: crate::metrics::Metrics,
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
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

impl AppState {
    /// Builds the state without emulator controls; reads the store's server secret (the cursor
    /// signing key, shared by all nodes on one store).
    pub async fn new(store: DynStore, settings: ServerSettings) -> Result<Self, ServerError> {
        Self::with_emulator(store, settings, None).await
    }

    /// [`AppState::new`] with the emulator controls (rate limits, faults, request log, clock)
    /// mounted on `/api/<method>` and under `/control/emulator`; the server's clock then runs
    /// on the emulator's (see [`crate::emulation`]). The only rate limiting the server does.
    pub async fn with_emulator(
        store: DynStore,
        settings: ServerSettings,
        emulator: Option<sessions_emulator::Emulator>,
    ) -> Result<Self, ServerError> {
        if settings
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
        let cursor_key = store.server_secret().await?;
        let clock = match &emulator {
            Some(e) => crate::emulation::compose_clock(settings.clock.clone(), e),
            None => settings.clock.clone(),
        };
        let control_token = settings
            .control_token
            .clone()
            .unwrap_or_else(|| format!("ctl-{}", random_hex(24)));
        let node_id = settings
            .node_id
            .clone()
            .unwrap_or_else(|| format!("node-{}", random_hex(4)));
        Ok(AppState {
            inner: Arc::new(Inner {
                store,
                settings,
                clock,
                cursor_key,
                control_hash: TokenHash::of(&control_token),
                control_token,
                node_id,
                emulation: crate::emulation::Emulation::new(emulator),
                wake: Notify::new(),
                metrics,
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

    /// Whether the control API answers (see [`ServerSettings::control_enabled`]).
    pub fn control_enabled(&self) -> bool {
        self.inner.settings.control_enabled()
    }

    /// The settings the server runs with.
    pub fn settings(&self) -> &ServerSettings {
        &self.inner.settings
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
