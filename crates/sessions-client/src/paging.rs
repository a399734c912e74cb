//! Cursor pagination, shared by every paged call (`admin.users.session.list`, `users.list`,
//! the audit log, the org scan).

use std::collections::HashSet;
use std::future::Future;

use futures::stream::{self, Stream, StreamExt};

use crate::error::Error;

/// Where a request carries its cursor.
type CursorOf<Req> = fn(&mut Req) -> &mut Option<String>;
/// The cursor a page names for the next one (`None` on the last).
type NextCursor<Page> = fn(&Page) -> Option<&str>;

/// A cursor-paginated call: the first request, where its cursor goes, how a page names the
/// next one, and the call itself. [`Paging::pages`] and [`Paging::ahead`] turn it into a stream.
pub(crate) struct Paging<Req, Page, F> {
    req: Req,
    cursor: CursorOf<Req>,
    next_cursor: NextCursor<Page>,
    call: F,
}

impl<Req, Page, F, Fut> Paging<Req, Page, F>
where
    Req: Clone + Send + 'static,
    Page: Send + 'static,
    F: Fn(Req) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Page, Error>> + Send + 'static,
{
    pub(crate) fn new(
        req: Req,
        cursor: CursorOf<Req>,
        next_cursor: NextCursor<Page>,
        call: F,
    ) -> Self {
        Paging {
            req,
            cursor,
            next_cursor,
            call,
        }
    }

    /// Taken apart to start: the request to start from, the cursors already followed (its
    /// own, if any), and the rest.
    fn start(self) -> (Req, HashSet<String>, CursorOf<Req>, NextCursor<Page>, F) {
        let Paging {
            mut req,
            cursor,
            next_cursor,
            call,
        } = self;
        let mut seen = HashSet::new();
        if let Some(c) = cursor(&mut req).as_deref().filter(|c| !c.is_empty()) {
            seen.insert(c.to_owned());
        }
        (req, seen, cursor, next_cursor, call)
    }

    /// Every page, lazily: nothing is requested until polled. Starts from the request's
    /// cursor if set; ends after a page with no (or an empty) cursor, after a page whose cursor
    /// was already followed (a server looping would otherwise loop us), or right after yielding
    /// an error. Fused, so polling past the end keeps answering `None`.
    pub(crate) fn pages(self) -> impl Stream<Item = Result<Page, Error>> + Send + 'static {
        let (req, seen, cursor, next_cursor, call) = self.start();
        stream::unfold(Some((req, seen)), move |state| {
            // The call is made here, outside the future, so the future borrows nothing.
            let call = state.as_ref().map(|(req, _)| call(req.clone()));
            async move {
                let (req, seen) = state?;
                match call?.await {
                    Err(e) => Some((Err(e), None)),
                    Ok(page) => {
                        let next = follow(req, seen, cursor, next_cursor(&page));
                        Some((Ok(page), next))
                    }
                }
            }
        })
        .fuse()
    }

    /// Like [`Paging::pages`], but the next page is requested (and decoded, by `call`) on a
    /// task of its own as soon as the previous one has arrived, while the caller works on that
    /// one: a scan then waits for the network only when it outruns the server. At most one
    /// request is ahead; dropping the stream aborts it. Like [`Paging::pages`], nothing is
    /// requested until polled. Needs a tokio runtime, as the client does.
    pub(crate) fn ahead(self) -> impl Stream<Item = Result<Page, Error>> + Send + 'static {
        let (req, seen, cursor, next_cursor, call) = self.start();
        stream::unfold(Some((None, req, seen, call)), move |state| async move {
            let (ahead, req, seen, call) = state?;
            // Lazy like `pages`: the first request goes out when the stream is first polled.
            let mut ahead = ahead.unwrap_or_else(|| Ahead(tokio::spawn(call(req.clone()))));
            let page = match (&mut ahead.0).await {
                Ok(page) => page,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(_) => return None, // cancelled: only by our own drop
            };
            match page {
                Err(e) => Some((Err(e), None)),
                Ok(page) => {
                    let next = follow(req, seen, cursor, next_cursor(&page)).map(|(req, seen)| {
                        let ahead = Ahead(tokio::spawn(call(req.clone())));
                        (Some(ahead), req, seen, call)
                    });
                    Some((Ok(page), next))
                }
            }
        })
        .fuse()
    }
}

/// A request running ahead of the stream; aborted if the stream is dropped first.
struct Ahead<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for Ahead<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The request for the page after one whose cursor is `next`, or `None` when pagination ends
/// there: no (or an empty) cursor, or one already followed.
fn follow<Req>(
    mut req: Req,
    mut seen: HashSet<String>,
    cursor: CursorOf<Req>,
    next: Option<&str>,
) -> Option<(Req, HashSet<String>)> {
    match next {
        Some(c) if seen.insert(c.to_owned()) => {
            *cursor(&mut req) = Some(c.to_owned());
            Some((req, seen))
        }
        Some(c) => {
            tracing::warn!(cursor = c, "repeated cursor; stopping pagination");
            None
        }
        None => None,
    }
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
