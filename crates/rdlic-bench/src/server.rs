//! The server benchmark behind `rdlic bench server` (a benchmark, not a test: it prints figures, asserts nothing).
//!
//! Starts a real server on 127.0.0.1 (real TLS, the real store: SQLite in a temp data dir, or `--database`), enrolls
//! N hosts, then for a fixed time each phase drives N concurrent hosts over keep-alive mutual-TLS connections:
//! per-device CAL issuance (a new device each request: a committed row + audit + an RSA-2048 signature), status,
//! and per-user refresh. In the same run it measures two floors: the RSA-2048 signature rate of the machine
//! (`openssl speed`, all cores) and the durable single-row insert rate of the same database
//! (`LicenseStore::measure_durable_inserts`).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdlic_api::client::{AdminClient, DeviceCalAsk, LicenseServerClient};
use rdlic_server::{start, ServerOptions};

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Concurrent hosts.
    pub hosts: usize,
    /// Time per phase.
    pub duration: Duration,
    /// `postgres://...`: a server on which the bench creates (and drops) a scratch database (default: SQLite in a
    /// temp data dir).
    pub database: Option<String>,
    /// Group-commit batch size of the server.
    pub max_batch: usize,
    /// Durable single-row inserts for the database floor.
    pub floor_rows: u32,
    /// CALs written straight into the store (batches of 1000) before the issuance phase, to see whether latency
    /// stays flat as the database grows.
    pub prefill: u64,
    /// Only the issuance phase (for profiling it).
    pub issuance_only: bool,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            hosts: 64,
            duration: Duration::from_secs(5),
            database: None,
            max_batch: 64,
            floor_rows: 300,
            prefill: 0,
            issuance_only: false,
        }
    }
}

/// Figures of one phase.
#[derive(Debug, Clone, Default)]
pub struct PhaseFigures {
    /// Successful requests.
    pub requests: u64,
    /// Failed requests.
    pub errors: u64,
    /// Requests per second.
    pub per_second: f64,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
    /// CPU time of the whole process (server and hosts) per successful request, if `/proc` tells.
    pub cpu_per_request: Option<Duration>,
    /// CPU time of the PostgreSQL server processes on this machine per successful request (none with SQLite, or
    /// when the database server runs elsewhere).
    pub database_cpu_per_request: Option<Duration>,
}

/// Everything measured.
#[derive(Debug, Clone, Default)]
pub struct BenchReport {
    /// Store backend.
    pub backend: String,
    /// Concurrent hosts.
    pub hosts: usize,
    /// Per-device CAL issuance.
    pub issuance: PhaseFigures,
    /// Status calls.
    pub status: PhaseFigures,
    /// Per-user refresh.
    pub user_refresh: PhaseFigures,
    /// RSA-2048 signatures per second, all cores (`openssl speed`), if openssl ran.
    pub signature_floor: Option<f64>,
    /// Durable single-row inserts per second of the same database.
    pub insert_floor: f64,
    /// Resident set size of this process (server and clients) at the end, KiB.
    pub rss_kib: Option<u64>,
    /// CALs issued by the issuance phase.
    pub cals_issued: u64,
    /// CALs prefilled before the issuance phase, and how long it took.
    pub prefilled: (u64, Duration),
}

/// The benchmark could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// The server did not start.
    #[error(transparent)]
    Start(#[from] rdlic_server::StartError),
    /// A setup call failed.
    #[error("setup: {0}")]
    Setup(String),
}

fn setup<E: fmt::Display>(e: E) -> BenchError {
    BenchError::Setup(e.to_string())
}

fn figures(mut latencies: Vec<Duration>, errors: u64, elapsed: Duration) -> PhaseFigures {
    latencies.sort_unstable();
    let pick = |q: usize| latencies.get((latencies.len().saturating_sub(1)) * q / 100).copied().unwrap_or_default();
    let requests = u64::try_from(latencies.len()).unwrap_or(u64::MAX);
    let secs = elapsed.as_secs_f64().max(1e-9);
    PhaseFigures {
        requests,
        errors,
        per_second: f64::from(u32::try_from(requests).unwrap_or(u32::MAX)) / secs,
        p50: pick(50),
        p99: pick(99),
        cpu_per_request: None,
        database_cpu_per_request: None,
    }
}

