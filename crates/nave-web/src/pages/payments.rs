//! Pages of payments and of what settles a credit: the payment list
//! (`/payments`), a new payment with its allocation across the account's
//! open invoices in the same form (`/payments/new?account_id=…`; amounts
//! left empty go to the oldest invoices first), one payment with its
//! allocations and "allocate the rest" (`/payments/{id}`), and a credit
//! note's "apply to invoices" and "refund" (`/credit-notes/{id}/apply`,
//! `/credit-notes/{id}/refund`). Payments sent to suppliers are the same
//! pages on the other [`Side`] — `/payments-sent…`, allocated to the
//! supplier's open bills — and a bill credit is applied to bills at
//! `/bill-credits/{id}/apply`. Writes go through `nave_store::payments`,
//! which locks the rows it settles, in one transaction each.

use std::str::FromStr;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use nave_domain::access::{Action, Principal, RecordType};
use nave_domain::document::{DocStatus, DocType};
use nave_domain::ids::PublicId;
use nave_domain::money::{Currency, format_minor};
use nave_store::accounts::{Account, Visibility};
use nave_store::documents::{self, Document, DocumentQuery};
use nave_store::payments::{self, AllocationInput, METHODS, NewPayment, Payment, PaymentQuery, Refund};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::documents::readable;
use super::fulfilment::{refusal, remap, some_text};
use super::show::{self, filters};
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

const T: RecordType = RecordType::Payment;

/// Which way the money goes: payments received from customers (allocated to
/// invoices) or payments sent to suppliers (allocated to bills).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Received,
    Sent,
}

impl Side {
    pub fn sent(self) -> bool {
        self == Side::Sent
    }

    /// The record type whose permissions apply.
    pub fn rt(self) -> RecordType {
        match self {
            Side::Received => T,
            Side::Sent => RecordType::PaymentSent,
        }
    }

    /// The pages' path: `/payments` or `/payments-sent`.
    pub fn base(self) -> &'static str {
        match self {
            Side::Received => "payments",
            Side::Sent => "payments-sent",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Side::Received => "Payments",
            Side::Sent => "Payments sent",
        }
    }

    /// What a payment settles.
    fn doc_type(self) -> DocType {
        match self {
            Side::Received => DocType::Invoice,
            Side::Sent => DocType::Bill,
        }
    }

    /// "From" the customer or "To" the supplier.
    pub fn party(self) -> &'static str {
        match self {
            Side::Received => "From",
            Side::Sent => "To",
        }
    }
}

/// Every route of these pages.
pub fn routes() -> Router<AppState> {
    let mut r = Router::new();
    for side in [Side::Received, Side::Sent] {
        let b = side.base();
        r = r
            .route(
                &format!("/{b}"),
                get(move |s: State<AppState>, a: PageAuth, q: RawQuery| list(side, s, a, q))
                    .post(move |s: State<AppState>, a: PageAuth, body: Bytes| create(side, s, a, body)),
            )
            .route(
                &format!("/{b}/new"),
                get(move |s: State<AppState>, a: PageAuth, q: Query<NewQuery>| new_form(side, s, a, q)),
            )
            .route(
                &format!("/{b}/{{id}}"),
                get(move |s: State<AppState>, a: PageAuth, id: Path<String>| show(side, s, a, id)),
            )
            .route(
                &format!("/{b}/{{id}}/allocate"),
                axum::routing::post(move |s: State<AppState>, a: PageAuth, id: Path<String>, body: Bytes| {
                    allocate(side, s, a, id, body)
                }),
            );
    }
    for credit in [DocType::CreditNote, DocType::BillCredit] {
        let p = credit.path();
        r = r.route(
            &format!("/{p}/{{id}}/apply"),
            get(move |s: State<AppState>, a: PageAuth, id: Path<String>| apply_form(credit, s, a, id)).post(
                move |s: State<AppState>, a: PageAuth, id: Path<String>, body: Bytes| apply(credit, s, a, id, body),
            ),
        );
    }
    r.route("/credit-notes/{id}/refund", get(refund_form).post(refund))
}

