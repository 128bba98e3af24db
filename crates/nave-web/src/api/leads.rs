//! `/api/v1/leads` and `POST /api/v1/leads/{id}/actions/convert`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use nave_domain::access::{Action, Principal, RecordType};
use nave_domain::ids::PublicId;
use nave_domain::money::Currency;
use nave_domain::search::query_words;
use nave_store::Tx;
use nave_store::accounts::Visibility;
use nave_store::leads::{self, Conversion, Lead, LeadInput, LeadQuery, LeadStatus, NewDeal};
use nave_store::page::Sort;
use serde::Deserialize;

use super::parse_id;
use crate::begin_write;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiAuth, ApiWrite, ListParams, NoBody, Query};
use crate::present::{ListResponse, present, present_page};
use crate::state::AppState;

const T: RecordType = RecordType::Lead;

/// Filters of the lead list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LeadFilter {
    /// `new`, `working`, `qualified`, `unqualified` or `converted`.
    pub status: Option<String>,
    /// `me` for the caller's own leads.
    pub owner: Option<String>,
    /// Search words (company, names, email, phone).
    pub q: Option<String>,
    /// The order: `company`, `name`, `status` or `created` (`-` in front for
    /// descending); newest first without it.
    pub sort: Option<String>,
    pub limit: Option<i64>,
    pub after: Option<String>,
}

fn parse_status(field: &str, s: &str) -> ApiResult<LeadStatus> {
    LeadStatus::parse(s)
        .ok_or_else(|| ApiError::invalid(field, "must be new, working, qualified, unqualified or converted"))
}

/// The leads `p` may see, with the filter, in its order.
pub async fn list_for(
    tx: &mut Tx,
    p: &Principal,
    f: &LeadFilter,
) -> ApiResult<(nave_store::page::Page<Lead>, Sort<Lead>)> {
    let q = query_for(p, f)?;
    Ok((leads::list(tx, p.tenant_id, &q).await?, q.sort))
}

/// The store query of the filter `f`, for the leads `p` may see.
pub fn query_for(p: &Principal, f: &LeadFilter) -> ApiResult<LeadQuery> {
    let scope = p.scope_for(T, Action::Read).ok_or_else(|| ApiError::forbidden("your role may not read leads"))?;
    let paging = ListParams { limit: f.limit, after: f.after.clone() };
    let (sort, cursor, sorted_after) = paging.sorted(leads::SORTS, f.sort.as_deref())?;
    Ok(LeadQuery {
        visibility: Visibility::of(p, scope),
        status: f.status.as_deref().map(|s| parse_status("status", s)).transpose()?,
        owner_key: match f.owner.as_deref() {
            None => None,
            Some("me") => Some(p.user_id),
            Some(_) => return Err(ApiError::invalid("owner", "must be me")),
        },
        words: f.q.as_deref().map(query_words).unwrap_or_default(),
        cursor,
        sort,
        sorted_after,
        limit: paging.limit()?,
    })
}

#[utoipa::path(get, path = "/leads", tag = "leads", params(LeadFilter),
    responses((status = 200, description = "Leads the caller may see, newest first", body = inline(LeadList))))]
pub async fn list_leads(
    State(app): State<AppState>,
    auth: ApiAuth,
    Query(f): Query<LeadFilter>,
) -> ApiResult<Json<ListResponse>> {
    let mut tx = app.db.read().await?;
    let (page, sort) = list_for(&mut tx, &auth.0, &f).await?;
    tx.commit().await?;
    Ok(Json(present_page(&auth.0, T, &page.items, sort.next_of(&page))?))
}

/// Schema of a page of leads (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct LeadList {
    data: Vec<Lead>,
    next: Option<String>,
}

/// A lead's fields; on update, absent fields stay.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadRequest {
    pub company: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub title: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub source: Option<String>,
    /// `new` (default), `working`, `qualified` or `unqualified`.
    pub status: Option<String>,
    pub notes: Option<String>,
    /// Decimal string in `currency`.
    pub estimated_amount: Option<String>,
    #[schema(value_type = Option<String>)]
    pub currency: Option<Currency>,
    #[schema(value_type = Option<String>)]
    pub owner_id: Option<PublicId>,
    #[schema(value_type = Option<String>)]
    pub team_id: Option<PublicId>,
}

impl LeadRequest {
    /// The store's input: this request over `before` (or the defaults of a new lead).
    pub fn input_for(&self, before: Option<&Lead>, company_currency: Currency) -> ApiResult<LeadInput> {
        let keep =
            |new: &Option<String>, old: Option<&String>| new.clone().or_else(|| old.cloned()).unwrap_or_default();
        let keep_opt = |new: &Option<String>, old: Option<Option<String>>| new.clone().or(old.flatten());
        Ok(LeadInput {
            company: keep(&self.company, before.map(|b| &b.company)),
            first_name: keep(&self.first_name, before.map(|b| &b.first_name)),
            last_name: keep(&self.last_name, before.map(|b| &b.last_name)),
            title: keep(&self.title, before.map(|b| &b.title)),
            email: keep_opt(&self.email, before.map(|b| b.email.clone())),
            phone: keep_opt(&self.phone, before.map(|b| b.phone.clone())),
            website: keep_opt(&self.website, before.map(|b| b.website.clone())),
            source: keep(&self.source, before.map(|b| &b.source)),
            status: match &self.status {
                Some(s) => parse_status("status", s)?,
                None => before.map_or(LeadStatus::New, |b| b.status),
            },
            notes: keep(&self.notes, before.map(|b| &b.notes)),
            estimated_amount: keep_opt(&self.estimated_amount, before.map(|b| b.estimated_amount.clone())),
            currency: self.currency.or(before.map(|b| b.currency)).unwrap_or(company_currency),
            owner_id: self.owner_id,
            team_id: self.team_id.or(before.and_then(|b| b.team_id)),
        })
    }
}

