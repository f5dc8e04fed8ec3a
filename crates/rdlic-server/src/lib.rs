//! rdlic license server: the RD license server of the article, as an HTTPS JSON service.
//!
//! # Pieces
//! - [`server::start`] loads or initialises the data dir ([`datadir`]: identity key, TLS CA, admin token — keys mode
//!   0600), opens the store (`rdlic_store::open_store`: SQLite in the data dir, or PostgreSQL by URL), binds, and
//!   serves HTTP/1.1 over rustls (ring) with optional client certificates ([`tls`]).
//! - [`api`]: routes. Host endpoints require the client certificate of an enrolled, non-revoked host (checked in the
//!   store on every request); admin endpoints require `Authorization: Bearer <DATA/admin.token>`. Errors are
//!   `{"error": "...", "code": "..."}` ([`error::ApiError`]). The OpenAPI 3 document is served at
//!   `/api/openapi.json`; Prometheus metrics at `/metrics` ([`metrics`]).
//! - Per-device issuance and per-user checkouts go through a group-commit queue (`--max-batch`, default 64): the
//!   requests that arrive while one transaction commits share the next one; nobody is answered before the
//!   transaction holding their CAL committed (`kill -9` loses no CAL a host received).
//! - An enrolled host found in the store is trusted for 2 s without asking again; a revocation through this server
//!   takes effect at once, through another server sharing the PostgreSQL database within 2 s.
//! - [`bench`]: `rdlic bench server`.
//! - [`client`]: the Rust client for session hosts ([`client::LicenseServerClient`]) and for the CLI
//!   ([`client::AdminClient`]).
//!
//! # Endpoints
//! | method, path | who | what |
//! |---|---|---|
//! | `GET /api/v1/ping` | anyone | up? server id |
//! | `POST /api/v1/enroll` | anyone with a one-time token | CSR (or none) → client certificate signed by the server CA |
//! | `GET /api/v1/status` | host or admin | activated? CALs installed/issued/available per type and version |
//! | `GET /api/v1/chain` | host | certificates (DER, base64) that validate this server's CALs |
//! | `POST /api/v1/cal/device` | host | issue / upgrade / renew a per-device CAL (committed before the answer) |
//! | `POST /api/v1/cal/device/batch` | host | up to 64 of those in one request, one answer each, in order (what session hosts send when several clients connect at once) |
//! | `POST /api/v1/cal/user` | host | check out / refresh a per-user CAL |
//! | `GET /api/v1/admin/activation-request`, `POST /api/v1/admin/activate` | admin | activation |
//! | `GET/POST /api/v1/admin/keypacks` | admin | list / install signed key packs |
//! | `GET /api/v1/admin/licenses`, `POST /api/v1/admin/licenses/{serial}/revoke` | admin | issued CALs, revocation |
//! | `GET /api/v1/admin/reports/{per-user,per-device}?format=csv\|json` | admin | reports |
//! | `POST /api/v1/admin/enroll-tokens`, `GET /api/v1/admin/hosts`, `POST /api/v1/admin/hosts/{id}/revoke` | admin | hosts (each with its latest report) |
//! | `POST /api/v1/host/report` | host | licensing mode, grace period, `rdlic diagnose` findings, refusals since the last report |
//! | `GET /api/v1/admin/refusals?after=&limit=`, `GET /api/v1/admin/hosts/{id}/report` | admin | what hosts reported |
//! | `POST /api/v1/admin/login` | anyone with the admin password | the admin token ([`password`]; set by `rdlic server init`, [`init`]) |
//! | `GET /api/v1/admin/audit` | admin | audit log |
//! | `GET /metrics`, `GET /api/openapi.json` | anyone | metrics, API document |
//!
//! # Client API for session hosts (`rdlic-host`)
//! ```no_run
//! # async fn demo() -> Result<(), rdlic_server::client::ClientError> {
//! use rdlic_server::client::{DeviceCalAsk, LicenseServerClient};
//! let dir = std::path::Path::new("/var/lib/rdlic-host/ls1");
//! // Once, with a token from `rdlic host token` on the license server (pin DATA/ca.crt, or None = trust first use):
//! LicenseServerClient::enroll("https://ls1:8443", "TOKEN", "host1", dir, None).await?;
//! // Then, on every start:
//! let ls = LicenseServerClient::from_dir(dir, None)?.with_timeout(std::time::Duration::from_secs(5));
//! // Optional: the PRODUCT_INFO of the host's License Request, written into each CAL (default Microsoft, A02, 10.0).
//! let ls = ls.with_product(rdlic_server::wire::CalProduct {
//!     company: "Microsoft Corporation".into(), product_id: "A02".into(), major: 10, minor: 0,
//! });
//! let status = ls.status().await?;               // activated? CALs free per type/version
//! let chain = ls.server_chain().await?;           // DER certs, leaf first: validate presented CALs locally
//! let ask = DeviceCalAsk {
//!     hardware_id: [0; 20], client_machine: "PC1".into(), user: "alice".into(),
//!     platform_id: 0x0201_0000, host_version: 2022, presented_serial: None,
//! };
//! let cal = ls.issue_device_cal(&ask).await?;     // no CAL presented: temporary (90 days) on first request
//! let cal = ls.upgrade(&ask).await?;              // temporary presented: permanent when activated + CAL free
//! let cal = ls.renew(&ask).await?;                // ≤ 7 days left: renewed for 52–89 days
//! let user = ls.checkout_user_cal("alice", 2022).await?; // per-user mode
//! # let _ = (status, chain, cal, user); Ok(()) }
//! ```
//! `issue_device_cal`, `upgrade` and `renew` send the same request with a different `reason`; the server decides
//! from what it has recorded for the hardware id (Windows behaviour), so each returns the CAL the device should hold
//! now: check [`client::IssuedCal::permanent`]. A refusal (temporary CAL expired and no permanent CAL free) is
//! [`client::ClientError::Api`] with status 409 and code `no_license`; an unreachable server is
//! [`client::ClientError::Connect`] / [`client::ClientError::Timeout`] (fail over to the next server); 401/403 means
//! the host is not enrolled or was revoked. The client keeps idle keep-alive connections (clones share them) and
//! retries once on a fresh connection when a pooled one was closed by the server.

pub mod api;
mod batch;
pub mod bench;
mod calsign;
pub mod client;
pub mod datadir;
pub mod error;
pub mod init;
pub mod metrics;
pub mod password;
pub mod pki;
pub mod sched;
pub mod server;
mod signpool;
pub use signpool::SIGNING_THREADS;
pub mod tls;
pub mod wire;

pub use calsign::CalBuildError;
pub use client::{AdminClient, ClientError, DeviceCalAsk, IssuedCal, LicenseServerClient};
pub use server::{start, RunningServer, ServerOptions};
