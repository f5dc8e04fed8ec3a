//! `rdlic bench storm` (a benchmark, not a test: it prints figures).
//!
//! Many simulated RDP clients — each `rdlic_diag::probe` (real TCP, TLS, the RDP connection sequence up to the
//! licensing phase, `rdpele::client::ClientLicensing`, distinct hardware ids from distinct machine names, a CAL
//! store of its own, kept in memory from pass to pass) — against a session host and a license server on
//! 127.0.0.1: by default both in this process (`rdlic_host::Host` enrolled with a real `rdlic_server` on the
//! embedded SQLite store, per-device mode, activated, a per-device key pack), or an existing host with `--host`.
//! In process, the license server runs on a runtime of its own (threads `storm-ls`), the host on another
//! (`storm-host`) and the clients, as tokio tasks (`rdlic_diag::probe::run_async_with_store`, `--concurrency` of
//! them at once), on threads of their own (`storm-client`, one current-thread runtime per core by default), so
//! that the CPU time of each is reported apart. All of them run as `SCHED_BATCH`, as `rdlic host run` and `rdlic
//! server run` do (`rdlic_server::sched`): the clients stand for other machines, and their wake-ups do not preempt
//! the host's and the license server's work on the shared cores.
//!
//! Passes: `new` (no stored CAL: a temporary CAL is issued), then with `--returning` `upgrade` (the stored temporary
//! CAL is presented and upgraded to a permanent one) and `returning` (the stored permanent CAL is presented).
//!
//! In the same run, the crypto floor of one new-device connection on this machine: a full TLS handshake (rustls,
//! client and server side, the host's kind of certificate), the licensing RSA — both halves, as for TLS: the
//! client's public operation that encrypts the premaster secret and the host's private operation that recovers
//! it (RSA-2048) — and the CAL signature (RSA-2048 SHA-256), each measured in process on all cores (OpenSSL for
//! RSA); the floor rate is `1 / (1/tls + 1/rsa_private + 1/rsa_public + 1/sign)`. Each rate is measured for half
//! its time before the passes and half after, and the mean is used: the machine's speed drifts while the passes
//! run.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rdlic_diag::probe::{self, LicensingResult, ProbeOptions, ProbeReport};
use rdpele::client::{LicenseKey, LicenseStore, MemoryLicenseStore};
use rdlic_host::config::HostConfig;
use rdlic_host::grace::Clock;
use rdlic_host::{Host, HostOptions};
use crate::server::{cpu_by_name, cpu_time};
use rdlic_api::client::{AdminClient, LicenseServerClient};
use rdlic_server::{start, ServerOptions};

/// What to run.
#[derive(Debug, Clone)]
pub struct StormOptions {
    /// Simulated clients (distinct devices) per pass.
    pub clients: usize,
    /// Clients connecting at once.
    pub concurrency: usize,
    /// Threads driving the clients (each a current-thread runtime).
    pub client_threads: usize,
    /// Second and third passes presenting the stored CALs.
    pub returning: bool,
    /// An existing host (`HOST:PORT`); `None` starts a host and a license server in process.
    pub host: Option<String>,
    /// Seconds per floor measurement (half before the passes, half after).
    pub floor_seconds: f64,
    /// Progress bar on stderr.
    pub progress: bool,
}

/// What a pass expects of every client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    New,
    Upgrade,
    Returning,
}

impl Pass {
    fn name(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Upgrade => "upgrade",
            Self::Returning => "returning",
        }
    }
}

/// The result of one client connection.
#[derive(Debug, Clone)]
struct ClientResult {
    licensing: Option<Duration>,
    total: Duration,
    outcome: &'static str,
    presented: bool,
    error: Option<String>,
}

