//! The license server against a hostile network, over real TLS on 127.0.0.1: idle and half-open connections are
//! closed at their deadlines, the connection cap sheds the oldest unauthenticated connection, and a flood of wrong
//! web-login passwords does not hold up CAL issuance. No sleeping: each test waits on a socket's end of file or on
//! the server's counters, with a generous upper bound.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{ask, Backend, Fixture};
use rdlic_api::client::AdminClient;
use rdlic_api::listen::ListenerCounters;
use tokio::io::AsyncReadExt as _;
use tokio::net::TcpStream;

/// Upper bound for anything that should happen within a deadline of 1 s.
const BOUND: Duration = Duration::from_secs(30);

/// Raises the soft limit of open files to the hard limit (the flood test holds both ends of ~1,200 sockets).
fn raise_nofile() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let limit = getrlimit(Resource::Nofile);
    let _ = setrlimit(Resource::Nofile, rustix::process::Rlimit { current: limit.maximum, maximum: limit.maximum });
}

/// Waits until the server's connection counters satisfy `f`.
async fn wait_counters(fx: &Fixture, f: impl FnMut(&ListenerCounters) -> bool) -> ListenerCounters {
    let mut rx = fx.server.state.listener.watch();
    let c = tokio::time::timeout(BOUND, rx.wait_for(f)).await.expect("the counters never got there").unwrap();
    *c
}

/// Reads until the peer closes; panics past [`BOUND`]. Returns how long it took.
async fn wait_closed<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> Duration {
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    let closed = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(BOUND, closed).await.expect("the server kept the idle connection open");
    start.elapsed()
}

