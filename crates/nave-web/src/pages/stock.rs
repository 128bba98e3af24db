//! Stock pages: levels (valued only for roles that see costs), movements,
//! the adjustment and transfer forms with the documents they post, and the
//! warehouses. Writes go through the same store functions as the API.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use nave_domain::access::{Action, Principal, RecordType};
use nave_domain::error::Validator;
use nave_domain::ids::PublicId;
use nave_store::catalog::{self, Warehouse, WarehouseInput};
use nave_store::db::Tx;
use nave_store::page::Cursor;
use nave_store::stock::{self, LevelQuery, MovementQuery, StockDocumentKind, StockLineInput, ValuedLevel};
use serde::Deserialize;

use super::show::filters;
use super::{FormData, FormErrors, Layout, PageAuth, PageResult, fmt_time, form_again, render, require, shown};
use crate::api::payment_terms::parse_date;
use crate::api::stock::parse_line;
use crate::error::{ApiError, ApiResult};
use crate::extract::actor_of;
use crate::present::present;
use crate::state::AppState;

const STOCK: RecordType = RecordType::Stock;
const WH: RecordType = RecordType::Warehouse;

/// `(id, name)` of the warehouses, for a select.
fn warehouse_options(list: &[Warehouse], active_only: bool) -> Vec<(String, String)> {
    list.iter().filter(|w| w.active || !active_only).map(|w| (w.id.to_string(), w.name.clone())).collect()
}

fn warehouse_name(list: &[Warehouse], id: PublicId) -> String {
    list.iter().find(|w| w.id == id).map(|w| w.name.clone()).unwrap_or_default()
}

// -------------------------------------------------------------------- levels

#[derive(Debug, Deserialize)]
pub struct LevelsQuery {
    warehouse: Option<String>,
    product: Option<String>,
    as_of: Option<String>,
}

/// One level as the page shows it; cost and value are `None` when hidden.
#[derive(Debug)]
struct LevelRow {
    warehouse: String,
    on_hand: String,
    reserved: String,
    available: String,
    unit_cost: Option<String>,
    value: Option<String>,
}

/// A product's levels, with their total when several warehouses are listed.
#[derive(Debug)]
struct ProductLevels {
    sku: String,
    name: String,
    rows: Vec<LevelRow>,
    total: Option<LevelRow>,
}

#[derive(Template)]
#[template(path = "stock.html")]
struct StockPage {
    layout: Layout,
    warehouses: Vec<(String, String)>,
    warehouse: String,
    product: String,
    as_of: String,
    products: Vec<ProductLevels>,
    show_cost: bool,
    error: Option<String>,
    can_adjust: bool,
    can_transfer: bool,
}

/// A level after field security.
fn level_row(p: &Principal, l: &ValuedLevel) -> ApiResult<LevelRow> {
    let v = present(p, STOCK, l)?;
    Ok(LevelRow {
        warehouse: l.warehouse_name.clone(),
        on_hand: l.on_hand.clone(),
        reserved: l.reserved.clone(),
        available: l.available.clone(),
        unit_cost: shown(&v, "unit_cost"),
        value: shown(&v, "value"),
    })
}

