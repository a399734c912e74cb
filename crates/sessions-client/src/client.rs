//! The client, its builder, and the per-call send/retry/decode loop.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::Stream;
use http::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, StatusCode};
use sessions_wire::{
    ActiveSession, AuthTest, AuthTestRequest, AuthTestResponse, ClearSettingsRequest, Empty,
    Envelope, GetSettingsRequest, GetSettingsResponse, InvalidateRequest, ListRequest,
    ListResponse, Method, Request, ResetBulkRequest, ResetRequest, SessionClearSettings,
    SessionGetSettings, SessionInvalidate, SessionList, SessionReset, SessionResetBulk,
    SessionSetSettings, SetSettingsRequest,
};
use tracing::Instrument;

use crate::decode::decode_body;
use crate::error::{truncate_body, Error};
use crate::retry::{
    counts_toward_budget, decide, parse_retry_after, Decision, Outcome, RetryHook, RetryPolicy,
    Sleeper, TokioSleeper,
};
use crate::scan::SessionPage;
use crate::throttle::{token_key, Throttle};

mod audit;
mod users;
pub use audit::audit_url_for;

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
            Some(u) => audit::check_url(u)?,
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
            }),
            auth,
        })
    }
}

fn normalize_base(raw: &str) -> Result<String, Error> {
    let trimmed = raw.trim();
    let url = url::Url::parse(trimmed)
        .map_err(|e| Error::Config(format!("invalid base URL {trimmed:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(Error::Config(format!(
            "base URL must be http(s): {trimmed:?}"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::Config(format!(
            "base URL must not have a query: {trimmed:?}"
        )));
    }
    let mut s = String::from(url);
    if !s.ends_with('/') {
        s.push('/');
    }
    Ok(s)
}

/// One failed attempt: what retrying needs to know, and the error to return if it gives up.
struct Failure {
    outcome: Option<Outcome>,
    error: Error,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure {
            outcome: None,
            error,
        }
    }
}

