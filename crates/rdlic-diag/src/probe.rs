//! `rdlic probe`: an RDP client that runs the connection sequence up to and through the licensing phase and
//! reports what the server did.
//!
//! * Connection Initiation, TLS, Basic Settings Exchange, Channel Connection and Secure Settings Exchange are run
//!   by IronRDP's `ClientConnector` (stepped by [`run_async`]); the probe takes over when the connector reaches the
//!   licensing state (the Client Info PDU has been sent), so the connector's own licensing never runs.
//! * Licensing is `rdpele::client::ClientLicensing` on PDUs unwrapped here: server licensing PDUs arrive in MCS
//!   Send Data Indication with a basic security header carrying `SEC_LICENSE_PKT` (MS-RDPBCGR 2.2.8.1.1.2.1);
//!   client ones leave in MCS Send Data Request on the I/O channel.
//! * After licensing the probe reads until the Demand Active PDU (the client is admitted), a Set Error Info PDU
//!   (MS-RDPBCGR 2.2.5.1.1) and the disconnect, or a timeout.
//! * The probe is async (tokio): [`run_async`] lets one thread drive many probes (`rdlic bench storm`); [`run`]
//!   drives one on a current-thread runtime of its own, for callers that are not async.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ironrdp_connector::{ClientConnector, ClientConnectorState, Credentials, DesktopSize, Sequence as _, State as _};
use ironrdp_core::{decode, encode_vec, WriteBuf};
use ironrdp_pdu::gcc;
use ironrdp_pdu::mcs::{McsMessage, SendDataRequest};
use ironrdp_pdu::nego::SecurityProtocol;
use ironrdp_pdu::x224::X224;
use rdpele::client::{
    ClientAction, ClientLicensing, ClientLicensingConfig, ClientOutcome, LicenseStore, MemoryLicenseStore,
};
use rdpele::pdu::NewLicenseInfo;
use serde::Serialize;

use crate::store::DirLicenseStore;
use crate::transport::{Framed, TransportError};

/// [MS-RDPBCGR 2.2.8.1.1.2.1] `SEC_LICENSE_PKT`.
const SEC_LICENSE_PKT: u16 = 0x0080;
/// [MS-RDPBCGR 2.2.8.1.1.3.1.1] `PDUTYPE2_SET_ERROR_INFO_PDU`.
const PDUTYPE2_SET_ERROR_INFO_PDU: u8 = 0x2F;
/// [MS-RDPBCGR 2.2.8.1.1.1.1] `PDUTYPE_DEMANDACTIVEPDU` (low nibble of pduType).
const PDUTYPE_DEMANDACTIVEPDU: u16 = 0x1;
/// [MS-RDPBCGR 2.2.8.1.1.1.1] `PDUTYPE_DATAPDU`.
const PDUTYPE_DATAPDU: u16 = 0x7;
/// Cap on the PDUs read after licensing (a server streaming something else must not keep the probe forever).
const MAX_PDUS_AFTER_LICENSING: usize = 64;

/// What to probe and as whom.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// `HOST:PORT`
    pub target: String,
    /// Console / administrative connection: Client Cluster Data with REDIRECTED_SESSIONID_FIELD_VALID and session
    /// id 0, as `mstsc /admin` and `xfreerdp /admin` send.
    pub admin: bool,
    /// User name (Client Info PDU and ClientUserName)
    pub user: String,
    /// Password sent in the Client Info PDU (inside TLS): a host takes an administrative connection only from its
    /// configured admin account
    pub password: String,
    /// Client name (GCC Client Core Data and ClientMachineName; also the hardware id seed)
    pub client_hostname: String,
    /// Client CAL store; `None` keeps CALs in memory (nothing is presented)
    pub license_dir: Option<PathBuf>,
    /// Read timeout for each server PDU
    pub timeout: Duration,
}

impl ProbeOptions {
    /// Defaults: user `probe`, client name `rdlic-probe`, 10 s timeout.
    pub fn new(target: &str) -> Self {
        Self {
            target: target.to_owned(),
            admin: false,
            user: "probe".into(),
            password: String::new(),
            client_hostname: "rdlic-probe".into(),
            license_dir: None,
            timeout: Duration::from_secs(10),
        }
    }
}

/// Why the probe could not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    #[error("cannot resolve {0}")]
    Resolve(String),
    #[error("cannot connect to {target}: {source}")]
    Connect { target: String, source: std::io::Error },
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("rdp connection sequence failed: {0}")]
    Connector(String),
    #[error("the server requires network level authentication (credssp); the probe does not log on")]
    NlaRequired,
    #[error("unexpected pdu from the server during {phase}: {detail}")]
    Unexpected { phase: &'static str, detail: String },
    #[error("cannot start the probe's runtime: {0}")]
    Runtime(std::io::Error),
}

