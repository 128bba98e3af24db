//! The web pages: server-rendered askama templates, one `*Page` struct per
//! template, sessions in an `HttpOnly` cookie, CSRF checks and a CSP nonce on
//! every response (see `security`).

use askama::Template;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use nave_domain::access::{Action, Principal, RecordType};
use nave_domain::error::{ErrorCode, FieldError};
use nave_store::{sessions, users};

use crate::error::{ApiError, request_id};
use crate::security::CspNonce;
use crate::state::AppState;

pub mod access;
pub mod accounts;
pub mod activities;
pub mod admin;
pub mod attachments;
pub mod auth;
pub mod bulk;
pub mod cases;
pub mod catalog;
pub mod categories;
pub mod company;
pub mod contacts;
pub mod documents;
pub mod exports;
pub mod fulfilment;
pub mod home;
pub mod imports;
pub mod jobs;
pub mod leads;
pub mod me;
pub mod payments;
pub mod pipeline;
pub mod price_lists;
pub mod purchase;
pub mod reports;
pub mod search;
pub mod sequences;
pub mod settings;
pub mod show;
pub mod stock;
pub mod subscriptions;
pub mod sync;
pub mod terms;
pub mod views;
pub mod webhooks;
pub mod woocommerce;

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
    /// The "Sales" links the user may follow: (path, label).
    pub sales: Vec<(&'static str, &'static str)>,
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
            sales: documents::nav_links(&self.principal),
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
    show::set_locale(&user.locale);
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
        layout: Layout { nonce: String::new(), user: None, can_admin: false, active: "", sales: vec![] },
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

/// Formats a time for pages in the user's locale (UTC, as stored).
pub fn fmt_time(t: time::OffsetDateTime) -> String {
    show::date_time(t)
}

/// Refuses a page to a principal without `action` on `record_type` (403),
/// with a message naming what they tried.
pub fn require(p: &Principal, record_type: RecordType, action: Action, what: &str) -> Result<(), PageError> {
    match p.scope_for(record_type, action) {
        Some(_) => Ok(()),
        None => Err(ApiError::forbidden(format!("your role may not {what}")).into()),
    }
}

/// An url-encoded form body as the user typed it, in order.
#[derive(Debug, Default, Clone)]
pub struct FormData(Vec<(String, String)>);

impl FormData {
    pub fn parse(body: &[u8]) -> Self {
        FormData(form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
    }

    /// The first value of `name`, or `""`.
    pub fn get(&self, name: &str) -> String {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
    }

    /// Every value of `name` (checkboxes that share a name).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }

    /// The record version the form was shown with (0, never a version, when missing).
    pub fn version(&self) -> i64 {
        self.get("version").trim().parse().unwrap_or(0)
    }

    /// Is the checkbox `name` ticked?
    pub fn checked(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// The rows of a repeated group named `group[i].field`, in index order,
    /// each with the values of `fields` in that order; rows left blank are
    /// dropped, so the row numbers of errors are those of the rows kept.
    pub fn rows(&self, group: &str, fields: &[&str]) -> Vec<Vec<String>> {
        let mut rows: std::collections::BTreeMap<usize, Vec<String>> = std::collections::BTreeMap::new();
        for (k, v) in &self.0 {
            let Some(rest) = k.strip_prefix(group).and_then(|r| r.strip_prefix('[')) else { continue };
            let Some((i, field)) = rest.split_once("].") else { continue };
            let (Ok(i), Some(pos)) = (i.parse::<usize>(), fields.iter().position(|f| *f == field)) else { continue };
            if i < 1000 {
                rows.entry(i).or_insert_with(|| vec![String::new(); fields.len()])[pos] = v.clone();
            }
        }
        rows.into_values().filter(|r| r.iter().any(|v| !v.trim().is_empty())).collect()
    }
}

/// The errors of a form shown again: each next to its field, and refusals
/// that concern no single field (a conflict, a stale version) at the top.
#[derive(Debug, Default)]
pub struct FormErrors {
    fields: Vec<FieldError>,
    /// What the form as a whole was refused for.
    pub general: Option<String>,
    stale: bool,
}

impl FormErrors {
    /// Errors, each next to its field.
    pub fn from_fields(fields: Vec<FieldError>) -> Self {
        FormErrors { fields, ..Default::default() }
    }

    /// A refusal of the form as a whole, shown at its top.
    pub fn whole(message: impl Into<String>) -> Self {
        FormErrors { general: Some(message.into()), ..Default::default() }
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.fields.push(FieldError::new(field, message));
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_none()
    }

    pub fn has_field_errors(&self) -> bool {
        !self.fields.is_empty()
    }

    /// The first error of exactly `field` (not of its elements).
    pub fn only(&self, field: &str) -> Option<&str> {
        self.fields.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }

    /// The first error of `field`, or of an element of it (`tags` for `tags[2]`).
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|e| e.field == field || e.field.strip_prefix(field).is_some_and(|r| r.starts_with('[')))
            .map(|e| e.message.as_str())
    }

