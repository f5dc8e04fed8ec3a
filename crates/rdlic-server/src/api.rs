//! Routes and handlers. Host endpoints check the connection's client certificate against the enrolled hosts in the
//! store on every request (a revoked host is refused at once); admin endpoints check the bearer token. Every store
//! call runs in `spawn_blocking` (the store is synchronous, one committed transaction per call).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use base64::Engine as _;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use rdlic_core::policy::DeviceCalKind;
use rdlic_core::{
    ActivationCertificate, ActivationError, CalVersion, ClearinghouseKey, HardwareId, KeyPackError, ServerId,
    SignedKeyPack, TokenHash,
};
use rdlic_store::{
    CalSerial, DeviceCal, DeviceCalOutcome, EnrolledHost, HostId, InstallOutcome, LicenseStore, RevokeOutcome,
    StoreError, UserCalOutcome,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use rdlic_api::pki::{self, LeafUse};
use rdlic_api::wire;
use rdlic_core::names;

use crate::datadir::DataDir;
use crate::error::{store_error, ApiError};
use crate::metrics::Metrics;
use crate::options::ServerOptions;
use crate::store_handle::StoreHandle;

#[path = "reports.rs"]
pub mod reports;

/// The clearinghouse public key kept in the data dir.
pub const CLEARINGHOUSE_PUB_FILE: &str = "clearinghouse.pub";

/// Client certificates of enrolled hosts are valid this long (re-enroll after).
const HOST_CERT_DAYS: u32 = 825;
/// How long a host found enrolled is trusted without asking the store again. A revocation through this server
/// clears the cache at once; another license server sharing the PostgreSQL database sees it within this time.
const HOST_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(2);
/// Longest accepted text field that is not a name (serials, product strings), in bytes. Names follow
/// [`rdlic_core::names`] (limits in UTF-16 units, the same rule as the session host's).
const MAX_TEXT_FIELD: usize = 256;

/// What the TLS layer knows about the peer of one connection; inserted into every request of that connection.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The remote address.
    pub addr: SocketAddr,
    /// SHA-256 (hex) of the verified client certificate, when the client presented one.
    pub cert_fingerprint: Option<String>,
}

/// Shared state of all handlers.
pub struct AppState {
    store: StoreHandle,
    identity_key: PKey<Private>,
    identity: rdpele::cal::LicenseServerIdentity,
    issuer_name: String,
    ca_key: PKey<Private>,
    ca_cert: X509,
    admin_token: String,
    server_id: ServerId,
    clearinghouse: Option<ClearinghouseKey>,
    /// Metrics (also read by tests and the bench).
    pub metrics: Metrics,
    max_body: usize,
    enforce_per_user: bool,
    touched: std::sync::Mutex<std::collections::HashMap<i64, i64>>,
    /// Enrolled, non-revoked hosts by certificate fingerprint, checked less than [`HOST_CACHE_TTL`] ago.
    host_cache: std::sync::Mutex<std::collections::HashMap<[u8; 32], (EnrolledHost, Instant)>>,
    /// Web sign-ins with the admin password: SHA-256 of the session token → expiry (Unix seconds). In memory: a
    /// restart signs everyone out; the admin token itself never expires.
    pub(crate) admin_sessions: std::sync::Mutex<std::collections::HashMap<[u8; 32], i64>>,
    /// Writes of this server that can change the status answer (activation, pack install, revocation, committed
    /// issuance batches): the status cache is valid for one value of it.
    pub(crate) writes: Arc<std::sync::atomic::AtomicU64>,
    /// The last status answer, the `writes` value and the time it was read at.
    status_cache: std::sync::Mutex<Option<(u64, Instant, wire::StatusResponse)>>,
    batcher: crate::batch::Batcher<DeviceJob, Result<DeviceCalOutcome, ApiError>>,
    /// This server's id and the cluster view (`cluster.rs`).
    pub cluster: crate::cluster::Cluster,
    user_batcher: crate::batch::Batcher<rdlic_store::UserCalRequest, Result<UserCalOutcome, ApiError>>,
    /// CAL signatures: one thread per core.
    signer: crate::signpool::SignPool,
    /// Web logins: their own pool and back-off.
    pub(crate) login: crate::login_guard::LoginGuard,
    /// The open connections of the listener (cap, shedding, counters shown in `/metrics`).
    pub listener: Arc<rdlic_api::listen::ConnectionTable>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print keys or the admin token.
        f.debug_struct("AppState").field("server_id", &self.server_id.to_string()).finish_non_exhaustive()
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl AppState {
    /// Opens the store for the data dir and records the identity.
    pub(crate) async fn open(
        dd: DataDir,
        clearinghouse: Option<ClearinghouseKey>,
        opts: &ServerOptions,
    ) -> Result<Self, String> {
        let dir = dd.dir.clone();
        let url = opts.database.clone().map(|u| {
            if u.contains("://") {
                u
            } else {
                format!("sqlite://{u}")
            }
        });
        let spki = dd.identity_key.public_key_to_der().map_err(|e| e.to_string())?;
        let store: Arc<dyn LicenseStore> = tokio::task::spawn_blocking(move || {
            let store = rdlic_store::open_store(&dir, url.as_deref())?;
            store.init_server_identity(&spki, now())?;
            Ok::<_, StoreError>(store)
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?
        .into();
        let cert_der = dd.identity_cert.to_der().map_err(|e| e.to_string())?;
        let identity = rdpele::cal::LicenseServerIdentity::new(dd.identity_key.clone(), &cert_der)
            .map_err(|e| format!("identity.crt does not match identity.key: {e}"))?;
        let batch = opts.max_batch.max(1);
        let writes = Arc::new(std::sync::atomic::AtomicU64::new(0));
        // Each request of a batch is isolated (its own savepoint): one that fails is answered with its error alone,
        // and the requests of other hosts that share its commit still get their CALs. A request id already recorded
        // (a host retrying on this server what another one granted) gets the CAL recorded for it.
        let batcher = crate::batch::Batcher::spawn(store.clone(), batch, writes.clone(), |s, jobs: &[DeviceJob], decided| {
            let requests: Vec<_> = jobs.iter().map(|j| j.request.clone()).collect();
            let ids: Vec<_> = jobs.iter().map(|j| j.request_id.clone()).collect();
            let server = jobs.first().map(|j| j.server.clone()).unwrap_or_default();
            let outcomes = s.request_device_cals_idempotent(&requests, &ids, &server, &mut |each| {
                decided(&each.iter().cloned().map(|o| o.map_err(request_failed)).collect::<Vec<_>>());
            })?;
            Ok(outcomes.into_iter().map(|o| o.map_err(request_failed)).collect())
        });
        let node_id = crate::cluster::node_id(&dd.dir).map_err(|e| e.to_string())?;
        let user_batcher = crate::batch::Batcher::spawn(store.clone(), batch, writes.clone(), |s, r, _| {
            Ok(s.checkout_user_cals_each(r)?.into_iter().map(|o| o.map_err(request_failed)).collect())
        });
        let signer = crate::signpool::SignPool::per_core().map_err(|e| format!("cannot start the signing threads: {e}"))?;
        let login = crate::login_guard::LoginGuard::start().map_err(|e| format!("cannot start the login thread: {e}"))?;
        Ok(Self {
            login,
            listener: rdlic_api::listen::ConnectionTable::new(opts.max_connections),
            batcher,
            user_batcher,
            signer,
            identity,
            issuer_name: crate::datadir::license_server_name(&dd.server_id),
            store: StoreHandle::new(store),
            identity_key: dd.identity_key,
            ca_key: dd.ca_key,
            ca_cert: dd.ca_cert,
            admin_token: dd.admin_token,
            server_id: dd.server_id,
            clearinghouse,
            metrics: Metrics::default(),
            max_body: opts.max_body,
            enforce_per_user: opts.enforce_per_user,
            touched: std::sync::Mutex::new(std::collections::HashMap::new()),
            host_cache: std::sync::Mutex::new(std::collections::HashMap::new()),
            admin_sessions: std::sync::Mutex::new(std::collections::HashMap::new()),
            writes,
            status_cache: std::sync::Mutex::new(None),
            cluster: crate::cluster::Cluster::new(node_id),
        })
    }

    /// This server's id.
    pub fn server_id(&self) -> ServerId {
        self.server_id
    }

    /// The store (tests and the bench read it directly).
    pub fn store(&self) -> &Arc<dyn LicenseStore> {
        self.store.get()
    }

    pub(crate) async fn blocking<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn LicenseStore) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.store.get().clone();
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .map_err(|e| ApiError::internal(format!("store task failed: {e}")))?
            .map_err(store_error)
    }
}

/// One per-device request in the issuance batcher: the store request, the host's request id, the answering
/// server's node id (recorded with the id).
#[derive(Debug, Clone)]
pub(crate) struct DeviceJob {
    request: rdlic_store::DeviceCalRequest,
    request_id: Option<rdlic_store::RequestId>,
    server: Arc<str>,
}

/// JSON body extractor whose rejections are [`ApiError`]s with a message (serde's text names the field).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Self(v)),
            Err(rej) => Err(json_rejection(rej)),
        }
    }
}

