//! Reading a hive: the base block, the hive bins and the cells that keys and values live in.
//!
//! Format reference: Maxim Suhanov, "Windows registry file format specification" (github.com/msuhanov/regf),
//! cited below as [regf] with its section names.

use std::borrow::Cow;
use std::collections::HashSet;

use rdlic_core::winreg::RegValue;

use crate::Error;

/// Size of the base block; hive bins data starts here.
pub(crate) const BASE_BLOCK_LEN: usize = 4096;
/// "Cell offset" that points nowhere.
pub(crate) const NIL: u32 = 0xFFFF_FFFF;
/// [regf] Big data: data above this size is split into segments (hive version 1.4 and later).
pub(crate) const BIG_DATA_SEGMENT: usize = 16344;
/// Windows refuses key trees deeper than this.
pub(crate) const MAX_DEPTH: usize = 512;

/// [regf] Key node flags: KEY_COMP_NAME (name stored as extended ASCII, one byte per character).
pub(crate) const KEY_COMP_NAME: u16 = 0x0020;
/// [regf] Key value flags: VALUE_COMP_NAME.
pub(crate) const VALUE_COMP_NAME: u16 = 0x0001;

pub(crate) fn u16_at(d: &[u8], off: usize) -> Option<u16> {
    let b = d.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

pub(crate) fn u32_at(d: &[u8], off: usize) -> Option<u32> {
    let b = d.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

pub(crate) fn u64_at(d: &[u8], off: usize) -> Option<u64> {
    let b = d.get(off..off.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Some(u64::from_le_bytes(a))
}

/// u32 → usize (lossless on the 32- and 64-bit targets that rdlic builds for).
pub(crate) fn us(v: u32) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// [regf] Base block, note 2: XOR-32 of the first 508 bytes, with -1 mapped to -2 and 0 to 1.
pub fn checksum(base_block: &[u8]) -> u32 {
    let mut c = 0u32;
    for i in 0..127 {
        c ^= u32_at(base_block, i * 4).unwrap_or(0);
    }
    match c {
        0xFFFF_FFFF => 0xFFFF_FFFE,
        0 => 1,
        c => c,
    }
}

/// The fields of a base block ([regf] Base block) that rdlic uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BaseBlock {
    /// Primary sequence number (offset 4): incremented when a write to the file begins.
    pub primary_sequence: u32,
    /// Secondary sequence number (offset 8): set equal to the primary one when the write ends.
    pub secondary_sequence: u32,
    /// Last written timestamp (FILETIME, offset 12).
    pub last_written: u64,
    /// Major version (1).
    pub major: u32,
    /// Minor version (3 to 6).
    pub minor: u32,
    /// File type (0 primary, 1 or 2 old-format log, 6 new-format log).
    pub file_type: u32,
    /// Root key node, relative to the hive bins data.
    pub root_cell: u32,
    /// Size of the hive bins data (the file is 4096 bytes longer, plus any remnant).
    pub hive_bins_size: u32,
    /// The stored checksum (offset 508).
    pub stored_checksum: u32,
    /// Whether the stored checksum equals [`checksum`] of the first 508 bytes.
    pub checksum_valid: bool,
}

impl BaseBlock {
    /// Decodes the first 512 bytes of a hive or a transaction log.
    pub fn parse(d: &[u8]) -> Result<Self, Error> {
        if d.len() < 512 {
            return Err(Error::Truncated { len: d.len(), needed: 512 });
        }
        if &d[0..4] != b"regf" {
            return Err(Error::BadSignature { offset: 0, expected: "regf" });
        }
        let r = |o| u32_at(d, o).unwrap_or(0);
        let stored_checksum = r(0x1FC);
        Ok(Self {
            primary_sequence: r(4),
            secondary_sequence: r(8),
            last_written: u64_at(d, 12).unwrap_or(0),
            major: r(20),
            minor: r(24),
            file_type: r(28),
            root_cell: r(36),
            hive_bins_size: r(40),
            stored_checksum,
            checksum_valid: checksum(d) == stored_checksum,
        })
    }

    /// [regf] Dirty state of a hive: sequence numbers differ or the checksum is wrong.
    pub fn is_dirty(&self) -> bool {
        self.primary_sequence != self.secondary_sequence || !self.checksum_valid
    }
}

/// A registry hive file, read in place: keys and values borrow from the bytes (`B` is `&[u8]`, `Vec<u8>`, a
/// memory map...). Edits ([`Hive::set_value`] and friends) need `B = Vec<u8>`.
#[derive(Debug, Clone)]
pub struct Hive<B> {
    pub(crate) bytes: B,
    pub(crate) base: BaseBlock,
    /// Whether [`Hive::check`] passed (edits run it once, and keep the hive consistent after).
    pub(crate) checked: bool,
}

impl<B: AsRef<[u8]>> Hive<B> {
    /// Checks the base block, walks the chain of hive bins and the root key. Keys and values are decoded lazily,
    /// each read checked, so that a damaged cell is an error where it is met.
    pub fn parse(bytes: B) -> Result<Self, Error> {
        let d = bytes.as_ref();
        if d.len() < BASE_BLOCK_LEN {
            return Err(Error::Truncated { len: d.len(), needed: BASE_BLOCK_LEN });
        }
        let base = BaseBlock::parse(d)?;
        if base.major != 1 || !(3..=6).contains(&base.minor) {
            return Err(Error::UnsupportedVersion { major: base.major, minor: base.minor });
        }
        if base.file_type != 0 {
            return Err(Error::NotPrimary { file_type: base.file_type });
        }
        let size = us(base.hive_bins_size);
        if size == 0 || !size.is_multiple_of(4096) {
            return Err(Error::BadBaseBlock { reason: "hive bins data size is not a non-zero multiple of 4096" });
        }
        let end = BASE_BLOCK_LEN.saturating_add(size);
        if d.len() < end {
            return Err(Error::Truncated { len: d.len(), needed: end });
        }
        check_hive_bins(d, end)?;
        let hive = Self { bytes, base, checked: false };
        hive.view().key(base.root_cell)?;
        Ok(hive)
    }

    /// The base block's fields.
    pub fn base_block(&self) -> &BaseBlock {
        &self.base
    }

    /// Whether the hive needs its transaction logs replayed ([regf] Dirty state of a hive).
    pub fn is_dirty(&self) -> bool {
        self.base.is_dirty()
    }

    /// The hive's bytes.
    pub fn bytes(&self) -> &[u8] {
        self.bytes.as_ref()
    }

    /// Gives the bytes back.
    pub fn into_bytes(self) -> B {
        self.bytes
    }

    pub(crate) fn view(&self) -> View<'_> {
        View { d: self.bytes.as_ref(), end: BASE_BLOCK_LEN + us(self.base.hive_bins_size), minor: self.base.minor }
    }

    /// The root key.
    pub fn root(&self) -> Result<Key<'_>, Error> {
        self.view().key(self.base.root_cell)
    }

    /// The key at `path` below the root (components separated by `\`, compared case-insensitively as Windows
    /// does; an empty path is the root), or `None` when a component is missing.
    pub fn key(&self, path: &str) -> Result<Option<Key<'_>>, Error> {
        let mut key = self.root()?;
        for (depth, part) in split_path(path).enumerate() {
            if depth >= MAX_DEPTH {
                return Err(Error::Loop { cell: key.cell });
            }
            match key.subkey(part)? {
                Some(k) => key = k,
                None => return Ok(None),
            }
        }
        Ok(Some(key))
    }

    /// The value `name` of the key at `path` (empty name: the default value), decoded.
    pub fn value(&self, path: &str, name: &str) -> Result<Option<RegValue>, Error> {
        match self.key(path)? {
            Some(k) => match k.value(name)? {
                Some(v) => Ok(Some(v.decode()?)),
                None => Ok(None),
            },
            None => Ok(None),
        }
    }

    /// Calls `f` with the path (below the root, `\`-separated) of every key, depth first, parents before children.
    /// A key met twice (a loop) or nesting deeper than 512 levels is an error, so that any input terminates.
    pub fn walk<'h>(&'h self, mut f: impl FnMut(&str, &Key<'h>) -> Result<(), Error>) -> Result<(), Error> {
        let root = self.root()?;
        let mut seen = HashSet::new();
        let mut stack: Vec<(Key<'h>, String, usize)> = vec![(root, String::new(), 0)];
        while let Some((key, path, depth)) = stack.pop() {
            if !seen.insert(key.cell) || depth > MAX_DEPTH {
                return Err(Error::Loop { cell: key.cell });
            }
            f(&path, &key)?;
            let mut children = Vec::new();
            for sub in key.subkeys()? {
                let sub = sub?;
                let name = sub.name();
                let p = if path.is_empty() { name } else { format!("{path}\\{name}") };
                children.push((sub, p, depth + 1));
            }
            children.reverse();
            stack.extend(children);
        }
        Ok(())
    }
}

