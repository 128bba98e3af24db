//! `/api/v1/product-categories`, `/api/v1/products`, `/api/v1/warehouses`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use nave_domain::access::{Action, Capability, RecordType};
use nave_domain::catalog::ProductKind;
use nave_domain::error::ErrorCode;
use nave_domain::external_id::{ExternalId, parse_pair};
use nave_domain::ids::PublicId;
use nave_domain::money::Currency;
use nave_store::catalog::{
    self, ComponentInput, Product, ProductCategory, ProductInput, ProductQuery, SupplierInput, Warehouse,
    WarehouseInput,
};
use serde::Deserialize;

use super::{double_option, parse_id};
use crate::begin_write;
use crate::csv_export;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiAuth, ApiUpload, ApiWrite, ListParams, NoBody, Query};
use crate::present::{ListResponse, present, present_page};
use crate::state::AppState;

const CAT: RecordType = RecordType::ProductCategory;
const PRODUCT: RecordType = RecordType::Product;
const WH: RecordType = RecordType::Warehouse;

// ---------------------------------------------------------------- categories

#[utoipa::path(get, path = "/product-categories", tag = "catalog",
    responses((status = 200, description = "Every product category", body = inline(ProductCategoryList))))]
pub async fn list_product_categories(State(app): State<AppState>, auth: ApiAuth) -> ApiResult<Json<ListResponse>> {
    auth.require(CAT, Action::Read)?;
    let mut tx = app.db.autocommit().await?;
    let list = catalog::list_categories(&mut tx, auth.0.tenant_id).await?;
    Ok(Json(present_page(&auth.0, CAT, &list, None)?))
}

/// Schema of a category list (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ProductCategoryList {
    data: Vec<ProductCategory>,
    next: Option<String>,
}

/// A product category: a name and an optional parent (product lines form a tree).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductCategoryRequest {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub parent_id: Option<Option<PublicId>>,
}

#[utoipa::path(post, path = "/product-categories", tag = "catalog", request_body = ProductCategoryRequest,
    responses((status = 201, body = ProductCategory), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_product_category(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<ProductCategoryRequest>,
) -> ApiResult<Response> {
    auth.require(CAT, Action::Create)?;
    let name = req.body.name.clone().ok_or_else(|| ApiError::invalid("name", "is required"))?;
    let mut w = begin_write!(app, auth, req);
    let c = catalog::create_category(w.tx(), &auth.actor(), &name, req.body.parent_id.flatten()).await?;
    let body = present(&auth.0, CAT, &c)?;
    w.respond(StatusCode::CREATED, &body).await
}

#[utoipa::path(get, path = "/product-categories/{id}", tag = "catalog", params(("id" = String, Path)),
    responses((status = 200, body = ProductCategory), (status = 404, body = Problem)))]
pub async fn get_product_category(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    auth.require(CAT, Action::Read)?;
    let mut tx = app.db.autocommit().await?;
    let c = catalog::get_category(&mut tx, auth.0.tenant_id, parse_id("product_category", &id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("product_category"))?;
    Ok(Json(present(&auth.0, CAT, &c)?))
}

#[utoipa::path(patch, path = "/product-categories/{id}", tag = "catalog", request_body = ProductCategoryRequest,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = ProductCategory), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn update_product_category(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<ProductCategoryRequest>,
) -> ApiResult<Response> {
    auth.require(CAT, Action::Update)?;
    let id = parse_id("product_category", &id)?;
    let mut w = begin_write!(app, auth, req);
    let before = catalog::get_category(w.tx(), auth.0.tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("product_category"))?;
    let b = &req.body;
    let after =
        catalog::update_category(w.tx(), &auth.actor(), &before, req.if_match, b.name.as_deref(), b.parent_id).await?;
    let body = present(&auth.0, CAT, &after)?;
    w.respond(StatusCode::OK, &body).await
}

#[utoipa::path(delete, path = "/product-categories/{id}", tag = "catalog",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204), (status = 409, body = Problem)))]
pub async fn delete_product_category(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    auth.require(CAT, Action::Delete)?;
    let id = parse_id("product_category", &id)?;
    let mut w = begin_write!(app, auth, req);
    let before = catalog::get_category(w.tx(), auth.0.tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("product_category"))?;
    catalog::delete_category(w.tx(), &auth.actor(), &before, req.if_match).await?;
    w.respond(StatusCode::NO_CONTENT, &()).await
}

