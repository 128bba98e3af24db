//! Catalog pages: the product list with thumbnails, one product (picture,
//! suppliers, kit components, stock), and the product form. Cost is shown and
//! editable only for those who may see it.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use nave_domain::access::{Action, Capability, RecordType};
use nave_domain::account::AccountKind;
use nave_domain::catalog::ProductKind;
use nave_domain::error::FieldError;
use nave_domain::external_id::{ExternalId, parse_pair};
use nave_domain::ids::PublicId;
use nave_domain::money::Currency;
use nave_store::accounts::{self, AccountQuery};
use nave_store::catalog::{
    self, ComponentInput, Product, ProductCategory, ProductInput, ProductQuery, SupplierInput, Warehouse,
};
use nave_store::stock::{self, LevelQuery};
use nave_store::taxes::{self, TaxCategory};
use serde::Deserialize;

use super::show::{self, filters};
use super::views::{Sorting, read_sort};
use super::{FormErrors, Layout, PageAuth, PageError, PageResult, form_again, render};
use crate::api::catalog::{picture_response, prepare_picture};
use crate::api::parse_id;
use crate::error::ApiError;
use crate::extract::actor_of;
use crate::present::present;
use crate::state::AppState;

const T: RecordType = RecordType::Product;

#[derive(Debug)]
struct ProductRow {
    id: String,
    sku: String,
    name: String,
    kind: &'static str,
    category: String,
    list_price: String,
    cost: String,
    unit: String,
    has_picture: bool,
    active: bool,
}

/// The columns the products list may show beside picture, SKU and name.
const COLUMNS: &[(&str, &str)] =
    &[("kind", "Kind"), ("category", "Product line"), ("list_price", "List price"), ("cost", "Cost"), ("unit", "Unit")];
const DEFAULT_COLUMNS: &[&str] = &["kind", "category", "list_price", "cost", "unit"];

#[derive(Template)]
#[template(path = "products.html")]
struct ProductsPage {
    layout: Layout,
    rows: Vec<ProductRow>,
    next: Option<String>,
    can_create: bool,
    show_archived: bool,
    warehouses: Vec<Warehouse>,
    q: String,
    kind: String,
    category_id: String,
    categories: super::Choices,
    columns: super::views::Columns,
    views: super::views::ViewsBar,
    sorting: Sorting,
}

/// The filters (and order) the products list reads from its query string.
pub(crate) const FILTERS: &[&str] = &["q", "kind", "category_id", "archived", "sort"];

/// The store query of a products list view.
pub(crate) async fn store_query(
    tx: &mut nave_store::Tx,
    tenant_id: i64,
    f: &super::views::ViewQuery,
) -> Result<ProductQuery, PageError> {
    let (sort, cursor, sorted_after) = read_sort(catalog::PRODUCT_SORTS, f)?;
    let kind = match f.get("kind") {
        "" => None,
        k => Some(ProductKind::parse(k).ok_or_else(|| ApiError::invalid("kind", "must be goods, service or kit"))?),
    };
    let category_key = match f.get("category_id") {
        "" => None,
        c => {
            let id = parse_id("category", c).map_err(|_| ApiError::invalid("category_id", "is not a product line"))?;
            let cat = catalog::get_category(tx, tenant_id, id)
                .await?
                .ok_or_else(|| ApiError::invalid("category_id", "is not a product line"))?;
            Some(cat.key)
        }
    };
    let q = ProductQuery {
        active: Some(!f.flag("archived")),
        kind,
        category_key,
        words: nave_domain::search::query_words(f.get("q")),
        cursor,
        sort,
        sorted_after,
        ..Default::default()
    };
    Ok(q)
}

fn category_name(categories: &[ProductCategory], key: Option<i64>) -> String {
    categories.iter().find(|c| Some(c.key) == key).map(|c| c.name.clone()).unwrap_or_default()
}

/// The cost as the principal may see it ("" when hidden).
fn shown_cost(auth: &PageAuth, p: &Product) -> String {
    let shown = present(&auth.principal, T, p).unwrap_or_default();
    shown.get("cost").and_then(|c| c.as_str()).unwrap_or("").to_string()
}

