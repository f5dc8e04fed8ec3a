//! "Ask a license server": the [`LicenseAuthority`] trait, the failover walk over `SpecifiedLicenseServers`
//! ([`ask_in_order`]), an in-process authority ([`LocalAuthority`]) and local validation of presented CALs
//! ([`CalVerifier`]).
//!
//! The real license server (HTTPS API of `rdlic server`) is one more implementation of [`LicenseAuthority`]; a
//! name in `SpecifiedLicenseServers` that no authority was registered for is [`UnreachableAuthority`]: the host
//! logs it as "cannot contact" (event 1131), as Windows does for a server that does not answer.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use rdpele::cal::{
    build_cal, parse_cal, CalError, CalSpec, LicenseServerCertSpec, LicenseServerIdentity, LicenseServerInfo,
    ProductLicense,
};
use rdpele::x509::{RsaPublicKey, SignatureAlgorithm};

use crate::policy::{CalKind, InvalidCal, PresentedCal, ServerAnswer, ServerRequest};

/// A boxed future, so that authorities can be trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

const DAY: u64 = 86_400;
/// Temporary per-device CAL validity (Windows: 90 days).
pub const TEMPORARY_CAL_DAYS: u64 = 90;

/// What the host tells a license server about the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalRequest {
    /// Client name from GCC core data.
    pub client_name: String,
    /// ClientUserName of the New License Request, or the Client Info user name.
    pub user_name: String,
    /// Domain from Client Info.
    pub domain: String,
    /// ClientMachineName of the New License Request.
    pub machine_name: String,
    /// The 20-byte CLIENT_HARDWARE_ID.
    pub hardware_id: [u8; 20],
    /// PlatformId of the request.
    pub platform_id: u32,
    /// The CAL the client presented, for upgrades and renewals.
    pub presented_cal: Option<Vec<u8>>,
    /// Now (Unix seconds, host clock).
    pub now: u64,
    /// The id of this licensing attempt, sent to every server the attempt goes to (the license server records
    /// which CAL it got, so a retry after a server died never takes a second one). [`ask_in_order`] makes one when
    /// it is `None`.
    pub request_id: Option<String>,
}

/// A CAL handed out by a license server.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedCal {
    /// pbLicenseInfo.
    pub cal: Vec<u8>,
    /// Temporary or permanent.
    pub kind: CalKind,
    /// Expiry, Unix seconds.
    pub expires_at: u64,
}

impl fmt::Debug for IssuedCal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCal")
            .field("cal_len", &self.cal.len())
            .field("kind", &self.kind)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A license server's failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorityError {
    /// Network, TLS, timeout: try the next server.
    #[error("cannot contact the license server: {0}")]
    Unreachable(String),
    /// The server answered but has nothing to give.
    #[error("the license server cannot issue: {0}")]
    CannotIssue(String),
}

/// A license server as the host sees it.
pub trait LicenseAuthority: Send + Sync + fmt::Debug {
    /// The name as written in `SpecifiedLicenseServers`.
    fn name(&self) -> &str;
    /// Issue a per-device CAL to a new device (temporary first, as Windows does).
    fn issue_device<'a>(&'a self, request: &'a CalRequest) -> BoxFuture<'a, Result<IssuedCal, AuthorityError>>;
    /// Upgrade a temporary CAL to permanent, or renew a permanent one.
    fn upgrade_device<'a>(&'a self, request: &'a CalRequest) -> BoxFuture<'a, Result<IssuedCal, AuthorityError>>;
    /// Check out (track) a per-user CAL.
    fn checkout_user<'a>(&'a self, request: &'a CalRequest) -> BoxFuture<'a, Result<(), AuthorityError>>;
}

/// The outcome of one server in the failover walk, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAttempt {
    /// Server name.
    pub server: String,
    /// "issued", "checked out", or the error.
    pub result: String,
}

/// The failover walk's result: the policy's view, the CAL if one was issued, and every attempt.
#[derive(Debug)]
pub struct AskResult {
    /// For [`crate::policy::decide`].
    pub answer: ServerAnswer,
    /// The CAL, when `answer` is `Issued`.
    pub cal: Option<IssuedCal>,
    /// One entry per server tried.
    pub attempts: Vec<ServerAttempt>,
}

