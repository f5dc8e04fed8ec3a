//! `reg export` files (`.reg`): the text that `reg export "HKLM\..." file.reg` and regedit write, read into a
//! [`MemoryRegistry`] that implements [`RegistryView`](crate::winreg::RegistryView).
//!
//! The format, as Windows writes it (no Microsoft specification exists; the layout below is what `reg.exe` and
//! regedit produce, and what hivex's `hivexregedit --merge` reads):
//!
//! ```text
//! Windows Registry Editor Version 5.00          <- UTF-16LE with a byte-order mark, CRLF line ends
//!                                                  (REGEDIT4: the older 8-bit form)
//! [HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services]
//! "LicensingMode"=dword:00000004                <- REG_DWORD, 8 hex digits
//! "LicenseServers"="ls1.contoso.com"            <- REG_SZ, `\\` and `\"` escaped
//! @="default value"                             <- the key's default value
//! "SpecifiedLicenseServers"=hex(7):6c,00,73,00,\  <- REG_MULTI_SZ as UTF-16LE bytes, double-NUL terminated,
//!   31,00,00,00,00,00                              wrapped at 80 columns with `\`
//! "Raw"=hex:01,02                               <- REG_BINARY; hex(2): REG_EXPAND_SZ; hex(b): REG_QWORD;
//!                                                  hex(N): any type N
//! "Gone"=-                                      <- delete the value (merge files)
//! [-HKEY_LOCAL_MACHINE\SOFTWARE\Old]            <- delete the key and its subkeys
//! ```
//!
//! Parsing is pure (bytes in, values out) and total: every input gives a [`RegFile`] or a [`RegFileError`] with
//! the line number; nothing panics (fuzzed by `fuzz/fuzz_targets/regfile.rs`). A string value whose bytes are not
//! valid UTF-16 is kept as [`RegValue::Other`] with its bytes rather than dropped.

use crate::winreg::{MemoryRegistry, RegValue};

/// Which header the file starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegFileVersion {
    /// `Windows Registry Editor Version 5.00` (strings in hex values are UTF-16LE).
    V5,
    /// `REGEDIT4` (strings in hex values are 8-bit).
    Regedit4,
}

/// One operation of a `.reg` file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegOp {
    /// `[KEY]`: the key exists (values follow).
    CreateKey {
        /// Path as written (`HKEY_LOCAL_MACHINE\...`).
        key: String,
    },
    /// `[-KEY]`: the key and its subkeys are deleted.
    DeleteKey {
        /// Path as written.
        key: String,
    },
    /// `"Name"=data` under the current key (`@` is the default value, name "").
    SetValue {
        /// Key path as written.
        key: String,
        /// Value name ("" for `@`).
        name: String,
        /// The value.
        value: RegValue,
    },
    /// `"Name"=-`.
    DeleteValue {
        /// Key path as written.
        key: String,
        /// Value name.
        name: String,
    },
}

/// A parsed `.reg` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegFile {
    /// The header.
    pub version: RegFileVersion,
    /// The operations, in file order.
    pub ops: Vec<RegOp>,
}

/// Why a `.reg` file could not be read; `line` is 1-based (the first line of a value wrapped with `\`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct RegFileError {
    /// Line number, from 1.
    pub line: usize,
    /// What is wrong.
    pub kind: RegFileErrorKind,
}

/// What is wrong in a `.reg` file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegFileErrorKind {
    /// UTF-16LE text (byte-order mark FF FE) with an odd number of bytes.
    #[error("UTF-16 text with an odd number of bytes")]
    OddUtf16Length,
    /// An unpaired UTF-16 surrogate.
    #[error("invalid UTF-16 (unpaired surrogate)")]
    InvalidUtf16,
    /// 8-bit text that is not UTF-8.
    #[error("not UTF-8 text (reg export writes UTF-16LE with a byte-order mark)")]
    InvalidUtf8,
    /// The first line is neither header.
    #[error("not a registry file: the first line must be \"Windows Registry Editor Version 5.00\" or \"REGEDIT4\"")]
    MissingHeader,
    /// A `[` line without its `]`, or an empty key path.
    #[error("bad key line (expected [KEY] or [-KEY])")]
    BadKeyLine,
    /// A value before any `[KEY]` line.
    #[error("value outside of a key")]
    ValueOutsideKey,
    /// A line that is neither a key, a value, a comment nor blank.
    #[error("unrecognised line (expected \"Name\"=data or @=data)")]
    BadLine,
    /// A quoted name or string without its closing quote, or text after it.
    #[error("unterminated or malformed quoted string")]
    BadString,
    /// `dword:` not followed by 1 to 8 hex digits.
    #[error("bad dword (expected dword:XXXXXXXX)")]
    BadDword,
    /// `hex:` / `hex(N):` data that is not comma-separated two-digit hex bytes, or a bad type number.
    #[error("bad hex data (expected comma-separated bytes such as 0a,00)")]
    BadHex,
    /// The data after `=` is of no known form.
    #[error("unknown value data (expected \"string\", dword:, hex:, hex(N): or -)")]
    BadData,
    /// The file (or the value, with a blank line) ends after a `\` continuation.
    #[error("a value continued with \\ has no continuation line")]
    UnterminatedContinuation,
}