/// `GET /stock`: levels per product and warehouse, now or at the end of a day.
pub async fn levels_page(State(app): State<AppState>, auth: PageAuth, Query(q): Query<LevelsQuery>) -> PageResult {
    let p = &auth.principal;
    require(p, STOCK, Action::Read, "read stock")?;
    let warehouse = q.warehouse.unwrap_or_default();
    let product = q.product.unwrap_or_default().trim().to_string();
    let as_of_text = q.as_of.unwrap_or_default().trim().to_string();
    let mut error = None;
    let as_of = match as_of_text.as_str() {
        "" => None,
        d => match parse_date("as_of", d) {
            Ok(d) => Some(d),
            Err(_) => {
                error = Some(format!("“{d}” is not a date: write it YYYY-MM-DD, e.g. 2026-06-30."));
                None
            }
        },
    };
    let mut tx = app.db.read().await?;
    let warehouses = catalog::list_warehouses(&mut tx, p.tenant_id).await?;
    let warehouse_key = match warehouse.as_str() {
        "" => None,
        w => match warehouses.iter().find(|x| x.id.to_string() == w) {
            Some(x) => Some(x.key),
            None => {
                error = Some("Choose a warehouse from the list.".into());
                None
            }
        },
    };
    let mut products = Vec::new();
    if error.is_none() {
        let exact = match product.as_str() {
            "" => None,
            sku => catalog::get_product_by_sku(&mut tx, p.tenant_id, sku).await?,
        };
        let query = LevelQuery { product_key: exact.as_ref().map(|x| x.key), warehouse_key, as_of };
        let report = stock::stock_report(&mut tx, p.tenant_id, &query).await?;
        let needle = product.to_lowercase();
        for t in &report.totals {
            let matches = exact.is_some()
                || t.sku.to_lowercase().contains(&needle)
                || t.product_name.to_lowercase().contains(&needle);
            if !matches {
                continue;
            }
            let rows = report
                .levels
                .iter()
                .filter(|l| l.product_id == t.product_id)
                .map(|l| level_row(p, l))
                .collect::<ApiResult<Vec<_>>>()?;
            let total = if warehouse_key.is_none() && rows.len() > 1 { Some(level_row(p, t)?) } else { None };
            products.push(ProductLevels { sku: t.sku.clone(), name: t.product_name.clone(), rows, total });
        }
    }
    tx.commit().await?;
    let page = StockPage {
        layout: auth.layout("stock"),
        warehouses: warehouse_options(&warehouses, false),
        warehouse,
        product,
        as_of: as_of_text,
        products,
        show_cost: p.sees_field(STOCK, "unit_cost") && p.sees_field(STOCK, "value"),
        error,
        can_adjust: p.scope_for(RecordType::StockAdjustment, Action::Create).is_some(),
        can_transfer: p.scope_for(RecordType::StockTransfer, Action::Create).is_some(),
    };
    Ok(render(&page).into_response())
}

// ----------------------------------------------------------------- movements

#[derive(Debug, Deserialize)]
pub struct MovementsQuery {
    warehouse: Option<String>,
    product: Option<String>,
    after: Option<String>,
}

#[derive(Debug)]
struct MovementRow {
    when: String,
    sku: String,
    warehouse: String,
    quantity: String,
    reason: String,
    /// (what, link) of the document that posted it.
    document: Option<(&'static str, String)>,
    unit_cost: Option<String>,
    value: Option<String>,
}

#[derive(Template)]
#[template(path = "stock_movements.html")]
struct MovementsPage {
    layout: Layout,
    warehouses: Vec<(String, String)>,
    warehouse: String,
    product: String,
    rows: Vec<MovementRow>,
    next: Option<String>,
    filter_qs: String,
    show_cost: bool,
    error: Option<String>,
}

/// `GET /stock/movements`: the ledger, newest first.
pub async fn movements_page(
    State(app): State<AppState>,
    auth: PageAuth,
    Query(q): Query<MovementsQuery>,
) -> PageResult {
    let p = &auth.principal;
    require(p, STOCK, Action::Read, "read stock")?;
    let warehouse = q.warehouse.unwrap_or_default();
    let product = q.product.unwrap_or_default().trim().to_string();
    let mut error = None;
    let mut tx = app.db.read().await?;
    let warehouses = catalog::list_warehouses(&mut tx, p.tenant_id).await?;
    let warehouse_key = match warehouse.as_str() {
        "" => None,
        w => match warehouses.iter().find(|x| x.id.to_string() == w) {
            Some(x) => Some(x.key),
            None => {
                error = Some("Choose a warehouse from the list.".into());
                None
            }
        },
    };
    let product_key = match product.as_str() {
        "" => None,
        sku => match catalog::get_product_by_sku(&mut tx, p.tenant_id, sku).await? {
            Some(x) => Some(x.key),
            None => {
                error = Some(format!("No product has the SKU “{sku}”."));
                None
            }
        },
    };
    let (mut rows, mut next) = (Vec::new(), None);
    if error.is_none() {
        let cursor = q.after.as_deref().and_then(|c| Cursor::decode(c).ok());
        let query = MovementQuery { product_key, warehouse_key, cursor, limit: 50, newest_first: true };
        let page = stock::list_movements(&mut tx, p.tenant_id, &query).await?;
        next = page.next.map(|c| c.encode());
        for m in &page.items {
            let v = present(p, STOCK, m)?;
            rows.push(MovementRow {
                when: fmt_time(m.occurred_at),
                sku: m.sku.clone(),
                warehouse: warehouse_name(&warehouses, m.warehouse_id),
                quantity: m.quantity.clone(),
                reason: m.reason.clone(),
                document: m.document_id.zip(m.document_kind).map(|(id, k)| {
                    let d = DocKind::of(k);
                    (d.noun, format!("/stock/{}/{id}", d.path))
                }),
                unit_cost: shown(&v, "unit_cost"),
                value: shown(&v, "value"),
            });
        }
    }
    tx.commit().await?;
    let mut filter_qs = String::new();
    for (k, v) in [("warehouse", &warehouse), ("product", &product)] {
        if !v.is_empty() {
            let v: String = form_urlencoded::byte_serialize(v.as_bytes()).collect();
            filter_qs.push_str(&format!("&{k}={v}"));
        }
    }
    let page = MovementsPage {
        layout: auth.layout("stock"),
        warehouses: warehouse_options(&warehouses, false),
        warehouse,
        product,
        rows,
        next,
        filter_qs,
        show_cost: p.sees_field(STOCK, "unit_cost") && p.sees_field(STOCK, "value"),
        error,
    };
    Ok(render(&page).into_response())
}

// ----------------------------------------------------------------- documents

/// What the pages call a kind of stock document, and where it lives.
#[derive(Debug, Clone, Copy)]
struct DocKind {
    kind: StockDocumentKind,
    record_type: RecordType,
    /// Path segment under `/stock/`.
    path: &'static str,
    noun: &'static str,
    title: &'static str,
}

impl DocKind {
    fn of(kind: StockDocumentKind) -> Self {
        match kind {
            StockDocumentKind::Adjustment => DocKind {
                kind,
                record_type: RecordType::StockAdjustment,
                path: "adjustments",
                noun: "adjustment",
                title: "Stock adjustment",
            },
            StockDocumentKind::Transfer => DocKind {
                kind,
                record_type: RecordType::StockTransfer,
                path: "transfers",
                noun: "transfer",
                title: "Stock transfer",
            },
        }
    }

