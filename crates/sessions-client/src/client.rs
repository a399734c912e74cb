//! The client and its builder: the connection pool, token, retry policy, throttle and
//! endpoints every call shares. The calls themselves go through [`pipeline`]; the typed
//! methods are in [`sessions`], [`users`] and [`audit`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::header::HeaderValue;
use http::{HeaderMap, StatusCode};
use sessions_wire::Envelope;

use crate::error::Error;
use crate::retry::{RetryHook, RetryPolicy, Sleeper, TokioSleeper};
use crate::throttle::{token_key, Throttle};

/// A method's typed call and its `_with_http_info` twin, both named after it.
macro_rules! typed {
    ($($name:literal $($what:literal)?: $call:ident, $with_info:ident, $m:ty, $req:ty => $resp:ty;)*) => {
        impl $crate::Client {$(
            #[doc = concat!("`", $name, "`", $($what,)? ".")]
            pub async fn $call(&self, req: $req) -> Result<$resp, $crate::Error> {
                self.call::<$m>(&req).await
            }

            #[doc = concat!("`", $name, "` with HTTP details.")]
            pub async fn $with_info(
                &self,
                req: $req,
            ) -> Result<$crate::WithHttpInfo<$resp>, $crate::Error> {
                self.call_with_http_info::<$m>(&req).await
            }
        )*}
    };
}

mod audit;
mod pipeline;
mod sessions;
mod urls;
mod users;
pub use urls::audit_url_for;
use urls::normalize_base;

/// Slack's production Web API.
pub const DEFAULT_BASE_URL: &str = "https://slack.com/api/";
/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default whole-request timeout (send + wait + read body).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

const FORM: HeaderValue = HeaderValue::from_static("application/x-www-form-urlencoded");
const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// A decoded payload plus what came with it on the wire.
#[derive(Debug, Clone)]
pub struct WithHttpInfo<T> {
    /// The method's payload.
    pub data: T,
    /// HTTP status (200 for any Slack answer that got this far).
    pub status: StatusCode,
    /// Response headers (`x-slack-req-id`, `x-oauth-scopes`, ...).
    pub headers: HeaderMap,
    /// `ok`, `warning`, `response_metadata` etc.
    pub envelope: Envelope,
}

/// The bearer token, kept ready as a header value. Never printed.
#[derive(Clone)]
struct Auth {
    /// `Authorization: Bearer …` (marked sensitive), or why the token is unusable.
    header: Result<HeaderValue, String>,
    /// Throttle bucket key: a hash, so the throttle never holds the token.
    key: u64,
}

impl Auth {
    fn new(token: String) -> Auth {
        let key = token_key(&token);
        let header = if token.trim().is_empty() {
            Err("the token is empty".to_owned())
        } else {
            match HeaderValue::from_str(&format!("Bearer {token}")) {
                Ok(mut v) => {
                    v.set_sensitive(true);
                    Ok(v)
                }
                Err(_) => Err("the token contains characters not allowed in a header".to_owned()),
            }
        };
        Auth { header, key }
    }
}

struct Inner {
    http: reqwest::Client,
    /// Always ends with `/`.
    base: String,
    retry: RetryPolicy,
    sleeper: Arc<dyn Sleeper>,
    throttle: Option<Throttle>,
    /// `GET` endpoint of the audit log (see [`ClientBuilder::audit_url`]).
    audit: String,
    /// Told of every retry before its wait (see [`ClientBuilder::on_retry`]).
    on_retry: Option<RetryHook>,
    /// Large response bodies are read into these; scan pages give theirs back.
    bodies: Arc<crate::scan::pool::BodyPool>,
}

/// A typed async client for `admin.users.session.*` and `auth.test`.
///
/// Cheap to clone: clones share the connection pool, retry policy and throttle buckets.
/// `Debug` never shows the token.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    auth: Auth,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base)
            .field("token", &"<redacted>")
            .field("retry", &self.inner.retry)
            .field("throttle", &self.inner.throttle.is_some())
            .finish()
    }
}

/// Configures a [`Client`].
pub struct ClientBuilder {
    token: String,
    base_url: String,
    connect_timeout: Duration,
    timeout: Duration,
    retry: RetryPolicy,
    user_agent: String,
    throttle: bool,
    sleeper: Arc<dyn Sleeper>,
    audit_url: Option<String>,
    on_retry: Option<RetryHook>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("token", &"<redacted>")
            .field("base_url", &self.base_url)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("user_agent", &self.user_agent)
            .field("throttle", &self.throttle)
            .field("sleeper", &self.sleeper)
            .field("audit_url", &self.audit_url)
            .field("on_retry", &self.on_retry.is_some())
            .finish()
    }
}

