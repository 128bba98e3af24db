//! Commercial documents of the sales side (quotes, sales orders, invoices,
//! credit notes) in one table with shared groups, lines and taxes (ADR 0011).
//!
//! A document's content (groups and lines) is priced by the one engine,
//! `nave_domain::pricing::price`, whenever it is written, and the results —
//! line amounts, itemized taxes, totals — are stored with it, so lists,
//! reports and PDFs never price again and can never disagree with the API.
//! Lines keep snapshots (SKU, description, unit, tax names and rates), never
//! references that can change later.
//!
//! Lineage: a converted line points to its origin (`origin_line_id`). An
//! invoice line from an order line adds to the order line's invoiced
//! quantity, and a credit-note line from an invoice line to the invoice
//! line's (and its order line's) credited quantity, in the same transaction
//! and with the origin rows locked, so two documents written at once can
//! never together take more than is left. Drafts count: a draft invoice
//! holds its quantities until it is deleted or voided.
//!
//! Record scope: a document has its account's ownership.

use std::collections::HashMap;

use nave_domain::DomainError;
use nave_domain::access::Ownership;
use nave_domain::document::{self as rules, DocAction, DocStatus, DocType, InvoicePolicy, LineLedger};
use nave_domain::error::Validator;
use nave_domain::external_id::ExternalId;
use nave_domain::ids::PublicId;
use nave_domain::money::{Currency, format_minor, format_unit_price};
use nave_domain::pricing::{self, LineKind, TaxRate, TaxRounding};
use nave_domain::stock::format_quantity;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::accounts::{self, Visibility};
use crate::audit::{self, Actor};
use crate::catalog::{self, Product};
use crate::db::{Arg, DbRow, Tx, bind, now};
use crate::external_ids::{self, DOCUMENTS as EXTERNAL};
use crate::page::{Cursor, ListSql, Page, Sort, SortColumn, SortCursor, SortValue};
use crate::{StoreError, StoreResult, and_where, args, expect_version, parsed, price_lists, sequences, taxes};

/// Lines a document may have.
pub const MAX_LINES: usize = 1000;

fn percent(e4: i64) -> String {
    Decimal::new(e4, 4).normalize().to_string()
}

/// A decimal (quantity, unit price, percent) at 1/10,000, truncated past 4 places.
pub(crate) fn to_e4(d: Decimal) -> i64 {
    i64::try_from((d * Decimal::from(10_000)).trunc()).unwrap_or(i64::MAX)
}

// ---------------------------------------------------------------------------
// What the API shows

/// One tax of a line, as a snapshot.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LineTax {
    #[schema(value_type = String)]
    pub tax_id: PublicId,
    pub name: String,
    /// Percent: `"10"` = 10 %.
    pub rate: String,
    pub amount: String,
}

/// One line of a document.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Line {
    #[serde(skip)]
    pub key: i64,
    #[serde(skip)]
    pub product_key: Option<i64>,
    #[serde(skip)]
    pub origin_key: Option<i64>,
    #[serde(skip)]
    pub quantity_e4: i64,
    #[serde(skip)]
    pub ledger: LineLedger,
    #[schema(value_type = String)]
    pub id: PublicId,
    /// `product`, `text`, `comment` or `shipping`.
    #[schema(value_type = String, example = "product")]
    pub kind: LineKind,
    #[schema(value_type = Option<String>)]
    pub product_id: Option<PublicId>,
    pub sku: Option<String>,
    pub description: String,
    pub unit: String,
    pub quantity: String,
    pub unit_price: String,
    pub discount_percent: String,
    pub discount_amount: String,
    #[schema(value_type = Vec<String>)]
    pub tax_ids: Vec<PublicId>,
    pub taxes: Vec<LineTax>,
    /// quantity × unit price, before discounts.
    pub gross: String,
    /// The line's own discounts.
    pub discount: String,
    /// After the line's own discounts, before the group discount.
    pub net: String,
    /// What taxes are computed on (after the group discount, tax excluded).
    pub taxable_base: String,
    pub tax: String,
    /// The line this one was converted from (quote line → order line → invoice line → credit-note line).
    #[schema(value_type = Option<String>)]
    pub origin_line_id: Option<PublicId>,
    /// Sales orders: reserved in the order's warehouse.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity_reserved: Option<String>,
    /// Sales orders: shipped so far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity_shipped: Option<String>,
    /// Sales orders: on invoices (draft or issued, not void).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity_invoiced: Option<String>,
    /// Sales orders and invoices: on credit notes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity_credited: Option<String>,
    /// Quotes and sales orders: the supplier delivers this line straight to
    /// the customer (a purchase order is made when the order is confirmed).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub drop_ship: bool,
    /// Purchase orders: the supplier's own code for the product.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supplier_code: Option<String>,
    /// Purchase orders: received so far (receipts done).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity_received: Option<String>,
    /// Purchase orders: on bills (draft or issued, not void).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity_billed: Option<String>,
    /// Issued invoices: the cost of goods sold, in the company currency
    /// (field-secured like product cost).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<String>,
    /// Issued invoices in the company currency: taxable base − cost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub margin: Option<String>,
    /// margin ÷ taxable base × 100, two decimals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub margin_percent: Option<String>,
    #[serde(skip)]
    pub cost_minor: Option<i64>,
    #[serde(skip)]
    pub taxable_base_minor: i64,
}

/// A group (section) of lines.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Group {
    #[serde(skip)]
    pub key: i64,
    #[schema(value_type = String)]
    pub id: PublicId,
    pub name: String,
    pub discount_percent: String,
    /// Print a subtotal under the group.
    pub show_subtotal: bool,
    /// Σ line nets − the group discount.
    pub net: String,
    pub lines: Vec<Line>,
}

/// One tax, itemized.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TaxTotal {
    #[schema(value_type = String)]
    pub tax_id: PublicId,
    pub name: String,
    pub rate: String,
    pub base: String,
    pub amount: String,
}

/// A document's totals, from the pricing engine, as decimal strings.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Totals {
    pub subtotal: String,
    pub discount: String,
    pub net: String,
    pub shipping: String,
    pub taxes: Vec<TaxTotal>,
    pub tax: String,
    pub total: String,
}

/// One due date of an issued invoice.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DueDateView {
    #[schema(value_type = String, format = Date)]
    #[serde(with = "nave_domain::dates::iso")]
    pub date: Date,
    pub amount: String,
}

/// Who confirmed or issued above the credit limit, and why.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreditOverride {
    pub reason: String,
    #[schema(value_type = Option<String>)]
    pub user_id: Option<PublicId>,
    pub user_name: Option<String>,
}

/// A document as the API shows it. Lists leave `groups`, `taxes` and
/// `due_dates` empty.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Document {
    #[serde(skip)]
    pub key: i64,
    #[serde(skip)]
    pub account_key: i64,
    #[serde(skip)]
    pub ownership: Ownership,
    #[serde(skip)]
    pub origin_key: Option<i64>,
    #[serde(skip)]
    pub warehouse_key: Option<i64>,
    #[serde(skip)]
    pub payment_terms_key: Option<i64>,
    #[serde(skip)]
    pub total_minor: i64,
    #[serde(skip)]
    pub settled_minor: i64,
    #[serde(skip)]
    pub balance_minor: i64,
    #[schema(value_type = String)]
    pub id: PublicId,
    /// `quote`, `sales_order`, `invoice` or `credit_note`.
    #[schema(value_type = String)]
    pub doc_type: DocType,
    /// Invoices and credit notes: null until issued.
    pub number: Option<String>,
    #[schema(value_type = String, example = "draft")]
    pub status: DocStatus,
    /// The actions allowed now (`POST /{resource}/{id}/{action}`).
    #[schema(value_type = Vec<String>)]
    pub allowed_actions: Vec<DocAction>,
    /// Quotes: the revision, from 1; earlier ones stay readable.
    pub revision: i64,
    #[schema(value_type = String)]
    pub account_id: PublicId,
    pub account_name: String,
    #[schema(value_type = Option<Object>)]
    pub billing_address: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub shipping_address: Option<serde_json::Value>,
    #[schema(value_type = String, example = "EUR")]
    pub currency: Currency,
    #[schema(value_type = String, format = Date)]
    #[serde(with = "nave_domain::dates::iso")]
    pub date: Date,
    /// Quotes: the last day the offer holds.
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(with = "nave_domain::dates::iso_option")]
    pub valid_until: Option<Date>,
    /// Invoices: the last due date, once issued.
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(with = "nave_domain::dates::iso_option")]
    pub due_date: Option<Date>,
    #[schema(value_type = Option<String>)]
    pub payment_terms_id: Option<PublicId>,
    pub payment_terms_name: Option<String>,
    #[schema(value_type = Option<String>)]
    pub price_list_id: Option<PublicId>,
    /// Sales orders: the warehouse stock is reserved in and shipped from.
    /// Credit notes: the warehouse the credited goods return to when the
    /// credit note is issued (`return_to_stock`); none when nothing returns.
    #[schema(value_type = Option<String>)]
    pub warehouse_id: Option<PublicId>,
    /// Sales orders: what an invoice made from the order takes (`shipped` or `ordered`).
    #[schema(value_type = Option<String>)]
    pub invoice_policy: Option<InvoicePolicy>,
    pub prices_include_tax: bool,
    #[schema(value_type = String, example = "document")]
    pub tax_rounding: TaxRounding,
    /// The customer's reference (their PO number).
    pub reference: Option<String>,
    pub notes: String,
    /// The document this one was made from.
    #[schema(value_type = Option<String>)]
    pub origin_id: Option<PublicId>,
    #[schema(value_type = Option<String>)]
    pub origin_type: Option<DocType>,
    pub origin_number: Option<String>,
    /// Invoices: the sales order the invoice bills, if any.
    #[schema(value_type = Option<String>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sales_order_id: Option<PublicId>,
    /// Credit notes: the invoice credited, if any.
    #[schema(value_type = Option<String>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice_id: Option<PublicId>,
    /// Receipts and bills: the purchase order they receive or bill, if any.
    #[schema(value_type = Option<String>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purchase_order_id: Option<PublicId>,
    /// Bill credits: the bill credited, if any.
    #[schema(value_type = Option<String>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bill_id: Option<PublicId>,
    /// Sales orders with drop-ship lines: the purchase orders made for them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drop_ship_orders: Vec<crate::drop_ship::DropShipOrder>,
    /// Drop-ship purchase orders: the customer's order they deliver.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drop_ship_for: Option<crate::drop_ship::DropShipFor>,
    /// Receipts in a foreign currency: company-currency units per unit of the document currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange_rate: Option<String>,
    /// Issued invoices: Σ line costs of goods sold, in the company currency
    /// (field-secured like product cost).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<String>,
    /// Issued invoices in the company currency: Σ taxable bases − cost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub margin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub margin_percent: Option<String>,
    #[serde(skip)]
    pub exchange_rate_e8: Option<i64>,
    #[serde(skip)]
    pub company_currency: Currency,
    /// The document's ids in other systems (an accounting package, a web shop).
    #[schema(value_type = Vec<crate::external_ids::ExternalIdSchema>)]
    pub external_ids: Vec<ExternalId>,
    pub groups: Vec<Group>,
    pub totals: Totals,
    pub due_dates: Vec<DueDateView>,
    /// Invoices: payments allocated + credits applied; credit notes: applied + refunded.
    pub settled: String,
    /// What is still owed (invoice) or still to apply (credit note): never negative.
    pub balance: String,
    /// Invoices: issued or part paid, with a balance, past the last due date.
    pub overdue: bool,
    pub credit_override: Option<CreditOverride>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub issued_at: Option<OffsetDateTime>,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl Document {
    pub fn editable(&self) -> bool {
        rules::editable(self.status)
    }

    /// Every line, in order.
    pub fn lines(&self) -> impl Iterator<Item = &Line> {
        self.groups.iter().flat_map(|g| g.lines.iter())
    }
}