/// Path components, empty ones skipped (`\A\\B\` is `A`, `B`).
pub(crate) fn split_path(path: &str) -> impl Iterator<Item = &str> {
    path.split('\\').filter(|p| !p.is_empty())
}

/// [regf] Hive bin: the chain from the end of the base block to the end of the hive bins data, each bin's offset
/// field equal to its place and its size a multiple of 4096.
fn check_hive_bins(d: &[u8], end: usize) -> Result<(), Error> {
    let mut pos = BASE_BLOCK_LEN;
    while pos < end {
        if d.get(pos..pos + 4) != Some(b"hbin".as_slice()) {
            return Err(Error::BadHiveBin { offset: pos, reason: "no \"hbin\" signature" });
        }
        let off = u32_at(d, pos + 4).map(us);
        if off != Some(pos - BASE_BLOCK_LEN) {
            return Err(Error::BadHiveBin { offset: pos, reason: "offset field does not match its place" });
        }
        let size = u32_at(d, pos + 8).map(us).unwrap_or(0);
        if size == 0 || !size.is_multiple_of(4096) || size > end - pos {
            return Err(Error::BadHiveBin { offset: pos, reason: "size is not a multiple of 4096 inside the hive" });
        }
        pos += size;
    }
    Ok(())
}

/// Read access to cells (shared by the reader and the writer).
#[derive(Debug, Clone, Copy)]
pub(crate) struct View<'a> {
    pub(crate) d: &'a [u8],
    /// File offset of the end of the hive bins data.
    pub(crate) end: usize,
    pub(crate) minor: u32,
}

