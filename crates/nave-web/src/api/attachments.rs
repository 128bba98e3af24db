//! `/api/v1/attachments`: files attached to records. Whoever may read a record
//! may list and download its attachments; whoever may change the record may
//! attach and remove files. The record decides, through [`owner_of`].

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use nave_domain::access::{Action, Principal, RecordType};
use nave_domain::ids::PublicId;
use nave_store::attachments::{self, Attachment, Owner};
use nave_store::{Tx, accounts, cases, catalog, contacts, leads, pipeline};
use serde::Deserialize;

use super::parse_id;
use crate::begin_write;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiAuth, ApiUpload, ApiWrite, NoBody, Query};
use crate::state::AppState;
use crate::uploads;

/// The record types files can be attached to.
pub const ATTACHABLE: &[RecordType] = &[
    RecordType::Account,
    RecordType::Contact,
    RecordType::Lead,
    RecordType::Opportunity,
    RecordType::Case,
    RecordType::Product,
];

/// The record an attachment hangs from, if `p` may do `action` on it (read
/// for listing and downloading, update for attaching and removing). A record
/// the caller may not read is reported as unknown, like everywhere else.
pub async fn owner_of(
    tx: &mut Tx,
    p: &Principal,
    record_type: RecordType,
    id: PublicId,
    action: Action,
) -> ApiResult<Owner> {
    let unknown = || ApiError::invalid("record_id", format!("is not the id of a {} you may see", record_type.as_str()));
    let t = p.tenant_id;
    // The record's key and ownership (None: not owned, the role's scope decides).
    let (key, ownership) = match record_type {
        RecordType::Account => accounts::get(tx, t, id).await?.map(|a| (a.key, Some(a.ownership))),
        RecordType::Contact => contacts::get(tx, t, id).await?.map(|c| (c.key, Some(c.ownership))),
        RecordType::Lead => leads::get(tx, t, id).await?.map(|l| (l.key, Some(l.ownership))),
        RecordType::Opportunity => pipeline::get(tx, t, id).await?.map(|o| (o.key, Some(o.ownership))),
        RecordType::Case => cases::get(tx, t, id).await?.map(|c| (c.key, Some(c.ownership))),
        RecordType::Product => catalog::get_product(tx, t, id).await?.map(|prod| (prod.key, None)),
        other => {
            let names: Vec<&str> = ATTACHABLE.iter().map(|t| t.as_str()).collect();
            return Err(ApiError::invalid(
                "record_type",
                format!("files cannot be attached to {} records; they can be to {}", other.as_str(), names.join(", ")),
            ));
        }
    }
    .ok_or_else(unknown)?;
    let may = |a: Action| match ownership {
        Some(own) => p.may(record_type, a, own),
        None => p.scope_for(record_type, a).is_some(),
    };
    if !may(Action::Read) {
        return Err(unknown());
    }
    if action != Action::Read && !may(Action::Update) {
        return Err(ApiError::forbidden(format!("your role may not change this {}", record_type.as_str())));
    }
    Ok(Owner { record_type, key, id })
}

/// The record an attachment belongs to, checked for `action`, with the attachment.
async fn attachment_for(tx: &mut Tx, p: &Principal, id: &str, action: Action) -> ApiResult<Attachment> {
    let a = attachments::get(tx, p.tenant_id, parse_id("attachment", id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("attachment"))?;
    let rt = a.record_type.parse::<RecordType>().map_err(|e| ApiError::internal(&e))?;
    match owner_of(tx, p, rt, a.record_id, action).await {
        Ok(_) => Ok(a),
        Err(e) if e.status() == StatusCode::UNPROCESSABLE_ENTITY => Err(ApiError::not_found("attachment")),
        Err(e) => Err(e),
    }
}

/// Which record's attachments.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RecordRef {
    /// `account`, `contact`, `lead`, `opportunity`, `case` or `product`.
    pub record_type: String,
    #[param(value_type = String)]
    pub record_id: String,
}

impl RecordRef {
    fn parse(&self) -> ApiResult<(RecordType, PublicId)> {
        let rt = self.record_type.parse::<RecordType>().map_err(|e| ApiError::invalid("record_type", e.to_string()))?;
        let id = self.record_id.parse().map_err(|_| ApiError::invalid("record_id", "is not an id"))?;
        Ok((rt, id))
    }
}

