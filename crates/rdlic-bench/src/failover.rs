//! `rdlic bench storm --servers N --kill-one-after SECONDS` and the chaos test: several `rdlic server` processes
//! on one PostgreSQL database; `rdlic host run` processes listing them all in `SpecifiedLicenseServers`, host `i`
//! starting its list at server `i` as a site's hosts would be spread over its servers, so that every server issues
//! from the same key pack at once; simulated RDP clients (`rdlic_diag::probe`, real TCP + TLS + RDP + MS-RDPELE)
//! connecting continuously; and license servers killed with SIGKILL (`kill -9`) and restarted on a schedule.
//!
//! Every device connects twice, one connection after the other: first without a CAL (a temporary CAL is issued),
//! then presenting it (upgraded to a permanent CAL while the key pack lasts). Afterwards the run reads the database
//! directly (`rdlic_store`) and the host's `decisions.jsonl`, and reports what a failover must not break: permanent
//! CALs over the installed count, devices holding two active permanent CALs, CALs a client received that the
//! database does not hold, refusals missing from the decision log, refusals and errors while a server lived.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rdlic_api::client::{AdminClient, LicenseServerClient};
use rdlic_diag::probe::{self, LicensingResult, ProbeOptions};
use rdlic_host::config::HostConfig;
use rdpele::client::{LicenseKey, LicenseStore, MemoryLicenseStore};

/// What to run.
#[derive(Debug, Clone)]
pub struct FailoverOptions {
    /// The `rdlic` binary (servers and host run as processes of it).
    pub exe: PathBuf,
    /// An empty PostgreSQL database the servers share.
    pub database: String,
    /// Working directory (data dirs, logs).
    pub dir: PathBuf,
    /// License servers (at least 1).
    pub servers: usize,
    /// Session hosts (at least 1); host `i` lists the servers from server `i % servers` on, the others after it in
    /// order, and the clients are spread evenly over the hosts.
    pub hosts: usize,
    /// Permanent CALs in the key pack.
    pub permanent: u32,
    /// Clients connecting at once.
    pub concurrency: usize,
    /// Seconds before the first kill.
    pub kill_after: f64,
    /// Kills (server `i % servers` at the i-th); each killed server is restarted `down` later, except with
    /// `restart: false`.
    pub kills: usize,
    /// Seconds a killed server stays down.
    pub down: f64,
    /// Restart killed servers.
    pub restart: bool,
    /// Seconds between a restart and the next kill, and after the last one.
    pub between: f64,
}

/// One client connection.
#[derive(Debug, Clone)]
pub struct Connection {
    /// Client (machine) name.
    pub client: String,
    /// Started, since the run's start.
    pub start: Duration,
    /// Ended, since the run's start.
    pub end: Duration,
    /// Admitted past licensing.
    pub admitted: bool,
    /// Refused in licensing (Error Alert).
    pub refused: bool,
    /// What happened (`new-temporary`, `upgrade-permanent`, `refused`, `error: ...`).
    pub outcome: String,
    /// The CAL received, when one was: serial and hardware id from the CAL itself.
    pub given: Option<(u64, [u8; 20], bool)>,
}

/// One kill.
#[derive(Debug, Clone)]
pub struct Kill {
    /// Which server (index).
    pub server: usize,
    /// When, since the run's start.
    pub at: Duration,
    /// When it listened again (`None`: not restarted).
    pub back: Option<Duration>,
}

/// What the database and the decision log say after the run.
#[derive(Debug, Clone, Default)]
pub struct Checks {
    /// Permanent CALs installed.
    pub installed: u64,
    /// Active permanent CALs in the database.
    pub active_permanent: u64,
    /// Sum over packs of the `issued` counter.
    pub pack_issued: u64,
    /// Active permanent CALs beyond the installed count.
    pub over_issued: u64,
    /// Devices holding more than one active permanent CAL.
    pub devices_with_two_permanent: u64,
    /// CALs clients received.
    pub given: u64,
    /// CALs clients received that the database does not hold (by serial, with the same hardware id).
    pub lost: u64,
    /// Refused connections.
    pub refused: u64,
    /// Refused connections without a `refuse` line with a reason for that client in `decisions.jsonl`.
    pub refused_not_logged: u64,
    /// Decisions in the log that a failover answered (a failed attempt, then another server).
    pub failovers_logged: u64,
    /// Decisions by the license server that answered.
    pub answered_by: Vec<(String, u64)>,
}

