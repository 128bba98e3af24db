//! `/api/v1/payments` (payments received and their allocations to invoices),
//! `/api/v1/accounts/{id}/payments`, and what settles a credit note:
//! `POST /credit-notes/{id}/apply` and `POST /credit-notes/{id}/refund`.
//! The rules are in `nave_store::payments`. `/api/v1/payments-sent` (and
//! `/accounts/{id}/payments-sent`) are the same handlers for payments sent
//! to suppliers and allocated to their bills.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use nave_domain::access::{Action, RecordType};
use nave_domain::document::DocType;
use nave_domain::ids::PublicId;
use nave_domain::money::Currency;
use nave_store::accounts::Visibility;
use nave_store::payments::{self, AllocationInput, NewPayment, Payment, PaymentQuery, Refund};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::accounts::{account_for, account_key};
use super::documents::load_for;
use super::parse_id;
use super::payment_terms::parse_date;
use super::pipeline::readable_account_path;
use crate::begin_write;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiAuth, ApiWrite, ListParams, Query};
use crate::present::{may_act, present, present_page, visible_or_404};
use crate::state::AppState;

const T: RecordType = RecordType::Payment;

/// The record type of payments received or sent.
fn rt(sent: bool) -> RecordType {
    if sent { RecordType::PaymentSent } else { T }
}

/// Filters of the payment lists.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PaymentFilter {
    /// Only this account's payments (not on `/accounts/{id}/payments`).
    #[param(value_type = Option<String>)]
    pub account_id: Option<PublicId>,
    /// The order: `date`, `amount` or `account` (`-` in front for descending); newest first without it.
    pub sort: Option<String>,
    pub limit: Option<i64>,
    pub after: Option<String>,
    /// Payments received: `csv` for a CSV export of this page (the columns
    /// `nave import payments` reads); `Accept: text/csv` too.
    pub format: Option<String>,
}

/// Schema of a payment page (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct PaymentList {
    data: Vec<Payment>,
    next: Option<String>,
}

async fn list_page(
    app: &AppState,
    auth: &ApiAuth,
    f: PaymentFilter,
    account: Option<PublicId>,
    sent: bool,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let scope = auth.require(rt(sent), Action::Read)?;
    let csv = super::reports::wants_csv(f.format.as_deref(), headers)?;
    if csv && sent {
        return Err(ApiError::invalid("format", "csv is offered for payments received"));
    }
    let paging = ListParams { limit: f.limit, after: f.after.clone() };
    let (sort, cursor, sorted_after) = paging.sorted(payments::SORTS, f.sort.as_deref())?;
    let mut tx = app.db.read().await?;
    let account_key = account_key(&mut tx, &auth.0, account.or(f.account_id)).await?;
    let q = PaymentQuery {
        sent,
        visibility: Visibility::of(&auth.0, scope),
        account_key,
        cursor,
        sort,
        sorted_after,
        limit: paging.limit()?,
    };
    let page = payments::list(&mut tx, auth.0.tenant_id, &q).await?;
    if csv {
        let file = payments_csv(&mut tx, auth.0.tenant_id, page.items).await?;
        tx.commit().await?;
        return Ok(file.into_response());
    }
    tx.commit().await?;
    Ok(Json(present_page(&auth.0, rt(sent), &page.items, q.sort.next_of(&page))?).into_response())
}

/// Payments (list rows) as the CSV export, read again with their allocations;
/// each invoice is named by its key in the invoice export.
pub async fn payments_csv(
    tx: &mut nave_store::Tx,
    tenant_id: i64,
    rows: Vec<Payment>,
) -> ApiResult<crate::csv_export::CsvFile> {
    let mut full = Vec::with_capacity(rows.len());
    for p in rows {
        if let Some(p) = payments::get(tx, tenant_id, p.id).await? {
            full.push(p);
        }
    }
    let mut invoice_ids: Vec<PublicId> = full.iter().flat_map(|p| p.allocations.iter().map(|a| a.invoice_id)).collect();
    invoice_ids.sort_unstable();
    invoice_ids.dedup();
    let mut invoice_refs = std::collections::HashMap::new();
    for id in invoice_ids {
        if let Some(d) = nave_store::documents::get(tx, tenant_id, DocType::Invoice, id).await? {
            invoice_refs.insert(id, crate::csv_export::record_key(&d.external_ids, d.id));
        }
    }
    let accounts: Vec<(i64, String)> = full.iter().map(|p| (p.account_key, p.account_name.clone())).collect();
    let refs = crate::csv_export::account_refs(tx, tenant_id, &accounts).await?;
    crate::csv_export::payments(&full, &refs, &invoice_refs)
}