impl ProbeError {
    /// A stable kind, for JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Resolve(_) => "resolve",
            Self::Connect { .. } => "connect",
            Self::Transport(TransportError::Closed) => "closed",
            Self::Transport(TransportError::Timeout(_)) => "timeout",
            Self::Transport(TransportError::Tls(_)) => "tls",
            Self::Transport(_) => "transport",
            Self::Connector(_) => "connector",
            Self::NlaRequired => "nla-required",
            Self::Unexpected { .. } => "unexpected-pdu",
            Self::Runtime(_) => "runtime",
        }
    }
}

/// Time spent in one connection phase.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseTiming {
    /// Phase id (MS-RDPBCGR 1.3.1.1 names, in kebab case)
    pub phase: &'static str,
    /// Milliseconds
    pub millis: f64,
}

/// The Server License Request, as the client saw it.
#[derive(Debug, Clone, Serialize)]
pub struct LicenseRequestSummary {
    /// PRODUCT_INFO::dwVersion
    pub version: u32,
    /// PRODUCT_INFO::pbCompanyName
    pub company: String,
    /// PRODUCT_INFO::pbProductId
    pub product_id: String,
    /// Scopes (issuers)
    pub scopes: Vec<String>,
    /// Preamble version (2 = RDP 4.0, 3 = RDP 5.0 and later)
    pub preamble_version: u8,
    /// "proprietary", "x509" or "none" (empty blob)
    pub certificate: String,
    /// RSA key size of the server certificate, in bits
    pub key_bits: Option<usize>,
}

/// A CAL the server sent (New License or Upgrade License), decoded with `rdpele::cal`.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedLicense {
    /// NEW_LICENSE_INFO::dwVersion
    pub version: u32,
    /// pbScope
    pub scope: String,
    /// pbCompanyName
    pub company: String,
    /// pbProductId
    pub product_id: String,
    /// Size of pbLicenseInfo
    pub size: usize,
    /// The decoded CAL, when it decodes
    pub cal: Option<CalSummary>,
    /// Why it does not decode
    pub cal_error: Option<String>,
    /// Where the CAL was stored (`--license-dir`)
    pub stored_in: Option<PathBuf>,
}

/// The fields of a CAL users care about.
#[derive(Debug, Clone, Serialize)]
pub struct CalSummary {
    /// "temporary" or "permanent"
    pub kind: &'static str,
    /// Valid from, Unix seconds
    pub not_before: i64,
    /// Valid until, Unix seconds
    pub not_after: i64,
    /// Issuing license server name
    pub issuer: String,
    /// Issuing license server scope
    pub issuer_scope: String,
    /// Product id (e.g. A02)
    pub product: String,
    /// Company
    pub company: String,
    /// Product version major.minor
    pub product_version: String,
    /// Subject CN (client machine)
    pub client_machine: String,
    /// Subject L (client user)
    pub client_user: String,
}

/// What the server did in the licensing phase.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum LicensingResult {
    /// STATUS_VALID_CLIENT + ST_NO_TRANSITION without a licence.
    ValidClient,
    /// SERVER_NEW_LICENSE.
    NewLicense(IssuedLicense),
    /// SERVER_UPGRADE_LICENSE.
    UpgradeLicense(IssuedLicense),
    /// Another Error Alert.
    ErrorAlert {
        /// dwErrorCode
        error_code: u32,
        /// dwStateTransition
        state_transition: u32,
    },
    /// The server broke the protocol (bad MAC, malformed PDU).
    ProtocolError {
        /// What was wrong
        detail: String,
    },
    /// The server sent no licensing PDU and went on (Demand Active or Set Error Info right away).
    Skipped,
    /// The connection ended before licensing ended.
    Incomplete,
}

/// What came after licensing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AfterLicensing {
    /// Demand Active: the client is admitted to the capabilities exchange.
    DemandActive,
    /// The server disconnected (MCS Disconnect Provider Ultimatum or TCP close).
    Disconnected,
    /// Nothing decisive within the timeout.
    Timeout,
    /// Not reached (the probe failed earlier).
    NotReached,
}

/// Everything the probe saw.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    /// `HOST:PORT`
    pub target: String,
    /// Resolved address
    pub address: Option<String>,
    /// Console / admin connection requested
    pub admin: bool,
    /// Client name sent
    pub client_hostname: String,
    /// User name sent
    pub user: String,
    /// Negotiated security protocol ("TLS", "CredSSP", "RDP")
    pub security_protocol: Option<String>,
    /// TLS version and cipher suite
    pub tls: Option<String>,
    /// Phases with their duration, in order
    pub phases: Vec<PhaseTiming>,
    /// The License Request
    pub license_request: Option<LicenseRequestSummary>,
    /// Whether a stored CAL was presented (Client License Info) instead of a New License Request
    pub presented_stored_cal: Option<PathBuf>,
    /// The licensing result
    pub licensing: LicensingResult,
    /// ERRINFO code of a Set Error Info PDU (0 = none)
    pub error_info: Option<u32>,
    /// What followed licensing
    pub after_licensing: AfterLicensing,
    /// Store write failures
    pub store_errors: Vec<String>,
    /// Why the probe stopped early
    pub failure: Option<ProbeFailure>,
    /// Total milliseconds
    pub total_millis: f64,
}

