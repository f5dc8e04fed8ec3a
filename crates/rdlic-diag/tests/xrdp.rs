//! `rdlic probe` against xrdp 0.9.21 (Debian package), a server no one here wrote: started by the test on
//! 127.0.0.1 with a private ini (`fork=false`). xrdp sends a canned License Request (Microsoft product A02, scope
//! microsoft.com, 512-bit proprietary certificate, preamble 2.0) and answers STATUS_VALID_CLIENT to anything.
//!
//! Without xrdp the test prints a skip note, or fails when `RDLIC_REQUIRE_PEERS=1`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdlic_diag::probe::{self, AfterLicensing, LicensingResult, ProbeOptions};
use rdlic_diag::Lang;

fn xrdp_binary() -> Option<String> {
    let found = ["/usr/sbin/xrdp", "/usr/bin/xrdp"].iter().find(|p| Path::new(p).exists()).map(|p| (*p).to_owned());
    if found.is_none() {
        if std::env::var("RDLIC_REQUIRE_PEERS").as_deref() == Ok("1") {
            panic!("RDLIC_REQUIRE_PEERS=1 but xrdp is missing: apt-get install -y --no-install-recommends xrdp");
        }
        eprintln!("skip: xrdp not installed (set RDLIC_REQUIRE_PEERS=1 to fail instead)");
    }
    found
}

/// An xrdp process on 127.0.0.1:PORT, killed on drop.
struct Xrdp {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Xrdp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start_xrdp(binary: &str) -> Xrdp {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let original = std::fs::read_to_string("/etc/xrdp/xrdp.ini").expect("/etc/xrdp/xrdp.ini");
    // Only the [Globals] port and fork lines (the first of each); later sections have their own `port=`.
    let (mut port_done, mut fork_done) = (false, false);
    let ini: Vec<String> = original
        .lines()
        .map(|line| {
            if !port_done && line.starts_with("port=") {
                port_done = true;
                format!("port=tcp://127.0.0.1:{port}")
            } else if !fork_done && line.starts_with("fork=") {
                fork_done = true;
                "fork=false".to_owned()
            } else {
                line.to_owned()
            }
        })
        .collect();
    let ini_path = dir.path().join("xrdp.ini");
    std::fs::write(&ini_path, ini.join("\n")).unwrap();
    let child = Command::new(binary)
        .arg("-n")
        .arg("-c")
        .arg(&ini_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start xrdp");
    let mut xrdp = Xrdp { child, port, _dir: dir };
    // Wait until it listens (poll the port; give up after 20 s).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        if let Ok(Some(status)) = xrdp.child.try_wait() {
            panic!("xrdp exited early: {status}");
        }
        assert!(Instant::now() < deadline, "xrdp did not listen on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
    xrdp
}

#[test]
fn probe_reports_xrdp_license_request_and_valid_client() {
    let Some(binary) = xrdp_binary() else { return };
    let xrdp = start_xrdp(&binary);
    let target = format!("127.0.0.1:{}", xrdp.port);

    let report = probe::run(&ProbeOptions { client_hostname: "dev01".into(), ..ProbeOptions::new(&target) });
    let text_en = rdlic_diag::explain::render_probe(&report, Lang::En);
    eprintln!("{text_en}");
    assert!(report.failure.is_none(), "{text_en}");
    assert_eq!(report.security_protocol.as_deref(), Some("TLS"), "{text_en}");

    let request = report.license_request.as_ref().expect("no License Request");
    assert_eq!(request.product_id, "236", "{request:?}");
    assert_eq!(request.version, 0x0004_0000, "{request:?}");
    assert_eq!(request.company, "Microsoft Corporation", "{request:?}");
    assert_eq!(request.scopes, vec!["microsoft.com".to_owned()], "{request:?}");
    assert_eq!(request.preamble_version, 2, "{request:?}");
    assert_eq!(request.certificate, "proprietary");
    assert_eq!(request.key_bits, Some(512));

    assert!(matches!(report.licensing, LicensingResult::ValidClient), "{:?}", report.licensing);
    assert_eq!(report.after_licensing, AfterLicensing::DemandActive);
    assert_eq!(report.error_info, None);
    assert!(report.admitted());

    // Every phase up to licensing was timed, in order.
    let phases: Vec<&str> = report.phases.iter().map(|p| p.phase).collect();
    for expected in [
        "tcp-connect",
        "connection-initiation",
        "security-upgrade",
        "basic-settings-exchange",
        "channel-connection",
        "secure-settings-exchange",
        "licensing",
        "after-licensing",
    ] {
        assert!(phases.contains(&expected), "{expected} missing from {phases:?}");
    }

    assert!(text_en.contains("valid client, no licence issued"), "{text_en}");
    let text_fr = rdlic_diag::explain::render_probe(&report, Lang::Fr);
    assert!(text_fr.contains("client valide, aucune licence émise"), "{text_fr}");
    assert!(text_fr.contains("étendue microsoft.com"), "{text_fr}");

    // An administrative probe (cluster data with REDIRECTED_SESSIONID_FIELD_VALID) is accepted the same way.
    let admin = probe::run(&ProbeOptions { admin: true, ..ProbeOptions::new(&target) });
    assert!(matches!(admin.licensing, LicensingResult::ValidClient), "{admin:?}");
}
