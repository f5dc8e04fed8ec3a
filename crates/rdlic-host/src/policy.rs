//! Host licensing policy — pure functions over values, no I/O and no clock of their own.
//!
//! The session driver asks, in this order:
//! 1. [`admit`]: is this connection administrative (console flag, or the RD Session Host role removed), and is
//!    there an administrative slot left (2 at most, [rds-facts 2.10])?
//! 2. [`license_server_needed`]: given the mode and what the client presented (checked locally), must a license
//!    server be asked (issue, upgrade, renew, per-user checkout)?
//! 3. [`decide`]: with the answer of the license servers (or none), what to send: a new CAL, an upgraded or the
//!    old CAL back (MS-RDPELE 3.2.5.5 case 1/4), "valid client", or a refusal with the Error Alert and the
//!    ERRINFO code that makes clients name the cause; with the Windows event ids to mirror.

use crate::config::LicensingMode;
use crate::grace::GraceStatus;

/// At most this many administrative sessions at once (Remote Desktop for Administration).
pub const MAX_ADMIN_SESSIONS: usize = 2;

/// Seconds before expiry from which a permanent CAL is renewed (MS-RDPELE 3.2.5.3: "within seven days").
pub const RENEWAL_WINDOW_SECS: u64 = 7 * 86_400;

/// [MS-RDPBCGR 2.2.1.12.1.3] dwErrorCode values a server sends.
pub mod error_code {
    /// ERR_NO_LICENSE_SERVER
    pub const NO_LICENSE_SERVER: u32 = 0x06;
    /// STATUS_VALID_CLIENT
    pub const STATUS_VALID_CLIENT: u32 = 0x07;
    /// ERR_INVALID_CLIENT
    pub const INVALID_CLIENT: u32 = 0x08;
}

/// [MS-RDPBCGR 2.2.5.1.1] errorInfo codes used by the host.
pub mod errinfo {
    /// ERRINFO_SERVER_DENIED_CONNECTION: used for the third administrative session.
    pub const SERVER_DENIED_CONNECTION: u32 = 0x0000_0007;
    /// ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES: remote-administration mode with an admin account configured, and
    /// a connection without its credentials.
    pub const SERVER_INSUFFICIENT_PRIVILEGES: u32 = 0x0000_0009;
    /// ERRINFO_LICENSE_INTERNAL
    pub const LICENSE_INTERNAL: u32 = 0x100;
    /// ERRINFO_LICENSE_NO_LICENSE_SERVER
    pub const LICENSE_NO_LICENSE_SERVER: u32 = 0x101;
    /// ERRINFO_LICENSE_NO_LICENSE
    pub const LICENSE_NO_LICENSE: u32 = 0x102;
    /// ERRINFO_LICENSE_BAD_CLIENT_MSG
    pub const LICENSE_BAD_CLIENT_MSG: u32 = 0x103;
    /// ERRINFO_LICENSE_HWID_DOESNT_MATCH_LICENSE
    pub const LICENSE_HWID_DOESNT_MATCH_LICENSE: u32 = 0x104;
    /// ERRINFO_LICENSE_BAD_CLIENT_LICENSE
    pub const LICENSE_BAD_CLIENT_LICENSE: u32 = 0x105;
    /// ERRINFO_LICENSE_CANT_UPGRADE_LICENSE
    pub const LICENSE_CANT_UPGRADE_LICENSE: u32 = 0x109;
}

/// Windows event ids of the RemoteConnectionManager provider ([rds-facts 3.3]) mirrored in the host log.
pub mod event_id {
    /// The remote desktop client '%1' has provided an invalid license.
    pub const INVALID_LICENSE: u16 = 1003;
    /// The RD Session Host server cannot issue a client license.
    pub const CANNOT_ISSUE_LICENSE: u16 = 1004;
    /// The RD Licensing mode has not been configured.
    pub const MODE_NOT_CONFIGURED: u16 = 1068;
    /// The grace period has expired and the licensing mode has not been configured.
    pub const GRACE_EXPIRED_MODE_NOT_CONFIGURED: u16 = 1069;
    /// The RD Licensing grace period has expired and the service has not registered with a license server.
    pub const GRACE_EXPIRED: u16 = 1128;
    /// The grace period is about to expire.
    pub const GRACE_ABOUT_TO_EXPIRE: u16 = 1129;
    /// The RD Session Host server does not have a license server specified.
    pub const NO_LICENSE_SERVER_SPECIFIED: u16 = 1130;
    /// The RD Session Host server could not contact the license server %1.
    pub const CANNOT_CONTACT_LICENSE_SERVER: u16 = 1131;
    /// RD Session Host Server role is not installed.
    pub const ROLE_NOT_INSTALLED: u16 = 1136;
}

