//! Revoke by selection: the `sessions-revoke` engine in the browser. The form becomes a
//! [`Selection`]; "Preview" builds the plan (reads only) and shows it; "Run" writes the plan
//! to a journal under the data directory and runs it in the background, while the run's page
//! polls its progress; the report is a CSV download. Runs live in their journals, so a page
//! reload shows where a run stands and a restarted console offers to resume an unfinished one.
//! All selecting, planning, pacing, journaling and reporting is the engine's.

use std::collections::HashMap;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Form, Multipart, Path};
use axum::http::header::{self, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use maud::{html, Markup};
use sessions_client::ResetScope;
use sessions_revoke::{
    build_plan, parse_cidr, parse_users_file, report_rows, write_report, Context, Counts, Journal,
    Pacing, Plan, ReportFormat, RunStatus, Selection, Version,
};

use crate::confirm::{field, unless_confirmed, Ask, Fields};
use crate::layout::{self, csrf_field, Nav, Notice};
use crate::security::{random_token, Ctx};

/// Previews kept for "Run" (the newest; an older preview has to be made again).
const KEEP_PREVIEWS: usize = 16;
/// Runs listed on the Revoke page.
const LIST_RUNS: usize = 10;

/// Previews waiting to be run, and runs in this process.
#[derive(Debug)]
pub(crate) struct Revocations {
    dir: PathBuf,
    pacing: Pacing,
    previews: Mutex<Vec<(String, Arc<Plan>)>>,
    runs: Mutex<HashMap<String, Arc<LiveRun>>>,
    /// Unfinished journals found at start (a console stopped mid-run), until resumed.
    interrupted: Mutex<Vec<String>>,
}

/// A run going on in this process.
#[derive(Debug)]
struct LiveRun {
    counts: Mutex<Counts>,
    /// Set when the run has ended: how, and the report.
    ended: Mutex<Option<Ended>>,
}

#[derive(Debug, Clone)]
struct Ended {
    outcome: String,
    completed: bool,
    report: Arc<Vec<u8>>,
}

impl Revocations {
    /// Keeps journals in `dir`, and notes the unfinished ones already there.
    pub(crate) fn new(dir: PathBuf, pacing: Pacing) -> Self {
        let rev = Revocations {
            dir,
            pacing,
            previews: Mutex::new(Vec::new()),
            runs: Mutex::new(HashMap::new()),
            interrupted: Mutex::new(Vec::new()),
        };
        let unfinished = list_runs(&rev)
            .into_iter()
            .filter(|r| r.standing.as_ref().is_ok_and(|s| !s.completed))
            .map(|r| r.id)
            .collect();
        *rev.interrupted.lock().unwrap() = unfinished;
        rev
    }

    /// Unfinished runs found at start and not resumed since.
    pub(crate) fn interrupted(&self) -> Vec<String> {
        self.interrupted.lock().unwrap().clone()
    }

    fn journal_path(&self, id: &str) -> Option<PathBuf> {
        let ok = !id.is_empty()
            && id.len() <= 80
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        ok.then(|| self.dir.join(format!("{id}.jsonl")))
    }

    fn live(&self, id: &str) -> Option<Arc<LiveRun>> {
        self.runs.lock().unwrap().get(id).cloned()
    }
}

/// Where a run stands, wherever it is.
#[derive(Debug, serde::Serialize)]
struct Standing {
    total: u64,
    done: u64,
    line: String,
    finished: bool,
    running: bool,
    completed: bool,
}

fn counts_line(c: &Counts) -> String {
    format!(
        "{} of {} calls settled: {} done, {} already ended, {} failed, {} to go.",
        c.settled(),
        c.total,
        c.done,
        c.already_done,
        c.failed,
        c.pending
    )
}

fn standing(app: &Revocations, id: &str) -> Result<Standing, String> {
    if let Some(live) = app.live(id) {
        let c = *live.counts.lock().unwrap();
        let ended = live.ended.lock().unwrap().clone();
        let mut line = counts_line(&c);
        if let Some(e) = &ended {
            line = format!("{} {line}", e.outcome);
        }
        return Ok(Standing {
            total: c.total,
            done: c.settled(),
            line,
            finished: ended.is_some(),
            running: ended.is_none(),
            completed: ended.is_some_and(|e| e.completed),
        });
    }
    let path = app.journal_path(id).ok_or("No such run.")?;
    if !path.exists() {
        return Err("No such run.".into());
    }
    let journal = Journal::open(&path).map_err(|e| e.to_string())?;
    let c = journal.state().counts();
    let completed = c.pending == 0;
    Ok(Standing {
        total: c.total,
        done: c.settled(),
        line: if completed {
            format!("Finished. {}", counts_line(&c))
        } else {
            format!("Interrupted. {}", counts_line(&c))
        },
        finished: true,
        running: false,
        completed,
    })
}

fn words(list: &str) -> impl Iterator<Item = &str> {
    list.split([',', '\n', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The selection the form describes.
async fn selection_from(mut form: Multipart) -> Result<Selection, String> {
    let mut sel = Selection::default();
    let mut users_text = String::new();
    while let Some(f) = form
        .next_field()
        .await
        .map_err(|e| format!("The form could not be read: {e}"))?
    {
        let name = f.name().unwrap_or("").to_owned();
        let file_name = f.file_name().map(str::to_owned);
        let bytes = f
            .bytes()
            .await
            .map_err(|e| format!("The form could not be read: {e}"))?;
        let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
            format!(
                "{} is not UTF-8 text.",
                file_name.as_deref().unwrap_or("The users field")
            )
        })?;
        match name.as_str() {
            "users_file" | "users_text" => {
                users_text.push_str(&text);
                users_text.push('\n');
            }
            "ips" => {
                for w in words(&text).flat_map(str::split_whitespace) {
                    sel.ips.push(parse_cidr(w).map_err(|e| e.to_string())?);
                }
            }
            "os" => sel.os = words(&text).map(str::to_owned).collect(),
            "device" => sel.devices = words(&text).map(str::to_owned).collect(),
            "version_below" if !text.trim().is_empty() => {
                sel.client_version_below = Some(Version::parse(text.trim()).ok_or_else(|| {
                    format!("“{}” is not an app version such as 4.36.140.", text.trim())
                })?);
            }
            "scope" => {
                sel.scope = match text.as_str() {
                    "mobile" => ResetScope::MobileOnly,
                    "web" => ResetScope::WebOnly,
                    _ => ResetScope::All,
                }
            }
            _ => {}
        }
    }
    if !users_text.trim().is_empty() {
        sel.users = parse_users_file(&users_text).map_err(|e| e.to_string())?;
    }
    sel.validate().map_err(|e| e.to_string())?;
    Ok(sel)
}

pub(crate) async fn page(ctx: Ctx) -> Response {
    let rev = &ctx.app.revoke;
    let runs = list_runs(rev);
    let body = html! {
        h1 { "Revoke by selection" }
        p.muted {
            "Choose people (a file of user ids or emails) and narrow to sessions by network, OS, \
             device or app version. Nothing happens until you preview the plan and run it."
        }
        @if !runs.is_empty() { (runs_table(&ctx, &runs)) }
        (selection_form(&ctx))
    };
    layout::page("Revoke by selection", Nav::Revoke, &ctx.flash, body).into_response()
}

struct RunRow {
    id: String,
    standing: Result<Standing, String>,
}

/// The newest journals in the data directory, with where each stands.
fn list_runs(rev: &Revocations) -> Vec<RunRow> {
    let mut ids: Vec<String> = std::fs::read_dir(&rev.dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_suffix(".jsonl").map(str::to_owned)
        })
        .collect();
    // Names carry the creation time: newest first.
    ids.sort_by(|a, b| b.cmp(a));
    ids.truncate(LIST_RUNS);
    ids.into_iter()
        .map(|id| RunRow {
            standing: standing(rev, &id),
            id,
        })
        .collect()
}

fn runs_table(ctx: &Ctx, runs: &[RunRow]) -> Markup {
    html! {
        section aria-labelledby="runs-title" {
            h2 #runs-title { "Runs" }
            ul.results {
                @for r in runs {
                    li {
                        a href=(format!("/revoke/runs/{}", r.id)) { (r.id) }
                        " · "
                        @match &r.standing {
                            Ok(s) => {
                                @if s.running { "running: " }
                                (s.line)
                                @if !s.running && !s.completed {
                                    " " (resume_form(ctx, &r.id))
                                }
                            }
                            Err(e) => { (e) }
                        }
                    }
                }
            }
        }
    }
}

fn resume_form(ctx: &Ctx, id: &str) -> Markup {
    html! {
        form.inline method="post" action=(format!("/revoke/runs/{id}/resume"))
            data-confirm=(format!("Resume run {id}? Its remaining calls are made now; what is \
                                   already done is not sent again."))
            data-confirm-action="Resume run" {
            (csrf_field(&ctx.login.csrf))
            button.danger type="submit" { "Resume run" }
        }
    }
}

fn selection_form(ctx: &Ctx) -> Markup {
    html! {
        form.card method="post" enctype="multipart/form-data"
            action=(format!("/revoke/preview?csrf={}", ctx.login.csrf)) {
            h2 { "Selection" }
            div.field {
                label for="users-file" { "Users file" }
                input #users-file type="file" name="users_file" accept=".txt,.csv,text/plain,text/csv"
                    aria-describedby="users-file-hint";
                span #users-file-hint .hint {
                    "User ids or emails, one per line or comma-separated (text or CSV; "
                    "# starts a comment)."
                }
            }
            div.field {
                label for="users-text" { "Or paste users" }
                textarea #users-text name="users_text" rows="3" {}
            }
            div.row {
                div.field {
                    label for="ips" { "IP ranges" }
                    input #ips type="text" name="ips" placeholder="203.0.113.0/24, 2001:db8::/32"
                        aria-describedby="ips-hint";
                    span #ips-hint .hint { "Where a session signed in or was last seen." }
                }
                div.field {
                    label for="os" { "OS" }
                    input #os type="text" name="os" placeholder="iOS, Android";
                }
            }
            div.row {
                div.field {
                    label for="device" { "Device" }
                    input #device type="text" name="device" placeholder="iPhone";
                }
                div.field {
                    label for="version-below" { "App version below" }
                    input #version-below type="text" name="version_below" placeholder="4.36.140";
                }
                div.field {
                    label for="scope" { "Whole-user sign-out ends" }
                    select #scope name="scope" aria-describedby="scope-hint" {
                        option value="all" { "All sessions" }
                        option value="mobile" { "Mobile sessions only" }
                        option value="web" { "Web sessions only" }
                    }
                    span #scope-hint .hint { "When only people are chosen (no session filter)." }
                }
            }
            div.actions { button.primary type="submit" { "Preview" } }
        }
    }
}

