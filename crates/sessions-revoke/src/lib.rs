//! Planned, paced, resumable revocation of Slack sessions: the engine behind
//! `slack-sessions revoke`, the web console and the signals bridge.
//!
//! ```text
//! Selection ──build_plan──▶ Plan ──Journal::create──▶ Journal ──run──▶ RunSummary
//!  (pure)     (reads only)  (pure)   (plan on disk,    (locked)  (paced, each    + report_rows
//!                                     fsynced)                    result fsynced)
//! ```
//!
//! * [`Selection`] says what to revoke: users by id or email ([`UserRef`], a users file via
//!   [`parse_users_file`]), teams, IP ranges ([`parse_cidr`]), OS names, device text, a client
//!   version bound ([`Version`]), `everyone`, `include_self`, and the reset scope
//!   (mobile/web only) for whole-user selections. Different selectors AND, repeats OR;
//!   [`Selection::validate`] refuses an empty selection. [`Selection::matches`] is the pure
//!   test of one listed session.
//! * [`build_plan`] reads through an [`Api`]: `auth.test` (whose sessions to leave alone),
//!   `users.info` / `users.lookupByEmail` per entry (entries naming nobody become
//!   [`Plan::unresolved`]), then sessions: `admin.users.session.list` per user and team when
//!   users are named and a per-session filter is set, else one streaming scan of the org at
//!   `limit=1000` (only the matches are kept). Whole-user selections (no per-session filter)
//!   become chunks of up to 1,000 users: a chunk of one user is one `admin.users.session.reset`
//!   call, two or more one `resetBulk` ([`reset_call`], a pure function). Both are Tier 2, but
//!   `reset` is synchronous (its `ok` means the sessions are ended) and `resetBulk` only queues
//!   a job, so a single person (a signal from an identity provider, `revoke --user X`) is
//!   signed out by the time the run returns. Per-session filters become one `invalidate`
//!   (`user_id` + `session_id`) per matched session. [`Plan::calls`] counts the calls by
//!   method and [`Plan::estimate`] gives the run's duration at a [`Pacing`].
//! * [`Journal`] holds the plan and every settled action in a JSON-lines file (format in the
//!   [`journal`] module), each record fsynced before the next call, under an exclusive OS lock
//!   (a second run on it gets [`Error::JournalLocked`]). [`Journal::create`] writes a new one;
//!   [`Journal::open`] reopens one to resume.
//! * [`run`] makes the journal's pending calls, paced per method ([`Pacing::tier`] by default,
//!   [`Pacing::max_rate`] to override), and reports each settled action to a progress callback.
//!   Cancelling [`Context::cancel`] stops it after the call in flight. It ends
//!   [`RunStatus::Completed`], [`RunStatus::Cancelled`] or [`RunStatus::Stopped`] (a token,
//!   transport or server failure; resumable). `session_not_found` on an invalidate counts as
//!   already done; HTTP 429s are waited out by the client and never fail an action.
//! * [`report_rows`] turns a plan and its journal into rows ([`ReportRow`]: one per session,
//!   per reset user, per unresolved entry), written by [`write_report`] as CSV or JSON.
//!
//! Guarantees of a run killed at any instant (SIGKILL included) and resumed with
//! [`Journal::open`] + [`run`]: every planned action ends settled; an action journaled as
//! settled is never sent again; nothing outside the plan is touched (sessions are chosen at
//! planning time, so sessions created later are not selected — except that a `reset` or
//! `resetBulk` of a named user ends all of that user's sessions when it runs, which is what resetting a user
//! means); an action in flight at the crash is sent again, which for an invalidate answers
//! `session_not_found` if the first call landed (so each session has exactly one successful
//! invalidation in the audit log).
//!
//! Time and sleeping are injected through [`Context`] ([`Clock`], `sessions_client::Sleeper`),
//! so tests record waits instead of sleeping. Pacing decisions ([`Pacer`]) are pure.
//!
//! ```no_run
//! use sessions_revoke::{build_plan, run, Api, Context, Journal, Pacing, Selection, UserRef};
//! // `api` is a `sessions_client::Client` built with `engine_retry_policy()`, or any `Api`.
//! # async fn demo(api: &dyn Api, api_url: &str) -> Result<(), sessions_revoke::Error> {
//! let selection = Selection {
//!     users: vec![UserRef::parse("dana@acme.example")?],
//!     ips: vec![sessions_revoke::parse_cidr("203.0.113.0/24")?],
//!     ..Selection::default()
//! };
//! let cx = Context::new(Pacing::tier());
//! let plan = build_plan(api, &selection, api_url, &cx, &mut |_| {}).await?;
//! println!("{} calls, about {:?}", plan.action_count(), plan.estimate(&cx.pacing));
//! let mut journal = Journal::create("revoke.jsonl".as_ref(), plan)?;
//! let summary = run(api, &mut journal, &cx, &mut |p| println!("{:?}", p.counts)).await;
//! println!("{:?}", summary.status);
//! # Ok(()) }
//! ```

mod api;
mod client_api;
mod context;
mod error;
mod ip;
pub mod journal;
mod pace;
mod plan;
mod planner;
mod report;
mod run;
mod select;

pub use api::{is_fatal, offenders, Api, Call, Person};
pub use client_api::engine_retry_policy;
pub use context::Context;
pub use error::Error;
pub use journal::{
    default_journal_dir, default_journal_path, ActionStatus, Counts, Failure, Journal, JournalState,
};
pub use pace::{parse_rate, Clock, Pacer, Pacing, SystemClock};
pub use plan::{
    reset_call, Action, Actor, Invalidation, Plan, PlanStats, PlannedUser, Unresolved, SAMPLE_SIZE,
};
pub use planner::{build_plan, PlanProgress};
pub use report::{report_rows, write_report, ReportFormat, ReportRow, RowResult};
pub use run::{run, Progress, RunStatus, RunSummary};
pub use select::{parse_cidr, parse_users_file, session_version, Selection, UserRef, Version};

pub use ipnet::IpNet;
pub use tokio_util::sync::CancellationToken;
