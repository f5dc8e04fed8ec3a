//! Editing a hive in place, the way hivex and Windows do: new records go into free cells or a hive bin appended at
//! the end, lists that grow are copied to a bigger cell and the old one freed, and nothing else moves. Every edit
//! is one write in the base block's terms ([regf] Base block): the primary sequence number is incremented first,
//! the secondary one set equal to it last, and the checksum recomputed.

use rdlic_core::winreg::RegValue;

use crate::hive::{
    name_units, split_path, u16_at, u32_at, upcase_unit, upcase_utf16, us, Hive, BASE_BLOCK_LEN, BIG_DATA_SEGMENT,
    KEY_COMP_NAME, MAX_DEPTH, NIL, VALUE_COMP_NAME,
};
use crate::Error;

/// Seconds between 1601-01-01 (FILETIME's epoch) and 1970-01-01.
const FILETIME_UNIX_EPOCH: u64 = 11_644_473_600;

/// A Unix time in seconds as a FILETIME (100 ns ticks since 1601), the timestamp that edits write.
pub fn filetime_from_unix(secs: i64) -> u64 {
    let secs = u64::try_from(secs).unwrap_or(0);
    (secs + FILETIME_UNIX_EPOCH).saturating_mul(10_000_000)
}

/// What [`Hive::create_key`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// The key was already there; the hive is unchanged.
    Existed,
    /// This many keys were created (the last component and missing parents).
    Keys(usize),
}

/// A name in the form a record stores it: extended ASCII when every character fits in a byte, else UTF-16LE.
struct StoredName {
    bytes: Vec<u8>,
    comp: bool,
    units: Vec<u16>,
}

impl StoredName {
    fn new(name: &str) -> Self {
        let units: Vec<u16> = name.encode_utf16().collect();
        let comp = units.iter().all(|&u| u <= 0xFF);
        let bytes = if comp {
            units.iter().map(|&u| u8::try_from(u).unwrap_or(b'?')).collect()
        } else {
            units.iter().flat_map(|u| u.to_le_bytes()).collect()
        };
        Self { bytes, comp, units }
    }

    /// Length in bytes of the name as UTF-16, what the "largest name" fields count.
    fn utf16_len(&self) -> u32 {
        u32::try_from(self.units.len() * 2).unwrap_or(u32::MAX)
    }
}

/// The `REG_*` number and bytes of a value, as Windows stores them (strings UTF-16LE with their NUL).
pub fn encode_value(value: &RegValue) -> (u32, Vec<u8>) {
    let sz = |s: &str| s.encode_utf16().chain([0]).flat_map(|u| u.to_le_bytes()).collect::<Vec<u8>>();
    let data = match value {
        RegValue::Sz(s) | RegValue::ExpandSz(s) => sz(s),
        RegValue::Binary(b) => b.clone(),
        RegValue::Dword(v) => v.to_le_bytes().to_vec(),
        RegValue::Qword(v) => v.to_le_bytes().to_vec(),
        RegValue::MultiSz(list) => {
            let mut out: Vec<u8> = list.iter().flat_map(|s| sz(s)).collect();
            out.extend_from_slice(&[0, 0]);
            out
        }
        RegValue::Other { data, .. } => data.clone(),
        _ => Vec::new(),
    };
    (value.kind(), data)
}

fn len32(n: usize, size: usize) -> Result<u32, Error> {
    u32::try_from(n).map_err(|_| Error::HiveFull { size })
}

