//! Editing real hives in place, checked by hivex (which refuses a bad header checksum and validates cells when it
//! opens a hive) and regipy: the new values read back, and a full dump before and after differs by exactly the
//! edits.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::{hive, regipy, TempDir};
use regf::{Created, Error, Hive, RegValue};

const NOW: u64 = 134_000_000_000_000_000;

/// A dump as key → value name → "type hex", to compare states regardless of list order.
type Model = BTreeMap<String, BTreeMap<String, String>>;

fn model(dump: &str) -> Model {
    let mut m = Model::new();
    let mut current = String::new();
    for line in dump.lines() {
        if let Some(k) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = k.to_owned();
            m.entry(current.clone()).or_default();
        } else {
            let (name, rest) = split_name(line);
            m.get_mut(&current).unwrap().insert(name, rest);
        }
    }
    m
}

/// `"name" type hex` → (name as JSON text, "type hex").
fn split_name(line: &str) -> (String, String) {
    let mut escaped = false;
    for (i, c) in line.char_indices().skip(1) {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return (line[..=i].to_owned(), line[i + 2..].to_owned()),
            _ => escaped = false,
        }
    }
    panic!("bad dump line {line}")
}

/// Panics with the keys where two states differ.
fn assert_same(got: &Model, want: &Model, what: &str) {
    if got == want {
        return;
    }
    let keys: std::collections::BTreeSet<&String> = got.keys().chain(want.keys()).collect();
    let diff: Vec<String> = keys
        .into_iter()
        .filter(|k| got.get(*k) != want.get(*k))
        .take(5)
        .map(|k| format!("{k}: got {:?}, want {:?}", got.get(k), want.get(k)))
        .collect();
    panic!("{what}: {}", diff.join("\n"));
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

fn set(m: &mut Model, key: &str, name: &str, v: &RegValue) {
    let (kind, data) = regf::encode_value(v);
    m.entry(key.to_owned()).or_default().insert(format!("\"{name}\""), format!("{kind} {}", hex(&data)));
}

fn assert_header_valid(bytes: &[u8]) {
    let h = Hive::parse(bytes).unwrap();
    let b = h.base_block();
    assert_eq!(b.primary_sequence, b.secondary_sequence);
    assert!(b.checksum_valid);
    assert_eq!(u32::from_le_bytes(bytes[0x1FC..0x200].try_into().unwrap()), regf::checksum(bytes));
    assert_eq!(bytes.len(), 4096 + usize::try_from(b.hive_bins_size).unwrap());
}

/// The subkeys list signature of a key ("lh", "lf", "li", "ri").
fn list_sig(bytes: &[u8], path: &str) -> String {
    let h = Hive::parse(bytes).unwrap();
    let cell = usize::try_from(h.key(path).unwrap().unwrap().cell()).unwrap();
    let at = 4096 + cell + 4 + 0x1C;
    let list = usize::try_from(u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())).unwrap();
    String::from_utf8_lossy(&bytes[4096 + list + 4..4096 + list + 6]).into_owned()
}

const LC: &str = r"ControlSet001\Control\Terminal Server\RCM\Licensing Core";
/// Spelt as in the SYSTEM sample, whose key is `services` (lookups ignore case; the dumps keep the stored case).
const LS: &str = r"ControlSet001\services\TermService\Parameters\LicenseServers";
const TS: &str = r"ControlSet001\Control\Terminal Server";
const CDB: &str = r"ControlSet001\Control\CriticalDeviceDatabase";
const CDB_NEW: &str = r"ControlSet001\Control\CriticalDeviceDatabase\rdlic-test Ünïcødé ключ";
const POLICY: &str = r"Policies\Microsoft\Windows NT\Terminal Services";