    fn is_transfer(self) -> bool {
        self.kind == StockDocumentKind::Transfer
    }

    /// The form field (and store field) of the warehouse stock leaves or is counted in.
    fn source_field(self) -> &'static str {
        if self.is_transfer() { "from_warehouse_id" } else { "warehouse_id" }
    }
}

/// Rows a form offers beyond the ones filled in, and at least this many in all.
const BLANK_ROWS: usize = 3;
const MIN_ROWS: usize = 5;

#[derive(Debug, Default, Clone)]
struct LineRow {
    sku: String,
    quantity: String,
    unit_cost: String,
}

/// An adjustment or transfer as typed.
#[derive(Debug, Default)]
struct DocumentForm {
    /// The adjusted warehouse, or where a transfer comes from.
    warehouse_id: String,
    to_warehouse_id: String,
    reason: String,
    lines: Vec<LineRow>,
}

impl DocumentForm {
    fn parse(body: &[u8], doc: DocKind) -> Self {
        let f = FormData::parse(body);
        let lines = f
            .rows("lines", &["sku", "quantity", "unit_cost"])
            .into_iter()
            .map(|r| {
                let mut r = r.into_iter();
                LineRow {
                    sku: r.next().unwrap_or_default(),
                    quantity: r.next().unwrap_or_default(),
                    unit_cost: r.next().unwrap_or_default(),
                }
            })
            .collect();
        DocumentForm {
            warehouse_id: f.get(doc.source_field()),
            to_warehouse_id: f.get("to_warehouse_id"),
            reason: f.get("reason"),
            lines,
        }
    }

    /// Adds empty rows to fill in.
    fn with_blank_rows(mut self) -> Self {
        let n = (self.lines.len() + BLANK_ROWS).max(MIN_ROWS);
        self.lines.resize(n, LineRow::default());
        self
    }
}

#[derive(Template)]
#[template(path = "stock_document_form.html")]
struct DocumentFormPage {
    layout: Layout,
    doc: DocKind,
    form: DocumentForm,
    errors: FormErrors,
    warehouses: Vec<(String, String)>,
    /// May the user give the unit cost of incoming stock?
    cost_input: bool,
}

async fn document_form(
    app: &AppState,
    auth: &PageAuth,
    doc: DocKind,
    form: DocumentForm,
    errors: FormErrors,
) -> Result<DocumentFormPage, ApiError> {
    let mut tx = app.db.read().await?;
    let warehouses = catalog::list_warehouses(&mut tx, auth.principal.tenant_id).await?;
    tx.commit().await?;
    Ok(DocumentFormPage {
        layout: auth.layout("stock"),
        doc,
        form: form.with_blank_rows(),
        errors,
        warehouses: warehouse_options(&warehouses, true),
        cost_input: !doc.is_transfer() && auth.principal.sees_field(doc.record_type, "lines[].unit_cost"),
    })
}

