//! `/api/v1/quotes`, `/sales-orders`, `/invoices` and `/credit-notes`: the
//! commercial documents of the sales side, and `/purchase-orders`,
//! `/receipts`, `/bills` and `/bill-credits` of the purchase side, one shape
//! for all (API.md "commercial document"), with their business actions as
//! `POST /{resource}/{id}/{action}`, and `/api/v1/accounts/{id}/{resource}`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use nave_domain::access::{Action, Principal};
use nave_domain::document::{DocAction, DocStatus, DocType, InvoicePolicy};
use nave_domain::error::ErrorCode;
use nave_domain::ids::PublicId;
use nave_domain::money::Currency;
use nave_domain::pricing::TaxRounding;
use nave_store::accounts::Visibility;
use nave_store::documents::{self, Document, DocumentQuery, GroupInput, HeaderInput, LineInput, NewDocument};
use serde::Deserialize;

use super::accounts::account_for;
use super::double_option;
use super::payment_terms::parse_date;
use super::pipeline::readable_account_path;
use crate::begin_write;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiAuth, ApiWrite, ListParams, NoBody, Query};
use crate::present::{may_act, present, present_page, visible_or_404};
use crate::state::AppState;
use crate::write::Writer;

/// Filters of the document lists.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DocumentFilter {
    /// Only this account's documents.
    #[param(value_type = Option<String>)]
    pub account_id: Option<PublicId>,
    /// One status, e.g. `draft`, `open`, `issued`, `part_paid`.
    #[param(value_type = Option<String>)]
    pub status: Option<DocStatus>,
    /// Only documents in progress (quotes undecided, orders open, invoices
    /// and credit notes with a balance).
    pub open: Option<bool>,
    /// Invoices: only those past due with a balance.
    pub overdue: Option<bool>,
    /// Words that begin the number, the account name or the reference.
    pub q: Option<String>,
    /// Documents dated from this day (`YYYY-MM-DD`).
    pub from: Option<String>,
    /// Documents dated up to this day.
    pub to: Option<String>,
    /// The order: `number`, `account`, `date`, `due`, `total` or `created`, with `-` in
    /// front for descending (e.g. `-total`); default newest first. Ties go by
    /// creation; the `next` cursor keeps the order.
    pub sort: Option<String>,
    pub limit: Option<i64>,
    pub after: Option<String>,
    /// Invoices: `csv` for a CSV export of this page, one row per line (the
    /// columns `nave import invoices` reads); `Accept: text/csv` too.
    pub format: Option<String>,
}

/// Schema of a document page (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct DocumentList {
    data: Vec<Document>,
    next: Option<String>,
}

/// Lists documents of `doc_type` the caller may see (invoices as CSV too).
pub async fn list_page(
    app: &AppState,
    auth: &ApiAuth,
    doc_type: DocType,
    f: DocumentFilter,
    account: Option<PublicId>,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let rt = doc_type.record_type();
    let scope = auth.require(rt, Action::Read)?;
    let csv = super::reports::wants_csv(f.format.as_deref(), headers)?;
    if csv && doc_type != DocType::Invoice {
        return Err(ApiError::invalid(
            "format",
            "csv is offered for invoices (and accounts, contacts, products, payments)",
        ));
    }
    let paging = ListParams { limit: f.limit, after: f.after.clone() };
    let mut tx = app.db.read().await?;
    let account_key = match account.or(f.account_id) {
        Some(a) => Some(account_for(&mut tx, &auth.0, "account_id", a).await?.key),
        None => None,
    };
    let mut q = DocumentQuery::new(doc_type);
    q.visibility = Visibility::of(&auth.0, scope);
    q.account_key = account_key;
    q.status = f.status;
    q.open_only = f.open.unwrap_or(false);
    q.overdue_only = f.overdue.unwrap_or(false);
    q.words = nave_domain::search::query_words(f.q.as_deref().unwrap_or(""));
    q.from = f.from.as_deref().map(|d| parse_date("from", d)).transpose()?;
    q.to = f.to.as_deref().map(|d| parse_date("to", d)).transpose()?;
    (q.sort, q.cursor, q.sorted_after) = paging.sorted(documents::DOC_SORTS, f.sort.as_deref())?;
    q.limit = paging.limit()?;
    let page = documents::list(&mut tx, auth.0.tenant_id, &q).await?;
    if csv {
        let file = invoices_csv(&mut tx, &auth.0, page.items).await?;
        tx.commit().await?;
        return Ok(file.into_response());
    }
    tx.commit().await?;
    let next = q.sort.next_of(&page);
    Ok(Json(present_page(&auth.0, rt, &page.items, next)?).into_response())
}