/// Figures of one pass.
#[derive(Debug, Clone)]
struct PassFigures {
    pass: Pass,
    clients: usize,
    elapsed: Duration,
    errors: usize,
    presented: usize,
    outcomes: Vec<(&'static str, usize)>,
    licensing_p50: Duration,
    licensing_p99: Duration,
    total_p50: Duration,
    total_p99: Duration,
    first_errors: Vec<String>,
    /// CPU time during the pass.
    cpu: Option<PassCpu>,
}

/// CPU time of one pass: the whole process and the parts of it.
#[derive(Debug, Clone, Copy)]
struct PassCpu {
    all: Duration,
    /// The simulated clients' threads.
    clients: Duration,
    /// The in-process license server's threads (zero with `--host`).
    license_server: Duration,
}

impl PassFigures {
    fn per_second(&self) -> f64 {
        count_f64(self.clients) / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn json(&self) -> serde_json::Value {
        let ms = |d: Duration| (d.as_secs_f64() * 100_000.0).round() / 100.0;
        let outcomes: serde_json::Map<String, serde_json::Value> = self
            .outcomes
            .iter()
            .map(|(k, v)| ((*k).to_owned(), serde_json::json!(v)))
            .collect();
        serde_json::json!({
            "pass": self.pass.name(),
            "clients": self.clients,
            "seconds": self.elapsed.as_secs_f64(),
            "connections_per_second": self.per_second(),
            "errors": self.errors,
            "presented_stored_cal": self.presented,
            "outcomes": outcomes,
            "licensing_p50_ms": ms(self.licensing_p50),
            "licensing_p99_ms": ms(self.licensing_p99),
            "connection_p50_ms": ms(self.total_p50),
            "connection_p99_ms": ms(self.total_p99),
            "first_errors": self.first_errors,
            "cpu_per_connection_us": self.cpu.map(|cpu| {
                let per = |d: Duration| d.as_secs_f64() * 1e6 / count_f64(self.clients.max(1));
                serde_json::json!({
                    "all": per(cpu.all),
                    "simulated_clients": per(cpu.clients),
                    "host": per(cpu.host()),
                    "license_server": per(cpu.license_server),
                })
            }),
        })
    }
}

impl PassCpu {
    /// What is left for the host (and the process's other threads).
    fn host(&self) -> Duration {
        self.all.saturating_sub(self.clients).saturating_sub(self.license_server)
    }
}

/// The crypto floor of one new-device connection, all cores.
#[derive(Debug, Clone, Copy)]
struct Floor {
    cores: usize,
    /// Full TLS handshakes, both sides.
    tls_handshakes: f64,
    /// The host's half of the licensing RSA: the private operation that recovers the premaster secret.
    rsa_private: f64,
    /// The client's half: the public operation that encrypts it.
    rsa_public: f64,
    cal_signatures: f64,
}

/// Connections per second if each did one operation at each of these rates (all cores): `1 / Σ 1/rate`.
fn combined(rates: &[f64]) -> f64 {
    1.0 / rates.iter().map(|r| 1.0 / r.max(1e-9)).sum::<f64>()
}

impl Floor {
    /// Connections per second if each did only its crypto, at these rates: both sides of the TLS handshake, both
    /// halves of the licensing RSA, the CAL signature.
    fn new_device(&self) -> f64 {
        combined(&[self.tls_handshakes, self.rsa_private, self.rsa_public, self.cal_signatures])
    }

    /// [`Floor::new_device`] without the client's RSA public operation: the floor as the earlier figures of
    /// docs/benchmarks.md counted it (printed so that they stay comparable).
    fn new_device_host_rsa_only(&self) -> f64 {
        combined(&[self.tls_handshakes, self.rsa_private, self.cal_signatures])
    }

    /// Same without the CAL signature (a stored CAL is presented with a premaster secret encrypted as for a new
    /// one, and verified, not signed).
    fn returning_device(&self) -> f64 {
        combined(&[self.tls_handshakes, self.rsa_private, self.rsa_public])
    }

