//! `/api/v1/accounts`: the hub record.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use nave_domain::access::{Action, Capability, Principal, RecordType};
use nave_domain::account::AccountKind;
use nave_domain::address::AccountAddress;
use nave_domain::error::ErrorCode;
use nave_domain::external_id::{ExternalId, parse_pair};
use nave_domain::ids::PublicId;
use nave_domain::money::Currency;
use nave_domain::tax::TaxTreatment;
use nave_store::accounts::{self, Account, AccountPatch, AccountQuery, NewAccount, Visibility};
use serde::Deserialize;

use super::double_option;
use crate::begin_write;
use crate::error::{ApiError, ApiResult, DuplicateCandidate, Problem};
use crate::extract::{ApiAuth, ApiWrite, ListParams, NoBody, Query};
use crate::present::{may_act, present, present_page, visible_or_404};
use crate::state::AppState;
use crate::write::Writer;

const T: RecordType = RecordType::Account;

/// Filters of the account list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AccountFilter {
    /// Only accounts of this kind.
    #[param(value_type = Option<String>)]
    pub kind: Option<AccountKind>,
    /// Only accounts of this owner (a user id).
    #[param(value_type = Option<String>)]
    pub owner_id: Option<PublicId>,
    /// `false` (default): active accounts; `true`: archived; `all`: both.
    pub archived: Option<String>,
    /// Only accounts changed at or after this time (RFC 3339).
    pub updated_since: Option<String>,
    /// Search words: each must begin a word of the account's name, tax id or tags.
    pub q: Option<String>,
    /// `system:id`: the account holding this id in another system, e.g. `erp:C-1001`.
    pub external_id: Option<String>,
    /// The order: `name` or `currency` (`-` in front for descending); oldest first without it.
    pub sort: Option<String>,
    pub limit: Option<i64>,
    pub after: Option<String>,
    /// `csv` for a CSV export of this page (the columns `nave import accounts` reads;
    /// `credit_limit` only for roles that may see it).
    pub format: Option<String>,
}

/// Reads an RFC 3339 time from a query parameter.
pub fn parse_time(field: &str, s: Option<&str>) -> ApiResult<Option<time::OffsetDateTime>> {
    s.map(|s| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .map_err(|_| ApiError::invalid(field, "must be an RFC 3339 time, e.g. 2026-01-31T00:00:00Z"))
    })
    .transpose()
}

/// Reads `?archived=` of a list: `false` (default), `true` or `all` (`None`).
pub fn parse_archived(s: Option<&str>) -> ApiResult<Option<bool>> {
    match s {
        None | Some("false") => Ok(Some(false)),
        Some("true") => Ok(Some(true)),
        Some("all") => Ok(None),
        Some(_) => Err(ApiError::invalid("archived", "must be true, false or all")),
    }
}

/// Reads `?external_id=system:id`.
pub fn parse_external_id(s: Option<&str>) -> ApiResult<Option<ExternalId>> {
    s.map(|e| parse_pair(e).ok_or_else(|| ApiError::invalid("external_id", "must be system:id"))).transpose()
}

/// Is the list asked for as CSV (`?format=csv`) rather than JSON?
pub fn wants_csv(format: Option<&str>) -> ApiResult<bool> {
    match format {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(_) => Err(ApiError::invalid("format", "must be json or csv")),
    }
}

#[utoipa::path(get, path = "/accounts", tag = "accounts", params(AccountFilter),
    responses((status = 200, description = "A page of accounts the caller may see (JSON, or CSV with `format=csv` or `Accept: text/csv`)",
        body = inline(AccountList))))]
pub async fn list_accounts(
    State(app): State<AppState>,
    auth: ApiAuth,
    headers: axum::http::HeaderMap,
    Query(f): Query<AccountFilter>,
) -> ApiResult<Response> {
    let scope = auth.require(T, Action::Read)?;
    let paging = ListParams { limit: f.limit, after: f.after.clone() };
    let (sort, cursor, sorted_after) = paging.sorted(accounts::SORTS, f.sort.as_deref())?;
    let archived = parse_archived(f.archived.as_deref())?;
    let updated_since = parse_time("updated_since", f.updated_since.as_deref())?;
    let external_id = parse_external_id(f.external_id.as_deref())?;
    let csv = super::reports::wants_csv(f.format.as_deref(), &headers)?;
    let mut tx = app.db.read().await?;
    let owner_id = match f.owner_id {
        Some(o) => Some(nave_store::users::resolve(&mut tx, auth.0.tenant_id, o, "owner_id").await?),
        None => None,
    };
    let q = AccountQuery {
        visibility: Visibility::of(&auth.0, scope),
        kind: f.kind,
        owner_id,
        archived,
        updated_since,
        words: f.q.as_deref().map(nave_domain::search::query_words).unwrap_or_default(),
        external_id,
        cursor,
        sort,
        sorted_after,
        limit: paging.limit()?,
    };
    let page = accounts::list(&mut tx, auth.0.tenant_id, &q).await?;
    if csv {
        let names = crate::csv_export::Names::load(&mut tx, auth.0.tenant_id).await?;
        tx.commit().await?;
        return Ok(crate::csv_export::accounts(&auth.0, &page.items, &names)?.into_response());
    }
    tx.commit().await?;
    Ok(Json(present_page(&auth.0, T, &page.items, q.sort.next_of(&page))?).into_response())
}

