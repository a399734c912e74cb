//! Emulator controls for the slack-sessions server: Slack-style rate limits, fault injection, a
//! request log and an adjustable clock, as one [`tower::Layer`] for the `/api/<method>` routes
//! and one JSON control router.
//!
//! ```
//! use axum::{routing::post, Router};
//! use sessions_emulator::{Emulator, EmulatorConfig, RateLimitMode};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let emulator = Emulator::new(EmulatorConfig {
//!     rate_limits: RateLimitMode::Slack,
//!     seed: 42,
//!     ..EmulatorConfig::default()
//! })
//! .unwrap()
//! // Who is calling, for rate limits. The server returns its token hash; this sketch keys on
//! // a header (the default, hashing `Authorization`, would do as well).
//! .with_key_fn(|parts| Some(parts.headers.get("x-caller")?.to_str().ok()?.to_owned()));
//!
//! let clock = emulator.clock(); // the server keeps time with this
//! let app: Router = Router::new()
//!     .route("/api/{method}", post(|| async { r#"{"ok":true}"# }))
//!     .route_layer(sessions_emulator::layer(emulator.clone()))
//!     .nest("/control/emulator", emulator.control_router());
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//! let addr = listener.local_addr().unwrap();
//! tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
//!
//! // Make the next auth.test fail, call it, and find the call in the request log.
//! let http = reqwest::Client::new();
//! let base = format!("http://{addr}");
//! http.post(format!("{base}/control/emulator/faults"))
//!     .body(r#"{"method":"auth.test","action":"error","error":"invalid_auth","times":1}"#)
//!     .send().await.unwrap();
//! let answer = http.post(format!("{base}/api/auth.test"))
//!     .body("token=xoxp-secret").send().await.unwrap().text().await.unwrap();
//! assert_eq!(answer, r#"{"ok":false,"error":"invalid_auth"}"#);
//! let log = emulator.log().list(&Default::default());
//! assert_eq!(log[0].answer, "invalid_auth");
//! assert_eq!(log[0].args["token"], "[redacted]");
//!
//! // Move time forward an hour, for the server and the rate limiter alike.
//! let before = clock.now_unix();
//! emulator.clock().advance(3600);
//! assert!(clock.now_unix() >= before + 3600);
//! # }
//! ```
//!
//! Everything is off unless asked for: rate limits default to [`RateLimitMode::Off`], there are
//! no fault rules, and the clock has no offset. Only the request log records by default.
//!
//! Integration in the server, in short:
//! - apply [`layer`] to the `/api/{method}` route only (`route_layer`), so control and other
//!   routes are not limited or logged;
//! - nest [`Emulator::control_router`] under `/control/emulator` behind the control token;
//! - keep time with [`Emulator::clock`] (or hand the server's own [`Clock`] to
//!   [`Emulator::with_clock`]);
//! - supply [`Emulator::with_key_fn`] returning the caller's token hash, so buckets follow
//!   tokens however they are sent.

mod clock;
mod control;
mod faults;
mod layer;
mod log;
mod ratelimit;

use std::path::PathBuf;
use std::sync::Arc;

pub use clock::{rfc3339, Clock};
pub use faults::{
    FaultAction, FaultRule, FaultSpec, Faults, Strike, Trigger, MAX_DELAY_MS, MAX_RULES,
};
pub use layer::{
    dropped_connection, layer, EmulatorLayer, EmulatorService, KeyFn, BODY_CAPTURE_LIMIT,
    FAULT_HEADER, RESPONSE_CAPTURE_LIMIT,
};
pub use log::{is_secret, redact, redact_text, LogQuery, RequestLog, RequestRecord, REDACTED};
pub use ratelimit::{
    ratelimited_response, tier_of, Limit, RateLimitMode, RateLimitSettings, RateLimiter,
};

/// Errors from setting up or reconfiguring the emulator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A rate-limit file is not valid.
    #[error("invalid rate-limit file {path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A setting or rule is not valid; the message says which and why.
    #[error("{0}")]
    Invalid(String),
}