// ------------------------------------------------------------------ products

/// Filters of the product list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProductFilter {
    /// `true` (default): active products; `false`: archived; `all`: both.
    pub active: Option<String>,
    /// `goods`, `service` or `kit`.
    #[param(value_type = Option<String>)]
    pub kind: Option<ProductKind>,
    #[param(value_type = Option<String>)]
    pub category_id: Option<PublicId>,
    /// `system:id`: the product holding this id in another system, e.g. `shopify:8301`.
    pub external_id: Option<String>,
    /// Words that each begin the SKU or a word of the name.
    pub q: Option<String>,
    /// The order: `sku` or `name` (`-` in front for descending); oldest first without it.
    pub sort: Option<String>,
    pub limit: Option<i64>,
    pub after: Option<String>,
    /// `csv` for a CSV export of this page (the columns `nave import products` reads; `cost` only
    /// for roles that may see it).
    pub format: Option<String>,
}

/// A page of products as CSV, with the columns the importer reads. Fields the
/// caller may not see are left out as columns, not blanked.
pub fn products_csv(
    p: &nave_domain::access::Principal,
    items: &[Product],
    categories: &[ProductCategory],
) -> ApiResult<csv_export::CsvFile> {
    let shows_cost = p.sees_field(PRODUCT, "cost");
    let mut header = vec!["sku", "name", "description", "kind", "unit", "category", "currency", "list_price"];
    if shows_cost {
        header.push("cost");
    }
    header.extend(["weight_kg", "barcode", "notes", "active", "external_ids"]);
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|p| {
            let category =
                categories.iter().find(|c| Some(c.key) == p.category_key).map(|c| c.name.clone()).unwrap_or_default();
            let mut row = vec![
                p.sku.clone(),
                p.name.clone(),
                p.description.clone(),
                p.kind.as_str().to_string(),
                p.unit.clone(),
                category,
                p.currency.code().to_string(),
                p.list_price.clone(),
            ];
            if shows_cost {
                row.push(p.cost.clone());
            }
            row.extend([
                p.weight_kg.clone().unwrap_or_default(),
                p.barcode.clone().unwrap_or_default(),
                p.notes.clone(),
                csv_export::yes_no(p.active),
                csv_export::external_ids(&p.external_ids),
            ]);
            row
        })
        .collect();
    csv_export::CsvFile::write("products.csv", &header, &rows)
}

#[utoipa::path(get, path = "/products", tag = "catalog", params(ProductFilter),
    responses((status = 200, description = "A page of products (JSON, or CSV with `format=csv` or `Accept: text/csv`)", body = inline(ProductList))))]
pub async fn list_products(
    State(app): State<AppState>,
    auth: ApiAuth,
    headers: axum::http::HeaderMap,
    Query(f): Query<ProductFilter>,
) -> ApiResult<Response> {
    auth.require(PRODUCT, Action::Read)?;
    let csv = super::reports::wants_csv(f.format.as_deref(), &headers)?;
    let paging = ListParams { limit: f.limit, after: f.after.clone() };
    let (sort, cursor, sorted_after) = paging.sorted(catalog::PRODUCT_SORTS, f.sort.as_deref())?;
    let active = match f.active.as_deref() {
        None | Some("true") => Some(true),
        Some("false") => Some(false),
        Some("all") => None,
        Some(_) => return Err(ApiError::invalid("active", "must be true, false or all")),
    };
    let mut tx = app.db.autocommit().await?;
    let category_key = match f.category_id {
        Some(c) => Some(
            catalog::get_category(&mut tx, auth.0.tenant_id, c)
                .await?
                .ok_or_else(|| ApiError::invalid("category_id", "is not the id of a product category"))?
                .key,
        ),
        None => None,
    };
    let external_id = match f.external_id.as_deref() {
        Some(e) => Some(parse_pair(e).ok_or_else(|| ApiError::invalid("external_id", "must be system:id"))?),
        None => None,
    };
    let q = ProductQuery {
        active,
        kind: f.kind,
        category_key,
        external_id,
        words: nave_domain::search::query_words(f.q.as_deref().unwrap_or("")),
        cursor,
        sort,
        sorted_after,
        limit: paging.limit()?,
    };
    let page = catalog::list_products(&mut tx, auth.0.tenant_id, &q).await?;
    if csv {
        let categories = catalog::list_categories(&mut tx, auth.0.tenant_id).await?;
        return Ok(products_csv(&auth.0, &page.items, &categories)?.into_response());
    }
    Ok(Json(present_page(&auth.0, PRODUCT, &page.items, q.sort.next_of(&page))?).into_response())
}

