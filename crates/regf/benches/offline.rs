//! Reading the values of `rdlic offline diagnose` from a SYSTEM and a SOFTWARE hive on disk with regf, hivexget
//! and regipy in one run: wall times, ratios, and regf's peak memory against the hives' size.
//!
//! `cargo bench -p regf --bench offline` (hivex and regipy found as the tests find them; a missing one is
//! skipped). The regf figure includes reading both files and parsing them, as the command does.
#![allow(clippy::unwrap_used, clippy::as_conversions)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rdlic_core::winreg::{paths, RegistryView};

const VALUES: [(&str, &str); 15] = [
    (r"HKLM\SYSTEM\Select", "Current"),
    (r"HKLM\SYSTEM\Select", "Default"),
    (r"HKLM\SYSTEM\Select", "LastKnownGood"),
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
    (paths::RDS_RD_SERVER, "InstallState"),
    (paths::RDS_LICENSING, "InstallState"),
];

fn decompress(name: &str, dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(format!("{name}.xz"));
    let mut out = Vec::new();
    lzma_rs::xz_decompress(&mut std::fs::read(src).unwrap().as_slice(), &mut out).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, out).unwrap();
    p
}

/// What `rdlic offline diagnose` does with the hives: read both files once, parse, read every value.
fn regf_read(system: &Path, software: &Path) -> usize {
    let sys = std::fs::read(system).unwrap();
    let soft = std::fs::read(software).unwrap();
    let view = regf::OfflineWindows::new(&sys, Some(&soft)).unwrap();
    let mut found = usize::from(view.key_exists(paths::GRACE_PERIOD));
    for (k, v) in VALUES {
        found += usize::from(view.value(k, v).is_some());
    }
    found
}

fn vm_hwm_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn best_of<F: FnMut()>(n: usize, mut f: F) -> Duration {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap()
}

fn regipy_python() -> Option<PathBuf> {
    let c = std::env::var_os("RDLIC_REGIPY_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv-test/bin/python"));
    let ok = Command::new(&c).args(["-c", "import regipy"]).output().map(|o| o.status.success()).unwrap_or(false);
    ok.then_some(c)
}

fn main() {
    // Child mode: one regf read in a fresh process, printing its peak resident memory.
    if let (Some(sys), Some(soft)) = (std::env::var_os("REGF_BENCH_SYSTEM"), std::env::var_os("REGF_BENCH_SOFTWARE")) {
        let before = vm_hwm_kib();
        let found = regf_read(Path::new(&sys), Path::new(&soft));
        println!("{found} {before} {}", vm_hwm_kib());
        return;
    }
    let dir = std::env::temp_dir().join(format!("regf-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let software = decompress("SOFTWARE_partial", &dir);
    let soft_len = std::fs::metadata(&software).unwrap().len();
    println!("values read: {} (+ the GracePeriod key's presence)", VALUES.len());
    for system_name in ["SYSTEM", "SYSTEM_WIN_10_1709"] {
        let system = decompress(system_name, &dir);
        let sys_len = std::fs::metadata(&system).unwrap().len();
        let total = sys_len + soft_len;
        println!("\n{system_name} ({:.1} MB) + SOFTWARE ({:.1} MB):", sys_len as f64 / 1e6, soft_len as f64 / 1e6);
        let t_regf = best_of(5, || {
            regf_read(&system, &software);
        });
        println!("  regf       {:>9.2} ms  (best of 5, files read and parsed each time)", t_regf.as_secs_f64() * 1e3);

        let child = Command::new(std::env::current_exe().unwrap())
            .env("REGF_BENCH_SYSTEM", &system)
            .env("REGF_BENCH_SOFTWARE", &software)
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&child.stdout);
        let nums: Vec<u64> = out.split_whitespace().filter_map(|n| n.parse().ok()).collect();
        if let [_, before, after] = nums[..] {
            println!(
                "  regf peak RSS {:.1} MB (process before reading: {:.1} MB; hives {:.1} MB; ratio peak/hives {:.2})",
                after as f64 / 1024.0,
                before as f64 / 1024.0,
                total as f64 / 1e6,
                after as f64 * 1024.0 / total as f64
            );
        }

        let hivexget = Command::new("hivexget").arg("--help").stderr(Stdio::null()).output().is_ok();
        if hivexget {
            let view_sys = std::fs::read(&system).unwrap();
            let view_soft = std::fs::read(&software).unwrap();
            let view = regf::OfflineWindows::new(&view_sys, Some(&view_soft)).unwrap();
            let locs: Vec<(PathBuf, String, &str)> = VALUES
                .iter()
                .filter_map(|(k, v)| {
                    let loc = view.locate(k)?;
                    let file = if loc.hive == regf::HiveFile::System { system.clone() } else { software.clone() };
                    Some((file, loc.key, *v))
                })
                .collect();
            let t = best_of(3, || {
                for (file, key, v) in &locs {
                    let _ = Command::new("hivexget").arg(file).arg(key).arg(v).stdout(Stdio::null()).stderr(Stdio::null()).status();
                }
            });
            println!(
                "  hivexget   {:>9.2} ms  (best of 3, one process per value)  regf is {:.0}x faster",
                t.as_secs_f64() * 1e3,
                t.as_secs_f64() / t_regf.as_secs_f64()
            );
        } else {
            println!("  hivexget   skipped (not installed)");
        }
        if let Some(py) = regipy_python() {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/regipy_dump.py");
            let mut sys_pairs = Vec::new();
            let mut soft_pairs = Vec::new();
            let view_sys = std::fs::read(&system).unwrap();
            let view = regf::OfflineWindows::new(&view_sys, None).unwrap();
            for (k, v) in VALUES {
                if let Some(loc) = view.locate(k) {
                    let pair = serde_json::json!([loc.key, v]);
                    if loc.hive == regf::HiveFile::System { sys_pairs.push(pair) } else { soft_pairs.push(pair) }
                }
            }
            let run = |file: &Path, pairs: &Vec<serde_json::Value>| {
                use std::io::Write;
                let mut c = Command::new(&py)
                    .arg(&script)
                    .arg("get")
                    .arg(file)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                c.stdin.take().unwrap().write_all(&serde_json::to_vec(pairs).unwrap()).unwrap();
                assert!(c.wait().unwrap().success());
            };
            let t = best_of(3, || {
                run(&system, &sys_pairs);
                run(&software, &soft_pairs);
            });
            println!(
                "  regipy     {:>9.2} ms  (best of 3, one process per hive)  regf is {:.0}x faster",
                t.as_secs_f64() * 1e3,
                t.as_secs_f64() / t_regf.as_secs_f64()
            );
        } else {
            println!("  regipy     skipped (no RDLIC_REGIPY_PYTHON / .venv-test)");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
