//! State shared by every connection of one host: configuration read at start, the licensing key and server
//! certificate, the license servers, the grace record, session counters and the decision log.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdpele::cert::{ProprietaryCertificate, ServerCertificate};
use rdpele::crypto::LicensingKeyPair;
use rdpele::server::ServerLicensingConfig;
use rdlic_core::names::Escaped;
use tokio::sync::watch;

use crate::authority::{CalVerifier, LicenseAuthority, UnreachableAuthority};
use crate::config::{HostConfig, LicensingMode};
use crate::grace::{Clock, GraceRecord, GraceStatus};
use crate::policy::{self, AdminCredentials, Admission, AdmissionInput};
use crate::product::{COMPANY_NAME, PRODUCT_ID, PRODUCT_VERSION, SCOPE};
use crate::HostError;

/// How many decisions the status keeps.
const DECISION_LOG: usize = 256;

/// One licensing decision, as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionRecord {
    /// Client name (GCC core data).
    pub client: String,
    /// `DOMAIN\user` or `user` from Client Info.
    pub user: String,
    /// Hardware id (hex), when the exchange reached it.
    pub hardware_id: String,
    /// Licensing mode name, or "remote-administration".
    pub mode: &'static str,
    /// "administrative", "valid-client", "issue-new temporary", "refuse ...", ...
    pub decision: String,
    /// Why.
    pub reason: String,
    /// Which license server answered or was tried last.
    pub license_server: Option<String>,
    /// Every license server asked for this connection, in order, with its result (`NAME: issued Temporary`,
    /// `NAME: cannot contact ...`): a failover shows as a failed attempt followed by the server that answered.
    pub attempts: Vec<String>,
    /// Windows event ids mirrored.
    pub events: Vec<u16>,
}

/// What the host is doing, for tests, `rdlic diagnose` and the bench.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostStatus {
    /// Sessions in the active stage (desktop shown).
    pub active_sessions: usize,
    /// Administrative slots held (licensing over, until the connection ends).
    pub admin_sessions: usize,
    /// The latest decisions, oldest first.
    pub decisions: std::collections::VecDeque<DecisionRecord>,
}

/// Shared per-host state.
pub(crate) struct Runtime {
    pub(crate) config: HostConfig,
    pub(crate) mode: LicensingMode,
    pub(crate) clock: Clock,
    pub(crate) dir: PathBuf,
    pub(crate) host_name: String,
    pub(crate) tls: tokio_rustls::TlsAcceptor,
    pub(crate) licensing: Arc<ServerLicensingConfig>,
    pub(crate) servers: Vec<Arc<dyn LicenseAuthority>>,
    pub(crate) server_timeout: Duration,
    pub(crate) verifier: Arc<dyn CalVerifier>,
    /// Phase deadlines and idle timeouts from `host.toml`.
    pub(crate) timeouts: Timeouts,
    /// The open connections (cap, shedding, counters).
    pub(crate) connections: Arc<rdlic_api::listen::ConnectionTable>,
    /// One admin password check at a time: a flood of `/admin` connections takes one core at most.
    admin_checks: tokio::sync::Semaphore,
    grace: Mutex<GraceRecord>,
    status: watch::Sender<HostStatus>,
    decision_log: DecisionLog,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("host_name", &self.host_name).field("mode", &self.mode).finish_non_exhaustive()
    }
}

/// Deadlines of the phases of one connection ([`HostConfig`] keys `...TimeoutSecs`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    pub(crate) x224: Duration,
    pub(crate) tls: Duration,
    pub(crate) connect: Duration,
    pub(crate) licensing: Duration,
    /// `None`: never.
    pub(crate) idle: Option<Duration>,
    pub(crate) admin_idle: Option<Duration>,
}

impl Timeouts {
    fn of(config: &HostConfig) -> Self {
        let never_if_zero = |secs: u64| (secs > 0).then(|| Duration::from_secs(secs));
        Self {
            x224: Duration::from_secs(config.x224_timeout_secs),
            tls: Duration::from_secs(config.tls_handshake_timeout_secs),
            connect: Duration::from_secs(config.connect_sequence_timeout_secs),
            licensing: Duration::from_secs(config.licensing_timeout_secs),
            idle: never_if_zero(config.idle_session_timeout_secs),
            admin_idle: never_if_zero(config.admin_idle_timeout_secs),
        }
    }
}

