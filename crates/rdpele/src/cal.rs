//! The client access licence (CAL) itself: MS-RDPELE 2.2.2.9 and 3.2.1.7.
//!
//! A CAL is what a license server puts in `NEW_LICENSE_INFO.pbLicenseInfo` (2.2.2.6.1) and what a client sends
//! back in `CLIENT_LICENSE_INFO.LicenseInfo` (2.2.2.3). Windows makes it a PKCS#7 SignedData "certs-only" bag
//! (no content, no signer infos) holding the license server's certificate and the licence certificate that the
//! license server signed for the client. The licence certificate carries the licence in critical Microsoft
//! extensions (2.2.2.9): HYDRA cert version (`.18.4`), manufacturer (`.18.2`), LICENSED_PRODUCT_INFO (`.18.5`,
//! 2.2.2.9.1), MS_LICENSE_SERVER_INFO (`.18.6`, 2.2.2.9.2) and optionally a product-specific blob (`.18.7`).
//!
//! We build CALs in the places Windows uses (learned from the spec's example CAL, section 4.6):
//! * licence certificate subject, one RDN of BMPStrings: `CN` = client machine name, `L` = client user name,
//!   `serialNumber` = base64 of the 20-byte hardware id followed by CR LF;
//! * validity = the licence's validity; serial = the licence serial;
//! * subject public key = the license server's own key (Windows copies it; a client has no key of its own);
//! * a critical authorityKeyIdentifier in Windows' own layout (`[1]{[4] <issuer name, UTF-16LE>}`,
//!   `[2] <licence serial>`), which is not RFC 5280 DER inside but is what Windows writes.
//!
//! One difference: Windows stores an obfuscated form of the hardware id in `serialNumber` (its first bytes are
//! the same for every client of one license server); we store the CLIENT_HARDWARE_ID (2.2.2.3.1) as is, so a
//! host can check it. [`ParsedCal::hardware_id`] returns the 20 decoded bytes either way.
//!
//! The client treats the CAL as opaque; only hosts and license servers read it. A host calls [`parse_cal`] and
//! then [`ParsedCal::verify`] with the keys of the license servers it trusts; only a [`VerifiedCal`] should let
//! a client in.

use openssl::pkey::{PKey, PKeyRef, Private};

use crate::der::{self, DerError, Reader, Tag};
use crate::x509::{
    self, oid, AttributeValue, Certificate, CertificateParams, Extension, Name, RsaPublicKey,
    SignatureAlgorithm, X509Error,
};

/// pkcs7-signedData.
pub const OID_PKCS7_SIGNED_DATA: &[u64] = &[1, 2, 840, 113_549, 1, 7, 2];
/// pkcs7-data.
pub const OID_PKCS7_DATA: &[u64] = &[1, 2, 840, 113_549, 1, 7, 1];

/// Most certificates [`parse_cal`] accepts in one CAL (Windows sends 2; a clearinghouse chain adds a few).
/// Bounds the signature checks an attacker can make a host do.
pub const MAX_CAL_CERTIFICATES: usize = 16;

/// [2.2.2.9.1.1] ProductLicenseFlags: the licence is enforced.
pub const LICENSE_ENFORCED: u32 = 0x0000_8000;
/// [2.2.2.9.1.1] ProductLicenseFlags: an RTM (not beta) licence.
pub const RTM_LICENSE: u32 = 0x0080_0000;
/// [2.2.2.9.1.1] ProductLicenseFlags: a temporary licence.
pub const TEMPORARY_LICENSE: u32 = 0x8000_0000;

/// [2.2.2.9.1] LICENSED_PRODUCT_INFO.Version as Windows writes it.
pub const LICENSED_PRODUCT_INFO_VERSION: u32 = 0x0000_3000;
/// [2.2.2.9.2.1] MS_LICENSE_SERVER_INFO_V1.Version.
pub const MS_LICENSE_SERVER_INFO_V1: u32 = 0x0000_1000;
/// [2.2.2.9.2.2] MS_LICENSE_SERVER_INFO_V2.Version.
pub const MS_LICENSE_SERVER_INFO_V2: u32 = 0x0000_3000;

/// Errors of building, parsing and checking CALs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CalError {
    /// The bytes are not a CAL: bad DER, not a PKCS#7 certs-only bag, no licence certificate, or a Microsoft
    /// extension that does not decode.
    #[error("malformed licence: {0}")]
    Malformed(String),
    /// No chain from the licence certificate to a trusted license-server key.
    #[error("licence was not issued by a trusted license server")]
    UntrustedIssuer,
    /// A signature in the chain does not verify (the licence was altered or forged).
    #[error("licence signature does not verify")]
    BadSignature,
    /// The licence ended before `now`.
    #[error("licence expired at {not_after} (unix time)")]
    Expired {
        /// End of validity.
        not_after: i64,
    },
    /// The licence starts after `now`.
    #[error("licence is not valid before {not_before} (unix time)")]
    NotYetValid {
        /// Start of validity.
        not_before: i64,
    },
    /// The licence was issued to another device.
    #[error("licence was issued to another client hardware id")]
    HardwareIdMismatch,
    /// The license server's private key does not belong to its certificate.
    #[error("license server key does not match its certificate")]
    KeyMismatch,
    /// A value cannot be put into a licence (a time out of range, a string too long for a 16-bit offset).
    #[error("cannot build licence: {0}")]
    Unencodable(String),
    /// Signing failed.
    #[error("cannot sign licence: {0}")]
    Signing(#[source] X509Error),
}