impl Hive<Vec<u8>> {
    /// Creates the key at `path` (below the root) and any missing parent, as `RegCreateKeyEx` does: each new key
    /// node shares its parent's security descriptor (whose reference count goes up) and is inserted in the
    /// parent's subkeys list in Windows' order, with the list's hash or name hint. `now` is the FILETIME written as
    /// the keys' and the parents' last-written time ([`filetime_from_unix`]).
    pub fn create_key(&mut self, path: &str, now: u64) -> Result<Created, Error> {
        self.check_clean()?;
        let parts: Vec<&str> = split_path(path).collect();
        if parts.len() > MAX_DEPTH {
            return Err(Error::InvalidName { name: path.to_owned(), reason: "deeper than 512 levels" });
        }
        for p in &parts {
            if p.encode_utf16().count() > 255 {
                return Err(Error::InvalidName { name: (*p).to_owned(), reason: "key names have at most 255 characters" });
            }
        }
        let mut cell = self.base.root_cell;
        let mut existing = 0;
        {
            let mut key = self.root()?;
            for p in &parts {
                match key.subkey(p)? {
                    Some(k) => {
                        key = k;
                        existing += 1;
                    }
                    None => break,
                }
            }
            if existing == parts.len() {
                return Ok(Created::Existed);
            }
            cell = if existing == 0 { cell } else { key.cell() };
        }
        self.begin()?;
        for p in &parts[existing..] {
            cell = self.add_subkey(cell, p, now)?;
        }
        self.end(now);
        Ok(Created::Keys(parts.len() - existing))
    }

    /// Sets the value `name` (empty: the default value) of the existing key at `path`, creating or replacing it.
    /// Small data (4 bytes or less) goes in the value record, data over 16344 bytes in big data segments (hive
    /// version 1.4 and later), the rest in one data cell. The key's value list, value count and largest name and
    /// data sizes are updated.
    pub fn set_value(&mut self, path: &str, name: &str, value: &RegValue, now: u64) -> Result<(), Error> {
        self.check_clean()?;
        if name.encode_utf16().count() > 16383 {
            return Err(Error::InvalidName { name: name.to_owned(), reason: "value names have at most 16383 characters" });
        }
        let (kind, data) = encode_value(value);
        let (key_cell, old) = {
            let key = self.key(path)?.ok_or_else(|| Error::KeyNotFound { path: path.to_owned() })?;
            let old = key.value(name)?.map(|v| v.cell());
            // Read the list now so that a damaged one fails before the hive is touched.
            key.value_cells()?;
            (key.cell(), old)
        };
        self.begin()?;
        let stored = StoredName::new(name);
        let (size_field, offset_field) = self.store_data(&data)?;
        let vk = self.alloc(0x14 + stored.bytes.len())?;
        let v = self.data_pos(vk);
        let d = &mut self.bytes;
        d[v..v + 2].copy_from_slice(b"vk");
        put16(d, v + 2, u16::try_from(stored.bytes.len()).unwrap_or(0));
        put32(d, v + 4, size_field);
        put32(d, v + 8, offset_field);
        put32(d, v + 0xC, kind);
        put16(d, v + 0x10, if stored.comp && !stored.bytes.is_empty() { VALUE_COMP_NAME } else { 0 });
        d[v + 0x14..v + 0x14 + stored.bytes.len()].copy_from_slice(&stored.bytes);

        let k = self.data_pos(key_cell);
        let count = us(self.get32(k + 0x24));
        let list = self.get32(k + 0x28);
        match old {
            Some(old_vk) => {
                let l = self.data_pos(list);
                for i in 0..count {
                    if self.get32(l + i * 4) == old_vk {
                        put32(&mut self.bytes, l + i * 4, vk);
                    }
                }
                self.free_value(old_vk);
            }
            None => {
                let needed = (count + 1) * 4;
                if count > 0 && self.cell_capacity(list) >= needed {
                    let l = self.data_pos(list);
                    put32(&mut self.bytes, l + count * 4, vk);
                } else {
                    let new_list = self.alloc(needed)?;
                    let nl = self.data_pos(new_list);
                    if count > 0 {
                        let l = self.data_pos(list);
                        self.bytes.copy_within(l..l + count * 4, nl);
                        self.free(list);
                    }
                    put32(&mut self.bytes, nl + count * 4, vk);
                    put32(&mut self.bytes, k + 0x28, new_list);
                }
                put32(&mut self.bytes, k + 0x24, len32(count + 1, needed)?);
            }
        }
        let max_name = self.get32(k + 0x3C).max(stored.utf16_len());
        put32(&mut self.bytes, k + 0x3C, max_name);
        let max_data = self.get32(k + 0x40).max(len32(data.len(), data.len())?);
        put32(&mut self.bytes, k + 0x40, max_data);
        put64(&mut self.bytes, k + 4, now);
        self.end(now);
        Ok(())
    }