/// The first back-off of a license server that could not be reached.
pub const BACKOFF_FIRST: Duration = Duration::from_secs(5);
/// The longest back-off (it doubles at each failure in a row up to this).
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// License servers that could not be reached lately, by their `SpecifiedLicenseServers` name (one table per
/// process): a server is skipped while its back-off runs (5 s, doubling to 30 s at each failure in a row), and
/// asked again first, in its configured place, once the back-off ended (fail-back). A server that answers is
/// forgotten at once.
#[derive(Debug, Default)]
pub struct ServerHealth {
    down: Mutex<HashMap<String, (u32, std::time::Instant)>>,
}

impl ServerHealth {
    /// The process-wide table [`ask_in_order`] uses.
    pub fn global() -> &'static Self {
        static HEALTH: std::sync::OnceLock<ServerHealth> = std::sync::OnceLock::new();
        HEALTH.get_or_init(Self::default)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u32, std::time::Instant)>> {
        self.down.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `name` is in its back-off now.
    pub fn backing_off(&self, name: &str) -> bool {
        self.lock().get(name).is_some_and(|(_, until)| std::time::Instant::now() < *until)
    }

    /// Records a failure to reach `name`; returns its back-off.
    pub fn failed(&self, name: &str) -> Duration {
        let mut down = self.lock();
        let failures = down.get(name).map_or(0, |(n, _)| *n).saturating_add(1);
        let backoff = BACKOFF_FIRST.saturating_mul(1u32 << (failures - 1).min(5)).min(BACKOFF_MAX);
        down.insert(name.to_owned(), (failures, std::time::Instant::now() + backoff));
        backoff
    }

    /// Records an answer from `name`.
    pub fn answered(&self, name: &str) {
        self.lock().remove(name);
    }

    /// `servers` in the order to ask them: those not backing off in their configured order, then those backing
    /// off (a last resort: when every server seems down, each is still asked once).
    pub fn order<'a>(&self, servers: &'a [Arc<dyn LicenseAuthority>]) -> Vec<&'a Arc<dyn LicenseAuthority>> {
        let (mut up, down): (Vec<_>, Vec<_>) = servers.iter().partition(|s| !self.backing_off(s.name()));
        up.extend(down);
        up
    }
}

/// A new licensing attempt id: 128 random bits in hex.
pub fn new_request_id() -> String {
    let mut b = [0u8; 16];
    // rand_bytes fails only when OpenSSL's CSPRNG is not seeded; the clock then keeps ids distinct enough.
    if openssl::rand::rand_bytes(&mut b).is_err() {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        b = t.to_le_bytes();
    }
    hex::encode(b)
}

