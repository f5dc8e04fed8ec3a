//! TLS to PostgreSQL with rustls, configured from the database URL as libpq is:
//!
//! | `sslmode` | what rdlic does |
//! |---|---|
//! | `disable`, `prefer` (default), `allow` | plain TCP (`prefer` does not try TLS: ask for it with `require` or above) |
//! | `require` | TLS; the server certificate is not checked (as libpq), unless `sslrootcert` is given: then as `verify-ca` |
//! | `verify-ca` | TLS; the server certificate must chain to `sslrootcert` |
//! | `verify-full` | TLS; chain to `sslrootcert`, and the certificate must name the host of the URL |
//!
//! `sslrootcert=PATH` is a PEM file of trusted CA certificates (needed by `verify-ca` and `verify-full`). Both
//! parameters are read from the URL (`postgres://...?sslmode=verify-full&sslrootcert=/etc/rdlic/pg-ca.pem`) or the
//! `key=value` form, and removed before the rest goes to the `postgres` client, which knows neither
//! `verify-*` nor `sslrootcert`.
//!
//! Also here: [`redact`], the database URL without its password, the only form of it that goes into errors and
//! logs.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use postgres::Socket;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::StoreError;

/// `sslmode` of a database URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS (`disable`, `allow`, `prefer`).
    Plain,
    /// TLS without checking the certificate.
    Require,
    /// TLS, certificate chained to `sslrootcert`.
    VerifyCa,
    /// TLS, certificate chained to `sslrootcert` and naming the host.
    VerifyFull,
}

/// The TLS part of a database URL, and the URL without it.
#[derive(Debug, Clone)]
pub(crate) struct TlsSettings {
    pub(crate) mode: SslMode,
    pub(crate) root_cert: Option<PathBuf>,
    /// The URL without `sslmode` / `sslrootcert`, for the `postgres` client.
    pub(crate) rest: String,
}

/// Splits `sslmode` and `sslrootcert` off a URL (`postgres://...?a=b&c=d`) or a `key=value` string.
pub(crate) fn split_tls(url: &str) -> Result<TlsSettings, StoreError> {
    let mut mode = None;
    let mut root_cert = None;
    let mut take = |k: &str, v: &str| -> Result<bool, StoreError> {
        match k {
            "sslmode" => {
                mode = Some(match v {
                    "disable" | "allow" | "prefer" => SslMode::Plain,
                    "require" => SslMode::Require,
                    "verify-ca" => SslMode::VerifyCa,
                    "verify-full" => SslMode::VerifyFull,
                    other => {
                        return Err(StoreError::BadUrl(format!(
                            "sslmode={other}: use disable, prefer, require, verify-ca or verify-full"
                        )))
                    }
                });
                Ok(true)
            }
            "sslrootcert" => {
                root_cert = Some(PathBuf::from(percent_decode(v)));
                Ok(true)
            }
            _ => Ok(false),
        }
    };
    let rest = if url.contains("://") {
        match url.split_once('?') {
            None => url.to_owned(),
            Some((base, query)) => {
                let mut kept = Vec::new();
                for pair in query.split('&').filter(|p| !p.is_empty()) {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    if !take(k, v)? {
                        kept.push(pair);
                    }
                }
                if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) }
            }
        }
    } else {
        let mut kept = Vec::new();
        for pair in url.split_whitespace() {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if !take(k, v.trim_matches('\''))? {
                kept.push(pair);
            }
        }
        kept.join(" ")
    };
    let mode = match (mode, &root_cert) {
        (Some(SslMode::Require), Some(_)) => SslMode::VerifyCa,
        (Some(m), _) => m,
        (None, _) => SslMode::Plain,
    };
    if matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull) && root_cert.is_none() {
        return Err(StoreError::BadUrl(
            "sslmode=verify-ca and verify-full need sslrootcert=PATH (a PEM file of the CA certificates to trust)"
                .to_owned(),
        ));
    }
    Ok(TlsSettings { mode, root_cert, rest })
}

fn percent_decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            if let Some(n) = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(n);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The URL with its password replaced by `***` (`postgres://user:***@host/db`, `password=***`): the form that
/// errors and logs show.
#[must_use]
pub fn redact(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        // userinfo ends at the last '@' before the first '/' ('@' may appear in a password).
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let authority = match authority.rsplit_once('@') {
            Some((userinfo, host)) => match userinfo.split_once(':') {
                Some((user, _)) => format!("{user}:***@{host}"),
                None => authority.to_owned(),
            },
            None => authority.to_owned(),
        };
        let tail: Vec<String> = tail
            .split('&')
            .map(|p| match p.split_once("password=") {
                Some((before, _)) if before.is_empty() || before.ends_with('?') => format!("{before}password=***"),
                _ => p.to_owned(),
            })
            .collect();
        return format!("{scheme}://{authority}{}", tail.join("&"));
    }
    url.split_whitespace()
        .map(|p| if p.starts_with("password=") { "password=***".to_owned() } else { p.to_owned() })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A `postgres` TLS connector over rustls (ring), built from [`TlsSettings`].
