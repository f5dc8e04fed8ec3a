//! rdlic license store: one [`LicenseStore`] trait, two backends.
//!
//! - [`SqliteStore`]: the embedded default, one file (`rdlic.db`) under the data directory, WAL journal,
//!   `synchronous=FULL`.
//! - [`PostgresStore`]: a PostgreSQL database given by URL; several license servers (front ends sharing one
//!   license-server identity) may use the same database.
//!
//! # Synchronous by design
//! The trait is synchronous: every method runs one short database transaction and returns after it committed. An
//! async server calls it from `tokio::task::spawn_blocking` (both backends hold their own connection pools and are
//! `Send + Sync`; share one store behind an `Arc<dyn LicenseStore>`). This keeps transactions free of `.await`
//! points and lets the same test suite drive both backends from plain threads.
//!
//! # Invariants held by the database, not by process memory
//! - Never more permanent CALs issued than installed: the issuance reads and updates the pack's `issued` counter
//!   inside the transaction (SQLite: `BEGIN IMMEDIATE`, one writer at a time across processes; PostgreSQL: the
//!   candidate pack rows are locked with `SELECT ... FOR UPDATE` in id order), and a `CHECK (issued <= count)`
//!   constraint on `key_packs` rejects any write that would break it even if the code were wrong.
//! - Durability: a method that issues a CAL returns only after `COMMIT` succeeded. SQLite runs WAL with
//!   `synchronous=FULL`, so the WAL is fsynced at every commit (NORMAL would survive a process crash but could lose
//!   the last commits on power loss, and the host may already hold that CAL); PostgreSQL commits with its default
//!   `synchronous_commit=on`.
//! - Serials are monotonic and never reused (SQLite `AUTOINCREMENT`, PostgreSQL identity sequence).
//! - Expired CALs return to the pool lazily: when an issuance finds a pack full it first marks that pack's expired
//!   CALs `expired` (same transaction), so the cost of a request does not grow with the number of CALs ever issued.
//!
//! # Throughput: group commit and read-only answers
//! - A request that changes nothing (the device's CAL is valid and needs no renewal, the user signed in on the same
//!   host within [`LAST_SEEN_PRECISION`]) is answered by a read transaction: no lock, no fsync.
//! - SQLite: concurrent [`LicenseStore::request_device_cal`] / [`LicenseStore::checkout_user_cal`] calls are
//!   group-committed — the first caller to find the queue idle runs every queued request in one transaction (one
//!   SAVEPOINT each, so a failing request does not undo the others) and commits once; every caller returns after
//!   the COMMIT holding its request. Calling these from many threads (`spawn_blocking`) is therefore enough; an
//!   explicit batch ([`LicenseStore::request_device_cals`], all-or-nothing) is also available.
//! - PostgreSQL: each request is its own transaction on a pooled connection; PostgreSQL shares WAL flushes between
//!   concurrent commits. Permanent issuances from one pack serialize on the pack row (one per WAL flush), which
//!   [`LicenseStore::request_device_cals`] batches amortize. A batch ([`LicenseStore::request_device_cals`],
//!   [`LicenseStore::checkout_user_cals`]) runs as a few multi-row statements over array parameters (`bulk.rs`),
//!   since every statement is a network round trip: new devices, devices that need nothing and refusals cost three
//!   statements for the whole batch; a batch of per-user sign-ins that change nothing is one read statement
//!   outside any transaction block. What involves a key pack runs request by request inside the same transaction.
//!
//! # Audit
//! Every issuance, renewal, revocation, activation, pack install, token creation and host enrollment writes an
//! [`AuditEntry`] in the same transaction as the change it records.

mod backend;
mod bulk;
pub mod cluster;
mod db;
mod logic;
pub mod pg;
pub mod pgtls;
mod reports;
mod schema;
pub mod sqlite;
pub mod testing;

use core::fmt;
use std::time::Duration;

pub use rdlic_core;
use rdlic_core::policy::DeviceCalKind;
use rdlic_core::{
    ActivationCertificate, CalType, CalVersion, DeviceRefusal, HardwareId, KeyPackId, RevokeRefusal,
    ServerId, SignedKeyPack, TokenHash, UserRefusal, VerifiedActivation, VerifiedKeyPack,
};