/// What the host knows about the connection before licensing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionInput {
    /// RDS-RD-Server InstallState != 0.
    pub session_host_role: bool,
    /// Client Cluster Data: REDIRECTED_SESSIONID_FIELD_VALID with session id 0 (`mstsc /admin`, `xfreerdp /admin`).
    pub console_flag: bool,
    /// Administrative sessions currently open on this host.
    pub admin_sessions: usize,
    /// Whether the Client Info PDU carried the host's admin account (`AdminUser` / `AdminPasswordHash`).
    pub admin_credentials: AdminCredentials,
}

/// The Client Info credentials against the host's admin account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminCredentials {
    /// No admin account in `host.toml`.
    NotConfigured,
    /// The admin account's user and password.
    Valid,
    /// Anything else (another user, a wrong or no password).
    Invalid,
}

/// Result of [`admit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Administrative session: no licensing (STATUS_VALID_CLIENT), takes one of the 2 slots.
    Administrative,
    /// A licensed session: run the licensing policy.
    Licensed,
    /// Refused before licensing.
    Refused(AdmissionRefusal),
}

/// Why a connection is refused before licensing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdmissionRefusal {
    /// Two administrative sessions are already open.
    AdminSessionLimit {
        /// Whether the host is in remote-administration mode (role removed) rather than serving a `/admin` client.
        role_removed: bool,
    },
    /// Remote-administration mode with an admin account configured, and a connection without its credentials.
    AdminCredentialsRequired,
}

impl AdmissionRefusal {
    /// A sentence for the log and the operator.
    pub fn reason(self) -> &'static str {
        match self {
            Self::AdminSessionLimit { role_removed: true } => {
                "remote desktop for administration allows 2 simultaneous sessions and 2 are open \
                 (the RD Session Host role is removed)"
            }
            Self::AdminSessionLimit { role_removed: false } => {
                "2 administrative (/admin) sessions are already open; at most 2 are allowed at once"
            }
            Self::AdminCredentialsRequired => {
                "remote desktop for administration: only the admin account of host.toml (AdminUser) may connect"
            }
        }
    }

    /// The Set Error Info code sent to the client.
    pub fn errinfo(self) -> u32 {
        match self {
            Self::AdminSessionLimit { .. } => errinfo::SERVER_DENIED_CONNECTION,
            Self::AdminCredentialsRequired => errinfo::SERVER_INSUFFICIENT_PRIVILEGES,
        }
    }
}

/// Decides whether a connection is administrative and whether it may open.
///
/// An administrative slot is held only by a connection that authenticated: a `/admin` connection with the admin
/// account's credentials (sent inside TLS, in the Client Info PDU). A `/admin` connection without them — or on a
/// host with no admin account configured — is licensed like any other: idle sockets can no longer hold both slots
/// and bypass licensing. In remote-administration mode (role removed) there is no licensing to fall back on: with
/// an admin account configured, other connections are refused; without one, any connection takes a slot (as
/// before; `rdlic host run` warns).
pub fn admit(input: AdmissionInput) -> Admission {
    if input.session_host_role {
        if !input.console_flag || input.admin_credentials != AdminCredentials::Valid {
            return Admission::Licensed;
        }
    } else if input.admin_credentials == AdminCredentials::Invalid {
        return Admission::Refused(AdmissionRefusal::AdminCredentialsRequired);
    }
    if input.admin_sessions >= MAX_ADMIN_SESSIONS {
        return Admission::Refused(AdmissionRefusal::AdminSessionLimit { role_removed: !input.session_host_role });
    }
    Admission::Administrative
}

/// Kind of a CAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalKind {
    /// Temporary per-device CAL (90 days).
    Temporary,
    /// Permanent per-device CAL.
    Permanent,
}

/// Why a presented CAL was not accepted by local validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidCal {
    /// Not a CAL at all (garbage, truncated, wrong structure).
    BadFormat,
    /// Signature does not verify, or the chain does not end at a license server this host trusts.
    Untrusted,
    /// Issued to another hardware id.
    HardwareIdMismatch,
    /// For an older product version than this host's.
    WrongVersion,
}

