//! A local web console for Slack session administration, over any Slack-compatible Web API
//! (slack.com, or `slack-sessions serve`): find people, see their devices, sign out one device
//! or all of a kind, edit session settings, revoke by selection, read the audit log.
//!
//! The console holds the admin's token and never sends it to the browser. It listens on
//! loopback only; the browser signs in by opening the one-time URL [`Console::login_url`]
//! (see [`security`](crate) rules in `security.rs`). Pages are rendered on the server (maud);
//! the one embedded script only confirms destructive actions in a dialog and shows live
//! progress, and the server asks for confirmation itself when it is off.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use sessions_console::{Console, ConsoleConfig};
//! let client = sessions_client::Client::builder("xoxp-...")
//!     .base_url("http://127.0.0.1:8080/api/")
//!     .build()?;
//! let listener = sessions_console::bind("127.0.0.1:0".parse()?).await?;
//! let console = Console::new(ConsoleConfig::new(client, "console-data"), listener.local_addr()?)?;
//! println!("Console URL: {}", console.login_url());
//! sessions_console::serve(listener, console, std::future::pending()).await?;
//! # Ok(()) }
//! ```

mod assets;
mod audit;
mod confirm;
mod layout;
mod people;
mod person;
mod revoke;
mod security;
mod slack_error;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use sessions_client::Client;
use tokio::net::TcpListener;

pub use security::{COOKIE, CSP};

/// Largest upload (a users file) Preview accepts.
const UPLOAD_LIMIT: usize = 32 << 20;

/// Why the console could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `--listen` named an address other than loopback.
    #[error(
        "the console listens on loopback only (127.0.0.1, ::1); {0} is not a loopback address"
    )]
    NotLoopback(SocketAddr),
    /// The data directory (run journals) cannot be used.
    #[error("cannot use the data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Binding or serving failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What the console needs.
#[derive(Debug)]
#[non_exhaustive]
pub struct ConsoleConfig {
    /// The API client, with the admin's token.
    pub client: Client,
    /// Where run journals are kept (created if missing).
    pub data_dir: PathBuf,
    /// Pace of revocation runs (default: each method's Slack tier).
    pub pacing: sessions_revoke::Pacing,
}

impl ConsoleConfig {
    /// A config for `client`, keeping its files in `data_dir`.
    pub fn new(client: Client, data_dir: impl Into<PathBuf>) -> Self {
        ConsoleConfig {
            client,
            data_dir: data_dir.into(),
            pacing: sessions_revoke::Pacing::tier(),
        }
    }

    /// Paces revocation runs at `pacing` instead of Slack's tiers.
    pub fn pacing(mut self, pacing: sessions_revoke::Pacing) -> Self {
        self.pacing = pacing;
        self
    }
}

/// Shared by every handler.
#[derive(Debug)]
pub(crate) struct AppState {
    pub client: Client,
    pub auth: security::Auth,
    pub users: people::UserCache,
    pub revoke: revoke::Revocations,
}

/// A console ready to serve.
#[derive(Debug, Clone)]
pub struct Console {
    state: Arc<AppState>,
    login_url: String,
}

impl Console {
    /// A console answering at `addr` (the listener's address: pages answer only to requests
    /// whose `Host` names it). Generates the one-time login secret.
    pub fn new(config: ConsoleConfig, addr: SocketAddr) -> Result<Self, Error> {
        if !addr.ip().is_loopback() {
            return Err(Error::NotLoopback(addr));
        }
        std::fs::create_dir_all(&config.data_dir).map_err(|source| Error::DataDir {
            path: config.data_dir.clone(),
            source,
        })?;
        let secret = security::random_token();
        let login_url = format!("http://{addr}/login?secret={secret}");
        let state = Arc::new(AppState {
            client: config.client,
            auth: security::Auth::new(addr, secret),
            users: people::UserCache::default(),
            revoke: revoke::Revocations::new(config.data_dir, config.pacing),
        });
        Ok(Console { state, login_url })
    }

    /// The URL that signs a browser in, once.
    pub fn login_url(&self) -> &str {
        &self.login_url
    }

    /// The console's routes, with its login, CSRF and header rules.
    pub fn router(&self) -> Router {
        let state = self.state.clone();
        Router::new()
            .route(
                "/",
                get(|| async { axum::response::Redirect::to("/people") }),
            )
            .route("/login", get(security::login))
            .route("/assets/console.css", get(assets::css))
            .route("/assets/console.js", get(assets::js))
            .route("/assets/icon.svg", get(assets::icon))
            .route("/people", get(people::search))
            .route("/people/{user}", get(person::page))
            .route(
                "/people/{user}/sessions/{session}/sign-out",
                post(person::sign_out_session),
            )
            .route("/people/{user}/sign-out", post(person::sign_out))
            .route("/people/{user}/settings", post(person::set_settings))
            .route(
                "/people/{user}/settings/clear",
                post(person::clear_settings),
            )
            .route("/revoke", get(revoke::page))
            .route(
                "/revoke/preview",
                post(revoke::preview).layer(axum::extract::DefaultBodyLimit::max(UPLOAD_LIMIT)),
            )
            .route("/revoke/run", post(revoke::start_run))
            .route("/revoke/runs/{id}", get(revoke::run_page))
            .route("/revoke/runs/{id}/progress.json", get(revoke::progress))
            .route("/revoke/runs/{id}/report.csv", get(revoke::report))
            .route("/revoke/runs/{id}/resume", post(revoke::resume))
            .route("/audit", get(audit::page))
            .fallback(not_found)
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                security::guard,
            ))
            .layer(axum::middleware::from_fn(security::headers))
            .with_state(state)
    }
}

async fn not_found(ctx: security::Ctx) -> axum::response::Response {
    use axum::response::IntoResponse;
    let body = maud::html! {
        h1 { "Not found" }
        p { "There is no such page. " a href="/people" { "Find a person" } "." }
    };
    (
        axum::http::StatusCode::NOT_FOUND,
        layout::page("Not found", layout::Nav::People, &ctx.flash, body),
    )
        .into_response()
}

/// Binds `addr`, refusing anything but loopback.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, Error> {
    if !addr.ip().is_loopback() {
        return Err(Error::NotLoopback(addr));
    }
    Ok(TcpListener::bind(addr).await?)
}

/// Serves `console` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    console: Console,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    axum::serve(listener, console.router())
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
