//! Host configuration (`host.toml` in the host data directory), with the Windows value names.
//!
//! | Windows (registry / dism)                                                               | here                         |
//! |------------------------------------------------------------------------------------------|------------------------------|
//! | `HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM\Licensing Core` `LicensingMode` | `LicensingMode` (2, 4, 5)    |
//! | `HKLM\SYSTEM\CurrentControlSet\Services\TermService\Parameters` `SpecifiedLicenseServers`  | `SpecifiedLicenseServers`    |
//! | `...\ServerComponentCache\RDS-RD-Server` `InstallState` / feature `Remote-Desktop-Services`| `RdsRdServerInstallState`    |
//! | `...\ServerComponentCache\RDS-Licensing` `InstallState` / feature `Licensing`              | `RdsLicensingInstallState`   |
//! | `HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services` `LicensingMode`            | `[Policy] LicensingMode`     |
//! | `HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services` `LicenseServers` (REG_SZ)  | `[Policy] LicenseServers`    |
//!
//! The `[Policy]` values are Group Policy's ("Set the Remote Desktop licensing mode", "Use the specified Remote
//! Desktop license servers"): as on Windows they win over the local ones ([`HostConfig::licensing_settings`]), and
//! a `reg add` of the local value changes nothing while a policy value is set. [`HostConfig`] is a
//! [`RegistryView`], so `rdlic diagnose` reads a live host with the same rules as a `reg export` file or an offline
//! disk.
//!
//! As on Windows, changes are read at start: a running host keeps the values it started with.

use std::path::{Path, PathBuf};

use rdlic_core::winreg::{self, paths, LicensingSettings, RegValue, RegistryView};
use serde::{Deserialize, Serialize};

/// File name of the configuration inside the host data directory.
pub const CONFIG_FILE: &str = "host.toml";

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a valid host configuration: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("LicensingMode {0} is not supported: use 2 (per device), 4 (per user) or 5 (not configured)")]
    BadLicensingMode(u32),
}

/// `LicensingMode` ([rds-facts 2.4]: `Win32_TerminalServiceSetting.LicensingType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LicensingMode {
    /// 2 — Per Device.
    PerDevice,
    /// 4 — Per User.
    PerUser,
    /// 5 — Not configured: admitted during the grace period only.
    NotConfigured,
}

impl LicensingMode {
    /// The Windows DWORD value.
    pub fn value(self) -> u32 {
        match self {
            Self::PerDevice => 2,
            Self::PerUser => 4,
            Self::NotConfigured => 5,
        }
    }

    /// From the Windows DWORD value.
    pub fn from_value(value: u32) -> Result<Self, ConfigError> {
        match value {
            2 => Ok(Self::PerDevice),
            4 => Ok(Self::PerUser),
            5 => Ok(Self::NotConfigured),
            other => Err(ConfigError::BadLicensingMode(other)),
        }
    }

    /// Name for logs ("per-device", ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::PerDevice => "per-device",
            Self::PerUser => "per-user",
            Self::NotConfigured => "not-configured",
        }
    }
}

