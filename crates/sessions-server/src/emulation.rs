//! The server as an emulator for testing Slack admin automation (issue #6): mounts the
//! [`sessions_emulator`] controls (rate limits, faults, request log, clock) and adds the ones
//! that need the store, under `/control/emulator` behind the control token:
//!
//! | Call | Body | Answer |
//! |---|---|---|
//! | `GET /control/emulator/state?org_id=E..` | | the stored state in fixture form, tokens left out (404 for an unknown org) |
//! | `GET /control/emulator/fixture?org_id=E..` | | the remembered fixture that reset restores (tokens left out) |
//! | `POST /control/emulator/state/reset` | `{org_id?}` (or empty) | `{ok, orgs}`: the org (or everything) back to the loaded fixture |
//! | `GET /control/emulator/jobs?org_id=E..` | | `{ok, delay_seconds, pending, jobs}`: recent resetBulk jobs of this node, with state |
//! | `PUT /control/emulator/jobs` | `{delay_seconds}` | the same; later resetBulk jobs run that long after being accepted |
//!
//! Choices where the issue is silent:
//! - "The loaded fixture" is every fixture this process loaded: `--fixtures` at start, the demo
//!   org, and `POST /control/fixtures`, later orgs replacing earlier ones with the same id. It
//!   is kept in memory only when this reset exists (the control API on), so a production
//!   server started with a big `--fixtures` file does not hold it. Reset
//!   of everything deletes all state (as `POST /control/reset`) and loads that fixture again, so
//!   orgs that came from elsewhere go; reset of one org replaces just that org (its sessions,
//!   settings and tokens; sessions without `created_at` get the reset time). An org that was
//!   never loaded from a fixture cannot be reset (404 `org_not_in_fixture`).
//! - Job delays run on the server's clock: advancing the emulator clock past a job's `run_after`
//!   lets the worker run it (the worker is woken on every clock change).
//! - Rate limits key on the SHA-256 hex of the `Authorization: Bearer` (or bare `token` header)
//!   token, the hash the store keeps; a token sent only as an argument is keyed by the
//!   emulator's own hash of it. Clear tokens are never kept.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, PoisonError};

use axum::extract::{Query, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use sessions_emulator::Emulator;
use sessions_store::{Fixture, FixtureOrg, TokenHash};

use crate::clock::Clock;
use crate::state::AppState;

/// Jobs remembered for `GET /control/emulator/jobs`.
const RECENT_JOBS: usize = 100;
/// Longest job delay accepted (one year): longer is surely a mistake.
pub const MAX_JOB_DELAY_SECS: i64 = 365 * 86_400;

/// Server-side emulator state: the mounted emulator (if any), the fixture to reset to, and the
/// resetBulk job delay.
#[derive(Debug, Default)]
pub(crate) struct Emulation {
    pub emulator: Option<Emulator>,
    baseline: Mutex<BTreeMap<String, FixtureOrg>>,
    job_delay: AtomicI64,
    recent_jobs: Mutex<VecDeque<(String, i64)>>,
}

impl Emulation {
    /// Takes the emulator, setting its rate-limit key to the caller's token hash.
    pub fn new(emulator: Option<Emulator>) -> Emulation {
        Emulation {
            emulator: emulator.map(|e| e.with_key_fn(rate_key)),
            ..Emulation::default()
        }
    }

    /// Remembers a fixture that was loaded, as reset's target.
    pub fn remember(&self, fixture: &Fixture) {
        let mut base = self.baseline.lock().unwrap_or_else(PoisonError::into_inner);
        for org in &fixture.orgs {
            base.insert(org.id.clone(), org.clone());
        }
    }

    fn baseline(&self, org: Option<&str>) -> Option<Fixture> {
        let base = self.baseline.lock().unwrap_or_else(PoisonError::into_inner);
        let orgs = match org {
            Some(id) => vec![base.get(id)?.clone()],
            None => base.values().cloned().collect(),
        };
        Some(Fixture { orgs })
    }

    /// Seconds between accepting a resetBulk job and running it.
    pub fn job_delay(&self) -> i64 {
        self.job_delay.load(Ordering::Relaxed)
    }

    /// Notes a recorded job for `GET /control/emulator/jobs`.
    pub fn note_job(&self, org: &str, job: i64) {
        let mut jobs = self
            .recent_jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if jobs.len() == RECENT_JOBS {
            jobs.pop_front();
        }
        jobs.push_back((org.to_owned(), job));
    }
}

/// The server's clock on top of the emulator's: `base` plus the emulator's offset, so
/// `POST /control/emulator/clock/advance` moves session expiry, job timing and rate-limit
/// buckets together.
pub(crate) fn compose_clock(base: Clock, emulator: &Emulator) -> Clock {
    let emu = emulator.clock();
    Clock::from_fn(move || base.now().saturating_add(emu.offset()))
}

/// Rate-limit key of a call: the SHA-256 hex of its header token (never the token itself).
pub(crate) fn rate_key(parts: &http::request::Parts) -> Option<String> {
    let bearer = crate::extract::bearer_token(&parts.headers);
    let bare = || {
        parts
            .headers
            .get("token")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|t| !t.is_empty())
    };
    bearer.or_else(bare).map(|t| TokenHash::of(t).to_hex())
}

