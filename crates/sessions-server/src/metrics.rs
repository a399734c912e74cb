//! Observability: `/metrics` (Prometheus text format 0.0.4, written by `prometheus-client`),
//! `/health` (liveness), `/ready` (readiness) and one structured log line per API call.
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
//! Counters are registered without their `_total` suffix: the encoder appends it. The figures
//! read at scrape time (store, token cache, process) go into a registry built for that scrape,
//! so a family that has no value (the backlog when the store failed, the cache on PostgreSQL)
//! is left out rather than shown as zero.
//!
//! `method` is one of the API method names, or `unknown` for any other name (so a client
//! cannot grow the label set). `/metrics`, `/health` and `/ready` need no token: they reveal
//! counts, never tokens, ids or arguments.
//!
//! The access log line (`target: sessions_server::access`, level info) carries `method`,
//! `code`, `status`, `duration_ms` and `peer`; never a token, an argument or a header.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{HeaderValue, StatusCode};
use prometheus_client::encoding::prometheus_text;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use serde_json::json;

use crate::state::AppState;

/// Upper bounds of the latency histogram buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Labels of the API call counters.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    method: &'static str,
    code: String,
}

/// Label of the API latency histogram.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabel {
    method: &'static str,
}

/// Label of the store families.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpLabel {
    op: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

#[derive(Debug)]
struct Registered {
    registry: Registry,
    requests: Family<CallLabels, Counter>,
    errors: Family<CallLabels, Counter>,
    latency: Histograms<MethodLabel>,
    store: Histograms<OpLabel>,
    store_errors: Family<OpLabel, Counter>,
    connections_open: Gauge,
    connections_total: Counter,
}

/// The server's metrics; cheap to clone (shared).
#[derive(Debug, Clone)]
pub(crate) struct Metrics(Arc<Registered>);

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<CallLabels, Counter>::default();
        registry.register(
            "sessions_api_requests",
            "API calls answered, by method and code",
            requests.clone(),
        );
        let errors = Family::<CallLabels, Counter>::default();
        registry.register(
            "sessions_api_errors",
            "API calls answered with ok:false, by method and code",
            errors.clone(),
        );
        let latency = Histograms::<MethodLabel>::new_with_constructor(histogram);
        registry.register(
            "sessions_api_request_duration_seconds",
            "Time to answer an API call",
            latency.clone(),
        );
        let store = Histograms::<OpLabel>::new_with_constructor(histogram);
        registry.register(
            "sessions_store_operation_duration_seconds",
            "Time of one store call, by operation",
            store.clone(),
        );
        let store_errors = Family::<OpLabel, Counter>::default();
        registry.register(
            "sessions_store_errors",
            "Failed store calls, by operation",
            store_errors.clone(),
        );
        let connections_open = Gauge::default();
        registry.register(
            "sessions_http_connections_open",
            "Connections being served",
            connections_open.clone(),
        );
        let connections_total = Counter::default();
        registry.register(
            "sessions_http_connections",
            "Connections accepted",
            connections_total.clone(),
        );
        Metrics(Arc::new(Registered {
            registry,
            requests,
            errors,
            latency,
            store,
            store_errors,
            connections_open,
            connections_total,
        }))
    }
}

/// Counts a connection as open until dropped.
#[derive(Debug)]
pub(crate) struct OpenConnection(Metrics);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0 .0.connections_open.dec();
    }
}

/// The Slack code of an answer, attached to API responses as an extension for the metrics and
/// the access log.
#[derive(Debug, Clone)]
pub(crate) struct AnswerCode(pub String);

/// The `method` label: a method of the table, or `unknown`.
fn method_label(name: &str) -> &'static str {
    sessions_wire::METHOD_NAMES
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
    pub(crate) fn connection_opened(&self) -> OpenConnection {
        self.0.connections_open.inc();
        self.0.connections_total.inc();
        OpenConnection(self.clone())
    }

    /// Records one store call: how long `op` took and whether it failed. The one entry point
    /// for store timings.
    pub(crate) fn store_call(&self, op: &'static str, took: Duration, failed: bool) {
        let op = OpLabel { op };
        self.0.store.get_or_create(&op).observe(took.as_secs_f64());
        if failed {
            self.0.store_errors.get_or_create(&op).inc();
        }
    }

    fn api_call(&self, method: &'static str, code: &str, took: Duration) {
        let labels = CallLabels {
            method,
            code: code.to_owned(),
        };
        if code != "ok" {
            self.0.errors.get_or_create(&labels).inc();
        }
        self.0.requests.get_or_create(&labels).inc();
        self.0
            .latency
            .get_or_create(&MethodLabel { method })
            .observe(took.as_secs_f64());
    }

    /// The exposition text; `pending` is the bulk backlog (`None` when the store failed).
    fn render(
        &self,
        pending: Option<u64>,
        cache: Option<sessions_store::TokenCacheStats>,
    ) -> String {
        let mut scrape = Registry::default();
        scrape.register(
            "sessions_store_up",
            "Whether the store answered this scrape",
            ConstGauge::new(i64::from(pending.is_some())),
        );
        if let Some(p) = pending {
            scrape.register(
                "sessions_bulk_jobs_pending",
                "resetBulk jobs recorded and not yet done (all nodes)",
                ConstGauge::new(p as i64),
            );
        }
        if let Some(c) = cache {
            scrape.register(
                "sessions_token_cache_hits",
                "Token lookups answered from the store's cache",
                ConstCounter::new(c.hits),
            );
            scrape.register(
                "sessions_token_cache_misses",
                "Token lookups that went to the database",
                ConstCounter::new(c.misses),
            );
        }
        process_metrics(&mut scrape);
        let mut out = String::with_capacity(8192);
        // Writing to a String cannot fail.
        let _ = prometheus_text::encode(&mut out, &self.0.registry);
        let _ = prometheus_text::encode(&mut out, &scrape);
        out
    }
}

