//! The product this host licenses, as its License Request names it (PRODUCT_INFO, MS-RDPELE 2.2.2.1) and as the
//! CALs issued for it carry it.

/// PRODUCT_INFO::dwVersion sent in the License Request: 10.0.
pub(crate) const PRODUCT_VERSION: u32 = 0x000A_0000;
/// PRODUCT_INFO::pbCompanyName: what Windows hosts send (MS-RDPELE 4.1); clients index stored CALs by it.
pub(crate) const COMPANY_NAME: &str = "Microsoft Corporation";
/// PRODUCT_INFO::pbProductId: "A02", the per-device / per-user product of Windows hosts.
pub(crate) const PRODUCT_ID: &str = "A02";
/// The scope (licence issuer) of the License Request, as Windows hosts send it (MS-RDPELE 4.1).
pub(crate) const SCOPE: &str = "microsoft.com";
