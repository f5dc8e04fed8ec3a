//! `rdlic host run|enroll|token|hosts|unenroll` — the RD Session Host.
//!
//! `rdlic host run --dir DIR --listen ADDR` reads `DIR/host.toml` (Windows value names; see `rdlic reg`), makes a
//! TLS certificate and a licensing key on first start, starts the grace period on first start (`DIR/grace.toml`)
//! and serves RDP clients.
//!
//! Advanced clock: `--clock-offset-days N` (or env `RDLIC_CLOCK_OFFSET_DAYS=N`) runs the host N days in the
//! future, so that "past the grace period" can be tried without waiting: start once without an offset (the first
//! start fixes the grace period's origin), then run again with `--clock-offset-days 121`.
//!
//! License servers: each `SpecifiedLicenseServers` entry is a license server URL (`https://ls1:8443`, or
//! `ls1:8443`); the host talks to it with the client certificate from `rdlic host enroll --dir DIR`. The special
//! entry `local` is an in-process license server (key in `DIR/local-ls/key.pem`) for demos.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use rdlic_host::authority::{
    AuthorityError, BoxFuture, CalRequest, Coalescer, IssuedCal, LicenseAuthority, LocalAuthority, LocalCalVerifier,
    CAL_BATCHES_IN_FLIGHT, MAX_CAL_BATCH,
};
use rdlic_host::config::HostConfig;
use rdlic_host::grace::Clock;
use rdlic_host::policy::CalKind;
use rdlic_host::{Host, HostOptions};
use rdlic_server::client::{DeviceCalAsk, DeviceCalItem, LicenseServerClient};
use rdlic_server::wire::DeviceCalReason;

use super::host_enroll;
#[path = "host_report.rs"]
mod host_report;
use crate::i18n::t;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: HostCommand,
}

#[derive(Debug, clap::Subcommand)]
enum HostCommand {
    /// Run the session host (RDP listener with licensing)
    Run(RunArgs),
    /// Enroll this host with a license server (one-time token)
    Enroll(host_enroll::EnrollArgs),
    /// On the license server: make a one-time enrollment token
    Token(host_enroll::TokenArgs),
    /// On the license server: list enrolled hosts
    Hosts(host_enroll::HostsArgs),
    /// On the license server: revoke a host's enrollment
    Unenroll(host_enroll::UnenrollArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// Host data directory (host.toml, grace.toml, tls/, licensing/, enrollment files)
    #[arg(long)]
    dir: PathBuf,
    /// Address of the RDP listener
    #[arg(long, default_value = "0.0.0.0:3389")]
    listen: SocketAddr,
    /// Run the host clock this many days ahead (tests, demos)
    #[arg(long, env = "RDLIC_CLOCK_OFFSET_DAYS", default_value_t = 0, allow_hyphen_values = true)]
    clock_offset_days: i64,
    /// Permanent CALs of the in-process license server `local`
    #[arg(long, default_value_t = 10)]
    local_permanent_cals: u32,
    /// Seconds between two reports to the license server (grace period, refusals, diagnose findings; also sent
    /// at start and right after a refusal); 0 turns reports off
    #[arg(long, env = "RDLIC_REPORT_INTERVAL_SECS", default_value_t = host_report::DEFAULT_INTERVAL_SECS)]
    report_interval_secs: u64,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        HostCommand::Run(a) => run_host(a),
        HostCommand::Enroll(a) => host_enroll::run_enroll(a),
        HostCommand::Token(a) => host_enroll::run_token(a),
        HostCommand::Hosts(a) => host_enroll::run_hosts(a),
        HostCommand::Unenroll(a) => host_enroll::run_unenroll(a),
    }
}

fn run_host(args: RunArgs) -> anyhow::Result<ExitCode> {
    serve_with(args)
}

/// Runs the session host of `dir` until Ctrl-C or SIGTERM.
pub(crate) fn serve(dir: &Path, listen: SocketAddr, clock_offset_days: i64, local_permanent_cals: u32) -> anyhow::Result<ExitCode> {
    let report_interval_secs = host_report::DEFAULT_INTERVAL_SECS;
    serve_with(RunArgs { dir: dir.to_owned(), listen, clock_offset_days, local_permanent_cals, report_interval_secs })
}

