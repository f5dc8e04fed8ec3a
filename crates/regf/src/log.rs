//! Replaying transaction logs (`.LOG1`, `.LOG2`) into a dirty hive, as Windows does when it loads one
//! ([regf] Format of transaction log files, Dirty state of a hive, Multiple transaction log files).
//!
//! New format (Windows 8.1 and later): log entries ("HvLE") carry dirty pages; an entry applies when its sequence
//! number continues the chain that starts at the log base block's primary sequence number (not below the hive's
//! secondary one), its two Marvin32 hashes match and its hive bins size is a multiple of 4096. Both logs are used,
//! the one with the earlier entries first. Old format ("DIRT"): a bitmap of dirty 512-byte pages and the pages.

use crate::hive::{checksum, u32_at, u64_at, us, BaseBlock, BASE_BLOCK_LEN};
use crate::Error;

/// [regf] Log entries, note 3: the Marvin32 seed of the hashes, "82 EF 4D 88 7A 4E 55 C5" read as one 64-bit
/// number (low word 0x7A4E55C5 first); the real logs' hashes match only this reading.
const MARVIN_SEED: u64 = 0x82EF_4D88_7A4E_55C5;
const SECTOR: usize = 512;

/// What a replay did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    /// The recovered hive: sequence numbers equal, checksum valid.
    pub hive: Vec<u8>,
    /// Log entries applied (new format), or 1 for an old-format log.
    pub entries: usize,
    /// Dirty pages written.
    pub pages: usize,
    /// The sequence number the hive now carries.
    pub sequence: u32,
}

/// Marvin32, the hash of log entries, returning the 64-bit state as the entries store it (high half: the
/// second state word).
pub(crate) fn marvin32(seed: u64, data: &[u8]) -> u64 {
    let mut lo = u32::try_from(seed & 0xFFFF_FFFF).unwrap_or(0);
    let mut hi = u32::try_from(seed >> 32).unwrap_or(0);
    let mix = |lo: &mut u32, hi: &mut u32| {
        *hi ^= *lo;
        *lo = lo.rotate_left(20);
        *lo = lo.wrapping_add(*hi);
        *hi = hi.rotate_left(9);
        *hi ^= *lo;
        *lo = lo.rotate_left(27);
        *lo = lo.wrapping_add(*hi);
        *hi = hi.rotate_left(19);
    };
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        lo = lo.wrapping_add(u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        mix(&mut lo, &mut hi);
    }
    let rest = chunks.remainder();
    let mut fin: u32 = 0x80;
    for &b in rest.iter().rev() {
        fin = (fin << 8) | u32::from(b);
    }
    lo = lo.wrapping_add(fin);
    mix(&mut lo, &mut hi);
    mix(&mut lo, &mut hi);
    (u64::from(hi) << 32) | u64::from(lo)
}

/// One valid new-format log entry.
#[derive(Debug)]
struct Entry<'a> {
    sequence: u32,
    flags: u32,
    hive_bins_size: u32,
    /// (offset in the hive bins data, page bytes).
    pages: Vec<(usize, &'a [u8])>,
}

