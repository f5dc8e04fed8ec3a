//! The files of `rdlic offline`: finding the hives of a mounted Windows volume, their transaction logs, backups
//! beside them, logs set aside after a replay, and writing a hive back. The hive bytes themselves are `regf`'s.
//!
//! NTFS mounts differ in case (`Windows/System32/config`, `WINDOWS/system32/CONFIG`), so every name is matched
//! case-insensitively.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{bail, Context};

/// The hive files of one Windows installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HiveFiles {
    /// The folder that holds them (`.../Windows/System32/config`, or the folder given).
    pub(crate) dir: PathBuf,
    /// `SYSTEM`.
    pub(crate) system: PathBuf,
    /// `SOFTWARE`, when present.
    pub(crate) software: Option<PathBuf>,
}

/// The entry of `dir` named `name`, compared case-insensitively (an exact match first).
fn child(dir: &Path, name: &str) -> Option<PathBuf> {
    let exact = dir.join(name);
    if exact.exists() {
        return Some(exact);
    }
    let entries = std::fs::read_dir(dir).ok()?;
    entries.flatten().map(|e| e.path()).find(|p| {
        p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.eq_ignore_ascii_case(name))
    })
}

/// Finds the hives under `path`: a mounted Windows volume (its `Windows/System32/config`), that folder itself, or
/// any folder holding a `SYSTEM` hive file (and maybe `SOFTWARE`).
pub(crate) fn find_hives(path: &Path) -> anyhow::Result<HiveFiles> {
    let mut dir = path.to_path_buf();
    if child(&dir, "SYSTEM").filter(|p| p.is_file()).is_none() {
        let config = ["Windows", "System32", "config"].iter().try_fold(path.to_path_buf(), |d, n| child(&d, n));
        match config {
            Some(c) => dir = c,
            None => bail!(
                "{}: no Windows/System32/config folder and no SYSTEM hive file here; give the mounted Windows \
                 volume or a folder holding SYSTEM and SOFTWARE",
                path.display()
            ),
        }
    }
    let system = child(&dir, "SYSTEM")
        .filter(|p| p.is_file())
        .with_context(|| format!("{}: no SYSTEM hive file", dir.display()))?;
    let software = child(&dir, "SOFTWARE").filter(|p| p.is_file());
    Ok(HiveFiles { dir, system, software })
}

/// The transaction logs of `hive` that exist and are not empty: `HIVE.LOG1`, `HIVE.LOG2`, `HIVE.LOG`.
pub(crate) fn logs_of(hive: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (hive.parent(), hive.file_name().and_then(|n| n.to_str())) else {
        return Vec::new();
    };
    ["LOG1", "LOG2", "LOG"]
        .iter()
        .filter_map(|ext| child(dir, &format!("{name}.{ext}")))
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() > 0))
        .collect()
}

