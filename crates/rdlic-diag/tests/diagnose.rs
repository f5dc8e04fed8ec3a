//! `rdlic diagnose` against a real license server (`rdlic_server::start` on 127.0.0.1 with TLS and a SQLite
//! store) and a real host data directory: the article's causes one after the other, as an administrator would
//! walk them — host not enrolled, server not activated, no CALs (per user: over-allocated, a warning), CALs of the
//! wrong type, fixed with `--fix`, healthy, server down.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use openssl::pkey::PKey;
use rdlic_core::{CalType, CalVersion, Clearinghouse, KeyPack, KeyPackId, LicenseProgram};
use rdlic_diag::checks::{self, Cause, Diagnosis, FixHints, Severity};
use rdlic_diag::gather::{self, GatherOptions};
use rdlic_diag::{output, Lang};
use rdlic_host::config::HostConfig;
use rdlic_host::grace::{Clock, GraceRecord};
use rdlic_api::client::{AdminClient, LicenseServerClient};

fn now() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

async fn diagnose(host_dir: &Path, offset_days: i64) -> Diagnosis {
    let options = GatherOptions {
        host_dir: host_dir.to_owned(),
        clock_offset_days: offset_days,
        host_cal_version: 2022,
        timeout: Duration::from_secs(5),
    };
    let (snapshot, servers) = tokio::task::spawn_blocking(move || gather::gather(&options)).await.unwrap().unwrap();
    let diagnosis = checks::diagnose(&snapshot, &servers, &FixHints::default());
    eprintln!("{}", output::render_table(&diagnosis, &host_dir.display().to_string(), Lang::En, false));
    diagnosis
}