/// A probe failure, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeFailure {
    /// [`ProbeError::kind`]
    pub kind: &'static str,
    /// The error text
    pub message: String,
}

impl ProbeReport {
    /// Whether the server would let this client past licensing.
    pub fn admitted(&self) -> bool {
        let licensed = matches!(
            self.licensing,
            LicensingResult::ValidClient | LicensingResult::NewLicense(_) | LicensingResult::UpgradeLicense(_)
        );
        licensed && self.error_info.unwrap_or(0) == 0 && self.after_licensing != AfterLicensing::Disconnected
    }
}

struct Timer {
    start: Instant,
    phase_start: Instant,
    current: Option<&'static str>,
    phases: Vec<PhaseTiming>,
}

impl Timer {
    fn new() -> Self {
        let now = Instant::now();
        Self { start: now, phase_start: now, current: None, phases: Vec::new() }
    }

    /// Ends the current phase (if different) and starts `phase`.
    fn enter(&mut self, phase: &'static str) {
        if self.current == Some(phase) {
            return;
        }
        self.close();
        self.current = Some(phase);
    }

    fn close(&mut self) {
        let now = Instant::now();
        if let Some(phase) = self.current.take() {
            let millis = now.duration_since(self.phase_start).as_secs_f64() * 1000.0;
            self.phases.push(PhaseTiming { phase, millis: (millis * 100.0).round() / 100.0 });
        }
        self.phase_start = now;
    }
}

/// The phase a connector state belongs to.
fn phase_of(state: &ClientConnectorState) -> &'static str {
    match state {
        ClientConnectorState::ConnectionInitiationSendRequest
        | ClientConnectorState::ConnectionInitiationWaitConfirm { .. } => "connection-initiation",
        ClientConnectorState::EnhancedSecurityUpgrade { .. } => "security-upgrade",
        ClientConnectorState::Credssp { .. } => "credssp",
        ClientConnectorState::BasicSettingsExchangeSendInitial { .. }
        | ClientConnectorState::BasicSettingsExchangeWaitResponse { .. } => "basic-settings-exchange",
        ClientConnectorState::ChannelConnection { .. } => "channel-connection",
        ClientConnectorState::SecureSettingsExchange { .. } => "secure-settings-exchange",
        ClientConnectorState::ConnectTimeAutoDetection { .. } => "auto-detection",
        ClientConnectorState::LicensingExchange { .. } => "licensing",
        _ => "other",
    }
}

fn protocol_name(protocol: SecurityProtocol) -> String {
    if protocol.contains(SecurityProtocol::HYBRID_EX) {
        "CredSSP (HYBRID_EX)".into()
    } else if protocol.contains(SecurityProtocol::HYBRID) {
        "CredSSP (HYBRID)".into()
    } else if protocol.contains(SecurityProtocol::SSL) {
        "TLS".into()
    } else if protocol.is_empty() {
        "RDP standard security".into()
    } else {
        format!("{protocol:?}")
    }
}

/// Runs the probe on a current-thread runtime of its own (on a thread of its own when called from within a
/// runtime, where blocking on one is not allowed). Never fails: see [`run_async`].
pub fn run(options: &ProbeOptions) -> ProbeReport {
    block_on(run_async(options)).unwrap_or_else(|error| {
        let mut report = empty_report(options);
        report.failure = Some(ProbeFailure { kind: error.kind(), message: error.to_string() });
        report
    })
}

/// Runs the probe. Never fails: a failure is recorded in [`ProbeReport::failure`] with the phases reached. Needs a
/// tokio runtime with I/O and time enabled.
pub async fn run_async(options: &ProbeOptions) -> ProbeReport {
    run_with(options, None).await
}

/// [`run_async`] with the caller's CAL store instead of `license_dir` or a store in memory: a load generator
/// (`rdlic bench storm`) keeps its simulated clients' CALs itself. [`ProbeReport::presented_stored_cal`] and
/// [`ProbeReport::store_errors`] stay empty: the caller's store knows what it gave.
pub async fn run_async_with_store(options: &ProbeOptions, store: &mut (dyn LicenseStore + Send)) -> ProbeReport {
    run_with(options, Some(store)).await
}

async fn run_with(options: &ProbeOptions, store: Option<&mut (dyn LicenseStore + Send)>) -> ProbeReport {
    let mut timer = Timer::new();
    let mut report = empty_report(options);
    if let Err(error) = run_inner(options, store, &mut report, &mut timer).await {
        report.failure = Some(ProbeFailure { kind: error.kind(), message: error.to_string() });
    }
    timer.close();
    report.total_millis = (timer.start.elapsed().as_secs_f64() * 100_000.0).round() / 100.0;
    report.phases = timer.phases;
    report
}

