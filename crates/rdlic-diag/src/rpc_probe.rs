//! `rdlic probe --license-server HOST[:PORT]`: the seed article's `telnet <server> 135`, done properly, against a
//! Windows RD license server.
//!
//! The telnet test passes in the most common broken case: the endpoint mapper answers on 135 while the licensing
//! interface is not registered, or its dynamic port is blocked. This probe goes as far as a session host would
//! before its first licensing call, over ncacn_ip_tcp:
//!
//! 1. resolve the name; 2. TCP to the endpoint mapper (135); 3. bind to it (`ept` v3.0) and `ept_map` for the
//!    Terminal Server Licensing interface (3d267954-eeb7-11d1-b94e-00c04fa3080d v1.0); 4. TCP to the port it
//!    returns; 5. bind to the licensing interface. No licensing method is called.
//!
//! One [`Verdict`] per server, with the evidence of each step. A bind proves that the license server's RPC
//! interface is reachable from here; not that the server is activated or has CALs.
//!
//! The PDUs are [`dcerpc`]'s (sans-IO); here only tokio TCP, framing and timeouts.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use dcerpc::client::{frag_length, Client, ClientConfig, ClientError, Outcome, Step};
use dcerpc::epm::{EptMapRequest, EptMapResponse, EptStatus, EPM_TCP_PORT, EPT_MAP_OPNUM};
use dcerpc::pdu::Header;
use dcerpc::SyntaxId;
use serde::Serialize;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::catalog::{keys, Key, Lang};

/// What to probe.
#[derive(Debug, Clone)]
pub struct RpcProbeOptions {
    /// `HOST[:PORT]` of the endpoint mapper (port 135 when omitted; `[v6]:port` for IPv6)
    pub target: String,
    /// Limit for each step (resolving, each connect, each answer)
    pub timeout: Duration,
}

impl RpcProbeOptions {
    /// `target` with a 5 s timeout per step.
    pub fn new(target: &str) -> Self {
        Self { target: target.to_owned(), timeout: Duration::from_secs(5) }
    }
}

/// One tower of the `ept_map` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TowerEvidence {
    /// RPC protocol floor (0x0b: connection-oriented) and transport floor (0x07: TCP), by name
    pub protocol: String,
    /// TCP port
    pub port: Option<u16>,
    /// IPv4 address
    pub ip: Option<String>,
}

/// What the endpoint mapper answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EptMapEvidence {
    /// `status` (0, or e.g. 0x16c9a0d6 EPT_S_NOT_REGISTERED)
    pub status: u32,
    /// Its name
    pub status_name: Option<&'static str>,
    /// The towers
    pub towers: Vec<TowerEvidence>,
}

/// The outcome, one per server.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// The name does not resolve.
    NameNotResolved {
        /// The resolver's error
        error: String,
    },
    /// TCP to the endpoint mapper was refused (or the host is unreachable): nothing listens on 135.
    EndpointMapperClosed {
        /// The error
        error: String,
    },
    /// TCP to the endpoint mapper did not answer within the timeout: a firewall drops it.
    EndpointMapperFiltered {
        /// The timeout, seconds
        timeout_secs: f64,
    },
    /// Something answered on the endpoint mapper's port but the bind or `ept_map` failed.
    EndpointMapperFailed {
        /// What went wrong
        error: String,
    },
    /// The endpoint mapper answers, and the licensing interface is not registered with it over TCP.
    NotRegistered {
        /// `ept_map` status
        status: u32,
        /// Towers returned (0, or none usable over TCP)
        towers: usize,
    },
    /// The interface is registered on a port that refuses or drops connections from here (the firewall case).
    InterfaceUnreachable {
        /// `ip:port` tried
        address: String,
        /// `true`: no answer within the timeout (dropped); `false`: refused
        filtered: bool,
        /// The error
        error: String,
    },
    /// The licensing port answered but the bind exchange failed (closed, timed out, not DCE/RPC).
    InterfaceFailed {
        /// `ip:port`
        address: String,
        /// What went wrong
        error: String,
    },
    /// The licensing interface accepted the bind: the license server is reachable over RPC.
    Reachable {
        /// `ip:port`
        address: String,
        /// The bind_ack's secondary address (the port as the server names it)
        secondary_address: String,
    },
    /// The licensing port answered the bind with a refusal.
    BindRefused {
        /// `ip:port`
        address: String,
        /// `bind_nak` or `context-rejected`
        how: &'static str,
        /// The reason code (bind_nak `provider_reject_reason`, or the context's provider reason)
        reason: u16,
        /// Its name
        reason_name: Option<&'static str>,
    },
}

