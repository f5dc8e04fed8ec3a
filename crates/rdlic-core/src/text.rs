//! The armored line format shared by key pack and activation files:
//!
//! ```text
//! -----BEGIN RDLIC KEY PACK-----
//! key: value
//! ...
//! -----END RDLIC KEY PACK-----
//! ```
//!
//! Fields are written in a fixed order; on reading, order does not matter but every field must appear exactly once
//! and no unknown field is accepted (a file is signed data: silently ignoring a field would hide tampering).

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TextError {
    MissingArmor(&'static str),
    BadLine(usize),
    Duplicate(String),
    Unknown(String),
    Missing(&'static str),
}

impl core::fmt::Display for TextError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::MissingArmor(label) => {
                write!(f, "no -----BEGIN {label}----- / -----END {label}----- block")
            }
            Self::BadLine(n) => write!(f, "line {n} is not `name: value`"),
            Self::Duplicate(k) => write!(f, "field {k:?} appears twice"),
            Self::Unknown(k) => write!(f, "unknown field {k:?}"),
            Self::Missing(k) => write!(f, "field {k:?} is missing"),
        }
    }
}

pub(crate) fn write_armored(label: &str, fields: &[(&str, String)]) -> String {
    let mut out = format!("-----BEGIN {label}-----\n");
    for (k, v) in fields {
        out.push_str(k);
        out.push_str(": ");
        out.push_str(v);
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Reads the first block with `label`; `allowed` lists every field name the caller understands.
pub(crate) fn read_armored(
    label: &'static str,
    input: &str,
    allowed: &[&'static str],
) -> Result<Fields, TextError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut lines = input.lines().enumerate().map(|(i, l)| (i + 1, l.trim()));
    lines
        .by_ref()
        .find(|(_, l)| *l == begin)
        .ok_or(TextError::MissingArmor(label))?;
    let mut map = BTreeMap::new();
    let mut closed = false;
    for (n, line) in lines {
        if line == end {
            closed = true;
            break;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line.split_once(':').ok_or(TextError::BadLine(n))?;
        let k = k.trim();
        if !allowed.contains(&k) {
            return Err(TextError::Unknown(k.to_owned()));
        }
        if map.insert(k.to_owned(), v.trim().to_owned()).is_some() {
            return Err(TextError::Duplicate(k.to_owned()));
        }
    }
    if !closed {
        return Err(TextError::MissingArmor(label));
    }
    Ok(Fields(map))
}

#[derive(Debug)]
pub(crate) struct Fields(BTreeMap<String, String>);

impl Fields {
    pub(crate) fn get(&self, k: &'static str) -> Result<&str, TextError> {
        self.0.get(k).map(String::as_str).ok_or(TextError::Missing(k))
    }
}
