//! `slack-sessions revoke` (issue 13): the built binary against a real server. Every effect is
//! checked through the API (`admin.users.session.list` with the admin token, `auth.test` with
//! each session's own token, the audit log), never through the command's own output.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use futures::TryStreamExt;
use serde_json::{json, Value};
use sessions_client::audit::AuditLogsRequest;
use sessions_client::{Client, ListRequest, RetryPolicy};
use sessions_test_support::wait;

use crate::harness::{fixture, Run, Server, ADMIN_TOKEN};
use crate::procs::serve;

/// `fixture(n)` with emails (`<name>@acme.example`) and an admin token that may also read the
/// audit log and the directory.
fn with_emails(generated_users: usize) -> Value {
    let mut f = fixture(generated_users);
    let org = &mut f["orgs"][0];
    for u in org["users"].as_array_mut().unwrap() {
        u["email"] = format!("{}@acme.example", u["name"].as_str().unwrap()).into();
    }
    for t in org["tokens"].as_array_mut().unwrap() {
        if t["token"] == ADMIN_TOKEN {
            let scopes = t["scopes"].as_array_mut().unwrap();
            for s in ["auditlogs:read", "users:read", "users:read.email"] {
                scopes.push(s.into());
            }
        }
    }
    f
}

/// The standard fixture plus sessions chosen so each selector has matches and near misses.
fn org() -> Value {
    let mut f = with_emails(0);
    let org = &mut f["orgs"][0];
    let extra = [
        // (id, user, team, created ip, recent ip, version)
        (
            2001,
            "W0MEMBER",
            "T0ENG",
            "203.0.113.200",
            Some("10.1.1.1"),
            "4.30.0",
        ),
        (
            2002,
            "W0OPS",
            "T0OPS",
            "10.0.0.5",
            Some("203.0.113.77"),
            "4.33.0",
        ),
        (2003, "W0OPS", "T0OPS", "2001:db8:1::9", None, "4.20.0"),
        (2004, "W0ADMIN", "T0ENG", "203.0.113.5", None, "4.0.0"),
        (2005, "W0OWNER", "T0ENG", "203.0.113.1", None, "4.0.0"),
        (2006, "W0MEMBER", "T0ENG", "192.0.2.200", None, "4.36.0"),
    ];
    for (id, user, team, ip, recent, version) in extra {
        let mut s = json!({"session_id": id, "user": user, "team": team, "client": "desktop",
            "token": format!("xoxc-extra-{id}"),
            "created": {"device_hardware": "Dell XPS 13", "os": "Windows", "os_version": "11",
                        "slack_client_version": version, "ip": ip}});
        if let Some(r) = recent {
            s["recent"] = json!({"os": "Windows", "slack_client_version": version, "ip": r});
        }
        org["sessions"].as_array_mut().unwrap().push(s);
    }
    f
}

/// Session id -> its token, from a fixture.
fn tokens(f: &Value) -> BTreeMap<u64, String> {
    f["orgs"][0]["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["session_id"].as_u64().unwrap(),
                s["token"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn client(api_url: &str, token: &str) -> Client {
    Client::builder(token)
        .base_url(api_url)
        .retry(RetryPolicy::disabled())
        .build()
        .unwrap()
}

/// Active sessions through `list` (admin token), and, for each session of the fixture,
/// whether its own token still passes `auth.test`. Both doors must agree.
fn live_sessions(api_url: &str, f: &Value) -> BTreeSet<u64> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listed: BTreeSet<u64> = client(api_url, ADMIN_TOKEN)
            .admin_users_session_list_all(ListRequest::org())
            .map_ok(|s| s.session_id.0)
            .try_collect()
            .await
            .unwrap();
        for (id, token) in tokens(f) {
            let alive = client(api_url, &token).auth_test().await.is_ok();
            assert_eq!(
                alive,
                listed.contains(&id),
                "session {id}: auth.test and list disagree"
            );
        }
        listed
    })
}

