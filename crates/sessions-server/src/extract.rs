//! Turning an HTTP request into a token plus [`Args`], in every shape Slack's clients send.
//!
//! Accepted: `application/x-www-form-urlencoded` (and `text/plain`, parsed as a form, as Slack
//! does), `application/json` (arrays become repeated values, booleans and numbers their text,
//! `null` absent), `multipart/form-data`, the query string (Python's async client sends its
//! arguments there with an empty form body), and any mix of query and body (body values come
//! first, so they win). A missing `Content-Type` with a non-empty body is read as a form.

use axum::body::Body;
use axum::extract::{FromRequest, Multipart};
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::HeaderMap;
use serde_json::Value;
use sessions_wire::{Args, ErrorCode};

/// A request the server cannot read: answered with `code` and `message` (HTTP 200).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    /// Slack code.
    pub code: ErrorCode,
    /// `[ERROR] ...` line.
    pub message: String,
}

fn wire(code: ErrorCode, message: impl Into<String>) -> WireError {
    WireError {
        code,
        message: format!("[ERROR] {}", message.into()),
    }
}

/// The arguments and token of one API call.
#[derive(Debug, Default)]
pub struct CallInput {
    /// The clear token, if any (never logged).
    pub token: Option<String>,
    /// Every other argument.
    pub args: Args,
}

/// Percent-decodes one `application/x-www-form-urlencoded` component; `None` when the result
/// is not UTF-8.
fn decode_component(s: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < s.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(s[i + 1]), hex(s[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    // A stray `%` stays literal, as browsers and form_urlencoded treat it.
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Parses a urlencoded form (body or query string).
pub fn parse_form(bytes: &[u8], args: &mut Args) -> Result<(), WireError> {
    if std::str::from_utf8(bytes).is_err() {
        return Err(wire(
            ErrorCode::InvalidFormData,
            "form data is not valid UTF-8",
        ));
    }
    for pair in bytes.split(|b| *b == b'&') {
        if pair.is_empty() {
            continue;
        }
        let (k, v) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        let bad = || {
            wire(
                ErrorCode::InvalidFormData,
                "form data decodes to invalid UTF-8",
            )
        };
        let k = decode_component(k).ok_or_else(bad)?;
        let v = decode_component(v).ok_or_else(bad)?;
        push_arg(args, k, v)?;
    }
    Ok(())
}

fn push_arg(args: &mut Args, name: String, value: String) -> Result<(), WireError> {
    if name.contains('[') || name.contains(']') {
        return Err(wire(
            ErrorCode::InvalidArrayArg,
            format!("argument {name:?} uses PHP-style array syntax; send a comma-separated list or a JSON array instead"),
        ));
    }
    if name.is_empty() || name.len() > 256 {
        return Err(wire(
            ErrorCode::InvalidArgName,
            "an argument name is empty or too long",
        ));
    }
    args.push(name, value);
    Ok(())
}

fn json_scalar(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        // Nested structures are kept as JSON text; the typed parsers then refuse them by name.
        other => Some(other.to_string()),
    }
}

fn parse_json(bytes: &[u8], args: &mut Args) -> Result<(), WireError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        wire(
            ErrorCode::InvalidJson,
            format!("the JSON body could not be parsed: {e}"),
        )
    })?;
    let Value::Object(map) = value else {
        return Err(wire(
            ErrorCode::JsonNotObject,
            "the JSON body must be an object of arguments",
        ));
    };
    for (k, v) in map {
        match v {
            Value::Array(items) => {
                if items.is_empty() {
                    // An empty array is an empty list, not an absent argument.
                    push_arg(args, k.clone(), "[]".into())?;
                }
                for item in &items {
                    if let Some(s) = json_scalar(item) {
                        push_arg(args, k.clone(), s)?;
                    }
                }
            }
            other => {
                if let Some(s) = json_scalar(&other) {
                    push_arg(args, k, s)?;
                }
            }
        }
    }
    Ok(())
}

async fn parse_multipart(
    headers: &HeaderMap,
    bytes: bytes::Bytes,
    args: &mut Args,
) -> Result<(), WireError> {
    let mut req = http::Request::new(Body::from(bytes));
    if let Some(ct) = headers.get(CONTENT_TYPE) {
        req.headers_mut().insert(CONTENT_TYPE, ct.clone());
    }
    let bad = |e: String| {
        wire(
            ErrorCode::InvalidFormData,
            format!("malformed multipart body: {e}"),
        )
    };
    let mut mp = Multipart::from_request(req, &())
        .await
        .map_err(|e| bad(e.body_text()))?;
    while let Some(field) = mp.next_field().await.map_err(|e| bad(e.body_text()))? {
        let name = field.name().unwrap_or_default().to_owned();
        let data = field.bytes().await.map_err(|e| bad(e.body_text()))?;
        let value = String::from_utf8(data.to_vec()).map_err(|_| {
            wire(
                ErrorCode::InvalidFormData,
                format!("multipart field {name:?} is not valid UTF-8"),
            )
        })?;
        push_arg(args, name, value)?;
    }
    Ok(())
}