/// Asks the servers in order, each with `timeout`, until one issues (or checks out). Servers that could not be
/// reached lately are asked last ([`ServerHealth`]); the request carries one request id for the whole walk, so a
/// request whose server died before answering is retried on the next server without a second CAL.
pub async fn ask_in_order(
    servers: &[Arc<dyn LicenseAuthority>],
    what: ServerRequest,
    request: &CalRequest,
    timeout: Duration,
) -> AskResult {
    if servers.is_empty() {
        return AskResult { answer: ServerAnswer::NoneSpecified, cal: None, attempts: Vec::new() };
    }
    let with_id;
    let request = if request.request_id.is_some() {
        request
    } else {
        with_id = CalRequest { request_id: Some(new_request_id()), ..request.clone() };
        &with_id
    };
    let health = ServerHealth::global();
    let mut attempts = Vec::new();
    let mut cannot_issue: Option<String> = None;
    for server in health.order(servers) {
        let name = server.name().to_owned();
        let outcome = match what {
            ServerRequest::IssueDevice => run(timeout, server.issue_device(request)).await.map(Some),
            ServerRequest::UpgradeDevice => run(timeout, server.upgrade_device(request)).await.map(Some),
            ServerRequest::CheckoutUser => run(timeout, server.checkout_user(request)).await.map(|()| None),
        };
        match &outcome {
            Err(AuthorityError::Unreachable(_)) => {
                let backoff = health.failed(&name);
                tracing::warn!(license_server = %name, backoff_ms = backoff.as_millis(), "license server unreachable: asked last until the back-off ends");
            }
            _ => health.answered(&name),
        }
        match outcome {
            Ok(Some(cal)) => {
                attempts.push(ServerAttempt { server: name.clone(), result: format!("issued {:?}", cal.kind) });
                let kind = cal.kind;
                return AskResult { answer: ServerAnswer::Issued { server: name, kind }, cal: Some(cal), attempts };
            }
            Ok(None) => {
                attempts.push(ServerAttempt { server: name.clone(), result: "checked out".into() });
                return AskResult { answer: ServerAnswer::CheckedOut { server: name }, cal: None, attempts };
            }
            Err(error) => {
                tracing::warn!(license_server = %name, %error, "license server attempt failed");
                if matches!(error, AuthorityError::CannotIssue(_)) && cannot_issue.is_none() {
                    cannot_issue = Some(name.clone());
                }
                attempts.push(ServerAttempt { server: name, result: error.to_string() });
            }
        }
    }
    let answer = match cannot_issue {
        Some(server) => ServerAnswer::CannotIssue { server },
        None => ServerAnswer::NoneReachable { tried: attempts.iter().map(|a| a.server.clone()).collect() },
    };
    AskResult { answer, cal: None, attempts }
}

async fn run<T>(timeout: Duration, call: BoxFuture<'_, Result<T, AuthorityError>>) -> Result<T, AuthorityError> {
    match tokio::time::timeout(timeout, call).await {
        Ok(result) => result,
        Err(_) => Err(AuthorityError::Unreachable(format!("no answer within {} ms", timeout.as_millis()))),
    }
}

/// A name in `SpecifiedLicenseServers` with no license server client behind it: every call fails as
/// unreachable after trying a TCP connection to it (so a listening port is told apart from a closed one in the
/// log).
#[derive(Debug)]
pub struct UnreachableAuthority {
    name: String,
}

impl UnreachableAuthority {
    /// For `name` (`host:port` or a URL).
    pub fn new(name: &str) -> Self {
        Self { name: name.to_owned() }
    }

    async fn probe(&self) -> AuthorityError {
        let target = self.name.trim_start_matches("https://").trim_end_matches('/');
        match tokio::net::TcpStream::connect(target).await {
            Ok(_) => AuthorityError::Unreachable(format!("{target} accepts connections but no license server client is configured for it")),
            Err(e) => AuthorityError::Unreachable(format!("{target}: {e}")),
        }
    }
}

impl LicenseAuthority for UnreachableAuthority {
    fn name(&self) -> &str {
        &self.name
    }
    fn issue_device<'a>(&'a self, _: &'a CalRequest) -> BoxFuture<'a, Result<IssuedCal, AuthorityError>> {
        Box::pin(async move { Err(self.probe().await) })
    }
    fn upgrade_device<'a>(&'a self, _: &'a CalRequest) -> BoxFuture<'a, Result<IssuedCal, AuthorityError>> {
        Box::pin(async move { Err(self.probe().await) })
    }
    fn checkout_user<'a>(&'a self, _: &'a CalRequest) -> BoxFuture<'a, Result<(), AuthorityError>> {
        Box::pin(async move { Err(self.probe().await) })
    }
}

/// One batch call's answer: one result per ask, in order, or a failure of the whole call (every ask gets it).
pub type BatchAnswers<T> = Result<Vec<Result<T, AuthorityError>>, AuthorityError>;

/// Sends one batch of asks to a license server (e.g. `POST /api/v1/cal/device/batch`).
pub type BatchSend<Q, T> = Arc<dyn Fn(Vec<Q>) -> BoxFuture<'static, BatchAnswers<T>> + Send + Sync>;

type Queued<Q, T> = (Q, tokio::sync::oneshot::Sender<Result<T, AuthorityError>>);

