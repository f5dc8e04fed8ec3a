//! `reg export` files: the fixtures of `tests/data/reg/` (written by `make_fixtures.py` exactly as `reg export`
//! writes them: UTF-16LE, CRLF, hex(7) wrapped at 80 columns) read by rdlic's parser, diagnosed with the Windows
//! rules, and cross-checked against an independent reader: hivex. The SYSTEM keys of each fixture are merged into
//! a copy of a real SYSTEM hive with `hivexregedit --merge` and every value is read back with `hivexget`.
//!
//! Without hivex the cross-check prints a skip note, or fails when `RDLIC_REQUIRE_PEERS=1` (scripts/test sets it
//! and installs libhivex-bin and libwin-hivex-perl).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use rdlic_core::regfile::{RegFile, RegFileErrorKind, RegOp};
use rdlic_core::winreg::{paths, MemoryRegistry, RegValue, RegistryView, SettingSource};
use rdlic_diag::checks::{Cause, Check, FixHints, Severity};
use rdlic_diag::windows;
use rdlic_diag::Lang;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

fn fixture(name: &str) -> (Vec<u8>, MemoryRegistry) {
    let bytes = std::fs::read(data(&format!("reg/{name}"))).unwrap();
    let file = RegFile::parse(&bytes).unwrap();
    (bytes, file.to_registry())
}

const FIXTURES: [&str; 6] = [
    "cause1-no-license-server.reg",
    "cause4-mode-not-configured.reg",
    "configured-servers-under-parameters.reg",
    "role-removed.reg",
    "policy-override.reg",
    "connections-denied.reg",
];

#[test]
fn fixtures_are_written_as_reg_export_writes_them() {
    for name in FIXTURES {
        let (bytes, _) = fixture(name);
        assert_eq!(&bytes[..2], &[0xFF, 0xFE], "{name}: byte-order mark");
        let units: Vec<u16> = bytes[2..].chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        let text = String::from_utf16(&units).unwrap();
        assert!(text.starts_with("Windows Registry Editor Version 5.00\r\n\r\n["), "{name}");
        assert!(!text.replace("\r\n", "").contains('\n'), "{name}: CRLF only");
        for line in text.split("\r\n").filter(|l| !l.starts_with('[')) {
            assert!(line.chars().count() <= 80, "{name}: {line}");
        }
    }
}

#[test]
fn golden_values_of_the_policy_override_fixture() {
    let (bytes, reg) = fixture("policy-override.reg");
    let file = RegFile::parse(&bytes).unwrap();
    let keys: Vec<&str> =
        file.ops.iter().filter_map(|op| if let RegOp::CreateKey { key } = op { Some(key.as_str()) } else { None }).collect();
    assert_eq!(keys.len(), 12);
    assert_eq!(keys[0], r"HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services");
    let policy = paths::POLICY_TERMINAL_SERVICES;
    assert_eq!(reg.value(policy, "LicensingMode"), Some(RegValue::Dword(2)));
    assert_eq!(reg.value(policy, "LicenseServers"), Some(RegValue::Sz("ls1.contoso.com,ls2.contoso.com".into())));
    assert_eq!(reg.value(paths::LICENSING_CORE, "LicensingMode"), Some(RegValue::Dword(4)));
    assert_eq!(
        reg.value(paths::TERMSERVICE_LICENSE_SERVERS, "SpecifiedLicenseServers"),
        Some(RegValue::MultiSz(vec!["ls-local.contoso.com".into()]))
    );
    assert_eq!(
        reg.value(paths::SERVICE_TERMSERVICE, "ImagePath"),
        Some(RegValue::ExpandSz(r"%SystemRoot%\System32\svchost.exe -k NetworkService".into()))
    );
    assert_eq!(reg.value(paths::SERVICE_TERMSERVICE, "DependOnService"), Some(RegValue::MultiSz(vec!["RPCSS".into()])));
    assert_eq!(reg.value(paths::SERVICE_TERMSERVICE, "ObjectName"), Some(RegValue::Sz(r"NT Authority\NetworkService".into())));
    assert_eq!(reg.value(paths::RDP_TCP, "PortNumber"), Some(RegValue::Dword(3389)));
    assert_eq!(
        reg.value(paths::GRACE_PERIOD, "L$RTMTIMEBOMB_1320153D-8DA3-4e8e-B27B-0D888223A588"),
        Some(RegValue::Binary(vec![0x00, 0xa0, 0xd8, 0xf7, 0xe2, 0xb3, 0xda, 0x01]))
    );
    assert_eq!(reg.value(paths::RDS_RD_SERVER, "InstallState"), Some(RegValue::Dword(1)));
    let settings = rdlic_core::winreg::licensing_settings(&reg);
    assert_eq!((settings.mode.value, settings.mode.source), (2, SettingSource::Policy));
    assert_eq!(settings.license_servers.value, vec!["ls1.contoso.com", "ls2.contoso.com"]);
}

