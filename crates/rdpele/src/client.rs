//! `ClientLicensing`: the client side of one licensing exchange (MS-RDPELE 3.3), without I/O.
//!
//! Used by `rdlic probe` and by tests. The CAL store is pluggable ([`LicenseStore`]); the hardware id, platform id
//! and [`ClientStyle`] are configurable so that a test can behave like xfreerdp or like rdesktop.

use crate::cert::ServerCertificate;
use crate::crypto::{LicensingKeys, PREMASTER_SECRET_SIZE};
use crate::pdu::{
    ansi_nul, from_ansi, BlobType, ClientHardwareId, ClientLicenseInfo, ClientNewLicenseRequest,
    ClientPlatformChallengeResponse, ClientType, ErrorCode, KeyExchangeAlg, LicenseBinaryBlob,
    LicenseDetailLevel, LicenseErrorMessage, LicensingMessage, LicensingPdu, NewLicenseInfo,
    PlatformChallengeResponseData, PlatformId, ServerLicense, ServerLicenseRequest, StateTransition,
    EXTENDED_ERROR_MSG_SUPPORTED, PLATFORM_CHALLENGE_RESPONSE_VERSION, PREAMBLE_VERSION_3_0, RANDOM_SIZE,
};

/// Where a client keeps its CALs, indexed as NEW_LICENSE_INFO says (scope, company, product id, version).
pub trait LicenseStore {
    /// The stored CAL for this server's product, if any.
    fn load(&mut self, key: &LicenseKey) -> Option<Vec<u8>>;
    /// Stores (or replaces) a CAL.
    fn store(&mut self, key: &LicenseKey, cal: &[u8]);
}

/// The index of a stored licence.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LicenseKey {
    /// Issuer scope (first scope of the License Request, or pbScope of the licence)
    pub scope: String,
    /// Company name
    pub company_name: String,
    /// Product id
    pub product_id: String,
    /// Product version (dwVersion)
    pub version: u32,
}

/// An in-memory store.
#[derive(Debug, Default, Clone)]
pub struct MemoryLicenseStore {
    /// The stored licences
    pub licenses: std::collections::HashMap<LicenseKey, Vec<u8>>,
}

impl LicenseStore for MemoryLicenseStore {
    fn load(&mut self, key: &LicenseKey) -> Option<Vec<u8>> {
        self.licenses.get(key).cloned()
    }

    fn store(&mut self, key: &LicenseKey, cal: &[u8]) {
        self.licenses.insert(key.clone(), cal.to_vec());
    }
}

/// Which client to imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientStyle {
    /// As the specification says (xfreerdp, mstsc): RSA-encrypted premaster, PLATFORM_CHALLENGE_RESPONSE_DATA
    Standard,
    /// rdesktop 1.9: all-zero client random and premaster sent as 72 zero bytes, the bare challenge echoed,
    /// blob type 0x0001 for the encrypted hardware id, no MAC checks
    Rdesktop,
    /// Clients on ironrdp-pdu 0.11: standard, except 8 zero bytes before PLATFORM_CHALLENGE_RESPONSE_DATA
    IronRdp,
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientLicensingConfig {
    /// ClientUserName
    pub user_name: String,
    /// ClientMachineName
    pub machine_name: String,
    /// PlatformId
    pub platform_id: PlatformId,
    /// The CLIENT_HARDWARE_ID to present
    pub hardware_id: ClientHardwareId,
    /// Protocol behaviour
    pub style: ClientStyle,
}

impl ClientLicensingConfig {
    /// Settings that imitate xfreerdp 2.11: PlatformId 0x04010000, HWID = platform id + MD5(client hostname).
    pub fn xfreerdp_like(user_name: &str, machine_name: &str) -> Self {
        let digest: [u8; 16] = <md5::Md5 as md5::Digest>::digest(machine_name.as_bytes()).into();
        let word = |i: usize| u32::from_le_bytes([digest[4 * i], digest[4 * i + 1], digest[4 * i + 2], digest[4 * i + 3]]);
        Self {
            user_name: user_name.into(),
            machine_name: machine_name.into(),
            platform_id: PlatformId::WINNT_POST_52_MICROSOFT,
            hardware_id: ClientHardwareId {
                platform_id: PlatformId::WINNT_POST_52_MICROSOFT,
                data: [word(0), word(1), word(2), word(3)],
            },
            style: ClientStyle::Standard,
        }
    }

