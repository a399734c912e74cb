//! Verifying what the transmitter sends: Security Event Tokens (RFC 8417, profiled by SSF 1.0)
//! and the private-key JWTs that authenticate Global Token Revocation calls (RFC 7523 style).
//!
//! Both are JWS compact tokens signed RS256 or ES256 by a key of the configured set. Claims are
//! checked here rather than by `jsonwebtoken`'s validation so that each failure maps to the
//! right RFC 8935 error code; the signature is always checked first, so nothing about an
//! unauthenticated token's claims is ever reported back.

use std::time::Duration;

use jsonwebtoken::{Algorithm, Header, Validation};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::keys::{KeySet, ACCEPTED_ALGORITHMS};

/// Largest token accepted (SETs and client assertions are small; this bounds the work an
/// unauthenticated caller can cause).
pub const MAX_TOKEN_BYTES: usize = 64 * 1024;
/// Longest lifetime of a client assertion: its `exp` may be at most this far in the future.
pub const MAX_ASSERTION_LIFETIME: Duration = Duration::from_secs(300);

/// The error codes of RFC 8935 section 2.4 (the "Security Event Token Error Codes" registry),
/// used in push answers and in poll `setErrs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// Not a SET, or its payload does not conform.
    InvalidRequest,
    /// The signing key is unknown, unusable or not acceptable.
    InvalidKey,
    /// `iss` is not the configured transmitter.
    InvalidIssuer,
    /// `aud` does not name this receiver.
    InvalidAudience,
    /// The transmitter could not be authenticated (the signature does not verify).
    AuthenticationFailed,
    /// The transmitter may not send this SET here.
    AccessDenied,
}

impl ErrorCode {
    /// The registered name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidKey => "invalid_key",
            ErrorCode::InvalidIssuer => "invalid_issuer",
            ErrorCode::InvalidAudience => "invalid_audience",
            ErrorCode::AuthenticationFailed => "authentication_failed",
            ErrorCode::AccessDenied => "access_denied",
        }
    }
}

/// Why a token was refused: `{"err": ..., "description": ...}` on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}: {description}", err.as_str())]
pub struct Refusal {
    /// The code.
    pub err: ErrorCode,
    /// A sentence for people.
    pub description: String,
}

fn refuse(err: ErrorCode, description: impl Into<String>) -> Refusal {
    Refusal {
        err,
        description: description.into(),
    }
}

/// One event of a SET.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The event type URI (a key of `events`).
    pub event_type: String,
    /// Its payload object.
    pub payload: Value,
}

/// A SET whose signature and claims were checked.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedSet {
    /// `iss`.
    pub iss: String,
    /// `jti`.
    pub jti: String,
    /// `iat` (unix seconds).
    pub iat: i64,
    /// `txn`, if given.
    pub txn: Option<String>,
    /// The SET's top-level `sub_id` (SSF 1.0).
    pub sub_id: Option<Value>,
    /// The events, in the token's order.
    pub events: Vec<Event>,
}

impl VerifiedSet {
    /// The subject of an event: the SET's `sub_id`, or (CAEP/RISC events as first published)
    /// the event's own `subject` member.
    pub fn subject_of<'a>(&'a self, event: &'a Event) -> Option<&'a Value> {
        self.sub_id
            .as_ref()
            .or_else(|| event.payload.get("subject"))
    }
}

/// A checked Global Token Revocation client assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    /// `iss`.
    pub iss: String,
    /// `jti`.
    pub jti: String,
    /// `exp` (unix seconds).
    pub exp: i64,
}

/// Checks tokens against the transmitter's keys, issuer and our audience.
#[derive(Debug)]
pub struct Verifier {
    keys: KeySet,
    issuer: String,
    audience: String,
    skew: Duration,
}

impl Verifier {
    /// A verifier; `skew` is how far in the future an `iat` may be (clocks differ).
    pub fn new(keys: KeySet, issuer: String, audience: String, skew: Duration) -> Verifier {
        Verifier {
            keys,
            issuer,
            audience,
            skew,
        }
    }

