//! Product lines: the category tree, with a form to add, rename and move
//! categories and a button to delete an empty one.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use nave_domain::access::{Action, RecordType};
use nave_domain::ids::PublicId;
use nave_store::catalog::{self, ProductCategory};

use super::{FormData, FormErrors, Layout, PageAuth, PageResult, form_again, render, require};
use crate::error::ApiError;
use crate::extract::actor_of;
use crate::state::AppState;

const T: RecordType = RecordType::ProductCategory;

/// A category as a row of the tree: indented by its depth.
#[derive(Debug)]
struct TreeRow {
    id: String,
    name: String,
    depth: usize,
    products: i64,
}

/// The categories in tree order (each followed by its children), with depths.
fn tree(cats: &[ProductCategory]) -> Vec<(usize, &ProductCategory)> {
    fn walk<'a>(
        cats: &'a [ProductCategory],
        parent: Option<PublicId>,
        depth: usize,
        out: &mut Vec<(usize, &'a ProductCategory)>,
    ) {
        for c in cats.iter().filter(|c| c.parent_id == parent) {
            out.push((depth, c));
            if depth < 50 {
                walk(cats, Some(c.id), depth + 1, out);
            }
        }
    }
    let mut out = Vec::with_capacity(cats.len());
    walk(cats, None, 0, &mut out);
    out
}

#[derive(Template)]
#[template(path = "product_categories.html")]
struct CategoriesPage {
    layout: Layout,
    rows: Vec<TreeRow>,
    can_edit: bool,
    error: Option<String>,
}

async fn list_page(app: &AppState, auth: &PageAuth, error: Option<String>) -> Result<CategoriesPage, ApiError> {
    let p = &auth.principal;
    let mut tx = app.db.read().await?;
    let cats = catalog::list_categories(&mut tx, p.tenant_id).await?;
    let counts = catalog::category_product_counts(&mut tx, p.tenant_id).await?;
    tx.commit().await?;
    let rows = tree(&cats)
        .into_iter()
        .map(|(depth, c)| TreeRow {
            id: c.id.to_string(),
            name: c.name.clone(),
            depth,
            products: counts.iter().find(|(k, _)| *k == c.key).map_or(0, |(_, n)| *n),
        })
        .collect();
    Ok(CategoriesPage {
        layout: auth.layout("products"),
        rows,
        can_edit: p.scope_for(T, Action::Update).is_some(),
        error,
    })
}

/// `GET /product-categories`.
pub async fn list(State(app): State<AppState>, auth: PageAuth) -> PageResult {
    require(&auth.principal, T, Action::Read, "read product categories")?;
    Ok(render(&list_page(&app, &auth, None).await?).into_response())
}

#[derive(Debug, Default)]
struct CategoryForm {
    name: String,
    parent_id: String,
    version: i64,
}

#[derive(Template)]
#[template(path = "product_category_form.html")]
struct CategoryFormPage {
    layout: Layout,
    id: Option<String>,
    form: CategoryForm,
    /// (id, indented name) of the categories it may go under.
    parents: Vec<(String, String)>,
    errors: FormErrors,
}

async fn form_page(
    app: &AppState,
    auth: &PageAuth,
    id: Option<PublicId>,
    form: CategoryForm,
    errors: FormErrors,
) -> Result<CategoryFormPage, ApiError> {
    let mut tx = app.db.read().await?;
    let cats = catalog::list_categories(&mut tx, auth.principal.tenant_id).await?;
    tx.commit().await?;
    let parents = tree(&cats)
        .into_iter()
        .filter(|(_, c)| Some(c.id) != id)
        .map(|(depth, c)| (c.id.to_string(), format!("{}{}", "— ".repeat(depth), c.name)))
        .collect();
    Ok(CategoryFormPage { layout: auth.layout("products"), id: id.map(|i| i.to_string()), form, parents, errors })
}

