//! The engine against an in-memory org: planning, pacing (recorded, never slept), runs,
//! failures, cancellation and resume. The end-to-end tests against the real server are the
//! CLI's (crates/slack-sessions/tests/it/revoke.rs).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt};
use sessions_client::{Error as ClientError, Sleeper};
use sessions_revoke::{
    build_plan, parse_cidr, report_rows, run, ActionStatus, Api, Call, Clock, Context, Error,
    Journal, Pacing, Person, RowResult, RunStatus, Selection, UserRef, Version,
};
use sessions_wire::{
    ActiveSession, AuthTestResponse, DeviceInfo, ErrorCode, ListRequest, ListResponse,
    ResetBulkRequest, ResetRequest, ResetScope, ResponseMetadata, SessionId,
};

const ME: &str = "W0ADMIN";

fn api_error(code: &str, messages: &[&str]) -> ClientError {
    ClientError::Api {
        code: ErrorCode::parse(code),
        needed: None,
        provided: None,
        warnings: vec![],
        messages: messages.iter().map(|m| (*m).to_owned()).collect(),
    }
}

/// An org in memory. Every call is logged as `method arg`.
#[derive(Default)]
struct Fake {
    people: Vec<Person>,
    sessions: Mutex<Vec<ActiveSession>>,
    log: Mutex<Vec<String>>,
    /// Failures to answer instead of the next calls of a method.
    faults: Mutex<VecDeque<(&'static str, ClientError)>>,
    /// The primary owner: invalidating their sessions or resetting them is refused.
    owner: Option<String>,
    whoami: Option<String>,
}

impl Fake {
    fn log(&self, line: String) {
        self.log.lock().unwrap().push(line);
    }
    fn fault(&self, method: &str) -> Option<ClientError> {
        let mut f = self.faults.lock().unwrap();
        let pos = f.iter().position(|(m, _)| *m == method)?;
        f.remove(pos).map(|(_, e)| e)
    }
    fn calls(&self, prefix: &str) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.starts_with(prefix))
            .cloned()
            .collect()
    }
    fn live(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self
            .sessions
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.session_id.0)
            .collect();
        v.sort_unstable();
        v
    }
}

#[async_trait]
impl Api for Fake {
    async fn auth_test(&self) -> Result<AuthTestResponse, ClientError> {
        self.log("auth.test".into());
        Ok(AuthTestResponse {
            user_id: self.whoami.clone().unwrap_or_else(|| ME.into()),
            team_id: "T1".into(),
            enterprise_id: Some("E1".into()),
            ..Default::default()
        })
    }

    async fn user_by_email(&self, email: &str) -> Result<Person, ClientError> {
        self.log(format!("users.lookupByEmail {email}"));
        if let Some(e) = self.fault("users.lookupByEmail") {
            return Err(e);
        }
        self.people
            .iter()
            .find(|p| {
                p.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            })
            .cloned()
            .ok_or_else(|| api_error("users_not_found", &[]))
    }

    async fn user_by_id(&self, user: &str) -> Result<Person, ClientError> {
        self.log(format!("users.info {user}"));
        self.people
            .iter()
            .find(|p| p.id == user)
            .cloned()
            .ok_or_else(|| api_error("user_not_found", &[]))
    }

