//! A Slack-compatible server for the `admin.users.session.*` Web API methods and `auth.test`:
//! a session authority backed by SQLite (one node) or PostgreSQL (several nodes), and an
//! offline emulator for testing Slack clients.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use sessions_server::{app, demo_fixture, AppState, ServerSettings};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = sessions_server::store::open(&format!("sqlite://{}", dir.path().join("s.db").display()))
//!     .await
//!     .unwrap();
//! let (fixture, demo) = demo_fixture();
//! store.load_fixture(&fixture, 1_700_000_000).await.unwrap();
//! let state = AppState::new(store, ServerSettings::default()).await.unwrap();
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! let url = format!("http://{}/api/auth.test", listener.local_addr().unwrap());
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let server = tokio::spawn(sessions_server::serve(listener, state, async { stopped.await.ok(); }));
//!
//! let body: serde_json::Value = reqwest::Client::new()
//!     .post(&url)
//!     .bearer_auth(&demo.admin_token)
//!     .send().await.unwrap()
//!     .json().await.unwrap();
//! assert_eq!(body["ok"], true);
//! assert_eq!(body["enterprise_id"], "E0DEMO");
//! stop.send(()).unwrap();
//! server.await.unwrap().unwrap();
//! # });
//! ```
//!
//! Layers: [`api`] handlers (HTTP only) → `service` (authorization and semantics, no HTTP, no
//! SQL) → [`sessions_store::Store`]. Every store call gets `now` from the [`Clock`].
//!
//! Wire conventions and the choices made where Slack is silent:
//! - `GET` and `POST` `/api/<method>`; arguments from the query string, urlencoded, JSON,
//!   multipart or `text/plain` (read as a form) bodies, in any mix. The token comes from
//!   `Authorization: Bearer`, a `token` argument, or a bare `token` header (in that order).
//! - Every API answer is `application/json; charset=utf-8`, HTTP 200 with `ok:false` for API
//!   errors (`unknown_method` included), with `x-oauth-scopes` (once the token is known) and
//!   `x-accepted-oauth-scopes` headers.
//! - A body over the limit (1 MiB by default) gets HTTP 413 with
//!   `{"ok":false,"error":"request_too_large","response_metadata":{"messages":[...]}}`.
//! - A storage failure gets HTTP 200 `internal_error` (Slack's own answer); the detail is
//!   logged, never sent.
//! - `resetBulk` answers `ok:true` once its job is recorded durably; the job id is in the
//!   `x-sessions-job-id` header, and the job with per-user results at
//!   `GET /control/jobs/{org}/{id}` ([`control`]).
//! - Rate limits, fault injection, the request log and clock control come from the emulator
//!   ([`emulator`], mounted by [`emulation`]; off unless asked for): HTTP 429, `Retry-After`,
//!   `ratelimited` as Slack answers.
//! - Admin actions (and refused attempts by authenticated callers) are recorded in an audit
//!   log, readable at `GET /audit/v1/logs` in the shape of Slack's Audit Logs API with a token
//!   holding `auditlogs:read` (see the `audit` module's docs for what is recorded and when).
//! - Operations: `GET /metrics` (Prometheus text), `/health` (liveness), `/ready` (the store
//!   answers; 503 otherwise), `/openapi.json` ([`openapi`]), one `sessions_server::access` log
//!   line per API call; none needs a token, none reveals one.
//! - Limits ([`net::Limits`]): request heads over the limit get 431 `request_too_large`, a
//!   request whose head or body does not arrive in time gets 408 `request_timeout`, an
//!   unreadable request 400, all as Slack JSON; a connection arriving at the cap sheds the one
//!   idle the longest, and waits only while every connection is busy.
//! - The control API is off unless enabled ([`ServerSettings::control`], a control token, or
//!   `demo`), and answers loopback peers only unless [`ServerSettings::control_allow_remote`].
//! - Every setting, from the `serve` flag to the running state, is declared once in
//!   [`settings::ServerSettings`].

#![warn(missing_docs)]

pub mod api;
mod audit;
mod clock;
pub mod control;
pub mod cursor;
mod demo;
pub mod emulation;
pub mod extract;
mod metrics;
pub mod net;
pub mod openapi;
mod service;
pub mod settings;
mod state;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
mod worker;

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;

use axum::routing::get;
use axum::Router;
use sessions_store::{DynStore, Fixture, StoreError, TokenHash, TokenLookup};

