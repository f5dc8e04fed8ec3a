//! The cluster bundle: what a second license server needs from the first one's data directory to serve the same
//! identity on the same database, sealed with a passphrase (`rdlic server export` / `rdlic server join`).
//!
//! It carries the identity key and certificate (CALs are signed with them and hosts trust that public key), the TLS
//! CA key and certificate (every server's TLS certificate and every enrolled host's client certificate are signed
//! by it, so a host enrolled through one server is accepted by all), the admin token and the clearinghouse public
//! key. It does not carry the TLS key (each server makes its own, for its own names), the node id or the database
//! URL.
//!
//! Format, version 1 (all integers single bytes):
//!
//! | bytes | field |
//! |---|---|
//! | 12 | magic `rdlic-bundle` |
//! | 1 | format version (1) |
//! | 1 | key derivation: 1 = scrypt |
//! | 3 | scrypt log2(N), r, p (15, 8, 1 when written) |
//! | 16 | salt (random) |
//! | 12 | AES-256-GCM nonce (random) |
//! | n | AES-256-GCM ciphertext of the JSON payload |
//! | 16 | GCM tag |
//!
//! The 45 header bytes are the GCM associated data: any change to them, the ciphertext or the tag, or a wrong
//! passphrase, fails the tag check ([`BundleError::WrongPassphrase`]) and nothing is written.

use std::collections::BTreeMap;
use std::path::Path;

use openssl::symm::Cipher;
use rdlic_api::pki::{self, PkiError};

use crate::datadir::{ADMIN_TOKEN_FILE, CA_CERT_FILE, CA_KEY_FILE, IDENTITY_CERT_FILE, IDENTITY_KEY_FILE};

const MAGIC: &[u8; 12] = b"rdlic-bundle";
const VERSION: u8 = 1;
const KDF_SCRYPT: u8 = 1;
const HEADER: usize = 12 + 1 + 1 + 3 + 16 + 12;
const TAG: usize = 16;
/// scrypt cost when sealing: N = 2^15, r = 8, p = 1 (32 MiB, about 0.1 s).
const LOG2_N: u8 = 15;
const R: u8 = 8;
const P: u8 = 1;
/// Highest cost accepted when opening (a forged header must not make the opener allocate gigabytes).
const MAX_LOG2_N: u8 = 20;
/// Shortest passphrase accepted when sealing.
pub const MIN_PASSPHRASE: usize = 12;

/// Files copied (name, secret): secrets are written 0600.
const FILES: [(&str, bool); 6] = [
    (IDENTITY_KEY_FILE, true),
    (IDENTITY_CERT_FILE, false),
    (CA_KEY_FILE, true),
    (CA_CERT_FILE, false),
    (ADMIN_TOKEN_FILE, true),
    (crate::api::CLEARINGHOUSE_PUB_FILE, false),
];

/// Why a bundle could not be made or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// A file could not be read or written.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// OpenSSL failed (random bytes, scrypt).
    #[error("cryptography failed: {0}")]
    Crypto(#[from] openssl::error::ErrorStack),
    /// Not a bundle (magic), or truncated.
    #[error("not an rdlic bundle (made by `rdlic server export`), or truncated")]
    NotABundle,
    /// Made by a newer rdlic.
    #[error("bundle format version {0} is not supported by this rdlic (it reads version 1): upgrade rdlic")]
    UnsupportedVersion(u8),
    /// The key-derivation header is out of range.
    #[error("bundle key-derivation parameters out of range (kdf {kdf}, log2 N {log2_n}, r {r}, p {p})")]
    BadParameters {
        /// Algorithm.
        kdf: u8,
        /// log2(N).
        log2_n: u8,
        /// r.
        r: u8,
        /// p.
        p: u8,
    },
    /// The tag did not verify.
    #[error("wrong passphrase, or the bundle was altered: nothing was written")]
    WrongPassphrase,
    /// The payload does not decode or lacks a file.
    #[error("the bundle's content is not usable: {0}")]
    Corrupt(String),
    /// The passphrase is too short to seal with.
    #[error("the passphrase must be at least {MIN_PASSPHRASE} characters")]
    WeakPassphrase,
    /// The data directory already holds another server's file.
    #[error("{0} already exists with other content: join into an empty data directory (this one belongs to another license server)")]
    Conflict(String),
    /// The source data directory lacks a file.
    #[error("{0} is missing: export from the data directory of an initialised license server (`rdlic server init`)")]
    Missing(String),
}