    /// The messages for the rows of a list field (`field[i].part`) as
    /// "Row i+1, part: message", for a list shown as one block of rows.
    pub fn row_messages(&self, field: &str) -> Vec<String> {
        self.fields
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

    /// The error of `field` in row `i` of `group` (`lines[0].quantity`).
    pub fn row(&self, group: &str, i: impl std::fmt::Display, field: &str) -> Option<&str> {
        self.get(&format!("{group}[{i}].{field}"))
    }

    /// Renames fields that the store names differently from the form (`product_id` → `sku`).
    pub fn rename(&mut self, from_suffix: &str, to_suffix: &str) {
        for e in &mut self.fields {
            if let Some(head) = e.field.strip_suffix(from_suffix) {
                e.field = format!("{head}{to_suffix}");
            }
        }
    }

    /// Takes a refusal the user can act on from the form: field errors go
    /// next to their fields, a conflict or a stale version to the top; any
    /// other error is returned to be shown as an error page.
    pub fn absorb(&mut self, e: impl Into<ApiError>) -> Result<(), ApiError> {
        let e: ApiError = e.into();
        match e.code {
            ErrorCode::ValidationFailed if !e.errors.is_empty() => self.fields.extend(e.errors),
            ErrorCode::Conflict | ErrorCode::ValidationFailed => self.general = Some(e.detail),
            ErrorCode::VersionMismatch => {
                self.stale = true;
                self.general = Some(
                    "Someone else changed this record since you opened the form, so your changes were not saved. \
                     Reload the page to see the current values, then make your changes again."
                        .into(),
                );
            }
            _ => return Err(e),
        }
        Ok(())
    }

    /// The status of a form shown again: 409 when it was stale, else 422.
    pub fn status(&self) -> StatusCode {
        if self.stale { StatusCode::CONFLICT } else { StatusCode::UNPROCESSABLE_ENTITY }
    }
}

/// A refusal the user can act on from the form, as its errors; anything
/// else becomes the page's error.
pub fn form_errors(e: impl Into<ApiError>) -> Result<FormErrors, PageError> {
    let mut f = FormErrors::default();
    f.absorb(e)?;
    Ok(f)
}

/// Parses an optional `YYYY-MM-DD` form field; an error goes next to the field.
pub fn form_date(errors: &mut FormErrors, field: &str, value: &str) -> Option<time::Date> {
    if value.trim().is_empty() {
        return None;
    }
    match crate::api::payment_terms::parse_date(field, value) {
        Ok(d) => Some(d),
        Err(e) => {
            errors.absorb(e).ok();
            None
        }
    }
}

/// A form shown again with its errors, with `FormErrors::status`.
pub fn form_again<T: Template>(status: StatusCode, page: &T) -> PageResult {
    Ok((status, render(page)).into_response())
}

/// A text field of a record presented through field security; `None` when
/// the principal may not see it.
pub fn shown(v: &serde_json::Value, field: &str) -> Option<String> {
    v.get(field).and_then(serde_json::Value::as_str).map(str::to_string)
}

/// A validity window as pages show it.
pub fn validity(from: Option<&str>, to: Option<&str>) -> String {
    match (from, to) {
        (None, None) => "always".into(),
        (Some(f), None) => format!("from {f}"),
        (None, Some(t)) => format!("until {t}"),
        (Some(f), Some(t)) => format!("{f} to {t}"),
    }
}

/// The fields of an url-encoded form body by name (the last value of a
/// repeated name wins), for forms without repeated fields.
pub fn form_fields(body: &[u8]) -> std::collections::HashMap<String, String> {
    form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// The scope the principal has for `action` on `record_type`, or a 403 page.
pub fn require_page(
    p: &Principal,
    record_type: RecordType,
    action: Action,
) -> Result<nave_domain::access::Scope, PageError> {
    p.scope_for(record_type, action).ok_or_else(|| {
        PageError(ApiError::forbidden(format!(
            "your role may not {action} {} records",
            record_type.as_str().replace('_', " ")
        )))
    })
}

/// Choices for a `<select>`: (value, label).
pub type Choices = Vec<(String, String)>;

/// The users as choices for an owner or assignee select.
pub async fn user_choices(tx: &mut nave_store::Tx, tenant_id: i64) -> Result<Choices, PageError> {
    Ok(users::list(tx, tenant_id).await?.into_iter().filter(|u| u.active).map(|u| (u.id.to_string(), u.name)).collect())
}

/// The active accounts `p` may read, as choices (the first 200 by name).
pub async fn account_choices(tx: &mut nave_store::Tx, p: &Principal) -> Result<Choices, PageError> {
    let scope = require_page(p, RecordType::Account, Action::Read)?;
    let q = nave_store::accounts::AccountQuery {
        visibility: nave_store::accounts::Visibility::of(p, scope),
        sort: nave_store::page::Sort::parse(nave_store::accounts::SORTS, "name").unwrap_or_default(),
        limit: 200,
        ..Default::default()
    };
    let mut list = nave_store::accounts::list(tx, p.tenant_id, &q).await?.items;
    list.sort_by_key(|a| a.name.to_lowercase());
    Ok(list.into_iter().map(|a| (a.id.to_string(), a.name)).collect())
}

/// A duration in seconds as a short text: `42 s`, `17 min`, `3 h 5 min`, `2 d 4 h`.
pub fn fmt_seconds(s: i64) -> String {
    match s {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        s => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

/// One field of a form rendered by `templates/parts/form_fields.html`.
#[derive(Debug, Clone)]
pub struct FormField {
    pub name: &'static str,
    pub label: &'static str,
    pub value: String,
    /// `text`, `decimal`, `numeric` (input modes), `date`, `area` or `select`.
    pub kind: &'static str,
    /// A select's choices.
    pub choices: Choices,
    /// A select's empty choice ("" offers none).
    pub blank: &'static str,
}

impl FormField {
    /// A one-line input; `kind` is `text`, `decimal`, `numeric` or `date`.
    pub fn input(name: &'static str, label: &'static str, value: &str, kind: &'static str) -> Self {
        FormField { name, label, value: value.to_string(), kind, choices: vec![], blank: "" }
    }

    pub fn area(name: &'static str, label: &'static str, value: &str) -> Self {
        FormField { kind: "area", ..Self::input(name, label, value, "text") }
    }

    pub fn select(name: &'static str, label: &'static str, value: &str, choices: Choices, blank: &'static str) -> Self {
        FormField { kind: "select", choices, blank, ..Self::input(name, label, value, "text") }
    }
}

/// A form field's text, trimmed; blank is none.
pub fn blank_none(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

impl From<FormErrors> for ApiError {
    fn from(e: FormErrors) -> Self {
        nave_domain::DomainError::Validation(e.fields).into()
    }
}

/// Checks the account a form names, when it is new or changed from `before`:
/// `p` must be able to read it (see `api::accounts::account_for`).
pub async fn check_form_account(
    tx: &mut nave_store::Tx,
    p: &Principal,
    account: Option<nave_domain::ids::PublicId>,
    before: Option<nave_domain::ids::PublicId>,
) -> Result<(), ApiError> {
    match account {
        Some(a) if before != Some(a) => crate::api::accounts::account_for(tx, p, "account_id", a).await.map(|_| ()),
        _ => Ok(()),
    }
}

/// Ends the save of a form: commits and redirects to `location` when it was
/// saved, or rolls back and gives the errors to show the form again with
/// (a refusal that is not about the input becomes the page's error).
pub async fn finish_save(
    tx: nave_store::Tx,
    saved: Result<String, ApiError>,
) -> Result<Result<Response, FormErrors>, PageError> {
    match saved {
        Ok(location) => {
            tx.commit().await?;
            Ok(Ok(Redirect::to(&location).into_response()))
        }
        Err(e) => {
            tx.rollback().await?;
            Ok(Err(form_errors(e)?))
        }
    }
}
