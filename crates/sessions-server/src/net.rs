//! The accept loop: connection cap, header size and slow-client limits, peer addresses.
//!
//! Choices (the spec is silent; a server facing hostile clients needs all of them):
//! - **Connection cap** ([`Limits::max_connections`], default 1024): a connection that arrives
//!   at the cap makes room by shedding a connection that waits on its client: the one idle the
//!   longest (no request in progress), else the one whose request head has been trickling in
//!   the longest (a slow-loris client); a connection whose request is being handled is never
//!   shed. So idle connections cannot starve a client that sends a complete request: it is
//!   served at once. A shed connection is closed without an answer (it has no request to
//!   answer; HTTP clients reopen an idle keep-alive connection that closed). When every
//!   connection is busy, the newcomer waits (and the rest in the kernel's listen backlog)
//!   until one finishes or turns idle; nothing is refused with a 5xx. Idle keep-alive
//!   connections are also closed after [`Limits::header_timeout`].
//! - **Header size** ([`Limits::max_header_bytes`], default 64 KiB, at least 8 KiB) and
//!   **header count** (at most [`MAX_HEADERS`] = 100 fields): a request head over either gets
//!   HTTP 431 `request_too_large`, a request target (URL) too long for the buffer HTTP 414
//!   `request_too_large`, and a head that is not valid HTTP/1.1 HTTP 400 `invalid_arguments`,
//!   each as Slack-shaped JSON, and the connection is closed. (hyper writes these answers with
//!   an empty body; [`Tracked`] puts the JSON answer in their place.)
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
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use clap::builder::TypedValueParser as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::metrics::Metrics;

/// Limits applied by [`serve`](crate::serve) to connections and requests: `serve` flags
/// (flattened into [`ServerSettings`](crate::ServerSettings)), defaults on the attributes.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct Limits {
    /// Largest request head (request line and headers) in bytes (HTTP 431 `request_too_large`
    /// above it, as above 100 header fields; values under 8192 count as 8192).
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 10)]
    pub max_header_bytes: usize,
    /// Connections served at once. At the cap a new connection sheds the one idle the longest;
    /// while all are busy it waits (and the rest in the listen backlog).
    #[arg(
        long,
        value_name = "N",
        default_value = "1024",
        value_parser = clap::value_parser!(u32).range(1..).map(|n| n as usize)
    )]
    pub max_connections: usize,
    /// Time a client has to send a complete request head, and may stay idle between
    /// keep-alive requests, before its connection is closed: `30s`, `2m`, `500ms`.
    #[arg(long, value_name = "DURATION", value_parser = crate::settings::timeout, default_value = "30s")]
    pub header_timeout: Duration,
    /// Time a client has to send a complete request body (HTTP 408 `request_timeout` after it).
    #[arg(long, value_name = "DURATION", value_parser = crate::settings::timeout, default_value = "30s")]
    pub body_timeout: Duration,
    /// Time an answer may make no progress because the client reads nothing, before the
    /// connection is dropped.
    #[arg(long, value_name = "DURATION", value_parser = crate::settings::timeout, default_value = "30s")]
    pub write_timeout: Duration,
}

impl Default for Limits {
    /// The flags' defaults.
    fn default() -> Self {
        crate::settings::flag_defaults()
    }
}