    /// Deletes the value `name` of the key at `path`; `Ok(false)` when the key or the value is absent (the hive is
    /// then unchanged).
    pub fn delete_value(&mut self, path: &str, name: &str, now: u64) -> Result<bool, Error> {
        self.check_clean()?;
        let (key_cell, vk, cells) = {
            let Some(key) = self.key(path)? else { return Ok(false) };
            let Some(v) = key.value(name)? else { return Ok(false) };
            (key.cell(), v.cell(), key.value_cells()?)
        };
        self.begin()?;
        let k = self.data_pos(key_cell);
        let list = self.get32(k + 0x28);
        let kept: Vec<u32> = cells.into_iter().filter(|&c| c != vk).collect();
        if kept.is_empty() {
            self.free(list);
            put32(&mut self.bytes, k + 0x28, NIL);
        } else {
            let l = self.data_pos(list);
            for (i, c) in kept.iter().enumerate() {
                put32(&mut self.bytes, l + i * 4, *c);
            }
        }
        put32(&mut self.bytes, k + 0x24, len32(kept.len(), 0)?);
        put64(&mut self.bytes, k + 4, now);
        self.free_value(vk);
        self.end(now);
        Ok(true)
    }

    // --- one write --------------------------------------------------------------------------------------------

    /// A dirty hive is refused for every edit, even one that would change nothing; so is an inconsistent one
    /// ([`Hive::check`], run before the first edit).
    fn check_clean(&mut self) -> Result<(), Error> {
        if self.base.is_dirty() {
            return Err(Error::Dirty {
                primary: self.base.primary_sequence,
                secondary: self.base.secondary_sequence,
                checksum: if self.base.checksum_valid { "valid" } else { "wrong" },
            });
        }
        if !self.checked {
            self.check()?;
            self.checked = true;
        }
        Ok(())
    }

    fn begin(&mut self) -> Result<(), Error> {
        self.check_clean()?;
        self.base.primary_sequence = self.base.primary_sequence.wrapping_add(1);
        put32(&mut self.bytes, 4, self.base.primary_sequence);
        Ok(())
    }

    fn end(&mut self, now: u64) {
        self.base.secondary_sequence = self.base.primary_sequence;
        put32(&mut self.bytes, 8, self.base.secondary_sequence);
        put64(&mut self.bytes, 12, now);
        self.base.last_written = now;
        let c = crate::hive::checksum(&self.bytes);
        put32(&mut self.bytes, 0x1FC, c);
        self.base.stored_checksum = c;
        self.base.checksum_valid = true;
    }

    // --- keys -------------------------------------------------------------------------------------------------

    /// Creates the key node `name` under `parent` and links it in; returns its cell.
    fn add_subkey(&mut self, parent: u32, name: &str, now: u64) -> Result<u32, Error> {
        if name.is_empty() {
            return Err(Error::InvalidName { name: name.to_owned(), reason: "empty key name" });
        }
        let stored = StoredName::new(name);
        let p = self.data_pos(parent);
        let sk = self.get32(p + 0x2C);
        let nk = self.alloc(0x4C + stored.bytes.len())?;
        let n = self.data_pos(nk);
        let d = &mut self.bytes;
        d[n..n + 2].copy_from_slice(b"nk");
        put16(d, n + 2, if stored.comp { KEY_COMP_NAME } else { 0 });
        put64(d, n + 4, now);
        put32(d, n + 0x10, parent);
        for off in [0x1C, 0x20, 0x28, 0x30] {
            put32(d, n + off, NIL);
        }
        put32(d, n + 0x2C, sk);
        put16(d, n + 0x48, u16::try_from(stored.bytes.len()).unwrap_or(0));
        d[n + 0x4C..n + 0x4C + stored.bytes.len()].copy_from_slice(&stored.bytes);
        if self.view().cell(sk).is_ok_and(|c| c.get(0..2) == Some(b"sk".as_slice())) {
            let s = self.data_pos(sk);
            let refs = self.get32(s + 0xC).saturating_add(1);
            put32(&mut self.bytes, s + 0xC, refs);
        }
        self.link_subkey(parent, nk, &stored)?;
        let p = self.data_pos(parent);
        let count = self.get32(p + 0x14).saturating_add(1);
        put32(&mut self.bytes, p + 0x14, count);
        let max = u16_at(&self.bytes, p + 0x34).unwrap_or(0);
        let len = u16::try_from(stored.utf16_len()).unwrap_or(u16::MAX);
        put16(&mut self.bytes, p + 0x34, max.max(len));
        put64(&mut self.bytes, p + 4, now);
        Ok(nk)
    }