pub use clock::Clock;
pub use demo::{
    demo_fixture, DemoInfo, DEMO_ADMIN_TOKEN, DEMO_BOT_TOKEN, DEMO_ORG, DEMO_OWNER_TOKEN,
    DEMO_READONLY_TOKEN,
};
pub use service::org_url;
/// The emulator controls the server mounts (rate limits, faults, request log, clock).
pub use sessions_emulator as emulator;
pub use settings::ServerSettings;
pub use state::AppState;

/// Errors starting or running the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The store failed (opening, migrating, loading).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A fixture file was refused; nothing was loaded.
    #[error("fixture file {path}: {message}")]
    Fixture {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the entry.
        message: String,
    },
    /// Binding the listen address failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("server I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The emulator settings were refused (e.g. a bad rate-limit file).
    #[error(transparent)]
    Emulator(#[from] sessions_emulator::EmulatorError),
    /// A setting was refused (e.g. an empty control token).
    #[error("{0}")]
    Config(String),
}

/// What [`run`] tells its caller once it listens.
#[derive(Clone)]
pub struct Started {
    /// Base URL of the Web API, e.g. `http://127.0.0.1:8080/api/` (a client's `base_url`).
    pub api_url: String,
    /// Base URL of the control API, e.g. `http://127.0.0.1:8080/control/`.
    pub control_url: String,
    /// The control API token (meaningful when `control_enabled`).
    pub control_token: String,
    /// Whether the control API answers (see [`ServerSettings::control_enabled`]).
    pub control_enabled: bool,
    /// The demo org, when seeded (or already there from an earlier `--demo` start).
    pub demo: Option<DemoInfo>,
    /// The bound address (useful with port 0).
    pub local_addr: SocketAddr,
}

impl fmt::Debug for Started {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Started")
            .field("api_url", &self.api_url)
            .field("control_url", &self.control_url)
            .field("control_token", &"<redacted>")
            .field("control_enabled", &self.control_enabled)
            .field("demo", &self.demo)
            .field("local_addr", &self.local_addr)
            .finish()
    }
}

/// The whole router: `/api/{method}` and `/control/...`.
pub fn app(state: AppState) -> Router {
    let mut api = Router::new().route("/api/{method}", get(api::api_call).post(api::api_call));
    // Only with an emulator: without one these layers would do nothing, at a cost on every call.
    if let Some(emulator) = &state.inner.emulation.emulator {
        api = api
            .route_layer(emulator.layer())
            .route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                emulation::buffer_body,
            ));
    }
    api
        // Outermost on /api: counts and logs every answer, 429s included.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .route("/metrics", get(metrics::metrics))
        .route("/health", get(metrics::health))
        .route("/ready", get(metrics::ready))
        .route("/openapi.json", get(openapi::openapi_json))
        // The path the method table gives the audit log (`sessions_wire::AuditLogs`).
        .route(
            &format!("/{}", sessions_wire::audit::AUDIT_LOGS_PATH),
            get(audit::logs),
        )
        .merge(control::router(state.clone()))
        .merge(emulation::router(state.clone()))
        .method_not_allowed_fallback(api::method_not_allowed)
        .fallback(api::not_found)
        .with_state(state)
}

/// Serves until `shutdown` completes, then drains in-flight requests. Also runs the resetBulk
/// worker (unless turned off in [`ServerSettings::bulk_worker`]) until shutdown.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let pruner = state
        .inner
        .settings
        .audit_retention
        .map(|keep| tokio::spawn(worker::prune_audit(state.clone(), keep, stop_rx.clone())));
    let sweeper = tokio::spawn(worker::expire_sessions(state.clone(), stop_rx.clone()));
    let worker = state
        .inner
        .settings
        .bulk_worker
        .then(|| tokio::spawn(worker::run(state.clone(), stop_rx)));
    let limits = state.inner.settings.limits.clone();
    let metrics = state.inner.metrics.clone();
    let result = net::serve_router(
        listener,
        app(state),
        &limits,
        metrics,
        shutdown,
        move || {
            let _ = stop_tx.send(true);
        },
    )
    .await;
    if let Some(w) = worker {
        // If serving failed before shutdown, the dropped sender stops the worker too.
        let _ = w.await;
    }
    if let Some(p) = pruner {
        let _ = p.await;
    }
    let _ = sweeper.await;
    result
}

