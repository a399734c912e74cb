//! The conformance suite: generic over the backend.
//!
//! Each `pub async fn` takes a fresh, empty store and asserts the behaviour documented on the
//! [`Store`] trait. A backend runs the whole suite with
//! `crate::conformance::conformance_tests!(make_store().await);`, which expands to one
//! `#[tokio::test]` per body.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use sessions_store::*;

pub use crate::audit_conformance::*;
pub use crate::directory_conformance::*;

/// The time every test runs at (the store never reads a clock for these semantics).
pub const NOW: UnixTime = 1_700_000_000;
const DAY: i64 = 86_400;

/// Org E1 "Acme":
/// - teams T1 Eng, T2 Ops
/// - W0 primary owner (T2, T1), W1 admin (T1), W2 member dana (T1), W3 bot (T1), W4 member (T2)
/// - tokens: xoxp-admin (W1, user), xoxb-bot (W3, bot), xoxp-dana (W2, user)
/// - sessions: 1001 W2 desktop (token xoxc-1001), 1002 W2 web, 1003 W2 ios, 1004 W2 android,
///   1005 W3 (bot) desktop (token xoxc-bot), 1006 W4 T2 web, 1007 W0 T2 desktop,
///   1008 W0 T1 web created two days ago (token xoxc-1008)
/// - settings: none
///
/// Org E2 "Other": team T9, user W9 admin, token xoxp-other, session 2001 (token xoxc-2001).
pub fn base_fixture() -> Fixture {
    Fixture::from_json(&format!(
        r#"{{"orgs":[
        {{"id":"E1","name":"Acme",
          "teams":[{{"id":"T1","name":"Eng"}},{{"id":"T2","name":"Ops"}}],
          "users":[
            {{"id":"W0","name":"olivia","role":"primary_owner","teams":["T2","T1"]}},
            {{"id":"W1","name":"adam","role":"admin","teams":["T1"]}},
            {{"id":"W2","name":"dana","role":"member","teams":["T1"]}},
            {{"id":"W3","name":"deploybot","role":"member","is_bot":true,"teams":["T1"]}},
            {{"id":"W4","name":"otto","role":"member","teams":["T2"]}}],
          "tokens":[
            {{"token":"xoxp-admin","user":"W1","type":"user",
              "scopes":["admin.users:read","admin.users:write"]}},
            {{"token":"xoxb-bot","user":"W3","type":"bot","scopes":["chat:write"]}},
            {{"token":"xoxp-dana","user":"W2","type":"user","scopes":[]}}],
          "sessions":[
            {{"session_id":1001,"user":"W2","team":"T1","client":"desktop","token":"xoxc-1001",
              "created":{{"device_hardware":"MacBookPro18,3","os":"macOS","ip":"203.0.113.7"}},
              "recent":{{"os":"macOS","os_version":"14.2"}}}},
            {{"session_id":1002,"user":"W2","team":"T1","client":"web"}},
            {{"session_id":1003,"user":"W2","team":"T1","client":"ios"}},
            {{"session_id":1004,"user":"W2","team":"T1","client":"android"}},
            {{"session_id":1005,"user":"W3","team":"T1","client":"desktop","token":"xoxc-bot"}},
            {{"session_id":1006,"user":"W4","team":"T2","client":"web"}},
            {{"session_id":1007,"user":"W0","team":"T2","client":"desktop"}},
            {{"session_id":1008,"user":"W0","team":"T1","client":"web","token":"xoxc-1008",
              "created_at":{two_days_ago}}}]
        }},
        {{"id":"E2","name":"Other",
          "teams":[{{"id":"T9","name":"Nine"}}],
          "users":[{{"id":"W9","name":"nina","role":"admin","teams":["T9"]}}],
          "tokens":[{{"token":"xoxp-other","user":"W9","type":"user",
                      "scopes":["admin.users:read"]}}],
          "sessions":[{{"session_id":2001,"user":"W9","team":"T9","client":"web",
                        "token":"xoxc-2001"}}]
        }}]}}"#,
        two_days_ago = NOW - 2 * DAY
    ))
    .expect("the base fixture is valid")
}

/// A store holding [`base_fixture`].
pub async fn loaded(s: &DynStore) {
    s.load_fixture(&base_fixture(), NOW)
        .await
        .expect("base fixture loads");
}

fn ids(rows: &[SessionRow]) -> Vec<u64> {
    rows.iter().map(|r| r.session_id).collect()
}

fn all() -> SessionFilter {
    SessionFilter::default()
}