pub use crate::cluster::{RequestId, ServerNode, REQUEST_RETENTION};
pub use crate::pg::{PostgresStore, ScratchDatabase, DEFAULT_POOL_SIZE};
pub use crate::reports::{
    HostReport, ReportedFinding, ReportedFix, ReportedGrace, ReportedRefusal, MAX_REFUSALS,
};
pub use crate::pgtls::redact as redact_database_url;
pub use crate::sqlite::SqliteStore;
/// The PostgreSQL client crate (for [`PostgresStore::with_config`] and [`testing`]).
pub use ::postgres;

/// `devices.last_seen` and `user_cals.last_seen` are kept to this precision (seconds): a request that changes
/// nothing else and comes within this time of the last recorded sighting writes nothing, so the common "the client
/// already holds a valid CAL" answer is a plain read on both backends (no lock, no fsync).
pub const LAST_SEEN_PRECISION: i64 = 3600;

/// Latest schema version this build writes (see `schema_version` table).
pub const SCHEMA_VERSION: i64 = schema::LATEST;

/// The license server's persistent state. All methods are blocking; see the crate docs.
pub trait LicenseStore: Send + Sync + fmt::Debug {
    // ---- identity and activation ----

    /// The server identity and activation state, `None` before [`LicenseStore::init_server_identity`].
    fn server_state(&self) -> Result<Option<ServerState>, StoreError>;

    /// Records the license server identity (its public key; the id is derived from it). Idempotent for the same
    /// key; refused with [`StoreError::IdentityMismatch`] if another key is already recorded (the private key file
    /// and the database belong together).
    fn init_server_identity(&self, public_key_der: &[u8], now: i64) -> Result<ServerState, StoreError>;

    /// Stores a verified activation certificate: the server is activated from now on. Audited.
    fn activate(
        &self,
        activation: &VerifiedActivation,
        actor: &str,
        now: i64,
    ) -> Result<ServerState, StoreError>;

    /// Forgets the activation (KB 814593 deactivation): only temporary per-device CALs from now on. Audited.
    fn deactivate(&self, actor: &str, now: i64) -> Result<ServerState, StoreError>;

    // ---- key packs ----

    /// Installs a verified key pack. Installing the same pack (same id and signature) again changes nothing and
    /// returns [`InstallOutcome::AlreadyInstalled`]; the same id with another signature is
    /// [`StoreError::PackConflict`]. Audited.
    fn install_key_pack(
        &self,
        pack: &VerifiedKeyPack,
        actor: &str,
        now: i64,
    ) -> Result<InstallOutcome, StoreError>;

    /// Every installed pack with its issued / available counts, ordered by (type, version, id).
    fn list_key_packs(&self, now: i64) -> Result<Vec<InstalledKeyPack>, StoreError>;

    /// CALs installed / issued / available per (type, version) — the status endpoint and the diagnoser.
    fn availability(&self, now: i64) -> Result<Vec<Availability>, StoreError>;

    // ---- per-device ----

    /// One per-device request from a session host (temporary at first request, permanent upgrade, renewal), in one
    /// committed transaction. A refusal is `Ok(DeviceCalOutcome::Refused(..))`; `Err` is a storage failure and
    /// nothing was written.
    fn request_device_cal(&self, request: &DeviceCalRequest) -> Result<DeviceCalOutcome, StoreError>;

    /// Several requests in ONE transaction (group commit: one fsync for the batch). Outcomes are in request order;
    /// each request sees the effects of the ones before it. Either all are committed or none.
    fn request_device_cals(&self, requests: &[DeviceCalRequest])
        -> Result<Vec<DeviceCalOutcome>, StoreError>;

