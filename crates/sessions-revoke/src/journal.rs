//! The journal: the plan and every settled action, on disk before the next call.
//!
//! Format (JSON lines, UTF-8, one object per line, each line ended by `\n`):
//!
//! ```text
//! {"journal":"slack-sessions-revoke","version":1,"plan":{...the Plan...}}
//! {"run":"started","at":1733212345,"pid":4242}
//! {"i":0,"r":"users_failed","users":[17],"code":"user_not_found","detail":"..."}
//! {"i":0,"r":"done"}
//! {"i":1,"r":"already_done"}
//! {"i":2,"r":"failed","code":"cannot_invalidate_primary_owner","detail":"..."}
//! ```
//!
//! * Line 1 is the plan; it is written and fsynced (file and directory) before any call is
//!   made, so a journal either has a complete plan or nothing was done.
//! * `i` is an action index ([`crate::Plan::action`]: resets first, then invalidations).
//!   `done`: Slack answered `ok`; `already_done`: `session_not_found` on an invalidate (the
//!   session had ended); `failed`: refused for a reason retrying cannot fix (named by `code`);
//!   `users_failed`: users Slack named as refused within a `resetBulk` chunk, which is then
//!   sent again without them, or the one user of a `reset` Slack refused (the action then
//!   ends `failed` with `all_users_refused`, as a chunk whose users were all refused does).
//! * Each record is appended and fsynced before the next call. An action with no record was
//!   not acknowledged and is sent again on resume: an invalidate whose first call did land
//!   then answers `session_not_found` and counts as already done, so no session is ever ended
//!   twice; a `reset` or `resetBulk` chunk may be sent twice, which ends nothing new.
//! * A last line without its `\n` is a write torn by a crash: it is ignored and cut off before
//!   the next append. Any other unreadable line makes the journal refused.
//! * The file is held under an exclusive OS lock (`flock`) while a run uses it; a second run
//!   on the same journal is refused with [`Error::JournalLocked`].

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::plan::Plan;
use crate::Error;

/// The `journal` value of line 1.
pub const JOURNAL_KIND: &str = "slack-sessions-revoke";
/// The format version this build writes and reads.
pub const JOURNAL_VERSION: u32 = 1;

/// How an action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    /// Not acknowledged yet (never sent, or its answer was not recorded).
    Pending,
    /// Slack answered `ok`.
    Done,
    /// The session had already ended (`session_not_found`).
    AlreadyDone,
    /// Refused for a reason retrying cannot fix.
    Failed,
}

/// Why an action (or one user of a reset chunk) failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Slack's error code.
    pub code: String,
    /// Slack's messages or the error in words.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// One journal line after the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Record {
    /// A run started (or resumed) on this journal.
    Run {
        /// `started`.
        run: String,
        /// Unix seconds.
        at: u64,
        /// Process id of the run.
        pid: u32,
    },
    /// An action settled, or users of a chunk refused.
    Action {
        /// Action index.
        i: usize,
        /// What happened.
        #[serde(flatten)]
        result: ActionRecord,
    },
}

/// What happened to an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "r", rename_all = "snake_case")]
pub enum ActionRecord {
    /// Slack answered `ok`.
    Done,
    /// `session_not_found` on an invalidate.
    AlreadyDone,
    /// Refused for good.
    Failed(Failure),
    /// These users (plan indexes) of a `reset` or `resetBulk` chunk were refused.
    UsersFailed {
        /// The users.
        users: Vec<u32>,
        /// Why.
        #[serde(flatten)]
        failure: Failure,
    },
}

#[derive(Serialize, Deserialize)]
struct Header<P> {
    journal: String,
    version: u32,
    plan: P,
}

/// Counts over a plan's actions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Actions in the plan.
    pub total: u64,
    /// Answered `ok`.
    pub done: u64,
    /// Sessions that had already ended.
    pub already_done: u64,
    /// Refused for good.
    pub failed: u64,
    /// Not yet acknowledged.
    pub pending: u64,
}

impl Counts {
    /// Actions settled one way or another.
    pub fn settled(&self) -> u64 {
        self.done + self.already_done + self.failed
    }
}

/// Where each action stands, as read from (and kept in step with) the journal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalState {
    status: Vec<ActionStatus>,
    failures: HashMap<usize, Failure>,
    user_failures: HashMap<usize, Vec<(u32, Failure)>>,
    runs: u32,
}

impl JournalState {
    fn new(actions: usize) -> JournalState {
        JournalState {
            status: vec![ActionStatus::Pending; actions],
            ..Default::default()
        }
    }

