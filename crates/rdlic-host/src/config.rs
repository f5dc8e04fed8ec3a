//! Host configuration (`host.toml` in the host data directory), with the Windows value names.
//!
//! | Windows (registry / dism)                                                               | here                         |
//! |------------------------------------------------------------------------------------------|------------------------------|
//! | `HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM\Licensing Core` `LicensingMode` | `LicensingMode` (2, 4, 5)    |
//! | `HKLM\SYSTEM\CurrentControlSet\Services\TermService\Parameters` `SpecifiedLicenseServers`  | `SpecifiedLicenseServers`    |
//! | `...\ServerComponentCache\RDS-RD-Server` `InstallState` / feature `Remote-Desktop-Services`| `RdsRdServerInstallState`    |
//! | `...\ServerComponentCache\RDS-Licensing` `InstallState` / feature `Licensing`              | `RdsLicensingInstallState`   |
//!
//! As on Windows, changes are read at start: a running host keeps the values it started with.

use std::path::{Path, PathBuf};

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

    /// The licensing mode, validated.
    pub fn mode(&self) -> Result<LicensingMode, ConfigError> {
        LicensingMode::from_value(self.licensing_mode)
    }

    /// Whether the RD Session Host role is installed (otherwise: remote-administration mode).
    pub fn session_host_role(&self) -> bool {
        self.rds_rd_server_install_state != 0
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
    }
}
