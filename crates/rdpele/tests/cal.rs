//! The client access licence (MS-RDPELE 2.2.2.9): the real Windows CAL of the spec's example 4.6, CALs we build,
//! and the licensing certificate chain of the Server License Request (2.2.1.4.2).
#![allow(clippy::unwrap_used)]

use openssl::pkcs7::Pkcs7;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::X509;
use proptest::prelude::*;
use rdpele::cal::{
    build_cal, certs_only_bag, parse_cal, CalError, CalSpec, LicenseServerCertSpec, LicenseServerIdentity,
    LicenseServerInfo, ProductLicense, LICENSE_ENFORCED, MAX_CAL_CERTIFICATES, RTM_LICENSE,
    TEMPORARY_LICENSE,
};
use rdpele::x509::{
    self, build_licensing_chain, oid, Certificate, LicensingChainSpec, RsaPublicKey, SignatureAlgorithm,
};

/// The decrypted `pbLicenseInfo` of MS-RDPELE example 4.6 (byte-identical to the hex dump in the spec).
const WINDOWS_CAL: &[u8] = include_bytes!("data/ms-rdpele-example-cal.der");
/// The decrypted NEW_LICENSE_INFO of example 4.6, transcribed from the spec's annotated dump (the section 4
/// examples come from different runs, so the RC4 key cannot be derived from the other examples).
const EXAMPLE_4_6_NEW_LICENSE_INFO: &[u8] = include_bytes!("data/ms-rdpele-4.6-new-license-info.bin");
/// The two certificates of the X509_CERTIFICATE_CHAIN in example 4.1 (license server, terminal server).
const WINDOWS_LS_CERT: &[u8] = include_bytes!("data/ms-rdpele-4.1-license-server-cert.der");
const WINDOWS_TS_CERT: &[u8] = include_bytes!("data/ms-rdpele-4.1-terminal-server-cert.der");

/// 2007-06-20T14:51:35Z and 2007-09-18T14:51:35Z: the validity of the example CAL (90 days, temporary).
const EXAMPLE_NOT_BEFORE: i64 = 1_182_351_095;
const EXAMPLE_NOT_AFTER: i64 = 1_190_127_095;

fn rsa_key(bits: u32) -> PKey<Private> {
    PKey::from_rsa(Rsa::generate(bits).unwrap()).unwrap()
}

fn license_server(name: &str) -> LicenseServerIdentity {
    LicenseServerIdentity::self_signed(
        rsa_key(2048),
        &LicenseServerCertSpec {
            name: name.to_owned(),
            scope: "WORKGROUP".to_owned(),
            serial: 0x019E_274D_68AC_ED20,
            not_before: 12_911_778,
            not_after: 2_505_983_778,
            signature_algorithm: SignatureAlgorithm::Sha256WithRsa,
        },
    )
    .unwrap()
}

/// xfreerdp's hardware id: LE32(0x04010000) || MD5(client hostname) — here a fixed stand-in.
const HWID: [u8; 20] = [
    0x00, 0x00, 0x01, 0x04, 0x3e, 0x87, 0x59, 0xf1, 0xaf, 0x98, 0xd8, 0xc9, 0xf3, 0xf8, 0x02, 0x24, 0x26,
    0xf0, 0x3a, 0x29,
];

fn spec(temporary: bool) -> CalSpec {
    CalSpec {
        serial: 0x03_0000_0010,
        hardware_id: HWID,
        client_machine: "dev01".to_owned(),
        client_user: "alice".to_owned(),
        platform_id: 0x0401_0000,
        product: ProductLicense::new("Microsoft Corporation", "A02", 10, 0),
        temporary,
        not_before: 1_764_115_200,
        not_after: 1_764_115_200 + if temporary { 90 } else { 60 } * 86_400,
        issuer: LicenseServerInfo {
            name: "LS01".to_owned(),
            id: "00000-000-0000000-00000".to_owned(),
            scope: "WORKGROUP".to_owned(),
        },
        license_count: 1,
        language_id: 0x409,
        signature_algorithm: SignatureAlgorithm::Sha256WithRsa,
        product_specific: None,
    }
}

