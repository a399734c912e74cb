//! Report rows: one per session invalidated, one per user of a reset chunk, one per entry that
//! did not resolve; written as CSV or JSON (by the file's extension).

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use crate::api::Call;
use crate::journal::{ActionStatus, JournalState};
use crate::plan::{Action, Plan};
use crate::Error;

/// Where a row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowResult {
    /// In the plan; no run yet (`--plan --report`).
    Planned,
    /// Not acknowledged yet (the run stopped first).
    Pending,
    /// Done.
    Done,
    /// The session had already ended.
    AlreadyDone,
    /// Refused (see `code`).
    Failed,
    /// The entry named nobody (see `code`).
    Unresolved,
}

impl RowResult {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            RowResult::Planned => "planned",
            RowResult::Pending => "pending",
            RowResult::Done => "done",
            RowResult::AlreadyDone => "already_done",
            RowResult::Failed => "failed",
            RowResult::Unresolved => "unresolved",
        }
    }
}

/// One line of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportRow {
    /// Action index in the plan (empty for unresolved entries).
    pub action: Option<usize>,
    /// The call (`admin.users.session.invalidate`, `...reset`, `...resetBulk`), empty for
    /// unresolved.
    pub method: &'static str,
    /// The user (for unresolved entries: the entry as given).
    pub user: String,
    /// The user's email, when known.
    pub email: Option<String>,
    /// Workspace of the session (invalidations).
    pub team_id: Option<String>,
    /// The session (invalidations).
    pub session_id: Option<u64>,
    /// Where it stands.
    pub result: RowResult,
    /// Slack's error code, for failed and unresolved rows.
    pub code: Option<String>,
    /// Why, in words.
    pub detail: Option<String>,
}

fn row_result(state: Option<&JournalState>, i: usize) -> RowResult {
    match state.map(|s| s.status(i)) {
        None => RowResult::Planned,
        Some(ActionStatus::Pending) => RowResult::Pending,
        Some(ActionStatus::Done) => RowResult::Done,
        Some(ActionStatus::AlreadyDone) => RowResult::AlreadyDone,
        Some(ActionStatus::Failed) => RowResult::Failed,
    }
}

/// Every row of a plan, as the journal `state` has it (`None`: as planned). Unresolved entries
/// come first, then actions in order.
pub fn report_rows<'a>(
    plan: &'a Plan,
    state: Option<&'a JournalState>,
) -> impl Iterator<Item = ReportRow> + 'a {
    let unresolved = plan.unresolved.iter().map(|u| ReportRow {
        action: None,
        method: "",
        user: u.entry.clone(),
        email: None,
        team_id: None,
        session_id: None,
        result: RowResult::Unresolved,
        code: Some(u.code.clone()),
        detail: Some(u.reason.clone()),
    });
    let actions = (0..plan.action_count()).flat_map(move |i| {
        let result = row_result(state, i);
        let failure = state.and_then(|s| s.failure(i));
        let rows: Vec<ReportRow> = match plan.action(i) {
            Some(Action::Invalidate(inv)) => {
                let user = plan.user(inv.user);
                vec![ReportRow {
                    action: Some(i),
                    method: Call::Invalidate.name(),
                    user: user.id.clone(),
                    email: user.email.clone(),
                    team_id: Some(plan.team(inv.team).to_owned()),
                    session_id: Some(inv.session),
                    result,
                    code: failure.map(|f| f.code.clone()),
                    detail: failure.map(|f| f.detail.clone()),
                }]
            }
            Some(action @ (Action::Reset { .. } | Action::ResetBulk { .. })) => plan
                .reset_chunk(i)
                .unwrap_or_default()
                .iter()
                .map(|&u| {
                    let user = plan.user(u);
                    let refused = state.and_then(|s| {
                        s.user_failures(i)
                            .iter()
                            .find(|(x, _)| *x == u)
                            .map(|(_, f)| f)
                    });
                    let (result, f) = match refused {
                        Some(f) => (RowResult::Failed, Some(f)),
                        None => (result, failure),
                    };
                    ReportRow {
                        action: Some(i),
                        method: action.call().name(),
                        user: user.id.clone(),
                        email: user.email.clone(),
                        team_id: None,
                        session_id: None,
                        result,
                        code: f.map(|f| f.code.clone()),
                        detail: f.map(|f| f.detail.clone()),
                    }
                })
                .collect(),
            None => Vec::new(),
        };
        rows
    });
    unresolved.chain(actions)
}

/// Report file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// A header, then one line per row.
    Csv,
    /// One JSON array of row objects.
    Json,
}

impl ReportFormat {
    /// By the file's extension (`.csv`, `.json`, any case).
    pub fn for_path(path: &Path) -> Result<ReportFormat, Error> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => Ok(ReportFormat::Csv),
            Some("json") => Ok(ReportFormat::Json),
            _ => Err(Error::Selection(format!(
                "report {}: the name must end in .csv or .json",
                path.display()
            ))),
        }
    }
}

