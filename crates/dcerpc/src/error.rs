//! Errors of the decoders and encoders.

use crate::pdu::PacketType;

/// Bytes that are not what the specification allows, or too few of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Fewer bytes than the structure needs
    #[error("truncated {what} at offset {offset}: needs {needed} bytes, {available} available")]
    Truncated { what: &'static str, offset: usize, needed: usize, available: usize },
    /// The header's version is not the connection-oriented protocol's 5.0 (or 5.1)
    #[error("rpc version {major}.{minor} is not the connection-oriented protocol 5.0")]
    Version { major: u8, minor: u8 },
    /// The packed data representation names an integer format that does not exist
    #[error("unsupported data representation {0:02x?}")]
    DataRepresentation([u8; 4]),
    /// A field holds a value the specification forbids
    #[error("invalid {what}: {reason}")]
    Invalid { what: &'static str, reason: String },
    /// A PDU of another type than the one expected here
    #[error("expected {expected}, received a {received} pdu")]
    UnexpectedType { expected: &'static str, received: PacketType },
}

/// A value that does not fit its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A variable-length part is longer than its length field can say
    #[error("{what} is {len} long, more than its limit of {max}")]
    TooLong { what: &'static str, len: usize, max: usize },
}

impl EncodeError {
    pub(crate) fn too_long(what: &'static str, len: usize, max: usize) -> Self {
        Self::TooLong { what, len, max }
    }
}