impl InvalidCal {
    fn errinfo(self) -> u32 {
        match self {
            Self::HardwareIdMismatch | Self::Untrusted => errinfo::LICENSE_HWID_DOESNT_MATCH_LICENSE,
            Self::BadFormat | Self::WrongVersion => errinfo::LICENSE_BAD_CLIENT_LICENSE,
        }
    }
}

/// Local validation result of the CAL the client presented (Client License Info), if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresentedCal {
    /// New License Request: the client has no CAL for this product.
    None,
    /// Signature, hardware id and version check out; `expires_at` in Unix seconds.
    Valid { kind: CalKind, expires_at: u64 },
    /// Present, but rejected.
    Invalid(InvalidCal),
}

impl PresentedCal {
    /// Whether the presented CAL is valid at `now` (expiry included).
    fn still_valid(self, now: u64) -> bool {
        matches!(self, Self::Valid { expires_at, .. } if expires_at > now)
    }
}

/// What to ask a license server for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerRequest {
    /// Per device: a new CAL (temporary at first; the server decides).
    IssueDevice,
    /// Per device: upgrade a temporary CAL to permanent, or renew a permanent one near expiry.
    UpgradeDevice,
    /// Per user: check out (track) a per-user CAL for the user.
    CheckoutUser,
}

/// Whether a license server must be asked, and for what. `None`: decide without one.
pub fn license_server_needed(mode: LicensingMode, presented: PresentedCal, now: u64) -> Option<ServerRequest> {
    match mode {
        LicensingMode::NotConfigured => None,
        LicensingMode::PerUser => Some(ServerRequest::CheckoutUser),
        LicensingMode::PerDevice => match presented {
            PresentedCal::None | PresentedCal::Invalid(_) => Some(ServerRequest::IssueDevice),
            PresentedCal::Valid { kind: CalKind::Temporary, .. } => Some(ServerRequest::UpgradeDevice),
            PresentedCal::Valid { kind: CalKind::Permanent, expires_at } => {
                if expires_at <= now.saturating_add(RENEWAL_WINDOW_SECS) {
                    Some(ServerRequest::UpgradeDevice)
                } else {
                    None
                }
            }
        },
    }
}

/// What the license servers answered, after trying them in `SpecifiedLicenseServers` order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerAnswer {
    /// No server was asked ([`license_server_needed`] returned `None`).
    NotAsked,
    /// `SpecifiedLicenseServers` is empty.
    NoneSpecified,
    /// Every server failed to answer (network, TLS, timeout).
    NoneReachable {
        /// The servers tried, in order.
        tried: Vec<String>,
    },
    /// A server answered but could not issue (no CAL free, not activated for permanent CALs...).
    CannotIssue {
        /// The server that answered.
        server: String,
    },
    /// A server issued (or upgraded / renewed) a CAL.
    Issued {
        /// The server that issued.
        server: String,
        /// Its kind.
        kind: CalKind,
    },
    /// Per user: a server checked out a per-user CAL.
    CheckedOut {
        /// The server that tracked it.
        server: String,
    },
}

impl ServerAnswer {
    /// The server named in the answer (for the log), if any.
    pub fn server(&self) -> Option<&str> {
        match self {
            Self::CannotIssue { server } | Self::Issued { server, .. } | Self::CheckedOut { server } => Some(server),
            Self::NoneReachable { tried } => tried.last().map(String::as_str),
            Self::NotAsked | Self::NoneSpecified => None,
        }
    }
}

/// What to send the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Server New License with the CAL the license server issued.
    SendNewCal(CalKind),
    /// Server Upgrade License with the CAL the license server upgraded or renewed.
    SendUpgradedCal(CalKind),
    /// Server Upgrade License with the client's own CAL back (MS-RDPELE 3.2.5.5 case 1 and 4).
    ResendPresentedCal,
    /// STATUS_VALID_CLIENT + ST_NO_TRANSITION.
    ValidClient,
    /// Error Alert (`error_code`, ST_TOTAL_ABORT), Set Error Info `errinfo`, disconnect.
    Refuse {
        /// dwErrorCode of the Error Alert.
        error_code: u32,
        /// ERRINFO code of the Set Error Info PDU.
        errinfo: u32,
    },
}

/// The decision with its reason and the Windows events to mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDecision {
    /// What to send.
    pub verdict: Verdict,
    /// Short reason, for the log.
    pub reason: &'static str,
    /// Windows event ids (RemoteConnectionManager) that Windows would log here.
    pub events: Vec<u16>,
    /// Whether this decision ends the grace period (first permanent CAL).
    pub ends_grace: bool,
}