/// Coalesces the concurrent per-device CAL asks of one license server into batch requests: each call queues its
/// ask; one task sends whatever is queued (up to `max_batch`) as one batch, with up to `in_flight` batches out
/// at once so that the next one gathers while the others are answered, and hands every caller its own result.
/// Under no load a batch holds a single ask and goes out at once. An ask whose caller gave up (the failover walk
/// timed out) before its batch left is not sent.
///
/// The per-server timeout of [`ask_in_order`] applies to each call as before (queueing included).
pub struct Coalescer<Q, T> {
    send: BatchSend<Q, T>,
    max_batch: usize,
    in_flight: usize,
    /// Started on the first call, on the runtime of that call.
    queue: std::sync::OnceLock<tokio::sync::mpsc::Sender<Queued<Q, T>>>,
}

impl<Q, T> fmt::Debug for Coalescer<Q, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Coalescer").field("max_batch", &self.max_batch).field("in_flight", &self.in_flight).finish()
    }
}

/// Most asks in one batch request (the license server's limit).
pub const MAX_CAL_BATCH: usize = 64;
/// Batch requests out at once per license server.
pub const CAL_BATCHES_IN_FLIGHT: usize = 2;

impl<Q: Send + 'static, T: Send + 'static> Coalescer<Q, T> {
    /// A coalescer sending with `send`, at most `max_batch` asks per batch and `in_flight` batches at once (both
    /// at least 1).
    pub fn new(send: BatchSend<Q, T>, max_batch: usize, in_flight: usize) -> Self {
        Self { send, max_batch: max_batch.max(1), in_flight: in_flight.max(1), queue: std::sync::OnceLock::new() }
    }

    /// Queues `ask` and waits for its own answer.
    pub async fn call(&self, ask: Q) -> Result<T, AuthorityError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.queue()
            .send((ask, reply))
            .await
            .map_err(|_| AuthorityError::Unreachable("the license server request queue is closed".into()))?;
        answer.await.map_err(|_| AuthorityError::Unreachable("the batch request task ended without an answer".into()))?
    }

    fn queue(&self) -> &tokio::sync::mpsc::Sender<Queued<Q, T>> {
        self.queue.get_or_init(|| {
            let (tx, rx) = tokio::sync::mpsc::channel(self.max_batch.saturating_mul(16));
            tokio::spawn(run_coalescer(rx, self.send.clone(), self.max_batch, self.in_flight));
            tx
        })
    }
}

async fn run_coalescer<Q: Send + 'static, T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<Queued<Q, T>>,
    send: BatchSend<Q, T>,
    max_batch: usize,
    in_flight: usize,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(in_flight));
    loop {
        // A slot first: while every batch slot is busy, asks keep queueing and leave together in the next batch.
        let Ok(slot) = slots.clone().acquire_owned().await else { break };
        let Some(first) = rx.recv().await else { break };
        let mut queued = vec![first];
        while queued.len() < max_batch {
            match rx.try_recv() {
                Ok(q) => queued.push(q),
                Err(_) => break,
            }
        }
        // Callers that gave up meanwhile (timeout) are not asked for.
        queued.retain(|(_, reply)| !reply.is_closed());
        if queued.is_empty() {
            continue;
        }
        let (asks, replies): (Vec<Q>, Vec<_>) = queued.into_iter().unzip();
        let batch = send(asks);
        tokio::spawn(async move {
            let answers = batch.await;
            drop(slot);
            let error = match answers {
                Ok(answers) if answers.len() == replies.len() => {
                    for (reply, answer) in replies.into_iter().zip(answers) {
                        let _ = reply.send(answer);
                    }
                    return;
                }
                Ok(answers) => AuthorityError::Unreachable(format!(
                    "the license server answered a batch of {} with {} results",
                    replies.len(),
                    answers.len()
                )),
                Err(error) => error,
            };
            for reply in replies {
                let _ = reply.send(Err(error.clone()));
            }
        });
    }
}

/// Local validation of a presented CAL.
pub trait CalVerifier: Send + Sync + fmt::Debug {
    /// Checks signature chain, hardware id and expiry.
    fn check(&self, cal: &[u8], hardware_id: &[u8; 20], now: u64) -> PresentedCal;

