//! The catalog: product categories (a tree of product lines), products and
//! warehouses.

use std::collections::HashMap;

use nave_domain::DomainError;
use nave_domain::access::RecordType;
use nave_domain::catalog::{ProductKind, check_sku, check_text};
use nave_domain::error::Validator;
use nave_domain::external_id::{ExternalId, check_external_ids};
use nave_domain::ids::PublicId;
use nave_domain::money::{Currency, format_unit_price, parse_unit_price};
use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::{self, Actor};
use crate::db::{DbRow, Tx, now};
use crate::external_ids::{self, PRODUCTS as EXTERNAL};
use crate::files;
use crate::page::{Cursor, ListSql, Page, Sort, SortColumn, SortCursor, SortValue};
use crate::{StoreError, StoreResult, args, expect_version, on_unique};

// ---------------------------------------------------------------- categories

/// A product category (product line) as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProductCategory {
    #[serde(skip)]
    pub key: i64,
    #[schema(value_type = String)]
    pub id: PublicId,
    pub name: String,
    #[schema(value_type = Option<String>)]
    pub parent_id: Option<PublicId>,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

const SELECT_CAT: &str = "SELECT c.id, c.public_id, c.name, c.version, c.created_at, c.updated_at, \
    p.public_id AS parent_public_id FROM product_categories c \
    LEFT JOIN product_categories p ON p.tenant_id = c.tenant_id AND p.id = c.parent_id";

