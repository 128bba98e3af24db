//! Drop shipping: the supplier delivers a sales-order line straight to the
//! customer.
//!
//! Rules decided here (also in the user guide):
//! - A quote or sales-order line of goods can be marked `drop_ship`; it is
//!   not reserved and no shipment from a warehouse takes it.
//! - Confirming the order makes one draft purchase order per preferred
//!   supplier (the one marked preferred, else the only one) for what is left
//!   to ship on its drop-ship lines, in the supplier's currency with the
//!   supplier's cost and code, delivered to the order's shipping address,
//!   each line linked to the order line it delivers. A drop-ship line whose
//!   product has no supplier refuses the confirmation, naming the line. The
//!   same step can be run again on an open order (`make_orders`): it orders
//!   only lines not already on a purchase order that is not cancelled.
//! - Receiving such a purchase order ships the linked order lines: a done
//!   shipment of what was received, the goods passing through the receipt's
//!   warehouse at the receipt's cost (in and out, so neither on-hand nor the
//!   average cost moves), which is the invoice's cost of goods sold.
//! - Cancelling the sales order cancels its drop-ship purchase orders that
//!   have nothing received or billed; one that has refuses the cancellation.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use nave_domain::DomainError;
use nave_domain::document::{DocAction, DocStatus, DocType};
use nave_domain::ids::PublicId;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::audit::Actor;
use crate::db::{Arg, Tx, bind};
use crate::documents::{self, Document, GroupInput, HeaderInput, LineInput, NewDocument};
use crate::{StoreResult, args, catalog};

/// A drop-ship purchase order as its sales order lists it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DropShipOrder {
    #[schema(value_type = String)]
    pub id: PublicId,
    /// Null while a draft.
    pub number: Option<String>,
    pub status: String,
    #[schema(value_type = String)]
    pub supplier_id: PublicId,
    pub supplier_name: String,
}

/// The sales order a drop-ship purchase order delivers for.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DropShipFor {
    #[schema(value_type = String)]
    pub sales_order_id: PublicId,
    pub sales_order_number: Option<String>,
    pub customer_name: String,
}

/// The purchase orders made for a sales order's drop-ship lines, oldest first.
pub async fn purchase_orders_of(tx: &mut Tx, tenant_id: i64, order_key: i64) -> StoreResult<Vec<DropShipOrder>> {
    tx.fetch_all(
        "SELECT DISTINCT d.id, d.public_id, d.number, d.status, a.public_id AS supplier_public_id, d.account_name \
         FROM drop_ship_lines x \
         JOIN document_lines sl ON sl.tenant_id = x.tenant_id AND sl.id = x.sales_line_id \
         JOIN document_lines pl ON pl.tenant_id = x.tenant_id AND pl.id = x.purchase_line_id \
         JOIN documents d ON d.tenant_id = pl.tenant_id AND d.id = pl.document_id \
         JOIN accounts a ON a.tenant_id = d.tenant_id AND a.id = d.account_id \
         WHERE x.tenant_id = $1 AND sl.document_id = $2 ORDER BY d.id",
        args![tenant_id, order_key],
        |r| {
            Ok(DropShipOrder {
                id: PublicId::from_uuid(r.uuid("public_id")?),
                number: r.opt_text("number")?,
                status: r.text("status")?,
                supplier_id: PublicId::from_uuid(r.uuid("supplier_public_id")?),
                supplier_name: r.text("account_name")?,
            })
        },
    )
    .await
}

/// The sales order a purchase order drop-ships for, if it does.
pub async fn sales_order_of(tx: &mut Tx, tenant_id: i64, purchase_key: i64) -> StoreResult<Option<DropShipFor>> {
    tx.fetch_optional(
        "SELECT d.public_id, d.number, d.account_name FROM document_lines pl \
         JOIN drop_ship_lines x ON x.tenant_id = pl.tenant_id AND x.purchase_line_id = pl.id \
         JOIN document_lines sl ON sl.tenant_id = x.tenant_id AND sl.id = x.sales_line_id \
         JOIN documents d ON d.tenant_id = sl.tenant_id AND d.id = sl.document_id \
         WHERE pl.tenant_id = $1 AND pl.document_id = $2 ORDER BY pl.position LIMIT 1",
        args![tenant_id, purchase_key],
        |r| {
            Ok(DropShipFor {
                sales_order_id: PublicId::from_uuid(r.uuid("public_id")?),
                sales_order_number: r.opt_text("number")?,
                customer_name: r.text("account_name")?,
            })
        },
    )
    .await
}

/// The order lines (keys) already on a purchase order that is not cancelled.
async fn ordered_lines(tx: &mut Tx, tenant_id: i64, order_key: i64) -> StoreResult<BTreeSet<i64>> {
    let rows = tx
        .fetch_all(
            "SELECT x.sales_line_id FROM drop_ship_lines x \
             JOIN document_lines sl ON sl.tenant_id = x.tenant_id AND sl.id = x.sales_line_id \
             JOIN document_lines pl ON pl.tenant_id = x.tenant_id AND pl.id = x.purchase_line_id \
             JOIN documents d ON d.tenant_id = pl.tenant_id AND d.id = pl.document_id \
             WHERE x.tenant_id = $1 AND sl.document_id = $2 AND d.status <> 'cancelled'",
            args![tenant_id, order_key],
            |r| r.i64("sales_line_id"),
        )
        .await?;
    Ok(rows.into_iter().collect())
}

