//! The audit log request: encoding round trips, tolerant decoding, validation bounds.

use proptest::prelude::*;
use sessions_wire::audit::{AuditLogsRequest, AuditLogsResponse, AUDIT_LIMIT_MAX};
use sessions_wire::{ArgError, Args, Request};

#[test]
fn empty_arguments_are_no_filter() {
    let args: Args = [("action", ""), ("actor", " "), ("cursor", "")]
        .into_iter()
        .collect();
    assert_eq!(
        AuditLogsRequest::from_args(&args).unwrap(),
        AuditLogsRequest::default()
    );
}

#[test]
fn bounds_are_checked() {
    let bad = |r: AuditLogsRequest| r.validate().unwrap_err();
    assert!(matches!(
        bad(AuditLogsRequest::default().limit(0)),
        ArgError::OutOfRange { name: "limit", .. }
    ));
    assert!(matches!(
        bad(AuditLogsRequest::default().limit(AUDIT_LIMIT_MAX + 1)),
        ArgError::OutOfRange { name: "limit", .. }
    ));
    assert!(matches!(
        bad(AuditLogsRequest::default().oldest(10).latest(9)),
        ArgError::OutOfRange { name: "oldest", .. }
    ));
    assert!(matches!(
        bad(AuditLogsRequest::default().latest(u64::MAX)),
        ArgError::OutOfRange { name: "latest", .. }
    ));
    AuditLogsRequest::default()
        .limit(AUDIT_LIMIT_MAX)
        .oldest(9)
        .latest(9)
        .validate()
        .unwrap();
    let args: Args = [("limit", "ten")].into_iter().collect();
    assert!(matches!(
        AuditLogsRequest::from_args(&args),
        Err(ArgError::NotInteger { name: "limit" })
    ));
}

#[test]
fn entries_decode_without_optional_parts() {
    let page: AuditLogsResponse = serde_json::from_str(
        r#"{"ok":true,"entries":[{"id":"1","date_create":5,"action":"bulk_session_reset_by_admin",
            "actor":{"type":"user","user":{"id":"W1"}},"entity":{"type":"users"},
            "context":{"location":{"type":"enterprise","id":"E1"}},
            "details":{"user_ids":["W2","W3"],"result":"ok","method":"m"}}],
            "response_metadata":{"next_cursor":"abc"}}"#,
    )
    .unwrap();
    let e = &page.entries[0];
    assert_eq!(e.target(), "W2,W3");
    assert_eq!((e.result(), e.method()), ("ok", "m"));
    assert_eq!(page.next_cursor(), Some("abc"));
}

proptest! {
    #[test]
    fn form_round_trips(
        action in proptest::option::of("[a-z_]{1,20}"),
        actor in proptest::option::of("W[A-Z0-9]{1,8}"),
        user in proptest::option::of("W[A-Z0-9]{1,8}"),
        oldest in proptest::option::of(0u64..=i64::MAX as u64),
        latest in proptest::option::of(0u64..=i64::MAX as u64),
        limit in proptest::option::of(1u32..=AUDIT_LIMIT_MAX),
        cursor in proptest::option::of("[A-Za-z0-9_-]{1,40}"),
    ) {
        let req = AuditLogsRequest { action, actor, user, oldest, latest, limit, cursor };
        let args: Args = req.to_form().into_iter().collect();
        prop_assert_eq!(AuditLogsRequest::from_args(&args).unwrap(), req);
    }
}
