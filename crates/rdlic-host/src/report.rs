//! The host's report to its license server (`POST /api/v1/host/report`): licensing mode, grace period, the
//! refusals decided since the last report (read from `DIR/decisions.jsonl`), and the findings of `rdlic diagnose`
//! — so that the RD Licensing Manager shows, for every host, why its clients are refused.
//!
//! [`run`] reports at start, every [`ReporterOptions::interval`], and [`ReporterOptions::debounce`] after a
//! refusal (refusals decided meanwhile go in the same report), to the first license server that accepts it, in
//! `SpecifiedLicenseServers` order. How a report travels ([`ReportSink`]) and how findings are computed
//! ([`FindingsFn`]) are given by the caller: the binary sends with `rdlic_api::client::LicenseServerClient` and
//! computes findings with `rdlic-diag` (which depends on this crate, hence the closure).
//!
//! What was sent is remembered in `DIR/report.offset` (a [`LogPosition`]: a byte offset in one file of the decision
//! log and that file's identity, so that it survives a rotation), written only after a license server accepted the
//! report: a refusal is reported once, also across restarts, and never lost while no license server answers.
//!
//! A report that a license server refuses for its content (HTTP 400, 413 or 422: it would be refused again, for
//! ever) is logged and skipped: the offset moves past it and the next report goes on. Names are normalised before
//! they are sent ([`rdlic_core::names::normalize`]), so a name that the rule refuses does not cause that.
//!
//! The same loop renews the host's enrollment certificate when less than [`RENEW_BEFORE_DAYS`] days remain
//! ([`ReportSink::renew_certificate`]).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

use rdlic_core::names::{self, Escaped, NameKind};

use crate::config::HostConfig;
use crate::decisionlog::{self, LogPosition};
use crate::grace::{Clock, GraceRecord, GraceStatus};
use crate::HostStatus;
#[cfg(test)]
use crate::DECISION_LOG_FILE;

/// A boxed future (object-safe async trait methods).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where the byte offset of the decision log already reported is kept.
pub const REPORT_OFFSET_FILE: &str = "report.offset";
/// After a failed report, the next attempt comes this soon (or at the next interval if that is sooner).
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(60);
/// Most refusals in one report; more are sent in the reports that follow at once.
pub const MAX_REFUSALS_PER_REPORT: usize = 200;

/// Diagnose findings for a report: `findings` are the objects of `rdlic diagnose --json` (`findings[]`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Findings {
    /// Whether a client connecting now would be licensed.
    pub can_license: Option<bool>,
    /// One JSON object per finding (check, server, severity, cause, cause_text, evidence, fixes).
    pub findings: Vec<serde_json::Value>,
}

/// Computes the findings for the next report (`None` when they cannot be computed now: the report goes without).
pub type FindingsFn = Arc<dyn Fn() -> BoxFuture<'static, Option<Findings>> + Send + Sync>;

/// The host renews its enrollment certificate when it ends in less than this many days.
pub const RENEW_BEFORE_DAYS: u32 = 30;

/// Why a license server did not take a report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The server refused the report's content (HTTP 400, 413, 422): sending it again would fail again.
    #[error("refused: {0}")]
    Refused(String),
    /// Anything else (unreachable, 5xx, 401/403): the report is sent again later.
    #[error("{0}")]
    Failed(String),
}

/// One license server a report can be sent to.
pub trait ReportSink: Send + Sync + std::fmt::Debug {
    /// Its name, for the log.
    fn name(&self) -> &str;
    /// Sends the report body (JSON).
    fn send<'a>(&'a self, body: &'a [u8]) -> BoxFuture<'a, Result<(), SendError>>;
    /// Renews the host's enrollment certificate with this server when it ends less than `within_days` days after
    /// `now` (Unix seconds, host clock): `Ok(true)` when renewed, `Ok(false)` when not due (or not supported).
    fn renew_certificate(&self, now: i64, within_days: u32) -> BoxFuture<'_, Result<bool, String>> {
        let _ = (now, within_days);
        Box::pin(async { Ok(false) })
    }
}

