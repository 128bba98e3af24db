//! Invoices and credit notes: made from orders and invoices, issued with
//! their number and due dates, voided; and how payments and credits settle
//! them (the settlement itself is shared with [`crate::payments`]).
//!
//! Rules this module keeps (DOMAIN.md "Lifecycles", "Numbering", "Credit
//! limit", "Payment terms"):
//!
//! - An invoice made from a sales order takes, with no lines given, what is
//!   left to invoice on each order line under the order's invoice policy
//!   (shipped − invoiced, or ordered − invoiced), keeping the order's groups,
//!   group discounts and snapshot prices. A fixed line discount amount is
//!   spread pro rata over the quantity taken. The order must be open or
//!   completed; lines given by the caller must come from that order.
//! - A credit note made from an invoice takes, with no lines given, every
//!   line's quantity not yet credited. The invoice must be issued, part paid
//!   or paid.
//! - Issuing (draft → issued) takes the number from the type's sequence in
//!   the issuing transaction (gapless: a rolled-back issue gives its number
//!   back), fixes the due dates from the payment terms (no terms: due on the
//!   document date) and sets the balance to the total. A document without
//!   billable lines is refused (422 on `groups`), and so is a negative total
//!   (correct with a credit note instead); a zero total is allowed (a free
//!   replacement is still an invoice) and stays `issued` with nothing owed.
//! - The credit limit is checked when issuing an invoice that was not made
//!   from a sales order (an order's value was checked when it was confirmed
//!   and already counts in the exposure). The account row is locked for the
//!   check so two invoices issued at once cannot both slip under the limit.
//!   An override needs a reason and is recorded on the invoice.
//! - Issuing a credit note made from an invoice applies it to that invoice
//!   straight away, up to the invoice's balance; what is left can be applied
//!   to other invoices of the account or refunded.
//! - Voiding is allowed only while nothing is allocated to (or applied from)
//!   the document; it gives back the quantities its lines held on their
//!   origins. The number stays used: a void invoice is kept, never deleted.

use nave_domain::DomainError;
use nave_domain::document::{self as rules, DocAction, DocStatus, DocType, InvoicePolicy};
use nave_domain::ids::PublicId;
use nave_domain::money::{Money, format_minor};
use nave_domain::pricing::LineKind;
use rust_decimal::Decimal;

use crate::audit::Actor;
use crate::db::{Tx, now};
use crate::documents::{self, Document, GroupInput, HeaderInput, NewDocument};
use crate::{StoreResult, args, expect_version, sequences};

fn e4(q: i64) -> Decimal {
    Decimal::new(q, 4)
}

/// Header defaults a document made from `origin` inherits unless given:
/// the currency is always the origin's.
pub(crate) fn inherit_header(origin: &Document, mut header: HeaderInput) -> StoreResult<HeaderInput> {
    if header.currency.is_some_and(|c| c != origin.currency) {
        return Err(DomainError::invalid(
            "currency",
            format!("must be the {}'s currency {}", origin.doc_type.label(), origin.currency.code()),
        )
        .into());
    }
    header.currency = Some(origin.currency);
    header.payment_terms_id.get_or_insert(origin.payment_terms_id);
    header.price_list_id.get_or_insert(origin.price_list_id);
    header.prices_include_tax.get_or_insert(origin.prices_include_tax);
    header.tax_rounding.get_or_insert(origin.tax_rounding);
    header.reference.get_or_insert(origin.reference.clone());
    Ok(header)
}

/// Checks that every line given that names an origin names a line of `origin`.
pub(crate) fn check_origins(origin: &Document, groups: &[GroupInput], what: &str) -> StoreResult<()> {
    for (gi, g) in groups.iter().enumerate() {
        for (li, l) in g.lines.iter().enumerate() {
            if let Some(o) = l.origin_line_id
                && !origin.lines().any(|x| x.id == o)
            {
                return Err(DomainError::invalid(
                    format!("groups[{gi}].lines[{li}].origin_line_id"),
                    format!("is not a line of {what} {}", origin.number.as_deref().unwrap_or("(draft)")),
                )
                .into());
            }
        }
    }
    Ok(())
}

