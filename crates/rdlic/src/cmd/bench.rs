//! `rdlic bench` — benchmarks (figures, not tests), from the `rdlic-bench` crate: `rdlic bench server`
//! (`rdlic_bench::server`) and `rdlic bench storm` (`rdlic_bench::storm`).

use std::process::ExitCode;

use anyhow::Context as _;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Drive N concurrent enrolled hosts against a real license server (127.0.0.1, TLS, real store): CAL issuance,
    /// status and per-user refresh rates with p50/p99, plus the signature and durable-insert floors
    Server {
        /// Concurrent hosts
        #[arg(long, default_value_t = 64)]
        hosts: usize,
        /// Seconds per phase
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// postgres://... URL of a PostgreSQL server: the bench runs in a scratch database it creates there and drops at the end (default: SQLite in a temporary data dir)
        #[arg(long)]
        database: Option<String>,
        /// Group-commit batch size of the server
        #[arg(long, default_value_t = 64)]
        max_batch: usize,
        /// Durable single-row inserts for the database floor
        #[arg(long, default_value_t = 300)]
        floor_rows: u32,
        /// CALs written into the store before the issuance phase (latency at 1k vs 1M CALs)
        #[arg(long, default_value_t = 0)]
        prefill: u64,
        /// Only the issuance phase (to profile it)
        #[arg(long)]
        issuance_only: bool,
    },
    /// Drive many simulated RDP clients (TCP + TLS + the RDP connection sequence + licensing, distinct hardware
    /// ids) against a session host and a license server on 127.0.0.1: connections/s, licensing p50/p99, errors,
    /// and the crypto floor of one connection (TLS handshake + RSA private op + CAL signature, all cores).
    /// Tip: `--log warn` keeps the host's per-session log lines off the progress bar
    Storm {
        /// Simulated clients (distinct devices) per pass
        #[arg(long, default_value_t = 1000)]
        clients: usize,
        /// Clients connecting at once (the default keeps both cores of a 2-core machine busy: with 32, 5-12 % of
        /// the CPU stayed idle while connections waited for the license server)
        #[arg(long, default_value_t = 128)]
        concurrency: usize,
        /// Threads driving the simulated clients, each a current-thread runtime with its share of the
        /// concurrency (default: one per core, so that the clients' work can fill any idle core)
        #[arg(long)]
        client_threads: Option<usize>,
        /// Then connect every client again with its stored CAL (a temporary CAL upgraded), and once more (the
        /// permanent CAL presented)
        #[arg(long)]
        returning: bool,
        /// An existing session host HOST:PORT (default: a host and a license server started in this process)
        #[arg(long)]
        host: Option<String>,
        /// Seconds per floor measurement (half of it before the passes, half after; the mean is used)
        #[arg(long, default_value_t = 2.0)]
        floor_seconds: f64,
        /// No progress bar
        #[arg(long)]
        quiet: bool,
        /// JSON output
        #[arg(long)]
        json: bool,
        /// Failover run: this many `rdlic server` processes on one PostgreSQL database (`--database`), `rdlic host
        /// run` processes listing them all (`--hosts`), clients connecting continuously; prints the failover gap,
        /// the errors and the issuance rate before and after the kill
        #[arg(long)]
        servers: Option<usize>,
        /// Failover run: session hosts, host i listing the servers from server i on, so that every server issues at
        /// once while all live (default: as many as servers)
        #[arg(long = "hosts")]
        failover_hosts: Option<usize>,
        /// Failover run: kill -9 the first server after this many seconds (it is not restarted)
        #[arg(long, default_value_t = 10.0)]
        kill_one_after: f64,
        /// Failover run: seconds to run after the kill
        #[arg(long, default_value_t = 10.0)]
        after_kill: f64,
        /// Throughput run instead of the failover run: this many rounds, each a run with one license server then
        /// one with `--servers` (no kill, `--kill-one-after` seconds each, a new database each); prints the
        /// issuance rates and their ratio
        #[arg(long)]
        compare_rounds: Option<usize>,
        /// Failover run: permanent CALs in the key pack
        #[arg(long, default_value_t = 1000)]
        permanent: u32,
        /// Failover run: a PostgreSQL server URL (postgres://USER@HOST:PORT/DB); a new database is created on it
        #[arg(long, env = "RDLIC_TEST_PG_URL")]
        database: Option<String>,
    },
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (hosts, seconds, database, max_batch, floor_rows, prefill, issuance_only) = match args.command {
        Command::Server { hosts, seconds, database, max_batch, floor_rows, prefill, issuance_only } => {
            (hosts, seconds, database, max_batch, floor_rows, prefill, issuance_only)
        }
        Command::Storm { servers: Some(servers), failover_hosts, compare_rounds, kill_one_after, after_kill, permanent, database, concurrency, json, .. } => {
            let Some(base) = database else { anyhow::bail!("{}", crate::i18n::t!(BENCH_FAILOVER_NEEDS_DATABASE)) };
            let database = if compare_rounds.is_some() { String::new() } else { rdlic_bench::failover::fresh_database(&base)? };
            let dir = std::env::temp_dir().join(format!("rdlic-failover-{}", std::process::id()));
            let options = rdlic_bench::failover::FailoverOptions {
                exe: std::env::current_exe().context("the rdlic binary")?,
                database,
                dir: dir.clone(),
                servers: servers.max(1),
                hosts: failover_hosts.unwrap_or(servers).max(1),
                permanent,
                concurrency: concurrency.max(1),
                kill_after: kill_one_after.max(0.0),
                kills: 1,
                down: after_kill.max(0.0),
                restart: false,
                between: 0.0,
            };
            if let Some(rounds) = compare_rounds {
                let result = rdlic_bench::failover::compare(&options, &base, rounds);
                let _ = std::fs::remove_dir_all(&dir);
                let rounds = result?;
                let report = rdlic_bench::failover::compare_json(&options, &rounds);
                println!("{}", if json { report.to_string() } else { serde_json::to_string_pretty(&report)? });
                return Ok(ExitCode::SUCCESS);
            }
            let run = rdlic_bench::failover::run(&options);
            let _ = std::fs::remove_dir_all(&dir);
            let report = run?.json();
            if json {
                println!("{report}");
            } else {
                println!("{}", serde_json::to_string_pretty(&report)?);
            }
            return Ok(ExitCode::SUCCESS);
        }
        Command::Storm { clients, concurrency, client_threads, returning, host, floor_seconds, quiet, json, .. } => {
            let options = rdlic_bench::storm::StormOptions {
                clients: clients.max(1),
                concurrency: concurrency.max(1),
                client_threads: client_threads
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get))
                    .max(1),
                returning,
                host,
                floor_seconds: floor_seconds.max(0.1),
                progress: !quiet,
            };
            return rdlic_bench::storm::run(&options, json);
        }
    };
    // The server's runtime as `rdlic server run` builds it.
    let rt = rdlic_server::sched::batch_runtime().thread_name("rdlic-server").build().context("cannot start tokio")?;
    let opts = rdlic_bench::server::BenchOptions {
        hosts: hosts.max(1),
        duration: std::time::Duration::from_secs(seconds.max(1)),
        database,
        max_batch: max_batch.max(1),
        floor_rows: floor_rows.max(1),
        prefill,
        issuance_only,
    };
    let report = rt.block_on(rdlic_bench::server::run(opts)).context("the benchmark could not run")?;
    print!("{report}");
    Ok(ExitCode::SUCCESS)
}