fn write_config(host_dir: &Path, mode: u32, servers: &[String]) {
    HostConfig { licensing_mode: mode, specified_license_servers: servers.to_vec(), ..HostConfig::default() }
        .save(host_dir)
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walks_the_article_causes_against_a_real_license_server() {
    let tmp = tempfile::tempdir().unwrap();
    let data: PathBuf = tmp.path().join("ls-data");
    let vendor = Clearinghouse::from_private_key(PKey::generate_ed25519().unwrap()).unwrap();
    let vendor_pub = tmp.path().join("clearinghouse.pub");
    std::fs::write(&vendor_pub, vendor.public_key().to_pem().unwrap()).unwrap();
    let mut options = rdlic_server::ServerOptions::new(data.clone());
    options.clearinghouse_key = Some(vendor_pub);
    let server = rdlic_server::start(options).await.unwrap();
    let admin = AdminClient::from_data_dir(&data, None).unwrap();
    let name = server.addr.to_string();

    // A session host past its grace period, per user, pointing at the server, not enrolled yet.
    let host_dir = tmp.path().join("host");
    std::fs::create_dir_all(&host_dir).unwrap();
    GraceRecord::load_or_start(&host_dir, Clock::default().now()).unwrap();
    write_config(&host_dir, 4, std::slice::from_ref(&name));

    let d = diagnose(&host_dir, 121).await;
    assert!(!d.can_license);
    assert_eq!(d.causes(), vec![Cause::HostNotEnrolled, Cause::ServerProblem]);

    // Enroll: now the server answers the status call; it was never activated and has no CALs (cause 2).
    let token = admin.post("/api/v1/admin/enroll-tokens", &serde_json::json!({})).await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let ca = std::fs::read(data.join("ca.crt")).unwrap();
    LicenseServerClient::enroll(&server.url, &token, "rdsh01", &host_dir, Some(&ca)).await.unwrap();
    let d = diagnose(&host_dir, 121).await;
    assert!(!d.can_license);
    assert_eq!(d.causes()[0], Cause::NotActivated, "{:?}", d.causes());

    // Activate (cause 3 remains: no CALs).
    let request = admin.get("/api/v1/admin/activation-request").await.unwrap();
    let key = PKey::public_key_from_pem(request["public_key_pem"].as_str().unwrap().as_bytes()).unwrap();
    let certificate = vendor.activate(&key.public_key_to_der().unwrap(), now()).unwrap();
    admin.post("/api/v1/admin/activate", &serde_json::json!({ "certificate": certificate.to_text() })).await.unwrap();
    // Per user, the server over-allocates: clients get in, and diagnose names cause 3 as a warning.
    let d = diagnose(&host_dir, 121).await;
    assert!(d.can_license, "{:?}", d.causes());
    assert!(d.findings.iter().any(|f| f.severity == Severity::Warning && f.cause == Some(Cause::NoCals)));

    // Per-device CALs installed while the host is per user: cause 4, and the fix is LicensingMode 2.
    let mut id = [0u8; 16];
    openssl::rand::rand_bytes(&mut id).unwrap();
    let pack = KeyPack {
        id: KeyPackId(id),
        cal_type: CalType::PerDevice,
        version: CalVersion(2022),
        program: LicenseProgram::RETAIL,
        count: 10,
        issued_at: now(),
        expires_at: None,
        issued_to: server.state.server_id(),
    };
    let text = vendor.issue_key_pack(pack).unwrap().to_text();
    admin.post("/api/v1/admin/keypacks", &serde_json::json!({ "pack": text })).await.unwrap();
    let d = diagnose(&host_dir, 121).await;
    assert!(d.findings.iter().any(|f| f.severity == Severity::Warning && f.cause == Some(Cause::CalsMisconfigured)));
    assert_eq!(d.safe_changes(), vec![checks::ConfigChange::SetLicensingMode(2)]);

    // Apply the fix (with a backup) and diagnose again: connections can be licensed.
    let report = gather::apply_fixes(&host_dir, &d.safe_changes()).unwrap();
    assert!(report.backup.as_ref().is_some_and(|b| b.exists()));
    let d = diagnose(&host_dir, 121).await;
    assert!(d.can_license, "{:?}", d.causes());
    assert!(d.findings.iter().all(|f| f.severity <= Severity::Info), "{:#?}", d.findings);
    let json = output::to_json(&d, "x", Lang::Fr, None);
    assert_eq!(json["can_license"], true);
    assert_eq!(json["summary"], "Les connexions à cet hôte peuvent obtenir une licence.");

    // The license server goes away: cause 5, connections cannot be licensed any more.
    server.shutdown().await;
    let d = diagnose(&host_dir, 121).await;
    assert!(!d.can_license);
    assert_eq!(d.causes(), vec![Cause::ServerProblem]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn article_scenario_no_license_server_past_grace_then_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let host_dir = tmp.path().join("host");
    std::fs::create_dir_all(&host_dir).unwrap();
    GraceRecord::load_or_start(&host_dir, Clock::default().now()).unwrap();
    write_config(&host_dir, 5, &[]);

    let d = diagnose(&host_dir, 121).await;
    assert!(!d.can_license);
    assert_eq!(d.causes(), vec![Cause::NoLicenseServer]);
    let fr = output::render_table(&d, "h", Lang::Fr, false);
    assert!(fr.contains("Cause 1 : il n’y a jamais eu de serveur de licences"), "{fr}");
    assert!(fr.contains(r#"rdlic reg add "HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM\Licensing Core" /v LicensingMode /t REG_DWORD /d 4"#), "{fr}");

    // --fix with a named license server: LicensingMode 4 and SpecifiedLicenseServers, backup first.
    let hints = FixHints { license_server: Some("local".into()) };
    let options = GatherOptions {
        host_dir: host_dir.clone(),
        clock_offset_days: 121,
        host_cal_version: 2022,
        timeout: Duration::from_secs(5),
    };
    let (snapshot, servers) = tokio::task::spawn_blocking(move || gather::gather(&options)).await.unwrap().unwrap();
    let d = checks::diagnose(&snapshot, &servers, &hints);
    let report = gather::apply_fixes(&host_dir, &d.safe_changes()).unwrap();
    assert_eq!(report.applied.len(), 2);
    let config = HostConfig::load(&host_dir).unwrap();
    assert_eq!((config.licensing_mode, config.specified_license_servers), (4, vec!["local".to_owned()]));
    let text = output::render_fix(&report, &d, Lang::En);
    assert!(text.contains("LicensingMode = 4") && text.contains("Restart the host"), "{text}");

    // The in-process demo server counts as a license server: licensable now.
    let d = diagnose(&host_dir, 121).await;
    assert!(d.can_license, "{:?}", d.causes());
}