/// Everything [`decide`] looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionInput {
    /// Licensing mode.
    pub mode: LicensingMode,
    /// Grace period now.
    pub grace: GraceStatus,
    /// The presented CAL, checked locally.
    pub presented: PresentedCal,
    /// The license servers' answer.
    pub answer: ServerAnswer,
    /// Now, Unix seconds.
    pub now: u64,
}

/// Days of grace left from which event 1129 (about to expire) is logged with each decision.
const GRACE_WARNING_DAYS: u32 = 15;

/// The licensing decision for a licensed (non-administrative) connection.
pub fn decide(input: &DecisionInput) -> PolicyDecision {
    let mut events = Vec::new();
    if matches!(input.presented, PresentedCal::Invalid(_)) {
        events.push(event_id::INVALID_LICENSE);
    }
    if let GraceStatus::Running { days_left, .. } = input.grace {
        if days_left <= GRACE_WARNING_DAYS {
            events.push(event_id::GRACE_ABOUT_TO_EXPIRE);
        }
    }
    let grace = input.grace.is_running();
    let old_valid = input.presented.still_valid(input.now);
    let decision = |verdict, reason: &'static str, mut extra: Vec<u16>, ends_grace| {
        let mut all = events.clone();
        all.append(&mut extra);
        PolicyDecision { verdict, reason, events: all, ends_grace }
    };
    // Refusal once the grace period is over and no CAL can be had.
    let presented_errinfo = match input.presented {
        PresentedCal::Invalid(why) => Some(why.errinfo()),
        _ => None,
    };

    match (input.mode, &input.answer) {
        (LicensingMode::NotConfigured, _) => {
            if grace {
                decision(Verdict::ValidClient, "licensing mode not configured; within the grace period", vec![event_id::MODE_NOT_CONFIGURED], false)
            } else {
                decision(
                    Verdict::Refuse { error_code: error_code::NO_LICENSE_SERVER, errinfo: errinfo::LICENSE_NO_LICENSE_SERVER },
                    "licensing mode not configured and the grace period is over",
                    vec![event_id::GRACE_EXPIRED_MODE_NOT_CONFIGURED],
                    false,
                )
            }
        }
        (_, ServerAnswer::NotAsked) => decision(Verdict::ValidClient, "valid permanent CAL presented", vec![], false),
        (_, ServerAnswer::Issued { kind, .. }) => {
            let permanent = *kind == CalKind::Permanent;
            if matches!(input.presented, PresentedCal::Valid { .. }) {
                decision(Verdict::SendUpgradedCal(*kind), "CAL upgraded or renewed by the license server", vec![], permanent)
            } else {
                decision(Verdict::SendNewCal(*kind), "new CAL issued by the license server", vec![], permanent)
            }
        }
        (_, ServerAnswer::CheckedOut { .. }) => {
            decision(Verdict::ValidClient, "per-user CAL checked out on the license server", vec![], false)
        }
        (_, ServerAnswer::CannotIssue { .. }) => {
            if old_valid {
                decision(Verdict::ResendPresentedCal, "license server cannot upgrade; the client's CAL is still valid", vec![], false)
            } else if grace {
                decision(Verdict::ValidClient, "license server has no CAL to issue; within the grace period", vec![event_id::CANNOT_ISSUE_LICENSE], false)
            } else {
                decision(
                    Verdict::Refuse {
                        error_code: error_code::INVALID_CLIENT,
                        errinfo: presented_errinfo.unwrap_or(errinfo::LICENSE_NO_LICENSE),
                    },
                    "license server has no CAL to issue and the grace period is over",
                    vec![event_id::CANNOT_ISSUE_LICENSE, event_id::GRACE_EXPIRED],
                    false,
                )
            }
        }
        (_, ServerAnswer::NoneSpecified | ServerAnswer::NoneReachable { .. }) => {
            let cause = if matches!(input.answer, ServerAnswer::NoneSpecified) {
                event_id::NO_LICENSE_SERVER_SPECIFIED
            } else {
                event_id::CANNOT_CONTACT_LICENSE_SERVER
            };
            if old_valid {
                decision(Verdict::ResendPresentedCal, "no license server available; the client's CAL is still valid", vec![cause], false)
            } else if grace {
                decision(Verdict::ValidClient, "no license server available; within the grace period", vec![cause], false)
            } else {
                decision(
                    Verdict::Refuse { error_code: error_code::NO_LICENSE_SERVER, errinfo: errinfo::LICENSE_NO_LICENSE_SERVER },
                    "no license server available and the grace period is over",
                    vec![cause, event_id::GRACE_EXPIRED],
                    false,
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grace::GraceRecord;

    const DAY: u64 = 86_400;
    const T0: u64 = 1_780_000_000;

    fn input(mode: LicensingMode, day: u64, presented: PresentedCal, answer: ServerAnswer) -> DecisionInput {
        let now = T0 + day * DAY;
        DecisionInput { mode, grace: GraceRecord::new(T0).status(now, 120), presented, answer, now }
    }

    fn unreachable() -> ServerAnswer {
        ServerAnswer::NoneReachable { tried: vec!["ls1".into(), "ls2".into()] }
    }

    #[test]
    fn admin_sessions_at_most_two() {
        let valid = AdminCredentials::Valid;
        let input = |role, console, n, creds| {
            admit(AdmissionInput { session_host_role: role, console_flag: console, admin_sessions: n, admin_credentials: creds })
        };
        assert_eq!(input(true, true, 0, valid), Admission::Administrative);
        assert_eq!(input(true, true, 1, valid), Admission::Administrative);
        assert_eq!(input(true, true, 2, valid), Admission::Refused(AdmissionRefusal::AdminSessionLimit { role_removed: false }));
        assert_eq!(input(true, false, 2, valid), Admission::Licensed);
        assert_eq!(input(false, false, 1, AdminCredentials::NotConfigured), Admission::Administrative);
        assert_eq!(
            input(false, false, 2, AdminCredentials::NotConfigured),
            Admission::Refused(AdmissionRefusal::AdminSessionLimit { role_removed: true })
        );
    }

    #[test]
    fn an_admin_slot_needs_the_admin_account() {
        let input = |role, creds| {
            admit(AdmissionInput { session_host_role: role, console_flag: true, admin_sessions: 0, admin_credentials: creds })
        };
        // `/admin` without the account (or with none configured): licensed like any other connection.
        assert_eq!(input(true, AdminCredentials::Invalid), Admission::Licensed);
        assert_eq!(input(true, AdminCredentials::NotConfigured), Admission::Licensed);
        // Remote-administration mode with an account: others are refused, with their own ERRINFO.
        let refused = input(false, AdminCredentials::Invalid);
        assert_eq!(refused, Admission::Refused(AdmissionRefusal::AdminCredentialsRequired));
        assert_eq!(AdmissionRefusal::AdminCredentialsRequired.errinfo(), errinfo::SERVER_INSUFFICIENT_PRIVILEGES);
        assert_eq!(input(false, AdminCredentials::Valid), Admission::Administrative);
    }

    #[test]
    fn within_grace_no_license_server_is_valid_client() {
        let d = decide(&input(LicensingMode::PerDevice, 10, PresentedCal::None, unreachable()));
        assert_eq!(d.verdict, Verdict::ValidClient);
        assert_eq!(d.events, vec![event_id::CANNOT_CONTACT_LICENSE_SERVER]);
    }

    #[test]
    fn past_grace_no_license_server_is_refused_with_errinfo_0x101() {
        let d = decide(&input(LicensingMode::PerDevice, 121, PresentedCal::None, unreachable()));
        assert_eq!(d.verdict, Verdict::Refuse { error_code: 6, errinfo: 0x101 });
        assert!(d.events.contains(&1128) && d.events.contains(&1131));
        let none = decide(&input(LicensingMode::PerDevice, 121, PresentedCal::None, ServerAnswer::NoneSpecified));
        assert!(none.events.contains(&1130));
    }

    #[test]
    fn past_grace_no_cal_available_is_0x102() {
        let answer = ServerAnswer::CannotIssue { server: "ls1".into() };
        let d = decide(&input(LicensingMode::PerDevice, 130, PresentedCal::None, answer));
        assert_eq!(d.verdict, Verdict::Refuse { error_code: 8, errinfo: 0x102 });
    }

    #[test]
    fn old_valid_cal_is_sent_back_when_no_server_answers() {
        let now = T0 + 200 * DAY;
        let presented = PresentedCal::Valid { kind: CalKind::Temporary, expires_at: now + 30 * DAY };
        assert_eq!(license_server_needed(LicensingMode::PerDevice, presented, now), Some(ServerRequest::UpgradeDevice));
        let d = decide(&input(LicensingMode::PerDevice, 200, presented, unreachable()));
        assert_eq!(d.verdict, Verdict::ResendPresentedCal);
        // Expired: refused.
        let expired = PresentedCal::Valid { kind: CalKind::Temporary, expires_at: now - 1 };
        let d = decide(&input(LicensingMode::PerDevice, 200, expired, unreachable()));
        assert!(matches!(d.verdict, Verdict::Refuse { .. }));
    }

    #[test]
    fn permanent_cal_renewed_only_within_seven_days() {
        let now = T0;
        let far = PresentedCal::Valid { kind: CalKind::Permanent, expires_at: now + 30 * DAY };
        let near = PresentedCal::Valid { kind: CalKind::Permanent, expires_at: now + 6 * DAY };
        assert_eq!(license_server_needed(LicensingMode::PerDevice, far, now), None);
        assert_eq!(license_server_needed(LicensingMode::PerDevice, near, now), Some(ServerRequest::UpgradeDevice));
        let d = decide(&input(LicensingMode::PerDevice, 0, far, ServerAnswer::NotAsked));
        assert_eq!(d.verdict, Verdict::ValidClient);
    }

    #[test]
    fn first_and_second_connection_per_device() {
        let issued = |kind| ServerAnswer::Issued { server: "ls1".into(), kind };
        let first = decide(&input(LicensingMode::PerDevice, 1, PresentedCal::None, issued(CalKind::Temporary)));
        assert_eq!(first.verdict, Verdict::SendNewCal(CalKind::Temporary));
        assert!(!first.ends_grace);
        let temp = PresentedCal::Valid { kind: CalKind::Temporary, expires_at: T0 + 91 * DAY };
        let second = decide(&input(LicensingMode::PerDevice, 2, temp, issued(CalKind::Permanent)));
        assert_eq!(second.verdict, Verdict::SendUpgradedCal(CalKind::Permanent));
        assert!(second.ends_grace);
    }

    #[test]
    fn grace_ended_by_permanent_cal_refuses_later_unlicensed_clients() {
        let mut record = GraceRecord::new(T0);
        record.end_by_permanent_cal(T0 + DAY);
        let now = T0 + 2 * DAY;
        let d = decide(&DecisionInput {
            mode: LicensingMode::PerDevice,
            grace: record.status(now, 120),
            presented: PresentedCal::None,
            answer: unreachable(),
            now,
        });
        assert_eq!(d.verdict, Verdict::Refuse { error_code: 6, errinfo: 0x101 });
    }

    #[test]
    fn tampered_cal_gets_a_fresh_request_then_the_matching_errinfo() {
        let bad = PresentedCal::Invalid(InvalidCal::HardwareIdMismatch);
        assert_eq!(license_server_needed(LicensingMode::PerDevice, bad, T0), Some(ServerRequest::IssueDevice));
        let d = decide(&input(LicensingMode::PerDevice, 1, bad, ServerAnswer::Issued { server: "ls".into(), kind: CalKind::Temporary }));
        assert_eq!(d.verdict, Verdict::SendNewCal(CalKind::Temporary));
        assert!(d.events.contains(&event_id::INVALID_LICENSE));
        let d = decide(&input(LicensingMode::PerDevice, 150, bad, ServerAnswer::CannotIssue { server: "ls".into() }));
        assert_eq!(d.verdict, Verdict::Refuse { error_code: 8, errinfo: 0x104 });
    }

    #[test]
    fn per_user_and_not_configured() {
        assert_eq!(license_server_needed(LicensingMode::PerUser, PresentedCal::None, T0), Some(ServerRequest::CheckoutUser));
        let d = decide(&input(LicensingMode::PerUser, 200, PresentedCal::None, ServerAnswer::CheckedOut { server: "ls".into() }));
        assert_eq!(d.verdict, Verdict::ValidClient);
        assert_eq!(license_server_needed(LicensingMode::NotConfigured, PresentedCal::None, T0), None);
        let d = decide(&input(LicensingMode::NotConfigured, 110, PresentedCal::None, ServerAnswer::NotAsked));
        assert_eq!(d.verdict, Verdict::ValidClient);
        assert!(d.events.contains(&1068) && d.events.contains(&1129));
        let d = decide(&input(LicensingMode::NotConfigured, 121, PresentedCal::None, ServerAnswer::NotAsked));
        assert_eq!(d.verdict, Verdict::Refuse { error_code: 6, errinfo: 0x101 });
        assert_eq!(d.events, vec![1069]);
    }
}