impl Verdict {
    /// A stable kind, for JSON consumers and tests.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NameNotResolved { .. } => "name-not-resolved",
            Self::EndpointMapperClosed { .. } => "endpoint-mapper-closed",
            Self::EndpointMapperFiltered { .. } => "endpoint-mapper-filtered",
            Self::EndpointMapperFailed { .. } => "endpoint-mapper-failed",
            Self::NotRegistered { .. } => "not-registered",
            Self::InterfaceUnreachable { .. } => "interface-unreachable",
            Self::InterfaceFailed { .. } => "interface-failed",
            Self::Reachable { .. } => "reachable",
            Self::BindRefused { .. } => "bind-refused",
        }
    }

    /// Whether the endpoint mapper itself could not be used (nothing known about the licensing interface).
    pub fn endpoint_mapper_unusable(&self) -> bool {
        matches!(
            self,
            Self::NameNotResolved { .. }
                | Self::EndpointMapperClosed { .. }
                | Self::EndpointMapperFiltered { .. }
                | Self::EndpointMapperFailed { .. }
        )
    }
}

/// The probe's report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RpcProbeReport {
    /// As given
    pub target: String,
    /// The endpoint mapper's `ip:port`, once resolved
    pub endpoint_mapper: Option<String>,
    /// The `ept_map` answer, once asked
    pub ept_map: Option<EptMapEvidence>,
    /// The licensing interface's `ip:port`, once known
    pub interface_address: Option<String>,
    /// The verdict
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Wall time, milliseconds
    pub millis: f64,
}

impl RpcProbeReport {
    /// The licensing interface accepted the bind.
    pub fn reachable(&self) -> bool {
        matches!(self.verdict, Verdict::Reachable { .. })
    }
}

/// `HOST[:PORT]`, `[V6]:PORT` or a bare IPv6 address; `default_port` when none.
pub fn split_target(target: &str, default_port: u16) -> (String, u16) {
    let target = target.trim();
    if let Some(rest) = target.strip_prefix('[') {
        if let Some((host, tail)) = rest.split_once(']') {
            let port = tail.strip_prefix(':').and_then(|p| p.parse().ok()).unwrap_or(default_port);
            return (host.to_owned(), port);
        }
    }
    match target.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(port) => (host.to_owned(), port),
            Err(_) => (target.to_owned(), default_port),
        },
        _ => (target.to_owned(), default_port),
    }
}

/// Runs the probe on a runtime of its own (for callers that are not async).
pub fn run(options: &RpcProbeOptions) -> RpcProbeReport {
    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(run_async(options)),
        Err(error) => RpcProbeReport {
            target: options.target.clone(),
            endpoint_mapper: None,
            ept_map: None,
            interface_address: None,
            verdict: Verdict::EndpointMapperFailed { error: format!("cannot start the probe's runtime: {error}") },
            millis: 0.0,
        },
    }
}

