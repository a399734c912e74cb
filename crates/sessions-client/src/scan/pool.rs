//! Body buffers that an org scan hands back for its next pages.
//!
//! Why: a scan reads a thousand ~340 KB list pages one after another. Allocated fresh, each
//! page's buffer came from the top of the heap and went back to the system when the page was
//! dropped (glibc trims the heap top once enough is free), so every page faulted its memory in
//! again: about a fifth of the client's CPU in the org scan was page faults and `brk`. A
//! [`SessionPage`](super::SessionPage) decoded from a pooled body returns the buffer here when
//! it is dropped, and the next page's body is read into it.

use std::sync::{Arc, Mutex, PoisonError};

/// Buffers kept at most: a scan holds one page being read and one ahead.
const KEEP: usize = 4;
/// Larger buffers are not kept (a one-off huge body should not stay resident).
const MAX_KEPT: usize = 16 << 20;
/// Bodies smaller than this are not worth pooling (`auth.test`, errors, small pages).
pub(crate) const MIN_POOLED: usize = 64 << 10;

/// Spare body buffers of one client (shared by its clones).
#[derive(Debug, Default)]
pub(crate) struct BodyPool(Mutex<Vec<Vec<u8>>>);

impl BodyPool {
    /// An empty buffer with room for `capacity` bytes, a kept one when there is one.
    pub(crate) fn take(&self, capacity: usize) -> Vec<u8> {
        let kept = self.0.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let mut buf = kept.unwrap_or_default();
        buf.clear();
        buf.reserve(capacity);
        buf
    }

    /// Keeps `buf` for a later [`BodyPool::take`], unless enough are kept or it is huge.
    pub(crate) fn give(&self, buf: Vec<u8>) {
        if buf.capacity() < MIN_POOLED || buf.capacity() > MAX_KEPT {
            return;
        }
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.len() < KEEP {
            kept.push(buf);
        }
    }

    /// How many buffers are kept (for tests).
    #[cfg(test)]
    pub(crate) fn kept(&self) -> usize {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

/// A page's text, given back to its pool (if it came from one) when dropped.
#[derive(Debug, Default)]
pub(super) struct PageText {
    text: String,
    pool: Option<Arc<BodyPool>>,
}

impl PageText {
    pub(super) fn as_str(&self) -> &str {
        &self.text
    }

    pub(super) fn return_to(&mut self, pool: Arc<BodyPool>) {
        self.pool = Some(pool);
    }
}

impl From<String> for PageText {
    fn from(text: String) -> Self {
        PageText { text, pool: None }
    }
}

impl Clone for PageText {
    /// A copy of the text; only the original goes back to the pool.
    fn clone(&self) -> Self {
        PageText::from(self.text.clone())
    }
}

impl Drop for PageText {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            pool.give(std::mem::take(&mut self.text).into_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_page_text_goes_back_and_is_reused() {
        let pool = Arc::new(BodyPool::default());
        let mut buf = pool.take(100_000);
        buf.extend_from_slice(b"{}");
        let ptr = buf.as_ptr();
        let mut text = PageText::from(String::from_utf8(buf).unwrap());
        text.return_to(pool.clone());
        let copy = text.clone();
        drop(copy);
        assert_eq!(pool.kept(), 0, "a clone is not the pool's");
        drop(text);
        assert_eq!(pool.kept(), 1);
        let again = pool.take(10);
        assert_eq!(again.as_ptr(), ptr, "the same allocation");
        assert!(again.is_empty() && again.capacity() >= 100_000);
    }

    #[test]
    fn small_huge_and_surplus_buffers_are_not_kept() {
        let pool = BodyPool::default();
        pool.give(Vec::with_capacity(100));
        pool.give(Vec::with_capacity(MAX_KEPT + 1));
        assert_eq!(pool.kept(), 0);
        for _ in 0..KEEP + 2 {
            pool.give(Vec::with_capacity(MIN_POOLED));
        }
        assert_eq!(pool.kept(), KEEP);
    }
}
