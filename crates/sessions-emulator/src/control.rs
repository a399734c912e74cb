//! The control API: JSON endpoints to read and change the emulator at runtime. Mounted by the
//! server (under `/control/emulator`, behind its control token); see `docs/emulator.md`.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use http::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::faults::FaultSpec;
use crate::log::LogQuery;
use crate::ratelimit::{Limit, RateLimitMode, RateLimitSettings};
use crate::{clock, Emulator, EmulatorError};

/// A control API error: a 4xx with `{"ok":false,"error":<code>,"message":<why>}`.
#[derive(Debug)]
struct ControlError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ControlError {
    fn bad(message: impl Into<String>) -> ControlError {
        ControlError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_request",
            message: message.into(),
        }
    }
}

impl From<EmulatorError> for ControlError {
    fn from(e: EmulatorError) -> Self {
        ControlError::bad(e.to_string())
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let body = json!({"ok": false, "error": self.code, "message": self.message});
        (self.status, axum::Json(body)).into_response()
    }
}

type Answer = Result<(StatusCode, axum::Json<Value>), ControlError>;

fn ok(mut body: Value) -> Answer {
    if let Value::Object(map) = &mut body {
        map.insert("ok".into(), Value::Bool(true));
    }
    Ok((StatusCode::OK, axum::Json(body)))
}

/// Parses a JSON body strictly, naming the problem (unknown field, wrong type) on failure.
fn parse_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, ControlError> {
    if body.is_empty() {
        return Err(ControlError::bad("a JSON body is required"));
    }
    serde_json::from_slice(body).map_err(|e| ControlError::bad(format!("invalid JSON body: {e}")))
}

pub(crate) fn router<S: Clone + Send + Sync + 'static>(emulator: Emulator) -> Router<S> {
    Router::new()
        .route("/", get(overview))
        .route("/rate-limits", get(get_rate_limits).put(put_rate_limits))
        .route("/rate-limits/reset", post(reset_rate_limits))
        .route(
            "/faults",
            get(list_faults).post(add_faults).delete(clear_faults),
        )
        .route("/faults/seed", get(get_seed).put(put_seed))
        .route("/faults/{id}", delete(remove_fault))
        .route("/requests", get(list_requests).delete(clear_requests))
        .route("/clock", get(get_clock).put(put_clock))
        .route("/clock/advance", post(advance_clock))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(emulator)
}

async fn not_found() -> ControlError {
    ControlError {
        status: StatusCode::NOT_FOUND,
        code: "not_found",
        message: "no such emulator control endpoint; see docs/emulator.md".into(),
    }
}

async fn method_not_allowed() -> ControlError {
    ControlError {
        status: StatusCode::METHOD_NOT_ALLOWED,
        code: "method_not_allowed",
        message: "this endpoint does not take that HTTP method; see docs/emulator.md".into(),
    }
}

fn clock_json(emu: &Emulator) -> Value {
    let now = emu.clock.now_unix();
    json!({"now": now, "now_rfc3339": clock::rfc3339(now), "offset": emu.clock.offset()})
}

fn rate_limits_json(emu: &Emulator) -> Value {
    let s = emu.limiter.settings();
    json!({
        "mode": s.mode,
        "overrides": s.overrides,
        "effective": emu.limiter.effective_limits(),
    })
}

async fn overview(State(emu): State<Emulator>) -> Answer {
    ok(json!({
        "rate_limits": rate_limits_json(&emu),
        "faults": {"seed": emu.faults.seed(), "rules": emu.faults.list()},
        "requests": {"held": emu.log.len(), "capacity": emu.log.capacity()},
        "clock": clock_json(&emu),
    }))
}

async fn get_rate_limits(State(emu): State<Emulator>) -> Answer {
    ok(rate_limits_json(&emu))
}

/// Fields left out keep their value.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimitPatch {
    #[serde(default)]
    mode: Option<RateLimitMode>,
    #[serde(default)]
    overrides: Option<BTreeMap<String, Limit>>,
}

