//! What session hosts report and what the admin page reads, over real TLS on 127.0.0.1 with a real store (SQLite,
//! and PostgreSQL when `RDLIC_TEST_PG_URL` is set): `POST /api/v1/host/report`, `GET /api/v1/admin/refusals`,
//! `GET /api/v1/admin/hosts` (with the latest report), `GET /api/v1/admin/hosts/{id}/report`, the structured 409 of
//! a refused revocation, and `POST /api/v1/admin/login`.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ask, backends, now, Fixture};
use rdlic_core::CalType;
use rdlic_api::client::{AdminClient, LicenseServerClient};

fn report(refusals: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "licensing_mode": "not-configured",
        "grace": { "state": "expired", "days_left": null },
        "can_license": false,
        "findings": [
            { "check": "licensing-mode", "server": null, "severity": "error", "cause": "licensing-mode-not-configured",
              "cause_text": "The licensing mode is not configured", "evidence": "LicensingMode = 0 (not configured)",
              "evidence_key": "ev-mode", "evidence_args": {}, "article_cause": 2,
              "fixes": [{ "command": "rdlic reg --dir /h add ... /v LicensingMode /d 2", "text": "per device", "applied_by_fix": true, "restart": true }] },
            { "check": "license-server-reachable", "server": "https://ls1:8443", "severity": "ok", "cause": null,
              "evidence": "reachable in 0.4 ms", "fixes": [] }
        ],
        "refusals": refusals,
    }))
    .unwrap()
}

