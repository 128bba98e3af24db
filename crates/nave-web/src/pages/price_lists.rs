//! Price list pages: the lists, one list with its prices and a price check,
//! and the form that creates or changes a list with its price rows. Writes
//! go through the same store functions as the API.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use nave_domain::access::{Action, RecordType};
use nave_domain::error::Validator;
use nave_domain::ids::PublicId;
use nave_domain::money::{Currency, format_unit_price, parse_unit_price};
use nave_domain::stock::parse_quantity;
use nave_store::catalog;
use nave_store::db::Tx;
use nave_store::price_lists::{self, ItemInput, PriceList, PriceListInput};
use serde::Deserialize;

use super::show::filters;
use super::{FormData, FormErrors, Layout, PageAuth, PageResult, form_again, form_date, render, require, validity};
use crate::api::payment_terms::date_or_today;
use crate::error::ApiError;
use crate::extract::actor_of;
use crate::state::AppState;

const T: RecordType = RecordType::PriceList;

#[derive(Debug)]
struct ListRow {
    id: String,
    name: String,
    currency: String,
    validity: String,
    active: bool,
    items: usize,
    accounts: usize,
}

#[derive(Template)]
#[template(path = "price_lists.html")]
struct PriceListsPage {
    layout: Layout,
    rows: Vec<ListRow>,
    can_create: bool,
}

/// `GET /price-lists`.
pub async fn list_page(State(app): State<AppState>, auth: PageAuth) -> PageResult {
    let p = &auth.principal;
    require(p, T, Action::Read, "read price lists")?;
    let mut tx = app.db.read().await?;
    let lists = price_lists::list(&mut tx, p.tenant_id).await?;
    tx.commit().await?;
    let rows = lists
        .iter()
        .map(|l| ListRow {
            id: l.id.to_string(),
            name: l.name.clone(),
            currency: l.currency.code().to_string(),
            validity: validity(l.valid_from.as_deref(), l.valid_to.as_deref()),
            active: l.active,
            items: l.items.len(),
            accounts: l.account_ids.len(),
        })
        .collect();
    let page = PriceListsPage {
        layout: auth.layout("price_lists"),
        rows,
        can_create: p.scope_for(T, Action::Create).is_some(),
    };
    Ok(render(&page).into_response())
}

async fn load(tx: &mut Tx, tenant_id: i64, id: &str) -> Result<PriceList, ApiError> {
    let id: PublicId = id.parse().map_err(|_| ApiError::not_found("price_list"))?;
    price_lists::get(tx, tenant_id, id).await?.ok_or_else(|| ApiError::not_found("price_list"))
}

#[derive(Debug)]
struct ItemRow {
    sku: String,
    name: String,
    min_quantity: String,
    price: String,
}

/// A resolved price and why.
#[derive(Debug)]
struct PriceCheck {
    unit_price: String,
    currency: String,
    explanation: String,
}

