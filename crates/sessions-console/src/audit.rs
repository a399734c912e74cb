//! The Audit page: recent admin actions from `GET /audit/v1/logs`, newest first, filtered by
//! action and by person (a user id, or an email looked up first).

use axum::extract::Query;
use axum::response::Html;
use maud::{html, Markup};
use serde::Deserialize;
use sessions_client::audit::{AuditLogEntry, AuditLogsRequest};
use sessions_client::Error;

use crate::layout::{self, Nav, Notice};
use crate::security::Ctx;
use crate::slack_error::sentence;

/// The actions the audit log records, with words for people.
const ACTIONS: [(&str, &str); 4] = [
    ("user_session_invalidated", "One session signed out"),
    ("user_session_reset_by_admin", "Sessions reset"),
    ("bulk_session_reset_by_admin", "Bulk reset"),
    ("user_session_settings_changed", "Session settings changed"),
];
/// Entries per page.
const PAGE: u32 = 50;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    action: String,
    #[serde(default)]
    person: String,
    #[serde(default)]
    cursor: String,
}

pub(crate) async fn page(ctx: Ctx, Query(q): Query<AuditQuery>) -> Html<String> {
    let mut flash = ctx.flash.clone();
    let rows = match fetch(&ctx, &q).await {
        Ok(r) => Some(r),
        Err(message) => {
            flash.push(Notice::Failed(message));
            None
        }
    };
    let body = html! {
        h1 { "Audit" }
        p.muted { "Admin actions on sessions, newest first." }
        form.card method="get" action="/audit" role="search" aria-label="Filter the audit log" {
            div.row {
                div.field {
                    label for="audit-action" { "Action" }
                    select #audit-action name="action" {
                        option value="" selected[q.action.is_empty()] { "Any action" }
                        @for (code, words) in ACTIONS {
                            option value=(code) selected[q.action == code] { (words) " (" (code) ")" }
                        }
                    }
                }
                div.field {
                    label for="audit-person" { "Person" }
                    input #audit-person type="text" name="person" value=(q.person)
                        placeholder="W0DEV or dana@example.com" autocomplete="off";
                }
                div.field { button.primary type="submit" { "Filter" } }
            }
        }
        @if let Some((entries, next)) = rows {
            (table(&entries))
            @if let Some(cursor) = next {
                p { a href=(older_link(&q, &cursor)) { "Older entries" } }
            }
        }
    };
    layout::page("Audit", Nav::Audit, &flash, body)
}

fn older_link(q: &AuditQuery, cursor: &str) -> String {
    let query = serde_urlencoded::to_string([
        ("action", q.action.as_str()),
        ("person", q.person.as_str()),
        ("cursor", cursor),
    ])
    .unwrap_or_default();
    format!("/audit?{query}")
}

/// One page of entries and the cursor of the next, or a sentence saying why not.
async fn fetch(ctx: &Ctx, q: &AuditQuery) -> Result<(Vec<AuditLogEntry>, Option<String>), String> {
    let client = &ctx.app.client;
    let mut req = AuditLogsRequest::default().limit(PAGE);
    if !q.action.trim().is_empty() {
        req = req.action(q.action.trim());
    }
    let person = q.person.trim();
    if !person.is_empty() {
        let id = if person.contains('@') {
            client
                .users_lookup_by_email(person)
                .await
                .map_err(|e| format!("Could not find {person}: {}", sentence(&e)))?
                .id
        } else {
            person.to_owned()
        };
        req = req.user(id);
    }
    if !q.cursor.is_empty() {
        req = req.cursor(q.cursor.clone());
    }
    match client.audit_logs(req).await {
        Ok(page) => {
            let next = page.next_cursor().map(str::to_owned);
            Ok((page.entries, next))
        }
        Err(Error::Http { status, .. }) if status.as_u16() == 404 => Err(format!(
            "This API does not serve the audit log ({} answered HTTP 404). Slack's own audit \
             log needs an Enterprise Grid org and a token with auditlogs:read.",
            client.audit_url()
        )),
        Err(e) => Err(sentence(&e)),
    }
}

fn table(entries: &[AuditLogEntry]) -> Markup {
    html! {
        @if entries.is_empty() {
            p { "No entries match." }
        } @else {
            div.table-wrap role="region" aria-label="Audit entries" tabindex="0" {
                table {
                    caption.muted { (entries.len()) " entries" }
                    thead { tr {
                        th scope="col" { "Time (UTC)" }
                        th scope="col" { "Admin" }
                        th scope="col" { "Action" }
                        th scope="col" { "Target" }
                        th scope="col" { "IP" }
                        th scope="col" { "Result" }
                    } }
                    tbody {
                        @for e in entries {
                            tr {
                                td { (sessions_emulator::rfc3339(e.date_create)) }
                                td { (e.actor.user.name.as_deref().unwrap_or(&e.actor.user.id)) }
                                td { (e.action) }
                                td { (e.target()) }
                                td { (e.context.ip_address.as_deref().unwrap_or("")) }
                                td { (e.result()) }
                            }
                        }
                    }
                }
            }
        }
    }
}
