//! `rdlic diagnose`, the I/O: reads the host's configuration and state (through `rdlic-host`), asks each license
//! server (TCP, then TLS + `GET /api/v1/ping`, then `GET /api/v1/status` with the host's enrollment certificate
//! through `rdlic_api::client`), and applies the safe fixes after a backup.

use std::io::{Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rdlic_host::config::HostConfig;
use rdlic_host::grace::{Clock, GraceRecord, GraceStatus};
use rdlic_api::client::{ClientError, LicenseServerClient};
use serde::Serialize;

use crate::checks::{CalPool, ConfigChange, Enrollment, GraceState, HostSnapshot, RefusalRecord, ServerObservation, ServerStatus};

/// The decision log the host appends to, one JSON object per line (`client`, `decision`, `reason`,
/// `license_server`, ...) in the host data directory; diagnose reports the latest refusals in it.
pub use rdlic_host::DECISION_LOG_FILE;

/// How many of the latest refusals to report.
const RECENT_REFUSALS: usize = 20;

/// The CAL version session hosts ask for (as `rdlic host run` does).
pub const DEFAULT_HOST_CAL_VERSION: u16 = 2022;

/// Errors gathering the inputs or applying fixes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatherError {
    #[error(transparent)]
    Config(#[from] rdlic_host::config::ConfigError),
    #[error(transparent)]
    Grace(#[from] rdlic_host::grace::GraceError),
    #[error("cannot back up {path}: {source}")]
    Backup { path: PathBuf, source: std::io::Error },
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
}

/// Where the host is and how to ask.
#[derive(Debug, Clone)]
pub struct GatherOptions {
    /// Host data directory (`host.toml`, `grace.toml`, enrollment files)
    pub host_dir: PathBuf,
    /// The host clock's offset in days (as `rdlic host run --clock-offset-days`)
    pub clock_offset_days: i64,
    /// CAL version the host needs
    pub host_cal_version: u16,
    /// Per-step timeout for license servers
    pub timeout: Duration,
}

/// Reads the host's configuration, grace period and decision log.
pub fn host_snapshot(options: &GatherOptions) -> Result<(HostSnapshot, HostConfig), GatherError> {
    let dir = &options.host_dir;
    let config = HostConfig::load(dir)?;
    let now = Clock::with_offset_days(options.clock_offset_days).now();
    let grace = match GraceRecord::load(dir)? {
        None => GraceState::NotStarted { period_days: config.grace_period_days },
        Some(record) => match record.status(now, config.grace_period_days) {
            GraceStatus::Running { days_left, .. } => GraceState::Running { days_left },
            GraceStatus::Expired { .. } => GraceState::Expired,
            GraceStatus::EndedByPermanentCal { .. } => GraceState::EndedByPermanentCal,
        },
    };
    // The same Group Policy precedence as on Windows (and as the host applies): `host.toml` is a RegistryView.
    let settings = config.licensing_settings();
    let snapshot = HostSnapshot {
        data_dir: dir.display().to_string(),
        role_installed: config.session_host_role(),
        licensing_mode: settings.mode.value,
        license_servers: settings.license_servers.value.clone(),
        grace,
        host_cal_version: options.host_cal_version,
        recent_refusals: read_refusals(&dir.join(DECISION_LOG_FILE)),
        recent_answers: read_answers(&dir.join(DECISION_LOG_FILE)),
        enrollment_dir: dir.display().to_string(),
        settings: Some(settings),
        target: crate::checks::FixTarget::RdlicHost,
    };
    Ok((snapshot, config))
}

/// Refusals from the decision log, latest last; `None` when there is no log.
/// At most this much of the end of the decision log is read: the recent refusals are at its end, and the log may
/// be large (it is rotated by size, `RDLIC_DECISION_LOG_MAX_BYTES`).
pub const DECISION_LOG_TAIL_BYTES: u64 = 256 * 1024;

/// The decisions (JSON lines) in the last [`DECISION_LOG_TAIL_BYTES`] of the decision log: `diagnose` never reads
/// a long log whole.
fn read_log_tail(path: &Path) -> Option<Vec<serde_json::Value>> {
    use std::io::Seek as _;
    let mut file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let start = len.saturating_sub(DECISION_LOG_TAIL_BYTES);
    file.seek(std::io::SeekFrom::Start(start)).ok()?;
    let mut tail = Vec::new();
    file.take(DECISION_LOG_TAIL_BYTES).read_to_end(&mut tail).ok()?;
    // Started inside a line: skip to the next one.
    let lines: &[u8] = if start > 0 {
        tail.iter().position(|b| *b == b'\n').and_then(|i| tail.get(i + 1..)).unwrap_or_default()
    } else {
        &tail
    };
    Some(lines.split(|b| *b == b'\n').filter_map(|line| serde_json::from_slice(line).ok()).collect())
}

/// The last [`RECENT_REFUSALS`] refusals of the decision log, read from its tail ([`read_log_tail`]); names and
/// texts escaped for the terminal ([`rdlic_core::names::escape`]).
fn read_refusals(path: &Path) -> Option<Vec<RefusalRecord>> {
    let escaped = |s: &str| rdlic_core::names::escape(s).into_owned();
    let mut refusals: Vec<RefusalRecord> = read_log_tail(path)?
        .into_iter()
        .filter(|v| v.get("decision").and_then(|d| d.as_str()).is_some_and(|d| d.starts_with("refuse")))
        .map(|v| {
            let field = |name: &str| escaped(v.get(name).and_then(|x| x.as_str()).unwrap_or_default());
            RefusalRecord {
                client: field("client"),
                decision: field("decision"),
                reason: field("reason"),
                license_server: v.get("license_server").and_then(|x| x.as_str()).map(escaped),
            }
        })
        .collect();
    let skip = refusals.len().saturating_sub(RECENT_REFUSALS);
    refusals.drain(..skip);
    Some(refusals)
}

/// Whether a `SpecifiedLicenseServers` entry names a Windows license server: a bare name or IP address, as Windows
/// writes them. An rdlic license server is an `https://` URL or `name:port`; `local` is the in-process one.
pub fn is_windows_license_server(name: &str) -> bool {
    if name == "local" || name.contains("://") || name.is_empty() {
        return false;
    }
    name.parse::<std::net::IpAddr>().is_ok() || !name.contains(':')
}

/// How many decisions [`read_answers`] looks at (the latest).
const RECENT_ANSWERS: usize = 1000;

/// Which license servers answered the latest decisions that asked one, and the failovers among them.
fn read_answers(path: &Path) -> crate::checks::AnsweredBy {
    let mut out = crate::checks::AnsweredBy::default();
    let Some(decisions) = read_log_tail(path) else { return out };
    let mut counts: std::collections::BTreeMap<String, u32> = std::collections::BTreeMap::new();
    for v in decisions.iter().skip(decisions.len().saturating_sub(RECENT_ANSWERS)) {
        let decision = v.get("decision").and_then(|d| d.as_str()).unwrap_or_default();
        let Some(server) = v.get("license_server").and_then(|x| x.as_str()) else { continue };
        if decision.starts_with("refuse") {
            continue;
        }
        *counts.entry(server.to_owned()).or_default() += 1;
        let attempts: Vec<String> = v
            .get("attempts")
            .and_then(|a| a.as_array())
            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        if attempts.len() > 1 {
            out.failovers += 1;
            let client = v.get("client").and_then(|x| x.as_str()).unwrap_or_default().to_owned();
            out.last_failover = Some((client, attempts));
        }
    }
    out.servers = counts.into_iter().collect();
    out.servers.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

/// `https://NAME` unless NAME already is a URL; and the host:port to reach (default port 443).
fn url_and_addr(name: &str) -> (String, String) {
    let url = if name.contains("://") { name.to_owned() } else { format!("https://{name}") };
    let hostport = url.split("://").nth(1).unwrap_or_default().split('/').next().unwrap_or_default().to_owned();
    let has_port = hostport.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) && !hostport.ends_with(']');
    let addr = if has_port { hostport } else { format!("{hostport}:443") };
    (url, addr)
}

/// Asks one license server, step by step (each step only when the previous one succeeded).
pub fn observe_server(name: &str, options: &GatherOptions, runtime: &tokio::runtime::Runtime) -> ServerObservation {
    let mut observation =
        ServerObservation { name: name.to_owned(), in_process: false, tcp: Ok(0.0), api: None, enrollment: None, status: None, rpc: None };
    if name == "local" {
        observation.in_process = true;
        return observation;
    }
    if is_windows_license_server(name) {
        let options = crate::rpc_probe::RpcProbeOptions { target: name.to_owned(), timeout: options.timeout };
        let report = runtime.block_on(crate::rpc_probe::run_async(&options));
        observation.tcp = if report.verdict.endpoint_mapper_unusable() {
            Err(report.endpoint_mapper.clone().unwrap_or_else(|| name.to_owned()))
        } else {
            Ok(0.0)
        };
        observation.rpc = Some(report);
        return observation;
    }
    let (url, addr) = url_and_addr(name);
    // 1. TCP (the article's `telnet <server> 135`, here the API port).
    let start = Instant::now();
    let tcp = addr
        .to_socket_addrs()
        .map_err(|e| format!("{addr}: {e}"))
        .and_then(|mut a| a.next().ok_or_else(|| format!("{addr}: no address")))
        .and_then(|sa| TcpStream::connect_timeout(&sa, options.timeout).map_err(|e| format!("{addr}: {e}")));
    let tcp = match tcp {
        Ok(tcp) => tcp,
        Err(error) => {
            observation.tcp = Err(error);
            return observation;
        }
    };
    observation.tcp = Ok((start.elapsed().as_secs_f64() * 10_000.0).round() / 10.0);
    // 2. TLS + the unauthenticated ping.
    match ping(tcp, &addr, options.timeout) {
        Ok(id) => observation.api = Some(Ok(id)),
        Err(error) => {
            observation.api = Some(Err(error));
            return observation;
        }
    }
    // 3. Enrollment, and 4. the status call with the host's certificate.
    let client = match LicenseServerClient::from_dir(&options.host_dir, Some(&url)) {
        Ok(client) => client.with_timeout(options.timeout),
        Err(error) => {
            observation.enrollment = Some(Enrollment::NoCredentials(error.to_string()));
            return observation;
        }
    };
    match runtime.block_on(client.status()) {
        Ok(status) => {
            observation.enrollment = Some(Enrollment::Enrolled);
            observation.status = Some(Ok(ServerStatus {
                activated: status.activated,
                database_ok: status.database_ok,
                cals: status
                    .cals
                    .into_iter()
                    .map(|a| CalPool {
                        cal_type: a.cal_type,
                        version: a.version,
                        installed: a.installed,
                        issued: a.issued,
                        available: a.available,
                    })
                    .collect(),
            }));
        }
        Err(error @ (ClientError::Api { .. } | ClientError::Connect { .. })) => {
            // The ping worked over TLS: a failure now is the server refusing this host's certificate (or a CA
            // that is not this server's: enrolled with another one).
            observation.enrollment = Some(Enrollment::Refused(error.to_string()));
        }
        Err(error) => {
            observation.enrollment = Some(Enrollment::Enrolled);
            observation.status = Some(Err(error.to_string()));
        }
    }
    observation
}

/// TLS (any certificate) and `GET /api/v1/ping`; the server id.
fn ping(tcp: TcpStream, addr: &str, timeout: Duration) -> Result<String, String> {
    tcp.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    tcp.set_write_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h).trim_matches(['[', ']']).to_owned();
    let name = rustls::pki_types::ServerName::try_from(host.clone())
        .unwrap_or_else(|_| rustls::pki_types::ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
    let config = crate::transport::accept_any_config().map_err(|e| e.to_string())?;
    let connection = rustls::ClientConnection::new(config, name).map_err(|e| format!("tls: {e}"))?;
    let mut tls = rustls::StreamOwned::new(connection, tcp);
    let request = format!("GET /api/v1/ping HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).map_err(|e| format!("tls: {e}"))?;
    let mut response = Vec::new();
    match tls.read_to_end(&mut response) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !response.is_empty() => {}
        Err(e) => return Err(format!("tls: {e}")),
    }
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(|| "not an http answer".to_owned())?;
    let status_line = head.lines().next().unwrap_or_default();
    if !status_line.contains(" 200") {
        return Err(format!("ping answered {status_line:?}"));
    }
    let json: serde_json::Value = serde_json::from_str(body.trim()).map_err(|e| format!("ping body: {e}"))?;
    json.get("server_id").and_then(|v| v.as_str()).map(str::to_owned).ok_or_else(|| "ping without server_id".to_owned())
}

/// Everything diagnose needs.
pub fn gather(options: &GatherOptions) -> Result<(HostSnapshot, Vec<ServerObservation>), GatherError> {
    let (snapshot, _) = host_snapshot(options)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(GatherError::Runtime)?;
    let servers = if snapshot.role_installed {
        snapshot.license_servers.iter().map(|name| observe_server(name, options, &runtime)).collect()
    } else {
        Vec::new()
    };
    Ok((snapshot, servers))
}

/// What `--fix` did.
#[derive(Debug, Clone, Serialize)]
pub struct FixReport {
    /// The configuration backup
    pub backup: Option<PathBuf>,
    /// The changes made
    pub applied: Vec<ConfigChange>,
    /// The host must restart (`rdlic host run` reads its configuration at start, like TermService)
    pub restart_needed: bool,
}

/// Applies `changes` to `host.toml` after copying it to `host.toml.bak-<unix seconds>` (the article's "back up the
/// OS disk first").
pub fn apply_fixes(host_dir: &Path, changes: &[ConfigChange]) -> Result<FixReport, GatherError> {
    if changes.is_empty() {
        return Ok(FixReport { backup: None, applied: Vec::new(), restart_needed: false });
    }
    let mut config = HostConfig::load(host_dir)?;
    let path = HostConfig::path(host_dir);
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let backup = host_dir.join(format!("{}.bak-{stamp}", rdlic_host::config::CONFIG_FILE));
    if path.exists() {
        std::fs::copy(&path, &backup).map_err(|source| GatherError::Backup { path: backup.clone(), source })?;
    } else {
        // No file yet: the backup records the defaults in effect.
        std::fs::create_dir_all(host_dir).map_err(|source| GatherError::Backup { path: backup.clone(), source })?;
        let text = format!("# no {} existed: defaults were in effect\n", rdlic_host::config::CONFIG_FILE);
        std::fs::write(&backup, text).map_err(|source| GatherError::Backup { path: backup.clone(), source })?;
    }
    for change in changes {
        match change {
            ConfigChange::SetLicensingMode(mode) => config.licensing_mode = *mode,
            ConfigChange::SetLicenseServers(servers) => config.specified_license_servers = servers.clone(),
        }
    }
    config.save(host_dir)?;
    Ok(FixReport { backup: Some(backup), applied: changes.to_vec(), restart_needed: true })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn windows_names_and_rdlic_urls() {
        for windows in ["ls1", "ls1.corp.example", "10.0.0.5", "fe80::1"] {
            assert!(is_windows_license_server(windows), "{windows}");
        }
        for rdlic in ["local", "ls1:8443", "https://ls1", "https://ls1:8443/", "127.0.0.1:8443", "[::1]:8443", ""] {
            assert!(!is_windows_license_server(rdlic), "{rdlic}");
        }
    }

    #[test]
    fn urls_and_addresses() {
        assert_eq!(url_and_addr("ls1:8443"), ("https://ls1:8443".into(), "ls1:8443".into()));
        assert_eq!(url_and_addr("https://ls1.example/"), ("https://ls1.example/".into(), "ls1.example:443".into()));
        assert_eq!(url_and_addr("ls1"), ("https://ls1".into(), "ls1:443".into()));
    }

    #[test]
    fn snapshot_of_a_fresh_host_and_fix_with_backup() {
        let dir = tempfile::tempdir().unwrap();
        let options = GatherOptions {
            host_dir: dir.path().to_owned(),
            clock_offset_days: 0,
            host_cal_version: DEFAULT_HOST_CAL_VERSION,
            timeout: Duration::from_secs(1),
        };
        let (snapshot, _) = host_snapshot(&options).unwrap();
        assert_eq!(snapshot.licensing_mode, 5);
        assert_eq!(snapshot.grace, GraceState::NotStarted { period_days: 120 });
        assert_eq!(snapshot.recent_refusals, None);

        HostConfig::default().save(dir.path()).unwrap();
        GraceRecord::new(Clock::default().now()).save(dir.path()).unwrap();
        let later = GatherOptions { clock_offset_days: 121, ..options.clone() };
        assert_eq!(host_snapshot(&later).unwrap().0.grace, GraceState::Expired);
        assert_eq!(host_snapshot(&options).unwrap().0.grace, GraceState::Running { days_left: 120 });

        std::fs::write(
            dir.path().join(DECISION_LOG_FILE),
            "{\"client\":\"dev01\",\"decision\":\"refuse 0x101\",\"reason\":\"grace over\"}\n{\"client\":\"dev02\",\"decision\":\"valid-client\",\"reason\":\"\"}\nnot json\n",
        )
        .unwrap();
        let refusals = host_snapshot(&options).unwrap().0.recent_refusals.unwrap();
        assert_eq!(refusals.len(), 1);
        assert_eq!(refusals[0].client, "dev01");

        // Which server answered, and the failovers (several license servers).
        std::fs::write(
            dir.path().join(DECISION_LOG_FILE),
            concat!(
                "{\"client\":\"a\",\"decision\":\"issue-new temporary\",\"license_server\":\"ls1\",\"attempts\":[\"ls1: issued Temporary\"]}\n",
                "{\"client\":\"b\",\"decision\":\"issue-new temporary\",\"license_server\":\"ls2\",\"attempts\":[\"ls1: cannot contact\",\"ls2: issued Temporary\"]}\n",
                "{\"client\":\"c\",\"decision\":\"issue-new temporary\",\"license_server\":\"ls2\",\"attempts\":[\"ls2: issued Temporary\"]}\n",
                "{\"client\":\"d\",\"decision\":\"refuse 0x101\",\"license_server\":\"ls2\"}\n",
            ),
        )
        .unwrap();
        let answers = host_snapshot(&options).unwrap().0.recent_answers;
        assert_eq!(answers.servers, vec![("ls2".to_owned(), 2), ("ls1".to_owned(), 1)]);
        assert_eq!(answers.failovers, 1);
        assert_eq!(answers.last_failover.unwrap().0, "b");

        let report = apply_fixes(
            dir.path(),
            &[ConfigChange::SetLicensingMode(4), ConfigChange::SetLicenseServers(vec!["ls1:8443".into()])],
        )
        .unwrap();
        let backup = report.backup.unwrap();
        assert_eq!(HostConfig::parse(&std::fs::read_to_string(backup).unwrap()).unwrap().licensing_mode, 5);
        let config = HostConfig::load(dir.path()).unwrap();
        assert_eq!(config.licensing_mode, 4);
        assert_eq!(config.specified_license_servers, vec!["ls1:8443"]);
        assert!(report.restart_needed);
    }

    #[test]
    fn only_the_tail_of_a_large_decision_log_is_read_and_names_are_escaped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DECISION_LOG_FILE);
        // A head that is not even text (a damaged old part of the log): reading the whole file would fail.
        let mut log = vec![0xffu8; usize::try_from(DECISION_LOG_TAIL_BYTES).unwrap() * 4];
        log.push(b'\n');
        for i in 0..30 {
            log.extend_from_slice(
                format!("{}\n", serde_json::json!({"client": format!("PC{i}\u{1b}[2J"), "decision": "refuse 0x101", "reason": "x\ny"}))
                    .as_bytes(),
            );
        }
        std::fs::write(&path, &log).unwrap();
        let refusals = read_refusals(&path).expect("the tail is readable");
        assert_eq!(refusals.len(), RECENT_REFUSALS);
        assert_eq!(refusals.last().unwrap().client, "PC29\\u{1b}[2J", "the escape sequence is shown, not sent");
        assert_eq!(refusals.last().unwrap().reason, "x\\ny");
    }

    #[test]
    fn closed_port_is_reported_not_reachable() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let dir = tempfile::tempdir().unwrap();
        let options = GatherOptions {
            host_dir: dir.path().to_owned(),
            clock_offset_days: 0,
            host_cal_version: DEFAULT_HOST_CAL_VERSION,
            timeout: Duration::from_secs(2),
        };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let observed = observe_server(&addr.to_string(), &options, &runtime);
        assert!(observed.tcp.is_err(), "{observed:?}");
        assert!(observed.api.is_none());
    }
}
