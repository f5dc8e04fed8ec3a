//! MS-RDPELE section 4 examples: each decodes, its fields match the values the specification annotates, and
//! re-encoding gives the same bytes. Data: tests/data/ms-rdpele-section4-examples.json (copied from the spec).
#![allow(clippy::unwrap_used)]

use rdpele::cert::ServerCertificate;
use rdpele::pdu::*;

fn example(id: &str) -> Vec<u8> {
    let json: serde_json::Value =
        serde_json::from_str(include_str!("data/ms-rdpele-section4-examples.json")).unwrap();
    hex::decode(json["examples"][id]["hex"].as_str().unwrap()).unwrap()
}

fn decode_and_reencode(id: &str) -> LicensingPdu {
    let bytes = example(id);
    let pdu = LicensingPdu::decode(&bytes).unwrap_or_else(|e| panic!("example {id}: {e}"));
    // wMsgSize bytes make the PDU; example 4.7 as published has one byte more, which is not part of it.
    let size = usize::from(u16::from_le_bytes([bytes[2], bytes[3]]));
    assert!(bytes.len() - size <= 1, "example {id}: {} bytes past wMsgSize", bytes.len() - size);
    assert_eq!(pdu.encode().unwrap(), bytes[..size], "example {id} re-encodes to different bytes");
    pdu
}

#[test]
fn example_4_1_server_license_request() {
    let pdu = decode_and_reencode("4.1");
    assert_eq!(pdu.flags, 0x03); // bVersion = PREAMBLE_VERSION_3_0
    let LicensingMessage::LicenseRequest(req) = pdu.message else { panic!("not a license request") };
    // 0x04: ServerRandom
    assert_eq!(&req.server_random[..4], &[0x84, 0xef, 0xae, 0x20]);
    assert_eq!(&req.server_random[28..], &[0xc2, 0x3c, 0x3f, 0x61]);
    // 0x24: PRODUCT_INFO: dwVersion 0x00060000, cbCompanyName 0x2c "Microsoft Corporation", "A02"
    assert_eq!(req.product_info.version, 0x0006_0000);
    assert_eq!(req.product_info.company_name.len(), 0x2c);
    assert_eq!(req.product_info.company_name(), "Microsoft Corporation");
    assert_eq!(req.product_info.product_id.len(), 8);
    assert_eq!(req.product_info.product_id(), "A02");
    // KeyExchangeList: BB_KEY_EXCHG_ALG_BLOB holding KEY_EXCHANGE_ALG_RSA
    assert_eq!(req.key_exchange_list.blob_type, BlobType::BB_KEY_EXCHG_ALG_BLOB);
    assert_eq!(req.key_exchange_algs(), vec![KeyExchangeAlg::KEY_EXCHANGE_ALG_RSA]);
    // ServerCertificate: BB_CERTIFICATE_BLOB of 0x812 bytes, X.509 chain of 2, temporarily issued
    assert_eq!(req.server_certificate.blob_type, BlobType::BB_CERTIFICATE_BLOB);
    assert_eq!(req.server_certificate.data.len(), 0x812);
    let cert = ServerCertificate::decode(&req.server_certificate.data).unwrap();
    let ServerCertificate::X509Chain { temporary, certificates, padding } = &cert else { panic!("not a chain") };
    assert!(*temporary);
    assert_eq!(certificates.len(), 2);
    assert_eq!(certificates[0].len(), 0x2f5);
    assert_eq!(&certificates[0][..4], &[0x30, 0x82, 0x02, 0xf1]);
    assert_eq!(padding.len(), 8 + 4 * 2); // Padding: 8 + 4 * NumCertBlobs
    assert_eq!(cert.encode(), req.server_certificate.data);
    // The leaf's key is the 2048-bit RSA key that encrypts the premaster secret.
    assert_eq!(cert.public_key().unwrap().modulus_len(), 256);
    // ScopeList: one scope "microsoft.com"
    assert_eq!(req.scopes(), vec!["microsoft.com".to_string()]);
    assert_eq!(req.scope_list[0].blob_type, BlobType::BB_SCOPE_BLOB);
}

