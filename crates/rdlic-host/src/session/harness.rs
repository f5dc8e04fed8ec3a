//! Deterministic in-memory harness: the host's licensing phase (policy, failover, local CAL validation,
//! `ServerLicensing`, framing) against `rdpele::client::ClientLicensing` through an in-memory byte pipe — no
//! sockets, no sleeps. The host clock is advanced by whole days to cross the grace period.

#![allow(clippy::unwrap_used)]

use std::borrow::Cow;
use std::sync::Arc;

use ironrdp_core::{decode, encode_vec};
use ironrdp_pdu::mcs::{McsMessage, SendDataRequest};
use ironrdp_pdu::x224::X224;
use rdpele::client::{ClientAction, ClientLicensing, ClientLicensingConfig, ClientOutcome, MemoryLicenseStore};
use rdpele::pdu::ErrorCode;

use super::{licensing_phase, ClientFacts, Framed, LicensingResult, Phase, Secret};
use crate::authority::{LicenseAuthority, LocalAuthority, LocalCalVerifier};
use crate::config::HostConfig;
use crate::grace::{Clock, GraceRecord};
use crate::runtime::{Runtime, RuntimeParts};

const DAY: u64 = 86_400;
/// The admin account's password in [`with_admin`] configurations; console clients of [`exchange`] send it.
const ADMIN_PASSWORD: &str = "correct horse battery";
const LIMIT: std::time::Duration = std::time::Duration::from_secs(30);

/// `config` with the admin account `alice` / [`ADMIN_PASSWORD`].
fn with_admin(config: HostConfig) -> HostConfig {
    HostConfig {
        admin_user: Some("alice".into()),
        admin_password_hash: Some(rdlic_api::password::hash(ADMIN_PASSWORD).unwrap()),
        ..config
    }
}

struct Harness {
    dir: tempfile::TempDir,
    key: openssl::pkey::PKey<openssl::pkey::Private>,
}

impl Harness {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        // First start "now": the grace period starts here.
        GraceRecord::load_or_start(dir.path(), Clock::default().now()).unwrap();
        let key = openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(1024).unwrap()).unwrap();
        Self { dir, key }
    }

    fn runtime(&self, config: HostConfig, offset_days: i64, authority: Option<Arc<LocalAuthority>>) -> Arc<Runtime> {
        let mut trusted = Vec::new();
        let mut authorities: Vec<Arc<dyn LicenseAuthority>> = Vec::new();
        if let Some(local) = authority {
            trusted.push(local.public_key().unwrap());
            authorities.push(local);
        }
        let (runtime, _status) = Runtime::new(RuntimeParts {
            dir: self.dir.path().to_owned(),
            config,
            clock: Clock::with_offset_days(offset_days),
            authorities,
            verifier: Arc::new(LocalCalVerifier::new(trusted)),
        })
        .unwrap();
        Arc::new(runtime)
    }

    fn authority(&self, permanent: u32) -> Arc<LocalAuthority> {
        Arc::new(LocalAuthority::new("local", self.key.clone(), permanent).unwrap())
    }
}

fn per_device(servers: &[&str]) -> HostConfig {
    HostConfig {
        licensing_mode: 2,
        specified_license_servers: servers.iter().map(|s| (*s).to_owned()).collect(),
        host_name: Some("harness".into()),
        license_server_timeout_ms: 500,
        ..HostConfig::default()
    }
}

/// What the client saw.
#[derive(Debug)]
struct Exchange {
    outcome: ClientOutcome,
    /// ERRINFO codes of Set Error Info PDUs the host sent (after the licensing phase, on refusal).
    errinfo: Option<u32>,
    console: bool,
}

/// Runs the host's licensing phase against one client exchange.
async fn exchange(runtime: &Arc<Runtime>, client: ClientLicensingConfig, store: &mut MemoryLicenseStore, console: bool) -> Exchange {
    exchange_with(runtime, client, store, console, ADMIN_PASSWORD).await
}

