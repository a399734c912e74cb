//! Observability: `/metrics` (Prometheus text format 0.0.4), `/health` (liveness), `/ready`
//! (readiness) and one structured log line per API call.
//!
//! Metrics (a small hand-written registry: a handful of families does not justify a
//! dependency):
//!
//! | Name | Type | Labels |
//! |---|---|---|
//! | `sessions_api_requests_total` | counter | `method`, `code` (`ok` or the Slack error code) |
//! | `sessions_api_errors_total` | counter | `method`, `code` (answers with `ok:false` only) |
//! | `sessions_api_request_duration_seconds` | histogram | `method` |
//! | `sessions_store_operation_duration_seconds` | histogram | `op` (the `Store` method) |
//! | `sessions_store_errors_total` | counter | `op` |
//! | `sessions_bulk_jobs_pending` | gauge | (resetBulk jobs not yet done, all orgs, all nodes) |
//! | `sessions_store_up` | gauge | 1 when the scrape's store call succeeded |
//! | `sessions_token_cache_hits_total` / `_misses_total` | counters | (SQLite only: token lookups answered from the store's cache / from the database) |
//! | `sessions_http_connections_open` / `_total` | gauge / counter | |
//! | `process_resident_memory_bytes`, `process_cpu_seconds_total`, `process_open_fds`, `process_start_time_seconds` | gauges | (Linux only) |
//!
//! `method` is one of the eight API method names, or `unknown` for any other name (so a
//! client cannot grow the label set). `/metrics`, `/health` and `/ready` need no token: they
//! reveal counts, never tokens, ids or arguments.
//!
//! The access log line (`target: sessions_server::access`, level info) carries `method`,
//! `code`, `status`, `duration_ms` and `peer`; never a token, an argument or a header.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{HeaderValue, StatusCode};
use serde_json::json;

use crate::state::AppState;

/// Upper bounds of the latency histogram buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The API method names used as label values; anything else is `unknown`.
const METHODS: [&str; 8] = [
    "admin.users.session.list",
    "admin.users.session.invalidate",
    "admin.users.session.reset",
    "admin.users.session.resetBulk",
    "admin.users.session.getSettings",
    "admin.users.session.setSettings",
    "admin.users.session.clearSettings",
    "auth.test",
];

#[derive(Debug, Clone, Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i] += 1;
        }
        self.count += 1;
        self.sum += secs;
    }

    fn render(&self, out: &mut String, name: &str, label: &str, value: &str) {
        let mut cumulative = 0;
        for (bound, n) in BUCKETS.iter().zip(self.buckets) {
            cumulative += n;
            let _ = writeln!(
                out,
                "{name}_bucket{{{label}=\"{value}\",le=\"{bound}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{label}=\"{value}\",le=\"+Inf\"}} {}",
            self.count
        );
        let _ = writeln!(out, "{name}_sum{{{label}=\"{value}\"}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{label}=\"{value}\"}} {}", self.count);
    }
}

#[derive(Debug, Default)]
struct Families {
    /// method -> code -> count (nested so that counting needs no allocation).
    requests: BTreeMap<&'static str, BTreeMap<String, u64>>,
    latency: BTreeMap<&'static str, Histogram>,
    store: BTreeMap<&'static str, Histogram>,
    store_errors: BTreeMap<&'static str, u64>,
}

#[derive(Debug)]
struct Registry {
    families: Mutex<Families>,
    connections_open: AtomicI64,
    connections_total: AtomicU64,
}

/// The server's metrics; cheap to clone (shared).
#[derive(Debug, Clone)]
pub(crate) struct Metrics(Arc<Registry>);

impl Default for Metrics {
    fn default() -> Self {
        Metrics(Arc::new(Registry {
            families: Mutex::new(Families::default()),
            connections_open: AtomicI64::new(0),
            connections_total: AtomicU64::new(0),
        }))
    }
}

