//! `/api/v1/integrations/woocommerce`: connections to WooCommerce shops (the
//! admin's, through the `integration` permission), their intake logs and
//! retries, and the webhook each shop delivers to. The webhook carries no
//! token: it is authenticated by `X-WC-Webhook-Signature` alone, checked
//! before anything is stored (ADR 0015). The secret is write-only.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use nave_domain::access::{Action, RecordType};
use nave_domain::error::ErrorCode;
use nave_domain::ids::PublicId;
use nave_store::woocommerce::{self, Connection, ConnectionPatch, IntakeEntry, IntakeQuery, NewConnection};
use serde::{Deserialize, Serialize};

use super::{double_option, parse_id};
use crate::begin_write;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiAuth, ApiWrite, NoBody, Query};
use crate::state::AppState;

const T: RecordType = RecordType::Integration;

/// One shop tax rate and the Nave tax it maps to.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxMappingRequest {
    /// The shop's tax rate id (`"1"`) or rate code (`"US-CA-TAX-1"`).
    pub woo_rate: String,
    #[schema(value_type = String)]
    pub tax_id: PublicId,
}

fn pairs(map: &[TaxMappingRequest]) -> Vec<(String, PublicId)> {
    map.iter().map(|m| (m.woo_rate.clone(), m.tax_id)).collect()
}

/// A new connection.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWooConnectionRequest {
    #[schema(example = "Main shop")]
    pub name: String,
    #[schema(example = "https://shop.example.com")]
    pub url: String,
    /// The webhook's secret as set in WooCommerce (8 to 200 characters); never shown back.
    pub secret: String,
    /// The warehouse the shop's goods ship from.
    #[schema(value_type = Option<String>)]
    pub warehouse_id: Option<PublicId>,
    #[serde(default)]
    pub tax_map: Vec<TaxMappingRequest>,
}

/// Changes to a connection; absent fields stay.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWooConnectionRequest {
    pub name: Option<String>,
    pub url: Option<String>,
    /// A new secret (the shop's webhook must be given it too).
    pub secret: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub warehouse_id: Option<Option<PublicId>>,
    /// Replaces the whole mapping.
    pub tax_map: Option<Vec<TaxMappingRequest>>,
}

/// Schema of a connection list (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct WooConnectionList {
    data: Vec<Connection>,
    next: Option<String>,
}

async fn find(tx: &mut nave_store::Tx, tenant_id: i64, id: &str) -> ApiResult<Connection> {
    woocommerce::get(tx, tenant_id, parse_id("WooCommerce connection", id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("WooCommerce connection"))
}

#[utoipa::path(get, path = "/integrations/woocommerce", tag = "integrations",
    responses((status = 200, description = "Every connection (without secrets)", body = inline(WooConnectionList)),
        (status = 403, body = Problem)))]
pub async fn list_woo_connections(State(app): State<AppState>, auth: ApiAuth) -> ApiResult<Json<serde_json::Value>> {
    auth.require(T, Action::Read)?;
    let mut tx = app.db.read().await?;
    let list = woocommerce::list(&mut tx, auth.0.tenant_id).await?;
    tx.commit().await?;
    Ok(Json(serde_json::json!({ "data": list, "next": null })))
}

#[utoipa::path(post, path = "/integrations/woocommerce", tag = "integrations", request_body = CreateWooConnectionRequest,
    responses((status = 201, body = Connection), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn create_woo_connection(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<CreateWooConnectionRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Create)?;
    let mut w = begin_write!(app, auth, req);
    let b = &req.body;
    let new = NewConnection {
        name: b.name.clone(),
        url: b.url.clone(),
        secret: b.secret.clone(),
        warehouse_id: b.warehouse_id,
        tax_map: pairs(&b.tax_map),
    };
    let c = woocommerce::create(w.tx(), &auth.actor(), new).await?;
    w.respond(StatusCode::CREATED, &c).await
}

#[utoipa::path(get, path = "/integrations/woocommerce/{id}", tag = "integrations", params(("id" = String, Path)),
    responses((status = 200, body = Connection), (status = 404, body = Problem)))]
