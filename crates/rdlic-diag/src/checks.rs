//! `rdlic diagnose`, the logic: a pure function from a [`HostSnapshot`] and one [`ServerObservation`] per
//! license server to a [`Diagnosis`] — findings in the order of the issue (role, mode, servers, each server, grace
//! period, recent refusals), each naming its cause (one of the seed article's five, or another), with severity,
//! evidence and the exact fix command. No I/O here: [`crate::gather`] builds the inputs.

use rdlic_core::winreg::{paths, LicensingSettings, RegValue, SettingSource};
use serde::Serialize;

use crate::catalog::Lang;

/// `HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM\Licensing Core` (the article's key).
pub const LICENSING_CORE_KEY: &str = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM\Licensing Core";
/// `HKLM\SYSTEM\CurrentControlSet\Services\TermService\Parameters` (the article's key).
pub const TERMSERVICE_PARAMETERS_KEY: &str = r"HKLM\SYSTEM\CurrentControlSet\Services\TermService\Parameters";

/// Days of grace left from which the grace check warns (Windows logs event 1129 from 15 days).
pub const GRACE_WARNING_DAYS: u32 = 15;

/// The grace period as the host records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum GraceState {
    /// The host has never started: the grace period starts with it.
    NotStarted {
        /// Its length
        period_days: u32,
    },
    /// Running.
    Running {
        /// Whole days left
        days_left: u32,
    },
    /// Over: its duration elapsed.
    Expired,
    /// Over: the host received a permanent CAL.
    EndedByPermanentCal,
    /// Not known: a Windows registry (a `reg export` file, an offline disk) shows whether the grace-period key
    /// exists, not how much of the grace period is left (that value is protected data).
    Unknown {
        /// `RCM\GracePeriod` exists: the grace period has started.
        key_present: bool,
    },
}

impl GraceState {
    fn running(self) -> bool {
        matches!(self, Self::NotStarted { .. } | Self::Running { .. })
    }
}

/// Who applies the fixes: the commands are `rdlic reg ...` for an rdlic session host, `reg ...` (and the Group
/// Policy editor) for a Windows machine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FixTarget {
    /// An rdlic session host (`host.toml`).
    #[default]
    RdlicHost,
    /// A Windows session host (a `reg export` file, an offline disk).
    Windows,
}

/// One refusal from the host's decision log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusalRecord {
    /// Client name
    pub client: String,
    /// Decision text ("refuse ...")
    pub decision: String,
    /// Why
    pub reason: String,
    /// License server tried last
    pub license_server: Option<String>,
}

/// Which license servers answered the recent licensing attempts (from the decision log).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AnsweredBy {
    /// License server name → attempts it answered, in `SpecifiedLicenseServers` spelling, most first
    pub servers: Vec<(String, u32)>,
    /// Attempts answered after another server failed (failover)
    pub failovers: u32,
    /// The latest failover: client, and every attempt in order (`NAME: result`)
    pub last_failover: Option<(String, Vec<String>)>,
}

/// What diagnose knows about the session host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostSnapshot {
    /// Host data directory (for the fix commands)
    pub data_dir: String,
    /// RDS-RD-Server `InstallState` != 0
    pub role_installed: bool,
    /// `LicensingMode`
    pub licensing_mode: u32,
    /// `SpecifiedLicenseServers`
    pub license_servers: Vec<String>,
    /// Grace period
    pub grace: GraceState,
    /// The CAL version the host needs (Windows Server release year)
    pub host_cal_version: u16,
    /// Recent refusals; `None` when the host keeps no decision log to read
    pub recent_refusals: Option<Vec<RefusalRecord>>,
    /// Which license servers answered the recent connections, and the failovers among them
    pub recent_answers: AnsweredBy,
    /// Directory with this host's enrollment (client certificate), for the fix command
    pub enrollment_dir: String,
    /// Where `licensing_mode` and `license_servers` come from (Group Policy, local value, default) and the local
    /// values a policy shadows; `None`: both are local values (the findings then say nothing of sources).
    #[serde(skip)]
    pub settings: Option<LicensingSettings>,
    /// The form of the fix commands
    pub target: FixTarget,
}

/// CALs of one type and version on a license server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CalPool {
    /// `per-device` or `per-user`
    pub cal_type: String,
    /// CAL version (year)
    pub version: u16,
    /// Installed
    pub installed: u64,
    /// Issued
    pub issued: u64,
    /// Available
    pub available: u64,
}

/// A license server's status call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerStatus {
    /// Activated with the clearinghouse
    pub activated: bool,
    /// Database answered
    pub database_ok: bool,
    /// CALs per type and version
    pub cals: Vec<CalPool>,
}

/// Whether this host is enrolled with a server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "detail", rename_all = "kebab-case")]
pub enum Enrollment {
    /// The server accepted the host's client certificate.
    Enrolled,
    /// The host has no enrollment for this server (no client certificate, or one for another server).
    NoCredentials(String),
    /// The server refused the host's certificate.
    Refused(String),
}

/// What the I/O layer found for one license server (each step only when the previous one succeeded).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerObservation {
    /// As in `SpecifiedLicenseServers`
    pub name: String,
    /// The special entry `local`: the host's in-process demo license server (nothing to reach)
    pub in_process: bool,
    /// TCP connect: milliseconds, or the error
    pub tcp: Result<f64, String>,
    /// TLS + `GET /api/v1/ping`: server id, or the error
    pub api: Option<Result<String, String>>,
    /// Enrollment
    pub enrollment: Option<Enrollment>,
    /// `GET /api/v1/status` with the host's certificate
    pub status: Option<Result<ServerStatus, String>>,
    /// A Windows license server (a bare name or IP, as Windows writes `SpecifiedLicenseServers`): the DCE/RPC
    /// probe (endpoint mapper, `ept_map`, bind to the licensing interface) instead of the rdlic API steps
    pub rpc: Option<crate::rpc_probe::RpcProbeReport>,
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Fine
    Ok,
    /// Worth knowing
    Info,
    /// Works now, will not later (or works partly)
    Warning,
    /// Connections are or will be refused because of this
    Error,
}