/// Invoices (list headers) as the CSV export, read again with their lines.
pub async fn invoices_csv(
    tx: &mut nave_store::Tx,
    p: &Principal,
    headers: Vec<Document>,
) -> ApiResult<crate::csv_export::CsvFile> {
    let mut full = Vec::with_capacity(headers.len());
    for d in headers {
        if let Some(d) = documents::get_by_key(tx, p.tenant_id, d.key).await? {
            full.push(d);
        }
    }
    let accounts: Vec<(i64, String)> = full.iter().map(|d| (d.account_key, d.account_name.clone())).collect();
    let refs = crate::csv_export::account_refs(tx, p.tenant_id, &accounts).await?;
    crate::csv_export::invoices(&full, &refs)
}

/// A document's fields. On create `account_id` is required; on update (drafts
/// only) absent fields stay, `null` clears the optional ones, and `groups`
/// (or `lines`, for a single unnamed group) replaces the whole content.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentRequest {
    #[schema(value_type = Option<String>)]
    pub account_id: Option<PublicId>,
    /// Default: the account's currency.
    #[schema(value_type = Option<String>, example = "EUR")]
    pub currency: Option<String>,
    /// `YYYY-MM-DD`; default today.
    pub date: Option<String>,
    /// Quotes: the last day the offer holds (default 30 days after the date).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub valid_until: Option<Option<String>>,
    /// Default: the account's payment terms.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub payment_terms_id: Option<Option<PublicId>>,
    /// Default: the account's price list; line prices come from it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub price_list_id: Option<Option<PublicId>>,
    /// Sales orders: where stock is reserved and shipped from (default: the first active warehouse).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub warehouse_id: Option<Option<PublicId>>,
    /// Sales orders: `shipped` (default) or `ordered` — what an invoice from the order takes.
    #[schema(value_type = Option<String>)]
    pub invoice_policy: Option<InvoicePolicy>,
    /// Unit prices include tax (web-shop prices); default false.
    pub prices_include_tax: Option<bool>,
    /// `document` (default) or `line`.
    #[schema(value_type = Option<String>)]
    pub tax_rounding: Option<TaxRounding>,
    /// The customer's reference (their PO number).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub reference: Option<Option<String>>,
    pub notes: Option<String>,
    pub groups: Option<Vec<GroupInput>>,
    /// Shortcut for one unnamed group.
    pub lines: Option<Vec<LineInput>>,
    /// Invoices: bill this sales order — with no `groups`/`lines`, takes what is
    /// left to invoice under the order's policy.
    #[schema(value_type = Option<String>)]
    pub sales_order_id: Option<PublicId>,
    /// Credit notes: credit this invoice — with no `groups`/`lines`, credits
    /// everything not yet credited.
    #[schema(value_type = Option<String>)]
    pub invoice_id: Option<PublicId>,
    /// Credit notes: `true` returns the credited goods (kits as their
    /// components) to stock in `warehouse_id` when the credit note is issued,
    /// at the products' cost; `false` returns nothing (the default).
    pub return_to_stock: Option<bool>,
    /// Receipts (required) and bills: the purchase order received or billed —
    /// with no `groups`/`lines`, takes what is left to receive (goods lines),
    /// or to bill under `basis`.
    #[schema(value_type = Option<String>)]
    pub purchase_order_id: Option<PublicId>,
    /// Bills from a purchase order: `received` (default: what was received
    /// and not yet billed on goods lines) or `ordered`.
    pub basis: Option<String>,
    /// Bill credits: credit this bill — with no `groups`/`lines`, credits
    /// everything not yet credited.
    #[schema(value_type = Option<String>)]
    pub bill_id: Option<PublicId>,
    /// Receipts in a currency other than the company's: company-currency
    /// units per unit of the receipt's currency (required to receive).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, example = "0.92")]
    pub exchange_rate: Option<Option<rust_decimal::Decimal>>,
    /// The document's ids in other systems (`{system, id}`); on update, the
    /// list replaces them (drafts only).
    #[schema(value_type = Option<Vec<nave_store::external_ids::ExternalIdSchema>>)]
    pub external_ids: Option<Vec<nave_domain::external_id::ExternalId>>,
}