/// The valid entries of a new-format log, from its first one, stopping at the first bad entry or break in the
/// sequence ([regf] Log entries, notes 7 and 8).
fn entries(log: &[u8]) -> Result<Vec<Entry<'_>>, Error> {
    let mut out: Vec<Entry<'_>> = Vec::new();
    let mut pos = SECTOR;
    while pos + 40 <= log.len() && &log[pos..pos + 4] == b"HvLE" {
        let size = u32_at(log, pos + 4).map(us).unwrap_or(0);
        if size < 40 || !size.is_multiple_of(SECTOR) || size > log.len() - pos {
            break;
        }
        let e = &log[pos..pos + size];
        let sequence = u32_at(e, 12).unwrap_or(0);
        let hive_bins_size = u32_at(e, 16).unwrap_or(0);
        let count = u32_at(e, 20).map(us).unwrap_or(0);
        let hash1 = u64_at(e, 24).unwrap_or(0);
        let hash2 = u64_at(e, 32).unwrap_or(0);
        if marvin32(MARVIN_SEED, &e[40..]) != hash1 || marvin32(MARVIN_SEED, &e[..32]) != hash2 {
            break;
        }
        if hive_bins_size == 0 || !hive_bins_size.is_multiple_of(4096) {
            break;
        }
        if let Some(prev) = out.last() {
            if sequence != prev.sequence.wrapping_add(1) {
                break;
            }
        }
        let refs_end = count.checked_mul(8).and_then(|n| n.checked_add(40));
        let Some(refs_end) = refs_end.filter(|&n| n <= e.len()) else { break };
        let mut pages = Vec::with_capacity(count);
        let mut data = refs_end;
        let mut ok = true;
        for i in 0..count {
            let off = u32_at(e, 40 + i * 8).map(us).unwrap_or(0);
            let len = u32_at(e, 44 + i * 8).map(us).unwrap_or(0);
            let page_ok = data.checked_add(len).is_some_and(|end| end <= e.len())
                && off.checked_add(len).is_some_and(|end| end <= us(hive_bins_size));
            if !page_ok {
                ok = false;
                break;
            }
            pages.push((off, &e[data..data + len]));
            data += len;
        }
        if !ok {
            break;
        }
        out.push(Entry { sequence, flags: u32_at(e, 8).unwrap_or(0), hive_bins_size, pages });
        pos += size;
    }
    Ok(out)
}

/// Replays `logs` (the hive's `.LOG1` and `.LOG2`, or a single `.LOG`, in any order; empty ones are skipped) into
/// `hive` and returns the recovered bytes. A hive that is not dirty is returned as it is, with no entry applied.
///
/// Errors: the hive's base block is unreadable and no log holds a valid one; a log is in neither format
/// ([`Error::UnsupportedLogFormat`]); no log holds an entry that continues the hive
/// ([`Error::BadLog`]).
pub fn replay(hive: &[u8], logs: &[&[u8]]) -> Result<Replayed, Error> {
    if hive.len() < BASE_BLOCK_LEN {
        return Err(Error::Truncated { len: hive.len(), needed: BASE_BLOCK_LEN });
    }
    let base = BaseBlock::parse(hive)?;
    if !base.is_dirty() {
        return Ok(Replayed { hive: hive.to_vec(), entries: 0, pages: 0, sequence: base.secondary_sequence });
    }
    let mut new_logs = Vec::new();
    let mut old_logs = Vec::new();
    for &log in logs {
        if log.len() < SECTOR || log.iter().take(SECTOR).all(|&b| b == 0) {
            continue;
        }
        let lb = BaseBlock::parse(log)?;
        if !lb.checksum_valid {
            continue;
        }
        match (lb.file_type, log.get(SECTOR..SECTOR + 4)) {
            (6, _) => new_logs.push((lb, log)),
            (1 | 2, Some(b"DIRT")) => old_logs.push((lb, log)),
            (1 | 2, _) => return Err(Error::UnsupportedLogFormat { reason: "old-format log without a DIRT vector" }),
            _ => return Err(Error::UnsupportedLogFormat { reason: "log base block has an unknown file type" }),
        }
    }
    if !new_logs.is_empty() {
        return replay_new(hive, &base, &new_logs);
    }
    if let Some((lb, log)) = old_logs.into_iter().max_by_key(|(lb, _)| lb.last_written) {
        return replay_old(hive, &base, &lb, log);
    }
    Err(Error::BadLog { reason: "no transaction log with a valid base block" })
}

