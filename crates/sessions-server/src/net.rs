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
//! - **Slow headers** ([`Limits::header_timeout`], default 30 s): a client that started a
//!   request but has not sent its complete head in time gets HTTP 408 with
//!   `{"ok":false,"error":"request_timeout",...}` and is disconnected; a keep-alive connection
//!   idle that long is closed silently (there is no request to answer).
//! - **Slow bodies** ([`Limits::body_timeout`], default 30 s): an API request whose body has
//!   not fully arrived in time gets HTTP 408 with `{"ok":false,"error":"request_timeout"}`.
//! - **Slow readers** ([`Limits::write_timeout`], default 30 s): a client that takes nothing of
//!   an answer for that long is disconnected (a steady slow reader is fine: the clock restarts
//!   with every byte it takes).
//! - Every request carries [`axum::extract::ConnectInfo`]`<SocketAddr>` with the peer address
//!   (the control API admits loopback peers only, unless told otherwise).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
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
    /// Time an answer may make no progress (the client reads nothing) before the connection
    /// is dropped (default 30 s).
    pub write_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            max_header_bytes: 64 << 10,
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
        }
    }
}

/// Smallest buffer hyper accepts.
const MIN_BUF: usize = 8192;
/// hyper's default read buffer limit (~400 KiB), kept unless the header limit is larger.
const DEFAULT_BUF: usize = 8192 + 4096 * 100;

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
    // HTTP/1.1 only: Slack's clients speak it, and protocol sniffing (for cleartext HTTP/2)
    // would wait for a first byte without any timeout.
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_header_size(limits.max_header_bytes.max(MIN_BUF))
        .max_buf_size(limits.max_header_bytes.max(DEFAULT_BUF));
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
        let tcp = Arc::new(tcp);
        let unanswered = Arc::new(AtomicBool::new(false));
        let io = Tracked {
            tcp: tcp.clone(),
            unanswered: unanswered.clone(),
            write_timeout: limits.write_timeout,
            stalled: None,
        };
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(io), svc));
        let open = metrics.connection_opened();
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                if e.is_timeout() && unanswered.load(Ordering::Relaxed) {
                    answer_header_timeout(&tcp).await;
                }
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

/// The answer to a request whose head did not arrive in time (hyper gives up without one).
const HEADER_TIMEOUT_RESPONSE: &[u8] = b"HTTP/1.1 408 Request Timeout\r\n\
content-type: application/json; charset=utf-8\r\n\
connection: close\r\n\
content-length: 123\r\n\r\n\
{\"ok\":false,\"error\":\"request_timeout\",\"response_metadata\":{\"messages\":[\"[ERROR] the request head did not arrive in time\"]}}";

async fn answer_header_timeout(tcp: &TcpStream) {
    let mut rest = HEADER_TIMEOUT_RESPONSE;
    let write = async {
        while !rest.is_empty() {
            if tcp.writable().await.is_err() {
                return;
            }
            match tcp.try_write(rest) {
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
    };
    // A client that reads nothing either does not hold the server up.
    let _ = tokio::time::timeout(Duration::from_secs(1), write).await;
}

/// The connection's socket as hyper sees it, shared with the accept loop so that it can still
/// answer after hyper gave up; remembers whether request bytes arrived since the last answer.
#[derive(Debug)]
struct Tracked {
    tcp: Arc<TcpStream>,
    unanswered: Arc<AtomicBool>,
    write_timeout: Duration,
    /// Running while a write waits for the client to take bytes.
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Tracked {
    /// A write is blocked on the client: pending, or an error once it stayed so too long.
    fn stall<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let limit = self.write_timeout;
        let sleep = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client took nothing of the answer in time",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn wrote(&mut self, n: usize) {
        self.stalled = None;
        if n > 0 {
            self.unanswered.store(false, Ordering::Relaxed);
        }
    }
}

impl AsyncRead for Tracked {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            ready!(self.tcp.poll_read_ready(cx))?;
            match self.tcp.try_read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    if n > 0 {
                        self.unanswered.store(true, Ordering::Relaxed);
                    }
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            if this.tcp.poll_write_ready(cx)?.is_pending() {
                return this.stall(cx);
            }
            match this.tcp.try_write(data) {
                Ok(n) => {
                    this.wrote(n);
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            if this.tcp.poll_write_ready(cx)?.is_pending() {
                return this.stall(cx);
            }
            match this.tcp.try_write_vectored(bufs) {
                Ok(n) => {
                    this.wrote(n);
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// The socket closes (FIN) when the last handle goes, right after hyper is done; not
    /// half-closing here keeps the 408 above possible.
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_timeout_answer_is_well_formed() {
        let text = std::str::from_utf8(HEADER_TIMEOUT_RESPONSE).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(len, body.len());
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"], "request_timeout");
        assert_eq!(v["ok"], false);
    }
}
