//! The durable inbox (`<data-dir>/bridge.db`, SQLite): every accepted signal, the sign-out
//! actions it asks for, and their outcome.
//!
//! A signal is recorded, with its actions, in one transaction that is on disk (WAL,
//! `synchronous=FULL`) before the transmitter is answered; that is what makes a `202` or `204`
//! safe to give. `(namespace, iss, jti)` is unique, so a replayed SET (or client assertion) is
//! recognised and never acted on twice. Actions stay `pending` until the worker finishes them,
//! so a bridge killed at any point picks its work up again when it starts.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::Serialize;
use serde_json::Value;

use crate::subject::{NotMapped, Target};

/// The database file inside the data dir.
pub const DB_FILE: &str = "bridge.db";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS signals (
    id          INTEGER PRIMARY KEY,
    ns          TEXT NOT NULL,      -- 'set' (push and poll share it) or 'gtr' (client assertions)
    iss         TEXT NOT NULL,
    jti         TEXT NOT NULL,
    via         TEXT NOT NULL,      -- push | poll | gtr
    received_ms INTEGER NOT NULL,
    iat         INTEGER,            -- SETs: unix seconds
    event_types TEXT NOT NULL,      -- JSON array of URIs
    txn         TEXT,
    note        TEXT NOT NULL,      -- sign_out | verification | ignored
    UNIQUE (ns, iss, jti)
);
CREATE TABLE IF NOT EXISTS actions (
    id              INTEGER PRIMARY KEY,
    signal_id       INTEGER NOT NULL REFERENCES signals(id),
    subject         TEXT NOT NULL,  -- the subject identifier, JSON
    target          TEXT,           -- email:... or user:... ; NULL when not mapped
    user_id         TEXT,           -- once looked up
    state           TEXT NOT NULL,  -- pending | signed_out | not_mapped | not_found | failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    detail          TEXT,
    finished_ms     INTEGER
);
CREATE INDEX IF NOT EXISTS actions_pending ON actions (next_attempt_ms) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS actions_signal ON actions (signal_id);
";

/// Inbox failures (SQLite).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InboxError {
    /// SQLite failed.
    #[error("bridge database {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// Why.
        #[source]
        source: rusqlite::Error,
    },
    /// The blocking task running the query panicked or was cancelled.
    #[error("bridge database task failed: {0}")]
    Task(String),
}

/// Where a signal came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// RFC 8935 push.
    Push,
    /// RFC 8936 poll.
    Poll,
    /// Global Token Revocation.
    Gtr,
}

impl Via {
    fn as_str(self) -> &'static str {
        match self {
            Via::Push => "push",
            Via::Poll => "poll",
            Via::Gtr => "gtr",
        }
    }

    fn ns(self) -> &'static str {
        match self {
            Via::Gtr => "gtr",
            Via::Push | Via::Poll => "set",
        }
    }
}

/// What a signal asks for overall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// At least one sign-out.
    SignOut,
    /// A stream verification event.
    Verification,
    /// Nothing we act on.
    Ignored,
}

impl Note {
    fn as_str(self) -> &'static str {
        match self {
            Note::SignOut => "sign_out",
            Note::Verification => "verification",
            Note::Ignored => "ignored",
        }
    }
}

/// A sign-out asked for by a signal.
#[derive(Debug, Clone)]
pub struct NewAction {
    /// The subject identifier as received.
    pub subject: Value,
    /// Whom it names, or why nobody.
    pub target: Result<Target, NotMapped>,
}

/// A verified signal to record.
#[derive(Debug, Clone)]
pub struct NewSignal {
    /// How it arrived.
    pub via: Via,
    /// `iss`.
    pub iss: String,
    /// `jti` (the SET's, or the client assertion's).
    pub jti: String,
    /// `iat` of a SET.
    pub iat: Option<i64>,
    /// Event type URIs.
    pub event_types: Vec<String>,
    /// `txn`.
    pub txn: Option<String>,
    /// What it asks for.
    pub note: Note,
    /// Sign-outs, one per distinct subject.
    pub actions: Vec<NewAction>,
}