pub(crate) async fn preview(ctx: Ctx, form: Multipart) -> Response {
    let failed = |ctx: &Ctx, message: String| {
        ctx.flash(Notice::Failed(message));
        Redirect::to("/revoke").into_response()
    };
    let selection = match selection_from(form).await {
        Ok(s) => s,
        Err(e) => return failed(&ctx, format!("Nothing was planned: {e}")),
    };
    let rev = &ctx.app.revoke;
    let cx = Context::new(rev.pacing);
    let client = &ctx.app.client;
    let plan = match build_plan(client, &selection, client.base_url(), &cx, &mut |_| {}).await {
        Ok(p) => Arc::new(p),
        Err(e) => {
            return failed(
                &ctx,
                format!("Nothing was planned: {}", engine_sentence(&e)),
            )
        }
    };
    let id = random_token();
    {
        let mut previews = rev.previews.lock().unwrap();
        previews.push((id.clone(), plan.clone()));
        let excess = previews.len().saturating_sub(KEEP_PREVIEWS);
        previews.drain(..excess);
    }
    let body = preview_body(&ctx, &id, &plan, plan.estimate(&rev.pacing));
    layout::page("Preview", Nav::Revoke, &ctx.flash, body).into_response()
}

/// An engine error as a sentence; API failures in the console's words.
fn engine_sentence(e: &sessions_revoke::Error) -> String {
    match e {
        sessions_revoke::Error::Api { during, source } => {
            format!("{during}: {}", crate::slack_error::sentence(source))
        }
        other => format!("{other}."),
    }
}

