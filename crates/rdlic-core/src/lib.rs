//! rdlic licensing model (pure functions over values; no I/O).
//!
//! This crate is the core tier of the license server: it knows what a CAL version, a key pack, an activation
//! certificate and an issuance decision are, and nothing about storage, sockets, clocks or randomness. Every
//! function that depends on time takes `now` (Unix seconds); every function that needs randomness takes the random
//! value from its caller.
//!
//! - [`version`]: products and CAL versions ([`CalVersion`]): a CAL serves a host whose version is ≤ its own.
//! - [`ids`]: identifiers ([`ServerId`], [`KeyPackId`], [`HardwareId`], [`TokenHash`]).
//! - [`keypack`]: CAL key packs, their canonical signed encoding and their text file format.
//! - [`clearinghouse`]: the vendor side (sign activation certificates and key packs) and the verification side.
//! - [`names`]: the rule for names sent by RDP clients (characters, lengths in UTF-16 units) and their escaping.
//! - [`winreg`]: Windows registry values, the [`winreg::RegistryView`] that the Windows licensing rules read, and
//!   Group Policy precedence ([`winreg::licensing_settings`]); [`regfile`]: `reg export` files read into one.
//! - [`policy`]: issuance policy (temporary / permanent / renewal / revocation limit / per-user tracking) as pure
//!   functions, applied by `rdlic-store` inside its database transactions.
//!
//! Windows behaviour is the reference where the issue is silent: `reference/rds-facts.md` §2.1 (lifecycle), §2.2
//! (revocation), §2.6 (versions), §2.7 (activation, key packs).

pub mod clearinghouse;
pub mod ids;
pub mod keypack;
pub mod names;
pub mod policy;
pub mod regfile;
mod text;
pub mod version;
pub mod winreg;

pub use clearinghouse::{
    ActivationCertificate, ActivationError, Clearinghouse, ClearinghouseError, ClearinghouseKey,
    VerifiedActivation,
};
pub use ids::{HardwareId, IdError, KeyPackId, ServerId, TokenHash};
pub use keypack::{CalType, KeyPack, KeyPackError, LicenseProgram, SignedKeyPack, VerifiedKeyPack};
pub use policy::{
    DeviceCalKind, DeviceCalView, DeviceRefusal, DeviceStep, Fallback, PackCandidate, RevokeRefusal,
    UserCalView, UserRefusal, UserStep,
};
pub use version::CalVersion;

/// Seconds in one day; every duration of the policy is a whole number of days.
pub const DAY: i64 = 86_400;
