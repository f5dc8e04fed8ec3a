//! In-memory client <-> server licensing runs: the two state machines wired through byte queues, no sockets.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, OnceLock};

use rdpele::cert::{ProprietaryCertificate, ServerCertificate};
use rdpele::client::{ClientAction, ClientLicensing, ClientLicensingConfig, ClientOutcome, LicenseStore, MemoryLicenseStore};
use rdpele::crypto::LicensingKeyPair;
use rdpele::pdu::{ErrorCode, LicensingMessage, LicensingPdu, StateTransition};
use rdpele::server::{
    Action, ClientRequest, Decision, ErrorInfo, LicenseToSend, Outcome, PresentedDecision, Refusal,
    ServerLicensing, ServerLicensingConfig,
};

fn proprietary_config() -> Arc<ServerLicensingConfig> {
    static CONFIG: OnceLock<Arc<ServerLicensingConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let key = LicensingKeyPair::generate(2048).unwrap();
            let cert = ServerCertificate::Proprietary {
                temporary: false,
                certificate: ProprietaryCertificate::sign(key.public()).unwrap(),
            };
            Arc::new(ServerLicensingConfig::new(key, &cert, 0x000A_0000, "Microsoft Corporation", "A02", "microsoft.com").unwrap())
        })
        .clone()
}

/// Deterministic "random" bytes for a run, different per seed.
fn bytes<const N: usize>(seed: u8) -> [u8; N] {
    core::array::from_fn(|i| u8::try_from((i * 31 + usize::from(seed) * 7) % 251).unwrap())
}

/// How the test's "host" answers each decision point.
struct Policy {
    presented: Box<dyn FnMut(&ClientRequest) -> PresentedDecision>,
    decide: Box<dyn FnMut(&ClientRequest) -> Decision>,
}

#[derive(Debug)]
struct Run {
    server_outcome: Outcome,
    client_outcome: Option<ClientOutcome>,
    requests: Vec<ClientRequest>,
    /// Every client PDU the server received, in order
    client_pdus: Vec<Vec<u8>>,
}

/// Runs one exchange. `tamper` may modify each client PDU before the server sees it.
fn run(
    config: Arc<ServerLicensingConfig>,
    client_config: ClientLicensingConfig,
    store: &mut dyn LicenseStore,
    mut policy: Policy,
    mut tamper: impl FnMut(usize, &mut Vec<u8>),
) -> Run {
    let mut server = ServerLicensing::new(config, bytes(1), bytes(2));
    let mut client = ClientLicensing::new(client_config, bytes(3), bytes(4));
    let mut to_client = server.start();
    let mut requests = Vec::new();
    let mut client_pdus = Vec::new();
    loop {
        let mut to_server = match client.handle(&to_client, store) {
            ClientAction::Send(pdu) => pdu,
            ClientAction::Finish { outcome, .. } => {
                panic!("client finished before the server: {outcome:?}")
            }
        };
        tamper(client_pdus.len(), &mut to_server);
        client_pdus.push(to_server.clone());
        let mut action = server.handle(&to_server);
        loop {
            action = match action {
                Action::Send(pdu) => {
                    to_client = pdu;
                    break;
                }
                Action::DecidePresentedLicense(req) => {
                    requests.push(req.clone());
                    server.decide_presented((policy.presented)(&req))
                }
                Action::Decide(req) => {
                    requests.push(req.clone());
                    server.decide((policy.decide)(&req))
                }
                Action::Finish { pdu, outcome } => {
                    assert!(server.is_done());
                    let client_outcome = pdu.map(|pdu| match client.handle(&pdu, store) {
                        ClientAction::Finish { outcome, .. } => outcome,
                        ClientAction::Send(_) => panic!("client wants to go on after the server finished"),
                    });
                    return Run { server_outcome: outcome, client_outcome, requests, client_pdus };
                }
            };
        }
    }
}

fn issue(cal: &'static [u8]) -> Policy {
    Policy {
        presented: Box::new(|_| panic!("no licence was expected")),
        decide: Box::new(move |_| Decision::IssueNew(LicenseToSend { cal: cal.to_vec() })),
    }
}

