//! Documents attached to records: a stored file with its name and a note,
//! hanging from a record named by type and key. Who may read or change them
//! follows the record's own permissions (checked by the caller); the record's
//! delete takes its attachments along (`delete_for_record`).

use nave_domain::DomainError;
use nave_domain::access::RecordType;
use nave_domain::catalog::check_text;
use nave_domain::error::Validator;
use nave_domain::ids::PublicId;
use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::{self, Actor};
use crate::db::{DbRow, Tx, now};
use crate::files::{self, StoredFile};
use crate::{StoreResult, args};

/// An attachment as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Attachment {
    #[serde(skip)]
    pub key: i64,
    #[serde(skip)]
    pub record_key: i64,
    #[serde(skip)]
    pub file_key: i64,
    #[schema(value_type = String)]
    pub id: PublicId,
    /// The type of the record it is attached to, e.g. `account`.
    #[schema(example = "account")]
    pub record_type: String,
    #[schema(value_type = String)]
    pub record_id: PublicId,
    #[schema(example = "framework-agreement-2026.pdf")]
    pub filename: String,
    #[schema(example = "application/pdf")]
    pub content_type: String,
    pub byte_size: i64,
    /// SHA-256 of the content (hex), also its `ETag`.
    pub sha256: String,
    pub description: String,
    /// Who uploaded it.
    pub uploaded_by: Option<String>,
    /// Where to download it.
    #[schema(example = "/api/v1/attachments/0190a5c4-0000-7000-8000-000000000000/content")]
    pub content_url: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

const SELECT: &str = "SELECT a.id, a.public_id, a.record_type, a.record_id, a.record_public_id, a.file_id, a.filename, \
    a.description, a.created_at, f.content_type, f.byte_size, f.sha256, u.name AS uploader \
    FROM attachments a JOIN stored_files f ON f.tenant_id = a.tenant_id AND f.id = a.file_id \
    LEFT JOIN users u ON u.tenant_id = a.tenant_id AND u.id = a.created_by";

fn decode(r: &dyn DbRow) -> StoreResult<Attachment> {
    let id = PublicId::from_uuid(r.uuid("public_id")?);
    Ok(Attachment {
        key: r.i64("id")?,
        record_key: r.i64("record_id")?,
        file_key: r.i64("file_id")?,
        id,
        record_type: r.text("record_type")?,
        record_id: PublicId::from_uuid(r.uuid("record_public_id")?),
        filename: r.text("filename")?,
        content_type: r.text("content_type")?,
        byte_size: r.i64("byte_size")?,
        sha256: r.text("sha256")?,
        description: r.text("description")?,
        uploaded_by: r.opt_text("uploader")?,
        content_url: format!("/api/v1/attachments/{id}/content"),
        created_at: r.ts("created_at")?,
    })
}

/// The record an attachment hangs from.
#[derive(Debug, Clone, Copy)]
pub struct Owner {
    pub record_type: RecordType,
    pub key: i64,
    pub id: PublicId,
}

/// The attachments of a record, newest first.
pub async fn list_for(tx: &mut Tx, tenant_id: i64, owner: Owner) -> StoreResult<Vec<Attachment>> {
    tx.fetch_all(
        format!("{SELECT} WHERE a.tenant_id = $1 AND a.record_type = $2 AND a.record_id = $3 ORDER BY a.id DESC"),
        args![tenant_id, owner.record_type.as_str(), owner.key],
        decode,
    )
    .await
}

pub async fn get(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<Option<Attachment>> {
    tx.fetch_optional(format!("{SELECT} WHERE a.tenant_id = $1 AND a.public_id = $2"), args![tenant_id, id], decode)
        .await
}

/// Checks a file name: 1 to 255 characters, no path separators or control characters.
pub fn check_filename(v: &mut Validator, name: &str) -> String {
    let n = check_text(v, "filename", name, 1, 255);
    if n.chars().any(|c| c.is_control() || c == '/' || c == '\\') {
        v.add("filename", "must not contain slashes or control characters");
    }
    n
}

/// Attaches a file (already checked by the caller: size, type) to a record.
pub async fn create(
    tx: &mut Tx,
    actor: &Actor,
    owner: Owner,
    filename: &str,
    description: &str,
    content_type: &str,
    data: &[u8],
) -> StoreResult<Attachment> {
    let mut v = Validator::new();
    let filename = check_filename(&mut v, filename);
    let description = check_text(&mut v, "description", description, 0, 2000);
    v.finish()?;
    let t = actor.tenant_id;
    let file = files::insert(tx, t, actor.user_id, content_type, data).await?;
    let id = PublicId::new();
    let sql = format!(
        "INSERT INTO attachments (tenant_id, id, public_id, record_type, record_id, record_public_id, file_id, \
         filename, description, created_at, created_by) VALUES ($1, {}, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        tx.new_id_expr("attachments", "$1")
    );
    tx.execute(
        sql,
        args![
            t,
            id,
            owner.record_type.as_str(),
            owner.key,
            owner.id,
            file,
            &filename,
            &description,
            now(),
            actor.user_id
        ],
    )
    .await?;
    let a = get(tx, t, id).await?.ok_or(DomainError::NotFound { record: "attachment" })?;
    audit::created(tx, actor, RecordType::Attachment, id, &a).await?;
    Ok(a)
}

/// The bytes of an attachment.
pub async fn content(tx: &mut Tx, tenant_id: i64, a: &Attachment) -> StoreResult<Option<(StoredFile, Vec<u8>)>> {
    files::get(tx, tenant_id, a.file_key).await
}

/// Removes an attachment and its file.
pub async fn delete(tx: &mut Tx, actor: &Actor, before: &Attachment) -> StoreResult<()> {
    let t = actor.tenant_id;
    tx.execute("DELETE FROM attachments WHERE tenant_id = $1 AND id = $2", args![t, before.key]).await?;
    files::delete(tx, t, &[before.file_key]).await?;
    audit::deleted(tx, actor, RecordType::Attachment, before.id, 2, before).await
}

/// Removes every attachment of a record that is being deleted.
pub async fn delete_for_record(tx: &mut Tx, actor: &Actor, owner: Owner) -> StoreResult<()> {
    for a in list_for(tx, actor.tenant_id, owner).await? {
        delete(tx, actor, &a).await?;
    }
    Ok(())
}
