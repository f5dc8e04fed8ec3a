//! The host's trusted CAL signing chains follow the license servers without a restart: a host started while its
//! license server was down (no chain fetched, none cached) trusts that server's CALs once the server is back — at
//! once when a CAL fails to verify (one refresh), and on its own with the periodic refresh (`ChainRefreshSecs`).
//! A real license server on 127.0.0.1 with real TLS; no sleeping: the test waits on the verifier's change counter.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use rdlic_api::client::{AdminClient, DeviceCalAsk, LicenseServerClient};
use rdlic_host::authority::CalVerifier as _;
use rdlic_host::config::HostConfig;
use rdlic_host::policy::{InvalidCal, PresentedCal};
use rdlic_host::remote::authorities_for;
use rdlic_server::ServerOptions;

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_license_server_reachable_after_the_host_started_is_trusted_without_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let host_dir = tmp.path().join("host");
    let mut opts = ServerOptions::new(data.clone());
    let server = rdlic_server::start(opts.clone()).await.unwrap();
    opts.listen = server.addr;
    let url = server.url.clone();
    let admin = AdminClient::from_data_dir(&data, None).unwrap();
    let token = admin.post("/api/v1/admin/enroll-tokens", &serde_json::json!({})).await.unwrap();
    let ca = std::fs::read(data.join("ca.crt")).unwrap();
    LicenseServerClient::enroll(&url, token["token"].as_str().unwrap(), "rdsh", &host_dir, Some(&ca)).await.unwrap();
    server.shutdown().await;

    // The host starts while its license server is down: no chain, nothing cached.
    let base = HostConfig {
        licensing_mode: 2,
        specified_license_servers: vec![url.clone()],
        license_server_timeout_ms: 2000,
        ..HostConfig::default()
    };
    let on_demand_only = HostConfig { chain_refresh_secs: 0, ..base.clone() };
    let (_, on_demand) = authorities_for(&host_dir, &on_demand_only, 0).await.unwrap();
    let periodic = HostConfig { chain_refresh_secs: 1, ..base };
    let (_, refreshed) = authorities_for(&host_dir, &periodic, 0).await.unwrap();

    // The server is back (same data dir, same address) and issues a CAL.
    let server = rdlic_server::start(opts).await.unwrap();
    let client = LicenseServerClient::from_dir(&host_dir, None).unwrap();
    let ask = DeviceCalAsk {
        hardware_id: [7; 20],
        client_machine: "PC1".into(),
        user: "alice".into(),
        platform_id: 0x0201_0000,
        host_version: 2022,
        presented_serial: None,
        request_id: None,
    };
    let cal = client.issue_device_cal(&ask).await.unwrap().cal;

    // On demand: untrusted, one refresh, trusted. A second refresh right after is not made.
    assert_eq!(on_demand.check(&cal, &ask.hardware_id, now()), PresentedCal::Invalid(InvalidCal::Untrusted));
    assert!(on_demand.refresh().await, "the refresh did not change the trusted keys");
    assert!(matches!(on_demand.check(&cal, &ask.hardware_id, now()), PresentedCal::Valid { .. }));
    assert!(!on_demand.refresh().await, "refreshes asked for by CALs are rate-limited");

    // Periodic: the verifier fetches the chain on its own.
    let mut changes = refreshed.changes();
    tokio::time::timeout(Duration::from_secs(30), changes.wait_for(|n| *n >= 1))
        .await
        .expect("the periodic refresh never fetched the chain")
        .unwrap();
    assert!(matches!(refreshed.check(&cal, &ask.hardware_id, now()), PresentedCal::Valid { .. }));
    server.shutdown().await;
}
