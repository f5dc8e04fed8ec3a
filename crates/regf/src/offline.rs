//! The registry of an offline Windows installation, from its `SYSTEM` and `SOFTWARE` hive files
//! (`Windows\System32\config`), seen through [`RegistryView`] with `reg.exe` paths.
//!
//! `HKLM\SYSTEM\CurrentControlSet` does not exist in a hive file: Windows creates it at boot as a link to the
//! control set that `SYSTEM\Select` names. Offline, the one that the next boot uses is `Select\Default`
//! (`Current` is the one in use when the hive was last written; they differ after a "Last Known Good" boot).

use rdlic_core::winreg::{RegValue, RegistryView};

use crate::hive::split_path;
use crate::{Error, Hive};

/// Which hive file a path lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HiveFile {
    /// `Windows\System32\config\SYSTEM` (`HKLM\SYSTEM`).
    System,
    /// `Windows\System32\config\SOFTWARE` (`HKLM\SOFTWARE`).
    Software,
}

impl HiveFile {
    /// The file name under `Windows\System32\config`.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::System => "SYSTEM",
            Self::Software => "SOFTWARE",
        }
    }
}

/// A registry path resolved to a hive file and a key path inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The hive file.
    pub hive: HiveFile,
    /// The key below the hive's root, `\`-separated, `CurrentControlSet` replaced by `ControlSet00N`.
    pub key: String,
}

/// `HKLM\SYSTEM\Select`: the control sets by role (each a number N of `ControlSet00N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Select {
    /// `Current`: the control set in use when the hive was last written.
    pub current: Option<u32>,
    /// `Default`: the one the next boot uses, and the one that `CurrentControlSet` means here.
    pub default: Option<u32>,
    /// `LastKnownGood`.
    pub last_known_good: Option<u32>,
    /// `Failed`: the control set replaced by a Last Known Good boot (0 when none).
    pub failed: Option<u32>,
}

impl Select {
    /// Reads `Select` from a SYSTEM hive; `None` when the key is missing.
    pub fn read<B: AsRef<[u8]>>(system: &Hive<B>) -> Result<Option<Self>, Error> {
        let Some(key) = system.key("Select")? else { return Ok(None) };
        let get = |name: &str| -> Result<Option<u32>, Error> {
            Ok(match key.value(name)? {
                Some(v) => v.decode()?.as_dword(),
                None => None,
            })
        };
        Ok(Some(Self {
            current: get("Current")?,
            default: get("Default")?,
            last_known_good: get("LastKnownGood")?,
            failed: get("Failed")?,
        }))
    }

    /// The control set that `CurrentControlSet` stands for: `Default`, else `Current`.
    pub fn control_set(&self) -> Option<u32> {
        self.default.or(self.current)
    }

    /// Whether `Current` and `Default` name different control sets (worth a warning: the values read are those
    /// of the next boot, not of the last one).
    pub fn current_differs(&self) -> bool {
        matches!((self.current, self.default), (Some(c), Some(d)) if c != d)
    }
}

/// Resolves a `reg.exe` path (`HKLM\SYSTEM\CurrentControlSet\...`, `HKEY_LOCAL_MACHINE\SOFTWARE\...`, compared
/// case-insensitively) to a hive file and a key inside it. `CurrentControlSet` becomes `ControlSet00N` with N
/// from `select` ([`Select::control_set`]); without it such a path does not resolve. Other roots (`HKCU`,
/// `HKLM\SAM`...) do not resolve either.
pub fn locate(path: &str, select: Option<&Select>) -> Option<Location> {
    let mut parts = split_path(path);
    let root = parts.next()?;
    if !root.eq_ignore_ascii_case("HKLM") && !root.eq_ignore_ascii_case("HKEY_LOCAL_MACHINE") {
        return None;
    }
    let hive = parts.next()?;
    let rest: Vec<&str> = parts.collect();
    if hive.eq_ignore_ascii_case("SOFTWARE") {
        return Some(Location { hive: HiveFile::Software, key: rest.join("\\") });
    }
    if !hive.eq_ignore_ascii_case("SYSTEM") {
        return None;
    }
    let mut key = Vec::with_capacity(rest.len());
    for (i, p) in rest.iter().enumerate() {
        if i == 0 && p.eq_ignore_ascii_case("CurrentControlSet") {
            key.push(format!("ControlSet{:03}", select?.control_set()?));
        } else {
            key.push((*p).to_owned());
        }
    }
    Some(Location { hive: HiveFile::System, key: key.join("\\") })
}

/// The registry of an offline Windows disk: its SYSTEM hive and, when present, its SOFTWARE hive, borrowed from
/// the bytes read from the files (no copy per key).
#[derive(Debug)]
pub struct OfflineWindows<'a> {
    system: Hive<&'a [u8]>,
    software: Option<Hive<&'a [u8]>>,
    select: Option<Select>,
}

impl<'a> OfflineWindows<'a> {
    /// Parses both hives and reads `Select`. A dirty hive is read as it is on disk (its logs' pending changes are
    /// missing: check [`Hive::is_dirty`] through [`Self::system`] / [`Self::software`] and replay them first to
    /// see them).
    pub fn new(system: &'a [u8], software: Option<&'a [u8]>) -> Result<Self, Error> {
        let system = Hive::parse(system)?;
        let software = software.map(Hive::parse).transpose()?;
        let select = Select::read(&system)?;
        Ok(Self { system, software, select })
    }

    /// The SYSTEM hive.
    pub fn system(&self) -> &Hive<&'a [u8]> {
        &self.system
    }

    /// The SOFTWARE hive, if given.
    pub fn software(&self) -> Option<&Hive<&'a [u8]>> {
        self.software.as_ref()
    }

    /// `SYSTEM\Select`, or `None` when the key is missing (then `CurrentControlSet` paths do not resolve).
    pub fn select(&self) -> Option<&Select> {
        self.select.as_ref()
    }

    /// Resolves a `reg.exe` path ([`locate`] with this hive's `Select`).
    pub fn locate(&self, path: &str) -> Option<Location> {
        locate(path, self.select.as_ref())
    }

    fn hive(&self, which: HiveFile) -> Option<&Hive<&'a [u8]>> {
        match which {
            HiveFile::System => Some(&self.system),
            HiveFile::Software => self.software.as_ref(),
        }
    }

    /// [`RegistryView::value`] with the damage that it hides: `Err` when a cell on the way is corrupt.
    pub fn try_value(&self, key: &str, name: &str) -> Result<Option<RegValue>, Error> {
        let Some(loc) = self.locate(key) else { return Ok(None) };
        let Some(hive) = self.hive(loc.hive) else { return Ok(None) };
        hive.value(&loc.key, name)
    }

    /// [`RegistryView::key_exists`], `Err` when a cell on the way is corrupt.
    pub fn try_key_exists(&self, key: &str) -> Result<bool, Error> {
        let Some(loc) = self.locate(key) else { return Ok(false) };
        let Some(hive) = self.hive(loc.hive) else { return Ok(false) };
        Ok(hive.key(&loc.key)?.is_some())
    }
}

impl RegistryView for OfflineWindows<'_> {
    /// A corrupt cell on the way reads as absent; [`OfflineWindows::try_value`] tells them apart.
    fn value(&self, key: &str, name: &str) -> Option<RegValue> {
        self.try_value(key, name).ok().flatten()
    }

    fn key_exists(&self, key: &str) -> bool {
        self.try_key_exists(key).unwrap_or(false)
    }
}
