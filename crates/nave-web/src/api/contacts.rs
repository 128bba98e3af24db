//! `/api/v1/contacts` and `/api/v1/accounts/{id}/contacts`: the people at accounts.
//!
//! A contact is visible to whoever may see its account: its record scope is
//! the account's owner and team (a sales rep sees the contacts of their own
//! accounts, in lists, reads and exports alike).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use nave_domain::access::{Action, RecordType};
use nave_domain::address::PostalAddress;
use nave_domain::contact::{ConsentChange, Phone};
use nave_domain::external_id::ExternalId;
use nave_domain::ids::PublicId;
use nave_store::accounts::{self, Account, Visibility};
use nave_store::contacts::{self, Contact, ContactPatch, ContactQuery, NewContact};
use nave_store::external_ids::{self as ext_ids, ACCOUNTS};
use nave_store::page::Page;
use serde::Deserialize;

use super::accounts::{parse_archived, parse_external_id, parse_time};
use super::{double_option, parse_id};
use crate::begin_write;
use crate::csv_export;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiAuth, ApiWrite, ListParams, NoBody, Query};
use crate::present::{may_act, present, present_page, visible_or_404};
use crate::state::AppState;
use crate::write::Writer;

const T: RecordType = RecordType::Contact;

/// Filters of the contact list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ContactFilter {
    /// Only the contacts of this account.
    pub account_id: Option<String>,
    /// Only contacts with this e-mail address (exact, ignoring case).
    pub email: Option<String>,
    /// Only contacts changed at or after this time (RFC 3339).
    pub updated_since: Option<String>,
    /// `false` (default): active contacts; `true`: archived; `all`: both.
    pub archived: Option<String>,
    /// `system:id`: the contact holding this id in another system.
    pub external_id: Option<String>,
    /// The order: `name` (last name, first name) or `account` (`-` in front for descending); oldest first without it.
    pub sort: Option<String>,
    pub limit: Option<i64>,
    pub after: Option<String>,
    /// `csv` for a CSV export of this page (the columns `nave import contacts` reads).
    pub format: Option<String>,
}

/// Schema of a contact page (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ContactList {
    data: Vec<Contact>,
    next: Option<String>,
}

/// How each account of some contacts is named in the export's `account`
/// column: its first external id (what the importer matches first), else its name.
async fn account_refs(tx: &mut nave_store::Tx, tenant_id: i64, items: &[Contact]) -> ApiResult<HashMap<i64, String>> {
    let mut keys: Vec<i64> = items.iter().map(|c| c.account_key).collect();
    keys.sort_unstable();
    keys.dedup();
    let ext = ext_ids::load(tx, ACCOUNTS, tenant_id, &keys).await?;
    let mut out = HashMap::new();
    for c in items {
        let r = ext.iter().find(|(k, _)| *k == c.account_key).map(|(_, e)| e.to_string());
        out.entry(c.account_key).or_insert_with(|| r.unwrap_or_else(|| c.account_name.clone()));
    }
    Ok(out)
}

/// Answers a page of contacts as JSON or CSV.
async fn answer(
    tx: nave_store::Tx,
    auth: &ApiAuth,
    page: Page<Contact>,
    next: Option<String>,
    csv: bool,
) -> ApiResult<Response> {
    let mut tx = tx;
    if csv {
        let names = csv_export::Names::load(&mut tx, auth.0.tenant_id).await?;
        let refs = account_refs(&mut tx, auth.0.tenant_id, &page.items).await?;
        tx.commit().await?;
        return Ok(csv_export::contacts(&page.items, &refs, &names)?.into_response());
    }
    tx.commit().await?;
    Ok(Json(present_page(&auth.0, T, &page.items, next)?).into_response())
}

/// The account a request names, when the caller may `action` its contacts;
/// otherwise the same 422 as an unknown account, so nothing leaks.
async fn account_for(
    tx: &mut nave_store::Tx,
    auth: &ApiAuth,
    field: &str,
    id: &str,
    action: Action,
) -> ApiResult<Account> {
    let unknown = || ApiError::invalid(field, "is not the id of an account");
    let id: PublicId = id.parse().map_err(|_| unknown())?;
    let acc = accounts::get(tx, auth.0.tenant_id, id).await?.ok_or_else(unknown)?;
    if !auth.0.may(T, action, acc.ownership) {
        return Err(unknown());
    }
    Ok(acc)
}

#[utoipa::path(get, path = "/contacts", tag = "contacts", params(ContactFilter),
    responses((status = 200, description = "A page of the contacts of accounts the caller may see (JSON, or CSV with `format=csv` or `Accept: text/csv`)",
        body = inline(ContactList)), (status = 422, body = Problem)))]
