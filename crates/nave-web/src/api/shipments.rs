//! `/api/v1/shipments` (drafts, `ship`, `cancel`), a sales order's shipments
//! and what is left on it (`/sales-orders/{id}/shipments`, `/left`), and the
//! order desk's lists of open orders with something left to ship or invoice
//! (`/order-desk?view=to_ship|to_invoice`). A shipment's scope is its order's
//! account's.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use nave_domain::access::{Action, RecordType};
use nave_domain::document::DocType;
use nave_domain::error::ErrorCode;
use nave_domain::ids::PublicId;
use nave_store::accounts::Visibility;
use nave_store::orders::{self, DeskRow, DeskView, OrderLeft};
use nave_store::shipments::{self, LineRequest, NewShipment, Shipment, ShipmentPatch, ShipmentQuery};
use serde::Deserialize;

use super::documents::read_one;
use super::payment_terms::parse_date;
use super::{double_option, parse_id};
use crate::begin_write;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiAuth, ApiWrite, ListParams, NoBody, Query};
use crate::present::{ListResponse, may_act, present, present_page, visible_or_404};
use crate::state::AppState;
use crate::write::Writer;

const T: RecordType = RecordType::Shipment;

/// Filters of the shipment list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ShipmentFilter {
    /// Only this order's shipments.
    #[param(value_type = Option<String>)]
    pub sales_order_id: Option<PublicId>,
    /// `draft`, `done` or `cancelled`.
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub after: Option<String>,
}

/// Schema of a shipment page (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ShipmentList {
    data: Vec<Shipment>,
    next: Option<String>,
}

async fn list_page(app: &AppState, auth: &ApiAuth, f: ShipmentFilter) -> ApiResult<Json<ListResponse>> {
    let scope = auth.require(T, Action::Read)?;
    let paging = ListParams { limit: f.limit, after: f.after.clone() };
    if let Some(s) = f.status.as_deref().filter(|s| !matches!(*s, "draft" | "done" | "cancelled")) {
        return Err(ApiError::invalid("status", format!("{s} is not draft, done or cancelled")));
    }
    let mut tx = app.db.read().await?;
    let order_key = match f.sales_order_id {
        Some(id) => Some(
            nave_store::documents::get(&mut tx, auth.0.tenant_id, DocType::SalesOrder, id)
                .await?
                .ok_or_else(|| ApiError::invalid("sales_order_id", "is not the id of a sales order"))?
                .key,
        ),
        None => None,
    };
    let q = ShipmentQuery {
        visibility: Visibility::of(&auth.0, scope),
        order_key,
        status: f.status,
        cursor: paging.cursor()?,
        limit: paging.limit()?,
    };
    let page = shipments::list(&mut tx, auth.0.tenant_id, &q).await?;
    tx.commit().await?;
    Ok(Json(present_page(&auth.0, T, &page.items, page.next.map(|c| c.encode()))?))
}

#[utoipa::path(get, path = "/shipments", tag = "shipments", params(ShipmentFilter),
    responses((status = 200, description = "A page of the shipments the caller may see, newest first", body = inline(ShipmentList))))]
pub async fn list_shipments(
    State(app): State<AppState>,
    auth: ApiAuth,
    Query(f): Query<ShipmentFilter>,
) -> ApiResult<Json<ListResponse>> {
    list_page(&app, &auth, f).await
}

#[utoipa::path(get, path = "/sales-orders/{id}/shipments", tag = "shipments", params(("id" = String, Path), ShipmentFilter),
    responses((status = 200, description = "The order's shipments, newest first", body = inline(ShipmentList)),
        (status = 404, body = Problem)))]
pub async fn list_order_shipments(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    Query(mut f): Query<ShipmentFilter>,
) -> ApiResult<Json<ListResponse>> {
    let order = read_one(&app, &auth, DocType::SalesOrder, &id).await?;
    f.sales_order_id = Some(order.id);
    list_page(&app, &auth, f).await
}

/// One line to ship.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipmentLineRequest {
    #[schema(value_type = String)]
    pub order_line_id: PublicId,
    #[schema(example = "2")]
    pub quantity: String,
}