/// Moves the emulated clock (the emulator's, so the rate limiter follows; the server's own
/// offset without an emulator); returns the total offset.
pub(crate) fn advance_clock(state: &AppState, secs: i64) -> i64 {
    let offset = match &state.inner.emulation.emulator {
        Some(e) => {
            e.clock().advance(secs);
            clock_offset(state)
        }
        None => state.clock().advance(secs),
    };
    state.wake_worker();
    offset
}

/// The clock's total offset from its source (server and emulator offsets).
pub(crate) fn clock_offset(state: &AppState) -> i64 {
    let emu = state
        .inner
        .emulation
        .emulator
        .as_ref()
        .map_or(0, |e| e.clock().offset());
    state.clock().offset().saturating_add(emu)
}

fn fail(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({"ok": false, "error": code, "message": message.into()})),
    )
        .into_response()
}

fn storage_failure(e: sessions_store::StoreError) -> Response {
    tracing::error!(error = %e, "emulator control: storage failure");
    fail(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "storage failure (see server log)",
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgQuery {
    org_id: Option<String>,
}

async fn state_dump(State(state): State<AppState>, Query(q): Query<OrgQuery>) -> Response {
    match state.store().dump(q.org_id.as_deref()).await {
        Ok(f) if f.orgs.is_empty() && q.org_id.is_some() => fail(
            StatusCode::NOT_FOUND,
            "org_not_found",
            format!("no org {}", q.org_id.unwrap_or_default()),
        ),
        Ok(f) => Json(f).into_response(),
        Err(e) => storage_failure(e),
    }
}

/// The remembered fixture, tokens left out like a dump.
async fn fixture(State(state): State<AppState>, Query(q): Query<OrgQuery>) -> Response {
    let Some(mut f) = state.inner.emulation.baseline(q.org_id.as_deref()) else {
        return not_in_fixture(q.org_id.as_deref().unwrap_or_default());
    };
    for org in &mut f.orgs {
        for t in &mut org.tokens {
            t.token.clear();
        }
        for s in &mut org.sessions {
            s.token = None;
        }
    }
    Json(f).into_response()
}

fn not_in_fixture(org: &str) -> Response {
    fail(
        StatusCode::NOT_FOUND,
        "org_not_in_fixture",
        format!("org {org} was not loaded from a fixture by this server, so there is nothing to reset it to"),
    )
}

async fn state_reset(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let org = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        match serde_json::from_slice::<OrgQuery>(&body) {
            Ok(q) => q.org_id,
            Err(e) => {
                return fail(
                    StatusCode::BAD_REQUEST,
                    "invalid_json",
                    format!("expected {{\"org_id\": \"E...\"}} or no body: {e}"),
                )
            }
        }
    };
    let emulation = &state.inner.emulation;
    let Some(fixture) = emulation.baseline(org.as_deref()) else {
        return not_in_fixture(org.as_deref().unwrap_or_default());
    };
    let store = state.store();
    if org.is_none() {
        if let Err(e) = store.reset_all().await {
            return storage_failure(e);
        }
    }
    if let Err(e) = store.load_fixture(&fixture, state.clock().now()).await {
        // The fixture loaded before, so a refusal means a clash with an org loaded since
        // (only possible for a one-org reset): name it.
        return match e {
            sessions_store::StoreError::Fixture(f) => {
                fail(StatusCode::CONFLICT, "fixture_refused", f.to_string())
            }
            other => storage_failure(other),
        };
    }
    if org.is_none() {
        emulation
            .recent_jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
    let orgs: Vec<&str> = fixture.orgs.iter().map(|o| o.id.as_str()).collect();
    tracing::info!(?orgs, "state reset to the loaded fixture");
    Json(json!({"ok": true, "orgs": orgs})).into_response()
}

async fn jobs_json(state: &AppState, org: Option<&str>) -> Response {
    let emulation = &state.inner.emulation;
    let recent: Vec<(String, i64)> = emulation
        .recent_jobs
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .filter(|(o, _)| org.is_none_or(|want| want == o))
        .cloned()
        .collect();
    let mut jobs = Vec::with_capacity(recent.len());
    for (o, id) in recent {
        match state.store().bulk_job(&o, id).await {
            Ok(Some(job)) => jobs.push(serde_json::to_value(job).unwrap_or(Value::Null)),
            // Gone with a reset of its org.
            Ok(None) => {}
            Err(e) => return storage_failure(e),
        }
    }
    let pending = match state.store().pending_bulk_jobs().await {
        Ok(n) => n,
        Err(e) => return storage_failure(e),
    };
    Json(json!({
        "ok": true,
        "delay_seconds": emulation.job_delay(),
        "pending": pending,
        "jobs": jobs,
    }))
    .into_response()
}

async fn get_jobs(State(state): State<AppState>, Query(q): Query<OrgQuery>) -> Response {
    jobs_json(&state, q.org_id.as_deref()).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobSpeed {
    delay_seconds: i64,
}

async fn put_jobs(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let speed: JobSpeed = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => {
            return fail(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("expected {{\"delay_seconds\": N}}: {e}"),
            )
        }
    };
    if !(0..=MAX_JOB_DELAY_SECS).contains(&speed.delay_seconds) {
        return fail(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("delay_seconds must be between 0 and {MAX_JOB_DELAY_SECS}"),
        );
    }
    state
        .inner
        .emulation
        .job_delay
        .store(speed.delay_seconds, Ordering::Relaxed);
    jobs_json(&state, None).await
}

/// Around any change of the emulator clock: first marks the sessions already expired as ended
/// (so moving the clock back cannot revive them), then, after the change, wakes the resetBulk
/// worker so due jobs run at once.
async fn wake_on_clock(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let clock_change = req.uri().path().contains("/clock") && req.method() != http::Method::GET;
    if clock_change {
        if let Err(e) = crate::worker::sweep_expired(&state).await {
            return storage_failure(e);
        }
    }
    let resp = next.run(req).await;
    if clock_change && resp.status().is_success() {
        state.wake_worker();
    }
    resp
}

/// `/control/emulator/...`, guarded by the control token. Without an emulator only the
/// store-backed controls (state, fixture, jobs) exist.
pub(crate) fn router(state: AppState) -> Router<AppState> {
    let own = Router::new()
        .route("/state", get(state_dump))
        .route("/state/reset", post(state_reset))
        .route("/fixture", get(fixture))
        .route("/jobs", get(get_jobs).put(put_jobs));
    let inner = match &state.inner.emulation.emulator {
        Some(e) => e.control_router::<AppState>().merge(own),
        None => own,
    };
    Router::new()
        .nest("/control/emulator", inner)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            wake_on_clock,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state,
            crate::control::guard,
        ))
}