/// The host configuration file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// `LicensingMode`: 2 per device, 4 per user, 5 not configured.
    #[serde(rename = "LicensingMode", default = "default_mode")]
    pub licensing_mode: u32,
    /// `SpecifiedLicenseServers` (REG_MULTI_SZ), tried in order.
    #[serde(rename = "SpecifiedLicenseServers", default)]
    pub specified_license_servers: Vec<String>,
    /// `InstallState` of RDS-RD-Server (feature `Remote-Desktop-Services`): 1 installed, 0 removed. When 0 the
    /// host is in remote-administration mode: every connection is administrative, 2 at once, no licensing.
    #[serde(rename = "RdsRdServerInstallState", default = "installed")]
    pub rds_rd_server_install_state: u32,
    /// `InstallState` of RDS-Licensing (feature `Licensing`). Recorded for `reg query` and diagnostics; a
    /// session host does not need it.
    #[serde(rename = "RdsLicensingInstallState", default)]
    pub rds_licensing_install_state: u32,
    /// Grace period length in days, counted from the host's first start (Windows: 120).
    #[serde(rename = "GracePeriodDays", default = "default_grace")]
    pub grace_period_days: u32,
    /// Timeout for one license server, in milliseconds.
    #[serde(rename = "LicenseServerTimeoutMs", default = "default_timeout")]
    pub license_server_timeout_ms: u64,
    /// Name shown on the status desktop and used as the licensing scope's host name.
    #[serde(rename = "HostName", default)]
    pub host_name: Option<String>,
    /// Server certificate form of the License Request: "x509" (default: a two-certificate chain — a
    /// license-server root made in the data directory, and the host certificate holding the licensing key — as
    /// Windows hosts send; xfreerdp, rdesktop and IronRDP-based clients are tested with it) or "proprietary"
    /// (signed with the Terminal Services key; xfreerdp and rdesktop handle it, but ironrdp-pdu 0.11 reads its
    /// little-endian modulus as big-endian and cannot encrypt the premaster secret to it).
    #[serde(rename = "LicensingCertificate", default = "x509")]
    pub licensing_certificate: String,
    /// PEM certificate chain for TLS; a self-signed one is made in the data directory when absent.
    #[serde(rename = "TlsCertificate", default)]
    pub tls_certificate: Option<PathBuf>,
    /// PEM private key for `TlsCertificate`.
    #[serde(rename = "TlsPrivateKey", default)]
    pub tls_private_key: Option<PathBuf>,
    /// Seconds a new connection has to send its X.224 Connection Request (default 10).
    #[serde(rename = "X224TimeoutSecs", default = "ten")]
    pub x224_timeout_secs: u64,
    /// Seconds the client has to finish the TLS handshake after the X.224 Connection Confirm (default 10).
    #[serde(rename = "TlsHandshakeTimeoutSecs", default = "ten")]
    pub tls_handshake_timeout_secs: u64,
    /// Seconds for the connection sequence after TLS — MCS Connect Initial to Client Info — and again for the
    /// capability exchange and finalization after licensing (default 30).
    #[serde(rename = "ConnectSequenceTimeoutSecs", default = "thirty")]
    pub connect_sequence_timeout_secs: u64,
    /// Seconds for the whole licensing phase, license servers' answers included (default 60).
    #[serde(rename = "LicensingTimeoutSecs", default = "sixty")]
    pub licensing_timeout_secs: u64,
    /// Seconds an active session may go without any input from its client before the host ends it (default
    /// 43200 = 12 h; 0 = never, as Windows by default).
    #[serde(rename = "IdleSessionTimeoutSecs", default = "twelve_hours")]
    pub idle_session_timeout_secs: u64,
    /// The same for administrative sessions (`/admin`, remote-administration mode), which hold one of the 2 slots
    /// (default 3600 = 1 h; 0 = never).
    #[serde(rename = "AdminIdleTimeoutSecs", default = "one_hour")]
    pub admin_idle_timeout_secs: u64,
    /// Open RDP connections at most (default 1024). When full, the oldest connection whose client is not yet past
    /// licensing is closed to make room; when every open connection is past licensing, the new one is closed.
    #[serde(rename = "MaxConnections", default = "max_connections")]
    pub max_connections: usize,
    /// The admin account: the user name (case-insensitive, with or without a domain) that a `/admin` connection
    /// must send in its Client Info PDU to take an administrative slot. Set with `rdlic host admin-password`.
    #[serde(rename = "AdminUser", default, skip_serializing_if = "Option::is_none")]
    pub admin_user: Option<String>,
    /// Salted PBKDF2 hash of the admin account's password (`pbkdf2-sha256$...`, written by
    /// `rdlic host admin-password`).
    #[serde(rename = "AdminPasswordHash", default, skip_serializing_if = "Option::is_none")]
    pub admin_password_hash: Option<String>,
    /// Seconds between two fetches of the license servers' CAL signing chains (default 3600; 0 = only at start
    /// and when a presented CAL's chain is not trusted).
    #[serde(rename = "ChainRefreshSecs", default = "one_hour")]
    pub chain_refresh_secs: u64,
    /// Address of an optional plain-HTTP Prometheus endpoint (`GET /metrics`) with the listener's counters, e.g.
    /// "127.0.0.1:9464" (default: none).
    #[serde(rename = "MetricsListen", default, skip_serializing_if = "Option::is_none")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Group Policy values (`HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services`); they win over the
    /// local `LicensingMode` and `SpecifiedLicenseServers`.
    #[serde(rename = "Policy", default, skip_serializing_if = "PolicyConfig::is_empty")]
    pub policy: PolicyConfig,
}

