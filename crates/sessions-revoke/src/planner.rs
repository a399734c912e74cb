//! Building a plan: who runs it (`auth.test`), which users the entries name (`users.info`,
//! `users.lookupByEmail`), which sessions match (`admin.users.session.list` per user and
//! team, or one streaming scan of the org at `limit=1000`), and which calls end them. Every
//! call is paced like the run's; nothing is changed.

use std::collections::{HashMap, HashSet};

use futures::StreamExt;
use sessions_client::{Error as ClientError, SessionRef};
use sessions_wire::{ActiveSession, ErrorCode, ListRequest, LIST_LIMIT_MAX};

use crate::api::{is_fatal, Api, Call, Person};
use crate::context::{Context, Gate};
use crate::plan::{Actor, Plan, PlanBuilder, PlanStats, Unresolved, SAMPLE_SIZE};
use crate::select::{Selection, UserRef};
use crate::Error;

/// Where planning is, for a progress display.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlanProgress {
    /// Entries looked up so far.
    pub users_looked_up: u64,
    /// Entries to look up.
    pub users_total: u64,
    /// Pages of sessions listed.
    pub pages: u64,
    /// Sessions listed.
    pub sessions_scanned: u64,
    /// Sessions matched so far.
    pub sessions_matched: u64,
}

struct Planner<'a> {
    api: &'a dyn Api,
    sel: &'a Selection,
    gate: Gate<'a>,
    calls: Vec<(Call, u64)>,
    progress: PlanProgress,
    on_progress: &'a mut (dyn FnMut(&PlanProgress) + Send),
    builder: PlanBuilder,
    stats: PlanStats,
    actor: Actor,
    sample: Vec<ActiveSession>,
}

/// Builds the plan for `selection` against `api` (whose root is `api_url`, recorded for
/// resumes). Reads only. Stops with [`Error::Cancelled`] when `cx.cancel` fires, and with
/// [`Error::Api`] on a failure that makes planning impossible (bad token, missing scope,
/// server unreachable); entries that name nobody become [`Plan::unresolved`].
pub async fn build_plan(
    api: &dyn Api,
    selection: &Selection,
    api_url: &str,
    cx: &Context,
    on_progress: &mut (dyn FnMut(&PlanProgress) + Send),
) -> Result<Plan, Error> {
    selection.validate()?;
    let mut p = Planner {
        api,
        sel: selection,
        gate: Gate::new(cx),
        calls: Vec::new(),
        progress: PlanProgress::default(),
        on_progress,
        builder: PlanBuilder::default(),
        stats: PlanStats::default(),
        actor: Actor::default(),
        sample: Vec::new(),
    };
    p.admit(Call::AuthTest).await?;
    let who = api
        .auth_test()
        .await
        .map_err(Error::api("checking the token (auth.test)"))?;
    p.actor = Actor {
        user_id: who.user_id,
        team_id: who.team_id,
        enterprise_id: who.enterprise_id,
    };
    let mut unresolved = Vec::new();
    let people = p.resolve(&mut unresolved).await?;
    match (selection.is_whole_user(), people) {
        (true, Some(people)) => {
            for person in &people {
                p.builder.reset(&person.id, person.email.as_deref());
            }
        }
        (false, Some(people)) => {
            for person in &people {
                p.scan_user(person).await?;
            }
        }
        (_, None) => p.scan_org().await?,
    }
    let Planner {
        builder,
        mut stats,
        actor,
        calls,
        sample,
        ..
    } = p;
    stats.calls = calls;
    let (users, teams, resets, invalidations) = builder.finish();
    Ok(Plan {
        created_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        api_url: api_url.to_owned(),
        actor,
        selection: selection.clone(),
        users,
        teams,
        unresolved,
        resets,
        invalidations,
        stats,
        sample,
    })
}

/// A lookup's failure: the entry names nobody (kept as unresolved), or planning must stop.
fn unresolved_or_stop(entry: &UserRef, e: ClientError) -> Result<Unresolved, Error> {
    match e {
        ClientError::Api { code, messages, .. } if !is_fatal(&code) => {
            let reason = match (&code, entry) {
                (ErrorCode::UsersNotFound, UserRef::Email(_)) => {
                    "no user of this org has this email".to_owned()
                }
                (ErrorCode::UserNotFound, UserRef::Id(_)) => {
                    "no user of this org has this id".to_owned()
                }
                _ if !messages.is_empty() => messages.join("; "),
                _ => code.description().to_owned(),
            };
            Ok(Unresolved {
                entry: entry.as_str().to_owned(),
                code: code.as_str().to_owned(),
                reason,
            })
        }
        source => Err(Error::api("looking up users")(source)),
    }
}

