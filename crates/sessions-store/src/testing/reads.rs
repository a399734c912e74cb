//! Conformance: fixture loads, authentication and session listing.

use super::*;

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

    let mut revoked = plain_entry("E1", NOW, ACTION_TOKEN_REVOKED, "auth.revoke");
    revoked.actor_user_id = "W2".into();
    let dana = TokenHash::of("xoxp-dana");
    assert!(s.revoke_token_audited(&dana, &revoked).await.unwrap());
    assert!(
        !s.revoke_token_audited(&dana, &revoked).await.unwrap(),
        "only once"
    );
    let nobody = TokenHash::of("xoxp-nobody");
    assert!(!s.revoke_token_audited(&nobody, &revoked).await.unwrap());
    let log = s
        .list_audit("E1", &AuditFilter::default(), AuditPage::Newest, 10)
        .await
        .unwrap();
    assert_eq!(
        log.iter()
            .map(|e| e.actor_user_id.as_str())
            .collect::<Vec<_>>(),
        ["W2"],
        "an entry for the one revocation that happened"
    );
    assert_eq!(log[0].action, ACTION_TOKEN_REVOKED);
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
