//! `/api/v1/payment-terms`: instalment lists and the due dates they give.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use nave_domain::access::{Action, RecordType};
use nave_domain::money::{Currency, Money};
use nave_domain::terms::{Instalment, Terms};
use nave_store::payment_terms::{self, PaymentTerms, PaymentTermsPatch};
use serde::{Deserialize, Serialize};
use time::Date;
use time::macros::format_description;

use super::parse_id;
use crate::begin_write;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiAuth, ApiWrite, NoBody, Query};
use crate::present::{ListResponse, present, present_page};
use crate::state::AppState;

const T: RecordType = RecordType::PaymentTerms;

/// Filters of the payment-terms list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TermsFilter {
    /// Include deactivated terms.
    pub include_inactive: Option<bool>,
}

#[utoipa::path(get, path = "/payment-terms", tag = "payment terms", params(TermsFilter),
    responses((status = 200, description = "Payment terms, by name", body = inline(PaymentTermsList))))]
pub async fn list_payment_terms(
    State(app): State<AppState>,
    auth: ApiAuth,
    Query(f): Query<TermsFilter>,
) -> ApiResult<Json<ListResponse>> {
    auth.require(T, Action::Read)?;
    let mut tx = app.db.autocommit().await?;
    let list = payment_terms::list(&mut tx, auth.0.tenant_id, f.include_inactive.unwrap_or(false)).await?;
    Ok(Json(present_page(&auth.0, T, &list, None)?))
}

/// Schema of a payment-terms list (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PaymentTermsList {
    data: Vec<PaymentTerms>,
    next: Option<String>,
}

/// New payment terms.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePaymentTermsRequest {
    #[schema(example = "Net 30")]
    pub name: String,
    /// `[{"percent": "50" | null, "days": 30, "end_of_month": false, "day_of_month": null}]`;
    /// `percent` null is the remainder.
    #[schema(value_type = Vec<Object>)]
    pub instalments: Vec<Instalment>,
}

#[utoipa::path(post, path = "/payment-terms", tag = "payment terms", request_body = CreatePaymentTermsRequest,
    responses((status = 201, body = PaymentTerms), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_payment_terms(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<CreatePaymentTermsRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Create)?;
    let terms = Terms::new(req.body.instalments.clone())?;
    let mut w = begin_write!(app, auth, req);
    let created = payment_terms::create(w.tx(), &auth.actor(), &req.body.name, &terms).await?;
    let body = present(&auth.0, T, &created)?;
    w.respond(StatusCode::CREATED, &body).await
}

#[utoipa::path(get, path = "/payment-terms/{id}", tag = "payment terms", params(("id" = String, Path)),
    responses((status = 200, body = PaymentTerms), (status = 404, body = Problem)))]
pub async fn get_payment_terms(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    auth.require(T, Action::Read)?;
    let mut tx = app.db.autocommit().await?;
    let t = payment_terms::get(&mut tx, auth.0.tenant_id, parse_id("payment_terms", &id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("payment_terms"))?;
    Ok(Json(present(&auth.0, T, &t)?))
}

/// Changes to payment terms; `instalments` replaces the list.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePaymentTermsRequest {
    pub name: Option<String>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub instalments: Option<Vec<Instalment>>,
    pub active: Option<bool>,
}

#[utoipa::path(patch, path = "/payment-terms/{id}", tag = "payment terms", request_body = UpdatePaymentTermsRequest,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = PaymentTerms), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn update_payment_terms(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<UpdatePaymentTermsRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Update)?;
    let id = parse_id("payment_terms", &id)?;
    let terms = req.body.instalments.clone().map(Terms::new).transpose()?;
    let mut w = begin_write!(app, auth, req);
    let patch = PaymentTermsPatch { name: req.body.name.clone(), terms, active: req.body.active };
    let after = payment_terms::update(w.tx(), &auth.actor(), id, req.if_match, patch).await?;
    let body = present(&auth.0, T, &after)?;
    w.respond(StatusCode::OK, &body).await
}