fn json_rejection(rej: JsonRejection) -> ApiError {
    let text = rej.body_text();
    match rej {
        JsonRejection::JsonDataError(_) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            format!("the request body does not match the API: {text}; see /api/openapi.json"),
        ),
        JsonRejection::JsonSyntaxError(_) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the request body is not valid JSON: {text}"),
        ),
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content_type",
            "send the body as JSON with `Content-Type: application/json`",
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the request body is larger than the server accepts (--max-body): send a smaller body",
        ),
        other => ApiError::new(other.status(), "bad_body", format!("cannot read the request body: {text}")),
    }
}

/// Every route.
pub fn router(state: Arc<AppState>) -> Router {
    let max_body = state.max_body;
    Router::new()
        .route("/api/v1/ping", get(ping))
        .route("/api/v1/enroll", post(enroll))
        .route("/api/v1/status", get(status))
        .route("/api/v1/chain", get(chain))
        .route("/api/v1/cal/device", post(device_cal))
        .route("/api/v1/cal/device/batch", post(device_cal_batch))
        .route("/api/v1/cal/user", post(user_cal))
        .route("/api/v1/admin/activation-request", get(activation_request))
        .route("/api/v1/admin/activate", post(activate))
        .route("/api/v1/admin/keypacks", get(list_packs).post(install_pack))
        .route("/api/v1/admin/licenses", get(list_licenses))
        .route("/api/v1/admin/licenses/{serial}/revoke", post(revoke))
        .route("/api/v1/admin/reports/{kind}", get(report))
        .route("/api/v1/admin/enroll-tokens", post(make_token))
        .route("/api/v1/admin/hosts", get(reports::list_hosts))
        .route("/api/v1/admin/hosts/{id}/revoke", post(revoke_host))
        .route("/api/v1/admin/hosts/{id}/report", get(reports::host_report_of))
        .route("/api/v1/admin/refusals", get(reports::list_refusals))
        .route("/api/v1/admin/login", post(reports::login))
        .route("/api/v1/admin/logout", post(reports::logout))
        .route("/api/v1/host/report", post(reports::host_report))
        .route("/api/v1/host/renew", post(renew_host_certificate))
        .route("/api/v1/admin/audit", get(audit))
        .route("/api/v1/admin/servers", get(servers))
        .route("/api/v1/admin/servers/{id}/forget", post(forget_server))
        .route("/api/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn_with_state(state.clone(), sync_admin_session))
        .layer(axum::middleware::from_fn_with_state(state.clone(), count_requests))
        .with_state(state)
}

async fn count_requests(State(state): State<Arc<AppState>>, req: Request, next: axum::middleware::Next) -> Response {
    let path = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let resp = next.run(req).await;
    state.metrics.request(&path, resp.status().as_u16());
    resp
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint: see /api/openapi.json for the API")
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], include_str!("openapi.json")).into_response()
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let mut body = state.metrics.render();
    body.push_str(&state.listener.render("rdlic_server"));
    body.push_str(&state.cluster.render_metrics(now()));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// `GET /api/v1/admin/servers`: every license server sharing the database, with its last heartbeat.
async fn servers(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(&state, &headers)?;
    Ok(Json(state.cluster.json(now())))
}

