//! The one-line merge into an API router shaped like the license server's (routes, a JSON fallback, a layer, state
//! already applied): the page and its assets are served with their headers, `/` redirects to the page, and the API
//! keeps its routes and its own fallback. Real HTTP/1.1 over TCP on 127.0.0.1.
#![allow(clippy::unwrap_used)]

use axum::http::{header, StatusCode};
use axum::routing::get;
use axum::Router;
use http_body_util::BodyExt as _;

fn api_like_the_server() -> Router {
    Router::new()
        .route("/api/v1/ping", get(|| async { ([(header::CONTENT_TYPE, "application/json")], "{\"ok\":true}") }))
        .fallback(|| async {
            (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "application/json")], "{\"error\":\"no such endpoint\",\"code\":\"not_found\"}")
        })
        .layer(axum::extract::DefaultBodyLimit::max(1024))
        .with_state(())
}

async fn get_path(addr: std::net::SocketAddr, path: &str) -> (StatusCode, axum::http::HeaderMap, String) {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp)).await.unwrap();
    tokio::spawn(conn);
    let req = hyper::Request::builder()
        .uri(path)
        .header(header::HOST, addr.to_string())
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (parts.status, parts.headers, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn merged_into_an_api_router_serves_page_assets_and_keeps_the_api_fallback() {
    // The exact line for the license server: `api::router(state.clone()).merge(rdlic_web::router())`.
    let app = api_like_the_server().merge(rdlic_web::router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let (status, headers, body) = get_path(addr, "/admin/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("script-src 'self'"));
    assert!(body.contains("data-app=\"rdlic-admin\""), "{body}");

    for (path, ctype, marker) in [
        ("/admin/app.js", "text/javascript; charset=utf-8", "const MESSAGES"),
        ("/admin/app.css", "text/css; charset=utf-8", ":root"),
        ("/admin/favicon.svg", "image/svg+xml", "<svg"),
    ] {
        let (status, headers, body) = get_path(addr, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(headers[header::CONTENT_TYPE], ctype, "{path}");
        assert!(body.contains(marker), "{path}");
    }

    for path in ["/", "/admin"] {
        let (status, headers, _) = get_path(addr, path).await;
        assert!(status.is_redirection(), "{path}: {status}");
        assert_eq!(headers[header::LOCATION], "/admin/", "{path}");
    }

    // The API is untouched: its routes answer, unknown paths (also under /admin/) get its JSON 404.
    let (status, _, body) = get_path(addr, "/api/v1/ping").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "{\"ok\":true}"));
    for path in ["/nope", "/admin/secret.txt"] {
        let (status, _, body) = get_path(addr, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(body.contains("\"code\":\"not_found\""), "{path}: {body}");
    }
}
