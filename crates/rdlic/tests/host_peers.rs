//! The real binary end to end: `rdlic server run` (SQLite, activated, a per-device key pack) and `rdlic host run`
//! enrolled with it, driven by xfreerdp 2.11 under `xvfb-run` with a fresh HOME.
//!
//! 1. first connection → temporary CAL stored by the client and recorded by the server;
//! 2. second connection → permanent CAL (upgrade), grace period ended;
//! 3. license server stopped: the device with a permanent CAL still connects (local validation), a new device
//!    is refused with ERRINFO_LICENSE_NO_LICENSE_SERVER; `rdlic grace` reports 0 days.
//!
//! Without the peers it prints a skip note, or fails when `RDLIC_REQUIRE_PEERS=1`.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rdlic_api::client::{AdminClient, LicenseServerClient};

mod common;

use common::{rdlic, start_until, Proc, Tmp, RDLIC};

fn peers_present() -> bool {
    let found = ["xfreerdp", "xvfb-run", "stdbuf"].iter().all(|tool| {
        Command::new("sh").arg("-c").arg(format!("command -v {tool}")).stdout(Stdio::null()).status().is_ok_and(|s| s.success())
    });
    if !found {
        common::skip_unless_required("xfreerdp, xvfb-run or stdbuf is missing");
    }
    found
}