/// The groups of `origin` with each line's quantity replaced by `left(line)`;
/// lines with nothing left are dropped, comments kept (without an origin)
/// only in groups that still bill something. `None` when nothing is left.
pub(crate) fn remaining(origin: &Document, left: impl Fn(&documents::Line) -> i64) -> Option<Vec<GroupInput>> {
    let groups: Vec<GroupInput> = origin
        .groups
        .iter()
        .filter_map(|g| {
            let mut billable = false;
            let lines = g
                .lines
                .iter()
                .filter_map(|l| {
                    if l.kind == LineKind::Comment {
                        return Some(documents::line_as_input(l, None));
                    }
                    let q = left(l);
                    if q <= 0 {
                        return None;
                    }
                    billable = true;
                    let mut input = documents::line_as_input(l, Some(l.id));
                    // A fixed discount follows the share of the quantity taken.
                    if let Some(d) = input.discount_amount.filter(|d| !d.is_zero())
                        && q != l.quantity_e4
                        && l.quantity_e4 > 0
                    {
                        let share = d * e4(q) / e4(l.quantity_e4);
                        input.discount_amount = Some(share.round_dp(origin.currency.minor_units()));
                    }
                    input.quantity = Some(e4(q));
                    Some(input)
                })
                .collect();
            billable.then(|| GroupInput {
                name: g.name.clone(),
                discount_percent: g.discount_percent.parse().ok(),
                show_subtotal: g.show_subtotal,
                lines,
            })
        })
        .collect();
    (!groups.is_empty()).then_some(groups)
}

/// The groups of `origin` taking of each line the quantity `chosen` gives
/// (1/10,000; lines not named or at 0 are left out), in the form
/// `invoice_from_order` and `credit_from_invoice` take them: for the pages
/// that pick lines and quantities. `None` when nothing is chosen.
pub fn chosen_lines(origin: &Document, chosen: &std::collections::HashMap<PublicId, i64>) -> Option<Vec<GroupInput>> {
    remaining(origin, |l| chosen.get(&l.id).copied().unwrap_or(0))
}

/// A draft invoice for a sales order of the account `account_key`.
pub async fn invoice_from_order(
    tx: &mut Tx,
    actor: &Actor,
    account_key: i64,
    order: PublicId,
    header: HeaderInput,
    groups: Option<Vec<GroupInput>>,
) -> StoreResult<Document> {
    let t = actor.tenant_id;
    let order = documents::get(tx, t, DocType::SalesOrder, order)
        .await?
        .filter(|o| o.account_key == account_key)
        .ok_or_else(|| DomainError::invalid("sales_order_id", "is not the id of a sales order of this account"))?;
    if !matches!(order.status, DocStatus::Open | DocStatus::Completed) {
        return Err(DomainError::Conflict(format!(
            "the sales order {} is {}: only open or completed orders are invoiced",
            order.number.as_deref().unwrap_or(""),
            order.status
        ))
        .into());
    }
    let groups = match groups {
        Some(g) => {
            check_origins(&order, &g, "sales order")?;
            g
        }
        None => {
            let policy = order.invoice_policy.unwrap_or(InvoicePolicy::Shipped);
            // Lines that never ship (services, text, shipping charges) are
            // invoiced on what was ordered, as the order desk's view shows.
            let mut shipping = std::collections::HashSet::new();
            for l in order.lines() {
                if crate::orders::ships(tx, actor.tenant_id, l.kind, l.product_key).await? {
                    shipping.insert(l.key);
                }
            }
            remaining(&order, |l| {
                l.ledger.left_to_invoice(if shipping.contains(&l.key) { policy } else { InvoicePolicy::Ordered })
            })
            .ok_or_else(|| {
                DomainError::Conflict(format!(
                    "nothing left to invoice on sales order {}: every line is invoiced up to what was {}",
                    order.number.as_deref().unwrap_or(""),
                    policy
                ))
            })?
        }
    };
    let header = inherit_header(&order, header)?;
    let new = NewDocument {
        doc_type: DocType::Invoice,
        account_id: order.account_id,
        header,
        groups,
        origin_key: Some(order.key),
    };
    documents::create(tx, actor, new).await
}

