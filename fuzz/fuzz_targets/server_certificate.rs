#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(cert) = rdpele::cert::ServerCertificate::decode(data) {
        let _ = cert.public_key();
        assert_eq!(rdpele::cert::ServerCertificate::decode(&cert.encode()).expect("re-decodes"), cert);
    }
});
