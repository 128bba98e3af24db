//! The purchase side: purchase orders to suppliers, receipts of goods, and
//! bills made from them. All three are documents (ADR 0011): the same
//! groups, lines, pricing engine, numbering and per-line quantity ledger as
//! the sales side, where a purchase-order line's `qty_shipped_e4` counts what
//! was received and `qty_invoiced_e4` what was billed.
//!
//! Rules decided here (also in the user guide):
//! - A purchase order goes draft → sent → confirmed (or straight from draft
//!   to confirmed); it is cancelled only while nothing on it is received or
//!   billed. Once confirmed its status follows its lines
//!   (`nave_domain::document::purchase_status`).
//! - A receipt is made from a confirmed purchase order, into one warehouse
//!   (default: the order's), for all that is left to receive on its goods
//!   lines or the lines given. Several receipts per order. A draft receipt
//!   holds nothing; `receive` moves the quantities onto the order lines with
//!   the order and its lines locked (so two receipts at once never take more
//!   than was ordered), numbers the receipt, and posts one incoming stock
//!   movement per line at the line's unit cost — its taxable base ÷
//!   quantity, after every discount, tax excluded — converted to the company
//!   currency at the receipt's `exchange_rate`, which moves the product's
//!   moving-average cost. A receipt in another currency without a rate is
//!   refused, naming `exchange_rate`.
//! - A bill is made from a purchase order (what is received and not yet
//!   billed on goods lines — or ordered, with basis `ordered` — and what is
//!   ordered on other lines) or entered standalone. Billing more than was
//!   ordered is refused by the line ledger; the supplier's invoice number is
//!   kept in `reference`, used once per supplier, and required to issue.
//!   Issuing, due dates, voiding, bill credits and payments sent are the
//!   sales side's code (`billing`, `payments`) on these types.

use std::collections::{BTreeMap, HashSet};

use nave_domain::DomainError;
use nave_domain::document::{self as rules, DocAction, DocStatus, DocType};
use nave_domain::ids::PublicId;
use nave_domain::money::round_half_away;
use nave_domain::pricing::LineKind;
use nave_domain::stock::format_quantity;
use rust_decimal::Decimal;

use crate::audit::Actor;
use crate::billing::{check_origins, relock, remaining};
use crate::db::{Tx, now};
use crate::documents::{self, Document, GroupInput, HeaderInput, NewDocument};
use crate::{StoreResult, args, catalog, sequences, stock, tenants};

/// What a bill made from a purchase order takes on goods lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillBasis {
    /// Received and not yet billed (the default).
    Received,
    /// Ordered and not yet billed (prepayment, or billed before delivery).
    Ordered,
}

impl BillBasis {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "received" => Some(BillBasis::Received),
            "ordered" => Some(BillBasis::Ordered),
            _ => None,
        }
    }
}

/// `send`, `confirm` or `cancel` a purchase order.
pub async fn order_action(
    tx: &mut Tx,
    actor: &Actor,
    before: &Document,
    if_version: Option<i64>,
    action: DocAction,
) -> StoreResult<Document> {
    let t = actor.tenant_id;
    let po = relock(tx, t, before, if_version).await?;
    let status = rules::transition(DocType::PurchaseOrder, po.status, action)?;
    let number = po.number.clone().unwrap_or_default();
    if action == DocAction::Confirm && !po.lines().any(|l| l.kind != LineKind::Comment) {
        return Err(DomainError::invalid("groups", "a purchase order without lines cannot be confirmed").into());
    }
    if action == DocAction::Cancel {
        if let Some(l) = po.lines().find(|l| l.ledger.shipped > 0 || l.ledger.invoiced > 0) {
            return Err(DomainError::Conflict(format!(
                "purchase order {number} has {} received and {} billed on {}: only an order with nothing \
                 received or billed can be cancelled",
                format_quantity(l.ledger.shipped),
                format_quantity(l.ledger.invoiced),
                l.sku.as_deref().unwrap_or(&l.description)
            ))
            .into());
        }
        // Its draft receipts can no longer be received: delete them with it.
        let drafts = tx
            .scalar_i64(
                "SELECT COUNT(*) AS v FROM documents WHERE tenant_id = $1 AND origin_id = $2 AND status = 'draft'",
                args![t, po.key],
            )
            .await?;
        if drafts > 0 {
            return Err(DomainError::Conflict(format!(
                "purchase order {number} has {drafts} draft receipt(s) or bill(s): delete them first"
            ))
            .into());
        }
    }
    documents::set_status(tx, actor, &po, status, "", vec![]).await
}