pub async fn get_woo_connection(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Connection>> {
    auth.require(T, Action::Read)?;
    let mut tx = app.db.read().await?;
    let c = find(&mut tx, auth.0.tenant_id, &id).await?;
    tx.commit().await?;
    Ok(Json(c))
}

#[utoipa::path(patch, path = "/integrations/woocommerce/{id}", tag = "integrations",
    request_body = UpdateWooConnectionRequest, params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = Connection), (status = 404, body = Problem), (status = 412, body = Problem),
        (status = 422, body = Problem)))]
pub async fn update_woo_connection(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<UpdateWooConnectionRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Update)?;
    let mut w = begin_write!(app, auth, req);
    let before = find(w.tx(), auth.0.tenant_id, &id).await?;
    let b = &req.body;
    let patch = ConnectionPatch {
        name: b.name.clone(),
        url: b.url.clone(),
        secret: b.secret.clone(),
        warehouse_id: b.warehouse_id,
        tax_map: b.tax_map.as_deref().map(pairs),
    };
    let c = woocommerce::update(w.tx(), &auth.actor(), &before, req.if_match, patch).await?;
    w.respond(StatusCode::OK, &c).await
}

#[utoipa::path(delete, path = "/integrations/woocommerce/{id}", tag = "integrations",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_woo_connection(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    auth.require(T, Action::Delete)?;
    let mut w = begin_write!(app, auth, req);
    let before = find(w.tx(), auth.0.tenant_id, &id).await?;
    woocommerce::delete(w.tx(), &auth.actor(), &before, req.if_match).await?;
    w.respond(StatusCode::NO_CONTENT, &()).await
}

/// Filters of an intake log.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct IntakeFilter {
    /// `ok`, `failed`, `duplicate` or `ignored`.
    pub status: Option<String>,
    /// The `next` value of the previous page.
    pub after: Option<String>,
    /// 1 to 200 (default 50).
    pub limit: Option<i64>,
}

/// Schema of an intake log page (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct WooIntakeList {
    data: Vec<IntakeEntry>,
    next: Option<String>,
}

/// Checks the filters of an intake log (shared with the page).
pub fn intake_query(f: &IntakeFilter) -> ApiResult<IntakeQuery> {
    if let Some(s) = &f.status
        && !matches!(s.as_str(), "ok" | "failed" | "duplicate" | "ignored")
    {
        return Err(ApiError::invalid("status", "must be ok, failed, duplicate or ignored"));
    }
    let before = match f.after.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            s.parse::<i64>().map_err(|_| ApiError::invalid("after", "must be the `next` value of a previous page"))?,
        ),
    };
    let limit = f.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 200"));
    }
    Ok(IntakeQuery { status: f.status.clone(), before, limit })
}

#[utoipa::path(get, path = "/integrations/woocommerce/{id}/intake", tag = "integrations",
    params(("id" = String, Path), IntakeFilter),
    responses((status = 200, description = "Every delivery received, newest first", body = inline(WooIntakeList)),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn list_woo_intake(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    Query(f): Query<IntakeFilter>,
) -> ApiResult<Json<serde_json::Value>> {
    auth.require(T, Action::Read)?;
    let q = intake_query(&f)?;
    let mut tx = app.db.read().await?;
    let c = find(&mut tx, auth.0.tenant_id, &id).await?;
    let list = woocommerce::intake(&mut tx, &c, &q).await?;
    tx.commit().await?;
    let next = (list.len() as i64 == q.limit).then(|| list.last().map(|e| e.key.to_string())).flatten();
    Ok(Json(serde_json::json!({ "data": list, "next": next })))
}

#[utoipa::path(post, path = "/integrations/woocommerce/{id}/intake/{entry}/retry", tag = "integrations",
    description = "Runs a logged delivery again, e.g. after the missing product or tax mapping was added.",
    params(("id" = String, Path), ("entry" = String, Path)),
    responses((status = 200, description = "The entry with the new outcome", body = IntakeEntry),
        (status = 404, body = Problem)))]