    /// [`LicenseStore::request_device_cals`], with `decided` called with the outcomes as soon as they are known
    /// inside the transaction, before its COMMIT (the durable write), so the caller can prepare its answers (sign
    /// the CALs) while the commit is written. Nothing may be answered before this returns `Ok`: only the returned
    /// outcomes are committed. `decided` may be called again when a backend retries the transaction.
    fn request_device_cals_early(
        &self,
        requests: &[DeviceCalRequest],
        decided: &mut dyn FnMut(&[DeviceCalOutcome]),
    ) -> Result<Vec<DeviceCalOutcome>, StoreError> {
        let outcomes = self.request_device_cals(requests)?;
        decided(&outcomes);
        Ok(outcomes)
    }

    /// Several requests in one transaction, each isolated: a request that fails (a storage error that is not a
    /// conflict) is rolled back alone (SQLite: a SAVEPOINT per request) and answered with its error, and the others
    /// commit — so that one bad request of one host does not fail the requests of other hosts that share its group
    /// commit. `decided` is called as in [`LicenseStore::request_device_cals_early`]. `Err` when the transaction as
    /// a whole failed (database unavailable, conflicts after every retry).
    fn request_device_cals_each(
        &self,
        requests: &[DeviceCalRequest],
        decided: &mut dyn FnMut(&[EachOutcome<DeviceCalOutcome>]),
    ) -> Result<Vec<EachOutcome<DeviceCalOutcome>>, StoreError>;

    /// Retention: deletes at most `limit` temporary per-device CALs that expired before `expired_before` (each
    /// deletion audited as [`AuditKind::CAL_PURGE`] by `actor`), and the device rows left with no CAL and not seen
    /// since then. Returns how many CALs were deleted (call again while it returns `limit`).
    fn purge_expired_temporary_cals(
        &self,
        expired_before: i64,
        limit: u32,
        actor: &str,
        now: i64,
    ) -> Result<u32, StoreError>;

    /// The CAL with this serial, whatever its status.
    fn device_cal_by_serial(&self, serial: CalSerial) -> Result<Option<DeviceCal>, StoreError>;

    /// All CALs of a device (every status), newest first.
    fn device_cals_by_hardware_id(&self, hardware_id: &HardwareId) -> Result<Vec<DeviceCal>, StoreError>;

    /// The per-device report: CALs with serial > `after`, at most `limit`, ordered by serial (page with the last
    /// serial returned). `active_only` keeps `status = active` CALs not expired at `now`.
    fn list_device_cals(
        &self,
        after: CalSerial,
        limit: u32,
        active_only: bool,
        now: i64,
    ) -> Result<Vec<DeviceCal>, StoreError>;

    /// [rds-facts §2.2] Revokes a permanent per-device CAL: its pack slot is free at once; the revoked CAL counts
    /// against max(1, 20 %) of its version until its original expiry. A policy refusal is
    /// `Ok(RevokeOutcome::Refused(..))` and says when the next revocation becomes possible. Audited.
    fn revoke_device_cal(
        &self,
        serial: CalSerial,
        actor: &str,
        now: i64,
    ) -> Result<RevokeOutcome, StoreError>;

    // ---- per-user ----

    /// A per-user checkout / refresh (sign-in of `user` on a host). Over-allocation is allowed and flagged unless
    /// `request.enforce`. Audited when a CAL is allocated or refreshed (not on a plain sign-in record).
    fn checkout_user_cal(&self, request: &UserCalRequest) -> Result<UserCalOutcome, StoreError>;

    /// Several per-user checkouts in one transaction (group commit), in request order. A batch in which no checkout
    /// writes anything may be answered by a single read instead (PostgreSQL).
    fn checkout_user_cals(&self, requests: &[UserCalRequest]) -> Result<Vec<UserCalOutcome>, StoreError>;

    /// [`LicenseStore::checkout_user_cals`] with each checkout isolated (see
    /// [`LicenseStore::request_device_cals_each`]).
    fn checkout_user_cals_each(&self, requests: &[UserCalRequest]) -> Result<Vec<EachOutcome<UserCalOutcome>>, StoreError>;

    /// The per-user report: users whose CAL has not expired at `now`, ordered by user name.
    fn per_user_report(&self, now: i64) -> Result<Vec<UserCal>, StoreError>;

    // ---- enrolled session hosts ----