/// Drives `future` to completion on a current-thread runtime; on a scoped thread when this thread is already in
/// a runtime's context.
fn block_on<F: std::future::Future + Send>(future: F) -> Result<F::Output, ProbeError>
where
    F::Output: Send,
{
    let drive = move || {
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(ProbeError::Runtime)?;
        Ok(runtime.block_on(future))
    };
    if tokio::runtime::Handle::try_current().is_err() {
        return drive();
    }
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("rdlic-probe".into())
            .spawn_scoped(scope, drive)
            .map_err(ProbeError::Runtime)?
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// The report before anything happened.
fn empty_report(options: &ProbeOptions) -> ProbeReport {
    ProbeReport {
        target: options.target.clone(),
        address: None,
        admin: options.admin,
        client_hostname: options.client_hostname.clone(),
        user: options.user.clone(),
        security_protocol: None,
        tls: None,
        phases: Vec::new(),
        license_request: None,
        presented_stored_cal: None,
        licensing: LicensingResult::Incomplete,
        error_info: None,
        after_licensing: AfterLicensing::NotReached,
        store_errors: Vec::new(),
        failure: None,
        total_millis: 0.0,
    }
}

fn connector_config(options: &ProbeOptions) -> ironrdp_connector::Config {
    use ironrdp_pdu::rdp::capability_sets::MajorPlatformType;
    use ironrdp_pdu::rdp::client_info::{PerformanceFlags, TimezoneInfo};
    ironrdp_connector::Config {
        desktop_size: DesktopSize { width: 1024, height: 768 },
        monitor_layout: None,
        desktop_scale_factor: 0,
        desktop_physical_size: None,
        desktop_orientation: None,
        device_scale_factor: None,
        monitor_extended_layout: None,
        relative_mouse_input: false,
        enable_tls: true,
        enable_credssp: false,
        enable_standard_rdp_security: false,
        credentials: Credentials::UsernamePassword { username: options.user.clone(), password: options.password.clone() },
        domain: None,
        client_build: 0,
        client_name: options.client_hostname.chars().take(15).collect(),
        keyboard_type: gcc::KeyboardType::IBM_ENHANCED,
        keyboard_subtype: 0,
        keyboard_functional_keys_count: 12,
        keyboard_layout: 0x409,
        connection_type: gcc::ConnectionType::Lan,
        ime_file_name: String::new(),
        bitmap: None,
        dig_product_id: String::new(),
        client_dir: String::from("C:\\Windows\\System32\\mstscax.dll"),
        alternate_shell: String::new(),
        work_dir: String::new(),
        remote_application_mode: false,
        rail_support_level: ironrdp_pdu::rdp::capability_sets::RailSupportLevel::empty(),
        platform: MajorPlatformType::UNIX,
        hardware_id: None,
        request_data: None,
        autologon: false,
        enable_audio_playback: false,
        enable_audio_capture: false,
        performance_flags: PerformanceFlags::default(),
        license_cache: None,
        timezone_info: TimezoneInfo::default(),
        compression_type: None,
        enable_server_pointer: false,
        pointer_software_rendering: true,
        multitransport_flags: None,
        support_dyn_vc_gfx_protocol: false,
    }
}

async fn resolve(target: &str) -> Result<SocketAddr, ProbeError> {
    let with_port = if target.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
        target.to_owned()
    } else {
        format!("{target}:3389")
    };
    tokio::net::lookup_host(with_port)
        .await
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| ProbeError::Resolve(target.to_owned()))
}

/// TCP connection to `addr` within `options.timeout`, and the local address.
async fn connect_tcp(addr: SocketAddr, options: &ProbeOptions) -> Result<(Framed, SocketAddr), ProbeError> {
    let error = |source| ProbeError::Connect { target: options.target.clone(), source };
    let tcp = match tokio::time::timeout(options.timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(connected) => connected.map_err(error)?,
        Err(_elapsed) => return Err(error(std::io::ErrorKind::TimedOut.into())),
    };
    let local = tcp.local_addr().map_err(error)?;
    Ok((Framed::new(tcp, options.timeout)?, local))
}

