//! UUIDs and presentation syntax identifiers ([C706 Appendix A], [C706 12.6.3.1] `p_syntax_id_t`), and the
//! interfaces rdlic names.

use core::fmt;

use crate::error::DecodeError;
use crate::wire::{Reader, Writer};

/// A DCE UUID ([C706 Appendix A]), kept in its string order: `time_low`, `time_mid`, `time_hi_and_version`, then
/// the eight clock sequence and node bytes. On the wire the first three fields follow the sender's integer
/// representation (little-endian from Windows), the last eight never change order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// The nil UUID.
    pub const NIL: Self = Self([0; 16]);

    /// From the fields of the textual form `d1-d2-d3-d4[0..2]-d4[2..8]`.
    pub const fn from_fields(d1: u32, d2: u16, d3: u16, d4: [u8; 8]) -> Self {
        let a = d1.to_be_bytes();
        let b = d2.to_be_bytes();
        let c = d3.to_be_bytes();
        Self([a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d4[0], d4[1], d4[2], d4[3], d4[4], d4[5], d4[6], d4[7]])
    }

    /// Parses `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
    pub fn parse(text: &str) -> Option<Self> {
        let hex: Vec<u8> = text.bytes().filter(|b| *b != b'-').collect();
        if text.len() != 36 || hex.len() != 32 {
            return None;
        }
        let mut out = [0u8; 16];
        for (i, pair) in hex.chunks(2).enumerate() {
            let s = core::str::from_utf8(pair).ok()?;
            *out.get_mut(i)? = u8::from_str_radix(s, 16).ok()?;
        }
        Some(Self(out))
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let d1 = r.u32("uuid time_low")?;
        let d2 = r.u16("uuid time_mid")?;
        let d3 = r.u16("uuid time_hi_and_version")?;
        let d4 = r.array::<8>("uuid clock_seq and node")?;
        Ok(Self::from_fields(d1, d2, d3, d4))
    }

    /// The NDR little-endian form (16 bytes).
    pub fn to_le_bytes(self) -> [u8; 16] {
        let b = self.0;
        [b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]
    }

    pub(crate) fn write(self, w: &mut Writer) {
        w.bytes(&self.to_le_bytes());
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid({self})")
    }
}

/// [C706 12.6.3.1] `p_syntax_id_t`: an interface or transfer syntax UUID and its version. The `u32 if_version`
/// holds the major version in its low 16 bits and the minor in the high ones ([MS-RPCE 2.2.2.13]
/// `RPC_SYNTAX_IDENTIFIER`: `MajorVersion` then `MinorVersion` as two `u16`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SyntaxId {
    /// `if_uuid`
    pub uuid: Uuid,
    /// Major version
    pub major: u16,
    /// Minor version
    pub minor: u16,
}

impl SyntaxId {
    /// Wire size: 16-byte UUID and 4-byte version.
    pub const LEN: usize = 20;

    /// [C706 Appendix O] The endpoint mapper interface `ept`, e1af8308-5d1f-11c9-91a4-08002b14a0fa v3.0.
    pub const EPM_V3: Self = Self {
        uuid: Uuid::from_fields(0xe1af_8308, 0x5d1f, 0x11c9, [0x91, 0xa4, 0x08, 0x00, 0x2b, 0x14, 0xa0, 0xfa]),
        major: 3,
        minor: 0,
    };

    /// [C706 14] The NDR transfer syntax, 8a885d04-1ceb-11c9-9fe8-08002b104860 v2.0.
    pub const NDR_V2: Self = Self {
        uuid: Uuid::from_fields(0x8a88_5d04, 0x1ceb, 0x11c9, [0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60]),
        major: 2,
        minor: 0,
    };

    /// The Terminal Server Licensing RPC interface that session hosts call on a Windows RD license server,
    /// 3d267954-eeb7-11d1-b94e-00c04fa3080d v1.0 (not publicly specified: MS-RDPELE 1.3.1 leaves the host to
    /// license server protocol out; rdlic only binds to it, it never calls a method).
    pub const TS_LICENSING_V1: Self = Self {
        uuid: Uuid::from_fields(0x3d26_7954, 0xeeb7, 0x11d1, [0xb9, 0x4e, 0x00, 0xc0, 0x4f, 0xa3, 0x08, 0x0d]),
        major: 1,
        minor: 0,
    };

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let uuid = Uuid::read(r)?;
        let version = r.u32("syntax version")?;
        Ok(Self { uuid, major: low16(version), minor: low16(version >> 16) })
    }

    pub(crate) fn write(self, w: &mut Writer) {
        self.uuid.write(w);
        w.u16(self.major);
        w.u16(self.minor);
    }
}

impl fmt::Display for SyntaxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} v{}.{}", self.uuid, self.major, self.minor)
    }
}

impl fmt::Debug for SyntaxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SyntaxId({self})")
    }
}

fn low16(v: u32) -> u16 {
    u16::try_from(v & 0xFFFF).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_print_and_parse() {
        assert_eq!(SyntaxId::TS_LICENSING_V1.uuid.to_string(), "3d267954-eeb7-11d1-b94e-00c04fa3080d");
        assert_eq!(Uuid::parse("e1af8308-5d1f-11c9-91a4-08002b14a0fa"), Some(SyntaxId::EPM_V3.uuid));
        assert_eq!(Uuid::parse("e1af8308-5d1f-11c9-91a4-08002b14a0f"), None);
        assert_eq!(Uuid::parse("e1af8308-5d1f-11c9-91a4-08002b14a0fg"), None);
        assert_eq!(Uuid::parse("é1af8308-5d1f-11c9-91a4-08002b14a0f"), None);
    }
}