impl DocumentRequest {
    pub fn header(&self) -> ApiResult<HeaderInput> {
        let opt_date = |field: &str, s: &Option<Option<String>>| -> ApiResult<Option<Option<time::Date>>> {
            match s {
                None => Ok(None),
                Some(None) => Ok(Some(None)),
                Some(Some(d)) => Ok(Some(Some(parse_date(field, d)?))),
            }
        };
        Ok(HeaderInput {
            currency: match &self.currency {
                Some(c) => Some(
                    Currency::parse(c)
                        .map_err(|_| ApiError::invalid("currency", "is not an ISO 4217 currency code"))?,
                ),
                None => None,
            },
            date: self.date.as_deref().map(|d| parse_date("date", d)).transpose()?,
            valid_until: opt_date("valid_until", &self.valid_until)?,
            payment_terms_id: self.payment_terms_id,
            price_list_id: self.price_list_id,
            warehouse_id: self.warehouse_id,
            invoice_policy: self.invoice_policy,
            prices_include_tax: self.prices_include_tax,
            tax_rounding: self.tax_rounding,
            reference: self.reference.clone(),
            notes: self.notes.clone(),
            exchange_rate: self.exchange_rate,
            deliver_to: None,
            external_ids: self.external_ids.clone(),
        })
    }

    /// The header with a credit note's return (`return_to_stock` with its
    /// `warehouse_id`) checked: a warehouse is taken only with a return.
    pub fn header_of(&self, doc_type: DocType) -> ApiResult<HeaderInput> {
        let mut h = self.header()?;
        let warehouse_given = matches!(h.warehouse_id, Some(Some(_)));
        match (doc_type, self.return_to_stock) {
            (DocType::CreditNote, Some(true)) if !warehouse_given => {
                return Err(ApiError::invalid(
                    "warehouse_id",
                    "is required with return_to_stock: where the goods go back to",
                ));
            }
            (DocType::CreditNote, Some(false)) if warehouse_given => {
                return Err(ApiError::invalid("warehouse_id", "is taken with return_to_stock: true only"));
            }
            (DocType::CreditNote, Some(false)) => h.warehouse_id = Some(None),
            (DocType::CreditNote, None) if warehouse_given => {
                return Err(ApiError::invalid("return_to_stock", "must be true to return goods to warehouse_id"));
            }
            (DocType::CreditNote, _) => {}
            (_, Some(_)) => return Err(ApiError::invalid("return_to_stock", "is taken by credit notes only")),
            (_, None) => {}
        }
        Ok(h)
    }

    /// The content given, if any.
    pub fn groups(&mut self) -> ApiResult<Option<Vec<GroupInput>>> {
        match (self.groups.take(), self.lines.take()) {
            (Some(_), Some(_)) => Err(ApiError::invalid("lines", "give either groups or lines, not both")),
            (Some(g), None) => Ok(Some(g)),
            (None, Some(l)) => Ok(Some(vec![GroupInput { lines: l, ..Default::default() }])),
            (None, None) => Ok(None),
        }
    }
}

/// Creates a document of `doc_type` from a request (plain content; the
/// conversions have their own paths).
pub async fn create(
    app: &AppState,
    auth: &ApiAuth,
    doc_type: DocType,
    req: ApiWrite<DocumentRequest>,
) -> ApiResult<Response> {
    let rt = doc_type.record_type();
    auth.require(rt, Action::Create)?;
    let mut w = begin_write!(app, auth, req);
    let doc = create_in(w.tx(), auth, doc_type, req.body).await?;
    let body = present(&auth.0, rt, &doc)?;
    w.respond(StatusCode::CREATED, &body).await
}

