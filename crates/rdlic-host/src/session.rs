//! One RDP connection: the `ironrdp-acceptor` loop, capture of the client's identity, the licensing phase with
//! `rdpele::server::ServerLicensing` and the host policy, connection finalization, and the status desktop.
//!
//! Flow of one connection:
//! 1. X.224 negotiation (TLS only), TLS accept, MCS Connect Initial — the client name and the console flag
//!    (Client Cluster Data) are read from it —, channel joins, Client Info — user and domain are read from it.
//! 2. Licensing: the acceptor's built-in "valid client" PDU is discarded; [`licensing_phase`] runs instead.
//! 3. Capability exchange and finalization by the acceptor; for rdesktop the server's Synchronize, Cooperate and
//!    Granted Control are sent as soon as the acceptor waits for the Font List (rdesktop waits for them before it
//!    sends its Font List), and the acceptor's own copies are dropped.
//! 4. Active stage: the status desktop as fast-path bitmaps; input is read and ignored; Refresh Rect resends the
//!    frame; Shutdown Request or an MCS disconnect ends the session.

use std::sync::Arc;
use std::time::Duration;

use ironrdp_acceptor::{Acceptor, AcceptorState, DesktopSize};
use ironrdp_connector::Sequence as _;
use ironrdp_core::{decode, WriteBuf};
use ironrdp_pdu::gcc::RedirectionFlags;
use ironrdp_pdu::nego::SecurityProtocol;
use ironrdp_pdu::rdp::capability_sets::{
    Bitmap, BitmapDrawingFlags, CapabilitySet, General, GeneralExtraFlags, Input, InputFlags, MajorPlatformType,
    MinorPlatformType, MultifragmentUpdate, Order, OrderFlags, OrderSupportExFlags, Pointer, VirtualChannel,
    VirtualChannelFlags,
};
use ironrdp_pdu::{mcs, x224::X224, PduHint};
use rdpele::server::{Action, Decision, LicenseToSend, Outcome, PresentedDecision, Refusal, ServerLicensing};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

use crate::authority::{ask_in_order, CalRequest, IssuedCal};
use crate::desktop::{Frame, HEIGHT, WIDTH};
use crate::policy::{self, Admission, CalKind, DecisionInput, PresentedCal, ServerAnswer, Verdict};
use crate::runtime::{AdminGuard, DecisionRecord, Runtime};
use crate::wire::{self, ActiveInput};

/// A deadline far enough to mean "never" (an active session with no idle timeout).
const NEVER: Duration = Duration::from_secs(100 * 365 * 86_400);
/// Largest PDU accepted from a client.
const MAX_PDU: usize = 1 << 20;

/// Errors that end a connection.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum SessionError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("the client closed the connection")]
    Closed,
    #[error("the {0} phase did not finish within its deadline")]
    Timeout(Phase),
    #[error("malformed PDU framing: {0}")]
    Framing(String),
    #[error("connection sequence: {0}")]
    Acceptor(String),
    #[error("tls handshake: {0}")]
    Tls(std::io::Error),
    #[error(transparent)]
    Wire(#[from] wire::WireError),
}

/// The phases of a connection, each with its own deadline (`host.toml` `...TimeoutSecs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Until the X.224 Connection Confirm.
    X224,
    /// The TLS handshake.
    Tls,
    /// MCS Connect Initial to Client Info.
    Connect,
    /// The licensing exchange.
    Licensing,
    /// Capability exchange and finalization.
    Finalization,
    /// The active session, between two client PDUs (the idle timeout).
    Active,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::X224 => "X.224",
            Self::Tls => "TLS handshake",
            Self::Connect => "connection sequence",
            Self::Licensing => "licensing",
            Self::Finalization => "finalization",
            Self::Active => "active session (idle)",
        })
    }
}

/// A password that never appears in `Debug` output or logs.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Secret(pub(crate) String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "<redacted>" })
    }
}

/// What the host learned about the client before licensing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ClientFacts {
    /// clientName of the Client Core Data.
    pub client_name: String,
    /// clientBuild of the Client Core Data.
    pub client_build: u32,
    /// REDIRECTED_SESSIONID_FIELD_VALID with RedirectedSessionID 0 in Client Cluster Data.
    pub console: bool,
    /// User name of the Client Info PDU.
    pub user: String,
    /// Domain of the Client Info PDU.
    pub domain: String,
    /// Password of the Client Info PDU (sent inside TLS), checked against the admin account, then dropped.
    pub password: Secret,
}