impl<'a> View<'a> {
    /// The data of the allocated cell at `cell` (after its 4-byte size), [regf] Cell.
    pub(crate) fn cell(&self, cell: u32) -> Result<&'a [u8], Error> {
        let bad = |reason| Error::BadCell { cell, reason };
        if cell == NIL {
            return Err(bad("offset 0xffffffff points nowhere"));
        }
        if !cell.is_multiple_of(8) {
            return Err(bad("offset not aligned to 8 bytes"));
        }
        let pos = BASE_BLOCK_LEN.checked_add(us(cell)).ok_or(bad("offset out of the hive bins data"))?;
        if pos.checked_add(4).is_none_or(|e| e > self.end) {
            return Err(bad("offset out of the hive bins data"));
        }
        let size = i32::from_le_bytes(self.d[pos..pos + 4].try_into().map_err(|_| bad("short size"))?);
        if size >= 0 {
            return Err(bad("cell is free (unallocated) but referenced"));
        }
        let size = us(size.unsigned_abs());
        if size < 8 || !size.is_multiple_of(8) || size > self.end - pos {
            return Err(bad("cell size out of range"));
        }
        Ok(&self.d[pos + 4..pos + size])
    }

    /// The key node at `cell`.
    pub(crate) fn key(&self, cell: u32) -> Result<Key<'a>, Error> {
        let c = self.cell(cell)?;
        if c.get(0..2) != Some(b"nk".as_slice()) {
            return Err(Error::BadCell { cell, reason: "not a key node (nk)" });
        }
        let name_len = u16_at(c, 0x48).map(usize::from).ok_or(Error::BadCell { cell, reason: "key node too short" })?;
        if c.len() < 0x4C + name_len {
            return Err(Error::BadCell { cell, reason: "key name runs past its cell" });
        }
        Ok(Key { view: *self, cell, c })
    }

    /// The value record at `cell`.
    pub(crate) fn value(&self, cell: u32) -> Result<Value<'a>, Error> {
        let c = self.cell(cell)?;
        if c.get(0..2) != Some(b"vk".as_slice()) {
            return Err(Error::BadCell { cell, reason: "not a key value (vk)" });
        }
        let name_len = u16_at(c, 2).map(usize::from).ok_or(Error::BadCell { cell, reason: "key value too short" })?;
        if c.len() < 0x14 + name_len {
            return Err(Error::BadCell { cell, reason: "value name runs past its cell" });
        }
        Ok(Value { view: *self, cell, c })
    }

    /// The key node offsets of a subkeys list (li, lf, lh, or an ri of those), [regf] Index leaf .. Index root.
    pub(crate) fn subkey_cells(&self, list: u32) -> Result<Vec<u32>, Error> {
        let mut out = Vec::new();
        let c = self.cell(list)?;
        match c.get(0..2) {
            Some(b"ri") => {
                for leaf in list_entries(c, list, 4)? {
                    let lc = self.cell(leaf)?;
                    if lc.get(0..2) == Some(b"ri".as_slice()) {
                        return Err(Error::BadCell { cell: leaf, reason: "index root inside an index root" });
                    }
                    out.extend(self.leaf_cells(leaf, lc)?);
                }
            }
            _ => out.extend(self.leaf_cells(list, c)?),
        }
        Ok(out)
    }

    fn leaf_cells(&self, cell: u32, c: &[u8]) -> Result<Vec<u32>, Error> {
        match c.get(0..2) {
            Some(b"li") => list_entries(c, cell, 4),
            Some(b"lf" | b"lh") => list_entries(c, cell, 8),
            _ => Err(Error::BadCell { cell, reason: "not a subkeys list (li, lf, lh, ri)" }),
        }
    }
}

