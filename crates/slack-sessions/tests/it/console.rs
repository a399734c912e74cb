//! `slack-sessions console`: the built binary prints one `Console URL:` line whose link signs a
//! browser in once, refuses a non-loopback address and a missing token as usage errors, and
//! stops cleanly on SIGTERM. (The pages themselves: sessions-console's tests and its browser
//! tests.)

use std::io::{BufRead, BufReader};
use std::process::{Command as StdCommand, Stdio};

use crate::harness::{bin, Server, ADMIN_TOKEN};

#[test]
fn refuses_a_non_loopback_address_and_a_missing_token() {
    let server = Server::start();
    let err =
        crate::harness::Run::of(server.cli().args(["console", "--listen", "0.0.0.0:0"])).fails(2);
    assert!(err.contains("loopback"), "{err}");
    let err = crate::harness::Run::of(bin().args(["console", "--listen", "127.0.0.1:0"])).fails(2);
    assert!(err.contains("not_authed"), "{err}");
}

#[test]
fn prints_one_login_url_that_works_once_and_stops_on_sigterm() {
    let server = Server::start();
    let data = tempfile::tempdir().unwrap();
    let exe = assert_cmd::cargo::cargo_bin("slack-sessions");
    let mut child = StdCommand::new(exe)
        .args(["console", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .env("SLACK_API_URL", &server.api_url)
        .env("SLACK_TOKEN", ADMIN_TOKEN)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let url = line
        .strip_prefix("Console URL: ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .trim_end()
        .to_owned();
    let secret = url
        .split_once("/login?secret=")
        .map(|(base, s)| {
            assert!(base.starts_with("http://127.0.0.1:"), "{url}");
            s.to_owned()
        })
        .unwrap();
    assert_eq!(secret.len(), 64, "{url}");
    assert!(!line.contains(ADMIN_TOKEN));

    let rt = tokio::runtime::Runtime::new().unwrap();
    let (first, second) = rt.block_on(async {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let first = http.get(&url).send().await.unwrap();
        let second = http.get(&url).send().await.unwrap();
        (first, second)
    });
    assert_eq!(first.status(), 303);
    let cookie = first.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert_eq!(second.status(), 403);

    let pid = child.id().to_string();
    assert!(StdCommand::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert_eq!(rest, "", "the console printed more than its one line");
}
