//! `--license-dir`: a client CAL store on disk, one file per (scope, company, product, version) — the index
//! MS-RDPELE 2.2.2.6.1 gives for NEW_LICENSE_INFO — holding the raw `pbLicenseInfo`, like FreeRDP's store.

use std::path::{Path, PathBuf};

use rdpele::client::{LicenseKey, LicenseStore};

/// A directory of CAL files.
#[derive(Debug, Clone)]
pub struct DirLicenseStore {
    dir: PathBuf,
    /// Files written during this exchange.
    pub written: Vec<PathBuf>,
    /// The file presented to the server, if any.
    pub presented: Option<PathBuf>,
    /// Write failures (the exchange goes on; the probe reports them).
    pub errors: Vec<String>,
}

impl DirLicenseStore {
    /// A store in `dir` (created on first write).
    pub fn new(dir: &Path) -> Self {
        Self { dir: dir.to_owned(), written: Vec::new(), presented: None, errors: Vec::new() }
    }

    /// The file that holds the CAL of `key`: `<scope>_<company>_<product>_<version hex>.cal`, each part reduced to
    /// `[A-Za-z0-9.-]`.
    pub fn path_for(&self, key: &LicenseKey) -> PathBuf {
        let clean = |s: &str| -> String {
            let mut out: String =
                s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '-' }).collect();
            if out.is_empty() {
                out.push('-');
            }
            out
        };
        self.dir.join(format!(
            "{}_{}_{}_{:08x}.cal",
            clean(&key.scope),
            clean(&key.company_name),
            clean(&key.product_id),
            key.version
        ))
    }
}

impl LicenseStore for DirLicenseStore {
    fn load(&mut self, key: &LicenseKey) -> Option<Vec<u8>> {
        let path = self.path_for(key);
        let bytes = std::fs::read(&path).ok().filter(|b| !b.is_empty())?;
        self.presented = Some(path);
        Some(bytes)
    }

    fn store(&mut self, key: &LicenseKey, cal: &[u8]) {
        let path = self.path_for(key);
        let result = std::fs::create_dir_all(&self.dir).and_then(|()| write_private(&path, cal));
        match result {
            Ok(()) => {
                if !self.written.contains(&path) {
                    self.written.push(path);
                }
            }
            Err(e) => self.errors.push(format!("{}: {e}", path.display())),
        }
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn one_file_per_product_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = DirLicenseStore::new(&dir.path().join("cals"));
        let key = LicenseKey {
            scope: "microsoft.com".into(),
            company_name: "Microsoft Corporation".into(),
            product_id: "A02".into(),
            version: 0x0006_0000,
        };
        assert_eq!(store.load(&key), None);
        store.store(&key, b"cal bytes");
        let other = LicenseKey { product_id: "A03".into(), ..key.clone() };
        store.store(&other, b"other");
        assert_eq!(store.load(&key).as_deref(), Some(&b"cal bytes"[..]));
        assert_eq!(store.written.len(), 2);
        let name = store.path_for(&key).file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(name, "microsoft.com_Microsoft-Corporation_A02_00060000.cal");
    }
}