/// Creates a document from a request inside the caller's write (the create
/// path of the API, the upsert by external id and the CSV import).
pub async fn create_in(
    tx: &mut nave_store::Tx,
    auth: &ApiAuth,
    doc_type: DocType,
    mut b: DocumentRequest,
) -> ApiResult<Document> {
    let rt = doc_type.record_type();
    let account_id = b.account_id.ok_or_else(|| ApiError::invalid("account_id", "is required"))?;
    let account = account_for(tx, &auth.0, "account_id", account_id).await?;
    if !auth.0.may(rt, Action::Create, account.ownership) {
        return Err(ApiError::forbidden(format!("your role may not create a {} for this account", doc_type.label())));
    }
    let header = b.header_of(doc_type)?;
    let groups = b.groups()?;
    let actor = auth.actor();
    if b.purchase_order_id.is_some() && !matches!(doc_type, DocType::Receipt | DocType::Bill) {
        return Err(ApiError::invalid("purchase_order_id", "is taken by receipts and bills only"));
    }
    if b.bill_id.is_some() && doc_type != DocType::BillCredit {
        return Err(ApiError::invalid("bill_id", "is taken by bill credits only"));
    }
    let basis = match b.basis.as_deref() {
        None => nave_store::purchase::BillBasis::Received,
        Some(s) if doc_type == DocType::Bill && b.purchase_order_id.is_some() => {
            nave_store::purchase::BillBasis::parse(s)
                .ok_or_else(|| ApiError::invalid("basis", "must be received or ordered"))?
        }
        Some(_) => return Err(ApiError::invalid("basis", "is taken by bills made from a purchase order only")),
    };
    let doc = match (doc_type, b.purchase_order_id, b.bill_id) {
        (DocType::Receipt, Some(po), _) => {
            nave_store::purchase::receipt_from_order(tx, &actor, account.key, po, header, groups).await?
        }
        (DocType::Receipt, None, _) => {
            return Err(ApiError::invalid("purchase_order_id", "is required: a receipt receives a purchase order"));
        }
        (DocType::Bill, Some(po), _) => {
            nave_store::purchase::bill_from_order(tx, &actor, account.key, po, basis, header, groups).await?
        }
        (DocType::BillCredit, _, Some(bill)) => {
            nave_store::billing::credit_from(tx, &actor, DocType::BillCredit, account.key, bill, header, groups).await?
        }
        _ => match (doc_type, b.sales_order_id, b.invoice_id) {
            (DocType::Invoice, Some(order), _) => {
                nave_store::billing::invoice_from_order(tx, &auth.actor(), account.key, order, header, groups).await?
            }
            (DocType::CreditNote, _, Some(invoice)) => {
                nave_store::billing::credit_from_invoice(tx, &auth.actor(), account.key, invoice, header, groups)
                    .await?
            }
            (_, Some(_), _) => return Err(ApiError::invalid("sales_order_id", "is taken by invoices only")),
            (_, _, Some(_)) => return Err(ApiError::invalid("invoice_id", "is taken by credit notes only")),
            _ => {
                let new =
                    NewDocument { doc_type, account_id, header, groups: groups.unwrap_or_default(), origin_key: None };
                documents::create(tx, &auth.actor(), new).await?
            }
        },
    };
    Ok(doc)
}

/// Loads a document for `action` by the caller, inside a write.
pub async fn load_for(
    w: &mut Writer,
    p: &Principal,
    doc_type: DocType,
    id: &str,
    action: Action,
) -> ApiResult<Document> {
    let doc = documents::get(w.tx(), p.tenant_id, doc_type, parse_doc_id(doc_type, id)?)
        .await?
        .ok_or_else(|| ApiError::not_found(doc_type.record_type().as_str()))?;
    may_act(p, doc_type.record_type(), action, doc.ownership)?;
    Ok(doc)
}

fn parse_doc_id(doc_type: DocType, id: &str) -> ApiResult<PublicId> {
    id.parse().map_err(|_| ApiError::not_found(doc_type.record_type().as_str()))
}

/// Reads one document the caller may see.
pub async fn read_one(app: &AppState, auth: &ApiAuth, doc_type: DocType, id: &str) -> ApiResult<Document> {
    let rt = doc_type.record_type();
    auth.require(rt, Action::Read)?;
    let mut tx = app.db.autocommit().await?;
    let doc = documents::get(&mut tx, auth.0.tenant_id, doc_type, parse_doc_id(doc_type, id)?)
        .await?
        .ok_or_else(|| ApiError::not_found(rt.as_str()))?;
    visible_or_404(&auth.0, rt, Action::Read, doc.ownership)?;
    Ok(doc)
}