/// Seals the shared files of data directory `dir` with `passphrase`.
pub fn export(dir: &Path, passphrase: &str) -> Result<Vec<u8>, BundleError> {
    if passphrase.chars().count() < MIN_PASSPHRASE {
        return Err(BundleError::WeakPassphrase);
    }
    let mut files = BTreeMap::new();
    for (name, _) in FILES {
        let path = dir.join(name);
        if !path.exists() {
            if name == crate::api::CLEARINGHOUSE_PUB_FILE {
                continue;
            }
            return Err(BundleError::Missing(path.display().to_string()));
        }
        let text = String::from_utf8(pki::read(&path)?).map_err(|_| BundleError::Corrupt(format!("{name} is not text")))?;
        files.insert(name.to_owned(), text);
    }
    let payload = serde_json::to_vec(&serde_json::json!({ "files": files })).map_err(|e| BundleError::Corrupt(e.to_string()))?;
    let mut header = Vec::with_capacity(HEADER);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&[VERSION, KDF_SCRYPT, LOG2_N, R, P]);
    let mut salt_nonce = [0u8; 28];
    openssl::rand::rand_bytes(&mut salt_nonce)?;
    header.extend_from_slice(&salt_nonce);
    let key = derive(passphrase, &salt_nonce[..16], LOG2_N, R, P)?;
    let mut tag = [0u8; TAG];
    let sealed = openssl::symm::encrypt_aead(Cipher::aes_256_gcm(), &key, Some(&salt_nonce[16..]), &header, &payload, &mut tag)?;
    let mut out = header;
    out.extend_from_slice(&sealed);
    out.extend_from_slice(&tag);
    Ok(out)
}

fn derive(passphrase: &str, salt: &[u8], log2_n: u8, r: u8, p: u8) -> Result<[u8; 32], BundleError> {
    let mut key = [0u8; 32];
    let n = 1u64 << log2_n;
    let (r, p) = (u64::from(r), u64::from(p));
    let maxmem = 128u64.saturating_mul(n).saturating_mul(r).saturating_mul(p).saturating_add(16 << 20);
    openssl::pkcs5::scrypt(passphrase.as_bytes(), salt, n, r, p, maxmem, &mut key)?;
    Ok(key)
}

/// Opens a bundle: the files it carries (name → content), checked.
pub fn open(bundle: &[u8], passphrase: &str) -> Result<BTreeMap<String, String>, BundleError> {
    let header = bundle.get(..HEADER).ok_or(BundleError::NotABundle)?;
    if bundle.len() < HEADER + TAG || !header.starts_with(MAGIC) {
        return Err(BundleError::NotABundle);
    }
    let field = |i: usize| header.get(i).copied().unwrap_or(0);
    if field(12) != VERSION {
        return Err(BundleError::UnsupportedVersion(field(12)));
    }
    let (kdf, log2_n, r, p) = (field(13), field(14), field(15), field(16));
    if kdf != KDF_SCRYPT || !(10..=MAX_LOG2_N).contains(&log2_n) || !(1..=32).contains(&r) || !(1..=16).contains(&p) {
        return Err(BundleError::BadParameters { kdf, log2_n, r, p });
    }
    let salt = header.get(17..33).ok_or(BundleError::NotABundle)?;
    let nonce = header.get(33..HEADER).ok_or(BundleError::NotABundle)?;
    let (sealed, tag) = bundle.get(HEADER..).ok_or(BundleError::NotABundle)?.split_at(bundle.len() - HEADER - TAG);
    let key = derive(passphrase, salt, log2_n, r, p)?;
    let payload = openssl::symm::decrypt_aead(Cipher::aes_256_gcm(), &key, Some(nonce), header, sealed, tag)
        .map_err(|_| BundleError::WrongPassphrase)?;
    let v: serde_json::Value = serde_json::from_slice(&payload).map_err(|e| BundleError::Corrupt(e.to_string()))?;
    let mut files = BTreeMap::new();
    for (name, _) in FILES {
        match v.get("files").and_then(|f| f.get(name)).and_then(|t| t.as_str()) {
            Some(text) => {
                files.insert(name.to_owned(), text.to_owned());
            }
            None if name == crate::api::CLEARINGHOUSE_PUB_FILE => {}
            None => return Err(BundleError::Corrupt(format!("{name} is missing"))),
        }
    }
    // The identity key and certificate must belong together, and the CA too.
    let id_key = openssl::pkey::PKey::private_key_from_pem(files_get(&files, IDENTITY_KEY_FILE)?.as_bytes())
        .map_err(|e| BundleError::Corrupt(format!("{IDENTITY_KEY_FILE}: {e}")))?;
    let id_cert = openssl::x509::X509::from_pem(files_get(&files, IDENTITY_CERT_FILE)?.as_bytes())
        .map_err(|e| BundleError::Corrupt(format!("{IDENTITY_CERT_FILE}: {e}")))?;
    let ca_key = openssl::pkey::PKey::private_key_from_pem(files_get(&files, CA_KEY_FILE)?.as_bytes())
        .map_err(|e| BundleError::Corrupt(format!("{CA_KEY_FILE}: {e}")))?;
    let ca_cert = openssl::x509::X509::from_pem(files_get(&files, CA_CERT_FILE)?.as_bytes())
        .map_err(|e| BundleError::Corrupt(format!("{CA_CERT_FILE}: {e}")))?;
    if !id_cert.public_key()?.public_eq(&id_key) || !ca_cert.public_key()?.public_eq(&ca_key) {
        return Err(BundleError::Corrupt("a certificate does not match its key".into()));
    }
    Ok(files)
}

