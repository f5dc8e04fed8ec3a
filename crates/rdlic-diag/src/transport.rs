//! The probe's transport, on tokio: TCP, upgraded in place to TLS (tokio-rustls; any server certificate accepted:
//! the probe looks at licensing, not at identity), and a frame reader driven by IronRDP's PDU hints. Being async,
//! one thread can drive many probes (`rdlic bench storm`); [`crate::probe::run`] drives one on a runtime of its own.

use std::sync::Arc;
use std::time::Duration;

use ironrdp_pdu::PduHint;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Transport failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    #[error("network error: {0}")]
    Io(#[from] std::io::Error),
    #[error("tls handshake failed: {0}")]
    Tls(String),
    #[error("the server closed the connection")]
    Closed,
    #[error("no data from the server within {0:?}")]
    Timeout(Duration),
    #[error("malformed frame from the server: {0}")]
    Framing(String),
}

/// TCP, or TLS over TCP.
#[derive(Debug)]
enum Stream {
    Tcp(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    /// Only while upgrading.
    Gone,
}

impl Stream {
    /// Appends what one read returns to `buffer` (0: end of stream).
    async fn read_into(&mut self, buffer: &mut Vec<u8>) -> std::io::Result<usize> {
        match self {
            Self::Tcp(s) => s.read_buf(buffer).await,
            Self::Tls(s) => s.read_buf(buffer).await,
            Self::Gone => Ok(0),
        }
    }

    /// Writes all of `bytes` (one TLS record when they fit in one) and flushes.
    async fn write_all_flush(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Self::Tcp(s) => {
                s.write_all(bytes).await?;
                s.flush().await
            }
            Self::Tls(s) => {
                s.write_all(bytes).await?;
                s.flush().await
            }
            Self::Gone => Err(std::io::ErrorKind::NotConnected.into()),
        }
    }
}

/// Room made in the read buffer before each read.
const READ_CHUNK: usize = 8192;

/// A stream with a read buffer, reading whole PDUs, and a write buffer: what is written leaves before the next
/// read, so that PDUs sent back to back (Erect Domain and Attach User Request) share one TLS record and one system
/// call.
#[derive(Debug)]
pub(crate) struct Framed {
    stream: Stream,
    buffer: Vec<u8>,
    out: Vec<u8>,
    timeout: Duration,
}

impl Framed {
    /// `timeout` bounds each read (and the TLS handshake).
    pub(crate) fn new(tcp: TcpStream, timeout: Duration) -> Result<Self, TransportError> {
        tcp.set_nodelay(true)?;
        Ok(Self { stream: Stream::Tcp(tcp), buffer: Vec::new(), out: Vec::new(), timeout })
    }

    /// Reads one PDU whose size `hint` can tell. A read that gets nothing within the timeout is
    /// [`TransportError::Timeout`].
    pub(crate) async fn read_pdu(&mut self, hint: &dyn PduHint) -> Result<Vec<u8>, TransportError> {
        self.flush().await?;
        loop {
            if !self.buffer.is_empty() {
                match hint.find_size(&self.buffer) {
                    Ok(Some((_, 0))) => {
                        return Err(TransportError::Framing("zero-length PDU".into()));
                    }
                    Ok(Some((_, size))) if self.buffer.len() >= size => {
                        let rest = self.buffer.split_off(size);
                        return Ok(std::mem::replace(&mut self.buffer, rest));
                    }
                    Ok(_) => {}
                    Err(e) => return Err(TransportError::Framing(e.to_string())),
                }
            }
            self.buffer.reserve(READ_CHUNK);
            let read = tokio::time::timeout(self.timeout, self.stream.read_into(&mut self.buffer)).await;
            let n = match read {
                Err(_elapsed) => return Err(TransportError::Timeout(self.timeout)),
                Ok(Ok(n)) => n,
                Ok(Err(e)) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                    return Err(TransportError::Timeout(self.timeout))
                }
                Ok(Err(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionReset
                            | std::io::ErrorKind::UnexpectedEof
                            | std::io::ErrorKind::ConnectionAborted
                    ) =>
                {
                    return Err(TransportError::Closed)
                }
                Ok(Err(e)) => return Err(e.into()),
            };
            if n == 0 {
                return Err(TransportError::Closed);
            }
        }
    }

    /// Queues `bytes`: they leave before the next read (or TLS upgrade).
    pub(crate) fn write(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    async fn flush(&mut self) -> Result<(), TransportError> {
        if self.out.is_empty() {
            return Ok(());
        }
        let written = self.stream.write_all_flush(&self.out).await;
        self.out.clear();
        match written {
            Ok(()) => Ok(()),
            Err(e) if matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted
            ) =>
            {
                Err(TransportError::Closed)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces the TCP stream by a TLS stream (handshake done here, within the timeout). Returns the TLS version
    /// and cipher suite.
    pub(crate) async fn upgrade_to_tls(&mut self, server_name: &str) -> Result<String, TransportError> {
        self.flush().await?;
        let Stream::Tcp(tcp) = std::mem::replace(&mut self.stream, Stream::Gone) else {
            return Err(TransportError::Tls("already upgraded".into()));
        };
        // Any name will do (the certificate is not checked); an unparsable one falls back to a fixed name.
        let name = ServerName::try_from(server_name.to_owned())
            .unwrap_or_else(|_| ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
        let connector = tokio_rustls::TlsConnector::from(accept_any_config()?);
        let tls = match tokio::time::timeout(self.timeout, connector.connect(name, tcp)).await {
            Err(_elapsed) => return Err(TransportError::Tls(TransportError::Timeout(self.timeout).to_string())),
            Ok(Err(e)) => return Err(TransportError::Tls(e.to_string())),
            Ok(Ok(tls)) => tls,
        };
        let connection = tls.get_ref().1;
        let version = connection.protocol_version().map(|v| format!("{v:?}")).unwrap_or_default();
        let suite = connection.negotiated_cipher_suite().map(|s| format!("{:?}", s.suite())).unwrap_or_default();
        self.stream = Stream::Tls(Box::new(tls));
        Ok(format!("{version} {suite}").trim().to_owned())
    }
}

/// The probe's client configuration, made once per process (a storm of probes shares it).
pub(crate) fn accept_any_config() -> Result<Arc<rustls::ClientConfig>, TransportError> {
    static CONFIG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    if let Some(config) = CONFIG.get() {
        return Ok(config.clone());
    }
    let config = make_accept_any_config()?;
    Ok(CONFIG.get_or_init(|| config).clone())
}

fn make_accept_any_config() -> Result<Arc<rustls::ClientConfig>, TransportError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(rdlic_server::client::AcceptAnyServerCertificate(provider.clone()));
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TransportError::Tls(e.to_string()))?;
    let mut config = builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth();
    // Each probe is a new client, as a new mstsc or xfreerdp process is: a shared configuration must not let one
    // probe resume another's TLS session (a full handshake is part of what is measured and reported).
    config.resumption = rustls::client::Resumption::disabled();
    Ok(Arc::new(config))
}
