//! A hand-written reader for exactly one JSON shape: a successful `admin.users.session.list`
//! page.
//!
//! Hand-written because it makes the org scan faster. With serde_json borrowing every string
//! (the path in the parent module), parsing was still about 40% of the CPU of scanning a
//! 1,000,000-session org (1.38 µs per session for the client scan, against 7.72 µs for Python
//! slack_sdk; the goal is 10x). serde's derived visitors dispatch on every key through a
//! generic map access and validate each string twice; this reader walks the bytes once,
//! matches the handful of keys the scan needs, and records string positions directly.
//!
//! Keys are matched in the order our server (and Slack) writes them: the reader first tries the
//! key it expects next as one literal (`"os":`, quotes and colon included) and only reads the
//! key as a string and looks it up when that fails, so a page in the usual order costs one
//! comparison per key instead of a string scan and a lookup. The order is a guess, never a
//! requirement: any order decodes the same.
//!
//! It accepts strictly less than the serde path: any escape in a string (a key, a value, an
//! ignored value), a session id that is not a plain non-negative integer, a duplicate known
//! key, deep nesting, or anything else unexpected makes it give up (`None`), and the caller
//! decodes the page the serde way. So an answer never depends on this reader; it only ever
//! returns what the serde path would have returned (tested property-wise in the parent).

use super::{Packed, PackedDevice, SessionPage, Span, ESCAPED};

/// Ignored values may nest this deep before the reader gives up (serde_json's own limit is
/// 128 levels in all).
const MAX_DEPTH: u32 = 64;

/// A device object without any of the known fields.
const NO_DEVICE: PackedDevice = PackedDevice {
    device_hardware: Span::NONE,
    os: Span::NONE,
    os_version: Span::NONE,
    slack_client_version: Span::NONE,
    ip: Span::NONE,
};

/// A session before its fields are read.
const NO_SESSION: Packed = Packed {
    session_id: 0,
    user_id: Span::NONE,
    team_id: Span::NONE,
    created: NO_DEVICE,
    recent: None,
};