/// Counts a connection as open until dropped.
#[derive(Debug)]
pub(crate) struct OpenConnection(Metrics);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0 .0.connections_open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The Slack code of an answer, attached to API responses as an extension for the metrics and
/// the access log.
#[derive(Debug, Clone)]
pub(crate) struct AnswerCode(pub String);

fn method_label(name: &str) -> &'static str {
    METHODS
        .iter()
        .find(|m| **m == name)
        .copied()
        .unwrap_or("unknown")
}

/// Store timings come from the store itself, which reports every call here (see
/// `Store::set_observer`, set in `AppState::new`).
impl sessions_store::StoreObserver for Metrics {
    fn store_call(&self, op: &'static str, took: Duration, failed: bool) {
        Metrics::store_call(self, op, took, failed);
    }
}

impl Metrics {
    fn families(&self) -> std::sync::MutexGuard<'_, Families> {
        // A panic while holding the lock cannot leave the counters inconsistent in a way that
        // matters; keep serving.
        self.0.families.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn connection_opened(&self) -> OpenConnection {
        self.0.connections_open.fetch_add(1, Ordering::Relaxed);
        self.0.connections_total.fetch_add(1, Ordering::Relaxed);
        OpenConnection(self.clone())
    }

    pub(crate) fn store_call(&self, op: &'static str, took: Duration, failed: bool) {
        let mut f = self.families();
        f.store.entry(op).or_default().observe(took.as_secs_f64());
        if failed {
            *f.store_errors.entry(op).or_default() += 1;
        }
    }

    fn api_call(&self, method: &'static str, code: &str, took: Duration) {
        let mut f = self.families();
        let codes = f.requests.entry(method).or_default();
        match codes.get_mut(code) {
            Some(n) => *n += 1,
            None => {
                codes.insert(code.to_owned(), 1);
            }
        }
        f.latency
            .entry(method)
            .or_default()
            .observe(took.as_secs_f64());
    }

    /// The exposition text; `pending` is the bulk backlog (`None` when the store failed).
    fn render(
        &self,
        pending: Option<u64>,
        cache: Option<sessions_store::TokenCacheStats>,
    ) -> String {
        let mut out = String::with_capacity(8192);
        let f = self.families();
        out.push_str("# HELP sessions_api_requests_total API calls answered, by method and code.\n# TYPE sessions_api_requests_total counter\n");
        let counts = || {
            f.requests
                .iter()
                .flat_map(|(m, codes)| codes.iter().map(move |(c, n)| (m, c, n)))
        };
        for (m, c, n) in counts() {
            let _ = writeln!(
                out,
                "sessions_api_requests_total{{method=\"{m}\",code=\"{}\"}} {n}",
                escape(c)
            );
        }
        out.push_str("# HELP sessions_api_errors_total API calls answered with ok:false, by method and code.\n# TYPE sessions_api_errors_total counter\n");
        for (m, c, n) in counts().filter(|(_, c, _)| *c != "ok") {
            let _ = writeln!(
                out,
                "sessions_api_errors_total{{method=\"{m}\",code=\"{}\"}} {n}",
                escape(c)
            );
        }
        out.push_str("# HELP sessions_api_request_duration_seconds Time to answer an API call.\n# TYPE sessions_api_request_duration_seconds histogram\n");
        for (m, h) in &f.latency {
            h.render(
                &mut out,
                "sessions_api_request_duration_seconds",
                "method",
                m,
            );
        }
        out.push_str("# HELP sessions_store_operation_duration_seconds Time of one store call, by operation.\n# TYPE sessions_store_operation_duration_seconds histogram\n");
        for (op, h) in &f.store {
            h.render(
                &mut out,
                "sessions_store_operation_duration_seconds",
                "op",
                op,
            );
        }
        out.push_str("# HELP sessions_store_errors_total Failed store calls, by operation.\n# TYPE sessions_store_errors_total counter\n");
        for (op, n) in &f.store_errors {
            let _ = writeln!(out, "sessions_store_errors_total{{op=\"{op}\"}} {n}");
        }
        drop(f);
        out.push_str("# HELP sessions_store_up Whether the store answered this scrape.\n# TYPE sessions_store_up gauge\n");
        let _ = writeln!(out, "sessions_store_up {}", u8::from(pending.is_some()));
        if let Some(p) = pending {
            out.push_str("# HELP sessions_bulk_jobs_pending resetBulk jobs recorded and not yet done (all nodes).\n# TYPE sessions_bulk_jobs_pending gauge\n");
            let _ = writeln!(out, "sessions_bulk_jobs_pending {p}");
        }
        if let Some(c) = cache {
            out.push_str("# HELP sessions_token_cache_hits_total Token lookups answered from the store's cache.\n# TYPE sessions_token_cache_hits_total counter\n");
            let _ = writeln!(out, "sessions_token_cache_hits_total {}", c.hits);
            out.push_str("# HELP sessions_token_cache_misses_total Token lookups that went to the database.\n# TYPE sessions_token_cache_misses_total counter\n");
            let _ = writeln!(out, "sessions_token_cache_misses_total {}", c.misses);
        }
        out.push_str("# HELP sessions_http_connections_open Connections being served.\n# TYPE sessions_http_connections_open gauge\n");
        let _ = writeln!(
            out,
            "sessions_http_connections_open {}",
            self.0.connections_open.load(Ordering::Relaxed)
        );
        out.push_str("# HELP sessions_http_connections_total Connections accepted.\n# TYPE sessions_http_connections_total counter\n");
        let _ = writeln!(
            out,
            "sessions_http_connections_total {}",
            self.0.connections_total.load(Ordering::Relaxed)
        );
        process_metrics(&mut out);
        out
    }
}

