//! Pages of the commercial documents — quotes, sales orders, invoices and
//! credit notes on the sales side; purchase orders, receipts, bills and bill
//! credits on the purchase side — at their resource paths without `/api/v1`:
//! the lists, one document with the business actions its status allows (each
//! a small form saying what it will do), earlier revisions of a quote, and
//! the editor of drafts.
//!
//! Every amount shown comes from the stored document, priced by the one
//! engine when it was written: the pages never compute money. Writes go
//! through the same store functions as the API, in one transaction each.

use std::collections::BTreeMap;
use std::str::FromStr;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use nave_domain::access::{Action, Capability, Principal, RecordType};
use nave_domain::document::{DocAction, DocStatus, DocType, InvoicePolicy};
use nave_domain::error::ErrorCode;
use nave_domain::ids::PublicId;
use nave_domain::money::Currency;
use nave_domain::pricing::{LineKind, TaxRounding};
use nave_store::accounts::{Account, Visibility};
use nave_store::catalog::{self, ProductQuery};
use nave_store::documents::{self, Document, DocumentQuery, GroupInput, HeaderInput, Line, LineInput, NewDocument};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::show::{self, filters};
use super::views::ViewQuery;
use super::{
    Choices, FormData, FormErrors, Layout, PageAuth, PageError, PageResult, account_choices, blank_none, form_date,
    render, require_page,
};
use crate::api::accounts::account_for;
use crate::api::parse_id;
use crate::error::ApiError;
use crate::extract::actor_of;
use crate::present::may_act;
use crate::state::AppState;

/// The sales-side document types, in the order the navigation shows them.
pub const SALES: [DocType; 4] = [DocType::Quote, DocType::SalesOrder, DocType::Invoice, DocType::CreditNote];
/// The purchase-side document types, in the order the navigation shows them.
pub const PURCHASE: [DocType; 4] = [DocType::PurchaseOrder, DocType::Receipt, DocType::Bill, DocType::BillCredit];
/// Every document type with pages: the sales side, then the purchase side.
pub const TYPES: [DocType; 8] =
    [SALES[0], SALES[1], SALES[2], SALES[3], PURCHASE[0], PURCHASE[1], PURCHASE[2], PURCHASE[3]];

/// Rows of empty lines added below a group's lines.
const SPARE_ROWS: usize = 2;
/// Rows of empty lines an "add lines" adds, and a new form starts with.
const MORE_ROWS: usize = 5;

/// The plural title of a type's list.
pub fn plural(t: DocType) -> &'static str {
    match t {
        DocType::Quote => "Quotes",
        DocType::SalesOrder => "Sales orders",
        DocType::Invoice => "Invoices",
        DocType::CreditNote => "Credit notes",
        DocType::PurchaseOrder => "Purchase orders",
        DocType::Receipt => "Receipts",
        DocType::Bill => "Bills",
        DocType::BillCredit => "Bill credits",
    }
}

/// The navigation's short name of a type.
fn nav_label(t: DocType) -> &'static str {
    match t {
        DocType::SalesOrder => "Orders",
        _ => plural(t),
    }
}

/// The document links of the navigation `p` may follow, sales then
/// purchase side: (path, label).
pub fn nav_links(p: &Principal) -> Vec<(&'static str, &'static str)> {
    let readable = |types: &[DocType]| -> Vec<(&'static str, &'static str)> {
        types
            .iter()
            .filter(|t| p.scope_for(t.record_type(), Action::Read).is_some())
            .map(|&t| (t.path(), nav_label(t)))
            .collect()
    };
    let mut links = readable(&SALES);
    links.extend(super::fulfilment::nav_links(p));
    links.extend(readable(&PURCHASE));
    links.extend(super::purchase::nav_links(p));
    links
}

/// The statuses a type's documents go through, for the list's filter.
fn statuses(t: DocType) -> &'static [DocStatus] {
    use DocStatus as S;
    match t {
        DocType::Quote => &[S::Draft, S::Sent, S::Accepted, S::Rejected, S::Expired],
        DocType::SalesOrder => &[S::Draft, S::Open, S::Completed, S::Cancelled],
        DocType::Invoice => &[S::Draft, S::Issued, S::PartPaid, S::Paid, S::Void],
        DocType::CreditNote | DocType::BillCredit => &[S::Draft, S::Issued, S::Applied, S::Void],
        DocType::PurchaseOrder => &[
            S::Draft,
            S::Sent,
            S::Confirmed,
            S::PartReceived,
            S::Received,
            S::PartBilled,
            S::Billed,
            S::Completed,
            S::Cancelled,
        ],
        DocType::Receipt => &[S::Draft, S::Done],
        DocType::Bill => &[S::Draft, S::Issued, S::PartPaid, S::Paid, S::Void],
    }
}

/// Is the type on the purchase side (its account is a supplier)?
pub fn is_purchase(t: DocType) -> bool {
    PURCHASE.contains(&t)
}

/// What the type's `reference` field holds, as its label.
fn reference_label(t: DocType) -> &'static str {
    match t {
        DocType::Bill => "Supplier's bill number",
        DocType::BillCredit => "Supplier's credit number",
        DocType::PurchaseOrder | DocType::Receipt => "Supplier's reference",
        _ => "Customer reference",
    }
}

/// Every route of the document pages.
pub fn routes() -> Router<AppState> {
    let mut r = Router::new();
    for t in TYPES {
        let p = t.path();
        r = r
            .route(
                &format!("/{p}"),
                get(move |s: State<AppState>, a: PageAuth, q: RawQuery| list(t, s, a, q))
                    .post(move |s: State<AppState>, a: PageAuth, b: Bytes| create(t, s, a, b)),
            )
            .route(
                &format!("/{p}/export.csv"),
                get(move |s: State<AppState>, a: PageAuth, q: RawQuery| async move {
                    super::exports::documents(t, &s.0, &a, q.0).await
                }),
            )
            .route(
                &format!("/{p}/new"),
                get(move |s: State<AppState>, a: PageAuth, q: Query<NewQuery>| new_form(t, s, a, q)),
            )
            .route(
                &format!("/{p}/{{id}}"),
                get(move |s: State<AppState>, a: PageAuth, id: Path<String>| show(t, s, a, id))
                    .post(move |s: State<AppState>, a: PageAuth, id: Path<String>, b: Bytes| update(t, s, a, id, b)),
            )
            .route(
                &format!("/{p}/preview"),
                post(move |s: State<AppState>, a: PageAuth, b: Bytes| preview(t, s.0, a, None, b)),
            )
            .route(
                &format!("/{p}/{{id}}/preview"),
                post(move |s: State<AppState>, a: PageAuth, id: Path<String>, b: Bytes| {
                    preview(t, s.0, a, Some(id.0), b)
                }),
            )
            .route(
                &format!("/{p}/{{id}}/edit"),
                get(move |s: State<AppState>, a: PageAuth, id: Path<String>| edit_form(t, s, a, id)),
            )
            .route(
                &format!("/{p}/{{id}}/pdf"),
                get(move |s: State<AppState>, a: PageAuth, id: Path<String>| pdf(t, s, a, id)),
            )
            .route(
                &format!("/{p}/{{id}}/delete"),
                post(move |s: State<AppState>, a: PageAuth, id: Path<String>, b: Bytes| delete(t, s, a, id, b)),
            )
            .route(
                &format!("/{p}/{{id}}/drop-ship-orders"),
                post(move |s: State<AppState>, a: PageAuth, id: Path<String>, b: Bytes| {
                    order_drop_ship(t, s, a, id, b)
                }),
            )
            .route(
                &format!("/{p}/{{id}}/actions/{{action}}"),
                post(move |s: State<AppState>, a: PageAuth, id: Path<(String, String)>, b: Bytes| act(t, s, a, id, b)),
            );
    }
    r.route("/quotes/{id}/revisions/{revision}", get(revision))
}

