//! `ServerLicensing`: the server side of one licensing exchange (MS-RDPELE 3.2), without I/O.
//!
//! Bytes in, bytes out; the server random and the platform challenge are passed in. Every buffer is one
//! licensing PDU starting at the preamble. The machine asks its caller for the licensing decision at two points:
//!
//! * after a Client License Information whose hardware-id MAC checked out ([`Action::DecidePresentedLicense`]):
//!   the licence is valid as it is, or it needs an upgrade (then a Platform Challenge follows), or refuse;
//! * after a Platform Challenge Response whose challenge and MAC checked out ([`Action::Decide`]): issue a new
//!   licence, send an upgraded one, let the client in without one, or refuse.
//!
//! Issuing a licence needs a [`ChallengeVerified`] value, which only the challenge-response check can make: the
//! step that hands out a CAL cannot be reached without the client having proved its keys (STYLE.md 3).

use std::sync::Arc;

use crate::cert::ServerCertificate;
use crate::crypto::{LicensingKeyPair, LicensingKeys};
use crate::pdu::{
    ansi_nul, BlobType, ClientHardwareId, ClientLicenseInfo, ClientNewLicenseRequest,
    ClientPlatformChallengeResponse, DecodeError, ErrorCode, KeyExchangeAlg, LicenseBinaryBlob,
    LicenseErrorMessage, LicensingMessage, LicensingPdu, NewLicenseInfo, PlatformChallengeResponseData,
    PlatformId, ProductInfo, ServerLicense, ServerLicenseRequest, ServerPlatformChallenge, StateTransition,
    PLATFORM_CHALLENGE_RESPONSE_VERSION, RANDOM_SIZE,
};

/// Size of the platform challenge. rdesktop needs exactly 10 bytes (peers.md); Windows sends 10 too.
pub const CHALLENGE_SIZE: usize = 10;

/// Zero bytes that ironrdp-pdu 0.11's client writes before PLATFORM_CHALLENGE_RESPONSE_DATA.
const IRONRDP_RESPONSE_PREFIX: usize = 8;

/// [MS-RDPBCGR 2.2.5.1.1] Set Error Info PDU codes of the licensing range (ERRINFO_LICENSE_*).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorInfo(pub u32);

impl ErrorInfo {
    /// An internal error has occurred in the Terminal Services licensing component
    pub const LICENSE_INTERNAL: Self = Self(0x100);
    /// A Remote Desktop License Server could not be found to provide a license
    pub const LICENSE_NO_LICENSE_SERVER: Self = Self(0x101);
    /// There are no Client Access Licenses available for the target remote computer
    pub const LICENSE_NO_LICENSE: Self = Self(0x102);
    /// The remote computer received an invalid licensing message from the client
    pub const LICENSE_BAD_CLIENT_MSG: Self = Self(0x103);
    /// The Client Access License stored by the client has been modified
    pub const LICENSE_HWID_DOESNT_MATCH_LICENSE: Self = Self(0x104);
    /// The Client Access License stored by the client is in an invalid format
    pub const LICENSE_BAD_CLIENT_LICENSE: Self = Self(0x105);
    /// Network problems have caused the licensing protocol to be terminated
    pub const LICENSE_CANT_FINISH_PROTOCOL: Self = Self(0x106);
    /// The client prematurely ended the licensing protocol
    pub const LICENSE_CLIENT_ENDED_PROTOCOL: Self = Self(0x107);
    /// A licensing message was incorrectly encrypted
    pub const LICENSE_BAD_CLIENT_ENCRYPTION: Self = Self(0x108);
    /// The Client Access License stored by the client could not be upgraded or renewed
    pub const LICENSE_CANT_UPGRADE_LICENSE: Self = Self(0x109);
    /// The remote computer is not licensed to accept remote connections
    pub const LICENSE_NO_REMOTE_CONNECTIONS: Self = Self(0x10A);