    /// The mean of two measurements of equal duration (each rate: all operations over all the time).
    fn mean(&self, other: &Self) -> Self {
        Self {
            cores: self.cores,
            tls_handshakes: (self.tls_handshakes + other.tls_handshakes) / 2.0,
            rsa_private: (self.rsa_private + other.rsa_private) / 2.0,
            rsa_public: (self.rsa_public + other.rsa_public) / 2.0,
            cal_signatures: (self.cal_signatures + other.cal_signatures) / 2.0,
        }
    }
}

fn count_f64(n: usize) -> f64 {
    f64::from(u32::try_from(n).unwrap_or(u32::MAX))
}

fn percentile(sorted: &[Duration], q: usize) -> Duration {
    sorted
        .get(sorted.len().saturating_sub(1) * q / 100)
        .copied()
        .unwrap_or_default()
}

/// A host and license server running in this process.
struct InProcess {
    target: String,
    server: Option<rdlic_server::RunningServer>,
    host_task: tokio::task::JoinHandle<()>,
}

/// Starts a license server (activated, per-device pack of `permanent` CALs) on the `license_server` runtime and a
/// host enrolled with it on the current one.
async fn start_in_process(
    tmp: &Path,
    permanent: u32,
    license_server: &tokio::runtime::Handle,
) -> anyhow::Result<InProcess> {
    let data = tmp.join("server");
    let ch = rdlic_core::Clearinghouse::from_private_key(openssl::pkey::PKey::generate_ed25519()?)
        .context("clearinghouse key")?;
    let ch_pub = tmp.join("clearinghouse.pub");
    std::fs::write(&ch_pub, ch.public_key().to_pem()?)?;
    let mut options = ServerOptions::new(data.clone());
    options.clearinghouse_key = Some(ch_pub);
    let server = license_server
        .spawn(start(options))
        .await
        .context("license server runtime")?
        .context("starting the license server")?;
    let admin = AdminClient::from_data_dir(&data, Some(&server.url)).context("admin client")?;

    crate::setup::activate_with_pack(&admin, &ch, rdlic_core::CalType::PerDevice, permanent).await?;

    let host_dir = tmp.join("host");
    let token = admin
        .post("/api/v1/admin/enroll-tokens", &serde_json::json!({}))
        .await
        .context("enroll token")?;
    let token = token
        .get("token")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    let ca = std::fs::read(data.join(rdlic_server::datadir::CA_CERT_FILE)).ok();
    LicenseServerClient::enroll(&server.url, &token, "storm-host", &host_dir, ca.as_deref())
        .await
        .context("enrolling the host")?;
    let server_name = server
        .url
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_owned();
    let config = HostConfig {
        licensing_mode: 2,
        specified_license_servers: vec![server_name],
        host_name: Some("storm-host".into()),
        license_server_timeout_ms: 10_000,
        ..HostConfig::default()
    };
    let (authorities, verifier) = rdlic_host::remote::authorities_for(&host_dir, &config, 0).await?;
    let host = Host::bind(HostOptions {
        dir: host_dir,
        listen: "127.0.0.1:0".parse()?,
        config,
        clock: Clock::default(),
        authorities,
        verifier,
    })
    .await
    .context("starting the session host")?;
    let target = host.local_addr()?.to_string();
    let host_task = tokio::spawn(host.run());
    Ok(InProcess {
        target,
        server: Some(server),
        host_task,
    })
}

/// The CAL store of one simulated client, kept from pass to pass. It stands for a file on another machine: it is
/// kept in memory, so that the host's and the license server's costs are measured, not the load generator's file
/// system (a store on tmpfs cost the clients 7 % of their CPU).
#[derive(Debug, Default)]
struct ClientStore {
    cals: MemoryLicenseStore,
    /// A stored CAL was loaded (and so presented to the host) during the last connection.
    presented: bool,
}

impl LicenseStore for ClientStore {
    fn load(&mut self, key: &LicenseKey) -> Option<Vec<u8>> {
        let cal = self.cals.load(key);
        self.presented |= cal.is_some();
        cal
    }

    fn store(&mut self, key: &LicenseKey, cal: &[u8]) {
        self.cals.store(key, cal);
    }
}

/// The stores of all the simulated clients, by client index.
type ClientStores = Vec<std::sync::Mutex<ClientStore>>;

/// One client connection of a pass, with its store (taken out of `stores` while it runs).
async fn connect(target: &str, stores: &ClientStores, index: usize, pass: Pass) -> ClientResult {
    let options = ProbeOptions {
        user: "storm".into(),
        client_hostname: format!("storm{index}"),
        timeout: Duration::from_secs(30),
        ..ProbeOptions::new(target)
    };
    let Some(slot) = stores.get(index) else {
        return not_run(format!("no CAL store for client {index}"));
    };
    let mut store = slot.lock().map(|mut s| std::mem::take(&mut *s)).unwrap_or_default();
    store.presented = false;
    let started = Instant::now();
    let report = probe::run_async_with_store(&options, &mut store).await;
    let total = started.elapsed();
    let result = classify(&report, store.presented, pass, total);
    if let Ok(mut s) = slot.lock() {
        *s = store;
    }
    result
}

fn classify(report: &ProbeReport, presented: bool, pass: Pass, total: Duration) -> ClientResult {
    let licensing = report
        .phases
        .iter()
        .find(|p| p.phase == "licensing")
        .map(|p| Duration::from_secs_f64(p.millis.max(0.0) / 1000.0));
    let kind = |l: &probe::IssuedLicense| l.cal.as_ref().map_or("undecodable", |c| c.kind);
    let outcome = match &report.licensing {
        LicensingResult::ValidClient => "valid-client",
        LicensingResult::NewLicense(l) if kind(l) == "temporary" => "new-temporary",
        LicensingResult::NewLicense(l) if kind(l) == "permanent" => "new-permanent",
        LicensingResult::NewLicense(_) => "new-undecodable",
        LicensingResult::UpgradeLicense(l) if kind(l) == "permanent" => "upgrade-permanent",
        LicensingResult::UpgradeLicense(l) if kind(l) == "temporary" => "upgrade-temporary",
        LicensingResult::UpgradeLicense(_) => "upgrade-undecodable",
        LicensingResult::ErrorAlert { .. } => "error-alert",
        LicensingResult::ProtocolError { .. } => "protocol-error",
        LicensingResult::Skipped => "skipped",
        LicensingResult::Incomplete => "incomplete",
    };
    let error = if let Some(failure) = &report.failure {
        Some(format!("{}: {}", failure.kind, failure.message))
    } else if !report.admitted() {
        Some(format!(
            "not admitted: {outcome}, error info {:?}, {:?}",
            report.error_info, report.after_licensing
        ))
    } else {
        match pass {
            Pass::New if !outcome.starts_with("new-") => Some(format!("expected a new cal, got {outcome}")),
            Pass::Upgrade | Pass::Returning if !presented => {
                Some(format!("stored cal not presented ({outcome})"))
            }
            _ => None,
        }
    };
    ClientResult {
        licensing,
        total,
        outcome,
        presented,
        error,
    }
}

/// State the client tasks of a pass share.
struct PassShared {
    target: String,
    stores: Arc<ClientStores>,
    pass: Pass,
    total: usize,
    next: AtomicUsize,
    done: AtomicUsize,
    errors: AtomicU64,
}

/// One client task: connects clients one after the other until the pass has them all.
async fn client_task(shared: Arc<PassShared>) -> Vec<ClientResult> {
    let mut mine = Vec::new();
    loop {
        let index = shared.next.fetch_add(1, Ordering::Relaxed);
        if index >= shared.total {
            break;
        }
        let result = connect(&shared.target, &shared.stores, index, shared.pass).await;
        if result.error.is_some() {
            shared.errors.fetch_add(1, Ordering::Relaxed);
        }
        mine.push(result);
        shared.done.fetch_add(1, Ordering::Relaxed);
    }
    mine
}

/// Runs `tasks` client tasks on the current runtime; their results.
async fn client_tasks(shared: &Arc<PassShared>, tasks: usize) -> Vec<ClientResult> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..tasks {
        set.spawn(client_task(shared.clone()));
    }
    let mut results = Vec::new();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(mine) => results.extend(mine),
            Err(e) => results.push(not_run(format!("client task: {e}"))),
        }
    }
    results
}

