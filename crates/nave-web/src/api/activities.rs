//! `/api/v1/activities` and `GET /api/v1/accounts/{id}/timeline`: calls,
//! meetings, emails, tasks, notes and web chats. Who may see or log an
//! activity follows the account (or lead) it hangs from.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use nave_domain::access::{Action, Principal, RecordType};
use nave_domain::activity::{ActivityKind, Details, Direction};
use nave_domain::ids::PublicId;
use nave_store::Tx;
use nave_store::accounts::{self, Visibility};
use nave_store::activities::{self, Activity, ActivityInput, ActivityQuery, Links};
use nave_store::leads;
use serde::Deserialize;
use time::OffsetDateTime;

use super::{double_option, parse_id};
use crate::begin_write;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiAuth, ApiWrite, ListParams, NoBody, Query};
use crate::present::{ListResponse, present, present_page};
use crate::state::AppState;

const T: RecordType = RecordType::Activity;

/// The key of a record an activity links to, found by its id within the
/// activity's account; `table` is one of the record tables with `account_id`.
async fn linked_key(
    tx: &mut Tx,
    tenant_id: i64,
    table: &'static str,
    field: &str,
    id: Option<PublicId>,
    account: Option<i64>,
) -> ApiResult<Option<i64>> {
    let Some(id) = id else { return Ok(None) };
    let row = tx
        .fetch_optional(
            format!("SELECT id, account_id FROM {table} WHERE tenant_id = $1 AND public_id = $2"),
            nave_store::args![tenant_id, id],
            |r| Ok((r.i64("id")?, r.i64("account_id")?)),
        )
        .await?;
    match row {
        None => Err(ApiError::invalid(field, format!("is not the id of a record in {table}"))),
        Some((_, acc)) if Some(acc) != account => {
            Err(ApiError::invalid(field, "belongs to another account than the activity"))
        }
        Some((key, _)) => Ok(Some(key)),
    }
}

/// The ids an activity links to, as given.
#[derive(Debug, Default, Clone, Copy)]
pub struct LinkIds {
    pub account_id: Option<PublicId>,
    pub lead_id: Option<PublicId>,
    pub contact_id: Option<PublicId>,
    pub opportunity_id: Option<PublicId>,
    pub case_id: Option<PublicId>,
}

/// Resolves and checks an activity's links for `p`: the account or lead must be
/// one `p` may see (and change, for writes); contacts, opportunities and cases
/// must belong to the same account.
pub async fn resolve_links(tx: &mut Tx, p: &Principal, ids: LinkIds) -> ApiResult<Links> {
    let t = p.tenant_id;
    let account = match ids.account_id {
        Some(id) => {
            let a = accounts::get(tx, t, id).await?;
            match a {
                Some(a) if p.may(RecordType::Account, Action::Read, a.ownership) => Some(a.key),
                _ => return Err(ApiError::invalid("account_id", "is not the id of an account you may see")),
            }
        }
        None => None,
    };
    let lead = match ids.lead_id {
        Some(id) => match leads::get(tx, t, id).await? {
            Some(l) if p.may(RecordType::Lead, Action::Read, l.ownership) => Some(l.key),
            _ => return Err(ApiError::invalid("lead_id", "is not the id of a lead you may see")),
        },
        None => None,
    };
    Ok(Links {
        account,
        lead,
        contact: linked_key(tx, t, "contacts", "contact_id", ids.contact_id, account).await?,
        opportunity: linked_key(tx, t, "opportunities", "opportunity_id", ids.opportunity_id, account).await?,
        case: linked_key(tx, t, "cases", "case_id", ids.case_id, account).await?,
    })
}

/// Filters of the activity list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ActivityFilter {
    #[param(value_type = Option<String>)]
    pub account_id: Option<PublicId>,
    #[param(value_type = Option<String>)]
    pub lead_id: Option<PublicId>,
    #[param(value_type = Option<String>)]
    pub contact_id: Option<PublicId>,
    #[param(value_type = Option<String>)]
    pub opportunity_id: Option<PublicId>,
    #[param(value_type = Option<String>)]
    pub case_id: Option<PublicId>,
    /// Kinds, comma-separated: `call,meeting,email,task,note,chat`.
    pub kind: Option<String>,
    /// `me` for the caller's own activities.
    pub owner: Option<String>,
    /// Tasks only: `false` open, `true` done.
    pub done: Option<bool>,
    pub limit: Option<i64>,
    pub after: Option<String>,
}

