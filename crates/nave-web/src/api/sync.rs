//! Syncing with other systems: the upsert and lookup of accounts, contacts
//! and products by external id (`/{resource}/by-external-id/{system}/{id}`),
//! the admin's per-field master rules (`/master-rules`) and the sync
//! conflicts they record (`/sync-conflicts`).
//!
//! An upsert's body is the resource's create body. When no record holds the
//! external id, it creates one with that id (201); otherwise it updates the
//! record with the fields the body names (200), like a PATCH, so the same PUT
//! twice leaves the same record. Two PUTs racing for the same new id meet at
//! the unique key of the external ids: the loser's create is rolled back to a
//! savepoint and it updates the winner's record instead.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use nave_domain::access::{Action, RecordType};
use nave_domain::document::DocType;
use nave_domain::error::{ErrorCode, Validator};
use nave_domain::external_id::ExternalId;
use nave_domain::ids::PublicId;
use nave_domain::sync::{self as rules, ConflictStatus};
use nave_store::accounts::{self, Account};
use nave_store::catalog::{self, Product};
use nave_store::contacts::{self, Contact};
use nave_store::documents::{self, Document};
use nave_store::external_ids as ext_ids;
use nave_store::payments::{self, Payment};
use nave_store::sync::{self, ConflictQuery, MasterRule, SyncConflict};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{
    accounts as account_api, catalog as catalog_api, contacts as contact_api, documents as document_api, parse_id,
    payments as payment_api,
};
use crate::begin_write;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiAuth, ApiWrite, ListParams, NoBody, Query, parse_json};
use crate::present::{ListResponse, may_act, present, visible_or_404};
use crate::state::AppState;

/// The routes of this module, added to `/api/v1`.
pub fn routes(r: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    r.routes(routes!(get_account_by_external_id, put_account_by_external_id))
        .routes(routes!(get_contact_by_external_id, put_contact_by_external_id))
        .routes(routes!(get_product_by_external_id, put_product_by_external_id))
        .routes(routes!(get_invoice_by_external_id, put_invoice_by_external_id))
        .routes(routes!(get_payment_by_external_id, put_payment_by_external_id))
        .routes(routes!(list_master_rules))
        .routes(routes!(put_master_rule, delete_master_rule))
        .routes(routes!(list_sync_conflicts))
        .routes(routes!(get_sync_conflict))
        .routes(routes!(accept_sync_conflict))
        .routes(routes!(dismiss_sync_conflict))
}

// ------------------------------------------------------------ external ids

/// The external id named by a path, checked: 422 naming `system` or `id`.
fn path_external_id(system: &str, id: &str) -> ApiResult<ExternalId> {
    let mut v = Validator::new();
    let system = rules::check_system(&mut v, "system", system);
    let id = id.trim();
    if id.is_empty() || id.chars().count() > 200 || id.chars().any(char::is_control) {
        v.add("id", "must be 1 to 200 characters");
    }
    v.finish()?;
    Ok(ExternalId::new(system, id))
}

/// The external ids a create or update writes: the body's list (if it gives
/// one) with the path's id in it. A body that gives another id of the same
/// system is a 422 naming `external_ids`.
fn with_path_id(listed: Option<Vec<ExternalId>>, e: &ExternalId) -> ApiResult<Option<Vec<ExternalId>>> {
    let Some(mut list) = listed else { return Ok(None) };
    match list.iter().find(|x| x.system.trim().eq_ignore_ascii_case(&e.system)) {
        Some(x) if x.id.trim() != e.id => {
            return Err(ApiError::invalid(
                "external_ids",
                format!("lists the {} id {} but the path says {}", e.system, x.id.trim(), e.id),
            ));
        }
        Some(_) => {}
        None => list.push(e.clone()),
    }
    Ok(Some(list))
}

/// The body as an object.
fn object(body: &Value) -> ApiResult<serde_json::Map<String, Value>> {
    body.as_object().cloned().ok_or_else(|| ApiError::invalid("body", "must be a JSON object"))
}

/// A JSON value read as a request type: 422 naming the field.
fn typed<T: DeserializeOwned>(v: &Value) -> ApiResult<T> {
    let bytes = serde_json::to_vec(v).map_err(|e| ApiError::internal(&e))?;
    parse_json(&bytes)
}