impl From<DerError> for CalError {
    fn from(e: DerError) -> CalError {
        CalError::Malformed(e.to_string())
    }
}

/// The product a CAL licenses (PRODUCT_INFO 2.2.2.1.1 and LICENSED_PRODUCT_INFO 2.2.2.9.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProductLicense {
    /// Company name (manufacturer extension and pbCompanyName), e.g. "Microsoft Corporation".
    pub company: String,
    /// Requested product id (pbProductId of the License Request), e.g. "A02".
    pub product_id: String,
    /// Product id decided by the license server; Windows writes `A02-6.00-S` for a 6.0 per-device CAL.
    pub adjusted_product_id: String,
    /// ProductLicenseMajorVersion: the session host version the licence is for.
    pub major: u16,
    /// ProductLicenseMinorVersion.
    pub minor: u16,
}

impl ProductLicense {
    /// A product with the adjusted product id Windows would write (`<product id>-<major>.<minor:02>-S`).
    pub fn new(company: &str, product_id: &str, major: u16, minor: u16) -> ProductLicense {
        ProductLicense {
            company: company.to_owned(),
            product_id: product_id.to_owned(),
            adjusted_product_id: format!("{product_id}-{major}.{minor:02}-S"),
            major,
            minor,
        }
    }
}

/// [2.2.2.9.2] MS License Server Info: who issued the licence.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct LicenseServerInfo {
    /// IssuerName: the license server's name.
    pub name: String,
    /// IssuerId: the license server's product id (empty in version 1).
    pub id: String,
    /// LsScope: the license server's domain or workgroup.
    pub scope: String,
}

/// Everything that goes into a CAL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalSpec {
    /// Licence serial (licence certificate serial number).
    pub serial: u64,
    /// CLIENT_HARDWARE_ID (2.2.2.3.1) as on the wire: PlatformId, Data1..Data4, little-endian.
    pub hardware_id: [u8; 20],
    /// ClientMachineName of the New License Request.
    pub client_machine: String,
    /// ClientUserName of the New License Request.
    pub client_user: String,
    /// PlatformId of the New License Request (LICENSED_PRODUCT_INFO.PlatformId).
    pub platform_id: u32,
    /// The licensed product.
    pub product: ProductLicense,
    /// Temporary (TEMPORARY_LICENSE flag) or permanent.
    pub temporary: bool,
    /// Start of validity, Unix seconds.
    pub not_before: i64,
    /// End of validity, Unix seconds.
    pub not_after: i64,
    /// The issuing license server.
    pub issuer: LicenseServerInfo,
    /// LICENSED_PRODUCT_INFO.LicenseCount (1 in Windows CALs).
    pub license_count: u32,
    /// LICENSED_PRODUCT_INFO.LicensedLanguageId (Windows: 0x400 or 0x409).
    pub language_id: u32,
    /// Signature of the licence certificate. Windows uses [`SignatureAlgorithm::Sha1WithRsaOiw`]; clients never
    /// check, so [`SignatureAlgorithm::Sha256WithRsa`] is the better choice for CALs only our hosts verify.
    pub signature_algorithm: SignatureAlgorithm,
    /// Content of the product-specific extension (`.18.7`), if any.
    pub product_specific: Option<Vec<u8>>,
}

/// A license server's signing key and certificate (plus the certificates above it, if a clearinghouse issued
/// it). Construction checks that the key belongs to the certificate.
#[derive(Debug, Clone)]
pub struct LicenseServerIdentity {
    key: PKey<Private>,
    certificate: Certificate,
    ca_chain_der: Vec<Vec<u8>>,
}

/// The license server certificate of [`LicenseServerIdentity::self_signed`] and
/// [`LicenseServerIdentity::issued_by`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseServerCertSpec {
    /// CN: the license server's name.
    pub name: String,
    /// L: the license server's scope (domain or workgroup).
    pub scope: String,
    /// Serial (Windows uses the FILETIME of not_before).
    pub serial: u64,
    /// Start of validity, Unix seconds.
    pub not_before: i64,
    /// End of validity, Unix seconds (Windows: 2049).
    pub not_after: i64,
    /// Signature algorithm of the certificate.
    pub signature_algorithm: SignatureAlgorithm,
}

impl LicenseServerIdentity {
    /// An identity from a key and its (self-signed or issued) certificate.
    pub fn new(key: PKey<Private>, certificate_der: &[u8]) -> Result<LicenseServerIdentity, CalError> {
        LicenseServerIdentity::with_chain(key, certificate_der, Vec::new())
    }

