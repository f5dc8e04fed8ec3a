//! Rust client of the license server API (async, tokio): [`LicenseServerClient`] for session hosts (mutual TLS) and
//! [`AdminClient`] for the CLI (bearer token). See the crate documentation for the endpoint list.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Method, Request, StatusCode};
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::pki;
use crate::tls;
use crate::wire::{
    ChainResponse, DeviceCalBatchRequest, DeviceCalBatchResponse, DeviceCalBatchResult, DeviceCalReason,
    DeviceCalRequest, DeviceCalResponse, EnrollRequest, EnrollResponse, HostRenewRequest, HostRenewResponse, PingResponse, StatusResponse, UserCalRequest,
    UserCalResponse, MAX_DEVICE_CAL_BATCH,
};

/// The client identity of each enrollment directory of this process, replaced by the certificate and key given.
fn identity_of(dir: &Path, cert: &X509, key: &PKey<Private>) -> Result<Arc<tls::ClientIdentity>, ClientError> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock, PoisonError};
    static IDENTITIES: OnceLock<Mutex<HashMap<PathBuf, Arc<tls::ClientIdentity>>>> = OnceLock::new();
    let key_dir = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
    let mut map = IDENTITIES.get_or_init(Mutex::default).lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(existing) = map.get(&key_dir) {
        existing.replace(cert, key)?;
        return Ok(existing.clone());
    }
    let identity = tls::ClientIdentity::new(cert, key)?;
    map.insert(key_dir, identity.clone());
    Ok(identity)
}

/// File names inside a host's enrollment directory.
pub const HOST_CERT_FILE: &str = "client.crt";
/// The host's private key (mode 0600).
pub const HOST_KEY_FILE: &str = "client.key";
/// The license server's TLS CA.
pub const HOST_CA_FILE: &str = "server-ca.crt";
/// The server URL and ids (JSON).
pub const HOST_ENROLLMENT_FILE: &str = "enrollment.json";

/// A client-side failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The URL is not `https://host[:port]`.
    #[error("bad server url {0:?}: expected https://HOST[:PORT]")]
    BadUrl(String),
    /// TCP connect or TLS handshake failed.
    #[error("cannot reach the license server at {url}: {reason}; check that `rdlic server run` is up and the address is right")]
    Connect {
        /// Server URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// No answer within the timeout.
    #[error("the license server at {0} did not answer in time")]
    Timeout(String),
    /// The server answered with an error.
    #[error("license server refused ({status} {code}): {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// Error code from the body.
        code: String,
        /// Error message from the body.
        message: String,
    },
    /// The answer was not the expected JSON.
    #[error("unexpected answer from the license server: {0}")]
    Decode(String),
    /// Local TLS setup.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// Local key/certificate files.
    #[error(transparent)]
    Pki(#[from] pki::PkiError),
}

impl ClientError {
    /// The HTTP status when the server answered with an error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// Idle keep-alive connections kept per endpoint.
const MAX_IDLE: usize = 32;

/// One HTTPS endpoint (host, port, TLS config) with a pool of idle keep-alive connections shared by its clones.
#[derive(Debug, Clone)]
struct Endpoint {
    url: String,
    host: String,
    port: u16,
    tls: Arc<rustls::ClientConfig>,
    timeout: Duration,
    idle: Arc<std::sync::Mutex<Vec<Sender>>>,
}

fn parse_url(url: &str) -> Result<(String, u16), ClientError> {
    let rest = url.strip_prefix("https://").ok_or_else(|| ClientError::BadUrl(url.to_owned()))?;
    let hostport = rest.split('/').next().unwrap_or_default();
    if hostport.is_empty() {
        return Err(ClientError::BadUrl(url.to_owned()));
    }
    if let Some(v6) = hostport.strip_prefix('[') {
        let (h, tail) = v6.split_once(']').ok_or_else(|| ClientError::BadUrl(url.to_owned()))?;
        let port = match tail.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| ClientError::BadUrl(url.to_owned()))?,
            None => 443,
        };
        return Ok((h.to_owned(), port));
    }
    match hostport.rsplit_once(':') {
        Some((h, p)) => Ok((h.to_owned(), p.parse().map_err(|_| ClientError::BadUrl(url.to_owned()))?)),
        None => Ok((hostport.to_owned(), 443)),
    }
}

