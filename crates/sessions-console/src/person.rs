//! A person's page: who they are, their active sessions (one row per device, each with its own
//! "Sign out"), signing out everywhere / mobile / web, and their session settings.

use axum::extract::{Form, Path};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use futures::TryStreamExt;
use maud::{html, Markup};
use sessions_client::{
    ActiveSession, ClearSettingsRequest, DeviceInfo, GetSettingsRequest, InvalidateRequest,
    ListRequest, ResetRequest, SessionId, SessionSetting, SetSettingsRequest, User,
};

use crate::confirm::{field, unless_confirmed, Ask, Fields};
use crate::layout::{self, csrf_field, Nav, Notice};
use crate::people::{display_name, role};
use crate::security::Ctx;
use crate::slack_error::sentence;

/// Slack's user ids are short runs of letters and digits; anything else is not looked up (and
/// never put into a redirect).
fn valid_id(id: &str) -> bool {
    (1..=40).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn not_found(ctx: &Ctx, message: String) -> Response {
    let body = html! {
        h1 { "Person not found" }
        p { (message) }
        p { a href="/people" { "Search again" } }
    };
    (
        StatusCode::NOT_FOUND,
        layout::page("Person not found", Nav::People, &ctx.flash, body),
    )
        .into_response()
}

/// The workspaces to list sessions on: the Grid teams, else the home team.
fn teams(u: &User) -> Vec<String> {
    match &u.enterprise_user {
        Some(g) if !g.teams.is_empty() => g.teams.clone(),
        _ if !u.team_id.is_empty() => vec![u.team_id.clone()],
        _ => vec![],
    }
}

async fn sessions_of(ctx: &Ctx, u: &User) -> Result<Vec<ActiveSession>, sessions_client::Error> {
    let mut all = Vec::new();
    for team in teams(u) {
        let mut page: Vec<ActiveSession> = ctx
            .app
            .client
            .admin_users_session_list_all(ListRequest::user(team, u.id.clone()).limit(1000))
            .try_collect()
            .await?;
        all.append(&mut page);
    }
    all.sort_by_key(|s| s.session_id);
    all.dedup_by_key(|s| s.session_id);
    Ok(all)
}

/// The most recent device details, else those at sign-in.
fn latest(s: &ActiveSession) -> &DeviceInfo {
    s.recent.as_ref().unwrap_or(&s.created)
}

fn device(s: &ActiveSession) -> String {
    let d = latest(s);
    d.device_hardware
        .clone()
        .or_else(|| s.created.device_hardware.clone())
        .unwrap_or_else(|| "Unknown device".to_owned())
}

fn os(s: &ActiveSession) -> String {
    let d = latest(s);
    match (&d.os, &d.os_version) {
        (Some(os), Some(v)) => format!("{os} {v}"),
        (Some(os), None) => os.clone(),
        _ => "Unknown".to_owned(),
    }
}

fn duration_words(secs: u64) -> String {
    let (n, unit) = match secs {
        s if s % 86_400 == 0 => (s / 86_400, "day"),
        s if s % 3600 == 0 => (s / 3600, "hour"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

pub(crate) async fn page(ctx: Ctx, Path(user): Path<String>) -> Response {
    if !valid_id(&user) {
        return not_found(&ctx, format!("“{user}” is not a user id."));
    }
    let client = &ctx.app.client;
    let u = match client.users_info(&user).await {
        Ok(u) => u,
        Err(e) => return not_found(&ctx, sentence(&e)),
    };
    let mut flash = ctx.flash.clone();
    let sessions = sessions_of(&ctx, &u)
        .await
        .map_err(|e| flash.push(Notice::Failed(sentence(&e))))
        .ok();
    let settings = client
        .admin_users_session_get_settings(GetSettingsRequest::new([u.id.clone()]))
        .await
        .map(|r| r.session_settings.into_iter().find(|s| s.user_id == u.id))
        .map_err(|e| flash.push(Notice::Failed(sentence(&e))))
        .ok();
    let name = display_name(&u).to_owned();
    let body = html! {
        p { a href="/people" { "← People" } }
        h1 { (name) }
        div.card {
            dl.facts {
                dt { "Email" } dd { (u.email().unwrap_or("not shown (needs users:read.email)")) }
                dt { "User id" } dd { (u.id) }
                dt { "Role" } dd { (role(&u)) @if u.deleted { " (deactivated)" } }
                dt { "Teams" } dd { (teams(&u).join(", ")) }
            }
        }
        @if let Some(sessions) = &sessions {
            (sessions_section(&ctx, &u, &name, sessions))
        }
        @if let Some(settings) = &settings {
            (settings_section(&ctx, &u, &name, settings.as_ref()))
        }
    };
    layout::page(&name, Nav::People, &flash, body).into_response()
}

fn sessions_section(ctx: &Ctx, u: &User, name: &str, sessions: &[ActiveSession]) -> Markup {
    let base = format!("/people/{}", u.id);
    html! {
        section aria-labelledby="sessions-title" {
            h2 #sessions-title { "Active sessions (" (sessions.len()) ")" }
            @if sessions.is_empty() {
                p { (name) " has no active sessions." }
            } @else {
                div.table-wrap role="region" aria-labelledby="sessions-title" tabindex="0" {
                    table #sessions {
                        thead { tr {
                            th scope="col" { "Session" }
                            th scope="col" { "Device" }
                            th scope="col" { "OS" }
                            th scope="col" { "App version" }
                            th scope="col" { "Signed in from" }
                            th scope="col" { "Last seen from" }
                            th scope="col" { span.sr-only { "Action" } }
                        } }
                        tbody {
                            @for s in sessions {
                                tr data-session=(s.session_id) {
                                    td.num { (s.session_id) }
                                    td { (device(s)) }
                                    td { (os(s)) }
                                    td { (latest(s).slack_client_version.as_deref().unwrap_or("")) }
                                    td { (s.created.ip.as_deref().unwrap_or("")) }
                                    td { (s.recent.as_ref().and_then(|r| r.ip.as_deref()).unwrap_or("")) }
                                    td {
                                        form.inline method="post"
                                            action=(format!("{base}/sessions/{}/sign-out", s.session_id))
                                            data-confirm=(format!(
                                                "Sign out {name} from session {} ({}, {})? That device \
                                                 will have to sign in again.", s.session_id, device(s), os(s)))
                                            data-confirm-action="Sign out" {
                                            (csrf_field(&ctx.login.csrf))
                                            button.danger type="submit" {
                                                "Sign out" span.sr-only { " session " (s.session_id) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            div.actions {
                (reset_form(ctx, &base, "all", "Sign out everywhere",
                    &format!("Sign out {name} everywhere? All of their sessions end, on every \
                              device, and they must sign in again.")))
                (reset_form(ctx, &base, "mobile", "Sign out mobile",
                    &format!("Sign out {name} on mobile devices? Their iOS and Android sessions \
                              end; desktop and web stay signed in.")))
                (reset_form(ctx, &base, "web", "Sign out web",
                    &format!("Sign out {name} in web browsers? Their web sessions end; desktop \
                              and mobile apps stay signed in.")))
            }
        }
    }
}

fn reset_form(ctx: &Ctx, base: &str, scope: &str, action: &str, what: &str) -> Markup {
    html! {
        form.inline method="post" action=(format!("{base}/sign-out"))
            data-confirm=(what) data-confirm-action=(action) {
            (csrf_field(&ctx.login.csrf))
            input type="hidden" name="scope" value=(scope);
            button.danger type="submit" { (action) }
        }
    }
}

fn settings_section(ctx: &Ctx, u: &User, name: &str, s: Option<&SessionSetting>) -> Markup {
    let base = format!("/people/{}/settings", u.id);
    let duration = s.and_then(|s| s.duration);
    let quit = s.and_then(|s| s.desktop_app_browser_quit);
    html! {
        section aria-labelledby="settings-title" {
            h2 #settings-title { "Session settings" }
            div.card {
                dl.facts {
                    dt { "Session duration" }
                    dd #current-duration { (duration.map(duration_words).unwrap_or_else(|| "Org default".into())) }
                    dt { "Quit on close" }
                    dd #current-quit { (match quit { Some(true) => "Yes", Some(false) => "No", None => "Org default" }) }
                }
                form method="post" action=(base) {
                    (csrf_field(&ctx.login.csrf))
                    div.row {
                        div.field {
                            label for="duration" { "Session duration (hours)" }
                            input #duration type="number" name="duration_hours" min="8" max="87658"
                                step="1" value=[duration.filter(|d| d % 3600 == 0).map(|d| d / 3600)]
                                aria-describedby="duration-hint";
                            span #duration-hint .hint { "8 hours to 10 years. Leave empty to keep it as it is." }
                        }
                        div.field {
                            label for="quit" { "Quit on close" }
                            select #quit name="quit" {
                                option value="" { "Keep as it is" }
                                option value="yes" selected[quit == Some(true)] { "Yes: end sessions when the app or browser quits" }
                                option value="no" selected[quit == Some(false)] { "No" }
                            }
                        }
                    }
                    div.actions { button.primary type="submit" { "Save settings" } }
                }
                form method="post" action=(format!("{base}/clear"))
                    data-confirm=(format!("Clear the session settings of {name}? Their sessions \
                                           follow the org's defaults again."))
                    data-confirm-action="Clear settings" {
                    (csrf_field(&ctx.login.csrf))
                    div.actions { button.danger type="submit" { "Clear settings" } }
                }
            }
        }
    }
}

fn back_to(ctx: &Ctx, user: &str, result: Result<String, sessions_client::Error>) -> Response {
    ctx.flash(match result {
        Ok(done) => Notice::Done(done),
        Err(e) => Notice::Failed(sentence(&e)),
    });
    Redirect::to(&format!("/people/{user}")).into_response()
}

/// What every destructive action on a person checks first: a user id that is one, then the
/// confirmation (`path` is the action's path below the person's page).
fn ask_first(
    ctx: &Ctx,
    user: &str,
    fields: &Fields,
    path: &str,
    what: &str,
    action: &str,
) -> Option<Response> {
    if !valid_id(user) {
        return Some(not_found(ctx, format!("“{user}” is not a user id.")));
    }
    let here = format!("/people/{user}");
    let ask = Ask {
        what,
        action,
        cancel: &here,
        nav: Nav::People,
    };
    unless_confirmed(ctx, fields, &format!("{here}{path}"), ask)
}

pub(crate) async fn sign_out_session(
    ctx: Ctx,
    Path((user, session)): Path<(String, u64)>,
    Form(fields): Form<Fields>,
) -> Response {
    let what =
        format!("Sign out session {session} of {user}? That device will have to sign in again.");
    let path = format!("/sessions/{session}/sign-out");
    if let Some(page) = ask_first(&ctx, &user, &fields, &path, &what, "Sign out") {
        return page;
    }
    let result = ctx
        .app
        .client
        .admin_users_session_invalidate(InvalidateRequest::for_user(
            SessionId(session),
            user.clone(),
        ))
        .await
        .map(|_| format!("Signed out session {session}."));
    back_to(&ctx, &user, result)
}

pub(crate) async fn sign_out(
    ctx: Ctx,
    Path(user): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    let (mobile_only, web_only, action, words) = match field(&fields, "scope") {
        Some("mobile") => (Some(true), None, "Sign out mobile", "mobile sessions"),
        Some("web") => (None, Some(true), "Sign out web", "web sessions"),
        _ => (
            None,
            None,
            "Sign out everywhere",
            "sessions on every device",
        ),
    };
    let what = format!("{action}: end the {words} of {user}?");
    if let Some(page) = ask_first(&ctx, &user, &fields, "/sign-out", &what, action) {
        return page;
    }
    let req = ResetRequest {
        user_id: user.clone(),
        mobile_only,
        web_only,
    };
    let result = ctx
        .app
        .client
        .admin_users_session_reset(req)
        .await
        .map(|_| format!("Signed out: ended the {words}."));
    back_to(&ctx, &user, result)
}

pub(crate) async fn set_settings(
    ctx: Ctx,
    Path(user): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    if !valid_id(&user) {
        return not_found(&ctx, format!("“{user}” is not a user id."));
    }
    let mut req = SetSettingsRequest::new([user.clone()]);
    let hours = field(&fields, "duration_hours").unwrap_or("").trim();
    if !hours.is_empty() {
        match hours.parse::<u64>() {
            Ok(h) => req = req.duration(h.saturating_mul(3600)),
            Err(_) => {
                ctx.flash(Notice::Failed(format!(
                    "“{hours}” is not a whole number of hours; nothing was changed."
                )));
                return Redirect::to(&format!("/people/{user}")).into_response();
            }
        }
    }
    match field(&fields, "quit") {
        Some("yes") => req = req.desktop_app_browser_quit(true),
        Some("no") => req = req.desktop_app_browser_quit(false),
        _ => {}
    }
    if req.duration.is_none() && req.desktop_app_browser_quit.is_none() {
        ctx.flash(Notice::Failed(
            "Nothing to change: give a duration or choose quit on close.".to_owned(),
        ));
        return Redirect::to(&format!("/people/{user}")).into_response();
    }
    let result = ctx
        .app
        .client
        .admin_users_session_set_settings(req)
        .await
        .map(|_| "Saved the session settings.".to_owned());
    back_to(&ctx, &user, result)
}

pub(crate) async fn clear_settings(
    ctx: Ctx,
    Path(user): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    let what = format!(
        "Clear the session settings of {user}? Their sessions follow the org's defaults again."
    );
    if let Some(page) = ask_first(
        &ctx,
        &user,
        &fields,
        "/settings/clear",
        &what,
        "Clear settings",
    ) {
        return page;
    }
    let result = ctx
        .app
        .client
        .admin_users_session_clear_settings(ClearSettingsRequest::new([user.clone()]))
        .await
        .map(|_| "Cleared the session settings; the org's defaults apply.".to_owned());
    back_to(&ctx, &user, result)
}
