//! Schema migrations: a database written by the version-1 schema is migrated on open, keeping its data; a database
//! newer than this build is refused. Both backends.

#![allow(clippy::unwrap_used)]

mod common;

use common::{device_req, keys, Fx, NOW};
use rdlic_core::{CalType, ServerId, TokenHash};
use rdlic_store::{testing, CalSerial, LicenseStore, PostgresStore, SqliteStore, StoreError, SCHEMA_VERSION};

/// Fills a v1 database through the store API (every call used here only touches v1 columns).
fn fill_v1(store: Box<dyn LicenseStore>) -> (Vec<u8>, ServerId) {
    let (ch, server_pk) = keys();
    let fx = Fx {
        store,
        ch,
        server_id: ServerId::from_public_key_der(&server_pk),
        server_pk,
        dir: None,
        pg_db: None,
    };
    fx.store.init_server_identity(&fx.server_pk, NOW).unwrap();
    fx.activate();
    fx.install(1, CalType::PerDevice, 2022, 10);
    fx.store.request_device_cal(&device_req(1, 2022, NOW)).unwrap();
    fx.store
        .request_device_cal(&device_req(1, 2022, NOW + 1))
        .unwrap();
    // Enrollment needs hosts.last_contact (v2): at v1 it must fail, proving the database really is v1.
    let tok = TokenHash::of(b"t");
    fx.store
        .create_enrollment_token(&tok, None, NOW + 100, "admin", NOW)
        .unwrap();
    assert!(matches!(
        fx.store.enroll_host(&tok, "h", &[1; 32], NOW),
        Err(StoreError::Database(_))
    ));
    (fx.server_pk, fx.server_id)
}

fn check_migrated(store: &dyn LicenseStore, server_id: ServerId) {
    let state = store.server_state().unwrap().unwrap();
    assert_eq!(state.server_id, server_id);
    assert!(state.is_activated());
    let packs = store.list_key_packs(NOW + 2).unwrap();
    assert_eq!((packs.len(), packs[0].issued), (1, 1));
    let cals = store.list_device_cals(CalSerial(0), 10, true, NOW + 2).unwrap();
    assert_eq!(cals.len(), 1);
    // v2 features work on the migrated database.
    let h = store
        .enroll_host(&TokenHash::of(b"t"), "h", &[1; 32], NOW + 3)
        .unwrap();
    store.touch_host(h.id, NOW + 4).unwrap();
    assert_eq!(store.list_hosts().unwrap()[0].last_contact, Some(NOW + 4));
    store.measure_durable_inserts(3).unwrap();
}

#[test]
fn sqlite_v1_database_is_migrated_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let v1 = testing::sqlite_at_version(&path, 1).unwrap();
    assert_eq!(v1.schema_version().unwrap(), 1);
    let (_, id) = fill_v1(Box::new(v1));
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    check_migrated(&store, id);
    // Reopening a current database changes nothing.
    drop(store);
    assert_eq!(
        SqliteStore::open(&path).unwrap().schema_version().unwrap(),
        SCHEMA_VERSION
    );
}

#[test]
fn sqlite_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    drop(SqliteStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "INSERT INTO schema_version (version, applied_at) VALUES (99, 0)",
        [],
    )
    .unwrap();
    drop(conn);
    assert!(matches!(
        SqliteStore::open(&path),
        Err(StoreError::SchemaTooNew { found: 99, .. })
    ));
}

#[test]
fn postgres_v1_database_is_migrated_on_open() {
    let Some(config) = testing::fresh_postgres_config("migration") else {
        return;
    };
    let v1 = testing::postgres_at_version(config.clone(), 1).unwrap();
    assert_eq!(v1.schema_version().unwrap(), 1);
    let (_, id) = fill_v1(Box::new(v1));
    let store = PostgresStore::with_config(config.clone(), 2).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    check_migrated(&store, id);
    let mut c = config.connect(rdlic_store::postgres::NoTls).unwrap();
    c.execute(
        "INSERT INTO schema_version (version, applied_at) VALUES (99, 0)",
        &[],
    )
    .unwrap();
    assert!(matches!(
        PostgresStore::with_config(config, 1),
        Err(StoreError::SchemaTooNew { found: 99, .. })
    ));
}
