//! `rdlic probe HOST:PORT`: an RDP client that reports what a server does in its licensing phase (security
//! protocol, time of each connection phase, License Request, valid client / new or upgraded licence / refusal
//! with Error Alert and ERRINFO codes, and the message users see), in English or French.
//!
//! Exit code: 0 when the server lets this client past licensing, 1 when it refuses it, 2 when the probe could not
//! reach the licensing phase.
//!
//! `rdlic probe --license-server HOST[:PORT]` probes a Windows RD license server instead, over DCE/RPC: endpoint
//! mapper on 135, `ept_map` for the licensing interface, bind to it on the port returned (`rdlic_diag::rpc_probe`).
//! Exit code: 0 when the licensing interface accepts the bind, 1 when the endpoint mapper answers but the interface
//! cannot be bound (not registered, port unreachable, bind refused), 2 when the endpoint mapper cannot be used.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use rdlic_diag::probe::{self, LicensingResult, ProbeOptions};
use rdlic_diag::Lang;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// RDP server, HOST:PORT (port 3389 when omitted)
    #[arg(required_unless_present = "license_server", conflicts_with = "license_server")]
    target: Option<String>,
    /// Windows RD license server, HOST[:PORT] (port 135 when omitted): endpoint mapper, ept_map for the licensing
    /// interface, bind to it (no licensing call)
    #[arg(long, value_name = "HOST[:PORT]")]
    license_server: Option<String>,
    /// Administrative (console) connection, as `mstsc /admin`: Client Cluster Data with
    /// REDIRECTED_SESSIONID_FIELD_VALID and session id 0
    #[arg(long)]
    admin: bool,
    /// User name for the Client Info PDU and the licence request
    #[arg(long, default_value = "probe")]
    user: String,
    /// Password for the Client Info PDU (a host takes an --admin connection only from its admin account)
    #[arg(long, env = "RDLIC_PROBE_PASSWORD", default_value = "", hide_default_value = true)]
    password: String,
    /// Client name (GCC client core data, licence request machine name, hardware id seed)
    #[arg(long, default_value = "rdlic-probe")]
    client_hostname: String,
    /// CAL store: a licence received is saved there and presented on the next probe
    #[arg(long)]
    license_dir: Option<PathBuf>,
    /// Seconds to wait for each server PDU
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// Print the report as JSON
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    // `--lang` is the binary's global option (`rdlic diagnose --lang fr` still works).
    let lang = crate::i18n::lang();
    let target = match (args.target, args.license_server) {
        (_, Some(server)) => return license_server(&server, Duration::from_secs(args.timeout.max(1)), args.json, lang),
        (Some(target), None) => target,
        (None, None) => anyhow::bail!("name an RDP server, or a license server with --license-server"),
    };
    let options = ProbeOptions {
        target: target.clone(),
        admin: args.admin,
        user: args.user,
        password: args.password,
        client_hostname: args.client_hostname,
        license_dir: args.license_dir,
        timeout: Duration::from_secs(args.timeout.max(1)),
    };
    let report = probe::run(&options);
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        if let Some(object) = value.as_object_mut() {
            object.insert("admitted".into(), report.admitted().into());
            object.insert("explained".into(), explained(&report, lang));
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print!("{}", rdlic_diag::explain::render_probe(&report, lang));
    }
    let reached_licensing = !matches!(report.licensing, LicensingResult::Incomplete) || report.error_info.is_some();
    Ok(if report.admitted() {
        ExitCode::SUCCESS
    } else if reached_licensing {
        ExitCode::from(1)
    } else {
        ExitCode::from(2)
    })
}

/// `--license-server`: the DCE/RPC probe of a Windows license server.
fn license_server(target: &str, timeout: Duration, json: bool, lang: Lang) -> anyhow::Result<ExitCode> {
    use rdlic_diag::rpc_probe::{self, RpcProbeOptions};
    let report = rpc_probe::run(&RpcProbeOptions { target: target.to_owned(), timeout });
    if json {
        let mut value = serde_json::to_value(&report)?;
        if let Some(object) = value.as_object_mut() {
            object.insert("reachable".into(), report.reachable().into());
            object.insert("explained".into(), serde_json::json!({ "text": rpc_probe::render(&report, lang) }));
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print!("{}", rpc_probe::render(&report, lang));
    }
    Ok(if report.reachable() {
        ExitCode::SUCCESS
    } else if report.verdict.endpoint_mapper_unusable() {
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    })
}

/// Meanings and client messages of the codes in the report, in `lang`.
fn explained(report: &probe::ProbeReport, lang: Lang) -> serde_json::Value {
    use rdlic_diag::explain;
    let mut out = serde_json::Map::new();
    if let LicensingResult::ErrorAlert { error_code, state_transition } = report.licensing {
        out.insert("error_code".into(), serde_json::json!(explain::error_code(error_code, lang)));
        out.insert("state_transition".into(), serde_json::json!(explain::state_transition(state_transition, lang)));
    }
    if let Some(code) = report.error_info {
        out.insert("error_info".into(), serde_json::json!(explain::error_info(code, lang)));
    }
    out.insert("text".into(), rdlic_diag::explain::render_probe(report, lang).into());
    serde_json::Value::Object(out)
}
