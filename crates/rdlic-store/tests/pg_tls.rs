//! TLS to PostgreSQL: the throwaway server of `scripts/pg-throwaway` runs with `ssl=on` and a certificate for
//! 127.0.0.1 signed by a throwaway CA (`RDLIC_TEST_PG_CA`); `RDLIC_TEST_PG_WRONG_CA` is another CA. Skipped with a
//! note when they are unset, failing when `RDLIC_REQUIRE_PEERS=1`.

#![allow(clippy::unwrap_used)]

use rdlic_store::{LicenseStore, PostgresStore, StoreError};

struct Env {
    url: String,
    ca: String,
    wrong_ca: String,
}

fn env() -> Option<Env> {
    let get = |k: &str| std::env::var(k).ok();
    match (get("RDLIC_TEST_PG_URL"), get("RDLIC_TEST_PG_CA"), get("RDLIC_TEST_PG_WRONG_CA")) {
        (Some(url), Some(ca), Some(wrong_ca)) => Some(Env { url, ca, wrong_ca }),
        _ => {
            assert!(
                std::env::var("RDLIC_REQUIRE_PEERS").as_deref() != Ok("1"),
                "RDLIC_REQUIRE_PEERS=1 but RDLIC_TEST_PG_URL / RDLIC_TEST_PG_CA / RDLIC_TEST_PG_WRONG_CA are unset: run scripts/test"
            );
            eprintln!("skipping: PostgreSQL with TLS needs scripts/pg-throwaway");
            None
        }
    }
}

fn with(url: &str, params: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{params}")
}

/// Whether the store's own connection is encrypted (PostgreSQL's view of it).
fn encrypted(store: &PostgresStore) -> bool {
    // The schema version read goes through the pool; pg_stat_ssl says whether that connection is TLS.
    store.schema_version().unwrap();
    store.connection_uses_tls().unwrap()
}

#[test]
fn sslmode_require_encrypts() {
    let Some(e) = env() else { return };
    let store = PostgresStore::connect(&with(&e.url, "sslmode=require"), 2).unwrap();
    assert!(encrypted(&store));
    let plain = PostgresStore::connect(&e.url, 2).unwrap();
    assert!(!encrypted(&plain), "without sslmode the connection stays plain, as before");
}

#[test]
fn verify_full_with_the_right_ca_connects() {
    let Some(e) = env() else { return };
    let store = PostgresStore::connect(&with(&e.url, &format!("sslmode=verify-full&sslrootcert={}", e.ca)), 2).unwrap();
    assert!(encrypted(&store));
    assert_eq!(store.backend_name(), "postgres");
}

#[test]
fn verify_full_with_a_wrong_ca_fails_clearly() {
    let Some(e) = env() else { return };
    let err = PostgresStore::connect(&with(&e.url, &format!("sslmode=verify-full&sslrootcert={}", e.wrong_ca)), 2)
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(text.contains("certificate") && text.contains("UnknownIssuer"), "a clear reason: {text}");
}

#[test]
fn verify_full_checks_the_host_name_and_verify_ca_does_not() {
    let Some(e) = env() else { return };
    let port = e.url.rsplit(':').next().unwrap().split('/').next().unwrap().to_owned();
    // Connect to 127.0.0.1 under a name that the certificate does not hold.
    let kv = |mode: &str| {
        format!("host=not-the-cert-name hostaddr=127.0.0.1 port={port} user=rdlic dbname=postgres sslmode={mode} sslrootcert={}", e.ca)
    };
    let err = PostgresStore::connect(&kv("verify-full"), 1).unwrap_err().to_string();
    assert!(err.contains("not valid for name \"not-the-cert-name\""), "{err}");
    let store = PostgresStore::connect(&kv("verify-ca"), 1).unwrap();
    assert!(encrypted(&store));
}

#[test]
fn the_password_never_appears_in_an_error() {
    let Some(e) = env() else { return };
    let url = e.url.replace("postgres://rdlic@", "postgres://rdlic:Sup3rSecret@");
    let bad_port = url.replace("/postgres", "/postgres?sslmode=bogus");
    let err = PostgresStore::connect(&bad_port, 1).unwrap_err().to_string();
    assert!(!err.contains("Sup3rSecret"), "{err}");
    assert!(err.contains("rdlic:***@"), "{err}");
    let err = rdlic_store::open_store(std::path::Path::new("/nonexistent"), Some("postgre://u:Sup3rSecret@h/db"))
        .unwrap_err()
        .to_string();
    assert!(!err.contains("Sup3rSecret"), "{err}");
    let err = PostgresStore::connect(&url.replace("postgres://", "postgres://x@y@"), 1).map(|_| ()).unwrap_err().to_string();
    assert!(!err.contains("Sup3rSecret"), "{err}");
}