#[test]
fn windows_example_cal_fields() {
    let cal = parse_cal(WINDOWS_CAL).unwrap();
    assert_eq!(cal.certificates().len(), 2);

    // The licence certificate (second in the bag).
    let license = cal.license_certificate();
    assert_eq!(license.version, 3);
    assert_eq!(license.signature_algorithm.to_string(), "1.3.14.3.2.29");
    assert_eq!(cal.serial, [0x03, 0x00, 0x00, 0x00, 0x0F]);
    assert_eq!(cal.serial_u64(), Some(0x03_0000_000F));
    assert_eq!(cal.client_machine, "RODENT");
    assert_eq!(cal.client_user, "Administrator");
    assert_eq!(
        license.subject.serial_number(),
        Some("1BcKedy2krO4/MCDLI1AHZcPias=\r\n")
    );
    assert_eq!(
        hex::encode(&cal.hardware_id),
        "d4170a79dcb692b3b8fcc0832c8d401d970f89ab"
    );
    assert_eq!(
        (cal.not_before, cal.not_after),
        (EXAMPLE_NOT_BEFORE, EXAMPLE_NOT_AFTER)
    );

    // LICENSED_PRODUCT_INFO (2.2.2.9.1).
    assert_eq!(cal.product_info_version, 0x3000);
    assert_eq!(cal.license_count, 1);
    assert_eq!(cal.platform_id, 0xFF);
    assert_eq!(cal.language_id, 0x400);
    assert_eq!(
        cal.product,
        ProductLicense {
            company: "Microsoft Corporation".to_owned(),
            product_id: "A02".to_owned(),
            adjusted_product_id: "A02-6.00-S".to_owned(),
            major: 6,
            minor: 0,
        }
    );
    assert_eq!(cal.version_flags, 0x8064_8000);
    assert!(cal.temporary);
    assert_ne!(cal.version_flags & LICENSE_ENFORCED, 0);

    // MS_LICENSE_SERVER_INFO V2 (2.2.2.9.2.2) and the HYDRA cert version.
    assert_eq!(cal.issuer_info_version, 0x3000);
    assert_eq!(
        cal.issuer,
        LicenseServerInfo {
            name: "RODENT".to_owned(),
            id: "78440-006-5867045-70347".to_owned(),
            scope: "WORKGROUP".to_owned(),
        }
    );
    assert_eq!(cal.cert_version, Some(0x0005_0001));
    assert_eq!(cal.product_specific, None);
    for ext in [
        oid::MS_HYDRA_CERT_VERSION,
        oid::MS_MANUFACTURER,
        oid::MS_LICENSED_PRODUCT_INFO,
        oid::MS_LICENSE_SERVER_INFO,
        oid::AUTHORITY_KEY_IDENTIFIER,
    ] {
        assert!(license.extension(ext).unwrap().critical);
    }

    // The license server certificate: self-signed, CN=RODENT + L=WORKGROUP, serial = FILETIME of notBefore.
    let server: Vec<&Certificate> = cal.issuer_certificates().collect();
    assert_eq!(server.len(), 1);
    let server = server[0];
    assert!(server.is_self_issued());
    assert_eq!(server.subject.common_name(), Some("RODENT"));
    assert_eq!(server.subject.locality(), Some("WORKGROUP"));
    assert_eq!(server.serial_u64(), Some(0x019E_274D_68AC_ED20));
    assert_eq!((server.not_before, server.not_after), (12_911_778, 2_505_983_778));
    assert_eq!(license.issuer_der, server.subject_der);
    // Windows puts the license server's key in the licence certificate.
    assert_eq!(license.public_key, server.public_key);
    assert_eq!(server.public_key.as_ref().unwrap().bits(), 2048);
}