fn all_ids(f: &Value) -> BTreeSet<u64> {
    tokens(f).into_keys().collect()
}

fn without(all: &BTreeSet<u64>, gone: &[u64]) -> BTreeSet<u64> {
    all.iter()
        .copied()
        .filter(|id| !gone.contains(id))
        .collect()
}

fn journal_in(s: &Server) -> PathBuf {
    s.dir.path().join("revoke.jsonl")
}

/// The binary with its journal directory inside the server's temp dir.
fn revoke(s: &Server, args: &[&str]) -> Run {
    let mut cmd = s.cli();
    cmd.env("XDG_STATE_HOME", s.dir.path().join("state"))
        .arg("revoke")
        .args(args);
    Run::of(&mut cmd)
}

#[test]
fn a_cidr_selection_ends_exactly_the_sessions_in_range_and_names_the_refused_one() {
    let f = org();
    let s = Server::with_fixture(&f);
    let j = journal_in(&s);
    let run = revoke(
        &s,
        &[
            "--ip",
            "203.0.113.0/24",
            "--ip",
            "2001:db8::/32",
            "--yes",
            "--journal",
            j.to_str().unwrap(),
        ],
    );
    // 1001 created in range, 2002 recent in range, 2001 created in range, 1004 and 2003
    // IPv6; 2004 is the caller's own; 2005 is the primary owner's (refused, named, exit 3).
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stdout
            .contains("session 2005 of W0OWNER: cannot_invalidate_primary_owner"),
        "{run:?}"
    );
    assert_eq!(
        live_sessions(&s.api_url, &f),
        without(&all_ids(&f), &[1001, 1004, 2001, 2002, 2003])
    );
}

/// Active session ids through `list` only (for polling while resetBulk jobs finish).
fn listed(api_url: &str) -> BTreeSet<u64> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(
        client(api_url, ADMIN_TOKEN)
            .admin_users_session_list_all(ListRequest::org())
            .map_ok(|s| s.session_id.0)
            .try_collect(),
    )
    .unwrap()
}

