//! Remembered token lookups, used only while the database is unchanged.
//!
//! Every API call starts by authenticating, and that lookup (up to three indexed statements in
//! one read transaction) costs more than the rest of a cheap call such as `auth.test`. A cache is
//! only correct if it learns of every write, including writes by another process sharing the
//! file. SQLite already keeps that fact: in WAL mode each commit, from any connection in any
//! process, rewrites the wal-index header at the start of the `-shm` file (SQLite's documented
//! "WAL-mode file format": two copies of a 48-byte header holding the last frame, its
//! checksums and the WAL salts). Readers learn of new commits from that header, so while it is
//! byte-for-byte the same, no commit has become visible and a remembered lookup is still what
//! the database would answer.
//!
//! So an entry records the header as read *before* its lookup ran, and is served only while the
//! header still reads the same. Any commit anywhere (a revoked token, an invalidated or reset
//! session, a settings change, a fixture load, another node or the `sqlite3` shell) therefore
//! sends the next call back to the database. A session's expiry time is kept with it and checked
//! against each caller's `now`, so a session still ends on time. Only successful lookups are
//! kept (unknown tokens would let a caller fill memory), and at most [`CAPACITY`] of them.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use sessions_store::{PrincipalKind, TokenCacheStats, TokenHash, TokenLookup, UnixTime};

/// Most lookups kept; past it the stale ones go, and if none is stale, all of them.
const CAPACITY: usize = 10_000;
/// Size of one copy of the wal-index header.
const HEADER: usize = 48;
/// Offset of `isInit` in the header: 1 once SQLite has written it.
const IS_INIT: usize = 12;

/// A snapshot of the wal-index header: equal snapshots mean no commit in between.
pub(super) type Seen = [u8; HEADER];

/// What [`TokenCache::get`] found.
pub(super) enum Cached {
    /// The remembered answer, still current.
    Hit(TokenLookup),
    /// Nothing current: ask the database, then [`TokenCache::put`] its answer with this header,
    /// read before the database was asked (`None`: nothing can be remembered now).
    Miss(Option<Seen>),
}

#[derive(Debug)]
struct Entry {
    seen: Seen,
    lookup: TokenLookup,
    /// When the session behind a session token expires (`None`: never, or an API token).
    expires_at: Option<UnixTime>,
}

pub(super) struct TokenCache {
    /// The `-shm` file; `None` turns the cache off.
    shm: Option<File>,
    entries: Mutex<HashMap<[u8; 32], Entry>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// Counts only: the entries are token digests and principals, of no use in a log line.
impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let entries = self.entries.lock().map_or(0, |e| e.len());
        f.debug_struct("TokenCache")
            .field("enabled", &self.enabled())
            .field("entries", &entries)
            .field("stats", &self.stats())
            .finish()
    }
}

impl TokenCache {
    /// A cache watching the wal-index of the database at `db` (its `-shm` file must exist: open
    /// after a connection has read the database in WAL mode). Off when `on` is false or the
    /// file cannot be opened.
    pub(super) fn new(db: &Path, on: bool) -> TokenCache {
        let mut shm = db.as_os_str().to_owned();
        shm.push("-shm");
        let shm = on.then(|| File::open(&shm)).and_then(|f| match f {
            Ok(f) => Some(f),
            Err(e) => {
                tracing::warn!(error = %e, "sqlite: no wal-index to watch; token cache off");
                None
            }
        });
        TokenCache {
            shm,
            entries: Mutex::new(HashMap::new()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Whether lookups are remembered at all.
    pub(super) fn enabled(&self) -> bool {
        self.shm.is_some()
    }

    /// The wal-index header now, or `None` when it cannot be trusted (off, unreadable, not yet
    /// written, or being rewritten at this very moment: SQLite writes the second copy first and
    /// readers, like SQLite's own, take the header only when both copies agree).
    fn seen(&self) -> Option<Seen> {
        let mut both = [0u8; 2 * HEADER];
        self.shm.as_ref()?.read_exact_at(&mut both, 0).ok()?;
        let (first, second) = both.split_at(HEADER);
        if first != second || first[IS_INIT] != 1 {
            return None;
        }
        first.try_into().ok()
    }

    /// Hits and misses so far (`None` when off).
    pub(super) fn stats(&self) -> Option<TokenCacheStats> {
        self.enabled().then(|| TokenCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        })
    }

    /// The remembered lookup of `token`, if the database has not changed since it was made.
    pub(super) fn get(&self, token: &TokenHash, now: UnixTime) -> Cached {
        if self.shm.is_none() {
            return Cached::Miss(None);
        }
        let seen = self.seen();
        let found = seen.and_then(|seen| self.lookup(token, seen, now));
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        match found {
            Some(lookup) => Cached::Hit(lookup),
            None => Cached::Miss(seen),
        }
    }

    fn lookup(&self, token: &TokenHash, seen: Seen, now: UnixTime) -> Option<TokenLookup> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get(&token.0).filter(|e| e.seen == seen)?;
        if entry.expires_at.is_some_and(|e| e <= now) {
            return Some(TokenLookup::SessionEnded);
        }
        Some(entry.lookup.clone())
    }

    /// Remembers a lookup made after the header read `seen`.
    pub(super) fn put(
        &self,
        token: &TokenHash,
        seen: Seen,
        lookup: &TokenLookup,
        expires_at: Option<UnixTime>,
    ) {
        if self.shm.is_none() {
            return;
        }
        let TokenLookup::Active(principal) = lookup else {
            return;
        };
        // Expiry is only meaningful for session tokens.
        let expires_at = match principal.kind {
            PrincipalKind::Session(_) => expires_at,
            _ => None,
        };
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CAPACITY && !entries.contains_key(&token.0) {
            entries.retain(|_, e| e.seen == seen);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(
            token.0,
            Entry {
                seen,
                lookup: lookup.clone(),
                expires_at,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Debug` (what a log line of the store would show) gives counts, never digests or who
    /// a token belongs to.
    #[test]
    fn debug_shows_counts_only() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        std::fs::write(dir.path().join("x.db-shm"), [0u8; 96]).unwrap();
        let cache = TokenCache::new(&db, true);
        let principal = sessions_store::Principal {
            org: sessions_store::OrgRow {
                org_id: "E1".into(),
                name: "Secret Org".into(),
            },
            user: sessions_store::UserRow {
                org_id: "E1".into(),
                user_id: "W1".into(),
                name: "alice".into(),
                role: sessions_store::Role::Admin,
                is_bot: false,
                teams: vec![],
            },
            kind: PrincipalKind::UserToken,
            scopes: vec![],
            team: None,
        };
        let token = TokenHash::of("xoxp-secret");
        let lookup = TokenLookup::Active(std::sync::Arc::new(principal));
        cache.put(&token, [7; HEADER], &lookup, None);
        let shown = format!("{cache:?}");
        assert!(shown.contains("entries: 1"), "{shown}");
        for leak in ["alice", "Secret Org", &token.to_hex()[..16], "[7, 7"] {
            assert!(!shown.contains(leak), "{leak} in {shown}");
        }
    }
}