fn serve_with(args: RunArgs) -> anyhow::Result<ExitCode> {
    let config = HostConfig::load(&args.dir).with_context(|| t!(HOST_CONFIG_READ))?;
    // Connection set-up is throughput work (TLS, RSA): the workers run as SCHED_BATCH.
    let runtime = rdlic_server::sched::batch_runtime().build().with_context(|| t!(RUNTIME_START))?;
    runtime.block_on(async move {
        let (authorities, verifier) = authorities_for(&args.dir, &config, args.local_permanent_cals).await?;
        let host = Host::bind(HostOptions {
            dir: args.dir.clone(),
            listen: args.listen,
            config: config.clone(),
            clock: Clock::with_offset_days(args.clock_offset_days),
            authorities,
            verifier,
        })
        .await
        .with_context(|| t!(HOST_NOT_STARTED))?;
        let addr = host.local_addr().with_context(|| t!(HOST_NOT_STARTED))?;
        host_report::spawn(&args.dir, &config, args.clock_offset_days, args.report_interval_secs, host.status());
        // The tests read the address from this line (in English by default).
        println!("{}", t!(HOST_LISTENING, addr = addr));
        println!("{}", t!(HOST_CONNECT, addr = addr));
        tokio::select! {
            () = host.run() => {}
            () = stop_signal() => tracing::info!("stopping the session host"),
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Ctrl-C or SIGTERM.
async fn stop_signal() {
    #[cfg(unix)]
    if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        return;
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// License server clients by name.
pub(crate) type Authorities = Vec<Arc<dyn LicenseAuthority>>;

/// The license server clients and the CAL verifier for the configured `SpecifiedLicenseServers`.
///
/// The verifier trusts the in-process server's key and the certificate chain of each license server, fetched at
/// start (`GET /api/v1/chain`) and kept in `DIR/trusted/` so that CALs still validate while a server is down.
pub(crate) async fn authorities_for(
    dir: &Path,
    config: &HostConfig,
    local_permanent_cals: u32,
) -> anyhow::Result<(Authorities, Arc<LocalCalVerifier>)> {
    let mut authorities: Vec<Arc<dyn LicenseAuthority>> = Vec::new();
    let mut trusted = Vec::new();
    for name in &config.license_servers() {
        if name == "local" {
            let key = LocalAuthority::load_or_create_key(&dir.join("local-ls").join("key.pem"))
                .with_context(|| t!(HOST_LOCAL_SERVER))?;
            let local = LocalAuthority::new(name, key, local_permanent_cals).with_context(|| t!(HOST_LOCAL_SERVER))?;
            trusted.push(local.public_key().with_context(|| t!(HOST_LOCAL_SERVER))?);
            authorities.push(Arc::new(local));
            continue;
        }
        let url = if name.contains("://") { name.clone() } else { format!("https://{name}") };
        match LicenseServerClient::from_dir(dir, Some(&url)) {
            Ok(client) => {
                let timeout = std::time::Duration::from_millis(config.license_server_timeout_ms);
                let client = client.with_timeout(timeout);
                let cache = dir.join("trusted").join(format!("{}.der", sanitize(name)));
                let chain = match client.server_chain().await {
                    Ok(chain) => {
                        if let Some(parent) = cache.parent() {
                            let _ = std::fs::create_dir_all(parent);
                        }
                        let _ = std::fs::write(&cache, chain.concat());
                        chain
                    }
                    Err(error) => {
                        tracing::warn!(license_server = %name, %error, "cannot fetch the license server's chain; using the cached one");
                        std::fs::read(&cache).map(|der| split_der(&der)).unwrap_or_default()
                    }
                };
                for der in chain {
                    if let Some(key) = rdpele::x509::Certificate::from_der(&der).ok().and_then(|c| c.public_key) {
                        trusted.push(key);
                    }
                }
                authorities.push(Arc::new(RemoteAuthority::new(name, client)));
            }
            Err(error) => {
                tracing::warn!(license_server = %name, %error, "no enrollment for this license server (run `rdlic host enroll`); it will be reported as unreachable");
            }
        }
    }
    Ok((authorities, Arc::new(LocalCalVerifier::new(trusted))))
}

fn sanitize(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect()
}

/// Splits concatenated DER certificates (each a SEQUENCE with a definite length).
fn split_der(mut der: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while der.len() >= 2 && der[0] == 0x30 {
        let (header, len) = match der[1] {
            n if n < 0x80 => (2, usize::from(n)),
            0x81 if der.len() >= 3 => (3, usize::from(der[2])),
            0x82 if der.len() >= 4 => (4, usize::from(u16::from_be_bytes([der[2], der[3]]))),
            _ => break,
        };
        let Some(cert) = der.get(..header + len) else { break };
        out.push(cert.to_vec());
        der = &der[header + len..];
    }
    out
}

/// A license server reached over its HTTPS API with this host's enrollment certificate. Concurrent per-device
/// requests go out together in batch requests (`POST /api/v1/cal/device/batch`, [`Coalescer`]).
#[derive(Debug)]
struct RemoteAuthority {
    name: String,
    client: LicenseServerClient,
    device: Coalescer<DeviceCalItem, IssuedCal>,
}

/// The product version (year) this host asks CALs for.
const HOST_VERSION: u16 = 2022;

impl RemoteAuthority {
    fn new(name: &str, client: LicenseServerClient) -> Self {
        let batch_client = client.clone();
        let send = Arc::new(move |items: Vec<DeviceCalItem>| -> BoxFuture<'static, _> {
            let client = batch_client.clone();
            Box::pin(async move {
                let answers = client.device_cals_batch(&items).await.map_err(|e| Self::error(&e))?;
                Ok(answers.into_iter().map(|a| a.map(Self::convert).map_err(|e| Self::error(&e))).collect())
            })
        });
        Self { name: name.to_owned(), client, device: Coalescer::new(send, MAX_CAL_BATCH, CAL_BATCHES_IN_FLIGHT) }
    }

    fn ask(request: &CalRequest) -> DeviceCalAsk {
        DeviceCalAsk {
            hardware_id: request.hardware_id,
            client_machine: request.machine_name.clone(),
            user: request.user_name.clone(),
            platform_id: request.platform_id,
            host_version: HOST_VERSION,
            presented_serial: Self::presented(request).map(|cal| hex::encode(&cal.serial)),
        }
    }

    /// The presented CAL, decoded (it was verified by the host before any license server is asked).
    fn presented(request: &CalRequest) -> Option<rdpele::cal::ParsedCal> {
        request.presented_cal.as_deref().and_then(|cal| rdpele::cal::parse_cal(cal).ok())
    }

    fn error(error: &rdlic_server::client::ClientError) -> AuthorityError {
        match error.status() {
            Some(_) => AuthorityError::CannotIssue(error.to_string()),
            None => AuthorityError::Unreachable(error.to_string()),
        }
    }

    fn convert(cal: rdlic_server::client::IssuedCal) -> IssuedCal {
        IssuedCal {
            cal: cal.cal,
            kind: if cal.permanent { CalKind::Permanent } else { CalKind::Temporary },
            expires_at: u64::try_from(cal.expires_at).unwrap_or(0),
        }
    }
}

impl LicenseAuthority for RemoteAuthority {
    fn name(&self) -> &str {
        &self.name
    }

    fn issue_device<'a>(&'a self, request: &'a CalRequest) -> BoxFuture<'a, Result<IssuedCal, AuthorityError>> {
        Box::pin(self.device.call(DeviceCalItem { reason: DeviceCalReason::Issue, ask: Self::ask(request) }))
    }

    fn upgrade_device<'a>(&'a self, request: &'a CalRequest) -> BoxFuture<'a, Result<IssuedCal, AuthorityError>> {
        Box::pin(async move {
            // A permanent CAL near its expiry is renewed; a temporary one is upgraded.
            let renew = Self::presented(request).is_some_and(|cal| !cal.temporary);
            let reason = if renew { DeviceCalReason::Renew } else { DeviceCalReason::Upgrade };
            self.device.call(DeviceCalItem { reason, ask: Self::ask(request) }).await
        })
    }

    fn checkout_user<'a>(&'a self, request: &'a CalRequest) -> BoxFuture<'a, Result<(), AuthorityError>> {
        Box::pin(async move {
            let user = if request.domain.is_empty() {
                request.user_name.clone()
            } else {
                format!("{}\\{}", request.domain, request.user_name)
            };
            self.client.checkout_user_cal(&user, HOST_VERSION).await.map(|_| ()).map_err(|e| Self::error(&e))
        })
    }
}
