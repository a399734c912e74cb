//! whoami, invalidate/reset, completions, help and `serve`.

use std::process::Stdio;

use serde_json::Value;
use sessions_test_support::wait;

use crate::harness::{bin, Run, Server};

#[test]
fn whoami_in_both_formats() {
    let s = Server::start();
    let table = s.run(&["whoami"]).ok();
    insta::assert_snapshot!(table);
    let v: Value = serde_json::from_str(&s.run(&["whoami", "--format", "json"]).ok()).unwrap();
    assert_eq!(v["user_id"], "W0ADMIN");
    assert_eq!(v["enterprise_id"], "E0ACME");
}

#[test]
fn reset_mobile_only_keeps_desktop_sessions() {
    let s = Server::start();
    let out = s.run(&["reset", "W0DEV", "--mobile-only"]).ok();
    assert_eq!(out, "Reset mobile sessions of W0DEV.\n");
    let listed = s
        .run(&[
            "list", "--team", "T0ENG", "--user", "W0DEV", "--format", "ndjson",
        ])
        .ok();
    let ids: Vec<u64> = listed
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["session_id"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(ids, [1001, 1003]);
    s.run(&["reset", "W0DEV", "--mobile-only", "--web-only"])
        .fails(2);
    let quiet = s.run(&["-q", "reset", "W0OPS"]).ok();
    assert_eq!(quiet, "");
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let out = Run::of(bin().args(["completions", shell])).ok();
        assert!(out.contains("reset-bulk"), "{shell}: {out}");
        assert!(out.contains("quit-on-close"), "{shell}");
    }
    Run::of(bin().args(["completions", "powershell"])).fails(2);
}

/// An empty control token would turn on a control API no request can use: `serve` refuses to
/// start (exit 2, a plain sentence), from the flag and from the environment alike.
#[test]
fn serve_refuses_an_empty_control_token() {
    let dir = tempfile::tempdir().unwrap();
    for token in ["", "   "] {
        let run = Run::of(
            bin()
                .args(["serve", "--listen", "127.0.0.1:0", "--control-token", token])
                .arg("--data-dir")
                .arg(dir.path()),
        );
        assert_eq!(run.code, 2, "{run:?}");
        assert!(
            run.stderr.contains("control token must not be empty"),
            "{run:?}"
        );
    }
    let run = Run::of(
        bin()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(dir.path())
            .env("SLACK_SESSIONS_CONTROL_TOKEN", " "),
    );
    assert_eq!(run.code, 2, "{run:?}");
    assert!(
        run.stderr.contains("control token must not be empty"),
        "{run:?}"
    );
}

#[test]
fn help_documents_exit_codes() {
    let out = Run::of(bin().arg("--help")).ok();
    assert!(out.contains("3  partial failure in bulk work"), "{out}");
    // The token's value from the environment is never shown in help.
    let out = Run::of(
        bin()
            .env("SLACK_TOKEN", crate::harness::ADMIN_TOKEN)
            .arg("--help"),
    )
    .ok();
    assert!(out.contains("SLACK_TOKEN"));
}

