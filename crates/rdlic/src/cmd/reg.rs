//! `rdlic reg query|add|delete KEY /v NAME [/t TYPE] [/d DATA] [/f]` — the host's licensing settings with reg.exe
//! syntax and the key paths and value names of the article, and the Group Policy values that win over them:
//!
//! | key (HKLM\...)                                                                  | value                  | type         |
//! |----------------------------------------------------------------------------------|------------------------|--------------|
//! | `SYSTEM\CurrentControlSet\Control\Terminal Server\RCM\Licensing Core`            | LicensingMode          | REG_DWORD    |
//! | `SYSTEM\CurrentControlSet\Services\TermService\Parameters` (or `...\LicenseServers`) | SpecifiedLicenseServers | REG_MULTI_SZ |
//! | `SOFTWARE\Microsoft\ServerManager\ServicingStorage\ServerComponentCache\RDS-RD-Server` | InstallState     | REG_DWORD    |
//! | `SOFTWARE\Microsoft\ServerManager\ServicingStorage\ServerComponentCache\RDS-Licensing` | InstallState     | REG_DWORD    |
//! | `SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services` (Group Policy)            | LicensingMode          | REG_DWORD    |
//! | `SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services` (Group Policy)            | LicenseServers         | REG_SZ (names separated by commas; REG_MULTI_SZ accepted) |
//!
//! As on Windows, a policy value wins: `reg add` of the local `LicensingMode` while the policy sets one prints a
//! note that it has no effect until `reg delete "HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services"
//! /v LicensingMode /f`. `reg delete` removes a value (`LicensingMode` then falls back to 5, not configured), or
//! without `/v` every value of the policy key.
//!
//! Values live in the host's `host.toml` (`--dir`, or env `RDLIC_HOST_DIR`). As on Windows, a running host reads
//! them at its next start.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use rdlic_host::config::{HostConfig, LicensingMode};

use crate::i18n::t;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Host data directory
    #[arg(long, env = "RDLIC_HOST_DIR", default_value = ".")]
    dir: PathBuf,
    /// `query`, `add` or `delete`
    operation: String,
    /// Key path, e.g. "HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM\Licensing Core"
    key: String,
    /// reg.exe switches: /v NAME, /t TYPE, /d DATA, /f
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    switches: Vec<String>,
}

const LICENSING_CORE: &str = r"SYSTEM\CurrentControlSet\Control\Terminal Server\RCM\Licensing Core";
const TERMSERVICE_PARAMETERS: &str = r"SYSTEM\CurrentControlSet\Services\TermService\Parameters";
const TERMSERVICE_LICENSE_SERVERS: &str = r"SYSTEM\CurrentControlSet\Services\TermService\Parameters\LicenseServers";
const RDS_RD_SERVER: &str = r"SOFTWARE\Microsoft\ServerManager\ServicingStorage\ServerComponentCache\RDS-RD-Server";
const RDS_LICENSING: &str = r"SOFTWARE\Microsoft\ServerManager\ServicingStorage\ServerComponentCache\RDS-Licensing";
const POLICY: &str = r"SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services";

/// A value the host knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setting {
    LicensingMode,
    SpecifiedLicenseServers,
    RdServerInstallState,
    LicensingInstallState,
    PolicyLicensingMode,
    PolicyLicenseServers,
}

impl Setting {
    fn name(self) -> &'static str {
        match self {
            Self::LicensingMode | Self::PolicyLicensingMode => "LicensingMode",
            Self::SpecifiedLicenseServers => "SpecifiedLicenseServers",
            Self::PolicyLicenseServers => "LicenseServers",
            Self::RdServerInstallState | Self::LicensingInstallState => "InstallState",
        }
    }

    fn reg_type(self) -> &'static str {
        match self {
            Self::SpecifiedLicenseServers => "REG_MULTI_SZ",
            Self::PolicyLicenseServers => "REG_SZ",
            _ => "REG_DWORD",
        }
    }
}