impl ClientBuilder {
    fn new(token: String) -> Self {
        ClientBuilder {
            token,
            base_url: DEFAULT_BASE_URL.to_owned(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            user_agent: concat!("slack-sessions/", env!("CARGO_PKG_VERSION")).to_owned(),
            throttle: false,
            sleeper: Arc::new(TokioSleeper),
            audit_url: None,
            on_retry: None,
        }
    }

    /// Calls `hook(method, outcome, wait)` before each retry's wait: a 429 with its
    /// `Retry-After`, or a 5xx/timeout/transport failure with its backoff. For accounting and
    /// progress displays (the revocation engine counts the 429s it waited out); it cannot
    /// change the decision.
    pub fn on_retry(mut self, hook: RetryHook) -> Self {
        self.on_retry = Some(hook);
        self
    }

    /// The audit log endpoint (`GET`), when it is not where [`audit_url_for`] puts it.
    pub fn audit_url(mut self, url: impl AsRef<str>) -> Self {
        self.audit_url = Some(url.as_ref().to_owned());
        self
    }

    /// API root; methods are posted to `<base>/<method>`. A trailing `/` is optional.
    pub fn base_url(mut self, url: impl AsRef<str>) -> Self {
        self.base_url = url.as_ref().to_owned();
        self
    }

    /// Time allowed to open a connection.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Time allowed for one attempt, from sending to the end of the body.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// Retry policy ([`RetryPolicy::disabled`] to never retry).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// `User-Agent` header.
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// Proactive per-tier throttling (see [`crate::throttle`]); off by default.
    pub fn throttle(mut self, on: bool) -> Self {
        self.throttle = on;
        self
    }

    /// How retries and throttling wait; tests inject a recorder.
    pub fn sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// Builds the client. Fails on an empty or non-header-safe token or a bad base URL.
    pub fn build(self) -> Result<Client, Error> {
        let auth = Auth::new(self.token);
        if let Err(why) = &auth.header {
            return Err(Error::Config(why.clone()));
        }
        let base = normalize_base(&self.base_url)?;
        let audit = match &self.audit_url {
            Some(u) => urls::check_url(u)?,
            None => audit_url_for(&base),
        };
        let http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .user_agent(self.user_agent)
            // Slack's Web API never redirects; following one would turn the POST into a GET
            // (dropping the arguments) or carry the call somewhere unexpected. A 3xx is
            // returned as `Error::Http` instead.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Config(format!("cannot build HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                retry: self.retry,
                sleeper: self.sleeper,
                throttle: self.throttle.then(Throttle::default),
                audit,
                on_retry: self.on_retry,
                bodies: Arc::default(),
            }),
            auth,
        })
    }
}

impl Client {
    /// A client for `https://slack.com/api/` with default settings.
    pub fn new(token: impl Into<String>) -> Result<Client, Error> {
        Client::builder(token).build()
    }

    /// Starts configuring a client.
    pub fn builder(token: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(token.into())
    }

    /// From `SLACK_TOKEN` (required) and `SLACK_API_URL` (optional base URL).
    pub fn from_env() -> Result<Client, Error> {
        let token = std::env::var("SLACK_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| Error::Config("SLACK_TOKEN is not set".to_owned()))?;
        let mut b = Client::builder(token);
        if let Some(url) = std::env::var("SLACK_API_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
        {
            b = b.base_url(url);
        }
        b.build()
    }

    /// The same client (pool, policy, throttle) calling with another token. An unusable token
    /// (empty, or with control characters) makes every call fail with [`Error::Config`]
    /// before anything is sent.
    pub fn with_token(&self, token: impl Into<String>) -> Client {
        Client {
            inner: Arc::clone(&self.inner),
            auth: Auth::new(token.into()),
        }
    }

    /// The API root methods are appended to (ends with `/`).
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_tokens_are_config_errors() {
        assert!(matches!(Client::new(""), Err(Error::Config(_))));
        assert!(matches!(Client::new("xoxp-1\n2"), Err(Error::Config(_))));
    }
}
