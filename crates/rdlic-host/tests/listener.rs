//! The RDP listener against a hostile network, on 127.0.0.1 with raw sockets: connections that stop in a phase are
//! closed at that phase's deadline, the connection cap sheds the oldest connection not yet past licensing, and the
//! optional metrics endpoint shows the counters. No sleeping: each test waits on a socket's end of file or on the
//! host's counters, with a generous upper bound. (Real clients during a flood of idle sockets: `peers.rs`.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdlic_api::listen::ListenerCounters;
use rdlic_host::authority::{LicenseAuthority, LocalAuthority, LocalCalVerifier};
use rdlic_host::config::HostConfig;
use rdlic_host::grace::Clock;
use rdlic_host::{Host, HostOptions};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// Upper bound for anything that should happen within a deadline of 1 s.
const BOUND: Duration = Duration::from_secs(30);

/// TPKT + X.224 Connection Request + RDP_NEG_REQ asking for TLS (PROTOCOL_SSL) ([MS-RDPBCGR] 2.2.1.1).
const CONNECTION_REQUEST: [u8; 19] = [
    0x03, 0x00, 0x00, 0x13, // TPKT, 19 bytes
    0x0e, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, // X.224 CR TPDU
    0x01, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00, // RDP_NEG_REQ, PROTOCOL_SSL
];

struct Running {
    addr: std::net::SocketAddr,
    connections: watch::Receiver<ListenerCounters>,
    _dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start(config: HostConfig) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let key = LocalAuthority::load_or_create_key(&dir.path().join("local-ls/key.pem")).unwrap();
    let local = Arc::new(LocalAuthority::new("local", key, 0).unwrap());
    let verifier = Arc::new(LocalCalVerifier::new(vec![local.public_key().unwrap()]));
    let authority: Arc<dyn LicenseAuthority> = local;
    let host = Host::bind(HostOptions {
        dir: dir.path().to_owned(),
        listen: "127.0.0.1:0".parse().unwrap(),
        config,
        clock: Clock::default(),
        authorities: vec![authority],
        verifier,
    })
    .await
    .unwrap();
    let addr = host.local_addr().unwrap();
    let connections = host.connections();
    let task = tokio::spawn(host.run());
    Running { addr, connections, _dir: dir, task }
}

impl Running {
    async fn wait(&mut self, f: impl FnMut(&ListenerCounters) -> bool) -> ListenerCounters {
        *tokio::time::timeout(BOUND, self.connections.wait_for(f)).await.expect("the counters never got there").unwrap()
    }
}

/// Reads until the host closes; panics past [`BOUND`]. Returns how long it took.
async fn wait_closed(tcp: &mut TcpStream) -> Duration {
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    let closed = async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(BOUND, closed).await.expect("the host kept the idle connection open");
    start.elapsed()
}

fn still_open(tcp: &TcpStream) -> bool {
    let mut buf = [0u8; 16];
    matches!(tcp.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

/// Connects and completes the X.224 exchange (Connection Request, Connection Confirm), then returns the socket.
async fn after_connection_confirm(addr: std::net::SocketAddr) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(&CONNECTION_REQUEST).await.unwrap();
    let mut confirm = [0u8; 19];
    tokio::time::timeout(BOUND, tcp.read_exact(&mut confirm)).await.expect("no Connection Confirm").unwrap();
    assert_eq!(confirm[5], 0xd0, "X.224 Connection Confirm");
    assert_eq!(confirm[11], 0x02, "RDP_NEG_RSP");
    tcp
}

fn short_deadlines() -> HostConfig {
    HostConfig { x224_timeout_secs: 1, tls_handshake_timeout_secs: 1, ..HostConfig::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_idle_after_the_connection_confirm_is_closed_at_the_tls_deadline() {
    let mut host = start(short_deadlines()).await;
    let mut tcp = after_connection_confirm(host.addr).await;
    let took = wait_closed(&mut tcp).await;
    println!("idle after the X.224 Connection Confirm: closed after {took:?} (TLS handshake deadline 1 s)");
    let c = host.wait(|c| c.open == 0).await;
    assert_eq!(c.handshake_timeouts, 1, "{c:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_socket_is_closed_at_the_x224_deadline() {
    let mut host = start(short_deadlines()).await;
    let mut tcp = TcpStream::connect(host.addr).await.unwrap();
    let took = wait_closed(&mut tcp).await;
    println!("silent socket: closed after {took:?} (X.224 deadline 1 s)");
    let c = host.wait(|c| c.open == 0).await;
    assert_eq!(c.phase_timeouts, 1, "{c:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cap_sheds_the_oldest_connection_not_yet_licensed_and_metrics_show_it() {
    // A free port for the metrics endpoint (bound and released: another process could take it in between, which
    // would only fail this test).
    let metrics_addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let config = HostConfig { max_connections: 3, metrics_listen: Some(metrics_addr), ..HostConfig::default() };
    let mut host = start(config).await;
    let mut sockets = Vec::new();
    for _ in 0..3 {
        sockets.push(after_connection_confirm(host.addr).await);
    }
    host.wait(|c| c.open == 3).await;
    // A fourth connection: the oldest makes room.
    sockets.push(TcpStream::connect(host.addr).await.unwrap());
    wait_closed(&mut sockets[0]).await;
    assert!(still_open(&sockets[1]) && still_open(&sockets[2]), "only the oldest is shed");
    let c = host.wait(|c| c.shed == 1 && c.open == 3).await;
    assert_eq!((c.accepted, c.unauthenticated), (4, 3), "{c:?}");
    // The counters over HTTP.
    let mut scrape = TcpStream::connect(metrics_addr).await.unwrap();
    scrape.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut text = String::new();
    tokio::time::timeout(BOUND, scrape.read_to_string(&mut text)).await.unwrap().unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
    assert!(text.contains("rdlic_host_connections_shed_total 1\n"), "{text}");
    assert!(text.contains("rdlic_host_connections_open 3\n"), "{text}");
}