/// `POST /api/v1/admin/servers/{id}/forget`: takes a license server that was stopped for good (or killed and not
/// coming back) off the cluster's list. Refused for this server and for a server whose heartbeat is recent: a
/// running server would register again at its next heartbeat, so it must be stopped first. Audited.
async fn forget_server(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(&state, &headers)?;
    if id == state.cluster.node_id {
        return Err(ApiError::conflict(
            "server_is_this_one",
            format!("{id} is the server that answers this request: stop it, then forget it through another server"),
        ));
    }
    let t = now();
    let nodes = state.blocking(|s| s.list_servers()).await?;
    let Some(node) = nodes.into_iter().find(|n| n.id == id) else {
        return Err(ApiError::not_found(format!("no license server {id} in the cluster's list")));
    };
    if node.is_alive(t, crate::cluster::STALE_AFTER) {
        return Err(ApiError::conflict(
            "server_alive",
            format!(
                "{id} ({}) sent a heartbeat {} s ago: stop it first, or it registers again",
                node.url,
                t.saturating_sub(node.last_heartbeat).max(0)
            ),
        ));
    }
    let url = node.url.clone();
    let audited = format!("url={url}");
    let removed = state
        .blocking(move |s| {
            let removed = s.forget_server(&id)?;
            if removed {
                s.record_audit(rdlic_store::AuditKind::new(rdlic_store::AuditKind::SERVER_FORGET), "admin", &id, &audited, t)?;
            }
            Ok(removed)
        })
        .await?;
    Ok(Json(serde_json::json!({ "id": node.id, "url": url, "forgotten": removed })))
}

/// Web sign-ins live in the database, so that every server of a cluster accepts them: before the handlers run,
/// the expiry of a presented session token is read from the store into this server's map (or the token dropped
/// from it when it was ended on any server), which [`require_admin`] then checks.
async fn sync_admin_session(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(t) = bearer(req.headers()).filter(|t| t.starts_with(reports::SESSION_PREFIX)) {
        let key = session_key(t);
        if let Ok(expiry) = state.blocking(move |s| s.admin_session_expiry(&key)).await {
            let mut sessions = state.admin_sessions.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match expiry {
                Some(e) => sessions.insert(key, e),
                None => sessions.remove(&key),
            };
        }
    }
    next.run(req).await
}

async fn ping(State(state): State<Arc<AppState>>) -> Json<wire::PingResponse> {
    Json(wire::PingResponse {
        ok: true,
        server_id: state.server_id.to_string(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

// ---------------------------------------------------------------------------------------------------------------
// Authentication

/// The enrolled, non-revoked host of this connection's client certificate.
async fn require_host(state: &AppState, peer: &Peer) -> Result<EnrolledHost, ApiError> {
    let Some(fp_hex) = &peer.cert_fingerprint else {
        return Err(ApiError::unauthorized(
            "this endpoint needs the client certificate of an enrolled session host: run `rdlic host enroll` on the \
             host and connect with its certificate",
        ));
    };
    let mut fp = [0u8; 32];
    hex::decode_to_slice(fp_hex, &mut fp).map_err(|_| ApiError::internal("bad certificate fingerprint"))?;
    let cached = state.host_cache.lock().ok().and_then(|c| {
        c.get(&fp).filter(|(_, at)| at.elapsed() < HOST_CACHE_TTL).map(|(h, _)| h.clone())
    });
    let from_cache = cached.is_some();
    let host = match cached {
        Some(h) => Some(h),
        None => state.blocking(move |s| s.host_by_fingerprint(&fp)).await?,
    };
    let host = host.ok_or_else(|| {
        ApiError::forbidden(
            "this client certificate does not belong to an enrolled host (signed by this server's CA but not \
             recorded, e.g. from another database): enroll the host again with a new token",
        )
    })?;
    if host.revoked {
        return Err(ApiError::forbidden(format!(
            "host {} ({}) was revoked by the administrator: enroll it again with a new token if it should be served",
            host.id, host.name
        )));
    }
    if !from_cache {
        if let Ok(mut c) = state.host_cache.lock() {
            if c.len() > 10_000 {
                c.clear();
            }
            c.insert(fp, (host.clone(), Instant::now()));
        }
    }
    // Record the last contact at most once a minute per host, so requests do not each cost a durable write.
    let t = now();
    let due = state.touched.lock().map(|mut m| {
        let last = m.get(&host.id.0).copied().unwrap_or(i64::MIN);
        if t.saturating_sub(last) >= 60 {
            m.insert(host.id.0, t);
            true
        } else {
            false
        }
    });
    if due.unwrap_or(false) {
        let id = host.id;
        let _ = state.blocking(move |s| s.touch_host(id, t)).await;
    }
    Ok(host)
}

/// The bearer token of the request, if any.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// SHA-256 of a session token, the key of [`AppState::admin_sessions`].
pub(crate) fn session_key(token: &str) -> [u8; 32] {
    openssl::sha::sha256(token.as_bytes())
}

fn require_admin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    match bearer(headers) {
        Some(t)
            if t.len() == state.admin_token.len()
                && openssl::memcmp::eq(t.as_bytes(), state.admin_token.as_bytes()) =>
        {
            Ok(())
        }
        Some(t) if t.starts_with(reports::SESSION_PREFIX) => {
            let key = session_key(t);
            let mut sessions = state.admin_sessions.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match sessions.get(&key) {
                Some(&expires_at) if expires_at > now() => Ok(()),
                Some(_) => {
                    sessions.remove(&key);
                    Err(ApiError::unauthorized("the web session expired: sign in again"))
                }
                None => Err(ApiError::unauthorized(
                    "unknown or ended web session (the server restarted, or you signed out): sign in again",
                )),
            }
        }
        Some(_) => Err(ApiError::unauthorized("wrong admin token: use the token in the server's DATA/admin.token")),
        None => Err(ApiError::unauthorized(
            "this endpoint needs `Authorization: Bearer <token>` with the token in the server's DATA/admin.token",
        )),
    }
}

/// The answer to one request of a batch that failed in the database and was rolled back alone.
fn request_failed(e: String) -> ApiError {
    ApiError::internal(format!("this request failed in the database and was rolled back (the others of its batch were not): {e}"))
}

fn check_text(field: &str, v: &str) -> Result<(), ApiError> {
    if v.len() > MAX_TEXT_FIELD || v.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "{field} must be at most {MAX_TEXT_FIELD} bytes without control characters"
        )));
    }
    Ok(())
}