async fn new_document(app: AppState, auth: PageAuth, doc: DocKind) -> PageResult {
    require(&auth.principal, doc.record_type, Action::Create, &format!("post stock {}s", doc.noun))?;
    let form =
        DocumentForm { reason: if doc.is_transfer() { "" } else { "inventory count" }.into(), ..Default::default() };
    Ok(render(&document_form(&app, &auth, doc, form, FormErrors::default()).await?).into_response())
}

/// A warehouse chosen in a select.
fn chosen_warehouse(errors: &mut FormErrors, field: &str, value: &str) -> Option<PublicId> {
    let id = value.trim().parse().ok();
    if id.is_none() {
        errors.add(field, "choose a warehouse");
    }
    id
}

/// Puts a refusal for want of stock ("not enough SKU in …") next to the
/// lines of that product instead of above the form.
fn place_shortage(errors: &mut FormErrors, skus: &[String]) {
    let Some(msg) = errors.general.clone() else { return };
    let mut placed = false;
    for (i, sku) in skus.iter().enumerate() {
        if !sku.is_empty() && msg.starts_with(&format!("not enough {sku} in ")) {
            errors.add(format!("lines[{i}].quantity"), msg.clone());
            placed = true;
        }
    }
    if placed {
        errors.general = None;
    }
}

/// Posts an adjustment or a transfer, or shows the form again with each
/// error next to its line; nothing is stored unless everything is right.
async fn post_document(app: AppState, auth: PageAuth, doc: DocKind, body: &[u8]) -> PageResult {
    let p = &auth.principal;
    require(p, doc.record_type, Action::Create, &format!("post stock {}s", doc.noun))?;
    let form = DocumentForm::parse(body, doc);
    let mut errors = FormErrors::default();
    let from = chosen_warehouse(&mut errors, doc.source_field(), &form.warehouse_id);
    let to =
        if doc.is_transfer() { chosen_warehouse(&mut errors, "to_warehouse_id", &form.to_warehouse_id) } else { None };
    let mut tx = app.db.write().await?;
    let mut v = Validator::new();
    let (mut lines, mut skus) = (Vec::new(), Vec::new());
    for (i, row) in form.lines.iter().enumerate() {
        let product = match row.sku.trim() {
            "" => {
                v.add(format!("lines[{i}].sku"), "is required");
                None
            }
            sku => {
                let found = catalog::get_product_by_sku(&mut tx, p.tenant_id, sku).await?;
                if found.is_none() {
                    v.add(format!("lines[{i}].sku"), format!("no product has the SKU {sku}"));
                }
                found
            }
        };
        // Transfers move stock at its current cost: their form has no cost to give.
        let cost = Some(row.unit_cost.trim()).filter(|c| !c.is_empty() && !doc.is_transfer());
        let parsed = parse_line(p, &mut v, i, &row.quantity, cost);
        skus.push(product.as_ref().map(|x| x.sku.clone()).unwrap_or_default());
        if let (Some(product), Some((quantity, unit_cost))) = (product, parsed) {
            lines.push(StockLineInput { product_id: product.id, quantity, unit_cost });
        }
    }
    if let Err(e) = v.finish() {
        errors.absorb(e)?;
    }
    let gave_cost = !doc.is_transfer() && form.lines.iter().any(|l| !l.unit_cost.trim().is_empty());
    if gave_cost && !p.sees_field(doc.record_type, "lines[].unit_cost") {
        // The form offers no cost field to this role, so say it above the form.
        errors.general =
            Some("Your role may not set unit costs: incoming stock takes the product's current cost.".into());
    }
    if errors.is_empty()
        && let Some(from) = from
    {
        let actor = actor_of(p);
        let posted = match to {
            Some(to) => stock::transfer(&mut tx, &actor, from, to, &form.reason, &lines).await,
            None => stock::adjust(&mut tx, &actor, from, &form.reason, &lines).await,
        };
        match posted {
            Ok(d) => {
                tx.commit().await?;
                return Ok(Redirect::to(&format!("/stock/{}/{}", doc.path, d.id)).into_response());
            }
            Err(e) => {
                errors.absorb(e)?;
                errors.rename(".product_id", ".sku");
                place_shortage(&mut errors, &skus);
            }
        }
    }
    drop(tx);
    let status = errors.status();
    form_again(status, &document_form(&app, &auth, doc, form, errors).await?)
}