    /// Settings that imitate rdesktop 1.9: PlatformId 0xFF010000, HWID = LE32(2) + hostname NUL-padded to 16.
    pub fn rdesktop_like(user_name: &str, machine_name: &str) -> Self {
        let mut name = [0u8; 16];
        for (d, s) in name.iter_mut().zip(machine_name.bytes()) {
            *d = s;
        }
        let word = |i: usize| u32::from_le_bytes([name[4 * i], name[4 * i + 1], name[4 * i + 2], name[4 * i + 3]]);
        Self {
            user_name: user_name.into(),
            machine_name: machine_name.into(),
            platform_id: PlatformId::OTHER_OS,
            hardware_id: ClientHardwareId { platform_id: PlatformId(2), data: [word(0), word(1), word(2), word(3)] },
            style: ClientStyle::Rdesktop,
        }
    }
}

/// What the client must do next.
#[derive(Debug)]
#[must_use]
pub enum ClientAction {
    /// Send this PDU and feed the server's next licensing PDU to [`ClientLicensing::handle`].
    Send(Vec<u8>),
    /// Licensing is over; send `pdu` if there is one.
    Finish {
        /// A last PDU (an Error Alert the client sends), if any
        pdu: Option<Vec<u8>>,
        /// How it ended
        outcome: ClientOutcome,
    },
}

/// How the exchange ended, from the client's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientOutcome {
    /// The server sent STATUS_VALID_CLIENT (with ST_NO_TRANSITION)
    ValidClient,
    /// The server issued a new licence (stored)
    NewLicense(NewLicenseInfo),
    /// The server upgraded (or returned) the licence (stored)
    UpgradedLicense(NewLicenseInfo),
    /// The server sent another Error Alert (a refusal when ST_TOTAL_ABORT)
    ServerAlert(LicenseErrorMessage),
    /// The server broke the protocol (bad MAC, malformed or out-of-sequence PDU)
    ProtocolError(String),
}

#[derive(Debug)]
enum ClientState {
    ExpectLicenseRequest,
    ExpectChallengeOrResult { keys: LicensingKeys, key: LicenseKey, presented: bool },
    ExpectLicenseOrResult { keys: LicensingKeys, key: LicenseKey },
    Done,
    Poisoned,
}

/// The client side of one licensing exchange.
#[derive(Debug)]
pub struct ClientLicensing {
    config: ClientLicensingConfig,
    client_random: [u8; RANDOM_SIZE],
    premaster_secret: [u8; PREMASTER_SECRET_SIZE],
    state: ClientState,
    /// The License Request as received, for reporting
    pub server_request: Option<ServerLicenseRequest>,
}

impl ClientLicensing {
    /// A new exchange with the client's random values (ignored, as zeros, in the rdesktop style).
    pub fn new(
        config: ClientLicensingConfig,
        client_random: [u8; RANDOM_SIZE],
        premaster_secret: [u8; PREMASTER_SECRET_SIZE],
    ) -> Self {
        let (client_random, premaster_secret) = match config.style {
            ClientStyle::Standard | ClientStyle::IronRdp => (client_random, premaster_secret),
            ClientStyle::Rdesktop => ([0; RANDOM_SIZE], [0; PREMASTER_SECRET_SIZE]),
        };
        Self { config, client_random, premaster_secret, state: ClientState::ExpectLicenseRequest, server_request: None }
    }

    fn flags(&self) -> u8 {
        match self.config.style {
            ClientStyle::Standard | ClientStyle::IronRdp => PREAMBLE_VERSION_3_0 | EXTENDED_ERROR_MSG_SUPPORTED,
            ClientStyle::Rdesktop => PREAMBLE_VERSION_3_0,
        }
    }

    fn encode(&self, message: LicensingMessage) -> Result<Vec<u8>, String> {
        LicensingPdu { flags: self.flags(), message }.encode().map_err(|e| e.to_string())
    }