impl RegFile {
    /// Parses a `.reg` file: UTF-16LE with a byte-order mark (as `reg export` writes it), or 8-bit text (UTF-8,
    /// with or without a byte-order mark).
    pub fn parse(bytes: &[u8]) -> Result<Self, RegFileError> {
        let text = decode_text(bytes)?;
        parse_text(&text)
    }

    /// Applies the operations to `registry`, in order (several files merge as `reg import` would).
    pub fn apply_to(&self, registry: &mut MemoryRegistry) {
        for op in &self.ops {
            match op {
                RegOp::CreateKey { key } => registry.create_key(key),
                RegOp::DeleteKey { key } => registry.remove_key(key),
                RegOp::SetValue { key, name, value } => registry.set(key, name, value.clone()),
                RegOp::DeleteValue { key, name } => registry.remove_value(key, name),
            }
        }
    }

    /// The file's contents as a registry.
    pub fn to_registry(&self) -> MemoryRegistry {
        let mut registry = MemoryRegistry::new();
        self.apply_to(&mut registry);
        registry
    }
}

fn error(line: usize, kind: RegFileErrorKind) -> RegFileError {
    RegFileError { line, kind }
}

/// Line number (1-based) of the UTF-16 code unit at `index`.
fn line_of_unit(units: &[u16], index: usize) -> usize {
    units.iter().take(index).filter(|u| **u == u16::from(b'\n')).count() + 1
}

fn decode_text(bytes: &[u8]) -> Result<String, RegFileError> {
    if let Some(body) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        if body.len() % 2 != 0 {
            let units: Vec<u16> = body.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
            return Err(error(line_of_unit(&units, units.len()), RegFileErrorKind::OddUtf16Length));
        }
        let units: Vec<u16> = body.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        let mut text = String::with_capacity(units.len());
        for (index, decoded) in char::decode_utf16(units.iter().copied()).enumerate() {
            match decoded {
                Ok(c) => text.push(c),
                Err(_) => return Err(error(line_of_unit(&units, index), RegFileErrorKind::InvalidUtf16)),
            }
        }
        return Ok(text);
    }
    let body = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    match std::str::from_utf8(body) {
        Ok(text) => Ok(text.to_owned()),
        Err(e) => {
            let line = body.iter().take(e.valid_up_to()).filter(|b| **b == b'\n').count() + 1;
            Err(error(line, RegFileErrorKind::InvalidUtf8))
        }
    }
}

fn parse_text(text: &str) -> Result<RegFile, RegFileError> {
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).enumerate().map(|(i, l)| (i + 1, l));
    // Header: the first non-blank line.
    let version = loop {
        match lines.next() {
            None => return Err(error(1, RegFileErrorKind::MissingHeader)),
            Some((_, line)) if line.trim().is_empty() => continue,
            Some((n, line)) => {
                break match line.trim() {
                    "Windows Registry Editor Version 5.00" => RegFileVersion::V5,
                    "REGEDIT4" => RegFileVersion::Regedit4,
                    _ => return Err(error(n, RegFileErrorKind::MissingHeader)),
                }
            }
        }
    };
    let mut ops = Vec::new();
    let mut current: Option<String> = None;
    while let Some((number, line)) = lines.next() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with(';') {
            continue;
        }
        if let Some(inner) = trimmed.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or(error(number, RegFileErrorKind::BadKeyLine))?;
            let (delete, path) = match inner.strip_prefix('-') {
                Some(path) => (true, path),
                None => (false, inner),
            };
            let path = path.trim().trim_end_matches('\\');
            if path.is_empty() {
                return Err(error(number, RegFileErrorKind::BadKeyLine));
            }
            if delete {
                ops.push(RegOp::DeleteKey { key: path.to_owned() });
                current = None;
            } else {
                ops.push(RegOp::CreateKey { key: path.to_owned() });
                current = Some(path.to_owned());
            }
            continue;
        }
        // A value: "Name"=data or @=data, the data possibly continued with `\` on the next lines.
        let (name, data) = split_value_line(trimmed).map_err(|kind| error(number, kind))?;
        let key = current.clone().ok_or(error(number, RegFileErrorKind::ValueOutsideKey))?;
        let mut data = data.trim_start().to_owned();
        if data.starts_with("hex") {
            while data.trim_end().ends_with('\\') {
                let kept = data.trim_end();
                data = kept.get(..kept.len().saturating_sub(1)).unwrap_or_default().to_owned();
                match lines.next() {
                    Some((_, next)) if !next.trim().is_empty() => data.push_str(next.trim()),
                    _ => return Err(error(number, RegFileErrorKind::UnterminatedContinuation)),
                }
            }
        }
        let op = match data.trim_end() {
            "-" => RegOp::DeleteValue { key, name },
            data => RegOp::SetValue { key, name, value: parse_data(data, version).map_err(|kind| error(number, kind))? },
        };
        ops.push(op);
    }
    Ok(RegFile { version, ops })
}

