//! Signs people out of Slack when their identity provider says so: an OpenID Shared Signals
//! receiver (SETs by RFC 8935 push and RFC 8936 poll) and a Global Token Revocation endpoint
//! (draft-parecki-oauth-global-token-revocation), in front of Slack's
//! `admin.users.session.reset` / `resetBulk` (real Slack, or our server).
//!
//! ```text
//! transmitter --push--> POST /ssf/events ---------+
//! transmitter <--poll-- poller (ack, setErrs) ----+--> verify --> inbox (SQLite) --> worker --> Slack
//! IdP ----------------> POST /global-token-revocation +      (jti unique)       (lookup, reset,
//!                                                                                  resetBulk, retry)
//! ```
//!
//! * [`verify`]: JWS signature (RS256/ES256, keys from [`keys`]), `iss`, `aud`, `iat`, `jti`;
//!   failures carry RFC 8935 error codes.
//! * [`receive`]: which events sign whom out ([`events`], [`subject`]); recorded durably in
//!   [`inbox`] before the transmitter is answered, so a `202`/`204` is never lost and a
//!   replayed `jti` is acted on once.
//! * [`worker`]: the sign-outs, planned, paced and journaled by the revocation engine
//!   (`sessions_revoke`: lookups, one `reset` for a single person or one `resetBulk` for
//!   several due together, a journal per round under `<data-dir>/journals/`),
//!   retried with backoff across rounds ([`slack::next_step`]), every outcome recorded in the
//!   inbox; [`gtr`] waits for its own.
//! * [`http`] (push, GTR, `/health`, `/metrics`), [`poll`], [`metrics`].
//!
//! [`run`] wires it all: the `slack-sessions bridge` command is a thin wrapper over it.

pub mod events;
pub mod gtr;
pub mod http;
pub mod inbox;
pub mod keys;
pub mod metrics;
pub mod poll;
pub mod receive;
pub mod slack;
pub mod subject;
pub mod verify;
mod waiters;
pub mod worker;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

pub use crate::inbox::Inbox;
pub use crate::keys::KeySource;
pub use crate::poll::PollConfig;
pub use crate::receive::Receiver;
pub use crate::subject::SubjectMap;
pub use crate::verify::{ErrorCode, Refusal};

/// Default `iat` skew: how far in the future a SET's `iat` may be.
pub const DEFAULT_SKEW: Duration = Duration::from_secs(60);

/// What `slack-sessions bridge` is started with.
#[derive(Debug)]
pub struct BridgeConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The transmitter's issuer (`iss` of its SETs and client assertions).
    pub issuer: String,
    /// What `aud` must contain.
    pub audience: String,
    /// The transmitter's signing keys.
    pub keys: KeySource,
    /// Directory of the inbox database.
    pub data_dir: PathBuf,
    /// Poll delivery, if configured.
    pub poll: Option<PollConfig>,
    /// `--subject-map`.
    pub subject_map: Option<PathBuf>,
    /// How far in the future an `iat` may be.
    pub skew: Duration,
    /// The Slack client the sign-outs go through (admin token with `admin.users:write`,
    /// `users:read` and `users:read.email`), built with
    /// `sessions_revoke::engine_retry_policy()` and without its own throttle: the engine paces.
    pub slack: sessions_client::Client,
    /// Pacing of the engine's calls (`Pacing::tier()`: each method's Slack tier).
    pub pacing: sessions_revoke::Pacing,
}

/// Where a started bridge listens.
#[derive(Debug, Clone)]
pub struct Started {
    /// `http://ADDR/`.
    pub url: String,
    /// The push endpoint.
    pub push_url: String,
    /// The Global Token Revocation endpoint.
    pub gtr_url: String,
    /// The bound address.
    pub addr: SocketAddr,
}

/// Failures that stop the bridge.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BridgeError {
    /// The key set could not be read.
    #[error(transparent)]
    Keys(#[from] keys::KeyError),
    /// The subject map could not be read.
    #[error(transparent)]
    SubjectMap(#[from] subject::SubjectMapError),
    /// The inbox could not be opened.
    #[error(transparent)]
    Inbox(#[from] inbox::InboxError),
    /// The data dir could not be created.
    #[error("cannot create the data dir {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Listening failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("the bridge's HTTP server failed: {0}")]
    Serve(#[source] std::io::Error),
    /// An HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Http(#[source] reqwest::Error),
}

/// Runs the bridge until `shutdown` completes: opens the inbox (and resumes the work left in
/// it), reads the keys and the subject map, listens, calls `on_ready`, then serves push, GTR,
/// health and metrics, polls if configured, and works off the inbox. On shutdown, requests in
/// flight are answered, the sign-out in flight is finished and pending poll acknowledgements
/// are sent.
pub async fn run(
    config: BridgeConfig,
    on_ready: impl FnOnce(&Started),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), BridgeError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| BridgeError::DataDir {
        path: config.data_dir.clone(),
        source: e,
    })?;
    let inbox = Inbox::open(&config.data_dir)?;
    let journal_dir = config.data_dir.join("journals");
    std::fs::create_dir_all(&journal_dir).map_err(|e| BridgeError::DataDir {
        path: journal_dir.clone(),
        source: e,
    })?;
    let subjects = match &config.subject_map {
        Some(path) => SubjectMap::read(path)?,
        None => SubjectMap::default(),
    };
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(BridgeError::Http)?;
    let keys = keys::KeySet::load(config.keys.clone(), http.clone()).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| BridgeError::Bind {
            addr: config.listen,
            source: e,
        })?;
    let addr = listener.local_addr().map_err(BridgeError::Serve)?;

    let metrics = metrics::Metrics::new();
    let wake = Arc::new(Notify::new());
    let waiters = waiters::Waiters::default();
    let receiver = Arc::new(Receiver {
        verifier: verify::Verifier::new(keys, config.issuer, config.audience, config.skew),
        inbox: inbox.clone(),
        subjects,
        metrics: metrics.clone(),
        wake: wake.clone(),
        waiters: waiters.clone(),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let worker = tokio::spawn(
        worker::Worker {
            inbox,
            engine: worker::Engine {
                client: config.slack,
                pacing: config.pacing,
                journal_dir,
            },
            metrics,
            wake,
            waiters,
        }
        .run(stop_rx.clone()),
    );
    let poller = config
        .poll
        .map(|cfg| tokio::spawn(poll::run(receiver.clone(), http, cfg, stop_rx)));

    let url = format!("http://{addr}/");
    let started = Started {
        push_url: format!("http://{addr}{}", http::PUSH_PATH),
        gtr_url: format!("http://{addr}{}", http::GTR_PATH),
        url,
        addr,
    };
    tracing::info!(url = %started.url, "bridge listening");
    on_ready(&started);

    let served = axum::serve(listener, http::router(receiver))
        .with_graceful_shutdown(shutdown)
        .await;
    // Requests in flight are answered; now stop polling and let the worker finish its round.
    let _ = stop_tx.send(true);
    if let Some(p) = poller {
        let _ = p.await;
    }
    let _ = worker.await;
    served.map_err(BridgeError::Serve)
}
