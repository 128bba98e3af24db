//! `/api/v1/users`: people who log in (admins manage them).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use nave_domain::access::{Action, Ownership, RecordType, Scope};
use nave_domain::email::Email;
use nave_domain::ids::PublicId;
use nave_store::auth::{check_password, hash_password};
use nave_store::users::{self, NewUser, User, UserPatch};
use serde::Deserialize;

use super::double_option;
use crate::begin_write;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiAuth, ApiWrite, NoBody};
use crate::present::{ListResponse, present, present_page, visible_or_404};
use crate::state::AppState;

const T: RecordType = RecordType::User;

fn own(u: &User) -> Ownership {
    Ownership { owner_id: Some(u.key), team_id: u.team_key }
}

#[utoipa::path(get, path = "/users", tag = "users", responses((status = 200, description = "Users the caller may see", body = inline(UserList))))]
pub async fn list_users(State(app): State<AppState>, auth: ApiAuth) -> ApiResult<Json<ListResponse>> {
    let scope = auth.require(T, Action::Read)?;
    let mut tx = app.db.autocommit().await?;
    let all = users::list(&mut tx, auth.0.tenant_id).await?;
    tx.commit().await?;
    let visible: Vec<&User> =
        all.iter().filter(|u| scope == Scope::All || auth.0.may(T, Action::Read, own(u))).collect();
    Ok(Json(present_page(&auth.0, T, &visible, None)?))
}

/// Schema of a user list (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct UserList {
    data: Vec<User>,
    next: Option<String>,
}

/// A new user.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    #[schema(value_type = String, example = "ann@example.com")]
    pub email: Email,
    pub name: String,
    /// A role name, e.g. `sales_rep`.
    pub role: String,
    #[schema(value_type = Option<String>)]
    pub team_id: Option<PublicId>,
    /// At least 10 characters. Without one the user cannot log in yet.
    pub password: Option<String>,
    #[schema(example = "en-US")]
    pub locale: Option<String>,
}

fn hashed(password: Option<&str>) -> ApiResult<Option<String>> {
    match password {
        None => Ok(None),
        Some(p) => {
            check_password(p).map_err(|m| ApiError::invalid("password", m))?;
            Ok(Some(hash_password(p)))
        }
    }
}

#[utoipa::path(post, path = "/users", tag = "users", request_body = CreateUserRequest,
    responses((status = 201, body = User), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_user(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<CreateUserRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Create)?;
    let password_hash = hashed(req.body.password.as_deref())?;
    let mut w = begin_write!(app, auth, req);
    let b = req.body;
    let new =
        NewUser { email: b.email, name: b.name, password_hash, role: b.role, team_id: b.team_id, locale: b.locale };
    let user = users::create(w.tx(), &auth.actor(), new).await?;
    let body = present(&auth.0, T, &user)?;
    w.respond(StatusCode::CREATED, &body).await
}

async fn load(app: &AppState, auth: &ApiAuth, id: &str) -> ApiResult<User> {
    let id = super::parse_id("user", id)?;
    let mut tx = app.db.autocommit().await?;
    let u = users::get(&mut tx, auth.0.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("user"))?;
    tx.commit().await?;
    visible_or_404(&auth.0, T, Action::Read, own(&u))?;
    Ok(u)
}

#[utoipa::path(get, path = "/users/{id}", tag = "users", params(("id" = String, Path)),
    responses((status = 200, body = User), (status = 404, body = Problem)))]
pub async fn get_user(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    auth.require(T, Action::Read)?;
    let u = load(&app, &auth, &id).await?;
    Ok(Json(present(&auth.0, T, &u)?))
}

/// Changes to a user: absent fields stay, `null` clears.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    #[schema(value_type = Option<String>)]
    pub email: Option<Email>,
    pub name: Option<String>,
    pub role: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub team_id: Option<Option<PublicId>>,
    pub active: Option<bool>,
    pub locale: Option<String>,
    pub password: Option<String>,
}

#[utoipa::path(patch, path = "/users/{id}", tag = "users", request_body = UpdateUserRequest,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = User), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn update_user(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<UpdateUserRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Update)?;
    let before = load(&app, &auth, &id).await?;
    if !auth.0.may(T, Action::Update, own(&before)) {
        return Err(ApiError::forbidden("your role may not change this user"));
    }
    let password_hash = hashed(req.body.password.as_deref())?;
    let mut w = begin_write!(app, auth, req);
    let b = req.body;
    let patch = UserPatch {
        email: b.email,
        name: b.name,
        role: b.role,
        team_id: b.team_id,
        active: b.active,
        locale: b.locale,
        password_hash,
    };
    let user = users::update(w.tx(), &auth.actor(), before.id, req.if_match, patch).await?;
    let body = present(&auth.0, T, &user)?;
    w.respond(StatusCode::OK, &body).await
}

#[utoipa::path(delete, path = "/users/{id}", tag = "users", params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204), (status = 409, body = Problem)))]
pub async fn delete_user(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    auth.require(T, Action::Delete)?;
    let before = load(&app, &auth, &id).await?;
    if !auth.0.may(T, Action::Delete, own(&before)) {
        return Err(ApiError::forbidden("your role may not delete this user"));
    }
    let mut w = begin_write!(app, auth, req);
    users::delete(w.tx(), &auth.actor(), before.id, req.if_match).await?;
    w.respond(StatusCode::NO_CONTENT, &()).await
}
