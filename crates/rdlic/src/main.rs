//! `rdlic` — the one binary: license server, session host, vendor tools and diagnostics.
//!
//! Each subcommand lives in its own module under `cmd/`; this file only parses and dispatches.

use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};

mod cmd;
mod i18n;

use i18n::{t, Lang};

#[derive(Debug, Parser)]
#[command(name = "rdlic", version, about = "Remote Desktop licensing: license server, session host and diagnostics")]
struct Cli {
    /// Log filter (tracing EnvFilter syntax), e.g. `info` or `rdlic_host=debug`
    #[arg(long, global = true, env = "RDLIC_LOG", default_value = "info,ironrdp=warn")]
    log: String,

    /// Language of the messages and of this help: en or fr (default: LC_ALL, LC_MESSAGES or LANG)
    #[arg(long, global = true, env = "RDLIC_LANG", value_parser = i18n::parse_lang)]
    lang: Option<Lang>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Demo: a license server and a session host on loopback with the embedded store
    Up(cmd::up::Args),
    /// License server (run)
    Server(cmd::server::Args),
    /// Session host (run, enroll)
    Host(cmd::host::Args),
    /// Vendor side: clearinghouse key, activation certificates, key packs
    Clearinghouse(cmd::clearinghouse::Args),
    /// Activate this license server with a clearinghouse certificate
    Activate(cmd::activate::Args),
    /// Install and list CAL key packs
    Keypack(cmd::keypack::Args),
    /// List issued licenses
    License(cmd::license::Args),
    /// Revoke a per-device CAL
    Revoke(cmd::revoke::Args),
    /// Per-user and per-device reports
    Report(cmd::report::Args),
    /// Query or change host licensing settings with reg.exe syntax
    Reg(cmd::reg::Args),
    /// Enable or disable the session-host role (dism syntax)
    Feature(cmd::feature::Args),
    /// Grace period days left (GetGracePeriodDays)
    Grace(cmd::grace::Args),
    /// Find why connections are refused on this host and print the fix
    Diagnose(cmd::diagnose::Args),
    /// Report what an RDP server does in its licensing phase
    Probe(cmd::probe::Args),
    /// Diagnose and repair the registry of an offline Windows disk (its SYSTEM and SOFTWARE hives)
    Offline(cmd::offline::Args),
    /// Benchmarks
    Bench(cmd::bench::Args),
    /// Packaging: man pages and shell completions
    #[command(hide = true)]
    Generate(cmd::generate::Args),
}

fn main() -> std::process::ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let lang = i18n::lang_from(&args);
    i18n::set_lang(lang);
    let cli = match i18n::localize(Cli::command(), lang)
        .try_get_matches_from(&args)
        .and_then(|matches| Cli::from_arg_matches(&matches))
    {
        Ok(cli) => cli,
        Err(err) => match i18n::clap_error_text(&err, lang) {
            Some(text) => {
                eprint!("{text}");
                return std::process::ExitCode::from(2);
            }
            None => err.exit(),
        },
    };
    // `--lang` was applied before clap parsed (`i18n::lang_from`); clap only checks its value.
    let Cli { log, lang: _, command } = cli;
    init_tracing(&log);
    let result = match command {
        Command::Up(args) => cmd::up::run(args),
        Command::Server(args) => cmd::server::run(args),
        Command::Host(args) => cmd::host::run(args),
        Command::Clearinghouse(args) => cmd::clearinghouse::run(args),
        Command::Activate(args) => cmd::activate::run(args),
        Command::Keypack(args) => cmd::keypack::run(args),
        Command::License(args) => cmd::license::run(args),
        Command::Revoke(args) => cmd::revoke::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::Reg(args) => cmd::reg::run(args),
        Command::Feature(args) => cmd::feature::run(args),
        Command::Grace(args) => cmd::grace::run(args),
        Command::Diagnose(args) => cmd::diagnose::run(args),
        Command::Probe(args) => cmd::probe::run(args),
        Command::Offline(args) => cmd::offline::run(args),
        Command::Bench(args) => cmd::bench::run(args),
        Command::Generate(args) => cmd::generate::run(args, Cli::command()),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("{}", t!(ERROR_LINE, message = i18n::describe(&err)));
            std::process::ExitCode::from(1)
        }
    }
}

fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: under systemd, stderr goes to the journal, which would keep the escape codes.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr);
    // systemd sets JOURNAL_STREAM when stderr is the journal, which dates every line itself.
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        logs.without_time().init();
    } else {
        logs.init();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Every about/help text of the command tree (as clap derives it from the doc comments), with the catalogue
    /// keys it may be translated from, the most specific first.
    fn help_texts() -> Vec<(Vec<String>, String)> {
        fn walk(cmd: &clap::Command, path: &[&str], out: &mut Vec<(Vec<String>, String)>) {
            if let Some(about) = cmd.get_about() {
                out.push((vec![i18n::about_key(path)], about.to_string()));
            }
            if path.len() > 1 && i18n::ENGLISH_ONLY.contains(&path[1]) {
                return;
            }
            for arg in cmd.get_arguments() {
                if let Some(help) = arg.get_help() {
                    out.push((i18n::arg_keys(path, arg.get_id().as_str()).to_vec(), help.to_string()));
                }
            }
            for sub in cmd.get_subcommands() {
                let mut path = path.to_vec();
                path.push(sub.get_name());
                walk(sub, &path, out);
            }
        }
        let mut out = Vec::new();
        walk(&Cli::command(), &["rdlic"], &mut out);
        out
    }

    /// The English help catalogue says what the doc comments say, and French has every one of those keys: a new
    /// or changed doc comment fails here until `locales/{en,fr}/help.ftl` follow.
    #[test]
    fn every_help_text_is_in_the_catalogue() {
        let (en, fr) = (Lang::En.catalog(), Lang::Fr.catalog());
        let mut missing = Vec::new();
        for (keys, text) in help_texts() {
            match keys.iter().find(|k| en.has(k)) {
                None => missing.push(format!("{} = {text}", keys[0])),
                Some(key) if en.pattern(key) != Some(text.as_str()) => {
                    missing.push(format!("{key} = {text}    # en has: {}", en.pattern(key).unwrap_or_default()))
                }
                Some(key) if !fr.has(key) => missing.push(format!("fr lacks {key}")),
                Some(_) => {}
            }
        }
        assert!(missing.is_empty(), "help texts missing from crates/rdlic-i18n/locales/*/help.ftl:\n{}", missing.join("\n"));
    }

    /// `--help` of every command in French: the catalogue's texts, French headings, and none of the English
    /// sentences of the doc comments or of clap.
    #[test]
    fn french_help_of_every_command_has_no_english_left() {
        let english: Vec<String> = help_texts().into_iter().map(|(_, text)| text).filter(|t| t.contains(' ')).collect();
        let clap_english = ["Usage:", "Print help", "Print version", "Print this message", "[default:", "[env:", "[possible values:", "Commands:"];
        fn paths(cmd: &clap::Command, path: Vec<String>, out: &mut Vec<Vec<String>>) {
            // `bench` is a developer tool, English only; clap's `help` subtree repeats the commands' abouts.
            if path.first().is_some_and(|p| i18n::ENGLISH_ONLY.contains(&p.as_str())) {
                return;
            }
            out.push(path.clone());
            if path.first().is_some_and(|p| p == "help") {
                return;
            }
            for sub in cmd.get_subcommands() {
                let mut p = path.clone();
                p.push(sub.get_name().to_owned());
                paths(sub, p, out);
            }
        }
        let mut all = Vec::new();
        paths(&Cli::command(), Vec::new(), &mut all);
        assert!(all.len() > 25, "{all:?}");
        for path in all {
            let mut cmd = i18n::localize(Cli::command(), Lang::Fr);
            let mut current = &mut cmd;
            for name in &path {
                current = current.find_subcommand_mut(name).unwrap();
            }
            let help = current.render_help().to_string();
            assert!(help.contains("Utilisation :"), "{path:?}: {help}");
            for text in english.iter().map(String::as_str).chain(clap_english) {
                assert!(!help.contains(text), "{path:?}: English {text:?} in\n{help}");
            }
        }
    }

    /// `rdlic generate man`: a page for every visible command in both languages (none for the hidden
    /// `generate`), with the NAME heading and the help texts of each language.
    #[test]
    fn man_pages_cover_every_visible_command_in_both_languages() {
        fn visible(cmd: &clap::Command, prefix: &str, out: &mut Vec<String>) {
            let name = if prefix.is_empty() { cmd.get_name().to_owned() } else { format!("{prefix}-{}", cmd.get_name()) };
            for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
                visible(sub, &name, out);
            }
            out.push(format!("{name}.1"));
        }
        let mut want = Vec::new();
        visible(&Cli::command(), "", &mut want);
        want.sort();
        assert!(want.len() > 25 && want.contains(&"rdlic-server-run.1".to_owned()), "{want:?}");
        for (lang, heading, listen) in [(Lang::En, ".SH NAME", "Listen address"), (Lang::Fr, ".SH NOM", "Adresse d’écoute")] {
            let pages = cmd::generate::man_pages(Cli::command(), lang);
            let mut names: Vec<String> = pages.iter().map(|(name, _)| name.clone()).collect();
            names.sort();
            assert_eq!(names, want, "{lang:?}");
            for (name, page) in &pages {
                assert!(page.starts_with(".ie") && page.contains("\n.TH "), "{name}: {page}");
                assert!(page.lines().any(|l| l == heading), "{lang:?} {name}: no {heading}");
            }
            let run = &pages.iter().find(|(name, _)| name == "rdlic-server-run.1").unwrap().1;
            assert!(run.contains(listen) && run.contains("RDLIC_SERVER_LISTEN"), "{lang:?}: {run}");
        }
    }

    /// `rdlic generate completions`: every visible command and option, not the hidden `generate`.
    #[test]
    fn completions_offer_the_visible_commands_only() {
        for lang in Lang::ALL {
            let scripts = cmd::generate::completions(Cli::command(), lang);
            assert_eq!(scripts.iter().map(|(f, _)| *f).collect::<Vec<_>>(), ["rdlic.bash", "_rdlic", "rdlic.fish"]);
            for (file, text) in scripts {
                for word in ["keypack", "diagnose", "clearinghouse", "max-batch", "report-interval-secs"] {
                    assert!(text.contains(word), "{lang:?} {file}: no {word}");
                }
                assert!(!text.contains("generate"), "{lang:?} {file} offers the hidden generate");
            }
        }
    }

    #[test]
    fn the_command_tree_is_valid_in_both_languages() {
        for lang in Lang::ALL {
            i18n::localize(Cli::command(), lang).debug_assert();
        }
    }
}