#[test]
fn example_4_2_client_new_license_request() {
    let pdu = decode_and_reencode("4.2");
    assert_eq!(pdu.flags, 0x83); // EXTENDED_ERROR_MSG_SUPPORTED | PREAMBLE_VERSION_3_0
    let LicensingMessage::NewLicenseRequest(req) = pdu.message else { panic!("not a new license request") };
    assert_eq!(req.preferred_key_exchange_alg, KeyExchangeAlg::KEY_EXCHANGE_ALG_RSA);
    assert_eq!(req.platform_id, PlatformId(0x0401_0000)); // CLIENT_OS_ID_WINNT_POST_52 | CLIENT_IMAGE_ID_MICROSOFT
    assert_eq!(&req.client_random[..8], &[0xdc, 0x73, 0xa0, 0xc8, 0x69, 0x25, 0x6b, 0x18]);
    // EncryptedPreMaster: 0x108 bytes (256-byte modulus + 8 bytes of padding)
    assert_eq!(req.encrypted_premaster_secret.blob_type, BlobType::BB_RANDOM_BLOB);
    assert_eq!(req.encrypted_premaster_secret.data.len(), 0x108);
    assert_eq!(req.client_user_name.blob_type, BlobType::BB_CLIENT_USER_NAME_BLOB);
    assert_eq!(req.client_user_name.data.len(), 0xe);
    assert_eq!(req.user_name(), "Administrator");
    assert_eq!(req.client_machine_name.blob_type, BlobType::BB_CLIENT_MACHINE_NAME_BLOB);
    assert_eq!(req.machine_name(), "RODENT");
}

#[test]
fn example_4_3_client_license_info() {
    let pdu = decode_and_reencode("4.3");
    assert_eq!(pdu.flags, 0x83);
    let LicensingMessage::LicenseInfo(info) = pdu.message else { panic!("not license info") };
    assert_eq!(info.preferred_key_exchange_alg, KeyExchangeAlg::KEY_EXCHANGE_ALG_RSA);
    assert_eq!(info.encrypted_premaster_secret.data.len(), 0x108);
    // 0x138: LicenseInfo (2 + 2 + 0x0799)
    assert_eq!(info.license_info.blob_type, BlobType::BB_DATA_BLOB);
    assert_eq!(info.license_info.data.len(), 0x799);
    // 0x8d5: EncryptedHWID (2 + 2 + 0x14)
    assert_eq!(info.encrypted_hwid.data.len(), HARDWARE_ID_SIZE);
}

#[test]
fn example_4_4_server_platform_challenge() {
    let pdu = decode_and_reencode("4.4");
    assert_eq!(pdu.flags, 0x03);
    let LicensingMessage::PlatformChallenge(ch) = pdu.message else { panic!("not a challenge") };
    assert_eq!(ch.connect_flags, 0xffff_ffff); // ignored
    // wBlobType 0xf750 is garbage the spec says to ignore; it must still decode.
    assert_eq!(ch.encrypted_platform_challenge.blob_type, BlobType(0xf750));
    assert_eq!(ch.encrypted_platform_challenge.data, [0x46, 0x37, 0x85, 0x54, 0x8e, 0xc5, 0x91, 0x34, 0x97, 0x5d]);
    assert_eq!(ch.mac[..4], [0x78, 0x94, 0xad, 0x3b]);
}