fn refusal(at: i64, client: &str) -> serde_json::Value {
    serde_json::json!({ "at": at, "client": client, "user": "WORKGROUP\\alice",
        "decision": "refuse error_code=0x6 errinfo=0x101", "reason": "licensing mode not configured and the grace period is over",
        "errinfo": 257, "license_server": null })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_report_shows_up_in_refusals_and_hosts() {
    for backend in backends() {
        let fx = Fixture::start(backend).await;
        let host = fx.enroll("rdsh01").await;
        let other = fx.enroll("rdsh02").await;
        let t = now();

        // Before any report: no refusals, the host's report is null, and its report endpoint says why in words.
        let empty = fx.admin.get("/api/v1/admin/refusals").await.unwrap();
        assert_eq!(empty["refusals"].as_array().unwrap().len(), 0, "{backend:?}");
        let hosts = fx.admin.get("/api/v1/admin/hosts").await.unwrap();
        assert!(hosts["hosts"][0]["report"].is_null(), "{hosts}");
        let id = hosts["hosts"][0]["id"].as_str().unwrap().to_owned();
        let (status, body) = fx.admin.request_raw("GET", &format!("/api/v1/admin/hosts/{id}/report"), None).await.unwrap();
        assert_eq!(status, 404, "{body}");
        assert!(body.contains("has not reported yet"), "{body}");

        // The host reports two refusals; the other host one.
        let (status, body) = host
            .request_raw("POST", "/api/v1/host/report", Some(report(serde_json::json!([refusal(t - 5, "PC1"), refusal(t - 4, "PC2")]))))
            .await
            .unwrap();
        assert_eq!(status, 200, "{backend:?}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["refusals_recorded"], 2);
        let (status, _) =
            other.request_raw("POST", "/api/v1/host/report", Some(report(serde_json::json!([refusal(t - 1, "PC3")])))).await.unwrap();
        assert_eq!(status, 200);

        let r = fx.admin.get("/api/v1/admin/refusals").await.unwrap();
        let list = r["refusals"].as_array().unwrap();
        let clients: Vec<_> = list.iter().map(|x| x["client"].as_str().unwrap()).collect();
        assert_eq!(clients, ["PC3", "PC2", "PC1"], "newest first: {r}");
        assert_eq!(list[1]["host"], "rdsh01");
        assert_eq!(list[1]["user"], "WORKGROUP\\alice");
        assert_eq!(list[1]["errinfo"], 257);
        assert_eq!(list[1]["errinfo_hex"], "0x00000101");
        assert_eq!(list[1]["at"], t - 4);
        assert_eq!(r["latest_id"], list[0]["id"]);
        // Polling with the newest id seen: nothing new; a limit keeps the newest.
        let again = fx.admin.get(&format!("/api/v1/admin/refusals?after={}", r["latest_id"])).await.unwrap();
        assert_eq!(again["refusals"].as_array().unwrap().len(), 0);
        let one = fx.admin.get("/api/v1/admin/refusals?limit=1").await.unwrap();
        assert_eq!(one["refusals"][0]["client"], "PC3");

        // Hosts carry their latest report: grace, mode, findings with their fix commands.
        let hosts = fx.admin.get("/api/v1/admin/hosts").await.unwrap();
        let h1 = hosts["hosts"].as_array().unwrap().iter().find(|h| h["name"] == "rdsh01").unwrap().clone();
        assert!(h1["last_contact"].as_i64().unwrap() >= t - 60, "{h1}");
        let rep = &h1["report"];
        assert_eq!(rep["grace"]["state"], "expired", "{h1}");
        assert_eq!(rep["licensing_mode"], "not-configured");
        assert_eq!(rep["can_license"], false);
        assert_eq!(rep["findings"].as_array().unwrap().len(), 2);
        assert_eq!(rep["findings"][0]["severity"], "error");
        assert_eq!(rep["findings"][0]["fixes"][0]["command"], "rdlic reg --dir /h add ... /v LicensingMode /d 2");
        assert_eq!(rep["findings"][1]["server"], "https://ls1:8443");
        let one = fx.admin.get(&format!("/api/v1/admin/hosts/{}/report", h1["id"].as_str().unwrap())).await.unwrap();
        assert_eq!((one["host"].as_str(), one["findings"].as_array().map(Vec::len)), (Some("rdsh01"), Some(2)));

        // A newer report replaces the findings and the grace state; refusals accumulate.
        let newer = serde_json::json!({ "licensing_mode": "per-device", "grace": { "state": "running", "days_left": 97 },
            "can_license": true, "findings": [], "refusals": [] });
        let (status, _) = host.request_raw("POST", "/api/v1/host/report", Some(serde_json::to_vec(&newer).unwrap())).await.unwrap();
        assert_eq!(status, 200);
        let one = fx.admin.get(&format!("/api/v1/admin/hosts/{}/report", h1["id"].as_str().unwrap())).await.unwrap();
        assert_eq!((one["grace"]["days_left"].as_u64(), one["findings"].as_array().map(Vec::len)), (Some(97), Some(0)), "{one}");
        assert_eq!(fx.admin.get("/api/v1/admin/refusals").await.unwrap()["refusals"].as_array().unwrap().len(), 3);

        // Bad input: 4xx with a message naming the field; nothing recorded. (A bad finding or refusal entry is dropped
        // or kept escaped instead: tests/hardening.rs.)
        for (body, needle) in [
            (br#"{"licensing_mode":"per-device","grace":{"state":"forever"}}"#.to_vec(), "grace.state"),
            (br#"{"licensing_mode":"per-device"}"#.to_vec(), "grace"),
            (b"not json".to_vec(), "not valid JSON"),
        ] {
            let (status, text) = host.request_raw("POST", "/api/v1/host/report", Some(body)).await.unwrap();
            assert_eq!(status, 400, "{text}");
            let e: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert!(e["error"].as_str().unwrap().contains(needle), "{needle}: {text}");
        }
        let (status, text) = fx.admin.request_raw("GET", "/api/v1/admin/refusals?limit=0", None).await.unwrap();
        assert_eq!(status, 400, "{text}");
        let (status, _) = fx.admin.request_raw("GET", "/api/v1/admin/refusals?limit=abc", None).await.unwrap();
        assert_eq!(status, 400);
        assert_eq!(fx.admin.get("/api/v1/admin/refusals").await.unwrap()["refusals"].as_array().unwrap().len(), 3);

        // Who may call what: no client certificate → 401; the admin endpoints need the admin token.
        let ca = rdlic_api::tls::first_cert(&fx.ca_pem()).unwrap();
        let anon = LicenseServerClient::new(&fx.server.url, &ca, None).unwrap();
        let (status, _) = anon.request_raw("POST", "/api/v1/host/report", Some(report(serde_json::json!([])))).await.unwrap();
        assert_eq!(status, 401);
        let (status, _) = host.request_raw("GET", "/api/v1/admin/refusals", None).await.unwrap();
        assert_eq!(status, 401);
        // A revoked host cannot report.
        fx.admin.post(&format!("/api/v1/admin/hosts/{}/revoke", h1["id"].as_str().unwrap()), &serde_json::json!({})).await.unwrap();
        let (status, text) = host.request_raw("POST", "/api/v1/host/report", Some(report(serde_json::json!([])))).await.unwrap();
        assert_eq!(status, 403, "{text}");
        fx.server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_revocation_carries_the_numbers_of_the_rule() {
    for backend in backends() {
        let fx = Fixture::start(backend).await;
        fx.activate().await;
        fx.install(&fx.vendor.pack(fx.server_id(), CalType::PerDevice, 2022, 5)).await.unwrap();
        let host = fx.enroll("h").await;
        let mut serials = Vec::new();
        for n in 0..2 {
            host.issue_device_cal(&ask(n)).await.unwrap();
            serials.push(host.upgrade(&ask(n)).await.unwrap().serial);
        }
        fx.admin.post(&format!("/api/v1/admin/licenses/{}/revoke", serials[0]), &serde_json::json!({})).await.unwrap();
        let (status, text) =
            fx.admin.request_raw("POST", &format!("/api/v1/admin/licenses/{}/revoke", serials[1]), None).await.unwrap();
        assert_eq!(status, 409, "{text}");
        let e: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(e["code"], "revocation_refused");
        assert_eq!(e["reason"], "limit_reached");
        assert_eq!((e["cal_type"].as_str(), e["cal_version"].as_u64()), (Some("per-device"), Some(2022)));
        // max(1, 20 % of 5) = 1, and 1 is revoked.
        assert_eq!((e["limit"].as_u64(), e["revoked"].as_u64(), e["percent"].as_u64()), (Some(1), Some(1), Some(20)), "{e}");
        let next = e["next_allowed_at"].as_i64().unwrap();
        let cal = fx.admin.get("/api/v1/admin/licenses").await.unwrap();
        let revoked = cal["licenses"].as_array().unwrap().iter().find(|c| c["status"] == "revoked").unwrap().clone();
        assert_eq!(next, revoked["expires_at"].as_i64().unwrap(), "the revoked CAL leaves the revoked state at its expiry");
        assert!(e["error"].as_str().unwrap().contains("next revocation"), "{e}");
        // A temporary CAL: another reason, no numbers.
        let t = host.issue_device_cal(&ask(9)).await.unwrap();
        let (status, text) =
            fx.admin.request_raw("POST", &format!("/api/v1/admin/licenses/{}/revoke", t.serial), None).await.unwrap();
        assert_eq!(status, 409);
        let e: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(e["reason"], "not_permanent", "{e}");
        assert!(e.get("limit").is_none());
        fx.server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_with_the_password_gives_a_web_session() {
    for backend in backends() {
        let fx = Fixture::start(backend).await;
        let ca = rdlic_api::tls::first_cert(&fx.ca_pem()).unwrap();
        // A browser that knows no token yet.
        let browser = AdminClient::new(&fx.server.url, &ca, "nothing").unwrap();
        let login = |password: &str| serde_json::to_vec(&serde_json::json!({ "password": password })).unwrap();

        // No password set yet: 401 that says how to set one (the same answer as for a wrong password).
        let (status, text) = browser.request_raw("POST", "/api/v1/admin/login", Some(login("whatever1"))).await.unwrap();
        assert_eq!(status, 401, "{text}");
        assert!(text.contains("wrong_password") && text.contains("rdlic server init"), "{text}");

        let hash = rdlic_server::password::hash("correct horse battery").unwrap();
        let store = fx.server.state.store().clone();
        tokio::task::spawn_blocking(move || store.set_admin_password_hash(&hash, "test", now())).await.unwrap().unwrap();

        let (status, text) = browser.request_raw("POST", "/api/v1/admin/login", Some(login("wrong horse battery"))).await.unwrap();
        assert_eq!(status, 401, "{text}");
        assert!(text.contains("wrong_password"), "{text}");
        let (status, _) = browser.request_raw("POST", "/api/v1/admin/login", Some(login(""))).await.unwrap();
        assert_eq!(status, 400);
        let (status, _) = browser.request_raw("POST", "/api/v1/admin/login", Some(b"{\"pass\":\"x\"}".to_vec())).await.unwrap();
        assert_eq!(status, 400);

        let (status, text) = browser.request_raw("POST", "/api/v1/admin/login", Some(login("correct horse battery"))).await.unwrap();
        assert_eq!(status, 200, "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        // A session token of its own, not the admin token, that expires within a day.
        let admin_token = std::fs::read_to_string(fx.data.join("admin.token")).unwrap();
        let session = v["token"].as_str().unwrap().to_owned();
        assert_ne!(session, admin_token.trim());
        let expires_at = v["expires_at"].as_i64().unwrap();
        assert!(expires_at > now() && expires_at <= now() + 24 * 3600, "{v}");
        let signed_in = AdminClient::new(&fx.server.url, &ca, &session).unwrap();
        signed_in.get("/api/v1/admin/hosts").await.unwrap();
        // A forged session token is refused; signing out ends the session, the admin token keeps working.
        let forged = AdminClient::new(&fx.server.url, &ca, &format!("{session}0")).unwrap();
        assert_eq!(forged.get("/api/v1/admin/hosts").await.unwrap_err().status(), Some(401));
        let out = signed_in.post("/api/v1/admin/logout", &serde_json::json!({})).await.unwrap();
        assert_eq!(out["ended"], true, "{out}");
        let err = signed_in.get("/api/v1/admin/hosts").await.unwrap_err();
        assert_eq!(err.status(), Some(401), "{err}");
        assert!(err.to_string().contains("sign in again"), "{err}");
        fx.admin.get("/api/v1/admin/hosts").await.unwrap();
        // Both attempts are in the audit log, without the password.
        let audit = fx.admin.get("/api/v1/admin/audit").await.unwrap();
        let logins: Vec<_> = audit["entries"].as_array().unwrap().iter().filter(|e| e["kind"] == "admin-login").collect();
        assert_eq!(logins.len(), 2, "{audit}");
        assert!(!audit.to_string().contains("horse"));
        fx.server.shutdown().await;
    }
}
