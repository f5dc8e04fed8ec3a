//! `rdlic keypack install FILE` / `rdlic keypack list` — CAL key packs on this license server.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use super::server::{print_listing, report_err, runtime, AdminConn, Column};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Install a signed key pack file (installing the same pack twice adds nothing)
    Install {
        #[command(flatten)]
        conn: AdminConn,
        /// Key pack file from the clearinghouse
        file: PathBuf,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// List installed key packs with CALs issued and available
    List {
        #[command(flatten)]
        conn: AdminConn,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rt = runtime()?;
    match args.command {
        Command::Install { conn, file, json } => {
            let client = conn.client()?;
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            match rt.block_on(client.post("/api/v1/admin/keypacks", &serde_json::json!({ "pack": text }))) {
                Ok(v) => {
                    if json {
                        println!("{v}");
                    } else {
                        let id = v.get("id").and_then(|x| x.as_str()).unwrap_or_default();
                        if v.get("newly_installed").and_then(|x| x.as_bool()).unwrap_or(true) {
                            println!("key pack {id} installed");
                        } else {
                            println!("key pack {id} was already installed: nothing added");
                        }
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => Ok(report_err(&e)),
            }
        }
        Command::List { conn, json } => print_listing(
            &conn,
            "/api/v1/admin/keypacks",
            "keypacks",
            &[
                Column("id", "id", 32, false),
                Column("type", "cal_type", 10, false),
                Column("version", "version", 7, true),
                Column("program", "program", 20, false),
                Column("total", "count", 7, true),
                Column("issued", "issued", 7, true),
                Column("available", "available", 9, true),
            ],
            json,
        ),
    }
}
