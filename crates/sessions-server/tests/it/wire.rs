//! Every shape a client sends, and every malformed request: always a Slack answer, never 5xx.

use crate::support::*;

const SETTINGS: &str = "admin.users.session.getSettings";

fn settings_users(r: &Resp) -> Vec<String> {
    let mut users: Vec<String> = r.body["session_settings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["user_id"].as_str().unwrap().to_owned())
        .chain(
            r.body["no_settings_applied"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u.as_str().unwrap().to_owned()),
        )
        .collect();
    users.sort();
    users
}

#[tokio::test]
async fn user_ids_in_every_client_shape() {
    let s = start().await;
    let want = vec!["WDANA".to_owned(), "WSAM".to_owned()];
    let shapes: Vec<(&str, Vec<u8>)> = vec![
        (
            "application/x-www-form-urlencoded",
            b"user_ids=WDANA%2CWSAM".to_vec(),
        ), // Python, Java
        (
            "application/x-www-form-urlencoded",
            b"user_ids=%5B%22WDANA%22%2C%22WSAM%22%5D".to_vec(),
        ), // Node
        (
            "application/x-www-form-urlencoded",
            b"user_ids=%5B%27WDANA%27%2C+%27WSAM%27%5D".to_vec(),
        ), // python list
        (
            "application/x-www-form-urlencoded",
            b"user_ids=WDANA&user_ids=WSAM".to_vec(),
        ), // repeated
        (
            "application/json",
            br#"{"user_ids":["WDANA","WSAM"]}"#.to_vec(),
        ),
        (
            "application/json; charset=utf-8",
            br#"{"user_ids":"WDANA,WSAM"}"#.to_vec(),
        ),
        ("text/plain", b"user_ids=WDANA,WSAM".to_vec()),
    ];
    for (ct, body) in shapes {
        let r = s
            .post_raw(SETTINGS, Some(ADMIN), Some(ct), body.clone())
            .await;
        r.slack();
        assert_eq!(
            r.body["ok"],
            true,
            "{ct} {:?}: {}",
            String::from_utf8_lossy(&body),
            r.text
        );
        assert_eq!(settings_users(&r), want, "{ct}");
    }
}

#[tokio::test]
async fn multipart_bodies() {
    let s = start().await;
    let form = reqwest::multipart::Form::new()
        .text("user_ids", "WDANA,WSAM")
        .text("token", ADMIN);
    let r = Resp::from(
        http()
            .post(format!("{}{SETTINGS}", s.api))
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.slack();
    assert_eq!(r.body["ok"], true, "{}", r.text);
    assert_eq!(settings_users(&r), vec!["WDANA", "WSAM"]);
    // broken multipart
    let r = s
        .post_raw(
            SETTINGS,
            Some(ADMIN),
            Some("multipart/form-data; boundary=XYZ"),
            b"--XYZ\r\ngarbage".to_vec(),
        )
        .await;
    r.slack();
    assert_eq!(r.error(), "invalid_form_data");
    let r = s
        .post_raw(
            SETTINGS,
            Some(ADMIN),
            Some("multipart/form-data"),
            b"x".to_vec(),
        )
        .await;
    r.slack();
    assert_eq!(r.error(), "invalid_form_data");
}

#[tokio::test]
async fn query_string_get_and_python_async_style() {
    let s = start().await;
    // GET with everything in the query, token included
    let url = format!("{}{SETTINGS}?token={ADMIN}&user_ids=WDANA", s.api);
    let r = Resp::from(http().get(url).send().await.unwrap()).await;
    r.slack();
    assert_eq!(r.body["ok"], true, "{}", r.text);
    // Python's AsyncWebClient: args in the query, form content type, EMPTY body
    let url = format!(
        "{}admin.users.session.reset?user_id=WDANA&mobile_only=1",
        s.api
    );
    let r = Resp::from(
        http()
            .post(url)
            .bearer_auth(ADMIN)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("")
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.slack();
    assert_eq!(r.body["ok"], true, "{}", r.text);
    assert_eq!(
        session_ids(&s.store, "E1").await,
        vec![101, 103, 104, 105, 106, 107]
    );
    // query + body mix
    let url = format!("{}admin.users.session.list?team_id=T1", s.api);
    let r = Resp::from(
        http()
            .post(url)
            .bearer_auth(ADMIN)
            .form(&[("user_id", "WSAM")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.slack();
    assert_eq!(
        r.body["active_sessions"].as_array().unwrap().len(),
        1,
        "{}",
        r.text
    );
}

#[tokio::test]
async fn token_in_body_query_and_header() {
    let s = start().await;
    let r = s.post_form("auth.test", None, &[("token", ADMIN)]).await;
    assert_eq!(r.body["user_id"], "WADMIN", "{}", r.text);
    let r = s
        .post_raw(
            "auth.test",
            None,
            Some("application/json"),
            format!(r#"{{"token":"{ADMIN}"}}"#).into_bytes(),
        )
        .await;
    assert_eq!(r.body["user_id"], "WADMIN", "{}", r.text);
    let r = Resp::from(
        http()
            .post(format!("{}auth.test?token={MEMBER}", s.api))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.body["user_id"], "WDANA", "{}", r.text);
    // seed 001: a bare `token` header
    let r = Resp::from(
        http()
            .post(format!("{}auth.test", s.api))
            .header("token", OWNER)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.body["user_id"], "WOWNER", "{}", r.text);
    // the bearer header wins over a body token
    let r = Resp::from(
        http()
            .post(format!("{}auth.test", s.api))
            .bearer_auth(OWNER)
            .form(&[("token", ADMIN)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.body["user_id"], "WOWNER");
}

#[tokio::test]
async fn json_details_booleans_numbers_nulls() {
    let s = start().await;
    let body = br#"{"user_id":"WDANA","mobile_only":true,"web_only":null}"#.to_vec();
    let r = s
        .post_raw(
            "admin.users.session.reset",
            Some(ADMIN),
            Some("application/json"),
            body,
        )
        .await;
    assert_eq!(r.body["ok"], true, "{}", r.text);
    assert_eq!(
        session_ids(&s.store, "E1").await,
        vec![101, 103, 104, 105, 106, 107]
    );
    // session_id as a number and as a string
    let body = br#"{"session_id":101,"user_id":"WDANA"}"#.to_vec();
    let r = s
        .post_raw(
            "admin.users.session.invalidate",
            Some(ADMIN),
            Some("application/json"),
            body,
        )
        .await;
    assert_eq!(r.body["ok"], true, "{}", r.text);
    let body = br#"{"session_id":"103","team_id":"T1"}"#.to_vec();
    let r = s
        .post_raw(
            "admin.users.session.invalidate",
            Some(ADMIN),
            Some("application/json"),
            body,
        )
        .await;
    assert_eq!(r.body["ok"], true, "{}", r.text);
    // wrong types name the argument
    let body = br#"{"session_id":{"a":1},"user_id":"WDANA"}"#.to_vec();
    let r = s
        .post_raw(
            "admin.users.session.invalidate",
            Some(ADMIN),
            Some("application/json"),
            body,
        )
        .await;
    assert_eq!(r.error(), "invalid_arguments");
    assert!(r.messages()[0].contains("session_id"));
    let body = br#"{"user_ids":["WDANA"],"duration":"long"}"#.to_vec();
    let r = s
        .post_raw(
            "admin.users.session.setSettings",
            Some(ADMIN),
            Some("application/json"),
            body,
        )
        .await;
    assert_eq!(r.error(), "invalid_arguments");
    assert!(r.messages()[0].contains("duration"));
}

#[tokio::test]
async fn malformed_requests_get_slack_errors_never_5xx() {
    let s = start().await;
    let cases: Vec<(Option<&str>, Vec<u8>, &str)> = vec![
        (
            Some("application/json"),
            b"{\"user_ids\":".to_vec(),
            "invalid_json",
        ),
        (
            Some("application/json"),
            b"[1,2]".to_vec(),
            "json_not_object",
        ),
        (
            Some("application/json"),
            b"\"str\"".to_vec(),
            "json_not_object",
        ),
        (
            Some("application/json"),
            vec![0xff, 0xfe, b'{'],
            "invalid_json",
        ),
        (
            Some("application/x-www-form-urlencoded"),
            vec![b'u', b'=', 0xff],
            "invalid_form_data",
        ),
        (
            Some("application/x-www-form-urlencoded"),
            b"user_ids=%FF%FE".to_vec(),
            "invalid_form_data",
        ),
        (
            Some("application/x-www-form-urlencoded"),
            b"user_ids%5B%5D=W1".to_vec(),
            "invalid_array_arg",
        ),
        (
            Some("application/x-www-form-urlencoded; charset=shift_jis"),
            b"user_ids=W1".to_vec(),
            "invalid_charset",
        ),
        (
            Some("application/xml"),
            b"<a/>".to_vec(),
            "invalid_post_type",
        ),
        (
            Some("image/png"),
            vec![0x89, b'P', b'N', b'G'],
            "invalid_post_type",
        ),
        (Some("nonsense"), b"x".to_vec(), "invalid_post_type"),
    ];
    for (ct, body, want) in cases {
        let r = s.post_raw(SETTINGS, Some(ADMIN), ct, body.clone()).await;
        r.slack();
        assert_eq!(
            r.error(),
            want,
            "{ct:?} {:?}: {}",
            String::from_utf8_lossy(&body),
            r.text
        );
        assert!(
            r.messages()
                .first()
                .is_some_and(|m| m.starts_with("[ERROR]")),
            "{}",
            r.text
        );
    }
    // invalid UTF-8 in the query string
    let r = Resp::from(
        http()
            .get(format!("{}{SETTINGS}?user_ids=%C3%28", s.api))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.slack();
    assert_eq!(r.error(), "invalid_form_data");
    // no content type, form body: read as a form
    let r = s
        .post_raw(SETTINGS, Some(ADMIN), None, b"user_ids=WDANA".to_vec())
        .await;
    assert_eq!(r.body["ok"], true, "{}", r.text);
}

#[tokio::test]
async fn oversized_bodies_get_a_clean_413() {
    let s = start().await;
    let big = vec![b'a'; (1 << 20) + 1];
    let r = s
        .post_raw(
            SETTINGS,
            Some(ADMIN),
            Some("application/x-www-form-urlencoded"),
            big,
        )
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(r.body["ok"], false);
    assert_eq!(r.error(), "request_too_large");
    assert!(r.messages()[0].contains("1048576"));
    // chunked (no Content-Length) too
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..20).map(|_| Ok(vec![b'b'; 64 * 1024])).collect();
    let body = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    let r = Resp::from(
        http()
            .post(format!("{}{SETTINGS}", s.api))
            .bearer_auth(ADMIN)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 413, "{}", r.text);
    assert_eq!(r.error(), "request_too_large");
    // just under the limit is fine
    let mut ok = b"user_ids=WDANA&pad=".to_vec();
    ok.resize(1 << 20, b'x');
    let r = s
        .post_raw(
            SETTINGS,
            Some(ADMIN),
            Some("application/x-www-form-urlencoded"),
            ok,
        )
        .await;
    assert_eq!(r.body["ok"], true, "{}", &r.text[..r.text.len().min(200)]);
}

#[tokio::test]
async fn other_paths_are_json_404s() {
    let s = start().await;
    let r = Resp::from(
        http()
            .get(format!("{}/nothing/here", s.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error(), "unknown_method");
    let r = Resp::from(
        http()
            .put(format!("{}auth.test", s.api))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, POST"));
    assert_eq!(r.body["ok"], false);
}
