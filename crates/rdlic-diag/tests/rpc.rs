//! `rdlic probe --license-server` against real DCE/RPC peers, nothing mocked:
//!
//! * impacket (PyPI, in the virtual environment `scripts/test` creates; `RDLIC_IMPACKET_PYTHON` names its python):
//!   its `DCERPCServer` serves endpoint mappers that answer `ept_map` with impacket's own NDR, and the listeners
//!   they point to (`tests/peers/impacket_epm.py`): one per verdict;
//! * impacket's endpoint-mapper client (`epm.hept_map`) queries rdlic's small endpoint mapper (below, built on
//!   `dcerpc::server` and `dcerpc::epm`), so both directions are checked against bytes rdlic did not write;
//! * Samba 4.17's `samba-dcerpcd` on 127.0.0.2:135 (root only): a real endpoint mapper that does not know the
//!   licensing interface, also through `rdlic diagnose`;
//! * closed and blackholed ports on loopback, and a `.invalid` name.
//!
//! Without a peer the test prints a skip note, or fails when `RDLIC_REQUIRE_PEERS=1`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dcerpc::epm::{ContextHandle, EptMapRequest, EptMapResponse, EptStatus, Tower, EPT_MAP_OPNUM};
use dcerpc::pdu::{Body, FaultStatus, Header, Pdu};
use dcerpc::SyntaxId;
use rdlic_diag::rpc_probe::{self, RpcProbeOptions, RpcProbeReport, Verdict};
use rdlic_diag::Lang;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

const TIMEOUT: Duration = Duration::from_secs(2);

fn require_peers() -> bool {
    std::env::var("RDLIC_REQUIRE_PEERS").as_deref() == Ok("1")
}

fn missing(what: &str, how: &str) {
    if require_peers() {
        panic!("RDLIC_REQUIRE_PEERS=1 but {what} is missing: {how}");
    }
    eprintln!("skip: {what} is missing ({how}; set RDLIC_REQUIRE_PEERS=1 to fail instead)");
}

/// The python of the virtual environment with impacket.
fn impacket_python() -> Option<PathBuf> {
    let python = std::env::var_os("RDLIC_IMPACKET_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv-test/bin/python")));
    let ok = Command::new(&python)
        .args(["-c", "import impacket.dcerpc.v5.epm"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Some(python)
    } else {
        missing("impacket", "scripts/test creates .venv-test with `pip install impacket` and exports RDLIC_IMPACKET_PYTHON");
        None
    }
}

fn script() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/impacket_epm.py")
}

async fn probe(target: &str) -> RpcProbeReport {
    let report = rpc_probe::run_async(&RpcProbeOptions { target: target.to_owned(), timeout: TIMEOUT }).await;
    eprintln!("{}", rpc_probe::render(&report, Lang::En));
    report
}

/// The impacket peers, killed when dropped.
struct Peers {
    child: Child,
    ports: serde_json::Value,
}

