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
//! serde_json path ([`borrowed`]), which borrows strings the same way and copies only escaped
//! ones.
//!
//! Only a successful answer takes this path; anything else (`ok:false`, a body that is not
//! what Slack sends) is decoded by the client's ordinary decoder, so errors are exactly those of
//! [`Client::admin_users_session_list`](crate::Client::admin_users_session_list).

mod borrowed;
pub(crate) mod pool;
mod reader;

use std::fmt;

use bytes::Bytes;
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
    text: pool::PageText,
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
            (self.extra.as_str(), s.start & !ESCAPED)
        } else {
            (self.text.as_str(), s.start)
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
            Some(page) => Ok(SessionPage {
                text: text.into(),
                ..page
            }),
            None => Err(Bytes::from(text.into_bytes())),
        }
    }

    /// Hands the body's buffer to `pool` when this page is dropped (see [`pool`]).
    pub(crate) fn return_to(&mut self, pool: std::sync::Arc<pool::BodyPool>) {
        self.text.return_to(pool);
    }

    /// An `ok:true` page of `text`, all but `text` itself (its spans point into it).
    fn decode_text(text: &str) -> Option<SessionPage> {
        reader::read(text).or_else(|| Self::decode_serde(text))
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

#[cfg(test)]
mod tests;