/// A client that could not run.
fn not_run(error: String) -> ClientResult {
    ClientResult {
        licensing: None,
        total: Duration::ZERO,
        outcome: "not-run",
        presented: false,
        error: Some(error),
    }
}

/// Runs the pass's clients: `concurrency` tasks spread over `threads` threads named [`CLIENT_THREADS`], each
/// driving a current-thread runtime (epoll: a server PDU wakes no sleeping thread per client; tasks never move
/// between threads); their results and the CPU time of those threads. With one thread, the clients' share of the
/// work (about a third) could only run on one core, and the other core went idle whenever the host and the license
/// server waited for them.
fn run_clients(shared: &Arc<PassShared>, concurrency: usize, threads: usize) -> (Vec<ClientResult>, Option<Duration>) {
    let threads = threads.clamp(1, concurrency.max(1));
    std::thread::scope(|scope| {
        let spawned: Vec<_> = (0..threads)
            .map(|i| {
                // Tasks of this thread: its share of the concurrency, the remainder on the first threads.
                let tasks = concurrency / threads + usize::from(i < concurrency % threads);
                std::thread::Builder::new().name(CLIENT_THREADS.into()).spawn_scoped(scope, move || {
                    // The load generator stands for other machines: its wake-ups must not preempt the host's and
                    // the license server's work on the shared cores.
                    rdlic_server::sched::batch_this_thread();
                    let results = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                        Ok(runtime) => runtime.block_on(client_tasks(shared, tasks)),
                        Err(e) => vec![not_run(format!("client runtime: {e}"))],
                    };
                    (results, cpu_time("/proc/thread-self/stat"))
                })
            })
            .collect();
        let mut results = Vec::new();
        let mut cpu = Some(Duration::ZERO);
        for handle in spawned {
            match handle.map(std::thread::ScopedJoinHandle::join) {
                Ok(Ok((mine, thread_cpu))) => {
                    results.extend(mine);
                    cpu = cpu.zip(thread_cpu).map(|(a, b)| a + b);
                }
                Ok(Err(_panic)) => results.push(not_run("a client thread panicked".into())),
                Err(e) => results.push(not_run(format!("client thread: {e}"))),
            }
        }
        (results, cpu)
    })
}

