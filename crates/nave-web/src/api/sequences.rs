//! `/api/v1/sequences`: the numbering sequence of each document type
//! (prefix with `{year}`, padding, yearly restart) and the next number.
//! Numbers already given never change; see `nave_store::sequences`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use nave_domain::access::{Action, RecordType};
use nave_store::sequences::{self, Sequence};
use serde::Deserialize;

use crate::begin_write;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiAuth, ApiWrite};
use crate::state::AppState;

const T: RecordType = RecordType::Sequence;

/// The sequences (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct SequenceList {
    data: Vec<Sequence>,
}

#[utoipa::path(get, path = "/sequences", tag = "sequences",
    responses((status = 200, description = "Every sequence: quote, sales_order, invoice, credit_note, shipment", body = inline(SequenceList))))]
pub async fn list_sequences(State(app): State<AppState>, auth: ApiAuth) -> ApiResult<Json<serde_json::Value>> {
    auth.require(T, Action::Read)?;
    let mut tx = app.db.write().await?;
    let list = sequences::list(&mut tx, auth.0.tenant_id).await?;
    tx.commit().await?;
    Ok(Json(serde_json::json!({ "data": list })))
}

#[utoipa::path(get, path = "/sequences/{doc_type}", tag = "sequences", params(("doc_type" = String, Path)),
    responses((status = 200, body = Sequence), (status = 404, body = Problem)))]
pub async fn get_sequence(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(doc_type): Path<String>,
) -> ApiResult<Json<Sequence>> {
    auth.require(T, Action::Read)?;
    let mut tx = app.db.write().await?;
    let s =
        sequences::get(&mut tx, auth.0.tenant_id, &doc_type).await?.ok_or_else(|| ApiError::not_found("sequence"))?;
    tx.commit().await?;
    Ok(Json(s))
}

/// Changes to a sequence; absent fields stay.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SequenceRequest {
    /// 1 to 30 characters; `{year}` is the only placeholder.
    #[schema(example = "INV-{year}-")]
    pub prefix: Option<String>,
    /// 1 to 12 digits.
    pub padding: Option<i64>,
    pub yearly: Option<bool>,
}

#[utoipa::path(patch, path = "/sequences/{doc_type}", tag = "sequences", request_body = SequenceRequest,
    params(("doc_type" = String, Path), ("If-Match" = Option<String>, Header, description = "Expected version")),
    responses((status = 200, body = Sequence), (status = 404, body = Problem), (status = 412, body = Problem),
        (status = 422, body = Problem)))]
pub async fn update_sequence(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(doc_type): Path<String>,
    req: ApiWrite<SequenceRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Update)?;
    if !sequences::KINDS.contains(&doc_type.as_str()) {
        return Err(ApiError::not_found("sequence"));
    }
    let mut w = begin_write!(app, auth, req);
    let b = req.body;
    let s = sequences::update(w.tx(), &auth.actor(), &doc_type, req.if_match, b.prefix, b.padding, b.yearly).await?;
    w.respond(StatusCode::OK, &s).await
}