/// Schema of a product page (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ProductList {
    data: Vec<Product>,
    next: Option<String>,
}

/// A product's fields. On create, `sku` and `name` are required; on update,
/// absent fields stay and `null` clears the optional ones.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductRequest {
    pub sku: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    /// `goods` (default), `service` or `kit`.
    #[schema(value_type = Option<String>)]
    pub kind: Option<ProductKind>,
    /// Default `pc`.
    pub unit: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub category_id: Option<Option<PublicId>>,
    /// Currency of the list price (default: the company's).
    #[schema(value_type = Option<String>)]
    pub currency: Option<Currency>,
    /// Decimal string, up to 4 decimals (default `"0"`).
    pub list_price: Option<String>,
    /// Unit cost in the company's currency; needs `view_cost` to set.
    pub cost: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub tax_category_id: Option<Option<PublicId>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub weight_kg: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub barcode: Option<Option<String>>,
    pub notes: Option<String>,
    pub active: Option<bool>,
    /// Kit components (kits only), replacing the list: `[{"product_id", "quantity": "2"}]`.
    pub components: Option<Vec<ComponentRequest>>,
    /// Suppliers, replacing the list.
    pub suppliers: Option<Vec<SupplierRequest>>,
    /// Ids in other systems, replacing the list: `[{"system": "shopify", "id": "8301"}]`.
    #[schema(value_type = Option<Vec<nave_store::external_ids::ExternalIdSchema>>)]
    pub external_ids: Option<Vec<ExternalId>>,
}

/// One component of a kit.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentRequest {
    #[schema(value_type = String)]
    pub product_id: PublicId,
    /// Units per kit, decimal string, up to 4 decimals.
    pub quantity: String,
}

/// One supplier of a product.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupplierRequest {
    /// An account of kind `supplier`.
    #[schema(value_type = String)]
    pub supplier_id: PublicId,
    pub supplier_code: Option<String>,
    /// The supplier's unit cost in the supplier account's currency (needs `view_cost`).
    pub cost: Option<String>,
    #[serde(default)]
    pub lead_time_days: i64,
    /// Decimal string (default `"0"`).
    pub min_quantity: Option<String>,
    #[serde(default)]
    pub preferred: bool,
}

fn parts(b: &ProductRequest) -> (Option<Vec<ComponentInput>>, Option<Vec<SupplierInput>>) {
    let comps = b.components.as_ref().map(|cs| {
        cs.iter().map(|c| ComponentInput { product_id: c.product_id, quantity: c.quantity.clone() }).collect()
    });
    let sups = b.suppliers.as_ref().map(|ss| {
        ss.iter()
            .map(|s| SupplierInput {
                supplier_id: s.supplier_id,
                supplier_code: s.supplier_code.clone(),
                cost: s.cost.clone().unwrap_or_else(|| "0".into()),
                lead_time_days: s.lead_time_days,
                min_quantity: s.min_quantity.clone().unwrap_or_else(|| "0".into()),
                preferred: s.preferred,
            })
            .collect()
    });
    (comps, sups)
}

fn may_set_cost(auth: &ApiAuth, req: &ProductRequest) -> ApiResult<()> {
    if auth.0.has(Capability::ViewCost) {
        return Ok(());
    }
    if req.cost.is_some() {
        return Err(ApiError::invalid("cost", "your role may not set this field"));
    }
    if let Some(i) = req.suppliers.iter().flatten().position(|s| s.cost.is_some()) {
        return Err(ApiError::invalid(format!("suppliers[{i}].cost"), "your role may not set this field"));
    }
    Ok(())
}

