//! `rdlic server run` — the RD license server (HTTPS JSON API, mutual TLS for hosts, admin API, metrics).
//!
//! Admin commands (`rdlic activate`, `keypack`, `license`, `revoke`, `report`, `host token`) talk to the running
//! server's admin API: they read `admin.token`, `ca.crt` and `server.url` from the server's data dir (`--data`, env
//! `RDLIC_DATA`), or take `--server URL`. One writer owns the database, every change is audited the same way, and the
//! commands work the same against SQLite or PostgreSQL.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use rdlic_api::client::AdminClient;
use rdlic_server::{start, ServerOptions};

use crate::i18n::{self, t, Key};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Run the license server (the first run initialises the data dir: identity key, TLS CA, admin token)
    Run(RunArgs),
    /// Initialise the data dir and database without serving; prints the admin token; optionally sets the admin
    /// password of the RD Licensing Manager page (read from stdin)
    Init(InitArgs),
    /// Seal this server's identity, TLS CA, admin token and clearinghouse key into a bundle for another server of
    /// the cluster (passphrase from RDLIC_BUNDLE_PASSPHRASE or the first line of stdin)
    Export(ExportArgs),
    /// Prepare the data dir of another server of the cluster from a bundle made by `rdlic server export`, and check
    /// that the database belongs to the same identity; then start it with `rdlic server run`
    Join(JoinArgs),
    /// List the license servers that share this server's database, with their last heartbeat
    List(ListArgs),
    /// Take a license server that was stopped for good off the cluster's list (refused while its heartbeat is
    /// recent: a running server registers again)
    Forget(ForgetArgs),
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    #[command(flatten)]
    conn: AdminConn,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct ForgetArgs {
    #[command(flatten)]
    conn: AdminConn,
    /// Server id (from `rdlic server list`)
    id: String,
}

#[derive(Debug, clap::Args)]
struct ExportArgs {
    /// Data directory of an initialised license server
    #[arg(long, env = "RDLIC_DATA")]
    data: PathBuf,
    /// Bundle file to write (0600)
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
struct JoinArgs {
    /// Data directory of the new server (empty or absent)
    #[arg(long, env = "RDLIC_DATA")]
    data: PathBuf,
    /// The PostgreSQL database the cluster shares
    #[arg(long, env = "RDLIC_DATABASE")]
    database: String,
    /// Bundle made by `rdlic server export`
    #[arg(long)]
    bundle: PathBuf,
    /// Extra DNS name or IP address for this server's TLS certificate (repeatable)
    #[arg(long = "san")]
    sans: Vec<String>,
}

#[derive(Debug, clap::Args)]
struct InitArgs {
    /// Data directory (as for `rdlic server run`)
    #[arg(long, env = "RDLIC_DATA")]
    data: PathBuf,
    /// Database (as for `rdlic server run`; default: DATA/rdlic.db)
    #[arg(long, env = "RDLIC_DATABASE")]
    database: Option<String>,
    /// Extra DNS name or IP address for the TLS certificate (repeatable)
    #[arg(long = "san")]
    sans: Vec<String>,
    /// Read the admin password (first line of stdin, at least 8 bytes) and store its salted PBKDF2 hash
    #[arg(long)]
    admin_password_stdin: bool,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Data directory (keys 0600, TLS CA, admin token, SQLite database rdlic.db)
    #[arg(long, env = "RDLIC_DATA")]
    data: PathBuf,
    /// Listen address
    #[arg(long, env = "RDLIC_SERVER_LISTEN", default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// Database: postgres://USER@HOST/DB, sqlite://PATH or a SQLite file path (default: DATA/rdlic.db)
    #[arg(long, env = "RDLIC_DATABASE")]
    database: Option<String>,
    /// Clearinghouse public key (PEM) to trust for activation and key packs; kept in the data dir
    #[arg(long, env = "RDLIC_CLEARINGHOUSE_KEY")]
    clearinghouse_key: Option<PathBuf>,
    /// Extra DNS name or IP address for the TLS certificate (repeatable): the names hosts use to reach the server
    #[arg(long = "san", env = "RDLIC_SAN", value_delimiter = ',')]
    sans: Vec<String>,
    /// Largest request body accepted, in bytes
    #[arg(long, env = "RDLIC_MAX_BODY", default_value_t = 64 * 1024)]
    max_body: usize,
    /// Refuse per-user CALs when none is free (Windows allows over-allocation and reports it)
    #[arg(long, env = "RDLIC_ENFORCE_PER_USER")]
    enforce_per_user: bool,
    /// Most per-device CAL requests committed in one database transaction (group commit; 1 disables batching)
    #[arg(long, env = "RDLIC_MAX_BATCH", default_value_t = 64)]
    max_batch: usize,
    /// Seconds a client has to finish the TLS handshake
    #[arg(long, env = "RDLIC_TLS_HANDSHAKE_TIMEOUT_SECS", default_value_t = 10)]
    tls_handshake_timeout_secs: u64,
    /// Seconds a client has to send a request's headers, counted from the handshake or the previous answer (also
    /// the keep-alive idle timeout)
    #[arg(long, env = "RDLIC_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    header_timeout_secs: u64,
    /// Seconds one request may take, body upload included (408 after)
    #[arg(long, env = "RDLIC_REQUEST_TIMEOUT_SECS", default_value_t = 60)]
    request_timeout_secs: u64,
    /// Open connections at most; when full, the oldest connection without a host certificate or a completed
    /// request is closed to make room
    #[arg(long, env = "RDLIC_MAX_CONNECTIONS", default_value_t = 1024)]
    max_connections: usize,
    /// Delete temporary per-device CALs that expired more than this many days ago (audited; 0 keeps them)
    #[arg(long, env = "RDLIC_TEMPORARY_CAL_RETENTION_DAYS", default_value_t = rdlic_server::retention::DEFAULT_RETENTION_DAYS)]
    temporary_cal_retention_days: u32,
    /// URL hosts and admins reach this server at, recorded in the cluster's server list (default: the listen address)
    #[arg(long)]
    url: Option<String>,
}

/// How admin commands reach the server.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct AdminConn {
    /// The license server's data directory (admin.token, ca.crt, server.url are read from it)
    #[arg(long, env = "RDLIC_DATA")]
    pub(crate) data: PathBuf,
    /// Server URL (default: the one the running server wrote to DATA/server.url)
    #[arg(long, env = "RDLIC_SERVER")]
    pub(crate) server: Option<String>,
}

