//! Throwaway PostgreSQL databases on the test server (`SESSIONS_TEST_PG_URL`, by default
//! `postgres://postgres@127.0.0.1:5432/postgres`).
//!
//! Each database is named `sessions_test_<unix seconds>_<purpose>_<random>` and dropped
//! (forcibly) with its [`TempDb`]. A test run killed before its drops ran leaves databases
//! behind; the first database made in a process drops those older than an hour, so they
//! never pile up.

use std::sync::Once;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio_postgres::{Client, NoTls};

/// The PostgreSQL server tests use: `SESSIONS_TEST_PG_URL`, or the local one CI starts.
pub fn admin_url() -> String {
    std::env::var("SESSIONS_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// `url` with its database (the last path segment) replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, _) = url
        .rsplit_once('/')
        .expect("a PostgreSQL URL ends in /DATABASE");
    format!("{base}/{name}")
}

/// A database of its own for one test, dropped with this value. Declare it before whatever
/// uses it (a pool, a server, a process), so that it is dropped after them.
#[derive(Debug)]
pub struct TempDb {
    /// Its connection URL.
    pub url: String,
    /// Its name.
    pub name: String,
    /// The admin database it was made from (and is dropped through).
    admin: String,
}

impl TempDb {
    /// Creates a fresh database on [`admin_url`]; `purpose` (lowercase letters, digits, `_`)
    /// goes into its name so a leftover tells which tests made it. Panics, naming the command
    /// that starts PostgreSQL, when the server is unreachable.
    pub async fn fresh(purpose: &str) -> TempDb {
        TempDb::fresh_at(&admin_url(), purpose).await
    }

    /// [`TempDb::fresh`] on the server of another admin URL (a bench's own setting).
    pub async fn fresh_at(admin: &str, purpose: &str) -> TempDb {
        assert!(
            purpose
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "database purpose {purpose:?} must be lowercase letters, digits and _"
        );
        let client = admin_at(admin).await;
        static SWEPT: Once = Once::new();
        let mut first = false;
        SWEPT.call_once(|| first = true);
        if first {
            sweep(&client).await;
        }
        let name = format!(
            "sessions_test_{}_{purpose}_{:016x}",
            unix_now(),
            rand::random::<u64>()
        );
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name} on {admin}: {e}"));
        TempDb {
            url: with_database(admin, &name),
            name,
            admin: admin.to_owned(),
        }
    }

    /// [`TempDb::fresh`] for synchronous tests (runs its own runtime on another thread).
    pub fn fresh_blocking(purpose: &str) -> TempDb {
        let purpose = purpose.to_owned();
        std::thread::spawn(move || runtime().block_on(TempDb::fresh(&purpose)))
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Drop is synchronous and may run inside a test's runtime: use a thread of our own.
        // Best effort: a database left behind is swept by a later run.
        let _ = std::thread::spawn(move || {
            runtime().block_on(async {
                let (client, conn) = tokio_postgres::connect(&admin, NoTls).await.ok()?;
                tokio::spawn(conn);
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .ok()
            })
        })
        .join();
    }
}

/// A connection to the admin database ([`admin_url`]), to create, drop or inspect databases.
pub async fn admin() -> Client {
    admin_at(&admin_url()).await
}

/// A connection to the admin database at `url`.
pub async fn admin_at(url: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| {
            panic!("PostgreSQL is required at {url} (start it with: bash scripts/ensure-postgres.sh): {e}")
        });
    tokio::spawn(conn);
    client
}

/// Drops test databases made more than an hour ago.
async fn sweep(client: &Client) {
    let cutoff = unix_now().saturating_sub(3600) as i64;
    let Ok(rows) = client
        .query(
            // CASE: SQL does not promise to test the pattern before the cast.
            "SELECT datname FROM pg_database
             WHERE CASE WHEN datname ~ '^sessions_test_[0-9]{1,18}_'
                        THEN split_part(datname, '_', 3)::bigint < $1 ELSE false END",
            &[&cutoff],
        )
        .await
    else {
        return;
    };
    for row in rows {
        let name: String = row.get(0);
        // Another run may be dropping it too.
        let _ = client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime")
}
