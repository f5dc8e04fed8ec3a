//! The binary's side of the message catalogue (`rdlic-i18n`): the language of this run, the `t!` macro, clap's
//! about/help texts and errors in that language, and the sentences that lower layers' errors become.
//!
//! The language is chosen before clap parses (so that `--help` is translated): `--lang en|fr` anywhere on the
//! command line, else `RDLIC_LANG`, else `LC_ALL` / `LC_MESSAGES` / `LANG`, else English.

use std::ffi::OsString;
use std::sync::OnceLock;

use clap::{Arg, ArgAction, Command};
pub(crate) use rdlic_i18n::{keys, Key, Lang};

static LANG: OnceLock<Lang> = OnceLock::new();

/// The language of this run (English until [`set_lang`] is called).
pub(crate) fn lang() -> Lang {
    LANG.get().copied().unwrap_or(Lang::En)
}

/// Fixes the language of this run; the first call wins.
pub(crate) fn set_lang(lang: Lang) {
    let _ = LANG.set(lang);
}

/// A catalogue message in the language of this run: `t!(KEY)` or `t!(KEY, name = value, ...)`, where `KEY` is a
/// constant of `rdlic_i18n::keys` (a missing message is a compile error) and each value is `Display`.
macro_rules! t {
    ($key:ident) => {
        $crate::i18n::lang().text($crate::i18n::keys::$key, &[])
    };
    ($key:ident, $($name:ident = $value:expr),+ $(,)?) => {
        $crate::i18n::lang().text(
            $crate::i18n::keys::$key,
            &[$((stringify!($name), ::std::string::ToString::to_string(&$value).as_str())),+],
        )
    };
}
pub(crate) use t;

/// The language named on the command line (`--lang X` / `--lang=X`, before a `--`), else in the environment.
pub(crate) fn lang_from(args: &[OsString]) -> Lang {
    let mut named = None;
    let mut it = args.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(arg) = it.next() {
        if arg == "--" {
            break;
        }
        if arg == "--lang" {
            named = it.next().map(|v| v.into_owned());
        } else if let Some(value) = arg.strip_prefix("--lang=") {
            named = Some(value.to_owned());
        }
    }
    named
        .or_else(|| std::env::var("RDLIC_LANG").ok().filter(|v| !v.is_empty()))
        .and_then(|v| Lang::parse(&v))
        .unwrap_or_else(Lang::from_env)
}

/// clap value parser of `--lang`.
pub(crate) fn parse_lang(text: &str) -> Result<Lang, String> {
    Lang::parse(text).ok_or_else(|| t!(LANG_UNKNOWN, lang = text))
}

// -----------------------------------------------------------------------------------------------------------------
// clap help

/// The catalogue key of a command's about text: `about-rdlic`, `about-keypack`, `about-keypack-install`.
pub(crate) fn about_key(path: &[&str]) -> String {
    format!("about-{}", path.join("-"))
}

/// The catalogue keys of an argument's help text, the most specific first: `arg-keypack-install-file`, then
/// `arg-file` (shared by every command with the same argument, e.g. the flattened `--data`).
pub(crate) fn arg_keys(path: &[&str], id: &str) -> [String; 2] {
    [format!("arg-{}-{id}", path.join("-")), format!("arg-{id}")]
}

/// Commands whose help stays English: developer and packaging tools (`bench`, `generate`, below their one-line
/// about).
pub(crate) const ENGLISH_ONLY: &[&str] = &["bench", "generate"];

/// `cmd` with its about/help texts, headings and clap's own texts in `lang` (English is clap's derived text,
/// left as is).
pub(crate) fn localize(cmd: Command, lang: Lang) -> Command {
    if lang == Lang::En {
        return cmd;
    }
    let name = cmd.get_name().to_owned();
    let mut cmd = localize_tree(cmd, &[name.as_str()], lang);
    cmd.build();
    localize_builtins(cmd, lang)
}

fn localize_tree(cmd: Command, path: &[&str], lang: Lang) -> Command {
    let catalog = lang.catalog();
    let mut cmd = cmd;
    if let Some(about) = catalog.pattern(&about_key(path)) {
        cmd = cmd.about(about).long_about(None);
    }
    if path.len() > 1 && ENGLISH_ONLY.contains(&path[1]) {
        return cmd;
    }
    let path_owned: Vec<String> = path.iter().map(|s| (*s).to_owned()).collect();
    let usage = lang.text(keys::CLAP_USAGE_HEADING, &[]);
    cmd = cmd
        .help_template(format!(
            "{{before-help}}{{about-with-newline}}\n{usage} {{usage}}\n\n{{all-args}}{{after-help}}"
        ))
        .subcommand_help_heading(lang.raw(keys::CLAP_COMMANDS_HEADING))
        .subcommand_value_name(lang.raw(keys::CLAP_COMMAND_VALUE))
        .mut_args(|arg| {
            let path: Vec<&str> = path_owned.iter().map(String::as_str).collect();
            localize_arg(arg, &path, lang)
        })
        .mut_subcommands(|sub| {
            let mut path: Vec<&str> = path_owned.iter().map(String::as_str).collect();
            let name = sub.get_name().to_owned();
            path.push(&name);
            localize_tree(sub, &path, lang)
        });
    cmd
}

