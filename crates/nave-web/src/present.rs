//! Presenting records to a principal: the one place output passes through
//! field security ([`Principal::redact`]) and record scope checks.

use nave_domain::access::{Action, Principal, RecordType};
use serde::Serialize;

use crate::error::{ApiError, ApiResult};

/// A record as `p` may see it: its JSON with hidden fields removed.
pub fn present<T: Serialize>(p: &Principal, record_type: RecordType, record: &T) -> ApiResult<serde_json::Value> {
    let mut v = serde_json::to_value(record).map_err(|e| ApiError::internal(&e))?;
    p.redact(record_type, &mut v);
    Ok(v)
}

/// A page of records: `{"data": [...], "next": "cursor-or-null"}`.
#[derive(Debug, Serialize)]
pub struct ListResponse {
    pub data: Vec<serde_json::Value>,
    pub next: Option<String>,
}

/// Presents every record of a page.
pub fn present_page<T: Serialize>(
    p: &Principal,
    record_type: RecordType,
    items: &[T],
    next: Option<String>,
) -> ApiResult<ListResponse> {
    let data = items.iter().map(|r| present(p, record_type, r)).collect::<ApiResult<Vec<_>>>()?;
    Ok(ListResponse { data, next })
}

/// A record the principal may not `action` is reported as absent (404, not
/// 403), so its existence does not leak.
pub fn visible_or_404(
    p: &Principal,
    record_type: RecordType,
    action: Action,
    own: nave_domain::access::Ownership,
) -> ApiResult<()> {
    if p.may(record_type, action, own) { Ok(()) } else { Err(ApiError::not_found(record_type.as_str())) }
}

/// Checks `action` on a record the principal asked for: absent (404) when
/// they may not even read it, forbidden (403) when they may read but not act.
pub fn may_act(
    p: &Principal,
    record_type: RecordType,
    action: Action,
    own: nave_domain::access::Ownership,
) -> ApiResult<()> {
    visible_or_404(p, record_type, Action::Read, own)?;
    if p.may(record_type, action, own) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!("your role may not {action} this {}", record_type.as_str().replace('_', " "))))
    }
}