/// Runs one pass: `clients` connections, `concurrency` at a time.
fn run_pass(target: &str, stores: &Arc<ClientStores>, options: &StormOptions, pass: Pass) -> PassFigures {
    let total = options.clients;
    let shared = Arc::new(PassShared {
        target: target.to_owned(),
        stores: stores.clone(),
        pass,
        total,
        next: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
        errors: AtomicU64::new(0),
    });
    let cpu_before = cpu_time("/proc/self/stat");
    let ls_before = license_server_cpu();
    let started = Instant::now();
    let (finished_tx, finished_rx) = std::sync::mpsc::channel::<()>();
    let (results, clients) = std::thread::scope(|scope| {
        if options.progress {
            let (done, errors) = (&shared.done, &shared.errors);
            scope.spawn(move || progress_bar(pass, total, done, errors, started, &finished_rx));
        }
        let ran = run_clients(&shared, options.concurrency.clamp(1, total.max(1)), options.client_threads);
        let _ = finished_tx.send(());
        ran
    });
    let elapsed = started.elapsed();
    let process = cpu_before.zip(cpu_time("/proc/self/stat")).map(|(a, b)| b.saturating_sub(a));
    let license_server = license_server_cpu().saturating_sub(ls_before);
    let mut figures = summarize(pass, results, elapsed);
    figures.cpu = process.zip(clients).map(|(all, clients)| PassCpu { all, clients, license_server });
    figures
}

/// Name of the simulated clients' threads.
const CLIENT_THREADS: &str = "storm-client";

/// Name of the in-process license server's threads.
const LICENSE_SERVER_THREADS: &str = "storm-ls";

/// CPU time so far of the in-process license server: its runtime's threads and the signing threads (the host
/// signs nothing).
fn license_server_cpu() -> Duration {
    threads_cpu(LICENSE_SERVER_THREADS) + threads_cpu(rdlic_server::SIGNING_THREADS)
}

/// CPU time so far of this process's threads named `name`.
fn threads_cpu(name: &str) -> Duration {
    cpu_by_name("/proc/self/task", name).values().sum()
}

/// A one-line progress bar on stderr, redrawn five times a second until the pass ends.
fn progress_bar(
    pass: Pass,
    total: usize,
    done: &AtomicUsize,
    errors: &AtomicU64,
    started: Instant,
    finished: &std::sync::mpsc::Receiver<()>,
) {
    const WIDTH: usize = 30;
    let draw = |final_draw: bool| {
        let n = done.load(Ordering::Relaxed);
        let filled = (n * WIDTH).checked_div(total).unwrap_or(WIDTH).min(WIDTH);
        let rate = count_f64(n) / started.elapsed().as_secs_f64().max(1e-9);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r  {:<9} [{}{}] {n}/{total}  {rate:>7.0} conn/s  {} errors{}",
            pass.name(),
            "#".repeat(filled),
            "-".repeat(WIDTH - filled),
            errors.load(Ordering::Relaxed),
            if final_draw { "\n" } else { "" }
        );
        let _ = err.flush();
    };
    loop {
        match finished.recv_timeout(Duration::from_millis(200)) {
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => draw(false),
            _ => {
                draw(true);
                return;
            }
        }
    }
}

fn summarize(pass: Pass, results: Vec<ClientResult>, elapsed: Duration) -> PassFigures {
    let mut licensing: Vec<Duration> = results.iter().filter_map(|r| r.licensing).collect();
    let mut totals: Vec<Duration> = results.iter().map(|r| r.total).collect();
    licensing.sort_unstable();
    totals.sort_unstable();
    let mut outcomes: Vec<(&'static str, usize)> = Vec::new();
    for r in &results {
        match outcomes.iter_mut().find(|(k, _)| *k == r.outcome) {
            Some((_, n)) => *n += 1,
            None => outcomes.push((r.outcome, 1)),
        }
    }
    outcomes.sort_unstable();
    let mut first_errors: Vec<String> = Vec::new();
    for e in results.iter().filter_map(|r| r.error.as_ref()) {
        if first_errors.len() < 5 && !first_errors.contains(e) {
            first_errors.push(e.clone());
        }
    }
    PassFigures {
        pass,
        clients: results.len(),
        elapsed,
        errors: results.iter().filter(|r| r.error.is_some()).count(),
        presented: results.iter().filter(|r| r.presented).count(),
        outcomes,
        licensing_p50: percentile(&licensing, 50),
        licensing_p99: percentile(&licensing, 99),
        total_p50: percentile(&totals, 50),
        total_p99: percentile(&totals, 99),
        first_errors,
        cpu: None,
    }
}

/// Runs `op` on every core for `seconds`; operations per second, all cores.
fn all_cores<S, F>(cores: usize, seconds: f64, setup: S) -> anyhow::Result<f64>
where
    S: Fn() -> anyhow::Result<F> + Sync,
    F: FnMut() -> anyhow::Result<()>,
{
    let duration = Duration::from_secs_f64(seconds.max(0.05));
    let counts: anyhow::Result<Vec<u64>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..cores)
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<u64> {
                    let mut op = setup()?;
                    let started = Instant::now();
                    let mut n = 0u64;
                    while started.elapsed() < duration {
                        op()?;
                        n += 1;
                    }
                    Ok(n)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| anyhow::anyhow!("a floor thread panicked"))?)
            .collect()
    });
    let total: u64 = counts?.iter().sum();
    Ok(f64::from(u32::try_from(total).unwrap_or(u32::MAX)) / duration.as_secs_f64())
}

