//! Vendor side and server side of activation and key packs, with real OpenSSL keys (Ed25519 and RSA).

#![allow(clippy::unwrap_used)]

use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use rdlic_core::{
    ActivationCertificate, ActivationError, CalType, CalVersion, Clearinghouse, ClearinghouseKey, KeyPack,
    KeyPackError, KeyPackId, LicenseProgram, ServerId, SignedKeyPack,
};

const NOW: i64 = 1_800_000_000;

fn ed25519() -> Clearinghouse {
    Clearinghouse::from_private_key(PKey::generate_ed25519().unwrap()).unwrap()
}

fn server_key() -> Vec<u8> {
    PKey::generate_ed25519().unwrap().public_key_to_der().unwrap()
}

fn pack(to: ServerId) -> KeyPack {
    KeyPack {
        id: KeyPackId([0x11; 16]),
        cal_type: CalType::PerDevice,
        version: CalVersion::WS2022,
        program: LicenseProgram::RETAIL,
        count: 50,
        issued_at: NOW - 10,
        expires_at: Some(NOW + 365 * 86_400),
        issued_to: to,
    }
}

#[test]
fn genuine_pack_verifies_and_survives_its_text_file() {
    for ch in [
        ed25519(),
        Clearinghouse::from_private_key(PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap()).unwrap(),
    ] {
        let me = ServerId::from_public_key_der(&server_key());
        let signed = ch.issue_key_pack(pack(me)).unwrap();
        let text = signed.to_text();
        assert!(text.starts_with("-----BEGIN RDLIC KEY PACK-----\n"), "{text}");
        let back = SignedKeyPack::from_text(&text).unwrap();
        assert_eq!(back, signed);
        // The trusted key travels as PEM.
        let trusted = ClearinghouseKey::from_pem(&ch.public_key().to_pem().unwrap()).unwrap();
        let v = trusted.verify_key_pack(&back, me, NOW).unwrap();
        assert_eq!(v.pack(), &signed.pack);
    }
}

#[test]
fn forged_altered_expired_and_foreign_packs_are_refused_with_distinct_errors() {
    let ch = ed25519();
    let me = ServerId::from_public_key_der(&server_key());
    let trusted = ch.public_key().clone();
    let signed = ch.issue_key_pack(pack(me)).unwrap();

    // Forged: signed by another clearinghouse.
    let forged = ed25519().issue_key_pack(pack(me)).unwrap();
    assert!(matches!(
        trusted.verify_key_pack(&forged, me, NOW),
        Err(KeyPackError::UnknownSigner { .. })
    ));

    // Altered: count raised in the file after signing.
    let text = signed.to_text().replace("count: 50", "count: 5000");
    let altered = SignedKeyPack::from_text(&text).unwrap();
    assert_eq!(
        trusted.verify_key_pack(&altered, me, NOW),
        Err(KeyPackError::SignatureMismatch)
    );
    // Altered signature bytes.
    let mut bad_sig = signed.clone();
    bad_sig.signature[0] ^= 1;
    assert_eq!(
        trusted.verify_key_pack(&bad_sig, me, NOW),
        Err(KeyPackError::SignatureMismatch)
    );
    // Truncated signature: still a typed error, not a panic.
    bad_sig.signature.truncate(3);
    assert_eq!(
        trusted.verify_key_pack(&bad_sig, me, NOW),
        Err(KeyPackError::SignatureMismatch)
    );

    // Expired.
    let exp = signed.pack.expires_at.unwrap();
    assert_eq!(
        trusted.verify_key_pack(&signed, me, exp),
        Err(KeyPackError::Expired { expires_at: exp })
    );

    // Issued to another server (a replay of someone else's pack).
    let other = ServerId::from_public_key_der(&server_key());
    assert_eq!(
        trusted.verify_key_pack(&signed, other, NOW),
        Err(KeyPackError::IssuedToAnotherServer {
            issued_to: me,
            ours: other
        })
    );

    // Empty.
    let mut empty = pack(me);
    empty.count = 0;
    assert_eq!(
        trusted.verify_key_pack(&ch.issue_key_pack(empty).unwrap(), me, NOW),
        Err(KeyPackError::Empty)
    );
}

#[test]
fn malformed_key_pack_files_are_typed_errors() {
    let ch = ed25519();
    let good = ch.issue_key_pack(pack(ServerId([1; 16]))).unwrap().to_text();
    let cases = [
        String::new(),
        "hello".to_owned(),
        good.replace("-----END RDLIC KEY PACK-----\n", ""),
        good.replace("count: 50", "count: many"),
        good.replace("count: 50\n", ""),
        good.replace("count: 50", "count: 50\ncount: 50"),
        good.replace("count: 50", "count: 50\nextra: 1"),
        good.replace("cal-type: per-device", "cal-type: per-toaster"),
        good.replace("format: 1", "format: 2"),
        good.replace("signer: ", "signer: zz"),
    ];
    for c in cases {
        assert!(
            matches!(SignedKeyPack::from_text(&c), Err(KeyPackError::Malformed(_))),
            "{c}"
        );
    }
    // Unsigned informative line may change, the pack still verifies (it is not part of the signed bytes).
    let p = SignedKeyPack::from_text(&good.replace("Windows Server 2022", "anything")).unwrap();
    assert!(ch
        .public_key()
        .verify_key_pack(&p, ServerId([1; 16]), NOW)
        .is_ok());
}

#[test]
fn activation_certificate_binds_server_id_and_key() {
    let ch = ed25519();
    let mine = server_key();
    let cert = ch.activate(&mine, NOW).unwrap();
    assert_eq!(cert.server_id, ServerId::from_public_key_der(&mine));
    let back = ActivationCertificate::from_text(&cert.to_text()).unwrap();
    assert_eq!(back, cert);
    let v = ch.public_key().verify_activation(&back, &mine).unwrap();
    assert_eq!(v.certificate(), &cert);

    // Another server presenting my certificate.
    let theirs = server_key();
    assert!(matches!(
        ch.public_key().verify_activation(&cert, &theirs),
        Err(ActivationError::OtherServer { .. })
    ));
    // A certificate from another clearinghouse.
    let foreign = ed25519().activate(&mine, NOW).unwrap();
    assert!(matches!(
        ch.public_key().verify_activation(&foreign, &mine),
        Err(ActivationError::UnknownSigner { .. })
    ));
    // Altered issue date.
    let mut altered = cert.clone();
    altered.issued_at += 1;
    assert_eq!(
        ch.public_key().verify_activation(&altered, &mine),
        Err(ActivationError::SignatureMismatch)
    );
    // Garbage is not signed by the vendor side.
    assert!(ch.activate(b"not a key", NOW).is_err());
    assert!(matches!(
        ActivationCertificate::from_text("x"),
        Err(ActivationError::Malformed(_))
    ));
}

#[test]
fn unsupported_clearinghouse_key_is_refused() {
    let ec = openssl::ec::EcKey::generate(
        &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap(),
    )
    .unwrap();
    let key = PKey::from_ec_key(ec).unwrap();
    assert!(Clearinghouse::from_private_key(key).is_err());
    let pem = ed25519().private_key_pem().unwrap();
    assert!(Clearinghouse::from_pem(&pem).is_ok());
}