#[test]
fn example_4_5_client_platform_challenge_response() {
    let pdu = decode_and_reencode("4.5");
    assert_eq!(pdu.flags, 0x83);
    let LicensingMessage::PlatformChallengeResponse(resp) = pdu.message else { panic!("not a response") };
    assert_eq!(resp.encrypted_challenge_response.data.len(), 0x12);
    assert_eq!(resp.encrypted_challenge_response.blob_type, BlobType::BB_DATA_BLOB); // type ignored
    assert_eq!(resp.encrypted_hwid.data.len(), 0x14);
    assert_eq!(resp.mac, [0x38, 0x23, 0x62, 0x5d, 0x10, 0x8b, 0x93, 0xc3, 0xf1, 0xe4, 0x67, 0x1f, 0x4a, 0xb6, 0x00, 0x0a]);
    // The decrypted forms the spec prints decode too.
    let data = PlatformChallengeResponseData::decode(&hex::decode("0001000103000a00540045005300540000 00".replace(' ', "")).unwrap());
    let data = data.unwrap();
    assert_eq!(data.version, 0x0100);
    assert_eq!(data.client_type, ClientType::WIN32_PLATFORMCHALLENGE_TYPE);
    assert_eq!(data.license_detail_level, LicenseDetailLevel::LICENSE_DETAIL_DETAIL);
    assert_eq!(from_utf16le(&data.challenge), "TEST");
    let hwid = ClientHardwareId::decode(&hex::decode("02000000f159873ec9d898af2402f8f3293af026").unwrap()).unwrap();
    assert_eq!(hwid.platform_id, PlatformId(2));
    assert_eq!(hwid.data[0], 0x3e87_59f1);
}

#[test]
fn example_4_6_server_new_license() {
    let pdu = decode_and_reencode("4.6");
    assert_eq!(pdu.flags, 0x03);
    let LicensingMessage::NewLicense(lic) = pdu.message else { panic!("not a new license") };
    // 0x04: EncryptedLicenseInfo (2 + 2 + 0x7ef)
    assert_eq!(lic.encrypted_license_info.data.len(), 0x7ef);
}

#[test]
fn example_4_7_server_upgrade_license() {
    let pdu = decode_and_reencode("4.7");
    let LicensingMessage::UpgradeLicense(lic) = pdu.message else { panic!("not an upgrade license") };
    // 0x04: EncryptedLicenseInfo (2 + 2 + 0x1b7d); 0x1b85: MACData.
    assert_eq!(lic.encrypted_license_info.data.len(), 0x1b7d);
    // The published dump is one byte longer than wMsgSize (0x1b95) and wBlobLen say: its annotated MAC
    // "73 da 36 ... a5 c6 00" is the dump's last 16 bytes, so the extra byte sits inside the encrypted blob.
    // The decoder follows the length fields, so the MAC it reads is shifted by that one byte.
    let dump = example("4.7");
    assert_eq!(dump.len(), 0x1b95 + 1);
    assert_eq!(lic.mac[..], dump[0x1b95 - 16..0x1b95]);
    assert_eq!(dump[dump.len() - 16..], [0x73, 0xda, 0x36, 0x1e, 0x92, 0xc8, 0xd0, 0x78, 0x12, 0xc3, 0x1c, 0xd3, 0x68, 0xa5, 0xc6, 0x00]);
}

#[test]
fn every_example_fails_cleanly_when_truncated_or_grown() {
    for id in ["4.1", "4.2", "4.3", "4.4", "4.5", "4.6", "4.7"] {
        let mut bytes = example(id);
        bytes.truncate(usize::from(u16::from_le_bytes([bytes[2], bytes[3]])));
        for n in 0..bytes.len() {
            assert!(LicensingPdu::decode(&bytes[..n]).is_err(), "{id}: prefix of {n} bytes decoded");
        }
        // A byte inserted anywhere, with wMsgSize adjusted, must not be accepted as the same message.
        for at in 4..bytes.len() {
            let mut grown = bytes.clone();
            grown.insert(at, 0x41);
            let size = u16::try_from(grown.len()).unwrap();
            grown[2..4].copy_from_slice(&size.to_le_bytes());
            if let Ok(pdu) = LicensingPdu::decode(&grown) {
                assert_ne!(pdu, LicensingPdu::decode(&bytes).unwrap(), "{id}: insertion at {at} went unnoticed");
            }
        }
    }
}
