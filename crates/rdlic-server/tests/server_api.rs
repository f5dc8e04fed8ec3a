//! The license server over real TLS on 127.0.0.1 with a real store: enrollment, issuance lifecycle, key pack
//! verification, bad input, revocation limit, metrics, database outage.
#![allow(clippy::unwrap_used)]

mod common;

use common::{ask, backends, now, Backend, Fixture};
use rdlic_core::policy::{PERMANENT_MAX_DAYS, PERMANENT_MIN_DAYS, TEMPORARY_CAL_DAYS};
use rdlic_core::{CalType, DAY};
use rdlic_api::client::LicenseServerClient;
use rdlic_api::ClientError;

fn api_code(e: &ClientError) -> (u16, String, String) {
    match e {
        ClientError::Api { status, code, message } => (*status, code.clone(), message.clone()),
        other => panic!("expected an API error, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrollment_token_is_one_time_and_only_enrolled_hosts_are_served() {
    for backend in backends() {
        let fx = Fixture::start(backend).await;
        let v = fx.admin.post("/api/v1/admin/enroll-tokens", &serde_json::json!({ "ttl_seconds": 600 })).await.unwrap();
        let token = v["token"].as_str().unwrap().to_owned();
        let dir = fx.tmp.0.join("h1");
        let r = LicenseServerClient::enroll(&fx.server.url, &token, "host1", &dir, Some(&fx.ca_pem())).await.unwrap();
        assert_eq!(r.server_id, fx.server_id().to_string());
        // The key never left the host and is private.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.join("client.key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{backend:?}");
            let mode = std::fs::metadata(fx.data.join("identity.key")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let mode = std::fs::metadata(fx.data.join("admin.token")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let host = LicenseServerClient::from_dir(&dir, None).unwrap();
        let st = host.status().await.unwrap();
        assert!(!st.activated);

        // The same token a second time: refused.
        let again = LicenseServerClient::enroll(&fx.server.url, &token, "host2", &fx.tmp.0.join("h2"), Some(&fx.ca_pem()))
            .await
            .unwrap_err();
        let (status, code, msg) = api_code(&again);
        assert_eq!((status, code.as_str()), (403, "token_refused"), "{msg}");
        assert!(msg.contains("already used"), "{msg}");

        // An unknown token: refused.
        let bogus = LicenseServerClient::enroll(&fx.server.url, "00ff", "host3", &fx.tmp.0.join("h3"), None)
            .await
            .unwrap_err();
        assert_eq!(api_code(&bogus).0, 403);

        // No client certificate: the host endpoints answer 401 with what to do.
        let ca = rdlic_api::tls::first_cert(&fx.ca_pem()).unwrap();
        let anon = LicenseServerClient::new(&fx.server.url, &ca, None).unwrap();
        assert!(anon.ping().await.unwrap().ok);
        let (status, code, msg) = api_code(&anon.issue_device_cal(&ask(1)).await.unwrap_err());
        assert_eq!((status, code.as_str()), (401, "unauthorized"));
        assert!(msg.contains("rdlic host enroll"), "{msg}");

        // A certificate signed by this server's CA but never recorded as an enrolled host: 403.
        let ca_key = openssl::pkey::PKey::private_key_from_pem(&std::fs::read(fx.data.join("ca.key")).unwrap()).unwrap();
        let k = rdlic_api::pki::generate_ec().unwrap();
        let pubk = openssl::pkey::PKey::public_key_from_der(&k.public_key_to_der().unwrap()).unwrap();
        let rogue = rdlic_api::pki::issue_leaf(&ca_key, &ca, &pubk, "rogue", &[], rdlic_api::pki::LeafUse::TlsClient, 1)
            .unwrap();
        let rogue_client = LicenseServerClient::new(&fx.server.url, &ca, Some((&rogue, &k))).unwrap();
        let (status, _, msg) = api_code(&rogue_client.issue_device_cal(&ask(1)).await.unwrap_err());
        assert_eq!(status, 403, "{msg}");

        // A certificate from another CA: the TLS handshake itself fails.
        let other_ca_key = rdlic_api::pki::generate_ec().unwrap();
        let other_ca = rdlic_api::pki::self_signed_ca(&other_ca_key, "other").unwrap();
        let foreign =
            rdlic_api::pki::issue_leaf(&other_ca_key, &other_ca, &pubk, "x", &[], rdlic_api::pki::LeafUse::TlsClient, 1)
                .unwrap();
        let foreign_client = LicenseServerClient::new(&fx.server.url, &ca, Some((&foreign, &k))).unwrap();
        let err = foreign_client.status().await.unwrap_err();
        assert!(matches!(err, ClientError::Connect { .. }), "{err}");

        // Revoking the host: its certificate stops working at once.
        assert!(host.issue_device_cal(&ask(7)).await.is_ok());
        fx.admin.post(&format!("/api/v1/admin/hosts/{}/revoke", r.host_id), &serde_json::json!({})).await.unwrap();
        let (status, _, msg) = api_code(&host.issue_device_cal(&ask(7)).await.unwrap_err());
        assert_eq!(status, 403);
        assert!(msg.contains("revoked"), "{msg}");
        fx.server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_cal_then_permanent_after_activation_and_pack_install() {
    for backend in backends() {
        let fx = Fixture::start(backend).await;
        let host = fx.enroll("rdsh1").await;
        let a = ask(42);

        let t = host.issue_device_cal(&a).await.unwrap();
        assert!(!t.permanent, "{backend:?}: first request gets a temporary CAL");
        assert!((t.expires_at - t.issued_at - TEMPORARY_CAL_DAYS * DAY).abs() <= 1);
        // The CAL is the MS-RDPELE 2.2.2.9 certificate: database serial, hardware id, temporary flag, and a signature
        // by the key of the chain the server hands out.
        let parsed = rdpele::cal::parse_cal(&t.cal).unwrap();
        assert_eq!(parsed.serial_u64().map(|s| s.to_string()), Some(t.serial.clone()));
        assert_eq!(parsed.hardware_id_array(), Some(a.hardware_id));
        assert!(parsed.temporary);
        assert_eq!(parsed.client_machine, "PC42");
        let chain = host.server_chain().await.unwrap();
        let root = openssl::x509::X509::from_der(&chain[0]).unwrap();
        let trusted = rdpele::x509::RsaPublicKey::from_pkey(&root.public_key().unwrap()).unwrap();
        let parsed = rdpele::cal::parse_cal(&t.cal).unwrap();
        parsed.verify(std::slice::from_ref(&trusted)).unwrap();
        // A key the host does not trust: refused.
        let other = openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
        let untrusted = rdpele::x509::RsaPublicKey::from_pkey(&other).unwrap();
        assert!(rdpele::cal::parse_cal(&t.cal).unwrap().verify(&[untrusted]).is_err());

        // Not activated: the upgrade keeps the temporary CAL.
        let still = host.upgrade(&a).await.unwrap();
        assert!(!still.permanent);

        // A pack before activation installs, but a non-activated server issues only temporary CALs.
        fx.activate().await;
        let pack = fx.vendor.pack(fx.server_id(), CalType::PerDevice, 2022, 10);
        let v = fx.install(&pack).await.unwrap();
        assert_eq!(v["newly_installed"], true);

        let p = host.upgrade(&a).await.unwrap();
        assert!(p.permanent, "{backend:?}: activated + pack → permanent");
        assert!(!rdpele::cal::parse_cal(&p.cal).unwrap().temporary);
        let days = (p.expires_at - p.issued_at) / DAY;
        assert!((PERMANENT_MIN_DAYS..=PERMANENT_MAX_DAYS).contains(&days), "{days}");
        assert_ne!(p.serial, t.serial);

        let st = host.status().await.unwrap();
        assert!(st.activated);
        let dev = st.cals.iter().find(|c| c.cal_type == "per-device" && c.version == 2022).unwrap();
        assert_eq!((dev.installed, dev.issued, dev.available), (10, 1, 9));

        // The same pack again adds nothing.
        let v = fx.install(&pack).await.unwrap();
        assert_eq!(v["newly_installed"], false);
        let st = host.status().await.unwrap();
        let dev = st.cals.iter().find(|c| c.cal_type == "per-device" && c.version == 2022).unwrap();
        assert_eq!(dev.installed, 10);

        // A host of a later version than any pack gets no permanent CAL of 2022.
        let mut newer = ask(43);
        newer.host_version = 2025;
        assert!(!host.issue_device_cal(&newer).await.unwrap().permanent);

        // Per-user: tracked, over-allocation allowed and flagged (Windows default).
        let u = host.checkout_user_cal("CONTOSO\\alice", 2022).await.unwrap();
        assert!(u.over_allocated);

        // Everything is in the audit table.
        let audit = fx.admin.get("/api/v1/admin/audit").await.unwrap();
        let kinds: Vec<&str> = audit["entries"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        for k in ["activation", "pack-install", "cal-temporary", "cal-permanent", "host-enrollment"] {
            assert!(kinds.contains(&k), "{backend:?}: audit lacks {k}: {kinds:?}");
        }

        // Reports.
        let csv = fx.admin.get_text("/api/v1/admin/reports/per-device?format=csv").await.unwrap();
        assert!(csv.starts_with("serial,hardware_id"), "{csv}");
        assert!(csv.contains(&p.serial));
        let json = fx.admin.get("/api/v1/admin/reports/per-user?format=json").await.unwrap();
        assert_eq!(json["entries"][0]["user"], "CONTOSO\\alice");
        fx.server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_altered_foreign_and_malformed_packs_are_refused() {
    for backend in backends() {
        let fx = Fixture::start(backend).await;
        fx.activate().await;
        // Forged: signed by another clearinghouse.
        let other = common::Vendor::new(&fx.tmp.0.join("..").join(format!("other-{}", std::process::id())).tap_mkdir());
        let forged = other.pack(fx.server_id(), CalType::PerDevice, 2022, 5);
        let (status, code, msg) = api_code(&fx.install(&forged).await.unwrap_err());
        assert_eq!((status, code.as_str()), (422, "forged_pack"), "{msg}");
        // Altered: count changed after signing.
        let good = fx.vendor.pack(fx.server_id(), CalType::PerDevice, 2022, 5);
        let altered = good.replace("count: 5", "count: 500");
        assert_ne!(altered, good, "the pack text format changed: update this test");
        let (status, code, msg) = api_code(&fx.install(&altered).await.unwrap_err());
        assert_eq!((status, code.as_str()), (422, "altered_pack"), "{msg}");
        // Foreign: issued to another server id.
        let foreign = fx.vendor.pack(rdlic_core::ServerId([9; 16]), CalType::PerDevice, 2022, 5);
        let (status, code, msg) = api_code(&fx.install(&foreign).await.unwrap_err());
        assert_eq!((status, code.as_str()), (422, "foreign_pack"), "{msg}");
        assert!(msg.contains("this server is"), "{msg}");
        // Not a pack at all.
        let (status, code, _) = api_code(&fx.install("hello").await.unwrap_err());
        assert_eq!((status, code.as_str()), (400, "malformed_pack"));
        // Nothing was installed by any of these.
        let packs = fx.admin.get("/api/v1/admin/keypacks").await.unwrap();
        assert_eq!(packs["keypacks"].as_array().unwrap().len(), 0, "{backend:?}");
        // An activation certificate for another server is refused too.
        let k = openssl::pkey::PKey::generate_ed25519().unwrap();
        let cert = fx.vendor.ch.activate(&k.public_key_to_der().unwrap(), now()).unwrap();
        let e = fx
            .admin
            .post("/api/v1/admin/activate", &serde_json::json!({ "certificate": cert.to_text() }))
            .await
            .unwrap_err();
        assert_eq!(api_code(&e).1, "foreign_activation");
        fx.server.shutdown().await;
    }
}

trait TapMkdir {
    fn tap_mkdir(self) -> Self;
}
impl TapMkdir for std::path::PathBuf {
    fn tap_mkdir(self) -> Self {
        std::fs::create_dir_all(&self).unwrap();
        self
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_4xx_json_error_with_a_message() {
    let fx = Fixture::start(Backend::Sqlite).await;
    let host = fx.enroll("h").await;
    let post = |body: Vec<u8>| {
        let host = host.clone();
        async move { host.request_raw("POST", "/api/v1/cal/device", Some(body)).await.unwrap() }
    };
    let check = |(status, body): (u16, String), want_status: u16, want_code: &str, want_text: &str| {
        assert_eq!(status, want_status, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["code"], want_code, "{body}");
        assert!(v["error"].as_str().unwrap().contains(want_text), "{body}");
    };
    check(post(b"{not json".to_vec()).await, 400, "malformed_json", "not valid JSON");
    let good = serde_json::json!({
        "reason": "issue", "hardware_id": "00".repeat(20), "client_machine": "PC", "user": "u",
        "platform_id": 1, "host_version": 2022,
    });
    let mut extra = good.clone();
    extra["colour"] = serde_json::json!("blue");
    check(post(extra.to_string().into_bytes()).await, 400, "invalid_body", "colour");
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("hardware_id");
    check(post(missing.to_string().into_bytes()).await, 400, "invalid_body", "hardware_id");
    let mut bad_hw = good.clone();
    bad_hw["hardware_id"] = serde_json::json!("xyz");
    check(post(bad_hw.to_string().into_bytes()).await, 400, "bad_hardware_id", "40 hexadecimal digits");
    let mut huge = good.clone();
    huge["user"] = serde_json::json!("a".repeat(100_000));
    check(post(huge.to_string().into_bytes()).await, 413, "body_too_large", "--max-body");
    // Nothing above issued a CAL.
    assert_eq!(fx.admin.get("/api/v1/admin/licenses").await.unwrap()["licenses"].as_array().unwrap().len(), 0);
    // And the good body does.
    let (status, body) = post(good.to_string().into_bytes()).await;
    assert_eq!(status, 200, "{body}");

    // Admin side: no token, wrong token, unknown CAL, unknown route.
    let ca = rdlic_api::tls::first_cert(&fx.ca_pem()).unwrap();
    let wrong = rdlic_api::AdminClient::new(&fx.server.url, &ca, "nope").unwrap();
    assert_eq!(api_code(&wrong.get("/api/v1/admin/keypacks").await.unwrap_err()).0, 401);
    let (status, code, _) = api_code(&fx.admin.post("/api/v1/admin/licenses/999999/revoke", &serde_json::json!({})).await.unwrap_err());
    assert_eq!((status, code.as_str()), (404, "unknown_cal"));
    let (status, code, _) = api_code(&fx.admin.post("/api/v1/admin/licenses/abc/revoke", &serde_json::json!({})).await.unwrap_err());
    assert_eq!((status, code.as_str()), (400, "bad_request"));
    let (status, body) = fx.admin.request_raw("GET", "/api/v1/nothing", None).await.unwrap();
    assert_eq!(status, 404, "{body}");
    // The OpenAPI document is served and is JSON.
    let (status, body) = fx.admin.request_raw("GET", "/api/openapi.json", None).await.unwrap();
    assert_eq!(status, 200);
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(doc["paths"]["/api/v1/cal/device"].is_object());
    fx.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_is_limited_to_20_percent_per_version_and_metrics_move() {
    for backend in backends() {
        let fx = Fixture::start(backend).await;
        fx.activate().await;
        fx.install(&fx.vendor.pack(fx.server_id(), CalType::PerDevice, 2022, 10)).await.unwrap();
        let host = fx.enroll("h").await;
        let mut serials = Vec::new();
        for n in 0..4 {
            let a = ask(n);
            assert!(!host.issue_device_cal(&a).await.unwrap().permanent);
            let p = host.upgrade(&a).await.unwrap();
            assert!(p.permanent);
            serials.push(p.serial);
        }
        // max(1, 20 % of 10) = 2.
        for s in &serials[..2] {
            fx.admin.post(&format!("/api/v1/admin/licenses/{s}/revoke"), &serde_json::json!({})).await.unwrap();
        }
        let e = fx
            .admin
            .post(&format!("/api/v1/admin/licenses/{}/revoke", serials[2]), &serde_json::json!({}))
            .await
            .unwrap_err();
        let (status, code, msg) = api_code(&e);
        assert_eq!((status, code.as_str()), (409, "revocation_refused"), "{backend:?}: {msg}");
        assert!(msg.contains("next revocation"), "{msg}");
        // The revoked slots are free at once.
        let st = host.status().await.unwrap();
        let dev = st.cals.iter().find(|c| c.cal_type == "per-device").unwrap();
        assert_eq!(dev.issued, 2, "{backend:?}");
        // A temporary CAL cannot be revoked.
        let t = host.issue_device_cal(&ask(99)).await.unwrap();
        let e = fx.admin.post(&format!("/api/v1/admin/licenses/{}/revoke", t.serial), &serde_json::json!({})).await;
        assert_eq!(api_code(&e.unwrap_err()).0, 409);

        // Metrics: counters by kind and result, and the latency histogram.
        let (status, text) = fx.admin.request_raw("GET", "/metrics", None).await.unwrap();
        assert_eq!(status, 200);
        assert!(text.contains("rdlic_cal_issuance_total{kind=\"temporary\",result=\"ok\"} 5"), "{text}");
        assert!(text.contains("rdlic_cal_issuance_total{kind=\"permanent\",result=\"ok\"} 4"), "{text}");
        assert!(text.contains("rdlic_cal_issuance_seconds_count{op=\"device\"} 9"), "{text}");
        assert_eq!(fx.server.state.metrics.issuance_count("permanent", "ok"), 4);
        let audit = fx.admin.get("/api/v1/admin/audit").await.unwrap();
        let revocations =
            audit["entries"].as_array().unwrap().iter().filter(|e| e["kind"] == "cal-revocation").count();
        assert_eq!(revocations, 2);
        fx.server.shutdown().await;
    }
}

/// PostgreSQL goes away under the server: answers are 503 with a message and nothing is half-written; when it is
/// back, the server serves again without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_down_gives_503_and_nothing_half_written() {
    if !backends().contains(&Backend::Postgres) {
        eprintln!("skipped: RDLIC_TEST_PG_URL not set");
        return;
    }
    let fx = Fixture::start(Backend::Postgres).await;
    let host = fx.enroll("h").await;
    host.issue_device_cal(&ask(1)).await.unwrap();
    let url = fx.database.clone().unwrap();
    let dbname = url.rsplit('/').next().unwrap().to_owned();
    let base = std::env::var("RDLIC_TEST_PG_URL").unwrap();
    let block = format!(
        "ALTER DATABASE {dbname} ALLOW_CONNECTIONS false; \
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{dbname}' AND pid <> pg_backend_pid();"
    );
    let b2 = base.clone();
    tokio::task::spawn_blocking(move || {
        postgres::Client::connect(&b2, postgres::NoTls).unwrap().batch_execute(&block).unwrap();
    })
    .await
    .unwrap();
    let e = host.issue_device_cal(&ask(2)).await.unwrap_err();
    let (status, code, msg) = api_code(&e);
    assert_eq!((status, code.as_str()), (503, "database_unavailable"), "{msg}");
    assert!(msg.contains("nothing was written"), "{msg}");
    assert!(fx.server.state.metrics.issuance_count("device", "error") >= 1);

    let unblock = format!("ALTER DATABASE {dbname} ALLOW_CONNECTIONS true;");
    tokio::task::spawn_blocking(move || {
        postgres::Client::connect(&base, postgres::NoTls).unwrap().batch_execute(&unblock).unwrap();
    })
    .await
    .unwrap();
    // Back: the refused request left no row; a retry issues exactly one CAL for device 2.
    let mut served = None;
    for _ in 0..5 {
        match host.issue_device_cal(&ask(2)).await {
            Ok(c) => {
                served = Some(c);
                break;
            }
            Err(e) => assert_eq!(e.status(), Some(503), "{e}"),
        }
    }
    assert!(served.is_some(), "the server did not recover after the database came back");
    let list = fx.admin.get("/api/v1/admin/licenses").await.unwrap();
    let rows = list["licenses"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    fx.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exhausted_pack_keeps_temporary_cals_and_enforced_per_user_refuses() {
    let fx = Fixture::start_with(Backend::Sqlite, |o| o.enforce_per_user = true).await;
    fx.activate().await;
    fx.install(&fx.vendor.pack(fx.server_id(), CalType::PerDevice, 2022, 1)).await.unwrap();
    fx.install(&fx.vendor.pack(fx.server_id(), CalType::PerUser, 2022, 1)).await.unwrap();
    let host = fx.enroll("h").await;
    for n in [1, 2] {
        host.issue_device_cal(&ask(n)).await.unwrap();
    }
    assert!(host.upgrade(&ask(1)).await.unwrap().permanent);
    // The only CAL is taken: device 2 keeps its temporary CAL (Windows: "the temporary RDS CAL token continues to
    // function for 90 days"), and nothing is over-allocated.
    let t = host.upgrade(&ask(2)).await.unwrap();
    assert!(!t.permanent);
    let st = host.status().await.unwrap();
    let dev = st.cals.iter().find(|c| c.cal_type == "per-device").unwrap();
    assert_eq!((dev.installed, dev.issued, dev.available), (1, 1, 0));

    let alice = host.checkout_user_cal("alice", 2022).await.unwrap();
    assert!(!alice.over_allocated);
    let (status, code, msg) = api_code(&host.checkout_user_cal("bob", 2022).await.unwrap_err());
    assert_eq!((status, code.as_str()), (409, "no_license"), "{msg}");
    assert!(msg.contains("install more per-user CALs"), "{msg}");
    // Alice signing in again keeps her CAL.
    assert!(host.checkout_user_cal("alice", 2022).await.is_ok());
    fx.server.shutdown().await;
}

/// The status answer is reused between writes (monitoring polls it), but never across a write of this server:
/// activation, a pack install, an issuance and a revocation each show in the very next status call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_is_fresh_after_every_write() {
    let fx = Fixture::start(Backend::Sqlite).await;
    let host = fx.enroll("h").await;
    let device_2022 = |st: &rdlic_api::wire::StatusResponse| {
        st.cals
            .iter()
            .find(|c| c.cal_type == "per-device" && c.version == 2022)
            .map(|c| (c.installed, c.issued, c.available))
    };
    let st = host.status().await.unwrap();
    assert!(!st.activated);
    fx.activate().await;
    assert!(host.status().await.unwrap().activated, "activation not seen by the next status call");
    assert_eq!(device_2022(&host.status().await.unwrap()), None);
    fx.install(&fx.vendor.pack(fx.server_id(), CalType::PerDevice, 2022, 5)).await.unwrap();
    assert_eq!(device_2022(&host.status().await.unwrap()), Some((5, 0, 5)));
    host.issue_device_cal(&ask(1)).await.unwrap();
    let p = host.upgrade(&ask(1)).await.unwrap();
    assert!(p.permanent);
    assert_eq!(device_2022(&host.status().await.unwrap()), Some((5, 1, 4)));
    fx.admin.post(&format!("/api/v1/admin/licenses/{}/revoke", p.serial), &serde_json::json!({})).await.unwrap();
    let after = device_2022(&host.status().await.unwrap());
    assert_ne!(after, Some((5, 1, 4)), "the revocation is not seen by the next status call");
    fx.server.shutdown().await;
}

/// Many hosts at once: their requests share group-commit batches (on PostgreSQL, multi-row statements), and each
/// host still gets the CAL of the device it asked for; a pack of 5 gives exactly 5 permanent CALs to 40 racing
/// upgrades (some devices asked for twice at once); concurrent sign-ins of the same users are each answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_hosts_share_batches_and_each_gets_its_own_answer() {
    for backend in backends() {
        let fx = Fixture::start(backend).await;
        fx.activate().await;
        fx.install(&fx.vendor.pack(fx.server_id(), CalType::PerDevice, 2022, 5))
            .await
            .unwrap();
        fx.install(&fx.vendor.pack(fx.server_id(), CalType::PerUser, 2022, 100))
            .await
            .unwrap();
        let mut hosts = Vec::new();
        for h in 0..4 {
            hosts.push(std::sync::Arc::new(fx.enroll(&format!("rdsh{h}")).await));
        }
        let devices: Vec<u32> = (100..140).collect();
        for upgrade in [false, true] {
            let mut tasks = tokio::task::JoinSet::new();
            // The upgrade round asks for the first four devices twice, from two hosts at once.
            let extra = if upgrade { 4 } else { 0 };
            for (i, &n) in devices.iter().chain(devices.iter().take(extra)).enumerate() {
                let host = hosts[i % hosts.len()].clone();
                tasks.spawn(async move {
                    let r = if upgrade {
                        host.upgrade(&ask(n)).await
                    } else {
                        host.issue_device_cal(&ask(n)).await
                    };
                    (n, r.unwrap())
                });
            }
            let mut permanent = std::collections::BTreeSet::new();
            let mut answers = 0;
            while let Some(done) = tasks.join_next().await {
                let (n, cal) = done.unwrap();
                let parsed = rdpele::cal::parse_cal(&cal.cal).unwrap();
                assert_eq!(
                    parsed.hardware_id_array(),
                    Some(ask(n).hardware_id),
                    "{backend:?}: device {n}"
                );
                assert_eq!(parsed.client_machine, format!("PC{n}"));
                assert_eq!(
                    parsed.serial_u64().map(|s| s.to_string()),
                    Some(cal.serial.clone())
                );
                assert_eq!(parsed.temporary, !cal.permanent);
                if cal.permanent {
                    permanent.insert(cal.serial);
                }
                answers += 1;
            }
            assert_eq!(answers, devices.len() + extra);
            assert_eq!(
                permanent.len(),
                if upgrade { 5 } else { 0 },
                "{backend:?}: upgrade={upgrade}"
            );
        }
        let st = hosts[0].status().await.unwrap();
        let dev = st
            .cals
            .iter()
            .find(|c| c.cal_type == "per-device" && c.version == 2022)
            .unwrap();
        assert_eq!(
            (dev.installed, dev.issued, dev.available),
            (5, 5, 0),
            "{backend:?}"
        );

        // 20 users signing in twice, all at once (allocations and sign-ins that change nothing, mixed).
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..40u32 {
            let host = hosts[usize::try_from(i % 4).unwrap()].clone();
            let user = format!("CONTOSO\\u{}", i % 20);
            tasks.spawn(async move { (user.clone(), host.checkout_user_cal(&user, 2022).await.unwrap()) });
        }
        while let Some(done) = tasks.join_next().await {
            let (user, r) = done.unwrap();
            assert_eq!(r.user, user, "{backend:?}");
            assert!(!r.over_allocated);
        }
        let json = fx
            .admin
            .get("/api/v1/admin/reports/per-user?format=json")
            .await
            .unwrap();
        assert_eq!(json["entries"].as_array().unwrap().len(), 20, "{backend:?}");
        fx.server.shutdown().await;
    }
}