#[test]
fn example_4_6_new_license_info_carries_the_example_cal() {
    // [2.2.2.6.1] NEW_LICENSE_INFO: dwVersion, then four (cb, pb) pairs; pbLicenseInfo is the CAL.
    let data = EXAMPLE_4_6_NEW_LICENSE_INFO;
    let u32_at = |at: usize| u32::from_le_bytes(data[at..at + 4].try_into().unwrap());
    assert_eq!(u32_at(0), 0x0006_0000);
    let mut at = 4;
    let mut fields = Vec::new();
    for _ in 0..4 {
        let len = usize::try_from(u32_at(at)).unwrap();
        fields.push(&data[at + 4..at + 4 + len]);
        at += 4 + len;
    }
    assert_eq!(at, data.len());
    // The encrypted blob of example 4.6 (wBlobLen 0x07ef) has exactly this length.
    assert_eq!(data.len(), 0x07EF);
    assert_eq!(fields[0], b"microsoft.com\0");
    assert_eq!(fields[2], b"A\0\x30\0\x32\0\0\0");
    assert_eq!(fields[3], WINDOWS_CAL);
    let cal = parse_cal(fields[3]).unwrap();
    assert_eq!(cal.product.company, "Microsoft Corporation");
    assert_eq!(cal.product.product_id, "A02");
}

#[test]
fn windows_example_cal_verifies_under_its_license_server_key() {
    let cal = parse_cal(WINDOWS_CAL).unwrap();
    let ls_key = cal
        .issuer_certificates()
        .next()
        .unwrap()
        .public_key
        .clone()
        .unwrap();
    let verified = cal
        .clone()
        .verify(&[RsaPublicKey::from_pkey(&rsa_key(1024)).unwrap(), ls_key.clone()])
        .unwrap();
    assert_eq!(verified.trusted_key_index(), 1);
    assert_eq!(verified.trusted_key(), &ls_key);
    assert_eq!(verified.client_machine, "RODENT");
    // Expired long ago, and its hardware id is Windows' obfuscated one.
    assert!(matches!(
        verified.check_validity(1_764_115_200),
        Err(CalError::Expired {
            not_after: EXAMPLE_NOT_AFTER
        })
    ));
    assert!(matches!(
        verified.check_validity(EXAMPLE_NOT_BEFORE - 1),
        Err(CalError::NotYetValid { .. })
    ));
    verified.check_validity(EXAMPLE_NOT_BEFORE + 86_400).unwrap();

    let stranger = RsaPublicKey::from_pkey(&rsa_key(1024)).unwrap();
    assert!(matches!(cal.verify(&[stranger]), Err(CalError::UntrustedIssuer)));
}

#[test]
fn windows_example_4_1_chain_parses_and_verifies() {
    let server = Certificate::from_der(WINDOWS_LS_CERT).unwrap();
    let host = Certificate::from_der(WINDOWS_TS_CERT).unwrap();
    let server_key = server.public_key.clone().unwrap();
    server.verify_signature(&server_key).unwrap();
    host.verify_signature(&server_key).unwrap();
    assert_eq!(server.subject.common_name(), Some("RODENT"));
    assert_eq!(host.subject.common_name(), Some("ncalrpc:RODENT"));
    assert_eq!(host.subject.locality(), Some("ncalrpc:RODENT"));
    assert_eq!(
        host.subject.serial_number(),
        Some("1BcKebhpXZtLqO7SQnBpRfudddY=\r\n")
    );
    // Windows labels the terminal server key 1.3.14.3.2.15; it is still a plain RSAPublicKey.
    assert_eq!(host.public_key_algorithm.to_string(), "1.3.14.3.2.15");
    assert_eq!(host.public_key.as_ref().unwrap().bits(), 2048);
    assert_eq!(host.public_key.as_ref().unwrap().exponent(), [1, 0, 1]);
    // The same license server (RODENT) issued the example CAL.
    let cal = parse_cal(WINDOWS_CAL).unwrap();
    assert_eq!(
        cal.issuer_certificates().next().unwrap().public_key.as_ref(),
        Some(&server_key)
    );
    assert_eq!((host.not_before, host.not_after), (1_180_183_553, 2_147_483_647));
}

