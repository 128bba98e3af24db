//! The reorder page (`/reorder-suggestions`): products whose available stock
//! in a warehouse is below its minimum, by preferred supplier, with one
//! button that turns them into draft purchase orders, and the per-warehouse
//! minimums, editable in one form (`/reorder-suggestions/minimums`). The
//! purchase documents themselves are document pages (`documents`), their
//! receive, bill and credit forms are in `fulfilment`, payments sent in
//! `payments`.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use nave_domain::access::{Action, Principal, RecordType};
use nave_domain::ids::PublicId;
use nave_domain::stock::{format_quantity, parse_quantity};
use nave_store::catalog::{self, ProductQuery};
use nave_store::purchase::{self, ReorderGroup};
use serde::Deserialize;

use super::fulfilment::some_text;
use super::show::filters;
use super::{Choices, FormData, FormErrors, Layout, PageAuth, PageResult, render, require_page};
use crate::error::ApiError;
use crate::extract::actor_of;
use crate::state::AppState;

const T: RecordType = RecordType::PurchaseOrder;

/// Every route of this page.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/reorder-suggestions", get(suggestions).post(order))
        .route("/reorder-suggestions/minimums", post(save_minimums))
}

/// The purchase-side links of the navigation beyond the documents: payments
/// sent and the reorder page, for the roles that may read them.
pub fn nav_links(p: &Principal) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    if p.scope_for(RecordType::PaymentSent, Action::Read).is_some() {
        out.push(("payments-sent", "Payments sent"));
    }
    if p.scope_for(T, Action::Read).is_some() {
        out.push(("reorder-suggestions", "Reorder"));
    }
    out
}

/// One minimum row of the form: a stored one (product and warehouse fixed)
/// or a new one (chosen from the selects).
#[derive(Debug, Clone, Default)]
struct MinimumRow {
    product_id: String,
    warehouse_id: String,
    /// "SKU – name" of a stored row; empty on a new row.
    product: String,
    warehouse: String,
    /// As typed (a stored row: the minimum).
    min_quantity: String,
    /// The stored minimum, to save only what changed.
    stored_e4: Option<i64>,
}

impl MinimumRow {
    fn is_new(&self) -> bool {
        self.stored_e4.is_none()
    }
}

/// New rows offered below the stored minimums.
const NEW_ROWS: usize = 3;

#[derive(Template)]
#[template(path = "reorder.html")]
struct ReorderPage {
    layout: Layout,
    groups: Vec<ReorderGroup>,
    warehouses: Choices,
    warehouse_id: String,
    products: Choices,
    minimums: Vec<MinimumRow>,
    errors: FormErrors,
    /// May make purchase orders and set minimums.
    can_order: bool,
    /// Some suggestion has a supplier (else the button would make nothing).
    orderable: bool,
}

impl ReorderPage {
    /// A stored minimum as the form carries it back.
    fn stored(&self, e4: &i64) -> String {
        format_quantity(*e4)
    }
}

/// The query of the page.
#[derive(Debug, Deserialize)]
pub struct ReorderQuery {
    warehouse_id: Option<String>,
}

async fn warehouse_key(tx: &mut nave_store::Tx, tenant: i64, id: Option<&str>) -> Result<Option<i64>, ApiError> {
    let Some(id) = id else { return Ok(None) };
    let id: PublicId = id.parse().map_err(|_| ApiError::invalid("warehouse_id", "is not one of the choices"))?;
    Ok(Some(
        catalog::get_warehouse(tx, tenant, id)
            .await?
            .ok_or_else(|| ApiError::invalid("warehouse_id", "is not one of the choices"))?
            .key,
    ))
}

