//! The payment-terms form: a name and up to 12 instalments (percent or the
//! rest, days, end of month, day of month).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use nave_domain::access::{Action, RecordType};
use nave_domain::ids::PublicId;
use nave_domain::terms::{Instalment, Terms};
use nave_store::payment_terms::{self, PaymentTerms, PaymentTermsPatch};
use rust_decimal::Decimal;

use super::{FormData, FormErrors, Layout, PageAuth, PageResult, form_again, render, require};
use crate::error::ApiError;
use crate::extract::actor_of;
use crate::state::AppState;

const T: RecordType = RecordType::PaymentTerms;
/// Rows offered on the form (the domain allows 12 instalments).
const ROWS: usize = 12;
const FIELDS: &[&str] = &["percent", "days", "end_of_month", "day_of_month"];

/// One instalment as typed.
#[derive(Debug, Clone, Default)]
struct Row {
    percent: String,
    days: String,
    end_of_month: bool,
    day_of_month: String,
}

/// The form as typed.
#[derive(Debug, Default)]
struct TermsForm {
    name: String,
    active: bool,
    rows: Vec<Row>,
    version: i64,
}

impl TermsForm {
    fn parse(body: &[u8]) -> Self {
        let f = FormData::parse(body);
        let rows = f
            .rows("instalments", FIELDS)
            .into_iter()
            .map(|r| Row {
                percent: r[0].clone(),
                days: r[1].clone(),
                end_of_month: !r[2].is_empty(),
                day_of_month: r[3].clone(),
            })
            .collect();
        TermsForm { name: f.get("name"), active: f.checked("active"), rows, version: f.version() }
    }

    fn of(t: &PaymentTerms) -> Self {
        let rows = t
            .instalments
            .iter()
            .map(|i| Row {
                percent: i.percent.map(|p| p.normalize().to_string()).unwrap_or_default(),
                days: i.days.to_string(),
                end_of_month: i.end_of_month,
                day_of_month: i.day_of_month.map(|d| d.to_string()).unwrap_or_default(),
            })
            .collect();
        TermsForm { name: t.name.clone(), active: t.active, rows, version: t.version }
    }

    /// The rows shown: those typed, then empty ones up to [`ROWS`].
    fn shown_rows(&self) -> Vec<Row> {
        let mut rows = self.rows.clone();
        rows.resize(ROWS.max(rows.len()), Row::default());
        rows
    }

    /// The checked terms, or `None` with each error next to its cell.
    fn terms(&self, errors: &mut FormErrors) -> Option<Terms> {
        let mut list = Vec::new();
        for (i, r) in self.rows.iter().enumerate() {
            let cell = |f: &str| format!("instalments[{i}].{f}");
            let percent = match r.percent.trim() {
                "" => None,
                p => match p.trim_end_matches('%').trim().parse::<Decimal>() {
                    Ok(d) => Some(d),
                    Err(_) => {
                        errors.add(cell("percent"), "must be a percentage such as 30, or empty for the rest");
                        None
                    }
                },
            };
            let days = match r.days.trim() {
                "" => 0,
                d => d.parse::<u32>().unwrap_or_else(|_| {
                    errors.add(cell("days"), "must be a whole number of days");
                    0
                }),
            };
            let day_of_month = match r.day_of_month.trim() {
                "" => None,
                d => match d.parse::<u8>() {
                    Ok(n) => Some(n),
                    Err(_) => {
                        errors.add(cell("day_of_month"), "must be a day from 1 to 31");
                        None
                    }
                },
            };
            list.push(Instalment { percent, days, end_of_month: r.end_of_month, day_of_month });
        }
        if !errors.is_empty() {
            return None;
        }
        match Terms::new(list) {
            Ok(t) => Some(t),
            Err(e) => {
                errors.absorb(e).ok();
                None
            }
        }
    }
}

#[derive(Template)]
#[template(path = "payment_terms_form.html")]
struct TermsFormPage {
    layout: Layout,
    id: Option<String>,
    form: TermsForm,
    errors: FormErrors,
}

impl TermsFormPage {
    fn rows(&self) -> Vec<Row> {
        self.form.shown_rows()
    }
}

fn page(auth: &PageAuth, id: Option<PublicId>, form: TermsForm, errors: FormErrors) -> TermsFormPage {
    TermsFormPage { layout: auth.layout("terms"), id: id.map(|i| i.to_string()), form, errors }
}

/// `GET /payment-terms/new`.
pub async fn new_form(auth: PageAuth) -> PageResult {
    require(&auth.principal, T, Action::Create, "create payment terms")?;
    let form =
        TermsForm { active: true, rows: vec![Row { days: "30".into(), ..Default::default() }], ..Default::default() };
    Ok(render(&page(&auth, None, form, FormErrors::default())).into_response())
}

/// `POST /payment-terms`.
pub async fn create(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    let p = &auth.principal;
    require(p, T, Action::Create, "create payment terms")?;
    let form = TermsForm::parse(&body);
    let mut errors = FormErrors::default();
    if let Some(terms) = form.terms(&mut errors) {
        let mut tx = app.db.write().await?;
        match payment_terms::create(&mut tx, &actor_of(p), &form.name, &terms).await {
            Ok(created) => {
                if !form.active {
                    let patch = PaymentTermsPatch { active: Some(false), ..Default::default() };
                    payment_terms::update(&mut tx, &actor_of(p), created.id, None, patch).await?;
                }
                tx.commit().await?;
                return Ok(Redirect::to("/payment-terms").into_response());
            }
            Err(e) => errors.absorb(e)?,
        }
    }
    form_again(errors.status(), &page(&auth, None, form, errors))
}

fn parse_terms_id(id: &str) -> Result<PublicId, ApiError> {
    id.parse().map_err(|_| ApiError::not_found("payment_terms"))
}

/// `GET /payment-terms/{id}/edit`.
pub async fn edit_form(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    let p = &auth.principal;
    require(p, T, Action::Update, "change payment terms")?;
    let id = parse_terms_id(&id)?;
    let mut tx = app.db.autocommit().await?;
    let t = payment_terms::get(&mut tx, p.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("payment_terms"))?;
    Ok(render(&page(&auth, Some(id), TermsForm::of(&t), FormErrors::default())).into_response())
}

/// `POST /payment-terms/{id}`: saves the terms if they are still at the version the form showed.
pub async fn update(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>, body: Bytes) -> PageResult {
    let p = &auth.principal;
    require(p, T, Action::Update, "change payment terms")?;
    let id = parse_terms_id(&id)?;
    let form = TermsForm::parse(&body);
    let mut errors = FormErrors::default();
    if let Some(terms) = form.terms(&mut errors) {
        let mut tx = app.db.write().await?;
        let patch = PaymentTermsPatch { name: Some(form.name.clone()), terms: Some(terms), active: Some(form.active) };
        match payment_terms::update(&mut tx, &actor_of(p), id, Some(form.version), patch).await {
            Ok(_) => {
                tx.commit().await?;
                return Ok(Redirect::to("/payment-terms").into_response());
            }
            Err(e) => errors.absorb(e)?,
        }
    }
    form_again(errors.status(), &page(&auth, Some(id), form, errors))
}