#[utoipa::path(post, path = "/leads", tag = "leads", request_body = LeadRequest,
    responses((status = 201, body = Lead), (status = 422, body = Problem)))]
pub async fn create_lead(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<LeadRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Create)?;
    let mut w = begin_write!(app, auth, req);
    let company = nave_store::tenants::currency(w.tx(), auth.0.tenant_id).await?;
    let input = req.body.input_for(None, company)?;
    let l = leads::create(w.tx(), &auth.actor(), input).await?;
    let body = present(&auth.0, T, &l)?;
    w.respond(StatusCode::CREATED, &body).await
}

/// A lead `p` may do `action` on, or not found.
pub async fn lead_for(tx: &mut Tx, p: &Principal, id: &str, action: Action) -> ApiResult<Lead> {
    let l = leads::get(tx, p.tenant_id, parse_id("lead", id)?).await?.ok_or_else(|| ApiError::not_found("lead"))?;
    if !p.may(T, Action::Read, l.ownership) {
        return Err(ApiError::not_found("lead"));
    }
    if action != Action::Read && !p.may(T, action, l.ownership) {
        return Err(ApiError::forbidden(format!("your role may not {action} this lead")));
    }
    Ok(l)
}

#[utoipa::path(get, path = "/leads/{id}", tag = "leads", params(("id" = String, Path)),
    responses((status = 200, body = Lead), (status = 404, body = Problem)))]
pub async fn get_lead(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let mut tx = app.db.read().await?;
    let l = lead_for(&mut tx, &auth.0, &id, Action::Read).await?;
    tx.commit().await?;
    Ok(Json(present(&auth.0, T, &l)?))
}

#[utoipa::path(patch, path = "/leads/{id}", tag = "leads", request_body = LeadRequest,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = Lead), (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn update_lead(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<LeadRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Update)?;
    let mut w = begin_write!(app, auth, req);
    let before = lead_for(w.tx(), &auth.0, &id, Action::Update).await?;
    let company = nave_store::tenants::currency(w.tx(), auth.0.tenant_id).await?;
    let input = req.body.input_for(Some(&before), company)?;
    let after = leads::update(w.tx(), &auth.actor(), &before, req.if_match, input).await?;
    let body = present(&auth.0, T, &after)?;
    w.respond(StatusCode::OK, &body).await
}

#[utoipa::path(delete, path = "/leads/{id}", tag = "leads", params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204), (status = 409, body = Problem)))]
pub async fn delete_lead(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    auth.require(T, Action::Delete)?;
    let mut w = begin_write!(app, auth, req);
    let before = lead_for(w.tx(), &auth.0, &id, Action::Delete).await?;
    leads::delete(w.tx(), &auth.actor(), &before, req.if_match).await?;
    w.respond(StatusCode::NO_CONTENT, &()).await
}

/// What the conversion makes. Without `account_id` an account is created from
/// the lead's company; with `opportunity`, an opportunity too.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertRequest {
    /// Link this existing account instead of creating one.
    #[schema(value_type = Option<String>)]
    pub account_id: Option<PublicId>,
    pub opportunity: Option<DealRequest>,
}

/// The opportunity to create with the conversion.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DealRequest {
    pub name: Option<String>,
    /// Decimal string; default: the lead's estimate.
    pub amount: Option<String>,
    /// `YYYY-MM-DD`.
    pub expected_close: String,
    #[schema(value_type = Option<String>)]
    pub stage_id: Option<PublicId>,
}

/// Converts a lead for `p` (shared by the API and the lead page).
pub async fn convert_for(
    tx: &mut Tx,
    p: &Principal,
    id: &str,
    if_match: Option<i64>,
    req: &ConvertRequest,
) -> ApiResult<Lead> {
    let before = lead_for(tx, p, id, Action::Update).await?;
    for (rt, what) in [(RecordType::Account, "accounts"), (RecordType::Contact, "contacts")] {
        if p.scope_for(rt, Action::Create).is_none() {
            return Err(ApiError::forbidden(format!("converting a lead creates {what}, which your role may not")));
        }
    }
    if req.opportunity.is_some() && p.scope_for(RecordType::Opportunity, Action::Create).is_none() {
        return Err(ApiError::forbidden("your role may not create opportunities"));
    }
    if let Some(a) = req.account_id {
        crate::api::accounts::readable_account(
            tx,
            &crate::extract::ApiAuth(p.clone()),
            "account_id",
            Some(&a.to_string()),
        )
        .await?;
    }
    let opportunity = match &req.opportunity {
        Some(d) => Some(NewDeal {
            name: d.name.clone(),
            amount: d.amount.clone(),
            expected_close: super::payment_terms::parse_date("opportunity.expected_close", &d.expected_close)?,
            stage_id: d.stage_id,
        }),
        None => None,
    };
    let actor = crate::extract::actor_of(p);
    Ok(leads::convert(tx, &actor, &before, if_match, Conversion { account_id: req.account_id, opportunity }).await?)
}

#[utoipa::path(post, path = "/leads/{id}/actions/convert", tag = "leads", request_body = ConvertRequest,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, description = "The converted lead, with the ids of what it became", body = Lead),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn convert_lead(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<ConvertRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Update)?;
    let mut w = begin_write!(app, auth, req);
    let after = convert_for(w.tx(), &auth.0, &id, req.if_match, &req.body).await?;
    let body = present(&auth.0, T, &after)?;
    w.respond(StatusCode::OK, &body).await
}
