//! API errors: every refusal is a JSON body `{"error": "...", "code": "..."}` with a 4xx/5xx status whose message says
//! what happened, why, and what to do.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rdlic_store::StoreError;

/// One API failure as the client sees it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code (`bad_request`, `unauthorized`, `unknown_pack`, `database_unavailable`, ...).
    pub code: &'static str,
    /// What happened, why, and what to do.
    pub message: String,
    /// Seconds for the `Retry-After` header (429, 503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// Builds an error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after: None }
    }
    /// Adds a `Retry-After` header of `secs` seconds.
    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }
    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    /// 401: no or wrong credentials.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
    /// 403: credentials known but not allowed (revoked host, used token).
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    /// 409: refused by the licensing policy (no CAL free, revocation limit).
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }
    /// 422: well-formed but refused content (forged pack, wrong server).
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }
    /// 503: the database cannot be reached; nothing was written.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "database_unavailable", message)
    }
    /// 500.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.message, "code": self.code });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        }
        response
    }
}

/// Maps a storage failure to an HTTP answer.
pub(crate) fn store_error(e: StoreError) -> ApiError {
    match &e {
        StoreError::Unavailable(_) | StoreError::Database(_) => ApiError::unavailable(format!(
            "{e}; nothing was written: retry later and check that the license database is running"
        )),
        StoreError::TokenUnknown | StoreError::TokenUsed | StoreError::TokenExpired { .. } => {
            ApiError::new(StatusCode::FORBIDDEN, "token_refused", e.to_string())
        }
        StoreError::TokenHostMismatch { .. } => ApiError::new(StatusCode::FORBIDDEN, "token_refused", e.to_string()),
        StoreError::DuplicateHost => ApiError::conflict("duplicate_host", e.to_string()),
        StoreError::PackConflict { .. } => ApiError::conflict("pack_conflict", e.to_string()),
        StoreError::NoSuchCal(_) => ApiError::new(StatusCode::NOT_FOUND, "unknown_cal", e.to_string()),
        StoreError::NoSuchHost(_) => ApiError::new(StatusCode::NOT_FOUND, "unknown_host", e.to_string()),
        _ => ApiError::internal(e.to_string()),
    }
}
