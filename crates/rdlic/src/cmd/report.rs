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
            let body = terminal_safe(&body);
            print!("{body}");
            if !body.ends_with('\n') {
                println!();
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(report_err(&e)),
    }
}

/// A report body safe to print: JSON keeps its form with the characters a terminal would act on written as `\uXXXX`
/// (JSON already escapes the C0 controls; DEL, the C1 controls and the bidirectional overrides are done here, they
/// can only stand inside strings); each CSV line is escaped like a name (`rdlic_core::names::escape`).
pub(crate) fn terminal_safe(body: &str) -> String {
    if body.trim_start().starts_with(['{', '[']) {
        body.chars()
            .map(|c| if c != '\n' && rdlic_core::names::needs_escape(c) { format!("\\u{:04x}", u32::from(c)) } else { c.to_string() })
            .collect()
    } else {
        body.split('\n').map(|line| rdlic_core::names::escape(line).into_owned()).collect::<Vec<_>>().join("\n")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn report_bodies_are_printed_without_terminal_controls() {
        let json = "{\"user\":\"a\u{9b}31mb\u{202e}\"}\n";
        let safe = super::terminal_safe(json);
        assert_eq!(safe, "{\"user\":\"a\\u009b31mb\\u202e\"}\n");
        let parsed: serde_json::Value = serde_json::from_str(&safe).expect("still JSON");
        assert_eq!(parsed["user"], "a\u{9b}31mb\u{202e}");
        assert_eq!(super::terminal_safe("user,host\nx\u{1b}[2J,h\n"), "user,host\nx\\u{1b}[2J,h\n");
    }
}