fn duration_words(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "under a second".to_owned(),
        1..=119 => format!("about {s} s"),
        120..=7199 => format!("about {} min", s.div_ceil(60)),
        _ => format!("about {:.1} h", s as f64 / 3600.0),
    }
}

fn preview_body(ctx: &Ctx, id: &str, plan: &Plan, estimate: Duration) -> Markup {
    let calls = plan.calls();
    let call_count: u64 = calls.iter().map(|(_, n)| n).sum();
    let sessions = plan.invalidations.len();
    let reset_users = plan.reset_user_count();
    let mut what = Vec::new();
    if sessions > 0 {
        what.push(format!("end {sessions} sessions"));
    }
    if reset_users > 0 {
        what.push(format!("sign out {reset_users} people entirely"));
    }
    let what = if what.is_empty() {
        "change nothing".to_owned()
    } else {
        what.join(" and ")
    };
    html! {
        h1 { "Preview" }
        p { "Nothing has happened yet. This is what “Run” will do." }
        ul.stats.card aria-label="Plan" {
            li { strong { (plan.users.len()) } "people" }
            li { strong { (sessions) } "sessions to end" }
            li { strong { (reset_users) } "people signed out entirely" }
            li { strong { (call_count) } "calls" }
            li { strong { (duration_words(estimate)) } "estimated time" }
            li { strong { (plan.unresolved.len()) } "entries not resolved" }
        }
        @if !calls.is_empty() {
            p.muted {
                "Calls: "
                @for (i, (call, n)) in calls.iter().enumerate() {
                    @if i > 0 { ", " }
                    (n) " × " (call.name())
                }
                "."
            }
        }
        @if !plan.unresolved.is_empty() {
            h2 #unresolved-title { "Entries that did not resolve" }
            div.table-wrap role="region" aria-labelledby="unresolved-title" tabindex="0" {
                table {
                    thead { tr { th scope="col" { "Entry" } th scope="col" { "Why" } th scope="col" { "Code" } } }
                    tbody {
                        @for u in &plan.unresolved {
                            tr { td { (u.entry) } td { (u.reason) } td { (u.code) } }
                        }
                    }
                }
            }
        }
        @if sessions > 0 {
            h2 #plan-sessions-title { "Sessions to end" }
            div.table-wrap role="region" aria-labelledby="plan-sessions-title" tabindex="0" {
                table #plan-sessions {
                    thead { tr {
                        th scope="col" { "Person" } th scope="col" { "Email" }
                        th scope="col" { "Team" } th scope="col" { "Session" }
                    } }
                    tbody {
                        @for inv in plan.invalidations.iter().take(500) {
                            @let u = plan.user(inv.user);
                            tr {
                                td { a href=(format!("/people/{}", u.id)) { (u.id) } }
                                td { (u.email.as_deref().unwrap_or("")) }
                                td { (plan.team(inv.team)) }
                                td.num { (inv.session) }
                            }
                        }
                    }
                }
            }
            @if sessions > 500 { p.muted { "The first 500 of " (sessions) " are shown; the report lists all." } }
        }
        @if reset_users > 0 {
            h2 { "People signed out entirely" }
            p {
                @for (i, u) in plan.resets.iter().flatten().map(|&ix| plan.user(ix)).enumerate() {
                    @if i > 0 { ", " }
                    a href=(format!("/people/{}", u.id)) { (u.email.as_deref().unwrap_or(&u.id)) }
                }
            }
        }
        form method="post" action="/revoke/run"
            data-confirm=(format!("Run this revocation? It will {what}, with {call_count} calls \
                                   ({}).", duration_words(estimate)))
            data-confirm-action="Run" {
            (csrf_field(&ctx.login.csrf))
            input type="hidden" name="plan" value=(id);
            div.actions {
                a.button href="/revoke" { "Change the selection" }
                button.danger type="submit" disabled[call_count == 0] { "Run" }
            }
        }
    }
}