#[test]
fn new_license_is_issued_and_stored() {
    let mut store = MemoryLicenseStore::default();
    let cfg = ClientLicensingConfig::xfreerdp_like("alice", "dev01");
    let hwid = cfg.hardware_id;
    let r = run(proprietary_config(), cfg, &mut store, issue(b"CAL-ONE"), |_, _| {});
    assert_eq!(r.server_outcome, Outcome::Issued);
    let Some(ClientOutcome::NewLicense(info)) = r.client_outcome else { panic!("{:?}", r.client_outcome) };
    assert_eq!(info.license_info, b"CAL-ONE");
    assert_eq!(info.scope(), "microsoft.com");
    // The decision request carried what the host needs to issue.
    assert_eq!(r.requests.len(), 1);
    let req = &r.requests[0];
    assert!(req.new_request);
    assert_eq!(req.user_name, "alice");
    assert_eq!(req.machine_name, "dev01");
    assert_eq!(req.hardware_id, hwid);
    assert_eq!(req.presented_license, None);
    assert_eq!(store.licenses.values().next().unwrap(), b"CAL-ONE");
}

#[test]
fn stored_valid_license_is_accepted_without_challenge() {
    let mut store = MemoryLicenseStore::default();
    run(proprietary_config(), ClientLicensingConfig::xfreerdp_like("alice", "dev01"), &mut store, issue(b"PERMANENT"), |_, _| {});
    let r = run(
        proprietary_config(),
        ClientLicensingConfig::xfreerdp_like("alice", "dev01"),
        &mut store,
        Policy {
            presented: Box::new(|req| {
                assert_eq!(req.presented_license.as_deref(), Some(&b"PERMANENT"[..]));
                PresentedDecision::ValidClient
            }),
            decide: Box::new(|_| panic!("no challenge expected")),
        },
        |_, _| {},
    );
    assert_eq!(r.server_outcome, Outcome::ValidClient);
    assert_eq!(r.client_outcome, Some(ClientOutcome::ValidClient));
    assert_eq!(r.client_pdus.len(), 1, "License Info only, no challenge response");
    let LicensingMessage::LicenseInfo(_) = LicensingPdu::decode(&r.client_pdus[0]).unwrap().message else {
        panic!("the client should present its licence")
    };
}

#[test]
fn temporary_license_is_upgraded_after_the_challenge() {
    let mut store = MemoryLicenseStore::default();
    run(proprietary_config(), ClientLicensingConfig::xfreerdp_like("bob", "dev02"), &mut store, issue(b"TEMPORARY"), |_, _| {});
    let r = run(
        proprietary_config(),
        ClientLicensingConfig::xfreerdp_like("bob", "dev02"),
        &mut store,
        Policy {
            presented: Box::new(|_| PresentedDecision::Challenge),
            decide: Box::new(|req| {
                assert!(!req.new_request);
                assert_eq!(req.presented_license.as_deref(), Some(&b"TEMPORARY"[..]));
                Decision::Upgrade(LicenseToSend { cal: b"PERMANENT".to_vec() })
            }),
        },
        |_, _| {},
    );
    assert_eq!(r.server_outcome, Outcome::Upgraded);
    assert!(matches!(r.client_outcome, Some(ClientOutcome::UpgradedLicense(ref i)) if i.license_info == b"PERMANENT"));
    assert_eq!(store.licenses.len(), 1);
    assert_eq!(store.licenses.values().next().unwrap(), b"PERMANENT");
}

#[test]
fn refusal_reaches_the_client_as_no_license_server_total_abort() {
    let mut store = MemoryLicenseStore::default();
    let r = run(
        proprietary_config(),
        ClientLicensingConfig::xfreerdp_like("carol", "dev03"),
        &mut store,
        Policy {
            presented: Box::new(|_| panic!()),
            decide: Box::new(|_| Decision::Refuse(Refusal::no_license_server())),
        },
        |_, _| {},
    );
    assert_eq!(r.server_outcome.error_info(), Some(ErrorInfo::LICENSE_NO_LICENSE_SERVER));
    assert!(!r.server_outcome.admits_client());
    let Some(ClientOutcome::ServerAlert(alert)) = r.client_outcome else { panic!("{:?}", r.client_outcome) };
    assert_eq!(alert.error_code, ErrorCode::ERR_NO_LICENSE_SERVER);
    assert_eq!(alert.state_transition, StateTransition::ST_TOTAL_ABORT);
    assert!(store.licenses.is_empty());
}

