//! Connections and transactions: the pool (size from the URL), the retry loop every
//! statement runs in ([`with_retry!`]: serialization failures and deadlocks are retried with
//! jittered backoff), error conversion, and the advisory and row locks writers take.

use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::error::SqlState;
use tokio_postgres::NoTls;

use sessions_store::*;

/// Advisory lock key serializing fixture loads across nodes ("SESSFIXT").
pub(crate) const FIXTURE_LOCK: i64 = 0x5345_5353_4649_5854;
/// Namespace of the per-org advisory locks: writers take their org's lock shared, fixture loads
/// (which delete and re-insert an org) take it exclusive.
pub(crate) const ORG_LOCK_NS: i32 = 0x5345_5353;
/// Attempts for a transaction failing with a serialization failure or deadlock.
pub(crate) const MAX_ATTEMPTS: u32 = 10;

/// A failure inside one transaction attempt.
#[derive(Debug)]
pub(crate) enum TxError {
    Db(tokio_postgres::Error),
    Store(StoreError),
    /// Try the whole transaction again (e.g. a session id raced with a fixture load).
    Retry(String),
}

impl From<tokio_postgres::Error> for TxError {
    fn from(e: tokio_postgres::Error) -> Self {
        TxError::Db(e)
    }
}

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> Self {
        TxError::Store(e)
    }
}

impl From<FixtureError> for TxError {
    fn from(e: FixtureError) -> Self {
        TxError::Store(StoreError::Fixture(e))
    }
}

impl TxError {
    pub(crate) fn is_retryable(&self) -> bool {
        match self {
            TxError::Db(e) => matches!(
                e.code(),
                Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE
                    || *c == SqlState::T_R_DEADLOCK_DETECTED
            ),
            TxError::Retry(_) => true,
            TxError::Store(_) => false,
        }
    }

    pub(crate) fn into_store(self, context: &str) -> StoreError {
        match self {
            TxError::Db(e) => StoreError::backend_from(format!("{context}: {}", describe(&e)), e),
            TxError::Store(e) => e,
            TxError::Retry(why) => StoreError::backend(format!(
                "{context}: gave up after {MAX_ATTEMPTS} attempts: {why}"
            )),
        }
    }
}

/// A readable one-line description of a driver error (its Display alone says only "db error").
pub(crate) fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = format!("{} (SQLSTATE {})", db.message(), db.code().code());
        if let Some(detail) = db.detail() {
            s.push_str(": ");
            s.push_str(detail);
        }
        return s;
    }
    match std::error::Error::source(e) {
        Some(src) => format!("{e}: {src}"),
        None => e.to_string(),
    }
}

pub(crate) fn corrupt(what: &str, value: &str) -> TxError {
    TxError::Store(StoreError::backend(format!(
        "unexpected stored {what} {value:?}"
    )))
}

/// Runs `$body` (an async block body using `$client`, a pooled connection) and retries the
/// whole of it on serialization failure / deadlock, returning `Result<T, StoreError>`.
macro_rules! with_retry {
    ($self:expr, $ctx:expr, |$client:ident| $body:block) => {{
        let mut attempt: u32 = 0;
        loop {
            #[allow(unused_mut)]
            let mut $client = $self.conn().await?;
            let outcome: std::result::Result<_, $crate::engine::TxError> = async { $body }.await;
            match outcome {
                Ok(v) => break Ok(v),
                Err(e) if e.is_retryable() && attempt + 1 < $crate::engine::MAX_ATTEMPTS => {
                    attempt += 1;
                    $self
                        .retried
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::debug!(context = $ctx, attempt, error = ?e, "retrying transaction");
                    $crate::engine::backoff(attempt).await;
                }
                Err(e) => break Err(e.into_store($ctx)),
            }
        }
    }};
}

pub(crate) async fn backoff(attempt: u32) {
    let cap_ms = 2u64 << attempt.min(7);
    let ms = rand::random::<u64>() % cap_ms + 1;
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// The URL with any password replaced, for error messages. Defensive about unencoded `/` or
/// `@` in the password: everything up to the last `@` before the query is user info.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<unparsable url>".into();
    };
    let before_query = rest.split('?').next().unwrap_or(rest);
    match before_query.rfind('@') {
        Some(at) => {
            let (userinfo, host_and_more) = rest.split_at(at);
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{scheme}://{user}:***{host_and_more}"),
                None => url.to_owned(),
            }
        }
        None => url.to_owned(),
    }
}

