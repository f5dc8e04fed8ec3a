//! The host's per-server [`Coalescer`] against a real license server (`rdlic_server`, SQLite, real mutual TLS on
//! 127.0.0.1): concurrent per-device asks leave in fewer HTTPS requests than asks, each caller gets the CAL of its
//! own device, and the failover walk over `SpecifiedLicenseServers` behaves as with one request per ask
//! (unreachable and silent servers are skipped in order, within the per-server timeout).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use rdlic_host::authority::{
    ask_in_order, AuthorityError, BoxFuture, CalRequest, Coalescer, IssuedCal, LicenseAuthority,
    CAL_BATCHES_IN_FLIGHT, MAX_CAL_BATCH,
};
use rdlic_host::policy::{CalKind, ServerAnswer, ServerRequest};
use rdlic_api::client::{AdminClient, DeviceCalAsk, DeviceCalItem, LicenseServerClient};
use rdlic_api::wire::DeviceCalReason;

/// A license server reached through a coalescer, wired as the `rdlic host` binary wires it.
#[derive(Debug)]
struct Coalesced {
    name: String,
    device: Coalescer<DeviceCalItem, IssuedCal>,
}

fn authority_error(e: &rdlic_api::ClientError) -> AuthorityError {
    match e.status() {
        Some(_) => AuthorityError::CannotIssue(e.to_string()),
        None => AuthorityError::Unreachable(e.to_string()),
    }
}

impl Coalesced {
    fn new(name: &str, client: LicenseServerClient) -> Arc<Self> {
        let send = Arc::new(move |items: Vec<DeviceCalItem>| -> BoxFuture<'static, _> {
            let client = client.clone();
            Box::pin(async move {
                let answers = client.device_cals_batch(&items).await.map_err(|e| authority_error(&e))?;
                Ok(answers
                    .into_iter()
                    .map(|a| {
                        a.map(|c| IssuedCal {
                            cal: c.cal,
                            kind: if c.permanent { CalKind::Permanent } else { CalKind::Temporary },
                            expires_at: u64::try_from(c.expires_at).unwrap(),
                        })
                        .map_err(|e| authority_error(&e))
                    })
                    .collect())
            })
        });
        Arc::new(Self { name: name.to_owned(), device: Coalescer::new(send, MAX_CAL_BATCH, CAL_BATCHES_IN_FLIGHT) })
    }

    fn item(reason: DeviceCalReason, r: &CalRequest) -> DeviceCalItem {
        DeviceCalItem {
            reason,
            ask: DeviceCalAsk {
                hardware_id: r.hardware_id,
                client_machine: r.machine_name.clone(),
                user: r.user_name.clone(),
                platform_id: r.platform_id,
                host_version: 2022,
                presented_serial: None,
                request_id: None,
            },
        }
    }
}

impl LicenseAuthority for Coalesced {
    fn name(&self) -> &str {
        &self.name
    }
    fn issue_device<'a>(&'a self, request: &'a CalRequest) -> BoxFuture<'a, Result<IssuedCal, AuthorityError>> {
        Box::pin(self.device.call(Self::item(DeviceCalReason::Issue, request)))
    }
    fn upgrade_device<'a>(&'a self, request: &'a CalRequest) -> BoxFuture<'a, Result<IssuedCal, AuthorityError>> {
        Box::pin(self.device.call(Self::item(DeviceCalReason::Upgrade, request)))
    }
    fn checkout_user<'a>(&'a self, _: &'a CalRequest) -> BoxFuture<'a, Result<(), AuthorityError>> {
        Box::pin(async { Err(AuthorityError::CannotIssue("not used here".into())) })
    }
}

fn request(n: u32) -> CalRequest {
    let mut hw = [0u8; 20];
    hw[..4].copy_from_slice(&0x0201_0000u32.to_le_bytes());
    hw[4..8].copy_from_slice(&n.to_le_bytes());
    hw[19] = 0x5a;
    CalRequest {
        client_name: format!("PC{n}"),
        user_name: format!("user{n}"),
        domain: String::new(),
        machine_name: format!("PC{n}"),
        hardware_id: hw,
        platform_id: 0x0201_0000,
        presented_cal: None,
        now: 1_780_000_000,
        request_id: None,
    }
}

/// A real license server with one enrolled host; returns the server, the host's enrollment dir and its client.
async fn server(tmp: &tempfile::TempDir) -> (rdlic_server::RunningServer, std::path::PathBuf, LicenseServerClient) {
    let data = tmp.path().join("data");
    let server = rdlic_server::start(rdlic_server::ServerOptions::new(data.clone())).await.unwrap();
    let admin = AdminClient::from_data_dir(&data, None).unwrap();
    let v = admin.post("/api/v1/admin/enroll-tokens", &serde_json::json!({})).await.unwrap();
    let token = v["token"].as_str().unwrap();
    let dir = tmp.path().join("host");
    let ca = std::fs::read(data.join("ca.crt")).unwrap();
    LicenseServerClient::enroll(&server.url, token, "rdsh", &dir, Some(&ca)).await.unwrap();
    let client = LicenseServerClient::from_dir(&dir, None).unwrap();
    (server, dir, client)
}

