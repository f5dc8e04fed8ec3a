//! JSON wire types of the API (the only place that derives serde). Requests refuse unknown fields so a typo in a
//! client is an error, not a silently ignored option. Times are Unix seconds (UTC).

use serde::{Deserialize, Serialize};

/// `POST /api/v1/enroll` (no client certificate): trade a one-time token for a client certificate.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    /// The one-time token made by `rdlic host token` on the license server.
    pub token: String,
    /// The session host's name (certificate common name, shown in `hosts` lists).
    pub host_name: String,
    /// A PEM certificate signing request; when absent the server generates the key pair and returns the key.
    #[serde(default)]
    pub csr_pem: Option<String>,
}

/// Answer to an enrollment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollResponse {
    /// The host id given by the server.
    pub host_id: String,
    /// The client certificate (PEM), signed by the server's TLS CA.
    pub certificate_pem: String,
    /// The private key (PEM) when the server generated it (no CSR was sent).
    #[serde(default)]
    pub private_key_pem: Option<String>,
    /// The server's TLS CA (PEM): the only root the host should trust for this server.
    pub ca_pem: String,
    /// The license server id.
    pub server_id: String,
}

/// `POST /api/v1/host/renew` (mutual TLS with the host's current certificate): a new certificate for a new key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostRenewRequest {
    /// A PEM certificate signing request for the new key.
    pub csr_pem: String,
}

/// Answer to a renewal.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostRenewResponse {
    /// The host id.
    pub host_id: String,
    /// The new client certificate (PEM), signed by the server's TLS CA.
    pub certificate_pem: String,
    /// Its end of validity (Unix seconds).
    pub expires_at: i64,
}

/// `GET /api/v1/ping`: unauthenticated liveness and identity.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PingResponse {
    /// Always true when the server answers.
    pub ok: bool,
    /// The license server id.
    pub server_id: String,
    /// Software version.
    pub version: String,
}

/// CALs of one type and version: what the RD Licensing Diagnoser shows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Availability {
    /// `per-device` or `per-user`.
    pub cal_type: String,
    /// CAL version (year: 2016, 2019, 2022, 2025).
    pub version: u16,
    /// Installed in valid packs.
    pub installed: u64,
    /// Issued and not expired.
    pub issued: u64,
    /// Installed minus issued (never negative; per-user over-allocation is `issued > installed`).
    pub available: u64,
}

/// `GET /api/v1/status` (enrolled host or admin token).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusResponse {
    /// The license server id.
    pub server_id: String,
    /// Whether the server holds a valid clearinghouse activation certificate.
    pub activated: bool,
    /// CALs per type and version.
    pub cals: Vec<Availability>,
    /// Whether the database answered.
    pub database_ok: bool,
    /// Server time (Unix seconds).
    pub now: i64,
}

/// Why a host asks for a per-device CAL (all go to the same decision; the reason is audited).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceCalReason {
    /// First connection of a device (no CAL presented).
    Issue,
    /// A temporary CAL was presented: upgrade to permanent if possible.
    Upgrade,
    /// A CAL within 7 days of expiry was presented.
    Renew,
}

/// `POST /api/v1/cal/device` (enrolled host): MS-RDPELE 3.2.5 — issue, upgrade or renew a per-device CAL.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceCalRequest {
    /// Why the host asks.
    pub reason: DeviceCalReason,
    /// [2.2.2.3.1] CLIENT_HARDWARE_ID: 20 bytes as 40 hex digits (PlatformId, Data1..Data4).
    pub hardware_id: String,
    /// [2.2.2.3] ClientMachineName.
    pub client_machine: String,
    /// [2.2.2.3] ClientUserName.
    pub user: String,
    /// [2.2.2.2] PlatformId of the client.
    pub platform_id: u32,
    /// The session host's product version (CAL version year it needs, e.g. 2022).
    pub host_version: u16,
    /// Serial of the CAL the client presented, if any (audited in logs; the decision follows the hardware id).
    #[serde(default)]
    pub presented_serial: Option<String>,
    /// [2.2.2.1.1] PRODUCT_INFO of the host's License Request, written into the CAL (default: Microsoft
    /// Corporation, A02, 10.0).
    #[serde(default)]
    pub product: Option<CalProduct>,
    /// The host's id of this licensing attempt (printable ASCII, at most 64 bytes), the same on every license
    /// server the attempt is sent to: the database records which CAL it got, so a retry on another server after the
    /// first one died gets that CAL back instead of a second one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// The product a CAL licenses ([MS-RDPELE 2.2.2.1.1] PRODUCT_INFO, [2.2.2.9.1] LICENSED_PRODUCT_INFO).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CalProduct {
    /// pbCompanyName.
    pub company: String,
    /// pbProductId, e.g. "A02".
    pub product_id: String,
    /// High word of dwVersion.
    pub major: u16,
    /// Low word of dwVersion.
    pub minor: u16,
}