/// Releases an administrative slot when the connection ends.
#[derive(Debug)]
pub(crate) struct AdminGuard {
    status: watch::Sender<HostStatus>,
}

impl Drop for AdminGuard {
    fn drop(&mut self) {
        self.status.send_modify(|s| s.admin_sessions = s.admin_sessions.saturating_sub(1));
    }
}

/// Counts a session in the active stage while alive.
#[derive(Debug)]
pub(crate) struct ActiveGuard {
    status: watch::Sender<HostStatus>,
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.status.send_modify(|s| s.active_sessions = s.active_sessions.saturating_sub(1));
    }
}

/// Inputs of [`Runtime::new`] that are not in the configuration file.
pub(crate) struct RuntimeParts {
    pub(crate) dir: PathBuf,
    pub(crate) config: HostConfig,
    pub(crate) clock: Clock,
    pub(crate) authorities: Vec<Arc<dyn LicenseAuthority>>,
    pub(crate) verifier: Arc<dyn CalVerifier>,
}

impl Runtime {
    pub(crate) fn new(parts: RuntimeParts) -> Result<(Self, watch::Receiver<HostStatus>), HostError> {
        let RuntimeParts { dir, config, clock, authorities, verifier } = parts;
        // Group Policy values win over the local ones, as on Windows.
        let mode = config.mode()?;
        let license_servers = config.license_servers();
        let host_name = config.host_name.clone().unwrap_or_else(default_host_name);
        let (cert, key) = crate::tls::ensure_certificate(
            &dir,
            config.tls_certificate.as_deref().zip(config.tls_private_key.as_deref()),
            &host_name,
        )?;
        let tls = tokio_rustls::TlsAcceptor::from(crate::tls::server_config(&cert, &key)?);
        let licensing = Arc::new(licensing_config(&dir, config.licensing_certificate == "x509", &host_name)?);
        let servers = license_servers
            .iter()
            .map(|name| {
                authorities
                    .iter()
                    .find(|a| a.name() == name)
                    .cloned()
                    .unwrap_or_else(|| {
                        let unreachable: Arc<dyn LicenseAuthority> = Arc::new(UnreachableAuthority::new(name));
                        unreachable
                    })
            })
            .collect();
        let grace = GraceRecord::load_or_start(&dir, clock.now())?;
        let (status, receiver) = watch::channel(HostStatus::default());
        let decision_log = DecisionLog::new(dir.join(DECISION_LOG_FILE));
        let runtime = Self {
            server_timeout: Duration::from_millis(config.license_server_timeout_ms),
            timeouts: Timeouts::of(&config),
            connections: rdlic_api::listen::ConnectionTable::new(config.max_connections),
            admin_checks: tokio::sync::Semaphore::new(1),
            config,
            mode,
            clock,
            dir,
            host_name,
            tls,
            licensing,
            servers,
            verifier,
            decision_log,
            grace: Mutex::new(grace),
            status,
        };
        runtime.log_start_events();
        Ok((runtime, receiver))
    }

    fn log_start_events(&self) {
        let now = self.clock.now();
        let grace = self.grace_status(now);
        if self.config.admin_user.is_none() {
            if self.config.session_host_role() {
                tracing::warn!("no admin account in host.toml: `/admin` connections are licensed like any other; set one with `rdlic host admin-password`");
            } else {
                tracing::warn!("no admin account in host.toml: in remote-administration mode any client can take the 2 sessions; set one with `rdlic host admin-password`");
            }
        }
        if !self.config.session_host_role() {
            tracing::warn!(event_id = policy::event_id::ROLE_NOT_INSTALLED, "RD Session Host Server role is not installed: remote administration mode, 2 sessions, no licensing");
            return;
        }
        if self.mode == LicensingMode::NotConfigured {
            tracing::warn!(event_id = policy::event_id::MODE_NOT_CONFIGURED, days_left = grace.days_left(), "the RD Licensing mode has not been configured");
        }
        let settings = self.config.licensing_settings();
        if settings.license_servers.value.is_empty() {
            tracing::warn!(event_id = policy::event_id::NO_LICENSE_SERVER_SPECIFIED, "the RD Session Host server does not have a Remote Desktop license server specified");
        }
        if let GraceStatus::Expired { .. } = grace {
            tracing::warn!(event_id = policy::event_id::GRACE_EXPIRED, "the RD Licensing grace period has expired");
        }
        tracing::info!(
            mode = self.mode.name(),
            mode_source = settings.mode.source.name(),
            license_servers = ?settings.license_servers.value,
            license_servers_source = settings.license_servers.source.name(),
            grace_days_left = grace.days_left(),
            clock_offset_days = self.clock.offset_days,
            "session host licensing configuration"
        );
    }

