//! Connection management: one writer thread doing group commit, a pool of WAL readers.
//!
//! Reads take a pooled read-only connection either on the blocking pool ([`Engine::read`], for
//! anything that may take a while) or right on the calling thread ([`Engine::read_quick`], for
//! point lookups: the hand-off to another thread costs two wake-ups, more than the lookup).
//! A quick read never waits on a lock there; it is rerun through `read` instead.
//!
//! Every write is a closure sent to the writer thread. The thread drains whatever is pending
//! (up to [`BATCH_CAP`]), runs each closure inside its own SAVEPOINT of ONE transaction, commits
//! once and then answers every waiter. A failing closure rolls back only its savepoint. So N
//! concurrent writes cost one fsync, and a write's `Ok` always means "committed".

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{oneshot, Semaphore};

use super::schema;
use sessions_store::{Result, StoreError};

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
        self.map_err(|e| StoreError::backend_from(format!("sqlite: {what}: {e}"), e))
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
                    StoreError::backend_from(format!("creating {}: {e}", parent.display()), e)
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
            return Err(StoreError::backend(format!(
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
            .map_err(|e| {
                StoreError::backend_from(format!("starting sqlite writer thread: {e}"), e)
            })?;
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
                    (_, Err(msg)) => Err(StoreError::backend(msg)),
                    (None, Ok(())) => Err(StoreError::backend("sqlite: write not run")),
                };
                // The caller may have gone away (cancelled request); the write stands anyway.
                let _ = done.send(answer);
            });
            (ok, respond)
        });
        let tx = self.tx.as_ref().ok_or_else(writer_gone)?;
        tx.send(op).map_err(|_| writer_gone())?;
        wait.await.map_err(|_| {
            StoreError::backend(
                "sqlite: write aborted (the operation panicked or the writer stopped)",
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
            .map_err(|_| StoreError::backend("sqlite: reader pool closed"))?;
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
        .map_err(|e| StoreError::backend_from(format!("sqlite: read task failed: {e}"), e))?
    }
}

impl Engine {
    /// Runs a short, index-bounded read (a handful of point lookups) right here on the calling
    /// thread with an idle reader connection, skipping the hand-off to the blocking pool: that
    /// hand-off (two thread wake-ups) costs more than the lookups themselves. It never waits:
    /// with no idle connection, or when the database is busy (in WAL mode only while another
    /// connection recovers the WAL), it runs `f` again through [`Engine::read`].
    pub(super) async fn read_quick<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&mut Connection) -> Result<T> + Send + 'static,
    {
        if let Some(mut conn) = self.readers.take_idle() {
            BUSY_SEEN.with(|b| b.set(false));
            // Give up at once instead of sleeping in SQLite's busy handler on a runtime thread.
            let ready = conn.busy_handler(Some(note_busy)).is_ok();
            // A panicking read is an error for its caller, as on the blocking pool; the
            // connection it used is dropped, not reused.
            let out = match ready.then(|| catch_unwind(AssertUnwindSafe(|| f(&mut conn)))) {
                Some(Err(_)) => {
                    tracing::error!("sqlite read panicked");
                    return Err(StoreError::backend("sqlite: read task failed: panic"));
                }
                Some(Ok(out)) => Some(out),
                None => None,
            };
            let busy = BUSY_SEEN.with(|b| b.replace(false));
            let restored = conn.busy_timeout(BUSY_TIMEOUT).is_ok();
            if restored && conn.is_autocommit() {
                self.readers.give_back(conn);
            }
            match out {
                Some(out) if !(busy && out.is_err()) => return out,
                _ => {}
            }
        }
        self.read(move |c| f(c)).await
    }
}

/// Runs `f` inside one read transaction, so its statements see one snapshot. BEGIN and COMMIT
/// go through the statement cache: parsing them anew costs more than a point lookup.
pub(super) fn snapshot<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T>,
) -> Result<T> {
    let run = |sql: &str| {
        conn.prepare_cached(sql)
            .and_then(|mut s| s.execute([]).map(drop))
    };
    run("BEGIN").ctx("starting read")?;
    let out = f(conn);
    let end = run(if out.is_ok() { "COMMIT" } else { "ROLLBACK" });
    // A failed read is reported as such; a connection left inside its transaction is dropped
    // by the caller, not reused.
    match (out, end) {
        (Ok(v), Ok(())) => Ok(v),
        (Ok(_), Err(e)) => Err(e).ctx("ending read"),
        (Err(e), _) => Err(e),
    }
}

