//! CAL key packs (`reference/rds-facts.md` §2.7): what a clearinghouse sells to one license server.
//!
//! A key pack is signed by the clearinghouse over [`KeyPack::canonical_bytes`], a fixed-layout big-endian encoding
//! written by hand (only the API layer derives `Serialize`). The file an administrator installs is the armored line
//! format of [`SignedKeyPack::to_text`].

use core::fmt;
use core::str::FromStr;

use crate::ids::{KeyPackId, ServerId};
use crate::text::{read_armored, write_armored, TextError};
use crate::version::CalVersion;

/// The CAL type of a pack (WMI `Win32_TSLicenseKeyPack.ProductType`: 0 per device, 1 per user).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CalType {
    /// Per-device CAL: assigned to a client hardware id, tracked and revocable (up to 20 %).
    PerDevice,
    /// Per-user CAL: assigned to a user name, tracked, over-allocation allowed unless enforced.
    PerUser,
}

impl CalType {
    /// WMI ProductType code.
    pub fn code(self) -> u8 {
        match self {
            Self::PerDevice => 0,
            Self::PerUser => 1,
        }
    }

    /// Inverse of [`CalType::code`].
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::PerDevice),
            1 => Some(Self::PerUser),
            _ => None,
        }
    }

    /// Stable text name (`per-device`, `per-user`), used in files, the database and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PerDevice => "per-device",
            Self::PerUser => "per-user",
        }
    }
}

impl fmt::Display for CalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CalType {
    type Err = KeyPackError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "per-device" | "device" => Ok(Self::PerDevice),
            "per-user" | "user" => Ok(Self::PerUser),
            other => Err(KeyPackError::Malformed(format!("unknown CAL type {other:?}"))),
        }
    }
}

/// The license program a pack was bought under. Codes 1–5 are WMI `Win32_TSLicenseKeyPack.KeyPackType`;
/// 16 and up are rdlic's names for the agreement programs of `InstallAgreementLicenseKeyPack`.
/// A newtype so an unknown program still reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LicenseProgram(pub u8);

impl LicenseProgram {
    /// Retail purchase (25-character license code).
    pub const RETAIL: Self = Self(1);
    /// Volume license.
    pub const VOLUME: Self = Self(2);
    /// Concurrent license.
    pub const CONCURRENT: Self = Self(3);
    /// Open License (license number + authorization number).
    pub const OPEN_LICENSE: Self = Self(5);
    /// Enterprise Agreement.
    pub const ENTERPRISE_AGREEMENT: Self = Self(16);
    /// Service Provider License Agreement (SPLA).
    pub const SERVICE_PROVIDER: Self = Self(17);
    /// Campus / School agreements.
    pub const CAMPUS: Self = Self(18);

    const NAMES: [(Self, &'static str); 7] = [
        (Self::RETAIL, "retail"),
        (Self::VOLUME, "volume"),
        (Self::CONCURRENT, "concurrent"),
        (Self::OPEN_LICENSE, "open-license"),
        (Self::ENTERPRISE_AGREEMENT, "enterprise-agreement"),
        (Self::SERVICE_PROVIDER, "service-provider"),
        (Self::CAMPUS, "campus"),
    ];
}

impl fmt::Display for LicenseProgram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Self::NAMES.iter().find(|(p, _)| p == self) {
            Some((_, name)) => f.write_str(name),
            None => write!(f, "program-{}", self.0),
        }
    }
}

impl FromStr for LicenseProgram {
    type Err = KeyPackError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some((p, _)) = Self::NAMES.iter().find(|(_, n)| *n == s) {
            return Ok(*p);
        }
        s.strip_prefix("program-")
            .and_then(|n| n.parse().ok())
            .map(Self)
            .ok_or_else(|| KeyPackError::Malformed(format!("unknown license program {s:?}")))
    }
}

/// The content of a key pack, as the clearinghouse signs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPack {
    /// Random id chosen by the clearinghouse; installing the same id twice is idempotent.
    pub id: KeyPackId,
    /// Per device or per user.
    pub cal_type: CalType,
    /// CAL version (2016, 2019, 2022, 2025, ...).
    pub version: CalVersion,
    /// Retail, volume, ...
    pub program: LicenseProgram,
    /// Number of CALs in the pack.
    pub count: u32,
    /// When the clearinghouse issued it (Unix seconds).
    pub issued_at: i64,
    /// After this instant (Unix seconds) no CAL is issued or renewed from the pack; `None`: never expires.
    pub expires_at: Option<i64>,
    /// The only license server that may install it.
    pub issued_to: ServerId,
}

const PACK_DOMAIN: &[u8] = b"rdlic key pack v1\0";

impl KeyPack {
    /// The bytes the clearinghouse signs: a domain string, then every field in declaration order, fixed width,
    /// big-endian (`expires_at` as a presence byte + i64). Changing any field changes these bytes.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(PACK_DOMAIN.len() + 64);
        b.extend_from_slice(PACK_DOMAIN);
        b.extend_from_slice(&self.id.0);
        b.push(self.cal_type.code());
        b.extend_from_slice(&self.version.0.to_be_bytes());
        b.push(self.program.0);
        b.extend_from_slice(&self.count.to_be_bytes());
        b.extend_from_slice(&self.issued_at.to_be_bytes());
        match self.expires_at {
            Some(t) => {
                b.push(1);
                b.extend_from_slice(&t.to_be_bytes());
            }
            None => {
                b.push(0);
                b.extend_from_slice(&0i64.to_be_bytes());
            }
        }
        b.extend_from_slice(&self.issued_to.0);
        b
    }

    /// True when CALs may still be issued from this pack at `now`.
    pub fn is_valid_at(&self, now: i64) -> bool {
        self.expires_at.is_none_or(|t| now < t)
    }
}

