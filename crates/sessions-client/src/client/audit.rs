//! The audit log (`GET /audit/v1/logs`, in the shape of Slack's Audit Logs API): one page,
//! or every page as a lazy stream.
//!
//! It is not one of the `admin.users.session.*` methods: it lives outside the Web API root,
//! is read with `GET` and the arguments in the query, and needs the `auditlogs:read` scope.
//! Calls are validated first, 429s are waited out and 5xx/timeouts retried (it is a read), as
//! for the Web API methods; proactive throttling does not apply to it.

use futures::stream::Stream;
use http::header::{ACCEPT, AUTHORIZATION};
use sessions_wire::audit::{AuditLogEntry, AuditLogsRequest, AuditLogsResponse, AUDIT_LOGS_PATH};
use sessions_wire::Request;

use super::{decode_body, transport, truncate_body, Client, Failure, JSON};
use crate::error::Error;
use crate::retry::{decide, parse_retry_after, Decision, Outcome};

/// Where the audit log lives for a Web API base URL: next to `/api/` on the same server
/// (`http://host:8080/api/` → `http://host:8080/audit/v1/logs`), and Slack's
/// `https://api.slack.com/audit/v1/logs` for the default `https://slack.com/api/`.
pub fn audit_url_for(base: &str) -> String {
    if base == super::DEFAULT_BASE_URL {
        return format!("https://api.slack.com/{AUDIT_LOGS_PATH}");
    }
    let root = base.strip_suffix("api/").unwrap_or(base);
    let root = if root.ends_with('/') {
        root.to_owned()
    } else {
        format!("{root}/")
    };
    format!("{root}{AUDIT_LOGS_PATH}")
}

pub(super) fn check_url(raw: &str) -> Result<String, Error> {
    let url = url::Url::parse(raw.trim())
        .map_err(|e| Error::Config(format!("invalid audit URL {raw:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.query().is_some() {
        return Err(Error::Config(format!(
            "audit URL must be http(s) without a query: {raw:?}"
        )));
    }
    Ok(url.into())
}

const NAME: &str = "audit.logs";

impl Client {
    /// The audit log endpoint this client reads.
    pub fn audit_url(&self) -> &str {
        &self.inner.audit
    }

    /// One page of the audit log, newest first.
    pub async fn audit_logs(&self, req: AuditLogsRequest) -> Result<AuditLogsResponse, Error> {
        req.validate()?;
        let auth = self.auth.header.clone().map_err(Error::Config)?;
        let query = serde_urlencoded::to_string(req.to_form())
            .map_err(|e| Error::Config(format!("cannot encode query: {e}")))?;
        let url = if query.is_empty() {
            self.inner.audit.clone()
        } else {
            format!("{}?{query}", self.inner.audit)
        };
        let inner = &*self.inner;
        let mut waited = std::time::Duration::ZERO;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let failure = match self.audit_attempt(&url, &auth).await {
                Ok(done) => return done,
                Err(f) => f,
            };
            let Some(outcome) = failure.outcome else {
                return Err(failure.error);
            };
            match decide(&inner.retry, true, attempt, waited, &outcome) {
                Decision::Retry { after } => {
                    tracing::debug!(method = NAME, ?outcome, "retrying");
                    waited += after;
                    inner.sleeper.sleep(after).await;
                }
                Decision::GiveUp => return Err(failure.error),
            }
        }
    }

    async fn audit_attempt(
        &self,
        url: &str,
        auth: &http::HeaderValue,
    ) -> Result<Result<AuditLogsResponse, Error>, Failure> {
        let resp = self
            .inner
            .http
            .get(url)
            .header(AUTHORIZATION, auth.clone())
            .header(ACCEPT, JSON)
            .send()
            .await
            .map_err(transport)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.map_err(transport)?;
        if status == http::StatusCode::TOO_MANY_REQUESTS {
            let retry_after = parse_retry_after(headers.get(http::header::RETRY_AFTER))
                .unwrap_or(self.inner.retry.default_retry_after);
            return Err(Failure {
                outcome: Some(Outcome::RateLimited { retry_after }),
                error: Error::RateLimited { retry_after },
            });
        }
        if status.is_server_error() {
            return Err(Failure {
                outcome: Some(Outcome::ServerError {
                    status,
                    retry_after: parse_retry_after(headers.get(http::header::RETRY_AFTER)),
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
        Ok(match decode_body::<AuditLogsResponse>(&bytes) {
            Err(e) => Err(e),
            Ok(Ok((page, _))) => Ok(page),
            Ok(Err(envelope)) => Err(Error::Api {
                code: envelope
                    .error
                    .clone()
                    .unwrap_or_else(|| sessions_wire::ErrorCode::parse("unknown_error")),
                warnings: envelope.warnings(),
                messages: envelope.messages().to_vec(),
                needed: envelope.needed,
                provided: envelope.provided,
            }),
        })
    }

    /// Every page of the audit log, lazily, following `next_cursor` (from `req.cursor` if
    /// set). Ends after a page without a cursor, on a repeated cursor, or right after an error.
    pub fn audit_logs_pages(
        &self,
        req: AuditLogsRequest,
    ) -> impl Stream<Item = Result<AuditLogsResponse, Error>> + Send + 'static {
        let client = self.clone();
        crate::paging::pages(
            req,
            |r: &mut AuditLogsRequest| &mut r.cursor,
            AuditLogsResponse::next_cursor,
            move |r| {
                let client = client.clone();
                async move { client.audit_logs(r).await }
            },
        )
    }

    /// Every entry on every page (see [`Client::audit_logs_pages`]).
    pub fn audit_logs_all(
        &self,
        req: AuditLogsRequest,
    ) -> impl Stream<Item = Result<AuditLogEntry, Error>> + Send + 'static {
        crate::paging::items(self.audit_logs_pages(req), |p| p.entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_urls_sit_next_to_the_api_root() {
        assert_eq!(
            audit_url_for("http://127.0.0.1:8080/api/"),
            "http://127.0.0.1:8080/audit/v1/logs"
        );
        assert_eq!(
            audit_url_for("http://h/prefix/"),
            "http://h/prefix/audit/v1/logs"
        );
        assert_eq!(
            audit_url_for(super::super::DEFAULT_BASE_URL),
            "https://api.slack.com/audit/v1/logs"
        );
        assert!(check_url("ftp://x/").is_err());
        assert!(check_url("http://x/logs?a=1").is_err());
    }
}
