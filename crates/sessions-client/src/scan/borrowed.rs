//! The serde_json path of the scan decoder: pages the hand-written [`reader`](super::reader)
//! leaves alone (unusual key order, unexpected values) are decoded here, borrowing strings
//! from the body the same way and copying only escaped ones into the side buffer.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use sessions_wire::SessionId;

use super::{Packed, PackedDevice, SessionPage, Span, ABSENT, ESCAPED};

impl SessionPage {
    /// [`SessionPage::decode_text`] the serde way, for pages the reader leaves alone.
    pub(super) fn decode_serde(text: &str) -> Option<SessionPage> {
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
            text: Default::default(),
            extra: spans.extra,
            sessions,
            next_cursor,
        })
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
