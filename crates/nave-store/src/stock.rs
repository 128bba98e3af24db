//! The stock ledger.
//!
//! Every change of stock is an immutable movement (product, warehouse, signed
//! quantity, unit cost, value, reason, source document, time). In the same
//! transaction the per-warehouse level (`stock_levels`) and the product's
//! company-wide valuation (`stock_valuations`, moving average, see
//! `nave_domain::stock::Valuation`) are updated with their rows locked, so on
//! hand always equals the sum of movements and two concurrent issues can never
//! together take a warehouse below zero. Incoming movements update the
//! product's cost to the new moving average; outgoing ones record the cost of
//! that moment. Transfers move quantities between warehouses at the current
//! average without revaluing.

use nave_domain::DomainError;
use nave_domain::access::RecordType;
use nave_domain::catalog::ProductKind;
use nave_domain::ids::PublicId;
use nave_domain::money::{Currency, format_unit_price, round_half_away};
use nave_domain::stock::{Valuation, check_issue, format_quantity};
use rust_decimal::Decimal;
use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::{self, Actor};
use crate::catalog::{Product, Warehouse, get_product, get_warehouse};
use crate::db::{DbRow, Tx, now};
use crate::page::{Cursor, Page};
use crate::{StoreError, StoreResult, args, tenants};

/// Converts a unit cost in 1/10,000 of the major unit to minor units ×10,000.
fn cost_to_e4m(cost_e4: i64, currency: Currency) -> i64 {
    cost_e4.saturating_mul(10i64.pow(currency.minor_units()))
}

/// Converts minor units ×10,000 back to 1/10,000 of the major unit, rounded half away.
fn e4m_to_cost(v: i64, currency: Currency) -> i64 {
    let d = Decimal::from(v) / Decimal::from(10i64.pow(currency.minor_units()));
    i64::try_from(round_half_away(d, 0)).unwrap_or(i64::MAX)
}

/// Formats minor units ×10,000 as a decimal string of the major unit.
fn format_e4m(v: i64, currency: Currency) -> String {
    nave_domain::money::format_at_least_minor(Decimal::new(v, 4 + currency.minor_units()), currency)
}

/// One line of a stock document to post.
#[derive(Debug, Clone)]
pub struct StockLineInput {
    pub product_id: PublicId,
    /// Signed quantity in 1/10,000 of a unit (adjustments); positive for transfers.
    pub quantity: i64,
    /// Unit cost of incoming stock in 1/10,000 of the company currency's major
    /// unit; default: the product's current cost.
    pub unit_cost: Option<i64>,
}

/// What kind of stock document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StockDocumentKind {
    Adjustment,
    Transfer,
}

impl StockDocumentKind {
    fn as_str(self) -> &'static str {
        match self {
            StockDocumentKind::Adjustment => "adjustment",
            StockDocumentKind::Transfer => "transfer",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [StockDocumentKind::Adjustment, StockDocumentKind::Transfer].into_iter().find(|k| k.as_str() == s)
    }

    fn record_type(self) -> RecordType {
        match self {
            StockDocumentKind::Adjustment => RecordType::StockAdjustment,
            StockDocumentKind::Transfer => RecordType::StockTransfer,
        }
    }
}

/// A movement as the API shows it. `unit_cost` and `value` are field-secured.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Movement {
    #[serde(skip)]
    pub key: i64,
    #[schema(value_type = String)]
    pub id: PublicId,
    #[schema(value_type = String)]
    pub product_id: PublicId,
    pub sku: String,
    #[schema(value_type = String)]
    pub warehouse_id: PublicId,
    /// Signed quantity: + in, − out.
    pub quantity: String,
    /// Unit cost in the company currency at the time of the movement.
    pub unit_cost: String,
    /// Change of stock value in the company currency.
    pub value: String,
    pub reason: String,
    #[schema(value_type = Option<String>)]
    pub document_id: Option<PublicId>,
    /// What kind of document posted it (for links on pages).
    #[serde(skip)]
    pub document_kind: Option<StockDocumentKind>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: OffsetDateTime,
}

const SELECT_MOVE: &str = "SELECT m.id, m.public_id, m.quantity_e4, m.unit_cost_e4m, m.value_e4m, m.reason, \
    m.occurred_at, p.public_id AS product_public_id, p.sku, w.public_id AS warehouse_public_id, \
    d.public_id AS document_public_id, d.kind AS document_kind, t.currency AS company_currency \
    FROM stock_movements m JOIN tenants t ON t.id = m.tenant_id \
    JOIN products p ON p.tenant_id = m.tenant_id AND p.id = m.product_id \
    JOIN warehouses w ON w.tenant_id = m.tenant_id AND w.id = m.warehouse_id \
    LEFT JOIN stock_documents d ON d.tenant_id = m.tenant_id AND d.id = m.document_id";