/// A name from an RDP client or a host, checked with the rule shared with the session host ([`names`]).
fn check_name(field: &str, kind: names::NameKind, v: &str) -> Result<(), ApiError> {
    names::check(kind, v).map_err(|e| ApiError::bad_request(format!("{field}: {e}")))
}

// ---------------------------------------------------------------------------------------------------------------
// Host endpoints

async fn enroll(
    State(state): State<Arc<AppState>>,
    ApiJson(req): ApiJson<wire::EnrollRequest>,
) -> Result<Json<wire::EnrollResponse>, ApiError> {
    check_name("host_name", names::NameKind::HostName, &req.host_name)?;
    if req.host_name.trim().is_empty() {
        return Err(ApiError::bad_request("host_name is empty: give the session host's name"));
    }
    let (pubkey, generated) = match &req.csr_pem {
        Some(csr) => (
            pki::csr_public_key(csr.as_bytes()).map_err(|e| {
                ApiError::new(StatusCode::BAD_REQUEST, "bad_csr", format!("csr_pem is not a usable PEM CSR: {e}"))
            })?,
            None,
        ),
        None => {
            let key = pki::generate_ec().map_err(|e| ApiError::internal(e.to_string()))?;
            let pubkey = key
                .public_key_to_der()
                .and_then(|d| PKey::public_key_from_der(&d))
                .map_err(|e| ApiError::internal(e.to_string()))?;
            (pubkey, Some(key))
        }
    };
    let cert = pki::issue_leaf(
        &state.ca_key,
        &state.ca_cert,
        &pubkey,
        &req.host_name,
        &[],
        LeafUse::TlsClient,
        HOST_CERT_DAYS,
    )
    .map_err(|e| ApiError::internal(e.to_string()))?;
    let der = cert.to_der().map_err(|e| ApiError::internal(e.to_string()))?;
    let fp = openssl::sha::sha256(&der);
    let hash = TokenHash::of(req.token.trim().as_bytes());
    let name = req.host_name.clone();
    let host = state.blocking(move |s| s.enroll_host(&hash, &name, &fp, now())).await?;
    let pem = |r: Result<Vec<u8>, openssl::error::ErrorStack>| {
        r.map(|b| String::from_utf8_lossy(&b).into_owned()).map_err(|e| ApiError::internal(e.to_string()))
    };
    Ok(Json(wire::EnrollResponse {
        host_id: host.id.to_string(),
        certificate_pem: pem(cert.to_pem())?,
        private_key_pem: match generated {
            Some(k) => Some(pem(k.private_key_to_pem_pkcs8())?),
            None => None,
        },
        ca_pem: pem(state.ca_cert.to_pem())?,
        server_id: state.server_id.to_string(),
    }))
}

/// `POST /api/v1/host/renew`: an enrolled host, authenticated by its current client certificate, gets a new one
/// for the key of its CSR (valid [`HOST_CERT_DAYS`]); both are accepted until each expires. The host renews
/// by itself when less than 30 days remain (`rdlic host run`'s report loop).
async fn renew_host_certificate(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<Peer>,
    body: Result<ApiJson<wire::HostRenewRequest>, ApiError>,
) -> Result<Json<wire::HostRenewResponse>, ApiError> {
    let host = require_host(&state, &peer).await?;
    let ApiJson(req) = body?;
    let pubkey = pki::csr_public_key(req.csr_pem.as_bytes()).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_csr", format!("csr_pem is not a usable PEM CSR: {e}"))
    })?;
    let cert = pki::issue_leaf(&state.ca_key, &state.ca_cert, &pubkey, &host.name, &[], LeafUse::TlsClient, HOST_CERT_DAYS)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let der = cert.to_der().map_err(|e| ApiError::internal(e.to_string()))?;
    let fp = openssl::sha::sha256(&der);
    let epoch = openssl::asn1::Asn1Time::from_unix(0).map_err(|e| ApiError::internal(e.to_string()))?;
    let expires_at = epoch
        .diff(cert.not_after())
        .map(|d| i64::from(d.days) * rdlic_core::DAY + i64::from(d.secs))
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let id = host.id;
    state.blocking(move |s| s.add_host_certificate(id, &fp, expires_at, now())).await?;
    tracing::info!(host = %names::Escaped(&host.name), host_id = %host.id, expires_at, "host certificate renewed");
    let pem = cert.to_pem().map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Json(wire::HostRenewResponse {
        host_id: host.id.to_string(),
        certificate_pem: String::from_utf8_lossy(&pem).into_owned(),
        expires_at,
    }))
}

async fn status(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
) -> Result<Json<wire::StatusResponse>, ApiError> {
    if require_admin(&state, &headers).is_err() {
        require_host(&state, &peer).await?;
    }
    // Diagnostics and monitoring poll this: an answer is reused for up to STATUS_CACHE_TTL while this server wrote
    // nothing that changes it (another license server on the same PostgreSQL database shows within the TTL).
    let writes = state.writes.load(std::sync::atomic::Ordering::Acquire);
    if let Some((w, at, cached)) = state.status_cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).as_ref() {
        if *w == writes && at.elapsed() < STATUS_CACHE_TTL {
            return Ok(Json(cached.clone()));
        }
    }
    let t = now();
    let (srv, avail) = state
        .blocking(move |s| {
            let srv = s.server_state()?;
            let avail = s.availability(t)?;
            Ok((srv, avail))
        })
        .await?;
    let answer = wire::StatusResponse {
        server_id: state.server_id.to_string(),
        activated: srv.is_some_and(|s| s.is_activated()),
        cals: avail
            .into_iter()
            .map(|a| wire::Availability {
                cal_type: a.cal_type.as_str().to_owned(),
                version: a.version.0,
                installed: u64::from(a.installed),
                issued: u64::from(a.issued),
                available: u64::from(a.available),
            })
            .collect(),
        database_ok: true,
        now: t,
    };
    *state.status_cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
        Some((writes, Instant::now(), answer.clone()));
    Ok(Json(answer))
}

