//! The request log: a bounded ring of recent calls, arguments redacted.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What replaces a secret argument's value.
pub const REDACTED: &str = "[redacted]";

/// Whether an argument carries a secret (`token`, `*_token`, `client_secret`, `*_secret`).
pub fn is_secret(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "token" || n.ends_with("_token") || n.ends_with("secret") || n == "password"
}

/// Replaces every secret argument's value with [`REDACTED`], and anything shaped like a Slack
/// token (see [`redact_text`]) wherever it appears: in any argument, nested at any depth in
/// JSON values, in array items and in object keys.
pub fn redact(args: &mut Map<String, Value>) {
    for (name, mut value) in std::mem::take(args) {
        if is_secret(&name) {
            value = Value::String(REDACTED.to_owned());
        } else {
            redact_value(&mut value);
        }
        args.insert(redact_text(&name).into_owned(), value);
    }
}

fn redact_value(value: &mut Value) {
    match value {
        Value::String(s) => {
            if let std::borrow::Cow::Owned(clean) = redact_text(s) {
                *s = clean;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        Value::Object(map) => redact(map),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Length of the Slack token prefix at the start of `b`, if one is there: `xox` and one letter
/// and `-` (`xoxp-`, `xoxb-`, `xoxc-`, `xoxd-`, `xoxe-`, ...), or `xapp-`; ASCII case ignored.
fn token_prefix(b: &[u8]) -> Option<usize> {
    let lower = |i: usize| b.get(i).map(u8::to_ascii_lowercase);
    match (lower(0)?, lower(1)?, lower(2)?, lower(3)?, lower(4)?) {
        (b'x', b'o', b'x', l, b'-') if l.is_ascii_lowercase() => Some(5),
        (b'x', b'a', b'p', b'p', b'-') => Some(5),
        _ => None,
    }
}

/// `text` with every Slack-token-shaped run (a [`token_prefix`] and the letters, digits, `-`,
/// `_` and `.` that follow it) replaced by [`REDACTED`]; borrowed when there is none.
pub fn redact_text(text: &str) -> std::borrow::Cow<'_, str> {
    let b = text.as_bytes();
    let mut out: Option<String> = None;
    let (mut i, mut copied) = (0, 0);
    while i < b.len() {
        let Some(p) = token_prefix(&b[i..]) else {
            i += 1;
            continue;
        };
        let mut end = i + p;
        while end < b.len() && (b[end].is_ascii_alphanumeric() || b"-_.".contains(&b[end])) {
            end += 1;
        }
        // Both ends are ASCII bytes, so they are character boundaries.
        let o = out.get_or_insert_with(String::new);
        o.push_str(&text[copied..i]);
        o.push_str(REDACTED);
        copied = end;
        i = end;
    }
    match out {
        None => std::borrow::Cow::Borrowed(text),
        Some(mut o) => {
            o.push_str(&text[copied..]);
            std::borrow::Cow::Owned(o)
        }
    }
}

/// One logged call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Sequence number, increasing from 1 (also across clears), for `?after=` polling.
    pub id: u64,
    /// The Web API method (`admin.users.session.list`).
    pub method: String,
    /// The HTTP verb (`POST`, `GET`).
    pub http_method: String,
    /// Arguments from the query string and the body, secrets redacted. A name given several
    /// times maps to an array of its values. JSON bodies keep their JSON values.
    pub args: Map<String, Value>,
    /// Whether the body was too large to capture (then `args` holds only the query string).
    #[serde(default)]
    pub args_truncated: bool,
    /// `ok`, the `error` code of the answer, `dropped` when the connection was closed without
    /// an answer, or `unknown` when the answer was not a Slack JSON body.
    pub answer: String,
    /// The HTTP status sent; `None` when the connection was dropped.
    pub status: Option<u16>,
    /// The injected fault(s), e.g. `#3 error invalid_auth`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
    /// When the call arrived, unix seconds on the emulator's clock.
    pub time: i64,
    /// `time` as RFC 3339 UTC.
    pub time_rfc3339: String,
    /// Milliseconds from arrival until the answer was ready (injected delays included).
    pub duration_ms: u64,
}

/// Which records to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    /// Only this method.
    #[serde(default)]
    pub method: Option<String>,
    /// Only records with an id greater than this.
    #[serde(default)]
    pub after: Option<u64>,
    /// At most this many (the newest ones).
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug)]
struct Inner {
    records: VecDeque<RequestRecord>,
    capacity: usize,
    next_id: u64,
}

/// A ring buffer of recent calls. Cloning shares the buffer.
#[derive(Debug, Clone)]
pub struct RequestLog {
    inner: Arc<Mutex<Inner>>,
}