fn not_open(po: &Document, what: &str) -> DomainError {
    DomainError::Conflict(format!(
        "the purchase order {} is {}: only confirmed orders are {what}",
        po.number.as_deref().unwrap_or(""),
        po.status
    ))
}

async fn load_order(tx: &mut Tx, t: i64, account_key: Option<i64>, id: PublicId) -> StoreResult<Document> {
    let po = documents::get(tx, t, DocType::PurchaseOrder, id)
        .await?
        .filter(|o| account_key.is_none_or(|a| o.account_key == a))
        .ok_or_else(|| {
            DomainError::invalid("purchase_order_id", "is not the id of a purchase order of this supplier")
        })?;
    Ok(po)
}

/// The keys of the order's lines that are received into stock (goods).
pub async fn goods_lines(tx: &mut Tx, t: i64, po: &Document) -> StoreResult<HashSet<i64>> {
    let mut out = HashSet::new();
    for l in po.lines() {
        if let (LineKind::Product, Some(p)) = (l.kind, l.product_key)
            && crate::orders::product_kind(tx, t, p).await? == "goods"
        {
            out.insert(l.key);
        }
    }
    Ok(out)
}

/// Header fields a receipt or bill made from `po` takes from it unless given.
fn from_order(po: &Document, mut header: HeaderInput) -> StoreResult<HeaderInput> {
    if header.currency.is_some_and(|c| c != po.currency) {
        return Err(DomainError::invalid(
            "currency",
            format!("must be the purchase order's currency {}", po.currency.code()),
        )
        .into());
    }
    header.currency = Some(po.currency);
    header.prices_include_tax.get_or_insert(po.prices_include_tax);
    header.tax_rounding.get_or_insert(po.tax_rounding);
    Ok(header)
}

/// A draft receipt of a confirmed purchase order of the supplier `account_key`.
pub async fn receipt_from_order(
    tx: &mut Tx,
    actor: &Actor,
    account_key: i64,
    order: PublicId,
    header: HeaderInput,
    groups: Option<Vec<GroupInput>>,
) -> StoreResult<Document> {
    let t = actor.tenant_id;
    let po = load_order(tx, t, Some(account_key), order).await?;
    if !rules::purchase_open(po.status) {
        return Err(not_open(&po, "received").into());
    }
    let goods = goods_lines(tx, t, &po).await?;
    let groups = match groups {
        Some(g) => {
            check_origins(&po, &g, "purchase order")?;
            g
        }
        None => {
            remaining(&po, |l| if goods.contains(&l.key) { l.ledger.left_to_ship() } else { 0 }).ok_or_else(|| {
                DomainError::Conflict(format!(
                    "nothing left to receive on purchase order {}: every goods line is received in full",
                    po.number.as_deref().unwrap_or("")
                ))
            })?
        }
    };
    let mut header = from_order(&po, header)?;
    header.payment_terms_id = Some(None);
    if header.warehouse_id.is_none() {
        header.warehouse_id = Some(po.warehouse_id);
    }
    let new =
        NewDocument { doc_type: DocType::Receipt, account_id: po.account_id, header, groups, origin_key: Some(po.key) };
    documents::create(tx, actor, new).await
}

/// A draft bill of a purchase order of the supplier `account_key`.
pub async fn bill_from_order(
    tx: &mut Tx,
    actor: &Actor,
    account_key: i64,
    order: PublicId,
    basis: BillBasis,
    header: HeaderInput,
    groups: Option<Vec<GroupInput>>,
) -> StoreResult<Document> {
    let t = actor.tenant_id;
    let po = load_order(tx, t, Some(account_key), order).await?;
    if !rules::purchase_open(po.status) {
        return Err(not_open(&po, "billed").into());
    }
    let goods = goods_lines(tx, t, &po).await?;
    let groups = match groups {
        Some(g) => {
            check_origins(&po, &g, "purchase order")?;
            g
        }
        None => remaining(&po, |l| {
            let base = if goods.contains(&l.key) && basis == BillBasis::Received {
                l.ledger.shipped
            } else {
                l.ledger.ordered
            };
            (base - l.ledger.invoiced).max(0)
        })
        .ok_or_else(|| {
            DomainError::Conflict(format!(
                "nothing left to bill on purchase order {}: every line is billed up to what was {}",
                po.number.as_deref().unwrap_or(""),
                if basis == BillBasis::Received { "received" } else { "ordered" }
            ))
        })?,
    };
    let mut header = from_order(&po, header)?;
    header.payment_terms_id.get_or_insert(po.payment_terms_id);
    let new =
        NewDocument { doc_type: DocType::Bill, account_id: po.account_id, header, groups, origin_key: Some(po.key) };
    documents::create(tx, actor, new).await
}

