#![no_main]
//! Drives one ClientLicensing through arbitrary server PDUs (length-prefixed chunks). It must never panic.
use rdpele::client::*;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let style = data.first().copied().unwrap_or(0);
    let config = if style % 2 == 0 {
        ClientLicensingConfig::xfreerdp_like("user", "machine")
    } else {
        ClientLicensingConfig::rdesktop_like("user", "machine")
    };
    let mut client = ClientLicensing::new(config, [1; 32], [2; 48]);
    let mut store = MemoryLicenseStore::default();
    let mut rest = data.get(1..).unwrap_or_default();
    while rest.len() >= 2 && !client.is_done() {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let pdu = &rest[2..2 + len];
        rest = &rest[2 + len..];
        let _ = client.handle(pdu, &mut store);
    }
});
