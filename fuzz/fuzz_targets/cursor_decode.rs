//! Cursor decoding (list, users.list and audit log cursors): arbitrary text never panics and is
//! never accepted unless it is exactly a cursor this key signed for this org, kind and filter;
//! any change to a genuine cursor is refused.
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use sessions_server::cursor::{
    decode, decode_audit, decode_users, encode, encode_audit, encode_users, CursorState,
};
use sessions_store::AuditFilter;

const KEY: &[u8] = b"fuzz-key";

fuzz_target!(|data: &[u8]| {
    let filter = ("T1".to_owned(), "W1".to_owned());
    // 1. The input as cursor text.
    if let Ok(text) = std::str::from_utf8(data) {
        for f in [None, Some(&filter)] {
            if let Ok(last) = decode(KEY, text, "E1", f) {
                // Accepted only if it is what we would have issued for that position.
                let state = CursorState {
                    org_id: "E1".into(),
                    filter: f.cloned(),
                    last,
                };
                assert_eq!(
                    encode(KEY, &state),
                    text.trim().trim_end_matches('='),
                    "forged cursor accepted"
                );
            }
        }
    }
    // 2. The input XORed onto a genuine cursor, its excess appended: accepted only when
    //    nothing changed.
    let state = CursorState {
        org_id: "E1".into(),
        filter: Some(filter.clone()),
        last: 4242,
    };
    let mut raw = URL_SAFE_NO_PAD.decode(encode(KEY, &state)).unwrap();
    let n = raw.len();
    let unchanged = data.len() <= n && data.iter().all(|b| *b == 0);
    for (r, d) in raw.iter_mut().zip(data) {
        *r ^= d;
    }
    if data.len() > n {
        raw.extend_from_slice(&data[n..]);
    }
    match decode(KEY, &URL_SAFE_NO_PAD.encode(&raw), "E1", Some(&filter)) {
        Ok(last) => assert!(unchanged && last == 4242, "mutated cursor accepted"),
        Err(_) => assert!(!unchanged, "genuine cursor refused"),
    }
    // 4. users.list cursors: the input as cursor text is accepted only if it is exactly what we
    //    issue for the id it carries; never across methods.
    if let Ok(text) = std::str::from_utf8(data) {
        for team in [None, Some("T1")] {
            if let Ok(last) = decode_users(KEY, text, "E1", team) {
                assert_eq!(
                    encode_users(KEY, "E1", team, &last),
                    text.trim().trim_end_matches('='),
                    "forged users cursor accepted"
                );
                assert!(decode(KEY, text, "E1", None).is_err(), "cursor of two methods");
            }
        }
    }
    // 5. Audit log cursors: the input as cursor text is accepted only if it is exactly what we
    //    issue for that org, those filters and that entry id; never as another method's.
    if let Ok(text) = std::str::from_utf8(data) {
        let filtered = AuditFilter {
            action: Some("session_invalidated".into()),
            actor: Some("W1".into()),
            user: None,
            oldest: Some(0),
            latest: Some(i64::MAX),
        };
        for f in [AuditFilter::default(), filtered] {
            if let Ok(last) = decode_audit(KEY, text, "E1", &f) {
                assert_eq!(
                    encode_audit(KEY, "E1", &f, last),
                    text.trim().trim_end_matches('='),
                    "forged audit cursor accepted"
                );
                assert!(decode(KEY, text, "E1", None).is_err(), "cursor of two kinds");
                assert!(decode_users(KEY, text, "E1", None).is_err(), "cursor of two kinds");
            }
        }
    }
    // 6. A genuine audit cursor with the input XORed onto it: accepted only when unchanged,
    //    and never for another org or other filters.
    let f = AuditFilter {
        user: Some("W2".into()),
        ..AuditFilter::default()
    };
    let genuine = encode_audit(KEY, "E1", &f, 77);
    assert!(decode_audit(KEY, &genuine, "E2", &f).is_err(), "foreign org");
    assert!(
        decode_audit(KEY, &genuine, "E1", &AuditFilter::default()).is_err(),
        "other filters"
    );
    let mut raw = URL_SAFE_NO_PAD.decode(&genuine).unwrap();
    let n = raw.len();
    let unchanged = data.len() <= n && data.iter().all(|b| *b == 0);
    for (r, d) in raw.iter_mut().zip(data) {
        *r ^= d;
    }
    if data.len() > n {
        raw.extend_from_slice(&data[n..]);
    }
    match decode_audit(KEY, &URL_SAFE_NO_PAD.encode(&raw), "E1", &f) {
        Ok(last) => assert!(unchanged && last == 77, "mutated audit cursor accepted"),
        Err(_) => assert!(!unchanged, "genuine audit cursor refused"),
    }
    // 3. Signed with another key: never accepted.
    let forged = encode(
        b"other-key",
        &CursorState {
            org_id: "E1".into(),
            filter: None,
            last: data.len() as u64,
        },
    );
    assert!(decode(KEY, &forged, "E1", None).is_err());
});
