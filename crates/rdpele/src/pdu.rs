//! Licensing PDUs: every message of MS-RDPELE 2.2.2 and MS-RDPBCGR 2.2.1.12, both directions.
//!
//! A licensing PDU here starts at the [`LicensePreamble`]: the security header, MCS and X.224 framing around it
//! belong to the transport. Decoding is tolerant where the specification says a field is ignored (blob types of
//! empty blobs, the type of encrypted blobs, `ConnectFlags`) and strict where it says MUST (sizes, counts). Codes
//! are newtypes with constants, so an unknown error code, blob type or platform id decodes instead of failing the
//! whole message.

use std::fmt;

/// A decoding failure: the input is malformed. Never a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Fewer bytes than the structure needs
    #[error("truncated {what}: needs {needed} bytes, {available} available")]
    Truncated { what: &'static str, needed: usize, available: usize },
    /// A field holds a value the specification forbids
    #[error("invalid {what}: {reason}")]
    Invalid { what: &'static str, reason: String },
    /// The preamble announces a message type this side does not know
    #[error("unknown licensing message type 0x{0:02x}")]
    UnknownMessageType(u8),
}

/// An encoding failure: a field does not fit its length prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A variable-length field is longer than its length field can say
    #[error("{what} is {len} bytes, more than its {max}-byte limit")]
    TooLong { what: &'static str, len: usize, max: usize },
}

// ---------------------------------------------------------------------------------------------------------------
// Codes
// ---------------------------------------------------------------------------------------------------------------

macro_rules! code_newtype {
    ($(#[$meta:meta])* $name:ident($repr:ty) { $($(#[$cmeta:meta])* $cname:ident = $value:expr),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub $repr);

        impl $name {
            $($(#[$cmeta])* pub const $cname: Self = Self($value);)*

            /// The constant's name, or `None` for a value the specification does not list.
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $(Self::$cname => Some(stringify!($cname)),)*
                    _ => None,
                }
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(name) => write!(f, "{}(0x{:x})", name, self.0),
                    None => write!(f, "{}(0x{:x})", stringify!($name), self.0),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self, f)
            }
        }
    };
}

code_newtype! {
    /// [MS-RDPBCGR 2.2.1.12.1.1] LICENSE_PREAMBLE::bMsgType
    MessageType(u8) {
        /// Server License Request (MS-RDPELE 2.2.2.1)
        LICENSE_REQUEST = 0x01,
        /// Server Platform Challenge (2.2.2.4)
        PLATFORM_CHALLENGE = 0x02,
        /// Server New License (2.2.2.7)
        NEW_LICENSE = 0x03,
        /// Server Upgrade License (2.2.2.6)
        UPGRADE_LICENSE = 0x04,
        /// Client License Information (2.2.2.3)
        LICENSE_INFO = 0x12,
        /// Client New License Request (2.2.2.2)
        NEW_LICENSE_REQUEST = 0x13,
        /// Client Platform Challenge Response (2.2.2.5)
        PLATFORM_CHALLENGE_RESPONSE = 0x15,
        /// Licensing Error Message, either direction (MS-RDPBCGR 2.2.1.12.1.3)
        ERROR_ALERT = 0xFF,
    }
}

code_newtype! {
    /// [MS-RDPBCGR 2.2.1.12.1.2] LICENSE_BINARY_BLOB::wBlobType
    BlobType(u16) {
        BB_DATA_BLOB = 0x0001,
        BB_RANDOM_BLOB = 0x0002,
        BB_CERTIFICATE_BLOB = 0x0003,
        BB_ERROR_BLOB = 0x0004,
        BB_ENCRYPTED_DATA_BLOB = 0x0009,
        BB_KEY_EXCHG_ALG_BLOB = 0x000D,
        BB_SCOPE_BLOB = 0x000E,
        BB_CLIENT_USER_NAME_BLOB = 0x000F,
        BB_CLIENT_MACHINE_NAME_BLOB = 0x0010,
    }
}

code_newtype! {
    /// [MS-RDPBCGR 2.2.1.12.1.3] LICENSE_ERROR_MESSAGE::dwErrorCode
    ErrorCode(u32) {
        /// Sent by the client
        ERR_INVALID_SERVER_CERTIFICATE = 0x0000_0001,
        /// Sent by the client
        ERR_NO_LICENSE = 0x0000_0002,
        /// Either side
        ERR_INVALID_MAC = 0x0000_0003,
        ERR_INVALID_SCOPE = 0x0000_0004,
        ERR_NO_LICENSE_SERVER = 0x0000_0006,
        STATUS_VALID_CLIENT = 0x0000_0007,
        ERR_INVALID_CLIENT = 0x0000_0008,
        ERR_INVALID_PRODUCTID = 0x0000_000B,
        ERR_INVALID_MESSAGE_LEN = 0x0000_000C,
    }
}

code_newtype! {
    /// [MS-RDPBCGR 2.2.1.12.1.3] LICENSE_ERROR_MESSAGE::dwStateTransition
    StateTransition(u32) {
        ST_TOTAL_ABORT = 0x0000_0001,
        ST_NO_TRANSITION = 0x0000_0002,
        ST_RESET_PHASE_TO_START = 0x0000_0003,
        ST_RESEND_LAST_MESSAGE = 0x0000_0004,
    }
}

code_newtype! {
    /// [MS-RDPELE 2.2.2.2] PlatformId: operating system (high byte) | ISV (second byte) | build.
    PlatformId(u32) {
        /// What xfreerdp sends (CLIENT_OS_ID_WINNT_POST_52 | CLIENT_IMAGE_ID_MICROSOFT)
        WINNT_POST_52_MICROSOFT = 0x0401_0000,
        /// What rdesktop 1.9 sends
        OTHER_OS = 0xFF01_0000,
        /// Older rdesktop builds
        WINNT_40_MICROSOFT = 0x0201_0000,
    }
}

code_newtype! {
    /// [MS-RDPELE 2.2.2.1] KeyExchangeList entries and PreferredKeyExchangeAlg
    KeyExchangeAlg(u32) {
        KEY_EXCHANGE_ALG_RSA = 0x0000_0001,
    }
}

code_newtype! {
    /// [MS-RDPELE 2.2.2.5.1] PLATFORM_CHALLENGE_RESPONSE_DATA::wClientType
    ClientType(u16) {
        WIN32_PLATFORMCHALLENGE_TYPE = 0x0100,
        WIN16_PLATFORMCHALLENGE_TYPE = 0x0200,
        WINCE_PLATFORMCHALLENGE_TYPE = 0x0300,
        OTHER_PLATFORMCHALLENGE_TYPE = 0xFF00,
    }
}

code_newtype! {
    /// [MS-RDPELE 2.2.2.5.1] PLATFORM_CHALLENGE_RESPONSE_DATA::wLicenseDetailLevel
    LicenseDetailLevel(u16) {
        LICENSE_DETAIL_SIMPLE = 0x0001,
        LICENSE_DETAIL_MODERATE = 0x0002,
        LICENSE_DETAIL_DETAIL = 0x0003,
    }
}

/// [MS-RDPBCGR 2.2.1.12.1.1] PREAMBLE_VERSION_3_0: RDP 5.0 and later.
pub const PREAMBLE_VERSION_3_0: u8 = 0x03;
/// [MS-RDPBCGR 2.2.1.12.1.1] PREAMBLE_VERSION_2_0: RDP 4.0.
pub const PREAMBLE_VERSION_2_0: u8 = 0x02;
/// [MS-RDPBCGR 2.2.1.12.1.1] The sender handles extended error information. Servers never set it (peers.md).
pub const EXTENDED_ERROR_MSG_SUPPORTED: u8 = 0x80;
/// [MS-RDPELE 2.2.2.5.1] PLATFORM_CHALLENGE_RESPONSE_DATA::wVersion MUST be 0x0100.
pub const PLATFORM_CHALLENGE_RESPONSE_VERSION: u16 = 0x0100;
/// Size of a CLIENT_HARDWARE_ID on the wire.
pub const HARDWARE_ID_SIZE: usize = 20;
/// Size of every MACData field.
pub const MAC_SIZE: usize = 16;
/// Size of ServerRandom and ClientRandom.
pub const RANDOM_SIZE: usize = 32;

// ---------------------------------------------------------------------------------------------------------------
// Cursor helpers (private)
// ---------------------------------------------------------------------------------------------------------------

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::Truncated { what, needed: n, available: self.remaining() });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    /// A `u32` length followed by that many bytes.
    fn counted_u32(&mut self, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let len = self.u32(what)?;
        let len = usize::try_from(len).map_err(|_| DecodeError::Invalid { what, reason: "length overflow".into() })?;
        self.take(len, what)
    }

    fn blob(&mut self, what: &'static str) -> Result<LicenseBinaryBlob, DecodeError> {
        let blob_type = BlobType(self.u16(what)?);
        let len = self.u16(what)?;
        let data = self.take(usize::from(len), what)?.to_vec();
        Ok(LicenseBinaryBlob { blob_type, data })
    }
}

fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_counted_u32(out: &mut Vec<u8>, data: &[u8], what: &'static str) -> Result<(), EncodeError> {
    let len = u32::try_from(data.len()).map_err(|_| EncodeError::TooLong {
        what,
        len: data.len(),
        max: usize::try_from(u32::MAX).unwrap_or(usize::MAX),
    })?;
    put_u32(out, len);
    out.extend_from_slice(data);
    Ok(())
}

fn len_u16(len: usize, what: &'static str) -> Result<u16, EncodeError> {
    u16::try_from(len).map_err(|_| EncodeError::TooLong { what, len, max: usize::from(u16::MAX) })
}

// ---------------------------------------------------------------------------------------------------------------
// Strings
// ---------------------------------------------------------------------------------------------------------------

/// Encodes `s` as NUL-terminated UTF-16LE (a "Unicode string" in the specifications).
pub fn utf16le_nul(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 * s.len() + 2);
    for unit in s.encode_utf16() {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out.extend_from_slice(&[0, 0]);
    out
}

/// Decodes NUL-terminated (or not) UTF-16LE, stopping at the first NUL; lossy on bad surrogates.
pub fn from_utf16le(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect();
    String::from_utf16_lossy(&units)
}

/// Encodes `s` as a NUL-terminated "ANSI" string (ISO-8859-1; characters outside become `?`).
pub fn ansi_nul(s: &str) -> Vec<u8> {
    let mut out: Vec<u8> = s.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')).collect();
    out.push(0);
    out
}

