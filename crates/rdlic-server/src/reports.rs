//! What session hosts report, and the admin login — handlers of the [`crate::api`] router kept in their own file.
//!
//! - `POST /api/v1/host/report` (enrolled host, mutual TLS): the host's licensing mode, grace period, the findings
//!   of `rdlic diagnose` and the refusals it decided since its last report. The store keeps the latest report per
//!   host and the newest [`rdlic_store::MAX_REFUSALS`] refusals.
//! - `GET /api/v1/admin/refusals?after=ID&limit=N`: refusals, newest first (poll with the newest id seen).
//! - `GET /api/v1/admin/hosts`: enrolled hosts with their latest report; `GET /api/v1/admin/hosts/{id}/report`.
//! - `POST /api/v1/admin/login {"password"}`: the admin token for the password set by `rdlic server init`.
//!
//! A child module of `api`, so it shares its state and authentication helpers.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use rdlic_store::{HostId, HostReport, ReportedFinding, ReportedFix, ReportedGrace, ReportedRefusal};
use serde::{Deserialize, Serialize};

use super::{host_json, now, require_admin, require_host, ApiJson, AppState, Peer};
use crate::error::ApiError;

/// Most findings in one report.
pub const MAX_FINDINGS: usize = 200;
/// Most refusals in one report (a host that has more sends them over several reports).
pub const MAX_REPORTED_REFUSALS: usize = 1000;
/// Longest accepted text of a finding or refusal (evidence, reason, fix text).
const MAX_TEXT: usize = 2048;
/// Longest accepted identifier (check, cause, severity, mode, grace state).
const MAX_ID: usize = 64;
/// Grace period states a host may report (`rdlic grace`).
pub const GRACE_STATES: [&str; 4] = ["running", "expired", "ended-by-permanent-cal", "not-started"];
/// Severities of diagnose findings.
pub const SEVERITIES: [&str; 4] = ["ok", "info", "warning", "error"];

/// `POST /api/v1/host/report`: what a session host sends. Findings are the objects of `rdlic diagnose --json`
/// (`findings[]`); fields this server does not know are ignored so that newer hosts can report to it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostReportRequest {
    /// Licensing mode name (`per-device`, `per-user`, `not-configured`, `remote-administration`).
    pub licensing_mode: String,
    /// The grace period now.
    pub grace: GraceWire,
    /// Whether `rdlic diagnose` found that a client connecting now would be licensed.
    #[serde(default)]
    pub can_license: Option<bool>,
    /// Findings of `rdlic diagnose`.
    #[serde(default)]
    pub findings: Vec<FindingWire>,
    /// Licensing refusals since the last report, oldest first.
    #[serde(default)]
    pub refusals: Vec<RefusalWire>,
}

/// The grace period as reported.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GraceWire {
    /// One of [`GRACE_STATES`].
    pub state: String,
    /// Days left while running.
    #[serde(default)]
    pub days_left: Option<u32>,
}

/// One diagnose finding.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FindingWire {
    /// Stable check id.
    pub check: String,
    /// License server the finding is about.
    #[serde(default)]
    pub server: Option<String>,
    /// One of [`SEVERITIES`].
    pub severity: String,
    /// Stable cause id.
    #[serde(default)]
    pub cause: Option<String>,
    /// The cause in words.
    #[serde(default)]
    pub cause_text: Option<String>,
    /// What was observed, in words.
    pub evidence: String,
    /// How to fix it.
    #[serde(default)]
    pub fixes: Vec<FixWire>,
}

/// One fix of a finding.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FixWire {
    /// The command to run.
    pub command: String,
    /// What it does.
    #[serde(default)]
    pub text: String,
}

/// One refusal decided by the host.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefusalWire {
    /// When (Unix seconds, host clock).
    pub at: i64,
    /// Client name.
    pub client: String,
    /// User name.
    #[serde(default)]
    pub user: String,
    /// The host's decision text.
    pub decision: String,
    /// Why.
    #[serde(default)]
    pub reason: String,
    /// ERRINFO code sent to the client, when there was one.
    #[serde(default)]
    pub errinfo: Option<u32>,
    /// The license server asked last.
    #[serde(default)]
    pub license_server: Option<String>,
}