    /// Inserts `nk` in `parent`'s subkeys list, sorted by upper-case name ([regf] Index leaf), in the leaf of an
    /// index root where it belongs.
    fn link_subkey(&mut self, parent: u32, nk: u32, name: &StoredName) -> Result<(), Error> {
        let p = self.data_pos(parent);
        let count = self.get32(p + 0x14);
        let list = self.get32(p + 0x1C);
        if count == 0 || list == NIL {
            let sig = if self.base.minor >= 5 { *b"lh" } else { *b"lf" };
            let leaf = self.alloc(12)?;
            let l = self.data_pos(leaf);
            self.bytes[l..l + 2].copy_from_slice(&sig);
            put16(&mut self.bytes, l + 2, 1);
            let entry = leaf_entry(sig, nk, name);
            self.bytes[l + 4..l + 4 + entry.len()].copy_from_slice(&entry);
            put32(&mut self.bytes, p + 0x1C, leaf);
            return Ok(());
        }
        let upper: Vec<u16> = name.units.iter().map(|&u| upcase_unit(u)).collect();
        let is_ri = self.view().cell(list)?.get(0..2) == Some(b"ri".as_slice());
        if !is_ri {
            let new_leaf = self.insert_in_leaf(list, nk, name, &upper)?;
            let p = self.data_pos(parent);
            put32(&mut self.bytes, p + 0x1C, new_leaf);
            return Ok(());
        }
        // Index root: the first leaf whose last key sorts after the new one, else the last leaf.
        let (slot, leaf) = {
            let view = self.view();
            let c = view.cell(list)?;
            let n = usize::from(u16_at(c, 2).unwrap_or(0));
            if n == 0 || c.len() < 4 + n * 4 {
                return Err(Error::BadCell { cell: list, reason: "empty or short index root" });
            }
            let mut chosen = (n - 1, u32_at(c, 4 + (n - 1) * 4).unwrap_or(NIL));
            for i in 0..n {
                let leaf = u32_at(c, 4 + i * 4).unwrap_or(NIL);
                if let Some(&last) = view.subkey_cells(leaf)?.last() {
                    let k = view.key(last)?;
                    if cmp_upper(&name_units(k.raw_name(), k.flags() & KEY_COMP_NAME != 0), &upper).is_gt() {
                        chosen = (i, leaf);
                        break;
                    }
                }
            }
            chosen
        };
        let new_leaf = self.insert_in_leaf(leaf, nk, name, &upper)?;
        let r = self.data_pos(list);
        put32(&mut self.bytes, r + 4 + slot * 4, new_leaf);
        Ok(())
    }

