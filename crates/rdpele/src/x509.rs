//! Minimal X.509 v3 certificates (RFC 5280 section 4) with RSA keys: build and sign, parse, verify.
//!
//! Enough for the two places MS-RDPELE uses X.509:
//! * the certificate chain of the Server License Request (MS-RDPELE 2.2.1.4.2, MS-RDPBCGR 5.3.3.2), which
//!   [`build_licensing_chain`] makes: a self-signed license-server root and a leaf holding the session host's
//!   licensing RSA key, shaped like the chain of the spec's example 4.1;
//! * the client access licence (MS-RDPELE 2.2.2.9), see [`crate::cal`].
//!
//! Names follow Microsoft's habit: one RDN holding several attributes (`CN=RODENT + L=WORKGROUP`), values as
//! BMPString. Parsing accepts any RDN layout and the string types of [`StringKind`].
//!
//! RSA arithmetic is OpenSSL's; everything DER is [`crate::der`].

use std::ops::Range;

use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{HasPublic, PKey, PKeyRef, Private, Public};
use openssl::rsa::Rsa;
use openssl::sign::{Signer, Verifier};

use crate::der::{self, DerError, Oid, Reader, StringKind, Tag, Writer};

/// Object identifiers used by licensing certificates.
pub mod oid {
    /// rsaEncryption (PKCS#1), the SubjectPublicKeyInfo algorithm of RSA keys.
    pub const RSA_ENCRYPTION: &[u64] = &[1, 2, 840, 113_549, 1, 1, 1];
    /// sha1WithRSAEncryption (PKCS#1).
    pub const SHA1_WITH_RSA: &[u64] = &[1, 2, 840, 113_549, 1, 1, 5];
    /// sha256WithRSAEncryption (PKCS#1).
    pub const SHA256_WITH_RSA: &[u64] = &[1, 2, 840, 113_549, 1, 1, 11];
    /// sha384WithRSAEncryption (PKCS#1).
    pub const SHA384_WITH_RSA: &[u64] = &[1, 2, 840, 113_549, 1, 1, 12];
    /// sha512WithRSAEncryption (PKCS#1).
    pub const SHA512_WITH_RSA: &[u64] = &[1, 2, 840, 113_549, 1, 1, 13];
    /// OID_OIWSEC_sha1RSASign, what Microsoft license servers sign CALs and chains with (MS-RDPELE 2.2.2.9).
    pub const SHA1_WITH_RSA_OIW: &[u64] = &[1, 3, 14, 3, 2, 29];
    /// OID_OIWSEC_shaRSA: Windows puts it as the SubjectPublicKeyInfo algorithm of the terminal server
    /// certificate (example 4.1); the key itself is an ordinary RSAPublicKey.
    pub const SHA_WITH_RSA_OIW: &[u64] = &[1, 3, 14, 3, 2, 15];
    /// id-at-commonName.
    pub const COMMON_NAME: &[u64] = &[2, 5, 4, 3];
    /// id-at-serialNumber (Windows: the client's hardware id, base64).
    pub const SERIAL_NUMBER: &[u64] = &[2, 5, 4, 5];
    /// id-at-localityName (Windows: workgroup/domain of a license server, user name in a CAL).
    pub const LOCALITY: &[u64] = &[2, 5, 4, 7];
    /// id-at-organizationName.
    pub const ORGANIZATION: &[u64] = &[2, 5, 4, 10];
    /// id-ce-basicConstraints.
    pub const BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];
    /// id-ce-authorityKeyIdentifier.
    pub const AUTHORITY_KEY_IDENTIFIER: &[u64] = &[2, 5, 29, 35];
    /// szOID_PKIX_MANUFACTURER (MS-RDPELE 2.2.2.9): UTF-16LE NUL-terminated company name.
    pub const MS_MANUFACTURER: &[u64] = &[1, 3, 6, 1, 4, 1, 311, 18, 2];
    /// szOID_PKIX_HYDRA_CERT_VERSION (MS-RDPELE 2.2.2.9): little-endian u32, 0x00050001 in Windows certificates.
    pub const MS_HYDRA_CERT_VERSION: &[u64] = &[1, 3, 6, 1, 4, 1, 311, 18, 4];
    /// szOID_PKIX_LICENSED_PRODUCT_INFO (MS-RDPELE 2.2.2.9.1).
    pub const MS_LICENSED_PRODUCT_INFO: &[u64] = &[1, 3, 6, 1, 4, 1, 311, 18, 5];
    /// szOID_PKIX_MS_LICENSE_SERVER_INFO (MS-RDPELE 2.2.2.9.2).
    pub const MS_LICENSE_SERVER_INFO: &[u64] = &[1, 3, 6, 1, 4, 1, 311, 18, 6];
    /// szOID_PKIS_PRODUCT_SPECIFIC_OID (MS-RDPELE 2.2.2.9).
    pub const MS_PRODUCT_SPECIFIC: &[u64] = &[1, 3, 6, 1, 4, 1, 311, 18, 7];
}

