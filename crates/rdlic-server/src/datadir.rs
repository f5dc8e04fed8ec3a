//! The server's data directory. The first `rdlic server run` creates everything; later runs load it.
//!
//! | file | what | mode |
//! |---|---|---|
//! | `identity.key` | RSA-2048 identity key: signs CALs; its public key defines the license server id | 0600 |
//! | `identity.crt` | self-signed certificate of the identity key (root of the CAL chain hosts trust) | 0644 |
//! | `ca.key`, `ca.crt` | TLS CA (P-256): signs the server TLS certificate and enrolled hosts' client certificates | 0600 / 0644 |
//! | `tls.key`, `tls.crt` | the server's TLS certificate (SAN: localhost, 127.0.0.1, ::1, hostname, `--san`) | 0600 / 0644 |
//! | `admin.token` | bearer token of the admin API | 0600 |
//! | `server.url` | URL of the running server (written at start; read by admin CLI commands) | 0644 |
//! | `rdlic.db` | SQLite store (`rdlic_store`'s default when no `--database` URL is given) | |
//! | `clearinghouse.pub` | the clearinghouse public key this server trusts (`--clearinghouse-key`) | 0644 |

use std::path::{Path, PathBuf};

use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

use rdlic_api::pki::{self, LeafUse, PkiError};

/// Identity private key.
pub const IDENTITY_KEY_FILE: &str = "identity.key";
/// Identity certificate.
pub const IDENTITY_CERT_FILE: &str = "identity.crt";
/// TLS CA key.
pub const CA_KEY_FILE: &str = "ca.key";
/// TLS CA certificate, the admin token and the URL of the running server: the CLI's admin client reads them too.
pub use rdlic_api::client::server_files::{ADMIN_TOKEN_FILE, CA_CERT_FILE, URL_FILE};
/// TLS server key.
pub const TLS_KEY_FILE: &str = "tls.key";
/// TLS server certificate.
pub const TLS_CERT_FILE: &str = "tls.crt";

/// Everything loaded from the data directory.
#[derive(Debug)]
pub struct DataDir {
    /// The directory.
    pub dir: PathBuf,
    /// Identity key (RSA-2048).
    pub identity_key: PKey<Private>,
    /// Identity certificate (self-signed).
    pub identity_cert: X509,
    /// TLS CA key.
    pub ca_key: PKey<Private>,
    /// TLS CA certificate.
    pub ca_cert: X509,
    /// TLS server key.
    pub tls_key: PKey<Private>,
    /// TLS server certificate.
    pub tls_cert: X509,
    /// Admin bearer token.
    pub admin_token: String,
    /// The license server id (hash of the identity public key).
    pub server_id: rdlic_core::ServerId,
}

fn load_or_create_key(
    path: &Path,
    make: fn() -> Result<PKey<Private>, PkiError>,
) -> Result<(PKey<Private>, bool), PkiError> {
    if path.exists() {
        return Ok((PKey::private_key_from_pem(&pki::read(path)?)?, false));
    }
    let key = make()?;
    pki::write_secret(path, &key.private_key_to_pem_pkcs8()?)?;
    Ok((key, true))
}

