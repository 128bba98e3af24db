//! Pages of subscriptions (`/subscriptions`): the list, one subscription
//! with its invoices and the actions its status allows (pause, resume,
//! cancel), the form to make or change one (product lines, period, start,
//! optional end), and "run due now" for those who may bill every
//! subscription. Writes go through `nave_store::subscriptions`.

use std::str::FromStr;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use nave_domain::access::{Action, Principal, RecordType, Scope};
use nave_domain::ids::PublicId;
use nave_domain::money::Currency;
use nave_domain::subscription::{Period, SubscriptionAction, SubscriptionStatus};
use nave_store::accounts::Visibility;
use nave_store::catalog::{self, ProductQuery};
use nave_store::page::Cursor;
use nave_store::subscriptions::{self, Subscription, SubscriptionInput, SubscriptionLine, SubscriptionQuery};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::fulfilment::readable_refusal;
use super::show::{self, filters};
use super::{
    Choices, FormData, FormErrors, Layout, PageAuth, PageError, PageResult, account_choices, form_date, render,
    require_page,
};
use crate::api::accounts::account_for;
use crate::error::ApiError;
use crate::extract::actor_of;
use crate::present::may_act;
use crate::state::AppState;

const T: RecordType = RecordType::Subscription;
/// Empty line rows the form shows below the lines.
const SPARE_ROWS: usize = 3;

/// Every route of these pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/subscriptions", get(list).post(create))
        .route("/subscriptions/new", get(new_form))
        .route("/subscriptions/run", post(run))
        .route("/subscriptions/{id}", get(show).post(update))
        .route("/subscriptions/{id}/edit", get(edit_form))
        .route("/subscriptions/{id}/actions/{action}", post(act))
}

/// May `p` bill every subscription (the run)?
fn may_run(p: &Principal) -> bool {
    p.scope_for(T, Action::Update) == Some(Scope::All)
        && p.scope_for(RecordType::Invoice, Action::Create) == Some(Scope::All)
}

// ---------------------------------------------------------------- the list

#[derive(Debug)]
struct Row {
    id: String,
    name: String,
    account_id: String,
    account: String,
    period: String,
    status: String,
    next_run: String,
}

/// The columns the list may show beside the name: (key, heading).
const COLUMNS: &[(&str, &str)] =
    &[("account", "Account"), ("period", "Period"), ("status", "Status"), ("next_run", "Next invoice")];
/// Shown until the user chooses: all of them.
const DEFAULT_COLUMNS: &[&str] = &["account", "period", "status", "next_run"];
/// The filters the list reads from its query string.
const FILTERS: &[&str] = &["status"];

#[derive(Template)]
#[template(path = "subscriptions.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<Row>,
    status: String,
    can_create: bool,
    can_run: bool,
    /// What the last run did, when the page follows one.
    ran: Option<String>,
    next: Option<String>,
    columns: super::views::Columns,
    views: super::views::ViewsBar,
}

/// `GET /subscriptions`: filtered by status, in the columns chosen, with
/// saved views; `?ran=N` says what the run just did (not part of a view).
async fn list(State(app): State<AppState>, auth: PageAuth, RawQuery(raw): RawQuery) -> PageResult {
    let p = &auth.principal;
    let scope = require_page(p, T, Action::Read)?;
    let v = super::views::ViewQuery::parse(raw.as_deref(), FILTERS);
    let ran = super::views::ViewQuery::parse(raw.as_deref(), &["ran"]).get("ran").to_string();
    let status: Option<SubscriptionStatus> = match v.get("status") {
        "" => None,
        s => Some(s.parse().map_err(|_| ApiError::invalid("status", "is not one of the choices"))?),
    };
    let mut tx = app.db.read().await?;
    let q = SubscriptionQuery {
        visibility: Visibility::of(p, scope),
        account_key: None,
        status,
        cursor: v.after.as_deref().and_then(|c| Cursor::decode(c).ok()),
        limit: 50,
    };
    let page = subscriptions::list(&mut tx, p.tenant_id, &q).await?;
    let views = super::views::bar(&mut tx, &auth, "subscriptions", &v.view_qs()).await?;
    tx.commit().await?;
    let rows = page
        .items
        .iter()
        .map(|s| Row {
            id: s.id.to_string(),
            name: s.name.clone(),
            account_id: s.account_id.to_string(),
            account: s.account_name.clone(),
            period: s.period.to_string(),
            status: s.status.to_string(),
            next_run: s.next_run.map(show::date).unwrap_or_default(),
        })
        .collect();
    let view = ListPage {
        layout: auth.layout("subscriptions"),
        rows,
        status: status.map(|s| s.to_string()).unwrap_or_default(),
        can_create: p.scope_for(T, Action::Create).is_some(),
        can_run: may_run(p),
        ran: (!ran.is_empty()).then(|| format!("The run billed {ran} invoice(s).")),
        next: page.next.map(|c| c.encode()),
        columns: super::views::columns(COLUMNS, DEFAULT_COLUMNS, &v.columns),
        views,
    };
    Ok(render(&view).into_response())
}