async fn run_inner(
    options: &ProbeOptions,
    caller_store: Option<&mut (dyn LicenseStore + Send)>,
    report: &mut ProbeReport,
    timer: &mut Timer,
) -> Result<(), ProbeError> {
    let addr = resolve(&options.target).await?;
    report.address = Some(addr.to_string());
    timer.enter("tcp-connect");
    let (mut framed, local) = connect_tcp(addr, options).await?;

    let mut connector = ClientConnector::new(connector_config(options), local);
    if options.admin {
        connector = connector.with_cluster_data(gcc::ClientClusterData {
            flags: gcc::RedirectionFlags::REDIRECTION_SUPPORTED | gcc::RedirectionFlags::REDIRECTED_SESSION_FIELD_VALID,
            redirection_version: gcc::RedirectionVersion::V4,
            redirected_session_id: 0,
        });
    }
    let server_name = options.target.rsplit_once(':').map_or(options.target.as_str(), |(h, _)| h).to_owned();
    let mut output = WriteBuf::new();
    let (io_channel_id, user_channel_id) = loop {
        timer.enter(phase_of(&connector.state));
        match &connector.state {
            ClientConnectorState::LicensingExchange { io_channel_id, user_channel_id, .. } => {
                break (*io_channel_id, *user_channel_id)
            }
            // With a message channel the connector would read the first licensing PDU itself in this state.
            ClientConnectorState::ConnectTimeAutoDetection { io_channel_id, user_channel_id }
                if connector.message_channel_id.is_some() =>
            {
                break (*io_channel_id, *user_channel_id)
            }
            ClientConnectorState::EnhancedSecurityUpgrade { selected_protocol }
            | ClientConnectorState::BasicSettingsExchangeSendInitial { selected_protocol }
                if report.security_protocol.is_none() =>
            {
                report.security_protocol = Some(protocol_name(*selected_protocol));
            }
            ClientConnectorState::Credssp { .. } => return Err(ProbeError::NlaRequired),
            _ => {}
        }
        if let Some(tls) = advance(&mut connector, &mut framed, &server_name, &mut output).await? {
            report.tls = Some(tls);
        }
    };
    drop(connector);

    timer.enter("licensing");
    let mut memory = MemoryLicenseStore::default();
    let mut dir_store = options.license_dir.as_deref().map(DirLicenseStore::new);
    let store: &mut (dyn LicenseStore + Send) = match (caller_store, &mut dir_store) {
        (Some(caller), _) => caller,
        (None, Some(dir)) => dir,
        (None, None) => &mut memory,
    };
    let config = ClientLicensingConfig::xfreerdp_like(&options.user, &options.client_hostname);
    let mut client_random = [0u8; rdpele::pdu::RANDOM_SIZE];
    let mut premaster = [0u8; rdpele::crypto::PREMASTER_SECRET_SIZE];
    openssl::rand::rand_bytes(&mut client_random).map_err(|e| ProbeError::Connector(e.to_string()))?;
    openssl::rand::rand_bytes(&mut premaster).map_err(|e| ProbeError::Connector(e.to_string()))?;
    let mut licensing = ClientLicensing::new(config, client_random, premaster);

    let result =
        licensing_loop(&mut framed, &mut licensing, store, io_channel_id, user_channel_id, report).await;
    // The loop left only the first PDU's preamble version here; keep a summary only if it was a License Request.
    let first_preamble = report.license_request.take().map(|first| first.preamble_version);
    if let Some(request) = &licensing.server_request {
        report.license_request = Some(summarize_request(request, first_preamble));
    }
    if let Some(store) = &dir_store {
        report.presented_stored_cal = store.presented.clone();
        report.store_errors = store.errors.clone();
        let stored = store.written.first().cloned();
        if let LicensingResult::NewLicense(l) | LicensingResult::UpgradeLicense(l) = &mut report.licensing {
            l.stored_in = stored;
        }
    }
    let after = result?;
    timer.enter("after-licensing");
    report.after_licensing = match after {
        Some(after) => after,
        None => read_after_licensing(&mut framed, report).await?,
    };
    Ok(())
}

/// Connects with IronRDP's own client, licensing included (its `LicenseExchangeSequence`, not rdpele's), through
/// capability exchange and finalization, and returns the final connector state's name ("Connected"). Used to
/// check that clients built on the published IronRDP crates are licensed too. Blocking: see
/// [`connect_with_ironrdp_licensing_async`].
pub fn connect_with_ironrdp_licensing(options: &ProbeOptions) -> Result<&'static str, ProbeError> {
    block_on(connect_with_ironrdp_licensing_async(options))?
}

/// [`connect_with_ironrdp_licensing`], async.
pub async fn connect_with_ironrdp_licensing_async(options: &ProbeOptions) -> Result<&'static str, ProbeError> {
    let addr = resolve(&options.target).await?;
    let (mut framed, local) = connect_tcp(addr, options).await?;
    let mut connector = ClientConnector::new(connector_config(options), local);
    let server_name = options.target.rsplit_once(':').map_or(options.target.as_str(), |(h, _)| h).to_owned();
    let mut output = WriteBuf::new();
    let mut licensing_seen = false;
    loop {
        match &connector.state {
            ClientConnectorState::LicensingExchange { .. } => licensing_seen = true,
            ClientConnectorState::Connected { .. } if licensing_seen => return Ok(connector.state.name()),
            ClientConnectorState::Credssp { .. } => return Err(ProbeError::NlaRequired),
            _ => {}
        }
        advance(&mut connector, &mut framed, &server_name, &mut output).await?;
    }
}

