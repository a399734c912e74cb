//! The scan decoder against the ordinary one: same sessions, same cursor, same fallbacks.

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
        text: text.to_owned().into(),
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

/// Keys are tried in the order the server writes them; any other order, whitespace around the
/// colon or a key the guess skips over is read the long way, with the same result.
#[test]
fn the_key_order_is_a_guess_not_a_requirement() {
    let usual = r#"{"ok":true,"active_sessions":[{"user_id":"W1","team_id":"T1","session_id":7,"created":{"device_hardware":"Mac","os":"macOS","os_version":"14","slack_client_version":"4.41.0","ip":"10.0.0.1"},"recent":{"device_hardware":"Mac","os":"macOS","os_version":"14","slack_client_version":"4.41.1","ip":"10.0.0.2"}}],"response_metadata":{"next_cursor":"c1"}}"#;
    let reordered = r#"{"response_metadata" : {"next_cursor":"c1"},"active_sessions":[{"recent":{"ip":"10.0.0.2","slack_client_version":"4.41.1","os_version":"14","os":"macOS","device_hardware":"Mac"},"created" :{"ip":"10.0.0.1","os":"macOS","device_hardware":"Mac","slack_client_version":"4.41.0","os_version":"14"},"session_id":7,"team_id":"T1", "user_id" :"W1"}], "ok":true}"#;
    let skipping = r#"{"ok":true,"active_sessions":[{"user_id":"W1","session_id":7,"team_id":"T1","extra":{"os":"not this one"},"created":{"os":"macOS","ip":"10.0.0.1","device_hardware":"Mac","os_version":"14","slack_client_version":"4.41.0"},"recent":{"device_hardware":"Mac","ip":"10.0.0.2","os":"macOS","os_version":"14","slack_client_version":"4.41.1"}}],"response_metadata":{"next_cursor":"c1"}}"#;
    let want = resolved(usual, reader::read(usual).unwrap());
    assert_eq!(want.1.as_deref(), Some("c1"));
    assert_eq!(
        want.0[0].recent.as_ref().unwrap().ip.as_deref(),
        Some("10.0.0.2")
    );
    for body in [reordered, skipping] {
        assert!(reader_agrees(body).unwrap(), "{body}");
        assert_eq!(resolved(body, reader::read(body).unwrap()), want, "{body}");
    }
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
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
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