pub async fn list_contacts(
    State(app): State<AppState>,
    auth: ApiAuth,
    headers: axum::http::HeaderMap,
    Query(f): Query<ContactFilter>,
) -> ApiResult<Response> {
    let scope = auth.require(T, Action::Read)?;
    let paging = ListParams { limit: f.limit, after: f.after.clone() };
    let (sort, cursor, sorted_after) = paging.sorted(contacts::SORTS, f.sort.as_deref())?;
    let csv = super::reports::wants_csv(f.format.as_deref(), &headers)?;
    let mut tx = app.db.read().await?;
    let account_key = match f.account_id.as_deref() {
        Some(a) => Some(account_for(&mut tx, &auth, "account_id", a, Action::Read).await?.key),
        None => None,
    };
    let q = ContactQuery {
        words: vec![],
        visibility: Visibility::of(&auth.0, scope),
        account_key,
        email: f.email.clone(),
        updated_since: parse_time("updated_since", f.updated_since.as_deref())?,
        archived: parse_archived(f.archived.as_deref())?,
        external_id: parse_external_id(f.external_id.as_deref())?,
        cursor,
        sort,
        sorted_after,
        limit: paging.limit()?,
    };
    let page = contacts::list(&mut tx, auth.0.tenant_id, &q).await?;
    let next = q.sort.next_of(&page);
    answer(tx, &auth, page, next, csv).await
}

/// Filters of an account's contacts.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AccountContactsFilter {
    /// `false` (default): active contacts; `true`: archived; `all`: both.
    pub archived: Option<String>,
    pub limit: Option<i64>,
    pub after: Option<String>,
}

#[utoipa::path(get, path = "/accounts/{id}/contacts", tag = "contacts", params(("id" = String, Path), AccountContactsFilter),
    responses((status = 200, description = "A page of the account's contacts", body = inline(ContactList)),
        (status = 404, body = Problem)))]
pub async fn list_account_contacts(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    Query(f): Query<AccountContactsFilter>,
) -> ApiResult<Response> {
    let scope = auth.require(T, Action::Read)?;
    let paging = ListParams { limit: f.limit, after: f.after.clone() };
    let mut tx = app.db.read().await?;
    let acc = accounts::get(&mut tx, auth.0.tenant_id, parse_id("account", &id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("account"))?;
    visible_or_404(&auth.0, RecordType::Account, Action::Read, acc.ownership)?;
    let q = ContactQuery {
        visibility: Visibility::of(&auth.0, scope),
        account_key: Some(acc.key),
        archived: parse_archived(f.archived.as_deref())?,
        cursor: paging.cursor()?,
        limit: paging.limit()?,
        ..Default::default()
    };
    let page = contacts::list(&mut tx, auth.0.tenant_id, &q).await?;
    let next = page.next.map(|c| c.encode());
    answer(tx, &auth, page, next, false).await
}

/// A contact's fields. On create, `account_id` and a first or last name are
/// required; on update, absent fields stay, `null` clears the optional ones,
/// and lists replace.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactRequest {
    /// The account (an active one). Changing it moves the contact.
    pub account_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub title: Option<Option<String>>,
    /// E-mail addresses, the preferred one first.
    pub emails: Option<Vec<String>>,
    #[schema(value_type = Option<Vec<Object>>, example = json!([{"label": "mobile", "number": "+44 7700 900123"}]))]
    pub phones: Option<Vec<Phone>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<nave_store::addresses::PostalAddressSchema>)]
    pub address: Option<Option<PostalAddress>>,
    /// `true` makes this the account's primary contact (the old one is un-marked).
    pub is_primary: Option<bool>,
    /// `true` needs `consent_source`; the time is recorded (now, unless `consent_at` is given).
    pub marketing_consent: Option<bool>,
    /// RFC 3339.
    #[serde(default, deserialize_with = "double_option")]
    pub consent_at: Option<Option<String>>,
    /// Where the consent came from, e.g. "web form".
    #[serde(default, deserialize_with = "double_option")]
    pub consent_source: Option<Option<String>>,
    /// The user who looks after the person (default: the account's owner).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub owner_id: Option<Option<PublicId>>,
    /// Ids in other systems, replacing the list.
    #[schema(value_type = Option<Vec<nave_store::external_ids::ExternalIdSchema>>)]
    pub external_ids: Option<Vec<ExternalId>>,
    /// Updates only.
    pub archived: Option<bool>,
}

impl ContactRequest {
    fn consent(&self) -> ApiResult<ConsentChange> {
        let at = match &self.consent_at {
            Some(Some(s)) => Some(Some(parse_time("consent_at", Some(s))?.expect("a time was given"))),
            Some(None) => Some(None),
            None => None,
        };
        Ok(ConsentChange { given: self.marketing_consent, at, source: self.consent_source.clone() })
    }
}

