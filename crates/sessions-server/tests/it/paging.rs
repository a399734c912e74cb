//! Cursors: opaque, signed, bound to org and filter; keyset pages stay stable under writes.

use std::collections::BTreeSet;

use sessions_client::ListRequest;

use crate::support::*;
use sessions_store::testing::PlainWrites;

async fn page(s: &Server, token: &str, form: &[(&str, &str)]) -> Resp {
    let r = s
        .post_form("admin.users.session.list", Some(token), form)
        .await;
    r.slack();
    r
}

fn ids(r: &Resp) -> Vec<u64> {
    r.body["active_sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["session_id"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn next_cursor_is_always_present_and_empty_on_the_last_page() {
    let s = start().await;
    let r = page(&s, ADMIN, &[]).await;
    assert_eq!(r.body["response_metadata"]["next_cursor"], "");
    let r = page(&s, ADMIN, &[("limit", "2")]).await;
    let c = r.body["response_metadata"]["next_cursor"].as_str().unwrap();
    assert!(!c.is_empty());
    assert!(
        c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "URL-safe: {c}"
    );
}

#[tokio::test]
async fn tampered_foreign_and_refiltered_cursors_are_refused() {
    let s = start().await;
    let r = page(&s, ADMIN, &[("limit", "2")]).await;
    let cursor = r.body["response_metadata"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();

    // flip a character in the middle
    let mut bytes = cursor.clone().into_bytes();
    let i = bytes.len() / 2;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    for bad in [
        tampered.as_str(),
        "garbage",
        "5c3e53d5",
        "%%%",
        &cursor[..cursor.len() - 4],
    ] {
        let r = page(&s, ADMIN, &[("cursor", bad)]).await;
        assert_eq!(r.error(), "invalid_cursor", "{bad}: {}", r.text);
        assert!(
            r.messages()[0].starts_with("[ERROR] cursor"),
            "{:?}",
            r.messages()
        );
    }
    // another org's admin presenting Acme's cursor
    let r = page(&s, OTHER_ADMIN, &[("cursor", &cursor)]).await;
    assert_eq!(r.error(), "invalid_cursor");
    assert!(
        r.messages()[0].contains("another organization"),
        "{:?}",
        r.messages()
    );
    // the same cursor with a different filter
    let r = page(
        &s,
        ADMIN,
        &[("cursor", &cursor), ("team_id", "T1"), ("user_id", "WDANA")],
    )
    .await;
    assert_eq!(r.error(), "invalid_cursor");
    assert!(r.messages()[0].contains("filter"), "{:?}", r.messages());
    // the genuine one still works
    let r = page(&s, ADMIN, &[("cursor", &cursor), ("limit", "2")]).await;
    assert_eq!(ids(&r), vec![103, 104]);
}

#[tokio::test]
async fn cursors_survive_a_restart_because_the_key_is_the_stores() {
    let s = start().await;
    let r = page(&s, ADMIN, &[("limit", "3")]).await;
    let cursor = r.body["response_metadata"]["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let dir = s.stop().await;
    let s = reopen(dir, options()).await;
    let r = page(&s, ADMIN, &[("cursor", &cursor), ("limit", "3")]).await;
    assert_eq!(ids(&r), vec![104, 105, 106]);
}

#[tokio::test]
async fn pages_never_skip_or_repeat_while_sessions_come_and_go() {
    let s = start().await;
    // grow the org to 40 sessions
    let mut created = Vec::new();
    for i in 0..33 {
        let user = if i % 2 == 0 { "WDANA" } else { "WSAM" };
        created.push(s.sign_in("E1", user, "T1", "web").await.0);
    }
    let c = s.client(ADMIN);
    let mut seen = Vec::new();
    let mut removed = BTreeSet::new();
    let mut added = BTreeSet::new();
    let mut cursor: Option<String> = None;
    let mut round = 0;
    loop {
        let mut req = ListRequest::org().limit(7);
        req.cursor = cursor.clone();
        let p = c.admin_users_session_list(req).await.unwrap();
        seen.extend(p.active_sessions.iter().map(|a| a.session_id.0));
        // between pages: remove one not yet seen and one already seen, add one
        round += 1;
        if let Some(&victim) = created
            .iter()
            .rev()
            .find(|id| !seen.contains(id) && !removed.contains(*id))
        {
            s.store
                .invalidate_session("E1", victim, sessions_server::Clock::system().now())
                .await
                .unwrap();
            removed.insert(victim);
        }
        if let Some(&old) = seen.first() {
            if round == 2 {
                s.store
                    .invalidate_session("E1", old, sessions_server::Clock::system().now())
                    .await
                    .unwrap();
            }
        }
        added.insert(s.sign_in("E1", "WDANA", "T1", "ios").await.0);
        match p.next_cursor() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let unique: BTreeSet<u64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no session listed twice");
    let mut sorted = seen.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, seen, "ascending across pages");
    // everything that existed throughout and was never removed was listed
    for id in [101u64, 102, 103, 104, 105, 106, 107]
        .iter()
        .chain(created.iter())
    {
        if !removed.contains(id) {
            assert!(unique.contains(id), "session {id} was skipped");
        }
    }
    // nothing removed before its page was listed
    for id in &removed {
        assert!(!unique.contains(id), "removed session {id} was listed");
    }
    assert!(!added.is_empty());
}