#[test]
fn tampered_mac_is_refused_with_err_invalid_mac() {
    for target in [0usize, 1] {
        // 0: the License Info's MAC (needs a stored licence); 1: the challenge response's MAC
        let mut store = MemoryLicenseStore::default();
        if target == 0 {
            run(proprietary_config(), ClientLicensingConfig::xfreerdp_like("dan", "dev04"), &mut store, issue(b"X"), |_, _| {});
        }
        let r = run(
            proprietary_config(),
            ClientLicensingConfig::xfreerdp_like("dan", "dev04"),
            &mut store,
            Policy { presented: Box::new(|_| PresentedDecision::Challenge), decide: Box::new(|_| panic!("MAC must fail first")) },
            |i, pdu| {
                if i == target {
                    let last = pdu.len() - 1;
                    pdu[last] ^= 0x01;
                }
            },
        );
        let Outcome::ProtocolError { error_code, .. } = &r.server_outcome else { panic!("{:?}", r.server_outcome) };
        assert_eq!(*error_code, ErrorCode::ERR_INVALID_MAC, "target {target}");
        let Some(ClientOutcome::ServerAlert(alert)) = &r.client_outcome else { panic!() };
        assert_eq!(alert.error_code, ErrorCode::ERR_INVALID_MAC);
        assert_eq!(alert.state_transition, StateTransition::ST_TOTAL_ABORT);
    }
}

#[test]
fn rdesktop_style_client_gets_a_license() {
    let mut store = MemoryLicenseStore::default();
    let cfg = ClientLicensingConfig::rdesktop_like("erin", "rdclient01");
    let hwid = cfg.hardware_id;
    let r = run(proprietary_config(), cfg, &mut store, issue(b"RD-CAL"), |_, _| {});
    assert_eq!(r.server_outcome, Outcome::Issued);
    assert_eq!(r.requests[0].hardware_id, hwid);
    assert_eq!(r.requests[0].machine_name, "rdclient01");
    // Its premaster "ciphertext" is 72 zero bytes and its response is the bare 10-byte challenge.
    let LicensingMessage::NewLicenseRequest(req) = LicensingPdu::decode(&r.client_pdus[0]).unwrap().message else { panic!() };
    assert_eq!(req.encrypted_premaster_secret.data, vec![0u8; 72]);
    assert_eq!(req.client_random, [0u8; 32]);
    // Second connection presents the licence with the 0x0001 blob type for the hardware id.
    let r2 = run(
        proprietary_config(),
        ClientLicensingConfig::rdesktop_like("erin", "rdclient01"),
        &mut store,
        Policy { presented: Box::new(|_| PresentedDecision::ValidClient), decide: Box::new(|_| panic!()) },
        |_, _| {},
    );
    assert_eq!(r2.server_outcome, Outcome::ValidClient);
    assert_eq!(r2.requests[0].hardware_id, hwid);
}

#[test]
fn out_of_sequence_messages_abort_with_err_invalid_client() {
    // Capture a real challenge response, then send it first.
    let mut store = MemoryLicenseStore::default();
    let r = run(proprietary_config(), ClientLicensingConfig::xfreerdp_like("f", "g"), &mut store, issue(b"C"), |_, _| {});
    let response = r.client_pdus[1].clone();
    let mut server = ServerLicensing::new(proprietary_config(), bytes(1), bytes(2));
    let _ = server.start();
    let Action::Finish { pdu: Some(pdu), outcome } = server.handle(&response) else { panic!() };
    assert!(matches!(outcome, Outcome::ProtocolError { error_code: ErrorCode::ERR_INVALID_CLIENT, .. }));
    let LicensingMessage::ErrorAlert(alert) = LicensingPdu::decode(&pdu).unwrap().message else { panic!() };
    assert_eq!(alert.state_transition, StateTransition::ST_TOTAL_ABORT);
    // Anything after the end is refused too, never a panic.
    assert!(matches!(server.handle(&response), Action::Finish { .. }));
    // A server message from the client is out of sequence.
    let mut server = ServerLicensing::new(proprietary_config(), bytes(1), bytes(2));
    let request = server.start();
    assert!(matches!(server.handle(&request), Action::Finish { outcome: Outcome::ProtocolError { .. }, .. }));
}

#[test]
fn truncated_and_oversized_client_messages_are_errors_at_every_offset() {
    let mut store = MemoryLicenseStore::default();
    let r = run(proprietary_config(), ClientLicensingConfig::xfreerdp_like("h", "i"), &mut store, issue(b"C"), |_, _| {});
    let (request, response) = (r.client_pdus[0].clone(), r.client_pdus[1].clone());

    let expect_abort = |action: Action, what: &str| match action {
        Action::Finish { pdu: Some(pdu), outcome: Outcome::ProtocolError { .. } } => {
            let LicensingMessage::ErrorAlert(a) = LicensingPdu::decode(&pdu).unwrap().message else { panic!() };
            assert_eq!(a.state_transition, StateTransition::ST_TOTAL_ABORT, "{what}");
        }
        other => panic!("{what}: {other:?}"),
    };
    let mutations = |pdu: &[u8]| {
        let mut out = Vec::new();
        for n in 0..pdu.len() {
            out.push((format!("prefix {n}"), pdu[..n].to_vec()));
        }
        for at in 4..=pdu.len() {
            let mut grown = pdu.to_vec();
            grown.insert(at, 0xEE);
            let size = u16::try_from(grown.len()).unwrap();
            grown[2..4].copy_from_slice(&size.to_le_bytes());
            out.push((format!("insert at {at}"), grown));
        }
        out
    };
    for (what, bad) in mutations(&request) {
        let mut server = ServerLicensing::new(proprietary_config(), bytes(1), bytes(2));
        let _ = server.start();
        expect_abort(server.handle(&bad), &what);
    }
    for (what, bad) in mutations(&response) {
        let mut server = ServerLicensing::new(proprietary_config(), bytes(1), bytes(2));
        let _ = server.start();
        let Action::Send(_) = server.handle(&request) else { panic!() };
        // An inserted byte inside an encrypted blob decodes but fails the MAC: also an abort.
        expect_abort(server.handle(&bad), &what);
    }
}