/// `"Name"=rest` or `@=rest`: the unescaped name and the text after `=`.
fn split_value_line(line: &str) -> Result<(String, &str), RegFileErrorKind> {
    if let Some(rest) = line.strip_prefix('@') {
        let rest = rest.trim_start().strip_prefix('=').ok_or(RegFileErrorKind::BadLine)?;
        return Ok((String::new(), rest));
    }
    if !line.starts_with('"') {
        return Err(RegFileErrorKind::BadLine);
    }
    let (name, rest) = read_quoted(line)?;
    let rest = rest.trim_start().strip_prefix('=').ok_or(RegFileErrorKind::BadLine)?;
    Ok((name, rest))
}

/// Reads `"..."` at the start of `text` (with `\\` and `\"` escapes; another `\x` is kept as written, as regedit
/// does); the string and what follows the closing quote.
fn read_quoted(text: &str) -> Result<(String, &str), RegFileErrorKind> {
    let body = text.strip_prefix('"').ok_or(RegFileErrorKind::BadString)?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            '"' => return Ok((out, body.get(index + 1..).unwrap_or_default())),
            '\\' => match chars.next() {
                Some((_, escaped @ ('\\' | '"'))) => out.push(escaped),
                Some((_, other)) => {
                    out.push('\\');
                    out.push(other);
                }
                None => return Err(RegFileErrorKind::BadString),
            },
            other => out.push(other),
        }
    }
    Err(RegFileErrorKind::BadString)
}

fn parse_data(data: &str, version: RegFileVersion) -> Result<RegValue, RegFileErrorKind> {
    if data.starts_with('"') {
        let (text, rest) = read_quoted(data)?;
        if !rest.trim().is_empty() {
            return Err(RegFileErrorKind::BadString);
        }
        return Ok(RegValue::Sz(text));
    }
    let lower = data.to_ascii_lowercase();
    if let Some(digits) = lower.strip_prefix("dword:") {
        let digits = digits.trim();
        if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(RegFileErrorKind::BadDword);
        }
        return u32::from_str_radix(digits, 16).map(RegValue::Dword).map_err(|_| RegFileErrorKind::BadDword);
    }
    if let Some(bytes) = lower.strip_prefix("hex:") {
        return Ok(RegValue::Binary(parse_hex_bytes(bytes)?));
    }
    if let Some(rest) = lower.strip_prefix("hex(") {
        let (kind, bytes) = rest.split_once("):").ok_or(RegFileErrorKind::BadHex)?;
        let kind = kind.trim();
        if kind.is_empty() || kind.len() > 8 || !kind.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(RegFileErrorKind::BadHex);
        }
        let kind = u32::from_str_radix(kind, 16).map_err(|_| RegFileErrorKind::BadHex)?;
        return Ok(typed_value(kind, parse_hex_bytes(bytes)?, version));
    }
    Err(RegFileErrorKind::BadData)
}

fn parse_hex_bytes(text: &str) -> Result<Vec<u8>, RegFileErrorKind> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|byte| {
            let byte = byte.trim();
            if byte.is_empty() || byte.len() > 2 {
                return Err(RegFileErrorKind::BadHex);
            }
            u8::from_str_radix(byte, 16).map_err(|_| RegFileErrorKind::BadHex)
        })
        .collect()
}

