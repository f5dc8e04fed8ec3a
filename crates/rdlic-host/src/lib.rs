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

pub mod authority;
pub mod config;
pub mod decisionlog;
mod desktop;
pub mod grace;
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

    /// Accepts connections until the task is dropped; each connection runs in its own task.
    pub async fn run(self) {
        tracing::info!(addr = ?self.listener.local_addr().ok(), host = %self.runtime.host_name, "session host listening");
        loop {
            match self.listener.accept().await {
                Ok((tcp, peer)) => {
                    tokio::spawn(session::serve(self.runtime.clone(), tcp, peer));
                }
                Err(error) => {
                    // Out of descriptors and the like: keep serving the open sessions.
                    tracing::warn!(%error, "accept failed");
                    tokio::task::yield_now().await;
                }
            }
        }
    }
}
