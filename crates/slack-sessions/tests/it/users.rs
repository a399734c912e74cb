//! Users named by email: every command that takes a user id also takes an address (resolved
//! through users.lookupByEmail), and `users get|list`. Effects are checked through the API.

use sessions_client::{Client, GetSettingsRequest, ListRequest, RetryPolicy};
use sessions_test_support::wait;

use crate::harness::{Server, ADMIN_TOKEN, READONLY_TOKEN};

/// The API, as a second door onto what the binary did.
fn api(s: &Server) -> (tokio::runtime::Runtime, Client) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let c = Client::builder(ADMIN_TOKEN)
        .base_url(&s.api_url)
        .retry(RetryPolicy::disabled())
        .build()
        .unwrap();
    (rt, c)
}

fn sessions_of(s: &Server, team: &str, user: &str) -> Vec<u64> {
    let (rt, c) = api(s);
    rt.block_on(c.admin_users_session_list(ListRequest::user(team, user)))
        .unwrap()
        .active_sessions
        .iter()
        .map(|a| a.session_id.0)
        .collect()
}

#[test]
fn reset_invalidate_and_list_take_an_email() {
    let s = Server::start();
    assert_eq!(sessions_of(&s, "T0ENG", "W0DEV"), [1001, 1002, 1003]);
    let out = s.run(&["reset", "dana@ACME.example", "--mobile-only"]).ok();
    assert_eq!(out, "Reset mobile sessions of W0DEV (dana@ACME.example).\n");
    assert_eq!(sessions_of(&s, "T0ENG", "W0DEV"), [1001, 1003]);

    let out = s
        .run(&["invalidate", "1003", "--user", "Dana@Acme.example"])
        .ok();
    assert_eq!(out, "Invalidated session 1003.\n");
    assert_eq!(sessions_of(&s, "T0ENG", "W0DEV"), [1001]);

    let json = s
        .run(&[
            "list",
            "--team",
            "T0OPS",
            "--user",
            "omar@acme.example",
            "--format",
            "json",
        ])
        .ok();
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["active_sessions"][0]["session_id"], 1004, "{json}");
    assert_eq!(doc["active_sessions"].as_array().unwrap().len(), 1);
}

#[test]
fn settings_and_reset_bulk_take_emails_from_arguments_and_files() {
    let s = Server::start();
    let out = s
        .run(&[
            "settings",
            "set",
            "dana@acme.example,W0OPS",
            "--duration",
            "8h",
        ])
        .ok();
    assert_eq!(
        out,
        "Updated settings of 2 users: duration 8 hours (28800 s).\n"
    );
    let (rt, c) = api(&s);
    let got = rt
        .block_on(c.admin_users_session_get_settings(GetSettingsRequest::new(["W0DEV", "W0OPS"])))
        .unwrap();
    assert_eq!(got.session_settings.len(), 2);
    assert!(got
        .session_settings
        .iter()
        .all(|x| x.duration == Some(28_800)));
    // An address and the id of the same user count once.
    let out = s
        .run(&["settings", "clear", "W0OPS", "OMAR@acme.example"])
        .ok();
    assert_eq!(out, "Cleared settings of 1 user.\n");
    let table = s.run(&["settings", "get", "omar@acme.example"]).ok();
    assert!(table.contains("W0OPS"), "{table}");

    let file = s.dir.path().join("leavers.txt");
    std::fs::write(&file, "# leavers\nomar@acme.example\nW0DEV  # dana\n").unwrap();
    let plan = s
        .run(&["reset-bulk", "--file", file.to_str().unwrap(), "--dry-run"])
        .ok();
    assert!(plan.contains("of 2 users in 1"), "{plan}");
    assert!(
        plan.contains("1 email address(es) were looked up; nothing was changed"),
        "{plan}"
    );
    assert_eq!(
        sessions_of(&s, "T0OPS", "W0OPS"),
        [1004],
        "a dry run changes nothing"
    );

    let out = s
        .run(&[
            "reset-bulk",
            "--file",
            file.to_str().unwrap(),
            "--no-throttle",
        ])
        .ok();
    assert!(
        out.starts_with("Reset done for 2 users; 0 failed."),
        "{out}"
    );
    wait::until_true_blocking("the bulk reset", || {
        sessions_of(&s, "T0OPS", "W0OPS").is_empty() && sessions_of(&s, "T0ENG", "W0DEV").is_empty()
    });
}