/// The run.
#[derive(Debug, Clone)]
pub struct FailoverRun {
    /// Every connection.
    pub connections: Vec<Connection>,
    /// Every kill.
    pub kills: Vec<Kill>,
    /// The run's length.
    pub elapsed: Duration,
    /// After the run.
    pub checks: Checks,
    /// The servers' URLs.
    pub urls: Vec<String>,
    /// When the clients were told to stop, since the run's start.
    pub stopped: Duration,
    /// The machine's CPU (`/proc/stat`) at the start and at the stop.
    pub cpu: Option<(crate::server::MachineCpu, crate::server::MachineCpu)>,
}

/// A child process killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `cmd` (stdout and stderr appended to `log`) and waits until a line contains `marker`; returns the process
/// and the rest of that line.
fn start_until(cmd: &mut Command, marker: &str, log: &Path) -> anyhow::Result<(Proc, String)> {
    let mut child = cmd
        .env("RDLIC_LANG", "en")
        .env("RDLIC_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    let (tx, rx) = std::sync::mpsc::channel();
    let out: Box<dyn std::io::Read + Send> = Box::new(child.stdout.take().context("stdout")?);
    let err: Box<dyn std::io::Read + Send> = Box::new(child.stderr.take().context("stderr")?);
    for reader in [out, err] {
        let tx = tx.clone();
        let marker = marker.to_owned();
        let log = log.to_owned();
        std::thread::spawn(move || {
            let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&log).ok();
            for line in BufReader::new(reader).lines().map_while(Result::ok) {
                if let Some(f) = file.as_mut() {
                    use std::io::Write as _;
                    let _ = writeln!(f, "{line}");
                }
                if let Some((_, rest)) = line.split_once(marker.as_str()) {
                    let _ = tx.send(rest.trim().to_owned());
                }
            }
        });
    }
    let proc = Proc(child);
    let rest = rx
        .recv_timeout(Duration::from_secs(60))
        .with_context(|| format!("{cmd:?} did not print {marker:?} within 60 s (see {})", log.display()))?;
    Ok((proc, rest))
}