/// What recording a signal did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// First time: recorded with these pending action ids.
    New {
        /// The signal's row.
        signal_id: i64,
        /// Its actions still to do (not-mapped ones are already finished).
        pending: Vec<i64>,
    },
    /// Seen before (replay, or redelivery): nothing new was recorded.
    Duplicate,
}

/// A pending action that is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueAction {
    /// Row id.
    pub id: i64,
    /// Whom to sign out.
    pub target: Target,
    /// The Slack user id, once looked up.
    pub user_id: Option<String>,
    /// Attempts made so far.
    pub attempts: u32,
    /// How the signal arrived.
    pub via: Via,
    /// The SET's `iat`, for the lag metric.
    pub iat: Option<i64>,
    /// When the signal was recorded (unix milliseconds).
    pub received_ms: i64,
}

/// Final states of an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Final {
    /// Slack signed the user out (reset or resetBulk answered ok).
    SignedOut,
    /// Nobody in Slack has that email or id.
    NotFound,
    /// Slack kept refusing, or kept failing, until the retry budget ran out.
    Failed,
}

impl Final {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Final::SignedOut => "signed_out",
            Final::NotFound => "not_found",
            Final::Failed => "failed",
        }
    }
}

/// One recorded signal and its actions, for `bridge status`.
#[derive(Debug, Clone, Serialize)]
pub struct SignalStatus {
    /// Row id.
    pub id: i64,
    /// `push`, `poll` or `gtr`.
    pub via: String,
    /// `jti`.
    pub jti: String,
    /// When it was recorded (unix milliseconds).
    pub received_ms: i64,
    /// `iat`.
    pub iat: Option<i64>,
    /// Event type URIs.
    pub event_types: Vec<String>,
    /// `sign_out`, `verification` or `ignored`.
    pub note: String,
    /// Its actions.
    pub actions: Vec<ActionStatus>,
}

/// One action, for `bridge status`.
#[derive(Debug, Clone, Serialize)]
pub struct ActionStatus {
    /// Row id.
    pub id: i64,
    /// The subject as received.
    pub subject: Value,
    /// `email:…` / `user:…`, or none when not mapped.
    pub target: Option<String>,
    /// Slack user id once known.
    pub user_id: Option<String>,
    /// `pending`, `signed_out`, `not_mapped`, `not_found` or `failed`.
    pub state: String,
    /// Attempts made.
    pub attempts: u32,
    /// Last error, or why not mapped.
    pub detail: Option<String>,
    /// When it finished (unix milliseconds).
    pub finished_ms: Option<i64>,
}

/// The inbox database. Cheap to clone; queries run on the blocking pool.
#[derive(Debug, Clone)]
pub struct Inbox {
    path: PathBuf,
    conn: Arc<Mutex<Connection>>,
}

impl Inbox {
    /// Opens (creating if needed) `<dir>/bridge.db`.
    pub fn open(dir: &Path) -> Result<Inbox, InboxError> {
        let path = dir.join(DB_FILE);
        let conn = Connection::open(&path).map_err(|e| sqlite(&path, e))?;
        Inbox::init(path, conn, true)
    }