    /// Stores a one-time enrollment token (its hash) valid until `expires_at`, optionally bound to a host name.
    /// Audited.
    fn create_enrollment_token(
        &self,
        token: &TokenHash,
        host_name: Option<&str>,
        expires_at: i64,
        actor: &str,
        now: i64,
    ) -> Result<(), StoreError>;

    /// Consumes the token and records the host with its client-certificate fingerprint (SHA-256 of the DER), in one
    /// transaction: a token enrolls at most one host. Unknown / used / expired tokens and a name other than the
    /// one the token is bound to are refused with distinct errors. Audited.
    fn enroll_host(
        &self,
        token: &TokenHash,
        name: &str,
        cert_fingerprint: &[u8; 32],
        now: i64,
    ) -> Result<EnrolledHost, StoreError>;

    /// The host presenting this client certificate (revoked hosts included: check [`EnrolledHost::revoked`]).
    fn host_by_fingerprint(&self, cert_fingerprint: &[u8; 32]) -> Result<Option<EnrolledHost>, StoreError>;

    /// Every enrolled host, by id.
    fn list_hosts(&self) -> Result<Vec<EnrolledHost>, StoreError>;

    /// Records the renewed client certificate of host `id` (SHA-256 `cert_fingerprint`, valid until `expires_at`):
    /// [`LicenseStore::host_by_fingerprint`] finds the host by it from now on, and by its earlier certificates until
    /// they expire. Audited.
    fn add_host_certificate(
        &self,
        id: HostId,
        cert_fingerprint: &[u8; 32],
        expires_at: i64,
        now: i64,
    ) -> Result<EnrolledHost, StoreError>;

    /// Marks a host revoked (its certificate is refused from now on). Audited.
    fn revoke_host(&self, id: HostId, actor: &str, now: i64) -> Result<EnrolledHost, StoreError>;

    /// Records the last contact of a host (not audited).
    fn touch_host(&self, id: HostId, now: i64) -> Result<(), StoreError>;

    // ---- audit ----

    /// Audit entries with id > `after`, at most `limit`, oldest first.
    fn audit_log(&self, after: i64, limit: u32) -> Result<Vec<AuditEntry>, StoreError>;

    /// Appends an entry for an event the store does not see itself (admin login, configuration change...).
    fn record_audit(
        &self,
        kind: AuditKind,
        actor: &str,
        subject: &str,
        detail: &str,
        now: i64,
    ) -> Result<(), StoreError>;

    // ---- benchmark hook ----

    /// The floor for the server benchmark: inserts `rows` rows into `bench_rows`, one durable transaction each,
    /// sequentially on this thread, and returns the elapsed time (call it from N threads for a concurrent figure).
    fn measure_durable_inserts(&self, rows: u32) -> Result<Duration, StoreError>;

    /// Which backend, for logs and `/metrics` (`sqlite` / `postgres`).
    fn backend_name(&self) -> &'static str;

    // ---- host reports and admin settings (schema version 3) ----

    /// Records a host's report: replaces its previous report and findings, appends its `refusals` (their `id`,
    /// `host_id` and `received_at` are set by the store), and drops the oldest refusals beyond [`MAX_REFUSALS`].
    /// One transaction; [`StoreError::NoSuchHost`] for an unknown host.
    fn record_host_report(
        &self,
        report: &HostReport,
        host_name: &str,
        refusals: &[ReportedRefusal],
    ) -> Result<(), StoreError>;

    /// The latest report of every host that reported, by host id, with its findings.
    fn host_reports(&self) -> Result<Vec<HostReport>, StoreError>;

    /// Refusals with id > `after`, at most `limit`, newest first.
    fn recent_refusals(&self, after: i64, limit: u32) -> Result<Vec<ReportedRefusal>, StoreError>;

    /// Sets the admin password hash (a PHC-style string made by the server; never the password). Audited.
    fn set_admin_password_hash(&self, hash: &str, actor: &str, now: i64) -> Result<(), StoreError>;

    /// The admin password hash, `None` when no password was set.
    fn admin_password_hash(&self) -> Result<Option<String>, StoreError>;

