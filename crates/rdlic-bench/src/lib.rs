//! rdlic benchmarks (internal tier: figures, not tests). The binary runs them as `rdlic bench server` and
//! `rdlic bench storm`; methods and figures are in `docs/benchmarks.md`.
//!
//! - [`server`]: a real license server (TLS, the real store) driven by N concurrent enrolled hosts: issuance, status
//!   and per-user refresh, with the signature and durable-insert floors of the same run.
//! - [`storm`]: many simulated RDP clients (`rdlic_diag::probe`) against a session host and a license server, with
//!   the crypto floor of one new-device connection.
//! - [`failover`]: several license server processes on one PostgreSQL database, one session host process, clients
//!   connecting while servers are killed with SIGKILL and restarted (`rdlic bench storm --servers N`).
//!
//! Like the binary, this crate reports failures with `anyhow`: a benchmark's errors end the run with a message and
//! are never matched on.

pub mod failover;
pub mod server;
mod setup;
pub mod storm;
