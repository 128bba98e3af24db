//! Lead pages: the list, one lead (with its activities and the convert
//! form), and the lead form.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use nave_domain::access::{Action, Principal, RecordType};
use nave_store::leads::{Lead, LeadStatus};
use serde::Deserialize;

use super::activities::{TimelineView, timeline};
use super::bulk::{self, Batch, BulkError, Refusal};
use super::{FormData, FormErrors, Layout, PageAuth, PageResult, form_again, render, require};
use crate::api::leads::{ConvertRequest, DealRequest, LeadFilter, LeadRequest, convert_for, lead_for, list_for};
use crate::extract::actor_of;
use crate::state::AppState;

const T: RecordType = RecordType::Lead;

/// The columns the leads list may show beside the name: (key, heading).
const COLUMNS: &[(&str, &str)] =
    &[("email", "Email"), ("source", "Source"), ("status", "Status"), ("estimate", "Estimate"), ("created", "Created")];
const DEFAULT_COLUMNS: &[&str] = &["email", "source", "status", "estimate", "created"];
/// The filters the leads list reads from its query string.
pub(crate) const FILTERS: &[&str] = &["status", "q", "sort"];

#[derive(Template)]
#[template(path = "leads.html")]
struct LeadsPage {
    layout: Layout,
    leads: Vec<Lead>,
    status: String,
    statuses: Vec<&'static str>,
    q: String,
    next: Option<String>,
    can_create: bool,
    /// Bulk owner assignment offered: the user may change leads.
    can_bulk: bool,
    owners: super::Choices,
    columns: super::views::Columns,
    views: super::views::ViewsBar,
    /// Why the last bulk action changed nothing.
    error: Option<String>,
    sorting: super::views::Sorting,
}

/// The API's filter of a leads list view (its filters, order and page).
pub(crate) fn view_filter(v: &super::views::ViewQuery) -> LeadFilter {
    let given = |k: &str| Some(v.get(k).to_string()).filter(|s| !s.is_empty());
    LeadFilter {
        status: given("status"),
        owner: None,
        q: given("q"),
        sort: given("sort"),
        limit: Some(50),
        after: v.after.clone(),
    }
}

/// `GET /leads`: status and search filters, the columns chosen, saved views
/// and bulk owner assignment.
pub async fn list(State(app): State<AppState>, auth: PageAuth, RawQuery(raw): RawQuery) -> PageResult {
    list_page(&app, &auth, raw.as_deref(), None).await
}

/// The list of the view `raw`, with why a bulk action changed nothing.
async fn list_page(app: &AppState, auth: &PageAuth, raw: Option<&str>, refusal: Option<Refusal>) -> PageResult {
    let p = &auth.principal;
    require(p, T, Action::Read, "read leads")?;
    let v = super::views::ViewQuery::parse(raw, FILTERS);
    let f = view_filter(&v);
    let (status, q) = (f.status.clone(), f.q.clone());
    let mut tx = app.db.read().await?;
    let (page, sort) = list_for(&mut tx, p, &f).await?;
    let owners = super::user_choices(&mut tx, p.tenant_id).await?;
    let views = super::views::bar(&mut tx, auth, "leads", &v.view_qs()).await?;
    tx.commit().await?;
    let next = sort.next_of(&page);
    let view = LeadsPage {
        layout: auth.layout("leads"),
        leads: page.items,
        status: status.unwrap_or_default(),
        statuses: LeadStatus::ALL.iter().map(|s| s.as_str()).collect(),
        q: q.unwrap_or_default(),
        next,
        can_create: p.scope_for(T, Action::Create).is_some(),
        can_bulk: p.scope_for(T, Action::Update).is_some(),
        owners,
        columns: super::views::columns(COLUMNS, DEFAULT_COLUMNS, &v.columns),
        views,
        error: refusal.as_ref().map(|r| r.message.clone()),
        sorting: super::views::Sorting::new("leads", nave_store::leads::SORTS, sort, &v),
    };
    Ok((refusal.map_or(StatusCode::OK, |r| r.status), render(&view)).into_response())
}

/// `POST /leads/bulk`: gives the ticked leads to an owner, all or none (see
/// `pages::bulk`); then shows the list's view again.
pub async fn bulk(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    require(&auth.principal, T, Action::Update, "change leads")?;
    let again = async |app: &AppState, auth: &PageAuth, back: &str, r| list_page(app, auth, Some(back), Some(r)).await;
    super::bulk::run(&app, &auth, &body, "leads", assign_owner, again).await
}