async fn update(
    app: &AppState,
    auth: &ApiAuth,
    doc_type: DocType,
    id: &str,
    req: ApiWrite<DocumentRequest>,
) -> ApiResult<Response> {
    let rt = doc_type.record_type();
    auth.require(rt, Action::Update)?;
    let mut w = begin_write!(app, auth, req);
    let before = load_for(&mut w, &auth.0, doc_type, id, Action::Update).await?;
    let doc = update_in(w.tx(), auth, &before, req.if_match, req.body).await?;
    let body = present(&auth.0, rt, &doc)?;
    w.respond(StatusCode::OK, &body).await
}

/// Updates a draft from a request inside the caller's write; an issued
/// document is refused (409) by the store: issued documents are immutable.
pub async fn update_in(
    tx: &mut nave_store::Tx,
    auth: &ApiAuth,
    before: &Document,
    if_match: Option<i64>,
    mut b: DocumentRequest,
) -> ApiResult<Document> {
    let doc_type = before.doc_type;
    if b.account_id.is_some_and(|a| a != before.account_id) {
        return Err(ApiError::invalid("account_id", "cannot change: make a new document for the other account"));
    }
    for (given, field) in [
        (b.sales_order_id.is_some(), "sales_order_id"),
        (b.invoice_id.is_some(), "invoice_id"),
        (b.purchase_order_id.is_some(), "purchase_order_id"),
        (b.bill_id.is_some(), "bill_id"),
        (b.basis.is_some(), "basis"),
    ] {
        if given {
            return Err(ApiError::invalid(field, "is given on create only"));
        }
    }
    let header = b.header_of(doc_type)?;
    let groups = b.groups()?;
    Ok(documents::update(tx, &auth.actor(), before, if_match, header, groups).await?)
}

async fn delete(
    app: &AppState,
    auth: &ApiAuth,
    doc_type: DocType,
    id: &str,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    auth.require(doc_type.record_type(), Action::Delete)?;
    let mut w = begin_write!(app, auth, req);
    let before = load_for(&mut w, &auth.0, doc_type, id, Action::Delete).await?;
    documents::delete(w.tx(), &auth.actor(), &before, req.if_match).await?;
    w.respond(StatusCode::NO_CONTENT, &()).await
}

/// The input of a business action; each action takes the fields it names.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentActionRequest {
    /// Quotes `convert`: `sales_order` (default) or `invoice`.
    pub to: Option<String>,
    /// `confirm` (orders) and `issue` (invoices): why the credit limit is
    /// overridden — needs the `override_credit_limit` permission; recorded.
    pub override_reason: Option<String>,
}

/// The action named in a path; an unknown one is not found.
fn parse_action(doc_type: DocType, s: &str) -> ApiResult<DocAction> {
    s.parse().map_err(|_| ApiError::new(ErrorCode::NotFound, format!("there is no {} action {s}", doc_type.label())))
}