pub(crate) async fn start_run(ctx: Ctx, Form(fields): Form<Fields>) -> Response {
    let rev = &ctx.app.revoke;
    let plan_id = field(&fields, "plan").unwrap_or("").to_owned();
    let plan = rev
        .previews
        .lock()
        .unwrap()
        .iter()
        .find(|(id, _)| *id == plan_id)
        .map(|(_, p)| p.clone());
    let Some(plan) = plan else {
        ctx.flash(Notice::Failed(
            "That preview is no longer available (the console was restarted, or newer previews \
             replaced it); preview again."
                .to_owned(),
        ));
        return Redirect::to("/revoke").into_response();
    };
    let what = format!(
        "Run this revocation? It will make {} calls.",
        plan.action_count()
    );
    let ask = Ask {
        what: &what,
        action: "Run",
        cancel: "/revoke",
        nav: Nav::Revoke,
    };
    if let Some(page) = unless_confirmed(&ctx, &fields, "/revoke/run", ask) {
        return page;
    }
    // Used once: a second "Run" of the same preview must not plan a second journal.
    rev.previews
        .lock()
        .unwrap()
        .retain(|(id, _)| *id != plan_id);
    let path = sessions_revoke::default_journal_path(&rev.dir);
    let journal = match Journal::create(&path, (*plan).clone()) {
        Ok(j) => j,
        Err(e) => {
            ctx.flash(Notice::Failed(format!("The run did not start: {e}.")));
            return Redirect::to("/revoke").into_response();
        }
    };
    let id = run_id(&path);
    spawn_run(&ctx, id.clone(), journal);
    Redirect::to(&format!("/revoke/runs/{id}")).into_response()
}

