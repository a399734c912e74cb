//! Compact `admin.users.session.list` pages for scanning a whole org.
//!
//! Scanning a million-session org means decoding a million sessions of about 340 bytes of JSON
//! each. Decoded into [`ActiveSession`]s that is up to a dozen `String`s per session: half the
//! client's time went to the allocator and to copying. A [`SessionPage`] instead keeps the
//! page's body (checked as UTF-8 once) and, per session, the positions of its strings in it;
//! [`SessionRef`] hands them out as `&str` borrowed from the page. Only strings with JSON
//! escapes in them are unescaped, into one side buffer per page. Decoding a page costs a handful
//! of allocations instead of about twelve thousand.
//!
//! Pages in the shape our server and Slack send are read by a hand-written reader
//! ([`reader`], see its doc for why and the figures); anything it does not expect goes to the
//! serde_json path here, which borrows strings the same way and copies only escaped ones.
//!
//! Only a successful answer takes this path; anything else (`ok:false`, a body that is not
//! what Slack sends) is decoded by the client's ordinary decoder, so errors are exactly those of
//! [`Client::admin_users_session_list`](crate::Client::admin_users_session_list).

mod reader;

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use serde::Deserialize;
use sessions_wire::{ActiveSession, DeviceInfo, ListResponse, SessionId};

/// Where a string lives: `start..start+len` of the body, or of the side buffer when
/// [`ESCAPED`] is set in `start`; `len == ABSENT` for a missing (or `null`) field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    len: u32,
}

const ESCAPED: u32 = 1 << 31;
const ABSENT: u32 = u32::MAX;

impl Span {
    const NONE: Span = Span {
        start: 0,
        len: ABSENT,
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PackedDevice {
    device_hardware: Span,
    os: Span,
    os_version: Span,
    slack_client_version: Span,
    ip: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Packed {
    session_id: u64,
    user_id: Span,
    team_id: Span,
    created: PackedDevice,
    recent: Option<PackedDevice>,
}

/// One page of `admin.users.session.list`, decoded for scanning (see the module doc).
///
/// Holds the response body; iterate with [`SessionPage::iter`]. `Send + Sync`, cheap to keep
/// one or two of while the next is fetched.
#[derive(Clone, Default)]
pub struct SessionPage {
    /// The body, or empty when built from an already decoded [`ListResponse`].
    text: String,
    /// Unescaped strings.
    extra: String,
    sessions: Vec<Packed>,
    next_cursor: Option<String>,
}

impl fmt::Debug for SessionPage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionPage")
            .field("sessions", &self.sessions.len())
            .field("next_cursor", &self.next_cursor)
            .finish()
    }
}

/// One session of a [`SessionPage`], its strings borrowed from the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionRef<'a> {
    /// Encoded id of the user.
    pub user_id: &'a str,
    /// Encoded id of the team.
    pub team_id: &'a str,
    /// Id of the session.
    pub session_id: SessionId,
    /// Device details when the session was created.
    pub created: DeviceRef<'a>,
    /// Device details most recently seen.
    pub recent: Option<DeviceRef<'a>>,
}

/// [`DeviceInfo`] borrowed from a [`SessionPage`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceRef<'a> {
    /// Type of device.
    pub device_hardware: Option<&'a str>,
    /// Type of OS.
    pub os: Option<&'a str>,
    /// Version of the OS.
    pub os_version: Option<&'a str>,
    /// Version of the Slack client, if available.
    pub slack_client_version: Option<&'a str>,
    /// IP address.
    pub ip: Option<&'a str>,
}

impl DeviceRef<'_> {
    /// An owned copy.
    pub fn to_device_info(&self) -> DeviceInfo {
        let own = |s: Option<&str>| s.map(str::to_owned);
        DeviceInfo {
            device_hardware: own(self.device_hardware),
            os: own(self.os),
            os_version: own(self.os_version),
            slack_client_version: own(self.slack_client_version),
            ip: own(self.ip),
        }
    }
}

impl<'a> From<&'a ActiveSession> for SessionRef<'a> {
    fn from(s: &'a ActiveSession) -> SessionRef<'a> {
        SessionRef {
            user_id: &s.user_id,
            team_id: &s.team_id,
            session_id: s.session_id,
            created: DeviceRef::from(&s.created),
            recent: s.recent.as_ref().map(DeviceRef::from),
        }
    }
}