/// Why connections are refused: the seed article's five causes, then others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    /// 1. There never was a license server and the grace period is over.
    NoLicenseServer,
    /// 2. A license server is installed but was never activated.
    NotActivated,
    /// 3. No CALs were installed on the license server.
    NoCals,
    /// 4. CALs are installed but the host is not configured to use them (mode, type, version).
    CalsMisconfigured,
    /// 5. The license server has CALs and is activated, but other problems keep it from licensing.
    ServerProblem,
    /// Not one of the five: the host is not enrolled with the license server.
    HostNotEnrolled,
    /// Not one of the five: `LicensingMode` holds an unsupported value.
    InvalidMode,
}

impl Cause {
    /// The cause's number in the article's list, if it is one of the five.
    pub fn article_number(self) -> Option<u8> {
        match self {
            Self::NoLicenseServer => Some(1),
            Self::NotActivated => Some(2),
            Self::NoCals => Some(3),
            Self::CalsMisconfigured => Some(4),
            Self::ServerProblem => Some(5),
            Self::HostNotEnrolled | Self::InvalidMode => None,
        }
    }

    /// Catalogue key of the cause's description.
    pub fn key(self) -> &'static str {
        match self {
            Self::NoLicenseServer => "cause-no-license-server",
            Self::NotActivated => "cause-not-activated",
            Self::NoCals => "cause-no-cals",
            Self::CalsMisconfigured => "cause-cals-misconfigured",
            Self::ServerProblem => "cause-server-problem",
            Self::HostNotEnrolled => "cause-host-not-enrolled",
            Self::InvalidMode => "cause-invalid-mode",
        }
    }
}

/// Which check produced a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    Role,
    LicensingMode,
    LicenseServers,
    Reachable,
    Api,
    Enrolled,
    Activated,
    Cals,
    GracePeriod,
    Refusals,
    /// A Windows license server's RPC interface (`rdlic probe --license-server`)
    Rpc,
    /// Group Policy values and the local values they shadow.
    Policy,
    /// `fDenyTSConnections` (Windows registry).
    Connections,
    /// RDP-Tcp `PortNumber` (Windows registry).
    RdpPort,
    /// `Start` of TermService, SessionEnv, UmRdpService (Windows registry).
    Services,
    /// The RD Licensing role on this machine (Windows registry).
    LicensingRole,
}

impl Check {
    /// Catalogue key of the check's name.
    pub fn key(self) -> &'static str {
        match self {
            Self::Role => "check-role",
            Self::LicensingMode => "check-mode",
            Self::LicenseServers => "check-servers",
            Self::Reachable => "check-reachable",
            Self::Api => "check-api",
            Self::Enrolled => "check-enrolled",
            Self::Activated => "check-activated",
            Self::Cals => "check-cals",
            Self::GracePeriod => "check-grace",
            Self::Refusals => "check-refusals",
            Self::Rpc => "check-rpc",
            Self::Policy => "check-policy",
            Self::Connections => "check-connections",
            Self::RdpPort => "check-port",
            Self::Services => "check-services",
            Self::LicensingRole => "check-licensing-role",
        }
    }
}

/// A catalogue message with its arguments (rendered in any language later).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// Catalogue key
    pub key: &'static str,
    /// Placeholder values
    pub args: Vec<(&'static str, String)>,
}

impl Message {
    pub(crate) fn new(key: &'static str, args: &[(&'static str, &str)]) -> Self {
        Self { key, args: args.iter().map(|(k, v)| (*k, (*v).to_owned())).collect() }
    }

    /// The text in `lang`.
    pub fn render(&self, lang: Lang) -> String {
        let args: Vec<(&str, &str)> = self.args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        lang.msg(self.key, &args)
    }
}

/// A configuration change that `--fix` may apply itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", content = "value", rename_all = "kebab-case")]
pub enum ConfigChange {
    /// `LicensingMode`
    SetLicensingMode(u32),
    /// `SpecifiedLicenseServers`
    SetLicenseServers(Vec<String>),
}

/// One way to fix a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    /// The exact command (rdlic syntax, mirroring the article's reg/dism commands)
    pub command: String,
    /// What it does
    pub explanation: Message,
    /// What `--fix` changes itself (safe fixes only); `None`: the administrator runs the command
    pub apply: Option<ConfigChange>,
    /// The host must restart to take it into account
    pub restart: bool,
    /// The registry change the command makes (Windows fixes), from which an offline command is made
    #[serde(skip)]
    pub registry_edit: Option<RegEdit>,
    /// The same change on an offline disk (`rdlic offline fix ...`), filled by [`Diagnosis::with_offline_fixes`]
    pub offline_command: Option<String>,
}

/// A registry change that a fix makes (a `reg add` or `reg delete`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegEdit {
    /// `reg add KEY /v NAME /t TYPE /d DATA /f`
    Set {
        /// Key path (`HKLM\...`)
        key: &'static str,
        /// Value name
        name: &'static str,
        /// The value
        value: RegValue,
    },
    /// `reg delete KEY /v NAME /f`
    DeleteValue {
        /// Key path
        key: &'static str,
        /// Value name
        name: &'static str,
    },
}