fn localize_arg(arg: Arg, path: &[&str], lang: Lang) -> Arg {
    let catalog = lang.catalog();
    let id = arg.get_id().as_str().to_owned();
    let Some(help) = arg_keys(path, &id).iter().find_map(|k| catalog.pattern(k)) else {
        return arg;
    };
    let mut text = help.to_owned();
    let takes_values = arg.get_action().takes_values();
    if takes_values {
        if !arg.is_hide_default_value_set() && !arg.get_default_values().is_empty() {
            let values: Vec<String> = arg
                .get_default_values()
                .iter()
                .map(|v| v.to_string_lossy().into_owned())
                .collect();
            text.push(' ');
            text.push_str(&lang.text(keys::CLAP_DEFAULT, &[("value", &values.join(", "))]));
        }
        let possible: Vec<String> = arg
            .get_possible_values()
            .iter()
            .filter(|p| !p.is_hide_set())
            .map(|p| p.get_name().to_owned())
            .collect();
        if !arg.is_hide_possible_values_set() && !possible.is_empty() {
            text.push(' ');
            text.push_str(&lang.text(keys::CLAP_POSSIBLE_VALUES, &[("values", &possible.join(", "))]));
        }
    }
    let env = arg
        .get_env()
        .filter(|_| !arg.is_hide_env_set())
        .map(|e| e.to_string_lossy().into_owned());
    if let Some(env) = &env {
        text.push(' ');
        text.push_str(&lang.text(keys::CLAP_ENV, &[("name", env)]));
    }
    // clap's own "[default: ...]" and friends are English: they were written above instead.
    let mut arg = arg.help(text).long_help(None);
    if takes_values {
        arg = arg.hide_default_value(true).hide_possible_values(true);
    }
    if env.is_some() {
        arg = arg.hide_env(true);
    }
    arg
}

/// clap's own `--help`, `--version` and `help` subcommand, which exist only once the command is built.
fn localize_builtins(cmd: Command, lang: Lang) -> Command {
    cmd.mut_args(|arg| match arg.get_id().as_str() {
        "help"
            if matches!(
                arg.get_action(),
                ArgAction::Help | ArgAction::HelpShort | ArgAction::HelpLong
            ) =>
        {
            if arg.get_long_help().is_some() {
                arg.help(lang.text(keys::CLAP_HELP_SHORT, &[]))
                    .long_help(lang.text(keys::CLAP_HELP_LONG, &[]))
            } else {
                arg.help(lang.text(keys::CLAP_HELP, &[]))
            }
        }
        "version" if matches!(arg.get_action(), ArgAction::Version) => {
            arg.help(lang.text(keys::CLAP_VERSION, &[]))
        }
        "subcommand" => arg.help(lang.text(keys::CLAP_HELP_SUBCOMMAND_ARG, &[])),
        _ => arg,
    })
    .mut_subcommands(|sub| {
        let sub = if sub.get_name() == "help"
            && sub
                .get_about()
                .is_some_and(|a| a.to_string().starts_with("Print this"))
        {
            sub.about(lang.text(keys::CLAP_HELP_SUBCOMMAND, &[]))
        } else {
            sub
        };
        localize_builtins(sub, lang)
    })
}