/// Does a failed create mean someone else created the record first (its
/// external id is taken, or it now looks like a duplicate of theirs)?
fn lost_race(e: &ApiError) -> bool {
    matches!(e.code, ErrorCode::Conflict | ErrorCode::LikelyDuplicate)
}

/// A record type synced by external id: how an upsert finds, creates and
/// updates one (through the resource's own create and update paths).
trait Synced: Sized + serde::Serialize {
    const RECORD: RecordType;
    const IDS: ext_ids::Table;
    /// The record's scope, when it has one (products have none).
    fn ownership(&self) -> Option<nave_domain::access::Ownership>;
    async fn by_external_id(tx: &mut nave_store::Tx, t: i64, e: &ExternalId) -> ApiResult<Option<Self>>;
    /// Refuses a body that is not a create body of the resource (422 naming the field).
    fn check_create_body(body: &Value) -> ApiResult<()>;
    async fn create(tx: &mut nave_store::Tx, auth: &ApiAuth, e: &ExternalId, body: &Value) -> ApiResult<Self>;
    async fn update(
        tx: &mut nave_store::Tx,
        auth: &ApiAuth,
        before: &Self,
        e: &ExternalId,
        body: &Value,
    ) -> ApiResult<Self>;
}

impl Synced for Account {
    const RECORD: RecordType = RecordType::Account;
    const IDS: ext_ids::Table = ext_ids::ACCOUNTS;
    fn ownership(&self) -> Option<nave_domain::access::Ownership> {
        Some(self.ownership)
    }
    async fn by_external_id(tx: &mut nave_store::Tx, t: i64, e: &ExternalId) -> ApiResult<Option<Self>> {
        Ok(accounts::get_by_external_id(tx, t, e).await?)
    }
    fn check_create_body(body: &Value) -> ApiResult<()> {
        typed::<account_api::CreateAccountRequest>(body).map(|_| ())
    }
    async fn create(tx: &mut nave_store::Tx, auth: &ApiAuth, e: &ExternalId, body: &Value) -> ApiResult<Self> {
        let mut create: account_api::CreateAccountRequest = typed(body)?;
        create.external_ids = with_path_id(Some(create.external_ids), e)?.unwrap_or_default();
        account_api::create_in(tx, auth, create).await
    }
    async fn update(
        tx: &mut nave_store::Tx,
        auth: &ApiAuth,
        before: &Self,
        e: &ExternalId,
        body: &Value,
    ) -> ApiResult<Self> {
        let mut m = object(body)?;
        m.remove("allow_duplicate");
        let mut patch: account_api::UpdateAccountRequest = typed(&Value::Object(m))?;
        patch.external_ids = with_path_id(patch.external_ids, e)?;
        account_api::update_in(tx, auth, &auth.actor(), before, None, patch).await
    }
}

impl Synced for Contact {
    const RECORD: RecordType = RecordType::Contact;
    const IDS: ext_ids::Table = ext_ids::CONTACTS;
    fn ownership(&self) -> Option<nave_domain::access::Ownership> {
        Some(self.ownership)
    }
    async fn by_external_id(tx: &mut nave_store::Tx, t: i64, e: &ExternalId) -> ApiResult<Option<Self>> {
        Ok(contacts::get_by_external_id(tx, t, e).await?)
    }
    fn check_create_body(body: &Value) -> ApiResult<()> {
        typed::<contact_api::ContactRequest>(body).map(|_| ())
    }
    async fn create(tx: &mut nave_store::Tx, auth: &ApiAuth, e: &ExternalId, body: &Value) -> ApiResult<Self> {
        let mut create: contact_api::ContactRequest = typed(body)?;
        create.external_ids = with_path_id(Some(create.external_ids.unwrap_or_default()), e)?;
        contact_api::create_in(tx, auth, &create).await
    }
    async fn update(
        tx: &mut nave_store::Tx,
        auth: &ApiAuth,
        before: &Self,
        e: &ExternalId,
        body: &Value,
    ) -> ApiResult<Self> {
        let mut patch: contact_api::ContactRequest = typed(body)?;
        patch.external_ids = with_path_id(patch.external_ids, e)?;
        contact_api::update_in(tx, auth, &auth.actor(), before, None, &patch).await
    }
}

