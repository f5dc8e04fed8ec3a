//! `rdlic bench storm`, tiny (8 clients, 4 at a time), as a behaviour test of the storm itself — not a timing
//! test: a real license server and session host in the process, real TCP + TLS + RDP clients. Every client of the
//! first pass gets a new (temporary) CAL, every client of the second presents its stored CAL and gets it upgraded
//! to a permanent one, every client of the third presents its permanent CAL and is admitted; no errors.
#![allow(clippy::unwrap_used)]

use std::process::Command;

const RDLIC: &str = env!("CARGO_BIN_EXE_rdlic");

#[test]
fn tiny_storm_licenses_every_client_then_accepts_the_stored_cals() {
    let out = Command::new(RDLIC)
        .args([
            "--log",
            "warn",
            "bench",
            "storm",
            "--clients",
            "8",
            "--concurrency",
            "4",
            "--client-threads",
            "2",
            "--returning",
        ])
        .args(["--floor-seconds", "0.1", "--quiet", "--json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["errors"], 0, "{report:#}");
    assert_eq!(report["in_process"], true);
    let passes = report["passes"].as_array().unwrap();
    let names: Vec<&str> = passes.iter().map(|p| p["pass"].as_str().unwrap()).collect();
    assert_eq!(names, ["new", "upgrade", "returning"], "{report:#}");
    for pass in passes {
        assert_eq!(pass["clients"], 8, "{pass:#}");
        assert_eq!(pass["errors"], 0, "{pass:#}");
        assert!(pass["licensing_p50_ms"].as_f64().unwrap() > 0.0, "{pass:#}");
        assert!(pass["connections_per_second"].as_f64().unwrap() > 0.0, "{pass:#}");
    }
    // First pass: every device got a temporary CAL and none had one to present.
    assert_eq!(
        passes[0]["outcomes"],
        serde_json::json!({ "new-temporary": 8 }),
        "{report:#}"
    );
    assert_eq!(passes[0]["presented_stored_cal"], 0);
    // Second pass: every device presented its stored temporary CAL and got a permanent one.
    assert_eq!(passes[1]["presented_stored_cal"], 8, "{report:#}");
    assert_eq!(
        passes[1]["outcomes"],
        serde_json::json!({ "upgrade-permanent": 8 }),
        "{report:#}"
    );
    // Third pass: every device presented its permanent CAL and was admitted (no new CAL needed).
    assert_eq!(passes[2]["presented_stored_cal"], 8, "{report:#}");
    assert_eq!(
        passes[2]["outcomes"],
        serde_json::json!({ "valid-client": 8 }),
        "{report:#}"
    );
    // The clients ran on two threads (two tasks each), and every client's CAL store lasted from pass to pass.
    assert_eq!(report["client_threads"], 2, "{report:#}");
    // The floor was measured in the same run.
    let floor = &report["floor"];
    for key in [
        "tls_handshakes_per_second",
        "rsa2048_private_per_second",
        "rsa2048_public_per_second",
        "cal_signatures_per_second",
        "new_device_before_passes",
        "new_device_after_passes",
    ] {
        assert!(floor[key].as_f64().unwrap() > 0.0, "{key}: {report:#}");
    }
    // Both halves of the licensing RSA count: the floor is below the one without the client's public operation.
    let with_public = floor["new_device_connections_per_second"].as_f64().unwrap();
    let host_only = floor["new_device_connections_per_second_host_rsa_only"].as_f64().unwrap();
    assert!(with_public < host_only, "{report:#}");
}
