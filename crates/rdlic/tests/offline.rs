//! `rdlic offline diagnose|fix` on real Windows hives: the session-host fixtures of `crates/regf/tests/fixtures`
//! (regipy's real samples with the article's keys merged in by hivexregedit, an independent tool), laid out as a
//! mounted Windows volume whose folder names have another case than Windows writes them; the edits are read back
//! with hivexget. Without hivexregedit/hivexget/xz these tests print a skip note, and fail under
//! `RDLIC_REQUIRE_PEERS=1` (scripts/test).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn rdlic(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rdlic")).args(["--lang", "en"]).args(args).output().unwrap()
}

fn have(program: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {program}")]).output().is_ok_and(|o| o.status.success())
}

fn peers() -> bool {
    let ok = ["hivexregedit", "hivexget", "xz"].iter().all(|p| have(p));
    if !ok {
        assert!(
            std::env::var("RDLIC_REQUIRE_PEERS").as_deref() != Ok("1"),
            "RDLIC_REQUIRE_PEERS=1 but hivexregedit, hivexget or xz is missing: run scripts/test"
        );
        eprintln!("skip: hivexregedit, hivexget or xz is missing");
    }
    ok
}

fn regf_tests() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../regf/tests")
}

/// Builds fixture `name` as `ROOT/windows/SYSTEM32/Config/{SYSTEM,SOFTWARE}` and returns ROOT.
fn volume(name: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("windows").join("SYSTEM32").join("Config");
    let status = Command::new(regf_tests().join("fixtures/build-fixture")).arg(name).arg(&config).status().unwrap();
    assert!(status.success(), "build-fixture {name}");
    root
}

