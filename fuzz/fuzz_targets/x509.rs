#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(cert) = rdpele::x509::Certificate::from_der(data) {
        let _ = cert.serial_u64();
        let _ = cert.is_self_issued();
    }
    let _ = rdpele::cert::x509_rsa_public_key(data);
});
