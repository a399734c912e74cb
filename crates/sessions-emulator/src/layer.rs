//! The middleware for `/api/<method>` routes.
//!
//! Per call, in order: resolve the method from the path's last segment, capture the query string
//! and (up to [`BODY_CAPTURE_LIMIT`] bytes of) the body for the log, apply faults, apply rate
//! limits, call the inner service, then log the call with the answer code read from the JSON
//! body. The layer captures the arguments itself rather than asking the server to log them: the
//! server needs no emulator code in its handlers, and the log sees even calls that the emulator
//! answered (faults, 429s) before the server ran.

use std::convert::Infallible;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use futures::future::BoxFuture;
use futures::{stream, StreamExt};
use http::{header, HeaderValue, StatusCode};
use serde_json::{Map, Value};
use tower::{Layer, Service, ServiceExt};

use crate::faults::{FaultAction, Strike};
use crate::log::{redact, RequestRecord};
use crate::ratelimit::ratelimited_response;
use crate::{clock, Emulator};

/// Request bodies up to this size are captured for the log; larger ones pass through untouched
/// (streamed on) and are logged with `args_truncated: true`.
pub const BODY_CAPTURE_LIMIT: usize = 64 * 1024;
/// Answers up to this size are buffered to read their `error` code; larger ones stream on and
/// are logged as `ok` when they start with `{"ok":true`, else `unknown`.
pub const RESPONSE_CAPTURE_LIMIT: usize = 8 * 1024 * 1024;
/// Header naming the fault rule that produced an answer.
pub const FAULT_HEADER: &str = "x-emulator-fault";

/// Maps a request's head to a rate-limit key (who is calling), e.g. the token's hash.
pub type KeyFn = Arc<dyn Fn(&http::request::Parts) -> Option<String> + Send + Sync>;

/// Hashes a secret with std's SipHash so buckets can be told apart without keeping the secret.
pub(crate) fn hash_secret(secret: &str) -> String {
    let secret = secret.trim();
    let secret = secret.strip_prefix("Bearer ").unwrap_or(secret).trim();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    secret.hash(&mut h);
    format!("{:016x}", h.finish())
}

/// The default key: the `Authorization` header's token, hashed.
pub(crate) fn default_key(parts: &http::request::Parts) -> Option<String> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    (!value.trim().is_empty()).then(|| hash_secret(value))
}

/// Builds the emulator middleware. Apply it to the `/api/{method}` route(s) only, e.g. with
/// `Router::route_layer` or `.layer` on an API-only router before merging the rest.
pub fn layer(emulator: Emulator) -> EmulatorLayer {
    EmulatorLayer { emulator }
}

/// The [`tower::Layer`] made by [`layer`].
#[derive(Debug, Clone)]
pub struct EmulatorLayer {
    emulator: Emulator,
}

impl<S> Layer<S> for EmulatorLayer {
    type Service = EmulatorService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        EmulatorService {
            inner,
            emulator: self.emulator.clone(),
        }
    }
}

/// The service wrapping `/api/<method>` handlers.
#[derive(Debug, Clone)]
pub struct EmulatorService<S> {
    inner: S,
    emulator: Emulator,
}

impl<S> Service<Request> for EmulatorService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // The clone may not be ready; keep the one that is (tower's usual dance).
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let emulator = self.emulator.clone();
        Box::pin(async move { Ok(handle(emulator, inner, req).await) })
    }
}

/// The method name: the path's last non-empty segment.
fn method_from_path(path: &str) -> String {
    path.rsplit('/')
        .find(|s| !s.is_empty())
        .unwrap_or("")
        .to_owned()
}

struct Captured {
    prefix: Bytes,
    rest: Option<axum::body::BodyDataStream>,
}

impl Captured {
    fn complete(&self) -> bool {
        self.rest.is_none()
    }

    fn into_body(self) -> Body {
        match self.rest {
            None => Body::from(self.prefix),
            Some(rest) => {
                Body::from_stream(stream::once(async move { Ok(self.prefix) }).chain(rest))
            }
        }
    }
}

/// Reads a body until it ends or passes `limit` bytes; what was read goes back in front of the
/// rest, so nothing is lost and big bodies are never held whole.
async fn capture(body: Body, limit: usize) -> Result<Captured, axum::Error> {
    let mut stream = body.into_data_stream();
    let mut buf = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        buf.extend_from_slice(&chunk?);
        if buf.len() > limit {
            return Ok(Captured {
                prefix: buf.freeze(),
                rest: Some(stream),
            });
        }
    }
    Ok(Captured {
        prefix: buf.freeze(),
        rest: None,
    })
}

fn push_arg(args: &mut Map<String, Value>, name: String, value: Value) {
    match args.get_mut(&name) {
        None => {
            args.insert(name, value);
        }
        Some(Value::Array(list)) => list.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
    }
}