// ---------------------------------------------------------------- lists

/// One document in a list.
#[derive(Debug, Clone)]
pub struct DocRow {
    pub id: String,
    pub path: &'static str,
    pub number: String,
    pub account_id: String,
    pub account: String,
    pub date: String,
    /// Invoices and bills: the due date, once issued.
    pub due: String,
    pub reference: String,
    pub status: &'static str,
    pub total: String,
    pub balance: String,
    pub overdue: bool,
}

fn number_of(d: &Document) -> String {
    d.number.clone().unwrap_or_else(|| "Draft".into())
}

fn doc_row(d: &Document) -> DocRow {
    DocRow {
        id: d.id.to_string(),
        path: d.doc_type.path(),
        number: number_of(d),
        account_id: d.account_id.to_string(),
        account: d.account_name.clone(),
        date: show::date(d.date),
        due: d.due_date.map(show::date).unwrap_or_default(),
        reference: d.reference.clone().unwrap_or_default(),
        status: d.status.as_str(),
        total: show::amount(&d.totals.total, d.currency),
        balance: if d.doc_type.has_balance() { show::amount(&d.balance, d.currency) } else { String::new() },
        overdue: d.overdue,
    }
}

/// The columns a document list may show beside the number: (key, heading).
const COLUMNS: &[(&str, &str)] = &[
    ("account", "Account"),
    ("date", "Date"),
    ("due", "Due"),
    ("reference", "Reference"),
    ("status", "Status"),
    ("total", "Total"),
    ("balance", "Balance"),
];
/// Shown until the user chooses (the balance and due date where a type has them).
const DEFAULT_COLUMNS: &[&str] = &["account", "date", "status", "total", "balance"];

#[derive(Template)]
#[template(path = "documents.html")]
struct ListPage {
    layout: Layout,
    title: &'static str,
    path: &'static str,
    noun: &'static str,
    rows: Vec<DocRow>,
    next: Option<String>,
    can_create: bool,
    statuses: Choices,
    accounts: Choices,
    status: String,
    open: bool,
    q: String,
    account_id: String,
    /// Every column the type has: (key, heading, shown).
    columns: super::views::Columns,
    views: super::views::ViewsBar,
    sorting: super::views::Sorting,
}

/// The filters (and order) a document list reads from its query string.
const FILTERS: &[&str] = &["status", "open", "q", "account_id", "sort"];

/// The store query of a document list's view, for the documents `p` may see
/// (the list page and its CSV export read the same view).
pub(crate) async fn view_query(
    tx: &mut nave_store::Tx,
    p: &Principal,
    t: DocType,
    raw: Option<&str>,
) -> Result<(DocumentQuery, ViewQuery), PageError> {
    let scope = require_page(p, t.record_type(), Action::Read)?;
    let f = ViewQuery::parse(raw, FILTERS);
    let status: Option<DocStatus> = match f.get("status") {
        "" => None,
        s => Some(s.parse().map_err(|_| ApiError::invalid("status", "is not one of the choices"))?),
    };
    let account: Option<PublicId> = match f.get("account_id") {
        "" => None,
        s => Some(s.parse().map_err(|_| ApiError::invalid("account_id", "is not the id of an account"))?),
    };
    let (sort, cursor, sorted_after) = super::views::read_sort(documents::DOC_SORTS, &f)?;
    let mut q = DocumentQuery::new(t);
    q.visibility = Visibility::of(p, scope);
    q.account_key = match account {
        Some(a) => Some(account_for(tx, p, "account_id", a).await?.key),
        None => None,
    };
    q.status = status;
    q.open_only = f.flag("open");
    q.words = nave_domain::search::query_words(f.get("q"));
    q.sort = sort;
    q.cursor = cursor;
    q.sorted_after = sorted_after;
    Ok((q, f))
}

async fn list(t: DocType, State(app): State<AppState>, auth: PageAuth, RawQuery(raw): RawQuery) -> PageResult {
    let p = &auth.principal;
    let rt = t.record_type();
    let mut tx = app.db.read().await?;
    let (q, f) = view_query(&mut tx, p, t, raw.as_deref()).await?;
    let (sort, status, account) = (q.sort, q.status, f.get("account_id").to_string());
    let accounts = account_choices(&mut tx, p).await?;
    let page = documents::list(&mut tx, p.tenant_id, &q).await?;
    let views = super::views::bar(&mut tx, &auth, t.path(), &f.view_qs()).await?;
    tx.commit().await?;
    let next = sort.next_of(&page);
    let offered: Vec<(&str, &str)> =
        COLUMNS.iter().copied().filter(|(k, _)| t.has_balance() || !matches!(*k, "balance" | "due")).collect();
    let view = ListPage {
        layout: auth.layout(t.path()),
        title: plural(t),
        path: t.path(),
        noun: t.label(),
        rows: page.items.iter().map(doc_row).collect(),
        next,
        can_create: t != DocType::Receipt && p.scope_for(rt, Action::Create).is_some(),
        statuses: statuses(t).iter().map(|s| (s.to_string(), s.as_str().replace('_', " "))).collect(),
        accounts,
        status: status.map(|s| s.to_string()).unwrap_or_default(),
        open: f.flag("open"),
        q: f.get("q").to_string(),
        account_id: account,
        columns: super::views::columns(&offered, DEFAULT_COLUMNS, &f.columns),
        views,
        sorting: super::views::Sorting::new(t.path(), documents::DOC_SORTS, sort, &f),
    };
    Ok(render(&view).into_response())
}

/// The open documents of an account, for its page.
#[derive(Debug)]
pub struct AccountDocs {
    pub title: &'static str,
    pub path: &'static str,
    pub rows: Vec<DocRow>,
    pub shows_balance: bool,
    /// More than the rows shown are open.
    pub more: bool,
}