/// User + system CPU time from a `/proc` stat file: `/proc/self/stat` for the process, `/proc/thread-self/stat` for
/// the calling thread (clock ticks of 10 ms).
pub fn cpu_time(stat: &str) -> Option<Duration> {
    stat_cpu(&std::fs::read_to_string(stat).ok()?)
}

fn stat_cpu(text: &str) -> Option<Duration> {
    // The fields after the command name, which is in parentheses and may contain spaces.
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis((utime + stime).saturating_mul(10)))
}

/// The machine's CPU time so far, from the `cpu` line of `/proc/stat`: every state, and the part stolen by the
/// hypervisor (time the virtual CPUs were ready but another guest ran). `None` where there is no `/proc/stat`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MachineCpu {
    /// All states summed (user, nice, system, idle, iowait, irq, softirq, steal), all cores.
    pub total: Duration,
    /// Stolen.
    pub steal: Duration,
}

impl MachineCpu {
    /// Now.
    pub fn now() -> Option<Self> {
        Self::parse(&std::fs::read_to_string("/proc/stat").ok()?)
    }

    fn parse(text: &str) -> Option<Self> {
        let line = text.lines().find(|l| l.starts_with("cpu "))?;
        let ticks: Vec<u64> = line.split_whitespace().skip(1).take(8).map(|f| f.parse().ok()).collect::<Option<_>>()?;
        // USER_HZ is 100 on Linux for every architecture rdlic builds for.
        let ms = |t: u64| Duration::from_millis(t.saturating_mul(10));
        Some(Self { total: ms(ticks.iter().sum()), steal: ms(*ticks.get(7)?) })
    }

    /// The CPU time this machine was given between `self` and `later`: all cores, minus the stolen time.
    pub fn available_until(&self, later: &Self) -> Duration {
        later.total.saturating_sub(self.total).saturating_sub(later.steal.saturating_sub(self.steal))
    }

    /// The stolen part of all CPU time between `self` and `later` (0 to 1).
    pub fn steal_share_until(&self, later: &Self) -> f64 {
        let total = later.total.saturating_sub(self.total).as_secs_f64();
        if total <= 0.0 {
            return 0.0;
        }
        later.steal.saturating_sub(self.steal).as_secs_f64() / total
    }
}

/// CPU time so far of every process (`dir` = `/proc`) or thread of this process (`/proc/self/task`) whose command
/// name is `name`, by id.
pub fn cpu_by_name(dir: &str, name: &str) -> std::collections::HashMap<u32, Duration> {
    let mut found = std::collections::HashMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return found };
    for entry in entries.flatten() {
        let Some(id) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(text) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        let comm = text.split_once('(').and_then(|(_, rest)| rest.rsplit_once(')')).map(|(c, _)| c);
        if comm == Some(name) {
            if let Some(cpu) = stat_cpu(&text) {
                found.insert(id, cpu);
            }
        }
    }
    found
}

