//! Waiting for a condition instead of sleeping a fixed time.
//!
//! A test that must see something happen polls for it with a deadline ([`until`],
//! [`until_blocking`]), so it is as fast as the machine allows and fails with a message
//! naming what never happened. The deadline is generous (30 s by default, `SESSIONS_TEST_WAIT_SECS`
//! to change it) because CI machines are shared and slow, never because a test needs it.

use std::future::Future;
use std::time::{Duration, Instant};

/// How long a wait lasts before it fails the test.
pub fn deadline() -> Duration {
    let secs = std::env::var("SESSIONS_TEST_WAIT_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    Duration::from_secs(secs)
}

/// How often a condition is polled.
pub const POLL: Duration = Duration::from_millis(20);

/// Polls `check` until it returns `Some`, and returns that; panics naming `what` after
/// [`deadline`].
pub async fn until<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    until_or(what, check, String::new).await
}

/// [`until`] whose failure message also shows what `report` tells (a process's log, say),
/// gathered only when the wait fails.
pub async fn until_or<T, F, Fut>(what: &str, mut check: F, report: impl FnOnce() -> String) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let end = Instant::now() + deadline();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if Instant::now() >= end {
            panic!(
                "timed out after {:?} waiting for {what}\n{}",
                deadline(),
                report()
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// [`until`] for a condition that is a plain `bool`.
pub async fn until_true<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    until_true_or(what, check, String::new).await
}

/// [`until_or`] for a condition that is a plain `bool`.
pub async fn until_true_or<F, Fut>(what: &str, mut check: F, report: impl FnOnce() -> String)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    until_or(
        what,
        || {
            let fut = check();
            async move { fut.await.then_some(()) }
        },
        report,
    )
    .await
}

/// [`until`] for synchronous tests.
pub fn until_blocking<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + deadline();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < end,
            "timed out after {:?} waiting for {what}",
            deadline()
        );
        std::thread::sleep(POLL);
    }
}

/// [`until_blocking`] for a condition that is a plain `bool`.
pub fn until_true_blocking(what: &str, mut check: impl FnMut() -> bool) {
    until_blocking(what, || check().then_some(()))
}