/// Decodes an ISO-8859-1 string, stopping at the first NUL.
pub fn from_ansi(bytes: &[u8]) -> String {
    bytes.iter().take_while(|&&b| b != 0).map(|&b| char::from(b)).collect()
}

// ---------------------------------------------------------------------------------------------------------------
// Common structures
// ---------------------------------------------------------------------------------------------------------------

/// [MS-RDPBCGR 2.2.1.12.1.1] Licensing Preamble (LICENSE_PREAMBLE)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LicensePreamble {
    /// bMsgType: the message that follows
    pub msg_type: MessageType,
    /// flags: protocol version (low nibble) | EXTENDED_ERROR_MSG_SUPPORTED (0x80)
    pub flags: u8,
    /// wMsgSize: size of the whole licensing packet, preamble included
    pub msg_size: u16,
}

impl LicensePreamble {
    /// Size on the wire.
    pub const SIZE: usize = 4;

    /// The licence protocol version (LicenseProtocolVersionMask).
    pub fn version(&self) -> u8 {
        self.flags & 0x0F
    }

    /// Whether the sender handles extended error information.
    pub fn extended_error_supported(&self) -> bool {
        self.flags & EXTENDED_ERROR_MSG_SUPPORTED != 0
    }

    /// Decodes the 4-byte preamble.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let msg_type = MessageType(r.u8("LICENSE_PREAMBLE")?);
        let flags = r.u8("LICENSE_PREAMBLE")?;
        let msg_size = r.u16("LICENSE_PREAMBLE")?;
        Ok(Self { msg_type, flags, msg_size })
    }
}

/// [MS-RDPBCGR 2.2.1.12.1.2] Licensing Binary Blob (LICENSE_BINARY_BLOB)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseBinaryBlob {
    /// wBlobType; SHOULD be ignored when the blob is empty, and is ignored for encrypted blobs
    pub blob_type: BlobType,
    /// blobData (wBlobLen bytes)
    pub data: Vec<u8>,
}

impl LicenseBinaryBlob {
    /// A blob of `blob_type` holding `data`.
    pub fn new(blob_type: BlobType, data: Vec<u8>) -> Self {
        Self { blob_type, data }
    }

    /// An empty blob (wBlobLen 0).
    pub fn empty(blob_type: BlobType) -> Self {
        Self { blob_type, data: Vec::new() }
    }

    fn encode(&self, out: &mut Vec<u8>, what: &'static str) -> Result<(), EncodeError> {
        put_u16(out, self.blob_type.0);
        put_u16(out, len_u16(self.data.len(), what)?);
        out.extend_from_slice(&self.data);
        Ok(())
    }

    fn encoded_len(&self) -> usize {
        4 + self.data.len()
    }
}

/// [MS-RDPELE 2.2.2.3.1] Client Hardware Identification (CLIENT_HARDWARE_ID)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientHardwareId {
    /// PlatformId, same as in the New License Request
    pub platform_id: PlatformId,
    /// Data1..Data4: client hardware-specific numbers
    pub data: [u32; 4],
}

