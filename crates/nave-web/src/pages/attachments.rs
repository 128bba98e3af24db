//! Attachments on record pages: upload (multipart), download, remove. The
//! permission checks are the API's (`api::attachments::owner_of`).

use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect};
use nave_domain::access::{Action, Principal, RecordType};
use nave_domain::ids::PublicId;
use nave_store::attachments::{self, Attachment};

use super::{PageAuth, PageError, PageResult, fmt_time};
use crate::api::attachments::{attachment_download, owner_of};
use crate::error::ApiError;
use crate::extract::actor_of;
use crate::state::AppState;
use crate::uploads;

/// An attachment as a row of a record page.
#[derive(Debug, Clone)]
pub struct AttachmentRow {
    pub id: String,
    pub filename: String,
    pub size: String,
    pub description: String,
    pub uploaded: String,
}

/// What a record page needs to show its attachments.
#[derive(Debug, Clone)]
pub struct AttachmentsView {
    pub record_type: &'static str,
    pub record_id: String,
    pub rows: Vec<AttachmentRow>,
    pub can_attach: bool,
}

/// A size in bytes as a short text: `512 B`, `3.4 KiB`, `1.2 MiB`.
pub fn human_size(bytes: i64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
    }
}

/// The attachments section of a record page, for a principal who may read the record.
pub async fn view(
    app: &AppState,
    p: &Principal,
    record_type: RecordType,
    id: PublicId,
) -> Result<AttachmentsView, PageError> {
    let mut tx = app.db.read().await?;
    let owner = owner_of(&mut tx, p, record_type, id, Action::Read).await?;
    let list = attachments::list_for(&mut tx, p.tenant_id, owner).await?;
    let can_attach = owner_of(&mut tx, p, record_type, id, Action::Update).await.is_ok();
    tx.commit().await?;
    Ok(AttachmentsView {
        record_type: record_type.as_str(),
        record_id: id.to_string(),
        rows: list.iter().map(row).collect(),
        can_attach,
    })
}

fn row(a: &Attachment) -> AttachmentRow {
    AttachmentRow {
        id: a.id.to_string(),
        filename: a.filename.clone(),
        size: human_size(a.byte_size),
        description: a.description.clone(),
        uploaded: format!("{} by {}", fmt_time(a.created_at), a.uploaded_by.clone().unwrap_or_else(|| "system".into())),
    }
}

/// The page a record is shown on.
fn record_page(record_type: RecordType, id: PublicId) -> String {
    match record_type {
        RecordType::Product => format!("/products/{id}"),
        RecordType::Contact => format!("/contacts/{id}"),
        RecordType::Lead => format!("/leads/{id}"),
        RecordType::Opportunity => format!("/opportunities/{id}"),
        RecordType::Case => format!("/cases/{id}"),
        _ => format!("/accounts/{id}"),
    }
}

/// `POST /attachments`: a multipart form with `record_type`, `record_id`, `description` and `file`.
pub async fn upload(State(app): State<AppState>, auth: PageAuth, mut form: Multipart) -> PageResult {
    let (mut record_type, mut record_id, mut description, mut file) = (None, None, String::new(), None);
    while let Some(field) = form.next_field().await.map_err(|e| ApiError::invalid("file", e.body_text()))? {
        let name = field.name().unwrap_or("").to_string();
        let filename = field.file_name().map(str::to_string);
        let bytes = field.bytes().await.map_err(|e| ApiError::invalid("file", e.body_text()))?;
        let text = || String::from_utf8_lossy(&bytes).trim().to_string();
        match name.as_str() {
            "record_type" => record_type = Some(text()),
            "record_id" => record_id = Some(text()),
            "description" => description = text(),
            "file" => file = Some((filename.unwrap_or_default(), bytes.to_vec())),
            _ => {}
        }
    }
    let rt: RecordType = record_type
        .unwrap_or_default()
        .parse()
        .map_err(|e: nave_domain::access::UnknownName| ApiError::invalid("record_type", e.to_string()))?;
    let id: PublicId =
        record_id.unwrap_or_default().parse().map_err(|_| ApiError::invalid("record_id", "is not an id"))?;
    let (filename, data) =
        file.filter(|(_, d)| !d.is_empty()).ok_or_else(|| ApiError::invalid("file", "choose a file to attach"))?;
    let content_type = uploads::attachment_type(&filename, &data)?;
    let p = &auth.principal;
    let mut tx = app.db.write().await?;
    let owner = owner_of(&mut tx, p, rt, id, Action::Update).await?;
    attachments::create(&mut tx, &actor_of(p), owner, &filename, &description, content_type, &data).await?;
    tx.commit().await?;
    Ok(Redirect::to(&record_page(rt, id)).into_response())
}

/// `GET /attachments/{id}/download`.
pub async fn download(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    Ok(attachment_download(&app, &auth.principal, &id).await?)
}

/// `POST /attachments/{id}/delete`: back to the record's page.
pub async fn remove(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    let p = &auth.principal;
    let mut tx = app.db.write().await?;
    let a = attachments::get(&mut tx, p.tenant_id, crate::api::parse_id("attachment", &id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("attachment"))?;
    let rt: RecordType = a.record_type.parse().map_err(|e| ApiError::internal(&e))?;
    owner_of(&mut tx, p, rt, a.record_id, Action::Update).await?;
    attachments::delete(&mut tx, &actor_of(p), &a).await?;
    tx.commit().await?;
    Ok(Redirect::to(&record_page(rt, a.record_id)).into_response())
}
