//! The one request pipeline every method goes through: validate, encode the arguments
//! (form body for `POST`, query for `GET`), send to where the method's [`MethodPath`] says,
//! classify the answer, retry per policy and the method's `RETRY_SAFE`, decode.

use std::time::Duration;

use bytes::Bytes;
use futures::stream::Stream;
use http::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, StatusCode};
use sessions_wire::{Method, MethodPath, Paged, Request, Verb};
use tracing::Instrument;

use super::{Client, WithHttpInfo, FORM, JSON};
use crate::decode::decode_body;
use crate::error::{truncate_body, Error};
use crate::retry::{counts_toward_budget, decide, parse_retry_after, Decision, Outcome};

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
    /// Calls method `M`: validates, sends, retries per policy, decodes.
    pub async fn call<M: Method>(&self, req: &M::Request) -> Result<M::Response, Error> {
        self.call_with_http_info::<M>(req).await.map(|r| r.data)
    }

    /// Like [`Client::call`], also returning status, headers and envelope.
    pub async fn call_with_http_info<M: Method>(
        &self,
        req: &M::Request,
    ) -> Result<WithHttpInfo<M::Response>, Error> {
        self.call_decoded::<M, _>(req, BodyRead::Whole, Self::finish::<M>)
            .await
    }

    /// Like [`Client::call_with_http_info`], decoding a successful (2xx) body with `decode`
    /// instead of the method's response type.
    ///
    /// The one request pipeline: validate, encode the arguments where `M::VERB` puts them, send
    /// to `M::PATH`, retry per policy and `M::RETRY_SAFE`, decode.
    pub(super) async fn call_decoded<M: Method, T>(
        &self,
        req: &M::Request,
        read: BodyRead,
        decode: fn(StatusCode, HeaderMap, Bytes) -> Result<T, Error>,
    ) -> Result<T, Error> {
        req.validate()?;
        let auth = self.auth.header.clone().map_err(Error::Config)?;
        let args = serde_urlencoded::to_string(req.to_form())
            .map_err(|e| Error::Config(format!("cannot encode arguments: {e}")))?;
        let span = tracing::debug_span!(
            "slack.call",
            method = M::NAME,
            attempt = tracing::field::Empty
        );
        self.run::<M, T>(auth, args, read, decode)
            .instrument(span)
            .await
    }

    /// Where method `M` is sent, and the form body when it is posted (`None`: a `GET`, its
    /// arguments in the query).
    fn target<M: Method>(&self, args: String) -> (String, Option<Bytes>) {
        let inner = &*self.inner;
        let mut url = match M::PATH {
            MethodPath::WebApi(name) => format!("{}{name}", inner.base),
            MethodPath::Root(path) => inner.root_url(path),
        };
        match M::VERB {
            Verb::Get => {
                if !args.is_empty() {
                    url.push('?');
                    url.push_str(&args);
                }
                (url, None)
            }
            Verb::Post => (url, Some(Bytes::from(args))),
        }
    }

    async fn run<M: Method, T>(
        &self,
        auth: HeaderValue,
        args: String,
        read: BodyRead,
        decode: fn(StatusCode, HeaderMap, Bytes) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let inner = &*self.inner;
        let (url, body) = self.target::<M>(args);
        // Proactive throttling follows Slack's Web API tiers, which only Web API methods have.
        let throttle = match M::PATH {
            MethodPath::WebApi(_) => inner.throttle.as_ref(),
            MethodPath::Root(_) => None,
        };
        let mut waited = Duration::ZERO;
        let mut attempt: u32 = 0;
        let mut tries: u32 = 0;
        loop {
            // `attempt` counts attempts within the policy's budget; `tries` every request sent.
            attempt += 1;
            tries += 1;
            tracing::Span::current().record("attempt", tries);
            if let Some(t) = throttle {
                let wait = t.reserve(self.auth.key, M::NAME, M::TIER.per_minute());
                if !wait.is_zero() {
                    tracing::debug!(wait_ms = wait.as_millis() as u64, "throttling");
                    inner.sleeper.sleep(wait).await;
                }
            }
            let failure = match self
                .attempt::<T>(&url, &auth, body.clone(), read, decode)
                .await
            {
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

    /// One HTTP exchange: a form `POST` when there is a `body`, else a `GET`. `Ok` is final
    /// (success, or an error no retry can fix).
    async fn attempt<T>(
        &self,
        url: &str,
        auth: &HeaderValue,
        body: Option<Bytes>,
        read: BodyRead,
        decode: fn(StatusCode, HeaderMap, Bytes) -> Result<T, Error>,
    ) -> Result<Result<T, Error>, Failure> {
        let http = &self.inner.http;
        let request = match body {
            Some(body) => http
                .post(url)
                .header(AUTHORIZATION, auth.clone())
                .header(CONTENT_TYPE, FORM)
                .header(ACCEPT, JSON)
                .body(body),
            None => http
                .get(url)
                .header(AUTHORIZATION, auth.clone())
                .header(ACCEPT, JSON),
        };
        let resp = request.send().await.map_err(transport)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = match read {
            BodyRead::Whole => resp.bytes().await,
            BodyRead::Pooled => read_pooled(resp, &self.inner.bodies).await,
        }
        .map_err(transport)?;
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

    /// Every page of paged method `M`, lazily (see `Paging::pages`).
    pub(super) fn pages<M: Paged>(
        &self,
        req: M::Request,
    ) -> impl Stream<Item = Result<M::Response, Error>> + Send + 'static {
        let client = self.clone();
        crate::paging::Paging::new(req, M::cursor, M::next_cursor, move |r| {
            let client = client.clone();
            async move { client.call::<M>(&r).await }
        })
        .pages()
    }

    /// The ordinary decode of a 2xx body: the method's payload, or its `ok:false` as an error.
    pub(super) fn finish<M: Method>(
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
}

/// How a response body is read.
#[derive(Debug, Clone, Copy)]
pub(super) enum BodyRead {
    /// As hyper hands it over (`Response::bytes`: usually one chunk, kept without a copy).
    Whole,
    /// Copied chunk by chunk into a buffer from the client's pool, for scan pages, which give
    /// the buffer back when dropped (see `crate::scan::pool`).
    Pooled,
}

/// A response's body in one buffer, sized from `Content-Length` when there is one; a large
/// one in a buffer from `pool`.
///
/// Each chunk is copied out as it arrives and dropped, so hyper reads the next one into the
/// buffer it already has. Kept whole instead, each ~340 KB page of a scan held hyper's read
/// buffer and forced fresh allocations that glibc mapped and trimmed again: page faults and
/// `brk` were about a fifth of the org scan's CPU. The copy costs less than that; for a single
/// call it does not pay, so only scans read this way.
async fn read_pooled(
    mut resp: reqwest::Response,
    pool: &crate::scan::pool::BodyPool,
) -> reqwest::Result<Bytes> {
    // A declared length is only a hint (capped, so a lying header cannot reserve gigabytes).
    const MAX_HINT: u64 = 16 << 20;
    let hint = resp.content_length().unwrap_or(0).min(MAX_HINT) as usize;
    let mut body = if hint >= crate::scan::pool::MIN_POOLED {
        pool.take(hint)
    } else {
        Vec::with_capacity(hint)
    };
    while let Some(chunk) = resp.chunk().await? {
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}
