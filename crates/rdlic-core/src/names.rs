//! Names that RDP clients send (user, domain, client machine): the one rule shared by the session host and the
//! license server, and the escaping used wherever a name leaves rdlic as text (logs, terminal, CSV).
//!
//! # The rule
//! - **Any Unicode character is valid except control characters** (Unicode general category Cc: U+0000–U+001F,
//!   U+007F–U+009F). Non-ASCII names (`José`, `山田太郎`, ninety CJK characters) are valid.
//! - **Lengths are counted as Windows counts them: in UTF-16 code units** (a CJK character is one unit, an emoji
//!   outside the BMP is two), never in UTF-8 bytes. The limits come from the fields that carry the names:
//!
//!   | [`NameKind`] | limit (units) | where it comes from |
//!   |---|---|---|
//!   | `User` | 255 | MS-RDPBCGR 2.2.1.11.1.1 Info Packet `UserName`: at most 512 bytes including the NUL |
//!   | `Domain` | 255 | MS-RDPBCGR 2.2.1.11.1.1 Info Packet `Domain`: at most 512 bytes including the NUL |
//!   | `QualifiedUser` | 511 | `DOMAIN\user`, a domain, a backslash and a user name |
//!   | `ClientName` | 15 | MS-RDPBCGR 2.2.1.3.2 Client Core Data `clientName`: 32 bytes, 15 characters + NUL |
//!   | `MachineName` | 255 | MS-RDPELE 2.2.2.2 `ClientMachineName` (no size in the spec; the DNS name limit) |
//!   | `HostName` | 255 | a session host's name at enrollment |
//!
//! # A name outside the rule
//! - The **session host normalises** every name before it asks a license server for a CAL or reports a refusal
//!   ([`normalize`]): control characters are written as visible escapes ([`escape`]: a tab becomes the two
//!   characters `\t`), and the result is cut to the limit at a character boundary (a surrogate pair is never
//!   split). The CAL is issued for the normalised name; the raw name stays only in the host's own decision log
//!   (JSON, where it is escaped by the format).
//! - The **license server checks** names in CAL requests with [`check`] and refuses one outside the rule (400 with
//!   the field named): a normalising host never sends one. In a host's **report**, an entry whose names are
//!   outside the rule is kept, normalised the same way, instead of failing the whole report.
//! - **Output**: logs and terminal output pass names through [`escape`] (no forged log lines from a newline, no
//!   escape sequence reaching the admin's terminal; the Unicode bidirectional overrides are escaped too, so a name
//!   cannot reorder the text around it). CSV exports pass every cell through [`csv_cell`] (formula injection).

use std::borrow::Cow;

/// Which name a value is; gives its limit ([`NameKind::max_units`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameKind {
    /// A user name (Client Info `UserName`, the license request's `ClientUserName`).
    User,
    /// A logon domain (Client Info `Domain`).
    Domain,
    /// `DOMAIN\user` (per-user CALs are tracked by it).
    QualifiedUser,
    /// The client name of the GCC Client Core Data.
    ClientName,
    /// The license request's `ClientMachineName` (the CAL's subject).
    MachineName,
    /// A session host's name.
    HostName,
}

impl NameKind {
    /// Longest valid name, in UTF-16 code units.
    #[must_use]
    pub const fn max_units(self) -> usize {
        match self {
            Self::User | Self::Domain | Self::MachineName | Self::HostName => 255,
            Self::QualifiedUser => 511,
            Self::ClientName => 15,
        }
    }

    /// What the name is, for messages.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::User => "user name",
            Self::Domain => "domain",
            Self::QualifiedUser => "qualified user name",
            Self::ClientName => "client name",
            Self::MachineName => "client machine name",
            Self::HostName => "host name",
        }
    }
}

/// Why a name is outside the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// The name holds a control character.
    #[error("the {kind} holds a control character ({found}): control characters are not allowed", kind = .kind.label(), found = escape_char(*.found))]
    Control {
        /// Which name.
        kind: NameKind,
        /// The first control character.
        found: char,
    },
    /// The name is longer than its limit.
    #[error("the {kind} is {units} characters long (UTF-16 code units, as Windows counts them): at most {max}", kind = .kind.label(), max = .kind.max_units())]
    TooLong {
        /// Which name.
        kind: NameKind,
        /// Its length in UTF-16 code units.
        units: usize,
    },
}

/// Length of `s` in UTF-16 code units.
#[must_use]
pub fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// Whether `name` follows the rule for `kind`.
///
/// # Errors
/// [`NameError`] says which part of the rule the name breaks.
pub fn check(kind: NameKind, name: &str) -> Result<(), NameError> {
    if let Some(found) = name.chars().find(|c| c.is_control()) {
        return Err(NameError::Control { kind, found });
    }
    let units = utf16_len(name);
    if units > kind.max_units() {
        return Err(NameError::TooLong { kind, units });
    }
    Ok(())
}

/// The name as a session host sends it: control characters escaped ([`escape`]), then cut to the limit at a
/// character boundary. A name within the rule is returned unchanged, and the result always passes [`check`].
#[must_use]
pub fn normalize(kind: NameKind, name: &str) -> String {
    let escaped = escape_controls(name);
    truncate_units(&escaped, kind.max_units()).to_owned()
}