impl ClientFacts {
    fn observe(&mut self, state: &str, pdu: &[u8]) {
        match state {
            "BasicSettingsWaitInitial" => {
                let Ok(X224(data)) = decode::<X224<ironrdp_pdu::x224::X224Data<'_>>>(pdu) else { return };
                let Ok(initial) = decode::<mcs::ConnectInitial>(data.data.as_ref()) else { return };
                let blocks = initial.conference_create_request.into_gcc_blocks();
                self.client_name = blocks.core.client_name.trim_end_matches('\0').to_owned();
                self.client_build = blocks.core.client_build;
                self.console = blocks.cluster.is_some_and(|c| {
                    c.flags.contains(RedirectionFlags::REDIRECTED_SESSION_FIELD_VALID) && c.redirected_session_id == 0
                });
            }
            "SecureSettingsExchange" => {
                let Ok(X224(data)) = decode::<X224<mcs::SendDataRequest<'_>>>(pdu) else { return };
                let Ok(info) = decode::<ironrdp_pdu::rdp::ClientInfoPdu>(data.user_data.as_ref()) else { return };
                self.user = info.client_info.credentials.username.clone();
                self.domain = info.client_info.credentials.domain.clone().unwrap_or_default();
                self.password = Secret(info.client_info.credentials.password.clone());
            }
            _ => {}
        }
    }

    fn qualified_user(&self) -> String {
        if self.domain.is_empty() {
            self.user.clone()
        } else {
            format!("{}\\{}", self.domain, self.user)
        }
    }
}