/// Label values come from our own code list, but `Other` codes are free text: escape them.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Cheap process figures from `/proc` (Linux); nothing elsewhere.
fn process_metrics(out: &mut String) {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        let rss_kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok());
        if let Some(kib) = rss_kib {
            out.push_str("# HELP process_resident_memory_bytes Resident memory size in bytes.\n# TYPE process_resident_memory_bytes gauge\n");
            let _ = writeln!(out, "process_resident_memory_bytes {}", kib * 1024);
        }
    }
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
        // Fields after the parenthesised command name; utime and stime are the 14th and 15th
        // fields overall, in clock ticks (USER_HZ, 100 on Linux).
        if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
            if let (Some(u), Some(s)) = (ticks(11), ticks(12)) {
                out.push_str("# HELP process_cpu_seconds_total User and system CPU time.\n# TYPE process_cpu_seconds_total counter\n");
                let _ = writeln!(out, "process_cpu_seconds_total {}", (u + s) as f64 / 100.0);
            }
            let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("btime "))
                    .and_then(|v| v.trim().parse::<u64>().ok())
            });
            if let (Some(start), Some(boot)) = (ticks(19), boot) {
                out.push_str("# HELP process_start_time_seconds Start time of the process since the epoch.\n# TYPE process_start_time_seconds gauge\n");
                let _ = writeln!(
                    out,
                    "process_start_time_seconds {}",
                    boot as f64 + start as f64 / 100.0
                );
            }
        }
    }
    if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
        out.push_str(
            "# HELP process_open_fds Open file descriptors.\n# TYPE process_open_fds gauge\n",
        );
        let _ = writeln!(out, "process_open_fds {}", dir.count());
    }
}

/// How long `/ready` and `/metrics` wait for the store.
const STORE_PROBE: Duration = Duration::from_secs(2);