/// `POST /api/v1/admin/login`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The admin password set with `rdlic server init --admin-password-stdin`.
    pub password: String,
}

fn check_text(field: &str, v: &str, max: usize) -> Result<(), ApiError> {
    if v.len() > max || v.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!("{field} must be at most {max} bytes without control characters")));
    }
    Ok(())
}

fn check_id(field: &str, v: &str) -> Result<(), ApiError> {
    check_text(field, v, MAX_ID)?;
    if v.trim().is_empty() {
        return Err(ApiError::bad_request(format!("{field} is empty")));
    }
    Ok(())
}

/// `v` with control characters escaped, cut to `max` bytes at a character boundary.
fn clean_text(v: &str, max: usize) -> String {
    let escaped = rdlic_core::names::escape(v);
    let mut end = escaped.len().min(max);
    while !escaped.is_char_boundary(end) {
        end -= 1;
    }
    escaped.get(..end).unwrap_or_default().to_owned()
}

fn check_finding(i: usize, f: &FindingWire) -> Result<(), ApiError> {
    check_id(&format!("findings[{i}].check"), &f.check)?;
    if !SEVERITIES.contains(&f.severity.as_str()) {
        return Err(ApiError::bad_request(format!(
            "findings[{i}].severity {:?} is not one of {}",
            f.severity,
            SEVERITIES.join(", ")
        )));
    }
    if let Some(c) = &f.cause {
        check_id(&format!("findings[{i}].cause"), c)?;
    }
    for (name, v) in [("server", &f.server), ("cause_text", &f.cause_text)] {
        if let Some(v) = v {
            check_text(&format!("findings[{i}].{name}"), v, MAX_TEXT)?;
        }
    }
    check_text(&format!("findings[{i}].evidence"), &f.evidence, MAX_TEXT)?;
    if f.fixes.len() > 16 {
        return Err(ApiError::bad_request(format!("findings[{i}]: at most 16 fixes")));
    }
    for (j, x) in f.fixes.iter().enumerate() {
        check_text(&format!("findings[{i}].fixes[{j}].command"), &x.command, MAX_TEXT)?;
        check_text(&format!("findings[{i}].fixes[{j}].text"), &x.text, MAX_TEXT)?;
    }
    Ok(())
}

/// Validates a report and turns it into store values (refusal ids and host set by the store).
fn validate(req: HostReportRequest, host: HostId, received_at: i64) -> Result<(HostReport, Vec<ReportedRefusal>), ApiError> {
    check_id("licensing_mode", &req.licensing_mode)?;
    if !GRACE_STATES.contains(&req.grace.state.as_str()) {
        return Err(ApiError::bad_request(format!(
            "grace.state {:?} is not one of {}",
            req.grace.state,
            GRACE_STATES.join(", ")
        )));
    }
    if req.grace.days_left.is_some_and(|d| d > 36_500) {
        return Err(ApiError::bad_request("grace.days_left is larger than 36500"));
    }
    if req.findings.len() > MAX_FINDINGS {
        return Err(ApiError::bad_request(format!("at most {MAX_FINDINGS} findings per report")));
    }
    if req.refusals.len() > MAX_REPORTED_REFUSALS {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_REPORTED_REFUSALS} refusals per report: send the rest in the next report"
        )));
    }
    // A bad entry is dropped (a finding) or kept escaped (a refusal), never a reason to refuse the whole report:
    // the host cannot change what it logged, and a refused report would stall its later ones.
    let mut findings = Vec::with_capacity(req.findings.len());
    for (i, f) in req.findings.into_iter().enumerate() {
        match check_finding(i, &f) {
            Ok(()) => findings.push(ReportedFinding {
                check: f.check,
                server: f.server,
                severity: f.severity,
                cause: f.cause,
                cause_text: f.cause_text,
                evidence: f.evidence,
                fixes: f.fixes.into_iter().map(|x| ReportedFix { command: x.command, text: x.text }).collect(),
            }),
            Err(e) => tracing::warn!(host = %host, error = %rdlic_core::names::Escaped(&e.to_string()), "report finding dropped"),
        }
    }
    let mut refusals = Vec::with_capacity(req.refusals.len());
    for r in req.refusals {
        let decision = clean_text(&r.decision, MAX_TEXT);
        if r.at < 0 || decision.trim().is_empty() {
            tracing::warn!(host = %host, "report refusal without a time or a decision dropped");
            continue;
        }
        // Names outside the rule (a tab, a name too long) are kept normalised.
        let client = rdlic_core::names::normalize(rdlic_core::names::NameKind::MachineName, &r.client);
        let user = rdlic_core::names::normalize(rdlic_core::names::NameKind::QualifiedUser, &r.user);
        refusals.push(ReportedRefusal {
            id: 0,
            host_id: host,
            host_name: String::new(),
            at: r.at,
            received_at,
            client,
            user,
            decision,
            reason: clean_text(&r.reason, MAX_TEXT),
            errinfo: r.errinfo,
            license_server: r.license_server.as_deref().map(|s| clean_text(s, MAX_TEXT)),
        });
    }
    let report = HostReport {
        host_id: host,
        received_at,
        licensing_mode: req.licensing_mode,
        grace: ReportedGrace { state: req.grace.state, days_left: req.grace.days_left },
        can_license: req.can_license,
        findings,
    };
    Ok((report, refusals))
}

