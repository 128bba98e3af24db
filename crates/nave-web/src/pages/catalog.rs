//! Catalog pages: products (cost only for those who may see it) and warehouses.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use nave_domain::access::{Action, RecordType};
use nave_store::catalog::{self, ProductQuery, Warehouse};
use nave_store::page::Cursor;
use serde::Deserialize;

use super::{Layout, PageAuth, PageResult, render};
use crate::error::ApiError;
use crate::present::present;
use crate::state::AppState;

#[derive(Debug)]
struct ProductRow {
    sku: String,
    name: String,
    kind: &'static str,
    category: String,
    list_price: String,
    cost: String,
    unit: String,
}

#[derive(Template)]
#[template(path = "products.html")]
struct ProductsPage {
    layout: Layout,
    rows: Vec<ProductRow>,
    next: Option<String>,
    show_cost: bool,
    warehouses: Vec<Warehouse>,
}

#[derive(Debug, Deserialize)]
pub struct ProductsQuery {
    after: Option<String>,
}

/// `GET /products`.
pub async fn products_page(State(app): State<AppState>, auth: PageAuth, Query(q): Query<ProductsQuery>) -> PageResult {
    let p = &auth.principal;
    p.scope_for(RecordType::Product, Action::Read)
        .ok_or_else(|| ApiError::forbidden("your role may not read products"))?;
    let mut tx = app.db.autocommit().await?;
    let cursor = q.after.as_deref().and_then(|c| Cursor::decode(c).ok());
    let page = catalog::list_products(&mut tx, p.tenant_id, &ProductQuery { cursor, ..Default::default() }).await?;
    let categories = catalog::list_categories(&mut tx, p.tenant_id).await?;
    let warehouses = catalog::list_warehouses(&mut tx, p.tenant_id).await?;
    let rows = page
        .items
        .iter()
        .map(|prod| {
            let shown = present(p, RecordType::Product, prod).unwrap_or_default();
            ProductRow {
                sku: prod.sku.clone(),
                name: prod.name.clone(),
                kind: prod.kind.as_str(),
                category: categories
                    .iter()
                    .find(|c| Some(c.key) == prod.category_key)
                    .map(|c| c.name.clone())
                    .unwrap_or_default(),
                list_price: format!("{} {}", prod.list_price, prod.currency),
                cost: shown.get("cost").and_then(|c| c.as_str()).unwrap_or("").to_string(),
                unit: prod.unit.clone(),
            }
        })
        .collect();
    let view = ProductsPage {
        layout: auth.layout("products"),
        rows,
        next: page.next.map(|c| c.encode()),
        show_cost: p.sees_field(RecordType::Product, "cost"),
        warehouses,
    };
    Ok(render(&view).into_response())
}
