//! `rdlic host enroll` (on a session host) and `rdlic host token|hosts|unenroll` (on the license server).
//!
//! `cmd/host.rs` owns the `rdlic host` subcommand enum and dispatches here:
//! `Enroll(host_enroll::EnrollArgs) => host_enroll::run_enroll(a)`,
//! `Token(host_enroll::TokenArgs) => host_enroll::run_token(a)`,
//! `Hosts(host_enroll::HostsArgs) => host_enroll::run_hosts(a)`,
//! `Unenroll(host_enroll::UnenrollArgs) => host_enroll::run_unenroll(a)`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use rdlic_api::client::LicenseServerClient;

use super::server::{print_listing, report_err, runtime, AdminConn, Column};
use crate::i18n::{keys, t};

/// `rdlic host enroll`: trade a one-time token for this host's client certificate.
#[derive(Debug, clap::Args)]
pub(crate) struct EnrollArgs {
    /// License server URL, e.g. https://ls1.example:8443
    #[arg(long)]
    pub(crate) server: String,
    /// One-time token from `rdlic host token` on the license server
    #[arg(long, env = "RDLIC_ENROLL_TOKEN")]
    pub(crate) token: String,
    /// Directory for client.crt, client.key (0600), server-ca.crt, enrollment.json
    #[arg(long)]
    pub(crate) dir: PathBuf,
    /// This host's name (default: the machine's hostname)
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// The server's TLS CA to trust (a copy of the server's DATA/ca.crt)
    #[arg(long)]
    pub(crate) ca: Option<PathBuf>,
    /// Without --ca: trust whichever server answers, and print its CA's SHA-256 fingerprint to compare with the one
    /// `rdlic host token` prints on the license server
    #[arg(long, conflicts_with = "ca")]
    pub(crate) insecure_first_use: bool,
    /// Print JSON
    #[arg(long)]
    pub(crate) json: bool,
}

/// `rdlic host token`: make a one-time enrollment token (on the license server).
#[derive(Debug, clap::Args)]
pub(crate) struct TokenArgs {
    #[command(flatten)]
    pub(crate) conn: AdminConn,
    /// Lifetime in seconds
    #[arg(long, default_value_t = 86_400)]
    pub(crate) ttl: i64,
    /// Print JSON
    #[arg(long)]
    pub(crate) json: bool,
}

/// `rdlic host hosts`: list enrolled hosts (on the license server).
#[derive(Debug, clap::Args)]
pub(crate) struct HostsArgs {
    #[command(flatten)]
    pub(crate) conn: AdminConn,
    /// Print JSON
    #[arg(long)]
    pub(crate) json: bool,
}

/// `rdlic host unenroll ID`: revoke a host's enrollment (its certificate stops working at once).
#[derive(Debug, clap::Args)]
pub(crate) struct UnenrollArgs {
    #[command(flatten)]
    pub(crate) conn: AdminConn,
    /// Host id (from `rdlic host hosts`)
    pub(crate) id: String,
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "rdlic-host".to_owned())
}

pub(crate) fn run_enroll(a: EnrollArgs) -> anyhow::Result<ExitCode> {
    let ca = match &a.ca {
        Some(p) => Some(std::fs::read(p).with_context(|| t!(READ_FILE, path = p.display()))?),
        None if a.insecure_first_use => None,
        None => {
            // Trusting whichever server answers would pin an impostor's CA for good: say so, and what to do.
            eprintln!("{}", t!(ERROR_LINE, message = t!(ENROLL_NEEDS_CA)));
            return Ok(ExitCode::from(2));
        }
    };
    let name = a.name.clone().unwrap_or_else(hostname);
    let rt = runtime()?;
    match rt.block_on(LicenseServerClient::enroll(&a.server, &a.token, &name, &a.dir, ca.as_deref())) {
        Ok(r) => {
            if a.json {
                println!(
                    "{}",
                    serde_json::json!({ "host_id": r.host_id, "server_id": r.server_id, "dir": a.dir })
                );
            } else {
                println!("{}", t!(ENROLL_DONE, host = r.host_id, server = r.server_id));
                println!("{}", t!(ENROLL_FILES, dir = a.dir.display()));
            }
            if a.insecure_first_use {
                let fingerprint = rdlic_api::pki::ca_fingerprint(r.ca_pem.as_bytes()).context(t!(ENROLL_FINGERPRINT_FAILED))?;
                eprintln!("{}", t!(ENROLL_INSECURE_FINGERPRINT, fingerprint = fingerprint, dir = a.dir.display()));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(report_err(&e)),
    }
}

pub(crate) fn run_token(a: TokenArgs) -> anyhow::Result<ExitCode> {
    let client = a.conn.client()?;
    let rt = runtime()?;
    let body = serde_json::json!({ "ttl_seconds": a.ttl });
    match rt.block_on(client.post("/api/v1/admin/enroll-tokens", &body)) {
        Ok(v) => {
            if a.json {
                println!("{v}");
            } else {
                let token = v.get("token").and_then(|t| t.as_str()).unwrap_or_default();
                println!("{token}");
                eprintln!("{}", t!(TOKEN_HINT, token = token));
                // What a host enrolled with --insecure-first-use must have seen.
                let ca_path = a.conn.data.join("ca.crt");
                if let Ok(fingerprint) = std::fs::read(&ca_path).map_err(|e| e.to_string()).and_then(|pem| {
                    rdlic_api::pki::ca_fingerprint(&pem).map_err(|e| e.to_string())
                }) {
                    eprintln!("{}", t!(TOKEN_CA_FINGERPRINT, fingerprint = fingerprint, path = ca_path.display()));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(report_err(&e)),
    }
}

pub(crate) fn run_hosts(a: HostsArgs) -> anyhow::Result<ExitCode> {
    print_listing(
        &a.conn,
        "/api/v1/admin/hosts",
        "hosts",
        &[
            Column(keys::COL_ID, "id", 34, false),
            Column(keys::COL_NAME, "name", 24, false),
            Column(keys::COL_REVOKED, "revoked", 8, false),
            Column(keys::COL_ENROLLED_AT, "enrolled_at", 0, false),
        ],
        a.json,
    )
}

pub(crate) fn run_unenroll(a: UnenrollArgs) -> anyhow::Result<ExitCode> {
    let client = a.conn.client()?;
    let rt = runtime()?;
    let path = format!("/api/v1/admin/hosts/{}/revoke", a.id);
    match rt.block_on(client.post(&path, &serde_json::json!({}))) {
        Ok(_) => {
            println!("{}", t!(UNENROLL_DONE, id = a.id));
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(report_err(&e)),
    }
}
