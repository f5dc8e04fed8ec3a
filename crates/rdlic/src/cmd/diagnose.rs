//! `rdlic diagnose`: why connections to this session host are (or will be) refused, and the fix — like the RD
//! Licensing Diagnoser, with the seed article's five causes.
//!
//! With `--reg-file FILE.reg` (repeatable) it diagnoses a Windows session host from `reg export` files instead
//! (`reg export "HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services" policy.reg`, ...; the files
//! merge in order), with the same rules: `rdlic_diag::windows`.
//!
//! Exit code: 0 when connections can be licensed, 1 when they cannot, 2 when diagnose itself failed.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use rdlic_core::regfile::RegFile;
use rdlic_core::winreg::MemoryRegistry;
use rdlic_diag::checks::{self, FixHints};
use rdlic_diag::gather::{self, GatherOptions};
use rdlic_diag::{output, windows};

use crate::i18n::t;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Host data directory (host.toml, grace.toml, enrollment files)
    #[arg(long, env = "RDLIC_HOST_DIR", default_value = "/var/lib/rdlic/host")]
    dir: PathBuf,
    /// Print JSON
    #[arg(long)]
    json: bool,
    /// Apply the safe fixes (LicensingMode, SpecifiedLicenseServers) after backing up host.toml
    #[arg(long)]
    fix: bool,
    /// License server to put in SpecifiedLicenseServers when it is empty (used by --fix)
    #[arg(long)]
    license_server: Option<String>,
    /// The host clock's offset in days (as `rdlic host run --clock-offset-days`)
    #[arg(long, env = "RDLIC_CLOCK_OFFSET_DAYS", default_value_t = 0, allow_hyphen_values = true)]
    clock_offset_days: i64,
    /// CAL version this host needs
    #[arg(long, default_value_t = gather::DEFAULT_HOST_CAL_VERSION)]
    host_cal_version: u16,
    /// Seconds to wait for each license server step
    #[arg(long, default_value_t = 5)]
    timeout: u64,
    /// Colour: auto (when stdout is a terminal), always, never
    #[arg(long, default_value = "auto")]
    color: String,
    /// Diagnose a Windows session host from `reg export` files (repeatable; merged in order) instead of this host
    #[arg(long = "reg-file", value_name = "FILE.reg", num_args = 1..)]
    reg_file: Vec<PathBuf>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    // `--lang` is the binary's global option (`rdlic diagnose --lang fr` still works).
    let lang = crate::i18n::lang();
    let color = match args.color.as_str() {
        "always" => true,
        "never" => false,
        _ => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    if !args.reg_file.is_empty() {
        return run_reg_files(&args, lang, color);
    }
    let options = GatherOptions {
        host_dir: args.dir.clone(),
        clock_offset_days: super::checked_clock_offset(args.clock_offset_days)?,
        host_cal_version: args.host_cal_version,
        timeout: Duration::from_secs(args.timeout.max(1)),
    };
    let (snapshot, servers) = match gather::gather(&options) {
        Ok(inputs) => inputs,
        Err(error) => {
            eprintln!("{}", t!(DIAGNOSE_FAILED, error = error));
            return Ok(ExitCode::from(2));
        }
    };
    let hints = FixHints { license_server: args.license_server.clone() };
    let diagnosis = checks::diagnose(&snapshot, &servers, &hints);
    let dir_text = args.dir.display().to_string();

    let fix_report = if args.fix {
        match gather::apply_fixes(&args.dir, &diagnosis.safe_changes()) {
            Ok(report) => Some(report),
            Err(error) => {
                eprintln!("{}", t!(DIAGNOSE_FIX_FAILED, error = error));
                return Ok(ExitCode::from(2));
            }
        }
    } else {
        None
    };

    if args.json {
        let value = output::to_json(&diagnosis, &dir_text, lang, fix_report.as_ref());
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print!("{}", output::render_table(&diagnosis, &dir_text, lang, color));
        if let Some(report) = &fix_report {
            println!();
            print!("{}", output::render_fix(report, &diagnosis, lang));
        }
    }
    Ok(if diagnosis.can_license { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// `--reg-file`: the Windows rules over the merged `reg export` files.
fn run_reg_files(args: &Args, lang: rdlic_diag::Lang, color: bool) -> anyhow::Result<ExitCode> {
    if args.fix {
        eprintln!("{}", t!(DIAGNOSE_REG_FILE_NO_FIX));
        return Ok(ExitCode::from(2));
    }
    let mut registry = MemoryRegistry::new();
    for path in &args.reg_file {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) => {
                eprintln!("{}", t!(DIAGNOSE_FAILED, error = format!("{}: {error}", path.display())));
                return Ok(ExitCode::from(2));
            }
        };
        match RegFile::parse(&bytes) {
            Ok(file) => file.apply_to(&mut registry),
            Err(error) => {
                eprintln!("{}", t!(DIAGNOSE_REG_FILE_INVALID, file = path.display(), error = error));
                return Ok(ExitCode::from(2));
            }
        }
    }
    let source = args.reg_file.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
    let hints = FixHints { license_server: args.license_server.clone() };
    let diagnosis = windows::diagnose_registry(&registry, &source, &hints);
    if args.json {
        let value = output::to_json(&diagnosis, &source, lang, None);
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        let title = lang.msg("diag-title-registry", &[("source", &source)]);
        print!("{}", output::render_table_titled(&diagnosis, &title, lang, color));
    }
    Ok(if diagnosis.can_license { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
