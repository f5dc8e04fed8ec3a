#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(file) = rdlic_core::regfile::RegFile::parse(data) {
        let registry = file.to_registry();
        let _ = rdlic_core::winreg::licensing_settings(&registry);
    }
});