impl Endpoint {
    fn new(url: &str, tls: Arc<rustls::ClientConfig>) -> Result<Self, ClientError> {
        let (host, port) = parse_url(url)?;
        Ok(Self {
            url: url.trim_end_matches('/').to_owned(),
            host,
            port,
            tls,
            timeout: Duration::from_secs(10),
            idle: Arc::new(std::sync::Mutex::new(Vec::new())),
        })
    }

    async fn call_raw(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, Bytes), ClientError> {
        let fut = self.call_inner(method, path, bearer, body);
        tokio::time::timeout(self.timeout, fut).await.map_err(|_| ClientError::Timeout(self.url.clone()))?
    }

    async fn connect(&self) -> Result<Sender, ClientError> {
        let connect_err = |reason: String| ClientError::Connect { url: self.url.clone(), reason };
        let tcp = TcpStream::connect((self.host.as_str(), self.port)).await.map_err(|e| connect_err(e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        let name = tls::server_name(&self.host)?;
        let stream =
            TlsConnector::from(self.tls.clone()).connect(name, tcp).await.map_err(|e| connect_err(e.to_string()))?;
        let io = hyper_util::rt::TokioIo::new(stream);
        let (sender, conn) = hyper::client::conn::http1::handshake(io).await.map_err(|e| connect_err(e.to_string()))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    fn take_idle(&self) -> Option<Sender> {
        let mut idle = self.idle.lock().ok()?;
        while let Some(s) = idle.pop() {
            if !s.is_closed() {
                return Some(s);
            }
        }
        None
    }

    fn put_idle(&self, sender: Sender) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < MAX_IDLE && !sender.is_closed() {
                idle.push(sender);
            }
        }
    }

    async fn call_inner(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, Bytes), ClientError> {
        let connect_err = |reason: String| ClientError::Connect { url: self.url.clone(), reason };
        let body = Bytes::from(body.unwrap_or_default());
        let make = || {
            let mut req = Request::builder().method(method.clone()).uri(path).header("host", self.host.as_str());
            if let Some(t) = bearer {
                req = req.header("authorization", format!("Bearer {t}"));
            }
            if !body.is_empty() {
                req = req.header("content-type", "application/json");
            }
            req.body(Full::new(body.clone())).map_err(|e| ClientError::Decode(e.to_string()))
        };
        // A pooled connection first; if the server closed it meanwhile, once more on a fresh one (every call of the
        // API is safe to repeat: a repeated CAL request returns the CAL already recorded for the device).
        let mut attempt = self.take_idle();
        loop {
            let pooled = attempt.is_some();
            let mut sender = match attempt.take() {
                Some(s) => s,
                None => self.connect().await?,
            };
            if sender.ready().await.is_err() {
                if pooled {
                    continue;
                }
                return Err(connect_err("connection closed before the request".to_owned()));
            }
            let resp = match sender.send_request(make()?).await {
                Ok(r) => r,
                Err(_) if pooled => continue,
                Err(e) => return Err(connect_err(e.to_string())),
            };
            let status = resp.status();
            let bytes = resp.into_body().collect().await.map_err(|e| connect_err(e.to_string()))?.to_bytes();
            self.put_idle(sender);
            return Ok((status, bytes));
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Result<T, ClientError> {
        let (status, bytes) = self.call_raw(method, path, bearer, body).await?;
        check(status, &bytes)?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()))
    }
}

fn check(status: StatusCode, bytes: &[u8]) -> Result<(), ClientError> {
    if status.is_success() {
        return Ok(());
    }
    let v: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    Err(ClientError::Api {
        status: status.as_u16(),
        code: v.get("code").and_then(|c| c.as_str()).unwrap_or("unknown").to_owned(),
        message: v
            .get("error")
            .and_then(|c| c.as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| String::from_utf8_lossy(bytes).into_owned()),
    })
}

fn json<T: Serialize>(v: &T) -> Result<Vec<u8>, ClientError> {
    serde_json::to_vec(v).map_err(|e| ClientError::Decode(e.to_string()))
}

/// What a session host passes for a per-device CAL request (MS-RDPELE 2.2.2.3 fields the host received).
#[derive(Debug, Clone)]
pub struct DeviceCalAsk {
    /// CLIENT_HARDWARE_ID, 20 bytes (PlatformId, Data1..Data4).
    pub hardware_id: [u8; 20],
    /// ClientMachineName.
    pub client_machine: String,
    /// ClientUserName.
    pub user: String,
    /// PlatformId.
    pub platform_id: u32,
    /// The host's product version (year), e.g. 2022.
    pub host_version: u16,
    /// Serial of the CAL the client presented, if any.
    pub presented_serial: Option<String>,
    /// The licensing attempt's id (see [`crate::wire::DeviceCalRequest::request_id`]): the same on every server
    /// the attempt is retried on.
    pub request_id: Option<String>,
}

/// A CAL as the host receives it. `cal` holds the license server certificate then the licence certificate
/// (`rdpele::cal::parse_cal` reads it; verify with the public key of [`LicenseServerClient::server_chain`]'s first
/// certificate).
#[derive(Debug, Clone)]
pub struct IssuedCal {
    /// The CAL bytes (MS-RDPELE 2.2.2.9), to send in the New/Upgrade License PDU.
    pub cal: Vec<u8>,
    /// Serial (hex).
    pub serial: String,
    /// Permanent or temporary.
    pub permanent: bool,
    /// CAL version (year).
    pub version: u16,
    /// Unix seconds.
    pub issued_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

impl TryFrom<DeviceCalResponse> for IssuedCal {
    type Error = ClientError;
    fn try_from(r: DeviceCalResponse) -> Result<Self, ClientError> {
        use base64::Engine as _;
        let cal = base64::engine::general_purpose::STANDARD
            .decode(r.cal_b64.as_bytes())
            .map_err(|e| ClientError::Decode(format!("cal_b64: {e}")))?;
        Ok(Self {
            cal,
            serial: r.serial,
            permanent: r.kind == "permanent",
            version: r.version,
            issued_at: r.issued_at,
            expires_at: r.expires_at,
        })
    }
}

/// The session host's client of one license server (mutual TLS with the certificate from enrollment).
#[derive(Debug, Clone)]
pub struct LicenseServerClient {
    endpoint: Endpoint,
    product: Option<crate::wire::CalProduct>,
    /// When the server last answered 404 to `POST /api/v1/cal/device/batch` (an older server), shared by clones.
    batch_refused_at: Arc<std::sync::Mutex<Option<std::time::Instant>>>,
}

/// How long a server that answered 404 to the batch endpoint is asked one request at a time before the batch
/// endpoint is tried again (the server may have been upgraded meanwhile).
const BATCH_RETRY_AFTER: Duration = Duration::from_secs(600);

/// One per-device CAL request of [`LicenseServerClient::device_cals_batch`]: why the host asks, for which device.
#[derive(Debug, Clone)]
pub struct DeviceCalItem {
    /// Issue, upgrade or renew (what [`LicenseServerClient::issue_device_cal`], [`LicenseServerClient::upgrade`] and
    /// [`LicenseServerClient::renew`] send).
    pub reason: DeviceCalReason,
    /// The device.
    pub ask: DeviceCalAsk,
}

impl LicenseServerClient {
    /// Enrolls this host once: trades `token` for a client certificate and writes `client.crt`, `client.key`
    /// (0600, generated locally; only a CSR leaves the host), `server-ca.crt` and `enrollment.json` into `dir`.
    ///
    /// `server_ca_pem` pins the server's TLS CA (copy `ca.crt` from the server's data dir); `None` trusts the CA the
    /// server presents on first contact (trust on first use — the one-time token authenticates the host, not the
    /// server).
    pub async fn enroll(
        url: &str,
        token: &str,
        host_name: &str,
        dir: &Path,
        server_ca_pem: Option<&[u8]>,
    ) -> Result<EnrollResponse, ClientError> {
        let tls_cfg = match server_ca_pem {
            Some(pem) => tls::client_config(&tls::first_cert(pem)?, None)?,
            None => tofu_config()?,
        };
        let ep = Endpoint::new(url, tls_cfg)?;
        let key = pki::generate_ec()?;
        let csr = pki::make_csr(&key, host_name)?;
        let req = EnrollRequest {
            token: token.to_owned(),
            host_name: host_name.to_owned(),
            csr_pem: Some(String::from_utf8_lossy(&csr).into_owned()),
        };
        let resp: EnrollResponse = ep.call(Method::POST, "/api/v1/enroll", None, Some(json(&req)?)).await?;
        std::fs::create_dir_all(dir).map_err(|source| pki::PkiError::Io { path: dir.display().to_string(), source })?;
        pki::write_secret(&dir.join(HOST_KEY_FILE), &key.private_key_to_pem_pkcs8().map_err(pki::PkiError::from)?)?;
        pki::write_public(&dir.join(HOST_CERT_FILE), resp.certificate_pem.as_bytes())?;
        pki::write_public(&dir.join(HOST_CA_FILE), resp.ca_pem.as_bytes())?;
        let meta = serde_json::json!({ "server_url": url, "host_id": resp.host_id, "server_id": resp.server_id });
        pki::write_public(&dir.join(HOST_ENROLLMENT_FILE), meta.to_string().as_bytes())?;
        Ok(resp)
    }