/// One full TLS handshake between a rustls client and server in memory (both sides' crypto, no sockets).
fn tls_handshake(
    client: &Arc<rustls::ClientConfig>,
    server: &Arc<rustls::ServerConfig>,
) -> anyhow::Result<()> {
    let name = rustls::pki_types::ServerName::try_from("localhost")?;
    let mut c = rustls::ClientConnection::new(client.clone(), name)?;
    let mut s = rustls::ServerConnection::new(server.clone())?;
    let mut buf = Vec::with_capacity(8192);
    for _ in 0..16 {
        if !c.is_handshaking() && !s.is_handshaking() && !c.wants_write() && !s.wants_write() {
            return Ok(());
        }
        buf.clear();
        while c.wants_write() {
            c.write_tls(&mut buf)?;
        }
        let mut rd = buf.as_slice();
        while !rd.is_empty() {
            s.read_tls(&mut rd)?;
            s.process_new_packets()?;
        }
        buf.clear();
        while s.wants_write() {
            s.write_tls(&mut buf)?;
        }
        let mut rd = buf.as_slice();
        while !rd.is_empty() {
            c.read_tls(&mut rd)?;
            c.process_new_packets()?;
        }
    }
    anyhow::bail!("the tls handshake did not finish")
}

/// What the floor measures with: made once, measured before and after the passes.
struct FloorBench {
    cores: usize,
    server_config: Arc<rustls::ServerConfig>,
    client_config: Arc<rustls::ClientConfig>,
    rsa: openssl::rsa::Rsa<openssl::pkey::Private>,
    public: openssl::rsa::Rsa<openssl::pkey::Public>,
    secret: [u8; 48],
    encrypted: Vec<u8>,
    pkey: openssl::pkey::PKey<openssl::pkey::Private>,
}

impl FloorBench {
    /// The host's kind of TLS certificate (made in `tmp`), an RSA-2048 key, a premaster secret encrypted to it.
    fn new(tmp: &Path) -> anyhow::Result<Self> {
        use openssl::rsa::{Padding, Rsa};

        let cores = std::thread::available_parallelism()
            .map(std::num::NonZeroUsize::get)
            .unwrap_or(1);
        let (cert, key) = rdlic_host::tls::ensure_certificate(&tmp.join("floor"), None, "storm-host")?;
        let rsa = Rsa::generate(2048)?;
        let public = Rsa::from_public_components(rsa.n().to_owned()?, rsa.e().to_owned()?)?;
        let mut secret = [0u8; 48];
        openssl::rand::rand_bytes(&mut secret)?;
        let mut encrypted = vec![0u8; public.size().try_into().unwrap_or(256)];
        let len = public.public_encrypt(&secret, &mut encrypted, Padding::PKCS1)?;
        encrypted.truncate(len);
        Ok(Self {
            cores,
            server_config: rdlic_host::tls::server_config(&cert, &key)?,
            client_config: accept_any_client_config()?,
            pkey: openssl::pkey::PKey::from_rsa(rsa.clone())?,
            rsa,
            public,
            secret,
            encrypted,
        })
    }

    /// Measures the floor: TLS handshakes, RSA-2048 private decryptions and public encryptions (with a key object
    /// made once, as `openssl speed` does), RSA-2048 SHA-256 signatures, each on all cores for `seconds`.
    fn measure(&self, seconds: f64) -> anyhow::Result<Floor> {
        use openssl::hash::MessageDigest;
        use openssl::rsa::Padding;

        let cores = self.cores;
        let tls_handshakes = all_cores(cores, seconds, || {
            let (c, s) = (self.client_config.clone(), self.server_config.clone());
            Ok(move || tls_handshake(&c, &s))
        })?;
        let rsa_private = all_cores(cores, seconds, || {
            let mut out = vec![0u8; 256];
            Ok(move || {
                self.rsa.private_decrypt(&self.encrypted, &mut out, Padding::PKCS1)?;
                Ok(())
            })
        })?;
        let rsa_public = all_cores(cores, seconds, || {
            let mut out = vec![0u8; 256];
            Ok(move || {
                self.public.public_encrypt(&self.secret, &mut out, Padding::PKCS1)?;
                Ok(())
            })
        })?;
        let tbs = [0x5au8; 600];
        let cal_signatures = all_cores(cores, seconds, || {
            Ok(move || {
                let mut signer = openssl::sign::Signer::new(MessageDigest::sha256(), &self.pkey)?;
                signer.update(&tbs)?;
                signer.sign_to_vec()?;
                Ok(())
            })
        })?;
        Ok(Floor {
            cores,
            tls_handshakes,
            rsa_private,
            rsa_public,
            cal_signatures,
        })
    }
}