    /// An identity whose certificate was issued by a clearinghouse; `ca_chain_der` lists the certificates above
    /// it, root first, and goes into every CAL before the license server certificate.
    pub fn with_chain(
        key: PKey<Private>,
        certificate_der: &[u8],
        ca_chain_der: Vec<Vec<u8>>,
    ) -> Result<LicenseServerIdentity, CalError> {
        let certificate = Certificate::from_der(certificate_der).map_err(malformed)?;
        let public = RsaPublicKey::from_pkey(&key).map_err(|_| CalError::KeyMismatch)?;
        if certificate.public_key.as_ref() != Some(&public) {
            return Err(CalError::KeyMismatch);
        }
        for ca in &ca_chain_der {
            Certificate::from_der(ca).map_err(malformed)?;
        }
        Ok(LicenseServerIdentity {
            key,
            certificate,
            ca_chain_der,
        })
    }

    /// A license server with a self-signed certificate shaped like a Windows one (`CN=<name> + L=<scope>` as
    /// BMPStrings, basicConstraints CA with path length 0).
    pub fn self_signed(
        key: PKey<Private>,
        spec: &LicenseServerCertSpec,
    ) -> Result<LicenseServerIdentity, CalError> {
        let der = license_server_certificate(spec, &key, &key, None)?;
        LicenseServerIdentity::new(key, &der)
    }

    /// A license server whose certificate is signed by `issuer_key` (a clearinghouse) holding `issuer_cert_der`.
    pub fn issued_by(
        key: PKey<Private>,
        spec: &LicenseServerCertSpec,
        issuer_key: &PKeyRef<Private>,
        issuer_cert_der: &[u8],
    ) -> Result<LicenseServerIdentity, CalError> {
        let issuer = Certificate::from_der(issuer_cert_der).map_err(malformed)?;
        let der = license_server_certificate(spec, &key, issuer_key, Some(&issuer))?;
        LicenseServerIdentity::with_chain(key, &der, vec![issuer_cert_der.to_vec()])
    }

    /// The signing key.
    pub fn key(&self) -> &PKeyRef<Private> {
        &self.key
    }

    /// The license server certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The license server certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        self.certificate.der()
    }

    /// Certificates above the license server's, root first (empty when self-signed).
    pub fn ca_chain_der(&self) -> &[Vec<u8>] {
        &self.ca_chain_der
    }

    /// The public key hosts must trust to accept this server's CALs.
    pub fn public_key(&self) -> Result<RsaPublicKey, CalError> {
        RsaPublicKey::from_pkey(&self.key).map_err(|_| CalError::KeyMismatch)
    }
}

fn license_server_certificate(
    spec: &LicenseServerCertSpec,
    subject_key: &PKeyRef<Private>,
    signer: &PKeyRef<Private>,
    issuer: Option<&Certificate>,
) -> Result<Vec<u8>, CalError> {
    let name = Name::single_rdn(vec![
        AttributeValue::bmp(oid::COMMON_NAME, &spec.name),
        AttributeValue::bmp(oid::LOCALITY, &spec.scope),
    ])
    .to_der()
    .map_err(unencodable)?;
    let params = CertificateParams {
        serial: spec.serial.to_be_bytes().to_vec(),
        signature_algorithm: spec.signature_algorithm,
        issuer_der: issuer.map_or_else(|| name.clone(), |c| c.subject_der.clone()),
        subject_der: name,
        not_before: spec.not_before,
        not_after: spec.not_after,
        public_key: RsaPublicKey::from_pkey(subject_key).map_err(CalError::Signing)?,
        extensions: vec![Extension::basic_constraints_ca(0).map_err(unencodable)?],
    };
    x509::build_certificate(&params, signer).map_err(CalError::Signing)
}