    // ---- several servers on one database (schema version 5, `cluster.rs`) ----

    /// [`LicenseStore::request_device_cals_each`] (each request isolated) with a session host's request id per request (`ids[i]` for
    /// `requests[i]`, same length): a request whose id was already answered with a CAL that is still active gets
    /// that CAL back (action `Unchanged`) without being decided again, and every granted request with an id is
    /// recorded (`server` names the server that answered) in the same transaction as its CAL.
    fn request_device_cals_idempotent(
        &self,
        requests: &[DeviceCalRequest],
        ids: &[Option<RequestId>],
        server: &str,
        decided: &mut dyn FnMut(&[EachOutcome<DeviceCalOutcome>]),
    ) -> Result<Vec<EachOutcome<DeviceCalOutcome>>, StoreError>;

    /// Records a server start (replacing the row of the same id).
    fn register_server(&self, node: &ServerNode) -> Result<(), StoreError>;

    /// Records a heartbeat; `false` when the server has no row (it was removed: register again).
    fn server_heartbeat(&self, id: &str, now: i64) -> Result<bool, StoreError>;

    /// Records a clean stop.
    fn server_stopped(&self, id: &str, now: i64) -> Result<(), StoreError>;

    /// Removes a server from the list; `false` when unknown.
    fn forget_server(&self, id: &str) -> Result<bool, StoreError>;

    /// Every server that shares this database, by id.
    fn list_servers(&self) -> Result<Vec<ServerNode>, StoreError>;

    /// Forgets request ids recorded before `before` (see [`REQUEST_RETENTION`]); returns how many.
    fn purge_cal_requests(&self, before: i64) -> Result<u64, StoreError>;

    /// Stores a web sign-in (SHA-256 of its token) valid until `expires_at`.
    fn create_admin_session(&self, token_hash: &[u8; 32], now: i64, expires_at: i64) -> Result<(), StoreError>;

    /// The expiry of a web sign-in, `None` when unknown.
    fn admin_session_expiry(&self, token_hash: &[u8; 32]) -> Result<Option<i64>, StoreError>;

    /// Ends a web sign-in.
    fn end_admin_session(&self, token_hash: &[u8; 32]) -> Result<(), StoreError>;
}

/// Opens the store: `database_url` `postgres://...` / `postgresql://...` selects PostgreSQL, `sqlite://PATH` a
/// SQLite file, and `None` the default `DATA_DIR/rdlic.db`. The schema is created or migrated on open.
pub fn open_store(
    data_dir: &std::path::Path,
    database_url: Option<&str>,
) -> Result<Box<dyn LicenseStore>, StoreError> {
    match database_url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(Box::new(PostgresStore::connect(url, DEFAULT_POOL_SIZE)?))
        }
        Some(url) => match url.strip_prefix("sqlite://") {
            Some(path) => Ok(Box::new(SqliteStore::open(std::path::Path::new(path))?)),
            None => Err(StoreError::BadUrl(pgtls::redact(url))),
        },
        None => Ok(Box::new(SqliteStore::open_in_dir(data_dir)?)),
    }
}

/// The outcome of one request of an isolated batch ([`LicenseStore::request_device_cals_each`]): its error is
/// given as text (the request was rolled back alone).
pub type EachOutcome<T> = Result<T, String>;

