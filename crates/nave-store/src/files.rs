//! Stored files: bytes kept in the database with their type, size and SHA-256,
//! so that a backup holds them and a write that stores one commits or rolls
//! back with it. Records refer to files by key; the checks of what a file may
//! be (an image, its size) belong to the caller.

use nave_domain::ids::PublicId;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::db::{Tx, now};
use crate::{StoreResult, args};

/// A stored file's facts, without its bytes.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub key: i64,
    pub id: PublicId,
    pub content_type: String,
    pub byte_size: i64,
    /// Lower-case hex; doubles as the HTTP `ETag`.
    pub sha256: String,
    pub created_at: OffsetDateTime,
}

/// Stores bytes and returns the new file's key.
pub async fn insert(
    tx: &mut Tx,
    tenant_id: i64,
    user_id: Option<i64>,
    content_type: &str,
    data: &[u8],
) -> StoreResult<i64> {
    let sha: String = Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect();
    let id = PublicId::new();
    let sql = format!(
        "INSERT INTO stored_files (tenant_id, id, public_id, content_type, byte_size, sha256, data, created_at, \
         created_by) VALUES ($1, {}, $2, $3, $4, $5, $6, $7, $8)",
        tx.new_id_expr("stored_files", "$1")
    );
    tx.execute(sql, args![tenant_id, id, content_type, data.len() as i64, sha, data, now(), user_id]).await?;
    tx.scalar_i64("SELECT id AS v FROM stored_files WHERE tenant_id = $1 AND public_id = $2", args![tenant_id, id])
        .await
}

/// A file with its bytes.
pub async fn get(tx: &mut Tx, tenant_id: i64, key: i64) -> StoreResult<Option<(StoredFile, Vec<u8>)>> {
    tx.fetch_optional(
        "SELECT id, public_id, content_type, byte_size, sha256, data, created_at FROM stored_files \
         WHERE tenant_id = $1 AND id = $2",
        args![tenant_id, key],
        |r| {
            Ok((
                StoredFile {
                    key: r.i64("id")?,
                    id: PublicId::from_uuid(r.uuid("public_id")?),
                    content_type: r.text("content_type")?,
                    byte_size: r.i64("byte_size")?,
                    sha256: r.text("sha256")?,
                    created_at: r.ts("created_at")?,
                },
                r.bytes("data")?,
            ))
        },
    )
    .await
}

/// Deletes files no record refers to any more.
pub async fn delete(tx: &mut Tx, tenant_id: i64, keys: &[i64]) -> StoreResult<()> {
    for k in keys {
        tx.execute("DELETE FROM stored_files WHERE tenant_id = $1 AND id = $2", args![tenant_id, *k]).await?;
    }
    Ok(())
}