/// [`exchange`] with the password the client sends in its Client Info PDU.
async fn exchange_with(
    runtime: &Arc<Runtime>,
    client: ClientLicensingConfig,
    store: &mut MemoryLicenseStore,
    console: bool,
    password: &str,
) -> Exchange {
    let (host_end, client_end) = tokio::io::duplex(64 * 1024);
    let facts = ClientFacts {
        client_name: client.machine_name.clone(),
        user: client.user_name.clone(),
        console,
        password: Secret(password.to_owned()),
        ..ClientFacts::default()
    };
    let host_runtime = runtime.clone();
    let host = tokio::spawn(async move {
        let mut framed = Framed::new(host_end, Phase::Licensing, LIMIT);
        let result: LicensingResult = licensing_phase(&host_runtime, &mut framed, &facts).await.unwrap();
        if let Some(refusal) = &result.refusal {
            super::send_refusal(&mut framed, refusal).await.unwrap();
        }
        // In a session the last licensing PDU leaves with the Demand Active; here nothing follows it.
        framed.flush().await.unwrap();
        result.refusal.as_ref().map(|r| r.errinfo)
    });

    let mut framed = Framed::new(client_end, Phase::Licensing, LIMIT);
    let mut client = ClientLicensing::new(client, [7; 32], [9; 48]);
    let mut seen_errinfo = None;
    let outcome = loop {
        let frame = framed.read_pdu(None).await.unwrap();
        let X224(McsMessage::SendDataIndication(indication)) = decode::<X224<McsMessage<'_>>>(&frame).unwrap() else {
            panic!("host sent something else than a Send Data Indication during licensing");
        };
        let data = indication.user_data.as_ref();
        if data[0] & 0x80 == 0 {
            // Set Error Info (share data PDU): the code is the last 4 bytes.
            let tail = &data[data.len() - 4..];
            seen_errinfo = Some(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
            continue;
        }
        match client.handle(&data[4..], store) {
            ClientAction::Send(pdu) => {
                let mut user_data = vec![0x80, 0, 0, 0];
                user_data.extend_from_slice(&pdu);
                let request = SendDataRequest { initiator_id: 1002, channel_id: 1003, user_data: Cow::Owned(user_data) };
                let bytes = encode_vec(&X224(request)).unwrap();
                tokio::io::AsyncWriteExt::write_all(&mut framed.stream, &bytes).await.unwrap();
            }
            ClientAction::Finish { outcome, .. } => break outcome,
        }
    };
    let errinfo = host.await.unwrap();
    assert_eq!(errinfo, seen_errinfo, "the Set Error Info PDU must come before the Error Alert");
    Exchange { outcome, errinfo, console }
}

fn xfreerdp(name: &str) -> ClientLicensingConfig {
    ClientLicensingConfig::xfreerdp_like("alice", name)
}

fn only_cal(store: &MemoryLicenseStore) -> Vec<u8> {
    assert_eq!(store.licenses.len(), 1);
    store.licenses.values().next().unwrap().clone()
}