/// A storage failure. Policy refusals are not errors: they are outcomes ([`DeviceCalOutcome::Refused`] ...).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database cannot be reached or is busy beyond the timeout: retry later (HTTP 503). Nothing was written.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database refused an operation. Nothing was written.
    #[error("database error: {0}")]
    Database(String),
    /// Concurrent transactions kept conflicting (PostgreSQL deadlock / serialization failure / racing first
    /// requests) after every retry: retry later (HTTP 503). Nothing was written.
    #[error("database conflict after retries: {0}")]
    Conflict(String),
    /// A stored value does not decode (manual edit or a newer rdlic wrote it).
    #[error("corrupt value in table {table}: {detail}")]
    Corrupt {
        /// Table.
        table: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// The database schema is newer than this build.
    #[error(
        "database schema version {found} is newer than this rdlic supports ({supported}): upgrade rdlic"
    )]
    SchemaTooNew {
        /// Version in the database.
        found: i64,
        /// [`SCHEMA_VERSION`].
        supported: i64,
    },
    /// `--database` is neither `postgres://` nor `sqlite://`.
    #[error("unsupported database url {0:?}: use postgres://USER@HOST/DB or sqlite://PATH")]
    BadUrl(String),
    /// No server identity recorded yet.
    #[error(
        "the license server identity is not initialised: run `rdlic server run` once or `rdlic activate`"
    )]
    NoIdentity,
    /// Another key is recorded.
    #[error("the database belongs to license server {recorded}, not to the key given ({given}): use the matching key file or another database")]
    IdentityMismatch {
        /// Id in the database.
        recorded: ServerId,
        /// Id of the key given.
        given: ServerId,
    },
    /// Same pack id, different content.
    #[error(
        "key pack {id} is already installed with a different signature: the file was altered or reissued"
    )]
    PackConflict {
        /// Pack id.
        id: KeyPackId,
    },
    /// No such CAL.
    #[error("no CAL with serial {0}")]
    NoSuchCal(CalSerial),
    /// No such host.
    #[error("no enrolled host with id {0}")]
    NoSuchHost(HostId),
    /// Token not found.
    #[error("unknown enrollment token: create one with `rdlic host enroll`")]
    TokenUnknown,
    /// Token already consumed.
    #[error("enrollment token already used: create a new one with `rdlic host enroll`")]
    TokenUsed,
    /// Token expired.
    #[error(
        "enrollment token expired at {expired_at} (unix time): create a new one with `rdlic host enroll`"
    )]
    TokenExpired {
        /// Unix seconds.
        expired_at: i64,
    },
    /// The token is bound to another host name.
    #[error("enrollment token is for host {expected:?}, not {given:?}")]
    TokenHostMismatch {
        /// Name bound to the token.
        expected: String,
        /// Name given.
        given: String,
    },
    /// A host with this certificate already exists.
    #[error("a host with this certificate is already enrolled")]
    DuplicateHost,
    /// Filesystem error opening the SQLite file.
    #[error("cannot open database file {path}: {detail}")]
    Io {
        /// Path.
        path: String,
        /// Error.
        detail: String,
    },
}

/// Monotonic CAL serial (database-assigned, never reused). Also the serial number of the CAL certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CalSerial(pub i64);

impl fmt::Display for CalSerial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Id of an enrolled session host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostId(pub i64);

impl fmt::Display for HostId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Identity and activation of the license server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerState {
    /// Derived from `public_key_der`.
    pub server_id: ServerId,
    /// DER SubjectPublicKeyInfo of the identity key (the private key lives in a 0600 file, not here).
    pub public_key_der: Vec<u8>,
    /// When the identity was recorded.
    pub created_at: i64,
    /// The activation certificate, `None` when not activated.
    pub activation: Option<ActivationCertificate>,
    /// When it was stored.
    pub activated_at: Option<i64>,
}

impl ServerState {
    /// Activated?
    pub fn is_activated(&self) -> bool {
        self.activation.is_some()
    }
}

/// Result of [`LicenseStore::install_key_pack`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallOutcome {
    /// Newly installed.
    Installed,
    /// Exactly this pack was installed before: nothing added.
    AlreadyInstalled,
}

/// An installed pack and its usage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledKeyPack {
    /// The pack as installed (with its signature).
    pub signed: SignedKeyPack,
    /// Unix seconds.
    pub installed_at: i64,
    /// CALs currently issued from it (permanent per-device CALs or per-user slots not expired as of the last
    /// reclaim; CALs expired since then are counted until the next issuance from this pack reclaims them, so
    /// `issued` may be an over-estimate, never an under-estimate).
    pub issued: u32,
    /// `count - issued` (0 when the pack expired).
    pub available: u32,
}