/// The canonical key path (without the hive) for a path as typed.
fn canonical_key(typed: &str) -> anyhow::Result<&'static str> {
    let trimmed = typed.trim().trim_end_matches('\\');
    let without_hive = ["HKLM\\", "HKEY_LOCAL_MACHINE\\"]
        .iter()
        .find_map(|hive| {
            trimmed.get(..hive.len()).filter(|p| p.eq_ignore_ascii_case(hive)).map(|_| &trimmed[hive.len()..])
        })
        .with_context(|| t!(REG_INVALID_KEY, key = typed))?;
    [LICENSING_CORE, TERMSERVICE_PARAMETERS, TERMSERVICE_LICENSE_SERVERS, RDS_RD_SERVER, RDS_LICENSING, POLICY]
        .into_iter()
        .find(|k| k.eq_ignore_ascii_case(without_hive))
        .with_context(|| t!(REG_KEY_NOT_FOUND, key = typed))
}

fn settings_of(key: &str) -> Vec<Setting> {
    match key {
        LICENSING_CORE => vec![Setting::LicensingMode],
        TERMSERVICE_PARAMETERS | TERMSERVICE_LICENSE_SERVERS => vec![Setting::SpecifiedLicenseServers],
        RDS_RD_SERVER => vec![Setting::RdServerInstallState],
        POLICY => vec![Setting::PolicyLicensingMode, Setting::PolicyLicenseServers],
        _ => vec![Setting::LicensingInstallState],
    }
}

/// The value as reg.exe prints it; `None` when the value does not exist.
fn read(config: &HostConfig, setting: Setting) -> Option<String> {
    match setting {
        Setting::LicensingMode => Some(format!("0x{:x}", config.licensing_mode)),
        Setting::SpecifiedLicenseServers => {
            (!config.specified_license_servers.is_empty()).then(|| config.specified_license_servers.join("\\0"))
        }
        Setting::RdServerInstallState => Some(format!("0x{:x}", config.rds_rd_server_install_state)),
        Setting::LicensingInstallState => Some(format!("0x{:x}", config.rds_licensing_install_state)),
        Setting::PolicyLicensingMode => config.policy.licensing_mode.map(|mode| format!("0x{mode:x}")),
        Setting::PolicyLicenseServers => config.policy.license_servers.clone(),
    }
}

/// Removes a value (`reg delete /v NAME`): the policy values and `SpecifiedLicenseServers` become absent,
/// `LicensingMode` falls back to 5 (not configured), as when Windows finds no value.
fn delete(config: &mut HostConfig, setting: Setting) -> anyhow::Result<()> {
    match setting {
        Setting::LicensingMode => config.licensing_mode = LicensingMode::NotConfigured.value(),
        Setting::SpecifiedLicenseServers => config.specified_license_servers.clear(),
        Setting::PolicyLicensingMode => config.policy.licensing_mode = None,
        Setting::PolicyLicenseServers => config.policy.license_servers = None,
        Setting::RdServerInstallState | Setting::LicensingInstallState => {
            bail!(t!(REG_DELETE_INSTALL_STATE))
        }
    }
    Ok(())
}

/// The note for a `reg add` of a local value that a policy value overrides.
fn shadowed_note(config: &HostConfig, setting: Setting) -> Option<String> {
    let policy_key = format!("HKEY_LOCAL_MACHINE\\{POLICY}");
    match setting {
        Setting::LicensingMode => config.policy.licensing_mode.map(|mode| {
            t!(REG_POLICY_SHADOWS, name = "LicensingMode", policy = format!("0x{mode:x}"), key = policy_key, policy_name = "LicensingMode")
        }),
        Setting::SpecifiedLicenseServers => config.policy.license_servers.as_ref().map(|servers| {
            t!(REG_POLICY_SHADOWS, name = "SpecifiedLicenseServers", policy = servers, key = policy_key, policy_name = "LicenseServers")
        }),
        _ => None,
    }
}

fn parse_dword(data: &str) -> anyhow::Result<u32> {
    let data = data.trim();
    let parsed = match data.strip_prefix("0x").or_else(|| data.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => data.parse(),
    };
    parsed.with_context(|| t!(REG_BAD_DWORD, data = data))
}

