#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(info) = rdpele::pdu::NewLicenseInfo::decode(data) {
        assert_eq!(info.encode().expect("encodes"), data);
    }
});