fn decode_move(r: &dyn DbRow) -> StoreResult<Movement> {
    let c = Currency::parse(&r.text("company_currency")?).map_err(|e| StoreError::Decode(e.to_string()))?;
    Ok(Movement {
        key: r.i64("id")?,
        id: PublicId::from_uuid(r.uuid("public_id")?),
        product_id: PublicId::from_uuid(r.uuid("product_public_id")?),
        sku: r.text("sku")?,
        warehouse_id: PublicId::from_uuid(r.uuid("warehouse_public_id")?),
        quantity: format_quantity(r.i64("quantity_e4")?),
        unit_cost: format_e4m(r.i64("unit_cost_e4m")?, c),
        value: format_e4m(r.i64("value_e4m")?, c),
        reason: r.text("reason")?,
        document_id: r.opt_uuid("document_public_id")?.map(PublicId::from_uuid),
        document_kind: r.opt_text("document_kind")?.as_deref().and_then(StockDocumentKind::parse),
        occurred_at: r.ts("occurred_at")?,
    })
}

/// Filters of the movement list (oldest first unless `newest_first`).
#[derive(Debug, Clone, Default)]
pub struct MovementQuery {
    pub product_key: Option<i64>,
    pub warehouse_key: Option<i64>,
    pub cursor: Option<Cursor>,
    pub limit: i64,
    /// Newest first (the pages' order); the API lists oldest first.
    pub newest_first: bool,
}

pub async fn list_movements(tx: &mut Tx, tenant_id: i64, q: &MovementQuery) -> StoreResult<Page<Movement>> {
    let mut sql = format!("{SELECT_MOVE} WHERE m.tenant_id = $1");
    let mut a = args![tenant_id];
    if let Some(p) = q.product_key {
        a.push(p.into());
        sql.push_str(&format!(" AND m.product_id = ${}", a.len()));
    }
    if let Some(w) = q.warehouse_key {
        a.push(w.into());
        sql.push_str(&format!(" AND m.warehouse_id = ${}", a.len()));
    }
    let (after, order) = if q.newest_first { ("<", "DESC") } else { (">", "ASC") };
    if let Some(c) = q.cursor {
        a.push(c.0.into());
        sql.push_str(&format!(" AND m.id {after} ${}", a.len()));
    }
    let limit = q.limit.clamp(1, 500);
    sql.push_str(&format!(" ORDER BY m.id {order} LIMIT {}", limit + 1));
    let rows = tx.fetch_all(sql, a, decode_move).await?;
    Ok(Page::from_rows(rows, limit, |m| m.key))
}

/// Stock of one product in one warehouse.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StockLevel {
    #[schema(value_type = String)]
    pub product_id: PublicId,
    pub sku: String,
    #[schema(value_type = String)]
    pub warehouse_id: PublicId,
    pub on_hand: String,
    pub reserved: String,
    pub available: String,
}

/// Filters of the stock levels.
#[derive(Debug, Clone, Default)]
pub struct LevelQuery {
    pub product_key: Option<i64>,
    pub warehouse_key: Option<i64>,
    /// Levels at the end of this day, from the movements (reserved is then 0).
    pub as_of: Option<time::Date>,
}

/// One level row as stored, with the names pages show.
struct RawLevel {
    product_key: i64,
    product_id: PublicId,
    sku: String,
    product_name: String,
    warehouse_id: PublicId,
    warehouse_name: String,
    on_hand: i64,
    reserved: i64,
}

/// The end of `day` (the start of the next one, UTC): levels "as of" a day count what happened before it.
fn end_of(day: time::Date) -> OffsetDateTime {
    day.next_day().unwrap_or(day).midnight().assume_utc()
}