/// The unit cost of a receipt line in 1/10,000 of the company currency's
/// major unit: taxable base ÷ quantity in the document currency, × rate.
fn unit_cost(base_minor: i64, qty_e4: i64, doc_minor_units: u32, rate_e8: i64) -> i64 {
    if qty_e4 <= 0 {
        return 0;
    }
    let base_major = Decimal::from(base_minor) / Decimal::from(10i64.pow(doc_minor_units));
    let qty = Decimal::new(qty_e4, 4);
    let rate = Decimal::new(rate_e8, 8);
    let cost = round_half_away(base_major / qty * rate * Decimal::from(10_000), 0);
    i64::try_from(cost).unwrap_or(i64::MAX)
}

/// Receives a draft receipt: its quantities move onto the purchase-order
/// lines (refused beyond what is left), the goods come into stock at their
/// cost in the company currency, and the receipt gets its number.
pub async fn receive(tx: &mut Tx, actor: &Actor, before: &Document, if_version: Option<i64>) -> StoreResult<Document> {
    let t = actor.tenant_id;
    crate::expect_version("receipt", before.version, if_version)?;
    let Some(po_key) = before.origin_key else {
        return Err(DomainError::Conflict("a receipt is received against a purchase order".into()).into());
    };
    // Drop-shipped lines ship their customers' orders: those orders' headers
    // are locked first, as every shipment locks its order before anything else.
    let origins: Vec<i64> = before.lines().filter_map(|l| l.origin_key).collect();
    let delivers = crate::drop_ship::delivers(tx, t, &origins).await?;
    for order in delivers.values().map(|d| d.1).collect::<std::collections::BTreeSet<_>>() {
        documents::lock_header(tx, t, order).await?;
    }
    // Then the purchase order: every writer of its lines queues here.
    let po = documents::lock_header(tx, t, po_key).await?;
    let rc = relock(tx, t, before, None).await?;
    rules::transition(DocType::Receipt, rc.status, DocAction::Receive)?;
    if !rules::purchase_open(po.status) {
        return Err(not_open(&po, "received").into());
    }
    let company = tenants::currency(tx, t).await?;
    let rate_e8 = if rc.currency == company {
        100_000_000
    } else {
        rc.exchange_rate_e8.ok_or_else(|| {
            DomainError::invalid(
                "exchange_rate",
                format!(
                    "is required: the receipt is in {} and stock is valued in {} (give the {} per 1 {})",
                    rc.currency.code(),
                    company.code(),
                    company.code(),
                    rc.currency.code()
                ),
            )
        })?
    };
    let warehouse_key =
        rc.warehouse_key.ok_or_else(|| DomainError::invalid("warehouse_id", "is required to receive"))?;
    let warehouse = crate::shipments::warehouse_by_key(tx, t, warehouse_key).await?;
    // Check every line, then lock the order lines in key order.
    let mut moves = Vec::new();
    for (gi, g) in rc.groups.iter().enumerate() {
        for (li, l) in g.lines.iter().enumerate() {
            if l.kind == LineKind::Comment {
                continue;
            }
            let field = format!("groups[{gi}].lines[{li}]");
            let (Some(origin), Some(product)) = (l.origin_key, l.product_id) else {
                return Err(DomainError::invalid(
                    format!("{field}.origin_line_id"),
                    "a receipt line receives a goods line of its purchase order",
                )
                .into());
            };
            moves.push((field, origin, product, l.quantity_e4, l.taxable_base_minor));
        }
    }
    if moves.is_empty() {
        return Err(DomainError::invalid("groups", "the receipt has no lines to receive").into());
    }
    let origins: Vec<i64> = moves.iter().map(|m| m.1).collect();
    let mut ledgers = BTreeMap::new();
    for (origin, line) in documents::lock_lines(tx, t, &origins).await? {
        if line.document_key != po.key {
            return Err(DomainError::invalid("groups", "every line must come from the receipt's purchase order").into());
        }
        ledgers.insert(origin, line.ledger);
    }
    let tolerance = crate::company::receiving_tolerance_e1(tx, t).await?;
    for (field, origin, _, qty, _) in &moves {
        let g = ledgers.get_mut(origin).ok_or(DomainError::NotFound { record: "purchase order line" })?;
        let ordered = g.ordered;
        g.receive(*qty, crate::company::allowance(ordered, tolerance))
            .map_err(|e| documents::over_ordered(&format!("{field}.quantity"), "receive", &e, ordered, tolerance))?;
    }
    let number = sequences::next_number(tx, t, DocType::Receipt.as_str(), rc.date.year()).await?;
    let reason = format!("receipt {number}");
    let doc_key = stock::create_source_document(tx, actor, "receipt", rc.id, &warehouse, &reason).await?;
    // Products in key order, so two receipts lock stock rows in the same order.
    let mut posts = Vec::new();
    let mut delivered: BTreeMap<i64, Vec<crate::shipments::Delivered>> = BTreeMap::new();
    for (field, origin, product_id, qty, base) in &moves {
        let product =
            catalog::get_product_row(tx, t, *product_id).await?.ok_or(DomainError::NotFound { record: "product" })?;
        let cost = unit_cost(*base, *qty, rc.currency.minor_units(), rate_e8);
        match delivers.get(origin) {
            Some(&(order_line_key, order)) => delivered.entry(order).or_default().push(crate::shipments::Delivered {
                order_line_key,
                product,
                quantity: *qty,
                unit_cost: cost,
                field: field.clone(),
            }),
            None => posts.push((product, field.clone(), *qty, cost)),
        }
    }
    posts.sort_by_key(|p| p.0.key);
    for (product, field, qty, cost) in posts {
        stock::receive(tx, actor, &product, &warehouse, qty, cost, &reason, doc_key, field).await?;
    }
    // What the supplier delivered to customers ships their orders.
    for (order, mut lines) in delivered {
        lines.sort_by_key(|d| d.product.key);
        crate::shipments::ship_delivered(tx, actor, order, &warehouse, (doc_key, &reason), rc.date, lines).await?;
    }
    for (key, g) in &ledgers {
        tx.execute(
            "UPDATE document_lines SET qty_shipped_e4 = $3 WHERE tenant_id = $1 AND id = $2",
            args![t, *key, g.shipped],
        )
        .await?;
    }
    tx.execute(
        "UPDATE documents SET number = $3, issued_at = $4 WHERE tenant_id = $1 AND id = $2",
        args![t, rc.key, number, now()],
    )
    .await?;
    let done = documents::set_status(tx, actor, &rc, DocStatus::Done, "", vec![]).await?;
    documents::refresh_purchase_status(tx, t, po.key).await?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receipt_line_costs_its_taxable_base_per_unit_at_the_rate() {
        // 4 units for 40.00 USD at 0.9 EUR per USD: 9.00 EUR a unit.
        assert_eq!(unit_cost(4000, 40_000, 2, 90_000_000), 90_000);
        // Same currency: the base per unit.
        assert_eq!(unit_cost(1000, 30_000, 2, 100_000_000), 33_333);
        assert_eq!(unit_cost(0, 0, 2, 100_000_000), 0);
    }
}