/// The value of the HYDRA cert-version extension in Windows license-server certificates (5.1).
pub const HYDRA_CERT_VERSION_CURRENT: u32 = 0x0005_0001;

/// Errors of the X.509 layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum X509Error {
    /// The DER is malformed or not shaped like a certificate.
    #[error("malformed certificate: {0}")]
    Der(#[from] DerError),
    /// A version other than v1, v2 or v3.
    #[error("unsupported certificate version {0}")]
    Version(i64),
    /// A signature algorithm we cannot verify.
    #[error("unsupported signature algorithm {0}")]
    UnsupportedSignatureAlgorithm(Oid),
    /// The algorithm inside the TBS differs from the one of the signature (RFC 5280 4.1.1.2).
    #[error("signature algorithm of the certificate and of its tbs differ")]
    AlgorithmMismatch,
    /// The key is not an RSA key, or not a usable one.
    #[error("public key is not a usable rsa key")]
    NotRsa,
    /// The signature does not verify under the given key.
    #[error("certificate signature does not verify")]
    BadSignature,
    /// An OpenSSL failure while signing or building a key.
    #[error("openssl: {0}")]
    Crypto(#[from] openssl::error::ErrorStack),
}

/// The signature algorithms we sign and verify with (RSA PKCS#1 v1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// sha1WithRSA under the OIW OID 1.3.14.3.2.29, what Windows license servers use.
    Sha1WithRsaOiw,
    /// sha1WithRSAEncryption, 1.2.840.113549.1.1.5.
    Sha1WithRsa,
    /// sha256WithRSAEncryption, 1.2.840.113549.1.1.11: the default for certificates we make.
    Sha256WithRsa,
    /// sha384WithRSAEncryption (verify only in practice).
    Sha384WithRsa,
    /// sha512WithRSAEncryption (verify only in practice).
    Sha512WithRsa,
}

impl SignatureAlgorithm {
    /// The algorithm's OID.
    pub fn oid(self) -> &'static [u64] {
        match self {
            SignatureAlgorithm::Sha1WithRsaOiw => oid::SHA1_WITH_RSA_OIW,
            SignatureAlgorithm::Sha1WithRsa => oid::SHA1_WITH_RSA,
            SignatureAlgorithm::Sha256WithRsa => oid::SHA256_WITH_RSA,
            SignatureAlgorithm::Sha384WithRsa => oid::SHA384_WITH_RSA,
            SignatureAlgorithm::Sha512WithRsa => oid::SHA512_WITH_RSA,
        }
    }

    /// The algorithm of an OID, if we support it.
    pub fn from_oid(oid: &Oid) -> Option<SignatureAlgorithm> {
        [
            SignatureAlgorithm::Sha1WithRsaOiw,
            SignatureAlgorithm::Sha1WithRsa,
            SignatureAlgorithm::Sha256WithRsa,
            SignatureAlgorithm::Sha384WithRsa,
            SignatureAlgorithm::Sha512WithRsa,
        ]
        .into_iter()
        .find(|a| oid.is(a.oid()))
    }

    fn digest(self) -> MessageDigest {
        match self {
            SignatureAlgorithm::Sha1WithRsaOiw | SignatureAlgorithm::Sha1WithRsa => MessageDigest::sha1(),
            SignatureAlgorithm::Sha256WithRsa => MessageDigest::sha256(),
            SignatureAlgorithm::Sha384WithRsa => MessageDigest::sha384(),
            SignatureAlgorithm::Sha512WithRsa => MessageDigest::sha512(),
        }
    }
}

/// One attribute of a distinguished name (`CN=RODENT`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeValue {
    /// The attribute type (see [`oid`]).
    pub oid: Oid,
    /// The string type the value is (or is to be) encoded with.
    pub kind: StringKind,
    /// The value.
    pub value: String,
}

impl AttributeValue {
    /// A BMPString attribute, as Windows writes them.
    pub fn bmp(oid: &[u64], value: &str) -> AttributeValue {
        AttributeValue {
            oid: Oid::new(oid),
            kind: StringKind::Bmp,
            value: value.to_owned(),
        }
    }