/// The page for the warehouse chosen (all when empty), with `minimums` as
/// the form shows them (the stored ones when `None`).
async fn page(
    app: &AppState,
    auth: &PageAuth,
    warehouse: Option<&str>,
    minimums: Option<Vec<MinimumRow>>,
    errors: FormErrors,
) -> PageResult {
    let p = &auth.principal;
    let mut tx = app.db.read().await?;
    let key = warehouse_key(&mut tx, p.tenant_id, warehouse).await?;
    let groups = purchase::reorder_suggestions(&mut tx, p.tenant_id, key).await?;
    let warehouses: Choices = catalog::list_warehouses(&mut tx, p.tenant_id)
        .await?
        .into_iter()
        .filter(|w| w.active)
        .map(|w| (w.id.to_string(), w.name))
        .collect();
    let products: Choices = catalog::list_products(
        &mut tx,
        p.tenant_id,
        &ProductQuery { active: Some(true), limit: 500, ..Default::default() },
    )
    .await?
    .items
    .into_iter()
    .filter(|pr| pr.kind.as_str() == "goods")
    .map(|pr| (pr.id.to_string(), format!("{} – {}", pr.sku, pr.name)))
    .collect();
    let minimums = match minimums {
        Some(m) => m,
        None => {
            let mut rows: Vec<MinimumRow> = purchase::minimums(&mut tx, p.tenant_id, key)
                .await?
                .into_iter()
                .map(|m| MinimumRow {
                    product_id: m.product_id.to_string(),
                    warehouse_id: m.warehouse_id.to_string(),
                    product: format!("{} – {}", m.sku, m.name),
                    warehouse: m.warehouse_name,
                    min_quantity: format_quantity(m.min_e4),
                    stored_e4: Some(m.min_e4),
                })
                .collect();
            let default_warehouse = warehouse.unwrap_or_default().to_string();
            rows.extend(
                std::iter::repeat_with(|| MinimumRow { warehouse_id: default_warehouse.clone(), ..Default::default() })
                    .take(NEW_ROWS),
            );
            rows
        }
    };
    tx.commit().await?;
    let status = if errors.is_empty() { StatusCode::OK } else { errors.status() };
    let view = ReorderPage {
        layout: auth.layout("reorder-suggestions"),
        orderable: groups.iter().any(|g| g.supplier_id.is_some()),
        groups,
        warehouses,
        warehouse_id: warehouse.unwrap_or_default().to_string(),
        products,
        minimums,
        errors,
        can_order: p.scope_for(T, Action::Create).is_some(),
    };
    Ok((status, render(&view)).into_response())
}

/// `GET /reorder-suggestions?warehouse_id=`.
async fn suggestions(State(app): State<AppState>, auth: PageAuth, Query(q): Query<ReorderQuery>) -> PageResult {
    require_page(&auth.principal, T, Action::Read)?;
    page(&app, &auth, some_text(&q.warehouse_id), None, FormErrors::default()).await
}

