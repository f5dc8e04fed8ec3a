//! Reading real hives, checked against two independent readers: hivex (its Python bindings for full raw dumps,
//! `hivexget` for single values) and regipy.
#![allow(clippy::unwrap_used)]

mod common;

use common::{hive, regipy, TempDir};
use rdlic_core::winreg::{paths, RegistryView};
use regf::{Error, Hive, HiveFile, OfflineWindows, RegValue};

/// The SYSTEM samples; `SOFTWARE_partial` stands in for SOFTWARE (tests/data/README.md).
const SYSTEMS: [&str; 3] = ["SYSTEM", "SYSTEM_B", "SYSTEM_WIN_10_1709"];

/// Every value rdlic reads, as (reg.exe key, value name).
fn rdlic_values() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"HKLM\SYSTEM\Select", "Current"),
        (r"HKLM\SYSTEM\Select", "Default"),
        (r"HKLM\SYSTEM\Select", "LastKnownGood"),
        (r"HKLM\SYSTEM\Select", "Failed"),
        (paths::LICENSING_CORE, "LicensingMode"),
        (paths::TERMINAL_SERVER, "fDenyTSConnections"),
        (paths::RDP_TCP, "PortNumber"),
        (paths::SERVICE_TERMSERVICE, "Start"),
        (paths::SERVICE_SESSIONENV, "Start"),
        (paths::SERVICE_UMRDPSERVICE, "Start"),
        (paths::TERMSERVICE_PARAMETERS, "SpecifiedLicenseServers"),
        (paths::TERMSERVICE_LICENSE_SERVERS, "SpecifiedLicenseServers"),
        (paths::POLICY_TERMINAL_SERVICES, "LicensingMode"),
        (paths::POLICY_TERMINAL_SERVICES, "LicenseServers"),
        (paths::POLICY_TERMINAL_SERVICES, "fDenyTSConnections"),
        (paths::RDS_RD_SERVER, "InstallState"),
        (paths::RDS_LICENSING, "InstallState"),
    ]
}

#[test]
fn full_dumps_equal_hivex_on_every_sample() {
    let Some(py) = common::hivex_python() else { return };
    let dir = TempDir::new("dump");
    for name in SYSTEMS.iter().chain(&["SOFTWARE_partial"]) {
        let bytes = hive(name);
        let path = dir.write(name, &bytes);
        let ours = common::regf_dump(&bytes, "");
        let theirs = common::hivex_dump(py, &path, "");
        assert!(ours.lines().count() > 20_000, "{name}: only {} lines", ours.lines().count());
        if ours != theirs {
            let first = ours.lines().zip(theirs.lines()).find(|(a, b)| a != b);
            panic!("{name}: regf and hivex dumps differ, first at {first:?}");
        }
    }
}

#[test]
fn walk_visits_every_key_once() {
    let bytes = hive("SYSTEM");
    let h = Hive::parse(bytes.as_slice()).unwrap();
    let mut keys = 0;
    let mut values = 0;
    h.walk(|_, k| {
        keys += 1;
        values += k.values()?.count();
        Ok(())
    })
    .unwrap();
    let dump = common::regf_dump(&bytes, "");
    assert_eq!(keys, dump.lines().filter(|l| l.starts_with('[')).count());
    assert_eq!(values, dump.lines().filter(|l| !l.starts_with('[')).count());
}