impl ClientHardwareId {
    /// Decodes the 20-byte structure.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() != HARDWARE_ID_SIZE {
            return Err(DecodeError::Invalid {
                what: "CLIENT_HARDWARE_ID",
                reason: format!("{} bytes instead of {HARDWARE_ID_SIZE}", bytes.len()),
            });
        }
        let mut r = Reader::new(bytes);
        let platform_id = PlatformId(r.u32("CLIENT_HARDWARE_ID")?);
        let mut data = [0u32; 4];
        for d in &mut data {
            *d = r.u32("CLIENT_HARDWARE_ID")?;
        }
        Ok(Self { platform_id, data })
    }

    /// The 20 bytes on the wire.
    pub fn to_bytes(&self) -> [u8; HARDWARE_ID_SIZE] {
        let mut out = [0u8; HARDWARE_ID_SIZE];
        out[..4].copy_from_slice(&self.platform_id.0.to_le_bytes());
        for (i, d) in self.data.iter().enumerate() {
            out[4 + 4 * i..8 + 4 * i].copy_from_slice(&d.to_le_bytes());
        }
        out
    }

    /// The wire bytes as lower-case hex, the form used to index licences.
    pub fn to_hex(&self) -> String {
        self.to_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// [MS-RDPELE 2.2.2.1.1] Product Information (PRODUCT_INFO)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductInfo {
    /// dwVersion: major version of the server OS in the high word, minor in the low word
    pub version: u32,
    /// pbCompanyName: NUL-terminated UTF-16LE, as on the wire (cbCompanyName > 0)
    pub company_name: Vec<u8>,
    /// pbProductId: NUL-terminated UTF-16LE, as on the wire (cbProductId > 0), e.g. "A02"
    pub product_id: Vec<u8>,
}

impl ProductInfo {
    /// Product information from strings.
    pub fn new(version: u32, company_name: &str, product_id: &str) -> Self {
        Self { version, company_name: utf16le_nul(company_name), product_id: utf16le_nul(product_id) }
    }

    /// The company name as text.
    pub fn company_name(&self) -> String {
        from_utf16le(&self.company_name)
    }

    /// The product id as text.
    pub fn product_id(&self) -> String {
        from_utf16le(&self.product_id)
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u32("PRODUCT_INFO::dwVersion")?;
        let company_name = r.counted_u32("PRODUCT_INFO::pbCompanyName")?.to_vec();
        let product_id = r.counted_u32("PRODUCT_INFO::pbProductId")?.to_vec();
        if company_name.is_empty() || product_id.is_empty() {
            return Err(DecodeError::Invalid {
                what: "PRODUCT_INFO",
                reason: "cbCompanyName and cbProductId MUST be greater than zero".into(),
            });
        }
        Ok(Self { version, company_name, product_id })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_u32(out, self.version);
        put_counted_u32(out, &self.company_name, "PRODUCT_INFO::pbCompanyName")?;
        put_counted_u32(out, &self.product_id, "PRODUCT_INFO::pbProductId")
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------------------------

/// [MS-RDPELE 2.2.2.1] Server License Request (SERVER_LICENSE_REQUEST)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLicenseRequest {
    /// ServerRandom: 32 random bytes for key derivation
    pub server_random: [u8; RANDOM_SIZE],
    /// ProductInfo: the product licence required to connect
    pub product_info: ProductInfo,
    /// KeyExchangeList: BB_KEY_EXCHG_ALG_BLOB holding little-endian u32 algorithm ids
    pub key_exchange_list: LicenseBinaryBlob,
    /// ServerCertificate: BB_CERTIFICATE_BLOB holding a SERVER_CERTIFICATE (see [`crate::cert`]), may be empty
    pub server_certificate: LicenseBinaryBlob,
    /// ScopeList: BB_SCOPE_BLOBs naming licence issuers (NUL-terminated ANSI)
    pub scope_list: Vec<LicenseBinaryBlob>,
}

impl ServerLicenseRequest {
    /// The key exchange algorithms listed.
    pub fn key_exchange_algs(&self) -> Vec<KeyExchangeAlg> {
        self.key_exchange_list
            .data
            .chunks_exact(4)
            .map(|c| KeyExchangeAlg(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect()
    }

    /// The scope names as text.
    pub fn scopes(&self) -> Vec<String> {
        self.scope_list.iter().map(|b| from_ansi(&b.data)).collect()
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let server_random = r.array("SERVER_LICENSE_REQUEST::ServerRandom")?;
        let product_info = ProductInfo::decode(r)?;
        let key_exchange_list = r.blob("SERVER_LICENSE_REQUEST::KeyExchangeList")?;
        let server_certificate = r.blob("SERVER_LICENSE_REQUEST::ServerCertificate")?;
        let scope_count = r.u32("SCOPE_LIST::ScopeCount")?;
        // Each scope takes at least 4 bytes: bound the count by what is left before allocating.
        let scope_count = usize::try_from(scope_count).unwrap_or(usize::MAX);
        if scope_count > r.remaining() / 4 {
            return Err(DecodeError::Truncated {
                what: "SCOPE_LIST::ScopeArray",
                needed: scope_count.saturating_mul(4),
                available: r.remaining(),
            });
        }
        let mut scope_list = Vec::with_capacity(scope_count);
        for _ in 0..scope_count {
            scope_list.push(r.blob("SCOPE")?);
        }
        Ok(Self { server_random, product_info, key_exchange_list, server_certificate, scope_list })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.server_random);
        self.product_info.encode(out)?;
        self.key_exchange_list.encode(out, "KeyExchangeList")?;
        self.server_certificate.encode(out, "ServerCertificate")?;
        let count = u32::try_from(self.scope_list.len()).map_err(|_| EncodeError::TooLong {
            what: "SCOPE_LIST",
            len: self.scope_list.len(),
            max: usize::try_from(u32::MAX).unwrap_or(usize::MAX),
        })?;
        put_u32(out, count);
        for scope in &self.scope_list {
            scope.encode(out, "SCOPE")?;
        }
        Ok(())
    }
}

/// [MS-RDPELE 2.2.2.2] Client New License Request (CLIENT_NEW_LICENSE_REQUEST)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientNewLicenseRequest {
    /// PreferredKeyExchangeAlg: MUST be KEY_EXCHANGE_ALG_RSA
    pub preferred_key_exchange_alg: KeyExchangeAlg,
    /// PlatformId: client OS | ISV | build
    pub platform_id: PlatformId,
    /// ClientRandom: 32 bytes (all zero from rdesktop)
    pub client_random: [u8; RANDOM_SIZE],
    /// EncryptedPreMasterSecret: BB_RANDOM_BLOB, RSA-encrypted 48-byte premaster, little-endian + 8 zero bytes
    pub encrypted_premaster_secret: LicenseBinaryBlob,
    /// ClientUserName: BB_CLIENT_USER_NAME_BLOB, NUL-terminated ANSI
    pub client_user_name: LicenseBinaryBlob,
    /// ClientMachineName: BB_CLIENT_MACHINE_NAME_BLOB, NUL-terminated ANSI
    pub client_machine_name: LicenseBinaryBlob,
}

impl ClientNewLicenseRequest {
    /// The user name as text.
    pub fn user_name(&self) -> String {
        from_ansi(&self.client_user_name.data)
    }