fn method_choices() -> Choices {
    METHODS.iter().map(|m| (m.to_string(), m.replace('_', " "))).collect()
}

// ---------------------------------------------------------------- open invoices

/// One open invoice of an allocation form.
#[derive(Debug, Clone)]
struct AllocRow {
    /// The invoice or bill settled (`invoice_id` is the store's name for both).
    invoice_id: String,
    /// Its page's path: `invoices` or `bills`.
    path: &'static str,
    number: String,
    date: String,
    due: String,
    balance: String,
    balance_minor: i64,
    /// As typed (the default: the oldest-first share).
    value: String,
}

/// The open (issued or part-paid) invoices — or bills, with `t` — of the
/// account in `currency`, oldest due first: what a payment or credit can settle.
async fn open_invoices(
    tx: &mut nave_store::Tx,
    p: &Principal,
    t: DocType,
    account_key: i64,
    currency: Currency,
) -> Result<Vec<AllocRow>, PageError> {
    let Some(scope) = p.scope_for(t.record_type(), Action::Read) else { return Ok(vec![]) };
    let mut q = DocumentQuery::new(t);
    q.visibility = Visibility::of(p, scope);
    q.account_key = Some(account_key);
    q.open_only = true;
    q.limit = 200;
    let mut list: Vec<Document> = documents::list(tx, p.tenant_id, &q)
        .await?
        .items
        .into_iter()
        .filter(|d| matches!(d.status, DocStatus::Issued | DocStatus::PartPaid) && d.currency == currency)
        .filter(|d| d.balance_minor > 0)
        .collect();
    list.sort_by_key(|d| (d.due_date.unwrap_or(d.date), d.date, d.number.clone()));
    Ok(list
        .iter()
        .map(|d| AllocRow {
            invoice_id: d.id.to_string(),
            path: t.path(),
            number: d.number.clone().unwrap_or_default(),
            date: show::date(d.date),
            due: d.due_date.map(show::date).unwrap_or_default(),
            balance: show::amount(&d.balance, d.currency),
            balance_minor: d.balance_minor,
            value: String::new(),
        })
        .collect())
}

/// Fills each row's amount with its share of `amount_minor`, oldest first.
fn oldest_first(rows: &mut [AllocRow], mut amount_minor: i64, currency: Currency) {
    for r in rows {
        let take = amount_minor.min(r.balance_minor).max(0);
        amount_minor -= take;
        r.value = if take > 0 { format_minor(take, currency) } else { String::new() };
    }
}

/// The allocations typed into a form that applies money already there (an
/// existing payment's rest, a credit note): at least one amount is required.
fn required_allocations(
    form: &FormData,
    rows: &mut [AllocRow],
    errors: &mut FormErrors,
) -> (Vec<AllocationInput>, Vec<usize>) {
    let (allocations, picked) = typed_allocations(form, rows, errors, None);
    if allocations.is_empty() && errors.is_empty() {
        errors.add("allocations", "give at least one amount");
    }
    (allocations, picked)
}

/// The allocations typed in `allocations[i].amount` (with the hidden
/// `allocations[i].invoice_id`); blank or 0 skips an invoice. When every
/// amount is blank, `auto` (if given) is spread oldest first. Returns the
/// allocations and the form row of each.
fn typed_allocations(
    form: &FormData,
    rows: &mut [AllocRow],
    errors: &mut FormErrors,
    auto: Option<(i64, Currency)>,
) -> (Vec<AllocationInput>, Vec<usize>) {
    for (i, r) in rows.iter_mut().enumerate() {
        if form.get(&format!("allocations[{i}].invoice_id")) == r.invoice_id {
            r.value = form.get(&format!("allocations[{i}].amount"));
        }
    }
    if let Some((amount, currency)) = auto
        && rows.iter().all(|r| r.value.trim().is_empty())
    {
        oldest_first(rows, amount, currency);
    }
    let mut out = Vec::new();
    let mut at = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let v = r.value.trim();
        if v.is_empty() {
            continue;
        }
        match Decimal::from_str(v) {
            Err(_) => errors.add(format!("allocations[{i}].amount"), "must be an amount, like 45.08"),
            Ok(d) if d.is_zero() => {}
            Ok(d) if d.is_sign_negative() => errors.add(format!("allocations[{i}].amount"), "must not be negative"),
            Ok(amount) => {
                if let Ok(invoice_id) = r.invoice_id.parse() {
                    out.push(AllocationInput { invoice_id, amount });
                    at.push(i);
                }
            }
        }
    }
    (out, at)
}

