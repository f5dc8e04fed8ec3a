//! `rdlic generate man|completions --out DIR` — packaging: the man pages and shell completions of this command
//! tree, made from the same clap definitions as `--help` (hidden: not part of the everyday commands).
//!
//! Man pages are in the language of the run (`rdlic --lang fr generate man --out DIR`): the texts of the message
//! catalogue (`crates/rdlic-i18n/locales/*/help.ftl`), one page per command (`rdlic.1`, `rdlic-server-run.1`, ...).
//! The pages are dated `SOURCE_DATE_EPOCH` (reproducible builds), else today. Completions (bash, zsh, fish) carry the help texts of the language of the run as descriptions. `scripts/deb`
//! calls both.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Command;

use crate::i18n::{self, keys, t, Lang};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Man pages, one per command (section 1), in the language of the run
    Man {
        /// Directory to write the pages to (created if missing)
        #[arg(long)]
        out: PathBuf,
    },
    /// Shell completions: rdlic.bash, _rdlic (zsh) and rdlic.fish
    Completions {
        /// Directory to write the scripts to (created if missing)
        #[arg(long)]
        out: PathBuf,
    },
}

/// Runs `generate` for the command tree `cli` (the binary's `Cli::command()`).
pub(crate) fn run(args: Args, cli: Command) -> anyhow::Result<ExitCode> {
    match args.what {
        What::Man { out } => {
            create_dir(&out)?;
            for (name, page) in man_pages(cli, i18n::lang()) {
                write(&out.join(name), page.as_bytes())?;
            }
        }
        What::Completions { out } => {
            create_dir(&out)?;
            for (file, text) in completions(cli, i18n::lang()) {
                write(&out.join(file), text.as_bytes())?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The command tree in the language of the run, built (display names such as `rdlic-server-run` set).
fn tree(cli: Command, lang: Lang) -> Command {
    let mut cmd = i18n::localize(cli, lang);
    cmd.build();
    cmd
}

/// The completion scripts of `cli` (file name, text) for bash, zsh and fish, with the help texts of `lang`.
pub(crate) fn completions(cli: Command, lang: Lang) -> Vec<(&'static str, String)> {
    let mut cmd = without_hidden_commands(&tree(cli, lang));
    [
        (clap_complete::Shell::Bash, "rdlic.bash"),
        (clap_complete::Shell::Zsh, "_rdlic"),
        (clap_complete::Shell::Fish, "rdlic.fish"),
    ]
    .into_iter()
    .map(|(shell, file)| {
        let mut text = Vec::new();
        clap_complete::generate(shell, &mut cmd, "rdlic", &mut text);
        (file, String::from_utf8_lossy(&text).into_owned())
    })
    .collect()
}

/// `cmd` without its hidden subcommands (`generate`), which clap_complete would otherwise offer.
fn without_hidden_commands(cmd: &Command) -> Command {
    let mut root = Command::new("rdlic")
        .args(cmd.get_arguments().filter(|a| !matches!(a.get_id().as_str(), "help" | "version")).cloned())
        .subcommands(cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help").cloned());
    if cmd.get_version().is_some() {
        root = root.version(env!("CARGO_PKG_VERSION"));
    }
    if let Some(about) = cmd.get_about() {
        root = root.about(about.clone());
    }
    root
}

/// The man pages of `cli` in `lang`: (file name, roff text), one for each visible command.
pub(crate) fn man_pages(cli: Command, lang: Lang) -> Vec<(String, String)> {
    fn walk(cmd: &Command, lang: Lang, out: &mut Vec<(String, String)>) {
        let man = clap_mangen::Man::new(cmd.clone())
            .date(page_date())
            .source(format!("rdlic {}", env!("CARGO_PKG_VERSION")))
            .manual(lang.text(keys::MAN_MANUAL, &[]));
        let mut page = Vec::new();
        // Rendering into memory cannot fail.
        let _ = man.render(&mut page);
        let page = headings(&String::from_utf8_lossy(&page), &lang.text(keys::MAN_HEADING_NAME, &[]));
        out.push((man.get_filename(), page));
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, lang, out);
        }
    }
    let cmd = tree(cli.disable_help_subcommand(true), lang);
    let mut out = Vec::new();
    walk(&cmd, lang, &mut out);
    out
}

/// The pages' date, YYYY-MM-DD (UTC): `SOURCE_DATE_EPOCH` when set, else now. (A page needs one: with an empty
/// date the `.TH` line loses an argument and man shows the source as the date.)
fn page_date() -> String {
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or_else(|| {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?;
            i64::try_from(now.as_secs()).ok()
        })
        .unwrap_or(0);
    let (y, m, d) = rdpele::der::civil_from_days(secs.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// clap_mangen's section headings upper case, as man pages have them (it writes the subcommand heading as
/// `--help` has it, e.g. "Commandes"), and NAME as `name` (the language of the page).
fn headings(page: &str, name: &str) -> String {
    let mut text = String::with_capacity(page.len());
    for line in page.lines() {
        match line.strip_prefix(".SH ") {
            Some("NAME") => text.push_str(&format!(".SH {}", name.to_uppercase())),
            Some(heading) => text.push_str(&format!(".SH {}", heading.to_uppercase())),
            None => text.push_str(line),
        }
        text.push('\n');
    }
    text
}

fn create_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| t!(GENERATE_WRITE_FAILED, path = dir.display()))
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| t!(GENERATE_WRITE_FAILED, path = path.display()))
}

#[cfg(test)]
mod tests {
    use super::headings;

    #[test]
    fn headings_are_upper_case_and_name_is_translated() {
        let page = ".TH rdlic 1\n.SH NAME\nrdlic\n.SH Commandes\n.TP\n";
        assert_eq!(headings(page, "Nom"), ".TH rdlic 1\n.SH NOM\nrdlic\n.SH COMMANDES\n.TP\n");
    }
}
