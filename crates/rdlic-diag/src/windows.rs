//! The Windows licensing rules over a [`RegistryView`]: what a session host's registry says about the seed
//! article's five causes, with Group Policy precedence as Windows applies it. Pure, no I/O: the same rules read a
//! live rdlic host (`host.toml` is a `RegistryView`), a `reg export` file
//! ([`rdlic_core::regfile`]) and the hives of an offline disk.
//!
//! [`diagnose_registry`] builds a [`HostSnapshot`] from the registry (the values in effect, their sources, the
//! grace-period key) and runs [`checks::diagnose`], the rules of `rdlic diagnose`, with fixes written for Windows
//! (`reg add` / `reg delete`, the Group Policy editor's path, `dism`). It adds what only a Windows registry shows:
//! the roles, `fDenyTSConnections` (policy and local), the RDP port and the start type of the Remote Desktop
//! services. The findings use the catalogue, JSON form and exit codes of `rdlic diagnose`.
//!
//! Values and their sources ([rds-facts 2.4], [rds-facts 2.10]):
//!
//! | what | local value | Group Policy value (wins) |
//! |---|---|---|
//! | licensing mode | `RCM\Licensing Core` `LicensingMode` | `Policies\...\Terminal Services` `LicensingMode` |
//! | license servers | `TermService\Parameters\LicenseServers` (or `TermService\Parameters`) `SpecifiedLicenseServers` | `LicenseServers` (names separated by commas) |
//! | connections allowed | `Terminal Server` `fDenyTSConnections` | `fDenyTSConnections` |

use rdlic_core::winreg::{self, paths, LicensingSettings, RegValue, RegistryView, SettingSource};

use crate::checks::{
    self, Check, Diagnosis, Finding, FixHints, FixTarget, GraceState, HostSnapshot, Message, RegEdit, Severity,
};
use crate::checks::{policy_fixes, Fix};

/// `Start` of a service: 4 is disabled.
const SERVICE_DISABLED: u32 = 4;

/// The services whose start type is checked: (name, key, what breaks when it is disabled, severity then).
const SERVICES: [(&str, &str, &str, Severity); 3] = [
    ("TermService", paths::SERVICE_TERMSERVICE, "ev-service-disabled-termservice", Severity::Error),
    ("SessionEnv", paths::SERVICE_SESSIONENV, "ev-service-disabled-sessionenv", Severity::Warning),
    ("UmRdpService", paths::SERVICE_UMRDPSERVICE, "ev-service-disabled-umrdpservice", Severity::Warning),
];

/// `HKLM\SOFTWARE\Microsoft\ServerManager\ServicingStorage\ServerComponentCache`: present on Windows Server.
const SERVER_COMPONENT_CACHE: &str = r"HKLM\SOFTWARE\Microsoft\ServerManager\ServicingStorage\ServerComponentCache";

/// The RD Session Host role as the registry shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleState {
    /// `RDS-RD-Server` `InstallState` (1 installed, 0 removed, ...).
    InstallState(u32),
    /// `ServerComponentCache` exists without `RDS-RD-Server`: the role was never installed.
    Absent,
    /// The registry read does not hold `ServerComponentCache` (an export of other keys): unknown.
    Unknown,
}

impl RoleState {
    /// Whether the role is taken as installed (unknown: yes, as the article's message implies it).
    pub fn installed(self) -> bool {
        match self {
            Self::InstallState(state) => state != 0,
            Self::Absent => false,
            Self::Unknown => true,
        }
    }
}

/// What a Windows registry says about licensing and Remote Desktop, values in effect with their sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryFacts {
    /// `LicensingMode` and the license servers, with Group Policy precedence.
    pub licensing: LicensingSettings,
    /// The RD Session Host role.
    pub role: RoleState,
    /// `Services\TermServLicensing` exists (the RD Licensing role), with `RDS-Licensing` `InstallState` if any.
    pub licensing_role: (bool, Option<u32>),
    /// `fDenyTSConnections` in effect (policy wins), `None` when neither value is set.
    pub deny_connections: Option<winreg::EffectiveSetting<u32>>,
    /// RDP-Tcp `PortNumber`.
    pub rdp_port: Option<u32>,
    /// `Start` of TermService, SessionEnv, UmRdpService (in [`SERVICES`] order; `None` when absent).
    pub service_starts: [Option<u32>; 3],
    /// The grace-period key `RCM\GracePeriod` exists.
    pub grace_key: bool,
}

