//! Sales orders: converting quotes, confirming (credit limit, stock
//! reservations), cancelling, and the order desk's views of what is left.
//!
//! Rules decided here (also in the user guide):
//! - Only an accepted quote converts, to one sales order (confirmed at once)
//!   or one invoice (a draft). Converting again returns the document made the
//!   first time (a cancelled order or void invoice does not count). The quote
//!   itself is not changed.
//! - Confirming (draft → open) checks the account's credit limit with
//!   [`crate::credit::exposure`] before the order and the order's total as
//!   what it adds. A refusal is a conflict naming the limit, the exposure and
//!   the shortfall; a user with the override permission may confirm anyway
//!   with a reason, which is stored on the order (`credit_override`) and so in
//!   its audit entry. A reason given when the limit is not exceeded is not
//!   recorded.
//! - An order with goods or kits needs a warehouse to be confirmed. On
//!   confirm, every goods line reserves what is available (on hand − reserved)
//!   in that warehouse, up to what is left to ship; kits reserve their goods
//!   components (kit quantity × component quantity). What cannot be reserved
//!   is not: the order still confirms, and ships once stock arrives. A kit
//!   line's reserved quantity is the number of whole kits its component
//!   reservations cover.
//! - Cancelling (draft or open → cancelled) releases every reservation; what
//!   was shipped or invoiced stays as history. It is refused while a draft
//!   shipment of the order exists (cancel or delete that first).
//! - Left to ship: ordered − shipped on goods and kit lines (other lines do
//!   not ship). Left to invoice: under the order's policy for goods and kits
//!   (shipped or ordered, less invoiced); other lines (services, text,
//!   shipping charges) are invoiced on what was ordered.

use std::collections::{BTreeSet, HashMap};

use nave_domain::DomainError;
use nave_domain::document::{self as rules, DocAction, DocStatus, DocType, InvoicePolicy, LineLedger};
use nave_domain::ids::PublicId;
use nave_domain::money::format_minor;
use nave_domain::pricing::LineKind;
use nave_domain::stock::format_quantity;
use serde::Serialize;
use time::Date;

use crate::accounts::Visibility;
use crate::audit::Actor;
use crate::db::{Tx, now};
use crate::documents::{self, Document, HeaderInput, NewDocument};
use crate::page::{Cursor, Page, fetch_page};
use crate::{StoreResult, args, credit, expect_version};

// ---------------------------------------------------------------------------
// Stock parts of a line

/// One stocked product a line ships as: the product itself (goods) or one
/// goods component of a kit, with the units of it per unit of the line.
#[derive(Debug, Clone)]
pub(crate) struct Part {
    pub key: i64,
    pub id: PublicId,
    pub sku: String,
    /// Units per line unit, in 1/10,000.
    pub per: i64,
}

/// The product's kind (`goods`, `service`, `kit`).
pub(crate) async fn product_kind(tx: &mut Tx, tenant_id: i64, product: i64) -> StoreResult<String> {
    tx.fetch_one("SELECT kind FROM products WHERE tenant_id = $1 AND id = $2", args![tenant_id, product], |r| {
        r.text("kind")
    })
    .await
}

/// Whether a line ships: a product line of goods or a kit.
pub(crate) async fn ships(tx: &mut Tx, tenant_id: i64, kind: LineKind, product: Option<i64>) -> StoreResult<bool> {
    match (kind, product) {
        (LineKind::Product, Some(p)) => Ok(matches!(product_kind(tx, tenant_id, p).await?.as_str(), "goods" | "kit")),
        _ => Ok(false),
    }
}

