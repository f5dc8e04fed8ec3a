//! The message catalogue: every user-facing text of `rdlic probe` and `rdlic diagnose`, in English and French.
//!
//! One file per language under `locales/` (`en.ftl`, `fr.ftl`), in a Fluent subset: `key = text` on one line,
//! `{ $name }` placeholders, `#` comments. The subset keeps the crate free of a Fluent runtime; the files stay
//! readable by Fluent tools. The French wording of the client-visible licensing errors follows the seed article
//! (Microsoft's French support article on "Le serveur de licences des services Bureau à distance n'est pas
//! disponible").

use std::collections::HashMap;
use std::sync::OnceLock;

const EN: &str = include_str!("../locales/en.ftl");
const FR: &str = include_str!("../locales/fr.ftl");

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
    /// `en` / `fr` (also `fr_FR.UTF-8`, `en-US`...).
    pub fn parse(text: &str) -> Option<Self> {
        let lower = text.trim().to_ascii_lowercase();
        if lower.starts_with("fr") {
            Some(Self::Fr)
        } else if lower.starts_with("en") || lower == "c" || lower == "posix" {
            Some(Self::En)
        } else {
            None
        }
    }

    /// From `LC_ALL`, `LC_MESSAGES`, `LANG` (first set and non-empty), English otherwise.
    pub fn from_env() -> Self {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|name| std::env::var(name).ok())
            .find(|v| !v.is_empty())
            .and_then(|v| Self::parse(&v))
            .unwrap_or(Self::En)
    }

    /// The catalogue of this language.
    pub fn catalog(self) -> &'static Catalog {
        static CATALOGS: OnceLock<(Catalog, Catalog)> = OnceLock::new();
        let (en, fr) = CATALOGS.get_or_init(|| (Catalog::parse(EN), Catalog::parse(FR)));
        match self {
            Self::En => en,
            Self::Fr => fr,
        }
    }

    /// Shorthand for `self.catalog().msg(key, args)`.
    pub fn msg(self, key: &str, args: &[(&str, &str)]) -> String {
        self.catalog().msg(key, args)
    }
}

/// One language's messages.
#[derive(Debug)]
pub struct Catalog {
    messages: HashMap<&'static str, &'static str>,
}

impl Catalog {
    fn parse(text: &'static str) -> Self {
        let messages = text
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .filter_map(|line| line.split_once(" = "))
            .map(|(key, value)| (key.trim(), value.trim()))
            .collect();
        Self { messages }
    }

    /// Whether the catalogue has `key`.
    pub fn has(&self, key: &str) -> bool {
        self.messages.contains_key(key)
    }

    /// Every key.
    pub fn keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.messages.keys().copied()
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
    fn both_languages_have_the_same_keys_and_placeholders() {
        let (en, fr) = (Lang::En.catalog(), Lang::Fr.catalog());
        let mut missing = Vec::new();
        for key in en.keys() {
            match fr.pattern(key) {
                None => missing.push(format!("fr lacks {key}")),
                Some(f) => {
                    let e = en.pattern(key).unwrap_or_default();
                    if placeholders(e) != placeholders(f) {
                        missing.push(format!("{key}: placeholders differ"));
                    }
                }
            }
        }
        for key in fr.keys() {
            if !en.has(key) {
                missing.push(format!("en lacks {key}"));
            }
        }
        assert!(missing.is_empty(), "{missing:#?}");
        assert!(en.keys().count() > 50);
    }

    #[test]
    fn placeholders_are_filled() {
        let text = Lang::En.msg("errinfo-name", &[("name", "X"), ("code", "0x101")]);
        assert!(!text.contains('{'), "{text}");
        assert!(text.contains("0x101") && text.contains('X'));
        assert_eq!(Lang::En.msg("no-such-key", &[]), "[no-such-key]");
    }

    #[test]
    fn language_from_locale_names() {
        assert_eq!(Lang::parse("fr_FR.UTF-8"), Some(Lang::Fr));
        assert_eq!(Lang::parse("en-US"), Some(Lang::En));
        assert_eq!(Lang::parse("C"), Some(Lang::En));
        assert_eq!(Lang::parse("de_DE"), None);
    }

    #[test]
    fn french_client_message_follows_the_article() {
        assert_eq!(
            Lang::Fr.msg("errinfo-user-0x101", &[]),
            "La session distante a été déconnectée, car aucun serveur de licences des services Bureau à distance n’est disponible pour fournir une licence."
        );
    }
}
