//! The session host against real RDP clients: xfreerdp 2.11 and rdesktop 1.9 under `xvfb-run`, each with a fresh
//! HOME, against a host on 127.0.0.1:0 (in-process, so that the test can watch its status instead of sleeping).
//!
//! Without the peers these tests print a skip note, or fail when `RDLIC_REQUIRE_PEERS=1` (set by ./scripts/test).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use rdlic_host::authority::{LicenseAuthority, LocalAuthority, LocalCalVerifier};
use rdlic_host::config::{HostConfig, PolicyConfig};
use rdlic_host::grace::{Clock, GraceRecord};
use rdlic_host::{Host, HostOptions, HostStatus};
use tokio::sync::watch;

/// One peer test at a time: they share the machine's X servers and 2 cores.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const PEER_TIMEOUT: Duration = Duration::from_secs(90);

fn peers_present() -> bool {
    let found = ["xfreerdp", "rdesktop", "xvfb-run", "stdbuf", "timeout"].iter().all(|tool| {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {tool}"))
            .stdout(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    });
    if !found {
        if std::env::var("RDLIC_REQUIRE_PEERS").as_deref() == Ok("1") {
            panic!("RDLIC_REQUIRE_PEERS=1 but xfreerdp, rdesktop or xvfb-run is missing: apt-get install -y --no-install-recommends xvfb xauth freerdp2-x11 rdesktop");
        }
        eprintln!("skip: xfreerdp / rdesktop / xvfb-run not installed (set RDLIC_REQUIRE_PEERS=1 to fail instead)");
    }
    found
}

struct TestHost {
    port: u16,
    status: watch::Receiver<HostStatus>,
    connections: watch::Receiver<rdlic_api::listen::ListenerCounters>,
    dir: tempfile::TempDir,
    local: Arc<LocalAuthority>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestHost {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestHost {
    /// A host with `config`, optionally `offset_days` after a first start made now; `local` is registered under
    /// the name "local" with `permanent` permanent CALs.
    async fn start(config: HostConfig, offset_days: i64, permanent: u32) -> Self {
        Self::start_in(tempfile::tempdir().unwrap(), config, offset_days, permanent, None).await
    }

    async fn start_in(
        dir: tempfile::TempDir,
        config: HostConfig,
        offset_days: i64,
        permanent: u32,
        local: Option<Arc<LocalAuthority>>,
    ) -> Self {
        // The first start fixes the grace period's origin at the real time; then the clock is advanced.
        GraceRecord::load_or_start(dir.path(), Clock::default().now()).unwrap();
        let local = local.unwrap_or_else(|| {
            let key = LocalAuthority::load_or_create_key(&dir.path().join("local-ls/key.pem")).unwrap();
            Arc::new(LocalAuthority::new("local", key, permanent).unwrap())
        });
        let verifier = Arc::new(LocalCalVerifier::new(vec![local.public_key().unwrap()]));
        let authority: Arc<dyn LicenseAuthority> = local.clone();
        let host = Host::bind(HostOptions {
            dir: dir.path().to_owned(),
            listen: "127.0.0.1:0".parse().unwrap(),
            config,
            clock: Clock::with_offset_days(offset_days),
            authorities: vec![authority],
            verifier,
        })
        .await
        .unwrap();
        let port = host.local_addr().unwrap().port();
        let status = host.status();
        let connections = host.connections();
        let task = tokio::spawn(host.run());
        Self { port, status, connections, dir, local, task }
    }

    fn decisions(&self) -> Vec<rdlic_host::DecisionRecord> {
        self.status.borrow().decisions.iter().cloned().collect()
    }

    fn last_decision(&self) -> rdlic_host::DecisionRecord {
        self.decisions().last().cloned().expect("the host logged no decision")
    }

    async fn wait_active(&mut self, n: usize) {
        let wait = self.status.wait_for(|s| s.active_sessions >= n);
        tokio::time::timeout(PEER_TIMEOUT, wait).await.expect("sessions did not become active in time").unwrap();
    }

    async fn wait_decisions(&mut self, n: usize) {
        let wait = self.status.wait_for(|s| s.decisions.len() >= n);
        tokio::time::timeout(PEER_TIMEOUT, wait).await.expect("no licensing decision in time").unwrap();
    }
}

fn per_device(servers: &[&str]) -> HostConfig {
    HostConfig {
        licensing_mode: 2,
        specified_license_servers: servers.iter().map(|s| (*s).to_owned()).collect(),
        host_name: Some("rdsh-test".into()),
        license_server_timeout_ms: 1500,
        ..HostConfig::default()
    }
}

/// The admin account of [`with_admin`] configurations, as xfreerdp arguments.
const ADMIN: &[&str] = &["/admin", "/u:rdadmin", "/p:correct-horse-battery"];

/// `config` with the admin account `rdadmin` / `correct-horse-battery`.
fn with_admin(config: HostConfig) -> HostConfig {
    HostConfig {
        admin_user: Some("rdadmin".into()),
        admin_password_hash: Some(rdlic_api::password::hash("correct-horse-battery").unwrap()),
        ..config
    }
}

/// Raises the soft limit of open files to the hard limit (a flood test holds both ends of its sockets).
fn raise_nofile() {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let _ = setrlimit(Resource::Nofile, Rlimit { current: limit.maximum, maximum: limit.maximum });
}

/// TPKT + X.224 Connection Request + RDP_NEG_REQ asking for TLS ([MS-RDPBCGR] 2.2.1.1).
const CONNECTION_REQUEST: [u8; 19] =
    [0x03, 0x00, 0x00, 0x13, 0x0e, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00];

/// `n` idle sockets to `port`: every other one stops after the X.224 Connection Confirm, the rest send nothing.
async fn idle_sockets(port: u16, n: usize) -> Vec<tokio::net::TcpStream> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut sockets = Vec::with_capacity(n);
    for i in 0..n {
        let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("cannot open an idle socket");
        if i % 2 == 1 {
            tcp.write_all(&CONNECTION_REQUEST).await.unwrap();
            let mut confirm = [0u8; 19];
            // A shed socket reads EOF here instead: fine, it stays in the list.
            let _ = tcp.read_exact(&mut confirm).await;
        }
        sockets.push(tcp);
    }
    sockets
}

/// Output of a finished client.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    log: String,
}

/// A client that stays connected; ended on drop with SIGTERM to it and its descendants (xvfb-run's Xvfb
/// ignores SIGINT, being a background job of a non-interactive shell).
struct Running {
    child: tokio::process::Child,
}

impl Running {
    fn interrupt(&self) {
        if let Some(pid) = self.child.id() {
            terminate_tree(pid);
        }
    }
}

/// Sends SIGTERM to `root` and each of its descendants, one explicit pid at a time (never a process group: a
/// negative or zero pid would reach processes this test did not start).
fn terminate_tree(root: u32) {
    let mut parents = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
            // Fields after the command name (which is in parentheses and may contain spaces): state, ppid, ...
            let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else { continue };
            if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok()) {
                parents.push((pid, ppid));
            }
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(parents.iter().filter(|(_, ppid)| *ppid == parent).map(|(pid, _)| *pid));
        i += 1;
    }
    let me = std::process::id();
    for pid in tree.into_iter().filter(|&pid| pid > 1 && pid != me) {
        let _ = std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.interrupt();
    }
}

