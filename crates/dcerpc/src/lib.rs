//! Connection-oriented DCE/RPC ([C706] chapter 12, with [MS-RPCE] where Windows differs), without I/O: enough to
//! ask an endpoint mapper where an interface listens and to bind to it.
//!
//! * [`pdu`]: the common header and the bind, bind_ack, bind_nak, request, response and fault PDUs.
//! * [`epm`]: the endpoint mapper's `ept_map` call (opnum 3 of `ept` v3.0), NDR-encoded both ways, and the
//!   protocol towers it carries, decoded to (protocol, port, address).
//! * [`client`]: a sans-IO client: bind, then one call, then the outcome; [`server`]: the answers a small
//!   endpoint mapper gives.
//! * [`syntax`]: UUIDs and interface identifiers, with the interfaces rdlic talks to.
//!
//! Every decoder returns a [`DecodeError`] on any input; nothing here panics, reads a socket or a clock.
//!
//! [C706]: https://pubs.opengroup.org/onlinepubs/9629399/ "DCE 1.1: Remote Procedure Call"
//! [MS-RPCE]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-rpce/

#[macro_use]
mod macros;
mod error;
mod wire;

pub mod client;
pub mod epm;
pub mod pdu;
pub mod server;
pub mod syntax;

pub use error::{DecodeError, EncodeError};
pub use syntax::{SyntaxId, Uuid};