fn user_team(u: &str, t: &str) -> SessionFilter {
    SessionFilter {
        user_team: Some((u.into(), t.into())),
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

async fn list_all(s: &DynStore, org: &str, now: UnixTime) -> Vec<u64> {
    ids(&s.list_sessions(org, &all(), None, 1000, now).await.unwrap())
}

fn new_session(user: &str, team: &str, token: &str, created_at: UnixTime) -> NewSession {
    NewSession {
        org_id: "E1".into(),
        user_id: user.into(),
        team_id: team.into(),
        client: ClientKind::Web,
        token_hash: TokenHash::of(token),
        created: Device {
            os: Some("Linux".into()),
            ..Device::default()
        },
        created_at,
    }
}

async fn active(s: &DynStore, token: &str, now: UnixTime) -> std::sync::Arc<Principal> {
    match s.authenticate(&TokenHash::of(token), now).await.unwrap() {
        TokenLookup::Active(p) => p,
        other => panic!("{token}: expected Active, got {other:?}"),
    }
}

// ----- fixtures -----------------------------------------------------------------------------

pub async fn fixture_loads_every_entity(s: DynStore) {
    loaded(&s).await;
    let w2 = s.user("E1", "W2").await.unwrap().expect("W2 exists");
    assert_eq!(w2.name, "dana");
    assert_eq!(w2.role, Role::Member);
    assert!(!w2.is_bot);
    assert_eq!(w2.teams, vec!["T1"]);
    let w0 = s.user("E1", "W0").await.unwrap().unwrap();
    assert_eq!(w0.role, Role::PrimaryOwner);
    assert_eq!(w0.teams, vec!["T2", "T1"], "teams keep fixture order");
    assert!(s.user("E1", "W3").await.unwrap().unwrap().is_bot);
    assert_eq!(
        s.user("E2", "W2").await.unwrap(),
        None,
        "orgs do not see each other's users"
    );
    assert!(s.team_exists("E1", "T2").await.unwrap());
    assert!(!s.team_exists("E2", "T1").await.unwrap());

    let got = s
        .users("E1", &strings(&["W4", "W9", "W1", "W4"]))
        .await
        .unwrap();
    let got: Vec<_> = got.iter().map(|u| u.user_id.as_str()).collect();
    assert_eq!(
        got,
        vec!["W4", "W1"],
        "missing users are absent, duplicates collapse"
    );

    let one = s.session("E1", 1001).await.unwrap().expect("session 1001");
    assert_eq!(one.user_id, "W2");
    assert_eq!(one.team_id, "T1");
    assert_eq!(one.client, ClientKind::Desktop);
    assert_eq!(one.created_at, NOW, "created_at defaults to the load time");
    assert_eq!(one.expires_at, None);
    assert_eq!(one.revoked_at, None);
    assert_eq!(
        one.created.device_hardware.as_deref(),
        Some("MacBookPro18,3")
    );
    assert_eq!(one.created.ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(
        one.recent.as_ref().and_then(|d| d.os_version.as_deref()),
        Some("14.2")
    );
    assert_eq!(
        s.session("E1", 1008).await.unwrap().unwrap().created_at,
        NOW - 2 * DAY
    );
    assert_eq!(
        s.session("E2", 1001).await.unwrap(),
        None,
        "sessions are per org"
    );
    assert_eq!(s.session("E1", 9999).await.unwrap(), None);
    assert_eq!(s.session("E1", u64::MAX).await.unwrap(), None);
}

pub async fn fixture_with_a_clash_changes_nothing(s: DynStore) {
    loaded(&s).await;
    let before = s.dump(None).await.unwrap();

    // A new org whose second session reuses an id of org E2: refused, and the first entries
    // (org, users, session 3001) must not have been written either.
    let clash = Fixture::from_json(
        r#"{"orgs":[{"id":"E3","name":"New","teams":[{"id":"T3","name":"t"}],
        "users":[{"id":"W30","name":"x","role":"admin","teams":["T3"]}],
        "sessions":[{"session_id":3001,"user":"W30","team":"T3","client":"web"},
                    {"session_id":2001,"user":"W30","team":"T3","client":"web"}]}]}"#,
    )
    .unwrap();
    match s.load_fixture(&clash, NOW).await {
        Err(StoreError::Fixture(e)) => {
            assert!(e.entry.contains("sessions[1]"), "names the entry: {e}");
            assert!(e.to_string().contains("2001"), "names the id: {e}");
        }
        other => panic!("expected a fixture error, got {other:?}"),
    }
    assert_eq!(s.dump(None).await.unwrap(), before, "nothing changed");
    assert_eq!(s.user("E3", "W30").await.unwrap(), None);

    // Replacing E1 while borrowing E2's API token: refused, E1 left as it was.
    let mut f = base_fixture();
    f.orgs.truncate(1);
    f.orgs[0].name = "Renamed".into();
    f.orgs[0].tokens[2].token = "xoxp-other".into();
    match s.load_fixture(&f, NOW).await {
        Err(StoreError::Fixture(e)) => assert!(e.entry.contains("tokens[2]"), "{e}"),
        other => panic!("expected a fixture error, got {other:?}"),
    }
    // A session token equal to another org's session token: refused too.
    let mut f = base_fixture();
    f.orgs.truncate(1);
    f.orgs[0].sessions[1].token = Some("xoxc-2001".into());
    match s.load_fixture(&f, NOW).await {
        Err(StoreError::Fixture(e)) => assert!(e.entry.contains("sessions[1]"), "{e}"),
        other => panic!("expected a fixture error, got {other:?}"),
    }
    // A file that fails its own checks.
    let mut f = base_fixture();
    f.orgs[0].users[2].role = "emperor".into();
    assert!(matches!(
        s.load_fixture(&f, NOW).await,
        Err(StoreError::Fixture(_))
    ));

    assert_eq!(s.dump(None).await.unwrap(), before, "nothing changed");
    active(&s, "xoxp-dana", NOW).await;
}

pub async fn fixture_replaces_orgs_with_the_same_id(s: DynStore) {
    loaded(&s).await;
    s.invalidate_session("E2", 2001, NOW).await.unwrap();
    let e2_before = s.dump(Some("E2")).await.unwrap();

    // E1 again, smaller: one user, one session reusing an id and a token of the old E1.
    let f = Fixture::from_json(
        r#"{"orgs":[{"id":"E1","name":"Acme 2","teams":[{"id":"T5","name":"Five"}],
        "users":[{"id":"W5","name":"eve","role":"owner","teams":["T5"]}],
        "tokens":[{"token":"xoxp-dana","user":"W5","type":"user","scopes":["a"]}],
        "sessions":[{"session_id":1001,"user":"W5","team":"T5","client":"ios","token":"xoxc-1001"}],
        "settings":[{"user":"W5","duration":28800}]}]}"#,
    )
    .unwrap();
    s.load_fixture(&f, NOW).await.unwrap();

    assert_eq!(
        s.user("E1", "W2").await.unwrap(),
        None,
        "old users are gone"
    );
    assert!(!s.team_exists("E1", "T1").await.unwrap());
    assert_eq!(list_all(&s, "E1", NOW).await, vec![1001]);
    assert_eq!(s.session("E1", 1001).await.unwrap().unwrap().user_id, "W5");
    assert_eq!(s.session("E1", 1002).await.unwrap(), None);
    assert_eq!(
        s.authenticate(&TokenHash::of("xoxp-admin"), NOW)
            .await
            .unwrap(),
        TokenLookup::Unknown,
        "old tokens are gone"
    );
    let p = active(&s, "xoxp-dana", NOW).await;
    assert_eq!(p.user.user_id, "W5");
    assert_eq!(p.org.name, "Acme 2");
    let got = s.get_settings("E1", &strings(&["W5"])).await.unwrap();
    assert_eq!(got[0].duration, Some(28800));
    assert_eq!(
        s.session("E1", 1001).await.unwrap().unwrap().expires_at,
        Some(NOW + 28800)
    );

    assert_eq!(
        s.dump(Some("E2")).await.unwrap(),
        e2_before,
        "other orgs are untouched"
    );
}

