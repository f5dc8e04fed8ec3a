//! rustls configuration (ring provider) for both ends of the host API: the license server's (client certificates
//! optional, checked per endpoint) and the session host's (pinned CA, its enrolled client certificate).

use std::sync::Arc;

use openssl::pkey::{PKeyRef, Private};
use openssl::x509::X509;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// A TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// rustls refused the configuration.
    #[error("tls configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client verifier could not be built.
    #[error("client certificate verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    /// A key or certificate could not be encoded.
    #[error("key or certificate encoding: {0}")]
    Openssl(#[from] openssl::error::ErrorStack),
    /// A PEM file held no certificate.
    #[error("no certificate in PEM input")]
    NoCertificate,
}

/// The ring crypto provider: the only one the workspace builds (no aws-lc-rs).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn key_der(key: &PKeyRef<Private>) -> Result<PrivateKeyDer<'static>, TlsError> {
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.private_key_to_pkcs8()?)))
}

fn roots(ca: &X509) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(ca.to_der()?))?;
    Ok(roots)
}

/// The server side: a certificate chain (leaf, CA) and a client verifier that accepts certificates signed by our
/// CA and also connections without one (enrollment, ping, admin with a bearer token); each host endpoint then
/// requires the certificate of an enrolled, non-revoked host.
pub fn server_config(
    ca: &X509,
    leaf: &X509,
    key: &PKeyRef<Private>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = provider();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots(ca)?), provider.clone())
        .allow_unauthenticated()
        .build()?;
    let chain = vec![CertificateDer::from(leaf.to_der()?), CertificateDer::from(ca.to_der()?)];
    let mut cfg = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key_der(key)?)?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// The client side: trusts only `ca` (the license server's CA) and presents a client certificate when given.
pub fn client_config(
    ca: &X509,
    client: Option<(&X509, &PKeyRef<Private>)>,
) -> Result<Arc<ClientConfig>, TlsError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots(ca)?);
    let mut cfg = match client {
        Some((cert, key)) => builder
            .with_client_auth_cert(vec![CertificateDer::from(cert.to_der()?)], key_der(key)?)?,
        None => builder.with_no_client_auth(),
    };
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// A client certificate that can be replaced while clients use it (a host's renewed enrollment certificate): every
/// new TLS connection of a [`client_config_with_identity`] configuration presents the certificate in force.
#[derive(Debug)]
pub struct ClientIdentity {
    current: std::sync::RwLock<Arc<rustls::sign::CertifiedKey>>,
}

impl ClientIdentity {
    /// From a certificate and its key.
    pub fn new(cert: &X509, key: &PKeyRef<Private>) -> Result<Arc<Self>, TlsError> {
        Ok(Arc::new(Self { current: std::sync::RwLock::new(Self::certified(cert, key)?) }))
    }

    fn certified(cert: &X509, key: &PKeyRef<Private>) -> Result<Arc<rustls::sign::CertifiedKey>, TlsError> {
        let signing = provider().key_provider.load_private_key(key_der(key)?)?;
        Ok(Arc::new(rustls::sign::CertifiedKey::new(vec![CertificateDer::from(cert.to_der()?)], signing)))
    }

    /// Presents `cert` (with `key`) from the next connection on.
    pub fn replace(&self, cert: &X509, key: &PKeyRef<Private>) -> Result<(), TlsError> {
        let next = Self::certified(cert, key)?;
        *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = next;
        Ok(())
    }
}

impl rustls::client::ResolvesClientCert for ClientIdentity {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// [`client_config`] presenting the certificate in force of `identity`.
pub fn client_config_with_identity(ca: &X509, identity: Arc<ClientIdentity>) -> Result<Arc<ClientConfig>, TlsError> {
    let mut cfg = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots(ca)?)
        .with_client_cert_resolver(identity);
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// The first certificate of a PEM bundle.
pub fn first_cert(pem: &[u8]) -> Result<X509, TlsError> {
    X509::stack_from_pem(pem)?.into_iter().next().ok_or(TlsError::NoCertificate)
}

/// A server name for rustls from the host part of a URL.
pub fn server_name(host: &str) -> Result<ServerName<'static>, TlsError> {
    ServerName::try_from(host.to_owned())
        .map_err(|_| TlsError::Rustls(rustls::Error::General(format!("bad server name {host:?}"))))
}
