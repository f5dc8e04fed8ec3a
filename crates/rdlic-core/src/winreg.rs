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

/// Where an effective setting comes from, in the order Windows looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SettingSource {
    /// Group Policy (`HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services`): wins over the local value.
    Policy,
    /// The local value (`RCM\Licensing Core`, `TermService\Parameters[\LicenseServers]`), which the Remote Desktop
    /// Services console and the article's `reg add` write.
    Local,
    /// Neither is set: Windows' default.
    Default,
}

impl SettingSource {
    /// `policy`, `local` or `default`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Policy => "policy",
            Self::Local => "local",
            Self::Default => "default",
        }
    }
}

/// One setting as Windows applies it: the value in effect, where it came from, and the local value that a policy
/// shadows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveSetting<T> {
    /// The value in effect.
    pub value: T,
    /// Where it came from.
    pub source: SettingSource,
    /// The key it was read from (`None` for a default).
    pub key: Option<&'static str>,
    /// The local value, whether or not it is in effect, and the key it was read from (`None` when absent).
    pub local: Option<(T, &'static str)>,
}

impl<T: PartialEq> EffectiveSetting<T> {
    /// A policy is in effect and the local value is absent or different: an edit of the local value (the
    /// article's `reg add`) changes nothing while the policy stays.
    pub fn policy_shadows_local(&self) -> bool {
        self.source == SettingSource::Policy && self.local.as_ref().is_none_or(|(local, _)| *local != self.value)
    }
}

/// `LicensingMode` when nothing sets it: 5, not configured.
pub const DEFAULT_LICENSING_MODE: u32 = 5;

/// The licensing settings of a session host with Group Policy precedence ([rds-facts 2.4]: "Any settings that you
/// configure by using Group Policy override settings that you configure by using the Remote Desktop Services
/// console in Server Manager").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicensingSettings {
    /// `LicensingMode`: policy `LicensingMode`, else `RCM\Licensing Core` `LicensingMode`, else 5.
    pub mode: EffectiveSetting<u32>,
    /// The license servers, in order: policy `LicenseServers`, else `SpecifiedLicenseServers` (under
    /// `TermService\Parameters\LicenseServers`, where Windows keeps it, else under `TermService\Parameters`, which
    /// the article's `reg` line names), else none.
    pub license_servers: EffectiveSetting<Vec<String>>,
}

/// Splits a license-server list as Windows writes it: the policy's `LicenseServers` is one string of names
/// separated by commas (the Group Policy editor's syntax), `SpecifiedLicenseServers` a `REG_MULTI_SZ`; both are
/// accepted either way. Blank entries are dropped.
pub fn split_license_servers(value: &RegValue) -> Option<Vec<String>> {
    let strings = value.as_strings()?;
    Some(
        strings
            .iter()
            .flat_map(|s| s.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
    )
}

/// Reads the licensing settings from `view` with Group Policy precedence. A value of the wrong type is ignored,
/// as an absent one (Windows reads `LicensingMode` as a `REG_DWORD`); an empty policy `LicenseServers` does not
/// override the local list.
pub fn licensing_settings<V: RegistryView + ?Sized>(view: &V) -> LicensingSettings {
    let dword = |key: &'static str, name: &str| view.value(key, name).and_then(|v| v.as_dword()).map(|v| (v, key));
    let servers = |key: &'static str, name: &str| {
        view.value(key, name).and_then(|v| split_license_servers(&v)).filter(|list| !list.is_empty()).map(|v| (v, key))
    };
    let policy_mode = dword(paths::POLICY_TERMINAL_SERVICES, "LicensingMode");
    let local_mode = dword(paths::LICENSING_CORE, "LicensingMode");
    let policy_servers = servers(paths::POLICY_TERMINAL_SERVICES, "LicenseServers");
    let local_servers = servers(paths::TERMSERVICE_LICENSE_SERVERS, "SpecifiedLicenseServers")
        .or_else(|| servers(paths::TERMSERVICE_PARAMETERS, "SpecifiedLicenseServers"));
    LicensingSettings {
        mode: effective(policy_mode, local_mode, DEFAULT_LICENSING_MODE),
        license_servers: effective(policy_servers, local_servers, Vec::new()),
    }
}

