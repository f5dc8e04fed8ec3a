//! `rdlic reg` — not built yet: this subcommand says so and exits with code 2.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Arguments (ignored until the subcommand exists)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    rest: Vec<String>,
}

pub(crate) fn run(_args: Args) -> anyhow::Result<ExitCode> {
    eprintln!("rdlic reg: not implemented yet in this build (see the open issues in the README)");
    Ok(ExitCode::from(2))
}
