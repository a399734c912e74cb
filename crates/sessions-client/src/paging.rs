//! Cursor pagination, shared by every paged call (`admin.users.session.list`, the audit log).

use std::collections::HashSet;
use std::future::Future;

use futures::stream::{self, Stream, StreamExt};

use crate::error::Error;

/// Every page of a cursor-paginated call, lazily: nothing is requested until polled. Starts from
/// the request's cursor if set; ends after a page with no (or an empty) cursor, after a page
/// whose cursor was already followed (a server looping would otherwise loop us), or right after
/// yielding an error. Fused, so polling past the end keeps answering `None`.
pub(crate) fn pages<Req, Page, F, Fut>(
    req: Req,
    cursor: fn(&mut Req) -> &mut Option<String>,
    next_cursor: fn(&Page) -> Option<&str>,
    call: F,
) -> impl Stream<Item = Result<Page, Error>> + Send + 'static
where
    Req: Clone + Send + 'static,
    Page: Send + 'static,
    F: Fn(Req) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Page, Error>> + Send + 'static,
{
    let mut req = req;
    let mut seen = HashSet::new();
    if let Some(c) = cursor(&mut req).as_deref().filter(|c| !c.is_empty()) {
        seen.insert(c.to_owned());
    }
    stream::unfold(Some((req, seen)), move |state| {
        // The call is made here, outside the future, so the future borrows nothing.
        let call = state.as_ref().map(|(req, _)| call(req.clone()));
        async move {
            let (mut req, mut seen) = state?;
            match call?.await {
                Err(e) => Some((Err(e), None)),
                Ok(page) => {
                    let next = match next_cursor(&page) {
                        Some(c) if seen.insert(c.to_owned()) => {
                            *cursor(&mut req) = Some(c.to_owned());
                            Some((req, seen))
                        }
                        Some(c) => {
                            tracing::warn!(cursor = c, "repeated cursor; stopping pagination");
                            None
                        }
                        None => None,
                    };
                    Some((Ok(page), next))
                }
            }
        }
    })
    .fuse()
}

/// The items of every page, in order; an error ends the stream after it is yielded.
pub(crate) fn items<Page, Item>(
    pages: impl Stream<Item = Result<Page, Error>> + Send + 'static,
    of: fn(Page) -> Vec<Item>,
) -> impl Stream<Item = Result<Item, Error>> + Send + 'static
where
    Page: Send + 'static,
    Item: Send + 'static,
{
    pages
        .map(move |page| {
            let items: Vec<Result<Item, Error>> = match page {
                Ok(p) => of(p).into_iter().map(Ok).collect(),
                Err(e) => vec![Err(e)],
            };
            stream::iter(items)
        })
        .flatten()
}
