//! The message catalogue of rdlic: every user-facing text of the command line and the diagnostics, in English and
//! French. Core tier: no I/O — the catalogues are compiled in.
//!
//! One file per language and domain under `locales/<lang>/`: `cli.ftl` (what the commands print), `help.ftl`
//! (clap about/help texts, keyed by command path and argument id) and `diag.ftl` (`rdlic probe`, `rdlic
//! diagnose`). The format is a Fluent subset: `key = text` on one line, `{ $name }` placeholders, `#` comments. The
//! subset keeps the workspace free of a Fluent runtime; the files stay readable by Fluent tools. The French
//! wording of the client-visible licensing errors follows the seed article (Microsoft's French support article "Le
//! serveur de licences des services Bureau à distance n'est pas disponible").
//!
//! Code names a `cli` or `diag` message with a constant of [`keys`] (generated from the English files by
//! `build.rs`), so a message that does not exist is a compile error; [`Lang::text`] renders it. Keys built at run
//! time (codes, help texts) go through [`Lang::msg`] / [`Catalog::pattern`].

use std::collections::HashMap;
use std::sync::OnceLock;

/// `(domain, English file, French file)`.
const FILES: [(&str, &str, &str); 3] = [
    (
        "cli",
        include_str!("../locales/en/cli.ftl"),
        include_str!("../locales/fr/cli.ftl"),
    ),
    (
        "help",
        include_str!("../locales/en/help.ftl"),
        include_str!("../locales/fr/help.ftl"),
    ),
    (
        "diag",
        include_str!("../locales/en/diag.ftl"),
        include_str!("../locales/fr/diag.ftl"),
    ),
];

/// The name of one message of the catalogue; only [`keys`] makes them, so each one exists in English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key(&'static str);

impl Key {
    /// The key as written in the `.ftl` files.
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

/// One constant per message of the `cli` and `diag` catalogues: `grace-running` is `GRACE_RUNNING`.
pub mod keys {
    use super::Key;
    include!(concat!(env!("OUT_DIR"), "/keys.rs"));
}

/// A catalogue language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English
    En,
    /// French
    Fr,
}

impl Lang {
    /// Every language, English first.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Fr];

    /// `en` / `fr` (also `fr_FR.UTF-8`, `en-US`, `C`...).
    pub fn parse(text: &str) -> Option<Self> {
        let lower = text.trim().to_ascii_lowercase();
        if lower.starts_with("fr") {
            Some(Self::Fr)
        } else if lower.starts_with("en") || lower == "c" || lower.starts_with("c.") || lower == "posix" {
            Some(Self::En)
        } else {
            None
        }
    }

    /// From `LC_ALL`, `LC_MESSAGES`, `LANG` (the first one set and non-empty, as gettext does), English when it
    /// names another language.
    pub fn from_env() -> Self {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|name| std::env::var(name).ok())
            .find(|v| !v.is_empty())
            .and_then(|v| Self::parse(&v))
            .unwrap_or(Self::En)
    }

    /// `en` or `fr`.
    pub const fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Fr => "fr",
        }
    }

    /// The catalogue of this language.
    pub fn catalog(self) -> &'static Catalog {
        static CATALOGS: OnceLock<(Catalog, Catalog)> = OnceLock::new();
        let (en, fr) = CATALOGS.get_or_init(|| {
            (
                Catalog::parse(FILES.iter().map(|(domain, en, _)| (*domain, *en))),
                Catalog::parse(FILES.iter().map(|(domain, _, fr)| (*domain, *fr))),
            )
        });
        match self {
            Self::En => en,
            Self::Fr => fr,
        }
    }

    /// The message `key` with its placeholders filled from `args`.
    pub fn text(self, key: Key, args: &[(&str, &str)]) -> String {
        self.catalog().msg(key.as_str(), args)
    }

    /// The message `key` as written (for messages without placeholders that must be `&'static str`).
    pub fn raw(self, key: Key) -> &'static str {
        self.catalog().pattern(key.as_str()).unwrap_or(key.as_str())
    }

    /// Shorthand for `self.catalog().msg(key, args)`, for keys built at run time.
    pub fn msg(self, key: &str, args: &[(&str, &str)]) -> String {
        self.catalog().msg(key, args)
    }
}

/// One language's messages.
#[derive(Debug)]
pub struct Catalog {
    messages: HashMap<&'static str, &'static str>,
    domains: HashMap<&'static str, &'static str>,
    duplicates: Vec<&'static str>,
}

impl Catalog {
    fn parse(files: impl Iterator<Item = (&'static str, &'static str)>) -> Self {
        let mut catalog = Self {
            messages: HashMap::new(),
            domains: HashMap::new(),
            duplicates: Vec::new(),
        };
        for (domain, text) in files {
            let entries = text
                .lines()
                .filter(|line| !line.trim_start().starts_with('#'))
                .filter_map(|line| {
                    line.split_once(" = ")
                        .or_else(|| line.strip_suffix(" =").map(|k| (k, "")))
                })
                .map(|(key, value)| (key.trim(), value.trim()));
            for (key, value) in entries {
                if catalog.messages.insert(key, value).is_some() {
                    catalog.duplicates.push(key);
                }
                catalog.domains.insert(key, domain);
            }
        }
        catalog
    }

    /// Whether the catalogue has `key`.
    pub fn has(&self, key: &str) -> bool {
        self.messages.contains_key(key)
    }