    /// Inserts into one li/lf/lh leaf; returns the leaf's cell (the same one when it had room, else a new one).
    fn insert_in_leaf(&mut self, leaf: u32, nk: u32, name: &StoredName, upper: &[u16]) -> Result<u32, Error> {
        let (sig, n, pos) = {
            let view = self.view();
            let c = view.cell(leaf)?;
            let sig: [u8; 2] = match c.get(0..2) {
                Some(b"li") => *b"li",
                Some(b"lf") => *b"lf",
                Some(b"lh") => *b"lh",
                _ => return Err(Error::BadCell { cell: leaf, reason: "not a subkeys list (li, lf, lh)" }),
            };
            let cells = view.subkey_cells(leaf)?;
            let mut pos = cells.len();
            for (i, &cell) in cells.iter().enumerate() {
                let k = view.key(cell)?;
                if cmp_upper(&name_units(k.raw_name(), k.flags() & KEY_COMP_NAME != 0), upper).is_gt() {
                    pos = i;
                    break;
                }
            }
            (sig, cells.len(), pos)
        };
        if n >= usize::from(u16::MAX) {
            return Err(Error::HiveFull { size: n });
        }
        let stride = if sig == *b"li" { 4 } else { 8 };
        let needed = 4 + (n + 1) * stride;
        let entry = leaf_entry(sig, nk, name);
        let target = if self.cell_capacity(leaf) >= needed {
            let l = self.data_pos(leaf);
            self.bytes.copy_within(l + 4 + pos * stride..l + 4 + n * stride, l + 4 + (pos + 1) * stride);
            leaf
        } else {
            let new = self.alloc(needed)?;
            let (l, nl) = (self.data_pos(leaf), self.data_pos(new));
            self.bytes.copy_within(l..l + 4 + pos * stride, nl);
            self.bytes.copy_within(l + 4 + pos * stride..l + 4 + n * stride, nl + 4 + (pos + 1) * stride);
            self.free(leaf);
            new
        };
        let t = self.data_pos(target);
        put16(&mut self.bytes, t + 2, u16::try_from(n + 1).unwrap_or(u16::MAX));
        self.bytes[t + 4 + pos * stride..t + 4 + (pos + 1) * stride].copy_from_slice(&entry);
        Ok(target)
    }

    // --- values -----------------------------------------------------------------------------------------------

    /// Stores value data; returns the vk's data size and data offset fields.
    fn store_data(&mut self, data: &[u8]) -> Result<(u32, u32), Error> {
        let len = len32(data.len(), data.len())?;
        if len >= 0x8000_0000 {
            return Err(Error::HiveFull { size: data.len() });
        }
        if data.len() <= 4 {
            let mut inline = [0u8; 4];
            inline[..data.len()].copy_from_slice(data);
            return Ok((len | 0x8000_0000, u32::from_le_bytes(inline)));
        }
        if data.len() <= BIG_DATA_SEGMENT || self.base.minor < 4 {
            let cell = self.alloc(data.len())?;
            let p = self.data_pos(cell);
            self.bytes[p..p + data.len()].copy_from_slice(data);
            return Ok((len, cell));
        }
        let segments: Vec<&[u8]> = data.chunks(BIG_DATA_SEGMENT).collect();
        let count = u16::try_from(segments.len()).map_err(|_| Error::HiveFull { size: data.len() })?;
        let mut cells = Vec::with_capacity(segments.len());
        for s in segments {
            let cell = self.alloc(s.len())?;
            let p = self.data_pos(cell);
            self.bytes[p..p + s.len()].copy_from_slice(s);
            cells.push(cell);
        }
        let list = self.alloc(cells.len() * 4)?;
        let l = self.data_pos(list);
        for (i, c) in cells.iter().enumerate() {
            put32(&mut self.bytes, l + i * 4, *c);
        }
        let db = self.alloc(8)?;
        let b = self.data_pos(db);
        self.bytes[b..b + 2].copy_from_slice(b"db");
        put16(&mut self.bytes, b + 2, count);
        put32(&mut self.bytes, b + 4, list);
        Ok((len, db))
    }

    /// Frees a value record and its data cells (those that are still valid allocated cells).
    fn free_value(&mut self, vk: u32) {
        let (size, off) = {
            let Ok(v) = self.view().value(vk) else { return };
            (v.raw_size(), v.raw_offset())
        };
        if size & 0x8000_0000 == 0 && size != 0 && off != NIL {
            let view = self.view();
            let mut cells = vec![off];
            if let Ok(c) = view.cell(off) {
                if us(size) > BIG_DATA_SEGMENT && self.base.minor >= 4 && c.get(0..2) == Some(b"db".as_slice()) {
                    let count = usize::from(u16_at(c, 2).unwrap_or(0));
                    let list = u32_at(c, 4).unwrap_or(NIL);
                    if let Ok(lc) = view.cell(list) {
                        cells.extend((0..count).filter_map(|i| u32_at(lc, i * 4)));
                        cells.push(list);
                    }
                }
            }
            for c in cells {
                if self.view().cell(c).is_ok() {
                    self.free(c);
                }
            }
        }
        self.free(vk);
    }

