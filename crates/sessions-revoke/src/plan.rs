//! The plan: who was found, what will be called, and how long it will take. Pure data,
//! serialized as the journal's first line.
//!
//! Compact by design, so that a plan of 1,000,000 matched sessions stays far under 200 MB:
//! users and teams are interned once (actions hold `u32` indexes), a session is its numeric
//! id, and an invalidation is 16 bytes in memory and `[user, team, session]` in JSON. Nothing
//! else of a listed session (devices, ips) is kept.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sessions_wire::{
    ActiveSession, ResetBulkRequest, ResetRequest, ResetScope, SessionId, USER_IDS_MAX,
};

use crate::api::Call;
use crate::pace::Pacing;
use crate::select::Selection;

/// Who runs the job (from `auth.test`); a resume must be by the same user of the same org.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The token's user.
    pub user_id: String,
    /// The token's workspace.
    pub team_id: String,
    /// The Grid org.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enterprise_id: Option<String>,
}

/// A user the plan acts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedUser {
    /// User id.
    pub id: String,
    /// Email, when the user was named by it or it was looked up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// An entry of the selection that named nobody the plan can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unresolved {
    /// The entry as given (`dana@acme.example`, `W0NOPE`).
    pub entry: String,
    /// Slack's error code (`users_not_found`, `user_not_found`, ...).
    pub code: String,
    /// Why, in words.
    pub reason: String,
}

/// One session to end with `admin.users.session.invalidate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(from = "(u32, u32, u64)", into = "(u32, u32, u64)")]
pub struct Invalidation {
    /// Index into [`Plan::users`].
    pub user: u32,
    /// Index into [`Plan::teams`].
    pub team: u32,
    /// The session.
    pub session: u64,
}

impl From<(u32, u32, u64)> for Invalidation {
    fn from((user, team, session): (u32, u32, u64)) -> Self {
        Invalidation {
            user,
            team,
            session,
        }
    }
}

impl From<Invalidation> for (u32, u32, u64) {
    fn from(i: Invalidation) -> Self {
        (i.user, i.team, i.session)
    }
}

/// One action of a plan, by index: resets come first, then invalidations. Which reset call a
/// whole-user chunk is, is decided by [`reset_call`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action<'a> {
    /// One `reset` call: a chunk of exactly one user (index into [`Plan::users`]).
    Reset {
        /// The user.
        user: u32,
        /// Which of their sessions.
        scope: ResetScope,
    },
    /// One `resetBulk` call for these users (two or more; indexes into [`Plan::users`]).
    ResetBulk {
        /// Users of the chunk.
        users: &'a [u32],
        /// Which of their sessions.
        scope: ResetScope,
    },
    /// One `invalidate` call.
    Invalidate(Invalidation),
}

impl Action<'_> {
    /// The Web API call this action makes.
    pub fn call(&self) -> Call {
        match self {
            Action::Reset { .. } => Call::Reset,
            Action::ResetBulk { .. } => Call::ResetBulk,
            Action::Invalidate(_) => Call::Invalidate,
        }
    }
}

/// The call that resets a whole-user chunk: `admin.users.session.reset` for one user,
/// `admin.users.session.resetBulk` for two or more. Both are Tier 2, so one user costs the
/// same either way, but `reset` is synchronous (its `ok` means the sessions are ended) while
/// `resetBulk` only queues a job (its `ok` means the job was accepted).
pub fn reset_call(users: &[u32]) -> Call {
    if users.len() == 1 {
        Call::Reset
    } else {
        Call::ResetBulk
    }
}

/// Counts taken while planning, for the plan's printout.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanStats {
    /// Entries (deduplicated) that named a user, the caller included.
    pub users_resolved: u64,
    /// Sessions listed (before filters).
    pub sessions_scanned: u64,
    /// Sessions of the caller left alone (no `--include-self`).
    pub own_sessions_skipped: u64,
    /// Whether the caller was among the users named and was left out.
    pub own_user_skipped: bool,
    /// Calls made to build the plan, by method.
    pub calls: Vec<(Call, u64)>,
}