// ---------------------------------------------------------------------------
// Reorder points and suggestions

/// One product below its minimum in one warehouse.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ReorderLine {
    #[serde(skip)]
    pub product_key: i64,
    #[serde(skip)]
    pub warehouse_key: i64,
    #[serde(skip)]
    pub suggested_e4: i64,
    #[schema(value_type = String)]
    pub product_id: PublicId,
    pub sku: String,
    pub name: String,
    #[schema(value_type = String)]
    pub warehouse_id: PublicId,
    pub warehouse_name: String,
    pub minimum: String,
    pub on_hand: String,
    pub reserved: String,
    /// Ordered from suppliers and not yet received (draft, sent and confirmed orders into this warehouse).
    pub on_order: String,
    /// on hand − reserved + on order.
    pub available: String,
    /// minimum − available, at least the supplier's minimum order quantity.
    pub suggested_quantity: String,
    /// The preferred supplier's code for the product.
    pub supplier_code: Option<String>,
}

/// The suggestions for one preferred supplier (none: products without one).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ReorderGroup {
    #[serde(skip)]
    pub supplier_key: Option<i64>,
    #[schema(value_type = Option<String>)]
    pub supplier_id: Option<PublicId>,
    pub supplier_name: Option<String>,
    pub lines: Vec<ReorderLine>,
}