impl Synced for Product {
    const RECORD: RecordType = RecordType::Product;
    const IDS: ext_ids::Table = ext_ids::PRODUCTS;
    fn ownership(&self) -> Option<nave_domain::access::Ownership> {
        None
    }
    async fn by_external_id(tx: &mut nave_store::Tx, t: i64, e: &ExternalId) -> ApiResult<Option<Self>> {
        Ok(catalog::get_product_by_external_id(tx, t, e).await?)
    }
    fn check_create_body(body: &Value) -> ApiResult<()> {
        typed::<catalog_api::ProductRequest>(body).map(|_| ())
    }
    async fn create(tx: &mut nave_store::Tx, auth: &ApiAuth, e: &ExternalId, body: &Value) -> ApiResult<Self> {
        let mut create: catalog_api::ProductRequest = typed(body)?;
        create.external_ids = with_path_id(Some(create.external_ids.unwrap_or_default()), e)?;
        catalog_api::create_product_in(tx, auth, &create).await
    }
    async fn update(
        tx: &mut nave_store::Tx,
        auth: &ApiAuth,
        before: &Self,
        e: &ExternalId,
        body: &Value,
    ) -> ApiResult<Self> {
        let mut patch: catalog_api::ProductRequest = typed(body)?;
        patch.external_ids = with_path_id(patch.external_ids, e)?;
        catalog_api::update_product_in(tx, auth, &auth.actor(), before, None, &patch).await
    }
}

/// Invoices: created as drafts through the documents' create path (the one
/// pricing engine); an update changes a draft only — an issued invoice is
/// immutable and the store refuses the write (409, "correct an issued
/// invoice with a credit note").
impl Synced for Document {
    const RECORD: RecordType = RecordType::Invoice;
    const IDS: ext_ids::Table = ext_ids::DOCUMENTS;
    fn ownership(&self) -> Option<nave_domain::access::Ownership> {
        Some(self.ownership)
    }
    async fn by_external_id(tx: &mut nave_store::Tx, t: i64, e: &ExternalId) -> ApiResult<Option<Self>> {
        Ok(documents::get_by_external_id(tx, t, DocType::Invoice, e).await?)
    }
    fn check_create_body(body: &Value) -> ApiResult<()> {
        typed::<document_api::DocumentRequest>(body).map(|_| ())
    }
    async fn create(tx: &mut nave_store::Tx, auth: &ApiAuth, e: &ExternalId, body: &Value) -> ApiResult<Self> {
        let mut create: document_api::DocumentRequest = typed(body)?;
        create.external_ids = with_path_id(Some(create.external_ids.unwrap_or_default()), e)?;
        document_api::create_in(tx, auth, DocType::Invoice, create).await
    }
    async fn update(
        tx: &mut nave_store::Tx,
        auth: &ApiAuth,
        before: &Self,
        e: &ExternalId,
        body: &Value,
    ) -> ApiResult<Self> {
        may_act(&auth.0, Self::RECORD, Action::Update, before.ownership)?;
        let mut patch: document_api::DocumentRequest = typed(body)?;
        patch.external_ids = with_path_id(patch.external_ids, e)?;
        document_api::update_in(tx, auth, before, None, patch).await
    }
}

/// Payments received: a posted payment is immutable except for its
/// allocations, so an upsert of an existing payment allocates the invoices
/// the body lists that the payment does not settle yet, and refuses (409) a
/// different amount, currency or account.
impl Synced for Payment {
    const RECORD: RecordType = RecordType::Payment;
    const IDS: ext_ids::Table = ext_ids::PAYMENTS;
    fn ownership(&self) -> Option<nave_domain::access::Ownership> {
        Some(self.ownership)
    }
    async fn by_external_id(tx: &mut nave_store::Tx, t: i64, e: &ExternalId) -> ApiResult<Option<Self>> {
        Ok(payments::get_by_external_id(tx, t, e).await?.filter(|p| p.direction != "sent"))
    }
    fn check_create_body(body: &Value) -> ApiResult<()> {
        typed::<payment_api::PaymentRequest>(body).map(|_| ())
    }
    async fn create(tx: &mut nave_store::Tx, auth: &ApiAuth, e: &ExternalId, body: &Value) -> ApiResult<Self> {
        let mut create: payment_api::PaymentRequest = typed(body)?;
        create.external_ids = with_path_id(Some(create.external_ids), e)?.unwrap_or_default();
        payment_api::create_in(tx, auth, create, false).await
    }
    async fn update(
        tx: &mut nave_store::Tx,
        auth: &ApiAuth,
        before: &Self,
        e: &ExternalId,
        body: &Value,
    ) -> ApiResult<Self> {
        may_act(&auth.0, Self::RECORD, Action::Update, before.ownership)?;
        let b: payment_api::PaymentRequest = typed(body)?;
        with_path_id(Some(b.external_ids.clone()), e)?;
        let immutable = |field: &str| {
            ApiError::new(
                ErrorCode::Conflict,
                format!("the payment is posted and its {field} cannot change; record a new payment instead"),
            )
        };
        if b.account_id.is_some_and(|a| a != before.account_id) {
            return Err(immutable("account"));
        }
        if b.amount.is_some_and(|a| a != before.amount.parse::<rust_decimal::Decimal>().unwrap_or_default()) {
            return Err(immutable("amount"));
        }
        if b.currency.as_deref().is_some_and(|c| !c.eq_ignore_ascii_case(before.currency.code())) {
            return Err(immutable("currency"));
        }
        let new: Vec<_> = b
            .allocations
            .into_iter()
            .filter(|a| !before.allocations.iter().any(|x| x.invoice_id == a.invoice_id))
            .collect();
        if new.is_empty() {
            return Ok(before.clone());
        }
        Ok(payments::allocate(tx, &auth.actor(), before, None, &new).await?)
    }
}

