//! The OpenAPI 3 description of the Web API, served at `GET /openapi.json`.
//!
//! Hand-written (`openapi.json` next to this file) so it says exactly what the server does:
//! every `admin.users.session.*` method, `auth.test`, `users.lookupByEmail`, `users.info` and
//! `users.list` (and `GET /audit/v1/logs`), with form,
//! JSON and multipart request bodies, the Slack envelope, each method's success schema, the
//! error schema, 413, 408 and 429. `scripts/schemathesis.sh` fuzzes a running server against it in CI.

use axum::response::{IntoResponse, Response};
use http::HeaderValue;

/// The document, as served.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

/// `GET /openapi.json`.
pub(crate) async fn openapi_json() -> Response {
    let mut res = OPENAPI_JSON.into_response();
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}
