//! The accept loop: connection cap, header size and slow-client limits, peer addresses.
//!
//! Choices (the spec is silent; a server facing hostile clients needs all of them):
//! - **Connection cap** ([`Limits::max_connections`], default 1024): over the cap the server
//!   stops accepting, so further connections wait in the kernel's listen backlog and are served
//!   as others close. Nothing is refused with a 5xx; a client merely waits (or times out on its
//!   own). Idle keep-alive connections are closed after [`Limits::header_timeout`], so queued
//!   clients get their turn.
//! - **Header size** ([`Limits::max_header_bytes`], default 64 KiB, at least 8 KiB): a request
//!   head over it gets HTTP 431 from hyper and the connection is closed.
//! - **Slow headers** ([`Limits::header_timeout`], default 30 s): a client that has not sent a
//!   complete request head in time (or stays idle between keep-alive requests) is disconnected.
//!   No answer is possible there: hyper has not parsed a request to answer.
//! - **Slow bodies** ([`Limits::body_timeout`], default 30 s): an API request whose body has
//!   not fully arrived in time gets HTTP 408 with `{"ok":false,"error":"request_timeout"}`.
//! - Every request carries [`axum::extract::ConnectInfo`]`<SocketAddr>` with the peer address
//!   (the control API admits loopback peers only, unless told otherwise).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::metrics::Metrics;

/// Limits applied by [`serve`](crate::serve) to connections and requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once; more wait in the listen backlog (default 1024).
    pub max_connections: usize,
    /// Largest request head (request line and headers) in bytes; HTTP 431 above it (default
    /// 64 KiB; values under 8 KiB count as 8 KiB, hyper's smallest buffer).
    pub max_header_bytes: usize,
    /// Time allowed to send a complete request head, and to stay idle between requests on a
    /// keep-alive connection (default 30 s); the connection is closed after it.
    pub header_timeout: Duration,
    /// Time allowed to send a complete API request body (default 30 s); HTTP 408
    /// `request_timeout` after it.
    pub body_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            max_header_bytes: 64 << 10,
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
        }
    }
}

/// Smallest buffer hyper accepts.
const MIN_BUF: usize = 8192;

fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

/// Serves `router` on `listener` until `shutdown` completes, then lets open connections finish
/// their requests (idle ones close at once). Calls `on_stop` once shutdown begins.
pub(crate) async fn serve_router(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: &Limits,
    metrics: Metrics,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_stop: impl FnOnce(),
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_header_bytes.max(MIN_BUF));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        // Take a permit before accepting: over the cap, connections queue in the backlog.
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::error!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let router = router.clone();
        let svc =
            hyper::service::service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                router.clone().oneshot(req)
            });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(tcp), svc)
            .into_owned();
        let conn = graceful.watch(conn);
        let open = metrics.connection_opened();
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop(open);
            drop(permit);
        });
    }
    drop(listener);
    on_stop();
    graceful.shutdown().await;
    Ok(())
}