impl Drop for Peers {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Peers {
    fn start(python: &PathBuf) -> Self {
        let mut child = Command::new(python)
            .args([script(), "serve"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the impacket peers");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let ports = serde_json::from_str(&line).unwrap_or_else(|e| panic!("peer said {line:?}: {e}"));
        Self { child, ports }
    }

    fn target(&self, scenario: &str) -> String {
        format!("127.0.0.1:{}", self.ports[scenario].as_u64().unwrap())
    }
}

#[tokio::test]
async fn impacket_endpoint_mappers_give_each_verdict() {
    let Some(python) = impacket_python() else { return };
    let peers = Peers::start(&python);

    // Registered and bindable: reachable, with the evidence of each step.
    let report = probe(&peers.target("registered")).await;
    let Verdict::Reachable { address, .. } = &report.verdict else { panic!("{report:?}") };
    let ept_map = report.ept_map.as_ref().unwrap();
    assert_eq!(ept_map.status, 0);
    assert_eq!(ept_map.towers.len(), 1);
    assert_eq!(ept_map.towers[0].protocol, "NCACN/TCP");
    assert_eq!(ept_map.towers[0].ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(address, &format!("127.0.0.1:{}", ept_map.towers[0].port.unwrap()));
    let text = rpc_probe::render(&report, Lang::En);
    assert!(text.contains("reachable over RPC") && text.contains("Not that the server is activated"), "{text}");
    assert!(rpc_probe::render(&report, Lang::Fr).contains("joignable en RPC"));

    // Registered on a port where nothing listens.
    let report = probe(&peers.target("closed")).await;
    assert!(matches!(report.verdict, Verdict::InterfaceUnreachable { filtered: false, .. }), "{report:?}");

    // Registered on a port that drops connections (the firewall case): within the timeout.
    let start = Instant::now();
    let report = probe(&peers.target("filtered")).await;
    assert!(matches!(report.verdict, Verdict::InterfaceUnreachable { filtered: true, .. }), "{report:?}");
    assert!(start.elapsed() < TIMEOUT * 3, "{:?}", start.elapsed());

    // bind_nak with its reason.
    let report = probe(&peers.target("bind-nak")).await;
    let Verdict::BindRefused { how, reason, reason_name, .. } = &report.verdict else { panic!("{report:?}") };
    assert_eq!((*how, *reason, *reason_name), ("bind-nak", 4, Some("PROTOCOL_VERSION_NOT_SUPPORTED")));

    // A listener of another interface: bind_ack with the context rejected (abstract syntax not supported).
    let report = probe(&peers.target("rejected")).await;
    let Verdict::BindRefused { how, reason, .. } = &report.verdict else { panic!("{report:?}") };
    assert_eq!((*how, *reason), ("context-rejected", 1));

    // The endpoint mapper does not know the interface.
    let report = probe(&peers.target("unregistered")).await;
    assert_eq!(report.verdict, Verdict::NotRegistered { status: EptStatus::EPT_S_NOT_REGISTERED.0, towers: 0 });
    assert!(rpc_probe::render(&report, Lang::En).contains("`telnet <server> 135` passes here and proves nothing"));
}

// ---------------------------------------------------------------------------------------------------------------
// rdlic's small endpoint mapper (test only), on the crate's server-side encoders
// ---------------------------------------------------------------------------------------------------------------

/// Serves `interfaces` on `listener`: binds are answered with `dcerpc::server::answer_bind`; when the endpoint
/// mapper is among them, `ept_map` answers with the towers of `registered`.
async fn serve(listener: TcpListener, interfaces: Vec<SyntaxId>, registered: Vec<(SyntaxId, u16)>) {
    let port = listener.local_addr().unwrap().port().to_string();
    loop {
        let Ok((stream, _)) = listener.accept().await else { return };
        let (interfaces, registered, port) = (interfaces.clone(), registered.clone(), port.clone());
        tokio::spawn(async move {
            let _ = connection(stream, &interfaces, &registered, &port).await;
        });
    }
}

async fn connection(
    mut stream: TcpStream,
    interfaces: &[SyntaxId],
    registered: &[(SyntaxId, u16)],
    port: &str,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    loop {
        let mut bytes = vec![0u8; Header::LEN];
        stream.read_exact(&mut bytes).await?;
        bytes.resize(usize::from(Header::decode(&bytes)?.frag_length), 0);
        stream.read_exact(&mut bytes[Header::LEN..]).await?;
        let (pdu, _) = Pdu::decode(&bytes)?;
        let call_id = pdu.header.call_id;
        let little = pdu.header.drep.little_endian().unwrap_or(true);
        let answer = match pdu.body {
            Body::Bind(bind) => {
                let ack = dcerpc::server::answer_bind(&bind, interfaces, port);
                Pdu::new(call_id, Body::BindAck(ack)).encode()?
            }
            Body::Request(request) if request.opnum == EPT_MAP_OPNUM && interfaces.contains(&SyntaxId::EPM_V3) => {
                let query = EptMapRequest::decode(&request.stub, little)?;
                let asked = query.map_tower.as_ref().and_then(|t| t.summary().interface);
                let towers: Vec<Tower> = registered
                    .iter()
                    .filter(|(interface, _)| asked.is_some_and(|a| a.uuid == interface.uuid && a.major == interface.major))
                    .map(|(interface, port)| Tower::ncacn_ip_tcp(*interface, *port, std::net::Ipv4Addr::LOCALHOST))
                    .take(usize::try_from(query.max_towers).unwrap_or(usize::MAX))
                    .collect();
                let status = if towers.is_empty() { EptStatus::EPT_S_NOT_REGISTERED } else { EptStatus::OK };
                let reply =
                    EptMapResponse { entry_handle: ContextHandle::default(), towers, max_towers: query.max_towers, status };
                dcerpc::server::response(call_id, request.context_id, reply.encode()?)?
            }
            Body::Request(request) => dcerpc::server::fault(call_id, request.context_id, FaultStatus::NCA_S_OP_RNG_ERROR)?,
            _ => return Ok(()),
        };
        stream.write_all(&answer).await?;
    }
}

async fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.unwrap()
}

async fn hept_map(python: &PathBuf, port: u16, interface: &str) -> serde_json::Value {
    let mut command = Command::new(python);
    command.args([script(), "query", "127.0.0.1", &port.to_string(), interface, "1.0"]);
    let output = tokio::task::spawn_blocking(move || command.output()).await.unwrap().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{stdout} {}: {e}", String::from_utf8_lossy(&output.stderr)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn impacket_hept_map_queries_the_rdlic_endpoint_mapper() {
    let Some(python) = impacket_python() else { return };
    let licensing = listener().await;
    let licensing_port = licensing.local_addr().unwrap().port();
    tokio::spawn(serve(licensing, vec![SyntaxId::TS_LICENSING_V1], vec![]));
    let epm = listener().await;
    let epm_port = epm.local_addr().unwrap().port();
    tokio::spawn(serve(epm, vec![SyntaxId::EPM_V3], vec![(SyntaxId::TS_LICENSING_V1, licensing_port)]));

    // impacket decodes rdlic's bind_ack and ept_map answer, and finds the port.
    let found = hept_map(&python, epm_port, "3d267954-eeb7-11d1-b94e-00c04fa3080d").await;
    assert_eq!(found["binding"], format!("ncacn_ip_tcp:127.0.0.1[{licensing_port}]"), "{found}");
    // ... and reads EPT_S_NOT_REGISTERED for an interface it does not know.
    let unknown = hept_map(&python, epm_port, "12345778-1234-abcd-ef00-0123456789ab").await;
    assert!(unknown["error"].as_str().unwrap_or_default().contains("ept_s_not_registered"), "{unknown}");

    // The rdlic probe against the same pair.
    let report = probe(&format!("127.0.0.1:{epm_port}")).await;
    assert_eq!(report.interface_address, Some(format!("127.0.0.1:{licensing_port}")));
    assert!(report.reachable(), "{report:?}");
}

// ---------------------------------------------------------------------------------------------------------------
// Failure verdicts on loopback
// ---------------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn closed_blackholed_and_unresolvable_endpoint_mappers() {
    // Closed: a port nothing listens on.
    let closed = listener().await;
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let report = probe(&format!("127.0.0.1:{closed_port}")).await;
    assert!(matches!(report.verdict, Verdict::EndpointMapperClosed { .. }), "{report:?}");
    assert!(report.verdict.endpoint_mapper_unusable());

    // Blackholed: a listener with a backlog of 0 that never accepts, its queue filled by one connection; Linux
    // drops the SYNs that follow, so connecting times out.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let blackhole = socket.listen(0).unwrap();
    let address = blackhole.local_addr().unwrap();
    let _filler = TcpStream::connect(address).await.unwrap();
    let start = Instant::now();
    let report = probe(&address.to_string()).await;
    assert_eq!(report.verdict, Verdict::EndpointMapperFiltered { timeout_secs: TIMEOUT.as_secs_f64() });
    assert!(start.elapsed() < TIMEOUT * 3, "{:?}", start.elapsed());
    assert!(rpc_probe::render(&report, Lang::Fr).contains("le port 135 est filtré"));

    // A name that cannot resolve (RFC 6761 reserves .invalid).
    let report = probe("ls1.rdlic-test.invalid").await;
    assert!(matches!(report.verdict, Verdict::NameNotResolved { .. }), "{report:?}");
    assert_eq!(report.endpoint_mapper, None);
}

// ---------------------------------------------------------------------------------------------------------------
// Samba's endpoint mapper
// ---------------------------------------------------------------------------------------------------------------

/// `samba-dcerpcd` with a private configuration, listening on 127.0.0.2 only; stopped when dropped (on SIGTERM
/// it stops its workers and exits).
struct Samba {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Samba {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

fn samba_dcerpcd() -> Option<PathBuf> {
    let path = PathBuf::from("/usr/libexec/samba/samba-dcerpcd");
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if path.exists() && root {
        Some(path)
    } else {
        missing("samba-dcerpcd run as root (port 135)", "apt-get install -y --no-install-recommends samba; run as root");
        None
    }
}

impl Samba {
    fn start(binary: &PathBuf) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        for sub in ["lock", "state", "cache", "private", "pid", "ncalrpc", "log"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let conf = format!(
            "[global]\n  server role = standalone server\n  interfaces = 127.0.0.2/8\n  bind interfaces only = yes\n  \
             rpc start on demand helpers = no\n  disable netbios = yes\n  lock directory = {d}/lock\n  \
             state directory = {d}/state\n  cache directory = {d}/cache\n  private dir = {d}/private\n  \
             pid directory = {d}/pid\n  ncalrpc dir = {d}/ncalrpc\n  log file = {d}/log/%m.log\n"
        );
        std::fs::write(dir.path().join("smb.conf"), conf).unwrap();
        // samba-dcerpcd closes the --ready-signal-fd when it listens: here its stdout, read to the end.
        let mut child = Command::new(binary)
            .args(["-F", "--libexec-rpcds", "--ready-signal-fd=1", "-s"])
            .arg(dir.path().join("smb.conf"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start samba-dcerpcd");
        let mut sink = Vec::new();
        let _ = child.stdout.take().unwrap().read_to_end(&mut sink);
        Self { child, _dir: dir }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samba_endpoint_mapper_does_not_know_the_licensing_interface() {
    let Some(binary) = samba_dcerpcd() else { return };
    let _samba = Samba::start(&binary);

    // `telnet 127.0.0.2 135` would pass: the endpoint mapper answers, and says "not registered".
    let report = probe("127.0.0.2").await;
    assert_eq!(report.endpoint_mapper.as_deref(), Some("127.0.0.2:135"));
    assert_eq!(report.verdict, Verdict::NotRegistered { status: 0x16c9_a0d6, towers: 0 }, "{report:?}");
    assert_eq!(report.ept_map.as_ref().unwrap().status_name, Some("EPT_S_NOT_REGISTERED"));

    // rdlic diagnose on a host whose SpecifiedLicenseServers names it as Windows does (a bare address).
    let host = tempfile::tempdir().unwrap();
    rdlic_host::config::HostConfig {
        licensing_mode: 2,
        specified_license_servers: vec!["127.0.0.2".into()],
        ..rdlic_host::config::HostConfig::default()
    }
    .save(host.path())
    .unwrap();
    let options = rdlic_diag::gather::GatherOptions {
        host_dir: host.path().to_owned(),
        clock_offset_days: 0,
        host_cal_version: 2022,
        timeout: TIMEOUT,
    };
    let (snapshot, servers) = tokio::task::spawn_blocking(move || rdlic_diag::gather::gather(&options)).await.unwrap().unwrap();
    let diagnosis = rdlic_diag::checks::diagnose(&snapshot, &servers, &rdlic_diag::checks::FixHints::default());
    let text = rdlic_diag::output::render_table(&diagnosis, "host", Lang::En, false);
    eprintln!("{text}");
    let finding = diagnosis.findings.iter().find(|f| f.check == rdlic_diag::checks::Check::Rpc).expect("rpc finding");
    assert_eq!(finding.server.as_deref(), Some("127.0.0.2"));
    assert_eq!(finding.cause, Some(rdlic_diag::checks::Cause::ServerProblem));
    assert!(text.contains("License server unreachable: the endpoint mapper answers"), "{text}");
    assert!(text.contains("TCP 135 and the dynamic RPC range TCP 49152-65535 (or TCP 445"), "{text}");
    assert!(text.contains("rdlic probe --license-server 127.0.0.2"), "{text}");
}
