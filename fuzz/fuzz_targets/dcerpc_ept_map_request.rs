#![no_main]
use dcerpc::epm::EptMapRequest;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // First byte: the data representation (big- or little-endian integers).
    let Some((drep, stub)) = data.split_first() else { return };
    if let Ok(request) = EptMapRequest::decode(stub, drep & 1 == 1) {
        let bytes = request.encode().expect("a decoded request encodes");
        assert_eq!(EptMapRequest::decode(&bytes, true).expect("re-decodes"), request);
    }
});