/// A file replacing several orgs may move session ids and tokens between them.
pub async fn fixture_may_move_ids_between_replaced_orgs(s: DynStore) {
    loaded(&s).await;
    let mut f = base_fixture();
    // Swap: E1 takes E2's session id, session token and API token; E2 takes E1's.
    f.orgs[0].sessions[0].session_id = 2001;
    f.orgs[0].sessions[0].token = Some("xoxc-2001".into());
    f.orgs[0].tokens[0].token = "xoxp-other".into();
    f.orgs[1].sessions[0].session_id = 1001;
    f.orgs[1].sessions[0].token = Some("xoxc-1001".into());
    f.orgs[1].tokens[0].token = "xoxp-admin".into();
    s.load_fixture(&f, NOW).await.unwrap();
    assert_eq!(s.session("E1", 2001).await.unwrap().unwrap().user_id, "W2");
    assert_eq!(s.session("E2", 1001).await.unwrap().unwrap().user_id, "W9");
    assert_eq!(s.session("E1", 1001).await.unwrap(), None);
    assert_eq!(active(&s, "xoxp-other", NOW).await.org.org_id, "E1");
    assert_eq!(active(&s, "xoxp-admin", NOW).await.org.org_id, "E2");
    assert_eq!(
        active(&s, "xoxc-2001", NOW).await.kind,
        PrincipalKind::Session(2001)
    );
    assert_eq!(active(&s, "xoxc-1001", NOW).await.user.user_id, "W9");
}

pub async fn fixture_sessions_older_than_duration_load_expired(s: DynStore) {
    let mut f = base_fixture();
    f.orgs[0].settings = vec![FixtureSettings {
        user: "W0".into(),
        duration: Some(DAY as u64),
        desktop_app_browser_quit: None,
    }];
    s.load_fixture(&f, NOW).await.unwrap();
    // 1008 was created two days ago, 1007 now; W0's duration is one day.
    let s1008 = s.session("E1", 1008).await.unwrap().unwrap();
    assert_eq!(s1008.expires_at, Some(NOW - DAY));
    assert!(!s1008.is_active(NOW));
    assert_eq!(
        s.session("E1", 1007).await.unwrap().unwrap().expires_at,
        Some(NOW + DAY)
    );
    let listed = list_all(&s, "E1", NOW).await;
    assert!(
        listed.contains(&1007) && !listed.contains(&1008),
        "{listed:?}"
    );
    assert_eq!(
        s.authenticate(&TokenHash::of("xoxc-1008"), NOW)
            .await
            .unwrap(),
        TokenLookup::SessionEnded
    );
}

// ----- identity -----------------------------------------------------------------------------