#[test]
fn each_fixture_gives_its_diagnosis() {
    let run = |name: &str| windows::diagnose_registry(&fixture(name).1, name, &FixHints::default());

    let d = run("cause1-no-license-server.reg");
    assert!(!d.can_license);
    assert_eq!(d.causes(), vec![Cause::NoLicenseServer]);

    let d = run("cause4-mode-not-configured.reg");
    assert!(!d.can_license);
    assert_eq!(d.causes(), vec![Cause::CalsMisconfigured]);

    let d = run("configured-servers-under-parameters.reg");
    assert!(d.can_license);
    assert!(d.findings.iter().any(|f| f.evidence.key == "ev-servers-under-parameters"));
    assert!(d.findings.iter().any(|f| f.evidence.key == "ev-server-not-checked" && f.server.as_deref() == Some("ls1.contoso.com")));

    let d = run("role-removed.reg");
    assert!(d.can_license);
    assert_eq!(d.findings[0].evidence.key, "ev-role-not-installed");

    let d = run("policy-override.reg");
    assert!(d.can_license);
    let policy: Vec<_> = d.findings.iter().filter(|f| f.check == Check::Policy).collect();
    assert_eq!(policy.len(), 2);
    assert!(policy.iter().all(|f| f.severity == Severity::Warning));
    let en = policy[0].evidence.render(Lang::En);
    assert!(en.contains("comes from Group Policy") && en.contains("wins over the local value 4"), "{en}");

    let d = run("connections-denied.reg");
    assert!(!d.can_license);
    let keys: Vec<&str> = d.findings.iter().map(|f| f.evidence.key).collect();
    for key in ["ev-connections-denied-policy", "ev-service-disabled-umrdpservice", "ev-port-custom", "ev-licensing-role", "ev-grace-key-absent"] {
        assert!(keys.contains(&key), "{key} in {keys:?}");
    }
}

#[test]
fn malformed_fixture_is_an_error_with_its_line() {
    let (bytes, _) = fixture("policy-override.reg");
    let units: Vec<u16> = bytes[2..].chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    let text = String::from_utf16(&units).unwrap();
    let mut broken = vec![0xFF, 0xFE];
    broken.extend(text.replacen("dword:00000002", "dword:0000000g", 1).encode_utf16().flat_map(u16::to_le_bytes));
    let error = RegFile::parse(&broken).unwrap_err();
    assert_eq!((error.line, error.kind), (5, RegFileErrorKind::BadDword));
    // Cut in the middle of a wrapped hex(2) value.
    let cut = text.find("  74,00,25,00").unwrap();
    let mut truncated = vec![0xFF, 0xFE];
    truncated.extend(text[..cut].encode_utf16().flat_map(u16::to_le_bytes));
    assert_eq!(RegFile::parse(&truncated).unwrap_err().kind, RegFileErrorKind::UnterminatedContinuation);
}

fn peers_required() -> bool {
    std::env::var("RDLIC_REQUIRE_PEERS").as_deref() == Ok("1")
}

fn have(tool: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().is_ok_and(|o| o.status.success())
}

