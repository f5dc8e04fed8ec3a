//! Property tests: decode(encode(x)) == x for every licensing message and sub-structure, and decoding arbitrary
//! bytes never panics.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use rdpele::cert::{ServerCertificate, RsaPublicKeyBlob, ProprietaryCertificate};
use rdpele::pdu::*;

fn blob() -> impl Strategy<Value = LicenseBinaryBlob> {
    (any::<u16>(), proptest::collection::vec(any::<u8>(), 0..300))
        .prop_map(|(t, data)| LicenseBinaryBlob::new(BlobType(t), data))
}

fn nonempty_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 1..max)
}

fn message() -> impl Strategy<Value = LicensingMessage> {
    let request = (
        any::<[u8; 32]>(),
        any::<u32>(),
        nonempty_bytes(60),
        nonempty_bytes(30),
        blob(),
        blob(),
        proptest::collection::vec(blob(), 0..4),
    )
        .prop_map(|(server_random, version, company_name, product_id, key_exchange_list, server_certificate, scope_list)| {
            LicensingMessage::LicenseRequest(ServerLicenseRequest {
                server_random,
                product_info: ProductInfo { version, company_name, product_id },
                key_exchange_list,
                server_certificate,
                scope_list,
            })
        });
    let new_request = (any::<u32>(), any::<u32>(), any::<[u8; 32]>(), blob(), blob(), blob()).prop_map(|(k, p, r, a, b, c)| {
        LicensingMessage::NewLicenseRequest(ClientNewLicenseRequest {
            preferred_key_exchange_alg: KeyExchangeAlg(k),
            platform_id: PlatformId(p),
            client_random: r,
            encrypted_premaster_secret: a,
            client_user_name: b,
            client_machine_name: c,
        })
    });
    let info = (any::<u32>(), any::<u32>(), any::<[u8; 32]>(), blob(), blob(), blob(), any::<[u8; 16]>()).prop_map(
        |(k, p, r, a, b, c, mac)| {
            LicensingMessage::LicenseInfo(ClientLicenseInfo {
                preferred_key_exchange_alg: KeyExchangeAlg(k),
                platform_id: PlatformId(p),
                client_random: r,
                encrypted_premaster_secret: a,
                license_info: b,
                encrypted_hwid: c,
                mac,
            })
        },
    );
    let challenge = (any::<u32>(), blob(), any::<[u8; 16]>()).prop_map(|(connect_flags, b, mac)| {
        LicensingMessage::PlatformChallenge(ServerPlatformChallenge { connect_flags, encrypted_platform_challenge: b, mac })
    });
    let response = (blob(), blob(), any::<[u8; 16]>()).prop_map(|(a, b, mac)| {
        LicensingMessage::PlatformChallengeResponse(ClientPlatformChallengeResponse {
            encrypted_challenge_response: a,
            encrypted_hwid: b,
            mac,
        })
    });
    let new_license = (blob(), any::<[u8; 16]>(), any::<bool>()).prop_map(|(b, mac, upgrade)| {
        let l = ServerLicense { encrypted_license_info: b, mac };
        if upgrade { LicensingMessage::UpgradeLicense(l) } else { LicensingMessage::NewLicense(l) }
    });
    let alert = (any::<u32>(), any::<u32>(), blob()).prop_map(|(e, s, b)| {
        LicensingMessage::ErrorAlert(LicenseErrorMessage {
            error_code: ErrorCode(e),
            state_transition: StateTransition(s),
            error_info: b,
        })
    });
    prop_oneof![request, new_request, info, challenge, response, new_license, alert]
}

proptest! {
    #[test]
    fn every_message_round_trips(message in message(), flags in any::<u8>()) {
        let pdu = LicensingPdu { flags, message };
        let bytes = pdu.encode().unwrap();
        prop_assert_eq!(usize::from(u16::from_le_bytes([bytes[2], bytes[3]])), bytes.len());
        prop_assert_eq!(LicensingPdu::decode(&bytes).unwrap(), pdu);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = LicensingPdu::decode(&bytes);
        let _ = ServerCertificate::decode(&bytes);
        let _ = NewLicenseInfo::decode(&bytes);
        let _ = PlatformChallengeResponseData::decode(&bytes);
        let _ = ClientHardwareId::decode(&bytes);
    }

    #[test]
    fn new_license_info_round_trips(
        version in any::<u32>(),
        scope in proptest::collection::vec(any::<u8>(), 0..40),
        company_name in proptest::collection::vec(any::<u8>(), 0..40),
        product_id in proptest::collection::vec(any::<u8>(), 0..40),
        license_info in proptest::collection::vec(any::<u8>(), 0..2000),
    ) {
        let info = NewLicenseInfo { version, scope, company_name, product_id, license_info };
        prop_assert_eq!(NewLicenseInfo::decode(&info.encode().unwrap()).unwrap(), info);
    }

    #[test]
    fn challenge_response_data_round_trips(version in any::<u16>(), t in any::<u16>(), l in any::<u16>(),
        challenge in proptest::collection::vec(any::<u8>(), 0..64)) {
        let data = PlatformChallengeResponseData {
            version,
            client_type: ClientType(t),
            license_detail_level: LicenseDetailLevel(l),
            challenge,
        };
        prop_assert_eq!(PlatformChallengeResponseData::decode(&data.encode().unwrap()).unwrap(), data);
    }

    #[test]
    fn hardware_id_round_trips(p in any::<u32>(), data in any::<[u32; 4]>()) {
        let id = ClientHardwareId { platform_id: PlatformId(p), data };
        prop_assert_eq!(ClientHardwareId::decode(&id.to_bytes()).unwrap(), id);
    }

    #[test]
    fn server_certificates_round_trip(
        temporary in any::<bool>(),
        certificates in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 2..5),
        padding in proptest::collection::vec(any::<u8>(), 0..40),
        exp in any::<u32>(),
        modulus in proptest::collection::vec(any::<u8>(), 9..72),
        signature in proptest::collection::vec(any::<u8>(), 0..80),
    ) {
        let chain = ServerCertificate::X509Chain { temporary, certificates, padding };
        prop_assert_eq!(ServerCertificate::decode(&chain.encode()).unwrap(), chain);
        let keylen = u32::try_from(modulus.len()).unwrap();
        let proprietary = ServerCertificate::Proprietary {
            temporary,
            certificate: ProprietaryCertificate {
                sig_alg_id: 1,
                key_alg_id: 1,
                public_key_blob_type: 6,
                public_key: RsaPublicKeyBlob { magic: 0x3141_5352, keylen, bitlen: (keylen - 8) * 8, datalen: keylen - 9, pub_exp: exp, modulus },
                signature_blob_type: 8,
                signature,
            },
        };
        prop_assert_eq!(ServerCertificate::decode(&proprietary.encode()).unwrap(), proprietary);
    }
}