/// The emulator for [`crate::run`].
pub(crate) fn build(
    config: &sessions_emulator::EmulatorConfig,
) -> Result<Emulator, sessions_emulator::EmulatorError> {
    Emulator::new(config.clone())
}

/// Outside the emulator layer: reads the whole `/api` body within the server's size limit and
/// body timeout first, so a slow or oversized body gets the same 408/413 with the emulator
/// mounted as without it (the emulator's own capture has no deadline). Such calls are answered
/// here, before the emulator logs or limits them. Mounted only with an emulator.
pub(crate) async fn buffer_body(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    match crate::api::read_body(&state, &parts.headers, body).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                .await
        }
        Err(refused) => refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(headers: &[(&str, &str)]) -> http::request::Parts {
        let mut b = http::Request::builder().uri("/api/auth.test?token=xoxp-query");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn rate_key_is_the_stored_token_hash_never_the_token() {
        let want = TokenHash::of("xoxp-secret").to_hex();
        for h in [
            ("authorization", "Bearer xoxp-secret"),
            ("authorization", "bearer   xoxp-secret "),
            ("token", "xoxp-secret"),
        ] {
            let key = rate_key(&parts(&[h])).unwrap();
            assert_eq!(key, want, "{h:?}");
            assert!(!key.contains("xoxp"));
        }
        // Bearer wins over a bare header; arguments are left to the emulator's own hash.
        let both = parts(&[
            ("authorization", "Bearer xoxp-secret"),
            ("token", "xoxp-other"),
        ]);
        assert_eq!(rate_key(&both).unwrap(), want);
        assert_eq!(rate_key(&parts(&[])), None);
        assert_eq!(rate_key(&parts(&[("authorization", "Basic abc")])), None);
        assert_eq!(rate_key(&parts(&[("authorization", "Bearer ")])), None);
    }

    #[test]
    fn the_server_clock_follows_the_emulator_clock() {
        let emulator = Emulator::default();
        let base = Clock::from_fn(|| 1_000_000);
        let clock = compose_clock(base.clone(), &emulator);
        assert_eq!(clock.now(), 1_000_000);
        emulator.clock().advance(3600);
        assert_eq!(clock.now(), 1_003_600);
        base.advance(5);
        assert_eq!(
            clock.now(),
            1_003_605,
            "the configured clock's own offset counts too"
        );
    }

    #[test]
    fn the_remembered_fixture_takes_later_orgs_over_earlier_ones() {
        let e = Emulation::new(None);
        let org = |id: &str, name: &str| FixtureOrg {
            id: id.into(),
            name: name.into(),
            ..FixtureOrg::default()
        };
        e.remember(&Fixture {
            orgs: vec![org("E1", "first"), org("E2", "two")],
        });
        e.remember(&Fixture {
            orgs: vec![org("E1", "second")],
        });
        let all = e.baseline(None).unwrap();
        let names: Vec<&str> = all.orgs.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["second", "two"]);
        assert_eq!(e.baseline(Some("E2")).unwrap().orgs[0].name, "two");
        assert!(e.baseline(Some("E3")).is_none());
    }

    #[test]
    fn recent_jobs_keep_the_newest_hundred() {
        let e = Emulation::new(None);
        for i in 0..150 {
            e.note_job("E1", i);
        }
        let jobs = e.recent_jobs.lock().unwrap();
        assert_eq!(jobs.len(), RECENT_JOBS);
        assert_eq!(jobs.front(), Some(&("E1".to_owned(), 50)));
        assert_eq!(jobs.back(), Some(&("E1".to_owned(), 149)));
    }
}
