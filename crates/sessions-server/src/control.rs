//! The control API: test and emulator administration, under `/control`, guarded by
//! `Authorization: Bearer <control token>` (compared as hashes, in constant time). JSON in and
//! out; bad input gets a plain 4xx `{"ok":false,"error":CODE,"message":TEXT}`.
//!
//! Exposure: off unless enabled ([`ServerSettings::control`](crate::ServerSettings::control) or a
//! control token; 404 `control_disabled` otherwise), and for loopback peers only unless
//! [`ServerSettings::control_allow_remote`](crate::ServerSettings::control_allow_remote) (403
//! `control_remote_forbidden`). Both are checked before the token.
//!
//! | Call | Body | Answer |
//! |---|---|---|
//! | `GET /control/health` | | `{ok, node_id, now, clock_offset, pending_jobs}` |
//! | `POST /control/sessions` | `{org_id?, user_id, team_id?, client, device_hardware?, os?, os_version?, slack_client_version?, ip?, created_at?}` | `{ok, session_id, token, org_id, user_id, team_id}` (a sign-in; `token` is a fresh `xoxc-` token, stored hashed) |
//! | `POST /control/fixtures` | a fixture file | `{ok}`; all or nothing, 400 naming the entry |
//! | `POST /control/reset` | | `{ok}`; deletes all state (the cursor secret stays) |
//! | `GET /control/jobs/{org}/{id}` | | the resetBulk job with per-user `results` (`[user, null or error code]`) |
//! | `POST /control/clock` | `{advance: seconds}` | `{ok, now, offset}`: moves the server clock |
//! | `GET /control/dump?org_id=E..` | | the stored state in fixture form (tokens left out) |
//!
//! `org_id` of `POST /control/sessions` may be left out; the user's org is then looked up in
//! the whole state, which reads every org (fine for tests, slow with millions of sessions).
//! `team_id` defaults to the user's first team.

use axum::extract::{Path, Query, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use sessions_store::{ClientKind, Device, Fixture, NewSession, StoreError, TokenHash};
use subtle::ConstantTimeEq;

use crate::state::{random_hex, AppState};

fn fail(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({"ok": false, "error": code, "message": message.into()})),
    )
        .into_response()
}

fn store_fail(e: StoreError) -> Response {
    match e {
        StoreError::Fixture(f) => fail(StatusCode::BAD_REQUEST, "fixture_refused", f.to_string()),
        StoreError::NotFound(m) => fail(StatusCode::NOT_FOUND, "not_found", m),
        StoreError::Conflict(m) => fail(StatusCode::CONFLICT, "conflict", m),
        other => {
            tracing::error!(error = %other, "control API storage failure");
            fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "storage failure (see server log)",
            )
        }
    }
}

pub(crate) async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // Off unless enabled; loopback peers only unless allowed (checked before the token, so a
    // remote prober learns nothing about it).
    if !state.control_enabled() {
        return fail(
            StatusCode::NOT_FOUND,
            "control_disabled",
            "the control API is off; start the server with --control or --control-token",
        );
    }
    if !state.inner.settings.control_allow_remote {
        let peer = req
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        // An unknown peer (the router embedded without peer addresses) is not trusted.
        if !peer.is_some_and(|ip| ip.is_loopback() || ip.to_canonical().is_loopback()) {
            return fail(
                StatusCode::FORBIDDEN,
                "control_remote_forbidden",
                "the control API answers loopback clients only (see --control-allow-remote)",
            );
        }
    }
    // The scheme in any case, as on `/api`.
    let given = crate::extract::bearer_token(req.headers());
    let Some(given) = given else {
        return fail(
            StatusCode::UNAUTHORIZED,
            "not_authed",
            "send Authorization: Bearer <control token>",
        );
    };
    if !bool::from(TokenHash::of(given).0.ct_eq(&state.inner.control_hash.0)) {
        return fail(
            StatusCode::UNAUTHORIZED,
            "invalid_auth",
            "wrong control token",
        );
    }
    next.run(req).await
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Box<Response>> {
    serde_json::from_slice(body)
        .map_err(|e| Box::new(fail(StatusCode::BAD_REQUEST, "invalid_json", e.to_string())))
}

