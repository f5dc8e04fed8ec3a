//! Inputs that the fuzz targets (fuzz/fuzz_targets/regf_*.rs) once crashed on, replayed through the same steps.
//! A new crash: copy `fuzz/artifacts/<target>/crash-*` here as `<target>-<first 8 hex digits>`.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use regf::{Error, RegValue};

/// The regf_write target: edits on any hive that parses; an edit that succeeds must read back.
fn write_target(data: &[u8]) {
    let Ok(mut h) = regf::Hive::parse(data.to_vec()) else { return };
    let key = r"ControlSet001\Services\TermService\Parameters\LicenseServers";
    if h.create_key(key, 1).is_err() {
        return;
    }
    for (name, v) in [
        ("LicensingMode", RegValue::Dword(4)),
        ("SpecifiedLicenseServers", RegValue::MultiSz(vec!["ls1.contoso.com".into(), "ls2".into()])),
    ] {
        if h.set_value(key, name, &v, 2).is_ok() {
            assert_eq!(h.value(key, name).unwrap(), Some(v));
        }
    }
}

#[test]
fn fuzz_regressions() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz_regression");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let data = std::fs::read(&path).unwrap();
        if name.starts_with("regf_write-") {
            write_target(&data);
        } else if name.starts_with("regf_hive-") {
            if let Ok(h) = regf::Hive::parse(data.as_slice()) {
                let _ = h.walk(|_, k| {
                    for v in k.values()? {
                        v?.decode()?;
                    }
                    Ok(())
                });
            }
        }
        n += 1;
    }
    assert!(n > 0);
}

/// The first write crash: a damaged hive where cells in use sit in free space; the edit is refused.
#[test]
fn edits_refuse_a_hive_with_cells_in_free_space() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz_regression/regf_write-fbbda1f8");
    let data = std::fs::read(path).unwrap();
    let mut h = regf::Hive::parse(data.clone()).unwrap();
    let err = h.set_value("ControlSet001", "x", &RegValue::Dword(1), 1).unwrap_err();
    assert!(matches!(err, Error::Inconsistent { .. } | Error::BadCell { .. }), "{err:?}");
    assert!(h.into_bytes() == data);
}