    /// A client from an enrollment directory written by [`LicenseServerClient::enroll`]; `url` overrides the
    /// server URL recorded there (same server reached under another address).
    ///
    /// Every client of one directory presents the same [`tls::ClientIdentity`]: when the host renews its
    /// certificate ([`LicenseServerClient::renew_if_due`]), all of them present the new one from their next
    /// connection on.
    pub fn from_dir(dir: &Path, url: Option<&str>) -> Result<Self, ClientError> {
        let cert = tls::first_cert(&pki::read(&dir.join(HOST_CERT_FILE))?)?;
        let key: PKey<Private> =
            PKey::private_key_from_pem(&pki::read(&dir.join(HOST_KEY_FILE))?).map_err(pki::PkiError::from)?;
        let ca = tls::first_cert(&pki::read(&dir.join(HOST_CA_FILE))?)?;
        let identity = identity_of(dir, &cert, &key)?;
        let url = match url {
            Some(u) => u.to_owned(),
            None => {
                let meta: serde_json::Value = serde_json::from_slice(&pki::read(&dir.join(HOST_ENROLLMENT_FILE))?)
                    .map_err(|e| ClientError::Decode(format!("{HOST_ENROLLMENT_FILE}: {e}")))?;
                meta.get("server_url")
                    .and_then(|v| v.as_str())
                    .ok_or_else(|| ClientError::Decode(format!("{HOST_ENROLLMENT_FILE}: no server_url")))?
                    .to_owned()
            }
        };
        let cfg = tls::client_config_with_identity(&ca, identity)?;
        Ok(Self { endpoint: Endpoint::new(&url, cfg)?, product: None, batch_refused_at: Arc::default() })
    }