    /// Fetches the trusted chains again, when the verifier knows where from and did not just do so; true when
    /// the trusted keys changed. The host calls it once for a CAL whose chain is not trusted, then checks again:
    /// a license server re-keyed or activated since the host started is trusted without a restart.
    fn refresh(&self) -> BoxFuture<'_, bool> {
        Box::pin(async { false })
    }
}

/// Where a [`LocalCalVerifier`] fetches its trusted keys again (the license servers' chains).
pub trait ChainSource: Send + Sync + fmt::Debug {
    /// Every trusted key, as of now; `None` when none could be fetched (keep the current ones).
    fn fetch(&self) -> BoxFuture<'_, Option<Vec<RsaPublicKey>>>;
}

/// The shortest time between two refreshes asked for by untrusted CALs: a client presenting junk CALs cannot make
/// the host query its license servers more often.
pub const MIN_CHAIN_REFRESH: Duration = Duration::from_secs(30);

/// Product version (major) of the CALs this host asks for and accepts: 10.0.
pub const HOST_PRODUCT_MAJOR: u16 = 10;

/// The product of this host's CALs (company and product id of the License Request, version 10.0).
pub fn host_product() -> ProductLicense {
    ProductLicense::new(crate::product::COMPANY_NAME, crate::product::PRODUCT_ID, HOST_PRODUCT_MAJOR, 0)
}

/// An in-process license server: a self-signed license-server certificate and key sign real CALs
/// (`rdpele::cal`, MS-RDPELE 2.2.2.9); temporary CALs for new devices, permanent ones on upgrade while its
/// permanent pool lasts. For demos and tests; `rdlic server` is the real one.
pub struct LocalAuthority {
    name: String,
    identity: LicenseServerIdentity,
    state: Mutex<LocalState>,
}

#[derive(Debug, Default)]
struct LocalState {
    permanent_pool: u32,
    issued: HashMap<[u8; 20], CalKind>,
    users: HashMap<String, u64>,
    serial: u64,
}

impl fmt::Debug for LocalAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalAuthority").field("name", &self.name).finish_non_exhaustive()
    }
}

impl LocalAuthority {
    /// An authority named `name` with `permanent_pool` permanent CALs, signing with `key` under a self-signed
    /// license-server certificate.
    pub fn new(name: &str, key: PKey<Private>, permanent_pool: u32) -> Result<Self, AuthorityError> {
        let spec = LicenseServerCertSpec {
            name: name.to_owned(),
            scope: "WORKGROUP".to_owned(),
            serial: 1,
            not_before: 0,
            not_after: 2_506_000_000,
            signature_algorithm: SignatureAlgorithm::Sha256WithRsa,
        };
        let identity = LicenseServerIdentity::self_signed(key, &spec)
            .map_err(|e| AuthorityError::CannotIssue(format!("license server certificate: {e}")))?;
        Ok(Self {
            name: name.to_owned(),
            identity,
            state: Mutex::new(LocalState { permanent_pool, ..LocalState::default() }),
        })
    }

    /// Loads the signing key from `path` (PEM), creating a 2048-bit one (mode 0600) when absent.
    pub fn load_or_create_key(path: &std::path::Path) -> Result<PKey<Private>, std::io::Error> {
        if let Ok(pem) = std::fs::read(path) {
            return PKey::private_key_from_pem(&pem).map_err(std::io::Error::other);
        }
        let rsa = Rsa::generate(2048).map_err(std::io::Error::other)?;
        let key = PKey::from_rsa(rsa).map_err(std::io::Error::other)?;
        let pem = key.private_key_to_pem_pkcs8().map_err(std::io::Error::other)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        crate::tls::write_private(path, &pem)?;
        Ok(key)
    }

    /// The public key that verifies this authority's CALs.
    pub fn public_key(&self) -> Result<RsaPublicKey, AuthorityError> {
        self.identity.public_key().map_err(|e| AuthorityError::CannotIssue(e.to_string()))
    }

    /// Per-user CALs checked out so far.
    pub fn checked_out_users(&self) -> Vec<String> {
        self.state.lock().map(|s| s.users.keys().cloned().collect()).unwrap_or_default()
    }

