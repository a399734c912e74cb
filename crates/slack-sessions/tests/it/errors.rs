//! Every error path prints Slack's code, an explanation and a hint, with the right exit code.

use crate::harness::{bin, Run, Server, MEMBER_TOKEN, READONLY_TOKEN, UNKNOWN_TOKEN};

#[test]
fn not_authed_without_any_token() {
    let s = Server::start();
    let err = Run::of(bin().env("SLACK_API_URL", &s.api_url).args(["list"])).fails(2);
    insta::assert_snapshot!(err);
}

#[test]
fn invalid_auth_with_an_unknown_token_given_as_a_flag() {
    let s = Server::start();
    let err =
        Run::of(
            bin()
                .env("SLACK_API_URL", &s.api_url)
                .args(["--token", UNKNOWN_TOKEN, "whoami"]),
        )
        .fails(1);
    insta::assert_snapshot!(err);
}

#[test]
fn invalid_auth_with_a_token_file() {
    let s = Server::start();
    let file = s.dir.path().join("token");
    std::fs::write(&file, format!("  {UNKNOWN_TOKEN}\n")).unwrap();
    let err = Run::of(
        bin()
            .env("SLACK_API_URL", &s.api_url)
            .arg("--token-file")
            .arg(&file)
            .args(["list", "-v"]),
    )
    .fails(1);
    assert!(err.contains("invalid_auth"), "{err}");
    let empty = s.dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let err = Run::of(
        bin()
            .env("SLACK_API_URL", &s.api_url)
            .arg("--token-file")
            .arg(&empty)
            .arg("list"),
    )
    .fails(2);
    assert!(err.contains("is empty"), "{err}");
}

#[test]
fn missing_scope_names_needed_and_provided() {
    let s = Server::start();
    let err = s
        .run(&["--token", READONLY_TOKEN, "reset", "W0DEV"])
        .fails(1);
    insta::assert_snapshot!(err);
}

#[test]
fn not_an_admin() {
    let s = Server::start();
    let err = s.run(&["--token", MEMBER_TOKEN, "list"]).fails(1);
    insta::assert_snapshot!(err);
}

#[test]
fn user_not_found() {
    let s = Server::start();
    let err = s.run(&["reset", "W0NOBODY"]).fails(1);
    insta::assert_snapshot!(err);
}

#[test]
fn session_not_found_after_invalidating_twice() {
    let s = Server::start();
    let out = s.run(&["invalidate", "1003", "--user", "W0DEV"]).ok();
    assert_eq!(out, "Invalidated session 1003.\n");
    let err = s.run(&["invalidate", "1003", "--user", "W0DEV"]).fails(1);
    insta::assert_snapshot!(err);
}

#[test]
fn invalid_arguments_caught_before_sending_are_usage_errors() {
    // Unreachable API: if anything were sent, this would be a transport error (exit 1).
    let nowhere = [
        "--api-url",
        "http://127.0.0.1:9/api/",
        "--token",
        UNKNOWN_TOKEN,
    ];
    let many: Vec<String> = (0..1001).map(|i| format!("W{i}")).collect();
    let mut args: Vec<&str> = nowhere.to_vec();
    args.extend(["settings", "get"]);
    args.extend(many.iter().map(String::as_str));
    let too_many = Run::of(bin().args(&args)).fails(2);
    insta::assert_snapshot!("too_many_users", too_many);

    let bad_duration =
        Run::of(
            bin()
                .args(nowhere)
                .args(["settings", "set", "W0DEV", "--duration", "1h"]),
        )
        .fails(2);
    assert!(bad_duration.contains("between 28800"), "{bad_duration}");

    let bad_id = Run::of(bin().args(nowhere).args(["reset-bulk", "W1", "not/an-id"])).fails(2);
    insta::assert_snapshot!("bad_user_id", bad_id);

    let no_owner = Run::of(bin().args(nowhere).args(["invalidate", "1001"])).fails(2);
    assert!(no_owner.contains("--user"), "{no_owner}");
}

#[test]
fn unreachable_server() {
    let run = Run::of(bin().args([
        "--api-url",
        "http://127.0.0.1:9/api/",
        "--token",
        UNKNOWN_TOKEN,
        "--timeout",
        "5s",
        "reset",
        "W0DEV",
    ]));
    let err = run.fails(1);
    assert!(err.starts_with("error: could not reach the API"), "{err}");
    assert!(err.contains("hint: is the server running?"), "{err}");
    insta::assert_snapshot!(err);
}