pub async fn authenticate_every_outcome(s: DynStore) {
    loaded(&s).await;
    let p = active(&s, "xoxp-admin", NOW).await;
    assert_eq!(p.kind, PrincipalKind::UserToken);
    assert_eq!(
        p.org,
        OrgRow {
            org_id: "E1".into(),
            name: "Acme".into()
        }
    );
    assert_eq!(p.user.user_id, "W1");
    assert_eq!(p.user.role, Role::Admin);
    assert_eq!(
        p.scopes,
        strings(&["admin.users:read", "admin.users:write"])
    );
    assert_eq!(p.team, Some(("T1".into(), "Eng".into())));

    let p = active(&s, "xoxb-bot", NOW).await;
    assert_eq!(p.kind, PrincipalKind::BotToken);
    assert!(p.user.is_bot);
    assert_eq!(p.scopes, strings(&["chat:write"]));

    let p = active(&s, "xoxc-1008", NOW).await;
    assert_eq!(p.kind, PrincipalKind::Session(1008));
    assert_eq!(p.user.user_id, "W0");
    assert!(p.scopes.is_empty());
    assert_eq!(
        p.team,
        Some(("T2".into(), "Ops".into())),
        "the user's first team"
    );

    let p = active(&s, "xoxp-other", NOW).await;
    assert_eq!(p.org.org_id, "E2");

    assert_eq!(
        s.authenticate(&TokenHash::of("xoxp-nobody"), NOW)
            .await
            .unwrap(),
        TokenLookup::Unknown
    );

    assert!(s.revoke_token(&TokenHash::of("xoxp-dana")).await.unwrap());
    assert!(
        !s.revoke_token(&TokenHash::of("xoxp-dana")).await.unwrap(),
        "only once"
    );
    assert!(!s.revoke_token(&TokenHash::of("xoxp-nobody")).await.unwrap());
    assert_eq!(
        s.authenticate(&TokenHash::of("xoxp-dana"), NOW)
            .await
            .unwrap(),
        TokenLookup::Revoked
    );
    active(&s, "xoxp-admin", NOW).await;

    // A session token ends with its session: invalidated...
    active(&s, "xoxc-1001", NOW).await;
    assert!(s.invalidate_session("E1", 1001, NOW).await.unwrap());
    assert_eq!(
        s.authenticate(&TokenHash::of("xoxc-1001"), NOW)
            .await
            .unwrap(),
        TokenLookup::SessionEnded
    );
    // ...reset...
    s.reset_user("E2", "W9", ResetFilter::All, NOW)
        .await
        .unwrap();
    assert_eq!(
        s.authenticate(&TokenHash::of("xoxc-2001"), NOW)
            .await
            .unwrap(),
        TokenLookup::SessionEnded
    );
    // ...or expired by duration, exactly at expires_at.
    s.set_settings(
        "E1",
        &strings(&["W0"]),
        SettingsChange {
            duration: Some(3 * DAY as u64),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let expires = NOW - 2 * DAY + 3 * DAY;
    active(&s, "xoxc-1008", expires - 1).await;
    assert_eq!(
        s.authenticate(&TokenHash::of("xoxc-1008"), expires)
            .await
            .unwrap(),
        TokenLookup::SessionEnded
    );
}

// ----- listing ------------------------------------------------------------------------------

pub async fn list_pages_in_order(s: DynStore) {
    loaded(&s).await;
    // Bots (1005) are never listed; other orgs (2001) neither.
    assert_eq!(
        list_all(&s, "E1", NOW).await,
        vec![1001, 1002, 1003, 1004, 1006, 1007, 1008]
    );
    assert_eq!(list_all(&s, "E2", NOW).await, vec![2001]);
    assert_eq!(list_all(&s, "E404", NOW).await, Vec::<u64>::new());

    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let page = s.list_sessions("E1", &all(), after, 3, NOW).await.unwrap();
        assert!(page.len() <= 3);
        if page.is_empty() {
            break;
        }
        after = page.last().map(|r| r.session_id);
        pages.push(ids(&page));
    }
    assert_eq!(
        pages,
        vec![vec![1001, 1002, 1003], vec![1004, 1006, 1007], vec![1008]]
    );

    let page = s
        .list_sessions("E1", &all(), Some(1004), 2, NOW)
        .await
        .unwrap();
    assert_eq!(
        ids(&page),
        vec![1006, 1007],
        "after is exclusive; bots are skipped"
    );
    assert_eq!(
        ids(&s
            .list_sessions("E1", &all(), Some(1002), 1, NOW)
            .await
            .unwrap()),
        vec![1003]
    );
    assert!(s
        .list_sessions("E1", &all(), None, 0, NOW)
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .list_sessions("E1", &all(), Some(1008), 10, NOW)
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .list_sessions("E1", &all(), Some(u64::MAX), 10, NOW)
        .await
        .unwrap()
        .is_empty());

    let w2 = s
        .list_sessions("E1", &user_team("W2", "T1"), None, 10, NOW)
        .await
        .unwrap();
    assert_eq!(ids(&w2), vec![1001, 1002, 1003, 1004]);
    assert!(w2
        .iter()
        .all(|r| r.user_id == "W2" && r.team_id == "T1" && r.org_id == "E1"));
    let w2 = s
        .list_sessions("E1", &user_team("W2", "T1"), Some(1002), 1, NOW)
        .await
        .unwrap();
    assert_eq!(ids(&w2), vec![1003]);
    let w0 = s
        .list_sessions("E1", &user_team("W0", "T2"), None, 10, NOW)
        .await
        .unwrap();
    assert_eq!(ids(&w0), vec![1007], "only that team");
    let bot = s
        .list_sessions("E1", &user_team("W3", "T1"), None, 10, NOW)
        .await
        .unwrap();
    assert!(bot.is_empty(), "bot sessions are never listed");
    let other = s
        .list_sessions("E2", &user_team("W2", "T1"), None, 10, NOW)
        .await
        .unwrap();
    assert!(other.is_empty());

    // Revoked and expired sessions drop out.
    s.invalidate_session("E1", 1002, NOW).await.unwrap();
    s.set_settings(
        "E1",
        &strings(&["W0"]),
        SettingsChange {
            duration: Some(DAY as u64),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        list_all(&s, "E1", NOW).await,
        vec![1001, 1003, 1004, 1006, 1007]
    );
    assert_eq!(
        list_all(&s, "E1", NOW + DAY).await,
        vec![1001, 1003, 1004, 1006]
    );
}

pub async fn list_rows_carry_every_field(s: DynStore) {
    loaded(&s).await;
    let page = s.list_sessions("E1", &all(), None, 1, NOW).await.unwrap();
    assert_eq!(page, vec![s.session("E1", 1001).await.unwrap().unwrap()]);
    assert!(page[0].is_active(NOW));
}

/// Sessions added and removed between pages: every session active throughout is listed
/// exactly once, new sessions (whose ids are larger) are listed, removed ones never after
/// their removal, and ids come in strictly ascending order.
pub async fn list_is_stable_while_sessions_change(s: DynStore) {
    loaded(&s).await;
    // Between two pages: add a session, or remove one of the existing sessions (by index).
    #[derive(Debug, Clone)]
    enum Op {
        Add,
        Remove(usize),
    }
    let op = prop_oneof![Just(Op::Add), (0usize..64).prop_map(Op::Remove)];
    let strategy = (
        1u32..5,
        proptest::collection::vec(proptest::collection::vec(op, 0..4), 1..8),
    );

    let handle = tokio::runtime::Handle::current();
    let case = std::sync::atomic::AtomicU32::new(0);
    tokio::task::spawn_blocking(move || {
        let mut runner = TestRunner::new(Config {
            cases: 16,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&strategy, |(limit, between)| {
                let n = case.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                handle.block_on(async {
                    // A fresh user per case keeps cases independent in one store.
                    let user = format!("WP{n}");
                    let mut f = base_fixture();
                    f.orgs.truncate(1);
                    f.orgs[0].users.push(FixtureUser {
                        id: user.clone(),
                        name: user.clone(),
                        role: "member".into(),
                        is_bot: false,
                        teams: vec!["T1".into()],
                        ..Default::default()
                    });
                    // Reload keeps E1's shape; earlier cases' sessions disappear with it.
                    s.load_fixture(&f, NOW).await.unwrap();
                    let filter = user_team(&user, "T1");
                    let mut live: BTreeSet<u64> = BTreeSet::new();
                    for i in 0..6 {
                        let row = s
                            .create_session(new_session(
                                &user,
                                "T1",
                                &format!("xoxc-p{n}-{i}"),
                                NOW,
                            ))
                            .await
                            .unwrap();
                        live.insert(row.session_id);
                    }
                    let mut removed_at: BTreeMap<u64, usize> = BTreeMap::new();
                    let mut ever_removed = HashSet::new();
                    let mut seen = Vec::new();
                    let mut after = None;
                    let mut page_no = 0;
                    let mut extra = 0;
                    loop {
                        let page = s
                            .list_sessions("E1", &filter, after, limit, NOW)
                            .await
                            .unwrap();
                        for r in &page {
                            prop_assert!(
                                live.contains(&r.session_id),
                                "listed a removed session {}",
                                r.session_id
                            );
                        }
                        seen.extend(ids(&page));
                        if (page.len() as u32) < limit {
                            break;
                        }
                        after = page.last().map(|r| r.session_id);
                        for op in between.get(page_no).cloned().unwrap_or_default() {
                            match op {
                                Op::Add => {
                                    extra += 1;
                                    let row = s
                                        .create_session(new_session(
                                            &user,
                                            "T1",
                                            &format!("xoxc-p{n}-x{extra}"),
                                            NOW,
                                        ))
                                        .await
                                        .unwrap();
                                    live.insert(row.session_id);
                                }
                                Op::Remove(k) if !live.is_empty() => {
                                    let id = *live.iter().nth(k % live.len()).unwrap();
                                    prop_assert!(s
                                        .invalidate_session("E1", id, NOW)
                                        .await
                                        .unwrap());
                                    live.remove(&id);
                                    removed_at.insert(id, page_no);
                                    ever_removed.insert(id);
                                }
                                Op::Remove(_) => {}
                            }
                        }
                        page_no += 1;
                    }
                    prop_assert!(
                        seen.windows(2).all(|w| w[0] < w[1]),
                        "ascending, no duplicates: {seen:?}"
                    );
                    for id in &live {
                        prop_assert!(seen.contains(id), "survivor {id} skipped; saw {seen:?}");
                    }
                    prop_assert_eq!(seen.len(), seen.iter().collect::<HashSet<_>>().len());
                    Ok(())
                })
            })
            .unwrap();
    })
    .await
    .unwrap();
}

// ----- invalidate / reset -------------------------------------------------------------------

pub async fn invalidate_is_true_only_once(s: DynStore) {
    loaded(&s).await;
    assert!(s.invalidate_session("E1", 1003, NOW + 5).await.unwrap());
    assert!(
        !s.invalidate_session("E1", 1003, NOW + 6).await.unwrap(),
        "already revoked"
    );
    let row = s.session("E1", 1003).await.unwrap().unwrap();
    assert_eq!(
        row.revoked_at,
        Some(NOW + 5),
        "the first revocation time stays"
    );
    assert!(!row.is_active(NOW + 5));
    assert!(
        !s.invalidate_session("E1", 9999, NOW).await.unwrap(),
        "unknown id"
    );
    assert!(
        !s.invalidate_session("E2", 1004, NOW).await.unwrap(),
        "another org's session"
    );
    assert!(s
        .session("E1", 1004)
        .await
        .unwrap()
        .unwrap()
        .revoked_at
        .is_none());
    assert!(!s.invalidate_session("E1", u64::MAX, NOW).await.unwrap());

    // An expired session is not active, so invalidating it reports false.
    s.set_settings(
        "E1",
        &strings(&["W0"]),
        SettingsChange {
            duration: Some(DAY as u64),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(!s.invalidate_session("E1", 1008, NOW).await.unwrap());
    assert_eq!(
        s.session("E1", 1008).await.unwrap().unwrap().revoked_at,
        None
    );
}

pub async fn reset_honours_client_filters(s: DynStore) {
    loaded(&s).await;
    assert_eq!(
        s.reset_user("E1", "W2", ResetFilter::WebOnly, NOW)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        list_all(&s, "E1", NOW).await,
        vec![1001, 1003, 1004, 1006, 1007, 1008]
    );
    assert_eq!(
        s.reset_user("E1", "W2", ResetFilter::WebOnly, NOW)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        s.reset_user("E1", "W2", ResetFilter::MobileOnly, NOW)
            .await
            .unwrap(),
        2
    );
    assert_eq!(list_all(&s, "E1", NOW).await, vec![1001, 1006, 1007, 1008]);
    assert_eq!(
        s.reset_user("E1", "W2", ResetFilter::All, NOW)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.reset_user("E1", "W2", ResetFilter::All, NOW)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        list_all(&s, "E1", NOW).await,
        vec![1006, 1007, 1008],
        "other users untouched"
    );
    for id in [1001, 1002, 1003, 1004] {
        assert_eq!(
            s.session("E1", id).await.unwrap().unwrap().revoked_at,
            Some(NOW)
        );
    }
    assert_eq!(
        s.reset_user("E1", "W404", ResetFilter::All, NOW)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        s.reset_user("E2", "W0", ResetFilter::All, NOW)
            .await
            .unwrap(),
        0,
        "per org"
    );
    assert_eq!(list_all(&s, "E1", NOW).await, vec![1006, 1007, 1008]);

    // W0: 1007 active, 1008 expired by duration -> only 1007 counts.
    s.set_settings(
        "E1",
        &strings(&["W0"]),
        SettingsChange {
            duration: Some(DAY as u64),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        s.reset_user("E1", "W0", ResetFilter::All, NOW)
            .await
            .unwrap(),
        1
    );
}

// ----- create_session -----------------------------------------------------------------------

pub async fn create_session_allocates_fresh_ids(s: DynStore) {
    loaded(&s).await;
    let mut got = BTreeSet::new();
    for i in 0..20 {
        let row = s
            .create_session(new_session("W2", "T1", &format!("xoxc-new-{i}"), NOW + i))
            .await
            .unwrap();
        assert!(
            row.session_id > 2001,
            "above every stored id: {}",
            row.session_id
        );
        assert!(got.insert(row.session_id), "unique");
        assert_eq!(row.created_at, NOW + i);
        assert_eq!(row.expires_at, None, "no duration setting");
        assert_eq!(row.revoked_at, None);
        assert_eq!(row.created.os.as_deref(), Some("Linux"));
        assert_eq!(
            s.session("E1", row.session_id).await.unwrap(),
            Some(row.clone())
        );
        let p = active(&s, &format!("xoxc-new-{i}"), NOW + i).await;
        assert_eq!(p.kind, PrincipalKind::Session(row.session_id));
    }
    let listed: BTreeSet<u64> = list_all(&s, "E1", NOW + 100).await.into_iter().collect();
    assert!(got.is_subset(&listed));

    // Ids are never handed out twice, even after their rows are gone.
    let highest = *got.iter().max().unwrap();
    let mut f = base_fixture();
    f.orgs.truncate(1);
    s.load_fixture(&f, NOW).await.unwrap();
    assert_eq!(
        s.session("E1", highest).await.unwrap(),
        None,
        "replaced org lost its sessions"
    );
    let row = s
        .create_session(new_session("W2", "T1", "xoxc-after-reload", NOW))
        .await
        .unwrap();
    assert!(
        !got.contains(&row.session_id) && row.session_id > highest,
        "{} reused",
        row.session_id
    );
    s.reset_all().await.unwrap();
    s.load_fixture(&f, NOW).await.unwrap();
    let again = s
        .create_session(new_session("W2", "T1", "xoxc-after-reset", NOW))
        .await
        .unwrap();
    assert!(
        again.session_id > row.session_id,
        "{} reused after reset_all",
        again.session_id
    );
}

pub async fn create_session_follows_duration_and_refuses_bad_refs(s: DynStore) {
    loaded(&s).await;
    s.set_settings(
        "E1",
        &strings(&["W2"]),
        SettingsChange {
            duration: Some(28_800),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let row = s
        .create_session(new_session("W2", "T1", "xoxc-d", NOW))
        .await
        .unwrap();
    assert_eq!(row.expires_at, Some(NOW + 28_800));
    assert_eq!(
        s.session("E1", row.session_id)
            .await
            .unwrap()
            .unwrap()
            .expires_at,
        Some(NOW + 28_800)
    );

    let before = s.dump(None).await.unwrap();
    let err = s
        .create_session(new_session("W404", "T1", "xoxc-e1", NOW))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound(_)),
        "unknown user: {err:?}"
    );
    let err = s
        .create_session(new_session("W2", "T404", "xoxc-e2", NOW))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound(_)),
        "unknown team: {err:?}"
    );
    let err = s
        .create_session(new_session("W2", "T2", "xoxc-e3", NOW))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound(_)),
        "not a member: {err:?}"
    );
    let mut other_org = new_session("W9", "T9", "xoxc-e4", NOW);
    other_org.org_id = "E404".into();
    assert!(matches!(
        s.create_session(other_org).await,
        Err(StoreError::NotFound(_))
    ));
    let err = s
        .create_session(new_session("W2", "T1", "xoxc-1001", NOW))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(_)),
        "token in use: {err:?}"
    );
    assert_eq!(
        s.dump(None).await.unwrap(),
        before,
        "refusals write nothing"
    );
    for t in ["xoxc-e1", "xoxc-e2", "xoxc-e3", "xoxc-e4"] {
        assert_eq!(
            s.authenticate(&TokenHash::of(t), NOW).await.unwrap(),
            TokenLookup::Unknown
        );
    }
}