/// Reads the facts from `view`.
pub fn registry_facts<V: RegistryView + ?Sized>(view: &V) -> RegistryFacts {
    let dword = |key: &str, name: &str| view.value(key, name).and_then(|v| v.as_dword());
    let role = match dword(paths::RDS_RD_SERVER, "InstallState") {
        Some(state) => RoleState::InstallState(state),
        None if view.key_exists(SERVER_COMPONENT_CACHE) => RoleState::Absent,
        None => RoleState::Unknown,
    };
    RegistryFacts {
        licensing: winreg::licensing_settings(view),
        role,
        licensing_role: (view.key_exists(paths::SERVICE_TERMSERVLICENSING), dword(paths::RDS_LICENSING, "InstallState")),
        deny_connections: winreg::deny_ts_connections(view),
        rdp_port: dword(paths::RDP_TCP, "PortNumber"),
        service_starts: SERVICES.map(|(_, key, _, _)| dword(key, "Start")),
        grace_key: view.key_exists(paths::GRACE_PERIOD),
    }
}

/// The snapshot that [`checks::diagnose`] takes, from a registry: values in effect, Windows fixes, and a grace
/// period known only by its key. `source` names what was read (a file, a disk) for the findings.
pub fn host_snapshot(facts: &RegistryFacts, source: &str, host_cal_version: u16) -> HostSnapshot {
    HostSnapshot {
        data_dir: source.to_owned(),
        role_installed: facts.role.installed(),
        licensing_mode: facts.licensing.mode.value,
        license_servers: facts.licensing.license_servers.value.clone(),
        grace: GraceState::Unknown { key_present: facts.grace_key },
        host_cal_version,
        recent_refusals: None,
        recent_answers: crate::checks::AnsweredBy::default(),
        enrollment_dir: source.to_owned(),
        settings: Some(facts.licensing.clone()),
        target: FixTarget::Windows,
    }
}

/// Diagnoses a Windows session host from its registry: the rules of `rdlic diagnose` (role, mode, license
/// servers, Group Policy precedence, grace period) and the Windows-only checks (roles, connections, port,
/// services). `source` names what was read. Connections cannot be licensed ([`Diagnosis::can_license`] false,
/// exit code 1) when the rules say so, or when `fDenyTSConnections` is 1 or TermService is disabled.
///
/// Offline fix commands are added by the caller with [`Diagnosis::with_offline_fixes`].
pub fn diagnose_registry<V: RegistryView + ?Sized>(view: &V, source: &str, hints: &FixHints) -> Diagnosis {
    let facts = registry_facts(view);
    let snapshot = host_snapshot(&facts, source, crate::gather::DEFAULT_HOST_CAL_VERSION);
    let mut diagnosis = checks::diagnose(&snapshot, &[], hints);
    let (system, blocked) = system_findings(&facts);
    // After the role finding (always the first), before the licensing ones.
    let at = usize::from(!diagnosis.findings.is_empty());
    diagnosis.findings.splice(at..at, system);
    if blocked {
        diagnosis.can_license = false;
    }
    // With the role removed only the system findings and the role matter; a policy still shows.
    if !facts.role.installed() {
        diagnosis.findings.extend(precedence_findings(&facts.licensing, FixTarget::Windows));
    }
    diagnosis
}

fn finding(check: Check, severity: Severity, evidence: Message, fixes: Vec<Fix>) -> Finding {
    Finding { check, server: None, severity, cause: None, evidence, fixes }
}