/// Runs `op` from `clients.len()` tasks for `duration` on the clients' runtime; `op(client, task, i)`.
async fn phase<F, Fut>(
    rt: &tokio::runtime::Handle,
    clients: &[Arc<LicenseServerClient>],
    duration: Duration,
    op: F,
) -> PhaseFigures
where
    F: Fn(Arc<LicenseServerClient>, u32, u32) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let started = Instant::now();
    let cpu_before = cpu_time("/proc/self/stat");
    let db_before = cpu_by_name("/proc", "postgres");
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for (t, c) in clients.iter().enumerate() {
        let c = c.clone();
        let op = op.clone();
        let t = u32::try_from(t).unwrap_or(u32::MAX);
        tasks.push(rt.spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            let mut i = 0u32;
            while Instant::now() < deadline {
                let s = Instant::now();
                if op(c.clone(), t, i).await {
                    lat.push(s.elapsed());
                } else {
                    errors += 1;
                }
                i = i.wrapping_add(1);
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((l, e)) = t.await {
            all.extend(l);
            errors += e;
        }
    }
    let mut f = figures(all, errors, started.elapsed());
    if let (Some(before), Some(after), Ok(n @ 1..)) = (cpu_before, cpu_time("/proc/self/stat"), u32::try_from(f.requests)) {
        f.cpu_per_request = Some(after.saturating_sub(before) / n);
    }
    if let Ok(n @ 1..) = u32::try_from(f.requests) {
        let after = cpu_by_name("/proc", "postgres");
        // Processes that started during the phase (new pool connections) count from zero.
        let used: Duration = after
            .iter()
            .map(|(pid, cpu)| cpu.saturating_sub(db_before.get(pid).copied().unwrap_or_default()))
            .sum();
        if !after.is_empty() {
            f.database_cpu_per_request = Some(used / n);
        }
    }
    f
}


fn device(task: u32, i: u32) -> DeviceCalAsk {
    let mut hw = [0u8; 20];
    hw[..4].copy_from_slice(&0x0201_0000u32.to_le_bytes());
    hw[4..8].copy_from_slice(&task.to_le_bytes());
    hw[8..12].copy_from_slice(&i.to_le_bytes());
    let mut r = [0u8; 8];
    let _ = openssl::rand::rand_bytes(&mut r);
    hw[12..20].copy_from_slice(&r);
    DeviceCalAsk {
        hardware_id: hw,
        client_machine: format!("BENCH-{task}-{i}"),
        user: "bench".to_owned(),
        platform_id: 0x0201_0000,
        host_version: 2022,
        presented_serial: None,
        request_id: None,
    }
}

/// `openssl speed -seconds 2 -multi CORES rsa2048`: total RSA-2048 signatures per second.
fn openssl_speed() -> Option<f64> {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let out = std::process::Command::new("openssl")
        .args(["speed", "-seconds", "2", "-multi", &cores.to_string(), "rsa2048"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "+F2:...:rsa:2048:<sign s>:<verify s>" lines per process, or the summary "rsa 2048 bits ... sign/s".
    let line = text.lines().find(|l| l.trim_start().starts_with("rsa 2048 bits") || l.trim_start().starts_with("rsa  2048 bits"))?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    // rsa 2048 bits 0.000xyz s 0.0000abc s SIGN/s VERIFY/s
    fields.get(fields.len().checked_sub(2)?)?.parse().ok()
}

fn rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs the benchmark.
pub async fn run(opts: BenchOptions) -> Result<BenchReport, BenchError> {
    let tmp = std::env::temp_dir().join(format!("rdlic-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let data: PathBuf = tmp.join("data");
    std::fs::create_dir_all(&tmp).map_err(setup)?;
    let ch = rdlic_core::Clearinghouse::from_private_key(openssl::pkey::PKey::generate_ed25519().map_err(setup)?)
        .map_err(setup)?;
    let ch_pub = tmp.join("clearinghouse.pub");
    std::fs::write(&ch_pub, ch.public_key().to_pem().map_err(setup)?).map_err(setup)?;
    let mut so = ServerOptions::new(data.clone());
    so.clearinghouse_key = Some(ch_pub);
    // A scratch database on the given server: each run initialises a new license server identity in it, so that
    // runs can follow one another on one server; dropped at the end.
    let scratch = match opts.database.clone() {
        Some(url) => Some(
            tokio::task::spawn_blocking(move || rdlic_store::ScratchDatabase::create(&url, "rdlic_bench"))
                .await
                .map_err(setup)?
                .map_err(setup)?,
        ),
        None => None,
    };
    so.database = scratch.as_ref().map(|s| s.url().to_owned());
    so.max_batch = opts.max_batch;
    let server = start(so).await?;
    let admin = AdminClient::from_data_dir(&data, Some(&server.url)).map_err(setup)?;

    // Activate and install a per-user pack so per-user refreshes are real checkouts.
    crate::setup::activate_with_pack(&admin, &ch, rdlic_core::CalType::PerUser, 100_000)
        .await
        .map_err(|e| setup(format!("{e:#}")))?;

    let ca = std::fs::read(data.join(rdlic_server::datadir::CA_CERT_FILE)).map_err(setup)?;
    let mut clients = Vec::new();
    for h in 0..opts.hosts {
        let t = admin.post("/api/v1/admin/enroll-tokens", &serde_json::json!({})).await.map_err(setup)?;
        let token = t.get("token").and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        let dir = tmp.join(format!("host{h}"));
        LicenseServerClient::enroll(&server.url, &token, &format!("bench-host-{h}"), &dir, Some(&ca))
            .await
            .map_err(setup)?;
        clients.push(Arc::new(LicenseServerClient::from_dir(&dir, None).map_err(setup)?));
    }

    let now = i64::try_from(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_err(setup)?.as_secs(),
    )
    .unwrap_or(0);
    let prefill_started = Instant::now();
    let mut prefilled = 0u64;
    while prefilled < opts.prefill {
        let n = (opts.prefill - prefilled).min(1000);
        let store = server.state.store().clone();
        let base = prefilled;
        tokio::task::spawn_blocking(move || {
            let t = now;
            let reqs: Vec<rdlic_store::DeviceCalRequest> = (0..n)
                .map(|k| {
                    let mut hw = [0xeeu8; 20];
                    hw[4..12].copy_from_slice(&(base + k).to_le_bytes());
                    rdlic_store::DeviceCalRequest {
                        hardware_id: rdlic_core::HardwareId(hw),
                        client_name: "PREFILL".to_owned(),
                        user_name: "prefill".to_owned(),
                        host_name: "bench-host-0".to_owned(),
                        host_version: rdlic_core::CalVersion(2022),
                        now: t,
                        random: base + k,
                    }
                })
                .collect();
            let r = store.request_device_cals(&reqs);
            drop(store);
            r
        })
        .await
        .map_err(setup)?
        .map_err(setup)?;
        prefilled += n;
    }
    let prefill_time = prefill_started.elapsed();

    // The simulated hosts run on their own one-thread runtime (`bench-host`), apart from the server's, as they would
    // in their own process; `perf --sort comm` splits the CPU between the two. They need a tenth of the CPU: one
    // thread is enough and leaves the cores to the server.
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name("bench-host")
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(setup)?;
    let crt = client_rt.handle().clone();
    let issuance = phase(&crt, &clients, opts.duration, |c, t, i| async move {
        c.issue_device_cal(&device(t, i)).await.is_ok()
    })
    .await;
    let cheap = if opts.issuance_only { Duration::ZERO } else { opts.duration };
    let status = phase(&crt, &clients, cheap, |c, _, _| async move { c.status().await.is_ok() }).await;
    let user_refresh = phase(&crt, &clients, cheap, |c, t, i| async move {
        // Each host's ten users sign in again and again: after the first round every call is a refresh.
        c.checkout_user_cal(&format!("BENCH\\user{}", (t.wrapping_mul(10)).wrapping_add(i % 10)), 2022).await.is_ok()
    })
    .await;

    drop(clients);
    client_rt.shutdown_background();
    let store = server.state.store().clone();
    let rows = opts.floor_rows;
    let floor = tokio::task::spawn_blocking(move || {
        let r = store.measure_durable_inserts(rows);
        // Drop the store clone here, off the runtime.
        drop(store);
        r
    })
    .await
    .map_err(setup)?
    .map_err(setup)?;
    let insert_floor = f64::from(rows) / floor.as_secs_f64().max(1e-9);
    let signature_floor = tokio::task::spawn_blocking(openssl_speed).await.ok().flatten();
    let backend = server.state.store().backend_name().to_owned();
    // Only a PostgreSQL store is served by those processes (an unrelated cluster may run beside a SQLite bench).
    let (mut issuance, mut status, mut user_refresh) = (issuance, status, user_refresh);
    if backend != "postgres" {
        for p in [&mut issuance, &mut status, &mut user_refresh] {
            p.database_cpu_per_request = None;
        }
    }
    let cals_issued = server.state.metrics.issuance_count("temporary", "ok");
    let rss = rss_kib();
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&tmp);
    if let Some(scratch) = scratch {
        if let Ok(Err(e)) = tokio::task::spawn_blocking(move || scratch.remove()).await {
            tracing::warn!(error = %e, "cannot drop the bench's scratch database");
        }
    }
    Ok(BenchReport {
        backend,
        hosts: opts.hosts,
        issuance,
        status,
        user_refresh,
        signature_floor,
        insert_floor,
        rss_kib: rss,
        cals_issued,
        prefilled: (prefilled, prefill_time),
    })
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "rdlic bench server — {} store, {} concurrent hosts, keep-alive mutual TLS", self.backend, self.hosts)?;
        if self.prefilled.0 > 0 {
            writeln!(
                f,
                "  database prefilled with {} CALs in {:.1} s before the issuance phase",
                self.prefilled.0,
                self.prefilled.1.as_secs_f64()
            )?;
        }
        for (name, p) in
            [("CAL issuance", &self.issuance), ("status", &self.status), ("per-user refresh", &self.user_refresh)]
        {
            if p.requests == 0 && p.errors == 0 {
                continue;
            }
            writeln!(
                f,
                "  {name:<17} {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  ({} ok, {} errors{})",
                p.per_second,
                p.p50.as_secs_f64() * 1000.0,
                p.p99.as_secs_f64() * 1000.0,
                p.requests,
                p.errors,
                p.cpu_per_request
                    .map(|c| format!(", {:.0} µs CPU per request", c.as_secs_f64() * 1e6))
                    .unwrap_or_default()
                    + &p.database_cpu_per_request
                        .map(|c| format!(" + {:.0} µs in PostgreSQL", c.as_secs_f64() * 1e6))
                        .unwrap_or_default()
            )?;
        }
        match self.signature_floor {
            Some(s) => {
                writeln!(f, "  floor: RSA-2048 signatures (openssl speed, all cores) {s:>9.0} /s")?;
                writeln!(f, "  issuance / signature floor: {:.0} %", 100.0 * self.issuance.per_second / s.max(1e-9))?;
                if let Some(c) = self.issuance.cpu_per_request {
                    // openssl speed counts CPU time: one signature costs cores / rate of CPU. A PostgreSQL server on
                    // this machine spends the same cores.
                    let c = c + self.issuance.database_cpu_per_request.unwrap_or_default();
                    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
                    let sig_cpu = f64::from(u32::try_from(cores).unwrap_or(1)) / s.max(1e-9);
                    writeln!(
                        f,
                        "  CPU per issuance {:.0} µs{} = {:.2} signatures' worth (≤ 2.00 reaches 50 % of the floor on an idle machine)",
                        c.as_secs_f64() * 1e6,
                        if self.issuance.database_cpu_per_request.is_some() { " with PostgreSQL's" } else { "" },
                        c.as_secs_f64() / sig_cpu.max(1e-12)
                    )?;
                }
            }
            None => writeln!(f, "  floor: openssl speed did not run")?,
        }
        writeln!(f, "  floor: durable single-row inserts ({}) {:>9.0} /s", self.backend, self.insert_floor)?;
        writeln!(f, "  CALs issued in the run: {}", self.cals_issued)?;
        if let Some(r) = self.rss_kib {
            writeln!(f, "  RSS (server + clients in one process): {:.1} MiB", f64::from(u32::try_from(r).unwrap_or(u32::MAX)) / 1024.0)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn machine_cpu_reads_the_cpu_line_and_its_steal_field() {
        let text = "cpu  100 5 50 1000 3 0 2 40 0 0\ncpu0 50 2 25 500 1 0 1 20 0 0\n";
        let c = MachineCpu::parse(text).unwrap();
        assert_eq!(c.total, Duration::from_millis(1200 * 10));
        assert_eq!(c.steal, Duration::from_millis(400));
        let later = MachineCpu { total: c.total + Duration::from_secs(2), steal: c.steal + Duration::from_millis(500) };
        assert_eq!(c.available_until(&later), Duration::from_millis(1500));
        assert!((c.steal_share_until(&later) - 0.25).abs() < 1e-9);
        assert_eq!(MachineCpu::parse("intr 1 2\n"), None);
    }
}