#[tokio::test]
async fn per_device_temporary_then_permanent_then_valid() {
    let h = Harness::new();
    let runtime = h.runtime(per_device(&["down.invalid:1", "local"]), 0, Some(h.authority(1)));
    let mut store = MemoryLicenseStore::default();

    let first = exchange(&runtime, xfreerdp("dev01"), &mut store, false).await;
    assert!(matches!(first.outcome, ClientOutcome::NewLicense(_)), "{first:?}");
    let temporary = rdpele::cal::parse_cal(&only_cal(&store)).unwrap();
    assert!(temporary.temporary);

    let second = exchange(&runtime, xfreerdp("dev01"), &mut store, false).await;
    assert!(matches!(second.outcome, ClientOutcome::UpgradedLicense(_)), "{second:?}");
    assert!(!rdpele::cal::parse_cal(&only_cal(&store)).unwrap().temporary);
    assert!(GraceRecord::load(h.dir.path()).unwrap().unwrap().ended_by_permanent_cal.is_some());

    let third = exchange(&runtime, xfreerdp("dev01"), &mut store, false).await;
    assert_eq!(third.outcome, ClientOutcome::ValidClient);

    // A second device: the only permanent CAL is taken, but its temporary CAL is still valid → sent back.
    let mut other = MemoryLicenseStore::default();
    let new = exchange(&runtime, xfreerdp("dev02"), &mut other, false).await;
    assert!(matches!(new.outcome, ClientOutcome::NewLicense(_)));
    let again = exchange(&runtime, xfreerdp("dev02"), &mut other, false).await;
    assert!(matches!(again.outcome, ClientOutcome::UpgradedLicense(_)), "{again:?}");
    assert!(rdpele::cal::parse_cal(&only_cal(&other)).unwrap().temporary);
}

#[tokio::test]
async fn past_grace_without_license_server_refuses_with_0x101() {
    let h = Harness::new();
    let runtime = h.runtime(per_device(&["127.0.0.1:1"]), 121, None);
    let mut store = MemoryLicenseStore::default();
    let refused = exchange(&runtime, xfreerdp("dev01"), &mut store, false).await;
    match refused.outcome {
        ClientOutcome::ServerAlert(alert) => assert_eq!(alert.error_code, ErrorCode::ERR_NO_LICENSE_SERVER),
        other => panic!("expected ERR_NO_LICENSE_SERVER, got {other:?}"),
    }
    assert_eq!(refused.errinfo, Some(0x101));
    assert!(store.licenses.is_empty());

    // Within grace the same host lets the client in.
    let within = h.runtime(per_device(&["127.0.0.1:1"]), 119, None);
    let admitted = exchange(&within, xfreerdp("dev01"), &mut store, false).await;
    assert_eq!(admitted.outcome, ClientOutcome::ValidClient);
}

#[tokio::test]
async fn console_skips_licensing_and_a_third_admin_is_refused() {
    let h = Harness::new();
    let runtime = h.runtime(with_admin(per_device(&[])), 500, None);
    // Hold two administrative slots as two live sessions would.
    let valid = crate::policy::AdminCredentials::Valid;
    let (first, g1) = runtime.admit(true, valid);
    let (second, g2) = runtime.admit(true, valid);
    assert_eq!((first, second), (crate::policy::Admission::Administrative, crate::policy::Admission::Administrative));
    let mut store = MemoryLicenseStore::default();
    let (host_end, _client_end) = tokio::io::duplex(4096);
    let facts = ClientFacts {
        client_name: "admin3".into(),
        user: "alice".into(),
        password: Secret(ADMIN_PASSWORD.into()),
        console: true,
        ..ClientFacts::default()
    };
    let result = licensing_phase(&runtime, &mut Framed::new(host_end, Phase::Licensing, LIMIT), &facts).await.unwrap();
    assert_eq!(result.refusal.map(|r| r.errinfo), Some(crate::policy::errinfo::SERVER_DENIED_CONNECTION));
    drop((g1, g2));
    // With the slots free, a console client gets STATUS_VALID_CLIENT past grace, without a license server.
    let admin = exchange(&runtime, xfreerdp("admin4"), &mut store, true).await;
    assert_eq!(admin.outcome, ClientOutcome::ValidClient);
    assert!(admin.console);
}