/// The first u32 of each `stride`-byte element of a list record (signature, u16 count, elements).
fn list_entries(c: &[u8], cell: u32, stride: usize) -> Result<Vec<u32>, Error> {
    let n = usize::from(u16_at(c, 2).ok_or(Error::BadCell { cell, reason: "list too short" })?);
    if c.len() < 4 + n * stride {
        return Err(Error::BadCell { cell, reason: "list elements run past their cell" });
    }
    Ok((0..n).filter_map(|i| u32_at(c, 4 + i * stride)).collect())
}

/// [regf] Key node.
#[derive(Debug, Clone, Copy)]
pub struct Key<'a> {
    view: View<'a>,
    cell: u32,
    c: &'a [u8],
}

impl<'a> Key<'a> {
    fn field(&self, off: usize) -> u32 {
        u32_at(self.c, off).unwrap_or(0)
    }

    /// Offset of this key node's cell, relative to the hive bins data.
    pub fn cell(&self) -> u32 {
        self.cell
    }

    /// The key's name (extended ASCII or UTF-16 as stored).
    pub fn name(&self) -> String {
        decode_name(self.raw_name(), self.flags() & KEY_COMP_NAME != 0)
    }

    pub(crate) fn raw_name(&self) -> &'a [u8] {
        let len = usize::from(u16_at(self.c, 0x48).unwrap_or(0));
        &self.c[0x4C..0x4C + len]
    }

    /// The flags word (KEY_COMP_NAME 0x20, KEY_HIVE_ENTRY 0x4, ...).
    pub fn flags(&self) -> u16 {
        u16_at(self.c, 2).unwrap_or(0)
    }

    /// Last written timestamp (FILETIME).
    pub fn last_written(&self) -> u64 {
        u64_at(self.c, 4).unwrap_or(0)
    }

    /// Number of subkeys as the key node counts them.
    pub fn subkey_count(&self) -> u32 {
        self.field(0x14)
    }

    /// Number of values as the key node counts them.
    pub fn value_count(&self) -> u32 {
        self.field(0x24)
    }

    pub(crate) fn subkeys_list(&self) -> u32 {
        self.field(0x1C)
    }

    pub(crate) fn values_list(&self) -> u32 {
        self.field(0x28)
    }

    pub(crate) fn security_cell(&self) -> u32 {
        self.field(0x2C)
    }

    pub(crate) fn class_cell(&self) -> u32 {
        self.field(0x30)
    }

    pub(crate) fn class_len(&self) -> u16 {
        u16_at(self.c, 0x4A).unwrap_or(0)
    }

    /// The subkeys, in the list's order (sorted by upper-case name).
    pub fn subkeys(&self) -> Result<impl Iterator<Item = Result<Key<'a>, Error>> + 'a, Error> {
        let cells = if self.subkey_count() == 0 { Vec::new() } else { self.view.subkey_cells(self.subkeys_list())? };
        let view = self.view;
        Ok(cells.into_iter().map(move |c| view.key(c)))
    }

    /// The subkey named `name` (case-insensitive), if any.
    pub fn subkey(&self, name: &str) -> Result<Option<Key<'a>>, Error> {
        let want = upcase_utf16(name);
        for k in self.subkeys()? {
            let k = k?;
            if name_eq_upcased(k.raw_name(), k.flags() & KEY_COMP_NAME != 0, &want) {
                return Ok(Some(k));
            }
        }
        Ok(None)
    }

    pub(crate) fn value_cells(&self) -> Result<Vec<u32>, Error> {
        let n = us(self.value_count());
        if n == 0 {
            return Ok(Vec::new());
        }
        let list = self.values_list();
        let c = self.view.cell(list)?;
        if c.len() < n.saturating_mul(4) {
            return Err(Error::BadCell { cell: list, reason: "values list shorter than the key's value count" });
        }
        Ok((0..n).filter_map(|i| u32_at(c, i * 4)).collect())
    }

    /// The values, in the list's order (unsorted, as stored).
    pub fn values(&self) -> Result<impl Iterator<Item = Result<Value<'a>, Error>> + 'a, Error> {
        let view = self.view;
        Ok(self.value_cells()?.into_iter().map(move |c| view.value(c)))
    }

    /// The value named `name` (case-insensitive; empty: the default value), if any.
    pub fn value(&self, name: &str) -> Result<Option<Value<'a>>, Error> {
        let want = upcase_utf16(name);
        for v in self.values()? {
            let v = v?;
            if name_eq_upcased(v.raw_name(), v.flags() & VALUE_COMP_NAME != 0, &want) {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }
}