fn round_trip(temporary: bool) {
    let server = license_server("LS01");
    let spec = spec(temporary);
    let bytes = build_cal(&spec, &server).unwrap();
    let cal = parse_cal(&bytes).unwrap();

    assert_eq!(cal.certificates().len(), 2);
    assert_eq!(cal.serial_u64(), Some(spec.serial));
    assert_eq!(cal.hardware_id_array(), Some(spec.hardware_id));
    assert_eq!(cal.client_machine, spec.client_machine);
    assert_eq!(cal.client_user, spec.client_user);
    assert_eq!(cal.platform_id, spec.platform_id);
    assert_eq!(cal.product, spec.product);
    assert_eq!(cal.product.adjusted_product_id, "A02-10.00-S");
    assert_eq!(cal.temporary, temporary);
    let temporary_flag = if temporary { TEMPORARY_LICENSE } else { 0 };
    assert_eq!(cal.version_flags, LICENSE_ENFORCED | RTM_LICENSE | temporary_flag);
    assert_eq!((cal.not_before, cal.not_after), (spec.not_before, spec.not_after));
    assert_eq!(cal.issuer, spec.issuer);
    assert_eq!(cal.license_count, 1);
    assert_eq!(cal.language_id, 0x409);
    assert_eq!(cal.cert_version, Some(0x0005_0001));

    // Laid out like the Windows CAL: same extensions in the same order, same subject attributes.
    let ours = cal.license_certificate();
    let windows = parse_cal(WINDOWS_CAL).unwrap();
    let windows = windows.license_certificate();
    let oids = |c: &Certificate| {
        c.extensions
            .iter()
            .map(|e| (e.oid.clone(), e.critical))
            .collect::<Vec<_>>()
    };
    assert_eq!(oids(ours), oids(windows));
    let attributes = |c: &Certificate| {
        c.subject
            .rdns
            .iter()
            .map(|rdn| rdn.iter().map(|a| (a.oid.clone(), a.kind)).collect())
            .collect::<Vec<Vec<_>>>()
    };
    assert_eq!(attributes(ours), attributes(windows));
    assert_eq!(ours.public_key, server.certificate().public_key);

    let verified = cal.verify(&[server.public_key().unwrap()]).unwrap();
    verified.check_hardware_id(&HWID).unwrap();
    let mut other = HWID;
    other[19] ^= 1;
    assert!(matches!(
        verified.check_hardware_id(&other),
        Err(CalError::HardwareIdMismatch)
    ));
    verified.check_validity(spec.not_before).unwrap();
    verified.check_validity(spec.not_after).unwrap();
    assert!(matches!(
        verified.check_validity(spec.not_after + 1),
        Err(CalError::Expired { .. })
    ));
    assert_eq!(verified.seconds_left(spec.not_after - 7 * 86_400), 7 * 86_400);

    // Deterministic: RSA PKCS#1 v1.5 signatures and our DER have no randomness.
    assert_eq!(build_cal(&spec, &server).unwrap(), bytes);
}

#[test]
fn temporary_cal_round_trip() {
    round_trip(true);
}

#[test]
fn permanent_cal_round_trip() {
    round_trip(false);
}

#[test]
fn windows_style_sha1_cal_and_product_specific_extension() {
    let server = license_server("LS01");
    let mut spec = spec(false);
    spec.signature_algorithm = SignatureAlgorithm::Sha1WithRsaOiw;
    spec.product_specific = Some(vec![1, 2, 3]);
    spec.client_user = "Élodie Müller".to_owned();
    let cal = parse_cal(&build_cal(&spec, &server).unwrap()).unwrap();
    assert_eq!(
        cal.license_certificate().signature_algorithm.to_string(),
        "1.3.14.3.2.29"
    );
    assert_eq!(cal.product_specific.as_deref(), Some(&[1u8, 2, 3][..]));
    assert_eq!(cal.client_user, "Élodie Müller");
    cal.verify(&[server.public_key().unwrap()]).unwrap();
}

