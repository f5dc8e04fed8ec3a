//! The admin page in a real browser: a real license server (rdlic-server, SQLite, TLS on 127.0.0.1), the page served
//! next to its API, and `browser/admin.mjs` driving Debian's headless Chromium through playwright-core — once with
//! `--lang=en`, once with `--lang=fr`. Screenshots land in `$CARGO_TARGET_TMPDIR/rdlic-web-screens/`.
//!
//! When the server already serves the page (its router merged `rdlic_web::router()`), the browser talks to it
//! directly over HTTPS. Until then, the test serves the page over HTTPS on 127.0.0.1 with the server's own TLS
//! configuration and certificate, and forwards every other request, headers and body untouched, to the server over
//! TLS — so the page sees the real API.
//!
//! Needs `/usr/bin/chromium` (or `RDLIC_CHROMIUM`), `node` and `browser/node_modules` (`npm ci` in `browser/`):
//! missing, the tests print a skip note, or fail when `RDLIC_REQUIRE_PEERS=1` (scripts/test sets it).
#![allow(clippy::unwrap_used, clippy::as_conversions)]

use std::path::{Path, PathBuf};
use std::process::Command;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use http_body_util::BodyExt as _;
use openssl::pkey::PKey;
use rdlic_core::{CalType, CalVersion, Clearinghouse, KeyPack, KeyPackId, LicenseProgram, ServerId};
use rdlic_api::client::AdminClient;
use rdlic_server::ServerOptions;
use tower::Service as _;

struct Peers {
    chromium: PathBuf,
    browser_dir: PathBuf,
}

