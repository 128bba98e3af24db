//! `/api/v1/price-lists` and `/api/v1/products/{id}/price`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use nave_domain::access::{Action, RecordType};
use nave_domain::ids::PublicId;
use nave_domain::money::{Currency, format_unit_price};
use nave_domain::stock::parse_quantity;
use nave_store::catalog;
use nave_store::price_lists::{self, ItemInput, PriceList, PriceListInput};
use serde::{Deserialize, Serialize};
use time::Date;

use super::payment_terms::{date_or_today, parse_date};
use super::{double_option, parse_id};
use crate::begin_write;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiAuth, ApiWrite, NoBody, Query};
use crate::present::{ListResponse, present, present_page};
use crate::state::AppState;

const T: RecordType = RecordType::PriceList;

#[utoipa::path(get, path = "/price-lists", tag = "catalog", responses((status = 200, description = "Every price list", body = inline(PriceListList))))]
pub async fn list_price_lists(State(app): State<AppState>, auth: ApiAuth) -> ApiResult<Json<ListResponse>> {
    auth.require(T, Action::Read)?;
    let mut tx = app.db.autocommit().await?;
    let lists = price_lists::list(&mut tx, auth.0.tenant_id).await?;
    Ok(Json(present_page(&auth.0, T, &lists, None)?))
}

/// Schema of a price-list list (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PriceListList {
    data: Vec<PriceList>,
    next: Option<String>,
}

/// One price of a price list.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemRequest {
    #[schema(value_type = String)]
    pub product_id: PublicId,
    /// From this quantity up (default `"0"`: any quantity).
    pub min_quantity: Option<String>,
    /// Unit price in the list's currency, up to 4 decimals.
    pub price: String,
}

/// A price list's fields; on update absent fields stay, `items` and `account_ids` replace the lists.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceListRequest {
    pub name: Option<String>,
    #[schema(value_type = Option<String>)]
    pub currency: Option<Currency>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub valid_from: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub valid_to: Option<Option<String>>,
    pub active: Option<bool>,
    pub items: Option<Vec<ItemRequest>>,
    #[schema(value_type = Option<Vec<String>>)]
    pub account_ids: Option<Vec<PublicId>>,
}

fn date_or(field: &str, patch: &Option<Option<String>>, before: Option<&String>) -> ApiResult<Option<Date>> {
    let s = match patch {
        Some(v) => v.as_deref(),
        None => before.map(String::as_str),
    };
    s.filter(|s| !s.trim().is_empty()).map(|s| parse_date(field, s)).transpose()
}

fn input(b: &PriceListRequest, before: Option<&PriceList>, company: Currency) -> ApiResult<PriceListInput> {
    let name = match (&b.name, before) {
        (Some(n), _) => n.clone(),
        (None, Some(l)) => l.name.clone(),
        (None, None) => return Err(ApiError::invalid("name", "is required")),
    };
    Ok(PriceListInput {
        name,
        currency: b.currency.or(before.map(|l| l.currency)).unwrap_or(company),
        valid_from: date_or("valid_from", &b.valid_from, before.and_then(|l| l.valid_from.as_ref()))?,
        valid_to: date_or("valid_to", &b.valid_to, before.and_then(|l| l.valid_to.as_ref()))?,
        active: b.active.or(before.map(|l| l.active)).unwrap_or(true),
        items: b.items.as_ref().map(|items| {
            items
                .iter()
                .map(|i| ItemInput {
                    product_id: i.product_id,
                    min_quantity: i.min_quantity.clone().unwrap_or_else(|| "0".into()),
                    price: i.price.clone(),
                })
                .collect()
        }),
        account_ids: b.account_ids.clone(),
    })
}

#[utoipa::path(post, path = "/price-lists", tag = "catalog", request_body = PriceListRequest,
    responses((status = 201, body = PriceList), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_price_list(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<PriceListRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Create)?;
    let mut w = begin_write!(app, auth, req);
    let company = nave_store::tenants::currency(w.tx(), auth.0.tenant_id).await?;
    let l = price_lists::create(w.tx(), &auth.actor(), input(&req.body, None, company)?).await?;
    let body = present(&auth.0, T, &l)?;
    w.respond(StatusCode::CREATED, &body).await
}

