//! `/api/v1/cases`, their workflow actions, and `/api/v1/accounts/{id}/cases`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use nave_domain::access::{Action, RecordType};
use nave_domain::case::{CaseAction, CaseKind, CasePriority, CaseStatus};
use nave_domain::error::ErrorCode;
use nave_domain::ids::PublicId;
use nave_store::accounts::Visibility;
use nave_store::cases::{self, Case, CasePatch, CaseQuery, DocumentRef, NewCase};
use nave_store::db::now;
use serde::Deserialize;

use super::accounts::{account_for, account_key};
use super::pipeline::readable_account_path;
use super::{double_option, parse_id, user_key};
use crate::begin_write;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiAuth, ApiWrite, ListParams, NoBody, Query};
use crate::present::{ListResponse, may_act, present, present_page, visible_or_404};
use crate::state::AppState;
use crate::write::Writer;

const T: RecordType = RecordType::Case;

/// Filters of the case lists.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CaseFilter {
    /// Only this account's cases (not on `/accounts/{id}/cases`).
    #[param(value_type = Option<String>)]
    pub account_id: Option<PublicId>,
    /// `new`, `open`, `waiting`, `resolved` or `closed`.
    #[param(value_type = Option<String>)]
    pub status: Option<CaseStatus>,
    /// `low`, `normal`, `high` or `urgent`.
    #[param(value_type = Option<String>)]
    pub priority: Option<CasePriority>,
    /// `question`, `problem` or `complaint`.
    #[param(value_type = Option<String>)]
    pub kind: Option<CaseKind>,
    #[param(value_type = Option<String>)]
    pub assignee_id: Option<PublicId>,
    /// The order: `subject`, `account`, `priority` or `created` (`-` in front for descending); newest first without it.
    pub sort: Option<String>,
    pub limit: Option<i64>,
    pub after: Option<String>,
}

async fn list_page(
    app: &AppState,
    auth: &ApiAuth,
    f: CaseFilter,
    account: Option<PublicId>,
) -> ApiResult<Json<ListResponse>> {
    let scope = auth.require(T, Action::Read)?;
    let paging = ListParams { limit: f.limit, after: f.after.clone() };
    let (sort, cursor, sorted_after) = paging.sorted(cases::SORTS, f.sort.as_deref())?;
    let t = auth.0.tenant_id;
    let mut tx = app.db.read().await?;
    let account_key = account_key(&mut tx, &auth.0, account.or(f.account_id)).await?;
    let assignee_key = user_key(&mut tx, t, f.assignee_id, "assignee_id").await?;
    let q = CaseQuery {
        words: vec![],
        visibility: Visibility::of(&auth.0, scope),
        account_key,
        status: f.status,
        priority: f.priority,
        kind: f.kind,
        assignee_key,
        open_only: false,
        cursor,
        sort,
        sorted_after,
        limit: paging.limit()?,
    };
    let page = cases::list(&mut tx, t, &q).await?;
    tx.commit().await?;
    Ok(Json(present_page(&auth.0, T, &page.items, q.sort.next_of(&page))?))
}

#[utoipa::path(get, path = "/cases", tag = "cases", params(CaseFilter),
    responses((status = 200, description = "A page of the cases the caller may see, newest first", body = inline(CaseList))))]
pub async fn list_cases(
    State(app): State<AppState>,
    auth: ApiAuth,
    Query(f): Query<CaseFilter>,
) -> ApiResult<Json<ListResponse>> {
    list_page(&app, &auth, f, None).await
}

#[utoipa::path(get, path = "/accounts/{id}/cases", tag = "cases", params(("id" = String, Path), CaseFilter),
    responses((status = 200, description = "A page of the account's cases the caller may see", body = inline(CaseList)),
        (status = 404, body = Problem)))]
pub async fn list_account_cases(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    Query(f): Query<CaseFilter>,
) -> ApiResult<Json<ListResponse>> {
    let account = readable_account_path(&app, &auth, &id, f.account_id).await?;
    list_page(&app, &auth, f, Some(account)).await
}

/// Schema of a case page (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct CaseList {
    data: Vec<Case>,
    next: Option<String>,
}

/// A case's fields. On create, `account_id` and `subject` are required; on
/// update, absent fields stay and `null` clears the optional ones. The status
/// changes only through the actions.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseRequest {
    #[schema(value_type = Option<String>)]
    pub account_id: Option<PublicId>,
    pub subject: Option<String>,
    pub description: Option<String>,
    /// `question` (default), `problem` or `complaint`.
    #[schema(value_type = Option<String>)]
    pub kind: Option<CaseKind>,
    /// `low`, `normal` (default), `high` or `urgent`.
    #[schema(value_type = Option<String>)]
    pub priority: Option<CasePriority>,
    /// Default on create: the caller (`null`: nobody, a queue). A later change to someone may be the first response.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub assignee_id: Option<Option<PublicId>>,
    /// Default: the assignee's team (also when the assignee changes).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub team_id: Option<Option<PublicId>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub product_id: Option<Option<PublicId>>,
    /// A related document: `{"type": "invoice", "id": "INV-2026-00042"}`.
    #[serde(default, deserialize_with = "double_option")]
    pub document: Option<Option<DocumentRef>>,
    /// How the case was solved (required by the resolve action if not set before).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub resolution: Option<Option<String>>,
    /// 1 to 5; only once the case is resolved or closed.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub satisfaction: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub satisfaction_comment: Option<Option<String>>,
}