    // --- cells ------------------------------------------------------------------------------------------------

    fn data_pos(&self, cell: u32) -> usize {
        BASE_BLOCK_LEN + us(cell) + 4
    }

    fn get32(&self, pos: usize) -> u32 {
        u32_at(&self.bytes, pos).unwrap_or(0)
    }

    fn cell_capacity(&self, cell: u32) -> usize {
        self.view().cell(cell).map(|c| c.len()).unwrap_or(0)
    }

    /// Allocates a cell for `len` bytes of data: the first free cell big enough (split when the rest can hold a
    /// cell), else a new hive bin at the end. The data is zeroed.
    fn alloc(&mut self, len: usize) -> Result<u32, Error> {
        let need = (len + 4 + 7) & !7;
        let found = self.find_free(need)?;
        let (pos, have) = match found {
            Some(f) => f,
            None => self.append_bin(need)?,
        };
        let (cell_size, rest) = if have - need >= 8 { (need, have - need) } else { (have, 0) };
        let neg = -i32::try_from(cell_size).map_err(|_| Error::HiveFull { size: len })?;
        self.bytes[pos..pos + 4].copy_from_slice(&neg.to_le_bytes());
        self.bytes[pos + 4..pos + cell_size].fill(0);
        if rest > 0 {
            let r = i32::try_from(rest).map_err(|_| Error::HiveFull { size: len })?;
            self.bytes[pos + cell_size..pos + cell_size + 4].copy_from_slice(&r.to_le_bytes());
        }
        len32(pos - BASE_BLOCK_LEN, len)
    }

    /// First free cell of at least `need` bytes: (file offset, its size).
    fn find_free(&self, need: usize) -> Result<Option<(usize, usize)>, Error> {
        let d = &self.bytes;
        let end = BASE_BLOCK_LEN + us(self.base.hive_bins_size);
        let mut bin = BASE_BLOCK_LEN;
        while bin < end {
            let bin_size = u32_at(d, bin + 8).map(us).unwrap_or(0);
            if bin_size == 0 || bin_size > end - bin {
                return Err(Error::BadHiveBin { offset: bin, reason: "size is not a multiple of 4096 inside the hive" });
            }
            let mut pos = bin + 32;
            while pos + 4 <= bin + bin_size {
                let raw = i32::from_le_bytes(d[pos..pos + 4].try_into().unwrap_or([0; 4]));
                let size = us(raw.unsigned_abs());
                if size < 8 || !size.is_multiple_of(8) || size > bin + bin_size - pos {
                    // A damaged bin: allocate elsewhere rather than trust it.
                    break;
                }
                if raw > 0 && size >= need {
                    return Ok(Some((pos, size)));
                }
                pos += size;
            }
            bin += bin_size;
        }
        Ok(None)
    }

    /// Appends a hive bin big enough for a cell of `need` bytes; returns its one free cell.
    fn append_bin(&mut self, need: usize) -> Result<(usize, usize), Error> {
        let bin_size = (need + 32 + 4095) & !4095;
        let start = BASE_BLOCK_LEN + us(self.base.hive_bins_size);
        let new_total = us(self.base.hive_bins_size) + bin_size;
        let total32 = u32::try_from(new_total).map_err(|_| Error::HiveFull { size: need })?;
        if total32 >= 0x8000_0000 {
            return Err(Error::HiveFull { size: need });
        }
        if self.bytes.len() < start + bin_size {
            self.bytes.resize(start + bin_size, 0);
        }
        let d = &mut self.bytes;
        d[start..start + bin_size].fill(0);
        d[start..start + 4].copy_from_slice(b"hbin");
        put32(d, start + 4, len32(start - BASE_BLOCK_LEN, need)?);
        put32(d, start + 8, len32(bin_size, need)?);
        let free = i32::try_from(bin_size - 32).map_err(|_| Error::HiveFull { size: need })?;
        d[start + 32..start + 36].copy_from_slice(&free.to_le_bytes());
        self.base.hive_bins_size = total32;
        put32(&mut self.bytes, 40, total32);
        Ok((start + 32, bin_size - 32))
    }