impl DataDir {
    /// Loads the data directory, creating what is missing (first run). `sans` are extra names or addresses the
    /// TLS certificate must carry (the addresses hosts use to reach this server).
    pub fn open_or_init(dir: &Path, sans: &[String]) -> Result<Self, PkiError> {
        std::fs::create_dir_all(dir).map_err(|source| PkiError::Io { path: dir.display().to_string(), source })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
        let (identity_key, _) = load_or_create_key(&dir.join(IDENTITY_KEY_FILE), pki::generate_rsa)?;
        let spki = identity_key.public_key_to_der()?;
        let server_id = rdlic_core::ServerId::from_public_key_der(&spki);

        let identity_cert_path = dir.join(IDENTITY_CERT_FILE);
        let identity_cert = if identity_cert_path.exists() {
            X509::from_pem(&pki::read(&identity_cert_path)?)?
        } else {
            let cert = X509::from_der(&license_server_certificate(&identity_key, &server_id)?)?;
            pki::write_public(&identity_cert_path, &cert.to_pem()?)?;
            cert
        };

        let (ca_key, ca_new) = load_or_create_key(&dir.join(CA_KEY_FILE), pki::generate_ec)?;
        let ca_path = dir.join(CA_CERT_FILE);
        let ca_cert = if ca_path.exists() && !ca_new {
            X509::from_pem(&pki::read(&ca_path)?)?
        } else {
            let cert = pki::self_signed_ca(&ca_key, &format!("rdlic TLS CA {server_id}"))?;
            pki::write_public(&ca_path, &cert.to_pem()?)?;
            cert
        };

        let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
        if let Ok(h) = std::fs::read_to_string("/etc/hostname") {
            let h = h.trim();
            if !h.is_empty() {
                names.push(h.to_owned());
            }
        }
        for s in sans {
            if !names.contains(s) {
                names.push(s.clone());
            }
        }
        let (tls_key, tls_new) = load_or_create_key(&dir.join(TLS_KEY_FILE), pki::generate_ec)?;
        let tls_path = dir.join(TLS_CERT_FILE);
        let existing = if tls_path.exists() && !tls_new && !ca_new {
            Some(X509::from_pem(&pki::read(&tls_path)?)?)
        } else {
            None
        };
        let tls_cert = match existing.filter(|c| covers(c, &names)) {
            Some(c) => c,
            None => {
                let pubkey = PKey::public_key_from_der(&tls_key.public_key_to_der()?)?;
                let cert = pki::issue_leaf(
                    &ca_key,
                    &ca_cert,
                    &pubkey,
                    &format!("rdlic license server {server_id}"),
                    &names,
                    LeafUse::TlsServer,
                    3650,
                )?;
                pki::write_public(&tls_path, &cert.to_pem()?)?;
                cert
            }
        };

        let token_path = dir.join(ADMIN_TOKEN_FILE);
        let admin_token = if token_path.exists() {
            String::from_utf8_lossy(&pki::read(&token_path)?).trim().to_owned()
        } else {
            let t = pki::random_hex(32)?;
            pki::write_secret(&token_path, t.as_bytes())?;
            t
        };

        Ok(Self {
            dir: dir.to_owned(),
            identity_key,
            identity_cert,
            ca_key,
            ca_cert,
            tls_key,
            tls_cert,
            admin_token,
            server_id,
        })
    }

}

/// The license server name in certificates and CALs: `rdlic-` and the first 8 hex digits of the server id.
pub fn license_server_name(server_id: &rdlic_core::ServerId) -> String {
    format!("rdlic-{}", &hex::encode(server_id.0)[..8])
}

/// The scope written in the license server certificate and CALs (Windows: the domain or workgroup).
pub const LICENSE_SERVER_SCOPE: &str = "WORKGROUP";

/// [MS-RDPELE 2.2.2.9] A self-signed license server certificate shaped like a Windows one (CN + L as BMPStrings,
/// valid until 2049), made once at the first run: hosts trust its public key.
fn license_server_certificate(key: &PKey<Private>, server_id: &rdlic_core::ServerId) -> Result<Vec<u8>, PkiError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let spec = rdpele::cal::LicenseServerCertSpec {
        name: license_server_name(server_id),
        scope: LICENSE_SERVER_SCOPE.to_owned(),
        serial: now,
        not_before: i64::try_from(now).unwrap_or(0),
        // 2049-12-31T23:59:59Z, as Windows license server certificates.
        not_after: 2_524_607_999,
        signature_algorithm: rdpele::x509::SignatureAlgorithm::Sha256WithRsa,
    };
    let identity = rdpele::cal::LicenseServerIdentity::self_signed(key.clone(), &spec)
        .map_err(|e| PkiError::Cal(e.to_string()))?;
    Ok(identity.certificate_der().to_vec())
}

/// Whether the certificate's SAN list already holds every name (so a restart with the same names keeps it).
fn covers(cert: &X509, names: &[String]) -> bool {
    let Some(sans) = cert.subject_alt_names() else { return names.is_empty() };
    names.iter().all(|n| {
        sans.iter().any(|g| {
            g.dnsname().is_some_and(|d| d == n)
                || g.ipaddress().is_some_and(|ip| match n.parse::<std::net::IpAddr>() {
                    Ok(std::net::IpAddr::V4(v4)) => ip == v4.octets(),
                    Ok(std::net::IpAddr::V6(v6)) => ip == v6.octets(),
                    Err(_) => false,
                })
        })
    })
}
