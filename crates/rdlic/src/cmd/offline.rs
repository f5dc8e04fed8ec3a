//! `rdlic offline diagnose|fix PATH` — the article's checks and safe fixes on the OS disk of a Windows machine that
//! nobody can log in to, from a rescue machine: PATH is the mounted Windows volume (`Windows/System32/config` is
//! found whatever the case of each part, as NTFS mounts vary) or a folder holding `SYSTEM` (and `SOFTWARE`).
//!
//! `diagnose` reads the hives with `regf` and runs the same rules as `rdlic diagnose --reg-file` (Group Policy
//! precedence, role, mode, license servers, connections, port, services, grace key) plus what only a disk shows
//! (`SYSTEM\Select`, a dirty hive). Exit code: 0 when connections can be licensed, 1 when they cannot, 2 when the
//! disk could not be read.
//!
//! `fix` prints what it would change; with `--apply` it copies each hive it changes to
//! `NAME.rdlic-YYYYMMDDTHHMMSSZ.bak` beside it (`-2`, `-3`... for a second run within the same second), edits the
//! hive in place (`regf`: new cells, never a whole rewrite) and writes it through a temporary file and a rename. A dirty hive (changes pending in `.LOG1`/`.LOG2`)
//! is refused unless `--replay-logs`: the logs are then replayed first and moved aside
//! (`NAME.LOG1.rdlic-YYYYMMDDTHHMMSSZ.replayed`), as Windows would have replayed them at the next boot.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use rdlic_core::winreg::{paths, RegValue};
use rdlic_diag::checks::{FixHints, RegEdit};
use rdlic_diag::output;
use regf::{HiveFile, OfflineWindows};

use super::offline_fs::{self, HiveFiles};
use crate::i18n::t;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: OfflineCommand,
}

#[derive(Debug, clap::Subcommand)]
enum OfflineCommand {
    /// Diagnose the licensing of an offline Windows disk from its registry hives
    Diagnose(DiagnoseArgs),
    /// Print, and with --apply make, the safe registry fixes on an offline Windows disk
    Fix(FixArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct DiagnoseArgs {
    /// The mounted Windows volume, or a folder holding the SYSTEM and SOFTWARE hive files
    path: PathBuf,
    /// Print JSON
    #[arg(long)]
    json: bool,
    /// License server to name in the fixes when none is configured
    #[arg(long)]
    license_server: Option<String>,
    /// Colour: auto (when stdout is a terminal), always, never
    #[arg(long, default_value = "auto")]
    color: String,
}

#[derive(Debug, clap::Args)]
pub(crate) struct FixArgs {
    /// The mounted Windows volume, or a folder holding the SYSTEM and SOFTWARE hive files
    path: PathBuf,
    /// Set LicensingMode (2 per device, 4 per user) under RCM\Licensing Core
    #[arg(long)]
    licensing_mode: Option<u32>,
    /// Write SpecifiedLicenseServers under TermService\Parameters\LicenseServers (repeatable, in order)
    #[arg(long = "license-server")]
    license_servers: Vec<String>,
    /// Delete a Group Policy value that overrides the local ones: LicensingMode, LicenseServers or fDenyTSConnections (repeatable)
    #[arg(long = "clear-policy")]
    clear_policy: Vec<String>,
    /// Replay the transaction logs of a dirty hive first (the old logs are kept aside)
    #[arg(long)]
    replay_logs: bool,
    /// Make the changes (without it, only print them)
    #[arg(long)]
    apply: bool,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        OfflineCommand::Diagnose(a) => diagnose(a),
        OfflineCommand::Fix(a) => fix(a),
    }
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| t!(OFFLINE_READ_FAILED, path = path.display()))
}

fn hive_path(files: &HiveFiles, hive: HiveFile) -> Option<&Path> {
    match hive {
        HiveFile::System => Some(&files.system),
        HiveFile::Software => files.software.as_deref(),
    }
}

/// The hives under `path`, or the catalogue's message.
fn locate_hives(path: &Path) -> anyhow::Result<HiveFiles> {
    offline_fs::find_hives(path).map_err(|_| anyhow::anyhow!("{}", t!(OFFLINE_NO_HIVES, path = path.display())))
}

/// A hive's bytes as the next boot would see them: a dirty hive with its logs replayed in memory (nothing is
/// written); `replayed` says whether that happened.
struct Loaded {
    bytes: Vec<u8>,
    dirty: bool,
    replayed: bool,
}

