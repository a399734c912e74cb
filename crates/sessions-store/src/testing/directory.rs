//! Conformance bodies for the user directory behind `users.*` (run on every backend through
//! `conformance::conformance_tests!`).

use crate::*;

use super::{base_fixture, NOW};

/// [`base_fixture`] with profiles: W2 dana has a mixed-case email and a real name, W4 otto is
/// deactivated with an email, W1 has a non-ASCII email; E2's W9 uses dana's address too (emails
/// are unique per org only).
fn with_profiles() -> Fixture {
    let mut f = base_fixture();
    let e1 = &mut f.orgs[0];
    e1.users[2].email = Some("Dana@Acme.example".into());
    e1.users[2].real_name = Some("Dana Scully".into());
    e1.users[4].email = Some("otto@acme.example".into());
    e1.users[4].deleted = true;
    e1.users[1].email = Some("ÉLODIE@acme.example".into());
    f.orgs[1].users[0].email = Some("dana@acme.example".into());
    f.check().expect("profiles fixture is valid");
    f
}

fn ids(v: &[UserRecord]) -> Vec<&str> {
    v.iter().map(|r| r.user.user_id.as_str()).collect()
}

pub async fn directory_reads_profiles(s: DynStore) {
    s.load_fixture(&with_profiles(), NOW).await.unwrap();
    let dana = s.user_record("E1", "W2").await.unwrap().unwrap();
    assert_eq!(
        dana.email.as_deref(),
        Some("Dana@Acme.example"),
        "kept as given"
    );
    assert_eq!(dana.real_name.as_deref(), Some("Dana Scully"));
    assert!(!dana.deleted);
    assert_eq!(dana.user.name, "dana");
    assert_eq!(dana.user.role, Role::Member);
    assert_eq!(dana.user.teams, vec!["T1"]);
    let owner = s.user_record("E1", "W0").await.unwrap().unwrap();
    assert_eq!(
        (owner.email, owner.real_name, owner.deleted),
        (None, None, false)
    );
    assert_eq!(owner.user.teams, vec!["T2", "T1"], "fixture order");
    assert_eq!(owner.user.role, Role::PrimaryOwner);
    let bot = s.user_record("E1", "W3").await.unwrap().unwrap();
    assert!(bot.user.is_bot);
    assert!(s.user_record("E1", "W4").await.unwrap().unwrap().deleted);
    // Another org's user is simply absent.
    assert_eq!(s.user_record("E1", "W9").await.unwrap(), None);
    assert_eq!(s.user_record("E2", "W2").await.unwrap(), None);
}

pub async fn directory_email_lookup_folds_case_and_isolates_orgs(s: DynStore) {
    s.load_fixture(&with_profiles(), NOW).await.unwrap();
    let found = |org: &'static str, email: &'static str| {
        let s = s.clone();
        async move {
            s.user_by_email(org, email)
                .await
                .unwrap()
                .map(|r| r.user.user_id)
        }
    };
    assert_eq!(
        found("E1", "dana@acme.example").await.as_deref(),
        Some("W2")
    );
    assert_eq!(
        found("E1", "  DANA@ACME.EXAMPLE ").await.as_deref(),
        Some("W2")
    );
    assert_eq!(
        found("E1", "élodie@ACME.example").await.as_deref(),
        Some("W1")
    );
    assert_eq!(
        found("E2", "DANA@acme.example").await.as_deref(),
        Some("W9")
    );
    // Deactivated users are found by the store (the method decides what to answer).
    assert_eq!(
        found("E1", "otto@acme.example").await.as_deref(),
        Some("W4")
    );
    assert_eq!(found("E1", "nobody@acme.example").await, None);
    assert_eq!(found("E3", "dana@acme.example").await, None);
    let rec = s
        .user_by_email("E1", "dana@acme.example")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.real_name.as_deref(), Some("Dana Scully"));
    assert_eq!(rec.user.teams, vec!["T1"]);
}

pub async fn directory_lists_in_id_order_by_page_and_team(s: DynStore) {
    s.load_fixture(&with_profiles(), NOW).await.unwrap();
    let page = |team: Option<&'static str>, after: Option<&'static str>, limit: u32| {
        let s = s.clone();
        async move { s.list_users("E1", team, after, limit).await.unwrap() }
    };
    assert_eq!(ids(&page(None, None, 2).await), ["W0", "W1"]);
    assert_eq!(ids(&page(None, Some("W1"), 2).await), ["W2", "W3"]);
    let last = page(None, Some("W3"), 2).await;
    assert_eq!(ids(&last), ["W4"]);
    assert!(last[0].deleted, "deactivated users are listed");
    assert_eq!(last[0].email.as_deref(), Some("otto@acme.example"));
    assert!(page(None, Some("W4"), 2).await.is_empty());
    assert_eq!(ids(&page(None, None, 1000).await).len(), 5);
    // One team's members, each with all its teams.
    let t2 = page(Some("T2"), None, 10).await;
    assert_eq!(ids(&t2), ["W0", "W4"]);
    assert_eq!(t2[0].user.teams, vec!["T2", "T1"]);
    assert_eq!(ids(&page(Some("T2"), Some("W0"), 10).await), ["W4"]);
    assert_eq!(
        ids(&page(Some("T1"), None, 10).await),
        ["W0", "W1", "W2", "W3"]
    );
    // Another org's team has no members here; another org's users never show.
    assert!(page(Some("T9"), None, 10).await.is_empty());
    let e2 = s.list_users("E2", None, None, 10).await.unwrap();
    assert_eq!(ids(&e2), ["W9"]);
    assert!(s.list_users("E3", None, None, 10).await.unwrap().is_empty());
}

