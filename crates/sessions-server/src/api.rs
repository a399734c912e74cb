//! HTTP handlers of `/api/<method>`: read the call, authorize, parse arguments, run the
//! service, write a Slack-shaped answer. Holds no SQL and no business rules.

use std::future::Future;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use serde::Serialize;
use sessions_wire::{
    AuthTest, Envelope, ErrorCode, Method, Request as _, SessionClearSettings, SessionGetSettings,
    SessionInvalidate, SessionList, SessionReset, SessionResetBulk, SessionSetSettings, UsersInfo,
    UsersList, UsersLookupByEmail,
};

use crate::audit::{self, Audited, Origin};
use crate::extract::{read_call, CallInput};
use crate::service::{self, ApiError, Ctx};
use crate::state::AppState;

pub(crate) const JSON: &str = "application/json; charset=utf-8";

/// One answer, before it becomes HTTP.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    body: String,
    scopes: Option<String>,
    accepted: Option<&'static str>,
    job: Option<i64>,
    retry_after: Option<u64>,
    /// `ok` or the error code, for metrics and the access log.
    code: String,
}

impl Reply {
    fn error(e: ApiError) -> Reply {
        let env = Envelope::from(e);
        let code = env
            .error
            .as_ref()
            .map_or("internal_error", |c| c.as_str())
            .to_owned();
        Reply {
            status: StatusCode::OK,
            body: serde_json::to_string(&env)
                .unwrap_or_else(|_| r#"{"ok":false,"error":"internal_error"}"#.into()),
            scopes: None,
            accepted: None,
            job: None,
            retry_after: None,
            code,
        }
    }

    fn ok<T: Serialize>(payload: &T) -> Reply {
        // `ok` first, as Slack writes it: splice it in front of the payload's own fields.
        let body = match serde_json::to_string(payload) {
            Ok(s) if s == "{}" => r#"{"ok":true}"#.to_owned(),
            Ok(s) if s.starts_with('{') => format!(r#"{{"ok":true,{}"#, &s[1..]),
            _ => return Reply::error(ApiError::new(ErrorCode::InternalError)),
        };
        Reply {
            status: StatusCode::OK,
            body,
            scopes: None,
            accepted: None,
            job: None,
            retry_after: None,
            code: "ok".to_owned(),
        }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut res = Response::new(Body::from(self.body));
        *res.status_mut() = self.status;
        let h = res.headers_mut();
        h.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(JSON));
        if let Some(accepted) = self.accepted {
            h.insert(
                "x-accepted-oauth-scopes",
                HeaderValue::from_static(accepted),
            );
        }
        if let Some(scopes) = self.scopes.and_then(|s| HeaderValue::from_str(&s).ok()) {
            h.insert("x-oauth-scopes", scopes);
        }
        if let Some(job) = self.job {
            h.insert("x-sessions-job-id", HeaderValue::from(job));
        }
        if let Some(secs) = self.retry_after {
            h.insert(http::header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res.extensions_mut()
            .insert(crate::metrics::AnswerCode(self.code));
        res
    }
}

/// A Slack-style answer with a status other than 200 (413 for oversized bodies).
pub(crate) fn status_error(status: StatusCode, code: &str, message: String) -> Response {
    let env = Envelope::error(ErrorCode::parse(code)).with_message(format!("[ERROR] {message}"));
    let mut res = Reply::error(ApiError::new(ErrorCode::InternalError));
    res.body = serde_json::to_string(&env).unwrap_or_default();
    res.status = status;
    res.code = code.to_owned();
    res.into_response()
}

/// Runs one method: authorization, argument parsing and validation, then the service call.
async fn exec<M, F, Fut>(state: &AppState, input: CallInput, origin: &Origin, f: F) -> Reply
where
    M: Audited,
    F: FnOnce(Ctx, M::Request) -> Fut,
    Fut: Future<Output = Result<(M::Response, Option<i64>), ApiError>>,
{
    let accepted = Some(M::SCOPE.as_str()).filter(|s| !s.is_empty());
    let now = state.clock().now();
    let mut reply = match service::authorize::<M>(state, input.token.as_deref(), now).await {
        Err(e) => {
            // Only callers with a valid token are recorded (see `audit`).
            audit::refused::<M>(state, origin, input.token.as_deref(), &input.args, now, &e).await;
            Reply::error(e)
        }
        Ok(principal) => {
            let scopes = principal.scopes.join(",");
            let parsed = M::Request::from_args(&input.args).and_then(|r| r.validate().map(|()| r));
            let mut reply = match parsed {
                Err(e) => {
                    let e = ApiError::from(e);
                    if let Some(plan) = audit::plan_for_failure::<M>(&input.args) {
                        audit::record::<M>(state, origin, &principal, plan, now, Err(&e)).await;
                    }
                    Reply::error(e)
                }
                Ok(req) => {
                    let plan = M::plan(&req);
                    let actor = principal.clone();
                    let ctx = Ctx {
                        state: state.clone(),
                        principal,
                        now,
                        origin: origin.clone(),
                    };
                    let out = f(ctx, req).await;
                    let outcome = out.as_ref().map(|(_, job)| *job);
                    audit::record::<M>(state, origin, &actor, plan, now, outcome).await;
                    match out {
                        Ok((resp, job)) => {
                            let mut r = Reply::ok(&resp);
                            r.job = job;
                            r
                        }
                        Err(e) => Reply::error(e),
                    }
                }
            };
            reply.scopes = Some(scopes);
            reply
        }
    };
    reply.accepted = Some(accepted.unwrap_or(""));
    reply
}

macro_rules! plain {
    ($f:path) => {
        |c, r| async move { $f(c, r).await.map(|x| (x, None)) }
    };
}

async fn dispatch(state: &AppState, name: &str, input: CallInput, origin: &Origin) -> Reply {
    match name {
        SessionList::NAME => {
            exec::<SessionList, _, _>(state, input, origin, plain!(service::list)).await
        }
        SessionInvalidate::NAME => {
            exec::<SessionInvalidate, _, _>(state, input, origin, plain!(service::invalidate)).await
        }
        SessionReset::NAME => {
            exec::<SessionReset, _, _>(state, input, origin, plain!(service::reset)).await
        }
        SessionResetBulk::NAME => {
            exec::<SessionResetBulk, _, _>(state, input, origin, |c, r| async move {
                service::reset_bulk(c, r).await.map(|(e, id)| (e, Some(id)))
            })
            .await
        }
        SessionGetSettings::NAME => {
            exec::<SessionGetSettings, _, _>(state, input, origin, plain!(service::get_settings))
                .await
        }
        SessionSetSettings::NAME => {
            exec::<SessionSetSettings, _, _>(state, input, origin, plain!(service::set_settings))
                .await
        }
        SessionClearSettings::NAME => {
            exec::<SessionClearSettings, _, _>(
                state,
                input,
                origin,
                plain!(service::clear_settings),
            )
            .await
        }
        AuthTest::NAME => {
            exec::<AuthTest, _, _>(state, input, origin, plain!(service::auth_test)).await
        }
        UsersLookupByEmail::NAME => {
            exec::<UsersLookupByEmail, _, _>(
                state,
                input,
                origin,
                plain!(service::users_lookup_by_email),
            )
            .await
        }
        UsersInfo::NAME => {
            exec::<UsersInfo, _, _>(state, input, origin, plain!(service::users_info)).await
        }
        UsersList::NAME => {
            exec::<UsersList, _, _>(state, input, origin, plain!(service::users_list)).await
        }
        _ => Reply::error(ApiError::new(ErrorCode::UnknownMethod)),
    }
}

/// Reads a whole request body within the size limit (413 `request_too_large`, checked against
/// `Content-Length` first) and the body timeout for slow clients (408 `request_timeout`). A
/// body that cannot be read (a malformed chunked encoding, a connection cut mid-body) is 400
/// `invalid_form_data`: Slack's code for POST data "either missing or syntactically invalid".
pub(crate) async fn read_body(
    state: &AppState,
    headers: &http::HeaderMap,
    body: axum::body::Body,
) -> Result<bytes::Bytes, Response> {
    let limit = state.inner.settings.max_body_bytes;
    let too_large = || {
        status_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request_too_large",
            format!("the request body exceeds the limit of {limit} bytes"),
        )
    };
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let body_timeout = state.inner.settings.limits.body_timeout;
    match tokio::time::timeout(body_timeout, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(b)) => Ok(b),
        Ok(Err(e)) if is_length_limit(&e) => Err(too_large()),
        Ok(Err(e)) => Err(status_error(
            StatusCode::BAD_REQUEST,
            "invalid_form_data",
            format!("the request body could not be read: {e}"),
        )),
        Err(_) => Err(status_error(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!(
                "the request body did not arrive within {} ms",
                body_timeout.as_millis()
            ),
        )),
    }
}

/// Whether reading a body failed because it outgrew the limit (rather than being malformed).
fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}

