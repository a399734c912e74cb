use serde_json::Value;

use crate::harness::Server;

fn ids_of_ndjson(out: &str) -> Vec<u64> {
    out.lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["session_id"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

#[test]
fn table_of_the_whole_org() {
    let s = Server::start();
    let out = s.run(&["list"]).ok();
    insta::assert_snapshot!(out);
}

#[test]
fn json_page_has_slacks_shape() {
    let s = Server::start();
    let out = s.run(&["list", "--format", "json"]).ok();
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["next_cursor"], "");
    insta::assert_snapshot!(out);
}

#[test]
fn csv_for_one_user_on_one_team() {
    let s = Server::start();
    let out = s
        .run(&[
            "list", "--team", "T0ENG", "--user", "W0DEV", "--format", "csv",
        ])
        .ok();
    assert_eq!(
        out.lines().count(),
        4,
        "header and W0DEV's three sessions: {out}"
    );
    insta::assert_snapshot!(out);
}

#[test]
fn pages_are_followed_by_hand_with_the_cursor_hint() {
    let s = Server::start();
    let mut seen = Vec::new();
    let mut args = vec![
        "list".to_owned(),
        "--limit".into(),
        "2".into(),
        "--format".into(),
        "ndjson".into(),
    ];
    for _ in 0..10 {
        let run = s.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(run.code, 0, "{run:?}");
        seen.extend(ids_of_ndjson(&run.stdout));
        let Some(rest) = run.stderr.split("--cursor ").nth(1) else {
            break;
        };
        let cursor = rest.split_whitespace().next().unwrap().to_owned();
        args = vec![
            "list".into(),
            "--limit".into(),
            "2".into(),
            "--format".into(),
            "ndjson".into(),
            "--cursor".into(),
            cursor,
        ];
    }
    assert_eq!(seen, [1001, 1002, 1003, 1004, 1005]);
}

#[test]
fn all_pages_stream_in_every_format() {
    let s = Server::start();
    let nd = s
        .run(&["list", "--all", "--limit", "2", "--format", "ndjson"])
        .ok();
    assert_eq!(ids_of_ndjson(&nd), [1001, 1002, 1003, 1004, 1005]);

    let json = s
        .run(&["list", "--all", "--limit", "2", "--format", "json"])
        .ok();
    let v: Value = serde_json::from_str(&json).unwrap();
    let ids: Vec<u64> = v["active_sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["session_id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [1001, 1002, 1003, 1004, 1005]);
    assert_eq!(v["next_cursor"], "");

    let csv = s
        .run(&["list", "--all", "--limit", "2", "--format", "csv"])
        .ok();
    assert_eq!(csv.lines().count(), 6, "{csv}");

    let table = s.run(&["list", "--all", "--limit", "2"]).ok();
    insta::assert_snapshot!("all_pages_fixed_width_table", table);
}

#[test]
fn bad_list_flags_are_usage_errors_and_send_nothing() {
    let s = Server::start();
    s.run(&["list", "--limit", "0"]).fails(2);
    s.run(&["list", "--limit", "1001"]).fails(2);
    s.run(&["list", "--team", "T0ENG"]).fails(2);
    s.run(&["list", "--all", "--cursor", "abc"]).fails(2);
}