async fn act(
    app: &AppState,
    auth: &ApiAuth,
    doc_type: DocType,
    id: &str,
    action: &str,
    req: ApiWrite<DocumentActionRequest>,
) -> ApiResult<Response> {
    let rt = doc_type.record_type();
    auth.require(rt, Action::Update)?;
    let action = parse_action(doc_type, action)?;
    let mut w = begin_write!(app, auth, req);
    let before = load_for(&mut w, &auth.0, doc_type, id, Action::Update).await?;
    let b = req.body;
    let actor = auth.actor();
    let override_reason = match b.override_reason.as_deref().map(str::trim) {
        Some("") | None => None,
        Some(r) => {
            if !auth.0.has(nave_domain::access::Capability::OverrideCreditLimit) {
                return Err(ApiError::forbidden("your role may not override the credit limit"));
            }
            Some(r.to_string())
        }
    };
    if b.to.is_some() && action != DocAction::Convert {
        return Err(ApiError::invalid("to", "is taken by convert only"));
    }
    let (status, doc) = match (doc_type, action) {
        (DocType::Quote, DocAction::Convert) => {
            let to = match b.to.as_deref() {
                None | Some("sales_order") => DocType::SalesOrder,
                Some("invoice") => DocType::Invoice,
                Some(_) => return Err(ApiError::invalid("to", "must be sales_order or invoice")),
            };
            if !auth.0.may(to.record_type(), Action::Create, before.ownership) {
                return Err(ApiError::forbidden(format!("your role may not create a {}", to.label())));
            }
            let (created, doc) =
                nave_store::orders::convert_quote(w.tx(), &actor, &before, req.if_match, to, override_reason).await?;
            (if created { StatusCode::CREATED } else { StatusCode::OK }, doc)
        }
        (DocType::Quote, _) => {
            (StatusCode::OK, documents::quote_action(w.tx(), &actor, &before, req.if_match, action).await?)
        }
        (DocType::SalesOrder, DocAction::Confirm) => {
            (StatusCode::OK, nave_store::orders::confirm(w.tx(), &actor, &before, req.if_match, override_reason).await?)
        }
        (DocType::SalesOrder, DocAction::Cancel) => {
            (StatusCode::OK, nave_store::orders::cancel(w.tx(), &actor, &before, req.if_match).await?)
        }
        (DocType::Invoice | DocType::CreditNote | DocType::Bill | DocType::BillCredit, DocAction::Issue) => {
            (StatusCode::OK, nave_store::billing::issue(w.tx(), &actor, &before, req.if_match, override_reason).await?)
        }
        (DocType::Invoice | DocType::CreditNote | DocType::Bill | DocType::BillCredit, DocAction::Void) => {
            (StatusCode::OK, nave_store::billing::void(w.tx(), &actor, &before, req.if_match).await?)
        }
        (DocType::PurchaseOrder, DocAction::Send | DocAction::Confirm | DocAction::Cancel) => {
            (StatusCode::OK, nave_store::purchase::order_action(w.tx(), &actor, &before, req.if_match, action).await?)
        }
        (DocType::Receipt, DocAction::Receive) => {
            (StatusCode::OK, nave_store::purchase::receive(w.tx(), &actor, &before, req.if_match).await?)
        }
        _ => {
            // Not an action of this type: refuse naming what is allowed.
            nave_domain::document::transition(doc_type, before.status, action)?;
            return Err(ApiError::new(
                ErrorCode::NotFound,
                format!("there is no {} action {action}", doc_type.label()),
            ));
        }
    };
    let body = present(&auth.0, doc.doc_type.record_type(), &doc)?;
    w.respond(status, &body).await
}

