//! Concurrent writers over HTTP on overlapping users: resets, invalidations and settings changes
//! at once. No request fails (no deadlock surfaces as `internal_error`), no update is lost, and
//! every `ok:true` is reflected in the final state. Runs on both backends (see `support`).

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::Value;

use crate::support::*;

const USERS: u64 = 8;
const CLIENTS: [&str; 4] = ["desktop", "web", "ios", "android"];
const ROUNDS: u64 = 15;

fn sid(user: u64, client: usize) -> u64 {
    1000 + user * 4 + client as u64
}

fn token(user: u64, client: usize) -> String {
    format!("xoxc-cc-{user}-{}", CLIENTS[client])
}

/// Org E1: an admin, and members W00..W07 with one session per client kind each.
fn fixture() -> String {
    let mut users =
        vec![serde_json::json!({"id":"WADMIN","name":"adam","role":"admin","teams":["T1"]})];
    let mut sessions = Vec::new();
    for u in 0..USERS {
        users.push(
            serde_json::json!({"id": format!("W{u:02}"), "name": format!("user{u}"),
            "role": "member", "teams": ["T1"]}),
        );
        for (c, client) in CLIENTS.iter().enumerate() {
            sessions.push(
                serde_json::json!({"session_id": sid(u, c), "user": format!("W{u:02}"),
                "team": "T1", "client": client, "token": token(u, c),
                "created": {"os": "Linux"}}),
            );
        }
    }
    serde_json::json!({"orgs":[{"id":"E1","name":"Acme","teams":[{"id":"T1","name":"Eng"}],
        "users": users,
        "tokens":[{"token": ADMIN, "user":"WADMIN","type":"user",
            "scopes":["admin.users:read","admin.users:write"]}],
        "sessions": sessions}]})
    .to_string()
}

