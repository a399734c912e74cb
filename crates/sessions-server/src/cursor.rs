//! Opaque, signed cursors: the one place every cursor the server issues is made and checked
//! (`admin.users.session.list`, `users.list` and `GET /audit/v1/logs`).
//!
//! A cursor is URL-safe base64 (no padding) of `payload | tag`. The payload is a format byte,
//! then length-prefixed fields: the org of the caller that got it, the listing's filter, and
//! the position (the last id of the page the cursor follows; paging is keyset-based, so rows
//! added or removed between pages are never skipped or repeated). The tag is HMAC-SHA256 keyed
//! with the store's server secret, so every node sharing the store verifies every other node's
//! cursors.
//!
//! Domain separation: the HMAC input starts with a tag naming the cursor's kind, then the
//! payload. A cursor of one kind therefore never verifies as another, even if two payloads
//! happened to be the same bytes; it is refused with [`CursorError::OtherMethod`]. The org and
//! filter are checked after the signature, so a genuine cursor used by another org or with
//! another filter is named as such.
//!
//! A text field longer than 64 KiB cannot be written in full (lengths are 16 bits); a cursor
//! naming one does not decode, so it is refused, never misread. No field the server issues
//! comes near (ids, action names).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sessions_store::AuditFilter;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// First payload byte of every cursor. Bump it when a payload layout changes.
const FORMAT: u8 = 1;
const TAG_LEN: usize = 32;

/// What a cursor pages through; each kind signs under its own domain tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `admin.users.session.list`.
    Sessions,
    /// `users.list`.
    Users,
    /// `GET /audit/v1/logs`.
    AuditLog,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Sessions, Kind::Users, Kind::AuditLog];

    /// The HMAC input's first bytes. Distinct and none a prefix of another (each ends in NUL).
    fn domain(self) -> &'static [u8] {
        match self {
            Kind::Sessions => b"slack-sessions cursor: admin.users.session.list\0",
            Kind::Users => b"slack-sessions cursor: users.list\0",
            Kind::AuditLog => b"slack-sessions cursor: audit/v1/logs\0",
        }
    }

    fn mac(self, key: &[u8], payload: &[u8]) -> HmacSha256 {
        let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
        m.update(self.domain());
        m.update(payload);
        m
    }
}

/// What a session list cursor pins down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorState {
    /// Org of the caller that got it.
    pub org_id: String,
    /// `(team_id, user_id)` filter of the listing, if any.
    pub filter: Option<(String, String)>,
    /// Last session id on the page the cursor follows.
    pub last: u64,
}

/// Why a cursor is refused (each becomes `invalid_cursor` with this text as the message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CursorError {
    /// Not base64, too short, or not a payload this server writes.
    #[error("cursor is malformed")]
    Malformed,
    /// The tag does not match: tampered with, or from another server.
    #[error("cursor signature does not match (tampered with, or issued by another server)")]
    BadSignature,
    /// Issued to another org.
    #[error("cursor was issued for another organization")]
    ForeignOrg,
    /// Issued for another filter (`team_id`/`user_id`, or the audit log's filters).
    #[error("cursor was issued for a different filter")]
    OtherFilter,
    /// Issued by another method or endpoint (a session cursor given to `users.list`, ...).
    #[error("cursor was issued by another method")]
    OtherMethod,
}

/// Builds a payload: the format byte, then fields in order.
struct Writer(Vec<u8>);

impl Writer {
    fn new() -> Self {
        Writer(vec![FORMAT])
    }
    fn str(mut self, s: &str) -> Self {
        // Length-prefixed so no separator can be smuggled inside an id.
        self.0.extend_from_slice(&(s.len() as u16).to_be_bytes());
        self.0.extend_from_slice(s.as_bytes());
        self
    }
    fn flag(mut self, on: bool) -> Self {
        self.0.push(u8::from(on));
        self
    }
    fn opt(self, s: Option<&str>) -> Self {
        match s {
            None => self.flag(false),
            Some(s) => self.flag(true).str(s),
        }
    }
    fn u64(mut self, n: u64) -> Self {
        self.0.extend_from_slice(&n.to_be_bytes());
        self
    }
    fn opt_i64(self, n: Option<i64>) -> Self {
        match n {
            None => self.flag(false),
            Some(n) => self.flag(true).u64(n as u64),
        }
    }
    /// Appends the tag of `kind` and encodes.
    fn seal(self, key: &[u8], kind: Kind) -> String {
        let mut buf = self.0;
        let tag = kind.mac(key, &buf).finalize().into_bytes();
        buf.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(buf)
    }
}