/// Schema of an account page (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct AccountList {
    data: Vec<Account>,
    next: Option<String>,
}

/// A new account.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccountRequest {
    pub name: String,
    /// `customer`, `supplier`, `prospect`, `partner` (default: `customer`).
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub kinds: Option<Vec<AccountKind>>,
    #[schema(value_type = Option<String>)]
    pub parent_id: Option<PublicId>,
    /// Default: the caller.
    #[schema(value_type = Option<String>)]
    pub owner_id: Option<PublicId>,
    /// Default: the owner's team.
    #[schema(value_type = Option<String>)]
    pub team_id: Option<PublicId>,
    /// ISO 4217 code (default `USD`).
    #[schema(value_type = Option<String>, example = "EUR")]
    pub currency: Option<Currency>,
    /// Decimal string, e.g. `"5000.00"`. Needs `view_credit_limit`.
    pub credit_limit: Option<String>,
    pub tax_id: Option<String>,
    /// `standard` (default), `exempt` or `reverse_charge`.
    #[schema(value_type = Option<String>)]
    pub tax_treatment: Option<TaxTreatment>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub industry: Option<String>,
    /// A web address, e.g. `https://www.example.com`.
    pub website: Option<String>,
    pub phone: Option<String>,
    /// Payment terms the account's invoices get by default (active ones).
    #[schema(value_type = Option<String>)]
    pub payment_terms_id: Option<PublicId>,
    #[serde(default)]
    pub notes: String,
    /// Postal addresses; at most one default billing and one default shipping
    /// address (the first address stands in for a missing default).
    #[serde(default)]
    #[schema(value_type = Vec<nave_store::addresses::AccountAddressSchema>)]
    pub addresses: Vec<AccountAddress>,
    /// Ids in other systems: `[{"system": "erp", "id": "C-1001"}]`.
    #[serde(default)]
    #[schema(value_type = Vec<nave_store::external_ids::ExternalIdSchema>)]
    pub external_ids: Vec<ExternalId>,
    /// Create the account even when it looks like an existing one (otherwise
    /// a likely duplicate is answered with 409 `likely_duplicate` listing the candidates).
    #[serde(default)]
    pub allow_duplicate: bool,
}

/// Refuses a new account that looks like existing ones: `likely_duplicate`,
/// naming the candidates `p` may see (others are only counted).
pub async fn refuse_duplicates(tx: &mut nave_store::Tx, p: &Principal, new: &NewAccount) -> ApiResult<()> {
    let found = accounts::likely_duplicates(tx, p.tenant_id, &new.match_keys()).await?;
    if found.is_empty() {
        return Ok(());
    }
    let (seen, hidden): (Vec<_>, Vec<_>) = found.into_iter().partition(|c| p.may(T, Action::Read, c.ownership));
    let mut parts: Vec<String> = seen
        .iter()
        .map(|c| {
            let why: Vec<&str> = c.reasons.iter().map(|r| r.describe()).collect();
            format!("{} ({})", c.name, why.join(", "))
        })
        .collect();
    if !hidden.is_empty() {
        parts.push(format!("{} account(s) you may not see", hidden.len()));
    }
    let mut e = ApiError::new(
        ErrorCode::LikelyDuplicate,
        format!("{} looks like an account that exists: {}", new.name.trim(), parts.join("; ")),
    );
    e.candidates = seen
        .into_iter()
        .map(|c| DuplicateCandidate {
            id: c.id.to_string(),
            name: c.name,
            reasons: c.reasons.iter().map(|r| r.as_str().to_string()).collect(),
        })
        .collect();
    Err(e)
}

fn may_set_credit_limit(auth: &ApiAuth) -> ApiResult<()> {
    if auth.0.has(Capability::ViewCreditLimit) {
        Ok(())
    } else {
        Err(ApiError::invalid("credit_limit", "your role may not set this field"))
    }
}

#[utoipa::path(post, path = "/accounts", tag = "accounts", request_body = CreateAccountRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    responses((status = 201, body = Account),
        (status = 409, description = "`likely_duplicate`: the account looks like existing ones (`candidates`)", body = Problem),
        (status = 422, body = Problem)))]