/// The edits of `rdlic offline fix`, plus ones that reach the writer's other paths (big data, a UTF-16 name, an
/// index root, a list that grows past its cell, a deleted value); `expected` follows them.
fn edit_system(h: &mut Hive<Vec<u8>>, expected: &mut Model) {
    let mode = RegValue::Dword(4);
    h.set_value(LC, "LicensingMode", &mode, NOW).unwrap();
    set(expected, LC, "LicensingMode", &mode);

    assert_eq!(h.create_key(LS, NOW).unwrap(), Created::Keys(1));
    assert_eq!(h.create_key(&LS.to_lowercase(), NOW).unwrap(), Created::Existed);
    expected.insert(LS.to_owned(), BTreeMap::new());
    let servers = RegValue::MultiSz(vec!["ls1.contoso.com".into(), "ls2.contoso.com".into()]);
    h.set_value(LS, "SpecifiedLicenseServers", &servers, NOW).unwrap();
    set(expected, LS, "SpecifiedLicenseServers", &servers);

    assert!(h.delete_value(TS, "TSAdvertise", NOW).unwrap());
    assert!(!h.delete_value(TS, "TSAdvertise", NOW).unwrap());
    expected.get_mut(TS).unwrap().remove("\"TSAdvertise\"");

    // CriticalDeviceDatabase has an index root (ri) as its subkeys list in this hive (2548 subkeys).
    let svc = r"ControlSet001\Control\CriticalDeviceDatabase\rdlic-test Ünïcødé ключ\Deep\Er";
    assert_eq!(h.create_key(svc, NOW).unwrap(), Created::Keys(3));
    for k in [CDB_NEW, &format!(r"{CDB_NEW}\Deep"), svc] {
        expected.insert(k.to_owned(), BTreeMap::new());
    }
    let big = RegValue::Binary((0..40_000u32).map(|i| u8::try_from(i % 251).unwrap()).collect());
    h.set_value(svc, "Big", &big, NOW).unwrap();
    set(expected, svc, "Big", &big);
    let text = RegValue::Sz("x".repeat(300));
    h.set_value(svc, "", &text, NOW).unwrap();
    set(expected, svc, "", &text);
    for i in 0..40 {
        let k = format!(r"{TS}\rdlic-{:02}", 39 - i);
        h.create_key(&k, NOW).unwrap();
        expected.insert(k, BTreeMap::new());
    }
    for i in 0..20 {
        let v = RegValue::Dword(i);
        h.set_value(TS, &format!("rdlic{i}"), &v, NOW).unwrap();
        set(expected, TS, &format!("rdlic{i}"), &v);
    }
    // Replacing a value with one of another size and type.
    let port = RegValue::Sz("not a port".into());
    let rdp = r"ControlSet001\Control\Terminal Server\WinStations\RDP-Tcp";
    h.set_value(rdp, "PortNumber", &port, NOW).unwrap();
    set(expected, rdp, "PortNumber", &port);
}

#[test]
fn system_edits_read_back_in_hivex_and_regipy_and_change_nothing_else() {
    let Some(py) = common::hivex_python() else { return };
    let Some(rpy) = common::regipy_python() else { return };
    let dir = TempDir::new("write-system");
    let before = hive("SYSTEM");
    assert_eq!(list_sig(&before, CDB), "ri");
    let before_path = dir.write("before", &before);
    let mut expected = model(&common::hivex_dump(py, &before_path, ""));

    let mut h = Hive::parse(before.clone()).unwrap();
    let seq = h.base_block().primary_sequence;
    edit_system(&mut h, &mut expected);
    assert!(h.base_block().primary_sequence > seq);
    let after = h.into_bytes();
    assert_header_valid(&after);
    let after_path = dir.write("after", &after);

    // hivex opens it (it checks the header checksum) and dumps exactly the expected state; regf agrees.
    let hx = common::hivex_dump(py, &after_path, "");
    assert_same(&model(&hx), &expected, "hivex's dump after the edits");
    assert_eq!(hx, common::regf_dump(&after, ""));
    assert_eq!(list_sig(&after, CDB), "ri");

    // hivexget and hivexsh read the new values.
    assert_eq!(common::hivexget(&after_path, LC, "LicensingMode").as_deref(), Some("4\n"));
    assert_eq!(
        common::hivexget(&after_path, LS, "SpecifiedLicenseServers").as_deref(),
        Some("ls1.contoso.com\nls2.contoso.com\n\n")
    );
    let cmds = std::fs::File::open(dir.write("cmds", format!("cd {LS}\nlsval\n").as_bytes())).unwrap();
    let sh = common::run(Command::new("hivexsh").arg(&after_path).stdin(cmds));
    assert!(sh.contains("\"SpecifiedLicenseServers\"=hex(7):"), "{sh}");

    // regipy reads them and sees the new keys.
    let got = regipy::regipy_get(
        &rpy,
        &after_path,
        &[(LC.into(), "LicensingMode".into()), (LS.into(), "SpecifiedLicenseServers".into())],
    );
    assert_eq!(got[0], Some(("REG_DWORD".into(), serde_json::json!({"n": 4}))));
    assert_eq!(got[1], Some(("REG_MULTI_SZ".into(), serde_json::json!({"m": ["ls1.contoso.com", "ls2.contoso.com"]}))));
    let keys = regipy::regipy_keys(&rpy, &after_path, r"ControlSet001\Services\TermService");
    assert!(keys.iter().any(|k| k.eq_ignore_ascii_case(LS)), "{keys:?}");
    let sub = regipy::regipy_subtree(&rpy, &after_path, CDB_NEW);
    assert_eq!(sub.len(), 2);
}