/// The payload (after the format byte) of a genuine cursor of `kind`.
fn open(key: &[u8], kind: Kind, cursor: &str) -> Result<Vec<u8>, CursorError> {
    let mut raw = URL_SAFE_NO_PAD
        .decode(cursor.trim().trim_end_matches('='))
        .map_err(|_| CursorError::Malformed)?;
    if raw.len() <= TAG_LEN + 1 {
        return Err(CursorError::Malformed);
    }
    let (payload, tag) = raw.split_at(raw.len() - TAG_LEN);
    // Constant-time comparison inside verify_slice.
    if kind.mac(key, payload).verify_slice(tag).is_err() {
        let other = Kind::ALL
            .into_iter()
            .filter(|k| *k != kind)
            .any(|k| k.mac(key, payload).verify_slice(tag).is_ok());
        return Err(if other {
            CursorError::OtherMethod
        } else {
            CursorError::BadSignature
        });
    }
    if payload[0] != FORMAT {
        return Err(CursorError::Malformed);
    }
    raw.truncate(raw.len() - TAG_LEN);
    raw.remove(0);
    Ok(raw)
}

/// Reads a payload's fields in the order [`Writer`] wrote them.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], CursorError> {
        if self.0.len() < n {
            return Err(CursorError::Malformed);
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn str(&mut self) -> Result<String, CursorError> {
        let len = self.take(2)?;
        let len = u16::from_be_bytes([len[0], len[1]]) as usize;
        String::from_utf8(self.take(len)?.to_vec()).map_err(|_| CursorError::Malformed)
    }
    fn flag(&mut self) -> Result<bool, CursorError> {
        match self.take(1)?[0] {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(CursorError::Malformed),
        }
    }
    fn opt(&mut self) -> Result<Option<String>, CursorError> {
        if self.flag()? {
            self.str().map(Some)
        } else {
            Ok(None)
        }
    }
    fn u64(&mut self) -> Result<u64, CursorError> {
        let b = self.take(8)?;
        Ok(u64::from_be_bytes(
            b.try_into().map_err(|_| CursorError::Malformed)?,
        ))
    }
    fn opt_i64(&mut self) -> Result<Option<i64>, CursorError> {
        if self.flag()? {
            self.u64().map(|n| Some(n as i64))
        } else {
            Ok(None)
        }
    }
    /// The org check every kind makes, then the rest.
    fn org(&mut self, org_id: &str) -> Result<(), CursorError> {
        if self.str()? != org_id {
            return Err(CursorError::ForeignOrg);
        }
        Ok(())
    }
    fn end(&self) -> Result<(), CursorError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(CursorError::Malformed)
        }
    }
}

fn same_filter(matches: bool) -> Result<(), CursorError> {
    if matches {
        Ok(())
    } else {
        Err(CursorError::OtherFilter)
    }
}

/// Encodes and signs an `admin.users.session.list` cursor.
pub fn encode(key: &[u8], state: &CursorState) -> String {
    let (team, user) = state
        .filter
        .as_ref()
        .map(|(t, u)| (t.as_str(), u.as_str()))
        .unwrap_or(("", ""));
    Writer::new()
        .str(&state.org_id)
        .flag(state.filter.is_some())
        .str(team)
        .str(user)
        .u64(state.last)
        .seal(key, Kind::Sessions)
}

/// Verifies an `admin.users.session.list` cursor for this org and `(team_id, user_id)` filter;
/// returns the last session id of the page it follows.
pub fn decode(
    key: &[u8],
    cursor: &str,
    org_id: &str,
    filter: Option<&(String, String)>,
) -> Result<u64, CursorError> {
    let payload = open(key, Kind::Sessions, cursor)?;
    let mut r = Reader(&payload);
    r.org(org_id)?;
    let has_filter = r.flag()?;
    let team = r.str()?;
    let user = r.str()?;
    let last = r.u64()?;
    r.end()?;
    same_filter(has_filter.then_some((team, user)).as_ref() == filter)?;
    Ok(last)
}