fn push_form(args: &mut Map<String, Value>, form: &[u8]) -> bool {
    match serde_urlencoded::from_bytes::<Vec<(String, String)>>(form) {
        Ok(pairs) => {
            for (k, v) in pairs {
                push_arg(args, k, Value::String(v));
            }
            true
        }
        Err(_) => false,
    }
}

/// Query string plus body arguments, unredacted (the caller redacts).
async fn read_args(
    parts: &http::request::Parts,
    body: &Bytes,
    complete: bool,
) -> Map<String, Value> {
    let mut args = Map::new();
    if let Some(q) = parts.uri.query() {
        if !push_form(&mut args, q.as_bytes()) {
            args.insert("_query".into(), "[unparsable query string]".into());
        }
    }
    if !complete || body.is_empty() {
        return args;
    }
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // Lowercase only to compare: a multipart boundary is case-sensitive.
    let kind = content_type.to_ascii_lowercase();
    if kind.starts_with("application/json") {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => {
                for (k, v) in map {
                    push_arg(&mut args, k, v);
                }
            }
            _ => {
                args.insert("_body".into(), "[not a JSON object]".into());
            }
        }
    } else if kind.starts_with("multipart/form-data") {
        read_multipart(&mut args, content_type, body.clone()).await;
    } else if !push_form(&mut args, body) {
        args.insert("_body".into(), "[unparsable form body]".into());
    }
    args
}

async fn read_multipart(args: &mut Map<String, Value>, content_type: &str, body: Bytes) {
    let mut req = Request::new(Body::from(body));
    if let Ok(v) = HeaderValue::from_str(content_type) {
        req.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    let Ok(mut multipart) = Multipart::from_request(req, &()).await else {
        args.insert("_body".into(), "[unparsable multipart body]".into());
        return;
    };
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_owned();
                let value = if field.file_name().is_some() {
                    Value::String("[file]".into())
                } else {
                    match field.text().await {
                        Ok(t) => Value::String(t),
                        Err(_) => Value::String("[unreadable]".into()),
                    }
                };
                push_arg(args, name, value);
            }
            Ok(None) => break,
            Err(_) => {
                args.insert("_body".into(), "[unparsable multipart body]".into());
                break;
            }
        }
    }
}

fn json_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

fn slack_error(status: StatusCode, code: &str) -> Response {
    // Built by hand so `ok` comes first, as in Slack's answers (serde_json sorts keys).
    let code = Value::String(code.to_owned());
    json_response(status, format!(r#"{{"ok":false,"error":{code}}}"#))
}

/// A response whose body fails at once, which makes hyper abort the connection: the client
/// gets no answer (or a cut one), as when a proxy or the network drops it.
pub fn dropped_connection() -> Response {
    let body = Body::from_stream(stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "connection dropped by an emulator fault",
        ))
    }));
    let mut resp = Response::new(body);
    // An announced length the body never delivers, so even a client that saw the head knows the
    // message is incomplete.
    resp.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("1"));
    resp
}

/// The answer a terminal fault gives.
fn fault_response(strike: &Strike) -> Option<Response> {
    let mut resp = match &strike.action {
        FaultAction::Error { error } => slack_error(StatusCode::OK, error),
        FaultAction::Status {
            status,
            error,
            retry_after,
        } => {
            let code = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut r = slack_error(code, error);
            if let Some(secs) = retry_after {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*secs));
            }
            r
        }
        FaultAction::Drop => return Some(dropped_connection()),
        FaultAction::Delay { .. } => return None,
    };
    resp.headers_mut()
        .insert(FAULT_HEADER, HeaderValue::from(strike.rule));
    Some(resp)
}

fn total_delay<'a>(strikes: impl Iterator<Item = &'a Strike>) -> Duration {
    strikes
        .filter_map(|s| match s.action {
            FaultAction::Delay { ms } => Some(Duration::from_millis(ms)),
            _ => None,
        })
        .sum()
}

fn answer_of(body: &[u8], complete: bool) -> String {
    if complete {
        if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
            if map.get("ok") == Some(&Value::Bool(true)) {
                return "ok".into();
            }
            if let Some(Value::String(code)) = map.get("error") {
                return code.clone();
            }
        }
        return "unknown".into();
    }
    let head: String = String::from_utf8_lossy(&body[..body.len().min(64)])
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if head.starts_with(r#"{"ok":true"#) {
        "ok".into()
    } else {
        "unknown".into()
    }
}

