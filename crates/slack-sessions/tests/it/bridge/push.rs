//! RFC 8935 push: a session-revoked SET signs that person out and nobody else, a replay acts
//! once, refused SETs get the RFC's error codes and change nothing, and a `202` survives a
//! SIGKILL.

use serde_json::json;

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_pushed_session_revoked_signs_out_that_person_only_and_a_replay_acts_once() {
    let Setup { dir, serve, tx } = setup().await;
    let bridge = BridgeProcess::start(&serve, &tx, &dir.path().join("bridge"), &[]).await;
    for t in DANA_TOKENS.iter().chain(&OTHER_TOKENS) {
        assert!(token_works(&serve, t).await, "{t} works before");
    }

    let set = tx.session_revoked(&jti(), "dana@acme.example");
    let (status, body) = bridge.push(&set).await;
    assert_eq!(status, 202, "{body}");
    // Her sessions end during the bridge's call; it records the outcome once the call returns.
    eventually("dana's sessions to end, recorded", &bridge, || async {
        sessions_of(&serve, "W0DEV").await.is_empty()
            && bridge
                .metrics()
                .await
                .contains(r#"bridge_actions_total{result="signed_out"} 1"#)
    })
    .await;
    for t in DANA_TOKENS {
        assert!(
            !token_works(&serve, t).await,
            "{t} still works after the sign-out"
        );
    }
    for t in OTHER_TOKENS {
        assert!(token_works(&serve, t).await, "{t} was signed out too");
    }
    assert_eq!(sessions_of(&serve, "W0OPS").await, vec![1004]);
    assert_eq!(sessions_of(&serve, "W0ADMIN").await, vec![1005]);
    assert_eq!(
        audit_count(&serve, "user_session_reset_by_admin", "W0DEV").await,
        1
    );
    // One person: one synchronous `reset` of her, no resetBulk job.
    let resets = requests_of(&serve, "admin.users.session.reset").await;
    assert_eq!(resets.len(), 1, "{resets:?}");
    assert_eq!(resets[0]["args"]["user_id"], "W0DEV", "{resets:?}");
    assert_eq!(resets[0]["answer"], "ok", "{resets:?}");
    let bulk = requests_of(&serve, "admin.users.session.resetBulk").await;
    assert!(bulk.is_empty(), "{bulk:?}");

    // The same SET again: acknowledged, not acted on again.
    let (status, _) = bridge.push(&set).await;
    assert_eq!(status, 202);
    eventually("the duplicate to be counted", &bridge, || async {
        bridge
            .metrics()
            .await
            .contains(r#"bridge_events_total{event_type="session-revoked",result="duplicate"} 1"#)
    })
    .await;
    let metrics = bridge.metrics().await;
    assert!(
        metrics.contains(r#"bridge_actions_total{result="signed_out"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("bridge_signout_lag_seconds_count 1"),
        "{metrics}"
    );

    let status = status_json(&bridge.data_dir);
    let signal = &status["signals"][0];
    assert_eq!(signal["via"], "push");
    assert_eq!(signal["event_types"], json!([SESSION_REVOKED]));
    assert_eq!(signal["actions"][0]["state"], "signed_out");
    assert_eq!(signal["actions"][0]["user_id"], "W0DEV");
    assert_eq!(status["actions"]["signed_out"], 1);
    // A wrongly started second sign-out would show in the audit log by the time the worker
    // has acted on a later signal.
    worker_caught_up(&bridge, &serve, &tx).await;
    assert_eq!(
        audit_count(&serve, "user_session_reset_by_admin", "W0DEV").await,
        1,
        "a replayed jti acted twice"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_sets_get_400_with_the_rfc_8935_code_and_change_nothing() {
    let Setup { dir, serve, tx } = setup().await;
    let bridge = BridgeProcess::start(&serve, &tx, &dir.path().join("bridge"), &[]).await;
    let claims = |f: &dyn Fn(&mut Value)| {
        let mut c = Transmitter::set_claims(
            &jti(),
            SESSION_REVOKED,
            json!({"format": "email", "email": "dana@acme.example"}),
        );
        f(&mut c);
        c
    };
    // A key the transmitter never published, under the published kid: the signature fails.
    let mut forger = SigningKey::rsa("rsa-1");
    let bad_signature = forger.sign(&claims(&|_| {}), "secevent+jwt");
    forger.kid = "rsa-unknown".into();
    let unknown_kid = forger.sign(&claims(&|_| {}), "secevent+jwt");
    let wrong_issuer = tx.rsa.sign(
        &claims(&|c| c["iss"] = json!("https://evil.example")),
        "secevent+jwt",
    );
    let wrong_audience = tx.ec.sign(
        &claims(&|c| c["aud"] = json!(["https://other.example"])),
        "secevent+jwt",
    );
    let future = tx
        .rsa
        .sign(&claims(&|c| c["iat"] = json!(now() + 3600)), "secevent+jwt");
    let no_jti = tx.rsa.sign(
        &claims(&|c| {
            c.as_object_mut().unwrap().remove("jti");
        }),
        "secevent+jwt",
    );
    let cases: [(&str, &str, &str); 8] = [
        ("bad signature", &bad_signature, "authentication_failed"),
        ("unknown kid", &unknown_kid, "invalid_key"),
        ("wrong issuer", &wrong_issuer, "invalid_issuer"),
        ("wrong audience", &wrong_audience, "invalid_audience"),
        ("iat in the future", &future, "invalid_request"),
        ("no jti", &no_jti, "invalid_request"),
        ("not a JWT", "hello", "invalid_request"),
        (
            "unsigned",
            "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.",
            "invalid_request",
        ),
    ];
    for (what, body, err) in cases {
        let (status, answer) = bridge.push(body).await;
        assert_eq!(status, 400, "{what}: {answer}");
        assert_eq!(answer["err"], err, "{what}: {answer}");
        assert!(
            answer["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{what}: {answer}"
        );
    }
    let (status, answer) = bridge
        .push_as(
            &tx.session_revoked(&jti(), "dana@acme.example"),
            "application/json",
        )
        .await;
    assert_eq!(
        (status, answer["err"].as_str()),
        (400, Some("invalid_request"))
    );

    // Nothing changed: nothing recorded, and once the worker has acted on a later signal,
    // everyone's sessions are there and nothing was reset.
    assert_eq!(status_json(&bridge.data_dir)["signals"], json!([]));
    worker_caught_up(&bridge, &serve, &tx).await;
    assert_eq!(sessions_of(&serve, "W0DEV").await, vec![1001, 1002, 1003]);
    for t in DANA_TOKENS {
        assert!(token_works(&serve, t).await);
    }
    assert_eq!(
        audit_count(&serve, "user_session_reset_by_admin", "W0DEV").await,
        0
    );
    let metrics = bridge.metrics().await;
    for err in [
        "authentication_failed",
        "invalid_key",
        "invalid_issuer",
        "invalid_audience",
    ] {
        assert!(
            metrics.contains(&format!(
                r#"bridge_events_total{{event_type="unverified",result="{err}"}} 1"#
            )),
            "{err}: {metrics}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn other_events_and_subjects_are_recorded_and_ignored_verification_is_acknowledged() {
    let Setup { dir, serve, tx } = setup().await;
    let bridge = BridgeProcess::start(&serve, &tx, &dir.path().join("bridge"), &[]).await;
    let verification = tx.ec.sign(
        &json!({"iss": ISSUER, "aud": AUDIENCE, "iat": now(), "jti": "verify-1",
            "sub_id": {"format": "opaque", "id": "stream-1"},
            "events": {"https://schemas.openid.net/secevent/ssf/event-type/verification": {"state": "abc"}}}),
        "secevent+jwt",
    );
    let other = tx.rsa.sign(
        &Transmitter::set_claims(
            "other-1",
            "https://schemas.openid.net/secevent/caep/event-type/token-claims-change",
            json!({"format": "email", "email": "dana@acme.example"}),
        ),
        "secevent+jwt",
    );
    let unmapped = tx.rsa.sign(
        &Transmitter::set_claims(
            "unmapped-1",
            "https://schemas.openid.net/secevent/risc/event-type/account-disabled",
            json!({"format": "phone_number", "phone_number": "+12065550100"}),
        ),
        "secevent+jwt",
    );
    for set in [&verification, &other, &unmapped] {
        assert_eq!(bridge.push(set).await.0, 202);
    }
    let status = status_json(&bridge.data_dir);
    let by_jti = |j: &str| {
        status["signals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["jti"] == j)
            .unwrap_or_else(|| panic!("{j} not recorded: {status}"))
            .clone()
    };
    assert_eq!(by_jti("verify-1")["note"], "verification");
    assert_eq!(by_jti("other-1")["note"], "ignored");
    assert_eq!(by_jti("other-1")["actions"], json!([]));
    assert_eq!(by_jti("unmapped-1")["actions"][0]["state"], "not_mapped");
    worker_caught_up(&bridge, &serve, &tx).await;
    assert_eq!(sessions_of(&serve, "W0DEV").await.len(), 3);
    assert_eq!(
        audit_count(&serve, "user_session_reset_by_admin", "W0DEV").await,
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn several_signals_together_become_one_reset_bulk() {
    let Setup { dir, serve, tx } = setup().await;
    let bridge = BridgeProcess::start(&serve, &tx, &dir.path().join("bridge"), &[]).await;
    let a = tx.session_revoked(&jti(), "dana@acme.example");
    let b = tx.rsa.sign(
        &Transmitter::set_claims(
            &jti(),
            "https://schemas.openid.net/secevent/risc/event-type/account-disabled",
            json!({"format": "complex", "user": {"format": "email", "email": "omar@acme.example"}}),
        ),
        "secevent+jwt",
    );
    let (ra, rb) = tokio::join!(bridge.push(&a), bridge.push(&b));
    assert_eq!((ra.0, rb.0), (202, 202));
    eventually("dana and omar signed out", &bridge, || async {
        sessions_of(&serve, "W0DEV").await.is_empty()
            && sessions_of(&serve, "W0OPS").await.is_empty()
    })
    .await;
    assert_eq!(sessions_of(&serve, "W0ADMIN").await, vec![1005]);
    // Two together: one resetBulk of both, no single resets.
    let bulk = requests_of(&serve, "admin.users.session.resetBulk").await;
    let single = requests_of(&serve, "admin.users.session.reset").await;
    assert_eq!(bulk.len(), 1, "{bulk:?}");
    // The client sends `user_ids` comma-separated, as Slack documents it.
    let mut users: Vec<&str> = bulk[0]["args"]["user_ids"]
        .as_str()
        .unwrap_or_else(|| panic!("{bulk:?}"))
        .split(',')
        .collect();
    users.sort_unstable();
    assert_eq!(users, ["W0DEV", "W0OPS"], "{bulk:?}");
    assert!(single.is_empty(), "{single:?}");
    // The sessions end when the server runs the job; the bridge records the outcome of its
    // round around then, not necessarily before.
    eventually("both sign-outs to be counted", &bridge, || async {
        bridge
            .metrics()
            .await
            .contains(r#"bridge_actions_total{result="signed_out"} 2"#)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bridge_killed_after_202_signs_out_when_it_starts_again() {
    let Setup { dir, serve, tx } = setup().await;
    // Slack fails every sign-out for now: the bridge has answered 202 but cannot act yet.
    fault(&serve, json!({"method": "admin.users.session.reset", "action": "status", "status": 503, "times": 1000})).await;
    let data = dir.path().join("bridge");
    let mut bridge = BridgeProcess::start(&serve, &tx, &data, &[]).await;
    let (status, _) = bridge
        .push(&tx.session_revoked(&jti(), "dana@acme.example"))
        .await;
    assert_eq!(status, 202);
    bridge.kill();
    assert_eq!(
        sessions_of(&serve, "W0DEV").await.len(),
        3,
        "signed out before the kill"
    );
    let pending = status_json(&data);
    assert_eq!(
        pending["signals"][0]["actions"][0]["state"], "pending",
        "{pending}"
    );

    serve
        .control_send(reqwest::Method::DELETE, "/emulator/faults", &json!({}))
        .await;
    let bridge = BridgeProcess::start(&serve, &tx, &data, &[]).await;
    eventually(
        "the sign-out after the restart, recorded",
        &bridge,
        || async {
            sessions_of(&serve, "W0DEV").await.is_empty()
                && status_json(&data)["signals"][0]["actions"][0]["state"] == "signed_out"
        },
    )
    .await;
    for t in DANA_TOKENS {
        assert!(!token_works(&serve, t).await);
    }
    assert_eq!(
        status_json(&data)["signals"][0]["actions"][0]["state"],
        "signed_out"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_finishes_the_sign_out_in_flight_then_exits() {
    let Setup { dir, serve, tx } = setup().await;
    // Slack takes two seconds over the sign-out: SIGTERM lands while it is in flight.
    fault(
        &serve,
        json!({"method": "admin.users.session.reset", "action": "delay", "ms": 2000, "times": 1}),
    )
    .await;
    let data = dir.path().join("bridge");
    let mut bridge = BridgeProcess::start(&serve, &tx, &data, &[]).await;
    let (status, _) = bridge
        .push(&tx.session_revoked(&jti(), "dana@acme.example"))
        .await;
    assert_eq!(status, 202);
    // The round has begun once its journal exists; its sign-out call follows at once and takes
    // two seconds.
    let journals = data.join("journals");
    wait::until_true("the bridge to start its round", || async {
        std::fs::read_dir(&journals).is_ok_and(|mut d| d.next().is_some())
    })
    .await;
    let exit = bridge.terminate();
    assert!(exit.success(), "{exit:?}\n{}", bridge.log());
    let status = status_json(&data);
    assert_eq!(
        status["signals"][0]["actions"][0]["state"], "signed_out",
        "{status}"
    );
    eventually("dana's sessions to end", &bridge, || async {
        sessions_of(&serve, "W0DEV").await.is_empty()
    })
    .await;
    assert!(
        bridge.log().contains("bridge worker stopped"),
        "{}",
        bridge.log()
    );

    // `bridge status` for people.
    let out = Command::new(env!("CARGO_BIN_EXE_slack-sessions"))
        .args(["bridge", "status", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success());
    assert!(text.starts_with("Actions: 1 signed_out\n"), "{text}");
    assert!(text.contains("session-revoked"), "{text}");
    assert!(text.contains("email:dana@acme.example"), "{text}");
    assert!(text.contains("signed_out (W0DEV)"), "{text}");
}