/// `POST /api/v1/host/report`.
pub(super) async fn host_report(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<Peer>,
    body: Result<ApiJson<HostReportRequest>, ApiError>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let host = require_host(&state, &peer).await?;
    let ApiJson(req) = body?;
    let t = now();
    let (report, refusals) = validate(req, host.id, t)?;
    let n = refusals.len();
    let name = host.name.clone();
    state.blocking(move |s| s.record_host_report(&report, &name, &refusals)).await?;
    // The report is a contact too.
    let id = host.id;
    let _ = state.blocking(move |s| s.touch_host(id, t)).await;
    Ok(Json(serde_json::json!({ "host_id": host.id.to_string(), "received_at": t, "refusals_recorded": n })))
}

fn grace_json(g: &ReportedGrace) -> serde_json::Value {
    serde_json::json!({ "state": g.state, "days_left": g.days_left })
}

fn report_json(r: &HostReport) -> serde_json::Value {
    let findings: Vec<_> = r
        .findings
        .iter()
        .map(|f| {
            serde_json::json!({
                "check": f.check, "server": f.server, "severity": f.severity, "cause": f.cause,
                "cause_text": f.cause_text, "evidence": f.evidence,
                "fixes": f.fixes.iter().map(|x| serde_json::json!({ "command": x.command, "text": x.text })).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({
        "received_at": r.received_at, "licensing_mode": r.licensing_mode, "grace": grace_json(&r.grace),
        "can_license": r.can_license, "findings": findings,
    })
}

fn refusal_json(r: &ReportedRefusal) -> serde_json::Value {
    serde_json::json!({
        "id": r.id, "host_id": r.host_id.to_string(), "host": r.host_name, "at": r.at, "received_at": r.received_at,
        "client": r.client, "user": r.user, "decision": r.decision, "reason": r.reason, "errinfo": r.errinfo,
        "errinfo_hex": r.errinfo.map(|e| format!("0x{e:08X}")), "license_server": r.license_server,
    })
}

/// `GET /api/v1/admin/hosts`: every enrolled host with its latest report (`null` until it reports).
pub(super) async fn list_hosts(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(&state, &headers)?;
    let (hosts, reports) = state.blocking(|s| Ok((s.list_hosts()?, s.host_reports()?))).await?;
    let list: Vec<_> = hosts
        .iter()
        .map(|h| {
            let mut v = host_json(h);
            if let Some(obj) = v.as_object_mut() {
                let report = reports.iter().find(|r| r.host_id == h.id).map(report_json);
                obj.insert("report".into(), report.unwrap_or(serde_json::Value::Null));
            }
            v
        })
        .collect();
    Ok(Json(serde_json::json!({ "hosts": list })))
}

/// `GET /api/v1/admin/hosts/{id}/report`.
pub(super) async fn host_report_of(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(&state, &headers)?;
    let id = super::host_id_param(&id)?;
    let (hosts, reports) = state.blocking(|s| Ok((s.list_hosts()?, s.host_reports()?))).await?;
    let host = hosts
        .iter()
        .find(|h| h.id.0 == id)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "unknown_host", format!("no enrolled host with id {id}")))?;
    let report = reports.iter().find(|r| r.host_id.0 == id).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_report",
            format!(
                "host {} ({}) has not reported yet: hosts report at start and every few minutes while `rdlic host \
                 run` runs",
                host.id, host.name
            ),
        )
    })?;
    let mut v = report_json(report);
    if let Some(obj) = v.as_object_mut() {
        obj.insert("host_id".into(), host.id.to_string().into());
        obj.insert("host".into(), host.name.clone().into());
    }
    Ok(Json(v))
}