/// Runs the probe.
pub async fn run_async(options: &RpcProbeOptions) -> RpcProbeReport {
    let start = Instant::now();
    let mut report = RpcProbeReport {
        target: options.target.clone(),
        endpoint_mapper: None,
        ept_map: None,
        interface_address: None,
        verdict: Verdict::EndpointMapperFailed { error: String::new() },
        millis: 0.0,
    };
    report.verdict = steps(options, &mut report).await;
    report.millis = (start.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
    report
}

async fn steps(options: &RpcProbeOptions, report: &mut RpcProbeReport) -> Verdict {
    let timeout = options.timeout;
    let (host, port) = split_target(&options.target, EPM_TCP_PORT);

    // 1. The name.
    let resolved = tokio::time::timeout(timeout, tokio::net::lookup_host((host.as_str(), port))).await;
    let epm_addr = match resolved {
        Ok(Ok(mut addrs)) => match addrs.next() {
            Some(addr) => addr,
            None => return Verdict::NameNotResolved { error: format!("{host}: no address") },
        },
        Ok(Err(error)) => return Verdict::NameNotResolved { error: format!("{host}: {error}") },
        Err(_) => return Verdict::NameNotResolved { error: format!("{host}: no answer within {timeout:?}") },
    };
    report.endpoint_mapper = Some(epm_addr.to_string());

    // 2. TCP to the endpoint mapper.
    let mut epm = match connect(epm_addr, timeout).await {
        Ok(stream) => stream,
        Err(ConnectError::Timeout) => return Verdict::EndpointMapperFiltered { timeout_secs: timeout.as_secs_f64() },
        Err(ConnectError::Io(error)) => return Verdict::EndpointMapperClosed { error: error.to_string() },
    };

    // 3. Bind to the endpoint mapper and ept_map.
    let query = match EptMapRequest::ncacn_ip_tcp(SyntaxId::TS_LICENSING_V1).encode() {
        Ok(query) => query,
        Err(error) => return Verdict::EndpointMapperFailed { error: error.to_string() },
    };
    let config = ClientConfig { interface: SyntaxId::EPM_V3, call: Some((EPT_MAP_OPNUM, query)) };
    let outcome = match exchange(&mut epm, config, timeout).await {
        Ok(outcome) => outcome,
        Err(error) => return Verdict::EndpointMapperFailed { error: error.to_string() },
    };
    drop(epm);
    let answer = match outcome {
        Outcome::Response { stub, little_endian, .. } => match EptMapResponse::decode(&stub, little_endian) {
            Ok(answer) => answer,
            Err(error) => return Verdict::EndpointMapperFailed { error: format!("ept_map answer: {error}") },
        },
        // Some endpoint mappers fault with the ept status instead of answering with it.
        Outcome::Fault { fault, .. } if fault.status.0 == EptStatus::EPT_S_NOT_REGISTERED.0 => {
            let status = EptStatus(fault.status.0);
            report.ept_map = Some(EptMapEvidence { status: status.0, status_name: status.name(), towers: vec![] });
            return Verdict::NotRegistered { status: status.0, towers: 0 };
        }
        Outcome::Fault { fault, .. } => {
            return Verdict::EndpointMapperFailed { error: format!("ept_map fault {}", fault.status) }
        }
        Outcome::BindRefused(nak) => {
            return Verdict::EndpointMapperFailed { error: format!("bind_nak {}", nak.reason) }
        }
        Outcome::ContextRejected { answer, .. } => {
            return Verdict::EndpointMapperFailed {
                error: format!("bind_ack rejected the endpoint mapper: {} {}", answer.result, answer.reason),
            }
        }
        Outcome::Bound(_) => return Verdict::EndpointMapperFailed { error: "no ept_map answer".into() },
    };
    let towers: Vec<_> = answer.towers.iter().map(|t| t.summary()).collect();
    report.ept_map = Some(EptMapEvidence {
        status: answer.status.0,
        status_name: answer.status.name(),
        towers: towers
            .iter()
            .map(|t| TowerEvidence {
                protocol: format!(
                    "{}/{}",
                    t.rpc_protocol.and_then(|p| p.name()).unwrap_or("?"),
                    t.transport.and_then(|p| p.name()).unwrap_or("?")
                ),
                port: t.port,
                ip: t.ip.map(|ip| ip.to_string()),
            })
            .collect(),
    });
    let tcp_port = towers
        .iter()
        .filter(|t| {
            t.interface == Some(SyntaxId::TS_LICENSING_V1)
                && t.transport == Some(dcerpc::epm::ProtocolId::TCP)
                && t.port.is_some_and(|p| p != 0)
        })
        .find_map(|t| t.port);
    let interface_port = match (answer.status, tcp_port) {
        (EptStatus::OK, Some(port)) => port,
        (status, _) => return Verdict::NotRegistered { status: status.0, towers: towers.len() },
    };

    // 4. TCP to the interface's port, on the address that answered on 135 (as the Windows RPC runtime does: the
    // tower's address is the server's view of itself, not necessarily reachable from here).
    let interface_addr = SocketAddr::new(epm_addr.ip(), interface_port);
    let address = interface_addr.to_string();
    report.interface_address = Some(address.clone());
    let mut stream = match connect(interface_addr, timeout).await {
        Ok(stream) => stream,
        Err(ConnectError::Timeout) => {
            return Verdict::InterfaceUnreachable {
                address,
                filtered: true,
                error: format!("no answer within {:.1} s", timeout.as_secs_f64()),
            }
        }
        Err(ConnectError::Io(error)) => {
            return Verdict::InterfaceUnreachable { address, filtered: false, error: error.to_string() }
        }
    };

    // 5. Bind, nothing more.
    match exchange(&mut stream, ClientConfig { interface: SyntaxId::TS_LICENSING_V1, call: None }, timeout).await {
        Ok(Outcome::Bound(ack)) => Verdict::Reachable {
            address,
            secondary_address: String::from_utf8_lossy(&ack.secondary_address).into_owned(),
        },
        Ok(Outcome::BindRefused(nak)) => {
            Verdict::BindRefused { address, how: "bind-nak", reason: nak.reason.0, reason_name: nak.reason.name() }
        }
        Ok(Outcome::ContextRejected { answer, .. }) => Verdict::BindRefused {
            address,
            how: "context-rejected",
            reason: answer.reason.0,
            reason_name: answer.reason.name(),
        },
        Ok(other) => Verdict::InterfaceFailed { address, error: format!("unexpected outcome {other:?}") },
        Err(error) => Verdict::InterfaceFailed { address, error: error.to_string() },
    }
}

#[derive(Debug)]
enum ConnectError {
    Timeout,
    Io(std::io::Error),
}

async fn connect(addr: SocketAddr, timeout: Duration) -> Result<TcpStream, ConnectError> {
    match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => {
            let _ = stream.set_nodelay(true);
            Ok(stream)
        }
        Ok(Err(error)) => Err(ConnectError::Io(error)),
        Err(_) => Err(ConnectError::Timeout),
    }
}