fn config_dir(root: &Path) -> PathBuf {
    root.join("windows").join("SYSTEM32").join("Config")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn causes(v: &serde_json::Value) -> Vec<String> {
    v["causes"].as_array().map(|a| a.iter().map(|c| c.to_string()).collect()).unwrap_or_default()
}

fn hivexget(hive: &Path, key: &str, name: &str) -> String {
    let out = Command::new("hivexget").arg(hive).arg(key).arg(name).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn each_cause_of_the_article_is_found_on_a_disk() {
    if !peers() {
        return;
    }
    let healthy = volume("healthy");
    let out = rdlic(&["offline", "diagnose", healthy.path().to_str().unwrap(), "--json"]);
    let v = json(&out);
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert!(causes(&v).is_empty(), "{v}");
    assert_eq!(v["offline"]["select"]["control_set_read"], 1);

    for (fixture, code) in [("no-license-server", 1), ("role-without-licensing", 1), ("policy-override", 0)] {
        let disk = volume(fixture);
        let out = rdlic(&["offline", "diagnose", disk.path().to_str().unwrap(), "--json"]);
        let v = json(&out);
        assert_eq!(out.status.code(), Some(code), "{fixture}: {v}");
        if code == 1 {
            assert!(!causes(&v).is_empty(), "{fixture}: {v}");
        }
        let text = v.to_string();
        if fixture == "policy-override" {
            // The policy's mode (2) and server win over the local values, and the finding names the policy key.
            assert!(text.contains("Policies"), "{v}");
            assert!(text.contains("old-ls.contoso.com"), "{v}");
        }
    }
    // The text output names the fix for after the boot and the offline command.
    let disk = volume("no-license-server");
    let out = rdlic(&["offline", "diagnose", disk.path().to_str().unwrap(), "--license-server", "ls1", "--color", "never"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("rdlic offline fix"), "{text}");
    assert!(text.contains("ControlSet1"), "{text}");
}

#[test]
fn fix_prints_then_applies_with_a_backup_and_hivex_reads_the_result() {
    if !peers() {
        return;
    }
    let disk = volume("no-license-server");
    let root = disk.path().to_str().unwrap().to_owned();
    let system = config_dir(disk.path()).join("SYSTEM");
    let original = std::fs::read(&system).unwrap();

    let dry = rdlic(&["offline", "fix", &root, "--license-server", "ls1.contoso.com", "--licensing-mode", "2"]);
    assert_eq!(dry.status.code(), Some(0), "{}", String::from_utf8_lossy(&dry.stderr));
    let text = String::from_utf8_lossy(&dry.stdout);
    assert!(text.contains("SpecifiedLicenseServers") && text.contains("--apply"), "{text}");
    assert_eq!(std::fs::read(&system).unwrap(), original, "a dry run writes nothing");

    let out = rdlic(&["offline", "fix", &root, "--license-server", "ls1.contoso.com", "--licensing-mode", "2", "--apply"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let backups: Vec<PathBuf> = std::fs::read_dir(config_dir(disk.path()))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains("SYSTEM.rdlic-") && p.to_string_lossy().ends_with(".bak"))
        .collect();
    assert_eq!(backups.len(), 1);
    assert_eq!(std::fs::read(&backups[0]).unwrap(), original, "the backup is the hive as it was");
    assert_eq!(
        hivexget(&system, r"ControlSet001\Services\TermService\Parameters\LicenseServers", "SpecifiedLicenseServers"),
        "ls1.contoso.com"
    );
    assert_eq!(hivexget(&system, r"ControlSet001\Control\Terminal Server\RCM\Licensing Core", "LicensingMode"), "2");
    // The SOFTWARE hive was not asked to change: no backup of it, same bytes.
    assert!(!std::fs::read_dir(config_dir(disk.path()))
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("SOFTWARE.rdlic-")));

    let again = rdlic(&["offline", "diagnose", &root, "--json"]);
    let v = json(&again);
    assert!(v.to_string().contains("ls1.contoso.com"), "{v}");
}

#[test]
fn a_policy_value_is_cleared_only_when_named() {
    if !peers() {
        return;
    }
    let disk = volume("policy-override");
    let root = disk.path().to_str().unwrap().to_owned();
    let software = config_dir(disk.path()).join("SOFTWARE");
    let policy = r"Policies\Microsoft\Windows NT\Terminal Services";
    assert_eq!(hivexget(&software, policy, "LicensingMode"), "2");
    let out = rdlic(&["offline", "fix", &root, "--licensing-mode", "4", "--apply"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(hivexget(&software, policy, "LicensingMode"), "2", "not named: kept");
    let out = rdlic(&["offline", "fix", &root, "--clear-policy", "licensingmode", "--apply"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(hivexget(&software, policy, "LicensingMode"), "");
    assert_eq!(hivexget(&software, policy, "LicenseServers"), "old-ls.contoso.com", "only the named value goes");
    let bad = rdlic(&["offline", "fix", &root, "--clear-policy", "Everything", "--apply"]);
    assert_ne!(bad.status.code(), Some(0));
}

fn unxz(name: &str, to: &Path) {
    let out = Command::new("xz").arg("-dc").arg(regf_tests().join("data").join(name)).output().unwrap();
    assert!(out.status.success());
    std::fs::write(to, out.stdout).unwrap();
}

#[test]
fn a_dirty_hive_is_refused_unless_its_logs_are_replayed_and_then_they_are_kept_aside() {
    if !peers() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let system = dir.path().join("SYSTEM");
    unxz("SYSTEM_B.xz", &system);
    unxz("SYSTEM_B.LOG1.xz", &dir.path().join("SYSTEM.LOG1"));
    unxz("SYSTEM_B.LOG2.xz", &dir.path().join("SYSTEM.LOG2"));
    let original = std::fs::read(&system).unwrap();
    let root = dir.path().to_str().unwrap().to_owned();

    // Diagnose reads it as the next boot will (logs replayed in memory) and says so; nothing is written.
    let out = rdlic(&["offline", "diagnose", &root, "--color", "never"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("replayed in memory"));
    assert_eq!(std::fs::read(&system).unwrap(), original);

    let refused = rdlic(&["offline", "fix", &root, "--licensing-mode", "4", "--apply"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--replay-logs"));
    assert_eq!(std::fs::read(&system).unwrap(), original, "refused: untouched");

    let out = rdlic(&["offline", "fix", &root, "--licensing-mode", "4", "--replay-logs", "--apply"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(hivexget(&system, r"ControlSet001\Control\Terminal Server\RCM\Licensing Core", "LicensingMode"), "4");
    let names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    assert!(!names.contains(&"SYSTEM.LOG1".to_owned()) && !names.contains(&"SYSTEM.LOG2".to_owned()), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("SYSTEM.LOG1.rdlic-") && n.ends_with(".replayed")), "{names:?}");
    // The written hive is clean: a second edit needs no replay.
    let out = rdlic(&["offline", "fix", &root, "--licensing-mode", "2", "--apply"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_corrupted_hive_is_a_clear_error_and_stays_untouched() {
    if !peers() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let system = dir.path().join("SYSTEM");
    unxz("corrupted_system_hive.xz", &system);
    let original = std::fs::read(&system).unwrap();
    let root = dir.path().to_str().unwrap().to_owned();
    let out = rdlic(&["offline", "fix", &root, "--licensing-mode", "4", "--apply"]);
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a usable registry hive") && err.contains("nothing was written"), "{err}");
    assert_eq!(std::fs::read(&system).unwrap(), original);
    // A path without hives at all.
    let empty = tempfile::tempdir().unwrap();
    let out = rdlic(&["offline", "diagnose", empty.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no registry hives"));
}