/// Query of `GET /api/v1/admin/refusals`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RefusalsQuery {
    #[serde(default)]
    after: Option<i64>,
    #[serde(default)]
    limit: Option<u32>,
}

/// `GET /api/v1/admin/refusals`.
pub(super) async fn list_refusals(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    query: Result<Query<RefusalsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(&state, &headers)?;
    let Query(q) = query.map_err(|e| ApiError::bad_request(format!("{}: use ?after=ID&limit=N", e.body_text())))?;
    let after = q.after.unwrap_or(0);
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > rdlic_store::MAX_REFUSALS {
        return Err(ApiError::bad_request(format!("limit must be between 1 and {}", rdlic_store::MAX_REFUSALS)));
    }
    let list = state.blocking(move |s| s.recent_refusals(after, limit)).await?;
    let latest = list.first().map_or(after, |r| r.id);
    Ok(Json(serde_json::json!({
        "refusals": list.iter().map(refusal_json).collect::<Vec<_>>(), "latest_id": latest,
    })))
}

/// `POST /api/v1/admin/login`: the admin token for the right password.
pub(super) async fn login(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<Peer>,
    body: Result<ApiJson<LoginRequest>, ApiError>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let ApiJson(req) = body?;
    if req.password.is_empty() {
        return Err(ApiError::bad_request("the password is empty"));
    }
    if req.password.len() > crate::password::MAX_PASSWORD {
        return Err(ApiError::bad_request(format!(
            "the password is longer than {} bytes",
            crate::password::MAX_PASSWORD
        )));
    }
    // Throttled sources are answered before any work; a full check queue is answered at once. "No password set"
    // and "wrong password" take the same work and get the same answer.
    let from_ip = peer.addr.ip();
    state.login.check(from_ip, std::time::Instant::now()).map_err(throttled)?;
    let stored = state.blocking(|s| s.admin_password_hash()).await?;
    let password_set = stored.is_some();
    let check = state
        .login
        .submit(move || crate::password::verify_or_burn(&req.password, stored.as_deref()))
        .map_err(throttled)?;
    let ok = check.await.map_err(|_| ApiError::internal("the password check did not finish"))?;
    state.login.record(from_ip, ok, std::time::Instant::now());
    let t = now();
    let from = from_ip.to_string();
    if password_set {
        let detail = if ok { "result=ok" } else { "result=wrong-password" };
        let _ = state
            .blocking(move |s| s.record_audit(rdlic_store::AuditKind::new("admin-login"), "web", &from, detail, t))
            .await;
    }
    if !ok {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "wrong_password",
            "wrong admin password, or no admin password is set on this license server: try again, sign in with the \
             admin token (DATA/admin.token), or set a password with `rdlic server init --data DATA \
             --admin-password-stdin`",
        ));
    }
    let mut random = [0u8; 32];
    openssl::rand::rand_bytes(&mut random).map_err(|e| ApiError::internal(format!("no random bytes: {e}")))?;
    let token = format!("{SESSION_PREFIX}{}", hex::encode(random));
    let expires_at = t.saturating_add(SESSION_SECONDS);
    let key = super::session_key(&token);
    state.blocking(move |s| s.create_admin_session(&key, t, expires_at)).await?;
    {
        let mut sessions = state.admin_sessions.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        sessions.retain(|_, &mut e| e > t);
        sessions.insert(key, expires_at);
    }
    Ok(Json(serde_json::json!({ "token": token, "token_type": "Bearer", "expires_at": expires_at })))
}