/// `POST /subscriptions/run`: bills every period due today.
async fn run(State(app): State<AppState>, auth: PageAuth) -> PageResult {
    let p = &auth.principal;
    if !may_run(p) {
        return Err(ApiError::forbidden(
            "running subscriptions needs update on all subscriptions and create on invoices",
        )
        .into());
    }
    let result = crate::api::subscriptions::run_due(&app.db, &actor_of(p), nave_store::db::now().date()).await?;
    Ok(Redirect::to(&format!("/subscriptions?ran={}", result.invoices.len())).into_response())
}

// ---------------------------------------------------------------- one subscription

#[derive(Template)]
#[template(path = "subscription.html")]
struct ShowPage {
    layout: Layout,
    s: Subscription,
    /// (period start, invoice id, number).
    runs: Vec<(String, String, String)>,
    actions: Vec<(&'static str, &'static str, &'static str)>,
    can_edit: bool,
    error: Option<String>,
}

async fn readable(tx: &mut nave_store::Tx, p: &Principal, id: &str) -> Result<Subscription, PageError> {
    let id: PublicId = id.parse().map_err(|_| ApiError::not_found("subscription"))?;
    Ok(subscriptions::get(tx, p.tenant_id, id)
        .await?
        .filter(|s| p.may(T, Action::Read, s.ownership))
        .ok_or_else(|| ApiError::not_found("subscription"))?)
}

async fn show_page(app: &AppState, auth: &PageAuth, id: &str, status: StatusCode, error: Option<String>) -> PageResult {
    let p = &auth.principal;
    let mut tx = app.db.read().await?;
    let s = readable(&mut tx, p, id).await?;
    let runs = subscriptions::runs(&mut tx, p.tenant_id, s.key).await?;
    tx.commit().await?;
    let may_update = p.may(T, Action::Update, s.ownership);
    let actions = if may_update {
        s.allowed_actions
            .iter()
            .map(|a| match a {
                SubscriptionAction::Pause => ("pause", "Pause", "Pause: no period is billed until it is resumed."),
                SubscriptionAction::Resume => (
                    "resume",
                    "Resume",
                    "Resume: billing starts again from the first period that starts from today; paused periods are not billed.",
                ),
                SubscriptionAction::Cancel => ("cancel", "Cancel", "Cancel: nothing more is billed; this is final."),
            })
            .collect()
    } else {
        vec![]
    };
    let page = ShowPage {
        layout: auth.layout("subscriptions"),
        runs: runs
            .into_iter()
            .map(|(d, id, n)| (d.to_string(), id.to_string(), n.unwrap_or_else(|| "(draft)".into())))
            .collect(),
        actions,
        can_edit: may_update && s.status != SubscriptionStatus::Cancelled,
        error,
        s,
    };
    Ok((status, render(&page)).into_response())
}

/// `GET /subscriptions/{id}`.
async fn show(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    require_page(&auth.principal, T, Action::Read)?;
    show_page(&app, &auth, &id, StatusCode::OK, None).await
}

/// `POST /subscriptions/{id}/actions/{pause|resume|cancel}`.
async fn act(
    State(app): State<AppState>,
    auth: PageAuth,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> PageResult {
    let p = &auth.principal;
    require_page(p, T, Action::Update)?;
    let action: SubscriptionAction = action.parse().map_err(|_| {
        ApiError::new(nave_domain::error::ErrorCode::NotFound, format!("there is no subscription action {action}"))
    })?;
    let form = FormData::parse(&body);
    let version = Some(form.version()).filter(|v| *v > 0);
    let mut tx = app.db.write().await?;
    let before = readable(&mut tx, p, &id).await?;
    may_act(p, T, Action::Update, before.ownership)?;
    match subscriptions::act(&mut tx, &actor_of(p), &before, version, action, nave_store::db::now().date()).await {
        Ok(s) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/subscriptions/{}", s.id)).into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            let (status, message) = readable_refusal(e.into())?;
            show_page(&app, &auth, &id, status, Some(message)).await
        }
    }
}

// ---------------------------------------------------------------- the form

/// One line row as typed.
#[derive(Debug, Clone, Default)]
struct LineForm {
    product_id: String,
    description: String,
    quantity: String,
    unit_price: String,
    discount_percent: String,
}

/// The form as typed.
#[derive(Debug, Clone, Default)]
struct SubForm {
    account_id: String,
    name: String,
    period: String,
    start_date: String,
    end_date: String,
    currency: String,
    notes: String,
    version: String,
    lines: Vec<LineForm>,
}

impl SubForm {
    fn parse(f: &FormData) -> Self {
        let lines = f
            .rows("lines", &["product_id", "description", "quantity", "unit_price", "discount_percent"])
            .into_iter()
            .map(|r| LineForm {
                product_id: r[0].clone(),
                description: r[1].clone(),
                quantity: r[2].clone(),
                unit_price: r[3].clone(),
                discount_percent: r[4].clone(),
            })
            .collect();
        SubForm {
            account_id: f.get("account_id"),
            name: f.get("name"),
            period: f.get("period"),
            start_date: f.get("start_date"),
            end_date: f.get("end_date"),
            currency: f.get("currency"),
            notes: f.get("notes"),
            version: f.get("version"),
            lines,
        }
    }

