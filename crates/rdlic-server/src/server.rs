//! The service: TCP accept loop, TLS (mutual, optional client certificate), HTTP/1.1 via hyper, axum routes.

use std::net::SocketAddr;
use std::sync::Arc;

use std::time::Duration;

use rdlic_api::listen::{AcceptBackoff, ConnectionTicket, ListenerEvent};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::Service as _;

use rdlic_api::tls;

use crate::api::{self, AppState, Peer};
use crate::datadir::{self, DataDir};
use crate::options::ServerOptions;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// Keys, certificates or the data dir.
    #[error(transparent)]
    Pki(#[from] rdlic_api::pki::PkiError),
    /// TLS configuration.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The store could not be opened or migrated.
    #[error("cannot open the license database: {0}")]
    Store(String),
    /// The clearinghouse key is not usable.
    #[error("clearinghouse key {path}: {reason}; pass the clearinghouse.pub made by `rdlic clearinghouse init`")]
    Clearinghouse {
        /// File.
        path: String,
        /// Why.
        reason: String,
    },
    /// Cannot listen.
    #[error("cannot listen on {addr}: {source}; pick another --listen address or stop the process using it")]
    Listen {
        /// Address.
        addr: SocketAddr,
        /// OS error.
        source: std::io::Error,
    },
}

/// The deadlines of one connection.
#[derive(Debug, Clone, Copy)]
struct Limits {
    handshake: Duration,
    header: Duration,
    request: Duration,
}

/// One connection: TLS handshake within its deadline, then HTTP/1.1 with hyper's header deadline (a timer is
/// required for it to take effect) and a deadline per request.
async fn serve_connection(
    tcp: tokio::net::TcpStream,
    peer_addr: SocketAddr,
    acceptor: TlsAcceptor,
    router: axum::Router,
    ticket: &ConnectionTicket,
    limits: Limits,
) {
    let table = ticket.table().clone();
    let stream = match tokio::time::timeout(limits.handshake, acceptor.accept(tcp)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::debug!(peer = %peer_addr, error = %e, "tls handshake failed");
            return;
        }
        Err(_) => {
            table.count(ListenerEvent::HandshakeTimeout);
            tracing::debug!(peer = %peer_addr, "tls handshake deadline passed");
            return;
        }
    };
    let fingerprint = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| rdlic_api::pki::fingerprint(c.as_ref()));
    if fingerprint.is_some() {
        // rustls verified the chain to this server's CA: an enrolled (or once enrolled) host.
        ticket.authenticated();
    }
    let peer = Peer { addr: peer_addr, cert_fingerprint: fingerprint };
    // A completed request authenticates the connection: it is not shed any more (the header deadline still closes
    // it when idle).
    let authenticator = ticket.authenticator();
    let served_one = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let served = served_one.clone();
    let request_timeout = limits.request;
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(peer.clone());
        let mut router = router.clone();
        let authenticator = authenticator.clone();
        let served = served.clone();
        async move {
            match tokio::time::timeout(request_timeout, router.call(req)).await {
                Ok(answer) => {
                    authenticator.authenticated();
                    served.store(true, std::sync::atomic::Ordering::Relaxed);
                    answer
                }
                Err(_) => Ok(request_timed_out()),
            }
        }
    });
    let io = hyper_util::rt::TokioIo::new(stream);
    let served = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header)
        .serve_connection(io, svc)
        .await;
    if let Err(e) = served {
        if e.is_timeout() {
            // hyper's header deadline: a client idle between requests (idle), or slow to send its first headers.
            let idle = served_one.load(std::sync::atomic::Ordering::Relaxed);
            table.count(if idle { ListenerEvent::IdleTimeout } else { ListenerEvent::PhaseTimeout });
            tracing::debug!(peer = %peer_addr, "request header deadline passed");
        } else {
            tracing::debug!(peer = %peer_addr, error = %e, "connection ended with an error");
        }
    }
}

/// 408 with the API's error body; hyper closes the connection after it (`Connection: close`).
fn request_timed_out() -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let mut response = crate::error::ApiError::new(
        axum::http::StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        "the request took longer than the server allows (--request-timeout-secs): send it again, faster",
    )
    .into_response();
    response.headers_mut().insert(axum::http::header::CONNECTION, axum::http::HeaderValue::from_static("close"));
    response
}