    /// A UTF8String attribute.
    pub fn utf8(oid: &[u64], value: &str) -> AttributeValue {
        AttributeValue {
            oid: Oid::new(oid),
            kind: StringKind::Utf8,
            value: value.to_owned(),
        }
    }
}

/// A distinguished name: a sequence of RDNs, each a set of attributes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Name {
    /// The relative distinguished names, in order.
    pub rdns: Vec<Vec<AttributeValue>>,
}

impl Name {
    /// A name of one multi-valued RDN, the way Microsoft license servers write names (`CN=RODENT + L=WORKGROUP`).
    pub fn single_rdn(attributes: Vec<AttributeValue>) -> Name {
        Name {
            rdns: vec![attributes],
        }
    }

    /// The first value of an attribute type.
    pub fn get(&self, oid: &[u64]) -> Option<&str> {
        self.rdns
            .iter()
            .flatten()
            .find(|a| a.oid.is(oid))
            .map(|a| a.value.as_str())
    }

    /// The common name.
    pub fn common_name(&self) -> Option<&str> {
        self.get(oid::COMMON_NAME)
    }

    /// The locality.
    pub fn locality(&self) -> Option<&str> {
        self.get(oid::LOCALITY)
    }

    /// The serialNumber attribute.
    pub fn serial_number(&self) -> Option<&str> {
        self.get(oid::SERIAL_NUMBER)
    }

    /// Writes the name (each RDN's attributes sorted as DER SET OF requires).
    pub fn write(&self, w: &mut Writer) {
        w.sequence(|w| {
            for rdn in &self.rdns {
                w.set_of(|w| {
                    for attribute in rdn {
                        w.sequence(|w| {
                            w.oid(&attribute.oid.0).string(attribute.kind, &attribute.value);
                        });
                    }
                });
            }
        });
    }

    /// The DER encoding.
    pub fn to_der(&self) -> Result<Vec<u8>, DerError> {
        der::encode(|w| self.write(w))
    }

    /// Decodes a Name.
    pub fn from_der(der: &[u8]) -> Result<Name, DerError> {
        let mut outer = Reader::new(der);
        let mut seq = outer.read_sequence()?;
        outer.finish()?;
        let mut rdns = Vec::new();
        while !seq.is_empty() {
            let mut set = seq.read_set()?;
            let mut rdn = Vec::new();
            while !set.is_empty() {
                let mut attribute = set.read_sequence()?;
                let oid = attribute.read_oid()?;
                let (kind, value) = attribute.read_string()?;
                attribute.finish()?;
                rdn.push(AttributeValue { oid, kind, value });
            }
            rdns.push(rdn);
        }
        Ok(Name { rdns })
    }
}

/// A certificate extension (RFC 5280 4.1.2.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// extnID.
    pub oid: Oid,
    /// critical.
    pub critical: bool,
    /// extnValue (the content of the OCTET STRING).
    pub value: Vec<u8>,
}

impl Extension {
    /// An extension.
    pub fn new(oid: &[u64], critical: bool, value: Vec<u8>) -> Extension {
        Extension {
            oid: Oid::new(oid),
            critical,
            value,
        }
    }

    /// basicConstraints as Windows license servers write it on their own certificate: CA, path length 0,
    /// not critical.
    pub fn basic_constraints_ca(path_len: u64) -> Result<Extension, DerError> {
        let value = der::encode(|w| {
            w.sequence(|w| {
                w.boolean(true).u64(path_len);
            });
        })?;
        Ok(Extension::new(oid::BASIC_CONSTRAINTS, false, value))
    }
}

/// An RSA public key as two big-endian magnitudes without leading zeros.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RsaPublicKey {
    modulus: Vec<u8>,
    exponent: Vec<u8>,
}

impl RsaPublicKey {
    /// A key from big-endian modulus and exponent (leading zeros are dropped).
    pub fn new(modulus: &[u8], exponent: &[u8]) -> Result<RsaPublicKey, X509Error> {
        let strip = |b: &[u8]| -> Vec<u8> {
            let start = b.iter().position(|x| *x != 0).unwrap_or(b.len());
            b[start..].to_vec()
        };
        let (modulus, exponent) = (strip(modulus), strip(exponent));
        if modulus.is_empty() || exponent.is_empty() {
            return Err(X509Error::NotRsa);
        }
        Ok(RsaPublicKey { modulus, exponent })
    }