/// What a unit of `product` takes from stock: itself (goods), its goods
/// components (kits), nothing (services).
pub(crate) async fn stock_parts(tx: &mut Tx, tenant_id: i64, product: i64) -> StoreResult<Vec<Part>> {
    let (kind, id, sku) = tx
        .fetch_one(
            "SELECT kind, public_id, sku FROM products WHERE tenant_id = $1 AND id = $2",
            args![tenant_id, product],
            |r| Ok((r.text("kind")?, PublicId::from_uuid(r.uuid("public_id")?), r.text("sku")?)),
        )
        .await?;
    match kind.as_str() {
        "goods" => Ok(vec![Part { key: product, id, sku, per: 10_000 }]),
        "kit" => {
            tx.fetch_all(
                "SELECT c.id, c.public_id, c.sku, pc.quantity_e4 FROM product_components pc \
                 JOIN products c ON c.tenant_id = pc.tenant_id AND c.id = pc.component_id \
                 WHERE pc.tenant_id = $1 AND pc.kit_id = $2 AND c.kind = 'goods' ORDER BY pc.position",
                args![tenant_id, product],
                |r| {
                    Ok(Part {
                        key: r.i64("id")?,
                        id: PublicId::from_uuid(r.uuid("public_id")?),
                        sku: r.text("sku")?,
                        per: r.i64("quantity_e4")?,
                    })
                },
            )
            .await
        }
        _ => Ok(vec![]),
    }
}

/// Units of a part for `qty` line units (both 1/10,000), rounded half away from zero.
pub(crate) fn part_qty(qty: i64, per: i64) -> i64 {
    let p = i128::from(qty) * i128::from(per);
    let q = (p.abs() + 5_000) / 10_000;
    i64::try_from(if p < 0 { -q } else { q }).unwrap_or(i64::MAX)
}

/// A line's reserved quantity from its parts' reservations: the line units
/// every part covers (whole units for kits), at most what is left to ship.
pub(crate) fn line_reserved(parts: &[Part], reserved: &HashMap<i64, i64>, left: i64) -> i64 {
    if parts.is_empty() {
        return 0;
    }
    let covered = parts
        .iter()
        .map(|p| {
            let r = reserved.get(&p.key).copied().unwrap_or(0);
            if p.per == 10_000 { r } else { (r * 10_000 / p.per.max(1)) / 10_000 * 10_000 }
        })
        .min()
        .unwrap_or(0);
    covered.clamp(0, left.max(0))
}

/// The reservations of one order line: product → (warehouse, quantity).
pub(crate) async fn line_reservations(tx: &mut Tx, tenant_id: i64, line: i64) -> StoreResult<HashMap<i64, (i64, i64)>> {
    Ok(tx
        .fetch_all(
            "SELECT product_id, warehouse_id, quantity_e4 FROM stock_reservations WHERE tenant_id = $1 AND line_id = $2",
            args![tenant_id, line],
            |r| Ok((r.i64("product_id")?, (r.i64("warehouse_id")?, r.i64("quantity_e4")?))),
        )
        .await?
        .into_iter()
        .collect())
}

/// Changes the reservation of `line` on `product` in `warehouse` by `delta`
/// (the level row must be locked by the caller), keeping the level's
/// reserved total in step. A reservation that reaches 0 is deleted.
pub(crate) async fn change_reservation(
    tx: &mut Tx,
    tenant_id: i64,
    line: i64,
    product: i64,
    warehouse: i64,
    delta: i64,
) -> StoreResult<()> {
    if delta == 0 {
        return Ok(());
    }
    let current = tx
        .fetch_optional(
            "SELECT quantity_e4 FROM stock_reservations WHERE tenant_id = $1 AND line_id = $2 AND product_id = $3",
            args![tenant_id, line, product],
            |r| r.i64("quantity_e4"),
        )
        .await?;
    let new = current.unwrap_or(0) + delta;
    match (current, new > 0) {
        (Some(_), true) => {
            tx.execute(
                "UPDATE stock_reservations SET quantity_e4 = $4 WHERE tenant_id = $1 AND line_id = $2 AND product_id = $3",
                args![tenant_id, line, product, new],
            )
            .await?;
        }
        (Some(_), false) => {
            tx.execute(
                "DELETE FROM stock_reservations WHERE tenant_id = $1 AND line_id = $2 AND product_id = $3",
                args![tenant_id, line, product],
            )
            .await?;
        }
        (None, true) => {
            tx.execute(
                "INSERT INTO stock_reservations (tenant_id, line_id, product_id, warehouse_id, quantity_e4) \
                 VALUES ($1, $2, $3, $4, $5)",
                args![tenant_id, line, product, warehouse, new],
            )
            .await?;
        }
        (None, false) => return Ok(()),
    }
    tx.execute(
        "UPDATE stock_levels SET reserved_e4 = reserved_e4 + $4, updated_at = $5 \
         WHERE tenant_id = $1 AND product_id = $2 AND warehouse_id = $3",
        args![tenant_id, product, warehouse, new.max(0) - current.unwrap_or(0), now()],
    )
    .await?;
    Ok(())
}

