//! `run`: fixtures, demo seeding, start-up refusal, and rate limiting through the emulator.

use sessions_server::testing::TestServer;
use sessions_server::ServerSettings;

use crate::support::*;

/// Serves `data`'s database; the same `data` gives the same database, so a test can stop a
/// server and start another on it.
fn config(data: &Data) -> ServerSettings {
    ServerSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: Some(data.url.clone()),
        ..ServerSettings::default()
    }
}

#[tokio::test]
async fn demo_is_seeded_once_and_usable() {
    let data = Data::new();
    let (server, started) = TestServer::run(ServerSettings {
        demo: true,
        ..config(&data)
    })
    .await
    .unwrap();
    let demo = started.demo.clone().expect("demo info");
    assert_eq!(demo.org_id, "E0DEMO");
    assert!(!format!("{started:?}").contains(&started.control_token));
    let c = sessions_client::Client::builder(&demo.admin_token)
        .base_url(&started.api_url)
        .build()
        .unwrap();
    let page = c
        .admin_users_session_list(sessions_client::ListRequest::org())
        .await
        .unwrap();
    assert_eq!(page.active_sessions.len(), 12);
    let who = c
        .with_token(&demo.session_tokens[0])
        .auth_test()
        .await
        .unwrap();
    assert_eq!(who.url, "https://demo-corp.enterprise.slack.com/");
    c.admin_users_session_invalidate(sessions_client::InvalidateRequest::for_user(
        demo.session_ids[0],
        "W0DEMODANA",
    ))
    .await
    .unwrap();
    // control API reachable with the announced token
    let r = Resp::from(
        http()
            .get(format!("{}health", started.control_url))
            .bearer_auth(&started.control_token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    server.stop().await.unwrap();

    // restart: not re-seeded (the invalidation stays), demo still described
    let (server, started) = TestServer::run(ServerSettings {
        demo: true,
        ..config(&data)
    })
    .await
    .unwrap();
    assert!(started.demo.is_some());
    let c = sessions_client::Client::builder(DEMO)
        .base_url(&started.api_url)
        .build()
        .unwrap();
    let page = c
        .admin_users_session_list(sessions_client::ListRequest::org())
        .await
        .unwrap();
    assert_eq!(page.active_sessions.len(), 11);
    server.stop().await.unwrap();
}

const DEMO: &str = sessions_server::DEMO_ADMIN_TOKEN;

#[tokio::test]
async fn fixtures_load_at_start_and_bad_files_refuse_to_start() {
    let data = Data::new();
    let good = data.dir().join("good.json");
    std::fs::write(&good, FIXTURE).unwrap();
    let (server, started) = TestServer::run(ServerSettings {
        fixtures: Some(good),
        ..config(&data)
    })
    .await
    .unwrap();
    assert!(started.demo.is_none());
    let c = sessions_client::Client::builder(ADMIN)
        .base_url(&started.api_url)
        .build()
        .unwrap();
    assert_eq!(c.auth_test().await.unwrap().user_id, "WADMIN");
    server.stop().await.unwrap();

    let bad = data.dir().join("bad.json");
    std::fs::write(
        &bad,
        FIXTURE.replace(
            r#""session_id":104,"user":"WSAM""#,
            r#""session_id":104,"user":"WGHOST""#,
        ),
    )
    .unwrap();
    let err = sessions_server::run(
        ServerSettings {
            fixtures: Some(bad),
            ..config(&data)
        },
        |_| panic!("must not start"),
        async {},
    )
    .await
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("bad.json")
            && msg.contains("sessions[3] (session_id 104)")
            && msg.contains("WGHOST"),
        "{msg}"
    );
}

#[tokio::test]
async fn the_emulator_rate_limiter_answers_429_before_any_work() {
    use sessions_server::emulator::{Emulator, Limit, RateLimitMode, RateLimitSettings};
    // One mechanism: rate limits are the emulator's (see tests/it/emulator.rs for the rest).
    let emulator = Emulator::default();
    emulator
        .limiter()
        .set_settings(RateLimitSettings {
            mode: RateLimitMode::Custom,
            overrides: [
                (
                    "admin.users.session.reset".to_owned(),
                    Limit::per_minute(40).with_burst(1),
                ),
                ("auth.test".to_owned(), Limit::per_minute(60).with_burst(1)),
            ]
            .into(),
        })
        .unwrap();
    let s = start_emulated(options(), Some(emulator.clone()), Some(FIXTURE)).await;
    let r = s
        .post_form(
            "admin.users.session.reset",
            Some(ADMIN),
            &[("user_id", "WDANA"), ("mobile_only", "1")],
        )
        .await;
    assert_eq!(r.body["ok"], true);
    let r = s
        .post_form(
            "admin.users.session.reset",
            Some(ADMIN),
            &[("user_id", "WDANA")],
        )
        .await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("2"));
    assert_eq!(r.error(), "ratelimited");
    // the limited call did nothing
    assert!(session_ids(&s.store, "E1").await.contains(&101));
    // per method: another method is still allowed
    let r = s.post_form("auth.test", Some(ADMIN), &[]).await;
    assert_eq!(r.body["ok"], true);
    // the client surfaces it
    let err = s.client(ADMIN).auth_test().await.unwrap_err();
    assert!(
        matches!(err, sessions_client::Error::RateLimited { .. }),
        "{err:?}"
    );
    let answers: Vec<String> = emulator
        .log()
        .list(&Default::default())
        .into_iter()
        .map(|r| r.answer)
        .collect();
    assert_eq!(answers, ["ok", "ratelimited", "ok", "ratelimited"]);
}