/// A draft credit note for an invoice of the account `account_key`.
pub async fn credit_from_invoice(
    tx: &mut Tx,
    actor: &Actor,
    account_key: i64,
    invoice: PublicId,
    header: HeaderInput,
    groups: Option<Vec<GroupInput>>,
) -> StoreResult<Document> {
    credit_from(tx, actor, DocType::CreditNote, account_key, invoice, header, groups).await
}

/// A draft credit note (or bill credit) for an invoice (or bill) of the
/// account `account_key`: with no lines given, every line's quantity not yet
/// credited.
pub async fn credit_from(
    tx: &mut Tx,
    actor: &Actor,
    credit_type: DocType,
    account_key: i64,
    origin: PublicId,
    mut header: HeaderInput,
    groups: Option<Vec<GroupInput>>,
) -> StoreResult<Document> {
    let t = actor.tenant_id;
    let origin_type = credit_type.credits().unwrap_or(DocType::Invoice);
    let field = if origin_type == DocType::Bill { "bill_id" } else { "invoice_id" };
    let what = origin_type.label();
    let invoice = documents::get(tx, t, origin_type, origin)
        .await?
        .filter(|o| o.account_key == account_key)
        .ok_or_else(|| {
            DomainError::invalid(
                field,
                format!("is not the id of an {what} of this account").replace("an bill", "a bill"),
            )
        })?;
    if !matches!(invoice.status, DocStatus::Issued | DocStatus::PartPaid | DocStatus::Paid) {
        return Err(DomainError::Conflict(format!(
            "the {what} is {}: only issued, part paid or paid {what}s are credited",
            invoice.status
        ))
        .into());
    }
    let groups = match groups {
        Some(g) => {
            check_origins(&invoice, &g, what)?;
            g
        }
        None => remaining(&invoice, |l| l.quantity_e4 - l.ledger.credited).ok_or_else(|| {
            DomainError::Conflict(format!(
                "nothing left to credit on {what} {}: every line is credited in full",
                invoice.number.as_deref().unwrap_or("")
            ))
        })?,
    };
    // A bill's reference is the supplier's invoice number; their credit has its own.
    if credit_type == DocType::BillCredit && header.reference.is_none() {
        header.reference = Some(None);
    }
    let mut header = inherit_header(&invoice, header)?;
    // A credit note has nothing to collect: no payment terms.
    header.payment_terms_id = Some(None);
    let new = NewDocument {
        doc_type: credit_type,
        account_id: invoice.account_id,
        header,
        groups,
        origin_key: Some(invoice.key),
    };
    documents::create(tx, actor, new).await
}

/// Reads the document again with its row locked, refusing a stale version.
pub(crate) async fn relock(tx: &mut Tx, t: i64, doc: &Document, if_version: Option<i64>) -> StoreResult<Document> {
    expect_version(doc.doc_type.label(), doc.version, if_version)?;
    let head = documents::lock_header(tx, t, doc.key).await?;
    if head.version != doc.version {
        return Err(DomainError::VersionMismatch { record: doc.doc_type.label(), current: head.version }.into());
    }
    Ok(doc.clone())
}