#[utoipa::path(delete, path = "/payment-terms/{id}", tag = "payment terms",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_payment_terms(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    auth.require(T, Action::Delete)?;
    let id = parse_id("payment_terms", &id)?;
    let mut w = begin_write!(app, auth, req);
    payment_terms::delete(w.tx(), &auth.actor(), id, req.if_match).await?;
    w.respond(StatusCode::NO_CONTENT, &()).await
}

/// An amount and an invoice date to compute due dates for.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// Decimal string in `currency`, e.g. `"1200.00"`.
    pub amount: String,
    #[schema(value_type = String, example = "EUR")]
    pub currency: Currency,
    /// The invoice date, `YYYY-MM-DD`.
    #[schema(example = "2025-01-31")]
    pub date: String,
    /// Instalments to try without saving them (only on `/payment-terms/preview`).
    #[schema(value_type = Option<Vec<Object>>)]
    pub instalments: Option<Vec<Instalment>>,
}

/// One due date.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DueDateResponse {
    pub date: String,
    pub amount: String,
}

/// The schedule of an amount under payment terms.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PreviewResponse {
    pub currency: String,
    pub due_dates: Vec<DueDateResponse>,
}

/// Parses a `YYYY-MM-DD` date, or a 422 naming `field`.
pub fn parse_date(field: &str, s: &str) -> ApiResult<Date> {
    Date::parse(s.trim(), format_description!("[year]-[month]-[day]"))
        .map_err(|_| ApiError::invalid(field, "must be a date written YYYY-MM-DD"))
}

/// An optional `YYYY-MM-DD` query date, today when absent.
pub fn date_or_today(field: &str, s: Option<&str>) -> ApiResult<Date> {
    match s {
        Some(d) => parse_date(field, d),
        None => Ok(nave_store::db::now().date()),
    }
}

/// Computes the schedule of a preview request under `terms`.
pub fn schedule(terms: &Terms, req: &PreviewRequest) -> ApiResult<PreviewResponse> {
    let amount = Money::parse(&req.amount, req.currency).map_err(|e| ApiError::invalid("amount", e.to_string()))?;
    let date = parse_date("date", &req.date)?;
    let due_dates = terms
        .schedule(amount, date)
        .into_iter()
        .map(|d| DueDateResponse { date: d.date.to_string(), amount: d.amount.to_string() })
        .collect();
    Ok(PreviewResponse { currency: req.currency.code().to_string(), due_dates })
}

#[utoipa::path(post, path = "/payment-terms/{id}/preview", tag = "payment terms", request_body = PreviewRequest,
    params(("id" = String, Path)),
    responses((status = 200, body = PreviewResponse), (status = 422, body = Problem)))]
pub async fn preview_payment_terms(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<PreviewRequest>,
) -> ApiResult<Json<PreviewResponse>> {
    auth.require(T, Action::Read)?;
    if req.body.instalments.is_some() {
        return Err(ApiError::invalid("instalments", "belongs on /payment-terms/preview, not on saved terms"));
    }
    let mut tx = app.db.autocommit().await?;
    let t = payment_terms::get(&mut tx, auth.0.tenant_id, parse_id("payment_terms", &id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("payment_terms"))?;
    Ok(Json(schedule(&t.terms()?, &req.body)?))
}

#[utoipa::path(post, path = "/payment-terms/preview", tag = "payment terms", request_body = PreviewRequest,
    responses((status = 200, body = PreviewResponse), (status = 422, body = Problem)))]
pub async fn preview_unsaved_terms(auth: ApiAuth, req: ApiWrite<PreviewRequest>) -> ApiResult<Json<PreviewResponse>> {
    auth.require(T, Action::Read)?;
    let instalments = req
        .body
        .instalments
        .clone()
        .ok_or_else(|| ApiError::invalid("instalments", "list the instalments to preview"))?;
    Ok(Json(schedule(&Terms::new(instalments)?, &req.body)?))
}
