//! `/api/v1/events`: the ordered log of every committed change — the change
//! feed. Resumable from a position, filtered by record type and period, with
//! header-only or full payloads, and only what the caller may read (record
//! scope and field security; see `nave_store::feed`).

use axum::Json;
use axum::extract::State;
use nave_domain::access::{Action, RecordType};
use nave_store::feed::{self, Detail, FeedQuery};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

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
    /// Only events that happened at or after this time: RFC 3339, or a date (`2026-03-01`: from its start, UTC).
    pub since: Option<String>,
    /// Only events that happened before this time: RFC 3339, or a date (`2026-03-31`: up to its end, UTC).
    pub until: Option<String>,
    /// `lines` (default): the record as it was after the change; `header`: without documents' `groups` and `lines`.
    pub detail: Option<String>,
    /// Events per page, 1 to 1000 (default 100).
    pub limit: Option<i64>,
}

/// A time bound of the feed: RFC 3339, or a date meaning its start (`end_of_day`: its end).
pub fn parse_bound(field: &str, s: Option<&str>, end_of_day: bool) -> ApiResult<Option<OffsetDateTime>> {
    let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(Some(t));
    }
    match nave_domain::dates::parse(s) {
        Some(d) => {
            let d = if end_of_day { d.next_day().unwrap_or(d) } else { d };
            Ok(Some(d.midnight().assume_utc()))
        }
        None => Err(ApiError::invalid(field, "must be an RFC 3339 time (2026-03-01T00:00:00Z) or a date (2026-03-01)")),
    }
}

#[utoipa::path(get, path = "/events", tag = "events", params(EventFilter),
    responses((status = 200, description = "Events in commit order, only of records the caller may read, without \
        the fields they may not see; `next` resumes after the last event looked at"),
        (status = 422, body = crate::error::Problem)))]
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
    let detail = match f.detail.as_deref() {
        None | Some("lines") => Detail::Lines,
        Some("header") => Detail::Header,
        Some(_) => return Err(ApiError::invalid("detail", "must be header or lines")),
    };
    let since = parse_bound("since", f.since.as_deref(), false)?;
    let until = parse_bound("until", f.until.as_deref(), true)?;
    if let (Some(s), Some(u)) = (since, until)
        && u <= s
    {
        return Err(ApiError::invalid("until", "must be after since"));
    }
    let q = FeedQuery { after, record_types: parse_types("types", f.types.as_deref())?, since, until, detail, limit };
    let mut tx = app.db.read().await?;
    let page = feed::read(&mut tx, &auth.0, &q).await?;
    tx.commit().await?;
    let data = page
        .events
        .into_iter()
        .map(|e| serde_json::to_value(e).map_err(|e| ApiError::internal(&e)))
        .collect::<ApiResult<Vec<_>>>()?;
    // The cursor always advances to the last event looked at, so a client can poll with it.
    Ok(Json(ListResponse { data, next: Some(page.last_position.unwrap_or(after).to_string()) }))
}
