//! License servers reached over the host API (`rdlic-api`): the [`LicenseAuthority`] of an enrolled license
//! server, and the list of authorities and the CAL verifier for a host's `SpecifiedLicenseServers`.
//!
//! Each `SpecifiedLicenseServers` entry is a license server URL (`https://ls1:8443`, or `ls1:8443`); the host talks to
//! it with the client certificate from `rdlic host enroll --dir DIR`. The special entry `local` is an in-process
//! license server (key in `DIR/local-ls/key.pem`) for demos.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rdlic_api::client::{DeviceCalAsk, DeviceCalItem, LicenseServerClient};
use rdlic_core::names::{self, NameKind};
use rdlic_api::wire::DeviceCalReason;

use crate::authority::{
    AuthorityError, BoxFuture, CalRequest, ChainSource, Coalescer, IssuedCal, LicenseAuthority, LocalAuthority,
    LocalCalVerifier, CAL_BATCHES_IN_FLIGHT, MAX_CAL_BATCH,
};
use crate::config::HostConfig;
use crate::policy::CalKind;

/// The in-process license server (`local`) could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocalServerError {
    /// Its key file could not be read or written.
    #[error("{0}: {1}")]
    Key(PathBuf, std::io::Error),
    /// Its key is not usable.
    #[error(transparent)]
    Authority(#[from] AuthorityError),
}

/// The license servers of a host, in `SpecifiedLicenseServers` order.
pub type Authorities = Vec<Arc<dyn LicenseAuthority>>;

/// The license server clients and the CAL verifier for the configured `SpecifiedLicenseServers`.
///
/// The verifier trusts the in-process server's key and the certificate chain of each license server, fetched at
/// start (`GET /api/v1/chain`) and kept in `DIR/trusted/` so that CALs still validate while a server is down. The
/// chains are fetched again every `ChainRefreshSecs` (default 1 h), and at once (at most every
/// [`crate::authority::MIN_CHAIN_REFRESH`]) when a client presents a CAL whose chain is not trusted: a license
/// server re-keyed, or reachable for the first time since the host started, is trusted without a restart.
pub async fn authorities_for(
    dir: &Path,
    config: &HostConfig,
    local_permanent_cals: u32,
) -> Result<(Authorities, Arc<LocalCalVerifier>), LocalServerError> {
    let mut authorities: Vec<Arc<dyn LicenseAuthority>> = Vec::new();
    let mut chains = RemoteChains { fixed: Vec::new(), servers: Vec::new() };
    for name in &config.license_servers() {
        if name == "local" {
            let key_path = dir.join("local-ls").join("key.pem");
            let key = LocalAuthority::load_or_create_key(&key_path)
                .map_err(|e| LocalServerError::Key(key_path, e))?;
            let local = LocalAuthority::new(name, key, local_permanent_cals)?;
            chains.fixed.push(local.public_key()?);
            authorities.push(Arc::new(local));
            continue;
        }
        let url = if name.contains("://") {
            name.clone()
        } else {
            format!("https://{name}")
        };
        match LicenseServerClient::from_dir(dir, Some(&url)) {
            Ok(client) => {
                let timeout = std::time::Duration::from_millis(config.license_server_timeout_ms);
                let client = client.with_timeout(timeout);
                let cache = dir.join("trusted").join(format!("{}.der", sanitize(name)));
                chains.servers.push((name.clone(), client.clone(), cache));
                authorities.push(Arc::new(RemoteAuthority::new(name, client)));
            }
            Err(error) => {
                tracing::warn!(license_server = %name, %error, "no enrollment for this license server (run `rdlic host enroll`); it will be reported as unreachable");
            }
        }
    }
    let trusted = chains.keys().await;
    let verifier = Arc::new(LocalCalVerifier::with_source(trusted, Arc::new(chains)));
    if config.chain_refresh_secs > 0 && !config.license_servers().iter().all(|n| n == "local") {
        let every = std::time::Duration::from_secs(config.chain_refresh_secs);
        let weak = Arc::downgrade(&verifier);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                // The host stopped using the verifier: stop.
                let Some(verifier) = weak.upgrade() else { return };
                verifier.refresh_now().await;
            }
        });
    }
    Ok((authorities, verifier))
}

/// The trusted keys of a host: the in-process server's, and each enrolled license server's chain, fetched (and
/// cached in `DIR/trusted/`) or, when the server does not answer, read from the cache.
#[derive(Debug)]
struct RemoteChains {
    fixed: Vec<rdpele::x509::RsaPublicKey>,
    servers: Vec<(String, LicenseServerClient, PathBuf)>,
}

impl RemoteChains {
    async fn keys(&self) -> Vec<rdpele::x509::RsaPublicKey> {
        let mut trusted = self.fixed.clone();
        for (name, client, cache) in &self.servers {
            let chain = match client.server_chain().await {
                Ok(chain) => {
                    if let Some(parent) = cache.parent() {
                        let _ = std::fs::create_dir_all(parent);
                    }
                    let _ = std::fs::write(cache, chain.concat());
                    chain
                }
                Err(error) => {
                    tracing::warn!(license_server = %name, %error, "cannot fetch the license server's chain; using the cached one");
                    std::fs::read(cache).map(|der| split_der(&der)).unwrap_or_default()
                }
            };
            for der in chain {
                if let Some(key) = rdpele::x509::Certificate::from_der(&der).ok().and_then(|c| c.public_key) {
                    if !trusted.contains(&key) {
                        trusted.push(key);
                    }
                }
            }
        }
        trusted
    }
}