/// The Windows-only findings, and whether they block every connection.
fn system_findings(facts: &RegistryFacts) -> (Vec<Finding>, bool) {
    let mut out = Vec::new();
    let mut blocked = false;
    match facts.role {
        RoleState::InstallState(state) if state != 0 && state != 1 => {
            out.push(finding(Check::Role, Severity::Info, Message::new("ev-role-state", &[("state", &state.to_string())]), vec![]));
        }
        RoleState::Unknown => out.push(finding(Check::Role, Severity::Info, Message::new("ev-role-unknown", &[]), vec![])),
        _ => {}
    }
    let (licensing_key, licensing_state) = facts.licensing_role;
    if licensing_key {
        let state = licensing_state.map(|s| format!(", RDS-Licensing InstallState = {s}")).unwrap_or_default();
        out.push(finding(Check::LicensingRole, Severity::Info, Message::new("ev-licensing-role", &[("state", &state)]), vec![]));
    } else {
        out.push(finding(Check::LicensingRole, Severity::Info, Message::new("ev-licensing-role-absent", &[]), vec![]));
    }

    if let Some(deny) = &facts.deny_connections {
        let key = deny.key.unwrap_or(paths::TERMINAL_SERVER);
        let allow = RegEdit::Set { key: paths::TERMINAL_SERVER, name: "fDenyTSConnections", value: RegValue::Dword(0) };
        if deny.value == 0 {
            out.push(finding(
                Check::Connections,
                Severity::Ok,
                Message::new("ev-connections-allowed", &[("key", key)]),
                vec![],
            ));
        } else if deny.source == SettingSource::Policy {
            blocked = true;
            let local = deny.local.as_ref().map(|(v, _)| v.to_string()).unwrap_or_else(|| "-".into());
            let fixes = vec![Fix::registry(
                RegEdit::DeleteValue { key: paths::POLICY_TERMINAL_SERVICES, name: "fDenyTSConnections" },
                FixTarget::Windows,
                Message::new("fix-policy-connections", &[]),
                None,
            )];
            out.push(finding(
                Check::Connections,
                Severity::Error,
                Message::new("ev-connections-denied-policy", &[("key", key), ("local", &local)]),
                fixes,
            ));
        } else {
            blocked = true;
            out.push(finding(
                Check::Connections,
                Severity::Error,
                Message::new("ev-connections-denied", &[("key", key)]),
                vec![Fix::registry(allow, FixTarget::Windows, Message::new("fix-connections", &[]), None)],
            ));
        }
    }

    if let Some(port) = facts.rdp_port {
        let key = if port == 3389 { "ev-port" } else { "ev-port-custom" };
        let severity = if port == 3389 { Severity::Ok } else { Severity::Info };
        out.push(finding(Check::RdpPort, severity, Message::new(key, &[("port", &port.to_string())]), vec![]));
    }

    for ((name, key, effect, severity), start) in SERVICES.iter().zip(facts.service_starts) {
        let Some(start) = start else { continue };
        if start == SERVICE_DISABLED {
            blocked |= *name == "TermService";
            let manual = RegEdit::Set { key, name: "Start", value: RegValue::Dword(3) };
            out.push(finding(
                Check::Services,
                *severity,
                Message::new(effect, &[]),
                vec![Fix::registry(manual, FixTarget::Windows, Message::new("fix-service-start", &[]), None)],
            ));
        } else {
            let start_name = match start {
                0 => "boot",
                1 => "system",
                2 => "automatic",
                3 => "manual",
                _ => "?",
            };
            out.push(finding(
                Check::Services,
                Severity::Ok,
                Message::new("ev-service-start", &[("service", name), ("start", &start.to_string()), ("name", start_name)]),
                vec![],
            ));
        }
    }
    (out, blocked)
}

