//! Opening a store by URL: the one place that knows every backend crate (they depend on
//! `sessions-store`, so it cannot dispatch to them). The server, the CLI, the benches and the
//! tests all open stores here.

use sessions_store::{DynStore, StoreError};

/// Opens a store by URL: `sqlite://PATH` (created if missing) or `postgres://...` /
/// `postgresql://...`. Runs migrations. Any other URL is [`StoreError::BadUrl`].
pub async fn open(url: &str) -> Result<DynStore, StoreError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        sessions_store_sqlite::open(path).await
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        sessions_store_postgres::open(url).await
    } else {
        Err(StoreError::BadUrl(url.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unknown_schemes_and_empty_paths_are_refused() {
        assert!(matches!(
            open("mysql://x").await,
            Err(StoreError::BadUrl(_))
        ));
        assert!(matches!(
            open("sqlite://").await,
            Err(StoreError::BadUrl(_))
        ));
    }
}