/// A PDU reader over any byte stream: X.224 (TPKT) and fast-path framing.
///
/// Writes are buffered until [`Framed::flush`] (or the next read): the PDUs of one flight leave in one TLS record
/// and one system call, as they would from a Windows host, instead of one each.
#[derive(Debug)]
struct Framed<S> {
    stream: S,
    buf: Vec<u8>,
    out: Vec<u8>,
    /// Reads and writes of the current phase must finish by then.
    deadline: tokio::time::Instant,
    phase: Phase,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Framed<S> {
    fn new(stream: S, phase: Phase, limit: Duration) -> Self {
        Self {
            stream,
            buf: Vec::with_capacity(16 * 1024),
            out: Vec::with_capacity(4 * 1024),
            deadline: tokio::time::Instant::now() + limit,
            phase,
        }
    }

    /// Starts a phase: its reads and writes must finish within `limit` from now.
    fn enter(&mut self, phase: Phase, limit: Duration) {
        self.phase = phase;
        self.deadline = tokio::time::Instant::now() + limit;
    }

    /// Reads one PDU; with a hint, PDUs the hint does not match are skipped (as `ironrdp-async` does).
    async fn read_pdu(&mut self, hint: Option<&dyn PduHint>) -> Result<Vec<u8>, SessionError> {
        // Whatever the peer is to answer must have left first.
        self.flush().await?;
        loop {
            let found = match hint {
                Some(hint) => hint.find_size(&self.buf).map_err(|e| SessionError::Framing(e.to_string()))?,
                None => ironrdp_pdu::find_size(&self.buf)
                    .map_err(|e| SessionError::Framing(e.to_string()))?
                    .map(|info| (true, info.length)),
            };
            if let Some((matched, length)) = found {
                if length == 0 || length > MAX_PDU {
                    return Err(SessionError::Framing(format!("PDU length {length}")));
                }
                if self.buf.len() >= length {
                    let pdu: Vec<u8> = self.buf.drain(..length).collect();
                    if matched {
                        return Ok(pdu);
                    }
                    tracing::debug!(length, "skipped a PDU the connection sequence does not expect");
                    continue;
                }
            }
            // Straight into the buffer's spare capacity: no zeroed chunk per read, no copy.
            self.buf.reserve(16 * 1024);
            let n = match tokio::time::timeout_at(self.deadline, self.stream.read_buf(&mut self.buf)).await {
                Ok(result) => result?,
                Err(_) => return Err(SessionError::Timeout(self.phase)),
            };
            if n == 0 {
                return Err(SessionError::Closed);
            }
        }
    }

    /// Queues `bytes`; they leave at the next flush or read.
    fn write(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    /// Sends what was queued; a client that stops reading cannot hold the host past the phase's deadline.
    async fn flush(&mut self) -> Result<(), SessionError> {
        let deadline = self.deadline;
        let phase = self.phase;
        let send = async {
            if !self.out.is_empty() {
                self.stream.write_all(&self.out).await?;
                self.out.clear();
            }
            self.stream.flush().await
        };
        match tokio::time::timeout_at(deadline, send).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(SessionError::Timeout(phase)),
        }
    }
}

/// Server capability sets of the Demand Active.
fn capabilities() -> Vec<CapabilitySet> {
    // No drawing order is marked as supported: the host sends bitmaps only.
    let order = Order::new(OrderFlags::NEGOTIATE_ORDER_SUPPORT | OrderFlags::ZERO_BOUNDS_DELTAS_SUPPORT, OrderSupportExFlags::empty(), 0, 0);
    vec![
        CapabilitySet::General(General {
            major_platform_type: MajorPlatformType::UNIX,
            minor_platform_type: MinorPlatformType::UNSPECIFIED,
            protocol_version: 0x0200,
            extra_flags: GeneralExtraFlags::FASTPATH_OUTPUT_SUPPORTED | GeneralExtraFlags::NO_BITMAP_COMPRESSION_HDR,
            refresh_rect_support: true,
            suppress_output_support: true,
        }),
        CapabilitySet::Bitmap(Bitmap {
            pref_bits_per_pix: 32,
            desktop_width: WIDTH,
            desktop_height: HEIGHT,
            desktop_resize_flag: false,
            drawing_flags: BitmapDrawingFlags::empty(),
        }),
        CapabilitySet::Order(order),
        CapabilitySet::Pointer(Pointer { color_pointer_cache_size: 0, pointer_cache_size: 0 }),
        CapabilitySet::Input(Input {
            input_flags: InputFlags::SCANCODES | InputFlags::MOUSEX | InputFlags::FASTPATH_INPUT | InputFlags::UNICODE,
            keyboard_layout: 0,
            keyboard_type: None,
            keyboard_subtype: 0,
            keyboard_function_key: 0,
            keyboard_ime_filename: String::new(),
        }),
        CapabilitySet::VirtualChannel(VirtualChannel { flags: VirtualChannelFlags::NO_COMPRESSION, chunk_size: None }),
        CapabilitySet::MultiFragmentUpdate(MultifragmentUpdate { max_request_size: 8 * 1024 * 1024 }),
    ]
}

/// Serves one TCP connection to its end, or until the connection table sheds it (the table was full and this
/// connection was the oldest one not yet past licensing).
pub(crate) async fn serve(
    runtime: Arc<Runtime>,
    tcp: tokio::net::TcpStream,
    peer: std::net::SocketAddr,
    ticket: rdlic_api::listen::ConnectionTicket,
) {
    let _ = tcp.set_nodelay(true);
    // Every client PDU is answered at once: the acknowledgement rides on the answer. Linux would otherwise
    // acknowledge the first segments of a connection on their own (quick-ack mode), one packet each way more.
    #[cfg(target_os = "linux")]
    let _ = tcp.set_quickack(false);
    let result = tokio::select! {
        r = run(&runtime, tcp, &ticket) => r,
        () = ticket.shed() => {
            tracing::debug!(%peer, "connection shed: the connection cap was reached and it was the oldest not yet licensed");
            return;
        }
    };
    if let Err(SessionError::Timeout(phase)) = &result {
        use rdlic_api::listen::ListenerEvent;
        runtime.connections.count(match phase {
            Phase::Tls => ListenerEvent::HandshakeTimeout,
            Phase::Active => ListenerEvent::IdleTimeout,
            _ => ListenerEvent::PhaseTimeout,
        });
    }
    match result {
        Ok(()) => tracing::debug!(%peer, "connection ended"),
        Err(SessionError::Timeout(phase)) => tracing::debug!(%peer, %phase, "deadline passed: connection closed"),
        Err(SessionError::Closed) => tracing::debug!(%peer, "client closed the connection"),
        Err(SessionError::Io(error))
            if matches!(
                error.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::UnexpectedEof
            ) =>
        {
            tracing::debug!(%peer, %error, "client went away");
        }
        Err(error) => tracing::info!(%peer, %error, "connection ended with an error"),
    }
}

async fn run(
    runtime: &Arc<Runtime>,
    tcp: tokio::net::TcpStream,
    ticket: &rdlic_api::listen::ConnectionTicket,
) -> Result<(), SessionError> {
    let timeouts = runtime.timeouts;
    let mut acceptor = Acceptor::new(
        SecurityProtocol::SSL,
        DesktopSize { width: WIDTH, height: HEIGHT },
        capabilities(),
        None,
    );
    let mut facts = ClientFacts::default();
    let mut finalization = EarlyFinalization::default();

    // Phase 1: X.224 negotiation in clear.
    let mut plain = Framed::new(tcp, Phase::X224, timeouts.x224);
    while acceptor.reached_security_upgrade().is_none() {
        step(&mut plain, &mut acceptor, &mut facts, &mut finalization).await?;
    }
    if !plain.buf.is_empty() {
        return Err(SessionError::Framing("client sent data before the TLS handshake".into()));
    }
    let tls = tokio::time::timeout(timeouts.tls, runtime.tls.accept(plain.stream))
        .await
        .map_err(|_| SessionError::Timeout(Phase::Tls))?
        .map_err(SessionError::Tls)?;
    acceptor.mark_security_upgrade_as_done();
    let mut framed = Framed::new(tls, Phase::Connect, timeouts.connect);

    // Phase 2: the rest of the connection sequence, with our licensing phase.
    let mut licensing: Option<LicensingResult> = None;
    loop {
        if acceptor.state().is_terminal() {
            break;
        }
        if acceptor.state().name() == "LicensingExchange" && licensing.is_none() {
            // The acceptor's own STATUS_VALID_CLIENT goes to a scratch buffer and is dropped.
            let mut scratch = WriteBuf::new();
            acceptor.step(&[], None, &mut scratch).map_err(|e| SessionError::Acceptor(e.to_string()))?;
            framed.enter(Phase::Licensing, timeouts.licensing);
            let result = licensing_phase(runtime, &mut framed, &facts).await?;
            if let Some(refusal) = &result.refusal {
                send_refusal(&mut framed, refusal).await?;
                let _ = framed.stream.shutdown().await;
                return Ok(());
            }
            // Past licensing: a real client, never shed to make room for new connections.
            ticket.authenticated();
            licensing = Some(result);
            framed.enter(Phase::Finalization, timeouts.connect);
            continue;
        }
        step(&mut framed, &mut acceptor, &mut facts, &mut finalization).await?;
    }
    let Some(licensing) = licensing else {
        return Err(SessionError::Acceptor("connection accepted without a licensing phase".into()));
    };
    let _ = acceptor.get_result();

    active_stage(runtime, &mut framed, &facts, licensing).await
}

/// Ends a refused connection: Set Error Info first — xfreerdp aborts at an Error Alert with ST_TOTAL_ABORT
/// without reading further, so the ERRINFO code must already be there for it to name the cause —, then the
/// licensing Error Alert, then an MCS Disconnect Provider Ultimatum (rdesktop waits for it).
async fn send_refusal<S: AsyncRead + AsyncWrite + Unpin>(framed: &mut Framed<S>, refusal: &RefusalInfo) -> Result<(), SessionError> {
    framed.write(&wire::set_error_info(refusal.errinfo)?);
    if let Some(alert) = &refusal.alert {
        framed.write(&wire::wrap_licensing_pdu(alert)?);
    }
    framed.write(&wire::disconnect_provider_ultimatum()?);
    framed.flush().await
}

/// The rdesktop finalization workaround's state.
#[derive(Debug, Default)]
struct EarlyFinalization {
    sent: bool,
}

fn finalization_substate(acceptor: &Acceptor) -> Option<&'static str> {
    match acceptor.state().as_any().downcast_ref::<AcceptorState>() {
        Some(AcceptorState::ConnectionFinalization { finalization, .. }) => Some(finalization.state().name()),
        _ => None,
    }
}