pub async fn retry_woo_intake(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path((id, entry)): Path<(String, String)>,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    auth.require(T, Action::Update)?;
    let entry = parse_id("intake entry", &entry)?;
    let mut w = begin_write!(app, auth, req);
    let c = find(w.tx(), auth.0.tenant_id, &id).await?;
    let e = woocommerce::get_entry(w.tx(), &c, entry).await?.ok_or_else(|| ApiError::not_found("intake entry"))?;
    let e = woocommerce::retry(w.tx(), &c, &e).await?;
    w.respond(StatusCode::OK, &e).await
}

#[utoipa::path(get, path = "/integrations/woocommerce/{id}/orders/{order}", tag = "integrations",
    params(("id" = String, Path), ("order" = String, Path, description = "The shop's order id")),
    responses((status = 200, description = "What Nave made for the shop order", body = woocommerce::OrderDocuments),
        (status = 404, body = Problem)))]
pub async fn get_woo_order(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path((id, order)): Path<(String, String)>,
) -> ApiResult<Json<woocommerce::OrderDocuments>> {
    auth.require(T, Action::Read)?;
    let mut tx = app.db.read().await?;
    let c = find(&mut tx, auth.0.tenant_id, &id).await?;
    let docs = woocommerce::order_documents(&mut tx, &c, &order).await?.ok_or_else(|| ApiError::not_found("order"))?;
    tx.commit().await?;
    Ok(Json(docs))
}

/// WooCommerce's answer to a ping.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WooPing {
    /// `pong`.
    pub status: String,
}

#[utoipa::path(post, path = "/integrations/woocommerce/{id}/webhook", tag = "integrations", security(()),
    description = "Where a WooCommerce webhook delivers (no token: the body must be signed). \
        `X-WC-Webhook-Signature` is the base64 HMAC-SHA256 of the raw body with the connection's secret; \
        `X-WC-Webhook-Topic` says what happened (`order.created`, `order.updated`, `order.deleted`, \
        `order.restored`); `X-WC-Webhook-Delivery-ID` names the delivery. WooCommerce's unsigned ping \
        (`webhook_id=N`) is answered 200 and stores nothing; a missing or wrong signature is 401 and stores \
        nothing. Every signed delivery is kept in the intake log with its outcome, and answered 200 even when \
        it could not be mapped (it waits there for a retry).",
    params(("id" = String, Path), ("X-WC-Webhook-Signature" = String, Header),
        ("X-WC-Webhook-Topic" = String, Header), ("X-WC-Webhook-Delivery-ID" = Option<String>, Header)),
    request_body(content = String, description = "The WooCommerce order JSON, as sent", content_type = "application/json"),
    responses((status = 200, description = "Kept in the intake log (or a ping)", body = IntakeEntry),
        (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn woo_webhook(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let id = parse_id("WooCommerce connection", &id)?;
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
    let signature = header("x-wc-webhook-signature");
    if signature.is_none() && woocommerce::is_ping(&body) {
        return Ok((StatusCode::OK, Json(WooPing { status: "pong".into() })).into_response());
    }
    let mut tx = app.db.write().await?;
    let Some(c) = woocommerce::for_webhook(&mut tx, id).await? else {
        tx.rollback().await?;
        return Err(ApiError::not_found("WooCommerce connection"));
    };
    let signed = signature.is_some_and(|s| woocommerce::verify_signature(&c.secret, &body, s));
    if !signed {
        tx.rollback().await?;
        tracing::warn!(connection.id = %c.id, "WooCommerce delivery with a missing or wrong signature refused");
        return Err(ApiError::new(
            ErrorCode::Unauthenticated,
            "X-WC-Webhook-Signature is missing or does not sign this body with the connection's secret",
        ));
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        tx.rollback().await?;
        return Err(ApiError::new(ErrorCode::MalformedRequest, "the body is not UTF-8 text"));
    };
    let topic = header("x-wc-webhook-topic").unwrap_or("");
    let delivery = header("x-wc-webhook-delivery-id");
    let entry = woocommerce::receive(&mut tx, &c, delivery, topic, text).await?;
    tx.commit().await?;
    tracing::info!(connection.id = %c.id, intake.status = %entry.status, "WooCommerce delivery taken");
    Ok((StatusCode::OK, Json(entry)).into_response())
}