impl<'a> From<&'a DeviceInfo> for DeviceRef<'a> {
    fn from(d: &'a DeviceInfo) -> DeviceRef<'a> {
        DeviceRef {
            device_hardware: d.device_hardware.as_deref(),
            os: d.os.as_deref(),
            os_version: d.os_version.as_deref(),
            slack_client_version: d.slack_client_version.as_deref(),
            ip: d.ip.as_deref(),
        }
    }
}

impl SessionRef<'_> {
    /// An owned copy, as [`Client::admin_users_session_list`](crate::Client) returns it.
    pub fn to_active_session(&self) -> ActiveSession {
        ActiveSession {
            user_id: self.user_id.to_owned(),
            team_id: self.team_id.to_owned(),
            session_id: self.session_id,
            created: self.created.to_device_info(),
            recent: self.recent.as_ref().map(DeviceRef::to_device_info),
        }
    }
}

impl SessionPage {
    /// Number of sessions on the page.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether the page has no sessions.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// The cursor of the next page, or `None` on the last one.
    pub fn next_cursor(&self) -> Option<&str> {
        self.next_cursor.as_deref().filter(|c| !c.is_empty())
    }

    /// The `i`th session.
    pub fn get(&self, i: usize) -> Option<SessionRef<'_>> {
        self.sessions.get(i).map(|p| self.view(p))
    }

    /// The sessions, in page order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = SessionRef<'_>> + '_ {
        self.sessions.iter().map(|p| self.view(p))
    }

    /// Owned copies of every session.
    pub fn to_active_sessions(&self) -> Vec<ActiveSession> {
        self.iter().map(|s| s.to_active_session()).collect()
    }

    fn str(&self, s: Span) -> Option<&str> {
        if s.len == ABSENT {
            return None;
        }
        let (buf, start) = if s.start & ESCAPED != 0 {
            (&self.extra, s.start & !ESCAPED)
        } else {
            (&self.text, s.start)
        };
        let start = start as usize;
        // Spans are made from string slices of `buf`, so they are in bounds and on char
        // boundaries; `get` keeps this panic-free regardless.
        buf.get(start..start + s.len as usize)
    }

    fn device(&self, d: &PackedDevice) -> DeviceRef<'_> {
        DeviceRef {
            device_hardware: self.str(d.device_hardware),
            os: self.str(d.os),
            os_version: self.str(d.os_version),
            slack_client_version: self.str(d.slack_client_version),
            ip: self.str(d.ip),
        }
    }

    fn view(&self, p: &Packed) -> SessionRef<'_> {
        SessionRef {
            user_id: self.str(p.user_id).unwrap_or_default(),
            team_id: self.str(p.team_id).unwrap_or_default(),
            session_id: SessionId(p.session_id),
            created: self.device(&p.created),
            recent: p.recent.as_ref().map(|d| self.device(d)),
        }
    }

    /// The fast path: an `ok:true` body in the shape Slack sends. Anything else (the caller
    /// then decodes it the ordinary way, which reports what is wrong) gives the body back.
    pub(crate) fn decode(body: Bytes) -> Result<SessionPage, Bytes> {
        // One UTF-8 check for the whole body; serde_json then borrows strings unchecked.
        // (Unique `Bytes`, as a response body is, become a `Vec` without a copy.)
        let text = match String::from_utf8(Vec::from(body)) {
            Ok(t) => t,
            Err(e) => return Err(Bytes::from(e.into_bytes())),
        };
        match Self::decode_text(&text) {
            Some(page) => Ok(SessionPage { text, ..page }),
            None => Err(Bytes::from(text.into_bytes())),
        }
    }

    /// An `ok:true` page of `text`, all but `text` itself (its spans point into it).
    fn decode_text(text: &str) -> Option<SessionPage> {
        reader::read(text).or_else(|| Self::decode_serde(text))
    }

    /// [`SessionPage::decode_text`] the serde way, for pages the reader leaves alone.
    fn decode_serde(text: &str) -> Option<SessionPage> {
        if text.len() >= ESCAPED as usize {
            return None;
        }
        let wire: WirePage<'_> = serde_json::from_str(text).ok()?;
        if wire.ok != Some(true) {
            return None;
        }
        let mut spans = Spans {
            base: text.as_ptr() as usize,
            extra: String::new(),
        };
        let mut sessions = Vec::with_capacity(wire.active_sessions.len());
        for s in &wire.active_sessions {
            sessions.push(Packed {
                session_id: s.session_id.0,
                user_id: spans.of(&s.user_id)?,
                team_id: spans.of(&s.team_id)?,
                created: spans.device(&s.created)?,
                recent: match &s.recent {
                    Some(r) => Some(spans.device(r)?),
                    None => None,
                },
            });
        }
        let next_cursor = wire
            .response_metadata
            .and_then(|m| m.next_cursor)
            .map(|c| c.0.into_owned());
        Some(SessionPage {
            text: String::new(),
            extra: spans.extra,
            sessions,
            next_cursor,
        })
    }
}