impl RequestLog {
    /// A log keeping the newest `capacity` calls (0 keeps none).
    pub fn new(capacity: usize) -> RequestLog {
        RequestLog {
            inner: Arc::new(Mutex::new(Inner {
                records: VecDeque::with_capacity(capacity.min(1024)),
                capacity,
                next_id: 1,
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends a record, assigning its `id` (the given one is ignored) and evicting the oldest
    /// when full. Redacts secret arguments again, so a caller cannot log one by mistake.
    /// Returns the assigned id.
    pub fn record(&self, mut record: RequestRecord) -> u64 {
        redact(&mut record.args);
        let mut inner = self.lock();
        let id = inner.next_id;
        inner.next_id += 1;
        if inner.capacity == 0 {
            return id;
        }
        record.id = id;
        while inner.records.len() >= inner.capacity {
            inner.records.pop_front();
        }
        inner.records.push_back(record);
        id
    }

    /// Matching records, oldest first (newest last); with `limit`, the newest `limit` of them.
    pub fn list(&self, query: &LogQuery) -> Vec<RequestRecord> {
        let inner = self.lock();
        let matching: Vec<&RequestRecord> = inner
            .records
            .iter()
            .filter(|r| query.method.as_ref().is_none() || query.method.as_ref() == Some(&r.method))
            .filter(|r| query.after.is_none() || query.after < Some(r.id))
            .collect();
        let skip = query.limit.map_or(0, |l| matching.len().saturating_sub(l));
        matching.into_iter().skip(skip).cloned().collect()
    }

    /// Forgets every record (ids keep increasing).
    pub fn clear(&self) {
        self.lock().records.clear();
    }

    /// Records held.
    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity.
    pub fn capacity(&self) -> usize {
        self.lock().capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shaped_text_is_redacted_anywhere() {
        for (text, want) in [
            ("xoxp-1-abc", "[redacted]"),
            ("see xoxb-12-34.x_y, then", "see [redacted], then"),
            ("a XOXC-up b xapp-1-A c", "a [redacted] b [redacted] c"),
            ("xoxe.xoxp-1-2", "xoxe.[redacted]"),
            ("prefix-xoxd-", "prefix-[redacted]"),
            ("é xoxa-ü", "é [redacted]ü"),
            ("xox-1 xoxpp-1 xo xoxp", "xox-1 xoxpp-1 xo xoxp"),
            ("", ""),
        ] {
            assert_eq!(redact_text(text), want, "{text}");
        }
        assert!(matches!(
            redact_text("plain W123"),
            std::borrow::Cow::Borrowed(_)
        ));
        let mut args = serde_json::json!({
            "token": "anything",
            "a": {"b": ["x", {"c": "xoxp-deep"}], "xoxb-key": true},
            "n": 3,
        });
        redact(args.as_object_mut().unwrap());
        assert_eq!(
            args,
            serde_json::json!({
                "token": REDACTED,
                "a": {"b": ["x", {"c": REDACTED}], REDACTED: true},
                "n": 3,
            })
        );
    }

    proptest::proptest! {
        /// Redaction never panics, keeps text without a token prefix as it is, and leaves no
        /// token prefix behind.
        #[test]
        fn redaction_is_total(text in "(\\PC|xox[a-z]-|xapp-){0,40}") {
            let out = redact_text(&text);
            let lower = out.to_ascii_lowercase();
            for i in 0..lower.len() {
                proptest::prop_assert!(token_prefix(&lower.as_bytes()[i..]).is_none(), "{out}");
            }
            if !out.contains(REDACTED) {
                proptest::prop_assert_eq!(out.as_ref(), text.as_str());
            }
        }
    }

    fn rec(method: &str) -> RequestRecord {
        RequestRecord {
            id: 0,
            method: method.to_owned(),
            http_method: "POST".into(),
            args: Map::new(),
            args_truncated: false,
            answer: "ok".into(),
            status: Some(200),
            fault: None,
            time: 0,
            time_rfc3339: String::new(),
            duration_ms: 0,
        }
    }

    #[test]
    fn ring_keeps_the_newest() {
        let log = RequestLog::new(3);
        for m in ["a", "b", "c", "d"] {
            log.record(rec(m));
        }
        let all = log.list(&LogQuery::default());
        assert_eq!(
            all.iter().map(|r| r.method.as_str()).collect::<Vec<_>>(),
            ["b", "c", "d"]
        );
        assert_eq!(all.iter().map(|r| r.id).collect::<Vec<_>>(), [2, 3, 4]);
    }

    #[test]
    fn filters_and_limits() {
        let log = RequestLog::new(10);
        for m in ["a", "b", "a", "a"] {
            log.record(rec(m));
        }
        let q = LogQuery {
            method: Some("a".into()),
            limit: Some(2),
            after: None,
        };
        assert_eq!(
            log.list(&q).iter().map(|r| r.id).collect::<Vec<_>>(),
            [3, 4]
        );
        let q = LogQuery {
            after: Some(2),
            ..Default::default()
        };
        assert_eq!(
            log.list(&q).iter().map(|r| r.id).collect::<Vec<_>>(),
            [3, 4]
        );
        log.clear();
        assert!(log.is_empty());
        assert_eq!(log.record(rec("a")), 5);
    }

    #[test]
    fn record_redacts_secrets() {
        let log = RequestLog::new(1);
        let mut r = rec("auth.test");
        r.args.insert("token".into(), "xoxp-secret".into());
        r.args.insert("refresh_token".into(), "xoxe-1".into());
        r.args.insert("client_secret".into(), "s".into());
        r.args.insert("team_id".into(), "T1".into());
        log.record(r);
        let got = &log.list(&LogQuery::default())[0];
        assert_eq!(got.args["token"], REDACTED);
        assert_eq!(got.args["refresh_token"], REDACTED);
        assert_eq!(got.args["client_secret"], REDACTED);
        assert_eq!(got.args["team_id"], "T1");
    }

    #[test]
    fn zero_capacity_keeps_nothing() {
        let log = RequestLog::new(0);
        log.record(rec("a"));
        assert!(log.is_empty());
    }
}
