//! `rdlic diagnose` output: a table (ANSI colour when asked) and JSON, in one language.

use serde_json::{json, Value};

use crate::catalog::Lang;
use crate::checks::{ConfigChange, Diagnosis, Severity};
use crate::gather::FixReport;

fn severity_text(severity: Severity, lang: Lang) -> String {
    lang.msg(
        match severity {
            Severity::Ok => "sev-ok",
            Severity::Info => "sev-info",
            Severity::Warning => "sev-warning",
            Severity::Error => "sev-error",
        },
        &[],
    )
}

fn paint(text: &str, severity: Severity, color: bool) -> String {
    if !color {
        return text.to_owned();
    }
    let code = match severity {
        Severity::Ok => "32",
        Severity::Info => "36",
        Severity::Warning => "33",
        Severity::Error => "1;31",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// Text of a configuration change.
pub fn change_text(change: &ConfigChange) -> String {
    match change {
        ConfigChange::SetLicensingMode(mode) => format!("LicensingMode = {mode}"),
        ConfigChange::SetLicenseServers(servers) => format!("SpecifiedLicenseServers = {}", servers.join(", ")),
    }
}

/// The diagnosis as a table: one row per finding (status, check, server, evidence), then cause and fixes
/// indented under it, then the summary.
pub fn render_table(diagnosis: &Diagnosis, host_dir: &str, lang: Lang, color: bool) -> String {
    render_table_titled(diagnosis, &lang.msg("diag-title", &[("dir", host_dir)]), lang, color)
}

/// [`render_table`] under another title (a registry diagnosis names its files or disk).
pub fn render_table_titled(diagnosis: &Diagnosis, title: &str, lang: Lang, color: bool) -> String {
    let mut out = vec![title.to_owned(), String::new()];
    let status_width = [Severity::Ok, Severity::Info, Severity::Warning, Severity::Error]
        .iter()
        .map(|s| severity_text(*s, lang).chars().count())
        .max()
        .unwrap_or(7);
    let check_width = diagnosis
        .findings
        .iter()
        .map(|f| lang.msg(f.check.key(), &[]).chars().count() + f.server.as_ref().map_or(0, |s| s.chars().count() + 3))
        .max()
        .unwrap_or(10);
    for finding in &diagnosis.findings {
        let status = severity_text(finding.severity, lang);
        let padded_status = format!("{status:<status_width$}");
        let mut check = lang.msg(finding.check.key(), &[]);
        if let Some(server) = &finding.server {
            check = format!("{check} [{server}]");
        }
        out.push(format!(
            "{}  {check:<check_width$}  {}",
            paint(&padded_status, finding.severity, color),
            finding.evidence.render(lang)
        ));
        let indent = " ".repeat(status_width + 2);
        if let Some(cause) = finding.cause {
            if finding.severity >= Severity::Warning {
                out.push(format!("{indent}{}", lang.msg(cause.key(), &[])));
            }
        }
        for fix in &finding.fixes {
            let restart = if fix.restart { format!(" {}", lang.msg("label-restart", &[])) } else { String::new() };
            out.push(format!("{indent}{}: {}{restart}", lang.msg("label-fix", &[]), fix.explanation.render(lang)));
            out.push(format!("{indent}    {}", paint(&fix.command, Severity::Info, color)));
            if let Some(offline) = &fix.offline_command {
                out.push(format!("{indent}    ({}) {}", lang.msg("label-offline", &[]), paint(offline, Severity::Info, color)));
            }
        }
    }
    out.push(String::new());
    let summary_severity = if diagnosis.can_license { Severity::Ok } else { Severity::Error };
    let summary = lang.msg(if diagnosis.can_license { "summary-ok" } else { "summary-refused" }, &[]);
    out.push(paint(&summary, summary_severity, color));
    let causes = diagnosis.causes();
    if !causes.is_empty() {
        out.push(lang.msg("summary-causes", &[]));
        for cause in causes {
            out.push(format!("  - {}", lang.msg(cause.key(), &[])));
        }
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// The diagnosis as JSON: stable ids (check, severity, cause, message key and arguments) plus the rendered
/// text in `lang`.
pub fn to_json(diagnosis: &Diagnosis, host_dir: &str, lang: Lang, fix: Option<&FixReport>) -> Value {
    let findings: Vec<Value> = diagnosis
        .findings
        .iter()
        .map(|f| {
            json!({
                "check": f.check,
                "server": f.server,
                "severity": f.severity,
                "cause": f.cause,
                "article_cause": f.cause.and_then(|c| c.article_number()),
                "cause_text": f.cause.map(|c| lang.msg(c.key(), &[])),
                "evidence": f.evidence.render(lang),
                "evidence_key": f.evidence.key,
                "evidence_args": f.evidence.args.iter().map(|(k, v)| ((*k).to_owned(), Value::String(v.clone()))).collect::<serde_json::Map<_, _>>(),
                "fixes": f.fixes.iter().map(|x| json!({
                    "command": x.command,
                    "offline_command": x.offline_command,
                    "text": x.explanation.render(lang),
                    "applied_by_fix": x.apply.is_some(),
                    "restart": x.restart,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "host_dir": host_dir,
        "lang": lang,
        "can_license": diagnosis.can_license,
        "summary": lang.msg(if diagnosis.can_license { "summary-ok" } else { "summary-refused" }, &[]),
        "causes": diagnosis.causes(),
        "findings": findings,
        "fix": fix,
    })
}

/// What `--fix` did, as text.
pub fn render_fix(report: &FixReport, diagnosis: &Diagnosis, lang: Lang) -> String {
    let mut out = Vec::new();
    match &report.backup {
        Some(path) => out.push(lang.msg("fix-backup", &[("path", &path.display().to_string())])),
        None => out.push(lang.msg("fix-nothing", &[])),
    }
    for change in &report.applied {
        out.push(lang.msg("fix-applied", &[("change", &change_text(change))]));
    }
    if report.restart_needed {
        out.push(lang.msg("fix-restart", &[]));
    }
    let manual: Vec<String> = diagnosis
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Warning)
        .flat_map(|f| &f.fixes)
        .filter(|x| x.apply.as_ref().is_none_or(|c| !report.applied.contains(c)))
        .map(|x| format!("  {}", x.command))
        .collect();
    if !manual.is_empty() {
        out.push(lang.msg("fix-manual", &[]));
        let mut seen = Vec::new();
        for line in manual {
            if !seen.contains(&line) {
                out.push(line.clone());
                seen.push(line);
            }
        }
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}
