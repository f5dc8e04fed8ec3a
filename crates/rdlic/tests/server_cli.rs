//! The real `rdlic` binary as license server and admin CLI: the vendor → activation → key pack → issuance → report
//! path through the commands, and `kill -9` of the server under issuance load losing no CAL a host received.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use rdlic_api::client::{AdminClient, DeviceCalAsk, LicenseServerClient};

mod common;

use common::{rdlic, Tmp, RDLIC};

/// A new database on the test PostgreSQL server, when `RDLIC_TEST_PG_URL` is set.
fn pg_database() -> Option<String> {
    let base = std::env::var("RDLIC_TEST_PG_URL").ok()?;
    let mut r = [0u8; 6];
    openssl::rand::rand_bytes(&mut r).unwrap();
    let name = format!("rdlic_cli_{}", hex::encode(r));
    let out = Command::new("psql").args([base.as_str(), "-qc", &format!("CREATE DATABASE {name}")]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (prefix, _) = base.rsplit_once('/').unwrap();
    Some(format!("{prefix}/{name}"))
}

/// Starts `rdlic server run` and returns it with its URL (read from its "listening on" line).
fn start_server(data: &Path, ch_pub: Option<&Path>, database: Option<&str>) -> (Child, String) {
    let mut cmd = Command::new(RDLIC);
    cmd.args(["server", "run", "--data"]).arg(data).args(["--listen", "127.0.0.1:0"]);
    if let Some(p) = ch_pub {
        cmd.arg("--clearinghouse-key").arg(p);
    }
    if let Some(db) = database {
        cmd.args(["--database", db]);
    }
    let mut child =
        cmd.env("RDLIC_LOG", "warn").env("RDLIC_LANG", "en").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let url = loop {
        let line = lines.next().expect("server exited before listening").unwrap();
        if let Some((_, url)) = line.split_once(" listening on ") {
            break url.trim().to_owned();
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

fn ask(n: u32) -> DeviceCalAsk {
    let mut hw = [0u8; 20];
    hw[4..8].copy_from_slice(&n.to_le_bytes());
    DeviceCalAsk {
        hardware_id: hw,
        client_machine: format!("PC{n}"),
        user: "u".into(),
        platform_id: 0x0201_0000,
        host_version: 2022,
        presented_serial: None,
        request_id: None,
    }
}

async fn enroll(url: &str, data: &Path, dir: &Path) -> LicenseServerClient {
    let admin = AdminClient::from_data_dir(data, Some(url)).unwrap();
    let t = admin.post("/api/v1/admin/enroll-tokens", &serde_json::json!({})).await.unwrap();
    let ca = std::fs::read(data.join("ca.crt")).unwrap();
    LicenseServerClient::enroll(url, t["token"].as_str().unwrap(), "rdsh", dir, Some(&ca)).await.unwrap();
    LicenseServerClient::from_dir(dir, None).unwrap()
}

#[test]
fn vendor_activation_keypack_and_reports_through_the_cli() {
    let tmp = Tmp::new("flow");
    let ch = tmp.0.join("ch");
    let data = tmp.0.join("data");
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let (code, out, err) = rdlic(&["clearinghouse", "init", "--dir", &s(&ch)]);
    assert_eq!(code, 0, "{out}{err}");
    // A second init refuses to overwrite the key.
    let (code, _, err) = rdlic(&["clearinghouse", "init", "--dir", &s(&ch)]);
    assert_eq!(code, 1);
    assert!(err.contains("--force"), "{err}");

    // Admin commands before the server ever ran say what to do.
    let (code, _, err) = rdlic(&["keypack", "list", "--data", &s(&data)]);
    assert_eq!(code, 1);
    assert!(err.contains("rdlic server run"), "{err}");

    let (mut server, url) = start_server(&data, Some(&ch.join("clearinghouse.pub")), None);
    let d = s(&data);
    // The RD Licensing Manager page is served by the same server.
    let page = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        AdminClient::from_data_dir(&data, Some(&url)).unwrap().request_raw("GET", "/admin/", None).await.unwrap()
    });
    assert_eq!(page.0, 200);
    assert!(page.1.to_ascii_lowercase().contains("<html"), "{}", page.1);
    let req = s(&tmp.0.join("req.pem"));
    let (code, out, err) = rdlic(&["activate", "--data", &d, "--request", &req, "--json"]);
    assert_eq!(code, 0, "{err}");
    let sid = serde_json::from_str::<serde_json::Value>(&out).unwrap()["server_id"].as_str().unwrap().to_owned();
    let act = s(&tmp.0.join("act.txt"));
    assert_eq!(rdlic(&["clearinghouse", "activate", "--dir", &s(&ch), "--request", &req, "--out", &act]).0, 0);
    let (code, out, err) = rdlic(&["activate", "--data", &d, &act]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("activated"), "{out}");

    let pack = s(&tmp.0.join("pack.txt"));
    let (code, _, err) = rdlic(&[
        "clearinghouse", "keypack", "--dir", &s(&ch), "--server-id", &sid, "--type", "per-device", "--version", "2022",
        "--count", "5", "--out", &pack,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(rdlic(&["keypack", "install", "--data", &d, &pack]).0, 0);
    let (code, out, _) = rdlic(&["keypack", "install", "--data", &d, &pack]);
    assert_eq!(code, 0);
    assert!(out.contains("already installed"), "{out}");
    // A pack for another server: exit code 3 and the reason.
    let other = s(&tmp.0.join("other.txt"));
    let foreign_id = "00000000-00000000-00000000-00000001";
    assert_eq!(
        rdlic(&["clearinghouse", "keypack", "--dir", &s(&ch), "--server-id", foreign_id, "--count", "5", "--out", &other]).0,
        0
    );
    let (code, _, err) = rdlic(&["keypack", "install", "--data", &d, &other]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("request a pack for this server id"), "{err}");

    let (code, out, _) = rdlic(&["keypack", "list", "--data", &d, "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["keypacks"].as_array().unwrap().len(), 1);
    assert_eq!(v["keypacks"][0]["available"], 5);

    // A host gets a temporary then a permanent CAL; the CLI lists, reports and revokes it.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let serial = rt.block_on(async {
        let host = enroll(&url, &data, &tmp.0.join("host")).await;
        host.issue_device_cal(&ask(1)).await.unwrap();
        let p = host.upgrade(&ask(1)).await.unwrap();
        assert!(p.permanent);
        p.serial
    });
    let (code, out, _) = rdlic(&["license", "list", "--data", &d, "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["licenses"].as_array().unwrap().iter().any(|l| l["serial"] == serial.as_str() && l["kind"] == "permanent"));
    let (code, out, _) = rdlic(&["report", "per-device", "--data", &d, "--format", "csv"]);
    assert_eq!(code, 0);
    assert!(out.lines().next().unwrap().starts_with("serial,"), "{out}");
    assert!(out.contains(&format!("{serial},")), "{out}");
    let (code, out, _) = rdlic(&["report", "per-user", "--data", &d, "--json"]);
    assert_eq!(code, 0);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap()["report"], "per-user");
    let (code, _, err) = rdlic(&["revoke", "--data", &d, &serial]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = rdlic(&["revoke", "--data", &d, &serial]);
    assert_eq!(code, 3, "a revoked CAL cannot be revoked again: {err}");

    server.kill().unwrap();
    server.wait().unwrap();
    // Server down: exit code 4 and a hint.
    let (code, _, err) = rdlic(&["license", "list", "--data", &d]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("rdlic server run"), "{err}");
}

/// `kill -9` of the server while 8 hosts issue CALs: after a restart, every CAL any host received is in the database
/// with the hardware id it was issued to (the store commits before the answer).
#[test]
fn kill_9_during_issuance_loses_no_cal_a_host_received() {
    let mut dbs: Vec<Option<String>> = vec![None];
    if let Some(pg) = pg_database() {
        dbs.push(Some(pg));
    }
    for db in dbs {
        let tmp = Tmp::new("kill9");
        let data = tmp.0.join("data");
        let (mut server, url) = start_server(&data, None, db.as_deref());
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let received: Vec<(String, [u8; 20])> = rt.block_on(async {
            let host = Arc::new(enroll(&url, &data, &tmp.0.join("host")).await);
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            for task in 0..8u32 {
                let host = host.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    for i in 0.. {
                        let a = ask(task * 1_000_000 + i);
                        match host.issue_device_cal(&a).await {
                            Ok(cal) => {
                                if tx.send(Some((cal.serial, a.hardware_id))).is_err() {
                                    break;
                                }
                            }
                            Err(_) => {
                                let _ = tx.send(None);
                                break;
                            }
                        }
                    }
                });
            }
            drop(tx);
            let mut got = Vec::new();
            let mut killed = false;
            while let Some(msg) = rx.recv().await {
                if let Some(r) = msg {
                    got.push(r);
                }
                if !killed && got.len() >= 150 {
                    server.kill().unwrap(); // SIGKILL
                    killed = true;
                }
            }
            assert!(killed);
            got
        });
        server.wait().unwrap();
        assert!(received.len() >= 150);

        let (mut server, url) = start_server(&data, None, db.as_deref());
        let stored: HashMap<String, String> = rt.block_on(async {
            let admin = AdminClient::from_data_dir(&data, Some(&url)).unwrap();
            let v = admin.get("/api/v1/admin/licenses").await.unwrap();
            v["licenses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| (l["serial"].as_str().unwrap().to_owned(), l["hardware_id"].as_str().unwrap().to_owned()))
                .collect()
        });
        for (serial, hw) in &received {
            assert_eq!(stored.get(serial), Some(&hex::encode(hw)), "{db:?}: CAL {serial} was received but lost");
        }
        eprintln!("{db:?}: {} CALs received before kill -9, {} in the database after restart", received.len(), stored.len());
        server.kill().unwrap();
        server.wait().unwrap();
    }
}

/// `rdlic host enroll` trusts a license server only with `--ca`, or with an explicit `--insecure-first-use` that
/// prints the CA fingerprint, which `rdlic host token` and `rdlic server run` print on the license server side.
#[test]
fn enrollment_needs_the_ca_or_an_explicit_first_use_that_prints_the_fingerprint() {
    let tmp = Tmp::new("enroll-ca");
    let data = tmp.0.join("data");
    let (mut server, url) = start_server(&data, None, None);
    let data_s = data.to_str().unwrap();
    let token = || {
        let (code, out, err) = rdlic(&["host", "token", "--data", data_s]);
        assert_eq!(code, 0, "{err}");
        (out.trim().to_owned(), err)
    };
    let (t1, token_err) = token();
    // The server's CA fingerprint as openssl computes it.
    let pem = std::fs::read(data.join("ca.crt")).unwrap();
    let der = openssl::x509::X509::from_pem(&pem).unwrap().to_der().unwrap();
    let expected: Vec<String> = openssl::sha::sha256(&der).iter().map(|b| format!("{b:02X}")).collect();
    let expected = expected.join(":");
    assert!(token_err.contains(&expected), "`rdlic host token` does not print the CA fingerprint:\n{token_err}");

    // Neither --ca nor --insecure-first-use: refused, nothing written, with what to do.
    let host1 = tmp.0.join("host1");
    let (code, _, err) = rdlic(&["host", "enroll", "--server", &url, "--token", &t1, "--dir", host1.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--ca") && err.contains("--insecure-first-use"), "{err}");
    assert!(!host1.join("client.crt").exists());

    // --insecure-first-use: enrolled, and the fingerprint it trusted is printed.
    let (code, _, err) = rdlic(&[
        "host", "enroll", "--server", &url, "--token", &t1, "--dir", host1.to_str().unwrap(), "--insecure-first-use",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(&expected), "the trusted CA's fingerprint is not printed:\n{err}");

    // --ca: enrolled without a warning.
    let (t2, _) = token();
    let host2 = tmp.0.join("host2");
    let ca = data.join("ca.crt");
    let (code, _, err) = rdlic(&[
        "host", "enroll", "--server", &url, "--token", &t2, "--dir", host2.to_str().unwrap(), "--ca", ca.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("trusted on first use"), "{err}");
    let _ = server.kill();
    let _ = server.wait();
}

/// `rdlic host admin-password` writes the admin account into host.toml, hashed; a short password is refused.
#[test]
fn host_admin_password_is_stored_hashed() {
    use std::io::Write as _;
    let tmp = Tmp::new("admin-password");
    let dir = tmp.0.join("host");
    let run = |password: &str| {
        let mut child = Command::new(RDLIC)
            .args(["host", "admin-password", "--dir"])
            .arg(&dir)
            .args(["--user", "rdadmin"])
            .env("RDLIC_LANG", "en")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
    };
    let (code, text) = run("short");
    assert_ne!(code, Some(0), "{text}");
    let (code, text) = run("correct-horse-battery");
    assert_eq!(code, Some(0), "{text}");
    let config = std::fs::read_to_string(dir.join("host.toml")).unwrap();
    assert!(config.contains("AdminUser = \"rdadmin\""), "{config}");
    assert!(config.contains("AdminPasswordHash = \"pbkdf2-sha256$600000$"), "{config}");
    assert!(!config.contains("correct-horse"), "{config}");
}

/// `rdlic server list` and `rdlic server forget`: two servers on one PostgreSQL database list each other; a running
/// one and the answering one cannot be forgotten; once the second is stopped (SIGTERM), forgetting it takes it off
/// the list, and a second attempt finds nothing. PostgreSQL only (a cluster shares one); skipped without it unless
/// `RDLIC_REQUIRE_PEERS=1`.
#[test]
fn a_stopped_server_is_listed_then_forgotten_through_the_cli() {
    let Some(db) = pg_database() else {
        common::skip_unless_required("RDLIC_TEST_PG_URL is unset");
        return;
    };
    let tmp = Tmp::new("forget");
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let (data_a, data_b, bundle) = (tmp.0.join("a"), tmp.0.join("b"), tmp.0.join("cluster.bundle"));
    let (mut a, _) = start_server(&data_a, None, Some(&db));
    let export = Command::new(RDLIC)
        .args(["server", "export", "--data", &s(&data_a), "--out", &s(&bundle)])
        .env("RDLIC_BUNDLE_PASSPHRASE", "a long enough passphrase")
        .output()
        .unwrap();
    assert!(export.status.success(), "{}", String::from_utf8_lossy(&export.stderr));
    let join = Command::new(RDLIC)
        .args(["server", "join", "--data", &s(&data_b), "--database", &db, "--bundle", &s(&bundle)])
        .env("RDLIC_BUNDLE_PASSPHRASE", "a long enough passphrase")
        .output()
        .unwrap();
    assert!(join.status.success(), "{}", String::from_utf8_lossy(&join.stderr));
    let (mut b, _) = start_server(&data_b, None, Some(&db));

    // Both listed, one of them "this" (a server reads the list at each heartbeat: polled until it shows `n`).
    let list = |data: &Path, n: usize| {
        let started = std::time::Instant::now();
        loop {
            let (code, out, err) = rdlic(&["server", "list", "--data", &s(data), "--json"]);
            assert_eq!(code, 0, "{err}");
            let servers = serde_json::from_str::<serde_json::Value>(&out).unwrap()["servers"].as_array().unwrap().clone();
            if servers.len() == n || started.elapsed() > std::time::Duration::from_secs(15) {
                return servers;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    };
    let servers = list(&data_a, 2);
    assert_eq!(servers.len(), 2, "{servers:?}");
    let id = |this: bool| servers.iter().find(|x| x["this"] == this).unwrap()["id"].as_str().unwrap().to_owned();
    let (id_a, id_b) = (id(true), id(false));
    let (code, out, _) = rdlic(&["server", "list", "--data", &s(&data_a)]);
    assert_eq!(code, 0);
    assert!(out.starts_with("id") && out.contains(&id_a) && out.contains(&id_b), "{out}");

    // Not the answering server, not a running one: refused with what to do.
    let (code, _, err) = rdlic(&["server", "forget", "--data", &s(&data_a), &id_a]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("server_is_this_one") && err.contains("another server"), "{err}");
    let (code, _, err) = rdlic(&["server", "forget", "--data", &s(&data_a), &id_b]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("server_alive") && err.contains("stop it first"), "{err}");

    // Stopped cleanly: forgotten, gone from the list; a second attempt finds nothing.
    let term = Command::new("kill").args(["-TERM", &b.id().to_string()]).status().unwrap();
    assert!(term.success());
    assert!(b.wait().unwrap().success());
    let (code, out, err) = rdlic(&["server", "forget", "--data", &s(&data_a), &id_b]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&id_b) && out.contains("SpecifiedLicenseServers"), "{out}");
    let ids: Vec<String> = list(&data_a, 1).iter().map(|x| x["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, [id_a]);
    let (code, _, err) = rdlic(&["server", "forget", "--data", &s(&data_a), &id_b]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("404"), "{err}");
    a.kill().unwrap();
    a.wait().unwrap();
}
