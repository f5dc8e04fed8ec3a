//! Fixtures shared by the store test binaries: a real clearinghouse key, a real server identity key, and a store on
//! either backend (SQLite in a temporary directory, PostgreSQL in a fresh database).

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use openssl::pkey::PKey;
use rdlic_core::{
    CalType, CalVersion, Clearinghouse, KeyPack, KeyPackId, LicenseProgram, ServerId, VerifiedKeyPack,
};
use rdlic_store::{postgres, testing, LicenseStore, SqliteStore};

/// A fixed "now" (2027-01-15): tests move time explicitly.
pub const NOW: i64 = 1_800_000_000;
pub const DAY: i64 = rdlic_core::DAY;

pub struct Fx {
    pub store: Box<dyn LicenseStore>,
    pub ch: Clearinghouse,
    pub server_pk: Vec<u8>,
    pub server_id: ServerId,
    pub dir: Option<tempfile::TempDir>,
    /// PostgreSQL database name (for child processes).
    pub pg_db: Option<String>,
}

pub fn keys() -> (Clearinghouse, Vec<u8>) {
    let ch = Clearinghouse::from_private_key(PKey::generate_ed25519().unwrap()).unwrap();
    let server = PKey::generate_ed25519().unwrap();
    (ch, server.public_key_to_der().unwrap())
}

pub fn sqlite_fx(_name: &str) -> Fx {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_in_dir(dir.path()).unwrap();
    let (ch, server_pk) = keys();
    let fx = Fx {
        store: Box::new(store),
        ch,
        server_id: ServerId::from_public_key_der(&server_pk),
        server_pk,
        dir: Some(dir),
        pg_db: None,
    };
    fx.store.init_server_identity(&fx.server_pk, NOW).unwrap();
    fx
}

pub fn pg_fx(name: &str, pool: usize) -> Option<Fx> {
    let config = testing::fresh_postgres_config(name)?;
    let db = config.get_dbname().map(str::to_owned);
    let store = rdlic_store::PostgresStore::with_config(config, pool).unwrap();
    let (ch, server_pk) = keys();
    let fx = Fx {
        store: Box::new(store),
        ch,
        server_id: ServerId::from_public_key_der(&server_pk),
        server_pk,
        dir: None,
        pg_db: db,
    };
    fx.store.init_server_identity(&fx.server_pk, NOW).unwrap();
    Some(fx)
}

impl Fx {
    pub fn pack_for(
        &self,
        to: ServerId,
        id: u8,
        cal_type: CalType,
        version: u16,
        count: u32,
    ) -> VerifiedKeyPack {
        self.pack_with(to, id, cal_type, version, count, None)
    }

    pub fn pack_with(
        &self,
        to: ServerId,
        id: u8,
        cal_type: CalType,
        version: u16,
        count: u32,
        expires_at: Option<i64>,
    ) -> VerifiedKeyPack {
        let pack = KeyPack {
            id: KeyPackId([id; 16]),
            cal_type,
            version: CalVersion(version),
            program: LicenseProgram::VOLUME,
            count,
            issued_at: NOW - DAY,
            expires_at,
            issued_to: to,
        };
        let signed = self.ch.issue_key_pack(pack).unwrap();
        self.ch.public_key().verify_key_pack(&signed, to, NOW).unwrap()
    }

    /// Installs a pack for this server.
    pub fn install(&self, id: u8, cal_type: CalType, version: u16, count: u32) {
        let p = self.pack_for(self.server_id, id, cal_type, version, count);
        self.store.install_key_pack(&p, "test", NOW).unwrap();
    }

    /// Makes the database refuse (raise an error on) a device row with this client name: a request that fails.
    pub fn poison_client_name(&self, name: &str) {
        self.poison("devices", "client_name", name);
    }

    /// Same for a per-user CAL row with this user name.
    pub fn poison_user_name(&self, name: &str) {
        self.poison("user_cals", "user_name", name);
    }

    fn poison(&self, table: &str, column: &str, value: &str) {
        if let Some(dir) = &self.dir {
            let conn = rusqlite::Connection::open(dir.path().join("rdlic.db")).unwrap();
            conn.execute_batch(&format!(
                "CREATE TRIGGER poison_{table} BEFORE INSERT ON {table} WHEN NEW.{column} = '{value}' \
                 BEGIN SELECT RAISE(ABORT, 'poisoned'); END;"
            ))
            .unwrap();
        } else {
            let url = std::env::var(testing::PG_URL_ENV).unwrap();
            let mut config: postgres::Config = url.parse().unwrap();
            config.dbname(self.pg_db.as_deref().unwrap());
            let mut client = config.connect(postgres::NoTls).unwrap();
            client
                .batch_execute(&format!(
                    "CREATE FUNCTION poison_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                     IF NEW.{column} = '{value}' THEN RAISE EXCEPTION 'poisoned'; END IF; RETURN NEW; END $$; \
                     CREATE TRIGGER poison_{table} BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION poison_{table}();"
                ))
                .unwrap();
        }
    }

    pub fn activate(&self) {
        let cert = self.ch.activate(&self.server_pk, NOW).unwrap();
        let verified = self
            .ch
            .public_key()
            .verify_activation(&cert, &self.server_pk)
            .unwrap();
        self.store.activate(&verified, "test", NOW).unwrap();
    }
}

pub fn hwid(n: u32) -> rdlic_core::HardwareId {
    let mut id = [0u8; 20];
    id[..4].copy_from_slice(&2u32.to_le_bytes());
    id[4..8].copy_from_slice(&n.to_le_bytes());
    rdlic_core::HardwareId(id)
}

pub fn device_req(n: u32, host_version: u16, now: i64) -> rdlic_store::DeviceCalRequest {
    rdlic_store::DeviceCalRequest {
        hardware_id: hwid(n),
        client_name: format!("client-{n}"),
        user_name: format!("user{n}"),
        host_name: "host-a".to_owned(),
        host_version: CalVersion(host_version),
        now,
        random: u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15),
    }
}