/// `POST /reorder-suggestions`: the suggestions become draft purchase
/// orders (one per supplier and warehouse); shows the drafts.
async fn order(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    let p = &auth.principal;
    require_page(p, T, Action::Create)?;
    let form = FormData::parse(&body);
    let warehouse = form.get("warehouse_id");
    let warehouse = Some(warehouse.trim()).filter(|w| !w.is_empty());
    let mut tx = app.db.write().await?;
    let made = async {
        let key = warehouse_key(&mut tx, p.tenant_id, warehouse).await?;
        Ok::<_, ApiError>(purchase::order_suggestions(&mut tx, &actor_of(p), key).await?)
    }
    .await;
    match made {
        Ok(made) if made.is_empty() => {
            tx.rollback().await?;
            let errors = FormErrors::whole(
                "Nothing to order: no product below its minimum has a supplier (add one on the product's page).",
            );
            page(&app, &auth, warehouse, None, errors).await
        }
        Ok(_) => {
            tx.commit().await?;
            Ok(Redirect::to("/purchase-orders?status=draft").into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            page(&app, &auth, warehouse, None, super::form_errors(e)?).await
        }
    }
}

/// `POST /reorder-suggestions/minimums`: saves the minimums that changed
/// (0 removes one) in one transaction, or shows the form again with each
/// error next to its field.
async fn save_minimums(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    let p = &auth.principal;
    require_page(p, T, Action::Create)?;
    let form = FormData::parse(&body);
    let warehouse = form.get("filter_warehouse_id");
    let warehouse = Some(warehouse.trim()).filter(|w| !w.is_empty());
    let mut rows = Vec::new();
    for i in 0..1000 {
        let at = |f: &str| format!("minimums[{i}].{f}");
        if !form.0.iter().any(|(k, _)| k.starts_with(&format!("minimums[{i}]."))) {
            break;
        }
        let stored = form.get(&at("stored"));
        rows.push(MinimumRow {
            product_id: form.get(&at("product_id")),
            warehouse_id: form.get(&at("warehouse_id")),
            product: form.get(&at("product")),
            warehouse: form.get(&at("warehouse")),
            min_quantity: form.get(&at("min_quantity")),
            stored_e4: parse_quantity(stored.trim()).ok().filter(|_| !stored.trim().is_empty()),
        });
    }
    let mut errors = FormErrors::default();
    let mut changes: Vec<(usize, PublicId, PublicId, i64)> = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let at = |f: &str| format!("minimums[{i}].{f}");
        let typed = r.min_quantity.trim();
        if r.is_new() && typed.is_empty() && r.product_id.trim().is_empty() {
            continue;
        }
        let min = match parse_quantity(typed) {
            Ok(q) if q >= 0 => Some(q),
            Ok(_) => {
                errors.add(at("min_quantity"), "must be 0 (no minimum) or more");
                None
            }
            Err(_) if typed.is_empty() => {
                errors.add(at("min_quantity"), "is required: the available quantity to keep, 0 for none");
                None
            }
            Err(_) => {
                errors.add(at("min_quantity"), "must be a number, like 10 or 2.5");
                None
            }
        };
        let product: Option<PublicId> = match r.product_id.trim() {
            "" => {
                errors.add(at("product_id"), "is required");
                None
            }
            s => s.parse().map_err(|_| errors.add(at("product_id"), "is not one of the choices")).ok(),
        };
        let wh: Option<PublicId> = match r.warehouse_id.trim() {
            "" => {
                errors.add(at("warehouse_id"), "is required");
                None
            }
            s => s.parse().map_err(|_| errors.add(at("warehouse_id"), "is not one of the choices")).ok(),
        };
        if let (Some(min), Some(product), Some(wh)) = (min, product, wh)
            && r.stored_e4 != Some(min)
        {
            changes.push((i, product, wh, min));
        }
    }
    if !errors.is_empty() {
        return page(&app, &auth, warehouse, Some(rows), errors).await;
    }
    let mut tx = app.db.write().await?;
    let saved = async {
        let actor = actor_of(p);
        for &(i, product, wh, min) in &changes {
            let at = |f: &str| format!("minimums[{i}].{f}");
            let product = catalog::get_product(&mut tx, p.tenant_id, product)
                .await?
                .ok_or_else(|| ApiError::invalid(at("product_id"), "is not one of the choices"))?;
            let w = catalog::get_warehouse(&mut tx, p.tenant_id, wh)
                .await?
                .ok_or_else(|| ApiError::invalid(at("warehouse_id"), "is not one of the choices"))?;
            purchase::set_minimum(&mut tx, &actor, &product, &w, min).await.map_err(|e| {
                let mut e = ApiError::from(e);
                for f in &mut e.errors {
                    if f.field == "min_quantity" {
                        f.field = at("min_quantity");
                    }
                }
                e
            })?;
        }
        let back = match warehouse {
            Some(w) => format!("/reorder-suggestions?warehouse_id={w}"),
            None => "/reorder-suggestions".to_string(),
        };
        Ok::<_, ApiError>(back)
    }
    .await;
    match super::finish_save(tx, saved).await? {
        Ok(done) => Ok(done),
        Err(errors) => page(&app, &auth, warehouse, Some(rows), errors).await,
    }
}
