//! `rdlic diagnose --reg-file` on the `reg export` fixtures of rdlic-diag (UTF-16LE, as Windows writes them), and
//! `rdlic reg add|delete` of the Group Policy values on a host: the real binary, in English and French, table and
//! JSON, with its exit codes.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use common::{Tmp, RDLIC};

const POLICY: &str = r"HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services";
const CORE: &str = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM\Licensing Core";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../rdlic-diag/tests/data/reg").join(name)
}

fn rdlic(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(RDLIC)
        .args(args)
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env_remove("RDLIC_LANG")
        .env("LANG", "C.UTF-8")
        .env("RDLIC_LOG", "warn")
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn reg_file_with_a_policy_override_names_the_policy_in_english_french_and_json() {
    let file = fixture("policy-override.reg");
    let file = file.to_str().unwrap();

    let (code, en, err) = rdlic(&["diagnose", "--reg-file", file, "--color", "never"]);
    assert_eq!(code, 0, "{en}{err}");
    assert!(en.contains("Windows registry from"), "{en}");
    assert!(en.contains(&format!("LicensingMode = 2 comes from Group Policy ({POLICY})")), "{en}");
    assert!(en.contains("a reg add of the local value has no effect while the policy is set"), "{en}");
    assert!(en.contains("\"Set the Remote Desktop licensing mode\""), "{en}");
    assert!(en.contains(&format!(r#"reg delete "{POLICY}" /v LicensingMode /f"#)), "{en}");

    let (code, fr, _) = rdlic(&["--lang", "fr", "diagnose", "--reg-file", file, "--color", "never"]);
    assert_eq!(code, 0);
    assert!(fr.contains("vient d’une stratégie de groupe") && fr.contains("reste sans effet"), "{fr}");
    assert!(fr.contains("« Définir le mode de licence du Bureau à distance »"), "{fr}");
    assert!(!fr.contains("comes from Group Policy"), "{fr}");

    let (code, json, _) = rdlic(&["diagnose", "--reg-file", file, "--json"]);
    assert_eq!(code, 0);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["can_license"], true);
    let policy: Vec<&serde_json::Value> =
        value["findings"].as_array().unwrap().iter().filter(|f| f["check"] == "policy").collect();
    assert_eq!(policy.len(), 2, "{json}");
    assert_eq!(policy[0]["evidence_key"], "ev-policy-mode-shadows");
    assert_eq!(policy[0]["evidence_args"]["key"], POLICY);
    assert_eq!(policy[0]["evidence_args"]["local"], "4");
    assert_eq!(policy[0]["severity"], "warning");
    assert!(policy[0]["fixes"][0]["command"].as_str().unwrap().starts_with(&format!(r#"reg add "{POLICY}""#)));
    assert!(policy[0]["fixes"][0].get("offline_command").is_some());
}

#[test]
fn reg_file_exit_codes_causes_and_bad_files() {
    // Cause 1: refused, exit 1, the article's cause in JSON.
    let (code, json, _) = rdlic(&["diagnose", "--json", "--reg-file", fixture("cause1-no-license-server.reg").to_str().unwrap()]);
    assert_eq!(code, 1);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["causes"], serde_json::json!(["no-license-server"]));
    // Several files merge in order: the second removes the policy value of the first.
    let tmp = Tmp::new("regfile");
    let removal = tmp.path("remove-policy.reg");
    let text = format!("Windows Registry Editor Version 5.00\r\n\r\n[{}]\r\n\"LicensingMode\"=-\r\n\r\n", POLICY.replace("HKLM", "HKEY_LOCAL_MACHINE"));
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    std::fs::write(&removal, bytes).unwrap();
    let (code, json, _) = rdlic(&["diagnose", "--json", "--reg-file", fixture("policy-override.reg").to_str().unwrap(), "--reg-file", &removal]);
    assert_eq!(code, 0);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let keys: Vec<&str> = value["findings"].as_array().unwrap().iter().filter_map(|f| f["evidence_key"].as_str()).collect();
    assert!(keys.contains(&"ev-mode-ok-4") && !keys.contains(&"ev-policy-mode-shadows"), "{keys:?}");
    // A malformed file: exit 2, the file and the line.
    let bad = tmp.path("bad.reg");
    std::fs::write(&bad, "REGEDIT4\n[HKEY_LOCAL_MACHINE\\A]\n\"x\"=dword:zz\n").unwrap();
    let (code, _, err) = rdlic(&["diagnose", "--reg-file", &bad]);
    assert_eq!(code, 2);
    assert!(err.contains("bad.reg: line 3: bad dword"), "{err}");
    let (code, _, _) = rdlic(&["diagnose", "--reg-file", &tmp.path("missing.reg")]);
    assert_eq!(code, 2);
}

#[test]
fn reg_add_and_delete_of_the_policy_values_on_a_host() {
    let tmp = Tmp::new("regpolicy");
    let dir = tmp.path("host");
    let (code, _, _) = rdlic(&["reg", "--dir", &dir, "add", CORE, "/v", "LicensingMode", "/t", "REG_DWORD", "/d", "2", "/f"]);
    assert_eq!(code, 0);
    let (code, _, _) = rdlic(&["reg", "--dir", &dir, "add", POLICY, "/v", "LicensingMode", "/t", "REG_DWORD", "/d", "4", "/f"]);
    assert_eq!(code, 0);
    // A local add while the policy is set: done, with the note that it has no effect.
    let (code, _, err) = rdlic(&["reg", "--dir", &dir, "add", CORE, "/v", "LicensingMode", "/t", "REG_DWORD", "/d", "2", "/f"]);
    assert_eq!(code, 0);
    assert!(err.contains("Group Policy sets LicensingMode = 0x4") && err.contains("/v LicensingMode /f"), "{err}");
    let (code, out, _) = rdlic(&["reg", "--dir", &dir, "query", POLICY]);
    assert_eq!(code, 0);
    assert!(out.contains("LicensingMode    REG_DWORD    0x4"), "{out}");
    // diagnose on the live host reports that the policy won.
    let (_, json, _) = rdlic(&["diagnose", "--dir", &dir, "--json", "--timeout", "1"]);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let policy: Vec<&serde_json::Value> =
        value["findings"].as_array().unwrap().iter().filter(|f| f["check"] == "policy").collect();
    assert_eq!(policy.len(), 1, "{json}");
    assert_eq!(policy[0]["evidence_key"], "ev-policy-mode-shadows");
    assert_eq!(policy[0]["fixes"][1]["command"], format!(r#"rdlic reg delete "{POLICY}" /v LicensingMode /f"#));
    let mode = value["findings"].as_array().unwrap().iter().find(|f| f["check"] == "licensing-mode").unwrap();
    assert_eq!(mode["evidence_key"], "ev-mode-ok-4");
    // reg delete of the policy value: the local value applies again.
    let (code, _, _) = rdlic(&["reg", "--dir", &dir, "delete", POLICY, "/v", "LicensingMode", "/f"]);
    assert_eq!(code, 0);
    let (code, _, err) = rdlic(&["reg", "--dir", &dir, "query", POLICY, "/v", "LicensingMode"]);
    assert_eq!(code, 1, "{err}");
    let (_, json, _) = rdlic(&["diagnose", "--dir", &dir, "--json", "--timeout", "1"]);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(!value["findings"].as_array().unwrap().iter().any(|f| f["check"] == "policy"), "{json}");
    let (code, _, _) = rdlic(&["reg", "--dir", &dir, "delete", CORE, "/f"]);
    assert_eq!(code, 1);
}