/// When and what to report.
#[derive(Debug, Clone)]
pub struct ReporterOptions {
    /// Host data directory (`host.toml`, `grace.toml`, `decisions.jsonl`).
    pub dir: PathBuf,
    /// The host configuration in force (mode, grace period length).
    pub config: HostConfig,
    /// The host clock.
    pub clock: Clock,
    /// Time between two reports.
    pub interval: Duration,
    /// Wait after a refusal before reporting, so that a burst of refusals goes in one report.
    pub debounce: Duration,
}

/// Why a report could not be built or sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The grace record could not be read.
    #[error(transparent)]
    Grace(#[from] crate::grace::GraceError),
    /// The decision log or the offset file could not be read or written.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// No license server is configured to report to.
    #[error("no license server to report to: list one in SpecifiedLicenseServers and enroll with it")]
    NoServer,
    /// Every license server refused or could not be reached.
    #[error("no license server accepted the report: {0}")]
    NotAccepted(String),
}

/// The report body (the wire form of `POST /api/v1/host/report`).
#[derive(Debug, Clone, Serialize)]
pub struct ReportBody {
    /// Licensing mode name.
    pub licensing_mode: String,
    /// Grace period.
    pub grace: GraceBody,
    /// Whether a client connecting now would be licensed (from diagnose).
    pub can_license: Option<bool>,
    /// Diagnose findings.
    pub findings: Vec<serde_json::Value>,
    /// Refusals since the last report, oldest first.
    pub refusals: Vec<RefusalBody>,
}

/// Grace period in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GraceBody {
    /// `running`, `expired`, `ended-by-permanent-cal`, `not-started`.
    pub state: &'static str,
    /// Days left while running.
    pub days_left: Option<u32>,
}

/// One refusal in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusalBody {
    /// Unix seconds, host clock.
    pub at: i64,
    /// Client name.
    pub client: String,
    /// User.
    pub user: String,
    /// The decision (`refuse error_code=0x6 errinfo=0x101`, `refused`).
    pub decision: String,
    /// Why.
    pub reason: String,
    /// ERRINFO sent to the client (MS-RDPBCGR 2.2.5.1.1), parsed from the decision.
    pub errinfo: Option<u32>,
    /// License server asked last.
    pub license_server: Option<String>,
}

/// Refusals read from the decision log and the position after the last line they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRefusals {
    /// Oldest first, at most [`MAX_REFUSALS_PER_REPORT`].
    pub refusals: Vec<RefusalBody>,
    /// Position to record once they are reported.
    pub next: LogPosition,
    /// Whether more lines remain after `next`.
    pub more: bool,
}

/// `errinfo=0x101` in a decision text.
fn errinfo_of(decision: &str) -> Option<u32> {
    let hex = decision.split_whitespace().find_map(|w| w.strip_prefix("errinfo="))?;
    u32::from_str_radix(hex.trim_start_matches("0x"), 16).ok()
}

/// At most this much of the decision log is read per report (about 3,000 decisions): the log only grows, a report
/// reads from where the last accepted one stopped.
const MAX_LOG_READ: u64 = 1 << 20;

/// Refusals in the decision log from `position` on: in the file it names (found under its current name after a
/// rotation; from the oldest kept file if it was rotated away), then in the newer files. A position without a file
/// is in the current `decisions.jsonl` (read from the start if the file is shorter: it was replaced).
pub fn read_refusals(dir: &Path, position: &LogPosition) -> Result<PendingRefusals, ReportError> {
    let files = decisionlog::files_oldest_first(dir);
    let last = files.len().saturating_sub(1);
    let (index, offset) = match &position.file {
        None => (last, position.offset),
        Some(id) => match files.iter().position(|(_, f)| f.as_deref() == Some(id.as_str())) {
            Some(i) => (i, position.offset),
            None => {
                tracing::warn!("the decision log part last reported was rotated away: reporting from the oldest kept part");
                (0, 0)
            }
        },
    };
    let Some((path, id)) = files.get(index) else {
        return Ok(PendingRefusals { refusals: Vec::new(), next: LogPosition::default(), more: false });
    };
    let rotated = index < last;
    let part = read_part(path, offset, rotated)?;
    if rotated && part.at_end {
        // This rotated part is done: go on at the start of the next newer one.
        let (_, next_id) = files.get(index + 1).cloned().unwrap_or_default();
        return Ok(PendingRefusals { refusals: part.refusals, next: LogPosition { file: next_id, offset: 0 }, more: true });
    }
    Ok(PendingRefusals {
        refusals: part.refusals,
        next: LogPosition { file: id.clone(), offset: part.next_offset },
        more: part.more,
    })
}

