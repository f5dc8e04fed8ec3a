//! `rdlic revoke SERIAL` — revoke a permanent per-device CAL (`reference/rds-facts.md` §2.2: at most max(1, 20 %) of
//! a CAL version revoked at once; the refusal says when the next revocation becomes possible).

use std::process::ExitCode;

use super::server::{report_err, runtime, AdminConn};
use crate::i18n::t;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    conn: AdminConn,
    /// Serial of the CAL (from `rdlic license list`)
    serial: String,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(a: Args) -> anyhow::Result<ExitCode> {
    let client = a.conn.client()?;
    let rt = runtime()?;
    let path = format!("/api/v1/admin/licenses/{}/revoke", a.serial);
    match rt.block_on(client.post(&path, &serde_json::json!({}))) {
        Ok(v) => {
            if a.json {
                println!("{v}");
            } else {
                let left = v.get("revocable_now").map(|x| x.to_string()).unwrap_or_default();
                println!("{}", t!(REVOKE_DONE, serial = a.serial, left = left));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(report_err(&e)),
    }
}