impl Planner<'_> {
    async fn admit(&mut self, call: Call) -> Result<(), Error> {
        self.gate.admit(call).await?;
        match self.calls.iter_mut().find(|(c, _)| *c == call) {
            Some((_, n)) => *n += 1,
            None => self.calls.push((call, 1)),
        }
        Ok(())
    }

    fn tell(&mut self) {
        (self.on_progress)(&self.progress);
    }

    /// Looks up every named user; `None` when the selection names no users (org scan).
    async fn resolve(
        &mut self,
        unresolved: &mut Vec<Unresolved>,
    ) -> Result<Option<Vec<Person>>, Error> {
        if self.sel.users.is_empty() {
            return Ok(None);
        }
        // Each entry once (emails compare case-insensitively, as Slack matches them).
        let mut seen = HashSet::new();
        let entries: Vec<&UserRef> = self
            .sel
            .users
            .iter()
            .filter(|e| {
                seen.insert(match e {
                    UserRef::Email(m) => UserRef::Email(m.to_lowercase()),
                    id => (*id).clone(),
                })
            })
            .collect();
        self.progress.users_total = entries.len() as u64;
        let mut people: Vec<Person> = Vec::new();
        let mut by_id: HashMap<String, usize> = HashMap::new();
        for entry in entries {
            let found = match entry {
                UserRef::Email(email) => {
                    self.admit(Call::LookupByEmail).await?;
                    self.api.user_by_email(email).await.map(|mut p| {
                        p.email.get_or_insert_with(|| email.clone());
                        p
                    })
                }
                UserRef::Id(id) => {
                    self.admit(Call::UsersInfo).await?;
                    self.api.user_by_id(id).await
                }
            };
            self.progress.users_looked_up += 1;
            self.tell();
            if found.is_ok() {
                self.stats.users_resolved += 1;
            }
            match found {
                Ok(person) if person.id == self.actor.user_id && !self.sel.include_self => {
                    self.stats.own_user_skipped = true;
                }
                Ok(person) => match by_id.get(&person.id) {
                    Some(&i) => {
                        if people[i].email.is_none() {
                            people[i].email = person.email;
                        }
                    }
                    None => {
                        by_id.insert(person.id.clone(), people.len());
                        people.push(person);
                    }
                },
                Err(e) => unresolved.push(unresolved_or_stop(entry, e)?),
            }
        }
        Ok(Some(people))
    }

    /// Keeps a listed session if it passes the filters and is not the caller's.
    fn consider(&mut self, s: SessionRef<'_>) {
        self.progress.sessions_scanned += 1;
        self.stats.sessions_scanned += 1;
        if s.user_id == self.actor.user_id && !self.sel.include_self {
            if self.sel.is_whole_user() || self.sel.matches_ref(s) {
                self.stats.own_sessions_skipped += 1;
            }
            return;
        }
        if self.sel.is_whole_user() {
            // `--everyone` alone: every user with a session is reset.
            self.builder.reset(s.user_id, None);
            self.progress.sessions_matched += 1;
        } else if self.sel.matches_ref(s) {
            self.builder.invalidate(s.user_id, s.team_id, s.session_id);
            self.progress.sessions_matched = self.builder.matched() as u64;
            if self.sample.len() < SAMPLE_SIZE {
                self.sample.push(s.to_active_session());
            }
        }
    }

    /// Lists every page of `req`, pacing each call: the first before asking, each further
    /// one when the page just read names a next cursor (the stream calls again only then).
    async fn list(&mut self, req: ListRequest) -> Result<(), Error> {
        self.admit(Call::List).await?;
        let mut pages = self.api.list_session_pages(req.limit(LIST_LIMIT_MAX));
        while let Some(page) = pages.next().await {
            let page = page.map_err(Error::api("listing sessions"))?;
            for s in page.iter() {
                self.consider(s);
            }
            self.progress.pages += 1;
            self.tell();
            if page.next_cursor().is_some() {
                self.admit(Call::List).await?;
            }
        }
        Ok(())
    }

    async fn scan_user(&mut self, person: &Person) -> Result<(), Error> {
        // Interned with the email, so the plan's sessions show whose they are.
        self.builder.user(&person.id, person.email.as_deref());
        let teams: Vec<&String> = person
            .teams
            .iter()
            .filter(|t| self.sel.teams.is_empty() || self.sel.teams.contains(t))
            .collect();
        for team in teams {
            self.list(ListRequest::user(team.clone(), person.id.clone()))
                .await?;
        }
        Ok(())
    }

    async fn scan_org(&mut self) -> Result<(), Error> {
        self.list(ListRequest::org()).await
    }
}