async fn store_reserved(tx: &mut Tx, tenant_id: i64, line: i64, reserved: i64) -> StoreResult<()> {
    tx.execute(
        "UPDATE document_lines SET qty_reserved_e4 = $3 WHERE tenant_id = $1 AND id = $2",
        args![tenant_id, line, reserved],
    )
    .await?;
    Ok(())
}

/// Reserves what is available for every line of an open order.
async fn reserve(tx: &mut Tx, tenant_id: i64, order: &Document, warehouse: i64) -> StoreResult<()> {
    let mut work = Vec::new();
    for l in order.lines() {
        let Some(p) = l.product_key.filter(|_| l.kind == LineKind::Product && !l.drop_ship) else { continue };
        let parts = stock_parts(tx, tenant_id, p).await?;
        if !parts.is_empty() {
            work.push((l.key, l.ledger.left_to_ship(), parts));
        }
    }
    // Lock the levels in one order (by product) so concurrent confirms never deadlock.
    let products: BTreeSet<i64> = work.iter().flat_map(|(_, _, ps)| ps.iter().map(|p| p.key)).collect();
    for p in &products {
        crate::stock::lock_level(tx, tenant_id, *p, warehouse).await?;
    }
    for (line, left, parts) in work {
        let existing = line_reservations(tx, tenant_id, line).await?;
        let mut held: HashMap<i64, i64> = HashMap::new();
        for part in &parts {
            let need = part_qty(left, part.per);
            let have = existing.get(&part.key).map_or(0, |(_, q)| *q);
            let (on_hand, reserved) = crate::stock::lock_level(tx, tenant_id, part.key, warehouse).await?;
            let take = (need - have).min((on_hand - reserved).max(0)).max(0);
            change_reservation(tx, tenant_id, line, part.key, warehouse, take).await?;
            held.insert(part.key, have + take);
        }
        store_reserved(tx, tenant_id, line, line_reserved(&parts, &held, left)).await?;
    }
    Ok(())
}

