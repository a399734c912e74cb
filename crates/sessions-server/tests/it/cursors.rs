//! Cursors cannot be forged (any bit flip, truncation or extension, a cursor re-signed with
//! another key, one from another server) nor moved between orgs or filters — over HTTP, against
//! cursors the server really issued.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sessions_server::cursor::{encode, CursorState};

use crate::support::*;

async fn list(s: &Server, token: &str, form: &[(&str, &str)]) -> Resp {
    let r = s
        .post_form("admin.users.session.list", Some(token), form)
        .await;
    r.slack();
    r
}

fn next(r: &Resp) -> String {
    let c = r.body["response_metadata"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!c.is_empty(), "expected a next page: {}", r.text);
    c
}

fn ids(r: &Resp) -> Vec<u64> {
    r.body["active_sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["session_id"].as_u64().unwrap())
        .collect()
}

/// Asserts `invalid_cursor` with a message naming the cursor, and that nothing was listed.
async fn refused(s: &Server, token: &str, form: &[(&str, &str)], why: &str) -> String {
    let r = list(s, token, form).await;
    assert_eq!(r.error(), "invalid_cursor", "{why}: {}", r.text);
    assert!(r.body.get("active_sessions").is_none(), "{why}: {}", r.text);
    let m = r.messages();
    assert!(m[0].starts_with("[ERROR] cursor"), "{why}: {m:?}");
    m[0].clone()
}

#[tokio::test]
async fn every_single_bit_flip_of_an_issued_cursor_is_refused() {
    let s = start().await;
    let plain = next(&list(&s, ADMIN, &[("limit", "2")]).await);
    let filter = [("team_id", "T1"), ("user_id", "WDANA")];
    let filtered = next(&list(&s, ADMIN, &[("limit", "1"), filter[0], filter[1]]).await);
    for (cursor, extra) in [(&plain, &[][..]), (&filtered, &filter[..])] {
        let raw = URL_SAFE_NO_PAD.decode(cursor).unwrap();
        let mut tried = 0;
        for i in 0..raw.len() {
            for bit in 0..8 {
                let mut b = raw.clone();
                b[i] ^= 1 << bit;
                let bad = URL_SAFE_NO_PAD.encode(&b);
                let mut form = vec![("cursor", bad.as_str())];
                form.extend_from_slice(extra);
                refused(&s, ADMIN, &form, &format!("byte {i} bit {bit}")).await;
                tried += 1;
            }
        }
        assert!(
            tried >= 8 * 40,
            "cursor too short to mean anything: {tried}"
        );
        // The genuine cursor still pages on.
        let mut form = vec![("cursor", cursor.as_str())];
        form.extend_from_slice(extra);
        assert!(!ids(&list(&s, ADMIN, &form).await).is_empty());
    }
}

#[tokio::test]
async fn every_truncation_and_extension_is_refused() {
    let s = start().await;
    let c = next(&list(&s, ADMIN, &[("limit", "2")]).await);
    // Every proper, non-empty prefix (an empty cursor means "first page").
    for n in 1..c.len() {
        refused(&s, ADMIN, &[("cursor", &c[..n])], &format!("prefix {n}")).await;
    }
    for tail in ["A", "AA", "AAAA", "_", "-w", "Zm9v"] {
        refused(&s, ADMIN, &[("cursor", &format!("{c}{tail}"))], tail).await;
    }
    // Raw bytes appended after the tag, re-encoded cleanly.
    let mut raw = URL_SAFE_NO_PAD.decode(&c).unwrap();
    raw.push(0);
    let long = URL_SAFE_NO_PAD.encode(&raw);
    refused(&s, ADMIN, &[("cursor", &long)], "extra byte").await;
}

#[tokio::test]
async fn cursors_signed_with_any_other_key_are_refused() {
    let s = start().await;
    // Well-formed cursors for this org and position, signed with guessed keys.
    for key in [&b""[..], b"secret", b"E1", &[0u8; 32], &[0xffu8; 64]] {
        let forged = encode(
            key,
            &CursorState {
                org_id: "E1".into(),
                filter: None,
                last: 102,
            },
        );
        let m = refused(&s, ADMIN, &[("cursor", &forged)], "guessed key").await;
        assert!(m.contains("signature"), "{m}");
    }
    // A real cursor of another server (its own store, its own secret) for the same org id.
    let other = start().await;
    let foreign = next(&list(&other, ADMIN, &[("limit", "2")]).await);
    let m = refused(&s, ADMIN, &[("cursor", &foreign)], "other server").await;
    assert!(m.contains("signature"), "{m}");
    // Rewriting the org inside a genuine cursor (keeping its tag) breaks the signature.
    let c = next(&list(&s, ADMIN, &[("limit", "2")]).await);
    let mut raw = URL_SAFE_NO_PAD.decode(&c).unwrap();
    // Layout: version, u16 length, org id bytes ("E1").
    assert_eq!(&raw[3..5], b"E1");
    raw[4] = b'2';
    let moved = URL_SAFE_NO_PAD.encode(&raw);
    let m = refused(&s, OTHER_ADMIN, &[("cursor", &moved)], "org rewritten").await;
    assert!(m.contains("signature"), "{m}");
}

#[tokio::test]
async fn cursors_do_not_move_between_orgs_or_filters() {
    let s = start().await;
    let plain = next(&list(&s, ADMIN, &[("limit", "2")]).await);
    let dana = [("team_id", "T1"), ("user_id", "WDANA")];
    let filtered = next(&list(&s, ADMIN, &[("limit", "1"), dana[0], dana[1]]).await);

    // Another org's admin, without a filter and with a filter valid in that org (Dana's
    // team does not exist there, which is refused before the cursor is read).
    let homer = [("team_id", "T9"), ("user_id", "W9MEM")];
    for (c, extra) in [(&plain, &[][..]), (&filtered, &homer[..])] {
        let mut form = vec![("cursor", c.as_str())];
        form.extend_from_slice(extra);
        let m = refused(&s, OTHER_ADMIN, &form, "other org").await;
        assert!(m.contains("another organization"), "{m}");
    }
    // A filtered cursor without its filter, with another user, with another team.
    for form in [
        vec![("cursor", filtered.as_str())],
        vec![
            ("cursor", filtered.as_str()),
            ("team_id", "T1"),
            ("user_id", "WSAM"),
        ],
        vec![
            ("cursor", filtered.as_str()),
            ("team_id", "T2"),
            ("user_id", "WDANA"),
        ],
    ] {
        let m = refused(&s, ADMIN, &form, "other filter").await;
        assert!(m.contains("filter"), "{m}");
    }
    // An unfiltered cursor with a filter.
    let m = refused(
        &s,
        ADMIN,
        &[("cursor", &plain), dana[0], dana[1]],
        "filter added",
    )
    .await;
    assert!(m.contains("filter"), "{m}");
    // Other admins of the same org may use it: a cursor is bound to the org, not the token.
    let r = list(&s, OWNER, &[("cursor", &plain), ("limit", "2")]).await;
    assert_eq!(ids(&r), vec![103, 104]);
    // And the filtered one continues Dana's listing only.
    let r = list(&s, ADMIN, &[("cursor", &filtered), dana[0], dana[1]]).await;
    assert!(!ids(&r).is_empty());
    assert!(
        ids(&r).iter().all(|id| [101, 102, 103].contains(id)),
        "{}",
        r.text
    );
}