/// Products whose available stock in a warehouse is below its minimum,
/// grouped by preferred supplier (the one marked preferred, else the only
/// one), suppliers by name, products without a supplier last.
pub async fn reorder_suggestions(
    tx: &mut Tx,
    tenant_id: i64,
    warehouse_key: Option<i64>,
) -> StoreResult<Vec<ReorderGroup>> {
    let mut a = args![tenant_id];
    let mut filter = String::new();
    if let Some(w) = warehouse_key {
        a.push(w.into());
        filter = format!(" AND m.warehouse_id = ${}", a.len());
    }
    let sql = format!(
        "SELECT m.product_id, m.warehouse_id, m.min_quantity_e4, p.public_id AS product_public_id, p.sku, p.name, \
         w.public_id AS warehouse_public_id, w.name AS warehouse_name, \
         COALESCE(l.on_hand_e4, 0) AS on_hand, COALESCE(l.reserved_e4, 0) AS reserved, \
         COALESCE((SELECT CAST(SUM(CASE WHEN dl.quantity_e4 > dl.qty_shipped_e4 THEN dl.quantity_e4 - dl.qty_shipped_e4 \
           ELSE 0 END) AS BIGINT) FROM document_lines dl JOIN documents d ON d.tenant_id = dl.tenant_id \
           AND d.id = dl.document_id WHERE dl.tenant_id = m.tenant_id AND dl.product_id = m.product_id \
           AND d.doc_type = 'purchase_order' AND d.warehouse_id = m.warehouse_id \
           AND d.status IN ('draft', 'sent', 'confirmed', 'part_received', 'part_billed', 'billed')), 0) AS on_order, \
         s.supplier_id, s.supplier_code, s.min_quantity_e4 AS supplier_min, sa.public_id AS supplier_public_id, \
         sa.name AS supplier_name \
         FROM stock_minimums m \
         JOIN products p ON p.tenant_id = m.tenant_id AND p.id = m.product_id \
         JOIN warehouses w ON w.tenant_id = m.tenant_id AND w.id = m.warehouse_id \
         LEFT JOIN stock_levels l ON l.tenant_id = m.tenant_id AND l.product_id = m.product_id \
           AND l.warehouse_id = m.warehouse_id \
         LEFT JOIN product_suppliers s ON s.tenant_id = m.tenant_id AND s.product_id = m.product_id \
           AND (s.preferred = TRUE OR (SELECT COUNT(*) FROM product_suppliers o WHERE o.tenant_id = s.tenant_id \
           AND o.product_id = s.product_id) = 1) \
         LEFT JOIN accounts sa ON sa.tenant_id = s.tenant_id AND sa.id = s.supplier_id \
         WHERE m.tenant_id = $1 AND p.active = TRUE{filter} ORDER BY sa.name, p.sku, w.name"
    );
    let rows = tx
        .fetch_all(sql, a, |r| {
            let min = r.i64("min_quantity_e4")?;
            let (on_hand, reserved, on_order) = (r.i64("on_hand")?, r.i64("reserved")?, r.i64("on_order")?);
            let available = on_hand - reserved + on_order;
            let suggested = (min - available).max(r.opt_i64("supplier_min")?.unwrap_or(0));
            Ok((
                available < min,
                r.opt_i64("supplier_id")?,
                r.opt_uuid("supplier_public_id")?.map(PublicId::from_uuid),
                r.opt_text("supplier_name")?,
                ReorderLine {
                    product_key: r.i64("product_id")?,
                    warehouse_key: r.i64("warehouse_id")?,
                    suggested_e4: suggested,
                    product_id: PublicId::from_uuid(r.uuid("product_public_id")?),
                    sku: r.text("sku")?,
                    name: r.text("name")?,
                    warehouse_id: PublicId::from_uuid(r.uuid("warehouse_public_id")?),
                    warehouse_name: r.text("warehouse_name")?,
                    minimum: format_quantity(min),
                    on_hand: format_quantity(on_hand),
                    reserved: format_quantity(reserved),
                    on_order: format_quantity(on_order),
                    available: format_quantity(available),
                    suggested_quantity: format_quantity(suggested),
                    supplier_code: r.opt_text("supplier_code")?,
                },
            ))
        })
        .await?;
    let mut groups: Vec<ReorderGroup> = Vec::new();
    for (below, supplier_key, supplier_id, supplier_name, line) in rows {
        if !below {
            continue;
        }
        match groups.iter_mut().find(|g| g.supplier_key == supplier_key) {
            Some(g) => g.lines.push(line),
            None => groups.push(ReorderGroup { supplier_key, supplier_id, supplier_name, lines: vec![line] }),
        }
    }
    groups.sort_by_key(|g| g.supplier_key.is_none());
    Ok(groups)
}

