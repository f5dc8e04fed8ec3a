//! `rdlic up [--dir DIR] [--rdp-listen ADDR] [--api-listen ADDR]` — the one-command demo: on the embedded store, a
//! license server activated with a development clearinghouse and holding a demo per-device key pack, and a
//! session host enrolled with it and pointed at it (LicensingMode 2). It prints how to connect with xfreerdp.
//!
//! Each step runs this binary's own subcommands (`clearinghouse init`, `server run`, `activate`,
//! `clearinghouse activate`, `clearinghouse keypack`, `keypack install`), so the demo goes through exactly the
//! paths an administrator uses. Steps already done in DIR are skipped: running `up` again restarts the same demo.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};

use anyhow::{bail, Context as _};
use rdlic_host::config::HostConfig;
use rdlic_api::client::{AdminClient, LicenseServerClient};

use crate::i18n::t;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Demo directory (clearinghouse/, server/, host/)
    #[arg(long, default_value = "rdlic-demo")]
    dir: PathBuf,
    /// RDP listener of the session host
    #[arg(long, default_value = "127.0.0.1:33389")]
    rdp_listen: SocketAddr,
    /// HTTPS API of the license server
    #[arg(long, default_value = "127.0.0.1:0")]
    api_listen: SocketAddr,
    /// Permanent per-device CALs in the demo key pack
    #[arg(long, default_value_t = 25)]
    cals: u32,
}

/// The license server child, killed (by its pid) when `up` ends.
struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn exe() -> anyhow::Result<PathBuf> {
    std::env::current_exe().with_context(|| t!(UP_NO_EXE))
}

/// Runs one `rdlic` step in the language of this run (its errors reach the user).
fn step(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(exe()?)
        .args(["--lang", crate::i18n::lang().code()])
        .args(args)
        .env("RDLIC_LOG", "warn")
        .output()
        .with_context(|| t!(UP_CANNOT_RUN))?;
    if !out.status.success() {
        bail!(t!(UP_STEP_FAILED, command = args.join(" "), error = String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn path(p: &Path) -> anyhow::Result<&str> {
    p.to_str().with_context(|| t!(UP_PATH_NOT_UTF8, path = p.display()))
}

/// Starts `rdlic server run` and waits for its URL. The server runs in English: its "listening on" line is read
/// here, and nothing else of its output reaches the user.
fn start_server(data: &Path, clearinghouse_pub: &Path, listen: SocketAddr) -> anyhow::Result<(ServerProcess, String)> {
    let mut child = Command::new(exe()?)
        .args(["--lang", "en", "server", "run", "--data", path(data)?, "--listen", &listen.to_string(), "--clearinghouse-key", path(clearinghouse_pub)?])
        .env("RDLIC_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| t!(UP_SERVER_START))?;
    let stderr = child.stderr.take().with_context(|| t!(UP_SERVER_START))?;
    let server = ServerProcess(child);
    let mut lines = BufReader::new(stderr).lines();
    let url = loop {
        let Some(line) = lines.next() else { bail!(t!(UP_SERVER_EXITED)) };
        let line = line.with_context(|| t!(UP_SERVER_EXITED))?;
        if let Some((_, url)) = line.split_once(" listening on ") {
            break url.trim().to_owned();
        }
    };
    // Keep draining so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Ok((server, url))
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let ch = args.dir.join("clearinghouse");
    let data = args.dir.join("server");
    let host = args.dir.join("host");
    std::fs::create_dir_all(&args.dir).with_context(|| t!(CREATE_DIR, path = args.dir.display()))?;

    if !ch.join("clearinghouse.pub").exists() {
        step(&["clearinghouse", "init", "--dir", path(&ch)?])?;
    }
    let (server, url) = start_server(&data, &ch.join("clearinghouse.pub"), args.api_listen)?;

    let activated = args.dir.join(".activated");
    if !activated.exists() {
        let request = args.dir.join("activation-request.pem");
        let out = step(&["activate", "--data", path(&data)?, "--request", path(&request)?, "--json"])?;
        let server_id = serde_json::from_str::<serde_json::Value>(&out)
            .ok()
            .and_then(|v| v["server_id"].as_str().map(str::to_owned))
            .with_context(|| t!(UP_NO_SERVER_ID))?;
        let certificate = args.dir.join("activation.txt");
        step(&["clearinghouse", "activate", "--dir", path(&ch)?, "--request", path(&request)?, "--out", path(&certificate)?])?;
        step(&["activate", "--data", path(&data)?, path(&certificate)?])?;
        let pack = args.dir.join("demo-keypack.txt");
        let count = args.cals.to_string();
        step(&[
            "clearinghouse", "keypack", "--dir", path(&ch)?, "--server-id", &server_id, "--type", "per-device",
            "--version", "2022", "--count", &count, "--out", path(&pack)?,
        ])?;
        step(&["keypack", "install", "--data", path(&data)?, path(&pack)?])?;
        std::fs::write(&activated, server_id).with_context(|| t!(WRITE_FILE, path = activated.display()))?;
    }

    if !host.join("enrollment.json").exists() {
        let rt = super::server::runtime()?;
        rt.block_on(async {
            let admin = AdminClient::from_data_dir(&data, Some(&url))?;
            let token = admin.post("/api/v1/admin/enroll-tokens", &serde_json::json!({})).await?;
            let token = token["token"].as_str().with_context(|| t!(UP_NO_TOKEN))?.to_owned();
            let ca_path = data.join("ca.crt");
            let ca = std::fs::read(&ca_path).with_context(|| t!(READ_FILE, path = ca_path.display()))?;
            LicenseServerClient::enroll(&url, &token, "rdlic-demo-host", &host, Some(&ca)).await?;
            anyhow::Ok(())
        })
        .with_context(|| t!(UP_ENROLL))?;
    }

    // The server URL may change between runs (ephemeral API port): point the host at it every time.
    let mut config = HostConfig::load(&host)?;
    config.licensing_mode = 2;
    config.specified_license_servers = vec![url.clone()];
    config.save(&host)?;

    println!("{}", t!(UP_BANNER_SERVER, url = url, dir = data.display()));
    println!("{}", t!(UP_BANNER_HOST, addr = args.rdp_listen, dir = host.display()));
    let code = super::host::serve(&host, args.rdp_listen, 0, 0);
    drop(server);
    code
}
