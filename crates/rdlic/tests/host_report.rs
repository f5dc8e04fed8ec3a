//! The real binary end to end, no browser: `rdlic server init --admin-password-stdin`, `rdlic server run`, and
//! `rdlic host run` enrolled with it, past its grace period with the licensing mode not configured. A real RDP
//! client (`rdlic probe`, the in-process IronRDP-based probe) is refused by the host; the host reports the refusal
//! and its diagnose findings to the license server, where the admin API lists them.
#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rdlic_api::client::{AdminClient, LicenseServerClient};

mod common;

use common::{rdlic, start_until, Tmp, RDLIC};

/// Polls `f` until it returns `Some`, for at most `secs` seconds (a condition wait, not a timing assumption).
async fn until<T>(secs: u64, what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_client_appears_in_the_license_server_refusals_with_the_host_findings() {
    let tmp = Tmp::new("report");
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let data = s(&tmp.0.join("data"));
    let host_dir = s(&tmp.0.join("host"));

    // `server init` with a password on stdin: prints the admin token of the data dir it made.
    let mut init = Command::new(RDLIC)
        .args(["server", "init", "--data", &data, "--admin-password-stdin"])
        .env("RDLIC_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    init.stdin.take().unwrap().write_all(b"s3cret-horse\n").unwrap();
    let out = init.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = std::fs::read_to_string(Path::new(&data).join("admin.token")).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), token.trim());
    // Too short a password is refused in words.
    let (code, _, err) = {
        let mut c = Command::new(RDLIC)
            .args(["server", "init", "--data", &data, "--admin-password-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin.take().unwrap().write_all(b"short\n").unwrap();
        let o = c.wait_with_output().unwrap();
        (o.status.code(), String::new(), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    assert_ne!(code, Some(0));
    assert!(err.contains("8 to 1024 bytes"), "{err}");

    // The server keeps the data dir made by init (same token), and the password signs in.
    let (_server, url) = start_until(
        Command::new(RDLIC).args(["server", "run", "--data", &data, "--listen", "127.0.0.1:0"]).env("RDLIC_LOG", "info"),
        " listening on ",
    );
    let url = url.split_whitespace().next().unwrap().to_owned();
    let admin = AdminClient::from_data_dir(Path::new(&data), Some(&url)).unwrap();
    let (status, body) = admin
        .request_raw("POST", "/api/v1/admin/login", Some(serde_json::to_vec(&serde_json::json!({ "password": "s3cret-horse" })).unwrap()))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    // A web session of its own, not the admin token printed by `server init`, that opens the admin API.
    let session: serde_json::Value = serde_json::from_str(&body).unwrap();
    let session = session["token"].as_str().unwrap();
    assert!(session.starts_with("session-") && !body.contains(token.trim()), "{body}");
    let ca_cert = openssl::x509::X509::from_pem(&std::fs::read(Path::new(&data).join("ca.crt")).unwrap()).unwrap();
    let signed_in = AdminClient::new(&url, &ca_cert, session).unwrap();
    signed_in.get("/api/v1/admin/hosts").await.unwrap();

    // A host enrolled with the server, licensing mode not configured, first started 200 days ago.
    let t = admin.post("/api/v1/admin/enroll-tokens", &serde_json::json!({})).await.unwrap();
    let ca = std::fs::read(Path::new(&data).join("ca.crt")).unwrap();
    LicenseServerClient::enroll(&url, t["token"].as_str().unwrap(), "rdsh01", Path::new(&host_dir), Some(&ca)).await.unwrap();
    let params = r"HKLM\SYSTEM\CurrentControlSet\Services\TermService\Parameters";
    let (code, _, err) = rdlic(&["reg", "--dir", &host_dir, "add", params, "/v", "SpecifiedLicenseServers", "/t", "REG_MULTI_SZ", "/d", &url]);
    assert_eq!(code, 0, "{err}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    rdlic_host::grace::GraceRecord::new(now - 200 * 86_400).save(Path::new(&host_dir)).unwrap();
    let (_host, addr) = start_until(
        Command::new(RDLIC)
            .args(["host", "run", "--dir", &host_dir, "--listen", "127.0.0.1:0", "--report-interval-secs", "3600"])
            .env("RDLIC_LOG", "info")
            .env("LANG", "C"),
        "rdlic host listening on ",
    );

    // The report sent at start: grace period over, mode not configured, diagnose findings with the fix.
    let host = until(60, "the host's first report", async || {
        let hosts = admin.get("/api/v1/admin/hosts").await.ok()?;
        let h = hosts["hosts"].as_array()?.iter().find(|h| h["name"] == "rdsh01")?.clone();
        (!h["report"].is_null()).then_some(h)
    })
    .await;
    let report = &host["report"];
    assert_eq!(report["grace"]["state"], "expired", "{host}");
    assert_eq!(report["licensing_mode"], "not-configured", "{host}");
    assert_eq!(report["can_license"], false, "{host}");
    let findings = report["findings"].as_array().unwrap();
    let bad: Vec<_> = findings.iter().filter(|f| f["severity"] == "error").collect();
    assert!(!bad.is_empty(), "{report}");
    assert!(bad.iter().any(|f| f["fixes"].as_array().is_some_and(|x| !x.is_empty())), "an error finding with a fix: {report}");
    assert!(findings.iter().any(|f| f["server"].as_str() == Some(url.as_str())), "the license server was checked: {report}");
    assert!(admin.get("/api/v1/admin/refusals").await.unwrap()["refusals"].as_array().unwrap().is_empty());

    // A real client is refused by the host...
    let out = Command::new(RDLIC)
        .args(["probe", &addr, "--json", "--client-hostname", "PROBE-PC", "--user", "bob", "--timeout", "20"])
        .env("LANG", "C")
        .output()
        .unwrap();
    let probe: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "the probe was not refused: {probe}");

    // ...and the refusal reaches the license server without waiting for the next periodic report.
    let refusal = until(30, "the refusal at the license server", async || {
        let r = admin.get("/api/v1/admin/refusals").await.ok()?;
        r["refusals"].as_array()?.first().cloned()
    })
    .await;
    assert_eq!(refusal["client"], "PROBE-PC", "{refusal}");
    assert_eq!(refusal["host"], "rdsh01");
    assert!(refusal["user"].as_str().unwrap().ends_with("bob"), "{refusal}");
    assert_eq!(refusal["errinfo"], 0x101, "ERRINFO_LICENSE_NO_LICENSE_SERVER: {refusal}");
    assert!(refusal["reason"].as_str().unwrap().contains("grace period is over"), "{refusal}");
    assert_eq!(probe["error_info"].as_u64(), Some(0x101), "the client saw the same ERRINFO: {probe}");
    // Reported once: the host records the offset right after the server accepted the report (the server may show
    // the refusal a moment before the host has written it).
    let log_len = std::fs::metadata(Path::new(&host_dir).join("decisions.jsonl")).unwrap().len();
    let offset_file = Path::new(&host_dir).join("report.offset");
    until(10, "the host to record the reported offset", async || {
        let offset = rdlic_host::decisionlog::LogPosition::parse(&std::fs::read_to_string(&offset_file).ok()?)?.offset;
        assert!(offset <= log_len, "offset {offset} past the end of the log ({log_len})");
        (offset == log_len).then_some(())
    })
    .await;
}

/// A refusal whose user name holds a tab (a control character, which the license server refuses in names) does not
/// wedge the host's reports: the report goes, with the name escaped, and the host's offset moves past it. A 90
/// character CJK user name goes through as it is. The same report loop renews the host's enrollment certificate
/// when it ends in less than 30 days (the host clock is run 800 days ahead: 25 days are left of its 825).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tab_in_a_user_name_does_not_wedge_reports_and_the_host_renews_its_certificate() {
    let tmp = Tmp::new("report-tab");
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let data = s(&tmp.0.join("data"));
    let host_dir = s(&tmp.0.join("host"));
    let (_server, url) = start_until(
        Command::new(RDLIC).args(["server", "run", "--data", &data, "--listen", "127.0.0.1:0"]).env("RDLIC_LOG", "info"),
        " listening on ",
    );
    let url = url.split_whitespace().next().unwrap().to_owned();
    let admin = AdminClient::from_data_dir(Path::new(&data), Some(&url)).unwrap();
    let t = admin.post("/api/v1/admin/enroll-tokens", &serde_json::json!({})).await.unwrap();
    let ca = std::fs::read(Path::new(&data).join("ca.crt")).unwrap();
    LicenseServerClient::enroll(&url, t["token"].as_str().unwrap(), "rdsh02", Path::new(&host_dir), Some(&ca)).await.unwrap();
    let params = r"HKLM\SYSTEM\CurrentControlSet\Services\TermService\Parameters";
    let (code, _, err) = rdlic(&["reg", "--dir", &host_dir, "add", params, "/v", "SpecifiedLicenseServers", "/t", "REG_MULTI_SZ", "/d", &url]);
    assert_eq!(code, 0, "{err}");
    let cert_file = Path::new(&host_dir).join(rdlic_api::client::HOST_CERT_FILE);
    let enrolled_cert = std::fs::read(&cert_file).unwrap();

    // Two refusals already in the decision log: a tab in one user name, ninety CJK characters in the other.
    let cjk: String = "山田太郎花子".chars().cycle().take(90).collect();
    let at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let line = |client: &str, user: &str| {
        format!(
            "{}\n",
            serde_json::json!({ "at": at, "client": client, "user": user, "hardware_id": "00", "mode": 2,
                "decision": "refuse error_code=0x6 errinfo=0x101", "reason": "test", "license_server": null, "events": [] })
        )
    };
    let log = format!("{}{}", line("PC-TAB", "WORKGROUP\\bad\tuser"), line("PC-CJK", &format!("WORKGROUP\\{cjk}")));
    let log_path = Path::new(&host_dir).join("decisions.jsonl");
    std::fs::write(&log_path, &log).unwrap();

    let (_host, _addr) = start_until(
        Command::new(RDLIC)
            .args(["host", "run", "--dir", &host_dir, "--listen", "127.0.0.1:0", "--report-interval-secs", "3600", "--clock-offset-days", "800"])
            .env("RDLIC_DEMO", "1")
            .env("RDLIC_LOG", "info")
            .env("LANG", "C"),
        "rdlic host listening on ",
    );

    // The host records the position past both refusals once the server took them.
    let offset_file = Path::new(&host_dir).join("report.offset");
    let log_len = u64::try_from(log.len()).unwrap();
    until(60, "the host to move its report offset past the refusals", async || {
        let position = rdlic_host::decisionlog::LogPosition::parse(&std::fs::read_to_string(&offset_file).ok()?)?;
        (position.offset == log_len).then_some(())
    })
    .await;
    let refusals = admin.get("/api/v1/admin/refusals").await.unwrap();
    let list = refusals["refusals"].as_array().unwrap();
    let user_of = |client: &str| list.iter().find(|r| r["client"] == client).map(|r| r["user"].as_str().unwrap().to_owned());
    assert_eq!(user_of("PC-TAB").as_deref(), Some("WORKGROUP\\bad\\tuser"), "escaped, not refused: {refusals}");
    assert_eq!(user_of("PC-CJK"), Some(format!("WORKGROUP\\{cjk}")), "{refusals}");

    // The certificate was renewed before that report, and the report went with it.
    let renewed_cert = std::fs::read(&cert_file).unwrap();
    assert_ne!(renewed_cert, enrolled_cert, "the host renewed its enrollment certificate");
    let end = |pem: &[u8]| {
        let c = openssl::x509::X509::from_pem(pem).unwrap();
        let epoch = openssl::asn1::Asn1Time::from_unix(0).unwrap();
        let d = epoch.diff(c.not_after()).unwrap();
        i64::from(d.days) * 86_400 + i64::from(d.secs)
    };
    assert!(end(&renewed_cert) >= end(&enrolled_cert), "a new 825-day certificate");
    let audit = admin.get("/api/v1/admin/audit").await.unwrap();
    assert!(audit["entries"].as_array().unwrap().iter().any(|e| e["kind"] == "host-certificate-renewal"), "{audit}");
}