struct Part {
    refusals: Vec<RefusalBody>,
    next_offset: u64,
    more: bool,
    /// Everything of the file was read (a rotated part does not grow any more).
    at_end: bool,
}

/// Refusals of one file from `offset` (from the start if the file is shorter). A `rotated` part is complete: a
/// last line without its newline (a crash while writing) is stepped over.
fn read_part(path: &Path, offset: u64, rotated: bool) -> Result<Part, ReportError> {
    use std::io::{Read as _, Seek as _};
    let io = |e: std::io::Error| ReportError::Io(path.to_owned(), e);
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Part { refusals: Vec::new(), next_offset: 0, more: false, at_end: true })
        }
        Err(e) => return Err(io(e)),
    };
    let len = file.metadata().map_err(io)?.len();
    let start = if offset > len { 0 } else { offset };
    file.seek(std::io::SeekFrom::Start(start)).map_err(io)?;
    let mut text = Vec::new();
    file.take(MAX_LOG_READ).read_to_end(&mut text).map_err(io)?;
    let read_all = start.saturating_add(u64::try_from(text.len()).unwrap_or(u64::MAX)) >= len;
    let mut pos = 0usize;
    let mut refusals = Vec::new();
    // Only complete lines: the host may be writing the last one.
    while let Some(end) = text.get(pos..).and_then(|rest| rest.iter().position(|b| *b == b'\n')).map(|i| pos + i) {
        if refusals.len() >= MAX_REFUSALS_PER_REPORT {
            break;
        }
        let line = text.get(pos..end).unwrap_or_default();
        pos = end + 1;
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) else { continue };
        let field = |name: &str| v.get(name).and_then(|x| x.as_str()).unwrap_or_default().to_owned();
        let decision = field("decision");
        if !decision.starts_with("refuse") {
            continue;
        }
        // The names as the rule allows them (a tab written as `\t`, cut to the limit), texts escaped.
        refusals.push(RefusalBody {
            at: v.get("at").and_then(serde_json::Value::as_i64).unwrap_or(0),
            client: names::normalize(NameKind::MachineName, &field("client")),
            user: names::normalize(NameKind::QualifiedUser, &field("user")),
            errinfo: errinfo_of(&decision),
            decision: names::escape(&decision).into_owned(),
            reason: names::escape(&field("reason")).into_owned(),
            license_server: v.get("license_server").and_then(|x| x.as_str()).map(|s| names::escape(s).into_owned()),
        });
    }
    let rest_has_line = text.get(pos..).is_some_and(|rest| rest.contains(&b'\n'));
    if pos == 0 && !read_all && !text.contains(&b'\n') {
        // A "line" longer than a whole read is not a decision: step over it rather than stall on it.
        pos = text.len();
    } else if rotated && read_all && !rest_has_line {
        // The unterminated end of a rotated part will never be completed.
        pos = text.len();
    }
    let more = text.get(pos..).is_some_and(|rest| rest.contains(&b'\n')) || !read_all;
    let next_offset = start.saturating_add(u64::try_from(pos).unwrap_or(u64::MAX));
    Ok(Part { refusals, next_offset, more, at_end: next_offset >= len })
}

fn read_offset(dir: &Path) -> LogPosition {
    std::fs::read_to_string(dir.join(REPORT_OFFSET_FILE)).ok().and_then(|s| LogPosition::parse(&s)).unwrap_or_default()
}

fn write_offset(dir: &Path, position: &LogPosition) -> Result<(), ReportError> {
    let path = dir.join(REPORT_OFFSET_FILE);
    let tmp = dir.join(format!("{REPORT_OFFSET_FILE}.tmp"));
    std::fs::write(&tmp, position.to_text())
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| ReportError::Io(path, e))
}