    fn list_pages(
        &self,
        req: ListRequest,
    ) -> BoxStream<'static, Result<ListResponse, ClientError>> {
        let all: Vec<ActiveSession> = self
            .sessions
            .lock()
            .unwrap()
            .iter()
            .filter(|s| {
                req.user_id.as_ref().is_none_or(|u| *u == s.user_id)
                    && req.team_id.as_ref().is_none_or(|t| *t == s.team_id)
            })
            .cloned()
            .collect();
        let limit = req.limit.unwrap_or(1000) as usize;
        let pages: Vec<Result<ListResponse, ClientError>> = all
            .chunks(limit.max(1))
            .enumerate()
            .map(|(n, chunk)| {
                let last = (n + 1) * limit >= all.len();
                Ok(ListResponse {
                    active_sessions: chunk.to_vec(),
                    response_metadata: (!last).then(|| ResponseMetadata {
                        next_cursor: Some(format!("c{}", n + 1)),
                        ..Default::default()
                    }),
                })
            })
            .collect();
        let pages = if pages.is_empty() {
            vec![Ok(ListResponse::default())]
        } else {
            pages
        };
        self.log(format!(
            "admin.users.session.list {} {} pages={}",
            req.user_id.unwrap_or_default(),
            req.team_id.unwrap_or_default(),
            pages.len()
        ));
        stream::iter(pages).boxed()
    }

    async fn invalidate(&self, user_id: &str, session_id: SessionId) -> Result<(), ClientError> {
        self.log(format!(
            "admin.users.session.invalidate {user_id} {session_id}"
        ));
        if let Some(e) = self.fault("admin.users.session.invalidate") {
            return Err(e);
        }
        if self.owner.as_deref() == Some(user_id) {
            return Err(api_error("cannot_invalidate_primary_owner", &[]));
        }
        let mut s = self.sessions.lock().unwrap();
        let before = s.len();
        s.retain(|x| !(x.session_id == session_id && x.user_id == user_id));
        if s.len() == before {
            return Err(api_error("session_not_found", &[]));
        }
        Ok(())
    }

    async fn reset(&self, req: ResetRequest) -> Result<(), ClientError> {
        let flag = |f: Option<bool>, name: &str| {
            if f == Some(true) {
                format!(" {name}")
            } else {
                String::new()
            }
        };
        self.log(format!(
            "admin.users.session.reset {}{}{}",
            req.user_id,
            flag(req.mobile_only, "mobile_only"),
            flag(req.web_only, "web_only")
        ));
        if let Some(e) = self.fault("admin.users.session.reset") {
            return Err(e);
        }
        if self.owner.as_deref() == Some(req.user_id.as_str()) {
            return Err(api_error("cannot_reset_primary_owner", &[]));
        }
        if !self.people.iter().any(|p| p.id == req.user_id) {
            return Err(api_error("user_not_found", &[]));
        }
        // Synchronous, as on Slack: the sessions are gone when the call answers.
        self.sessions
            .lock()
            .unwrap()
            .retain(|s| s.user_id != req.user_id);
        Ok(())
    }

    async fn reset_bulk(&self, req: ResetBulkRequest) -> Result<(), ClientError> {
        self.log(format!(
            "admin.users.session.resetBulk {}",
            req.user_ids.join(",")
        ));
        let unknown: Vec<String> = req
            .user_ids
            .iter()
            .filter(|u| !self.people.iter().any(|p| p.id == **u))
            .map(|u| format!("[ERROR] user_not_found: {u}"))
            .collect();
        if !unknown.is_empty() {
            let refs: Vec<&str> = unknown.iter().map(String::as_str).collect();
            return Err(api_error("user_not_found", &refs));
        }
        self.sessions
            .lock()
            .unwrap()
            .retain(|s| !req.user_ids.contains(&s.user_id));
        Ok(())
    }
}

fn person(id: &str, email: &str, teams: &[&str]) -> Person {
    Person {
        id: id.into(),
        email: Some(email.into()),
        teams: teams.iter().map(|t| (*t).into()).collect(),
        deleted: false,
    }
}

fn session(id: u64, user: &str, team: &str, ip: &str, version: &str) -> ActiveSession {
    ActiveSession {
        user_id: user.into(),
        team_id: team.into(),
        session_id: SessionId(id),
        created: DeviceInfo {
            ip: Some(ip.into()),
            slack_client_version: Some(version.into()),
            os: Some("macOS".into()),
            ..Default::default()
        },
        recent: None,
    }
}

fn org() -> Fake {
    Fake {
        people: vec![
            person("W0DEV", "dana@acme.example", &["T1", "T2"]),
            person("W0OPS", "omar@acme.example", &["T2"]),
            person(ME, "adam@acme.example", &["T1"]),
            person("W0OWNER", "olivia@acme.example", &["T1"]),
        ],
        sessions: Mutex::new(vec![
            session(1, "W0DEV", "T1", "203.0.113.7", "4.35.1"),
            session(2, "W0DEV", "T2", "198.51.100.1", "4.36.0"),
            session(3, "W0OPS", "T2", "203.0.113.99", "4.30.0"),
            session(4, ME, "T1", "203.0.113.8", "4.20.0"),
            session(5, "W0OWNER", "T1", "203.0.113.50", "4.36.5"),
            session(6, "W0OPS", "T2", "2001:db8::1", "4.37.0"),
        ]),
        owner: Some("W0OWNER".into()),
        ..Default::default()
    }
}

