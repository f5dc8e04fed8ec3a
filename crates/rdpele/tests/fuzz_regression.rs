//! Replays every input kept in tests/data/fuzz_regression through every decoder and both state machines.
//! Fuzzing (`scripts/fuzz`) found no crash so far; the inputs here are edge cases of the length fields, and any
//! crashing input found later goes here too.
#![allow(clippy::unwrap_used)]

use rdpele::client::{ClientLicensing, ClientLicensingConfig, MemoryLicenseStore};

#[test]
fn kept_inputs_never_panic_any_decoder() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz_regression");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(rdpele::pdu::LicensingPdu::decode(&data).is_err(), "these kept inputs are all malformed");
        let _ = rdpele::cert::ServerCertificate::decode(&data);
        let _ = rdpele::pdu::NewLicenseInfo::decode(&data);
        let _ = rdpele::der::validate(&data);
        let _ = rdpele::x509::Certificate::from_der(&data);
        let _ = rdpele::cal::parse_cal(&data);
        let mut client = ClientLicensing::new(ClientLicensingConfig::xfreerdp_like("u", "m"), [1; 32], [2; 48]);
        let _ = client.handle(&data, &mut MemoryLicenseStore::default());
        assert!(client.is_done(), "a malformed server PDU ends the client's exchange");
        count += 1;
    }
    assert!(count >= 3);
}
