//! How to run a license server: what `rdlic server run` and the tests choose, read by the routes and the accept loop.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Data directory (created on first run).
    pub data_dir: PathBuf,
    /// Listen address (port 0 picks a free port).
    pub listen: SocketAddr,
    /// `postgres://...` URL, a SQLite path, or `None` for `license.db` in the data dir.
    pub database: Option<String>,
    /// Clearinghouse public key (PEM) to trust; copied into the data dir as `clearinghouse.pub`. When absent, a
    /// `clearinghouse.pub` already in the data dir is used; without either the server cannot be activated.
    pub clearinghouse_key: Option<PathBuf>,
    /// Extra TLS certificate names/addresses.
    pub sans: Vec<String>,
    /// Largest accepted request body in bytes.
    pub max_body: usize,
    /// Refuse per-user CALs when none is free (Windows allows over-allocation; default off).
    pub enforce_per_user: bool,
    /// Most per-device requests committed in one transaction (group commit; 1 = one commit per CAL).
    pub max_batch: usize,
    /// How long a client has to finish the TLS handshake (`--tls-handshake-timeout-secs`, default 10 s).
    pub handshake_timeout: Duration,
    /// How long a client has to send a request's headers, counted from the end of the handshake or of the previous
    /// answer (`--header-timeout-secs`, default 10 s). A keep-alive connection that sends no new request within
    /// it is closed: it is also the keep-alive idle timeout. Hosts reconnect on their own.
    pub header_timeout: Duration,
    /// How long one request may take from its headers to its answer, body upload included
    /// (`--request-timeout-secs`, default 60 s): a body trickled byte by byte ends with 408.
    pub request_timeout: Duration,
    /// Open connections at most (`--max-connections`, default 1024). When full, the oldest connection that neither
    /// presented an enrolled host's certificate nor completed a request is closed to make room; when every open
    /// connection did, the new one is closed.
    pub max_connections: usize,
    /// Temporary per-device CALs that expired more than this many days ago are deleted (audited), at start and
    /// every hour; 0 keeps them for ever ([`crate::retention`]).
    pub temporary_cal_retention_days: u32,
    /// The URL other servers, admins and hosts reach this server at, recorded in the cluster's `servers` table
    /// (default: the listen address as `https://IP:PORT`).
    pub public_url: Option<String>,
    /// More routes served next to the API (the binary adds the RD Licensing Manager page, `rdlic_web::router()`).
    pub extra_routes: Option<axum::Router>,
}

impl ServerOptions {
    /// Defaults for a data dir, listening on 127.0.0.1 with a free port (the CLI sets `listen`).
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database: None,
            clearinghouse_key: None,
            sans: Vec::new(),
            max_body: 64 * 1024,
            enforce_per_user: false,
            max_batch: 64,
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_connections: 1024,
            public_url: None,
            extra_routes: None,
            temporary_cal_retention_days: crate::retention::DEFAULT_RETENTION_DAYS,
        }
    }
}