/// Releases every reservation of the order's lines.
async fn release_all(tx: &mut Tx, tenant_id: i64, order: &Document) -> StoreResult<()> {
    let rows = tx
        .fetch_all(
            "SELECT r.line_id, r.product_id, r.warehouse_id, r.quantity_e4 FROM stock_reservations r \
             JOIN document_lines l ON l.tenant_id = r.tenant_id AND l.id = r.line_id \
             WHERE r.tenant_id = $1 AND l.document_id = $2 ORDER BY r.product_id, r.warehouse_id",
            args![tenant_id, order.key],
            |r| Ok((r.i64("line_id")?, r.i64("product_id")?, r.i64("warehouse_id")?, r.i64("quantity_e4")?)),
        )
        .await?;
    for (line, product, warehouse, qty) in rows {
        crate::stock::lock_level(tx, tenant_id, product, warehouse).await?;
        change_reservation(tx, tenant_id, line, product, warehouse, -qty).await?;
    }
    tx.execute(
        "UPDATE document_lines SET qty_reserved_e4 = 0 WHERE tenant_id = $1 AND document_id = $2",
        args![tenant_id, order.key],
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Actions

/// Converts an accepted quote into one sales order (confirmed) or an invoice
/// (draft); returns whether it was created now, and the document. Converting
/// again returns the document made the first time.
pub async fn convert_quote(
    tx: &mut Tx,
    actor: &Actor,
    quote: &Document,
    if_version: Option<i64>,
    to: DocType,
    override_reason: Option<String>,
) -> StoreResult<(bool, Document)> {
    expect_version("quote", quote.version, if_version)?;
    if quote.doc_type != DocType::Quote || !matches!(to, DocType::SalesOrder | DocType::Invoice) {
        return Err(DomainError::Conflict("only a quote converts, to a sales order or an invoice".into()).into());
    }
    let t = actor.tenant_id;
    // The lock makes two conversions at once wait for each other: one creates, the other finds it.
    let locked = documents::lock_header(tx, t, quote.key).await?;
    expect_version("quote", locked.version, if_version)?;
    rules::transition(DocType::Quote, locked.status, DocAction::Convert)?;
    if let Some(existing) = documents::child_of(tx, t, quote.key, to).await? {
        return Ok((false, existing));
    }
    let header = HeaderInput {
        currency: Some(quote.currency),
        date: Some(now().date()),
        valid_until: Some(None),
        payment_terms_id: Some(quote.payment_terms_id),
        price_list_id: Some(quote.price_list_id),
        warehouse_id: None,
        invoice_policy: None,
        prices_include_tax: Some(quote.prices_include_tax),
        tax_rounding: Some(quote.tax_rounding),
        reference: Some(quote.reference.clone()),
        notes: Some(quote.notes.clone()),
        exchange_rate: None,
        deliver_to: None,
        external_ids: None,
    };
    let mut groups = documents::copy_content(quote, true);
    if to != DocType::SalesOrder {
        // Only an order drop-ships; an invoice made straight from the quote does not.
        groups.iter_mut().flat_map(|g| g.lines.iter_mut()).for_each(|l| l.drop_ship = None);
    }
    let new = NewDocument { doc_type: to, account_id: quote.account_id, header, groups, origin_key: Some(quote.key) };
    let doc = documents::create(tx, actor, new).await?;
    if to == DocType::SalesOrder {
        return Ok((true, confirm(tx, actor, &doc, None, override_reason).await?));
    }
    Ok((true, doc))
}

/// The credit-limit refusal, amounts formatted in the account currency.
fn credit_message(s: rules::CreditShortfall, order: &Document) -> String {
    let m = |v: i64| format!("{} {}", format_minor(v, order.currency), order.currency.code());
    format!(
        "credit limit {} exceeded: exposure would be {}, {} over; confirming {} needs the credit-limit override \
         permission and a reason (override_reason)",
        m(s.limit),
        m(s.exposure),
        m(s.shortfall),
        order.number.as_deref().unwrap_or("the order")
    )
}

/// Confirms a draft order: draft → open, after the credit-limit check, and
/// reserves its stock.
pub async fn confirm(
    tx: &mut Tx,
    actor: &Actor,
    order: &Document,
    if_version: Option<i64>,
    override_reason: Option<String>,
) -> StoreResult<Document> {
    expect_version("sales order", order.version, if_version)?;
    if order.doc_type != DocType::SalesOrder {
        return Err(DomainError::Conflict(format!("a {} is not confirmed", order.doc_type.label())).into());
    }
    let t = actor.tenant_id;
    let locked = documents::lock_header(tx, t, order.key).await?;
    expect_version("sales order", locked.version, Some(order.version))?;
    let status = rules::transition(DocType::SalesOrder, locked.status, DocAction::Confirm)?;
    if order.lines().all(|l| l.kind == LineKind::Comment) {
        return Err(DomainError::invalid("groups", "an order needs at least one line to be confirmed").into());
    }
    let mut stocked = false;
    for l in order.lines().filter(|l| !l.drop_ship) {
        stocked |= ships(tx, t, l.kind, l.product_key).await?;
    }
    if stocked && order.warehouse_key.is_none() {
        return Err(DomainError::invalid(
            "warehouse_id",
            "is required to confirm an order with goods: set the warehouse the order ships from",
        )
        .into());
    }
    let limit = credit::limit(tx, t, order.account_key).await?;
    let exposure = credit::exposure(tx, t, order.account_key).await?;
    let after = match rules::check_credit(limit, exposure, order.total_minor) {
        Ok(()) => documents::set_status(tx, actor, order, status, "", vec![]).await?,
        Err(short) => match override_reason {
            None => return Err(DomainError::Conflict(credit_message(short, order)).into()),
            Some(reason) => {
                documents::set_status(
                    tx,
                    actor,
                    order,
                    status,
                    "credit_override_reason = $1, credit_override_by = $2",
                    args![reason, actor.user_id],
                )
                .await?
            }
        },
    };
    if let Some(w) = after.warehouse_key.filter(|_| stocked) {
        reserve(tx, t, &after, w).await?;
    }
    crate::drop_ship::make_orders(tx, actor, &after).await?;
    documents::get_by_key(tx, t, order.key).await?.ok_or_else(|| DomainError::NotFound { record: "document" }.into())
}

/// Cancels a draft or open order, releasing its reservations.
pub async fn cancel(tx: &mut Tx, actor: &Actor, order: &Document, if_version: Option<i64>) -> StoreResult<Document> {
    expect_version("sales order", order.version, if_version)?;
    if order.doc_type != DocType::SalesOrder {
        return Err(DomainError::Conflict(format!("a {} is not cancelled", order.doc_type.label())).into());
    }
    let t = actor.tenant_id;
    let locked = documents::lock_header(tx, t, order.key).await?;
    expect_version("sales order", locked.version, Some(order.version))?;
    let status = rules::transition(DocType::SalesOrder, locked.status, DocAction::Cancel)?;
    let drafts = tx
        .fetch_all(
            "SELECT public_id FROM shipments WHERE tenant_id = $1 AND sales_order_id = $2 AND status = 'draft' ORDER BY id",
            args![t, order.key],
            |r| Ok(PublicId::from_uuid(r.uuid("public_id")?).to_string()),
        )
        .await?;
    if !drafts.is_empty() {
        return Err(DomainError::Conflict(format!(
            "the order has {} draft shipment(s) ({}); cancel or delete them before cancelling the order",
            drafts.len(),
            drafts.join(", ")
        ))
        .into());
    }
    crate::drop_ship::cancel_orders(tx, actor, order).await?;
    release_all(tx, t, order).await?;
    let after = documents::set_status(tx, actor, order, status, "", vec![]).await?;
    Ok(after)
}

// ---------------------------------------------------------------------------
// What is left

/// One order line's quantities for the order desk.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LineLeft {
    #[schema(value_type = String)]
    pub line_id: PublicId,
    #[schema(value_type = Option<String>)]
    pub product_id: Option<PublicId>,
    pub sku: Option<String>,
    pub description: String,
    /// Goods and kits ship; other lines do not.
    pub ships: bool,
    /// The supplier delivers it (receiving its purchase order ships it), not a warehouse.
    pub drop_ship: bool,
    pub ordered: String,
    pub reserved: String,
    pub shipped: String,
    pub invoiced: String,
    pub left_to_ship: String,
    /// Under the order's invoice policy (goods and kits), or on what was
    /// ordered (other lines).
    pub left_to_invoice: String,
}

/// What is left to ship and invoice on an order.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderLeft {
    #[schema(value_type = String)]
    pub sales_order_id: PublicId,
    pub number: Option<String>,
    #[schema(value_type = String)]
    pub status: DocStatus,
    #[schema(value_type = String)]
    pub invoice_policy: InvoicePolicy,
    pub lines: Vec<LineLeft>,
}