/// The account page's "Documents" section: its open quotes, orders and
/// invoices (up to 10 each) of the types `p` may read.
pub async fn account_documents(
    tx: &mut nave_store::Tx,
    p: &Principal,
    account: &Account,
) -> Result<Vec<AccountDocs>, PageError> {
    let mut out = Vec::new();
    for t in [DocType::Quote, DocType::SalesOrder, DocType::Invoice] {
        let rt = t.record_type();
        let Some(scope) = p.scope_for(rt, Action::Read) else { continue };
        if !p.may(rt, Action::Read, account.ownership) {
            continue;
        }
        let mut q = DocumentQuery::new(t);
        q.visibility = Visibility::of(p, scope);
        q.account_key = Some(account.key);
        q.open_only = true;
        q.limit = 10;
        let page = documents::list(tx, p.tenant_id, &q).await?;
        out.push(AccountDocs {
            title: plural(t),
            path: t.path(),
            rows: page.items.iter().map(doc_row).collect(),
            shows_balance: t.has_balance(),
            more: page.next.is_some(),
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------- one document

/// One action button of a document, with the sentence saying what it does.
#[derive(Debug)]
struct ActionView {
    action: &'static str,
    label: String,
    sentence: String,
    /// Convert: the type made.
    to: Option<&'static str>,
    /// Offers the credit-limit override reason.
    override_field: bool,
    /// Asks for the supplier's bill number (a bill issued without one).
    reference_field: bool,
}

fn action_views(p: &Principal, d: &Document) -> Vec<ActionView> {
    let noun = d.doc_type.label();
    let mut out = Vec::new();
    for &a in &d.allowed_actions {
        let simple = |label: &str, sentence: String| ActionView {
            action: a.as_str(),
            label: label.to_string(),
            sentence,
            to: None,
            override_field: false,
            reference_field: false,
        };
        match a {
            DocAction::Send if d.doc_type == DocType::PurchaseOrder => out.push(simple(
                "Mark as sent",
                "Send: the purchase order is marked as sent to the supplier and can no longer be edited; confirm it \
                 when the supplier accepts."
                    .into(),
            )),
            DocAction::Send => out.push(simple(
                "Send",
                "Send: the quote is marked as sent to the customer and can no longer be edited (revise it to change it).".into(),
            )),
            DocAction::Accept => out.push(simple(
                "Accept",
                "Accept: the customer accepted the quote; it can then be converted to a sales order or an invoice.".into(),
            )),
            DocAction::Reject => out.push(simple("Reject", "Reject: the customer declined the quote.".into())),
            DocAction::Expire => {
                out.push(simple("Expire", "Expire: the offer lapsed without an answer from the customer.".into()))
            }
            DocAction::Revise => out.push(simple(
                "Revise",
                "Revise: the quote goes back to draft as its next revision; this revision stays readable.".into(),
            )),
            DocAction::Convert => {
                for (to, label, sentence) in [
                    (
                        DocType::SalesOrder,
                        "Convert to sales order",
                        "Convert to sales order: a confirmed sales order is made from the quote's lines; stock is \
                         reserved and the account's credit limit is checked.",
                    ),
                    (
                        DocType::Invoice,
                        "Convert to invoice",
                        "Convert to invoice: a draft invoice is made from the quote's lines.",
                    ),
                ] {
                    if p.may(to.record_type(), Action::Create, d.ownership) {
                        out.push(ActionView {
                            action: a.as_str(),
                            label: label.into(),
                            sentence: sentence.into(),
                            to: Some(to.as_str()),
                            override_field: to == DocType::SalesOrder,
                            reference_field: false,
                        });
                    }
                }
            }
            DocAction::Receive => out.push(simple(
                "Receive",
                "Receive: the goods come into stock at their cost and the purchase order counts them.".into(),
            )),
            DocAction::Confirm if d.doc_type == DocType::PurchaseOrder => out.push(simple(
                "Confirm",
                "Confirm: the supplier accepted the order; goods can then be received and billed against it.".into(),
            )),
            DocAction::Cancel if d.doc_type == DocType::PurchaseOrder => out.push(simple(
                "Cancel order",
                "Cancel: the purchase order is cancelled; nothing can be received or billed on it any more.".into(),
            )),
            DocAction::Issue if d.doc_type == DocType::Bill => out.push(ActionView {
                reference_field: d.reference.is_none(),
                ..simple(
                    "Issue",
                    "Issue: the bill is recorded with the supplier's bill number, gets its due dates and counts in \
                     what is owed to the supplier."
                        .into(),
                )
            }),
            DocAction::Confirm => out.push(ActionView {
                override_field: true,
                ..simple(
                    "Confirm",
                    "Confirm: the order is opened, its stock reserved and the account's credit limit checked.".into(),
                )
            }),
            DocAction::Cancel => out.push(simple(
                "Cancel order",
                "Cancel: the order is cancelled and its stock reservations released; nothing more is shipped or invoiced."
                    .into(),
            )),
            DocAction::Issue => out.push(ActionView {
                override_field: d.doc_type == DocType::Invoice,
                ..simple("Issue", format!("Issue: the {noun} gets the next number and can no longer be edited."))
            }),
            DocAction::Void => out.push(simple(
                "Void",
                format!("Void: the {noun} is cancelled; its number stays taken and it no longer counts in the balance."),
            )),
        }
    }
    out
}

#[derive(Template)]
#[template(path = "document.html")]
struct DocPage {
    layout: Layout,
    d: Document,
    path: &'static str,
    list_title: &'static str,
    title: String,
    actions: Vec<ActionView>,
    can_edit: bool,
    can_delete: bool,
    may_override: bool,
    error: Option<String>,
    revisions: Vec<i64>,
    /// (href, text) of the document this one was made from.
    origin: Option<(String, String)>,
    is_order: bool,
    /// A purchase order: its lines show the supplier's code, received and billed.
    is_purchase_order: bool,
    shows_balance: bool,
    /// What the `reference` field holds on this type.
    reference_label: &'static str,
    /// Sales and purchase orders and receipts: the warehouse's name.
    warehouse: Option<String>,
    /// What can be made from this document next (ship, invoice, credit,
    /// apply, refund): each a link to its form and the sentence saying what it does.
    next_steps: Vec<super::fulfilment::NextStep>,
    /// Open sales orders with drop-ship lines not on a purchase order: offer to order them.
    can_order_drop_ship: bool,
    /// Drop-ship purchase orders: the customer's name and address lines.
    deliver_to: Option<(String, Vec<String>)>,
}

impl DocPage {
    fn line_taxes(&self, l: &Line) -> String {
        l.taxes.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")
    }

    fn opt(&self, v: &Option<String>) -> String {
        v.clone().unwrap_or_default()
    }
}

fn title_of(d: &Document) -> String {
    let noun = d.doc_type.label();
    match &d.number {
        Some(n) => format!("{}{} {n}", noun[..1].to_uppercase(), &noun[1..]),
        None => format!("Draft {noun}"),
    }
}

/// A document of type `t` that `p` may read, or a 404 page (the same for
/// one outside their scope as for one that does not exist).
pub(crate) async fn readable(
    tx: &mut nave_store::Tx,
    p: &Principal,
    t: DocType,
    id: &str,
) -> Result<Document, PageError> {
    let rt = t.record_type();
    let id = parse_id(rt.as_str(), id)?;
    Ok(documents::get(tx, p.tenant_id, t, id)
        .await?
        .filter(|d| p.may(rt, Action::Read, d.ownership))
        .ok_or_else(|| ApiError::not_found(rt.as_str()))?)
}

async fn doc_page(
    app: &AppState,
    auth: &PageAuth,
    t: DocType,
    id: &str,
    error: Option<String>,
) -> Result<DocPage, PageError> {
    let p = &auth.principal;
    let rt = t.record_type();
    let mut tx = app.db.read().await?;
    let d = readable(&mut tx, p, t, id).await?;
    let revisions = if t == DocType::Quote { documents::revisions(&mut tx, p.tenant_id, d.key).await? } else { vec![] };
    let warehouse = match d.warehouse_id {
        Some(w) => catalog::get_warehouse(&mut tx, p.tenant_id, w).await?.map(|w| w.name),
        None => None,
    };
    tx.commit().await?;
    let may_update = p.may(rt, Action::Update, d.ownership);
    let origin = match (d.origin_type, d.origin_id) {
        (Some(ot), Some(oid)) => Some((
            format!("/{}/{oid}", ot.path()),
            format!("from {} {}", ot.label(), d.origin_number.clone().unwrap_or_else(|| "(draft)".into())),
        )),
        _ => None,
    };
    Ok(DocPage {
        layout: auth.layout(t.path()),
        path: t.path(),
        list_title: plural(t),
        title: title_of(&d),
        actions: if may_update { action_views(p, &d) } else { vec![] },
        can_edit: may_update && d.editable(),
        can_delete: p.may(rt, Action::Delete, d.ownership) && d.editable(),
        may_override: p.has(Capability::OverrideCreditLimit),
        error,
        revisions,
        origin,
        is_order: t == DocType::SalesOrder,
        is_purchase_order: t == DocType::PurchaseOrder,
        shows_balance: t.has_balance(),
        reference_label: reference_label(t),
        warehouse,
        next_steps: super::fulfilment::next_steps(p, &d),
        can_order_drop_ship: may_update
            && p.may(RecordType::PurchaseOrder, Action::Create, d.ownership)
            && d.status == nave_domain::document::DocStatus::Open
            && d.lines().any(|l| l.drop_ship && l.ledger.left_to_ship() > 0)
            && (d.drop_ship_orders.is_empty() || d.drop_ship_orders.iter().any(|o| o.status == "cancelled")),
        deliver_to: d.drop_ship_for.as_ref().map(|f| {
            let party = crate::pdf::party(&f.customer_name, d.shipping_address.as_ref());
            (party.name, party.lines)
        }),
        d,
    })
}

/// `GET /{path}/{id}`.
/// `GET /{path}/{id}/pdf`: the document as PDF, the same file as the API's.
async fn pdf(t: DocType, State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    require_page(&auth.principal, t.record_type(), Action::Read)?;
    let p = &auth.principal;
    let mut tx = app.db.read().await?;
    let d = readable(&mut tx, p, t, &id).await?;
    let printable = crate::pdf::document_pdf(&mut tx, p.tenant_id, &d).await?;
    tx.commit().await?;
    Ok(crate::pdf::respond(printable, crate::pdf::filename(&d)).await?)
}

async fn show(t: DocType, State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    require_page(&auth.principal, t.record_type(), Action::Read)?;
    Ok(render(&doc_page(&app, &auth, t, &id, None).await?).into_response())
}

/// A refusal of an action the user can read on the document's page (a
/// status that does not allow it, the credit limit, a stale page), with its
/// status; anything else is the page's error.
fn readable_refusal(e: ApiError) -> Result<(StatusCode, String), PageError> {
    match e.code {
        ErrorCode::InvalidTransition | ErrorCode::Conflict | ErrorCode::ValidationFailed => {
            let message = match e.errors.first() {
                Some(f) => format!("{} (the {} {})", e.detail, f.field.replace('_', " "), f.message),
                None => e.detail.clone(),
            };
            Ok((e.status(), message))
        }
        ErrorCode::VersionMismatch => Ok((
            StatusCode::CONFLICT,
            "Someone else changed this record since you opened the page, so nothing was done. Look at it again \
             and retry."
                .into(),
        )),
        _ => Err(e.into()),
    }
}

async fn refused(app: &AppState, auth: &PageAuth, t: DocType, id: &str, e: ApiError) -> PageResult {
    let (status, message) = readable_refusal(e)?;
    let page = doc_page(app, auth, t, id, Some(message)).await?;
    Ok((status, render(&page)).into_response())
}

fn version_of(form: &FormData) -> Option<i64> {
    Some(form.version()).filter(|v| *v > 0)
}

/// `POST /{path}/{id}/actions/{action}`: takes the action and shows the
/// document (the new one for a conversion), or shows it again with the
/// refusal.
async fn act(
    t: DocType,
    State(app): State<AppState>,
    auth: PageAuth,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> PageResult {
    let p = &auth.principal;
    let rt = t.record_type();
    require_page(p, rt, Action::Update)?;
    let action: DocAction = action
        .parse()
        .map_err(|_| ApiError::new(ErrorCode::NotFound, format!("there is no {} action {action}", t.label())))?;
    let form = FormData::parse(&body);
    let if_version = version_of(&form);
    let mut tx = app.db.write().await?;
    let before = readable(&mut tx, p, t, &id).await?;
    may_act(p, rt, Action::Update, before.ownership)?;
    let done = async {
        let override_reason = blank_none(&form.get("override_reason"));
        if override_reason.is_some() && !p.has(Capability::OverrideCreditLimit) {
            return Err(ApiError::forbidden("your role may not override the credit limit"));
        }
        // Refuse an action the status does not allow here, naming the allowed
        // ones, before any store function is asked.
        nave_domain::document::transition(t, before.status, action)?;
        let actor = actor_of(p);
        let doc = match (t, action) {
            (DocType::Quote, DocAction::Convert) => {
                let to = match form.get("to").as_str() {
                    "" | "sales_order" => DocType::SalesOrder,
                    "invoice" => DocType::Invoice,
                    _ => return Err(ApiError::invalid("to", "must be sales_order or invoice")),
                };
                if !p.may(to.record_type(), Action::Create, before.ownership) {
                    return Err(ApiError::forbidden(format!("your role may not create a {}", to.label())));
                }
                nave_store::orders::convert_quote(&mut tx, &actor, &before, if_version, to, override_reason).await?.1
            }
            (DocType::Quote, _) => documents::quote_action(&mut tx, &actor, &before, if_version, action).await?,
            (DocType::SalesOrder, DocAction::Confirm) => {
                nave_store::orders::confirm(&mut tx, &actor, &before, if_version, override_reason).await?
            }
            (DocType::SalesOrder, DocAction::Cancel) => {
                nave_store::orders::cancel(&mut tx, &actor, &before, if_version).await?
            }
            (DocType::Bill | DocType::BillCredit, DocAction::Issue) => {
                // The supplier's number typed on the issue form is saved first, in the same transaction.
                let mut doc = before.clone();
                let mut version = if_version;
                if let Some(reference) = blank_none(&form.get("reference")) {
                    let header = HeaderInput { reference: Some(Some(reference)), ..Default::default() };
                    doc = documents::update(&mut tx, &actor, &before, if_version, header, None).await?;
                    version = Some(doc.version);
                }
                nave_store::billing::issue(&mut tx, &actor, &doc, version, None).await?
            }
            (DocType::Invoice | DocType::CreditNote, DocAction::Issue) => {
                nave_store::billing::issue(&mut tx, &actor, &before, if_version, override_reason).await?
            }
            (DocType::Invoice | DocType::CreditNote | DocType::Bill | DocType::BillCredit, DocAction::Void) => {
                nave_store::billing::void(&mut tx, &actor, &before, if_version).await?
            }
            (DocType::PurchaseOrder, DocAction::Send | DocAction::Confirm | DocAction::Cancel) => {
                nave_store::purchase::order_action(&mut tx, &actor, &before, if_version, action).await?
            }
            (DocType::Receipt, DocAction::Receive) => {
                nave_store::purchase::receive(&mut tx, &actor, &before, if_version).await?
            }
            _ => {
                nave_domain::document::transition(t, before.status, action)?;
                return Err(ApiError::new(ErrorCode::NotFound, format!("there is no {} action {action}", t.label())));
            }
        };
        Ok(format!("/{}/{}", doc.doc_type.path(), doc.id))
    }
    .await;
    match done {
        Ok(location) => {
            tx.commit().await?;
            Ok(Redirect::to(&location).into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            refused(&app, &auth, t, &id, e).await
        }
    }
}

/// `POST /sales-orders/{id}/drop-ship-orders`: makes the purchase orders of
/// the order's drop-ship lines not yet ordered and shows the order.
async fn order_drop_ship(
    t: DocType,
    State(app): State<AppState>,
    auth: PageAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let p = &auth.principal;
    if t != DocType::SalesOrder {
        return Err(ApiError::not_found("page").into());
    }
    require_page(p, t.record_type(), Action::Update)?;
    require_page(p, RecordType::PurchaseOrder, Action::Create)?;
    let _ = FormData::parse(&body);
    let mut tx = app.db.write().await?;
    let before = readable(&mut tx, p, t, &id).await?;
    may_act(p, t.record_type(), Action::Update, before.ownership)?;
    match nave_store::drop_ship::make_orders(&mut tx, &actor_of(p), &before).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/{}/{}", t.path(), before.id)).into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            refused(&app, &auth, t, &id, e.into()).await
        }
    }
}

/// `POST /{path}/{id}/delete`: deletes a draft and goes to the list.
async fn delete(
    t: DocType,
    State(app): State<AppState>,
    auth: PageAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let p = &auth.principal;
    let rt = t.record_type();
    require_page(p, rt, Action::Delete)?;
    let form = FormData::parse(&body);
    let mut tx = app.db.write().await?;
    let before = readable(&mut tx, p, t, &id).await?;
    may_act(p, rt, Action::Delete, before.ownership)?;
    match documents::delete(&mut tx, &actor_of(p), &before, version_of(&form)).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/{}", t.path())).into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            refused(&app, &auth, t, &id, e.into()).await
        }
    }
}

/// One line of an earlier revision, read from its stored snapshot.
#[derive(Debug)]
struct RevisionLine {
    sku: String,
    description: String,
    quantity: String,
    unit_price: String,
    net: String,
}

#[derive(Template)]
#[template(path = "document_revision.html")]
struct RevisionPage {
    layout: Layout,
    id: String,
    title: String,
    revision: i64,
    date: String,
    status: String,
    currency: String,
    lines: Vec<RevisionLine>,
    /// (label, amount) of the totals.
    totals: Vec<(String, String)>,
}

/// `GET /quotes/{id}/revisions/{revision}`: an earlier revision, read-only.
async fn revision(State(app): State<AppState>, auth: PageAuth, Path((id, n)): Path<(String, String)>) -> PageResult {
    let p = &auth.principal;
    require_page(p, RecordType::Quote, Action::Read)?;
    let n: i64 = n.parse().map_err(|_| ApiError::not_found("quote revision"))?;
    let mut tx = app.db.read().await?;
    let d = readable(&mut tx, p, DocType::Quote, &id).await?;
    let mut snap = documents::revision(&mut tx, p.tenant_id, d.key, n)
        .await?
        .ok_or_else(|| ApiError::not_found("quote revision"))?;
    tx.commit().await?;
    p.redact(RecordType::Quote, &mut snap);
    let s = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let empty = vec![];
    let lines = snap
        .get("groups")
        .and_then(|g| g.as_array())
        .unwrap_or(&empty)
        .iter()
        .flat_map(|g| g.get("lines").and_then(|l| l.as_array()).cloned().unwrap_or_default())
        .map(|l| RevisionLine {
            sku: s(&l, "sku"),
            description: s(&l, "description"),
            quantity: s(&l, "quantity"),
            unit_price: s(&l, "unit_price"),
            net: s(&l, "net"),
        })
        .collect();
    let totals_v = snap.get("totals").cloned().unwrap_or_default();
    let mut totals: Vec<(String, String)> = vec![("Net".into(), s(&totals_v, "net"))];
    for tax in totals_v.get("taxes").and_then(|t| t.as_array()).unwrap_or(&empty) {
        totals.push((s(tax, "name"), s(tax, "amount")));
    }
    totals.push(("Total".into(), s(&totals_v, "total")));
    let page = RevisionPage {
        layout: auth.layout("quotes"),
        id: d.id.to_string(),
        title: title_of(&d),
        revision: n,
        date: s(&snap, "date"),
        status: s(&snap, "status"),
        currency: s(&snap, "currency"),
        lines,
        totals,
    };
    Ok(render(&page).into_response())
}

// ---------------------------------------------------------------- the editor

/// One line row as typed.
#[derive(Debug, Clone, Default)]
struct LineForm {
    /// The line this one comes from (a purchase-order line of a receipt or
    /// bill, an order line of an invoice), kept through edits.
    origin_line_id: String,
    kind: String,
    product_id: String,
    description: String,
    quantity: String,
    unit_price: String,
    discount_percent: String,
    discount_amount: String,
    tax_ids: Vec<String>,
    /// Quotes and sales orders: the supplier delivers the line.
    drop_ship: bool,
}

impl LineForm {
    fn is_blank(&self) -> bool {
        [
            &self.product_id,
            &self.description,
            &self.quantity,
            &self.unit_price,
            &self.discount_percent,
            &self.discount_amount,
        ]
        .iter()
        .all(|s| s.trim().is_empty())
            && self.tax_ids.iter().all(|t| t.trim().is_empty())
    }

    fn of(l: &Line) -> Self {
        LineForm {
            origin_line_id: l.origin_line_id.map(|i| i.to_string()).unwrap_or_default(),
            kind: serde_json::to_value(l.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
            product_id: l.product_id.map(|i| i.to_string()).unwrap_or_default(),
            description: l.description.clone(),
            quantity: l.quantity.clone(),
            unit_price: l.unit_price.clone(),
            discount_percent: zero_blank(&l.discount_percent),
            discount_amount: zero_blank(&l.discount_amount),
            tax_ids: if l.tax_ids.is_empty() {
                vec!["none".into()]
            } else {
                l.tax_ids.iter().map(|t| t.to_string()).collect()
            },
            drop_ship: l.drop_ship,
        }
    }
}

/// A stored zero shown as an empty field (no discount).
fn zero_blank(s: &str) -> String {
    if Decimal::from_str(s).is_ok_and(|d| d.is_zero()) { String::new() } else { s.to_string() }
}

/// One group as typed.
#[derive(Debug, Clone, Default)]
struct GroupForm {
    name: String,
    discount_percent: String,
    show_subtotal: bool,
    lines: Vec<LineForm>,
}

/// The editor as typed, kept when it is shown again.
#[derive(Debug, Clone, Default)]
struct DocForm {
    account_id: String,
    currency: String,
    date: String,
    valid_until: String,
    payment_terms_id: String,
    price_list_id: String,
    warehouse_id: String,
    invoice_policy: String,
    prices_include_tax: bool,
    tax_rounding: String,
    reference: String,
    notes: String,
    version: String,
    groups: Vec<GroupForm>,
}

/// `groups[3].rest` → (3, rest).
fn indexed<'a>(key: &'a str, prefix: &str) -> Option<(usize, &'a str)> {
    let rest = key.strip_prefix(prefix)?.strip_prefix('[')?;
    let (i, rest) = rest.split_once(']')?;
    let i: usize = i.parse().ok()?;
    (i < 1000).then_some((i, rest.strip_prefix('.').unwrap_or(rest)))
}

impl DocForm {
    /// The form as posted; empty line rows are dropped (and so are groups
    /// left with neither name nor lines), so the row numbers of the store's
    /// errors are those of the rows shown again.
    fn parse(form: &FormData) -> Self {
        let mut groups: BTreeMap<usize, (GroupForm, BTreeMap<usize, LineForm>)> = BTreeMap::new();
        for (k, v) in &form.0 {
            let Some((gi, rest)) = indexed(k, "groups") else { continue };
            let (g, lines) = groups.entry(gi).or_default();
            match rest {
                "name" => g.name = v.clone(),
                "discount_percent" => g.discount_percent = v.clone(),
                "show_subtotal" => g.show_subtotal = true,
                _ => {
                    let Some((li, field)) = indexed(rest, "lines") else { continue };
                    let l = lines.entry(li).or_default();
                    match field {
                        "kind" => l.kind = v.clone(),
                        "origin_line_id" => l.origin_line_id = v.clone(),
                        "product_id" => l.product_id = v.clone(),
                        "description" => l.description = v.clone(),
                        "quantity" => l.quantity = v.clone(),
                        "unit_price" => l.unit_price = v.clone(),
                        "discount_percent" => l.discount_percent = v.clone(),
                        "discount_amount" => l.discount_amount = v.clone(),
                        "drop_ship" => l.drop_ship = true,
                        "tax_ids" if !v.trim().is_empty() => l.tax_ids.push(v.clone()),
                        _ => {}
                    }
                }
            }
        }
        let groups = groups
            .into_values()
            .map(|(mut g, lines)| {
                g.lines = lines.into_values().filter(|l| !l.is_blank()).collect();
                g
            })
            .filter(|g| !g.lines.is_empty() || !g.name.trim().is_empty() || !g.discount_percent.trim().is_empty())
            .collect();
        DocForm {
            account_id: form.get("account_id"),
            currency: form.get("currency"),
            date: form.get("date"),
            valid_until: form.get("valid_until"),
            payment_terms_id: form.get("payment_terms_id"),
            price_list_id: form.get("price_list_id"),
            warehouse_id: form.get("warehouse_id"),
            invoice_policy: form.get("invoice_policy"),
            prices_include_tax: form.checked("prices_include_tax"),
            tax_rounding: form.get("tax_rounding"),
            reference: form.get("reference"),
            notes: form.get("notes"),
            version: form.get("version"),
            groups,
        }
    }

    fn of(d: &Document) -> Self {
        let id = |i: Option<PublicId>| i.map(|i| i.to_string()).unwrap_or_default();
        DocForm {
            account_id: d.account_id.to_string(),
            currency: d.currency.code().to_string(),
            date: d.date.to_string(),
            valid_until: d.valid_until.map(|v| v.to_string()).unwrap_or_default(),
            payment_terms_id: id(d.payment_terms_id),
            price_list_id: id(d.price_list_id),
            warehouse_id: id(d.warehouse_id),
            invoice_policy: d.invoice_policy.map(|p| p.to_string()).unwrap_or_default(),
            prices_include_tax: d.prices_include_tax,
            tax_rounding: rounding_name(d.tax_rounding).into(),
            reference: d.reference.clone().unwrap_or_default(),
            notes: d.notes.clone(),
            version: d.version.to_string(),
            groups: d
                .groups
                .iter()
                .map(|g| GroupForm {
                    name: g.name.clone(),
                    discount_percent: zero_blank(&g.discount_percent),
                    show_subtotal: g.show_subtotal,
                    lines: g.lines.iter().map(LineForm::of).collect(),
                })
                .collect(),
        }
    }

    /// Adds the empty rows the editor shows: `SPARE_ROWS` below each group,
    /// `MORE_ROWS` more where asked, and a first group when there is none.
    fn with_rows(mut self, more_in: Option<usize>) -> Self {
        if self.groups.is_empty() {
            self.groups.push(GroupForm::default());
        }
        for (i, g) in self.groups.iter_mut().enumerate() {
            let n = if more_in == Some(i) || g.lines.is_empty() { MORE_ROWS } else { SPARE_ROWS };
            g.lines.extend(std::iter::repeat_with(LineForm::default).take(n));
        }
        self
    }
}

fn rounding_name(r: TaxRounding) -> &'static str {
    match r {
        TaxRounding::Document => "document",
        TaxRounding::Line => "line",
    }
}

/// A value of a serde enum named in snake case, from a form field.
fn snake<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.trim().to_string())).ok()
}

