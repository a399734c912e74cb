//! Schema migrations: the numbered `.sql` files of `migrations/`, applied in order at connect
//! inside one transaction that first takes `pg_advisory_xact_lock(MIGRATION_LOCK)` (nodes
//! starting together apply each exactly once), and recorded in `schema_migrations`.

use sessions_store::*;

use crate::engine::{split_pool_size, TxError};
use crate::PgStore;

/// Advisory lock key serializing migrations across nodes ("SESSMIGR").
pub(crate) const MIGRATION_LOCK: i64 = 0x5345_5353_4d49_4752;

/// Ordered migrations: (version, SQL). Append only; never edit a released file. The numbers
/// are the versions recorded in `schema_migrations`, so databases made by earlier builds
/// upgrade in place.
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("../migrations/0001_model.sql")),
    (2, include_str!("../migrations/0002_audit_log.sql")),
    (3, include_str!("../migrations/0003_audit_retention.sql")),
    (4, include_str!("../migrations/0004_per_org_ids.sql")),
    (5, include_str!("../migrations/0005_user_directory.sql")),
];

impl PgStore {
    /// Applied schema migration versions, ascending.
    pub async fn schema_versions(&self) -> Result<Vec<i32>> {
        with_retry!(self, "reading schema versions", |c| {
            let rows = c
                .query(
                    "SELECT version FROM schema_migrations ORDER BY version",
                    &[],
                )
                .await?;
            rows.iter()
                .map(|r| Ok(r.try_get::<_, i32>(0)?))
                .collect::<Result<Vec<_>, TxError>>()
        })
    }

    /// Connects and applies the schema migrations only up to `version`: for tests of what
    /// later migrations do to older databases. The handle is not for use as a store.
    #[doc(hidden)]
    pub async fn create_at_schema_version(url: &str, version: i32) -> Result<()> {
        let (pg_url, _) = split_pool_size(url)?;
        let store = PgStore::with_pool(&pg_url, url, 1)?;
        store.migrate_to(version).await
    }

    pub(crate) async fn migrate(&self) -> Result<()> {
        self.migrate_to(MIGRATIONS.last().map_or(0, |m| m.0)).await
    }

    async fn migrate_to(&self, target: i32) -> Result<()> {
        with_retry!(self, "running migrations", |c| {
            let tx = c.transaction().await?;
            tx.query("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                .await?;
            // `CREATE TABLE IF NOT EXISTS` needs CREATE on the schema even when the table
            // exists: create it only when missing, so that a migrated database can be served by
            // a role holding data privileges only.
            let missing: bool = tx
                .query_one("SELECT to_regclass('schema_migrations') IS NULL", &[])
                .await?
                .try_get(0)?;
            if missing {
                tx.batch_execute(
                    "CREATE TABLE schema_migrations (
                         version    INT PRIMARY KEY,
                         applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                )
                .await?;
            }
            let applied: Vec<i32> = tx
                .query("SELECT version FROM schema_migrations", &[])
                .await?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?;
            let known = MIGRATIONS.last().map_or(0, |m| m.0);
            if let Some(newer) = applied.iter().copied().filter(|v| *v > known).max() {
                // A newer build migrated this database: refuse rather than misread its rows.
                return Err(StoreError::backend(format!(
                    "database schema version {newer} is newer than this build understands \
                     ({known})"
                ))
                .into());
            }
            for (version, sql) in MIGRATIONS {
                if applied.contains(version) || *version > target {
                    continue;
                }
                tx.batch_execute(sql).await?;
                tx.execute(
                    "INSERT INTO schema_migrations (version) VALUES ($1)",
                    &[version],
                )
                .await?;
                tracing::info!(version, "applied PostgreSQL schema migration");
            }
            tx.commit().await?;
            Ok(())
        })
    }
}
