//! `rdlic grace [--dir DIR] [--clock-offset-days N] [--json]` — days left in the licensing grace period, like
//! `Win32_TerminalServiceSetting.GetGracePeriodDays` (0 once it is over).

use std::path::PathBuf;
use std::process::ExitCode;

use rdlic_host::config::HostConfig;
use rdlic_host::grace::{Clock, GraceRecord, GraceStatus};

use crate::i18n::t;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Host data directory
    #[arg(long, env = "RDLIC_HOST_DIR", default_value = ".")]
    dir: PathBuf,
    /// Evaluate with the host clock this many days ahead
    #[arg(long, env = "RDLIC_CLOCK_OFFSET_DAYS", default_value_t = 0, allow_hyphen_values = true)]
    clock_offset_days: i64,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = HostConfig::load(&args.dir)?;
    let now = Clock::with_offset_days(super::checked_clock_offset(args.clock_offset_days)?).now();
    let record = GraceRecord::load(&args.dir)?;
    let (status, note) = match record {
        Some(record) => {
            let status = record.status(now, config.grace_period_days);
            let note = match status {
                GraceStatus::Running { .. } => t!(GRACE_RUNNING),
                GraceStatus::Expired { .. } => t!(GRACE_EXPIRED),
                GraceStatus::EndedByPermanentCal { .. } => t!(GRACE_ENDED_BY_CAL),
            };
            (status, note)
        }
        None => (
            GraceRecord::new(now).status(now, config.grace_period_days),
            t!(GRACE_NOT_STARTED),
        ),
    };
    let days_left = status.days_left();
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "DaysLeft": days_left, "ReturnValue": 0, "GracePeriodDays": config.grace_period_days, "note": note })
        );
    } else {
        println!("DaysLeft = {days_left};");
        println!("ReturnValue = 0;");
        println!("{}", t!(GRACE_NOTE, note = note));
    }
    Ok(ExitCode::SUCCESS)
}