/// A per-device CAL handed to the host.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceCalResponse {
    /// The CAL (MS-RDPELE 2.2.2.9 PKCS#7 bag), base64.
    pub cal_b64: String,
    /// Its serial (hex), the primary key of the issued-license record.
    pub serial: String,
    /// `temporary` or `permanent`.
    pub kind: String,
    /// CAL version (year).
    pub version: u16,
    /// Start of validity (Unix seconds).
    pub issued_at: i64,
    /// Expiry (Unix seconds).
    pub expires_at: i64,
}

/// Most items in one `POST /api/v1/cal/device/batch`.
pub const MAX_DEVICE_CAL_BATCH: usize = 64;

/// `POST /api/v1/cal/device/batch` (enrolled host): several [`DeviceCalRequest`]s in one HTTPS request (1 to
/// [`MAX_DEVICE_CAL_BATCH`]), each decided as if sent alone to `POST /api/v1/cal/device`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceCalBatchRequest {
    /// The requests, answered in this order.
    pub requests: Vec<DeviceCalRequest>,
}

/// Answer to `POST /api/v1/cal/device/batch`: one result per request, in request order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceCalBatchResponse {
    /// `results[i]` answers `requests[i]`.
    pub results: Vec<DeviceCalBatchResult>,
}

/// One item's answer: the CAL `POST /api/v1/cal/device` would have returned, or its error.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DeviceCalBatchResult {
    /// The item failed; the status and message are those the single endpoint would have answered with.
    Failed {
        /// What went wrong.
        error: BatchItemError,
    },
    /// The CAL.
    Issued(DeviceCalResponse),
}

/// The error of one item of a batch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BatchItemError {
    /// The HTTP status the single endpoint would have used (400, 409, 503, ...).
    pub status: u16,
    /// Stable machine-readable code (as in the `code` of an error body).
    #[serde(default)]
    pub code: String,
    /// What happened, why, and what to do.
    pub message: String,
}

/// `POST /api/v1/cal/user` (enrolled host): record a per-user CAL for a user signing in.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserCalRequest {
    /// The user (DOMAIN\user or user@domain).
    pub user: String,
    /// The session host's product version.
    pub host_version: u16,
}

/// A per-user CAL record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserCalResponse {
    /// The user.
    pub user: String,
    /// CAL version (year).
    pub version: u16,
    /// Expiry of the tracking record (60 days, refreshed at sign-in).
    pub expires_at: i64,
    /// True when more per-user CALs are in use than installed (allowed unless enforcement is on, and reported).
    pub over_allocated: bool,
}

/// `GET /api/v1/chain`: certificates a host needs to validate CALs locally.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChainResponse {
    /// The license server id.
    pub server_id: String,
    /// DER certificates, base64, leaf (the certificate of the key that signs CALs) first.
    pub certificates_b64: Vec<String>,
}

/// `POST /api/v1/admin/activate`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivateRequest {
    /// The activation certificate file made by `rdlic clearinghouse activate` (text).
    pub certificate: String,
}

/// `GET /api/v1/admin/activation-request`: what an administrator sends to the clearinghouse.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActivationRequestResponse {
    /// The license server id.
    pub server_id: String,
    /// The identity public key (PEM).
    pub public_key_pem: String,
}

/// `POST /api/v1/admin/keypacks`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstallPackRequest {
    /// The key pack file made by `rdlic clearinghouse keypack` (text).
    pub pack: String,
}

/// `POST /api/v1/admin/enroll-tokens`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// Lifetime in seconds (default 86400).
    #[serde(default)]
    pub ttl_seconds: Option<i64>,
}

/// A fresh one-time enrollment token (shown once; only its hash is stored).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The token to pass to `rdlic host enroll --token`.
    pub token: String,
    /// When it stops working.
    pub expires_at: i64,
}

/// `POST /api/v1/admin/licenses/{serial}/revoke` refusal or success.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RevokeResponse {
    /// The revoked CAL serial.
    pub serial: String,
    /// Revocations still possible now for that CAL version.
    pub revocable_now: u64,
}
