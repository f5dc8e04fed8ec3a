//! The probe's transport, on tokio: TCP, upgraded in place to TLS (rustls driven here, see [`TlsStream`]; any
//! server certificate accepted: the probe looks at licensing, not at identity), and a frame reader driven by
//! IronRDP's PDU hints. Being async, one thread can drive many probes (`rdlic bench storm`);
//! [`crate::probe::run`] drives one on a runtime of its own.

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
    Tls(Box<TlsStream>),
    /// Only while upgrading.
    Gone,
}

impl Stream {
    /// Appends what one read returns to `buffer` (0: end of stream).
    async fn read_into(&mut self, buffer: &mut Vec<u8>) -> std::io::Result<usize> {
        match self {
            Self::Tcp(s) => s.read_buf(buffer).await,
            Self::Tls(s) => s.read_into(buffer).await,
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
            Self::Tls(s) => s.write_all_flush(bytes).await,
            Self::Gone => Err(std::io::ErrorKind::NotConnected.into()),
        }
    }
}

/// A rustls client connection over a tokio TCP stream, driven here rather than by tokio-rustls for one reason:
/// the handshake leaves the client's Finished queued, and it goes out in the same TCP segment as the first
/// application data (the MCS Connect Initial), as TLS 1.3 allows — one send and one wake-up of the server fewer
/// per connection. Everything else is plain rustls: records are read and written whole, alerts are sent.
#[derive(Debug)]
struct TlsStream {
    tcp: TcpStream,
    tls: rustls::ClientConnection,
}

impl TlsStream {
    /// Runs the handshake up to the server's Finished; the client's own Finished stays queued (see above).
    async fn connect(tcp: TcpStream, config: Arc<rustls::ClientConfig>, name: ServerName<'static>) -> Result<Self, TransportError> {
        let tls = rustls::ClientConnection::new(config, name).map_err(|e| TransportError::Tls(e.to_string()))?;
        let mut stream = Self { tcp, tls };
        let failed = |e: std::io::Error| TransportError::Tls(e.to_string());
        while stream.tls.is_handshaking() {
            stream.send_queued().await.map_err(failed)?;
            if stream.receive().await.map_err(failed)? == 0 {
                return Err(TransportError::Tls("the server closed the connection during the handshake".into()));
            }
        }
        Ok(stream)
    }

    /// Sends every queued TLS record in one write.
    async fn send_queued(&mut self) -> std::io::Result<()> {
        if !self.tls.wants_write() {
            return Ok(());
        }
        let mut records = Vec::new();
        while self.tls.wants_write() {
            self.tls.write_tls(&mut records)?;
        }
        self.tcp.write_all(&records).await
    }