/// Installed / issued / available for one (CAL type, version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Availability {
    /// Per device / per user.
    pub cal_type: CalType,
    /// CAL version.
    pub version: CalVersion,
    /// Sum of the counts of packs valid at `now`.
    pub installed: u32,
    /// CALs taken from those packs and not expired at `now`.
    pub issued: u32,
    /// `installed - issued`.
    pub available: u32,
    /// Per-user CALs issued beyond the pool (always 0 for per device).
    pub over_allocated: u32,
}

/// A per-device request as the session host forwards it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCalRequest {
    /// [MS-RDPELE 2.2.2.3.1] client hardware id.
    pub hardware_id: HardwareId,
    /// Client machine name (CLIENT_MACHINE_NAME).
    pub client_name: String,
    /// Client user name (CLIENT_USER_NAME), for the report.
    pub user_name: String,
    /// Enrolled host name that asked.
    pub host_name: String,
    /// Version of the session host; the CAL must serve it.
    pub host_version: CalVersion,
    /// Unix seconds.
    pub now: i64,
    /// Random value for the 52–89-day validity of a permanent CAL (ignored otherwise).
    pub random: u64,
}

/// Status of a stored per-device CAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CalStatus {
    /// Current (may be past `expires_at`: see [`DeviceCal::is_valid_at`]).
    Active,
    /// Replaced by a newer CAL of the same device (upgrade or renewal: `replaces` of the new one points here).
    Superseded,
    /// Revoked by an administrator.
    Revoked,
    /// Expired un-renewed; its pack slot went back to the pool.
    Expired,
}

impl CalStatus {
    /// Stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Superseded => "superseded",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }

    /// Inverse of [`CalStatus::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Active, Self::Superseded, Self::Revoked, Self::Expired]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// A stored per-device CAL (a row of the per-device report).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCal {
    /// Serial (also the CAL certificate serial).
    pub serial: CalSerial,
    /// Device.
    pub hardware_id: HardwareId,
    /// Client machine name at issuance.
    pub client_name: String,
    /// Client user name at issuance.
    pub user_name: String,
    /// Host that asked.
    pub host_name: String,
    /// Temporary / permanent.
    pub kind: DeviceCalKind,
    /// CAL version (the pack's version for a permanent CAL, the host's for a temporary one).
    pub version: CalVersion,
    /// Pack the permanent CAL was taken from.
    pub pack: Option<KeyPackId>,
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// Status.
    pub status: CalStatus,
    /// When the status last changed (revocation, supersession, expiry reclaim).
    pub status_at: Option<i64>,
    /// The CAL this one replaced (upgrade from temporary, renewal).
    pub replaces: Option<CalSerial>,
}

impl DeviceCal {
    /// Active and not expired.
    pub fn is_valid_at(&self, now: i64) -> bool {
        self.status == CalStatus::Active && now < self.expires_at
    }
}

/// What a per-device request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceAction {
    /// First request: a temporary CAL.
    IssuedTemporary,
    /// A permanent CAL replaced the temporary one (or an expired permanent one, or one of an expired pack).
    IssuedPermanent,
    /// The permanent CAL got a new expiry (and a new serial) in the same pack slot.
    Renewed,
    /// Nothing changed: the current CAL is returned.
    Unchanged,
}

/// Result of a per-device request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceCalOutcome {
    /// The CAL to give the client (committed).
    Granted {
        /// The current CAL.
        cal: DeviceCal,
        /// What changed.
        action: DeviceAction,
    },
    /// No CAL; the reason says what to do.
    Refused(DeviceRefusal),
}

/// Result of [`LicenseStore::revoke_device_cal`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeOutcome {
    /// Revoked; its slot is free.
    Revoked(DeviceCal),
    /// Refused by policy (limit reached: `next_allowed_at`; not permanent; not active).
    Refused(RevokeRefusal),
}

/// A per-user sign-in as the host forwards it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCalRequest {
    /// User name (DOMAIN\user or UPN).
    pub user: String,
    /// Enrolled host name.
    pub host_name: String,
    /// Host version.
    pub host_version: CalVersion,
    /// Unix seconds.
    pub now: i64,
    /// Refuse over-allocation (operator setting; Windows does not enforce).
    pub enforce: bool,
}

