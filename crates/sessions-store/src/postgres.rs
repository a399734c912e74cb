//! postgres backend (to be implemented).

use crate::*;

/// The postgres store.
#[derive(Debug)]
pub struct PgStore {}

impl PgStore {
    /// Opens the store and runs migrations.
    pub async fn connect(url: &str) -> Result<Self> {
        Err(StoreError::Backend(format!("postgres backend not implemented yet ({url})")))
    }
}

/// Opens the postgres store behind a [`DynStore`].
pub async fn open(url: &str) -> Result<DynStore> {
    Err(StoreError::Backend(format!("postgres backend not implemented yet ({url})")))
}
