//! Connection management: one writer thread doing group commit, a pool of WAL readers.
//!
//! Every write is a closure sent to the writer thread. The thread drains whatever is pending
//! (up to [`BATCH_CAP`]), runs each closure inside its own SAVEPOINT of ONE transaction, commits
//! once and then answers every waiter. A failing closure rolls back only its savepoint. So N
//! concurrent writes cost one fsync, and a write's `Ok` always means "committed".

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{oneshot, Semaphore};

use super::schema;
use crate::{Result, StoreError};

/// Most writes folded into one transaction; bounds the latency of the first waiter.
const BATCH_CAP: usize = 512;
/// Most reads running at once (each holds one read-only connection on the blocking pool), so a
/// burst of reads cannot take every blocking thread; reads beyond it wait their turn.
const READERS_MAX: usize = 8;
/// How long a connection waits for another process holding the database lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
const STATEMENT_CACHE: usize = 64;

/// Called once the batch's COMMIT finished, with its outcome.
type Responder = Box<dyn FnOnce(Result<(), String>) + Send>;
/// Runs one write against the writer connection; returns whether it succeeded (so the writer
/// knows to keep or roll back its savepoint) and how to answer the caller after commit. Called
/// with `None` when the write cannot run at all; its responder then reports the error.
type WriteOp = Box<dyn FnOnce(Option<&Connection>) -> (bool, Responder) + Send>;

/// Extension to attach context to rusqlite errors.
pub(super) trait Ctx<T> {
    fn ctx(self, what: &str) -> Result<T>;
}

impl<T> Ctx<T> for rusqlite::Result<T> {
    fn ctx(self, what: &str) -> Result<T> {
        self.map_err(|e| StoreError::Backend(format!("sqlite: {what}: {e}")))
    }
}

pub(super) struct Engine {
    path: PathBuf,
    tx: Option<mpsc::Sender<WriteOp>>,
    writer: Option<JoinHandle<()>>,
    commits: Arc<AtomicU64>,
    readers: Arc<Readers>,
    read_permits: Arc<Semaphore>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("path", &self.path)
            .field("commits", &self.commits.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Opens (creating if needed) the database, applies migrations and starts the writer.
    /// Blocking: call from `spawn_blocking`.
    pub(super) fn open(path: &Path) -> Result<Engine> {
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|e| {
                    StoreError::Backend(format!("creating {}: {e}", parent.display()))
                })?;
            }
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn =
            Connection::open_with_flags(path, flags).ctx(&format!("opening {}", path.display()))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .ctx("setting busy_timeout")?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .ctx("enabling WAL")?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!(
                "sqlite: {} cannot use WAL mode (got {mode:?})",
                path.display()
            )));
        }
        // FULL: in WAL mode the WAL is fsynced at every commit, so `Ok` means durable.
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")
            .ctx("setting pragmas")?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        schema::migrate(&mut conn)?;

        let commits = Arc::new(AtomicU64::new(0));
        let (tx, rx) = mpsc::channel::<WriteOp>();
        let counter = commits.clone();
        let writer = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run_writer(conn, rx, counter))
            .map_err(|e| StoreError::Backend(format!("starting sqlite writer thread: {e}")))?;
        Ok(Engine {
            path: path.to_owned(),
            tx: Some(tx),
            writer: Some(writer),
            commits,
            readers: Arc::new(Readers {
                path: path.to_owned(),
                idle: Mutex::new(Vec::new()),
            }),
            read_permits: Arc::new(Semaphore::new(READERS_MAX)),
        })
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Transactions committed by the writer since open.
    pub(super) fn commit_count(&self) -> u64 {
        self.commits.load(Ordering::SeqCst)
    }

    /// Runs `f` on the writer connection inside its own savepoint of the current group
    /// transaction; resolves once that transaction is committed.
    pub(super) async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let (done, wait) = oneshot::channel::<Result<T>>();
        let op: WriteOp = Box::new(move |conn| {
            let outcome = conn.map(f);
            let ok = matches!(outcome, Some(Ok(_)));
            let respond: Responder = Box::new(move |commit| {
                let answer = match (outcome, commit) {
                    (Some(Err(e)), _) => Err(e),
                    (Some(Ok(v)), Ok(())) => Ok(v),
                    (_, Err(msg)) => Err(StoreError::Backend(msg)),
                    (None, Ok(())) => Err(StoreError::Backend("sqlite: write not run".into())),
                };
                // The caller may have gone away (cancelled request); the write stands anyway.
                let _ = done.send(answer);
            });
            (ok, respond)
        });
        let tx = self.tx.as_ref().ok_or_else(writer_gone)?;
        tx.send(op).map_err(|_| writer_gone())?;
        wait.await.map_err(|_| {
            StoreError::Backend(
                "sqlite: write aborted (the operation panicked or the writer stopped)".into(),
            )
        })?
    }

    /// Runs `f` on a read-only connection on the blocking pool.
    pub(super) async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let readers = self.readers.clone();
        let permit = self
            .read_permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Backend("sqlite: reader pool closed".into()))?;
        tokio::task::spawn_blocking(move || {
            // Held until the read finishes, even if the caller stops waiting.
            let _permit = permit;
            let mut conn = readers.take()?;
            let out = f(&mut conn);
            // A connection left inside a transaction (error mid-read) is not reused.
            if conn.is_autocommit() {
                readers.give_back(conn);
            }
            out
        })
        .await
        .map_err(|e| StoreError::Backend(format!("sqlite: read task failed: {e}")))?
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Closing the channel lets the writer finish what is queued and exit; joining makes
        // "drop the store, reopen the file" deterministic.
        drop(self.tx.take());
        if let Some(h) = self.writer.take() {
            let _ = h.join();
        }
    }
}