#[test]
fn software_policy_edits_on_a_fast_leaf_hive() {
    let Some(py) = common::hivex_python() else { return };
    let Some(rpy) = common::regipy_python() else { return };
    let dir = TempDir::new("write-software");
    let before = hive("SOFTWARE_partial");
    assert_eq!(list_sig(&before, "Policies"), "lf", "minor version 3 hive: fast leaves");
    let mut expected = model(&common::hivex_dump(py, &dir.write("before", &before), ""));
    let mut h = Hive::parse(before).unwrap();
    assert_eq!(h.create_key(POLICY, NOW).unwrap(), Created::Keys(2));
    for k in [r"Policies\Microsoft\Windows NT", POLICY] {
        expected.insert(k.to_owned(), BTreeMap::new());
    }
    let values = [
        ("LicensingMode", RegValue::Dword(4)),
        ("LicenseServers", RegValue::Sz("ls1.contoso.com,ls2.contoso.com".into())),
        ("fDenyTSConnections", RegValue::Dword(0)),
    ];
    for (n, v) in &values {
        h.set_value(POLICY, n, v, NOW).unwrap();
        set(&mut expected, POLICY, n, v);
    }
    let role = r"Microsoft\ServerManager\ServicingStorage\ServerComponentCache\RDS-RD-Server";
    h.create_key(role, NOW).unwrap();
    for k in [
        r"Microsoft\ServerManager",
        r"Microsoft\ServerManager\ServicingStorage",
        r"Microsoft\ServerManager\ServicingStorage\ServerComponentCache",
        role,
    ] {
        expected.insert(k.to_owned(), BTreeMap::new());
    }
    h.set_value(role, "InstallState", &RegValue::Dword(1), NOW).unwrap();
    set(&mut expected, role, "InstallState", &RegValue::Dword(1));
    let after = h.into_bytes();
    assert_header_valid(&after);
    let path = dir.write("after", &after);
    assert_same(&model(&common::hivex_dump(py, &path, "")), &expected, "hivex's dump after the edits");
    assert_eq!(common::hivexget(&path, POLICY, "LicensingMode").as_deref(), Some("4\n"));
    let got = regipy::regipy_get(&rpy, &path, &[(POLICY.into(), "LicenseServers".into()), (role.into(), "InstallState".into())]);
    assert_eq!(got[0], Some(("REG_SZ".into(), serde_json::json!({"s": "ls1.contoso.com,ls2.contoso.com"}))));
    assert_eq!(got[1], Some(("REG_DWORD".into(), serde_json::json!({"n": 1}))));
}

#[test]
fn new_keys_share_the_parent_security_descriptor() {
    let bytes = hive("SYSTEM");
    let sk_of = |b: &[u8], path: &str| -> (usize, u32) {
        let h = Hive::parse(b).unwrap();
        let cell = usize::try_from(h.key(path).unwrap().unwrap().cell()).unwrap();
        let at = 4096 + cell + 4 + 0x2C;
        let sk = usize::try_from(u32::from_le_bytes(b[at..at + 4].try_into().unwrap())).unwrap();
        let refs = 4096 + sk + 4 + 0xC;
        (sk, u32::from_le_bytes(b[refs..refs + 4].try_into().unwrap()))
    };
    let parent = r"ControlSet001\Services\TermService\Parameters";
    let (sk, refs) = sk_of(&bytes, parent);
    assert_eq!(&bytes[4096 + sk + 4..4096 + sk + 6], b"sk");
    let mut h = Hive::parse(bytes).unwrap();
    h.create_key(&format!(r"{parent}\LicenseServers\A"), NOW).unwrap();
    let after = h.into_bytes();
    assert_eq!(sk_of(&after, &format!(r"{parent}\LicenseServers")), (sk, refs + 2));
    assert_eq!(sk_of(&after, &format!(r"{parent}\LicenseServers\A")).0, sk);
}

#[test]
fn a_dirty_hive_is_refused_and_left_untouched() {
    let bytes = hive("SYSTEM_B");
    let mut h = Hive::parse(bytes.clone()).unwrap();
    let err = h.set_value(LC, "LicensingMode", &RegValue::Dword(4), NOW).unwrap_err();
    assert_eq!(err, Error::Dirty { primary: 1622, secondary: 1621, checksum: "valid" });
    assert!(matches!(h.create_key(LS, NOW), Err(Error::Dirty { .. })));
    assert!(matches!(h.delete_value(TS, "TSAdvertise", NOW), Err(Error::Dirty { .. })));
    assert!(h.into_bytes() == bytes);
}

#[test]
fn edits_of_missing_keys_and_bad_names_are_errors_that_change_nothing() {
    let bytes = hive("SOFTWARE_partial");
    let mut h = Hive::parse(bytes.clone()).unwrap();
    assert!(matches!(h.set_value(r"No\Such\Key", "x", &RegValue::Dword(1), NOW), Err(Error::KeyNotFound { .. })));
    assert!(matches!(h.create_key(&"x".repeat(256), NOW), Err(Error::InvalidName { .. })));
    assert!(!h.delete_value(r"No\Such\Key", "x", NOW).unwrap());
    assert!(h.into_bytes() == bytes);
}

#[test]
fn freed_cells_are_reused() {
    let mut h = Hive::parse(hive("SOFTWARE_partial")).unwrap();
    let key = r"Policies\Microsoft";
    h.set_value(key, "v", &RegValue::Binary(vec![7; 3000]), NOW).unwrap();
    h.set_value(key, "v", &RegValue::Binary(vec![8; 3000]), NOW).unwrap();
    let size = h.base_block().hive_bins_size;
    for i in 0..50u8 {
        h.set_value(key, "v", &RegValue::Binary(vec![i; 3000]), NOW).unwrap();
    }
    assert_eq!(h.base_block().hive_bins_size, size, "replacing a value reuses the cells it frees");
    assert_eq!(h.value(key, "v").unwrap(), Some(RegValue::Binary(vec![49; 3000])));
}