// ----- settings -----------------------------------------------------------------------------

pub async fn settings_set_partially_and_clear(s: DynStore) {
    loaded(&s).await;
    let users = strings(&["W2", "W4"]);
    assert!(
        s.get_settings("E1", &users).await.unwrap().is_empty(),
        "nobody has settings"
    );

    s.set_settings(
        "E1",
        &users,
        SettingsChange {
            duration: Some(28_800),
            desktop_app_browser_quit: None,
        },
    )
    .await
    .unwrap();
    let got = s
        .get_settings("E1", &strings(&["W4", "W2", "W1", "W4"]))
        .await
        .unwrap();
    assert_eq!(
        got,
        vec![
            SettingsRow {
                user_id: "W4".into(),
                duration: Some(28_800),
                desktop_app_browser_quit: None
            },
            SettingsRow {
                user_id: "W2".into(),
                duration: Some(28_800),
                desktop_app_browser_quit: None
            },
        ]
    );
    // Only the Some fields change.
    s.set_settings(
        "E1",
        &strings(&["W2"]),
        SettingsChange {
            duration: None,
            desktop_app_browser_quit: Some(true),
        },
    )
    .await
    .unwrap();
    let got = s.get_settings("E1", &strings(&["W2"])).await.unwrap();
    assert_eq!(got[0].duration, Some(28_800));
    assert_eq!(got[0].desktop_app_browser_quit, Some(true));
    s.set_settings(
        "E1",
        &strings(&["W2"]),
        SettingsChange {
            duration: Some(86_400),
            desktop_app_browser_quit: None,
        },
    )
    .await
    .unwrap();
    let got = s.get_settings("E1", &strings(&["W2"])).await.unwrap();
    assert_eq!(
        (got[0].duration, got[0].desktop_app_browser_quit),
        (Some(86_400), Some(true))
    );
    assert!(
        s.get_settings("E2", &strings(&["W2"]))
            .await
            .unwrap()
            .is_empty(),
        "per org"
    );

    // An unknown user in the list: refused, nobody changed.
    let err = s
        .set_settings(
            "E1",
            &strings(&["W4", "W404"]),
            SettingsChange {
                duration: Some(40_000),
                desktop_app_browser_quit: None,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    assert_eq!(
        s.get_settings("E1", &strings(&["W4"])).await.unwrap()[0].duration,
        Some(28_800)
    );
    assert_eq!(
        s.session("E1", 1006).await.unwrap().unwrap().expires_at,
        Some(NOW + 28_800)
    );

    s.clear_settings("E1", &strings(&["W2"])).await.unwrap();
    let got = s.get_settings("E1", &users).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].user_id, "W4");
    assert_eq!(
        s.session("E1", 1001).await.unwrap().unwrap().expires_at,
        None
    );
}