/// Time that moves only when slept; every wait recorded.
#[derive(Debug)]
struct FakeTime {
    start: Instant,
    slept: Mutex<Vec<Duration>>,
}

impl FakeTime {
    fn new() -> Arc<FakeTime> {
        Arc::new(FakeTime {
            start: Instant::now(),
            slept: Mutex::new(Vec::new()),
        })
    }
    fn waits(&self) -> Vec<Duration> {
        self.slept.lock().unwrap().clone()
    }
}

impl Clock for FakeTime {
    fn now(&self) -> Instant {
        self.start + self.slept.lock().unwrap().iter().sum::<Duration>()
    }
}

impl Sleeper for FakeTime {
    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        self.slept.lock().unwrap().push(d);
        Box::pin(async {})
    }
}

fn cx(pacing: Pacing) -> (Context, Arc<FakeTime>) {
    let t = FakeTime::new();
    let mut cx = Context::new(pacing);
    cx.clock = t.clone();
    cx.sleeper = t.clone();
    (cx, t)
}

async fn plan(api: &Fake, sel: &Selection, cx: &Context) -> sessions_revoke::Plan {
    build_plan(api, sel, "http://fake/api/", cx, &mut |_| {})
        .await
        .unwrap()
}

fn sessions_of(plan: &sessions_revoke::Plan) -> Vec<u64> {
    plan.invalidations.iter().map(|i| i.session).collect()
}

#[tokio::test]
async fn users_by_email_and_id_with_a_range_list_each_users_teams_and_pace_at_tier() {
    let api = org();
    let (cx, time) = cx(Pacing::tier());
    let sel = Selection {
        users: vec![
            UserRef::parse("DANA@acme.example").unwrap(),
            UserRef::parse("W0OPS").unwrap(),
            UserRef::parse("nobody@acme.example").unwrap(),
            UserRef::parse(ME).unwrap(),
        ],
        ips: vec![parse_cidr("203.0.113.0/24").unwrap()],
        ..Default::default()
    };
    let p = plan(&api, &sel, &cx).await;
    // Dana's T1 session and Omar's first; Dana's T2 one is outside the range; mine is left
    // alone.
    assert_eq!(sessions_of(&p), [1, 3]);
    assert_eq!(
        p.user(p.invalidations[0].user).email.as_deref(),
        Some("dana@acme.example")
    );
    assert_eq!(p.unresolved.len(), 1);
    assert_eq!(p.unresolved[0].entry, "nobody@acme.example");
    assert_eq!(p.unresolved[0].code, "users_not_found");
    assert!(p.stats.own_user_skipped);
    // One list per user and team: Dana on T1 and T2, Omar on T2.
    assert_eq!(api.calls("admin.users.session.list").len(), 3);
    assert!(api.calls("admin.users.session.invalidate").is_empty());
    // Lists were spaced by Tier 2 (3 s); lookups by their own tiers, never by each other's.
    let waits = time.waits();
    assert!(waits.contains(&Duration::from_secs(3)), "{waits:?}");
    assert!(
        waits.iter().all(|w| *w <= Duration::from_secs(3)),
        "{waits:?}"
    );
}

