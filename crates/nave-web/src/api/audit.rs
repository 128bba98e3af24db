//! `/api/v1/audit-log`: who changed what, newest first, with sensitive
//! fields removed for callers who may not see them.

use std::str::FromStr;

use axum::Json;
use axum::extract::State;
use nave_domain::access::{Action, Principal, RecordType, Scope};
use nave_domain::ids::PublicId;
use nave_store::audit::{self, AuditEntry, AuditQuery};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiAuth, ListParams, Query};
use crate::present::ListResponse;
use crate::state::AppState;

/// Filters of the audit log.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditFilter {
    /// Only entries about this record.
    pub record_id: Option<String>,
    /// Only entries about these record types, comma-separated (`account,user`).
    pub record_type: Option<String>,
    /// Only entries by this user.
    pub actor_id: Option<String>,
    pub limit: Option<i64>,
    pub after: Option<String>,
}

/// Parses a comma-separated list of record types.
pub fn parse_types(field: &str, s: Option<&str>) -> ApiResult<Vec<RecordType>> {
    s.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| RecordType::from_str(t).map_err(|e| ApiError::invalid(field, e.to_string())))
        .collect()
}

/// An audit entry as `p` may see it.
pub fn redact_entry(p: &Principal, e: &AuditEntry) -> ApiResult<Value> {
    let mut v = serde_json::to_value(e).map_err(|e| ApiError::internal(&e))?;
    let Ok(rt) = RecordType::from_str(&e.record_type) else { return Ok(v) };
    if p.hidden_fields(rt).is_empty() {
        return Ok(v);
    }
    let mut kept = serde_json::Map::new();
    for (field, change) in &e.changes {
        let mut redacted = serde_json::Map::new();
        for side in ["before", "after"] {
            if let Some(val) = change.get(side) {
                let mut obj = json!({ field.as_str(): val });
                p.redact(rt, &mut obj);
                if let Some(left) = obj.get(field.as_str()) {
                    redacted.insert(side.to_string(), left.clone());
                }
            }
        }
        if !redacted.is_empty() {
            kept.insert(field.clone(), Value::Object(redacted));
        }
    }
    v["changes"] = Value::Object(kept);
    Ok(v)
}

#[utoipa::path(get, path = "/audit-log", tag = "audit", params(AuditFilter),
    responses((status = 200, description = "Audit entries, newest first")))]
pub async fn list_audit_log(
    State(app): State<AppState>,
    auth: ApiAuth,
    Query(f): Query<AuditFilter>,
) -> ApiResult<Json<ListResponse>> {
    let scope = auth.require(RecordType::AuditEntry, Action::Read)?;
    let paging = ListParams { limit: f.limit, after: f.after.clone() };
    let record_id = f
        .record_id
        .as_deref()
        .map(|s| PublicId::from_str(s).map_err(|_| ApiError::invalid("record_id", "is not a valid id")))
        .transpose()?;
    let mut tx = app.db.autocommit().await?;
    let mut actor_user_id = match f.actor_id.as_deref() {
        Some(s) => {
            let id = PublicId::from_str(s).map_err(|_| ApiError::invalid("actor_id", "is not a valid id"))?;
            Some(nave_store::users::resolve(&mut tx, auth.0.tenant_id, id, "actor_id").await?)
        }
        None => None,
    };
    if scope != Scope::All {
        // Own scope: the caller's own changes only.
        actor_user_id = Some(auth.0.user_id);
    }
    let q = AuditQuery {
        record_id,
        record_types: parse_types("record_type", f.record_type.as_deref())?,
        actor_user_id,
        cursor: paging.cursor()?,
        limit: paging.limit()?,
    };
    let page = audit::list(&mut tx, auth.0.tenant_id, &q).await?;
    tx.commit().await?;
    let data = page.items.iter().map(|e| redact_entry(&auth.0, e)).collect::<ApiResult<Vec<_>>>()?;
    Ok(Json(ListResponse { data, next: page.next.map(|c| c.encode()) }))
}
