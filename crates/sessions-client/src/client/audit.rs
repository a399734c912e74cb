//! The audit log (`GET /audit/v1/logs`, in the shape of Slack's Audit Logs API): one page,
//! or every page as a lazy stream.
//!
//! It is not one of the Web API methods: it lives outside the Web API root (see
//! [`audit_url_for`](super::audit_url_for)), is read with `GET` and the arguments in the query,
//! and needs the `auditlogs:read` scope. [`AuditLogs`] says so, and the call goes through the
//! same pipeline as every other method: validated first, 429s waited out, 5xx/timeouts retried
//! (it is a read); proactive throttling, which follows the Web API's tiers, does not apply.

use futures::stream::Stream;
use sessions_wire::audit::{AuditLogEntry, AuditLogsRequest, AuditLogsResponse};
use sessions_wire::AuditLogs;

use super::Client;
use crate::error::Error;

impl Client {
    /// The audit log endpoint this client reads.
    pub fn audit_url(&self) -> &str {
        &self.inner.audit
    }

    /// One page of the audit log, newest first.
    pub async fn audit_logs(&self, req: AuditLogsRequest) -> Result<AuditLogsResponse, Error> {
        self.call::<AuditLogs>(&req).await
    }

    /// Every page of the audit log, lazily, following `next_cursor` (from `req.cursor` if
    /// set). Ends after a page without a cursor, on a repeated cursor, or right after an error.
    pub fn audit_logs_pages(
        &self,
        req: AuditLogsRequest,
    ) -> impl Stream<Item = Result<AuditLogsResponse, Error>> + Send + 'static {
        self.pages::<AuditLogs>(req)
    }

    /// Every entry on every page (see [`Client::audit_logs_pages`]).
    pub fn audit_logs_all(
        &self,
        req: AuditLogsRequest,
    ) -> impl Stream<Item = Result<AuditLogEntry, Error>> + Send + 'static {
        crate::paging::items(self.audit_logs_pages(req), |p| p.entries)
    }
}