/// Issues a draft invoice or credit note: number, due dates, balance, credit
/// limit (invoices not made from an order), then the automatic application
/// of a credit note to the invoice it credits.
pub async fn issue(
    tx: &mut Tx,
    actor: &Actor,
    doc: &Document,
    if_version: Option<i64>,
    override_reason: Option<String>,
) -> StoreResult<Document> {
    let t = actor.tenant_id;
    let doc = relock(tx, t, doc, if_version).await?;
    let status = rules::transition(doc.doc_type, doc.status, DocAction::Issue)?;
    if !doc.lines().any(|l| l.kind != LineKind::Comment) {
        return Err(DomainError::invalid(
            "groups",
            format!("a {} without lines cannot be issued: add what it bills", doc.doc_type.label()),
        )
        .into());
    }
    if doc.total_minor < 0 {
        return Err(DomainError::invalid(
            "groups",
            format!(
                "the total {} is negative: issue a credit note instead",
                format_minor(doc.total_minor, doc.currency)
            ),
        )
        .into());
    }
    let mut override_by: Option<i64> = None;
    let mut reason: Option<String> = None;
    if doc.doc_type == DocType::Invoice && doc.origin_type != Some(DocType::SalesOrder) {
        let limit = tx
            .fetch_one(
                format!(
                    "SELECT credit_limit_minor, currency, name FROM accounts WHERE tenant_id = $1 AND id = $2{}",
                    tx.for_update()
                ),
                args![t, doc.account_key],
                |r| Ok((r.opt_i64("credit_limit_minor")?, r.text("currency")?, r.text("name")?)),
            )
            .await?;
        let (limit, currency, name) = limit;
        let exposure = crate::credit::exposure(tx, t, doc.account_key).await?;
        if let Err(s) = rules::check_credit(limit, exposure, doc.total_minor) {
            match override_reason {
                Some(r) => {
                    override_by = actor.user_id;
                    reason = Some(r);
                }
                None => {
                    let c = nave_domain::money::Currency::parse(&currency).unwrap_or(doc.currency);
                    return Err(DomainError::Conflict(format!(
                        "issuing this invoice takes {name}'s exposure to {} {}, above its credit limit of {} {}: \
                         shortfall {} {} (an override with a reason needs the override_credit_limit permission)",
                        format_minor(s.exposure, c),
                        c.code(),
                        format_minor(s.limit, c),
                        c.code(),
                        format_minor(s.shortfall, c),
                        c.code()
                    ))
                    .into());
                }
            }
        }
    }
    if doc.doc_type == DocType::Bill && doc.reference.is_none() {
        return Err(
            DomainError::invalid("reference", "is required to issue a bill: the supplier's invoice number").into()
        );
    }
    if doc.doc_type == DocType::Invoice {
        record_costs(tx, t, &doc).await?;
    }
    let number = sequences::next_number(tx, t, doc.doc_type.as_str(), doc.date.year()).await?;
    let mut due = doc.date;
    if doc.doc_type.is_invoice_like() {
        let total = Money::from_minor(doc.total_minor, doc.currency);
        let schedule = match doc.payment_terms_id {
            Some(id) => match crate::payment_terms::get(tx, t, id).await? {
                Some(pt) => pt.terms()?.schedule(total, doc.date),
                None => vec![],
            },
            None => vec![],
        };
        let schedule: Vec<(time::Date, i64)> = if schedule.is_empty() {
            vec![(doc.date, doc.total_minor)]
        } else {
            schedule.iter().map(|d| (d.date, d.amount.minor())).collect()
        };
        tx.execute("DELETE FROM document_due_dates WHERE tenant_id = $1 AND document_id = $2", args![t, doc.key])
            .await?;
        for (i, (date, amount)) in schedule.iter().enumerate() {
            tx.execute(
                "INSERT INTO document_due_dates (tenant_id, document_id, position, due_date, amount_minor) \
                 VALUES ($1, $2, $3, $4, $5)",
                args![t, doc.key, i as i64, *date, *amount],
            )
            .await?;
            due = due.max(*date);
        }
    }
    // Columns beyond the status, written first without a version change so
    // `set_status` below checks the version and audits one change.
    tx.execute(
        "UPDATE documents SET number = $3, due_date = $4, issued_at = $5, settled_minor = 0, \
         balance_minor = total_minor WHERE tenant_id = $1 AND id = $2",
        args![t, doc.key, number, doc.doc_type.is_invoice_like().then_some(due), now()],
    )
    .await?;
    let issued = documents::set_status(
        tx,
        actor,
        &doc,
        status,
        "credit_override_reason = $1, credit_override_by = $2",
        args![reason, override_by],
    )
    .await?;
    book_return(tx, actor, &issued, 1).await?;
    if matches!(issued.doc_type, DocType::Invoice | DocType::CreditNote) {
        crate::sales_summary::record(tx, t, issued.key, issued.account_key, issued.date, 1).await?;
    }
    if issued.doc_type.is_credit_like()
        && issued.origin_type == issued.doc_type.credits()
        && let Some(invoice_key) = issued.origin_key
    {
        let inv = documents::lock_header(tx, t, invoice_key).await?;
        let amount = inv.balance_minor.min(issued.balance_minor);
        if amount > 0 && matches!(inv.status, DocStatus::Issued | DocStatus::PartPaid) {
            crate::payments::record_allocation(tx, actor, None, Some(issued.key), invoice_key, amount, issued.date)
                .await?;
            settle(tx, actor, invoice_key, amount).await?;
            return settle(tx, actor, issued.key, amount).await;
        }
    }
    Ok(issued)
}

