//! Reference-data pages: payment terms with a due-date calculator, and tax
//! rates and tax categories with their forms.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use nave_domain::access::{Action, RecordType};
use nave_domain::ids::PublicId;
use nave_domain::money::{Currency, Money};
use nave_store::db::Tx;
use nave_store::payment_terms;
use nave_store::taxes::{self, Tax, TaxCategory, TaxInput};
use serde::Deserialize;

use super::{FormData, FormErrors, Layout, PageAuth, PageResult, form_again, form_date, render, require, validity};
use crate::api::payment_terms::parse_date;
use crate::api::taxes::checked;
use crate::error::ApiError;
use crate::extract::actor_of;
use crate::state::AppState;

const TAX: RecordType = RecordType::Tax;
const CAT: RecordType = RecordType::TaxCategory;

#[derive(Debug)]
struct TermsRow {
    id: String,
    name: String,
    description: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "payment_terms.html")]
struct PaymentTermsPage {
    layout: Layout,
    terms: Vec<TermsRow>,
    selected: String,
    amount: String,
    currency: String,
    date: String,
    schedule: Vec<(String, String)>,
    error: Option<String>,
    can_create: bool,
    can_update: bool,
}

#[derive(Debug, Deserialize)]
pub struct PreviewQuery {
    terms: Option<String>,
    amount: Option<String>,
    currency: Option<String>,
    date: Option<String>,
}

/// `GET /payment-terms`: the list, and the due dates of an amount when asked.
pub async fn payment_terms_page(
    State(app): State<AppState>,
    auth: PageAuth,
    Query(q): Query<PreviewQuery>,
) -> PageResult {
    let p = &auth.principal;
    p.scope_for(RecordType::PaymentTerms, Action::Read)
        .ok_or_else(|| ApiError::forbidden("your role may not read payment terms"))?;
    let mut tx = app.db.autocommit().await?;
    let list = payment_terms::list(&mut tx, p.tenant_id, true).await?;
    let mut page = PaymentTermsPage {
        layout: auth.layout("terms"),
        terms: list
            .iter()
            .map(|t| TermsRow {
                id: t.id.to_string(),
                name: t.name.clone(),
                description: t.instalments.iter().map(|i| i.describe()).collect::<Vec<_>>().join("; "),
                active: t.active,
            })
            .collect(),
        selected: q.terms.clone().unwrap_or_default(),
        amount: q.amount.clone().unwrap_or_else(|| "1000.00".into()),
        currency: q.currency.clone().unwrap_or_else(|| "USD".into()),
        date: q.date.clone().unwrap_or_else(|| nave_store::db::now().date().to_string()),
        schedule: vec![],
        error: None,
        can_create: p.scope_for(RecordType::PaymentTerms, Action::Create).is_some(),
        can_update: p.scope_for(RecordType::PaymentTerms, Action::Update).is_some(),
    };
    if let Some(sel) = &q.terms {
        let computed = (|| {
            let t = list
                .iter()
                .find(|t| t.id.to_string() == *sel)
                .ok_or("Choose payment terms from the list.".to_string())?;
            let currency = Currency::parse(page.currency.trim()).map_err(|e| format!("Currency {e}."))?;
            let amount = Money::parse(&page.amount, currency).map_err(|e| format!("The amount {e}."))?;
            let date =
                parse_date("date", &page.date).map_err(|e| format!("The invoice date {}.", e.errors[0].message))?;
            let terms = t.terms().map_err(|e| e.to_string())?;
            Ok::<_, String>(
                terms.schedule(amount, date).into_iter().map(|d| (d.date.to_string(), d.amount.to_string())).collect(),
            )
        })();
        match computed {
            Ok(s) => page.schedule = s,
            Err(e) => page.error = Some(e),
        }
    }
    Ok(render(&page).into_response())
}

#[derive(Debug)]
struct TaxRow {
    id: String,
    name: String,
    rate: String,
    validity: String,
    active: bool,
}

#[derive(Debug)]
struct CategoryRow {
    id: String,
    name: String,
    taxes: String,
}