fn amount_minor(s: &str, currency: Currency) -> Option<i64> {
    let d = Decimal::from_str(s.trim()).ok()?;
    nave_domain::money::Money::from_decimal_exact(d, currency).ok().map(|m| m.minor())
}

// ---------------------------------------------------------------- the list

/// One payment in a list.
#[derive(Debug)]
pub struct PaymentRow {
    pub id: String,
    pub date: String,
    pub account_id: String,
    pub account: String,
    pub amount: String,
    pub method: String,
    pub reference: String,
    pub unallocated: String,
    pub direction: String,
}

fn payment_row(p: &Payment) -> PaymentRow {
    PaymentRow {
        id: p.id.to_string(),
        date: show::date(p.date),
        account_id: p.account_id.to_string(),
        account: p.account_name.clone(),
        amount: show::amount(&p.amount, p.currency),
        method: p.method.replace('_', " "),
        reference: p.reference.clone().unwrap_or_default(),
        unallocated: show::number(&p.unallocated),
        direction: p.direction.clone(),
    }
}

#[derive(Template)]
#[template(path = "payments.html")]
struct ListPage {
    layout: Layout,
    side: Side,
    rows: Vec<PaymentRow>,
    accounts: Choices,
    account_id: String,
    can_create: bool,
    next: Option<String>,
    columns: super::views::Columns,
    views: super::views::ViewsBar,
    sorting: super::views::Sorting,
}

/// The columns a payment list may show beside the date: (key, heading).
const COLUMNS: &[(&str, &str)] = &[
    ("account", "Account"),
    ("amount", "Amount"),
    ("method", "Method"),
    ("reference", "Reference"),
    ("unallocated", "Not allocated"),
];
const DEFAULT_COLUMNS: &[&str] = &["account", "amount", "method", "reference", "unallocated"];

/// The filters a payment list reads from its query string.
pub(crate) const FILTERS: &[&str] = &["account_id", "sort"];

/// The store query of a payment list view of `side`, for the payments `p` may
/// see, with the account filtered on.
pub(crate) async fn store_query(
    tx: &mut nave_store::Tx,
    p: &Principal,
    side: Side,
    f: &super::views::ViewQuery,
) -> Result<(PaymentQuery, Option<Account>), PageError> {
    let scope = require_page(p, side.rt(), Action::Read)?;
    let account = match f.get("account_id") {
        "" => None,
        a => {
            let id: PublicId = a.parse().map_err(|_| ApiError::invalid("account_id", "is not the id of an account"))?;
            Some(account_for(tx, p, "account_id", id).await?)
        }
    };
    let (sort, cursor, sorted_after) = super::views::read_sort(payments::SORTS, f)?;
    let q = PaymentQuery {
        sent: side.sent(),
        visibility: Visibility::of(p, scope),
        account_key: account.as_ref().map(|a| a.key),
        cursor,
        sort,
        sorted_after,
        limit: 50,
    };
    Ok((q, account))
}

