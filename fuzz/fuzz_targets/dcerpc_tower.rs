#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(tower) = dcerpc::epm::Tower::decode(data) {
        // A tower is raw floors: it encodes back to the very same bytes.
        assert_eq!(tower.encode().expect("a decoded tower encodes"), data);
        let _ = tower.summary();
    }
});