/// How to start the emulator. Its command-line flags (`serve --rate-limits`,
/// `--rate-limit-file`, `--fault-seed`) are declared here, once, with the defaults of
/// [`Default`]; the server flattens them into its settings.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct EmulatorConfig {
    /// Rate limits: `off`, or `slack` to enforce each method's Slack tier per token and method
    /// (Tier 2: 20/min, Tier 3: 50/min, Tier 4: 100/min, whole-minute bursts), answering HTTP
    /// 429 with Retry-After and `ratelimited`. Changeable at runtime: PUT
    /// /control/emulator/rate-limits.
    #[arg(
        long,
        value_enum,
        value_name = "MODE",
        default_value_t = EmulatorConfig::default().rate_limits
    )]
    pub rate_limits: RateLimitMode,
    /// JSON file of per-method limits, e.g. `{"admin.users.session.list": {"per_minute": 5,
    /// "burst": 1}}` (or `{"mode": "slack", "overrides": {...}}`). With `--rate-limits off`
    /// only the methods in the file are limited. A bad file stops the start.
    // A bare map while `rate_limits` is `Off` switches to `RateLimitMode::Custom`: giving a
    // file means wanting its limits.
    #[arg(long, value_name = "FILE")]
    pub rate_limit_file: Option<PathBuf>,
    /// Seed of probabilistic fault injection (POST /control/emulator/faults with
    /// `probability`): the same seed and the same calls give the same faults, run after run.
    #[arg(
        long = "fault-seed",
        value_name = "N",
        default_value_t = EmulatorConfig::default().seed
    )]
    pub seed: u64,
    /// Calls kept in the request log.
    #[arg(skip = EmulatorConfig::default().log_capacity)]
    pub log_capacity: usize,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            rate_limits: RateLimitMode::Off,
            rate_limit_file: None,
            seed: 0,
            log_capacity: 1000,
        }
    }
}

/// The emulator: rate limiter, fault rules, request log and clock. Cloning is cheap and every
/// clone shares the same state.
#[derive(Clone)]
pub struct Emulator {
    limiter: RateLimiter,
    faults: Faults,
    log: RequestLog,
    clock: Clock,
    key_fn: KeyFn,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("limiter", &self.limiter)
            .field("faults", &self.faults)
            .field("log_len", &self.log.len())
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl Default for Emulator {
    fn default() -> Self {
        Emulator::from_parts(RateLimiter::default(), EmulatorConfig::default())
    }
}

impl Emulator {
    /// Builds the emulator, reading the rate-limit file if one is given.
    pub fn new(config: EmulatorConfig) -> Result<Emulator, EmulatorError> {
        let mut settings = RateLimitSettings {
            mode: config.rate_limits,
            ..Default::default()
        };
        if let Some(path) = &config.rate_limit_file {
            let (mode, overrides) = RateLimitSettings::from_file(path)?;
            settings.mode = match (mode, config.rate_limits) {
                (Some(m), _) => m,
                (None, RateLimitMode::Off) => RateLimitMode::Custom,
                (None, m) => m,
            };
            settings.overrides = overrides;
        }
        Ok(Emulator::from_parts(RateLimiter::new(settings)?, config))
    }

    fn from_parts(limiter: RateLimiter, config: EmulatorConfig) -> Emulator {
        Emulator {
            limiter,
            faults: Faults::new(config.seed),
            log: RequestLog::new(config.log_capacity),
            clock: Clock::system(),
            key_fn: Arc::new(layer::default_key),
        }
    }

    /// Uses `f` to tell callers apart for rate limits (e.g. returning the token's hash hex).
    /// When it returns `None`, a `token` argument in the query or body is hashed instead, and
    /// without one every such call shares one anonymous bucket. The default hashes the
    /// `Authorization` header (never kept in clear) with the same hash as a `token` argument,
    /// so one token is one caller however it is sent; a server key function that reads only the
    /// header loses that for callers who mix both ways.
    pub fn with_key_fn<F>(mut self, f: F) -> Emulator
    where
        F: Fn(&http::request::Parts) -> Option<String> + Send + Sync + 'static,
    {
        self.key_fn = Arc::new(f);
        self
    }

    /// Shares an existing clock instead of the emulator's own.
    pub fn with_clock(mut self, clock: Clock) -> Emulator {
        self.clock = clock;
        self
    }

    /// The clock (a handle sharing the emulator's offset).
    pub fn clock(&self) -> Clock {
        self.clock.clone()
    }

    /// The rate limiter.
    pub fn limiter(&self) -> &RateLimiter {
        &self.limiter
    }

    /// The fault rules.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The request log.
    pub fn log(&self) -> &RequestLog {
        &self.log
    }

    /// The middleware for `/api/<method>` routes (same as [`layer`]).
    pub fn layer(&self) -> EmulatorLayer {
        layer(self.clone())
    }

    /// The JSON control API (see `docs/emulator.md`), to nest under `/control/emulator`. It
    /// does no authentication of its own: the server guards it. Generic over the outer
    /// router's state so it nests anywhere.
    pub fn control_router<S: Clone + Send + Sync + 'static>(&self) -> axum::Router<S> {
        control::router(self.clone())
    }
}
