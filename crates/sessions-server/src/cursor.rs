//! Opaque, signed cursors of `admin.users.session.list` and `users.list`.
//!
//! A session cursor is URL-safe base64 (no padding) of `version | org_id | team_id | user_id |
//! last session_id`, a `users.list` cursor of `USERS | org_id | team_id | last user_id`; each is
//! followed by an HMAC-SHA256 tag keyed with the store's server secret, so every node sharing
//! the store verifies every other node's cursors. The leading byte tells the two apart, so one
//! method's cursor is refused by the other. Paging is keyset-based (the cursor carries the last
//! id returned), so rows added or removed between pages are never skipped or repeated.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const VERSION: u8 = 1;
/// Leading byte of `users.list` cursors.
const USERS: u8 = 2;
const TAG_LEN: usize = 32;

/// What a cursor pins down.
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
    /// Not base64 or too short.
    #[error("cursor is malformed")]
    Malformed,
    /// The tag does not match: tampered with, or from another server.
    #[error("cursor signature does not match (tampered with, or issued by another server)")]
    BadSignature,
    /// Issued to another org.
    #[error("cursor was issued for another organization")]
    ForeignOrg,
    /// Issued for another `team_id`/`user_id` filter.
    #[error("cursor was issued for a different team_id/user_id filter")]
    OtherFilter,
    /// Issued by another method (a session cursor given to `users.list`, or the reverse).
    #[error("cursor was issued by another method")]
    OtherMethod,
}

fn mac(key: &[u8], payload: &[u8]) -> [u8; TAG_LEN] {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(payload);
    m.finalize().into_bytes().into()
}

fn push_field(buf: &mut Vec<u8>, s: &str) {
    // Length-prefixed so no separator can be smuggled inside an id.
    buf.extend_from_slice(&(s.len() as u16).to_be_bytes());
    buf.extend_from_slice(s.as_bytes());
}

/// Encodes and signs.
pub fn encode(key: &[u8], state: &CursorState) -> String {
    let mut buf = vec![VERSION];
    push_field(&mut buf, &state.org_id);
    let (team, user) = state
        .filter
        .as_ref()
        .map(|(t, u)| (t.as_str(), u.as_str()))
        .unwrap_or(("", ""));
    buf.push(u8::from(state.filter.is_some()));
    push_field(&mut buf, team);
    push_field(&mut buf, user);
    buf.extend_from_slice(&state.last.to_be_bytes());
    seal(key, buf)
}

/// Appends the tag and encodes.
fn seal(key: &[u8], mut buf: Vec<u8>) -> String {
    let tag = mac(key, &buf);
    buf.extend_from_slice(&tag);
    URL_SAFE_NO_PAD.encode(buf)
}

/// The payload of a genuine cursor whose first byte is `kind`.
fn open(key: &[u8], cursor: &str, kind: u8) -> Result<Vec<u8>, CursorError> {
    let mut raw = URL_SAFE_NO_PAD
        .decode(cursor.trim().trim_end_matches('='))
        .map_err(|_| CursorError::Malformed)?;
    if raw.len() <= TAG_LEN + 1 {
        return Err(CursorError::Malformed);
    }
    let (payload, tag) = raw.split_at(raw.len() - TAG_LEN);
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(payload);
    // Constant-time comparison inside verify_slice.
    m.verify_slice(tag).map_err(|_| CursorError::BadSignature)?;
    match payload[0] {
        k if k == kind => {}
        VERSION | USERS => return Err(CursorError::OtherMethod),
        _ => return Err(CursorError::Malformed),
    }
    raw.truncate(raw.len() - TAG_LEN);
    raw.remove(0);
    Ok(raw)
}

/// Encodes and signs a `users.list` cursor: the org, the `team_id` filter (if any) and the last
/// user id of the page it follows.
pub fn encode_users(key: &[u8], org_id: &str, team_id: Option<&str>, last: &str) -> String {
    let mut buf = vec![USERS];
    push_field(&mut buf, org_id);
    buf.push(u8::from(team_id.is_some()));
    push_field(&mut buf, team_id.unwrap_or(""));
    push_field(&mut buf, last);
    seal(key, buf)
}

/// Verifies a `users.list` cursor for this org and `team_id` filter; returns the last user id.
pub fn decode_users(
    key: &[u8],
    cursor: &str,
    org_id: &str,
    team_id: Option<&str>,
) -> Result<String, CursorError> {
    let payload = open(key, cursor, USERS)?;
    let mut r = Reader(&payload);
    let org = r.field()?;
    let has_team = r.take(1)?[0] == 1;
    let team = r.field()?;
    let last = r.field()?;
    if org != org_id {
        return Err(CursorError::ForeignOrg);
    }
    if has_team.then_some(team.as_str()) != team_id {
        return Err(CursorError::OtherFilter);
    }
    Ok(last)
}

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
    fn field(&mut self) -> Result<String, CursorError> {
        let len = self.take(2)?;
        let len = u16::from_be_bytes([len[0], len[1]]) as usize;
        String::from_utf8(self.take(len)?.to_vec()).map_err(|_| CursorError::Malformed)
    }
}

/// Verifies a cursor and checks it belongs to this org and filter.
pub fn decode(
    key: &[u8],
    cursor: &str,
    org_id: &str,
    filter: Option<&(String, String)>,
) -> Result<u64, CursorError> {
    let payload = open(key, cursor, VERSION)?;
    let mut r = Reader(&payload);
    let org = r.field()?;
    let has_filter = r.take(1)?[0] == 1;
    let team = r.field()?;
    let user = r.field()?;
    let last = r.take(8)?;
    let last = u64::from_be_bytes(last.try_into().map_err(|_| CursorError::Malformed)?);
    if org != org_id {
        return Err(CursorError::ForeignOrg);
    }
    let got = has_filter.then_some((team, user));
    if got.as_ref() != filter {
        return Err(CursorError::OtherFilter);
    }
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn users_cursor_decoding_is_total(text in ".{0,80}") {
            let _ = decode_users(b"key", &text, "E1", None);
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