impl AdminConn {
    /// An admin client for this data dir.
    pub(crate) fn client(&self) -> anyhow::Result<AdminClient> {
        AdminClient::from_data_dir(&self.data, self.server.as_deref())
            .with_context(|| t!(ADMIN_DATA_DIR, dir = self.data.display()))
    }
}

/// A current-thread tokio runtime for one CLI command.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().with_context(|| t!(RUNTIME_START))
}

/// Exit code for an API refusal: 3 = refused by policy or bad input (4xx), 4 = server unavailable, 1 = other.
pub(crate) fn exit_for(err: &rdlic_api::client::ClientError) -> ExitCode {
    match err.status() {
        Some(s) if (400..500).contains(&s) => ExitCode::from(3),
        Some(_) => ExitCode::from(4),
        None => ExitCode::from(4),
    }
}

/// Prints an API error (a sentence that says what to do, in the language of this run) and returns its exit code.
pub(crate) fn report_err(err: &rdlic_api::client::ClientError) -> ExitCode {
    eprintln!("{}", t!(ERROR_LINE, message = i18n::client_error(err)));
    exit_for(err)
}

/// One column of an admin listing: header (a catalogue message), JSON field of each row, width, right-aligned
/// (numbers) or not. The cells are the JSON values as they are.
pub(crate) struct Column(pub(crate) Key, pub(crate) &'static str, pub(crate) usize, pub(crate) bool);

/// `GET path` on the admin API and print the array under `list_key`: the JSON as is with `--json`, else a table.
pub(crate) fn print_listing(
    conn: &AdminConn,
    path: &str,
    list_key: &str,
    columns: &[Column],
    json: bool,
) -> anyhow::Result<ExitCode> {
    let client = conn.client()?;
    let rt = runtime()?;
    // A paginated list answers `next` (the `after` of its next page) until its last page.
    let mut rows: Vec<serde_json::Value> = Vec::new();
    let mut page_path = path.to_owned();
    let v = loop {
        let v = match rt.block_on(client.get(&page_path)) {
            Ok(v) => v,
            Err(e) => return Ok(report_err(&e)),
        };
        rows.extend(v.get(list_key).and_then(|x| x.as_array()).into_iter().flatten().cloned());
        match v.get("next").and_then(serde_json::Value::as_i64) {
            Some(next) => {
                let sep = if path.contains('?') { '&' } else { '?' };
                page_path = format!("{path}{sep}after={next}");
            }
            None => break v,
        }
    };
    if json {
        let mut v = v;
        if let Some(o) = v.as_object_mut() {
            o.insert(list_key.to_owned(), serde_json::Value::Array(rows));
            o.remove("next");
        }
        println!("{}", super::report::terminal_safe(&v.to_string()));
        return Ok(ExitCode::SUCCESS);
    }
    let lang = i18n::lang();
    let headers: Vec<String> = columns.iter().map(|c| lang.text(c.0, &[])).collect();
    // A translated header may be wider than the column.
    let widths: Vec<usize> = columns.iter().zip(&headers).map(|(c, h)| c.2.max(h.chars().count())).collect();
    let line = |cells: Vec<String>| {
        let cells: Vec<String> = columns
            .iter()
            .zip(&widths)
            .zip(cells)
            .map(|((Column(_, _, _, right), width), cell)| {
                if *right { format!("{cell:>width$}") } else { format!("{cell:<width$}") }
            })
            .collect();
        println!("{}", cells.join(" ").trim_end());
    };
    line(headers.clone());
    for row in &rows {
        // Names come from RDP clients: control characters are shown escaped, never sent to the terminal.
        line(
            columns
                .iter()
                .map(|c| {
                    row.get(c.1)
                        .map(|x| x.as_str().map_or_else(|| x.to_string(), |s| rdlic_core::names::escape(s).into_owned()))
                        .unwrap_or_default()
                })
                .collect(),
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Run(a) => run_server(a),
        Command::Init(a) => run_init(a),
        Command::Export(a) => run_export(a),
        Command::Join(a) => run_join(a),
        Command::List(a) => print_listing(
            &a.conn,
            "/api/v1/admin/servers",
            "servers",
            &[
                Column(i18n::keys::COL_ID, "id", 34, false),
                Column(i18n::keys::COL_URL, "url", 28, false),
                Column(i18n::keys::COL_ALIVE, "alive", 5, false),
                Column(i18n::keys::COL_LAST_HEARTBEAT, "last_heartbeat", 14, true),
                Column(i18n::keys::COL_STOPPED_AT, "stopped_at", 0, false),
            ],
            a.json,
        ),
        Command::Forget(a) => run_forget(&a),
    }
}

/// `rdlic server forget ID`.
fn run_forget(a: &ForgetArgs) -> anyhow::Result<ExitCode> {
    let client = a.conn.client()?;
    let rt = runtime()?;
    let path = format!("/api/v1/admin/servers/{}/forget", a.id);
    match rt.block_on(client.post(&path, &serde_json::json!({}))) {
        Ok(v) => {
            let url = v.get("url").and_then(|u| u.as_str()).unwrap_or_default();
            println!("{}", t!(SERVER_FORGOTTEN, id = rdlic_core::names::escape(&a.id), url = rdlic_core::names::escape(url)));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(report_err(&e)),
    }
}

/// Ctrl-C or SIGTERM (systemd, docker stop).
async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn run_init(a: InitArgs) -> anyhow::Result<ExitCode> {
    let password = if a.admin_password_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).with_context(|| t!(SERVER_INIT_PASSWORD_STDIN))?;
        Some(line.trim_end_matches(['\r', '\n']).to_owned())
    } else {
        None
    };
    let done = rdlic_server::init::init(&a.data, a.database.as_deref(), &a.sans, password.as_deref())
        .with_context(|| t!(SERVER_INIT_FAILED, dir = a.data.display()))?;
    println!("{}", done.admin_token);
    eprintln!("{}", t!(SERVER_INIT_DONE, id = done.server_id, dir = done.dir.display()));
    if done.password_set {
        eprintln!("{}", t!(SERVER_INIT_PASSWORD_SET));
    }
    Ok(ExitCode::SUCCESS)
}

/// The bundle passphrase: `RDLIC_BUNDLE_PASSPHRASE`, else the first line of stdin.
fn bundle_passphrase() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("RDLIC_BUNDLE_PASSPHRASE") {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).with_context(|| t!(BUNDLE_PASSPHRASE_STDIN))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn run_export(a: ExportArgs) -> anyhow::Result<ExitCode> {
    let passphrase = bundle_passphrase()?;
    let sealed = rdlic_server::bundle::export(&a.data, &passphrase)
        .with_context(|| t!(BUNDLE_EXPORT_FAILED, dir = a.data.display()))?;
    rdlic_api::pki::write_secret(&a.out, &sealed).with_context(|| t!(WRITE_FILE, path = a.out.display()))?;
    eprintln!("{}", t!(BUNDLE_EXPORTED, path = a.out.display()));
    Ok(ExitCode::SUCCESS)
}

fn run_join(a: JoinArgs) -> anyhow::Result<ExitCode> {
    if !(a.database.starts_with("postgres://") || a.database.starts_with("postgresql://")) {
        anyhow::bail!("{}", t!(BUNDLE_JOIN_NEEDS_POSTGRES));
    }
    let sealed = std::fs::read(&a.bundle).with_context(|| t!(READ_FILE, path = a.bundle.display()))?;
    let passphrase = bundle_passphrase()?;
    rdlic_server::bundle::unpack(&sealed, &passphrase, &a.data)
        .with_context(|| t!(BUNDLE_JOIN_FAILED, dir = a.data.display()))?;
    // Makes this server's TLS key and certificate (signed by the shared CA) and checks that the database holds the
    // same identity (a database of another license server is refused).
    let done = rdlic_server::init::init(&a.data, Some(&a.database), &a.sans, None)
        .with_context(|| t!(SERVER_INIT_FAILED, dir = a.data.display()))?;
    eprintln!("{}", t!(BUNDLE_JOINED, id = done.server_id, dir = done.dir.display()));
    Ok(ExitCode::SUCCESS)
}

fn run_server(a: RunArgs) -> anyhow::Result<ExitCode> {
    // Throughput work: the workers run as SCHED_BATCH.
    let rt = rdlic_server::sched::batch_runtime().build().with_context(|| t!(RUNTIME_START))?;
    rt.block_on(async move {
        let mut opts = ServerOptions::new(a.data.clone());
        opts.listen = a.listen;
        opts.database = a.database;
        opts.clearinghouse_key = a.clearinghouse_key;
        opts.sans = a.sans;
        opts.max_body = a.max_body;
        opts.enforce_per_user = a.enforce_per_user;
        opts.max_batch = a.max_batch;
        opts.handshake_timeout = std::time::Duration::from_secs(a.tls_handshake_timeout_secs.max(1));
        opts.header_timeout = std::time::Duration::from_secs(a.header_timeout_secs.max(1));
        opts.request_timeout = std::time::Duration::from_secs(a.request_timeout_secs.max(1));
        opts.max_connections = a.max_connections.max(1);
        opts.temporary_cal_retention_days = a.temporary_cal_retention_days;
        opts.public_url = a.url;
        // The RD Licensing Manager page (admin web UI) under /admin/.
        opts.extra_routes = Some(rdlic_web::router());
        let server = start(opts).await.with_context(|| t!(SERVER_NOT_STARTED))?;
        // `rdlic up` and the tests read the URL from this line (in English: `--lang en`).
        eprintln!("{}", t!(SERVER_LISTENING, id = server.state.server_id(), url = server.url));
        eprintln!("{}", t!(SERVER_FILES, dir = a.data.display()));
        // Hosts enrolled with --insecure-first-use print the fingerprint they trusted: compare with this one.
        if let Ok(fingerprint) = std::fs::read(a.data.join("ca.crt"))
            .map_err(|e| e.to_string())
            .and_then(|pem| rdlic_api::pki::ca_fingerprint(&pem).map_err(|e| e.to_string()))
        {
            eprintln!("{}", t!(SERVER_CA_FINGERPRINT, fingerprint = fingerprint));
        }
        eprintln!("{}", t!(SERVER_MANAGER, url = server.url));
        wait_for_stop_signal().await;
        eprintln!("{}", t!(SERVER_STOPPING));
        server.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}