fn run_ok(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd.env("RDLIC_LANG", "en").output().with_context(|| format!("cannot run {cmd:?}"))?;
    anyhow::ensure!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

struct Server {
    data: PathBuf,
    listen: String,
    url: String,
    proc: Option<Proc>,
    log: PathBuf,
}

impl Server {
    fn start(&mut self, exe: &Path, database: &str, ch_pub: Option<&Path>) -> anyhow::Result<()> {
        let mut cmd = Command::new(exe);
        cmd.args(["server", "run", "--data"]).arg(&self.data).args(["--listen", &self.listen, "--database", database]);
        if let Some(p) = ch_pub {
            cmd.arg("--clearinghouse-key").arg(p);
        }
        let (proc, url) = start_until(&mut cmd, " listening on ", &self.log)?;
        self.url = url.clone();
        self.listen = url.trim_start_matches("https://").to_owned();
        self.proc = Some(proc);
        Ok(())
    }

    fn kill(&mut self) {
        // SIGKILL by the child's own pid (std's Child::kill).
        drop(self.proc.take());
    }
}

/// Creates a new database on the PostgreSQL server of `url` and returns its URL.
pub fn fresh_database(url: &str) -> anyhow::Result<String> {
    let mut client = rdlic_store::postgres::Client::connect(url, rdlic_store::postgres::NoTls)
        .with_context(|| format!("cannot connect to {url}"))?;
    let mut r = [0u8; 6];
    openssl::rand::rand_bytes(&mut r)?;
    let name = format!("rdlic_failover_{}", r.iter().map(|b| format!("{b:02x}")).collect::<String>());
    client.batch_execute(&format!("CREATE DATABASE {name}")).context("CREATE DATABASE")?;
    let (prefix, _) = url.rsplit_once('/').context("a database URL ends with /DBNAME")?;
    Ok(format!("{prefix}/{name}"))
}

/// Drops a database made by [`fresh_database`] (best effort: a bench leaves no database behind when it can).
fn drop_database(base_url: &str, url: &str) {
    let Some((_, name)) = url.rsplit_once('/') else { return };
    if !name.starts_with("rdlic_failover_") {
        return;
    }
    if let Ok(mut client) = rdlic_store::postgres::Client::connect(base_url, rdlic_store::postgres::NoTls) {
        let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    }
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
        .unwrap_or(0)
}

/// One session host of the run.
struct HostProc {
    /// Its `HOST:PORT`.
    target: String,
    /// Its directory (`decisions.jsonl`).
    dir: PathBuf,
    _proc: Proc,
}

/// Sets up the cluster: clearinghouse, first server (activated, one per-device pack), the others joined from its
/// bundle, the hosts enrolled and configured with every server.
async fn setup(o: &FailoverOptions) -> anyhow::Result<(Vec<Server>, Vec<HostProc>)> {
    std::fs::create_dir_all(&o.dir)?;
    let ch = rdlic_core::Clearinghouse::from_private_key(openssl::pkey::PKey::generate_ed25519()?).context("clearinghouse")?;
    let ch_pub = o.dir.join("clearinghouse.pub");
    std::fs::write(&ch_pub, ch.public_key().to_pem()?)?;
    let mut servers: Vec<Server> = (0..o.servers.max(1))
        .map(|i| Server {
            data: o.dir.join(format!("ls{i}")),
            listen: "127.0.0.1:0".into(),
            url: String::new(),
            proc: None,
            log: o.dir.join(format!("ls{i}.log")),
        })
        .collect();
    let first = servers.first_mut().context("no server")?;
    first.start(&o.exe, &o.database, Some(&ch_pub))?;
    let admin = AdminClient::from_data_dir(&first.data, Some(&first.url)).context("admin client")?;
    crate::setup::activate_with_pack(&admin, &ch, rdlic_core::CalType::PerDevice, o.permanent).await?;

    // The other servers: the sealed bundle, `join`, `run`.
    let first_data = first.data.clone();
    let bundle = o.dir.join("cluster.bundle");
    if servers.len() > 1 {
        run_ok(
            Command::new(&o.exe)
                .args(["server", "export", "--data"])
                .arg(&first_data)
                .arg("--out")
                .arg(&bundle)
                .env("RDLIC_BUNDLE_PASSPHRASE", "failover bench passphrase"),
        )?;
    }
    for s in servers.iter_mut().skip(1) {
        run_ok(
            Command::new(&o.exe)
                .args(["server", "join", "--data"])
                .arg(&s.data)
                .args(["--database", &o.database, "--bundle"])
                .arg(&bundle)
                .env("RDLIC_BUNDLE_PASSPHRASE", "failover bench passphrase"),
        )?;
        s.start(&o.exe, &o.database, None)?;
    }

    // The hosts: each enrolled through the first server, every server listed, host i's list starting at server i.
    let ca = std::fs::read(first_data.join("ca.crt"))?;
    let url = servers.first().map(|s| s.url.clone()).unwrap_or_default();
    let listens: Vec<String> = servers.iter().map(|s| s.listen.clone()).collect();
    let mut hosts = Vec::new();
    for i in 0..o.hosts.max(1) {
        let name = format!("failover-host{i}");
        let dir = o.dir.join(&name);
        let token = admin.post("/api/v1/admin/enroll-tokens", &serde_json::json!({})).await.context("token")?;
        let token = token.get("token").and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        LicenseServerClient::enroll(&url, &token, &name, &dir, Some(&ca)).await.context("enroll")?;
        let mut order = listens.clone();
        order.rotate_left(i % listens.len().max(1));
        HostConfig {
            licensing_mode: 2,
            specified_license_servers: order,
            host_name: Some(name.clone()),
            license_server_timeout_ms: 10_000,
            ..HostConfig::default()
        }
        .save(&dir)
        .context("host configuration")?;
        let (proc, target) = start_until(
            Command::new(&o.exe).args(["host", "run", "--dir"]).arg(&dir).args(["--listen", "127.0.0.1:0"]),
            "rdlic host listening on ",
            &o.dir.join(format!("{name}.log")),
        )?;
        hosts.push(HostProc { target, dir, _proc: proc });
    }
    Ok((servers, hosts))
}

/// A client's CAL store that remembers the CALs it was given.
#[derive(Debug, Default)]
struct Store {
    cals: MemoryLicenseStore,
    given: Option<Vec<u8>>,
}

impl LicenseStore for Store {
    fn load(&mut self, key: &LicenseKey) -> Option<Vec<u8>> {
        self.cals.load(key)
    }
    fn store(&mut self, key: &LicenseKey, cal: &[u8]) {
        self.given = Some(cal.to_vec());
        self.cals.store(key, cal);
    }
}

/// One client task: devices `task`, `task + tasks`, ..., each connecting twice, until `stop`.
async fn client_task(target: String, task: usize, tasks: usize, start: Instant, stop: Arc<AtomicBool>) -> Vec<Connection> {
    let mut out = Vec::new();
    let mut device = task;
    while !stop.load(Ordering::Relaxed) {
        let mut store = Store::default();
        let client = format!("fo{device}");
        for _ in 0..2 {
            let options = ProbeOptions {
                user: "failover".into(),
                client_hostname: client.clone(),
                timeout: Duration::from_secs(30),
                ..ProbeOptions::new(&target)
            };
            store.given = None;
            let began = start.elapsed();
            let report = probe::run_async_with_store(&options, &mut store).await;
            let end = start.elapsed();
            let refused = matches!(report.licensing, LicensingResult::ErrorAlert { .. });
            let outcome = match (&report.failure, &report.licensing) {
                (Some(f), _) => format!("error: {}: {}", f.kind, f.message),
                (None, LicensingResult::ValidClient) => "valid-client".into(),
                (None, LicensingResult::NewLicense(l)) => format!("new-{}", l.cal.as_ref().map_or("undecodable", |c| c.kind)),
                (None, LicensingResult::UpgradeLicense(l)) => format!("upgrade-{}", l.cal.as_ref().map_or("undecodable", |c| c.kind)),
                (None, LicensingResult::ErrorAlert { .. }) => "refused".into(),
                (None, other) => format!("{other:?}"),
            };
            let given = store.given.as_deref().and_then(|cal| rdpele::cal::parse_cal(cal).ok()).and_then(|p| {
                let serial = p.serial.iter().fold(0u64, |acc, b| acc.wrapping_shl(8) | u64::from(*b));
                let hw: [u8; 20] = p.hardware_id.clone().try_into().ok()?;
                Some((serial, hw, !p.temporary))
            });
            out.push(Connection { client: client.clone(), start: began, end, admitted: report.admitted(), refused, outcome, given });
        }
        device += tasks;
    }
    out
}

/// Runs the scenario; the servers and the host are stopped before it returns.
pub fn run(o: &FailoverOptions) -> anyhow::Result<FailoverRun> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("failover")
        .enable_all()
        .build()
        .context("runtime")?;
    let (mut servers, hosts) = rt.block_on(setup(o))?;
    let urls: Vec<String> = servers.iter().map(|s| s.url.clone()).collect();
    let cpu_start = crate::server::MachineCpu::now();
    let start = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let tasks = o.concurrency.max(1);
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let target = hosts.get(t % hosts.len()).map(|h| h.target.clone()).unwrap_or_default();
            rt.spawn(client_task(target, t, tasks, start, stop.clone()))
        })
        .collect();
    // The schedule (not a timing assertion: when the faults happen).
    let mut kills = Vec::new();
    std::thread::sleep(Duration::from_secs_f64(o.kill_after));
    for k in 0..o.kills {
        let victim = k % servers.len();
        let at = start.elapsed();
        if let Some(s) = servers.get_mut(victim) {
            s.kill();
        }
        std::thread::sleep(Duration::from_secs_f64(o.down));
        let back = if o.restart {
            let s = servers.get_mut(victim).context("server")?;
            s.start(&o.exe, &o.database, None)?;
            Some(start.elapsed())
        } else {
            None
        };
        kills.push(Kill { server: victim, at, back });
        std::thread::sleep(Duration::from_secs_f64(o.between));
    }
    stop.store(true, Ordering::Relaxed);
    let stopped = start.elapsed();
    let cpu = cpu_start.zip(crate::server::MachineCpu::now());
    let mut connections = Vec::new();
    for h in handles {
        connections.extend(rt.block_on(h).context("client task")?);
    }
    let elapsed = start.elapsed();
    let host_dirs: Vec<PathBuf> = hosts.iter().map(|h| h.dir.clone()).collect();
    drop(hosts);
    for s in &mut servers {
        s.kill();
    }
    let checks = check(o, &host_dirs, &connections)?;
    Ok(FailoverRun { connections, kills, elapsed, checks, urls, stopped, cpu })
}