async fn raw_levels(tx: &mut Tx, tenant_id: i64, q: &LevelQuery) -> StoreResult<Vec<RawLevel>> {
    let mut a = args![tenant_id];
    let mut filter = String::new();
    if let Some(p) = q.product_key {
        a.push(p.into());
        filter.push_str(&format!(" AND x.product_id = ${}", a.len()));
    }
    if let Some(w) = q.warehouse_key {
        a.push(w.into());
        filter.push_str(&format!(" AND x.warehouse_id = ${}", a.len()));
    }
    let source = match q.as_of {
        None => "SELECT product_id, warehouse_id, on_hand_e4, reserved_e4 FROM stock_levels WHERE tenant_id = $1"
            .to_string(),
        Some(day) => {
            a.push(end_of(day).into());
            format!(
                "SELECT product_id, warehouse_id, CAST(SUM(quantity_e4) AS BIGINT) AS on_hand_e4, CAST(0 AS BIGINT) AS reserved_e4 \
                 FROM stock_movements \
                 WHERE tenant_id = $1 AND occurred_at < ${} GROUP BY product_id, warehouse_id",
                a.len()
            )
        }
    };
    let sql = format!(
        "SELECT x.product_id, x.on_hand_e4, x.reserved_e4, p.public_id AS product_public_id, p.sku, p.name AS product_name, \
         w.public_id AS warehouse_public_id, w.name AS warehouse_name \
         FROM ({source}) x JOIN products p ON p.tenant_id = $1 AND p.id = x.product_id \
         JOIN warehouses w ON w.tenant_id = $1 AND w.id = x.warehouse_id WHERE 1 = 1{filter} ORDER BY p.sku, w.name_key"
    );
    tx.fetch_all(sql, a, |r| {
        Ok(RawLevel {
            product_key: r.i64("product_id")?,
            product_id: PublicId::from_uuid(r.uuid("product_public_id")?),
            sku: r.text("sku")?,
            product_name: r.text("product_name")?,
            warehouse_id: PublicId::from_uuid(r.uuid("warehouse_public_id")?),
            warehouse_name: r.text("warehouse_name")?,
            on_hand: r.i64("on_hand_e4")?,
            reserved: r.i64("reserved_e4")?,
        })
    })
    .await
}

/// Stock levels per product and warehouse, now or at the end of a past day.
pub async fn list_levels(tx: &mut Tx, tenant_id: i64, q: &LevelQuery) -> StoreResult<Vec<StockLevel>> {
    let rows = raw_levels(tx, tenant_id, q).await?;
    Ok(rows
        .into_iter()
        .map(|l| StockLevel {
            product_id: l.product_id,
            sku: l.sku,
            warehouse_id: l.warehouse_id,
            on_hand: format_quantity(l.on_hand),
            reserved: format_quantity(l.reserved),
            available: format_quantity(l.on_hand - l.reserved),
        })
        .collect())
}

/// A stock level with the names pages show and its value at the product's
/// moving-average unit cost (company currency). `unit_cost` and `value` are
/// secured like a movement's: present it as [`RecordType::Stock`].
#[derive(Debug, Clone, Serialize)]
pub struct ValuedLevel {
    pub product_id: PublicId,
    pub sku: String,
    pub product_name: String,
    /// `None` on a product's total over the warehouses listed.
    pub warehouse_id: Option<PublicId>,
    pub warehouse_name: String,
    pub on_hand: String,
    pub reserved: String,
    pub available: String,
    /// The product's average unit cost then (company-wide).
    pub unit_cost: String,
    /// On hand × average unit cost.
    pub value: String,
}

/// Valued levels, and one total per product over the warehouses listed.
#[derive(Debug, Clone, Default)]
pub struct StockReport {
    pub levels: Vec<ValuedLevel>,
    pub totals: Vec<ValuedLevel>,
}

/// The average unit cost (minor units ×10,000) of every valued product, now
/// or at the end of a past day (rebuilt from the movements, whose values add
/// up to the valuation).
async fn average_costs(
    tx: &mut Tx,
    tenant_id: i64,
    as_of: Option<time::Date>,
) -> StoreResult<std::collections::HashMap<i64, i64>> {
    let rows = match as_of {
        None => {
            tx.fetch_all(
                "SELECT product_id, quantity_e4, value_e4m, last_unit_cost_e4m FROM stock_valuations WHERE tenant_id = $1",
                args![tenant_id],
                |r| Ok((r.i64("product_id")?, r.i64("quantity_e4")?, r.i64("value_e4m")?, r.i64("last_unit_cost_e4m")?)),
            )
            .await?
        }
        Some(day) => {
            let end = end_of(day);
            let last: std::collections::HashMap<i64, i64> = tx
                .fetch_all(
                    "SELECT product_id, unit_cost_e4m FROM stock_movements WHERE tenant_id = $1 AND id IN \
                     (SELECT MAX(id) FROM stock_movements WHERE tenant_id = $1 AND occurred_at < $2 GROUP BY product_id)",
                    args![tenant_id, end],
                    |r| Ok((r.i64("product_id")?, r.i64("unit_cost_e4m")?)),
                )
                .await?
                .into_iter()
                .collect();
            tx.fetch_all(
                "SELECT product_id, CAST(SUM(quantity_e4) AS BIGINT) AS quantity_e4, CAST(SUM(value_e4m) AS BIGINT) AS value_e4m \
                 FROM stock_movements WHERE tenant_id = $1 AND occurred_at < $2 GROUP BY product_id",
                args![tenant_id, end],
                |r| Ok((r.i64("product_id")?, r.i64("quantity_e4")?, r.i64("value_e4m")?)),
            )
            .await?
            .into_iter()
            .map(|(p, q, v)| (p, q, v, last.get(&p).copied().unwrap_or(0)))
            .collect()
        }
    };
    Ok(rows
        .into_iter()
        .map(|(p, q, v, last)| {
            (p, Valuation::restore(q, v, last.max(0)).map(|v| v.average_unit_cost()).unwrap_or(last))
        })
        .collect())
}