    /// Opens an existing `<dir>/bridge.db` (for `bridge status`); a missing one is an error.
    pub fn open_existing(dir: &Path) -> Result<Inbox, InboxError> {
        let path = dir.join(DB_FILE);
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| sqlite(&path, e))?;
        Inbox::init(path, conn, false)
    }

    fn init(path: PathBuf, conn: Connection, create: bool) -> Result<Inbox, InboxError> {
        let setup = || -> rusqlite::Result<()> {
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            if create {
                conn.execute_batch(SCHEMA)?;
            }
            Ok(())
        };
        setup().map_err(|e| sqlite(&path, e))?;
        Ok(Inbox {
            path,
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, InboxError> {
        let conn = self.conn.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn).map_err(|e| sqlite(&path, e))
        })
        .await
        .map_err(|e| InboxError::Task(e.to_string()))?
    }

    /// Records a signal and its actions in one durable transaction, unless its
    /// `(namespace, iss, jti)` was recorded before.
    pub async fn record(&self, s: NewSignal, now_ms: i64) -> Result<Recorded, InboxError> {
        self.with(move |conn| {
            let tx = conn.transaction()?;
            let types = serde_json::to_string(&s.event_types).unwrap_or_else(|_| "[]".into());
            let inserted = tx.execute(
                "INSERT INTO signals (ns, iss, jti, via, received_ms, iat, event_types, txn, note)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (ns, iss, jti) DO NOTHING",
                params![
                    s.via.ns(),
                    s.iss,
                    s.jti,
                    s.via.as_str(),
                    now_ms,
                    s.iat,
                    types,
                    s.txn,
                    s.note.as_str()
                ],
            )?;
            if inserted == 0 {
                return Ok(Recorded::Duplicate);
            }
            let signal_id = tx.last_insert_rowid();
            let mut pending = Vec::new();
            for a in &s.actions {
                let subject = a.subject.to_string();
                match &a.target {
                    Ok(t) => {
                        tx.execute(
                            "INSERT INTO actions (signal_id, subject, target, state, next_attempt_ms)
                             VALUES (?1, ?2, ?3, 'pending', ?4)",
                            params![signal_id, subject, t.to_stored(), now_ms],
                        )?;
                        pending.push(tx.last_insert_rowid());
                    }
                    Err(NotMapped(why)) => {
                        tx.execute(
                            "INSERT INTO actions (signal_id, subject, state, next_attempt_ms, detail, finished_ms)
                             VALUES (?1, ?2, 'not_mapped', ?3, ?4, ?3)",
                            params![signal_id, subject, now_ms, why],
                        )?;
                    }
                }
            }
            tx.commit()?;
            Ok(Recorded::New { signal_id, pending })
        })
        .await
    }

    /// Pending actions due at `now_ms`, oldest first, at most `limit`.
    pub async fn due(&self, now_ms: i64, limit: usize) -> Result<Vec<DueAction>, InboxError> {
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT a.id, a.target, a.user_id, a.attempts, s.via, s.iat, s.received_ms
                 FROM actions a JOIN signals s ON s.id = a.signal_id
                 WHERE a.state = 'pending' AND a.next_attempt_ms <= ?1
                 ORDER BY a.next_attempt_ms, a.id LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![now_ms, limit as i64], |r| {
                let target: String = r.get(1)?;
                let via: String = r.get(4)?;
                Ok((
                    r.get::<_, i64>(0)?,
                    target,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, u32>(3)?,
                    via,
                    r.get::<_, Option<i64>>(5)?,
                    r.get::<_, i64>(6)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, target, user_id, attempts, via, iat, received_ms) = row?;
                // Written by us only; an unreadable one would be a bug, not input.
                let Some(target) = Target::from_stored(&target) else {
                    continue;
                };
                let via = match via.as_str() {
                    "poll" => Via::Poll,
                    "gtr" => Via::Gtr,
                    _ => Via::Push,
                };
                out.push(DueAction {
                    id,
                    target,
                    user_id,
                    attempts,
                    via,
                    iat,
                    received_ms,
                });
            }
            Ok(out)
        })
        .await
    }

    /// When the next pending action comes due (unix milliseconds), if any.
    pub async fn next_due_ms(&self) -> Result<Option<i64>, InboxError> {
        self.with(|conn| {
            conn.query_row(
                "SELECT MIN(next_attempt_ms) FROM actions WHERE state = 'pending'",
                [],
                |r| r.get(0),
            )
        })
        .await
    }

    /// Remembers the Slack user id an action's target was found to be.
    pub async fn set_user_id(&self, id: i64, user_id: String) -> Result<(), InboxError> {
        self.with(move |conn| {
            conn.execute(
                "UPDATE actions SET user_id = ?2 WHERE id = ?1",
                params![id, user_id],
            )
            .map(drop)
        })
        .await
    }

    /// Finishes actions.
    pub async fn finish(
        &self,
        ids: Vec<i64>,
        state: Final,
        detail: Option<String>,
        now_ms: i64,
    ) -> Result<(), InboxError> {
        self.with(move |conn| {
            let tx = conn.transaction()?;
            for id in ids {
                tx.execute(
                    "UPDATE actions SET state = ?2, detail = COALESCE(?3, detail), finished_ms = ?4,
                            attempts = attempts + 1
                     WHERE id = ?1 AND state = 'pending'",
                    params![id, state.as_str(), detail, now_ms],
                )?;
            }
            tx.commit()
        })
        .await
    }

    /// Counts a failed attempt and sets when to try again.
    pub async fn retry_later(
        &self,
        id: i64,
        next_attempt_ms: i64,
        detail: String,
    ) -> Result<(), InboxError> {
        self.with(move |conn| {
            conn.execute(
                "UPDATE actions SET attempts = attempts + 1, next_attempt_ms = ?2, detail = ?3
                 WHERE id = ?1 AND state = 'pending'",
                params![id, next_attempt_ms, detail],
            )
            .map(drop)
        })
        .await
    }

    /// An action's state, attempts and detail.
    pub async fn action(&self, id: i64) -> Result<Option<ActionStatus>, InboxError> {
        self.with(move |conn| {
            conn.query_row(
                &format!("{ACTION_COLUMNS} WHERE id = ?1"),
                params![id],
                action_status,
            )
            .optional()
        })
        .await
    }

    /// Counts of actions by state.
    pub async fn counts(&self) -> Result<Vec<(String, i64)>, InboxError> {
        self.with(|conn| {
            let mut stmt =
                conn.prepare("SELECT state, COUNT(*) FROM actions GROUP BY state ORDER BY state")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
        .await
    }

    /// The most recent signals, newest first, with their actions.
    pub async fn recent(&self, limit: usize) -> Result<Vec<SignalStatus>, InboxError> {
        self.with(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT id, via, jti, received_ms, iat, event_types, note
                 FROM signals ORDER BY id DESC LIMIT ?1",
            )?;
            let signals: Vec<SignalStatus> = stmt
                .query_map(params![limit as i64], |r| {
                    let types: String = r.get(5)?;
                    Ok(SignalStatus {
                        id: r.get(0)?,
                        via: r.get(1)?,
                        jti: r.get(2)?,
                        received_ms: r.get(3)?,
                        iat: r.get(4)?,
                        event_types: serde_json::from_str(&types).unwrap_or_default(),
                        note: r.get(6)?,
                        actions: Vec::new(),
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut stmt = conn.prepare(&format!(
                "{ACTION_COLUMNS} WHERE signal_id = ?1 ORDER BY id"
            ))?;
            let mut out = Vec::with_capacity(signals.len());
            for mut s in signals {
                s.actions = stmt
                    .query_map(params![s.id], action_status)?
                    .collect::<rusqlite::Result<_>>()?;
                out.push(s);
            }
            Ok(out)
        })
        .await
    }
}

const ACTION_COLUMNS: &str =
    "SELECT id, subject, target, user_id, state, attempts, detail, finished_ms FROM actions";

fn action_status(r: &rusqlite::Row<'_>) -> rusqlite::Result<ActionStatus> {
    let subject: String = r.get(1)?;
    Ok(ActionStatus {
        id: r.get(0)?,
        subject: serde_json::from_str(&subject).unwrap_or(Value::Null),
        target: r.get(2)?,
        user_id: r.get(3)?,
        state: r.get(4)?,
        attempts: r.get(5)?,
        detail: r.get(6)?,
        finished_ms: r.get(7)?,
    })
}

fn sqlite(path: &Path, source: rusqlite::Error) -> InboxError {
    InboxError::Sqlite {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn signal(jti: &str, via: Via, actions: Vec<NewAction>) -> NewSignal {
        NewSignal {
            via,
            iss: "https://idp.example".into(),
            jti: jti.into(),
            iat: Some(100),
            event_types: vec![crate::events::CAEP_SESSION_REVOKED.into()],
            txn: None,
            note: Note::SignOut,
            actions,
        }
    }

    fn to(email: &str) -> NewAction {
        NewAction {
            subject: json!({"format": "email", "email": email}),
            target: Ok(Target::Email(email.into())),
        }
    }

    #[tokio::test]
    async fn a_jti_is_recorded_once_per_namespace_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = Inbox::open(dir.path()).unwrap();
        let first = inbox
            .record(signal("j1", Via::Push, vec![to("a@x.io")]), 1000)
            .await
            .unwrap();
        let Recorded::New { pending, .. } = first else {
            panic!("{first:?}")
        };
        assert_eq!(pending.len(), 1);
        // Push and poll share the SET namespace; a client assertion with the same jti does not.
        assert_eq!(
            inbox
                .record(signal("j1", Via::Poll, vec![to("a@x.io")]), 1001)
                .await
                .unwrap(),
            Recorded::Duplicate
        );
        assert!(matches!(
            inbox
                .record(signal("j1", Via::Gtr, vec![to("a@x.io")]), 1002)
                .await
                .unwrap(),
            Recorded::New { .. }
        ));
        drop(inbox);
        let inbox = Inbox::open_existing(dir.path()).unwrap();
        let due = inbox.due(2000, 10).await.unwrap();
        assert_eq!(due.len(), 2);
        assert_eq!(due[0].target, Target::Email("a@x.io".into()));
        assert_eq!(due[0].via, Via::Push);
        assert_eq!(due[1].via, Via::Gtr);
    }

    #[tokio::test]
    async fn retries_come_due_later_and_finished_actions_leave_the_queue() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = Inbox::open(dir.path()).unwrap();
        let not_mapped = NewAction {
            subject: json!({"format": "opaque", "id": "x"}),
            target: Err(NotMapped("opaque".into())),
        };
        inbox
            .record(
                signal("j1", Via::Push, vec![to("a@x.io"), not_mapped]),
                1000,
            )
            .await
            .unwrap();
        let due = inbox.due(1000, 10).await.unwrap();
        assert_eq!(due.len(), 1, "the not-mapped action is finished at once");
        inbox
            .retry_later(due[0].id, 5000, "ratelimited".into())
            .await
            .unwrap();
        assert!(inbox.due(4999, 10).await.unwrap().is_empty());
        assert_eq!(inbox.next_due_ms().await.unwrap(), Some(5000));
        let again = inbox.due(5000, 10).await.unwrap();
        assert_eq!(again[0].attempts, 1);
        inbox.set_user_id(again[0].id, "W1".into()).await.unwrap();
        inbox
            .finish(vec![again[0].id], Final::SignedOut, None, 6000)
            .await
            .unwrap();
        assert!(inbox.due(i64::MAX, 10).await.unwrap().is_empty());
        let recent = inbox.recent(10).await.unwrap();
        let states: Vec<_> = recent[0].actions.iter().map(|a| a.state.as_str()).collect();
        assert_eq!(states, ["signed_out", "not_mapped"]);
        assert_eq!(recent[0].actions[0].user_id.as_deref(), Some("W1"));
        assert_eq!(recent[0].actions[0].attempts, 2);
    }

    #[test]
    fn opening_a_missing_database_for_status_fails() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Inbox::open_existing(dir.path()).is_err());
    }
}