fn run_id(path: &FsPath) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_owned()
}

/// Runs `journal` in the background, keeping its progress for the run's page.
fn spawn_run(ctx: &Ctx, id: String, mut journal: Journal) {
    let live = Arc::new(LiveRun {
        counts: Mutex::new(journal.state().counts()),
        ended: Mutex::new(None),
    });
    ctx.app
        .revoke
        .runs
        .lock()
        .unwrap()
        .insert(id.clone(), live.clone());
    let client = ctx.app.client.clone();
    let pacing = ctx.app.revoke.pacing;
    tokio::spawn(async move {
        let cx = Context::new(pacing);
        let progress = live.clone();
        let mut on_progress = move |p: &sessions_revoke::Progress| {
            *progress.counts.lock().unwrap() = p.counts;
        };
        let summary = sessions_revoke::run(&client, &mut journal, &cx, &mut on_progress).await;
        *live.counts.lock().unwrap() = summary.counts;
        let (outcome, completed) = match &summary.status {
            RunStatus::Completed => ("Finished.".to_owned(), true),
            RunStatus::Cancelled => ("Cancelled.".to_owned(), false),
            RunStatus::Stopped(e) => (
                format!("Stopped: {} It can be resumed.", engine_sentence(e)),
                false,
            ),
            _ => ("Ended.".to_owned(), false),
        };
        let mut report = Vec::new();
        let rows = report_rows(journal.plan(), Some(journal.state()));
        if let Err(e) = write_report(&mut report, ReportFormat::Csv, rows) {
            tracing::warn!("run {id}: report not written: {e}");
        }
        drop(journal);
        *live.ended.lock().unwrap() = Some(Ended {
            outcome,
            completed,
            report: Arc::new(report),
        });
    });
}