#[utoipa::path(get, path = "/payments", tag = "payments", params(PaymentFilter),
    responses((status = 200, description = "A page of the payments the caller may see, newest first", body = inline(PaymentList))))]
pub async fn list_payments(
    State(app): State<AppState>,
    auth: ApiAuth,
    headers: HeaderMap,
    Query(f): Query<PaymentFilter>,
) -> ApiResult<Response> {
    list_page(&app, &auth, f, None, false, &headers).await
}

#[utoipa::path(get, path = "/accounts/{id}/payments", tag = "payments", params(("id" = String, Path), PaymentFilter),
    responses((status = 200, description = "A page of the account's payments", body = inline(PaymentList)),
        (status = 404, body = Problem)))]
pub async fn list_account_payments(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(f): Query<PaymentFilter>,
) -> ApiResult<Response> {
    let account = readable_account_path(&app, &auth, &id, f.account_id).await?;
    list_page(&app, &auth, f, Some(account), false, &headers).await
}

/// A payment received.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentRequest {
    #[schema(value_type = String)]
    pub account_id: Option<PublicId>,
    /// Above 0, in the currency's minor units at most.
    #[schema(value_type = String, example = "50.00")]
    pub amount: Option<Decimal>,
    /// Default: the account's currency.
    #[schema(example = "EUR")]
    pub currency: Option<String>,
    /// `YYYY-MM-DD`; default today.
    pub date: Option<String>,
    /// `bank_transfer`, `card`, `cash`, `cheque` or `other`.
    pub method: Option<String>,
    pub reference: Option<String>,
    pub notes: Option<String>,
    /// Invoices of the account settled by this payment; Σ ≤ amount, each ≤ the invoice's balance.
    #[serde(default)]
    pub allocations: Vec<AllocationInput>,
    /// The payment's ids in other systems (`{system, id}`).
    #[serde(default)]
    #[schema(value_type = Vec<nave_store::external_ids::ExternalIdSchema>)]
    pub external_ids: Vec<nave_domain::external_id::ExternalId>,
}

#[utoipa::path(post, path = "/payments", tag = "payments", request_body = PaymentRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    responses((status = 201, body = Payment), (status = 422, description = "Invalid, or an allocation above the amount or an invoice's balance", body = Problem)))]
pub async fn create_payment(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<PaymentRequest>,
) -> ApiResult<Response> {
    create(&app, &auth, req, false).await
}

async fn create(app: &AppState, auth: &ApiAuth, req: ApiWrite<PaymentRequest>, sent: bool) -> ApiResult<Response> {
    let rec = rt(sent);
    auth.require(rec, Action::Create)?;
    let mut w = begin_write!(app, auth, req);
    let p = create_in(w.tx(), auth, req.body, sent).await?;
    let body = present(&auth.0, rec, &p)?;
    w.respond(StatusCode::CREATED, &body).await
}