/// How long a status answer is reused when this server wrote nothing meanwhile.
const STATUS_CACHE_TTL: std::time::Duration = std::time::Duration::from_millis(500);

impl AppState {
    /// Marks a write that can change the status answer.
    pub(crate) fn wrote(&self) {
        self.writes.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }
}

async fn chain(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<Peer>,
) -> Result<Json<wire::ChainResponse>, ApiError> {
    require_host(&state, &peer).await?;
    let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
    let mut certs = vec![b64(state.identity.certificate_der())];
    certs.extend(state.identity.ca_chain_der().iter().rev().map(|c| b64(c)));
    Ok(Json(wire::ChainResponse { server_id: state.server_id.to_string(), certificates_b64: certs }))
}

fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    // rand_bytes fails only when OpenSSL's CSPRNG is not seeded; a zero value still yields a valid expiry.
    let _ = openssl::rand::rand_bytes(&mut b);
    u64::from_le_bytes(b)
}

async fn device_cal(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<Peer>,
    body: Result<ApiJson<wire::DeviceCalRequest>, ApiError>,
) -> Result<Json<wire::DeviceCalResponse>, ApiError> {
    let started = Instant::now();
    let result = async {
        let host = require_host(&state, &peer).await?;
        let ApiJson(req) = body?;
        queue_device_cal(&state, &host, req).await?.answer(&state).await
    }
    .await;
    count_device_cal(&state, &result, started);
    result.map(Json)
}

/// Counts one per-device answer in the metrics (the single endpoint and each item of a batch alike).
fn count_device_cal(state: &AppState, result: &Result<wire::DeviceCalResponse, ApiError>, started: Instant) {
    let (kind, outcome) = match result {
        Ok(r) => (r.kind.as_str(), "ok"),
        Err(e) if e.code == "no_license" => ("device", "refused"),
        Err(e) if e.status.is_client_error() => ("device", "rejected"),
        Err(_) => ("device", "error"),
    };
    state.metrics.issuance(kind, outcome, "device", started.elapsed());
}

/// A per-device request of an enrolled host, checked and queued in the issuance batcher: what is left is signing
/// the CAL and waiting for the commit ([`QueuedDeviceCal::answer`]).
struct QueuedDeviceCal {
    pending: crate::batch::Pending<Result<DeviceCalOutcome, ApiError>>,
    platform_id: u32,
    product: wire::CalProduct,
}

/// Checks one per-device request (MS-RDPELE 3.2.5 issue/upgrade/renew) of `host` and queues it for its store batch.
async fn queue_device_cal(
    state: &AppState,
    host: &EnrolledHost,
    req: wire::DeviceCalRequest,
) -> Result<QueuedDeviceCal, ApiError> {
    let hardware_id: HardwareId = req.hardware_id.parse().map_err(|e: rdlic_core::IdError| {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_hardware_id", format!("hardware_id: {e}"))
    })?;
    check_name("client_machine", names::NameKind::MachineName, &req.client_machine)?;
    check_name("user", names::NameKind::User, &req.user)?;
    if let Some(s) = &req.presented_serial {
        check_text("presented_serial", s)?;
    }
    if let Some(p) = &req.product {
        check_text("product.company", &p.company)?;
        check_text("product.product_id", &p.product_id)?;
    }
    let request = rdlic_store::DeviceCalRequest {
        hardware_id,
        client_name: req.client_machine,
        user_name: req.user,
        host_name: host.name.clone(),
        host_version: CalVersion(req.host_version),
        now: now(),
        random: random_u64(),
    };
    let request_id = match req.request_id.as_deref() {
        None => None,
        Some(id) => Some(rdlic_store::RequestId::parse(id).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request_id",
                format!("request_id must be 1 to {} printable ASCII characters", rdlic_store::cluster::MAX_REQUEST_ID),
            )
        })?),
    };
    let product = req.product.unwrap_or_else(crate::calsign::default_product);
    let job = DeviceJob { request, request_id, server: Arc::from(state.cluster.node_id.as_str()) };
    let pending = state.batcher.submit_early(job).await?;
    Ok(QueuedDeviceCal { pending, platform_id: req.platform_id, product })
}

impl QueuedDeviceCal {
    /// Signs the CAL while its batch commits and answers once the batch committed.
    async fn answer(self, state: &Arc<AppState>) -> Result<wire::DeviceCalResponse, ApiError> {
        let Self { mut pending, platform_id, product } = self;
        // The CAL is signed while its batch commits; it is sent only after COMMIT, and re-signed if the committed
        // outcome is not the one decided first (a backend retried the transaction).
        let prepared = match (&mut pending.early).await {
            Ok(Ok(DeviceCalOutcome::Granted { cal, .. })) => Some((sign_device_cal(state, &cal, platform_id, &product).await?, cal)),
            _ => None,
        };
        let outcome = pending.committed().await??;
        match outcome {
            DeviceCalOutcome::Granted { cal, .. } => {
                let bytes = match prepared {
                    Some((bytes, signed)) if signed == cal => bytes,
                    _ => sign_device_cal(state, &cal, platform_id, &product).await?,
                };
                Ok(wire::DeviceCalResponse {
                    cal_b64: base64::engine::general_purpose::STANDARD.encode(bytes),
                    serial: cal.serial.to_string(),
                    kind: cal.kind.as_str().to_owned(),
                    version: cal.version.0,
                    issued_at: cal.issued_at,
                    expires_at: cal.expires_at,
                })
            }
            DeviceCalOutcome::Refused(r) => Err(ApiError::conflict("no_license", r.to_string())),
        }
    }
}

/// Builds and signs the CAL of a committed (or decided) record on the signing threads ([`crate::signpool`]): an RSA
/// signature is a quarter of a millisecond of CPU, long enough to hold up the other tasks of an async worker (the
/// answers and wake-ups that keep the batches moving) and to leave the other cores idle meanwhile.
async fn sign_device_cal(
    state: &Arc<AppState>,
    cal: &rdlic_store::DeviceCal,
    platform_id: u32,
    product: &wire::CalProduct,
) -> Result<Vec<u8>, ApiError> {
    let (job_state, cal, product) = (state.clone(), cal.clone(), product.clone());
    let job = move || {
        let (s, issuer_id) = (&job_state, job_state.server_id.to_string());
        crate::calsign::device_cal_bytes(&s.identity, &s.issuer_name, &issuer_id, &cal, platform_id, &product)
    };
    state
        .signer
        .run(job)
        .await
        .map_err(|e| ApiError::internal(format!("signing task failed: {e}")))?
    .map_err(|e| ApiError::internal(format!("cannot build the CAL certificate: {e}")))
}

