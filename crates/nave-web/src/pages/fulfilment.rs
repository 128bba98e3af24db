//! Pages of what follows a confirmed order: shipments (`/shipments`, one
//! shipment with "mark done"), the order desk (`/order-desk`), and the forms
//! that pick lines and quantities from a document — ship a sales order
//! (`/sales-orders/{id}/ship`), invoice it (`/sales-orders/{id}/invoice`),
//! credit an issued invoice (`/invoices/{id}/credit`, optionally returning
//! the goods to stock). Each form goes through the same store function as
//! the API, in one transaction, and is shown again with the errors next to
//! their fields and the input kept.

use std::collections::{HashMap, HashSet};

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use nave_domain::access::{Action, Principal, RecordType};
use nave_domain::document::{DocStatus, DocType};
use nave_domain::error::{ErrorCode, FieldError};
use nave_domain::ids::PublicId;
use nave_domain::pricing::LineKind;
use nave_domain::stock::{format_quantity, parse_quantity};
use nave_store::accounts::Visibility;
use nave_store::documents::{Document, HeaderInput};
use nave_store::orders::{self, DeskView};
use nave_store::page::Cursor;
use nave_store::purchase::BillBasis;
use nave_store::shipments::{self, LineRequest, NewShipment, Shipment, ShipmentQuery};
use serde::Deserialize;

use super::documents::readable;
use super::show::{self, filters};
use super::{
    Choices, FormData, FormErrors, Layout, PageAuth, PageError, PageResult, blank_none, form_date, render, require_page,
};
use crate::api::parse_id;
use crate::error::ApiError;
use crate::extract::actor_of;
use crate::present::may_act;
use crate::state::AppState;

/// Every route of these pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/shipments", get(list))
        .route("/shipments/{id}", get(show))
        .route("/shipments/{id}/actions/{action}", post(act))
        .route("/order-desk", get(desk))
        .route("/sales-orders/{id}/ship", get(ship_form).post(ship_save))
        .route("/sales-orders/{id}/invoice", get(invoice_form).post(invoice_save))
        .route("/invoices/{id}/credit", get(credit_form).post(credit_save))
        .route("/purchase-orders/{id}/receive", get(receive_form).post(receive_save))
        .route("/purchase-orders/{id}/bill", get(bill_form).post(bill_save))
        .route("/bills/{id}/credit", get(bill_credit_form).post(bill_credit_save))
}

/// The navigation links of these pages (and the payments') `p` may follow.
pub fn nav_links(p: &Principal) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    if p.scope_for(RecordType::SalesOrder, Action::Read).is_some() {
        out.push(("order-desk", "Order desk"));
    }
    if p.scope_for(RecordType::Shipment, Action::Read).is_some() {
        out.push(("shipments", "Shipments"));
    }
    if p.scope_for(RecordType::Payment, Action::Read).is_some() {
        out.push(("payments", "Payments"));
    }
    if p.scope_for(RecordType::Subscription, Action::Read).is_some() {
        out.push(("subscriptions", "Subscriptions"));
    }
    if p.scope_for(RecordType::Sequence, Action::Update).is_some() {
        out.push(("sequences", "Numbering"));
    }
    out
}

/// A step that can be taken from a document's page: a link to its form.
#[derive(Debug, Clone)]
pub struct NextStep {
    pub href: String,
    pub label: &'static str,
    pub sentence: &'static str,
}

/// What `p` may make next from `d`: ship or invoice an order, credit an
/// issued invoice, apply or refund a credit note.
pub fn next_steps(p: &Principal, d: &Document) -> Vec<NextStep> {
    let mut out = Vec::new();
    let base = format!("/{}/{}", d.doc_type.path(), d.id);
    let may = |rt: RecordType, a: Action| p.may(rt, a, d.ownership);
    let step = |path: &str, label, sentence| NextStep { href: format!("{base}/{path}"), label, sentence };
    match (d.doc_type, d.status) {
        (DocType::SalesOrder, DocStatus::Open | DocStatus::Completed) => {
            // Drop-ship lines are shipped by receiving their purchase orders.
            let warehouse_ships = d.lines().any(|l| {
                !l.drop_ship && l.kind == nave_domain::pricing::LineKind::Product && l.ledger.left_to_ship() > 0
            });
            if d.status == DocStatus::Open && warehouse_ships && may(RecordType::Shipment, Action::Create) {
                out.push(step(
                    "ship",
                    "Ship",
                    "Choose the warehouse and the quantities to ship; stock leaves when the shipment is done.",
                ));
            }
            if may(RecordType::Invoice, Action::Create) {
                out.push(step("invoice", "Invoice", "Choose the lines and quantities to bill in a draft invoice."));
            }
            if p.scope_for(RecordType::Shipment, Action::Read).is_some() {
                out.push(NextStep {
                    href: format!("/shipments?sales_order_id={}", d.id),
                    label: "Shipments",
                    sentence: "The shipments of this order.",
                });
            }
        }
        (DocType::Invoice, DocStatus::Issued | DocStatus::PartPaid | DocStatus::Paid) => {
            if may(RecordType::CreditNote, Action::Create) {
                out.push(step(
                    "credit",
                    "Credit note",
                    "Choose the lines and quantities to credit in a draft credit note, and whether the goods come back to stock.",
                ));
            }
            if d.balance_minor > 0 && p.scope_for(RecordType::Payment, Action::Create).is_some() {
                out.push(NextStep {
                    href: format!("/payments/new?account_id={}", d.account_id),
                    label: "Record a payment",
                    sentence: "Record a payment from the account and allocate it to its open invoices.",
                });
            }
        }
        (DocType::PurchaseOrder, status) if nave_domain::document::purchase_open(status) => {
            if may(RecordType::Receipt, Action::Create) {
                out.push(step(
                    "receive",
                    "Receive",
                    "Choose the warehouse and the quantities that arrived; received now, they come into stock at their cost.",
                ));
            }
            if may(RecordType::Bill, Action::Create) {
                out.push(step(
                    "bill",
                    "Bill",
                    "Record the supplier's bill: choose the lines and quantities (received, or ordered) in a draft bill.",
                ));
            }
        }
        (DocType::Bill, DocStatus::Issued | DocStatus::PartPaid | DocStatus::Paid) => {
            if may(RecordType::BillCredit, Action::Create) {
                out.push(step(
                    "credit",
                    "Bill credit",
                    "Record the supplier's credit: choose the lines and quantities credited in a draft bill credit.",
                ));
            }
            if d.balance_minor > 0 && p.scope_for(RecordType::PaymentSent, Action::Create).is_some() {
                out.push(NextStep {
                    href: format!("/payments-sent/new?account_id={}", d.account_id),
                    label: "Record a payment sent",
                    sentence: "Record a payment to the supplier and allocate it to its open bills.",
                });
            }
        }
        (DocType::BillCredit, DocStatus::Issued)
            if d.balance_minor > 0 && may(RecordType::BillCredit, Action::Update) =>
        {
            out.push(step(
                "apply",
                "Apply to bills",
                "Settle open bills of the supplier with what is left of the credit.",
            ));
        }
        (DocType::CreditNote, DocStatus::Issued)
            if d.balance_minor > 0 && may(RecordType::CreditNote, Action::Update) =>
        {
            out.push(step(
                "apply",
                "Apply to invoices",
                "Settle open invoices of the account with what is left of the credit.",
            ));
            if p.scope_for(RecordType::Payment, Action::Create).is_some() {
                out.push(step("refund", "Refund", "Pay what is left of the credit back to the customer."));
            }
        }
        _ => {}
    }
    out
}