fn xfreerdp(home: &Path, addr: &str, hostname: &str) -> (Option<i32>, String) {
    // The client's own exit status is printed after it: xvfb-run's hides it when xvfb-run fails to clean up its
    // temporary directory.
    let out = Command::new("xvfb-run")
        .args(["-a", "sh", "-c", r#""$@"; echo "rdlic-test-client-exit=$?" >&2"#, "xfreerdp", "stdbuf", "-oL", "xfreerdp"])
        .arg(format!("/v:{addr}"))
        .args(["/cert:ignore", "/u:alice", "/p:secret", "+auth-only", "/log-level:WARN"])
        .arg(format!("/client-hostname:{hostname}"))
        .arg("/log-filters:com.freerdp.core.connection:DEBUG,com.freerdp.core:INFO")
        .env("HOME", home)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let mut log = String::from_utf8_lossy(&out.stdout).into_owned();
    log.push_str(&String::from_utf8_lossy(&out.stderr));
    let code = log
        .rsplit_once("rdlic-test-client-exit=")
        .and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok())
        .or(out.status.code());
    (code, log)
}

fn licenses(data: &str) -> Vec<serde_json::Value> {
    let (code, out, err) = rdlic(&["license", "list", "--data", data, "--json"]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str::<serde_json::Value>(&out).unwrap()["licenses"].as_array().unwrap().clone()
}

fn start_host(dir: &str, offset_days: &str) -> (Proc, String) {
    start_until(
        Command::new(RDLIC)
            .args(["host", "run", "--dir", dir, "--listen", "127.0.0.1:0", "--clock-offset-days", offset_days])
            .env("RDLIC_LOG", "info").env("RDLIC_LANG", "en"),
        "rdlic host listening on ",
    )
}

#[test]
fn real_license_server_temporary_permanent_then_server_down() {
    if !peers_present() {
        return;
    }
    let tmp = Tmp::new("e2e");
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let ch = s(&tmp.0.join("ch"));
    let data = s(&tmp.0.join("data"));
    let host_dir = s(&tmp.0.join("host"));

    // License server: clearinghouse, activation, a per-device key pack.
    assert_eq!(rdlic(&["clearinghouse", "init", "--dir", &ch]).0, 0);
    let (server, url) = start_until(
        Command::new(RDLIC)
            .args(["server", "run", "--data", &data, "--listen", "127.0.0.1:0", "--clearinghouse-key"])
            .arg(tmp.0.join("ch").join("clearinghouse.pub"))
            .env("RDLIC_LOG", "info").env("RDLIC_LANG", "en"),
        " listening on ",
    );
    let req = s(&tmp.0.join("req.pem"));
    let (code, out, err) = rdlic(&["activate", "--data", &data, "--request", &req, "--json"]);
    assert_eq!(code, 0, "{err}");
    let sid = serde_json::from_str::<serde_json::Value>(&out).unwrap()["server_id"].as_str().unwrap().to_owned();
    let act = s(&tmp.0.join("act.txt"));
    assert_eq!(rdlic(&["clearinghouse", "activate", "--dir", &ch, "--request", &req, "--out", &act]).0, 0);
    assert_eq!(rdlic(&["activate", "--data", &data, &act]).0, 0);
    let pack = s(&tmp.0.join("pack.txt"));
    let (code, _, err) = rdlic(&[
        "clearinghouse", "keypack", "--dir", &ch, "--server-id", &sid, "--type", "per-device", "--version", "2022",
        "--count", "5", "--out", &pack,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(rdlic(&["keypack", "install", "--data", &data, &pack]).0, 0);

    // Host: enrolled with the server, per device, the server in SpecifiedLicenseServers (set with reg syntax).
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let admin = AdminClient::from_data_dir(Path::new(&data), Some(&url)).unwrap();
        let t = admin.post("/api/v1/admin/enroll-tokens", &serde_json::json!({})).await.unwrap();
        let ca = std::fs::read(Path::new(&data).join("ca.crt")).unwrap();
        LicenseServerClient::enroll(&url, t["token"].as_str().unwrap(), "rdsh01", Path::new(&host_dir), Some(&ca)).await.unwrap();
    });
    let core = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM\Licensing Core";
    let params = r"HKLM\SYSTEM\CurrentControlSet\Services\TermService\Parameters";
    assert_eq!(rdlic(&["reg", "--dir", &host_dir, "add", core, "/v", "LicensingMode", "/t", "REG_DWORD", "/d", "2"]).0, 0);
    assert_eq!(rdlic(&["reg", "--dir", &host_dir, "add", params, "/v", "SpecifiedLicenseServers", "/t", "REG_MULTI_SZ", "/d", &url]).0, 0);
    let (code, out, _) = rdlic(&["reg", "--dir", &host_dir, "query", core, "/v", "LicensingMode"]);
    assert_eq!(code, 0);
    assert!(out.contains("LicensingMode    REG_DWORD    0x2"), "{out}");

    let (host, addr) = start_host(&host_dir, "0");
    let home = tempfile_dir(&tmp, "home1");

    // 1. Temporary CAL: stored by the client, recorded by the server.
    let (code, log) = xfreerdp(&home, &addr, "dev01");
    assert_eq!(code, Some(0), "{log}");
    let store = home.join(".config/freerdp/licenses");
    assert_eq!(std::fs::read_dir(&store).unwrap().count(), 1, "no CAL stored by xfreerdp");
    let issued = licenses(&data);
    assert_eq!(issued.len(), 1, "{issued:?}");
    assert_eq!(issued[0]["kind"], "temporary", "{issued:?}");

    // 2. Permanent CAL on the next connection; the grace period ends.
    let (code, log) = xfreerdp(&home, &addr, "dev01");
    assert_eq!(code, Some(0), "{log}");
    assert!(licenses(&data).iter().any(|l| l["kind"] == "permanent"), "{:?}", licenses(&data));
    let (code, out, _) = rdlic(&["grace", "--dir", &host_dir]);
    assert_eq!(code, 0);
    assert!(out.contains("DaysLeft = 0;"), "{out}");

    // 3. License server down: the permanent CAL still validates locally; a new device is refused.
    drop(server);
    drop(host);
    let (_host, addr) = start_host(&host_dir, "0");
    let (code, log) = xfreerdp(&home, &addr, "dev01");
    assert_eq!(code, Some(0), "the device with a permanent CAL was refused while the server is down:\n{log}");
    let new_home = tempfile_dir(&tmp, "home2");
    let (code, log) = xfreerdp(&new_home, &addr, "dev02");
    assert_eq!(code, Some(131), "{log}");
    assert!(log.contains("ERRINFO_LICENSE_NO_LICENSE_SERVER"), "{log}");
}

fn tempfile_dir(tmp: &Tmp, name: &str) -> PathBuf {
    let p = tmp.0.join(name);
    std::fs::create_dir_all(&p).unwrap();
    p
}

#[test]
fn rdlic_up_serves_a_licensed_endpoint() {
    if !peers_present() {
        return;
    }
    let tmp = Tmp::new("up");
    let dir = tmp.0.join("demo");
    let (mut up, addr) = start_until(
        Command::new(RDLIC)
            .arg("up")
            .arg("--dir")
            .arg(&dir)
            .args(["--rdp-listen", "127.0.0.1:0"])
            .env("RDLIC_LOG", "info")
            .env("RDLIC_LANG", "en"),
        "rdlic host listening on ",
    );
    let home = tempfile_dir(&tmp, "home");
    let (code, log) = xfreerdp(&home, &addr, "demo01");
    assert_eq!(code, Some(0), "{log}");
    let issued = licenses(dir.join("server").to_str().unwrap());
    assert_eq!(issued.len(), 1, "{issued:?}");
    assert_eq!(issued[0]["kind"], "temporary");
    // SIGTERM (to `up`'s own pid): it stops the host and its license server.
    let pid = up.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = up.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
}