#[derive(Clone)]
pub(crate) struct RustlsConnector {
    config: Arc<rustls::ClientConfig>,
}

impl core::fmt::Debug for RustlsConnector {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RustlsConnector").finish_non_exhaustive()
    }
}

fn load_roots(path: &Path) -> Result<RootCertStore, StoreError> {
    let bad = |detail: String| StoreError::BadUrl(format!("sslrootcert={}: {detail}", path.display()));
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))?;
    for cert in certs {
        let cert = cert.map_err(|e| bad(e.to_string()))?;
        roots.add(cert).map_err(|e| bad(format!("not a usable CA certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(bad("holds no PEM certificate".to_owned()));
    }
    Ok(roots)
}

impl RustlsConnector {
    /// `None` for [`SslMode::Plain`].
    pub(crate) fn new(settings: &TlsSettings) -> Result<Option<Self>, StoreError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier: Arc<dyn ServerCertVerifier> = match settings.mode {
            SslMode::Plain => return Ok(None),
            SslMode::Require => Arc::new(AnyCertificate(provider.clone())),
            SslMode::VerifyCa | SslMode::VerifyFull => {
                let path = settings.root_cert.as_deref().ok_or_else(|| {
                    StoreError::BadUrl("sslmode=verify-ca and verify-full need sslrootcert=PATH".to_owned())
                })?;
                let roots = Arc::new(load_roots(path)?);
                let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                    .build()
                    .map_err(|e| StoreError::BadUrl(format!("sslrootcert={}: {e}", path.display())))?;
                Arc::new(ChainVerifier { webpki, check_name: settings.mode == SslMode::VerifyFull })
            }
        };
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| StoreError::Unavailable(format!("TLS setup: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(Some(Self { config: Arc::new(config) }))
    }
}

/// `require`: encryption without authentication of the server (libpq's meaning); handshake signatures are still
/// checked, so the session key belongs to whoever holds the certificate's key.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca` / `verify-full`: the chain to `sslrootcert`; the host name only for `verify-full`.
#[derive(Debug)]
struct ChainVerifier {
    webpki: Arc<WebPkiServerVerifier>,
    check_name: bool,
}

impl ServerCertVerifier for ChainVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName
            | rustls::CertificateError::NotValidForNameContext { .. }))
                if !self.check_name =>
            {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

impl MakeTlsConnect<Socket> for RustlsConnector {
    type Stream = RustlsStream;
    type TlsConnect = RustlsConnect;
    type Error = rustls::pki_types::InvalidDnsNameError;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnect, Self::Error> {
        let name = ServerName::try_from(domain.to_owned())?;
        Ok(RustlsConnect { config: self.config.clone(), name })
    }
}

/// One TLS connection attempt to a named server.
pub(crate) struct RustlsConnect {
    config: Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
}

impl TlsConnect<Socket> for RustlsConnect {
    type Stream = RustlsStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream>> + Send>>;

    fn connect(self, stream: Socket) -> Self::Future {
        let connector = tokio_rustls::TlsConnector::from(self.config);
        Box::pin(async move { connector.connect(self.name, stream).await.map(|s| RustlsStream(Box::new(s))) })
    }
}

/// The TLS stream of a PostgreSQL connection.
pub(crate) struct RustlsStream(Box<tokio_rustls::client::TlsStream<Socket>>);

impl TlsStream for RustlsStream {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl AsyncRead for RustlsStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for RustlsStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(redact("postgres://rdlic:s3cr@t@db:5432/rdlic"), "postgres://rdlic:***@db:5432/rdlic");
        assert_eq!(redact("postgres://rdlic@db/rdlic?password=hunter2&sslmode=require"), "postgres://rdlic@db/rdlic?password=***&sslmode=require");
        assert_eq!(redact("host=db user=rdlic password=hunter2 dbname=x"), "host=db user=rdlic password=*** dbname=x");
        assert_eq!(redact("postgres://db/x"), "postgres://db/x");
    }

    #[test]
    fn tls_parameters_are_taken_off_the_url() {
        let s = split_tls("postgres://u@h/db?sslmode=verify-full&sslrootcert=/etc/ca%20x.pem&application_name=a").unwrap();
        assert_eq!((s.mode, s.root_cert.as_deref()), (SslMode::VerifyFull, Some(Path::new("/etc/ca x.pem"))));
        assert_eq!(s.rest, "postgres://u@h/db?application_name=a");
        assert_eq!(split_tls("postgres://u@h/db").unwrap().mode, SslMode::Plain);
        assert_eq!(split_tls("host=h sslmode=require").unwrap().rest, "host=h");
        assert_eq!(split_tls("postgres://h/d?sslmode=require&sslrootcert=/ca.pem").unwrap().mode, SslMode::VerifyCa);
        assert!(split_tls("postgres://h/d?sslmode=verify-full").is_err(), "verify-full needs a CA");
        assert!(split_tls("postgres://h/d?sslmode=bogus").is_err());
    }
}
