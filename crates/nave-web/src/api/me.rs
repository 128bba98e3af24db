//! `/api/v1/me`: who the caller is and what they may do.

use axum::Json;
use axum::extract::State;
use nave_domain::access::RecordType;
use nave_store::roles::Permission;
use nave_store::users;
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::ApiAuth;
use crate::state::AppState;

/// The caller, their permissions and the fields hidden from them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MeResponse {
    #[schema(value_type = Object)]
    pub user: serde_json::Value,
    pub permissions: Vec<Permission>,
    pub capabilities: Vec<String>,
    /// Sensitive fields this caller does not see, as `record_type.field`.
    pub hidden_fields: Vec<String>,
}

#[utoipa::path(get, path = "/me", tag = "users", responses((status = 200, body = MeResponse)))]
pub async fn get_me(State(app): State<AppState>, auth: ApiAuth) -> ApiResult<Json<MeResponse>> {
    let mut tx = app.db.autocommit().await?;
    let me = users::get_by_key(&mut tx, auth.0.tenant_id, auth.0.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    tx.commit().await?;
    let g = &auth.0.grants;
    Ok(Json(MeResponse {
        user: crate::present::present(&auth.0, RecordType::User, &me)?,
        permissions: g
            .permissions()
            .map(|(record_type, action, scope)| Permission { record_type, action, scope })
            .collect(),
        capabilities: g.capabilities().map(|c| c.as_str().to_string()).collect(),
        hidden_fields: RecordType::ALL
            .iter()
            .flat_map(|&t| auth.0.hidden_fields(t).into_iter().map(move |f| format!("{}.{f}", t.as_str())))
            .collect(),
    }))
}