impl RegEdit {
    /// The `reg.exe` command line (`prefix` is `reg` on Windows, `rdlic reg` for an rdlic host, which takes the
    /// same switches).
    pub fn command(&self, target: FixTarget) -> String {
        let (prefix, force) = match target {
            FixTarget::RdlicHost => ("rdlic reg", ""),
            FixTarget::Windows => ("reg", " /f"),
        };
        match self {
            Self::Set { key, name, value } => {
                let (kind, data) = match value {
                    RegValue::Dword(v) => ("REG_DWORD", v.to_string()),
                    RegValue::MultiSz(list) => ("REG_MULTI_SZ", list.join("\\0")),
                    RegValue::Sz(text) => ("REG_SZ", quote_if_needed(text)),
                    RegValue::ExpandSz(text) => ("REG_EXPAND_SZ", quote_if_needed(text)),
                    RegValue::Qword(v) => ("REG_QWORD", v.to_string()),
                    other => ("REG_BINARY", other.as_strings().unwrap_or_default().join("")),
                };
                format!(r#"{prefix} add "{key}" /v {name} /t {kind} /d {data}{force}"#)
            }
            Self::DeleteValue { key, name } => format!(r#"{prefix} delete "{key}" /v {name} /f"#),
        }
    }
}

fn quote_if_needed(text: &str) -> String {
    if text.contains([' ', ',', ';']) {
        format!("\"{text}\"")
    } else {
        text.to_owned()
    }
}

impl Fix {
    /// A fix that the administrator applies with a registry command.
    pub(crate) fn registry(edit: RegEdit, target: FixTarget, explanation: Message, apply: Option<ConfigChange>) -> Self {
        Self {
            command: edit.command(target),
            explanation,
            apply,
            restart: true,
            registry_edit: Some(edit),
            offline_command: None,
        }
    }

    /// A fix with a command that is not a registry edit.
    pub(crate) fn command(command: impl Into<String>, explanation: Message, restart: bool) -> Self {
        Self { command: command.into(), explanation, apply: None, restart, registry_edit: None, offline_command: None }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Which check
    pub check: Check,
    /// The license server it is about
    pub server: Option<String>,
    /// How bad
    pub severity: Severity,
    /// The cause, when it explains refusals
    pub cause: Option<Cause>,
    /// Evidence
    pub evidence: Message,
    /// Fixes, best first
    pub fixes: Vec<Fix>,
}

/// The whole diagnosis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnosis {
    /// Findings in check order
    pub findings: Vec<Finding>,
    /// Whether a client connecting now would be licensed (or need no licence)
    pub can_license: bool,
}

impl Diagnosis {
    /// Causes of the error findings, in order, without repeats.
    pub fn causes(&self) -> Vec<Cause> {
        let mut causes = Vec::new();
        for finding in &self.findings {
            if finding.severity == Severity::Error {
                if let Some(cause) = finding.cause {
                    if !causes.contains(&cause) {
                        causes.push(cause);
                    }
                }
            }
        }
        causes
    }

    /// Fills [`Fix::offline_command`] of every registry fix with `offline(edit)` (for `rdlic offline fix`, which
    /// edits the hives of a disk that is not running).
    pub fn with_offline_fixes(mut self, offline: impl Fn(&RegEdit) -> Option<String>) -> Self {
        for fix in self.findings.iter_mut().flat_map(|f| f.fixes.iter_mut()) {
            if let Some(edit) = &fix.registry_edit {
                fix.offline_command = offline(edit);
            }
        }
        self
    }

    /// The changes `--fix` would apply, in order (one per kind; the first wins).
    pub fn safe_changes(&self) -> Vec<ConfigChange> {
        let mut changes: Vec<ConfigChange> = Vec::new();
        for fix in self.findings.iter().filter(|f| f.severity >= Severity::Warning).flat_map(|f| &f.fixes) {
            if let Some(change) = &fix.apply {
                let same_kind = changes.iter().any(|c| std::mem::discriminant(c) == std::mem::discriminant(change));
                if !same_kind {
                    changes.push(change.clone());
                }
            }
        }
        changes
    }
}

/// Extra inputs for the fixes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FixHints {
    /// A license server the administrator named (`--license-server`), used for `SpecifiedLicenseServers`
    pub license_server: Option<String>,
}

fn mode_name(mode: u32) -> &'static str {
    match mode {
        2 => "per-device",
        4 => "per-user",
        5 => "not-configured",
        _ => "invalid",
    }
}

fn mode_for_type(cal_type: &str) -> Option<u32> {
    match cal_type {
        "per-device" => Some(2),
        "per-user" => Some(4),
        _ => None,
    }
}

/// The `rdlic reg add` command for `LicensingMode`.
pub fn fix_mode_command(mode: u32) -> String {
    format!(r#"rdlic reg add "{LICENSING_CORE_KEY}" /v LicensingMode /t REG_DWORD /d {mode}"#)
}

/// The `rdlic reg add` command for `SpecifiedLicenseServers`.
pub fn fix_servers_command(server: &str) -> String {
    format!(r#"rdlic reg add "{TERMSERVICE_PARAMETERS_KEY}" /v SpecifiedLicenseServers /t REG_MULTI_SZ /d {server}"#)
}

/// The fixes of one diagnosis: their commands follow the target and name the policy when one sets the value.
#[derive(Debug, Clone, Copy)]
struct Fixes<'a> {
    target: FixTarget,
    settings: Option<&'a LicensingSettings>,
}

impl Fixes<'_> {
    fn mode_from_policy(self) -> bool {
        self.settings.is_some_and(|s| s.mode.source == SettingSource::Policy)
    }

    /// Setting `LicensingMode` to `mode`: under the policy key when a policy sets it (an edit of the local value
    /// would change nothing), else the local value.
    fn mode(self, mode: u32) -> Vec<Fix> {
        let args = [("mode", mode.to_string()), ("name", mode_name(mode).to_owned())];
        let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if self.mode_from_policy() {
            return policy_fixes(self.target, "LicensingMode", RegValue::Dword(mode), Message::new("fix-policy-mode", &args));
        }
        let set = RegEdit::Set { key: paths::LICENSING_CORE, name: "LicensingMode", value: RegValue::Dword(mode) };
        match self.target {
            FixTarget::RdlicHost => {
                let key = match mode {
                    2 => "fix-mode-2",
                    4 => "fix-mode-4",
                    _ => "fix-mode",
                };
                vec![Fix::registry(set, self.target, Message::new(key, &args), Some(ConfigChange::SetLicensingMode(mode)))]
            }
            FixTarget::Windows => vec![Fix::registry(set, self.target, Message::new("fix-mode-windows", &args), None)],
        }
    }

    /// Naming a license server in `SpecifiedLicenseServers`.
    fn servers(self, server: Option<String>) -> Fix {
        match self.target {
            FixTarget::RdlicHost => Fix {
                command: fix_servers_command(server.as_deref().unwrap_or("<server>")),
                explanation: Message::new("fix-servers", &[]),
                apply: server.clone().map(|s| ConfigChange::SetLicenseServers(vec![s])),
                restart: true,
                registry_edit: Some(RegEdit::Set {
                    key: paths::TERMSERVICE_PARAMETERS,
                    name: "SpecifiedLicenseServers",
                    value: RegValue::MultiSz(vec![server.unwrap_or_else(|| "<server>".into())]),
                }),
                offline_command: None,
            },
            // Where Windows' console keeps it (the article's line names the parent key; both are read).
            FixTarget::Windows => Fix::registry(
                RegEdit::Set {
                    key: paths::TERMSERVICE_LICENSE_SERVERS,
                    name: "SpecifiedLicenseServers",
                    value: RegValue::MultiSz(vec![server.unwrap_or_else(|| "<server>".into())]),
                },
                self.target,
                Message::new("fix-servers-windows", &[]),
                None,
            ),
        }
    }

    fn disable_role(self) -> Fix {
        match self.target {
            FixTarget::RdlicHost => {
                Fix::command("rdlic feature disable Remote-Desktop-Services", Message::new("fix-disable-role", &[]), true)
            }
            FixTarget::Windows => Fix::command(
                "dism /Online /Disable-Feature /FeatureName:Remote-Desktop-Services",
                Message::new("fix-disable-role", &[]),
                true,
            ),
        }
    }

    fn install_server(self) -> Fix {
        match self.target {
            FixTarget::RdlicHost => Fix::command("rdlic server run", Message::new("fix-install-server", &[]), false),
            FixTarget::Windows => Fix::command(
                "Install-WindowsFeature RDS-Licensing -IncludeManagementTools",
                Message::new("fix-install-server", &[]),
                false,
            ),
        }
    }
}

