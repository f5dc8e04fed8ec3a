//! What session hosts report to the license server (schema version 3): the latest report of each host (licensing
//! mode, grace period, the findings of `rdlic diagnose`) and the refusals they decided, plus administrator
//! settings. The store keeps these bounded: one report per host, the newest [`MAX_REFUSALS`] refusals.

use crate::db::{Db, Get};
use crate::{HostId, StoreError};

/// How many refusals the store keeps (oldest dropped first), across all hosts.
pub const MAX_REFUSALS: u32 = 1000;

/// Name of the admin password hash in `admin_settings`.
const ADMIN_PASSWORD: &str = "admin-password";

/// The grace period of a host as it reported it (`rdlic grace`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedGrace {
    /// `running`, `expired`, `ended-by-permanent-cal` or `not-started` (newer hosts may send other states).
    pub state: String,
    /// Days left while running.
    pub days_left: Option<u32>,
}

/// One fix of a finding: the command to run and what it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedFix {
    /// Command line.
    pub command: String,
    /// What the command does, in the host's language.
    pub text: String,
}

/// One finding of `rdlic diagnose` on a host (the structure `rdlic diagnose --json` prints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedFinding {
    /// Stable check id (`licensing-mode`, `license-server-reachable`, ...).
    pub check: String,
    /// The license server the finding is about, if any.
    pub server: Option<String>,
    /// `ok`, `info`, `warning` or `error`.
    pub severity: String,
    /// Stable cause id, if the finding names one.
    pub cause: Option<String>,
    /// The cause in words.
    pub cause_text: Option<String>,
    /// What was observed, in words.
    pub evidence: String,
    /// How to fix it.
    pub fixes: Vec<ReportedFix>,
}

/// The latest report of one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostReport {
    /// The reporting host.
    pub host_id: HostId,
    /// Unix seconds (license server clock).
    pub received_at: i64,
    /// Licensing mode name (`per-device`, `per-user`, `not-configured`, ...).
    pub licensing_mode: String,
    /// Grace period.
    pub grace: ReportedGrace,
    /// Whether diagnose found that connections can be licensed (`None` when the host sent no diagnosis).
    pub can_license: Option<bool>,
    /// Diagnose findings, in the host's order.
    pub findings: Vec<ReportedFinding>,
}

/// One licensing refusal decided by a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedRefusal {
    /// Monotonic id given by the store (ignored when recording).
    pub id: i64,
    /// The reporting host.
    pub host_id: HostId,
    /// Its name when it reported.
    pub host_name: String,
    /// When the host refused (Unix seconds, host clock).
    pub at: i64,
    /// When the license server received it.
    pub received_at: i64,
    /// Client name (RDP client core data).
    pub client: String,
    /// User name.
    pub user: String,
    /// The host's decision (`refuse error_code=0x6 errinfo=0x101`, `refused`).
    pub decision: String,
    /// Why, in words.
    pub reason: String,
    /// ERRINFO code sent to the client (MS-RDPBCGR 2.2.5.1.1), when there was one.
    pub errinfo: Option<u32>,
    /// The license server asked last, if any.
    pub license_server: Option<String>,
}

/// Fixes as stored: one `command\ttext` line each (the API refuses control characters in both).
fn encode_fixes(fixes: &[ReportedFix]) -> String {
    fixes.iter().map(|f| format!("{}\t{}", f.command, f.text)).collect::<Vec<_>>().join("\n")
}

fn decode_fixes(text: &str) -> Vec<ReportedFix> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (command, text) = l.split_once('\t').unwrap_or((l, ""));
            ReportedFix { command: command.to_owned(), text: text.to_owned() }
        })
        .collect()
}

/// Replaces the host's report and findings, appends its refusals, drops refusals beyond [`MAX_REFUSALS`].
pub(crate) fn record(
    db: &mut dyn Db,
    report: &HostReport,
    host_name: &str,
    refusals: &[ReportedRefusal],
) -> Result<(), StoreError> {
    let host = report.host_id.0;
    let known = db.query("SELECT id FROM hosts WHERE id = $1", &[host.into()])?;
    if known.is_empty() {
        return Err(StoreError::NoSuchHost(report.host_id));
    }
    db.exec("DELETE FROM host_reports WHERE host_id = $1", &[host.into()])?;
    db.exec("DELETE FROM host_findings WHERE host_id = $1", &[host.into()])?;
    db.exec(
        "INSERT INTO host_reports (host_id, received_at, licensing_mode, grace_state, grace_days_left, can_license) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            host.into(),
            report.received_at.into(),
            report.licensing_mode.as_str().into(),
            report.grace.state.as_str().into(),
            report.grace.days_left.map(i64::from).into(),
            report.can_license.into(),
        ],
    )?;
    for (ordinal, f) in (0i64..).zip(&report.findings) {
        db.exec(
            "INSERT INTO host_findings (host_id, ordinal, check_name, server, severity, cause, cause_text, evidence, \
             fixes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                host.into(),
                ordinal.into(),
                f.check.as_str().into(),
                f.server.as_deref().into(),
                f.severity.as_str().into(),
                f.cause.as_deref().into(),
                f.cause_text.as_deref().into(),
                f.evidence.as_str().into(),
                encode_fixes(&f.fixes).into(),
            ],
        )?;
    }
    for r in refusals {
        db.exec(
            "INSERT INTO host_refusals (host_id, host_name, at, received_at, client_name, user_name, decision, reason, \
             errinfo, license_server) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                host.into(),
                host_name.into(),
                r.at.into(),
                report.received_at.into(),
                r.client.as_str().into(),
                r.user.as_str().into(),
                r.decision.as_str().into(),
                r.reason.as_str().into(),
                r.errinfo.map(i64::from).into(),
                r.license_server.as_deref().into(),
            ],
        )?;
    }
    if !refusals.is_empty() {
        // The id of the oldest refusal kept; NULL (nothing deleted) while fewer are stored.
        db.exec(
            "DELETE FROM host_refusals WHERE id < (SELECT id FROM host_refusals ORDER BY id DESC LIMIT 1 OFFSET $1)",
            &[i64::from(MAX_REFUSALS - 1).into()],
        )?;
    }
    Ok(())
}