fn xfreerdp_command(home: &Path, port: u16, extra: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new("xvfb-run");
    // alice / secret unless the test gives its own credentials.
    let credentials: &[&str] = if extra.iter().any(|a| a.starts_with("/u:")) { &[] } else { &["/u:alice", "/p:secret"] };
    cmd.args(["-a", "sh", "-c", CLIENT_WRAPPER, "xfreerdp", "stdbuf", "-oL", "xfreerdp"])
        .arg(format!("/v:127.0.0.1:{port}"))
        .args(["/cert:ignore", "/log-level:WARN"])
        .args(credentials)
        .arg("/log-filters:com.freerdp.core.connection:DEBUG,com.freerdp.core:INFO")
        .args(extra)
        .env("HOME", home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

async fn finish(cmd: &mut tokio::process::Command) -> Run {
    let child = cmd.spawn().expect("cannot start the client");
    let pid = child.id();
    match tokio::time::timeout(PEER_TIMEOUT, child.wait_with_output()).await {
        Ok(output) => {
            let output = output.unwrap();
            let mut log = String::from_utf8_lossy(&output.stdout).into_owned();
            log.push_str(&String::from_utf8_lossy(&output.stderr));
            Run { code: client_exit_code(output.status.code(), &log), log }
        }
        Err(_) => {
            if let Some(pid) = pid {
                terminate_tree(pid);
            }
            panic!("the client did not finish within {PEER_TIMEOUT:?}");
        }
    }
}

/// `xfreerdp +auth-only` to the end.
async fn xfreerdp_auth_only(home: &Path, port: u16, hostname: &str, extra: &[&str]) -> Run {
    let mut args = vec!["+auth-only".to_owned(), format!("/client-hostname:{hostname}")];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    finish(&mut xfreerdp_command(home, port, &refs)).await
}

/// xfreerdp that stays in the session.
fn xfreerdp_session(home: &Path, port: u16, hostname: &str, extra: &[&str]) -> Running {
    let mut args = vec![format!("/client-hostname:{hostname}")];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    Running { child: xfreerdp_command(home, port, &refs).spawn().expect("cannot start xfreerdp") }
}

fn rdesktop_command(home: &Path, port: u16, name: &str) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c")
        .arg(format!(
            "yes yes | xvfb-run -a sh -c '{CLIENT_WRAPPER}' rdesktop rdesktop -u alice -p secret -n {name} 127.0.0.1:{port}"
        ))
        .env("HOME", home)
        .env("RDESKTOP_DEBUG", "Protocol")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// Runs the client given as arguments and prints its exit status after it: xvfb-run's own status hides the
/// client's when xvfb-run fails to clean up its temporary directory ("problem while cleaning up").
const CLIENT_WRAPPER: &str = r#""$@"; echo "rdlic-test-client-exit=$?" >&2"#;

/// The client's exit status printed by [`CLIENT_WRAPPER`], else the process's.
fn client_exit_code(status: Option<i32>, log: &str) -> Option<i32> {
    log.rsplit_once("rdlic-test-client-exit=")
        .and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok())
        .or(status)
}

fn cal_files(dir: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "cal")).collect(),
        Err(_) => Vec::new(),
    }
}

