//! [`Api`] for the real client: every call goes through `sessions_client::Client`, with its
//! validation, retries (429s waited out under [`engine_retry_policy`]) and error classification.

use sessions_client::RetryPolicy;

/// The retry policy a client driving the engine should have: the default budgets for 5xx,
/// timeouts and transport errors, also for revocations (repeating an invalidate or a
/// resetBulk whose answer was lost does no harm: the repeat answers `session_not_found` or
/// resets nothing new), and every 429 waited out however long it asks.
pub fn engine_retry_policy() -> RetryPolicy {
    RetryPolicy {
        retry_unsafe: true,
        wait_out_rate_limits: true,
        ..RetryPolicy::default()
    }
}