    fn sign(&self, kind: CalKind, request: &CalRequest) -> Result<IssuedCal, AuthorityError> {
        let expires_at = match kind {
            CalKind::Temporary => request.now + TEMPORARY_CAL_DAYS * DAY,
            // Windows: a random 52–89 days; derived from the hardware id here so that it is reproducible.
            CalKind::Permanent => request.now + (52 + u64::from(request.hardware_id[19]) % 38) * DAY,
        };
        let serial = {
            let mut state = self.state.lock().map_err(|_| AuthorityError::CannotIssue("state poisoned".into()))?;
            state.serial += 1;
            state.serial
        };
        let time = |t: u64| i64::try_from(t).map_err(|_| AuthorityError::CannotIssue("time out of range".into()));
        let spec = CalSpec {
            serial,
            hardware_id: request.hardware_id,
            client_machine: request.machine_name.clone(),
            client_user: request.user_name.clone(),
            platform_id: request.platform_id,
            product: host_product(),
            temporary: kind == CalKind::Temporary,
            not_before: time(request.now)?,
            not_after: time(expires_at)?,
            issuer: LicenseServerInfo { name: self.name.clone(), id: "rdlic-local".into(), scope: "WORKGROUP".into() },
            license_count: 1,
            language_id: 0x409,
            signature_algorithm: SignatureAlgorithm::Sha256WithRsa,
            product_specific: None,
        };
        let cal = build_cal(&spec, &self.identity).map_err(|e| AuthorityError::CannotIssue(format!("cannot build the CAL: {e}")))?;
        Ok(IssuedCal { cal, kind, expires_at })
    }
}

impl LicenseAuthority for LocalAuthority {
    fn name(&self) -> &str {
        &self.name
    }

    fn issue_device<'a>(&'a self, request: &'a CalRequest) -> BoxFuture<'a, Result<IssuedCal, AuthorityError>> {
        Box::pin(async move {
            if let Ok(mut state) = self.state.lock() {
                state.issued.entry(request.hardware_id).or_insert(CalKind::Temporary);
            }
            self.sign(CalKind::Temporary, request)
        })
    }

    fn upgrade_device<'a>(&'a self, request: &'a CalRequest) -> BoxFuture<'a, Result<IssuedCal, AuthorityError>> {
        Box::pin(async move {
            let permanent = {
                let mut state = self.state.lock().map_err(|_| AuthorityError::CannotIssue("state poisoned".into()))?;
                match state.issued.get(&request.hardware_id) {
                    Some(CalKind::Permanent) => true,
                    _ if state.permanent_pool > 0 => {
                        state.permanent_pool -= 1;
                        state.issued.insert(request.hardware_id, CalKind::Permanent);
                        true
                    }
                    _ => false,
                }
            };
            if !permanent {
                return Err(AuthorityError::CannotIssue("no permanent per-device CAL left".into()));
            }
            self.sign(CalKind::Permanent, request)
        })
    }

    fn checkout_user<'a>(&'a self, request: &'a CalRequest) -> BoxFuture<'a, Result<(), AuthorityError>> {
        Box::pin(async move {
            let mut state = self.state.lock().map_err(|_| AuthorityError::CannotIssue("state poisoned".into()))?;
            let user = if request.domain.is_empty() {
                request.user_name.clone()
            } else {
                format!("{}\\{}", request.domain, request.user_name)
            };
            state.users.insert(user, request.now);
            Ok(())
        })
    }
}

/// Verifies CALs (`rdpele::cal`) against the license-server keys the host trusts: signature chain, hardware
/// id, product version. Expiry is left to the policy (an expired CAL is "needs upgrade", not "invalid").
#[derive(Debug)]
pub struct LocalCalVerifier {
    trusted: std::sync::RwLock<Vec<RsaPublicKey>>,
    source: Option<Arc<dyn ChainSource>>,
    /// One refresh at a time; the time of the last one.
    last_refresh: tokio::sync::Mutex<Option<std::time::Instant>>,
    /// Refreshes that changed the trusted keys (tests wait on it).
    changes: tokio::sync::watch::Sender<u64>,
}