/// The record holding an external id, its row locked for this write. When
/// no record held the id as the lock was taken, there is none here either,
/// even if a concurrent create commits it a moment later: reading that one
/// without its lock would update it unlocked (and lose to a concurrent
/// update's version); the caller's create then loses the race and finds it
/// again, locked.
async fn find<S: Synced>(tx: &mut nave_store::Tx, t: i64, e: &ExternalId) -> ApiResult<Option<S>> {
    if ext_ids::lock_owner(tx, S::IDS, t, e).await?.is_none() {
        return Ok(None);
    }
    S::by_external_id(tx, t, e).await
}

async fn update_synced<S: Synced>(
    tx: &mut nave_store::Tx,
    auth: &ApiAuth,
    before: &S,
    e: &ExternalId,
    body: &Value,
) -> ApiResult<S> {
    auth.require(S::RECORD, Action::Update)?;
    S::update(tx, auth, before, e, body).await
}

/// Creates or updates the record holding `e` (true: created). A create that
/// loses a race for the id (or to a likely duplicate) is rolled back to a
/// savepoint and updates the winner's record instead.
async fn upsert<S: Synced>(
    tx: &mut nave_store::Tx,
    auth: &ApiAuth,
    e: &ExternalId,
    body: &Value,
) -> ApiResult<(bool, S)> {
    let t = auth.0.tenant_id;
    if let Some(before) = find::<S>(tx, t, e).await? {
        return Ok((false, update_synced(tx, auth, &before, e, body).await?));
    }
    auth.require(S::RECORD, Action::Create)?;
    let sp = tx.savepoint().await?;
    match S::create(tx, auth, e, body).await {
        Ok(r) => {
            tx.release(sp).await?;
            Ok((true, r))
        }
        Err(err) if lost_race(&err) => {
            tx.rollback_to(sp).await?;
            match find::<S>(tx, t, e).await? {
                Some(before) => Ok((false, update_synced(tx, auth, &before, e, body).await?)),
                None => Err(err),
            }
        }
        Err(err) => Err(err),
    }
}

/// `GET /{resource}/by-external-id/{system}/{id}`.
async fn get_synced<S: Synced>(app: &AppState, auth: &ApiAuth, system: &str, id: &str) -> ApiResult<Json<Value>> {
    auth.require(S::RECORD, Action::Read)?;
    let e = path_external_id(system, id)?;
    let mut tx = app.db.autocommit().await?;
    let r = S::by_external_id(&mut tx, auth.0.tenant_id, &e).await?;
    tx.commit().await?;
    let r = r.ok_or_else(|| ApiError::not_found(S::RECORD.as_str()))?;
    if let Some(own) = r.ownership() {
        visible_or_404(&auth.0, S::RECORD, Action::Read, own)?;
    }
    Ok(Json(present(&auth.0, S::RECORD, &r)?))
}