    /// Feeds one server licensing PDU.
    pub fn handle(&mut self, input: &[u8], store: &mut dyn LicenseStore) -> ClientAction {
        let state = std::mem::replace(&mut self.state, ClientState::Poisoned);
        let pdu = match LicensingPdu::decode(input) {
            Ok(pdu) => pdu,
            Err(e) => return self.fail(format!("malformed server PDU: {e}")),
        };
        let result = match (state, pdu.message) {
            (_, LicensingMessage::ErrorAlert(alert)) => {
                self.state = ClientState::Done;
                if alert.error_code == ErrorCode::STATUS_VALID_CLIENT
                    && alert.state_transition == StateTransition::ST_NO_TRANSITION
                {
                    return ClientAction::Finish { pdu: None, outcome: ClientOutcome::ValidClient };
                }
                return ClientAction::Finish { pdu: None, outcome: ClientOutcome::ServerAlert(alert) };
            }
            (ClientState::ExpectLicenseRequest, LicensingMessage::LicenseRequest(req)) => self.on_license_request(req, store),
            (ClientState::ExpectChallengeOrResult { keys, key, presented }, LicensingMessage::PlatformChallenge(ch)) => {
                self.on_challenge(keys, key, presented, &ch.encrypted_platform_challenge.data, &ch.mac)
            }
            (ClientState::ExpectLicenseOrResult { keys, key }, LicensingMessage::NewLicense(lic)) => {
                return self.on_license(&keys, &key, &lic, false, store)
            }
            (ClientState::ExpectLicenseOrResult { keys, key }, LicensingMessage::UpgradeLicense(lic)) => {
                return self.on_license(&keys, &key, &lic, true, store)
            }
            (_, message) => Err(format!("unexpected {} from the server", message.msg_type())),
        };
        match result {
            Ok(bytes) => ClientAction::Send(bytes),
            Err(detail) => self.fail(detail),
        }
    }

    fn on_license_request(&mut self, req: ServerLicenseRequest, store: &mut dyn LicenseStore) -> Result<Vec<u8>, String> {
        let key = LicenseKey {
            scope: req.scopes().into_iter().next().unwrap_or_default(),
            company_name: req.product_info.company_name(),
            product_id: req.product_info.product_id(),
            version: req.product_info.version,
        };
        let encrypted_premaster = match self.config.style {
            ClientStyle::Rdesktop => vec![0u8; 72],
            ClientStyle::Standard | ClientStyle::IronRdp => {
                let cert = ServerCertificate::decode(&req.server_certificate.data).map_err(|e| format!("server certificate: {e}"))?;
                if let ServerCertificate::Proprietary { certificate, .. } = &cert {
                    if !certificate.verify() {
                        return Err("the proprietary server certificate's signature does not verify".into());
                    }
                }
                let public = cert.public_key().map_err(|e| format!("server certificate key: {e}"))?;
                public.encrypt_raw_le(&self.premaster_secret).map_err(|e| e.to_string())?
            }
        };
        let keys = LicensingKeys::derive(&self.premaster_secret, &self.client_random, &req.server_random);
        let stored = store.load(&key);
        self.server_request = Some(req);
        let premaster_blob = LicenseBinaryBlob::new(BlobType::BB_RANDOM_BLOB, encrypted_premaster);
        let message = match stored {
            Some(cal) => {
                let hwid = self.config.hardware_id.to_bytes();
                LicensingMessage::LicenseInfo(ClientLicenseInfo {
                    preferred_key_exchange_alg: KeyExchangeAlg::KEY_EXCHANGE_ALG_RSA,
                    platform_id: self.config.platform_id,
                    client_random: self.client_random,
                    encrypted_premaster_secret: premaster_blob,
                    license_info: LicenseBinaryBlob::new(BlobType::BB_DATA_BLOB, cal),
                    encrypted_hwid: LicenseBinaryBlob::new(self.hwid_blob_type(), keys.rc4(&hwid)),
                    mac: keys.mac(&hwid),
                })
            }
            None => LicensingMessage::NewLicenseRequest(ClientNewLicenseRequest {
                preferred_key_exchange_alg: KeyExchangeAlg::KEY_EXCHANGE_ALG_RSA,
                platform_id: self.config.platform_id,
                client_random: self.client_random,
                encrypted_premaster_secret: premaster_blob,
                client_user_name: LicenseBinaryBlob::new(BlobType::BB_CLIENT_USER_NAME_BLOB, ansi_nul(&self.config.user_name)),
                client_machine_name: LicenseBinaryBlob::new(
                    BlobType::BB_CLIENT_MACHINE_NAME_BLOB,
                    ansi_nul(&self.config.machine_name),
                ),
            }),
        };
        let presented = matches!(message, LicensingMessage::LicenseInfo(_));
        let bytes = self.encode(message)?;
        self.state = ClientState::ExpectChallengeOrResult { keys, key, presented };
        Ok(bytes)
    }

