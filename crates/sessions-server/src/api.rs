//! HTTP handlers of `/api/<method>`: read the call, authorize, parse arguments, run the
//! service, write a Slack-shaped answer. Holds no SQL and no business rules.

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use serde::Serialize;
use sessions_store::TokenHash;
use sessions_wire::{
    AuthRevoke, AuthTest, Envelope, ErrorCode, Method, Request as _, SessionClearSettings,
    SessionGetSettings, SessionInvalidate, SessionList, SessionReset, SessionResetBulk,
    SessionSetSettings, UsersInfo, UsersList, UsersLookupByEmail,
};

use crate::audit::{self, Audited, Origin};
use crate::extract::{read_call, CallInput, WireError};
use crate::service::{self, Access, ApiError, Ctx, Refusal};
use crate::state::AppState;

pub(crate) const JSON: &str = "application/json; charset=utf-8";

/// A request that could not be read, answered like any other refusal.
impl From<WireError> for ApiError {
    fn from(e: WireError) -> Self {
        let mut err = ApiError::new(e.code);
        err.messages.push(e.message);
        err
    }
}

/// One answer, before it becomes HTTP (of `/api` methods and of `/audit/v1/logs`).
#[derive(Debug)]
pub(crate) struct Reply {
    status: StatusCode,
    /// JSON text (UTF-8).
    body: Vec<u8>,
    scopes: Option<String>,
    /// `X-Accepted-OAuth-Scopes`: the scope the call needs.
    pub(crate) accepted: Option<&'static str>,
    job: Option<i64>,
    /// `ok` or the error code, for metrics and the access log.
    code: String,
}