/// What the typed form says, as store input, or the fields it got wrong.
struct Typed {
    account_id: Option<PublicId>,
    header: HeaderInput,
    groups: Vec<GroupInput>,
}

fn typed(t: DocType, f: &DocForm, creating: bool) -> Result<Typed, FormErrors> {
    let mut e = FormErrors::default();
    let dec = |e: &mut FormErrors, field: String, s: &str| -> Option<Decimal> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        match Decimal::from_str(s) {
            Ok(d) => Some(d),
            Err(_) => {
                e.add(field, "must be a number, like 12.50");
                None
            }
        }
    };
    let id = |e: &mut FormErrors, field: &str, s: &str| -> Option<PublicId> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        s.parse().map_err(|_| e.add(field, "is not one of the choices")).ok()
    };
    // Blank optional references take the account's default on create and
    // clear the value on an edit (the form shows the current value).
    let optional = |v: Option<PublicId>, blank: bool| -> Option<Option<PublicId>> {
        match (v, blank, creating) {
            (Some(v), _, _) => Some(Some(v)),
            (None, true, false) => Some(None),
            _ => None,
        }
    };
    let account_id = if creating {
        let a = id(&mut e, "account_id", &f.account_id);
        if f.account_id.trim().is_empty() {
            e.add("account_id", "is required");
        }
        a
    } else {
        None
    };
    let currency = match f.currency.trim() {
        "" => None,
        c => Currency::parse(&c.to_uppercase()).map_err(|_| e.add("currency", "is not an ISO 4217 currency code")).ok(),
    };
    let date = form_date(&mut e, "date", &f.date);
    let valid_until = if t == DocType::Quote {
        match form_date(&mut e, "valid_until", &f.valid_until) {
            Some(d) => Some(Some(d)),
            None if f.valid_until.trim().is_empty() && !creating => Some(None),
            None => None,
        }
    } else {
        None
    };
    let terms = id(&mut e, "payment_terms_id", &f.payment_terms_id);
    let price_list = id(&mut e, "price_list_id", &f.price_list_id);
    let warehouse = id(&mut e, "warehouse_id", &f.warehouse_id);
    let invoice_policy = match f.invoice_policy.trim() {
        "" => None,
        s => InvoicePolicy::from_str(s).map_err(|_| e.add("invoice_policy", "is not one of the choices")).ok(),
    };
    let tax_rounding = match f.tax_rounding.trim() {
        "" => None,
        s => snake::<TaxRounding>(s).or_else(|| {
            e.add("tax_rounding", "is not one of the choices");
            None
        }),
    };
    let is_order = t == DocType::SalesOrder;
    let header = HeaderInput {
        currency,
        date,
        valid_until,
        payment_terms_id: optional(terms, f.payment_terms_id.trim().is_empty()),
        price_list_id: optional(price_list, f.price_list_id.trim().is_empty()),
        warehouse_id: if is_order || t == DocType::PurchaseOrder {
            optional(warehouse, f.warehouse_id.trim().is_empty())
        } else {
            None
        },
        invoice_policy: if is_order { invoice_policy } else { None },
        prices_include_tax: Some(f.prices_include_tax),
        tax_rounding,
        reference: if creating { blank_none(&f.reference).map(Some) } else { Some(blank_none(&f.reference)) },
        notes: Some(f.notes.trim().to_string()),
        exchange_rate: None,
        deliver_to: None,
        external_ids: None,
    };
    let mut groups = Vec::new();
    for (gi, g) in f.groups.iter().enumerate() {
        let mut lines = Vec::new();
        for (li, l) in g.lines.iter().enumerate() {
            let at = |field: &str| format!("groups[{gi}].lines[{li}].{field}");
            let kind = match l.kind.trim() {
                "" => None,
                k => snake::<LineKind>(k).or_else(|| {
                    e.add(at("kind"), "is not one of the choices");
                    None
                }),
            };
            let tax_ids = if l.tax_ids.iter().any(|t| t == "none") {
                Some(vec![])
            } else if l.tax_ids.is_empty() {
                None
            } else {
                Some(l.tax_ids.iter().filter_map(|x| id(&mut e, &at("tax_ids"), x)).collect())
            };
            lines.push(LineInput {
                kind,
                product_id: id(&mut e, &at("product_id"), &l.product_id),
                description: blank_none(&l.description),
                quantity: dec(&mut e, at("quantity"), &l.quantity),
                unit_price: dec(&mut e, at("unit_price"), &l.unit_price),
                discount_percent: dec(&mut e, at("discount_percent"), &l.discount_percent),
                discount_amount: dec(&mut e, at("discount_amount"), &l.discount_amount),
                tax_ids,
                origin_line_id: id(&mut e, &at("origin_line_id"), &l.origin_line_id),
                drop_ship: l.drop_ship.then_some(true),
            });
        }
        groups.push(GroupInput {
            name: g.name.trim().to_string(),
            discount_percent: dec(&mut e, format!("groups[{gi}].discount_percent"), &g.discount_percent),
            show_subtotal: g.show_subtotal,
            lines,
        });
    }
    if e.is_empty() { Ok(Typed { account_id, header, groups }) } else { Err(e) }
}

