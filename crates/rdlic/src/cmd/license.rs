//! `rdlic license list` — issued per-device CALs (RD Licensing Manager's "issued licenses" view).

use std::process::ExitCode;

use super::server::{print_listing, AdminConn, Column};

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
    print_listing(
        &conn,
        "/api/v1/admin/licenses",
        "licenses",
        &[
            Column("serial", "serial", 34, false),
            Column("kind", "kind", 10, false),
            Column("version", "version", 7, true),
            Column("status", "status", 9, false),
            Column("client", "client_machine", 20, false),
            Column("user", "user", 16, false),
            Column("expires_at", "expires_at", 11, true),
        ],
        json,
    )
}