impl Reply {
    pub(crate) fn error(e: ApiError) -> Reply {
        let env = Envelope::from(e);
        let code = env
            .error
            .as_ref()
            .map_or("internal_error", |c| c.as_str())
            .to_owned();
        Reply {
            status: StatusCode::OK,
            body: serde_json::to_vec(&env)
                .unwrap_or_else(|_| br#"{"ok":false,"error":"internal_error"}"#.to_vec()),
            scopes: None,
            accepted: None,
            job: None,
            code,
        }
    }

    pub(crate) fn ok<T: Serialize>(payload: &T) -> Reply {
        // `ok` first, as Slack writes it: the payload is serialized right behind `{"ok":true`
        // and its own opening brace becomes the comma, so the body is written once, not
        // serialized and then copied behind a prefix.
        const OK: &[u8] = br#"{"ok":true"#;
        let mut body = Vec::with_capacity(1024);
        body.extend_from_slice(OK);
        let spliced = serde_json::to_writer(&mut body, payload).is_ok()
            && match &body[OK.len()..] {
                b"{}" => {
                    body.truncate(OK.len());
                    body.push(b'}');
                    true
                }
                [b'{', ..] => {
                    body[OK.len()] = b',';
                    true
                }
                _ => false,
            };
        if !spliced {
            return Reply::error(ApiError::new(ErrorCode::InternalError));
        }
        Reply {
            status: StatusCode::OK,
            body,
            scopes: None,
            accepted: None,
            job: None,
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
        res.extensions_mut()
            .insert(crate::metrics::AnswerCode(self.code));
        res
    }
}

/// A Slack-style answer with a status other than 200 (413 for oversized bodies).
pub(crate) fn status_error(status: StatusCode, code: &str, message: String) -> Response {
    let env = Envelope::error(ErrorCode::parse(code)).with_message(format!("[ERROR] {message}"));
    let mut res = Reply::error(ApiError::new(ErrorCode::InternalError));
    res.body = serde_json::to_vec(&env).unwrap_or_default();
    res.status = status;
    res.code = code.to_owned();
    res.into_response()
}

/// A call that passed authorization and parsing, or its answer.
enum Begun<R> {
    Answered(Reply),
    Ready(Ctx, R),
}

/// Everything before the service runs: authorization (one token lookup), then parsing and
/// validation of the arguments, which builds the call's audit plan (once; it travels in the
/// [`Ctx`]). Refusals of callers with a valid token are recorded (see `audit`).
async fn begin<M: Audited>(
    state: &AppState,
    input: &CallInput,
    origin: &Origin,
) -> Begun<M::Request> {
    let now = state.clock().now();
    let access = Access::method::<M>();
    // Hashed once: for the lookup, and kept in the call's context (`auth.revoke` needs it).
    let Some(token) = input.token.as_deref().map(TokenHash::of) else {
        return Begun::Answered(Reply::error(ApiError::new(ErrorCode::NotAuthed)));
    };
    let principal = match service::authorize(state, access, Some(&token), now).await {
        Ok(principal) => principal,
        Err(Refusal {
            principal: Some(principal),
            error,
        }) => {
            if let Some(plan) = audit::plan::<M>(&input.args) {
                audit::refused(state, &principal, origin, now, plan, &error).await;
            }
            return Begun::Answered(Reply::error(error));
        }
        Err(Refusal {
            principal: None,
            error,
        }) => return Begun::Answered(Reply::error(error)),
    };
    let (parsed, plan) = audit::parse::<M>(&input.args);
    let ctx = Ctx {
        state: state.clone(),
        principal,
        token,
        now,
        origin: origin.clone(),
        plan,
    };
    match parsed.and_then(|r| r.validate().map(|()| r)) {
        Ok(req) => Begun::Ready(ctx, req),
        Err(e) => Begun::Answered(finish::<()>(ctx, Err(e.into())).await),
    }
}

/// The answer of an authorized call; a refusal is recorded from the call's plan.
async fn finish<T: Serialize>(ctx: Ctx, out: Result<(T, Option<i64>), ApiError>) -> Reply {
    let mut reply = match out {
        Ok((resp, job)) => {
            let mut r = Reply::ok(&resp);
            r.job = job;
            r
        }
        Err(e) => {
            if let Some(plan) = ctx.plan {
                audit::refused(&ctx.state, &ctx.principal, &ctx.origin, ctx.now, plan, &e).await;
            }
            Reply::error(e)
        }
    };
    reply.scopes = Some(ctx.principal.scopes.join(","));
    reply
}

async fn dispatch(state: &AppState, name: &str, input: CallInput, origin: &Origin) -> Reply {
    /// Runs method `$m`: [`begin`], the service function `$f` (given `&Ctx` and the request),
    /// [`finish`]. `$f` answers `Result<T, ApiError>`; the third form maps that to
    /// `Result<(T, Option<i64>), ApiError>` itself, to pass on a job id.
    macro_rules! exec {
        ($m:ty, $f:path) => {
            exec!($m, $f, |out| out.map(|x| (x, None)))
        };
        ($m:ty, $f:path, |$out:ident| $map:expr) => {{
            let mut reply = match begin::<$m>(state, &input, origin).await {
                Begun::Answered(reply) => reply,
                Begun::Ready(ctx, req) => {
                    let $out = $f(&ctx, req).await;
                    finish(ctx, $map).await
                }
            };
            reply.accepted = Some(<$m>::SCOPE.as_str());
            reply
        }};
    }
    match name {
        SessionList::NAME => exec!(SessionList, service::list),
        SessionInvalidate::NAME => exec!(SessionInvalidate, service::invalidate),
        SessionReset::NAME => exec!(SessionReset, service::reset),
        SessionResetBulk::NAME => exec!(SessionResetBulk, service::reset_bulk, |out| out
            .map(|(e, id)| (e, Some(id)))),
        SessionGetSettings::NAME => exec!(SessionGetSettings, service::get_settings),
        SessionSetSettings::NAME => exec!(SessionSetSettings, service::set_settings),
        SessionClearSettings::NAME => exec!(SessionClearSettings, service::clear_settings),
        AuthTest::NAME => exec!(AuthTest, service::auth_test),
        AuthRevoke::NAME => exec!(AuthRevoke, service::auth_revoke),
        UsersLookupByEmail::NAME => exec!(UsersLookupByEmail, service::users_lookup_by_email),
        UsersInfo::NAME => exec!(UsersInfo, service::users_info),
        UsersList::NAME => exec!(UsersList, service::users_list),
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
        Err(e) => return Reply::error(e.into()).into_response(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ok_goes_first_in_front_of_the_payloads_own_fields() {
        #[derive(Serialize)]
        struct Empty {}
        #[derive(Serialize)]
        struct Two {
            a: u8,
            b: &'static str,
        }
        assert_eq!(Reply::ok(&Empty {}).body, br#"{"ok":true}"#);
        assert_eq!(
            Reply::ok(&Two { a: 1, b: "x" }).body,
            br#"{"ok":true,"a":1,"b":"x"}"#
        );
        // Not an object: nothing to splice into, an internal error rather than bad JSON.
        let not_object = Reply::ok(&[1, 2]);
        assert_eq!(not_object.code, "internal_error");
        let v: serde_json::Value = serde_json::from_slice(&not_object.body).unwrap();
        assert_eq!(v["ok"], false);
    }
}
