//! Tax rates and tax categories (see `nave_domain::tax`).

use nave_domain::DomainError;
use nave_domain::access::RecordType;
use nave_domain::ids::PublicId;
use nave_domain::tax::{rate_from_stored, rate_to_stored};
use rust_decimal::Decimal;
use serde::Serialize;
use time::{Date, OffsetDateTime};

use crate::audit::{self, Actor};
use crate::db::{DbRow, Tx, now};
use crate::{StoreResult, args, expect_version, on_unique};

/// A tax rate as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Tax {
    #[serde(skip)]
    pub key: i64,
    #[schema(value_type = String)]
    pub id: PublicId,
    pub name: String,
    /// Percent as a decimal string: `"10"` = 10 %.
    #[schema(example = "10")]
    pub rate: String,
    /// First day the rate applies (`YYYY-MM-DD`), if limited.
    pub valid_from: Option<String>,
    /// Last day the rate applies, if limited.
    pub valid_to: Option<String>,
    pub active: bool,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

const SELECT_TAX: &str =
    "SELECT id, public_id, name, rate_e4, valid_from, valid_to, active, version, created_at, updated_at FROM taxes";

fn decode_tax(r: &dyn DbRow) -> StoreResult<Tax> {
    Ok(Tax {
        key: r.i64("id")?,
        id: PublicId::from_uuid(r.uuid("public_id")?),
        name: r.text("name")?,
        rate: rate_from_stored(r.i64("rate_e4")?).to_string(),
        valid_from: r.opt_date("valid_from")?.map(|d| d.to_string()),
        valid_to: r.opt_date("valid_to")?.map(|d| d.to_string()),
        active: r.boolean("active")?,
        version: r.i64("version")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

pub async fn list_taxes(tx: &mut Tx, tenant_id: i64) -> StoreResult<Vec<Tax>> {
    tx.fetch_all(format!("{SELECT_TAX} WHERE tenant_id = $1 ORDER BY name_key"), args![tenant_id], decode_tax).await
}

pub async fn get_tax(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<Option<Tax>> {
    tx.fetch_optional(format!("{SELECT_TAX} WHERE tenant_id = $1 AND public_id = $2"), args![tenant_id, id], decode_tax)
        .await
}

/// A checked tax rate to store.
#[derive(Debug, Clone)]
pub struct TaxInput {
    pub name: String,
    pub rate: Decimal,
    pub valid_from: Option<Date>,
    pub valid_to: Option<Date>,
    pub active: bool,
}

fn duplicate_tax(name: &str) -> DomainError {
    DomainError::Conflict(format!("a tax named {name} already exists"))
}

pub async fn create_tax(tx: &mut Tx, actor: &Actor, input: TaxInput) -> StoreResult<Tax> {
    let name = crate::clean_name(&input.name, 100)?;
    let id = PublicId::new();
    let sql = format!(
        "INSERT INTO taxes (tenant_id, id, public_id, name, name_key, rate_e4, valid_from, valid_to, active, version, \
         created_at, updated_at, created_by, updated_by) VALUES ($1, {}, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9, $10, $10)",
        tx.new_id_expr("taxes", "$1")
    );
    let r = tx
        .execute(
            sql,
            args![
                actor.tenant_id,
                id,
                &name,
                name.to_lowercase(),
                rate_to_stored(input.rate),
                input.valid_from,
                input.valid_to,
                input.active,
                now(),
                actor.user_id
            ],
        )
        .await;
    on_unique(r, "taxes_name_key", "taxes.name_key", || duplicate_tax(&name))?;
    let tax = get_tax(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "tax" })?;
    audit::created(tx, actor, RecordType::Tax, id, &tax).await?;
    Ok(tax)
}

/// Replaces a tax's fields (the caller merged the patch into `input`).
pub async fn update_tax(
    tx: &mut Tx,
    actor: &Actor,
    before: &Tax,
    if_version: Option<i64>,
    input: TaxInput,
) -> StoreResult<Tax> {
    expect_version("tax", before.version, if_version)?;
    let name = crate::clean_name(&input.name, 100)?;
    let r = tx
        .execute(
            "UPDATE taxes SET name = $3, name_key = $4, rate_e4 = $5, valid_from = $6, valid_to = $7, active = $8, \
             version = version + 1, updated_at = $9, updated_by = $10 WHERE tenant_id = $1 AND id = $2",
            args![
                actor.tenant_id,
                before.key,
                &name,
                name.to_lowercase(),
                rate_to_stored(input.rate),
                input.valid_from,
                input.valid_to,
                input.active,
                now(),
                actor.user_id
            ],
        )
        .await;
    on_unique(r, "taxes_name_key", "taxes.name_key", || duplicate_tax(&name))?;
    let after = get_tax(tx, actor.tenant_id, before.id).await?.ok_or(DomainError::NotFound { record: "tax" })?;
    audit::updated(tx, actor, RecordType::Tax, after.id, after.version, before, &after).await?;
    Ok(after)
}

/// Deletes a tax no category uses; otherwise names the categories.
pub async fn delete_tax(tx: &mut Tx, actor: &Actor, before: &Tax, if_version: Option<i64>) -> StoreResult<()> {
    expect_version("tax", before.version, if_version)?;
    let users = tx
        .fetch_all(
            "SELECT c.name FROM tax_category_taxes ct JOIN tax_categories c ON c.tenant_id = ct.tenant_id \
             AND c.id = ct.category_id WHERE ct.tenant_id = $1 AND ct.tax_id = $2 ORDER BY c.name_key",
            args![actor.tenant_id, before.key],
            |r| r.text("name"),
        )
        .await?;
    if !users.is_empty() {
        return Err(DomainError::Conflict(format!(
            "the tax {} is used by the tax categories {}; remove it there or deactivate it",
            before.name,
            users.join(", ")
        ))
        .into());
    }
    tx.execute("DELETE FROM taxes WHERE tenant_id = $1 AND id = $2", args![actor.tenant_id, before.key]).await?;
    audit::deleted(tx, actor, RecordType::Tax, before.id, before.version + 1, before).await
}

/// A tax category as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TaxCategory {
    #[serde(skip)]
    pub key: i64,
    #[schema(value_type = String)]
    pub id: PublicId,
    pub name: String,
    /// The taxes that apply to products of this category, in order.
    #[schema(value_type = Vec<String>)]
    pub tax_ids: Vec<PublicId>,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

const SELECT_CAT: &str = "SELECT id, public_id, name, version, created_at, updated_at FROM tax_categories";

fn decode_cat(r: &dyn DbRow) -> StoreResult<TaxCategory> {
    Ok(TaxCategory {
        key: r.i64("id")?,
        id: PublicId::from_uuid(r.uuid("public_id")?),
        name: r.text("name")?,
        tax_ids: vec![],
        version: r.i64("version")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

/// Fills in the tax ids of categories with one query.
async fn with_taxes(tx: &mut Tx, tenant_id: i64, mut cats: Vec<TaxCategory>) -> StoreResult<Vec<TaxCategory>> {
    if cats.is_empty() {
        return Ok(cats);
    }
    let links = tx
        .fetch_all(
            "SELECT ct.category_id, t.public_id FROM tax_category_taxes ct JOIN taxes t ON t.tenant_id = ct.tenant_id \
             AND t.id = ct.tax_id WHERE ct.tenant_id = $1 ORDER BY ct.category_id, ct.position",
            args![tenant_id],
            |r| Ok((r.i64("category_id")?, PublicId::from_uuid(r.uuid("public_id")?))),
        )
        .await?;
    for c in &mut cats {
        c.tax_ids = links.iter().filter(|(k, _)| *k == c.key).map(|(_, id)| *id).collect();
    }
    Ok(cats)
}

pub async fn list_categories(tx: &mut Tx, tenant_id: i64) -> StoreResult<Vec<TaxCategory>> {
    let cats = tx
        .fetch_all(format!("{SELECT_CAT} WHERE tenant_id = $1 ORDER BY name_key"), args![tenant_id], decode_cat)
        .await?;
    with_taxes(tx, tenant_id, cats).await
}

pub async fn get_category(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<Option<TaxCategory>> {
    let cat = tx
        .fetch_optional(
            format!("{SELECT_CAT} WHERE tenant_id = $1 AND public_id = $2"),
            args![tenant_id, id],
            decode_cat,
        )
        .await?;
    Ok(match cat {
        Some(c) => with_taxes(tx, tenant_id, vec![c]).await?.pop(),
        None => None,
    })
}

async fn set_taxes(tx: &mut Tx, tenant_id: i64, category_key: i64, tax_ids: &[PublicId]) -> StoreResult<()> {
    tx.execute(
        "DELETE FROM tax_category_taxes WHERE tenant_id = $1 AND category_id = $2",
        args![tenant_id, category_key],
    )
    .await?;
    let mut seen = Vec::new();
    for (i, id) in tax_ids.iter().enumerate() {
        let key = get_tax(tx, tenant_id, *id)
            .await?
            .ok_or_else(|| DomainError::invalid(format!("tax_ids[{i}]"), "is not the id of a tax"))?
            .key;
        if seen.contains(&key) {
            return Err(DomainError::invalid(format!("tax_ids[{i}]"), "names a tax twice").into());
        }
        seen.push(key);
        tx.execute(
            "INSERT INTO tax_category_taxes (tenant_id, category_id, tax_id, position) VALUES ($1, $2, $3, $4)",
            args![tenant_id, category_key, key, i as i64],
        )
        .await?;
    }
    Ok(())
}

fn duplicate_cat(name: &str) -> DomainError {
    DomainError::Conflict(format!("a tax category named {name} already exists"))
}

pub async fn create_category(tx: &mut Tx, actor: &Actor, name: &str, tax_ids: &[PublicId]) -> StoreResult<TaxCategory> {
    let name = crate::clean_name(name, 100)?;
    let id = PublicId::new();
    let sql = format!(
        "INSERT INTO tax_categories (tenant_id, id, public_id, name, name_key, version, created_at, updated_at, \
         created_by, updated_by) VALUES ($1, {}, $2, $3, $4, 1, $5, $5, $6, $6) RETURNING id",
        tx.new_id_expr("tax_categories", "$1")
    );
    let r = tx
        .fetch_one(sql, args![actor.tenant_id, id, &name, name.to_lowercase(), now(), actor.user_id], |r| r.i64("id"))
        .await;
    let key = on_unique(r, "tax_categories_name_key", "tax_categories.name_key", || duplicate_cat(&name))?;
    set_taxes(tx, actor.tenant_id, key, tax_ids).await?;
    let cat = get_category(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "tax_category" })?;
    audit::created(tx, actor, RecordType::TaxCategory, id, &cat).await?;
    Ok(cat)
}

pub async fn update_category(
    tx: &mut Tx,
    actor: &Actor,
    before: &TaxCategory,
    if_version: Option<i64>,
    name: Option<&str>,
    tax_ids: Option<&[PublicId]>,
) -> StoreResult<TaxCategory> {
    expect_version("tax_category", before.version, if_version)?;
    let name = crate::clean_name(name.unwrap_or(&before.name), 100)?;
    let r = tx
        .execute(
            "UPDATE tax_categories SET name = $3, name_key = $4, version = version + 1, updated_at = $5, updated_by = $6 \
             WHERE tenant_id = $1 AND id = $2",
            args![actor.tenant_id, before.key, &name, name.to_lowercase(), now(), actor.user_id],
        )
        .await;
    on_unique(r, "tax_categories_name_key", "tax_categories.name_key", || duplicate_cat(&name))?;
    if let Some(ids) = tax_ids {
        set_taxes(tx, actor.tenant_id, before.key, ids).await?;
    }
    let after =
        get_category(tx, actor.tenant_id, before.id).await?.ok_or(DomainError::NotFound { record: "tax_category" })?;
    audit::updated(tx, actor, RecordType::TaxCategory, after.id, after.version, before, &after).await?;
    Ok(after)
}

/// Deletes a tax category. (Products will refuse this once they exist.)
pub async fn delete_category(
    tx: &mut Tx,
    actor: &Actor,
    before: &TaxCategory,
    if_version: Option<i64>,
) -> StoreResult<()> {
    expect_version("tax_category", before.version, if_version)?;
    tx.execute("DELETE FROM tax_categories WHERE tenant_id = $1 AND id = $2", args![actor.tenant_id, before.key])
        .await?;
    audit::deleted(tx, actor, RecordType::TaxCategory, before.id, before.version + 1, before).await
}

/// The tax rates that apply on `day` to `product` sold to an account taxed
/// with `treatment` (see `nave_domain::tax::applicable_rates`), in the
/// category's order.
pub async fn applicable(
    tx: &mut Tx,
    tenant_id: i64,
    product: &crate::catalog::Product,
    treatment: nave_domain::tax::TaxTreatment,
    day: Date,
) -> StoreResult<Vec<Tax>> {
    let Some(cat_id) = product.tax_category_id else { return Ok(vec![]) };
    let Some(cat) = get_category(tx, tenant_id, cat_id).await? else { return Ok(vec![]) };
    let mut taxes = Vec::new();
    for id in &cat.tax_ids {
        if let Some(t) = get_tax(tx, tenant_id, *id).await? {
            taxes.push(t);
        }
    }
    let parse = crate::stored_date;
    let ids: Vec<String> = taxes.iter().map(|t| t.id.to_string()).collect();
    let rates: Vec<nave_domain::tax::CategoryRate> = taxes
        .iter()
        .zip(&ids)
        .map(|(t, id)| nave_domain::tax::CategoryRate {
            id,
            active: t.active,
            valid_from: parse(&t.valid_from),
            valid_to: parse(&t.valid_to),
        })
        .collect();
    let keep: Vec<&str> = nave_domain::tax::applicable_rates(&rates, treatment, day);
    Ok(taxes.into_iter().zip(ids.iter()).filter(|(_, id)| keep.contains(&id.as_str())).map(|(t, _)| t).collect())
}

/// The tax category with this name (case-insensitive), if any.
pub async fn get_category_by_name(tx: &mut Tx, tenant_id: i64, name: &str) -> StoreResult<Option<TaxCategory>> {
    let cat = tx
        .fetch_optional(
            format!("{SELECT_CAT} WHERE tenant_id = $1 AND name_key = $2"),
            args![tenant_id, name.trim().to_lowercase()],
            decode_cat,
        )
        .await?;
    Ok(match cat {
        Some(c) => with_taxes(tx, tenant_id, vec![c]).await?.pop(),
        None => None,
    })
}