thread_local! {
    /// Set by [`note_busy`] when SQLite reports the database busy during a quick read.
    static BUSY_SEEN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Busy handler of quick reads: remember the database was busy and do not wait.
fn note_busy(_attempts: i32) -> bool {
    BUSY_SEEN.with(|b| b.set(true));
    false
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
    StoreError::backend("sqlite: the writer thread has stopped")
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
    fn take_idle(&self) -> Option<Connection> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop()
    }

    fn take(&self) -> Result<Connection> {
        if let Some(c) = self.take_idle() {
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// Reads `other.db`, a second database in rollback-journal mode attached for the read, so
    /// that a test can lock it exclusively: the one way to make a reader wait on a lock here
    /// (WAL readers of the main database never do, short of WAL recovery).
    fn read_other(c: &Connection, other: &str) -> Result<i64> {
        // A connection whose earlier attempt failed half-way may still have it attached.
        let _ = c.execute("DETACH other", []);
        c.execute("ATTACH ?1 AS other", [other]).ctx("attaching")?;
        let n = c
            .query_row("SELECT count(*) FROM other.t", [], |r| r.get(0))
            .ctx("reading other");
        let _ = c.execute("DETACH other", []);
        n
    }

    /// A quick read that panics (a bug) is an error for its caller, as a read on the blocking
    /// pool is, and the next reads work.
    #[tokio::test(flavor = "current_thread")]
    async fn a_panicking_quick_read_is_an_error_not_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("main.db");
        let engine = tokio::task::spawn_blocking(move || Engine::open(&path))
            .await
            .unwrap()
            .unwrap();
        let one = |c: &mut Connection| {
            c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                .ctx("one")
        };
        // Warm the pool so the read runs inline.
        assert_eq!(engine.read(one).await.unwrap(), 1);
        let err = engine
            .read_quick(|_c: &mut Connection| -> Result<i64> { panic!("a bug") })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("panic"), "{err}");
        assert_eq!(engine.read_quick(one).await.unwrap(), 1);
        assert_eq!(engine.read_quick(one).await.unwrap(), 1);
    }

    /// A quick read that meets a locked database neither fails nor sleeps on the runtime
    /// thread: it is run again on the blocking pool, which waits for the lock while the
    /// runtime (one thread here) goes on running other tasks.
    #[tokio::test(flavor = "current_thread")]
    async fn a_quick_read_waits_for_a_lock_off_the_runtime() {
        let dir = tempfile::tempdir().unwrap();
        let engine = tokio::task::spawn_blocking({
            let path = dir.path().join("main.db");
            move || Engine::open(&path)
        })
        .await
        .unwrap()
        .unwrap();
        let other = dir.path().join("other.db").to_str().unwrap().to_owned();
        {
            let c = Connection::open(&other).unwrap();
            c.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1), (2);")
                .unwrap();
        }
        // Unlocked, the read runs inline.
        let o = other.clone();
        assert_eq!(
            engine.read_quick(move |c| read_other(c, &o)).await.unwrap(),
            2
        );

        // Another connection takes `other.db` exclusively until told to let go.
        let (locked_tx, locked_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let o = other.clone();
        let holder = std::thread::spawn(move || {
            let c = Connection::open(&o).unwrap();
            c.execute_batch("BEGIN EXCLUSIVE; INSERT INTO t VALUES (3);")
                .unwrap();
            locked_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            c.execute_batch("COMMIT").unwrap();
        });
        locked_rx.recv().unwrap();

        let ticks = Arc::new(AtomicUsize::new(0));
        let ticker = tokio::spawn({
            let ticks = ticks.clone();
            async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    ticks.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        let release = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            release_tx.send(()).unwrap();
        });
        let o = other.clone();
        let n = engine.read_quick(move |c| read_other(c, &o)).await.unwrap();
        assert_eq!(n, 3, "the read waited for the holder's commit");
        let seen = ticks.load(Ordering::SeqCst);
        assert!(
            seen >= 20,
            "the runtime ran other tasks meanwhile ({seen} ticks)"
        );
        release.await.unwrap();
        ticker.abort();
        holder.join().unwrap();

        // The connection went back to the pool in working order.
        let o = other.clone();
        assert_eq!(
            engine.read_quick(move |c| read_other(c, &o)).await.unwrap(),
            3
        );
    }
}