    /// The machine name as text.
    pub fn machine_name(&self) -> String {
        from_ansi(&self.client_machine_name.data)
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            preferred_key_exchange_alg: KeyExchangeAlg(r.u32("PreferredKeyExchangeAlg")?),
            platform_id: PlatformId(r.u32("PlatformId")?),
            client_random: r.array("ClientRandom")?,
            encrypted_premaster_secret: r.blob("EncryptedPreMasterSecret")?,
            client_user_name: r.blob("ClientUserName")?,
            client_machine_name: r.blob("ClientMachineName")?,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_u32(out, self.preferred_key_exchange_alg.0);
        put_u32(out, self.platform_id.0);
        out.extend_from_slice(&self.client_random);
        self.encrypted_premaster_secret.encode(out, "EncryptedPreMasterSecret")?;
        self.client_user_name.encode(out, "ClientUserName")?;
        self.client_machine_name.encode(out, "ClientMachineName")
    }
}

/// [MS-RDPELE 2.2.2.3] Client License Information (CLIENT_LICENSE_INFO)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientLicenseInfo {
    /// PreferredKeyExchangeAlg: as in the New License Request
    pub preferred_key_exchange_alg: KeyExchangeAlg,
    /// PlatformId: as in the New License Request
    pub platform_id: PlatformId,
    /// ClientRandom: 32 bytes
    pub client_random: [u8; RANDOM_SIZE],
    /// EncryptedPreMasterSecret: BB_RANDOM_BLOB
    pub encrypted_premaster_secret: LicenseBinaryBlob,
    /// LicenseInfo: BB_DATA_BLOB holding the CAL from the client's store
    pub license_info: LicenseBinaryBlob,
    /// EncryptedHWID: RC4-encrypted CLIENT_HARDWARE_ID (blob type 0x0009, or 0x0001 from rdesktop)
    pub encrypted_hwid: LicenseBinaryBlob,
    /// MACData over the decrypted CLIENT_HARDWARE_ID
    pub mac: [u8; MAC_SIZE],
}

impl ClientLicenseInfo {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            preferred_key_exchange_alg: KeyExchangeAlg(r.u32("PreferredKeyExchangeAlg")?),
            platform_id: PlatformId(r.u32("PlatformId")?),
            client_random: r.array("ClientRandom")?,
            encrypted_premaster_secret: r.blob("EncryptedPreMasterSecret")?,
            license_info: r.blob("LicenseInfo")?,
            encrypted_hwid: r.blob("EncryptedHWID")?,
            mac: r.array("MACData")?,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_u32(out, self.preferred_key_exchange_alg.0);
        put_u32(out, self.platform_id.0);
        out.extend_from_slice(&self.client_random);
        self.encrypted_premaster_secret.encode(out, "EncryptedPreMasterSecret")?;
        self.license_info.encode(out, "LicenseInfo")?;
        self.encrypted_hwid.encode(out, "EncryptedHWID")?;
        out.extend_from_slice(&self.mac);
        Ok(())
    }
}

