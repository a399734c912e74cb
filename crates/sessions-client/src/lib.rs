//! Typed async client for Slack's `admin.users.session.*` Web API methods, `auth.test`,
//! `auth.revoke` and the `users.*` look-ups (`users_lookup_by_email`, `users_info`,
//! `users_list_pages` / `users_list_all`).
//!
//! Arguments are validated before anything is sent; requests go out as Slack expects them
//! (`POST <base>/<method>`, form-encoded, bearer token in the header only); 429s are waited
//! out and retried, reads are retried after 5xx/timeouts; `list` pages are a lazy stream.
//!
//! ```
//! use sessions_client::{Client, Error, ListRequest, InvalidateRequest, RetryPolicy};
//! use std::time::Duration;
//!
//! # fn main() -> Result<(), Error> {
//! let client = Client::builder("xoxp-example")
//!     .base_url("http://127.0.0.1:8080/api") // a local emulator; trailing `/` optional
//!     .timeout(Duration::from_secs(5))
//!     .retry(RetryPolicy { max_attempts: 3, ..RetryPolicy::default() })
//!     .build()?;
//! assert_eq!(client.base_url(), "http://127.0.0.1:8080/api/");
//! assert!(!format!("{client:?}").contains("xoxp-example"));
//!
//! // Bad arguments fail before any I/O, in the Ruby SDK's wording.
//! let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//! let err = rt
//!     .block_on(client.admin_users_session_invalidate(InvalidateRequest::default()))
//!     .unwrap_err();
//! assert_eq!(err.to_string(), "Required arguments :session_id missing");
//! let err = rt.block_on(client.admin_users_session_list(ListRequest::org().limit(0))).unwrap_err();
//! assert!(err.to_string().contains("limit"));
//! # Ok(()) }
//! ```
//!
//! Against slack.com (needs a real admin user token):
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use sessions_client::{Client, ListRequest};
//!
//! # async fn run() -> Result<(), sessions_client::Error> {
//! let client = Client::from_env()?; // SLACK_TOKEN, optional SLACK_API_URL
//! let who = client.auth_test().await?;
//! println!("{} on {}", who.user_id, who.team);
//! let sessions: Vec<_> =
//!     client.admin_users_session_list_all(ListRequest::org().limit(1000)).try_collect().await?;
//! println!("{} active sessions", sessions.len());
//! # Ok(()) }
//! ```
//!
//! Choices where Slack's documentation is silent:
//! * `Retry-After` is read as whole seconds; absent or unparsable means
//!   [`RetryPolicy::default_retry_after`] (1 s).
//! * 5xx/timeout/transport retries use exponential backoff without jitter, only for
//!   `RETRY_SAFE` methods unless [`RetryPolicy::retry_unsafe`].
//! * Redirects are not followed: a 3xx is [`Error::Http`].
//! * An empty token is refused ([`Error::Config`]) rather than sent.
//! * [`Error::Http`] keeps at most [`HTTP_BODY_KEEP`] bytes of the body.
//! * The audit log (`Client::audit_logs`, `audit_logs_pages`, `audit_logs_all`) is read with
//!   `GET` next to the API root (`http://host/api/` → `http://host/audit/v1/logs`; Slack's
//!   `https://api.slack.com/audit/v1/logs` for the default base), or at
//!   [`ClientBuilder::audit_url`]. Its [`Method`] ([`AuditLogs`]) says so, and it goes through
//!   the same validate/send/retry/decode pipeline as every Web API method: retried like a
//!   read, reported to [`ClientBuilder::on_retry`], never throttled (the proactive throttle
//!   follows the Web API's tiers).

mod client;
mod decode;
mod error;
mod paging;
mod retry;
mod scan;
pub mod throttle;

pub use client::{
    audit_url_for, Client, ClientBuilder, WithHttpInfo, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_TIMEOUT,
};
pub use error::{Error, HTTP_BODY_KEEP};
pub use retry::{
    counts_toward_budget, decide, parse_retry_after, Decision, Outcome, RetryHook, RetryPolicy,
    Sleeper, TokioSleeper,
};
pub use scan::{DeviceRef, SessionPage, SessionRef};
pub use sessions_wire::*;
