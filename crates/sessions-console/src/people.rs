//! The People page: one search box. An email goes through `users.lookupByEmail`, a user id
//! through `users.info`, anything else is matched against the org's members from `users.list`
//! (cached for a few minutes: on Slack it is a Tier 2 method, one page per 1000 people).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::Query;
use axum::response::Html;
use futures::TryStreamExt;
use maud::{html, Markup};
use serde::Deserialize;
use sessions_client::{Client, Error, ErrorCode, User, UsersListRequest};

use crate::layout::{self, Nav, Notice};
use crate::security::Ctx;
use crate::slack_error::sentence;

/// How long a fetched member list is used for name searches.
const CACHE_FOR: Duration = Duration::from_secs(300);
/// Most results a name search shows.
const MAX_RESULTS: usize = 50;

/// The org's members from `users.list`, fetched on the first name search and reused.
#[derive(Debug, Default)]
pub(crate) struct UserCache {
    inner: tokio::sync::Mutex<Option<(Instant, Arc<Vec<User>>)>>,
}

impl UserCache {
    async fn members(&self, client: &Client) -> Result<Arc<Vec<User>>, Error> {
        // Held across the fetch: concurrent searches wait for one listing instead of each
        // starting their own.
        let mut slot = self.inner.lock().await;
        if let Some((at, users)) = slot.as_ref() {
            if at.elapsed() < CACHE_FOR {
                return Ok(users.clone());
            }
        }
        let users: Vec<User> = client
            .users_list_all(UsersListRequest::default())
            .try_collect()
            .await?;
        let users = Arc::new(users);
        *slot = Some((Instant::now(), users.clone()));
        Ok(users)
    }
}

/// What a search text is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SearchKind<'a> {
    Email(&'a str),
    UserId(&'a str),
    Name(&'a str),
}

/// Classifies the search text: `@` makes an email; `U`/`W` then upper-case letters and digits
/// make a user id; anything else is a name.
pub(crate) fn classify(text: &str) -> SearchKind<'_> {
    let t = text.trim();
    if t.contains('@') {
        return SearchKind::Email(t);
    }
    let b = t.as_bytes();
    if b.len() >= 3
        && matches!(b[0], b'U' | b'W')
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return SearchKind::UserId(t);
    }
    SearchKind::Name(t)
}

/// The name to show for a person.
pub(crate) fn display_name(u: &User) -> &str {
    [
        u.real_name.as_str(),
        u.profile.real_name.as_str(),
        u.profile.display_name.as_str(),
        u.name.as_str(),
    ]
    .into_iter()
    .find(|s| !s.trim().is_empty())
    .unwrap_or(u.id.as_str())
}

/// A person's role in words.
pub(crate) fn role(u: &User) -> &'static str {
    let grid = u.enterprise_user.as_ref();
    if u.is_primary_owner || grid.is_some_and(|g| g.is_primary_owner) {
        "Primary owner"
    } else if u.is_owner || grid.is_some_and(|g| g.is_owner) {
        "Owner"
    } else if u.is_admin || grid.is_some_and(|g| g.is_admin) {
        "Admin"
    } else if u.is_bot || u.is_app_user {
        "Bot"
    } else if u.is_ultra_restricted {
        "Single-channel guest"
    } else if u.is_restricted {
        "Multi-channel guest"
    } else {
        "Member"
    }
}

fn name_matches(u: &User, needle: &str) -> bool {
    [
        u.name.as_str(),
        u.real_name.as_str(),
        u.profile.real_name.as_str(),
        u.profile.display_name.as_str(),
        u.profile.email.as_deref().unwrap_or(""),
    ]
    .iter()
    .any(|h| h.to_lowercase().contains(needle))
}

/// The people matching `text`.
pub(crate) async fn find(ctx: &Ctx, text: &str) -> Result<Vec<User>, Error> {
    let client = &ctx.app.client;
    let not_found = |e: &Error| {
        matches!(
            e.code(),
            Some(ErrorCode::UserNotFound | ErrorCode::UsersNotFound)
        )
    };
    match classify(text) {
        SearchKind::Email(email) => match client.users_lookup_by_email(email).await {
            Ok(u) => Ok(vec![u]),
            Err(e) if not_found(&e) => Ok(vec![]),
            Err(e) => Err(e),
        },
        SearchKind::UserId(id) => match client.users_info(id).await {
            Ok(u) => Ok(vec![u]),
            // An upper-case name is not an id after all.
            Err(e) if not_found(&e) => by_name(ctx, id).await,
            Err(e) => Err(e),
        },
        SearchKind::Name(name) => by_name(ctx, name).await,
    }
}

async fn by_name(ctx: &Ctx, name: &str) -> Result<Vec<User>, Error> {
    let needle = name.to_lowercase();
    let members = ctx.app.users.members(&ctx.app.client).await?;
    Ok(members
        .iter()
        .filter(|u| name_matches(u, &needle))
        .take(MAX_RESULTS)
        .cloned()
        .collect())
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct SearchQuery {
    #[serde(default)]
    q: String,
}

pub(crate) async fn search(ctx: Ctx, Query(q): Query<SearchQuery>) -> Html<String> {
    let text = q.q.trim();
    let mut flash = ctx.flash.clone();
    let results = if text.is_empty() {
        None
    } else {
        match find(&ctx, text).await {
            Ok(found) => Some(found),
            Err(e) => {
                flash.push(Notice::Failed(sentence(&e)));
                None
            }
        }
    };
    let interrupted = ctx.app.revoke.interrupted();
    let body = html! {
        @if !interrupted.is_empty() {
            p.notice.info role="status" {
                "A revocation run was interrupted when the console stopped ("
                (interrupted.join(", ")) "). "
                a href="/revoke" { "Review and resume it" }
                "."
            }
        }
        h1 { "People" }
        form.card method="get" action="/people" role="search" aria-label="People" {
            div.row {
                div.field {
                    label for="q" { "Search" }
                    input #q type="search" name="q" value=(text) autocomplete="off"
                        aria-describedby="q-hint" autofocus[text.is_empty()];
                    span #q-hint .hint { "An email address, a user id (W0…) or part of a name." }
                }
                div.field { button.primary type="submit" { "Search" } }
            }
        }
        @if let Some(found) = results {
            (result_list(text, &found))
        }
    };
    layout::page("People", Nav::People, &flash, body)
}

fn result_list(text: &str, found: &[User]) -> Markup {
    html! {
        section aria-labelledby="results-title" {
            h2 #results-title { "Results for “" (text) "”" }
            @if found.is_empty() {
                p { "Nobody matches. Try an email address, a user id or another part of the name." }
            } @else {
                ul.results {
                    @for u in found {
                        li {
                            a href=(format!("/people/{}", u.id)) { (display_name(u)) }
                            span.muted {
                                " · " (u.email().unwrap_or("no email shown")) " · " (u.id) " · " (role(u))
                                @if u.deleted { " · deactivated" }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_is_classified() {
        assert_eq!(
            classify(" dana@acme.example "),
            SearchKind::Email("dana@acme.example")
        );
        assert_eq!(classify("W0DEV"), SearchKind::UserId("W0DEV"));
        assert_eq!(classify("U012ABC"), SearchKind::UserId("U012ABC"));
        assert_eq!(classify("Wanda"), SearchKind::Name("Wanda"));
        assert_eq!(classify("dana"), SearchKind::Name("dana"));
        assert_eq!(classify("W"), SearchKind::Name("W"));
    }
}