/// [MS-RDPELE 2.2.2.4] Server Platform Challenge (SERVER_PLATFORM_CHALLENGE)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerPlatformChallenge {
    /// ConnectFlags: reserved, ignored
    pub connect_flags: u32,
    /// EncryptedPlatformChallenge: RC4-encrypted challenge (blob type ignored)
    pub encrypted_platform_challenge: LicenseBinaryBlob,
    /// MACData over the decrypted challenge
    pub mac: [u8; MAC_SIZE],
}

impl ServerPlatformChallenge {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            connect_flags: r.u32("ConnectFlags")?,
            encrypted_platform_challenge: r.blob("EncryptedPlatformChallenge")?,
            mac: r.array("MACData")?,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_u32(out, self.connect_flags);
        self.encrypted_platform_challenge.encode(out, "EncryptedPlatformChallenge")?;
        out.extend_from_slice(&self.mac);
        Ok(())
    }
}

/// [MS-RDPELE 2.2.2.5] Client Platform Challenge Response (CLIENT_PLATFORM_CHALLENGE_RESPONSE)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientPlatformChallengeResponse {
    /// EncryptedPlatformChallengeResponse: RC4-encrypted PLATFORM_CHALLENGE_RESPONSE_DATA (or, from rdesktop,
    /// the raw decrypted challenge); the blob type is ignored
    pub encrypted_challenge_response: LicenseBinaryBlob,
    /// EncryptedHWID: RC4-encrypted CLIENT_HARDWARE_ID (type 0x0009, or 0x0001 from rdesktop)
    pub encrypted_hwid: LicenseBinaryBlob,
    /// MACData over the decrypted response data followed by the decrypted hardware id
    pub mac: [u8; MAC_SIZE],
}

impl ClientPlatformChallengeResponse {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            encrypted_challenge_response: r.blob("EncryptedPlatformChallengeResponse")?,
            encrypted_hwid: r.blob("EncryptedHWID")?,
            mac: r.array("MACData")?,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.encrypted_challenge_response.encode(out, "EncryptedPlatformChallengeResponse")?;
        self.encrypted_hwid.encode(out, "EncryptedHWID")?;
        out.extend_from_slice(&self.mac);
        Ok(())
    }
}

/// [MS-RDPELE 2.2.2.5.1] Platform Challenge Response Data (PLATFORM_CHALLENGE_RESPONSE_DATA)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformChallengeResponseData {
    /// wVersion: MUST be 0x0100
    pub version: u16,
    /// wClientType: client OS family
    pub client_type: ClientType,
    /// wLicenseDetailLevel: how much of the chain the client can hold
    pub license_detail_level: LicenseDetailLevel,
    /// pbChallenge: the decrypted server challenge (cbChallenge bytes)
    pub challenge: Vec<u8>,
}

impl PlatformChallengeResponseData {
    /// Decodes the structure (decrypted form).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let version = r.u16("PLATFORM_CHALLENGE_RESPONSE_DATA::wVersion")?;
        let client_type = ClientType(r.u16("wClientType")?);
        let license_detail_level = LicenseDetailLevel(r.u16("wLicenseDetailLevel")?);
        let len = r.u16("cbChallenge")?;
        let challenge = r.take(usize::from(len), "pbChallenge")?.to_vec();
        if r.remaining() != 0 {
            return Err(DecodeError::Invalid {
                what: "PLATFORM_CHALLENGE_RESPONSE_DATA",
                reason: format!("{} bytes after pbChallenge", r.remaining()),
            });
        }
        Ok(Self { version, client_type, license_detail_level, challenge })
    }

    /// Encodes the structure (before encryption).
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(8 + self.challenge.len());
        put_u16(&mut out, self.version);
        put_u16(&mut out, self.client_type.0);
        put_u16(&mut out, self.license_detail_level.0);
        put_u16(&mut out, len_u16(self.challenge.len(), "pbChallenge")?);
        out.extend_from_slice(&self.challenge);
        Ok(out)
    }
}

/// [MS-RDPELE 2.2.2.6] Server Upgrade License (SERVER_UPGRADE_LICENSE) and [2.2.2.7] Server New License
/// (SERVER_NEW_LICENSE): the same structure, told apart by the preamble's message type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLicense {
    /// EncryptedLicenseInfo: RC4-encrypted NEW_LICENSE_INFO (BB_ENCRYPTED_DATA_BLOB)
    pub encrypted_license_info: LicenseBinaryBlob,
    /// MACData over the decrypted NEW_LICENSE_INFO
    pub mac: [u8; MAC_SIZE],
}

impl ServerLicense {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { encrypted_license_info: r.blob("EncryptedLicenseInfo")?, mac: r.array("MACData")? })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.encrypted_license_info.encode(out, "EncryptedLicenseInfo")?;
        out.extend_from_slice(&self.mac);
        Ok(())
    }
}