/// Makes the draft purchase orders for an open order's drop-ship lines not
/// yet ordered (see the module rules). Returns the orders made.
pub async fn make_orders(tx: &mut Tx, actor: &Actor, order: &Document) -> StoreResult<Vec<Document>> {
    let t = actor.tenant_id;
    if order.doc_type != DocType::SalesOrder || order.status != DocStatus::Open {
        return Err(DomainError::Conflict(format!(
            "drop-ship purchase orders are made for open sales orders; {} is {}",
            order.number.as_deref().unwrap_or("the order"),
            order.status
        ))
        .into());
    }
    // Most orders have no drop-ship line: nothing to look up for them.
    if !order.lines().any(|l| l.drop_ship) {
        return Ok(vec![]);
    }
    let done = ordered_lines(tx, t, order.key).await?;
    let wanted: Vec<(String, &documents::Line)> = order
        .groups
        .iter()
        .enumerate()
        .flat_map(|(gi, g)| g.lines.iter().enumerate().map(move |(li, l)| (format!("groups[{gi}].lines[{li}]"), l)))
        .filter(|(_, l)| l.drop_ship && !done.contains(&l.key) && l.ledger.left_to_ship() > 0)
        .collect();
    if wanted.is_empty() {
        return Ok(vec![]);
    }
    let ids: Vec<PublicId> = wanted.iter().filter_map(|(_, l)| l.product_id).collect();
    let products = catalog::get_products(tx, t, &ids).await?;
    // Supplier → its lines, suppliers in a stable order.
    let mut by_supplier: BTreeMap<PublicId, Vec<(i64, PublicId, i64)>> = BTreeMap::new();
    for (field, l) in &wanted {
        let product =
            l.product_id.and_then(|id| products.get(&id)).ok_or(DomainError::NotFound { record: "product" })?;
        let supplier = product
            .suppliers
            .iter()
            .find(|s| s.preferred)
            .or(if product.suppliers.len() == 1 { product.suppliers.first() } else { None })
            .ok_or_else(|| {
                DomainError::invalid(
                    format!("{field}.drop_ship"),
                    format!(
                        "{} has no preferred supplier to deliver it: add one to the product's suppliers, or ship the \
                         line from stock",
                        product.sku
                    ),
                )
            })?;
        by_supplier.entry(supplier.supplier_id).or_default().push((l.key, product.id, l.ledger.left_to_ship()));
    }
    let number = order.number.clone().unwrap_or_default();
    let mut made = Vec::new();
    for (supplier, lines) in by_supplier {
        let header = HeaderInput {
            warehouse_id: order.warehouse_id.map(Some),
            notes: Some(format!("Drop-ship for sales order {number}: deliver to {}.", order.account_name)),
            deliver_to: order.shipping_address.clone(),
            ..Default::default()
        };
        let group = GroupInput {
            name: format!("Drop-ship {number}"),
            lines: lines
                .iter()
                .map(|&(_, product, qty)| LineInput {
                    product_id: Some(product),
                    quantity: Some(Decimal::new(qty, 4)),
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
        let po = documents::create(tx, actor, new).await?;
        let mut a: Vec<Arg> = Vec::new();
        let rows: Vec<String> = po
            .lines()
            .zip(&lines)
            .map(|(pl, &(sales_line, _, _))| format!("({})", bind(&mut a, args![t, pl.key, sales_line]).join(", ")))
            .collect();
        tx.execute(
            format!(
                "INSERT INTO drop_ship_lines (tenant_id, purchase_line_id, sales_line_id) VALUES {}",
                rows.join(", ")
            ),
            a,
        )
        .await?;
        made.push(po);
    }
    Ok(made)
}

/// The order line each of these purchase-order lines drop-ships, with its order: purchase line → (sales line, order).
pub(crate) async fn delivers(
    tx: &mut Tx,
    tenant_id: i64,
    purchase_lines: &[i64],
) -> StoreResult<HashMap<i64, (i64, i64)>> {
    if purchase_lines.is_empty() {
        return Ok(HashMap::new());
    }
    let mut a: Vec<Arg> = args![tenant_id];
    let marks = bind(&mut a, purchase_lines.iter().map(|k| Arg::from(*k)));
    let rows = tx
        .fetch_all(
            format!(
                "SELECT x.purchase_line_id, x.sales_line_id, sl.document_id FROM drop_ship_lines x \
                 JOIN document_lines sl ON sl.tenant_id = x.tenant_id AND sl.id = x.sales_line_id \
                 WHERE x.tenant_id = $1 AND x.purchase_line_id IN ({})",
                marks.join(", ")
            ),
            a,
            |r| Ok((r.i64("purchase_line_id")?, (r.i64("sales_line_id")?, r.i64("document_id")?))),
        )
        .await?;
    Ok(rows.into_iter().collect())
}

/// Cancels the drop-ship purchase orders of an order being cancelled; one
/// with anything received or billed refuses it.
pub(crate) async fn cancel_orders(tx: &mut Tx, actor: &Actor, order: &Document) -> StoreResult<()> {
    let t = actor.tenant_id;
    for po in purchase_orders_of(tx, t, order.key).await? {
        if po.status == "cancelled" {
            continue;
        }
        let doc = documents::get(tx, t, DocType::PurchaseOrder, po.id)
            .await?
            .ok_or(DomainError::NotFound { record: "purchase order" })?;
        if doc.lines().any(|l| l.ledger.shipped > 0 || l.ledger.invoiced > 0) || doc.status == DocStatus::Completed {
            return Err(DomainError::Conflict(format!(
                "drop-ship purchase order {} to {} has goods received or billed for this order: it cannot be \
                 cancelled",
                po.number.as_deref().unwrap_or("(draft)"),
                po.supplier_name
            ))
            .into());
        }
        crate::purchase::order_action(tx, actor, &doc, None, DocAction::Cancel).await?;
    }
    Ok(())
}
