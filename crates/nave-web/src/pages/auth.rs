//! Logging in and out of the web UI.
//!
//! Failed attempts are counted per client address and e-mail; past the limit
//! the login answers 429 until the window passes. Unknown e-mails cost the
//! same argon2 work as known ones, so timing does not reveal who has an account.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use nave_domain::email::Email;
use nave_store::auth::{dummy_password_hash, verify_password};
use nave_store::{sessions, users};
use serde::Deserialize;

use super::{Layout, PageAuth, PageResult, render, session_cookie, session_cookie_header};
use crate::security::CspNonce;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    error: Option<String>,
    email: String,
    next: String,
}

/// Only local paths are followed after login (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

#[derive(Debug, Deserialize)]
pub struct NextParam {
    next: Option<String>,
}

/// `GET /login`.
pub async fn login_form(
    Extension(nonce): Extension<CspNonce>,
    current: Option<PageAuth>,
    Query(q): Query<NextParam>,
) -> Response {
    if current.is_some() {
        return Redirect::to(&safe_next(q.next.as_deref())).into_response();
    }
    let page = LoginPage {
        layout: Layout { nonce: nonce.0, user: None, can_admin: false, active: "", sales: vec![] },
        error: None,
        email: String::new(),
        next: safe_next(q.next.as_deref()),
    };
    render(&page).into_response()
}

/// The login form's fields.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

/// `POST /login`.
pub async fn login(
    State(app): State<AppState>,
    Extension(nonce): Extension<CspNonce>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> PageResult {
    let next = safe_next(f.next.as_deref());
    let again = |status: StatusCode, msg: &str, email: &str, nonce: &str| {
        let page = LoginPage {
            layout: Layout { nonce: nonce.to_string(), user: None, can_admin: false, active: "", sales: vec![] },
            error: Some(msg.to_string()),
            email: email.to_string(),
            next: next.clone(),
        };
        (status, render(&page)).into_response()
    };
    let client = connect.map(|c| c.0.0.ip().to_string()).unwrap_or_else(|| "local".into());
    let key = format!("{client}|{}", f.email.trim().to_lowercase());
    let cfg = &app.config;
    if let Some(wait) = app.login_limiter.blocked_for(&key, cfg.login_max_failures, cfg.login_window) {
        let mut r = again(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Too many failed attempts. Try again in {} minutes.", wait.div_ceil(60)),
            &f.email,
            &nonce.0,
        );
        r.headers_mut().insert(header::RETRY_AFTER, wait.into());
        return Ok(r);
    }
    let tenant_id = cfg.tenant_id;
    let user = match Email::parse(&f.email) {
        Ok(email) => {
            let mut tx = app.db.read().await?;
            let u = users::get_for_login(&mut tx, tenant_id, &email).await?;
            tx.commit().await?;
            u
        }
        Err(_) => None,
    };
    let ok = match &user {
        Some((u, Some(hash))) if u.active => verify_password(&f.password, hash),
        _ => {
            verify_password(&f.password, dummy_password_hash());
            false
        }
    };
    let Some((user, _)) = user.filter(|_| ok) else {
        app.login_limiter.record_failure(&key);
        tracing::info!("login failed");
        return Ok(again(
            StatusCode::UNAUTHORIZED,
            "That e-mail and password do not match an active user.",
            &f.email,
            &nonce.0,
        ));
    };
    app.login_limiter.reset(&key);
    let mut tx = app.db.write().await?;
    let (secret, _) = sessions::create(&mut tx, tenant_id, user.key, cfg.session_ttl).await?;
    tx.commit().await?;
    let secure = cfg.secure_cookies || headers.get("x-forwarded-proto").is_some_and(|v| v == "https");
    let cookie = session_cookie_header(&format!("{tenant_id}.{secret}"), cfg.session_ttl.whole_seconds(), secure);
    let mut r = Redirect::to(&next).into_response();
    r.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(r)
}

/// `POST /logout`: ends the session on the server and clears the cookie.
pub async fn logout(State(app): State<AppState>, headers: HeaderMap) -> PageResult {
    if let Some((tenant_id, secret)) = session_cookie(&headers) {
        let mut tx = app.db.write().await?;
        sessions::delete(&mut tx, tenant_id, &secret).await?;
        tx.commit().await?;
    }
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut().insert(header::SET_COOKIE, session_cookie_header("", 0, app.config.secure_cookies));
    Ok(r)
}