/// The answer to a throttled login: 429 with `Retry-After` (too many failures) or 503 (checks queue full).
fn throttled(t: crate::login_guard::Throttled) -> ApiError {
    match t {
        crate::login_guard::Throttled::TooManyFailures(wait) => {
            let secs = wait.as_secs().saturating_add(u64::from(wait.subsec_nanos() > 0)).max(1);
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                format!("too many wrong passwords: try again in {secs} s, or sign in with the admin token (DATA/admin.token)"),
            )
            .with_retry_after(secs)
        }
        crate::login_guard::Throttled::Busy => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "login_busy",
            "too many sign-ins at once: try again in a moment",
        )
        .with_retry_after(1),
    }
}

/// Session tokens given for the admin password start with this (the admin token itself is bare hex).
pub(crate) const SESSION_PREFIX: &str = "session-";

/// How long a web session lasts: a working day.
const SESSION_SECONDS: i64 = 12 * 3600;

/// `POST /api/v1/admin/logout`: ends the web session of the presented token (the admin token itself cannot be
/// ended this way: it lives in DATA/admin.token).
pub(super) async fn logout(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(&state, &headers)?;
    let ended = match super::bearer(&headers) {
        Some(t) if t.starts_with(SESSION_PREFIX) => {
            let key = super::session_key(t);
            state.blocking(move |s| s.end_admin_session(&key)).await?;
            state
                .admin_sessions
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&key)
                .is_some()
        }
        _ => false,
    };
    Ok(Json(serde_json::json!({ "ended": ended })))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn good() -> HostReportRequest {
        serde_json::from_value(serde_json::json!({
            "licensing_mode": "not-configured",
            "grace": { "state": "expired" },
            "can_license": false,
            "findings": [{ "check": "licensing-mode", "severity": "error", "cause": "mode-not-configured",
                "evidence": "LicensingMode = 0", "evidence_key": "ignored", "fixes": [{ "command": "rdlic reg add", "text": "t", "restart": true }] }],
            "refusals": [{ "at": 5, "client": "PC1", "user": "alice", "decision": "refuse error_code=0x6 errinfo=0x101", "errinfo": 257 }],
        }))
        .unwrap()
    }

    #[test]
    fn a_diagnose_finding_with_extra_fields_is_accepted() {
        let (report, refusals) = validate(good(), HostId(3), 100).unwrap();
        assert_eq!(report.findings[0].fixes[0].command, "rdlic reg add");
        assert_eq!((refusals[0].host_id, refusals[0].errinfo, refusals[0].received_at), (HostId(3), Some(0x101), 100));
    }

    #[test]
    fn a_bad_report_header_is_refused_with_the_field_named() {
        let mut r = good();
        r.grace.state = "forever".into();
        assert!(validate(r, HostId(1), 0).unwrap_err().message.contains("grace.state"));
    }

    #[test]
    fn bad_entries_are_dropped_or_escaped_not_a_reason_to_refuse_the_report() {
        let mut r = good();
        r.findings[0].severity = "fatal".into();
        assert!(validate(r, HostId(1), 0).unwrap().0.findings.is_empty(), "the bad finding is dropped");
        let mut r = good();
        r.findings[0].fixes[0].command = "x\ty".into();
        assert!(validate(r, HostId(1), 0).unwrap().0.findings.is_empty());
        let mut r = good();
        r.refusals[0].client = "a\nb".into();
        r.refusals[0].reason = "r\u{1b}[2J".into();
        let (_, refusals) = validate(r, HostId(1), 0).unwrap();
        assert_eq!((refusals[0].client.as_str(), refusals[0].reason.as_str()), ("a\\nb", "r\\u{1b}[2J"));
        let mut r = good();
        r.refusals[0].decision = " ".into();
        assert!(validate(r, HostId(1), 0).unwrap().1.is_empty(), "a refusal without a decision is dropped");
    }
}