/// POSTs and returns the body; anything but HTTP 200 with `ok` present fails the test.
async fn call(s: &Server, method: &str, form: &[(&str, &str)]) -> Value {
    let r = s.post_form(method, Some(ADMIN), form).await;
    r.slack();
    r.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_resets_invalidations_and_settings_changes_on_overlapping_users() {
    let s = Arc::new(start_with(options(), Some(&fixture())).await);
    let mut tasks = tokio::task::JoinSet::new();

    // Duration writers: writer k owns users 2k and 2k+1 and writes them together, in turn, so
    // its last value is the final one unless an update is lost.
    for k in 0..USERS / 2 {
        let s = s.clone();
        tasks.spawn(async move {
            let users = format!("W{:02},W{:02}", 2 * k, 2 * k + 1);
            for r in 0..ROUNDS {
                let d = (28_800 + r * 10 + k).to_string();
                let b = call(
                    &s,
                    "admin.users.session.setSettings",
                    &[("user_ids", &users), ("duration", &d)],
                )
                .await;
                assert_eq!(b["ok"], true, "{b}");
            }
            Vec::<(u64, usize)>::new()
        });
    }
    // The quit-flag writer: every user in each call, overlapping every duration writer.
    {
        let s = s.clone();
        tasks.spawn(async move {
            let all: Vec<String> = (0..USERS).map(|u| format!("W{u:02}")).collect();
            let all = all.join(",");
            for r in 0..ROUNDS {
                let quit = if r.is_multiple_of(2) { "true" } else { "false" };
                let b = call(
                    &s,
                    "admin.users.session.setSettings",
                    &[("user_ids", &all), ("desktop_app_browser_quit", quit)],
                )
                .await;
                assert_eq!(b["ok"], true, "{b}");
            }
            Vec::new()
        });
    }
    // Two invalidators race on the desktop and web sessions of W00..W03, in opposite orders;
    // each reports the sessions it was told it ended.
    for backwards in [false, true] {
        let s = s.clone();
        tasks.spawn(async move {
            let mut targets: Vec<(u64, usize)> =
                (0..4).flat_map(|u| [(u, 0usize), (u, 1)]).collect();
            if backwards {
                targets.reverse();
            }
            let mut ended = Vec::new();
            for (u, c) in targets {
                let (id, user) = (sid(u, c).to_string(), format!("W{u:02}"));
                let b = call(
                    &s,
                    "admin.users.session.invalidate",
                    &[("session_id", &id), ("user_id", &user)],
                )
                .await;
                if b["ok"] == true {
                    ended.push((u, c));
                } else {
                    assert_eq!(b["error"], "session_not_found", "{b}");
                }
            }
            ended
        });
    }
    // Resets, two tasks each, on users the other writers also touch.
    for (user, scope) in [
        ("W02", Some("mobile_only")),
        ("W04", None),
        ("W05", Some("mobile_only")),
        ("W06", Some("web_only")),
    ] {
        for _ in 0..2 {
            let s = s.clone();
            tasks.spawn(async move {
                for _ in 0..ROUNDS / 3 {
                    let mut form = vec![("user_id", user)];
                    if let Some(flag) = scope {
                        form.push((flag, "true"));
                    }
                    let b = call(&s, "admin.users.session.reset", &form).await;
                    assert_eq!(b["ok"], true, "{b}");
                }
                Vec::new()
            });
        }
    }

    let mut ended = Vec::new();
    while let Some(done) = tasks.join_next().await {
        ended.extend(done.unwrap());
    }
    // Each racing pair of invalidations: exactly one was told it ended the session.
    ended.sort();
    let want: Vec<(u64, usize)> = (0..4).flat_map(|u| [(u, 0usize), (u, 1)]).collect();
    assert_eq!(ended, want);

    // The active sessions are exactly what the acknowledged writes leave.
    let revoked = |u: u64, c: usize| match u {
        0..=3 if c < 2 => true,  // invalidated
        2 | 5 if c >= 2 => true, // mobile_only reset
        4 => true,               // full reset
        6 if c == 1 => true,     // web_only reset
        _ => false,
    };
    let mut expected = BTreeSet::new();
    for u in 0..USERS {
        for c in 0..CLIENTS.len() {
            if !revoked(u, c) {
                expected.insert(sid(u, c));
            }
        }
    }
    let listed = call(&s, "admin.users.session.list", &[("limit", "1000")]).await;
    let listed: BTreeSet<u64> = listed["active_sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["session_id"].as_u64().unwrap())
        .collect();
    assert_eq!(listed, expected);
    for u in 0..USERS {
        for c in 0..CLIENTS.len() {
            let r = s.post_form("auth.test", Some(&token(u, c)), &[]).await;
            if revoked(u, c) {
                assert_eq!(r.error(), "invalid_auth", "{u} {c}: {}", r.text);
            } else {
                assert_eq!(r.body["ok"], true, "{u} {c}: {}", r.text);
            }
        }
    }

    // No settings update was lost: each field holds its writer's last value.
    let all: Vec<String> = (0..USERS).map(|u| format!("W{u:02}")).collect();
    let got = call(
        &s,
        "admin.users.session.getSettings",
        &[("user_ids", &all.join(","))],
    )
    .await;
    let settings = got["session_settings"].as_array().unwrap();
    // W02 and W04 have no active session left, so getSettings leaves them out.
    let with_sessions: Vec<String> = (0..USERS)
        .filter(|u| (0..CLIENTS.len()).any(|c| !revoked(*u, c)))
        .map(|u| format!("W{u:02}"))
        .collect();
    assert_eq!(with_sessions.len(), 6);
    let returned: Vec<&str> = settings
        .iter()
        .map(|st| st["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(returned, with_sessions, "{got}");
    let last_quit = (ROUNDS - 1).is_multiple_of(2);
    for st in settings {
        let u: u64 = st["user_id"].as_str().unwrap()[1..].parse().unwrap();
        let k = u / 2;
        assert_eq!(st["duration"], 28_800 + (ROUNDS - 1) * 10 + k, "{st}");
        assert_eq!(st["desktop_app_browser_quit"], last_quit, "{st}");
    }
}