/// Runs one acceptor step: reads a PDU when the acceptor wants one, writes what it produced.
async fn step<S: AsyncRead + AsyncWrite + Unpin>(
    framed: &mut Framed<S>,
    acceptor: &mut Acceptor,
    facts: &mut ClientFacts,
    finalization: &mut EarlyFinalization,
) -> Result<(), SessionError> {
    let substate = finalization_substate(acceptor);
    if substate == Some("WaitFontList") && !finalization.sent {
        for pdu in wire::early_finalization_pdus()? {
            framed.write(&pdu);
        }
        framed.flush().await?;
        finalization.sent = true;
    }
    let state_name = acceptor.state().name();
    let input = match acceptor.next_pdu_hint() {
        Some(hint) => {
            let pdu = framed.read_pdu(Some(hint)).await?;
            facts.observe(state_name, &pdu);
            pdu
        }
        None => Vec::new(),
    };
    let mut out = WriteBuf::new();
    let written = acceptor.step(&input, None, &mut out).map_err(|e| SessionError::Acceptor(e.to_string()))?;
    let duplicate = finalization.sent
        && matches!(substate, Some("SendSynchronizeConfirm" | "SendControlCooperateConfirm" | "SendGrantedControlConfirm"));
    if let Some(size) = written.size() {
        if !duplicate {
            framed.write(&out.filled()[..size]);
            // The Demand Active waits for the Monitor Layout that the acceptor sends next without an answer in
            // between: both leave in one write. (Every other PDU is flushed at once: the X.224 Connection Confirm,
            // for one, must be on the wire before the TLS handshake that the acceptor's state does not announce.)
            if acceptor.state().name() != "MonitorLayoutSend" {
                framed.flush().await?;
            }
        }
    }
    Ok(())
}