fn write(config: &mut HostConfig, setting: Setting, reg_type: &str, data: &str) -> anyhow::Result<()> {
    let multi_for_sz = setting == Setting::PolicyLicenseServers && reg_type.eq_ignore_ascii_case("REG_MULTI_SZ");
    if !reg_type.eq_ignore_ascii_case(setting.reg_type()) && !multi_for_sz {
        bail!(t!(REG_BAD_TYPE, name = setting.name(), expected = setting.reg_type(), given = reg_type));
    }
    match setting {
        Setting::LicensingMode => {
            let value = parse_dword(data)?;
            LicensingMode::from_value(value)?;
            config.licensing_mode = value;
        }
        Setting::SpecifiedLicenseServers => {
            config.specified_license_servers =
                data.split("\\0").map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
        }
        Setting::RdServerInstallState => config.rds_rd_server_install_state = parse_dword(data)?,
        Setting::LicensingInstallState => config.rds_licensing_install_state = parse_dword(data)?,
        Setting::PolicyLicensingMode => {
            let value = parse_dword(data)?;
            LicensingMode::from_value(value)?;
            config.policy.licensing_mode = Some(value);
        }
        Setting::PolicyLicenseServers => {
            // One string of names separated by commas, as the Group Policy editor writes it.
            let names: Vec<&str> =
                data.split("\\0").flat_map(|s| s.split(',')).map(str::trim).filter(|s| !s.is_empty()).collect();
            config.policy.license_servers = (!names.is_empty()).then(|| names.join(","));
        }
    }
    Ok(())
}

/// The reg.exe switches.
#[derive(Debug, Default)]
struct Switches {
    value: Option<String>,
    reg_type: Option<String>,
    data: Option<String>,
}

fn parse_switches(raw: &[String]) -> anyhow::Result<Switches> {
    let mut switches = Switches::default();
    let mut it = raw.iter();
    while let Some(switch) = it.next() {
        let mut take = |what: &str| it.next().cloned().with_context(|| t!(REG_NEEDS_VALUE, switch = what));
        match switch.to_ascii_lowercase().as_str() {
            "/v" => switches.value = Some(take("/v")?),
            "/t" => switches.reg_type = Some(take("/t")?),
            "/d" => switches.data = Some(take("/d")?),
            "/f" | "/ve" => {}
            other => bail!(t!(REG_UNKNOWN_SWITCH, switch = other)),
        }
    }
    Ok(switches)
}

