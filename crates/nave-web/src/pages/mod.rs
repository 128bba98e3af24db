//! The web pages: server-rendered askama templates, one `*Page` struct per
//! template, sessions in an `HttpOnly` cookie, CSRF checks and a CSP nonce on
//! every response (see `security`).

use askama::Template;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use nave_domain::access::{Action, Principal, RecordType};
use nave_domain::error::ErrorCode;
use nave_store::{sessions, users};

use crate::error::{ApiError, request_id};
use crate::security::CspNonce;
use crate::state::AppState;

pub mod accounts;
pub mod admin;
pub mod auth;
pub mod catalog;
pub mod contacts;
pub mod home;
pub mod settings;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "nave_session";

/// The signed-in user as the layout shows them.
#[derive(Debug, Clone)]
pub struct LayoutUser {
    pub name: String,
    pub email: String,
    pub role: String,
}

/// What every page's layout needs.
#[derive(Debug, Clone)]
pub struct Layout {
    pub nonce: String,
    pub user: Option<LayoutUser>,
    pub can_admin: bool,
    pub active: &'static str,
}

/// The signed-in user of a page request.
#[derive(Debug, Clone)]
pub struct PageAuth {
    pub principal: Principal,
    pub user: users::User,
    pub nonce: String,
}

impl PageAuth {
    pub fn layout(&self, active: &'static str) -> Layout {
        Layout {
            nonce: self.nonce.clone(),
            user: Some(LayoutUser {
                name: self.user.name.clone(),
                email: self.user.email.clone(),
                role: self.user.role.clone(),
            }),
            can_admin: self.principal.scope_for(RecordType::User, Action::Create).is_some(),
            active,
        }
    }
}

/// The CSP nonce of this request (set by the `csp` middleware).
pub fn nonce_of(parts: &Parts) -> String {
    parts.extensions.get::<CspNonce>().map(|n| n.0.clone()).unwrap_or_default()
}

/// Reads the session cookie: `<tenant>.<secret>`.
pub fn session_cookie(headers: &HeaderMap) -> Option<(i64, String)> {
    let raw = headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join("; ");
    let value = raw.split(';').map(str::trim).find_map(|c| c.strip_prefix(&format!("{SESSION_COOKIE}=")))?;
    let (tenant, secret) = value.split_once('.')?;
    Some((tenant.parse().ok()?, secret.to_string()))
}

/// Where an unauthenticated page request is sent.
#[derive(Debug)]
pub struct LoginRedirect(String);

impl IntoResponse for LoginRedirect {
    fn into_response(self) -> Response {
        let next: String = form_urlencoded::byte_serialize(self.0.as_bytes()).collect();
        Redirect::to(&format!("/login?next={next}")).into_response()
    }
}

async fn load_session(parts: &Parts, app: &AppState) -> Result<Option<PageAuth>, ApiError> {
    let Some((tenant_id, secret)) = session_cookie(&parts.headers) else { return Ok(None) };
    let mut tx = app.db.autocommit().await?;
    let Some(user_key) = sessions::user_of(&mut tx, tenant_id, &secret).await? else { return Ok(None) };
    let Some(user) = users::get_by_key(&mut tx, tenant_id, user_key).await? else { return Ok(None) };
    tx.commit().await?;
    let principal = app.principal(tenant_id, &user, None).await?;
    Ok(Some(PageAuth { principal, user, nonce: nonce_of(parts) }))
}

impl FromRequestParts<AppState> for PageAuth {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Self::Rejection> {
        match load_session(parts, app).await {
            Ok(Some(a)) => Ok(a),
            Ok(None) => {
                let target = parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
                Err(LoginRedirect(target).into_response())
            }
            Err(e) => Err(error_page(&e).into_response()),
        }
    }
}

impl OptionalFromRequestParts<AppState> for PageAuth {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Option<Self>, Self::Rejection> {
        load_session(parts, app).await.map_err(|e| error_page(&e).into_response())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    title: String,
    detail: String,
    request_id: Option<String>,
}

/// An error as an HTML page with the error's status.
pub fn error_page(e: &ApiError) -> Response {
    let page = ErrorPage {
        layout: Layout { nonce: String::new(), user: None, can_admin: false, active: "" },
        title: e.code.title().to_string(),
        detail: e.detail.clone(),
        request_id: if e.code == ErrorCode::Internal { request_id() } else { None },
    };
    (e.status(), render(&page)).into_response()
}

/// Renders a template; a template failure is an internal error page.
pub fn render<T: Template>(t: &T) -> Html<String> {
    match t.render() {
        Ok(s) => Html(s),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            Html("<!doctype html><title>Error</title><p>The page could not be shown.</p>".to_string())
        }
    }
}

/// A page handler's error: shown as an HTML page.
#[derive(Debug)]
pub struct PageError(pub ApiError);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        error_page(&self.0)
    }
}

impl<E: Into<ApiError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

pub type PageResult = Result<Response, PageError>;

/// `Set-Cookie` for the session, with the flags the session needs.
pub fn session_cookie_header(value: &str, max_age_s: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_s}{secure}"
    ))
    .expect("cookie value is ASCII")
}

/// Not found, as a page.
pub async fn not_found() -> Response {
    error_page(&ApiError::new(ErrorCode::NotFound, "there is no page at this address"))
}

/// Formats a time for pages (UTC for now; per-user zones come with locales).
pub fn fmt_time(t: time::OffsetDateTime) -> String {
    format!("{:04}-{:02}-{:02} {:02}:{:02}", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute())
}

/// The errors of a submitted form, looked up by field for the template.
#[derive(Debug, Clone, Default)]
pub struct FormErrors(pub Vec<nave_domain::FieldError>);

impl FormErrors {
    /// The first message for `field` or any of its parts (`field[0].x`, `field.x`).
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| {
                e.field == field
                    || e.field.strip_prefix(field).is_some_and(|r| r.starts_with('[') || r.starts_with('.'))
            })
            .map(|e| e.message.as_str())
    }

    /// The messages for the rows of a list field (`field[i].part`) as
    /// "Row i+1, part: message", for a list shown as table rows.
    pub fn rows(&self, field: &str) -> Vec<String> {
        self.0
            .iter()
            .filter_map(|e| {
                let rest = e.field.strip_prefix(field)?;
                if rest.is_empty() {
                    return Some(e.message.clone());
                }
                let (i, part) = rest.strip_prefix('[')?.split_once(']')?;
                let row = i.parse::<usize>().ok()? + 1;
                Some(match part.strip_prefix('.') {
                    Some(p) => format!("Row {row}, {}: {}", p.replace('_', " "), e.message),
                    None => format!("Row {row}: {}", e.message),
                })
            })
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Turns a store refusal into form errors when it is about the input (the
/// form is shown again), or into the page's error otherwise. Conflicts and
/// stale versions are shown on the form under `form`.
pub fn form_errors(e: impl Into<ApiError>) -> Result<FormErrors, PageError> {
    let e: ApiError = e.into();
    match e.code {
        ErrorCode::ValidationFailed => Ok(FormErrors(e.errors)),
        ErrorCode::Conflict | ErrorCode::VersionMismatch => {
            let message = if e.code == ErrorCode::VersionMismatch {
                "Someone else changed this record since you opened the form; reload it and make your change again."
                    .to_string()
            } else {
                e.detail
            };
            Ok(FormErrors(vec![nave_domain::FieldError::new("form", message)]))
        }
        _ => Err(PageError(e)),
    }
}
