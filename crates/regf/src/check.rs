//! The whole-hive consistency check that comes before the first edit: the writer takes free cells for new
//! records, so a hive where a cell still in use is marked free, or where a reference lands inside another cell,
//! would have live data overwritten. Such a hive is refused instead ([`Error::Inconsistent`]).

use std::collections::HashSet;

use crate::hive::{u16_at, u32_at, us, Hive, BASE_BLOCK_LEN, BIG_DATA_SEGMENT, MAX_DEPTH, NIL};
use crate::Error;

/// The cells of the hive bins: a bit per 8-byte slot where a cell starts, and whether it is allocated.
struct CellMap {
    start: Vec<u64>,
    used: Vec<u64>,
}

impl CellMap {
    fn slot(cell: u32) -> (usize, u64) {
        let s = us(cell / 8);
        (s / 64, 1u64 << (s % 64))
    }

    fn mark(&mut self, cell: u32, allocated: bool) {
        let (i, bit) = Self::slot(cell);
        self.start[i] |= bit;
        if allocated {
            self.used[i] |= bit;
        }
    }

    fn is_allocated_cell(&self, cell: u32) -> bool {
        if !cell.is_multiple_of(8) {
            return false;
        }
        let (i, bit) = Self::slot(cell);
        self.start.get(i).is_some_and(|w| w & bit != 0) && self.used.get(i).is_some_and(|w| w & bit != 0)
    }
}

impl<B: AsRef<[u8]>> Hive<B> {
    /// Checks the whole hive the way an edit needs it: every hive bin is a chain of well-formed cells, and every
    /// cell that a key reaches (key nodes, subkey and value lists, values, data, big data segments, security
    /// descriptors) starts a cell of that chain, is allocated, and is used once (security descriptors excepted).
    /// The edits run it once before their first change.
    pub fn check(&self) -> Result<(), Error> {
        let view = self.view();
        let map = cell_map(view.d, view.end)?;
        let mut used: HashSet<u32> = HashSet::new();
        let mut claim = |cell: u32, what: &'static str, shared: bool| -> Result<(), Error> {
            if !map.is_allocated_cell(cell) {
                return Err(Error::Inconsistent { cell, what, reason: "not an allocated cell of its hive bin" });
            }
            if !shared && !used.insert(cell) {
                return Err(Error::Inconsistent { cell, what, reason: "reached twice" });
            }
            Ok(())
        };
        let mut stack = vec![(self.base.root_cell, 0usize)];
        while let Some((cell, depth)) = stack.pop() {
            if depth > MAX_DEPTH {
                return Err(Error::Loop { cell });
            }
            claim(cell, "key node", false)?;
            let key = view.key(cell)?;
            let sk = key.security_cell();
            if sk != NIL {
                claim(sk, "security descriptor", true)?;
                if view.cell(sk)?.get(0..2) != Some(b"sk".as_slice()) {
                    return Err(Error::Inconsistent { cell: sk, what: "security descriptor", reason: "no \"sk\" signature" });
                }
            }
            let class = key.class_cell();
            if class != NIL && key.class_len() > 0 {
                claim(class, "class name", false)?;
            }
            if key.subkey_count() > 0 {
                let list = key.subkeys_list();
                claim(list, "subkeys list", false)?;
                let c = view.cell(list)?;
                if c.get(0..2) == Some(b"ri".as_slice()) {
                    let n = usize::from(u16_at(c, 2).unwrap_or(0));
                    for i in 0..n {
                        let leaf = u32_at(c, 4 + i * 4).ok_or(Error::BadCell { cell: list, reason: "list too short" })?;
                        claim(leaf, "subkeys list", false)?;
                    }
                }
                for sub in view.subkey_cells(list)? {
                    stack.push((sub, depth + 1));
                }
            }
            if key.value_count() > 0 {
                claim(key.values_list(), "values list", false)?;
                for vk in key.value_cells()? {
                    claim(vk, "value", false)?;
                    let v = view.value(vk)?;
                    let size = v.raw_size();
                    if v.is_inline() || size == 0 {
                        continue;
                    }
                    let data = v.raw_offset();
                    claim(data, "value data", false)?;
                    let c = view.cell(data)?;
                    if us(size) > BIG_DATA_SEGMENT && view.minor >= 4 && c.get(0..2) == Some(b"db".as_slice()) {
                        let count = usize::from(u16_at(c, 2).unwrap_or(0));
                        let list = u32_at(c, 4).unwrap_or(NIL);
                        claim(list, "big data segment list", false)?;
                        let lc = view.cell(list)?;
                        for i in 0..count {
                            let seg = u32_at(lc, i * 4).ok_or(Error::BadCell { cell: list, reason: "list too short" })?;
                            claim(seg, "big data segment", false)?;
                        }
                    }
                    v.data()?;
                }
            }
        }
        Ok(())
    }
}

fn cell_map(d: &[u8], end: usize) -> Result<CellMap, Error> {
    let slots = (end - BASE_BLOCK_LEN) / 8;
    let words = slots.div_ceil(64);
    let mut map = CellMap { start: vec![0; words], used: vec![0; words] };
    let mut bin = BASE_BLOCK_LEN;
    while bin < end {
        let size = u32_at(d, bin + 8).map(us).unwrap_or(0);
        if size == 0 || size > end - bin {
            return Err(Error::BadHiveBin { offset: bin, reason: "size is not a multiple of 4096 inside the hive" });
        }
        let mut pos = bin + 32;
        while pos < bin + size {
            let raw = d.get(pos..pos + 4).and_then(|b| <[u8; 4]>::try_from(b).ok()).map(i32::from_le_bytes);
            let cell = u32::try_from(pos - BASE_BLOCK_LEN).unwrap_or(NIL);
            let Some(raw) = raw else {
                return Err(Error::Inconsistent { cell, what: "cell", reason: "runs past its hive bin" });
            };
            let len = us(raw.unsigned_abs());
            if len < 8 || !len.is_multiple_of(8) || len > bin + size - pos {
                return Err(Error::Inconsistent { cell, what: "cell", reason: "size does not fit its hive bin" });
            }
            map.mark(cell, raw < 0);
            pos += len;
        }
        bin += size;
    }
    Ok(map)
}