    /// The configured issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Verifies a SET as received at `now` (unix seconds).
    pub async fn verify_set(&self, token: &str, now: i64) -> Result<VerifiedSet, Refusal> {
        let (header, claims) = self.verified_claims(token).await?;
        if let Some(typ) = &header.typ {
            let t = typ.to_ascii_lowercase();
            if t != "secevent+jwt" && t != "application/secevent+jwt" {
                return Err(refuse(
                    ErrorCode::InvalidRequest,
                    format!("the token's typ is `{typ}`, not `secevent+jwt`"),
                ));
            }
        }
        self.check_iss_aud(&claims)?;
        let jti = jti(&claims)?;
        let iat = match claims.get("iat").and_then(Value::as_i64) {
            Some(iat) => iat,
            None => {
                return Err(refuse(
                    ErrorCode::InvalidRequest,
                    "`iat` is missing or not a number",
                ))
            }
        };
        if iat > now.saturating_add(self.skew.as_secs() as i64) {
            return Err(refuse(ErrorCode::InvalidRequest, "`iat` is in the future"));
        }
        if let Some(exp) = claims.get("exp") {
            match exp.as_i64() {
                Some(exp) if exp >= now => {}
                Some(_) => return Err(refuse(ErrorCode::InvalidRequest, "the SET has expired")),
                None => return Err(refuse(ErrorCode::InvalidRequest, "`exp` is not a number")),
            }
        }
        let Some(Value::Object(events)) = claims.get("events") else {
            return Err(refuse(
                ErrorCode::InvalidRequest,
                "`events` is missing or not an object",
            ));
        };
        if events.is_empty() {
            return Err(refuse(ErrorCode::InvalidRequest, "`events` is empty"));
        }
        let mut out = Vec::with_capacity(events.len());
        for (event_type, payload) in events {
            if !payload.is_object() {
                return Err(refuse(
                    ErrorCode::InvalidRequest,
                    format!("the payload of event `{event_type}` is not an object"),
                ));
            }
            out.push(Event {
                event_type: event_type.clone(),
                payload: payload.clone(),
            });
        }
        let sub_id = match claims.get("sub_id") {
            None => None,
            Some(v @ Value::Object(_)) => Some(v.clone()),
            Some(_) => {
                return Err(refuse(
                    ErrorCode::InvalidRequest,
                    "`sub_id` is not an object",
                ))
            }
        };
        Ok(VerifiedSet {
            iss: self.issuer.clone(),
            jti,
            iat,
            txn: claims.get("txn").and_then(Value::as_str).map(str::to_owned),
            sub_id,
            events: out,
        })
    }

    /// Verifies a Global Token Revocation client assertion at `now`: signed by a key of the
    /// set, `iss` the issuer, `aud` our audience, `exp` present, not passed and at most
    /// [`MAX_ASSERTION_LIFETIME`] ahead, `jti` present. Replay is checked by the caller (the
    /// inbox remembers every `jti`). A SET (a token with `events`) is not an assertion.
    pub async fn verify_assertion(&self, token: &str, now: i64) -> Result<Assertion, Refusal> {
        let (_, claims) = self.verified_claims(token).await?;
        self.check_iss_aud(&claims)?;
        if claims.contains_key("events") {
            return Err(refuse(
                ErrorCode::InvalidRequest,
                "a SET is not a client assertion",
            ));
        }
        let jti = jti(&claims)?;
        let skew = self.skew.as_secs() as i64;
        let exp = match claims.get("exp").and_then(Value::as_i64) {
            Some(exp) => exp,
            None => {
                return Err(refuse(
                    ErrorCode::InvalidRequest,
                    "`exp` is missing or not a number",
                ))
            }
        };
        if exp < now - skew {
            return Err(refuse(
                ErrorCode::InvalidRequest,
                "the assertion has expired",
            ));
        }
        if exp > now + MAX_ASSERTION_LIFETIME.as_secs() as i64 + skew {
            return Err(refuse(
                ErrorCode::InvalidRequest,
                "the assertion's `exp` is more than five minutes ahead",
            ));
        }
        if let Some(iat) = claims.get("iat") {
            if iat.as_i64().is_none_or(|iat| iat > now + skew) {
                return Err(refuse(
                    ErrorCode::InvalidRequest,
                    "`iat` is in the future or not a number",
                ));
            }
        }
        if let Some(nbf) = claims.get("nbf") {
            if nbf.as_i64().is_none_or(|nbf| nbf > now + skew) {
                return Err(refuse(
                    ErrorCode::InvalidRequest,
                    "the assertion is not valid yet",
                ));
            }
        }
        Ok(Assertion {
            iss: self.issuer.clone(),
            jti,
            exp,
        })
    }

