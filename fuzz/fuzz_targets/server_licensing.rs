#![no_main]
//! Drives one ServerLicensing through arbitrary client PDUs (length-prefixed chunks of the input), answering
//! each decision point with a choice taken from the input. It must never panic.
use std::sync::{Arc, OnceLock};

use rdpele::cert::{ProprietaryCertificate, ServerCertificate};
use rdpele::crypto::LicensingKeyPair;
use rdpele::server::*;

fn config() -> Arc<ServerLicensingConfig> {
    static C: OnceLock<Arc<ServerLicensingConfig>> = OnceLock::new();
    C.get_or_init(|| {
        let key = LicensingKeyPair::generate(512).expect("key");
        let cert = ServerCertificate::Proprietary { temporary: false, certificate: ProprietaryCertificate::sign(key.public()).expect("sign") };
        Arc::new(ServerLicensingConfig::new(key, &cert, 0x000A_0000, "Microsoft Corporation", "A02", "microsoft.com").expect("config"))
    })
    .clone()
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut server = ServerLicensing::new(config(), [7; 32], [9; 10]);
    let _ = server.start();
    let mut rest = data;
    while rest.len() >= 3 && !server.is_done() {
        let choice = rest[0];
        let len = usize::from(u16::from_le_bytes([rest[1], rest[2]])).min(rest.len() - 3);
        let pdu = &rest[3..3 + len];
        rest = &rest[3 + len..];
        let mut action = server.handle(pdu);
        loop {
            action = match action {
                Action::DecidePresentedLicense(_) => server.decide_presented(match choice % 3 {
                    0 => PresentedDecision::ValidClient,
                    1 => PresentedDecision::Challenge,
                    _ => PresentedDecision::Refuse(Refusal::no_license_server()),
                }),
                Action::Decide(_) => server.decide(match choice % 4 {
                    0 => Decision::ValidClient,
                    1 => Decision::IssueNew(LicenseToSend { cal: pdu.to_vec() }),
                    2 => Decision::Upgrade(LicenseToSend { cal: vec![1, 2, 3] }),
                    _ => Decision::Refuse(Refusal::no_license()),
                }),
                Action::Send(_) | Action::Finish { .. } => break,
            };
        }
    }
});