/// Mode and grace period now.
pub fn host_state(options: &ReporterOptions) -> Result<(String, GraceBody), ReportError> {
    let mode = if options.config.session_host_role() {
        options.config.mode().map(|m| m.name().to_owned()).unwrap_or_else(|_| "invalid".to_owned())
    } else {
        "remote-administration".to_owned()
    };
    let now = options.clock.now();
    let grace = match GraceRecord::load(&options.dir)? {
        None => GraceBody { state: "not-started", days_left: Some(options.config.grace_period_days) },
        Some(record) => match record.status(now, options.config.grace_period_days) {
            GraceStatus::Running { days_left, .. } => GraceBody { state: "running", days_left: Some(days_left) },
            GraceStatus::Expired { .. } => GraceBody { state: "expired", days_left: Some(0) },
            GraceStatus::EndedByPermanentCal { .. } => GraceBody { state: "ended-by-permanent-cal", days_left: None },
        },
    };
    Ok((mode, grace))
}

/// Builds one report and sends it to the first sink that accepts it; records the offset. Returns how many
/// refusals were reported and whether more are waiting.
pub async fn report_once(
    options: &ReporterOptions,
    sinks: &[Arc<dyn ReportSink>],
    findings: &FindingsFn,
) -> Result<(usize, bool), ReportError> {
    if sinks.is_empty() {
        return Err(ReportError::NoServer);
    }
    let (mode, grace) = host_state(options)?;
    let dir = options.dir.clone();
    let pending = tokio::task::spawn_blocking(move || read_refusals(&dir, &read_offset(&dir)))
        .await
        .map_err(|e| ReportError::NotAccepted(format!("reading the decision log failed: {e}")))??;
    let diagnosis = findings().await.unwrap_or_default();
    let body = ReportBody {
        licensing_mode: mode,
        grace,
        can_license: diagnosis.can_license,
        findings: diagnosis.findings,
        refusals: pending.refusals,
    };
    let bytes = serde_json::to_vec(&body).map_err(|e| ReportError::NotAccepted(e.to_string()))?;
    let mut failures = Vec::new();
    let mut refused = false;
    for sink in sinks {
        match sink.send(&bytes).await {
            Ok(()) => {
                write_offset(&options.dir, &pending.next)?;
                tracing::debug!(license_server = sink.name(), refusals = body.refusals.len(), "host report sent");
                return Ok((body.refusals.len(), pending.more));
            }
            Err(e) => {
                refused |= matches!(e, SendError::Refused(_));
                failures.push(format!("{}: {e}", sink.name()));
            }
        }
    }
    if refused {
        // Sending it again would be refused again: skip it, so that the reports after it still go.
        let reasons = failures.join("; ");
        tracing::warn!(
            reasons = %Escaped(&reasons),
            skipped_refusals = body.refusals.len(),
            "a license server refused this report's content: it is skipped and the next report goes on after it"
        );
        write_offset(&options.dir, &pending.next)?;
        return Ok((0, pending.more));
    }
    Err(ReportError::NotAccepted(failures.join("; ")))
}

/// Renews the enrollment certificate with the first license server that answers, when it is due.
pub async fn renew_certificate(sinks: &[Arc<dyn ReportSink>], now: i64) {
    for sink in sinks {
        match sink.renew_certificate(now, RENEW_BEFORE_DAYS).await {
            Ok(true) => {
                tracing::info!(license_server = sink.name(), "host enrollment certificate renewed");
                return;
            }
            Ok(false) => return,
            Err(error) => {
                tracing::warn!(license_server = sink.name(), error = %Escaped(&error), "cannot renew the host certificate here");
            }
        }
    }
}

/// The last decision of the status, when it is new and a refusal.
fn new_refusal(status: &HostStatus, last: &mut Option<(usize, crate::DecisionRecord)>) -> bool {
    let current = status.decisions.back().map(|d| (status.decisions.len(), d.clone()));
    if current == *last {
        return false;
    }
    *last = current;
    last.as_ref().is_some_and(|(_, d)| d.decision.starts_with("refuse"))
}

