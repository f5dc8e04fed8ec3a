//! MS-RDPELE — the Remote Desktop Protocol licensing extension, without I/O.
//!
//! * [`pdu`]: every licensing message of MS-RDPELE 2.2 / MS-RDPBCGR 2.2.1.12, encode and decode.
//! * [`crypto`]: MS-RDPELE 5.1 key derivation, RC4, MAC, raw little-endian RSA.
//! * [`cert`]: server certificates of the License Request (proprietary and X.509 chain).
//! * [`der`], [`x509`], [`cal`]: the client access licence itself (MS-RDPELE 2.2.2.9).
//! * [`server`], [`client`]: sans-IO state machines for one licensing exchange.
//!
//! Nothing here reads a clock, a socket or a random source: callers pass time and randomness in.

pub mod cal;
pub mod cert;
pub mod client;
pub mod crypto;
pub mod der;
pub mod pdu;
pub mod server;
pub mod x509;
