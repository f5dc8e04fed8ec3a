//! `rdlic host run` reporting to its license servers (`rdlic_host::report`): the reports travel with the host's
//! enrollment certificate (`rdlic_api::client::LicenseServerClient`), the findings are those of
//! `rdlic diagnose --json` (`rdlic-diag`), computed off the async workers.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rdlic_host::config::HostConfig;
use rdlic_host::grace::Clock;
use rdlic_host::report::{BoxFuture, Findings, FindingsFn, ReportSink, ReporterOptions, SendError};
use rdlic_api::client::LicenseServerClient;

/// Seconds between two reports unless `--report-interval-secs` says otherwise.
pub(crate) const DEFAULT_INTERVAL_SECS: u64 = 300;
/// Wait after a refusal before reporting it.
const DEBOUNCE: Duration = Duration::from_secs(1);

/// A license server reached with this host's enrollment.
#[derive(Debug)]
struct ServerSink {
    name: String,
    client: LicenseServerClient,
    /// The enrollment directory (the certificate to renew).
    dir: std::path::PathBuf,
}

impl ReportSink for ServerSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn send<'a>(&'a self, body: &'a [u8]) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            match self.client.request_raw("POST", "/api/v1/host/report", Some(body.to_vec())).await {
                Ok((200, _)) => Ok(()),
                Ok((status, text)) => {
                    let message = serde_json::from_str::<serde_json::Value>(&text)
                        .ok()
                        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
                        .unwrap_or(text);
                    let message = format!("HTTP {status}: {message}");
                    // The content was refused: sending it again would be refused again. 401/403 (enrollment) and
                    // 5xx are not about the report: it is sent again later.
                    if matches!(status, 400 | 413 | 422) {
                        Err(SendError::Refused(message))
                    } else {
                        Err(SendError::Failed(message))
                    }
                }
                Err(e) => Err(SendError::Failed(e.to_string())),
            }
        })
    }

    fn renew_certificate(&self, now: i64, within_days: u32) -> BoxFuture<'_, Result<bool, String>> {
        Box::pin(async move {
            LicenseServerClient::renew_if_due(&self.dir, Some(self.client.url()), now, within_days)
                .await
                .map(|renewed| renewed.is_some())
                .map_err(|e| e.to_string())
        })
    }
}

/// Sinks for the enrolled license servers of `SpecifiedLicenseServers`, in order (`local` has none).
fn sinks(dir: &Path, config: &HostConfig) -> Vec<Arc<dyn ReportSink>> {
    let timeout = Duration::from_millis(config.license_server_timeout_ms.max(1000));
    config
        .license_servers()
        .iter()
        .filter(|name| name.as_str() != "local")
        .filter_map(|name| {
            let url = if name.contains("://") { name.clone() } else { format!("https://{name}") };
            let client = LicenseServerClient::from_dir(dir, Some(&url)).ok()?.with_timeout(timeout);
            let sink: Arc<dyn ReportSink> = Arc::new(ServerSink { name: name.clone(), client, dir: dir.to_owned() });
            Some(sink)
        })
        .collect()
}

/// `rdlic diagnose` on this host, as JSON findings.
fn findings_fn(dir: &Path, clock_offset_days: i64) -> FindingsFn {
    let options = rdlic_diag::gather::GatherOptions {
        host_dir: dir.to_owned(),
        clock_offset_days,
        host_cal_version: rdlic_diag::gather::DEFAULT_HOST_CAL_VERSION,
        timeout: Duration::from_secs(5),
    };
    Arc::new(move || {
        let options = options.clone();
        Box::pin(async move {
            let computed = tokio::task::spawn_blocking(move || {
                let (snapshot, servers) = rdlic_diag::gather::gather(&options).ok()?;
                let diagnosis = rdlic_diag::checks::diagnose(&snapshot, &servers, &rdlic_diag::checks::FixHints::default());
                let lang = rdlic_diag::Lang::from_env();
                let json = rdlic_diag::output::to_json(&diagnosis, &options.host_dir.display().to_string(), lang, None);
                let findings = json.get("findings").and_then(|f| f.as_array()).cloned().unwrap_or_default();
                Some(Findings { can_license: Some(diagnosis.can_license), findings })
            })
            .await;
            computed.ok().flatten()
        })
    })
}

/// Starts the reporter of a running host (a background task on the current runtime).
pub(crate) fn spawn(
    dir: &Path,
    config: &HostConfig,
    clock_offset_days: i64,
    interval_secs: u64,
    status: tokio::sync::watch::Receiver<rdlic_host::HostStatus>,
) {
    if interval_secs == 0 {
        tracing::info!("reports to the license server are off (--report-interval-secs 0)");
        return;
    }
    let options = ReporterOptions {
        dir: dir.to_owned(),
        config: config.clone(),
        clock: Clock::with_offset_days(clock_offset_days),
        interval: Duration::from_secs(interval_secs),
        debounce: DEBOUNCE,
    };
    tokio::spawn(rdlic_host::report::run(options, sinks(dir, config), findings_fn(dir, clock_offset_days), status));
}
