//! `/api/v1/reorder-suggestions` (what to buy: products below their minimum
//! available stock per warehouse, grouped by preferred supplier, and `POST`
//! to turn them into draft purchase orders) and `PUT /api/v1/stock-minimums`
//! (the minimums). Purchase orders, receipts, bills and bill credits are
//! document resources (`api::documents`); payments sent are in `api::payments`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use nave_domain::access::{Action, RecordType};
use nave_domain::ids::PublicId;
use nave_store::purchase::{self, ReorderGroup};
use serde::Deserialize;
use serde_json::json;

use crate::begin_write;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiAuth, ApiWrite, Query};
use crate::present::present;
use crate::state::AppState;

const T: RecordType = RecordType::PurchaseOrder;

/// Which warehouse's suggestions.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReorderFilter {
    /// Only this warehouse (default: every warehouse with minimums).
    #[param(value_type = Option<String>)]
    #[schema(value_type = Option<String>)]
    pub warehouse_id: Option<PublicId>,
}

async fn warehouse_key(tx: &mut nave_store::Tx, tenant: i64, id: Option<PublicId>) -> ApiResult<Option<i64>> {
    match id {
        Some(id) => Ok(Some(
            nave_store::catalog::get_warehouse(tx, tenant, id)
                .await?
                .ok_or_else(|| ApiError::invalid("warehouse_id", "is not the id of a warehouse"))?
                .key,
        )),
        None => Ok(None),
    }
}

/// Schema of the suggestions (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ReorderList {
    /// One group per preferred supplier; products without a supplier last (`supplier_id` null).
    data: Vec<ReorderGroup>,
}

#[utoipa::path(get, path = "/reorder-suggestions", tag = "purchase orders", params(ReorderFilter),
    description = "Products whose available stock in a warehouse (on hand − reserved + on order from \
        suppliers) is below the warehouse's minimum for them, with the quantity to order (the shortfall, \
        at least the supplier's minimum), grouped by preferred supplier.",
    responses((status = 200, body = ReorderList)))]
pub async fn reorder_suggestions(
    State(app): State<AppState>,
    auth: ApiAuth,
    Query(f): Query<ReorderFilter>,
) -> ApiResult<Json<serde_json::Value>> {
    auth.require(T, Action::Read)?;
    let mut tx = app.db.read().await?;
    let w = warehouse_key(&mut tx, auth.0.tenant_id, f.warehouse_id).await?;
    let groups = purchase::reorder_suggestions(&mut tx, auth.0.tenant_id, w).await?;
    tx.commit().await?;
    Ok(Json(json!({ "data": groups })))
}

#[utoipa::path(post, path = "/reorder-suggestions", tag = "purchase orders", request_body = ReorderFilter,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    description = "Turns the suggestions into draft purchase orders in one step: one per preferred supplier \
        and warehouse, in the supplier's currency, with its costs and codes. Products without a supplier are \
        left out. The new orders count as on order, so asking again suggests nothing for them.",
    responses((status = 201, description = "The draft purchase orders made (`data`)", body = inline(crate::api::documents::DocumentList)),
        (status = 422, body = Problem)))]
pub async fn order_suggestions(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<ReorderFilter>,
) -> ApiResult<Response> {
    auth.require(T, Action::Create)?;
    let mut w = begin_write!(app, auth, req);
    let key = warehouse_key(w.tx(), auth.0.tenant_id, req.body.warehouse_id).await?;
    let made = purchase::order_suggestions(w.tx(), &auth.actor(), key).await?;
    let data = made.iter().map(|d| present(&auth.0, T, d)).collect::<ApiResult<Vec<_>>>()?;
    w.respond(StatusCode::CREATED, &json!({ "data": data })).await
}

#[utoipa::path(post, path = "/sales-orders/{id}/drop-ship-orders", tag = "purchase orders",
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    description = "Makes the draft purchase orders for the order's drop-ship lines not yet on a purchase order \
        that is not cancelled: one per preferred supplier, delivered to the order's shipping address. Confirming \
        an order does this; call it again after cancelling a drop-ship purchase order. Receiving such a \
        purchase order ships the lines it delivers.",
    responses((status = 201, description = "The draft purchase orders made (`data`, empty when every drop-ship line is ordered)",
        body = inline(crate::api::documents::DocumentList)),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn make_drop_ship_orders(
    State(app): State<AppState>,
    auth: ApiAuth,
    axum::extract::Path(id): axum::extract::Path<String>,
    req: ApiWrite<crate::extract::NoBody>,
) -> ApiResult<Response> {
    auth.require(T, Action::Create)?;
    let mut w = begin_write!(app, auth, req);
    let order = crate::api::documents::load_for(
        &mut w,
        &auth.0,
        nave_domain::document::DocType::SalesOrder,
        &id,
        Action::Update,
    )
    .await?;
    let made = nave_store::drop_ship::make_orders(w.tx(), &auth.actor(), &order).await?;
    let data = made.iter().map(|d| present(&auth.0, T, d)).collect::<ApiResult<Vec<_>>>()?;
    w.respond(StatusCode::CREATED, &json!({ "data": data })).await
}

/// A minimum available quantity of a product in a warehouse.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MinimumRequest {
    #[schema(value_type = String)]
    pub product_id: PublicId,
    #[schema(value_type = String)]
    pub warehouse_id: PublicId,
    /// Below this available quantity the product is suggested for ordering; `"0"` removes the minimum.
    #[schema(example = "10")]
    pub min_quantity: String,
}

#[utoipa::path(put, path = "/stock-minimums", tag = "purchase orders", request_body = MinimumRequest,
    responses((status = 200, description = "The minimum as set"), (status = 422, body = Problem)))]
pub async fn set_minimum(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<MinimumRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Create)?;
    let mut w = begin_write!(app, auth, req);
    let b = &req.body;
    let t = auth.0.tenant_id;
    let min = nave_domain::stock::parse_quantity(&b.min_quantity).map_err(|e| ApiError::invalid("min_quantity", e))?;
    let product = nave_store::catalog::get_product(w.tx(), t, b.product_id)
        .await?
        .ok_or_else(|| ApiError::invalid("product_id", "is not the id of a product"))?;
    let warehouse = nave_store::catalog::get_warehouse(w.tx(), t, b.warehouse_id)
        .await?
        .ok_or_else(|| ApiError::invalid("warehouse_id", "is not the id of a warehouse"))?;
    purchase::set_minimum(w.tx(), &auth.actor(), &product, &warehouse, min).await?;
    let body = json!({"product_id": product.id, "warehouse_id": warehouse.id,
        "min_quantity": nave_domain::stock::format_quantity(min)});
    w.respond(StatusCode::OK, &body).await
}