#[derive(Template)]
#[template(path = "price_list.html")]
struct PriceListPage {
    layout: Layout,
    id: String,
    name: String,
    currency: String,
    validity: String,
    active: bool,
    items: Vec<ItemRow>,
    accounts: usize,
    can_update: bool,
    can_check: bool,
    sku: String,
    quantity: String,
    date: String,
    check: Option<PriceCheck>,
    check_error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct CheckQuery {
    sku: Option<String>,
    quantity: Option<String>,
    date: Option<String>,
}

/// `GET /price-lists/{id}`: the prices, and the price of a product at this
/// list when asked (`?sku=…&quantity=…&date=…`).
pub async fn show_page(
    State(app): State<AppState>,
    auth: PageAuth,
    Path(id): Path<String>,
    Query(q): Query<CheckQuery>,
) -> PageResult {
    let p = &auth.principal;
    require(p, T, Action::Read, "read price lists")?;
    let mut tx = app.db.read().await?;
    let list = load(&mut tx, p.tenant_id, &id).await?;
    let mut names: HashMap<PublicId, String> = HashMap::new();
    for it in &list.items {
        if let Entry::Vacant(slot) = names.entry(it.product_id) {
            let name = catalog::get_product(&mut tx, p.tenant_id, it.product_id).await?.map(|x| x.name);
            slot.insert(name.unwrap_or_default());
        }
    }
    let can_check = p.scope_for(RecordType::Product, Action::Read).is_some();
    let sku = q.sku.unwrap_or_default().trim().to_string();
    let quantity = q.quantity.unwrap_or_else(|| "1".into());
    let date = q.date.unwrap_or_default().trim().to_string();
    let (mut check, mut check_error) = (None, None);
    if can_check && !sku.is_empty() {
        match check_price(&mut tx, p.tenant_id, &list, &sku, &quantity, &date).await? {
            Ok(c) => check = Some(c),
            Err(e) => check_error = Some(e),
        }
    }
    tx.commit().await?;
    let page = PriceListPage {
        layout: auth.layout("price_lists"),
        id: list.id.to_string(),
        name: list.name.clone(),
        currency: list.currency.code().to_string(),
        validity: validity(list.valid_from.as_deref(), list.valid_to.as_deref()),
        active: list.active,
        items: list
            .items
            .iter()
            .map(|it| ItemRow {
                sku: it.sku.clone(),
                name: names.get(&it.product_id).cloned().unwrap_or_default(),
                min_quantity: it.min_quantity.clone(),
                price: it.price.clone(),
            })
            .collect(),
        accounts: list.account_ids.len(),
        can_update: p.scope_for(T, Action::Update).is_some(),
        can_check,
        sku,
        quantity,
        date,
        check,
        check_error,
    };
    Ok(render(&page).into_response())
}

/// The price of `quantity` of the product `sku` on `date` at `list`, as
/// `GET /api/v1/products/{id}/price` resolves it; the inner error is a
/// message for the user.
async fn check_price(
    tx: &mut Tx,
    tenant_id: i64,
    list: &PriceList,
    sku: &str,
    quantity: &str,
    date: &str,
) -> Result<Result<PriceCheck, String>, ApiError> {
    let qty = match parse_quantity(quantity) {
        Ok(q) if q > 0 => q,
        Ok(_) => return Ok(Err("The quantity must be above 0.".into())),
        Err(m) => return Ok(Err(format!("The quantity {m}."))),
    };
    let Ok(day) = date_or_today("date", Some(date).filter(|d| !d.is_empty())) else {
        return Ok(Err(format!("“{date}” is not a date: write it YYYY-MM-DD, e.g. 2026-06-30.")));
    };
    let Some(product) = catalog::get_product_by_sku(tx, tenant_id, sku).await? else {
        return Ok(Err(format!("No product has the SKU “{sku}”.")));
    };
    let quote = price_lists::resolve_in_list(tx, tenant_id, &product, Some(list), qty, day).await?;
    Ok(Ok(PriceCheck {
        unit_price: format_unit_price(quote.resolved.price, quote.currency),
        currency: quote.currency.code().to_string(),
        explanation: format!("{} on {day}", quote.resolved.explanation),
    }))
}

// ---------------------------------------------------------------------- form

#[derive(Debug, Default, Clone)]
struct ItemFormRow {
    sku: String,
    min_quantity: String,
    price: String,
}

/// A price list as typed.
#[derive(Debug, Default)]
struct PriceListForm {
    name: String,
    currency: String,
    valid_from: String,
    valid_to: String,
    active: bool,
    items: Vec<ItemFormRow>,
    version: i64,
}

/// Empty price rows offered beyond the filled ones, and rows in all at least.
const BLANK_ROWS: usize = 3;
const MIN_ROWS: usize = 5;

impl PriceListForm {
    fn parse(body: &[u8]) -> Self {
        let f = FormData::parse(body);
        let items = f
            .rows("items", &["sku", "min_quantity", "price"])
            .into_iter()
            .map(|r| {
                let mut r = r.into_iter();
                ItemFormRow {
                    sku: r.next().unwrap_or_default(),
                    min_quantity: r.next().unwrap_or_default(),
                    price: r.next().unwrap_or_default(),
                }
            })
            .collect();
        PriceListForm {
            name: f.get("name"),
            currency: f.get("currency"),
            valid_from: f.get("valid_from"),
            valid_to: f.get("valid_to"),
            active: f.checked("active"),
            items,
            version: f.version(),
        }
    }

    fn of(l: &PriceList) -> Self {
        PriceListForm {
            name: l.name.clone(),
            currency: l.currency.code().to_string(),
            valid_from: l.valid_from.clone().unwrap_or_default(),
            valid_to: l.valid_to.clone().unwrap_or_default(),
            active: l.active,
            items: l
                .items
                .iter()
                .map(|i| ItemFormRow {
                    sku: i.sku.clone(),
                    min_quantity: i.min_quantity.clone(),
                    price: i.price.clone(),
                })
                .collect(),
            version: l.version,
        }
    }