    /// Renews this host's enrollment certificate (in `dir`, as [`LicenseServerClient::from_dir`] reads it) when it
    /// ends less than `within_days` days after `now` (Unix seconds, the host clock): a new key and CSR, sent to
    /// `POST /api/v1/host/renew` over mutual TLS with the current certificate; the new key and certificate replace
    /// the files (each written to a temporary file and renamed) and every client of `dir` presents them from its
    /// next connection on. The server keeps accepting the old certificate until it expires. `Ok(None)` when no
    /// renewal is due.
    pub async fn renew_if_due(
        dir: &Path,
        url: Option<&str>,
        now: i64,
        within_days: u32,
    ) -> Result<Option<HostRenewResponse>, ClientError> {
        let cert = tls::first_cert(&pki::read(&dir.join(HOST_CERT_FILE))?)?;
        let deadline = openssl::asn1::Asn1Time::from_unix(now.saturating_add(i64::from(within_days) * 86_400))
            .map_err(pki::PkiError::from)?;
        if cert.not_after() > deadline {
            return Ok(None);
        }
        let cn = cert
            .subject_name()
            .entries_by_nid(openssl::nid::Nid::COMMONNAME)
            .next()
            .and_then(|e| e.data().to_string().ok())
            .unwrap_or_else(|| "session host".to_owned());
        let client = Self::from_dir(dir, url)?;
        let key = pki::generate_ec()?;
        let csr = pki::make_csr(&key, &cn)?;
        let req = HostRenewRequest { csr_pem: String::from_utf8_lossy(&csr).into_owned() };
        let resp: HostRenewResponse =
            client.endpoint.call(Method::POST, "/api/v1/host/renew", None, Some(json(&req)?)).await?;
        let new_cert = tls::first_cert(resp.certificate_pem.as_bytes())?;
        let key_pem = key.private_key_to_pem_pkcs8().map_err(pki::PkiError::from)?;
        let (key_tmp, cert_tmp) = (dir.join(format!("{HOST_KEY_FILE}.new")), dir.join(format!("{HOST_CERT_FILE}.new")));
        pki::write_secret(&key_tmp, &key_pem)?;
        pki::write_public(&cert_tmp, resp.certificate_pem.as_bytes())?;
        let rename = |from: &Path, to: &Path| {
            std::fs::rename(from, to).map_err(|source| pki::PkiError::Io { path: to.display().to_string(), source })
        };
        rename(&key_tmp, &dir.join(HOST_KEY_FILE))?;
        rename(&cert_tmp, &dir.join(HOST_CERT_FILE))?;
        identity_of(dir, &new_cert, &key)?;
        Ok(Some(resp))
    }