/// Adds `amount` to what settles an issued invoice or credit note (payments
/// and credits on an invoice; applications and refunds on a credit note),
/// moving its status accordingly. The caller has checked `amount` against
/// the balance with the row locked.
pub(crate) async fn settle(tx: &mut Tx, actor: &Actor, doc_key: i64, amount: i64) -> StoreResult<Document> {
    let t = actor.tenant_id;
    documents::lock_header(tx, t, doc_key).await?;
    let before = documents::get_by_key(tx, t, doc_key).await?.ok_or(DomainError::NotFound { record: "document" })?;
    let settled = before.settled_minor + amount;
    let balance = (before.total_minor - settled).max(0);
    let status = rules::settlement_status(before.doc_type, before.total_minor, settled);
    documents::set_status(tx, actor, &before, status, "settled_minor = $1, balance_minor = $2", args![settled, balance])
        .await
}

/// Voids an issued invoice or credit note while nothing settles it, giving
/// back the quantities its lines held on their origin lines.
pub async fn void(tx: &mut Tx, actor: &Actor, doc: &Document, if_version: Option<i64>) -> StoreResult<Document> {
    let t = actor.tenant_id;
    let doc = relock(tx, t, doc, if_version).await?;
    let status = rules::transition(doc.doc_type, doc.status, DocAction::Void)?;
    if doc.settled_minor != 0 {
        return Err(DomainError::Conflict(format!(
            "the {} {} has {} {} {}: only a {} with nothing {} can be voided (correct it with a credit note)",
            doc.doc_type.label(),
            doc.number.as_deref().unwrap_or(""),
            format_minor(doc.settled_minor, doc.currency),
            doc.currency.code(),
            if doc.doc_type.is_invoice_like() { "allocated to it" } else { "applied or refunded" },
            doc.doc_type.label(),
            if doc.doc_type.is_invoice_like() { "allocated" } else { "applied" },
        ))
        .into());
    }
    if doc.status != DocStatus::Draft && matches!(doc.doc_type, DocType::Invoice | DocType::CreditNote) {
        // Out of the sales summaries, as its lines stand before anything moves.
        crate::sales_summary::record(tx, t, doc.key, doc.account_key, doc.date, -1).await?;
    }
    // Gives the quantities back to the origin lines, and re-opens their order.
    documents::apply_lineage(tx, t, doc.doc_type, &documents::stored_lineage(&doc), -1).await?;
    if doc.status != DocStatus::Draft {
        // Goods a credit note returned to stock leave it again.
        book_return(tx, actor, &doc, -1).await?;
    }
    documents::set_status(tx, actor, &doc, status, "balance_minor = 0", vec![]).await
}