/// [MS-RDPELE 2.2.2.6.1] New License Information (NEW_LICENSE_INFO)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLicenseInfo {
    /// dwVersion: as PRODUCT_INFO::dwVersion
    pub version: u32,
    /// pbScope: NUL-terminated ANSI issuer name (cbScope bytes)
    pub scope: Vec<u8>,
    /// pbCompanyName: NUL-terminated UTF-16LE
    pub company_name: Vec<u8>,
    /// pbProductId: NUL-terminated UTF-16LE
    pub product_id: Vec<u8>,
    /// pbLicenseInfo: the CAL, opaque to the client (see [`crate::cal`])
    pub license_info: Vec<u8>,
}

impl NewLicenseInfo {
    /// Decodes the structure (decrypted form).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let out = Self {
            version: r.u32("NEW_LICENSE_INFO::dwVersion")?,
            scope: r.counted_u32("NEW_LICENSE_INFO::pbScope")?.to_vec(),
            company_name: r.counted_u32("NEW_LICENSE_INFO::pbCompanyName")?.to_vec(),
            product_id: r.counted_u32("NEW_LICENSE_INFO::pbProductId")?.to_vec(),
            license_info: r.counted_u32("NEW_LICENSE_INFO::pbLicenseInfo")?.to_vec(),
        };
        if r.remaining() != 0 {
            return Err(DecodeError::Invalid {
                what: "NEW_LICENSE_INFO",
                reason: format!("{} bytes after pbLicenseInfo", r.remaining()),
            });
        }
        Ok(out)
    }

    /// Encodes the structure (before encryption).
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(20 + self.license_info.len() + 64);
        put_u32(&mut out, self.version);
        put_counted_u32(&mut out, &self.scope, "pbScope")?;
        put_counted_u32(&mut out, &self.company_name, "pbCompanyName")?;
        put_counted_u32(&mut out, &self.product_id, "pbProductId")?;
        put_counted_u32(&mut out, &self.license_info, "pbLicenseInfo")?;
        Ok(out)
    }

    /// The scope as text.
    pub fn scope(&self) -> String {
        from_ansi(&self.scope)
    }
}

/// [MS-RDPBCGR 2.2.1.12.1.3] Licensing Error Message (LICENSE_ERROR_MESSAGE)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseErrorMessage {
    /// dwErrorCode
    pub error_code: ErrorCode,
    /// dwStateTransition
    pub state_transition: StateTransition,
    /// bbErrorInfo: BB_ERROR_BLOB, usually empty
    pub error_info: LicenseBinaryBlob,
}

impl LicenseErrorMessage {
    /// STATUS_VALID_CLIENT + ST_NO_TRANSITION: "carry on", licensing is complete.
    pub fn valid_client() -> Self {
        Self::new(ErrorCode::STATUS_VALID_CLIENT, StateTransition::ST_NO_TRANSITION)
    }

    /// An error with an empty BB_ERROR_BLOB.
    pub fn new(error_code: ErrorCode, state_transition: StateTransition) -> Self {
        Self { error_code, state_transition, error_info: LicenseBinaryBlob::empty(BlobType::BB_ERROR_BLOB) }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            error_code: ErrorCode(r.u32("dwErrorCode")?),
            state_transition: StateTransition(r.u32("dwStateTransition")?),
            error_info: r.blob("bbErrorInfo")?,
        })
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_u32(out, self.error_code.0);
        put_u32(out, self.state_transition.0);
        self.error_info.encode(out, "bbErrorInfo")
    }
}

/// The licensing message after the preamble.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LicensingMessage {
    /// LICENSE_REQUEST (0x01)
    LicenseRequest(ServerLicenseRequest),
    /// PLATFORM_CHALLENGE (0x02)
    PlatformChallenge(ServerPlatformChallenge),
    /// NEW_LICENSE (0x03)
    NewLicense(ServerLicense),
    /// UPGRADE_LICENSE (0x04)
    UpgradeLicense(ServerLicense),
    /// LICENSE_INFO (0x12)
    LicenseInfo(ClientLicenseInfo),
    /// NEW_LICENSE_REQUEST (0x13)
    NewLicenseRequest(ClientNewLicenseRequest),
    /// PLATFORM_CHALLENGE_RESPONSE (0x15)
    PlatformChallengeResponse(ClientPlatformChallengeResponse),
    /// ERROR_ALERT (0xFF)
    ErrorAlert(LicenseErrorMessage),
}

impl LicensingMessage {
    /// The preamble message type of this message.
    pub fn msg_type(&self) -> MessageType {
        match self {
            Self::LicenseRequest(_) => MessageType::LICENSE_REQUEST,
            Self::PlatformChallenge(_) => MessageType::PLATFORM_CHALLENGE,
            Self::NewLicense(_) => MessageType::NEW_LICENSE,
            Self::UpgradeLicense(_) => MessageType::UPGRADE_LICENSE,
            Self::LicenseInfo(_) => MessageType::LICENSE_INFO,
            Self::NewLicenseRequest(_) => MessageType::NEW_LICENSE_REQUEST,
            Self::PlatformChallengeResponse(_) => MessageType::PLATFORM_CHALLENGE_RESPONSE,
            Self::ErrorAlert(_) => MessageType::ERROR_ALERT,
        }
    }
}

