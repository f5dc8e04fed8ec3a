//! `rdlic host run|enroll|token|hosts|unenroll|admin-password` — the RD Session Host.
//!
//! `rdlic host run --dir DIR --listen ADDR` reads `DIR/host.toml` (Windows value names; see `rdlic reg`), makes a
//! TLS certificate and a licensing key on first start, starts the grace period on first start (`DIR/grace.toml`)
//! and serves RDP clients.
//!
//! Advanced clock: `--clock-offset-days N` (or env `RDLIC_CLOCK_OFFSET_DAYS=N`) runs the host N days in the
//! future, so that "past the grace period" can be tried without waiting: start once without an offset (the first
//! start fixes the grace period's origin), then run again with `--clock-offset-days 121`. For tests and demos only:
//! refused unless `RDLIC_DEMO=1` (or a debug build).
//!
//! License servers: see `rdlic_host::remote`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use rdlic_host::config::HostConfig;
use rdlic_host::grace::Clock;
use rdlic_host::remote::authorities_for;
use rdlic_host::{Host, HostOptions};

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
    /// Set the admin account whose credentials a `/admin` connection must send to take an administrative slot
    /// (password read from stdin)
    AdminPassword(AdminPasswordArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct AdminPasswordArgs {
    /// Host data directory (host.toml is updated)
    #[arg(long)]
    dir: PathBuf,
    /// The admin account's user name, as the RDP client sends it (`user` or `DOMAIN\user`)
    #[arg(long, default_value = "Administrator")]
    user: String,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// Host data directory (host.toml, grace.toml, tls/, licensing/, enrollment files)
    #[arg(long, env = "RDLIC_HOST_DIR")]
    dir: PathBuf,
    /// Address of the RDP listener
    #[arg(long, env = "RDLIC_HOST_LISTEN", default_value = "0.0.0.0:3389")]
    listen: SocketAddr,
    /// Run the host clock this many days ahead (tests, demos)
    #[arg(long, env = "RDLIC_CLOCK_OFFSET_DAYS", default_value_t = 0, allow_hyphen_values = true)]
    clock_offset_days: i64,
    /// Permanent CALs of the in-process license server `local`
    #[arg(long, env = "RDLIC_LOCAL_PERMANENT_CALS", default_value_t = 10)]
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
        HostCommand::AdminPassword(a) => set_admin_password(&a),
    }
}

/// `rdlic host admin-password`: hashes the first line of stdin into `host.toml` (`AdminUser`, `AdminPasswordHash`).
fn set_admin_password(args: &AdminPasswordArgs) -> anyhow::Result<ExitCode> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).with_context(|| t!(HOST_ADMIN_PASSWORD_STDIN))?;
    let password = line.trim_end_matches(['\r', '\n']);
    let hash = rdlic_api::password::hash(password).map_err(|e| anyhow::anyhow!("{}", t!(HOST_ADMIN_PASSWORD_BAD, reason = e)))?;
    let mut config = HostConfig::load(&args.dir).with_context(|| t!(HOST_CONFIG_READ))?;
    config.admin_user = Some(args.user.clone());
    config.admin_password_hash = Some(hash);
    config.save(&args.dir)?;
    println!("{}", t!(HOST_ADMIN_PASSWORD_SET, user = args.user, path = HostConfig::path(&args.dir).display()));
    Ok(ExitCode::SUCCESS)
}

fn run_host(args: RunArgs) -> anyhow::Result<ExitCode> {
    serve_with(args)
}

/// Runs the session host of `dir` until Ctrl-C or SIGTERM.
pub(crate) fn serve(dir: &Path, listen: SocketAddr, clock_offset_days: i64, local_permanent_cals: u32) -> anyhow::Result<ExitCode> {
    let report_interval_secs = host_report::DEFAULT_INTERVAL_SECS;
    serve_with(RunArgs { dir: dir.to_owned(), listen, clock_offset_days, local_permanent_cals, report_interval_secs })
}

fn serve_with(mut args: RunArgs) -> anyhow::Result<ExitCode> {
    args.clock_offset_days = super::checked_clock_offset(args.clock_offset_days)?;
    let config = HostConfig::load(&args.dir).with_context(|| t!(HOST_CONFIG_READ))?;
    // Connection set-up is throughput work (TLS, RSA): the workers run as SCHED_BATCH.
    let runtime = rdlic_server::sched::batch_runtime().build().with_context(|| t!(RUNTIME_START))?;
    runtime.block_on(async move {
        let (authorities, verifier) = authorities_for(&args.dir, &config, args.local_permanent_cals)
            .await
            .with_context(|| t!(HOST_LOCAL_SERVER))?;
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
