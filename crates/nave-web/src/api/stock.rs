//! `/api/v1/stock`, `/stock-movements`, `/stock-adjustments`, `/stock-transfers`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use nave_domain::access::{Action, Capability, Principal, RecordType};
use nave_domain::error::Validator;
use nave_domain::ids::PublicId;
use nave_domain::money::parse_unit_price;
use nave_domain::stock::parse_quantity;
use nave_store::catalog;
use nave_store::stock::{
    self, LevelQuery, MovementQuery, StockDocument, StockDocumentKind, StockLevel, StockLineInput,
};
use serde::Deserialize;

use super::parse_id;
use super::payment_terms::parse_date;
use crate::begin_write;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiAuth, ApiWrite, ListParams, Query};
use crate::present::{ListResponse, present, present_page};
use crate::state::AppState;

const STOCK: RecordType = RecordType::Stock;

/// Filters of stock levels and movements.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StockFilter {
    #[param(value_type = Option<String>)]
    pub product_id: Option<PublicId>,
    #[param(value_type = Option<String>)]
    pub warehouse_id: Option<PublicId>,
    /// Levels at the end of this day (`YYYY-MM-DD`), from the movements; levels only.
    pub as_of: Option<String>,
    pub limit: Option<i64>,
    pub after: Option<String>,
}

async fn keys(app: &AppState, auth: &ApiAuth, f: &StockFilter) -> ApiResult<(Option<i64>, Option<i64>)> {
    let mut tx = app.db.autocommit().await?;
    let t = auth.0.tenant_id;
    let product = match f.product_id {
        Some(p) => Some(
            catalog::get_product(&mut tx, t, p)
                .await?
                .ok_or_else(|| ApiError::invalid("product_id", "is not the id of a product"))?
                .key,
        ),
        None => None,
    };
    let warehouse = match f.warehouse_id {
        Some(w) => Some(
            catalog::get_warehouse(&mut tx, t, w)
                .await?
                .ok_or_else(|| ApiError::invalid("warehouse_id", "is not the id of a warehouse"))?
                .key,
        ),
        None => None,
    };
    Ok((product, warehouse))
}

#[utoipa::path(get, path = "/stock", tag = "stock", params(StockFilter),
    responses((status = 200, description = "On hand, reserved and available per product and warehouse", body = inline(StockLevelList))))]
pub async fn list_stock(
    State(app): State<AppState>,
    auth: ApiAuth,
    Query(f): Query<StockFilter>,
) -> ApiResult<Json<ListResponse>> {
    auth.require(STOCK, Action::Read)?;
    if f.limit.is_some() || f.after.is_some() {
        return Err(ApiError::invalid("after", "stock levels are not paged; filter by product_id or warehouse_id"));
    }
    let as_of = f.as_of.as_deref().map(|d| parse_date("as_of", d)).transpose()?;
    let (product_key, warehouse_key) = keys(&app, &auth, &f).await?;
    let mut tx = app.db.autocommit().await?;
    let levels =
        stock::list_levels(&mut tx, auth.0.tenant_id, &LevelQuery { product_key, warehouse_key, as_of }).await?;
    Ok(Json(present_page(&auth.0, STOCK, &levels, None)?))
}

/// Schema of a stock level list (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct StockLevelList {
    data: Vec<StockLevel>,
    next: Option<String>,
}

#[utoipa::path(get, path = "/stock-movements", tag = "stock", params(StockFilter),
    responses((status = 200, description = "Movements, oldest first; unit_cost and value need view_cost")))]
pub async fn list_stock_movements(
    State(app): State<AppState>,
    auth: ApiAuth,
    Query(f): Query<StockFilter>,
) -> ApiResult<Json<ListResponse>> {
    auth.require(STOCK, Action::Read)?;
    if f.as_of.is_some() {
        return Err(ApiError::invalid("as_of", "applies to /stock, not to movements"));
    }
    let paging = ListParams { limit: f.limit, after: f.after.clone() };
    let (product_key, warehouse_key) = keys(&app, &auth, &f).await?;
    let mut tx = app.db.autocommit().await?;
    let q = MovementQuery {
        product_key,
        warehouse_key,
        cursor: paging.cursor()?,
        limit: paging.limit()?,
        newest_first: false,
    };
    let page = stock::list_movements(&mut tx, auth.0.tenant_id, &q).await?;
    Ok(Json(present_page(&auth.0, STOCK, &page.items, page.next.map(|c| c.encode()))?))
}

/// One line of a stock document.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockLineRequest {
    #[schema(value_type = String)]
    pub product_id: PublicId,
    /// Decimal string, up to 4 decimals; signed for adjustments (+ in, − out), positive for transfers.
    pub quantity: String,
    /// Unit cost of incoming stock in the company currency (adjustments; needs `view_cost`);
    /// default: the product's current cost.
    pub unit_cost: Option<String>,
}