/// `PUT /{resource}/by-external-id/{system}/{id}`: 201 created or 200 updated.
async fn put_synced<S: Synced>(
    app: AppState,
    auth: ApiAuth,
    system: &str,
    id: &str,
    req: ApiWrite<Value>,
) -> ApiResult<Response> {
    let e = path_external_id(system, id)?;
    // The body must be a create body even when the record exists.
    S::check_create_body(&req.body)?;
    let mut w = begin_write!(app, auth, req);
    let (created, r) = upsert::<S>(w.tx(), &auth, &e, &req.body).await?;
    let body = present(&auth.0, S::RECORD, &r)?;
    w.respond(if created { StatusCode::CREATED } else { StatusCode::OK }, &body).await
}

#[utoipa::path(get, path = "/accounts/by-external-id/{system}/{id}", tag = "sync",
    params(("system" = String, Path, description = "The other system, e.g. `erp`"), ("id" = String, Path, description = "The account's id there")),
    responses((status = 200, body = Account), (status = 404, body = Problem)))]
pub async fn get_account_by_external_id(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path((system, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    get_synced::<Account>(&app, &auth, &system, &id).await
}

#[utoipa::path(put, path = "/accounts/by-external-id/{system}/{id}", tag = "sync",
    description = "Creates the account holding this external id (201) or updates it with the fields the body names (200). \
        The body is the create body of `POST /accounts`; on update, absent fields keep their values. \
        Fields mastered by another system than the token's are left alone and recorded as sync conflicts.",
    request_body = account_api::CreateAccountRequest,
    params(("system" = String, Path), ("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    responses((status = 200, description = "Updated", body = Account), (status = 201, description = "Created", body = Account),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn put_account_by_external_id(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path((system, id)): Path<(String, String)>,
    req: ApiWrite<Value>,
) -> ApiResult<Response> {
    put_synced::<Account>(app, auth, &system, &id, req).await
}

#[utoipa::path(get, path = "/contacts/by-external-id/{system}/{id}", tag = "sync",
    params(("system" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = Contact), (status = 404, body = Problem)))]
pub async fn get_contact_by_external_id(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path((system, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    get_synced::<Contact>(&app, &auth, &system, &id).await
}

#[utoipa::path(put, path = "/contacts/by-external-id/{system}/{id}", tag = "sync",
    description = "Creates the contact holding this external id (201; `account_id` is required then) or updates it \
        with the fields the body names (200). The body is the body of `POST /contacts`.",
    request_body = contact_api::ContactRequest,
    params(("system" = String, Path), ("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    responses((status = 200, description = "Updated", body = Contact), (status = 201, description = "Created", body = Contact),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn put_contact_by_external_id(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path((system, id)): Path<(String, String)>,
    req: ApiWrite<Value>,
) -> ApiResult<Response> {
    put_synced::<Contact>(app, auth, &system, &id, req).await
}

#[utoipa::path(get, path = "/products/by-external-id/{system}/{id}", tag = "sync",
    params(("system" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = Product), (status = 404, body = Problem)))]
pub async fn get_product_by_external_id(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path((system, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    get_synced::<Product>(&app, &auth, &system, &id).await
}

#[utoipa::path(put, path = "/products/by-external-id/{system}/{id}", tag = "sync",
    description = "Creates the product holding this external id (201; `sku` and `name` are required then) or updates \
        it with the fields the body names (200). The body is the body of `POST /products`.",
    request_body = catalog_api::ProductRequest,
    params(("system" = String, Path), ("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    responses((status = 200, description = "Updated", body = Product), (status = 201, description = "Created", body = Product),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn put_product_by_external_id(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path((system, id)): Path<(String, String)>,
    req: ApiWrite<Value>,
) -> ApiResult<Response> {
    put_synced::<Product>(app, auth, &system, &id, req).await
}

#[utoipa::path(get, path = "/invoices/by-external-id/{system}/{id}", tag = "sync",
    params(("system" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = Document), (status = 404, body = Problem)))]
pub async fn get_invoice_by_external_id(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path((system, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    get_synced::<Document>(&app, &auth, &system, &id).await
}

#[utoipa::path(put, path = "/invoices/by-external-id/{system}/{id}", tag = "sync",
    description = "Creates a draft invoice holding this external id (201; `account_id` is required then) or updates \
        the draft with the fields the body names (200; `lines`/`groups` replace the content). The body is the body of \
        `POST /invoices`. An issued invoice is immutable: updating it is refused with 409 (correct it with a credit note).",
    request_body = document_api::DocumentRequest,
    params(("system" = String, Path), ("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    responses((status = 200, description = "Updated", body = Document), (status = 201, description = "Created", body = Document),
        (status = 409, description = "The invoice is issued, or the id belongs to another record", body = Problem),
        (status = 422, body = Problem)))]
pub async fn put_invoice_by_external_id(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path((system, id)): Path<(String, String)>,
    req: ApiWrite<Value>,
) -> ApiResult<Response> {
    put_synced::<Document>(app, auth, &system, &id, req).await
}

#[utoipa::path(get, path = "/payments/by-external-id/{system}/{id}", tag = "sync",
    params(("system" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = Payment), (status = 404, body = Problem)))]
pub async fn get_payment_by_external_id(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path((system, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    get_synced::<Payment>(&app, &auth, &system, &id).await
}

#[utoipa::path(put, path = "/payments/by-external-id/{system}/{id}", tag = "sync",
    description = "Records the payment holding this external id (201; the body of `POST /payments`) or, when it \
        exists, allocates the invoices the body lists that it does not settle yet (200). A posted payment's amount, \
        currency and account cannot change (409).",
    request_body = payment_api::PaymentRequest,
    params(("system" = String, Path), ("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    responses((status = 200, description = "Found (and allocated)", body = Payment), (status = 201, description = "Created", body = Payment),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn put_payment_by_external_id(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path((system, id)): Path<(String, String)>,
    req: ApiWrite<Value>,
) -> ApiResult<Response> {
    put_synced::<Payment>(app, auth, &system, &id, req).await
}

// ------------------------------------------------------------ master rules

/// Schema of the rule list (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct MasterRuleList {
    data: Vec<MasterRule>,
}

#[utoipa::path(get, path = "/master-rules", tag = "sync",
    responses((status = 200, description = "Every rule, by record type and field", body = MasterRuleList),
        (status = 403, body = Problem)))]
pub async fn list_master_rules(State(app): State<AppState>, auth: ApiAuth) -> ApiResult<Json<Value>> {
    auth.require(RecordType::MasterRule, Action::Read)?;
    let mut tx = app.db.autocommit().await?;
    let list = sync::list_rules(&mut tx, auth.0.tenant_id).await?;
    tx.commit().await?;
    Ok(Json(serde_json::json!({ "data": list })))
}

/// Which system masters a field.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MasterRuleRequest {
    /// `nave` (Nave itself) or the `source_system` of the other system's tokens, e.g. `erp`.
    #[schema(example = "erp")]
    pub system: String,
}

#[utoipa::path(put, path = "/master-rules/{record_type}/{field}", tag = "sync",
    description = "Says which system masters a field of accounts, contacts or products: writes from any other \
        source leave the field alone and record a sync conflict. Creates the rule (201) or changes its system (200). \
        Admins only.",
    request_body = MasterRuleRequest,
    params(("record_type" = String, Path, description = "`account`, `contact` or `product`"),
        ("field" = String, Path, description = "A field of the record's write body, e.g. `credit_limit`"),
        ("If-Match" = Option<String>, Header, description = "Expected version of an existing rule")),
    responses((status = 200, description = "Changed", body = MasterRule), (status = 201, description = "Created", body = MasterRule),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn put_master_rule(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path((record_type, field)): Path<(String, String)>,
    req: ApiWrite<MasterRuleRequest>,
) -> ApiResult<Response> {
    auth.require(RecordType::MasterRule, Action::Create)?;
    auth.require(RecordType::MasterRule, Action::Update)?;
    let mut w = begin_write!(app, auth, req);
    let (rule, created) =
        sync::put_rule(w.tx(), &auth.actor(), &record_type, &field, &req.body.system, req.if_match).await?;
    w.respond(if created { StatusCode::CREATED } else { StatusCode::OK }, &rule).await
}

#[utoipa::path(delete, path = "/master-rules/{record_type}/{field}", tag = "sync",
    params(("record_type" = String, Path), ("field" = String, Path),
        ("If-Match" = Option<String>, Header, description = "Expected version")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_master_rule(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path((record_type, field)): Path<(String, String)>,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    auth.require(RecordType::MasterRule, Action::Delete)?;
    let mut w = begin_write!(app, auth, req);
    let rule = sync::get_rule(w.tx(), auth.0.tenant_id, &record_type, &field)
        .await?
        .ok_or_else(|| ApiError::not_found("master rule"))?;
    sync::delete_rule(w.tx(), &auth.actor(), &rule, req.if_match).await?;
    w.respond(StatusCode::NO_CONTENT, &()).await
}

// ---------------------------------------------------------- sync conflicts

/// Filters of the conflict list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ConflictFilter {
    /// `open`, `accepted` or `dismissed` (default: all).
    pub status: Option<String>,
    /// `account`, `contact` or `product`.
    pub record_type: Option<String>,
    /// The conflicts of one record.
    pub record_id: Option<String>,
    pub limit: Option<i64>,
    pub after: Option<String>,
}

/// Schema of a conflict page (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct SyncConflictList {
    data: Vec<SyncConflict>,
    next: Option<String>,
}

/// A conflict as `auth` may see it: without its values when the field is
/// hidden from the caller's role (e.g. `credit_limit`).
pub fn present_conflict(p: &nave_domain::access::Principal, c: &SyncConflict) -> ApiResult<Value> {
    let mut v = serde_json::to_value(c).map_err(|e| ApiError::internal(&e))?;
    let rt = c.record_type()?;
    if p.hidden_fields(rt).contains(&c.field.as_str())
        && let Value::Object(m) = &mut v
    {
        m.remove("our_value");
        m.remove("their_value");
    }
    Ok(v)
}

/// Parses the filters of the conflict list (shared with the page).
pub fn conflict_query(f: &ConflictFilter) -> ApiResult<ConflictQuery> {
    let paging = ListParams { limit: f.limit, after: f.after.clone() };
    let status = f
        .status
        .as_deref()
        .map(|s| s.parse::<ConflictStatus>().map_err(|e| ApiError::invalid("status", e.to_string())))
        .transpose()?;
    let record_type = f
        .record_type
        .as_deref()
        .map(|s| match s.parse::<RecordType>() {
            Ok(t) if rules::RECORD_TYPES.contains(&t) => Ok(t),
            _ => Err(ApiError::invalid("record_type", "must be account, contact or product")),
        })
        .transpose()?;
    let record_id = f
        .record_id
        .as_deref()
        .map(|s| s.parse::<PublicId>().map_err(|_| ApiError::invalid("record_id", "is not a record id")))
        .transpose()?;
    Ok(ConflictQuery { status, record_type, record_id, cursor: paging.cursor()?, limit: paging.limit()? })
}

#[utoipa::path(get, path = "/sync-conflicts", tag = "sync", params(ConflictFilter),
    responses((status = 200, description = "Conflicts, newest first", body = SyncConflictList), (status = 403, body = Problem)))]