/// Gives every lead of the batch to the owner chosen, each checked and
/// changed as the lead form and the API change one.
async fn assign_owner(tx: &mut nave_store::Tx, p: &Principal, b: &Batch) -> Result<(), BulkError> {
    let items = b.items_for("assign_owner", "leads")?;
    let owner = b.existing_user(tx, p.tenant_id, "owner_id", None, "choose the new owner").await?;
    let company = nave_store::tenants::currency(tx, p.tenant_id).await?;
    let actor = actor_of(p);
    for (id, version) in items {
        let Some(before) = nave_store::leads::get(tx, p.tenant_id, id).await? else {
            return Err(Refusal::not_found("leads").into());
        };
        let what = format!("the lead “{}”", before.display_name());
        bulk::may_change(p, T, before.ownership, "leads", &what)?;
        let req = LeadRequest { owner_id: owner, ..LeadRequest::default() };
        let input = req.input_for(Some(&before), company).map_err(|e| bulk::refused(e, &what))?;
        nave_store::leads::update(tx, &actor, &before, version, input).await.map_err(|e| bulk::refused(e, &what))?;
    }
    Ok(())
}

#[derive(Template)]
#[template(path = "lead.html")]
struct LeadPage {
    layout: Layout,
    l: Lead,
    timeline: TimelineView,
    can_edit: bool,
    can_convert: bool,
    convert_error: Option<String>,
    today: String,
}

#[derive(Debug, Deserialize)]
pub struct ShowParams {
    kind: Option<String>,
}

async fn lead_page(
    app: &AppState,
    auth: &PageAuth,
    id: &str,
    kind: Option<&str>,
    convert_error: Option<String>,
) -> Result<LeadPage, super::PageError> {
    let p = &auth.principal;
    let mut tx = app.db.read().await?;
    let l = lead_for(&mut tx, p, id, Action::Read).await?;
    tx.commit().await?;
    let timeline = timeline(app, p, "lead", l.id, kind).await?;
    let open = !matches!(l.status, LeadStatus::Converted);
    Ok(LeadPage {
        layout: auth.layout("leads"),
        can_edit: open && p.may(T, Action::Update, l.ownership),
        can_convert: open && l.status != LeadStatus::Unqualified && p.may(T, Action::Update, l.ownership),
        convert_error,
        today: nave_store::db::now().date().to_string(),
        timeline,
        l,
    })
}

/// `GET /leads/{id}`.
pub async fn show(
    State(app): State<AppState>,
    auth: PageAuth,
    Path(id): Path<String>,
    Query(q): Query<ShowParams>,
) -> PageResult {
    require(&auth.principal, T, Action::Read, "read leads")?;
    Ok(render(&lead_page(&app, &auth, &id, q.kind.as_deref(), None).await?).into_response())
}

/// `POST /leads/{id}/convert`: converts and opens the new account, or shows why not.
pub async fn convert(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>, body: Bytes) -> PageResult {
    let p = &auth.principal;
    require(p, T, Action::Update, "convert leads")?;
    let f = FormData::parse(&body);
    let req = ConvertRequest {
        account_id: None,
        opportunity: f.checked("create_opportunity").then(|| DealRequest {
            name: Some(f.get("opportunity_name")).filter(|n| !n.trim().is_empty()),
            amount: Some(f.get("amount")).filter(|a| !a.trim().is_empty()),
            expected_close: f.get("expected_close"),
            stage_id: None,
        }),
    };
    let mut tx = app.db.write().await?;
    match convert_for(&mut tx, p, &id, Some(f.version()), &req).await {
        Ok(l) => {
            tx.commit().await?;
            let to = l.account_id.map(|a| format!("/accounts/{a}")).unwrap_or_else(|| format!("/leads/{id}"));
            Ok(Redirect::to(&to).into_response())
        }
        Err(e) if e.status().is_client_error() && e.status() != axum::http::StatusCode::NOT_FOUND => {
            drop(tx);
            let msg = match e.errors.first() {
                Some(fe) => format!("{}: {}", fe.field.replace('_', " "), fe.message),
                None => e.detail.clone(),
            };
            let page = lead_page(&app, &auth, &id, None, Some(msg)).await?;
            form_again(e.status(), &page)
        }
        Err(e) => Err(e.into()),
    }
}

/// The lead form as typed.
#[derive(Debug, Default)]
struct LeadForm {
    company: String,
    first_name: String,
    last_name: String,
    title: String,
    email: String,
    phone: String,
    website: String,
    source: String,
    status: String,
    notes: String,
    estimated_amount: String,
    currency: String,
    version: i64,
}

impl LeadForm {
    fn parse(body: &[u8]) -> Self {
        let f = FormData::parse(body);
        LeadForm {
            company: f.get("company"),
            first_name: f.get("first_name"),
            last_name: f.get("last_name"),
            title: f.get("title"),
            email: f.get("email"),
            phone: f.get("phone"),
            website: f.get("website"),
            source: f.get("source"),
            status: f.get("status"),
            notes: f.get("notes"),
            estimated_amount: f.get("estimated_amount"),
            currency: f.get("currency"),
            version: f.version(),
        }
    }