/// The latest payments of an account, for its page (none when `p` may not
/// read payments).
pub async fn latest_of_account(
    tx: &mut nave_store::Tx,
    p: &Principal,
    account: &Account,
) -> Result<Option<Vec<PaymentRow>>, PageError> {
    let Some(scope) = p.scope_for(T, Action::Read) else { return Ok(None) };
    if !p.may(T, Action::Read, account.ownership) {
        return Ok(None);
    }
    let q = PaymentQuery {
        sent: false,
        visibility: Visibility::of(p, scope),
        account_key: Some(account.key),
        limit: 5,
        ..Default::default()
    };
    let page = payments::list(tx, p.tenant_id, &q).await?;
    Ok(Some(page.items.iter().map(payment_row).collect()))
}

/// `GET /payments` (`/payments-sent`): the payments `p` may see, newest first.
async fn list(side: Side, State(app): State<AppState>, auth: PageAuth, RawQuery(raw): RawQuery) -> PageResult {
    let p = &auth.principal;
    let f = super::views::ViewQuery::parse(raw.as_deref(), FILTERS);
    let mut tx = app.db.read().await?;
    let (q, account) = store_query(&mut tx, p, side, &f).await?;
    let accounts = account_choices(&mut tx, p).await?;
    let page = payments::list(&mut tx, p.tenant_id, &q).await?;
    let views = super::views::bar(&mut tx, &auth, side.base(), &f.view_qs()).await?;
    tx.commit().await?;
    let view = ListPage {
        layout: auth.layout(side.base()),
        side,
        rows: page.items.iter().map(payment_row).collect(),
        accounts,
        account_id: account.map(|a| a.id.to_string()).unwrap_or_default(),
        can_create: p.scope_for(side.rt(), Action::Create).is_some(),
        next: q.sort.next_of(&page),
        columns: super::views::columns(COLUMNS, DEFAULT_COLUMNS, &f.columns),
        views,
        sorting: super::views::Sorting::new(side.base(), payments::SORTS, q.sort, &f),
    };
    Ok(render(&view).into_response())
}

// ---------------------------------------------------------------- a new payment

#[derive(Template)]
#[template(path = "payment_form.html")]
struct FormPage {
    layout: Layout,
    side: Side,
    /// "Invoice" or "Bill": what the allocation rows settle.
    doc_label: &'static str,
    accounts: Choices,
    /// The account chosen: (id, name); none shows the account picker.
    account: Option<(String, String)>,
    amount: String,
    currency: String,
    date: String,
    method: String,
    reference: String,
    notes: String,
    methods: Choices,
    rows: Vec<AllocRow>,
    errors: FormErrors,
}

/// The query of the new-payment form.
#[derive(Debug, Deserialize)]
pub struct NewQuery {
    account_id: Option<String>,
}

async fn chosen_account(
    tx: &mut nave_store::Tx,
    p: &Principal,
    id: &str,
) -> Result<Result<Account, ApiError>, PageError> {
    let Ok(id) = id.trim().parse::<PublicId>() else {
        return Ok(Err(ApiError::invalid("account_id", "is not one of the choices")));
    };
    Ok(account_for(tx, p, "account_id", id).await)
}

/// "Invoice" or "Bill".
fn doc_label(t: DocType) -> &'static str {
    match t {
        DocType::Bill => "Bill",
        _ => "Invoice",
    }
}

/// `GET /payments/new?account_id=…` (and `/payments-sent/new`).
async fn new_form(side: Side, State(app): State<AppState>, auth: PageAuth, Query(q): Query<NewQuery>) -> PageResult {
    let p = &auth.principal;
    require_page(p, side.rt(), Action::Create)?;
    let mut tx = app.db.read().await?;
    let accounts = account_choices(&mut tx, p).await?;
    let mut page = FormPage {
        layout: auth.layout(side.base()),
        side,
        doc_label: doc_label(side.doc_type()),
        accounts,
        account: None,
        amount: String::new(),
        currency: String::new(),
        date: nave_store::db::now().date().to_string(),
        method: "bank_transfer".into(),
        reference: String::new(),
        notes: String::new(),
        methods: method_choices(),
        rows: vec![],
        errors: FormErrors::default(),
    };
    if let Some(a) = some_text(&q.account_id) {
        match chosen_account(&mut tx, p, a).await? {
            Ok(acc) => {
                page.rows = open_invoices(&mut tx, p, side.doc_type(), acc.key, acc.currency).await?;
                page.currency = acc.currency.code().to_string();
                page.account = Some((acc.id.to_string(), acc.name));
            }
            Err(e) => page.errors = super::form_errors(e)?,
        }
    }
    tx.commit().await?;
    let status = if page.errors.is_empty() { StatusCode::OK } else { page.errors.status() };
    Ok((status, render(&page)).into_response())
}