/// The keys of one object the reader knows, in the order they are expected, each written as it
/// appears before its value: quoted, with the colon.
type Keys = [&'static [u8]];

const PAGE_KEYS: &Keys = &[
    br#""ok":"#,
    br#""active_sessions":"#,
    br#""response_metadata":"#,
];
const METADATA_KEYS: &Keys = &[br#""next_cursor":"#];
const SESSION_KEYS: &Keys = &[
    br#""user_id":"#,
    br#""team_id":"#,
    br#""session_id":"#,
    br#""created":"#,
    br#""recent":"#,
];
const DEVICE_KEYS: &Keys = &[
    br#""device_hardware":"#,
    br#""os":"#,
    br#""os_version":"#,
    br#""slack_client_version":"#,
    br#""ip":"#,
];

/// The name inside a [`Keys`] entry: `"os":` -> `os`.
fn key_name(entry: &[u8]) -> &[u8] {
    &entry[1..entry.len() - 2]
}

/// Where the first `"`, `\\` or control character of `rest` is.
///
/// Eight bytes at a time (SWAR): string scanning was the reader's largest single cost, and
/// the byte-at-a-time loop tested three conditions per byte. Each test below flags the high
/// bit of a matching byte; a borrow can also flag bytes *after* a real match, never before
/// one, so the lowest flagged byte is the first match.
fn string_end(rest: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut chunks = rest.chunks_exact(8);
    let mut at = 0;
    for chunk in chunks.by_ref() {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let quote = w ^ (ONES * u64::from(b'"'));
        let backslash = w ^ (ONES * u64::from(b'\\'));
        let found = (quote.wrapping_sub(ONES) & !quote
            | backslash.wrapping_sub(ONES) & !backslash
            | w.wrapping_sub(ONES * 0x20) & !w)
            & HIGHS;
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|p| at + p)
}

/// The page of `text`, all but `text` itself, or `None` to leave it to the serde path.
pub(super) fn read(text: &str) -> Option<SessionPage> {
    if text.len() >= ESCAPED as usize {
        return None;
    }
    let mut r = Reader {
        b: text.as_bytes(),
        i: 0,
    };
    let mut ok = false;
    let mut seen = Seen::default();
    let mut sessions = Vec::new();
    let mut next_cursor = Span::NONE;
    r.object(PAGE_KEYS, |r, key| match key {
        Some(0) => {
            seen.once(0)?;
            ok = r.literal(b"true").is_some();
            ok.then_some(())
        }
        Some(1) => {
            seen.once(1)?;
            r.array(|r| {
                // Read in place: the records are too big to move around cheaply.
                sessions.push(NO_SESSION);
                r.session(sessions.last_mut()?)
            })
        }
        Some(_) => {
            seen.once(2)?;
            if r.null() {
                return Some(());
            }
            let mut seen = Seen::default();
            r.object(METADATA_KEYS, |r, key| match key {
                Some(_) => {
                    seen.once(0)?;
                    next_cursor = r.opt_str()?;
                    Some(())
                }
                None => r.skip(3),
            })
        }
        None => r.skip(2),
    })?;
    r.ws();
    if r.i != r.b.len() || !ok {
        return None;
    }
    let next_cursor = (next_cursor.len != Span::NONE.len).then(|| {
        let start = next_cursor.start as usize;
        text[start..start + next_cursor.len as usize].to_owned()
    });
    Some(SessionPage {
        text: Default::default(),
        extra: String::new(),
        sessions,
        next_cursor,
    })
}

/// Which known keys of one object were seen (serde rejects a duplicate field).
#[derive(Default)]
struct Seen(u8);

impl Seen {
    /// Whether every key in `mask` was seen.
    fn all(&self, mask: u8) -> Option<()> {
        (self.0 & mask == mask).then_some(())
    }

    fn once(&mut self, bit: u8) -> Option<()> {
        let m = 1 << bit;
        if self.0 & m != 0 {
            return None;
        }
        self.0 |= m;
        Some(())
    }
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Reader<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    /// The next byte after whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        if self.peek()? != c {
            return None;
        }
        self.i += 1;
        Some(())
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.ws();
        if !self.b[self.i..].starts_with(word) {
            return None;
        }
        self.i += word.len();
        Some(())
    }

    /// Consumes a `null` if one is next.
    fn null(&mut self) -> bool {
        self.literal(b"null").is_some()
    }

    /// A string without escapes or control characters: its content's position.
    fn str(&mut self) -> Option<Span> {
        self.eat(b'"')?;
        let start = self.i;
        let rest = self.b.get(start..)?;
        let len = string_end(rest)?;
        if rest[len] != b'"' {
            return None;
        }
        self.i = start + len + 1;
        Some(Span {
            start: start as u32,
            len: len as u32,
        })
    }

    /// `null` (as [`Span::NONE`]) or a string.
    fn opt_str(&mut self) -> Option<Span> {
        if self.peek()? == b'"' {
            self.str()
        } else if self.null() {
            Some(Span::NONE)
        } else {
            None
        }
    }

    /// An object, each key (without escapes) handed to `field` with the reader before the
    /// value: `Some(k)` for `keys[k]`, `None` for any other key.
    fn object(
        &mut self,
        keys: &Keys,
        mut field: impl FnMut(&mut Self, Option<usize>) -> Option<()>,
    ) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        // The key expected next: the one after the last known key.
        let mut next = 0;
        loop {
            let key = match keys.get(next) {
                Some(entry) if self.b[self.i..].starts_with(entry) => {
                    self.i += entry.len();
                    Some(next)
                }
                _ => {
                    let key = self.str()?;
                    self.eat(b':')?;
                    let name = &self.b[key.start as usize..(key.start + key.len) as usize];
                    keys.iter().position(|entry| key_name(entry) == name)
                }
            };
            if let Some(k) = key {
                next = k + 1;
            }
            field(self, key)?;
            match self.peek()? {
                b',' => {
                    self.i += 1;
                    self.ws();
                }
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn array(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        if self.peek()? == b']' {
            self.i += 1;
            return Some(());
        }
        loop {
            item(self)?;
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Any value, checked against the JSON grammar and dropped (`depth`: how deep it is).
    fn skip(&mut self, depth: u32) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => self.str().map(drop),
            b'{' => self.object(&[], |r, _| r.skip(depth + 1)),
            b'[' => self.array(|r| r.skip(depth + 1)),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn digits(&mut self) -> usize {
        let n = self.b[self.i..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        self.i += n;
        n
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, as JSON has it.
    fn number(&mut self) -> Option<()> {
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.b.get(self.i)? {
            b'0' => self.i += 1,
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.b.get(self.i) {
            self.i += 1;
            if let Some(b'+' | b'-') = self.b.get(self.i) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(())
    }

    /// A session id as a plain integer that fits a `u64` (anything else: the serde path).
    fn session_id(&mut self) -> Option<u64> {
        self.ws();
        let start = self.i;
        let n = self.digits();
        let digits = &self.b[start..start + n];
        if n == 0 || (n > 1 && digits[0] == b'0') {
            return None;
        }
        if let Some(b'.' | b'e' | b'E') = self.b.get(self.i) {
            return None;
        }
        digits.iter().try_fold(0u64, |v, d| {
            v.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
    }

    /// A device object, into `d` (which starts as [`NO_DEVICE`]).
    fn device(&mut self, d: &mut PackedDevice) -> Option<()> {
        let mut seen = Seen::default();
        self.object(DEVICE_KEYS, |r, key| {
            let slot = match key {
                Some(0) => &mut d.device_hardware,
                Some(1) => &mut d.os,
                Some(2) => &mut d.os_version,
                Some(3) => &mut d.slack_client_version,
                Some(_) => &mut d.ip,
                None => return r.skip(5),
            };
            seen.once(key? as u8)?;
            *slot = r.opt_str()?;
            Some(())
        })
    }

    /// A session, into `p` (which starts as [`NO_SESSION`]). `user_id`, `team_id` and
    /// `session_id` are required, as in the wire type.
    fn session(&mut self, p: &mut Packed) -> Option<()> {
        let mut seen = Seen::default();
        self.object(SESSION_KEYS, |r, key| {
            match key {
                Some(0) => {
                    seen.once(0)?;
                    p.user_id = r.str()?;
                }
                Some(1) => {
                    seen.once(1)?;
                    p.team_id = r.str()?;
                }
                Some(2) => {
                    seen.once(2)?;
                    p.session_id = r.session_id()?;
                }
                Some(3) => {
                    seen.once(3)?;
                    r.device(&mut p.created)?;
                }
                Some(_) => {
                    seen.once(4)?;
                    if !r.null() {
                        r.device(p.recent.insert(NO_DEVICE))?;
                    }
                }
                None => r.skip(4)?,
            }
            Some(())
        })?;
        seen.all(0b111)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::string_end;

    fn bytewise(rest: &[u8]) -> Option<usize> {
        rest.iter()
            .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
    }

    proptest! {
        #[test]
        fn string_end_agrees_with_a_byte_at_a_time_scan(
            bytes in proptest::collection::vec(
                prop_oneof![Just(b'"'), Just(b'\\'), 0u8..0x20, 0x20u8..0x80, 0x80u8..=0xff],
                0..40,
            )
        ) {
            prop_assert_eq!(string_end(&bytes), bytewise(&bytes));
        }

        #[test]
        fn string_end_finds_the_first_match_after_plain_text(
            plain in "[ -!#-\\[\\]-~]{0,30}",
            stop in prop_oneof![Just(b'"'), Just(b'\\'), 0u8..0x20],
            tail in proptest::collection::vec(any::<u8>(), 0..20),
        ) {
            let mut bytes = plain.into_bytes();
            let want = bytes.len();
            bytes.push(stop);
            bytes.extend(tail);
            prop_assert_eq!(string_end(&bytes), Some(want));
        }
    }
}
