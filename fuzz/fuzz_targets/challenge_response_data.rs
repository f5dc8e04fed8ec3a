#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(d) = rdpele::pdu::PlatformChallengeResponseData::decode(data) {
        assert_eq!(d.encode().expect("encodes"), data);
    }
    let _ = rdpele::pdu::ClientHardwareId::decode(data);
});