async fn put_rate_limits(State(emu): State<Emulator>, body: Bytes) -> Answer {
    let patch: RateLimitPatch = parse_body(&body)?;
    let current = emu.limiter.settings();
    let next = RateLimitSettings {
        mode: patch.mode.unwrap_or(current.mode),
        overrides: patch.overrides.unwrap_or(current.overrides),
    };
    emu.limiter.set_settings(next)?;
    ok(rate_limits_json(&emu))
}

async fn reset_rate_limits(State(emu): State<Emulator>) -> Answer {
    emu.limiter.reset();
    ok(rate_limits_json(&emu))
}

async fn list_faults(State(emu): State<Emulator>) -> Answer {
    ok(json!({"seed": emu.faults.seed(), "rules": emu.faults.list()}))
}

/// One rule or an array of rules (all added, or none when one is invalid).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<Value>),
    One(Value),
}

async fn add_faults(State(emu): State<Emulator>, body: Bytes) -> Answer {
    let parsed: OneOrMany = parse_body(&body)?;
    let (values, single) = match parsed {
        OneOrMany::Many(v) => (v, false),
        OneOrMany::One(v) => (vec![v], true),
    };
    let mut specs = Vec::with_capacity(values.len());
    for (i, v) in values.into_iter().enumerate() {
        let spec: FaultSpec = serde_json::from_value(v).map_err(|e| {
            ControlError::bad(if single {
                format!("invalid fault rule: {e}")
            } else {
                format!("invalid fault rule at index {i}: {e}")
            })
        })?;
        specs.push(spec);
    }
    let rules = emu.faults.add_all(specs)?;
    let body = if single {
        json!({"rule": rules[0]})
    } else {
        json!({"rules": rules})
    };
    let (_, json) = ok(body)?;
    Ok((StatusCode::CREATED, json))
}

async fn clear_faults(State(emu): State<Emulator>) -> Answer {
    emu.faults.clear();
    ok(json!({"seed": emu.faults.seed(), "rules": []}))
}

async fn remove_fault(State(emu): State<Emulator>, Path(id): Path<String>) -> Answer {
    let id: u64 = id
        .parse()
        .map_err(|_| ControlError::bad(format!("fault id {id:?} is not a number")))?;
    if emu.faults.remove(id) {
        ok(json!({"removed": id}))
    } else {
        Err(ControlError {
            status: StatusCode::NOT_FOUND,
            code: "fault_not_found",
            message: format!("no fault rule #{id}"),
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedBody {
    seed: u64,
}

async fn get_seed(State(emu): State<Emulator>) -> Answer {
    ok(json!({"seed": emu.faults.seed()}))
}

async fn put_seed(State(emu): State<Emulator>, body: Bytes) -> Answer {
    let SeedBody { seed } = parse_body(&body)?;
    emu.faults.reseed(seed);
    ok(json!({"seed": seed}))
}

async fn list_requests(State(emu): State<Emulator>, RawQuery(q): RawQuery) -> Answer {
    let query: LogQuery = serde_urlencoded::from_str(q.as_deref().unwrap_or(""))
        .map_err(|e| ControlError::bad(format!("invalid query string: {e}")))?;
    let requests = emu.log.list(&query);
    ok(json!({"capacity": emu.log.capacity(), "requests": requests}))
}

async fn clear_requests(State(emu): State<Emulator>) -> Answer {
    emu.log.clear();
    ok(json!({"capacity": emu.log.capacity(), "requests": []}))
}

async fn get_clock(State(emu): State<Emulator>) -> Answer {
    ok(clock_json(&emu))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceBody {
    seconds: i64,
}

async fn advance_clock(State(emu): State<Emulator>, body: Bytes) -> Answer {
    let AdvanceBody { seconds } = parse_body(&body)?;
    emu.clock.advance(seconds);
    ok(clock_json(&emu))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OffsetBody {
    offset: i64,
}

async fn put_clock(State(emu): State<Emulator>, body: Bytes) -> Answer {
    let OffsetBody { offset } = parse_body(&body)?;
    emu.clock.set_offset(offset);
    ok(clock_json(&emu))
}