    /// The public part of an OpenSSL RSA key.
    pub fn from_pkey<T: HasPublic>(key: &PKeyRef<T>) -> Result<RsaPublicKey, X509Error> {
        let rsa = key.rsa().map_err(|_| X509Error::NotRsa)?;
        RsaPublicKey::new(&rsa.n().to_vec(), &rsa.e().to_vec())
    }

    /// An OpenSSL key for verifying.
    pub fn to_pkey(&self) -> Result<PKey<Public>, X509Error> {
        let rsa = Rsa::from_public_components(
            BigNum::from_slice(&self.modulus)?,
            BigNum::from_slice(&self.exponent)?,
        )?;
        Ok(PKey::from_rsa(rsa)?)
    }

    /// Modulus, big-endian.
    pub fn modulus(&self) -> &[u8] {
        &self.modulus
    }

    /// Public exponent, big-endian.
    pub fn exponent(&self) -> &[u8] {
        &self.exponent
    }

    /// Modulus, little-endian (the byte order of the proprietary certificate, MS-RDPBCGR 2.2.1.4.3.1.1.1).
    pub fn modulus_le(&self) -> Vec<u8> {
        self.modulus.iter().rev().copied().collect()
    }

    /// Size of the modulus in bits.
    pub fn bits(&self) -> usize {
        let top = self.modulus.first().copied().unwrap_or(0);
        self.modulus.len().saturating_sub(1) * 8 + usize::try_from(8 - top.leading_zeros()).unwrap_or(8)
    }

    /// PKCS#1 RSAPublicKey.
    pub fn to_pkcs1_der(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.sequence(|w| {
            w.unsigned_integer(&self.modulus).unsigned_integer(&self.exponent);
        });
        // Integers and a sequence cannot fail to encode.
        w.finish().unwrap_or_default()
    }

    /// SubjectPublicKeyInfo with rsaEncryption.
    pub fn to_spki_der(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.write_spki(&mut w);
        w.finish().unwrap_or_default()
    }

    fn write_spki(&self, w: &mut Writer) {
        let key = self.to_pkcs1_der();
        w.sequence(|w| {
            w.sequence(|w| {
                w.oid(oid::RSA_ENCRYPTION).null();
            })
            .bit_string(&key);
        });
    }

    /// Decodes a PKCS#1 RSAPublicKey.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<RsaPublicKey, X509Error> {
        let mut outer = Reader::new(der);
        let mut seq = outer.read_sequence()?;
        outer.finish()?;
        let modulus = seq.read_unsigned_bytes()?;
        let exponent = seq.read_unsigned_bytes()?;
        seq.finish()?;
        RsaPublicKey::new(modulus, exponent)
    }
}

/// The RSA key of a SubjectPublicKeyInfo. Accepts rsaEncryption and the OIW shaRSA algorithm Windows puts in
/// terminal server certificates.
pub fn rsa_public_from_spki(spki_der: &[u8]) -> Result<RsaPublicKey, X509Error> {
    let mut outer = Reader::new(spki_der);
    let (algorithm, key) = read_spki(&mut outer)?;
    outer.finish()?;
    if !is_rsa_key_algorithm(&algorithm) {
        return Err(X509Error::NotRsa);
    }
    RsaPublicKey::from_pkcs1_der(key)
}

/// The RSA key of a DER certificate.
pub fn rsa_public_from_certificate(certificate_der: &[u8]) -> Result<RsaPublicKey, X509Error> {
    Certificate::from_der(certificate_der)?
        .public_key
        .ok_or(X509Error::NotRsa)
}

fn is_rsa_key_algorithm(algorithm: &Oid) -> bool {
    algorithm.is(oid::RSA_ENCRYPTION)
        || algorithm.is(oid::SHA_WITH_RSA_OIW)
        || algorithm.is(oid::SHA1_WITH_RSA_OIW)
}

fn read_spki<'a>(r: &mut Reader<'a>) -> Result<(Oid, &'a [u8]), DerError> {
    let mut spki = r.read_sequence()?;
    let algorithm = read_algorithm(&mut spki)?;
    let key = spki.read_bit_string_octets()?;
    spki.finish()?;
    Ok((algorithm, key))
}

/// AlgorithmIdentifier: the OID; parameters, if any, must be one well-formed value and are ignored.
fn read_algorithm(r: &mut Reader<'_>) -> Result<Oid, DerError> {
    let mut seq = r.read_sequence()?;
    let algorithm = seq.read_oid()?;
    if !seq.is_empty() {
        seq.read_tlv()?;
    }
    seq.finish()?;
    Ok(algorithm)
}