fn decode_cat(r: &dyn DbRow) -> StoreResult<ProductCategory> {
    Ok(ProductCategory {
        key: r.i64("id")?,
        id: PublicId::from_uuid(r.uuid("public_id")?),
        name: r.text("name")?,
        parent_id: r.opt_uuid("parent_public_id")?.map(PublicId::from_uuid),
        version: r.i64("version")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

pub async fn list_categories(tx: &mut Tx, tenant_id: i64) -> StoreResult<Vec<ProductCategory>> {
    tx.fetch_all(format!("{SELECT_CAT} WHERE c.tenant_id = $1 ORDER BY c.name_key"), args![tenant_id], decode_cat).await
}

pub async fn get_category(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<Option<ProductCategory>> {
    tx.fetch_optional(
        format!("{SELECT_CAT} WHERE c.tenant_id = $1 AND c.public_id = $2"),
        args![tenant_id, id],
        decode_cat,
    )
    .await
}

async fn category_key(tx: &mut Tx, tenant_id: i64, id: PublicId, field: &str) -> StoreResult<i64> {
    get_category(tx, tenant_id, id)
        .await?
        .map(|c| c.key)
        .ok_or_else(|| DomainError::invalid(field, "is not the id of a product category").into())
}

/// Would `parent` under `child` close a loop?
async fn category_cycle(tx: &mut Tx, tenant_id: i64, child: i64, parent: i64) -> StoreResult<bool> {
    let mut cur = Some(parent);
    for _ in 0..1000 {
        let Some(c) = cur else { return Ok(false) };
        if c == child {
            return Ok(true);
        }
        cur = tx
            .fetch_optional(
                "SELECT parent_id FROM product_categories WHERE tenant_id = $1 AND id = $2",
                args![tenant_id, c],
                |r| r.opt_i64("parent_id"),
            )
            .await?
            .flatten();
    }
    Ok(true)
}

fn duplicate_cat(name: &str) -> DomainError {
    DomainError::Conflict(format!("a product category named {name} already exists"))
}

pub async fn create_category(
    tx: &mut Tx,
    actor: &Actor,
    name: &str,
    parent: Option<PublicId>,
) -> StoreResult<ProductCategory> {
    let mut v = Validator::new();
    let name = check_text(&mut v, "name", name, 1, 100);
    v.finish()?;
    let parent_key = match parent {
        Some(p) => Some(category_key(tx, actor.tenant_id, p, "parent_id").await?),
        None => None,
    };
    let id = PublicId::new();
    let sql = format!(
        "INSERT INTO product_categories (tenant_id, id, public_id, name, name_key, parent_id, version, created_at, \
         updated_at, created_by, updated_by) VALUES ($1, {}, $2, $3, $4, $5, 1, $6, $6, $7, $7)",
        tx.new_id_expr("product_categories", "$1")
    );
    let r =
        tx.execute(sql, args![actor.tenant_id, id, &name, name.to_lowercase(), parent_key, now(), actor.user_id]).await;
    on_unique(r, "product_categories_name_key", "product_categories.name_key", || duplicate_cat(&name))?;
    let c = get_category(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "product_category" })?;
    audit::created(tx, actor, RecordType::ProductCategory, id, &c).await?;
    Ok(c)
}

pub async fn update_category(
    tx: &mut Tx,
    actor: &Actor,
    before: &ProductCategory,
    if_version: Option<i64>,
    name: Option<&str>,
    parent: Option<Option<PublicId>>,
) -> StoreResult<ProductCategory> {
    expect_version("product_category", before.version, if_version)?;
    let mut v = Validator::new();
    let name = check_text(&mut v, "name", name.unwrap_or(&before.name), 1, 100);
    v.finish()?;
    let t = actor.tenant_id;
    let parent_key = match parent.unwrap_or(before.parent_id) {
        Some(p) => {
            let k = category_key(tx, t, p, "parent_id").await?;
            if category_cycle(tx, t, before.key, k).await? {
                return Err(DomainError::invalid("parent_id", "would make the category its own ancestor").into());
            }
            Some(k)
        }
        None => None,
    };
    let r = tx
        .execute(
            "UPDATE product_categories SET name = $3, name_key = $4, parent_id = $5, version = version + 1, \
             updated_at = $6, updated_by = $7 WHERE tenant_id = $1 AND id = $2",
            args![t, before.key, &name, name.to_lowercase(), parent_key, now(), actor.user_id],
        )
        .await;
    on_unique(r, "product_categories_name_key", "product_categories.name_key", || duplicate_cat(&name))?;
    let after = get_category(tx, t, before.id).await?.ok_or(DomainError::NotFound { record: "product_category" })?;
    audit::updated(tx, actor, RecordType::ProductCategory, after.id, after.version, before, &after).await?;
    Ok(after)
}

/// How many products each category holds directly, by category key.
pub async fn category_product_counts(tx: &mut Tx, tenant_id: i64) -> StoreResult<Vec<(i64, i64)>> {
    tx.fetch_all(
        "SELECT category_id, COUNT(*) AS n FROM products WHERE tenant_id = $1 AND category_id IS NOT NULL \
         GROUP BY category_id",
        args![tenant_id],
        |r| Ok((r.i64("category_id")?, r.i64("n")?)),
    )
    .await
}

/// Deletes a category without sub-categories or products; otherwise says what is in it.
pub async fn delete_category(
    tx: &mut Tx,
    actor: &Actor,
    before: &ProductCategory,
    if_version: Option<i64>,
) -> StoreResult<()> {
    expect_version("product_category", before.version, if_version)?;
    let t = actor.tenant_id;
    let children = tx
        .scalar_i64(
            "SELECT COUNT(*) AS v FROM product_categories WHERE tenant_id = $1 AND parent_id = $2",
            args![t, before.key],
        )
        .await?;
    let products = tx
        .scalar_i64(
            "SELECT COUNT(*) AS v FROM products WHERE tenant_id = $1 AND category_id = $2",
            args![t, before.key],
        )
        .await?;
    if children + products > 0 {
        return Err(DomainError::Conflict(format!(
            "the category {} still holds {children} sub-categories and {products} product(s)",
            before.name
        ))
        .into());
    }
    tx.execute("DELETE FROM product_categories WHERE tenant_id = $1 AND id = $2", args![t, before.key]).await?;
    audit::deleted(tx, actor, RecordType::ProductCategory, before.id, before.version + 1, before).await
}

// ------------------------------------------------------------------ products

/// A product as the API shows it. `cost` is field-secured.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Product {
    #[serde(skip)]
    pub key: i64,
    #[serde(skip)]
    pub category_key: Option<i64>,
    #[serde(skip)]
    pub tax_category_key: Option<i64>,
    #[schema(value_type = String)]
    pub id: PublicId,
    pub sku: String,
    pub name: String,
    pub description: String,
    #[schema(value_type = String, example = "goods")]
    pub kind: ProductKind,
    /// Unit of measure, e.g. `pc`, `kg`, `h`.
    pub unit: String,
    #[schema(value_type = Option<String>)]
    pub category_id: Option<PublicId>,
    #[schema(value_type = String, example = "USD")]
    pub currency: Currency,
    /// Unit list price in `currency`, up to 4 decimals.
    #[schema(example = "12.50")]
    pub list_price: String,
    /// Unit cost in the company's currency (moving average once stock is received).
    /// Absent without `view_cost`.
    #[schema(example = "7.25")]
    pub cost: String,
    #[schema(value_type = Option<String>)]
    pub tax_category_id: Option<PublicId>,
    /// Weight in kg, up to 4 decimals.
    pub weight_kg: Option<String>,
    pub barcode: Option<String>,
    pub notes: String,
    pub active: bool,
    /// What a kit is made of (kits only), in order.
    pub components: Vec<Component>,
    /// Who supplies the product; `cost` per supplier is field-secured.
    pub suppliers: Vec<ProductSupplier>,
    /// The product's ids in other systems (web shop, ERP), one per system.
    #[schema(value_type = Vec<crate::external_ids::ExternalIdSchema>)]
    pub external_ids: Vec<ExternalId>,
    /// The product's picture, if one was uploaded.
    pub picture: Option<Picture>,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

/// One component of a kit.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Component {
    #[schema(value_type = String)]
    pub product_id: PublicId,
    pub sku: String,
    /// Units of the component in one kit.
    pub quantity: String,
}

/// One supplier of a product.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProductSupplier {
    /// The supplier account.
    #[schema(value_type = String)]
    pub supplier_id: PublicId,
    pub supplier_name: String,
    /// The supplier's own code for the product.
    pub supplier_code: Option<String>,
    /// The supplier's unit cost, in the supplier account's currency.
    pub cost: String,
    pub currency: String,
    pub lead_time_days: i64,
    pub min_quantity: String,
    pub preferred: bool,
}

/// A product's picture: fetch it at `url`, a thumbnail at `thumbnail_url`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Picture {
    #[schema(example = "image/jpeg")]
    pub content_type: String,
    pub byte_size: i64,
    pub width: i64,
    pub height: i64,
    /// SHA-256 of the picture (hex), also its `ETag`.
    pub sha256: String,
    #[schema(example = "/api/v1/products/0190a5c4-0000-7000-8000-000000000000/picture")]
    pub url: String,
    /// A PNG of at most 160 × 160 pixels.
    pub thumbnail_url: String,
    #[serde(skip)]
    pub file_key: i64,
    #[serde(skip)]
    pub thumbnail_key: i64,
}

/// A picture checked and made ready by the caller (decoded, thumbnail drawn).
#[derive(Debug, Clone)]
pub struct NewPicture {
    pub content_type: String,
    pub data: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// The thumbnail, as PNG.
    pub thumbnail_png: Vec<u8>,
}

/// A kit component as given.
#[derive(Debug, Clone)]
pub struct ComponentInput {
    pub product_id: PublicId,
    pub quantity: String,
}

/// A product supplier as given.
#[derive(Debug, Clone)]
pub struct SupplierInput {
    pub supplier_id: PublicId,
    pub supplier_code: Option<String>,
    pub cost: String,
    pub lead_time_days: i64,
    pub min_quantity: String,
    pub preferred: bool,
}

