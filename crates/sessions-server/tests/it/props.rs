//! Arbitrary garbage never yields a 5xx or a non-Slack answer.

use proptest::prelude::*;
use sessions_wire::{AuthRevoke, Method};

use crate::support::*;

fn content_types() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("application/x-www-form-urlencoded".to_owned())),
        Just(Some("application/json".to_owned())),
        Just(Some("multipart/form-data; boundary=b".to_owned())),
        Just(Some("text/plain; charset=utf-8".to_owned())),
        "[ -~]{0,40}".prop_map(Some),
    ]
}

fn bodies() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        "[a-z_%&=\\[\\]{}\",:0-9 ]{0,200}".prop_map(String::into_bytes),
        "\\{(\"[a-z_]{1,10}\":(\"[A-Z0-9,\\[\\]']{0,20}\"|[0-9]{1,25}|true|null|\\[\\]|\\{\\}),?){0,5}\\}".prop_map(String::into_bytes),
    ]
}

#[test]
fn garbage_never_yields_5xx() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(start());
    let methods = sessions_wire::METHOD_NAMES;
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 96,
        ..ProptestConfig::default()
    });
    runner
        .run(
            &(
                0..methods.len() + 1,
                content_types(),
                bodies(),
                any::<bool>(),
            ),
            |(m, ct, body, authed)| {
                let method = methods.get(m).copied().unwrap_or("no.such.method");
                // Garbage that reads as a valid `auth.revoke` revokes its token: that one is
                // not the token the other methods (and the check at the end) are called with.
                let token = if method == AuthRevoke::NAME {
                    MEMBER
                } else {
                    ADMIN
                };
                let r =
                    rt.block_on(s.post_raw(method, authed.then_some(token), ct.as_deref(), body));
                prop_assert!(r.status == 200, "status {} body {}", r.status, r.text);
                prop_assert!(r.body["ok"].is_boolean(), "{}", r.text);
                prop_assert_eq!(
                    r.header("content-type"),
                    Some("application/json; charset=utf-8")
                );
                Ok(())
            },
        )
        .unwrap();
    rt.block_on(async {
        // and the server still works
        assert_eq!(s.client(ADMIN).auth_test().await.unwrap().user_id, "WADMIN");
    });
}