    /// Marks a cell free and merges it with a free cell that follows it in the same hive bin.
    fn free(&mut self, cell: u32) {
        let pos = BASE_BLOCK_LEN + us(cell);
        let Some(raw) = self.bytes.get(pos..pos + 4).and_then(|b| <[u8; 4]>::try_from(b).ok()) else { return };
        let raw = i32::from_le_bytes(raw);
        if raw >= 0 {
            return;
        }
        let mut size = us(raw.unsigned_abs());
        let bin_end = self.bin_end(pos);
        let next = pos + size;
        if next + 4 <= bin_end {
            let n = i32::from_le_bytes(self.bytes[next..next + 4].try_into().unwrap_or([0; 4]));
            if n > 0 && us(n.unsigned_abs()) <= bin_end - next {
                size += us(n.unsigned_abs());
            }
        }
        let s = i32::try_from(size).unwrap_or(raw.saturating_neg());
        self.bytes[pos..pos + 4].copy_from_slice(&s.to_le_bytes());
    }

    /// File offset of the end of the hive bin holding `pos`.
    fn bin_end(&self, pos: usize) -> usize {
        let end = BASE_BLOCK_LEN + us(self.base.hive_bins_size);
        let mut bin = BASE_BLOCK_LEN;
        while bin < end {
            let size = u32_at(&self.bytes, bin + 8).map(us).unwrap_or(0);
            if size == 0 {
                break;
            }
            if pos < bin + size {
                return bin + size;
            }
            bin += size;
        }
        pos
    }
}

/// Compares two names by their upper-case UTF-16 code units (`a` raw, `b_upper` already upper-case).
fn cmp_upper(a: &[u16], b_upper: &[u16]) -> std::cmp::Ordering {
    a.iter().map(|&u| upcase_unit(u)).cmp(b_upper.iter().copied())
}

/// One element of an li, lf or lh leaf for the key node `nk` named `name`.
fn leaf_entry(sig: [u8; 2], nk: u32, name: &StoredName) -> Vec<u8> {
    let mut e = nk.to_le_bytes().to_vec();
    match &sig {
        b"lf" => {
            // [regf] Fast leaf: the first 4 characters as extended ASCII, or a null first byte if they do not fit.
            let mut hint = [0u8; 4];
            let first: Vec<u16> = name.units.iter().take(4).copied().collect();
            if first.iter().all(|&u| u <= 0xFF) {
                for (h, u) in hint.iter_mut().zip(first) {
                    *h = u8::try_from(u).unwrap_or(0);
                }
            }
            e.extend_from_slice(&hint);
        }
        b"lh" => e.extend_from_slice(&name_hash(&name.units).to_le_bytes()),
        _ => {}
    }
    e
}

/// [regf] Hash leaf, note: H = 37 * H + C over the upper-case name's UTF-16 code units.
pub(crate) fn name_hash(units: &[u16]) -> u32 {
    units.iter().fold(0u32, |h, &u| h.wrapping_mul(37).wrapping_add(u32::from(upcase_unit(u))))
}

/// The hash of an lh element for `name` (exposed for tests).
pub fn lh_hash(name: &str) -> u32 {
    name_hash(&upcase_utf16(name))
}

fn put16(d: &mut [u8], pos: usize, v: u16) {
    d[pos..pos + 2].copy_from_slice(&v.to_le_bytes());
}

fn put32(d: &mut [u8], pos: usize, v: u32) {
    d[pos..pos + 4].copy_from_slice(&v.to_le_bytes());
}

fn put64(d: &mut [u8], pos: usize, v: u64) {
    d[pos..pos + 8].copy_from_slice(&v.to_le_bytes());
}
