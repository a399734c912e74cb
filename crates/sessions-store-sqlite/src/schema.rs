//! Schema migrations: the numbered `.sql` files of `migrations/`, applied in order at open
//! inside one IMMEDIATE transaction (so two processes opening the same new file cannot both
//! apply one) and recorded in `schema_migrations`.

use rusqlite::{Connection, TransactionBehavior};

use super::engine::Ctx;
use sessions_store::{Result, StoreError};

/// Ordered migrations: (version, SQL), one numbered file each under `migrations/`. Append
/// only; never edit a released file. The numbers are the versions recorded in
/// `schema_migrations`, so files made by earlier builds upgrade in place.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_model.sql")),
    (2, include_str!("../migrations/0002_audit_log.sql")),
    (3, include_str!("../migrations/0003_audit_retention.sql")),
    (4, include_str!("../migrations/0004_per_org_ids.sql")),
    (5, include_str!("../migrations/0005_user_directory.sql")),
];

/// The schema version this build writes.
pub(super) fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// Applies every migration newer than the file's version, in one transaction.
pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    migrate_to(conn, latest())
}

/// Applies the migrations newer than the file's version up to `target` (tests build files of
/// older versions with it, to check upgrades).
pub(super) fn migrate_to(conn: &mut Connection, target: i64) -> Result<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .ctx("starting migration")?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version    INTEGER PRIMARY KEY,
            applied_at INTEGER NOT NULL
        )",
    )
    .ctx("creating schema_migrations")?;
    let current: i64 = tx
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .ctx("reading schema version")?;
    if current > latest() {
        return Err(StoreError::backend(format!(
            "sqlite: database schema version {current} is newer than this build understands ({})",
            latest()
        )));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current && m.0 <= target) {
        tx.execute_batch(sql)
            .ctx(&format!("applying migration {version}"))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            (version, now),
        )
        .ctx("recording migration")?;
    }
    tx.commit().ctx("committing migrations")
}
