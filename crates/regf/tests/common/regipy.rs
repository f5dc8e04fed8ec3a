//! regipy's reading of values, as the regf tests compare it: regipy decodes each type its own way (strings with
//! trailing NULs stripped, REG_MULTI_SZ without empty strings), so regf's raw data is put in that form first.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{json, Value as Json};

/// regipy's name of a `REG_*` number, for the types whose decoding is compared.
pub fn type_name(kind: u32) -> Option<&'static str> {
    Some(match kind {
        0 => "REG_NONE",
        1 => "REG_SZ",
        2 => "REG_EXPAND_SZ",
        3 => "REG_BINARY",
        4 => "REG_DWORD",
        7 => "REG_MULTI_SZ",
        11 => "REG_QWORD",
        _ => return None,
    })
}

/// The value as regipy prints it, or `None` for a value whose regipy form is not compared (another type, a string
/// that is not valid UTF-16, where regipy falls back to other decodings).
pub fn regipy_form(kind: u32, data: &[u8]) -> Option<(String, Json)> {
    let name = type_name(kind)?.to_owned();
    let units = || -> Option<Vec<u16>> {
        data.len().is_multiple_of(2).then(|| data.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect())
    };
    let v = match kind {
        1 | 2 => {
            let s = String::from_utf16(&units()?).ok()?;
            json!({ "s": s.trim_end_matches('\0') })
        }
        4 if data.len() == 4 => json!({ "n": u32::from_le_bytes([data[0], data[1], data[2], data[3]]) }),
        11 if data.len() == 8 => {
            let mut a = [0u8; 8];
            a.copy_from_slice(data);
            json!({ "n": u64::from_le_bytes(a) })
        }
        7 => {
            let u = units()?;
            let mut parts: Vec<&[u16]> = u.split(|&c| c == 0).collect();
            // The last piece has no terminator (empty when the data ends with one): regipy drops it.
            parts.pop();
            let list: Vec<String> =
                parts.into_iter().filter(|p| !p.is_empty()).map(String::from_utf16).collect::<Result<_, _>>().ok()?;
            json!({ "m": list })
        }
        0 | 3 => json!({ "b": data.iter().map(|b| format!("{b:02x}")).collect::<String>() }),
        _ => return None,
    };
    Some((name, v))
}

/// `regipy_dump.py dump`: (key, name) → (type, value) for every value of `start` and below.
pub fn regipy_subtree(py: &Path, hive: &Path, start: &str) -> Vec<(String, String, String, Json)> {
    let out = super::run(Command::new(py).arg(super::peer_script("regipy_dump.py")).args([
        Path::new("dump"),
        hive,
        Path::new(start),
    ]));
    out.lines()
        .map(|l| {
            let j: Json = serde_json::from_str(l).unwrap();
            (
                j["key"].as_str().unwrap().to_owned(),
                j["name"].as_str().unwrap().to_owned(),
                j["type"].as_str().unwrap().to_owned(),
                j["value"].clone(),
            )
        })
        .collect()
}

/// `regipy_dump.py keys`: the key paths from `start` down.
pub fn regipy_keys(py: &Path, hive: &Path, start: &str) -> Vec<String> {
    let out = super::run(Command::new(py).arg(super::peer_script("regipy_dump.py")).args([
        Path::new("keys"),
        hive,
        Path::new(start),
    ]));
    out.lines().map(str::to_owned).collect()
}

/// `regipy_dump.py get`: for each (key, name), regipy's (type, value) or `None`.
pub fn regipy_get(py: &Path, hive: &Path, pairs: &[(String, String)]) -> Vec<Option<(String, Json)>> {
    use std::io::Write;
    let mut child = Command::new(py)
        .arg(super::peer_script("regipy_dump.py"))
        .arg("get")
        .arg(hive)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = serde_json::to_vec(&pairs.iter().map(|(k, n)| json!([k, n])).collect::<Vec<_>>()).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "regipy get: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let j: Json = serde_json::from_str(l).unwrap();
            if j.is_null() {
                None
            } else {
                Some((j[0].as_str().unwrap().to_owned(), j[1].clone()))
            }
        })
        .collect()
}
