//! Windows registry values, as rdlic reads them from three sources that follow the same rules: a live rdlic session
//! host (its `host.toml`, edited with `rdlic reg`), a `reg export` text file, and the hives of an offline Windows
//! disk. The rules that turn those values into findings take a [`RegistryView`], so that a source only has to say
//! what a key holds.
//!
//! Paths are written the way `reg.exe` prints them (`HKLM\SYSTEM\CurrentControlSet\...`) and compared
//! case-insensitively. A view resolves `CurrentControlSet` itself: a live host has one, a `reg export` file names
//! it as exported, an offline hive maps it to `ControlSet00N` through `SYSTEM\Select`.

/// One registry value ([MS-RRP] 3.1.1.5 value types; the numbers are `REG_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegValue {
    /// `REG_SZ` (1).
    Sz(String),
    /// `REG_EXPAND_SZ` (2), not expanded.
    ExpandSz(String),
    /// `REG_BINARY` (3).
    Binary(Vec<u8>),
    /// `REG_DWORD` (4, little-endian).
    Dword(u32),
    /// `REG_MULTI_SZ` (7).
    MultiSz(Vec<String>),
    /// `REG_QWORD` (11).
    Qword(u64),
    /// Any other type, with its number and raw bytes.
    Other {
        /// The `REG_*` number.
        kind: u32,
        /// The value's bytes as stored.
        data: Vec<u8>,
    },
}

impl RegValue {
    /// `REG_SZ`.
    pub const REG_SZ: u32 = 1;
    /// `REG_EXPAND_SZ`.
    pub const REG_EXPAND_SZ: u32 = 2;
    /// `REG_BINARY`.
    pub const REG_BINARY: u32 = 3;
    /// `REG_DWORD`.
    pub const REG_DWORD: u32 = 4;
    /// `REG_MULTI_SZ`.
    pub const REG_MULTI_SZ: u32 = 7;
    /// `REG_QWORD`.
    pub const REG_QWORD: u32 = 11;

    /// The `REG_*` number of this value.
    pub fn kind(&self) -> u32 {
        match self {
            Self::Sz(_) => Self::REG_SZ,
            Self::ExpandSz(_) => Self::REG_EXPAND_SZ,
            Self::Binary(_) => Self::REG_BINARY,
            Self::Dword(_) => Self::REG_DWORD,
            Self::MultiSz(_) => Self::REG_MULTI_SZ,
            Self::Qword(_) => Self::REG_QWORD,
            Self::Other { kind, .. } => *kind,
        }
    }

    /// The number of a `REG_DWORD` (or a `REG_QWORD` that fits), as Windows' readers of these values accept.
    pub fn as_dword(&self) -> Option<u32> {
        match self {
            Self::Dword(v) => Some(*v),
            Self::Qword(v) => u32::try_from(*v).ok(),
            _ => None,
        }
    }

    /// The strings of a `REG_MULTI_SZ`, or the one string of a `REG_SZ` / `REG_EXPAND_SZ` (Windows reads
    /// `LicenseServers` policy values written either way).
    pub fn as_strings(&self) -> Option<Vec<String>> {
        match self {
            Self::MultiSz(v) => Some(v.clone()),
            Self::Sz(s) | Self::ExpandSz(s) => Some(vec![s.clone()]),
            _ => None,
        }
    }
}

/// A read-only view of the registry of one machine.
pub trait RegistryView {
    /// The value `name` of `key` (a full path such as
    /// `HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM\Licensing Core`, compared case-insensitively;
    /// `name` is also case-insensitive, the empty string is the key's default value), or `None` when the key or the
    /// value is absent.
    fn value(&self, key: &str, name: &str) -> Option<RegValue>;
    /// Whether `key` exists (a key may exist with no values, e.g. `Services\TermServLicensing`).
    fn key_exists(&self, key: &str) -> bool;
}

/// The keys that rdlic reads, as `reg.exe` names them.
pub mod paths {
    /// `LicensingMode` (local setting, REG_DWORD: 2 per device, 4 per user, 5 not configured).
    pub const LICENSING_CORE: &str = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM\Licensing Core";
    /// The grace-period key (its presence only: the timestamp is protected on Windows; never reset by rdlic).
    pub const GRACE_PERIOD: &str = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM\GracePeriod";
    /// `fDenyTSConnections` (local).
    pub const TERMINAL_SERVER: &str = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server";
    /// `PortNumber` of the RDP listener.
    pub const RDP_TCP: &str = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp";
    /// The parent key that the article's `reg add ... SpecifiedLicenseServers` line names.
    pub const TERMSERVICE_PARAMETERS: &str = r"HKLM\SYSTEM\CurrentControlSet\Services\TermService\Parameters";
    /// Where Windows keeps `SpecifiedLicenseServers` (REG_MULTI_SZ).
    pub const TERMSERVICE_LICENSE_SERVERS: &str =
        r"HKLM\SYSTEM\CurrentControlSet\Services\TermService\Parameters\LicenseServers";
    /// `Start` of the Remote Desktop Services service.
    pub const SERVICE_TERMSERVICE: &str = r"HKLM\SYSTEM\CurrentControlSet\Services\TermService";
    /// `Start` of Remote Desktop Configuration.
    pub const SERVICE_SESSIONENV: &str = r"HKLM\SYSTEM\CurrentControlSet\Services\SessionEnv";
    /// `Start` of the Remote Desktop Services UserMode Port Redirector.
    pub const SERVICE_UMRDPSERVICE: &str = r"HKLM\SYSTEM\CurrentControlSet\Services\UmRdpService";
    /// Present when the RD Licensing role (a license server) is installed.
    pub const SERVICE_TERMSERVLICENSING: &str = r"HKLM\SYSTEM\CurrentControlSet\Services\TermServLicensing";
    /// `InstallState` of the RD Session Host role (1 installed).
    pub const RDS_RD_SERVER: &str =
        r"HKLM\SOFTWARE\Microsoft\ServerManager\ServicingStorage\ServerComponentCache\RDS-RD-Server";
    /// `InstallState` of the RD Licensing role (1 installed).
    pub const RDS_LICENSING: &str =
        r"HKLM\SOFTWARE\Microsoft\ServerManager\ServicingStorage\ServerComponentCache\RDS-Licensing";
    /// Group Policy: `LicensingMode`, `LicenseServers`, `fDenyTSConnections`; these win over the local values.
    pub const POLICY_TERMINAL_SERVICES: &str = r"HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services";
}

#[cfg(test)]
mod tests {
    use super::RegValue;

    #[test]
    fn strings_of_sz_and_multi_sz_and_dwords_of_qwords() {
        assert_eq!(RegValue::Sz("a".into()).as_strings(), Some(vec!["a".to_owned()]));
        assert_eq!(RegValue::MultiSz(vec!["a".into(), "b".into()]).as_strings().map(|v| v.len()), Some(2));
        assert_eq!(RegValue::Dword(4).as_strings(), None);
        assert_eq!(RegValue::Qword(5).as_dword(), Some(5));
        assert_eq!(RegValue::Qword(u64::MAX).as_dword(), None);
        assert_eq!(RegValue::Other { kind: 9, data: vec![] }.kind(), 9);
    }
}
