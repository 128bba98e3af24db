//! `/api/v1/teams`: groups of users, the reach of the "team" scope.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use nave_domain::access::{Action, RecordType};
use nave_store::teams::{self, Team};
use serde::Deserialize;

use super::parse_id;
use crate::begin_write;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiAuth, ApiWrite, NoBody};
use crate::present::{ListResponse, present, present_page};
use crate::state::AppState;

const T: RecordType = RecordType::Team;

#[utoipa::path(get, path = "/teams", tag = "access", responses((status = 200, description = "Every team", body = inline(TeamList))))]
pub async fn list_teams(State(app): State<AppState>, auth: ApiAuth) -> ApiResult<Json<ListResponse>> {
    auth.require(T, Action::Read)?;
    let mut tx = app.db.read().await?;
    let list = teams::list(&mut tx, auth.0.tenant_id).await?;
    tx.commit().await?;
    Ok(Json(present_page(&auth.0, T, &list, None)?))
}

/// Schema of a team list (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct TeamList {
    data: Vec<Team>,
    next: Option<String>,
}

/// A team's name.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamRequest {
    pub name: String,
}

#[utoipa::path(post, path = "/teams", tag = "access", request_body = TeamRequest,
    responses((status = 201, body = Team), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_team(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<TeamRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Create)?;
    let mut w = begin_write!(app, auth, req);
    let team = teams::create(w.tx(), &auth.actor(), &req.body.name).await?;
    let body = present(&auth.0, T, &team)?;
    w.respond(StatusCode::CREATED, &body).await
}

#[utoipa::path(get, path = "/teams/{id}", tag = "access", params(("id" = String, Path)),
    responses((status = 200, body = Team), (status = 404, body = Problem)))]
pub async fn get_team(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    auth.require(T, Action::Read)?;
    let mut tx = app.db.read().await?;
    let team = teams::get(&mut tx, auth.0.tenant_id, parse_id("team", &id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("team"))?;
    tx.commit().await?;
    Ok(Json(present(&auth.0, T, &team)?))
}

#[utoipa::path(patch, path = "/teams/{id}", tag = "access", request_body = TeamRequest,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = Team), (status = 412, body = Problem)))]
pub async fn update_team(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<TeamRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Update)?;
    let id = parse_id("team", &id)?;
    let mut w = begin_write!(app, auth, req);
    let team = teams::rename(w.tx(), &auth.actor(), id, req.if_match, &req.body.name).await?;
    let body = present(&auth.0, T, &team)?;
    w.respond(StatusCode::OK, &body).await
}

#[utoipa::path(delete, path = "/teams/{id}", tag = "access", params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204), (status = 409, body = Problem)))]
pub async fn delete_team(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    auth.require(T, Action::Delete)?;
    let id = parse_id("team", &id)?;
    let mut w = begin_write!(app, auth, req);
    teams::delete(w.tx(), &auth.actor(), id, req.if_match).await?;
    w.respond(StatusCode::NO_CONTENT, &()).await
}