#[utoipa::path(post, path = "/cases", tag = "cases", request_body = CaseRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    responses((status = 201, body = Case), (status = 422, body = Problem)))]
pub async fn create_case(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<CaseRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Create)?;
    let b = &req.body;
    let account_id = b.account_id.ok_or_else(|| ApiError::invalid("account_id", "is required"))?;
    let subject = b.subject.clone().ok_or_else(|| ApiError::invalid("subject", "is required"))?;
    for (given, field) in
        [(b.satisfaction.is_some(), "satisfaction"), (b.satisfaction_comment.is_some(), "satisfaction_comment")]
    {
        if given {
            return Err(ApiError::invalid(field, "can be given only once the case is resolved or closed; it is new"));
        }
    }
    let mut w = begin_write!(app, auth, req);
    account_for(w.tx(), &auth.0, "account_id", account_id).await?;
    let b = req.body;
    let new = NewCase {
        account_id,
        subject,
        description: b.description.unwrap_or_default(),
        kind: b.kind.unwrap_or(CaseKind::Question),
        priority: b.priority.unwrap_or(CasePriority::Normal),
        assignee_id: b.assignee_id,
        team_id: b.team_id.flatten(),
        product_id: b.product_id.flatten(),
        document: b.document.flatten(),
        resolution: b.resolution.flatten(),
    };
    let case = cases::create(w.tx(), &auth.actor(), new, now()).await?;
    let body = present(&auth.0, T, &case)?;
    w.respond(StatusCode::CREATED, &body).await
}

#[utoipa::path(get, path = "/cases/{id}", tag = "cases", params(("id" = String, Path)),
    responses((status = 200, body = Case), (status = 404, body = Problem)))]
pub async fn get_case(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    auth.require(T, Action::Read)?;
    let mut tx = app.db.autocommit().await?;
    let case = cases::get(&mut tx, auth.0.tenant_id, parse_id("case", &id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("case"))?;
    visible_or_404(&auth.0, T, Action::Read, case.ownership)?;
    Ok(Json(present(&auth.0, T, &case)?))
}

async fn load_for(w: &mut Writer, auth: &ApiAuth, id: &str, action: Action) -> ApiResult<Case> {
    let case = cases::get(w.tx(), auth.0.tenant_id, parse_id("case", id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("case"))?;
    may_act(&auth.0, T, action, case.ownership)?;
    Ok(case)
}

#[utoipa::path(patch, path = "/cases/{id}", tag = "cases", request_body = CaseRequest,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "Expected version")),
    responses((status = 200, body = Case), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn update_case(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<CaseRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Update)?;
    let mut w = begin_write!(app, auth, req);
    let before = load_for(&mut w, &auth, &id, Action::Update).await?;
    if let Some(a) = req.body.account_id.filter(|a| *a != before.account_id) {
        account_for(w.tx(), &auth.0, "account_id", a).await?;
    }
    let b = req.body;
    let patch = CasePatch {
        account_id: b.account_id,
        subject: b.subject,
        description: b.description,
        kind: b.kind,
        priority: b.priority,
        assignee_id: b.assignee_id,
        team_id: b.team_id,
        product_id: b.product_id,
        document: b.document,
        resolution: b.resolution,
        satisfaction: b.satisfaction,
        satisfaction_comment: b.satisfaction_comment,
    };
    let case = cases::update(w.tx(), &auth.actor(), &before, req.if_match, patch, now()).await?;
    let body = present(&auth.0, T, &case)?;
    w.respond(StatusCode::OK, &body).await
}

/// The input of a workflow action.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseActionRequest {
    /// `resolve` only: how the case was solved (required unless the case has a resolution).
    pub resolution: Option<String>,
}

/// The action named in a path; an unknown one is not found.
pub fn parse_action(s: &str) -> ApiResult<CaseAction> {
    s.parse().map_err(|_| {
        let all: Vec<_> = CaseAction::ALL.iter().map(|a| a.as_str()).collect();
        ApiError::new(ErrorCode::NotFound, format!("there is no case action {s}; the actions are {}", all.join(", ")))
    })
}

#[utoipa::path(post, path = "/cases/{id}/actions/{action}", tag = "cases", request_body = CaseActionRequest,
    params(("id" = String, Path), ("action" = String, Path, description = "`open`, `wait`, `resolve`, `close` or `reopen`"),
        ("If-Match" = Option<String>, Header, description = "Expected version")),
    responses((status = 200, body = Case),
        (status = 409, description = "Not allowed from the case's status (`invalid_transition`; the detail lists the allowed actions)", body = Problem),
        (status = 422, body = Problem)))]
pub async fn act_on_case(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path((id, action)): Path<(String, String)>,
    req: ApiWrite<CaseActionRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Update)?;
    let action = parse_action(&action)?;
    let mut w = begin_write!(app, auth, req);
    let before = load_for(&mut w, &auth, &id, Action::Update).await?;
    let resolution = req.body.resolution;
    let case = cases::act(w.tx(), &auth.actor(), &before, req.if_match, action, resolution, now()).await?;
    let body = present(&auth.0, T, &case)?;
    w.respond(StatusCode::OK, &body).await
}

#[utoipa::path(delete, path = "/cases/{id}", tag = "cases",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "Expected version")),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_case(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    auth.require(T, Action::Delete)?;
    let mut w = begin_write!(app, auth, req);
    let before = load_for(&mut w, &auth, &id, Action::Delete).await?;
    cases::delete(w.tx(), &auth.actor(), &before, req.if_match).await?;
    w.respond(StatusCode::NO_CONTENT, &()).await
}