/// Encodes and signs a `users.list` cursor: the org, the `team_id` filter (if any) and the last
/// user id of the page it follows.
pub fn encode_users(key: &[u8], org_id: &str, team_id: Option<&str>, last: &str) -> String {
    Writer::new()
        .str(org_id)
        .opt(team_id)
        .str(last)
        .seal(key, Kind::Users)
}

/// Verifies a `users.list` cursor for this org and `team_id` filter; returns the last user id.
pub fn decode_users(
    key: &[u8],
    cursor: &str,
    org_id: &str,
    team_id: Option<&str>,
) -> Result<String, CursorError> {
    let payload = open(key, Kind::Users, cursor)?;
    let mut r = Reader(&payload);
    r.org(org_id)?;
    let team = r.opt()?;
    let last = r.str()?;
    r.end()?;
    same_filter(team.as_deref() == team_id)?;
    Ok(last)
}

/// Encodes and signs an audit log cursor: the org, every filter, and the last entry id of the
/// page it follows.
pub fn encode_audit(key: &[u8], org_id: &str, f: &AuditFilter, last: i64) -> String {
    Writer::new()
        .str(org_id)
        .opt(f.action.as_deref())
        .opt(f.actor.as_deref())
        .opt(f.user.as_deref())
        .opt_i64(f.oldest)
        .opt_i64(f.latest)
        .u64(last as u64)
        .seal(key, Kind::AuditLog)
}