    /// Checks Client Info credentials against the admin account of `host.toml`: the user name first (cheap),
    /// then the password hash, one check at a time on the blocking pool.
    pub(crate) async fn admin_credentials(&self, domain: &str, user: &str, password: &str) -> AdminCredentials {
        let (Some(admin), Some(hash)) = (&self.config.admin_user, &self.config.admin_password_hash) else {
            return AdminCredentials::NotConfigured;
        };
        // `DOMAIN\user` or `user` on either side; the client may send the domain apart or not at all. A domain in
        // host.toml must match the client's when the client sends one.
        let split = |name: &str| match name.rsplit_once(['\\', '/']) {
            Some((d, u)) => (d.to_owned(), u.to_owned()),
            None => (String::new(), name.to_owned()),
        };
        let (wanted_domain, wanted) = split(admin);
        let (mut given_domain, given) = split(user);
        if given_domain.is_empty() {
            given_domain = domain.to_owned();
        }
        let domain_ok =
            wanted_domain.is_empty() || given_domain.is_empty() || wanted_domain.eq_ignore_ascii_case(&given_domain);
        if password.is_empty() || !domain_ok || !wanted.eq_ignore_ascii_case(&given) {
            return AdminCredentials::Invalid;
        }
        let Ok(_turn) = self.admin_checks.acquire().await else { return AdminCredentials::Invalid };
        let (password, hash) = (password.to_owned(), hash.clone());
        match tokio::task::spawn_blocking(move || rdlic_api::password::verify(&password, &hash)).await {
            Ok(true) => AdminCredentials::Valid,
            _ => AdminCredentials::Invalid,
        }
    }

    /// Decides admission and takes an administrative slot atomically.
    pub(crate) fn admit(&self, console: bool, admin_credentials: AdminCredentials) -> (Admission, Option<AdminGuard>) {
        let mut admission = Admission::Licensed;
        self.status.send_modify(|s| {
            admission = policy::admit(AdmissionInput {
                session_host_role: self.config.session_host_role(),
                console_flag: console,
                admin_sessions: s.admin_sessions,
                admin_credentials,
            });
            if admission == Admission::Administrative {
                s.admin_sessions += 1;
            }
        });
        let guard = (admission == Admission::Administrative).then(|| AdminGuard { status: self.status.clone() });
        (admission, guard)
    }

    pub(crate) fn session_started(&self) -> ActiveGuard {
        self.status.send_modify(|s| s.active_sessions += 1);
        ActiveGuard { status: self.status.clone() }
    }

    pub(crate) fn grace_status(&self, now: u64) -> GraceStatus {
        let period = self.config.grace_period_days;
        self.grace.lock().map(|g| g.status(now, period)).unwrap_or(GraceStatus::Expired { ended_at: now })
    }

    /// Records the first permanent CAL: ends the grace period, persisted.
    pub(crate) fn end_grace(&self, now: u64) {
        let Ok(mut grace) = self.grace.lock() else { return };
        if grace.end_by_permanent_cal(now) {
            tracing::info!("first permanent CAL received: the licensing grace period is over");
            if let Err(error) = grace.save(&self.dir) {
                tracing::error!(%error, "cannot persist the end of the grace period");
            }
        }
    }

