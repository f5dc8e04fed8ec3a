//! MS-RDPELE 5.1 key derivation, MAC and RC4 against values computed independently (Python hashlib, from the
//! formulas in the specification: tests/data/licensing-kat.py).
#![allow(clippy::unwrap_used)]

use rdpele::crypto::LicensingKeys;

#[test]
fn key_derivation_mac_and_rc4_match_the_independent_values() {
    let kat: serde_json::Value = serde_json::from_str(include_str!("data/licensing-kat.json")).unwrap();
    let h = |k: &str| hex::decode(kat[k].as_str().unwrap()).unwrap();
    let keys = LicensingKeys::derive(
        &h("premaster").try_into().unwrap(),
        &h("client_random").try_into().unwrap(),
        &h("server_random").try_into().unwrap(),
    );
    assert_eq!(keys.mac_salt_key.to_vec(), h("mac_salt_key"));
    assert_eq!(keys.encryption_key.to_vec(), h("encryption_key"));
    let message = h("message");
    assert_eq!(keys.rc4(&message), h("rc4"));
    assert_eq!(keys.mac(&message).to_vec(), h("mac"));
    assert_eq!(keys.rc4(&h("rc4")), message);
}