/// What goes into a certificate we build.
#[derive(Debug, Clone)]
pub struct CertificateParams {
    /// Serial number, big-endian unsigned (leading zeros are dropped).
    pub serial: Vec<u8>,
    /// How the certificate is signed.
    pub signature_algorithm: SignatureAlgorithm,
    /// Encoded issuer Name: the issuer certificate's `subject_der`, or [`Name::to_der`].
    pub issuer_der: Vec<u8>,
    /// Encoded subject Name.
    pub subject_der: Vec<u8>,
    /// Start of validity, Unix seconds.
    pub not_before: i64,
    /// End of validity, Unix seconds.
    pub not_after: i64,
    /// The subject's key.
    pub public_key: RsaPublicKey,
    /// Extensions, in order.
    pub extensions: Vec<Extension>,
}

/// Encodes the TBSCertificate of `params` (version 3).
pub fn encode_tbs(params: &CertificateParams) -> Result<Vec<u8>, X509Error> {
    let tbs = der::encode(|w| {
        w.sequence(|w| {
            w.explicit(0, |w| {
                w.u64(2);
            })
            .unsigned_integer(&params.serial);
            write_algorithm(w, params.signature_algorithm);
            w.raw(&params.issuer_der);
            w.sequence(|w| {
                w.time(params.not_before).time(params.not_after);
            });
            w.raw(&params.subject_der);
            params.public_key.write_spki(w);
            if !params.extensions.is_empty() {
                w.explicit(3, |w| {
                    w.sequence(|w| {
                        for extension in &params.extensions {
                            w.sequence(|w| {
                                w.oid(&extension.oid.0);
                                if extension.critical {
                                    w.boolean(true);
                                }
                                w.octet_string(&extension.value);
                            });
                        }
                    });
                });
            }
        });
    })?;
    // The names are spliced in raw: make sure they were whole DER values.
    Certificate::parse_tbs_only(&tbs)?;
    Ok(tbs)
}

fn write_algorithm(w: &mut Writer, algorithm: SignatureAlgorithm) {
    // Windows and PKCS#1 both write NULL parameters.
    w.sequence(|w| {
        w.oid(algorithm.oid()).null();
    });
}

/// Builds a certificate from `params` and signs it with `signer`.
pub fn build_certificate(
    params: &CertificateParams,
    signer: &PKeyRef<Private>,
) -> Result<Vec<u8>, X509Error> {
    let tbs = encode_tbs(params)?;
    let mut s = Signer::new(params.signature_algorithm.digest(), signer)?;
    let signature = s.sign_oneshot_to_vec(&tbs)?;
    let certificate = der::encode(|w| {
        w.sequence(|w| {
            w.raw(&tbs);
            write_algorithm(w, params.signature_algorithm);
            w.bit_string(&signature);
        });
    })?;
    Ok(certificate)
}

/// A parsed certificate. Fields are public for reading; the encoding is kept for signature checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
    tbs: Range<usize>,
    /// 1, 2 or 3.
    pub version: u8,
    /// Serial number, big-endian magnitude without leading zeros (negative serials are rejected).
    pub serial: Vec<u8>,
    /// The signature algorithm named inside the TBS.
    pub tbs_signature_algorithm: Oid,
    /// Issuer.
    pub issuer: Name,
    /// Issuer as encoded (compare these bytes, not decoded names, to chain certificates).
    pub issuer_der: Vec<u8>,
    /// Start of validity, Unix seconds.
    pub not_before: i64,
    /// End of validity, Unix seconds.
    pub not_after: i64,
    /// Subject.
    pub subject: Name,
    /// Subject as encoded.
    pub subject_der: Vec<u8>,
    /// SubjectPublicKeyInfo algorithm.
    pub public_key_algorithm: Oid,
    /// The RSA key, when the SubjectPublicKeyInfo holds one.
    pub public_key: Option<RsaPublicKey>,
    /// Extensions, in order.
    pub extensions: Vec<Extension>,
    /// The outer signature algorithm.
    pub signature_algorithm: Oid,
    /// The signature octets.
    pub signature: Vec<u8>,
}

struct Tbs {
    version: u8,
    serial: Vec<u8>,
    signature_algorithm: Oid,
    issuer_der: Vec<u8>,
    not_before: i64,
    not_after: i64,
    subject_der: Vec<u8>,
    public_key_algorithm: Oid,
    public_key_bits: Vec<u8>,
    extensions: Vec<Extension>,
}