/// [MS-RDPELE 2.2.2] A licensing PDU as carried in the security-header payload: preamble + message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicensingPdu {
    /// Preamble flags: version | EXTENDED_ERROR_MSG_SUPPORTED
    pub flags: u8,
    /// The message
    pub message: LicensingMessage,
}

impl LicensingPdu {
    /// A PDU with the server's preamble flags (PREAMBLE_VERSION_3_0; never 0x80 from a server).
    pub fn from_server(message: LicensingMessage) -> Self {
        Self { flags: PREAMBLE_VERSION_3_0, message }
    }

    /// Decodes one licensing PDU. The message must fill `wMsgSize` exactly: every licensing PDU is consumed by
    /// its length (peers.md), so a length that disagrees with the structure is a malformed message (3.2.5.8).
    /// Bytes after `wMsgSize` are not part of the PDU and are not read (the spec's own example 4.7 has one).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let preamble = LicensePreamble::decode(bytes)?;
        let size = usize::from(preamble.msg_size);
        if size < LicensePreamble::SIZE {
            return Err(DecodeError::Invalid {
                what: "LICENSE_PREAMBLE::wMsgSize",
                reason: format!("{size} is smaller than the preamble"),
            });
        }
        if size > bytes.len() {
            return Err(DecodeError::Truncated { what: "licensing PDU", needed: size, available: bytes.len() });
        }
        let mut r = Reader::new(&bytes[LicensePreamble::SIZE..size]);
        let message = match preamble.msg_type {
            MessageType::LICENSE_REQUEST => LicensingMessage::LicenseRequest(ServerLicenseRequest::decode(&mut r)?),
            MessageType::PLATFORM_CHALLENGE => {
                LicensingMessage::PlatformChallenge(ServerPlatformChallenge::decode(&mut r)?)
            }
            MessageType::NEW_LICENSE => LicensingMessage::NewLicense(ServerLicense::decode(&mut r)?),
            MessageType::UPGRADE_LICENSE => LicensingMessage::UpgradeLicense(ServerLicense::decode(&mut r)?),
            MessageType::LICENSE_INFO => LicensingMessage::LicenseInfo(ClientLicenseInfo::decode(&mut r)?),
            MessageType::NEW_LICENSE_REQUEST => {
                LicensingMessage::NewLicenseRequest(ClientNewLicenseRequest::decode(&mut r)?)
            }
            MessageType::PLATFORM_CHALLENGE_RESPONSE => {
                LicensingMessage::PlatformChallengeResponse(ClientPlatformChallengeResponse::decode(&mut r)?)
            }
            MessageType::ERROR_ALERT => LicensingMessage::ErrorAlert(LicenseErrorMessage::decode(&mut r)?),
            other => return Err(DecodeError::UnknownMessageType(other.0)),
        };
        if r.remaining() != 0 {
            return Err(DecodeError::Invalid {
                what: "licensing message",
                reason: format!("{} bytes left after the {} message", r.remaining(), preamble.msg_type),
            });
        }
        Ok(Self { flags: preamble.flags, message })
    }

    /// Encodes the PDU with a correct `wMsgSize`.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(self.size_hint());
        out.extend_from_slice(&[self.message.msg_type().0, self.flags, 0, 0]);
        match &self.message {
            LicensingMessage::LicenseRequest(m) => m.encode(&mut out)?,
            LicensingMessage::PlatformChallenge(m) => m.encode(&mut out)?,
            LicensingMessage::NewLicense(m) | LicensingMessage::UpgradeLicense(m) => m.encode(&mut out)?,
            LicensingMessage::LicenseInfo(m) => m.encode(&mut out)?,
            LicensingMessage::NewLicenseRequest(m) => m.encode(&mut out)?,
            LicensingMessage::PlatformChallengeResponse(m) => m.encode(&mut out)?,
            LicensingMessage::ErrorAlert(m) => m.encode(&mut out)?,
        }
        let size = len_u16(out.len(), "licensing PDU")?;
        out[2..4].copy_from_slice(&size.to_le_bytes());
        Ok(out)
    }

    fn size_hint(&self) -> usize {
        LicensePreamble::SIZE
            + match &self.message {
                LicensingMessage::LicenseRequest(m) => {
                    64 + m.server_certificate.encoded_len() + m.product_info.company_name.len()
                }
                LicensingMessage::NewLicense(m) | LicensingMessage::UpgradeLicense(m) => {
                    m.encrypted_license_info.encoded_len() + MAC_SIZE
                }
                LicensingMessage::LicenseInfo(m) => 128 + m.license_info.encoded_len(),
                _ => 160,
            }
    }
}
