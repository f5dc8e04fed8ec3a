//! Windows registry hive files ("regf"): read them, replay their transaction logs, and edit them in place.
//!
//! Core tier: bytes in, bytes out. No file, clock or random source; the caller reads the hive (and its `.LOG1` /
//! `.LOG2`), passes the time of an edit as a FILETIME, and writes the bytes back.
//!
//! - [`Hive`]: the base block and hive bins are checked when parsed; keys ([`Key`]) and values ([`Value`]) are
//!   decoded lazily from the bytes, every read bounds-checked, into typed [`Error`]s. Lookups are
//!   case-insensitive the way Windows compares names.
//! - [`replay`]: a dirty hive (sequence numbers differ) plus its logs → the recovered hive.
//! - [`Hive::create_key`], [`Hive::set_value`], [`Hive::delete_value`]: hivex-style edits in place (new cells
//!   in free space or an appended hive bin, lists copied when they grow, security descriptor reference counts,
//!   sequence numbers and checksum maintained). A dirty hive is refused ([`Error::Dirty`]).
//! - [`OfflineWindows`]: SYSTEM + SOFTWARE as a [`rdlic_core::winreg::RegistryView`] over `reg.exe` paths, with
//!   `CurrentControlSet` resolved through `SYSTEM\Select`; [`locate`] maps a path to the file and key to edit.
//!
//! Format reference: Maxim Suhanov, "Windows registry file format specification"
//! (<https://github.com/msuhanov/regf>), cited as [regf].

mod check;
mod error;
mod hive;
mod log;
mod offline;
mod write;

pub use error::Error;
pub use hive::{checksum, decode_value, BaseBlock, Hive, Key, Value};
pub use log::{replay, Replayed};
pub use offline::{locate, HiveFile, Location, OfflineWindows, Select};
pub use rdlic_core::winreg::RegValue;
pub use write::{encode_value, filetime_from_unix, lh_hash, Created};