/// One step of IronRDP's connector on the wire: the TLS upgrade when it asks for one (returning the TLS
/// description), otherwise read the PDU it expects (if any), step, and write what it produced.
async fn advance(
    connector: &mut ClientConnector,
    framed: &mut Framed,
    server_name: &str,
    output: &mut WriteBuf,
) -> Result<Option<String>, ProbeError> {
    if connector.should_perform_security_upgrade() {
        let tls = framed.upgrade_to_tls(server_name).await?;
        connector.mark_security_upgrade_as_done();
        return Ok(Some(tls));
    }
    if connector.should_perform_credssp() {
        return Err(ProbeError::NlaRequired);
    }
    output.clear();
    let written = match connector.next_pdu_hint() {
        Some(hint) => {
            let pdu = framed.read_pdu(hint).await?;
            connector.step(&pdu, None, output)
        }
        None => connector.step_no_input(output),
    }
    .map_err(|e| ProbeError::Connector(format!("{e:?}")))?;
    if let Some(size) = written.size() {
        framed.write(&output.filled()[..size]);
    }
    Ok(None)
}

/// One server PDU, classified.
enum ServerPdu {
    Licensing(Vec<u8>),
    SetErrorInfo(u32),
    DemandActive,
    Disconnect,
    /// Anything else (fast-path output, other data PDUs), skipped
    Other,
}

fn classify(frame: &[u8]) -> ServerPdu {
    // Fast-path output: the first byte's action bits are 0 (X.224 starts with TPKT version 3).
    if frame.first().is_some_and(|b| b & 0x3 == 0) {
        return ServerPdu::Other;
    }
    let message = match decode::<X224<McsMessage<'_>>>(frame) {
        Ok(m) => m.0,
        Err(_) => return ServerPdu::Other,
    };
    match message {
        McsMessage::SendDataIndication(indication) => {
            let data = indication.user_data.as_ref();
            let flags = le16(data, 0).unwrap_or(0);
            // A licensing PDU: basic security header with SEC_LICENSE_PKT, then the preamble (type byte and a
            // size matching the rest). A Share Control Header can also have bit 7 in its first u16, so check both.
            if flags & SEC_LICENSE_PKT != 0 && data.len() >= 8 {
                let preamble_size = le16(data, 6).map(usize::from).unwrap_or(0);
                if preamble_size == data.len() - 4 {
                    return ServerPdu::Licensing(data[4..].to_vec());
                }
            }
            classify_share_control(data)
        }
        McsMessage::DisconnectProviderUltimatum(_) => ServerPdu::Disconnect,
        _ => ServerPdu::Other,
    }
}

/// [MS-RDPBCGR 2.2.8.1.1.1.1] Share Control Header, and for data PDUs the Share Data Header.
fn classify_share_control(data: &[u8]) -> ServerPdu {
    let (Some(total), Some(pdu_type)) = (le16(data, 0), le16(data, 2)) else {
        return ServerPdu::Other;
    };
    if usize::from(total) > data.len() {
        return ServerPdu::Other;
    }
    match pdu_type & 0xF {
        PDUTYPE_DEMANDACTIVEPDU => ServerPdu::DemandActive,
        PDUTYPE_DATAPDU => {
            // shareId u32 @6, pad1 @10, streamId @11, uncompressedLength @12, pduType2 @14, ... errorInfo @18
            if data.get(14) == Some(&PDUTYPE2_SET_ERROR_INFO_PDU) {
                if let Some(code) = le32(data, 18) {
                    return ServerPdu::SetErrorInfo(code);
                }
            }
            ServerPdu::Other
        }
        _ => ServerPdu::Other,
    }
}

fn le16(data: &[u8], at: usize) -> Option<u16> {
    data.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]))
}