async fn handle<S>(emu: Emulator, inner: S, req: Request) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    let started = Instant::now();
    let time = emu.clock.now_unix();
    let method = method_from_path(req.uri().path());
    let (parts, body) = req.into_parts();
    let mut record = RequestRecord {
        id: 0,
        method: method.clone(),
        http_method: parts.method.to_string(),
        args: Map::new(),
        args_truncated: false,
        answer: String::new(),
        status: None,
        fault: None,
        time,
        time_rfc3339: clock::rfc3339(time),
        duration_ms: 0,
    };
    let finish = |mut record: RequestRecord, resp: Response, answer: String| {
        record.status = (answer != "dropped").then(|| resp.status().as_u16());
        record.answer = answer;
        record.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        emu.log.record(record);
        resp
    };

    let captured = match capture(body, BODY_CAPTURE_LIMIT).await {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!(error = %e, "emulator: request body unreadable");
            let resp = slack_error(StatusCode::OK, "invalid_form_data");
            return finish(record, resp, "invalid_form_data".into());
        }
    };
    let mut args = read_args(&parts, &captured.prefix, captured.complete()).await;
    record.args_truncated = !captured.complete();
    // Who is calling: the server's key function, else a `token` argument, else one shared
    // anonymous bucket. Tokens only ever leave here hashed.
    let key = (emu.key_fn)(&parts)
        .or_else(|| match args.get("token") {
            Some(Value::String(t)) if !t.trim().is_empty() => Some(hash_secret(t)),
            _ => None,
        })
        .unwrap_or_else(|| "anonymous".to_owned());
    redact(&mut args);
    record.args = args;

    let strikes = emu.faults.decide(&method);
    if !strikes.is_empty() {
        let desc: Vec<String> = strikes
            .iter()
            .map(|s| format!("#{} {}", s.rule, s.action.describe()))
            .collect();
        record.fault = Some(desc.join(", "));
        tracing::debug!(method = %method, faults = %desc.join(", "), "emulator: injecting");
    }
    let before = total_delay(strikes.iter().filter(|s| !s.after));
    if !before.is_zero() {
        tokio::time::sleep(before).await;
    }
    let terminal = strikes.iter().find(|s| fault_is_terminal(s));
    if let Some(strike) = terminal.filter(|s| !s.after) {
        if let Some(resp) = fault_response(strike) {
            let answer = answer_for_fault(strike);
            return finish(record, resp, answer);
        }
    }

    if let Err(wait) = emu.limiter.check(&key, &method, emu.clock.instant()) {
        return finish(record, ratelimited_response(wait), "ratelimited".into());
    }

    let req = Request::from_parts(parts, captured.into_body());
    let resp = match inner.oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    };

    let after = total_delay(strikes.iter().filter(|s| s.after));
    if !after.is_zero() {
        tokio::time::sleep(after).await;
    }
    if let Some(strike) = terminal.filter(|s| s.after) {
        if let Some(resp) = fault_response(strike) {
            let answer = answer_for_fault(strike);
            return finish(record, resp, answer);
        }
    }

    let (head, body) = resp.into_parts();
    match capture(body, RESPONSE_CAPTURE_LIMIT).await {
        Ok(c) => {
            let answer = answer_of(&c.prefix, c.complete());
            finish(record, Response::from_parts(head, c.into_body()), answer)
        }
        Err(e) => {
            // The server's own body failed: pass the failure on, as hyper would have.
            tracing::debug!(error = %e, "emulator: response body failed");
            finish(record, dropped_connection(), "dropped".into())
        }
    }
}

fn fault_is_terminal(s: &Strike) -> bool {
    !matches!(s.action, FaultAction::Delay { .. })
}

fn answer_for_fault(s: &Strike) -> String {
    match &s.action {
        FaultAction::Error { error } | FaultAction::Status { error, .. } => error.clone(),
        FaultAction::Drop => "dropped".into(),
        FaultAction::Delay { .. } => "ok".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_is_the_last_segment() {
        assert_eq!(method_from_path("/api/auth.test"), "auth.test");
        assert_eq!(
            method_from_path("/api/admin.users.session.list/"),
            "admin.users.session.list"
        );
        assert_eq!(method_from_path("/"), "");
    }

    #[test]
    fn answers_are_read_from_json() {
        assert_eq!(answer_of(br#"{"ok":true}"#, true), "ok");
        assert_eq!(
            answer_of(br#"{"ok":false,"error":"invalid_auth"}"#, true),
            "invalid_auth"
        );
        assert_eq!(answer_of(b"<html>", true), "unknown");
        assert_eq!(
            answer_of(br#"{ "ok": true, "active_sessions": ["#, false),
            "ok"
        );
    }

    #[test]
    fn bearer_and_bare_tokens_hash_alike_and_hide_the_token() {
        assert_eq!(hash_secret("Bearer xoxp-1"), hash_secret("xoxp-1"));
        assert_ne!(hash_secret("xoxp-1"), hash_secret("xoxp-2"));
        assert!(!hash_secret("xoxp-1").contains("xoxp"));
    }
}