/// The two ways out of a policy value: change the policy (its registry value shown), or remove it so that the
/// local value applies.
pub(crate) fn policy_fixes(target: FixTarget, name: &'static str, value: RegValue, explanation: Message) -> Vec<Fix> {
    let key = paths::POLICY_TERMINAL_SERVICES;
    vec![
        Fix::registry(RegEdit::Set { key, name, value }, target, explanation, None),
        Fix::registry(RegEdit::DeleteValue { key, name }, target, Message::new("fix-policy-remove", &[]), None),
    ]
}

fn fix_activate(server: &str) -> Fix {
    Fix::command("rdlic activate", Message::new("fix-activate", &[("server", server)]), false)
}

fn fix_keypack(server: &str, cal_type: &str, version: u16) -> Fix {
    Fix::command(
        "rdlic keypack install",
        Message::new("fix-keypack", &[("server", server), ("type", cal_type), ("version", &version.to_string())]),
        false,
    )
}

/// The licensing mode to suggest: the type of CALs a healthy server has free, else per user (the article's 4).
fn suggested_mode(servers: &[ServerObservation], host_version: u16) -> u32 {
    servers
        .iter()
        .filter_map(|s| match &s.status {
            Some(Ok(status)) => Some(status),
            _ => None,
        })
        .flat_map(|status| status.cals.iter())
        .filter(|pool| pool.installed > 0 && pool.version >= host_version)
        .max_by_key(|pool| pool.available)
        .and_then(|pool| mode_for_type(&pool.cal_type))
        .unwrap_or(4)
}

/// The finding for a Windows license server probed over DCE/RPC. A bind proves the licensing interface is
/// reachable, not that the server is activated or has CALs, so a reachable server is reported without counting
/// as one that can license. Anything else is the article's "license server unreachable" (under cause 5), with the
/// ports to open.
fn rpc_finding(name: &str, report: &crate::rpc_probe::RpcProbeReport, pending: Severity) -> Finding {
    use crate::rpc_probe::Verdict;
    let server = Some(name.to_owned());
    if report.reachable() {
        let address = report.interface_address.clone().unwrap_or_default();
        return Finding {
            check: Check::Rpc,
            server,
            severity: Severity::Ok,
            cause: None,
            evidence: Message::new("ev-rpc-reachable", &[("server", name), ("address", &address)]),
            fixes: vec![],
        };
    }
    let (key, args) = crate::rpc_probe::verdict_message(&report.verdict);
    let mut fixes = Vec::new();
    if matches!(report.verdict, Verdict::NameNotResolved { .. }) {
        fixes.push(Fix {
            command: fix_servers_command("<server>"),
            explanation: Message::new("fix-rpc-name", &[("server", name)]),
            apply: None,
            restart: true,
            registry_edit: None,
            offline_command: None,
        });
    }
    fixes.push(Fix {
        command: format!("rdlic probe --license-server {name}"),
        explanation: Message::new("fix-rpc-firewall", &[("server", name)]),
        apply: None,
        restart: false,
        registry_edit: None,
        offline_command: None,
    });
    Finding {
        check: Check::Rpc,
        server,
        severity: pending,
        cause: Some(Cause::ServerProblem),
        evidence: Message { key: key.as_str(), args },
        fixes,
    }
}