#[derive(Template)]
#[template(path = "taxes.html")]
struct TaxesPage {
    layout: Layout,
    taxes: Vec<TaxRow>,
    categories: Vec<CategoryRow>,
    can_create_tax: bool,
    can_update_tax: bool,
    can_create_category: bool,
    can_update_category: bool,
}

/// `GET /taxes`: tax rates and the categories that use them.
pub async fn taxes_page(State(app): State<AppState>, auth: PageAuth) -> PageResult {
    let p = &auth.principal;
    require(p, TAX, Action::Read, "read taxes")?;
    let mut tx = app.db.autocommit().await?;
    let taxes = taxes::list_taxes(&mut tx, p.tenant_id).await?;
    let cats = taxes::list_categories(&mut tx, p.tenant_id).await?;
    let name_of = |id: &PublicId| taxes.iter().find(|t| t.id == *id).map(|t| t.name.clone()).unwrap_or_default();
    let page = TaxesPage {
        layout: auth.layout("taxes"),
        categories: cats
            .iter()
            .map(|c| CategoryRow {
                id: c.id.to_string(),
                name: c.name.clone(),
                taxes: c.tax_ids.iter().map(name_of).collect::<Vec<_>>().join(", "),
            })
            .collect(),
        taxes: taxes
            .iter()
            .map(|t| TaxRow {
                id: t.id.to_string(),
                name: t.name.clone(),
                rate: t.rate.clone(),
                validity: validity(t.valid_from.as_deref(), t.valid_to.as_deref()),
                active: t.active,
            })
            .collect(),
        can_create_tax: p.scope_for(TAX, Action::Create).is_some(),
        can_update_tax: p.scope_for(TAX, Action::Update).is_some(),
        can_create_category: p.scope_for(CAT, Action::Create).is_some(),
        can_update_category: p.scope_for(CAT, Action::Update).is_some(),
    };
    Ok(render(&page).into_response())
}

// ----------------------------------------------------------------- tax rates

/// A tax rate as typed.
#[derive(Debug)]
struct TaxForm {
    name: String,
    rate: String,
    valid_from: String,
    valid_to: String,
    active: bool,
    version: i64,
}

impl TaxForm {
    fn parse(body: &[u8]) -> Self {
        let f = FormData::parse(body);
        TaxForm {
            name: f.get("name"),
            rate: f.get("rate"),
            valid_from: f.get("valid_from"),
            valid_to: f.get("valid_to"),
            active: f.checked("active"),
            version: f.version(),
        }
    }

    fn of(t: &Tax) -> Self {
        TaxForm {
            name: t.name.clone(),
            rate: t.rate.clone(),
            valid_from: t.valid_from.clone().unwrap_or_default(),
            valid_to: t.valid_to.clone().unwrap_or_default(),
            active: t.active,
            version: t.version,
        }
    }

    /// The checked input, or `None` with the reasons in `errors`.
    fn input(&self, errors: &mut FormErrors) -> Result<Option<TaxInput>, ApiError> {
        let from = form_date(errors, "valid_from", &self.valid_from);
        let to = form_date(errors, "valid_to", &self.valid_to);
        match checked(self.name.clone(), &self.rate, from, to, self.active) {
            Ok(input) if errors.is_empty() => Ok(Some(input)),
            Ok(_) => Ok(None),
            Err(e) => errors.absorb(e).map(|()| None),
        }
    }
}

#[derive(Template)]
#[template(path = "tax_form.html")]
struct TaxFormPage {
    layout: Layout,
    /// The rate edited; `None` for a new one.
    id: Option<String>,
    form: TaxForm,
    errors: FormErrors,
}

/// `GET /taxes/new`.
pub async fn new_tax(auth: PageAuth) -> PageResult {
    require(&auth.principal, TAX, Action::Create, "create taxes")?;
    let form = TaxForm {
        name: String::new(),
        rate: String::new(),
        valid_from: String::new(),
        valid_to: String::new(),
        active: true,
        version: 0,
    };
    Ok(render(&TaxFormPage { layout: auth.layout("taxes"), id: None, form, errors: FormErrors::default() })
        .into_response())
}