#[test]
fn openssl_accepts_our_cal() {
    let server = license_server("LS01");
    let bytes = build_cal(&spec(true), &server).unwrap();
    let pkcs7 = Pkcs7::from_der(&bytes).unwrap();
    let certs = pkcs7.signed().unwrap().certificates().unwrap();
    assert_eq!(certs.len(), 2);
    let server_cert = certs.get(0).unwrap();
    let license = certs.get(1).unwrap();
    let server_key = server_cert.public_key().unwrap();
    assert!(server_cert.verify(&server_key).unwrap());
    assert!(license.verify(&server_key).unwrap());
    assert_eq!(
        license.serial_number().to_bn().unwrap().to_vec(),
        [0x03, 0x00, 0x00, 0x00, 0x10]
    );
    assert_eq!(
        license.issuer_name().to_der().unwrap(),
        server_cert.subject_name().to_der().unwrap()
    );
    // Same for the Windows example, so the comparison above means something.
    let windows = Pkcs7::from_der(WINDOWS_CAL).unwrap();
    assert_eq!(windows.signed().unwrap().certificates().unwrap().len(), 2);
    // And DER-wise our bag re-encodes identically through OpenSSL.
    assert_eq!(pkcs7.to_der().unwrap(), bytes);
}

#[test]
fn tampered_license_certificate_fails_verification() {
    let server = license_server("LS01");
    let bytes = build_cal(&spec(false), &server).unwrap();
    let trusted = [server.public_key().unwrap()];
    let cal = parse_cal(&bytes).unwrap();
    let license_der = cal.license_certificate().der().to_vec();
    let start = bytes
        .windows(license_der.len())
        .position(|w| w == license_der.as_slice())
        .unwrap();
    let tbs = cal.license_certificate().tbs_range();
    let mut bad_signature = 0;
    for offset in (start + tbs.start)..(start + tbs.end) {
        let mut tampered = bytes.clone();
        tampered[offset] ^= 0x01;
        match parse_cal(&tampered) {
            Err(CalError::Malformed(_)) => {}
            Err(e) => panic!("offset {offset}: unexpected {e}"),
            Ok(parsed) => match parsed.verify(&trusted) {
                Err(CalError::BadSignature) => bad_signature += 1,
                Err(CalError::UntrustedIssuer) => {}
                Err(e) => panic!("offset {offset}: unexpected {e}"),
                Ok(_) => panic!("offset {offset}: tampered licence verified"),
            },
        }
    }
    // Most single-bit changes keep the DER valid and are caught by the signature.
    assert!(bad_signature > (tbs.end - tbs.start) / 2, "{bad_signature}");

    // The same holds for the real Windows CAL.
    let windows = parse_cal(WINDOWS_CAL).unwrap();
    let windows_key = [windows
        .issuer_certificates()
        .next()
        .unwrap()
        .public_key
        .clone()
        .unwrap()];
    let license_der = windows.license_certificate().der().to_vec();
    let start = WINDOWS_CAL
        .windows(license_der.len())
        .position(|w| w == license_der.as_slice())
        .unwrap();
    let tbs = windows.license_certificate().tbs_range();
    for offset in (start + tbs.start)..(start + tbs.end) {
        let mut tampered = WINDOWS_CAL.to_vec();
        tampered[offset] ^= 0x80;
        if let Ok(parsed) = parse_cal(&tampered) {
            assert!(parsed.verify(&windows_key).is_err(), "offset {offset}");
        }
    }
}

