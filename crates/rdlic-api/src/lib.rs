//! rdlic host API: what a session host and a license server exchange, shared by both ends so that neither side
//! depends on the other.
//!
//! - [`wire`]: the JSON bodies of every endpoint (the only place that derives `Serialize`/`Deserialize` for them);
//!   the endpoint list is in the `rdlic-server` crate documentation and its OpenAPI document.
//! - [`tls`]: rustls configurations (ring provider) for both ends.
//! - [`pki`]: key and certificate files (keys mode 0600), the server CA's leaf certificates, CSRs, fingerprints.
//! - [`listen`]: the connection cap, accept back-off and counters of both listeners.
//! - [`password`]: salted PBKDF2 password hashes (the web admin password, the session host's admin account).
//! - [`client`]: the HTTPS client of session hosts ([`client::LicenseServerClient`], mutual TLS) and of the CLI
//!   ([`client::AdminClient`], bearer token).
//!
//! # The client, for session hosts (`rdlic-host`)
//! ```no_run
//! # async fn demo() -> Result<(), rdlic_api::client::ClientError> {
//! use rdlic_api::client::{DeviceCalAsk, LicenseServerClient};
//! let dir = std::path::Path::new("/var/lib/rdlic-host/ls1");
//! // Once, with a token from `rdlic host token` on the license server (pin DATA/ca.crt, or None = trust first use):
//! LicenseServerClient::enroll("https://ls1:8443", "TOKEN", "host1", dir, None).await?;
//! // Then, on every start:
//! let ls = LicenseServerClient::from_dir(dir, None)?.with_timeout(std::time::Duration::from_secs(5));
//! // Optional: the PRODUCT_INFO of the host's License Request, written into each CAL (default Microsoft, A02, 10.0).
//! let ls = ls.with_product(rdlic_api::wire::CalProduct {
//!     company: "Microsoft Corporation".into(), product_id: "A02".into(), major: 10, minor: 0,
//! });
//! let status = ls.status().await?;               // activated? CALs free per type/version
//! let chain = ls.server_chain().await?;           // DER certs, leaf first: validate presented CALs locally
//! let ask = DeviceCalAsk {
//!     hardware_id: [0; 20], client_machine: "PC1".into(), user: "alice".into(),
//!     platform_id: 0x0201_0000, host_version: 2022, presented_serial: None, request_id: None,
//! };
//! let cal = ls.issue_device_cal(&ask).await?;     // no CAL presented: temporary (90 days) on first request
//! let cal = ls.upgrade(&ask).await?;              // temporary presented: permanent when activated + CAL free
//! let cal = ls.renew(&ask).await?;                // ≤ 7 days left: renewed for 52–89 days
//! let user = ls.checkout_user_cal("alice", 2022).await?; // per-user mode
//! # let _ = (status, chain, cal, user); Ok(()) }
//! ```
//! `issue_device_cal`, `upgrade` and `renew` send the same request with a different `reason`; the server decides
//! from what it has recorded for the hardware id (Windows behaviour), so each returns the CAL the device should hold
//! now: check [`client::IssuedCal::permanent`]. A refusal (temporary CAL expired and no permanent CAL free) is
//! [`client::ClientError::Api`] with status 409 and code `no_license`; an unreachable server is
//! [`client::ClientError::Connect`] / [`client::ClientError::Timeout`] (fail over to the next server); 401/403 means
//! the host is not enrolled or was revoked. The client keeps idle keep-alive connections (clones share them) and
//! retries once on a fresh connection when a pooled one was closed by the server.

pub mod client;
pub mod listen;
pub mod password;
pub mod pki;
pub mod tls;
pub mod wire;

pub use client::{AdminClient, ClientError, DeviceCalAsk, IssuedCal, LicenseServerClient};