pub(crate) fn run(mut args: Args) -> anyhow::Result<ExitCode> {
    // `--dir` may come after the reg.exe switches, where clap leaves it among them.
    if let Some(at) = args.switches.iter().position(|s| s == "--dir") {
        let dir = args.switches.get(at + 1).cloned().with_context(|| t!(REG_DIR_NEEDS_VALUE))?;
        args.switches.drain(at..at + 2);
        args.dir = PathBuf::from(dir);
    }
    // So may `--lang`, which `main` has already read.
    super::feature::drop_lang(&mut args.switches);
    let key = canonical_key(&args.key)?;
    let switches = parse_switches(&args.switches)?;
    let settings = settings_of(key);
    let selected: Vec<Setting> = match &switches.value {
        Some(name) => {
            let found: Vec<Setting> = settings.into_iter().filter(|s| s.name().eq_ignore_ascii_case(name)).collect();
            if found.is_empty() {
                eprintln!("{}", t!(REG_VALUE_NOT_FOUND));
                return Ok(ExitCode::from(1));
            }
            found
        }
        None => settings,
    };
    let mut config = HostConfig::load(&args.dir)?;
    match args.operation.to_ascii_lowercase().as_str() {
        "query" => {
            let mut lines = Vec::new();
            for setting in &selected {
                if let Some(value) = read(&config, *setting) {
                    lines.push(format!("    {}    {}    {}", setting.name(), setting.reg_type(), value));
                }
            }
            if lines.is_empty() && switches.value.is_some() {
                eprintln!("{}", t!(REG_VALUE_NOT_FOUND));
                return Ok(ExitCode::from(1));
            }
            println!();
            println!("HKEY_LOCAL_MACHINE\\{key}");
            for line in lines {
                println!("{line}");
            }
            println!();
            Ok(ExitCode::SUCCESS)
        }
        "add" => {
            let Some(setting) = switches.value.as_ref().and(selected.first().copied()) else {
                bail!(t!(REG_ADD_NEEDS_VALUE_NAME));
            };
            let reg_type = switches.reg_type.as_deref().unwrap_or("REG_SZ");
            let data = switches.data.as_deref().unwrap_or("");
            write(&mut config, setting, reg_type, data)?;
            config.save(&args.dir)?;
            println!("{}", t!(OPERATION_COMPLETED));
            if let Some(note) = shadowed_note(&config, setting) {
                eprintln!("{note}");
            }
            eprintln!("{}", t!(REG_RESTART_NOTE));
            Ok(ExitCode::SUCCESS)
        }
        "delete" => {
            // reg.exe: without /v the whole key goes; here only the policy key may go whole.
            let targets: Vec<Setting> = match (&switches.value, key) {
                (Some(_), _) => selected,
                (None, POLICY) => settings_of(POLICY),
                (None, _) => bail!(t!(REG_DELETE_NEEDS_VALUE_NAME)),
            };
            if switches.value.is_some() && targets.iter().all(|s| read(&config, *s).is_none()) {
                eprintln!("{}", t!(REG_VALUE_NOT_FOUND));
                return Ok(ExitCode::from(1));
            }
            for setting in targets {
                delete(&mut config, setting)?;
            }
            config.save(&args.dir)?;
            println!("{}", t!(OPERATION_COMPLETED));
            eprintln!("{}", t!(REG_RESTART_NOTE));
            Ok(ExitCode::SUCCESS)
        }
        other => bail!(t!(REG_UNKNOWN_OPERATION, operation = other)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn article_paths_are_recognised() {
        assert_eq!(canonical_key(r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM\Licensing Core").unwrap(), LICENSING_CORE);
        assert_eq!(canonical_key(r"hklm\system\currentcontrolset\services\termservice\parameters").unwrap(), TERMSERVICE_PARAMETERS);
        assert_eq!(
            canonical_key(r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\ServerManager\ServicingStorage\ServerComponentCache\RDS-RD-Server").unwrap(),
            RDS_RD_SERVER
        );
        assert!(canonical_key(r"HKCU\Software").is_err());
        assert_eq!(canonical_key(r"HKLM\Software\Policies\Microsoft\Windows NT\Terminal Services\").unwrap(), POLICY);
        assert_eq!(settings_of(POLICY), vec![Setting::PolicyLicensingMode, Setting::PolicyLicenseServers]);
    }

    #[test]
    fn policy_values_add_delete_and_precedence() {
        let mut config = HostConfig::default();
        write(&mut config, Setting::LicensingMode, "REG_DWORD", "2").unwrap();
        assert_eq!(shadowed_note(&config, Setting::LicensingMode), None);
        write(&mut config, Setting::PolicyLicensingMode, "REG_DWORD", "4").unwrap();
        assert_eq!(read(&config, Setting::PolicyLicensingMode).unwrap(), "0x4");
        assert_eq!(config.mode().unwrap(), LicensingMode::PerUser);
        assert!(shadowed_note(&config, Setting::LicensingMode).unwrap().contains("LicensingMode"));
        assert!(write(&mut config, Setting::PolicyLicensingMode, "REG_DWORD", "3").is_err());
        write(&mut config, Setting::PolicyLicenseServers, "REG_SZ", "ls1.contoso.com, ls2.contoso.com").unwrap();
        assert_eq!(read(&config, Setting::PolicyLicenseServers).unwrap(), "ls1.contoso.com,ls2.contoso.com");
        write(&mut config, Setting::PolicyLicenseServers, "REG_MULTI_SZ", r"a\0b").unwrap();
        assert_eq!(config.license_servers(), vec!["a", "b"]);
        delete(&mut config, Setting::PolicyLicensingMode).unwrap();
        assert_eq!(read(&config, Setting::PolicyLicensingMode), None);
        assert_eq!(config.mode().unwrap(), LicensingMode::PerDevice);
        delete(&mut config, Setting::LicensingMode).unwrap();
        assert_eq!(config.mode().unwrap(), LicensingMode::NotConfigured);
        assert!(delete(&mut config, Setting::RdServerInstallState).is_err());
    }

    #[test]
    fn add_then_read() {
        let mut config = HostConfig::default();
        write(&mut config, Setting::LicensingMode, "REG_DWORD", "4").unwrap();
        assert_eq!(read(&config, Setting::LicensingMode).unwrap(), "0x4");
        assert!(write(&mut config, Setting::LicensingMode, "REG_DWORD", "3").is_err());
        assert!(write(&mut config, Setting::LicensingMode, "REG_SZ", "4").is_err());
        assert_eq!(read(&config, Setting::SpecifiedLicenseServers), None);
        write(&mut config, Setting::SpecifiedLicenseServers, "REG_MULTI_SZ", r"ls1.example:8443\0ls2.example:8443").unwrap();
        assert_eq!(config.specified_license_servers, vec!["ls1.example:8443", "ls2.example:8443"]);
        write(&mut config, Setting::RdServerInstallState, "REG_DWORD", "0x0").unwrap();
        assert!(!config.session_host_role());
    }
}