/// Records a payment from a request inside the caller's write (the create
/// path of the API, the upsert by external id and the CSV import).
pub async fn create_in(tx: &mut nave_store::Tx, auth: &ApiAuth, b: PaymentRequest, sent: bool) -> ApiResult<Payment> {
    let rec = rt(sent);
    let account_id = b.account_id.ok_or_else(|| ApiError::invalid("account_id", "is required"))?;
    let account = account_for(tx, &auth.0, "account_id", account_id).await?;
    if !auth.0.may(rec, Action::Create, account.ownership) {
        return Err(ApiError::forbidden("your role may not record a payment for this account"));
    }
    let new = NewPayment {
        sent,
        account_id,
        amount: b.amount.ok_or_else(|| ApiError::invalid("amount", "is required"))?,
        currency: match b.currency {
            Some(c) => Some(
                Currency::parse(&c).map_err(|_| ApiError::invalid("currency", "is not an ISO 4217 currency code"))?,
            ),
            None => None,
        },
        date: b.date.as_deref().map(|d| parse_date("date", d)).transpose()?,
        method: b.method.ok_or_else(|| ApiError::invalid("method", "is required"))?,
        reference: b.reference,
        notes: b.notes.unwrap_or_default(),
        allocations: b.allocations,
        external_ids: b.external_ids,
    };
    Ok(payments::create(tx, &auth.actor(), new).await?)
}

#[utoipa::path(get, path = "/payments/{id}", tag = "payments", params(("id" = String, Path)),
    responses((status = 200, body = Payment), (status = 404, body = Problem)))]
pub async fn get_payment(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    get_one(&app, &auth, &id, false).await
}

async fn get_one(app: &AppState, auth: &ApiAuth, id: &str, sent: bool) -> ApiResult<Json<serde_json::Value>> {
    let rec = rt(sent);
    auth.require(rec, Action::Read)?;
    let mut tx = app.db.autocommit().await?;
    let p = payments::get(&mut tx, auth.0.tenant_id, parse_id("payment", id)?)
        .await?
        .filter(|p| payments::record_type(p) == rec)
        .ok_or_else(|| ApiError::not_found("payment"))?;
    visible_or_404(&auth.0, rec, Action::Read, p.ownership)?;
    Ok(Json(present(&auth.0, rec, &p)?))
}

/// Allocations of a payment or a credit note to invoices.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocateRequest {
    pub allocations: Vec<AllocationInput>,
}

#[utoipa::path(post, path = "/payments/{id}/allocate", tag = "payments", request_body = AllocateRequest,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "Expected version"),
        ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    responses((status = 200, body = Payment), (status = 404, body = Problem),
        (status = 422, description = "Above what is unallocated or an invoice's balance; nothing is stored", body = Problem)))]
pub async fn allocate_payment(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<AllocateRequest>,
) -> ApiResult<Response> {
    allocate(&app, &auth, &id, req, false).await
}

async fn allocate(
    app: &AppState,
    auth: &ApiAuth,
    id: &str,
    req: ApiWrite<AllocateRequest>,
    sent: bool,
) -> ApiResult<Response> {
    let rec = rt(sent);
    auth.require(rec, Action::Update)?;
    let mut w = begin_write!(app, auth, req);
    let before = payments::get(w.tx(), auth.0.tenant_id, parse_id("payment", id)?)
        .await?
        .filter(|p| payments::record_type(p) == rec)
        .ok_or_else(|| ApiError::not_found("payment"))?;
    may_act(&auth.0, rec, Action::Update, before.ownership)?;
    let p = payments::allocate(w.tx(), &auth.actor(), &before, req.if_match, &req.body.allocations).await?;
    let body = present(&auth.0, rec, &p)?;
    w.respond(StatusCode::OK, &body).await
}

#[utoipa::path(post, path = "/credit-notes/{id}/apply", tag = "credit notes", request_body = AllocateRequest,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "Expected version"),
        ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    responses((status = 200, description = "The credit note, settled by as much", body = nave_store::documents::Document),
        (status = 409, description = "Not an issued credit note", body = Problem),
        (status = 422, description = "Above the credit note's balance or an invoice's balance; nothing is stored", body = Problem)))]
pub async fn apply_credit_note(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<AllocateRequest>,
) -> ApiResult<Response> {
    let rt = DocType::CreditNote.record_type();
    auth.require(rt, Action::Update)?;
    let mut w = begin_write!(app, auth, req);
    let cn = load_for(&mut w, &auth.0, DocType::CreditNote, &id, Action::Update).await?;
    let doc = payments::apply_credit_note(w.tx(), &auth.actor(), &cn, req.if_match, &req.body.allocations).await?;
    let body = present(&auth.0, rt, &doc)?;
    w.respond(StatusCode::OK, &body).await
}