    /// A client from explicit parts (`client` = certificate and key from enrollment; `None` only reaches ping).
    pub fn new(url: &str, server_ca: &X509, client: Option<(&X509, &PKey<Private>)>) -> Result<Self, ClientError> {
        let cfg = tls::client_config(server_ca, client.map(|(c, k)| (c, k.as_ref())))?;
        Ok(Self { endpoint: Endpoint::new(url, cfg)?, product: None, batch_refused_at: Arc::default() })
    }

    /// Sets the PRODUCT_INFO (MS-RDPELE 2.2.2.1.1) this host sends in its License Request; the server writes it
    /// into every CAL it issues to this client. Default: Microsoft Corporation, A02, 10.0.
    pub fn with_product(mut self, product: crate::wire::CalProduct) -> Self {
        self.product = Some(product);
        self
    }

    /// Changes the per-request timeout (default 10 s): hosts fail over to the next server after it.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.endpoint.timeout = timeout;
        self
    }

    /// The server URL.
    pub fn url(&self) -> &str {
        &self.endpoint.url
    }

    /// `GET /api/v1/ping`: is the server up, and which server id.
    pub async fn ping(&self) -> Result<PingResponse, ClientError> {
        self.endpoint.call(Method::GET, "/api/v1/ping", None, None).await
    }

    /// `GET /api/v1/status`: activated? CALs installed/issued/available per type and version.
    pub async fn status(&self) -> Result<StatusResponse, ClientError> {
        self.endpoint.call(Method::GET, "/api/v1/status", None, None).await
    }

    /// `GET /api/v1/chain`: certificates (DER, leaf first) to validate this server's CALs locally.
    pub async fn server_chain(&self) -> Result<Vec<Vec<u8>>, ClientError> {
        use base64::Engine as _;
        let r: ChainResponse = self.endpoint.call(Method::GET, "/api/v1/chain", None, None).await?;
        r.certificates_b64
            .iter()
            .map(|c| {
                base64::engine::general_purpose::STANDARD
                    .decode(c.as_bytes())
                    .map_err(|e| ClientError::Decode(format!("certificates_b64: {e}")))
            })
            .collect()
    }

    fn device_request(&self, reason: DeviceCalReason, ask: &DeviceCalAsk) -> DeviceCalRequest {
        DeviceCalRequest {
            reason,
            hardware_id: hex::encode(ask.hardware_id),
            client_machine: ask.client_machine.clone(),
            user: ask.user.clone(),
            platform_id: ask.platform_id,
            host_version: ask.host_version,
            presented_serial: ask.presented_serial.clone(),
            product: self.product.clone(),
            request_id: ask.request_id.clone(),
        }
    }

    async fn device(&self, reason: DeviceCalReason, ask: &DeviceCalAsk) -> Result<IssuedCal, ClientError> {
        let req = self.device_request(reason, ask);
        let r: DeviceCalResponse =
            self.endpoint.call(Method::POST, "/api/v1/cal/device", None, Some(json(&req)?)).await?;
        r.try_into()
    }

