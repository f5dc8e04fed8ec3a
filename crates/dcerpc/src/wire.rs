//! Byte-level reading and writing. Integers follow the sender's data representation ([C706 14.2]): the reader
//! knows whether they are little- or big-endian; rdlic always writes little-endian, as Windows does.

use crate::error::{DecodeError, EncodeError};

/// A cursor over one PDU (or one NDR stub): offsets, and so NDR alignment, count from the start of `buf`.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    little: bool,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], little: bool) -> Self {
        Self { buf, pos: 0, little }
    }

    /// A reader that starts at `pos` (alignment still counts from the start of `buf`).
    pub(crate) fn at(buf: &'a [u8], pos: usize, little: bool) -> Self {
        Self { buf, pos: pos.min(buf.len()), little }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let truncated =
            || DecodeError::Truncated { what, offset: self.pos, needed: n, available: self.remaining() };
        let end = self.pos.checked_add(n).ok_or_else(truncated)?;
        let bytes = self.buf.get(self.pos..end).ok_or_else(truncated)?;
        self.pos = end;
        Ok(bytes)
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let bytes = self.buf.get(self.pos..).unwrap_or_default();
        self.pos = self.buf.len();
        bytes
    }

    pub(crate) fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        let b = self.array::<2>(what)?;
        Ok(if self.little { u16::from_le_bytes(b) } else { u16::from_be_bytes(b) })
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let b = self.array::<4>(what)?;
        Ok(if self.little { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) })
    }

    /// Skips the padding up to the next multiple of `n` (NDR alignment, [C706 14.2.2]).
    pub(crate) fn align(&mut self, n: usize, what: &'static str) -> Result<(), DecodeError> {
        let pad = (n - self.pos % n) % n;
        self.take(pad, what).map(|_| ())
    }
}

/// A little-endian writer.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub(crate) fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn bytes(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }
    /// Zero padding up to the next multiple of `n`, counted from the start of the buffer.
    pub(crate) fn align(&mut self, n: usize) {
        let pad = (n - self.buf.len() % n) % n;
        self.buf.resize(self.buf.len() + pad, 0);
    }
}

/// `len` as a `u16` length field.
pub(crate) fn len_u16(what: &'static str, len: usize) -> Result<u16, EncodeError> {
    u16::try_from(len).map_err(|_| EncodeError::too_long(what, len, usize::from(u16::MAX)))
}

/// `len` as a `u32` count.
pub(crate) fn len_u32(what: &'static str, len: usize) -> Result<u32, EncodeError> {
    u32::try_from(len).map_err(|_| EncodeError::too_long(what, len, usize::try_from(u32::MAX).unwrap_or(usize::MAX)))
}

/// `len` as a `u8` count.
pub(crate) fn len_u8(what: &'static str, len: usize) -> Result<u8, EncodeError> {
    u8::try_from(len).map_err(|_| EncodeError::too_long(what, len, usize::from(u8::MAX)))
}
