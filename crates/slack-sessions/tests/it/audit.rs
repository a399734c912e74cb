//! `slack-sessions audit`: the built binary reads the audit log of a real server after every
//! kind of admin action (and a refused one), with filters, cursors and every format.

use serde_json::Value;
use sessions_test_support::wait;

use crate::harness::{fixture, Run, Server, ADMIN_TOKEN, MEMBER_TOKEN, READONLY_TOKEN};

/// The standard fixture, with the admin token also allowed to read the audit log.
pub fn server() -> Server {
    let mut f = fixture(0);
    for t in f["orgs"][0]["tokens"].as_array_mut().unwrap() {
        if t["token"] == ADMIN_TOKEN {
            t["scopes"]
                .as_array_mut()
                .unwrap()
                .push("auditlogs:read".into());
        }
    }
    Server::with_fixture(&f)
}

fn json_entries(s: &Server, args: &[&str]) -> (Vec<Value>, String) {
    let mut all = vec!["audit", "--format", "json"];
    all.extend_from_slice(args);
    let doc: Value = serde_json::from_str(&s.run(&all).ok()).unwrap();
    (
        doc["entries"].as_array().unwrap().clone(),
        doc["next_cursor"].as_str().unwrap().to_owned(),
    )
}

fn count(s: &Server, args: &[&str]) -> usize {
    json_entries(s, args).0.len()
}

