//! Slack's own sample responses (from ../shared/spec) decode into our types.

use std::path::PathBuf;

use sessions_wire::*;

fn spec_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/spec/slack")
}

fn read(rel: &str) -> serde_json::Value {
    let path = spec_dir().join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "reading {} (../shared must sit beside the checkout): {e}",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

#[test]
fn spec_examples_decode() {
    let list = read("admin.users.session.list.json");
    let example = &list["examples"]["success"]["example"];
    let page: ListResponse = serde_json::from_value(example.clone()).unwrap();
    assert_eq!(page.active_sessions.len(), 1);
    assert_eq!(
        page.active_sessions[0].session_id,
        SessionId(1_112_275_520_242)
    );
    assert_eq!(page.active_sessions[0].created.os.as_deref(), Some("OS X"));
    let env: Envelope = serde_json::from_value(example.clone()).unwrap();
    assert!(env.ok);

    let get = read("admin.users.session.getSettings.json");
    let settings: GetSettingsResponse =
        serde_json::from_value(get["examples"]["success"]["example"].clone()).unwrap();
    assert_eq!(settings.session_settings[0].duration, Some(315_569_520));
    assert_eq!(
        settings.session_settings[0].desktop_app_browser_quit,
        Some(true)
    );

    let auth = read("auth.test.json");
    let who: AuthTestResponse =
        serde_json::from_value(auth["examples"]["success"]["example"].clone()).unwrap();
    assert_eq!(who.user_id, "W12345678");
    let err: Envelope =
        serde_json::from_value(auth["examples"]["error_with_no_token"]["example"].clone()).unwrap();
    assert_eq!(err.error, Some(ErrorCode::NotAuthed));
}

#[test]
fn java_sdk_response_logs_decode() {
    // The Java SDK's merged samples carry every field Slack has been seen to send.
    let list = read("java-slack-sdk/json-logs/admin.users.session.list.json");
    let page: ListResponse = serde_json::from_value(list).unwrap();
    assert_eq!(page.active_sessions[0].session_id, SessionId(12345));
    assert_eq!(page.next_cursor(), None);
    for m in [
        "getSettings",
        "invalidate",
        "reset",
        "resetBulk",
        "setSettings",
        "clearSettings",
    ] {
        let v = read(&format!(
            "java-slack-sdk/json-logs/admin.users.session.{m}.json"
        ));
        let env: Envelope = serde_json::from_value(v).unwrap_or_else(|e| panic!("{m}: {e}"));
        assert!(!env.ok);
    }
}

#[test]
fn every_documented_error_code_is_known() {
    // Each method's documented errors parse as known codes, so callers can match on them.
    // `../shared` has no reference file for `auth.revoke`; these are the errors Slack's
    // reference lists for it, but `not_bearer_token` ("incompatible token type"), which we
    // answer as `not_allowed_token_type` (a session token).
    let unspecced: &[(&str, &[&str])] = &[(AuthRevoke::NAME, &["not_authed", "invalid_auth"])];
    let mut unknown = Vec::new();
    for m in METHOD_NAMES {
        let codes: Vec<String> = match unspecced.iter().find(|(name, _)| name == m) {
            Some((_, codes)) => codes.iter().map(|c| c.to_string()).collect(),
            None => read(&format!("{m}.json"))["errors"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect(),
        };
        for code in &codes {
            if let ErrorCode::Other(c) = ErrorCode::parse(code) {
                unknown.push(format!("{m}: {c}"));
            }
        }
    }
    assert!(unknown.is_empty(), "unknown codes: {unknown:?}");
}

#[test]
fn method_tiers_match_slack() {
    let tiers = read("rate_limit_tiers.json");
    let check = |name: &str, tier: RateTier| {
        let want = tiers[name].as_str().unwrap();
        let got = match tier {
            RateTier::Tier2 => "Tier2",
            RateTier::Tier4 => "Tier4",
            _ => "SpecialTier_auth_test",
        };
        assert_eq!(got, want, "{name}");
    };
    check(SessionList::NAME, SessionList::TIER);
    check(SessionInvalidate::NAME, SessionInvalidate::TIER);
    check(SessionReset::NAME, SessionReset::TIER);
    check(SessionResetBulk::NAME, SessionResetBulk::TIER);
    check(SessionGetSettings::NAME, SessionGetSettings::TIER);
    check(SessionSetSettings::NAME, SessionSetSettings::TIER);
    check(SessionClearSettings::NAME, SessionClearSettings::TIER);
    check(AuthTest::NAME, AuthTest::TIER);
}

#[test]
fn session_ids_decode_from_numbers_and_strings() {
    for text in ["42", "\"42\"", "42.0"] {
        let id: SessionId = serde_json::from_str(text).unwrap();
        assert_eq!(id, SessionId(42), "{text}");
    }
    for bad in ["-1", "\"x\"", "1.5", "null"] {
        assert!(serde_json::from_str::<SessionId>(bad).is_err(), "{bad}");
    }
}

#[test]
fn users_spec_examples_decode() {
    for (m, key) in [
        ("users.info", "user"),
        ("users.lookupByEmail", "user"),
        ("users.list", "members"),
    ] {
        let example = read(&format!("{m}.json"))["examples"]["success"]["example"].clone();
        let user: User = if key == "user" {
            serde_json::from_value::<UserResponse>(example)
                .unwrap_or_else(|e| panic!("{m}: {e}"))
                .user
        } else {
            let page: UsersListResponse = serde_json::from_value(example).unwrap();
            assert_eq!(page.cache_ts, Some(1_498_777_272));
            assert_eq!(page.next_cursor(), Some("dXNlcjpVMEc5V0ZYTlo="));
            page.members.into_iter().next().unwrap()
        };
        assert_eq!(user.id, "W012A3CDE", "{m}");
        assert_eq!(user.team_id, "T012AB3C4");
        assert_eq!(user.real_name, "Egon Spengler");
        assert!(user.is_admin && !user.is_owner && !user.deleted && !user.is_bot);
        assert_eq!(user.email(), Some("spengler@ghostbusters.example.com"));
        assert_eq!(user.profile.display_name, "spengler");
        assert_eq!(user.enterprise_user, None);
    }
}

#[test]
fn users_methods_match_their_specs() {
    // Tier, scope and admin-only as Slack's method reference states them.
    let check = |name: &str, tier: RateTier, scope: Scope, admin: bool| {
        let spec = read(&format!("{name}.json"));
        let want_tier = match spec["rate_limits"].as_str().unwrap() {
            "t2" => RateTier::Tier2,
            "t3" => RateTier::Tier3,
            "t4" => RateTier::Tier4,
            other => panic!("{name}: tier {other}"),
        };
        assert_eq!(tier, want_tier, "{name}");
        assert_eq!(scope.as_str(), spec["scope"].as_str().unwrap(), "{name}");
        assert!(!admin, "{name} is not admin-only");
    };
    check(
        UsersLookupByEmail::NAME,
        UsersLookupByEmail::TIER,
        UsersLookupByEmail::SCOPE,
        UsersLookupByEmail::ADMIN_ONLY,
    );
    check(
        UsersInfo::NAME,
        UsersInfo::TIER,
        UsersInfo::SCOPE,
        UsersInfo::ADMIN_ONLY,
    );
    check(
        UsersList::NAME,
        UsersList::TIER,
        UsersList::SCOPE,
        UsersList::ADMIN_ONLY,
    );
    assert_eq!(RateTier::Tier3.per_minute(), 50);
}

#[test]
fn enterprise_user_decodes() {
    let v = serde_json::json!({
        "id": "W1", "team_id": "T1", "name": "dana", "deleted": true,
        "profile": {"real_name": "Dana", "email": "d@x.example", "unknown": 1},
        "enterprise_user": {"id": "W1", "enterprise_id": "E1", "enterprise_name": "Acme",
                            "is_admin": false, "is_owner": false, "teams": ["T1", "T2"]},
        "tz": "Europe/Paris"
    });
    let u: User = serde_json::from_value(v).unwrap();
    assert!(u.deleted);
    let e = u.enterprise_user.unwrap();
    assert_eq!(e.enterprise_id, "E1");
    assert_eq!(e.teams, vec!["T1", "T2"]);
}