/// Builds the CAL for `spec`, signed by `issuer`: the bytes of `NEW_LICENSE_INFO.pbLicenseInfo`.
pub fn build_cal(spec: &CalSpec, issuer: &LicenseServerIdentity) -> Result<Vec<u8>, CalError> {
    let server = &issuer.certificate;
    let subject = Name::single_rdn(vec![
        AttributeValue::bmp(oid::COMMON_NAME, &spec.client_machine),
        AttributeValue::bmp(oid::LOCALITY, &spec.client_user),
        AttributeValue::bmp(
            oid::SERIAL_NUMBER,
            &format!("{}\r\n", base64_encode(&spec.hardware_id)),
        ),
    ])
    .to_der()
    .map_err(unencodable)?;

    let mut flags = LICENSE_ENFORCED | RTM_LICENSE;
    if spec.temporary {
        flags |= TEMPORARY_LICENSE;
    }
    let mut extensions = vec![
        Extension::new(
            oid::MS_HYDRA_CERT_VERSION,
            true,
            x509::HYDRA_CERT_VERSION_CURRENT.to_le_bytes().to_vec(),
        ),
        Extension::new(oid::MS_MANUFACTURER, true, utf16le_nul(&spec.product.company)),
        Extension::new(
            oid::MS_LICENSED_PRODUCT_INFO,
            true,
            encode_licensed_product_info(spec, flags)?,
        ),
        Extension::new(
            oid::MS_LICENSE_SERVER_INFO,
            true,
            encode_license_server_info(&spec.issuer)?,
        ),
    ];
    if let Some(blob) = &spec.product_specific {
        extensions.push(Extension::new(oid::MS_PRODUCT_SPECIFIC, true, blob.clone()));
    }
    extensions.push(Extension::new(
        oid::AUTHORITY_KEY_IDENTIFIER,
        true,
        windows_authority_key_identifier(&spec.issuer.name, spec.serial)?,
    ));

    let params = CertificateParams {
        serial: spec.serial.to_be_bytes().to_vec(),
        signature_algorithm: spec.signature_algorithm,
        issuer_der: server.subject_der.clone(),
        subject_der: subject,
        not_before: spec.not_before,
        not_after: spec.not_after,
        // Windows puts the license server's key here: the client has none.
        public_key: issuer.public_key()?,
        extensions,
    };
    let license = x509::build_certificate(&params, &issuer.key).map_err(|e| match e {
        X509Error::Der(e) => CalError::Unencodable(e.to_string()),
        other => CalError::Signing(other),
    })?;

    let mut certificates: Vec<&[u8]> = issuer.ca_chain_der.iter().map(Vec::as_slice).collect();
    certificates.push(server.der());
    certificates.push(&license);
    Ok(certs_only_bag(&certificates)?)
}

/// A PKCS#7 SignedData with certificates only (RFC 2315 9.1; what `openssl crl2pkcs7 -nocrl` makes). The
/// certificates keep the given order, as Windows and OpenSSL do.
pub fn certs_only_bag(certificates: &[&[u8]]) -> Result<Vec<u8>, DerError> {
    der::encode(|w| {
        w.sequence(|w| {
            w.oid(OID_PKCS7_SIGNED_DATA).explicit(0, |w| {
                w.sequence(|w| {
                    w.u64(1);
                    w.set_of(|_| {});
                    w.sequence(|w| {
                        w.oid(OID_PKCS7_DATA);
                    });
                    w.constructed(Tag::context(0, true), |w| {
                        for c in certificates {
                            w.raw(c);
                        }
                    });
                    w.set_of(|_| {});
                });
            });
        });
    })
}

/// The certificates of a PKCS#7 SignedData bag, DER, in bag order.
pub fn parse_certs_only_bag(bytes: &[u8]) -> Result<Vec<&[u8]>, DerError> {
    let mut top = Reader::new(bytes);
    let mut content_info = top.read_sequence()?;
    top.finish()?;
    let content_type = content_info.read_oid()?;
    if !content_type.is(OID_PKCS7_SIGNED_DATA) {
        return Err(DerError::Invalid("pkcs7 content type"));
    }
    let mut explicit = content_info.read_explicit(0)?;
    content_info.finish()?;
    let mut signed_data = explicit.read_sequence()?;
    explicit.finish()?;
    signed_data.read_integer_bytes()?; // version
    signed_data.read_set()?; // digestAlgorithms
    signed_data.read_sequence()?; // contentInfo (no content in a certs-only bag; ignored if there is)
    let mut certificates = Vec::new();
    if let Some(mut list) = signed_data.read_optional_constructed(Tag::context(0, true))? {
        while !list.is_empty() {
            certificates.push(list.read_raw(Tag::SEQUENCE)?);
        }
    }
    signed_data.read_optional(Tag::context(1, true))?; // crls
    signed_data.read_set()?; // signerInfos
    signed_data.finish()?;
    Ok(certificates)
}

/// A decoded CAL. Nothing here is trusted until [`ParsedCal::verify`] says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCal {
    certificates: Vec<Certificate>,
    license_index: usize,
    /// Licence serial (big-endian, no leading zeros).
    pub serial: Vec<u8>,
    /// The decoded subject serialNumber: our CALs hold the CLIENT_HARDWARE_ID; Windows CALs an obfuscated form.
    pub hardware_id: Vec<u8>,
    /// Subject CN.
    pub client_machine: String,
    /// Subject L.
    pub client_user: String,
    /// LICENSED_PRODUCT_INFO.PlatformId.
    pub platform_id: u32,
    /// Company (manufacturer extension), product ids and version.
    pub product: ProductLicense,
    /// LICENSED_VERSION_INFO.ProductLicenseFlags, raw (Windows sets more bits than the spec names).
    pub version_flags: u32,
    /// TEMPORARY_LICENSE is set.
    pub temporary: bool,
    /// Start of validity, Unix seconds.
    pub not_before: i64,
    /// End of validity, Unix seconds.
    pub not_after: i64,
    /// The issuing license server (MS_LICENSE_SERVER_INFO).
    pub issuer: LicenseServerInfo,
    /// Version of MS_LICENSE_SERVER_INFO (0x1000 or 0x3000).
    pub issuer_info_version: u32,
    /// LICENSED_PRODUCT_INFO.LicenseCount.
    pub license_count: u32,
    /// LICENSED_PRODUCT_INFO.LicensedLanguageId.
    pub language_id: u32,
    /// LICENSED_PRODUCT_INFO.Version.
    pub product_info_version: u32,
    /// HYDRA cert version extension, if present.
    pub cert_version: Option<u32>,
    /// Product-specific extension, if present.
    pub product_specific: Option<Vec<u8>>,
}