fn freerdp_store(home: &Path) -> PathBuf {
    home.join(".config/freerdp/licenses")
}

#[tokio::test]
async fn xfreerdp_temporary_then_permanent_cal_and_tampered_cal() {
    let _serial = SERIAL.lock().await;
    if !peers_present() {
        return;
    }
    let mut host = TestHost::start(per_device(&["local"]), 0, 5).await;
    let home = tempfile::tempdir().unwrap();

    // 1. First connection: a temporary CAL, stored by the client.
    let run = xfreerdp_auth_only(home.path(), host.port, "dev01", &[]).await;
    assert_eq!(run.code, Some(0), "xfreerdp log:\n{}", run.log);
    assert!(run.log.contains("CONNECTION_STATE_LICENSING --> CONNECTION_STATE_CAPABILITIES_EXCHANGE"), "{}", run.log);
    let decision = host.last_decision();
    assert_eq!(decision.decision, "issue-new temporary", "{decision:?}");
    assert_eq!(decision.client, "dev01");
    assert_eq!(decision.license_server.as_deref(), Some("local"));
    assert_eq!(decision.hardware_id.len(), 40);
    let stored = cal_files(&freerdp_store(home.path()));
    assert_eq!(stored.len(), 1, "xfreerdp stored no CAL");
    let temporary = std::fs::read(&stored[0]).unwrap();
    let grace = GraceRecord::load(host.dir.path()).unwrap().unwrap();
    assert_eq!(grace.ended_by_permanent_cal, None);

    // 2. Second connection: License Info with the temporary CAL → upgraded to permanent; grace period ended.
    let run = xfreerdp_auth_only(home.path(), host.port, "dev01", &[]).await;
    assert_eq!(run.code, Some(0), "xfreerdp log:\n{}", run.log);
    assert_eq!(host.last_decision().decision, "upgrade permanent", "{:?}", host.last_decision());
    let permanent = std::fs::read(&stored[0]).unwrap();
    assert_ne!(permanent, temporary, "the client kept the temporary CAL");
    let grace = GraceRecord::load(host.dir.path()).unwrap().unwrap();
    assert!(grace.ended_by_permanent_cal.is_some(), "the first permanent CAL did not end the grace period");

    // 3. Third connection with a valid permanent CAL: no license server needed.
    let run = xfreerdp_auth_only(home.path(), host.port, "dev01", &[]).await;
    assert_eq!(run.code, Some(0), "xfreerdp log:\n{}", run.log);
    assert_eq!(host.last_decision().decision, "valid-client");
    assert_eq!(host.last_decision().license_server, None);

    // 4. The stored CAL altered on disk: detected, a fresh CAL is issued, no crash.
    let mut altered = permanent.clone();
    let middle = altered.len() / 2;
    altered[middle] ^= 0x55;
    std::fs::write(&stored[0], &altered).unwrap();
    let before = host.decisions().len();
    let run = xfreerdp_auth_only(home.path(), host.port, "dev01", &[]).await;
    host.wait_decisions(before + 1).await;
    assert_eq!(run.code, Some(0), "xfreerdp log:\n{}", run.log);
    let decision = host.last_decision();
    assert!(decision.events.contains(&1003), "tampered CAL not reported as invalid (event 1003): {decision:?}");
    assert!(decision.decision.starts_with("issue-new"), "{decision:?}");
}