impl LocalCalVerifier {
    /// A verifier trusting `keys`, for good.
    pub fn new(trusted: Vec<RsaPublicKey>) -> Self {
        Self {
            trusted: std::sync::RwLock::new(trusted),
            source: None,
            last_refresh: tokio::sync::Mutex::new(None),
            changes: tokio::sync::watch::Sender::new(0),
        }
    }

    /// A verifier trusting `keys` now, and whatever `source` gives on each refresh.
    pub fn with_source(trusted: Vec<RsaPublicKey>, source: Arc<dyn ChainSource>) -> Self {
        Self { source: Some(source), ..Self::new(trusted) }
    }

    /// Fetches the keys from the source now (periodic refresh); true when they changed.
    pub async fn refresh_now(&self) -> bool {
        let mut last = self.last_refresh.lock().await;
        self.refresh_locked(&mut last).await
    }

    /// A receiver of the number of refreshes that changed the trusted keys.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    async fn refresh_locked(&self, last: &mut Option<std::time::Instant>) -> bool {
        let Some(source) = &self.source else { return false };
        *last = Some(std::time::Instant::now());
        let Some(keys) = source.fetch().await else { return false };
        let mut trusted = self.trusted.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if *trusted == keys {
            return false;
        }
        tracing::info!(keys = keys.len(), "the license servers' CAL signing chains changed: trusting the new ones");
        *trusted = keys;
        drop(trusted);
        self.changes.send_modify(|n| *n += 1);
        true
    }
}

impl Default for LocalCalVerifier {
    fn default() -> Self {
        Self::new(Vec::new())
    }
}