/// The Group Policy findings: for `LicensingMode` and the license servers, when a policy value is in effect, which
/// source won; a warning when the local value differs (or is absent), since a `reg add` of the local value then has
/// no effect, with fixes that name the policy.
pub fn precedence_findings(settings: &LicensingSettings, target: FixTarget) -> Vec<Finding> {
    let mut out = Vec::new();
    let mode = &settings.mode;
    if mode.source == SettingSource::Policy {
        let policy_key = mode.key.unwrap_or(paths::POLICY_TERMINAL_SERVICES);
        let value = mode.value.to_string();
        if mode.policy_shadows_local() {
            let (local, local_key) = match &mode.local {
                Some((v, k)) => (v.to_string(), *k),
                None => ("-".to_owned(), paths::LICENSING_CORE),
            };
            let name = mode_name(mode.value);
            let fixes = policy_fixes(
                target,
                "LicensingMode",
                RegValue::Dword(mode.value),
                Message::new("fix-policy-mode", &[("mode", &value), ("name", name)]),
            );
            out.push(finding(
                Check::Policy,
                Severity::Warning,
                Message::new(
                    "ev-policy-mode-shadows",
                    &[("mode", &value), ("key", policy_key), ("local", &local), ("local_key", local_key)],
                ),
                fixes,
            ));
        } else {
            out.push(finding(
                Check::Policy,
                Severity::Info,
                Message::new("ev-policy-mode", &[("mode", &value), ("key", policy_key)]),
                vec![],
            ));
        }
    }
    let servers = &settings.license_servers;
    if servers.source == SettingSource::Policy {
        let policy_key = servers.key.unwrap_or(paths::POLICY_TERMINAL_SERVICES);
        let list = servers.value.join(", ");
        if servers.policy_shadows_local() {
            let (local, local_key) = match &servers.local {
                Some((v, k)) => (v.join(", "), *k),
                None => ("-".to_owned(), paths::TERMSERVICE_LICENSE_SERVERS),
            };
            let fixes = policy_fixes(
                target,
                "LicenseServers",
                RegValue::Sz(servers.value.join(",")),
                Message::new("fix-policy-servers", &[]),
            );
            out.push(finding(
                Check::Policy,
                Severity::Warning,
                Message::new(
                    "ev-policy-servers-shadows",
                    &[("servers", &list), ("key", policy_key), ("local", &local), ("local_key", local_key)],
                ),
                fixes,
            ));
        } else {
            out.push(finding(
                Check::Policy,
                Severity::Info,
                Message::new("ev-policy-servers", &[("servers", &list), ("key", policy_key)]),
                vec![],
            ));
        }
    }
    out
}