#[derive(Debug)]
struct DocumentLine {
    sku: String,
    warehouse: String,
    quantity: String,
    unit_cost: Option<String>,
    value: Option<String>,
}

#[derive(Template)]
#[template(path = "stock_document.html")]
struct DocumentPage {
    layout: Layout,
    doc: DocKind,
    warehouse: String,
    to_warehouse: Option<String>,
    reason: String,
    created: String,
    lines: Vec<DocumentLine>,
    show_cost: bool,
}

async fn show_document(app: AppState, auth: PageAuth, doc: DocKind, id: &str) -> PageResult {
    let p = &auth.principal;
    require(p, doc.record_type, Action::Read, &format!("read stock {}s", doc.noun))?;
    let id: PublicId = id.parse().map_err(|_| ApiError::not_found(doc.record_type.as_str()))?;
    let mut tx = app.db.read().await?;
    let d = stock::get_document(&mut tx, p.tenant_id, doc.kind, id)
        .await?
        .ok_or_else(|| ApiError::not_found(doc.record_type.as_str()))?;
    let warehouses = catalog::list_warehouses(&mut tx, p.tenant_id).await?;
    tx.commit().await?;
    let v = present(p, doc.record_type, &d)?;
    let lines = d
        .lines
        .iter()
        .enumerate()
        .map(|(i, m)| DocumentLine {
            sku: m.sku.clone(),
            warehouse: warehouse_name(&warehouses, m.warehouse_id),
            quantity: m.quantity.clone(),
            unit_cost: shown(&v["lines"][i], "unit_cost"),
            value: shown(&v["lines"][i], "value"),
        })
        .collect();
    let page = DocumentPage {
        layout: auth.layout("stock"),
        doc,
        warehouse: warehouse_name(&warehouses, d.warehouse_id),
        to_warehouse: d.to_warehouse_id.map(|w| warehouse_name(&warehouses, w)),
        reason: d.reason.clone(),
        created: fmt_time(d.created_at),
        lines,
        show_cost: p.sees_field(doc.record_type, "lines[].unit_cost") && p.sees_field(doc.record_type, "lines[].value"),
    };
    Ok(render(&page).into_response())
}

const ADJUSTMENT: StockDocumentKind = StockDocumentKind::Adjustment;
const TRANSFER: StockDocumentKind = StockDocumentKind::Transfer;

/// `GET /stock/adjustments/new`.
pub async fn new_adjustment(State(app): State<AppState>, auth: PageAuth) -> PageResult {
    new_document(app, auth, DocKind::of(ADJUSTMENT)).await
}

/// `POST /stock/adjustments`.
pub async fn create_adjustment(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    post_document(app, auth, DocKind::of(ADJUSTMENT), &body).await
}

/// `GET /stock/adjustments/{id}`.
pub async fn show_adjustment(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    show_document(app, auth, DocKind::of(ADJUSTMENT), &id).await
}

/// `GET /stock/transfers/new`.
pub async fn new_transfer(State(app): State<AppState>, auth: PageAuth) -> PageResult {
    new_document(app, auth, DocKind::of(TRANSFER)).await
}

/// `POST /stock/transfers`.
pub async fn create_transfer(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    post_document(app, auth, DocKind::of(TRANSFER), &body).await
}

/// `GET /stock/transfers/{id}`.
pub async fn show_transfer(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    show_document(app, auth, DocKind::of(TRANSFER), &id).await
}

// ---------------------------------------------------------------- warehouses

#[derive(Template)]
#[template(path = "warehouses.html")]
struct WarehousesPage {
    layout: Layout,
    warehouses: Vec<Warehouse>,
    can_create: bool,
    can_update: bool,
}

/// `GET /warehouses`.
pub async fn warehouses_page(State(app): State<AppState>, auth: PageAuth) -> PageResult {
    let p = &auth.principal;
    require(p, WH, Action::Read, "read warehouses")?;
    let mut tx = app.db.read().await?;
    let warehouses = catalog::list_warehouses(&mut tx, p.tenant_id).await?;
    tx.commit().await?;
    let page = WarehousesPage {
        layout: auth.layout("stock"),
        warehouses,
        can_create: p.scope_for(WH, Action::Create).is_some(),
        can_update: p.scope_for(WH, Action::Update).is_some(),
    };
    Ok(render(&page).into_response())
}

