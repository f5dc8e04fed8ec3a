#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok((pdu, _)) = dcerpc::pdu::Pdu::decode(data) {
        // Whatever decodes encodes (little-endian, lengths recomputed) to a PDU with the same body, and that
        // encoding is stable.
        let bytes = pdu.encode().expect("a decoded PDU encodes");
        let (again, len) = dcerpc::pdu::Pdu::decode(&bytes).expect("re-decodes");
        assert_eq!(len, bytes.len());
        assert_eq!(again.body, pdu.body);
        assert_eq!(again.auth, pdu.auth);
        assert_eq!(again.encode().expect("encodes again"), bytes);
    }
});