    /// Every key.
    pub fn keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.messages.keys().copied()
    }

    /// The keys of one domain (`cli`, `help`, `diag`).
    pub fn keys_of<'a>(&'a self, domain: &'a str) -> impl Iterator<Item = &'static str> + 'a {
        self.domains
            .iter()
            .filter(move |(_, d)| **d == domain)
            .map(|(k, _)| *k)
    }

    /// Keys written more than once (a later line replaces an earlier one; tests keep this empty).
    pub fn duplicates(&self) -> &[&'static str] {
        &self.duplicates
    }

    /// The raw pattern of `key`.
    pub fn pattern(&self, key: &str) -> Option<&'static str> {
        self.messages.get(key).copied()
    }

    /// The message `key` with `{ $name }` placeholders replaced from `args`. An unknown key gives the key itself
    /// in brackets, so a missing translation shows instead of failing (tests check there are none).
    pub fn msg(&self, key: &str, args: &[(&str, &str)]) -> String {
        let Some(pattern) = self.messages.get(key) else {
            return format!("[{key}]");
        };
        let mut out = String::with_capacity(pattern.len());
        let mut rest = *pattern;
        while let Some(start) = rest.find("{ $") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 3..];
            let Some(end) = after.find(" }") else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let name = &after[..end];
            match args.iter().find(|(n, _)| *n == name) {
                Some((_, value)) => out.push_str(value),
                None => {
                    out.push_str("{$");
                    out.push_str(name);
                    out.push('}');
                }
            }
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        out
    }
}

/// The placeholder names of a pattern, sorted.
pub fn placeholders(pattern: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = pattern;
    while let Some(start) = rest.find("{ $") {
        let after = &rest[start + 3..];
        let Some(end) = after.find(" }") else { break };
        names.push(&after[..end]);
        rest = &after[end + 2..];
    }
    names.sort_unstable();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_keys_placeholders_and_no_empty_text() {
        let (en, fr) = (Lang::En.catalog(), Lang::Fr.catalog());
        let mut problems = Vec::new();
        for key in en.keys() {
            match fr.pattern(key) {
                None => problems.push(format!("fr lacks {key}")),
                Some(f) => {
                    let e = en.pattern(key).unwrap_or_default();
                    if placeholders(e) != placeholders(f) {
                        problems.push(format!(
                            "{key}: placeholders differ: {:?} / {:?}",
                            placeholders(e),
                            placeholders(f)
                        ));
                    }
                }
            }
        }
        for key in fr.keys() {
            if !en.has(key) {
                problems.push(format!("en lacks {key}"));
            }
        }
        for lang in Lang::ALL {
            let catalog = lang.catalog();
            for key in catalog.keys() {
                let text = catalog.pattern(key).unwrap_or_default();
                if text.is_empty() {
                    problems.push(format!("{}: {key} is empty", lang.code()));
                }
                // A placeholder must be written `{ $name }` exactly, or it is printed as is.
                if text.matches('{').count() != text.matches("{ $").count() || text.contains("{$") {
                    problems.push(format!(
                        "{}: {key} has a malformed placeholder: {text}",
                        lang.code()
                    ));
                }
            }
            for key in catalog.duplicates() {
                problems.push(format!("{}: {key} is written twice", lang.code()));
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
        for domain in ["cli", "help", "diag"] {
            assert!(en.keys_of(domain).count() > 40, "{domain}");
        }
    }

    #[test]
    fn french_texts_are_not_copies_of_the_english_ones() {
        // Codes, names and formats may be identical (`errinfo-name`, `sev-ok`, `ev-servers`); sentences may not:
        // a text with three plain lower-case words or more is a sentence.
        let (en, fr) = (Lang::En.catalog(), Lang::Fr.catalog());
        let words = |text: &str| {
            text.split_whitespace()
                .filter(|w| w.len() > 1 && w.chars().all(|c| c.is_ascii_lowercase()))
                .count()
        };
        let copies: Vec<&str> = en
            .keys()
            .filter(|k| {
                let e = en.pattern(k).unwrap_or_default();
                words(e) >= 3 && fr.pattern(k) == Some(e)
            })
            .collect();
        assert!(copies.is_empty(), "untranslated: {copies:#?}");
    }

    #[test]
    fn placeholders_are_filled() {
        let text = Lang::En.text(keys::ERRINFO_NAME, &[("name", "X"), ("code", "0x101")]);
        assert_eq!(text, "X (0x101)");
        assert_eq!(Lang::En.msg("no-such-key", &[]), "[no-such-key]");
        assert_eq!(Lang::Fr.text(keys::ERRINFO_NAME, &[("name", "X")]), "X ({$code})");
    }

    #[test]
    fn language_from_locale_names() {
        assert_eq!(Lang::parse("fr_FR.UTF-8"), Some(Lang::Fr));
        assert_eq!(Lang::parse("fr"), Some(Lang::Fr));
        assert_eq!(Lang::parse("en-US"), Some(Lang::En));
        assert_eq!(Lang::parse("C"), Some(Lang::En));
        assert_eq!(Lang::parse("C.UTF-8"), Some(Lang::En));
        assert_eq!(Lang::parse("de_DE"), None);
    }

    #[test]
    fn french_client_message_follows_the_article() {
        assert_eq!(
            Lang::Fr.text(keys::ERRINFO_USER_0X101, &[]),
            "La session distante a été déconnectée, car aucun serveur de licences des services Bureau à distance n’est disponible pour fournir une licence."
        );
    }
}
