//! The RD Licensing Manager of rdlic: the license server's admin web page.
//!
//! One page (hand-written HTML, CSS and vanilla JavaScript, no build step, no CDN) embedded in the binary with
//! `include_str!`, served under `/admin/` by the license server itself. The page talks only to the admin API of the
//! same server (`/api/v1/admin/*`, `/api/v1/status`, `/metrics`) with the admin token. The administrator types the
//! admin password set by `rdlic server init` (traded for the token at `POST /api/v1/admin/login`) or the token
//! itself; the page keeps the token in the tab's `sessionStorage` and never anywhere else.
//!
//! # Merging into a server
//! ```
//! # fn demo(api: axum::Router) -> axum::Router {
//! api.merge(rdlic_web::router())
//! # }
//! ```
//! The router has no fallback (the API router keeps its own) and no state, so it merges into a router of any state.
//!
//! # Pages (hash routes of the one document)
//! overview (with each host's grace period and last contact, and the refusals hosts report), key packs (activation
//! and install by upload), issued licenses (search, revoke; a refusal explains the 20% rule from the numbers of the
//! 409), per-user report (view, CSV download), hosts (enrollment token and the command to run on the host),
//! diagnostics (license-server checks, and the `rdlic diagnose` findings each host reported).
//! English and French, chosen from the browser's language (`navigator.languages`).

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

/// The page itself.
const INDEX_HTML: &str = include_str!("assets/index.html");
/// All behaviour: API calls, rendering, polling, translations.
const APP_JS: &str = include_str!("assets/app.js");
/// Layout and colours.
const APP_CSS: &str = include_str!("assets/app.css");
/// Tab icon.
const FAVICON_SVG: &str = include_str!("assets/favicon.svg");

/// Where the page lives.
pub const ADMIN_PATH: &str = "/admin/";

/// Only our own scripts and styles; the API is same-origin; downloads are `blob:` URLs made by the page.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
                   connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// Routes of the admin page: `GET /` and `GET /admin` redirect to `/admin/`; `/admin/` serves the page and
/// `/admin/app.js`, `/admin/app.css`, `/admin/favicon.svg` its assets. No fallback, no state.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { Redirect::to(ADMIN_PATH) }))
        .route("/admin", get(|| async { Redirect::to(ADMIN_PATH) }))
        .route(ADMIN_PATH, get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }))
        .route("/admin/app.js", get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }))
        .route("/admin/app.css", get(|| async { asset("text/css; charset=utf-8", APP_CSS) }))
        .route("/admin/favicon.svg", get(|| async { asset("image/svg+xml", FAVICON_SVG) }))
}

/// One embedded asset with headers that keep it out of frames and caches (the page changes with the binary).
fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    resp
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn assets_reference_only_themselves() {
        // Nothing fetched from elsewhere at run time: no absolute URLs in the page or its code.
        for (name, text) in [("index.html", INDEX_HTML), ("app.js", APP_JS), ("app.css", APP_CSS)] {
            assert!(!text.contains("http://") && !text.contains("https://"), "{name} references another origin");
        }
        assert!(INDEX_HTML.contains("app.js") && INDEX_HTML.contains("app.css"));
    }

    #[test]
    fn every_message_key_has_both_languages() {
        // The dictionary in app.js: each `key: { en: ..., fr: ... }` entry must carry both languages.
        let dict = APP_JS.split("const MESSAGES = {").nth(1).unwrap().split("\n};").next().unwrap();
        let mut n = 0;
        for line in dict.lines().map(str::trim).filter(|l| l.contains("{ en:")) {
            n += 1;
            assert!(line.contains(", fr:"), "missing French: {line}");
        }
        assert!(n > 50, "dictionary not found ({n} entries)");
    }
}