/// The Group Policy values of the `[Policy]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// "Set the Remote Desktop licensing mode": `LicensingMode` (REG_DWORD 2 or 4).
    #[serde(rename = "LicensingMode", default, skip_serializing_if = "Option::is_none")]
    pub licensing_mode: Option<u32>,
    /// "Use the specified Remote Desktop license servers": `LicenseServers` (REG_SZ, names separated by commas).
    #[serde(rename = "LicenseServers", default, skip_serializing_if = "Option::is_none")]
    pub license_servers: Option<String>,
}

impl PolicyConfig {
    /// No policy value is set.
    pub fn is_empty(&self) -> bool {
        self.licensing_mode.is_none() && self.license_servers.is_none()
    }
}

fn default_mode() -> u32 {
    5
}
fn x509() -> String {
    "x509".to_owned()
}
fn installed() -> u32 {
    1
}
fn default_grace() -> u32 {
    120
}
fn default_timeout() -> u64 {
    2000
}
fn ten() -> u64 {
    10
}
fn thirty() -> u64 {
    30
}
fn sixty() -> u64 {
    60
}
fn twelve_hours() -> u64 {
    12 * 3600
}
fn one_hour() -> u64 {
    3600
}
fn max_connections() -> usize {
    1024
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            licensing_mode: default_mode(),
            specified_license_servers: Vec::new(),
            rds_rd_server_install_state: installed(),
            rds_licensing_install_state: 0,
            grace_period_days: default_grace(),
            license_server_timeout_ms: default_timeout(),
            host_name: None,
            licensing_certificate: x509(),
            tls_certificate: None,
            tls_private_key: None,
            x224_timeout_secs: ten(),
            tls_handshake_timeout_secs: ten(),
            connect_sequence_timeout_secs: thirty(),
            licensing_timeout_secs: sixty(),
            idle_session_timeout_secs: twelve_hours(),
            admin_idle_timeout_secs: one_hour(),
            max_connections: max_connections(),
            chain_refresh_secs: one_hour(),
            admin_user: None,
            admin_password_hash: None,
            metrics_listen: None,
            policy: PolicyConfig::default(),
        }
    }
}