/// Decodes a CAL (`pbLicenseInfo`). The licence certificate is the one carrying LICENSED_PRODUCT_INFO that
/// issued no other certificate of the bag.
pub fn parse_cal(bytes: &[u8]) -> Result<ParsedCal, CalError> {
    let bag = parse_certs_only_bag(bytes)?;
    if bag.len() > MAX_CAL_CERTIFICATES {
        return Err(CalError::Malformed(format!(
            "{} certificates in the bag",
            bag.len()
        )));
    }
    let certificates = bag
        .into_iter()
        .map(Certificate::from_der)
        .collect::<Result<Vec<_>, _>>()
        .map_err(malformed)?;
    let mut candidates = certificates.iter().enumerate().filter(|(i, c)| {
        c.extension(oid::MS_LICENSED_PRODUCT_INFO).is_some()
            && !certificates
                .iter()
                .enumerate()
                .any(|(j, other)| j != *i && other.issuer_der == c.subject_der)
    });
    let (license_index, license) = match (candidates.next(), candidates.next()) {
        (Some(found), None) => found,
        (None, _) => return Err(CalError::Malformed("no licence certificate in the bag".into())),
        (Some(_), Some(_)) => return Err(CalError::Malformed("more than one licence certificate".into())),
    };

    let product_info = license
        .extension(oid::MS_LICENSED_PRODUCT_INFO)
        .map(|e| decode_licensed_product_info(&e.value))
        .transpose()?
        .ok_or_else(|| CalError::Malformed("missing licensed product info".into()))?;
    let (issuer, issuer_info_version) = license
        .extension(oid::MS_LICENSE_SERVER_INFO)
        .map(|e| decode_license_server_info(&e.value))
        .transpose()?
        .ok_or_else(|| CalError::Malformed("missing license server info".into()))?;
    let company = match license.extension(oid::MS_MANUFACTURER) {
        Some(e) => utf16le_until_nul(&e.value)?,
        None => String::new(),
    };
    let cert_version = match license.extension(oid::MS_HYDRA_CERT_VERSION) {
        Some(e) => Some(le_u32(&e.value, 0).ok_or_else(|| bad_extension("hydra cert version"))?),
        None => None,
    };
    let hardware_id = match license.subject.serial_number() {
        Some(text) => base64_decode(text.trim_end_matches(['\r', '\n', ' ', '\0']))
            .ok_or_else(|| CalError::Malformed("hardware id is not base64".into()))?,
        None => Vec::new(),
    };

    Ok(ParsedCal {
        license_index,
        serial: license.serial.clone(),
        hardware_id,
        client_machine: license.subject.common_name().unwrap_or_default().to_owned(),
        client_user: license.subject.locality().unwrap_or_default().to_owned(),
        platform_id: product_info.platform_id,
        product: ProductLicense {
            company,
            product_id: product_info.requested_product_id,
            adjusted_product_id: product_info.adjusted_product_id,
            major: product_info.major,
            minor: product_info.minor,
        },
        version_flags: product_info.flags,
        temporary: product_info.flags & TEMPORARY_LICENSE != 0,
        not_before: license.not_before,
        not_after: license.not_after,
        issuer,
        issuer_info_version,
        license_count: product_info.license_count,
        language_id: product_info.language_id,
        product_info_version: product_info.version,
        cert_version,
        product_specific: license
            .extension(oid::MS_PRODUCT_SPECIFIC)
            .map(|e| e.value.clone()),
        certificates,
    })
}

impl ParsedCal {
    /// Every certificate of the bag, in bag order.
    pub fn certificates(&self) -> &[Certificate] {
        &self.certificates
    }

    /// The licence certificate.
    pub fn license_certificate(&self) -> &Certificate {
        // license_index always points into certificates (set by parse_cal).
        &self.certificates[self.license_index]
    }

    /// The certificates other than the licence certificate (license server, clearinghouse).
    pub fn issuer_certificates(&self) -> impl Iterator<Item = &Certificate> {
        self.certificates
            .iter()
            .enumerate()
            .filter(move |(i, _)| *i != self.license_index)
            .map(|(_, c)| c)
    }

    /// The hardware id as a CLIENT_HARDWARE_ID, when it is 20 bytes.
    pub fn hardware_id_array(&self) -> Option<[u8; 20]> {
        self.hardware_id.as_slice().try_into().ok()
    }

    /// The serial as a `u64`, when it fits.
    pub fn serial_u64(&self) -> Option<u64> {
        self.license_certificate().serial_u64()
    }

    /// Seconds from `now` to the end of validity (negative once expired).
    pub fn seconds_left(&self, now: i64) -> i64 {
        self.not_after.saturating_sub(now)
    }

