//! The HTTP endpoints: `POST /ssf/events` (RFC 8935 push), `POST /global-token-revocation`,
//! `GET /health`, `GET /metrics`. Handlers only translate HTTP; the work is in
//! [`Receiver`](crate::receive::Receiver).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::gtr::{GtrOutcome, GTR_WAIT};
use crate::inbox::Via;
use crate::receive::{Receiver, SetRejected};
use crate::verify::{ErrorCode, Refusal, MAX_TOKEN_BYTES};

/// The push endpoint's path.
pub const PUSH_PATH: &str = "/ssf/events";
/// The Global Token Revocation endpoint's path.
pub const GTR_PATH: &str = "/global-token-revocation";

/// The router.
pub fn router(receiver: Arc<Receiver>) -> Router {
    Router::new()
        .route(PUSH_PATH, post(push))
        .route(GTR_PATH, post(revoke))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(MAX_TOKEN_BYTES))
        .with_state(receiver)
}

/// RFC 8935 section 2.3: `400` with `{"err": ..., "description": ...}`.
fn set_error(refusal: &Refusal) -> Response {
    (StatusCode::BAD_REQUEST, Json(refusal)).into_response()
}

async fn push(State(rx): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if content_type.as_deref() != Some("application/secevent+jwt") {
        rx.metrics
            .event("unverified", ErrorCode::InvalidRequest.as_str());
        return set_error(&Refusal {
            err: ErrorCode::InvalidRequest,
            description: "the body must be a SET sent as application/secevent+jwt".into(),
        });
    }
    let Ok(token) = std::str::from_utf8(&body) else {
        rx.metrics
            .event("unverified", ErrorCode::InvalidRequest.as_str());
        return set_error(&Refusal {
            err: ErrorCode::InvalidRequest,
            description: "the body is not UTF-8 text".into(),
        });
    };
    match rx.accept_set(token, Via::Push).await {
        Ok(_) => StatusCode::ACCEPTED.into_response(),
        Err(SetRejected::Refused(r)) => set_error(&r),
        Err(e) => {
            tracing::error!(error = %e, "SET not recorded; the transmitter is asked to send it again");
            unavailable("the SET could not be recorded; send it again")
        }
    }
}

async fn revoke(State(rx): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> Response {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let oauth_error = |status: StatusCode, error: &str, description: String| {
        (
            status,
            Json(json!({"error": error, "error_description": description})),
        )
            .into_response()
    };
    match rx.revoke(auth, &body).await {
        GtrOutcome::SignedOut => StatusCode::NO_CONTENT.into_response(),
        GtrOutcome::BadRequest(d) => oauth_error(StatusCode::BAD_REQUEST, "invalid_request", d),
        GtrOutcome::Unauthorized(d) => {
            let mut r = oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", d);
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_client\""),
            );
            r
        }
        GtrOutcome::NotFound(d) => oauth_error(StatusCode::NOT_FOUND, "user_not_found", d),
        GtrOutcome::Refused(d) => {
            oauth_error(StatusCode::UNPROCESSABLE_ENTITY, "revocation_refused", d)
        }
        GtrOutcome::Unavailable(d) => unavailable(&d),
    }
}

fn unavailable(description: &str) -> Response {
    let mut r = (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"error": "temporarily_unavailable", "error_description": description})),
    )
        .into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(GTR_WAIT.as_secs()));
    r
}

async fn health() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

async fn metrics(State(rx): State<Arc<Receiver>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        rx.metrics.encode(),
    )
        .into_response()
}
