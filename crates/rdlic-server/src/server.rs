//! The service: TCP accept loop, TLS (mutual, optional client certificate), HTTP/1.1 via hyper, axum routes.

use std::net::SocketAddr;
use std::sync::Arc;

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
    let heartbeat = tokio::spawn(crate::cluster::run(state.clone(), public_url, stop.subscribe()));
    let acceptor = TlsAcceptor::from(tls_cfg);
    let task = tokio::spawn(async move {
        loop {
            let (tcp, peer_addr) = tokio::select! {
                r = listener.accept() => match r {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        continue;
                    }
                },
                _ = stopped.changed() => break,
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let router = router.clone();
            tokio::spawn(async move {
                let handshake =
                    tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(tcp)).await;
                let stream = match handshake {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        tracing::debug!(peer = %peer_addr, error = %e, "tls handshake failed");
                        return;
                    }
                    Err(_) => return,
                };
                let fingerprint = stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .map(|c| rdlic_api::pki::fingerprint(c.as_ref()));
                let peer = Peer { addr: peer_addr, cert_fingerprint: fingerprint };
                let svc = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(peer.clone());
                    let mut router = router.clone();
                    async move { router.call(req).await }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                if let Err(e) = hyper::server::conn::http1::Builder::new().serve_connection(io, svc).await {
                    tracing::debug!(peer = %peer_addr, error = %e, "connection ended with an error");
                }
            });
        }
        // The heartbeat task records the clean stop before `shutdown` returns.
        let _ = heartbeat.await;
    });
    tracing::info!(%url, "license server listening");
    Ok(RunningServer { addr, url, state, stop, task })
}