#[tokio::test]
async fn rdesktop_gets_a_cal_and_reaches_the_desktop() {
    let _serial = SERIAL.lock().await;
    if !peers_present() {
        return;
    }
    let mut host = TestHost::start(per_device(&["local"]), 0, 5).await;
    let home = tempfile::tempdir().unwrap();
    let child = rdesktop_command(home.path(), host.port, "rdclient01").spawn().unwrap();
    let running = Running { child };
    host.wait_active(1).await;
    let decision = host.last_decision();
    assert_eq!(decision.client, "rdclient01");
    assert_eq!(decision.decision, "issue-new temporary", "{decision:?}");
    running.interrupt();
    let output = tokio::time::timeout(PEER_TIMEOUT, async move {
        let mut running = running;
        running.child.wait().await
    })
    .await
    .unwrap()
    .unwrap();
    let _ = output;
    let stored = cal_files(&home.path().join(".local/share/rdesktop/licenses"));
    assert_eq!(stored.len(), 1, "rdesktop stored no CAL");
}

#[tokio::test]
async fn past_grace_without_license_server_is_refused_with_errinfo() {
    let _serial = SERIAL.lock().await;
    if !peers_present() {
        return;
    }
    // The license server is down: nothing listens on port 1.
    let host = TestHost::start(per_device(&["127.0.0.1:1"]), 121, 0).await;
    let home = tempfile::tempdir().unwrap();
    let run = xfreerdp_auth_only(home.path(), host.port, "dev01", &[]).await;
    assert_eq!(run.code, Some(131), "xfreerdp log:\n{}", run.log);
    assert!(run.log.contains("ERRINFO_LICENSE_NO_LICENSE_SERVER"), "xfreerdp log:\n{}", run.log);
    let decision = host.last_decision();
    assert_eq!(decision.decision, "refuse error_code=0x6 errinfo=0x101");
    assert!(decision.events.contains(&1128) && decision.events.contains(&1131), "{decision:?}");
    assert!(cal_files(&freerdp_store(home.path())).is_empty());

    let rd_home = tempfile::tempdir().unwrap();
    let out = tokio::time::timeout(PEER_TIMEOUT, rdesktop_command(rd_home.path(), host.port, "rdclient01").output())
        .await
        .unwrap()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(client_exit_code(out.status.code(), &log), Some(76), "rdesktop: {log}");
}