/// Verifies an audit log cursor for this org and these filters; returns the last entry id.
pub fn decode_audit(
    key: &[u8],
    cursor: &str,
    org_id: &str,
    f: &AuditFilter,
) -> Result<i64, CursorError> {
    let payload = open(key, Kind::AuditLog, cursor)?;
    let mut r = Reader(&payload);
    r.org(org_id)?;
    let got = AuditFilter {
        action: r.opt()?,
        actor: r.opt()?,
        user: r.opt()?,
        oldest: r.opt_i64()?,
        latest: r.opt_i64()?,
    };
    let last = r.u64()? as i64;
    r.end()?;
    same_filter(&got == f)?;
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn st(last: u64) -> CursorState {
        CursorState {
            org_id: "E1".into(),
            filter: None,
            last,
        }
    }

    #[test]
    fn round_trips_and_refuses_other_orgs_filters_and_keys() {
        let c = encode(b"k", &st(42));
        assert_eq!(decode(b"k", &c, "E1", None), Ok(42));
        assert_eq!(decode(b"k", &c, "E2", None), Err(CursorError::ForeignOrg));
        let f = ("T1".to_owned(), "W1".to_owned());
        assert_eq!(
            decode(b"k", &c, "E1", Some(&f)),
            Err(CursorError::OtherFilter)
        );
        assert_eq!(
            decode(b"other", &c, "E1", None),
            Err(CursorError::BadSignature)
        );
        assert_eq!(decode(b"k", "!!!", "E1", None), Err(CursorError::Malformed));
    }

    #[test]
    fn users_cursors_are_bound_to_org_team_and_method() {
        let c = encode_users(b"k", "E1", None, "W0DEV");
        assert_eq!(decode_users(b"k", &c, "E1", None).as_deref(), Ok("W0DEV"));
        assert_eq!(
            decode_users(b"k", &c, "E2", None),
            Err(CursorError::ForeignOrg)
        );
        assert_eq!(
            decode_users(b"k", &c, "E1", Some("T1")),
            Err(CursorError::OtherFilter)
        );
        let t = encode_users(b"k", "E1", Some("T1"), "W1");
        assert_eq!(
            decode_users(b"k", &t, "E1", Some("T1")).as_deref(),
            Ok("W1")
        );
        assert_eq!(
            decode_users(b"k", &t, "E1", Some("T2")),
            Err(CursorError::OtherFilter)
        );
        assert_eq!(
            decode_users(b"other", &c, "E1", None),
            Err(CursorError::BadSignature)
        );
        // A session cursor is not a users cursor, nor the reverse.
        let s = encode(b"k", &st(42));
        assert_eq!(
            decode_users(b"k", &s, "E1", None),
            Err(CursorError::OtherMethod)
        );
        assert_eq!(decode(b"k", &c, "E1", None), Err(CursorError::OtherMethod));
    }

    #[test]
    fn audit_cursors_are_bound_to_org_and_every_filter() {
        let key = b"k".as_slice();
        let f = AuditFilter {
            action: Some("a".into()),
            ..Default::default()
        };
        let c = encode_audit(key, "E1", &f, 42);
        assert_eq!(decode_audit(key, &c, "E1", &f), Ok(42));
        assert_eq!(
            decode_audit(key, &c, "E2", &f),
            Err(CursorError::ForeignOrg)
        );
        let others = [
            AuditFilter::default(),
            AuditFilter {
                actor: Some("a".into()),
                ..Default::default()
            },
            AuditFilter {
                action: Some("a".into()),
                user: Some("W1".into()),
                ..Default::default()
            },
            AuditFilter {
                action: Some("a".into()),
                oldest: Some(0),
                ..Default::default()
            },
            AuditFilter {
                action: Some("a".into()),
                latest: Some(9),
                ..Default::default()
            },
        ];
        for other in &others {
            assert_eq!(
                decode_audit(key, &c, "E1", other),
                Err(CursorError::OtherFilter),
                "{other:?}"
            );
        }
        assert_eq!(
            decode_audit(b"other", &c, "E1", &f),
            Err(CursorError::BadSignature)
        );
        assert_eq!(
            decode_audit(key, "!!", "E1", &f),
            Err(CursorError::Malformed)
        );
        let mut raw = URL_SAFE_NO_PAD.decode(&c).unwrap();
        for i in 0..raw.len() {
            raw[i] ^= 1;
            let flipped = URL_SAFE_NO_PAD.encode(&raw);
            assert!(decode_audit(key, &flipped, "E1", &f).is_err(), "bit {i}");
            raw[i] ^= 1;
        }
    }

    /// Domain separation: the same key signs all three kinds, and no kind's cursor is taken
    /// for another's (refused as another method's, whatever its payload).
    #[test]
    fn no_cursor_verifies_as_another_kind() {
        let key = b"k".as_slice();
        let f = AuditFilter::default();
        let session = encode(key, &st(7));
        let users = encode_users(key, "E1", None, "W1");
        let audit = encode_audit(key, "E1", &f, 7);
        for c in [&users, &audit] {
            assert_eq!(decode(key, c, "E1", None), Err(CursorError::OtherMethod));
        }
        for c in [&session, &audit] {
            assert_eq!(
                decode_users(key, c, "E1", None),
                Err(CursorError::OtherMethod)
            );
        }
        for c in [&session, &users] {
            assert_eq!(
                decode_audit(key, c, "E1", &f),
                Err(CursorError::OtherMethod)
            );
        }
        // The same payload bytes under two kinds get two different tags.
        let payload = Writer::new().str("E1");
        let a = payload.0.clone();
        assert_ne!(
            Kind::Sessions.mac(key, &a).finalize().into_bytes(),
            Kind::AuditLog.mac(key, &a).finalize().into_bytes()
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn users_cursor_decoding_is_total(text in ".{0,80}") {
            let _ = decode_users(b"key", &text, "E1", None);
        }

        /// Arbitrary text is never taken for an audit cursor (and never panics), and every
        /// genuine cursor decodes to the id it carries.
        #[test]
        fn audit_cursor_decoding_is_total_and_exact(text in ".{0,80}", last in any::<i64>()) {
            let f = AuditFilter::default();
            prop_assert!(decode_audit(b"k", &text, "E1", &f).is_err());
            let c = encode_audit(b"k", "E1", &f, last);
            prop_assert_eq!(decode_audit(b"k", &c, "E1", &f), Ok(last));
        }

        #[test]
        fn any_single_byte_change_is_refused(last in any::<u64>(), pos in 0usize..60, bit in 0u8..8) {
            let c = encode(b"key", &st(last));
            let mut raw = URL_SAFE_NO_PAD.decode(&c).unwrap();
            let i = pos % raw.len();
            raw[i] ^= 1 << bit;
            let tampered = URL_SAFE_NO_PAD.encode(raw);
            prop_assert!(decode(b"key", &tampered, "E1", None).is_err());
        }
    }
}