    fn apply(&mut self, rec: &Record) -> Result<(), String> {
        let (i, result) = match rec {
            Record::Run { .. } => {
                self.runs += 1;
                return Ok(());
            }
            Record::Action { i, result } => (*i, result),
        };
        let Some(st) = self.status.get_mut(i) else {
            return Err(format!(
                "record for action {i}, which the plan does not have"
            ));
        };
        match result {
            ActionRecord::Done => *st = ActionStatus::Done,
            ActionRecord::AlreadyDone => *st = ActionStatus::AlreadyDone,
            ActionRecord::Failed(f) => {
                *st = ActionStatus::Failed;
                self.failures.insert(i, f.clone());
            }
            ActionRecord::UsersFailed { users, failure } => {
                let list = self.user_failures.entry(i).or_default();
                for &u in users {
                    if !list.iter().any(|(x, _)| *x == u) {
                        list.push((u, failure.clone()));
                    }
                }
            }
        }
        Ok(())
    }

    /// Status of action `i`.
    pub fn status(&self, i: usize) -> ActionStatus {
        self.status.get(i).copied().unwrap_or(ActionStatus::Pending)
    }

    /// Why action `i` failed, if it did.
    pub fn failure(&self, i: usize) -> Option<&Failure> {
        self.failures.get(&i)
    }

    /// Users of reset chunk `i` that Slack refused, with why.
    pub fn user_failures(&self, i: usize) -> &[(u32, Failure)] {
        self.user_failures.get(&i).map_or(&[], Vec::as_slice)
    }

    /// Users refused within reset chunks, over all chunks.
    pub fn refused_user_count(&self) -> u64 {
        self.user_failures.values().map(|v| v.len() as u64).sum()
    }

    /// Runs started on this journal (a resume is the second).
    pub fn runs(&self) -> u32 {
        self.runs
    }

    /// Counts by status.
    pub fn counts(&self) -> Counts {
        let mut c = Counts {
            total: self.status.len() as u64,
            ..Counts::default()
        };
        for s in &self.status {
            match s {
                ActionStatus::Pending => c.pending += 1,
                ActionStatus::Done => c.done += 1,
                ActionStatus::AlreadyDone => c.already_done += 1,
                ActionStatus::Failed => c.failed += 1,
            }
        }
        c
    }

    /// Indexes of actions not yet acknowledged, in order.
    pub fn pending(&self) -> impl Iterator<Item = usize> + '_ {
        self.status
            .iter()
            .enumerate()
            .filter(|(_, s)| **s == ActionStatus::Pending)
            .map(|(i, _)| i)
    }
}

/// An open journal: its plan, where each action stands, and the file under an exclusive lock
/// (released when dropped).
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    plan: Plan,
    state: JournalState,
}

fn lock(file: &File, path: &Path) -> Result<(), Error> {
    use rustix::fs::{flock, FlockOperation};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(()),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => Err(Error::JournalLocked {
            path: path.to_owned(),
        }),
        Err(e) => Err(Error::Io {
            context: format!("locking journal {}", path.display()),
            source: e.into(),
        }),
    }
}

fn sync_dir(path: &Path) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io(format!("syncing directory {}", dir.display())))
}

impl Journal {
    /// Creates a new journal at `path` (which must not exist), locks it and writes the plan,
    /// durably, before returning.
    pub fn create(path: &Path, plan: Plan) -> Result<Journal, Error> {
        let ctx = |what: &str| format!("{what} journal {}", path.display());
        // Owner-only: a journal names users, emails and sessions.
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(Error::io(ctx("creating")))?;
        lock(&file, path)?;
        {
            let mut w = BufWriter::with_capacity(1 << 20, &mut file);
            serde_json::to_writer(
                &mut w,
                &Header {
                    journal: JOURNAL_KIND.to_owned(),
                    version: JOURNAL_VERSION,
                    plan: &plan,
                },
            )
            .map_err(|e| Error::Io {
                context: ctx("writing"),
                source: e.into(),
            })?;
            w.write_all(b"\n").map_err(Error::io(ctx("writing")))?;
            w.flush().map_err(Error::io(ctx("writing")))?;
        }
        file.sync_all().map_err(Error::io(ctx("syncing")))?;
        sync_dir(path)?;
        let state = JournalState::new(plan.action_count());
        Ok(Journal {
            path: path.to_owned(),
            file,
            plan,
            state,
        })
    }