/// A typed value from its `REG_*` number and bytes; bytes that do not decode as the type stay [`RegValue::Other`].
fn typed_value(kind: u32, data: Vec<u8>, version: RegFileVersion) -> RegValue {
    let decoded = match kind {
        RegValue::REG_SZ => strings(&data, version).map(|mut s| RegValue::Sz(first_string(&mut s))),
        RegValue::REG_EXPAND_SZ => strings(&data, version).map(|mut s| RegValue::ExpandSz(first_string(&mut s))),
        RegValue::REG_BINARY => Some(RegValue::Binary(data.clone())),
        RegValue::REG_DWORD => <[u8; 4]>::try_from(data.as_slice()).ok().map(|b| RegValue::Dword(u32::from_le_bytes(b))),
        RegValue::REG_MULTI_SZ => strings(&data, version).map(|list| {
            // Windows reads a multi-string up to its first empty string (the double NUL).
            RegValue::MultiSz(list.into_iter().take_while(|s| !s.is_empty()).collect())
        }),
        RegValue::REG_QWORD => <[u8; 8]>::try_from(data.as_slice()).ok().map(|b| RegValue::Qword(u64::from_le_bytes(b))),
        _ => None,
    };
    decoded.unwrap_or(RegValue::Other { kind, data })
}

fn first_string(list: &mut Vec<String>) -> String {
    if list.is_empty() {
        String::new()
    } else {
        list.swap_remove(0)
    }
}

