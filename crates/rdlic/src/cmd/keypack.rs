//! `rdlic keypack install FILE` / `rdlic keypack list` — CAL key packs on this license server.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use super::server::{print_listing, report_err, runtime, AdminConn, Column};
use crate::i18n::{keys, t};

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
            let text = std::fs::read_to_string(&file).with_context(|| t!(READ_FILE, path = file.display()))?;
            match rt.block_on(client.post("/api/v1/admin/keypacks", &serde_json::json!({ "pack": text }))) {
                Ok(v) => {
                    if json {
                        println!("{v}");
                    } else {
                        let id = v.get("id").and_then(|x| x.as_str()).unwrap_or_default();
                        if v.get("newly_installed").and_then(|x| x.as_bool()).unwrap_or(true) {
                            println!("{}", t!(KEYPACK_INSTALLED, id = id));
                        } else {
                            println!("{}", t!(KEYPACK_ALREADY_INSTALLED, id = id));
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
                Column(keys::COL_ID, "id", 32, false),
                Column(keys::COL_TYPE, "cal_type", 10, false),
                Column(keys::COL_VERSION, "version", 7, true),
                Column(keys::COL_PROGRAM, "program", 20, false),
                Column(keys::COL_TOTAL, "count", 7, true),
                Column(keys::COL_ISSUED, "issued", 7, true),
                Column(keys::COL_AVAILABLE, "available", 9, true),
            ],
            json,
        ),
    }
}
