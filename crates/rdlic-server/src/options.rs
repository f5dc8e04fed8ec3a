//! How to run a license server: what `rdlic server run` and the tests choose, read by the routes and the accept loop.

use std::net::SocketAddr;
use std::path::PathBuf;

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
            public_url: None,
            extra_routes: None,
        }
    }
}