#[test]
fn an_email_that_names_nobody_stops_before_anything_changes() {
    let s = Server::start();
    let err = s
        .run(&[
            "reset-bulk",
            "W0DEV",
            "nobody@acme.example",
            "gone@acme.example",
            "--no-throttle",
        ])
        .fails(1);
    assert!(
        err.starts_with(
            "error: users_not_found: no user has the email addresses nobody@acme.example, \
             gone@acme.example\n"
        ),
        "{err}"
    );
    assert!(err.contains("nothing was changed"), "{err}");
    assert_eq!(
        sessions_of(&s, "T0ENG", "W0DEV"),
        [1001, 1002, 1003],
        "W0DEV untouched"
    );

    let err = s.run(&["reset", "nobody@acme.example"]).fails(1);
    assert!(err.contains("users_not_found"), "{err}");
    let err = s
        .run(&["settings", "get", "W0DEV", "nobody@acme.example"])
        .fails(1);
    assert!(err.contains("nobody@acme.example"), "{err}");
    // Neither an id nor an address: refused before anything is sent.
    let err = s.run(&["settings", "get", "not/an-id"]).fails(2);
    assert!(err.contains("not a user id or email: not/an-id"), "{err}");
    // A token that may not read emails says so.
    let err = s
        .run(&["--token", READONLY_TOKEN, "reset", "dana@acme.example"])
        .fails(1);
    assert!(err.contains("missing_scope"), "{err}");
    assert!(err.contains("users:read.email"), "{err}");
    assert_eq!(sessions_of(&s, "T0ENG", "W0DEV"), [1001, 1002, 1003]);
}

#[test]
fn users_get_and_list() {
    let s = Server::start();
    let table = s
        .run(&["users", "get", "dana@acme.example", "W0OWNER"])
        .ok();
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("ID "), "{table}");
    assert!(
        lines[1].contains("W0DEV")
            && lines[1].contains("Dana Scully")
            && lines[1].contains("Dana@Acme.example"),
        "{table}"
    );
    assert!(
        lines[2].contains("primary_owner") && lines[2].contains("T0ENG T0OPS"),
        "{table}"
    );

    let json = s.run(&["users", "get", "W0GONE", "--format", "json"]).ok();
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["users"][0]["deleted"], true);

    // Some found, some not: the found ones print, the rest are named, exit 3.
    let run = s.run(&["users", "get", "W0DEV", "nobody@acme.example", "W0NOBODY"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stdout.contains("W0DEV"));
    assert!(
        run.stderr
            .contains("not found (users_not_found): nobody@acme.example"),
        "{run:?}"
    );
    assert!(
        run.stderr.contains("not found (user_not_found): W0NOBODY"),
        "{run:?}"
    );
    let err = s.run(&["users", "get", "nobody@acme.example"]).fails(1);
    assert!(err.starts_with("error: users_not_found"), "{err}");

    let ndjson = s
        .run(&[
            "users", "list", "--all", "--limit", "2", "--format", "ndjson",
        ])
        .ok();
    let ids: Vec<String> = ndjson
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        ids,
        ["W0ADMIN", "W0BOT", "W0DEV", "W0GONE", "W0MEMBER", "W0OPS", "W0OWNER"]
    );
    let csv = s
        .run(&["users", "list", "--team", "T0OPS", "--format", "csv"])
        .ok();
    assert_eq!(
        csv,
        "id,name,real_name,email,teams,role,status\n\
         W0GONE,gone,,gone@acme.example,T0OPS,member,deactivated\n\
         W0OPS,omar,,omar@acme.example,T0OPS,member,active\n\
         W0OWNER,olivia,,olivia@acme.example,T0ENG T0OPS,primary_owner,active\n"
    );
    let one = s.run(&["users", "list", "--limit", "1"]);
    assert_eq!(one.code, 0, "{one:?}");
    assert!(
        one.stderr
            .contains("More users: slack-sessions users list --cursor "),
        "{one:?}"
    );
}

#[test]
fn audit_filters_take_emails() {
    let mut f = crate::harness::fixture(0);
    for t in f["orgs"][0]["tokens"].as_array_mut().unwrap() {
        if t["token"] == ADMIN_TOKEN {
            t["scopes"]
                .as_array_mut()
                .unwrap()
                .push("auditlogs:read".into());
        }
    }
    let s = Server::with_fixture(&f);
    s.run(&["reset", "W0DEV"]).ok();
    s.run(&["reset", "W0OPS"]).ok();
    let entries = |args: &[&str]| -> Vec<serde_json::Value> {
        let mut all = vec!["audit", "--format", "json"];
        all.extend_from_slice(args);
        let doc: serde_json::Value = serde_json::from_str(&s.run(&all).ok()).unwrap();
        doc["entries"].as_array().unwrap().clone()
    };
    let dana = entries(&["--user", "DANA@acme.example"]);
    assert_eq!(dana.len(), 1, "{dana:?}");
    assert_eq!(dana[0]["entity"]["user"]["id"], "W0DEV", "{dana:?}");
    assert_eq!(entries(&["--actor", "adam@acme.example"]).len(), 2);
    let err = s.run(&["audit", "--actor", "nobody@acme.example"]).fails(1);
    assert!(err.contains("users_not_found"), "{err}");
}
