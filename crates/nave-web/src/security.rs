//! Cross-cutting HTTP protections: request ids and access logs, security
//! headers, a per-request CSP nonce for pages, and the CSRF check of form
//! posts.
//!
//! CSRF: the session cookie is `SameSite=Lax`, so browsers do not send it on
//! cross-site POSTs; on top of that every unsafe request to a page is refused
//! when the browser says it is cross-site (`Sec-Fetch-Site`) or comes from
//! another origin (`Origin`). The API uses bearer tokens, never cookies.

use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use nave_domain::error::ErrorCode;
use rand::RngCore;

use crate::error::{ApiError, REQUEST_ID};

/// Gives every request an id (or keeps a sane one sent by a proxy), serves it
/// in a task-local for error bodies, returns it as `x-request-id`, adds
/// security headers and logs the request without personal data.
pub async fn request_context(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
    let method = req.method().clone();
    // Paths only: query strings may carry e-mail addresses or names.
    let path = req.uri().path().to_string();
    let started = Instant::now();
    let mut res = REQUEST_ID.scope(id.clone(), next.run(req)).await;
    let status = res.status().as_u16();
    tracing::info!(request.id = %id, http.method = %method, http.path = %path, http.status = status,
        duration_ms = started.elapsed().as_secs_f64() * 1000.0, "request");
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert("x-request-id", v);
    }
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    res
}

/// The nonce that inline `<script>`/`<style>` of one page response must carry.
#[derive(Debug, Clone)]
pub struct CspNonce(pub String);

/// Adds a fresh nonce to the request and a strict CSP to the page response.
pub async fn csp(mut req: Request, next: Next) -> Response {
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    let nonce = STANDARD.encode(b);
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut res = next.run(req).await;
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; \
         img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'; form-action 'self'"
    );
    if let Ok(v) = HeaderValue::from_str(&policy) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

/// The origin this request was addressed to, as a browser would write it.
fn own_origin(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let scheme = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).unwrap_or("http");
    Some(format!("{scheme}://{host}"))
}

/// Is this unsafe request from another site? `None` when it is fine.
pub fn cross_site_reason(method: &Method, headers: &HeaderMap) -> Option<&'static str> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && site != "same-origin"
        && site != "none"
    {
        return Some("the browser reported a cross-site request");
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let own = own_origin(headers);
        let https_own = headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(|h| format!("https://{h}"));
        if Some(origin.to_string()) != own && Some(origin.to_string()) != https_own {
            return Some("the request came from another origin");
        }
    }
    None
}

/// Refuses cross-site form posts to pages (403).
pub async fn csrf(req: Request, next: Next) -> Response {
    if let Some(reason) = cross_site_reason(req.method(), req.headers()) {
        tracing::warn!(reason, "cross-site request refused");
        return crate::pages::error_page(&ApiError::new(
            ErrorCode::CrossSiteRequest,
            format!("{reason}; reload the page and try again"),
        ))
        .into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn same_origin_posts_pass() {
        let h = headers(&[
            ("host", "localhost:8080"),
            ("origin", "http://localhost:8080"),
            ("sec-fetch-site", "same-origin"),
        ]);
        assert_eq!(cross_site_reason(&Method::POST, &h), None);
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let h =
            headers(&[("host", "localhost:8080"), ("origin", "http://evil.example"), ("sec-fetch-site", "cross-site")]);
        assert!(cross_site_reason(&Method::POST, &h).is_some());
        let h = headers(&[("host", "localhost:8080"), ("origin", "http://evil.example")]);
        assert!(cross_site_reason(&Method::POST, &h).is_some());
    }

    #[test]
    fn reads_are_never_refused() {
        let h = headers(&[("host", "localhost:8080"), ("sec-fetch-site", "cross-site")]);
        assert_eq!(cross_site_reason(&Method::GET, &h), None);
    }
}