pub async fn settings_rederive_session_expiry(s: DynStore) {
    loaded(&s).await;
    let w0 = strings(&["W0"]);
    // 1008 is two days old, 1007 brand new.
    s.set_settings(
        "E1",
        &w0,
        SettingsChange {
            duration: Some(3 * DAY as u64),
            desktop_app_browser_quit: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        s.session("E1", 1008).await.unwrap().unwrap().expires_at,
        Some(NOW + DAY)
    );
    assert_eq!(
        s.session("E1", 1007).await.unwrap().unwrap().expires_at,
        Some(NOW + 3 * DAY)
    );
    assert!(list_all(&s, "E1", NOW).await.contains(&1008));

    // Shrinking the duration below 1008's age ends it at once.
    s.set_settings(
        "E1",
        &w0,
        SettingsChange {
            duration: Some(DAY as u64),
            desktop_app_browser_quit: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        s.session("E1", 1008).await.unwrap().unwrap().expires_at,
        Some(NOW - DAY)
    );
    assert!(!list_all(&s, "E1", NOW).await.contains(&1008));
    assert!(list_all(&s, "E1", NOW).await.contains(&1007));
    assert_eq!(
        s.authenticate(&TokenHash::of("xoxc-1008"), NOW)
            .await
            .unwrap(),
        TokenLookup::SessionEnded
    );
    // A quit-flag change leaves expiry alone.
    s.set_settings(
        "E1",
        &w0,
        SettingsChange {
            duration: None,
            desktop_app_browser_quit: Some(false),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        s.session("E1", 1007).await.unwrap().unwrap().expires_at,
        Some(NOW + DAY)
    );
    // Clearing removes expiry by duration: the session is active again.
    s.clear_settings("E1", &w0).await.unwrap();
    assert_eq!(
        s.session("E1", 1008).await.unwrap().unwrap().expires_at,
        None
    );
    assert!(list_all(&s, "E1", NOW).await.contains(&1008));
    active(&s, "xoxc-1008", NOW).await;
    // Other users' sessions never got an expiry.
    assert_eq!(
        s.session("E1", 1001).await.unwrap().unwrap().expires_at,
        None
    );
}

// ----- bulk jobs ----------------------------------------------------------------------------

pub async fn bulk_jobs_claim_lease_and_complete(s: DynStore) {
    loaded(&s).await;
    assert_eq!(s.pending_bulk_jobs().await.unwrap(), 0);
    assert!(
        s.claim_bulk_job("w", NOW, 60).await.unwrap().is_none(),
        "nothing to claim"
    );

    let users = strings(&["W2", "W404", "W3", "W4"]);
    let j1 = s
        .enqueue_bulk_reset("E1", "W1", &users, ResetFilter::MobileOnly, NOW, NOW)
        .await
        .unwrap();
    let j2 = s
        .enqueue_bulk_reset("E1", "W1", &strings(&["W4"]), ResetFilter::All, NOW, NOW)
        .await
        .unwrap();
    let j3 = s
        .enqueue_bulk_reset(
            "E1",
            "W1",
            &strings(&["W0"]),
            ResetFilter::All,
            NOW,
            NOW + 100,
        )
        .await
        .unwrap();
    assert!(j1 < j2 && j2 < j3, "ids grow: {j1} {j2} {j3}");
    assert_eq!(s.pending_bulk_jobs().await.unwrap(), 3);
    let stored = s.bulk_job("E1", j1).await.unwrap().unwrap();
    assert_eq!(stored.user_ids, users);
    assert_eq!(stored.filter, ResetFilter::MobileOnly);
    assert_eq!(stored.state, JobState::Pending);
    assert_eq!(
        (stored.created_at, stored.run_after, stored.attempts),
        (NOW, NOW, 0)
    );
    assert!(stored.results.is_empty() && stored.finished_at.is_none());
    assert_eq!(stored.actor_user_id, "W1");
    assert_eq!(
        s.bulk_job("E2", j1).await.unwrap(),
        None,
        "jobs are per org"
    );

    // Oldest first; a leased job is not handed out again; run_after is honoured.
    let a = s.claim_bulk_job("A", NOW, 60).await.unwrap().unwrap();
    assert_eq!((a.job.job_id, a.job.attempts), (j1, 1));
    let b = s.claim_bulk_job("B", NOW, 60).await.unwrap().unwrap();
    assert_eq!(b.job.job_id, j2);
    assert!(
        s.claim_bulk_job("C", NOW + 60, 60).await.unwrap().is_none(),
        "leases still held"
    );

    // A's lease lapses; C takes j1 over.
    let c = s.claim_bulk_job("C", NOW + 61, 60).await.unwrap().unwrap();
    assert_eq!((c.job.job_id, c.job.attempts), (j1, 2));
    assert_ne!(c.lease, a.lease);
    assert!(matches!(
        s.complete_bulk_job(&a, NOW + 62).await,
        Err(StoreError::LeaseLost)
    ));
    assert_eq!(
        list_all(&s, "E1", NOW).await,
        vec![1001, 1002, 1003, 1004, 1006, 1007, 1008],
        "A applied nothing"
    );
    assert_eq!(
        s.bulk_job("E1", j1).await.unwrap().unwrap().state,
        JobState::Pending
    );

    let done = s.complete_bulk_job(&c, NOW + 63).await.unwrap();
    assert_eq!(done.state, JobState::Done);
    assert_eq!(done.finished_at, Some(NOW + 63));
    assert_eq!(done.attempts, 2);
    assert_eq!(
        done.results,
        vec![
            ("W2".to_string(), None),
            ("W404".to_string(), Some("user_not_found".to_string())),
            ("W3".to_string(), Some("cannot_reset_bot".to_string())),
            ("W4".to_string(), None),
        ]
    );
    assert_eq!(s.bulk_job("E1", j1).await.unwrap().unwrap(), done);
    // Mobile only: W2's ios and android sessions; W4 has only web.
    assert_eq!(
        list_all(&s, "E1", NOW + 63).await,
        vec![1001, 1002, 1006, 1007, 1008]
    );
    assert_eq!(
        s.session("E1", 1003).await.unwrap().unwrap().revoked_at,
        Some(NOW + 63)
    );
    assert!(
        matches!(
            s.complete_bulk_job(&c, NOW + 64).await,
            Err(StoreError::LeaseLost)
        ),
        "done once"
    );
    assert_eq!(s.pending_bulk_jobs().await.unwrap(), 2);

    let done = s.complete_bulk_job(&b, NOW + 65).await.unwrap();
    assert_eq!(done.results, vec![("W4".to_string(), None)]);
    assert!(
        s.claim_bulk_job("C", NOW + 99, 60).await.unwrap().is_none(),
        "j3 not yet runnable"
    );
    let c3 = s.claim_bulk_job("C", NOW + 100, 60).await.unwrap().unwrap();
    assert_eq!(c3.job.job_id, j3);
    s.complete_bulk_job(&c3, NOW + 101).await.unwrap();
    assert_eq!(s.pending_bulk_jobs().await.unwrap(), 0);
    assert!(
        s.claim_bulk_job("C", NOW + 1000, 60)
            .await
            .unwrap()
            .is_none(),
        "done jobs stay done"
    );
}

pub async fn bulk_job_claims_are_exclusive_under_contention(s: DynStore) {
    loaded(&s).await;
    for _ in 0..4 {
        s.enqueue_bulk_reset("E1", "W1", &strings(&["W2"]), ResetFilter::All, NOW, NOW)
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for w in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.claim_bulk_job(&format!("w{w}"), NOW, 60).await.unwrap()
        }));
    }
    let mut claimed = Vec::new();
    for t in tasks {
        if let Some(c) = t.await.unwrap() {
            claimed.push(c.job.job_id);
        }
    }
    claimed.sort();
    let distinct: BTreeSet<_> = claimed.iter().collect();
    assert_eq!(
        claimed.len(),
        4,
        "each job claimed exactly once: {claimed:?}"
    );
    assert_eq!(distinct.len(), 4);
}