/// The values that rdlic reads equal what `hivexget` prints and what regipy reads, on every sample.
#[test]
fn rdlic_values_equal_hivexget_and_regipy() {
    let Some(_) = common::hivex_python() else { return };
    let Some(rpy) = common::regipy_python() else { return };
    let dir = TempDir::new("values");
    let software = hive("SOFTWARE_partial");
    let sw_path = dir.write("SOFTWARE", &software);
    let mut present = 0;
    for name in SYSTEMS {
        let system = hive(name);
        let sys_path = dir.write(name, &system);
        let view = OfflineWindows::new(&system, Some(&software)).unwrap();
        let mut pairs = Vec::new();
        let mut ours = Vec::new();
        for (key, value) in rdlic_values() {
            let loc = view.locate(key).unwrap();
            let file = if loc.hive == HiveFile::System { &sys_path } else { &sw_path };
            let mine = view.value(key, value);
            let hx = common::hivexget(file, &loc.key, value);
            assert_eq!(hx, mine.as_ref().map(common::hivexget_form), "{name}: {key} {value}: hivexget");
            assert_eq!(view.key_exists(key), view.try_key_exists(key).unwrap());
            present += usize::from(mine.is_some());
            pairs.push((loc.key.clone(), value.to_owned(), loc.hive));
            ours.push(mine);
        }
        for which in [HiveFile::System, HiveFile::Software] {
            let file = if which == HiveFile::System { &sys_path } else { &sw_path };
            let sel: Vec<(String, String)> =
                pairs.iter().filter(|p| p.2 == which).map(|p| (p.0.clone(), p.1.clone())).collect();
            let theirs = regipy::regipy_get(&rpy, file, &sel);
            let mine = pairs.iter().zip(&ours).filter(|(p, _)| p.2 == which).map(|(_, v)| v);
            for ((pair, theirs), mine) in sel.iter().zip(theirs).zip(mine) {
                let mine = mine.as_ref().map(|v| {
                    let (kind, data) = regf::encode_value(v);
                    regipy::regipy_form(kind, &data).unwrap()
                });
                assert_eq!(mine, theirs, "{name}: {pair:?}: regipy");
            }
        }
        // What the samples are known to hold (tests/data/README.md), so that the comparison is not vacuous.
        assert_eq!(view.value(paths::LICENSING_CORE, "LicensingMode"), Some(RegValue::Dword(1)), "{name}");
        assert_eq!(view.value(paths::RDP_TCP, "PortNumber"), Some(RegValue::Dword(3389)), "{name}");
        assert_eq!(view.value(paths::SERVICE_TERMSERVICE, "Start"), Some(RegValue::Dword(3)), "{name}");
        assert!(!view.key_exists(paths::SERVICE_TERMSERVLICENSING), "{name}");
        assert!(view.key_exists(paths::GRACE_PERIOD) || !view.key_exists(paths::GRACE_PERIOD));
    }
    assert!(present >= 3 * 9, "only {present} values present");
}

/// Every value under `Control\Terminal Server` and `Services\TermService`, recursively, equals regipy's reading.
#[test]
fn terminal_server_subtrees_equal_regipy() {
    let Some(rpy) = common::regipy_python() else { return };
    let dir = TempDir::new("subtree");
    for name in SYSTEMS {
        let bytes = hive(name);
        let path = dir.write(name, &bytes);
        let h = Hive::parse(bytes.as_slice()).unwrap();
        for start in [r"ControlSet001\Control\Terminal Server", r"ControlSet001\Services\TermService"] {
            let theirs = regipy::regipy_subtree(&rpy, &path, start);
            let mut compared = 0;
            let mut ours = Vec::new();
            let key = h.key(start).unwrap().unwrap();
            collect(&key, start, &mut ours);
            assert_eq!(ours.len(), theirs.len(), "{name} {start}: value count");
            for ((k, n, kind, data), (tk, tn, tkind, tv)) in ours.iter().zip(&theirs) {
                assert_eq!((k, n), (tk, tn), "{name}: order");
                if let Some((ty, v)) = regipy::regipy_form(*kind, data) {
                    assert_eq!((&ty, &v), (tkind, tv), "{name}: {k} {n}");
                    compared += 1;
                }
            }
            assert!(compared * 10 >= ours.len() * 9, "{name} {start}: compared {compared} of {}", ours.len());
            assert!(compared > 20, "{name} {start}: compared only {compared}");
        }
    }
}

fn collect(key: &regf::Key<'_>, path: &str, out: &mut Vec<(String, String, u32, Vec<u8>)>) {
    for v in key.values().unwrap() {
        let v = v.unwrap();
        out.push((path.to_owned(), v.name(), v.kind(), v.data().unwrap().into_owned()));
    }
    for k in key.subkeys().unwrap() {
        let k = k.unwrap();
        collect(&k, &format!("{path}\\{}", k.name()), out);
    }
}

