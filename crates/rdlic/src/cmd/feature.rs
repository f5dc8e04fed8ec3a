//! `rdlic feature disable|enable Remote-Desktop-Services|Licensing [--dir DIR]` — the article's
//! `dism /ONLINE /Disable-feature /FeatureName:Remote-Desktop-Services` (and `/FeatureName:Licensing`).
//!
//! Disabling Remote-Desktop-Services sets RDS-RD-Server `InstallState` to 0: at its next start the host runs in
//! remote-administration mode (every connection administrative, 2 at once, no licensing). dism's own spelling
//! is accepted too: `rdlic feature /Disable-feature /FeatureName:Licensing`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use rdlic_host::config::HostConfig;

use crate::i18n::t;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Host data directory
    #[arg(long, env = "RDLIC_HOST_DIR", default_value = ".")]
    dir: PathBuf,
    /// `disable`/`enable` and the feature name (or dism's /Disable-feature /FeatureName:NAME)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    words: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feature {
    RemoteDesktopServices,
    Licensing,
}

fn parse(words: &[String]) -> anyhow::Result<(bool, Feature)> {
    let mut enable = None;
    let mut feature = None;
    for word in words {
        let lower = word.to_ascii_lowercase();
        let lower = lower.trim_start_matches('/');
        match lower {
            "online" => {}
            "disable" | "disable-feature" => enable = Some(false),
            "enable" | "enable-feature" => enable = Some(true),
            other => {
                let name = other.strip_prefix("featurename:").unwrap_or(other);
                feature = Some(match name {
                    "remote-desktop-services" | "rds-rd-server" => Feature::RemoteDesktopServices,
                    "licensing" | "rds-licensing" => Feature::Licensing,
                    _ => bail!(t!(FEATURE_UNKNOWN, name = word)),
                });
            }
        }
    }
    match (enable, feature) {
        (Some(e), Some(f)) => Ok((e, f)),
        _ => bail!(t!(FEATURE_USAGE)),
    }
}

/// Removes `--lang X` / `--lang=X` from trailing words where clap left it (`main` read it before clap).
pub(crate) fn drop_lang(words: &mut Vec<String>) {
    while let Some(at) = words.iter().position(|w| w == "--lang" || w.starts_with("--lang=")) {
        let end = if words[at] == "--lang" { (at + 2).min(words.len()) } else { at + 1 };
        words.drain(at..end);
    }
}

pub(crate) fn run(mut args: Args) -> anyhow::Result<ExitCode> {
    drop_lang(&mut args.words);
    let (enable, feature) = parse(&args.words)?;
    let mut config = HostConfig::load(&args.dir)?;
    let state = u32::from(enable);
    match feature {
        Feature::RemoteDesktopServices => config.rds_rd_server_install_state = state,
        Feature::Licensing => config.rds_licensing_install_state = state,
    }
    config.save(&args.dir)?;
    println!("{}", if enable { t!(FEATURE_ENABLING) } else { t!(FEATURE_DISABLING) });
    println!("[==========================100.0%==========================]");
    println!("{}", t!(OPERATION_COMPLETED));
    if feature == Feature::RemoteDesktopServices && !enable {
        println!("{}", t!(FEATURE_ADMIN_MODE));
    }
    eprintln!("{}", t!(FEATURE_RESTART_NOTE));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn both_spellings() {
        assert_eq!(parse(&words("disable Remote-Desktop-Services")).unwrap(), (false, Feature::RemoteDesktopServices));
        assert_eq!(parse(&words("/ONLINE /Disable-feature /FeatureName:Licensing")).unwrap(), (false, Feature::Licensing));
        assert_eq!(parse(&words("enable remote-desktop-services")).unwrap(), (true, Feature::RemoteDesktopServices));
        assert!(parse(&words("disable Telnet")).is_err());
        assert!(parse(&words("Licensing")).is_err());
    }
}
