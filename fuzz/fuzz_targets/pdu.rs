#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(pdu) = rdpele::pdu::LicensingPdu::decode(data) {
        // Whatever decodes must encode back to a PDU that decodes to the same value.
        let bytes = pdu.encode().expect("a decoded PDU encodes");
        assert_eq!(rdpele::pdu::LicensingPdu::decode(&bytes).expect("re-decodes"), pdu);
    }
});