/// Diagnoses a host. Pure.
pub fn diagnose(host: &HostSnapshot, servers: &[ServerObservation], hints: &FixHints) -> Diagnosis {
    let mut findings = Vec::new();
    let finding = |check, server: Option<&str>, severity, cause, evidence, fixes| Finding {
        check,
        server: server.map(str::to_owned),
        severity,
        cause,
        evidence,
        fixes,
    };

    // 1. Role.
    if !host.role_installed {
        findings.push(finding(Check::Role, None, Severity::Info, None, Message::new("ev-role-not-installed", &[]), vec![]));
        return Diagnosis { findings, can_license: true };
    }
    findings.push(finding(Check::Role, None, Severity::Ok, None, Message::new("ev-role-installed", &[]), vec![]));

    let grace_running = host.grace.running();
    let grace_unknown = matches!(host.grace, GraceState::Unknown { .. });
    let pending = if grace_running { Severity::Warning } else { Severity::Error };
    let mode = host.licensing_mode;
    let suggested = suggested_mode(servers, host.host_cal_version);
    let fixes = Fixes { target: host.target, settings: host.settings.as_ref() };

    // 2. Licensing mode.
    match mode {
        2 | 4 => findings.push(finding(
            Check::LicensingMode,
            None,
            Severity::Ok,
            None,
            Message::new(if mode == 2 { "ev-mode-ok-2" } else { "ev-mode-ok-4" }, &[("mode", &mode.to_string())]),
            vec![],
        )),
        5 => {
            let cause = if host.license_servers.is_empty() { Cause::NoLicenseServer } else { Cause::CalsMisconfigured };
            let key = match (grace_running, grace_unknown) {
                (true, _) => "ev-mode-not-configured-grace",
                (false, true) => "ev-mode-not-configured-unknown",
                (false, false) => "ev-mode-not-configured-over",
            };
            findings.push(finding(Check::LicensingMode, None, pending, Some(cause), Message::new(key, &[]), fixes.mode(suggested)));
        }
        other => findings.push(finding(
            Check::LicensingMode,
            None,
            Severity::Error,
            Some(Cause::InvalidMode),
            Message::new("ev-mode-invalid", &[("mode", &other.to_string())]),
            fixes.mode(suggested),
        )),
    }

    // 3. SpecifiedLicenseServers.
    if host.license_servers.is_empty() {
        let servers_fix = fixes.servers(hints.license_server.clone());
        let key = match (grace_running, grace_unknown) {
            (true, _) => "ev-no-servers-grace",
            (false, true) => "ev-no-servers-unknown",
            (false, false) => "ev-no-servers-over",
        };
        findings.push(finding(
            Check::LicenseServers,
            None,
            pending,
            Some(Cause::NoLicenseServer),
            Message::new(key, &[]),
            vec![servers_fix, fixes.install_server(), fixes.disable_role()],
        ));
    } else {
        let list = host.license_servers.join(", ");
        let from = host.settings.as_ref().and_then(|s| s.license_servers.key.filter(|_| s.license_servers.source == SettingSource::Local));
        let policy_key = host.settings.as_ref().and_then(|s| s.license_servers.key.filter(|_| s.license_servers.source == SettingSource::Policy));
        let evidence = match (host.target, from) {
            _ if policy_key.is_some() => {
                Message::new("ev-servers-policy", &[("servers", &list), ("key", policy_key.unwrap_or_default())])
            }
            (FixTarget::Windows, Some(key)) if key == paths::TERMSERVICE_PARAMETERS => {
                Message::new("ev-servers-under-parameters", &[("servers", &list), ("key", key)])
            }
            (FixTarget::Windows, Some(key)) => Message::new("ev-servers-under", &[("servers", &list), ("key", key)]),
            _ => Message::new("ev-servers", &[("servers", &list)]),
        };
        findings.push(finding(Check::LicenseServers, None, Severity::Ok, None, evidence, vec![]));
    }

    // Group Policy: which source won, and why a local edit changes nothing while a policy is set.
    if let Some(settings) = &host.settings {
        findings.extend(crate::windows::precedence_findings(settings, host.target));
    }

    // 4. Each license server. A registry diagnosis observes none: each configured one is listed as not checked,
    // and taken as able to license (the registry cannot tell).
    let mut any_server_ok = false;
    if host.target == FixTarget::Windows {
        for name in host.license_servers.iter().filter(|name| !servers.iter().any(|s| s.name == **name)) {
            let n = Some(name.as_str());
            findings.push(finding(Check::Reachable, n, Severity::Info, None, Message::new("ev-server-not-checked", &[("server", name)]), vec![]));
            any_server_ok = true;
        }
    }
    for observed in servers {
        let name = observed.name.as_str();
        let n = Some(name);
        if observed.in_process {
            findings.push(finding(Check::Reachable, n, Severity::Info, None, Message::new("ev-in-process", &[]), vec![]));
            any_server_ok = true;
            continue;
        }
        if let Some(report) = &observed.rpc {
            findings.push(rpc_finding(name, report, pending));
            continue;
        }
        let tcp_ms = match &observed.tcp {
            Ok(ms) => format!("{ms:.1}"),
            Err(error) => {
                findings.push(finding(
                    Check::Reachable,
                    n,
                    pending,
                    Some(Cause::ServerProblem),
                    Message::new("ev-tcp-failed", &[("server", name), ("error", error)]),
                    vec![Fix::command("rdlic server run", Message::new("fix-reach", &[("server", name)]), false)],
                ));
                continue;
            }
        };
        findings.push(finding(Check::Reachable, n, Severity::Ok, None, Message::new("ev-tcp-ok", &[("server", name), ("ms", &tcp_ms)]), vec![]));

        match &observed.api {
            Some(Ok(id)) => findings.push(finding(Check::Api, n, Severity::Ok, None, Message::new("ev-api-ok", &[("server", name), ("id", id)]), vec![])),
            Some(Err(error)) => {
                findings.push(finding(
                    Check::Api,
                    n,
                    pending,
                    Some(Cause::ServerProblem),
                    Message::new("ev-api-failed", &[("server", name), ("error", error)]),
                    vec![],
                ));
                continue;
            }
            None => continue,
        }

        match &observed.enrollment {
            Some(Enrollment::Enrolled) => {
                findings.push(finding(Check::Enrolled, n, Severity::Ok, None, Message::new("ev-enrolled", &[("server", name)]), vec![]))
            }
            Some(Enrollment::NoCredentials(detail) | Enrollment::Refused(detail)) => {
                findings.push(finding(
                    Check::Enrolled,
                    n,
                    pending,
                    Some(Cause::HostNotEnrolled),
                    Message::new("ev-not-enrolled", &[("server", name), ("detail", detail)]),
                    vec![Fix::command(
                        format!("rdlic host enroll --server https://{name} --token <TOKEN> --dir {}", host.enrollment_dir),
                        Message::new("fix-enroll", &[("server", name)]),
                        true,
                    )],
                ));
                continue;
            }
            None => continue,
        }

        let status = match &observed.status {
            Some(Ok(status)) => status,
            Some(Err(error)) => {
                findings.push(finding(
                    Check::Api,
                    n,
                    pending,
                    Some(Cause::ServerProblem),
                    Message::new("ev-status-failed", &[("server", name), ("error", error)]),
                    vec![],
                ));
                continue;
            }
            None => continue,
        };
        if !status.database_ok {
            findings.push(finding(Check::Api, n, pending, Some(Cause::ServerProblem), Message::new("ev-database", &[("server", name)]), vec![]));
            continue;
        }

        // Activation: a server that is not activated issues only temporary per-device CALs.
        let activation_ok = if status.activated {
            findings.push(finding(Check::Activated, n, Severity::Ok, None, Message::new("ev-activated", &[("server", name)]), vec![]));
            true
        } else if mode == 2 {
            findings.push(finding(
                Check::Activated,
                n,
                Severity::Warning,
                Some(Cause::NotActivated),
                Message::new("ev-not-activated-temporary", &[("server", name)]),
                vec![fix_activate(name)],
            ));
            true
        } else {
            findings.push(finding(
                Check::Activated,
                n,
                pending,
                Some(Cause::NotActivated),
                Message::new("ev-not-activated", &[("server", name)]),
                vec![fix_activate(name)],
            ));
            false
        };

        // CALs of the mode's type and a version >= the host's.
        let host_version = host.host_cal_version;
        let wanted = match mode {
            2 => Some("per-device"),
            4 => Some("per-user"),
            _ => None,
        };
        let installed: Vec<&CalPool> = status.cals.iter().filter(|p| p.installed > 0).collect();
        let describe = |pools: &[&CalPool]| -> String {
            pools
                .iter()
                .map(|p| format!("{} {} ({}/{})", p.cal_type, p.version, p.available, p.installed))
                .collect::<Vec<_>>()
                .join(", ")
        };
        // Per user, an activated server over-allocates when no CAL fits (as Windows does: licensed, not
        // compliant); per device, a server without CALs still hands out temporary CALs (90 days).
        let per_user = mode == 4;
        let cals_ok = if installed.is_empty() {
            let (severity, key) = match (activation_ok, mode) {
                (true, 4) => (Severity::Warning, "ev-no-cals-per-user"),
                (true, 2) => (Severity::Warning, "ev-no-cals-temporary"),
                _ => (pending, "ev-no-cals"),
            };
            findings.push(finding(
                Check::Cals,
                n,
                severity,
                Some(Cause::NoCals),
                Message::new(key, &[("server", name)]),
                vec![fix_keypack(name, wanted.unwrap_or("per-user"), host_version)],
            ));
            activation_ok && matches!(mode, 2 | 4)
        } else {
            let matching: Vec<&CalPool> = installed
                .iter()
                .copied()
                .filter(|p| wanted.is_none_or(|w| p.cal_type == w) && p.version >= host_version)
                .collect();
            if matching.is_empty() {
                let mut fixes = Vec::new();
                if let Some(pool) = installed.iter().find(|p| p.version >= host_version) {
                    if let Some(m) = mode_for_type(&pool.cal_type) {
                        fixes.extend(Fixes { target: host.target, settings: host.settings.as_ref() }.mode(m));
                    }
                }
                fixes.push(fix_keypack(name, wanted.unwrap_or("per-user"), host_version));
                let (severity, key) =
                    if per_user { (Severity::Warning, "ev-cals-mismatch-per-user") } else { (pending, "ev-cals-mismatch") };
                findings.push(finding(
                    Check::Cals,
                    n,
                    severity,
                    Some(Cause::CalsMisconfigured),
                    Message::new(
                        key,
                        &[
                            ("server", name),
                            ("type", wanted.unwrap_or("any")),
                            ("version", &host_version.to_string()),
                            ("installed", &describe(&installed)),
                        ],
                    ),
                    fixes,
                ));
                per_user && activation_ok
            } else if mode == 2 && matching.iter().all(|p| p.available == 0) {
                findings.push(finding(
                    Check::Cals,
                    n,
                    pending,
                    Some(Cause::NoCals),
                    Message::new("ev-cals-exhausted", &[("server", name), ("installed", &describe(&matching))]),
                    vec![fix_keypack(name, "per-device", host_version)],
                ));
                false
            } else {
                findings.push(finding(
                    Check::Cals,
                    n,
                    Severity::Ok,
                    None,
                    Message::new(
                        "ev-cals-ok",
                        &[("server", name), ("version", &host_version.to_string()), ("installed", &describe(&matching))],
                    ),
                    vec![],
                ));
                true
            }
        };
        any_server_ok |= activation_ok && cals_ok;
    }

    // 5. Grace period.
    let (severity, key, days) = match host.grace {
        GraceState::NotStarted { period_days } => (Severity::Info, "ev-grace-not-started", period_days),
        GraceState::Running { days_left } if days_left <= GRACE_WARNING_DAYS && !any_server_ok => {
            (Severity::Warning, "ev-grace-running", days_left)
        }
        GraceState::Running { days_left } => (Severity::Ok, "ev-grace-running", days_left),
        GraceState::Expired if any_server_ok => (Severity::Ok, "ev-grace-expired-served", 0),
        GraceState::Expired => (Severity::Error, "ev-grace-expired", 0),
        GraceState::EndedByPermanentCal => (Severity::Ok, "ev-grace-ended-by-cal", 0),
        GraceState::Unknown { key_present: true } => (Severity::Info, "ev-grace-key-present", 0),
        GraceState::Unknown { key_present: false } => (Severity::Info, "ev-grace-key-absent", 0),
    };
    let cause = (severity == Severity::Error).then_some(if host.license_servers.is_empty() {
        Cause::NoLicenseServer
    } else {
        Cause::ServerProblem
    });
    findings.push(finding(Check::GracePeriod, None, severity, cause, Message::new(key, &[("days", &days.to_string())]), vec![]));

    // 6. Recent refusals.
    match &host.recent_refusals {
        // A Windows registry has no decision log: nothing to say.
        None if host.target == FixTarget::Windows => {}
        None => findings.push(finding(Check::Refusals, None, Severity::Info, None, Message::new("ev-no-log", &[]), vec![])),
        Some(refusals) if refusals.is_empty() => {
            findings.push(finding(Check::Refusals, None, Severity::Ok, None, Message::new("ev-no-refusals", &[]), vec![]))
        }
        Some(refusals) => {
            let last = refusals
                .last()
                .map(|r| match &r.license_server {
                    Some(ls) => format!("{} — {} ({}) [{ls}]", r.client, r.decision, r.reason),
                    None => format!("{} — {} ({})", r.client, r.decision, r.reason),
                })
                .unwrap_or_default();
            findings.push(finding(
                Check::Refusals,
                None,
                Severity::Warning,
                None,
                Message::new("ev-refusals", &[("count", &refusals.len().to_string()), ("last", &last)]),
                vec![],
            ));
        }
    }

    // 7. Which license servers answered (several servers: the failover an administrator can see).
    let answers = &host.recent_answers;
    if !answers.servers.is_empty() {
        let servers = answers.servers.iter().map(|(s, n)| format!("{s} ({n})")).collect::<Vec<_>>().join(", ");
        let total: u32 = answers.servers.iter().map(|(_, n)| *n).sum();
        findings.push(finding(
            Check::Refusals,
            None,
            Severity::Info,
            None,
            Message::new("ev-answered-by", &[("count", &total.to_string()), ("servers", &servers)]),
            vec![],
        ));
    }
    if let Some((client, attempts)) = &answers.last_failover {
        findings.push(finding(
            Check::Refusals,
            None,
            Severity::Info,
            None,
            Message::new(
                "ev-failover",
                &[("count", &answers.failovers.to_string()), ("client", client), ("attempts", &attempts.join(" → "))],
            ),
            vec![],
        ));
    }

    let configured = matches!(mode, 2 | 4);
    let can_license = grace_running || (configured && any_server_ok);
    Diagnosis { findings, can_license }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> HostSnapshot {
        HostSnapshot {
            data_dir: "/var/lib/rdlic/host".into(),
            role_installed: true,
            licensing_mode: 4,
            license_servers: vec!["ls1:8443".into()],
            grace: GraceState::Expired,
            host_cal_version: 2022,
            recent_refusals: Some(vec![]),
            recent_answers: AnsweredBy::default(),
            enrollment_dir: "/var/lib/rdlic/host/enrollment".into(),
            settings: None,
            target: FixTarget::RdlicHost,
        }
    }

    fn healthy(pools: Vec<CalPool>) -> ServerObservation {
        ServerObservation {
            name: "ls1:8443".into(),
            in_process: false,
            tcp: Ok(0.4),
            api: Some(Ok("ls-1".into())),
            enrollment: Some(Enrollment::Enrolled),
            rpc: None,
            status: Some(Ok(ServerStatus { activated: true, database_ok: true, cals: pools })),
        }
    }

    fn pool(cal_type: &str, version: u16, installed: u64, issued: u64) -> CalPool {
        CalPool { cal_type: cal_type.into(), version, installed, issued, available: installed.saturating_sub(issued) }
    }

    /// Renders every message of the diagnosis in both languages and checks none is missing.
    fn render_all(d: &Diagnosis) -> (String, String) {
        let mut texts = (String::new(), String::new());
        for f in &d.findings {
            for (lang, text) in [(Lang::En, &mut texts.0), (Lang::Fr, &mut texts.1)] {
                let mut parts = vec![lang.msg(f.check.key(), &[]), f.evidence.render(lang)];
                if let Some(c) = f.cause {
                    parts.push(lang.msg(c.key(), &[]));
                }
                for fix in &f.fixes {
                    parts.push(fix.explanation.render(lang));
                }
                for p in parts {
                    assert!(!p.starts_with('['), "missing message in {lang:?}: {p}");
                    assert!(!p.contains("{$"), "unfilled placeholder in {lang:?}: {p}");
                    text.push_str(&p);
                    text.push('\n');
                }
            }
        }
        texts
    }

    #[test]
    fn healthy_host_can_license() {
        let d = diagnose(&host(), &[healthy(vec![pool("per-user", 2022, 50, 3)])], &FixHints::default());
        assert!(d.can_license);
        assert!(d.causes().is_empty(), "{:?}", d.causes());
        assert!(d.findings.iter().all(|f| f.severity <= Severity::Info), "{:#?}", d.findings);
        render_all(&d);
    }

    #[test]
    fn cause_1_never_a_license_server_and_grace_over() {
        let h = HostSnapshot { licensing_mode: 5, license_servers: vec![], ..host() };
        let d = diagnose(&h, &[], &FixHints { license_server: Some("ls1.example".into()) });
        assert!(!d.can_license);
        assert_eq!(d.causes(), vec![Cause::NoLicenseServer]);
        assert_eq!(Cause::NoLicenseServer.article_number(), Some(1));
        let commands: Vec<&str> = d.findings.iter().flat_map(|f| &f.fixes).map(|f| f.command.as_str()).collect();
        assert!(commands.contains(
            &r#"rdlic reg add "HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM\Licensing Core" /v LicensingMode /t REG_DWORD /d 4"#
        ));
        assert!(commands.contains(
            &r#"rdlic reg add "HKLM\SYSTEM\CurrentControlSet\Services\TermService\Parameters" /v SpecifiedLicenseServers /t REG_MULTI_SZ /d ls1.example"#
        ));
        assert!(commands.contains(&"rdlic feature disable Remote-Desktop-Services"));
        assert_eq!(
            d.safe_changes(),
            vec![ConfigChange::SetLicensingMode(4), ConfigChange::SetLicenseServers(vec!["ls1.example".into()])]
        );
        let (en, fr) = render_all(&d);
        assert!(en.contains("grace period"), "{en}");
        assert!(fr.contains("période de grâce"), "{fr}");
    }

    #[test]
    fn same_config_within_grace_is_licensable_with_warnings() {
        let h = HostSnapshot { licensing_mode: 5, license_servers: vec![], grace: GraceState::Running { days_left: 30 }, ..host() };
        let d = diagnose(&h, &[], &FixHints::default());
        assert!(d.can_license);
        assert!(d.findings.iter().any(|f| f.severity == Severity::Warning && f.cause == Some(Cause::NoLicenseServer)));
        // Without a named server the SpecifiedLicenseServers fix is shown, not applied.
        assert_eq!(d.safe_changes(), vec![ConfigChange::SetLicensingMode(4)]);
    }

    #[test]
    fn cause_2_installed_but_not_activated() {
        let mut s = healthy(vec![pool("per-user", 2022, 50, 0)]);
        if let Some(Ok(status)) = &mut s.status {
            status.activated = false;
        }
        let d = diagnose(&host(), &[s], &FixHints::default());
        assert!(!d.can_license);
        assert_eq!(d.causes(), vec![Cause::NotActivated, Cause::ServerProblem]);
        assert!(d.findings.iter().flat_map(|f| &f.fixes).any(|f| f.command == "rdlic activate"));
        let (_, fr) = render_all(&d);
        assert!(fr.contains("activé"), "{fr}");
    }

    #[test]
    fn cause_3_no_cals_installed() {
        // Per user: the server over-allocates, so clients get in, but the finding names cause 3.
        let d = diagnose(&host(), &[healthy(vec![])], &FixHints::default());
        assert!(d.can_license);
        assert!(d.findings.iter().any(|f| f.severity == Severity::Warning && f.cause == Some(Cause::NoCals)));
        // Per user on a server that is not activated either: refused.
        let mut s = healthy(vec![]);
        if let Some(Ok(status)) = &mut s.status {
            status.activated = false;
        }
        let d = diagnose(&host(), &[s], &FixHints::default());
        assert!(!d.can_license);
        assert!(d.causes().contains(&Cause::NoCals), "{:?}", d.causes());
        assert!(d.findings.iter().flat_map(|f| &f.fixes).any(|f| f.command == "rdlic keypack install"));
        render_all(&d);
        // All per-device CALs issued is cause 3 too.
        let h = HostSnapshot { licensing_mode: 2, ..host() };
        let d = diagnose(&h, &[healthy(vec![pool("per-device", 2022, 5, 5)])], &FixHints::default());
        assert_eq!(d.causes()[0], Cause::NoCals);
    }

    #[test]
    fn cause_4_cals_installed_but_misconfigured() {
        // Per-user CALs installed, host in per-device mode: refused; the fix switches the mode to 4.
        let per_device = HostSnapshot { licensing_mode: 2, ..host() };
        let d = diagnose(&per_device, &[healthy(vec![pool("per-user", 2022, 20, 0)])], &FixHints::default());
        assert!(!d.can_license);
        assert_eq!(d.causes(), vec![Cause::CalsMisconfigured, Cause::ServerProblem]);
        let fix = d.findings.iter().find(|f| f.check == Check::Cals).and_then(|f| f.fixes.first());
        assert_eq!(fix.map(|f| f.command.clone()), Some(fix_mode_command(4)));
        // Per-device CALs with a per-user host: over-allocated (licensed), still named, fix to mode 2.
        let d = diagnose(&host(), &[healthy(vec![pool("per-device", 2022, 20, 0)])], &FixHints::default());
        assert!(d.can_license);
        assert_eq!(d.safe_changes(), vec![ConfigChange::SetLicensingMode(2)]);
        // CALs of an older version than the host.
        let d = diagnose(&per_device, &[healthy(vec![pool("per-device", 2019, 20, 0)])], &FixHints::default());
        assert_eq!(d.causes()[0], Cause::CalsMisconfigured);
        // Mode not configured while a server with CALs is listed: cause 4, fix picks the CALs' type.
        let h = HostSnapshot { licensing_mode: 5, ..host() };
        let d = diagnose(&h, &[healthy(vec![pool("per-device", 2022, 20, 0)])], &FixHints::default());
        assert_eq!(d.causes()[0], Cause::CalsMisconfigured);
        assert_eq!(d.safe_changes(), vec![ConfigChange::SetLicensingMode(2)]);
        render_all(&d);
    }

    #[test]
    fn cause_5_other_server_problems() {
        let down = ServerObservation { tcp: Err("connection refused".into()), api: None, enrollment: None, status: None, ..healthy(vec![]) };
        let d = diagnose(&host(), &[down], &FixHints::default());
        assert!(!d.can_license);
        assert_eq!(d.causes(), vec![Cause::ServerProblem]);
        let (en, fr) = render_all(&d);
        assert!(en.contains("connection refused") && fr.contains("connection refused"));

        let bad_api = ServerObservation { api: Some(Err("tls handshake failed".into())), enrollment: None, status: None, ..healthy(vec![]) };
        assert_eq!(diagnose(&host(), &[bad_api], &FixHints::default()).causes(), vec![Cause::ServerProblem]);
    }

    #[test]
    fn failover_to_a_healthy_second_server() {
        let h = HostSnapshot { license_servers: vec!["ls0:8443".into(), "ls1:8443".into()], ..host() };
        let down = ServerObservation { name: "ls0:8443".into(), in_process: false, tcp: Err("timed out".into()), api: None, enrollment: None, status: None, rpc: None };
        let d = diagnose(&h, &[down, healthy(vec![pool("per-user", 2025, 10, 0)])], &FixHints::default());
        assert!(d.can_license);
    }

    #[test]
    fn not_enrolled_is_named() {
        let s = ServerObservation { enrollment: Some(Enrollment::NoCredentials("no client.crt".into())), status: None, ..healthy(vec![]) };
        let d = diagnose(&host(), &[s], &FixHints::default());
        assert_eq!(d.causes()[0], Cause::HostNotEnrolled);
        assert!(d.findings.iter().flat_map(|f| &f.fixes).any(|f| f.command.starts_with("rdlic host enroll --server https://ls1:8443")));
        render_all(&d);
    }

    #[test]
    fn role_removed_means_no_licensing() {
        let h = HostSnapshot { role_installed: false, licensing_mode: 5, license_servers: vec![], ..host() };
        let d = diagnose(&h, &[], &FixHints::default());
        assert!(d.can_license);
        assert_eq!(d.findings.len(), 1);
        render_all(&d);
    }

    #[test]
    fn recent_refusals_are_reported() {
        let h = HostSnapshot {
            recent_refusals: Some(vec![RefusalRecord {
                client: "dev01".into(),
                decision: "refuse".into(),
                reason: "no license server".into(),
                license_server: None,
            }]),
            ..host()
        };
        let d = diagnose(&h, &[healthy(vec![pool("per-user", 2022, 5, 0)])], &FixHints::default());
        let (en, _) = render_all(&d);
        assert!(en.contains("dev01"), "{en}");
    }

    fn windows(name: &str, verdict: crate::rpc_probe::Verdict) -> ServerObservation {
        let report = crate::rpc_probe::RpcProbeReport {
            target: name.into(),
            endpoint_mapper: Some("10.0.0.5:135".into()),
            ept_map: None,
            interface_address: Some("10.0.0.5:49670".into()),
            verdict,
            millis: 1.0,
        };
        ServerObservation { name: name.into(), in_process: false, tcp: Ok(0.0), api: None, enrollment: None, status: None, rpc: Some(report) }
    }

    #[test]
    fn windows_license_server_unreachable_over_rpc_names_the_ports() {
        use crate::rpc_probe::Verdict;
        let h = HostSnapshot { license_servers: vec!["ls-win".into()], ..host() };
        let not_registered = windows("ls-win", Verdict::NotRegistered { status: 0x16c9_a0d6, towers: 0 });
        let d = diagnose(&h, &[not_registered], &FixHints::default());
        let f = d.findings.iter().find(|f| f.check == Check::Rpc).unwrap();
        assert_eq!((f.severity, f.cause), (Severity::Error, Some(Cause::ServerProblem)));
        let (en, fr) = render_all(&d);
        assert!(en.contains("License server unreachable: the endpoint mapper answers") && en.contains("0x16c9a0d6"), "{en}");
        assert!(en.contains("TCP 135 and the dynamic RPC range TCP 49152-65535 (or TCP 445"), "{en}");
        assert!(fr.contains("Serveur de licences injoignable"), "{fr}");
        assert!(!d.can_license);

        let reachable = windows("ls-win", Verdict::Reachable { address: "10.0.0.5:49670".into(), secondary_address: "49670".into() });
        let d = diagnose(&h, &[reachable], &FixHints::default());
        let f = d.findings.iter().find(|f| f.check == Check::Rpc).unwrap();
        assert_eq!(f.severity, Severity::Ok);
        assert!(f.evidence.render(Lang::En).contains("activation and CALs cannot be checked from here"));
    }
}