    /// Checks what the page can and resolves SKUs; `None` when something is wrong (see `errors`).
    async fn input(
        &self,
        tx: &mut Tx,
        tenant_id: i64,
        errors: &mut FormErrors,
    ) -> Result<Option<PriceListInput>, ApiError> {
        let currency = Currency::parse(self.currency.trim().to_uppercase().as_str())
            .map_err(|e| errors.add("currency", e.to_string()))
            .ok();
        let valid_from = form_date(errors, "valid_from", &self.valid_from);
        let valid_to = form_date(errors, "valid_to", &self.valid_to);
        let mut v = Validator::new();
        let mut items = Vec::new();
        for (i, row) in self.items.iter().enumerate() {
            let min = Some(row.min_quantity.trim()).filter(|m| !m.is_empty()).unwrap_or("0");
            v.check(&format!("items[{i}].min_quantity"), parse_quantity(min));
            v.check(&format!("items[{i}].price"), parse_unit_price(&row.price));
            match catalog::get_product_by_sku(tx, tenant_id, row.sku.trim()).await? {
                Some(product) => {
                    items.push(ItemInput { product_id: product.id, min_quantity: min.into(), price: row.price.clone() })
                }
                None if row.sku.trim().is_empty() => v.add(format!("items[{i}].sku"), "is required"),
                None => v.add(format!("items[{i}].sku"), format!("no product has the SKU {}", row.sku.trim())),
            }
        }
        if let Err(e) = v.finish() {
            errors.absorb(e)?;
        }
        let Some(currency) = currency.filter(|_| errors.is_empty()) else { return Ok(None) };
        Ok(Some(PriceListInput {
            name: self.name.clone(),
            currency,
            valid_from,
            valid_to,
            active: self.active,
            items: Some(items),
            account_ids: None,
        }))
    }

    fn with_blank_rows(mut self) -> Self {
        let n = (self.items.len() + BLANK_ROWS).max(MIN_ROWS);
        self.items.resize(n, ItemFormRow::default());
        self
    }
}

#[derive(Template)]
#[template(path = "price_list_form.html")]
struct PriceListFormPage {
    layout: Layout,
    /// The list edited; `None` for a new one.
    id: Option<String>,
    form: PriceListForm,
    errors: FormErrors,
}

fn form_page(auth: &PageAuth, id: Option<String>, form: PriceListForm, errors: FormErrors) -> PriceListFormPage {
    PriceListFormPage { layout: auth.layout("price_lists"), id, form: form.with_blank_rows(), errors }
}

/// `GET /price-lists/new`.
pub async fn new_form(State(app): State<AppState>, auth: PageAuth) -> PageResult {
    let p = &auth.principal;
    require(p, T, Action::Create, "create price lists")?;
    let mut tx = app.db.read().await?;
    let company = nave_store::tenants::currency(&mut tx, p.tenant_id).await?;
    tx.commit().await?;
    let form = PriceListForm { currency: company.code().to_string(), active: true, ..Default::default() };
    Ok(render(&form_page(&auth, None, form, FormErrors::default())).into_response())
}

/// `POST /price-lists`.
pub async fn create(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    let p = &auth.principal;
    require(p, T, Action::Create, "create price lists")?;
    let form = PriceListForm::parse(&body);
    let mut errors = FormErrors::default();
    let mut tx = app.db.write().await?;
    if let Some(input) = form.input(&mut tx, p.tenant_id, &mut errors).await? {
        match price_lists::create(&mut tx, &actor_of(p), input).await {
            Ok(l) => {
                tx.commit().await?;
                return Ok(Redirect::to(&format!("/price-lists/{}", l.id)).into_response());
            }
            Err(e) => {
                errors.absorb(e)?;
                errors.rename(".product_id", ".sku");
            }
        }
    }
    drop(tx);
    form_again(errors.status(), &form_page(&auth, None, form, errors))
}

/// `GET /price-lists/{id}/edit`.
pub async fn edit_form(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    let p = &auth.principal;
    require(p, T, Action::Update, "change price lists")?;
    let mut tx = app.db.read().await?;
    let list = load(&mut tx, p.tenant_id, &id).await?;
    tx.commit().await?;
    let page = form_page(&auth, Some(list.id.to_string()), PriceListForm::of(&list), FormErrors::default());
    Ok(render(&page).into_response())
}

/// `POST /price-lists/{id}`: saves the list if it is still at the version the form showed.
pub async fn update(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>, body: Bytes) -> PageResult {
    let p = &auth.principal;
    require(p, T, Action::Update, "change price lists")?;
    let form = PriceListForm::parse(&body);
    let mut errors = FormErrors::default();
    let mut tx = app.db.write().await?;
    let before = load(&mut tx, p.tenant_id, &id).await?;
    if let Some(input) = form.input(&mut tx, p.tenant_id, &mut errors).await? {
        match price_lists::update(&mut tx, &actor_of(p), &before, Some(form.version), input).await {
            Ok(l) => {
                tx.commit().await?;
                return Ok(Redirect::to(&format!("/price-lists/{}", l.id)).into_response());
            }
            Err(e) => {
                errors.absorb(e)?;
                errors.rename(".product_id", ".sku");
            }
        }
    }
    drop(tx);
    form_again(errors.status(), &form_page(&auth, Some(before.id.to_string()), form, errors))
}
