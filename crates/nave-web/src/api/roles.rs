//! `/api/v1/roles`: built-in roles (read-only) and custom roles.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use nave_domain::access::{Action, Capability, Grants, RecordType};
use nave_store::roles::{self, NewRole, Permission, Role, RolePatch};
use serde::Deserialize;

use super::parse_id;
use crate::begin_write;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiAuth, ApiWrite, NoBody};
use crate::present::{ListResponse, present, present_page};
use crate::state::AppState;

const T: RecordType = RecordType::Role;

#[utoipa::path(get, path = "/roles", tag = "access", responses((status = 200, description = "Every role", body = inline(RoleList))))]
pub async fn list_roles(State(app): State<AppState>, auth: ApiAuth) -> ApiResult<Json<ListResponse>> {
    auth.require(T, Action::Read)?;
    let mut tx = app.db.read().await?;
    let list = roles::list(&mut tx, auth.0.tenant_id).await?;
    tx.commit().await?;
    Ok(Json(present_page(&auth.0, T, &list, None)?))
}

/// Schema of a role list (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct RoleList {
    data: Vec<Role>,
    next: Option<String>,
}

/// A custom role.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRoleRequest {
    /// a-z, 0-9 and `_`, e.g. `key_account_manager`.
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub permissions: Vec<Permission>,
    /// e.g. `view_cost`, `view_margin`, `view_credit_limit`, `override_credit_limit`.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub capabilities: Vec<Capability>,
}

fn grants(perms: &[Permission], caps: &[Capability]) -> Grants {
    let mut g = Grants::new();
    for p in perms {
        g.allow(p.record_type, p.action, p.scope);
    }
    for &c in caps {
        g.give(c);
    }
    g
}

#[utoipa::path(post, path = "/roles", tag = "access", request_body = CreateRoleRequest,
    responses((status = 201, body = Role), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_role(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<CreateRoleRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Create)?;
    let mut w = begin_write!(app, auth, req);
    let b = &req.body;
    let new = NewRole {
        name: b.name.clone(),
        description: b.description.clone(),
        grants: grants(&b.permissions, &b.capabilities),
    };
    let role = roles::create(w.tx(), &auth.actor(), new).await?;
    let body = present(&auth.0, T, &role)?;
    w.respond(StatusCode::CREATED, &body).await
}

#[utoipa::path(get, path = "/roles/{id}", tag = "access", params(("id" = String, Path)),
    responses((status = 200, body = Role), (status = 404, body = Problem)))]
pub async fn get_role(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    auth.require(T, Action::Read)?;
    let mut tx = app.db.read().await?;
    let role = roles::get(&mut tx, auth.0.tenant_id, parse_id("role", &id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("role"))?;
    tx.commit().await?;
    Ok(Json(present(&auth.0, T, &role)?))
}

/// Changes to a custom role; `permissions` and `capabilities` replace the lists.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRoleRequest {
    pub description: Option<String>,
    pub permissions: Option<Vec<Permission>>,
    #[schema(value_type = Option<Vec<String>>)]
    pub capabilities: Option<Vec<Capability>>,
}

#[utoipa::path(patch, path = "/roles/{id}", tag = "access", request_body = UpdateRoleRequest,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = Role), (status = 403, body = Problem), (status = 412, body = Problem)))]
pub async fn update_role(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<UpdateRoleRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Update)?;
    let id = parse_id("role", &id)?;
    let mut w = begin_write!(app, auth, req);
    let b = &req.body;
    let new_grants = match (&b.permissions, &b.capabilities) {
        (None, None) => None,
        (p, c) => {
            let current = roles::get(w.tx(), auth.0.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("role"))?;
            Some(grants(p.as_ref().unwrap_or(&current.permissions), c.as_ref().unwrap_or(&current.capabilities)))
        }
    };
    let patch = RolePatch { description: b.description.clone(), grants: new_grants };
    let role = roles::update(w.tx(), &auth.actor(), id, req.if_match, patch).await?;
    let body = present(&auth.0, T, &role)?;
    w.respond(StatusCode::OK, &body).await
}

#[utoipa::path(delete, path = "/roles/{id}", tag = "access", params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn delete_role(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    auth.require(T, Action::Delete)?;
    let id = parse_id("role", &id)?;
    let mut w = begin_write!(app, auth, req);
    roles::delete(w.tx(), &auth.actor(), id, req.if_match).await?;
    w.respond(StatusCode::NO_CONTENT, &()).await
}
