//! TLS for the RDP listener: the configured certificate, or a self-signed one made on first start and kept in
//! the data directory (`tls/cert.pem`, `tls/key.pem` with mode 0600).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{path} holds no usable PEM {what}")]
    Pem { path: PathBuf, what: &'static str },
    #[error("cannot make a self-signed certificate: {0}")]
    Generate(String),
    #[error("rustls refused the certificate or key: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Writes `bytes` to `path` with mode 0600 (private keys).
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)
}

/// Paths of the certificate and key: the configured ones, or `dir/tls/{cert,key}.pem`, created when missing.
pub fn ensure_certificate(
    dir: &Path,
    configured: Option<(&Path, &Path)>,
    host_name: &str,
) -> Result<(PathBuf, PathBuf), TlsError> {
    if let Some((cert, key)) = configured {
        return Ok((cert.to_owned(), key.to_owned()));
    }
    let tls_dir = dir.join("tls");
    let cert_path = tls_dir.join("cert.pem");
    let key_path = tls_dir.join("key.pem");
    if cert_path.exists() && key_path.exists() {
        return Ok((cert_path, key_path));
    }
    std::fs::create_dir_all(&tls_dir).map_err(|source| TlsError::Write { path: tls_dir.clone(), source })?;
    let names = vec![host_name.to_owned(), "localhost".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names).map_err(|e| TlsError::Generate(e.to_string()))?;
    write_private(&key_path, certified.signing_key.serialize_pem().as_bytes())
        .map_err(|source| TlsError::Write { path: key_path.clone(), source })?;
    std::fs::write(&cert_path, certified.cert.pem()).map_err(|source| TlsError::Write { path: cert_path.clone(), source })?;
    tracing::info!(cert = %cert_path.display(), "made a self-signed TLS certificate for the RDP listener");
    Ok((cert_path, key_path))
}

/// A rustls server configuration (ring provider, TLS 1.2 and 1.3) for the certificate and key.
pub fn server_config(cert_path: &Path, key_path: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_path)
        .map_err(|_| TlsError::Pem { path: cert_path.to_owned(), what: "certificate" })?
        .collect::<Result<_, _>>()
        .map_err(|_| TlsError::Pem { path: cert_path.to_owned(), what: "certificate" })?;
    if certs.is_empty() {
        return Err(TlsError::Pem { path: cert_path.to_owned(), what: "certificate" });
    }
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|_| TlsError::Pem { path: key_path.to_owned(), what: "private key" })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    // RDP clients open a new TLS session per connection and do not resume one: TLS 1.3 session tickets would be
    // made, sent and never used (two more handshake messages per connection).
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}