/// Reads the token and arguments of a call.
pub async fn read_call(
    headers: &HeaderMap,
    query: Option<&str>,
    body: bytes::Bytes,
) -> Result<CallInput, WireError> {
    let mut args = Args::new();
    let content_type = headers
        .get(CONTENT_TYPE)
        .map(|v| v.to_str().map(str::to_owned))
        .transpose()
        .map_err(|_| {
            wire(
                ErrorCode::InvalidPostType,
                "the Content-Type header is not readable",
            )
        })?;
    let (essence, charset) = match &content_type {
        Some(ct) => {
            let mut parts = ct.split(';');
            let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let charset = parts
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
                .map(|(_, v)| v.trim().trim_matches('"').to_ascii_lowercase());
            (essence, charset)
        }
        None => (String::new(), None),
    };
    if let Some(cs) = &charset {
        if !matches!(cs.as_str(), "utf-8" | "utf8" | "us-ascii" | "ascii") {
            return Err(wire(
                ErrorCode::InvalidCharset,
                format!("charset {cs:?} is not supported; use utf-8"),
            ));
        }
    }
    match essence.as_str() {
        // Empty bodies carry nothing whatever their type claims (Python's async client).
        _ if body.is_empty() => {}
        "" | "application/x-www-form-urlencoded" | "text/plain" => parse_form(&body, &mut args)?,
        "application/json" => parse_json(&body, &mut args)?,
        "multipart/form-data" => parse_multipart(headers, body, &mut args).await?,
        other => {
            return Err(wire(
                ErrorCode::InvalidPostType,
                format!("Content-Type {other:?} is not accepted; use application/x-www-form-urlencoded, application/json or multipart/form-data"),
            ))
        }
    }
    if let Some(q) = query {
        parse_form(q.as_bytes(), &mut args)?;
    }
    let body_token = args.take("token");
    let bearer = bearer_token(headers).map(str::to_owned);
    // Seed 001's OpenAPI-generated client sends a bare `token` header.
    let header_token = headers
        .get("token")
        .and_then(|v| v.to_str().ok())
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    Ok(CallInput {
        token: bearer.or(body_token).or(header_token),
        args,
    })
}

/// The token of an `Authorization: Bearer <token>` header, the scheme in any case (RFC 7235:
/// auth schemes are case-insensitive), surrounding spaces ignored. The one reading of the
/// header for `/api`, the control API and rate-limit keys.
pub(crate) fn bearer_token(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once([' ', '\t'])?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .filter(|t| !t.is_empty())
}

/// [`read_call`] as a plain function of the raw parts, for fuzzing and property tests: the
/// `Content-Type` header value, the query string, and the body. Multipart bodies are read by
/// polling the (never pending) in-memory reader to completion on the calling thread.
pub fn parse_args(
    content_type: Option<&str>,
    query: Option<&str>,
    body: &[u8],
) -> Result<CallInput, WireError> {
    let mut headers = HeaderMap::new();
    if let Some(ct) = content_type {
        // A value no HTTP request could carry (control characters) is dropped, as the HTTP
        // layer would refuse it; non-ASCII text arrives as opaque bytes, as it would on the wire.
        if let Ok(v) = http::HeaderValue::from_bytes(ct.as_bytes()) {
            headers.insert(CONTENT_TYPE, v);
        }
    }
    futures::executor::block_on(read_call(
        &headers,
        query,
        bytes::Bytes::copy_from_slice(body),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(decode_component(b"a+b%2Cc").unwrap(), "a b,c");
        assert_eq!(decode_component(b"100%").unwrap(), "100%");
        assert_eq!(decode_component(b"%zz").unwrap(), "%zz");
        assert_eq!(decode_component(b"%FF"), None);
        assert_eq!(decode_component(b"%E2%9C%93").unwrap(), "\u{2713}");
    }

    #[test]
    fn php_arrays_are_refused() {
        let mut a = Args::new();
        let e = parse_form(b"user_ids%5B%5D=U1", &mut a).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidArrayArg);
    }

    #[test]
    fn json_values_become_text() {
        let mut a = Args::new();
        parse_json(
            br#"{"user_ids":["U1","U2"],"duration":28800,"q":true,"n":null}"#,
            &mut a,
        )
        .unwrap();
        assert_eq!(a.list("user_ids").unwrap().unwrap(), vec!["U1", "U2"]);
        assert_eq!(a.get("duration"), Some("28800"));
        assert_eq!(a.get("q"), Some("true"));
        assert_eq!(a.get("n"), None);
    }
}