/// A key pack with the clearinghouse signature, as read from a key pack file. Not yet trusted: see
/// [`crate::ClearinghouseKey::verify_key_pack`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedKeyPack {
    /// The signed content.
    pub pack: KeyPack,
    /// Key id of the clearinghouse key that signed it ([`crate::ClearinghouseKey::key_id`]).
    pub signer: [u8; 16],
    /// Signature over [`KeyPack::canonical_bytes`].
    pub signature: Vec<u8>,
}

const PACK_LABEL: &str = "RDLIC KEY PACK";
const PACK_FIELDS: [&str; 12] = [
    "format",
    "id",
    "cal-type",
    "version",
    "program",
    "count",
    "issued-at",
    "expires-at",
    "issued-to",
    "signer",
    "signature",
    "product",
];

impl SignedKeyPack {
    /// The key pack file: an armored block of `name: value` lines.
    pub fn to_text(&self) -> String {
        let p = &self.pack;
        write_armored(
            PACK_LABEL,
            &[
                ("format", "1".to_owned()),
                ("id", p.id.to_string()),
                ("product", p.version.product_name()),
                ("cal-type", p.cal_type.to_string()),
                ("version", p.version.to_string()),
                ("program", p.program.to_string()),
                ("count", p.count.to_string()),
                ("issued-at", p.issued_at.to_string()),
                (
                    "expires-at",
                    p.expires_at.map_or_else(|| "never".to_owned(), |t| t.to_string()),
                ),
                ("issued-to", p.issued_to.to_string()),
                ("signer", hex::encode(self.signer)),
                ("signature", hex::encode(&self.signature)),
            ],
        )
    }

    /// Parses a key pack file. The `product` line is informative only (it is not signed).
    pub fn from_text(text: &str) -> Result<Self, KeyPackError> {
        let f = read_armored(PACK_LABEL, text, &PACK_FIELDS).map_err(malformed)?;
        if f.get("format").map_err(malformed)? != "1" {
            return Err(KeyPackError::Malformed(
                "unsupported key pack format (expected 1)".to_owned(),
            ));
        }
        let num = |k: &'static str| -> Result<i64, KeyPackError> {
            let v = f.get(k).map_err(malformed)?;
            v.parse()
                .map_err(|_| KeyPackError::Malformed(format!("field {k:?} is not a number")))
        };
        let expires_at = match f.get("expires-at").map_err(malformed)? {
            "never" => None,
            _ => Some(num("expires-at")?),
        };
        let mut signer = [0u8; 16];
        hex::decode_to_slice(f.get("signer").map_err(malformed)?, &mut signer)
            .map_err(|_| KeyPackError::Malformed("field \"signer\" is not 32 hex digits".to_owned()))?;
        let pack = KeyPack {
            id: f
                .get("id")
                .map_err(malformed)?
                .parse()
                .map_err(|e| KeyPackError::Malformed(format!("{e}")))?,
            cal_type: f.get("cal-type").map_err(malformed)?.parse()?,
            version: f
                .get("version")
                .map_err(malformed)?
                .parse()
                .map_err(|_| KeyPackError::Malformed("field \"version\" is not a number".to_owned()))?,
            program: f.get("program").map_err(malformed)?.parse()?,
            count: f
                .get("count")
                .map_err(malformed)?
                .parse()
                .map_err(|_| KeyPackError::Malformed("field \"count\" is not a number".to_owned()))?,
            issued_at: num("issued-at")?,
            expires_at,
            issued_to: f
                .get("issued-to")
                .map_err(malformed)?
                .parse()
                .map_err(|e| KeyPackError::Malformed(format!("{e}")))?,
        };
        let signature = hex::decode(f.get("signature").map_err(malformed)?)
            .map_err(|_| KeyPackError::Malformed("field \"signature\" is not hexadecimal".to_owned()))?;
        Ok(Self {
            pack,
            signer,
            signature,
        })
    }
}

fn malformed(e: TextError) -> KeyPackError {
    KeyPackError::Malformed(e.to_string())
}

/// A key pack whose signature, signer, recipient and validity were checked by
/// [`crate::ClearinghouseKey::verify_key_pack`]. Only such a value can be installed in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedKeyPack(pub(crate) SignedKeyPack);

impl VerifiedKeyPack {
    /// The verified pack content.
    pub fn pack(&self) -> &KeyPack {
        &self.0.pack
    }

    /// The pack with its signature (to store the file as received).
    pub fn signed(&self) -> &SignedKeyPack {
        &self.0
    }
}

/// Why a key pack was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyPackError {
    /// The file is not a key pack file.
    #[error("malformed key pack file: {0}")]
    Malformed(String),
    /// Signed by a key that is not the trusted clearinghouse key: a forged pack.
    #[error("key pack signed by unknown key {signer}, not by the trusted clearinghouse: get the pack from your clearinghouse")]
    UnknownSigner {
        /// Hex key id named by the pack.
        signer: String,
    },
    /// Names the trusted clearinghouse but the signature does not match the content: an altered pack.
    #[error("key pack signature does not match its content (the file was altered): request a new copy")]
    SignatureMismatch,
    /// The pack's validity ended.
    #[error("key pack expired at {expires_at} (unix time): buy or request a current pack")]
    Expired {
        /// Unix seconds.
        expires_at: i64,
    },
    /// Issued to another license server.
    #[error("key pack was issued to license server {issued_to}, this server is {ours}: request a pack for this server id")]
    IssuedToAnotherServer {
        /// The server the pack names.
        issued_to: ServerId,
        /// This server.
        ours: ServerId,
    },
    /// A pack of zero CALs is meaningless.
    #[error("key pack holds no CAL")]
    Empty,
}