    /// Reads what the socket has and processes it (0: end of stream). A TLS error sends its alert and ends here.
    /// The bytes go through tokio's `read` (not `try_read`): a short read tells tokio the socket is drained, so
    /// the next wait goes straight to epoll instead of a read that fails with `EAGAIN` first.
    async fn receive(&mut self) -> std::io::Result<usize> {
        let mut raw = [0u8; 8192];
        let n = self.tcp.read(&mut raw).await?;
        if n == 0 {
            // rustls learns of the end of the stream from an empty read: its reader then answers Ok(0) after a
            // close_notify, UnexpectedEof otherwise.
            self.tls.read_tls(&mut &[][..])?;
            return Ok(0);
        }
        let mut rest = raw.get(..n).unwrap_or_default();
        while !rest.is_empty() {
            // 0: rustls takes nothing more (after a close_notify); what follows it is dropped.
            if self.tls.read_tls(&mut rest)? == 0 {
                break;
            }
            if let Err(error) = self.tls.process_new_packets() {
                let _ = self.send_queued().await;
                return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, error));
            }
        }
        Ok(n)
    }

    /// Appends decrypted bytes to `buffer` (0: the server closed the connection after a close_notify).
    async fn read_into(&mut self, buffer: &mut Vec<u8>) -> std::io::Result<usize> {
        use std::io::Read as _;
        let mut chunk = [0u8; 4096];
        loop {
            match self.tls.reader().read(&mut chunk) {
                Ok(n) => {
                    buffer.extend_from_slice(chunk.get(..n).unwrap_or_default());
                    return Ok(n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            // Whatever rustls has to say first (the queued Finished, an alert) leaves before we wait.
            self.send_queued().await?;
            // At the end of the stream rustls's reader answers Ok(0) (close_notify) or UnexpectedEof above.
            self.receive().await?;
        }
    }

    async fn write_all_flush(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        use std::io::Write as _;
        self.tls.writer().write_all(bytes)?;
        self.send_queued().await
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
        // Each server PDU is answered at once (the acknowledgement rides on the answer): no separate
        // acknowledgements of the first segments (Linux quick-ack mode).
        #[cfg(target_os = "linux")]
        let _ = tcp.set_quickack(false);
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
        let tls = match tokio::time::timeout(self.timeout, TlsStream::connect(tcp, accept_any_config()?, name)).await {
            Err(_elapsed) => return Err(TransportError::Tls(TransportError::Timeout(self.timeout).to_string())),
            Ok(Err(e)) => return Err(e),
            Ok(Ok(tls)) => tls,
        };
        let connection = &tls.tls;
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
    let verifier = Arc::new(rdlic_api::client::AcceptAnyServerCertificate(provider.clone()));
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TransportError::Tls(e.to_string()))?;
    let mut config = builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth();
    // Each probe is a new client, as a new mstsc or xfreerdp process is: a shared configuration must not let one
    // probe resume another's TLS session (a full handshake is part of what is measured and reported).
    config.resumption = rustls::client::Resumption::disabled();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::{Read as _, Write as _};

    use super::*;

    /// A rustls server on a plain thread that reports what it saw.
    fn server(
        listener: std::net::TcpListener,
        config: Arc<rustls::ServerConfig>,
        close_notify: bool,
    ) -> std::thread::JoinHandle<(bool, Vec<u8>)> {
        std::thread::spawn(move || {
            let (mut sock, _) = listener.accept().unwrap();
            let mut tls = rustls::ServerConnection::new(config).unwrap();
            while !tls.wants_write() {
                tls.read_tls(&mut sock).unwrap();
                tls.process_new_packets().unwrap();
            }
            while tls.wants_write() {
                tls.write_tls(&mut sock).unwrap();
            }
            // One read: the client's Finished and its first data must both be in it.
            let mut raw = [0u8; 16384];
            let n = sock.read(&mut raw).unwrap();
            let mut rest = &raw[..n];
            while !rest.is_empty() {
                tls.read_tls(&mut rest).unwrap();
                tls.process_new_packets().unwrap();
            }
            let finished_in_one_read = !tls.is_handshaking();
            let mut plain = vec![0u8; 64];
            let got = tls.reader().read(&mut plain).unwrap_or(0);
            plain.truncate(got);
            tls.writer().write_all(b"world").unwrap();
            if close_notify {
                tls.send_close_notify();
            }
            while tls.wants_write() {
                tls.write_tls(&mut sock).unwrap();
            }
            drop(sock);
            (finished_in_one_read, plain)
        })
    }

    /// Handshake, "hello" out, "world" back, then the server's close: the error (or clean end) the client reads.
    async fn exchange(close_notify: bool) -> std::io::Result<usize> {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = rdlic_host::tls::ensure_certificate(dir.path(), None, "probe-test").unwrap();
        let config = rdlic_host::tls::server_config(&cert, &key).unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = server(listener, config, close_notify);

        let tcp = TcpStream::connect(addr).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let mut tls = TlsStream::connect(tcp, accept_any_config().unwrap(), name).await.unwrap();
        assert!(tls.tls.wants_write(), "the client's Finished is queued, not sent, after the handshake");
        tls.write_all_flush(b"hello").await.unwrap();
        let mut got = Vec::new();
        while got.len() < 5 {
            assert!(tls.read_into(&mut got).await.unwrap() > 0);
        }
        assert_eq!(got, b"world");
        let end = tls.read_into(&mut got).await;

        let (finished_in_one_read, plain) = server.join().unwrap();
        assert!(finished_in_one_read, "the server needed a second read to see the client's Finished");
        assert_eq!(plain, b"hello");
        end
    }

    #[tokio::test]
    async fn the_client_finished_leaves_with_the_first_data_and_an_unclean_close_is_an_error() {
        let end = exchange(false).await.unwrap_err();
        assert_eq!(end.kind(), std::io::ErrorKind::UnexpectedEof);
    }

    #[tokio::test]
    async fn a_close_notify_ends_the_stream_cleanly() {
        assert_eq!(exchange(true).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_tls_1_2_server_is_handled_too() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = rdlic_host::tls::ensure_certificate(dir.path(), None, "probe-test").unwrap();
        let host_config = rdlic_host::tls::server_config(&cert, &key).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS12])
            .unwrap()
            .with_no_client_auth()
            .with_cert_resolver(host_config.cert_resolver.clone());
        config.send_tls13_tickets = 0;
        let config = Arc::new(config);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut sock, _) = listener.accept().unwrap();
            let mut tls = rustls::ServerConnection::new(config).unwrap();
            let mut stream = rustls::Stream::new(&mut tls, &mut sock);
            let mut hello = [0u8; 5];
            stream.read_exact(&mut hello).unwrap();
            stream.write_all(b"world").unwrap();
            hello
        });
        let tcp = TcpStream::connect(addr).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let mut tls = TlsStream::connect(tcp, accept_any_config().unwrap(), name).await.unwrap();
        assert_eq!(tls.tls.protocol_version(), Some(rustls::ProtocolVersion::TLSv1_2));
        tls.write_all_flush(b"hello").await.unwrap();
        let mut got = Vec::new();
        while got.len() < 5 {
            assert!(tls.read_into(&mut got).await.unwrap() > 0);
        }
        assert_eq!(got, b"world");
        assert_eq!(&server.join().unwrap(), b"hello");
    }

    #[tokio::test]
    async fn a_server_that_is_not_tls_fails_the_handshake_instead_of_hanging() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut sock, _) = listener.accept().unwrap();
            let mut hello = [0u8; 512];
            let _ = sock.read(&mut hello).unwrap();
            sock.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").unwrap();
        });
        let tcp = TcpStream::connect(addr).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let outcome = tokio::time::timeout(Duration::from_secs(10), TlsStream::connect(tcp, accept_any_config().unwrap(), name))
            .await
            .expect("the handshake hung");
        assert!(matches!(outcome, Err(TransportError::Tls(_))), "{outcome:?}");
        server.join().unwrap();
    }
}