#[tokio::test]
async fn an_org_scan_pages_at_1000_and_filters_by_version_team_and_self() {
    let api = org();
    {
        let mut s = api.sessions.lock().unwrap();
        for i in 0..2500u64 {
            let v = if i % 2 == 0 { "4.10.0" } else { "4.40.0" };
            s.push(session(10_000 + i, "W0OPS", "T2", "10.0.0.1", v));
        }
    }
    let (cx, time) = cx(Pacing::tier());
    let sel = Selection {
        client_version_below: Version::parse("4.36"),
        teams: vec!["T1".into(), "T2".into()],
        ..Default::default()
    };
    let p = plan(&api, &sel, &cx).await;
    let got = sessions_of(&p);
    assert_eq!(&got[..2], [1, 3]);
    assert_eq!(got.len(), 2 + 1250);
    assert!(!got.contains(&4), "the caller's own session");
    assert_eq!(p.stats.own_sessions_skipped, 1);
    assert_eq!(p.stats.sessions_scanned, 2506);
    // One org scan: three pages of 1000, the second and third each 3 s after the one before.
    assert_eq!(
        api.calls("admin.users.session.list"),
        ["admin.users.session.list   pages=3"]
    );
    assert_eq!(
        time.waits()
            .iter()
            .filter(|w| **w == Duration::from_secs(3))
            .count(),
        2
    );
}

#[tokio::test]
async fn whole_user_selections_become_reset_bulk_chunks() {
    let mut api = org();
    for i in 0..2500 {
        api.people.push(person(
            &format!("W{i}"),
            &format!("u{i}@acme.example"),
            &["T1"],
        ));
    }
    let (cx, _) = cx(Pacing::max_rate(6000.0));
    let users: Vec<UserRef> = (0..2500)
        .map(|i| UserRef::Id(format!("W{i}")))
        .chain([UserRef::Id(ME.into())])
        .collect();
    let p = plan(
        &api,
        &Selection {
            users,
            ..Default::default()
        },
        &cx,
    )
    .await;
    assert!(p.invalidations.is_empty());
    assert_eq!(
        p.resets.iter().map(Vec::len).collect::<Vec<_>>(),
        [1000, 1000, 500]
    );
    assert!(p.stats.own_user_skipped);
    assert!(
        api.calls("admin.users.session.list").is_empty(),
        "no listing needed"
    );

    // --everyone: every user with a session, except me.
    let api = org();
    let every = Selection {
        everyone: true,
        ..Default::default()
    };
    let p = plan(&api, &every, &cx).await;
    let ids: Vec<&str> = p.resets[0].iter().map(|&u| p.user(u).id.as_str()).collect();
    assert_eq!(ids, ["W0DEV", "W0OPS", "W0OWNER"]);
}

#[tokio::test]
async fn a_run_settles_every_action_and_names_failures() {
    let api = org();
    let (cx, time) = cx(Pacing::max_rate(600.0));
    let sel = Selection {
        ips: vec![parse_cidr("203.0.113.0/24").unwrap()],
        ..Default::default()
    };
    let p = plan(&api, &sel, &cx).await;
    assert_eq!(sessions_of(&p), [1, 3, 5]);
    // Session 3 ends by itself before the run: session_not_found counts as already done.
    api.sessions.lock().unwrap().retain(|s| s.session_id.0 != 3);
    let dir = tempfile::tempdir().unwrap();
    let mut j = Journal::create(&dir.path().join("j.jsonl"), p).unwrap();
    let mut seen = Vec::new();
    let summary = run(&api, &mut j, &cx, &mut |p| seen.push(p.counts.settled())).await;
    assert!(
        matches!(summary.status, RunStatus::Completed),
        "{summary:?}"
    );
    let c = summary.counts;
    assert_eq!((c.done, c.already_done, c.failed, c.pending), (1, 1, 1, 0));
    assert_eq!(seen, [0, 1, 2, 3]);
    assert_eq!(api.live(), [2, 4, 5, 6]);
    let failed: Vec<_> = report_rows(j.plan(), Some(j.state()))
        .filter(|r| r.result == RowResult::Failed)
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].session_id, Some(5));
    assert_eq!(
        failed[0].code.as_deref(),
        Some("cannot_invalidate_primary_owner")
    );
    // 600/min: invalidations 100 ms apart.
    assert!(time.waits().contains(&Duration::from_millis(100)));
}