    fn of(l: &Lead) -> Self {
        LeadForm {
            company: l.company.clone(),
            first_name: l.first_name.clone(),
            last_name: l.last_name.clone(),
            title: l.title.clone(),
            email: l.email.clone().unwrap_or_default(),
            phone: l.phone.clone().unwrap_or_default(),
            website: l.website.clone().unwrap_or_default(),
            source: l.source.clone(),
            status: l.status.as_str().into(),
            notes: l.notes.clone(),
            estimated_amount: l.estimated_amount.clone().unwrap_or_default(),
            currency: l.currency.code().into(),
            version: l.version,
        }
    }

    /// The API's request with every field given (empty optional ones as absent).
    fn request(&self, errors: &mut FormErrors) -> LeadRequest {
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let currency = match opt(&self.currency) {
            Some(c) => nave_domain::money::Currency::parse(&c.to_uppercase())
                .map_err(|e| errors.add("currency", e.to_string()))
                .ok(),
            None => None,
        };
        LeadRequest {
            company: Some(self.company.clone()),
            first_name: Some(self.first_name.clone()),
            last_name: Some(self.last_name.clone()),
            title: Some(self.title.clone()),
            email: Some(self.email.clone()),
            phone: Some(self.phone.clone()),
            website: Some(self.website.clone()),
            source: Some(self.source.clone()),
            status: opt(&self.status),
            notes: Some(self.notes.clone()),
            estimated_amount: Some(self.estimated_amount.clone()),
            currency,
            owner_id: None,
            team_id: None,
        }
    }
}

#[derive(Template)]
#[template(path = "lead_form.html")]
struct LeadFormPage {
    layout: Layout,
    id: Option<String>,
    form: LeadForm,
    statuses: Vec<&'static str>,
    errors: FormErrors,
}

fn form_page(auth: &PageAuth, id: Option<String>, form: LeadForm, errors: FormErrors) -> LeadFormPage {
    let statuses = LeadStatus::ALL.iter().filter(|s| **s != LeadStatus::Converted).map(|s| s.as_str()).collect();
    LeadFormPage { layout: auth.layout("leads"), id, form, statuses, errors }
}

/// `GET /leads/new`.
pub async fn new_form(State(app): State<AppState>, auth: PageAuth) -> PageResult {
    require(&auth.principal, T, Action::Create, "create leads")?;
    let mut tx = app.db.autocommit().await?;
    let currency = nave_store::tenants::currency(&mut tx, auth.principal.tenant_id).await?;
    let form = LeadForm { status: "new".into(), currency: currency.code().into(), ..Default::default() };
    Ok(render(&form_page(&auth, None, form, FormErrors::default())).into_response())
}

/// `POST /leads`.
pub async fn create(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    let p = &auth.principal;
    require(p, T, Action::Create, "create leads")?;
    let form = LeadForm::parse(&body);
    let mut errors = FormErrors::default();
    let req = form.request(&mut errors);
    if errors.is_empty() {
        let mut tx = app.db.write().await?;
        let company = nave_store::tenants::currency(&mut tx, p.tenant_id).await?;
        let input = req.input_for(None, company)?;
        match nave_store::leads::create(&mut tx, &actor_of(p), input).await {
            Ok(l) => {
                tx.commit().await?;
                return Ok(Redirect::to(&format!("/leads/{}", l.id)).into_response());
            }
            Err(e) => errors.absorb(e)?,
        }
    }
    form_again(errors.status(), &form_page(&auth, None, form, errors))
}

/// `GET /leads/{id}/edit`.
pub async fn edit_form(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    let p = &auth.principal;
    require(p, T, Action::Update, "change leads")?;
    let mut tx = app.db.read().await?;
    let l = lead_for(&mut tx, p, &id, Action::Update).await?;
    tx.commit().await?;
    Ok(render(&form_page(&auth, Some(id), LeadForm::of(&l), FormErrors::default())).into_response())
}

/// `POST /leads/{id}`.
pub async fn update(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>, body: Bytes) -> PageResult {
    let p = &auth.principal;
    require(p, T, Action::Update, "change leads")?;
    let form = LeadForm::parse(&body);
    let mut errors = FormErrors::default();
    let req = form.request(&mut errors);
    if errors.is_empty() {
        let mut tx = app.db.write().await?;
        let before = lead_for(&mut tx, p, &id, Action::Update).await?;
        let company = nave_store::tenants::currency(&mut tx, p.tenant_id).await?;
        let input = req.input_for(Some(&before), company)?;
        match nave_store::leads::update(&mut tx, &actor_of(p), &before, Some(form.version), input).await {
            Ok(_) => {
                tx.commit().await?;
                return Ok(Redirect::to(&format!("/leads/{id}")).into_response());
            }
            Err(e) => errors.absorb(e)?,
        }
    }
    form_again(errors.status(), &form_page(&auth, Some(id), form, errors))
}