fn files_get<'a>(files: &'a BTreeMap<String, String>, name: &str) -> Result<&'a String, BundleError> {
    files.get(name).ok_or_else(|| BundleError::Corrupt(format!("{name} is missing")))
}

/// Opens `bundle` and writes its files into data directory `dir` (created 0700; keys 0600). A file already there
/// with the same content is kept; with other content the join is refused before anything is written.
pub fn unpack(bundle: &[u8], passphrase: &str, dir: &Path) -> Result<(), BundleError> {
    let files = open(bundle, passphrase)?;
    for (name, text) in &files {
        let path = dir.join(name);
        if path.exists() && pki::read(&path)? != text.as_bytes() {
            return Err(BundleError::Conflict(path.display().to_string()));
        }
    }
    std::fs::create_dir_all(dir).map_err(|source| PkiError::Io { path: dir.display().to_string(), source })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    for (name, secret) in FILES {
        let Some(text) = files.get(name) else { continue };
        let path = dir.join(name);
        if secret {
            pki::write_secret(&path, text.as_bytes())?;
        } else {
            pki::write_public(&path, text.as_bytes())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const PASS: &str = "correct horse battery";

    #[test]
    fn a_bundle_carries_the_identity_and_refuses_tampering() {
        let a = tempfile::tempdir().unwrap();
        let dd = crate::datadir::DataDir::open_or_init(a.path(), &[]).unwrap();
        assert!(matches!(export(a.path(), "short"), Err(BundleError::WeakPassphrase)));
        let sealed = export(a.path(), PASS).unwrap();
        assert!(!sealed.windows(10).any(|w| w == b"PRIVATE KE"), "keys are not in clear");
        let b = tempfile::tempdir().unwrap();
        let target = b.path().join("ls2");
        unpack(&sealed, PASS, &target).unwrap();
        let dd2 = crate::datadir::DataDir::open_or_init(&target, &[]).unwrap();
        assert_eq!(dd2.server_id, dd.server_id);
        assert_eq!(dd2.admin_token, dd.admin_token);
        assert_eq!(dd2.ca_cert.to_der().unwrap(), dd.ca_cert.to_der().unwrap());
        // Its own TLS key, signed by the shared CA.
        assert!(!dd2.tls_key.public_eq(&dd.tls_key));
        assert!(dd2.tls_cert.verify(&dd.ca_cert.public_key().unwrap()).unwrap());
        // Joining again is a no-op; into another server's directory it is refused.
        unpack(&sealed, PASS, &target).unwrap();
        let other = tempfile::tempdir().unwrap();
        crate::datadir::DataDir::open_or_init(other.path(), &[]).unwrap();
        assert!(matches!(unpack(&sealed, PASS, other.path()), Err(BundleError::Conflict(_))));

        assert!(matches!(open(&sealed, "wrong passphrase!"), Err(BundleError::WrongPassphrase)));
        for at in [5, 12, 14, 20, 40, HEADER + 3, sealed.len() - 1] {
            let mut bad = sealed.clone();
            bad[at] ^= 1;
            assert!(open(&bad, PASS).is_err(), "byte {at} changed");
        }
        let mut bad = sealed.clone();
        bad[12] = 2;
        assert!(matches!(open(&bad, PASS), Err(BundleError::UnsupportedVersion(2))));
        let mut bad = sealed.clone();
        bad[14] = 40;
        assert!(matches!(open(&bad, PASS), Err(BundleError::BadParameters { .. })));
        for n in [0, 11, HEADER, HEADER + TAG - 1] {
            assert!(open(&sealed[..n], PASS).is_err());
        }
        assert!(matches!(open(b"not a bundle at all, no, not at all, definitely not", PASS), Err(BundleError::NotABundle)));
    }
}
