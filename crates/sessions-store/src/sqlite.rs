//! sqlite backend (to be implemented).

use crate::*;

/// The sqlite store.
#[derive(Debug)]
pub struct SqliteStore {}

impl SqliteStore {
    /// Opens the store and runs migrations.
    pub async fn open(path: &str) -> Result<Self> {
        Err(StoreError::Backend(format!("sqlite backend not implemented yet ({path})")))
    }
}

/// Opens the sqlite store behind a [`DynStore`].
pub async fn open(path: &str) -> Result<DynStore> {
    Err(StoreError::Backend(format!("sqlite backend not implemented yet ({path})")))
}