/// The order's lines (comments left out) with what is left on each.
pub async fn left(tx: &mut Tx, tenant_id: i64, order: &Document) -> StoreResult<OrderLeft> {
    let policy = order.invoice_policy.unwrap_or(InvoicePolicy::Shipped);
    let mut lines = Vec::new();
    for l in order.lines().filter(|l| l.kind != LineKind::Comment) {
        let ships = ships(tx, tenant_id, l.kind, l.product_key).await?;
        let g = l.ledger;
        lines.push(LineLeft {
            line_id: l.id,
            product_id: l.product_id,
            sku: l.sku.clone(),
            description: l.description.clone(),
            ships,
            drop_ship: l.drop_ship,
            ordered: format_quantity(g.ordered),
            reserved: format_quantity(g.reserved),
            shipped: format_quantity(g.shipped),
            invoiced: format_quantity(g.invoiced),
            left_to_ship: format_quantity(if ships { g.left_to_ship() } else { 0 }),
            left_to_invoice: format_quantity(g.left_to_invoice(if ships { policy } else { InvoicePolicy::Ordered })),
        });
    }
    Ok(OrderLeft {
        sales_order_id: order.id,
        number: order.number.clone(),
        status: order.status,
        invoice_policy: policy,
        lines,
    })
}

/// Which open orders the order desk lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeskView {
    /// Orders with goods or kits left to ship.
    ToShip,
    /// Orders with something left to invoice under their policy.
    ToInvoice,
}