/// Stock levels (as [`list_levels`]) valued at each product's average unit
/// cost, with a total per product.
pub async fn stock_report(tx: &mut Tx, tenant_id: i64, q: &LevelQuery) -> StoreResult<StockReport> {
    let company = tenants::currency(tx, tenant_id).await?;
    let rows = raw_levels(tx, tenant_id, q).await?;
    let costs = average_costs(tx, tenant_id, q.as_of).await?;
    let value_of = |qty: i64, cost: i64| {
        let v = round_half_away(Decimal::from(qty) * Decimal::from(cost) / Decimal::from(10_000), 0);
        i64::try_from(v).unwrap_or(i64::MAX)
    };
    let valued = |l: &RawLevel, warehouse: Option<(PublicId, String)>, on_hand: i64, reserved: i64, value: i64| {
        let cost = costs.get(&l.product_key).copied().unwrap_or(0);
        let (warehouse_id, warehouse_name) = warehouse.map_or((None, String::new()), |(id, n)| (Some(id), n));
        ValuedLevel {
            product_id: l.product_id,
            sku: l.sku.clone(),
            product_name: l.product_name.clone(),
            warehouse_id,
            warehouse_name,
            on_hand: format_quantity(on_hand),
            reserved: format_quantity(reserved),
            available: format_quantity(on_hand - reserved),
            unit_cost: format_e4m(cost, company),
            value: format_e4m(value, company),
        }
    };
    let mut report = StockReport::default();
    let mut i = 0;
    while i < rows.len() {
        let same: Vec<&RawLevel> = rows[i..].iter().take_while(|r| r.product_key == rows[i].product_key).collect();
        let cost = costs.get(&rows[i].product_key).copied().unwrap_or(0);
        let (mut on_hand, mut reserved, mut value) = (0i64, 0i64, 0i64);
        for l in &same {
            let v = value_of(l.on_hand, cost);
            on_hand = on_hand.saturating_add(l.on_hand);
            reserved = reserved.saturating_add(l.reserved);
            value = value.saturating_add(v);
            report.levels.push(valued(l, Some((l.warehouse_id, l.warehouse_name.clone())), l.on_hand, l.reserved, v));
        }
        report.totals.push(valued(&rows[i], None, on_hand, reserved, value));
        i += same.len();
    }
    Ok(report)
}

/// Locks (creating if needed) a level row; returns (on hand, reserved).
///
/// One statement: an upsert whose no-op update takes the row lock on
/// PostgreSQL (like `SELECT … FOR UPDATE`) and returns the row either way.
pub(crate) async fn lock_level(tx: &mut Tx, tenant_id: i64, product: i64, warehouse: i64) -> StoreResult<(i64, i64)> {
    tx.fetch_one(
        "INSERT INTO stock_levels (tenant_id, product_id, warehouse_id, on_hand_e4, reserved_e4, updated_at) \
         VALUES ($1, $2, $3, 0, 0, $4) ON CONFLICT (tenant_id, product_id, warehouse_id) \
         DO UPDATE SET on_hand_e4 = stock_levels.on_hand_e4 RETURNING on_hand_e4, reserved_e4",
        args![tenant_id, product, warehouse, now()],
        |r| Ok((r.i64("on_hand_e4")?, r.i64("reserved_e4")?)),
    )
    .await
}

async fn lock_valuation(tx: &mut Tx, tenant_id: i64, product: i64) -> StoreResult<Valuation> {
    // One statement, as in `lock_level`.
    let (q, v, c) = tx
        .fetch_one(
            "INSERT INTO stock_valuations (tenant_id, product_id, quantity_e4, value_e4m, last_unit_cost_e4m) \
             VALUES ($1, $2, 0, 0, 0) ON CONFLICT (tenant_id, product_id) \
             DO UPDATE SET quantity_e4 = stock_valuations.quantity_e4 \
             RETURNING quantity_e4, value_e4m, last_unit_cost_e4m",
            args![tenant_id, product],
            |r| Ok((r.i64("quantity_e4")?, r.i64("value_e4m")?, r.i64("last_unit_cost_e4m")?)),
        )
        .await?;
    Valuation::restore(q, v, c).map_err(|e| StoreError::Decode(e.to_string()))
}

struct Posting<'a> {
    product: &'a Product,
    warehouse: &'a Warehouse,
    quantity: i64,
    /// Incoming unit cost (major ×10,000) when revaluing.
    unit_cost: Option<i64>,
    /// Change the product's valuation (adjustments) or only move it (transfers).
    revalue: bool,
    reason: &'a str,
    document_key: Option<i64>,
    field: String,
}