/// [regf] Key value.
#[derive(Debug, Clone, Copy)]
pub struct Value<'a> {
    view: View<'a>,
    cell: u32,
    c: &'a [u8],
}

impl<'a> Value<'a> {
    /// Offset of this value's cell, relative to the hive bins data.
    pub fn cell(&self) -> u32 {
        self.cell
    }

    /// The value's name (empty for the default value).
    pub fn name(&self) -> String {
        decode_name(self.raw_name(), self.flags() & VALUE_COMP_NAME != 0)
    }

    pub(crate) fn raw_name(&self) -> &'a [u8] {
        let len = usize::from(u16_at(self.c, 2).unwrap_or(0));
        &self.c[0x14..0x14 + len]
    }

    /// The flags word (VALUE_COMP_NAME 0x1).
    pub fn flags(&self) -> u16 {
        u16_at(self.c, 0x10).unwrap_or(0)
    }

    /// The data type (`REG_*` number).
    pub fn kind(&self) -> u32 {
        u32_at(self.c, 0xC).unwrap_or(0)
    }

    pub(crate) fn raw_size(&self) -> u32 {
        u32_at(self.c, 4).unwrap_or(0)
    }

    pub(crate) fn raw_offset(&self) -> u32 {
        u32_at(self.c, 8).unwrap_or(0)
    }

    /// Whether the data lives in the record itself ([regf] Key value, Data size: most significant bit set).
    pub(crate) fn is_inline(&self) -> bool {
        self.raw_size() & 0x8000_0000 != 0
    }

    /// The data as stored: borrowed from the hive, except big data (over 16344 bytes), whose segments are joined.
    pub fn data(&self) -> Result<Cow<'a, [u8]>, Error> {
        let size = self.raw_size();
        let len = us(size & 0x7FFF_FFFF);
        let bad = |reason| Error::BadCell { cell: self.cell, reason };
        if self.is_inline() {
            if len > 4 {
                return Err(bad("inline data longer than 4 bytes"));
            }
            return Ok(Cow::Borrowed(&self.c[8..8 + len]));
        }
        if len == 0 {
            return Ok(Cow::Borrowed(&[]));
        }
        let off = self.raw_offset();
        let c = self.view.cell(off)?;
        if len > BIG_DATA_SEGMENT && self.view.minor >= 4 && c.get(0..2) == Some(b"db".as_slice()) {
            return self.big_data(off, c, len).map(Cow::Owned);
        }
        c.get(..len).map(Cow::Borrowed).ok_or(Error::BadCell { cell: off, reason: "value data runs past its cell" })
    }

    /// [regf] Big data: a "db" record, its list of segments, each segment up to 16344 bytes.
    fn big_data(&self, cell: u32, c: &[u8], len: usize) -> Result<Vec<u8>, Error> {
        let bad = |reason| Error::BadCell { cell, reason };
        let count = usize::from(u16_at(c, 2).ok_or(bad("big data record too short"))?);
        let list = u32_at(c, 4).ok_or(bad("big data record too short"))?;
        let lc = self.view.cell(list)?;
        if lc.len() < count * 4 || count.saturating_mul(BIG_DATA_SEGMENT) < len {
            return Err(bad("big data segments do not cover the value's size"));
        }
        let mut out = Vec::with_capacity(len);
        for i in 0..count {
            let seg = u32_at(lc, i * 4).ok_or(bad("segment list too short"))?;
            let sc = self.view.cell(seg)?;
            let take = (len - out.len()).min(BIG_DATA_SEGMENT);
            out.extend_from_slice(sc.get(..take).ok_or(Error::BadCell { cell: seg, reason: "segment too short" })?);
            if out.len() == len {
                break;
            }
        }
        Ok(out)
    }

    /// The value decoded: `REG_SZ`/`REG_EXPAND_SZ` up to the first NUL, `REG_MULTI_SZ` up to the empty string,
    /// `REG_DWORD` and `REG_QWORD` of exactly 4 and 8 bytes; anything else as [`RegValue::Other`] or
    /// [`RegValue::Binary`].
    pub fn decode(&self) -> Result<RegValue, Error> {
        Ok(decode_value(self.kind(), &self.data()?))
    }
}

