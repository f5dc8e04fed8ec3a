//! `rdlic license list` — issued per-device CALs (RD Licensing Manager's "issued licenses" view).

use std::process::ExitCode;

use super::server::{print_listing, AdminConn, Column};
use crate::i18n::keys;

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
            Column(keys::COL_SERIAL, "serial", 34, false),
            Column(keys::COL_KIND, "kind", 10, false),
            Column(keys::COL_VERSION, "version", 7, true),
            Column(keys::COL_STATUS, "status", 9, false),
            Column(keys::COL_CLIENT, "client_machine", 20, false),
            Column(keys::COL_USER, "user", 16, false),
            Column(keys::COL_EXPIRES_AT, "expires_at", 11, true),
        ],
        json,
    )
}