/// A tracked per-user CAL (a row of the per-user report).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCal {
    /// User name.
    pub user: String,
    /// CAL version.
    pub version: CalVersion,
    /// Pack slot held (`None` when over-allocated).
    pub pack: Option<KeyPackId>,
    /// Host of the last sign-in.
    pub last_host: String,
    /// Unix seconds.
    pub first_seen: i64,
    /// Unix seconds.
    pub last_seen: i64,
    /// Unix seconds (60 days after issue or last refresh).
    pub expires_at: i64,
    /// Issued beyond the installed per-user CALs.
    pub over_allocated: bool,
}

/// What a per-user checkout did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserAction {
    /// A CAL was allocated (from the pool, or over-allocated).
    Allocated,
    /// Expiry extended by 60 days.
    Refreshed,
    /// Sign-in recorded only.
    Touched,
}

/// Result of a per-user checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserCalOutcome {
    /// Granted (check `cal.over_allocated`).
    Granted {
        /// The user's CAL.
        cal: UserCal,
        /// What changed.
        action: UserAction,
    },
    /// Refused (enforcement on and none free, or not activated).
    Refused(UserRefusal),
}

/// An enrolled session host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolledHost {
    /// Id.
    pub id: HostId,
    /// Host name.
    pub name: String,
    /// SHA-256 of its client certificate (DER).
    pub cert_fingerprint: [u8; 32],
    /// Unix seconds.
    pub enrolled_at: i64,
    /// Refused from now on.
    pub revoked: bool,
    /// Unix seconds.
    pub revoked_at: Option<i64>,
    /// Last API call (Unix seconds).
    pub last_contact: Option<i64>,
}

/// Kind of audit entry. A newtype over its stored text so unknown kinds written by a newer build still read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AuditKind(pub String);

impl AuditKind {
    /// Identity recorded.
    pub const IDENTITY: &'static str = "identity";
    /// Activated.
    pub const ACTIVATION: &'static str = "activation";
    /// Deactivated.
    pub const DEACTIVATION: &'static str = "deactivation";
    /// Pack installed.
    pub const PACK_INSTALL: &'static str = "pack-install";
    /// Temporary per-device CAL issued.
    pub const CAL_TEMPORARY: &'static str = "cal-temporary";
    /// Permanent per-device CAL issued.
    pub const CAL_PERMANENT: &'static str = "cal-permanent";
    /// Permanent per-device CAL renewed.
    pub const CAL_RENEWAL: &'static str = "cal-renewal";
    /// Per-device CAL revoked.
    pub const CAL_REVOCATION: &'static str = "cal-revocation";
    /// Per-user CAL allocated.
    pub const USER_CAL: &'static str = "user-cal";
    /// Per-user CAL refreshed.
    pub const USER_CAL_REFRESH: &'static str = "user-cal-refresh";
    /// Enrollment token created.
    pub const TOKEN: &'static str = "enrollment-token";
    /// Host enrolled.
    pub const HOST_ENROLLMENT: &'static str = "host-enrollment";
    /// Host revoked.
    pub const HOST_REVOCATION: &'static str = "host-revocation";
    /// Admin password set or changed.
    pub const ADMIN_PASSWORD: &'static str = "admin-password";
    /// A host renewed its client certificate.
    pub const HOST_CERT_RENEWAL: &'static str = "host-certificate-renewal";
    /// A temporary per-device CAL that expired long ago deleted by the retention rule.
    pub const CAL_PURGE: &'static str = "cal-purge";
    /// A license server taken off the cluster's list by an admin.
    pub const SERVER_FORGET: &'static str = "server-forget";

    /// From one of the constants or a caller-defined name.
    pub fn new(kind: &str) -> Self {
        Self(kind.to_owned())
    }
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Monotonic id.
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    /// Kind.
    pub kind: AuditKind,
    /// Who: a host name, `admin`, `cli`...
    pub actor: String,
    /// What: a serial, pack id, host name...
    pub subject: String,
    /// Free text (`key=value` pairs).
    pub detail: String,
}