/// What a run will do. Built by [`crate::build_plan`], stored as the journal's
/// first line, never changed afterwards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// When the plan was made (unix seconds).
    pub created_unix: u64,
    /// API root it was made against; a resume goes there again.
    pub api_url: String,
    /// Who made it.
    pub actor: Actor,
    /// What was asked for.
    pub selection: Selection,
    /// Users acted on, interned (actions hold indexes).
    pub users: Vec<PlannedUser>,
    /// Workspaces of invalidated sessions, interned.
    pub teams: Vec<String>,
    /// Entries that named nobody to act on (a run with any ends with exit 3).
    pub unresolved: Vec<Unresolved>,
    /// Whole-user chunks: users per call (at most 1,000), all with `selection.scope`; one
    /// `reset` call for a chunk of one user, one `resetBulk` otherwise ([`reset_call`]).
    pub resets: Vec<Vec<u32>>,
    /// `invalidate` calls, sorted by session id.
    pub invalidations: Vec<Invalidation>,
    /// Counts taken while planning.
    pub stats: PlanStats,
    /// The first [`SAMPLE_SIZE`] matched sessions as listed (devices, ips, versions), for
    /// people to check the selection; the only session details a plan keeps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sample: Vec<ActiveSession>,
}

/// Most matched sessions kept whole in [`Plan::sample`].
pub const SAMPLE_SIZE: usize = 20;

impl Plan {
    /// Number of actions (calls) the run makes.
    pub fn action_count(&self) -> usize {
        self.resets.len() + self.invalidations.len()
    }

    /// Action `i` (`i < action_count()`).
    pub fn action(&self, i: usize) -> Option<Action<'_>> {
        if let Some(users) = self.resets.get(i) {
            let scope = self.selection.scope;
            Some(match (reset_call(users), users.as_slice()) {
                (Call::Reset, &[user]) => Action::Reset { user, scope },
                _ => Action::ResetBulk { users, scope },
            })
        } else {
            self.invalidations
                .get(i - self.resets.len())
                .copied()
                .map(Action::Invalidate)
        }
    }

    /// The users of action `i` when it is a whole-user chunk (`reset` or `resetBulk`).
    pub fn reset_chunk(&self, i: usize) -> Option<&[u32]> {
        self.resets.get(i).map(Vec::as_slice)
    }

    /// The user at an index.
    pub fn user(&self, ix: u32) -> &PlannedUser {
        &self.users[ix as usize]
    }

    /// The team at an index.
    pub fn team(&self, ix: u32) -> &str {
        &self.teams[ix as usize]
    }

    /// Users whose sessions whole-user resets end.
    pub fn reset_user_count(&self) -> usize {
        self.resets.iter().map(Vec::len).sum()
    }

    /// Calls the run makes, by method.
    pub fn calls(&self) -> Vec<(Call, u64)> {
        let mut out = Vec::new();
        for call in [Call::Reset, Call::ResetBulk] {
            let n = self.resets.iter().filter(|c| reset_call(c) == call).count();
            if n > 0 {
                out.push((call, n as u64));
            }
        }
        if !self.invalidations.is_empty() {
            out.push((Call::Invalidate, self.invalidations.len() as u64));
        }
        out
    }

    /// How long the run takes at this pace (calls of one method are spaced by its rate, and
    /// the run makes them one after the other); answers' own time not counted.
    pub fn estimate(&self, pacing: &Pacing) -> Duration {
        self.calls()
            .into_iter()
            .map(|(call, n)| pacing.duration_of(call.tier(), n))
            .sum()
    }

    /// `mobile_only` / `web_only` as the selection's scope says.
    fn scope_flags(&self) -> (Option<bool>, Option<bool>) {
        match self.selection.scope {
            ResetScope::All => (None, None),
            ResetScope::MobileOnly => (Some(true), None),
            ResetScope::WebOnly => (None, Some(true)),
        }
    }

    /// The `reset` request of a one-user chunk.
    pub fn reset_one_request(&self, user: u32) -> ResetRequest {
        let (mobile_only, web_only) = self.scope_flags();
        ResetRequest {
            user_id: self.user(user).id.clone(),
            mobile_only,
            web_only,
        }
    }

    /// The `resetBulk` request of a chunk, leaving out users already settled.
    pub fn reset_request(&self, users: &[u32], skip: &[u32]) -> ResetBulkRequest {
        let (mobile_only, web_only) = self.scope_flags();
        ResetBulkRequest {
            user_ids: users
                .iter()
                .filter(|u| !skip.contains(u))
                .map(|&u| self.user(u).id.clone())
                .collect(),
            mobile_only,
            web_only,
        }
    }

    /// The session of an invalidation.
    pub fn session_id(inv: &Invalidation) -> SessionId {
        SessionId(inv.session)
    }
}