/// A shipment's fields. On create `sales_order_id` is required and absent
/// `lines` take everything left to ship; on update (drafts only) absent
/// fields stay, `null` clears the optional ones and `lines` replaces them.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipmentRequest {
    #[schema(value_type = Option<String>)]
    pub sales_order_id: Option<PublicId>,
    /// Default: the order's warehouse.
    #[schema(value_type = Option<String>)]
    pub warehouse_id: Option<PublicId>,
    pub lines: Option<Vec<ShipmentLineRequest>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub carrier: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub tracking_number: Option<Option<String>>,
    /// `YYYY-MM-DD`; default: the day it is shipped.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub ship_date: Option<Option<String>>,
    pub notes: Option<String>,
}

fn lines_of(lines: Option<Vec<ShipmentLineRequest>>) -> ApiResult<Option<Vec<LineRequest>>> {
    let Some(lines) = lines else { return Ok(None) };
    let mut out = Vec::with_capacity(lines.len());
    for (i, l) in lines.into_iter().enumerate() {
        let quantity = nave_domain::stock::parse_quantity(&l.quantity)
            .map_err(|m| ApiError::invalid(format!("lines[{i}].quantity"), m))?;
        out.push(LineRequest { order_line_id: l.order_line_id, quantity });
    }
    Ok(Some(out))
}

fn date_of(d: &Option<Option<String>>) -> ApiResult<Option<Option<time::Date>>> {
    match d {
        None => Ok(None),
        Some(None) => Ok(Some(None)),
        Some(Some(s)) => Ok(Some(Some(parse_date("ship_date", s)?))),
    }
}

#[utoipa::path(post, path = "/shipments", tag = "shipments", request_body = ShipmentRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    responses((status = 201, description = "A draft shipment", body = Shipment),
        (status = 409, description = "The order is not open", body = Problem), (status = 422, body = Problem)))]
pub async fn create_shipment(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<ShipmentRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Create)?;
    let mut w = begin_write!(app, auth, req);
    let b = req.body;
    let order_id = b.sales_order_id.ok_or_else(|| ApiError::invalid("sales_order_id", "is required"))?;
    let order = nave_store::documents::get(w.tx(), auth.0.tenant_id, DocType::SalesOrder, order_id)
        .await?
        .ok_or_else(|| ApiError::invalid("sales_order_id", "is not the id of a sales order"))?;
    if !auth.0.may(T, Action::Create, order.ownership) {
        return Err(ApiError::forbidden("your role may not ship this account's orders"));
    }
    let new = NewShipment {
        warehouse_id: b.warehouse_id,
        lines: lines_of(b.lines)?,
        carrier: b.carrier.flatten(),
        tracking_number: b.tracking_number.flatten(),
        ship_date: date_of(&b.ship_date)?.flatten(),
        notes: b.notes,
    };
    let s = shipments::create(w.tx(), &auth.actor(), &order, new).await?;
    let body = present(&auth.0, T, &s)?;
    w.respond(StatusCode::CREATED, &body).await
}

#[utoipa::path(get, path = "/shipments/{id}", tag = "shipments", params(("id" = String, Path)),
    responses((status = 200, body = Shipment), (status = 404, body = Problem)))]
