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
    let mut unknown = Vec::new();
    for m in METHOD_NAMES {
        let spec = read(&format!("{m}.json"));
        for code in spec["errors"].as_object().unwrap().keys() {
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
