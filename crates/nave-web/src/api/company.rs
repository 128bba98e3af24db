//! `/api/v1/settings/company`: the company's own details printed at the
//! head of every document PDF (legal name, address, tax id, email, phone,
//! logo) and the purchase receiving tolerance. Everyone signed in reads
//! them; only a role that may update `company_settings` (the admin) changes
//! them. See `nave_store::company`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use nave_domain::access::{Action, RecordType};
use nave_domain::error::ErrorCode;
use nave_store::company::{self, CompanyInput, CompanySettings};
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::begin_write;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiAuth, ApiUpload, ApiWrite, NoBody};
use crate::state::AppState;

const T: RecordType = RecordType::CompanySettings;

/// The largest logo accepted, in bytes: it is embedded in every PDF.
pub const MAX_LOGO_BYTES: usize = 1024 * 1024;

/// The company settings as saved (every field; blank optional ones clear).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyRequest {
    /// Printed at the head of documents.
    #[schema(example = "Nave Trading Ltd")]
    pub legal_name: String,
    /// The postal address, one line per line.
    #[serde(default)]
    pub address: String,
    pub tax_id: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Percent of the ordered quantity a purchase-order line may be received
    /// and billed beyond what was ordered: 0 to 100, one decimal (default 0).
    #[schema(value_type = Option<String>, example = "5.0")]
    pub receiving_tolerance_percent: Option<String>,
}

impl CompanyRequest {
    pub fn input(&self) -> ApiResult<CompanyInput> {
        let pct = match self.receiving_tolerance_percent.as_deref().map(str::trim) {
            None | Some("") => Decimal::ZERO,
            Some(s) => s.parse::<Decimal>().map_err(|_| {
                ApiError::invalid("receiving_tolerance_percent", "must be a percent between 0 and 100, like 5.0")
            })?,
        };
        Ok(CompanyInput {
            legal_name: self.legal_name.clone(),
            address: self.address.clone(),
            tax_id: self.tax_id.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            receiving_tolerance_percent: pct,
        })
    }
}

#[utoipa::path(get, path = "/settings/company", tag = "settings",
    description = "The company's details printed on documents, and the purchase receiving tolerance. Before the \
        first save: the tenant's name, nothing else, version 0.",
    responses((status = 200, body = CompanySettings)))]
pub async fn get_company(State(app): State<AppState>, auth: ApiAuth) -> ApiResult<Json<CompanySettings>> {
    auth.require(T, Action::Read)?;
    let mut tx = app.db.read().await?;
    let s = company::get(&mut tx, auth.0.tenant_id).await?;
    tx.commit().await?;
    Ok(Json(s))
}

#[utoipa::path(put, path = "/settings/company", tag = "settings", request_body = CompanyRequest,
    params(("If-Match" = Option<String>, Header, description = "Expected version (0 before the first save)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    responses((status = 200, body = CompanySettings), (status = 403, body = Problem), (status = 412, body = Problem),
        (status = 422, description = "Invalid, naming the field and the limit", body = Problem)))]
pub async fn put_company(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<CompanyRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Update)?;
    let input = req.body.input()?;
    let mut w = begin_write!(app, auth, req);
    let after = company::update(w.tx(), &auth.actor(), req.if_match, input).await?;
    w.respond(StatusCode::OK, &after).await
}

/// Checks an uploaded logo: an image (read from its bytes) of at most 1 MiB.
pub async fn check_logo(bytes: Vec<u8>) -> ApiResult<(String, Vec<u8>)> {
    if bytes.len() > MAX_LOGO_BYTES {
        return Err(ApiError::new(ErrorCode::PayloadTooLarge, "a logo may be at most 1 MiB"));
    }
    let picture = crate::api::catalog::prepare_picture(bytes).await.map_err(|mut e| {
        for f in &mut e.errors {
            f.field = "logo".into();
        }
        e
    })?;
    Ok((picture.content_type, picture.data))
}

#[utoipa::path(put, path = "/settings/company/logo", tag = "settings",
    params(("If-Match" = Option<String>, Header)),
    request_body(content = Vec<u8>, content_type = "image/*",
        description = "The logo's bytes: PNG, JPEG, WebP or GIF, at most 1 MiB; printed at most 4 cm wide and 2.2 cm high"),
    responses((status = 200, body = CompanySettings), (status = 413, body = Problem), (status = 415, body = Problem),
        (status = 422, description = "Not an image, or the company's details are not saved yet", body = Problem)))]
pub async fn put_company_logo(
    State(app): State<AppState>,
    auth: ApiAuth,
    ApiUpload(req): ApiUpload,
) -> ApiResult<Response> {
    auth.require(T, Action::Update)?;
    let (content_type, data) = check_logo(req.body.clone()).await?;
    let mut w = begin_write!(app, auth, req);
    let after = company::set_logo(w.tx(), &auth.actor(), req.if_match, Some((&content_type, &data))).await?;
    w.respond(StatusCode::OK, &after).await
}

#[utoipa::path(delete, path = "/settings/company/logo", tag = "settings",
    params(("If-Match" = Option<String>, Header)),
    responses((status = 200, description = "Documents print no logo now", body = CompanySettings),
        (status = 412, body = Problem)))]
pub async fn delete_company_logo(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    auth.require(T, Action::Update)?;
    let mut w = begin_write!(app, auth, req);
    let after = company::set_logo(w.tx(), &auth.actor(), req.if_match, None).await?;
    w.respond(StatusCode::OK, &after).await
}

#[utoipa::path(get, path = "/settings/company/logo", tag = "settings",
    responses((status = 200, description = "The logo's bytes, with its content type", content_type = "image/*"),
        (status = 404, body = Problem)))]
pub async fn get_company_logo(State(app): State<AppState>, auth: ApiAuth) -> ApiResult<Response> {
    auth.require(T, Action::Read)?;
    logo_response(&app, auth.0.tenant_id).await
}

/// The logo's bytes as a response (404 without one).
pub async fn logo_response(app: &AppState, tenant_id: i64) -> ApiResult<Response> {
    let mut tx = app.db.read().await?;
    let (file, data) = company::logo(&mut tx, tenant_id).await?.ok_or_else(|| ApiError::not_found("company logo"))?;
    tx.commit().await?;
    let mut r = (StatusCode::OK, data).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_str(&file.content_type).map_err(|e| ApiError::internal(&e))?);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    Ok(r)
}
