//! reset-bulk: chunking, partial failure, dry runs and stdin.

use std::collections::BTreeSet;

use serde_json::Value;
use sessions_test_support::wait;

use crate::harness::{fixture, Server};

/// Session ids still listed, org-wide.
fn listed(s: &Server) -> BTreeSet<u64> {
    let out = s.run(&["list", "--all", "--format", "ndjson"]).ok();
    out.lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["session_id"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

#[test]
fn more_than_1000_users_with_unknowns_is_a_partial_failure() {
    let s = Server::with_fixture(&fixture(1200));
    let mut file = String::from("# leavers, exported from HR\n\n");
    for i in 0..1200 {
        // Mix both accepted shapes: lines and comma-separated.
        if i % 3 == 0 {
            file.push_str(&format!("W{}, W{}\n", 1000 + i, 1000 + i));
        } else {
            file.push_str(&format!("W{}  # user{i}\n", 1000 + i));
        }
        if i == 10 {
            file.push_str("W0NOBODY1\n");
        }
        if i == 1150 {
            // Lands in the second chunk.
            file.push_str("W0NOBODY2\nW0BOT\n");
        }
    }
    file.push_str("W1000\n"); // duplicate, ignored
    let path = s.dir.path().join("leavers.txt");
    std::fs::write(&path, file).unwrap();

    let before = listed(&s);
    assert!(
        before.contains(&100_000) && before.contains(&101_190),
        "fixture sessions missing"
    );

    let dry = s
        .run(&["reset-bulk", "--dry-run", "--file", path.to_str().unwrap()])
        .ok();
    insta::assert_snapshot!("dry_run_plan", dry);
    assert_eq!(listed(&s), before, "a dry run changed something");

    // Throttling stays on (the default): four calls, one paced wait, no 429.
    let run = s.run(&["reset-bulk", "--file", path.to_str().unwrap()]);
    assert_eq!(run.code, 3, "{run:?}");
    insta::assert_snapshot!("partial_failure_summary", run.stdout);

    // The 1200 known users' sessions go (the server finishes recorded jobs in the
    // background); other users' sessions stay.
    wait::until_true_blocking("bulk resets to finish", || {
        let now = listed(&s);
        now.iter().all(|id| *id < 100_000)
    });
    assert_eq!(
        listed(&s),
        [1001, 1002, 1003, 1004, 1005].into_iter().collect()
    );
}

#[test]
fn users_from_stdin_and_arguments() {
    let s = Server::start();
    let out = s
        .cli()
        .args(["reset-bulk", "--no-throttle", "--mobile-only", "-"])
        .write_stdin("W0DEV\n# nobody else\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "Reset done for 1 user; 0 failed.\n"
    );
    wait::until_true_blocking("the iOS session to go", || !listed(&s).contains(&1002));
    assert!(listed(&s).is_superset(&[1001, 1003].into_iter().collect()));

    let out = s
        .run(&["reset-bulk", "--no-throttle", "--web-only", "W0DEV,W0OPS"])
        .ok();
    assert_eq!(out, "Reset done for 2 users; 0 failed.\n");
    wait::until_true_blocking("the web session to go", || !listed(&s).contains(&1003));
    assert!(listed(&s).contains(&1001));
}

#[test]
fn dry_run_sends_nothing_even_without_a_server() {
    let run = crate::harness::Run::of(crate::harness::bin().args([
        "--api-url",
        "http://127.0.0.1:9/api/",
        "reset-bulk",
        "--dry-run",
        "W1",
        "W2",
        "W1",
    ]));
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .starts_with("Dry run: would reset all sessions of 2 users in 1 "),
        "{run:?}"
    );
}

#[test]
fn an_empty_list_is_a_usage_error() {
    let s = Server::start();
    let path = s.dir.path().join("empty.txt");
    std::fs::write(&path, "# nobody\n\n").unwrap();
    let err = s
        .run(&["reset-bulk", "--file", path.to_str().unwrap()])
        .fails(2);
    assert!(err.contains("no user ids given"), "{err}");
}

#[test]
fn an_error_no_retry_can_fix_stops_the_run_with_a_summary() {
    let s = Server::with_fixture(&fixture(1500));
    let users: Vec<String> = (0..1500).map(|i| format!("W{}", 1000 + i)).collect();
    let path = s.dir.path().join("users.txt");
    std::fs::write(&path, users.join("\n")).unwrap();
    let run = s.run(&[
        "--token",
        crate::harness::READONLY_TOKEN,
        "reset-bulk",
        "--no-throttle",
        "--file",
        path.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stdout,
        "Reset done for 0 users; 0 failed.\nNot attempted (stopped early): 1500 users.\n"
    );
    assert!(run.stderr.starts_with("error: missing_scope:"), "{run:?}");
}

/// The progress bar is drawn on an interactive terminal and never into a pipe. `script` gives the
/// binary a real pseudo-terminal, as an admin's shell would.
#[test]
fn progress_bar_only_on_a_terminal() {
    let s = Server::with_fixture(&fixture(2500));
    let users: Vec<String> = (0..2500).map(|i| format!("W{}", 1000 + i)).collect();
    let file = s.dir.path().join("users.txt");
    std::fs::write(&file, users.join("\n")).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("slack-sessions");
    let cmdline = format!(
        "{} reset-bulk --no-throttle --file {}",
        bin.display(),
        file.display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmdline, "/dev/null"])
        .env("SLACK_API_URL", &s.api_url)
        .env("SLACK_TOKEN", crate::harness::ADMIN_TOKEN)
        .output()
        .expect("`script` (util-linux) runs the binary on a pseudo-terminal");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        text.contains("/2500 users"),
        "no progress bar on a terminal: {text:?}"
    );
    assert!(
        text.contains("Reset done for 2500 users; 0 failed."),
        "{text:?}"
    );
    assert!(!text.contains(crate::harness::ADMIN_TOKEN));

    // Into a pipe: the summary only.
    let out = s
        .run(&[
            "reset-bulk",
            "--no-throttle",
            "--file",
            file.to_str().unwrap(),
        ])
        .ok();
    assert_eq!(out, "Reset done for 2500 users; 0 failed.\n");
}