/// Splits our own `pool_size` parameter off a URL; the rest goes to tokio-postgres, which
/// refuses options it does not know.
pub(crate) fn split_pool_size(url: &str) -> Result<(String, Option<usize>)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), None));
    };
    let mut size = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.strip_prefix("pool_size=") {
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=10_000).contains(&n) => size = Some(n),
                _ => {
                    return Err(StoreError::BadUrl(format!(
                        "{} (pool_size must be an integer between 1 and 10000, got {v:?})",
                        redact(url)
                    )))
                }
            },
            None => kept.push(pair),
        }
    }
    let rebuilt = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((rebuilt, size))
}

pub(crate) fn default_pool_size() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get() * 4)
        .unwrap_or(16)
}

/// A pool of at most `max_size` lazily opened connections to `url` (our `pool_size` option
/// already split off; `shown` is the URL for messages, password redacted).
pub(crate) fn build_pool(pg_url: &str, shown: &str, max_size: usize) -> Result<Pool> {
    let config = tokio_postgres::Config::from_str(pg_url)
        .map_err(|e| StoreError::BadUrl(format!("{shown} ({})", describe(&e))))?;
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(max_size)
        .runtime(Runtime::Tokio1)
        .create_timeout(Some(Duration::from_secs(10)))
        .build()
        .map_err(|e| StoreError::backend_from(format!("building connection pool: {e}"), e))
}

/// The per-org advisory lock key (stable across nodes and builds).
pub(crate) fn org_lock_key(org_id: &str) -> i32 {
    let h = TokenHash::of(org_id).0;
    i32::from_be_bytes([h[0], h[1], h[2], h[3]])
}

/// Takes the org's lock shared for the rest of the transaction. Without it a write racing a
/// fixture load of its org would look for rows in a snapshot from before the load, find them
/// deleted once the load commits, and wrongly report "not found" (or silently skip users),
/// though the org was never missing them. It must be its own statement, before the ones it
/// protects: in READ COMMITTED each statement then takes a snapshot after the load.
pub(crate) async fn share_org(
    tx: &tokio_postgres::Transaction<'_>,
    org_id: &str,
) -> Result<(), TxError> {
    tx.execute(
        "SELECT pg_advisory_xact_lock_shared($1, $2)",
        &[&ORG_LOCK_NS, &org_lock_key(org_id)],
    )
    .await?;
    Ok(())
}

/// Locks the listed existing users of an org in user_id order (before their settings and
/// sessions) and returns their ids. Sign-ins take a shared lock on their user, so a sign-in
/// never derives its expiry from settings that are being changed.
pub(crate) async fn lock_users(
    tx: &tokio_postgres::Transaction<'_>,
    org_id: &str,
    user_ids: &[String],
) -> Result<Vec<String>, TxError> {
    tx.query(
        "SELECT user_id FROM users WHERE org_id = $1 AND user_id = ANY($2)
         ORDER BY user_id FOR NO KEY UPDATE",
        &[&org_id, &user_ids],
    )
    .await?
    .iter()
    .map(|r| Ok(r.try_get(0)?))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_size_is_split_off_and_other_options_kept() {
        let (url, size) = split_pool_size("postgres://u@h/db?pool_size=32").unwrap();
        assert_eq!((url.as_str(), size), ("postgres://u@h/db", Some(32)));
        let (url, size) =
            split_pool_size("postgres://u@h/db?connect_timeout=5&pool_size=2&application_name=x")
                .unwrap();
        assert_eq!(
            url,
            "postgres://u@h/db?connect_timeout=5&application_name=x"
        );
        assert_eq!(size, Some(2));
        assert_eq!(split_pool_size("postgres://u@h/db").unwrap().1, None);
        for bad in ["0", "-1", "x", "", "10001"] {
            let err =
                split_pool_size(&format!("postgres://u:pw@h/db?pool_size={bad}")).unwrap_err();
            assert!(
                matches!(err, StoreError::BadUrl(ref m) if !m.contains("pw")),
                "{err}"
            );
        }
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://u:secret@h:5/db?x=1"),
            "postgres://u:***@h:5/db?x=1"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
        assert!(!redact("postgresql://u:p@ss@h/db").contains("p@ss"));
        assert_eq!(redact("postgres://u:a/b@h/db"), "postgres://u:***@h/db");
        assert_eq!(
            redact("postgres://u@h/db?opt=x@y"),
            "postgres://u@h/db?opt=x@y"
        );
    }
}
