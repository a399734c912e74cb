//! Event types the bridge understands, and what each one asks of Slack.
//!
//! URIs as registered by the OpenID Shared Signals working group: CAEP 1.0 (`caep/event-type/…`),
//! RISC 1.0 (`risc/event-type/…`) and SSF 1.0 (`ssf/event-type/…`; drafts before SSF 1.0 used
//! `sse/event-type/verification`, which is accepted too).

/// CAEP: the subject's session(s) were revoked.
pub const CAEP_SESSION_REVOKED: &str =
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
/// CAEP: a credential of the subject was created, changed, revoked or deleted.
pub const CAEP_CREDENTIAL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/credential-change";
/// RISC: the account was disabled.
pub const RISC_ACCOUNT_DISABLED: &str =
    "https://schemas.openid.net/secevent/risc/event-type/account-disabled";
/// RISC: the account was deleted.
pub const RISC_ACCOUNT_PURGED: &str =
    "https://schemas.openid.net/secevent/risc/event-type/account-purged";
/// RISC: all of the account's sessions were revoked.
pub const RISC_SESSIONS_REVOKED: &str =
    "https://schemas.openid.net/secevent/risc/event-type/sessions-revoked";
/// SSF: a verification event the transmitter sends to check the stream.
pub const SSF_VERIFICATION: &str =
    "https://schemas.openid.net/secevent/ssf/event-type/verification";
/// The same, as named by the drafts before SSF 1.0 ("Shared Signals and Events").
pub const SSE_VERIFICATION: &str =
    "https://schemas.openid.net/secevent/sse/event-type/verification";

/// Event types that sign the subject out of Slack everywhere.
pub const SIGN_OUT_EVENTS: [&str; 5] = [
    CAEP_SESSION_REVOKED,
    CAEP_CREDENTIAL_CHANGE,
    RISC_ACCOUNT_DISABLED,
    RISC_ACCOUNT_PURGED,
    RISC_SESSIONS_REVOKED,
];

/// What an event asks of the bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Sign the subject out everywhere.
    SignOut,
    /// Stream verification: acknowledged, nothing to do.
    Verification,
    /// Any other type: recorded and ignored.
    Other,
}

/// The kind of an event type URI.
pub fn kind(event_type: &str) -> Kind {
    if SIGN_OUT_EVENTS.contains(&event_type) {
        Kind::SignOut
    } else if event_type == SSF_VERIFICATION || event_type == SSE_VERIFICATION {
        Kind::Verification
    } else {
        Kind::Other
    }
}

/// A short label for metrics and listings: the last path segment of a known URI
/// (`session-revoked`), `other` for anything else (unbounded label values would let a
/// transmitter grow the metrics without limit).
pub fn label(event_type: &str) -> &'static str {
    const KNOWN: [(&str, &str); 7] = [
        (CAEP_SESSION_REVOKED, "session-revoked"),
        (CAEP_CREDENTIAL_CHANGE, "credential-change"),
        (RISC_ACCOUNT_DISABLED, "account-disabled"),
        (RISC_ACCOUNT_PURGED, "account-purged"),
        (RISC_SESSIONS_REVOKED, "sessions-revoked"),
        (SSF_VERIFICATION, "verification"),
        (SSE_VERIFICATION, "verification"),
    ];
    KNOWN
        .iter()
        .find(|(uri, _)| *uri == event_type)
        .map_or("other", |(_, l)| l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_labels() {
        assert_eq!(kind(CAEP_SESSION_REVOKED), Kind::SignOut);
        assert_eq!(kind(RISC_ACCOUNT_PURGED), Kind::SignOut);
        assert_eq!(kind(SSE_VERIFICATION), Kind::Verification);
        assert_eq!(
            kind("https://schemas.openid.net/secevent/caep/event-type/token-claims-change"),
            Kind::Other
        );
        assert_eq!(label(RISC_SESSIONS_REVOKED), "sessions-revoked");
        assert_eq!(label("urn:example:anything"), "other");
    }
}