impl From<ListResponse> for SessionPage {
    /// The same page, compact (the client's fallback path; also for tests and other
    /// implementations of a scan).
    fn from(list: ListResponse) -> SessionPage {
        let mut page = SessionPage {
            next_cursor: list.next_cursor().map(str::to_owned),
            ..SessionPage::default()
        };
        let extra = &mut page.extra;
        let mut span = |s: Option<&str>| match s {
            None => Span::NONE,
            Some(s) => {
                let start = extra.len() as u32 | ESCAPED;
                extra.push_str(s);
                Span {
                    start,
                    len: s.len() as u32,
                }
            }
        };
        let mut device = |d: &DeviceInfo| PackedDevice {
            device_hardware: span(d.device_hardware.as_deref()),
            os: span(d.os.as_deref()),
            os_version: span(d.os_version.as_deref()),
            slack_client_version: span(d.slack_client_version.as_deref()),
            ip: span(d.ip.as_deref()),
        };
        page.sessions = list
            .active_sessions
            .iter()
            .map(|s| Packed {
                session_id: s.session_id.0,
                user_id: Span::NONE,
                team_id: Span::NONE,
                created: device(&s.created),
                recent: s.recent.as_ref().map(&mut device),
            })
            .collect();
        // Ids after the devices: one closure borrows `extra` at a time.
        for (p, s) in page.sessions.iter_mut().zip(&list.active_sessions) {
            p.user_id = span(Some(&s.user_id));
            p.team_id = span(Some(&s.team_id));
        }
        page
    }
}

/// Turns borrowed strings into positions in the body, and escaped ones into positions in
/// `extra`. `None` when a position does not fit (a body over 2 GiB).
struct Spans {
    base: usize,
    extra: String,
}

impl Spans {
    fn of(&mut self, s: &Str<'_>) -> Option<Span> {
        let len = u32::try_from(s.0.len()).ok().filter(|l| *l != ABSENT)?;
        let start = match &s.0 {
            Cow::Borrowed(b) => u32::try_from(b.as_ptr() as usize - self.base).ok()?,
            Cow::Owned(o) => {
                let at = u32::try_from(self.extra.len())
                    .ok()
                    .filter(|a| a & ESCAPED == 0)?;
                self.extra.push_str(o);
                at | ESCAPED
            }
        };
        Some(Span { start, len })
    }

    fn opt(&mut self, s: &Option<Str<'_>>) -> Option<Span> {
        match s {
            Some(s) => self.of(s),
            None => Some(Span::NONE),
        }
    }

    fn device(&mut self, d: &WireDevice<'_>) -> Option<PackedDevice> {
        Some(PackedDevice {
            device_hardware: self.opt(&d.device_hardware)?,
            os: self.opt(&d.os)?,
            os_version: self.opt(&d.os_version)?,
            slack_client_version: self.opt(&d.slack_client_version)?,
            ip: self.opt(&d.ip)?,
        })
    }
}

/// A JSON string, borrowed from the body unless it had escapes. (serde's own `Cow<str>`
/// borrows only as a direct field, never inside an `Option`.)
struct Str<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Str<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