/// A UTC timestamp for file names, `20261203T081500Z`.
pub(crate) fn stamp(now: SystemTime) -> String {
    let secs = now.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (year, month, day) = rdpele::der::civil_from_days(days);
    format!("{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// `PATH.rdlic-STAMP[-N].EXT` beside `path`: the first of these names that no file has (two runs within one second
/// get `-2`, `-3`...).
fn free_sibling(path: &Path, stamp: &str, ext: &str) -> anyhow::Result<PathBuf> {
    (1..1000u32)
        .map(|n| sibling(path, &if n == 1 { format!("rdlic-{stamp}.{ext}") } else { format!("rdlic-{stamp}-{n}.{ext}") }))
        .find(|p| std::fs::symlink_metadata(p).is_err())
        .with_context(|| format!("{}: no free name for a .{ext} copy", path.display()))
}

/// Copies `hive` to `HIVE.rdlic-STAMP.bak` beside it (`-2`, `-3`... when that name is taken; never over an existing
/// file); returns the copy's path.
pub(crate) fn backup(hive: &Path, stamp: &str) -> anyhow::Result<PathBuf> {
    let target = free_sibling(hive, stamp, "bak")?;
    let mut from = std::fs::File::open(hive).with_context(|| format!("reading {}", hive.display()))?;
    let mut to = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&target)
        .with_context(|| format!("creating the backup {}", target.display()))?;
    std::io::copy(&mut from, &mut to)
        .and_then(|_| to.sync_all())
        .with_context(|| format!("backing up {} to {}", hive.display(), target.display()))?;
    Ok(target)
}

/// Renames replayed logs to `LOG.rdlic-STAMP.replayed`, so that Windows does not replay them again over the
/// recovered hive; returns the new paths.
pub(crate) fn set_logs_aside(logs: &[PathBuf], stamp: &str) -> anyhow::Result<Vec<PathBuf>> {
    logs.iter()
        .map(|log| {
            let target = free_sibling(log, stamp, "replayed")?;
            std::fs::rename(log, &target)
                .with_context(|| format!("moving {} to {}", log.display(), target.display()))?;
            Ok(target)
        })
        .collect()
}

/// Writes a hive's new bytes: to a temporary file beside it, flushed, then renamed over it.
pub(crate) fn write_hive(hive: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let tmp = sibling(hive, "rdlic-new");
    let mut f = std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(bytes).and_then(|()| f.sync_all()).with_context(|| format!("writing {}", tmp.display()))?;
    drop(f);
    std::fs::rename(&tmp, hive).with_context(|| format!("replacing {}", hive.display()))
}

/// `dir/NAME.suffix` for the file `dir/NAME`.
fn sibling(file: &Path, suffix: &str) -> PathBuf {
    let mut name = file.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".");
    name.push(suffix);
    file.with_file_name(name)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rdlic-offline-fs-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn finds_config_case_insensitively_or_a_plain_folder() {
        let root = tmp("find");
        let config = root.join("WINDOWS/system32/Config");
        std::fs::create_dir_all(&config).unwrap();
        std::fs::write(config.join("system"), b"s").unwrap();
        std::fs::write(config.join("Software"), b"s").unwrap();
        std::fs::write(config.join("SYSTEM.LOG1"), b"l").unwrap();
        std::fs::write(config.join("system.log2"), b"").unwrap();
        let found = find_hives(&root).unwrap();
        assert_eq!(found.system, config.join("system"));
        assert_eq!(found.software, Some(config.join("Software")));
        assert_eq!(find_hives(&config).unwrap(), found);
        // The empty LOG2 is not a log to replay.
        assert_eq!(logs_of(&found.system), vec![config.join("SYSTEM.LOG1")]);
        assert!(find_hives(&root.join("WINDOWS")).is_err());
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn backups_and_logs_aside_keep_the_originals() {
        let d = tmp("backup");
        let hive = d.join("SYSTEM");
        std::fs::write(&hive, b"old").unwrap();
        std::fs::write(d.join("SYSTEM.LOG1"), b"log").unwrap();
        let b = backup(&hive, "20261203T081500Z").unwrap();
        assert_eq!(b, d.join("SYSTEM.rdlic-20261203T081500Z.bak"));
        // A second backup within the same second gets a name of its own.
        let b2 = backup(&hive, "20261203T081500Z").unwrap();
        assert_eq!(b2, d.join("SYSTEM.rdlic-20261203T081500Z-2.bak"));
        assert_eq!(std::fs::read(&b).unwrap(), b"old");
        write_hive(&hive, b"new").unwrap();
        assert_eq!((std::fs::read(&hive).unwrap(), std::fs::read(&b).unwrap()), (b"new".to_vec(), b"old".to_vec()));
        let aside = set_logs_aside(&logs_of(&hive), "X").unwrap();
        assert_eq!(aside, vec![d.join("SYSTEM.LOG1.rdlic-X.replayed")]);
        assert!(logs_of(&hive).is_empty());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn stamps_are_utc_calendar_times() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_796_199_300);
        assert_eq!(stamp(t), "20261202T081500Z"); // date -u -d @1796199300
        assert_eq!(stamp(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(951_782_400)), "20000229T000000Z");
    }
}