    /// Fails unless `now` lies within the validity period.
    pub fn check_validity(&self, now: i64) -> Result<(), CalError> {
        if now < self.not_before {
            Err(CalError::NotYetValid {
                not_before: self.not_before,
            })
        } else if now > self.not_after {
            Err(CalError::Expired {
                not_after: self.not_after,
            })
        } else {
            Ok(())
        }
    }

    /// Fails unless the licence was issued to `expected` (the CLIENT_HARDWARE_ID the client sent).
    pub fn check_hardware_id(&self, expected: &[u8; 20]) -> Result<(), CalError> {
        if self.hardware_id.as_slice() == expected.as_slice() {
            Ok(())
        } else {
            Err(CalError::HardwareIdMismatch)
        }
    }

    /// Checks that the licence certificate chains, by signatures, to one of `trusted` license-server keys,
    /// possibly through the issuer certificates in the bag.
    ///
    /// Issuers are found by name (issuer = subject, byte for byte) among the other certificates of the bag.
    /// [`CalError::BadSignature`] when the named issuer is there but its key does not verify the certificate (an
    /// altered or forged licence); [`CalError::UntrustedIssuer`] when the chain ends, self-signed or at an issuer
    /// missing from the bag, without meeting a trusted key.
    pub fn verify(self, trusted: &[RsaPublicKey]) -> Result<VerifiedCal, CalError> {
        let mut current = self.license_index;
        let mut visited = vec![false; self.certificates.len()];
        loop {
            let cert = &self.certificates[current];
            visited[current] = true;
            if let Some(index) = trusted.iter().position(|key| cert.verify_signature(key).is_ok()) {
                return Ok(VerifiedCal {
                    trusted_key: trusted[index].clone(),
                    trusted_key_index: index,
                    cal: self,
                });
            }
            // Chain by name first (cheap), then by signature.
            let mut named_issuers = self
                .certificates
                .iter()
                .enumerate()
                .filter(|(i, issuer)| !visited[*i] && issuer.subject_der == cert.issuer_der)
                .peekable();
            if named_issuers.peek().is_none() {
                // Self-signed by an untrusted key, or issued by someone not in the bag.
                return Err(CalError::UntrustedIssuer);
            }
            let next = named_issuers.find(|(_, issuer)| {
                issuer
                    .public_key
                    .as_ref()
                    .is_some_and(|key| cert.verify_signature(key).is_ok())
            });
            match next {
                Some((i, _)) => current = i,
                None => return Err(CalError::BadSignature),
            }
        }
    }
}

/// A CAL whose signature chain ends at a trusted license server. Only [`ParsedCal::verify`] makes one.
#[derive(Debug, Clone)]
pub struct VerifiedCal {
    cal: ParsedCal,
    trusted_key: RsaPublicKey,
    trusted_key_index: usize,
}

impl VerifiedCal {
    /// The trusted key that anchors the chain.
    pub fn trusted_key(&self) -> &RsaPublicKey {
        &self.trusted_key
    }

    /// Its index in the slice given to [`ParsedCal::verify`].
    pub fn trusted_key_index(&self) -> usize {
        self.trusted_key_index
    }

    /// The decoded CAL.
    pub fn into_inner(self) -> ParsedCal {
        self.cal
    }
}

impl std::ops::Deref for VerifiedCal {
    type Target = ParsedCal;

    fn deref(&self) -> &ParsedCal {
        &self.cal
    }
}

struct LicensedProductInfo {
    version: u32,
    license_count: u32,
    platform_id: u32,
    language_id: u32,
    requested_product_id: String,
    adjusted_product_id: String,
    major: u16,
    minor: u16,
    flags: u32,
}

