//! Confirmation of destructive actions on the server side. The page script asks in a dialog
//! before sending a destructive form and then adds `confirmed=yes`; a form that arrives without
//! it (script off, or a hand-made request) gets this confirmation page instead of the action,
//! so nothing destructive ever happens unasked.

use axum::response::{IntoResponse, Response};
use maud::html;

use crate::layout::{self, csrf_field, Nav};
use crate::security::Ctx;

/// The form fields of a request.
pub(crate) type Fields = Vec<(String, String)>;

/// The value of a form field.
pub(crate) fn field<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// What a destructive action will do, in words for the dialog.
#[derive(Debug)]
pub(crate) struct Ask<'a> {
    /// The sentence naming what will happen.
    pub what: &'a str,
    /// The confirm button's label: the action's name.
    pub action: &'a str,
    /// Where Cancel goes.
    pub cancel: &'a str,
    /// The page section the action belongs to.
    pub nav: Nav,
}

/// `None` when the request was confirmed; otherwise the page that asks, re-posting the same
/// fields to `post_to` with `confirmed=yes`.
pub(crate) fn unless_confirmed(
    ctx: &Ctx,
    fields: &Fields,
    post_to: &str,
    ask: Ask<'_>,
) -> Option<Response> {
    if field(fields, "confirmed") == Some("yes") {
        return None;
    }
    let body = html! {
        section.confirm-page role="dialog" aria-labelledby="confirm-page-title"
            aria-describedby="confirm-page-text" {
            h1 #confirm-page-title { "Please confirm" }
            p #confirm-page-text { (ask.what) }
            form method="post" action=(post_to) {
                (csrf_field(&ctx.login.csrf))
                @for (k, v) in fields {
                    @if k != "csrf" && k != "confirmed" {
                        input type="hidden" name=(k) value=(v);
                    }
                }
                input type="hidden" name="confirmed" value="yes";
                div.actions {
                    a.button href=(ask.cancel) { "Cancel" }
                    button.danger type="submit" { (ask.action) }
                }
            }
        }
    };
    Some(layout::page("Please confirm", ask.nav, &[], body).into_response())
}