    /// The constant's name.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::LICENSE_INTERNAL => "ERRINFO_LICENSE_INTERNAL",
            Self::LICENSE_NO_LICENSE_SERVER => "ERRINFO_LICENSE_NO_LICENSE_SERVER",
            Self::LICENSE_NO_LICENSE => "ERRINFO_LICENSE_NO_LICENSE",
            Self::LICENSE_BAD_CLIENT_MSG => "ERRINFO_LICENSE_BAD_CLIENT_MSG",
            Self::LICENSE_HWID_DOESNT_MATCH_LICENSE => "ERRINFO_LICENSE_HWID_DOESNT_MATCH_LICENSE",
            Self::LICENSE_BAD_CLIENT_LICENSE => "ERRINFO_LICENSE_BAD_CLIENT_LICENSE",
            Self::LICENSE_CANT_FINISH_PROTOCOL => "ERRINFO_LICENSE_CANT_FINISH_PROTOCOL",
            Self::LICENSE_CLIENT_ENDED_PROTOCOL => "ERRINFO_LICENSE_CLIENT_ENDED_PROTOCOL",
            Self::LICENSE_BAD_CLIENT_ENCRYPTION => "ERRINFO_LICENSE_BAD_CLIENT_ENCRYPTION",
            Self::LICENSE_CANT_UPGRADE_LICENSE => "ERRINFO_LICENSE_CANT_UPGRADE_LICENSE",
            Self::LICENSE_NO_REMOTE_CONNECTIONS => "ERRINFO_LICENSE_NO_REMOTE_CONNECTIONS",
            _ => return None,
        })
    }
}

impl std::fmt::Debug for ErrorInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}(0x{:08x})", self.0),
            None => write!(f, "ErrorInfo(0x{:08x})", self.0),
        }
    }
}

impl std::fmt::Display for ErrorInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

/// What the server says about itself in every License Request, and the key that goes with its certificate.
#[derive(Debug)]
pub struct ServerLicensingConfig {
    key: LicensingKeyPair,
    product_info: ProductInfo,
    scope: String,
    /// The encoded License Request with a zero server random; the random is written at offset 4.
    license_request_template: Vec<u8>,
}