/// How licensing ended for this connection.
#[derive(Debug)]
struct LicensingResult {
    /// Text for the status desktop.
    summary: String,
    /// When set: send Set Error Info with this code and disconnect.
    refusal: Option<RefusalInfo>,
    /// Holds an administrative slot for the life of the session.
    _admin: Option<AdminGuard>,
}

#[derive(Debug)]
struct RefusalInfo {
    errinfo: u32,
    /// The licensing Error Alert (ST_TOTAL_ABORT) to send after the Set Error Info PDU.
    alert: Option<Vec<u8>>,
}

async fn licensing_phase<S: AsyncRead + AsyncWrite + Unpin>(
    runtime: &Arc<Runtime>,
    framed: &mut Framed<S>,
    facts: &ClientFacts,
) -> Result<LicensingResult, SessionError> {
    let now = runtime.clock.now();
    // Only a `/admin` connection (or any, in remote-administration mode) needs the admin account checked.
    let credentials = if facts.console || !runtime.config.session_host_role() {
        runtime.admin_credentials(&facts.domain, &facts.user, &facts.password.0).await
    } else {
        crate::policy::AdminCredentials::NotConfigured
    };
    if facts.console && runtime.config.session_host_role() && credentials != crate::policy::AdminCredentials::Valid {
        tracing::warn!(
            client = %facts.client_name,
            user = %facts.qualified_user(),
            "console (/admin) connection without the admin account's credentials (host.toml AdminUser): licensed as a normal connection"
        );
    }
    let (admission, guard) = runtime.admit(facts.console, credentials);
    let mode = runtime.mode;
    let base = DecisionRecord {
        client: facts.client_name.clone(),
        user: facts.qualified_user(),
        hardware_id: String::new(),
        mode: if runtime.config.session_host_role() { mode.name() } else { "remote-administration" },
        decision: String::new(),
        reason: String::new(),
        license_server: None,
        attempts: Vec::new(),
        events: Vec::new(),
    };
    match admission {
        Admission::Administrative => {
            // Leaves with the Demand Active that follows.
            framed.write(&wire::wrap_licensing_pdu(&rdpele::server::valid_client_pdu())?);
            let reason = if runtime.config.session_host_role() {
                "console (/admin) connection: no licensing"
            } else {
                "RD Session Host role not installed: remote administration, no licensing"
            };
            let events = if runtime.config.session_host_role() { vec![] } else { vec![policy::event_id::ROLE_NOT_INSTALLED] };
            runtime.record(DecisionRecord { decision: "administrative".into(), reason: reason.into(), events, ..base });
            return Ok(LicensingResult { summary: "ADMINISTRATIVE SESSION (NO CAL NEEDED)".into(), refusal: None, _admin: guard });
        }
        Admission::Refused(refusal) => {
            runtime.record(DecisionRecord { decision: "refused".into(), reason: refusal.reason().into(), ..base });
            return Ok(LicensingResult {
                summary: String::new(),
                refusal: Some(RefusalInfo { errinfo: refusal.errinfo(), alert: None }),
                _admin: None,
            });
        }
        Admission::Licensed => {}
    }

    let mut random = [0u8; 32];
    let mut challenge = [0u8; rdpele::server::CHALLENGE_SIZE];
    if openssl::rand::rand_bytes(&mut random).is_err() || openssl::rand::rand_bytes(&mut challenge).is_err() {
        return Err(SessionError::Acceptor("no random bytes from the system".into()));
    }
    let mut exchange = ServerLicensing::new(runtime.licensing.clone(), random, challenge);
    let first = exchange.start();
    framed.write(&wire::wrap_licensing_pdu(&first)?);
    framed.flush().await?;

    let mut presented: Option<(Vec<u8>, PresentedCal)> = None;
    let mut record = base;
    let mut summary = String::new();
    let mut action = next_client_action(framed, &mut exchange).await?;
    loop {
        action = match action {
            Action::Send(pdu) => {
                framed.write(&wire::wrap_licensing_pdu(&pdu)?);
                framed.flush().await?;
                next_client_action(framed, &mut exchange).await?
            }
            Action::DecidePresentedLicense(request) => {
                let hwid = request.hardware_id.to_bytes();
                record.hardware_id = hex::encode(hwid);
                let cal = request.presented_license.clone().unwrap_or_default();
                let mut checked = runtime.verifier.check(&cal, &hwid, now);
                if checked == PresentedCal::Invalid(crate::policy::InvalidCal::Untrusted) && runtime.verifier.refresh().await {
                    // Signed by a chain the host did not know at start (a re-keyed or newly reachable server).
                    checked = runtime.verifier.check(&cal, &hwid, now);
                }
                presented = Some((cal, checked));
                match policy::license_server_needed(mode, checked, now) {
                    Some(_) => exchange.decide_presented(PresentedDecision::Challenge),
                    None => {
                        let decision = policy::decide(&DecisionInput {
                            mode,
                            grace: runtime.grace_status(now),
                            presented: checked,
                            answer: ServerAnswer::NotAsked,
                            now,
                        });
                        summary = describe(&decision.verdict, checked, None, runtime, now);
                        record.decision = verdict_name(&decision.verdict);
                        record.reason = decision.reason.into();
                        record.events = decision.events.clone();
                        match decision.verdict {
                            Verdict::Refuse { error_code, errinfo } => exchange.decide_presented(PresentedDecision::Refuse(Refusal {
                                error_code: rdpele::pdu::ErrorCode(error_code),
                                error_info: rdpele::server::ErrorInfo(errinfo),
                            })),
                            _ => exchange.decide_presented(PresentedDecision::ValidClient),
                        }
                    }
                }
            }
            Action::Decide(request) => {
                let hwid = request.hardware_id.to_bytes();
                record.hardware_id = hex::encode(hwid);
                let checked = presented.as_ref().map_or(PresentedCal::None, |(_, c)| *c);
                let cal_request = CalRequest {
                    client_name: facts.client_name.clone(),
                    user_name: if request.user_name.is_empty() { facts.user.clone() } else { request.user_name.clone() },
                    domain: facts.domain.clone(),
                    machine_name: if request.machine_name.is_empty() { facts.client_name.clone() } else { request.machine_name.clone() },
                    hardware_id: hwid,
                    platform_id: request.platform_id.0,
                    presented_cal: presented.as_ref().map(|(c, _)| c.clone()),
                    now,
                    request_id: None,
                };
                let (answer, issued) = match policy::license_server_needed(mode, checked, now) {
                    None => (ServerAnswer::NotAsked, None),
                    Some(what) => {
                        let asked = ask_in_order(&runtime.servers, what, &cal_request, runtime.server_timeout).await;
                        for attempt in &asked.attempts {
                            tracing::info!(license_server = %attempt.server, result = %attempt.result, "license server attempt");
                            record.attempts.push(format!("{}: {}", attempt.server, attempt.result));
                        }
                        (asked.answer, asked.cal)
                    }
                };
                record.license_server = answer.server().map(str::to_owned);
                let decision = policy::decide(&DecisionInput { mode, grace: runtime.grace_status(now), presented: checked, answer, now });
                if decision.ends_grace {
                    runtime.end_grace(now);
                }
                summary = describe(&decision.verdict, checked, issued.as_ref(), runtime, now);
                record.decision = verdict_name(&decision.verdict);
                record.reason = decision.reason.into();
                record.events = decision.events.clone();
                let to_rdpele = match (decision.verdict, issued, presented.as_ref()) {
                    (Verdict::SendNewCal(_), Some(cal), _) => Decision::IssueNew(LicenseToSend { cal: cal.cal }),
                    (Verdict::SendUpgradedCal(_), Some(cal), _) => Decision::Upgrade(LicenseToSend { cal: cal.cal }),
                    (Verdict::ResendPresentedCal, _, Some((old, _))) => Decision::Upgrade(LicenseToSend { cal: old.clone() }),
                    (Verdict::Refuse { error_code, errinfo }, _, _) => Decision::Refuse(Refusal {
                        error_code: rdpele::pdu::ErrorCode(error_code),
                        error_info: rdpele::server::ErrorInfo(errinfo),
                    }),
                    _ => Decision::ValidClient,
                };
                exchange.decide(to_rdpele)
            }
            Action::Finish { pdu, outcome } => {
                let admitted = outcome.admits_client();
                if let (true, Some(pdu)) = (admitted, &pdu) {
                    // Leaves with the Demand Active that follows (one record, one system call).
                    framed.write(&wire::wrap_licensing_pdu(pdu)?);
                }
                if record.decision.is_empty() {
                    record.decision = "protocol-error".into();
                    record.reason = match &outcome {
                        Outcome::ProtocolError { detail, .. } => format!("licensing protocol error: {detail}"),
                        Outcome::ClientAlert(alert) => format!("client ended licensing: {alert:?}"),
                        other => format!("{other:?}"),
                    };
                }
                let refusal = if admitted {
                    None
                } else {
                    let errinfo = outcome.error_info().map_or(policy::errinfo::LICENSE_INTERNAL, |e| e.0);
                    Some(RefusalInfo { errinfo, alert: pdu })
                };
                runtime.record(record);
                return Ok(LicensingResult { summary, refusal, _admin: None });
            }
        };
    }
}