    /// Logs a decision with structured fields and mirrors its Windows events.
    pub(crate) fn record(&self, record: DecisionRecord) {
        tracing::info!(
            target: "rdlic_host::decision",
            client = %Escaped(&record.client),
            hwid = %record.hardware_id,
            user = %Escaped(&record.user),
            mode = record.mode,
            decision = %Escaped(&record.decision),
            reason = %Escaped(&record.reason),
            license_server = record.license_server.as_deref().unwrap_or("-"),
            "licensing decision"
        );
        for event in &record.events {
            tracing::warn!(target: "rdlic_host::event", event_id = *event, client = %Escaped(&record.client), license_server = record.license_server.as_deref().unwrap_or("-"), "{}", event_text(*event));
        }
        self.append_to_decision_log(&record);
        self.status.send_modify(|s| {
            if s.decisions.len() >= DECISION_LOG {
                s.decisions.pop_front();
            }
            s.decisions.push_back(record);
        });
    }
}

impl Runtime {
    /// Appends the decision to `DIR/decisions.jsonl`, one JSON object per line, so that `rdlic diagnose` can
    /// report recent refusals after the fact (the host's log of record, like the RemoteConnectionManager event
    /// log on Windows). A failure to write is logged and does not affect the connection.
    fn append_to_decision_log(&self, record: &DecisionRecord) {
        let line = serde_json::json!({
            "at": self.clock.now(),
            "client": record.client,
            "user": record.user,
            "hardware_id": record.hardware_id,
            "mode": record.mode,
            "decision": record.decision,
            "reason": record.reason,
            "license_server": record.license_server,
            "attempts": record.attempts,
            "events": record.events,
        });
        let mut bytes = line.to_string().into_bytes();
        bytes.push(b'\n');
        self.decision_log.append(&bytes);
    }
}

/// The decision log, kept open between decisions (an open, a write and a close per connection cost the host
/// two system calls and a path lookup more than a write), and opened again when it was opened more than
/// [`DecisionLog::REOPEN_AFTER`] ago or a write failed: a log moved away or deleted is created anew within that
/// time (`rdlic host report` reads a shorter log as a replaced one).
///
/// Rotated by size ([`crate::decisionlog`]): before a line would take the file past `max_bytes`, it becomes
/// `decisions.jsonl.1` and a new file starts.
#[derive(Debug)]
struct DecisionLog {
    path: PathBuf,
    max_bytes: u64,
    keep: u32,
    open: Mutex<Option<(std::fs::File, std::time::Instant)>>,
}

impl DecisionLog {
    const REOPEN_AFTER: Duration = Duration::from_secs(1);

    fn new(path: PathBuf) -> Self {
        Self::with_limits(path, crate::decisionlog::max_bytes(), crate::decisionlog::keep())
    }

    fn with_limits(path: PathBuf, max_bytes: u64, keep: u32) -> Self {
        Self { path, max_bytes, keep, open: Mutex::new(None) }
    }

    /// Rotates the file when `incoming` more bytes would take it past the limit (a file holding nothing yet is
    /// written whatever the line's size).
    fn rotate_if_full(&self, open: &mut Option<(std::fs::File, std::time::Instant)>, incoming: u64, now: std::time::Instant) {
        let Some((file, _)) = open.as_ref() else { return };
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        if len == 0 || len.saturating_add(incoming) <= self.max_bytes {
            return;
        }
        *open = None;
        let Some(dir) = self.path.parent() else { return };
        if let Err(error) = crate::decisionlog::rotate(dir, self.keep) {
            tracing::warn!(%error, path = %self.path.display(), "cannot rotate the decision log");
        }
        *open = std::fs::OpenOptions::new().create(true).append(true).open(&self.path).ok().map(|f| (f, now));
    }

    /// Appends `line` in one write(2) (O_APPEND: concurrent writers append whole lines). A failure is logged and
    /// does not affect the connection.
    fn append(&self, line: &[u8]) {
        self.append_at(line, std::time::Instant::now());
    }

    fn append_at(&self, line: &[u8], now: std::time::Instant) {
        use std::io::Write as _;
        let Ok(mut open) = self.open.lock() else { return };
        if open.as_ref().is_none_or(|(_, at)| now.duration_since(*at) >= Self::REOPEN_AFTER) {
            *open = match std::fs::OpenOptions::new().create(true).append(true).open(&self.path) {
                Ok(file) => Some((file, now)),
                Err(error) => {
                    tracing::warn!(%error, path = %self.path.display(), "cannot open the decision log");
                    return;
                }
            };
        }
        self.rotate_if_full(&mut open, u64::try_from(line.len()).unwrap_or(u64::MAX), now);
        if let Some((file, _)) = open.as_mut() {
            if let Err(error) = file.write_all(line) {
                tracing::warn!(%error, path = %self.path.display(), "cannot append to the decision log");
                *open = None;
            }
        }
    }
}