/// A configuration error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The certificate does not hold the licensing key's public half
    #[error("the server certificate does not carry the licensing key's public key")]
    CertificateKeyMismatch,
    /// The certificate cannot be read
    #[error("server certificate: {0}")]
    Certificate(#[from] DecodeError),
    /// A field does not fit the wire format
    #[error("license request: {0}")]
    Encode(#[from] crate::pdu::EncodeError),
    /// Company name or product id empty (clients require cb >= 2)
    #[error("company name and product id must not be empty")]
    EmptyProduct,
}

impl ServerLicensingConfig {
    /// `version` is PRODUCT_INFO::dwVersion (major in the high word), e.g. `0x000A_0000` for 10.0.
    /// `company_name` and `product_id` ("A02") identify the licence the client looks up; `scope` names the issuer.
    pub fn new(
        key: LicensingKeyPair,
        certificate: &ServerCertificate,
        version: u32,
        company_name: &str,
        product_id: &str,
        scope: &str,
    ) -> Result<Self, ConfigError> {
        if company_name.is_empty() || product_id.is_empty() {
            return Err(ConfigError::EmptyProduct);
        }
        if certificate.public_key()? != *key.public() {
            return Err(ConfigError::CertificateKeyMismatch);
        }
        let product_info = ProductInfo::new(version, company_name, product_id);
        let request = ServerLicenseRequest {
            server_random: [0; RANDOM_SIZE],
            product_info: product_info.clone(),
            key_exchange_list: LicenseBinaryBlob::new(
                BlobType::BB_KEY_EXCHG_ALG_BLOB,
                KeyExchangeAlg::KEY_EXCHANGE_ALG_RSA.0.to_le_bytes().to_vec(),
            ),
            server_certificate: LicenseBinaryBlob::new(BlobType::BB_CERTIFICATE_BLOB, certificate.encode()),
            scope_list: vec![LicenseBinaryBlob::new(BlobType::BB_SCOPE_BLOB, ansi_nul(scope))],
        };
        let license_request_template =
            LicensingPdu::from_server(LicensingMessage::LicenseRequest(request)).encode()?;
        Ok(Self { key, product_info, scope: scope.to_owned(), license_request_template })
    }

    /// The product information sent to clients.
    pub fn product_info(&self) -> &ProductInfo {
        &self.product_info
    }

    /// The scope (licence issuer name) sent to clients.
    pub fn scope(&self) -> &str {
        &self.scope
    }
}

/// What the caller must do next.
#[derive(Debug)]
#[must_use]
pub enum Action {
    /// Send this PDU, then feed the client's next licensing PDU to [`ServerLicensing::handle`].
    Send(Vec<u8>),
    /// The client presented a licence and proved its hardware id; answer with
    /// [`ServerLicensing::decide_presented`].
    DecidePresentedLicense(ClientRequest),
    /// The client answered the platform challenge correctly; answer with [`ServerLicensing::decide`].
    Decide(ClientRequest),
    /// Licensing is over: send `pdu` if there is one. A refusal must be followed by a Set Error Info PDU with
    /// `outcome`'s error info and a disconnect, so that the client names the cause.
    Finish {
        /// The last licensing PDU, if the server has one to send
        pdu: Option<Vec<u8>>,
        /// How licensing ended
        outcome: Outcome,
    },
}

/// Everything the server knows about the client when it asks for a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequest {
    /// ClientUserName of the New License Request (empty after License Info)
    pub user_name: String,
    /// ClientMachineName of the New License Request (empty after License Info)
    pub machine_name: String,
    /// PlatformId of the request
    pub platform_id: PlatformId,
    /// The decrypted CLIENT_HARDWARE_ID
    pub hardware_id: ClientHardwareId,
    /// The CAL the client presented (License Info), if any
    pub presented_license: Option<Vec<u8>>,
    /// Whether the client asked for a new licence (New License Request) rather than presenting one
    pub new_request: bool,
}

/// Proof that the platform challenge response and its MAC were verified in this exchange.
#[derive(Debug)]
pub struct ChallengeVerified {
    _private: (),
}

/// Answer to [`Action::DecidePresentedLicense`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresentedDecision {
    /// Case 1 of 3.2.5.3: a valid permanent licence; the client may connect
    ValidClient,
    /// Case 2 of 3.2.5.3: the licence needs an upgrade (temporary, expiring, expired or invalid): challenge first
    Challenge,
    /// Refuse the connection
    Refuse(Refusal),
}

/// Answer to [`Action::Decide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Send a Server New License with this CAL
    IssueNew(LicenseToSend),
    /// Send a Server Upgrade License with this CAL (an upgraded one, or the old one back: 3.2.5.5 cases 1 and 4)
    Upgrade(LicenseToSend),
    /// Let the client in without a licence (grace period: 3.2.5.5 cases 2 and 3)
    ValidClient,
    /// Refuse the connection
    Refuse(Refusal),
}

/// A CAL to send to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseToSend {
    /// pbLicenseInfo: the CAL bytes
    pub cal: Vec<u8>,
}

/// A refusal: Error Alert `error_code` with ST_TOTAL_ABORT, then Set Error Info `error_info` and disconnect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// dwErrorCode of the Error Alert (ERR_NO_LICENSE_SERVER, ERR_INVALID_CLIENT, ...)
    pub error_code: ErrorCode,
    /// The ERRINFO_LICENSE_* code for the Set Error Info PDU
    pub error_info: ErrorInfo,
}

impl Refusal {
    /// ERR_NO_LICENSE_SERVER / ERRINFO_LICENSE_NO_LICENSE_SERVER: past grace and no license server answered.
    pub fn no_license_server() -> Self {
        Self { error_code: ErrorCode::ERR_NO_LICENSE_SERVER, error_info: ErrorInfo::LICENSE_NO_LICENSE_SERVER }
    }

