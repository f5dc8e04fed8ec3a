//! The one error type of the crate.

/// What went wrong while reading, replaying or editing a hive.
///
/// Offsets named `cell` are relative to the start of the hive bins data (file offset minus 4096), as the format
/// stores them; offsets named `offset` are file offsets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file is shorter than a base block (4096 bytes) or than its hive bins data.
    #[error("truncated hive: {len} bytes, at least {needed} needed")]
    Truncated {
        /// Length of the file.
        len: usize,
        /// Length that the header announces.
        needed: usize,
    },
    /// A signature ("regf", "hbin", "nk", "vk", ...) is not where the format puts it.
    #[error("bad signature at file offset {offset:#x}: expected {expected:?}")]
    BadSignature {
        /// File offset of the signature.
        offset: usize,
        /// The signature expected there.
        expected: &'static str,
    },
    /// A version of the format that this crate does not read (1.3 to 1.6 are read).
    #[error("unsupported hive version {major}.{minor}")]
    UnsupportedVersion {
        /// Major version (1).
        major: u32,
        /// Minor version.
        minor: u32,
    },
    /// The file is a transaction log or another kind of file, not a primary hive file.
    #[error("not a primary hive file (file type {file_type})")]
    NotPrimary {
        /// The base block's file type (0 primary, 1/2 old log, 6 new log).
        file_type: u32,
    },
    /// A header field is out of range.
    #[error("bad base block: {reason}")]
    BadBaseBlock {
        /// What is wrong.
        reason: &'static str,
    },
    /// A hive bin header is wrong (corruption, or a hive bin overwritten with zeros).
    #[error("bad hive bin at file offset {offset:#x}: {reason}")]
    BadHiveBin {
        /// File offset of the hive bin.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A cell is out of the hive bins data, misaligned, free while referenced, or too short for its record.
    #[error("bad cell {cell:#x}: {reason}")]
    BadCell {
        /// Offset of the cell, relative to the hive bins data.
        cell: u32,
        /// What is wrong.
        reason: &'static str,
    },
    /// Keys nested deeper than Windows allows (512 levels), or a key reached twice (a loop in the tree).
    #[error("key tree loops or is deeper than 512 levels at cell {cell:#x}")]
    Loop {
        /// The key node reached again or too deep.
        cell: u32,
    },
    /// The hive's cells contradict each other (a cell in use is marked free, a reference lands inside another
    /// cell, a cell is used twice): [`crate::Hive::check`] refuses to let an edit write into it.
    #[error("inconsistent hive: {what} at cell {cell:#x}: {reason}")]
    Inconsistent {
        /// Offset of the cell, relative to the hive bins data.
        cell: u32,
        /// What the cell was reached as.
        what: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A key named in an edit does not exist.
    #[error("key not found: {path}")]
    KeyNotFound {
        /// The path inside the hive.
        path: String,
    },
    /// A key or value name that the registry does not allow (empty key name, a backslash, longer than 255/16383
    /// characters).
    #[error("invalid name {name:?}: {reason}")]
    InvalidName {
        /// The name.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The hive is dirty: the base block's two sequence numbers differ or its checksum is wrong, so its transaction
    /// logs hold changes not in the file. Editing it would lose them: replay the logs first ([`crate::replay`]).
    #[error("dirty hive (primary sequence {primary}, secondary {secondary}, checksum {checksum}): replay its transaction logs before editing")]
    Dirty {
        /// Primary sequence number.
        primary: u32,
        /// Secondary sequence number.
        secondary: u32,
        /// Whether the checksum is valid ("valid" / "wrong").
        checksum: &'static str,
    },
    /// A transaction log in a format that is not replayed.
    #[error("unsupported transaction log format: {reason}")]
    UnsupportedLogFormat {
        /// What was found.
        reason: &'static str,
    },
    /// A transaction log that cannot be used (bad base block, or no entry follows the hive's sequence number).
    #[error("unusable transaction log: {reason}")]
    BadLog {
        /// What is wrong.
        reason: &'static str,
    },
    /// The hive would grow past the 4 GiB that its 32-bit offsets address.
    #[error("hive full: cannot allocate {size} bytes")]
    HiveFull {
        /// Size of the cell that did not fit.
        size: usize,
    },
}
