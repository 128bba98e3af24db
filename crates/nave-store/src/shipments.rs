//! Shipments of sales orders (DOMAIN.md "Lifecycles", "Stock and cost").
//!
//! A shipment is made for one open order, from one warehouse (default: the
//! order's), as a `draft` listing order lines and quantities; `ship` makes it
//! `done`: it gets its number (`SHP-…`, gapless), each order line's shipped
//! quantity grows (never beyond what was ordered), stock leaves the warehouse
//! as outgoing movements at the current average cost (kits as their goods
//! components), the line's reservation shrinks by what shipped, and the order
//! becomes `completed` once everything is shipped and invoiced. A draft can
//! be edited, deleted or cancelled; a done shipment is history.
//!
//! Concurrency: shipping locks the order header, then its lines, then the
//! stock levels, so two shipments of the same order line at once can never
//! together ship more than was ordered, and stock never goes below what other
//! orders have reserved. Stock available to a shipment = on hand − what other
//! order lines reserve in that warehouse; beyond that it is refused (409)
//! unless the warehouse allows negative stock.
//!
//! Record scope: a shipment has its order's account's ownership.

use std::collections::HashMap;

use nave_domain::DomainError;
use nave_domain::access::{Ownership, RecordType};
use nave_domain::document::{DocStatus, DocType};
use nave_domain::error::Validator;
use nave_domain::ids::PublicId;
use nave_domain::stock::format_quantity;
use serde::Serialize;
use time::{Date, OffsetDateTime};

use crate::accounts::Visibility;
use crate::audit::{self, Actor};
use crate::catalog::{self, Warehouse};
use crate::db::{DbRow, Tx, now};
use crate::documents::{self, Document};
use crate::orders::{self, line_reserved, part_qty, stock_parts};
use crate::page::{Cursor, Page, fetch_page};
use crate::{StoreResult, and_where, args, expect_version, sequences, stock};

/// One line of a shipment.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ShipmentLine {
    #[serde(skip)]
    pub order_line_key: i64,
    #[schema(value_type = String)]
    pub order_line_id: PublicId,
    #[schema(value_type = String)]
    pub product_id: PublicId,
    pub sku: String,
    pub description: String,
    pub quantity: String,
    #[serde(skip)]
    pub quantity_e4: i64,
}

/// A shipment as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Shipment {
    #[serde(skip)]
    pub key: i64,
    #[serde(skip)]
    pub order_key: i64,
    #[serde(skip)]
    pub warehouse_key: i64,
    #[serde(skip)]
    pub ownership: Ownership,
    #[schema(value_type = String)]
    pub id: PublicId,
    /// Given when shipped (`SHP-2026-00001`).
    pub number: Option<String>,
    #[schema(value_type = String)]
    pub sales_order_id: PublicId,
    pub sales_order_number: Option<String>,
    #[schema(value_type = String)]
    pub account_id: PublicId,
    pub account_name: String,
    #[schema(value_type = String)]
    pub warehouse_id: PublicId,
    pub warehouse_name: String,
    /// `draft`, `done` or `cancelled`.
    pub status: String,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    /// The day it leaves (set to the day it is shipped if not given).
    pub ship_date: Option<Date>,
    pub notes: String,
    pub lines: Vec<ShipmentLine>,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

const SELECT: &str = "SELECT s.id, s.public_id, s.number, s.sales_order_id, s.warehouse_id, s.status, s.carrier, \
    s.tracking_number, s.ship_date, s.notes, s.version, s.created_at, s.updated_at, d.public_id AS order_public_id, \
    d.number AS order_number, d.account_name, a.public_id AS account_public_id, a.owner_id, a.team_id, \
    w.public_id AS warehouse_public_id, w.name AS warehouse_name FROM shipments s \
    JOIN documents d ON d.tenant_id = s.tenant_id AND d.id = s.sales_order_id \
    JOIN accounts a ON a.tenant_id = d.tenant_id AND a.id = d.account_id \
    JOIN warehouses w ON w.tenant_id = s.tenant_id AND w.id = s.warehouse_id";