#[utoipa::path(post, path = "/products", tag = "catalog", request_body = ProductRequest,
    responses((status = 201, body = Product), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_product(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<ProductRequest>,
) -> ApiResult<Response> {
    auth.require(PRODUCT, Action::Create)?;
    may_set_cost(&auth, &req.body)?;
    let mut w = begin_write!(app, auth, req);
    let p = create_product_in(w.tx(), &auth, &req.body).await?;
    let body = present(&auth.0, PRODUCT, &p)?;
    w.respond(StatusCode::CREATED, &body).await
}

/// Creates a product from a create body inside a write (the permission to
/// create was checked): what `POST /products` and the upsert by external id share.
pub async fn create_product_in(tx: &mut nave_store::Tx, auth: &ApiAuth, b: &ProductRequest) -> ApiResult<Product> {
    may_set_cost(auth, b)?;
    let company = nave_store::tenants::currency(tx, auth.0.tenant_id).await?;
    let input = ProductInput {
        sku: b.sku.clone().ok_or_else(|| ApiError::invalid("sku", "is required"))?,
        name: b.name.clone().ok_or_else(|| ApiError::invalid("name", "is required"))?,
        description: b.description.clone().unwrap_or_default(),
        kind: b.kind.unwrap_or(ProductKind::Goods),
        unit: b.unit.clone().unwrap_or_else(|| "pc".into()),
        category_id: b.category_id.flatten(),
        currency: b.currency.unwrap_or(company),
        list_price: b.list_price.clone().unwrap_or_else(|| "0".into()),
        cost: b.cost.clone().unwrap_or_else(|| "0".into()),
        tax_category_id: b.tax_category_id.flatten(),
        weight_kg: b.weight_kg.clone().flatten(),
        barcode: b.barcode.clone().flatten(),
        notes: b.notes.clone().unwrap_or_default(),
        active: b.active.unwrap_or(true),
        components: parts(b).0,
        suppliers: parts(b).1,
        external_ids: b.external_ids.clone(),
    };
    Ok(catalog::create_product(tx, &auth.actor(), input).await?)
}

#[utoipa::path(get, path = "/products/{id}", tag = "catalog", params(("id" = String, Path)),
    responses((status = 200, body = Product), (status = 404, body = Problem)))]
pub async fn get_product(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    auth.require(PRODUCT, Action::Read)?;
    let mut tx = app.db.autocommit().await?;
    let p = catalog::get_product(&mut tx, auth.0.tenant_id, parse_id("product", &id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("product"))?;
    Ok(Json(present(&auth.0, PRODUCT, &p)?))
}

#[utoipa::path(patch, path = "/products/{id}", tag = "catalog", request_body = ProductRequest,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = Product), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn update_product(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<ProductRequest>,
) -> ApiResult<Response> {
    auth.require(PRODUCT, Action::Update)?;
    may_set_cost(&auth, &req.body)?;
    let id = parse_id("product", &id)?;
    let mut w = begin_write!(app, auth, req);
    let before =
        catalog::get_product(w.tx(), auth.0.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("product"))?;
    let after = update_product_in(w.tx(), &auth, &auth.actor(), &before, req.if_match, &req.body).await?;
    let body = present(&auth.0, PRODUCT, &after)?;
    w.respond(StatusCode::OK, &body).await
}

/// Updates a product inside a write, as `actor` (the permission to update
/// was checked): what `PATCH /products/{id}`, the upsert by external id and
/// accepting a sync conflict share.
pub async fn update_product_in(
    tx: &mut nave_store::Tx,
    auth: &ApiAuth,
    actor: &nave_store::audit::Actor,
    before: &Product,
    if_match: Option<i64>,
    b: &ProductRequest,
) -> ApiResult<Product> {
    may_set_cost(auth, b)?;
    let input = ProductInput {
        sku: b.sku.clone().unwrap_or_else(|| before.sku.clone()),
        name: b.name.clone().unwrap_or_else(|| before.name.clone()),
        description: b.description.clone().unwrap_or_else(|| before.description.clone()),
        kind: b.kind.unwrap_or(before.kind),
        unit: b.unit.clone().unwrap_or_else(|| before.unit.clone()),
        category_id: b.category_id.unwrap_or(before.category_id),
        currency: b.currency.unwrap_or(before.currency),
        list_price: b.list_price.clone().unwrap_or_else(|| before.list_price.clone()),
        cost: b.cost.clone().unwrap_or_else(|| before.cost.clone()),
        tax_category_id: b.tax_category_id.unwrap_or(before.tax_category_id),
        weight_kg: b.weight_kg.clone().unwrap_or_else(|| before.weight_kg.clone()),
        barcode: b.barcode.clone().unwrap_or_else(|| before.barcode.clone()),
        notes: b.notes.clone().unwrap_or_else(|| before.notes.clone()),
        active: b.active.unwrap_or(before.active),
        components: parts(b).0,
        suppliers: parts(b).1,
        external_ids: b.external_ids.clone(),
    };
    Ok(catalog::update_product(tx, actor, before, if_match, input).await?)
}