#[tokio::test]
async fn a_stopped_run_resumes_without_repeating_acknowledged_calls() {
    let api = org();
    let (cx, _) = cx(Pacing::max_rate(6000.0));
    let sel = Selection {
        os: vec!["macos".into()],
        ..Default::default()
    };
    let p = plan(&api, &sel, &cx).await;
    assert_eq!(sessions_of(&p), [1, 2, 3, 5, 6]);
    api.faults
        .lock()
        .unwrap()
        .push_back(("admin.users.session.invalidate", ClientError::Timeout));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.jsonl");
    let mut j = Journal::create(&path, p).unwrap();
    // The first call times out: the run stops, nothing settled.
    let s = run(&api, &mut j, &cx, &mut |_| {}).await;
    assert!(
        matches!(s.status, RunStatus::Stopped(Error::Api { .. })),
        "{s:?}"
    );
    assert_eq!(s.counts.pending, 5);
    // Then a token failure after two calls stops it again.
    api.log.lock().unwrap().clear();
    let s = {
        let mut n = 0;
        let api_ref = &api;
        run(api_ref, &mut j, &cx, &mut |p| {
            n += 1;
            if p.counts.settled() == 2 {
                api_ref.faults.lock().unwrap().push_back((
                    "admin.users.session.invalidate",
                    api_error("invalid_auth", &[]),
                ));
            }
        })
        .await
    };
    assert!(matches!(s.status, RunStatus::Stopped(_)), "{s:?}");
    assert_eq!((s.counts.done, s.counts.pending), (2, 3));
    drop(j);
    // Resume from disk: only the three unacknowledged sessions are called, once each.
    api.log.lock().unwrap().clear();
    let mut j = Journal::open(&path).unwrap();
    let s = run(&api, &mut j, &cx, &mut |_| {}).await;
    assert!(matches!(s.status, RunStatus::Completed), "{s:?}");
    let calls = api.calls("admin.users.session.invalidate");
    assert_eq!(
        calls,
        [
            "admin.users.session.invalidate W0OPS 3",
            "admin.users.session.invalidate W0OWNER 5",
            "admin.users.session.invalidate W0OPS 6"
        ]
    );
    assert_eq!(api.live(), [4, 5]);
    assert_eq!(j.state().runs(), 3);
}

#[tokio::test]
async fn cancelling_stops_after_the_call_in_flight() {
    let api = org();
    let (cx, _) = cx(Pacing::max_rate(6000.0));
    let sel = Selection {
        everyone: true,
        os: vec!["macOS".into()],
        ..Default::default()
    };
    let p = plan(&api, &sel, &cx).await;
    let dir = tempfile::tempdir().unwrap();
    let mut j = Journal::create(&dir.path().join("j"), p).unwrap();
    let cancel = cx.cancel.clone();
    let s = run(&api, &mut j, &cx, &mut |p| {
        if p.counts.settled() == 2 {
            cancel.cancel();
        }
    })
    .await;
    assert!(matches!(s.status, RunStatus::Cancelled), "{s:?}");
    assert_eq!((s.counts.done, s.counts.pending), (2, 3));
    assert_eq!(api.calls("admin.users.session.invalidate").len(), 2);
}

#[tokio::test]
async fn reset_bulk_refusals_naming_users_fail_those_users_only() {
    let api = org();
    let (cx, _) = cx(Pacing::max_rate(6000.0));
    let sel = Selection {
        users: vec![UserRef::Id("W0DEV".into()), UserRef::Id("W0OPS".into())],
        ..Default::default()
    };
    let mut p = plan(&api, &sel, &cx).await;
    // A user who was deleted between planning and running.
    p.users.push(sessions_revoke::PlannedUser {
        id: "W0GONE".into(),
        email: None,
    });
    p.resets[0].push(2);
    let dir = tempfile::tempdir().unwrap();
    let mut j = Journal::create(&dir.path().join("j"), p).unwrap();
    let s = run(&api, &mut j, &cx, &mut |_| {}).await;
    assert!(matches!(s.status, RunStatus::Completed), "{s:?}");
    assert_eq!(
        api.calls("admin.users.session.resetBulk"),
        [
            "admin.users.session.resetBulk W0DEV,W0OPS,W0GONE",
            "admin.users.session.resetBulk W0DEV,W0OPS"
        ]
    );
    assert_eq!(api.live(), [4, 5]);
    assert_eq!(j.state().refused_user_count(), 1);
    let rows: Vec<_> = report_rows(j.plan(), Some(j.state()))
        .map(|r| (r.user, r.result))
        .collect();
    assert_eq!(
        rows,
        [
            ("W0DEV".to_owned(), RowResult::Done),
            ("W0OPS".to_owned(), RowResult::Done),
            ("W0GONE".to_owned(), RowResult::Failed)
        ]
    );
}

