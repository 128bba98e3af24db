//! `/api/v1/taxes` and `/api/v1/tax-categories`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use nave_domain::access::{Action, RecordType};
use nave_domain::error::Validator;
use nave_domain::ids::PublicId;
use nave_domain::tax::{check_validity, parse_rate};
use nave_store::taxes::{self, Tax, TaxCategory, TaxInput};
use serde::Deserialize;
use time::Date;

use super::payment_terms::parse_date;
use super::{double_option, parse_id};
use crate::begin_write;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiAuth, ApiWrite, NoBody};
use crate::present::{ListResponse, present, present_page};
use crate::state::AppState;

const TAX: RecordType = RecordType::Tax;
const CAT: RecordType = RecordType::TaxCategory;

#[utoipa::path(get, path = "/taxes", tag = "taxes", responses((status = 200, description = "Every tax rate", body = inline(TaxList))))]
pub async fn list_taxes(State(app): State<AppState>, auth: ApiAuth) -> ApiResult<Json<ListResponse>> {
    auth.require(TAX, Action::Read)?;
    let mut tx = app.db.autocommit().await?;
    let list = taxes::list_taxes(&mut tx, auth.0.tenant_id).await?;
    Ok(Json(present_page(&auth.0, TAX, &list, None)?))
}

/// Schema of a tax list (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct TaxList {
    data: Vec<Tax>,
    next: Option<String>,
}

/// A new tax rate.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTaxRequest {
    #[schema(example = "VAT 20 %")]
    pub name: String,
    /// Percent as a decimal string, 0 to 100, up to 4 decimals.
    #[schema(example = "20")]
    pub rate: String,
    /// `YYYY-MM-DD`
    pub valid_from: Option<String>,
    /// `YYYY-MM-DD`
    pub valid_to: Option<String>,
    /// Default `true`.
    pub active: Option<bool>,
}

fn date_field(field: &str, s: Option<&str>) -> ApiResult<Option<Date>> {
    s.filter(|s| !s.trim().is_empty()).map(|s| parse_date(field, s)).transpose()
}

/// A tax rate's fields checked as the API checks them (the rate, the validity window).
pub(crate) fn checked(
    name: String,
    rate: &str,
    from: Option<Date>,
    to: Option<Date>,
    active: bool,
) -> ApiResult<TaxInput> {
    let mut v = Validator::new();
    let rate = v.check("rate", parse_rate(rate));
    check_validity(&mut v, from, to);
    v.finish()?;
    Ok(TaxInput { name, rate: rate.expect("checked"), valid_from: from, valid_to: to, active })
}

#[utoipa::path(post, path = "/taxes", tag = "taxes", request_body = CreateTaxRequest,
    responses((status = 201, body = Tax), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_tax(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<CreateTaxRequest>,
) -> ApiResult<Response> {
    auth.require(TAX, Action::Create)?;
    let b = &req.body;
    let from = date_field("valid_from", b.valid_from.as_deref())?;
    let to = date_field("valid_to", b.valid_to.as_deref())?;
    let input = checked(b.name.clone(), &b.rate, from, to, b.active.unwrap_or(true))?;
    let mut w = begin_write!(app, auth, req);
    let tax = taxes::create_tax(w.tx(), &auth.actor(), input).await?;
    let body = present(&auth.0, TAX, &tax)?;
    w.respond(StatusCode::CREATED, &body).await
}

#[utoipa::path(get, path = "/taxes/{id}", tag = "taxes", params(("id" = String, Path)),
    responses((status = 200, body = Tax), (status = 404, body = Problem)))]
pub async fn get_tax(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    auth.require(TAX, Action::Read)?;
    let mut tx = app.db.autocommit().await?;
    let t = taxes::get_tax(&mut tx, auth.0.tenant_id, parse_id("tax", &id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("tax"))?;
    Ok(Json(present(&auth.0, TAX, &t)?))
}

/// Changes to a tax rate: absent fields stay, `null` clears a date.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTaxRequest {
    pub name: Option<String>,
    pub rate: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub valid_from: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub valid_to: Option<Option<String>>,
    pub active: Option<bool>,
}

fn merge_date(field: &str, patch: &Option<Option<String>>, before: &Option<String>) -> ApiResult<Option<Date>> {
    match patch {
        Some(v) => date_field(field, v.as_deref()),
        None => date_field(field, before.as_deref()),
    }
}

#[utoipa::path(patch, path = "/taxes/{id}", tag = "taxes", request_body = UpdateTaxRequest,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = Tax), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn update_tax(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<UpdateTaxRequest>,
) -> ApiResult<Response> {
    auth.require(TAX, Action::Update)?;
    let id = parse_id("tax", &id)?;
    let mut w = begin_write!(app, auth, req);
    let before = taxes::get_tax(w.tx(), auth.0.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("tax"))?;
    let b = &req.body;
    let input = checked(
        b.name.clone().unwrap_or_else(|| before.name.clone()),
        b.rate.as_deref().unwrap_or(&before.rate),
        merge_date("valid_from", &b.valid_from, &before.valid_from)?,
        merge_date("valid_to", &b.valid_to, &before.valid_to)?,
        b.active.unwrap_or(before.active),
    )?;
    let after = taxes::update_tax(w.tx(), &auth.actor(), &before, req.if_match, input).await?;
    let body = present(&auth.0, TAX, &after)?;
    w.respond(StatusCode::OK, &body).await
}

