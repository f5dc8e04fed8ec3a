//! Generates `keys.rs`: one `Key` constant per message of the English `cli` and `diag` catalogues, so that code
//! naming a message that does not exist fails to compile (`keys::GRACE_RUNNING` for `grace-running`).
//!
//! The `help` domain (clap about/help texts) has no constants: its keys are derived at run time from the command
//! path and argument id, and a test of the binary checks that every help text has one.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
    println!("cargo:rerun-if-changed=locales");
    let mut consts: BTreeMap<String, String> = BTreeMap::new();
    for domain in ["cli", "diag"] {
        let path = dir.join("en").join(format!("{domain}.ftl"));
        println!("cargo:rerun-if-changed={}", path.display());
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
            let Some((key, _)) = line.split_once(" = ") else {
                continue;
            };
            let key = key.trim();
            let name: String = key
                .chars()
                .map(|c| if c == '-' { '_' } else { c.to_ascii_uppercase() })
                .collect();
            if let Some(other) = consts.insert(name.clone(), key.to_owned()) {
                assert!(
                    other == key,
                    "message keys {other:?} and {key:?} give the same constant {name}"
                );
            }
        }
    }
    let mut out = String::new();
    for (name, key) in &consts {
        let _ = writeln!(out, "/// `{key}`\npub const {name}: Key = Key(\"{key}\");");
    }
    let target = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("keys.rs");
    std::fs::write(&target, out).unwrap_or_else(|e| panic!("cannot write {}: {e}", target.display()));
}