#[tokio::test]
async fn one_user_is_one_synchronous_reset_and_two_are_one_reset_bulk() {
    let (cx, _) = cx(Pacing::max_rate(6000.0));
    let one = |u: &str, scope| Selection {
        users: vec![UserRef::Id(u.into())],
        scope,
        ..Default::default()
    };
    let api = org();
    let p = plan(&api, &one("W0DEV", ResetScope::All), &cx).await;
    assert_eq!(p.calls(), [(Call::Reset, 1)]);
    let dir = tempfile::tempdir().unwrap();
    let mut j = Journal::create(&dir.path().join("one"), p).unwrap();
    let s = run(&api, &mut j, &cx, &mut |_| {}).await;
    assert!(matches!(s.status, RunStatus::Completed), "{s:?}");
    assert_eq!(
        api.calls("admin.users.session.reset"),
        ["admin.users.session.reset W0DEV"],
        "one reset, no resetBulk"
    );
    // Ended when the run returned: nothing waits for a job.
    assert_eq!(api.live(), [3, 4, 5, 6]);
    assert_eq!(j.state().status(0), ActionStatus::Done);
    let rows: Vec<_> = report_rows(j.plan(), Some(j.state()))
        .map(|r| (r.method, r.user, r.result))
        .collect();
    assert_eq!(
        rows,
        [(
            "admin.users.session.reset",
            "W0DEV".to_owned(),
            RowResult::Done
        )]
    );

    // The selection's scope goes on the reset as it would on a resetBulk.
    for (scope, line) in [
        (
            ResetScope::MobileOnly,
            "admin.users.session.reset W0OPS mobile_only",
        ),
        (
            ResetScope::WebOnly,
            "admin.users.session.reset W0OPS web_only",
        ),
    ] {
        let api = org();
        let p = plan(&api, &one("W0OPS", scope), &cx).await;
        let mut j = Journal::create(&dir.path().join(format!("{scope:?}")), p).unwrap();
        run(&api, &mut j, &cx, &mut |_| {}).await;
        assert_eq!(api.calls("admin.users.session.reset"), [line]);
    }

    // Two users: one resetBulk, not two resets.
    let api = org();
    let two = Selection {
        users: vec![UserRef::Id("W0DEV".into()), UserRef::Id("W0OPS".into())],
        ..Default::default()
    };
    let p = plan(&api, &two, &cx).await;
    assert_eq!(p.calls(), [(Call::ResetBulk, 1)]);
    let mut j = Journal::create(&dir.path().join("two"), p).unwrap();
    run(&api, &mut j, &cx, &mut |_| {}).await;
    assert_eq!(
        api.calls("admin.users.session.reset"),
        ["admin.users.session.resetBulk W0DEV,W0OPS"]
    );
}