fn writer_gone() -> StoreError {
    StoreError::Backend("sqlite: the writer thread has stopped".into())
}

fn run_writer(conn: Connection, rx: mpsc::Receiver<WriteOp>, commits: Arc<AtomicU64>) {
    while let Ok(first) = rx.recv() {
        let mut batch = Vec::with_capacity(8);
        batch.push(first);
        while batch.len() < BATCH_CAP {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            let ops = batch.len();
            tracing::error!(error = %e, ops, "sqlite writer could not begin a transaction");
            let msg = format!("sqlite: could not begin a transaction: {e}");
            for op in batch {
                let (_, respond) = op(None);
                respond(Err(msg.clone()));
            }
            continue;
        }
        let mut responders: Vec<Responder> = Vec::with_capacity(batch.len());
        // Set when savepoint bookkeeping fails: the transaction state is then unknown, so the
        // whole batch is rolled back and every waiter gets the error.
        let mut poisoned: Option<String> = None;
        let mut ops = batch.into_iter();
        for op in ops.by_ref() {
            if let Err(e) = conn.execute_batch("SAVEPOINT op") {
                poisoned = Some(format!("sqlite: savepoint failed: {e}"));
                responders.push(op(None).1);
                break;
            }
            match std::panic::catch_unwind(AssertUnwindSafe(|| op(Some(&conn)))) {
                Ok((ok, respond)) => {
                    responders.push(respond);
                    if conn.is_autocommit() {
                        // SQLite rolled the whole transaction back itself (I/O error, full disk).
                        poisoned = Some("sqlite: transaction rolled back by the database".into());
                        break;
                    }
                    let end = if ok {
                        "RELEASE op"
                    } else {
                        "ROLLBACK TO op; RELEASE op"
                    };
                    if let Err(e) = conn.execute_batch(end) {
                        poisoned = Some(format!("sqlite: ending savepoint failed: {e}"));
                        break;
                    }
                }
                Err(_) => {
                    tracing::error!("sqlite write operation panicked; rolled back");
                    if let Err(e) = conn.execute_batch("ROLLBACK TO op; RELEASE op") {
                        poisoned = Some(format!("sqlite: rollback after panic failed: {e}"));
                        break;
                    }
                }
            }
        }
        let outcome = match poisoned {
            Some(msg) => {
                tracing::error!(error = %msg, "sqlite writer rolled back a batch");
                let _ = conn.execute_batch("ROLLBACK");
                Err(msg)
            }
            None => match conn.execute_batch("COMMIT") {
                Ok(()) => {
                    commits.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
                Err(e) => {
                    tracing::error!(error = %e, "sqlite commit failed");
                    if !conn.is_autocommit() {
                        let _ = conn.execute_batch("ROLLBACK");
                    }
                    Err(format!("sqlite: commit failed: {e}"))
                }
            },
        };
        // Ops left unrun by a poisoned batch get the batch's error too.
        for op in ops {
            responders.push(op(None).1);
        }
        for respond in responders {
            respond(outcome.clone());
        }
    }
}

struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    fn take(&self) -> Result<Connection> {
        if let Some(c) = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return Ok(c);
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)
            .ctx(&format!("opening reader on {}", self.path.display()))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .ctx("setting busy_timeout")?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < READERS_MAX {
            idle.push(conn);
        }
    }
}
