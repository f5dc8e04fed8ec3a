#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = rdpele::der::validate(data);
    let mut reader = rdpele::der::Reader::new(data);
    while let Ok(tlv) = reader.read_tlv() {
        let _ = tlv.value.len();
    }
});