#[utoipa::path(delete, path = "/products/{id}", tag = "catalog", params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204), (status = 409, body = Problem)))]
pub async fn delete_product(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    auth.require(PRODUCT, Action::Delete)?;
    let id = parse_id("product", &id)?;
    let mut w = begin_write!(app, auth, req);
    let before =
        catalog::get_product(w.tx(), auth.0.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("product"))?;
    catalog::delete_product(w.tx(), &auth.actor(), &before, req.if_match).await?;
    w.respond(StatusCode::NO_CONTENT, &()).await
}

// ------------------------------------------------------------------ pictures

/// Which picture to send.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PictureQuery {
    /// `full` (default) or `thumbnail` (a PNG of at most 160 × 160 pixels).
    pub size: Option<String>,
}

/// A product's picture or its thumbnail as an HTTP response, `304` when the
/// caller's `If-None-Match` names it. Pages serve pictures through this too.
pub async fn picture_response(
    app: &AppState,
    tenant_id: i64,
    id: PublicId,
    size: Option<&str>,
    headers: &axum::http::HeaderMap,
) -> ApiResult<Response> {
    let thumbnail = match size {
        None | Some("full") => false,
        Some("thumbnail") => true,
        Some(_) => return Err(ApiError::invalid("size", "must be full or thumbnail")),
    };
    let mut tx = app.db.autocommit().await?;
    let p = catalog::get_product(&mut tx, tenant_id, id).await?.ok_or_else(|| ApiError::not_found("product"))?;
    let (file, data) = catalog::picture_file(&mut tx, tenant_id, &p, thumbnail)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("the product {} has no picture", p.sku)))?;
    let etag = format!("\"{}\"", file.sha256);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut r = if fresh { StatusCode::NOT_MODIFIED.into_response() } else { (StatusCode::OK, data).into_response() };
    let h = r.headers_mut();
    h.insert(header::ETAG, HeaderValue::from_str(&etag).map_err(|e| ApiError::internal(&e))?);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    if !fresh {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_str(&file.content_type).map_err(|e| ApiError::internal(&e))?);
    }
    Ok(r)
}

#[utoipa::path(get, path = "/products/{id}/picture", tag = "catalog", params(("id" = String, Path), PictureQuery),
    responses((status = 200, description = "The picture's bytes, with its content type and an ETag", content_type = "image/*"),
        (status = 304, description = "The picture named in If-None-Match has not changed"),
        (status = 404, body = Problem)))]
pub async fn get_product_picture(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    Query(q): Query<PictureQuery>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    auth.require(PRODUCT, Action::Read)?;
    picture_response(&app, auth.0.tenant_id, parse_id("product", &id)?, q.size.as_deref(), &headers).await
}

/// Checks an upload and draws its thumbnail off the async threads.
pub async fn prepare_picture(bytes: Vec<u8>) -> ApiResult<catalog::NewPicture> {
    tokio::task::spawn_blocking(move || crate::pictures::prepare(bytes)).await.map_err(|e| ApiError::internal(&e))?
}

#[utoipa::path(put, path = "/products/{id}/picture", tag = "catalog",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    request_body(content = Vec<u8>, content_type = "image/*",
        description = "The image's bytes: PNG, JPEG, WebP or GIF, at most 8 MiB and 12,000 pixels a side; the type is read from the bytes"),
    responses((status = 200, body = Product), (status = 413, body = Problem), (status = 415, body = Problem),
        (status = 422, body = Problem)))]
pub async fn put_product_picture(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    ApiUpload(req): ApiUpload,
) -> ApiResult<Response> {
    auth.require(PRODUCT, Action::Update)?;
    let id = parse_id("product", &id)?;
    let picture = prepare_picture(req.body.clone()).await?;
    let mut w = begin_write!(app, auth, req);
    let before =
        catalog::get_product(w.tx(), auth.0.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("product"))?;
    let after = catalog::set_picture(w.tx(), &auth.actor(), &before, req.if_match, Some(picture)).await?;
    let body = present(&auth.0, PRODUCT, &after)?;
    w.respond(StatusCode::OK, &body).await
}