async fn health(State(state): State<AppState>) -> Response {
    match state.store().pending_bulk_jobs().await {
        Ok(pending) => Json(json!({
            "ok": true,
            "node_id": state.node_id(),
            "now": state.clock().now(),
            "clock_offset": crate::emulation::clock_offset(&state),
            "pending_jobs": pending,
        }))
        .into_response(),
        Err(e) => store_fail(e),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    org_id: Option<String>,
    user_id: String,
    team_id: Option<String>,
    client: String,
    #[serde(default)]
    created_at: Option<i64>,
    #[serde(flatten)]
    device: DeviceFields,
}

#[derive(Debug, Default, Deserialize)]
struct DeviceFields {
    device_hardware: Option<String>,
    os: Option<String>,
    os_version: Option<String>,
    slack_client_version: Option<String>,
    ip: Option<String>,
}

async fn sign_in(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let req: SignIn = match parse_json(&body) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    let Some(client) = ClientKind::parse(&req.client) else {
        return fail(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "client must be desktop, web, ios or android",
        );
    };
    let store = state.store();
    let org_id = match req.org_id {
        Some(o) => o,
        None => match store.dump(None).await {
            Ok(f) => match f
                .orgs
                .iter()
                .find(|o| o.users.iter().any(|u| u.id == req.user_id))
            {
                Some(o) => o.id.clone(),
                None => {
                    return fail(
                        StatusCode::NOT_FOUND,
                        "user_not_found",
                        format!("no org has user {}", req.user_id),
                    )
                }
            },
            Err(e) => return store_fail(e),
        },
    };
    let user = match store.user(&org_id, &req.user_id).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            return fail(
                StatusCode::NOT_FOUND,
                "user_not_found",
                format!("{org_id} has no user {}", req.user_id),
            )
        }
        Err(e) => return store_fail(e),
    };
    let Some(team_id) = req.team_id.or_else(|| user.teams.first().cloned()) else {
        return fail(
            StatusCode::BAD_REQUEST,
            "missing_team",
            "the user is on no team; pass team_id",
        );
    };
    if !user.teams.is_empty() && !user.teams.contains(&team_id) {
        return fail(
            StatusCode::BAD_REQUEST,
            "team_not_found",
            format!("user {} is not on team {team_id}", user.user_id),
        );
    }
    let token = format!("xoxc-{}", random_hex(24));
    let d = req.device;
    let new = NewSession {
        org_id: org_id.clone(),
        user_id: user.user_id.clone(),
        team_id: team_id.clone(),
        client,
        token_hash: TokenHash::of(&token),
        created: Device {
            device_hardware: d.device_hardware,
            os: d.os,
            os_version: d.os_version,
            slack_client_version: d.slack_client_version,
            ip: d.ip,
        },
        created_at: req.created_at.unwrap_or_else(|| state.clock().now()),
    };
    match store.create_session(new).await {
        Ok(row) => Json(json!({
            "ok": true,
            "session_id": row.session_id,
            "token": token,
            "org_id": org_id,
            "user_id": row.user_id,
            "team_id": row.team_id,
        }))
        .into_response(),
        Err(e) => store_fail(e),
    }
}

async fn load_fixtures(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let text = match std::str::from_utf8(&body) {
        Ok(t) => t,
        Err(_) => {
            return fail(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                "fixture is not UTF-8",
            )
        }
    };
    let fixture = match Fixture::from_json(text) {
        Ok(f) => f,
        Err(e) => return fail(StatusCode::BAD_REQUEST, "fixture_refused", e.to_string()),
    };
    match state
        .store()
        .load_fixture(&fixture, state.clock().now())
        .await
    {
        Ok(()) => {
            // What the emulator's state reset restores.
            state.inner.emulation.remember(&fixture);
            Json(json!({"ok": true, "orgs": fixture.orgs.len()})).into_response()
        }
        Err(e) => store_fail(e),
    }
}

async fn reset_all(State(state): State<AppState>) -> Response {
    match state.store().reset_all().await {
        Ok(()) => Json(json!({"ok": true})).into_response(),
        Err(e) => store_fail(e),
    }
}

async fn job(State(state): State<AppState>, Path((org, id)): Path<(String, String)>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return fail(
            StatusCode::BAD_REQUEST,
            "invalid_arguments",
            "job id must be an integer",
        );
    };
    match state.store().bulk_job(&org, id).await {
        Ok(Some(job)) => {
            let mut v = serde_json::to_value(&job).unwrap_or(Value::Null);
            if let Value::Object(m) = &mut v {
                m.insert("ok".into(), Value::Bool(true));
            }
            Json(v).into_response()
        }
        Ok(None) => fail(
            StatusCode::NOT_FOUND,
            "job_not_found",
            format!("{org} has no job {id}"),
        ),
        Err(e) => store_fail(e),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockMove {
    advance: i64,
}

async fn clock(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let m: ClockMove = match parse_json(&body) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    // Sessions already expired stay ended whichever way the clock moves.
    if let Err(e) = crate::worker::sweep_expired(&state).await {
        return store_fail(e);
    }
    // One clock: with the emulator mounted this moves its clock (rate limits follow).
    let offset = crate::emulation::advance_clock(&state, m.advance);
    Json(json!({"ok": true, "offset": offset, "now": state.clock().now()})).into_response()
}

#[derive(Debug, Deserialize)]
struct DumpQuery {
    org_id: Option<String>,
}

async fn dump(State(state): State<AppState>, Query(q): Query<DumpQuery>) -> Response {
    match state.store().dump(q.org_id.as_deref()).await {
        Ok(f) => Json(f).into_response(),
        Err(e) => store_fail(e),
    }
}

/// The `/control` router (already guarded).
pub(crate) fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/control/health", get(health))
        .route("/control/sessions", post(sign_in))
        .route("/control/fixtures", post(load_fixtures))
        .route("/control/reset", post(reset_all))
        .route("/control/jobs/{org}/{id}", get(job))
        .route("/control/clock", post(clock))
        .route("/control/dump", get(dump))
        // Fixtures can be large (bulk loads for benchmarks).
        .layer(axum::extract::DefaultBodyLimit::max(1 << 30))
        .layer(axum::middleware::from_fn_with_state(state, guard))
}