fn parse_kinds(s: Option<&str>) -> ApiResult<Vec<ActivityKind>> {
    let Some(s) = s else { return Ok(vec![]) };
    s.split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| {
            ActivityKind::parse(k).ok_or_else(|| {
                ApiError::invalid("kind", "must list kinds among call, meeting, email, task, note, chat")
            })
        })
        .collect()
}

/// Lists activities for `p` with the filter, newest first.
pub async fn list_for(tx: &mut Tx, p: &Principal, f: &ActivityFilter) -> ApiResult<nave_store::page::Page<Activity>> {
    let account_scope = p.scope_for(RecordType::Account, Action::Read);
    let scope = p
        .scope_for(T, Action::Read)
        .and(account_scope)
        .ok_or_else(|| ApiError::forbidden("your role may not read activities"))?;
    let ids =
        LinkIds { account_id: f.account_id, lead_id: f.lead_id, contact_id: None, opportunity_id: None, case_id: None };
    let links = resolve_links(tx, p, ids).await?;
    let key_of = |table: &'static str| format!("SELECT id AS v FROM {table} WHERE tenant_id = $1 AND public_id = $2");
    let mut keys = [None, None, None];
    for (i, (table, id)) in
        [("contacts", f.contact_id), ("opportunities", f.opportunity_id), ("cases", f.case_id)].into_iter().enumerate()
    {
        if let Some(id) = id {
            keys[i] = Some(
                tx.fetch_optional(key_of(table), nave_store::args![p.tenant_id, id], |r| r.i64("v"))
                    .await?
                    .unwrap_or(-1),
            );
        }
    }
    let paging = ListParams { limit: f.limit, after: f.after.clone() };
    let q = ActivityQuery {
        visibility: Visibility::of(p, scope),
        account_key: links.account,
        lead_key: links.lead,
        contact_key: keys[0],
        opportunity_key: keys[1],
        case_key: keys[2],
        kinds: parse_kinds(f.kind.as_deref())?,
        owner_key: match f.owner.as_deref() {
            None => None,
            Some("me") => Some(p.user_id),
            Some(_) => return Err(ApiError::invalid("owner", "must be me")),
        },
        done: f.done,
        cursor: paging.cursor()?,
        limit: paging.limit()?,
    };
    Ok(activities::list(tx, p.tenant_id, &q).await?)
}

#[utoipa::path(get, path = "/activities", tag = "activities", params(ActivityFilter),
    responses((status = 200, description = "Activities the caller may see, newest first", body = inline(ActivityList))))]
pub async fn list_activities(
    State(app): State<AppState>,
    auth: ApiAuth,
    Query(f): Query<ActivityFilter>,
) -> ApiResult<Json<ListResponse>> {
    let mut tx = app.db.read().await?;
    let page = list_for(&mut tx, &auth.0, &f).await?;
    tx.commit().await?;
    Ok(Json(present_page(&auth.0, T, &page.items, page.next.map(|c| c.encode()))?))
}

/// Filters of an account's timeline.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TimelineFilter {
    /// Kinds, comma-separated: `call,meeting,email,task,note,chat`.
    pub kind: Option<String>,
    pub limit: Option<i64>,
    pub after: Option<String>,
}

#[utoipa::path(get, path = "/accounts/{id}/timeline", tag = "activities", params(("id" = String, Path), TimelineFilter),
    responses((status = 200, description = "The account's activities, newest first", body = inline(ActivityList)),
        (status = 404, body = Problem)))]