/// `GET /products`: search, kind and product-line filters, the columns
/// chosen (cost only for those who may see it), saved views, and the CSV
/// export of the view.
pub async fn products_page(State(app): State<AppState>, auth: PageAuth, RawQuery(raw): RawQuery) -> PageResult {
    super::require(&auth.principal, T, Action::Read, "read products")?;
    let p = &auth.principal;
    let f = super::views::ViewQuery::parse(raw.as_deref(), FILTERS);
    let mut tx = app.db.read().await?;
    let query = store_query(&mut tx, p.tenant_id, &f).await?;
    let page = catalog::list_products(&mut tx, p.tenant_id, &query).await?;
    let categories = catalog::list_categories(&mut tx, p.tenant_id).await?;
    let warehouses = catalog::list_warehouses(&mut tx, p.tenant_id).await?;
    let views = super::views::bar(&mut tx, &auth, "products", &f.view_qs()).await?;
    tx.commit().await?;
    let rows = page
        .items
        .iter()
        .map(|prod| ProductRow {
            id: prod.id.to_string(),
            sku: prod.sku.clone(),
            name: prod.name.clone(),
            kind: prod.kind.as_str(),
            category: category_name(&categories, prod.category_key),
            list_price: show::amount(&prod.list_price.to_string(), prod.currency),
            cost: shown_cost(&auth, prod),
            unit: prod.unit.clone(),
            has_picture: prod.picture.is_some(),
            active: prod.active,
        })
        .collect();
    let offered: Vec<(&str, &str)> =
        COLUMNS.iter().copied().filter(|(k, _)| *k != "cost" || p.sees_field(T, "cost")).collect();
    let view = ProductsPage {
        layout: auth.layout("products"),
        rows,
        next: query.sort.next_of(&page),
        can_create: p.scope_for(T, Action::Create).is_some(),
        show_archived: f.flag("archived"),
        warehouses,
        q: f.get("q").to_string(),
        kind: f.get("kind").to_string(),
        category_id: f.get("category_id").to_string(),
        categories: categories.iter().map(|c| (c.id.to_string(), c.name.clone())).collect(),
        columns: super::views::columns(&offered, DEFAULT_COLUMNS, &f.columns),
        views,
        sorting: Sorting::new("products", catalog::PRODUCT_SORTS, query.sort, &f),
    };
    Ok(render(&view).into_response())
}

#[derive(Debug)]
struct SupplierRow {
    name: String,
    code: String,
    cost: String,
    lead_time_days: i64,
    min_quantity: String,
    preferred: bool,
}

#[derive(Debug)]
struct StockRow {
    warehouse: String,
    on_hand: String,
    reserved: String,
    available: String,
}

#[derive(Template)]
#[template(path = "product.html")]
struct ProductPage {
    layout: Layout,
    p: Product,
    category: String,
    tax_category: String,
    cost: String,
    show_cost: bool,
    can_edit: bool,
    suppliers: Vec<SupplierRow>,
    stock: Vec<StockRow>,
    picture_error: Option<String>,
    attachments: super::attachments::AttachmentsView,
}

