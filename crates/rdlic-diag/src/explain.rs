//! Meanings of the licensing codes a server sends, the messages users see for them, and the probe report as text.
//!
//! * Error Alert `dwErrorCode` / `dwStateTransition`: MS-RDPBCGR 2.2.1.12.1.3 (`rdpele::pdu::{ErrorCode,
//!   StateTransition}`).
//! * Set Error Info `errorInfo` of the licensing range: MS-RDPBCGR 2.2.5.1.1 (`rdpele::server::ErrorInfo`); the
//!   client-visible message is the one mstsc shows (in French, the seed article's wording).

use rdpele::pdu::{ErrorCode, StateTransition};
use rdpele::server::ErrorInfo;
use serde::Serialize;

use crate::catalog::Lang;
use crate::probe::{AfterLicensing, LicensingResult, ProbeReport};

/// A code with its name and meaning in one language.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Explained {
    /// Numeric value
    pub code: u32,
    /// Constant name (`ERR_NO_LICENSE_SERVER`, `ERRINFO_LICENSE_NO_LICENSE_SERVER`...)
    pub name: String,
    /// What it means
    pub meaning: String,
    /// What the user sees in the client (ERRINFO only)
    pub user_message: Option<String>,
}

fn catalog_or(lang: Lang, key: &str, fallback_key: &str, args: &[(&str, &str)]) -> String {
    if lang.catalog().has(key) {
        lang.msg(key, args)
    } else {
        lang.msg(fallback_key, args)
    }
}

/// An Error Alert `dwErrorCode`.
pub fn error_code(code: u32, lang: Lang) -> Explained {
    let hex = format!("{code:#x}");
    Explained {
        code,
        name: ErrorCode(code).name().map_or_else(|| format!("ErrorCode({hex})"), str::to_owned),
        meaning: catalog_or(lang, &format!("alert-{hex}"), "alert-unknown", &[("code", &hex)]),
        user_message: None,
    }
}

/// An Error Alert `dwStateTransition`.
pub fn state_transition(code: u32, lang: Lang) -> Explained {
    let hex = format!("{code:#x}");
    Explained {
        code,
        name: StateTransition(code).name().map_or_else(|| format!("StateTransition({hex})"), str::to_owned),
        meaning: catalog_or(lang, &format!("st-{hex}"), "st-unknown", &[("code", &hex)]),
        user_message: None,
    }
}

/// A Set Error Info code.
pub fn error_info(code: u32, lang: Lang) -> Explained {
    let hex = format!("{code:#x}");
    let name = ErrorInfo(code).name().map_or_else(|| format!("ERRINFO({code:#010x})"), str::to_owned);
    let user_key = format!("errinfo-user-{hex}");
    Explained {
        code,
        name,
        meaning: catalog_or(lang, &format!("errinfo-{hex}"), "errinfo-unknown", &[("code", &hex)]),
        user_message: lang.catalog().has(&user_key).then(|| lang.msg(&user_key, &[])),
    }
}

fn yes_no(lang: Lang, value: bool) -> String {
    lang.msg(if value { "word-yes" } else { "word-no" }, &[])
}