/// Fills in the components and suppliers of products (two queries for any number).
async fn with_parts(tx: &mut Tx, tenant_id: i64, mut products: Vec<Product>) -> StoreResult<Vec<Product>> {
    if products.is_empty() {
        return Ok(products);
    }
    let keys: Vec<String> = products.iter().map(|p| p.key.to_string()).collect();
    // Keys are integers from the database, safe to inline.
    let list = keys.join(", ");
    let comps = tx
        .fetch_all(
            format!(
                "SELECT pc.kit_id, pc.quantity_e4, c.public_id, c.sku FROM product_components pc \
                 JOIN products c ON c.tenant_id = pc.tenant_id AND c.id = pc.component_id \
                 WHERE pc.tenant_id = $1 AND pc.kit_id IN ({list}) ORDER BY pc.kit_id, pc.position"
            ),
            args![tenant_id],
            |r| {
                Ok((
                    r.i64("kit_id")?,
                    Component {
                        product_id: PublicId::from_uuid(r.uuid("public_id")?),
                        sku: r.text("sku")?,
                        quantity: nave_domain::stock::format_quantity(r.i64("quantity_e4")?),
                    },
                ))
            },
        )
        .await?;
    let sups = tx
        .fetch_all(
            format!(
                "SELECT ps.product_id, ps.supplier_code, ps.cost_e4, ps.lead_time_days, ps.min_quantity_e4, ps.preferred, \
                 a.public_id, a.name, a.currency FROM product_suppliers ps \
                 JOIN accounts a ON a.tenant_id = ps.tenant_id AND a.id = ps.supplier_id \
                 WHERE ps.tenant_id = $1 AND ps.product_id IN ({list}) ORDER BY ps.product_id, ps.position"
            ),
            args![tenant_id],
            |r| {
                let cur = Currency::parse(&r.text("currency")?).map_err(|e| StoreError::Decode(e.to_string()))?;
                Ok((
                    r.i64("product_id")?,
                    ProductSupplier {
                        supplier_id: PublicId::from_uuid(r.uuid("public_id")?),
                        supplier_name: r.text("name")?,
                        supplier_code: r.opt_text("supplier_code")?,
                        cost: format_unit_price(r.i64("cost_e4")?, cur),
                        currency: cur.code().to_string(),
                        lead_time_days: r.i64("lead_time_days")?,
                        min_quantity: nave_domain::stock::format_quantity(r.i64("min_quantity_e4")?),
                        preferred: r.boolean("preferred")?,
                    },
                ))
            },
        )
        .await?;
    let owners: Vec<i64> = products.iter().map(|p| p.key).collect();
    let ext = external_ids::load(tx, EXTERNAL, tenant_id, &owners).await?;
    let pics = tx
        .fetch_all(
            format!(
                "SELECT pp.product_id, pp.file_id, pp.thumbnail_file_id, pp.width, pp.height, f.content_type,                  f.byte_size, f.sha256 FROM product_pictures pp                  JOIN stored_files f ON f.tenant_id = pp.tenant_id AND f.id = pp.file_id                  WHERE pp.tenant_id = $1 AND pp.product_id IN ({list})"
            ),
            args![tenant_id],
            |r| {
                Ok((
                    r.i64("product_id")?,
                    Picture {
                        content_type: r.text("content_type")?,
                        byte_size: r.i64("byte_size")?,
                        width: r.i64("width")?,
                        height: r.i64("height")?,
                        sha256: r.text("sha256")?,
                        url: String::new(),
                        thumbnail_url: String::new(),
                        file_key: r.i64("file_id")?,
                        thumbnail_key: r.i64("thumbnail_file_id")?,
                    },
                ))
            },
        )
        .await?;
    for p in &mut products {
        p.components = comps.iter().filter(|(k, _)| *k == p.key).map(|(_, c)| c.clone()).collect();
        p.suppliers = sups.iter().filter(|(k, _)| *k == p.key).map(|(_, s)| s.clone()).collect();
        p.external_ids = ext.iter().filter(|(k, _)| *k == p.key).map(|(_, e)| e.clone()).collect();
        p.picture = pics.iter().find(|(k, _)| *k == p.key).map(|(_, pic)| Picture {
            url: format!("/api/v1/products/{}/picture", p.id),
            thumbnail_url: format!("/api/v1/products/{}/picture?size=thumbnail", p.id),
            ..pic.clone()
        });
    }
    Ok(products)
}