/// Reads the database and the hosts' decision logs.
fn check(o: &FailoverOptions, host_dirs: &[PathBuf], connections: &[Connection]) -> anyhow::Result<Checks> {
    let store = rdlic_store::open_store(&o.dir, Some(&o.database)).context("opening the database")?;
    let now = now_unix();
    let packs = store.list_key_packs(now)?;
    let mut cals = Vec::new();
    let mut after = rdlic_store::CalSerial(0);
    loop {
        let page = store.list_device_cals(after, 1000, false, now)?;
        let Some(last) = page.last() else { break };
        after = last.serial;
        cals.extend(page);
    }
    let mut c = Checks {
        installed: packs.iter().map(|p| u64::from(p.signed.pack.count)).sum(),
        pack_issued: packs.iter().map(|p| u64::from(p.issued)).sum(),
        ..Checks::default()
    };
    let permanent_active: Vec<_> = cals
        .iter()
        .filter(|x| x.kind == rdlic_core::policy::DeviceCalKind::Permanent && x.status == rdlic_store::CalStatus::Active)
        .collect();
    c.active_permanent = u64::try_from(permanent_active.len()).unwrap_or(u64::MAX);
    c.over_issued = c.active_permanent.saturating_sub(c.installed).max(c.pack_issued.saturating_sub(c.installed));
    let mut per_device: HashMap<[u8; 20], u64> = HashMap::new();
    for x in &permanent_active {
        *per_device.entry(x.hardware_id.0).or_default() += 1;
    }
    c.devices_with_two_permanent = u64::try_from(per_device.values().filter(|n| **n > 1).count()).unwrap_or(u64::MAX);
    let by_serial: HashMap<i64, [u8; 20]> = cals.iter().map(|x| (x.serial.0, x.hardware_id.0)).collect();
    for conn in connections {
        if let Some((serial, hw, _)) = conn.given {
            c.given += 1;
            let held = i64::try_from(serial).ok().and_then(|s| by_serial.get(&s));
            if held != Some(&hw) {
                c.lost += 1;
            }
        }
    }
    // The decision logs: refusals per client (client names are distinct across hosts), and who answered.
    let log: String = host_dirs
        .iter()
        .map(|d| std::fs::read_to_string(d.join("decisions.jsonl")).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let mut refusals: HashMap<String, u64> = HashMap::new();
    let mut answered: HashMap<String, u64> = HashMap::new();
    for line in log.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or_default().to_owned();
        if s("decision").starts_with("refuse") && !s("reason").is_empty() {
            *refusals.entry(s("client")).or_default() += 1;
        } else if let Some(ls) = v.get("license_server").and_then(|x| x.as_str()) {
            *answered.entry(ls.to_owned()).or_default() += 1;
        }
        if v.get("attempts").and_then(|a| a.as_array()).is_some_and(|a| a.len() > 1) {
            c.failovers_logged += 1;
        }
    }
    let mut refused_by_client: HashMap<&str, u64> = HashMap::new();
    for conn in connections.iter().filter(|x| x.refused) {
        c.refused += 1;
        *refused_by_client.entry(&conn.client).or_default() += 1;
    }
    for (client, n) in refused_by_client {
        c.refused_not_logged += n.saturating_sub(refusals.get(client).copied().unwrap_or(0));
    }
    let mut answered: Vec<_> = answered.into_iter().collect();
    answered.sort();
    c.answered_by = answered;
    Ok(c)
}