#[derive(Template)]
#[template(path = "document_form.html")]
struct FormPage {
    layout: Layout,
    path: &'static str,
    noun: &'static str,
    /// The draft edited (none for a new one).
    id: Option<String>,
    account_name: String,
    form: DocForm,
    errors: FormErrors,
    is_quote: bool,
    is_order: bool,
    /// Sales and purchase orders choose their warehouse.
    shows_warehouse: bool,
    reference_label: &'static str,
    accounts: Choices,
    products: Choices,
    taxes: Choices,
    terms: Choices,
    price_lists: Choices,
    warehouses: Choices,
    kinds: Choices,
    policies: Choices,
    roundings: Choices,
}

impl FormPage {
    /// The error of a field of group `g`.
    fn group_err(&self, g: &usize, field: &str) -> Option<&str> {
        self.errors.get(&format!("groups[{g}].{field}"))
    }

    fn line_err(&self, g: &usize, l: &usize, field: &str) -> Option<&str> {
        self.errors.get(&format!("groups[{g}].lines[{l}].{field}"))
    }

    /// An error of a whole line (not of one of its fields).
    fn line_whole_err(&self, g: &usize, l: &usize) -> Option<&str> {
        self.errors.only(&format!("groups[{g}].lines[{l}]"))
    }

    /// Every field error, readable, for the summary at the top.
    fn summary(&self) -> Vec<String> {
        summary_of(&self.errors)
    }
}