pub async fn directory_survives_dump_and_reload(s: DynStore) {
    let f = with_profiles();
    s.load_fixture(&f, NOW).await.unwrap();
    let dumped = s.dump(Some("E1")).await.unwrap();
    assert_eq!(
        dumped.orgs[0].users, f.orgs[0].users,
        "profiles dumped as loaded"
    );
    let text = serde_json::to_string(&dumped).unwrap();
    assert!(text.contains(r#""email":"Dana@Acme.example""#), "{text}");
    assert!(text.contains(r#""deleted":true"#), "{text}");
    assert_eq!(
        text.matches("\"deleted\"").count(),
        1,
        "false is left out: {text}"
    );
    // Reloading the dump (tokens are not dumped) into an empty store gives the same directory.
    s.reset_all().await.unwrap();
    let mut again: Fixture = serde_json::from_str(&text).unwrap();
    again.orgs[0].tokens.clear();
    again.check().unwrap();
    s.load_fixture(&again, NOW).await.unwrap();
    let dana = s
        .user_by_email("E1", "dana@acme.example")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dana.user.user_id, "W2");
    assert!(s.user_record("E1", "W4").await.unwrap().unwrap().deleted);
    // A reload of the org without profiles drops them with the org.
    let mut plain = base_fixture();
    plain.orgs.truncate(1);
    s.load_fixture(&plain, NOW).await.unwrap();
    assert_eq!(
        s.user_by_email("E1", "dana@acme.example").await.unwrap(),
        None
    );
    assert_eq!(
        s.user_record("E1", "W2").await.unwrap().unwrap().email,
        None
    );
}

pub async fn directory_duplicate_email_is_refused_and_changes_nothing(s: DynStore) {
    s.load_fixture(&with_profiles(), NOW).await.unwrap();
    let mut bad = with_profiles();
    bad.orgs[0].users[2].email = Some("dana@acme.example".into());
    bad.orgs[0].users[3].email = Some("DANA@acme.EXAMPLE".into());
    bad.orgs[0].users[2].real_name = Some("Changed".into());
    match s.load_fixture(&bad, NOW).await {
        Err(StoreError::Fixture(e)) => {
            assert_eq!(e.entry, "orgs[0] (E1).users[3] (W3)");
            assert!(e.message.contains("already used by user W2"), "{e}");
        }
        other => panic!("expected a refused fixture, got {other:?}"),
    }
    let dana = s.user_record("E1", "W2").await.unwrap().unwrap();
    assert_eq!(dana.real_name.as_deref(), Some("Dana Scully"), "unchanged");
    assert_eq!(dana.email.as_deref(), Some("Dana@Acme.example"));
}

/// A deactivated user's tokens (API and session) authenticate as [`TokenLookup::Inactive`];
/// others of the org are unaffected, and reactivating the user (a reload) lets them in again.
pub async fn directory_deactivated_users_do_not_authenticate(s: DynStore) {
    let mut f = with_profiles();
    let e1 = &mut f.orgs[0];
    let mut otto = e1.tokens[0].clone();
    otto.token = "xoxp-otto".into();
    otto.user = "W4".into();
    e1.tokens.push(otto);
    let session = e1.sessions.iter_mut().find(|x| x.session_id == 1006);
    session.expect("W4's session").token = Some("xoxc-1006".into());
    f.check().expect("valid fixture");
    s.load_fixture(&f, NOW).await.unwrap();
    for token in ["xoxp-otto", "xoxc-1006"] {
        assert_eq!(
            s.authenticate(&TokenHash::of(token), NOW).await.unwrap(),
            TokenLookup::Inactive,
            "{token}"
        );
    }
    super::active(&s, "xoxp-dana", NOW).await;
    super::active(&s, "xoxc-1001", NOW).await;

    f.orgs[0].users[4].deleted = false;
    s.load_fixture(&f, NOW).await.unwrap();
    let otto = super::active(&s, "xoxp-otto", NOW).await;
    assert_eq!(otto.user.user_id, "W4");
    super::active(&s, "xoxc-1006", NOW).await;
}
