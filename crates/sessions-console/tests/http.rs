//! The console's HTTP rules, over real HTTP on 127.0.0.1:0 against a real `sessions-server`
//! loaded with the browser tests' fixture: the login link and cookie, 401 without it, CSRF and
//! same-origin on every change, the Host check, the security headers, confirmation before a
//! destructive action, and the token never in any answer. Effects are checked through the API.

use std::net::SocketAddr;

use reqwest::header::{HeaderMap, CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use reqwest::StatusCode;
use sessions_console::{Console, ConsoleConfig, COOKIE, CSP};
use sessions_server::testing::TestServer;
use sessions_test_support::wait;

const TOKEN: &str = "xoxp-console-admin";
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/browser/console-fixture.json");

struct Setup {
    base: String,
    login: String,
    api: String,
    http: reqwest::Client,
    /// The API server, stopped when the test drops it.
    _server: TestServer,
    _dir: tempfile::TempDir,
}

async fn start_with(token: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let config = sessions_server::ServerSettings {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url: Some(format!("sqlite://{}", dir.path().join("s.db").display())),
        fixtures: Some(FIXTURE.into()),
        ..sessions_server::ServerSettings::default()
    };
    let (server, started) = TestServer::run(config).await.unwrap();
    let api = started.api_url;
    let (base, login) = start_console(&api, token, &dir.path().join("console")).await;
    Setup {
        base,
        login,
        api,
        http: reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap(),
        _server: server,
        _dir: dir,
    }
}

/// A console over `api` keeping its journals in `data`: its base URL and login link.
async fn start_console(api: &str, token: &str, data: &std::path::Path) -> (String, String) {
    let client = sessions_client::Client::builder(token)
        .base_url(api)
        .build()
        .unwrap();
    let listener = sessions_console::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let console = Console::new(ConsoleConfig::new(client, data), addr).unwrap();
    let login = console.login_url().to_owned();
    tokio::spawn(sessions_console::serve(
        listener,
        console,
        std::future::pending(),
    ));
    (format!("http://{addr}"), login)
}

async fn start() -> Setup {
    start_with(TOKEN).await
}

impl Setup {
    /// Opens the login link; returns the cookie header value.
    async fn sign_in(&self) -> String {
        let resp = self.http.get(&self.login).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(resp.headers()[LOCATION], "/people");
        let set = resp.headers()[SET_COOKIE].to_str().unwrap().to_owned();
        let pair = set.split(';').next().unwrap().to_owned();
        assert!(pair.starts_with(&format!("{COOKIE}=")), "{set}");
        pair
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> (StatusCode, HeaderMap, String) {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let resp = req.send().await.unwrap();
        let (status, headers) = (resp.status(), resp.headers().clone());
        (status, headers, resp.text().await.unwrap())
    }

    async fn post(
        &self,
        path: &str,
        cookie: Option<&str>,
        origin: Option<&str>,
        form: &[(&str, &str)],
    ) -> (StatusCode, String) {
        let mut req = self.http.post(format!("{}{path}", self.base)).form(form);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let resp = req.send().await.unwrap();
        (resp.status(), resp.text().await.unwrap())
    }

    /// Whether the session with this token is still signed in, asked through the API.
    async fn signed_in(&self, session_token: &str) -> bool {
        let text = self
            .http
            .post(format!("{}auth.test", self.api))
            .bearer_auth(session_token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["ok"] == true
    }
}

fn csrf_in(page: &str) -> String {
    let start = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with a csrf field")
        + 19;
    page[start..start + 64].to_owned()
}

#[tokio::test]
async fn login_link_sets_a_strict_http_only_cookie_once() {
    let s = start().await;
    let resp = s.http.get(&s.login).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let set = resp.headers()[SET_COOKIE].to_str().unwrap();
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Strict"), "{set}");
    assert!(set.contains("Path=/"), "{set}");
    // The secret works once; a wrong one never.
    let again = s.http.get(&s.login).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::FORBIDDEN);
    let (status, _, _) = s.get("/login?secret=0000", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn without_the_cookie_nothing_is_shown_or_changed() {
    let s = start().await;
    for path in [
        "/people",
        "/people?q=dana%40acme.example",
        "/people/W0DEV",
        "/audit",
        "/revoke",
        "/nope",
    ] {
        let (status, _, body) = s.get(path, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(
            !body.contains("Dana") && !body.contains("1001"),
            "{path}: {body}"
        );
    }
    let wrong = format!("{COOKIE}=deadbeef");
    let (status, _, _) = s.get("/people/W0DEV", Some(&wrong)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = s
        .post(
            "/people/W0DEV/sign-out",
            None,
            Some(&s.base),
            &[("scope", "all"), ("confirmed", "yes")],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(s.signed_in("xoxc-dana-laptop").await);
}

#[tokio::test]
async fn changes_need_the_csrf_token_and_the_console_origin() {
    let s = start().await;
    let cookie = s.sign_in().await;
    let (_, _, page) = s.get("/people/W0DEV", Some(&cookie)).await;
    let csrf = csrf_in(&page);
    let path = "/people/W0DEV/sessions/1001/sign-out";
    let cases: [(Option<&str>, &str); 4] = [
        (Some(&s.base), ""),                  // no token
        (Some(&s.base), &"0".repeat(64)),     // wrong token
        (None, &csrf),                        // no Origin
        (Some("http://evil.example"), &csrf), // another site
    ];
    for (origin, token) in cases {
        let mut form = vec![("confirmed", "yes")];
        if !token.is_empty() {
            form.push(("csrf", token));
        }
        let (status, _) = s.post(path, Some(&cookie), origin, &form).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{origin:?} {token}");
        assert!(s.signed_in("xoxc-dana-laptop").await, "{origin:?} {token}");
    }
    // Without confirmation the server asks instead of acting.
    let (status, body) = s
        .post(path, Some(&cookie), Some(&s.base), &[("csrf", &csrf)])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("role=\"dialog\""), "{body}");
    assert!(body.contains("Sign out session 1001"), "{body}");
    assert!(s.signed_in("xoxc-dana-laptop").await);
    // All of it right: the session ends, and the next page says so.
    let (status, _) = s
        .post(
            path,
            Some(&cookie),
            Some(&s.base),
            &[("csrf", &csrf), ("confirmed", "yes")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(!s.signed_in("xoxc-dana-laptop").await);
    assert!(s.signed_in("xoxc-dana-phone").await);
    let (_, _, page) = s.get("/people/W0DEV", Some(&cookie)).await;
    assert!(page.contains("Signed out session 1001."), "{page}");
}

#[tokio::test]
async fn only_the_printed_host_is_answered() {
    let s = start().await;
    let cookie = s.sign_in().await;
    let resp = s
        .http
        .get(format!("{}/people", s.base))
        .header("host", "evil.example")
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::MISDIRECTED_REQUEST);
    let port = s.base.rsplit(':').next().unwrap();
    let resp = s
        .http
        .get(format!("{}/people", s.base))
        .header("host", format!("localhost:{port}"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn every_answer_has_the_strict_csp_no_inline_code_and_never_the_token() {
    let s = start().await;
    let (_, h, body) = s.get("/people", None).await;
    check_page("/people (no cookie)", &h, &body);
    let cookie = s.sign_in().await;
    let paths = [
        "/people",
        "/people?q=dana%40acme.example",
        "/people?q=W0DEV",
        "/people?q=scully",
        "/people/W0DEV",
        "/people/W0NOBODY",
        "/audit",
        "/audit?action=user_session_invalidated&person=dana%40acme.example",
        "/revoke",
        "/nope",
        "/assets/console.css",
        "/assets/console.js",
        "/assets/icon.svg",
    ];
    for path in paths {
        let (status, h, body) = s.get(path, Some(&cookie)).await;
        assert!(!status.is_server_error(), "{path}: {status}");
        check_page(path, &h, &body);
    }
    let (_, _, page) = s.get("/people?q=dana%40acme.example", Some(&cookie)).await;
    assert!(page.contains("href=\"/people/W0DEV\""), "{page}");
}

fn check_page(path: &str, h: &HeaderMap, body: &str) {
    assert_eq!(h[CONTENT_SECURITY_POLICY], CSP, "{path}");
    assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
    assert_eq!(h["x-frame-options"], "DENY", "{path}");
    assert!(!body.contains(TOKEN), "{path} contains the token");
    for tag in body.split("<script").skip(1) {
        assert!(
            tag.trim_start().starts_with("src="),
            "{path}: inline script"
        );
    }
    assert!(!body.contains(" style="), "{path}: inline style");
    assert!(
        !body.contains("on-click=") && !body.contains(" onclick="),
        "{path}"
    );
}

#[tokio::test]
async fn slack_errors_read_as_a_sentence_naming_the_missing_scope() {
    let s = start_with("xoxp-console-noemail").await;
    let cookie = s.sign_in().await;
    let (status, _, page) = s.get("/people?q=dana%40acme.example", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("It needs the scope users:read.email"),
        "{page}"
    );
    assert!(page.contains("(missing_scope)"), "{page}");
    assert!(!page.contains("xoxp-console-noemail"));
}

/// A run stopped halfway (as a console killed mid-run leaves its journal) is listed on the
/// Revoke page with "Resume run"; resuming finishes it without repeating what was done.
#[tokio::test]
async fn an_unfinished_run_on_disk_is_offered_for_resume_and_resumes() {
    use sessions_revoke::{build_plan, default_journal_path, run, Context, Journal, Pacing};
    let mut s = start().await;
    let client = sessions_client::Client::builder(TOKEN)
        .base_url(&s.api)
        .build()
        .unwrap();
    let selection = sessions_revoke::Selection {
        users: vec![sessions_revoke::UserRef::parse("lee@acme.example").unwrap()],
        os: vec!["macOS".into(), "Android".into()],
        ..Default::default()
    };
    let cx = Context::new(Pacing::max_rate(6000.0));
    let plan = build_plan(&client, &selection, client.base_url(), &cx, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(plan.action_count(), 2);
    let path = default_journal_path(&s._dir.path().join("console"));
    let mut journal = Journal::create(&path, plan).unwrap();
    let stop = cx.cancel.clone();
    let mut after_one = move |p: &sessions_revoke::Progress| {
        if p.counts.settled() == 1 {
            stop.cancel();
        }
    };
    run(&client, &mut journal, &cx, &mut after_one).await;
    assert_eq!(journal.state().counts().pending, 1);
    drop(journal);
    let id = path.file_stem().unwrap().to_str().unwrap().to_owned();
    assert!(
        !s.signed_in("xoxc-lee-laptop").await,
        "the first action ended the laptop's"
    );
    assert!(
        s.signed_in("xoxc-lee-phone").await,
        "the second action ran before the resume"
    );

    // The console is restarted on the same data directory: it says so on its first page.
    (s.base, s.login) = start_console(&s.api, TOKEN, &s._dir.path().join("console")).await;
    let cookie = s.sign_in().await;
    let (_, _, people) = s.get("/people", Some(&cookie)).await;
    assert!(
        people.contains("A revocation run was interrupted"),
        "{people}"
    );
    assert!(people.contains(&id), "{people}");
    let (_, _, page) = s.get("/revoke", Some(&cookie)).await;
    assert!(page.contains(&id), "{page}");
    assert!(page.contains("Interrupted. 1 of 2 calls settled"), "{page}");
    assert!(page.contains("Resume run"), "{page}");
    let csrf = csrf_in(&page);
    let (status, _) = s
        .post(
            &format!("/revoke/runs/{id}/resume"),
            Some(&cookie),
            Some(&s.base),
            &[("csrf", &csrf), ("confirmed", "yes")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let finished = wait::until("the resumed run to finish", || async {
        let (_, _, body) = s
            .get(&format!("/revoke/runs/{id}/progress.json"), Some(&cookie))
            .await;
        let progress: serde_json::Value = serde_json::from_str(&body).unwrap();
        (progress["finished"] == true).then_some(progress)
    })
    .await;
    assert_eq!(finished["completed"], true, "{finished}");
    assert_eq!(finished["done"], 2, "{finished}");
    assert!(!s.signed_in("xoxc-lee-phone").await);
    assert!(s.signed_in("xoxc-sam-web").await);
    let (_, _, people) = s.get("/people", Some(&cookie)).await;
    assert!(!people.contains("was interrupted"), "{people}");
    let (status, h, csv) = s
        .get(&format!("/revoke/runs/{id}/report.csv"), Some(&cookie))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!csv.contains(TOKEN));
    let (_, h_page, run_page) = s.get(&format!("/revoke/runs/{id}"), Some(&cookie)).await;
    check_page("run page", &h_page, &run_page);
    assert!(run_page.contains("Download the report (CSV)"), "{run_page}");
    assert!(h["content-disposition"].to_str().unwrap().contains(".csv"));
    assert_eq!(
        csv.lines()
            .filter(|l| l.contains(",done,") || l.contains(",ok,"))
            .count(),
        2,
        "{csv}"
    );
}