/// Writes rows in a format.
pub fn write_report(
    out: impl Write,
    format: ReportFormat,
    rows: impl Iterator<Item = ReportRow>,
) -> std::io::Result<()> {
    match format {
        ReportFormat::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record([
                "action",
                "method",
                "user",
                "email",
                "team_id",
                "session_id",
                "result",
                "code",
                "detail",
            ])?;
            for r in rows {
                let opt = |v: Option<String>| v.unwrap_or_default();
                w.write_record([
                    r.action.map(|a| a.to_string()).unwrap_or_default(),
                    r.method.to_owned(),
                    r.user,
                    opt(r.email),
                    opt(r.team_id),
                    r.session_id.map(|s| s.to_string()).unwrap_or_default(),
                    r.result.as_str().to_owned(),
                    opt(r.code),
                    opt(r.detail),
                ])?;
            }
            w.flush()
        }
        ReportFormat::Json => {
            let mut out = std::io::BufWriter::new(out);
            out.write_all(b"[")?;
            for (n, r) in rows.enumerate() {
                if n > 0 {
                    out.write_all(b",")?;
                }
                out.write_all(b"\n  ")?;
                serde_json::to_writer(&mut out, &r)?;
            }
            out.write_all(b"\n]\n")?;
            out.flush()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{ActionRecord, Failure, Journal, Record};
    use crate::plan::{Actor, Invalidation, PlanStats, PlannedUser, Unresolved};
    use crate::Selection;

    /// Chunk 0's refusal of one user.
    fn users_failed(user: u32, code: &str) -> Record {
        Record::Action {
            i: 0,
            result: ActionRecord::UsersFailed {
                users: vec![user],
                failure: Failure {
                    code: code.into(),
                    detail: String::new(),
                },
            },
        }
    }

    fn plan() -> Plan {
        Plan {
            created_unix: 0,
            api_url: "http://x/api/".into(),
            actor: Actor::default(),
            selection: Selection::default(),
            users: ["W1", "W2", "W3"]
                .iter()
                .map(|u| PlannedUser {
                    id: (*u).into(),
                    email: (*u == "W1").then(|| "one@x.example".into()),
                })
                .collect(),
            teams: vec!["T1".into()],
            unresolved: vec![Unresolved {
                entry: "nobody@x.example".into(),
                code: "users_not_found".into(),
                reason: "no user of this org has this email".into(),
            }],
            resets: vec![vec![0, 1]],
            invalidations: vec![Invalidation {
                user: 2,
                team: 0,
                session: 1001,
            }],
            stats: PlanStats::default(),
            sample: vec![],
        }
    }

    #[test]
    fn a_one_user_chunk_is_reported_as_reset_with_its_refusal() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = plan();
        p.resets = vec![vec![0], vec![1, 2]];
        p.invalidations.clear();
        let mut j = Journal::create(&dir.path().join("j"), p).unwrap();
        j.record(&users_failed(0, "cannot_reset_primary_owner"))
            .unwrap();
        j.record(&Record::Action {
            i: 0,
            result: ActionRecord::Failed(Failure {
                code: "all_users_refused".into(),
                detail: String::new(),
            }),
        })
        .unwrap();
        let rows: Vec<_> = report_rows(j.plan(), Some(j.state())).collect();
        let got: Vec<_> = rows
            .iter()
            .map(|r| (r.method, r.user.as_str(), r.result, r.code.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "",
                    "nobody@x.example",
                    RowResult::Unresolved,
                    Some("users_not_found")
                ),
                (
                    "admin.users.session.reset",
                    "W1",
                    RowResult::Failed,
                    Some("cannot_reset_primary_owner")
                ),
                (
                    "admin.users.session.resetBulk",
                    "W2",
                    RowResult::Pending,
                    None
                ),
                (
                    "admin.users.session.resetBulk",
                    "W3",
                    RowResult::Pending,
                    None
                ),
            ]
        );
    }

    #[test]
    fn rows_follow_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::create(&dir.path().join("j"), plan()).unwrap();
        let planned: Vec<_> = report_rows(j.plan(), None).map(|r| r.result).collect();
        assert_eq!(
            planned,
            [
                RowResult::Unresolved,
                RowResult::Planned,
                RowResult::Planned,
                RowResult::Planned
            ]
        );
        j.record(&users_failed(1, "user_not_found")).unwrap();
        j.record(&Record::Action {
            i: 0,
            result: ActionRecord::Done,
        })
        .unwrap();
        let rows: Vec<_> = report_rows(j.plan(), Some(j.state())).collect();
        let got: Vec<_> = rows.iter().map(|r| (r.user.as_str(), r.result)).collect();
        assert_eq!(
            got,
            [
                ("nobody@x.example", RowResult::Unresolved),
                ("W1", RowResult::Done),
                ("W2", RowResult::Failed),
                ("W3", RowResult::Pending)
            ]
        );
        assert_eq!(rows[2].code.as_deref(), Some("user_not_found"));

        let mut csv = Vec::new();
        write_report(&mut csv, ReportFormat::Csv, rows.clone().into_iter()).unwrap();
        let csv = String::from_utf8(csv).unwrap();
        assert!(csv.starts_with("action,method,user,email,team_id,session_id,result,code,detail\n"));
        assert!(
            csv.contains("\n0,admin.users.session.resetBulk,W1,one@x.example,,,done,,\n"),
            "{csv}"
        );
        assert!(
            csv.contains("\n1,admin.users.session.invalidate,W3,,T1,1001,pending,,\n"),
            "{csv}"
        );
        let mut json = Vec::new();
        write_report(&mut json, ReportFormat::Json, rows.into_iter()).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v[3]["session_id"], 1001);
        assert_eq!(v[2]["result"], "failed");
        assert_eq!(
            ReportFormat::for_path(Path::new("r.JSON")).unwrap(),
            ReportFormat::Json
        );
        assert!(ReportFormat::for_path(Path::new("r.txt")).is_err());
    }
}
