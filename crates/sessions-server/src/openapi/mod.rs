//! The OpenAPI 3 description of the Web API, served at `GET /openapi.json`, built at start
//! rather than maintained by hand.
//!
//! From sessions-wire's method table ([`sessions_wire::Method`]): every method's path
//! (`/api/<name>`), operation id, rate tier, scope and admin-only rule, and the limits of its
//! arguments (the wire constants). From [`methods`]: each method's summary, argument schemas
//! and success schema, checked against the request types by this module's tests. Shared by
//! every operation, written once here: the three request encodings, the Slack envelope, the
//! error answer and the HTTP-layer refusals (400, 408, 413, 429, 431), the security schemes, and
//! `GET /audit/v1/logs`. The component schemas of the answers are data (`schemas.json`): the
//! tests hold them to the wire response types (every field a type writes is documented), and
//! the server's tests and `scripts/schemathesis.sh` (which fuzzes a running server against this
//! document in CI) hold them to real answers.

mod methods;

use std::sync::LazyLock;

use axum::response::{IntoResponse, Response};
use http::HeaderValue;
use serde_json::{json, Map, Value};
use sessions_wire::audit::{AUDIT_LIMIT_DEFAULT, AUDIT_LIMIT_MAX, AUDIT_LOGS_PATH, AUDIT_SCOPE};
use sessions_wire::{RateTier, Scope};

/// The component schemas of the answers.
const SCHEMAS: &str = include_str!("schemas.json");

/// The request encodings every method accepts.
const ENCODINGS: [&str; 3] = [
    "application/x-www-form-urlencoded",
    "application/json",
    "multipart/form-data",
];

/// The document, built once.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| document().to_string());

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for spec in methods::specs() {
        paths.insert(
            format!("/api/{}", spec.name),
            json!({ "post": operation(&spec) }),
        );
    }
    paths.insert(
        format!("/{}", AUDIT_LOGS_PATH),
        json!({ "get": audit_logs() }),
    );
    let mut components: Value = serde_json::from_str(SCHEMAS).expect("schemas.json is valid JSON");
    components["securitySchemes"] = json!({
        "bearer": {"type": "http", "scheme": "bearer",
            "description": "Authorization: Bearer xoxp-... (preferred)."},
        "tokenArg": {"type": "apiKey", "in": "header", "name": "token",
            "description": "A bare token header; a `token` argument in the body or query string is accepted too."},
    });
    components["responses"] = refusals();
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "slack-sessions Web API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Slack's admin.users.session.* methods, auth.test, auth.revoke and \
                users.lookupByEmail, users.info and users.list as served by slack-sessions. Every \
                API answer is JSON; API errors are HTTP 200 with ok:false, a Slack error code and \
                response_metadata.messages naming what was wrong. Only rate limiting (429), \
                oversized bodies (413) and request heads (431), slow requests (408), unreadable \
                requests (400) and unknown paths (404) use other statuses, each with the same \
                JSON error shape.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": components,
    })
}

/// `x-slack-rate-tier`.
fn tier(t: RateTier) -> &'static str {
    match t {
        RateTier::Tier2 => "2",
        RateTier::Tier3 => "3",
        RateTier::Tier4 => "4",
        _ => "special",
    }
}

fn security() -> Value {
    json!([{"bearer": []}, {"tokenArg": []}])
}

/// The 200 answer: `ok` (a component schema) or the error.
fn answer(description: &str, ok: &str) -> Value {
    json!({
        "description": description,
        "headers": {"x-accepted-oauth-scopes": {"schema": {"type": "string"}}},
        "content": {"application/json": {"schema": {"oneOf": [
            {"$ref": format!("#/components/schemas/{ok}")},
            {"$ref": "#/components/schemas/Error"},
        ]}}},
    })
}