/// Every `YYYY-MM-DDTHH:MM:SSZ` replaced by a placeholder of the same width.
fn mask_times(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let looks_like_time = b.len() - i >= 20
            && b[i..i + 4].iter().all(u8::is_ascii_digit)
            && b[i + 4] == b'-'
            && b[i + 10] == b'T'
            && b[i + 19] == b'Z';
        if looks_like_time {
            out.push_str("YYYY-MM-DDTHH:MM:SSZ");
            i += 20;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// Performs one action of every kind, then one refused call; returns the server.
fn with_history() -> Server {
    let s = server();
    s.run(&["invalidate", "1001", "--user", "W0DEV"]).ok();
    s.run(&["reset", "W0OPS", "--mobile-only"]).ok();
    s.run(&["reset-bulk", "W0DEV", "W0OPS", "--no-throttle"])
        .ok();
    // The job's per-user entries arrive when the worker finishes it.
    wait::until_true_blocking("the resetBulk job's entries", || {
        count(&s, &["--action", "user_session_reset_by_admin"]) == 3
    });
    s.run(&["settings", "set", "W0ADMIN", "--duration", "12h"])
        .ok();
    s.run(&["settings", "clear", "W0DEV"]).ok();
    let refused = s
        .cli()
        .env("SLACK_TOKEN", MEMBER_TOKEN)
        .args(["reset", "W0DEV"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    s
}

#[test]
fn shows_every_kind_of_action_in_every_format() {
    let s = with_history();
    let table = s.run(&["audit"]).ok();
    assert!(table.contains("127.0.0.1"), "{table}");
    insta::assert_snapshot!("audit_table", mask_times(&table));

    let (entries, next) = json_entries(&s, &[]);
    assert_eq!(entries.len(), 8);
    assert_eq!(next, "");
    for e in &entries {
        let ua = e["context"]["ua"].as_str().unwrap();
        assert!(ua.starts_with("slack-sessions/"), "{ua}");
    }
    insta::assert_json_snapshot!("audit_json", entries, {
        "[].date_create" => "[date]",
        "[].context.ua" => "[ua]",
    });

    let nd = s.run(&["audit", "--format", "ndjson"]).ok();
    let lines: Vec<Value> = nd
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, entries);
}

#[test]
fn filters_narrow_the_log() {
    let s = with_history();
    assert_eq!(count(&s, &["--action", "bulk_session_reset_by_admin"]), 1);
    assert_eq!(count(&s, &["--action", "user_session_settings_changed"]), 2);
    assert_eq!(count(&s, &["--actor", "W0MEMBER"]), 1);
    assert_eq!(count(&s, &["--actor", "W0ADMIN"]), 7);
    // W0OPS: its reset, the bulk entry and its per-user job entry.
    assert_eq!(count(&s, &["--user", "W0OPS"]), 3);
    assert_eq!(count(&s, &["--since", "1h"]), 8);
    assert_eq!(count(&s, &["--latest", "1000"]), 0);
    assert_eq!(count(&s, &["--oldest", "4102444800"]), 0);
    let (refused, _) = json_entries(&s, &["--actor", "W0MEMBER"]);
    assert_eq!(refused[0]["details"]["result"], "not_an_admin");
    assert_eq!(refused[0]["entity"]["user"]["id"], "W0DEV");
}

#[test]
fn cursors_page_and_all_follows_them() {
    let s = with_history();
    let (first, cursor) = json_entries(&s, &["--limit", "3"]);
    assert_eq!(first.len(), 3);
    assert!(!cursor.is_empty());
    let (second, _) = json_entries(&s, &["--limit", "3", "--cursor", &cursor]);
    assert_eq!(second.len(), 3);
    let ids = |v: &[Value]| -> Vec<i64> {
        v.iter()
            .map(|e| e["id"].as_str().unwrap().parse().unwrap())
            .collect()
    };
    assert!(ids(&first).iter().min() > ids(&second).iter().max());
    // The table tells how to continue.
    let run = s.run(&["audit", "--limit", "3"]);
    assert_eq!(run.code, 0);
    assert!(
        run.stderr.contains("slack-sessions audit --cursor "),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout.lines().count(), 4, "{}", run.stdout);
    let (all, next) = json_entries(&s, &["--limit", "3", "--all"]);
    assert_eq!(all.len(), 8);
    assert_eq!(next, "");
    let nd = s
        .run(&["audit", "--limit", "2", "--all", "--format", "ndjson"])
        .ok();
    assert_eq!(nd.lines().count(), 8);
    // A cursor is bound to its filters.
    let err = s
        .run(&[
            "audit", "--limit", "3", "--cursor", &cursor, "--user", "W0DEV",
        ])
        .fails(1);
    assert!(err.contains("invalid_cursor"), "{err}");
}

#[test]
fn refusals_and_bad_arguments() {
    let s = server();
    let err = s
        .cli()
        .env("SLACK_TOKEN", READONLY_TOKEN)
        .arg("audit")
        .output()
        .unwrap();
    assert_eq!(err.status.code(), Some(1));
    let stderr = String::from_utf8(err.stderr).unwrap();
    assert!(
        stderr.contains("missing_scope") && stderr.contains("auditlogs:read"),
        "{stderr}"
    );
    let err = s
        .run(&["audit", "--oldest", "10", "--latest", "5"])
        .fails(2);
    assert!(err.contains("nothing was sent"), "{err}");
    s.run(&["audit", "--limit", "0"]).fails(2);
    s.run(&["audit", "--since", "1h", "--oldest", "5"]).fails(2);
    // An empty log is an empty table.
    assert_eq!(
        s.run(&["audit"]).ok(),
        "TIME  ACTOR  ACTION  TARGET  IP  RESULT\n"
    );
}

/// `slack-sessions serve` as a process (killed on drop), on the audit fixture.
struct Serve {
    child: std::process::Child,
    api_url: String,
    _dir: tempfile::TempDir,
}

impl Serve {
    fn start(extra: &[&str]) -> Serve {
        let dir = tempfile::tempdir().unwrap();
        let mut f = fixture(0);
        for t in f["orgs"][0]["tokens"].as_array_mut().unwrap() {
            if t["token"] == ADMIN_TOKEN {
                t["scopes"]
                    .as_array_mut()
                    .unwrap()
                    .push("auditlogs:read".into());
            }
        }
        let mut cmd = crate::procs::serve_command(dir.path(), &f);
        cmd.args(extra);
        let (child, api_url) = crate::procs::spawn_until_line_blocking(cmd, "API URL:");
        let api_url = api_url.expect("no API URL in the banner");
        Serve {
            child,
            api_url,
            _dir: dir,
        }
    }

    /// A reset of W0DEV claiming to come through a proxy; returns the recorded address.
    fn recorded_ip_of_forwarded_call(&self) -> String {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let body: String = rt.block_on(async {
            reqwest::Client::new()
                .post(format!("{}admin.users.session.reset", self.api_url))
                .bearer_auth(ADMIN_TOKEN)
                .header("x-forwarded-for", "198.51.100.1, 198.51.100.77")
                .form(&[("user_id", "W0DEV")])
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        });
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["ok"], true, "{body}");
        let out = Run::of(
            crate::harness::bin()
                .env("SLACK_API_URL", &self.api_url)
                .env("SLACK_TOKEN", ADMIN_TOKEN)
                .args(["audit", "--format", "json"]),
        )
        .ok();
        let doc: Value = serde_json::from_str(&out).unwrap();
        doc["entries"][0]["context"]["ip_address"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serve_trusts_forwarded_for_only_when_told() {
    assert_eq!(
        Serve::start(&[]).recorded_ip_of_forwarded_call(),
        "127.0.0.1"
    );
    assert_eq!(
        Serve::start(&["--trust-forwarded-for"]).recorded_ip_of_forwarded_call(),
        "198.51.100.77"
    );
}