fn le32(data: &[u8], at: usize) -> Option<u32> {
    data.get(at..at + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn send_licensing(framed: &mut Framed, pdu: &[u8], io: u16, user: u16) -> Result<(), ProbeError> {
    let mut user_data = Vec::with_capacity(pdu.len() + 4);
    user_data.extend_from_slice(&SEC_LICENSE_PKT.to_le_bytes());
    user_data.extend_from_slice(&0u16.to_le_bytes());
    user_data.extend_from_slice(pdu);
    let request = SendDataRequest { initiator_id: user, channel_id: io, user_data: Cow::Owned(user_data) };
    let bytes = encode_vec(&X224(request)).map_err(|e| ProbeError::Connector(e.to_string()))?;
    framed.write(&bytes);
    Ok(())
}

/// Runs licensing; returns `Some(after)` when what follows licensing is already known.
async fn licensing_loop(
    framed: &mut Framed,
    licensing: &mut ClientLicensing,
    store: &mut (dyn LicenseStore + Send),
    io: u16,
    user: u16,
    report: &mut ProbeReport,
) -> Result<Option<AfterLicensing>, ProbeError> {
    let mut seen_licensing_pdu = false;
    loop {
        let frame = match framed.read_pdu(&ironrdp_pdu::RDP_HINT).await {
            Ok(frame) => frame,
            Err(TransportError::Closed) => return Ok(Some(AfterLicensing::Disconnected)),
            Err(e) => return Err(e.into()),
        };
        match classify(&frame) {
            ServerPdu::Licensing(pdu) => {
                seen_licensing_pdu = true;
                if report.license_request.is_none() {
                    // Keep the preamble version of the first PDU (the License Request).
                    report.license_request = Some(LicenseRequestSummary {
                        version: 0,
                        company: String::new(),
                        product_id: String::new(),
                        scopes: Vec::new(),
                        preamble_version: pdu.get(1).map_or(0, |f| f & 0x0F),
                        certificate: String::new(),
                        key_bits: None,
                    });
                }
                match licensing.handle(&pdu, store) {
                    ClientAction::Send(bytes) => send_licensing(framed, &bytes, io, user)?,
                    ClientAction::Finish { pdu, outcome } => {
                        if let Some(bytes) = pdu {
                            send_licensing(framed, &bytes, io, user)?;
                        }
                        report.licensing = match outcome {
                            ClientOutcome::ValidClient => LicensingResult::ValidClient,
                            ClientOutcome::NewLicense(info) => LicensingResult::NewLicense(summarize_license(&info)),
                            ClientOutcome::UpgradedLicense(info) => {
                                LicensingResult::UpgradeLicense(summarize_license(&info))
                            }
                            ClientOutcome::ServerAlert(alert) => LicensingResult::ErrorAlert {
                                error_code: alert.error_code.0,
                                state_transition: alert.state_transition.0,
                            },
                            ClientOutcome::ProtocolError(detail) => LicensingResult::ProtocolError { detail },
                        };
                        return Ok(None);
                    }
                }
            }
            ServerPdu::SetErrorInfo(0) => {}
            ServerPdu::SetErrorInfo(code) => {
                report.error_info = Some(code);
                if !seen_licensing_pdu {
                    report.licensing = LicensingResult::Skipped;
                }
            }
            ServerPdu::DemandActive => {
                if !seen_licensing_pdu {
                    report.licensing = LicensingResult::Skipped;
                }
                return Ok(Some(AfterLicensing::DemandActive));
            }
            ServerPdu::Disconnect => return Ok(Some(AfterLicensing::Disconnected)),
            ServerPdu::Other => {}
        }
    }
}

async fn read_after_licensing(framed: &mut Framed, report: &mut ProbeReport) -> Result<AfterLicensing, ProbeError> {
    for _ in 0..MAX_PDUS_AFTER_LICENSING {
        let frame = match framed.read_pdu(&ironrdp_pdu::RDP_HINT).await {
            Ok(frame) => frame,
            Err(TransportError::Closed) => return Ok(AfterLicensing::Disconnected),
            Err(TransportError::Timeout(_)) => return Ok(AfterLicensing::Timeout),
            Err(e) => return Err(e.into()),
        };
        match classify(&frame) {
            ServerPdu::SetErrorInfo(0) => {}
            ServerPdu::SetErrorInfo(code) => report.error_info = Some(code),
            ServerPdu::DemandActive => return Ok(AfterLicensing::DemandActive),
            ServerPdu::Disconnect => return Ok(AfterLicensing::Disconnected),
            ServerPdu::Licensing(_) => {
                return Err(ProbeError::Unexpected {
                    phase: "after licensing",
                    detail: "another licensing pdu after the exchange ended".into(),
                })
            }
            ServerPdu::Other => {}
        }
    }
    Ok(AfterLicensing::Timeout)
}

fn summarize_request(request: &rdpele::pdu::ServerLicenseRequest, preamble_version: Option<u8>) -> LicenseRequestSummary {
    let (certificate, key_bits) = match rdpele::cert::ServerCertificate::decode(&request.server_certificate.data) {
        _ if request.server_certificate.data.is_empty() => ("none".to_owned(), None),
        Ok(cert) => {
            let kind = match cert {
                rdpele::cert::ServerCertificate::Proprietary { .. } => "proprietary",
                _ => "x509",
            };
            let bits = cert.public_key().ok().map(|k| k.modulus_len() * 8);
            (kind.to_owned(), bits)
        }
        Err(e) => (format!("undecodable ({e})"), None),
    };
    LicenseRequestSummary {
        version: request.product_info.version,
        company: request.product_info.company_name(),
        product_id: request.product_info.product_id(),
        scopes: request.scopes(),
        preamble_version: preamble_version.unwrap_or(0),
        certificate,
        key_bits,
    }
}

fn summarize_license(info: &NewLicenseInfo) -> IssuedLicense {
    let (cal, cal_error) = match rdpele::cal::parse_cal(&info.license_info) {
        Ok(parsed) => (
            Some(CalSummary {
                kind: if parsed.temporary { "temporary" } else { "permanent" },
                not_before: parsed.not_before,
                not_after: parsed.not_after,
                issuer: parsed.issuer.name.clone(),
                issuer_scope: parsed.issuer.scope.clone(),
                product: parsed.product.product_id.clone(),
                company: parsed.product.company.clone(),
                product_version: format!("{}.{}", parsed.product.major, parsed.product.minor),
                client_machine: parsed.client_machine.clone(),
                client_user: parsed.client_user.clone(),
            }),
            None,
        ),
        Err(e) => (None, Some(e.to_string())),
    };
    IssuedLicense {
        version: info.version,
        scope: info.scope(),
        company: rdpele::pdu::from_utf16le(&info.company_name),
        product_id: rdpele::pdu::from_utf16le(&info.product_id),
        size: info.license_info.len(),
        cal,
        cal_error,
        stored_in: None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn indication(user_data: Vec<u8>) -> Vec<u8> {
        let pdu = ironrdp_pdu::mcs::SendDataIndication { initiator_id: 1002, channel_id: 1003, user_data: Cow::Owned(user_data) };
        encode_vec(&X224(pdu)).unwrap()
    }

    #[test]
    fn classifies_licensing_set_error_info_and_demand_active() {
        // Valid-client Error Alert: preamble FF 03 10 00, STATUS_VALID_CLIENT, ST_NO_TRANSITION, empty error blob.
        let alert = hex_bytes("ff031000070000000200000004000000");
        let mut data = vec![0x80, 0x00, 0x00, 0x00];
        data.extend_from_slice(&alert);
        assert!(matches!(classify(&indication(data)), ServerPdu::Licensing(p) if p == alert));

        let mut sei = vec![22, 0, 0x17, 0, 0xeb, 0x03, 0xea, 0x03, 0x01, 0x00, 0, 1, 4, 0, 0x2f, 0, 0, 0];
        sei.extend_from_slice(&0x101u32.to_le_bytes());
        assert!(matches!(classify(&indication(sei)), ServerPdu::SetErrorInfo(0x101)));

        let demand_active = vec![0x10, 0x00, 0x11, 0x00, 0xea, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert!(matches!(classify(&indication(demand_active)), ServerPdu::DemandActive));

        assert!(matches!(classify(&[0x00, 0x05, 1, 2, 3]), ServerPdu::Other));
        assert!(matches!(classify(&[0x03, 0x00, 0x00, 0x05, 9]), ServerPdu::Other));
    }

    /// A listener that accepts one connection and either holds it open without a word or closes it at once.
    fn one_shot_server(hold: bool) -> (String, std::thread::JoinHandle<Option<std::net::TcpStream>>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let target = listener.local_addr().unwrap().to_string();
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            hold.then_some(stream)
        });
        (target, server)
    }

    fn quick(target: &str) -> ProbeOptions {
        ProbeOptions { timeout: Duration::from_millis(300), ..ProbeOptions::new(target) }
    }

    #[test]
    fn a_silent_server_is_a_timeout_and_a_closing_one_is_closed() {
        let (target, server) = one_shot_server(true);
        let report = run(&quick(&target));
        let held = server.join().unwrap();
        let failure = report.failure.as_ref().unwrap();
        assert_eq!(failure.kind, "timeout", "{report:?}");
        assert!(failure.message.contains("300ms"), "{report:?}");
        let phases: Vec<&str> = report.phases.iter().map(|p| p.phase).collect();
        assert_eq!(phases, ["tcp-connect", "connection-initiation"], "{report:?}");
        assert_eq!(report.address.as_deref(), Some(target.as_str()));
        assert!(matches!(report.licensing, LicensingResult::Incomplete));
        drop(held);

        let (target, server) = one_shot_server(false);
        let report = run(&quick(&target));
        server.join().unwrap();
        assert_eq!(report.failure.as_ref().unwrap().kind, "closed", "{report:?}");

        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
        assert_eq!(run(&quick(&free)).failure.unwrap().kind, "connect");
    }

    /// `run_async` on the caller's runtime; `run` and `connect_with_ironrdp_licensing` from inside a runtime (they
    /// drive their own on a thread of their own, instead of panicking).
    #[tokio::test]
    async fn async_probe_and_blocking_wrappers_inside_a_runtime() {
        let (target, server) = one_shot_server(true);
        let report = run_async(&quick(&target)).await;
        assert_eq!(report.failure.as_ref().unwrap().kind, "timeout", "{report:?}");
        drop(server.join().unwrap());

        let (target, server) = one_shot_server(false);
        assert_eq!(run(&quick(&target)).failure.unwrap().kind, "closed");
        server.join().unwrap();

        let (target, server) = one_shot_server(true);
        let error = connect_with_ironrdp_licensing(&quick(&target)).unwrap_err();
        assert_eq!(error.kind(), "timeout", "{error}");
        drop(server.join().unwrap());
    }

    fn hex_bytes(text: &str) -> Vec<u8> {
        (0..text.len() / 2).map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap()).collect()
    }
}
