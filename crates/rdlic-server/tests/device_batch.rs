//! `POST /api/v1/cal/device/batch` over real TLS on 127.0.0.1 with a real store: each item answered as the single
//! endpoint would, in order; size limits; only enrolled hosts; and the client's fallback to the single endpoint
//! when the server is an older one without the batch endpoint (a real server behind a TLS proxy that answers 404
//! for that path, as an older server does).
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{ask, backends, Fixture};
use rdlic_core::CalType;
use rdlic_api::client::{DeviceCalItem, LicenseServerClient};
use rdlic_api::wire::DeviceCalReason;
use rdlic_api::ClientError;

fn item(reason: DeviceCalReason, n: u32) -> DeviceCalItem {
    DeviceCalItem { reason, ask: ask(n) }
}

/// The value of `rdlic_http_requests_total{endpoint=.., status=..}` in the server's metrics.
fn requests(fx: &Fixture, endpoint: &str, status: u16) -> u64 {
    let text = fx.server.state.metrics.render();
    let key = format!("rdlic_http_requests_total{{endpoint=\"{endpoint}\",status=\"{status}\"}} ");
    text.lines().find_map(|l| l.strip_prefix(key.as_str())).map(|v| v.trim().parse().unwrap()).unwrap_or(0)
}

fn hwid_of(cal: &[u8]) -> [u8; 20] {
    rdpele::cal::parse_cal(cal).unwrap().hardware_id_array().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_answers_each_item_as_the_single_endpoint_in_order() {
    for backend in backends() {
        let fx = Fixture::start(backend).await;
        fx.activate().await;
        fx.install(&fx.vendor.pack(fx.server_id(), CalType::PerDevice, 2022, 10)).await.unwrap();
        let host = fx.enroll("rdsh1").await;
        // Device 1 already holds a temporary CAL: its upgrade in the batch gets a permanent one.
        let first = host.issue_device_cal(&ask(1)).await.unwrap();
        assert!(!first.permanent);

        let mut too_long = item(DeviceCalReason::Issue, 4);
        too_long.ask.user = "u".repeat(300);
        let mut newer = item(DeviceCalReason::Upgrade, 3);
        newer.ask.host_version = 2025;
        let items = vec![
            item(DeviceCalReason::Issue, 2),
            item(DeviceCalReason::Upgrade, 1),
            too_long.clone(),
            newer,
            item(DeviceCalReason::Issue, 5),
        ];
        let before = requests(&fx, "/api/v1/cal/device/batch", 200);
        let results = host.device_cals_batch(&items).await.unwrap();
        assert_eq!(requests(&fx, "/api/v1/cal/device/batch", 200), before + 1, "{backend:?}: one HTTPS request");
        assert_eq!(results.len(), 5);

        let new2 = results[0].as_ref().unwrap();
        assert!(!new2.permanent, "{backend:?}: a new device gets a temporary CAL");
        assert_eq!(hwid_of(&new2.cal), ask(2).hardware_id);
        let up1 = results[1].as_ref().unwrap();
        assert!(up1.permanent, "{backend:?}: activated + pack → the upgrade is permanent");
        assert_eq!(hwid_of(&up1.cal), ask(1).hardware_id);
        assert!(!rdpele::cal::parse_cal(&up1.cal).unwrap().temporary);
        assert_ne!(up1.serial, first.serial);
        // The bad item: the status, code and message of the single endpoint.
        let single = host.issue_device_cal(&too_long.ask).await.unwrap_err();
        match (&results[2], &single) {
            (
                Err(ClientError::Api { status, code, message }),
                ClientError::Api { status: s1, code: c1, message: m1 },
            ) => {
                assert_eq!((*status, code.as_str()), (400, "bad_request"), "{message}");
                assert_eq!((status, code, message), (s1, c1, m1));
                assert!(message.contains("user: the user name is 300 characters long"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        // No 2025 pack: the 2025 host's device keeps a temporary CAL.
        let newer = results[3].as_ref().unwrap();
        assert!(!newer.permanent);
        assert_eq!(newer.version, 2025);
        assert_eq!(hwid_of(&newer.cal), ask(3).hardware_id);
        assert_eq!(hwid_of(&results[4].as_ref().unwrap().cal), ask(5).hardware_id);
        // Every CAL validates with the server's chain.
        let chain = host.server_chain().await.unwrap();
        let root = openssl::x509::X509::from_der(&chain[0]).unwrap();
        let trusted = rdpele::x509::RsaPublicKey::from_pkey(&root.public_key().unwrap()).unwrap();
        for r in results.iter().filter_map(|r| r.as_ref().ok()) {
            rdpele::cal::parse_cal(&r.cal).unwrap().verify(std::slice::from_ref(&trusted)).unwrap();
        }

        // Metrics count each item (first + three new temporaries, one permanent, two rejected: batch + single).
        let m = &fx.server.state.metrics;
        assert_eq!(m.issuance_count("temporary", "ok"), 4, "{backend:?}");
        assert_eq!(m.issuance_count("permanent", "ok"), 1, "{backend:?}");
        assert_eq!(m.issuance_count("device", "rejected"), 2, "{backend:?}");
        // The audit holds one issuance entry per CAL.
        let audit = fx.admin.get("/api/v1/admin/audit?limit=10000").await.unwrap();
        let kinds: Vec<&str> = audit["entries"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds.iter().filter(|k| **k == "cal-temporary").count(), 4, "{kinds:?}");
        assert_eq!(kinds.iter().filter(|k| **k == "cal-permanent").count(), 1, "{kinds:?}");

        // The raw answer: `{"results": [CAL, {"error": {"status", "code", "message"}}]}` in request order.
        let body = serde_json::json!({ "requests": [
            { "reason": "issue", "hardware_id": hex::encode(ask(6).hardware_id), "client_machine": "PC6", "user": "u6",
              "platform_id": 0x0201_0000, "host_version": 2022 },
            { "reason": "issue", "hardware_id": "zz", "client_machine": "PC7", "user": "u7",
              "platform_id": 0x0201_0000, "host_version": 2022 },
        ]});
        let (status, text) =
            host.request_raw("POST", "/api/v1/cal/device/batch", Some(body.to_string().into_bytes())).await.unwrap();
        assert_eq!(status, 200, "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let results = v["results"].as_array().unwrap();
        assert_eq!(results.len(), 2);
        assert_eq!(results[0]["kind"], "temporary", "{text}");
        assert_eq!(results[1]["error"]["status"], 400, "{text}");
        assert_eq!(results[1]["error"]["code"], "bad_hardware_id", "{text}");
        assert!(results[1]["error"]["message"].as_str().unwrap().starts_with("hardware_id:"), "{text}");
        fx.server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_size_and_shape_are_checked_and_only_enrolled_hosts_are_served() {
    let fx = Fixture::start(common::Backend::Sqlite).await;
    let host = fx.enroll("h").await;
    let one = |n: u32| {
        serde_json::json!({ "reason": "issue", "hardware_id": hex::encode(ask(n).hardware_id), "client_machine": "PC",
            "user": "u", "platform_id": 0x0201_0000, "host_version": 2022 })
    };
    let post = |body: serde_json::Value| {
        let host = host.clone();
        async move {
            let (status, text) = host
                .request_raw("POST", "/api/v1/cal/device/batch", Some(body.to_string().into_bytes()))
                .await
                .unwrap();
            (status, serde_json::from_str::<serde_json::Value>(&text).unwrap())
        }
    };
    let (status, v) = post(serde_json::json!({ "requests": [] })).await;
    assert_eq!(status, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("1 to 64"), "{v}");
    let (status, v) = post(serde_json::json!({ "requests": (0..65).map(one).collect::<Vec<_>>() })).await;
    assert_eq!(status, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("65 items"), "{v}");
    // 64 is accepted, each item answered.
    let (status, v) = post(serde_json::json!({ "requests": (0..64).map(one).collect::<Vec<_>>() })).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["results"].as_array().unwrap().len(), 64);
    assert!(v["results"].as_array().unwrap().iter().all(|r| r["kind"] == "temporary"), "{v}");
    // Unknown fields, at the top and inside an item: 400 naming the field.
    let (status, v) = post(serde_json::json!({ "requests": [one(1)], "priority": 1 })).await;
    assert_eq!((status, v["code"].as_str().unwrap()), (400, "invalid_body"), "{v}");
    assert!(v["error"].as_str().unwrap().contains("priority"), "{v}");
    let mut odd = one(1);
    odd["colour"] = serde_json::json!("blue");
    let (status, v) = post(serde_json::json!({ "requests": [odd] })).await;
    assert_eq!((status, v["code"].as_str().unwrap()), (400, "invalid_body"), "{v}");
    assert!(v["error"].as_str().unwrap().contains("colour"), "{v}");
    let (status, _) = post(serde_json::json!({ "items": [one(1)] })).await;
    assert_eq!(status, 400);
    assert_eq!(fx.server.state.metrics.issuance_count("temporary", "ok"), 64);

    // No client certificate: 401; a certificate of this CA that was never enrolled: 403; a revoked host: 403.
    let ca = rdlic_api::tls::first_cert(&fx.ca_pem()).unwrap();
    let anon = LicenseServerClient::new(&fx.server.url, &ca, None).unwrap();
    let e = anon.device_cals_batch(&[item(DeviceCalReason::Issue, 1)]).await.unwrap_err();
    assert_eq!(e.status(), Some(401), "{e}");
    let ca_key = openssl::pkey::PKey::private_key_from_pem(&std::fs::read(fx.data.join("ca.key")).unwrap()).unwrap();
    let k = rdlic_api::pki::generate_ec().unwrap();
    let pubk = openssl::pkey::PKey::public_key_from_der(&k.public_key_to_der().unwrap()).unwrap();
    let rogue =
        rdlic_api::pki::issue_leaf(&ca_key, &ca, &pubk, "rogue", &[], rdlic_api::pki::LeafUse::TlsClient, 1).unwrap();
    let rogue_client = LicenseServerClient::new(&fx.server.url, &ca, Some((&rogue, &k))).unwrap();
    let e = rogue_client.device_cals_batch(&[item(DeviceCalReason::Issue, 1)]).await.unwrap_err();
    assert_eq!(e.status(), Some(403), "{e}");
    let hosts = fx.admin.get("/api/v1/admin/hosts").await.unwrap();
    let id = hosts["hosts"][0]["id"].as_str().unwrap().to_owned();
    fx.admin.post(&format!("/api/v1/admin/hosts/{id}/revoke"), &serde_json::json!({})).await.unwrap();
    let e = host.device_cals_batch(&[item(DeviceCalReason::Issue, 1)]).await.unwrap_err();
    assert_eq!(e.status(), Some(403), "{e}");
    assert_eq!(fx.server.state.metrics.issuance_count("temporary", "ok"), 64, "nothing issued to refused hosts");
    // The OpenAPI document describes the endpoint.
    let (_, body) = fx.admin.request_raw("GET", "/api/openapi.json", None).await.unwrap();
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(doc["paths"]["/api/v1/cal/device/batch"]["post"].is_object());
    assert_eq!(doc["components"]["schemas"]["DeviceCalBatchRequest"]["properties"]["requests"]["maxItems"], 64);
    fx.server.shutdown().await;
}

/// An "older" license server: the real server behind a TLS-terminating proxy (the server's own TLS certificate)
/// that answers the batch path with the 404 of an unknown endpoint and forwards everything else with the host's
/// enrollment certificate.
struct OldServer {
    url: String,
    batch_404s: Arc<AtomicUsize>,
    forwarded: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for OldServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn old_server(fx: &Fixture, upstream: LicenseServerClient) -> OldServer {
    use http_body_util::BodyExt as _;
    let pem = |f: &str| std::fs::read(fx.data.join(f)).unwrap();
    let ca = openssl::x509::X509::from_pem(&pem("ca.crt")).unwrap();
    let cert = openssl::x509::X509::from_pem(&pem("tls.crt")).unwrap();
    let key = openssl::pkey::PKey::private_key_from_pem(&pem("tls.key")).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(rdlic_api::tls::server_config(&ca, &cert, &key).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let (batch_404s, forwarded) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (b, f) = (batch_404s.clone(), forwarded.clone());
    let task = tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let (acceptor, upstream, b, f) = (acceptor.clone(), upstream.clone(), b.clone(), f.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let (upstream, b, f) = (upstream.clone(), b.clone(), f.clone());
                    async move {
                        let method = req.method().as_str().to_owned();
                        let path = req.uri().path().to_owned();
                        let body = req.into_body().collect().await.unwrap().to_bytes().to_vec();
                        let (status, text) = if path == "/api/v1/cal/device/batch" {
                            b.fetch_add(1, Ordering::SeqCst);
                            (404, r#"{"error":"no such endpoint","code":"not_found"}"#.to_owned())
                        } else {
                            f.fetch_add(1, Ordering::SeqCst);
                            upstream.request_raw(&method, &path, (!body.is_empty()).then_some(body)).await.unwrap()
                        };
                        hyper::Response::builder()
                            .status(status)
                            .header("content-type", "application/json")
                            .body(http_body_util::Full::new(bytes::Bytes::from(text)))
                    }
                });
                let io = hyper_util::rt::TokioIo::new(tls);
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, svc).await;
            });
        }
    });
    OldServer { url, batch_404s, forwarded, task }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_server_answering_404_is_asked_one_request_per_item() {
    let fx = Fixture::start(common::Backend::Sqlite).await;
    let upstream = fx.enroll("h").await;
    let old = old_server(&fx, upstream).await;
    let dir = fx.tmp.0.join("host-h");
    let host = LicenseServerClient::from_dir(&dir, Some(&old.url)).unwrap();
    assert!(host.ping().await.unwrap().ok, "the proxy forwards");
    let f0 = old.forwarded.load(Ordering::SeqCst);

    let items: Vec<_> = (1..=3).map(|n| item(DeviceCalReason::Issue, n)).collect();
    let results = host.device_cals_batch(&items).await.unwrap();
    assert_eq!(old.batch_404s.load(Ordering::SeqCst), 1);
    assert_eq!(old.forwarded.load(Ordering::SeqCst) - f0, 3, "one single request per item");
    for (n, r) in (1..=3).zip(&results) {
        assert_eq!(hwid_of(&r.as_ref().unwrap().cal), ask(n).hardware_id);
    }
    // Remembered: the next batch goes straight to the single endpoint (clones share it).
    let again = host.clone().device_cals_batch(&[item(DeviceCalReason::Issue, 4), item(DeviceCalReason::Upgrade, 1)]).await.unwrap();
    assert_eq!(old.batch_404s.load(Ordering::SeqCst), 1);
    assert_eq!(old.forwarded.load(Ordering::SeqCst) - f0, 5);
    assert_eq!(hwid_of(&again[0].as_ref().unwrap().cal), ask(4).hardware_id);
    assert_eq!(hwid_of(&again[1].as_ref().unwrap().cal), ask(1).hardware_id);
    assert_eq!(requests(&fx, "/api/v1/cal/device", 200), 5);
    assert_eq!(requests(&fx, "/api/v1/cal/device/batch", 200), 0);
    assert_eq!(fx.server.state.metrics.issuance_count("temporary", "ok"), 5);
    fx.server.shutdown().await;
}