/// Generates the handlers of one document resource, with their OpenAPI paths.
macro_rules! document_resource {
    ($doc_type:expr, $tag:literal, $path:literal, $account_path:literal, $item:literal, $action_path:literal,
     $pdf_path:literal, $list:ident, $list_account:ident, $create:ident, $get:ident, $update:ident, $delete:ident,
     $act:ident, $pdf:ident, $actions:literal) => {
        #[utoipa::path(get, path = $pdf_path, tag = $tag, params(("id" = String, Path)),
            responses((status = 200, description = "The document as PDF, with the same totals as the API", content_type = "application/pdf", body = Vec<u8>),
                (status = 404, body = Problem)))]
        pub async fn $pdf(State(app): State<AppState>, auth: ApiAuth, Path(id): Path<String>) -> ApiResult<Response> {
            pdf_of(&app, &auth, $doc_type, &id).await
        }

        #[utoipa::path(get, path = $path, tag = $tag, params(DocumentFilter),
            responses((status = 200, description = "A page of the documents the caller may see, newest first (invoices: CSV with `format=csv` or `Accept: text/csv`)", body = inline(DocumentList))))]
        pub async fn $list(State(app): State<AppState>, auth: ApiAuth, headers: HeaderMap, Query(f): Query<DocumentFilter>) -> ApiResult<Response> {
            list_page(&app, &auth, $doc_type, f, None, &headers).await
        }

        #[utoipa::path(get, path = $account_path, tag = $tag, params(("id" = String, Path), DocumentFilter),
            responses((status = 200, description = "A page of the account's documents", body = inline(DocumentList)), (status = 404, body = Problem)))]
        pub async fn $list_account(
            State(app): State<AppState>,
            auth: ApiAuth,
            Path(id): Path<String>,
            headers: HeaderMap,
            Query(f): Query<DocumentFilter>,
        ) -> ApiResult<Response> {
            let account = readable_account_path(&app, &auth, &id, f.account_id).await?;
            list_page(&app, &auth, $doc_type, f, Some(account), &headers).await
        }

        #[utoipa::path(post, path = $path, tag = $tag, request_body = DocumentRequest,
            params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
            responses((status = 201, body = Document), (status = 422, body = Problem)))]
        pub async fn $create(State(app): State<AppState>, auth: ApiAuth, req: ApiWrite<DocumentRequest>) -> ApiResult<Response> {
            create(&app, &auth, $doc_type, req).await
        }

        #[utoipa::path(get, path = $item, tag = $tag, params(("id" = String, Path)),
            responses((status = 200, body = Document), (status = 404, body = Problem)))]
        pub async fn $get(State(app): State<AppState>, auth: ApiAuth, Path(id): Path<String>) -> ApiResult<Json<serde_json::Value>> {
            let doc = read_one(&app, &auth, $doc_type, &id).await?;
            Ok(Json(present(&auth.0, $doc_type.record_type(), &doc)?))
        }

        #[utoipa::path(patch, path = $item, tag = $tag, request_body = DocumentRequest,
            params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "Expected version")),
            responses((status = 200, body = Document), (status = 409, description = "Not a draft", body = Problem),
                (status = 412, body = Problem), (status = 422, body = Problem)))]
        pub async fn $update(
            State(app): State<AppState>,
            auth: ApiAuth,
            Path(id): Path<String>,
            req: ApiWrite<DocumentRequest>,
        ) -> ApiResult<Response> {
            update(&app, &auth, $doc_type, &id, req).await
        }

        #[utoipa::path(delete, path = $item, tag = $tag,
            params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "Expected version")),
            responses((status = 204), (status = 404, body = Problem), (status = 409, description = "Not a draft", body = Problem)))]
        pub async fn $delete(State(app): State<AppState>, auth: ApiAuth, Path(id): Path<String>, req: ApiWrite<NoBody>) -> ApiResult<Response> {
            delete(&app, &auth, $doc_type, &id, req).await
        }

        #[utoipa::path(post, path = $action_path, tag = $tag, request_body = DocumentActionRequest,
            params(("id" = String, Path), ("action" = String, Path, description = $actions),
                ("If-Match" = Option<String>, Header, description = "Expected version"),
                ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
            responses((status = 200, body = Document), (status = 201, description = "convert: the new document", body = Document),
                (status = 409, description = "Not allowed from the document's status (`invalid_transition`, naming the allowed actions), or refused by the credit limit", body = Problem),
                (status = 422, body = Problem)))]
        pub async fn $act(
            State(app): State<AppState>,
            auth: ApiAuth,
            Path((id, action)): Path<(String, String)>,
            req: ApiWrite<DocumentActionRequest>,
        ) -> ApiResult<Response> {
            act(&app, &auth, $doc_type, &id, &action, req).await
        }
    };
}

document_resource!(
    DocType::Quote,
    "quotes",
    "/quotes",
    "/accounts/{id}/quotes",
    "/quotes/{id}",
    "/quotes/{id}/{action}",
    "/quotes/{id}/pdf",
    list_quotes,
    list_account_quotes,
    create_quote,
    get_quote,
    update_quote,
    delete_quote,
    act_on_quote,
    quote_pdf,
    "`send`, `accept`, `reject`, `expire`, `revise` or `convert`"
);
document_resource!(
    DocType::SalesOrder,
    "sales orders",
    "/sales-orders",
    "/accounts/{id}/sales-orders",
    "/sales-orders/{id}",
    "/sales-orders/{id}/{action}",
    "/sales-orders/{id}/pdf",
    list_sales_orders,
    list_account_sales_orders,
    create_sales_order,
    get_sales_order,
    update_sales_order,
    delete_sales_order,
    act_on_sales_order,
    sales_order_pdf,
    "`confirm` or `cancel`"
);
document_resource!(
    DocType::Invoice,
    "invoices",
    "/invoices",
    "/accounts/{id}/invoices",
    "/invoices/{id}",
    "/invoices/{id}/{action}",
    "/invoices/{id}/pdf",
    list_invoices,
    list_account_invoices,
    create_invoice,
    get_invoice,
    update_invoice,
    delete_invoice,
    act_on_invoice,
    invoice_pdf,
    "`issue` or `void`"
);
document_resource!(
    DocType::CreditNote,
    "credit notes",
    "/credit-notes",
    "/accounts/{id}/credit-notes",
    "/credit-notes/{id}",
    "/credit-notes/{id}/{action}",
    "/credit-notes/{id}/pdf",
    list_credit_notes,
    list_account_credit_notes,
    create_credit_note,
    get_credit_note,
    update_credit_note,
    delete_credit_note,
    act_on_credit_note,
    credit_note_pdf,
    "`issue` or `void`"
);