    /// ERR_INVALID_CLIENT / ERRINFO_LICENSE_NO_LICENSE: the license server had no CAL to give.
    pub fn no_license() -> Self {
        Self { error_code: ErrorCode::ERR_INVALID_CLIENT, error_info: ErrorInfo::LICENSE_NO_LICENSE }
    }
}

/// How the exchange ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// STATUS_VALID_CLIENT was sent
    ValidClient,
    /// A Server New License was sent
    Issued,
    /// A Server Upgrade License was sent
    Upgraded,
    /// The caller refused the client
    Refused(Refusal),
    /// The client broke the protocol (malformed, out of sequence, bad MAC); an Error Alert was sent
    ProtocolError {
        /// The Error Alert's code (ERR_INVALID_CLIENT or ERR_INVALID_MAC)
        error_code: ErrorCode,
        /// The ERRINFO for the Set Error Info PDU
        error_info: ErrorInfo,
        /// What was wrong, for the log
        detail: String,
    },
    /// The client sent an Error Alert and the exchange is over
    ClientAlert(LicenseErrorMessage),
}

impl Outcome {
    /// Whether the client may go on to the next connection phase.
    pub fn admits_client(&self) -> bool {
        matches!(self, Self::ValidClient | Self::Issued | Self::Upgraded)
    }

    /// The Set Error Info code to send before disconnecting, for endings that deny access.
    pub fn error_info(&self) -> Option<ErrorInfo> {
        match self {
            Self::Refused(r) => Some(r.error_info),
            Self::ProtocolError { error_info, .. } => Some(*error_info),
            Self::ClientAlert(_) => Some(ErrorInfo::LICENSE_CLIENT_ENDED_PROTOCOL),
            _ => None,
        }
    }
}

/// Server-side states, named for what they expect next.
#[derive(Debug)]
enum State {
    /// `start` has not been called
    Initial,
    /// License Request sent; expecting New License Request or License Info
    ExpectClientRequest,
    /// License Info verified; waiting for the caller's `decide_presented`
    AwaitPresentedDecision(Box<Session>),
    /// Platform Challenge sent; expecting the response
    ExpectPlatformChallengeResponse(Box<Session>),
    /// Challenge verified; waiting for the caller's `decide`
    AwaitDecision(Box<Session>, ChallengeVerified),
    /// Finished (successfully or not); nothing more is accepted
    Done,
    /// A method ran while the state was taken out (never observable from outside)
    Poisoned,
}

#[derive(Debug)]
struct Session {
    keys: LicensingKeys,
    request: ClientRequest,
}

/// The server side of one licensing exchange.
#[derive(Debug)]
pub struct ServerLicensing {
    config: Arc<ServerLicensingConfig>,
    server_random: [u8; RANDOM_SIZE],
    challenge: [u8; CHALLENGE_SIZE],
    state: State,
}

impl ServerLicensing {
    /// A new exchange. `server_random` and `challenge` must come from a cryptographically secure source.
    pub fn new(
        config: Arc<ServerLicensingConfig>,
        server_random: [u8; RANDOM_SIZE],
        challenge: [u8; CHALLENGE_SIZE],
    ) -> Self {
        Self { config, server_random, challenge, state: State::Initial }
    }

    /// The Server License Request, the first PDU of the exchange.
    pub fn start(&mut self) -> Vec<u8> {
        let mut pdu = self.config.license_request_template.clone();
        pdu[4..4 + RANDOM_SIZE].copy_from_slice(&self.server_random);
        self.state = State::ExpectClientRequest;
        pdu
    }