pub async fn create_account(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<CreateAccountRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Create)?;
    if req.body.credit_limit.is_some() {
        may_set_credit_limit(&auth)?;
    }
    let mut w = begin_write!(app, auth, req);
    let acc = create_in(w.tx(), &auth, req.body).await?;
    let body = present(&auth.0, T, &acc)?;
    w.respond(StatusCode::CREATED, &body).await
}

/// Creates an account from a create body inside a write (the permission
/// to create was checked): what `POST /accounts` and the upsert by external
/// id share.
pub async fn create_in(tx: &mut nave_store::Tx, auth: &ApiAuth, b: CreateAccountRequest) -> ApiResult<Account> {
    if b.credit_limit.is_some() {
        may_set_credit_limit(auth)?;
    }
    let new = NewAccount {
        name: b.name,
        kinds: b.kinds.unwrap_or_else(|| vec![AccountKind::Customer]),
        parent_id: b.parent_id,
        owner_id: b.owner_id,
        team_id: b.team_id,
        currency: b.currency.unwrap_or_else(|| Currency::parse("USD").expect("USD is a currency")),
        credit_limit: b.credit_limit,
        tax_id: b.tax_id,
        tax_treatment: b.tax_treatment.unwrap_or(TaxTreatment::Standard),
        tags: b.tags,
        industry: b.industry,
        website: b.website,
        phone: b.phone,
        payment_terms_id: b.payment_terms_id,
        notes: b.notes,
        addresses: b.addresses,
        external_ids: b.external_ids,
        archived: false,
    };
    accounts::validate(&new)?;
    if !b.allow_duplicate {
        refuse_duplicates(tx, &auth.0, &new).await.map_err(|mut e| {
            e.detail.push_str(". Send \"allow_duplicate\": true to create it anyway.");
            e
        })?;
    }
    Ok(accounts::create(tx, &auth.actor(), new).await?)
}

#[utoipa::path(get, path = "/accounts/{id}", tag = "accounts", params(("id" = String, Path)),
    responses((status = 200, body = Account), (status = 404, body = Problem)))]
pub async fn get_account(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    auth.require(T, Action::Read)?;
    let id = super::parse_id("account", &id)?;
    let mut tx = app.db.autocommit().await?;
    let acc = accounts::get(&mut tx, auth.0.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("account"))?;
    tx.commit().await?;
    visible_or_404(&auth.0, T, Action::Read, acc.ownership)?;
    Ok(Json(present(&auth.0, T, &acc)?))
}

/// Changes to an account: absent fields stay, `null` clears.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAccountRequest {
    pub name: Option<String>,
    #[schema(value_type = Option<Vec<String>>)]
    pub kinds: Option<Vec<AccountKind>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub parent_id: Option<Option<PublicId>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub owner_id: Option<Option<PublicId>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub team_id: Option<Option<PublicId>>,
    #[schema(value_type = Option<String>)]
    pub currency: Option<Currency>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub credit_limit: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub tax_id: Option<Option<String>>,
    #[schema(value_type = Option<String>)]
    pub tax_treatment: Option<TaxTreatment>,
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub industry: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub website: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub payment_terms_id: Option<Option<PublicId>>,
    pub notes: Option<String>,
    /// Replaces the list.
    #[schema(value_type = Option<Vec<nave_store::addresses::AccountAddressSchema>>)]
    pub addresses: Option<Vec<AccountAddress>>,
    /// Replaces the list.
    #[schema(value_type = Option<Vec<nave_store::external_ids::ExternalIdSchema>>)]
    pub external_ids: Option<Vec<ExternalId>>,
    pub archived: Option<bool>,
}

/// Loads an account inside a write and checks `action` on it (404 when the
/// caller may not even read it, 403 when they may read but not act).
async fn load_for(w: &mut Writer, auth: &ApiAuth, id: &str, action: Action) -> ApiResult<Account> {
    let id = super::parse_id("account", id)?;
    let acc = accounts::get(w.tx(), auth.0.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("account"))?;
    may_act(&auth.0, T, action, acc.ownership)?;
    Ok(acc)
}

#[utoipa::path(patch, path = "/accounts/{id}", tag = "accounts", request_body = UpdateAccountRequest,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "Expected version")),
    responses((status = 200, body = Account), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn update_account(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<UpdateAccountRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Update)?;
    if req.body.credit_limit.is_some() {
        may_set_credit_limit(&auth)?;
    }
    let mut w = begin_write!(app, auth, req);
    let before = load_for(&mut w, &auth, &id, Action::Update).await?;
    let acc = update_in(w.tx(), &auth, &auth.actor(), &before, req.if_match, req.body).await?;
    let body = present(&auth.0, T, &acc)?;
    w.respond(StatusCode::OK, &body).await
}