/// Why an exchange stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExchangeError {
    /// Socket error
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The peer closed the connection
    #[error("the server closed the connection")]
    Closed,
    /// No answer in time
    #[error("no answer within {0:.1} s")]
    Timeout(f64),
    /// Not DCE/RPC, or not what the state allows
    #[error("{0}")]
    Protocol(#[from] ClientError),
}

/// Runs one association on `stream`: bind, the call if any, the outcome.
async fn exchange(stream: &mut TcpStream, config: ClientConfig, timeout: Duration) -> Result<Outcome, ExchangeError> {
    let mut client = Client::new(config);
    let bind = client.start()?;
    stream.write_all(&bind).await?;
    loop {
        let pdu = read_pdu(stream, timeout).await?;
        match client.handle(&pdu)? {
            Step::Send(bytes) => stream.write_all(&bytes).await?,
            Step::Read => {}
            Step::Done(outcome) => return Ok(outcome),
        }
    }
}

/// Reads one PDU: the 16-byte header, then the rest of `frag_length`.
async fn read_pdu(stream: &mut TcpStream, timeout: Duration) -> Result<Vec<u8>, ExchangeError> {
    let read = async {
        let mut pdu = vec![0u8; Header::LEN];
        stream.read_exact(&mut pdu).await?;
        let len = frag_length(&pdu).map_err(ClientError::from)?;
        pdu.resize(len, 0);
        stream.read_exact(&mut pdu[Header::LEN..]).await?;
        Ok::<_, ExchangeError>(pdu)
    };
    match tokio::time::timeout(timeout, read).await {
        Ok(Err(ExchangeError::Io(e))) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(ExchangeError::Closed),
        Ok(result) => result,
        Err(_) => Err(ExchangeError::Timeout(timeout.as_secs_f64())),
    }
}

