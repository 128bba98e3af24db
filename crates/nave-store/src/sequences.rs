//! Numbering sequences: one per document type, gapless and unique.
//!
//! The number is taken inside the transaction that issues (or creates) the
//! document, with the counter row locked (`FOR UPDATE` on PostgreSQL; SQLite's
//! write transaction excludes every other writer), so a rolled-back issue
//! leaves no gap and two concurrent issues never share a number. Counters
//! restart each year when the sequence is `yearly` (the default), keyed by the
//! year of the document date.

use nave_domain::DomainError;
use nave_domain::access::RecordType;
use nave_domain::document::{DocType, check_sequence, format_number};
use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::{self, Actor};
use crate::db::{DbRow, Tx, now};
use crate::{StoreResult, args, expect_version};

/// A sequence as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Sequence {
    /// `quote`, `sales_order`, `invoice`, `credit_note` or `shipment`.
    pub doc_type: String,
    /// Printed before the counter; `{year}` is the year of the document date.
    #[schema(example = "INV-{year}-")]
    pub prefix: String,
    /// Digits of the counter, zero-padded.
    pub padding: i64,
    /// The counter restarts at 1 each year.
    pub yearly: bool,
    /// The number the next document of this year will get.
    #[schema(example = "INV-2026-00042")]
    pub next_number: String,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

/// The sequence kinds: the document types, and shipments.
pub const KINDS: &[&str] =
    &["quote", "sales_order", "invoice", "credit_note", "shipment", "purchase_order", "receipt", "bill", "bill_credit"];

fn default_prefix(kind: &str) -> &'static str {
    match kind.parse::<DocType>() {
        Ok(t) => t.default_prefix(),
        Err(_) => "SHP-{year}-",
    }
}

async fn ensure(tx: &mut Tx, tenant_id: i64, kind: &str) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO sequences (tenant_id, doc_type, prefix, padding, yearly, version, updated_at) \
         VALUES ($1, $2, $3, 5, TRUE, 1, $4) ON CONFLICT DO NOTHING",
        args![tenant_id, kind, default_prefix(kind), now()],
    )
    .await?;
    Ok(())
}

/// Takes the next number of `kind` for a document dated in `year`.
pub async fn next_number(tx: &mut Tx, tenant_id: i64, kind: &str, year: i32) -> StoreResult<String> {
    let (prefix, padding, value) = take_block(tx, tenant_id, kind, year, 1).await?;
    Ok(format_number(&prefix, padding, year, value))
}

/// Takes `count` consecutive numbers of `kind` for documents dated in
/// `year` at once (bulk loads): returns the sequence's prefix and padding and
/// the first value; the caller formats `first .. first + count` with
/// [`format_number`]. The counter carries on after the block.
pub async fn take_block(
    tx: &mut Tx,
    tenant_id: i64,
    kind: &str,
    year: i32,
    count: i64,
) -> StoreResult<(String, u32, i64)> {
    ensure(tx, tenant_id, kind).await?;
    let (prefix, padding, yearly) = tx
        .fetch_one(
            "SELECT prefix, padding, yearly FROM sequences WHERE tenant_id = $1 AND doc_type = $2",
            args![tenant_id, kind],
            |r| Ok((r.text("prefix")?, r.i64("padding")?, r.boolean("yearly")?)),
        )
        .await?;
    let counter_year = if yearly { i64::from(year) } else { 0 };
    tx.execute(
        "INSERT INTO sequence_counters (tenant_id, doc_type, year, next_value) VALUES ($1, $2, $3, 1) ON CONFLICT DO NOTHING",
        args![tenant_id, kind, counter_year],
    )
    .await?;
    let first = tx
        .fetch_one(
            "UPDATE sequence_counters SET next_value = next_value + $4 \
             WHERE tenant_id = $1 AND doc_type = $2 AND year = $3 RETURNING next_value - $4 AS value",
            args![tenant_id, kind, counter_year, count.max(0)],
            |r| r.i64("value"),
        )
        .await?;
    Ok((prefix, u32::try_from(padding).unwrap_or(5), first))
}

async fn load(tx: &mut Tx, tenant_id: i64, kind: &str) -> StoreResult<Sequence> {
    ensure(tx, tenant_id, kind).await?;
    let year = now().year();
    let (prefix, padding, yearly, version, updated_at) = tx
        .fetch_one(
            "SELECT prefix, padding, yearly, version, updated_at FROM sequences WHERE tenant_id = $1 AND doc_type = $2",
            args![tenant_id, kind],
            |r: &dyn DbRow| {
                Ok((r.text("prefix")?, r.i64("padding")?, r.boolean("yearly")?, r.i64("version")?, r.ts("updated_at")?))
            },
        )
        .await?;
    let next = tx
        .fetch_optional(
            "SELECT next_value FROM sequence_counters WHERE tenant_id = $1 AND doc_type = $2 AND year = $3",
            args![tenant_id, kind, if yearly { i64::from(year) } else { 0 }],
            |r| r.i64("next_value"),
        )
        .await?
        .unwrap_or(1);
    Ok(Sequence {
        doc_type: kind.to_string(),
        next_number: format_number(&prefix, u32::try_from(padding).unwrap_or(5), year, next),
        prefix,
        padding,
        yearly,
        version,
        updated_at,
    })
}

/// Every sequence, in [`KINDS`] order.
pub async fn list(tx: &mut Tx, tenant_id: i64) -> StoreResult<Vec<Sequence>> {
    let mut out = Vec::new();
    for k in KINDS {
        out.push(load(tx, tenant_id, k).await?);
    }
    Ok(out)
}

pub async fn get(tx: &mut Tx, tenant_id: i64, kind: &str) -> StoreResult<Option<Sequence>> {
    if !KINDS.contains(&kind) {
        return Ok(None);
    }
    Ok(Some(load(tx, tenant_id, kind).await?))
}

/// Changes a sequence's prefix, padding or yearly restart. Numbers already
/// given are never changed; the counter goes on from where it is.
pub async fn update(
    tx: &mut Tx,
    actor: &Actor,
    kind: &str,
    if_version: Option<i64>,
    prefix: Option<String>,
    padding: Option<i64>,
    yearly: Option<bool>,
) -> StoreResult<Sequence> {
    let before = get(tx, actor.tenant_id, kind).await?.ok_or(DomainError::NotFound { record: "sequence" })?;
    expect_version("sequence", before.version, if_version)?;
    let prefix = prefix.map(|p| p.trim().to_string()).unwrap_or_else(|| before.prefix.clone());
    let padding = padding.unwrap_or(before.padding);
    let yearly = yearly.unwrap_or(before.yearly);
    check_sequence(&prefix, padding)?;
    tx.execute(
        "UPDATE sequences SET prefix = $3, padding = $4, yearly = $5, version = version + 1, updated_at = $6 \
         WHERE tenant_id = $1 AND doc_type = $2",
        args![actor.tenant_id, kind, prefix, padding, yearly, now()],
    )
    .await?;
    let after = load(tx, actor.tenant_id, kind).await?;
    let id = nave_domain::ids::PublicId::from_uuid(uuid_for(kind));
    audit::updated(tx, actor, RecordType::Sequence, id, after.version, &before, &after).await?;
    Ok(after)
}

/// A stable identifier for a sequence in the audit log (sequences are keyed by kind).
fn uuid_for(kind: &str) -> uuid::Uuid {
    let mut b = [0u8; 16];
    for (i, c) in kind.bytes().take(16).enumerate() {
        b[i] = c;
    }
    uuid::Uuid::from_bytes(b)
}