    /// Whether the exchange is over.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Feeds one client licensing PDU.
    pub fn handle(&mut self, input: &[u8]) -> Action {
        let state = std::mem::replace(&mut self.state, State::Poisoned);
        let pdu = match LicensingPdu::decode(input) {
            Ok(pdu) => pdu,
            Err(e) => return self.protocol_error(ErrorCode::ERR_INVALID_CLIENT, ErrorInfo::LICENSE_BAD_CLIENT_MSG, e.to_string()),
        };
        match (state, pdu.message) {
            (_, LicensingMessage::ErrorAlert(alert)) => {
                self.state = State::Done;
                Action::Finish { pdu: None, outcome: Outcome::ClientAlert(alert) }
            }
            (State::ExpectClientRequest, LicensingMessage::NewLicenseRequest(req)) => self.on_new_license_request(req),
            (State::ExpectClientRequest, LicensingMessage::LicenseInfo(info)) => self.on_license_info(info),
            (State::ExpectPlatformChallengeResponse(session), LicensingMessage::PlatformChallengeResponse(resp)) => {
                self.on_challenge_response(session, &resp)
            }
            (state, message) => self.protocol_error(
                ErrorCode::ERR_INVALID_CLIENT,
                ErrorInfo::LICENSE_BAD_CLIENT_MSG,
                format!("unexpected {} in state {}", message.msg_type(), state_name(&state)),
            ),
        }
    }

    /// Answers [`Action::DecidePresentedLicense`].
    pub fn decide_presented(&mut self, decision: PresentedDecision) -> Action {
        let State::AwaitPresentedDecision(session) = std::mem::replace(&mut self.state, State::Poisoned) else {
            return self.misuse("decide_presented called while no presented licence awaits a decision");
        };
        match decision {
            PresentedDecision::ValidClient => self.finish_valid_client(),
            PresentedDecision::Refuse(refusal) => self.refuse(refusal),
            PresentedDecision::Challenge => self.send_challenge(session),
        }
    }

    /// Answers [`Action::Decide`].
    pub fn decide(&mut self, decision: Decision) -> Action {
        let State::AwaitDecision(session, proof) = std::mem::replace(&mut self.state, State::Poisoned) else {
            return self.misuse("decide called while no verified client awaits a decision");
        };
        match decision {
            Decision::ValidClient => self.finish_valid_client(),
            Decision::Refuse(refusal) => self.refuse(refusal),
            Decision::IssueNew(license) => self.send_license(&session, &proof, license, false),
            Decision::Upgrade(license) => self.send_license(&session, &proof, license, true),
        }
    }

    fn on_new_license_request(&mut self, req: ClientNewLicenseRequest) -> Action {
        let keys = match self.derive_keys(&req.client_random, &req.encrypted_premaster_secret.data) {
            Ok(keys) => keys,
            Err(detail) => {
                return self.protocol_error(ErrorCode::ERR_INVALID_CLIENT, ErrorInfo::LICENSE_BAD_CLIENT_ENCRYPTION, detail)
            }
        };
        let request = ClientRequest {
            user_name: req.user_name(),
            machine_name: req.machine_name(),
            platform_id: req.platform_id,
            hardware_id: ClientHardwareId { platform_id: req.platform_id, data: [0; 4] },
            presented_license: None,
            new_request: true,
        };
        self.send_challenge(Box::new(Session { keys, request }))
    }

    fn on_license_info(&mut self, info: ClientLicenseInfo) -> Action {
        let keys = match self.derive_keys(&info.client_random, &info.encrypted_premaster_secret.data) {
            Ok(keys) => keys,
            Err(detail) => {
                return self.protocol_error(ErrorCode::ERR_INVALID_CLIENT, ErrorInfo::LICENSE_BAD_CLIENT_ENCRYPTION, detail)
            }
        };
        // Blob type of the encrypted HWID: 0x0009 per spec, 0x0001 from rdesktop; both accepted.
        let hwid_bytes = keys.rc4(&info.encrypted_hwid.data);
        if !keys.verify_mac(&[&hwid_bytes], &info.mac) {
            return self.protocol_error(
                ErrorCode::ERR_INVALID_MAC,
                ErrorInfo::LICENSE_BAD_CLIENT_ENCRYPTION,
                "License Info MAC does not match the hardware id".into(),
            );
        }
        let hardware_id = match ClientHardwareId::decode(&hwid_bytes) {
            Ok(h) => h,
            Err(e) => return self.protocol_error(ErrorCode::ERR_INVALID_CLIENT, ErrorInfo::LICENSE_BAD_CLIENT_MSG, e.to_string()),
        };
        let request = ClientRequest {
            user_name: String::new(),
            machine_name: String::new(),
            platform_id: info.platform_id,
            hardware_id,
            presented_license: Some(info.license_info.data),
            new_request: false,
        };
        let action = Action::DecidePresentedLicense(request.clone());
        self.state = State::AwaitPresentedDecision(Box::new(Session { keys, request }));
        action
    }

