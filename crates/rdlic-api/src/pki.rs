//! The server's own PKI: the identity key (signs CALs, named by activation), the TLS CA that signs the server's TLS
//! certificate and every enrolled host's client certificate, and secret files written with mode 0600.

use std::io::Write as _;
use std::path::Path;

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, PKeyRef, Private, Public};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName, SubjectKeyIdentifier,
};
use openssl::x509::{X509Builder, X509NameBuilder, X509Req, X509};

/// A failure of key or certificate handling.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// OpenSSL refused an operation.
    #[error("openssl: {0}")]
    Openssl(#[from] openssl::error::ErrorStack),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The license server certificate could not be made or does not match the identity key.
    #[error("license server certificate: {0}")]
    Cal(String),
    /// A certificate signing request whose signature does not verify.
    #[error("the certificate signing request is not signed by its own key; generate it again")]
    BadCsr,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PkiError + '_ {
    move |source| PkiError::Io { path: path.display().to_string(), source }
}

/// Writes `bytes` to `path` with mode 0600 (created that way, so the secret is never world-readable).
pub fn write_secret(path: &Path, bytes: &[u8]) -> Result<(), PkiError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io_err(path))?;
    f.write_all(bytes).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io_err(path))?;
    }
    Ok(())
}

/// Writes a public file (certificates).
pub fn write_public(path: &Path, bytes: &[u8]) -> Result<(), PkiError> {
    std::fs::write(path, bytes).map_err(io_err(path))
}

/// Reads a file.
pub fn read(path: &Path) -> Result<Vec<u8>, PkiError> {
    std::fs::read(path).map_err(io_err(path))
}

/// A fresh RSA-2048 key: the license server identity (CALs are RSA-signed, MS-RDPELE 2.2.2.9).
pub fn generate_rsa() -> Result<PKey<Private>, PkiError> {
    Ok(PKey::from_rsa(Rsa::generate(2048)?)?)
}

/// A fresh ECDSA P-256 key: TLS CA, TLS server and host client keys (cheap handshakes).
pub fn generate_ec() -> Result<PKey<Private>, PkiError> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    Ok(PKey::from_ec_key(EcKey::generate(&group)?)?)
}

/// 16 random bytes as lower-case hex: tokens and serials.
pub fn random_hex(bytes: usize) -> Result<String, PkiError> {
    let mut buf = vec![0u8; bytes];
    openssl::rand::rand_bytes(&mut buf)?;
    Ok(hex::encode(buf))
}

fn random_serial() -> Result<Asn1Integer, PkiError> {
    let mut bn = BigNum::new()?;
    bn.rand(127, openssl::bn::MsbOption::MAYBE_ZERO, false)?;
    Ok(bn.to_asn1_integer()?)
}

fn name(cn: &str, org: &str) -> Result<openssl::x509::X509Name, PkiError> {
    let mut b = X509NameBuilder::new()?;
    b.append_entry_by_nid(Nid::ORGANIZATIONNAME, org)?;
    b.append_entry_by_nid(Nid::COMMONNAME, cn)?;
    Ok(b.build())
}

/// The self-signed CA of this license server's TLS (valid 20 years).
pub fn self_signed_ca(key: &PKeyRef<Private>, cn: &str) -> Result<X509, PkiError> {
    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    b.set_serial_number(&*random_serial()?)?;
    let n = name(cn, "rdlic license server")?;
    b.set_subject_name(&n)?;
    b.set_issuer_name(&n)?;
    b.set_pubkey(key)?;
    b.set_not_before(&*Asn1Time::days_from_now(0)?)?;
    b.set_not_after(&*Asn1Time::days_from_now(7305)?)?;
    b.append_extension(BasicConstraints::new().critical().ca().pathlen(0).build()?)?;
    b.append_extension(KeyUsage::new().critical().key_cert_sign().crl_sign().build()?)?;
    let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(None, None))?;
    b.append_extension(ski)?;
    b.sign(key, MessageDigest::sha256())?;
    Ok(b.build())
}

/// What a leaf certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafUse {
    /// The server's TLS certificate.
    TlsServer,
    /// An enrolled session host's client certificate.
    TlsClient,
}

/// Issues a leaf certificate for `subject_key` signed by the CA.
pub fn issue_leaf(
    ca_key: &PKeyRef<Private>,
    ca_cert: &X509,
    subject_key: &PKeyRef<Public>,
    cn: &str,
    sans: &[String],
    usage: LeafUse,
    days: u32,
) -> Result<X509, PkiError> {
    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    b.set_serial_number(&*random_serial()?)?;
    b.set_subject_name(&*name(cn, "rdlic")?)?;
    b.set_issuer_name(ca_cert.subject_name())?;
    b.set_pubkey(subject_key)?;
    b.set_not_before(&*Asn1Time::days_from_now(0)?)?;
    b.set_not_after(&*Asn1Time::days_from_now(days)?)?;
    b.append_extension(BasicConstraints::new().critical().build()?)?;
    b.append_extension(KeyUsage::new().critical().digital_signature().key_agreement().build()?)?;
    let eku = match usage {
        LeafUse::TlsServer => ExtendedKeyUsage::new().server_auth().build()?,
        LeafUse::TlsClient => ExtendedKeyUsage::new().client_auth().build()?,
    };
    b.append_extension(eku)?;
    if !sans.is_empty() {
        let mut san = SubjectAlternativeName::new();
        for s in sans {
            if s.parse::<std::net::IpAddr>().is_ok() {
                san.ip(s);
            } else {
                san.dns(s);
            }
        }
        let ext = san.build(&b.x509v3_context(Some(ca_cert), None))?;
        b.append_extension(ext)?;
    }
    b.sign(ca_key, MessageDigest::sha256())?;
    Ok(b.build())
}

/// Parses a PEM certificate signing request and checks it is signed by its own key; returns the public key.
pub fn csr_public_key(csr_pem: &[u8]) -> Result<PKey<Public>, PkiError> {
    let req = X509Req::from_pem(csr_pem)?;
    let key = req.public_key()?;
    if !req.verify(&key)? {
        return Err(PkiError::BadCsr);
    }
    Ok(key)
}

/// Writes a PEM certificate signing request for `key` (used by `rdlic host enroll`).
pub fn make_csr(key: &PKeyRef<Private>, cn: &str) -> Result<Vec<u8>, PkiError> {
    let mut b = openssl::x509::X509ReqBuilder::new()?;
    b.set_subject_name(&*name(cn, "rdlic session host")?)?;
    b.set_pubkey(key)?;
    b.sign(key, MessageDigest::sha256())?;
    Ok(b.build().to_pem()?)
}

/// SHA-256 of the first certificate of a PEM file, as `openssl x509 -noout -fingerprint -sha256` prints it
/// (upper-case hex pairs joined by colons): what `rdlic host enroll --insecure-first-use` and the license server
/// print so that an operator can compare the CA that a host trusted with the server's own.
pub fn ca_fingerprint(pem: &[u8]) -> Result<String, PkiError> {
    let cert = openssl::x509::X509::from_pem(pem)?;
    let digest = openssl::sha::sha256(&cert.to_der()?);
    Ok(digest.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":"))
}

/// SHA-256 of a DER certificate, lower-case hex: how an enrolled host is recognised on each connection.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(openssl::sha::sha256(der))
}