/// `POST /payments` (`/payments-sent`): records the payment with its
/// allocations, or shows the form again with each error next to its field.
async fn create(side: Side, State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    let p = &auth.principal;
    require_page(p, side.rt(), Action::Create)?;
    let form = FormData::parse(&body);
    let mut tx = app.db.read().await?;
    let accounts = account_choices(&mut tx, p).await?;
    let mut errors = FormErrors::default();
    let account = match chosen_account(&mut tx, p, &form.get("account_id")).await? {
        Ok(a) => Some(a),
        Err(e) => {
            errors.absorb(e)?;
            None
        }
    };
    let mut page = FormPage {
        layout: auth.layout(side.base()),
        side,
        doc_label: doc_label(side.doc_type()),
        accounts,
        account: account.as_ref().map(|a| (a.id.to_string(), a.name.clone())),
        amount: form.get("amount"),
        currency: form.get("currency"),
        date: form.get("date"),
        method: form.get("method"),
        reference: form.get("reference"),
        notes: form.get("notes"),
        methods: method_choices(),
        rows: vec![],
        errors: FormErrors::default(),
    };
    let currency = match page.currency.trim() {
        "" => account.as_ref().map(|a| a.currency),
        c => Currency::parse(&c.to_uppercase())
            .map_err(|_| errors.add("currency", "is not an ISO 4217 currency code"))
            .ok(),
    };
    if let (Some(a), Some(c)) = (&account, currency) {
        page.rows = open_invoices(&mut tx, p, side.doc_type(), a.key, c).await?;
    }
    tx.commit().await?;
    let amount = match page.amount.trim() {
        "" => {
            errors.add("amount", "is required");
            None
        }
        s => Decimal::from_str(s).map_err(|_| errors.add("amount", "must be an amount, like 120.00")).ok(),
    };
    let auto = currency.and_then(|c| amount_minor(&page.amount, c).map(|m| (m, c)));
    let (allocations, rows) = typed_allocations(&form, &mut page.rows, &mut errors, auto);
    let date = form_date(&mut errors, "date", &page.date);
    let (Some(account), Some(amount), true) = (account, amount, errors.is_empty()) else {
        page.errors = errors;
        return shown(&page);
    };
    if !p.may(side.rt(), Action::Create, account.ownership) {
        return Err(ApiError::forbidden("your role may not record a payment for this account").into());
    }
    let mut tx = app.db.write().await?;
    let new = NewPayment {
        sent: side.sent(),
        account_id: account.id,
        amount,
        currency,
        date,
        method: page.method.trim().to_string(),
        reference: blank_none(&page.reference),
        notes: page.notes.trim().to_string(),
        allocations,
        external_ids: vec![],
    };
    match payments::create(&mut tx, &actor_of(p), new).await {
        Ok(pay) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/{}/{}", side.base(), pay.id)).into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            let e = remap(e.into(), "allocations", &rows);
            page.errors = refusal(
                e,
                &["allocations", "amount", "currency", "date", "method", "reference", "notes", "account_id"],
            )?;
            shown(&page)
        }
    }
}

fn shown<P>(page: &P) -> PageResult
where
    P: Template + HasErrors,
{
    let status = if page.errors().is_empty() { StatusCode::OK } else { page.errors().status() };
    Ok((status, render(page)).into_response())
}

trait HasErrors {
    fn errors(&self) -> &FormErrors;
}