#[tokio::test]
async fn console_without_the_admin_account_is_licensed_like_any_client() {
    let h = Harness::new();
    // Past grace, no license server: a licensed connection is refused, an administrative one is not.
    let with_account = h.runtime(with_admin(per_device(&["127.0.0.1:1"])), 500, None);
    let mut store = MemoryLicenseStore::default();
    let wrong = exchange_with(&with_account, xfreerdp("admin1"), &mut store, true, "wrong password").await;
    assert_eq!(wrong.errinfo, Some(crate::policy::errinfo::LICENSE_NO_LICENSE_SERVER), "{wrong:?}");
    let without_account = h.runtime(per_device(&["127.0.0.1:1"]), 500, None);
    let none = exchange(&without_account, xfreerdp("admin2"), &mut store, true).await;
    assert_eq!(none.errinfo, Some(crate::policy::errinfo::LICENSE_NO_LICENSE_SERVER), "{none:?}");
    assert!(with_account.admit(false, crate::policy::AdminCredentials::Invalid).1.is_none());
    // The right password takes a slot.
    let right = exchange(&with_account, xfreerdp("admin3"), &mut store, true).await;
    assert_eq!(right.outcome, ClientOutcome::ValidClient);
}

#[tokio::test]
async fn tampered_and_foreign_cals_get_a_fresh_licence() {
    let h = Harness::new();
    let runtime = h.runtime(per_device(&["local"]), 0, Some(h.authority(5)));
    let mut store = MemoryLicenseStore::default();
    exchange(&runtime, xfreerdp("dev01"), &mut store, false).await;
    let key = store.licenses.keys().next().unwrap().clone();
    let mut cal = store.licenses[&key].clone();
    let at = cal.len() - 100;
    cal[at] ^= 0xff;
    store.licenses.insert(key.clone(), cal);
    let fixed = exchange(&runtime, xfreerdp("dev01"), &mut store, false).await;
    assert!(matches!(fixed.outcome, ClientOutcome::NewLicense(_)), "{fixed:?}");

    store.licenses.insert(key, b"not a CAL at all".to_vec());
    let fixed = exchange(&runtime, xfreerdp("dev01"), &mut store, false).await;
    assert!(matches!(fixed.outcome, ClientOutcome::NewLicense(_)), "{fixed:?}");

    // rdesktop's nonstandard exchange goes through the same host path.
    let mut rd = MemoryLicenseStore::default();
    let rdesktop = exchange(&runtime, ClientLicensingConfig::rdesktop_like("bob", "rdclient01"), &mut rd, false).await;
    assert!(matches!(rdesktop.outcome, ClientOutcome::NewLicense(_)), "{rdesktop:?}");
}

#[tokio::test]
async fn not_configured_admits_only_within_grace_and_per_user_checks_out() {
    let h = Harness::new();
    let config = HostConfig { licensing_mode: 5, ..per_device(&[]) };
    let mut store = MemoryLicenseStore::default();
    let within = exchange(&h.runtime(config.clone(), 60, None), xfreerdp("d"), &mut store, false).await;
    assert_eq!(within.outcome, ClientOutcome::ValidClient);
    let past = exchange(&h.runtime(config, 120, None), xfreerdp("d"), &mut store, false).await;
    assert_eq!(past.errinfo, Some(0x101));

    let local = h.authority(0);
    let config = HostConfig { licensing_mode: 4, ..per_device(&["local"]) };
    let per_user = exchange(&h.runtime(config, 300, Some(local.clone())), xfreerdp("d"), &mut store, false).await;
    assert_eq!(per_user.outcome, ClientOutcome::ValidClient);
    assert_eq!(local.checked_out_users(), vec!["alice".to_owned()]);
    let _ = DAY;
}

#[tokio::test]
async fn x509_chain_form_of_the_license_request() {
    let h = Harness::new();
    let config = HostConfig { licensing_certificate: "x509".into(), ..per_device(&["local"]) };
    let runtime = h.runtime(config, 0, Some(h.authority(1)));
    let mut store = MemoryLicenseStore::default();
    let first = exchange(&runtime, xfreerdp("dev01"), &mut store, false).await;
    assert!(matches!(first.outcome, ClientOutcome::NewLicense(_)), "{first:?}");
}