fn transport(e: reqwest::Error) -> Failure {
    if e.is_timeout() {
        Failure {
            outcome: Some(Outcome::Timeout),
            error: Error::Timeout,
        }
    } else {
        Failure {
            outcome: Some(Outcome::Transport),
            error: Error::Transport(e),
        }
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

    /// Calls method `M`: validates, sends, retries per policy, decodes.
    pub async fn call<M: Method>(&self, req: &M::Request) -> Result<M::Response, Error> {
        self.call_with_http_info::<M>(req).await.map(|r| r.data)
    }

    /// Like [`Client::call`], also returning status, headers and envelope.
    pub async fn call_with_http_info<M: Method>(
        &self,
        req: &M::Request,
    ) -> Result<WithHttpInfo<M::Response>, Error> {
        self.call_decoded::<M, _>(req, Self::finish::<M>).await
    }

    /// Like [`Client::call_with_http_info`], decoding a successful (2xx) body with `decode`
    /// instead of the method's response type.
    async fn call_decoded<M: Method, T>(
        &self,
        req: &M::Request,
        decode: fn(StatusCode, HeaderMap, Bytes) -> Result<T, Error>,
    ) -> Result<T, Error> {
        req.validate()?;
        let auth = self.auth.header.clone().map_err(Error::Config)?;
        let body = Bytes::from(
            serde_urlencoded::to_string(req.to_form())
                .map_err(|e| Error::Config(format!("cannot encode form: {e}")))?,
        );
        let span = tracing::debug_span!(
            "slack.call",
            method = M::NAME,
            attempt = tracing::field::Empty
        );
        self.run::<M, T>(auth, body, decode).instrument(span).await
    }

    async fn run<M: Method, T>(
        &self,
        auth: HeaderValue,
        body: Bytes,
        decode: fn(StatusCode, HeaderMap, Bytes) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let inner = &*self.inner;
        let url = format!("{}{}", inner.base, M::NAME);
        let mut waited = Duration::ZERO;
        let mut attempt: u32 = 0;
        let mut tries: u32 = 0;
        loop {
            // `attempt` counts attempts within the policy's budget; `tries` every request sent.
            attempt += 1;
            tries += 1;
            tracing::Span::current().record("attempt", tries);
            if let Some(t) = &inner.throttle {
                let wait = t.reserve(self.auth.key, M::NAME, M::TIER.per_minute());
                if !wait.is_zero() {
                    tracing::debug!(wait_ms = wait.as_millis() as u64, "throttling");
                    inner.sleeper.sleep(wait).await;
                }
            }
            let failure = match self.attempt::<T>(&url, &auth, body.clone(), decode).await {
                Ok(done) => return done,
                Err(f) => f,
            };
            let Some(outcome) = failure.outcome else {
                return Err(failure.error);
            };
            match decide(&inner.retry, M::RETRY_SAFE, attempt, waited, &outcome) {
                Decision::Retry { after } => {
                    tracing::debug!(?outcome, wait_ms = after.as_millis() as u64, "retrying");
                    if counts_toward_budget(&inner.retry, &outcome) {
                        waited += after;
                    } else {
                        attempt -= 1;
                    }
                    if let Some(hook) = &inner.on_retry {
                        hook(M::NAME, &outcome, after);
                    }
                    inner.sleeper.sleep(after).await;
                }
                Decision::GiveUp => return Err(failure.error),
            }
        }
    }

    /// One HTTP exchange. `Ok` is final (success, or an error no retry can fix).
    async fn attempt<T>(
        &self,
        url: &str,
        auth: &HeaderValue,
        body: Bytes,
        decode: fn(StatusCode, HeaderMap, Bytes) -> Result<T, Error>,
    ) -> Result<Result<T, Error>, Failure> {
        let resp = self
            .inner
            .http
            .post(url)
            .header(AUTHORIZATION, auth.clone())
            .header(CONTENT_TYPE, FORM)
            .header(ACCEPT, JSON)
            .body(body)
            .send()
            .await
            .map_err(transport)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.map_err(transport)?;
        tracing::debug!(status = status.as_u16(), len = bytes.len(), "response");

        if status == StatusCode::TOO_MANY_REQUESTS {
            let retry_after = parse_retry_after(headers.get(http::header::RETRY_AFTER))
                .unwrap_or(self.inner.retry.default_retry_after);
            return Err(Failure {
                outcome: Some(Outcome::RateLimited { retry_after }),
                error: Error::RateLimited { retry_after },
            });
        }
        if status.is_server_error() {
            let retry_after = parse_retry_after(headers.get(http::header::RETRY_AFTER));
            return Err(Failure {
                outcome: Some(Outcome::ServerError {
                    status,
                    retry_after,
                }),
                error: Error::Http {
                    status,
                    body: truncate_body(&bytes),
                },
            });
        }
        if !status.is_success() {
            return Err(Error::Http {
                status,
                body: truncate_body(&bytes),
            }
            .into());
        }
        Ok(decode(status, headers, bytes))
    }

    /// The ordinary decode of a 2xx body: the method's payload, or its `ok:false` as an error.
    fn finish<M: Method>(
        status: StatusCode,
        headers: HeaderMap,
        bytes: Bytes,
    ) -> Result<WithHttpInfo<M::Response>, Error> {
        match decode_body::<M::Response>(&bytes)? {
            Ok((data, envelope)) => Ok(WithHttpInfo {
                data,
                status,
                headers,
                envelope,
            }),
            Err(envelope) => {
                let code = envelope
                    .error
                    .clone()
                    .unwrap_or_else(|| sessions_wire::ErrorCode::parse("unknown_error"));
                Err(Error::Api {
                    code,
                    warnings: envelope.warnings(),
                    messages: envelope.messages().to_vec(),
                    needed: envelope.needed,
                    provided: envelope.provided,
                })
            }
        }
    }

    // ------------------------------------------------------------------ typed methods

    /// `admin.users.session.list`: one page.
    pub async fn admin_users_session_list(&self, req: ListRequest) -> Result<ListResponse, Error> {
        self.call::<SessionList>(&req).await
    }

    /// `admin.users.session.list` with HTTP details.
    pub async fn admin_users_session_list_with_http_info(
        &self,
        req: ListRequest,
    ) -> Result<WithHttpInfo<ListResponse>, Error> {
        self.call_with_http_info::<SessionList>(&req).await
    }

    /// Every page of `admin.users.session.list`, lazily, following `next_cursor`.
    ///
    /// Starts from `req.cursor` if set. Ends after a page with no (or an empty) cursor, after
    /// a page whose cursor was already followed (a server looping would otherwise loop us),
    /// or right after yielding an error. 429s mid-way are waited out by the retry policy.
    pub fn admin_users_session_list_pages(
        &self,
        req: ListRequest,
    ) -> impl Stream<Item = Result<ListResponse, Error>> + Send + 'static {
        let client = self.clone();
        crate::paging::pages(
            req,
            |r: &mut ListRequest| &mut r.cursor,
            ListResponse::next_cursor,
            move |r| {
                let client = client.clone();
                async move { client.admin_users_session_list(r).await }
            },
        )
    }

    /// Every session on every page (see [`Client::admin_users_session_list_pages`]).
    pub fn admin_users_session_list_all(
        &self,
        req: ListRequest,
    ) -> impl Stream<Item = Result<ActiveSession, Error>> + Send + 'static {
        crate::paging::items(self.admin_users_session_list_pages(req), |p| {
            p.active_sessions
        })
    }

    /// `admin.users.session.list`: one page, decoded compactly for scanning (see
    /// [`SessionPage`]). Same validation, retries and errors as
    /// [`Client::admin_users_session_list`].
    pub async fn admin_users_session_list_page(
        &self,
        req: ListRequest,
    ) -> Result<SessionPage, Error> {
        self.call_decoded::<SessionList, _>(&req, |status, headers, bytes| {
            match SessionPage::decode(bytes) {
                Ok(page) => Ok(page),
                // Not the usual success: the ordinary decoder says what it is.
                Err(bytes) => Self::finish::<SessionList>(status, headers, bytes)
                    .map(|r| SessionPage::from(r.data)),
            }
        })
        .await
    }

    /// Every page of `admin.users.session.list` as compact [`SessionPage`]s: the org scan.
    ///
    /// Lazy, one call per page polled, ending as [`Client::admin_users_session_list_pages`]
    /// does; a caller that paces its calls paces this by polling. Use `limit=1000` to scan an
    /// org in the fewest calls.
    pub fn admin_users_session_scan(
        &self,
        req: ListRequest,
    ) -> impl Stream<Item = Result<SessionPage, Error>> + Send + 'static {
        let client = self.clone();
        crate::paging::pages(
            req,
            |r: &mut ListRequest| &mut r.cursor,
            SessionPage::next_cursor,
            move |r| {
                let client = client.clone();
                async move { client.admin_users_session_list_page(r).await }
            },
        )
    }

    /// [`Client::admin_users_session_scan`], with the next page requested (and decoded) on a
    /// task of its own as soon as the previous one has arrived, while the caller works on
    /// that one: the scan then waits for the network only when it outruns the server. One
    /// request ahead at most, aborted when the stream is dropped; so one call may be made
    /// before the caller polls for it (not for callers that pace calls by polling).
    pub fn admin_users_session_scan_ahead(
        &self,
        req: ListRequest,
    ) -> impl Stream<Item = Result<SessionPage, Error>> + Send + 'static {
        let client = self.clone();
        crate::paging::pages_ahead(
            req,
            |r: &mut ListRequest| &mut r.cursor,
            SessionPage::next_cursor,
            move |r| {
                let client = client.clone();
                async move { client.admin_users_session_list_page(r).await }
            },
        )
    }

    /// `admin.users.session.invalidate`.
    pub async fn admin_users_session_invalidate(
        &self,
        req: InvalidateRequest,
    ) -> Result<Empty, Error> {
        self.call::<SessionInvalidate>(&req).await
    }

    /// `admin.users.session.invalidate` with HTTP details.
    pub async fn admin_users_session_invalidate_with_http_info(
        &self,
        req: InvalidateRequest,
    ) -> Result<WithHttpInfo<Empty>, Error> {
        self.call_with_http_info::<SessionInvalidate>(&req).await
    }

    /// `admin.users.session.reset`.
    pub async fn admin_users_session_reset(&self, req: ResetRequest) -> Result<Empty, Error> {
        self.call::<SessionReset>(&req).await
    }

    /// `admin.users.session.reset` with HTTP details.
    pub async fn admin_users_session_reset_with_http_info(
        &self,
        req: ResetRequest,
    ) -> Result<WithHttpInfo<Empty>, Error> {
        self.call_with_http_info::<SessionReset>(&req).await
    }

    /// `admin.users.session.resetBulk`.
    pub async fn admin_users_session_reset_bulk(
        &self,
        req: ResetBulkRequest,
    ) -> Result<Empty, Error> {
        self.call::<SessionResetBulk>(&req).await
    }

    /// `admin.users.session.resetBulk` with HTTP details.
    pub async fn admin_users_session_reset_bulk_with_http_info(
        &self,
        req: ResetBulkRequest,
    ) -> Result<WithHttpInfo<Empty>, Error> {
        self.call_with_http_info::<SessionResetBulk>(&req).await
    }

    /// `admin.users.session.getSettings`.
    pub async fn admin_users_session_get_settings(
        &self,
        req: GetSettingsRequest,
    ) -> Result<GetSettingsResponse, Error> {
        self.call::<SessionGetSettings>(&req).await
    }

    /// `admin.users.session.getSettings` with HTTP details.
    pub async fn admin_users_session_get_settings_with_http_info(
        &self,
        req: GetSettingsRequest,
    ) -> Result<WithHttpInfo<GetSettingsResponse>, Error> {
        self.call_with_http_info::<SessionGetSettings>(&req).await
    }

    /// `admin.users.session.setSettings`.
    pub async fn admin_users_session_set_settings(
        &self,
        req: SetSettingsRequest,
    ) -> Result<Empty, Error> {
        self.call::<SessionSetSettings>(&req).await
    }

    /// `admin.users.session.setSettings` with HTTP details.
    pub async fn admin_users_session_set_settings_with_http_info(
        &self,
        req: SetSettingsRequest,
    ) -> Result<WithHttpInfo<Empty>, Error> {
        self.call_with_http_info::<SessionSetSettings>(&req).await
    }

    /// `admin.users.session.clearSettings`.
    pub async fn admin_users_session_clear_settings(
        &self,
        req: ClearSettingsRequest,
    ) -> Result<Empty, Error> {
        self.call::<SessionClearSettings>(&req).await
    }

    /// `admin.users.session.clearSettings` with HTTP details.
    pub async fn admin_users_session_clear_settings_with_http_info(
        &self,
        req: ClearSettingsRequest,
    ) -> Result<WithHttpInfo<Empty>, Error> {
        self.call_with_http_info::<SessionClearSettings>(&req).await
    }

    /// `auth.test`: who the token belongs to.
    pub async fn auth_test(&self) -> Result<AuthTestResponse, Error> {
        self.call::<AuthTest>(&AuthTestRequest {}).await
    }

    /// `auth.test` with HTTP details (`x-oauth-scopes` lists the token's scopes).
    pub async fn auth_test_with_http_info(&self) -> Result<WithHttpInfo<AuthTestResponse>, Error> {
        self.call_with_http_info::<AuthTest>(&AuthTestRequest {})
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_is_normalized() {
        assert_eq!(
            normalize_base("http://127.0.0.1:9/api").unwrap(),
            "http://127.0.0.1:9/api/"
        );
        assert_eq!(
            normalize_base("http://127.0.0.1:9/api/").unwrap(),
            "http://127.0.0.1:9/api/"
        );
        assert_eq!(normalize_base("http://h").unwrap(), "http://h/");
        assert!(matches!(normalize_base("ftp://h/"), Err(Error::Config(_))));
        assert!(matches!(normalize_base("not a url"), Err(Error::Config(_))));
    }

    #[test]
    fn bad_tokens_are_config_errors() {
        assert!(matches!(Client::new(""), Err(Error::Config(_))));
        assert!(matches!(Client::new("xoxp-1\n2"), Err(Error::Config(_))));
    }
}