fn pct(sorted: &[Duration], q: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = (sorted.len() * q).div_ceil(100).saturating_sub(1).min(sorted.len() - 1);
    sorted.get(i).copied().unwrap_or_default()
}

impl FailoverRun {
    /// Connections that failed outside licensing (network, protocol).
    pub fn errors(&self) -> Vec<&Connection> {
        self.connections.iter().filter(|c| !c.admitted && !c.refused).collect()
    }

    /// The failover gap: for each kill, how long each connection in flight at the kill (or started while no
    /// admission had followed it yet) waited from the kill until it was admitted or refused.
    pub fn gaps(&self) -> Vec<Duration> {
        let mut gaps = Vec::new();
        for k in &self.kills {
            for c in &self.connections {
                if c.start <= k.at && c.end >= k.at {
                    gaps.push(c.end.saturating_sub(k.at));
                }
            }
        }
        gaps.sort();
        gaps
    }

    /// CAL issuances (a new or upgraded CAL) in `[from, to)`, by connection end.
    pub fn issuances(&self, from: Duration, to: Duration) -> f64 {
        let n = self.connections.iter().filter(|c| c.given.is_some() && c.end >= from && c.end < to).count();
        f64::from(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// [`Self::issuances`] per second.
    pub fn issuance_rate(&self, from: Duration, to: Duration) -> f64 {
        let secs = to.saturating_sub(from).as_secs_f64();
        if secs <= 0.0 {
            return 0.0;
        }
        self.issuances(from, to) / secs
    }

    /// The report, as JSON.
    pub fn json(&self) -> serde_json::Value {
        let gaps = self.gaps();
        let ms = |d: Duration| (d.as_secs_f64() * 1e4).round() / 10.0;
        let first_kill = self.kills.first().map(|k| k.at);
        // Before: from 1 s after the start (the first connections pay for cold caches) to the first kill; after:
        // from the first kill plus 1 s to the next restart or the end.
        let (before, after) = match first_kill {
            Some(k) => {
                let until = self.kills.first().and_then(|k| k.back).unwrap_or(self.elapsed);
                (
                    self.issuance_rate(Duration::from_secs(1).min(k), k),
                    self.issuance_rate(k + Duration::from_secs(1), until.max(k + Duration::from_secs(1))),
                )
            }
            None => (self.issuance_rate(Duration::from_secs(1), self.elapsed), 0.0),
        };
        let errors = self.errors();
        let c = &self.checks;
        serde_json::json!({
            "servers": self.urls,
            "elapsed_s": self.elapsed.as_secs_f64(),
            "connections": self.connections.len(),
            "admitted": self.connections.iter().filter(|c| c.admitted).count(),
            "refused": c.refused,
            "errors": errors.len(),
            "first_errors": errors.iter().take(5).map(|c| format!("{} at {:.3}s: {}", c.client, c.end.as_secs_f64(), c.outcome)).collect::<Vec<_>>(),
            "kills": self.kills.iter().map(|k| serde_json::json!({
                "server": k.server, "at_s": k.at.as_secs_f64(), "back_s": k.back.map(|b| b.as_secs_f64()),
            })).collect::<Vec<_>>(),
            "failover_gap_ms": { "samples": gaps.len(), "p50": ms(pct(&gaps, 50)), "p99": ms(pct(&gaps, 99)), "max": ms(gaps.last().copied().unwrap_or_default()) },
            "issuance_by_second": (0..self.elapsed.as_secs()).map(|s| {
                self.issuance_rate(Duration::from_secs(s), Duration::from_secs(s + 1)).round()
            }).collect::<Vec<_>>(),
            "issuance_per_second_before_kill": before,
            "issuance_per_second_after_kill": after,
            // Issuance with every server alive over issuance with one fewer, in the same run on the same database.
            "all_alive_over_one_fewer": if after > 0.0 { before / after } else { 0.0 },
            "checks": {
                "installed": c.installed, "active_permanent": c.active_permanent, "pack_issued": c.pack_issued,
                "over_issued": c.over_issued, "devices_with_two_permanent": c.devices_with_two_permanent,
                "cals_given": c.given, "cals_lost": c.lost, "refused_not_logged": c.refused_not_logged,
                "failovers_logged": c.failovers_logged,
                "answered_by": c.answered_by.iter().map(|(s, n)| serde_json::json!({ "server": s, "decisions": n })).collect::<Vec<_>>(),
            },
        })
    }
}

/// One run of [`compare`].
#[derive(Debug, Clone, Copy, Default)]
pub struct CompareRun {
    /// CAL issuances per second from 1 s after the start to the stop.
    pub per_second: f64,
    /// CAL issuances from the start to the stop per second of CPU time the machine was given in that time (all
    /// cores, minus the time the hypervisor stole: on a shared virtual machine the steal varies from run to run,
    /// and a run that waits on locks still counts its idle time). 0 without `/proc/stat`.
    pub per_available_cpu_second: f64,
    /// The stolen share of the machine's CPU time during the run (0 to 1).
    pub steal: f64,
}

/// One round of [`compare`]: each configuration.
#[derive(Debug, Clone, Copy)]
pub struct CompareRound {
    /// With one license server.
    pub one: CompareRun,
    /// With every server of the options.
    pub all: CompareRun,
}

/// Issuance with `o.servers` license servers against issuance with one, on the same PostgreSQL server: `rounds`
/// rounds of a run with one server and a run with all of them (no kill, `o.kill_after` seconds each, a new
/// database each, dropped afterwards, the same hosts and clients), the order swapped from one round to the next,
/// so that the machine's drift and whatever a run leaves to the next (PostgreSQL's checkpoints) fall on both alike.
pub fn compare(o: &FailoverOptions, base_url: &str, rounds: usize) -> anyhow::Result<Vec<CompareRound>> {
    let mut out = Vec::new();
    let window = Duration::from_secs_f64(o.kill_after.max(2.0));
    for round in 0..rounds.max(1) {
        let rate = |servers: usize| -> anyhow::Result<CompareRun> {
            let run_options = FailoverOptions {
                database: fresh_database(base_url)?,
                dir: o.dir.join(format!("round{round}-{servers}")),
                servers,
                kills: 0,
                kill_after: window.as_secs_f64(),
                ..o.clone()
            };
            let database = run_options.database.clone();
            let run = run(&run_options);
            drop_database(base_url, &database);
            let run = run?;
            anyhow::ensure!(run.errors().is_empty() && run.checks.refused == 0, "errors in a throughput run: {}", run.json());
            let (per_available_cpu_second, steal) = run.cpu.map_or((0.0, 0.0), |(a, b)| {
                let issued = run.issuances(Duration::ZERO, run.stopped);
                (issued / a.available_until(&b).as_secs_f64().max(1e-9), a.steal_share_until(&b))
            });
            Ok(CompareRun { per_second: run.issuance_rate(Duration::from_secs(1), run.stopped), per_available_cpu_second, steal })
        };
        let (one, all) = if round % 2 == 0 {
            let one = rate(1)?;
            (one, rate(o.servers.max(1))?)
        } else {
            let all = rate(o.servers.max(1))?;
            (rate(1)?, all)
        };
        out.push(CompareRound { one, all });
    }
    Ok(out)
}

/// The report of [`compare`], as JSON: each round's rates and ratios, and the medians of the ratios.
pub fn compare_json(o: &FailoverOptions, rounds: &[CompareRound]) -> serde_json::Value {
    let ratio = |all: f64, one: f64| if one > 0.0 { all / one } else { 0.0 };
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or_default()
    };
    let run_json = |r: &CompareRun| {
        serde_json::json!({
            "per_second": r.per_second, "per_available_cpu_second": r.per_available_cpu_second, "steal": r.steal,
        })
    };
    serde_json::json!({
        "servers": o.servers, "hosts": o.hosts, "concurrency": o.concurrency, "seconds_per_run": o.kill_after,
        "rounds": rounds.iter().map(|r| serde_json::json!({
            "one_server": run_json(&r.one), "all_servers": run_json(&r.all),
            "ratio": ratio(r.all.per_second, r.one.per_second),
            "ratio_per_available_cpu": ratio(r.all.per_available_cpu_second, r.one.per_available_cpu_second),
        })).collect::<Vec<_>>(),
        "median_ratio": median(rounds.iter().map(|r| ratio(r.all.per_second, r.one.per_second)).collect()),
        "median_ratio_per_available_cpu":
            median(rounds.iter().map(|r| ratio(r.all.per_available_cpu_second, r.one.per_available_cpu_second)).collect()),
    })
}
