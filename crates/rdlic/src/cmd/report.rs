//! `rdlic report per-user|per-device --format csv|json` — CAL usage reports (`reference/rds-facts.md` §2.12).

use std::process::ExitCode;

use super::server::{report_err, runtime, AdminConn};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// per-user or per-device
    #[arg(value_parser = ["per-user", "per-device"])]
    kind: String,
    #[command(flatten)]
    conn: AdminConn,
    /// Output format
    #[arg(long, default_value = "csv", value_parser = ["csv", "json"])]
    format: String,
    /// Same as --format json
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(a: Args) -> anyhow::Result<ExitCode> {
    let client = a.conn.client()?;
    let rt = runtime()?;
    let format = if a.json { "json" } else { a.format.as_str() };
    let path = format!("/api/v1/admin/reports/{}?format={format}", a.kind);
    match rt.block_on(client.get_text(&path)) {
        Ok(body) => {
            print!("{body}");
            if !body.ends_with('\n') {
                println!();
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(report_err(&e)),
    }
}