fn mode_name(mode: u32) -> &'static str {
    match mode {
        2 => "per-device",
        4 => "per-user",
        5 => "not-configured",
        _ => "invalid",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Cause;
    use crate::Lang;
    use rdlic_core::winreg::MemoryRegistry;

    const POLICY: &str = paths::POLICY_TERMINAL_SERVICES;

    /// A Windows Server session host as Windows installs it: role installed, Remote Desktop allowed, services
    /// manual, port 3389, grace period started; licensing as the caller sets it.
    fn server() -> MemoryRegistry {
        let mut reg = MemoryRegistry::new();
        reg.set(paths::RDS_RD_SERVER, "InstallState", RegValue::Dword(1));
        reg.set(paths::TERMINAL_SERVER, "fDenyTSConnections", RegValue::Dword(0));
        reg.set(paths::RDP_TCP, "PortNumber", RegValue::Dword(3389));
        for (_, key, _, _) in SERVICES {
            reg.set(key, "Start", RegValue::Dword(3));
        }
        reg.create_key(paths::GRACE_PERIOD);
        reg
    }

    fn configured() -> MemoryRegistry {
        let mut reg = server();
        reg.set(paths::LICENSING_CORE, "LicensingMode", RegValue::Dword(4));
        reg.set(paths::TERMSERVICE_LICENSE_SERVERS, "SpecifiedLicenseServers", RegValue::MultiSz(vec!["ls1.contoso.com".into()]));
        reg
    }

    fn run(reg: &MemoryRegistry) -> Diagnosis {
        diagnose_registry(reg, "test.reg", &FixHints::default())
    }

    fn commands(d: &Diagnosis) -> Vec<String> {
        d.findings.iter().flat_map(|f| &f.fixes).map(|f| f.command.clone()).collect()
    }

    fn texts(d: &Diagnosis, lang: Lang) -> String {
        let mut out = String::new();
        for f in &d.findings {
            for text in std::iter::once(f.evidence.render(lang)).chain(f.fixes.iter().map(|x| x.explanation.render(lang))) {
                assert!(!text.starts_with('[') && !text.contains("{$"), "{lang:?}: {text}");
                out.push_str(&text);
                out.push('\n');
            }
        }
        out
    }

    fn find(d: &Diagnosis, check: Check) -> Vec<&Finding> {
        d.findings.iter().filter(|f| f.check == check).collect()
    }

    #[test]
    fn configured_host_can_license() {
        let d = run(&configured());
        assert!(d.can_license, "{:#?}", d.findings);
        assert!(d.findings.iter().all(|f| f.severity <= Severity::Info), "{:#?}", d.findings);
        assert!(find(&d, Check::Policy).is_empty());
        assert_eq!(find(&d, Check::Services).len(), 3);
        let en = texts(&d, Lang::En);
        assert!(en.contains("ls1.contoso.com: not contacted"), "{en}");
        assert!(en.contains("RCM\\GracePeriod) exists"), "{en}");
        texts(&d, Lang::Fr);
    }

    #[test]
    fn cause_1_no_license_server_mode_not_configured() {
        let mut reg = server();
        reg.set(paths::LICENSING_CORE, "LicensingMode", RegValue::Dword(5));
        let d = diagnose_registry(&reg, "x.reg", &FixHints { license_server: Some("ls1.contoso.com".into()) });
        assert!(!d.can_license);
        assert_eq!(d.causes(), vec![Cause::NoLicenseServer]);
        let c = commands(&d);
        assert!(c.contains(&r#"reg add "HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM\Licensing Core" /v LicensingMode /t REG_DWORD /d 4 /f"#.to_owned()), "{c:#?}");
        assert!(c.contains(&r#"reg add "HKLM\SYSTEM\CurrentControlSet\Services\TermService\Parameters\LicenseServers" /v SpecifiedLicenseServers /t REG_MULTI_SZ /d ls1.contoso.com /f"#.to_owned()), "{c:#?}");
        assert!(c.contains(&"dism /Online /Disable-Feature /FeatureName:Remote-Desktop-Services".to_owned()), "{c:#?}");
        // Nothing is applied by `--fix` on a Windows registry.
        assert!(d.safe_changes().is_empty());
        let en = texts(&d, Lang::En);
        assert!(en.contains("does not show how much of it is left"), "{en}");
        assert!(texts(&d, Lang::Fr).contains("période de grâce"));
    }

    #[test]
    fn cause_4_servers_but_mode_not_configured() {
        let mut reg = configured();
        reg.set(paths::LICENSING_CORE, "LicensingMode", RegValue::Dword(5));
        let d = run(&reg);
        assert!(!d.can_license);
        assert_eq!(d.causes(), vec![Cause::CalsMisconfigured]);
    }

    #[test]
    fn invalid_mode_is_named() {
        let mut reg = configured();
        reg.set(paths::LICENSING_CORE, "LicensingMode", RegValue::Dword(3));
        assert_eq!(run(&reg).causes(), vec![Cause::InvalidMode]);
    }

    #[test]
    fn policy_overrides_local_mode_and_local_add_has_no_effect() {
        let mut reg = configured();
        // The administrator ran the article's `reg add ... /d 4` while a policy says 5 (not configured).
        reg.set(POLICY, "LicensingMode", RegValue::Dword(5));
        let d = run(&reg);
        assert!(!d.can_license);
        assert_eq!(d.causes(), vec![Cause::CalsMisconfigured]);
        let policy = find(&d, Check::Policy);
        assert_eq!(policy.len(), 1);
        assert_eq!(policy[0].severity, Severity::Warning);
        assert_eq!(policy[0].evidence.key, "ev-policy-mode-shadows");
        // The mode fix names the policy, not the local key the administrator already edited.
        let mode_fixes = &find(&d, Check::LicensingMode)[0].fixes;
        assert_eq!(mode_fixes[0].command, format!(r#"reg add "{POLICY}" /v LicensingMode /t REG_DWORD /d 4 /f"#));
        assert_eq!(mode_fixes[1].command, format!(r#"reg delete "{POLICY}" /v LicensingMode /f"#));
        assert!(!commands(&d).iter().any(|c| c.contains("Licensing Core")), "{:#?}", commands(&d));
        let en = texts(&d, Lang::En);
        assert!(en.contains("a reg add of the local value has no effect while the policy is set"), "{en}");
        assert!(en.contains("Set the Remote Desktop licensing mode"), "{en}");
        assert!(en.contains("Remote Desktop Session Host > Licensing"), "{en}");
        let fr = texts(&d, Lang::Fr);
        assert!(fr.contains("stratégie de groupe") && fr.contains("reste sans effet"), "{fr}");
    }

    #[test]
    fn policy_same_as_local_is_information() {
        let mut reg = configured();
        reg.set(POLICY, "LicensingMode", RegValue::Dword(4));
        let d = run(&reg);
        assert!(d.can_license);
        let policy = find(&d, Check::Policy);
        assert_eq!((policy.len(), policy[0].severity, policy[0].evidence.key), (1, Severity::Info, "ev-policy-mode"));
    }

    #[test]
    fn policy_license_servers_win_over_specified_license_servers() {
        let mut reg = configured();
        reg.set(POLICY, "LicenseServers", RegValue::Sz("ls9.contoso.com,ls8.contoso.com".into()));
        let d = run(&reg);
        assert!(d.can_license);
        let policy = find(&d, Check::Policy);
        assert_eq!(policy[0].evidence.key, "ev-policy-servers-shadows");
        assert_eq!(policy[0].fixes[0].command, format!(r#"reg add "{POLICY}" /v LicenseServers /t REG_SZ /d "ls9.contoso.com,ls8.contoso.com" /f"#));
        let listed = find(&d, Check::Reachable);
        assert_eq!(listed.iter().filter_map(|f| f.server.as_deref()).collect::<Vec<_>>(), vec!["ls9.contoso.com", "ls8.contoso.com"]);
    }

    #[test]
    fn servers_under_the_articles_key_are_accepted_and_reported() {
        let mut reg = server();
        reg.set(paths::LICENSING_CORE, "LicensingMode", RegValue::Dword(2));
        reg.set(paths::TERMSERVICE_PARAMETERS, "SpecifiedLicenseServers", RegValue::MultiSz(vec!["ls1".into()]));
        let d = run(&reg);
        assert!(d.can_license);
        let servers = find(&d, Check::LicenseServers);
        assert_eq!(servers[0].evidence.key, "ev-servers-under-parameters");
        assert!(texts(&d, Lang::En).contains(r"found under HKLM\SYSTEM\CurrentControlSet\Services\TermService\Parameters,"));
    }

    #[test]
    fn connections_denied_locally_and_by_policy() {
        let mut reg = configured();
        reg.set(paths::TERMINAL_SERVER, "fDenyTSConnections", RegValue::Dword(1));
        let d = run(&reg);
        assert!(!d.can_license);
        let deny = find(&d, Check::Connections);
        assert_eq!((deny[0].severity, deny[0].evidence.key), (Severity::Error, "ev-connections-denied"));
        assert_eq!(
            deny[0].fixes[0].command,
            r#"reg add "HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server" /v fDenyTSConnections /t REG_DWORD /d 0 /f"#
        );
        // Local 0, policy 1: the policy wins and the fix names it.
        reg.set(paths::TERMINAL_SERVER, "fDenyTSConnections", RegValue::Dword(0));
        reg.set(POLICY, "fDenyTSConnections", RegValue::Dword(1));
        let d = run(&reg);
        assert!(!d.can_license);
        let deny = find(&d, Check::Connections);
        assert_eq!(deny[0].evidence.key, "ev-connections-denied-policy");
        assert_eq!(deny[0].fixes[0].command, format!(r#"reg delete "{POLICY}" /v fDenyTSConnections /f"#));
        // Local 1, policy 0: allowed, from the policy.
        reg.set(paths::TERMINAL_SERVER, "fDenyTSConnections", RegValue::Dword(1));
        reg.set(POLICY, "fDenyTSConnections", RegValue::Dword(0));
        let d = run(&reg);
        assert!(d.can_license);
        assert_eq!(find(&d, Check::Connections)[0].evidence.render(Lang::En), format!("fDenyTSConnections = 0 (under {POLICY}): Remote Desktop connections are allowed."));
    }

    #[test]
    fn disabled_services_and_custom_port() {
        let mut reg = configured();
        reg.set(paths::SERVICE_UMRDPSERVICE, "Start", RegValue::Dword(4));
        reg.set(paths::RDP_TCP, "PortNumber", RegValue::Dword(3390));
        let d = run(&reg);
        assert!(d.can_license);
        let disabled: Vec<&Finding> = find(&d, Check::Services).into_iter().filter(|f| f.severity == Severity::Warning).collect();
        assert_eq!(disabled.len(), 1);
        assert_eq!(disabled[0].fixes[0].command, r#"reg add "HKLM\SYSTEM\CurrentControlSet\Services\UmRdpService" /v Start /t REG_DWORD /d 3 /f"#);
        assert_eq!(find(&d, Check::RdpPort)[0].evidence.key, "ev-port-custom");
        reg.set(paths::SERVICE_TERMSERVICE, "Start", RegValue::Dword(4));
        let d = run(&reg);
        assert!(!d.can_license);
        assert!(find(&d, Check::Services).iter().any(|f| f.severity == Severity::Error));
        texts(&d, Lang::Fr);
    }

    #[test]
    fn roles_and_grace_key() {
        // Role removed (the article's dism): remote administration, no licensing; the system checks still show.
        let mut reg = server();
        reg.set(paths::RDS_RD_SERVER, "InstallState", RegValue::Dword(0));
        reg.set(POLICY, "LicensingMode", RegValue::Dword(2));
        let d = run(&reg);
        assert!(d.can_license);
        assert_eq!(d.findings[0].evidence.key, "ev-role-not-installed");
        assert!(!find(&d, Check::Policy).is_empty());
        // ServerComponentCache without RDS-RD-Server: never installed.
        let mut reg = configured();
        reg.remove_value(paths::RDS_RD_SERVER, "InstallState");
        reg.create_key(r"HKLM\SOFTWARE\Microsoft\ServerManager\ServicingStorage\ServerComponentCache\RDS-Licensing");
        assert_eq!(registry_facts(&reg).role, RoleState::Absent);
        assert!(run(&reg).can_license);
        // No ServerComponentCache at all: unknown, taken as installed, and said.
        let mut reg = configured();
        reg.remove_key(r"HKLM\SOFTWARE\Microsoft\ServerManager");
        let d = run(&reg);
        assert_eq!(registry_facts(&reg).role, RoleState::Unknown);
        assert!(d.findings.iter().any(|f| f.evidence.key == "ev-role-unknown"));
        // Licensing role and grace key.
        let mut reg = configured();
        reg.create_key(paths::SERVICE_TERMSERVLICENSING);
        reg.set(paths::RDS_LICENSING, "InstallState", RegValue::Dword(1));
        reg.remove_key(paths::GRACE_PERIOD);
        let d = run(&reg);
        let en = texts(&d, Lang::En);
        assert!(en.contains("also a license server (Services\\TermServLicensing exists, RDS-Licensing InstallState = 1)"), "{en}");
        assert!(en.contains("no grace-period key"), "{en}");
        assert!(!en.to_lowercase().contains("reset it") || en.contains("does not recommend resetting"), "{en}");
    }

    #[test]
    fn offline_fix_commands_fill_the_slot() {
        let mut reg = configured();
        reg.set(POLICY, "LicensingMode", RegValue::Dword(5));
        let d = run(&reg).with_offline_fixes(|edit| match edit {
            RegEdit::Set { key, name, .. } => Some(format!("offline set {key} {name}")),
            RegEdit::DeleteValue { key, name } => Some(format!("offline delete {key} {name}")),
        });
        let fixes: Vec<&Fix> = d.findings.iter().flat_map(|f| &f.fixes).collect();
        assert!(fixes.iter().filter(|f| f.registry_edit.is_some()).all(|f| f.offline_command.is_some()));
        assert!(fixes.iter().any(|f| f.offline_command.as_deref() == Some(&format!("offline delete {POLICY} LicensingMode"))));
    }
}