/// Posts one movement with its level and valuation; returns the movement key.
/// Returns the movement's value (minor units × 10,000 of the company
/// currency; negative for what leaves).
async fn post(tx: &mut Tx, actor: &Actor, company: Currency, p: Posting<'_>) -> StoreResult<i64> {
    let t = actor.tenant_id;
    if p.product.kind != ProductKind::Goods {
        return Err(DomainError::invalid(
            format!("{}.product_id", p.field),
            format!("{} is a {}; only goods are stocked", p.product.sku, p.product.kind.as_str()),
        )
        .into());
    }
    let (on_hand, _) = lock_level(tx, t, p.product.key, p.warehouse.key).await?;
    if p.quantity < 0 {
        check_issue(on_hand, -p.quantity, p.warehouse.allow_negative_stock)
            .map_err(|e| DomainError::Conflict(format!("not enough {} in {}: {e}", p.product.sku, p.warehouse.name)))?;
    }
    let mut val = lock_valuation(tx, t, p.product.key).await?;
    let (unit_cost_e4m, value_e4m) = if !p.revalue {
        (val.average_unit_cost(), 0)
    } else if p.quantity > 0 {
        let cost_e4 = match p.unit_cost {
            Some(c) => c,
            None => nave_domain::money::parse_unit_price(&p.product.cost).unwrap_or(0),
        };
        let unit = cost_to_e4m(cost_e4, company);
        let delta = val
            .receive(p.quantity, unit)
            .map_err(|e| DomainError::invalid(format!("{}.quantity", p.field), e.to_string()))?;
        (unit, delta)
    } else {
        let cost =
            val.issue(-p.quantity).map_err(|e| DomainError::invalid(format!("{}.quantity", p.field), e.to_string()))?;
        let unit =
            i64::try_from(round_half_away(Decimal::from(cost) * Decimal::from(10_000) / Decimal::from(-p.quantity), 0))
                .unwrap_or(0);
        (unit, -cost)
    };
    insert_movement(tx, actor, p.product, p.warehouse, p.quantity, unit_cost_e4m, value_e4m, p.reason, p.document_key)
        .await?;
    tx.execute(
        "UPDATE stock_levels SET on_hand_e4 = on_hand_e4 + $4, updated_at = $5 \
         WHERE tenant_id = $1 AND product_id = $2 AND warehouse_id = $3",
        args![t, p.product.key, p.warehouse.key, p.quantity, now()],
    )
    .await?;
    if p.revalue {
        tx.execute(
            "UPDATE stock_valuations SET quantity_e4 = $3, value_e4m = $4, last_unit_cost_e4m = $5 \
             WHERE tenant_id = $1 AND product_id = $2",
            args![t, p.product.key, val.quantity(), val.value(), val.average_unit_cost()],
        )
        .await?;
        if p.quantity > 0 {
            // Incoming stock sets the product's cost to the new moving average.
            let new_cost = e4m_to_cost(val.average_unit_cost(), company);
            let before = get_product(tx, t, p.product.id).await?.ok_or(DomainError::NotFound { record: "product" })?;
            if format_unit_price(new_cost, company) != before.cost {
                tx.execute(
                    "UPDATE products SET cost_e4 = $3, version = version + 1, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
                    args![t, p.product.key, new_cost, now()],
                )
                .await?;
                let after =
                    get_product(tx, t, p.product.id).await?.ok_or(DomainError::NotFound { record: "product" })?;
                audit::updated(tx, actor, RecordType::Product, after.id, after.version, &before, &after).await?;
            }
        }
    }
    Ok(value_e4m)
}

/// Writes one stock movement row (the level and valuation are the caller's).
#[allow(clippy::too_many_arguments)]
async fn insert_movement(
    tx: &mut Tx,
    actor: &Actor,
    product: &Product,
    warehouse: &Warehouse,
    quantity: i64,
    unit_cost_e4m: i64,
    value_e4m: i64,
    reason: &str,
    document_key: Option<i64>,
) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO stock_movements (tenant_id, id, public_id, product_id, warehouse_id, quantity_e4, unit_cost_e4m, \
         value_e4m, reason, document_id, occurred_at, created_by) VALUES ($1, {}, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        tx.new_id_expr("stock_movements", "$1")
    );
    tx.execute(
        sql,
        args![
            actor.tenant_id,
            PublicId::new(),
            product.key,
            warehouse.key,
            quantity,
            unit_cost_e4m,
            value_e4m,
            reason,
            document_key,
            now(),
            actor.user_id
        ],
    )
    .await
    .map(|_| ())
}

