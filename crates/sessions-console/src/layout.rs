//! The page shell every page shares: head (our stylesheet and script only), skip link,
//! navigation, messages, and the confirmation dialog the script fills in.

use axum::response::Html;
use maud::{html, Markup, DOCTYPE};

/// A message shown at the top of the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Notice {
    /// Something was done.
    Done(String),
    /// Something failed; nothing (or only what it says) changed.
    Failed(String),
}

/// Which navigation entry a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    People,
    Revoke,
    Audit,
}

const NAV: [(Nav, &str, &str); 3] = [
    (Nav::People, "/people", "People"),
    (Nav::Revoke, "/revoke", "Revoke by selection"),
    (Nav::Audit, "/audit", "Audit"),
];

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Slack sessions console" }
            link rel="stylesheet" href=(crate::assets::CSS_PATH);
            link rel="icon" href=(crate::assets::ICON_PATH) type="image/svg+xml";
            script src=(crate::assets::JS_PATH) defer {}
        }
    }
}

pub(crate) fn notices(list: &[Notice]) -> Markup {
    html! {
        @for n in list {
            @match n {
                Notice::Done(t) => p.notice.done role="status" { (t) },
                Notice::Failed(t) => p.notice.failed role="alert" { (t) },
            }
        }
    }
}

/// A full page: navigation with `active` marked, `flash` messages, then `body`.
pub(crate) fn page(title: &str, active: Nav, flash: &[Notice], body: Markup) -> Html<String> {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    span.brand { "Slack sessions" }
                    nav aria-label="Main" {
                        ul {
                            @for (nav, href, label) in NAV {
                                li {
                                    @if nav == active {
                                        a href=(href) aria-current="page" { (label) }
                                    } @else {
                                        a href=(href) { (label) }
                                    }
                                }
                            }
                        }
                    }
                }
                main #main {
                    (notices(flash))
                    (body)
                }
                (confirm_dialog())
            }
        }
    };
    Html(markup.into_string())
}

/// The dialog the script opens before a destructive form is sent. Its text and confirm label
/// come from the form's `data-confirm` and `data-confirm-action`.
fn confirm_dialog() -> Markup {
    html! {
        dialog #confirm role="dialog" aria-modal="true" aria-labelledby="confirm-title"
            aria-describedby="confirm-text" {
            h2 #confirm-title { "Please confirm" }
            p #confirm-text {}
            div.actions {
                button #confirm-cancel type="button" { "Cancel" }
                button #confirm-ok.danger type="button" { "Confirm" }
            }
        }
    }
}

/// A page without navigation, for those who are not signed in.
pub(crate) fn bare_page(title: &str, message: &str) -> Html<String> {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                main #main {
                    h1 { (title) }
                    p { (message) }
                }
            }
        }
    };
    Html(markup.into_string())
}

/// The hidden CSRF field of a form.
pub(crate) fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}
