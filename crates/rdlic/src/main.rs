//! `rdlic` — the one binary: license server, session host, vendor tools and diagnostics.
//!
//! Each subcommand lives in its own module under `cmd/`; this file only parses and dispatches.

use clap::{Parser, Subcommand};

mod cmd;

#[derive(Debug, Parser)]
#[command(name = "rdlic", version, about = "Remote Desktop licensing: license server, session host and diagnostics")]
struct Cli {
    /// Log filter (tracing EnvFilter syntax), e.g. `info` or `rdlic_host=debug`
    #[arg(long, global = true, env = "RDLIC_LOG", default_value = "info,ironrdp=warn")]
    log: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Demo: a license server and a session host on loopback with the embedded store
    Up(cmd::up::Args),
    /// License server (run)
    Server(cmd::server::Args),
    /// Session host (run, enroll)
    Host(cmd::host::Args),
    /// Vendor side: clearinghouse key, activation certificates, key packs
    Clearinghouse(cmd::clearinghouse::Args),
    /// Activate this license server with a clearinghouse certificate
    Activate(cmd::activate::Args),
    /// Install and list CAL key packs
    Keypack(cmd::keypack::Args),
    /// List issued licenses
    License(cmd::license::Args),
    /// Revoke a per-device CAL
    Revoke(cmd::revoke::Args),
    /// Per-user and per-device reports
    Report(cmd::report::Args),
    /// Query or change host licensing settings with reg.exe syntax
    Reg(cmd::reg::Args),
    /// Enable or disable the session-host role (dism syntax)
    Feature(cmd::feature::Args),
    /// Grace period days left (GetGracePeriodDays)
    Grace(cmd::grace::Args),
    /// Find why connections are refused on this host and print the fix
    Diagnose(cmd::diagnose::Args),
    /// Report what an RDP server does in its licensing phase
    Probe(cmd::probe::Args),
    /// Benchmarks
    Bench(cmd::bench::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_tracing(&cli.log);
    let result = match cli.command {
        Command::Up(args) => cmd::up::run(args),
        Command::Server(args) => cmd::server::run(args),
        Command::Host(args) => cmd::host::run(args),
        Command::Clearinghouse(args) => cmd::clearinghouse::run(args),
        Command::Activate(args) => cmd::activate::run(args),
        Command::Keypack(args) => cmd::keypack::run(args),
        Command::License(args) => cmd::license::run(args),
        Command::Revoke(args) => cmd::revoke::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::Reg(args) => cmd::reg::run(args),
        Command::Feature(args) => cmd::feature::run(args),
        Command::Grace(args) => cmd::grace::run(args),
        Command::Diagnose(args) => cmd::diagnose::run(args),
        Command::Probe(args) => cmd::probe::run(args),
        Command::Bench(args) => cmd::bench::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::from(1)
        }
    }
}

fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}
