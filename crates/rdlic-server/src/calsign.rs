//! The CAL bytes given to a host: [MS-RDPELE 2.2.2.9] `rdpele::cal::build_cal` — a PKCS#7 certs-only bag with the
//! license server certificate and the licence certificate (serial = the database serial, validity = the committed
//! record's, Microsoft extensions), signed by this server's identity key.

use rdlic_store::DeviceCal;
use rdpele::cal::{build_cal, CalSpec, LicenseServerIdentity, LicenseServerInfo, ProductLicense};

use rdlic_api::wire::CalProduct;

/// Why a CAL could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CalBuildError {
    /// The serial does not fit the certificate (never happens with database serials > 0).
    #[error("cal serial {0} is out of range")]
    Serial(i64),
    /// rdpele refused to build or sign.
    #[error("{0}")]
    Cal(#[from] rdpele::cal::CalError),
}

/// Default product when the host does not send its PRODUCT_INFO: what Windows session hosts send
/// (MS-RDPELE 4.1: company "Microsoft Corporation", product id "A02").
pub(crate) fn default_product() -> CalProduct {
    CalProduct { company: "Microsoft Corporation".to_owned(), product_id: "A02".to_owned(), major: 10, minor: 0 }
}

/// Builds the CAL for a committed per-device record.
pub(crate) fn device_cal_bytes(
    identity: &LicenseServerIdentity,
    issuer_name: &str,
    issuer_id: &str,
    cal: &DeviceCal,
    platform_id: u32,
    product: &CalProduct,
) -> Result<Vec<u8>, CalBuildError> {
    let spec = CalSpec {
        serial: u64::try_from(cal.serial.0).map_err(|_| CalBuildError::Serial(cal.serial.0))?,
        hardware_id: cal.hardware_id.0,
        client_machine: cal.client_name.clone(),
        client_user: cal.user_name.clone(),
        platform_id,
        product: ProductLicense::new(&product.company, &product.product_id, product.major, product.minor),
        temporary: cal.kind == rdlic_core::policy::DeviceCalKind::Temporary,
        not_before: cal.issued_at,
        not_after: cal.expires_at,
        issuer: LicenseServerInfo {
            name: issuer_name.to_owned(),
            id: issuer_id.to_owned(),
            scope: crate::datadir::LICENSE_SERVER_SCOPE.to_owned(),
        },
        license_count: 1,
        language_id: 0x409,
        signature_algorithm: rdpele::x509::SignatureAlgorithm::Sha256WithRsa,
        product_specific: None,
    };
    Ok(build_cal(&spec, identity)?)
}