/// Every field error of the editor, readable ("group 1, line 2, quantity: …"),
/// general ones first.
fn summary_of(errors: &FormErrors) -> Vec<String> {
    let fields = errors.fields.iter().map(|f| {
        let mut name = f.field.clone();
        if let Some((g, rest)) = indexed(&f.field, "groups") {
            name = match indexed(rest, "lines") {
                Some((l, field)) if !field.is_empty() => {
                    format!("group {}, line {}, {}", g + 1, l + 1, field.replace('_', " "))
                }
                Some((l, _)) => format!("group {}, line {}", g + 1, l + 1),
                None => format!("group {}, {}", g + 1, rest.replace('_', " ")),
            };
        }
        format!("{}: {}", name.replace('_', " "), f.message)
    });
    errors.general.iter().cloned().chain(fields).collect()
}

/// The editor's live totals: what the server's pricing engine makes of the
/// form as typed, nothing saved (`parts/live_totals.html`).
#[derive(Template)]
#[template(path = "parts/live_totals.html")]
struct LiveTotals {
    /// (label, amount) rows, the last one the total.
    rows: Vec<(String, String)>,
    /// (group name, its net) when the document has more than one group.
    groups: Vec<(String, String)>,
    /// Why there are no totals yet (a field to fix first).
    pending: Vec<String>,
}