impl Certificate {
    /// Parses a DER certificate (exactly one, nothing after it).
    pub fn from_der(der: &[u8]) -> Result<Certificate, X509Error> {
        let mut outer = Reader::new(der);
        let whole = outer.read_tlv()?;
        outer.finish()?;
        if whole.tag != Tag::SEQUENCE {
            return Err(DerError::UnexpectedTag {
                expected: Tag::SEQUENCE.0,
                found: whole.tag.0,
            }
            .into());
        }
        let mut cert = Reader::new(whole.value);
        let tbs_raw = cert.read_raw(Tag::SEQUENCE)?;
        let signature_algorithm = read_algorithm(&mut cert)?;
        let signature = cert.read_bit_string_octets()?.to_vec();
        cert.finish()?;

        // The TBS is the first element: it starts right after the outer header.
        let start = whole.raw.len() - whole.value.len();
        let tbs_range = start..start + tbs_raw.len();
        let tbs = Certificate::parse_tbs_only(tbs_raw)?;
        let public_key = if is_rsa_key_algorithm(&tbs.public_key_algorithm) {
            RsaPublicKey::from_pkcs1_der(&tbs.public_key_bits).ok()
        } else {
            None
        };
        Ok(Certificate {
            der: der.to_vec(),
            tbs: tbs_range,
            version: tbs.version,
            serial: tbs.serial,
            tbs_signature_algorithm: tbs.signature_algorithm,
            issuer: Name::from_der(&tbs.issuer_der)?,
            issuer_der: tbs.issuer_der,
            not_before: tbs.not_before,
            not_after: tbs.not_after,
            subject: Name::from_der(&tbs.subject_der)?,
            subject_der: tbs.subject_der,
            public_key_algorithm: tbs.public_key_algorithm,
            public_key,
            extensions: tbs.extensions,
            signature_algorithm,
            signature,
        })
    }

    fn parse_tbs_only(tbs_raw: &[u8]) -> Result<Tbs, X509Error> {
        let mut outer = Reader::new(tbs_raw);
        let mut tbs = outer.read_sequence()?;
        outer.finish()?;
        let version = match tbs.read_optional_explicit(0)? {
            Some(mut v) => {
                let n = v.read_i64()?;
                v.finish()?;
                n
            }
            None => 0,
        };
        let version = match version {
            0..=2 => u8::try_from(version + 1).map_err(|_| X509Error::Version(version))?,
            other => return Err(X509Error::Version(other)),
        };
        let serial = tbs.read_unsigned_bytes()?.to_vec();
        let signature_algorithm = read_algorithm(&mut tbs)?;
        let issuer_der = tbs.read_raw(Tag::SEQUENCE)?.to_vec();
        let mut validity = tbs.read_sequence()?;
        let not_before = validity.read_time()?;
        let not_after = validity.read_time()?;
        validity.finish()?;
        let subject_der = tbs.read_raw(Tag::SEQUENCE)?.to_vec();
        let (public_key_algorithm, key) = read_spki(&mut tbs)?;
        let public_key_bits = key.to_vec();
        // issuerUniqueID [1] and subjectUniqueID [2], IMPLICIT BIT STRING: skipped.
        tbs.read_optional(Tag::context(1, false))?;
        tbs.read_optional(Tag::context(2, false))?;
        let mut extensions = Vec::new();
        if let Some(mut explicit) = tbs.read_optional_explicit(3)? {
            let mut list = explicit.read_sequence()?;
            explicit.finish()?;
            while !list.is_empty() {
                let mut extension = list.read_sequence()?;
                let oid = extension.read_oid()?;
                let critical = if extension.peek_tag() == Some(Tag::BOOLEAN) {
                    extension.read_bool()?
                } else {
                    false
                };
                let value = extension.read_octet_string()?.to_vec();
                extension.finish()?;
                extensions.push(Extension { oid, critical, value });
            }
        }
        tbs.finish()?;
        // Names must decode too.
        Name::from_der(&issuer_der)?;
        Name::from_der(&subject_der)?;
        Ok(Tbs {
            version,
            serial,
            signature_algorithm,
            issuer_der,
            not_before,
            not_after,
            subject_der,
            public_key_algorithm,
            public_key_bits,
            extensions,
        })
    }

    /// The whole DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The encoded TBSCertificate (what the signature covers).
    pub fn tbs_der(&self) -> &[u8] {
        self.der.get(self.tbs.clone()).unwrap_or_default()
    }