/// Reports at start, every `interval`, and `debounce` after a refusal, until the task is dropped.
pub async fn run(
    options: ReporterOptions,
    sinks: Vec<Arc<dyn ReportSink>>,
    findings: FindingsFn,
    mut status: watch::Receiver<HostStatus>,
) {
    if sinks.is_empty() {
        tracing::info!("no enrolled license server: this host does not report to a license server");
        return;
    }
    let mut last = {
        let now = status.borrow();
        now.decisions.back().map(|d| (now.decisions.len(), d.clone()))
    };
    let mut status_open = true;
    let mut next = tokio::time::Instant::now();
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(next) => {}
            changed = status.changed(), if status_open => {
                if changed.is_err() {
                    status_open = false;
                } else if new_refusal(&status.borrow_and_update(), &mut last) {
                    let soon = tokio::time::Instant::now() + options.debounce;
                    next = next.min(soon);
                }
                continue;
            }
        }
        next = tokio::time::Instant::now() + options.interval;
        renew_certificate(&sinks, i64::try_from(options.clock.now()).unwrap_or(i64::MAX)).await;
        match report_once(&options, &sinks, &findings).await {
            Ok((_, true)) => next = tokio::time::Instant::now(),
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "cannot report to a license server; retrying");
                next = tokio::time::Instant::now() + options.interval.min(RETRY_AFTER_FAILURE);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn line(decision: &str, client: &str) -> String {
        format!(
            "{}\n",
            serde_json::json!({ "at": 1_780_000_000, "client": client, "user": "alice", "decision": decision,
                "reason": "why", "license_server": "https://ls1:8443", "events": [] })
        )
    }

    #[test]
    fn a_long_log_is_read_a_bounded_piece_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let one = line("valid-client", "PC0");
        let n = usize::try_from(MAX_LOG_READ).unwrap() / one.len() + 100;
        let mut text = one.repeat(n);
        text.push_str(&line("refuse error_code=0x6 errinfo=0x101", "LATE"));
        std::fs::write(dir.path().join(DECISION_LOG_FILE), &text).unwrap();
        let len = u64::try_from(text.len()).unwrap();

        let first = read_refusals(dir.path(), &LogPosition::default()).unwrap();
        assert!(first.refusals.is_empty());
        assert!(first.more, "the rest of the log is still to be read");
        assert!(first.next.offset > 0 && first.next.offset <= MAX_LOG_READ && first.next.offset < len);
        assert_eq!(first.next.offset % u64::try_from(one.len()).unwrap(), 0, "stops at a line end");

        let second = read_refusals(dir.path(), &first.next).unwrap();
        assert_eq!(second.refusals.len(), 1);
        assert_eq!(second.refusals[0].client, "LATE");
        assert_eq!((second.next.offset, second.more), (len, false));
    }

    #[test]
    fn refusals_are_read_once_from_the_offset() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join(DECISION_LOG_FILE);
        let mut text = line("issue-new temporary", "PC0");
        text.push_str(&line("refuse error_code=0x6 errinfo=0x101", "PC1"));
        text.push_str(&line("refused", "PC2"));
        std::fs::write(&log, &text).unwrap();
        let p = read_refusals(dir.path(), &LogPosition::default()).unwrap();
        assert_eq!(p.refusals.iter().map(|r| r.client.as_str()).collect::<Vec<_>>(), ["PC1", "PC2"]);
        assert_eq!((p.refusals[0].errinfo, p.refusals[1].errinfo), (Some(0x101), None));
        assert_eq!(p.next.offset, u64::try_from(text.len()).unwrap());
        assert!(!p.more);
        // Nothing new after the offset; a partial last line waits for its newline.
        assert!(read_refusals(dir.path(), &p.next).unwrap().refusals.is_empty());
        let partial = line("refuse error_code=0x8 errinfo=0x102", "PC3");
        std::fs::write(&log, format!("{text}{}", &partial[..20])).unwrap();
        let q = read_refusals(dir.path(), &p.next).unwrap();
        assert!(q.refusals.is_empty());
        assert_eq!(q.next.offset, p.next.offset);
        // A log shorter than the offset was replaced: read from the start.
        std::fs::write(&log, line("refused", "PC9")).unwrap();
        assert_eq!(read_refusals(dir.path(), &p.next).unwrap().refusals[0].client, "PC9");
    }

    #[test]
    fn a_long_backlog_goes_in_several_reports() {
        let dir = tempfile::tempdir().unwrap();
        let text: String = (0..MAX_REFUSALS_PER_REPORT + 3).map(|i| line("refused", &format!("PC{i}"))).collect();
        std::fs::write(dir.path().join(DECISION_LOG_FILE), text).unwrap();
        let first = read_refusals(dir.path(), &LogPosition::default()).unwrap();
        assert_eq!(first.refusals.len(), MAX_REFUSALS_PER_REPORT);
        assert!(first.more);
        let second = read_refusals(dir.path(), &first.next).unwrap();
        assert_eq!(second.refusals.len(), 3);
        assert!(!second.more);
        assert_eq!(second.refusals[0].client, format!("PC{MAX_REFUSALS_PER_REPORT}"));
    }

    #[test]
    fn the_position_survives_a_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join(DECISION_LOG_FILE);
        std::fs::write(&log, format!("{}{}", line("refused", "A1"), line("refused", "A2"))).unwrap();
        let first = read_refusals(dir.path(), &LogPosition::default()).unwrap();
        assert_eq!(first.refusals.len(), 2);
        // More is written, then the file is rotated and a new one started, before the next report.
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        std::io::Write::write_all(&mut f, line("refused", "A3").as_bytes()).unwrap();
        drop(f);
        decisionlog::rotate(dir.path(), 3).unwrap();
        std::fs::write(&log, line("refused", "B1")).unwrap();
        let second = read_refusals(dir.path(), &first.next).unwrap();
        assert_eq!(second.refusals.iter().map(|r| r.client.as_str()).collect::<Vec<_>>(), ["A3"], "the rest of the rotated part");
        assert!(second.more);
        let third = read_refusals(dir.path(), &second.next).unwrap();
        assert_eq!(third.refusals.iter().map(|r| r.client.as_str()).collect::<Vec<_>>(), ["B1"], "then the new file");
        assert!(!third.more);
        assert!(read_refusals(dir.path(), &third.next).unwrap().refusals.is_empty(), "each refusal once");
    }

    #[derive(Debug)]
    struct Refusing;

    impl ReportSink for Refusing {
        fn name(&self) -> &str {
            "refusing"
        }
        fn send<'a>(&'a self, _body: &'a [u8]) -> BoxFuture<'a, Result<(), SendError>> {
            Box::pin(async { Err(SendError::Refused("HTTP 400: bad report".into())) })
        }
    }

    #[tokio::test]
    async fn a_report_refused_for_its_content_is_skipped_not_sent_for_ever() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("{}{}", line("refused", "PC\tONE"), line("refused", "PC2"));
        std::fs::write(dir.path().join(DECISION_LOG_FILE), &text).unwrap();
        let pending = read_refusals(dir.path(), &LogPosition::default()).unwrap();
        assert_eq!(pending.refusals[0].client, "PC\\tONE", "the tab is sent escaped");
        let options = ReporterOptions {
            dir: dir.path().to_owned(),
            config: HostConfig::default(),
            clock: Clock::default(),
            interval: Duration::from_secs(60),
            debounce: Duration::from_secs(1),
        };
        let sinks: Vec<Arc<dyn ReportSink>> = vec![Arc::new(Refusing)];
        let findings: FindingsFn = Arc::new(|| Box::pin(async { None }));
        let (sent, more) = report_once(&options, &sinks, &findings).await.unwrap();
        assert_eq!((sent, more), (0, false));
        assert_eq!(read_offset(dir.path()).offset, u64::try_from(text.len()).unwrap(), "the offset moved past it");
    }

    #[test]
    fn errinfo_is_parsed_from_the_decision() {
        assert_eq!(errinfo_of("refuse error_code=0x8 errinfo=0x109"), Some(0x109));
        assert_eq!(errinfo_of("refused"), None);
        assert_eq!(errinfo_of("refuse errinfo=zz"), None);
    }
}