/// `POST /taxes`.
pub async fn create_tax(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    let p = &auth.principal;
    require(p, TAX, Action::Create, "create taxes")?;
    let form = TaxForm::parse(&body);
    let mut errors = FormErrors::default();
    if let Some(input) = form.input(&mut errors)? {
        let mut tx = app.db.write().await?;
        match taxes::create_tax(&mut tx, &actor_of(p), input).await {
            Ok(_) => {
                tx.commit().await?;
                return Ok(Redirect::to("/taxes").into_response());
            }
            Err(e) => errors.absorb(e)?,
        }
    }
    form_again(errors.status(), &TaxFormPage { layout: auth.layout("taxes"), id: None, form, errors })
}

async fn load_tax(tx: &mut Tx, tenant_id: i64, id: &str) -> Result<Tax, ApiError> {
    let id: PublicId = id.parse().map_err(|_| ApiError::not_found("tax"))?;
    taxes::get_tax(tx, tenant_id, id).await?.ok_or_else(|| ApiError::not_found("tax"))
}

/// `GET /taxes/{id}/edit`.
pub async fn edit_tax(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    let p = &auth.principal;
    require(p, TAX, Action::Update, "change taxes")?;
    let mut tx = app.db.read().await?;
    let t = load_tax(&mut tx, p.tenant_id, &id).await?;
    tx.commit().await?;
    let page = TaxFormPage {
        layout: auth.layout("taxes"),
        id: Some(t.id.to_string()),
        form: TaxForm::of(&t),
        errors: FormErrors::default(),
    };
    Ok(render(&page).into_response())
}

/// `POST /taxes/{id}`: saves the rate if it is still at the version the form showed.
pub async fn update_tax(
    State(app): State<AppState>,
    auth: PageAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let p = &auth.principal;
    require(p, TAX, Action::Update, "change taxes")?;
    let form = TaxForm::parse(&body);
    let mut errors = FormErrors::default();
    let mut tx = app.db.write().await?;
    let before = load_tax(&mut tx, p.tenant_id, &id).await?;
    if let Some(input) = form.input(&mut errors)? {
        match taxes::update_tax(&mut tx, &actor_of(p), &before, Some(form.version), input).await {
            Ok(_) => {
                tx.commit().await?;
                return Ok(Redirect::to("/taxes").into_response());
            }
            Err(e) => errors.absorb(e)?,
        }
    }
    drop(tx);
    let page = TaxFormPage { layout: auth.layout("taxes"), id: Some(before.id.to_string()), form, errors };
    form_again(page.errors.status(), &page)
}

// ------------------------------------------------------------ tax categories

/// A tax rate to tick in a category form.
#[derive(Debug)]
struct TaxChoice {
    id: String,
    label: String,
    checked: bool,
}

/// A tax category as typed.
#[derive(Debug, Default)]
struct CategoryForm {
    name: String,
    tax_ids: Vec<String>,
    version: i64,
}

#[derive(Template)]
#[template(path = "tax_category_form.html")]
struct CategoryFormPage {
    layout: Layout,
    /// The category edited; `None` for a new one.
    id: Option<String>,
    form: CategoryForm,
    choices: Vec<TaxChoice>,
    errors: FormErrors,
}

/// The page, with every tax to choose from: the ticked ones first, in the
/// category's order (which is the order they apply in), then the others.
async fn category_page(
    app: &AppState,
    auth: &PageAuth,
    id: Option<String>,
    form: CategoryForm,
    errors: FormErrors,
) -> Result<CategoryFormPage, ApiError> {
    let mut tx = app.db.read().await?;
    let all = taxes::list_taxes(&mut tx, auth.principal.tenant_id).await?;
    tx.commit().await?;
    let choice = |t: &Tax| TaxChoice {
        id: t.id.to_string(),
        label: format!("{} ({} %)", t.name, t.rate),
        checked: form.tax_ids.contains(&t.id.to_string()),
    };
    let mut choices: Vec<TaxChoice> =
        form.tax_ids.iter().filter_map(|id| all.iter().find(|t| t.id.to_string() == *id)).map(choice).collect();
    choices.extend(all.iter().filter(|t| !form.tax_ids.contains(&t.id.to_string())).map(choice));
    Ok(CategoryFormPage { layout: auth.layout("taxes"), id, form, choices, errors })
}

