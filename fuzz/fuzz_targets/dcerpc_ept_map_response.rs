#![no_main]
use dcerpc::epm::EptMapResponse;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // First byte: the data representation (big- or little-endian integers).
    let Some((drep, stub)) = data.split_first() else { return };
    if let Ok(response) = EptMapResponse::decode(stub, drep & 1 == 1) {
        let bytes = response.encode().expect("a decoded response encodes");
        assert_eq!(EptMapResponse::decode(&bytes, true).expect("re-decodes"), response);
        for tower in &response.towers {
            let _ = tower.summary();
        }
    }
});
