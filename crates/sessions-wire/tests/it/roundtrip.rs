//! What a client encodes, a server decodes back to the same request, in every SDK's list shape.

use proptest::prelude::*;
use sessions_wire::args::parse_id_list;
use sessions_wire::*;

fn id() -> impl Strategy<Value = String> {
    "[A-Z][A-Z0-9]{1,11}"
}

fn ids() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(id(), 1..20)
}

fn via_urlencoded<R: Request>(req: &R) -> R {
    // Through real form encoding, as it travels.
    let body = serde_urlencoded::to_string(req.to_form()).unwrap();
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap();
    R::from_args(&pairs.into_iter().collect()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn list_round_trips(team in proptest::option::of(id()), user in proptest::option::of(id()),
                        limit in proptest::option::of(1u32..=1000), cursor in proptest::option::of("[A-Za-z0-9_-]{1,40}")) {
        let req = ListRequest { team_id: team, user_id: user, limit, cursor };
        prop_assert_eq!(via_urlencoded(&req), req);
    }

    #[test]
    fn invalidate_round_trips(sid in 1u64..u64::MAX, user in proptest::option::of(id()), team in proptest::option::of(id())) {
        let req = InvalidateRequest { session_id: Some(SessionId(sid)), user_id: user, team_id: team };
        prop_assert_eq!(via_urlencoded(&req), req);
    }

    #[test]
    fn reset_bulk_round_trips(user_ids in ids(), mobile in any::<Option<bool>>(), web in any::<Option<bool>>()) {
        let req = ResetBulkRequest { user_ids, mobile_only: mobile, web_only: web };
        prop_assert_eq!(via_urlencoded(&req), req);
    }

    #[test]
    fn set_settings_round_trips(user_ids in ids(), duration in proptest::option::of(DURATION_MIN..=DURATION_MAX), quit in any::<Option<bool>>()) {
        let req = SetSettingsRequest { user_ids, duration, desktop_app_browser_quit: quit };
        prop_assert_eq!(via_urlencoded(&req), req);
    }

    /// Node sends `["U1","U2"]`, Slack's docs `['U1','U2']`, Python and Java `U1,U2`.
    #[test]
    fn every_list_shape_decodes_alike(user_ids in ids()) {
        let comma = user_ids.join(",");
        let json = serde_json::to_string(&user_ids).unwrap();
        let python = format!("[{}]", user_ids.iter().map(|u| format!("'{u}'")).collect::<Vec<_>>().join(", "));
        prop_assert_eq!(parse_id_list(&comma).unwrap(), user_ids.clone());
        prop_assert_eq!(parse_id_list(&json).unwrap(), user_ids.clone());
        prop_assert_eq!(parse_id_list(&python).unwrap(), user_ids.clone());
        let repeated: Args = user_ids.iter().map(|u| ("user_ids", u.as_str())).collect();
        prop_assert_eq!(repeated.list("user_ids").unwrap().unwrap(), user_ids);
    }

    /// The parsers are total: arbitrary text never panics.
    #[test]
    fn parsers_never_panic(s in ".{0,64}") {
        let _ = parse_id_list(&s);
        let _ = args::parse_bool(&s);
        let _ = args::parse_u64(&s);
        let args: Args = [("user_ids", s.as_str()), ("limit", s.as_str()), ("session_id", s.as_str())].into_iter().collect();
        let _ = ListRequest::from_args(&args).map(|r| r.validate());
        let _ = ResetBulkRequest::from_args(&args).map(|r| r.validate());
        let _ = InvalidateRequest::from_args(&args).map(|r| r.validate());
    }
}

#[test]
fn validation_names_the_argument() {
    let cases: Vec<(Result<(), ArgError>, &str)> = vec![
        (
            InvalidateRequest::default().validate(),
            "Required arguments :session_id missing",
        ),
        (
            InvalidateRequest {
                session_id: Some(SessionId(1)),
                ..Default::default()
            }
            .validate(),
            "Required arguments: one of :user_id or :team_id missing",
        ),
        (
            ResetRequest::default().validate(),
            "Required arguments :user_id missing",
        ),
        (
            ResetBulkRequest::default().validate(),
            "Required arguments :user_ids missing",
        ),
        (
            ListRequest {
                user_id: Some("W1".into()),
                ..Default::default()
            }
            .validate(),
            "team_id must be given with user_id",
        ),
        (
            ListRequest::org().limit(0).validate(),
            "limit must be between 1 and 1000 (got 0)",
        ),
        (
            ListRequest::org().limit(1001).validate(),
            "limit must be between 1 and 1000 (got 1001)",
        ),
        (
            SetSettingsRequest::new(["W1"]).validate(),
            "at least one of duration or desktop_app_browser_quit is required",
        ),
        (
            SetSettingsRequest::new(["W1"]).duration(60).validate(),
            "duration must be between 28800 and 315569520 (got 60)",
        ),
        (
            GetSettingsRequest::new(["W1", ""]).validate(),
            "user_ids[1] is not a valid id",
        ),
        (
            ResetRequest {
                user_id: "W1".into(),
                mobile_only: Some(true),
                web_only: Some(true),
            }
            .validate(),
            "mobile_only and web_only cannot both be true",
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got.unwrap_err().to_string(), want);
    }
    let too_many = ResetBulkRequest::new((0..1001).map(|i| format!("W{i}")));
    assert_eq!(
        too_many.validate().unwrap_err(),
        ArgError::BadLength {
            name: "user_ids",
            min: 1,
            max: 1000,
            got: 1001
        }
    );
    assert!(ResetBulkRequest::new((0..1000).map(|i| format!("W{i}")))
        .validate()
        .is_ok());
}

#[test]
fn wire_form_uses_slack_conventions() {
    let req = ResetBulkRequest {
        user_ids: vec!["W1".into(), "W2".into()],
        mobile_only: Some(true),
        web_only: None,
    };
    assert_eq!(
        serde_urlencoded::to_string(req.to_form()).unwrap(),
        "user_ids=W1%2CW2&mobile_only=true"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn users_requests_round_trip(email in "[a-z0-9.+]{1,20}@[a-z]{1,10}\\.example", user in id(),
                                 team in proptest::option::of(id()), limit in proptest::option::of(any::<u32>()),
                                 cursor in proptest::option::of("[A-Za-z0-9_=-]{1,40}")) {
        let req = UsersLookupByEmailRequest::new(email);
        prop_assert_eq!(via_urlencoded(&req), req);
        let req = UsersInfoRequest::new(user);
        prop_assert_eq!(via_urlencoded(&req), req);
        let req = UsersListRequest { cursor, limit, team_id: team };
        prop_assert_eq!(via_urlencoded(&req), req);
    }
}