fn decode(r: &dyn DbRow) -> StoreResult<Shipment> {
    Ok(Shipment {
        key: r.i64("id")?,
        order_key: r.i64("sales_order_id")?,
        warehouse_key: r.i64("warehouse_id")?,
        ownership: Ownership { owner_id: r.opt_i64("owner_id")?, team_id: r.opt_i64("team_id")? },
        id: PublicId::from_uuid(r.uuid("public_id")?),
        number: r.opt_text("number")?,
        sales_order_id: PublicId::from_uuid(r.uuid("order_public_id")?),
        sales_order_number: r.opt_text("order_number")?,
        account_id: PublicId::from_uuid(r.uuid("account_public_id")?),
        account_name: r.text("account_name")?,
        warehouse_id: PublicId::from_uuid(r.uuid("warehouse_public_id")?),
        warehouse_name: r.text("warehouse_name")?,
        status: r.text("status")?,
        carrier: r.opt_text("carrier")?,
        tracking_number: r.opt_text("tracking_number")?,
        ship_date: r.opt_date("ship_date")?,
        notes: r.text("notes")?,
        lines: vec![],
        version: r.i64("version")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

async fn load_lines(tx: &mut Tx, tenant_id: i64, s: &mut Shipment) -> StoreResult<()> {
    s.lines = tx
        .fetch_all(
            "SELECT sl.order_line_id, sl.quantity_e4, l.public_id AS line_public_id, l.description, \
             p.public_id AS product_public_id, p.sku FROM shipment_lines sl \
             JOIN document_lines l ON l.tenant_id = sl.tenant_id AND l.id = sl.order_line_id \
             JOIN products p ON p.tenant_id = sl.tenant_id AND p.id = sl.product_id \
             WHERE sl.tenant_id = $1 AND sl.shipment_id = $2 ORDER BY sl.position",
            args![tenant_id, s.key],
            |r| {
                let q = r.i64("quantity_e4")?;
                Ok(ShipmentLine {
                    order_line_key: r.i64("order_line_id")?,
                    order_line_id: PublicId::from_uuid(r.uuid("line_public_id")?),
                    product_id: PublicId::from_uuid(r.uuid("product_public_id")?),
                    sku: r.text("sku")?,
                    description: r.text("description")?,
                    quantity: format_quantity(q),
                    quantity_e4: q,
                })
            },
        )
        .await?;
    Ok(())
}

/// A shipment by public id, with its lines.
pub async fn get(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<Option<Shipment>> {
    let s = tx
        .fetch_optional(format!("{SELECT} WHERE s.tenant_id = $1 AND s.public_id = $2"), args![tenant_id, id], decode)
        .await?;
    match s {
        Some(mut s) => {
            load_lines(tx, tenant_id, &mut s).await?;
            Ok(Some(s))
        }
        None => Ok(None),
    }
}

async fn get_by_key(tx: &mut Tx, tenant_id: i64, key: i64) -> StoreResult<Shipment> {
    let mut s =
        tx.fetch_one(format!("{SELECT} WHERE s.tenant_id = $1 AND s.id = $2"), args![tenant_id, key], decode).await?;
    load_lines(tx, tenant_id, &mut s).await?;
    Ok(s)
}

/// Filters of the shipment list.
#[derive(Debug, Clone)]
pub struct ShipmentQuery {
    pub visibility: Visibility,
    pub order_key: Option<i64>,
    pub status: Option<String>,
    pub cursor: Option<Cursor>,
    pub limit: i64,
}

/// Shipments, newest first, with their lines.
pub async fn list(tx: &mut Tx, tenant_id: i64, q: &ShipmentQuery) -> StoreResult<Page<Shipment>> {
    let mut sql = format!("{SELECT} WHERE s.tenant_id = $1");
    let mut a = args![tenant_id];
    q.visibility.push_on("a.owner_id", "a.team_id", &mut sql, &mut a);
    if let Some(k) = q.order_key {
        and_where(&mut sql, &mut a, "s.sales_order_id = $?", k);
    }
    if let Some(s) = &q.status {
        and_where(&mut sql, &mut a, "s.status = $?", s.as_str());
    }
    if let Some(c) = q.cursor {
        and_where(&mut sql, &mut a, "s.id < $?", c.0);
    }
    let mut page = fetch_page(tx, sql, a, "s.id DESC", q.limit, decode, |s| s.key).await?;
    for s in &mut page.items {
        load_lines(tx, tenant_id, s).await?;
    }
    Ok(page)
}

/// A line to ship: an order line and a quantity (1/10,000).
#[derive(Debug, Clone)]
pub struct LineRequest {
    pub order_line_id: PublicId,
    pub quantity: i64,
}

/// The fields of a new shipment.
#[derive(Debug, Clone, Default)]
pub struct NewShipment {
    /// Default: the order's warehouse.
    pub warehouse_id: Option<PublicId>,
    /// `None`: everything left to ship on the order's goods and kit lines.
    pub lines: Option<Vec<LineRequest>>,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub ship_date: Option<Date>,
    pub notes: Option<String>,
}

/// Changes to a draft shipment; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct ShipmentPatch {
    pub warehouse_id: Option<PublicId>,
    pub lines: Option<Vec<LineRequest>>,
    pub carrier: Option<Option<String>>,
    pub tracking_number: Option<Option<String>>,
    pub ship_date: Option<Option<Date>>,
    pub notes: Option<String>,
}

/// A line as it will be stored.
struct Planned {
    line_key: i64,
    product_key: i64,
    quantity: i64,
}

fn clean(v: &mut Validator, field: &str, s: Option<&str>, max: usize) -> Option<String> {
    let s = s.map(str::trim).filter(|s| !s.is_empty())?;
    if s.chars().count() > max {
        v.add(field, format!("must be at most {max} characters"));
    }
    Some(s.to_string())
}

async fn load_warehouse(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<Warehouse> {
    let w = catalog::get_warehouse(tx, tenant_id, id)
        .await?
        .ok_or_else(|| DomainError::invalid("warehouse_id", "is not the id of a warehouse"))?;
    if !w.active {
        return Err(DomainError::invalid("warehouse_id", format!("{} is inactive", w.name)).into());
    }
    Ok(w)
}

pub(crate) async fn warehouse_by_key(tx: &mut Tx, tenant_id: i64, key: i64) -> StoreResult<Warehouse> {
    let id = tx
        .fetch_one("SELECT public_id FROM warehouses WHERE tenant_id = $1 AND id = $2", args![tenant_id, key], |r| {
            Ok(PublicId::from_uuid(r.uuid("public_id")?))
        })
        .await?;
    catalog::get_warehouse(tx, tenant_id, id).await?.ok_or_else(|| DomainError::NotFound { record: "warehouse" }.into())
}

fn only_open(order: &Document) -> Result<(), DomainError> {
    if order.doc_type != DocType::SalesOrder || order.status != DocStatus::Open {
        return Err(DomainError::Conflict(format!(
            "only open sales orders ship; {} is {}",
            order.number.as_deref().unwrap_or("the order"),
            order.status
        )));
    }
    Ok(())
}

/// Checks the lines asked for against the order (what is left now; shipping
/// checks again under lock), or takes everything left when none are given.
async fn plan(
    tx: &mut Tx,
    tenant_id: i64,
    order: &Document,
    lines: Option<&[LineRequest]>,
) -> StoreResult<Vec<Planned>> {
    let mut shippable = HashMap::new();
    for l in order.lines() {
        if let Some(p) = l.product_key.filter(|_| !l.drop_ship)
            && orders::ships(tx, tenant_id, l.kind, Some(p)).await?
        {
            shippable.insert(l.id, (l.key, p, l.ledger.left_to_ship()));
        }
    }
    let Some(lines) = lines else {
        let out: Vec<Planned> = order
            .lines()
            .filter_map(|l| shippable.get(&l.id))
            .filter(|(_, _, left)| *left > 0)
            .map(|&(line_key, product_key, quantity)| Planned { line_key, product_key, quantity })
            .collect();
        if out.is_empty() {
            return Err(DomainError::invalid(
                "lines",
                format!("nothing is left to ship on {}", order.number.as_deref().unwrap_or("the order")),
            )
            .into());
        }
        return Ok(out);
    };
    let mut v = Validator::new();
    if lines.is_empty() || lines.len() > 1000 {
        v.add("lines", "must list 1 to 1000 lines");
    }
    let mut out = Vec::new();
    for (i, r) in lines.iter().enumerate() {
        let at = |f: &str| format!("lines[{i}].{f}");
        let Some(l) = order.lines().find(|l| l.id == r.order_line_id) else {
            v.add(at("order_line_id"), "is not the id of a line of this order");
            continue;
        };
        let Some(&(line_key, product_key, left)) = shippable.get(&l.id) else {
            let why = if l.drop_ship {
                "is drop-shipped: the supplier delivers it, and receiving its purchase order ships it"
            } else {
                "does not ship: only goods and kits do"
            };
            v.add(at("order_line_id"), format!("\"{}\" {why}", l.description));
            continue;
        };
        if r.quantity <= 0 {
            v.add(at("quantity"), "must be above 0");
        } else if r.quantity > left {
            v.add(
                at("quantity"),
                format!(
                    "{} of {} is more than the {} left to ship on that line",
                    format_quantity(r.quantity),
                    l.sku.as_deref().unwrap_or(&l.description),
                    format_quantity(left)
                ),
            );
        }
        out.push(Planned { line_key, product_key, quantity: r.quantity });
    }
    v.finish()?;
    Ok(out)
}

async fn insert_lines(tx: &mut Tx, tenant_id: i64, shipment: i64, lines: &[Planned]) -> StoreResult<()> {
    for (i, l) in lines.iter().enumerate() {
        let sql = format!(
            "INSERT INTO shipment_lines (tenant_id, id, shipment_id, position, order_line_id, product_id, quantity_e4) \
             VALUES ($1, {}, $2, $3, $4, $5, $6)",
            tx.new_id_expr("shipment_lines", "$1")
        );
        tx.execute(sql, args![tenant_id, shipment, i as i64, l.line_key, l.product_key, l.quantity]).await?;
    }
    Ok(())
}

/// Creates a draft shipment of an open order.
pub async fn create(tx: &mut Tx, actor: &Actor, order: &Document, new: NewShipment) -> StoreResult<Shipment> {
    let t = actor.tenant_id;
    only_open(order)?;
    let mut v = Validator::new();
    let carrier = clean(&mut v, "carrier", new.carrier.as_deref(), 100);
    let tracking = clean(&mut v, "tracking_number", new.tracking_number.as_deref(), 100);
    let notes = clean(&mut v, "notes", new.notes.as_deref(), 4000).unwrap_or_default();
    v.finish()?;
    let warehouse = match new.warehouse_id {
        Some(id) => load_warehouse(tx, t, id).await?,
        None => match order.warehouse_key {
            Some(k) => warehouse_by_key(tx, t, k).await?,
            None => return Err(DomainError::invalid("warehouse_id", "is required: the order has no warehouse").into()),
        },
    };
    let lines = plan(tx, t, order, new.lines.as_deref()).await?;
    let id = PublicId::new();
    let at = now();
    let sql = format!(
        "INSERT INTO shipments (tenant_id, id, public_id, number, sales_order_id, warehouse_id, status, carrier, \
         tracking_number, ship_date, stock_document_id, notes, version, created_at, updated_at, created_by, updated_by) \
         VALUES ($1, {}, $2, NULL, $3, $4, 'draft', $5, $6, $7, NULL, $8, 1, $9, $9, $10, $10) RETURNING id",
        tx.new_id_expr("shipments", "$1")
    );
    let key = tx
        .fetch_one(
            sql,
            args![t, id, order.key, warehouse.key, carrier, tracking, new.ship_date, notes, at, actor.user_id],
            |r| r.i64("id"),
        )
        .await?;
    insert_lines(tx, t, key, &lines).await?;
    let s = get_by_key(tx, t, key).await?;
    audit::created(tx, actor, RecordType::Shipment, id, &s).await?;
    Ok(s)
}

fn refuse_action(before: &Shipment, action: &'static str) -> DomainError {
    let allowed: Vec<&'static str> = if before.status == "draft" { vec!["ship", "cancel"] } else { vec![] };
    DomainError::InvalidTransition { record: "shipment", current: before.status.clone(), action, allowed }
}

/// Locks the shipment row and checks it is still the draft at the version read.
async fn lock_draft(tx: &mut Tx, tenant_id: i64, before: &Shipment, action: &'static str) -> StoreResult<()> {
    let sql = format!("SELECT status, version FROM shipments WHERE tenant_id = $1 AND id = $2{}", tx.for_update());
    let (status, version) =
        tx.fetch_one(sql, args![tenant_id, before.key], |r| Ok((r.text("status")?, r.i64("version")?))).await?;
    if version != before.version {
        return Err(DomainError::VersionMismatch { record: "shipment", current: version }.into());
    }
    if status != "draft" {
        let now_is = Shipment { status, ..before.clone() };
        return Err(refuse_action(&now_is, action).into());
    }
    Ok(())
}

/// Changes a draft shipment.
pub async fn update(
    tx: &mut Tx,
    actor: &Actor,
    before: &Shipment,
    if_version: Option<i64>,
    patch: ShipmentPatch,
) -> StoreResult<Shipment> {
    expect_version("shipment", before.version, if_version)?;
    let t = actor.tenant_id;
    if before.status != "draft" {
        return Err(
            DomainError::Conflict(format!("the shipment is {}: only drafts can be edited", before.status)).into()
        );
    }
    lock_draft(tx, t, before, "update").await?;
    let mut v = Validator::new();
    let carrier = match &patch.carrier {
        Some(c) => clean(&mut v, "carrier", c.as_deref(), 100),
        None => before.carrier.clone(),
    };
    let tracking = match &patch.tracking_number {
        Some(c) => clean(&mut v, "tracking_number", c.as_deref(), 100),
        None => before.tracking_number.clone(),
    };
    let notes = match &patch.notes {
        Some(n) => clean(&mut v, "notes", Some(n), 4000).unwrap_or_default(),
        None => before.notes.clone(),
    };
    v.finish()?;
    let warehouse_key = match patch.warehouse_id {
        Some(id) => load_warehouse(tx, t, id).await?.key,
        None => before.warehouse_key,
    };
    if let Some(lines) = &patch.lines {
        let order = documents::get_by_key(tx, t, before.order_key)
            .await?
            .ok_or(DomainError::NotFound { record: "sales order" })?;
        only_open(&order)?;
        let planned = plan(tx, t, &order, Some(lines)).await?;
        tx.execute("DELETE FROM shipment_lines WHERE tenant_id = $1 AND shipment_id = $2", args![t, before.key])
            .await?;
        insert_lines(tx, t, before.key, &planned).await?;
    }
    tx.execute(
        "UPDATE shipments SET warehouse_id = $3, carrier = $4, tracking_number = $5, ship_date = $6, notes = $7, \
         version = version + 1, updated_at = $8, updated_by = $9 WHERE tenant_id = $1 AND id = $2",
        args![
            t,
            before.key,
            warehouse_key,
            carrier,
            tracking,
            patch.ship_date.unwrap_or(before.ship_date),
            notes,
            now(),
            actor.user_id
        ],
    )
    .await?;
    let after = get_by_key(tx, t, before.key).await?;
    audit::updated(tx, actor, RecordType::Shipment, after.id, after.version, before, &after).await?;
    Ok(after)
}

/// Deletes a draft shipment.
pub async fn delete(tx: &mut Tx, actor: &Actor, before: &Shipment, if_version: Option<i64>) -> StoreResult<()> {
    expect_version("shipment", before.version, if_version)?;
    let t = actor.tenant_id;
    if before.status != "draft" {
        return Err(
            DomainError::Conflict(format!("the shipment is {}: only drafts can be deleted", before.status)).into()
        );
    }
    lock_draft(tx, t, before, "delete").await?;
    tx.execute("DELETE FROM shipment_lines WHERE tenant_id = $1 AND shipment_id = $2", args![t, before.key]).await?;
    tx.execute("DELETE FROM shipments WHERE tenant_id = $1 AND id = $2", args![t, before.key]).await?;
    audit::deleted(tx, actor, RecordType::Shipment, before.id, before.version + 1, before).await
}

/// Cancels a draft shipment (kept, as `cancelled`; nothing moved).
pub async fn cancel(tx: &mut Tx, actor: &Actor, before: &Shipment, if_version: Option<i64>) -> StoreResult<Shipment> {
    expect_version("shipment", before.version, if_version)?;
    let t = actor.tenant_id;
    lock_draft(tx, t, before, "cancel").await?;
    tx.execute(
        "UPDATE shipments SET status = 'cancelled', version = version + 1, updated_at = $3, updated_by = $4 \
         WHERE tenant_id = $1 AND id = $2",
        args![t, before.key, now(), actor.user_id],
    )
    .await?;
    let after = get_by_key(tx, t, before.key).await?;
    audit::updated(tx, actor, RecordType::Shipment, after.id, after.version, before, &after).await?;
    Ok(after)
}

/// Ships a draft shipment: numbers it, moves the stock out, adds to the order
/// lines' shipped quantities and releases their reservations.
pub async fn ship(tx: &mut Tx, actor: &Actor, before: &Shipment, if_version: Option<i64>) -> StoreResult<Shipment> {
    expect_version("shipment", before.version, if_version)?;
    let t = actor.tenant_id;
    // Order header first: every writer of this order's lines queues here.
    let order = documents::lock_header(tx, t, before.order_key).await?;
    lock_draft(tx, t, before, "ship").await?;
    only_open(&order)?;
    let order =
        documents::get_by_key(tx, t, order.key).await?.ok_or(DomainError::NotFound { record: "sales order" })?;
    let warehouse = warehouse_by_key(tx, t, before.warehouse_key).await?;
    if before.lines.is_empty() {
        return Err(DomainError::invalid("lines", "the shipment has no lines").into());
    }
    // Lock the order lines in key order and check the whole shipment first.
    let keys: Vec<i64> = before.lines.iter().map(|l| l.order_line_key).collect();
    let mut ledgers = documents::lock_ledgers(tx, t, &keys).await?;
    for (i, l) in before.lines.iter().enumerate() {
        let g = ledgers.get_mut(&l.order_line_key).ok_or(DomainError::NotFound { record: "order line" })?;
        g.ship(l.quantity_e4).map_err(|e| {
            DomainError::invalid(
                format!("lines[{i}].quantity"),
                format!(
                    "{} of {} is more than the {} left to ship on that line",
                    format_quantity(e.asked),
                    l.sku,
                    format_quantity(e.left)
                ),
            )
        })?;
    }
    let day = before.ship_date.unwrap_or_else(|| now().date());
    let number = sequences::next_number(tx, t, "shipment", day.year()).await?;
    let reason = format!("shipment {number}");
    let doc_key = stock::create_source_document(tx, actor, "shipment", before.id, &warehouse, &reason).await?;
    // What leaves, per line and product; levels locked in product order.
    let mut moves = Vec::new();
    for (i, l) in before.lines.iter().enumerate() {
        let product = order.lines().find(|x| x.key == l.order_line_key).and_then(|x| x.product_key);
        let Some(product) = product else { continue };
        for part in stock_parts(tx, t, product).await? {
            moves.push((i, l.order_line_key, part.clone(), part_qty(l.quantity_e4, part.per)));
        }
    }
    let mut keys: Vec<i64> = moves.iter().map(|m| m.2.key).collect();
    keys.sort_unstable();
    keys.dedup();
    for p in keys {
        crate::stock::lock_level(tx, t, p, warehouse.key).await?;
    }
    for (i, line, part, qty) in moves {
        if qty <= 0 {
            continue;
        }
        let res = orders::line_reservations(tx, t, line).await?;
        let own = res.get(&part.key).filter(|(w, _)| *w == warehouse.key).map_or(0, |(_, q)| *q);
        let (on_hand, reserved) = crate::stock::lock_level(tx, t, part.key, warehouse.key).await?;
        let others = (reserved - own).max(0);
        if !warehouse.allow_negative_stock && on_hand - others < qty {
            return Err(DomainError::Conflict(format!(
                "not enough {} in {} for lines[{i}]: {} on hand, {} reserved for other orders, {} to ship",
                part.sku,
                warehouse.name,
                format_quantity(on_hand),
                format_quantity(others),
                format_quantity(qty)
            ))
            .into());
        }
        let product =
            catalog::get_product_row(tx, t, part.id).await?.ok_or(DomainError::NotFound { record: "product" })?;
        stock::issue(tx, actor, &product, &warehouse, qty, &reason, doc_key, format!("lines[{i}]")).await?;
        // The reservation (wherever it is held) shrinks by what shipped.
        if let Some((w, q)) = res.get(&part.key) {
            let release = (*q).min(qty);
            if *w != warehouse.key {
                crate::stock::lock_level(tx, t, part.key, *w).await?;
            }
            orders::change_reservation(tx, t, line, part.key, *w, -release).await?;
        }
    }
    for (key, g) in &ledgers {
        let product = order.lines().find(|x| x.key == *key).and_then(|x| x.product_key);
        let parts = match product {
            Some(p) => stock_parts(tx, t, p).await?,
            None => vec![],
        };
        let held: HashMap<i64, i64> =
            orders::line_reservations(tx, t, *key).await?.into_iter().map(|(p, (_, q))| (p, q)).collect();
        tx.execute(
            "UPDATE document_lines SET qty_shipped_e4 = $3, qty_reserved_e4 = $4 WHERE tenant_id = $1 AND id = $2",
            args![t, *key, g.shipped, line_reserved(&parts, &held, g.left_to_ship())],
        )
        .await?;
    }
    tx.execute(
        "UPDATE shipments SET status = 'done', number = $3, stock_document_id = $4, ship_date = $5, \
         version = version + 1, updated_at = $6, updated_by = $7 WHERE tenant_id = $1 AND id = $2",
        args![t, before.key, number, doc_key, day, now(), actor.user_id],
    )
    .await?;
    documents::refresh_order_status(tx, t, order.key).await?;
    let after = get_by_key(tx, t, before.key).await?;
    audit::updated(tx, actor, RecordType::Shipment, after.id, after.version, before, &after).await?;
    Ok(after)
}

/// A drop-shipped order line the supplier delivered, as its receipt recorded it.
pub(crate) struct Delivered {
    pub order_line_key: i64,
    pub product: catalog::Product,
    pub quantity: i64,
    /// The receipt's unit cost, 1/10,000 of the company currency's major unit.
    pub unit_cost: i64,
    /// The receipt line, named in refusals.
    pub field: String,
}

/// Records what a supplier delivered straight to the customer of an open
/// order as a done shipment of the drop-shipped lines: numbered like every
/// shipment, the lines' shipped quantities grow (refused beyond what is left),
/// and the goods pass through `warehouse`'s books in and out at the receipt's
/// cost on the same day (`receipt_doc` holds the incoming movements), so the
/// invoice's cost of goods sold is what the supplier charged and nothing is
/// left on hand or in the average cost. The caller holds the order header lock.
pub(crate) async fn ship_delivered(
    tx: &mut Tx,
    actor: &Actor,
    order_key: i64,
    warehouse: &Warehouse,
    (receipt_doc, receipt_reason): (i64, &str),
    day: Date,
    delivered: Vec<Delivered>,
) -> StoreResult<Shipment> {
    let t = actor.tenant_id;
    // The header only (the caller locked it already; locking again is free).
    let order = documents::lock_header(tx, t, order_key).await?;
    only_open(&order)?;
    let keys: Vec<i64> = delivered.iter().map(|d| d.order_line_key).collect();
    let mut ledgers = documents::lock_ledgers(tx, t, &keys).await?;
    for d in &delivered {
        let g = ledgers.get_mut(&d.order_line_key).ok_or(DomainError::NotFound { record: "order line" })?;
        g.ship(d.quantity).map_err(|e| {
            DomainError::invalid(
                format!("{}.quantity", d.field),
                format!(
                    "{} of {} is more than the {} left to deliver on sales order {}",
                    format_quantity(e.asked),
                    d.product.sku,
                    format_quantity(e.left),
                    order.number.as_deref().unwrap_or("")
                ),
            )
        })?;
    }
    let number = sequences::next_number(tx, t, "shipment", day.year()).await?;
    let id = PublicId::new();
    // The stock document first: the shipment is written done, with it, in one statement.
    let reason = format!("shipment {number}");
    let doc_key = stock::create_source_document(tx, actor, "shipment", id, warehouse, &reason).await?;
    let notes = format!("Drop-shipped by the supplier ({receipt_reason})");
    let sql = format!(
        "INSERT INTO shipments (tenant_id, id, public_id, number, sales_order_id, warehouse_id, status, carrier, \
         tracking_number, ship_date, stock_document_id, notes, version, created_at, updated_at, created_by, updated_by) \
         VALUES ($1, {}, $2, $3, $4, $5, 'done', NULL, NULL, $6, $7, $8, 1, $9, $9, $10, $10) RETURNING id",
        tx.new_id_expr("shipments", "$1")
    );
    let a = args![t, id, number.as_str(), order.key, warehouse.key, day, doc_key, notes, now(), actor.user_id];
    let key = tx.fetch_one(sql, a, |r| r.i64("id")).await?;
    let planned: Vec<Planned> = delivered
        .iter()
        .map(|d| Planned { line_key: d.order_line_key, product_key: d.product.key, quantity: d.quantity })
        .collect();
    insert_lines(tx, t, key, &planned).await?;
    for d in &delivered {
        stock::pass_through(
            tx,
            actor,
            &d.product,
            warehouse,
            d.quantity,
            d.unit_cost,
            (receipt_doc, receipt_reason),
            (doc_key, &reason),
        )
        .await?;
    }
    for (line, g) in &ledgers {
        tx.execute(
            "UPDATE document_lines SET qty_shipped_e4 = $3 WHERE tenant_id = $1 AND id = $2",
            args![t, *line, g.shipped],
        )
        .await?;
    }
    documents::refresh_order_status(tx, t, order.key).await?;
    let s = get_by_key(tx, t, key).await?;
    audit::created(tx, actor, RecordType::Shipment, id, &s).await?;
    Ok(s)
}