async fn pending_jobs(state: &AppState) -> Option<u64> {
    match tokio::time::timeout(STORE_PROBE, state.store().pending_bulk_jobs()).await {
        Ok(Ok(n)) => Some(n),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "store probe failed");
            None
        }
        Err(_) => {
            tracing::warn!("store probe timed out");
            None
        }
    }
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let pending = pending_jobs(&state).await;
    let cache = state.store().token_cache_stats();
    let mut res = state.inner.metrics.render(pending, cache).into_response();
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    res
}

/// `GET /health`: the process answers (liveness; touches nothing else).
pub(crate) async fn health(State(state): State<AppState>) -> Response {
    Json(json!({"ok": true, "node_id": state.node_id()})).into_response()
}

/// `GET /ready`: the store answers a cheap query within 2 s; 503 otherwise (readiness: a load
/// balancer should send no traffic here for now).
pub(crate) async fn ready(State(state): State<AppState>) -> Response {
    match pending_jobs(&state).await {
        Some(pending) => {
            Json(json!({"ok": true, "node_id": state.node_id(), "pending_jobs": pending}))
                .into_response()
        }
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"ok": false, "error": "store_unavailable",
                "message": "the store did not answer (see the server log)"})),
        )
            .into_response(),
    }
}

/// The code of an answer made outside the handlers (the emulator's 429s and injected faults):
/// read from its small JSON body, else `http_<status>`.
async fn code_from_body(res: Response) -> (String, Response) {
    let status = res.status().as_u16();
    let (parts, body) = res.into_parts();
    let fallback = || format!("http_{status}");
    match axum::body::to_bytes(body, 64 << 10).await {
        Ok(bytes) => {
            let code = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| match (&v["ok"], &v["error"]) {
                    (serde_json::Value::Bool(true), _) => Some("ok".to_owned()),
                    (_, serde_json::Value::String(e)) => Some(e.clone()),
                    _ => None,
                })
                .unwrap_or_else(fallback);
            (
                code,
                Response::from_parts(parts, axum::body::Body::from(bytes)),
            )
        }
        // A body that fails (the emulator's dropped connection) must still fail for the client.
        Err(e) => {
            let failing = futures::stream::once(async move { Err::<bytes::Bytes, _>(e) });
            (
                "dropped".to_owned(),
                Response::from_parts(parts, axum::body::Body::from_stream(failing)),
            )
        }
    }
}

/// Middleware on `/api/*`: counts and times each call, and writes the access log line.
pub(crate) async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req
        .uri()
        .path()
        .strip_prefix("/api/")
        .map(method_label)
        .unwrap_or("unknown");
    // Formatted only if the access log is on.
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| tracing::field::display(c.0));
    let verb = req.method().clone();
    let mut res = next.run(req).await;
    let took = start.elapsed();
    let status = res.status().as_u16();
    let (code, res) = match res.extensions_mut().remove::<AnswerCode>() {
        Some(c) => (c.0, res),
        None => code_from_body(res).await,
    };
    state.inner.metrics.api_call(method, &code, took);
    tracing::info!(
        target: "sessions_server::access",
        method,
        http_method = %verb,
        code = %code,
        status,
        duration_ms = took.as_secs_f64() * 1000.0,
        peer,
        "api call"
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let mut h = Histogram::default();
        h.observe(0.0001);
        h.observe(0.003);
        h.observe(100.0);
        let mut out = String::new();
        h.render(&mut out, "x", "op", "a");
        assert!(
            out.contains("x_bucket{op=\"a\",le=\"0.0005\"} 1\n"),
            "{out}"
        );
        assert!(out.contains("x_bucket{op=\"a\",le=\"0.005\"} 2\n"), "{out}");
        assert!(out.contains("x_bucket{op=\"a\",le=\"10\"} 2\n"), "{out}");
        assert!(out.contains("x_bucket{op=\"a\",le=\"+Inf\"} 3\n"), "{out}");
        assert!(out.contains("x_count{op=\"a\"} 3\n"), "{out}");
    }

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label("auth.test"), "auth.test");
        assert_eq!(method_label("chat.postMessage"), "unknown");
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