pub async fn account_timeline(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    Query(f): Query<TimelineFilter>,
) -> ApiResult<Json<ListResponse>> {
    let id = parse_id("account", &id)?;
    let mut tx = app.db.read().await?;
    let a = accounts::get(&mut tx, auth.0.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("account"))?;
    if !auth.0.may(RecordType::Account, Action::Read, a.ownership) {
        return Err(ApiError::not_found("account"));
    }
    let filter =
        ActivityFilter { account_id: Some(id), kind: f.kind, limit: f.limit, after: f.after, ..Default::default() };
    let page = list_for(&mut tx, &auth.0, &filter).await?;
    tx.commit().await?;
    Ok(Json(present_page(&auth.0, T, &page.items, page.next.map(|c| c.encode()))?))
}

/// Schema of a page of activities (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ActivityList {
    data: Vec<Activity>,
    next: Option<String>,
}

/// An activity's fields. On create, `kind` and `account_id` (or `lead_id`)
/// are required; on update, absent fields stay and `null` clears.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityRequest {
    /// `call`, `meeting`, `email`, `task`, `note` or `chat`.
    #[schema(value_type = Option<String>)]
    pub kind: Option<ActivityKind>,
    #[schema(value_type = Option<String>)]
    pub account_id: Option<PublicId>,
    #[schema(value_type = Option<String>)]
    pub lead_id: Option<PublicId>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub contact_id: Option<Option<PublicId>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub opportunity_id: Option<Option<PublicId>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub case_id: Option<Option<PublicId>>,
    #[serde(default, deserialize_with = "double_option")]
    pub document_ref: Option<Option<String>>,
    pub subject: Option<String>,
    pub body: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub occurred_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends_at: Option<OffsetDateTime>,
    #[schema(value_type = Option<String>)]
    pub direction: Option<Direction>,
    pub duration_seconds: Option<i64>,
    pub outcome: Option<String>,
    pub attendees: Option<Vec<String>>,
    pub email_from: Option<String>,
    pub email_to: Option<Vec<String>>,
    /// `YYYY-MM-DD` (tasks).
    #[serde(default, deserialize_with = "double_option")]
    pub due_date: Option<Option<String>>,
    pub done: Option<bool>,
    #[schema(value_type = Option<String>)]
    pub owner_id: Option<PublicId>,
}

fn due(s: &Option<Option<String>>, keep: Option<time::Date>) -> ApiResult<Option<time::Date>> {
    match s {
        None => Ok(keep),
        Some(None) => Ok(None),
        Some(Some(d)) => Ok(Some(super::payment_terms::parse_date("due_date", d)?)),
    }
}

/// May `p` log or change activities on what `links` point at?
fn may_write(p: &Principal, action: Action) -> ApiResult<()> {
    p.scope_for(T, action)
        .map(|_| ())
        .ok_or_else(|| ApiError::forbidden(format!("your role may not {action} activities")))
}

#[utoipa::path(post, path = "/activities", tag = "activities", request_body = ActivityRequest,
    responses((status = 201, body = Activity), (status = 422, body = Problem)))]
pub async fn create_activity(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<ActivityRequest>,
) -> ApiResult<Response> {
    may_write(&auth.0, Action::Create)?;
    let b = &req.body;
    let kind = b.kind.ok_or_else(|| ApiError::invalid("kind", "is required"))?;
    let mut w = begin_write!(app, auth, req);
    let ids = LinkIds {
        account_id: b.account_id,
        lead_id: b.lead_id,
        contact_id: b.contact_id.flatten(),
        opportunity_id: b.opportunity_id.flatten(),
        case_id: b.case_id.flatten(),
    };
    let links = resolve_links(w.tx(), &auth.0, ids).await?;
    let input = ActivityInput {
        kind,
        links,
        document_ref: b.document_ref.clone().flatten(),
        details: Details {
            subject: b.subject.clone().unwrap_or_default(),
            body: b.body.clone().unwrap_or_default(),
            occurred_at: b.occurred_at,
            ends_at: b.ends_at,
            direction: b.direction,
            duration_seconds: b.duration_seconds,
            outcome: b.outcome.clone(),
            attendees: b.attendees.clone().unwrap_or_default(),
            email_from: b.email_from.clone(),
            email_to: b.email_to.clone().unwrap_or_default(),
            due_date: due(&b.due_date, None)?,
            done: b.done.unwrap_or(false),
        },
        owner_id: b.owner_id,
    };
    let a = activities::create(w.tx(), &auth.actor(), input).await?;
    let body = present(&auth.0, T, &a)?;
    w.respond(StatusCode::CREATED, &body).await
}