pub async fn list_sync_conflicts(
    State(app): State<AppState>,
    auth: ApiAuth,
    Query(f): Query<ConflictFilter>,
) -> ApiResult<Json<ListResponse>> {
    auth.require(RecordType::SyncConflict, Action::Read)?;
    let q = conflict_query(&f)?;
    let mut tx = app.db.read().await?;
    let page = sync::list_conflicts(&mut tx, auth.0.tenant_id, &q).await?;
    tx.commit().await?;
    let data = page.items.iter().map(|c| present_conflict(&auth.0, c)).collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(ListResponse { data, next: page.next.map(|c| c.encode()) }))
}

#[utoipa::path(get, path = "/sync-conflicts/{id}", tag = "sync", params(("id" = String, Path)),
    responses((status = 200, body = SyncConflict), (status = 404, body = Problem)))]
pub async fn get_sync_conflict(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    auth.require(RecordType::SyncConflict, Action::Read)?;
    let id = parse_id("sync_conflict", &id)?;
    let mut tx = app.db.autocommit().await?;
    let c = sync::get_conflict(&mut tx, auth.0.tenant_id, id).await?;
    tx.commit().await?;
    let c = c.ok_or_else(|| ApiError::not_found("sync_conflict"))?;
    Ok(Json(present_conflict(&auth.0, &c)?))
}