    /// Checks the signature and returns the header and claims.
    async fn verified_claims(&self, token: &str) -> Result<(Header, Map<String, Value>), Refusal> {
        let token = token.trim();
        if token.len() > MAX_TOKEN_BYTES {
            return Err(refuse(ErrorCode::InvalidRequest, "the token is too large"));
        }
        if token.split('.').count() != 3 {
            return Err(refuse(
                ErrorCode::InvalidRequest,
                "not a JWS in compact serialization (SETs must be signed, RFC 8417 and SSF 1.0)",
            ));
        }
        let header = jsonwebtoken::decode_header(token).map_err(|e| {
            refuse(
                ErrorCode::InvalidRequest,
                format!("unreadable JWS header: {e}"),
            )
        })?;
        if !ACCEPTED_ALGORITHMS.contains(&header.alg) {
            return Err(refuse(
                ErrorCode::InvalidKey,
                format!(
                    "signing algorithm {:?} is not accepted (RS256 or ES256)",
                    header.alg
                ),
            ));
        }
        let candidates = self
            .keys
            .candidates(header.kid.as_deref(), header.alg)
            .await;
        if candidates.is_empty() {
            return Err(refuse(
                ErrorCode::InvalidKey,
                match &header.kid {
                    Some(kid) => format!(
                        "no {:?} key `{kid}` in the transmitter's key set",
                        header.alg
                    ),
                    None => format!("no {:?} key in the transmitter's key set", header.alg),
                },
            ));
        }
        let validation = claims_unchecked(header.alg);
        let mut last = None;
        for key in &candidates {
            match jsonwebtoken::decode::<Map<String, Value>>(token, key.decoding_key(), &validation)
            {
                Ok(data) => return Ok((header, data.claims)),
                Err(e) => last = Some(e),
            }
        }
        use jsonwebtoken::errors::ErrorKind;
        let e = last.expect("at least one candidate was tried");
        Err(match e.kind() {
            ErrorKind::InvalidSignature => refuse(
                ErrorCode::AuthenticationFailed,
                "the signature does not verify with the transmitter's key",
            ),
            ErrorKind::InvalidEcdsaKey
            | ErrorKind::InvalidRsaKey(_)
            | ErrorKind::InvalidKeyFormat
            | ErrorKind::InvalidAlgorithm => {
                refuse(ErrorCode::InvalidKey, format!("unusable key: {e}"))
            }
            _ => refuse(ErrorCode::InvalidRequest, format!("unreadable token: {e}")),
        })
    }

    fn check_iss_aud(&self, claims: &Map<String, Value>) -> Result<(), Refusal> {
        match claims.get("iss").and_then(Value::as_str) {
            Some(iss) if iss == self.issuer => {}
            Some(_) => {
                return Err(refuse(
                    ErrorCode::InvalidIssuer,
                    "`iss` is not the configured issuer",
                ))
            }
            None => return Err(refuse(ErrorCode::InvalidIssuer, "`iss` is missing")),
        }
        let ours = match claims.get("aud") {
            Some(Value::String(a)) => *a == self.audience,
            Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(&self.audience)),
            _ => false,
        };
        if !ours {
            return Err(refuse(
                ErrorCode::InvalidAudience,
                "`aud` does not name this receiver",
            ));
        }
        Ok(())
    }
}

fn jti(claims: &Map<String, Value>) -> Result<String, Refusal> {
    match claims.get("jti").and_then(Value::as_str) {
        Some(j) if !j.is_empty() && j.len() <= 256 => Ok(j.to_owned()),
        _ => Err(refuse(
            ErrorCode::InvalidRequest,
            "`jti` is missing, empty or longer than 256 characters",
        )),
    }
}

/// Signature only: every claim is checked by [`Verifier`] itself.
fn claims_unchecked(alg: Algorithm) -> Validation {
    let mut v = Validation::new(alg);
    v.required_spec_claims.clear();
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    v.leeway = 0;
    v
}