/// An activity `p` may see, or not found.
pub async fn visible(tx: &mut Tx, p: &Principal, id: &str) -> ApiResult<Activity> {
    let a = activities::get(tx, p.tenant_id, parse_id("activity", id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("activity"))?;
    let ids = LinkIds { account_id: a.account_id, lead_id: a.lead_id, ..Default::default() };
    p.scope_for(T, Action::Read).ok_or_else(|| ApiError::not_found("activity"))?;
    resolve_links(tx, p, ids).await.map_err(|_| ApiError::not_found("activity"))?;
    Ok(a)
}

#[utoipa::path(get, path = "/activities/{id}", tag = "activities", params(("id" = String, Path)),
    responses((status = 200, body = Activity), (status = 404, body = Problem)))]
pub async fn get_activity(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let mut tx = app.db.read().await?;
    let a = visible(&mut tx, &auth.0, &id).await?;
    tx.commit().await?;
    Ok(Json(present(&auth.0, T, &a)?))
}

#[utoipa::path(patch, path = "/activities/{id}", tag = "activities", request_body = ActivityRequest,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = Activity), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn update_activity(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<ActivityRequest>,
) -> ApiResult<Response> {
    may_write(&auth.0, Action::Update)?;
    let mut w = begin_write!(app, auth, req);
    let before = visible(w.tx(), &auth.0, &id).await?;
    let b = &req.body;
    let ids = LinkIds {
        account_id: b.account_id.or(before.account_id),
        lead_id: b.lead_id.or(before.lead_id),
        contact_id: b.contact_id.unwrap_or(before.contact_id),
        opportunity_id: b.opportunity_id.unwrap_or(before.opportunity_id),
        case_id: b.case_id.unwrap_or(before.case_id),
    };
    let links = resolve_links(w.tx(), &auth.0, ids).await?;
    let mut input = activities::input_of(&before, links);
    let d = &mut input.details;
    input.kind = b.kind.unwrap_or(before.kind);
    if let Some(r) = &b.document_ref {
        input.document_ref = r.clone();
    }
    if let Some(s) = &b.subject {
        d.subject = s.clone();
    }
    if let Some(s) = &b.body {
        d.body = s.clone();
    }
    d.occurred_at = b.occurred_at.or(d.occurred_at);
    d.ends_at = b.ends_at.or(d.ends_at);
    d.direction = b.direction.or(d.direction);
    d.duration_seconds = b.duration_seconds.or(d.duration_seconds);
    if let Some(o) = &b.outcome {
        d.outcome = Some(o.clone());
    }
    if let Some(list) = &b.attendees {
        d.attendees = list.clone();
    }
    if let Some(f) = &b.email_from {
        d.email_from = Some(f.clone());
    }
    if let Some(list) = &b.email_to {
        d.email_to = list.clone();
    }
    d.due_date = due(&b.due_date, d.due_date)?;
    d.done = b.done.unwrap_or(d.done);
    if let Some(o) = b.owner_id {
        input.owner_id = Some(o);
    }
    let after = activities::update(w.tx(), &auth.actor(), &before, req.if_match, input).await?;
    let body = present(&auth.0, T, &after)?;
    w.respond(StatusCode::OK, &body).await
}

#[utoipa::path(delete, path = "/activities/{id}", tag = "activities", params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_activity(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    may_write(&auth.0, Action::Delete)?;
    let mut w = begin_write!(app, auth, req);
    let before = visible(w.tx(), &auth.0, &id).await?;
    activities::delete(w.tx(), &auth.actor(), &before, req.if_match).await?;
    w.respond(StatusCode::NO_CONTENT, &()).await
}