impl HasErrors for FormPage {
    fn errors(&self) -> &FormErrors {
        &self.errors
    }
}

impl HasErrors for PaymentPage {
    fn errors(&self) -> &FormErrors {
        &self.errors
    }
}

impl HasErrors for SettlePage {
    fn errors(&self) -> &FormErrors {
        &self.errors
    }
}

// ---------------------------------------------------------------- one payment

#[derive(Template)]
#[template(path = "payment.html")]
struct PaymentPage {
    layout: Layout,
    side: Side,
    doc_label: &'static str,
    pay: Payment,
    rows: Vec<AllocRow>,
    can_allocate: bool,
    errors: FormErrors,
}

/// A payment of `side` that `p` may read (a payment of the other side is not found here).
async fn readable_payment(tx: &mut nave_store::Tx, p: &Principal, side: Side, id: &str) -> Result<Payment, PageError> {
    let id = parse_id("payment", id)?;
    Ok(payments::get(tx, p.tenant_id, id)
        .await?
        .filter(|x| (x.direction == "sent") == side.sent() && p.may(side.rt(), Action::Read, x.ownership))
        .ok_or_else(|| ApiError::not_found("payment"))?)
}

async fn payment_page(app: &AppState, auth: &PageAuth, side: Side, id: &str) -> Result<PaymentPage, PageError> {
    let p = &auth.principal;
    let mut tx = app.db.read().await?;
    let pay = readable_payment(&mut tx, p, side, id).await?;
    let left = pay.amount_minor - pay.allocated_minor;
    let can_allocate = matches!(pay.direction.as_str(), "received" | "sent")
        && left > 0
        && p.may(side.rt(), Action::Update, pay.ownership);
    let mut rows = if can_allocate {
        open_invoices(&mut tx, p, side.doc_type(), pay.account_key, pay.currency).await?
    } else {
        vec![]
    };
    tx.commit().await?;
    oldest_first(&mut rows, left, pay.currency);
    Ok(PaymentPage {
        layout: auth.layout(side.base()),
        side,
        doc_label: doc_label(side.doc_type()),
        pay,
        rows,
        can_allocate,
        errors: FormErrors::default(),
    })
}

/// `GET /payments/{id}` (`/payments-sent/{id}`).
async fn show(side: Side, State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    require_page(&auth.principal, side.rt(), Action::Read)?;
    Ok(render(&payment_page(&app, &auth, side, &id).await?).into_response())
}

/// `POST /payments/{id}/allocate`: allocates (the rest of) the payment.
async fn allocate(
    side: Side,
    State(app): State<AppState>,
    auth: PageAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let p = &auth.principal;
    require_page(p, side.rt(), Action::Update)?;
    let form = FormData::parse(&body);
    let mut page = payment_page(&app, &auth, side, &id).await?;
    may_act(p, side.rt(), Action::Update, page.pay.ownership)?;
    let mut errors = FormErrors::default();
    let (allocations, rows) = required_allocations(&form, &mut page.rows, &mut errors);
    if !errors.is_empty() {
        page.errors = errors;
        return shown(&page);
    }
    let version = Some(form.version()).filter(|v| *v > 0);
    let mut tx = app.db.write().await?;
    let before = readable_payment(&mut tx, p, side, &id).await?;
    match payments::allocate(&mut tx, &actor_of(p), &before, version, &allocations).await {
        Ok(pay) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/{}/{}", side.base(), pay.id)).into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            page.errors = refusal(remap(e.into(), "allocations", &rows), &["allocations"])?;
            shown(&page)
        }
    }
}

// ---------------------------------------------------------------- credit notes

#[derive(Template)]
#[template(path = "credit_settle.html")]
struct SettlePage {
    layout: Layout,
    /// `apply` or `refund`.
    kind: &'static str,
    /// The credit's path: `credit-notes` or `bill-credits`.
    path: &'static str,
    /// "Credit note" or "Bill credit".
    noun: String,
    doc_label: &'static str,
    cn_id: String,
    title: String,
    balance: String,
    version: i64,
    rows: Vec<AllocRow>,
    amount: String,
    date: String,
    method: String,
    reference: String,
    methods: Choices,
    errors: FormErrors,
    /// Refused before any input: no form.
    blocked: bool,
}