const SELECT: &str = "SELECT d.id, d.public_id, d.doc_type, d.status, d.number, d.revision, d.account_id, \
    d.account_name, d.billing_address, d.shipping_address, d.currency, d.doc_date, d.valid_until, d.due_date, \
    d.payment_terms_id, d.price_list_id, d.warehouse_id, d.invoice_policy, d.prices_include_tax, d.tax_rounding, \
    d.reference, d.notes, d.origin_id, d.subtotal_minor, d.discount_minor, d.net_minor, d.shipping_minor, \
    d.tax_minor, d.total_minor, d.settled_minor, d.balance_minor, d.credit_override_reason, d.issued_at, \
    d.version, d.created_at, d.updated_at, a.owner_id, a.team_id, a.public_id AS account_public_id, \
    pt.public_id AS terms_public_id, pt.name AS terms_name, pl.public_id AS list_public_id, \
    w.public_id AS warehouse_public_id, o.public_id AS origin_public_id, o.doc_type AS origin_type, \
    o.number AS origin_number, ou.public_id AS override_user_id, ou.name AS override_user_name, \
    d.exchange_rate_e8, tn.currency AS company_currency \
    FROM documents d \
    JOIN tenants tn ON tn.id = d.tenant_id \
    JOIN accounts a ON a.tenant_id = d.tenant_id AND a.id = d.account_id \
    LEFT JOIN payment_terms pt ON pt.tenant_id = d.tenant_id AND pt.id = d.payment_terms_id \
    LEFT JOIN price_lists pl ON pl.tenant_id = d.tenant_id AND pl.id = d.price_list_id \
    LEFT JOIN warehouses w ON w.tenant_id = d.tenant_id AND w.id = d.warehouse_id \
    LEFT JOIN documents o ON o.tenant_id = d.tenant_id AND o.id = d.origin_id \
    LEFT JOIN users ou ON ou.tenant_id = d.tenant_id AND ou.id = d.credit_override_by";

fn json_col(r: &dyn DbRow, col: &str) -> StoreResult<Option<serde_json::Value>> {
    match r.opt_text(col)? {
        Some(s) => Ok(Some(parsed(serde_json::from_str(&s))?)),
        None => Ok(None),
    }
}