/// Cheap process figures from `/proc` (Linux); nothing elsewhere.
fn process_metrics(r: &mut Registry) {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        let rss_kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok());
        if let Some(kib) = rss_kib {
            r.register(
                "process_resident_memory_bytes",
                "Resident memory size in bytes",
                ConstGauge::new((kib * 1024) as i64),
            );
        }
    }
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
        // Fields after the parenthesised command name; utime and stime are the 14th and 15th
        // fields overall, in clock ticks (USER_HZ, 100 on Linux).
        if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
            if let (Some(u), Some(s)) = (ticks(11), ticks(12)) {
                r.register(
                    "process_cpu_seconds",
                    "User and system CPU time",
                    ConstCounter::new((u + s) as f64 / 100.0),
                );
            }
            let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("btime "))
                    .and_then(|v| v.trim().parse::<u64>().ok())
            });
            if let (Some(start), Some(boot)) = (ticks(19), boot) {
                r.register(
                    "process_start_time_seconds",
                    "Start time of the process since the epoch",
                    ConstGauge::new(boot as f64 + start as f64 / 100.0),
                );
            }
        }
    }
    if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
        r.register(
            "process_open_fds",
            "Open file descriptors",
            ConstGauge::new(dir.count() as i64),
        );
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
        HeaderValue::from_static(prometheus_text::CONTENT_TYPE),
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

    fn line<'a>(text: &'a str, series: &str) -> Option<&'a str> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
    }

    #[test]
    fn histogram_buckets_are_cumulative_and_counters_keep_their_names() {
        let m = Metrics::default();
        for secs in [0.0001, 0.003, 100.0] {
            m.store_call("a", Duration::from_secs_f64(secs), secs > 1.0);
        }
        m.api_call("auth.test", "ok", Duration::from_millis(1));
        m.api_call("auth.test", "invalid_auth", Duration::from_millis(1));
        let out = m.render(Some(2), None);
        let h = "sessions_store_operation_duration_seconds";
        assert_eq!(
            line(&out, &format!("{h}_bucket{{op=\"a\",le=\"0.0005\"}}")),
            Some("1"),
            "{out}"
        );
        assert_eq!(
            line(&out, &format!("{h}_bucket{{op=\"a\",le=\"0.005\"}}")),
            Some("2"),
            "{out}"
        );
        assert_eq!(
            line(&out, &format!("{h}_bucket{{op=\"a\",le=\"10\"}}")),
            Some("2"),
            "{out}"
        );
        assert_eq!(
            line(&out, &format!("{h}_bucket{{op=\"a\",le=\"+Inf\"}}")),
            Some("3"),
            "{out}"
        );
        assert_eq!(
            line(&out, &format!("{h}_count{{op=\"a\"}}")),
            Some("3"),
            "{out}"
        );
        assert_eq!(
            line(&out, "sessions_store_errors_total{op=\"a\"}"),
            Some("1"),
            "{out}"
        );
        assert!(
            out.contains("# TYPE sessions_api_requests_total counter\n"),
            "{out}"
        );
        assert!(
            out.contains(
                "# HELP sessions_api_requests_total API calls answered, by method and code.\n"
            ),
            "{out}"
        );
        assert_eq!(
            line(
                &out,
                "sessions_api_errors_total{method=\"auth.test\",code=\"invalid_auth\"}"
            ),
            Some("1"),
            "{out}"
        );
        assert_eq!(
            line(
                &out,
                "sessions_api_errors_total{method=\"auth.test\",code=\"ok\"}"
            ),
            None
        );
        assert_eq!(line(&out, "sessions_bulk_jobs_pending"), Some("2"), "{out}");
        assert_eq!(line(&out, "sessions_store_up"), Some("1"), "{out}");
        // No store answer: no backlog figure, and the store is down.
        let out = m.render(None, None);
        assert_eq!(line(&out, "sessions_bulk_jobs_pending"), None, "{out}");
        assert_eq!(line(&out, "sessions_store_up"), Some("0"), "{out}");
        assert!(!out.contains("sessions_token_cache"), "{out}");
    }

    #[test]
    fn unknown_methods_share_one_label_and_codes_are_escaped() {
        assert_eq!(method_label("auth.test"), "auth.test");
        assert_eq!(method_label("users.list"), "users.list");
        assert_eq!(method_label("chat.postMessage"), "unknown");
        let m = Metrics::default();
        m.api_call("unknown", "a\"b\\c\nd", Duration::ZERO);
        let out = m.render(None, None);
        assert!(
            out.contains(r#"sessions_api_requests_total{method="unknown",code="a\"b\\c\nd"} 1"#),
            "{out}"
        );
    }
}