/// One open order on the desk.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeskRow {
    #[serde(skip)]
    pub key: i64,
    #[schema(value_type = String)]
    pub id: PublicId,
    pub number: Option<String>,
    pub date: Date,
    #[schema(value_type = String)]
    pub account_id: PublicId,
    pub account_name: String,
    #[schema(value_type = String)]
    pub currency: nave_domain::money::Currency,
    pub total: String,
    #[schema(value_type = String)]
    pub invoice_policy: InvoicePolicy,
}

/// Open orders with something left to ship or invoice, oldest first by number
/// (newest first by id for paging), honoring record scope.
pub async fn desk(
    tx: &mut Tx,
    tenant_id: i64,
    view: DeskView,
    visibility: Visibility,
    cursor: Option<Cursor>,
    limit: i64,
) -> StoreResult<Page<DeskRow>> {
    let left = match view {
        // Drop-ship lines are the supplier's to deliver, not the warehouse's.
        DeskView::ToShip => {
            "l.kind = 'product' AND p.kind IN ('goods', 'kit') AND l.drop_ship = FALSE AND l.quantity_e4 > l.qty_shipped_e4"
        }
        DeskView::ToInvoice => {
            "l.kind <> 'comment' AND ((d.invoice_policy = 'shipped' AND p.kind IN ('goods', 'kit') \
             AND l.qty_shipped_e4 > l.qty_invoiced_e4) OR ((d.invoice_policy <> 'shipped' OR p.kind IS NULL \
             OR p.kind NOT IN ('goods', 'kit')) AND l.quantity_e4 > l.qty_invoiced_e4))"
        }
    };
    let mut sql = format!(
        "SELECT d.id, d.public_id, d.number, d.doc_date, d.account_name, d.currency, d.total_minor, d.invoice_policy, \
         a.public_id AS account_public_id FROM documents d JOIN accounts a ON a.tenant_id = d.tenant_id AND a.id = d.account_id \
         WHERE d.tenant_id = $1 AND d.doc_type = 'sales_order' AND d.status = 'open' AND EXISTS (SELECT 1 FROM document_lines l \
         LEFT JOIN products p ON p.tenant_id = l.tenant_id AND p.id = l.product_id \
         WHERE l.tenant_id = d.tenant_id AND l.document_id = d.id AND {left})"
    );
    let mut a = args![tenant_id];
    visibility.push_on("a.owner_id", "a.team_id", &mut sql, &mut a);
    if let Some(c) = cursor {
        crate::and_where(&mut sql, &mut a, "d.id < $?", c.0);
    }
    fetch_page(
        tx,
        sql,
        a,
        "d.id DESC",
        limit,
        |r| {
            let currency = nave_domain::money::Currency::parse(&r.text("currency")?)
                .map_err(|e| crate::StoreError::Decode(e.to_string()))?;
            Ok(DeskRow {
                key: r.i64("id")?,
                id: PublicId::from_uuid(r.uuid("public_id")?),
                number: r.opt_text("number")?,
                date: r
                    .opt_date("doc_date")?
                    .ok_or_else(|| crate::StoreError::Decode("order without a date".into()))?,
                account_id: PublicId::from_uuid(r.uuid("account_public_id")?),
                account_name: r.text("account_name")?,
                currency,
                total: format_minor(r.i64("total_minor")?, currency),
                invoice_policy: r
                    .opt_text("invoice_policy")?
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(InvoicePolicy::Shipped),
            })
        },
        |d| d.key,
    )
    .await
}