#[test]
fn x509_chain_certificate_carries_the_licensing_key() {
    use rdpele::x509::{build_licensing_chain, LicensingChainSpec, RsaPublicKey as X509Key, SignatureAlgorithm};
    let key = LicensingKeyPair::generate(2048).unwrap();
    let root = openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
    let rsa = key.openssl();
    let leaf_key = X509Key::new(&rsa.n().to_vec(), &rsa.e().to_vec()).unwrap();
    let chain = build_licensing_chain(
        &root,
        &leaf_key,
        &LicensingChainSpec {
            license_server_name: "rdlic".into(),
            scope: "WORKGROUP".into(),
            host_name: "host01".into(),
            not_before: 1_700_000_000,
            not_after: 2_000_000_000,
            root_serial: 1,
            leaf_serial: 2,
            signature_algorithm: SignatureAlgorithm::Sha256WithRsa,
        },
    )
    .unwrap();
    // OpenSSL (what FreeRDP parses certificates with) accepts both certificates.
    for der in &chain {
        openssl::x509::X509::from_der(der).unwrap();
    }
    let cert = ServerCertificate::x509_chain(chain);
    let config = Arc::new(ServerLicensingConfig::new(key, &cert, 0x000A_0000, "Microsoft Corporation", "A02", "microsoft.com").unwrap());
    let mut store = MemoryLicenseStore::default();
    let r = run(config, ClientLicensingConfig::xfreerdp_like("x", "chain01"), &mut store, issue(b"CHAIN-CAL"), |_, _| {});
    assert_eq!(r.server_outcome, Outcome::Issued);
    assert!(matches!(r.client_outcome, Some(ClientOutcome::NewLicense(_))));
}

#[test]
fn a_certificate_for_another_key_is_refused_at_configuration() {
    let key = LicensingKeyPair::generate(1024).unwrap();
    let other = LicensingKeyPair::generate(1024).unwrap();
    let cert = ServerCertificate::Proprietary { temporary: false, certificate: ProprietaryCertificate::sign(other.public()).unwrap() };
    assert!(ServerLicensingConfig::new(key, &cert, 0x000A_0000, "Microsoft Corporation", "A02", "s").is_err());
}

#[test]
fn ironrdp_style_response_with_its_zero_prefix_is_accepted() {
    let mut store = MemoryLicenseStore::default();
    let mut cfg = ClientLicensingConfig::xfreerdp_like("ir", "ironrdp01");
    cfg.style = rdpele::client::ClientStyle::IronRdp;
    let r = run(proprietary_config(), cfg, &mut store, issue(b"IR-CAL"), |_, _| {});
    assert_eq!(r.server_outcome, Outcome::Issued);
    // The same bytes with the challenge changed inside would fail: the prefix is tolerated, not the content.
    let mut cfg = ClientLicensingConfig::xfreerdp_like("ir", "ironrdp02");
    cfg.style = rdpele::client::ClientStyle::IronRdp;
    let mut server = ServerLicensing::new(proprietary_config(), bytes(1), bytes(9));
    let mut client = ClientLicensing::new(cfg, bytes(3), bytes(4));
    let mut store = MemoryLicenseStore::default();
    let ClientAction::Send(req) = client.handle(&server.start(), &mut store) else { panic!() };
    let Action::Send(challenge) = server.handle(&req) else { panic!() };
    let ClientAction::Send(resp) = client.handle(&challenge, &mut store) else { panic!() };
    let mut other = ServerLicensing::new(proprietary_config(), bytes(1), bytes(8));
    let _ = other.start();
    let Action::Send(_) = other.handle(&req) else { panic!() };
    assert!(matches!(other.handle(&resp), Action::Finish { outcome: Outcome::ProtocolError { .. }, .. }));
}