/// File in the host data directory where every licensing decision is appended (JSON lines).
pub const DECISION_LOG_FILE: &str = "decisions.jsonl";

/// The Windows text of a RemoteConnectionManager event ([rds-facts 3.3]).
pub fn event_text(id: u16) -> &'static str {
    match id {
        1003 => "the remote desktop client has provided an invalid license",
        1004 => "the RD Session Host server cannot issue a client license",
        1068 => "the RD Licensing mode has not been configured",
        1069 => "the RD Licensing grace period has expired and Licensing mode for the RD Session Host server has not been configured",
        1128 => "the RD Licensing grace period has expired and the service has not registered with a license server with installed licenses",
        1129 => "the RD Licensing grace period is about to expire",
        1130 => "the RD Session Host server does not have a Remote Desktop license server specified",
        1131 => "the RD Session Host server could not contact the Remote Desktop license server",
        1136 => "RD Session Host Server role is not installed",
        _ => "licensing event",
    }
}

fn default_host_name() -> String {
    std::fs::read_to_string("/etc/hostname").map(|s| s.trim().to_owned()).ok().filter(|s| !s.is_empty()).unwrap_or_else(|| "rdlic-host".into())
}

/// The licensing key (`licensing/key.pem`, 2048-bit, made on first start) and its certificate.
///
/// The proprietary form (MS-RDPBCGR 2.2.1.4.3.1.1, signed with the published Terminal Services key) is the one
/// every client handles (xfreerdp, rdesktop, mstsc, IronRDP) and the default. With `x509`, an X.509 chain
/// (MS-RDPELE 2.2.1.4.2): a self-signed license-server root (`licensing/root-key.pem`) and the host certificate
/// it signs, holding the licensing key, as a Windows host enrolled with a license server sends.
fn licensing_config(dir: &Path, x509: bool, host_name: &str) -> Result<ServerLicensingConfig, HostError> {
    let key_dir = dir.join("licensing");
    let key_path = key_dir.join("key.pem");
    let key = match std::fs::read(&key_path) {
        Ok(pem) => LicensingKeyPair::from_pem(&pem).map_err(|e| HostError::Licensing(e.to_string()))?,
        Err(_) => {
            let key = LicensingKeyPair::generate(2048).map_err(|e| HostError::Licensing(e.to_string()))?;
            let pem = key.to_pem().map_err(|e| HostError::Licensing(e.to_string()))?;
            std::fs::create_dir_all(&key_dir).map_err(|e| HostError::Io(key_dir.clone(), e))?;
            crate::tls::write_private(&key_path, &pem).map_err(|e| HostError::Io(key_path.clone(), e))?;
            key
        }
    };
    let certificate = if x509 {
        ServerCertificate::x509_chain(x509_chain(&key_dir, &key, host_name)?)
    } else {
        let certificate = ProprietaryCertificate::sign(key.public()).map_err(|e| HostError::Licensing(e.to_string()))?;
        ServerCertificate::Proprietary { temporary: false, certificate }
    };
    ServerLicensingConfig::new(key, &certificate, PRODUCT_VERSION, COMPANY_NAME, PRODUCT_ID, SCOPE)
        .map_err(|e| HostError::Licensing(e.to_string()))
}