fn decode(r: &dyn DbRow) -> StoreResult<Document> {
    let doc_type: DocType = parsed(r.text("doc_type")?.parse())?;
    let status: DocStatus = parsed(r.text("status")?.parse())?;
    let currency = parsed(Currency::parse(&r.text("currency")?))?;
    let m = |v: i64| format_minor(v, currency);
    let origin_type: Option<DocType> = match r.opt_text("origin_type")? {
        Some(t) => Some(parsed(t.parse())?),
        None => None,
    };
    let origin_id = r.opt_uuid("origin_public_id")?.map(PublicId::from_uuid);
    let balance = r.i64("balance_minor")?;
    let due_date = r.opt_date("due_date")?;
    let today = now().date();
    Ok(Document {
        key: r.i64("id")?,
        account_key: r.i64("account_id")?,
        ownership: Ownership { owner_id: r.opt_i64("owner_id")?, team_id: r.opt_i64("team_id")? },
        origin_key: r.opt_i64("origin_id")?,
        warehouse_key: r.opt_i64("warehouse_id")?,
        payment_terms_key: r.opt_i64("payment_terms_id")?,
        total_minor: r.i64("total_minor")?,
        settled_minor: r.i64("settled_minor")?,
        balance_minor: balance,
        id: PublicId::from_uuid(r.uuid("public_id")?),
        doc_type,
        number: r.opt_text("number")?,
        status,
        allowed_actions: rules::allowed_actions(doc_type, status).to_vec(),
        revision: r.i64("revision")?,
        account_id: PublicId::from_uuid(r.uuid("account_public_id")?),
        account_name: r.text("account_name")?,
        billing_address: json_col(r, "billing_address")?,
        shipping_address: json_col(r, "shipping_address")?,
        currency,
        date: r.opt_date("doc_date")?.ok_or_else(|| StoreError::Decode("document without a date".into()))?,
        valid_until: r.opt_date("valid_until")?,
        due_date,
        payment_terms_id: r.opt_uuid("terms_public_id")?.map(PublicId::from_uuid),
        payment_terms_name: r.opt_text("terms_name")?,
        price_list_id: r.opt_uuid("list_public_id")?.map(PublicId::from_uuid),
        warehouse_id: r.opt_uuid("warehouse_public_id")?.map(PublicId::from_uuid),
        invoice_policy: match r.opt_text("invoice_policy")? {
            Some(p) => Some(parsed(p.parse())?),
            None => None,
        },
        prices_include_tax: r.boolean("prices_include_tax")?,
        tax_rounding: if r.text("tax_rounding")? == "line" { TaxRounding::Line } else { TaxRounding::Document },
        reference: r.opt_text("reference")?,
        notes: r.text("notes")?,
        sales_order_id: origin_id.filter(|_| doc_type == DocType::Invoice && origin_type == Some(DocType::SalesOrder)),
        invoice_id: origin_id.filter(|_| doc_type == DocType::CreditNote && origin_type == Some(DocType::Invoice)),
        purchase_order_id: origin_id.filter(|_| {
            matches!(doc_type, DocType::Receipt | DocType::Bill) && origin_type == Some(DocType::PurchaseOrder)
        }),
        bill_id: origin_id.filter(|_| doc_type == DocType::BillCredit && origin_type == Some(DocType::Bill)),
        drop_ship_orders: vec![],
        drop_ship_for: None,
        exchange_rate: r.opt_i64("exchange_rate_e8")?.map(|v| Decimal::new(v, 8).normalize().to_string()),
        exchange_rate_e8: r.opt_i64("exchange_rate_e8")?,
        company_currency: parsed(Currency::parse(&r.text("company_currency")?))?,
        cost: None,
        margin: None,
        margin_percent: None,
        origin_id,
        origin_type,
        origin_number: r.opt_text("origin_number")?,
        external_ids: vec![],
        groups: vec![],
        totals: Totals {
            subtotal: m(r.i64("subtotal_minor")?),
            discount: m(r.i64("discount_minor")?),
            net: m(r.i64("net_minor")?),
            shipping: m(r.i64("shipping_minor")?),
            taxes: vec![],
            tax: m(r.i64("tax_minor")?),
            total: m(r.i64("total_minor")?),
        },
        due_dates: vec![],
        settled: m(r.i64("settled_minor")?),
        balance: m(balance),
        overdue: doc_type.is_invoice_like() && rules::overdue(status, balance, due_date, today),
        credit_override: match r.opt_text("credit_override_reason")? {
            Some(reason) => Some(CreditOverride {
                reason,
                user_id: r.opt_uuid("override_user_id")?.map(PublicId::from_uuid),
                user_name: r.opt_text("override_user_name")?,
            }),
            None => None,
        },
        issued_at: r.opt_ts("issued_at")?,
        version: r.i64("version")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

/// Loads the groups, lines, itemized taxes and due dates of `d`.
async fn load_content(tx: &mut Tx, tenant_id: i64, d: &mut Document) -> StoreResult<()> {
    let c = d.currency;
    d.external_ids = external_ids::load(tx, EXTERNAL, tenant_id, &[d.key]).await?.into_iter().map(|(_, e)| e).collect();
    let mut groups = tx
        .fetch_all(
            "SELECT id, public_id, name, discount_percent_e4, show_subtotal, net_minor FROM document_groups \
             WHERE tenant_id = $1 AND document_id = $2 ORDER BY position",
            args![tenant_id, d.key],
            |r| {
                Ok(Group {
                    key: r.i64("id")?,
                    id: PublicId::from_uuid(r.uuid("public_id")?),
                    name: r.text("name")?,
                    discount_percent: percent(r.i64("discount_percent_e4")?),
                    show_subtotal: r.boolean("show_subtotal")?,
                    net: format_minor(r.i64("net_minor")?, c),
                    lines: vec![],
                })
            },
        )
        .await?;
    let mut line_taxes: HashMap<i64, Vec<LineTax>> = HashMap::new();
    let rows = tx
        .fetch_all(
            "SELECT lt.line_id, t.public_id, lt.name, lt.rate_e4, lt.amount_minor FROM document_line_taxes lt \
             JOIN document_lines l ON l.tenant_id = lt.tenant_id AND l.id = lt.line_id \
             JOIN taxes t ON t.tenant_id = lt.tenant_id AND t.id = lt.tax_id \
             WHERE lt.tenant_id = $1 AND l.document_id = $2 ORDER BY lt.line_id, lt.position",
            args![tenant_id, d.key],
            |r| {
                Ok((
                    r.i64("line_id")?,
                    LineTax {
                        tax_id: PublicId::from_uuid(r.uuid("public_id")?),
                        name: r.text("name")?,
                        rate: percent(r.i64("rate_e4")?),
                        amount: format_minor(r.i64("amount_minor")?, c),
                    },
                ))
            },
        )
        .await?;
    for (k, t) in rows {
        line_taxes.entry(k).or_default().push(t);
    }
    let is_order = d.doc_type == DocType::SalesOrder;
    let is_invoice = d.doc_type == DocType::Invoice;
    let is_po = d.doc_type == DocType::PurchaseOrder;
    let company = d.company_currency;
    let lines = tx
        .fetch_all(
            "SELECT l.id, l.public_id, l.group_id, l.kind, l.product_id, l.sku, l.description, l.unit, l.quantity_e4, \
             l.unit_price_e4, l.discount_percent_e4, l.discount_amount_minor, l.gross_minor, l.discount_minor, \
             l.net_minor, l.taxable_base_minor, l.tax_minor, l.origin_line_id, l.qty_reserved_e4, l.qty_shipped_e4, \
             l.qty_invoiced_e4, l.qty_credited_e4, l.supplier_code, l.cost_minor, l.drop_ship, \
             p.public_id AS product_public_id, o.public_id AS origin_public_id \
             FROM document_lines l \
             LEFT JOIN products p ON p.tenant_id = l.tenant_id AND p.id = l.product_id \
             LEFT JOIN document_lines o ON o.tenant_id = l.tenant_id AND o.id = l.origin_line_id \
             WHERE l.tenant_id = $1 AND l.document_id = $2 ORDER BY l.position",
            args![tenant_id, d.key],
            |r| {
                let kind: LineKind = parsed(serde_json::from_value(serde_json::Value::String(r.text("kind")?)))?;
                let key = r.i64("id")?;
                let q = r.i64("quantity_e4")?;
                let ledger = LineLedger {
                    ordered: q,
                    reserved: r.i64("qty_reserved_e4")?,
                    shipped: r.i64("qty_shipped_e4")?,
                    invoiced: r.i64("qty_invoiced_e4")?,
                    credited: r.i64("qty_credited_e4")?,
                };
                let show = |v: i64, on: bool| on.then(|| format_quantity(v));
                let cost_minor = r.opt_i64("cost_minor")?;
                let base = r.i64("taxable_base_minor")?;
                Ok((
                    r.i64("group_id")?,
                    Line {
                        key,
                        product_key: r.opt_i64("product_id")?,
                        origin_key: r.opt_i64("origin_line_id")?,
                        quantity_e4: q,
                        ledger,
                        id: PublicId::from_uuid(r.uuid("public_id")?),
                        kind,
                        product_id: r.opt_uuid("product_public_id")?.map(PublicId::from_uuid),
                        sku: r.opt_text("sku")?,
                        description: r.text("description")?,
                        unit: r.text("unit")?,
                        quantity: format_quantity(q),
                        unit_price: format_unit_price(r.i64("unit_price_e4")?, c),
                        discount_percent: percent(r.i64("discount_percent_e4")?),
                        discount_amount: format_minor(r.i64("discount_amount_minor")?, c),
                        tax_ids: vec![],
                        taxes: vec![],
                        gross: format_minor(r.i64("gross_minor")?, c),
                        discount: format_minor(r.i64("discount_minor")?, c),
                        net: format_minor(r.i64("net_minor")?, c),
                        taxable_base: format_minor(r.i64("taxable_base_minor")?, c),
                        tax: format_minor(r.i64("tax_minor")?, c),
                        origin_line_id: r.opt_uuid("origin_public_id")?.map(PublicId::from_uuid),
                        quantity_reserved: show(ledger.reserved, is_order),
                        quantity_shipped: show(ledger.shipped, is_order),
                        quantity_invoiced: show(ledger.invoiced, is_order),
                        quantity_credited: show(ledger.credited, is_order || is_invoice),
                        drop_ship: r.boolean("drop_ship")?,
                        supplier_code: r.opt_text("supplier_code")?,
                        quantity_received: show(ledger.shipped, is_po),
                        quantity_billed: show(ledger.invoiced, is_po),
                        cost: cost_minor.map(|v| format_minor(v, company)),
                        margin: None,
                        margin_percent: None,
                        cost_minor,
                        taxable_base_minor: base,
                    },
                ))
            },
        )
        .await?;
    let index: HashMap<i64, usize> = groups.iter().enumerate().map(|(i, g)| (g.key, i)).collect();
    for (g, mut l) in lines {
        l.taxes = line_taxes.remove(&l.key).unwrap_or_default();
        l.tax_ids = l.taxes.iter().map(|t| t.tax_id).collect();
        if let Some(&i) = index.get(&g) {
            groups[i].lines.push(l);
        }
    }
    d.groups = groups;
    fill_margins(d);
    if d.doc_type == DocType::SalesOrder && d.lines().any(|l| l.drop_ship) {
        d.drop_ship_orders = crate::drop_ship::purchase_orders_of(tx, tenant_id, d.key).await?;
    }
    if d.doc_type == DocType::PurchaseOrder {
        d.drop_ship_for = crate::drop_ship::sales_order_of(tx, tenant_id, d.key).await?;
    }
    d.totals.taxes = tx
        .fetch_all(
            "SELECT t.public_id, dt.name, dt.rate_e4, dt.base_minor, dt.amount_minor FROM document_taxes dt \
             JOIN taxes t ON t.tenant_id = dt.tenant_id AND t.id = dt.tax_id \
             WHERE dt.tenant_id = $1 AND dt.document_id = $2 ORDER BY dt.position",
            args![tenant_id, d.key],
            |r| {
                Ok(TaxTotal {
                    tax_id: PublicId::from_uuid(r.uuid("public_id")?),
                    name: r.text("name")?,
                    rate: percent(r.i64("rate_e4")?),
                    base: format_minor(r.i64("base_minor")?, c),
                    amount: format_minor(r.i64("amount_minor")?, c),
                })
            },
        )
        .await?;
    d.due_dates = tx
        .fetch_all(
            "SELECT due_date, amount_minor FROM document_due_dates WHERE tenant_id = $1 AND document_id = $2 ORDER BY position",
            args![tenant_id, d.key],
            |r| {
                Ok(DueDateView {
                    date: r.opt_date("due_date")?.ok_or_else(|| StoreError::Decode("due date".into()))?,
                    amount: format_minor(r.i64("amount_minor")?, c),
                })
            },
        )
        .await?;
    Ok(())
}

/// Margin and margin % of one amount of revenue and its cost.
fn margin_of(base: i64, cost: i64, c: Currency) -> (String, Option<String>) {
    let margin = base - cost;
    let pct = (base != 0).then(|| {
        (Decimal::from(margin) * Decimal::from(100) / Decimal::from(base))
            .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
            .to_string()
    });
    (format_minor(margin, c), pct)
}

/// Issued invoices: cost, margin and margin % per line (lines with a recorded
/// cost) and for the invoice (lines without one count at no cost). Margins
/// need the invoice in the company currency, the cost's; otherwise only the
/// cost is shown.
fn fill_margins(d: &mut Document) {
    if d.doc_type != DocType::Invoice || !d.lines().any(|l| l.cost_minor.is_some()) {
        return;
    }
    let same = d.currency == d.company_currency;
    let (mut base, mut cost) = (0i64, 0i64);
    for g in &mut d.groups {
        for l in &mut g.lines {
            if l.kind == LineKind::Comment {
                continue;
            }
            base += l.taxable_base_minor;
            cost += l.cost_minor.unwrap_or(0);
            if let (Some(c), true) = (l.cost_minor, same) {
                let (m, p) = margin_of(l.taxable_base_minor, c, d.currency);
                l.margin = Some(m);
                l.margin_percent = p;
            }
        }
    }
    d.cost = Some(format_minor(cost, d.company_currency));
    if same {
        let (m, p) = margin_of(base, cost, d.currency);
        d.margin = Some(m);
        d.margin_percent = p;
    }
}

/// A document of `doc_type` by public id, with its content.
pub async fn get(tx: &mut Tx, tenant_id: i64, doc_type: DocType, id: PublicId) -> StoreResult<Option<Document>> {
    let d = tx
        .fetch_optional(
            format!("{SELECT} WHERE d.tenant_id = $1 AND d.public_id = $2 AND d.doc_type = $3"),
            args![tenant_id, id, doc_type.as_str()],
            decode,
        )
        .await?;
    with_content(tx, tenant_id, d).await
}

/// A document by key, of any type, with its content.
pub async fn get_by_key(tx: &mut Tx, tenant_id: i64, key: i64) -> StoreResult<Option<Document>> {
    let d = tx
        .fetch_optional(format!("{SELECT} WHERE d.tenant_id = $1 AND d.id = $2"), args![tenant_id, key], decode)
        .await?;
    with_content(tx, tenant_id, d).await
}

/// The document's header only (no groups, lines or taxes), by key, with its row
/// locked for the rest of the transaction on PostgreSQL.
pub async fn lock_header(tx: &mut Tx, tenant_id: i64, key: i64) -> StoreResult<Document> {
    let sql = format!("SELECT id FROM documents WHERE tenant_id = $1 AND id = $2{}", tx.for_update());
    tx.fetch_optional(sql, args![tenant_id, key], |r| r.i64("id"))
        .await?
        .ok_or(DomainError::NotFound { record: "document" })?;
    tx.fetch_one(format!("{SELECT} WHERE d.tenant_id = $1 AND d.id = $2"), args![tenant_id, key], decode).await
}

async fn with_content(tx: &mut Tx, tenant_id: i64, d: Option<Document>) -> StoreResult<Option<Document>> {
    match d {
        Some(mut d) => {
            load_content(tx, tenant_id, &mut d).await?;
            Ok(Some(d))
        }
        None => Ok(None),
    }
}

/// Filters of a document list.
#[derive(Debug, Clone)]
pub struct DocumentQuery {
    pub doc_type: DocType,
    pub visibility: Visibility,
    pub account_key: Option<i64>,
    pub status: Option<DocStatus>,
    /// Only documents still in progress: quotes not yet decided, open orders,
    /// invoices with a balance, credit notes not yet applied.
    pub open_only: bool,
    /// Only invoices past due with a balance.
    pub overdue_only: bool,
    /// Words that must begin the number, the account name or the reference.
    pub words: Vec<String>,
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub origin_key: Option<i64>,
    pub cursor: Option<Cursor>,
    /// The order; newest first (no column) pages by `cursor`, the others by `sorted_after`.
    pub sort: DocSort,
    pub sorted_after: Option<SortCursor>,
    pub limit: i64,
}

/// Where documents without a due date sort (after every real one); the SQL of
/// the `due` column spells the same day.
const NO_DUE_DATE: Date = match Date::from_calendar_date(9999, time::Month::December, 31) {
    Ok(d) => d,
    Err(_) => panic!("a valid day"),
};

/// The order of a document list; without a column, newest first.
pub type DocSort = Sort<Document>;

/// The columns a document list sorts by (`?sort=`).
pub static DOC_SORTS: &[SortColumn<Document>] = &[
    SortColumn { name: "created", sql: "d.id", value: |d| SortValue::Int(d.key) },
    SortColumn { name: "date", sql: "d.doc_date", value: |d| SortValue::Date(d.date) },
    SortColumn {
        name: "number",
        sql: "COALESCE(d.number, '')",
        value: |d| SortValue::Text(d.number.clone().unwrap_or_default()),
    },
    SortColumn { name: "account", sql: "d.account_name", value: |d| SortValue::Text(d.account_name.clone()) },
    SortColumn { name: "total", sql: "d.total_minor", value: |d| SortValue::Int(d.total_minor) },
    // Documents without a due date sort after every real one.
    SortColumn {
        name: "due",
        sql: "COALESCE(d.due_date, '9999-12-31')",
        value: |d| SortValue::Date(d.due_date.unwrap_or(NO_DUE_DATE)),
    },
];

impl DocumentQuery {
    pub fn new(doc_type: DocType) -> Self {
        Self {
            doc_type,
            visibility: Visibility::All,
            account_key: None,
            status: None,
            open_only: false,
            overdue_only: false,
            words: vec![],
            from: None,
            to: None,
            origin_key: None,
            cursor: None,
            sort: DocSort::default(),
            sorted_after: None,
            limit: 50,
        }
    }
}

/// Documents, newest first (headers only).
pub async fn list(tx: &mut Tx, tenant_id: i64, q: &DocumentQuery) -> StoreResult<Page<Document>> {
    let mut sql = format!("{SELECT} WHERE d.tenant_id = $1");
    let mut a = args![tenant_id];
    and_where(&mut sql, &mut a, "d.doc_type = $?", q.doc_type.as_str());
    q.visibility.push_on("a.owner_id", "a.team_id", &mut sql, &mut a);
    if let Some(k) = q.account_key {
        and_where(&mut sql, &mut a, "d.account_id = $?", k);
    }
    if let Some(s) = q.status {
        and_where(&mut sql, &mut a, "d.status = $?", s.as_str());
    }
    if let Some(k) = q.origin_key {
        and_where(&mut sql, &mut a, "d.origin_id = $?", k);
    }
    if q.open_only {
        sql.push_str(match q.doc_type {
            DocType::Quote => " AND d.status IN ('draft', 'sent', 'accepted')",
            DocType::SalesOrder => " AND d.status IN ('draft', 'open')",
            DocType::Invoice => " AND d.status IN ('draft', 'issued', 'part_paid')",
            DocType::CreditNote | DocType::BillCredit => " AND d.status IN ('draft', 'issued')",
            DocType::PurchaseOrder => {
                " AND d.status IN ('draft', 'sent', 'confirmed', 'part_received', 'received', 'part_billed', 'billed')"
            }
            DocType::Receipt => " AND d.status = 'draft'",
            DocType::Bill => " AND d.status IN ('draft', 'issued', 'part_paid')",
        });
    }
    if q.overdue_only {
        and_where(
            &mut sql,
            &mut a,
            "d.status IN ('issued', 'part_paid') AND d.balance_minor > 0 AND d.due_date < $?",
            now().date(),
        );
    }
    if let Some(f) = q.from {
        and_where(&mut sql, &mut a, "d.doc_date >= $?", f);
    }
    if let Some(t) = q.to {
        and_where(&mut sql, &mut a, "d.doc_date <= $?", t);
    }
    for w in &q.words {
        a.push(format!("{}%", w.to_uppercase()).into());
        let n = a.len();
        a.push(format!("% {}%", w.to_uppercase()).into());
        let m = a.len();
        sql.push_str(&format!(
            " AND (UPPER(COALESCE(d.number, '')) LIKE ${n} OR UPPER(d.account_name) LIKE ${n} \
             OR UPPER(d.account_name) LIKE ${m} OR UPPER(COALESCE(d.reference, '')) LIKE ${n})"
        ));
    }
    let mut f = ListSql { sql, args: a };
    let limit = f.sorted_page("d.id", true, q.sort, q.cursor, q.sorted_after.as_ref(), q.limit);
    let rows = tx.fetch_all(f.sql, f.args, decode).await?;
    let mut page = Page::from_rows(rows, limit, |d| d.key);
    load_external_ids(tx, tenant_id, &mut page).await?;
    Ok(page)
}

/// Fills the external ids of a page of documents.
async fn load_external_ids(tx: &mut Tx, tenant_id: i64, page: &mut Page<Document>) -> StoreResult<()> {
    let keys: Vec<i64> = page.items.iter().map(|d| d.key).collect();
    let ext = external_ids::load(tx, EXTERNAL, tenant_id, &keys).await?;
    for d in &mut page.items {
        d.external_ids = ext.iter().filter(|(k, _)| *k == d.key).map(|(_, e)| e.clone()).collect();
    }
    Ok(())
}

/// The document of `doc_type` with this number, if any.
pub async fn get_by_number(
    tx: &mut Tx,
    tenant_id: i64,
    doc_type: DocType,
    number: &str,
) -> StoreResult<Option<Document>> {
    let d = tx
        .fetch_optional(
            format!("{SELECT} WHERE d.tenant_id = $1 AND d.doc_type = $2 AND d.number = $3"),
            args![tenant_id, doc_type.as_str(), number.trim()],
            decode,
        )
        .await?;
    with_content(tx, tenant_id, d).await
}

/// The document holding this id in another system, if it is of `doc_type`.
pub async fn get_by_external_id(
    tx: &mut Tx,
    tenant_id: i64,
    doc_type: DocType,
    e: &ExternalId,
) -> StoreResult<Option<Document>> {
    match external_ids::owner_of(tx, EXTERNAL, tenant_id, e).await? {
        Some(key) => Ok(get_by_key(tx, tenant_id, key).await?.filter(|d| d.doc_type == doc_type)),
        None => Ok(None),
    }
}

// ---------------------------------------------------------------------------
// Writing content

/// One line as entered. Unset fields take defaults from the product, the
/// price list and the account's tax treatment.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    /// `product` (default with a `product_id`), `text` (default without),
    /// `comment` or `shipping`.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub kind: Option<LineKind>,
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub product_id: Option<PublicId>,
    /// Default: the product's name.
    #[serde(default)]
    pub description: Option<String>,
    /// Default 1 (0 for comments).
    #[schema(value_type = Option<String>, example = "3")]
    #[serde(default)]
    pub quantity: Option<Decimal>,
    /// Default: the price-list price for the quantity, or the product's list price.
    #[schema(value_type = Option<String>, example = "12.50")]
    #[serde(default)]
    pub unit_price: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub discount_percent: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub discount_amount: Option<Decimal>,
    /// Default: the taxes of the product's tax category that apply to the account.
    #[schema(value_type = Option<Vec<String>>)]
    #[serde(default)]
    pub tax_ids: Option<Vec<PublicId>>,
    /// The line this one comes from: an order line (invoices), an invoice
    /// line (credit notes). Set by conversions; may be given on drafts.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub origin_line_id: Option<PublicId>,
    /// Quotes and sales orders, goods only: the product's supplier delivers
    /// the line to the customer (default false).
    #[serde(default)]
    pub drop_ship: Option<bool>,
}

/// One group as entered.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupInput {
    #[serde(default)]
    pub name: String,
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub discount_percent: Option<Decimal>,
    #[serde(default)]
    pub show_subtotal: bool,
    #[serde(default)]
    pub lines: Vec<LineInput>,
}

/// The header fields of a document as entered; `None` keeps the current
/// value on an update, or takes the default on create.
#[derive(Debug, Clone, Default)]
pub struct HeaderInput {
    pub currency: Option<Currency>,
    pub date: Option<Date>,
    pub valid_until: Option<Option<Date>>,
    pub payment_terms_id: Option<Option<PublicId>>,
    pub price_list_id: Option<Option<PublicId>>,
    pub warehouse_id: Option<Option<PublicId>>,
    pub invoice_policy: Option<InvoicePolicy>,
    pub prices_include_tax: Option<bool>,
    pub tax_rounding: Option<TaxRounding>,
    pub reference: Option<Option<String>>,
    pub notes: Option<String>,
    /// Receipts in a foreign currency: company-currency units per unit of the document currency.
    pub exchange_rate: Option<Option<Decimal>>,
    /// On create only: the delivery address (a postal-address snapshot)
    /// instead of the account's shipping address — a drop-ship purchase
    /// order delivers to the customer.
    pub deliver_to: Option<serde_json::Value>,
    /// The document's ids in other systems; `None` keeps them on an update.
    pub external_ids: Option<Vec<ExternalId>>,
}

/// A new document.
#[derive(Debug, Clone)]
pub struct NewDocument {
    pub doc_type: DocType,
    pub account_id: PublicId,
    pub header: HeaderInput,
    pub groups: Vec<GroupInput>,
    /// The document it is made from (conversions).
    pub origin_key: Option<i64>,
}

/// A line ready to store: inputs resolved, priced afterwards.
struct Resolved {
    kind: LineKind,
    product: Option<Product>,
    description: String,
    unit: String,
    quantity: Decimal,
    unit_price: Decimal,
    discount_percent: Decimal,
    discount_amount: Decimal,
    taxes: Vec<taxes::Tax>,
    origin_key: Option<i64>,
    supplier_code: Option<String>,
    drop_ship: bool,
}

/// The header as it will be stored.
struct Header {
    currency: Currency,
    date: Date,
    valid_until: Option<Date>,
    payment_terms_key: Option<i64>,
    price_list: Option<price_lists::PriceList>,
    warehouse_key: Option<i64>,
    invoice_policy: Option<InvoicePolicy>,
    prices_include_tax: bool,
    tax_rounding: TaxRounding,
    reference: Option<String>,
    notes: String,
    exchange_rate_e8: Option<i64>,
    /// Purchase documents: the supplier whose costs and codes are the line defaults.
    purchase: bool,
    /// Quotes and sales orders: lines may be drop-shipped.
    sales: bool,
}

fn clean_text(v: &mut Validator, field: &str, s: Option<&str>, max: usize) -> Option<String> {
    let s = s.map(str::trim).filter(|s| !s.is_empty())?;
    if s.chars().count() > max {
        v.add(field, format!("must be at most {max} characters"));
    }
    Some(s.to_string())
}

async fn resolve_header(
    tx: &mut Tx,
    tenant_id: i64,
    doc_type: DocType,
    account: &accounts::Account,
    before: Option<&Document>,
    h: &HeaderInput,
) -> StoreResult<Header> {
    let mut v = Validator::new();
    let reference = match &h.reference {
        Some(r) => clean_text(&mut v, "reference", r.as_deref(), 100),
        None => before.and_then(|b| b.reference.clone()),
    };
    let notes = match &h.notes {
        Some(n) => clean_text(&mut v, "notes", Some(n), 4000).unwrap_or_default(),
        None => before.map(|b| b.notes.clone()).unwrap_or_default(),
    };
    v.finish()?;
    let currency = h.currency.or(before.map(|b| b.currency)).unwrap_or(account.currency);
    let date = h.date.or(before.map(|b| b.date)).unwrap_or_else(|| now().date());
    let valid_until = match h.valid_until {
        Some(d) => d,
        None => match before {
            Some(b) => b.valid_until,
            None if doc_type == DocType::Quote => date.checked_add(time::Duration::days(30)),
            None => None,
        },
    };
    if let Some(vu) = valid_until.filter(|vu| *vu < date) {
        return Err(DomainError::invalid("valid_until", format!("{vu} is before the document date {date}")).into());
    }
    let payment_terms_key = match h.payment_terms_id {
        Some(Some(id)) => Some(
            crate::payment_terms::get(tx, tenant_id, id)
                .await?
                .ok_or_else(|| DomainError::invalid("payment_terms_id", "is not the id of payment terms"))?
                .key,
        ),
        Some(None) => None,
        None => match before {
            Some(b) => b.payment_terms_key,
            None => account.payment_terms_key,
        },
    };
    let list_id = match h.price_list_id {
        Some(id) => id,
        None => match before {
            Some(b) => b.price_list_id,
            // Sales price lists do not price what is bought.
            None if doc_type.is_purchase() => None,
            None => account_price_list(tx, tenant_id, account.key).await?,
        },
    };
    let price_list = match list_id {
        Some(id) => Some(
            price_lists::get(tx, tenant_id, id)
                .await?
                .ok_or_else(|| DomainError::invalid("price_list_id", "is not the id of a price list"))?,
        ),
        None => None,
    };
    // Sales orders: where stock is reserved and shipped from (default the
    // first active warehouse). Credit notes: where credited goods return to
    // stock when issued (none: nothing returns). Purchase orders and
    // receipts: where goods are received.
    let takes_warehouse =
        matches!(doc_type, DocType::SalesOrder | DocType::CreditNote | DocType::PurchaseOrder | DocType::Receipt);
    let warehouse_key = if takes_warehouse {
        match h.warehouse_id {
            Some(Some(id)) => {
                let w = catalog::get_warehouse(tx, tenant_id, id)
                    .await?
                    .ok_or_else(|| DomainError::invalid("warehouse_id", "is not the id of a warehouse"))?;
                if !w.active {
                    return Err(DomainError::invalid("warehouse_id", format!("{} is inactive", w.name)).into());
                }
                Some(w.key)
            }
            Some(None) => None,
            None => match before {
                Some(b) => b.warehouse_key,
                None if doc_type == DocType::SalesOrder => default_warehouse(tx, tenant_id).await?,
                None => None,
            },
        }
    } else {
        if matches!(h.warehouse_id, Some(Some(_))) {
            return Err(DomainError::invalid(
                "warehouse_id",
                "is taken by sales orders, credit notes, purchase orders and receipts only",
            )
            .into());
        }
        None
    };
    if doc_type == DocType::Receipt && warehouse_key.is_none() {
        return Err(
            DomainError::invalid("warehouse_id", "is required: the warehouse the goods are received into").into()
        );
    }
    let exchange_rate_e8 = match h.exchange_rate {
        Some(Some(r)) => {
            if r <= Decimal::ZERO || r.scale() > 8 {
                return Err(DomainError::invalid(
                    "exchange_rate",
                    "must be above 0 with at most 8 decimals (company-currency units per unit of the document currency)",
                )
                .into());
            }
            Some(i64::try_from((r * Decimal::from(100_000_000i64)).trunc()).unwrap_or(i64::MAX))
        }
        Some(None) => None,
        None => before.and_then(|b| b.exchange_rate_e8),
    };
    if exchange_rate_e8.is_some() && doc_type != DocType::Receipt {
        return Err(DomainError::invalid("exchange_rate", "is taken by receipts only").into());
    }
    let invoice_policy = if doc_type == DocType::SalesOrder {
        Some(h.invoice_policy.or(before.and_then(|b| b.invoice_policy)).unwrap_or(InvoicePolicy::Shipped))
    } else {
        None
    };
    Ok(Header {
        currency,
        date,
        valid_until,
        payment_terms_key,
        price_list,
        warehouse_key,
        invoice_policy,
        prices_include_tax: h.prices_include_tax.or(before.map(|b| b.prices_include_tax)).unwrap_or(false),
        tax_rounding: h.tax_rounding.or(before.map(|b| b.tax_rounding)).unwrap_or_default(),
        reference,
        notes,
        exchange_rate_e8,
        purchase: doc_type.is_purchase(),
        sales: matches!(doc_type, DocType::Quote | DocType::SalesOrder),
    })
}

async fn account_price_list(tx: &mut Tx, tenant_id: i64, account: i64) -> StoreResult<Option<PublicId>> {
    tx.fetch_optional(
        "SELECT pl.public_id FROM account_price_lists ap JOIN price_lists pl ON pl.tenant_id = ap.tenant_id \
         AND pl.id = ap.price_list_id WHERE ap.tenant_id = $1 AND ap.account_id = $2",
        args![tenant_id, account],
        |r| Ok(PublicId::from_uuid(r.uuid("public_id")?)),
    )
    .await
}

/// The first active warehouse, by name: where orders ship from by default.
pub async fn default_warehouse(tx: &mut Tx, tenant_id: i64) -> StoreResult<Option<i64>> {
    tx.fetch_optional(
        "SELECT id FROM warehouses WHERE tenant_id = $1 AND active = TRUE ORDER BY name, id LIMIT 1",
        args![tenant_id],
        |r| r.i64("id"),
    )
    .await
}

/// Resolves the lines' products, prices and taxes; field errors name the line
/// (`groups[0].lines[2].product_id`).
async fn resolve_lines(
    tx: &mut Tx,
    tenant_id: i64,
    account: &accounts::Account,
    h: &Header,
    groups: &[GroupInput],
) -> StoreResult<Vec<Vec<Resolved>>> {
    let mut v = Validator::new();
    let total: usize = groups.iter().map(|g| g.lines.len()).sum();
    if total > MAX_LINES {
        v.add("groups", format!("a document has at most {MAX_LINES} lines"));
    }
    if groups.len() > 100 {
        v.add("groups", "a document has at most 100 groups");
    }
    v.finish()?;
    let mut v = Validator::new();
    let mut tax_cache: HashMap<PublicId, taxes::Tax> = HashMap::new();
    // A product's default taxes, once per document (same account and date for every line).
    let mut product_taxes: HashMap<i64, Vec<taxes::Tax>> = HashMap::new();
    let company = if h.purchase { Some(crate::tenants::currency(tx, tenant_id).await?) } else { None };
    // Every product of the document in one go, not one lookup per line.
    let wanted: Vec<PublicId> = groups.iter().flat_map(|g| g.lines.iter().filter_map(|l| l.product_id)).collect();
    let products = catalog::get_products(tx, tenant_id, &wanted).await?;
    let mut out = Vec::with_capacity(groups.len());
    for (gi, g) in groups.iter().enumerate() {
        let mut lines = Vec::with_capacity(g.lines.len());
        for (li, l) in g.lines.iter().enumerate() {
            let at = |f: &str| format!("groups[{gi}].lines[{li}].{f}");
            let product = match l.product_id {
                Some(id) => {
                    let p = products
                        .get(&id)
                        .cloned()
                        .ok_or_else(|| DomainError::invalid(at("product_id"), "is not the id of a product"))?;
                    if !p.active {
                        v.add(at("product_id"), format!("{} is inactive", p.sku));
                    }
                    Some(p)
                }
                None => None,
            };
            let kind = l.kind.unwrap_or(if product.is_some() { LineKind::Product } else { LineKind::Text });
            if kind == LineKind::Product && product.is_none() {
                v.add(at("product_id"), "is required on a product line");
            }
            if kind == LineKind::Comment && product.is_some() {
                v.add(at("product_id"), "is not taken by a comment line");
            }
            let description = l
                .description
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .or_else(|| product.as_ref().map(|p| p.name.clone()));
            let description = match description {
                Some(d) if d.chars().count() <= 2000 => d,
                Some(_) => {
                    v.add(at("description"), "must be at most 2000 characters");
                    String::new()
                }
                None => {
                    v.add(at("description"), "is required on a line without a product");
                    String::new()
                }
            };
            let quantity = l.quantity.unwrap_or(if kind == LineKind::Comment { Decimal::ZERO } else { Decimal::ONE });
            if kind != LineKind::Comment && quantity <= Decimal::ZERO {
                v.add(at("quantity"), "must be above 0");
            }
            // Purchase documents: the supplier's cost and code from the product's supplier list.
            let supplier = product
                .as_ref()
                .filter(|_| h.purchase)
                .and_then(|p| p.suppliers.iter().find(|s| s.supplier_id == account.id).map(|s| (p, s.clone())));
            let supplier_code = supplier.as_ref().and_then(|(_, s)| s.supplier_code.clone());
            let unit_price = match (l.unit_price, &product) {
                (Some(p), _) => p,
                (None, Some(p)) if h.purchase => match &supplier {
                    Some((_, s)) if s.currency == h.currency.code() => s.cost.parse().unwrap_or_default(),
                    Some((_, s)) => {
                        v.add(
                            at("unit_price"),
                            format!(
                                "{} costs {} {} at this supplier, not {}: give the unit price",
                                p.sku,
                                s.cost,
                                s.currency,
                                h.currency.code()
                            ),
                        );
                        Decimal::ZERO
                    }
                    None if company == Some(h.currency) => p.cost.parse().unwrap_or_default(),
                    None => {
                        v.add(
                            at("unit_price"),
                            format!(
                                "{} has no cost from this supplier in {}: give the unit price",
                                p.sku,
                                h.currency.code()
                            ),
                        );
                        Decimal::ZERO
                    }
                },
                (None, Some(p)) if quantity > Decimal::ZERO && quantity.scale() <= 4 => {
                    let q =
                        price_lists::resolve_in_list(tx, tenant_id, p, h.price_list.as_ref(), to_e4(quantity), h.date)
                            .await?;
                    if q.currency != h.currency {
                        v.add(
                            at("unit_price"),
                            format!("{} has no price in {}: give the unit price", p.sku, h.currency.code()),
                        );
                    }
                    Decimal::new(q.resolved.price, 4)
                }
                _ => Decimal::ZERO,
            };
            let taxes = match &l.tax_ids {
                Some(ids) => {
                    let mut ts = Vec::new();
                    for (ti, id) in ids.iter().enumerate() {
                        let t = match tax_cache.get(id) {
                            Some(t) => t.clone(),
                            None => match taxes::get_tax(tx, tenant_id, *id).await? {
                                Some(t) => {
                                    tax_cache.insert(*id, t.clone());
                                    t
                                }
                                None => {
                                    v.add(format!("groups[{gi}].lines[{li}].tax_ids[{ti}]"), "is not the id of a tax");
                                    continue;
                                }
                            },
                        };
                        ts.push(t);
                    }
                    ts
                }
                None => match (&product, kind) {
                    (Some(p), LineKind::Product) => match product_taxes.get(&p.key) {
                        Some(ts) => ts.clone(),
                        None => {
                            let ts = taxes::applicable(tx, tenant_id, p, account.tax_treatment, h.date).await?;
                            product_taxes.insert(p.key, ts.clone());
                            ts
                        }
                    },
                    _ => vec![],
                },
            };
            let drop_ship = l.drop_ship.unwrap_or(false);
            if drop_ship {
                if !h.sales {
                    v.add(at("drop_ship"), "only quote and sales-order lines are drop-shipped");
                } else if kind != LineKind::Product
                    || product.as_ref().is_some_and(|p| p.kind != nave_domain::catalog::ProductKind::Goods)
                {
                    v.add(at("drop_ship"), "only lines of goods are drop-shipped");
                }
            }
            lines.push(Resolved {
                drop_ship,
                kind,
                unit: product.as_ref().map(|p| p.unit.clone()).unwrap_or_else(|| "unit".into()),
                product,
                description,
                quantity,
                unit_price,
                discount_percent: l.discount_percent.unwrap_or_default(),
                discount_amount: l.discount_amount.unwrap_or_default(),
                taxes,
                origin_key: None,
                supplier_code,
            });
        }
        out.push(lines);
    }
    v.finish()?;
    Ok(out)
}

fn engine_input(h: &Header, groups: &[GroupInput], lines: &[Vec<Resolved>]) -> pricing::DocumentInput {
    pricing::DocumentInput {
        currency: h.currency,
        prices_include_tax: h.prices_include_tax,
        tax_rounding: h.tax_rounding,
        groups: groups
            .iter()
            .zip(lines)
            .map(|(g, ls)| pricing::GroupInput {
                discount_percent: g.discount_percent.unwrap_or_default(),
                lines: ls
                    .iter()
                    .map(|l| pricing::LineInput {
                        kind: l.kind,
                        quantity: l.quantity,
                        unit_price: l.unit_price,
                        discount_percent: l.discount_percent,
                        discount_amount: l.discount_amount,
                        taxes: l
                            .taxes
                            .iter()
                            .map(|t| TaxRate {
                                id: t.id.to_string(),
                                name: t.name.clone(),
                                rate_percent: t.rate.parse().unwrap_or_default(),
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// Lines (or line taxes) per multi-row statement.
const LINE_CHUNK: usize = 50;

/// Writes groups, lines, line taxes and itemized taxes, and the totals onto
/// the document row. The document has no content when this is called.
async fn insert_content(
    tx: &mut Tx,
    tenant_id: i64,
    doc_key: i64,
    h: &Header,
    groups: &[GroupInput],
    lines: &[Vec<Resolved>],
) -> StoreResult<()> {
    let priced = pricing::price(&engine_input(h, groups, lines))?;
    let tax_keys: HashMap<String, i64> =
        lines.iter().flatten().flat_map(|l| l.taxes.iter().map(|t| (t.id.to_string(), t.key))).collect();
    let mut position = 0i64;
    for (gi, ((g, ls), pg)) in groups.iter().zip(lines).zip(&priced.groups).enumerate() {
        let sql = format!(
            "INSERT INTO document_groups (tenant_id, id, public_id, document_id, position, name, discount_percent_e4, \
             show_subtotal, net_minor) VALUES ($1, {}, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            tx.new_id_expr("document_groups", "$1")
        );
        let name = g.name.trim();
        if name.chars().count() > 200 {
            return Err(DomainError::invalid(format!("groups[{gi}].name"), "must be at most 200 characters").into());
        }
        let group_key = tx
            .fetch_one(
                sql,
                args![
                    tenant_id,
                    PublicId::new(),
                    doc_key,
                    gi as i64,
                    name,
                    to_e4(g.discount_percent.unwrap_or_default()),
                    g.show_subtotal,
                    pg.net.minor()
                ],
                |r| r.i64("id"),
            )
            .await?;
        // The group's lines in multi-row statements: each row carries a public id made here,
        // which maps the keys the database returns back to the lines.
        let rows: Vec<(PublicId, &Resolved, &pricing::PricedLine)> =
            ls.iter().zip(&pg.lines).map(|(l, pl)| (PublicId::new(), l, pl)).collect();
        let mut keys: HashMap<PublicId, i64> = HashMap::with_capacity(rows.len());
        for chunk in rows.chunks(LINE_CHUNK) {
            // SQLite: keys counted on from the highest (the write transaction holds every other writer off).
            let base = match tx.dialect() {
                crate::Dialect::Sqlite => Some(
                    tx.scalar_i64(
                        "SELECT COALESCE(MAX(id), 0) AS v FROM document_lines WHERE tenant_id = $1",
                        args![tenant_id],
                    )
                    .await?,
                ),
                crate::Dialect::Postgres => None,
            };
            let mut values = Vec::with_capacity(chunk.len());
            let mut a: Vec<Arg> = Vec::with_capacity(chunk.len() * 22);
            for (i, (public_id, l, pl)) in chunk.iter().enumerate() {
                let tax_total: i64 = pl.taxes.iter().map(|(_, m)| m.minor()).sum();
                let kind =
                    serde_json::to_value(l.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
                let id = match base {
                    Some(b) => bind(&mut a, args![b + 1 + i as i64]).join(""),
                    None => "DEFAULT".to_string(),
                };
                let p = bind(
                    &mut a,
                    args![
                        tenant_id,
                        *public_id,
                        doc_key,
                        group_key,
                        position,
                        kind,
                        l.product.as_ref().map(|p| p.key),
                        l.product.as_ref().map(|p| p.sku.clone()),
                        l.description.as_str(),
                        l.unit.as_str(),
                        to_e4(l.quantity),
                        to_e4(l.unit_price),
                        to_e4(l.discount_percent),
                        i64::try_from((l.discount_amount * Decimal::from(10i64.pow(h.currency.minor_units()))).trunc())
                            .unwrap_or(0),
                        pl.gross.minor(),
                        pl.discount.minor(),
                        pl.net.minor(),
                        pl.taxable_base.minor(),
                        tax_total,
                        l.origin_key,
                        l.supplier_code.clone(),
                        l.drop_ship
                    ],
                );
                values.push(format!("({}, {id}, {}, 0, 0, 0, 0, {}, {})", p[0], p[1..20].join(", "), p[20], p[21]));
                position += 1;
            }
            let sql = format!(
                "INSERT INTO document_lines (tenant_id, id, public_id, document_id, group_id, position, kind, product_id, \
                 sku, description, unit, quantity_e4, unit_price_e4, discount_percent_e4, discount_amount_minor, \
                 gross_minor, discount_minor, net_minor, taxable_base_minor, tax_minor, origin_line_id, qty_reserved_e4, \
                 qty_shipped_e4, qty_invoiced_e4, qty_credited_e4, supplier_code, drop_ship) VALUES {} RETURNING id, public_id",
                values.join(", ")
            );
            for (public_id, key) in
                tx.fetch_all(sql, a, |r| Ok((PublicId::from_uuid(r.uuid("public_id")?), r.i64("id")?))).await?
            {
                keys.insert(public_id, key);
            }
        }
        // Their taxes, also in multi-row statements.
        let taxes: Vec<Vec<Arg>> = rows
            .iter()
            .flat_map(|(public_id, l, pl)| {
                let line_key = keys.get(public_id).copied().unwrap_or_default();
                l.taxes.iter().zip(&pl.taxes).enumerate().map(move |(ti, (t, (_, amount)))| {
                    args![
                        tenant_id,
                        line_key,
                        ti as i64,
                        t.key,
                        t.name.as_str(),
                        nave_domain::tax::rate_to_stored(t.rate.parse().unwrap_or_default()),
                        amount.minor()
                    ]
                })
            })
            .collect();
        for chunk in taxes.chunks(LINE_CHUNK) {
            let mut values = Vec::with_capacity(chunk.len());
            let mut a: Vec<Arg> = Vec::with_capacity(chunk.len() * 7);
            for row in chunk {
                values.push(format!("({})", bind(&mut a, row.iter().cloned()).join(", ")));
            }
            tx.execute(
                format!(
                    "INSERT INTO document_line_taxes (tenant_id, line_id, position, tax_id, name, rate_e4, amount_minor) \
                     VALUES {}",
                    values.join(", ")
                ),
                a,
            )
            .await?;
        }
    }
    for (i, t) in priced.totals.taxes.iter().enumerate() {
        tx.execute(
            "INSERT INTO document_taxes (tenant_id, document_id, position, tax_id, name, rate_e4, base_minor, amount_minor) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            args![
                tenant_id,
                doc_key,
                i as i64,
                tax_keys.get(&t.tax_id).copied().unwrap_or_default(),
                t.name.as_str(),
                nave_domain::tax::rate_to_stored(t.rate),
                t.base.minor(),
                t.amount.minor()
            ],
        )
        .await?;
    }
    let tot = &priced.totals;
    tx.execute(
        "UPDATE documents SET subtotal_minor = $3, discount_minor = $4, net_minor = $5, shipping_minor = $6, \
         tax_minor = $7, total_minor = $8, balance_minor = $8 - settled_minor WHERE tenant_id = $1 AND id = $2",
        args![
            tenant_id,
            doc_key,
            tot.subtotal.minor(),
            tot.discount.minor(),
            tot.net.minor(),
            tot.shipping.minor(),
            tot.tax.minor(),
            tot.total.minor()
        ],
    )
    .await?;
    Ok(())
}

async fn delete_content(tx: &mut Tx, tenant_id: i64, doc_key: i64) -> StoreResult<()> {
    tx.execute(
        "DELETE FROM document_line_taxes WHERE tenant_id = $1 AND line_id IN \
         (SELECT id FROM document_lines WHERE tenant_id = $1 AND document_id = $2)",
        args![tenant_id, doc_key],
    )
    .await?;
    tx.execute("DELETE FROM document_lines WHERE tenant_id = $1 AND document_id = $2", args![tenant_id, doc_key])
        .await?;
    tx.execute("DELETE FROM document_groups WHERE tenant_id = $1 AND document_id = $2", args![tenant_id, doc_key])
        .await?;
    tx.execute("DELETE FROM document_taxes WHERE tenant_id = $1 AND document_id = $2", args![tenant_id, doc_key])
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Lineage: the quantity ledger of origin lines

/// A locked document line: its document and ledger.
#[derive(Debug, Clone)]
pub(crate) struct OriginLine {
    pub key: i64,
    pub document_key: i64,
    pub doc_type: DocType,
    pub origin_key: Option<i64>,
    pub ledger: LineLedger,
}

const ORIGIN_LINE: &str = "SELECT l.id, l.document_id, l.origin_line_id, l.quantity_e4, l.qty_reserved_e4, \
     l.qty_shipped_e4, l.qty_invoiced_e4, l.qty_credited_e4, d.doc_type FROM document_lines l \
     JOIN documents d ON d.tenant_id = l.tenant_id AND d.id = l.document_id";

fn lock_clause(tx: &Tx) -> &'static str {
    match tx.dialect() {
        crate::Dialect::Postgres => " FOR UPDATE OF l",
        crate::Dialect::Sqlite => "",
    }
}

fn decode_origin_line(r: &dyn DbRow) -> StoreResult<OriginLine> {
    Ok(OriginLine {
        key: r.i64("id")?,
        document_key: r.i64("document_id")?,
        doc_type: parsed(r.text("doc_type")?.parse())?,
        origin_key: r.opt_i64("origin_line_id")?,
        ledger: LineLedger {
            ordered: r.i64("quantity_e4")?,
            reserved: r.i64("qty_reserved_e4")?,
            shipped: r.i64("qty_shipped_e4")?,
            invoiced: r.i64("qty_invoiced_e4")?,
            credited: r.i64("qty_credited_e4")?,
        },
    })
}

/// A document line with its row locked for the rest of the transaction
/// (`FOR UPDATE` on PostgreSQL; SQLite's writer excludes every other).
pub(crate) async fn lock_line(tx: &mut Tx, tenant_id: i64, key: i64) -> StoreResult<OriginLine> {
    let sql = format!("{ORIGIN_LINE} WHERE l.tenant_id = $1 AND l.id = $2{}", lock_clause(tx));
    tx.fetch_optional(sql, args![tenant_id, key], decode_origin_line)
        .await?
        .ok_or_else(|| DomainError::NotFound { record: "document line" }.into())
}

/// Several lines locked at once, in key order (so two writers never wait
/// for each other in a circle), keyed by line key.
pub(crate) async fn lock_lines(tx: &mut Tx, tenant_id: i64, keys: &[i64]) -> StoreResult<HashMap<i64, OriginLine>> {
    let mut keys = keys.to_vec();
    keys.sort_unstable();
    keys.dedup();
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    // Keys are integers from the database, safe to inline.
    let list = keys.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    let sql = format!("{ORIGIN_LINE} WHERE l.tenant_id = $1 AND l.id IN ({list}) ORDER BY l.id{}", lock_clause(tx));
    let rows = tx.fetch_all(sql, args![tenant_id], decode_origin_line).await?;
    Ok(rows.into_iter().map(|l| (l.key, l)).collect())
}

/// The quantity ledgers of several lines, locked at once as [`lock_lines`]
/// does, in key order.
pub(crate) async fn lock_ledgers(
    tx: &mut Tx,
    tenant_id: i64,
    keys: &[i64],
) -> StoreResult<std::collections::BTreeMap<i64, LineLedger>> {
    Ok(lock_lines(tx, tenant_id, keys).await?.into_iter().map(|(k, l)| (k, l.ledger)).collect())
}

async fn store_ledger(tx: &mut Tx, tenant_id: i64, key: i64, l: &LineLedger) -> StoreResult<()> {
    tx.execute(
        "UPDATE document_lines SET qty_reserved_e4 = $3, qty_shipped_e4 = $4, qty_invoiced_e4 = $5, qty_credited_e4 = $6 \
         WHERE tenant_id = $1 AND id = $2",
        args![tenant_id, key, l.reserved, l.shipped, l.invoiced, l.credited],
    )
    .await?;
    Ok(())
}

/// The refusal of a receipt or bill line beyond what the purchase-order line
/// allows: names the field, what is left and, with a tolerance, the limit it gives.
pub(crate) fn over_ordered(
    field: &str,
    verb: &str,
    e: &nave_domain::document::LedgerRefusal,
    ordered: i64,
    tolerance_e1: i64,
) -> StoreError {
    let limit = if tolerance_e1 > 0 {
        format!(
            "ordered {}, with the {} % receiving tolerance at most {} in all",
            format_quantity(ordered),
            crate::company::format_tolerance(tolerance_e1),
            format_quantity(ordered + crate::company::allowance(ordered, tolerance_e1))
        )
    } else {
        format!("ordered {}", format_quantity(ordered))
    };
    StoreError::from(DomainError::invalid(
        field,
        format!(
            "{} is more than the {} left to {verb} on that line ({limit})",
            format_quantity(e.asked),
            format_quantity(e.left)
        ),
    ))
}

/// Adds (`sign` = 1) or gives back (`sign` = -1) the quantities of a
/// document's lines on their origin lines: invoice lines on order lines
/// (invoiced), credit-note lines on invoice lines and their order lines
/// (credited). Refusals name the line and what is left.
pub(crate) async fn apply_lineage(
    tx: &mut Tx,
    tenant_id: i64,
    doc_type: DocType,
    lines: &[(String, Option<i64>, i64)],
    sign: i64,
) -> StoreResult<()> {
    let mut orders = std::collections::BTreeSet::new();
    let mut purchases = std::collections::BTreeSet::new();
    let origins: Vec<i64> = lines.iter().filter_map(|(_, o, _)| *o).collect();
    let mut locked = lock_lines(tx, tenant_id, &origins).await?;
    // The receiving tolerance, read when a bill line first needs it.
    let mut tolerance: Option<i64> = None;
    for (field, origin, qty) in lines {
        let Some(origin) = origin else { continue };
        // A line may be the origin of several lines: each takes the ledger the one before left.
        let mut o = locked.get(origin).cloned().ok_or(DomainError::NotFound { record: "document line" })?;
        let refuse = |e: nave_domain::document::LedgerRefusal| {
            let verb = match (doc_type, e.verb) {
                (DocType::Bill, "invoice") => "bill",
                (_, v) => v,
            };
            StoreError::from(DomainError::invalid(
                format!("{field}.quantity"),
                format!(
                    "{} is more than the {} left to {verb} on that line",
                    format_quantity(e.asked),
                    format_quantity(e.left),
                ),
            ))
        };
        match (doc_type, o.doc_type) {
            (DocType::Invoice, DocType::SalesOrder) => {
                if sign > 0 {
                    o.ledger.invoice(*qty).map_err(refuse)?;
                } else {
                    o.ledger.uninvoice(*qty);
                }
                store_ledger(tx, tenant_id, o.key, &o.ledger).await?;
                orders.insert(o.document_key);
            }
            (DocType::Bill, DocType::PurchaseOrder) => {
                if sign > 0 {
                    let tolerance = match tolerance {
                        Some(t) => t,
                        None => *tolerance.insert(crate::company::receiving_tolerance_e1(tx, tenant_id).await?),
                    };
                    let ordered = o.ledger.ordered;
                    o.ledger
                        .bill(*qty, crate::company::allowance(ordered, tolerance))
                        .map_err(|e| over_ordered(&format!("{field}.quantity"), "bill", &e, ordered, tolerance))?;
                } else {
                    o.ledger.uninvoice(*qty);
                }
                store_ledger(tx, tenant_id, o.key, &o.ledger).await?;
                purchases.insert(o.document_key);
            }
            // A receipt's quantities move onto the order line when it is received, not while it is a draft.
            (DocType::Receipt, DocType::PurchaseOrder) => {}
            (DocType::CreditNote, DocType::Invoice) | (DocType::BillCredit, DocType::Bill) => {
                if sign > 0 {
                    // On an invoice line, what is invoiced is the line's own quantity.
                    let own = o.ledger.ordered.max(o.ledger.invoiced);
                    let mut inv = LineLedger { ordered: own, invoiced: own, ..o.ledger };
                    inv.credit(*qty).map_err(refuse)?;
                    o.ledger.credited = inv.credited;
                } else {
                    o.ledger.uncredit(*qty);
                }
                store_ledger(tx, tenant_id, o.key, &o.ledger).await?;
                if let Some(order_line) = o.origin_key {
                    let mut ol = lock_line(tx, tenant_id, order_line).await?;
                    if sign > 0 {
                        ol.ledger.credit(*qty).map_err(refuse)?;
                    } else {
                        ol.ledger.uncredit(*qty);
                    }
                    store_ledger(tx, tenant_id, ol.key, &ol.ledger).await?;
                }
            }
            (DocType::SalesOrder, DocType::Quote) | (DocType::Invoice, DocType::Quote) => {}
            (t, o_t) => {
                return Err(DomainError::invalid(
                    format!("{field}.origin_line_id"),
                    format!("a {} line cannot come from a {} line", t.label(), o_t.label()),
                )
                .into());
            }
        }
        locked.insert(o.key, o);
    }
    // Once per order, after all its lines moved.
    for order in orders {
        refresh_order_status(tx, tenant_id, order).await?;
    }
    for order in purchases {
        refresh_purchase_status(tx, tenant_id, order).await?;
    }
    Ok(())
}

/// Moves a confirmed purchase order between `confirmed`, `part_received`,
/// `received`, `part_billed`, `billed` and `completed` from its lines'
/// received and billed quantities (`nave_domain::document::purchase_status`).
/// Drafts, sent and cancelled orders are left alone.
pub(crate) async fn refresh_purchase_status(tx: &mut Tx, tenant_id: i64, order_key: i64) -> StoreResult<()> {
    let lines = tx
        .fetch_all(
            "SELECT l.quantity_e4, l.qty_shipped_e4, l.qty_invoiced_e4, p.kind AS product_kind \
             FROM document_lines l LEFT JOIN products p ON p.tenant_id = l.tenant_id AND p.id = l.product_id \
             WHERE l.tenant_id = $1 AND l.document_id = $2 AND l.kind <> 'comment'",
            args![tenant_id, order_key],
            |r| {
                let goods = matches!(r.opt_text("product_kind")?.as_deref(), Some("goods"));
                let l = LineLedger {
                    ordered: r.i64("quantity_e4")?,
                    shipped: r.i64("qty_shipped_e4")?,
                    invoiced: r.i64("qty_invoiced_e4")?,
                    ..Default::default()
                };
                Ok((l, goods))
            },
        )
        .await?;
    let to = rules::purchase_status(&lines);
    tx.execute(
        "UPDATE documents SET status = $3, version = version + 1, updated_at = $4 \
         WHERE tenant_id = $1 AND id = $2 AND doc_type = 'purchase_order' AND status <> $3 \
         AND status IN ('confirmed', 'part_received', 'received', 'part_billed', 'billed', 'completed')",
        args![tenant_id, order_key, to.as_str(), now()],
    )
    .await?;
    Ok(())
}

/// Marks an open order `completed` once every line is shipped (goods) and
/// invoiced in full, and back `open` when that stops being true (a voided invoice).
pub(crate) async fn refresh_order_status(tx: &mut Tx, tenant_id: i64, order_key: i64) -> StoreResult<()> {
    let rows = tx
        .fetch_all(
            "SELECT l.kind, l.quantity_e4, l.qty_shipped_e4, l.qty_invoiced_e4, p.kind AS product_kind \
             FROM document_lines l LEFT JOIN products p ON p.tenant_id = l.tenant_id AND p.id = l.product_id \
             WHERE l.tenant_id = $1 AND l.document_id = $2 AND l.kind <> 'comment'",
            args![tenant_id, order_key],
            |r| {
                let goods = matches!(r.opt_text("product_kind")?.as_deref(), Some("goods") | Some("kit"));
                let l = LineLedger {
                    ordered: r.i64("quantity_e4")?,
                    shipped: r.i64("qty_shipped_e4")?,
                    invoiced: r.i64("qty_invoiced_e4")?,
                    ..Default::default()
                };
                Ok(l.done(goods))
            },
        )
        .await?;
    let done = !rows.is_empty() && rows.iter().all(|d| *d);
    let (from, to) = if done { ("open", "completed") } else { ("completed", "open") };
    tx.execute(
        "UPDATE documents SET status = $3, version = version + 1, updated_at = $5 \
         WHERE tenant_id = $1 AND id = $2 AND doc_type = 'sales_order' AND status = $4",
        args![tenant_id, order_key, to, from, now()],
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Create, update, delete

fn snapshot_address(account: &accounts::Account, billing: bool) -> Option<String> {
    let pick = account
        .addresses
        .iter()
        .find(|a| if billing { a.is_default_billing } else { a.is_default_shipping })
        .or(account.addresses.first())?;
    serde_json::to_string(&pick.postal()).ok()
}

async fn load_account(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<accounts::Account> {
    let a = accounts::get(tx, tenant_id, id)
        .await?
        .ok_or_else(|| DomainError::invalid("account_id", "is not the id of an account"))?;
    if a.archived {
        return Err(DomainError::invalid("account_id", format!("{} is archived", a.name)).into());
    }
    Ok(a)
}

/// Resolves `origin_line_id`s given on lines into keys, checking each
/// belongs to a document of the same account.
async fn resolve_origins(
    tx: &mut Tx,
    tenant_id: i64,
    account_key: i64,
    groups: &[GroupInput],
    lines: &mut [Vec<Resolved>],
) -> StoreResult<()> {
    let ids: Vec<PublicId> = groups.iter().flat_map(|g| g.lines.iter().filter_map(|l| l.origin_line_id)).collect();
    if ids.is_empty() {
        return Ok(());
    }
    // Every origin line in one statement.
    let mut a: Vec<Arg> = args![tenant_id];
    let marks = bind(&mut a, ids.iter().map(|id| Arg::from(*id)));
    let found: HashMap<PublicId, (i64, i64)> = tx
        .fetch_all(
            format!(
                "SELECT l.id, l.public_id, d.account_id FROM document_lines l JOIN documents d \
                 ON d.tenant_id = l.tenant_id AND d.id = l.document_id \
                 WHERE l.tenant_id = $1 AND l.public_id IN ({})",
                marks.join(", ")
            ),
            a,
            |r| Ok((PublicId::from_uuid(r.uuid("public_id")?), (r.i64("id")?, r.i64("account_id")?))),
        )
        .await?
        .into_iter()
        .collect();
    for (gi, g) in groups.iter().enumerate() {
        for (li, l) in g.lines.iter().enumerate() {
            let Some(id) = l.origin_line_id else { continue };
            match found.get(&id) {
                Some((k, a)) if *a == account_key => lines[gi][li].origin_key = Some(*k),
                _ => {
                    return Err(DomainError::invalid(
                        format!("groups[{gi}].lines[{li}].origin_line_id"),
                        "is not the id of a line of a document of this account",
                    )
                    .into());
                }
            }
        }
    }
    Ok(())
}

fn lineage_of(lines: &[Vec<Resolved>]) -> Vec<(String, Option<i64>, i64)> {
    lines
        .iter()
        .enumerate()
        .flat_map(|(gi, ls)| {
            ls.iter()
                .enumerate()
                .map(move |(li, l)| (format!("groups[{gi}].lines[{li}]"), l.origin_key, to_e4(l.quantity)))
        })
        .collect()
}

pub(crate) fn stored_lineage(d: &Document) -> Vec<(String, Option<i64>, i64)> {
    d.groups
        .iter()
        .enumerate()
        .flat_map(|(gi, g)| {
            g.lines
                .iter()
                .enumerate()
                .map(move |(li, l)| (format!("groups[{gi}].lines[{li}]"), l.origin_key, l.quantity_e4))
        })
        .collect()
}

/// Bills and bill credits: the supplier's own number (kept in `reference`) is
/// used once per supplier and type (a void document frees it). Checked here
/// for a clear refusal; the unique index `documents_supplier_number_key`
/// settles a race.
async fn check_supplier_number(
    tx: &mut Tx,
    tenant_id: i64,
    doc_type: DocType,
    account: &accounts::Account,
    reference: Option<&str>,
    except: Option<i64>,
) -> StoreResult<()> {
    let (true, Some(reference)) = (matches!(doc_type, DocType::Bill | DocType::BillCredit), reference) else {
        return Ok(());
    };
    let other = tx
        .fetch_optional(
            "SELECT COALESCE(number, '(draft)') AS number FROM documents WHERE tenant_id = $1 AND account_id = $2 \
             AND doc_type = $3 AND reference = $4 AND status <> 'void' AND id <> $5",
            args![tenant_id, account.key, doc_type.as_str(), reference, except.unwrap_or(0)],
            |r| r.text("number"),
        )
        .await?;
    match other {
        Some(n) => Err(duplicate_supplier_number(doc_type, &account.name, reference, &n).into()),
        None => Ok(()),
    }
}

fn duplicate_supplier_number(doc_type: DocType, supplier: &str, reference: &str, number: &str) -> DomainError {
    DomainError::invalid(
        "reference",
        format!(
            "{supplier}'s number {reference} is already recorded on {} {number}: a supplier's number is used once",
            doc_type.label()
        ),
    )
}

/// Maps a race on the supplier-number index to the same refusal.
fn on_supplier_number<T>(
    r: StoreResult<T>,
    doc_type: DocType,
    supplier: &str,
    reference: Option<&str>,
) -> StoreResult<T> {
    crate::on_unique(r, "documents_supplier_number_key", "documents.reference", || {
        duplicate_supplier_number(doc_type, supplier, reference.unwrap_or_default(), "another document")
    })
}

/// Creates a document in `draft` (quotes and orders get their number now).
pub async fn create(tx: &mut Tx, actor: &Actor, new: NewDocument) -> StoreResult<Document> {
    let t = actor.tenant_id;
    let account = load_account(tx, t, new.account_id).await?;
    if new.doc_type.is_purchase() && !account.kinds.contains(&nave_domain::account::AccountKind::Supplier) {
        return Err(DomainError::invalid(
            "account_id",
            format!("{} is not a supplier: mark the account as a supplier to buy from it", account.name),
        )
        .into());
    }
    let ext = external_ids::checked("external_ids", new.header.external_ids.as_deref().unwrap_or_default())?;
    let h = resolve_header(tx, t, new.doc_type, &account, None, &new.header).await?;
    let mut lines = resolve_lines(tx, t, &account, &h, &new.groups).await?;
    resolve_origins(tx, t, account.key, &new.groups, &mut lines).await?;
    check_supplier_number(tx, t, new.doc_type, &account, h.reference.as_deref(), None).await?;
    let id = PublicId::new();
    let number = if new.doc_type.numbered_on_create() {
        Some(sequences::next_number(tx, t, new.doc_type.as_str(), h.date.year()).await?)
    } else {
        None
    };
    let at = now();
    let sql = format!(
        "INSERT INTO documents (tenant_id, id, public_id, doc_type, status, number, revision, account_id, account_name, \
         billing_address, shipping_address, currency, doc_date, valid_until, due_date, payment_terms_id, price_list_id, \
         warehouse_id, invoice_policy, prices_include_tax, tax_rounding, reference, notes, origin_id, subtotal_minor, \
         discount_minor, net_minor, shipping_minor, tax_minor, total_minor, settled_minor, balance_minor, version, \
         created_at, updated_at, created_by, updated_by, exchange_rate_e8) VALUES ($1, {}, $2, $3, 'draft', $4, 1, $5, \
         $6, $7, $8, $9, $10, $11, NULL, $12, $13, $14, $15, $16, $17, $18, $19, $20, 0, 0, 0, 0, 0, 0, 0, 0, 1, $21, \
         $21, $22, $22, $23) RETURNING id",
        tx.new_id_expr("documents", "$1")
    );
    let inserted = tx
        .fetch_one(
            sql,
            args![
                t,
                id,
                new.doc_type.as_str(),
                number,
                account.key,
                account.name.as_str(),
                snapshot_address(&account, true),
                match &new.header.deliver_to {
                    Some(to) => Some(to.to_string()),
                    None => snapshot_address(&account, false),
                },
                h.currency.code(),
                h.date,
                h.valid_until,
                h.payment_terms_key,
                h.price_list.as_ref().map(|l| l.key),
                h.warehouse_key,
                h.invoice_policy.map(|p| p.as_str()),
                h.prices_include_tax,
                rounding_str(h.tax_rounding),
                h.reference.clone(),
                h.notes.as_str(),
                new.origin_key,
                at,
                actor.user_id,
                h.exchange_rate_e8
            ],
            |r| r.i64("id"),
        )
        .await;
    let key = on_supplier_number(inserted, new.doc_type, &account.name, h.reference.as_deref())?;
    insert_content(tx, t, key, &h, &new.groups, &lines).await?;
    external_ids::insert(tx, EXTERNAL, t, key, &ext).await?;
    apply_lineage(tx, t, new.doc_type, &lineage_of(&lines), 1).await?;
    let doc = get_by_key(tx, t, key).await?.ok_or(DomainError::NotFound { record: "document" })?;
    audit::created(tx, actor, new.doc_type.record_type(), id, &doc).await?;
    Ok(doc)
}

/// What a draft would come to: its header resolved and its lines priced by
/// the one pricing engine exactly as [`create`] (no `before`) or [`update`]
/// would store them, with nothing written — the editor's live totals.
/// `account_id` names the account of a new document; an edit uses `before`'s.
pub async fn preview(
    tx: &mut Tx,
    tenant_id: i64,
    doc_type: DocType,
    account_id: Option<PublicId>,
    before: Option<&Document>,
    header: &HeaderInput,
    groups: &[GroupInput],
) -> StoreResult<pricing::PricedDocument> {
    let account = match (before, account_id) {
        (Some(b), _) => accounts::get_by_key(tx, tenant_id, b.account_key)
            .await?
            .ok_or(DomainError::NotFound { record: "account" })?,
        (None, Some(id)) => load_account(tx, tenant_id, id).await?,
        (None, None) => return Err(DomainError::invalid("account_id", "is required").into()),
    };
    let h = resolve_header(tx, tenant_id, doc_type, &account, before, header).await?;
    let lines = resolve_lines(tx, tenant_id, &account, &h, groups).await?;
    Ok(pricing::price(&engine_input(&h, groups, &lines))?)
}

fn rounding_str(r: TaxRounding) -> &'static str {
    match r {
        TaxRounding::Document => "document",
        TaxRounding::Line => "line",
    }
}

/// Changes a draft: the header fields given, and the content when `groups`
/// is given (it replaces every group and line).
pub async fn update(
    tx: &mut Tx,
    actor: &Actor,
    before: &Document,
    if_version: Option<i64>,
    header: HeaderInput,
    groups: Option<Vec<GroupInput>>,
) -> StoreResult<Document> {
    expect_version(before.doc_type.label(), before.version, if_version)?;
    if !before.editable() {
        return Err(DomainError::Conflict(format!(
            "the {} is {}: only drafts can be edited{}",
            before.doc_type.label(),
            before.status,
            match before.doc_type {
                DocType::Quote => " (revise it to change it)",
                DocType::Invoice => " (correct an issued invoice with a credit note)",
                _ => "",
            }
        ))
        .into());
    }
    let t = actor.tenant_id;
    let ext = header.external_ids.as_deref().map(|ids| external_ids::checked("external_ids", ids)).transpose()?;
    let account =
        accounts::get_by_key(tx, t, before.account_key).await?.ok_or(DomainError::NotFound { record: "account" })?;
    let h = resolve_header(tx, t, before.doc_type, &account, Some(before), &header).await?;
    let groups = match groups {
        Some(g) => g,
        None => content_as_input(before),
    };
    let mut lines = resolve_lines(tx, t, &account, &h, &groups).await?;
    resolve_origins(tx, t, account.key, &groups, &mut lines).await?;
    check_supplier_number(tx, t, before.doc_type, &account, h.reference.as_deref(), Some(before.key)).await?;
    apply_lineage(tx, t, before.doc_type, &stored_lineage(before), -1).await?;
    delete_content(tx, t, before.key).await?;
    let n = tx
        .execute(
            "UPDATE documents SET currency = $4, doc_date = $5, valid_until = $6, payment_terms_id = $7, \
             price_list_id = $8, warehouse_id = $9, invoice_policy = $10, prices_include_tax = $11, tax_rounding = $12, \
             reference = $13, notes = $14, version = version + 1, updated_at = $15, updated_by = $16, \
             exchange_rate_e8 = $17 WHERE tenant_id = $1 AND id = $2 AND version = $3",
            args![
                t,
                before.key,
                before.version,
                h.currency.code(),
                h.date,
                h.valid_until,
                h.payment_terms_key,
                h.price_list.as_ref().map(|l| l.key),
                h.warehouse_key,
                h.invoice_policy.map(|p| p.as_str()),
                h.prices_include_tax,
                rounding_str(h.tax_rounding),
                h.reference.clone(),
                h.notes.as_str(),
                now(),
                actor.user_id,
                h.exchange_rate_e8
            ],
        )
        .await;
    let n = on_supplier_number(n, before.doc_type, &account.name, h.reference.as_deref())?;
    if n == 0 {
        return Err(
            DomainError::VersionMismatch { record: before.doc_type.label(), current: before.version + 1 }.into()
        );
    }
    insert_content(tx, t, before.key, &h, &groups, &lines).await?;
    if let Some(ext) = ext {
        external_ids::replace(tx, EXTERNAL, t, before.key, &ext).await?;
    }
    apply_lineage(tx, t, before.doc_type, &lineage_of(&lines), 1).await?;
    let after = get_by_key(tx, t, before.key).await?.ok_or(DomainError::NotFound { record: "document" })?;
    audit::updated(tx, actor, before.doc_type.record_type(), after.id, after.version, before, &after).await?;
    Ok(after)
}

/// The stored content of a document as input, to price it again or copy it.
/// With `origins`, each line points back to the line it is copied from.
pub fn content_as_input(d: &Document) -> Vec<GroupInput> {
    copy_content(d, false)
}

/// The content of `d` as input for a new document made from it, each line
/// pointing back to its origin.
pub fn copy_content(d: &Document, link: bool) -> Vec<GroupInput> {
    d.groups
        .iter()
        .map(|g| GroupInput {
            name: g.name.clone(),
            discount_percent: g.discount_percent.parse().ok(),
            show_subtotal: g.show_subtotal,
            lines: g
                .lines
                .iter()
                .map(|l| LineInput {
                    drop_ship: l.drop_ship.then_some(true),
                    ..line_as_input(l, link.then_some(l.id).or(l.origin_line_id))
                })
                .collect(),
        })
        .collect()
}

/// One stored line as input (its snapshot prices and taxes kept).
pub fn line_as_input(l: &Line, origin: Option<PublicId>) -> LineInput {
    LineInput {
        kind: Some(l.kind),
        product_id: l.product_id,
        description: Some(l.description.clone()),
        quantity: l.quantity.parse().ok(),
        unit_price: l.unit_price.parse().ok(),
        discount_percent: l.discount_percent.parse().ok(),
        discount_amount: l.discount_amount.parse().ok(),
        tax_ids: Some(l.tax_ids.clone()),
        origin_line_id: origin,
        // Only quotes and orders drop-ship: copies keep it (see `as_inputs`), invoices and receipts do not.
        drop_ship: None,
    }
}

/// Deletes a draft, giving back what its lines held on their origins.
pub async fn delete(tx: &mut Tx, actor: &Actor, before: &Document, if_version: Option<i64>) -> StoreResult<()> {
    expect_version(before.doc_type.label(), before.version, if_version)?;
    if !before.editable() {
        return Err(DomainError::Conflict(format!(
            "the {} is {}: only drafts can be deleted",
            before.doc_type.label(),
            before.status
        ))
        .into());
    }
    let t = actor.tenant_id;
    let children = tx
        .scalar_i64("SELECT COUNT(*) AS v FROM documents WHERE tenant_id = $1 AND origin_id = $2", args![t, before.key])
        .await?;
    if children > 0 {
        return Err(DomainError::Conflict(format!(
            "the {} has documents made from it; delete those first",
            before.doc_type.label()
        ))
        .into());
    }
    apply_lineage(tx, t, before.doc_type, &stored_lineage(before), -1).await?;
    delete_content(tx, t, before.key).await?;
    tx.execute("DELETE FROM document_revisions WHERE tenant_id = $1 AND document_id = $2", args![t, before.key])
        .await?;
    tx.execute("DELETE FROM documents WHERE tenant_id = $1 AND id = $2", args![t, before.key]).await?;
    audit::deleted(tx, actor, before.doc_type.record_type(), before.id, before.version + 1, before).await
}

/// Sets a document's status (and any extra columns the caller sets in the
/// same statement), checking the version; returns it as stored, audited.
pub(crate) async fn set_status(
    tx: &mut Tx,
    actor: &Actor,
    before: &Document,
    status: DocStatus,
    extra: &str,
    extra_args: Vec<Arg>,
) -> StoreResult<Document> {
    let t = actor.tenant_id;
    let mut a = args![t, before.key, before.version, status.as_str(), now(), actor.user_id];
    let mut sql =
        String::from("UPDATE documents SET status = $4, version = version + 1, updated_at = $5, updated_by = $6");
    if !extra.is_empty() {
        let mut e = extra.to_string();
        // Extra placeholders are numbered from $1 by the caller: shift them past ours.
        for i in (1..=extra_args.len()).rev() {
            e = e.replace(&format!("${i}"), &format!("${}", i + 6));
        }
        sql.push_str(", ");
        sql.push_str(&e);
        a.extend(extra_args);
    }
    sql.push_str(" WHERE tenant_id = $1 AND id = $2 AND version = $3");
    let n = tx.execute(sql, a).await?;
    if n == 0 {
        let current = get_by_key(tx, t, before.key).await?.map_or(before.version, |d| d.version);
        return Err(DomainError::VersionMismatch { record: before.doc_type.label(), current }.into());
    }
    let after = get_by_key(tx, t, before.key).await?.ok_or(DomainError::NotFound { record: "document" })?;
    audit::updated(tx, actor, before.doc_type.record_type(), after.id, after.version, before, &after).await?;
    Ok(after)
}

// ---------------------------------------------------------------------------
// Quote actions

/// `send`, `accept`, `reject`, `expire` or `revise` a quote. Revising keeps
/// the current revision readable (see [`revision`]) and takes the quote back
/// to draft with the next revision number.
pub async fn quote_action(
    tx: &mut Tx,
    actor: &Actor,
    before: &Document,
    if_version: Option<i64>,
    action: DocAction,
) -> StoreResult<Document> {
    expect_version("quote", before.version, if_version)?;
    if before.doc_type != DocType::Quote || action == DocAction::Convert {
        return Err(DomainError::Conflict(format!("{action} is not a quote action here")).into());
    }
    let status = rules::transition(DocType::Quote, before.status, action)?;
    if action == DocAction::Revise {
        let snapshot = serde_json::to_string(before).map_err(|e| StoreError::Decode(e.to_string()))?;
        tx.execute(
            "INSERT INTO document_revisions (tenant_id, document_id, revision, snapshot, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            args![actor.tenant_id, before.key, before.revision, snapshot, now(), actor.user_id],
        )
        .await?;
        return set_status(tx, actor, before, status, "revision = revision + 1", vec![]).await;
    }
    set_status(tx, actor, before, status, "", vec![]).await
}

/// An earlier revision of a quote, as it was when revised.
pub async fn revision(
    tx: &mut Tx,
    tenant_id: i64,
    doc_key: i64,
    revision: i64,
) -> StoreResult<Option<serde_json::Value>> {
    let s = tx
        .fetch_optional(
            "SELECT snapshot FROM document_revisions WHERE tenant_id = $1 AND document_id = $2 AND revision = $3",
            args![tenant_id, doc_key, revision],
            |r| r.text("snapshot"),
        )
        .await?;
    match s {
        Some(s) => Ok(Some(parsed(serde_json::from_str(&s))?)),
        None => Ok(None),
    }
}

/// The revision numbers kept for a quote, oldest first.
pub async fn revisions(tx: &mut Tx, tenant_id: i64, doc_key: i64) -> StoreResult<Vec<i64>> {
    tx.fetch_all(
        "SELECT revision FROM document_revisions WHERE tenant_id = $1 AND document_id = $2 ORDER BY revision",
        args![tenant_id, doc_key],
        |r| r.i64("revision"),
    )
    .await
}

/// The document made from `origin` of `doc_type`, if any (conversions are idempotent).
pub async fn child_of(tx: &mut Tx, tenant_id: i64, origin: i64, doc_type: DocType) -> StoreResult<Option<Document>> {
    let key = tx
        .fetch_optional(
            "SELECT id FROM documents WHERE tenant_id = $1 AND origin_id = $2 AND doc_type = $3 AND status <> 'void' \
             AND status <> 'cancelled' ORDER BY id LIMIT 1",
            args![tenant_id, origin, doc_type.as_str()],
            |r| r.i64("id"),
        )
        .await?;
    match key {
        Some(k) => get_by_key(tx, tenant_id, k).await,
        None => Ok(None),
    }
}

// ---------------------------------------------------------------------------
// Account figures for the 360° view and the account page

/// Net sales of one year in one currency: invoiced net (issued, part paid or
/// paid invoices) minus credited net (issued or applied credit notes), by
/// document date.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct YearSales {
    pub year: i32,
    #[schema(value_type = String, example = "EUR")]
    pub currency: Currency,
    pub net: String,
    #[serde(skip)]
    pub net_minor: i64,
}

/// Net sales of an account for each of `years`, per currency (years without
/// sales are absent).
pub async fn sales_by_year(
    tx: &mut Tx,
    tenant_id: i64,
    account_key: i64,
    years: &[i32],
) -> StoreResult<Vec<YearSales>> {
    let (Some(first), Some(last)) = (years.iter().min(), years.iter().max()) else { return Ok(vec![]) };
    let from =
        Date::from_calendar_date(*first, time::Month::January, 1).map_err(|e| StoreError::Decode(e.to_string()))?;
    let to =
        Date::from_calendar_date(*last, time::Month::December, 31).map_err(|e| StoreError::Decode(e.to_string()))?;
    let rows = tx
        .fetch_all(
            "SELECT doc_type, currency, doc_date, net_minor FROM documents WHERE tenant_id = $1 AND account_id = $2 \
             AND doc_type IN ('invoice', 'credit_note') AND status IN ('issued', 'part_paid', 'paid', 'applied') \
             AND doc_date >= $3 AND doc_date <= $4",
            args![tenant_id, account_key, from, to],
            |r| {
                Ok((
                    r.text("doc_type")? == "credit_note",
                    parsed(Currency::parse(&r.text("currency")?))?,
                    r.opt_date("doc_date")?.map(|d| d.year()).unwrap_or_default(),
                    r.i64("net_minor")?,
                ))
            },
        )
        .await?;
    let mut out: Vec<YearSales> = Vec::new();
    for (credit, currency, year, net) in rows {
        let signed = if credit { -net } else { net };
        match out.iter_mut().find(|s| s.year == year && s.currency == currency) {
            Some(s) => s.net_minor += signed,
            None => out.push(YearSales { year, currency, net: String::new(), net_minor: signed }),
        }
    }
    for s in &mut out {
        s.net = format_minor(s.net_minor, s.currency);
    }
    out.sort_by(|a, b| b.year.cmp(&a.year).then(a.currency.code().cmp(b.currency.code())));
    Ok(out)
}

/// What an account owes, per currency.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Receivables {
    #[schema(value_type = String, example = "EUR")]
    pub currency: Currency,
    /// Σ balances of issued and part-paid invoices.
    pub open: String,
    /// The part of it past due.
    pub overdue: String,
    pub open_invoices: i64,
    #[serde(skip)]
    pub open_minor: i64,
}

/// The open receivables of an account, per currency.
pub async fn receivables(tx: &mut Tx, tenant_id: i64, account_key: i64) -> StoreResult<Vec<Receivables>> {
    open_balances(tx, tenant_id, account_key, DocType::Invoice).await
}

/// What is owed to a supplier (open bills), per currency, in the same shape
/// (`open_invoices` counts the bills).
pub async fn payables(tx: &mut Tx, tenant_id: i64, account_key: i64) -> StoreResult<Vec<Receivables>> {
    open_balances(tx, tenant_id, account_key, DocType::Bill).await
}

async fn open_balances(
    tx: &mut Tx,
    tenant_id: i64,
    account_key: i64,
    doc_type: DocType,
) -> StoreResult<Vec<Receivables>> {
    let today = now().date();
    let rows = tx
        .fetch_all(
            "SELECT currency, balance_minor, due_date FROM documents WHERE tenant_id = $1 AND account_id = $2 \
             AND doc_type = $3 AND status IN ('issued', 'part_paid') AND balance_minor > 0",
            args![tenant_id, account_key, doc_type.as_str()],
            |r| Ok((parsed(Currency::parse(&r.text("currency")?))?, r.i64("balance_minor")?, r.opt_date("due_date")?)),
        )
        .await?;
    let mut out: Vec<(Currency, i64, i64, i64)> = Vec::new();
    for (c, bal, due) in rows {
        let late = if due.is_some_and(|d| d < today) { bal } else { 0 };
        match out.iter_mut().find(|s| s.0 == c) {
            Some(s) => {
                s.1 += bal;
                s.2 += late;
                s.3 += 1;
            }
            None => out.push((c, bal, late, 1)),
        }
    }
    out.sort_by(|a, b| a.0.code().cmp(b.0.code()));
    Ok(out
        .into_iter()
        .map(|(c, open, late, n)| Receivables {
            currency: c,
            open: format_minor(open, c),
            overdue: format_minor(late, c),
            open_invoices: n,
            open_minor: open,
        })
        .collect())
}