    fn on_challenge_response(&mut self, mut session: Box<Session>, resp: &ClientPlatformChallengeResponse) -> Action {
        let keys = &session.keys;
        let response = keys.rc4(&resp.encrypted_challenge_response.data);
        let hwid_bytes = keys.rc4(&resp.encrypted_hwid.data);
        if !keys.verify_mac(&[&response, &hwid_bytes], &resp.mac) {
            return self.protocol_error(
                ErrorCode::ERR_INVALID_MAC,
                ErrorInfo::LICENSE_BAD_CLIENT_ENCRYPTION,
                "Platform Challenge Response MAC does not match".into(),
            );
        }
        if !self.challenge_answered(&response) {
            return self.protocol_error(
                ErrorCode::ERR_INVALID_CLIENT,
                ErrorInfo::LICENSE_BAD_CLIENT_MSG,
                "the platform challenge response does not carry the challenge".into(),
            );
        }
        let hardware_id = match ClientHardwareId::decode(&hwid_bytes) {
            Ok(h) => h,
            Err(e) => return self.protocol_error(ErrorCode::ERR_INVALID_CLIENT, ErrorInfo::LICENSE_BAD_CLIENT_MSG, e.to_string()),
        };
        session.request.hardware_id = hardware_id;
        let action = Action::Decide(session.request.clone());
        self.state = State::AwaitDecision(session, ChallengeVerified { _private: () });
        action
    }

    /// The response is PLATFORM_CHALLENGE_RESPONSE_DATA carrying the challenge; or (rdesktop) the bare decrypted
    /// challenge; or (clients on ironrdp-pdu 0.11) the structure behind 8 zero bytes, which that encoder writes
    /// before the fields. The MAC has already been checked over exactly these bytes, so the tolerance only
    /// concerns layout, not authenticity.
    fn challenge_answered(&self, response: &[u8]) -> bool {
        if response == self.challenge {
            return true;
        }
        let carries_challenge = |bytes: &[u8]| match PlatformChallengeResponseData::decode(bytes) {
            Ok(data) => data.version == PLATFORM_CHALLENGE_RESPONSE_VERSION && data.challenge == self.challenge,
            Err(_) => false,
        };
        carries_challenge(response)
            || response.strip_prefix(&[0u8; IRONRDP_RESPONSE_PREFIX][..]).is_some_and(carries_challenge)
    }

    fn derive_keys(&self, client_random: &[u8; RANDOM_SIZE], encrypted_premaster: &[u8]) -> Result<LicensingKeys, String> {
        let premaster = self.config.key.decrypt_premaster(encrypted_premaster).map_err(|e| e.to_string())?;
        Ok(LicensingKeys::derive(&premaster, client_random, &self.server_random))
    }

    fn send_challenge(&mut self, session: Box<Session>) -> Action {
        let challenge = ServerPlatformChallenge {
            connect_flags: 0,
            encrypted_platform_challenge: LicenseBinaryBlob::new(
                BlobType::BB_ENCRYPTED_DATA_BLOB,
                session.keys.rc4(&self.challenge),
            ),
            mac: session.keys.mac(&self.challenge),
        };
        match LicensingPdu::from_server(LicensingMessage::PlatformChallenge(challenge)).encode() {
            Ok(bytes) => {
                self.state = State::ExpectPlatformChallengeResponse(session);
                Action::Send(bytes)
            }
            Err(e) => self.protocol_error(ErrorCode::ERR_INVALID_CLIENT, ErrorInfo::LICENSE_INTERNAL, e.to_string()),
        }
    }

