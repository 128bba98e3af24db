//! Records' ids in other systems, one table per record type with the same
//! columns (`tenant_id`, owner key, `system`, `external_id`) and a unique key
//! on `(tenant_id, system, external_id)`.

use nave_domain::DomainError;
use nave_domain::external_id::ExternalId;

use crate::db::Tx;
use crate::page::ListSql;
use crate::{StoreResult, args, on_unique};

/// Where one record type keeps its external ids.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub table: &'static str,
    /// The column holding the owning record's key.
    pub owner: &'static str,
    /// The unique key on `(tenant_id, system, external_id)`.
    pub unique: &'static str,
    /// The record's name in messages ("product").
    pub record: &'static str,
    /// The table of the records themselves.
    pub records: &'static str,
}

/// The products' external ids.
pub const PRODUCTS: Table = Table {
    table: "product_external_ids",
    owner: "product_id",
    unique: "product_external_ids_system_key",
    record: "product",
    records: "products",
};

/// The accounts' external ids.
pub const ACCOUNTS: Table = Table {
    table: "account_external_ids",
    owner: "account_id",
    unique: "account_external_ids_system_key",
    record: "account",
    records: "accounts",
};

/// The contacts' external ids.
pub const CONTACTS: Table = Table {
    table: "contact_external_ids",
    owner: "contact_id",
    unique: "contact_external_ids_system_key",
    record: "contact",
    records: "contacts",
};

/// The commercial documents' external ids (invoices above all; any document type).
pub const DOCUMENTS: Table = Table {
    table: "document_external_ids",
    owner: "document_id",
    unique: "document_external_ids_system_key",
    record: "document",
    records: "documents",
};

/// The payments' external ids (received and sent).
pub const PAYMENTS: Table = Table {
    table: "payment_external_ids",
    owner: "payment_id",
    unique: "payment_external_ids_system_key",
    record: "payment",
    records: "payments",
};

/// Schema of an external id (documentation only; the type is `nave_domain::external_id::ExternalId`).
#[derive(utoipa::ToSchema)]
#[schema(as = ExternalId)]
#[allow(dead_code)]
pub struct ExternalIdSchema {
    /// The other system's name: 1 to 40 of `a-z 0-9 . _ -`, stored lower-case.
    #[schema(example = "shopify")]
    system: String,
    /// The record's id there, 1 to 200 characters.
    #[schema(example = "gid://shopify/Product/8301")]
    id: String,
}

/// The external ids of some records (keys are integers from the database), by owner key.
pub async fn load(tx: &mut Tx, t: Table, tenant_id: i64, owners: &[i64]) -> StoreResult<Vec<(i64, ExternalId)>> {
    if owners.is_empty() {
        return Ok(vec![]);
    }
    let list = owners.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    tx.fetch_all(
        format!(
            "SELECT {o} AS owner, system, external_id FROM {tb} WHERE tenant_id = $1 AND {o} IN ({list}) \
             ORDER BY {o}, system",
            o = t.owner,
            tb = t.table
        ),
        args![tenant_id],
        |r| Ok((r.i64("owner")?, ExternalId::new(r.text("system")?, r.text("external_id")?))),
    )
    .await
}

/// Replaces a record's external ids (already checked with
/// `nave_domain::external_id::check_external_ids`); an id another record of
/// the same type holds is a conflict naming it.
pub async fn replace(tx: &mut Tx, t: Table, tenant_id: i64, owner: i64, ids: &[ExternalId]) -> StoreResult<()> {
    tx.execute(format!("DELETE FROM {} WHERE tenant_id = $1 AND {} = $2", t.table, t.owner), args![tenant_id, owner])
        .await?;
    insert(tx, t, tenant_id, owner, ids).await
}

/// Checks a record's external ids (422 naming `field[i].system|id`) and
/// normalises them.
pub fn checked(field: &str, ids: &[ExternalId]) -> Result<Vec<ExternalId>, DomainError> {
    let mut v = nave_domain::error::Validator::new();
    let out = nave_domain::external_id::check_external_ids(&mut v, field, ids);
    v.finish()?;
    Ok(out)
}

/// Writes the external ids of a new record (checked as for [`replace`]).
pub async fn insert(tx: &mut Tx, t: Table, tenant_id: i64, owner: i64, ids: &[ExternalId]) -> StoreResult<()> {
    for e in ids {
        let r = tx
            .execute(
                format!(
                    "INSERT INTO {} (tenant_id, {}, system, external_id) VALUES ($1, $2, $3, $4)",
                    t.table, t.owner
                ),
                args![tenant_id, owner, &e.system, &e.id],
            )
            .await;
        on_unique(r, t.unique, &format!("{}.external_id", t.table), || {
            DomainError::Conflict(format!("the {} id {e} already belongs to another {}", e.system, t.record))
        })?;
    }
    Ok(())
}

/// The key of the record holding this external id, if any: one lookup in
/// the unique key, whatever the table's statistics say.
pub async fn owner_of(tx: &mut Tx, t: Table, tenant_id: i64, e: &ExternalId) -> StoreResult<Option<i64>> {
    tx.fetch_optional(
        format!(
            "SELECT {} AS owner FROM {} WHERE tenant_id = $1 AND system = $2 AND external_id = $3",
            t.owner, t.table
        ),
        args![tenant_id, e.system.trim().to_lowercase(), e.id.trim()],
        |r| r.i64("owner"),
    )
    .await
}

/// Like [`owner_of`], with the record's row locked until the transaction
/// ends (on PostgreSQL; SQLite's writer excludes others anyway), so that an
/// update reading it next sees the latest committed version and concurrent
/// upserts of the same record take turns.
pub async fn lock_owner(tx: &mut Tx, t: Table, tenant_id: i64, e: &ExternalId) -> StoreResult<Option<i64>> {
    let Some(key) = owner_of(tx, t, tenant_id, e).await? else { return Ok(None) };
    let sql = format!("SELECT id AS v FROM {} WHERE tenant_id = $1 AND id = $2{}", t.records, tx.for_update());
    tx.fetch_optional(sql, args![tenant_id, key], |r| r.i64("v")).await
}

/// Adds to a list the condition "the record `key_column` holds this external id".
pub fn push_filter(t: Table, key_column: &str, e: &ExternalId, f: &mut ListSql) {
    f.and_all(
        &format!(
            "{key_column} IN (SELECT x.{} FROM {} x WHERE x.tenant_id = $1 AND x.system = ? AND x.external_id = ?)",
            t.owner, t.table
        ),
        args![e.system.trim().to_lowercase(), e.id.trim()],
    );
}