/// Replaces a product's components and suppliers, checking each.
async fn write_parts(
    tx: &mut Tx,
    tenant_id: i64,
    product_key: i64,
    kind: ProductKind,
    components: Option<&[ComponentInput]>,
    suppliers: Option<&[SupplierInput]>,
) -> StoreResult<()> {
    if let Some(comps) = components {
        if kind != ProductKind::Kit && !comps.is_empty() {
            return Err(DomainError::invalid("components", "only kits have components").into());
        }
        tx.execute(
            "DELETE FROM product_components WHERE tenant_id = $1 AND kit_id = $2",
            args![tenant_id, product_key],
        )
        .await?;
        let mut seen = Vec::new();
        for (i, c) in comps.iter().enumerate() {
            let field = format!("components[{i}]");
            let q = nave_domain::stock::parse_quantity(&c.quantity)
                .map_err(|m| DomainError::invalid(format!("{field}.quantity"), m))?;
            if q <= 0 {
                return Err(DomainError::invalid(format!("{field}.quantity"), "must be above 0").into());
            }
            let part = get_product_row(tx, tenant_id, c.product_id)
                .await?
                .ok_or_else(|| DomainError::invalid(format!("{field}.product_id"), "is not the id of a product"))?;
            if part.key == product_key || part.kind == ProductKind::Kit {
                return Err(DomainError::invalid(
                    format!("{field}.product_id"),
                    "a kit is made of goods and services, not of kits",
                )
                .into());
            }
            if seen.contains(&part.key) {
                return Err(DomainError::invalid(format!("{field}.product_id"), "is listed twice").into());
            }
            seen.push(part.key);
            tx.execute(
                "INSERT INTO product_components (tenant_id, kit_id, component_id, quantity_e4, position) VALUES ($1, $2, $3, $4, $5)",
                args![tenant_id, product_key, part.key, q, i as i64],
            )
            .await?;
        }
    }
    if kind == ProductKind::Kit {
        let n = tx
            .scalar_i64(
                "SELECT COUNT(*) AS v FROM product_components WHERE tenant_id = $1 AND kit_id = $2",
                args![tenant_id, product_key],
            )
            .await?;
        if n == 0 {
            return Err(DomainError::invalid("components", "a kit needs at least one component").into());
        }
    } else if components.is_none() {
        tx.execute(
            "DELETE FROM product_components WHERE tenant_id = $1 AND kit_id = $2",
            args![tenant_id, product_key],
        )
        .await?;
    }
    if let Some(sups) = suppliers {
        tx.execute(
            "DELETE FROM product_suppliers WHERE tenant_id = $1 AND product_id = $2",
            args![tenant_id, product_key],
        )
        .await?;
        if sups.iter().filter(|s| s.preferred).count() > 1 {
            return Err(DomainError::invalid("suppliers", "at most one supplier may be preferred").into());
        }
        let mut seen = Vec::new();
        for (i, s) in sups.iter().enumerate() {
            let field = format!("suppliers[{i}]");
            let mut v = Validator::new();
            let cost = v.check(&format!("{field}.cost"), parse_unit_price(&s.cost));
            let min = v.check(&format!("{field}.min_quantity"), nave_domain::stock::parse_quantity(&s.min_quantity));
            if !(0..=3650).contains(&s.lead_time_days) {
                v.add(format!("{field}.lead_time_days"), "must be between 0 and 3650");
            }
            if min.is_some_and(|m| m < 0) {
                v.add(format!("{field}.min_quantity"), "must not be negative");
            }
            let code =
                s.supplier_code.as_deref().map(|c| check_text(&mut v, &format!("{field}.supplier_code"), c, 0, 64));
            v.finish()?;
            let acc = crate::accounts::get(tx, tenant_id, s.supplier_id)
                .await?
                .ok_or_else(|| DomainError::invalid(format!("{field}.supplier_id"), "is not the id of an account"))?;
            if !acc.kinds.contains(&nave_domain::account::AccountKind::Supplier) {
                return Err(DomainError::invalid(
                    format!("{field}.supplier_id"),
                    format!("{} is not a supplier", acc.name),
                )
                .into());
            }
            if seen.contains(&acc.key) {
                return Err(DomainError::invalid(format!("{field}.supplier_id"), "is listed twice").into());
            }
            seen.push(acc.key);
            tx.execute(
                "INSERT INTO product_suppliers (tenant_id, product_id, supplier_id, supplier_code, cost_e4, lead_time_days, \
                 min_quantity_e4, preferred, position) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                args![
                    tenant_id,
                    product_key,
                    acc.key,
                    code.filter(|c| !c.is_empty()),
                    cost.expect("checked"),
                    s.lead_time_days,
                    min.expect("checked"),
                    s.preferred,
                    i as i64
                ],
            )
            .await?;
        }
    }
    Ok(())
}

const SELECT_PRODUCT: &str = "SELECT p.id, p.public_id, p.sku, p.name, p.description, p.kind, p.unit, p.category_id, \
    p.currency, p.list_price_e4, p.cost_e4, p.tax_category_id, p.weight_kg_e4, p.barcode, p.notes, p.active, p.version, \
    p.created_at, p.updated_at, c.public_id AS category_public_id, tc.public_id AS tax_category_public_id, \
    t.currency AS company_currency \
    FROM products p JOIN tenants t ON t.id = p.tenant_id \
    LEFT JOIN product_categories c ON c.tenant_id = p.tenant_id AND c.id = p.category_id \
    LEFT JOIN tax_categories tc ON tc.tenant_id = p.tenant_id AND tc.id = p.tax_category_id";