impl LiveTotals {
    fn pending(why: Vec<String>) -> Self {
        LiveTotals { rows: vec![], groups: vec![], pending: why }
    }

    fn of(p: &nave_domain::pricing::PricedDocument, names: &[&str]) -> Self {
        let t = &p.totals;
        let n = |m: &nave_domain::money::Money| show::number(&m.to_string());
        let mut rows = vec![("Subtotal".to_string(), n(&t.subtotal))];
        if !t.discount.to_decimal().is_zero() {
            rows.push(("Discount".into(), n(&t.discount)));
        }
        rows.push(("Net".into(), n(&t.net)));
        if !t.shipping.to_decimal().is_zero() {
            rows.push(("Shipping".into(), n(&t.shipping)));
        }
        for x in &t.taxes {
            rows.push((format!("{} on {}", x.name, n(&x.base)), n(&x.amount)));
        }
        rows.push(("Tax".into(), n(&t.tax)));
        rows.push(("Total".into(), show::money(&t.total)));
        let groups = if p.groups.len() > 1 {
            p.groups
                .iter()
                .enumerate()
                .map(|(i, g)| {
                    let name = names.get(i).map(|f| f.trim()).filter(|s| !s.is_empty());
                    (name.map_or_else(|| format!("Group {}", i + 1), str::to_string), n(&g.net))
                })
                .collect()
        } else {
            vec![]
        };
        LiveTotals { rows, groups, pending: vec![] }
    }
}

/// `POST /{path}/preview` and `POST /{path}/{id}/preview`: the live totals of
/// the editor's form as typed (htmx swaps them in as the user types; nothing
/// is stored).
async fn preview(t: DocType, app: AppState, auth: PageAuth, id: Option<String>, body: Bytes) -> PageResult {
    let p = &auth.principal;
    let rt = t.record_type();
    let form = DocForm::parse(&FormData::parse(&body));
    let mut tx = app.db.read().await?;
    let before = match &id {
        Some(id) => {
            let d = readable(&mut tx, p, t, id).await?;
            may_act(p, rt, Action::Update, d.ownership)?;
            Some(d)
        }
        None => {
            require_page(p, rt, Action::Create)?;
            None
        }
    };
    let view = match typed(t, &form, before.is_none()) {
        _ if before.is_none() && form.account_id.trim().is_empty() => {
            LiveTotals::pending(vec!["Choose the account to see the totals.".into()])
        }
        Err(errors) => LiveTotals::pending(summary_of(&errors)),
        Ok(typed) => {
            if let (None, Some(a)) = (&before, typed.account_id) {
                account_for(&mut tx, p, "account_id", a).await?;
            }
            // The groups exactly as saving would send them, so the preview
            // prices (or refuses) what a save would.
            let groups = typed.groups;
            match documents::preview(&mut tx, p.tenant_id, t, typed.account_id, before.as_ref(), &typed.header, &groups)
                .await
            {
                Ok(priced) => LiveTotals::of(&priced, &groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>()),
                Err(e) => {
                    let e: ApiError = e.into();
                    let mut errors = FormErrors::default();
                    errors.absorb(e)?;
                    LiveTotals::pending(summary_of(&errors))
                }
            }
        }
    };
    tx.commit().await?;
    Ok(render(&view).into_response())
}

fn names<E: Copy + std::fmt::Display>(all: &[E]) -> Choices {
    all.iter().map(|e| (e.to_string(), e.to_string().replace('_', " "))).collect()
}

async fn form_page(
    app: &AppState,
    auth: &PageAuth,
    t: DocType,
    existing: Option<&Document>,
    form: DocForm,
    errors: FormErrors,
) -> PageResult {
    let p = &auth.principal;
    let mut tx = app.db.read().await?;
    let accounts = account_choices(&mut tx, p).await?;
    let products = catalog::list_products(
        &mut tx,
        p.tenant_id,
        &ProductQuery { active: Some(true), limit: 500, ..Default::default() },
    )
    .await?
    .items
    .into_iter()
    .map(|pr| (pr.id.to_string(), format!("{} – {}", pr.sku, pr.name)))
    .collect();
    let taxes = nave_store::taxes::list_taxes(&mut tx, p.tenant_id)
        .await?
        .into_iter()
        .filter(|x| x.active)
        .map(|x| (x.id.to_string(), format!("{} ({} %)", x.name, x.rate)))
        .collect();
    let terms = nave_store::payment_terms::list(&mut tx, p.tenant_id, false)
        .await?
        .into_iter()
        .map(|x| (x.id.to_string(), x.name))
        .collect();
    let price_lists = nave_store::price_lists::list(&mut tx, p.tenant_id)
        .await?
        .into_iter()
        .filter(|x| x.active)
        .map(|x| (x.id.to_string(), format!("{} ({})", x.name, x.currency.code())))
        .collect();
    let warehouses = catalog::list_warehouses(&mut tx, p.tenant_id)
        .await?
        .into_iter()
        .filter(|x| x.active)
        .map(|x| (x.id.to_string(), x.name))
        .collect();
    tx.commit().await?;
    let status = if errors.is_empty() { StatusCode::OK } else { errors.status() };
    let page = FormPage {
        layout: auth.layout(t.path()),
        path: t.path(),
        noun: t.label(),
        id: existing.map(|d| d.id.to_string()),
        account_name: existing.map(|d| d.account_name.clone()).unwrap_or_default(),
        form,
        errors,
        is_quote: t == DocType::Quote,
        is_order: t == DocType::SalesOrder,
        shows_warehouse: matches!(t, DocType::SalesOrder | DocType::PurchaseOrder),
        reference_label: reference_label(t),
        accounts,
        products,
        taxes,
        terms,
        price_lists,
        warehouses,
        kinds: vec![
            ("product".into(), "product".into()),
            ("text".into(), "text".into()),
            ("comment".into(), "comment".into()),
            ("shipping".into(), "shipping".into()),
        ],
        policies: names(InvoicePolicy::ALL),
        roundings: vec![("document".into(), "per document".into()), ("line".into(), "per line".into())],
    };
    Ok((status, render(&page)).into_response())
}