#[utoipa::path(post, path = "/contacts", tag = "contacts", request_body = ContactRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    responses((status = 201, body = Contact), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_contact(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<ContactRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Create)?;
    req.body.consent()?;
    if req.body.archived.is_some() {
        return Err(ApiError::invalid("archived", "a new contact is active; archive it with an update"));
    }
    let mut w = begin_write!(app, auth, req);
    let c = create_in(w.tx(), &auth, &req.body).await?;
    let body = present(&auth.0, T, &c)?;
    w.respond(StatusCode::CREATED, &body).await
}

/// Creates a contact from a create body inside a write (the permission to
/// create was checked): what `POST /contacts` and the upsert by external id share.
pub async fn create_in(tx: &mut nave_store::Tx, auth: &ApiAuth, b: &ContactRequest) -> ApiResult<Contact> {
    if b.archived.is_some() {
        return Err(ApiError::invalid("archived", "a new contact is active; archive it with an update"));
    }
    let consent = b.consent()?;
    let account = match b.account_id.as_deref() {
        Some(a) => Some(account_for(tx, auth, "account_id", a, Action::Create).await?.id),
        None => None,
    };
    let new = NewContact {
        account_id: account,
        first_name: b.first_name.clone().unwrap_or_default(),
        last_name: b.last_name.clone().unwrap_or_default(),
        title: b.title.clone().flatten(),
        emails: b.emails.clone().unwrap_or_default(),
        phones: b.phones.clone().unwrap_or_default(),
        address: b.address.clone().flatten(),
        is_primary: b.is_primary,
        consent,
        owner_id: b.owner_id.flatten(),
        external_ids: b.external_ids.clone().unwrap_or_default(),
        archived: false,
    };
    Ok(contacts::create(tx, &auth.actor(), new).await?)
}

#[utoipa::path(get, path = "/contacts/{id}", tag = "contacts", params(("id" = String, Path)),
    responses((status = 200, body = Contact), (status = 404, body = Problem)))]
pub async fn get_contact(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    auth.require(T, Action::Read)?;
    let mut tx = app.db.autocommit().await?;
    let c = contacts::get(&mut tx, auth.0.tenant_id, parse_id("contact", &id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("contact"))?;
    visible_or_404(&auth.0, T, Action::Read, c.ownership)?;
    Ok(Json(present(&auth.0, T, &c)?))
}

/// Loads a contact inside a write and checks `action` on it (404 when the
/// caller may not even read it, 403 when they may read but not act).
async fn load_for(w: &mut Writer, auth: &ApiAuth, id: &str, action: Action) -> ApiResult<Contact> {
    let c = contacts::get(w.tx(), auth.0.tenant_id, parse_id("contact", id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("contact"))?;
    may_act(&auth.0, T, action, c.ownership)?;
    Ok(c)
}

#[utoipa::path(patch, path = "/contacts/{id}", tag = "contacts", request_body = ContactRequest,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "Expected version")),
    responses((status = 200, body = Contact), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn update_contact(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<ContactRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Update)?;
    req.body.consent()?;
    let mut w = begin_write!(app, auth, req);
    let before = load_for(&mut w, &auth, &id, Action::Update).await?;
    let c = update_in(w.tx(), &auth, &auth.actor(), &before, req.if_match, &req.body).await?;
    let body = present(&auth.0, T, &c)?;
    w.respond(StatusCode::OK, &body).await
}

/// Updates a contact the caller may update (checked on `before`) inside a
/// write, as `actor`: what `PATCH /contacts/{id}`, the upsert by external id
/// and accepting a sync conflict share.
pub async fn update_in(
    tx: &mut nave_store::Tx,
    auth: &ApiAuth,
    actor: &nave_store::audit::Actor,
    before: &Contact,
    if_match: Option<i64>,
    b: &ContactRequest,
) -> ApiResult<Contact> {
    may_act(&auth.0, T, Action::Update, before.ownership)?;
    let consent = b.consent()?;
    let account_id = match b.account_id.as_deref() {
        Some(a) => Some(account_for(tx, auth, "account_id", a, Action::Update).await?.id),
        None => None,
    };
    let patch = ContactPatch {
        account_id,
        first_name: b.first_name.clone(),
        last_name: b.last_name.clone(),
        title: b.title.clone(),
        emails: b.emails.clone(),
        phones: b.phones.clone(),
        address: b.address.clone(),
        is_primary: b.is_primary,
        consent,
        owner_id: b.owner_id,
        external_ids: b.external_ids.clone(),
        archived: b.archived,
    };
    Ok(contacts::update(tx, actor, before, if_match, patch).await?)
}

#[utoipa::path(delete, path = "/contacts/{id}", tag = "contacts",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "Expected version")),
    responses((status = 204), (status = 404, body = Problem), (status = 412, body = Problem)))]
pub async fn delete_contact(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    auth.require(T, Action::Delete)?;
    let mut w = begin_write!(app, auth, req);
    let before = load_for(&mut w, &auth, &id, Action::Delete).await?;
    contacts::delete(w.tx(), &auth.actor(), &before, req.if_match).await?;
    w.respond(StatusCode::NO_CONTENT, &()).await
}