fn peers() -> Option<Peers> {
    let chromium = PathBuf::from(std::env::var("RDLIC_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    let browser_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    let node_ok = Command::new("node").arg("--version").output().map(|o| o.status.success()).unwrap_or(false);
    let mut missing = Vec::new();
    if !chromium.exists() {
        missing.push(format!("{} (apt-get install chromium chromium-driver)", chromium.display()));
    }
    if !node_ok {
        missing.push("node".to_owned());
    }
    if !browser_dir.join("node_modules/playwright-core").exists() {
        missing.push(format!("playwright-core (npm ci in {})", browser_dir.display()));
    }
    if missing.is_empty() {
        return Some(Peers { chromium, browser_dir });
    }
    let msg = format!("browser tests need {}", missing.join(", "));
    if std::env::var("RDLIC_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("RDLIC_REQUIRE_PEERS=1 but {msg}: run scripts/test");
    }
    eprintln!("skipping: {msg}");
    None
}

fn now() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

fn pack(ch: &Clearinghouse, to: ServerId, cal_type: CalType, count: u32) -> String {
    let mut id = [0u8; 16];
    openssl::rand::rand_bytes(&mut id).unwrap();
    let pack = KeyPack {
        id: KeyPackId(id),
        cal_type,
        version: CalVersion(2022),
        program: LicenseProgram::RETAIL,
        count,
        issued_at: now(),
        expires_at: None,
        issued_to: to,
    };
    ch.issue_key_pack(pack).unwrap().to_text()
}

/// Forwards a request from the page to the license server over TLS (the test-only stand-in for the merged router).
#[derive(Clone)]
struct Upstream {
    addr: std::net::SocketAddr,
    tls: tokio_rustls::TlsConnector,
}

async fn forward(State(up): State<Upstream>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let tcp = tokio::net::TcpStream::connect(up.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from(up.addr.ip().to_string()).unwrap();
    let tls = up.tls.connect(name, tcp).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls)).await.unwrap();
    tokio::spawn(conn);
    let mut out = hyper::Request::builder()
        .method(parts.method)
        .uri(parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
    for (k, v) in &parts.headers {
        if k != hyper::header::HOST {
            out = out.header(k, v);
        }
    }
    let out = out.header(hyper::header::HOST, up.addr.to_string()).body(http_body_util::Full::new(body)).unwrap();
    let resp = sender.send_request(out).await.unwrap();
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Response::from_parts(parts, Body::from(body))
}

async fn run_flow(lang: &str) {
    let Some(peers) = peers() else { return };
    let tmp = std::env::temp_dir().join(format!("rdlic-web-{lang}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let files = tmp.join("files");
    std::fs::create_dir_all(&files).unwrap();

    // The vendor, and a real license server trusting it.
    let ch = Clearinghouse::from_private_key(PKey::generate_ed25519().unwrap()).unwrap();
    let ch_pub = tmp.join("clearinghouse.pub");
    std::fs::write(&ch_pub, ch.public_key().to_pem().unwrap()).unwrap();
    let data = tmp.join("data");
    // `rdlic server init --admin-password-stdin` first: the page signs in with that password.
    let password = format!("horse-{lang}-battery");
    let (d, p) = (data.clone(), password.clone());
    tokio::task::spawn_blocking(move || rdlic_server::init::init(&d, None, &[], Some(&p))).await.unwrap().unwrap();
    let mut opts = ServerOptions::new(data.clone());
    opts.clearinghouse_key = Some(ch_pub);
    opts.extra_routes = Some(rdlic_web::router());
    let server = rdlic_server::start(opts).await.unwrap();
    let admin = AdminClient::from_data_dir(&data, None).unwrap();
    let server_id = server.state.server_id();

    // What the administrator uploads: an activation certificate, two good packs, a pack for another server, junk.
    let req = admin.get("/api/v1/admin/activation-request").await.unwrap();
    let key = PKey::public_key_from_pem(req["public_key_pem"].as_str().unwrap().as_bytes()).unwrap();
    let activation = ch.activate(&key.public_key_to_der().unwrap(), now()).unwrap().to_text();
    std::fs::write(files.join("activation.txt"), activation).unwrap();
    std::fs::write(files.join("device-pack.txt"), pack(&ch, server_id, CalType::PerDevice, 2)).unwrap();
    std::fs::write(files.join("user-pack.txt"), pack(&ch, server_id, CalType::PerUser, 5)).unwrap();
    std::fs::write(files.join("foreign-pack.txt"), pack(&ch, ServerId([7; 16]), CalType::PerDevice, 50)).unwrap();
    std::fs::write(files.join("not-a-pack.txt"), "hello, this is a shopping list\n").unwrap();

    // Where the page is: on the server itself once merged, else next to it with the API forwarded.
    let (status, body) = admin.request_raw("GET", "/admin/", None).await.unwrap();
    let base = if status == 200 && body.contains("data-app=\"rdlic-admin\"") {
        eprintln!("the license server serves the admin page itself");
        format!("{}/admin/", server.url)
    } else {
        // The page next to the API, behind the server's own TLS configuration and certificate (optional client
        // certificates, as the browser meets them once merged), every other path forwarded to the server.
        let read = |f: &str| std::fs::read(data.join(f)).unwrap();
        let ca = rdlic_api::tls::first_cert(&read("ca.crt")).unwrap();
        let leaf = rdlic_api::tls::first_cert(&read("tls.crt")).unwrap();
        let key = PKey::private_key_from_pem(&read("tls.key")).unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(rdlic_api::tls::server_config(&ca, &leaf, &key).unwrap());
        let tls = tokio_rustls::TlsConnector::from(rdlic_api::tls::client_config(&ca, None).unwrap());
        let up = Upstream { addr: server.addr, tls };
        let app = rdlic_web::router::<Upstream>().fallback(forward).with_state(up);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let (acceptor, app) = (acceptor.clone(), app.clone());
                tokio::spawn(async move {
                    let Ok(stream) = acceptor.accept(tcp).await else { return };
                    let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let mut app = app.clone();
                        async move { app.call(req).await }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, svc).await;
                });
            }
        });
        eprintln!("the license server does not serve /admin/ yet: page served at https://{addr}, API forwarded");
        format!("https://{addr}/admin/")
    };

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("rdlic-web-screens");
    let token = std::fs::read_to_string(data.join("admin.token")).unwrap();
    let mut cmd = Command::new("node");
    cmd.arg("admin.mjs")
        .current_dir(&peers.browser_dir)
        .env("RDLIC_BASE", &base)
        .env("RDLIC_API", &server.url)
        .env("RDLIC_CA", data.join("ca.crt"))
        .env("RDLIC_TOKEN", token.trim())
        .env("RDLIC_PASSWORD", &password)
        .env("RDLIC_FILES", &files)
        .env("RDLIC_SHOTS", &shots)
        .env("RDLIC_LANG", lang)
        .env("RDLIC_CHROMIUM", &peers.chromium);
    // The script has its own 180 s watchdog.
    let node = tokio::task::spawn_blocking(move || cmd.output()).await.unwrap().unwrap();
    let out = String::from_utf8_lossy(&node.stdout);
    let err = String::from_utf8_lossy(&node.stderr);
    println!("{out}");
    eprintln!("{err}");
    assert!(node.status.success(), "browser flow ({lang}) failed: {err}");
    assert!(out.contains(&format!("ok: {lang} admin page flow passed")), "{out}");

    // What the page did is really in the server: activation, both packs, one CAL revoked, one host revoked.
    let st = admin.get("/api/v1/status").await.unwrap();
    assert_eq!(st["activated"], true);
    let packs = admin.get("/api/v1/admin/keypacks").await.unwrap();
    assert_eq!(packs["keypacks"].as_array().unwrap().len(), 2, "{packs}");
    let cals = admin.get("/api/v1/admin/licenses").await.unwrap();
    let revoked = cals["licenses"].as_array().unwrap().iter().filter(|c| c["status"] == "revoked").count();
    assert_eq!(revoked, 1, "exactly one revocation went through (the second hit the 20% rule): {cals}");
    let hosts = admin.get("/api/v1/admin/hosts").await.unwrap();
    assert_eq!(hosts["hosts"][0]["revoked"], true, "{hosts}");
    assert_eq!(hosts["hosts"][0]["report"]["grace"]["state"], "expired", "the host's report is stored: {hosts}");
    let refusals = admin.get("/api/v1/admin/refusals").await.unwrap();
    assert_eq!(refusals["refusals"][0]["client"], "PC-REFUSED", "{refusals}");
    // The page signed in with the password (then with the token): both logins are audited.
    let audit = admin.get("/api/v1/admin/audit").await.unwrap();
    assert!(audit["entries"].as_array().unwrap().iter().any(|e| e["kind"] == "admin-login" && e["detail"] == "result=ok"), "{audit}");

    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&tmp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_page_in_english_chromium() {
    run_flow("en").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_page_in_french_chromium() {
    run_flow("fr").await;
}