/// Interns strings into a `Vec` by index, looking them up through a map of their 64-bit hash
/// (16 bytes an entry) instead of a second copy of each string: the plan's users are the only
/// copy. Two different strings with the same hash (never seen in practice, but possible) are
/// told apart by comparing with the stored string and kept in a small exact map.
#[derive(Debug)]
struct Interner {
    by_hash: HashMap<u64, u32>,
    collided: HashMap<String, u32>,
    hash: fn(&str) -> u64,
}

impl Default for Interner {
    fn default() -> Self {
        Interner {
            by_hash: HashMap::new(),
            collided: HashMap::new(),
            hash: |s| {
                use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
                BuildHasherDefault::<DefaultHasher>::default().hash_one(s)
            },
        }
    }
}

impl Interner {
    /// The index of `s` among `stored`, if interned.
    fn find(&self, s: &str, stored: impl Fn(u32) -> bool) -> Option<u32> {
        match self.by_hash.get(&(self.hash)(s)) {
            Some(&ix) if stored(ix) => Some(ix),
            Some(_) => self.collided.get(s).copied(),
            None => None,
        }
    }

    /// Records that `s` is at `ix` (after `find` said it was not interned).
    fn insert(&mut self, s: &str, ix: u32) {
        match self.by_hash.entry((self.hash)(s)) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(ix);
            }
            std::collections::hash_map::Entry::Occupied(_) => {
                self.collided.insert(s.to_owned(), ix);
            }
        }
    }
}

/// Collects users, teams and actions while planning; interning as it goes.
#[derive(Debug, Default)]
pub(crate) struct PlanBuilder {
    users: Vec<PlannedUser>,
    user_ix: Interner,
    teams: Vec<String>,
    team_ix: Interner,
    /// Users to reset, in the order found.
    resets: Vec<u32>,
    /// Per user index: already in `resets`.
    in_resets: Vec<bool>,
    invalidations: Vec<Invalidation>,
}

impl PlanBuilder {
    pub(crate) fn user(&mut self, id: &str, email: Option<&str>) -> u32 {
        let users = &self.users;
        if let Some(ix) = self.user_ix.find(id, |ix| users[ix as usize].id == id) {
            let u = &mut self.users[ix as usize];
            if let (Some(e), None) = (email, &u.email) {
                u.email = Some(e.to_owned());
            }
            return ix;
        }
        let ix = self.users.len() as u32;
        self.user_ix.insert(id, ix);
        self.users.push(PlannedUser {
            id: id.to_owned(),
            email: email.map(str::to_owned),
        });
        self.in_resets.push(false);
        ix
    }

    fn team(&mut self, id: &str) -> u32 {
        let teams = &self.teams;
        if let Some(ix) = self.team_ix.find(id, |ix| teams[ix as usize] == id) {
            return ix;
        }
        let ix = self.teams.len() as u32;
        self.team_ix.insert(id, ix);
        self.teams.push(id.to_owned());
        ix
    }

