//! `/api/v1/events`: the ordered log of every committed change.

use axum::Json;
use axum::extract::State;
use nave_domain::access::{Action, RecordType};
use nave_store::events::{self, EventQuery};
use serde::Deserialize;

use super::audit::parse_types;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiAuth, Query};
use crate::present::ListResponse;
use crate::state::AppState;

/// Filters of the change feed.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventFilter {
    /// The `next` value of the previous page (an event position); default: the start.
    pub after: Option<String>,
    /// Only these record types, comma-separated (`account,user`).
    pub types: Option<String>,
    /// Events per page, 1 to 1000 (default 100).
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/events", tag = "events", params(EventFilter),
    responses((status = 200, description = "Events in commit order; `next` resumes after the last one")))]
pub async fn list_events(
    State(app): State<AppState>,
    auth: ApiAuth,
    Query(f): Query<EventFilter>,
) -> ApiResult<Json<ListResponse>> {
    auth.require(RecordType::Event, Action::Read)?;
    let after = match f.after.as_deref().filter(|s| !s.is_empty()) {
        None => 0,
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| ApiError::invalid("after", "must be the `next` value of a previous page"))?,
    };
    let limit = f.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 1000"));
    }
    let q = EventQuery { after, record_types: parse_types("types", f.types.as_deref())?, limit };
    let mut tx = app.db.autocommit().await?;
    let list = events::list(&mut tx, auth.0.tenant_id, &q).await?;
    tx.commit().await?;
    let last = list.last().map(|e| e.position);
    let data = list
        .into_iter()
        .map(|mut e| {
            if let Ok(rt) = e.record_type.parse::<RecordType>() {
                auth.0.redact(rt, &mut e.payload);
            }
            serde_json::to_value(e).map_err(|e| ApiError::internal(&e))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    // The cursor always advances to the last event returned, so a client can poll with it.
    Ok(Json(ListResponse { data, next: Some(last.unwrap_or(after).to_string()) }))
}
