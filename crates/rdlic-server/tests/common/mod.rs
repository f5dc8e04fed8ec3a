//! Test harness: a real license server on 127.0.0.1 with real TLS and a real store (a SQLite file in a temp dir,
//! or a fresh database on the PostgreSQL server of `RDLIC_TEST_PG_URL`).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use openssl::pkey::PKey;
use rdlic_core::{CalType, CalVersion, Clearinghouse, KeyPack, KeyPackId, LicenseProgram, ServerId};
use rdlic_api::client::{AdminClient, LicenseServerClient};
use rdlic_server::{RunningServer, ServerOptions};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh temp dir (removed at drop).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let p = std::env::temp_dir().join(format!("rdlic-server-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Which store a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// SQLite always; PostgreSQL too when `RDLIC_TEST_PG_URL` is set (scripts/test sets it). With
/// `RDLIC_REQUIRE_PEERS=1` a missing PostgreSQL is an error, not a skip.
pub fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::Sqlite];
    if std::env::var("RDLIC_TEST_PG_URL").is_ok() {
        v.push(Backend::Postgres);
    } else if std::env::var("RDLIC_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("RDLIC_REQUIRE_PEERS=1 but RDLIC_TEST_PG_URL is not set: run scripts/test");
    }
    v
}

/// A new empty database on the test PostgreSQL server; returns its URL.
pub fn fresh_pg_database() -> String {
    // The sync client runs its own runtime: keep it off the test's runtime threads.
    std::thread::spawn(fresh_pg_database_blocking).join().unwrap()
}

fn fresh_pg_database_blocking() -> String {
    let base = std::env::var("RDLIC_TEST_PG_URL").unwrap();
    let mut admin = postgres::Client::connect(&base, postgres::NoTls).unwrap();
    let mut id = [0u8; 6];
    openssl::rand::rand_bytes(&mut id).unwrap();
    let name = format!("rdlic_srv_{}", hex::encode(id));
    admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    format!("{prefix}/{name}")
}

/// The vendor side of a test.
pub struct Vendor {
    pub ch: Clearinghouse,
    pub pub_file: PathBuf,
}

impl Vendor {
    pub fn new(dir: &Path) -> Self {
        let ch = Clearinghouse::from_private_key(PKey::generate_ed25519().unwrap()).unwrap();
        let pub_file = dir.join("clearinghouse.pub");
        std::fs::write(&pub_file, ch.public_key().to_pem().unwrap()).unwrap();
        Self { ch, pub_file }
    }

    pub fn pack(&self, to: ServerId, cal_type: CalType, version: u16, count: u32) -> String {
        let mut id = [0u8; 16];
        openssl::rand::rand_bytes(&mut id).unwrap();
        let pack = KeyPack {
            id: KeyPackId(id),
            cal_type,
            version: CalVersion(version),
            program: LicenseProgram::RETAIL,
            count,
            issued_at: now(),
            expires_at: None,
            issued_to: to,
        };
        self.ch.issue_key_pack(pack).unwrap().to_text()
    }
}

pub fn now() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

/// One running server with its vendor and admin client.
pub struct Fixture {
    pub tmp: TempDir,
    pub data: PathBuf,
    pub server: RunningServer,
    pub vendor: Vendor,
    pub admin: AdminClient,
    pub backend: Backend,
    pub database: Option<String>,
}

impl Fixture {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut ServerOptions)) -> Self {
        let tmp = TempDir::new("fx");
        let data = tmp.0.join("data");
        let vendor = Vendor::new(&tmp.0);
        let mut opts = ServerOptions::new(data.clone());
        opts.clearinghouse_key = Some(vendor.pub_file.clone());
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(fresh_pg_database()),
        };
        opts.database = database.clone();
        tweak(&mut opts);
        let server = rdlic_server::start(opts).await.unwrap();
        let admin = AdminClient::from_data_dir(&data, None).unwrap();
        Self { tmp, data, server, vendor, admin, backend, database }
    }

    pub fn server_id(&self) -> ServerId {
        self.server.state.server_id()
    }

    pub fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(self.data.join("ca.crt")).unwrap()
    }

    /// Makes a token and enrolls a host named `name`; returns its client.
    pub async fn enroll(&self, name: &str) -> LicenseServerClient {
        let v = self.admin.post("/api/v1/admin/enroll-tokens", &serde_json::json!({})).await.unwrap();
        let token = v["token"].as_str().unwrap().to_owned();
        let dir = self.tmp.0.join(format!("host-{name}"));
        LicenseServerClient::enroll(&self.server.url, &token, name, &dir, Some(&self.ca_pem())).await.unwrap();
        LicenseServerClient::from_dir(&dir, None).unwrap()
    }

    pub async fn activate(&self) {
        let req = self.admin.get("/api/v1/admin/activation-request").await.unwrap();
        let pem = req["public_key_pem"].as_str().unwrap();
        let key = PKey::public_key_from_pem(pem.as_bytes()).unwrap();
        let cert = self.vendor.ch.activate(&key.public_key_to_der().unwrap(), now()).unwrap();
        let v = self
            .admin
            .post("/api/v1/admin/activate", &serde_json::json!({ "certificate": cert.to_text() }))
            .await
            .unwrap();
        assert_eq!(v["activated"], true);
    }

    pub async fn install(&self, pack_text: &str) -> Result<serde_json::Value, rdlic_api::ClientError> {
        self.admin.post("/api/v1/admin/keypacks", &serde_json::json!({ "pack": pack_text })).await
    }
}

pub fn ask(n: u32) -> rdlic_api::DeviceCalAsk {
    let mut hw = [0u8; 20];
    hw[..4].copy_from_slice(&0x0201_0000u32.to_le_bytes());
    hw[4..8].copy_from_slice(&n.to_le_bytes());
    rdlic_api::DeviceCalAsk {
        hardware_id: hw,
        client_machine: format!("PC{n}"),
        user: format!("user{n}"),
        platform_id: 0x0201_0000,
        host_version: 2022,
        presented_serial: None,
        request_id: None,
    }
}
