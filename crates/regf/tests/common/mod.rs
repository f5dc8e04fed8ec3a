//! Shared by the regf test suites: the real hives of `tests/data` (xz, decompressed in memory), a temporary
//! directory, the dump format that the peers' dumpers print, and how the peers (hivex, regipy) are found.
//!
//! Without a peer a test prints a skip note and returns, or fails when `RDLIC_REQUIRE_PEERS=1` (scripts/test).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

pub mod regipy;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The decompressed bytes of `tests/data/NAME.xz` (decompressed once per test binary).
pub fn hive(name: &str) -> Vec<u8> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    type Slots = Mutex<HashMap<String, Arc<OnceLock<Vec<u8>>>>>;
    static CACHE: OnceLock<Slots> = OnceLock::new();
    let slot = CACHE.get_or_init(Default::default).lock().unwrap().entry(name.to_owned()).or_default().clone();
    slot.get_or_init(|| decompress(name)).clone()
}

fn decompress(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(format!("{name}.xz"));
    let xz = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    lzma_rs::xz_decompress(&mut xz.as_slice(), &mut out).unwrap();
    out
}

/// A fresh directory under the system's temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "regf-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            '\u{8}' => o.push_str("\\b"),
            '\u{c}' => o.push_str("\\f"),
            c if u32::from(c) < 0x20 => o.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// regf's dump of a hive (from the key `start` down), in the format of `tests/peers/hivex_dump.py`.
pub fn regf_dump(bytes: &[u8], start: &str) -> String {
    let hive = regf::Hive::parse(bytes).unwrap();
    let key = hive.key(start).unwrap().unwrap_or_else(|| panic!("no key {start}"));
    let mut out = String::new();
    dump_from(&key, start, &mut out);
    out
}

fn dump_from(key: &regf::Key<'_>, path: &str, out: &mut String) {
    out.push_str(&format!("[{path}]\n"));
    for v in key.values().unwrap() {
        let v = v.unwrap();
        let hex: String = v.data().unwrap().iter().map(|b| format!("{b:02x}")).collect();
        out.push_str(&format!("{} {} {hex}\n", json_str(&v.name()), v.kind()));
    }
    for k in key.subkeys().unwrap() {
        let k = k.unwrap();
        let p = if path.is_empty() { k.name() } else { format!("{path}\\{}", k.name()) };
        dump_from(&k, &p, out);
    }
}

fn require_peers() -> bool {
    std::env::var("RDLIC_REQUIRE_PEERS").as_deref() == Ok("1")
}

/// Says that a peer is missing: panics under `RDLIC_REQUIRE_PEERS=1`, else prints a skip note.
pub fn missing(what: &str) {
    if require_peers() {
        panic!("RDLIC_REQUIRE_PEERS=1 but {what} is missing: run scripts/test");
    }
    eprintln!("skip: {what} is missing (set RDLIC_REQUIRE_PEERS=1 to fail instead)");
}

fn works(cmd: &mut Command) -> bool {
    cmd.output().map(|o| o.status.success()).unwrap_or(false)
}

/// Whether the program can be started at all (hivex's tools exit non-zero on `--help`).
fn exists(program: &str) -> bool {
    Command::new(program).arg("--help").output().is_ok()
}

/// The Python that has hivex's bindings (Debian python3-hivex), if any.
pub fn hivex_python() -> Option<&'static str> {
    let py = "/usr/bin/python3";
    if works(Command::new(py).args(["-c", "import hivex"])) && exists("hivexget") {
        Some(py)
    } else {
        missing("hivex (apt-get install libhivex-bin libwin-hivex-perl python3-hivex)");
        None
    }
}

/// Whether `hivexregedit` (libwin-hivex-perl) and `hivexsh` run.
pub fn hivex_tools() -> bool {
    let ok = exists("hivexregedit") && exists("hivexsh");
    if !ok {
        missing("hivexregedit / hivexsh (apt-get install libhivex-bin libwin-hivex-perl)");
    }
    ok
}

/// The Python of the virtual environment that holds regipy: `RDLIC_REGIPY_PYTHON` (scripts/test exports it), or
/// the workspace's `.venv-test`.
pub fn regipy_python() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("RDLIC_REGIPY_PYTHON").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv-test/bin/python")),
    ];
    for c in candidates.into_iter().flatten() {
        if works(Command::new(&c).args(["-c", "import regipy"])) {
            return Some(c);
        }
    }
    missing("regipy (scripts/test installs it in .venv-test and exports RDLIC_REGIPY_PYTHON)");
    None
}

pub fn peer_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers").join(name)
}

/// Runs a command, panics with its stderr when it fails, returns its stdout.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// hivex's dump of the hive file at `path` (from `start` down).
pub fn hivex_dump(py: &str, path: &Path, start: &str) -> String {
    run(Command::new(py).arg(peer_script("hivex_dump.py")).arg(path).arg(start))
}

/// `hivexget HIVE KEY VALUE`: hivex's printed form of one value (strings as text, numbers in decimal, one line per
/// string of a REG_MULTI_SZ), or `None` when hivexget fails (absent key or value).
pub fn hivexget(path: &Path, key: &str, name: &str) -> Option<String> {
    let name = if name.is_empty() { "@" } else { name };
    let out = Command::new("hivexget").arg(path).arg(key).arg(name).output().unwrap();
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The form in which `hivexget` prints a value.
pub fn hivexget_form(v: &regf::RegValue) -> String {
    use regf::RegValue as V;
    match v {
        V::Sz(s) | V::ExpandSz(s) => format!("{s}\n"),
        V::Dword(n) => format!("{n}\n"),
        V::Qword(n) => format!("{n}\n"),
        // hivexget also prints the empty string that ends the list.
        V::MultiSz(list) => list.iter().map(|s| format!("{s}\n")).chain(["\n".to_owned()]).collect(),
        other => format!("{other:?}"),
    }
}