/// A stock adjustment or transfer as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StockDocument {
    #[schema(value_type = String)]
    pub id: PublicId,
    #[schema(value_type = String)]
    pub kind: StockDocumentKind,
    #[schema(value_type = String)]
    pub warehouse_id: PublicId,
    #[schema(value_type = Option<String>)]
    pub to_warehouse_id: Option<PublicId>,
    pub reason: String,
    /// The movements it posted.
    pub lines: Vec<Movement>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

pub async fn get_document(
    tx: &mut Tx,
    tenant_id: i64,
    kind: StockDocumentKind,
    id: PublicId,
) -> StoreResult<Option<StockDocument>> {
    let head = tx
        .fetch_optional(
            "SELECT d.id, d.reason, d.created_at, w.public_id AS wh, tw.public_id AS to_wh FROM stock_documents d \
             JOIN warehouses w ON w.tenant_id = d.tenant_id AND w.id = d.warehouse_id \
             LEFT JOIN warehouses tw ON tw.tenant_id = d.tenant_id AND tw.id = d.to_warehouse_id \
             WHERE d.tenant_id = $1 AND d.public_id = $2 AND d.kind = $3",
            args![tenant_id, id, kind.as_str()],
            |r| {
                Ok((
                    r.i64("id")?,
                    r.text("reason")?,
                    r.ts("created_at")?,
                    PublicId::from_uuid(r.uuid("wh")?),
                    r.opt_uuid("to_wh")?.map(PublicId::from_uuid),
                ))
            },
        )
        .await?;
    let Some((key, reason, created_at, warehouse_id, to_warehouse_id)) = head else { return Ok(None) };
    let lines = tx
        .fetch_all(
            format!("{SELECT_MOVE} WHERE m.tenant_id = $1 AND m.document_id = $2 ORDER BY m.id"),
            args![tenant_id, key],
            decode_move,
        )
        .await?;
    Ok(Some(StockDocument { id, kind, warehouse_id, to_warehouse_id, reason, lines, created_at }))
}

async fn load_line_product(tx: &mut Tx, tenant_id: i64, i: usize, id: PublicId) -> StoreResult<Product> {
    get_product(tx, tenant_id, id)
        .await?
        .ok_or_else(|| DomainError::invalid(format!("lines[{i}].product_id"), "is not the id of a product").into())
}

async fn load_warehouse(tx: &mut Tx, tenant_id: i64, id: PublicId, field: &str) -> StoreResult<Warehouse> {
    let w = get_warehouse(tx, tenant_id, id)
        .await?
        .ok_or_else(|| DomainError::invalid(field, "is not the id of a warehouse"))?;
    if !w.active {
        return Err(DomainError::invalid(field, format!("{} is inactive", w.name)).into());
    }
    Ok(w)
}

fn check_lines(lines: &[StockLineInput], transfer: bool) -> Result<(), DomainError> {
    let mut v = nave_domain::error::Validator::new();
    if lines.is_empty() || lines.len() > 500 {
        v.add("lines", "must list 1 to 500 lines");
    }
    for (i, l) in lines.iter().enumerate() {
        if l.quantity == 0 || (transfer && l.quantity < 0) {
            v.add(format!("lines[{i}].quantity"), if transfer { "must be above 0" } else { "must not be 0" });
        }
        if transfer && l.unit_cost.is_some() {
            v.add(format!("lines[{i}].unit_cost"), "is not taken by transfers (stock moves at its current cost)");
        }
    }
    v.finish()
}

async fn create_document(
    tx: &mut Tx,
    actor: &Actor,
    kind: StockDocumentKind,
    warehouse: &Warehouse,
    to: Option<&Warehouse>,
    reason: &str,
) -> StoreResult<(i64, PublicId)> {
    let id = PublicId::new();
    let sql = format!(
        "INSERT INTO stock_documents (tenant_id, id, public_id, kind, warehouse_id, to_warehouse_id, reason, created_at, \
         created_by) VALUES ($1, {}, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        tx.new_id_expr("stock_documents", "$1")
    );
    let key = tx
        .fetch_one(
            sql,
            args![actor.tenant_id, id, kind.as_str(), warehouse.key, to.map(|w| w.key), reason, now(), actor.user_id],
            |r| r.i64("id"),
        )
        .await?;
    Ok((key, id))
}

fn clean_reason(reason: &str) -> Result<String, DomainError> {
    let r = reason.trim();
    if r.is_empty() || r.chars().count() > 200 {
        return Err(DomainError::invalid("reason", "must be 1 to 200 characters (e.g. \"inventory count\")"));
    }
    Ok(r.to_string())
}