fn decode_product(r: &dyn DbRow) -> StoreResult<Product> {
    let bad = |e: String| StoreError::Decode(e);
    let currency = Currency::parse(&r.text("currency")?).map_err(|e| bad(e.to_string()))?;
    let company = Currency::parse(&r.text("company_currency")?).map_err(|e| bad(e.to_string()))?;
    let kind = ProductKind::parse(&r.text("kind")?).ok_or_else(|| bad("unknown product kind".into()))?;
    Ok(Product {
        key: r.i64("id")?,
        category_key: r.opt_i64("category_id")?,
        tax_category_key: r.opt_i64("tax_category_id")?,
        id: PublicId::from_uuid(r.uuid("public_id")?),
        sku: r.text("sku")?,
        name: r.text("name")?,
        description: r.text("description")?,
        kind,
        unit: r.text("unit")?,
        category_id: r.opt_uuid("category_public_id")?.map(PublicId::from_uuid),
        currency,
        list_price: format_unit_price(r.i64("list_price_e4")?, currency),
        cost: format_unit_price(r.i64("cost_e4")?, company),
        tax_category_id: r.opt_uuid("tax_category_public_id")?.map(PublicId::from_uuid),
        weight_kg: r.opt_i64("weight_kg_e4")?.map(|w| rust_decimal::Decimal::new(w, 4).normalize().to_string()),
        barcode: r.opt_text("barcode")?,
        notes: r.text("notes")?,
        active: r.boolean("active")?,
        components: vec![],
        suppliers: vec![],
        external_ids: vec![],
        picture: None,
        version: r.i64("version")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

/// A product without its components and suppliers.
/// The product's own row, without its components, suppliers, external ids
/// and pictures (left empty): what stock booking and costing read, in one
/// statement instead of five.
pub(crate) async fn get_product_row(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<Option<Product>> {
    tx.fetch_optional(
        format!("{SELECT_PRODUCT} WHERE p.tenant_id = $1 AND p.public_id = $2"),
        args![tenant_id, id],
        decode_product,
    )
    .await
}

pub async fn get_product(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<Option<Product>> {
    product_where(tx, tenant_id, "p.public_id = $2", id.into()).await
}

/// The product holding this id in another system, if any.
pub async fn get_product_by_external_id(
    tx: &mut Tx,
    tenant_id: i64,
    e: &nave_domain::external_id::ExternalId,
) -> StoreResult<Option<Product>> {
    match external_ids::owner_of(tx, EXTERNAL, tenant_id, e).await? {
        Some(key) => product_where(tx, tenant_id, "p.id = $2", key.into()).await,
        None => Ok(None),
    }
}

/// Several products by id, with their parts, in as many statements as one:
/// those found, keyed by id (unknown ids are left out).
pub async fn get_products(tx: &mut Tx, tenant_id: i64, ids: &[PublicId]) -> StoreResult<HashMap<PublicId, Product>> {
    let mut unique: Vec<PublicId> = ids.to_vec();
    unique.sort_unstable_by_key(|id| id.as_uuid());
    unique.dedup();
    if unique.is_empty() {
        return Ok(HashMap::new());
    }
    let mut a = args![tenant_id];
    let marks = crate::db::bind(&mut a, unique.iter().map(|id| crate::db::Arg::from(*id)));
    let rows = tx
        .fetch_all(
            format!("{SELECT_PRODUCT} WHERE p.tenant_id = $1 AND p.public_id IN ({})", marks.join(", ")),
            a,
            decode_product,
        )
        .await?;
    Ok(with_parts(tx, tenant_id, rows).await?.into_iter().map(|p| (p.id, p)).collect())
}

/// The one product matching `cond` (on `$2`), with its parts.
async fn product_where(tx: &mut Tx, tenant_id: i64, cond: &str, value: crate::db::Arg) -> StoreResult<Option<Product>> {
    let row = tx
        .fetch_optional(
            format!("{SELECT_PRODUCT} WHERE p.tenant_id = $1 AND {cond}"),
            vec![tenant_id.into(), value],
            decode_product,
        )
        .await?;
    match row {
        Some(p) => Ok(with_parts(tx, tenant_id, vec![p]).await?.pop()),
        None => Ok(None),
    }
}

/// The product with this SKU (case-insensitive), if any.
pub async fn get_product_by_sku(tx: &mut Tx, tenant_id: i64, sku: &str) -> StoreResult<Option<Product>> {
    product_where(tx, tenant_id, "p.sku_key = $2", sku.trim().to_lowercase().into()).await
}

/// The product category with this name (case-insensitive), if any.
pub async fn get_category_by_name(tx: &mut Tx, tenant_id: i64, name: &str) -> StoreResult<Option<ProductCategory>> {
    tx.fetch_optional(
        format!("{SELECT_CAT} WHERE c.tenant_id = $1 AND c.name_key = $2"),
        args![tenant_id, name.trim().to_lowercase()],
        decode_cat,
    )
    .await
}

/// Filters of the product list.
#[derive(Debug, Clone)]
pub struct ProductQuery {
    /// `None` = both.
    pub active: Option<bool>,
    pub kind: Option<ProductKind>,
    pub category_key: Option<i64>,
    /// The product holding this id in another system.
    pub external_id: Option<ExternalId>,
    /// Words that must each begin the SKU or a word of the name.
    pub words: Vec<String>,
    pub cursor: Option<Cursor>,
    /// The order; the list's own (no column) pages by `cursor`, the others by `sorted_after`.
    pub sort: Sort<Product>,
    pub sorted_after: Option<SortCursor>,
    pub limit: i64,
}

/// The columns the product list sorts by (`?sort=`); without one, oldest first.
pub static PRODUCT_SORTS: &[SortColumn<Product>] = &[
    SortColumn { name: "sku", sql: "p.sku", value: |p| SortValue::Text(p.sku.clone()) },
    SortColumn { name: "name", sql: "p.name", value: |p| SortValue::Text(p.name.clone()) },
];

impl Default for ProductQuery {
    fn default() -> Self {
        Self {
            active: Some(true),
            kind: None,
            category_key: None,
            external_id: None,
            words: vec![],
            cursor: None,
            sort: Sort::default(),
            sorted_after: None,
            limit: 50,
        }
    }
}

pub async fn list_products(tx: &mut Tx, tenant_id: i64, q: &ProductQuery) -> StoreResult<Page<Product>> {
    let mut f = ListSql::new(SELECT_PRODUCT, "p.tenant_id", tenant_id);
    f.and_some("p.active = ?", q.active);
    f.and_some("p.kind = ?", q.kind.map(|k| k.as_str()));
    f.and_some("p.category_id = ?", q.category_key);
    if let Some(e) = &q.external_id {
        external_ids::push_filter(EXTERNAL, "p.id", e, &mut f);
    }
    for w in &q.words {
        let w = w.to_uppercase();
        f.and_all(
            "(UPPER(p.sku) LIKE ? OR UPPER(p.name) LIKE ? OR UPPER(p.name) LIKE ?)",
            crate::args![format!("{w}%"), format!("{w}%"), format!("% {w}%")],
        );
    }
    let limit = f.sorted_page("p.id", false, q.sort, q.cursor, q.sorted_after.as_ref(), q.limit);
    let rows = tx.fetch_all(f.sql, f.args, decode_product).await?;
    let page = Page::from_rows(rows, limit, |p| p.key);
    let items = with_parts(tx, tenant_id, page.items).await?;
    Ok(Page { items, next: page.next })
}

/// A product's fields as given (text where the API takes decimal strings).
#[derive(Debug, Clone)]
pub struct ProductInput {
    pub sku: String,
    pub name: String,
    pub description: String,
    pub kind: ProductKind,
    pub unit: String,
    pub category_id: Option<PublicId>,
    pub currency: Currency,
    pub list_price: String,
    pub cost: String,
    pub tax_category_id: Option<PublicId>,
    pub weight_kg: Option<String>,
    pub barcode: Option<String>,
    pub notes: String,
    pub active: bool,
    /// Kit components; `None` keeps them (updates) or means none (creates).
    pub components: Option<Vec<ComponentInput>>,
    /// Suppliers; `None` keeps them (updates) or means none (creates).
    pub suppliers: Option<Vec<SupplierInput>>,
    /// Ids in other systems; `None` keeps them (updates) or means none (creates).
    pub external_ids: Option<Vec<ExternalId>>,
}

struct CheckedProduct {
    sku: String,
    name: String,
    description: String,
    unit: String,
    list_price_e4: i64,
    cost_e4: i64,
    weight_kg_e4: Option<i64>,
    barcode: Option<String>,
    notes: String,
    category_key: Option<i64>,
    tax_category_key: Option<i64>,
    external_ids: Option<Vec<ExternalId>>,
}

async fn check_product(tx: &mut Tx, tenant_id: i64, p: &ProductInput) -> StoreResult<CheckedProduct> {
    let mut v = Validator::new();
    let sku = check_sku(&mut v, &p.sku);
    let name = check_text(&mut v, "name", &p.name, 1, 200);
    let description = check_text(&mut v, "description", &p.description, 0, 10_000);
    let unit = check_text(&mut v, "unit", &p.unit, 1, 20);
    let notes = check_text(&mut v, "notes", &p.notes, 0, 10_000);
    let list_price_e4 = v.check("list_price", parse_unit_price(&p.list_price));
    let cost_e4 = v.check("cost", parse_unit_price(&p.cost));
    let weight_kg_e4 = match &p.weight_kg {
        Some(w) => v.check("weight_kg", parse_unit_price(w)),
        None => None,
    };
    let barcode = p.barcode.as_deref().map(|b| check_text(&mut v, "barcode", b, 0, 64)).filter(|b| !b.is_empty());
    let external_ids = p.external_ids.as_deref().map(|e| check_external_ids(&mut v, "external_ids", e));
    v.finish()?;
    let category_key = match p.category_id {
        Some(c) => Some(category_key(tx, tenant_id, c, "category_id").await?),
        None => None,
    };
    let tax_category_key = match p.tax_category_id {
        Some(c) => Some(
            crate::taxes::get_category(tx, tenant_id, c)
                .await?
                .ok_or_else(|| DomainError::invalid("tax_category_id", "is not the id of a tax category"))?
                .key,
        ),
        None => None,
    };
    Ok(CheckedProduct {
        sku,
        name,
        description,
        unit,
        list_price_e4: list_price_e4.expect("checked"),
        cost_e4: cost_e4.expect("checked"),
        weight_kg_e4,
        barcode,
        notes,
        category_key,
        tax_category_key,
        external_ids,
    })
}

/// The values of `$3` to `$19` in both the insert and the update of a product.
fn product_args(c: &CheckedProduct, input: &ProductInput, actor: &Actor) -> Vec<crate::db::Arg> {
    args![
        &c.sku,
        c.sku.to_lowercase(),
        &c.name,
        &c.description,
        input.kind.as_str(),
        &c.unit,
        c.category_key,
        input.currency.code(),
        c.list_price_e4,
        c.cost_e4,
        c.tax_category_key,
        c.weight_kg_e4,
        c.barcode.clone(),
        &c.notes,
        input.active,
        now(),
        actor.user_id
    ]
}

fn duplicate_sku(sku: &str) -> DomainError {
    DomainError::Conflict(format!("a product with the SKU {sku} already exists"))
}

pub async fn create_product(tx: &mut Tx, actor: &Actor, input: ProductInput) -> StoreResult<Product> {
    let c = check_product(tx, actor.tenant_id, &input).await?;
    let id = PublicId::new();
    let sql = format!(
        "INSERT INTO products (tenant_id, id, public_id, sku, sku_key, name, description, kind, unit, category_id, \
         currency, list_price_e4, cost_e4, tax_category_id, weight_kg_e4, barcode, notes, active, version, created_at, \
         updated_at, created_by, updated_by) VALUES ($1, {}, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
         $15, $16, $17, 1, $18, $18, $19, $19)",
        tx.new_id_expr("products", "$1")
    );
    let mut a = args![actor.tenant_id, id];
    a.extend(product_args(&c, &input, actor));
    let r = tx.execute(sql, a).await;
    on_unique(r, "products_sku_key", "products.sku_key", || duplicate_sku(&c.sku))?;
    let key = get_product_row(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "product" })?.key;
    let none_c: &[ComponentInput] = &[];
    let none_s: &[SupplierInput] = &[];
    let comps = input.components.as_deref().unwrap_or(none_c);
    let sups = input.suppliers.as_deref().unwrap_or(none_s);
    write_parts(tx, actor.tenant_id, key, input.kind, Some(comps), Some(sups)).await?;
    external_ids::replace(tx, EXTERNAL, actor.tenant_id, key, c.external_ids.as_deref().unwrap_or_default()).await?;
    let p = get_product(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "product" })?;
    audit::created(tx, actor, RecordType::Product, id, &p).await?;
    Ok(p)
}

impl crate::sync::Guarded for ProductInput {
    type Record = Product;

    /// The input is whole (the caller merged its patch into the product), so
    /// a field is set when its text differs from the product's.
    fn sets(&self, field: &str, b: &Product) -> bool {
        match field {
            "sku" => self.sku != b.sku,
            "name" => self.name != b.name,
            "description" => self.description != b.description,
            "kind" => self.kind != b.kind,
            "unit" => self.unit != b.unit,
            "category_id" => self.category_id != b.category_id,
            "currency" => self.currency != b.currency,
            "list_price" => self.list_price != b.list_price,
            "cost" => self.cost != b.cost,
            "tax_category_id" => self.tax_category_id != b.tax_category_id,
            "weight_kg" => self.weight_kg != b.weight_kg,
            "barcode" => self.barcode != b.barcode,
            "notes" => self.notes != b.notes,
            "active" => self.active != b.active,
            _ => false,
        }
    }

    fn keep(&mut self, field: &str, b: &Product) {
        match field {
            "sku" => self.sku = b.sku.clone(),
            "name" => self.name = b.name.clone(),
            "description" => self.description = b.description.clone(),
            "kind" => self.kind = b.kind,
            "unit" => self.unit = b.unit.clone(),
            "category_id" => self.category_id = b.category_id,
            "currency" => self.currency = b.currency,
            "list_price" => self.list_price = b.list_price.clone(),
            "cost" => self.cost = b.cost.clone(),
            "tax_category_id" => self.tax_category_id = b.tax_category_id,
            "weight_kg" => self.weight_kg = b.weight_kg.clone(),
            "barcode" => self.barcode = b.barcode.clone(),
            "notes" => self.notes = b.notes.clone(),
            "active" => self.active = b.active,
            _ => {}
        }
    }
}

/// Replaces a product's fields (the caller merged the patch into `input`)
/// under the master rules (see `accounts::update`).
pub async fn update_product(
    tx: &mut Tx,
    actor: &Actor,
    before: &Product,
    if_version: Option<i64>,
    mut input: ProductInput,
) -> StoreResult<Product> {
    expect_version("product", before.version, if_version)?;
    let held = crate::sync::held(tx, actor, RecordType::Product, &input, before).await?;
    if !held.is_empty() {
        let sp = tx.savepoint().await?;
        let trial = write_product_update(tx, actor, before, input.clone()).await;
        tx.rollback_to(sp).await?;
        let record = (before.key, before.id);
        crate::sync::hold_back(tx, actor, RecordType::Product, record, &held, before, &trial?, &mut input).await?;
    }
    write_product_update(tx, actor, before, input).await
}

/// Writes a product's fields as given (the rules were applied by [`update_product`]).
async fn write_product_update(
    tx: &mut Tx,
    actor: &Actor,
    before: &Product,
    input: ProductInput,
) -> StoreResult<Product> {
    let c = check_product(tx, actor.tenant_id, &input).await?;
    let mut a = args![actor.tenant_id, before.key];
    a.extend(product_args(&c, &input, actor));
    let r = tx
        .execute(
            "UPDATE products SET sku = $3, sku_key = $4, name = $5, description = $6, kind = $7, unit = $8, \
             category_id = $9, currency = $10, list_price_e4 = $11, cost_e4 = $12, tax_category_id = $13, \
             weight_kg_e4 = $14, barcode = $15, notes = $16, active = $17, version = version + 1, updated_at = $18, \
             updated_by = $19 WHERE tenant_id = $1 AND id = $2",
            a,
        )
        .await;
    on_unique(r, "products_sku_key", "products.sku_key", || duplicate_sku(&c.sku))?;
    crate::sales_summary::move_product(tx, actor.tenant_id, before.key, before.category_key, c.category_key).await?;
    let (comps, sups) = (input.components.as_deref(), input.suppliers.as_deref());
    write_parts(tx, actor.tenant_id, before.key, input.kind, comps, sups).await?;
    if let Some(ext) = &c.external_ids {
        external_ids::replace(tx, EXTERNAL, actor.tenant_id, before.key, ext).await?;
    }
    let after =
        get_product(tx, actor.tenant_id, before.id).await?.ok_or(DomainError::NotFound { record: "product" })?;
    audit::updated(tx, actor, RecordType::Product, after.id, after.version, before, &after).await?;
    Ok(after)
}

/// Deletes a product that no kit and no stock movement refers to (documents
/// will be added to the check); otherwise archive it with `active: false`.
pub async fn delete_product(tx: &mut Tx, actor: &Actor, before: &Product, if_version: Option<i64>) -> StoreResult<()> {
    expect_version("product", before.version, if_version)?;
    let t = actor.tenant_id;
    let kits = tx
        .fetch_all(
            "SELECT k.sku FROM product_components pc JOIN products k ON k.tenant_id = pc.tenant_id AND k.id = pc.kit_id \
             WHERE pc.tenant_id = $1 AND pc.component_id = $2 ORDER BY k.sku",
            args![t, before.key],
            |r| r.text("sku"),
        )
        .await?;
    let movements = tx
        .scalar_i64(
            "SELECT COUNT(*) AS v FROM stock_movements WHERE tenant_id = $1 AND product_id = $2",
            args![t, before.key],
        )
        .await?;
    let lists = tx
        .fetch_all(
            "SELECT DISTINCT l.name FROM price_list_items i JOIN price_lists l ON l.tenant_id = i.tenant_id \
             AND l.id = i.price_list_id WHERE i.tenant_id = $1 AND i.product_id = $2 ORDER BY l.name",
            args![t, before.key],
            |r| r.text("name"),
        )
        .await?;
    if !kits.is_empty() || movements > 0 || !lists.is_empty() {
        let mut why = Vec::new();
        if !lists.is_empty() {
            why.push(format!("it is priced in the price lists {}", lists.join(", ")));
        }
        if !kits.is_empty() {
            why.push(format!("it is a component of the kits {}", kits.join(", ")));
        }
        if movements > 0 {
            why.push(format!("it has {movements} stock movement(s)"));
        }
        return Err(DomainError::Conflict(format!(
            "{} cannot be deleted: {}; set it inactive instead",
            before.sku,
            why.join(" and ")
        ))
        .into());
    }
    let owner = crate::attachments::Owner { record_type: RecordType::Product, key: before.key, id: before.id };
    crate::attachments::delete_for_record(tx, actor, owner).await?;
    crate::sync::delete_for_record(tx, t, RecordType::Product, before.key).await?;
    tx.execute("DELETE FROM products WHERE tenant_id = $1 AND id = $2", args![t, before.key]).await?;
    if let Some(pic) = &before.picture {
        files::delete(tx, t, &[pic.file_key, pic.thumbnail_key]).await?;
    }
    audit::deleted(tx, actor, RecordType::Product, before.id, before.version + 1, before).await
}

/// Sets (`Some`) or removes (`None`) a product's picture; the old picture's
/// files go with it. A new version of the product, audited like any change.
pub async fn set_picture(
    tx: &mut Tx,
    actor: &Actor,
    before: &Product,
    if_version: Option<i64>,
    picture: Option<NewPicture>,
) -> StoreResult<Product> {
    expect_version("product", before.version, if_version)?;
    let t = actor.tenant_id;
    tx.execute("DELETE FROM product_pictures WHERE tenant_id = $1 AND product_id = $2", args![t, before.key]).await?;
    if let Some(old) = &before.picture {
        files::delete(tx, t, &[old.file_key, old.thumbnail_key]).await?;
    }
    if let Some(p) = picture {
        let file = files::insert(tx, t, actor.user_id, &p.content_type, &p.data).await?;
        let thumb = files::insert(tx, t, actor.user_id, "image/png", &p.thumbnail_png).await?;
        tx.execute(
            "INSERT INTO product_pictures (tenant_id, product_id, file_id, thumbnail_file_id, width, height)              VALUES ($1, $2, $3, $4, $5, $6)",
            args![t, before.key, file, thumb, i64::from(p.width), i64::from(p.height)],
        )
        .await?;
    }
    tx.execute(
        "UPDATE products SET version = version + 1, updated_at = $3, updated_by = $4 WHERE tenant_id = $1 AND id = $2",
        args![t, before.key, now(), actor.user_id],
    )
    .await?;
    let after = get_product(tx, t, before.id).await?.ok_or(DomainError::NotFound { record: "product" })?;
    audit::updated(tx, actor, RecordType::Product, after.id, after.version, before, &after).await?;
    Ok(after)
}

/// The bytes of a product's picture or of its thumbnail.
pub async fn picture_file(
    tx: &mut Tx,
    tenant_id: i64,
    product: &Product,
    thumbnail: bool,
) -> StoreResult<Option<(files::StoredFile, Vec<u8>)>> {
    match &product.picture {
        Some(p) => files::get(tx, tenant_id, if thumbnail { p.thumbnail_key } else { p.file_key }).await,
        None => Ok(None),
    }
}

// ---------------------------------------------------------------- warehouses

/// A warehouse as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Warehouse {
    #[serde(skip)]
    pub key: i64,
    #[schema(value_type = String)]
    pub id: PublicId,
    pub name: String,
    /// Postal address, several lines.
    pub address: String,
    /// May shipments take stock below zero here? Default no.
    pub allow_negative_stock: bool,
    pub active: bool,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

const SELECT_WH: &str = "SELECT id, public_id, name, address, allow_negative_stock, active, version, created_at, \
    updated_at FROM warehouses";

fn decode_wh(r: &dyn DbRow) -> StoreResult<Warehouse> {
    Ok(Warehouse {
        key: r.i64("id")?,
        id: PublicId::from_uuid(r.uuid("public_id")?),
        name: r.text("name")?,
        address: r.text("address")?,
        allow_negative_stock: r.boolean("allow_negative_stock")?,
        active: r.boolean("active")?,
        version: r.i64("version")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

pub async fn list_warehouses(tx: &mut Tx, tenant_id: i64) -> StoreResult<Vec<Warehouse>> {
    tx.fetch_all(format!("{SELECT_WH} WHERE tenant_id = $1 ORDER BY name_key"), args![tenant_id], decode_wh).await
}

pub async fn get_warehouse(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<Option<Warehouse>> {
    tx.fetch_optional(format!("{SELECT_WH} WHERE tenant_id = $1 AND public_id = $2"), args![tenant_id, id], decode_wh)
        .await
}

/// A warehouse's fields.
#[derive(Debug, Clone)]
pub struct WarehouseInput {
    pub name: String,
    pub address: String,
    pub allow_negative_stock: bool,
    pub active: bool,
}

fn duplicate_wh(name: &str) -> DomainError {
    DomainError::Conflict(format!("a warehouse named {name} already exists"))
}

pub async fn create_warehouse(tx: &mut Tx, actor: &Actor, input: WarehouseInput) -> StoreResult<Warehouse> {
    let mut v = Validator::new();
    let name = check_text(&mut v, "name", &input.name, 1, 100);
    let address = check_text(&mut v, "address", &input.address, 0, 1000);
    v.finish()?;
    let id = PublicId::new();
    let sql = format!(
        "INSERT INTO warehouses (tenant_id, id, public_id, name, name_key, address, allow_negative_stock, active, \
         version, created_at, updated_at, created_by, updated_by) VALUES ($1, {}, $2, $3, $4, $5, $6, $7, 1, $8, $8, $9, $9)",
        tx.new_id_expr("warehouses", "$1")
    );
    let r = tx
        .execute(
            sql,
            args![
                actor.tenant_id,
                id,
                &name,
                name.to_lowercase(),
                &address,
                input.allow_negative_stock,
                input.active,
                now(),
                actor.user_id
            ],
        )
        .await;
    on_unique(r, "warehouses_name_key", "warehouses.name_key", || duplicate_wh(&name))?;
    let w = get_warehouse(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "warehouse" })?;
    audit::created(tx, actor, RecordType::Warehouse, id, &w).await?;
    Ok(w)
}

pub async fn update_warehouse(
    tx: &mut Tx,
    actor: &Actor,
    before: &Warehouse,
    if_version: Option<i64>,
    input: WarehouseInput,
) -> StoreResult<Warehouse> {
    expect_version("warehouse", before.version, if_version)?;
    let mut v = Validator::new();
    let name = check_text(&mut v, "name", &input.name, 1, 100);
    let address = check_text(&mut v, "address", &input.address, 0, 1000);
    v.finish()?;
    let r = tx
        .execute(
            "UPDATE warehouses SET name = $3, name_key = $4, address = $5, allow_negative_stock = $6, active = $7, \
             version = version + 1, updated_at = $8, updated_by = $9 WHERE tenant_id = $1 AND id = $2",
            args![
                actor.tenant_id,
                before.key,
                &name,
                name.to_lowercase(),
                &address,
                input.allow_negative_stock,
                input.active,
                now(),
                actor.user_id
            ],
        )
        .await;
    on_unique(r, "warehouses_name_key", "warehouses.name_key", || duplicate_wh(&name))?;
    let after =
        get_warehouse(tx, actor.tenant_id, before.id).await?.ok_or(DomainError::NotFound { record: "warehouse" })?;
    audit::updated(tx, actor, RecordType::Warehouse, after.id, after.version, before, &after).await?;
    Ok(after)
}

/// Deletes a warehouse without stock movements; otherwise set it inactive.
pub async fn delete_warehouse(
    tx: &mut Tx,
    actor: &Actor,
    before: &Warehouse,
    if_version: Option<i64>,
) -> StoreResult<()> {
    expect_version("warehouse", before.version, if_version)?;
    let movements = tx
        .scalar_i64(
            "SELECT COUNT(*) AS v FROM stock_movements WHERE tenant_id = $1 AND warehouse_id = $2",
            args![actor.tenant_id, before.key],
        )
        .await?;
    if movements > 0 {
        return Err(DomainError::Conflict(format!(
            "the warehouse {} has {movements} stock movement(s) and cannot be deleted; set it inactive instead",
            before.name
        ))
        .into());
    }
    tx.execute("DELETE FROM warehouses WHERE tenant_id = $1 AND id = $2", args![actor.tenant_id, before.key]).await?;
    audit::deleted(tx, actor, RecordType::Warehouse, before.id, before.version + 1, before).await
}