/// The longest prefix of `s` of at most `max` UTF-16 code units that ends on a character boundary.
#[must_use]
pub fn truncate_units(s: &str, max: usize) -> &str {
    let mut units = 0usize;
    for (i, c) in s.char_indices() {
        units += c.len_utf16();
        if units > max {
            return s.get(..i).unwrap_or_default();
        }
    }
    s
}

/// Whether `c` is escaped by [`escape`]: control characters and the bidirectional embedding, override and isolate
/// characters (U+202A–U+202E, U+2066–U+2069), which would reorder the text that follows them on a terminal.
#[must_use]
pub fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every character of [`needs_escape`] written as a visible escape (`\t`, `\n`, `\r`, otherwise
/// `\u{1b}`): safe to put in a log line or to print on a terminal. Text without such characters is borrowed.
#[must_use]
pub fn escape(s: &str) -> Cow<'_, str> {
    escape_if(s, needs_escape)
}

/// [`escape`] of control characters only (the bidirectional characters are valid in a name and kept).
fn escape_controls(s: &str) -> Cow<'_, str> {
    escape_if(s, char::is_control)
}

fn escape_if(s: &str, pred: fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(pred) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len().saturating_add(8));
    for c in s.chars() {
        if pred(c) {
            out.push_str(&escape_char(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn escape_char(c: char) -> String {
    match c {
        '\t' => "\\t".to_owned(),
        '\n' => "\\n".to_owned(),
        '\r' => "\\r".to_owned(),
        other => format!("\\u{{{:x}}}", u32::from(other)),
    }
}

/// One CSV cell, safe to open in a spreadsheet: escaped like [`escape`], and a cell that starts with `=`, `+`,
/// `-`, `@`, a tab or a carriage return gets a leading `'` so that it is not read as a formula (OWASP "CSV
/// Injection"). Quoting for the CSV syntax itself is left to the CSV writer.
#[must_use]
pub fn csv_cell(s: &str) -> Cow<'_, str> {
    let risky = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let escaped = escape(s);
    if risky {
        Cow::Owned(format!("'{escaped}"))
    } else {
        escaped
    }
}

/// A [`core::fmt::Display`] wrapper that writes a name escaped ([`escape`]): `tracing::info!(user = %Escaped(&u))`.
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(pub &'a str);

impl core::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&escape(self.0))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn non_ascii_names_are_counted_in_utf16_units() {
        let cjk: String = "山".repeat(90);
        assert_eq!(cjk.len(), 270, "more than the 256 bytes the server used to allow");
        assert_eq!(check(NameKind::User, &cjk), Ok(()));
        assert_eq!(check(NameKind::User, &"山".repeat(255)), Ok(()));
        assert_eq!(
            check(NameKind::User, &"山".repeat(256)),
            Err(NameError::TooLong { kind: NameKind::User, units: 256 })
        );
        // An emoji outside the BMP is a surrogate pair: two units, as in Windows.
        assert_eq!(utf16_len("😀"), 2);
        assert!(check(NameKind::ClientName, &"😀".repeat(8)).is_err());
        assert_eq!(check(NameKind::ClientName, "ÉCOLE-PC-015XYZ"), Ok(()));
    }

    #[test]
    fn control_characters_are_refused_and_escaped() {
        assert_eq!(check(NameKind::User, "a\tb"), Err(NameError::Control { kind: NameKind::User, found: '\t' }));
        assert!(check(NameKind::User, "x\u{85}").is_err(), "C1 controls too");
        assert_eq!(normalize(NameKind::User, "a\tb\nc"), "a\\tb\\nc");
        assert_eq!(escape("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(escape("ok\u{202E}txt"), "ok\\u{202e}txt");
        assert!(matches!(escape("plain 山田"), Cow::Borrowed(_)));
        let msg = NameError::Control { kind: NameKind::User, found: '\n' }.to_string();
        assert!(!msg.contains('\n'), "the message names the character without printing it: {msg}");
    }

    #[test]
    fn normalizing_cuts_at_a_character_boundary_and_always_passes_the_check() {
        let long = format!("{}😀", "a".repeat(14));
        assert_eq!(normalize(NameKind::ClientName, &long), "a".repeat(14), "the pair is not split");
        for name in ["a\tb", &"山".repeat(300), &"\u{0}".repeat(100), "", "bob"] {
            for kind in [NameKind::User, NameKind::ClientName, NameKind::QualifiedUser] {
                assert_eq!(check(kind, &normalize(kind, name)), Ok(()), "{kind:?} {name:?}");
            }
        }
        assert_eq!(normalize(NameKind::User, "山田太郎"), "山田太郎");
    }

    #[test]
    fn csv_cells_cannot_start_a_formula() {
        assert_eq!(csv_cell("=HYPERLINK(\"http://x\",\"y\")"), "'=HYPERLINK(\"http://x\",\"y\")");
        for lead in ["+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(csv_cell(lead).starts_with('\''), "{lead:?}");
        }
        assert_eq!(csv_cell("alice"), "alice");
        assert_eq!(csv_cell("\tx"), "'\\tx");
    }
}