impl CalVerifier for LocalCalVerifier {
    fn refresh(&self) -> BoxFuture<'_, bool> {
        Box::pin(async move {
            let mut last = self.last_refresh.lock().await;
            if last.is_some_and(|at| at.elapsed() < MIN_CHAIN_REFRESH) {
                return false;
            }
            self.refresh_locked(&mut last).await
        })
    }

    fn check(&self, cal: &[u8], hardware_id: &[u8; 20], _now: u64) -> PresentedCal {
        let Ok(parsed) = parse_cal(cal) else {
            return PresentedCal::Invalid(InvalidCal::BadFormat);
        };
        let trusted = self.trusted.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        let verified = match parsed.verify(&trusted) {
            Ok(v) => v,
            Err(CalError::Malformed(_)) => return PresentedCal::Invalid(InvalidCal::BadFormat),
            Err(_) => return PresentedCal::Invalid(InvalidCal::Untrusted),
        };
        if verified.check_hardware_id(hardware_id).is_err() {
            return PresentedCal::Invalid(InvalidCal::HardwareIdMismatch);
        }
        if verified.product.major < HOST_PRODUCT_MAJOR {
            return PresentedCal::Invalid(InvalidCal::WrongVersion);
        }
        let kind = if verified.temporary { CalKind::Temporary } else { CalKind::Permanent };
        PresentedCal::Valid { kind, expires_at: u64::try_from(verified.not_after).unwrap_or(0) }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn request(hwid: u8) -> CalRequest {
        CalRequest {
            client_name: "dev01".into(),
            user_name: "alice".into(),
            domain: String::new(),
            machine_name: "dev01".into(),
            hardware_id: [hwid; 20],
            platform_id: 0x0401_0000,
            presented_cal: None,
            now: 1_780_000_000,
            request_id: None,
        }
    }

    fn authority(pool: u32) -> Arc<LocalAuthority> {
        let key = PKey::from_rsa(Rsa::generate(1024).unwrap()).unwrap();
        Arc::new(LocalAuthority::new("ls1", key, pool).unwrap())
    }

    #[tokio::test]
    async fn failover_skips_unreachable_servers_in_order() {
        let local = authority(1);
        let dead: Arc<dyn LicenseAuthority> = Arc::new(UnreachableAuthority::new("127.0.0.1:1"));
        let servers: Vec<Arc<dyn LicenseAuthority>> = vec![dead, local.clone()];
        let result = ask_in_order(&servers, ServerRequest::IssueDevice, &request(1), Duration::from_secs(2)).await;
        assert_eq!(result.answer, ServerAnswer::Issued { server: "ls1".into(), kind: CalKind::Temporary });
        assert_eq!(result.attempts.len(), 2);
        assert_eq!(result.attempts[0].server, "127.0.0.1:1");

        let verifier = LocalCalVerifier::new(vec![local.public_key().unwrap()]);
        let cal = result.cal.unwrap();
        let now = request(1).now;
        assert_eq!(verifier.check(&cal.cal, &[1; 20], now), PresentedCal::Valid { kind: CalKind::Temporary, expires_at: now + 90 * DAY });
        assert_eq!(verifier.check(&cal.cal, &[2; 20], now), PresentedCal::Invalid(InvalidCal::HardwareIdMismatch));
        let mut tampered = cal.cal.clone();
        let at = tampered.len() - 300;
        tampered[at] ^= 1;
        assert_eq!(verifier.check(&tampered, &[1; 20], now), PresentedCal::Invalid(InvalidCal::Untrusted));
        assert_eq!(verifier.check(b"junk", &[1; 20], now), PresentedCal::Invalid(InvalidCal::BadFormat));
        let foreign = LocalCalVerifier::new(vec![authority(0).public_key().unwrap()]);
        assert_eq!(foreign.check(&cal.cal, &[1; 20], now), PresentedCal::Invalid(InvalidCal::Untrusted));
    }

    #[tokio::test]
    async fn a_dead_server_is_asked_last_during_its_back_off_and_first_again_after() {
        let health = ServerHealth::default();
        let dead: Arc<dyn LicenseAuthority> = Arc::new(UnreachableAuthority::new("127.0.0.1:2"));
        let live: Arc<dyn LicenseAuthority> = authority(0);
        let servers = vec![dead.clone(), live.clone()];
        let names = |h: &ServerHealth| h.order(&servers).iter().map(|s| s.name().to_owned()).collect::<Vec<_>>();
        assert_eq!(names(&health), ["127.0.0.1:2", "ls1"]);
        assert_eq!(health.failed("127.0.0.1:2"), BACKOFF_FIRST);
        assert_eq!(names(&health), ["ls1", "127.0.0.1:2"], "backing off: asked last, still asked");
        // Failures in a row double the back-off up to the maximum.
        assert_eq!(health.failed("127.0.0.1:2"), BACKOFF_FIRST * 2);
        for _ in 0..10 {
            health.failed("127.0.0.1:2");
        }
        assert_eq!(health.failed("127.0.0.1:2"), BACKOFF_MAX);
        // An answer forgets it: first again (fail-back).
        health.answered("127.0.0.1:2");
        assert_eq!(names(&health), ["127.0.0.1:2", "ls1"]);
        // The walk gives every attempt one request id, made when the caller gave none.
        let result = ask_in_order(&servers, ServerRequest::IssueDevice, &request(9), Duration::from_secs(2)).await;
        assert!(matches!(result.answer, ServerAnswer::Issued { .. }));
        assert_eq!(new_request_id().len(), 32);
        assert_ne!(new_request_id(), new_request_id());
    }

    #[tokio::test]
    async fn permanent_pool_runs_out() {
        let local = authority(1);
        let servers: Vec<Arc<dyn LicenseAuthority>> = vec![local];
        let first = ask_in_order(&servers, ServerRequest::UpgradeDevice, &request(1), Duration::from_secs(1)).await;
        assert!(matches!(first.answer, ServerAnswer::Issued { kind: CalKind::Permanent, .. }));
        let again = ask_in_order(&servers, ServerRequest::UpgradeDevice, &request(1), Duration::from_secs(1)).await;
        assert!(matches!(again.answer, ServerAnswer::Issued { kind: CalKind::Permanent, .. }));
        let other = ask_in_order(&servers, ServerRequest::UpgradeDevice, &request(2), Duration::from_secs(1)).await;
        assert_eq!(other.answer, ServerAnswer::CannotIssue { server: "ls1".into() });
        let none = ask_in_order(&[], ServerRequest::IssueDevice, &request(2), Duration::from_secs(1)).await;
        assert_eq!(none.answer, ServerAnswer::NoneSpecified);
    }
}