fn replay_new(hive: &[u8], base: &BaseBlock, logs: &[(BaseBlock, &[u8])]) -> Result<Replayed, Error> {
    let mut parsed = Vec::new();
    for (lb, log) in logs {
        let e = entries(log)?;
        // Note 7: the first entry must carry the log base block's primary sequence number.
        if e.first().is_some_and(|f| f.sequence == lb.primary_sequence) {
            parsed.push((lb, log, e));
        }
    }
    let mut out = hive.to_vec();
    if !base.checksum_valid {
        // Note 6 / Multiple transaction log files: a bad base block comes from the log with the latest entries,
        // and only that log is used.
        parsed.sort_by_key(|(_, _, e)| std::cmp::Reverse(e.last().map(|x| x.sequence).unwrap_or(0)));
        parsed.truncate(1);
        let (_, log, _) = parsed.first().ok_or(Error::BadLog { reason: "no log holds a base block to recover" })?;
        out[..SECTOR].copy_from_slice(&log[..SECTOR]);
        out[SECTOR..BASE_BLOCK_LEN].fill(0);
    }
    // The log with the earlier entries first.
    parsed.sort_by_key(|(_, _, e)| e.first().map(|x| x.sequence).unwrap_or(0));
    let floor = if base.checksum_valid { base.secondary_sequence } else { 0 };
    let mut last: Option<u32> = None;
    let (mut n_entries, mut n_pages) = (0, 0);
    let mut flags = u32_at(&out, 144).unwrap_or(0);
    let mut bins_size = u32_at(&out, 40).unwrap_or(0);
    for (_, _, entries) in &parsed {
        for e in entries {
            let fits = match last {
                None => e.sequence >= floor,
                Some(n) => e.sequence == n.wrapping_add(1),
            };
            if !fits {
                if last.is_none() {
                    continue;
                }
                break;
            }
            let need = BASE_BLOCK_LEN + us(e.hive_bins_size);
            if out.len() < need {
                out.resize(need, 0);
            }
            for (off, page) in &e.pages {
                let at = BASE_BLOCK_LEN + off;
                out[at..at + page.len()].copy_from_slice(page);
                n_pages += 1;
            }
            flags = (flags & !1) | (e.flags & 1);
            bins_size = e.hive_bins_size;
            last = Some(e.sequence);
            n_entries += 1;
        }
    }
    let Some(seq) = last else {
        return Err(Error::BadLog { reason: "no log entry continues the hive's sequence number" });
    };
    finish(&mut out, seq, bins_size, Some(flags));
    Ok(Replayed { hive: out, entries: n_entries, pages: n_pages, sequence: seq })
}

/// [regf] Old format: base block (512 bytes), "DIRT" and a bitmap of the hive bins data's 512-byte pages, then the
/// dirty pages from the next sector on.
fn replay_old(hive: &[u8], base: &BaseBlock, lb: &BaseBlock, log: &[u8]) -> Result<Replayed, Error> {
    let size = us(lb.hive_bins_size);
    if size == 0 || !size.is_multiple_of(4096) {
        return Err(Error::BadLog { reason: "old-format log with a bad hive bins size" });
    }
    let bits = size / SECTOR;
    let bitmap = log
        .get(SECTOR + 4..SECTOR + 4 + bits.div_ceil(8))
        .ok_or(Error::BadLog { reason: "dirty vector runs past the log" })?;
    let mut page_pos = (SECTOR + 4 + bitmap.len()).div_ceil(SECTOR) * SECTOR;
    let mut out = hive.to_vec();
    if !base.checksum_valid {
        out[..SECTOR].copy_from_slice(&log[..SECTOR]);
    }
    if out.len() < BASE_BLOCK_LEN + size {
        out.resize(BASE_BLOCK_LEN + size, 0);
    }
    let mut pages = 0;
    for bit in 0..bits {
        if bitmap[bit / 8] >> (bit % 8) & 1 == 0 {
            continue;
        }
        let page = log.get(page_pos..page_pos + SECTOR).ok_or(Error::BadLog { reason: "dirty page past the log" })?;
        let at = BASE_BLOCK_LEN + bit * SECTOR;
        out[at..at + SECTOR].copy_from_slice(page);
        page_pos += SECTOR;
        pages += 1;
    }
    let seq = lb.primary_sequence.max(base.primary_sequence);
    finish(&mut out, seq, lb.hive_bins_size, None);
    Ok(Replayed { hive: out, entries: 1, pages, sequence: seq })
}

/// Writes the recovered base block: both sequence numbers, hive bins size, KTM flag, file type 0, checksum.
fn finish(out: &mut [u8], seq: u32, bins_size: u32, flags: Option<u32>) {
    out[4..8].copy_from_slice(&seq.to_le_bytes());
    out[8..12].copy_from_slice(&seq.to_le_bytes());
    out[28..32].copy_from_slice(&0u32.to_le_bytes());
    out[40..44].copy_from_slice(&bins_size.to_le_bytes());
    if let Some(f) = flags {
        out[144..148].copy_from_slice(&f.to_le_bytes());
    }
    let c = checksum(out);
    out[0x1FC..0x200].copy_from_slice(&c.to_le_bytes());
}