#[test]
fn a_leavers_csv_by_email_resets_exactly_those_users_and_names_the_unknown_one() {
    let f = org();
    let s = Server::with_fixture(&f);
    let file = s.dir.path().join("leavers.csv");
    std::fs::write(
        &file,
        "Name,Email,Department\n\"Scully, Dana\",DANA@acme.example,Eng\n\
         Omar,omar@acme.example,Ops\nGhost,ghost@acme.example,Ops\n",
    )
    .unwrap();
    let run = revoke(&s, &["--users-file", file.to_str().unwrap(), "--yes"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stdout
            .contains("ghost@acme.example (not resolved): users_not_found"),
        "{run:?}"
    );
    assert!(run.stdout.contains("1 of 1 calls done"), "{run:?}");
    // Two people: one resetBulk of both, not two resets.
    assert!(
        run.stdout.contains("1 x admin.users.session.resetBulk"),
        "{run:?}"
    );
    assert!(
        !run.stdout.contains("admin.users.session.reset,")
            && !run.stdout.contains("admin.users.session.reset\n"),
        "{run:?}"
    );
    // resetBulk jobs finish in the background: wait for them, then check both doors.
    let want = without(&all_ids(&f), &[1001, 1002, 1003, 1004, 2002, 2003]);
    wait::until_true_blocking("the resetBulk job", || listed(&s.api_url) == want);
    assert_eq!(live_sessions(&s.api_url, &f), want);
}

#[test]
fn an_email_file_with_a_range_ends_only_those_users_sessions_in_range() {
    let f = org();
    let s = Server::with_fixture(&f);
    let file = s.dir.path().join("people.txt");
    std::fs::write(
        &file,
        "# laptop stolen in the office\ndana@acme.example\nW0MEMBER  # by id\n",
    )
    .unwrap();
    let run = revoke(
        &s,
        &[
            "--users-file",
            file.to_str().unwrap(),
            "--ip",
            "203.0.113.0/24",
            "--yes",
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    // Dana's 1001 and Mia's 2001 are in range; Omar's 2002 is too but he is not named.
    assert_eq!(
        live_sessions(&s.api_url, &f),
        without(&all_ids(&f), &[1001, 2001])
    );
}

#[test]
fn one_user_mobile_only_is_one_synchronous_reset_of_her_mobile_sessions() {
    let f = org();
    let s = Server::with_fixture(&f);
    let plan = revoke(
        &s,
        &["--user", "dana@acme.example", "--mobile-only", "--plan"],
    );
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(
        plan.stdout.contains("1 x admin.users.session.reset"),
        "{plan:?}"
    );
    assert!(!plan.stdout.contains("resetBulk"), "{plan:?}");
    let report = s.dir.path().join("report.csv");
    let run = revoke(
        &s,
        &[
            "--user",
            "dana@acme.example",
            "--mobile-only",
            "--yes",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    // `reset` is synchronous: ended when the command returns, no job to wait for.
    let want = without(&all_ids(&f), &[1002]);
    assert_eq!(live_sessions(&s.api_url, &f), want);
    let csv = std::fs::read_to_string(&report).unwrap();
    assert!(
        csv.contains("admin.users.session.reset,W0DEV,dana@acme.example,,,done,,"),
        "{csv}"
    );
    assert!(!csv.contains("resetBulk"), "{csv}");
}

#[test]
fn a_version_selection_uses_the_most_recent_version() {
    let f = org();
    let s = Server::with_fixture(&f);
    let run = revoke(
        &s,
        &["--client-version-below", "4.36", "--os", "windows", "--yes"],
    );
    // Below 4.36 on Windows: 2001, 2002, 2003 (2004 is mine, 2005 the owner's: refused);
    // 1001 was 4.35 when created but is 4.36.140 now; 2006 is 4.36.0.
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("Journal: "), "{run:?}");
    assert_eq!(
        live_sessions(&s.api_url, &f),
        without(&all_ids(&f), &[2001, 2002, 2003])
    );
    // The default journal went where it said, under the state directory.
    let dir = s.dir.path().join("state/slack-sessions/journals");
    assert_eq!(std::fs::read_dir(dir).unwrap().count(), 1);
}

#[test]
fn a_team_selection_ends_that_workspaces_sessions_only_and_writes_a_report() {
    let f = org();
    let s = Server::with_fixture(&f);
    let report = s.dir.path().join("report.json");
    let run = revoke(
        &s,
        &[
            "--team",
            "T0OPS",
            "--yes",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        live_sessions(&s.api_url, &f),
        without(&all_ids(&f), &[1004, 2002, 2003])
    );
    let rows: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let done: BTreeSet<u64> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["result"] == "done")
        .map(|r| r["session_id"].as_u64().unwrap())
        .collect();
    assert_eq!(done, BTreeSet::from([1004, 2002, 2003]));
}

#[test]
fn plan_prints_and_changes_nothing() {
    let f = org();
    let s = Server::with_fixture(&f);
    let run = revoke(&s, &["--ip", "0.0.0.0/0", "--ip", "::/0", "--plan"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("Sessions listed: 11, matched: 9"),
        "{run:?}"
    );
    assert!(
        run.stdout.contains("Left alone: 2 of your own sessions"),
        "{run:?}"
    );
    assert!(
        run.stdout.contains("9 x admin.users.session.invalidate"),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains("Estimated duration: 24s at Slack's tier rates"),
        "{run:?}"
    );
    assert_eq!(live_sessions(&s.api_url, &f), all_ids(&f));
    // Nothing written to the audit log, no journal made.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let entries = rt.block_on(async {
        client(&s.api_url, ADMIN_TOKEN)
            .audit_logs(AuditLogsRequest::default())
            .await
            .unwrap()
            .entries
    });
    assert!(entries.is_empty(), "{entries:?}");
    assert!(!s.dir.path().join("state").exists());
}

#[test]
fn usage_errors_send_nothing() {
    let f = org();
    let s = Server::with_fixture(&f);
    let err = revoke(&s, &[]).fails(2);
    assert!(err.contains("nothing selected"), "{err}");
    // Off a terminal without --yes: refused before any change.
    let err = revoke(&s, &["--team", "T0OPS"]).fails(2);
    assert!(err.contains("without --yes"), "{err}");
    let err = revoke(&s, &["--ip", "10.0.0.0/33", "--yes"]).fails(2);
    assert!(err.contains("10.0.0.0/33"), "{err}");
    let err = revoke(&s, &["--everyone", "--user", "W0DEV", "--yes"]).fails(2);
    assert!(err.contains("--everyone"), "{err}");
    let err = revoke(&s, &["--team", "T0OPS", "--mobile-only", "--yes"]).fails(2);
    assert!(err.contains("whole-user"), "{err}");
    let existing = s.dir.path().join("fixture.json");
    let err = revoke(
        &s,
        &[
            "--team",
            "T0OPS",
            "--yes",
            "--journal",
            existing.to_str().unwrap(),
        ],
    )
    .fails(2);
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(live_sessions(&s.api_url, &f), all_ids(&f));
}

/// Counts `i` records in a journal.
fn settled_in(journal: &Path) -> usize {
    std::fs::read_to_string(journal)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("{\"i\":"))
        .count()
}

fn spawn_revoke(api_url: &str, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_slack-sessions"))
        .env_remove("RUST_LOG")
        .env("SLACK_API_URL", api_url)
        .env("SLACK_TOKEN", ADMIN_TOKEN)
        .arg("revoke")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn a_run_killed_mid_way_and_resumed_ends_each_session_exactly_once() {
    // 60 generated users each with one session on 192.0.2.99, plus the standard org.
    let f = with_emails(600);
    let s = Server::with_fixture(&f);
    let j = journal_in(&s);
    let jp = j.to_str().unwrap();
    let targets: BTreeSet<u64> = (0..600).step_by(10).map(|i| 100_000 + i).collect();

    // First run at 600/min (a call every 100 ms): SIGKILLed after 12 settled calls.
    let mut first = spawn_revoke(
        &s.api_url,
        &[
            "--ip",
            "192.0.2.99/32",
            "--yes",
            "--journal",
            jp,
            "--max-rate",
            "600/min",
        ],
    );
    wait::until_true_blocking("12 settled calls", || settled_in(&j) >= 12);
    first.kill().unwrap();
    first.wait().unwrap();
    let after_kill = settled_in(&j);
    assert!(
        after_kill < targets.len(),
        "the run finished before the kill"
    );

    // A resume at 300/min, killed again; while it runs, a second resume is refused.
    let mut second = spawn_revoke(
        &s.api_url,
        &["--resume", jp, "--yes", "--max-rate", "300/min"],
    );
    wait::until_true_blocking("the resume to take the journal", || {
        settled_in(&j) > after_kill
    });
    let refused = s.run(&["revoke", "--resume", jp, "--yes"]);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(
        refused.stderr.contains("in use by another run"),
        "{refused:?}"
    );
    wait::until_true_blocking("a few more calls", || settled_in(&j) >= after_kill + 5);
    second.kill().unwrap();
    second.wait().unwrap();

    // The last resume finishes.
    let last = s.run(&["revoke", "--resume", jp, "--yes", "--max-rate", "6000/min"]);
    assert_eq!(last.code, 0, "{last:?}");
    assert_eq!(settled_in(&j), targets.len());

    // Through the API: exactly the targets are gone...
    let live = live_sessions(&s.api_url, &f);
    let all = all_ids(&f);
    assert_eq!(live, all.difference(&targets).copied().collect());
    // ...and the audit log has exactly one successful invalidation of each, none of others.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let entries: Vec<_> = rt.block_on(async {
        client(&s.api_url, ADMIN_TOKEN)
            .audit_logs_all(AuditLogsRequest::default().action("user_session_invalidated"))
            .try_collect()
            .await
            .unwrap()
    });
    let mut ok: BTreeMap<u64, usize> = BTreeMap::new();
    for e in &entries {
        let id = e.entity.session.as_ref().unwrap().id.0;
        assert!(
            targets.contains(&id),
            "session {id} outside the plan was touched"
        );
        if e.result() == "ok" {
            *ok.entry(id).or_default() += 1;
        }
    }
    assert_eq!(ok.keys().copied().collect::<BTreeSet<_>>(), targets);
    assert!(ok.values().all(|n| *n == 1), "{ok:?}");
}

#[tokio::test]
async fn rate_limited_runs_wait_out_every_429_and_fail_nothing() {
    let f = org();
    let dir = tempfile::tempdir().unwrap();
    let limits = dir.path().join("limits.json");
    std::fs::write(
        &limits,
        r#"{"admin.users.session.invalidate": {"per_minute": 120, "burst": 1},
            "admin.users.session.list": {"per_minute": 120, "burst": 1}}"#,
    )
    .unwrap();
    let db = format!("sqlite://{}", dir.path().join("s.db").display());
    let p = serve(
        &db,
        Some(&f.to_string()),
        &["--rate-limit-file", limits.to_str().unwrap()],
    )
    .await;
    let api = p.api.clone();
    // Far faster than the server allows: the server answers 429s, the run waits them out.
    let out = tokio::task::spawn_blocking(move || {
        spawn_revoke(&api, &["--team", "T0OPS", "--yes", "--max-rate", "100/s"])
            .wait_with_output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("Rate limited"), "{stdout}");
    assert!(
        stdout.contains("3 of 3 calls done, 0 already done, 0 failed"),
        "{stdout}"
    );
    let api = p.api.clone();
    let f2 = f.clone();
    let live = tokio::task::spawn_blocking(move || live_sessions(&api, &f2))
        .await
        .unwrap();
    assert_eq!(live, without(&all_ids(&f), &[1004, 2002, 2003]));
    // The server did refuse calls with 429: the request log has them.
    let log = p
        .control_get("/emulator/requests?method=admin.users.session.invalidate")
        .await;
    let codes: Vec<&str> = log["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["answer"].as_str())
        .collect();
    assert!(codes.contains(&"ratelimited"), "{log}");
}

#[test]
fn ctrl_c_stops_after_the_call_in_flight_and_prints_the_resume_command() {
    let f = with_emails(600);
    let s = Server::with_fixture(&f);
    let j = journal_in(&s);
    let jp = j.to_str().unwrap();
    let child = spawn_revoke(
        &s.api_url,
        &[
            "--ip",
            "192.0.2.99",
            "--yes",
            "--journal",
            jp,
            "--max-rate",
            "300/min",
        ],
    );
    wait::until_true_blocking("5 settled calls", || settled_in(&j) >= 5);
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "resume with: slack-sessions revoke --resume {jp} --yes"
        )),
        "{stderr}"
    );
    // Piped: no progress bar.
    assert!(!stderr.contains("eta"), "{stderr}");
    let stopped_at = settled_in(&j);
    assert!(stopped_at < 60, "finished before the interrupt");
    // Every settled call is in the journal and in effect; the rest are not.
    assert_eq!(listed(&s.api_url).len(), all_ids(&f).len() - stopped_at);
    let last = s.run(&["revoke", "--resume", jp, "--yes", "--max-rate", "6000/min"]);
    assert_eq!(last.code, 0, "{last:?}");
    assert!(last.stdout.contains("60 of 60 calls done"), "{last:?}");
}
