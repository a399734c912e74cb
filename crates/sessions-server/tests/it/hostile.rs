//! Property tests for the pure parsers the fuzz targets (`fuzz/`) exercise: argument parsing in
//! every content type and list encoding (`extract::parse_args`) followed by every method's
//! `Request::from_args` + `validate`, and cursor decoding.

use proptest::prelude::*;
use sessions_server::cursor::{decode, encode, CursorError, CursorState};
use sessions_server::extract::parse_args;
use sessions_wire::{
    Args, AuthTestRequest, ClearSettingsRequest, ErrorCode, GetSettingsRequest, InvalidateRequest,
    ListRequest, Request, ResetBulkRequest, ResetRequest, SetSettingsRequest,
};

fn pct(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn urlencoded(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", pct(k), pct(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn multipart(pairs: &[(String, String)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (k, v) in pairs {
        body.extend_from_slice(
            format!("--XyZ\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(b"--XyZ--\r\n");
    body
}

/// Argument names as SDKs send them; values any text without NUL (multipart can carry
/// anything but the boundary, which these values cannot contain).
fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![
        Just("user_id".to_owned()),
        Just("user_ids".to_owned()),
        Just("session_id".to_owned()),
        Just("duration".to_owned()),
        Just("cursor".to_owned()),
        Just("limit".to_owned()),
        "[a-z_]{1,12}",
    ];
    proptest::collection::vec((name, "[^\u{0}\r\n-]{0,24}"), 0..6)
}

/// Every request type decodes and validates without panicking; what validates re-encodes
/// (as the client would send it) to the same request.
fn check_all(args: &Args) -> Result<(), TestCaseError> {
    fn one<R: Request + PartialEq + std::fmt::Debug>(args: &Args) -> Result<(), TestCaseError> {
        match R::from_args(args) {
            Ok(req) => {
                if req.validate().is_ok() {
                    let mut again = Args::new();
                    for (k, v) in req.to_form() {
                        again.push(k, v);
                    }
                    let back = R::from_args(&again)
                        .map_err(|e| TestCaseError::fail(format!("re-decoding {req:?}: {e}")))?;
                    prop_assert_eq!(&back, &req);
                    prop_assert!(back.validate().is_ok());
                }
            }
            Err(e) => {
                prop_assert!(e.slack_message().starts_with("[ERROR] "));
                prop_assert!(!matches!(e.code(), ErrorCode::Other(_)), "{:?}", e);
            }
        }
        Ok(())
    }
    one::<ListRequest>(args)?;
    one::<InvalidateRequest>(args)?;
    one::<ResetRequest>(args)?;
    one::<ResetBulkRequest>(args)?;
    one::<GetSettingsRequest>(args)?;
    one::<SetSettingsRequest>(args)?;
    one::<ClearSettingsRequest>(args)?;
    one::<AuthTestRequest>(args)?;
    Ok(())
}

fn content_type() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("application/x-www-form-urlencoded".to_owned())),
        Just(Some("application/json; charset=utf-8".to_owned())),
        Just(Some("multipart/form-data; boundary=XyZ".to_owned())),
        Just(Some("multipart/form-data".to_owned())),
        Just(Some("text/plain".to_owned())),
        ".{0,30}".prop_map(Some),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Arbitrary bytes in any content type: never a panic, refusals carry a documented code
    /// and an `[ERROR]` line, and whatever parses goes through every request type cleanly.
    #[test]
    fn arbitrary_input_never_panics(
        ct in content_type(),
        query in proptest::option::of("[ -~]{0,60}"),
        body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..200),
            "[a-z_%&=\\[\\]{},\":0-9 A-Z']{0,120}".prop_map(String::into_bytes),
        ],
    ) {
        match parse_args(ct.as_deref(), query.as_deref(), &body) {
            Ok(call) => check_all(&call.args)?,
            Err(e) => {
                prop_assert!(e.message.starts_with("[ERROR] "), "{:?}", e);
                prop_assert!(!matches!(e.code, ErrorCode::Other(_)), "{:?}", e);
            }
        }
    }

    /// The same arguments arrive identically as a form, a query string, a JSON object (single
    /// values) and multipart.
    #[test]
    fn every_content_type_yields_the_same_arguments(raw in pairs()) {
        // JSON objects cannot repeat a key: keep the first of each name everywhere.
        let mut seen = std::collections::HashSet::new();
        let pairs: Vec<_> = raw.into_iter().filter(|(k, _)| seen.insert(k.clone())).collect();
        let form = urlencoded(&pairs);
        let from_form = parse_args(Some("application/x-www-form-urlencoded"), None, form.as_bytes()).unwrap().args;
        let from_query = parse_args(None, Some(&form), b"").unwrap().args;
        let json = serde_json::Value::Object(pairs.iter().map(|(k, v)| (k.clone(), v.clone().into())).collect());
        let from_json = parse_args(Some("application/json"), None, json.to_string().as_bytes()).unwrap().args;
        let from_mp = parse_args(Some("multipart/form-data; boundary=XyZ"), None, &multipart(&pairs)).unwrap().args;
        let mut want = Args::new();
        for (k, v) in &pairs {
            if k != "token" {
                want.push(k.clone(), v.clone());
            }
        }
        let sorted = |a: &Args| { let mut p = a.pairs().to_vec(); p.sort(); p };
        prop_assert_eq!(sorted(&from_form), sorted(&want));
        prop_assert_eq!(sorted(&from_query), sorted(&want));
        prop_assert_eq!(sorted(&from_json), sorted(&want));
        prop_assert_eq!(sorted(&from_mp), sorted(&want));
        check_all(&from_form)?;
    }

    /// Every list encoding SDKs use gives the same user_ids.
    #[test]
    fn every_list_encoding_yields_the_same_ids(ids in proptest::collection::vec("[UW][A-Z0-9]{2,10}", 1..8)) {
        let comma = ids.join(",");
        let json_text = serde_json::to_string(&ids).unwrap();
        let python = format!("[{}]", ids.iter().map(|i| format!("'{i}'")).collect::<Vec<_>>().join(", "));
        let repeated: String = ids.iter().map(|i| format!("user_ids={i}")).collect::<Vec<_>>().join("&");
        let bodies: Vec<(Option<&str>, Vec<u8>)> = vec![
            (Some("application/x-www-form-urlencoded"), format!("user_ids={}", pct(&comma)).into_bytes()),
            (Some("application/x-www-form-urlencoded"), format!("user_ids={}", pct(&json_text)).into_bytes()),
            (Some("application/x-www-form-urlencoded"), format!("user_ids={}", pct(&python)).into_bytes()),
            (Some("application/x-www-form-urlencoded"), repeated.into_bytes()),
            (Some("application/json"), serde_json::json!({"user_ids": ids}).to_string().into_bytes()),
            (Some("application/json"), serde_json::json!({"user_ids": comma}).to_string().into_bytes()),
            (Some("multipart/form-data; boundary=XyZ"), multipart(&[("user_ids".into(), json_text.clone())])),
        ];
        for (ct, body) in bodies {
            let args = parse_args(ct, None, &body).unwrap().args;
            prop_assert_eq!(args.list("user_ids").unwrap(), Some(ids.clone()), "{:?} {}", ct, String::from_utf8_lossy(&body));
            let req = GetSettingsRequest::from_args(&args).unwrap();
            prop_assert!(req.validate().is_ok());
            prop_assert_eq!(&req.user_ids, &ids);
        }
    }

    /// A cursor round-trips for any org, filter and position, and nothing else is accepted.
    #[test]
    fn cursors_round_trip_and_refuse_everything_else(
        org in "[A-Z0-9]{1,12}",
        filter in proptest::option::of(("[A-Z0-9]{0,12}", "[A-Z0-9]{0,12}")),
        last in any::<u64>(),
        key in proptest::collection::vec(any::<u8>(), 0..48),
        other_key in proptest::collection::vec(any::<u8>(), 0..48),
        cut in any::<prop::sample::Index>(),
        junk in ".{0,80}",
    ) {
        let st = CursorState { org_id: org.clone(), filter: filter.clone(), last };
        let c = encode(&key, &st);
        prop_assert_eq!(decode(&key, &c, &org, filter.as_ref()), Ok(last));
        if other_key != key {
            prop_assert_eq!(decode(&other_key, &c, &org, filter.as_ref()), Err(CursorError::BadSignature));
        }
        let other_org = format!("{org}X");
        prop_assert_eq!(decode(&key, &c, &other_org, filter.as_ref()), Err(CursorError::ForeignOrg));
        let other_filter = match &filter {
            Some(_) => None,
            None => Some(("T".to_owned(), "W".to_owned())),
        };
        prop_assert_eq!(decode(&key, &c, &org, other_filter.as_ref()), Err(CursorError::OtherFilter));
        let n = cut.index(c.len());
        prop_assert!(decode(&key, &c[..n], &org, filter.as_ref()).is_err());
        // Arbitrary text is accepted only if it is exactly this cursor (modulo the padding
        // and whitespace decode tolerates).
        if let Ok(v) = decode(&key, &junk, &org, filter.as_ref()) {
            prop_assert_eq!(junk.trim().trim_end_matches('='), c.as_str());
            prop_assert_eq!(v, last);
        }
    }
}