/// Turns a type and raw bytes into a [`RegValue`] (see [`Value::decode`]).
pub fn decode_value(kind: u32, data: &[u8]) -> RegValue {
    let units = || data.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let sz = || {
        let u: Vec<u16> = units().take_while(|&c| c != 0).collect();
        String::from_utf16_lossy(&u)
    };
    match kind {
        RegValue::REG_SZ => RegValue::Sz(sz()),
        RegValue::REG_EXPAND_SZ => RegValue::ExpandSz(sz()),
        RegValue::REG_BINARY => RegValue::Binary(data.to_vec()),
        RegValue::REG_DWORD if data.len() == 4 => {
            RegValue::Dword(u32::from_le_bytes([data[0], data[1], data[2], data[3]]))
        }
        RegValue::REG_QWORD if data.len() == 8 => {
            let mut a = [0u8; 8];
            a.copy_from_slice(data);
            RegValue::Qword(u64::from_le_bytes(a))
        }
        RegValue::REG_MULTI_SZ => {
            let all: Vec<u16> = units().collect();
            let mut out = Vec::new();
            for s in all.split(|&c| c == 0) {
                if s.is_empty() {
                    break;
                }
                out.push(String::from_utf16_lossy(s));
            }
            RegValue::MultiSz(out)
        }
        kind => RegValue::Other { kind, data: data.to_vec() },
    }
}

/// A name as stored: extended ASCII (Latin-1, one byte per character) when `comp`, else UTF-16LE.
pub(crate) fn decode_name(raw: &[u8], comp: bool) -> String {
    if comp {
        raw.iter().map(|&b| char::from(b)).collect()
    } else {
        let u: Vec<u16> = raw.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect();
        String::from_utf16_lossy(&u)
    }
}

/// The UTF-16 code units of a stored name.
pub(crate) fn name_units(raw: &[u8], comp: bool) -> Vec<u16> {
    if comp {
        raw.iter().map(|&b| u16::from(b)).collect()
    } else {
        raw.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect()
    }
}

/// Upper case of one UTF-16 code unit, as Windows' table does it: a character whose upper case is one BMP
/// character maps to it, anything else (surrogates, ß) stays.
pub(crate) fn upcase_unit(u: u16) -> u16 {
    if u < 0x80 {
        return u16::from(u8::try_from(u).unwrap_or(0).to_ascii_uppercase());
    }
    let Some(c) = char::from_u32(u32::from(u)) else { return u };
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(one), None) => u16::try_from(u32::from(one)).unwrap_or(u),
        _ => u,
    }
}

pub(crate) fn upcase_utf16(s: &str) -> Vec<u16> {
    s.encode_utf16().map(upcase_unit).collect()
}

fn name_eq_upcased(raw: &[u8], comp: bool, want: &[u16]) -> bool {
    if comp {
        raw.len() == want.len() && raw.iter().zip(want).all(|(&b, &w)| upcase_unit(u16::from(b)) == w)
    } else {
        raw.len() == want.len() * 2
            && raw.chunks_exact(2).zip(want).all(|(b, &w)| upcase_unit(u16::from_le_bytes([b[0], b[1]])) == w)
    }
}