/// `POST /api/v1/cal/device/batch`: up to [`wire::MAX_DEVICE_CAL_BATCH`] per-device requests in one HTTPS request,
/// each through the path of `POST /api/v1/cal/device` ([`queue_device_cal`], [`QueuedDeviceCal::answer`]). All
/// items are queued before any is awaited, so that they share a store batch; their CALs are signed in parallel
/// (each signature on the signing threads). Metrics and audit count each item.
async fn device_cal_batch(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<Peer>,
    body: Result<ApiJson<wire::DeviceCalBatchRequest>, ApiError>,
) -> Result<Json<wire::DeviceCalBatchResponse>, ApiError> {
    let started = Instant::now();
    let checked = async {
        let host = require_host(&state, &peer).await?;
        let ApiJson(batch) = body?;
        let n = batch.requests.len();
        if n == 0 || n > wire::MAX_DEVICE_CAL_BATCH {
            return Err(ApiError::bad_request(format!(
                "requests holds {n} items: send 1 to {} per batch",
                wire::MAX_DEVICE_CAL_BATCH
            )));
        }
        Ok((host, batch.requests))
    }
    .await;
    let (host, requests) = match checked {
        Ok(x) => x,
        Err(e) => {
            // Refused as a whole (host, body): one rejected answer, as the single endpoint counts it.
            count_device_cal(&state, &Err(e.clone()), started);
            return Err(e);
        }
    };
    tracing::debug!(host = %host.name, items = requests.len(), "per-device CAL batch");
    let mut queued = Vec::with_capacity(requests.len());
    for req in requests {
        queued.push(queue_device_cal(&state, &host, req).await);
    }
    // Awaited together in this task: each signature runs on the signing threads (`sign_device_cal`), so the items'
    // CALs are still signed in parallel.
    let answers = futures_util::future::join_all(queued.into_iter().map(|q| async {
        let result = match q {
            Ok(q) => q.answer(&state).await,
            Err(e) => Err(e),
        };
        count_device_cal(&state, &result, started);
        result
    }))
    .await;
    let results = answers
        .into_iter()
        .map(|result| match result {
            Ok(cal) => wire::DeviceCalBatchResult::Issued(cal),
            Err(e) => wire::DeviceCalBatchResult::Failed {
                error: wire::BatchItemError { status: e.status.as_u16(), code: e.code.to_owned(), message: e.message },
            },
        })
        .collect();
    Ok(Json(wire::DeviceCalBatchResponse { results }))
}

async fn user_cal(
    State(state): State<Arc<AppState>>,
    Extension(peer): Extension<Peer>,
    body: Result<ApiJson<wire::UserCalRequest>, ApiError>,
) -> Result<Json<wire::UserCalResponse>, ApiError> {
    let started = Instant::now();
    let result = async {
        let host = require_host(&state, &peer).await?;
        let ApiJson(req) = body?;
        check_name("user", names::NameKind::QualifiedUser, &req.user)?;
        if req.user.trim().is_empty() {
            return Err(ApiError::bad_request("user is empty"));
        }
        let request = rdlic_store::UserCalRequest {
            user: req.user.clone(),
            host_name: host.name.clone(),
            host_version: CalVersion(req.host_version),
            now: now(),
            enforce: state.enforce_per_user,
        };
        match state.user_batcher.submit(request).await?? {
            UserCalOutcome::Granted { cal, .. } => Ok(wire::UserCalResponse {
                user: cal.user,
                version: cal.version.0,
                expires_at: cal.expires_at,
                over_allocated: cal.over_allocated,
            }),
            UserCalOutcome::Refused(r) => Err(ApiError::conflict("no_license", r.to_string())),
        }
    }
    .await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(e) if e.code == "no_license" => "refused",
        Err(e) if e.status.is_client_error() => "rejected",
        Err(_) => "error",
    };
    state.metrics.issuance("user", outcome, "user", started.elapsed());
    result.map(Json)
}

// ---------------------------------------------------------------------------------------------------------------
// Admin endpoints

async fn activation_request(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<wire::ActivationRequestResponse>, ApiError> {
    require_admin(&state, &headers)?;
    let pem = state.identity_key.public_key_to_pem().map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Json(wire::ActivationRequestResponse {
        server_id: state.server_id.to_string(),
        public_key_pem: String::from_utf8_lossy(&pem).into_owned(),
    }))
}

fn no_clearinghouse() -> ApiError {
    ApiError::conflict(
        "no_clearinghouse_key",
        "this server trusts no clearinghouse key yet: restart it with `--clearinghouse-key clearinghouse.pub`",
    )
}

async fn activate(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<ApiJson<wire::ActivateRequest>, ApiError>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(&state, &headers)?;
    let ApiJson(req) = body?;
    let cert = ActivationCertificate::from_text(&req.certificate).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed_activation", format!("{e}: give the file made by `rdlic clearinghouse activate`"))
    })?;
    let ch = state.clearinghouse.as_ref().ok_or_else(no_clearinghouse)?;
    let spki = state.identity_key.public_key_to_der().map_err(|e| ApiError::internal(e.to_string()))?;
    let verified = ch.verify_activation(&cert, &spki).map_err(|e| {
        let code = match e {
            ActivationError::UnknownSigner { .. } => "forged_activation",
            ActivationError::SignatureMismatch => "altered_activation",
            ActivationError::OtherServer { .. } => "foreign_activation",
            _ => "bad_activation",
        };
        ApiError::unprocessable(code, e.to_string())
    })?;
    let srv = state.blocking(move |s| s.activate(&verified, "admin", now())).await?;
    state.wrote();
    Ok(Json(serde_json::json!({ "server_id": srv.server_id.to_string(), "activated": srv.is_activated() })))
}