async fn next_client_action<S: AsyncRead + AsyncWrite + Unpin>(
    framed: &mut Framed<S>,
    exchange: &mut ServerLicensing,
) -> Result<Action, SessionError> {
    loop {
        let frame = framed.read_pdu(None).await?;
        match wire::unwrap_licensing_pdu(&frame) {
            Ok(pdu) => return Ok(exchange.handle(&pdu)),
            Err(wire::WireError::ClientDisconnected) => return Err(SessionError::Closed),
            Err(error) => tracing::debug!(%error, "ignored a non-licensing PDU during licensing"),
        }
    }
}

fn verdict_name(verdict: &Verdict) -> String {
    match verdict {
        Verdict::SendNewCal(kind) => format!("issue-new {kind:?}").to_lowercase(),
        Verdict::SendUpgradedCal(kind) => format!("upgrade {kind:?}").to_lowercase(),
        Verdict::ResendPresentedCal => "resend-presented".into(),
        Verdict::ValidClient => "valid-client".into(),
        Verdict::Refuse { error_code, errinfo } => format!("refuse error_code={error_code:#x} errinfo={errinfo:#x}"),
    }
}

fn describe(verdict: &Verdict, presented: PresentedCal, issued: Option<&IssuedCal>, runtime: &Runtime, now: u64) -> String {
    let kind_name = |k: CalKind| match k {
        CalKind::Temporary => "TEMPORARY",
        CalKind::Permanent => "PERMANENT",
    };
    match (verdict, issued, presented) {
        (Verdict::SendNewCal(_) | Verdict::SendUpgradedCal(_), Some(cal), _) => {
            format!("{} PER-DEVICE CAL, EXPIRES {}", kind_name(cal.kind), date(cal.expires_at))
        }
        (Verdict::ResendPresentedCal, _, PresentedCal::Valid { kind, expires_at })
        | (Verdict::ValidClient, _, PresentedCal::Valid { kind, expires_at }) => {
            format!("{} PER-DEVICE CAL, EXPIRES {}", kind_name(kind), date(expires_at))
        }
        (Verdict::ValidClient, _, _) if runtime.mode == crate::config::LicensingMode::PerUser
            && !runtime.grace_status(now).is_running() =>
        {
            "PER-USER CAL CHECKED OUT".into()
        }
        (Verdict::ValidClient, _, _) => {
            format!("GRACE PERIOD, {} DAYS LEFT", runtime.grace_status(now).days_left())
        }
        _ => String::new(),
    }
}