/// Posts a stock adjustment: each line's signed quantity changes the stock of
/// one warehouse (an inventory count, breakage, an opening balance).
pub async fn adjust(
    tx: &mut Tx,
    actor: &Actor,
    warehouse_id: PublicId,
    reason: &str,
    lines: &[StockLineInput],
) -> StoreResult<StockDocument> {
    let reason = clean_reason(reason)?;
    check_lines(lines, false)?;
    let t = actor.tenant_id;
    let company = tenants::currency(tx, t).await?;
    let warehouse = load_warehouse(tx, t, warehouse_id, "warehouse_id").await?;
    let (key, id) = create_document(tx, actor, StockDocumentKind::Adjustment, &warehouse, None, &reason).await?;
    for (i, l) in lines.iter().enumerate() {
        let product = load_line_product(tx, t, i, l.product_id).await?;
        let posting = Posting {
            product: &product,
            warehouse: &warehouse,
            quantity: l.quantity,
            unit_cost: l.unit_cost,
            revalue: true,
            reason: &reason,
            document_key: Some(key),
            field: format!("lines[{i}]"),
        };
        post(tx, actor, company, posting).await?;
    }
    finish(tx, actor, StockDocumentKind::Adjustment, id).await
}

/// Posts a transfer: each line moves a quantity from one warehouse to another,
/// at the product's current cost, without revaluing it.
pub async fn transfer(
    tx: &mut Tx,
    actor: &Actor,
    from_id: PublicId,
    to_id: PublicId,
    reason: &str,
    lines: &[StockLineInput],
) -> StoreResult<StockDocument> {
    let reason = clean_reason(reason)?;
    check_lines(lines, true)?;
    let t = actor.tenant_id;
    let company = tenants::currency(tx, t).await?;
    let from = load_warehouse(tx, t, from_id, "from_warehouse_id").await?;
    let to = load_warehouse(tx, t, to_id, "to_warehouse_id").await?;
    if from.key == to.key {
        return Err(DomainError::invalid("to_warehouse_id", "must differ from from_warehouse_id").into());
    }
    let (key, id) = create_document(tx, actor, StockDocumentKind::Transfer, &from, Some(&to), &reason).await?;
    for (i, l) in lines.iter().enumerate() {
        let product = load_line_product(tx, t, i, l.product_id).await?;
        for (wh, q) in [(&from, -l.quantity), (&to, l.quantity)] {
            let posting = Posting {
                product: &product,
                warehouse: wh,
                quantity: q,
                unit_cost: None,
                revalue: false,
                reason: &reason,
                document_key: Some(key),
                field: format!("lines[{i}]"),
            };
            post(tx, actor, company, posting).await?;
        }
    }
    finish(tx, actor, StockDocumentKind::Transfer, id).await
}

async fn finish(tx: &mut Tx, actor: &Actor, kind: StockDocumentKind, id: PublicId) -> StoreResult<StockDocument> {
    let doc =
        get_document(tx, actor.tenant_id, kind, id).await?.ok_or(DomainError::NotFound { record: "stock document" })?;
    audit::created(tx, actor, kind.record_type(), id, &doc).await?;
    Ok(doc)
}

/// Checks the ledger: every level equals the sum of its movements, every
/// valuation's quantity the sum over all warehouses. Returns the mismatches
/// (for tests and the operator's consistency check).
pub async fn ledger_mismatches(tx: &mut Tx, tenant_id: i64) -> StoreResult<Vec<String>> {
    let mut out = tx
        .fetch_all(
            "SELECT l.product_id, l.warehouse_id, l.on_hand_e4, CAST(COALESCE(SUM(m.quantity_e4), 0) AS BIGINT) AS moved FROM stock_levels l \
             LEFT JOIN stock_movements m ON m.tenant_id = l.tenant_id AND m.product_id = l.product_id \
             AND m.warehouse_id = l.warehouse_id WHERE l.tenant_id = $1 GROUP BY l.product_id, l.warehouse_id, l.on_hand_e4",
            args![tenant_id],
            |r| Ok((r.i64("product_id")?, r.i64("warehouse_id")?, r.i64("on_hand_e4")?, r.i64("moved")?)),
        )
        .await?
        .into_iter()
        .filter(|(_, _, a, b)| a != b)
        .map(|(p, w, a, b)| format!("product {p} warehouse {w}: level {a}, movements {b}"))
        .collect::<Vec<_>>();
    let vals = tx
        .fetch_all(
            "SELECT v.product_id, v.quantity_e4, CAST(COALESCE(SUM(l.on_hand_e4), 0) AS BIGINT) AS levels FROM stock_valuations v \
             LEFT JOIN stock_levels l ON l.tenant_id = v.tenant_id AND l.product_id = v.product_id \
             WHERE v.tenant_id = $1 GROUP BY v.product_id, v.quantity_e4",
            args![tenant_id],
            |r| Ok((r.i64("product_id")?, r.i64("quantity_e4")?, r.i64("levels")?)),
        )
        .await?;
    out.extend(
        vals.into_iter()
            .filter(|(_, a, b)| a != b)
            .map(|(p, a, b)| format!("product {p}: valued {a}, in warehouses {b}")),
    );
    Ok(out)
}