/// The page as it arrives, strings borrowed where they have no escapes. Unknown keys are
/// skipped; the envelope's other keys are ignored here because only `ok:true` is accepted.
#[derive(Deserialize)]
struct WirePage<'a> {
    #[serde(default)]
    ok: Option<bool>,
    #[serde(default, borrow)]
    active_sessions: Vec<WireSession<'a>>,
    #[serde(default, borrow)]
    response_metadata: Option<WireMeta<'a>>,
}

#[derive(Deserialize)]
struct WireMeta<'a> {
    #[serde(default, borrow)]
    next_cursor: Option<Str<'a>>,
}

#[derive(Deserialize)]
struct WireSession<'a> {
    #[serde(borrow)]
    user_id: Str<'a>,
    #[serde(borrow)]
    team_id: Str<'a>,
    session_id: SessionId,
    #[serde(default, borrow)]
    created: WireDevice<'a>,
    #[serde(default, borrow)]
    recent: Option<WireDevice<'a>>,
}

#[derive(Deserialize, Default)]
struct WireDevice<'a> {
    #[serde(default, borrow)]
    device_hardware: Option<Str<'a>>,
    #[serde(default, borrow)]
    os: Option<Str<'a>>,
    #[serde(default, borrow)]
    os_version: Option<Str<'a>>,
    #[serde(default, borrow)]
    slack_client_version: Option<Str<'a>>,
    #[serde(default, borrow)]
    ip: Option<Str<'a>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fast(body: &str) -> SessionPage {
        SessionPage::decode(Bytes::from(body.to_owned())).expect("fast path")
    }

    fn ordinary(body: &str) -> ListResponse {
        serde_json::from_str(body).unwrap()
    }

    #[test]
    fn matches_the_ordinary_decode_with_escapes_nulls_and_missing_fields() {
        let body = r#"{"warning":"w","ok":true,"active_sessions":[
            {"user_id":"W\u0031\"x","team_id":"T1","session_id":"5","created":{"os":null,
             "ip":"10.0.0.1","extra":{"a":[1,{"b":2}]}},"recent":null},
            {"session_id":6,"team_id":"T\\2","user_id":"W2","recent":{"device_hardware":"é ☃"}},
            {"user_id":"","team_id":"","session_id":7,"created":{}}],
            "response_metadata":{"next_cursor":"c\/1","messages":[]},"more":true}"#;
        let page = fast(body);
        let want = ordinary(body);
        assert_eq!(page.to_active_sessions(), want.active_sessions);
        assert_eq!(page.next_cursor(), Some("c/1"));
        assert_eq!(page.len(), 3);
        let s = page.get(0).unwrap();
        assert_eq!(s.user_id, "W1\"x");
        assert_eq!(s.created.os, None);
        assert_eq!(s.recent, None);
        assert_eq!(
            page.get(1).unwrap().recent.unwrap().device_hardware,
            Some("é ☃")
        );
        assert!(page.get(3).is_none());
    }

    #[test]
    fn anything_but_a_plain_success_goes_back_to_the_ordinary_decoder() {
        for body in [
            r#"{"ok":false,"error":"invalid_auth"}"#,
            r#"{"active_sessions":[]}"#,
            r#"{"ok":true,"active_sessions":[{"user_id":1}]}"#,
            r#"{"ok":true} trailing"#,
            "not json",
        ] {
            let back = SessionPage::decode(Bytes::from(body)).unwrap_err();
            assert_eq!(back, body.as_bytes(), "{body}");
        }
        let bad_utf8 = Bytes::from_static(b"{\"ok\":true,\"x\":\"\xff\"}");
        assert_eq!(SessionPage::decode(bad_utf8.clone()).unwrap_err(), bad_utf8);
        // An empty or missing cursor is the last page.
        assert_eq!(fast(r#"{"ok":true}"#).next_cursor(), None);
        let last = r#"{"ok":true,"response_metadata":{"next_cursor":""}}"#;
        assert_eq!(fast(last).next_cursor(), None);
    }

    #[test]
    fn from_list_is_the_same_page() {
        let body = r#"{"ok":true,"active_sessions":[{"user_id":"W1","team_id":"T1",
            "session_id":1,"created":{"os":"iOS"},"recent":{"ip":"::1"}}],
            "response_metadata":{"next_cursor":"n"}}"#;
        let list = ordinary(body);
        let page = SessionPage::from(list.clone());
        assert_eq!(page.to_active_sessions(), list.active_sessions);
        assert_eq!(page.next_cursor(), Some("n"));
        assert_eq!(
            page.iter().collect::<Vec<_>>(),
            fast(body).iter().collect::<Vec<_>>()
        );
    }

    fn text() -> impl Strategy<Value = Option<String>> {
        prop::option::of(any::<String>())
    }

    fn device() -> impl Strategy<Value = DeviceInfo> {
        (text(), text(), text(), text(), text()).prop_map(|(h, o, v, c, i)| DeviceInfo {
            device_hardware: h,
            os: o,
            os_version: v,
            slack_client_version: c,
            ip: i,
        })
    }

    /// Sessions and cursor of a page decoded from `text` without its body.
    fn resolved(text: &str, page: SessionPage) -> (Vec<ActiveSession>, Option<String>) {
        let page = SessionPage {
            text: text.to_owned(),
            ..page
        };
        (
            page.to_active_sessions(),
            page.next_cursor().map(str::to_owned),
        )
    }

    /// The reader answers exactly as the serde path, or not at all.
    fn reader_agrees(text: &str) -> Result<bool, TestCaseError> {
        let Some(fast) = reader::read(text) else {
            return Ok(false);
        };
        let slow = SessionPage::decode_serde(text);
        prop_assert!(
            slow.is_some(),
            "reader accepted what serde rejects: {}",
            text
        );
        prop_assert_eq!(
            resolved(text, fast),
            resolved(text, slow.unwrap()),
            "{}",
            text
        );
        Ok(true)
    }

    #[test]
    fn the_reader_takes_pages_in_the_servers_shape() {
        let body = r#"{"ok":true,"active_sessions":[{"user_id":"W1","team_id":"T1",
            "session_id":18446744073709551615,"created":{"device_hardware":"iPhone","os":"iOS",
            "os_version":"17.1","slack_client_version":"23.1","ip":"10.0.0.1"},
            "recent":{"os":null,"ip":"::1"}},{"session_id":0,"team_id":"T2","user_id":"W2",
            "recent":null,"x":[1,-0.5e+3,{"y":"z"},true,false,null]}],
            "response_metadata":{"next_cursor":"dXNlcjpXMg=="}} "#;
        assert!(reader_agrees(body).unwrap());
        let page = reader::read(body).unwrap();
        assert_eq!(page.len(), 2);
        assert_eq!(
            resolved(body, page).0,
            ordinary(body).active_sessions,
            "same as the ordinary decoder"
        );
    }

    #[test]
    fn the_reader_leaves_escapes_odd_ids_and_duplicates_to_serde() {
        for body in [
            r#"{"ok":true,"active_sessions":[{"user_id":"W\u0031","team_id":"T","session_id":1}]}"#,
            r#"{"ok":true,"active_sessions":[{"user_id":"W","team_id":"T","session_id":"5"}]}"#,
            r#"{"ok":true,"active_sessions":[{"user_id":"W","team_id":"T","session_id":5.0}]}"#,
            r#"{"ok":true,"active_sessions":[{"user_id":"W","team_id":"T","session_id":1}],"x":"\n"}"#,
            r#"{"ok":true,"response_metadata":[null]}"#,
        ] {
            assert!(reader::read(body).is_none(), "{body}");
            let page = fast(body);
            assert_eq!(
                page.to_active_sessions(),
                ordinary(body).active_sessions,
                "{body}"
            );
        }
        for body in [
            r#"{"ok":true,"ok":true}"#,
            r#"{"ok":true,"active_sessions":[{"user_id":"W","user_id":"W","team_id":"T","session_id":1}]}"#,
            r#"{"ok":true,"active_sessions":[{"user_id":"W","team_id":"T","session_id":01}]}"#,
            r#"{"ok":true,"active_sessions":[{"user_id":"W","team_id":"T","session_id":-1}]}"#,
            r#"{"ok":true,"active_sessions":[{"user_id":"W","team_id":"T","session_id":1,"created":null}]}"#,
            r#"{"ok":true,"active_sessions":null}"#,
            r#"{"ok":true,"x":01}"#,
            r#"{"ok":true,"x":1.}"#,
            r#"{"ok":true,"x":[1,]}"#,
            "{\"ok\":true,\"x\":\"a\u{1}b\"}",
            r#"{"ok":true,}"#,
            r#"{"ok":null}"#,
        ] {
            assert!(reader::read(body).is_none(), "{body}");
            assert!(SessionPage::decode_serde(body).is_none(), "{body}");
        }
    }

    /// A JSON value of any type, as text, for fields the scan does not know.
    fn any_json() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_owned()),
            any::<bool>().prop_map(|b| b.to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|f| serde_json::to_string(&f).unwrap()),
            Just("-0.0e-7".to_owned()),
            any::<char>().prop_map(|c| serde_json::to_string(&c.to_string()).unwrap()),
            "[a-z ]{0,6}".prop_map(|s| format!("\"{s}\"")),
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec(("[a-z_]{1,6}", inner), 0..4).prop_map(|v| {
                    let f: Vec<_> = v.iter().map(|(k, x)| format!("\"{k}\" : {x}")).collect();
                    format!("{{ {} }}", f.join(" ,"))
                }),
            ]
        })
    }

    /// A string as the server sends it: mostly plain, sometimes with escapes or odd Unicode.
    fn json_str() -> impl Strategy<Value = String> {
        prop_oneof![
            30 => "[A-Za-z0-9 .:/+=é☃-]{0,10}".prop_map(|s| format!("\"{s}\"")),
            1 => any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap()),
        ]
    }

    /// An optional string field: a string, `null`, a wrong type, or missing (`None`).
    fn opt_field() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            60 => json_str().prop_map(Some),
            4 => Just(Some("null".to_owned())),
            1 => any_json().prop_map(Some),
            4 => Just(None),
        ]
    }

    /// An object of `fields` (name, value text; `None` leaves it out) plus unknown ones, in
    /// any order, the first known field sometimes twice.
    fn object(fields: Vec<(&'static str, Option<String>)>) -> impl Strategy<Value = String> {
        (
            prop::collection::vec(("[a-z_]{1,8}", any_json()), 0..3),
            prop::bool::weighted(0.05),
            prop_oneof![Just(""), Just(" "), Just("\n\t")],
        )
            .prop_flat_map(move |(unknown, twice, ws)| {
                let mut all: Vec<String> = fields
                    .iter()
                    .filter_map(|(k, v)| v.as_ref().map(|v| format!("\"{k}\":{ws}{v}")))
                    .collect();
                if twice && !all.is_empty() {
                    all.push(all[0].clone());
                }
                all.extend(unknown.iter().map(|(k, v)| format!("\"{k}\"{ws}:{v}")));
                Just(all)
                    .prop_shuffle()
                    .prop_map(move |f| format!("{{{ws}{}}}", f.join(",")))
            })
    }

    fn device_json() -> impl Strategy<Value = String> {
        (
            opt_field(),
            opt_field(),
            opt_field(),
            opt_field(),
            opt_field(),
        )
            .prop_flat_map(|(h, o, v, c, i)| {
                object(vec![
                    ("device_hardware", h),
                    ("os", o),
                    ("os_version", v),
                    ("slack_client_version", c),
                    ("ip", i),
                ])
            })
    }

    fn session_id_json() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            30 => any::<u64>().prop_map(|n| Some(n.to_string())),
            1 => prop::sample::select(vec![
                "0", "01", "-1", "1.0", "1e3", "\"42\"", "18446744073709551616", "null", "\"x\"",
            ])
            .prop_map(|s| Some(s.to_owned())),
            1 => Just(None),
        ]
    }

    fn session_json() -> impl Strategy<Value = String> {
        let device = prop_oneof![
            20 => device_json().prop_map(Some),
            1 => Just(Some("null".to_owned())),
            3 => Just(None),
        ];
        (
            prop_oneof![30 => json_str().prop_map(Some), 1 => opt_field()],
            prop_oneof![30 => json_str().prop_map(Some), 1 => opt_field()],
            session_id_json(),
            device.clone(),
            device,
        )
            .prop_flat_map(|(u, t, id, c, r)| {
                object(vec![
                    ("user_id", u),
                    ("team_id", t),
                    ("session_id", id),
                    ("created", c),
                    ("recent", r),
                ])
            })
    }

    fn page_json() -> impl Strategy<Value = String> {
        let sessions =
            prop::collection::vec(session_json(), 0..5).prop_map(|v| format!("[{}]", v.join(",")));
        let meta = prop_oneof![
            4 => object(vec![("next_cursor", Some("\"bmV4dA==\"".to_owned()))]).prop_map(Some),
            1 => opt_field().prop_flat_map(|c| object(vec![("next_cursor", c)])).prop_map(Some),
            1 => Just(Some("null".to_owned())),
            1 => Just(None),
        ];
        let ok = prop_oneof![30 => Just(Some("true".to_owned())), 1 => opt_field()];
        (ok, sessions, meta).prop_flat_map(|(ok, s, m)| {
            object(vec![
                ("ok", ok),
                ("active_sessions", Some(s)),
                ("response_metadata", m),
            ])
        })
    }

    /// The generated pages reach both sides: the reader's answers and its stepping aside.
    #[test]
    fn generated_pages_exercise_the_reader_and_the_fallback() {
        use proptest::strategy::ValueTree;
        use proptest::test_runner::TestRunner;
        let mut runner = TestRunner::deterministic();
        let (mut read, mut aside) = (0, 0);
        for _ in 0..300 {
            let body = page_json().new_tree(&mut runner).unwrap().current();
            let sessions = reader::read(&body).map(|p| p.len());
            match sessions {
                Some(n) if n > 0 => read += 1,
                Some(_) => {}
                None => aside += 1,
            }
        }
        assert!(read > 30 && aside > 30, "read {read}, aside {aside}");
    }

    proptest! {
        /// Whatever strings the server sends (escapes, any Unicode), the compact page reads
        /// back exactly what was serialized.
        #[test]
        fn round_trips_any_page(
            sessions in prop::collection::vec(
                (any::<String>(), any::<String>(), any::<u64>(), device(),
                 prop::option::of(device())),
                0..8,
            ),
            cursor in any::<String>(),
        ) {
            let list = ListResponse {
                active_sessions: sessions
                    .into_iter()
                    .map(|(u, t, id, created, recent)| ActiveSession {
                        user_id: u,
                        team_id: t,
                        session_id: SessionId(id),
                        created,
                        recent,
                    })
                    .collect(),
                response_metadata: Some(sessions_wire::ResponseMetadata {
                    next_cursor: Some(cursor.clone()),
                    ..Default::default()
                }),
            };
            let mut json = serde_json::to_value(&list).unwrap();
            json["ok"] = true.into();
            let page = fast(&json.to_string());
            prop_assert_eq!(page.to_active_sessions(), list.active_sessions);
            prop_assert_eq!(page.next_cursor(), Some(cursor.as_str()).filter(|c| !c.is_empty()));
        }

        /// Any page: reordered keys, unknown fields of any type, nulls, missing fields,
        /// escapes, odd ids, duplicates. The hand-written reader gives the serde path's answer
        /// or steps aside, never a different answer.
        #[test]
        fn the_reader_agrees_with_serde_or_steps_aside(body in page_json()) {
            reader_agrees(&body)?;
            // And whoever decodes it, the page is what the ordinary decoder reads.
            if let Some(page) = SessionPage::decode_text(&body) {
                if let Ok(list) = serde_json::from_str::<ListResponse>(&body) {
                    prop_assert_eq!(resolved(&body, page).0, list.active_sessions);
                }
            }
        }

        /// Damaged bodies (cut, a byte changed or inserted) never get an answer from the reader
        /// that serde would not give.
        #[test]
        fn the_reader_is_never_laxer_than_serde_on_damaged_pages(
            body in page_json(),
            at in any::<prop::sample::Index>(),
            byte in prop::sample::select(b"{}[]\",:\\ 0-.etnu".to_vec()),
            how in 0..3u8,
        ) {
            let mut b = body.into_bytes();
            let at = at.index(b.len() + 1);
            match how {
                0 => b.truncate(at),
                1 if at < b.len() => b[at] = byte,
                _ => b.insert(at, byte),
            }
            if let Ok(text) = String::from_utf8(b) {
                reader_agrees(&text)?;
            }
        }
    }
}
