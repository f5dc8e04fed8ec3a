//! The session host's optional Prometheus endpoint (`host.toml` `MetricsListen`): plain HTTP, `GET /metrics` only.
//!
//! A session host has no HTTP service of its own, and its report to the license server goes out every few minutes
//! and is about licensing; the listener's counters are for the monitoring system that already scrapes the license
//! server's `/metrics`. Off by default; bind it to a management address. The endpoint has its own small limits: 16
//! connections at once, 5 s to send the request.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::watch;

use crate::runtime::{HostStatus, Runtime};

/// Connections to the metrics endpoint at once.
const MAX_SCRAPES: usize = 16;
/// Time to send the request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The host's metrics in the Prometheus text format 0.0.4.
pub(crate) fn render(runtime: &Runtime, status: &HostStatus) -> String {
    use std::fmt::Write as _;
    let mut out = runtime.connections.render("rdlic_host");
    let _ = writeln!(out, "# HELP rdlic_host_sessions_active sessions in the active stage");
    let _ = writeln!(out, "# TYPE rdlic_host_sessions_active gauge");
    let _ = writeln!(out, "rdlic_host_sessions_active {}", status.active_sessions);
    let _ = writeln!(out, "# HELP rdlic_host_admin_sessions administrative slots held (at most 2)");
    let _ = writeln!(out, "# TYPE rdlic_host_admin_sessions gauge");
    let _ = writeln!(out, "rdlic_host_admin_sessions {}", status.admin_sessions);
    out
}

/// Serves `GET /metrics` on `listener` until the task is dropped.
pub(crate) async fn serve(listener: tokio::net::TcpListener, runtime: Arc<Runtime>, status: watch::Receiver<HostStatus>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_SCRAPES));
    let mut backoff = rdlic_api::listen::AcceptBackoff::new();
    loop {
        let (mut tcp, _) = match listener.accept().await {
            Ok(x) => {
                backoff.succeeded();
                x
            }
            Err(error) => {
                let delay = backoff.failed();
                tracing::warn!(%error, ?delay, "metrics endpoint: accept failed");
                tokio::time::sleep(delay).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else { continue };
        let runtime = runtime.clone();
        let status = status.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let mut request = Vec::with_capacity(1024);
            let read = async {
                let mut chunk = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 8 * 1024 {
                    let n = tcp.read(&mut chunk).await?;
                    if n == 0 {
                        break;
                    }
                    request.extend_from_slice(chunk.get(..n).unwrap_or_default());
                }
                Ok::<_, std::io::Error>(())
            };
            if !matches!(tokio::time::timeout(REQUEST_TIMEOUT, read).await, Ok(Ok(()))) {
                return;
            }
            let (code, body) = if request.starts_with(b"GET /metrics ") || request.starts_with(b"GET /metrics?") {
                ("200 OK", render(&runtime, &status.borrow()))
            } else {
                ("404 Not Found", "GET /metrics\n".to_owned())
            };
            let answer = format!(
                "HTTP/1.1 {code}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = tokio::time::timeout(REQUEST_TIMEOUT, tcp.write_all(answer.as_bytes())).await;
            let _ = tcp.shutdown().await;
        });
    }
}