/// Creates the stock document of another record's movements (a shipment),
/// with that record's public id, so each movement links to it. Returns its key.
pub(crate) async fn create_source_document(
    tx: &mut Tx,
    actor: &Actor,
    kind: &str,
    id: PublicId,
    warehouse: &Warehouse,
    reason: &str,
) -> StoreResult<i64> {
    let sql = format!(
        "INSERT INTO stock_documents (tenant_id, id, public_id, kind, warehouse_id, to_warehouse_id, reason, created_at, \
         created_by) VALUES ($1, {}, $2, $3, $4, NULL, $5, $6, $7) RETURNING id",
        tx.new_id_expr("stock_documents", "$1")
    );
    tx.fetch_one(sql, args![actor.tenant_id, id, kind, warehouse.key, reason, now(), actor.user_id], |r| r.i64("id"))
        .await
}

/// Posts one outgoing movement of `quantity` (positive: what leaves) at the
/// product's current average cost, refused beyond what is on hand unless the
/// warehouse allows negative stock. `field` names the input line in refusals.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn issue(
    tx: &mut Tx,
    actor: &Actor,
    product: &Product,
    warehouse: &Warehouse,
    quantity: i64,
    reason: &str,
    document_key: i64,
    field: String,
) -> StoreResult<()> {
    book(tx, actor, product, warehouse, -quantity, reason, document_key, field).await?;
    Ok(())
}

/// Posts one movement of another record's stock document: `quantity` signed
/// (+ in at the product's cost, revaluing the average, as an adjustment
/// does; − out at the current average cost, refused beyond what is on hand
/// unless the warehouse allows negative stock). Returns the movement's
/// value (minor units × 10,000 of the company currency, signed).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn book(
    tx: &mut Tx,
    actor: &Actor,
    product: &Product,
    warehouse: &Warehouse,
    quantity: i64,
    reason: &str,
    document_key: i64,
    field: String,
) -> StoreResult<i64> {
    let company = tenants::currency(tx, actor.tenant_id).await?;
    let posting = Posting {
        product,
        warehouse,
        quantity,
        unit_cost: None,
        revalue: true,
        reason,
        document_key: Some(document_key),
        field,
    };
    post(tx, actor, company, posting).await
}

/// Posts one incoming movement of `quantity` (positive) at `unit_cost`
/// (1/10,000 of the company currency's major unit), which moves the
/// product's moving-average cost (a receipt of goods bought). `field` names
/// the input line in refusals.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn receive(
    tx: &mut Tx,
    actor: &Actor,
    product: &Product,
    warehouse: &Warehouse,
    quantity: i64,
    unit_cost: i64,
    reason: &str,
    document_key: i64,
    field: String,
) -> StoreResult<()> {
    let company = tenants::currency(tx, actor.tenant_id).await?;
    let posting = Posting {
        product,
        warehouse,
        quantity,
        unit_cost: Some(unit_cost),
        revalue: true,
        reason,
        document_key: Some(document_key),
        field,
    };
    post(tx, actor, company, posting).await?;
    Ok(())
}

/// Records goods that pass through a warehouse's books without staying: one
/// incoming movement on `inbound` (a drop-ship receipt's stock document) and
/// one outgoing on `outbound` (its shipment's), both of `quantity` at
/// `unit_cost` (1/10,000 of the company currency's major unit) and of the
/// same value. On-hand and the product's valuation and average cost do not
/// change; the outgoing movement's value is the cost of goods sold.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn pass_through(
    tx: &mut Tx,
    actor: &Actor,
    product: &Product,
    warehouse: &Warehouse,
    quantity: i64,
    unit_cost: i64,
    (inbound, in_reason): (i64, &str),
    (outbound, out_reason): (i64, &str),
) -> StoreResult<()> {
    let company = tenants::currency(tx, actor.tenant_id).await?;
    let unit = cost_to_e4m(unit_cost, company);
    let value = nave_domain::stock::movement_value(quantity, unit)
        .map_err(|e| DomainError::invalid("quantity", e.to_string()))?;
    // The level row exists for the movements' warehouse, as after any posting.
    lock_level(tx, actor.tenant_id, product.key, warehouse.key).await?;
    insert_movement(tx, actor, product, warehouse, quantity, unit, value, in_reason, Some(inbound)).await?;
    insert_movement(tx, actor, product, warehouse, -quantity, unit, -value, out_reason, Some(outbound)).await
}