/// Writes a conflict's value to its record as the acting person (master
/// rules do not hold it back), then marks the conflict accepted. Needs update
/// on the record and sight of the field.
pub async fn accept(tx: &mut nave_store::Tx, auth: &ApiAuth, c: &SyncConflict) -> ApiResult<SyncConflict> {
    let rt = c.record_type()?;
    if auth.0.hidden_fields(rt).contains(&c.field.as_str()) {
        return Err(ApiError::forbidden(format!("your role may not see or set {}", c.field)));
    }
    if c.status != ConflictStatus::Open {
        // The store names the state.
        return Ok(sync::resolve(tx, &auth.actor(), c, ConflictStatus::Accepted).await?);
    }
    auth.require(rt, Action::Update)?;
    let actor = nave_store::audit::Actor { master_override: true, ..auth.actor() };
    let body = rules::write_body(rt, &c.field, &c.their_value);
    let t = auth.0.tenant_id;
    let gone = || ApiError::new(ErrorCode::Conflict, "the record of this conflict no longer exists");
    match rt {
        RecordType::Account => {
            let before = accounts::get_by_key(tx, t, c.record_key).await?.ok_or_else(gone)?;
            let patch: account_api::UpdateAccountRequest = typed(&body)?;
            account_api::update_in(tx, auth, &actor, &before, None, patch).await?;
        }
        RecordType::Contact => {
            let before = contacts::get(tx, t, c.record_id).await?.ok_or_else(gone)?;
            let patch: contact_api::ContactRequest = typed(&body)?;
            contact_api::update_in(tx, auth, &actor, &before, None, &patch).await?;
        }
        _ => {
            let before = catalog::get_product(tx, t, c.record_id).await?.ok_or_else(gone)?;
            let patch: catalog_api::ProductRequest = typed(&body)?;
            catalog_api::update_product_in(tx, auth, &actor, &before, None, &patch).await?;
        }
    }
    Ok(sync::resolve(tx, &auth.actor(), c, ConflictStatus::Accepted).await?)
}

