//! Two license servers on one PostgreSQL database, the second started from the first's sealed bundle: a host
//! enrolled through one is served by the other, a request id retried on the other server gets the same CAL, both
//! list each other with their heartbeats (`GET /api/v1/admin/servers`, `/metrics`), a host revoked through one is
//! refused by the other within the host cache's 2 s, a web sign-in made on one works on the other and a sign-out on
//! either ends it, a clean stop shows as stopped, and a stopped server can be forgotten (a live one or the
//! answering one cannot).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{ask, Backend, Fixture};
use rdlic_api::client::{AdminClient, LicenseServerClient};
use rdlic_core::CalType;

/// Polls `f` every 100 ms until it returns true or `limit` passes; whether it did.
async fn within<F, Fut>(limit: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if f().await {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_serve_one_identity() {
    if !common::backends().contains(&Backend::Postgres) {
        eprintln!("skipping: RDLIC_TEST_PG_URL is unset");
        return;
    }
    let a = Fixture::start(Backend::Postgres).await;
    a.activate().await;
    a.install(&a.vendor.pack(a.server_id(), CalType::PerDevice, 2022, 5)).await.unwrap();

    // The second server: the bundle, then a plain start on the same database.
    let sealed = rdlic_server::bundle::export(&a.data, "a long enough passphrase").unwrap();
    let data_b = a.tmp.0.join("ls2");
    rdlic_server::bundle::unpack(&sealed, "a long enough passphrase", &data_b).unwrap();
    let mut opts = rdlic_server::ServerOptions::new(data_b.clone());
    opts.database = a.database.clone();
    let b = rdlic_server::start(opts).await.unwrap();
    assert_eq!(b.state.server_id(), a.server_id());
    assert_ne!(b.state.cluster.node_id, a.server.state.cluster.node_id);

    // A host enrolled through A is served by B (same CA, same database), with the same license server identity.
    a.enroll("h1").await;
    let host_dir = a.tmp.0.join("host-h1");
    let via_a = LicenseServerClient::from_dir(&host_dir, Some(&a.server.url)).unwrap();
    let via_b = LicenseServerClient::from_dir(&host_dir, Some(&b.url)).unwrap();
    let chain_a = via_a.server_chain().await.unwrap();
    assert_eq!(via_b.server_chain().await.unwrap(), chain_a);

    // One licensing attempt sent to A then retried on B: the same CAL; a new attempt upgrades it.
    let mut attempt = ask(1);
    attempt.request_id = Some("attempt-1".into());
    let first = via_a.issue_device_cal(&attempt).await.unwrap();
    assert!(!first.permanent);
    let retried = via_b.upgrade(&attempt).await.unwrap();
    assert_eq!((retried.serial.as_str(), retried.permanent), (first.serial.as_str(), false));
    attempt.request_id = Some("attempt-2".into());
    let upgraded = via_b.upgrade(&attempt).await.unwrap();
    assert!(upgraded.permanent);
    assert_ne!(upgraded.serial, first.serial);
    // A bad request id is refused, not ignored.
    attempt.request_id = Some("has space".into());
    let bad = via_b.upgrade(&attempt).await.unwrap_err();
    assert_eq!(bad.status(), Some(400), "{bad}");

    // Both list both, alive.
    let admin_b = AdminClient::from_data_dir(&data_b, Some(&b.url)).unwrap();
    for admin in [&a.admin, &admin_b] {
        let seen = within(Duration::from_secs(10), || async {
            let v = admin.get("/api/v1/admin/servers").await.unwrap();
            let servers = v["servers"].as_array().cloned().unwrap_or_default();
            servers.len() == 2 && servers.iter().all(|s| s["alive"] == true)
        })
        .await;
        assert!(seen, "{}", admin.get("/api/v1/admin/servers").await.unwrap());
    }
    let metrics = admin_b.get_text("/metrics").await.unwrap();
    assert!(metrics.contains("rdlic_cluster_servers_alive 2"), "{metrics}");
    assert!(metrics.contains(&format!("rdlic_cluster_server_up{{server=\"{}\"", a.server.state.cluster.node_id)), "{metrics}");

    // A web sign-in on A works on B; signing out on B ends it on A.
    let hash = rdlic_server::password::hash("correct horse battery").unwrap();
    let store = a.server.state.store().clone();
    tokio::task::spawn_blocking(move || store.set_admin_password_hash(&hash, "test", common::now())).await.unwrap().unwrap();
    let ca = openssl::x509::X509::from_pem(&a.ca_pem()).unwrap();
    let anon = AdminClient::new(&a.server.url, &ca, "none").unwrap();
    let login = anon.post("/api/v1/admin/login", &serde_json::json!({ "password": "correct horse battery" })).await.unwrap();
    let session = login["token"].as_str().unwrap().to_owned();
    let on_a = AdminClient::new(&a.server.url, &ca, &session).unwrap();
    let on_b = AdminClient::new(&b.url, &ca, &session).unwrap();
    on_b.get("/api/v1/admin/hosts").await.unwrap();
    on_a.get("/api/v1/admin/hosts").await.unwrap();
    let out = on_b.post("/api/v1/admin/logout", &serde_json::json!({})).await.unwrap();
    assert_eq!(out["ended"], true);
    assert_eq!(on_a.get("/api/v1/admin/hosts").await.unwrap_err().status(), Some(401));

    // A host revoked through A: B refuses it once its host cache entry (2 s) ran out.
    let hosts = a.admin.get("/api/v1/admin/hosts").await.unwrap();
    let id = hosts["hosts"][0]["id"].as_str().unwrap().to_owned();
    a.admin.post(&format!("/api/v1/admin/hosts/{id}/revoke"), &serde_json::json!({})).await.unwrap();
    assert_eq!(via_a.status().await.unwrap_err().status(), Some(403));
    let started = Instant::now();
    let refused = within(Duration::from_secs(10), || async { via_b.status().await.is_err_and(|e| e.status() == Some(403)) }).await;
    assert!(refused, "B still serves a host revoked through A");
    eprintln!("revocation through A seen by B after {} ms", started.elapsed().as_millis());

    // Forgetting: not the server that answers, not a live one.
    let b_id = b.state.cluster.node_id.clone();
    let a_id = a.server.state.cluster.node_id.clone();
    let own = a.admin.post(&format!("/api/v1/admin/servers/{a_id}/forget"), &serde_json::json!({})).await.unwrap_err();
    assert_eq!(own.status(), Some(409), "{own}");
    assert!(own.to_string().contains("server_is_this_one"), "{own}");
    let alive = a.admin.post(&format!("/api/v1/admin/servers/{b_id}/forget"), &serde_json::json!({})).await.unwrap_err();
    assert_eq!(alive.status(), Some(409), "{alive}");
    assert!(alive.to_string().contains("server_alive"), "{alive}");

    // A clean stop is recorded.
    b.shutdown().await;
    let store = a.server.state.store().clone();
    let servers = tokio::task::spawn_blocking(move || store.list_servers()).await.unwrap().unwrap();
    let row = servers.iter().find(|s| s.id == b_id).unwrap();
    assert!(row.stopped_at.is_some(), "{row:?}");

    // A stopped server is forgotten (audited), leaves the list of every server, and a second attempt finds nothing.
    let gone = a.admin.post(&format!("/api/v1/admin/servers/{b_id}/forget"), &serde_json::json!({})).await.unwrap();
    assert_eq!(gone["forgotten"], true, "{gone}");
    assert_eq!(gone["url"], row.url.as_str(), "{gone}");
    let left = within(Duration::from_secs(10), || async {
        let v = a.admin.get("/api/v1/admin/servers").await.unwrap();
        let ids: Vec<String> = v["servers"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect();
        ids == [a_id.clone()]
    })
    .await;
    assert!(left, "{}", a.admin.get("/api/v1/admin/servers").await.unwrap());
    let again = a.admin.post(&format!("/api/v1/admin/servers/{b_id}/forget"), &serde_json::json!({})).await.unwrap_err();
    assert_eq!(again.status(), Some(404), "{again}");
    let audit = a.admin.get("/api/v1/admin/audit?limit=10000").await.unwrap();
    assert!(
        audit["entries"].as_array().unwrap().iter().any(|e| e["kind"] == "server-forget" && e["subject"] == b_id.as_str()),
        "no server-forget audit entry for {b_id}: {audit}"
    );
}