#[tokio::test]
async fn a_refused_reset_fails_its_user_as_a_reset_bulk_refusal_does() {
    let (cx, _) = cx(Pacing::max_rate(6000.0));
    let dir = tempfile::tempdir().unwrap();
    // The primary owner cannot be reset; a user deleted after planning is not found.
    for (name, user, code) in [
        ("owner", "W0OWNER", "cannot_reset_primary_owner"),
        ("gone", "W0GONE", "user_not_found"),
    ] {
        let api = org();
        let mut p = plan(
            &api,
            &Selection {
                users: vec![UserRef::Id("W0OPS".into())],
                ..Default::default()
            },
            &cx,
        )
        .await;
        p.users[0].id = user.into();
        let mut j = Journal::create(&dir.path().join(name), p).unwrap();
        let s = run(&api, &mut j, &cx, &mut |_| {}).await;
        assert!(matches!(s.status, RunStatus::Completed), "{s:?}");
        assert_eq!(
            api.calls("admin.users.session.reset"),
            [format!("admin.users.session.reset {user}")],
            "refused once, not sent again"
        );
        assert_eq!((s.counts.failed, s.counts.pending), (1, 0));
        assert_eq!(j.state().status(0), ActionStatus::Failed);
        assert_eq!(j.state().refused_user_count(), 1);
        let refused: Vec<_> = j
            .state()
            .user_failures(0)
            .iter()
            .map(|(u, f)| (*u, f.code.clone()))
            .collect();
        assert_eq!(refused, [(0, code.to_owned())]);
        assert_eq!(
            j.state().failure(0).map(|f| f.code.as_str()),
            Some("all_users_refused")
        );
        let rows: Vec<_> = report_rows(j.plan(), Some(j.state()))
            .map(|r| (r.method, r.user, r.result, r.code))
            .collect();
        assert_eq!(
            rows,
            [(
                "admin.users.session.reset",
                user.to_owned(),
                RowResult::Failed,
                Some(code.to_owned())
            )]
        );
        // Read back from disk, the journal says the same.
        drop(j);
        let back = Journal::open(&dir.path().join(name)).unwrap();
        assert_eq!(back.state().user_failures(0).len(), 1);
    }

    // A refusal of the token stops the run with the reset pending; a resume sends it again.
    let api = org();
    api.faults
        .lock()
        .unwrap()
        .push_back(("admin.users.session.reset", api_error("missing_scope", &[])));
    let p = plan(
        &api,
        &Selection {
            users: vec![UserRef::Id("W0OPS".into())],
            ..Default::default()
        },
        &cx,
    )
    .await;
    let path = dir.path().join("fatal");
    let mut j = Journal::create(&path, p).unwrap();
    let s = run(&api, &mut j, &cx, &mut |_| {}).await;
    assert!(matches!(s.status, RunStatus::Stopped(_)), "{s:?}");
    assert_eq!(j.state().status(0), ActionStatus::Pending);
    assert!(j.state().user_failures(0).is_empty());
    drop(j);
    let mut j = Journal::open(&path).unwrap();
    let s = run(&api, &mut j, &cx, &mut |_| {}).await;
    assert!(matches!(s.status, RunStatus::Completed), "{s:?}");
    assert_eq!(j.state().status(0), ActionStatus::Done);
    assert_eq!(api.calls("admin.users.session.reset").len(), 2);
    assert_eq!(api.live(), [1, 2, 4, 5]);
}

#[tokio::test]
async fn resuming_with_another_users_token_is_refused_and_sends_nothing() {
    let api = org();
    let (cx, _) = cx(Pacing::max_rate(6000.0));
    let sel = Selection {
        everyone: true,
        ..Default::default()
    };
    let p = plan(&api, &sel, &cx).await;
    let dir = tempfile::tempdir().unwrap();
    let mut j = Journal::create(&dir.path().join("j"), p).unwrap();
    let other = Fake {
        whoami: Some("W0OPS".into()),
        ..org()
    };
    let s = run(&other, &mut j, &cx, &mut |_| {}).await;
    match s.status {
        RunStatus::Stopped(Error::Journal { message, .. }) => {
            assert!(message.contains("W0OPS"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert!(other.calls("admin.users.session.reset").is_empty());
}

#[tokio::test]
async fn fatal_lookup_errors_stop_planning_and_empty_selections_are_refused() {
    let api = org();
    api.faults
        .lock()
        .unwrap()
        .push_back(("users.lookupByEmail", api_error("missing_scope", &[])));
    let (cx, _) = cx(Pacing::tier());
    let sel = Selection {
        users: vec![UserRef::parse("dana@acme.example").unwrap()],
        ..Default::default()
    };
    let err = build_plan(&api, &sel, "u", &cx, &mut |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api { .. }), "{err:?}");
    let err = build_plan(&api, &Selection::default(), "u", &cx, &mut |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Selection(_)), "{err:?}");
    assert_eq!(
        api.calls("auth.test").len(),
        1,
        "an empty selection sends nothing"
    );
}