/// The NUL-separated strings of string data (UTF-16LE in version 5 files, 8-bit in REGEDIT4 ones); `None` when the
/// bytes are not text of that form.
fn strings(data: &[u8], version: RegFileVersion) -> Option<Vec<String>> {
    let text = match version {
        RegFileVersion::V5 => {
            let pairs = data.chunks_exact(2);
            if !pairs.remainder().is_empty() {
                return None;
            }
            let units = pairs.map(|c| u16::from_le_bytes([c[0], c[1]]));
            char::decode_utf16(units).collect::<Result<String, _>>().ok()?
        }
        RegFileVersion::Regedit4 => match std::str::from_utf8(data) {
            Ok(text) => text.to_owned(),
            Err(_) => data.iter().copied().map(char::from).collect(),
        },
    };
    let text = text.strip_suffix('\0').unwrap_or(&text);
    if text.is_empty() {
        return Some(Vec::new());
    }
    Some(text.split('\0').map(str::to_owned).collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::winreg::RegistryView as _;

    fn utf16(text: &str) -> Vec<u8> {
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        bytes
    }

    #[test]
    fn values_of_every_form() {
        let text = "Windows Registry Editor Version 5.00\r\n\r\n\
            [HKEY_LOCAL_MACHINE\\SOFTWARE\\Test]\r\n\
            @=\"default\"\r\n\
            \"Str\"=\"a \\\"quoted\\\" C:\\\\path\"\r\n\
            \"Dw\"=dword:0000000a\r\n\
            \"Multi\"=hex(7):6c,00,73,00,31,00,00,00,6c,00,\\\r\n  73,00,32,00,00,00,00,00\r\n\
            \"Exp\"=hex(2):25,00,53,00,25,00,00,00\r\n\
            \"Bin\"=hex:01,ff\r\n\
            \"Q\"=hex(b):01,00,00,00,00,00,00,00\r\n\
            \"Odd\"=hex(7):41\r\n\
            \"Custom\"=hex(100000):01\r\n";
        let file = RegFile::parse(&utf16(text)).unwrap();
        assert_eq!(file.version, RegFileVersion::V5);
        let reg = file.to_registry();
        let key = r"HKLM\SOFTWARE\Test";
        assert_eq!(reg.value(key, ""), Some(RegValue::Sz("default".into())));
        assert_eq!(reg.value(key, "str"), Some(RegValue::Sz(r#"a "quoted" C:\path"#.into())));
        assert_eq!(reg.value(key, "Dw"), Some(RegValue::Dword(10)));
        assert_eq!(reg.value(key, "Multi"), Some(RegValue::MultiSz(vec!["ls1".into(), "ls2".into()])));
        assert_eq!(reg.value(key, "Exp"), Some(RegValue::ExpandSz("%S%".into())));
        assert_eq!(reg.value(key, "Bin"), Some(RegValue::Binary(vec![1, 0xff])));
        assert_eq!(reg.value(key, "Q"), Some(RegValue::Qword(1)));
        assert_eq!(reg.value(key, "Odd"), Some(RegValue::Other { kind: 7, data: vec![0x41] }));
        assert_eq!(reg.value(key, "Custom"), Some(RegValue::Other { kind: 0x100000, data: vec![1] }));
    }

    #[test]
    fn deletions_and_several_files_merge_in_order() {
        let first = RegFile::parse(
            b"REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\A]\n\"x\"=dword:1\n\"y\"=\"keep\"\n[HKEY_LOCAL_MACHINE\\A\\B]\n\"z\"=hex(7):61,00,62,00,00\n",
        )
        .unwrap();
        assert_eq!(first.version, RegFileVersion::Regedit4);
        let second = RegFile::parse(b"\xEF\xBB\xBFREGEDIT4\r\n[-HKEY_LOCAL_MACHINE\\A\\B]\r\n[HKEY_LOCAL_MACHINE\\A]\r\n\"x\"=-\r\n").unwrap();
        let mut reg = MemoryRegistry::new();
        first.apply_to(&mut reg);
        assert_eq!(reg.value(r"HKLM\A\B", "z"), Some(RegValue::MultiSz(vec!["a".into(), "b".into()])));
        second.apply_to(&mut reg);
        assert_eq!(reg.value(r"HKLM\A", "x"), None);
        assert_eq!(reg.value(r"HKLM\A", "y"), Some(RegValue::Sz("keep".into())));
        assert!(!reg.key_exists(r"HKLM\A\B"));
        assert!(reg.key_exists(r"HKLM\A"));
    }

    #[test]
    fn malformed_input_is_an_error_with_its_line() {
        let cases: [(&[u8], usize, RegFileErrorKind); 12] = [
            (b"", 1, RegFileErrorKind::MissingHeader),
            (b"\n\nhello\n", 3, RegFileErrorKind::MissingHeader),
            (b"REGEDIT4\n\"a\"=dword:1\n", 2, RegFileErrorKind::ValueOutsideKey),
            (b"REGEDIT4\n[HKEY_LOCAL_MACHINE\\A\n", 2, RegFileErrorKind::BadKeyLine),
            (b"REGEDIT4\n[]\n", 2, RegFileErrorKind::BadKeyLine),
            (b"REGEDIT4\n[HKEY_LOCAL_MACHINE\\A]\n\n\"a\"=dword:123456789\n", 4, RegFileErrorKind::BadDword),
            (b"REGEDIT4\n[HKEY_LOCAL_MACHINE\\A]\n\"a\"=hex:1,zz\n", 3, RegFileErrorKind::BadHex),
            (b"REGEDIT4\n[HKEY_LOCAL_MACHINE\\A]\n\"a\"=hex:01,\\\n", 3, RegFileErrorKind::UnterminatedContinuation),
            (b"REGEDIT4\n[HKEY_LOCAL_MACHINE\\A]\n\"a=1\n", 3, RegFileErrorKind::BadString),
            (b"REGEDIT4\n[HKEY_LOCAL_MACHINE\\A]\n\"a\"=\"x\" y\n", 3, RegFileErrorKind::BadString),
            (b"REGEDIT4\n[HKEY_LOCAL_MACHINE\\A]\nplain\n", 3, RegFileErrorKind::BadLine),
            (b"REGEDIT4\n[HKEY_LOCAL_MACHINE\\A]\n\"a\"=word:1\n", 3, RegFileErrorKind::BadData),
        ];
        for (input, line, kind) in cases {
            assert_eq!(RegFile::parse(input), Err(RegFileError { line, kind }), "{:?}", String::from_utf8_lossy(input));
        }
        assert_eq!(RegFile::parse(b"REGEDIT4\n\xff\n").unwrap_err(), RegFileError { line: 2, kind: RegFileErrorKind::InvalidUtf8 });
        let mut odd = utf16("Windows Registry Editor Version 5.00\r\n");
        odd.push(0);
        assert_eq!(RegFile::parse(&odd).unwrap_err(), RegFileError { line: 2, kind: RegFileErrorKind::OddUtf16Length });
        let mut surrogate = utf16("Windows Registry Editor Version 5.00\r\n\r\n");
        surrogate.extend([0x00, 0xD8, 0x41, 0x00]);
        assert_eq!(RegFile::parse(&surrogate).unwrap_err(), RegFileError { line: 3, kind: RegFileErrorKind::InvalidUtf16 });
        assert_eq!(
            RegFile::parse(b"x").unwrap_err().to_string(),
            "line 1: not a registry file: the first line must be \"Windows Registry Editor Version 5.00\" or \"REGEDIT4\""
        );
    }
}