async fn install_pack(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<ApiJson<wire::InstallPackRequest>, ApiError>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(&state, &headers)?;
    let ApiJson(req) = body?;
    let signed = SignedKeyPack::from_text(&req.pack).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed_pack", format!("{e}: give the file made by `rdlic clearinghouse keypack`"))
    })?;
    let ch = state.clearinghouse.as_ref().ok_or_else(no_clearinghouse)?;
    let t = now();
    let verified = ch.verify_key_pack(&signed, state.server_id, t).map_err(|e| {
        let code = match e {
            KeyPackError::UnknownSigner { .. } => "forged_pack",
            KeyPackError::SignatureMismatch => "altered_pack",
            KeyPackError::IssuedToAnotherServer { .. } => "foreign_pack",
            KeyPackError::Expired { .. } => "expired_pack",
            _ => "bad_pack",
        };
        ApiError::unprocessable(code, e.to_string())
    })?;
    let id = signed.pack.id.to_string();
    let outcome = state.blocking(move |s| s.install_key_pack(&verified, "admin", t)).await?;
    state.wrote();
    Ok(Json(serde_json::json!({
        "id": id,
        "newly_installed": outcome == InstallOutcome::Installed,
        "cal_type": signed.pack.cal_type.as_str(),
        "version": signed.pack.version.0,
        "count": signed.pack.count,
    })))
}

async fn list_packs(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(&state, &headers)?;
    let packs = state.blocking(|s| s.list_key_packs(now())).await?;
    let list: Vec<_> = packs
        .iter()
        .map(|p| {
            let k = &p.signed.pack;
            serde_json::json!({
                "id": k.id.to_string(), "cal_type": k.cal_type.as_str(), "version": k.version.0,
                "program": k.program.to_string(), "count": k.count, "issued": p.issued, "available": p.available,
                "issued_at": k.issued_at, "expires_at": k.expires_at, "installed_at": p.installed_at,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "server_id": state.server_id.to_string(), "keypacks": list })))
}

