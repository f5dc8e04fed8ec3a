//! `rdlic host` — the RD Session Host: an RDP listener (TLS, `ironrdp-acceptor` driven by our own loop) whose
//! licensing phase runs `rdpele::server::ServerLicensing` under the Windows rules: licensing mode, license
//! servers in `SpecifiedLicenseServers` order, the grace period, administrative sessions.
//!
//! Modules, top-down:
//! * [`Host`] (this file): bind, serve many connections, expose a [`HostStatus`] watch.
//! * `session`: one connection (acceptor loop, client identity, licensing phase, finalization, status desktop).
//! * [`policy`]: the licensing rules as pure functions (tested with a simulated clock).
//! * [`grace`]: the persisted grace period and the host [`grace::Clock`] (with a day offset for tests).
//! * [`authority`]: asking license servers ([`authority::LicenseAuthority`]), failover, an in-process authority,
//!   local CAL validation.
//! * [`config`]: `host.toml` with the Windows value names.
//! * [`report`]: the periodic report to the license server (grace period, refusals, diagnose findings).
//! * `wire`, `desktop`, [`tls`]: PDU envelopes, the status bitmap, TLS.
//! * `metrics`: the optional Prometheus endpoint (`MetricsListen`).
//!
//! Against hostile networks: each phase of a connection has a deadline (X.224, TLS handshake, connection
//! sequence, licensing, finalization; `host.toml` `...TimeoutSecs`), active sessions an idle timeout (shorter for
//! administrative ones), the listener a connection cap that sheds the oldest connection not yet past licensing
//! (`rdlic_api::listen`), and `accept()` errors a back-off.

pub mod authority;
pub mod config;
pub mod decisionlog;
mod desktop;
pub mod grace;
mod metrics;
pub mod policy;
mod product;
pub mod remote;
pub mod report;
mod runtime;
mod session;
pub mod tls;
mod wire;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;

pub use crate::runtime::{event_text, DecisionRecord, HostStatus, DECISION_LOG_FILE};
use crate::authority::{CalVerifier, LicenseAuthority};
use crate::config::HostConfig;
use crate::grace::Clock;

/// Errors starting a host.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Grace(#[from] grace::GraceError),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("licensing key or certificate: {0}")]
    Licensing(String),
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
}

/// Everything a host needs to start.
#[derive(Debug)]
pub struct HostOptions {
    /// Data directory: `host.toml`, `grace.toml`, `tls/`, `licensing/`.
    pub dir: PathBuf,
    /// Address to listen on (`127.0.0.1:0` for an ephemeral port).
    pub listen: SocketAddr,
    /// The configuration (usually `HostConfig::load(dir)`).
    pub config: HostConfig,
    /// The host clock (system time plus an offset in days).
    pub clock: Clock,
    /// License server clients, matched by name against `SpecifiedLicenseServers`; names without one are
    /// unreachable.
    pub authorities: Vec<Arc<dyn LicenseAuthority>>,
    /// Local validation of presented CALs.
    pub verifier: Arc<dyn CalVerifier>,
}

/// A bound session host.
#[derive(Debug)]
pub struct Host {
    listener: tokio::net::TcpListener,
    runtime: Arc<runtime::Runtime>,
    status: watch::Receiver<HostStatus>,
}

impl Host {
    /// Reads keys and certificates (making them on first start), starts the grace period on first start, binds.
    pub async fn bind(options: HostOptions) -> Result<Self, HostError> {
        let HostOptions { dir, listen, config, clock, authorities, verifier } = options;
        let (runtime, status) =
            runtime::Runtime::new(runtime::RuntimeParts { dir, config, clock, authorities, verifier })?;
        let listener =
            tokio::net::TcpListener::bind(listen).await.map_err(|source| HostError::Bind { addr: listen, source })?;
        Ok(Self { listener, runtime: Arc::new(runtime), status })
    }

    /// The bound address.
    pub fn local_addr(&self) -> Result<SocketAddr, std::io::Error> {
        self.listener.local_addr()
    }

    /// A receiver of the host status (sessions, administrative slots, decisions).
    pub fn status(&self) -> watch::Receiver<HostStatus> {
        self.status.clone()
    }

    /// A receiver of the listener's counters (open, shed, timeouts, ...), as `MetricsListen` shows them.
    pub fn connections(&self) -> watch::Receiver<rdlic_api::listen::ListenerCounters> {
        self.runtime.connections.watch()
    }

    /// The host's counters in the Prometheus text format (what `GET /metrics` on `MetricsListen` answers).
    pub fn metrics_text(&self) -> String {
        metrics::render(&self.runtime, &self.status.borrow())
    }

    /// Accepts connections until the task is dropped; each connection runs in its own task. With `MetricsListen`
    /// set, serves `GET /metrics` there too.
    pub async fn run(self) {
        tracing::info!(addr = ?self.listener.local_addr().ok(), host = %self.runtime.host_name, "session host listening");
        if let Some(addr) = self.runtime.config.metrics_listen {
            match tokio::net::TcpListener::bind(addr).await {
                Ok(listener) => {
                    tokio::spawn(metrics::serve(listener, self.runtime.clone(), self.status.clone()));
                }
                Err(error) => tracing::error!(%addr, %error, "cannot listen for metrics (MetricsListen)"),
            }
        }
        let mut backoff = rdlic_api::listen::AcceptBackoff::new();
        loop {
            match self.listener.accept().await {
                Ok((tcp, peer)) => {
                    backoff.succeeded();
                    // Full: the oldest connection not yet past licensing makes room; all past it: this one closes.
                    match self.runtime.connections.admit() {
                        Some(ticket) => {
                            tokio::spawn(session::serve(self.runtime.clone(), tcp, peer, ticket));
                        }
                        None => tracing::debug!(%peer, "connection cap reached, every connection licensed: closed"),
                    }
                }
                Err(error) => {
                    // Out of descriptors (EMFILE) and the like: wait instead of spinning; the open sessions free
                    // descriptors as they end.
                    self.runtime.connections.count(rdlic_api::listen::ListenerEvent::AcceptError);
                    let delay = backoff.failed();
                    tracing::warn!(%error, ?delay, "accept failed");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }
}