/// A clap error in `lang`: parse errors are rewritten from their context; help and version go out as clap
/// renders them (already localized by [`localize`]).
pub(crate) fn clap_error_text(err: &clap::Error, lang: Lang) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if lang == Lang::En {
        return None;
    }
    let get = |kind: ContextKind| -> String {
        match err.get(kind) {
            Some(ContextValue::String(s)) => format!("« {s} »"),
            Some(ContextValue::Strings(v)) => v
                .iter()
                .map(|s| format!("« {s} »"))
                .collect::<Vec<_>>()
                .join(", "),
            Some(ContextValue::StyledStr(s)) => format!("« {s} »"),
            Some(ContextValue::Number(n)) => n.to_string(),
            Some(ContextValue::Bool(b)) => b.to_string(),
            _ => String::new(),
        }
    };
    let first = match err.kind() {
        ErrorKind::MissingRequiredArgument => lang.text(
            keys::CLAP_ERROR_MISSING,
            &[("args", &get(ContextKind::InvalidArg))],
        ),
        ErrorKind::UnknownArgument => lang.text(
            keys::CLAP_ERROR_UNKNOWN_ARGUMENT,
            &[("arg", &get(ContextKind::InvalidArg))],
        ),
        ErrorKind::InvalidSubcommand => lang.text(
            keys::CLAP_ERROR_UNKNOWN_SUBCOMMAND,
            &[("name", &get(ContextKind::InvalidSubcommand))],
        ),
        ErrorKind::MissingSubcommand => lang.text(keys::CLAP_ERROR_MISSING_SUBCOMMAND, &[]),
        ErrorKind::ArgumentConflict => lang.text(
            keys::CLAP_ERROR_CONFLICT,
            &[
                ("arg", &get(ContextKind::InvalidArg)),
                ("other", &get(ContextKind::PriorArg)),
            ],
        ),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let (value, arg, valid) = (
                get(ContextKind::InvalidValue),
                get(ContextKind::InvalidArg),
                get(ContextKind::ValidValue),
            );
            let args = [("value", value.as_str()), ("arg", arg.as_str())];
            if !valid.is_empty() {
                lang.text(
                    keys::CLAP_ERROR_INVALID_VALUE_AMONG,
                    &[args[0], args[1], ("values", &valid)],
                )
            } else if let Some(expected) = std::error::Error::source(err).and_then(expected_value) {
                lang.text(
                    keys::CLAP_ERROR_INVALID_VALUE_DETAIL,
                    &[args[0], args[1], ("detail", &expected)],
                )
            } else if let Some(source) = std::error::Error::source(err) {
                lang.text(
                    keys::CLAP_ERROR_INVALID_VALUE_DETAIL,
                    &[args[0], args[1], ("detail", &source.to_string())],
                )
            } else {
                lang.text(keys::CLAP_ERROR_INVALID_VALUE, &args)
            }
        }
        _ => return None,
    };
    let mut out = lang.text(keys::ERROR_LINE, &[("message", &first)]);
    out.push('\n');
    if let Some(ContextValue::StyledStr(usage)) = err.get(ContextKind::Usage) {
        let usage = usage.to_string();
        let usage = usage.trim_start().strip_prefix("Usage:").unwrap_or(&usage).trim();
        out.push('\n');
        out.push_str(&lang.text(keys::CLAP_USAGE_HEADING, &[]));
        out.push(' ');
        out.push_str(usage);
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&lang.text(keys::CLAP_ERROR_MORE, &[]));
    out.push('\n');
    Some(out)
}

/// What a value parser expected, for the standard parsers whose errors are English.
fn expected_value(source: &(dyn std::error::Error + 'static)) -> Option<String> {
    if source.is::<std::num::ParseIntError>() {
        Some(t!(CLAP_EXPECTED_INTEGER))
    } else if source.is::<std::num::ParseFloatError>() {
        Some(t!(CLAP_EXPECTED_NUMBER))
    } else if source.is::<std::net::AddrParseError>() {
        Some(t!(CLAP_EXPECTED_ADDRESS))
    } else {
        None
    }
}

// -----------------------------------------------------------------------------------------------------------------
// Errors of the lower layers as sentences

/// An error of any layer with its causes, each typed error a catalogue sentence in the language of this run;
/// errors the catalogue does not know keep their own (English) text.
pub(crate) fn describe(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let (text, complete) = describe_one(cause);
        // A lower layer often repeats its source's text at the end of its own: say it once.
        if parts.last().is_none_or(|last| !last.ends_with(&text)) {
            parts.push(text);
        }
        if complete {
            break;
        }
    }
    let mut parts = parts.into_iter().rev();
    let mut text = parts.next().unwrap_or_default();
    for context in parts {
        text = t!(CAUSE_CHAIN, context = context, cause = text);
    }
    text
}

