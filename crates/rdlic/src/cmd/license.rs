//! `rdlic license list` — issued per-device CALs (RD Licensing Manager's "issued licenses" view).

use std::process::ExitCode;

use super::server::{report_err, runtime, AdminConn};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// List issued per-device CALs
    List {
        #[command(flatten)]
        conn: AdminConn,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Command::List { conn, json } = args.command;
    let client = conn.client()?;
    let rt = runtime()?;
    match rt.block_on(client.get("/api/v1/admin/licenses")) {
        Ok(v) => {
            if json {
                println!("{v}");
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "{:<34} {:<10} {:>7} {:<9} {:<20} {:<16} {:>11}",
                "serial", "kind", "version", "status", "client", "user", "expires_at"
            );
            for l in v.get("licenses").and_then(|x| x.as_array()).into_iter().flatten() {
                let s = |k: &str| l.get(k).map(|x| x.as_str().map(str::to_owned).unwrap_or_else(|| x.to_string())).unwrap_or_default();
                println!(
                    "{:<34} {:<10} {:>7} {:<9} {:<20} {:<16} {:>11}",
                    s("serial"), s("kind"), s("version"), s("status"), s("client_machine"), s("user"), s("expires_at")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(report_err(&e)),
    }
}