    /// The byte range of the TBSCertificate inside [`Certificate::der`].
    pub fn tbs_range(&self) -> Range<usize> {
        self.tbs.clone()
    }

    /// The first extension with this OID.
    pub fn extension(&self, oid: &[u64]) -> Option<&Extension> {
        self.extensions.iter().find(|e| e.oid.is(oid))
    }

    /// The serial as a `u64`, when it fits.
    pub fn serial_u64(&self) -> Option<u64> {
        if self.serial.len() > 8 {
            return None;
        }
        Some(self.serial.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    /// Whether issuer and subject are the same name.
    pub fn is_self_issued(&self) -> bool {
        self.issuer_der == self.subject_der
    }

    /// Checks the signature with `issuer_key`.
    pub fn verify_signature(&self, issuer_key: &RsaPublicKey) -> Result<(), X509Error> {
        if self.tbs_signature_algorithm != self.signature_algorithm {
            return Err(X509Error::AlgorithmMismatch);
        }
        let algorithm = SignatureAlgorithm::from_oid(&self.signature_algorithm)
            .ok_or_else(|| X509Error::UnsupportedSignatureAlgorithm(self.signature_algorithm.clone()))?;
        // Refuse keys that would make one check expensive (an attacker chooses the keys inside a CAL).
        if issuer_key.bits() > 16_384 || issuer_key.exponent().len() > 8 {
            return Err(X509Error::NotRsa);
        }
        let key = issuer_key.to_pkey()?;
        let mut verifier = Verifier::new(algorithm.digest(), &key)?;
        match verifier.verify_oneshot(&self.signature, self.tbs_der()) {
            Ok(true) => Ok(()),
            // OpenSSL reports some malformed signatures (wrong length) as errors: all the same to us.
            Ok(false) | Err(_) => Err(X509Error::BadSignature),
        }
    }

    /// Whether `unix` lies within the validity period (inclusive).
    pub fn is_valid_at(&self, unix: i64) -> bool {
        (self.not_before..=self.not_after).contains(&unix)
    }
}

/// Names, validity and serials of the chain built by [`build_licensing_chain`].
#[derive(Debug, Clone)]
pub struct LicensingChainSpec {
    /// CN of the root, the license-server certificate (Windows: the license server's computer name).
    pub license_server_name: String,
    /// L of the root (Windows: the license server's workgroup or domain).
    pub scope: String,
    /// CN and L of the leaf, the terminal server certificate (Windows: `ncalrpc:<host name>`).
    pub host_name: String,
    /// Validity of both certificates, Unix seconds.
    pub not_before: i64,
    /// Validity of both certificates, Unix seconds.
    pub not_after: i64,
    /// Serial of the root.
    pub root_serial: u64,
    /// Serial of the leaf.
    pub leaf_serial: u64,
    /// Signature algorithm of both. [`SignatureAlgorithm::Sha256WithRsa`] unless a client needs Windows'
    /// [`SignatureAlgorithm::Sha1WithRsaOiw`] (FreeRDP and rdesktop read only the leaf's key).
    pub signature_algorithm: SignatureAlgorithm,
}

/// The X509_CERTIFICATE_CHAIN content of a Server License Request (MS-RDPELE 2.2.1.4.2), root first:
/// `[self-signed license-server root, leaf with the session host's licensing key]`.
///
/// Shaped like the chain of example 4.1: single-RDN BMPString names (`CN=<server> + L=<scope>` for the root,
/// `CN=<host> + L=<host>` for the leaf), a CA basicConstraints with path length 0 on the root, the HYDRA
/// cert-version extension (critical) on the leaf. Unlike Windows, the leaf's key algorithm is rsaEncryption
/// (Windows writes 1.3.14.3.2.15, which OpenSSL-based clients cannot load).
pub fn build_licensing_chain(
    root_key: &PKeyRef<Private>,
    leaf_public_key: &RsaPublicKey,
    spec: &LicensingChainSpec,
) -> Result<Vec<Vec<u8>>, X509Error> {
    let root_name = Name::single_rdn(vec![
        AttributeValue::bmp(oid::COMMON_NAME, &spec.license_server_name),
        AttributeValue::bmp(oid::LOCALITY, &spec.scope),
    ])
    .to_der()?;
    let root = build_certificate(
        &CertificateParams {
            serial: spec.root_serial.to_be_bytes().to_vec(),
            signature_algorithm: spec.signature_algorithm,
            issuer_der: root_name.clone(),
            subject_der: root_name.clone(),
            not_before: spec.not_before,
            not_after: spec.not_after,
            public_key: RsaPublicKey::from_pkey(root_key)?,
            extensions: vec![Extension::basic_constraints_ca(0)?],
        },
        root_key,
    )?;
    let leaf_name = Name::single_rdn(vec![
        AttributeValue::bmp(oid::COMMON_NAME, &spec.host_name),
        AttributeValue::bmp(oid::LOCALITY, &spec.host_name),
    ])
    .to_der()?;
    let leaf = build_certificate(
        &CertificateParams {
            serial: spec.leaf_serial.to_be_bytes().to_vec(),
            signature_algorithm: spec.signature_algorithm,
            issuer_der: root_name,
            subject_der: leaf_name,
            not_before: spec.not_before,
            not_after: spec.not_after,
            public_key: leaf_public_key.clone(),
            extensions: vec![Extension::new(
                oid::MS_HYDRA_CERT_VERSION,
                true,
                HYDRA_CERT_VERSION_CURRENT.to_le_bytes().to_vec(),
            )],
        },
        root_key,
    )?;
    Ok(vec![root, leaf])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn key() -> PKey<Private> {
        PKey::from_rsa(Rsa::generate(1024).unwrap()).unwrap()
    }

    #[test]
    fn build_parse_verify() {
        let issuer = key();
        let subject = key();
        let name = Name::single_rdn(vec![
            AttributeValue::bmp(oid::COMMON_NAME, "LS01"),
            AttributeValue::utf8(oid::LOCALITY, "WORKGROUP"),
        ]);
        let params = CertificateParams {
            serial: vec![0x00, 0x9E, 0x01],
            signature_algorithm: SignatureAlgorithm::Sha256WithRsa,
            issuer_der: name.to_der().unwrap(),
            subject_der: name.to_der().unwrap(),
            not_before: 1_700_000_000,
            not_after: 2_600_000_000,
            public_key: RsaPublicKey::from_pkey(&subject).unwrap(),
            extensions: vec![Extension::new(&[1, 2, 3, 4], true, vec![1, 2, 3])],
        };
        let der = build_certificate(&params, &issuer).unwrap();
        let cert = Certificate::from_der(&der).unwrap();
        assert_eq!(cert.version, 3);
        assert_eq!(cert.serial, [0x9E, 0x01]);
        assert_eq!(cert.subject.common_name(), Some("LS01"));
        assert_eq!(cert.subject.locality(), Some("WORKGROUP"));
        assert_eq!(cert.not_before, 1_700_000_000);
        assert_eq!(cert.not_after, 2_600_000_000);
        assert_eq!(cert.public_key.as_ref(), Some(&params.public_key));
        assert_eq!(cert.extension(&[1, 2, 3, 4]).unwrap().value, [1, 2, 3]);
        assert!(cert.extension(&[1, 2, 3, 4]).unwrap().critical);
        assert_eq!(cert.tbs_der(), encode_tbs(&params).unwrap());
        cert.verify_signature(&RsaPublicKey::from_pkey(&issuer).unwrap())
            .unwrap();
        assert!(matches!(
            cert.verify_signature(&RsaPublicKey::from_pkey(&subject).unwrap()),
            Err(X509Error::BadSignature)
        ));
        // OpenSSL agrees.
        let x = openssl::x509::X509::from_der(&der).unwrap();
        assert!(x.verify(&issuer).unwrap());
        assert_eq!(x.serial_number().to_bn().unwrap().to_vec(), [0x9E, 0x01]);
    }

    #[test]
    fn spki_round_trip() {
        let k = key();
        let public = RsaPublicKey::from_pkey(&k).unwrap();
        assert_eq!(public.bits(), 1024);
        assert_eq!(public.exponent(), [1, 0, 1]);
        let spki = public.to_spki_der();
        assert_eq!(spki, k.public_key_to_der().unwrap());
        assert_eq!(rsa_public_from_spki(&spki).unwrap(), public);
        assert_eq!(public.modulus_le().first(), public.modulus().last());
    }

    #[test]
    fn bad_names_are_rejected_when_building() {
        let k = key();
        let params = CertificateParams {
            serial: vec![1],
            signature_algorithm: SignatureAlgorithm::Sha1WithRsaOiw,
            issuer_der: vec![0x30, 0x05],
            subject_der: vec![0x30, 0x00],
            not_before: 0,
            not_after: 1,
            public_key: RsaPublicKey::from_pkey(&k).unwrap(),
            extensions: vec![],
        };
        assert!(build_certificate(&params, &k).is_err());
    }
}
