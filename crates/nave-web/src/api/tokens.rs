//! `/api/v1/tokens`: API tokens. The secret is shown once, in the creation
//! response; afterwards only its prefix.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use nave_domain::access::{Action, Ownership, RecordType, Scope};
use nave_domain::ids::PublicId;
use nave_store::tokens::{self, ApiToken, NewToken};
use nave_store::users;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::parse_id;
use crate::begin_write;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiAuth, ApiWrite, NoBody};
use crate::present::{ListResponse, present, present_page, visible_or_404};
use crate::state::AppState;

const T: RecordType = RecordType::ApiToken;

fn own(t: &ApiToken) -> Ownership {
    Ownership { owner_id: Some(t.user_key), team_id: None }
}

#[utoipa::path(get, path = "/tokens", tag = "access", responses((status = 200, description = "Tokens the caller may see", body = inline(TokenList))))]
pub async fn list_tokens(State(app): State<AppState>, auth: ApiAuth) -> ApiResult<Json<ListResponse>> {
    let scope = auth.require(T, Action::Read)?;
    let mut tx = app.db.autocommit().await?;
    let only = (scope != Scope::All).then_some(auth.0.user_id);
    let list = tokens::list(&mut tx, auth.0.tenant_id, only).await?;
    tx.commit().await?;
    Ok(Json(present_page(&auth.0, T, &list, None)?))
}

/// Schema of a token list (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct TokenList {
    data: Vec<ApiToken>,
    next: Option<String>,
}

/// A new token.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// What the token is for, e.g. `Shop sync`.
    pub name: String,
    /// When the token stops working (RFC 3339); none = until revoked.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
    /// The external system this token writes for, e.g. `erp`.
    pub source_system: Option<String>,
    /// Another user to create the token for (needs the `all` scope).
    #[schema(value_type = Option<String>)]
    pub user_id: Option<PublicId>,
}

/// The created token, with its secret: shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    #[schema(inline)]
    pub record: ApiToken,
    /// The bearer secret. Store it now: it cannot be shown again.
    pub token: String,
}

#[utoipa::path(post, path = "/tokens", tag = "access", request_body = CreateTokenRequest,
    responses((status = 201, body = CreatedToken), (status = 422, body = Problem)))]
pub async fn create_token(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<CreateTokenRequest>,
) -> ApiResult<Response> {
    let scope = auth.require(T, Action::Create)?;
    let mut w = begin_write!(app, auth, req);
    let user_key = match req.body.user_id {
        Some(u) => {
            let key = users::resolve(w.tx(), auth.0.tenant_id, u, "user_id").await?;
            if key != auth.0.user_id && scope != Scope::All {
                return Err(ApiError::invalid("user_id", "your role may create tokens for yourself only"));
            }
            key
        }
        None => auth.0.user_id,
    };
    let b = &req.body;
    let new =
        NewToken { user_key, name: b.name.clone(), source_system: b.source_system.clone(), expires_at: b.expires_at };
    let (record, token) = tokens::create(w.tx(), &auth.actor(), new).await?;
    let mut body = present(&auth.0, T, &record)?;
    body["token"] = serde_json::Value::String(token);
    w.respond(StatusCode::CREATED, &body).await
}

#[utoipa::path(get, path = "/tokens/{id}", tag = "access", params(("id" = String, Path)),
    responses((status = 200, body = ApiToken), (status = 404, body = Problem)))]
pub async fn get_token(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    auth.require(T, Action::Read)?;
    let mut tx = app.db.autocommit().await?;
    let t = tokens::get(&mut tx, auth.0.tenant_id, parse_id("api_token", &id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("api_token"))?;
    tx.commit().await?;
    visible_or_404(&auth.0, T, Action::Read, own(&t))?;
    Ok(Json(present(&auth.0, T, &t)?))
}

#[utoipa::path(delete, path = "/tokens/{id}", tag = "access", params(("id" = String, Path)),
    responses((status = 204, description = "Revoked at once; the token stays listed as revoked"), (status = 404, body = Problem)))]
pub async fn revoke_token(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    auth.require(T, Action::Delete)?;
    let id = parse_id("api_token", &id)?;
    let mut w = begin_write!(app, auth, req);
    let t = tokens::get(w.tx(), auth.0.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("api_token"))?;
    visible_or_404(&auth.0, T, Action::Read, own(&t))?;
    visible_or_404(&auth.0, T, Action::Delete, own(&t))?;
    tokens::revoke(w.tx(), &auth.actor(), id).await?;
    w.respond(StatusCode::NO_CONTENT, &()).await
}