    /// First connection of a device: a temporary CAL (or permanent when the server already tracks it so).
    pub async fn issue_device_cal(&self, ask: &DeviceCalAsk) -> Result<IssuedCal, ClientError> {
        self.device(DeviceCalReason::Issue, ask).await
    }

    /// The client presented a temporary CAL: a permanent CAL when the server is activated and has one free;
    /// otherwise the same temporary CAL comes back (check [`IssuedCal::permanent`]).
    pub async fn upgrade(&self, ask: &DeviceCalAsk) -> Result<IssuedCal, ClientError> {
        self.device(DeviceCalReason::Upgrade, ask).await
    }

    /// The presented CAL expires within 7 days: renewed for a new random 52–89-day period.
    pub async fn renew(&self, ask: &DeviceCalAsk) -> Result<IssuedCal, ClientError> {
        self.device(DeviceCalReason::Renew, ask).await
    }

    /// Several per-device CAL requests in one HTTPS request (`POST /api/v1/cal/device/batch`, at most
    /// [`MAX_DEVICE_CAL_BATCH`] per request; longer lists go in several requests, one after another): one result
    /// per item, in order, each what [`LicenseServerClient::issue_device_cal`] / [`LicenseServerClient::upgrade`] /
    /// [`LicenseServerClient::renew`] would have returned for it (an item the server refused is
    /// [`ClientError::Api`] with the status of the single endpoint). `Err` is a failure of the whole request
    /// (unreachable, timeout, host not enrolled).
    ///
    /// A server that answers 404 (an older server without the batch endpoint) is asked one request per item
    /// (concurrently) instead, and for the next 10 minutes without trying the batch endpoint first.
    pub async fn device_cals_batch(
        &self,
        items: &[DeviceCalItem],
    ) -> Result<Vec<Result<IssuedCal, ClientError>>, ClientError> {
        let mut out = Vec::with_capacity(items.len());
        for chunk in items.chunks(MAX_DEVICE_CAL_BATCH) {
            if self.batch_refused_recently() {
                out.extend(self.device_cals_one_by_one(chunk).await);
                continue;
            }
            match self.device_cals_chunk(chunk).await {
                Err(ClientError::Api { status: 404, .. }) => {
                    if let Ok(mut at) = self.batch_refused_at.lock() {
                        *at = Some(std::time::Instant::now());
                    }
                    tracing::info!(url = %self.endpoint.url, "the license server has no batch endpoint (an older version): asking one CAL per request");
                    out.extend(self.device_cals_one_by_one(chunk).await);
                }
                other => out.extend(other?),
            }
        }
        Ok(out)
    }

    fn batch_refused_recently(&self) -> bool {
        self.batch_refused_at
            .lock()
            .ok()
            .and_then(|at| *at)
            .is_some_and(|at| at.elapsed() < BATCH_RETRY_AFTER)
    }

    async fn device_cals_chunk(&self, items: &[DeviceCalItem]) -> Result<Vec<Result<IssuedCal, ClientError>>, ClientError> {
        let req = DeviceCalBatchRequest {
            requests: items.iter().map(|i| self.device_request(i.reason, &i.ask)).collect(),
        };
        let r: DeviceCalBatchResponse =
            self.endpoint.call(Method::POST, "/api/v1/cal/device/batch", None, Some(json(&req)?)).await?;
        if r.results.len() != items.len() {
            return Err(ClientError::Decode(format!(
                "{} results for {} requests in a batch answer",
                r.results.len(),
                items.len()
            )));
        }
        Ok(r.results
            .into_iter()
            .map(|result| match result {
                DeviceCalBatchResult::Issued(cal) => cal.try_into(),
                DeviceCalBatchResult::Failed { error } => {
                    Err(ClientError::Api { status: error.status, code: error.code, message: error.message })
                }
            })
            .collect())
    }

    /// The single endpoint for each item, all at once, answers in item order.
    async fn device_cals_one_by_one(&self, items: &[DeviceCalItem]) -> Vec<Result<IssuedCal, ClientError>> {
        futures_util::future::join_all(items.iter().map(|item| self.device(item.reason, &item.ask))).await
    }