#[utoipa::path(delete, path = "/products/{id}/picture", tag = "catalog",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204, description = "The product has no picture now"), (status = 412, body = Problem)))]
pub async fn delete_product_picture(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    auth.require(PRODUCT, Action::Update)?;
    let id = parse_id("product", &id)?;
    let mut w = begin_write!(app, auth, req);
    let before =
        catalog::get_product(w.tx(), auth.0.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("product"))?;
    if before.picture.is_some() {
        catalog::set_picture(w.tx(), &auth.actor(), &before, req.if_match, None).await?;
    }
    w.respond(StatusCode::NO_CONTENT, &()).await
}

// ---------------------------------------------------------------- warehouses

#[utoipa::path(get, path = "/warehouses", tag = "catalog", responses((status = 200, description = "Every warehouse", body = inline(WarehouseList))))]
pub async fn list_warehouses(State(app): State<AppState>, auth: ApiAuth) -> ApiResult<Json<ListResponse>> {
    auth.require(WH, Action::Read)?;
    let mut tx = app.db.autocommit().await?;
    let list = catalog::list_warehouses(&mut tx, auth.0.tenant_id).await?;
    Ok(Json(present_page(&auth.0, WH, &list, None)?))
}

/// Schema of a warehouse list (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct WarehouseList {
    data: Vec<Warehouse>,
    next: Option<String>,
}

/// A warehouse's fields; on update, absent fields stay.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WarehouseRequest {
    pub name: Option<String>,
    pub address: Option<String>,
    /// Default `false`.
    pub allow_negative_stock: Option<bool>,
    pub active: Option<bool>,
}

#[utoipa::path(post, path = "/warehouses", tag = "catalog", request_body = WarehouseRequest,
    responses((status = 201, body = Warehouse), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_warehouse(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<WarehouseRequest>,
) -> ApiResult<Response> {
    auth.require(WH, Action::Create)?;
    let b = &req.body;
    let input = WarehouseInput {
        name: b.name.clone().ok_or_else(|| ApiError::invalid("name", "is required"))?,
        address: b.address.clone().unwrap_or_default(),
        allow_negative_stock: b.allow_negative_stock.unwrap_or(false),
        active: b.active.unwrap_or(true),
    };
    let mut w = begin_write!(app, auth, req);
    let wh = catalog::create_warehouse(w.tx(), &auth.actor(), input).await?;
    let body = present(&auth.0, WH, &wh)?;
    w.respond(StatusCode::CREATED, &body).await
}

#[utoipa::path(get, path = "/warehouses/{id}", tag = "catalog", params(("id" = String, Path)),
    responses((status = 200, body = Warehouse), (status = 404, body = Problem)))]
pub async fn get_warehouse(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    auth.require(WH, Action::Read)?;
    let mut tx = app.db.autocommit().await?;
    let wh = catalog::get_warehouse(&mut tx, auth.0.tenant_id, parse_id("warehouse", &id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("warehouse"))?;
    Ok(Json(present(&auth.0, WH, &wh)?))
}

#[utoipa::path(patch, path = "/warehouses/{id}", tag = "catalog", request_body = WarehouseRequest,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = Warehouse), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn update_warehouse(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<WarehouseRequest>,
) -> ApiResult<Response> {
    auth.require(WH, Action::Update)?;
    let id = parse_id("warehouse", &id)?;
    let mut w = begin_write!(app, auth, req);
    let before =
        catalog::get_warehouse(w.tx(), auth.0.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("warehouse"))?;
    let b = &req.body;
    let input = WarehouseInput {
        name: b.name.clone().unwrap_or_else(|| before.name.clone()),
        address: b.address.clone().unwrap_or_else(|| before.address.clone()),
        allow_negative_stock: b.allow_negative_stock.unwrap_or(before.allow_negative_stock),
        active: b.active.unwrap_or(before.active),
    };
    let after = catalog::update_warehouse(w.tx(), &auth.actor(), &before, req.if_match, input).await?;
    let body = present(&auth.0, WH, &after)?;
    w.respond(StatusCode::OK, &body).await
}

#[utoipa::path(delete, path = "/warehouses/{id}", tag = "catalog", params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204), (status = 409, body = Problem)))]
pub async fn delete_warehouse(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    auth.require(WH, Action::Delete)?;
    let id = parse_id("warehouse", &id)?;
    let mut w = begin_write!(app, auth, req);
    let before =
        catalog::get_warehouse(w.tx(), auth.0.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("warehouse"))?;
    catalog::delete_warehouse(w.tx(), &auth.actor(), &before, req.if_match).await?;
    w.respond(StatusCode::NO_CONTENT, &()).await
}