/// Everything measured.
struct StormReport {
    target: String,
    in_process: bool,
    concurrency: usize,
    client_threads: usize,
    passes: Vec<PassFigures>,
    /// The floor measured before and after the passes.
    floors: Option<(Floor, Floor)>,
    floor_error: Option<String>,
    load_average: Option<String>,
}

impl StormReport {
    /// The mean of the floors measured before and after the passes.
    fn floor(&self) -> Option<Floor> {
        self.floors.map(|(before, after)| before.mean(&after))
    }

    fn errors(&self) -> usize {
        self.passes.iter().map(|p| p.errors).sum()
    }

    fn json(&self) -> serde_json::Value {
        let floor = self.floor().map(|f| {
            serde_json::json!({
                "cores": f.cores,
                "tls_handshakes_per_second": f.tls_handshakes,
                "rsa2048_private_per_second": f.rsa_private,
                "rsa2048_public_per_second": f.rsa_public,
                "cal_signatures_per_second": f.cal_signatures,
                "new_device_connections_per_second": f.new_device(),
                "returning_device_connections_per_second": f.returning_device(),
                "new_device_connections_per_second_host_rsa_only": f.new_device_host_rsa_only(),
                "new_device_before_passes": self.floors.map(|(b, _)| b.new_device()),
                "new_device_after_passes": self.floors.map(|(_, a)| a.new_device()),
            })
        });
        let new_ratio = self.floor().and_then(|f| {
            self.passes
                .iter()
                .find(|p| p.pass == Pass::New)
                .map(|p| p.per_second() / f.new_device().max(1e-9))
        });
        serde_json::json!({
            "target": self.target,
            "in_process": self.in_process,
            "concurrency": self.concurrency,
            "client_threads": self.client_threads,
            "passes": self.passes.iter().map(PassFigures::json).collect::<Vec<_>>(),
            "errors": self.errors(),
            "floor": floor,
            "floor_error": self.floor_error,
            "new_over_floor": new_ratio,
            "load_average": self.load_average,
        })
    }
}

impl std::fmt::Display for StormReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let where_ = if self.in_process {
            "in-process host + license server (SQLite)"
        } else {
            "existing host"
        };
        writeln!(
            f,
            "rdlic bench storm — {} at {}, concurrency {} on {} client thread(s)",
            where_, self.target, self.concurrency, self.client_threads
        )?;
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        for p in &self.passes {
            let outcomes: Vec<String> = p.outcomes.iter().map(|(k, n)| format!("{k} {n}")).collect();
            writeln!(
                f,
                "  {:<9} {:>7.1} conn/s  licensing p50 {:>7.2} ms  p99 {:>7.2} ms  connection p50 {:>7.2} ms  p99 {:>7.2} ms  ({} clients, {} errors; {})",
                p.pass.name(),
                p.per_second(),
                ms(p.licensing_p50),
                ms(p.licensing_p99),
                ms(p.total_p50),
                ms(p.total_p99),
                p.clients,
                p.errors,
                outcomes.join(", ")
            )?;
            for e in &p.first_errors {
                writeln!(f, "            error: {e}")?;
            }
            if let Some(cpu) = p.cpu {
                let per = |d: Duration| d.as_secs_f64() * 1e6 / count_f64(p.clients.max(1));
                writeln!(
                    f,
                    "            CPU per connection {:.0} µs: simulated clients {:.0} µs, host {:.0} µs, license server {:.0} µs",
                    per(cpu.all),
                    per(cpu.clients),
                    per(cpu.host()),
                    per(cpu.license_server)
                )?;
            }
        }
        match (&self.floor(), &self.floor_error) {
            (Some(fl), _) => {
                writeln!(
                    f,
                    "  floor ({} cores): TLS handshakes (rustls, both sides) {:.0}/s, RSA-2048 private {:.0}/s, RSA-2048 public {:.0}/s, CAL signatures (RSA-2048 SHA-256) {:.0}/s",
                    fl.cores, fl.tls_handshakes, fl.rsa_private, fl.rsa_public, fl.cal_signatures
                )?;
                writeln!(
                    f,
                    "  floor per connection: new device {:.0}/s, returning device (no signature) {:.0}/s",
                    fl.new_device(),
                    fl.returning_device()
                )?;
                if let Some((before, after)) = self.floors {
                    writeln!(
                        f,
                        "  (mean of the floors measured before and after the passes: new device {:.0}/s and {:.0}/s)",
                        before.new_device(),
                        after.new_device()
                    )?;
                }
                writeln!(
                    f,
                    "  crypto CPU per connection (cores / floor rate): new device {:.0} µs, returning device {:.0} µs",
                    count_f64(fl.cores) * 1e6 / fl.new_device().max(1e-9),
                    count_f64(fl.cores) * 1e6 / fl.returning_device().max(1e-9)
                )?;
                for p in &self.passes {
                    let floor = if p.pass == Pass::New || p.pass == Pass::Upgrade {
                        fl.new_device()
                    } else {
                        fl.returning_device()
                    };
                    writeln!(
                        f,
                        "  {:<9} / floor: {:.0} %",
                        p.pass.name(),
                        100.0 * p.per_second() / floor.max(1e-9)
                    )?;
                }
                if let Some(new) = self.passes.iter().find(|p| p.pass == Pass::New) {
                    writeln!(
                        f,
                        "  (new / floor without the client's RSA public operation, as the earlier figures counted it: {:.0} %)",
                        100.0 * new.per_second() / fl.new_device_host_rsa_only().max(1e-9)
                    )?;
                }
            }
            (None, Some(e)) => writeln!(f, "  floor: not measured ({e})")?,
            (None, None) => writeln!(f, "  floor: not measured")?,
        }
        if let Some(load) = &self.load_average {
            writeln!(f, "  load average (1, 5, 15 min) at the end: {load}")?;
        }
        writeln!(f, "  errors: {}", self.errors())
    }
}

fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

/// Runs the storm; prints the report (text or JSON). Exit code 1 when any connection failed.
pub fn run(options: &StormOptions, json: bool) -> anyhow::Result<std::process::ExitCode> {
    let tmp: PathBuf = std::env::temp_dir().join(format!("rdlic-storm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let result = run_in(&tmp, options);
    let _ = std::fs::remove_dir_all(&tmp);
    let report = result?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report.json())?);
    } else {
        print!("{report}");
    }
    Ok(if report.errors() == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}

fn run_passes(target: &str, options: &StormOptions) -> Vec<PassFigures> {
    let stores: Arc<ClientStores> = Arc::new((0..options.clients).map(|_| Default::default()).collect());
    let mut passes = vec![run_pass(target, &stores, options, Pass::New)];
    if options.returning {
        passes.push(run_pass(target, &stores, options, Pass::Upgrade));
        passes.push(run_pass(target, &stores, options, Pass::Returning));
    }
    passes
}

fn run_in(tmp: &Path, options: &StormOptions) -> anyhow::Result<StormReport> {
    // The runtimes as `rdlic host run` and `rdlic server run` build them.
    let rt = rdlic_server::sched::batch_runtime().thread_name("storm-host").build().context("cannot start tokio")?;
    let ls_rt =
        rdlic_server::sched::batch_runtime().thread_name(LICENSE_SERVER_THREADS).build().context("cannot start tokio")?;
    let permanent = u32::try_from(options.clients)
        .unwrap_or(u32::MAX)
        .saturating_add(16);
    let mut in_process = match &options.host {
        Some(_) => None,
        None => Some(rt.block_on(start_in_process(tmp, permanent, ls_rt.handle()))?),
    };
    let target = match (&options.host, &in_process) {
        (Some(host), _) => host.clone(),
        (None, Some(p)) => p.target.clone(),
        (None, None) => anyhow::bail!("no host to connect to"),
    };
    // The floor is measured before and after the passes (half the time each) and the mean is used: the speed of
    // a shared virtual machine drifts by 10-30 % within minutes, and the passes run between the two.
    let half = options.floor_seconds / 2.0;
    let before = FloorBench::new(tmp).and_then(|bench| {
        let floor = bench.measure(half)?;
        Ok((bench, floor))
    });
    let passes = run_passes(&target, options);
    if let Some(p) = in_process.as_mut() {
        p.host_task.abort();
        if let Some(server) = p.server.take() {
            ls_rt.block_on(server.shutdown());
        }
    }
    let measured = before.and_then(|(bench, before)| Ok((before, bench.measure(half)?)));
    let (floors, floor_error) = match measured {
        Ok(pair) => (Some(pair), None),
        Err(e) => (None, Some(format!("{e:#}"))),
    };
    Ok(StormReport {
        target,
        in_process: options.host.is_none(),
        concurrency: options.concurrency,
        client_threads: options.client_threads,
        passes,
        floors,
        floor_error,
        load_average: load_average(),
    })
}

/// A rustls client configuration that accepts any server certificate but checks the handshake signatures with it
/// (as the storm's clients do: the handshake costs what a real one costs).
fn accept_any_client_config() -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(rdlic_api::client::AcceptAnyServerCertificate(provider.clone()));
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    // Every storm client is a new process with no session to resume: each handshake of the floor is a full one.
    config.resumption = rustls::client::Resumption::disabled();
    Ok(Arc::new(config))
}