    /// Sends any request with this host's certificate and returns status and body unchecked (diagnostics, tests).
    pub async fn request_raw(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, String), ClientError> {
        let m = Method::from_bytes(method.as_bytes()).map_err(|e| ClientError::Decode(e.to_string()))?;
        let (status, bytes) = self.endpoint.call_raw(m, path, None, body).await?;
        Ok((status.as_u16(), String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// A user signs in on a per-user host: record (or refresh) that user's CAL.
    pub async fn checkout_user_cal(&self, user: &str, host_version: u16) -> Result<UserCalResponse, ClientError> {
        let req = UserCalRequest { user: user.to_owned(), host_version };
        self.endpoint.call(Method::POST, "/api/v1/cal/user", None, Some(json(&req)?)).await
    }
}

/// The files of a license server's data directory that the admin client reads (the server writes them).
pub mod server_files {
    /// TLS CA certificate.
    pub const CA_CERT_FILE: &str = "ca.crt";
    /// Admin bearer token.
    pub const ADMIN_TOKEN_FILE: &str = "admin.token";
    /// URL of the running server.
    pub const URL_FILE: &str = "server.url";
}

/// Admin API client used by the CLI: bearer token, server CA from the data dir.
#[derive(Debug, Clone)]
pub struct AdminClient {
    endpoint: Endpoint,
    token: String,
}

/// Data-dir files the admin client reads.
#[derive(Debug, Clone)]
pub struct AdminFiles {
    /// Server URL (from `--server` or `server.url`).
    pub url: String,
    /// TLS CA path.
    pub ca: PathBuf,
    /// Bearer token.
    pub token: String,
}

impl AdminClient {
    /// A client for `url` trusting `server_ca`, authenticating with `token`.
    pub fn new(url: &str, server_ca: &X509, token: &str) -> Result<Self, ClientError> {
        let cfg = tls::client_config(server_ca, None)?;
        Ok(Self { endpoint: Endpoint::new(url, cfg)?, token: token.trim().to_owned() })
    }

    /// A client from a server data directory (`admin.token`, `ca.crt`, and `server.url` unless `url` is given).
    pub fn from_data_dir(dir: &Path, url: Option<&str>) -> Result<Self, ClientError> {
        let token = String::from_utf8_lossy(&pki::read(&dir.join(server_files::ADMIN_TOKEN_FILE))?).into_owned();
        let ca = tls::first_cert(&pki::read(&dir.join(server_files::CA_CERT_FILE))?)?;
        let url = match url {
            Some(u) => u.to_owned(),
            None => String::from_utf8_lossy(&pki::read(&dir.join(server_files::URL_FILE))?).trim().to_owned(),
        };
        Self::new(&url, &ca, &token)
    }

    /// GET returning JSON.
    pub async fn get(&self, path: &str) -> Result<serde_json::Value, ClientError> {
        self.endpoint.call(Method::GET, path, Some(&self.token), None).await
    }

    /// GET returning the raw body (CSV reports).
    pub async fn get_text(&self, path: &str) -> Result<String, ClientError> {
        let (status, bytes) = self.endpoint.call_raw(Method::GET, path, Some(&self.token), None).await?;
        check(status, &bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Sends any request with the admin token and returns status and body unchecked (tests, scripts).
    pub async fn request_raw(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, String), ClientError> {
        let m = Method::from_bytes(method.as_bytes()).map_err(|e| ClientError::Decode(e.to_string()))?;
        let (status, bytes) = self.endpoint.call_raw(m, path, Some(&self.token), body).await?;
        Ok((status.as_u16(), String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// POST a JSON body, returning JSON.
    pub async fn post(&self, path: &str, body: &serde_json::Value) -> Result<serde_json::Value, ClientError> {
        self.endpoint.call(Method::POST, path, Some(&self.token), Some(json(body)?)).await
    }
}

/// Trust on first use for enrollment without a pinned CA: accept the server's certificate, whatever it is. Only
/// used to send a one-time token and receive our own certificate plus the CA we pin from then on.
fn tofu_config() -> Result<Arc<rustls::ClientConfig>, ClientError> {
    let provider = tls::provider();
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(tls::TlsError::from)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCertificate(provider)))
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// A TLS server-certificate verifier that accepts any certificate but still checks the handshake signatures
/// with it, so the session is real: for trust on first use, probes of arbitrary RDP servers and benchmarks.
#[derive(Debug)]
pub struct AcceptAnyServerCertificate(pub Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyServerCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