fn load(path: &Path) -> anyhow::Result<Loaded> {
    let bytes = read(path)?;
    let base = regf::BaseBlock::parse(&bytes).map_err(|e| anyhow::anyhow!("{}", t!(OFFLINE_BAD_HIVE, path = path.display(), error = e)))?;
    if !base.is_dirty() {
        return Ok(Loaded { bytes, dirty: false, replayed: false });
    }
    let logs: Vec<Vec<u8>> = offline_fs::logs_of(path).iter().map(|p| read(p)).collect::<Result<_, _>>()?;
    if logs.is_empty() {
        return Ok(Loaded { bytes, dirty: true, replayed: false });
    }
    let refs: Vec<&[u8]> = logs.iter().map(Vec::as_slice).collect();
    match regf::replay(&bytes, &refs) {
        Ok(replayed) => Ok(Loaded { bytes: replayed.hive, dirty: true, replayed: true }),
        Err(_) => Ok(Loaded { bytes, dirty: true, replayed: false }),
    }
}

fn bad_hive(path: &Path, error: regf::Error) -> anyhow::Error {
    anyhow::anyhow!("{}", t!(OFFLINE_BAD_HIVE, path = path.display(), error = error))
}

fn diagnose(args: DiagnoseArgs) -> anyhow::Result<ExitCode> {
    let lang = crate::i18n::lang();
    let files = match locate_hives(&args.path) {
        Ok(files) => files,
        Err(error) => {
            eprintln!("{error}");
            return Ok(ExitCode::from(2));
        }
    };
    let loaded = (|| -> anyhow::Result<_> {
        let system = load(&files.system)?;
        let software = files.software.as_deref().map(load).transpose()?;
        Ok((system, software))
    })();
    let (system, software) = match loaded {
        Ok(l) => l,
        Err(error) => {
            eprintln!("{error}");
            return Ok(ExitCode::from(2));
        }
    };
    let view = match OfflineWindows::new(&system.bytes, software.as_ref().map(|s| s.bytes.as_slice())) {
        Ok(view) => view,
        Err(error) => {
            eprintln!("{}", bad_hive(&files.system, error));
            return Ok(ExitCode::from(2));
        }
    };
    let mut notes = Vec::new();
    if files.software.is_none() {
        notes.push(t!(OFFLINE_NO_SOFTWARE, dir = files.dir.display()));
    }
    for (path, loaded) in [(Some(&files.system), Some(&system)), (files.software.as_ref(), software.as_ref())] {
        if let (Some(path), Some(l)) = (path, loaded) {
            if l.dirty {
                notes.push(if l.replayed {
                    t!(OFFLINE_DIRTY_REPLAYED, path = path.display())
                } else {
                    t!(OFFLINE_DIRTY_NO_LOGS, path = path.display())
                });
            }
        }
    }
    let select = view.select().copied();
    match select {
        Some(s) if s.current_differs() => notes.push(t!(
            OFFLINE_SELECT_DIFFERS,
            current = s.current.unwrap_or(0),
            default = s.default.unwrap_or(0)
        )),
        Some(_) => {}
        None => notes.push(t!(OFFLINE_NO_SELECT)),
    }

    let source = files.dir.display().to_string();
    let hints = FixHints { license_server: args.license_server.clone() };
    let path_text = args.path.display().to_string();
    let diagnosis = rdlic_diag::windows::diagnose_registry(&view, &source, &hints)
        .with_offline_fixes(|edit| offline_command(&path_text, edit));

    if args.json {
        let mut value = output::to_json(&diagnosis, &source, lang, None);
        if let Some(obj) = value.as_object_mut() {
            obj.insert(
                "offline".into(),
                serde_json::json!({
                    "config_dir": source,
                    "system": files.system.display().to_string(),
                    "software": files.software.as_ref().map(|p| p.display().to_string()),
                    "select": select.map(|s| serde_json::json!({
                        "current": s.current, "default": s.default, "last_known_good": s.last_known_good,
                        "control_set_read": s.control_set(),
                    })),
                    "system_dirty": system.dirty,
                    "software_dirty": software.as_ref().map(|s| s.dirty),
                    "notes": notes,
                }),
            );
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        let color = match args.color.as_str() {
            "always" => true,
            "never" => false,
            _ => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        };
        if let Some(s) = select {
            println!(
                "{}",
                t!(OFFLINE_CONTROL_SET, set = s.control_set().unwrap_or(0), current = s.current.unwrap_or(0))
            );
        }
        for note in &notes {
            println!("! {note}");
        }
        print!("{}", output::render_table(&diagnosis, &source, lang, color));
        println!("{}", t!(OFFLINE_AFTER_BOOT));
    }
    Ok(if diagnosis.can_license { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// The `rdlic offline fix` line that makes a registry fix on the disk at `path`, when `fix` can make it.
fn offline_command(path: &str, edit: &RegEdit) -> Option<String> {
    let quoted = shell_quote(path);
    match edit {
        RegEdit::Set { key, name, value: RegValue::Dword(mode) }
            if key.eq_ignore_ascii_case(paths::LICENSING_CORE) && name.eq_ignore_ascii_case("LicensingMode") =>
        {
            Some(format!("rdlic offline fix {quoted} --licensing-mode {mode} --apply"))
        }
        RegEdit::Set { key, name, value }
            if name.eq_ignore_ascii_case("SpecifiedLicenseServers")
                && (key.eq_ignore_ascii_case(paths::TERMSERVICE_LICENSE_SERVERS)
                    || key.eq_ignore_ascii_case(paths::TERMSERVICE_PARAMETERS)) =>
        {
            let servers = value.as_strings().unwrap_or_default();
            let list: String = servers.iter().map(|s| format!(" --license-server {}", shell_quote(s))).collect();
            Some(format!("rdlic offline fix {quoted}{list} --apply"))
        }
        RegEdit::DeleteValue { key, name } if key.eq_ignore_ascii_case(paths::POLICY_TERMINAL_SERVICES) => {
            Some(format!("rdlic offline fix {quoted} --clear-policy {name} --apply"))
        }
        _ => None,
    }
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-:".contains(c)) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// One planned change: where, what was there, what will be.
#[derive(Debug)]
struct Planned {
    hive: HiveFile,
    key: String,
    name: &'static str,
    before: Option<RegValue>,
    after: Option<RegValue>,
}

const POLICY_VALUES: [&str; 3] = ["LicensingMode", "LicenseServers", "fDenyTSConnections"];

fn edits_from(args: &FixArgs) -> anyhow::Result<Vec<RegEdit>> {
    let mut edits = Vec::new();
    if let Some(mode) = args.licensing_mode {
        if ![2, 4, 5].contains(&mode) {
            anyhow::bail!("{}", t!(OFFLINE_BAD_MODE, mode = mode));
        }
        edits.push(RegEdit::Set { key: paths::LICENSING_CORE, name: "LicensingMode", value: RegValue::Dword(mode) });
    }
    if !args.license_servers.is_empty() {
        edits.push(RegEdit::Set {
            key: paths::TERMSERVICE_LICENSE_SERVERS,
            name: "SpecifiedLicenseServers",
            value: RegValue::MultiSz(args.license_servers.clone()),
        });
    }
    for name in &args.clear_policy {
        let Some(known) = POLICY_VALUES.iter().find(|v| v.eq_ignore_ascii_case(name)) else {
            anyhow::bail!("{}", t!(OFFLINE_BAD_POLICY, name = name, known = POLICY_VALUES.join(", ")));
        };
        edits.push(RegEdit::DeleteValue { key: paths::POLICY_TERMINAL_SERVICES, name: known });
    }
    Ok(edits)
}

fn fix(args: FixArgs) -> anyhow::Result<ExitCode> {
    let files = locate_hives(&args.path)?;
    let edits = edits_from(&args)?;
    if edits.is_empty() {
        println!("{}", t!(OFFLINE_NOTHING_ASKED, path = shell_quote(&args.path.display().to_string())));
        println!("{}", t!(OFFLINE_DISM, drive = "X:"));
        return Ok(ExitCode::SUCCESS);
    }

    // Hives as they are, dirty ones refused unless their logs are replayed.
    let mut hives: Vec<(HiveFile, PathBuf, Vec<u8>, Vec<PathBuf>)> = Vec::new();
    for hive in [HiveFile::System, HiveFile::Software] {
        let Some(path) = hive_path(&files, hive) else { continue };
        let bytes = read(path)?;
        let base = regf::BaseBlock::parse(&bytes).map_err(|e| bad_hive(path, e))?;
        let mut replayed_logs = Vec::new();
        let bytes = if base.is_dirty() {
            let logs = offline_fs::logs_of(path);
            if !args.replay_logs {
                eprintln!("{}", t!(OFFLINE_DIRTY_REFUSED, path = path.display()));
                return Ok(ExitCode::from(2));
            }
            let data: Vec<Vec<u8>> = logs.iter().map(|p| read(p)).collect::<Result<_, _>>()?;
            let refs: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
            let replayed = regf::replay(&bytes, &refs).map_err(|e| bad_hive(path, e))?;
            println!("{}", t!(OFFLINE_REPLAYED, path = path.display(), entries = replayed.entries));
            replayed_logs = logs;
            replayed.hive
        } else {
            bytes
        };
        hives.push((hive, path.to_path_buf(), bytes, replayed_logs));
    }

    let select = {
        let system = hives.iter().find(|h| h.0 == HiveFile::System).map(|h| h.2.as_slice()).unwrap_or_default();
        let view = OfflineWindows::new(system, None).map_err(|e| bad_hive(&files.system, e))?;
        view.select().copied()
    };

    // The plan, read from the hives as they will be edited.
    let mut plan = Vec::new();
    for edit in &edits {
        let (key, name, after) = match edit {
            RegEdit::Set { key, name, value } => (*key, *name, Some(value.clone())),
            RegEdit::DeleteValue { key, name } => (*key, *name, None),
            _ => continue,
        };
        let location = regf::locate(key, select.as_ref()).with_context(|| t!(OFFLINE_NO_CONTROL_SET, key = key))?;
        let Some((_, path, bytes, _)) = hives.iter().find(|h| h.0 == location.hive) else {
            anyhow::bail!("{}", t!(OFFLINE_HIVE_MISSING, hive = location.hive.file_name(), dir = files.dir.display()));
        };
        let hive = regf::Hive::parse(bytes.as_slice()).map_err(|e| bad_hive(path, e))?;
        let before = hive.value(&location.key, name).map_err(|e| bad_hive(path, e))?;
        plan.push(Planned { hive: location.hive, key: location.key, name, before, after });
    }

    for p in &plan {
        let show = |v: &Option<RegValue>| v.as_ref().map_or_else(|| "-".to_owned(), value_text);
        println!(
            "{}",
            t!(
                OFFLINE_PLAN_LINE,
                hive = p.hive.file_name(),
                key = p.key,
                name = p.name,
                before = show(&p.before),
                after = show(&p.after)
            )
        );
    }
    if !args.apply {
        println!("{}", t!(OFFLINE_DRY_RUN));
        return Ok(ExitCode::SUCCESS);
    }

    let now = std::time::SystemTime::now();
    let stamp = offline_fs::stamp(now);
    let secs = now.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let filetime = regf::filetime_from_unix(secs);
    for (hive_file, path, bytes, replayed_logs) in hives {
        let mine: Vec<&Planned> = plan.iter().filter(|p| p.hive == hive_file).collect();
        if mine.is_empty() && replayed_logs.is_empty() {
            continue;
        }
        let mut hive = regf::Hive::parse(bytes).map_err(|e| bad_hive(&path, e))?;
        for p in &mine {
            match &p.after {
                Some(value) => {
                    hive.create_key(&p.key, filetime).map_err(|e| bad_hive(&path, e))?;
                    hive.set_value(&p.key, p.name, value, filetime).map_err(|e| bad_hive(&path, e))?;
                }
                None => {
                    hive.delete_value(&p.key, p.name, filetime).map_err(|e| bad_hive(&path, e))?;
                }
            }
        }
        let backup = offline_fs::backup(&path, &stamp)?;
        offline_fs::write_hive(&path, hive.bytes())?;
        println!("{}", t!(OFFLINE_WRITTEN, path = path.display(), backup = backup.display()));
        for (log, aside) in replayed_logs.iter().zip(offline_fs::set_logs_aside(&replayed_logs, &stamp)?) {
            println!("{}", t!(OFFLINE_LOG_ASIDE, path = log.display(), aside = aside.display()));
        }
    }
    println!("{}", t!(OFFLINE_AFTER_BOOT));
    Ok(ExitCode::SUCCESS)
}

fn value_text(value: &RegValue) -> String {
    match value {
        RegValue::Dword(v) => format!("REG_DWORD {v}"),
        RegValue::MultiSz(v) => format!("REG_MULTI_SZ {}", v.join("\\0")),
        RegValue::Sz(s) => format!("REG_SZ {s}"),
        other => format!("type {}", other.kind()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_commands_for_the_fixes_that_fix_makes() {
        let mode = RegEdit::Set { key: paths::LICENSING_CORE, name: "LicensingMode", value: RegValue::Dword(4) };
        assert_eq!(offline_command("/mnt/win", &mode).as_deref(), Some("rdlic offline fix /mnt/win --licensing-mode 4 --apply"));
        let servers = RegEdit::Set {
            key: paths::TERMSERVICE_LICENSE_SERVERS,
            name: "SpecifiedLicenseServers",
            value: RegValue::MultiSz(vec!["ls 1".into()]),
        };
        assert_eq!(
            offline_command("/mnt/a b", &servers).as_deref(),
            Some("rdlic offline fix '/mnt/a b' --license-server 'ls 1' --apply")
        );
        let other = RegEdit::Set { key: paths::TERMINAL_SERVER, name: "fDenyTSConnections", value: RegValue::Dword(0) };
        assert_eq!(offline_command("/m", &other), None);
    }
}