/// The query of a new form.
#[derive(Debug, Deserialize)]
pub struct NewQuery {
    account_id: Option<String>,
}

/// `GET /{path}/new` (`?account_id=` picks the account).
async fn new_form(t: DocType, State(app): State<AppState>, auth: PageAuth, Query(q): Query<NewQuery>) -> PageResult {
    require_page(&auth.principal, t.record_type(), Action::Create)?;
    if t == DocType::Receipt {
        // A receipt is made from a purchase order: its "Receive" form.
        return Ok(Redirect::to("/purchase-orders?status=confirmed").into_response());
    }
    let form = DocForm { account_id: q.account_id.unwrap_or_default(), ..Default::default() }.with_rows(None);
    form_page(&app, &auth, t, None, form, FormErrors::default()).await
}

/// `GET /{path}/{id}/edit` (drafts only).
async fn edit_form(t: DocType, State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    let p = &auth.principal;
    require_page(p, t.record_type(), Action::Update)?;
    let mut tx = app.db.read().await?;
    let d = readable(&mut tx, p, t, &id).await?;
    tx.commit().await?;
    may_act(p, t.record_type(), Action::Update, d.ownership)?;
    if !d.editable() {
        return refused(
            &app,
            &auth,
            t,
            &id,
            ApiError::new(ErrorCode::Conflict, format!("the {} is {}: only drafts can be edited", t.label(), d.status)),
        )
        .await;
    }
    form_page(&app, &auth, t, Some(&d), DocForm::of(&d).with_rows(None), FormErrors::default()).await
}

/// What the editor's button asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Save,
    /// Save and come back to the editor (the totals are the server's).
    Recalculate,
    /// Show the form again with more empty rows in group `n`.
    AddLines(usize),
    AddGroup,
    /// Show the form again with group `n` swapped with the one above (`true`) or below.
    MoveGroup(usize, bool),
    /// Show the form again without group `n` (its lines go with it).
    RemoveGroup(usize),
}

fn op_of(form: &FormData) -> Op {
    let op = form.get("op");
    match op.as_str() {
        "recalculate" => Op::Recalculate,
        "add_group" => Op::AddGroup,
        s => {
            let (verb, n) = s.split_once(':').unwrap_or((s, ""));
            match (verb, n.parse().ok()) {
                ("add_lines", Some(g)) => Op::AddLines(g),
                ("group_up", Some(g)) => Op::MoveGroup(g, true),
                ("group_down", Some(g)) => Op::MoveGroup(g, false),
                ("remove_group", Some(g)) => Op::RemoveGroup(g),
                _ => Op::Save,
            }
        }
    }
}

/// Saves the editor, or shows it again with each error next to its field
/// and nothing stored.
async fn save(app: &AppState, auth: &PageAuth, t: DocType, id: Option<&str>, body: &[u8]) -> PageResult {
    let p = &auth.principal;
    let rt = t.record_type();
    let data = FormData::parse(body);
    let op = op_of(&data);
    let mut form = DocForm::parse(&data);
    let before = match id {
        Some(id) => {
            let mut tx = app.db.read().await?;
            let d = readable(&mut tx, p, t, id).await?;
            tx.commit().await?;
            may_act(p, rt, Action::Update, d.ownership)?;
            Some(d)
        }
        None => None,
    };
    match op {
        Op::AddLines(g) => {
            let g = g.min(form.groups.len().saturating_sub(1));
            return form_page(app, auth, t, before.as_ref(), form.with_rows(Some(g)), FormErrors::default()).await;
        }
        Op::AddGroup => {
            form.groups.push(GroupForm { name: "New group".into(), ..Default::default() });
            let last = form.groups.len() - 1;
            return form_page(app, auth, t, before.as_ref(), form.with_rows(Some(last)), FormErrors::default()).await;
        }
        Op::MoveGroup(g, up) => {
            let other = if up { g.checked_sub(1) } else { g.checked_add(1) };
            if let Some(o) = other.filter(|o| *o < form.groups.len() && g < form.groups.len()) {
                form.groups.swap(g, o);
            }
            return form_page(app, auth, t, before.as_ref(), form.with_rows(None), FormErrors::default()).await;
        }
        Op::RemoveGroup(g) => {
            if g < form.groups.len() && form.groups.len() > 1 {
                form.groups.remove(g);
            }
            return form_page(app, auth, t, before.as_ref(), form.with_rows(None), FormErrors::default()).await;
        }
        Op::Save | Op::Recalculate => {}
    }
    let mut tx = app.db.write().await?;
    let saved = async {
        let typed = typed(t, &form, before.is_none())?;
        let actor = actor_of(p);
        let doc = match &before {
            Some(b) => {
                let b = documents::get(&mut tx, p.tenant_id, t, b.id)
                    .await?
                    .ok_or_else(|| ApiError::not_found(rt.as_str()))?;
                let version = form.version.trim().parse::<i64>().ok();
                documents::update(&mut tx, &actor, &b, version, typed.header, Some(typed.groups)).await?
            }
            None => {
                if t == DocType::Receipt {
                    return Err(ApiError::invalid(
                        "account_id",
                        "a receipt is made from a purchase order: choose Receive on the purchase order",
                    ));
                }
                let account_id = typed.account_id.ok_or_else(|| ApiError::invalid("account_id", "is required"))?;
                let account = account_for(&mut tx, p, "account_id", account_id).await?;
                if !p.may(rt, Action::Create, account.ownership) {
                    return Err(ApiError::forbidden(format!(
                        "your role may not create a {} for this account",
                        t.label()
                    )));
                }
                let new = NewDocument {
                    doc_type: t,
                    account_id,
                    header: typed.header,
                    groups: typed.groups,
                    origin_key: None,
                };
                documents::create(&mut tx, &actor, new).await?
            }
        };
        Ok::<_, ApiError>(if op == Op::Recalculate {
            format!("/{}/{}/edit", t.path(), doc.id)
        } else {
            format!("/{}/{}", t.path(), doc.id)
        })
    }
    .await;
    match super::finish_save(tx, saved).await? {
        Ok(done) => Ok(done),
        Err(errors) => form_page(app, auth, t, before.as_ref(), form.with_rows(None), errors).await,
    }
}

/// `POST /{path}`.
async fn create(t: DocType, State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    require_page(&auth.principal, t.record_type(), Action::Create)?;
    save(&app, &auth, t, None, &body).await
}

/// `POST /{path}/{id}`.
async fn update(
    t: DocType,
    State(app): State<AppState>,
    auth: PageAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    require_page(&auth.principal, t.record_type(), Action::Update)?;
    save(&app, &auth, t, Some(&id), &body).await
}