/// Updates an account the caller may update (checked on `before`) inside a
/// write, as `actor`: what `PATCH /accounts/{id}`, the upsert by external id
/// and accepting a sync conflict share.
pub async fn update_in(
    tx: &mut nave_store::Tx,
    auth: &ApiAuth,
    actor: &nave_store::audit::Actor,
    before: &Account,
    if_match: Option<i64>,
    b: UpdateAccountRequest,
) -> ApiResult<Account> {
    may_act(&auth.0, T, Action::Update, before.ownership)?;
    if b.credit_limit.is_some() {
        may_set_credit_limit(auth)?;
    }
    let patch = AccountPatch {
        name: b.name,
        kinds: b.kinds,
        parent_id: b.parent_id,
        owner_id: b.owner_id,
        team_id: b.team_id,
        currency: b.currency,
        credit_limit: b.credit_limit,
        tax_id: b.tax_id,
        tax_treatment: b.tax_treatment,
        tags: b.tags,
        industry: b.industry,
        website: b.website,
        phone: b.phone,
        payment_terms_id: b.payment_terms_id,
        notes: b.notes,
        addresses: b.addresses,
        external_ids: b.external_ids,
        archived: b.archived,
    };
    Ok(accounts::update(tx, actor, before, if_match, patch).await?)
}

#[utoipa::path(delete, path = "/accounts/{id}", tag = "accounts",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "Expected version")),
    responses((status = 204), (status = 409, description = "Other records refer to the account (archive it instead)", body = Problem)))]
pub async fn delete_account(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    auth.require(T, Action::Delete)?;
    let mut w = begin_write!(app, auth, req);
    let before = load_for(&mut w, &auth, &id, Action::Delete).await?;
    accounts::delete(w.tx(), &auth.actor(), &before, req.if_match).await?;
    w.respond(StatusCode::NO_CONTENT, &()).await
}

/// The account named by a query parameter, when the caller may read it. An
/// account outside the caller's scope is reported exactly like an unknown one.
pub async fn readable_account(
    tx: &mut nave_store::Tx,
    auth: &ApiAuth,
    field: &str,
    id: Option<&str>,
) -> ApiResult<Option<Account>> {
    let Some(id) = id else { return Ok(None) };
    let id: PublicId = id.parse().map_err(|_| ApiError::invalid(field, "is not the id of an account"))?;
    account_for(tx, &auth.0, field, id).await.map(Some)
}

/// The key of the account an optional filter names, when `p` may read it
/// (see [`account_for`]).
pub async fn account_key(tx: &mut nave_store::Tx, p: &Principal, id: Option<PublicId>) -> ApiResult<Option<i64>> {
    match id {
        Some(a) => Ok(Some(account_for(tx, p, "account_id", a).await?.key)),
        None => Ok(None),
    }
}

/// The account `id` names, when `p` may read it; otherwise a validation
/// error on `field`, the same for an account outside the caller's scope as
/// for an unknown one.
pub async fn account_for(tx: &mut nave_store::Tx, p: &Principal, field: &str, id: PublicId) -> ApiResult<Account> {
    let unknown = || ApiError::invalid(field, "is not the id of an account");
    let acc = accounts::get(tx, p.tenant_id, id).await?.ok_or_else(unknown)?;
    if !p.may(T, Action::Read, acc.ownership) {
        return Err(unknown());
    }
    Ok(acc)
}

/// Which account a duplicate is merged into.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The surviving account; the one in the path disappears.
    #[schema(value_type = String)]
    pub into: PublicId,
}

#[utoipa::path(post, path = "/accounts/{id}/actions/merge", tag = "accounts", request_body = MergeRequest,
    description = "Merges the duplicate account in the path into `into`, in one transaction: its contacts \
        (non-primary when the survivor has a primary contact), activities, documents, opportunities, cases, \
        leads, child accounts, addresses (after the survivor's, without default flags), ids in other systems \
        (unless the survivor has one for that system), supplier links and price list move to the survivor, \
        then it is deleted. Needs update on the survivor and delete on the duplicate. The survivor's audit \
        entry names the merged account (`merged_from`).",
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    responses((status = 200, description = "The surviving account", body = Account),
        (status = 404, body = Problem),
        (status = 409, description = "The same account, an archived survivor, one hierarchy, or different currencies", body = Problem),
        (status = 422, body = Problem)))]
pub async fn merge_account(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<MergeRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Delete)?;
    auth.require(T, Action::Update)?;
    let mut w = begin_write!(app, auth, req);
    let loser = load_for(&mut w, &auth, &id, Action::Delete).await?;
    let survivor = account_for(w.tx(), &auth.0, "into", req.body.into).await?;
    may_act(&auth.0, T, Action::Update, survivor.ownership)?;
    let after = accounts::merge(w.tx(), &auth.actor(), &loser, &survivor).await?;
    let body = present(&auth.0, T, &after)?;
    w.respond(StatusCode::OK, &body).await
}