/// An issued credit note (or bill credit, with `credit`) `p` may settle, with its page.
async fn settle_page(
    app: &AppState,
    auth: &PageAuth,
    credit: DocType,
    id: &str,
    kind: &'static str,
) -> Result<(Document, SettlePage), PageError> {
    let p = &auth.principal;
    require_page(p, credit.record_type(), Action::Update)?;
    if kind == "refund" {
        require_page(p, T, Action::Create)?;
    }
    let settles = credit.credits().unwrap_or(DocType::Invoice);
    let mut tx = app.db.read().await?;
    let cn = readable(&mut tx, p, credit, id).await?;
    may_act(p, credit.record_type(), Action::Update, cn.ownership)?;
    let mut rows =
        if kind == "apply" { open_invoices(&mut tx, p, settles, cn.account_key, cn.currency).await? } else { vec![] };
    tx.commit().await?;
    oldest_first(&mut rows, cn.balance_minor, cn.currency);
    let number = cn.number.clone().unwrap_or_else(|| "(draft)".into());
    let mut errors = FormErrors::default();
    let blocked = cn.status != DocStatus::Issued || cn.balance_minor <= 0;
    let label = credit.label();
    if blocked {
        errors.general = Some(format!(
            "Only an issued {label} with something left is {}; this one is {} with {} left.",
            if kind == "apply" { "applied" } else { "refunded" },
            cn.status,
            cn.balance
        ));
    }
    let page = SettlePage {
        layout: auth.layout(credit.path()),
        kind,
        path: credit.path(),
        noun: format!("{}{}", label[..1].to_uppercase(), &label[1..]),
        doc_label: doc_label(settles),
        cn_id: cn.id.to_string(),
        title: format!("{} {label} {number}", if kind == "apply" { "Apply" } else { "Refund" }),
        balance: show::amount(&cn.balance, cn.currency),
        version: cn.version,
        rows,
        amount: cn.balance.clone(),
        date: nave_store::db::now().date().to_string(),
        method: "bank_transfer".into(),
        reference: String::new(),
        methods: method_choices(),
        errors,
        blocked,
    };
    Ok((cn, page))
}

fn settle_shown(page: &SettlePage) -> PageResult {
    if page.blocked {
        return Ok((StatusCode::CONFLICT, render(page)).into_response());
    }
    shown(page)
}

/// `GET /credit-notes/{id}/apply` (`/bill-credits/{id}/apply`).
async fn apply_form(
    credit: DocType,
    State(app): State<AppState>,
    auth: PageAuth,
    Path(id): Path<String>,
) -> PageResult {
    let (_, page) = settle_page(&app, &auth, credit, &id, "apply").await?;
    settle_shown(&page)
}

/// `POST /credit-notes/{id}/apply`: applies the credit to the invoices (bills) chosen.
async fn apply(
    credit: DocType,
    State(app): State<AppState>,
    auth: PageAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let p = &auth.principal;
    let (_, mut page) = settle_page(&app, &auth, credit, &id, "apply").await?;
    if page.blocked {
        return settle_shown(&page);
    }
    let form = FormData::parse(&body);
    let mut errors = FormErrors::default();
    let (allocations, rows) = required_allocations(&form, &mut page.rows, &mut errors);
    if !errors.is_empty() {
        page.errors = errors;
        return shown(&page);
    }
    let version = Some(form.version()).filter(|v| *v > 0);
    let mut tx = app.db.write().await?;
    let cn = readable(&mut tx, p, credit, &id).await?;
    match payments::apply_credit_note(&mut tx, &actor_of(p), &cn, version, &allocations).await {
        Ok(doc) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/{}/{}", credit.path(), doc.id)).into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            page.errors = refusal(remap(e.into(), "allocations", &rows), &["allocations"])?;
            shown(&page)
        }
    }
}