    /// Opens an existing journal to resume it: takes the lock (or fails with
    /// [`Error::JournalLocked`]), reads the plan and every record, and cuts off a torn last line.
    pub fn open(path: &Path) -> Result<Journal, Error> {
        let bad = |message: String| Error::Journal {
            path: path.to_owned(),
            message,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(path)
            .map_err(Error::io(format!("opening journal {}", path.display())))?;
        lock(&file, path)?;
        let mut reader = BufReader::with_capacity(1 << 20, &file);
        let mut line = Vec::new();
        let read = |r: &mut BufReader<&File>, line: &mut Vec<u8>| {
            line.clear();
            r.read_until(b'\n', line)
                .map_err(Error::io(format!("reading journal {}", path.display())))
        };
        let n = read(&mut reader, &mut line)?;
        if n == 0 || line.last() != Some(&b'\n') {
            return Err(bad(
                "it holds no complete plan (the run that made it stopped before sending \
                 anything); plan again"
                    .into(),
            ));
        }
        // Kind and version first (the plan skipped unparsed), then the plan straight into its
        // compact form: no intermediate JSON tree of a million entries.
        let probe: Header<serde::de::IgnoredAny> = serde_json::from_slice(&line)
            .map_err(|e| bad(format!("not a revocation journal: {e}")))?;
        if probe.journal != JOURNAL_KIND {
            return Err(bad("not a revocation journal".into()));
        }
        if probe.version != JOURNAL_VERSION {
            return Err(bad(format!(
                "format version {} (this build reads {JOURNAL_VERSION})",
                probe.version
            )));
        }
        let plan = serde_json::from_slice::<Header<Plan>>(&line)
            .map_err(|e| bad(format!("its plan cannot be read: {e}")))?
            .plan;
        let mut state = JournalState::new(plan.action_count());
        let mut good_len = n as u64;
        let mut line_no = 1;
        loop {
            let n = read(&mut reader, &mut line)?;
            if n == 0 {
                break;
            }
            line_no += 1;
            if line.last() != Some(&b'\n') {
                // A torn write: the process died while appending. The action it recorded was
                // not acknowledged to anyone and is done again.
                tracing::warn!(line = line_no, "journal ends with a torn line; ignoring it");
                break;
            }
            let rec: Record = serde_json::from_slice(&line)
                .map_err(|e| bad(format!("line {line_no} cannot be read: {e}")))?;
            state
                .apply(&rec)
                .map_err(|m| bad(format!("line {line_no}: {m}")))?;
            good_len += n as u64;
        }
        drop(reader);
        let len = file
            .seek(SeekFrom::End(0))
            .map_err(Error::io(format!("reading journal {}", path.display())))?;
        if len != good_len {
            file.set_len(good_len)
                .and_then(|()| file.sync_all())
                .map_err(Error::io(format!("repairing journal {}", path.display())))?;
        }
        Ok(Journal {
            path: path.to_owned(),
            file,
            plan,
            state,
        })
    }

    /// Where the journal is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its plan.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Where each action stands.
    pub fn state(&self) -> &JournalState {
        &self.state
    }

    /// Appends a record and fsyncs it, then applies it to the state. Nothing is applied when
    /// the write fails.
    pub fn record(&mut self, rec: &Record) -> Result<(), Error> {
        let mut line = serde_json::to_vec(rec).map_err(|e| Error::Io {
            context: format!("writing journal {}", self.path.display()),
            source: e.into(),
        })?;
        line.push(b'\n');
        let ctx = || format!("writing journal {}", self.path.display());
        self.file.write_all(&line).map_err(Error::io(ctx()))?;
        self.file.sync_data().map_err(Error::io(ctx()))?;
        self.state.apply(rec).map_err(|message| Error::Journal {
            path: self.path.clone(),
            message,
        })
    }
}

/// A new journal path in `dir`: `revoke-<unix seconds>-<pid>.jsonl`.
pub fn default_journal_path(dir: &Path) -> PathBuf {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    dir.join(format!("revoke-{secs}-{}.jsonl", std::process::id()))
}

/// Where journals go by default: `$XDG_STATE_HOME/slack-sessions/journals`, else
/// `~/.local/state/slack-sessions/journals`, else the current directory.
pub fn default_journal_dir() -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local/state"))
        });
    match base {
        Some(b) => b.join("slack-sessions").join("journals"),
        None => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Actor, Invalidation, PlanStats, PlannedUser};
    use crate::Selection;

    fn plan() -> Plan {
        Plan {
            created_unix: 1,
            api_url: "http://127.0.0.1:1/api/".into(),
            actor: Actor {
                user_id: "W0ADMIN".into(),
                team_id: "T1".into(),
                enterprise_id: None,
            },
            selection: Selection::default(),
            users: vec![PlannedUser {
                id: "W1".into(),
                email: None,
            }],
            teams: vec!["T1".into()],
            unresolved: vec![],
            resets: vec![vec![0]],
            invalidations: (0..3)
                .map(|s| Invalidation {
                    user: 0,
                    team: 0,
                    session: 100 + s,
                })
                .collect(),
            stats: PlanStats::default(),
            sample: vec![],
        }
    }

    fn done(i: usize) -> Record {
        Record::Action {
            i,
            result: ActionRecord::Done,
        }
    }

    #[test]
    fn records_survive_reopening_and_a_torn_tail_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        {
            let mut j = Journal::create(&path, plan()).unwrap();
            j.record(&done(0)).unwrap();
            j.record(&Record::Action {
                i: 1,
                result: ActionRecord::AlreadyDone,
            })
            .unwrap();
            j.record(&Record::Action {
                i: 2,
                result: ActionRecord::Failed(Failure {
                    code: "cannot_invalidate_primary_owner".into(),
                    detail: String::new(),
                }),
            })
            .unwrap();
        }
        // A crash mid-append leaves half a line.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"i\":3,\"r\":\"do").unwrap();
        drop(f);
        let j = Journal::open(&path).unwrap();
        assert_eq!(j.plan(), &plan());
        let c = j.state().counts();
        assert_eq!((c.done, c.already_done, c.failed, c.pending), (1, 1, 1, 1));
        assert_eq!(j.state().pending().collect::<Vec<_>>(), [3]);
        assert_eq!(
            j.state().failure(2).unwrap().code,
            "cannot_invalidate_primary_owner"
        );
        drop(j);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.ends_with("\"failed\",\"code\":\"cannot_invalidate_primary_owner\"}\n"),
            "{text}"
        );
        // Appending after the repair gives a readable journal.
        let mut j = Journal::open(&path).unwrap();
        j.record(&done(3)).unwrap();
        drop(j);
        assert_eq!(Journal::open(&path).unwrap().state().counts().pending, 0);
    }

    #[test]
    fn a_second_opener_is_refused_while_the_first_holds_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let j = Journal::create(&path, plan()).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "journals are the owner's only");
        assert!(matches!(
            Journal::open(&path),
            Err(Error::JournalLocked { .. })
        ));
        drop(j);
        let _again = Journal::open(&path).unwrap();
        // An existing file is never overwritten by create.
        assert!(matches!(
            Journal::create(&path, plan()),
            Err(Error::Io { .. })
        ));
    }

    #[test]
    fn foreign_damaged_and_empty_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        for (text, want) in [
            ("", "no complete plan"),
            (
                "{\"journal\":\"slack-sessions-revoke\",\"version\":1",
                "no complete plan",
            ),
            ("{\"hello\":1}\n", "not a revocation journal"),
            (
                "{\"journal\":\"other\",\"version\":1,\"plan\":{}}\n",
                "not a revocation journal",
            ),
        ] {
            std::fs::write(&p, text).unwrap();
            let err = Journal::open(&p).unwrap_err().to_string();
            assert!(err.contains(want), "{text:?}: {err}");
        }
        let path = dir.path().join("j.jsonl");
        drop(Journal::create(&path, plan()).unwrap());
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"garbage\n{\"i\":0,\"r\":\"done\"}\n").unwrap();
        drop(f);
        let err = Journal::open(&path).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
        std::fs::remove_file(&path).unwrap();
        drop(Journal::create(&path, plan()).unwrap());
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"i\":99,\"r\":\"done\"}\n").unwrap();
        drop(f);
        let err = Journal::open(&path).unwrap_err().to_string();
        assert!(err.contains("does not have"), "{err}");
    }

    #[test]
    fn user_failures_accumulate_per_chunk() {
        let mut s = JournalState::new(1);
        let f = Failure {
            code: "user_not_found".into(),
            detail: String::new(),
        };
        for users in [vec![3, 4], vec![4, 5]] {
            s.apply(&Record::Action {
                i: 0,
                result: ActionRecord::UsersFailed {
                    users,
                    failure: f.clone(),
                },
            })
            .unwrap();
        }
        let got: Vec<u32> = s.user_failures(0).iter().map(|(u, _)| *u).collect();
        assert_eq!(got, [3, 4, 5]);
        assert_eq!(s.status(0), ActionStatus::Pending);
    }
}
