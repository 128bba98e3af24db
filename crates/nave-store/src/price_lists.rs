//! Price lists: per-product prices with quantity breaks, valid in a window,
//! assigned to accounts; and the resolution of a new line's price
//! (`nave_domain::price_list::resolve`).

use nave_domain::DomainError;
use nave_domain::access::RecordType;
use nave_domain::error::Validator;
use nave_domain::ids::PublicId;
use nave_domain::money::{Currency, format_unit_price, parse_unit_price};
use nave_domain::price_list::{PriceListView, ResolvedPrice, resolve};
use nave_domain::stock::{format_quantity, parse_quantity};
use serde::Serialize;
use time::{Date, OffsetDateTime};

use crate::audit::{self, Actor};
use crate::catalog::{Product, get_product};
use crate::db::{DbRow, Tx, now};
use crate::{StoreError, StoreResult, args, expect_version, on_unique};

/// One price of a price list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PriceListItem {
    #[schema(value_type = String)]
    pub product_id: PublicId,
    pub sku: String,
    /// The price applies from this quantity up (`"0"` = any quantity).
    pub min_quantity: String,
    pub price: String,
}

/// A price list as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PriceList {
    #[serde(skip)]
    pub key: i64,
    #[schema(value_type = String)]
    pub id: PublicId,
    pub name: String,
    #[schema(value_type = String, example = "EUR")]
    pub currency: Currency,
    pub valid_from: Option<String>,
    pub valid_to: Option<String>,
    pub active: bool,
    pub items: Vec<PriceListItem>,
    /// The accounts that buy at this list.
    #[schema(value_type = Vec<String>)]
    pub account_ids: Vec<PublicId>,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

const SELECT: &str = "SELECT id, public_id, name, currency, valid_from, valid_to, active, version, created_at, updated_at \
    FROM price_lists";