/// `GET /credit-notes/{id}/refund`.
async fn refund_form(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    let (_, page) = settle_page(&app, &auth, DocType::CreditNote, &id, "refund").await?;
    settle_shown(&page)
}

/// `POST /credit-notes/{id}/refund`: pays (part of) the credit back.
async fn refund(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>, body: Bytes) -> PageResult {
    let p = &auth.principal;
    let (_, mut page) = settle_page(&app, &auth, DocType::CreditNote, &id, "refund").await?;
    if page.blocked {
        return settle_shown(&page);
    }
    let form = FormData::parse(&body);
    page.amount = form.get("amount");
    page.date = form.get("date");
    page.method = form.get("method");
    page.reference = form.get("reference");
    let mut errors = FormErrors::default();
    let amount = match page.amount.trim() {
        "" => {
            errors.add("amount", "is required");
            None
        }
        s => Decimal::from_str(s).map_err(|_| errors.add("amount", "must be an amount, like 10.00")).ok(),
    };
    let date = form_date(&mut errors, "date", &page.date);
    let Some(amount) = amount.filter(|_| errors.is_empty()) else {
        page.errors = errors;
        return shown(&page);
    };
    let version = Some(form.version()).filter(|v| *v > 0);
    let mut tx = app.db.write().await?;
    let cn = readable(&mut tx, p, DocType::CreditNote, &id).await?;
    let r = Refund { amount, date, method: page.method.trim().to_string(), reference: blank_none(&page.reference) };
    match payments::refund_credit_note(&mut tx, &actor_of(p), &cn, version, r).await {
        Ok(doc) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/credit-notes/{}", doc.id)).into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            page.errors = refusal(e.into(), &["amount", "date", "method", "reference"])?;
            shown(&page)
        }
    }
}

// ---------------------------------------------------------------- the account page

/// The account page's money section: its latest payments and its credit
/// exposure against the limit (as the overview API shows them: exposure with
/// invoice read access, the limit only with `view_credit_limit`).
#[derive(Debug, Default)]
pub struct AccountMoney {
    /// The latest payments; none when the caller may not read payments.
    pub payments: Option<Vec<PaymentRow>>,
    pub credit: Option<CreditBar>,
    pub can_new_payment: bool,
}

/// Credit exposure against the limit, for a `<meter>`.
#[derive(Debug)]
pub struct CreditBar {
    /// Plain decimals, for the meter's attributes.
    pub exposure: String,
    pub limit: Option<String>,
    /// As the user reads them, with the currency.
    pub shown_exposure: String,
    pub shown_limit: Option<String>,
    /// limit − exposure (negative when over the limit).
    pub available: Option<String>,
    pub over: bool,
}

/// The money section of `account`'s page for `p`.
pub async fn account_money(
    tx: &mut nave_store::Tx,
    p: &Principal,
    account: &Account,
) -> Result<AccountMoney, PageError> {
    let payments = latest_of_account(tx, p, account).await?;
    let credit = if p.scope_for(RecordType::Invoice, Action::Read).is_some() {
        let exposure = nave_store::credit::exposure(tx, p.tenant_id, account.key).await?;
        let limit = nave_store::credit::limit(tx, p.tenant_id, account.key)
            .await?
            .filter(|_| p.has(nave_domain::access::Capability::ViewCreditLimit));
        let c = account.currency;
        Some(CreditBar {
            exposure: format_minor(exposure, c),
            limit: limit.map(|l| format_minor(l, c)),
            shown_exposure: show::minor(exposure, c),
            shown_limit: limit.map(|l| show::minor(l, c)),
            available: limit.map(|l| show::minor(l - exposure, c)),
            over: limit.is_some_and(|l| exposure > l),
        })
    } else {
        None
    };
    Ok(AccountMoney { payments, credit, can_new_payment: p.may(T, Action::Create, account.ownership) })
}