pub async fn get_shipment(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    auth.require(T, Action::Read)?;
    let mut tx = app.db.autocommit().await?;
    let s = shipments::get(&mut tx, auth.0.tenant_id, parse_id("shipment", &id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("shipment"))?;
    visible_or_404(&auth.0, T, Action::Read, s.ownership)?;
    Ok(Json(present(&auth.0, T, &s)?))
}

async fn load_for(w: &mut Writer, auth: &ApiAuth, id: &str, action: Action) -> ApiResult<Shipment> {
    let s = shipments::get(w.tx(), auth.0.tenant_id, parse_id("shipment", id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("shipment"))?;
    may_act(&auth.0, T, action, s.ownership)?;
    Ok(s)
}

#[utoipa::path(patch, path = "/shipments/{id}", tag = "shipments", request_body = ShipmentRequest,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "Expected version")),
    responses((status = 200, body = Shipment), (status = 409, description = "Not a draft", body = Problem),
        (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn update_shipment(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<ShipmentRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Update)?;
    let mut w = begin_write!(app, auth, req);
    let before = load_for(&mut w, &auth, &id, Action::Update).await?;
    let b = req.body;
    if b.sales_order_id.is_some_and(|o| o != before.sales_order_id) {
        return Err(ApiError::invalid("sales_order_id", "cannot change: make a new shipment for the other order"));
    }
    let patch = ShipmentPatch {
        warehouse_id: b.warehouse_id,
        lines: lines_of(b.lines)?,
        carrier: b.carrier,
        tracking_number: b.tracking_number,
        ship_date: date_of(&b.ship_date)?,
        notes: b.notes,
    };
    let s = shipments::update(w.tx(), &auth.actor(), &before, req.if_match, patch).await?;
    let body = present(&auth.0, T, &s)?;
    w.respond(StatusCode::OK, &body).await
}

#[utoipa::path(delete, path = "/shipments/{id}", tag = "shipments",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "Expected version")),
    responses((status = 204), (status = 404, body = Problem), (status = 409, description = "Not a draft", body = Problem)))]
pub async fn delete_shipment(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    auth.require(T, Action::Delete)?;
    let mut w = begin_write!(app, auth, req);
    let before = load_for(&mut w, &auth, &id, Action::Delete).await?;
    shipments::delete(w.tx(), &auth.actor(), &before, req.if_match).await?;
    w.respond(StatusCode::NO_CONTENT, &()).await
}

#[utoipa::path(post, path = "/shipments/{id}/{action}", tag = "shipments",
    params(("id" = String, Path), ("action" = String, Path, description = "`ship` or `cancel`"),
        ("If-Match" = Option<String>, Header, description = "Expected version"),
        ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    responses((status = 200, body = Shipment),
        (status = 409, description = "Not a draft (`invalid_transition`), the order is not open, or not enough stock", body = Problem),
        (status = 422, description = "More than is left to ship on a line", body = Problem)))]
pub async fn act_on_shipment(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path((id, action)): Path<(String, String)>,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    auth.require(T, Action::Update)?;
    if !matches!(action.as_str(), "ship" | "cancel") {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!("there is no shipment action {action}; the actions are ship, cancel"),
        ));
    }
    let mut w = begin_write!(app, auth, req);
    let before = load_for(&mut w, &auth, &id, Action::Update).await?;
    let actor = auth.actor();
    let s = if action == "ship" {
        shipments::ship(w.tx(), &actor, &before, req.if_match).await?
    } else {
        shipments::cancel(w.tx(), &actor, &before, req.if_match).await?
    };
    let body = present(&auth.0, T, &s)?;
    w.respond(StatusCode::OK, &body).await
}

#[utoipa::path(get, path = "/sales-orders/{id}/left", tag = "shipments", params(("id" = String, Path)),
    responses((status = 200, description = "Per line: ordered, reserved, shipped, invoiced, left to ship and left to invoice", body = OrderLeft),
        (status = 404, body = Problem)))]
pub async fn get_order_left(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<OrderLeft>> {
    let order = read_one(&app, &auth, DocType::SalesOrder, &id).await?;
    let mut tx = app.db.read().await?;
    let left = orders::left(&mut tx, auth.0.tenant_id, &order).await?;
    tx.commit().await?;
    Ok(Json(left))
}

/// Filters of the order desk.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeskFilter {
    /// `to_ship` (default) or `to_invoice`.
    #[param(value_type = Option<String>)]
    pub view: Option<DeskView>,
    pub limit: Option<i64>,
    pub after: Option<String>,
}

/// Schema of an order-desk page (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct DeskList {
    data: Vec<DeskRow>,
    next: Option<String>,
}

#[utoipa::path(get, path = "/order-desk", tag = "shipments", params(DeskFilter),
    responses((status = 200, description = "Open orders the caller may see with something left to ship or invoice, newest first", body = inline(DeskList))))]
pub async fn order_desk(
    State(app): State<AppState>,
    auth: ApiAuth,
    Query(f): Query<DeskFilter>,
) -> ApiResult<Json<ListResponse>> {
    let scope = auth.require(RecordType::SalesOrder, Action::Read)?;
    let paging = ListParams { limit: f.limit, after: f.after.clone() };
    let mut tx = app.db.read().await?;
    let page = orders::desk(
        &mut tx,
        auth.0.tenant_id,
        f.view.unwrap_or(DeskView::ToShip),
        Visibility::of(&auth.0, scope),
        paging.cursor()?,
        paging.limit()?,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(present_page(&auth.0, RecordType::SalesOrder, &page.items, page.next.map(|c| c.encode()))?))
}
