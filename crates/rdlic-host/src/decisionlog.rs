//! The decision log's files: `DIR/decisions.jsonl`, rotated by size to `decisions.jsonl.1` (the newest rotated
//! part) ... `decisions.jsonl.N` (the oldest), and how a reader (the report loop) keeps its place across a rotation.
//!
//! - **Rotation.** Before a write would take `decisions.jsonl` past [`max_bytes`] (`RDLIC_DECISION_LOG_MAX_BYTES`,
//!   16 MiB by default), the host renames `.N-1` to `.N` ... `decisions.jsonl` to `.1` and starts a new file;
//!   [`keep`] rotated parts are kept (`RDLIC_DECISION_LOG_KEEP`, 4 by default), older ones are deleted.
//! - **A reader's place** is a [`LogPosition`]: an offset in one file, and that file's identity ([`file_id`], a hash
//!   of its first line: the first decision of the file, which stays the same when the file is renamed). After a
//!   rotation the reader finds its file under its new name, reads it to the end, then goes on with the next newer
//!   one.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};

use crate::DECISION_LOG_FILE;

/// Environment variable: size (bytes) past which `decisions.jsonl` is rotated.
pub const MAX_BYTES_ENV: &str = "RDLIC_DECISION_LOG_MAX_BYTES";
/// Environment variable: how many rotated parts are kept.
pub const KEEP_ENV: &str = "RDLIC_DECISION_LOG_KEEP";
/// Default of [`MAX_BYTES_ENV`].
pub const DEFAULT_MAX_BYTES: u64 = 16 * 1024 * 1024;
/// Default of [`KEEP_ENV`].
pub const DEFAULT_KEEP: u32 = 4;

/// [`MAX_BYTES_ENV`] or its default (at least 4 KiB).
#[must_use]
pub fn max_bytes() -> u64 {
    std::env::var(MAX_BYTES_ENV).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(DEFAULT_MAX_BYTES).max(4096)
}

/// [`KEEP_ENV`] or its default (at least 1).
#[must_use]
pub fn keep() -> u32 {
    std::env::var(KEEP_ENV).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(DEFAULT_KEEP).max(1)
}

/// `decisions.jsonl` (`part` 0) or its rotated part `decisions.jsonl.PART`.
#[must_use]
pub fn part_path(dir: &Path, part: u32) -> PathBuf {
    if part == 0 {
        dir.join(DECISION_LOG_FILE)
    } else {
        dir.join(format!("{DECISION_LOG_FILE}.{part}"))
    }
}

/// Renames `decisions.jsonl` to `.1` (and each `.k` to `.k+1`), deleting what goes past `keep` parts.
pub(crate) fn rotate(dir: &Path, keep: u32) -> std::io::Result<()> {
    let _ = std::fs::remove_file(part_path(dir, keep));
    for part in (1..keep).rev() {
        let from = part_path(dir, part);
        if from.exists() {
            std::fs::rename(&from, part_path(dir, part + 1))?;
        }
    }
    std::fs::rename(part_path(dir, 0), part_path(dir, 1))
}

/// The identity of a log file: a hash (FNV-1a, hex) of its first complete line; `None` while it has none.
#[must_use]
pub fn file_id(path: &Path) -> Option<String> {
    let file = std::fs::File::open(path).ok()?;
    let mut first = Vec::new();
    BufReader::new(file).take_until_newline(&mut first)?;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in &first {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    Some(format!("{h:016x}"))
}

trait TakeLine {
    fn take_until_newline(self, out: &mut Vec<u8>) -> Option<()>;
}

impl<R: std::io::Read> TakeLine for BufReader<R> {
    /// The first line, at most 64 KiB (a longer "line" is identified by its first 64 KiB).
    fn take_until_newline(self, out: &mut Vec<u8>) -> Option<()> {
        use std::io::Read as _;
        let mut limited = BufReader::new(self.take(64 * 1024));
        limited.read_until(b'\n', out).ok()?;
        (out.last() == Some(&b'\n')).then_some(())
    }
}

/// Where a reader of the decision log is: `offset` bytes into the file whose [`file_id`] is `file` (`None`: the
/// current `decisions.jsonl`, as positions written before rotation existed).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogPosition {
    /// Identity of the file.
    pub file: Option<String>,
    /// Byte offset in it.
    pub offset: u64,
}

impl LogPosition {
    /// `OFFSET FILE_ID` (or a bare `OFFSET`, the form before rotation).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let mut words = text.split_whitespace();
        let offset = words.next()?.parse().ok()?;
        Some(Self { file: words.next().map(str::to_owned), offset })
    }

    /// The text form read by [`LogPosition::parse`].
    #[must_use]
    pub fn to_text(&self) -> String {
        match &self.file {
            Some(id) => format!("{} {id}\n", self.offset),
            None => format!("{}\n", self.offset),
        }
    }
}

/// The files of the log, oldest first (rotated parts from the highest number, then `decisions.jsonl`), with their
/// identities; parts are looked up until the first missing one.
#[must_use]
pub fn files_oldest_first(dir: &Path) -> Vec<(PathBuf, Option<String>)> {
    let mut parts = Vec::new();
    let mut part = 1u32;
    while part < 1000 {
        let p = part_path(dir, part);
        if !p.exists() {
            break;
        }
        parts.push(p);
        part += 1;
    }
    parts.reverse();
    parts.push(part_path(dir, 0));
    parts.into_iter().map(|p| {
        let id = file_id(&p);
        (p, id)
    }).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn rotation_keeps_n_parts_and_file_ids_follow_the_renames() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..5 {
            std::fs::write(part_path(dir.path(), 0), format!("{{\"n\":{i}}}\n")).unwrap();
            let id = file_id(&part_path(dir.path(), 0)).unwrap();
            rotate(dir.path(), 3).unwrap();
            assert_eq!(file_id(&part_path(dir.path(), 1)), Some(id), "the id follows the file");
        }
        assert!(!part_path(dir.path(), 0).exists());
        assert!(part_path(dir.path(), 3).exists() && !part_path(dir.path(), 4).exists(), "three parts kept");
        assert_eq!(std::fs::read_to_string(part_path(dir.path(), 3)).unwrap(), "{\"n\":2}\n");
        let files = files_oldest_first(dir.path());
        assert_eq!(files.len(), 4);
        assert_eq!(files[3].1, None, "no current file yet");
        assert_eq!(LogPosition::parse("12 abcd"), Some(LogPosition { file: Some("abcd".into()), offset: 12 }));
        assert_eq!(LogPosition::parse("12\n"), Some(LogPosition { file: None, offset: 12 }));
        assert_eq!(LogPosition::parse(&LogPosition { file: Some("x".into()), offset: 3 }.to_text()).unwrap().offset, 3);
    }
}
