//! `rdlic activate` — activate this license server with a clearinghouse certificate (`reference/rds-facts.md` §2.7).
//!
//! Two steps, like the Windows "Web Browser" method: `rdlic activate --request FILE` writes the activation request
//! (the identity public key; its hash is the license server id) for the vendor, who runs
//! `rdlic clearinghouse activate --request FILE --out CERT`; then `rdlic activate CERT` installs the certificate.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use super::server::{report_err, runtime, AdminConn};
use crate::i18n::t;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    conn: AdminConn,
    /// Activation certificate file from the clearinghouse
    #[arg(required_unless_present = "request")]
    certificate: Option<PathBuf>,
    /// Write the activation request (to send to the clearinghouse) to this file instead
    #[arg(long, conflicts_with = "certificate")]
    request: Option<PathBuf>,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(a: Args) -> anyhow::Result<ExitCode> {
    let client = a.conn.client()?;
    let rt = runtime()?;
    if let Some(out) = &a.request {
        let v = match rt.block_on(client.get("/api/v1/admin/activation-request")) {
            Ok(v) => v,
            Err(e) => return Ok(report_err(&e)),
        };
        let pem = v.get("public_key_pem").and_then(|p| p.as_str()).unwrap_or_default();
        std::fs::write(out, pem).with_context(|| t!(WRITE_FILE, path = out.display()))?;
        let id = v.get("server_id").and_then(|p| p.as_str()).unwrap_or_default();
        if a.json {
            println!("{}", serde_json::json!({ "server_id": id, "request": out }));
        } else {
            println!("{}", t!(ACTIVATE_SERVER_ID, id = id));
            println!("{}", t!(ACTIVATE_REQUEST_WRITTEN, path = out.display()));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(path) = &a.certificate else { anyhow::bail!(t!(ACTIVATE_NEED_FILE)) };
    let text = std::fs::read_to_string(path).with_context(|| t!(READ_FILE, path = path.display()))?;
    match rt.block_on(client.post("/api/v1/admin/activate", &serde_json::json!({ "certificate": text }))) {
        Ok(v) => {
            if a.json {
                println!("{v}");
            } else {
                let id = v.get("server_id").and_then(|p| p.as_str()).unwrap_or_default();
                println!("{}", t!(ACTIVATE_DONE, id = id));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(report_err(&e)),
    }
}