impl HostConfig {
    /// Path of the configuration file in `dir`.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(CONFIG_FILE)
    }

    /// Reads `dir/host.toml`, or the defaults when it does not exist.
    pub fn load(dir: &Path) -> Result<Self, ConfigError> {
        let path = Self::path(dir);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text).map_err(|message| ConfigError::Parse { path, message }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(ConfigError::Read { path, source }),
        }
    }

    /// Parses TOML text and checks the values.
    pub fn parse(text: &str) -> Result<Self, String> {
        let config: Self = toml::from_str(text).map_err(|e| e.to_string())?;
        LicensingMode::from_value(config.licensing_mode).map_err(|e| e.to_string())?;
        if config.admin_user.is_some() != config.admin_password_hash.is_some() {
            return Err("AdminUser and AdminPasswordHash go together: set both with `rdlic host admin-password`".into());
        }
        if [config.x224_timeout_secs, config.tls_handshake_timeout_secs, config.connect_sequence_timeout_secs, config.licensing_timeout_secs]
            .contains(&0)
        {
            return Err("X224TimeoutSecs, TlsHandshakeTimeoutSecs, ConnectSequenceTimeoutSecs and LicensingTimeoutSecs must be at least 1".into());
        }
        if let Some(mode) = config.policy.licensing_mode {
            LicensingMode::from_value(mode).map_err(|e| format!("[Policy] {e}"))?;
        }
        if !matches!(config.licensing_certificate.as_str(), "proprietary" | "x509") {
            return Err(format!("LicensingCertificate {:?}: use \"proprietary\" or \"x509\"", config.licensing_certificate));
        }
        Ok(config)
    }

    /// Writes `dir/host.toml` (creating `dir`).
    pub fn save(&self, dir: &Path) -> Result<(), ConfigError> {
        let path = Self::path(dir);
        std::fs::create_dir_all(dir).map_err(|source| ConfigError::Write { path: path.clone(), source })?;
        let text = toml::to_string(self).map_err(|e| ConfigError::Parse { path: path.clone(), message: e.to_string() })?;
        std::fs::write(&path, text).map_err(|source| ConfigError::Write { path, source })
    }

    /// The licensing mode in effect (the policy's when set, else the local one), validated.
    pub fn mode(&self) -> Result<LicensingMode, ConfigError> {
        LicensingMode::from_value(self.licensing_settings().mode.value)
    }

    /// The license servers in effect, in order (the policy's `LicenseServers` when set, else
    /// `SpecifiedLicenseServers`).
    pub fn license_servers(&self) -> Vec<String> {
        self.licensing_settings().license_servers.value
    }

    /// The licensing settings with Group Policy precedence, each with its source and the local value it shadows.
    pub fn licensing_settings(&self) -> LicensingSettings {
        winreg::licensing_settings(self)
    }

    /// Whether the RD Session Host role is installed (otherwise: remote-administration mode).
    pub fn session_host_role(&self) -> bool {
        self.rds_rd_server_install_state != 0
    }
}

/// `host.toml` seen as the registry of a Windows session host: the keys of the table at the top of this module.
/// Values that the host does not model (`fDenyTSConnections`, services, the RDP port) are absent.
impl RegistryView for HostConfig {
    fn value(&self, key: &str, name: &str) -> Option<RegValue> {
        let key = winreg::canonical_key(key);
        let is = |path: &str, value: &str| key == winreg::canonical_key(path) && name.eq_ignore_ascii_case(value);
        if is(paths::LICENSING_CORE, "LicensingMode") {
            Some(RegValue::Dword(self.licensing_mode))
        } else if is(paths::TERMSERVICE_LICENSE_SERVERS, "SpecifiedLicenseServers") {
            (!self.specified_license_servers.is_empty()).then(|| RegValue::MultiSz(self.specified_license_servers.clone()))
        } else if is(paths::RDS_RD_SERVER, "InstallState") {
            Some(RegValue::Dword(self.rds_rd_server_install_state))
        } else if is(paths::RDS_LICENSING, "InstallState") {
            Some(RegValue::Dword(self.rds_licensing_install_state))
        } else if is(paths::POLICY_TERMINAL_SERVICES, "LicensingMode") {
            self.policy.licensing_mode.map(RegValue::Dword)
        } else if is(paths::POLICY_TERMINAL_SERVICES, "LicenseServers") {
            self.policy.license_servers.clone().map(RegValue::Sz)
        } else {
            None
        }
    }