/// A started server; dropping it does not stop it, call [`RunningServer::shutdown`].
#[derive(Debug)]
pub struct RunningServer {
    /// The bound address.
    pub addr: SocketAddr,
    /// `https://127.0.0.1:PORT` (or the listen address).
    pub url: String,
    /// Shared state (metrics, store) for tests and the bench.
    pub state: Arc<AppState>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningServer {
    /// Stops accepting and waits for the accept loop to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Waits until the accept loop ends (never, unless shut down).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// Loads (or initialises) the data dir, opens the store, binds and serves in the background.
pub async fn start(opts: ServerOptions) -> Result<RunningServer, StartError> {
    let dd = {
        let dir = opts.data_dir.clone();
        let sans = opts.sans.clone();
        tokio::task::spawn_blocking(move || DataDir::open_or_init(&dir, &sans))
            .await
            .map_err(|e| StartError::Store(e.to_string()))??
    };
    let ch_path = dd.dir.join(crate::api::CLEARINGHOUSE_PUB_FILE);
    if let Some(src) = &opts.clearinghouse_key {
        let pem = rdlic_api::pki::read(src)?;
        rdlic_core::ClearinghouseKey::from_pem(&pem).map_err(|e| StartError::Clearinghouse {
            path: src.display().to_string(),
            reason: e.to_string(),
        })?;
        rdlic_api::pki::write_public(&ch_path, &pem)?;
    }
    let clearinghouse = if ch_path.exists() {
        let pem = rdlic_api::pki::read(&ch_path)?;
        Some(rdlic_core::ClearinghouseKey::from_pem(&pem).map_err(|e| StartError::Clearinghouse {
            path: ch_path.display().to_string(),
            reason: e.to_string(),
        })?)
    } else {
        None
    };
    let tls_cfg = tls::server_config(&dd.ca_cert, &dd.tls_cert, &dd.tls_key)?;
    let listener =
        TcpListener::bind(opts.listen).await.map_err(|source| StartError::Listen { addr: opts.listen, source })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen { addr: opts.listen, source })?;
    let listen_url = if addr.ip().is_unspecified() {
        format!("https://127.0.0.1:{}", addr.port())
    } else if addr.is_ipv6() {
        format!("https://[{}]:{}", addr.ip(), addr.port())
    } else {
        format!("https://{addr}")
    };
    let url = listen_url.clone();
    let public_url = opts.public_url.clone().unwrap_or_else(|| listen_url.clone());
    let url_path = dd.dir.join(datadir::URL_FILE);
    let state = Arc::new(AppState::open(dd, clearinghouse, &opts).await.map_err(StartError::Store)?);
    rdlic_api::pki::write_public(&url_path, format!("{url}\n").as_bytes())?;
    let router = match opts.extra_routes.clone() {
        Some(extra) => api::router(state.clone()).merge(extra),
        None => api::router(state.clone()),
    };
    let (stop, mut stopped) = watch::channel(false);
    tokio::spawn(crate::retention::run(state.clone(), opts.temporary_cal_retention_days, stopped.clone()));
    let heartbeat = tokio::spawn(crate::cluster::run(state.clone(), public_url, stop.subscribe()));
    let acceptor = TlsAcceptor::from(tls_cfg);
    let limits = Limits {
        handshake: opts.handshake_timeout,
        header: opts.header_timeout,
        request: opts.request_timeout,
    };
    let table = state.listener.clone();
    let task = tokio::spawn(async move {
        let mut backoff = AcceptBackoff::new();
        loop {
            let (tcp, peer_addr) = tokio::select! {
                r = listener.accept() => match r {
                    Ok(x) => {
                        backoff.succeeded();
                        x
                    }
                    Err(e) => {
                        // Out of descriptors (EMFILE) and the like: wait instead of spinning; the open connections
                        // free descriptors as they end.
                        table.count(ListenerEvent::AcceptError);
                        let delay = backoff.failed();
                        tracing::warn!(error = %e, ?delay, "accept failed");
                        tokio::select! {
                            () = tokio::time::sleep(delay) => {}
                            _ = stopped.changed() => break,
                        }
                        continue;
                    }
                },
                _ = stopped.changed() => break,
            };
            let Some(ticket) = table.admit() else {
                tracing::debug!(peer = %peer_addr, "connection cap reached and every connection authenticated: closed");
                continue;
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let router = router.clone();
            tokio::spawn(async move {
                tokio::select! {
                    () = serve_connection(tcp, peer_addr, acceptor, router, &ticket, limits) => {}
                    () = ticket.shed() => tracing::debug!(peer = %peer_addr, "unauthenticated connection shed (cap reached)"),
                }
            });
        }
        // The heartbeat task records the clean stop before `shutdown` returns.
        let _ = heartbeat.await;
    });
    tracing::info!(%url, "license server listening");
    Ok(RunningServer { addr, url, state, stop, task })
}