    /// Adds a user to reset (once).
    pub(crate) fn reset(&mut self, id: &str, email: Option<&str>) {
        let ix = self.user(id, email);
        if !std::mem::replace(&mut self.in_resets[ix as usize], true) {
            self.resets.push(ix);
        }
    }

    /// Adds a session to invalidate.
    pub(crate) fn invalidate(&mut self, user: &str, team: &str, session: SessionId) {
        let user = self.user(user, None);
        let team = self.team(team);
        self.invalidations.push(Invalidation {
            user,
            team,
            session: session.0,
        });
    }

    pub(crate) fn matched(&self) -> usize {
        self.invalidations.len()
    }

    /// The finished plan's actions and tables: resets chunked by [`USER_IDS_MAX`],
    /// invalidations sorted by session and deduplicated (a session listed twice, as paging
    /// through a changing list may, is ended once).
    pub(crate) fn finish(
        self,
    ) -> (
        Vec<PlannedUser>,
        Vec<String>,
        Vec<Vec<u32>>,
        Vec<Invalidation>,
    ) {
        let PlanBuilder {
            mut users,
            user_ix,
            teams,
            team_ix,
            resets,
            in_resets,
            mut invalidations,
        } = self;
        drop((user_ix, team_ix, in_resets));
        invalidations.sort_unstable_by_key(|i| (i.session, i.user, i.team));
        invalidations.dedup_by_key(|i| i.session);
        invalidations.shrink_to_fit();
        users.shrink_to_fit();
        let resets = resets.chunks(USER_IDS_MAX).map(<[u32]>::to_vec).collect();
        (users, teams, resets, invalidations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessions_wire::RateTier;

    fn plan_with(resets: Vec<Vec<u32>>, invalidations: Vec<Invalidation>, users: usize) -> Plan {
        Plan {
            created_unix: 0,
            api_url: "http://x/api/".into(),
            actor: Actor::default(),
            selection: Selection::default(),
            users: (0..users)
                .map(|i| PlannedUser {
                    id: format!("W{i}"),
                    email: None,
                })
                .collect(),
            teams: vec!["T1".into()],
            unresolved: vec![],
            resets,
            invalidations,
            stats: PlanStats::default(),
            sample: vec![],
        }
    }

    #[test]
    fn builder_interns_chunks_and_dedupes() {
        let mut b = PlanBuilder::default();
        for i in 0..2500 {
            b.reset(&format!("W{i}"), None);
        }
        b.reset("W7", Some("w7@x.example"));
        b.invalidate("W1", "T1", SessionId(9));
        b.invalidate("W9999", "T2", SessionId(3));
        b.invalidate("W1", "T1", SessionId(9));
        let (users, teams, resets, inv) = b.finish();
        assert_eq!(users.len(), 2501);
        assert_eq!(users[7].email.as_deref(), Some("w7@x.example"));
        assert_eq!(
            resets.iter().map(Vec::len).collect::<Vec<_>>(),
            [1000, 1000, 500]
        );
        assert_eq!(teams, ["T1", "T2"]);
        assert_eq!(
            inv,
            [
                Invalidation {
                    user: 2500,
                    team: 1,
                    session: 3
                },
                Invalidation {
                    user: 1,
                    team: 0,
                    session: 9
                }
            ]
        );
    }

    #[test]
    fn actions_are_resets_then_invalidations_and_estimates_follow_tiers() {
        let inv = |s| Invalidation {
            user: 0,
            team: 0,
            session: s,
        };
        let p = plan_with(
            vec![vec![0, 1], vec![2], vec![1, 2]],
            vec![inv(5), inv(6), inv(7)],
            3,
        );
        assert_eq!(p.action_count(), 6);
        assert!(matches!(
            p.action(0),
            Some(Action::ResetBulk { users: [0, 1], .. })
        ));
        assert_eq!(
            p.action(1),
            Some(Action::Reset {
                user: 2,
                scope: ResetScope::All
            })
        );
        assert_eq!(p.action(1).map(|a| a.call()), Some(Call::Reset));
        assert_eq!(p.action(2).map(|a| a.call()), Some(Call::ResetBulk));
        assert_eq!(p.reset_chunk(1), Some(&[2][..]));
        assert_eq!(p.reset_chunk(3), None);
        assert_eq!(p.action(3), Some(Action::Invalidate(inv(5))));
        assert_eq!(p.action(6), None);
        assert_eq!(
            p.calls(),
            [
                (Call::Reset, 1),
                (Call::ResetBulk, 2),
                (Call::Invalidate, 3)
            ]
        );
        // Tier 2 at 20/min: 1 gap of 3 s for the resetBulks, none for the single reset, 2 gaps
        // for the invalidations.
        assert_eq!(Call::Invalidate.tier(), RateTier::Tier2);
        assert_eq!(Call::Reset.tier(), Call::ResetBulk.tier());
        assert_eq!(p.estimate(&Pacing::tier()), Duration::from_secs(9));
        assert_eq!(p.estimate(&Pacing::max_rate(60.0)), Duration::from_secs(3));
        let req = p.reset_request(&[0, 1, 2], &[1]);
        assert_eq!(req.user_ids, ["W0", "W2"]);
    }

    #[test]
    fn a_chunk_of_one_user_is_a_reset_and_of_two_a_reset_bulk() {
        assert_eq!(reset_call(&[7]), Call::Reset);
        assert_eq!(reset_call(&[7, 8]), Call::ResetBulk);
        assert_eq!(reset_call(&[0; USER_IDS_MAX]), Call::ResetBulk);
        let mut p = plan_with(vec![vec![1]], vec![], 2);
        assert_eq!(p.calls(), [(Call::Reset, 1)]);
        for (scope, flags) in [
            (ResetScope::All, (None, None)),
            (ResetScope::MobileOnly, (Some(true), None)),
            (ResetScope::WebOnly, (None, Some(true))),
        ] {
            p.selection.scope = scope;
            assert_eq!(p.action(0), Some(Action::Reset { user: 1, scope }));
            let req = p.reset_one_request(1);
            assert_eq!(req.user_id, "W1");
            assert_eq!((req.mobile_only, req.web_only), flags);
            assert_eq!(req.scope().ok(), Some(scope));
        }
        // A whole-user selection of two users is one resetBulk, not two resets.
        let two = plan_with(vec![vec![0, 1]], vec![], 2);
        assert_eq!(two.calls(), [(Call::ResetBulk, 1)]);
    }

    #[test]
    fn serialized_invalidations_are_triples() {
        let p = plan_with(
            vec![],
            vec![Invalidation {
                user: 0,
                team: 0,
                session: 1001,
            }],
            1,
        );
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains("\"invalidations\":[[0,0,1001]]"), "{json}");
        let back: Plan = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn a_million_invalidations_take_16_bytes_each() {
        assert_eq!(std::mem::size_of::<Invalidation>(), 16);
    }

    #[test]
    fn hash_collisions_keep_strings_apart() {
        // Every string collides.
        let mut i = Interner {
            hash: |_| 42,
            ..Interner::default()
        };
        let mut stored: Vec<String> = Vec::new();
        for s in ["a", "b", "c", "b", "a"] {
            let found = i.find(s, |ix| stored[ix as usize] == s);
            if found.is_none() {
                i.insert(s, stored.len() as u32);
                stored.push(s.to_owned());
            }
        }
        assert_eq!(stored, ["a", "b", "c"]);
        assert_eq!(i.find("c", |ix| stored[ix as usize] == "c"), Some(2));
        assert_eq!(i.find("d", |ix| stored[ix as usize] == "d"), None);
    }
}