// ----- administration -----------------------------------------------------------------------

pub async fn dump_leaves_tokens_out(s: DynStore) {
    loaded(&s).await;
    s.set_settings(
        "E1",
        &strings(&["W2"]),
        SettingsChange {
            duration: Some(28_800),
            desktop_app_browser_quit: Some(true),
        },
    )
    .await
    .unwrap();
    let d = s.dump(None).await.unwrap();
    assert_eq!(
        d.orgs.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
        vec!["E1", "E2"]
    );
    let e1 = &d.orgs[0];
    let base = &base_fixture().orgs[0];
    assert_eq!(e1.name, "Acme");
    assert_eq!(e1.teams, base.teams);
    assert_eq!(e1.users, base.users);
    assert_eq!(e1.tokens.len(), 3);
    assert!(
        e1.tokens.iter().all(|t| t.token.is_empty()),
        "no clear tokens"
    );
    assert_eq!(e1.tokens[0].user, "W1");
    assert_eq!(e1.tokens[0].kind, "user");
    assert_eq!(e1.tokens[0].scopes, base.tokens[0].scopes);
    assert_eq!(e1.tokens[1].kind, "bot");
    assert_eq!(
        e1.sessions.iter().map(|x| x.session_id).collect::<Vec<_>>(),
        (1001..=1008).collect::<Vec<_>>()
    );
    assert!(
        e1.sessions.iter().all(|x| x.token.is_none()),
        "no session tokens"
    );
    assert_eq!(e1.sessions[0].created, base.sessions[0].created);
    assert_eq!(e1.sessions[0].recent, base.sessions[0].recent);
    assert_eq!(e1.sessions[0].created_at, Some(NOW));
    assert_eq!(e1.sessions[7].created_at, Some(NOW - 2 * DAY));
    assert_eq!(
        e1.settings,
        vec![FixtureSettings {
            user: "W2".into(),
            duration: Some(28_800),
            desktop_app_browser_quit: Some(true)
        }]
    );
    let json = serde_json::to_string(&d).unwrap();
    for t in ["xoxp-admin", "xoxb-bot", "xoxc-1001", "xoxp-other"] {
        assert!(!json.contains(t), "{t} leaked into the dump");
    }
    let only = s.dump(Some("E2")).await.unwrap();
    assert_eq!(only.orgs, vec![d.orgs[1].clone()]);
    assert!(s.dump(Some("E404")).await.unwrap().orgs.is_empty());
}