async fn product_page(
    app: &AppState,
    auth: &PageAuth,
    id: PublicId,
    picture_error: Option<String>,
) -> Result<ProductPage, PageError> {
    let p = &auth.principal;
    let mut tx = app.db.read().await?;
    let prod = catalog::get_product(&mut tx, p.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("product"))?;
    let categories = catalog::list_categories(&mut tx, p.tenant_id).await?;
    let tax_category = match prod.tax_category_key {
        Some(k) => taxes::list_categories(&mut tx, p.tenant_id)
            .await?
            .into_iter()
            .find(|c| c.key == k)
            .map(|c| c.name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let stock = if p.scope_for(RecordType::Stock, Action::Read).is_some() {
        let warehouses = catalog::list_warehouses(&mut tx, p.tenant_id).await?;
        stock::list_levels(&mut tx, p.tenant_id, &LevelQuery { product_key: Some(prod.key), ..Default::default() })
            .await?
            .into_iter()
            .map(|l| StockRow {
                warehouse: warehouses
                    .iter()
                    .find(|w| w.id == l.warehouse_id)
                    .map(|w| w.name.clone())
                    .unwrap_or_default(),
                on_hand: l.on_hand,
                reserved: l.reserved,
                available: l.available,
            })
            .collect()
    } else {
        vec![]
    };
    tx.commit().await?;
    let attachments = super::attachments::view(app, p, T, prod.id).await?;
    let shown = present(p, T, &prod)?;
    let suppliers = prod
        .suppliers
        .iter()
        .enumerate()
        .map(|(i, s)| SupplierRow {
            name: s.supplier_name.clone(),
            code: s.supplier_code.clone().unwrap_or_default(),
            cost: shown["suppliers"][i]["cost"].as_str().map(|c| format!("{c} {}", s.currency)).unwrap_or_default(),
            lead_time_days: s.lead_time_days,
            min_quantity: s.min_quantity.clone(),
            preferred: s.preferred,
        })
        .collect();
    Ok(ProductPage {
        layout: auth.layout("products"),
        category: category_name(&categories, prod.category_key),
        tax_category,
        cost: shown_cost(auth, &prod),
        show_cost: p.sees_field(T, "cost"),
        can_edit: p.scope_for(T, Action::Update).is_some(),
        suppliers,
        stock,
        picture_error,
        attachments,
        p: prod,
    })
}

/// `GET /products/{id}`.
pub async fn show(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    super::require(&auth.principal, T, Action::Read, "read products")?;
    let page = product_page(&app, &auth, parse_id("product", &id)?, None).await?;
    Ok(render(&page).into_response())
}

#[derive(Debug, Deserialize)]
pub struct PictureSize {
    size: Option<String>,
}

/// `GET /products/{id}/picture`: the picture (or `?size=thumbnail`) for pages.
pub async fn picture(
    State(app): State<AppState>,
    auth: PageAuth,
    Path(id): Path<String>,
    Query(q): Query<PictureSize>,
    headers: HeaderMap,
) -> PageResult {
    super::require(&auth.principal, T, Action::Read, "read products")?;
    Ok(picture_response(&app, auth.principal.tenant_id, parse_id("product", &id)?, q.size.as_deref(), &headers).await?)
}

/// `POST /products/{id}/picture`: a multipart form with the file in `picture`.
pub async fn upload_picture(
    State(app): State<AppState>,
    auth: PageAuth,
    Path(id): Path<String>,
    mut form: Multipart,
) -> PageResult {
    super::require(&auth.principal, T, Action::Update, "edit products")?;
    let id = parse_id("product", &id)?;
    let mut bytes = None;
    loop {
        match form.next_field().await {
            Ok(Some(field)) if field.name() == Some("picture") => match field.bytes().await {
                Ok(b) => bytes = Some(b.to_vec()),
                Err(e) => return show_picture_error(&app, &auth, id, e.status(), e.body_text()).await,
            },
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => return show_picture_error(&app, &auth, id, e.status(), e.body_text()).await,
        }
    }
    let Some(bytes) = bytes.filter(|b| !b.is_empty()) else {
        let msg = "Choose an image file to upload.".to_string();
        return show_picture_error(&app, &auth, id, StatusCode::UNPROCESSABLE_ENTITY, msg).await;
    };
    let picture = match prepare_picture(bytes).await {
        Ok(p) => p,
        Err(e) => {
            let msg = e.errors.first().map(|f| format!("The picture {}.", f.message)).unwrap_or(e.detail.clone());
            return show_picture_error(&app, &auth, id, e.status(), msg).await;
        }
    };
    let mut tx = app.db.write().await?;
    let p = &auth.principal;
    let before = catalog::get_product(&mut tx, p.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("product"))?;
    catalog::set_picture(&mut tx, &actor_of(p), &before, None, Some(picture)).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/products/{id}")).into_response())
}

async fn show_picture_error(
    app: &AppState,
    auth: &PageAuth,
    id: PublicId,
    status: StatusCode,
    message: String,
) -> PageResult {
    let page = product_page(app, auth, id, Some(message)).await?;
    Ok((status, render(&page)).into_response())
}

/// `POST /products/{id}/picture/delete`.
pub async fn delete_picture(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    super::require(&auth.principal, T, Action::Update, "edit products")?;
    let id = parse_id("product", &id)?;
    let p = &auth.principal;
    let mut tx = app.db.write().await?;
    let before = catalog::get_product(&mut tx, p.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("product"))?;
    if before.picture.is_some() {
        catalog::set_picture(&mut tx, &actor_of(p), &before, None, None).await?;
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/products/{id}")).into_response())
}

// ---------------------------------------------------------------- the form

/// One kit component row as typed.
#[derive(Debug, Clone, Default)]
struct ComponentRow {
    sku: String,
    quantity: String,
}

/// One supplier row as typed.
#[derive(Debug, Clone, Default)]
struct SupplierFormRow {
    supplier_id: String,
    code: String,
    cost: String,
    lead_time_days: String,
    min_quantity: String,
}

/// The product form as typed, kept when it is shown again with errors.
#[derive(Debug, Clone, Default)]
pub struct ProductForm {
    sku: String,
    name: String,
    description: String,
    kind: String,
    unit: String,
    category_id: String,
    currency: String,
    list_price: String,
    cost: String,
    tax_category_id: String,
    weight_kg: String,
    barcode: String,
    notes: String,
    active: bool,
    external_ids: String,
    components: Vec<ComponentRow>,
    suppliers: Vec<SupplierFormRow>,
    /// Index of the preferred supplier row.
    preferred: String,
    version: String,
}

/// Empty rows offered for adding components or suppliers.
const SPARE_ROWS: usize = 3;

impl ProductForm {
    fn parse(body: &[u8]) -> Self {
        let mut f = ProductForm::default();
        let (mut c_sku, mut c_qty) = (vec![], vec![]);
        let (mut s_id, mut s_code, mut s_cost, mut s_lead, mut s_min) = (vec![], vec![], vec![], vec![], vec![]);
        for (k, v) in form_urlencoded::parse(body) {
            let v = v.into_owned();
            match k.as_ref() {
                "sku" => f.sku = v,
                "name" => f.name = v,
                "description" => f.description = v,
                "kind" => f.kind = v,
                "unit" => f.unit = v,
                "category_id" => f.category_id = v,
                "currency" => f.currency = v,
                "list_price" => f.list_price = v,
                "cost" => f.cost = v,
                "tax_category_id" => f.tax_category_id = v,
                "weight_kg" => f.weight_kg = v,
                "barcode" => f.barcode = v,
                "notes" => f.notes = v,
                "active" => f.active = true,
                "external_ids" => f.external_ids = v,
                "component_sku" => c_sku.push(v),
                "component_quantity" => c_qty.push(v),
                "supplier_id" => s_id.push(v),
                "supplier_code" => s_code.push(v),
                "supplier_cost" => s_cost.push(v),
                "supplier_lead_time_days" => s_lead.push(v),
                "supplier_min_quantity" => s_min.push(v),
                "preferred" => f.preferred = v,
                "version" => f.version = v,
                _ => {}
            }
        }
        let at = |v: &[String], i: usize| v.get(i).cloned().unwrap_or_default();
        f.components = (0..c_sku.len()).map(|i| ComponentRow { sku: at(&c_sku, i), quantity: at(&c_qty, i) }).collect();
        f.suppliers = (0..s_id.len())
            .map(|i| SupplierFormRow {
                supplier_id: at(&s_id, i),
                code: at(&s_code, i),
                cost: at(&s_cost, i),
                lead_time_days: at(&s_lead, i),
                min_quantity: at(&s_min, i),
            })
            .collect();
        f
    }

    fn of(p: &Product, show_cost: bool) -> Self {
        ProductForm {
            sku: p.sku.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            kind: p.kind.as_str().into(),
            unit: p.unit.clone(),
            category_id: p.category_id.map(|c| c.to_string()).unwrap_or_default(),
            currency: p.currency.code().into(),
            list_price: p.list_price.clone(),
            cost: if show_cost { p.cost.clone() } else { String::new() },
            tax_category_id: p.tax_category_id.map(|c| c.to_string()).unwrap_or_default(),
            weight_kg: p.weight_kg.clone().unwrap_or_default(),
            barcode: p.barcode.clone().unwrap_or_default(),
            notes: p.notes.clone(),
            active: p.active,
            external_ids: p.external_ids.iter().map(ExternalId::to_string).collect::<Vec<_>>().join("\n"),
            components: p
                .components
                .iter()
                .map(|c| ComponentRow { sku: c.sku.clone(), quantity: c.quantity.clone() })
                .collect(),
            suppliers: p
                .suppliers
                .iter()
                .map(|s| SupplierFormRow {
                    supplier_id: s.supplier_id.to_string(),
                    code: s.supplier_code.clone().unwrap_or_default(),
                    cost: if show_cost { s.cost.clone() } else { String::new() },
                    lead_time_days: s.lead_time_days.to_string(),
                    min_quantity: s.min_quantity.clone(),
                })
                .collect(),
            preferred: p.suppliers.iter().position(|s| s.preferred).map(|i| i.to_string()).unwrap_or_default(),
            version: p.version.to_string(),
        }
    }

    /// Adds the empty rows a person fills in to add a component or supplier.
    fn with_spare_rows(mut self) -> Self {
        self.components.extend(std::iter::repeat_n(ComponentRow::default(), SPARE_ROWS));
        self.suppliers.extend(std::iter::repeat_n(
            SupplierFormRow { lead_time_days: "0".into(), min_quantity: "0".into(), ..Default::default() },
            SPARE_ROWS,
        ));
        self
    }
}

#[derive(Template)]
#[template(path = "product_form.html")]
struct ProductFormPage {
    layout: Layout,
    /// `None` for a new product.
    id: Option<String>,
    form: ProductForm,
    errors: FormErrors,
    kinds: Vec<&'static str>,
    categories: Vec<ProductCategory>,
    tax_categories: Vec<TaxCategory>,
    supplier_accounts: Vec<(String, String)>,
    show_cost: bool,
}

async fn form_page(
    app: &AppState,
    auth: &PageAuth,
    id: Option<PublicId>,
    form: ProductForm,
    errors: FormErrors,
) -> Result<ProductFormPage, PageError> {
    let t = auth.principal.tenant_id;
    let mut tx = app.db.read().await?;
    let categories = catalog::list_categories(&mut tx, t).await?;
    let tax_categories = taxes::list_categories(&mut tx, t).await?;
    let suppliers = accounts::list(
        &mut tx,
        t,
        &AccountQuery { kind: Some(AccountKind::Supplier), archived: Some(false), limit: 200, ..Default::default() },
    )
    .await?;
    tx.commit().await?;
    Ok(ProductFormPage {
        layout: auth.layout("products"),
        id: id.map(|i| i.to_string()),
        form: form.with_spare_rows(),
        errors,
        kinds: vec![ProductKind::Goods.as_str(), ProductKind::Service.as_str(), ProductKind::Kit.as_str()],
        categories,
        tax_categories,
        supplier_accounts: suppliers.items.iter().map(|a| (a.id.to_string(), a.name.clone())).collect(),
        show_cost: auth.principal.has(Capability::ViewCost),
    })
}

/// `GET /products/new`.
pub async fn new_form(State(app): State<AppState>, auth: PageAuth) -> PageResult {
    super::require(&auth.principal, T, Action::Create, "create products")?;
    let mut tx = app.db.autocommit().await?;
    let company = nave_store::tenants::currency(&mut tx, auth.principal.tenant_id).await?;
    let form = ProductForm {
        kind: "goods".into(),
        unit: "pc".into(),
        currency: company.code().into(),
        list_price: "0".into(),
        active: true,
        ..Default::default()
    };
    Ok(render(&form_page(&app, &auth, None, form, FormErrors::default()).await?).into_response())
}

/// `GET /products/{id}/edit`.
pub async fn edit_form(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    super::require(&auth.principal, T, Action::Update, "edit products")?;
    let id = parse_id("product", &id)?;
    let mut tx = app.db.autocommit().await?;
    let p = catalog::get_product(&mut tx, auth.principal.tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("product"))?;
    let form = ProductForm::of(&p, auth.principal.has(Capability::ViewCost));
    Ok(render(&form_page(&app, &auth, Some(id), form, FormErrors::default()).await?).into_response())
}

/// Reads an optional id from a select; a value that is not an id is a field error.
fn opt_id(v: &mut Vec<FieldError>, field: &str, s: &str) -> Option<PublicId> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    s.parse().map_err(|_| v.push(FieldError::new(field, "is not one of the choices"))).ok()
}

/// Turns the typed form into the store's input. `before` is the product being
/// edited: what the role may not see (cost) is kept from it.
async fn input_of(
    tx: &mut nave_store::Tx,
    auth: &PageAuth,
    f: &ProductForm,
    before: Option<&Product>,
) -> Result<ProductInput, Refusal> {
    let p = &auth.principal;
    let may_cost = p.has(Capability::ViewCost);
    let mut errs = Vec::new();
    let kind = ProductKind::parse(f.kind.trim()).unwrap_or_else(|| {
        errs.push(FieldError::new("kind", "must be goods, service or kit"));
        ProductKind::Goods
    });
    let currency = Currency::parse(f.currency.trim().to_uppercase().as_str())
        .map_err(|e| errs.push(FieldError::new("currency", e.to_string())))
        .unwrap_or(before.map_or(Currency::parse("USD").expect("USD"), |b| b.currency));
    let category_id = opt_id(&mut errs, "category_id", &f.category_id);
    let tax_category_id = opt_id(&mut errs, "tax_category_id", &f.tax_category_id);
    let mut external_ids = Vec::new();
    for (i, line) in f.external_ids.lines().map(str::trim).filter(|l| !l.is_empty()).enumerate() {
        match parse_pair(line) {
            Some(e) => external_ids.push(e),
            None => errs.push(FieldError::new(format!("external_ids[{i}]"), "must be system:id, e.g. webshop:4711")),
        }
    }
    let mut components = Vec::new();
    for (i, c) in f.components.iter().enumerate().filter(|(_, c)| !c.sku.trim().is_empty()) {
        match catalog::get_product_by_sku(tx, p.tenant_id, &c.sku).await {
            Ok(Some(part)) => components.push(ComponentInput { product_id: part.id, quantity: c.quantity.clone() }),
            Ok(None) => errs.push(FieldError::new(format!("components[{i}].sku"), "is not the SKU of a product")),
            Err(e) => return Err(e.into()),
        }
    }
    let suppliers = if may_cost {
        let rows: Vec<(usize, &SupplierFormRow)> =
            f.suppliers.iter().enumerate().filter(|(_, s)| !s.supplier_id.trim().is_empty()).collect();
        let mut out = Vec::new();
        for (i, s) in rows {
            let Some(supplier_id) = opt_id(&mut errs, &format!("suppliers[{i}].supplier_id"), &s.supplier_id) else {
                continue;
            };
            let lead = s.lead_time_days.trim();
            let lead_time_days = if lead.is_empty() {
                0
            } else {
                lead.parse().unwrap_or_else(|_| {
                    errs.push(FieldError::new(
                        format!("suppliers[{i}].lead_time_days"),
                        "must be a whole number of days",
                    ));
                    0
                })
            };
            out.push(SupplierInput {
                supplier_id,
                supplier_code: Some(s.code.clone()),
                cost: Some(s.cost.trim()).filter(|c| !c.is_empty()).unwrap_or("0").to_string(),
                lead_time_days,
                min_quantity: Some(s.min_quantity.trim()).filter(|c| !c.is_empty()).unwrap_or("0").to_string(),
                preferred: f.preferred == i.to_string(),
            });
        }
        Some(out)
    } else {
        // Supplier costs are hidden from this role: the suppliers stay as they are.
        None
    };
    if !errs.is_empty() {
        let mut errors = FormErrors::default();
        for e in errs {
            errors.add(e.field, e.message);
        }
        return Err(Refusal::Form(errors));
    }
    let cost = match (may_cost, before) {
        (true, _) => Some(f.cost.trim()).filter(|c| !c.is_empty()).unwrap_or("0").to_string(),
        (false, Some(b)) => b.cost.clone(),
        (false, None) => "0".into(),
    };
    let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    Ok(ProductInput {
        sku: f.sku.clone(),
        name: f.name.clone(),
        description: f.description.clone(),
        kind,
        unit: f.unit.clone(),
        category_id,
        currency,
        list_price: Some(f.list_price.trim()).filter(|c| !c.is_empty()).unwrap_or("0").to_string(),
        cost,
        tax_category_id,
        weight_kg: opt(&f.weight_kg),
        barcode: opt(&f.barcode),
        notes: f.notes.clone(),
        active: f.active,
        components: Some(components).filter(|c| kind == ProductKind::Kit || !c.is_empty()),
        suppliers,
        external_ids: Some(external_ids),
    })
}

/// Saves the form: creates (`id` = `None`) or updates the product, or shows
/// the form again with each error next to its field and nothing stored.
async fn save(app: &AppState, auth: &PageAuth, id: Option<PublicId>, form: ProductForm) -> PageResult {
    let p = &auth.principal;
    let mut tx = app.db.write().await?;
    let before = match id {
        Some(id) => {
            Some(catalog::get_product(&mut tx, p.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("product"))?)
        }
        None => None,
    };
    let mut errors = FormErrors::default();
    match input_of(&mut tx, auth, &form, before.as_ref()).await {
        Ok(input) => {
            let version = form.version.trim().parse::<i64>().ok();
            let r = match &before {
                Some(b) => catalog::update_product(&mut tx, &actor_of(p), b, version, input).await,
                None => catalog::create_product(&mut tx, &actor_of(p), input).await,
            };
            match r {
                Ok(saved) => {
                    tx.commit().await?;
                    return Ok(Redirect::to(&format!("/products/{}", saved.id)).into_response());
                }
                Err(e) => errors.absorb(e)?,
            }
        }
        Err(Refusal::Form(e)) => errors = e,
        Err(Refusal::Page(e)) => return Err(e),
    };
    tx.rollback().await?;
    let status = errors.status();
    form_again(status, &form_page(app, auth, id, form, errors).await?)
}

/// Why the form could not be turned into the store's input.
enum Refusal {
    /// Shown on the form again.
    Form(FormErrors),
    /// Shown as an error page.
    Page(PageError),
}

impl From<nave_store::StoreError> for Refusal {
    fn from(e: nave_store::StoreError) -> Self {
        Refusal::Page(PageError::from(e))
    }
}

/// `POST /products`.
pub async fn create(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    super::require(&auth.principal, T, Action::Create, "create products")?;
    save(&app, &auth, None, ProductForm::parse(&body)).await
}

/// `POST /products/{id}`.
pub async fn update(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>, body: Bytes) -> PageResult {
    super::require(&auth.principal, T, Action::Update, "edit products")?;
    save(&app, &auth, Some(parse_id("product", &id)?), ProductForm::parse(&body)).await
}

impl ProductFormPage {
    /// The one-line text fields, in order: name, label, value.
    fn text_fields(&self) -> Vec<(&'static str, &'static str, &str)> {
        let f = &self.form;
        vec![
            ("sku", "SKU", f.sku.as_str()),
            ("name", "Name", f.name.as_str()),
            ("unit", "Unit of measure", f.unit.as_str()),
            ("currency", "Currency of the list price", f.currency.as_str()),
            ("list_price", "List price", f.list_price.as_str()),
            ("weight_kg", "Weight (kg)", f.weight_kg.as_str()),
            ("barcode", "Barcode", f.barcode.as_str()),
        ]
    }

    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }

    fn row_errors(&self, field: &str) -> Vec<String> {
        self.errors.row_messages(field)
    }
}