// ---------------------------------------------------------------------------
// Consistency

/// Checks every sales-order line against its sources: shipped = Σ lines of
/// done shipments, reserved = what its stock reservations cover, the ledger's
/// invariants hold, and each level's reserved total = Σ its reservations.
/// Returns the mismatches (for tests and the operator's consistency check).
pub async fn ledger_mismatches(tx: &mut Tx, tenant_id: i64) -> StoreResult<Vec<String>> {
    let lines = tx
        .fetch_all(
            "SELECT l.id, l.kind, l.product_id, l.quantity_e4, l.qty_reserved_e4, l.qty_shipped_e4, l.qty_invoiced_e4, \
             l.qty_credited_e4, d.status, CAST(COALESCE((SELECT SUM(sl.quantity_e4) FROM shipment_lines sl \
             JOIN shipments s ON s.tenant_id = sl.tenant_id AND s.id = sl.shipment_id \
             WHERE sl.tenant_id = l.tenant_id AND sl.order_line_id = l.id AND s.status = 'done'), 0) AS BIGINT) AS shipped \
             FROM document_lines l JOIN documents d ON d.tenant_id = l.tenant_id AND d.id = l.document_id \
             WHERE l.tenant_id = $1 AND d.doc_type = 'sales_order' ORDER BY l.id",
            args![tenant_id],
            |r| {
                Ok((
                    r.i64("id")?,
                    r.text("kind")?,
                    r.opt_i64("product_id")?,
                    LineLedger {
                        ordered: r.i64("quantity_e4")?,
                        reserved: r.i64("qty_reserved_e4")?,
                        shipped: r.i64("qty_shipped_e4")?,
                        invoiced: r.i64("qty_invoiced_e4")?,
                        credited: r.i64("qty_credited_e4")?,
                    },
                    r.text("status")?,
                    r.i64("shipped")?,
                ))
            },
        )
        .await?;
    let mut out = Vec::new();
    for (key, kind, product, g, status, shipped) in lines {
        if !g.holds() {
            out.push(format!("order line {key}: ledger breaks its invariants: {g:?}"));
        }
        if g.shipped != shipped {
            out.push(format!("order line {key}: shipped {}, done shipments {shipped}", g.shipped));
        }
        let res = line_reservations(tx, tenant_id, key).await?;
        if status != "open" && !res.is_empty() {
            out.push(format!("order line {key}: the order is {status} but still reserves stock"));
        }
        let parts = match product.filter(|_| kind == "product") {
            Some(p) => stock_parts(tx, tenant_id, p).await?,
            None => vec![],
        };
        let held: HashMap<i64, i64> = res.iter().map(|(p, (_, q))| (*p, *q)).collect();
        let expect = line_reserved(&parts, &held, g.left_to_ship());
        if g.reserved != expect {
            out.push(format!("order line {key}: reserved {}, reservations cover {expect}", g.reserved));
        }
        for (p, (_, q)) in &res {
            if let Some(part) = parts.iter().find(|x| x.key == *p)
                && *q > part_qty(g.left_to_ship(), part.per)
            {
                out.push(format!("order line {key}: reserves {q} of product {p}, more than is left to ship"));
            }
        }
    }
    let levels = tx
        .fetch_all(
            "SELECT l.product_id, l.warehouse_id, l.reserved_e4, CAST(COALESCE((SELECT SUM(r.quantity_e4) \
             FROM stock_reservations r WHERE r.tenant_id = l.tenant_id AND r.product_id = l.product_id \
             AND r.warehouse_id = l.warehouse_id), 0) AS BIGINT) AS held FROM stock_levels l WHERE l.tenant_id = $1",
            args![tenant_id],
            |r| Ok((r.i64("product_id")?, r.i64("warehouse_id")?, r.i64("reserved_e4")?, r.i64("held")?)),
        )
        .await?;
    out.extend(
        levels
            .into_iter()
            .filter(|(_, _, a, b)| a != b)
            .map(|(p, w, a, b)| format!("product {p} warehouse {w}: reserved {a}, reservations {b}")),
    );
    Ok(out)
}