/// `POST|GET /api/{method}`. A method name that is not valid UTF-8 once percent-decoded
/// (`/api/%ff%fe`) is no method: `unknown_method`, like any other unknown name.
pub(crate) async fn api_call(
    State(state): State<AppState>,
    method: Result<Path<String>, axum::extract::rejection::PathRejection>,
    req: Request,
) -> Response {
    let Ok(Path(method)) = method else {
        return Reply::error(ApiError::new(ErrorCode::UnknownMethod)).into_response();
    };
    let (parts, body) = req.into_parts();
    let bytes = match read_body(&state, &parts.headers, body).await {
        Ok(b) => b,
        Err(refused) => return refused,
    };
    let Some(&name) = sessions_wire::METHOD_NAMES.iter().find(|n| **n == method) else {
        return Reply::error(ApiError::new(ErrorCode::UnknownMethod)).into_response();
    };
    let input = match read_call(&parts.headers, parts.uri.query(), bytes).await {
        Ok(i) => i,
        Err(e) => {
            let mut err = ApiError::new(e.code);
            err.messages.push(e.message);
            return Reply::error(err).into_response();
        }
    };
    // Rate limits are the emulator layer's (`emulation`), applied before this handler.
    tracing::debug!(method = name, "api call");
    let origin = Origin::of(&state, &parts);
    dispatch(&state, name, input, &origin).await.into_response()
}

/// Any path outside `/api/{method}` and `/control/...`.
pub(crate) async fn not_found() -> Response {
    status_error(
        StatusCode::NOT_FOUND,
        "unknown_method",
        "no such endpoint; methods live under /api/".into(),
    )
}

/// `/api/{method}` with a verb other than GET or POST.
pub(crate) async fn method_not_allowed() -> Response {
    let mut res = status_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_post_type",
        "use GET or POST".into(),
    );
    res.headers_mut()
        .insert(http::header::ALLOW, HeaderValue::from_static("GET, POST"));
    res
}