pub(crate) async fn run_page(ctx: Ctx, Path(id): Path<String>) -> Response {
    let st = match standing(&ctx.app.revoke, &id) {
        Ok(s) => s,
        Err(e) => {
            let body = html! { h1 { "Run " (id) } p { (e) } p { a href="/revoke" { "Back" } } };
            return (
                StatusCode::NOT_FOUND,
                layout::page("Run", Nav::Revoke, &ctx.flash, body),
            )
                .into_response();
        }
    };
    let body = html! {
        p { a href="/revoke" { "← Revoke by selection" } }
        h1 { "Run " (id) }
        div #run-progress.card data-url=[st.running.then(|| format!("/revoke/runs/{id}/progress.json"))] {
            label for="run-bar" { "Progress" }
            progress #run-bar max=(st.total.max(1)) value=(st.done) { (st.done) " of " (st.total) }
            p #run-line role="status" aria-live="polite" { (st.line) }
        }
        @if st.finished {
            p { a.button href=(format!("/revoke/runs/{id}/report.csv")) download { "Download the report (CSV)" } }
            @if !st.completed { (resume_form(&ctx, &id)) }
        }
    };
    layout::page("Run", Nav::Revoke, &ctx.flash, body).into_response()
}

pub(crate) async fn progress(ctx: Ctx, Path(id): Path<String>) -> Response {
    match standing(&ctx.app.revoke, &id) {
        Ok(s) => Json(s).into_response(),
        Err(e) => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({ "error": e })),
        )
            .into_response(),
    }
}

pub(crate) async fn report(ctx: Ctx, Path(id): Path<String>) -> Response {
    let rev = &ctx.app.revoke;
    let bytes = match rev.live(&id) {
        Some(live) => match live.ended.lock().unwrap().as_ref() {
            Some(e) => Ok(e.report.to_vec()),
            None => Err("The run is still going; the report is ready when it ends.".to_owned()),
        },
        None => report_from_disk(rev, &id),
    };
    match bytes {
        Ok(b) => {
            let mut resp = b.into_response();
            let h = resp.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{id}.csv\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            resp
        }
        Err(e) => {
            let body = html! { h1 { "Report" } p { (e) } };
            (
                StatusCode::NOT_FOUND,
                layout::page("Report", Nav::Revoke, &ctx.flash, body),
            )
                .into_response()
        }
    }
}

fn report_from_disk(rev: &Revocations, id: &str) -> Result<Vec<u8>, String> {
    let path = rev
        .journal_path(id)
        .filter(|p| p.exists())
        .ok_or("No such run.")?;
    let journal = Journal::open(&path).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    write_report(
        &mut out,
        ReportFormat::Csv,
        report_rows(journal.plan(), Some(journal.state())),
    )
    .map_err(|e| e.to_string())?;
    Ok(out)
}

pub(crate) async fn resume(
    ctx: Ctx,
    Path(id): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    let rev = &ctx.app.revoke;
    let here = format!("/revoke/runs/{id}");
    let Some(path) = rev.journal_path(&id).filter(|p| p.exists()) else {
        ctx.flash(Notice::Failed("No such run.".to_owned()));
        return Redirect::to("/revoke").into_response();
    };
    let what = format!("Resume run {id}? Its remaining calls are made now.");
    let ask = Ask {
        what: &what,
        action: "Resume run",
        cancel: &here,
        nav: Nav::Revoke,
    };
    if let Some(page) = unless_confirmed(&ctx, &fields, &format!("{here}/resume"), ask) {
        return page;
    }
    if rev
        .live(&id)
        .is_some_and(|l| l.ended.lock().unwrap().is_none())
    {
        return Redirect::to(&here).into_response();
    }
    match Journal::open(&path) {
        Ok(journal) => {
            rev.interrupted.lock().unwrap().retain(|i| *i != id);
            spawn_run(&ctx, id.clone(), journal);
            ctx.flash(Notice::Done(format!("Resumed run {id}.")));
        }
        Err(e) => ctx.flash(Notice::Failed(format!("The run was not resumed: {e}."))),
    }
    Redirect::to(&here).into_response()
}