#[utoipa::path(get, path = "/price-lists/{id}", tag = "catalog", params(("id" = String, Path)),
    responses((status = 200, body = PriceList), (status = 404, body = Problem)))]
pub async fn get_price_list(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    auth.require(T, Action::Read)?;
    let mut tx = app.db.autocommit().await?;
    let l = price_lists::get(&mut tx, auth.0.tenant_id, parse_id("price_list", &id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("price_list"))?;
    Ok(Json(present(&auth.0, T, &l)?))
}

#[utoipa::path(patch, path = "/price-lists/{id}", tag = "catalog", request_body = PriceListRequest,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = PriceList), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn update_price_list(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<PriceListRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Update)?;
    let id = parse_id("price_list", &id)?;
    let mut w = begin_write!(app, auth, req);
    let before =
        price_lists::get(w.tx(), auth.0.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("price_list"))?;
    let company = nave_store::tenants::currency(w.tx(), auth.0.tenant_id).await?;
    let after =
        price_lists::update(w.tx(), &auth.actor(), &before, req.if_match, input(&req.body, Some(&before), company)?)
            .await?;
    let body = present(&auth.0, T, &after)?;
    w.respond(StatusCode::OK, &body).await
}

#[utoipa::path(delete, path = "/price-lists/{id}", tag = "catalog", params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_price_list(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    auth.require(T, Action::Delete)?;
    let id = parse_id("price_list", &id)?;
    let mut w = begin_write!(app, auth, req);
    let before =
        price_lists::get(w.tx(), auth.0.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("price_list"))?;
    price_lists::delete(w.tx(), &auth.actor(), &before, req.if_match).await?;
    w.respond(StatusCode::NO_CONTENT, &()).await
}

/// For whom, how many and when.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PriceQuery {
    /// The customer account (its price list applies).
    pub account_id: Option<String>,
    /// Default `"1"`.
    pub quantity: Option<String>,
    /// The document date, `YYYY-MM-DD` (default today).
    pub date: Option<String>,
}

/// The price a new line gets, and why.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PriceResponse {
    pub unit_price: String,
    pub currency: String,
    /// `price_list` or `list_price`.
    pub source: String,
    /// E.g. "price list Wholesale 2026, break ≥ 10".
    pub explanation: String,
}

#[utoipa::path(get, path = "/products/{id}/price", tag = "catalog", params(("id" = String, Path), PriceQuery),
    responses((status = 200, body = PriceResponse), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn get_product_price(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    Query(q): Query<PriceQuery>,
) -> ApiResult<Json<PriceResponse>> {
    auth.require(RecordType::Product, Action::Read)?;
    let quantity =
        parse_quantity(q.quantity.as_deref().unwrap_or("1")).map_err(|m| ApiError::invalid("quantity", m))?;
    if quantity <= 0 {
        return Err(ApiError::invalid("quantity", "must be above 0"));
    }
    let date = date_or_today("date", q.date.as_deref())?;
    let mut tx = app.db.autocommit().await?;
    let t = auth.0.tenant_id;
    let product = catalog::get_product(&mut tx, t, parse_id("product", &id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("product"))?;
    let account = super::accounts::readable_account(&mut tx, &auth, "account_id", q.account_id.as_deref()).await?;
    let account_key = account.map(|a| a.key);
    let quote = price_lists::resolve_price(&mut tx, t, &product, account_key, quantity, date).await?;
    Ok(Json(PriceResponse {
        unit_price: format_unit_price(quote.resolved.price, quote.currency),
        currency: quote.currency.code().to_string(),
        source: if quote.resolved.from_price_list { "price_list" } else { "list_price" }.to_string(),
        explanation: quote.resolved.explanation,
    }))
}