fn date(unix: i64) -> String {
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = rdpele::der::civil_from_days(unix.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", secs / 3600, (secs % 3600) / 60)
}

/// The probe report as text, one fact per line.
pub fn render_probe(report: &ProbeReport, lang: Lang) -> String {
    let mut out = Vec::new();
    let address = report.address.clone().unwrap_or_else(|| "?".into());
    out.push(lang.msg("probe-title", &[("target", &report.target), ("address", &address)]));
    out.push(lang.msg(
        "probe-client",
        &[("client", &report.client_hostname), ("user", &report.user), ("admin", &yes_no(lang, report.admin))],
    ));
    if let Some(protocol) = &report.security_protocol {
        let tls = report.tls.clone().unwrap_or_default();
        out.push(lang.msg("probe-security", &[("protocol", protocol), ("tls", &tls)]));
    }
    out.push(lang.msg("probe-phases", &[]));
    for phase in &report.phases {
        let name = lang.msg(&format!("phase-{}", phase.phase), &[]);
        out.push(format!("    {name:<48} {:>9.2} ms", phase.millis));
    }
    out.push(format!("    {:<48} {:>9.2} ms", lang.msg("phase-total", &[]), report.total_millis));
    if let Some(request) = &report.license_request {
        let bits = request.key_bits.map(|b| b.to_string()).unwrap_or_else(|| "?".into());
        let cert_key = format!("cert-{}", request.certificate);
        let certificate =
            if lang.catalog().has(&cert_key) { lang.msg(&cert_key, &[]) } else { request.certificate.clone() };
        out.push(lang.msg(
            "probe-license-request",
            &[
                ("product", &request.product_id),
                ("company", &request.company),
                ("version", &format!("{:#010x}", request.version)),
                ("scopes", &request.scopes.join(", ")),
                ("certificate", &certificate),
                ("bits", &bits),
                ("preamble", &format!("{}.0", request.preamble_version)),
            ],
        ));
    }
    if report.license_request.is_none() && !matches!(report.licensing, LicensingResult::Incomplete) {
        out.push(lang.msg("probe-no-license-request", &[]));
    }
    if let Some(path) = &report.presented_stored_cal {
        out.push(lang.msg("probe-presented", &[("path", &path.display().to_string())]));
    }
    out.extend(render_licensing(report, lang));
    if let Some(code) = report.error_info {
        let e = error_info(code, lang);
        out.push(lang.msg(
            "probe-errinfo",
            &[("name", &e.name), ("code", &format!("{code:#010x}")), ("meaning", &e.meaning)],
        ));
        if let Some(user) = &e.user_message {
            out.push(lang.msg("probe-user-sees", &[("message", user)]));
        }
    }
    let after_key = match report.after_licensing {
        AfterLicensing::DemandActive => "after-demand-active",
        AfterLicensing::Disconnected => "after-disconnected",
        AfterLicensing::Timeout => "after-timeout",
        AfterLicensing::NotReached => "after-not-reached",
    };
    out.push(lang.msg("probe-after", &[("what", &lang.msg(after_key, &[]))]));
    for error in &report.store_errors {
        out.push(lang.msg("probe-store-error", &[("error", error)]));
    }
    if let Some(failure) = &report.failure {
        out.push(lang.msg("probe-failure", &[("error", &failure.message)]));
    }
    out.push(lang.msg(if report.admitted() { "probe-verdict-admitted" } else { "probe-verdict-refused" }, &[]));
    let mut text = out.join("\n");
    text.push('\n');
    text
}

fn render_licensing(report: &ProbeReport, lang: Lang) -> Vec<String> {
    let mut out = Vec::new();
    match &report.licensing {
        LicensingResult::ValidClient => out.push(lang.msg("licensing-valid-client", &[])),
        LicensingResult::NewLicense(license) | LicensingResult::UpgradeLicense(license) => {
            let key = if matches!(report.licensing, LicensingResult::NewLicense(_)) {
                "licensing-new-license"
            } else {
                "licensing-upgrade-license"
            };
            out.push(lang.msg(
                key,
                &[
                    ("product", &license.product_id),
                    ("company", &license.company),
                    ("scope", &license.scope),
                    ("version", &format!("{:#010x}", license.version)),
                    ("size", &license.size.to_string()),
                ],
            ));
            match (&license.cal, &license.cal_error) {
                (Some(cal), _) => {
                    let kind = lang.msg(&format!("cal-kind-{}", cal.kind), &[]);
                    out.push(lang.msg(
                        "licensing-cal",
                        &[
                            ("kind", &kind),
                            ("from", &date(cal.not_before)),
                            ("until", &date(cal.not_after)),
                            ("issuer", &cal.issuer),
                            ("issuer_scope", &cal.issuer_scope),
                            ("product", &cal.product),
                            ("product_version", &cal.product_version),
                            ("machine", &cal.client_machine),
                            ("user", &cal.client_user),
                        ],
                    ));
                }
                (None, Some(error)) => out.push(lang.msg("licensing-cal-undecodable", &[("error", error)])),
                (None, None) => {}
            }
            if let Some(path) = &license.stored_in {
                out.push(lang.msg("licensing-stored", &[("path", &path.display().to_string())]));
            }
        }
        LicensingResult::ErrorAlert { error_code: code, state_transition: st } => {
            let e = error_code(*code, lang);
            let s = state_transition(*st, lang);
            let key = if *st == StateTransition::ST_TOTAL_ABORT.0 { "licensing-refused" } else { "licensing-alert" };
            out.push(lang.msg(
                key,
                &[
                    ("name", &e.name),
                    ("code", &format!("{code:#x}")),
                    ("meaning", &e.meaning),
                    ("st_name", &s.name),
                    ("st_meaning", &s.meaning),
                ],
            ));
        }
        LicensingResult::ProtocolError { detail } => out.push(lang.msg("licensing-protocol-error", &[("detail", detail)])),
        LicensingResult::Skipped => out.push(lang.msg("licensing-skipped", &[])),
        LicensingResult::Incomplete => out.push(lang.msg("licensing-incomplete", &[])),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_licensing_errinfo_has_a_meaning_and_user_message_in_both_languages() {
        for code in 0x100..=0x10A {
            for lang in [Lang::En, Lang::Fr] {
                let e = error_info(code, lang);
                assert!(e.name.starts_with("ERRINFO_LICENSE_"), "{e:?}");
                assert!(!e.meaning.starts_with('['), "{lang:?} {code:#x}: {e:?}");
                let user = e.user_message.unwrap_or_default();
                assert!(!user.is_empty() && !user.starts_with('['), "{lang:?} {code:#x}");
            }
        }
        assert_eq!(
            error_info(0x101, Lang::En).user_message.as_deref(),
            Some("The remote session was disconnected because there are no Remote Desktop License Servers available to provide a license.")
        );
        let unknown = error_info(0x9999, Lang::Fr);
        assert!(unknown.meaning.contains("0x9999") && unknown.user_message.is_none());
    }

    #[test]
    fn error_alert_codes_and_transitions_are_explained() {
        for code in [1, 2, 3, 4, 6, 7, 8, 0xB, 0xC] {
            for lang in [Lang::En, Lang::Fr] {
                let e = error_code(code, lang);
                assert!(!e.name.starts_with("ErrorCode") && !e.meaning.starts_with('['), "{e:?}");
            }
        }
        for st in 1..=4 {
            assert!(!state_transition(st, Lang::Fr).meaning.starts_with('['));
        }
        assert_eq!(error_code(6, Lang::En).name, "ERR_NO_LICENSE_SERVER");
    }

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(date(0), "1970-01-01 00:00 UTC");
        assert_eq!(date(1_780_000_000), "2026-05-28 20:26 UTC");
    }
}