fn cal_json(c: &DeviceCal) -> serde_json::Value {
    serde_json::json!({
        "serial": c.serial.to_string(), "hardware_id": c.hardware_id.to_string(), "client_machine": c.client_name,
        "user": c.user_name, "host": c.host_name, "kind": c.kind.as_str(), "version": c.version.0,
        "pack": c.pack.map(|p| p.to_string()), "issued_at": c.issued_at, "expires_at": c.expires_at,
        "status": c.status.as_str(), "status_at": c.status_at, "replaces": c.replaces.map(|r| r.to_string()),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    after: Option<i64>,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    active: Option<bool>,
    #[serde(default)]
    format: Option<String>,
}

async fn all_device_cals(state: &AppState, active_only: bool) -> Result<Vec<DeviceCal>, ApiError> {
    let t = now();
    state
        .blocking(move |s| {
            let mut out = Vec::new();
            let mut after = CalSerial(0);
            loop {
                let page = s.list_device_cals(after, 1000, active_only, t)?;
                let Some(last) = page.last() else { break };
                after = last.serial;
                let short = page.len() < 1000;
                out.extend(page);
                if short {
                    break;
                }
            }
            Ok(out)
        })
        .await
}

/// Page size of `GET /api/v1/admin/licenses` when the request gives no `limit`.
pub const DEFAULT_PAGE: u32 = 500;
/// Largest page of `GET /api/v1/admin/licenses` (a larger `limit` is lowered to it).
pub const MAX_PAGE: u32 = 1000;

/// `GET /api/v1/admin/licenses?after=SERIAL&limit=N&active=BOOL`: one page of CALs in serial order, and `next`,
/// the `after` of the next page (`null` on the last page).
async fn list_licenses(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(&state, &headers)?;
    let t = now();
    let active = q.active.unwrap_or(false);
    let limit = q.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    let after = q.after.unwrap_or(0);
    let cals = state.blocking(move |s| s.list_device_cals(CalSerial(after), limit, active, t)).await?;
    let full = u32::try_from(cals.len()).is_ok_and(|n| n >= limit);
    let next = if full { cals.last().map(|c| c.serial.0) } else { None };
    let list: Vec<_> = cals.iter().map(cal_json).collect();
    Ok(Json(serde_json::json!({ "licenses": list, "next": next })))
}

async fn revoke(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(serial): Path<String>,
) -> Result<Json<serde_json::Value>, Response> {
    require_admin(&state, &headers).map_err(IntoResponse::into_response)?;
    let serial: i64 = serial.trim().parse().map_err(|_| {
        ApiError::bad_request(format!("{serial:?} is not a CAL serial: see `rdlic license list`")).into_response()
    })?;
    let outcome = state.blocking(move |s| s.revoke_device_cal(CalSerial(serial), "admin", now())).await;
    state.wrote();
    match outcome.map_err(IntoResponse::into_response)? {
        RevokeOutcome::Revoked(c) => Ok(Json(cal_json(&c))),
        RevokeOutcome::Refused(r) => Err(revocation_refused(&r)),
    }
}

/// 409 for a refused revocation: the message plus the rule's numbers as fields, so that a client can explain the
/// 20% rule in its own words (`reason`: `limit_reached`, `not_permanent`, `not_active`; for `limit_reached` also
/// `cal_type`, `cal_version`, `limit`, `revoked`, `percent`, `next_allowed_at`).
fn revocation_refused(r: &rdlic_core::RevokeRefusal) -> Response {
    let mut body = serde_json::json!({ "error": r.to_string(), "code": "revocation_refused" });
    let fields = match r {
        rdlic_core::RevokeRefusal::LimitReached { version, limit, in_revoked_state, next_allowed_at } => serde_json::json!({
            "reason": "limit_reached", "cal_type": "per-device", "cal_version": version.0, "limit": limit,
            "revoked": in_revoked_state, "percent": rdlic_core::policy::REVOCATION_PERCENT,
            "next_allowed_at": next_allowed_at,
        }),
        rdlic_core::RevokeRefusal::NotPermanent => serde_json::json!({ "reason": "not_permanent" }),
        rdlic_core::RevokeRefusal::NotActive => serde_json::json!({ "reason": "not_active" }),
        _ => serde_json::json!({ "reason": "other" }),
    };
    if let (Some(b), Some(f)) = (body.as_object_mut(), fields.as_object()) {
        b.extend(f.clone());
    }
    (StatusCode::CONFLICT, Json(body)).into_response()
}

/// One CSV cell: control characters escaped, formula injection neutralised ([`names::csv_cell`]), then quoted.
fn csv_field(s: &str) -> String {
    let s = names::csv_cell(s);
    if s.contains([',', '"']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.into_owned()
    }
}

async fn report(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(kind): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    require_admin(&state, &headers)?;
    let csv = match q.format.as_deref() {
        None | Some("csv") => true,
        Some("json") => false,
        Some(other) => return Err(ApiError::bad_request(format!("format {other:?}: use csv or json"))),
    };
    let generated = now();
    match kind.as_str() {
        "per-device" => {
            let cals = all_device_cals(&state, q.active.unwrap_or(true)).await?;
            if csv {
                let mut out = String::from(
                    "serial,hardware_id,client_machine,user,host,kind,version,pack,issued_at,expires_at,status\n",
                );
                for c in &cals {
                    out.push_str(&format!(
                        "{},{},{},{},{},{},{},{},{},{},{}\n",
                        c.serial,
                        c.hardware_id,
                        csv_field(&c.client_name),
                        csv_field(&c.user_name),
                        csv_field(&c.host_name),
                        c.kind.as_str(),
                        c.version.0,
                        c.pack.map(|p| p.to_string()).unwrap_or_default(),
                        c.issued_at,
                        c.expires_at,
                        c.status.as_str()
                    ));
                }
                return Ok(([(header::CONTENT_TYPE, "text/csv")], out).into_response());
            }
            let permanent = cals.iter().filter(|c| c.kind == DeviceCalKind::Permanent).count();
            Ok(Json(serde_json::json!({
                "report": "per-device", "generated_at": generated, "server_id": state.server_id.to_string(),
                "permanent": permanent, "temporary": cals.len() - permanent,
                "entries": cals.iter().map(cal_json).collect::<Vec<_>>(),
            }))
            .into_response())
        }
        "per-user" => {
            let (users, avail) = state.blocking(move |s| Ok((s.per_user_report(generated)?, s.availability(generated)?))).await?;
            if csv {
                let mut out = String::from("user,version,last_host,first_seen,last_seen,expires_at,over_allocated\n");
                for u in &users {
                    out.push_str(&format!(
                        "{},{},{},{},{},{},{}\n",
                        csv_field(&u.user),
                        u.version.0,
                        csv_field(&u.last_host),
                        u.first_seen,
                        u.last_seen,
                        u.expires_at,
                        u.over_allocated
                    ));
                }
                return Ok(([(header::CONTENT_TYPE, "text/csv")], out).into_response());
            }
            let installed: u64 = avail
                .iter()
                .filter(|a| a.cal_type == rdlic_core::CalType::PerUser)
                .map(|a| u64::from(a.installed))
                .sum();
            let entries: Vec<_> = users
                .iter()
                .map(|u| {
                    serde_json::json!({
                        "user": u.user, "version": u.version.0, "pack": u.pack.map(|p| p.to_string()),
                        "last_host": u.last_host, "first_seen": u.first_seen, "last_seen": u.last_seen,
                        "expires_at": u.expires_at, "over_allocated": u.over_allocated,
                    })
                })
                .collect();
            Ok(Json(serde_json::json!({
                "report": "per-user", "generated_at": generated, "server_id": state.server_id.to_string(),
                "installed": installed, "issued": users.len(),
                "over_allocated": users.iter().filter(|u| u.over_allocated).count(),
                "entries": entries,
            }))
            .into_response())
        }
        other => Err(ApiError::not_found(format!("no report {other:?}: use per-user or per-device"))),
    }
}

async fn make_token(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<wire::TokenResponse>, ApiError> {
    require_admin(&state, &headers)?;
    let req: wire::TokenRequest = if body.iter().all(u8::is_ascii_whitespace) {
        wire::TokenRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_body", format!("the request body does not match the API: {e}"))
        })?
    };
    let ttl = req.ttl_seconds.unwrap_or(86_400);
    if !(60..=30 * 86_400).contains(&ttl) {
        return Err(ApiError::bad_request("ttl_seconds must be between 60 and 2592000 (30 days)"));
    }
    let token = pki::random_hex(24).map_err(|e| ApiError::internal(e.to_string()))?;
    let hash = TokenHash::of(token.as_bytes());
    let t = now();
    let expires_at = t.saturating_add(ttl);
    state.blocking(move |s| s.create_enrollment_token(&hash, None, expires_at, "admin", t)).await?;
    Ok(Json(wire::TokenResponse { token, expires_at }))
}

fn host_json(h: &EnrolledHost) -> serde_json::Value {
    serde_json::json!({
        "id": h.id.to_string(), "name": h.name, "cert_sha256": hex::encode(h.cert_fingerprint),
        "enrolled_at": h.enrolled_at, "revoked": h.revoked, "revoked_at": h.revoked_at, "last_contact": h.last_contact,
    })
}

/// The `{id}` of a `/hosts/{id}/...` path.
pub(crate) fn host_id_param(id: &str) -> Result<i64, ApiError> {
    id.trim().parse().map_err(|_| ApiError::bad_request(format!("{id:?} is not a host id")))
}

async fn revoke_host(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(&state, &headers)?;
    let id = host_id_param(&id)?;
    let h = state.blocking(move |s| s.revoke_host(HostId(id), "admin", now())).await?;
    if let Ok(mut c) = state.host_cache.lock() {
        c.clear();
    }
    Ok(Json(host_json(&h)))
}

async fn audit(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(&state, &headers)?;
    let after = q.after.unwrap_or(0);
    let limit = q.limit.unwrap_or(1000).min(10_000);
    let entries = state.blocking(move |s| s.audit_log(after, limit)).await?;
    let list: Vec<_> = entries
        .iter()
        .map(|e| {
            serde_json::json!({
                "id": e.id, "at": e.at, "kind": e.kind.0, "actor": e.actor, "subject": e.subject, "detail": e.detail,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "entries": list })))
}