// ---------------------------------------------------------------- shipments

/// One shipment in a list.
#[derive(Debug)]
struct ShipmentRow {
    id: String,
    number: String,
    order_id: String,
    order_number: String,
    account_id: String,
    account: String,
    warehouse: String,
    status: String,
    ship_date: String,
    tracking: String,
}

fn shipment_row(s: &Shipment) -> ShipmentRow {
    ShipmentRow {
        id: s.id.to_string(),
        number: s.number.clone().unwrap_or_else(|| "Draft".into()),
        order_id: s.sales_order_id.to_string(),
        order_number: s.sales_order_number.clone().unwrap_or_default(),
        account_id: s.account_id.to_string(),
        account: s.account_name.clone(),
        warehouse: s.warehouse_name.clone(),
        status: s.status.clone(),
        ship_date: s.ship_date.map(show::date).unwrap_or_default(),
        tracking: [s.carrier.clone(), s.tracking_number.clone()].into_iter().flatten().collect::<Vec<_>>().join(" "),
    }
}

/// The columns the shipments list may show beside the number: (key, heading).
const SHIPMENT_COLUMNS: &[(&str, &str)] = &[
    ("order", "Sales order"),
    ("account", "Account"),
    ("warehouse", "Warehouse"),
    ("date", "Date"),
    ("status", "Status"),
    ("tracking", "Carrier and tracking"),
];
/// Shown until the user chooses: all of them.
const SHIPMENT_DEFAULT_COLUMNS: &[&str] = &["order", "account", "warehouse", "date", "status", "tracking"];
/// The filters the shipments list reads from its query string.
const SHIPMENT_FILTERS: &[&str] = &["status", "sales_order_id"];

#[derive(Template)]
#[template(path = "shipments.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<ShipmentRow>,
    status: String,
    sales_order_id: String,
    next: Option<String>,
    columns: super::views::Columns,
    views: super::views::ViewsBar,
}