#[utoipa::path(delete, path = "/taxes/{id}", tag = "taxes", params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204), (status = 409, body = Problem)))]
pub async fn delete_tax(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    auth.require(TAX, Action::Delete)?;
    let id = parse_id("tax", &id)?;
    let mut w = begin_write!(app, auth, req);
    let before = taxes::get_tax(w.tx(), auth.0.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("tax"))?;
    taxes::delete_tax(w.tx(), &auth.actor(), &before, req.if_match).await?;
    w.respond(StatusCode::NO_CONTENT, &()).await
}

#[utoipa::path(get, path = "/tax-categories", tag = "taxes", responses((status = 200, description = "Every tax category", body = inline(TaxCategoryList))))]
pub async fn list_tax_categories(State(app): State<AppState>, auth: ApiAuth) -> ApiResult<Json<ListResponse>> {
    auth.require(CAT, Action::Read)?;
    let mut tx = app.db.autocommit().await?;
    let list = taxes::list_categories(&mut tx, auth.0.tenant_id).await?;
    Ok(Json(present_page(&auth.0, CAT, &list, None)?))
}

/// Schema of a tax category list (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct TaxCategoryList {
    data: Vec<TaxCategory>,
    next: Option<String>,
}

/// A tax category: a name and the taxes that apply.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxCategoryRequest {
    #[schema(example = "Standard goods")]
    pub name: Option<String>,
    #[schema(value_type = Option<Vec<String>>)]
    pub tax_ids: Option<Vec<PublicId>>,
}

#[utoipa::path(post, path = "/tax-categories", tag = "taxes", request_body = TaxCategoryRequest,
    responses((status = 201, body = TaxCategory), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_tax_category(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<TaxCategoryRequest>,
) -> ApiResult<Response> {
    auth.require(CAT, Action::Create)?;
    let name = req.body.name.clone().ok_or_else(|| ApiError::invalid("name", "is required"))?;
    let mut w = begin_write!(app, auth, req);
    let ids = req.body.tax_ids.clone().unwrap_or_default();
    let cat = taxes::create_category(w.tx(), &auth.actor(), &name, &ids).await?;
    let body = present(&auth.0, CAT, &cat)?;
    w.respond(StatusCode::CREATED, &body).await
}

#[utoipa::path(get, path = "/tax-categories/{id}", tag = "taxes", params(("id" = String, Path)),
    responses((status = 200, body = TaxCategory), (status = 404, body = Problem)))]
pub async fn get_tax_category(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    auth.require(CAT, Action::Read)?;
    let mut tx = app.db.autocommit().await?;
    let c = taxes::get_category(&mut tx, auth.0.tenant_id, parse_id("tax_category", &id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("tax_category"))?;
    Ok(Json(present(&auth.0, CAT, &c)?))
}

#[utoipa::path(patch, path = "/tax-categories/{id}", tag = "taxes", request_body = TaxCategoryRequest,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = TaxCategory), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn update_tax_category(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<TaxCategoryRequest>,
) -> ApiResult<Response> {
    auth.require(CAT, Action::Update)?;
    let id = parse_id("tax_category", &id)?;
    let mut w = begin_write!(app, auth, req);
    let before =
        taxes::get_category(w.tx(), auth.0.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("tax_category"))?;
    let b = &req.body;
    let after =
        taxes::update_category(w.tx(), &auth.actor(), &before, req.if_match, b.name.as_deref(), b.tax_ids.as_deref())
            .await?;
    let body = present(&auth.0, CAT, &after)?;
    w.respond(StatusCode::OK, &body).await
}

#[utoipa::path(delete, path = "/tax-categories/{id}", tag = "taxes", params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_tax_category(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    auth.require(CAT, Action::Delete)?;
    let id = parse_id("tax_category", &id)?;
    let mut w = begin_write!(app, auth, req);
    let before =
        taxes::get_category(w.tx(), auth.0.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("tax_category"))?;
    taxes::delete_category(w.tx(), &auth.actor(), &before, req.if_match).await?;
    w.respond(StatusCode::NO_CONTENT, &()).await
}

/// For whom and when.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProductTaxQuery {
    /// The customer account (its tax treatment applies); default: standard treatment.
    pub account_id: Option<String>,
    /// The document date, `YYYY-MM-DD` (default today).
    pub date: Option<String>,
}

/// The taxes a new line of a product gets.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ProductTaxesResponse {
    /// `standard`, `exempt` or `reverse_charge`.
    pub tax_treatment: String,
    pub taxes: Vec<Tax>,
    /// The legal mention the document must carry, if any.
    pub mention: Option<String>,
}

#[utoipa::path(get, path = "/products/{id}/taxes", tag = "taxes", params(("id" = String, Path), ProductTaxQuery),
    responses((status = 200, body = ProductTaxesResponse), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn get_product_taxes(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    crate::extract::Query(q): crate::extract::Query<ProductTaxQuery>,
) -> ApiResult<Json<ProductTaxesResponse>> {
    auth.require(RecordType::Product, Action::Read)?;
    let day = super::payment_terms::date_or_today("date", q.date.as_deref())?;
    let mut tx = app.db.autocommit().await?;
    let t = auth.0.tenant_id;
    let product = nave_store::catalog::get_product(&mut tx, t, parse_id("product", &id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("product"))?;
    let account = super::accounts::readable_account(&mut tx, &auth, "account_id", q.account_id.as_deref()).await?;
    let treatment = account.map_or(nave_domain::tax::TaxTreatment::Standard, |a| a.tax_treatment);
    let taxes = taxes::applicable(&mut tx, t, &product, treatment, day).await?;
    Ok(Json(ProductTaxesResponse {
        tax_treatment: treatment.as_str().to_string(),
        taxes,
        mention: treatment.mention().map(str::to_string),
    }))
}