fn parent_of(form: &CategoryForm, errors: &mut FormErrors) -> Option<PublicId> {
    match form.parent_id.trim() {
        "" => None,
        s => s.parse().map_err(|_| errors.add("parent_id", "is not one of the choices")).ok(),
    }
}

fn parse(body: &[u8]) -> CategoryForm {
    let f = FormData::parse(body);
    CategoryForm { name: f.get("name"), parent_id: f.get("parent_id"), version: f.version() }
}

/// `GET /product-categories/new`.
pub async fn new_form(State(app): State<AppState>, auth: PageAuth) -> PageResult {
    require(&auth.principal, T, Action::Create, "create product categories")?;
    Ok(render(&form_page(&app, &auth, None, CategoryForm::default(), FormErrors::default()).await?).into_response())
}

/// `POST /product-categories`.
pub async fn create(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    let p = &auth.principal;
    require(p, T, Action::Create, "create product categories")?;
    let form = parse(&body);
    let mut errors = FormErrors::default();
    let parent = parent_of(&form, &mut errors);
    if errors.is_empty() {
        let mut tx = app.db.write().await?;
        match catalog::create_category(&mut tx, &actor_of(p), &form.name, parent).await {
            Ok(_) => {
                tx.commit().await?;
                return Ok(Redirect::to("/product-categories").into_response());
            }
            Err(e) => errors.absorb(e)?,
        }
    }
    let status = errors.status();
    form_again(status, &form_page(&app, &auth, None, form, errors).await?)
}

async fn load(app: &AppState, tenant_id: i64, id: &str) -> Result<ProductCategory, ApiError> {
    let id: PublicId = id.parse().map_err(|_| ApiError::not_found("product_category"))?;
    let mut tx = app.db.autocommit().await?;
    catalog::get_category(&mut tx, tenant_id, id).await?.ok_or_else(|| ApiError::not_found("product_category"))
}

/// `GET /product-categories/{id}/edit`.
pub async fn edit_form(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    require(&auth.principal, T, Action::Update, "change product categories")?;
    let c = load(&app, auth.principal.tenant_id, &id).await?;
    let form = CategoryForm {
        name: c.name.clone(),
        parent_id: c.parent_id.map(|p| p.to_string()).unwrap_or_default(),
        version: c.version,
    };
    Ok(render(&form_page(&app, &auth, Some(c.id), form, FormErrors::default()).await?).into_response())
}

/// `POST /product-categories/{id}`: renames or moves it, if it is still at the version the form showed.
pub async fn update(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>, body: Bytes) -> PageResult {
    let p = &auth.principal;
    require(p, T, Action::Update, "change product categories")?;
    let before = load(&app, p.tenant_id, &id).await?;
    let form = parse(&body);
    let mut errors = FormErrors::default();
    let parent = parent_of(&form, &mut errors);
    if errors.is_empty() {
        let mut tx = app.db.write().await?;
        let r = catalog::update_category(
            &mut tx,
            &actor_of(p),
            &before,
            Some(form.version),
            Some(&form.name),
            Some(parent),
        )
        .await;
        match r {
            Ok(_) => {
                tx.commit().await?;
                return Ok(Redirect::to("/product-categories").into_response());
            }
            Err(e) => errors.absorb(e)?,
        }
    }
    let status = errors.status();
    form_again(status, &form_page(&app, &auth, Some(before.id), form, errors).await?)
}

/// `POST /product-categories/{id}/delete`: deletes an empty category, or shows why not.
pub async fn delete(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    let p = &auth.principal;
    require(p, T, Action::Delete, "delete product categories")?;
    let before = load(&app, p.tenant_id, &id).await?;
    let mut tx = app.db.write().await?;
    match catalog::delete_category(&mut tx, &actor_of(p), &before, None).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(Redirect::to("/product-categories").into_response())
        }
        Err(e) => {
            drop(tx);
            let e: ApiError = e.into();
            let page = list_page(&app, &auth, Some(format!("{}.", e.detail))).await?;
            form_again(e.status(), &page)
        }
    }
}