    /// Sends a CAL. Only reachable with a [`ChallengeVerified`] from this exchange.
    fn send_license(
        &mut self,
        session: &Session,
        _proof: &ChallengeVerified,
        license: LicenseToSend,
        upgrade: bool,
    ) -> Action {
        let info = NewLicenseInfo {
            version: self.config.product_info.version,
            scope: ansi_nul(&self.config.scope),
            company_name: self.config.product_info.company_name.clone(),
            product_id: self.config.product_info.product_id.clone(),
            license_info: license.cal,
        };
        let plain = match info.encode() {
            Ok(p) => p,
            Err(e) => return self.protocol_error(ErrorCode::ERR_INVALID_CLIENT, ErrorInfo::LICENSE_INTERNAL, e.to_string()),
        };
        let body = ServerLicense {
            encrypted_license_info: LicenseBinaryBlob::new(BlobType::BB_ENCRYPTED_DATA_BLOB, session.keys.rc4(&plain)),
            mac: session.keys.mac(&plain),
        };
        let (message, outcome) = if upgrade {
            (LicensingMessage::UpgradeLicense(body), Outcome::Upgraded)
        } else {
            (LicensingMessage::NewLicense(body), Outcome::Issued)
        };
        match LicensingPdu::from_server(message).encode() {
            Ok(bytes) => {
                self.state = State::Done;
                Action::Finish { pdu: Some(bytes), outcome }
            }
            Err(e) => self.protocol_error(ErrorCode::ERR_INVALID_CLIENT, ErrorInfo::LICENSE_INTERNAL, e.to_string()),
        }
    }

    fn finish_valid_client(&mut self) -> Action {
        self.state = State::Done;
        Action::Finish { pdu: Some(error_alert(&LicenseErrorMessage::valid_client())), outcome: Outcome::ValidClient }
    }

    fn refuse(&mut self, refusal: Refusal) -> Action {
        self.state = State::Done;
        let alert = LicenseErrorMessage::new(refusal.error_code, StateTransition::ST_TOTAL_ABORT);
        Action::Finish { pdu: Some(error_alert(&alert)), outcome: Outcome::Refused(refusal) }
    }

    /// 3.2.5.8 / 3.2.5.9: an Error Alert with ST_TOTAL_ABORT, and the exchange is over.
    fn protocol_error(&mut self, error_code: ErrorCode, error_info: ErrorInfo, detail: String) -> Action {
        self.state = State::Done;
        let alert = LicenseErrorMessage::new(error_code, StateTransition::ST_TOTAL_ABORT);
        Action::Finish { pdu: Some(error_alert(&alert)), outcome: Outcome::ProtocolError { error_code, error_info, detail } }
    }

    fn misuse(&mut self, detail: &str) -> Action {
        self.protocol_error(ErrorCode::ERR_INVALID_CLIENT, ErrorInfo::LICENSE_INTERNAL, detail.to_owned())
    }
}

fn state_name(state: &State) -> &'static str {
    match state {
        State::Initial => "Initial",
        State::ExpectClientRequest => "ExpectClientRequest",
        State::AwaitPresentedDecision(_) => "AwaitPresentedDecision",
        State::ExpectPlatformChallengeResponse(_) => "ExpectPlatformChallengeResponse",
        State::AwaitDecision(..) => "AwaitDecision",
        State::Done => "Done",
        State::Poisoned => "Poisoned",
    }
}

/// Encodes an Error Alert from the server. The fixed-size message always encodes.
pub fn error_alert(message: &LicenseErrorMessage) -> Vec<u8> {
    LicensingPdu::from_server(LicensingMessage::ErrorAlert(message.clone()))
        .encode()
        .unwrap_or_else(|_| Vec::new())
}

/// The 16-byte STATUS_VALID_CLIENT Error Alert, for hosts that let a client in without an exchange
/// (a personal terminal server, or an administrative session).
pub fn valid_client_pdu() -> Vec<u8> {
    error_alert(&LicenseErrorMessage::valid_client())
}
