//! Identifiers: license server id, key pack id, client hardware id, enrollment token hash.

use core::fmt;
use core::str::FromStr;

/// A malformed identifier in text form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// Not hexadecimal, or not the expected length.
    #[error("{what} must be {len} hexadecimal digits (got {got:?})")]
    BadHex {
        /// Which identifier.
        what: &'static str,
        /// Expected number of hex digits.
        len: usize,
        /// The offending text (identifiers are not secret).
        got: String,
    },
}

fn parse_hex<const N: usize>(what: &'static str, s: &str) -> Result<[u8; N], IdError> {
    let cleaned: String = s.trim().chars().filter(|c| *c != '-').collect();
    let mut out = [0u8; N];
    hex::decode_to_slice(&cleaned, &mut out).map_err(|_| IdError::BadHex {
        what,
        len: N * 2,
        got: s.to_owned(),
    })?;
    Ok(out)
}

/// The license server id: the first 16 bytes of SHA-256 over the DER SubjectPublicKeyInfo of the server's identity
/// key. Tying the id to the key means an activation certificate names exactly one key pair.
///
/// Printed as 32 hex digits in groups of 8 (`0123abcd-...`), like the 35-character Windows license server ID that
/// an administrator reads to the clearinghouse (`reference/rds-facts.md` §2.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerId(pub [u8; 16]);

impl ServerId {
    /// Derives the id of the server whose public key is `spki_der`.
    pub fn from_public_key_der(spki_der: &[u8]) -> Self {
        let digest = openssl::sha::sha256(spki_der);
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        Self(id)
    }
}

impl fmt::Display for ServerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = hex::encode(self.0);
        write!(f, "{}-{}-{}-{}", &h[0..8], &h[8..16], &h[16..24], &h[24..32])
    }
}

impl FromStr for ServerId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_hex("license server id", s).map(Self)
    }
}

/// A key pack id: 16 bytes chosen at random by the clearinghouse when it issues the pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyPackId(pub [u8; 16]);

impl fmt::Display for KeyPackId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl FromStr for KeyPackId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_hex("key pack id", s).map(Self)
    }
}

/// [MS-RDPELE 2.2.2.3.1] CLIENT_HARDWARE_ID as the session host received it: PlatformId, Data1, Data2, Data3, Data4
/// (5 × 4 bytes, wire order). Per-device CALs are tracked by this value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HardwareId(pub [u8; 20]);

impl fmt::Display for HardwareId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl FromStr for HardwareId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_hex("hardware id", s).map(Self)
    }
}

/// SHA-256 of a one-time host enrollment token. Only the hash is stored, so a database dump does not leak tokens.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    /// Hashes a token as the administrator received it.
    pub fn of(token: &[u8]) -> Self {
        Self(openssl::sha::sha256(token))
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Shortened on purpose: a hash is not secret, but logs need not carry it whole.
        write!(f, "TokenHash({}…)", hex::encode(&self.0[..4]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text() {
        let s = ServerId([7; 16]);
        assert_eq!(s.to_string().parse::<ServerId>(), Ok(s));
        let k = KeyPackId([0xab; 16]);
        assert_eq!(k.to_string().parse::<KeyPackId>(), Ok(k));
        let h = HardwareId([1; 20]);
        assert_eq!(h.to_string().parse::<HardwareId>(), Ok(h));
        assert!("zz".parse::<KeyPackId>().is_err());
        assert!("abcd".parse::<ServerId>().is_err());
    }
}