    fn hwid_blob_type(&self) -> BlobType {
        match self.config.style {
            ClientStyle::Standard | ClientStyle::IronRdp => BlobType::BB_ENCRYPTED_DATA_BLOB,
            ClientStyle::Rdesktop => BlobType::BB_DATA_BLOB,
        }
    }

    fn on_challenge(
        &mut self,
        keys: LicensingKeys,
        key: LicenseKey,
        _presented: bool,
        encrypted: &[u8],
        mac: &[u8; 16],
    ) -> Result<Vec<u8>, String> {
        let challenge = keys.rc4(encrypted);
        if self.config.style != ClientStyle::Rdesktop && !keys.verify_mac(&[&challenge], mac) {
            return Err("platform challenge MAC mismatch".into());
        }
        let response = match self.config.style {
            ClientStyle::Rdesktop => challenge,
            ClientStyle::Standard | ClientStyle::IronRdp => {
                let data = PlatformChallengeResponseData {
                    version: PLATFORM_CHALLENGE_RESPONSE_VERSION,
                    client_type: ClientType::OTHER_PLATFORMCHALLENGE_TYPE,
                    license_detail_level: LicenseDetailLevel::LICENSE_DETAIL_DETAIL,
                    challenge,
                }
                .encode()
                .map_err(|e| e.to_string())?;
                if self.config.style == ClientStyle::IronRdp {
                    [&[0u8; 8][..], &data].concat()
                } else {
                    data
                }
            }
        };
        let hwid = self.config.hardware_id.to_bytes();
        let message = LicensingMessage::PlatformChallengeResponse(ClientPlatformChallengeResponse {
            encrypted_challenge_response: LicenseBinaryBlob::new(BlobType::BB_ENCRYPTED_DATA_BLOB, keys.rc4(&response)),
            encrypted_hwid: LicenseBinaryBlob::new(self.hwid_blob_type(), keys.rc4(&hwid)),
            mac: keys.mac_parts(&[&response, &hwid]),
        });
        let bytes = self.encode(message)?;
        self.state = ClientState::ExpectLicenseOrResult { keys, key };
        Ok(bytes)
    }

    fn on_license(
        &mut self,
        keys: &LicensingKeys,
        key: &LicenseKey,
        license: &ServerLicense,
        upgrade: bool,
        store: &mut dyn LicenseStore,
    ) -> ClientAction {
        let plain = keys.rc4(&license.encrypted_license_info.data);
        if self.config.style != ClientStyle::Rdesktop && !keys.verify_mac(&[&plain], &license.mac) {
            // FreeRDP logs "new or upgrade license MAC mismatch" and aborts.
            return self.fail("new or upgrade license MAC mismatch".into());
        }
        let info = match NewLicenseInfo::decode(&plain) {
            Ok(info) => info,
            Err(e) => return self.fail(format!("NEW_LICENSE_INFO: {e}")),
        };
        let stored_key = LicenseKey {
            scope: if info.scope.is_empty() { key.scope.clone() } else { from_ansi(&info.scope) },
            ..key.clone()
        };
        store.store(&stored_key, &info.license_info);
        if stored_key != *key {
            store.store(key, &info.license_info);
        }
        self.state = ClientState::Done;
        let outcome = if upgrade { ClientOutcome::UpgradedLicense(info) } else { ClientOutcome::NewLicense(info) };
        ClientAction::Finish { pdu: None, outcome }
    }

    fn fail(&mut self, detail: String) -> ClientAction {
        self.state = ClientState::Done;
        ClientAction::Finish { pdu: None, outcome: ClientOutcome::ProtocolError(detail) }
    }

    /// Whether the exchange is over.
    pub fn is_done(&self) -> bool {
        matches!(self.state, ClientState::Done)
    }
}

/// A client Error Alert (e.g. ERR_INVALID_MAC), for callers that want to tell the server why they stop.
pub fn client_error_alert(error_code: ErrorCode) -> Vec<u8> {
    LicensingPdu {
        flags: PREAMBLE_VERSION_3_0 | EXTENDED_ERROR_MSG_SUPPORTED,
        message: LicensingMessage::ErrorAlert(LicenseErrorMessage::new(error_code, StateTransition::ST_TOTAL_ABORT)),
    }
    .encode()
    .unwrap_or_default()
}