/// [2.2.2.9.1] LICENSED_PRODUCT_INFO, laid out as Windows does: fixed part, requested product id, adjusted
/// product id (both UTF-16LE NUL-terminated), one LICENSED_VERSION_INFO, then four zero bytes.
fn encode_licensed_product_info(spec: &CalSpec, flags: u32) -> Result<Vec<u8>, CalError> {
    const FIXED: usize = 28;
    let requested = utf16le_nul(&spec.product.product_id);
    let adjusted = utf16le_nul(&spec.product.adjusted_product_id);
    let adjusted_offset = FIXED + requested.len();
    let version_offset = adjusted_offset + adjusted.len();
    let mut out = Vec::with_capacity(version_offset + 12);
    out.extend_from_slice(&LICENSED_PRODUCT_INFO_VERSION.to_le_bytes());
    out.extend_from_slice(&spec.license_count.to_le_bytes());
    out.extend_from_slice(&spec.platform_id.to_le_bytes());
    out.extend_from_slice(&spec.language_id.to_le_bytes());
    for value in [
        FIXED,
        requested.len(),
        adjusted_offset,
        adjusted.len(),
        version_offset,
        1,
    ] {
        out.extend_from_slice(&u16_field(value)?.to_le_bytes());
    }
    out.extend_from_slice(&requested);
    out.extend_from_slice(&adjusted);
    out.extend_from_slice(&spec.product.major.to_le_bytes());
    out.extend_from_slice(&spec.product.minor.to_le_bytes());
    out.extend_from_slice(&flags.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    Ok(out)
}

fn decode_licensed_product_info(data: &[u8]) -> Result<LicensedProductInfo, CalError> {
    const WHAT: &str = "licensed product info";
    let u32_at = |at| le_u32(data, at).ok_or_else(|| bad_extension(WHAT));
    let u16_at = |at| {
        le_u16(data, at)
            .map(usize::from)
            .ok_or_else(|| bad_extension(WHAT))
    };
    let slice = |offset: usize, len: usize| {
        offset
            .checked_add(len)
            .and_then(|end| data.get(offset..end))
            .ok_or_else(|| bad_extension(WHAT))
    };
    let version_offset = u16_at(24)?;
    if u16_at(26)? == 0 {
        return Err(bad_extension(WHAT));
    }
    let version_info = slice(version_offset, 8)?;
    Ok(LicensedProductInfo {
        version: u32_at(0)?,
        license_count: u32_at(4)?,
        platform_id: u32_at(8)?,
        language_id: u32_at(12)?,
        requested_product_id: utf16le_until_nul(slice(u16_at(16)?, u16_at(18)?)?)?,
        adjusted_product_id: utf16le_until_nul(slice(u16_at(20)?, u16_at(22)?)?)?,
        major: le_u16(version_info, 0).ok_or_else(|| bad_extension(WHAT))?,
        minor: le_u16(version_info, 2).ok_or_else(|| bad_extension(WHAT))?,
        flags: le_u32(version_info, 4).ok_or_else(|| bad_extension(WHAT))?,
    })
}

/// [2.2.2.9.2.2] MS_LICENSE_SERVER_INFO_V2, plus the two zero bytes Windows appends.
fn encode_license_server_info(info: &LicenseServerInfo) -> Result<Vec<u8>, CalError> {
    let name = utf16le_nul(&info.name);
    let id = utf16le_nul(&info.id);
    let scope = utf16le_nul(&info.scope);
    let mut out = Vec::with_capacity(10 + name.len() + id.len() + scope.len() + 2);
    out.extend_from_slice(&MS_LICENSE_SERVER_INFO_V2.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&u16_field(name.len())?.to_le_bytes());
    out.extend_from_slice(&u16_field(name.len() + id.len())?.to_le_bytes());
    out.extend_from_slice(&name);
    out.extend_from_slice(&id);
    out.extend_from_slice(&scope);
    out.extend_from_slice(&[0; 2]);
    Ok(out)
}

/// [2.2.2.9.2.1] V1 and [2.2.2.9.2.2] V2; offsets count from the start of the variable data.
fn decode_license_server_info(data: &[u8]) -> Result<(LicenseServerInfo, u32), CalError> {
    const WHAT: &str = "license server info";
    let version = le_u32(data, 0).ok_or_else(|| bad_extension(WHAT))?;
    let field = |at| {
        le_u16(data, at)
            .map(usize::from)
            .ok_or_else(|| bad_extension(WHAT))
    };
    let (header, name_offset, id_offset, scope_offset) = match version {
        MS_LICENSE_SERVER_INFO_V1 => (8, field(4)?, None, field(6)?),
        MS_LICENSE_SERVER_INFO_V2 => (10, field(4)?, Some(field(6)?), field(8)?),
        _ => return Err(bad_extension(WHAT)),
    };
    let variable = data.get(header..).ok_or_else(|| bad_extension(WHAT))?;
    let string_at = |offset: usize| -> Result<String, CalError> {
        utf16le_until_nul(variable.get(offset..).ok_or_else(|| bad_extension(WHAT))?)
    };
    let info = LicenseServerInfo {
        name: string_at(name_offset)?,
        id: match id_offset {
            Some(offset) => string_at(offset)?,
            None => String::new(),
        },
        scope: string_at(scope_offset)?,
    };
    Ok((info, version))
}

/// The authorityKeyIdentifier value Windows puts in licence certificates: `SEQUENCE { [1] { [4] <issuer name,
/// UTF-16LE NUL-terminated, raw> } [2] <licence serial> }`.
fn windows_authority_key_identifier(issuer_name: &str, serial: u64) -> Result<Vec<u8>, CalError> {
    let serial_der = der::encode(|w| {
        w.u64(serial);
    })?;
    let serial_content = serial_der.get(2..).unwrap_or_default();
    let name = utf16le_nul(issuer_name);
    Ok(der::encode(|w| {
        w.sequence(|w| {
            w.constructed(Tag::context(1, true), |w| {
                w.tlv(Tag::context(4, true), &name);
            })
            .implicit(2, serial_content);
        });
    })?)
}

fn u16_field(value: usize) -> Result<u16, CalError> {
    u16::try_from(value)
        .map_err(|_| CalError::Unencodable("licence strings too long for 16-bit offsets".into()))
}

fn le_u16(data: &[u8], at: usize) -> Option<u16> {
    let b = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn le_u32(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// UTF-16LE with a terminating NUL.
fn utf16le_nul(s: &str) -> Vec<u8> {
    s.encode_utf16()
        .chain(std::iter::once(0))
        .flat_map(u16::to_le_bytes)
        .collect()
}

/// UTF-16LE up to the first NUL (or the end); an odd trailing byte is ignored.
fn utf16le_until_nul(data: &[u8]) -> Result<String, CalError> {
    let units = data
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|u| *u != 0);
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map_err(|_| CalError::Malformed("invalid utf-16 string in an extension".into()))
}

fn bad_extension(what: &str) -> CalError {
    CalError::Malformed(format!("invalid {what} extension"))
}

fn malformed(e: X509Error) -> CalError {
    CalError::Malformed(e.to_string())
}

fn unencodable(e: DerError) -> CalError {
    CalError::Unencodable(e.to_string())
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (what Windows' CryptBinaryToString writes, minus its CR LF).
fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                let index = usize::try_from((n >> shift) & 0x3F).unwrap_or(0);
                out.push(char::from(BASE64[index]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if bytes.len() & 3 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let chunks = bytes.len() / 4;
    for (k, chunk) in bytes.chunks_exact(4).enumerate() {
        let padding = chunk.iter().rev().take_while(|c| **c == b'=').count();
        if padding > 2 || (padding > 0 && k + 1 != chunks) {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - padding] {
            let v = BASE64.iter().position(|x| *x == c)?;
            n = (n << 6) | u32::try_from(v).ok()?;
        }
        n <<= 6 * u32::try_from(padding).ok()?;
        let decoded = n.to_be_bytes();
        out.extend_from_slice(&decoded[1..4 - padding]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn base64_matches_windows_example() {
        // The subject serialNumber of the spec's example CAL.
        let text = "1BcKedy2krO4/MCDLI1AHZcPias=";
        let bytes = base64_decode(text).unwrap();
        assert_eq!(bytes.len(), 20);
        assert_eq!(&bytes[..4], &[0xD4, 0x17, 0x0A, 0x79]);
        assert_eq!(base64_encode(&bytes), text);
        for n in 0..10 {
            let data: Vec<u8> = (0..n).map(|i: u8| i.wrapping_mul(37)).collect();
            assert_eq!(base64_decode(&base64_encode(&data)).unwrap(), data);
        }
        assert!(base64_decode("abc").is_none());
        assert!(base64_decode("ab=c").is_none());
        assert!(base64_decode("a===").is_none());
        assert!(base64_decode("ab==abcd").is_none());
        assert!(base64_decode("ab*d").is_none());
    }

    #[test]
    fn windows_extension_layouts() {
        // MS_LICENSE_SERVER_INFO of the example CAL.
        let info = hex::decode(
            "0030000000000e003e0052004f00440045004e0054000000370038003400340030002d003000300036002d00350038003600370030\
             00340035002d0037003000330034003700000057004f0052004b00470052004f005500500000000000",
        )
        .unwrap();
        let (decoded, version) = decode_license_server_info(&info).unwrap();
        assert_eq!(version, MS_LICENSE_SERVER_INFO_V2);
        assert_eq!(decoded.name, "RODENT");
        assert_eq!(decoded.id, "78440-006-5867045-70347");
        assert_eq!(decoded.scope, "WORKGROUP");
        assert_eq!(encode_license_server_info(&decoded).unwrap(), info);

        // Its authorityKeyIdentifier.
        assert_eq!(
            hex::encode(windows_authority_key_identifier("RODENT", 0x03_0000_000F).unwrap()),
            "3019a110a40e52004f00440045004e00540000008205030000000f"
        );

        // LICENSED_PRODUCT_INFO of the example CAL, rebuilt from its decoded fields.
        let product = hex::decode(
            "0030000001000000ff000000000400001c000800240016003a00010041003000320000004100300032002d0036002e00300030\
             002d0053000000060000000080648000000000",
        )
        .unwrap();
        let p = decode_licensed_product_info(&product).unwrap();
        let spec = CalSpec {
            serial: 1,
            hardware_id: [0; 20],
            client_machine: String::new(),
            client_user: String::new(),
            platform_id: p.platform_id,
            product: ProductLicense::new("Microsoft Corporation", &p.requested_product_id, p.major, p.minor),
            temporary: true,
            not_before: 0,
            not_after: 0,
            issuer: LicenseServerInfo::default(),
            license_count: p.license_count,
            language_id: p.language_id,
            signature_algorithm: SignatureAlgorithm::Sha1WithRsaOiw,
            product_specific: None,
        };
        assert_eq!(spec.product.adjusted_product_id, p.adjusted_product_id);
        assert_eq!(encode_licensed_product_info(&spec, p.flags).unwrap(), product);

        // Short or lying structures are errors.
        for cut in 0..product.len() - 4 {
            assert!(decode_licensed_product_info(&product[..cut]).is_err(), "{cut}");
        }
        for cut in 0..info.len() - 2 {
            let _ = decode_license_server_info(&info[..cut]);
        }
    }
}