    fn of(s: &Subscription) -> Self {
        SubForm {
            account_id: s.account_id.to_string(),
            name: s.name.clone(),
            period: s.period.to_string(),
            start_date: s.start_date.to_string(),
            end_date: s.end_date.map(|d| d.to_string()).unwrap_or_default(),
            currency: s.currency.code().to_string(),
            notes: s.notes.clone(),
            version: s.version.to_string(),
            lines: s
                .lines
                .iter()
                .map(|l| LineForm {
                    product_id: l.product_id.map(|p| p.to_string()).unwrap_or_default(),
                    description: l.description.clone(),
                    quantity: l.quantity.clone(),
                    unit_price: l.unit_price.clone().unwrap_or_default(),
                    discount_percent: if l.discount_percent.parse::<Decimal>().is_ok_and(|d| d.is_zero()) {
                        String::new()
                    } else {
                        l.discount_percent.clone()
                    },
                })
                .collect(),
        }
    }

    fn with_rows(mut self) -> Self {
        self.lines.extend(std::iter::repeat_with(LineForm::default).take(SPARE_ROWS));
        self
    }

    /// The store input, or the fields it got wrong.
    fn typed(&self, creating: bool) -> Result<SubscriptionInput, FormErrors> {
        let mut e = FormErrors::default();
        let dec = |e: &mut FormErrors, field: String, s: &str| -> Option<Decimal> {
            let s = s.trim();
            if s.is_empty() {
                return None;
            }
            Decimal::from_str(s).map_err(|_| e.add(field, "must be a number, like 12.50")).ok()
        };
        let account_id = if creating {
            match self.account_id.trim() {
                "" => {
                    e.add("account_id", "is required");
                    None
                }
                a => a.parse().map_err(|_| e.add("account_id", "is not one of the choices")).ok(),
            }
        } else {
            None
        };
        let period = match self.period.trim() {
            "" => None,
            s => s.parse::<Period>().map_err(|_| e.add("period", "is not one of the choices")).ok(),
        };
        let start_date = form_date(&mut e, "start_date", &self.start_date);
        let end_date = match form_date(&mut e, "end_date", &self.end_date) {
            Some(d) => Some(Some(d)),
            None if self.end_date.trim().is_empty() => Some(None),
            None => None,
        };
        let currency = match self.currency.trim() {
            "" => None,
            c => Currency::parse(&c.to_uppercase())
                .map_err(|_| e.add("currency", "is not an ISO 4217 currency code"))
                .ok(),
        };
        let mut lines = Vec::new();
        for (i, l) in self.lines.iter().enumerate() {
            let at = |f: &str| format!("lines[{i}].{f}");
            let product_id = match l.product_id.trim() {
                "" => None,
                p => p.parse::<PublicId>().map_err(|_| e.add(at("product_id"), "is not one of the choices")).ok(),
            };
            let quantity = match dec(&mut e, at("quantity"), &l.quantity) {
                Some(q) => q,
                None if l.quantity.trim().is_empty() => Decimal::ONE,
                None => Decimal::ZERO,
            };
            lines.push(SubscriptionLine {
                product_id,
                description: super::blank_none(&l.description),
                quantity,
                unit_price: dec(&mut e, at("unit_price"), &l.unit_price),
                discount_percent: dec(&mut e, at("discount_percent"), &l.discount_percent),
            });
        }
        if lines.is_empty() {
            e.add("lines", "a subscription bills at least one line");
        }
        if !e.is_empty() {
            return Err(e);
        }
        Ok(SubscriptionInput {
            account_id,
            name: Some(self.name.trim().to_string()),
            period,
            start_date,
            end_date: if creating { end_date.flatten().map(Some) } else { end_date },
            currency,
            payment_terms_id: None,
            prices_include_tax: None,
            notes: Some(self.notes.trim().to_string()),
            lines: Some(lines),
        })
    }
}

#[derive(Template)]
#[template(path = "subscription_form.html")]
struct FormPage {
    layout: Layout,
    id: Option<String>,
    account_name: String,
    form: SubForm,
    errors: FormErrors,
    accounts: Choices,
    products: Choices,
    periods: Choices,
}

async fn form_page(
    app: &AppState,
    auth: &PageAuth,
    existing: Option<&Subscription>,
    form: SubForm,
    errors: FormErrors,
) -> PageResult {
    let p = &auth.principal;
    let mut tx = app.db.read().await?;
    let accounts = account_choices(&mut tx, p).await?;
    let products = catalog::list_products(
        &mut tx,
        p.tenant_id,
        &ProductQuery { active: Some(true), limit: 500, ..Default::default() },
    )
    .await?
    .items
    .into_iter()
    .map(|pr| (pr.id.to_string(), format!("{} – {}", pr.sku, pr.name)))
    .collect();
    tx.commit().await?;
    let status = if errors.is_empty() { StatusCode::OK } else { errors.status() };
    let page = FormPage {
        layout: auth.layout("subscriptions"),
        id: existing.map(|s| s.id.to_string()),
        account_name: existing.map(|s| s.account_name.clone()).unwrap_or_default(),
        form,
        errors,
        accounts,
        products,
        periods: vec![
            ("month".into(), "every month".into()),
            ("quarter".into(), "every quarter".into()),
            ("year".into(), "every year".into()),
        ],
    };
    Ok((status, render(&page)).into_response())
}

/// The query of the new form.
#[derive(Debug, Deserialize)]
pub struct NewQuery {
    account_id: Option<String>,
}

/// `GET /subscriptions/new`.
async fn new_form(State(app): State<AppState>, auth: PageAuth, Query(q): Query<NewQuery>) -> PageResult {
    require_page(&auth.principal, T, Action::Create)?;
    let form = SubForm {
        account_id: q.account_id.unwrap_or_default(),
        period: "month".into(),
        start_date: nave_store::db::now().date().to_string(),
        ..Default::default()
    };
    form_page(&app, &auth, None, form.with_rows(), FormErrors::default()).await
}

/// `GET /subscriptions/{id}/edit`.
async fn edit_form(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    let p = &auth.principal;
    require_page(p, T, Action::Update)?;
    let mut tx = app.db.read().await?;
    let s = readable(&mut tx, p, &id).await?;
    tx.commit().await?;
    may_act(p, T, Action::Update, s.ownership)?;
    form_page(&app, &auth, Some(&s), SubForm::of(&s).with_rows(), FormErrors::default()).await
}

async fn save(app: &AppState, auth: &PageAuth, id: Option<&str>, body: &[u8]) -> PageResult {
    let p = &auth.principal;
    let form = SubForm::parse(&FormData::parse(body));
    let before = match id {
        Some(id) => {
            let mut tx = app.db.read().await?;
            let s = readable(&mut tx, p, id).await?;
            tx.commit().await?;
            may_act(p, T, Action::Update, s.ownership)?;
            Some(s)
        }
        None => None,
    };
    let input = match form.typed(before.is_none()) {
        Ok(i) => i,
        Err(errors) => return form_page(app, auth, before.as_ref(), form.with_rows(), errors).await,
    };
    let mut tx = app.db.write().await?;
    let saved = async {
        let actor = actor_of(p);
        let s = match &before {
            Some(b) => {
                let version = form.version.trim().parse::<i64>().ok();
                subscriptions::update(&mut tx, &actor, b, version, input).await?
            }
            None => {
                let account_id = input.account_id.ok_or_else(|| ApiError::invalid("account_id", "is required"))?;
                let account = account_for(&mut tx, p, "account_id", account_id).await?;
                if !p.may(T, Action::Create, account.ownership) {
                    return Err(ApiError::forbidden("your role may not create a subscription for this account"));
                }
                subscriptions::create(&mut tx, &actor, input).await?
            }
        };
        Ok::<_, ApiError>(format!("/subscriptions/{}", s.id))
    }
    .await;
    match super::finish_save(tx, saved).await? {
        Ok(done) => Ok(done),
        Err(errors) => form_page(app, auth, before.as_ref(), form.with_rows(), errors).await,
    }
}

/// `POST /subscriptions`.
async fn create(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    require_page(&auth.principal, T, Action::Create)?;
    save(&app, &auth, None, &body).await
}

/// `POST /subscriptions/{id}`.
async fn update(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>, body: Bytes) -> PageResult {
    require_page(&auth.principal, T, Action::Update)?;
    save(&app, &auth, Some(&id), &body).await
}