/// Seeds the demo org into an empty store; returns its description when it is there.
async fn seed_demo(store: &DynStore, now: i64) -> Result<Option<DemoInfo>, ServerError> {
    let (fixture, info) = demo_fixture();
    if let TokenLookup::Active(p) = store
        .authenticate(&TokenHash::of(DEMO_ADMIN_TOKEN), now)
        .await?
    {
        if p.org.org_id == DEMO_ORG {
            return Ok(Some(info));
        }
    }
    if !store.dump(None).await?.orgs.is_empty() {
        tracing::warn!("--demo ignored: the store already holds other orgs");
        return Ok(None);
    }
    store.load_fixture(&fixture, now).await?;
    Ok(Some(info))
}

/// Opens the store, loads fixtures, seeds the demo org, binds, calls `on_start`, and serves
/// until `shutdown` completes.
///
/// With `demo`, the demo org is seeded only when the store holds no org (checked before
/// fixtures are loaded, so `--fixtures` and `--demo` combine on a fresh store).
///
/// Fixtures are loaded at every start: orgs in the file replace the stored orgs with the same
/// id (the store's contract), so changes made through the API to those orgs do not survive a
/// restart with the same `--fixtures`; start without it to keep them.
pub async fn run(
    settings: ServerSettings,
    on_start: impl FnOnce(&Started),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    // Before touching the store, so a bad rate-limit file stops the start at once. The emulator
    // is mounted only when something can use it: the control API (where its controls and request
    // log live) or rate limits asked for at start. Otherwise every control stays off and nothing
    // records calls that nobody could read.
    let control_on = settings.control_enabled();
    let e = &settings.emulator;
    let emulator = (settings.emulation
        && (control_on
            || e.rate_limits != sessions_emulator::RateLimitMode::Off
            || e.rate_limit_file.is_some()))
    .then(|| emulation::build(e))
    .transpose()?;
    let store = store::open(&settings.store_url()?).await?;
    let clock = settings.clock.clone();
    let demo = if settings.demo {
        seed_demo(&store, clock.now()).await?
    } else {
        None
    };
    // What the emulator's state reset restores. Kept only where that reset exists (behind the
    // control API): otherwise a big fixture file would stay in memory for the life of the
    // process, for nothing.
    let resettable = control_on;
    let mut loaded = Vec::new();
    if demo.is_some() && resettable {
        loaded.push(demo_fixture().0);
    }
    if let Some(path) = &settings.fixtures {
        let fail = |message: String| ServerError::Fixture {
            path: path.clone(),
            message,
        };
        // Parsed from the file, not from its text read whole: only the fixture is held.
        let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
        let fixture = Fixture::from_reader(file).map_err(|e| fail(e.to_string()))?;
        let now = clock.now();
        let result = if resettable {
            let r = store.load_fixture(&fixture, now).await;
            loaded.push(fixture);
            r
        } else {
            store.load_fixture_owned(fixture, now).await
        };
        result.map_err(|e| match e {
            StoreError::Fixture(f) => fail(f.to_string()),
            other => ServerError::Store(other),
        })?;
    }
    let listen = settings.listen;
    let state = AppState::with_emulator(store, settings, emulator).await?;
    for fixture in &loaded {
        state.inner.emulation.remember(fixture);
    }
    drop(loaded);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| ServerError::Bind {
            addr: listen,
            source,
        })?;
    let addr = listener.local_addr()?;
    let started = Started {
        api_url: format!("http://{addr}/api/"),
        control_url: format!("http://{addr}/control/"),
        control_token: state.control_token().to_owned(),
        control_enabled: state.control_enabled(),
        demo,
        local_addr: addr,
    };
    on_start(&started);
    tracing::info!(%addr, node = state.node_id(), "serving");
    serve(listener, state, shutdown).await?;
    Ok(())
}

/// Completes on Ctrl-C (SIGINT) or, on Unix, SIGTERM. The handlers are installed by this call,
/// not when the future is first polled: [`run`] prints its banner before it awaits shutdown, and
/// a signal arriving in between would otherwise kill the process instead of stopping it
/// gracefully. Call it within a Tokio runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (int, term) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        );
        async move {
            match (int, term) {
                (Ok(mut int), Ok(mut term)) => {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                // Handlers could not be installed: Ctrl-C still works.
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