impl CategoryForm {
    fn parse(body: &[u8]) -> Self {
        let f = FormData::parse(body);
        CategoryForm { name: f.get("name"), tax_ids: f.all("tax_ids"), version: f.version() }
    }

    /// The ticked taxes; an id that is not one is refused next to the list.
    fn ids(&self, errors: &mut FormErrors) -> Vec<PublicId> {
        let mut out = Vec::new();
        for (i, id) in self.tax_ids.iter().enumerate() {
            match id.parse() {
                Ok(id) => out.push(id),
                Err(_) => errors.add(format!("tax_ids[{i}]"), "is not the id of a tax"),
            }
        }
        out
    }
}

/// `GET /tax-categories/new`.
pub async fn new_category(State(app): State<AppState>, auth: PageAuth) -> PageResult {
    require(&auth.principal, CAT, Action::Create, "create tax categories")?;
    let page = category_page(&app, &auth, None, CategoryForm::default(), FormErrors::default()).await?;
    Ok(render(&page).into_response())
}

/// `POST /tax-categories`.
pub async fn create_category(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    let p = &auth.principal;
    require(p, CAT, Action::Create, "create tax categories")?;
    let form = CategoryForm::parse(&body);
    let mut errors = FormErrors::default();
    let ids = form.ids(&mut errors);
    if errors.is_empty() {
        let mut tx = app.db.write().await?;
        match taxes::create_category(&mut tx, &actor_of(p), &form.name, &ids).await {
            Ok(_) => {
                tx.commit().await?;
                return Ok(Redirect::to("/taxes").into_response());
            }
            Err(e) => errors.absorb(e)?,
        }
    }
    let status = errors.status();
    form_again(status, &category_page(&app, &auth, None, form, errors).await?)
}

async fn load_category(tx: &mut Tx, tenant_id: i64, id: &str) -> Result<TaxCategory, ApiError> {
    let id: PublicId = id.parse().map_err(|_| ApiError::not_found("tax_category"))?;
    taxes::get_category(tx, tenant_id, id).await?.ok_or_else(|| ApiError::not_found("tax_category"))
}

/// `GET /tax-categories/{id}/edit`.
pub async fn edit_category(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    let p = &auth.principal;
    require(p, CAT, Action::Update, "change tax categories")?;
    let mut tx = app.db.read().await?;
    let c = load_category(&mut tx, p.tenant_id, &id).await?;
    tx.commit().await?;
    let form = CategoryForm {
        name: c.name.clone(),
        tax_ids: c.tax_ids.iter().map(|t| t.to_string()).collect(),
        version: c.version,
    };
    let page = category_page(&app, &auth, Some(c.id.to_string()), form, FormErrors::default()).await?;
    Ok(render(&page).into_response())
}

/// `POST /tax-categories/{id}`: saves the category if it is still at the version the form showed.
pub async fn update_category(
    State(app): State<AppState>,
    auth: PageAuth,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let p = &auth.principal;
    require(p, CAT, Action::Update, "change tax categories")?;
    let form = CategoryForm::parse(&body);
    let mut errors = FormErrors::default();
    let ids = form.ids(&mut errors);
    let mut tx = app.db.write().await?;
    let before = load_category(&mut tx, p.tenant_id, &id).await?;
    if errors.is_empty() {
        let r =
            taxes::update_category(&mut tx, &actor_of(p), &before, Some(form.version), Some(&form.name), Some(&ids))
                .await;
        match r {
            Ok(_) => {
                tx.commit().await?;
                return Ok(Redirect::to("/taxes").into_response());
            }
            Err(e) => errors.absorb(e)?,
        }
    }
    drop(tx);
    let status = errors.status();
    form_again(status, &category_page(&app, &auth, Some(before.id.to_string()), form, errors).await?)
}