/// Schema of a list of attachments (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct AttachmentList {
    data: Vec<Attachment>,
}

#[utoipa::path(get, path = "/attachments", tag = "attachments", params(RecordRef),
    responses((status = 200, description = "The record's attachments, newest first", body = inline(AttachmentList)),
        (status = 422, body = Problem)))]
pub async fn list_attachments(
    State(app): State<AppState>,
    auth: ApiAuth,
    Query(q): Query<RecordRef>,
) -> ApiResult<Json<serde_json::Value>> {
    let (rt, id) = q.parse()?;
    let mut tx = app.db.read().await?;
    let owner = owner_of(&mut tx, &auth.0, rt, id, Action::Read).await?;
    let list = attachments::list_for(&mut tx, auth.0.tenant_id, owner).await?;
    tx.commit().await?;
    Ok(Json(serde_json::json!({ "data": list })))
}

/// Where a new attachment goes, and what it is called.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NewAttachment {
    /// `account`, `contact`, `lead`, `opportunity`, `case` or `product`.
    pub record_type: String,
    #[param(value_type = String)]
    pub record_id: String,
    /// The file's name, with its extension (`offer-2026.pdf`).
    pub filename: String,
    pub description: Option<String>,
}

#[utoipa::path(post, path = "/attachments", tag = "attachments", params(NewAttachment),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "The file's bytes, at most 8 MiB: PDF, images, office documents, ZIP, Outlook messages or plain text"),
    responses((status = 201, body = Attachment), (status = 413, body = Problem), (status = 415, body = Problem),
        (status = 422, body = Problem)))]
pub async fn create_attachment(
    State(app): State<AppState>,
    auth: ApiAuth,
    Query(q): Query<NewAttachment>,
    ApiUpload(req): ApiUpload,
) -> ApiResult<Response> {
    let (rt, id) = RecordRef { record_type: q.record_type.clone(), record_id: q.record_id.clone() }.parse()?;
    let content_type = uploads::attachment_type(&q.filename, &req.body)?;
    let mut w = begin_write!(app, auth, req);
    let owner = owner_of(w.tx(), &auth.0, rt, id, Action::Update).await?;
    let description = q.description.as_deref().unwrap_or("");
    let a =
        attachments::create(w.tx(), &auth.actor(), owner, &q.filename, description, content_type, &req.body).await?;
    w.respond(StatusCode::CREATED, &a).await
}

#[utoipa::path(get, path = "/attachments/{id}", tag = "attachments", params(("id" = String, Path)),
    responses((status = 200, body = Attachment), (status = 404, body = Problem)))]
pub async fn get_attachment(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Attachment>> {
    let mut tx = app.db.read().await?;
    let a = attachment_for(&mut tx, &auth.0, &id, Action::Read).await?;
    tx.commit().await?;
    Ok(Json(a))
}

/// An attachment's bytes for whoever may read its record.
pub async fn attachment_download(app: &AppState, p: &Principal, id: &str) -> ApiResult<Response> {
    let mut tx = app.db.read().await?;
    let a = attachment_for(&mut tx, p, id, Action::Read).await?;
    let (file, data) =
        attachments::content(&mut tx, p.tenant_id, &a).await?.ok_or_else(|| ApiError::not_found("attachment"))?;
    tx.commit().await?;
    uploads::download(&a.filename, &file.content_type, &file.sha256, data)
}

#[utoipa::path(get, path = "/attachments/{id}/content", tag = "attachments", params(("id" = String, Path)),
    responses((status = 200, description = "The file, as a download (Content-Disposition: attachment)", content_type = "application/octet-stream"),
        (status = 404, body = Problem)))]
pub async fn get_attachment_content(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    attachment_download(&app, &auth.0, &id).await
}

#[utoipa::path(delete, path = "/attachments/{id}", tag = "attachments", params(("id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_attachment(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    let mut w = begin_write!(app, auth, req);
    let a = attachment_for(w.tx(), &auth.0, &id, Action::Update).await?;
    attachments::delete(w.tx(), &auth.actor(), &a).await?;
    w.respond(StatusCode::NO_CONTENT, &()).await
}