#[tokio::test]
async fn admin_connects_past_grace_and_the_third_admin_is_refused() {
    let _serial = SERIAL.lock().await;
    if !peers_present() {
        return;
    }
    let mut host = TestHost::start(with_admin(per_device(&["127.0.0.1:1"])), 121, 0).await;
    let homes: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    // `/admin` with the admin account reaches the session although the host is past grace with no license server.
    let run = xfreerdp_auth_only(homes[0].path(), host.port, "admin0", ADMIN).await;
    assert_eq!(run.code, Some(0), "xfreerdp log:\n{}", run.log);
    assert_eq!(host.last_decision().decision, "administrative");
    // Two administrative sessions stay open...
    let first = xfreerdp_session(homes[0].path(), host.port, "admin1", ADMIN);
    host.wait_active(1).await;
    let second = xfreerdp_session(homes[1].path(), host.port, "admin2", ADMIN);
    host.wait_active(2).await;
    assert_eq!(host.status.borrow().admin_sessions, 2);
    // ...and a third is refused with a clear reason.
    let run = xfreerdp_auth_only(homes[2].path(), host.port, "admin3", ADMIN).await;
    assert_eq!(run.code, Some(131), "a third administrative session was not refused:\n{}", run.log);
    assert!(run.log.contains("ERRINFO_SERVER_DENIED_CONNECTION"), "xfreerdp log:\n{}", run.log);
    let decision = host.last_decision();
    assert_eq!(decision.decision, "refused");
    assert!(decision.reason.contains("at most 2"), "{decision:?}");
    drop(first);
    drop(second);
}

#[tokio::test]
async fn role_disabled_two_sessions_without_licensing() {
    let _serial = SERIAL.lock().await;
    if !peers_present() {
        return;
    }
    let config = HostConfig { rds_rd_server_install_state: 0, ..per_device(&[]) };
    let mut host = TestHost::start(config, 200, 0).await;
    let homes: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let first = xfreerdp_session(homes[0].path(), host.port, "pc1", &[]);
    host.wait_active(1).await;
    let second = xfreerdp_session(homes[1].path(), host.port, "pc2", &[]);
    host.wait_active(2).await;
    for d in host.decisions() {
        assert_eq!(d.decision, "administrative", "{d:?}");
        assert_eq!(d.mode, "remote-administration");
        assert!(d.events.contains(&1136));
    }
    let run = xfreerdp_auth_only(homes[2].path(), host.port, "pc3", &[]).await;
    assert_eq!(run.code, Some(131), "a third session was not refused:\n{}", run.log);
    assert!(run.log.contains("ERRINFO_SERVER_DENIED_CONNECTION"), "xfreerdp log:\n{}", run.log);
    assert!(host.last_decision().reason.contains("2 simultaneous"), "{:?}", host.last_decision());
    assert!(cal_files(&freerdp_store(homes[0].path())).is_empty(), "licensing ran in remote-administration mode");
    drop(first);
    drop(second);
}

#[tokio::test]
async fn per_user_checkout_and_not_configured_past_grace() {
    let _serial = SERIAL.lock().await;
    if !peers_present() {
        return;
    }
    let config = HostConfig { licensing_mode: 4, ..per_device(&["local"]) };
    let host = TestHost::start(config, 121, 0).await;
    let home = tempfile::tempdir().unwrap();
    let run = xfreerdp_auth_only(home.path(), host.port, "dev07", &[]).await;
    assert_eq!(run.code, Some(0), "xfreerdp log:\n{}", run.log);
    assert_eq!(host.last_decision().decision, "valid-client");
    assert_eq!(host.local.checked_out_users(), vec!["alice".to_owned()]);
    drop(host);

    let config = HostConfig { licensing_mode: 5, ..per_device(&[]) };
    let host = TestHost::start(config, 121, 0).await;
    let run = xfreerdp_auth_only(home.path(), host.port, "dev08", &[]).await;
    assert_eq!(run.code, Some(131), "xfreerdp log:\n{}", run.log);
    assert!(run.log.contains("ERRINFO_LICENSE_NO_LICENSE_SERVER"), "xfreerdp log:\n{}", run.log);
    assert!(host.last_decision().events.contains(&1069));
}