#[test]
fn serve_demo_prints_a_banner_that_works_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("slack-sessions"))
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let banner =
        crate::procs::read_banner(&mut child, |l| l.trim_start().starts_with("SLACK_API_URL="));
    let example = banner
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("SLACK_API_URL="))
        .unwrap_or_else(|| panic!("no example command in banner:\n{banner}"));
    assert!(banner.contains("API URL:"), "{banner}");
    assert!(banner.contains("Control URL:"), "{banner}");
    assert!(banner.contains("Sessions:"), "{banner}");
    assert!(dir.path().join("data/sessions.db").exists());

    // `SLACK_API_URL=<url> SLACK_TOKEN=<token> slack-sessions list`
    let mut parts = example.split_whitespace();
    let url = parts
        .next()
        .unwrap()
        .strip_prefix("SLACK_API_URL=")
        .unwrap()
        .to_owned();
    let token = parts
        .next()
        .unwrap()
        .strip_prefix("SLACK_TOKEN=")
        .unwrap()
        .to_owned();
    let who = bin()
        .env("SLACK_API_URL", &url)
        .env("SLACK_TOKEN", &token)
        .arg("whoami")
        .output()
        .unwrap();
    assert!(who.status.success(), "{who:?}");
    let who = String::from_utf8(who.stdout).unwrap();
    assert!(who.contains("org"), "{who}");
    let list = bin()
        .env("SLACK_API_URL", &url)
        .env("SLACK_TOKEN", &token)
        .arg("list")
        .output()
        .unwrap();
    assert!(list.status.success(), "{list:?}");
    assert!(String::from_utf8(list.stdout).unwrap().lines().count() > 2);

    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = wait::until_blocking("serve to stop on SIGTERM", || child.try_wait().unwrap());
    assert_eq!(exit.code(), Some(0), "serve exit: {exit:?}");
}

#[test]
fn token_file_wins_over_the_environment_and_verbose_logs_never_show_tokens() {
    let s = Server::start();
    let file = s.dir.path().join("token");
    std::fs::write(&file, crate::harness::ADMIN_TOKEN).unwrap();
    // Run::of asserts no token appears in stdout or stderr, here with trace-level logs.
    let out = Run::of(
        bin()
            .env("SLACK_API_URL", &s.api_url)
            .env("SLACK_TOKEN", crate::harness::UNKNOWN_TOKEN)
            .arg("--token-file")
            .arg(&file)
            .args(["-vv", "whoami", "--format", "json"]),
    )
    .ok();
    assert!(out.contains("W0ADMIN"), "{out}");
}

#[test]
fn a_malformed_api_url_is_a_usage_error() {
    let run = Run::of(bin().args(["--api-url", "not a url", "--token", "xoxp-x-1", "whoami"]));
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.starts_with("error: "), "{run:?}");
}

#[test]
fn an_audit_retention_outside_1_to_36500_days_is_a_usage_error() {
    for days in ["0", "36501", "-3", "forever"] {
        let flag = format!("--audit-retention-days={days}");
        let run = Run::of(bin().args(["serve", &flag]));
        assert_eq!(run.code, 2, "{days}: {run:?}");
        assert!(run.stderr.contains("--audit-retention-days"), "{run:?}");
    }
}

/// SIGTERM is handled from the moment `serve` starts, not only once it serves: one that lands
/// while a big fixture is still loading lets the load finish and then stops the server
/// gracefully (exit 0) instead of killing it. (Handlers installed lazily, when shutdown is
/// first awaited, leave the default action, death by signal, in force until then.)
#[test]
fn sigterm_during_start_up_is_a_graceful_stop() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = dir.path().join("big.json");
    let sessions: Vec<String> = (0..100_000)
        .map(|i| {
            format!(
                r#"{{"session_id":{},"user":"W1","team":"T1","client":"web"}}"#,
                i + 1
            )
        })
        .collect();
    std::fs::write(
        &fixture,
        format!(
            r#"{{"orgs":[{{"id":"E1","name":"Big","teams":[{{"id":"T1","name":"t"}}],
            "users":[{{"id":"W1","name":"u","role":"member","teams":["T1"]}}],
            "sessions":[{}]}}]}}"#,
            sessions.join(",")
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("slack-sessions"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--fixtures")
        .arg(&fixture)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The process has started (its signal handlers are installed before the store is opened)
    // once its database file exists; the load of the fixture into it takes far longer.
    let db = dir.path().join("data/sessions.db");
    wait::until_blocking("serve to open its database", || db.exists().then_some(()));
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "serve exit {exit:?}; stdout:\n{out}");
    assert!(out.contains("API URL:"), "the load finished first:\n{out}");
}