pub async fn reset_all_keeps_only_the_secret(s: DynStore) {
    let secret = s.server_secret().await.unwrap();
    loaded(&s).await;
    s.enqueue_bulk_reset("E1", "W1", &strings(&["W2"]), ResetFilter::All, NOW, NOW)
        .await
        .unwrap();
    s.reset_all().await.unwrap();
    assert!(s.dump(None).await.unwrap().orgs.is_empty());
    assert_eq!(s.pending_bulk_jobs().await.unwrap(), 0);
    assert_eq!(
        s.authenticate(&TokenHash::of("xoxp-admin"), NOW)
            .await
            .unwrap(),
        TokenLookup::Unknown
    );
    assert_eq!(
        s.authenticate(&TokenHash::of("xoxc-1001"), NOW)
            .await
            .unwrap(),
        TokenLookup::Unknown
    );
    assert_eq!(s.user("E1", "W2").await.unwrap(), None);
    assert_eq!(s.server_secret().await.unwrap(), secret);
    loaded(&s).await; // the same fixture loads again
    assert_eq!(list_all(&s, "E1", NOW).await.len(), 7);
}

pub async fn server_secret_is_created_once(s: DynStore) {
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(
            async move { s.server_secret().await.unwrap() },
        ));
    }
    let mut got = BTreeSet::new();
    for t in tasks {
        got.insert(t.await.unwrap());
    }
    assert_eq!(got.len(), 1, "every caller sees the same secret");
    let secret = got.into_iter().next().unwrap();
    assert_eq!(secret.len(), 32);
    assert!(secret.iter().any(|b| *b != 0));
    assert_eq!(s.server_secret().await.unwrap(), secret);
}

// ----- concurrency --------------------------------------------------------------------------

pub async fn concurrent_writes_are_all_applied(s: DynStore) {
    loaded(&s).await;
    // 64 sessions to invalidate plus 16 users' resets, all at once.
    let mut f = base_fixture();
    for u in 0..16 {
        f.orgs[0].users.push(FixtureUser {
            id: format!("WC{u}"),
            name: format!("c{u}"),
            role: "member".into(),
            is_bot: false,
            teams: vec!["T1".into()],
            ..Default::default()
        });
        for k in 0..2 {
            f.orgs[0].sessions.push(FixtureSession {
                session_id: 5000 + u * 2 + k,
                user: format!("WC{u}"),
                team: "T1".into(),
                client: "ios".into(),
                token: None,
                created_at: None,
                created: Device::default(),
                recent: None,
            });
        }
    }
    for i in 0..64 {
        f.orgs[0].sessions.push(FixtureSession {
            session_id: 6000 + i,
            user: "W4".into(),
            team: "T2".into(),
            client: "desktop".into(),
            token: None,
            created_at: None,
            created: Device::default(),
            recent: None,
        });
    }
    s.load_fixture(&f, NOW).await.unwrap();

    let mut invalidations = Vec::new();
    for i in 0..64u64 {
        let s = s.clone();
        invalidations.push(tokio::spawn(async move {
            s.invalidate_session("E1", 6000 + i, NOW).await
        }));
    }
    let mut resets = Vec::new();
    for u in 0..16 {
        let s = s.clone();
        resets.push(tokio::spawn(async move {
            s.reset_user("E1", &format!("WC{u}"), ResetFilter::All, NOW)
                .await
        }));
    }
    let mut creates = Vec::new();
    for i in 0..16 {
        let s = s.clone();
        creates.push(tokio::spawn(async move {
            s.create_session(new_session("W2", "T1", &format!("xoxc-conc-{i}"), NOW))
                .await
        }));
    }
    for t in invalidations {
        assert!(
            t.await.unwrap().unwrap(),
            "each invalidation found its session active"
        );
    }
    for t in resets {
        assert_eq!(t.await.unwrap().unwrap(), 2);
    }
    let mut new_ids = BTreeSet::new();
    for t in creates {
        assert!(
            new_ids.insert(t.await.unwrap().unwrap().session_id),
            "unique ids"
        );
    }
    let listed = list_all(&s, "E1", NOW).await;
    assert!(
        listed
            .iter()
            .all(|id| !(5000..5032).contains(id) && !(6000..6064).contains(id)),
        "{listed:?}"
    );
    for id in &new_ids {
        assert!(listed.contains(id), "created session {id} is listed");
    }
    assert_eq!(listed.len(), 7 + 16);
}

/// Expands to one `#[tokio::test]` per conformance body; `$make` builds a fresh, empty store.
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance::conformance_tests!(@each $make;
            fixture_loads_every_entity,
            fixture_with_a_clash_changes_nothing,
            fixture_replaces_orgs_with_the_same_id,
            fixture_may_move_ids_between_replaced_orgs,
            fixture_sessions_older_than_duration_load_expired,
            authenticate_every_outcome,
            list_pages_in_order,
            list_rows_carry_every_field,
            list_is_stable_while_sessions_change,
            invalidate_is_true_only_once,
            reset_honours_client_filters,
            create_session_allocates_fresh_ids,
            create_session_follows_duration_and_refuses_bad_refs,
            settings_set_partially_and_clear,
            settings_rederive_session_expiry,
            bulk_jobs_claim_lease_and_complete,
            bulk_job_claims_are_exclusive_under_contention,
            dump_leaves_tokens_out,
            reset_all_keeps_only_the_secret,
            server_secret_is_created_once,
            concurrent_writes_are_all_applied,
            audit_entries_round_trip_newest_first,
            audit_filters_match_every_field,
            audit_pages_cover_each_entry_once,
            audit_survives_fixture_reloads_not_reset_all,
            audit_concurrent_appends_get_distinct_ids,
            audit_bulk_jobs_record_their_entries_atomically,
            audit_writes_record_their_entry_iff_applied,
            audit_prune_deletes_old_entries_oldest_first,
            directory_reads_profiles,
            directory_email_lookup_folds_case_and_isolates_orgs,
            directory_lists_in_id_order_by_page_and_team,
            directory_survives_dump_and_reload,
            directory_duplicate_email_is_refused_and_changes_nothing,
        );
    };
    (@each $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let store: sessions_store::DynStore = $make;
                $crate::conformance::$name(store).await;
            }
        )*
    };
}
pub(crate) use conformance_tests;