    fn key_exists(&self, key: &str) -> bool {
        let key = winreg::canonical_key(key);
        let always =
            [paths::LICENSING_CORE, paths::TERMSERVICE_PARAMETERS, paths::RDS_RD_SERVER, paths::RDS_LICENSING, paths::SERVICE_TERMSERVICE];
        always.iter().any(|k| winreg::canonical_key(k) == key)
            || (key == winreg::canonical_key(paths::TERMSERVICE_LICENSE_SERVERS) && !self.specified_license_servers.is_empty())
            || (key == winreg::canonical_key(paths::POLICY_TERMINAL_SERVICES) && !self.policy.is_empty())
            || (key == winreg::canonical_key(paths::SERVICE_TERMSERVLICENSING) && self.rds_licensing_install_state != 0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn windows_names_round_trip() {
        let text = "LicensingMode = 2\nSpecifiedLicenseServers = [\"ls1\", \"ls2\"]\nRdsRdServerInstallState = 0\n";
        let config = HostConfig::parse(text).unwrap();
        assert_eq!(config.mode().unwrap(), LicensingMode::PerDevice);
        assert_eq!(config.specified_license_servers, vec!["ls1", "ls2"]);
        assert!(!config.session_host_role());
        assert_eq!(config.grace_period_days, 120);
        let again = HostConfig::parse(&toml::to_string(&config).unwrap()).unwrap();
        assert_eq!(again, config);
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(HostConfig::parse("LicensingMode = 3").is_err());
        assert!(HostConfig::parse("Bogus = 1").is_err());
        assert!(HostConfig::parse("LicensingMode = \"two\"").is_err());
        assert!(HostConfig::parse("AdminUser = \"admin\"").is_err(), "a user without a hash");
        assert!(HostConfig::parse("X224TimeoutSecs = 0").is_err());
    }

    #[test]
    fn network_defaults_and_admin_account_round_trip() {
        let config = HostConfig::parse("").unwrap();
        assert_eq!((config.x224_timeout_secs, config.max_connections, config.admin_user.as_deref()), (10, 1024, None));
        let text = "AdminUser = \"admin\"\nAdminPasswordHash = \"pbkdf2-sha256$1$00$00\"\nMetricsListen = \"127.0.0.1:9464\"\nIdleSessionTimeoutSecs = 0\n";
        let config = HostConfig::parse(text).unwrap();
        assert_eq!(config.admin_user.as_deref(), Some("admin"));
        assert_eq!(config.idle_session_timeout_secs, 0);
        assert_eq!(HostConfig::parse(&toml::to_string(&config).unwrap()).unwrap(), config);
    }

    #[test]
    fn policy_values_win_over_local_ones() {
        let text = "LicensingMode = 2\nSpecifiedLicenseServers = [\"ls-local\"]\n\n[Policy]\nLicensingMode = 4\nLicenseServers = \"ls1.contoso.com,ls2.contoso.com\"\n";
        let config = HostConfig::parse(text).unwrap();
        assert_eq!(config.mode().unwrap(), LicensingMode::PerUser);
        assert_eq!(config.license_servers(), vec!["ls1.contoso.com", "ls2.contoso.com"]);
        let settings = config.licensing_settings();
        assert_eq!(settings.mode.source, winreg::SettingSource::Policy);
        assert_eq!(settings.mode.local, Some((2, paths::LICENSING_CORE)));
        assert!(config.key_exists(paths::POLICY_TERMINAL_SERVICES));
        let again = HostConfig::parse(&toml::to_string(&config).unwrap()).unwrap();
        assert_eq!(again, config);
        // Without the policy the local values apply, and no [Policy] table is written.
        let local = HostConfig { policy: PolicyConfig::default(), ..config };
        assert_eq!(local.mode().unwrap(), LicensingMode::PerDevice);
        assert_eq!(local.license_servers(), vec!["ls-local"]);
        assert!(!toml::to_string(&local).unwrap().contains("Policy"));
        assert!(!local.key_exists(paths::POLICY_TERMINAL_SERVICES));
        assert!(HostConfig::parse("[Policy]\nLicensingMode = 3\n").is_err());
        assert!(HostConfig::parse("[Policy]\nfDenyTSConnections = 1\n").is_err());
    }
}