/// Parses one line's quantity and unit cost as `p` may give them (a unit
/// cost needs `view_cost`); errors are recorded under `lines[i]`.
pub fn parse_line(
    p: &Principal,
    v: &mut Validator,
    i: usize,
    quantity: &str,
    unit_cost: Option<&str>,
) -> Option<(i64, Option<i64>)> {
    let q = v.check(&format!("lines[{i}].quantity"), parse_quantity(quantity));
    let c = match unit_cost {
        Some(_) if !p.has(Capability::ViewCost) => {
            v.add(format!("lines[{i}].unit_cost"), "your role may not set this field");
            None
        }
        Some(c) => v.check(&format!("lines[{i}].unit_cost"), parse_unit_price(c)),
        None => None,
    };
    Some((q?, c))
}

fn lines(auth: &ApiAuth, lines: &[StockLineRequest]) -> ApiResult<Vec<StockLineInput>> {
    let mut v = Validator::new();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if let Some((quantity, unit_cost)) = parse_line(&auth.0, &mut v, i, &l.quantity, l.unit_cost.as_deref()) {
            out.push(StockLineInput { product_id: l.product_id, quantity, unit_cost });
        }
    }
    v.finish()?;
    Ok(out)
}

/// A stock adjustment: an inventory count, breakage, an opening balance.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockAdjustmentRequest {
    #[schema(value_type = String)]
    pub warehouse_id: PublicId,
    #[schema(example = "inventory count")]
    pub reason: String,
    pub lines: Vec<StockLineRequest>,
}

#[utoipa::path(post, path = "/stock-adjustments", tag = "stock", request_body = StockAdjustmentRequest,
    responses((status = 201, body = StockDocument), (status = 409, body = Problem, description = "Not enough on hand"), (status = 422, body = Problem)))]
pub async fn create_stock_adjustment(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<StockAdjustmentRequest>,
) -> ApiResult<Response> {
    let rt = RecordType::StockAdjustment;
    auth.require(rt, Action::Create)?;
    let parsed = lines(&auth, &req.body.lines)?;
    let mut w = begin_write!(app, auth, req);
    let doc = stock::adjust(w.tx(), &auth.actor(), req.body.warehouse_id, &req.body.reason, &parsed).await?;
    let body = present(&auth.0, rt, &doc)?;
    w.respond(StatusCode::CREATED, &body).await
}

/// A transfer between two warehouses.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockTransferRequest {
    #[schema(value_type = String)]
    pub from_warehouse_id: PublicId,
    #[schema(value_type = String)]
    pub to_warehouse_id: PublicId,
    #[schema(example = "replenish the hub")]
    pub reason: String,
    pub lines: Vec<StockLineRequest>,
}

#[utoipa::path(post, path = "/stock-transfers", tag = "stock", request_body = StockTransferRequest,
    responses((status = 201, body = StockDocument), (status = 409, body = Problem, description = "Not enough on hand"), (status = 422, body = Problem)))]
pub async fn create_stock_transfer(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<StockTransferRequest>,
) -> ApiResult<Response> {
    let rt = RecordType::StockTransfer;
    auth.require(rt, Action::Create)?;
    let parsed = lines(&auth, &req.body.lines)?;
    let mut w = begin_write!(app, auth, req);
    let b = &req.body;
    let doc =
        stock::transfer(w.tx(), &auth.actor(), b.from_warehouse_id, b.to_warehouse_id, &b.reason, &parsed).await?;
    let body = present(&auth.0, rt, &doc)?;
    w.respond(StatusCode::CREATED, &body).await
}

async fn get_document(
    app: &AppState,
    auth: &ApiAuth,
    kind: StockDocumentKind,
    rt: RecordType,
    id: &str,
) -> ApiResult<serde_json::Value> {
    auth.require(rt, Action::Read)?;
    let mut tx = app.db.autocommit().await?;
    let doc = stock::get_document(&mut tx, auth.0.tenant_id, kind, parse_id(rt.as_str(), id)?)
        .await?
        .ok_or_else(|| ApiError::not_found(rt.as_str()))?;
    present(&auth.0, rt, &doc)
}

#[utoipa::path(get, path = "/stock-adjustments/{id}", tag = "stock", params(("id" = String, Path)),
    responses((status = 200, body = StockDocument), (status = 404, body = Problem)))]
pub async fn get_stock_adjustment(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(get_document(&app, &auth, StockDocumentKind::Adjustment, RecordType::StockAdjustment, &id).await?))
}

#[utoipa::path(get, path = "/stock-transfers/{id}", tag = "stock", params(("id" = String, Path)),
    responses((status = 200, body = StockDocument), (status = 404, body = Problem)))]
pub async fn get_stock_transfer(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(get_document(&app, &auth, StockDocumentKind::Transfer, RecordType::StockTransfer, &id).await?))
}