/// Smallest buffer hyper accepts.
const MIN_BUF: usize = 8192;
/// Most header fields in a request (hyper's default, kept: setting it would move hyper's header
/// buffer to the heap on every request); more get HTTP 431.
pub const MAX_HEADERS: usize = 100;
/// How often a connection waiting at the cap looks again for one to shed.
const SHED_RETRY: Duration = Duration::from_millis(50);
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
    let registry = Arc::new(Registry::default());
    let max_header_bytes = limits.max_header_bytes.max(MIN_BUF);
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
        // At the cap, make room by shedding a connection that waits on its client; while every
        // connection is busy, wait (the rest queue in the backlog) and look again.
        let permit = loop {
            match permits.clone().try_acquire_owned() {
                Ok(p) => break Some(p),
                Err(tokio::sync::TryAcquireError::Closed) => break None,
                Err(tokio::sync::TryAcquireError::NoPermits) => {}
            }
            registry.shed_one();
            tokio::select! {
                p = permits.clone().acquire_owned() => break p.ok(),
                () = tokio::time::sleep(SHED_RETRY) => {}
                () = &mut shutdown => break None,
            }
        };
        let Some(permit) = permit else { break };
        let _ = tcp.set_nodelay(true);
        let conn_state = registry.add();
        let router = router.clone();
        let svc = hyper::service::service_fn({
            let conn_state = conn_state.clone();
            move |mut req: http::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                let busy = Busy::start(&conn_state);
                let call = router.clone().oneshot(req);
                async move {
                    let answer = call.await;
                    drop(busy);
                    answer
                }
            }
        });
        let tcp = Arc::new(tcp);
        let io = Tracked {
            tcp: tcp.clone(),
            conn: conn_state.clone(),
            write_timeout: limits.write_timeout,
            stalled: None,
            max_header_bytes,
            replacing: None,
        };
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(io), svc));
        let open = metrics.connection_opened();
        let registry = registry.clone();
        tokio::spawn(async move {
            tokio::select! {
                ended = conn => if let Err(e) = ended {
                    if e.is_timeout() && conn_state.unanswered.load(Ordering::Relaxed) {
                        answer_header_timeout(&tcp).await;
                    }
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                },
                // Dropping the connection closes it.
                () = conn_state.shed.notified() => {
                    tracing::debug!(%peer, "idle connection shed at the connection cap");
                }
            }
            registry.remove(conn_state.id);
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

/// What the accept loop knows of one open connection, to pick one to shed at the cap.
#[derive(Debug)]
struct ConnState {
    id: u64,
    /// Requests being handled (the router's future has not finished).
    busy: AtomicUsize,
    /// A handled request's answer is ready but not a byte of it written yet.
    answering: AtomicBool,
    /// Request bytes arrived since the last answer.
    unanswered: AtomicBool,
    /// Last read or write, in milliseconds since the registry started.
    last_active: AtomicU64,
    /// Already picked for shedding.
    shedding: AtomicBool,
    /// Told to close.
    shed: tokio::sync::Notify,
    epoch: std::time::Instant,
}

impl ConnState {
    fn touch(&self) {
        let ms = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_active.store(ms, Ordering::Relaxed);
    }
}

/// The open connections.
#[derive(Debug)]
struct Registry {
    next_id: AtomicU64,
    conns: std::sync::Mutex<std::collections::HashMap<u64, Arc<ConnState>>>,
    epoch: std::time::Instant,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            next_id: AtomicU64::new(0),
            conns: Default::default(),
            epoch: std::time::Instant::now(),
        }
    }
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<u64, Arc<ConnState>>> {
        self.conns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn add(&self) -> Arc<ConnState> {
        let state = Arc::new(ConnState {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            busy: AtomicUsize::new(0),
            answering: AtomicBool::new(false),
            unanswered: AtomicBool::new(false),
            last_active: AtomicU64::new(0),
            shedding: AtomicBool::new(false),
            shed: tokio::sync::Notify::new(),
            epoch: self.epoch,
        });
        state.touch();
        self.lock().insert(state.id, state.clone());
        state
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Closes the connection that has waited on its client the longest: an idle one first,
    /// else one with a request head still arriving; never one whose request is being
    /// handled or answered. Returns whether one was found.
    fn shed_one(&self) -> bool {
        let conns = self.lock();
        let victim = conns
            .values()
            .filter(|c| {
                c.busy.load(Ordering::Relaxed) == 0
                    && !c.answering.load(Ordering::Relaxed)
                    && !c.shedding.load(Ordering::Relaxed)
            })
            .min_by_key(|c| {
                (
                    c.unanswered.load(Ordering::Relaxed),
                    c.last_active.load(Ordering::Relaxed),
                )
            });
        match victim {
            Some(c) => {
                c.shedding.store(true, Ordering::Relaxed);
                c.shed.notify_one();
                true
            }
            None => false,
        }
    }
}

/// Marks a connection busy while one of its requests is handled.
struct Busy(Arc<ConnState>);

impl Busy {
    fn start(conn: &Arc<ConnState>) -> Busy {
        conn.busy.fetch_add(1, Ordering::Relaxed);
        Busy(conn.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        // Until hyper writes the answer, the connection is not idle.
        self.0.answering.store(true, Ordering::Relaxed);
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

/// The JSON answer in place of an empty-bodied error answer hyper writes on its own when it
/// cannot parse a request head (`HTTP/1.1 400|414|431 ...` with `content-length: 0` and no
/// content type, which no handler of ours sends), or `None` for any other bytes.
fn replace_parse_error(head: &[u8], max_header_bytes: usize) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(head.get(..head.len().min(512))?).ok()?;
    let status: u16 = text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    let lower = text.to_ascii_lowercase();
    if !lower.contains("\r\ncontent-length: 0\r\n") || lower.contains("\r\ncontent-type:") {
        return None;
    }
    let (reason, code, message) = match status {
        400 => (
            "Bad Request",
            "invalid_arguments",
            "the request is not valid HTTP/1.1 (request line or header fields malformed)"
                .to_owned(),
        ),
        414 => (
            "URI Too Long",
            "request_too_large",
            format!("the request target (URL) exceeds the limit of {max_header_bytes} bytes"),
        ),
        431 => (
            "Request Header Fields Too Large",
            "request_too_large",
            format!(
                "the request head exceeds the limit of {max_header_bytes} bytes or \
                 {MAX_HEADERS} header fields"
            ),
        ),
        _ => return None,
    };
    let envelope = sessions_wire::Envelope::error(sessions_wire::ErrorCode::parse(code))
        .with_message(format!("[ERROR] {message}"));
    let body = serde_json::to_string(&envelope).ok()?;
    Some(
        format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json; charset=utf-8\r\n\
             connection: close\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

/// The connection's socket as hyper sees it, shared with the accept loop so that it can still
/// answer after hyper gave up; keeps the connection's [`ConnState`] current (request bytes
/// since the last answer, last activity), and puts Slack-shaped JSON in place of hyper's own
/// empty-bodied parse-error answers.
#[derive(Debug)]
struct Tracked {
    tcp: Arc<TcpStream>,
    conn: Arc<ConnState>,
    write_timeout: Duration,
    /// Running while a write waits for the client to take bytes.
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
    /// For the 431 message.
    max_header_bytes: usize,
    /// A replacement answer being written: (bytes, how many are written, how many of hyper's
    /// bytes it stands for).
    replacing: Option<(Vec<u8>, usize, usize)>,
}

impl Tracked {
    /// Writes hyper's `data` (the bufs' total `len`), or the JSON answer standing for it.
    fn write_out(
        &mut self,
        cx: &mut Context<'_>,
        first: &[u8],
        len: usize,
        write: impl Fn(&TcpStream) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        if self.replacing.is_none() && first.starts_with(b"HTTP/1.1 4") {
            if let Some(bytes) = replace_parse_error(first, self.max_header_bytes) {
                self.replacing = Some((bytes, 0, len));
            }
        }
        loop {
            if self.tcp.poll_write_ready(cx)?.is_pending() {
                return self.stall(cx);
            }
            let result = match &self.replacing {
                Some((bytes, done, _)) => self.tcp.try_write(&bytes[*done..]),
                None => write(&self.tcp),
            };
            match result {
                Ok(n) => {
                    self.wrote(n);
                    let Some((bytes, done, stands_for)) = &mut self.replacing else {
                        return Poll::Ready(Ok(n));
                    };
                    *done += n;
                    if *done >= bytes.len() {
                        let consumed = *stands_for;
                        self.replacing = None;
                        return Poll::Ready(Ok(consumed));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

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
            self.conn.unanswered.store(false, Ordering::Relaxed);
            self.conn.answering.store(false, Ordering::Relaxed);
            self.conn.touch();
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
                        self.conn.unanswered.store(true, Ordering::Relaxed);
                        self.conn.touch();
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
        self.get_mut()
            .write_out(cx, data, data.len(), |tcp| tcp.try_write(data))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let first = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &b[..]);
        let len = bufs.iter().map(|b| b.len()).sum();
        self.get_mut()
            .write_out(cx, first, len, |tcp| tcp.try_write_vectored(bufs))
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