#[tokio::test]
async fn group_policy_values_win_over_the_local_ones() {
    let _serial = SERIAL.lock().await;
    if !peers_present() {
        return;
    }
    // Local values: not configured, no license server, past the grace period. Group Policy: per user, with the
    // in-process license server. The policy wins: the client is licensed.
    let policy = PolicyConfig { licensing_mode: Some(4), license_servers: Some("local".into()) };
    let config = HostConfig { licensing_mode: 5, policy, ..per_device(&[]) };
    let host = TestHost::start(config, 121, 0).await;
    let home = tempfile::tempdir().unwrap();
    let run = xfreerdp_auth_only(home.path(), host.port, "dev21", &[]).await;
    assert_eq!(run.code, Some(0), "xfreerdp log:\n{}", run.log);
    let decision = host.last_decision();
    assert_eq!((decision.mode, decision.decision.as_str()), ("per-user", "valid-client"), "{decision:?}");
    drop(host);

    // The article's `reg add` made the local values right (per user, a license server), but a policy says not
    // configured: the local values have no effect and the client is refused past the grace period.
    let policy = PolicyConfig { licensing_mode: Some(5), license_servers: None };
    let config = HostConfig { licensing_mode: 4, policy, ..per_device(&["local"]) };
    let host = TestHost::start(config, 121, 0).await;
    let run = xfreerdp_auth_only(home.path(), host.port, "dev22", &[]).await;
    assert_eq!(run.code, Some(131), "xfreerdp log:\n{}", run.log);
    let decision = host.last_decision();
    assert_eq!(decision.mode, "not-configured", "{decision:?}");
    assert!(decision.events.contains(&1069), "{decision:?}");
}

#[tokio::test]
async fn xfreerdp_and_rdesktop_with_a_proprietary_licensing_certificate() {
    let _serial = SERIAL.lock().await;
    if !peers_present() {
        return;
    }
    let config = HostConfig { licensing_certificate: "proprietary".into(), ..per_device(&["local"]) };
    let mut host = TestHost::start(config, 0, 5).await;
    let home = tempfile::tempdir().unwrap();
    let run = xfreerdp_auth_only(home.path(), host.port, "dev09", &[]).await;
    assert_eq!(run.code, Some(0), "xfreerdp log:\n{}", run.log);
    assert_eq!(host.last_decision().decision, "issue-new temporary");
    assert_eq!(cal_files(&freerdp_store(home.path())).len(), 1);

    let rd_home = tempfile::tempdir().unwrap();
    let running = Running { child: rdesktop_command(rd_home.path(), host.port, "rdclient09").spawn().unwrap() };
    host.wait_active(1).await;
    assert_eq!(host.last_decision().client, "rdclient09");
    assert_eq!(host.last_decision().decision, "issue-new temporary");
    drop(running);
}

