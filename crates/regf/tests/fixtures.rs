//! The session-host fixtures (`tests/fixtures/`), built by hivexregedit from the real samples, read by regf as
//! hivex and regipy read them; and regf's edits on a hive that hivex wrote.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::TempDir;
use rdlic_core::winreg::{paths, RegistryView};
use regf::{Hive, OfflineWindows, RegValue};

/// Builds the fixture `name` into `dir` with `tests/fixtures/build-fixture`.
fn build(name: &str, dir: &Path) -> (Vec<u8>, Vec<u8>) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/build-fixture");
    common::run(Command::new(script).arg(name).arg(dir));
    (std::fs::read(dir.join("SYSTEM")).unwrap(), std::fs::read(dir.join("SOFTWARE")).unwrap())
}

struct Expect {
    name: &'static str,
    mode: u32,
    servers: Option<&'static [&'static str]>,
    policy: Option<(u32, &'static str)>,
}

const FIXTURES: [Expect; 6] = [
    Expect { name: "healthy", mode: 4, servers: Some(&["ls1.contoso.com"]), policy: None },
    Expect { name: "no-license-server", mode: 4, servers: None, policy: None },
    Expect { name: "wrong-mode", mode: 2, servers: Some(&["ls1.contoso.com"]), policy: None },
    Expect { name: "policy-override", mode: 4, servers: Some(&["ls1.contoso.com"]), policy: Some((2, "old-ls.contoso.com")) },
    Expect { name: "unreachable", mode: 4, servers: Some(&["ls.unreachable.invalid"]), policy: None },
    Expect { name: "role-without-licensing", mode: 5, servers: None, policy: None },
];

#[test]
fn fixtures_read_as_merged_and_as_regipy_reads_them() {
    if !common::hivex_tools() {
        return;
    }
    let Some(rpy) = common::regipy_python() else { return };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/build-fixture");
    let listed = common::run(Command::new(script).arg("--list"));
    assert_eq!(listed.lines().collect::<Vec<_>>(), {
        let mut n: Vec<&str> = FIXTURES.iter().map(|f| f.name).collect();
        n.sort_unstable();
        n
    });
    for f in FIXTURES {
        let dir = TempDir::new(f.name);
        let (system, software) = build(f.name, &dir.0);
        let view = OfflineWindows::new(&system, Some(&software)).unwrap();
        assert_eq!(view.value(paths::RDS_RD_SERVER, "InstallState"), Some(RegValue::Dword(1)), "{}", f.name);
        assert_eq!(view.value(paths::LICENSING_CORE, "LicensingMode"), Some(RegValue::Dword(f.mode)), "{}", f.name);
        let servers = view.value(paths::TERMSERVICE_LICENSE_SERVERS, "SpecifiedLicenseServers");
        assert_eq!(servers, f.servers.map(|s| RegValue::MultiSz(s.iter().map(|x| (*x).to_owned()).collect())));
        assert_eq!(view.key_exists(paths::TERMSERVICE_LICENSE_SERVERS), f.servers.is_some(), "{}", f.name);
        let policy = (
            view.value(paths::POLICY_TERMINAL_SERVICES, "LicensingMode"),
            view.value(paths::POLICY_TERMINAL_SERVICES, "LicenseServers"),
        );
        let want = f.policy.map(|(m, s)| (RegValue::Dword(m), RegValue::Sz(s.to_owned())));
        assert_eq!(policy.0.zip(policy.1), want, "{}", f.name);
        // The rest of the sample is as it was.
        assert_eq!(view.value(paths::RDP_TCP, "PortNumber"), Some(RegValue::Dword(3389)));
        assert!(!view.key_exists(paths::SERVICE_TERMSERVLICENSING));

        // regipy reads the same.
        let pairs = [
            (r"ControlSet001\Control\Terminal Server\RCM\Licensing Core".to_owned(), "LicensingMode".to_owned()),
            (r"ControlSet001\Services\TermService\Parameters\LicenseServers".to_owned(), "SpecifiedLicenseServers".into()),
        ];
        let got = common::regipy::regipy_get(&rpy, &dir.0.join("SYSTEM"), &pairs);
        assert_eq!(got[0], Some(("REG_DWORD".into(), serde_json::json!({ "n": f.mode }))), "{}", f.name);
        assert_eq!(got[1].as_ref().map(|g| g.1["m"].clone()), f.servers.map(|s| serde_json::json!(s)), "{}", f.name);
    }
}

/// regf's fix applied to a hive last written by hivex: hivex reads the result.
#[test]
fn regf_fixes_a_hive_written_by_hivex() {
    if !common::hivex_tools() {
        return;
    }
    let Some(py) = common::hivex_python() else { return };
    let dir = TempDir::new("fix-fixture");
    let (system, _) = build("role-without-licensing", &dir.0);
    let mut h = Hive::parse(system).unwrap();
    let ls = r"ControlSet001\Services\TermService\Parameters\LicenseServers";
    h.create_key(ls, 1).unwrap();
    h.set_value(ls, "SpecifiedLicenseServers", &RegValue::MultiSz(vec!["ls1.contoso.com".into()]), 1).unwrap();
    let lc = r"ControlSet001\Control\Terminal Server\RCM\Licensing Core";
    h.set_value(lc, "LicensingMode", &RegValue::Dword(4), 1).unwrap();
    let bytes = h.into_bytes();
    let path = dir.write("fixed", &bytes);
    assert_eq!(common::hivexget(&path, lc, "LicensingMode").as_deref(), Some("4\n"));
    assert_eq!(common::hivexget(&path, ls, "SpecifiedLicenseServers").as_deref(), Some("ls1.contoso.com\n\n"));
    assert!(common::hivex_dump(py, &path, "") == common::regf_dump(&bytes, ""));
}