impl ChainSource for RemoteChains {
    fn fetch(&self) -> BoxFuture<'_, Option<Vec<rdpele::x509::RsaPublicKey>>> {
        Box::pin(async move { Some(self.keys().await) })
    }
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Splits concatenated DER certificates (each a SEQUENCE with a definite length).
fn split_der(mut der: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while der.len() >= 2 && der[0] == 0x30 {
        let (header, len) = match der[1] {
            n if n < 0x80 => (2, usize::from(n)),
            0x81 if der.len() >= 3 => (3, usize::from(der[2])),
            0x82 if der.len() >= 4 => (4, usize::from(u16::from_be_bytes([der[2], der[3]]))),
            _ => break,
        };
        let Some(cert) = der.get(..header + len) else {
            break;
        };
        out.push(cert.to_vec());
        der = &der[header + len..];
    }
    out
}

/// A license server reached over its HTTPS API with this host's enrollment certificate. Concurrent per-device
/// requests go out together in batch requests (`POST /api/v1/cal/device/batch`, [`Coalescer`]).
#[derive(Debug)]
struct RemoteAuthority {
    name: String,
    client: LicenseServerClient,
    device: Coalescer<DeviceCalItem, IssuedCal>,
}

/// The product version (year) this host asks CALs for.
const HOST_VERSION: u16 = 2022;

impl RemoteAuthority {
    fn new(name: &str, client: LicenseServerClient) -> Self {
        let batch_client = client.clone();
        let send = Arc::new(move |items: Vec<DeviceCalItem>| -> BoxFuture<'static, _> {
            let client = batch_client.clone();
            Box::pin(async move {
                let answers = client
                    .device_cals_batch(&items)
                    .await
                    .map_err(|e| Self::error(&e))?;
                Ok(answers
                    .into_iter()
                    .map(|a| a.map(Self::convert).map_err(|e| Self::error(&e)))
                    .collect())
            })
        });
        Self {
            name: name.to_owned(),
            client,
            device: Coalescer::new(send, MAX_CAL_BATCH, CAL_BATCHES_IN_FLIGHT),
        }
    }

    fn ask(request: &CalRequest) -> DeviceCalAsk {
        DeviceCalAsk {
            hardware_id: request.hardware_id,
            // Names as the rule shared with the license server allows them (rdlic_core::names).
            client_machine: names::normalize(NameKind::MachineName, &request.machine_name),
            user: names::normalize(NameKind::User, &request.user_name),
            platform_id: request.platform_id,
            host_version: HOST_VERSION,
            presented_serial: Self::presented(request).map(|cal| hex::encode(&cal.serial)),
            request_id: request.request_id.clone(),
        }
    }

    /// The presented CAL, decoded (it was verified by the host before any license server is asked).
    fn presented(request: &CalRequest) -> Option<rdpele::cal::ParsedCal> {
        request
            .presented_cal
            .as_deref()
            .and_then(|cal| rdpele::cal::parse_cal(cal).ok())
    }

    fn error(error: &rdlic_api::client::ClientError) -> AuthorityError {
        match error.status() {
            Some(_) => AuthorityError::CannotIssue(error.to_string()),
            None => AuthorityError::Unreachable(error.to_string()),
        }
    }

    fn convert(cal: rdlic_api::client::IssuedCal) -> IssuedCal {
        IssuedCal {
            cal: cal.cal,
            kind: if cal.permanent {
                CalKind::Permanent
            } else {
                CalKind::Temporary
            },
            expires_at: u64::try_from(cal.expires_at).unwrap_or(0),
        }
    }
}

impl LicenseAuthority for RemoteAuthority {
    fn name(&self) -> &str {
        &self.name
    }

    fn issue_device<'a>(
        &'a self,
        request: &'a CalRequest,
    ) -> BoxFuture<'a, Result<IssuedCal, AuthorityError>> {
        Box::pin(self.device.call(DeviceCalItem {
            reason: DeviceCalReason::Issue,
            ask: Self::ask(request),
        }))
    }

    fn upgrade_device<'a>(
        &'a self,
        request: &'a CalRequest,
    ) -> BoxFuture<'a, Result<IssuedCal, AuthorityError>> {
        Box::pin(async move {
            // A permanent CAL near its expiry is renewed; a temporary one is upgraded.
            let renew = Self::presented(request).is_some_and(|cal| !cal.temporary);
            let reason = if renew {
                DeviceCalReason::Renew
            } else {
                DeviceCalReason::Upgrade
            };
            self.device
                .call(DeviceCalItem {
                    reason,
                    ask: Self::ask(request),
                })
                .await
        })
    }

    fn checkout_user<'a>(&'a self, request: &'a CalRequest) -> BoxFuture<'a, Result<(), AuthorityError>> {
        Box::pin(async move {
            let user_name = names::normalize(NameKind::User, &request.user_name);
            let user = if request.domain.is_empty() {
                user_name
            } else {
                format!("{}\\{user_name}", names::normalize(NameKind::Domain, &request.domain))
            };
            self.client
                .checkout_user_cal(&user, HOST_VERSION)
                .await
                .map(|_| ())
                .map_err(|e| Self::error(&e))
        })
    }
}
