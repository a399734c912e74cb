//! Global Token Revocation: `204` signed out, `404` unknown person, `401` bad client
//! authentication (and replay), `400` malformed, `422` Slack refused.

use serde_json::json;

use super::*;

async fn revoke(bridge: &BridgeProcess, auth: Option<&str>, body: &str) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{}global-token-revocation", bridge.url))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(a) = auth {
        req = req.bearer_auth(a);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn email(e: &str) -> String {
    json!({"sub_id": {"format": "email", "email": e}}).to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn global_token_revocation_answers_204_404_401_400_and_422() {
    let Setup { dir, serve, tx } = setup().await;
    let map = dir.path().join("subjects.csv");
    std::fs::write(&map, "00u-omar,W0OPS\n00u-adam,W0ADMIN\n").unwrap();
    let map = map.display().to_string();
    let bridge = BridgeProcess::start(
        &serve,
        &tx,
        &dir.path().join("bridge"),
        &["--subject-map", &map],
    )
    .await;

    // 401: no authentication, a key not in the set, the wrong audience, too long a lifetime.
    let claims = |f: &dyn Fn(&mut Value)| {
        let mut c = json!({"iss": ISSUER, "sub": ISSUER, "aud": AUDIENCE, "jti": jti(),
            "iat": now(), "exp": now() + 60});
        f(&mut c);
        c
    };
    let forged = SigningKey::p256("ec-1").sign(&claims(&|_| {}), "JWT");
    let wrong_aud = tx.ec.sign(
        &claims(&|c| c["aud"] = json!("https://other.example")),
        "JWT",
    );
    let long_lived = tx
        .rsa
        .sign(&claims(&|c| c["exp"] = json!(now() + 600)), "JWT");
    let expired = tx
        .rsa
        .sign(&claims(&|c| c["exp"] = json!(now() - 600)), "JWT");
    let a_set = tx.session_revoked(&jti(), "dana@acme.example");
    for (what, auth) in [
        ("none", None),
        ("forged", Some(forged.as_str())),
        ("wrong audience", Some(wrong_aud.as_str())),
        ("exp beyond five minutes", Some(long_lived.as_str())),
        ("expired", Some(expired.as_str())),
        ("a SET instead of an assertion", Some(a_set.as_str())),
    ] {
        let (status, body) = revoke(&bridge, auth, &email("dana@acme.example")).await;
        assert_eq!(status, 401, "{what}: {body}");
        assert_eq!(body["error"], "invalid_client", "{what}: {body}");
    }
    assert_eq!(sessions_of(&serve, "W0DEV").await.len(), 3);

    // 400: malformed requests from an authenticated caller.
    for body in [
        "not json".to_owned(),
        json!({"sub_id": {"format": "opaque", "id": "x"}}).to_string(),
        json!({"sub": "dana"}).to_string(),
    ] {
        let (status, answer) = revoke(&bridge, Some(&tx.assertion(&jti())), &body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"], "invalid_request");
    }

    // 204: signed out, checked through the API; a replayed assertion is refused.
    let used = jti();
    let (status, body) = revoke(
        &bridge,
        Some(&tx.assertion(&used)),
        &email("dana@acme.example"),
    )
    .await;
    assert_eq!(status, 204, "{body}\n{}", bridge.log());
    // One person is one synchronous `reset`: by the 204 her sessions are ended, so her
    // tokens fail at once (no waiting for a job).
    for t in DANA_TOKENS {
        assert!(
            !token_works(&serve, t).await,
            "{t} still works right after the 204"
        );
    }
    assert!(sessions_of(&serve, "W0DEV").await.is_empty());
    let resets = requests_of(&serve, "admin.users.session.reset").await;
    assert_eq!(resets.len(), 1, "{resets:?}");
    assert_eq!(resets[0]["args"]["user_id"], "W0DEV", "{resets:?}");
    assert!(requests_of(&serve, "admin.users.session.resetBulk")
        .await
        .is_empty());
    assert!(token_works(&serve, "xoxc-omar-phone").await);
    let (status, _) = revoke(
        &bridge,
        Some(&tx.assertion(&used)),
        &email("omar@acme.example"),
    )
    .await;
    assert_eq!(status, 401, "a replayed assertion was accepted");
    assert!(token_works(&serve, "xoxc-omar-phone").await);

    // iss_sub through the subject map.
    let body =
        json!({"sub_id": {"format": "iss_sub", "iss": ISSUER, "sub": "00u-omar"}}).to_string();
    let (status, _) = revoke(&bridge, Some(&tx.assertion(&jti())), &body).await;
    assert_eq!(status, 204);
    assert!(
        !token_works(&serve, "xoxc-omar-phone").await,
        "omar's session still works right after the 204"
    );

    // 404: nobody in Slack has that email; an iss_sub nobody maps.
    let (status, body) = revoke(
        &bridge,
        Some(&tx.assertion(&jti())),
        &email("nobody@acme.example"),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let body =
        json!({"sub_id": {"format": "iss_sub", "iss": ISSUER, "sub": "00u-ghost"}}).to_string();
    let (status, _) = revoke(&bridge, Some(&tx.assertion(&jti())), &body).await;
    assert_eq!(status, 404);

    // 422: Slack refuses the sign-out.
    fault(&serve, json!({"method": "admin.users.session.reset", "action": "error", "error": "not_allowed", "times": 1})).await;
    let (status, body) = revoke(
        &bridge,
        Some(&tx.assertion(&jti())),
        &email("mia@acme.example"),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("not_allowed"),
        "{body}"
    );
    // 422 too: the bridge never signs out its own admin (that would end its access).
    let body =
        json!({"sub_id": {"format": "iss_sub", "iss": ISSUER, "sub": "00u-adam"}}).to_string();
    let (status, answer) = revoke(&bridge, Some(&tx.assertion(&jti())), &body).await;
    assert_eq!(status, 422, "{answer}");
    assert!(token_works(&serve, "xoxc-adam-laptop").await);
    assert_eq!(
        audit_count(&serve, "user_session_reset_by_admin", "W0DEV").await,
        1
    );
}
