//! Test support shared by this crate's suite and by the crates built on it (the server's tests): fresh databases
//! on both backends, and stores at an old schema version for migration tests.
//!
//! PostgreSQL comes from `RDLIC_TEST_PG_URL` (e.g. `postgres://rdlic@127.0.0.1:5433/postgres`, as exported by
//! `scripts/pg-throwaway`); every call of [`fresh_postgres`] creates a new database with `CREATE DATABASE`, so tests
//! never see each other's rows. When the variable is unset, [`fresh_postgres`] returns `None` after printing a skip
//! note — or panics when `RDLIC_REQUIRE_PEERS=1`, so CI cannot pass by skipping.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::{PostgresStore, SqliteStore, StoreError};

/// Environment variable holding the PostgreSQL URL for tests.
pub const PG_URL_ENV: &str = "RDLIC_TEST_PG_URL";
/// Environment variable that turns a missing peer into a failure.
pub const REQUIRE_PEERS_ENV: &str = "RDLIC_REQUIRE_PEERS";

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A new, empty PostgreSQL database's connection configuration, or `None` (skip) when no server is configured.
///
/// # Panics
/// When `RDLIC_TEST_PG_URL` is unset and `RDLIC_REQUIRE_PEERS=1`, or when the server refuses `CREATE DATABASE`.
pub fn fresh_postgres_config(test_name: &str) -> Option<postgres::Config> {
    let Ok(url) = std::env::var(PG_URL_ENV) else {
        if std::env::var(REQUIRE_PEERS_ENV).is_ok_and(|v| v == "1") {
            panic!("{PG_URL_ENV} is unset and {REQUIRE_PEERS_ENV}=1: the PostgreSQL store tests must run");
        }
        eprintln!("skipping PostgreSQL test {test_name}: {PG_URL_ENV} is unset (run ./scripts/test)");
        return None;
    };
    let base: postgres::Config = url
        .parse()
        .unwrap_or_else(|e| panic!("bad {PG_URL_ENV} {url:?}: {e}"));
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let clean: String = test_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let short: String = clean.chars().take(30).collect();
    let name = format!("rdlic_{short}_{}_{n}_{nanos}", std::process::id());
    Some(
        crate::pg::create_database(&base, &name)
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name} on {url} failed: {e}")),
    )
}

/// A [`PostgresStore`] on a fresh database (see [`fresh_postgres_config`]).
pub fn fresh_postgres(test_name: &str, pool_size: usize) -> Option<PostgresStore> {
    let config = fresh_postgres_config(test_name)?;
    Some(
        PostgresStore::with_config(config, pool_size)
            .unwrap_or_else(|e| panic!("open PostgreSQL store: {e}")),
    )
}

/// Opens a SQLite file migrated only up to `version` (to build databases of an older release).
pub fn sqlite_at_version(path: &Path, version: i64) -> Result<SqliteStore, StoreError> {
    SqliteStore::open_at_version(path, version)
}

/// Opens a PostgreSQL database migrated only up to `version`.
pub fn postgres_at_version(config: postgres::Config, version: i64) -> Result<PostgresStore, StoreError> {
    PostgresStore::with_config_at_version(config, 4, version)
}