fn operation(spec: &methods::Spec) -> Value {
    // The body's schema, with each argument's schema for JSON bodies or for forms.
    let body = |json: bool| {
        let mut properties = Map::new();
        for a in &spec.args {
            let schema = match (&a.json, json) {
                (Some(j), true) => j,
                _ => &a.schema,
            };
            properties.insert(a.name.to_owned(), schema.clone());
        }
        let mut schema = json!({
            "type": "object",
            "properties": properties,
            "additionalProperties": true,
        });
        let required: Vec<&str> = spec
            .args
            .iter()
            .filter(|a| a.required)
            .map(|a| a.name)
            .collect();
        if !required.is_empty() {
            schema["required"] = json!(required);
        }
        json!({ "schema": schema })
    };
    let content: Map<String, Value> = ENCODINGS
        .iter()
        .map(|ct| (ct.to_string(), body(*ct == "application/json")))
        .collect();
    let mut about = format!(
        "{}\n\n{}Rate tier: {}.",
        spec.summary,
        spec.notes,
        tier(spec.tier)
    );
    if spec.scope != Scope::None {
        about.push_str(&format!(" Scope: `{}`.", spec.scope.as_str()));
        if !spec.admin_only {
            about.push_str(
                " Not admin-only: any user or bot token with the scope, or a signed-in \
                 session's own token, may call it.",
            );
        }
    }
    about.push_str(
        " Arguments may come from the query string, a urlencoded, JSON, multipart or text/plain \
         body, in any mix; GET with a query string is accepted too. API errors are HTTP 200 with \
         `ok:false`.",
    );
    let mut op = json!({
        "operationId": spec.name.replace('.', "_"),
        "summary": spec.summary,
        "description": about,
        "security": security(),
        "requestBody": {"required": false, "content": content},
        "responses": {
            "200": answer(
                "The answer: the method's result with `ok:true`, or a Slack error with `ok:false`.",
                spec.ok,
            ),
            "400": {"$ref": "#/components/responses/BadRequest"},
            "408": {"$ref": "#/components/responses/Timeout"},
            "413": {"$ref": "#/components/responses/TooLarge"},
            "431": {"$ref": "#/components/responses/HeadTooLarge"},
            "429": {"$ref": "#/components/responses/RateLimited"},
        },
        "x-slack-rate-tier": tier(spec.tier),
    });
    if spec.scope != Scope::None {
        op["x-slack-scope"] = json!(spec.scope.as_str());
    }
    op
}

/// `GET /audit/v1/logs`.
fn audit_logs() -> Value {
    let query = |name: &str, description: String, schema: Value| {
        json!({"name": name, "in": "query", "required": false,
            "description": description, "schema": schema})
    };
    json!({
        "operationId": "audit_logs",
        "summary": "Reads the audit log of admin actions, newest first.",
        "description": format!("In the shape of Slack's Audit Logs API. Needs a user token of \
            an org admin with the `{AUDIT_SCOPE}` scope; only the caller's org is visible. Every \
            filter given must match. `cursor` is the `next_cursor` of the previous page and is \
            bound to the same filters. Errors are HTTP 200 with `ok:false` (`missing_scope`, \
            `not_an_admin`, `invalid_arguments`, `invalid_cursor`, ...)."),
        "security": security(),
        "parameters": [
            query("action", "Exact action name, e.g. user_session_invalidated.".into(),
                json!({"type": "string"})),
            query("actor", "Actor user id.".into(), json!({"type": "string"})),
            query("user", "A user the action was aimed at.".into(), json!({"type": "string"})),
            query("oldest", "Only entries at or after this unix time.".into(),
                json!({"type": "integer", "minimum": 0})),
            query("latest", "Only entries at or before this unix time.".into(),
                json!({"type": "integer", "minimum": 0})),
            query("limit", format!("Page size (default {AUDIT_LIMIT_DEFAULT})."),
                json!({"type": "integer", "minimum": 1, "maximum": AUDIT_LIMIT_MAX})),
            query("cursor", "next_cursor of the previous page.".into(), json!({"type": "string"})),
        ],
        "responses": {
            "200": answer("A page of entries with `ok:true`, or a Slack error with `ok:false`.",
                "AuditLogsOk"),
        },
    })
}

/// Answers of the HTTP layer, before any method runs: each the error shape.
fn refusals() -> Value {
    let error = |description: &str| {
        json!({"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
    };
    let mut limited = error("Rate limited (Slack tiers); retry after Retry-After seconds.");
    limited["headers"] = json!({"Retry-After": {"schema": {"type": "integer", "minimum": 1}}});
    json!({
        "RateLimited": limited,
        "TooLarge": error("The body exceeds the size limit (error request_too_large)."),
        "Timeout": error("The body did not arrive in time (error request_timeout)."),
        "BadRequest": error("The request could not be read: a malformed request head (error \
            invalid_arguments) or a body that cannot be read, such as a malformed chunked \
            encoding (error invalid_form_data)."),
        "HeadTooLarge": error(&format!("The request head exceeds the header size limit (64 KiB \
            by default) or {} header fields (error request_too_large); 414 for a request target \
            too long.", crate::net::MAX_HEADERS)),
    })
}

/// `GET /openapi.json`.
pub(crate) async fn openapi_json() -> Response {
    let mut res = DOCUMENT.as_str().into_response();
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

#[cfg(test)]
mod tests;