/// Books the goods of a credit note with a return warehouse (`return_to_stock`)
/// into that warehouse when it is issued (`sign` 1), or out again when it is
/// voided (`sign` −1): each product line's quantity, kits as their goods
/// components, at the product's cost, through the same stock postings as a
/// shipment's. Levels are locked in product order. On issue, each returned
/// line records in `cost_minor` the value its goods brought back (company
/// currency): the cost of goods sold the return gives back. Nothing for
/// other types.
async fn book_return(tx: &mut Tx, actor: &Actor, doc: &Document, sign: i64) -> StoreResult<()> {
    let (DocType::CreditNote, Some(warehouse_key)) = (doc.doc_type, doc.warehouse_key) else { return Ok(()) };
    let t = actor.tenant_id;
    let mut moves = Vec::new();
    for (i, l) in doc.lines().enumerate() {
        let Some(product) = l.product_key else { continue };
        if !crate::orders::ships(tx, t, l.kind, Some(product)).await? {
            continue;
        }
        for part in crate::orders::stock_parts(tx, t, product).await? {
            let qty = crate::orders::part_qty(l.quantity_e4, part.per);
            if qty > 0 {
                moves.push((i, part, qty));
            }
        }
    }
    if moves.is_empty() {
        return Ok(());
    }
    let warehouse = crate::shipments::warehouse_by_key(tx, t, warehouse_key).await?;
    let number = doc.number.as_deref().unwrap_or("(draft)");
    let (reason, source_id) = if sign > 0 {
        (format!("return on credit note {number}"), doc.id)
    } else {
        (format!("credit note {number} voided"), PublicId::new())
    };
    let doc_key =
        crate::stock::create_source_document(tx, actor, "credit_note", source_id, &warehouse, &reason).await?;
    let mut keys: Vec<i64> = moves.iter().map(|m| m.1.key).collect();
    keys.sort_unstable();
    keys.dedup();
    for p in keys {
        crate::stock::lock_level(tx, t, p, warehouse.key).await?;
    }
    // What the goods of each line bring back into stock (minor × 10,000 of the company currency).
    let mut returned: std::collections::BTreeMap<usize, i64> = std::collections::BTreeMap::new();
    for (i, part, qty) in moves {
        let product = crate::catalog::get_product_row(tx, t, part.id)
            .await?
            .ok_or(DomainError::NotFound { record: "product" })?;
        let value =
            crate::stock::book(tx, actor, &product, &warehouse, sign * qty, &reason, doc_key, format!("lines[{i}]"))
                .await?;
        *returned.entry(i).or_default() += value;
    }
    if sign > 0 {
        // The cost the return gives back, on the credit note's lines: the
        // profit report takes it off the cost of goods sold.
        let keys: Vec<i64> = doc.lines().map(|l| l.key).collect();
        for (i, value) in returned {
            let minor = nave_domain::money::round_half_away(Decimal::from(value) / Decimal::from(10_000), 0);
            tx.execute(
                "UPDATE document_lines SET cost_minor = $3 WHERE tenant_id = $1 AND id = $2",
                args![t, keys[i], i64::try_from(minor).unwrap_or(i64::MAX)],
            )
            .await?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Cost of goods sold

/// Records on every product line of an invoice being issued its cost of goods
/// sold, in minor units of the company currency: for a line from a sales-order
/// line that has shipped, the invoiced quantity at the average cost of the
/// outgoing stock movements of that line's shipments (what the stock ledger
/// took out, at the moving average of the moment); otherwise (services,
/// non-stock lines, nothing shipped yet) at the product's cost now.
pub(crate) async fn record_costs(tx: &mut Tx, t: i64, doc: &Document) -> StoreResult<()> {
    let company = crate::tenants::currency(tx, t).await?;
    let scale = Decimal::from(10i64.pow(company.minor_units()));
    for l in doc.lines() {
        let Some(product) = l.product_key.filter(|_| l.kind != LineKind::Comment) else { continue };
        // Cost in minor units × 10,000 of the company currency.
        let mut cost_e4m: Option<Decimal> = None;
        if let Some(order_line) = l.origin_key {
            let (cost, shipped) = shipped_cost(tx, t, order_line).await?;
            if shipped > 0 {
                cost_e4m = Some(cost * Decimal::from(l.quantity_e4) / Decimal::from(shipped));
            }
        }
        let cost_e4m = match cost_e4m {
            Some(c) => c,
            None => {
                let unit_e4 = tx
                    .fetch_one(
                        "SELECT cost_e4 FROM products WHERE tenant_id = $1 AND id = $2",
                        args![t, product],
                        |r| r.i64("cost_e4"),
                    )
                    .await?;
                // quantity (1/10,000) × unit cost (1/10,000 major) → minor × 10,000.
                Decimal::from(l.quantity_e4) * Decimal::from(unit_e4) * scale / Decimal::from(10_000)
            }
        };
        let minor = nave_domain::money::round_half_away(cost_e4m / Decimal::from(10_000), 0);
        tx.execute(
            "UPDATE document_lines SET cost_minor = $3 WHERE tenant_id = $1 AND id = $2",
            args![t, l.key, i64::try_from(minor).unwrap_or(i64::MAX)],
        )
        .await?;
    }
    Ok(())
}

/// What the done shipments of a sales-order line took out of stock: (value
/// in minor units × 10,000 of the company currency, quantity in line units
/// at 1/10,000). Kits add up their components.
async fn shipped_cost(tx: &mut Tx, t: i64, order_line: i64) -> StoreResult<(Decimal, i64)> {
    let product = tx
        .fetch_optional(
            "SELECT l.product_id FROM document_lines l JOIN documents d ON d.tenant_id = l.tenant_id \
             AND d.id = l.document_id WHERE l.tenant_id = $1 AND l.id = $2 AND d.doc_type = 'sales_order'",
            args![t, order_line],
            |r| r.opt_i64("product_id"),
        )
        .await?
        .flatten();
    let Some(product) = product else { return Ok((Decimal::ZERO, 0)) };
    let per: std::collections::HashMap<i64, i64> =
        crate::orders::stock_parts(tx, t, product).await?.into_iter().map(|p| (p.key, p.per)).collect();
    let rows = tx
        .fetch_all(
            "SELECT sl.id AS shipment_line, sl.quantity_e4 AS line_qty, m.product_id, \
             CAST(SUM(m.quantity_e4) AS BIGINT) AS moved, CAST(SUM(m.value_e4m) AS BIGINT) AS value \
             FROM shipment_lines sl JOIN shipments s ON s.tenant_id = sl.tenant_id AND s.id = sl.shipment_id \
             JOIN stock_movements m ON m.tenant_id = s.tenant_id AND m.document_id = s.stock_document_id \
             WHERE sl.tenant_id = $1 AND sl.order_line_id = $2 AND s.status = 'done' \
             GROUP BY sl.id, sl.quantity_e4, m.product_id",
            args![t, order_line],
            |r| {
                Ok((
                    r.i64("shipment_line")?,
                    r.i64("line_qty")?,
                    r.i64("product_id")?,
                    r.i64("moved")?,
                    r.i64("value")?,
                ))
            },
        )
        .await?;
    let mut cost = Decimal::ZERO;
    let mut lines = std::collections::HashMap::new();
    for (sl, qty, part, moved, value) in rows {
        lines.insert(sl, qty);
        // Movements of other lines' products in the same shipment are not this line's.
        let Some(per) = per.get(&part) else { continue };
        if moved == 0 {
            continue;
        }
        // The movements' average unit cost in that shipment × this line's share of the part.
        let taken = crate::orders::part_qty(qty, *per);
        cost += Decimal::from(value) / Decimal::from(moved) * Decimal::from(taken);
    }
    Ok((cost, lines.values().sum()))
}