/// The latest report of every host that reported, by host id.
pub(crate) fn reports(db: &mut dyn Db) -> Result<Vec<HostReport>, StoreError> {
    let rows = db.query(
        "SELECT host_id, received_at, licensing_mode, grace_state, grace_days_left, can_license FROM host_reports \
         ORDER BY host_id",
        &[],
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let g = Get { row, table: "host_reports" };
        let days = g.opt_int(4)?.map(|d| u32::try_from(d).map_err(|_| corrupt("host_reports", "grace_days_left")));
        out.push(HostReport {
            host_id: HostId(g.int(0)?),
            received_at: g.int(1)?,
            licensing_mode: g.text(2)?,
            grace: ReportedGrace { state: g.text(3)?, days_left: days.transpose()? },
            can_license: g.opt_int(5)?.map(|v| v != 0),
            findings: Vec::new(),
        });
    }
    let rows = db.query(
        "SELECT host_id, check_name, server, severity, cause, cause_text, evidence, fixes FROM host_findings \
         ORDER BY host_id, ordinal",
        &[],
    )?;
    for row in &rows {
        let g = Get { row, table: "host_findings" };
        let host = g.int(0)?;
        let finding = ReportedFinding {
            check: g.text(1)?,
            server: g.opt_text(2)?,
            severity: g.text(3)?,
            cause: g.opt_text(4)?,
            cause_text: g.opt_text(5)?,
            evidence: g.text(6)?,
            fixes: decode_fixes(&g.text(7)?),
        };
        if let Some(r) = out.iter_mut().find(|r| r.host_id.0 == host) {
            r.findings.push(finding);
        }
    }
    Ok(out)
}

/// The newest refusals with id > `after`, at most `limit`, newest first.
pub(crate) fn refusals(db: &mut dyn Db, after: i64, limit: u32) -> Result<Vec<ReportedRefusal>, StoreError> {
    let rows = db.query(
        "SELECT id, host_id, host_name, at, received_at, client_name, user_name, decision, reason, errinfo, \
         license_server FROM host_refusals WHERE id > $1 ORDER BY id DESC LIMIT $2",
        &[after.into(), i64::from(limit).into()],
    )?;
    rows.iter()
        .map(|row| {
            let g = Get { row, table: "host_refusals" };
            Ok(ReportedRefusal {
                id: g.int(0)?,
                host_id: HostId(g.int(1)?),
                host_name: g.text(2)?,
                at: g.int(3)?,
                received_at: g.int(4)?,
                client: g.text(5)?,
                user: g.text(6)?,
                decision: g.text(7)?,
                reason: g.text(8)?,
                errinfo: g.opt_int(9)?.map(|v| u32::try_from(v).map_err(|_| corrupt("host_refusals", "errinfo"))).transpose()?,
                license_server: g.opt_text(10)?,
            })
        })
        .collect()
}

fn corrupt(table: &'static str, column: &str) -> StoreError {
    StoreError::Corrupt { table, detail: format!("{column} out of range") }
}

/// Stores the admin password hash (replacing any previous one), audited without the hash.
pub(crate) fn set_admin_password_hash(db: &mut dyn Db, hash: &str, actor: &str, now: i64) -> Result<(), StoreError> {
    db.exec("DELETE FROM admin_settings WHERE name = $1", &[ADMIN_PASSWORD.into()])?;
    db.exec(
        "INSERT INTO admin_settings (name, value, updated_at) VALUES ($1, $2, $3)",
        &[ADMIN_PASSWORD.into(), hash.into(), now.into()],
    )?;
    crate::logic::record_audit(db, &crate::AuditKind::new(crate::AuditKind::ADMIN_PASSWORD), actor, "admin", "", now)
}

/// The admin password hash, if one was set.
pub(crate) fn admin_password_hash(db: &mut dyn Db) -> Result<Option<String>, StoreError> {
    let rows = db.query("SELECT value FROM admin_settings WHERE name = $1", &[ADMIN_PASSWORD.into()])?;
    match rows.first() {
        Some(row) => Get { row, table: "admin_settings" }.text(0).map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixes_survive_the_stored_form() {
        let fixes = vec![
            ReportedFix { command: "rdlic reg add X /v Y".into(), text: "sets the mode".into() },
            ReportedFix { command: "rdlic host enroll".into(), text: String::new() },
        ];
        assert_eq!(decode_fixes(&encode_fixes(&fixes)), fixes);
        assert!(decode_fixes("").is_empty());
    }
}