/// A warehouse as typed.
#[derive(Debug)]
struct WarehouseForm {
    name: String,
    address: String,
    allow_negative_stock: bool,
    active: bool,
    version: i64,
}

impl WarehouseForm {
    fn parse(body: &[u8]) -> Self {
        let f = FormData::parse(body);
        WarehouseForm {
            name: f.get("name"),
            address: f.get("address"),
            allow_negative_stock: f.checked("allow_negative_stock"),
            active: f.checked("active"),
            version: f.version(),
        }
    }

    fn of(w: &Warehouse) -> Self {
        WarehouseForm {
            name: w.name.clone(),
            address: w.address.clone(),
            allow_negative_stock: w.allow_negative_stock,
            active: w.active,
            version: w.version,
        }
    }

    fn input(&self) -> WarehouseInput {
        WarehouseInput {
            name: self.name.clone(),
            address: self.address.clone(),
            allow_negative_stock: self.allow_negative_stock,
            active: self.active,
        }
    }
}

#[derive(Template)]
#[template(path = "warehouse_form.html")]
struct WarehouseFormPage {
    layout: Layout,
    /// The warehouse edited; `None` for a new one.
    id: Option<String>,
    form: WarehouseForm,
    errors: FormErrors,
}

/// `GET /warehouses/new`.
pub async fn new_warehouse(auth: PageAuth) -> PageResult {
    require(&auth.principal, WH, Action::Create, "create warehouses")?;
    let form = WarehouseForm {
        name: String::new(),
        address: String::new(),
        allow_negative_stock: false,
        active: true,
        version: 0,
    };
    let page = WarehouseFormPage { layout: auth.layout("stock"), id: None, form, errors: FormErrors::default() };
    Ok(render(&page).into_response())
}

/// `POST /warehouses`.
pub async fn create_warehouse(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    let p = &auth.principal;
    require(p, WH, Action::Create, "create warehouses")?;
    let form = WarehouseForm::parse(&body);
    let mut errors = FormErrors::default();
    let mut tx = app.db.write().await?;
    match catalog::create_warehouse(&mut tx, &actor_of(p), form.input()).await {
        Ok(_) => {
            tx.commit().await?;
            return Ok(Redirect::to("/warehouses").into_response());
        }
        Err(e) => errors.absorb(e)?,
    }
    drop(tx);
    form_again(errors.status(), &WarehouseFormPage { layout: auth.layout("stock"), id: None, form, errors })
}

async fn load_warehouse(tx: &mut Tx, p: &Principal, id: &str) -> Result<Warehouse, ApiError> {
    let id: PublicId = id.parse().map_err(|_| ApiError::not_found("warehouse"))?;
    catalog::get_warehouse(tx, p.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("warehouse"))
}

/// `GET /warehouses/{id}/edit`.
pub async fn edit_warehouse(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    require(&auth.principal, WH, Action::Update, "change warehouses")?;
    let mut tx = app.db.read().await?;
    let w = load_warehouse(&mut tx, &auth.principal, &id).await?;
    tx.commit().await?;
    let page = WarehouseFormPage {
        layout: auth.layout("stock"),
        id: Some(w.id.to_string()),
        form: WarehouseForm::of(&w),
        errors: FormErrors::default(),
    };
    Ok(render(&page).into_response())
}

/// `POST /warehouses/{id}`: saves the form if the warehouse is still at the version it showed.
pub async fn update_warehouse(
    State(app): State<AppState>,
    auth: PageAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let p = &auth.principal;
    require(p, WH, Action::Update, "change warehouses")?;
    let form = WarehouseForm::parse(&body);
    let mut errors = FormErrors::default();
    let mut tx = app.db.write().await?;
    let before = load_warehouse(&mut tx, p, &id).await?;
    match catalog::update_warehouse(&mut tx, &actor_of(p), &before, Some(form.version), form.input()).await {
        Ok(_) => {
            tx.commit().await?;
            return Ok(Redirect::to("/warehouses").into_response());
        }
        Err(e) => errors.absorb(e)?,
    }
    drop(tx);
    let page = WarehouseFormPage { layout: auth.layout("stock"), id: Some(before.id.to_string()), form, errors };
    form_again(page.errors.status(), &page)
}