/// `YYYY-MM-DD` (UTC) of Unix seconds.
pub(crate) fn date(unix: u64) -> String {
    let (year, month, day) = rdpele::der::civil_from_days(i64::try_from(unix / 86_400).unwrap_or(0));
    format!("{year:04}-{month:02}-{day:02}")
}

async fn active_stage<S: AsyncRead + AsyncWrite + Unpin>(
    runtime: &Arc<Runtime>,
    framed: &mut Framed<S>,
    facts: &ClientFacts,
    licensing: LicensingResult,
) -> Result<(), SessionError> {
    let _active = runtime.session_started();
    let user = if facts.user.is_empty() { "(none)".to_owned() } else { facts.qualified_user() };
    let lines = vec![
        format!("HOST: {}", runtime.host_name),
        format!("USER: {user}"),
        format!("CLIENT: {}", facts.client_name),
        format!("LICENSING: {}", licensing.summary),
        format!("MODE: {}", runtime.mode.name()),
    ];
    let frame = Frame::status("RDLIC SESSION HOST", &lines);
    let updates = frame.fast_path_updates();
    // Administrative sessions hold one of the 2 slots: they have their own, shorter, idle timeout.
    let idle = if licensing._admin.is_some() { runtime.timeouts.admin_idle } else { runtime.timeouts.idle }.unwrap_or(NEVER);
    framed.enter(Phase::Active, idle);
    send_frame(framed, &updates).await?;
    loop {
        // The idle timeout counts from the client's last PDU (input, refresh, ...).
        framed.enter(Phase::Active, idle);
        let pdu = match framed.read_pdu(None).await {
            Ok(pdu) => pdu,
            Err(SessionError::Closed) => return Ok(()),
            Err(SessionError::Timeout(phase)) => {
                tracing::info!(client = %facts.client_name, user = %user, ?idle, "idle session ended");
                framed.write(&wire::set_error_info(wire::ERRINFO_IDLE_TIMEOUT)?);
                framed.write(&wire::disconnect_provider_ultimatum()?);
                framed.enter(Phase::Active, Duration::from_secs(5));
                let _ = framed.flush().await;
                let _ = framed.stream.shutdown().await;
                return Err(SessionError::Timeout(phase));
            }
            Err(e) => return Err(e),
        };
        match wire::classify_active_pdu(&pdu) {
            ActiveInput::Ignored => {}
            ActiveInput::RefreshRect => send_frame(framed, &updates).await?,
            ActiveInput::Disconnect => {
                framed.write(&wire::disconnect_provider_ultimatum()?);
                let _ = framed.flush().await;
                let _ = framed.stream.shutdown().await;
                return Ok(());
            }
        }
    }
}

async fn send_frame<S: AsyncRead + AsyncWrite + Unpin>(framed: &mut Framed<S>, updates: &[Vec<u8>]) -> Result<(), SessionError> {
    for update in updates {
        framed.write(update);
    }
    framed.flush().await
}

#[cfg(test)]
mod harness;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(951_782_400), "2000-02-29");
        assert_eq!(date(1_780_000_000), "2026-05-28");
    }
}