#[test]
fn cal_signed_by_another_key_is_untrusted() {
    let trusted_server = license_server("LS01");
    let rogue_server = license_server("LS01");
    let trusted = [trusted_server.public_key().unwrap()];
    let rogue = build_cal(&spec(false), &rogue_server).unwrap();
    assert!(matches!(
        parse_cal(&rogue).unwrap().verify(&trusted),
        Err(CalError::UntrustedIssuer)
    ));

    // A rogue licence certificate bundled with the genuine license server certificate: the named issuer is
    // there but its key does not verify the licence.
    let rogue_cal = parse_cal(&rogue).unwrap();
    let mixed = certs_only_bag(&[
        trusted_server.certificate_der(),
        rogue_cal.license_certificate().der(),
    ])
    .unwrap();
    assert!(matches!(
        parse_cal(&mixed).unwrap().verify(&trusted),
        Err(CalError::BadSignature)
    ));

    // No trusted keys at all.
    assert!(matches!(
        parse_cal(&rogue).unwrap().verify(&[]),
        Err(CalError::UntrustedIssuer)
    ));
}

#[test]
fn clearinghouse_issued_license_server() {
    let clearinghouse_key = rsa_key(2048);
    let clearinghouse = LicenseServerIdentity::self_signed(
        clearinghouse_key.clone(),
        &LicenseServerCertSpec {
            name: "rdlic clearinghouse".to_owned(),
            scope: "rdlic".to_owned(),
            serial: 1,
            not_before: 0,
            not_after: 4_102_444_800,
            signature_algorithm: SignatureAlgorithm::Sha256WithRsa,
        },
    )
    .unwrap();
    let server = LicenseServerIdentity::issued_by(
        rsa_key(2048),
        &LicenseServerCertSpec {
            name: "LS02".to_owned(),
            scope: "CONTOSO".to_owned(),
            serial: 2,
            not_before: 0,
            not_after: 4_102_444_800,
            signature_algorithm: SignatureAlgorithm::Sha256WithRsa,
        },
        &clearinghouse_key,
        clearinghouse.certificate_der(),
    )
    .unwrap();
    let bytes = build_cal(&spec(false), &server).unwrap();
    let cal = parse_cal(&bytes).unwrap();
    assert_eq!(cal.certificates().len(), 3);
    assert_eq!(cal.license_certificate().issuer.common_name(), Some("LS02"));
    // Trusting the clearinghouse is enough: the chain goes through the license server certificate.
    let via_clearinghouse = cal
        .clone()
        .verify(&[clearinghouse.public_key().unwrap()])
        .unwrap();
    assert_eq!(via_clearinghouse.trusted_key_index(), 0);
    cal.clone().verify(&[server.public_key().unwrap()]).unwrap();
    assert!(matches!(
        cal.verify(&[RsaPublicKey::from_pkey(&rsa_key(1024)).unwrap()]),
        Err(CalError::UntrustedIssuer)
    ));
    assert_eq!(
        Pkcs7::from_der(&bytes)
            .unwrap()
            .signed()
            .unwrap()
            .certificates()
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn identity_rejects_a_foreign_key() {
    let server = license_server("LS01");
    let result = LicenseServerIdentity::new(rsa_key(1024), server.certificate_der());
    assert!(matches!(result, Err(CalError::KeyMismatch)));
}

#[test]
fn truncated_or_extended_cal_is_an_error() {
    let server = license_server("LS01");
    let ours = build_cal(&spec(true), &server).unwrap();
    for bytes in [WINDOWS_CAL, ours.as_slice()] {
        for cut in 0..bytes.len() {
            assert!(
                matches!(parse_cal(&bytes[..cut]), Err(CalError::Malformed(_))),
                "cut at {cut}"
            );
        }
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert!(matches!(parse_cal(&longer), Err(CalError::Malformed(_))));
    }
    assert!(matches!(parse_cal(&[]), Err(CalError::Malformed(_))));
    // A bag without a licence certificate.
    let only_server = certs_only_bag(&[server.certificate_der()]).unwrap();
    assert!(matches!(parse_cal(&only_server), Err(CalError::Malformed(_))));
    // A bag stuffed with certificates (each one a signature check for the host) is refused outright.
    let cal = parse_cal(&ours).unwrap();
    let mut stuffed = vec![server.certificate_der(); MAX_CAL_CERTIFICATES];
    stuffed.push(cal.license_certificate().der());
    assert!(matches!(
        parse_cal(&certs_only_bag(&stuffed).unwrap()),
        Err(CalError::Malformed(_))
    ));
    stuffed.remove(0);
    parse_cal(&certs_only_bag(&stuffed).unwrap())
        .unwrap()
        .verify(&[server.public_key().unwrap()])
        .unwrap();
}

#[test]
fn licensing_chain_for_the_license_request() {
    let root_key = rsa_key(2048);
    let host_key = rsa_key(2048);
    let host_public = RsaPublicKey::from_pkey(&host_key).unwrap();
    let chain = build_licensing_chain(
        &root_key,
        &host_public,
        &LicensingChainSpec {
            license_server_name: "rdlic-host".to_owned(),
            scope: "WORKGROUP".to_owned(),
            host_name: "ncalrpc:rdlic-host".to_owned(),
            not_before: 1_764_115_200,
            not_after: 2_147_483_647,
            root_serial: 0x019E_274D_68AC_ED20,
            leaf_serial: 0x01_0000_0002,
            signature_algorithm: SignatureAlgorithm::Sha256WithRsa,
        },
    )
    .unwrap();
    assert_eq!(chain.len(), 2);

    // OpenSSL's d2i_X509 (FreeRDP 3) parses both; the signatures chain; the leaf holds the host key.
    let root = X509::from_der(&chain[0]).unwrap();
    let leaf = X509::from_der(&chain[1]).unwrap();
    assert!(root.verify(&root.public_key().unwrap()).unwrap());
    assert!(leaf.verify(&root.public_key().unwrap()).unwrap());
    assert!(leaf.public_key().unwrap().public_eq(&host_key));
    assert_eq!(
        leaf.issuer_name().to_der().unwrap(),
        root.subject_name().to_der().unwrap()
    );

    // Our parser, shaped like example 4.1.
    let root = Certificate::from_der(&chain[0]).unwrap();
    let leaf = Certificate::from_der(&chain[1]).unwrap();
    let windows = Certificate::from_der(WINDOWS_LS_CERT).unwrap();
    assert_eq!(root.extensions, windows.extensions);
    assert_eq!(root.subject.locality(), Some("WORKGROUP"));
    assert_eq!(leaf.subject.common_name(), Some("ncalrpc:rdlic-host"));
    assert_eq!(leaf.public_key.as_ref(), Some(&host_public));
    assert_eq!(x509::rsa_public_from_certificate(&chain[1]).unwrap(), host_public);

    // FreeRDP 2 reads certificates with its own BER reader: it needs the explicit [0] version and lengths of at
    // most two octets (0x81/0x82).
    for der in &chain {
        assert_eq!(&der[..2], &[0x30, 0x82]);
        assert_eq!(&der[4..6], &[0x30, 0x82]);
        assert_eq!(&der[8..13], &[0xA0, 0x03, 0x02, 0x01, 0x02]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Random damage to the real CAL never panics the parser or the verifier.
    #[test]
    fn damaged_windows_cal_never_panics(edits in prop::collection::vec((0usize..1945, any::<u8>()), 1..8)) {
        let mut bytes = WINDOWS_CAL.to_vec();
        for (at, value) in edits {
            bytes[at] = value;
        }
        if let Ok(cal) = parse_cal(&bytes) {
            let key = cal.certificates().iter().find_map(|c| c.public_key.clone());
            let _ = cal.verify(&key.into_iter().collect::<Vec<_>>());
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_cal(&bytes);
        let _ = Certificate::from_der(&bytes);
    }
}
