//! rdlic license server: the RD license server of the article, as an HTTPS JSON service.
//!
//! # Pieces
//! - [`server::start`] loads or initialises the data dir ([`datadir`]: identity key, TLS CA, admin token — keys mode
//!   0600), opens the store (`rdlic_store::open_store`: SQLite in the data dir, or PostgreSQL by URL), binds, and
//!   serves HTTP/1.1 over rustls (ring) with optional client certificates (`rdlic_api::tls`).
//! - [`api`]: routes. Host endpoints require the client certificate of an enrolled, non-revoked host (checked in the
//!   store on every request); admin endpoints require `Authorization: Bearer <DATA/admin.token>`. Errors are
//!   `{"error": "...", "code": "..."}` ([`error::ApiError`]). The OpenAPI 3 document is served at
//!   `/api/openapi.json`; Prometheus metrics at `/metrics` ([`metrics`]).
//! - Per-device issuance and per-user checkouts go through a group-commit queue (`--max-batch`, default 64): the
//!   requests that arrive while one transaction commits share the next one; nobody is answered before the
//!   transaction holding their CAL committed (`kill -9` loses no CAL a host received).
//! - An enrolled host found in the store is trusted for 2 s without asking again; a revocation through this server
//!   takes effect at once, through another server sharing the PostgreSQL database within 2 s.
//! - Against hostile networks ([`server`], `rdlic_api::listen`): a TLS handshake deadline, a request-header
//!   deadline that is also the keep-alive idle timeout, a whole-request deadline, a connection cap that sheds the
//!   oldest unauthenticated connection first, and a back-off on `accept()` errors; counted in `/metrics`.
//! - The wire types, the TLS helpers and the Rust client of this API live in `rdlic-api`, which session hosts,
//!   `rdlic diagnose` and the CLI use without depending on this crate.
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
//! | `POST /api/v1/host/renew` | host | a new client certificate for the host (its own CSR), before the old one ends |
//! | `POST /api/v1/host/report` | host | licensing mode, grace period, `rdlic diagnose` findings, refusals since the last report |
//! | `GET /api/v1/admin/refusals?after=&limit=`, `GET /api/v1/admin/hosts/{id}/report` | admin | what hosts reported |
//! | `POST /api/v1/admin/login` | anyone with the admin password | a web session token ([`password`]; set by `rdlic server init`, [`init`]); throttled per source and globally, checks on their own pool ([`login_guard`]) |
//! | `GET /api/v1/admin/audit` | admin | audit log |
//! | `GET /metrics`, `GET /api/openapi.json` | anyone | metrics, API document |

pub mod api;
mod batch;
mod calsign;
pub mod bundle;
pub mod cluster;
pub mod datadir;
pub mod error;
pub mod init;
pub mod login_guard;
pub mod metrics;
mod options;
pub mod password;
pub mod retention;
pub mod sched;
pub mod server;
mod signpool;
mod store_handle;
pub use signpool::SIGNING_THREADS;

pub use calsign::CalBuildError;
pub use options::ServerOptions;
pub use server::{start, RunningServer, StartError};