fn decode(r: &dyn DbRow) -> StoreResult<PriceList> {
    Ok(PriceList {
        key: r.i64("id")?,
        id: PublicId::from_uuid(r.uuid("public_id")?),
        name: r.text("name")?,
        currency: Currency::parse(&r.text("currency")?).map_err(|e| StoreError::Decode(e.to_string()))?,
        valid_from: r.opt_date("valid_from")?.map(|d| d.to_string()),
        valid_to: r.opt_date("valid_to")?.map(|d| d.to_string()),
        active: r.boolean("active")?,
        items: vec![],
        account_ids: vec![],
        version: r.i64("version")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

async fn hydrate(tx: &mut Tx, tenant_id: i64, mut l: PriceList) -> StoreResult<PriceList> {
    let currency = l.currency;
    l.items = tx
        .fetch_all(
            "SELECT i.min_quantity_e4, i.price_e4, p.public_id, p.sku FROM price_list_items i \
             JOIN products p ON p.tenant_id = i.tenant_id AND p.id = i.product_id \
             WHERE i.tenant_id = $1 AND i.price_list_id = $2 ORDER BY p.sku, i.min_quantity_e4",
            args![tenant_id, l.key],
            |r| {
                Ok(PriceListItem {
                    product_id: PublicId::from_uuid(r.uuid("public_id")?),
                    sku: r.text("sku")?,
                    min_quantity: format_quantity(r.i64("min_quantity_e4")?),
                    price: format_unit_price(r.i64("price_e4")?, currency),
                })
            },
        )
        .await?;
    l.account_ids = tx
        .fetch_all(
            "SELECT a.public_id FROM account_price_lists ap JOIN accounts a ON a.tenant_id = ap.tenant_id \
             AND a.id = ap.account_id WHERE ap.tenant_id = $1 AND ap.price_list_id = $2 ORDER BY a.id",
            args![tenant_id, l.key],
            |r| Ok(PublicId::from_uuid(r.uuid("public_id")?)),
        )
        .await?;
    Ok(l)
}

pub async fn list(tx: &mut Tx, tenant_id: i64) -> StoreResult<Vec<PriceList>> {
    let lists =
        tx.fetch_all(format!("{SELECT} WHERE tenant_id = $1 ORDER BY name_key"), args![tenant_id], decode).await?;
    let mut out = Vec::with_capacity(lists.len());
    for l in lists {
        out.push(hydrate(tx, tenant_id, l).await?);
    }
    Ok(out)
}

pub async fn get(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<Option<PriceList>> {
    match tx
        .fetch_optional(format!("{SELECT} WHERE tenant_id = $1 AND public_id = $2"), args![tenant_id, id], decode)
        .await?
    {
        Some(l) => Ok(Some(hydrate(tx, tenant_id, l).await?)),
        None => Ok(None),
    }
}

/// One price as given.
#[derive(Debug, Clone)]
pub struct ItemInput {
    pub product_id: PublicId,
    pub min_quantity: String,
    pub price: String,
}

/// A price list's fields; `None` lists keep the current ones on update.
#[derive(Debug, Clone)]
pub struct PriceListInput {
    pub name: String,
    pub currency: Currency,
    pub valid_from: Option<Date>,
    pub valid_to: Option<Date>,
    pub active: bool,
    pub items: Option<Vec<ItemInput>>,
    pub account_ids: Option<Vec<PublicId>>,
}

fn duplicate(name: &str) -> DomainError {
    DomainError::Conflict(format!("a price list named {name} already exists"))
}

async fn write_children(tx: &mut Tx, tenant_id: i64, key: i64, input: &PriceListInput) -> StoreResult<()> {
    if let Some(items) = &input.items {
        tx.execute("DELETE FROM price_list_items WHERE tenant_id = $1 AND price_list_id = $2", args![tenant_id, key])
            .await?;
        let mut seen: Vec<(i64, i64)> = Vec::new();
        for (i, it) in items.iter().enumerate() {
            let mut v = Validator::new();
            let min = v.check(&format!("items[{i}].min_quantity"), parse_quantity(&it.min_quantity));
            let price = v.check(&format!("items[{i}].price"), parse_unit_price(&it.price));
            if min.is_some_and(|m| m < 0) {
                v.add(format!("items[{i}].min_quantity"), "must not be negative");
            }
            v.finish()?;
            let product = get_product(tx, tenant_id, it.product_id)
                .await?
                .ok_or_else(|| DomainError::invalid(format!("items[{i}].product_id"), "is not the id of a product"))?;
            let min = min.expect("checked");
            if seen.contains(&(product.key, min)) {
                return Err(DomainError::invalid(
                    format!("items[{i}].min_quantity"),
                    "this product already has a price from this quantity",
                )
                .into());
            }
            seen.push((product.key, min));
            tx.execute(
                "INSERT INTO price_list_items (tenant_id, price_list_id, product_id, min_quantity_e4, price_e4) VALUES ($1, $2, $3, $4, $5)",
                args![tenant_id, key, product.key, min, price.expect("checked")],
            )
            .await?;
        }
    }
    if let Some(accounts) = &input.account_ids {
        tx.execute(
            "DELETE FROM account_price_lists WHERE tenant_id = $1 AND price_list_id = $2",
            args![tenant_id, key],
        )
        .await?;
        for (i, a) in accounts.iter().enumerate() {
            let acc = crate::accounts::get(tx, tenant_id, *a)
                .await?
                .ok_or_else(|| DomainError::invalid(format!("account_ids[{i}]"), "is not the id of an account"))?;
            // An account buys at one list: assigning it here moves it from any other.
            tx.execute(
                "DELETE FROM account_price_lists WHERE tenant_id = $1 AND account_id = $2",
                args![tenant_id, acc.key],
            )
            .await?;
            tx.execute(
                "INSERT INTO account_price_lists (tenant_id, account_id, price_list_id) VALUES ($1, $2, $3)",
                args![tenant_id, acc.key, key],
            )
            .await?;
        }
    }
    Ok(())
}

fn check(input: &PriceListInput) -> Result<String, DomainError> {
    let mut v = Validator::new();
    let name = nave_domain::catalog::check_text(&mut v, "name", &input.name, 1, 100);
    nave_domain::tax::check_validity(&mut v, input.valid_from, input.valid_to);
    v.finish()?;
    Ok(name)
}

pub async fn create(tx: &mut Tx, actor: &Actor, input: PriceListInput) -> StoreResult<PriceList> {
    let name = check(&input)?;
    let id = PublicId::new();
    let sql = format!(
        "INSERT INTO price_lists (tenant_id, id, public_id, name, name_key, currency, valid_from, valid_to, active, version, \
         created_at, updated_at, created_by, updated_by) VALUES ($1, {}, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9, $10, $10) \
         RETURNING id",
        tx.new_id_expr("price_lists", "$1")
    );
    let a = args![
        actor.tenant_id,
        id,
        &name,
        name.to_lowercase(),
        input.currency.code(),
        input.valid_from,
        input.valid_to,
        input.active,
        now(),
        actor.user_id
    ];
    let r = tx.fetch_one(sql, a, |r| r.i64("id")).await;
    let key = on_unique(r, "price_lists_name_key", "price_lists.name_key", || duplicate(&name))?;
    write_children(tx, actor.tenant_id, key, &input).await?;
    let l = get(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "price_list" })?;
    audit::created(tx, actor, RecordType::PriceList, id, &l).await?;
    Ok(l)
}

pub async fn update(
    tx: &mut Tx,
    actor: &Actor,
    before: &PriceList,
    if_version: Option<i64>,
    input: PriceListInput,
) -> StoreResult<PriceList> {
    expect_version("price_list", before.version, if_version)?;
    let name = check(&input)?;
    let r = tx
        .execute(
            "UPDATE price_lists SET name = $3, name_key = $4, currency = $5, valid_from = $6, valid_to = $7, active = $8, \
             version = version + 1, updated_at = $9, updated_by = $10 WHERE tenant_id = $1 AND id = $2",
            args![
                actor.tenant_id,
                before.key,
                &name,
                name.to_lowercase(),
                input.currency.code(),
                input.valid_from,
                input.valid_to,
                input.active,
                now(),
                actor.user_id
            ],
        )
        .await;
    on_unique(r, "price_lists_name_key", "price_lists.name_key", || duplicate(&name))?;
    write_children(tx, actor.tenant_id, before.key, &input).await?;
    let after = get(tx, actor.tenant_id, before.id).await?.ok_or(DomainError::NotFound { record: "price_list" })?;
    audit::updated(tx, actor, RecordType::PriceList, after.id, after.version, before, &after).await?;
    Ok(after)
}

/// Deletes a price list; its accounts go back to list prices.
pub async fn delete(tx: &mut Tx, actor: &Actor, before: &PriceList, if_version: Option<i64>) -> StoreResult<()> {
    expect_version("price_list", before.version, if_version)?;
    tx.execute("DELETE FROM price_lists WHERE tenant_id = $1 AND id = $2", args![actor.tenant_id, before.key]).await?;
    audit::deleted(tx, actor, RecordType::PriceList, before.id, before.version + 1, before).await
}

/// A resolved price with its currency.
#[derive(Debug, Clone)]
pub struct PriceQuote {
    pub resolved: ResolvedPrice,
    pub currency: Currency,
}

/// The unit price `account_key` (if any) pays for `quantity` of `product` on `date`.
pub async fn resolve_price(
    tx: &mut Tx,
    tenant_id: i64,
    product: &Product,
    account_key: Option<i64>,
    quantity: i64,
    date: Date,
) -> StoreResult<PriceQuote> {
    let list = match account_key {
        Some(a) => {
            tx.fetch_optional(
                format!(
                    "{SELECT} WHERE tenant_id = $1 AND id = (SELECT price_list_id FROM account_price_lists \
                     WHERE tenant_id = $1 AND account_id = $2)"
                ),
                args![tenant_id, a],
                decode,
            )
            .await?
        }
        None => None,
    };
    resolve_in_list(tx, tenant_id, product, list.as_ref(), quantity, date).await
}

/// The unit price of `quantity` of `product` on `date` at `list` (the
/// product's list price without one, or when the list gives none): the same
/// resolution as [`resolve_price`], for a list chosen directly.
pub async fn resolve_in_list(
    tx: &mut Tx,
    tenant_id: i64,
    product: &Product,
    list: Option<&PriceList>,
    quantity: i64,
    date: Date,
) -> StoreResult<PriceQuote> {
    let list_price = parse_unit_price(&product.list_price).map_err(StoreError::Decode)?;
    let Some(list) = list else {
        return Ok(PriceQuote { resolved: resolve(list_price, None, quantity, date), currency: product.currency });
    };
    let breaks = tx
        .fetch_all(
            "SELECT min_quantity_e4, price_e4 FROM price_list_items WHERE tenant_id = $1 AND price_list_id = $2 AND product_id = $3",
            args![tenant_id, list.key, product.key],
            |r| Ok((r.i64("min_quantity_e4")?, r.i64("price_e4")?)),
        )
        .await?;
    let parse = crate::stored_date;
    let view = PriceListView {
        name: &list.name,
        active: list.active,
        valid_from: parse(&list.valid_from),
        valid_to: parse(&list.valid_to),
        breaks: &breaks,
    };
    let resolved = resolve(list_price, Some(&view), quantity, date);
    let currency = if resolved.from_price_list { list.currency } else { product.currency };
    Ok(PriceQuote { resolved, currency })
}
