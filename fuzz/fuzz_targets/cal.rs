#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = rdpele::cal::parse_cal(data);
});