#[test]
fn lookups_are_case_insensitive_and_current_control_set_follows_select() {
    let system = hive("SYSTEM");
    let view = OfflineWindows::new(&system, None).unwrap();
    let sel = *view.select().unwrap();
    assert_eq!((sel.current, sel.default, sel.last_known_good), (Some(1), Some(1), Some(2)));
    assert!(!sel.current_differs());
    let a = view.value(r"hklm\system\currentcontrolset\control\terminal server\WINSTATIONS\rdp-TCP", "portnumber");
    assert_eq!(a, Some(RegValue::Dword(3389)));
    assert_eq!(view.locate(r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services").unwrap().key, r"ControlSet001\Services");
    assert_eq!(view.value(paths::POLICY_TERMINAL_SERVICES, "LicensingMode"), None, "no SOFTWARE hive given");
    assert!(view.locate(r"HKCU\Software").is_none());
    // Default names the control set, not Current.
    let s = regf::Select { current: Some(1), default: Some(2), last_known_good: Some(2), failed: Some(1) };
    assert!(s.current_differs());
    assert_eq!(regf::locate(r"HKLM\SYSTEM\CurrentControlSet\X", Some(&s)).unwrap().key, r"ControlSet002\X");
    assert_eq!(regf::locate(r"HKLM\SYSTEM\CurrentControlSet\X", None), None);
}

#[test]
fn dirty_hive_reads_as_on_disk_and_says_so() {
    let bytes = hive("SYSTEM_B");
    let h = Hive::parse(bytes.as_slice()).unwrap();
    assert!(h.is_dirty());
    assert_eq!((h.base_block().primary_sequence, h.base_block().secondary_sequence), (1622, 1621));
    assert!(h.base_block().checksum_valid);
    assert!(!Hive::parse(hive("SYSTEM")).unwrap().is_dirty());
}

#[test]
fn corrupted_hive_is_a_typed_error() {
    let err = Hive::parse(hive("corrupted_system_hive")).unwrap_err();
    assert_eq!(err, Error::BadHiveBin { offset: 0x1a000, reason: "no \"hbin\" signature" });
    assert!(err.to_string().contains("0x1a000"), "{err}");
    assert!(OfflineWindows::new(&hive("corrupted_system_hive"), None).is_err());
}

#[test]
fn truncated_hives_are_typed_errors() {
    let bytes = hive("SOFTWARE_partial");
    for len in [0, 3, 100, 511, 512, 4095, 4096, 4096 + 31, 4096 + 4096, bytes.len() / 2, bytes.len() - 4097] {
        let err = Hive::parse(&bytes[..len]).unwrap_err();
        assert!(matches!(err, Error::Truncated { .. } | Error::BadSignature { .. }), "{len}: {err:?}");
    }
    // A log given as a hive.
    let log = hive("SYSTEM_B.LOG1");
    assert_eq!(Hive::parse(log.as_slice()).unwrap_err(), Error::NotPrimary { file_type: 6 });
}

/// Bit flips in the base block, the first hive bins and around the root: each gives a hive that reads (with
/// errors where cells are damaged) or a typed error, never a panic or an endless walk.
#[test]
fn bit_flips_never_panic() {
    let clean = hive("SOFTWARE_partial");
    let root = 4096 + usize::try_from(Hive::parse(clean.as_slice()).unwrap().base_block().root_cell).unwrap();
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut ok, mut errors) = (0, 0);
    for i in 0..300 {
        let mut bytes = clean.clone();
        let window = if i % 2 == 0 { 0..64 * 1024 } else { root.saturating_sub(2048)..root + 2048 };
        for _ in 0..1 + next() % 4 {
            let pos = window.start + usize::try_from(next() % 1_000_000).unwrap() % window.len();
            bytes[pos] ^= 1 << (next() % 8);
        }
        let r = Hive::parse(bytes.as_slice()).and_then(|h| {
            let mut budget = 3000;
            h.walk(|_, k| {
                for v in k.values()? {
                    v?.decode()?;
                }
                budget -= 1;
                if budget == 0 {
                    return Err(Error::Loop { cell: 0 });
                }
                Ok(())
            })
        });
        match r {
            Ok(()) | Err(Error::Loop { cell: 0 }) => ok += 1,
            Err(_) => errors += 1,
        }
    }
    assert!(errors > 0 && ok > 0, "ok {ok}, errors {errors}");
}

/// Every sample passes the consistency check that edits run first.
#[test]
fn samples_are_consistent() {
    for name in SYSTEMS.iter().chain(&["SOFTWARE_partial"]) {
        Hive::parse(hive(name)).unwrap().check().unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}