fn effective<T: Clone>(
    policy: Option<(T, &'static str)>,
    local: Option<(T, &'static str)>,
    default: T,
) -> EffectiveSetting<T> {
    match (policy, &local) {
        (Some((value, key)), _) => EffectiveSetting { value, source: SettingSource::Policy, key: Some(key), local },
        (None, Some((value, key))) => {
            EffectiveSetting { value: value.clone(), source: SettingSource::Local, key: Some(key), local }
        }
        (None, None) => EffectiveSetting { value: default, source: SettingSource::Default, key: None, local: None },
    }
}

/// `fDenyTSConnections` as Windows applies it: the policy value wins over the one under `Terminal Server`; `None`
/// when neither is set.
pub fn deny_ts_connections<V: RegistryView + ?Sized>(view: &V) -> Option<EffectiveSetting<u32>> {
    let dword = |key: &'static str| view.value(key, "fDenyTSConnections").and_then(|v| v.as_dword()).map(|v| (v, key));
    let policy = dword(paths::POLICY_TERMINAL_SERVICES);
    let local = dword(paths::TERMINAL_SERVER);
    (policy.is_some() || local.is_some()).then(|| effective(policy, local, 0))
}

/// Canonical form of a key path for comparisons: `HKEY_LOCAL_MACHINE` written `HKLM`, no trailing backslash,
/// ASCII lower case (registry names compare case-insensitively).
pub fn canonical_key(path: &str) -> String {
    let trimmed = path.trim().trim_end_matches('\\');
    let rest = strip_prefix_ignore_case(trimmed, "HKEY_LOCAL_MACHINE")
        .map(|rest| format!("HKLM{rest}"))
        .unwrap_or_else(|| trimmed.to_owned());
    rest.to_ascii_lowercase()
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    let rest = text.get(prefix.len()..)?;
    (head.eq_ignore_ascii_case(prefix) && (rest.is_empty() || rest.starts_with('\\'))).then_some(rest)
}

/// A [`RegistryView`] held in memory: keys and values set one by one (tests, and sources that read everything at
/// once such as a `reg export` file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryRegistry {
    /// Canonical key path → (value name in lower case → (name as written, value)).
    keys: std::collections::BTreeMap<String, std::collections::BTreeMap<String, (String, RegValue)>>,
}

impl MemoryRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates `key` (and nothing else: parents are implied by the path).
    pub fn create_key(&mut self, key: &str) {
        self.keys.entry(canonical_key(key)).or_default();
    }

    /// Sets `name` under `key`, creating the key.
    pub fn set(&mut self, key: &str, name: &str, value: RegValue) {
        self.keys.entry(canonical_key(key)).or_default().insert(name.to_ascii_lowercase(), (name.to_owned(), value));
    }

    /// Removes `name` under `key` (a `reg export` `"Name"=-` line).
    pub fn remove_value(&mut self, key: &str, name: &str) {
        if let Some(values) = self.keys.get_mut(&canonical_key(key)) {
            values.remove(&name.to_ascii_lowercase());
        }
    }

    /// Removes `key` and every key under it (a `[-KEY]` section).
    pub fn remove_key(&mut self, key: &str) {
        let key = canonical_key(key);
        let below = format!("{key}\\");
        self.keys.retain(|k, _| *k != key && !k.starts_with(&below));
    }

    /// The keys, in canonical (lower-case) form, sorted.
    pub fn key_paths(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// The values of `key`: (name as written, value), sorted by name.
    pub fn values_of(&self, key: &str) -> Vec<(&str, &RegValue)> {
        self.keys
            .get(&canonical_key(key))
            .map(|values| values.values().map(|(name, value)| (name.as_str(), value)).collect())
            .unwrap_or_default()
    }
}

impl RegistryView for MemoryRegistry {
    fn value(&self, key: &str, name: &str) -> Option<RegValue> {
        self.keys.get(&canonical_key(key))?.get(&name.to_ascii_lowercase()).map(|(_, value)| value.clone())
    }

    fn key_exists(&self, key: &str) -> bool {
        let key = canonical_key(key);
        let below = format!("{key}\\");
        self.keys
            .range(key.clone()..)
            .take_while(|(k, _)| k.starts_with(&key))
            .any(|(k, _)| *k == key || k.starts_with(&below))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_of_sz_and_multi_sz_and_dwords_of_qwords() {
        assert_eq!(RegValue::Sz("a".into()).as_strings(), Some(vec!["a".to_owned()]));
        assert_eq!(RegValue::MultiSz(vec!["a".into(), "b".into()]).as_strings().map(|v| v.len()), Some(2));
        assert_eq!(RegValue::Dword(4).as_strings(), None);
        assert_eq!(RegValue::Qword(5).as_dword(), Some(5));
        assert_eq!(RegValue::Qword(u64::MAX).as_dword(), None);
        assert_eq!(RegValue::Other { kind: 9, data: vec![] }.kind(), 9);
    }

    const POLICY: &str = paths::POLICY_TERMINAL_SERVICES;

    #[test]
    fn defaults_when_nothing_is_set() {
        let settings = licensing_settings(&MemoryRegistry::new());
        assert_eq!(settings.mode.value, 5);
        assert_eq!(settings.mode.source, SettingSource::Default);
        assert!(settings.license_servers.value.is_empty());
        assert_eq!(settings.license_servers.key, None);
        assert_eq!(deny_ts_connections(&MemoryRegistry::new()), None);
    }

    #[test]
    fn policy_wins_over_local_and_keeps_the_shadowed_value() {
        let mut reg = MemoryRegistry::new();
        reg.set(paths::LICENSING_CORE, "LicensingMode", RegValue::Dword(2));
        reg.set(paths::TERMSERVICE_LICENSE_SERVERS, "SpecifiedLicenseServers", RegValue::MultiSz(vec!["ls-local".into()]));
        let local = licensing_settings(&reg);
        assert_eq!((local.mode.value, local.mode.source), (2, SettingSource::Local));
        assert!(!local.mode.policy_shadows_local());
        reg.set(POLICY, "licensingmode", RegValue::Dword(4));
        reg.set(POLICY, "LicenseServers", RegValue::Sz("ls1.contoso.com, ls2.contoso.com,".into()));
        let s = licensing_settings(&reg);
        assert_eq!((s.mode.value, s.mode.source, s.mode.key), (4, SettingSource::Policy, Some(POLICY)));
        assert_eq!(s.mode.local, Some((2, paths::LICENSING_CORE)));
        assert!(s.mode.policy_shadows_local());
        assert_eq!(s.license_servers.value, vec!["ls1.contoso.com", "ls2.contoso.com"]);
        assert_eq!(s.license_servers.local, Some((vec!["ls-local".to_owned()], paths::TERMSERVICE_LICENSE_SERVERS)));
        // Same value in both: the policy is in effect, an edit of the local one would not be.
        reg.set(POLICY, "LicensingMode", RegValue::Dword(2));
        assert!(!licensing_settings(&reg).mode.policy_shadows_local());
        // A policy value of the wrong type, or an empty list, is ignored.
        reg.set(POLICY, "LicensingMode", RegValue::Sz("4".into()));
        reg.set(POLICY, "LicenseServers", RegValue::Sz(" ".into()));
        let s = licensing_settings(&reg);
        assert_eq!((s.mode.value, s.mode.source), (2, SettingSource::Local));
        assert_eq!(s.license_servers.source, SettingSource::Local);
    }

    #[test]
    fn specified_license_servers_under_either_key() {
        let mut reg = MemoryRegistry::new();
        reg.set(paths::TERMSERVICE_PARAMETERS, "SpecifiedLicenseServers", RegValue::MultiSz(vec!["a".into(), "".into(), "b".into()]));
        let s = licensing_settings(&reg).license_servers;
        assert_eq!((s.value.clone(), s.key), (vec!["a".to_owned(), "b".to_owned()], Some(paths::TERMSERVICE_PARAMETERS)));
        reg.set(paths::TERMSERVICE_LICENSE_SERVERS, "SpecifiedLicenseServers", RegValue::MultiSz(vec!["c".into()]));
        assert_eq!(licensing_settings(&reg).license_servers.key, Some(paths::TERMSERVICE_LICENSE_SERVERS));
    }

    #[test]
    fn deny_connections_policy_wins() {
        let mut reg = MemoryRegistry::new();
        reg.set(paths::TERMINAL_SERVER, "fDenyTSConnections", RegValue::Dword(0));
        assert_eq!(deny_ts_connections(&reg).map(|d| (d.value, d.source)), Some((0, SettingSource::Local)));
        reg.set(POLICY, "fDenyTSConnections", RegValue::Dword(1));
        let d = deny_ts_connections(&reg);
        assert_eq!(d.as_ref().map(|d| (d.value, d.source)), Some((1, SettingSource::Policy)));
        assert!(d.is_some_and(|d| d.policy_shadows_local()));
    }

    #[test]
    fn memory_registry_keys_and_paths() {
        let mut reg = MemoryRegistry::new();
        reg.create_key(r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\TermServLicensing");
        assert!(reg.key_exists(paths::SERVICE_TERMSERVLICENSING));
        assert!(reg.key_exists(r"hklm\system\currentcontrolset\services"));
        assert!(!reg.key_exists(r"HKLM\SYSTEM\CurrentControlSet\Services\TermServ"));
        reg.set(paths::RDP_TCP, "PortNumber", RegValue::Dword(3389));
        reg.remove_key(r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server");
        assert!(!reg.key_exists(paths::RDP_TCP));
        assert!(reg.key_exists(paths::SERVICE_TERMSERVLICENSING));
        assert_eq!(canonical_key(r"HKEY_LOCAL_MACHINEX\A\"), r"hkey_local_machinex\a");
        assert_eq!(canonical_key(r"HKEY_LOCAL_MACHINE\A\"), r"hklm\a");
        reg.create_key(r"HKLM\SYSTEM\CurrentControlSet\Services TermServ");
        assert!(reg.key_exists(r"hklm\system\currentcontrolset\services"));
    }
}