/// The report as text in `lang`: the steps with their evidence, the verdict, and what a bind proves.
pub fn render(report: &RpcProbeReport, lang: Lang) -> String {
    let mut out = Vec::new();
    let none = "-".to_owned();
    out.push(lang.text(
        keys::RPC_PROBE_TITLE,
        &[("target", &report.target), ("address", report.endpoint_mapper.as_ref().unwrap_or(&none))],
    ));
    if let Some(ept_map) = &report.ept_map {
        let status = match ept_map.status_name {
            Some(name) => format!("{name} ({:#010x})", ept_map.status),
            None => format!("{:#010x}", ept_map.status),
        };
        out.push(lang.text(
            keys::RPC_PROBE_EPT_MAP,
            &[("status", &status), ("count", &ept_map.towers.len().to_string())],
        ));
        for tower in &ept_map.towers {
            let port = tower.port.map_or_else(|| none.clone(), |p| p.to_string());
            out.push(format!("    {}", lang.text(
                keys::RPC_PROBE_TOWER,
                &[("protocol", &tower.protocol), ("port", &port), ("ip", tower.ip.as_ref().unwrap_or(&none))],
            )));
        }
    }
    let (key, args) = verdict_message(&report.verdict);
    let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let verdict = lang.text(keys::RPC_VERDICT, &[("text", &lang.text(key, &args))]);
    out.push(verdict);
    let meaning = match &report.verdict {
        Verdict::Reachable { .. } => keys::RPC_PROVES_REACHABLE,
        v if v.endpoint_mapper_unusable() => keys::RPC_MEANS_EPM,
        _ => keys::RPC_MEANS_INTERFACE,
    };
    out.push(lang.text(meaning, &[]));
    out.push(String::new());
    out.join("\n")
}

/// The catalogue message of a verdict, with its arguments (shared with `rdlic diagnose`'s findings).
pub fn verdict_message(verdict: &Verdict) -> (Key, Vec<(&'static str, String)>) {
    match verdict {
        Verdict::NameNotResolved { error } => (keys::RPC_VERDICT_NAME_NOT_RESOLVED, vec![("error", error.clone())]),
        Verdict::EndpointMapperClosed { error } => (keys::RPC_VERDICT_EPM_CLOSED, vec![("error", error.clone())]),
        Verdict::EndpointMapperFiltered { timeout_secs } => {
            (keys::RPC_VERDICT_EPM_FILTERED, vec![("seconds", format!("{timeout_secs:.1}"))])
        }
        Verdict::EndpointMapperFailed { error } => (keys::RPC_VERDICT_EPM_FAILED, vec![("error", error.clone())]),
        Verdict::NotRegistered { status, towers } => (
            keys::RPC_VERDICT_NOT_REGISTERED,
            vec![("status", format!("{status:#010x}")), ("count", towers.to_string())],
        ),
        Verdict::InterfaceUnreachable { address, filtered, error } => (
            if *filtered { keys::RPC_VERDICT_PORT_FILTERED } else { keys::RPC_VERDICT_PORT_CLOSED },
            vec![("address", address.clone()), ("error", error.clone())],
        ),
        Verdict::InterfaceFailed { address, error } => {
            (keys::RPC_VERDICT_INTERFACE_FAILED, vec![("address", address.clone()), ("error", error.clone())])
        }
        Verdict::Reachable { address, .. } => (keys::RPC_VERDICT_REACHABLE, vec![("address", address.clone())]),
        Verdict::BindRefused { address, how, reason, reason_name } => {
            let reason = match reason_name {
                Some(name) => format!("{name} ({reason})"),
                None => reason.to_string(),
            };
            let key = if *how == "bind-nak" { keys::RPC_VERDICT_BIND_NAK } else { keys::RPC_VERDICT_CONTEXT_REJECTED };
            (key, vec![("address", address.clone()), ("reason", reason)])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(split_target("ls1", 135), ("ls1".into(), 135));
        assert_eq!(split_target("ls1:1135", 135), ("ls1".into(), 1135));
        assert_eq!(split_target("10.0.0.5", 135), ("10.0.0.5".into(), 135));
        assert_eq!(split_target("[::1]:99", 135), ("::1".into(), 99));
        assert_eq!(split_target("[::1]", 135), ("::1".into(), 135));
        assert_eq!(split_target("::1", 135), ("::1".into(), 135));
    }
}
