//! `rdlic probe` against `rdlic host` (in-process, on 127.0.0.1:0) in the article's licensing states: a new
//! temporary CAL then its upgrade to permanent (presented from `--license-dir`), the refusal past the grace period
//! without a license server (Error Alert + ERRINFO_LICENSE_NO_LICENSE_SERVER and the article's message), and
//! `/admin` still admitted.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rdlic_diag::probe::{self, AfterLicensing, LicensingResult, ProbeOptions, ProbeReport};
use rdlic_diag::checks::{self, Cause, FixHints};
use rdlic_diag::gather::{self, GatherOptions};
use rdlic_diag::Lang;
use rdlic_host::authority::{LicenseAuthority, LocalAuthority, LocalCalVerifier};
use rdlic_host::config::HostConfig;
use rdlic_host::grace::{Clock, GraceRecord};
use rdlic_host::{Host, HostOptions};

struct TestHost {
    port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestHost {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The admin account of the test hosts: an administrative connection takes a slot only with it.
const ADMIN_PASSWORD: &str = "probe-admin-password";

async fn start_host(dir: &Path, mut config: HostConfig, offset_days: i64, permanent: u32) -> TestHost {
    if config.admin_user.is_none() {
        config.admin_user = Some("probe".into());
        config.admin_password_hash = Some(rdlic_api::password::hash(ADMIN_PASSWORD).unwrap());
    }
    // The first start fixes the grace period's origin at the real time; the host clock may then be advanced.
    GraceRecord::load_or_start(dir, Clock::default().now()).unwrap();
    let key = LocalAuthority::load_or_create_key(&dir.join("local-ls/key.pem")).unwrap();
    let local = Arc::new(LocalAuthority::new("local", key, permanent).unwrap());
    let verifier = Arc::new(LocalCalVerifier::new(vec![local.public_key().unwrap()]));
    let authority: Arc<dyn LicenseAuthority> = local;
    let host = Host::bind(HostOptions {
        dir: dir.to_owned(),
        listen: "127.0.0.1:0".parse().unwrap(),
        config,
        clock: Clock::with_offset_days(offset_days),
        authorities: vec![authority],
        verifier,
    })
    .await
    .unwrap();
    let port = host.local_addr().unwrap().port();
    let task = tokio::spawn(host.run());
    TestHost { port, task }
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

async fn probe(options: ProbeOptions) -> ProbeReport {
    let report = tokio::task::spawn_blocking(move || probe::run(&options)).await.unwrap();
    eprintln!("{}", rdlic_diag::explain::render_probe(&report, Lang::En));
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_temporary_cal_then_upgrade_to_permanent_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let host = start_host(dir.path(), per_device(&["local"]), 0, 5).await;
    let store = tempfile::tempdir().unwrap();
    let options = ProbeOptions {
        client_hostname: "dev01".into(),
        user: "alice".into(),
        license_dir: Some(store.path().join("cals")),
        ..ProbeOptions::new(&format!("127.0.0.1:{}", host.port))
    };

    let first = probe(options.clone()).await;
    assert!(first.failure.is_none(), "{first:?}");
    let LicensingResult::NewLicense(license) = &first.licensing else { panic!("expected a new licence: {first:?}") };
    let cal = license.cal.as_ref().expect("the CAL decodes");
    assert_eq!(cal.kind, "temporary");
    assert_eq!(cal.client_machine, "dev01");
    assert!(cal.not_after > cal.not_before);
    assert!(license.stored_in.is_some());
    assert!(first.presented_stored_cal.is_none());
    assert_eq!(first.after_licensing, AfterLicensing::DemandActive);
    assert!(first.admitted());

    let second = probe(options).await;
    assert!(second.presented_stored_cal.is_some(), "the stored CAL was not presented: {second:?}");
    let LicensingResult::UpgradeLicense(upgraded) = &second.licensing else {
        panic!("expected an upgrade: {second:?}")
    };
    assert_eq!(upgraded.cal.as_ref().map(|c| c.kind), Some("permanent"));
    assert!(second.admitted());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_grace_without_license_server_is_refused_and_admin_still_connects() {
    // Nothing listens on port 1: the license server is unreachable; the host runs 121 days after its first start.
    let dir = tempfile::tempdir().unwrap();
    let host = start_host(dir.path(), per_device(&["127.0.0.1:1"]), 121, 0).await;
    let target = format!("127.0.0.1:{}", host.port);

    let refused = probe(ProbeOptions { client_hostname: "dev01".into(), ..ProbeOptions::new(&target) }).await;
    assert!(
        matches!(refused.licensing, LicensingResult::ErrorAlert { error_code: 0x6, state_transition: 0x1 }),
        "{refused:?}"
    );
    assert_eq!(refused.error_info, Some(0x101));
    assert!(!refused.admitted());
    let en = rdlic_diag::explain::render_probe(&refused, Lang::En);
    assert!(en.contains("ERR_NO_LICENSE_SERVER") && en.contains("ST_TOTAL_ABORT"), "{en}");
    assert!(
        en.contains("The remote session was disconnected because there are no Remote Desktop License Servers available to provide a license."),
        "{en}"
    );
    let fr = rdlic_diag::explain::render_probe(&refused, Lang::Fr);
    assert!(
        fr.contains("La session distante a été déconnectée, car aucun serveur de licences des services Bureau à distance n’est disponible pour fournir une licence."),
        "{fr}"
    );

    let admin = probe(ProbeOptions { admin: true, password: ADMIN_PASSWORD.into(), ..ProbeOptions::new(&target) }).await;
    assert!(matches!(admin.licensing, LicensingResult::ValidClient), "{admin:?}");
    assert!(admin.license_request.is_none(), "an administrative connection gets no License Request: {admin:?}");
    assert_eq!(admin.after_licensing, AfterLicensing::DemandActive);
    assert!(admin.admitted());
}

async fn diagnose(dir: &Path, offset_days: i64, hints: FixHints) -> checks::Diagnosis {
    let options = GatherOptions {
        host_dir: dir.to_owned(),
        clock_offset_days: offset_days,
        host_cal_version: 2022,
        timeout: Duration::from_secs(3),
    };
    let (snapshot, servers) = tokio::task::spawn_blocking(move || gather::gather(&options)).await.unwrap().unwrap();
    let d = checks::diagnose(&snapshot, &servers, &hints);
    eprintln!("{}", rdlic_diag::output::render_table(&d, "host", Lang::En, false));
    d
}

/// The seed article end to end with probe and diagnose: a host past its grace period with no license server
/// refuses clients (the article's message), `/admin` still connects, diagnose names cause 1, `--fix` sets
/// LicensingMode 4 and SpecifiedLicenseServers, and after a restart clients are licensed. Then the alternative
/// fix: the role disabled, clients admitted without licensing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn article_end_to_end_refused_diagnosed_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let config = HostConfig { host_name: Some("rdsh-test".into()), ..HostConfig::default() };
    config.save(dir.path()).unwrap();
    let host = start_host(dir.path(), HostConfig::load(dir.path()).unwrap(), 121, 0).await;
    let target = format!("127.0.0.1:{}", host.port);

    let refused = probe(ProbeOptions { client_hostname: "dev01".into(), ..ProbeOptions::new(&target) }).await;
    assert!(!refused.admitted(), "{refused:?}");
    assert_eq!(refused.error_info, Some(0x101), "{refused:?}");
    let admin = probe(ProbeOptions { admin: true, password: ADMIN_PASSWORD.into(), ..ProbeOptions::new(&target) }).await;
    assert!(admin.admitted(), "{admin:?}");

    let d = diagnose(dir.path(), 121, FixHints::default()).await;
    assert!(!d.can_license);
    assert_eq!(d.causes(), vec![Cause::NoLicenseServer]);
    // The refusal is in the host's decision log, and diagnose reads it back.
    let (snapshot, _) = gather::host_snapshot(&gather::GatherOptions {
        host_dir: dir.path().to_path_buf(),
        clock_offset_days: 121,
        host_cal_version: gather::DEFAULT_HOST_CAL_VERSION,
        timeout: std::time::Duration::from_secs(2),
    })
    .unwrap();
    let refusals = snapshot.recent_refusals.expect("the host writes decisions.jsonl");
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert_eq!(refusals[0].client, "dev01");

    // --fix, naming the (in-process) license server; then restart the host with the new configuration.
    let d = diagnose(dir.path(), 121, FixHints { license_server: Some("local".into()) }).await;
    let fixed = gather::apply_fixes(dir.path(), &d.safe_changes()).unwrap();
    assert!(fixed.restart_needed && fixed.backup.is_some());
    drop(host);
    let host = start_host(dir.path(), HostConfig::load(dir.path()).unwrap(), 121, 0).await;
    let licensed = probe(ProbeOptions {
        client_hostname: "dev01".into(),
        ..ProbeOptions::new(&format!("127.0.0.1:{}", host.port))
    })
    .await;
    assert!(licensed.admitted(), "{licensed:?}");
    assert!(licensed.license_request.is_some(), "a licensed (non-admin) connection runs the licensing exchange");
    assert!(diagnose(dir.path(), 121, FixHints::default()).await.can_license);

    // The alternative fix: no CALs, remove the role (back to the defaults otherwise): no licensing at all.
    drop(host);
    let role_removed = HostConfig { rds_rd_server_install_state: 0, ..HostConfig::default() };
    role_removed.save(dir.path()).unwrap();
    let host = start_host(dir.path(), role_removed, 121, 0).await;
    // Remote administration mode: administrators connect (the host's admin account), with no licensing.
    let admitted = probe(ProbeOptions {
        password: ADMIN_PASSWORD.into(),
        ..ProbeOptions::new(&format!("127.0.0.1:{}", host.port))
    })
    .await;
    assert!(admitted.admitted(), "{admitted:?}");
    assert!(admitted.license_request.is_none(), "remote administration mode sends no License Request");
    assert!(diagnose(dir.path(), 121, FixHints::default()).await.can_license);
}

/// A client built on the published IronRDP crates (ironrdp-connector 0.12, its own licensing sequence) is
/// licensed by the host: it completes the whole connection sequence, and the host records a new CAL for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ironrdp_client_with_its_own_licensing_is_licensed() {
    let dir = tempfile::tempdir().unwrap();
    // The default License Request carries an X.509 chain: the form IronRDP's client can use.
    let host = start_host(dir.path(), per_device(&["local"]), 0, 5).await;
    let options = ProbeOptions { client_hostname: "ironrdp01".into(), ..ProbeOptions::new(&format!("127.0.0.1:{}", host.port)) };
    let reached = tokio::task::spawn_blocking(move || probe::connect_with_ironrdp_licensing(&options)).await.unwrap();
    let log = std::fs::read_to_string(dir.path().join(rdlic_host::DECISION_LOG_FILE)).unwrap_or_default();
    assert_eq!(reached.unwrap_or_else(|e| panic!("{e}; host decisions: {log}")), "Connected");
    let last = log.lines().last().unwrap();
    assert!(last.contains("\"client\":\"ironrdp01\""), "{last}");
    assert!(last.contains("issue-new"), "the host issued a CAL to the IronRDP client: {last}");
}
