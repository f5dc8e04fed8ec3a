//! Diagnostics for rdlic: [`probe`] (an RDP client that reports what any server does in its licensing phase) and
//! [`checks`] + [`gather`] (`rdlic diagnose` on a session host: the article's five causes, with the fix).
//!
//! Modules, top-down:
//! * [`probe`]: the probe itself (IronRDP's `ClientConnector` up to licensing, `rdpele::client` for licensing).
//! * [`rpc_probe`]: `rdlic probe --license-server`: a Windows RD license server over DCE/RPC (endpoint mapper,
//!   `ept_map`, bind to the licensing interface).
//! * [`explain`]: meanings and client-visible messages of Error Alert and ERRINFO codes; probe report text.
//! * [`checks`]: the diagnose logic as a pure function of a host snapshot and per-server observations.
//! * [`gather`]: the thin I/O layer that builds those inputs, and `--fix`; [`output`]: table and JSON.
//! * [`windows`]: the Windows licensing rules over a registry (`reg export` files, offline disks, and a live host's
//!   `host.toml`): Group Policy precedence, roles, connections, services.
//! * [`catalog`]: English and French messages (the `diag` domain of `rdlic-i18n`).
//! * [`store`]: the probe's on-disk CAL store. `transport`: blocking TCP/TLS framing.

pub mod catalog;
pub mod checks;
pub mod explain;
pub mod gather;
pub mod output;
pub mod probe;
pub mod rpc_probe;
pub mod store;
mod transport;
pub mod windows;

pub use catalog::Lang;
pub use transport::TransportError;