/// `[root, host]` DER certificates for the X.509 form of the License Request.
fn x509_chain(key_dir: &Path, key: &LicensingKeyPair, host_name: &str) -> Result<Vec<Vec<u8>>, HostError> {
    use rdpele::x509::{build_certificate, oid, AttributeValue, CertificateParams, Extension, Name, RsaPublicKey, SignatureAlgorithm};
    let err = |e: &dyn std::fmt::Display| HostError::Licensing(format!("x509 licensing chain: {e}"));
    let root_key = crate::authority::LocalAuthority::load_or_create_key(&key_dir.join("root-key.pem"))
        .map_err(|e| HostError::Io(key_dir.join("root-key.pem"), e))?;
    let host_key = openssl::pkey::PKey::from_rsa(key.openssl().clone()).map_err(|e| err(&e))?;
    let name = |cn: &str| {
        Name::single_rdn(vec![AttributeValue::bmp(oid::COMMON_NAME, cn), AttributeValue::bmp(oid::LOCALITY, "WORKGROUP")])
            .to_der()
            .map_err(|e| err(&e))
    };
    let root_name = name(&format!("{host_name} licensing root"))?;
    let root = CertificateParams {
        serial: vec![1],
        signature_algorithm: SignatureAlgorithm::Sha256WithRsa,
        issuer_der: root_name.clone(),
        subject_der: root_name.clone(),
        not_before: 0,
        not_after: 2_506_000_000,
        public_key: RsaPublicKey::from_pkey(&root_key).map_err(|e| err(&e))?,
        extensions: vec![Extension::basic_constraints_ca(0).map_err(|e| err(&e))?],
    };
    let host = CertificateParams {
        serial: vec![2],
        signature_algorithm: SignatureAlgorithm::Sha256WithRsa,
        issuer_der: root_name,
        subject_der: name(host_name)?,
        not_before: 0,
        not_after: 2_506_000_000,
        public_key: RsaPublicKey::from_pkey(&host_key).map_err(|e| err(&e))?,
        extensions: Vec::new(),
    };
    Ok(vec![
        build_certificate(&root, &root_key).map_err(|e| err(&e))?,
        build_certificate(&host, &root_key).map_err(|e| err(&e))?,
    ])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::DecisionLog;
    use std::time::{Duration, Instant};

    #[test]
    fn decision_log_appends_lines_and_is_created_again_after_removal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("decisions.jsonl");
        let log = DecisionLog::new(path.clone());
        let t0 = Instant::now();
        log.append_at(b"one\n", t0);
        log.append_at(b"two\n", t0 + Duration::from_millis(10));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one\ntwo\n");

        // Removed (rotated away): the open handle still writes to the removed file until the log is reopened.
        std::fs::remove_file(&path).unwrap();
        log.append_at(b"three\n", t0 + Duration::from_millis(500));
        assert!(!path.exists(), "the log was opened again before REOPEN_AFTER");
        log.append_at(b"four\n", t0 + DecisionLog::REOPEN_AFTER + Duration::from_millis(1));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "four\n");
    }

    #[test]
    fn decision_log_is_rotated_by_size_and_keeps_n_parts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("decisions.jsonl");
        let log = DecisionLog::with_limits(path.clone(), 100, 2);
        let t0 = Instant::now();
        let line = |i: u32| format!("{{\"n\":{i:03},\"pad\":\"{}\"}}\n", "x".repeat(20));
        for i in 0..12 {
            log.append_at(line(i).as_bytes(), t0);
        }
        let len = line(0).len();
        let per_file = 100 / len;
        for f in [&path, &dir.path().join("decisions.jsonl.1"), &dir.path().join("decisions.jsonl.2")] {
            let size = std::fs::metadata(f).unwrap().len();
            assert!(size <= 100, "{} holds {size} bytes", f.display());
        }
        assert!(!dir.path().join("decisions.jsonl.3").exists(), "two rotated parts kept");
        let current = std::fs::read_to_string(&path).unwrap();
        assert!(current.ends_with(&line(11)), "{current}");
        let newest_rotated = std::fs::read_to_string(dir.path().join("decisions.jsonl.1")).unwrap();
        assert_eq!(newest_rotated.lines().count(), per_file);
    }

    #[test]
    fn decision_log_in_a_missing_directory_writes_nothing_and_recovers() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("later");
        let log = DecisionLog::new(sub.join("decisions.jsonl"));
        let t0 = Instant::now();
        log.append_at(b"lost\n", t0);
        std::fs::create_dir(&sub).unwrap();
        log.append_at(b"kept\n", t0 + Duration::from_millis(1));
        assert_eq!(std::fs::read_to_string(sub.join("decisions.jsonl")).unwrap(), "kept\n");
    }
}
