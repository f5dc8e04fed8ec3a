#![no_main]
// Any bytes that parse as a clean hive: apply rdlic's edits (create a key path, set values of every size class,
// replace one, delete one). An edit that succeeds must read back, and the result must still parse.
use regf::RegValue;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(mut h) = regf::Hive::parse(data.to_vec()) else { return };
    let key = r"ControlSet001\Services\TermService\Parameters\LicenseServers";
    if h.create_key(key, 1).is_err() {
        return;
    }
    let values = [
        ("LicensingMode", RegValue::Dword(4)),
        ("SpecifiedLicenseServers", RegValue::MultiSz(vec!["ls1.contoso.com".into(), "ls2".into()])),
        ("", RegValue::Sz("x".repeat(usize::from(data.first().copied().unwrap_or(0)) * 8))),
        ("LicensingMode", RegValue::Binary(vec![1, 2, 3])),
    ];
    for (name, v) in &values {
        if h.set_value(key, name, v, 2).is_ok() {
            assert_eq!(h.value(key, name).ok().flatten().as_ref(), Some(v));
        }
    }
    let _ = h.delete_value(key, "", 3);
    let bytes = h.into_bytes();
    if let Ok(h) = regf::Hive::parse(bytes.as_slice()) {
        let _ = h.walk(|_, _| Ok(()));
    }
});