document_resource!(
    DocType::PurchaseOrder,
    "purchase orders",
    "/purchase-orders",
    "/accounts/{id}/purchase-orders",
    "/purchase-orders/{id}",
    "/purchase-orders/{id}/{action}",
    "/purchase-orders/{id}/pdf",
    list_purchase_orders,
    list_account_purchase_orders,
    create_purchase_order,
    get_purchase_order,
    update_purchase_order,
    delete_purchase_order,
    act_on_purchase_order,
    purchase_order_pdf,
    "`send`, `confirm` or `cancel`"
);
document_resource!(
    DocType::Receipt,
    "receipts",
    "/receipts",
    "/accounts/{id}/receipts",
    "/receipts/{id}",
    "/receipts/{id}/{action}",
    "/receipts/{id}/pdf",
    list_receipts,
    list_account_receipts,
    create_receipt,
    get_receipt,
    update_receipt,
    delete_receipt,
    act_on_receipt,
    receipt_pdf,
    "`receive`"
);
document_resource!(
    DocType::Bill,
    "bills",
    "/bills",
    "/accounts/{id}/bills",
    "/bills/{id}",
    "/bills/{id}/{action}",
    "/bills/{id}/pdf",
    list_bills,
    list_account_bills,
    create_bill,
    get_bill,
    update_bill,
    delete_bill,
    act_on_bill,
    bill_pdf,
    "`issue` or `void`"
);
document_resource!(
    DocType::BillCredit,
    "bill credits",
    "/bill-credits",
    "/accounts/{id}/bill-credits",
    "/bill-credits/{id}",
    "/bill-credits/{id}/{action}",
    "/bill-credits/{id}/pdf",
    list_bill_credits,
    list_account_bill_credits,
    create_bill_credit,
    get_bill_credit,
    update_bill_credit,
    delete_bill_credit,
    act_on_bill_credit,
    bill_credit_pdf,
    "`issue` or `void`"
);

/// A document the caller may read, as PDF.
pub async fn pdf_of(app: &AppState, auth: &ApiAuth, doc_type: DocType, id: &str) -> ApiResult<Response> {
    let doc = read_one(app, auth, doc_type, id).await?;
    let mut tx = app.db.read().await?;
    let printable = crate::pdf::document_pdf(&mut tx, auth.0.tenant_id, &doc).await?;
    tx.commit().await?;
    crate::pdf::respond(printable, crate::pdf::filename(&doc)).await
}

#[utoipa::path(get, path = "/quotes/{id}/revisions/{revision}", tag = "quotes",
    params(("id" = String, Path), ("revision" = i64, Path, description = "An earlier revision number")),
    responses((status = 200, description = "The quote as it was when that revision was revised", body = Document),
        (status = 404, body = Problem)))]
pub async fn get_quote_revision(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path((id, revision)): Path<(String, i64)>,
) -> ApiResult<Json<serde_json::Value>> {
    let doc = read_one(&app, &auth, DocType::Quote, &id).await?;
    let mut tx = app.db.autocommit().await?;
    let mut snap = documents::revision(&mut tx, auth.0.tenant_id, doc.key, revision)
        .await?
        .ok_or_else(|| ApiError::not_found("quote revision"))?;
    auth.0.redact(DocType::Quote.record_type(), &mut snap);
    Ok(Json(snap))
}