/// One error as a sentence, and whether that sentence already covers its sources.
fn describe_one(err: &(dyn std::error::Error + 'static)) -> (String, bool) {
    use rdlic_host::config::ConfigError;
    use rdlic_host::grace::GraceError;
    use rdlic_api::client::ClientError;
    use rdlic_api::pki::PkiError;

    if let Some(e) = err.downcast_ref::<ClientError>() {
        return (client_error(e), true);
    }
    if let Some(e) = err.downcast_ref::<std::io::Error>() {
        return (io_error(e), true);
    }
    if let Some(e) = err.downcast_ref::<ConfigError>() {
        let text = match e {
            ConfigError::Read { path, source } => {
                t!(CONFIG_READ, path = path.display(), error = io_error(source))
            }
            ConfigError::Write { path, source } => {
                t!(CONFIG_WRITE, path = path.display(), error = io_error(source))
            }
            ConfigError::Parse { path, message } => t!(CONFIG_PARSE, path = path.display(), error = message),
            ConfigError::BadLicensingMode(mode) => t!(CONFIG_BAD_MODE, mode = mode),
            other => other.to_string(),
        };
        return (text, true);
    }
    if let Some(e) = err.downcast_ref::<GraceError>() {
        let text = match e {
            GraceError::Read { path, source } => {
                t!(GRACE_READ, path = path.display(), error = io_error(source))
            }
            GraceError::Write { path, source } => {
                t!(GRACE_WRITE, path = path.display(), error = io_error(source))
            }
            GraceError::Parse { path, message } => t!(GRACE_PARSE, path = path.display(), error = message),
            other => other.to_string(),
        };
        return (text, true);
    }
    if let Some(e) = err.downcast_ref::<PkiError>() {
        return (pki_error(e), true);
    }
    (err.to_string(), false)
}

/// A file error: what the OS said, in the language of this run for the common cases.
pub(crate) fn io_error(err: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match err.kind() {
        ErrorKind::NotFound => t!(IO_NOT_FOUND),
        ErrorKind::PermissionDenied => t!(IO_PERMISSION_DENIED),
        ErrorKind::AlreadyExists => t!(IO_ALREADY_EXISTS),
        ErrorKind::ConnectionRefused => t!(IO_CONNECTION_REFUSED),
        ErrorKind::TimedOut => t!(IO_TIMED_OUT),
        _ => err.to_string(),
    }
}

fn pki_error(err: &rdlic_api::pki::PkiError) -> String {
    use rdlic_api::pki::PkiError;
    match err {
        PkiError::Io { path, source } => t!(FILE_ERROR, path = path, error = io_error(source)),
        other => other.to_string(),
    }
}

/// A license server client error as a sentence that says what to do.
pub(crate) fn client_error(err: &rdlic_api::client::ClientError) -> String {
    use rdlic_api::client::ClientError;
    match err {
        ClientError::BadUrl(url) => t!(CLIENT_BAD_URL, url = url),
        ClientError::Connect { url, reason } => t!(CLIENT_CONNECT, url = url, reason = reason),
        ClientError::Timeout(url) => t!(CLIENT_TIMEOUT, url = url),
        ClientError::Api {
            status,
            code,
            message,
        } => {
            let refused = t!(CLIENT_API, status = status, code = code, message = message);
            match api_hint(code) {
                Some(hint) => format!("{refused}\n{hint}"),
                None => refused,
            }
        }
        ClientError::Decode(detail) => t!(CLIENT_DECODE, detail = detail),
        ClientError::Pki(e) => pki_error(e),
        other => other.to_string(),
    }
}

/// What to do about an API refusal, by its stable code.
fn api_hint(code: &str) -> Option<String> {
    Some(match code {
        "unauthorized" => t!(API_HINT_UNAUTHORIZED),
        "forbidden" => t!(API_HINT_FORBIDDEN),
        "token_refused" => t!(API_HINT_TOKEN_REFUSED),
        "no_license" => t!(API_HINT_NO_LICENSE),
        "revocation_refused" => t!(API_HINT_REVOCATION_REFUSED),
        "unknown_cal" => t!(API_HINT_UNKNOWN_CAL),
        "unknown_host" => t!(API_HINT_UNKNOWN_HOST),
        "duplicate_host" => t!(API_HINT_DUPLICATE_HOST),
        "no_clearinghouse_key" => t!(API_HINT_NO_CLEARINGHOUSE_KEY),
        "malformed_activation" | "bad_activation" => t!(API_HINT_BAD_ACTIVATION),
        "forged_activation" | "altered_activation" => t!(API_HINT_FORGED_ACTIVATION),
        "foreign_activation" => t!(API_HINT_FOREIGN_ACTIVATION),
        "malformed_pack" | "bad_pack" => t!(API_HINT_BAD_PACK),
        "forged_pack" | "altered_pack" => t!(API_HINT_FORGED_PACK),
        "foreign_pack" => t!(API_HINT_FOREIGN_PACK),
        "expired_pack" => t!(API_HINT_EXPIRED_PACK),
        "pack_conflict" => t!(API_HINT_PACK_CONFLICT),
        "database_unavailable" => t!(API_HINT_DATABASE_UNAVAILABLE),
        "internal" => t!(API_HINT_INTERNAL),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn lang_is_read_before_clap() {
        assert_eq!(
            lang_from(&os(&["rdlic", "--lang", "fr", "keypack", "--help"])),
            Lang::Fr
        );
        assert_eq!(
            lang_from(&os(&["rdlic", "keypack", "--lang=fr_FR.UTF-8"])),
            Lang::Fr
        );
        assert_eq!(lang_from(&os(&["rdlic", "grace", "--lang", "en"])), Lang::En);
    }
}