/// Loads a conflict inside a write, for someone who may resolve conflicts.
pub async fn load_conflict(tx: &mut nave_store::Tx, auth: &ApiAuth, id: &str) -> ApiResult<SyncConflict> {
    let id = parse_id("sync_conflict", id)?;
    sync::get_conflict(tx, auth.0.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("sync_conflict"))
}

/// Checks that the caller may read the conflict's record (else 404).
pub async fn record_visible(tx: &mut nave_store::Tx, auth: &ApiAuth, c: &SyncConflict) -> ApiResult<()> {
    let t = auth.0.tenant_id;
    let own = match c.record_type()? {
        RecordType::Account => accounts::get_by_key(tx, t, c.record_key).await?.map(|a| a.ownership),
        RecordType::Contact => contacts::get(tx, t, c.record_id).await?.map(|x| x.ownership),
        _ => Some(Default::default()),
    };
    match own {
        Some(o) => may_act(&auth.0, c.record_type()?, Action::Read, o),
        None => Ok(()),
    }
}

#[utoipa::path(post, path = "/sync-conflicts/{id}/accept", tag = "sync",
    description = "Writes the value the other system sent to the record, as the calling user (the master rule does \
        not hold it back; the record's audit entry names the user), and marks the conflict accepted.",
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    responses((status = 200, body = SyncConflict), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "Not open, or the record is gone", body = Problem)))]
pub async fn accept_sync_conflict(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    auth.require(RecordType::SyncConflict, Action::Update)?;
    let mut w = begin_write!(app, auth, req);
    let c = load_conflict(w.tx(), &auth, &id).await?;
    record_visible(w.tx(), &auth, &c).await?;
    let after = accept(w.tx(), &auth, &c).await?;
    let body = present_conflict(&auth.0, &after)?;
    w.respond(StatusCode::OK, &body).await
}

#[utoipa::path(post, path = "/sync-conflicts/{id}/dismiss", tag = "sync",
    description = "Keeps the record's value and marks the conflict dismissed.",
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    responses((status = 200, body = SyncConflict), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn dismiss_sync_conflict(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    auth.require(RecordType::SyncConflict, Action::Update)?;
    let mut w = begin_write!(app, auth, req);
    let c = load_conflict(w.tx(), &auth, &id).await?;
    record_visible(w.tx(), &auth, &c).await?;
    let after = sync::resolve(w.tx(), &auth.actor(), &c, ConflictStatus::Dismissed).await?;
    let body = present_conflict(&auth.0, &after)?;
    w.respond(StatusCode::OK, &body).await
}

/// Whether a principal may see sync conflicts (the account page's link).
pub fn may_see_conflicts(p: &nave_domain::access::Principal) -> bool {
    p.scope_for(RecordType::SyncConflict, Action::Read).is_some()
}