/// Sets (or, with 0, removes) the minimum available quantity of a product in a warehouse.
pub async fn set_minimum(
    tx: &mut Tx,
    actor: &Actor,
    product: &catalog::Product,
    warehouse: &catalog::Warehouse,
    min_e4: i64,
) -> StoreResult<()> {
    let t = actor.tenant_id;
    if min_e4 < 0 {
        return Err(DomainError::invalid("min_quantity", "must be 0 (no minimum) or more").into());
    }
    tx.execute(
        "DELETE FROM stock_minimums WHERE tenant_id = $1 AND product_id = $2 AND warehouse_id = $3",
        args![t, product.key, warehouse.key],
    )
    .await?;
    if min_e4 > 0 {
        tx.execute(
            "INSERT INTO stock_minimums (tenant_id, product_id, warehouse_id, min_quantity_e4, updated_at) \
             VALUES ($1, $2, $3, $4, $5)",
            args![t, product.key, warehouse.key, min_e4, now()],
        )
        .await?;
    }
    let record = serde_json::json!({
        "product_id": product.id, "warehouse_id": warehouse.id, "min_quantity": format_quantity(min_e4)
    });
    crate::audit::created(tx, actor, nave_domain::access::RecordType::Stock, product.id, &record).await
}

/// Turns the suggestions into draft purchase orders: one per preferred
/// supplier and warehouse, in the supplier's currency, with the supplier's
/// costs and codes as line defaults. Products without a supplier are left
/// out. Returns the orders made.
pub async fn order_suggestions(tx: &mut Tx, actor: &Actor, warehouse_key: Option<i64>) -> StoreResult<Vec<Document>> {
    let t = actor.tenant_id;
    let groups = reorder_suggestions(tx, t, warehouse_key).await?;
    let mut out = Vec::new();
    for g in groups {
        let Some(supplier) = g.supplier_id else { continue };
        let mut by_warehouse: BTreeMap<i64, Vec<&ReorderLine>> = BTreeMap::new();
        for l in &g.lines {
            by_warehouse.entry(l.warehouse_key).or_default().push(l);
        }
        for lines in by_warehouse.values() {
            let header = HeaderInput { warehouse_id: Some(Some(lines[0].warehouse_id)), ..Default::default() };
            let group = GroupInput {
                lines: lines
                    .iter()
                    .map(|l| documents::LineInput {
                        product_id: Some(l.product_id),
                        quantity: Some(Decimal::new(l.suggested_e4, 4)),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            };
            let new = NewDocument {
                doc_type: DocType::PurchaseOrder,
                account_id: supplier,
                header,
                groups: vec![group],
                origin_key: None,
            };
            out.push(documents::create(tx, actor, new).await?);
        }
    }
    Ok(out)
}

/// One minimum as set: a product's reorder point in a warehouse.
#[derive(Debug, Clone)]
pub struct Minimum {
    pub product_id: PublicId,
    pub sku: String,
    pub name: String,
    pub warehouse_id: PublicId,
    pub warehouse_name: String,
    pub min_e4: i64,
}

/// The minimums set, by product SKU then warehouse name (one warehouse's with `warehouse_key`).
pub async fn minimums(tx: &mut Tx, tenant_id: i64, warehouse_key: Option<i64>) -> StoreResult<Vec<Minimum>> {
    let mut a = args![tenant_id];
    let mut filter = String::new();
    if let Some(w) = warehouse_key {
        a.push(w.into());
        filter = format!(" AND m.warehouse_id = ${}", a.len());
    }
    let sql = format!(
        "SELECT p.public_id AS product_public_id, p.sku, p.name, w.public_id AS warehouse_public_id, \
         w.name AS warehouse_name, m.min_quantity_e4 FROM stock_minimums m \
         JOIN products p ON p.tenant_id = m.tenant_id AND p.id = m.product_id \
         JOIN warehouses w ON w.tenant_id = m.tenant_id AND w.id = m.warehouse_id \
         WHERE m.tenant_id = $1{filter} ORDER BY p.sku, w.name"
    );
    tx.fetch_all(sql, a, |r| {
        Ok(Minimum {
            product_id: PublicId::from_uuid(r.uuid("product_public_id")?),
            sku: r.text("sku")?,
            name: r.text("name")?,
            warehouse_id: PublicId::from_uuid(r.uuid("warehouse_public_id")?),
            warehouse_name: r.text("warehouse_name")?,
            min_e4: r.i64("min_quantity_e4")?,
        })
    })
    .await
}