#[tokio::test]
async fn xfreerdp_gets_a_cal_while_1000_idle_sockets_are_open() {
    let _serial = SERIAL.lock().await;
    if !peers_present() {
        return;
    }
    raise_nofile();
    // Room for every idle socket, and pre-authentication deadlines longer than the test: all 1,000 stay open.
    let config = HostConfig { max_connections: 1100, x224_timeout_secs: 600, tls_handshake_timeout_secs: 600, ..per_device(&["local"]) };
    let mut host = TestHost::start(config, 0, 0).await;
    let idle = idle_sockets(host.port, 1000).await;
    let wait = host.connections.wait_for(|c| c.open >= 1000);
    tokio::time::timeout(PEER_TIMEOUT, wait).await.expect("the host did not hold 1,000 connections").unwrap();
    let home = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let run = xfreerdp_auth_only(home.path(), host.port, "flooded", &[]).await;
    println!("xfreerdp with 1,000 idle sockets open: exit {:?} in {:?}", run.code, started.elapsed());
    assert_eq!(run.code, Some(0), "xfreerdp log:\n{}", run.log);
    assert_eq!(host.last_decision().decision, "issue-new temporary");
    let c = *host.connections.borrow();
    assert_eq!(c.shed, 0, "{c:?}");
    assert!(c.open >= 1000, "{c:?}");
    drop(idle);
}

#[tokio::test]
async fn xfreerdp_gets_in_when_idle_sockets_fill_the_cap() {
    let _serial = SERIAL.lock().await;
    if !peers_present() {
        return;
    }
    raise_nofile();
    // A cap well below the flood: the idle sockets push each other out, and the real client pushes out the oldest.
    let config = HostConfig { max_connections: 100, ..per_device(&["local"]) };
    let mut host = TestHost::start(config, 0, 0).await;
    let idle = idle_sockets(host.port, 1000).await;
    let wait = host.connections.wait_for(|c| c.accepted >= 1000 && c.open == 100);
    tokio::time::timeout(PEER_TIMEOUT, wait).await.expect("the cap was not reached").unwrap();
    let home = tempfile::tempdir().unwrap();
    let session = xfreerdp_session(home.path(), host.port, "flooded", &[]);
    host.wait_active(1).await;
    // Past licensing the session is never shed: another flood leaves it alone.
    let more = idle_sockets(host.port, 300).await;
    let wait = host.connections.wait_for(|c| c.accepted >= 1301);
    let c = *tokio::time::timeout(PEER_TIMEOUT, wait).await.expect("the second flood was not accepted").unwrap();
    println!("connection counters: {c:?}");
    assert!(c.shed >= 900, "{c:?}");
    assert_eq!(host.status.borrow().active_sessions, 1, "the licensed session was shed");
    assert_eq!(host.last_decision().decision, "issue-new temporary");
    drop((idle, more, session));
}

#[tokio::test]
async fn admin_without_the_admin_account_is_licensed_and_idle_admin_sessions_end() {
    let _serial = SERIAL.lock().await;
    if !peers_present() {
        return;
    }
    let config = HostConfig { admin_idle_timeout_secs: 2, ..with_admin(per_device(&["127.0.0.1:1"])) };
    let mut host = TestHost::start(config, 121, 0).await;
    let homes: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    // Wrong password: no slot, licensed like any client — past grace without a license server, refused with the
    // licensing ERRINFO, as a non-/admin client would be.
    let run =
        xfreerdp_auth_only(homes[0].path(), host.port, "intruder", &["/admin", "/u:rdadmin", "/p:wrong-password"]).await;
    assert_ne!(run.code, Some(0), "xfreerdp log:\n{}", run.log);
    assert!(run.log.contains("ERRINFO_LICENSE_NO_LICENSE_SERVER"), "xfreerdp log:\n{}", run.log);
    assert_ne!(host.last_decision().decision, "administrative");
    assert_eq!(host.status.borrow().admin_sessions, 0);
    // The right account gets a slot; left idle, the session ends after AdminIdleTimeoutSecs and frees it.
    let session = xfreerdp_session(homes[1].path(), host.port, "admin", ADMIN);
    host.wait_active(1).await;
    assert_eq!(host.status.borrow().admin_sessions, 1);
    let wait = host.status.wait_for(|s| s.active_sessions == 0 && s.admin_sessions == 0);
    tokio::time::timeout(PEER_TIMEOUT, wait).await.expect("the idle admin session was not ended").unwrap();
    let c = *host.connections.borrow();
    assert!(c.idle_timeouts >= 1, "{c:?}");
    drop(session);
}