/// What `hivexget` prints for a value: decimal for dwords, the string for strings, one line per string of a
/// multi-string, the raw bytes of binary data.
fn hivexget_form(value: &RegValue) -> Vec<u8> {
    match value {
        RegValue::Dword(v) => format!("{v}\n").into_bytes(),
        RegValue::Qword(v) => format!("{v}\n").into_bytes(),
        RegValue::Sz(s) | RegValue::ExpandSz(s) => format!("{s}\n").into_bytes(),
        RegValue::MultiSz(list) => list.iter().map(|s| format!("{s}\n")).collect::<String>().into_bytes(),
        RegValue::Binary(bytes) => bytes.clone(),
        other => panic!("no fixture value of this type: {other:?}"),
    }
}

#[test]
fn parser_agrees_with_hivexregedit_and_hivexget() {
    let tools = ["hivexregedit", "hivexget", "xz", "iconv"];
    if let Some(missing) = tools.iter().find(|t| !have(t)) {
        if peers_required() {
            panic!("RDLIC_REQUIRE_PEERS=1 but {missing} is missing: apt-get install -y libhivex-bin libwin-hivex-perl xz-utils");
        }
        eprintln!("skip: {missing} not installed (set RDLIC_REQUIRE_PEERS=1 to fail instead)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let hive = tmp.path().join("SYSTEM");
    let unpacked = Command::new("xz").arg("-dc").arg(data("hives/SYSTEM.xz")).output().unwrap();
    assert!(unpacked.status.success());
    std::fs::write(&hive, &unpacked.stdout).unwrap();

    let mut checked = 0;
    for name in ["policy-override.reg", "connections-denied.reg", "configured-servers-under-parameters.reg"] {
        // hivexregedit reads local-encoding text (its manual: iconv -f utf-16le -t utf-8, then dos2unix), and an
        // offline hive has ControlSet001 where the running system shows CurrentControlSet; it takes the SYSTEM
        // keys only (one hive).
        let path = data(&format!("reg/{name}"));
        let utf8 = Command::new("iconv").args(["-f", "UTF-16", "-t", "UTF-8"]).arg(&path).output().unwrap();
        assert!(utf8.status.success(), "{}", String::from_utf8_lossy(&utf8.stderr));
        let text = String::from_utf8(utf8.stdout).unwrap().replace("\r\n", "\n").replace("CurrentControlSet", "ControlSet001");
        let mut keep = true;
        let mut system_only = String::new();
        for line in text.lines() {
            if line.starts_with('[') {
                keep = line.starts_with(r"[HKEY_LOCAL_MACHINE\SYSTEM\");
            }
            if keep {
                system_only.push_str(line);
                system_only.push('\n');
            }
        }
        let merge_file = tmp.path().join(format!("{name}.utf8"));
        std::fs::write(&merge_file, system_only).unwrap();
        let merged = Command::new("hivexregedit")
            .args(["--merge", "--prefix", r"HKEY_LOCAL_MACHINE\SYSTEM"])
            .arg(&hive)
            .arg(&merge_file)
            .output()
            .unwrap();
        assert!(merged.status.success(), "{name}: {}", String::from_utf8_lossy(&merged.stderr));

        let registry = RegFile::parse(&std::fs::read(&path).unwrap()).unwrap().to_registry();
        let prefix = r"hklm\system\currentcontrolset\";
        for key in registry.key_paths().filter(|k| k.starts_with(prefix)).map(str::to_owned).collect::<Vec<_>>() {
            let hive_key = format!(r"\ControlSet001\{}", &key[prefix.len()..]);
            for (value_name, value) in registry.values_of(&key) {
                let out = Command::new("hivexget").arg(&hive).arg(&hive_key).arg(value_name).output().unwrap();
                assert!(out.status.success(), "{name}: {hive_key} {value_name}: {}", String::from_utf8_lossy(&out.stderr));
                let mut expected = hivexget_form(value);
                let mut got = out.stdout;
                if matches!(value, RegValue::MultiSz(_)) {
                    // hivexget ends a multi-string with the empty string of its double NUL: one more newline.
                    while got.ends_with(b"\n\n") {
                        got.pop();
                    }
                    while expected.ends_with(b"\n\n") {
                        expected.pop();
                    }
                }
                assert_eq!(got, expected, "{name}: {hive_key} {value_name}");
                checked += 1;
            }
        }
    }
    println!("{checked} values read the same by rdlic and hivexget");
    assert!(checked >= 40, "{checked}");
}