/// A refund of a credit note's balance.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    #[schema(value_type = String, example = "10.00")]
    pub amount: Option<Decimal>,
    /// `YYYY-MM-DD`; default today.
    pub date: Option<String>,
    /// `bank_transfer`, `card`, `cash`, `cheque` or `other`.
    pub method: Option<String>,
    pub reference: Option<String>,
}

#[utoipa::path(post, path = "/credit-notes/{id}/refund", tag = "credit notes", request_body = RefundRequest,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "Expected version"),
        ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    responses((status = 200, description = "The credit note, settled by the refund (recorded as a payment with direction `refund`)", body = nave_store::documents::Document),
        (status = 409, description = "Not an issued credit note", body = Problem),
        (status = 422, description = "Above the credit note's balance", body = Problem)))]
pub async fn refund_credit_note(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<RefundRequest>,
) -> ApiResult<Response> {
    let rt = DocType::CreditNote.record_type();
    auth.require(rt, Action::Update)?;
    auth.require(T, Action::Create)?;
    let mut w = begin_write!(app, auth, req);
    let cn = load_for(&mut w, &auth.0, DocType::CreditNote, &id, Action::Update).await?;
    let b = req.body;
    let refund = Refund {
        amount: b.amount.ok_or_else(|| ApiError::invalid("amount", "is required"))?,
        date: b.date.as_deref().map(|d| parse_date("date", d)).transpose()?,
        method: b.method.ok_or_else(|| ApiError::invalid("method", "is required"))?,
        reference: b.reference,
    };
    let doc = payments::refund_credit_note(w.tx(), &auth.actor(), &cn, req.if_match, refund).await?;
    let body = present(&auth.0, rt, &doc)?;
    w.respond(StatusCode::OK, &body).await
}

// ---------------------------------------------------------------------------
// Payments sent to suppliers

#[utoipa::path(get, path = "/payments-sent", tag = "payments sent", params(PaymentFilter),
    responses((status = 200, description = "A page of the payments sent the caller may see, newest first", body = inline(PaymentList))))]
pub async fn list_payments_sent(
    State(app): State<AppState>,
    auth: ApiAuth,
    headers: HeaderMap,
    Query(f): Query<PaymentFilter>,
) -> ApiResult<Response> {
    list_page(&app, &auth, f, None, true, &headers).await
}

#[utoipa::path(get, path = "/accounts/{id}/payments-sent", tag = "payments sent", params(("id" = String, Path), PaymentFilter),
    responses((status = 200, description = "A page of the payments sent to the supplier", body = inline(PaymentList)),
        (status = 404, body = Problem)))]
pub async fn list_account_payments_sent(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(f): Query<PaymentFilter>,
) -> ApiResult<Response> {
    let account = readable_account_path(&app, &auth, &id, f.account_id).await?;
    list_page(&app, &auth, f, Some(account), true, &headers).await
}

#[utoipa::path(post, path = "/payments-sent", tag = "payments sent", request_body = PaymentRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    responses((status = 201, body = Payment), (status = 422, description = "Invalid, or an allocation above the amount or a bill's balance", body = Problem)))]
pub async fn create_payment_sent(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<PaymentRequest>,
) -> ApiResult<Response> {
    create(&app, &auth, req, true).await
}

#[utoipa::path(get, path = "/payments-sent/{id}", tag = "payments sent", params(("id" = String, Path)),
    responses((status = 200, body = Payment), (status = 404, body = Problem)))]
pub async fn get_payment_sent(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    get_one(&app, &auth, &id, true).await
}

#[utoipa::path(post, path = "/payments-sent/{id}/allocate", tag = "payments sent", request_body = AllocateRequest,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "Expected version"),
        ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    responses((status = 200, body = Payment), (status = 404, body = Problem),
        (status = 422, description = "Above what is unallocated or a bill's balance; nothing is stored", body = Problem)))]
pub async fn allocate_payment_sent(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<AllocateRequest>,
) -> ApiResult<Response> {
    allocate(&app, &auth, &id, req, true).await
}