fn requests(server: &rdlic_server::RunningServer, endpoint: &str) -> u64 {
    let key = format!("rdlic_http_requests_total{{endpoint=\"{endpoint}\",status=\"200\"}} ");
    let text = server.state.metrics.render();
    text.lines().find_map(|l| l.strip_prefix(key.as_str())).map(|v| v.trim().parse().unwrap()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_asks_share_batch_requests_and_each_caller_gets_its_own_cal() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, _, client) = server(&tmp).await;
    let ls: Arc<dyn LicenseAuthority> = Coalesced::new("ls1", client);
    const N: u32 = 96;
    let tasks: Vec<_> = (1..=N)
        .map(|n| {
            let servers = vec![ls.clone()];
            tokio::spawn(async move {
                ask_in_order(&servers, ServerRequest::IssueDevice, &request(n), Duration::from_secs(20)).await
            })
        })
        .collect();
    let mut serials = std::collections::HashMap::new();
    for (n, task) in (1..=N).zip(tasks) {
        let result = task.await.unwrap();
        assert_eq!(result.answer, ServerAnswer::Issued { server: "ls1".into(), kind: CalKind::Temporary });
        let cal = rdpele::cal::parse_cal(&result.cal.unwrap().cal).unwrap();
        assert_eq!(cal.hardware_id_array(), Some(request(n).hardware_id), "device {n} got another device's CAL");
        assert_eq!(cal.client_machine, format!("PC{n}"));
        assert!(serials.insert(cal.serial_u64().unwrap(), request(n).hardware_id).is_none(), "serial given twice");
    }
    let batches = requests(&server, "/api/v1/cal/device/batch");
    assert!(batches >= 1 && batches < u64::from(N), "{batches} batch requests for {N} asks");
    assert_eq!(requests(&server, "/api/v1/cal/device"), 0);
    assert_eq!(server.state.metrics.issuance_count("temporary", "ok"), u64::from(N));
    // What the server recorded: each serial the host handed out belongs to the device it was handed to.
    let admin = AdminClient::from_data_dir(&tmp.path().join("data"), None).unwrap();
    let recorded = admin.get("/api/v1/admin/licenses").await.unwrap();
    let recorded = recorded["licenses"].as_array().unwrap();
    assert_eq!(recorded.len(), serials.len());
    for cal in recorded {
        let serial: u64 = cal["serial"].as_str().unwrap().parse().unwrap();
        let hwid = serials.get(&serial).map(hex::encode);
        assert_eq!(hwid.as_deref(), cal["hardware_id"].as_str(), "serial {serial}");
    }
    eprintln!("{N} concurrent asks went out in {batches} batch requests");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_skips_unreachable_and_silent_servers_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, dir, client) = server(&tmp).await;
    // A closed port, and a port that accepts TCP but never answers the TLS handshake.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("https://{}", silent.local_addr().unwrap());
    let dead = Coalesced::new("dead", LicenseServerClient::from_dir(&dir, Some(&format!("https://{closed}"))).unwrap());
    let mute = Coalesced::new("mute", LicenseServerClient::from_dir(&dir, Some(&silent_url)).unwrap());
    let live = Coalesced::new("ls1", client);
    let servers: Vec<Arc<dyn LicenseAuthority>> = vec![dead, mute, live];
    let tasks: Vec<_> = (1..=8)
        .map(|n| {
            let servers = servers.clone();
            tokio::spawn(async move {
                ask_in_order(&servers, ServerRequest::IssueDevice, &request(n), Duration::from_millis(400)).await
            })
        })
        .collect();
    // The asks run at once: one that starts after another found "dead" or "mute" unreachable finds it in its
    // back-off and asks it last, that is not at all once "ls1" answered. Every ask tries the servers it tries in
    // the configured order and ends at "ls1"; the first failures are recorded, so some ask tried each.
    let (mut tried_dead, mut tried_mute) = (false, false);
    for (n, task) in (1..=8).zip(tasks) {
        let result = task.await.unwrap();
        assert_eq!(result.answer, ServerAnswer::Issued { server: "ls1".into(), kind: CalKind::Temporary });
        let tried: Vec<_> = result.attempts.iter().map(|a| a.server.as_str()).collect();
        assert!(
            [&["dead", "mute", "ls1"][..], &["dead", "ls1"], &["mute", "ls1"], &["ls1"]].contains(&tried.as_slice()),
            "{tried:?}"
        );
        for a in &result.attempts {
            match a.server.as_str() {
                "dead" => {
                    tried_dead = true;
                    assert!(a.result.starts_with("cannot contact the license server"), "{:?}", result.attempts);
                }
                "mute" => {
                    tried_mute = true;
                    assert_eq!(a.result, "cannot contact the license server: no answer within 400 ms");
                }
                _ => {}
            }
        }
        let cal = rdpele::cal::parse_cal(&result.cal.unwrap().cal).unwrap();
        assert_eq!(cal.hardware_id_array(), Some(request(n).hardware_id));
    }
    assert!(tried_dead && tried_mute, "no ask tried the unreachable servers");
    // While their back-off runs, a new ask goes to "ls1" alone.
    let result = ask_in_order(&servers, ServerRequest::IssueDevice, &request(10), Duration::from_millis(400)).await;
    let tried: Vec<_> = result.attempts.iter().map(|a| a.server.as_str()).collect();
    assert_eq!(tried, ["ls1"]);
    // A refusal of the live server is "cannot issue" for that server, for each caller on its own: a revoked host.
    let hosts = AdminClient::from_data_dir(&tmp.path().join("data"), None).unwrap();
    let list = hosts.get("/api/v1/admin/hosts").await.unwrap();
    let id = list["hosts"][0]["id"].as_str().unwrap().to_owned();
    hosts.post(&format!("/api/v1/admin/hosts/{id}/revoke"), &serde_json::json!({})).await.unwrap();
    let result = ask_in_order(&servers[2..], ServerRequest::IssueDevice, &request(9), Duration::from_secs(5)).await;
    assert_eq!(result.answer, ServerAnswer::CannotIssue { server: "ls1".into() });
    assert!(result.attempts[0].result.contains("revoked"), "{:?}", result.attempts);
    drop(silent);
    server.shutdown().await;
}