/// Whether `tcp` is still open (nothing to read, no end of file), without waiting.
fn still_open(tcp: &TcpStream) -> bool {
    let mut buf = [0u8; 16];
    matches!(tcp.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_tls_connection_is_closed_at_the_header_deadline() {
    let fx = Fixture::start_with(Backend::Sqlite, |o| {
        o.handshake_timeout = Duration::from_secs(1);
        o.header_timeout = Duration::from_secs(1);
    })
    .await;
    let ca = rdlic_api::tls::first_cert(&fx.ca_pem()).unwrap();
    let config = rdlic_api::tls::client_config(&ca, None).unwrap();
    // TLS done, then nothing: hyper's header deadline (which needs a timer) closes it.
    let tcp = TcpStream::connect(fx.server.addr).await.unwrap();
    let name = rdlic_api::tls::server_name("127.0.0.1").unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(config).connect(name, tcp).await.unwrap();
    let took = wait_closed(&mut tls).await;
    println!("idle TLS connection closed after {took:?} (header deadline 1 s)");
    // TCP only, no ClientHello: the handshake deadline closes it.
    let mut raw = TcpStream::connect(fx.server.addr).await.unwrap();
    let took = wait_closed(&mut raw).await;
    println!("silent TCP connection closed after {took:?} (handshake deadline 1 s)");
    let c = wait_counters(&fx, |c| c.open == 0).await;
    assert_eq!((c.phase_timeouts, c.handshake_timeouts), (1, 1), "{c:?}");
    let metrics = AdminClient::from_data_dir(&fx.data, None).unwrap().request_raw("GET", "/metrics", None).await.unwrap().1;
    assert!(metrics.contains("rdlic_server_handshake_timeouts_total 1\n"), "{metrics}");
    fx.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cap_sheds_the_oldest_unauthenticated_connection_and_hosts_still_get_cals() {
    let fx = Fixture::start_with(Backend::Sqlite, |o| {
        o.max_connections = 5;
        o.handshake_timeout = Duration::from_secs(300);
        o.header_timeout = Duration::from_secs(300);
    })
    .await;
    // Two authenticated keep-alive connections: the admin client's (a completed request) and the host's (an
    // enrolled host's certificate). The enrollment's own connection closes with its client.
    let host = fx.enroll("rdsh1").await;
    host.issue_device_cal(&ask(1)).await.unwrap();
    wait_counters(&fx, |c| c.open == 2 && c.unauthenticated == 0).await;
    // Three silent sockets fill the table.
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(TcpStream::connect(fx.server.addr).await.unwrap());
    }
    wait_counters(&fx, |c| c.open == 5).await;
    // A fourth: the oldest silent socket makes room, the others stay.
    idle.push(TcpStream::connect(fx.server.addr).await.unwrap());
    wait_closed(&mut idle[0]).await;
    assert!(still_open(&idle[1]) && still_open(&idle[2]), "only the oldest is shed");
    // A host arriving on a new connection is served: the next oldest silent socket made room.
    let second = rdlic_api::client::LicenseServerClient::from_dir(&fx.tmp.0.join("host-rdsh1"), None).unwrap();
    second.issue_device_cal(&ask(2)).await.unwrap();
    wait_closed(&mut idle[1]).await;
    // More silent sockets only ever push out silent sockets: the three authenticated connections stay.
    for _ in 0..4 {
        idle.push(TcpStream::connect(fx.server.addr).await.unwrap());
    }
    let c = wait_counters(&fx, |c| c.accepted == 3 + 3 + 1 + 1 + 4 && c.open == 5).await;
    assert_eq!(c.unauthenticated, 2, "{c:?}");
    assert_eq!(c.shed, 6, "{c:?}");
    host.issue_device_cal(&ask(3)).await.unwrap();
    println!("connection counters: {c:?}");
    fx.server.shutdown().await;
}

/// p99 of `samples` (sorted in place).
fn p99(samples: &mut [Duration]) -> Duration {
    samples.sort();
    let i = (samples.len() * 99).div_ceil(100).saturating_sub(1);
    samples[i.min(samples.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_hundred_wrong_logins_do_not_hold_up_cal_issuance() {
    raise_nofile();
    let fx = Fixture::start(Backend::Sqlite).await;
    let hash = rdlic_server::password::hash("correct horse battery").unwrap();
    let store = fx.server.state.store().clone();
    tokio::task::spawn_blocking(move || store.set_admin_password_hash(&hash, "test", common::now())).await.unwrap().unwrap();
    let hosts: Vec<_> = futures_join(["rdsh1", "rdsh2", "rdsh3", "rdsh4"].iter().map(|n| fx.enroll(n))).await;
    let ca = rdlic_api::tls::first_cert(&fx.ca_pem()).unwrap();
    let url = fx.server.url.clone();

    // 600 wrong passwords at once, each on its own connection.
    let flood_started = Instant::now();
    let logins: Vec<_> = (0..600)
        .map(|i| {
            let browser = AdminClient::new(&url, &ca, "nothing").unwrap();
            tokio::spawn(async move {
                let body = serde_json::to_vec(&serde_json::json!({ "password": format!("guess-{i:04}") })).unwrap();
                browser.request_raw("POST", "/api/v1/admin/login", Some(body)).await
            })
        })
        .collect();
    let flood = tokio::spawn(async move {
        let mut statuses = std::collections::BTreeMap::<u16, u32>::new();
        for l in logins {
            match l.await.unwrap() {
                Ok((status, _)) => *statuses.entry(status).or_default() += 1,
                Err(e) => *statuses.entry(0).or_default() += u32::from(!e.to_string().is_empty()),
            }
        }
        statuses
    });

    // Meanwhile the hosts keep asking for CALs, one device after another.
    let mut latencies = Vec::new();
    let mut n = 0u32;
    while !flood.is_finished() || latencies.len() < 100 {
        let asks: Vec<_> = hosts
            .iter()
            .map(|h| {
                n += 1;
                let (h, a) = (h.clone(), ask(n));
                tokio::spawn(async move {
                    let t = Instant::now();
                    h.issue_device_cal(&a).await.map(|_| t.elapsed())
                })
            })
            .collect();
        for a in asks {
            latencies.push(a.await.unwrap().expect("a CAL request failed during the login flood"));
        }
    }
    let statuses = flood.await.unwrap();
    let flood_took = flood_started.elapsed();
    let p99 = p99(&mut latencies);
    let max = latencies.last().copied().unwrap_or_default();
    println!(
        "600 wrong logins in {flood_took:?} (answers by status: {statuses:?}); {} CALs issued meanwhile: p99 {p99:?}, max {max:?}",
        latencies.len()
    );
    assert_eq!(statuses.get(&200), None, "a wrong password was accepted");
    assert!(statuses.get(&429).copied().unwrap_or(0) + statuses.get(&503).copied().unwrap_or(0) > 0, "{statuses:?}");
    assert!(p99 < Duration::from_secs(2), "CAL issuance p99 {p99:?} during the login flood (acceptance: < 2 s)");
    fx.server.shutdown().await;
}

async fn futures_join<F: std::future::Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut out = Vec::new();
    for f in futs {
        out.push(f.await);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_password_and_wrong_password_get_the_same_answer_and_failures_back_off() {
    let fx = Fixture::start(Backend::Sqlite).await;
    let ca = rdlic_api::tls::first_cert(&fx.ca_pem()).unwrap();
    let browser = AdminClient::new(&fx.server.url, &ca, "nothing").unwrap();
    let login = |password: &str| serde_json::to_vec(&serde_json::json!({ "password": password })).unwrap();
    let started = Instant::now();
    let (status, unset) = browser.request_raw("POST", "/api/v1/admin/login", Some(login("whatever1"))).await.unwrap();
    let unset_took = started.elapsed();
    assert_eq!(status, 401, "{unset}");
    let hash = rdlic_server::password::hash("correct horse battery").unwrap();
    let store = fx.server.state.store().clone();
    tokio::task::spawn_blocking(move || store.set_admin_password_hash(&hash, "test", common::now())).await.unwrap().unwrap();
    let started = Instant::now();
    let (status, wrong) = browser.request_raw("POST", "/api/v1/admin/login", Some(login("whatever2"))).await.unwrap();
    let wrong_took = started.elapsed();
    assert_eq!(status, 401);
    assert_eq!(unset, wrong, "the answers must not tell whether a password is set");
    println!("no password set: answered in {unset_took:?}; wrong password: {wrong_took:?}");
    // Failures from one address: after the free ones, 429 with Retry-After, before any hashing.
    let mut throttled = None;
    for i in 0..(rdlic_server::login_guard::FREE_FAILURES + 2) {
        let (status, text) = browser.request_raw("POST", "/api/v1/admin/login", Some(login(&format!("guess-{i}")))).await.unwrap();
        if status == 429 {
            throttled = Some(text);
            break;
        }
        assert_eq!(status, 401, "{text}");
    }
    let text = throttled.expect("repeated failures were never throttled");
    assert!(text.contains("too_many_attempts"), "{text}");
    // Even the right password waits for the lockout to end.
    let (status, _) = browser.request_raw("POST", "/api/v1/admin/login", Some(login("correct horse battery"))).await.unwrap();
    assert_eq!(status, 429);
    fx.server.shutdown().await;
}