pub(crate) fn some_text(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// `GET /shipments`: the shipments `p` may see, newest first, filtered by
/// status and sales order, in the columns chosen, with saved views.
async fn list(State(app): State<AppState>, auth: PageAuth, RawQuery(raw): RawQuery) -> PageResult {
    let p = &auth.principal;
    let scope = require_page(p, RecordType::Shipment, Action::Read)?;
    let v = super::views::ViewQuery::parse(raw.as_deref(), SHIPMENT_FILTERS);
    let status = Some(v.get("status").to_string()).filter(|s| !s.is_empty());
    if let Some(s) = status.as_deref().filter(|s| !matches!(*s, "draft" | "done" | "cancelled")) {
        return Err(ApiError::invalid("status", format!("{s} is not draft, done or cancelled")).into());
    }
    let mut tx = app.db.read().await?;
    let order_key = match v.get("sales_order_id") {
        "" => None,
        id => Some(readable(&mut tx, p, DocType::SalesOrder, id).await?.key),
    };
    let q = ShipmentQuery {
        visibility: Visibility::of(p, scope),
        order_key,
        status: status.clone(),
        cursor: v.after.as_deref().and_then(|c| Cursor::decode(c).ok()),
        limit: 50,
    };
    let page = shipments::list(&mut tx, p.tenant_id, &q).await?;
    let views = super::views::bar(&mut tx, &auth, "shipments", &v.view_qs()).await?;
    tx.commit().await?;
    let view = ListPage {
        layout: auth.layout("shipments"),
        rows: page.items.iter().map(shipment_row).collect(),
        status: status.unwrap_or_default(),
        sales_order_id: v.get("sales_order_id").to_string(),
        next: page.next.map(|c| c.encode()),
        columns: super::views::columns(SHIPMENT_COLUMNS, SHIPMENT_DEFAULT_COLUMNS, &v.columns),
        views,
    };
    Ok(render(&view).into_response())
}

#[derive(Template)]
#[template(path = "shipment.html")]
struct ShipmentPage {
    layout: Layout,
    s: Shipment,
    title: String,
    can_act: bool,
    error: Option<String>,
}

async fn readable_shipment(tx: &mut nave_store::Tx, p: &Principal, id: &str) -> Result<Shipment, PageError> {
    let id = parse_id("shipment", id)?;
    Ok(shipments::get(tx, p.tenant_id, id)
        .await?
        .filter(|s| p.may(RecordType::Shipment, Action::Read, s.ownership))
        .ok_or_else(|| ApiError::not_found("shipment"))?)
}

async fn shipment_page(
    app: &AppState,
    auth: &PageAuth,
    id: &str,
    status: StatusCode,
    error: Option<String>,
) -> PageResult {
    let p = &auth.principal;
    let mut tx = app.db.read().await?;
    let s = readable_shipment(&mut tx, p, id).await?;
    tx.commit().await?;
    let page = ShipmentPage {
        layout: auth.layout("shipments"),
        title: match &s.number {
            Some(n) => format!("Shipment {n}"),
            None => "Draft shipment".into(),
        },
        can_act: s.status == "draft" && p.may(RecordType::Shipment, Action::Update, s.ownership),
        error,
        s,
    };
    Ok((status, render(&page)).into_response())
}

/// `GET /shipments/{id}`.
async fn show(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    require_page(&auth.principal, RecordType::Shipment, Action::Read)?;
    shipment_page(&app, &auth, &id, StatusCode::OK, None).await
}

/// A refusal the user can read on the page it came from, with its status.
pub(crate) fn readable_refusal(e: ApiError) -> Result<(StatusCode, String), PageError> {
    match e.code {
        ErrorCode::InvalidTransition | ErrorCode::Conflict | ErrorCode::ValidationFailed => {
            let message = match e.errors.first() {
                Some(f) => format!("{} ({} {})", e.detail, f.field.replace('_', " "), f.message),
                None => e.detail.clone(),
            };
            Ok((e.status(), message))
        }
        ErrorCode::VersionMismatch => Ok((
            StatusCode::CONFLICT,
            "Someone else changed this record since you opened the page, so nothing was done. Look at it again and retry."
                .into(),
        )),
        _ => Err(e.into()),
    }
}

/// `POST /shipments/{id}/actions/{ship|cancel}`.
async fn act(
    State(app): State<AppState>,
    auth: PageAuth,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> PageResult {
    let p = &auth.principal;
    require_page(p, RecordType::Shipment, Action::Update)?;
    if !matches!(action.as_str(), "ship" | "cancel") {
        return Err(ApiError::new(ErrorCode::NotFound, format!("there is no shipment action {action}")).into());
    }
    let form = FormData::parse(&body);
    let version = Some(form.version()).filter(|v| *v > 0);
    let mut tx = app.db.write().await?;
    let before = readable_shipment(&mut tx, p, &id).await?;
    may_act(p, RecordType::Shipment, Action::Update, before.ownership)?;
    let actor = actor_of(p);
    let done = if action == "ship" {
        shipments::ship(&mut tx, &actor, &before, version).await
    } else {
        shipments::cancel(&mut tx, &actor, &before, version).await
    };
    match done {
        Ok(s) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/shipments/{}", s.id)).into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            let (status, message) = readable_refusal(e.into())?;
            shipment_page(&app, &auth, &id, status, Some(message)).await
        }
    }
}

// ---------------------------------------------------------------- order desk

/// One open order on the desk.
#[derive(Debug)]
struct DeskLine {
    id: String,
    number: String,
    date: String,
    account_id: String,
    account: String,
    total: String,
    policy: String,
}

#[derive(Template)]
#[template(path = "order_desk.html")]
struct DeskPage {
    layout: Layout,
    to_ship: bool,
    rows: Vec<DeskLine>,
    next: Option<String>,
    can_ship: bool,
    can_invoice: bool,
}

/// The query of the order desk.
#[derive(Debug, Deserialize)]
pub struct DeskQuery {
    view: Option<String>,
    after: Option<String>,
}

/// `GET /order-desk?view=to_ship|to_invoice`: open orders with something left.
async fn desk(State(app): State<AppState>, auth: PageAuth, Query(q): Query<DeskQuery>) -> PageResult {
    let p = &auth.principal;
    let scope = require_page(p, RecordType::SalesOrder, Action::Read)?;
    let view = match some_text(&q.view) {
        None | Some("to_ship") => DeskView::ToShip,
        Some("to_invoice") => DeskView::ToInvoice,
        Some(v) => return Err(ApiError::invalid("view", format!("{v} is not to_ship or to_invoice")).into()),
    };
    let mut tx = app.db.read().await?;
    let cursor = q.after.as_deref().and_then(|c| Cursor::decode(c).ok());
    let page = orders::desk(&mut tx, p.tenant_id, view, Visibility::of(p, scope), cursor, 50).await?;
    tx.commit().await?;
    let rows = page
        .items
        .iter()
        .map(|r| DeskLine {
            id: r.id.to_string(),
            number: r.number.clone().unwrap_or_default(),
            date: show::date(r.date),
            account_id: r.account_id.to_string(),
            account: r.account_name.clone(),
            total: show::amount(&r.total.to_string(), r.currency),
            policy: r.invoice_policy.to_string(),
        })
        .collect();
    let page = DeskPage {
        layout: auth.layout("order-desk"),
        to_ship: view == DeskView::ToShip,
        rows,
        next: page.next.map(|c| c.encode()),
        can_ship: p.scope_for(RecordType::Shipment, Action::Create).is_some(),
        can_invoice: p.scope_for(RecordType::Invoice, Action::Create).is_some(),
    };
    Ok(render(&page).into_response())
}

// ---------------------------------------------------------------- picking lines

/// One line a form picks a quantity of.
#[derive(Debug, Clone)]
struct PickRow {
    line_id: String,
    sku: String,
    description: String,
    /// What the line holds (ordered or invoiced).
    quantity: String,
    /// What was done already (shipped, invoiced or credited), as a sentence part.
    done: String,
    left: String,
    left_e4: i64,
    /// The most the line takes: what is left, plus the receiving tolerance on a purchase order.
    max_e4: i64,
    /// As typed (the default: what is left).
    value: String,
}

/// The quantities typed for `rows` (`lines[i].quantity` with the hidden
/// `lines[i].line_id`), checked against what is left; blank or 0 skips a line.
/// Returns (form row index, line, quantity) of the lines taken.
fn picked(form: &FormData, rows: &mut [PickRow], errors: &mut FormErrors, verb: &str) -> Vec<(usize, PublicId, i64)> {
    let mut out = Vec::new();
    for (i, row) in rows.iter_mut().enumerate() {
        let field = format!("lines[{i}].quantity");
        let typed = form.get(&field);
        let line_id = form.get(&format!("lines[{i}].line_id"));
        if line_id != row.line_id {
            // The order changed since the form was shown: its rows are not these.
            errors.general = Some("The document changed since you opened the form. Look at it again and retry.".into());
            return vec![];
        }
        row.value = typed.clone();
        if typed.trim().is_empty() {
            continue;
        }
        match parse_quantity(typed.trim()) {
            Err(m) if m.contains("large") => errors.add(field, m),
            Err(_) => errors.add(field, "must be a number, like 2 or 2.5"),
            Ok(0) => {}
            Ok(q) if q < 0 => errors.add(field, "must not be negative"),
            Ok(q) if q > row.max_e4 && row.max_e4 > row.left_e4 => errors.add(
                field,
                format!(
                    "{} is more than the {} left to {verb} on this line (with the receiving tolerance at most {})",
                    format_quantity(q),
                    row.left,
                    format_quantity(row.max_e4)
                ),
            ),
            Ok(q) if q > row.max_e4 => errors.add(
                field,
                format!("{} is more than the {} left to {verb} on this line", format_quantity(q), row.left),
            ),
            Ok(q) => {
                if let Ok(id) = row.line_id.parse() {
                    out.push((i, id, q));
                }
            }
        }
    }
    if out.is_empty() && errors.is_empty() {
        errors.add("lines", format!("choose at least one line and a quantity to {verb}"));
    }
    out
}

/// A pick form's post, read and checked: the lines taken and the date, with
/// the errors found so far (a form adds its own fields' errors before showing).
struct Picks {
    /// (form row, line, quantity) of the lines taken.
    lines: Vec<(usize, PublicId, i64)>,
    date: Option<time::Date>,
    errors: FormErrors,
}

impl Picks {
    /// Reads the quantities typed for `rows` and the date in `date_field`,
    /// keeping both as typed in `page` to show them again.
    fn read(form: &FormData, page: &mut PickPage, rows: Vec<PickRow>, date_field: &str, verb: &str) -> Picks {
        page.date = form.get(date_field);
        page.rows = rows;
        let mut errors = FormErrors::default();
        let lines = picked(form, &mut page.rows, &mut errors, verb);
        let date = form_date(&mut errors, date_field, &page.date);
        Picks { lines, date, errors }
    }

    /// The quantity taken of each line.
    fn chosen(&self) -> HashMap<PublicId, i64> {
        self.lines.iter().map(|&(_, id, q)| (id, q)).collect()
    }

    /// The lines of `doc` taken, as the groups a new document is made of.
    fn groups(&self, doc: &Document, verb: &str) -> Result<Vec<nave_store::documents::GroupInput>, ApiError> {
        nave_store::billing::chosen_lines(doc, &self.chosen())
            .ok_or_else(|| ApiError::invalid("lines", format!("choose at least one line and a quantity to {verb}")))
    }
}

/// The warehouse chosen in `field`, typed as `typed`; blank is refused with `missing`.
fn chosen_warehouse(errors: &mut FormErrors, field: &str, typed: &str, missing: &str) -> Option<PublicId> {
    match typed.trim() {
        "" => {
            errors.add(field, missing);
            None
        }
        w => w.parse().map_err(|_| errors.add(field, "is not one of the choices")).ok(),
    }
}

/// Renames a store refusal's `{group}[k].…` fields to the form rows they came
/// from (`rows[k]`).
pub(crate) fn remap(mut e: ApiError, group: &str, rows: &[usize]) -> ApiError {
    for f in &mut e.errors {
        if let Some(rest) = f.field.strip_prefix(group).and_then(|r| r.strip_prefix('['))
            && let Some((k, tail)) = rest.split_once(']')
            && let Some(row) = k.parse::<usize>().ok().and_then(|k| rows.get(k))
        {
            f.field = format!("{group}[{row}]{tail}");
        }
    }
    e
}

/// A store refusal as the form's errors: fields the form shows go next to
/// them; others (about lines the form made) are said at the top.
pub(crate) fn refusal(e: ApiError, known: &[&str]) -> Result<FormErrors, PageError> {
    let mut f = FormErrors::default();
    if e.code == ErrorCode::ValidationFailed && !e.errors.is_empty() {
        let (shown, other): (Vec<FieldError>, Vec<FieldError>) =
            e.errors.iter().cloned().partition(|x| known.iter().any(|k| x.field.starts_with(k)));
        f = FormErrors::from_fields(shown);
        if !other.is_empty() {
            f.general = Some(
                other
                    .iter()
                    .map(|x| format!("{}: {}", x.field.replace('_', " "), x.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            );
        }
        return Ok(f);
    }
    f.absorb(e)?;
    Ok(f)
}

fn warehouse_choices(list: Vec<nave_store::catalog::Warehouse>) -> Choices {
    list.into_iter().filter(|w| w.active).map(|w| (w.id.to_string(), w.name)).collect()
}

/// The pick form of a document: ship, invoice or credit.
#[derive(Template)]
#[template(path = "pick_form.html")]
struct PickPage {
    layout: Layout,
    /// `ship`, `invoice` or `credit`.
    kind: &'static str,
    title: String,
    /// The document picked from: (href, title).
    from: (String, String),
    action: String,
    intro: &'static str,
    /// Column titles: what the line holds, what is done, what is left.
    columns: (&'static str, &'static str, &'static str),
    rows: Vec<PickRow>,
    errors: FormErrors,
    /// Refused before any input (the document's status): no form.
    blocked: bool,
    warehouses: Choices,
    warehouse_id: String,
    carrier: String,
    tracking_number: String,
    date: String,
    notes: String,
    /// Ship: mark the shipment done straight away.
    ship_now: bool,
    may_ship: bool,
    /// Credit: return the goods to stock.
    return_to_stock: bool,
    /// Receive: the company-currency rate, asked when the order is in another currency.
    exchange_rate: String,
    needs_rate: bool,
    /// The rate field's label, naming the company and the order currency.
    rate_label: String,
    /// Bill and bill credit: the supplier's own number.
    reference: String,
    /// Bill: `received` or `ordered`, with the link to the other basis.
    basis: &'static str,
    submit: &'static str,
}

impl PickPage {
    fn new(auth: &PageAuth, kind: &'static str, d: &Document) -> Self {
        let noun = d.doc_type.label();
        let number = d.number.clone().unwrap_or_else(|| "(draft)".into());
        let (title, intro, columns, submit) = match kind {
            "ship" => (
                format!("Ship sales order {number}"),
                "Choose the warehouse and how much of each line ships now (by default everything left). \
                 Marked done, the shipment takes its number and the stock leaves the warehouse; \
                 otherwise it stays a draft to finish later.",
                ("Ordered", "Shipped", "Left to ship"),
                "Create shipment",
            ),
            "invoice" => (
                format!("Invoice sales order {number}"),
                "Choose how much of each line to bill (by default what is left under the order's invoice policy). \
                 A draft invoice is made; it is numbered and counts in the balance when you issue it.",
                ("Ordered", "Invoiced", "Left to invoice"),
                "Create draft invoice",
            ),
            "receive" => (
                format!("Receive purchase order {number}"),
                "Choose the warehouse and how much of each line arrived (by default everything left). \
                 Received now, the receipt takes its number and the goods come into stock at the order's cost \
                 (converted at the rate given when the order is in another currency); otherwise it stays a draft.",
                ("Ordered", "Received", "Left to receive"),
                "Create receipt",
            ),
            "bill" => (
                format!("Bill purchase order {number}"),
                "Enter the supplier's bill number and choose how much of each line the bill charges (by default \
                 what is received and not yet billed, or what is ordered). A draft bill is made; issuing it makes \
                 it count in what is owed to the supplier.",
                ("Ordered", "Billed", "Left to bill"),
                "Create draft bill",
            ),
            "bill_credit" => (
                format!("Credit bill {number}"),
                "Enter the supplier's credit number and choose how much of each line is credited (by default \
                 everything not yet credited). A draft bill credit is made; when issued it settles the bill.",
                ("Billed", "Credited", "Left to credit"),
                "Create draft bill credit",
            ),
            _ => (
                format!("Credit invoice {number}"),
                "Choose how much of each line to credit (by default everything not yet credited). A draft credit note \
                 is made; when issued it settles the invoice, and with \"return to stock\" the goods come back \
                 into the warehouse chosen, at their cost.",
                ("Invoiced", "Credited", "Left to credit"),
                "Create draft credit note",
            ),
        };
        PickPage {
            layout: auth.layout(d.doc_type.path()),
            kind,
            title,
            from: (format!("/{}/{}", d.doc_type.path(), d.id), format!("{} {number}", noun)),
            action: format!("/{}/{}/{kind}", d.doc_type.path(), d.id),
            intro,
            columns,
            rows: vec![],
            errors: FormErrors::default(),
            blocked: false,
            warehouses: vec![],
            warehouse_id: String::new(),
            carrier: String::new(),
            tracking_number: String::new(),
            date: String::new(),
            notes: String::new(),
            ship_now: true,
            may_ship: false,
            return_to_stock: false,
            exchange_rate: String::new(),
            needs_rate: false,
            rate_label: format!(
                "Exchange rate: {} per 1 {} (required to receive)",
                d.company_currency.code(),
                d.currency.code()
            ),
            reference: String::new(),
            basis: "received",
            submit,
        }
    }

    /// The form again with `errors`.
    fn refused(mut self, errors: FormErrors) -> PageResult {
        self.errors = errors;
        self.shown()
    }

    fn shown(self) -> PageResult {
        let status = if self.blocked {
            StatusCode::CONFLICT
        } else if self.errors.is_empty() {
            StatusCode::OK
        } else {
            self.errors.status()
        };
        Ok((status, render(&self)).into_response())
    }
}

/// A sales order or invoice `p` may read and make `rt` records from.
async fn source(
    app: &AppState,
    p: &Principal,
    t: DocType,
    id: &str,
    rt: RecordType,
) -> Result<(Document, Choices, Option<orders::OrderLeft>), PageError> {
    require_page(p, rt, Action::Create)?;
    let mut tx = app.db.read().await?;
    let d = readable(&mut tx, p, t, id).await?;
    if !p.may(rt, Action::Create, d.ownership) {
        return Err(ApiError::forbidden(format!(
            "your role may not make a {} for this account",
            rt.as_str().replace('_', " ")
        ))
        .into());
    }
    let warehouses = warehouse_choices(nave_store::catalog::list_warehouses(&mut tx, p.tenant_id).await?);
    let left = if t == DocType::SalesOrder { Some(orders::left(&mut tx, p.tenant_id, &d).await?) } else { None };
    tx.commit().await?;
    Ok((d, warehouses, left))
}

fn q_e4(s: &str) -> i64 {
    parse_quantity(s).unwrap_or(0)
}

/// The rows of a ship or invoice form from what is left on the order.
fn order_rows(left: &orders::OrderLeft, ship: bool) -> Vec<PickRow> {
    left.lines
        .iter()
        .filter(|l| if ship { l.ships && !l.drop_ship } else { true })
        .filter_map(|l| {
            let left = if ship { &l.left_to_ship } else { &l.left_to_invoice };
            let left_e4 = q_e4(left);
            (left_e4 > 0).then(|| PickRow {
                line_id: l.line_id.to_string(),
                sku: l.sku.clone().unwrap_or_default(),
                description: l.description.clone(),
                quantity: l.ordered.clone(),
                done: if ship { l.shipped.clone() } else { l.invoiced.clone() },
                left: left.clone(),
                left_e4,
                max_e4: left_e4,
                value: left.clone(),
            })
        })
        .collect()
}

/// The rows of a credit form: the invoice's lines not yet credited in full.
fn invoice_rows(d: &Document) -> Vec<PickRow> {
    d.lines()
        .filter(|l| l.kind != LineKind::Comment)
        .filter_map(|l| {
            let left_e4 = l.quantity_e4 - l.ledger.credited;
            (left_e4 > 0).then(|| PickRow {
                line_id: l.id.to_string(),
                sku: l.sku.clone().unwrap_or_default(),
                description: l.description.clone(),
                quantity: l.quantity.clone(),
                done: format_quantity(l.ledger.credited),
                left: format_quantity(left_e4),
                left_e4,
                max_e4: left_e4,
                value: format_quantity(left_e4),
            })
        })
        .collect()
}

/// `GET /sales-orders/{id}/ship`.
async fn ship_form(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    let p = &auth.principal;
    let (order, warehouses, left) = source(&app, p, DocType::SalesOrder, &id, RecordType::Shipment).await?;
    let mut page = PickPage::new(&auth, "ship", &order);
    page.warehouses = warehouses;
    page.warehouse_id = order.warehouse_id.map(|w| w.to_string()).unwrap_or_default();
    page.may_ship = p.may(RecordType::Shipment, Action::Update, order.ownership);
    page.ship_now = page.may_ship;
    if order.status != DocStatus::Open {
        page.blocked = true;
        page.errors = FormErrors::whole(format!("Only open orders ship; this order is {}.", order.status));
    } else if let Some(left) = &left {
        page.rows = order_rows(left, true);
        if page.rows.is_empty() {
            page.blocked = true;
            page.errors = FormErrors::whole("Nothing is left to ship on this order.");
        }
    }
    page.shown()
}

/// `POST /sales-orders/{id}/ship`: makes the shipment (and marks it done
/// when asked), or shows the form again with its errors.
async fn ship_save(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>, body: Bytes) -> PageResult {
    let p = &auth.principal;
    let (order, warehouses, left) = source(&app, p, DocType::SalesOrder, &id, RecordType::Shipment).await?;
    let form = FormData::parse(&body);
    let mut page = PickPage::new(&auth, "ship", &order);
    page.warehouses = warehouses;
    page.may_ship = p.may(RecordType::Shipment, Action::Update, order.ownership);
    page.warehouse_id = form.get("warehouse_id");
    page.carrier = form.get("carrier");
    page.tracking_number = form.get("tracking_number");
    page.notes = form.get("notes");
    page.ship_now = form.checked("ship_now") && page.may_ship;
    let rows = left.as_ref().map(|l| order_rows(l, true)).unwrap_or_default();
    let mut picks = Picks::read(&form, &mut page, rows, "ship_date", "ship");
    let warehouse = chosen_warehouse(
        &mut picks.errors,
        "warehouse_id",
        &page.warehouse_id,
        "is required: where the goods leave from",
    );
    if !picks.errors.is_empty() {
        return page.refused(picks.errors);
    }
    let rows: Vec<usize> = picks.lines.iter().map(|l| l.0).collect();
    let mut tx = app.db.write().await?;
    let saved = async {
        let order = readable(&mut tx, p, DocType::SalesOrder, &id).await.map_err(|e| e.0)?;
        let actor = actor_of(p);
        let new = NewShipment {
            warehouse_id: warehouse,
            lines: Some(
                picks
                    .lines
                    .iter()
                    .map(|&(_, order_line_id, quantity)| LineRequest { order_line_id, quantity })
                    .collect(),
            ),
            carrier: blank_none(&page.carrier),
            tracking_number: blank_none(&page.tracking_number),
            ship_date: picks.date,
            notes: blank_none(&page.notes),
        };
        let mut s = shipments::create(&mut tx, &actor, &order, new).await?;
        if page.ship_now {
            s = shipments::ship(&mut tx, &actor, &s, Some(s.version)).await?;
        }
        Ok::<_, ApiError>(format!("/shipments/{}", s.id))
    }
    .await
    .map_err(|e| remap(e, "lines", &rows));
    finish(tx, saved, page, &["lines", "warehouse_id", "carrier", "tracking_number", "ship_date", "notes"]).await
}

/// Commits and redirects, or rolls back and shows the form again.
async fn finish(tx: nave_store::Tx, saved: Result<String, ApiError>, mut page: PickPage, known: &[&str]) -> PageResult {
    match saved {
        Ok(location) => {
            tx.commit().await?;
            Ok(Redirect::to(&location).into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            page.errors = refusal(e, known)?;
            page.shown()
        }
    }
}

/// `GET /sales-orders/{id}/invoice`.
async fn invoice_form(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    let p = &auth.principal;
    let (order, _, left) = source(&app, p, DocType::SalesOrder, &id, RecordType::Invoice).await?;
    let mut page = PickPage::new(&auth, "invoice", &order);
    if !matches!(order.status, DocStatus::Open | DocStatus::Completed) {
        page.blocked = true;
        page.errors =
            FormErrors::whole(format!("Only open or completed orders are invoiced; this order is {}.", order.status));
    } else if let Some(left) = &left {
        page.rows = order_rows(left, false);
        if page.rows.is_empty() {
            page.blocked = true;
            page.errors = FormErrors::whole("Nothing is left to invoice on this order.");
        }
    }
    page.shown()
}

/// `POST /sales-orders/{id}/invoice`: a draft invoice of the lines chosen.
async fn invoice_save(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>, body: Bytes) -> PageResult {
    let p = &auth.principal;
    let (order, _, left) = source(&app, p, DocType::SalesOrder, &id, RecordType::Invoice).await?;
    let form = FormData::parse(&body);
    let mut page = PickPage::new(&auth, "invoice", &order);
    let rows = left.as_ref().map(|l| order_rows(l, false)).unwrap_or_default();
    let picks = Picks::read(&form, &mut page, rows, "date", "invoice");
    if !picks.errors.is_empty() {
        return page.refused(picks.errors);
    }
    let mut tx = app.db.write().await?;
    let saved = async {
        let order = readable(&mut tx, p, DocType::SalesOrder, &id).await.map_err(|e| e.0)?;
        let groups = picks.groups(&order, "invoice")?;
        let header = HeaderInput { date: picks.date, ..Default::default() };
        let inv = nave_store::billing::invoice_from_order(
            &mut tx,
            &actor_of(p),
            order.account_key,
            order.id,
            header,
            Some(groups),
        )
        .await?;
        Ok::<_, ApiError>(format!("/invoices/{}", inv.id))
    }
    .await;
    finish(tx, saved, page, &["lines", "date"]).await
}

/// `GET /invoices/{id}/credit`.
async fn credit_form(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    let p = &auth.principal;
    let (invoice, warehouses, _) = source(&app, p, DocType::Invoice, &id, RecordType::CreditNote).await?;
    let mut page = PickPage::new(&auth, "credit", &invoice);
    page.warehouses = warehouses;
    if !matches!(invoice.status, DocStatus::Issued | DocStatus::PartPaid | DocStatus::Paid) {
        page.blocked = true;
        page.errors = FormErrors::whole(format!(
            "Only issued, part paid or paid invoices are credited; this invoice is {}.",
            invoice.status
        ));
    } else {
        page.rows = invoice_rows(&invoice);
        if page.rows.is_empty() {
            page.blocked = true;
            page.errors = FormErrors::whole("Every line of this invoice is credited in full.");
        }
    }
    page.shown()
}

/// `POST /invoices/{id}/credit`: a draft credit note of the lines chosen,
/// returning the goods to stock when issued if asked.
async fn credit_save(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>, body: Bytes) -> PageResult {
    let p = &auth.principal;
    let (invoice, warehouses, _) = source(&app, p, DocType::Invoice, &id, RecordType::CreditNote).await?;
    let form = FormData::parse(&body);
    let mut page = PickPage::new(&auth, "credit", &invoice);
    page.warehouses = warehouses;
    page.warehouse_id = form.get("warehouse_id");
    page.return_to_stock = form.checked("return_to_stock");
    let mut picks = Picks::read(&form, &mut page, invoice_rows(&invoice), "date", "credit");
    let warehouse = page.return_to_stock.then(|| {
        chosen_warehouse(
            &mut picks.errors,
            "warehouse_id",
            &page.warehouse_id,
            "is required to return the goods to stock: choose where they go back",
        )
    });
    if !picks.errors.is_empty() {
        return page.refused(picks.errors);
    }
    let mut tx = app.db.write().await?;
    let saved = async {
        let invoice = readable(&mut tx, p, DocType::Invoice, &id).await.map_err(|e| e.0)?;
        let groups = picks.groups(&invoice, "credit")?;
        let header =
            HeaderInput { date: picks.date, warehouse_id: warehouse.flatten().map(Some), ..Default::default() };
        let cn = nave_store::billing::credit_from_invoice(
            &mut tx,
            &actor_of(p),
            invoice.account_key,
            invoice.id,
            header,
            Some(groups),
        )
        .await?;
        Ok::<_, ApiError>(format!("/credit-notes/{}", cn.id))
    }
    .await;
    finish(tx, saved, page, &["lines", "date", "warehouse_id"]).await
}

// ---------------------------------------------------------------- the purchase side

/// A purchase order `p` may read and make `rt` records from, with the
/// warehouses, its goods lines and the receiving tolerance (tenths of a %).
async fn purchase_source(
    app: &AppState,
    p: &Principal,
    id: &str,
    rt: RecordType,
) -> Result<(Document, Choices, HashSet<i64>, i64), PageError> {
    let (po, warehouses, _) = source(app, p, DocType::PurchaseOrder, id, rt).await?;
    let mut tx = app.db.read().await?;
    let goods = nave_store::purchase::goods_lines(&mut tx, p.tenant_id, &po).await?;
    let tolerance = nave_store::company::receiving_tolerance_e1(&mut tx, p.tenant_id).await?;
    tx.commit().await?;
    Ok((po, warehouses, goods, tolerance))
}

/// A row of a purchase-order form: `done` of `ordered` is done, `left` of
/// `base` is left, and up to the tolerance more is taken.
fn po_row(l: &nave_store::documents::Line, done: i64, base: i64, tolerance: i64) -> Option<PickRow> {
    let left_e4 = (base - done).max(0);
    let max_e4 = l.ledger.ordered + nave_store::company::allowance(l.ledger.ordered, tolerance) - done;
    (max_e4 > 0 && (left_e4 > 0 || done < l.ledger.ordered)).then(|| PickRow {
        line_id: l.id.to_string(),
        sku: l.sku.clone().unwrap_or_default(),
        description: l.description.clone(),
        quantity: l.quantity.clone(),
        done: format_quantity(done),
        left: format_quantity(left_e4),
        left_e4,
        max_e4: max_e4.max(left_e4),
        value: if left_e4 > 0 { format_quantity(left_e4) } else { String::new() },
    })
}

/// The rows of a receive form: goods lines not yet received in full.
fn receive_rows(po: &Document, goods: &HashSet<i64>, tolerance: i64) -> Vec<PickRow> {
    po.lines()
        .filter(|l| goods.contains(&l.key))
        .filter_map(|l| po_row(l, l.ledger.shipped, l.ledger.ordered, tolerance))
        .collect()
}

/// The rows of a bill form: what is received (goods, on basis `received`)
/// or ordered, and not yet billed.
fn bill_rows(po: &Document, goods: &HashSet<i64>, basis: BillBasis, tolerance: i64) -> Vec<PickRow> {
    po.lines()
        .filter(|l| l.kind != LineKind::Comment)
        .filter_map(|l| {
            let base = if goods.contains(&l.key) && basis == BillBasis::Received {
                l.ledger.shipped
            } else {
                l.ledger.ordered
            };
            po_row(l, l.ledger.invoiced, base, tolerance)
        })
        .collect()
}

/// Renames a store refusal's `groups[g].lines[l].…` fields (the document the
/// form made from `groups`) to the form rows of the same lines (`lines[i].…`).
fn remap_groups(mut e: ApiError, groups: &[nave_store::documents::GroupInput], rows: &[PickRow]) -> ApiError {
    for f in &mut e.errors {
        let Some((g, rest)) = f.field.strip_prefix("groups[").and_then(|r| r.split_once("].lines[")) else { continue };
        let Some((l, tail)) = rest.split_once(']') else { continue };
        let (Ok(g), Ok(l)) = (g.parse::<usize>(), l.parse::<usize>()) else { continue };
        let origin = groups.get(g).and_then(|g| g.lines.get(l)).and_then(|l| l.origin_line_id).map(|o| o.to_string());
        if let Some(row) = origin.and_then(|o| rows.iter().position(|r| r.line_id == o)) {
            f.field = format!("lines[{row}]{tail}");
        }
    }
    e
}

fn blocked(page: &mut PickPage, message: String) {
    page.blocked = true;
    page.errors = FormErrors::whole(message);
}

/// `GET /purchase-orders/{id}/receive`.
async fn receive_form(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    let p = &auth.principal;
    let (po, warehouses, goods, tolerance) = purchase_source(&app, p, &id, RecordType::Receipt).await?;
    let mut page = PickPage::new(&auth, "receive", &po);
    page.warehouses = warehouses;
    page.warehouse_id = po.warehouse_id.map(|w| w.to_string()).unwrap_or_default();
    page.may_ship = p.may(RecordType::Receipt, Action::Update, po.ownership);
    page.ship_now = page.may_ship;
    page.needs_rate = po.currency != po.company_currency;
    if !nave_domain::document::purchase_open(po.status) {
        blocked(&mut page, format!("Only confirmed purchase orders are received; this order is {}.", po.status));
    } else {
        page.rows = receive_rows(&po, &goods, tolerance);
        if page.rows.is_empty() {
            blocked(&mut page, "Every goods line of this order is received in full.".into());
        }
    }
    page.shown()
}

/// `POST /purchase-orders/{id}/receive`: makes the receipt (and receives it
/// when asked), or shows the form again with its errors.
async fn receive_save(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>, body: Bytes) -> PageResult {
    let p = &auth.principal;
    let (po, warehouses, goods, tolerance) = purchase_source(&app, p, &id, RecordType::Receipt).await?;
    let form = FormData::parse(&body);
    let mut page = PickPage::new(&auth, "receive", &po);
    page.warehouses = warehouses;
    page.may_ship = p.may(RecordType::Receipt, Action::Update, po.ownership);
    page.needs_rate = po.currency != po.company_currency;
    page.warehouse_id = form.get("warehouse_id");
    page.notes = form.get("notes");
    page.exchange_rate = form.get("exchange_rate");
    page.ship_now = form.checked("receive_now") && page.may_ship;
    let mut picks = Picks::read(&form, &mut page, receive_rows(&po, &goods, tolerance), "date", "receive");
    let warehouse =
        chosen_warehouse(&mut picks.errors, "warehouse_id", &page.warehouse_id, "is required: where the goods come in");
    let rate = match page.exchange_rate.trim() {
        "" => None,
        r => rust_decimal::Decimal::from_str_exact(r)
            .map_err(|_| picks.errors.add("exchange_rate", "must be a number, like 0.92"))
            .ok(),
    };
    if !picks.errors.is_empty() {
        return page.refused(picks.errors);
    }
    let mut groups = vec![];
    let mut tx = app.db.write().await?;
    let saved = async {
        let po = readable(&mut tx, p, DocType::PurchaseOrder, &id).await.map_err(|e| e.0)?;
        groups = picks.groups(&po, "receive")?;
        let header = HeaderInput {
            date: picks.date,
            warehouse_id: warehouse.map(Some),
            notes: blank_none(&page.notes),
            exchange_rate: rate.map(Some),
            ..Default::default()
        };
        let actor = actor_of(p);
        let mut rc = nave_store::purchase::receipt_from_order(
            &mut tx,
            &actor,
            po.account_key,
            po.id,
            header,
            Some(groups.clone()),
        )
        .await?;
        if page.ship_now {
            rc = nave_store::purchase::receive(&mut tx, &actor, &rc, Some(rc.version)).await?;
        }
        Ok::<_, ApiError>(format!("/receipts/{}", rc.id))
    }
    .await
    .map_err(|e| remap_groups(e, &groups, &page.rows));
    finish(tx, saved, page, &["lines", "warehouse_id", "date", "notes", "exchange_rate"]).await
}

/// The query of the bill form.
#[derive(Debug, Deserialize)]
pub struct BillQuery {
    basis: Option<String>,
}

fn basis_of(s: Option<&str>) -> Result<BillBasis, PageError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(BillBasis::Received),
        Some(b) => BillBasis::parse(b).ok_or_else(|| ApiError::invalid("basis", "must be received or ordered").into()),
    }
}

fn basis_name(b: BillBasis) -> &'static str {
    match b {
        BillBasis::Received => "received",
        BillBasis::Ordered => "ordered",
    }
}

/// `GET /purchase-orders/{id}/bill?basis=received|ordered`.
async fn bill_form(
    State(app): State<AppState>,
    auth: PageAuth,
    Path(id): Path<String>,
    Query(q): Query<BillQuery>,
) -> PageResult {
    let p = &auth.principal;
    let mut basis = basis_of(q.basis.as_deref())?;
    let (po, _, goods, tolerance) = purchase_source(&app, p, &id, RecordType::Bill).await?;
    let mut page = PickPage::new(&auth, "bill", &po);
    if !nave_domain::document::purchase_open(po.status) {
        blocked(&mut page, format!("Only confirmed purchase orders are billed; this order is {}.", po.status));
    } else {
        page.rows = bill_rows(&po, &goods, basis, tolerance);
        if page.rows.iter().all(|r| r.left_e4 == 0) && basis == BillBasis::Received && q.basis.is_none() {
            // Nothing received is left to bill: offer what is ordered.
            basis = BillBasis::Ordered;
            page.rows = bill_rows(&po, &goods, basis, tolerance);
        }
        if page.rows.is_empty() {
            blocked(&mut page, "Every line of this order is billed in full.".into());
        }
    }
    page.basis = basis_name(basis);
    page.shown()
}

/// `POST /purchase-orders/{id}/bill`: a draft bill of the lines chosen.
async fn bill_save(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>, body: Bytes) -> PageResult {
    let p = &auth.principal;
    let form = FormData::parse(&body);
    let basis = basis_of(Some(&form.get("basis")))?;
    let (po, _, goods, tolerance) = purchase_source(&app, p, &id, RecordType::Bill).await?;
    let mut page = PickPage::new(&auth, "bill", &po);
    page.basis = basis_name(basis);
    page.reference = form.get("reference");
    let picks = Picks::read(&form, &mut page, bill_rows(&po, &goods, basis, tolerance), "date", "bill");
    if !picks.errors.is_empty() {
        return page.refused(picks.errors);
    }
    let mut groups = vec![];
    let mut tx = app.db.write().await?;
    let saved = async {
        let po = readable(&mut tx, p, DocType::PurchaseOrder, &id).await.map_err(|e| e.0)?;
        groups = picks.groups(&po, "bill")?;
        let header =
            HeaderInput { date: picks.date, reference: blank_none(&page.reference).map(Some), ..Default::default() };
        let bill = nave_store::purchase::bill_from_order(
            &mut tx,
            &actor_of(p),
            po.account_key,
            po.id,
            basis,
            header,
            Some(groups.clone()),
        )
        .await?;
        Ok::<_, ApiError>(format!("/bills/{}", bill.id))
    }
    .await
    .map_err(|e| remap_groups(e, &groups, &page.rows));
    finish(tx, saved, page, &["lines", "date", "reference"]).await
}

/// `GET /bills/{id}/credit`.
async fn bill_credit_form(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    let p = &auth.principal;
    let (bill, _, _) = source(&app, p, DocType::Bill, &id, RecordType::BillCredit).await?;
    let mut page = PickPage::new(&auth, "bill_credit", &bill);
    if !matches!(bill.status, DocStatus::Issued | DocStatus::PartPaid | DocStatus::Paid) {
        blocked(&mut page, format!("Only issued, part paid or paid bills are credited; this bill is {}.", bill.status));
    } else {
        page.rows = invoice_rows(&bill);
        if page.rows.is_empty() {
            blocked(&mut page, "Every line of this bill is credited in full.".into());
        }
    }
    page.shown()
}

/// `POST /bills/{id}/credit`: a draft bill credit of the lines chosen.
async fn bill_credit_save(
    State(app): State<AppState>,
    auth: PageAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let p = &auth.principal;
    let (bill, _, _) = source(&app, p, DocType::Bill, &id, RecordType::BillCredit).await?;
    let form = FormData::parse(&body);
    let mut page = PickPage::new(&auth, "bill_credit", &bill);
    page.reference = form.get("reference");
    let picks = Picks::read(&form, &mut page, invoice_rows(&bill), "date", "credit");
    if !picks.errors.is_empty() {
        return page.refused(picks.errors);
    }
    let mut groups = vec![];
    let mut tx = app.db.write().await?;
    let saved = async {
        let bill = readable(&mut tx, p, DocType::Bill, &id).await.map_err(|e| e.0)?;
        groups = picks.groups(&bill, "credit")?;
        let header =
            HeaderInput { date: picks.date, reference: blank_none(&page.reference).map(Some), ..Default::default() };
        let bc = nave_store::billing::credit_from(
            &mut tx,
            &actor_of(p),
            DocType::BillCredit,
            bill.account_key,
            bill.id,
            header,
            Some(groups.clone()),
        )
        .await?;
        Ok::<_, ApiError>(format!("/bill-credits/{}", bc.id))
    }
    .await
    .map_err(|e| remap_groups(e, &groups, &page.rows));
    finish(tx, saved, page, &["lines", "date", "reference"]).await
}
