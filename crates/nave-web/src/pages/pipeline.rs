//! Pipeline pages: the opportunity list (a table or a board by stage), one
//! opportunity with its stage history, the opportunity form, and the
//! weighted forecast.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use nave_domain::access::{Action, Principal, RecordType};
use nave_domain::error::FieldError;
use nave_domain::ids::PublicId;
use nave_domain::money::Currency;
use nave_store::accounts::Visibility;
use nave_store::db::now;
use nave_store::pipeline::{self, NewOpportunity, Opportunity, OpportunityPatch, OpportunityQuery, Stage};
use serde::Deserialize;

use super::bulk::{self, Batch, BulkError, Refusal};
use super::show::{self, filters};
use super::views::{Sorting, ViewQuery, read_sort};
use super::{
    Choices, FormErrors, FormField, Layout, PageAuth, PageError, PageResult, account_choices, blank_none,
    check_form_account, finish_save, fmt_time, form_fields, render, require_page, user_choices,
};
use crate::api::accounts::account_key;
use crate::api::payment_terms::parse_date;
use crate::api::pipeline::{ForecastReport, forecast_range, forecast_report};
use crate::api::{parse_id, user_key};
use crate::error::ApiError;
use crate::extract::actor_of;
use crate::present::may_act;
use crate::state::AppState;

const T: RecordType = RecordType::Opportunity;

/// One opportunity as a row or a card.
#[derive(Debug)]
struct OppRow {
    id: String,
    version: i64,
    name: String,
    account: String,
    stage: String,
    status: &'static str,
    amount: String,
    weighted: String,
    probability: i64,
    close: String,
    owner: String,
}

fn row(o: &Opportunity) -> OppRow {
    OppRow {
        id: o.id.to_string(),
        version: o.version,
        name: o.name.clone(),
        account: o.account_name.clone(),
        stage: o.stage.clone(),
        status: o.status.as_str(),
        amount: show::amount(&o.amount, o.currency),
        weighted: show::amount(&o.weighted_amount, o.currency),
        probability: o.probability,
        close: show::date_text(&o.expected_close),
        owner: o.owner_name.clone().unwrap_or_default(),
    }
}

/// One stage of the board with its cards.
#[derive(Debug)]
struct Column {
    name: String,
    kind: &'static str,
    cards: Vec<OppRow>,
}

/// The columns the list (not the board) may show beside the name: (key, heading).
const COLUMNS: &[(&str, &str)] = &[
    ("account", "Account"),
    ("stage", "Stage"),
    ("amount", "Amount"),
    ("probability", "Probability"),
    ("weighted", "Weighted"),
    ("close", "Expected close"),
    ("owner", "Owner"),
];
/// Shown until the user chooses: all of them.
const DEFAULT_COLUMNS: &[&str] = &["account", "stage", "amount", "probability", "weighted", "close", "owner"];
/// What the list reads from its query string: list or board first, then the filters.
const FILTERS: &[&str] = &["view", "stage_id", "owner_id", "account_id", "sort"];

#[derive(Template)]
#[template(path = "opportunities.html")]
struct OpportunitiesPage {
    layout: Layout,
    board: bool,
    rows: Vec<OppRow>,
    stage_columns: Vec<Column>,
    next: Option<String>,
    can_create: bool,
    /// Bulk owner assignment offered (on the list): the user may change opportunities.
    can_bulk: bool,
    stages: Choices,
    owners: Choices,
    stage_id: String,
    owner_id: String,
    account_id: String,
    /// The list's columns: (key, heading, shown).
    columns: super::views::Columns,
    views: super::views::ViewsBar,
    /// Why the last bulk action changed nothing.
    error: Option<String>,
    sorting: Sorting,
}

fn stage_choices(stages: &[Stage]) -> Choices {
    stages.iter().map(|s| (s.id.to_string(), s.name.clone())).collect()
}

/// A filter value from a query: blank is none, a value that is no id is refused.
fn filter_id(field: &str, v: &str) -> Result<Option<PublicId>, PageError> {
    match v {
        "" => Ok(None),
        s => Ok(Some(s.parse().map_err(|_| ApiError::invalid(field, "is not one of the choices"))?)),
    }
}

/// The store query of the opportunities list's view, for the opportunities
/// `p` may see, with the stages (the list, the board and the CSV export read
/// the same view). Only `view=board` is kept: the list is the default.
pub(crate) async fn view_query(
    tx: &mut nave_store::Tx,
    p: &Principal,
    raw: Option<&str>,
) -> Result<(OpportunityQuery, ViewQuery, Vec<Stage>), PageError> {
    let scope = require_page(p, T, Action::Read)?;
    let v = ViewQuery::parse(raw, FILTERS).normalized("view", |b| (b == "board").then(|| b.to_string()));
    let (stage_id, owner_id, account_id) = (
        filter_id("stage_id", v.get("stage_id"))?,
        filter_id("owner_id", v.get("owner_id"))?,
        filter_id("account_id", v.get("account_id"))?,
    );
    let stages = pipeline::list_stages(tx, p.tenant_id).await?;
    let (sort, cursor, sorted_after) = read_sort(pipeline::SORTS, &v)?;
    let query = OpportunityQuery {
        visibility: Visibility::of(p, scope),
        account_key: account_key(tx, p, account_id).await?,
        stage_key: stage_id.and_then(|s| stages.iter().find(|x| x.id == s)).map(|s| s.key),
        owner_key: user_key(tx, p.tenant_id, owner_id, "owner_id").await?,
        cursor,
        sort,
        sorted_after,
        limit: if v.get("view") == "board" { 200 } else { 50 },
        ..Default::default()
    };
    Ok((query, v, stages))
}

/// `GET /opportunities`: `?view=board` shows the page as a board by stage;
/// the list chooses its columns and has bulk owner assignment. Both keep
/// saved views, and export the view as CSV.
pub async fn list(State(app): State<AppState>, auth: PageAuth, RawQuery(raw): RawQuery) -> PageResult {
    list_page(&app, &auth, raw.as_deref(), None).await
}

/// The list (or board) of the view `raw`, with why a bulk action changed nothing.
async fn list_page(app: &AppState, auth: &PageAuth, raw: Option<&str>, refusal: Option<Refusal>) -> PageResult {
    let p = &auth.principal;
    let mut tx = app.db.read().await?;
    let (query, v, stages) = view_query(&mut tx, p, raw).await?;
    let board = v.get("view") == "board";
    let owners = user_choices(&mut tx, p.tenant_id).await?;
    let page = pipeline::list(&mut tx, p.tenant_id, &query).await?;
    // A saved view keeps the board or the list, with the filters and columns.
    let views = super::views::bar(&mut tx, auth, "opportunities", &v.view_qs()).await?;
    tx.commit().await?;
    let stage_columns = stages
        .iter()
        .filter(|s| query.stage_key.is_none_or(|k| k == s.key))
        .map(|s| Column {
            name: s.name.clone(),
            kind: s.kind.as_str(),
            cards: page.items.iter().filter(|o| o.stage_key == s.key).map(row).collect(),
        })
        .collect();
    let view = OpportunitiesPage {
        layout: auth.layout("opportunities"),
        board,
        rows: page.items.iter().map(row).collect(),
        stage_columns,
        next: query.sort.next_of(&page),
        can_create: p.scope_for(T, Action::Create).is_some(),
        can_bulk: p.scope_for(T, Action::Update).is_some(),
        stages: stage_choices(&stages),
        owners,
        stage_id: v.get("stage_id").to_string(),
        owner_id: v.get("owner_id").to_string(),
        account_id: v.get("account_id").to_string(),
        columns: super::views::columns(COLUMNS, DEFAULT_COLUMNS, &v.columns),
        views,
        error: refusal.as_ref().map(|r| r.message.clone()),
        sorting: Sorting::new("opportunities", pipeline::SORTS, query.sort, &v),
    };
    Ok((refusal.map_or(StatusCode::OK, |r| r.status), render(&view)).into_response())
}

/// `POST /opportunities/bulk`: gives the ticked opportunities to an owner,
/// all or none (see `pages::bulk`); then shows the list's view again.
pub async fn bulk(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    require_page(&auth.principal, T, Action::Update)?;
    let again = async |app: &AppState, auth: &PageAuth, back: &str, r| list_page(app, auth, Some(back), Some(r)).await;
    super::bulk::run(&app, &auth, &body, "opportunities", assign_owner, again).await
}

/// Gives every opportunity of the batch to the owner chosen, each checked as
/// the opportunity form checks it.
async fn assign_owner(tx: &mut nave_store::Tx, p: &Principal, b: &Batch) -> Result<(), BulkError> {
    let items = b.items_for("assign_owner", "opportunities")?;
    let owner = b.existing_user(tx, p.tenant_id, "owner_id", None, "choose the new owner").await?;
    let actor = actor_of(p);
    for (id, version) in items {
        let Some(before) = pipeline::get(tx, p.tenant_id, id).await? else {
            return Err(Refusal::not_found("opportunities").into());
        };
        let what = format!("the opportunity “{}”", before.name);
        bulk::may_change(p, T, before.ownership, "opportunities", &what)?;
        let patch = OpportunityPatch { owner_id: Some(owner), ..Default::default() };
        pipeline::update(tx, &actor, &before, version, patch, now()).await.map_err(|e| bulk::refused(e, &what))?;
    }
    Ok(())
}

#[derive(Debug)]
struct HistoryRow {
    when: String,
    from: String,
    to: String,
    status: &'static str,
    probability: i64,
    who: String,
}

#[derive(Template)]
#[template(path = "opportunity.html")]
struct OpportunityPage {
    layout: Layout,
    o: Opportunity,
    closed: String,
    history: Vec<HistoryRow>,
    can_edit: bool,
    attachments: super::attachments::AttachmentsView,
}

/// An opportunity `p` may read, or a 404 page.
async fn readable(tx: &mut nave_store::Tx, auth: &PageAuth, id: &str) -> Result<Opportunity, PageError> {
    let p = &auth.principal;
    let o = pipeline::get(tx, p.tenant_id, parse_id("opportunity", id)?)
        .await?
        .filter(|o| p.may(T, Action::Read, o.ownership))
        .ok_or_else(|| ApiError::not_found("opportunity"))?;
    Ok(o)
}

/// `GET /opportunities/{id}`.
pub async fn show(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    require_page(&auth.principal, T, Action::Read)?;
    let mut tx = app.db.read().await?;
    let o = readable(&mut tx, &auth, &id).await?;
    let history = pipeline::history(&mut tx, auth.principal.tenant_id, o.key).await?;
    tx.commit().await?;
    let attachments = super::attachments::view(&app, &auth.principal, T, o.id).await?;
    let view = OpportunityPage {
        attachments,
        layout: auth.layout("opportunities"),
        closed: o.closed_at.map(fmt_time).unwrap_or_default(),
        history: history
            .into_iter()
            .map(|h| HistoryRow {
                when: fmt_time(h.changed_at),
                from: h.from_stage.unwrap_or_else(|| "(created)".into()),
                to: h.to_stage,
                status: h.status.as_str(),
                probability: h.probability,
                who: h.changed_by_name.unwrap_or_else(|| "system".into()),
            })
            .collect(),
        can_edit: auth.principal.may(T, Action::Update, o.ownership),
        o,
    };
    Ok(render(&view).into_response())
}

// ---------------------------------------------------------------- the form

/// The opportunity form as typed, kept when it is shown again with errors.
#[derive(Debug, Clone, Default)]
pub struct OppForm {
    account_id: String,
    name: String,
    stage_id: String,
    probability: String,
    amount: String,
    currency: String,
    expected_close: String,
    owner_id: String,
    source: String,
    description: String,
    lost_reason: String,
    won_reason: String,
    version: String,
}

impl OppForm {
    fn parse(body: &[u8]) -> Self {
        let mut f = form_fields(body);
        let mut take = |k: &str| f.remove(k).unwrap_or_default();
        OppForm {
            account_id: take("account_id"),
            name: take("name"),
            stage_id: take("stage_id"),
            probability: take("probability"),
            amount: take("amount"),
            currency: take("currency"),
            expected_close: take("expected_close"),
            owner_id: take("owner_id"),
            source: take("source"),
            description: take("description"),
            lost_reason: take("lost_reason"),
            won_reason: take("won_reason"),
            version: take("version"),
        }
    }

    fn of(o: &Opportunity) -> Self {
        OppForm {
            account_id: o.account_id.to_string(),
            name: o.name.clone(),
            stage_id: o.stage_id.to_string(),
            probability: o.probability.to_string(),
            amount: o.amount.clone(),
            currency: o.currency.code().into(),
            expected_close: o.expected_close.clone(),
            owner_id: o.owner_id.map(|i| i.to_string()).unwrap_or_default(),
            source: o.source.clone().unwrap_or_default(),
            description: o.description.clone(),
            lost_reason: o.lost_reason.clone().unwrap_or_default(),
            won_reason: o.won_reason.clone().unwrap_or_default(),
            version: o.version.to_string(),
        }
    }
}

#[derive(Template)]
#[template(path = "opportunity_form.html")]
struct OppFormPage {
    layout: Layout,
    /// `None` for a new opportunity.
    id: Option<String>,
    form: OppForm,
    errors: FormErrors,
    accounts: Choices,
    stages: Choices,
    owners: Choices,
}

impl OppFormPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }

    fn fields(&self) -> Vec<FormField> {
        let f = &self.form;
        let first = if self.id.is_none() { "(the first stage)" } else { "" };
        vec![
            FormField::select("account_id", "Account", &f.account_id, self.accounts.clone(), "(choose)"),
            FormField::input("name", "Name", &f.name, "text"),
            FormField::select("stage_id", "Stage", &f.stage_id, self.stages.clone(), first),
            FormField::input(
                "probability",
                "Probability, % (blank or unchanged: the stage's default)",
                &f.probability,
                "numeric",
            ),
            FormField::input("amount", "Amount", &f.amount, "decimal"),
            FormField::input("currency", "Currency (blank: the account's)", &f.currency, "text"),
            FormField::input("expected_close", "Expected close", &f.expected_close, "date"),
            FormField::select("owner_id", "Owner", &f.owner_id, self.owners.clone(), "(nobody)"),
            FormField::input("source", "Source", &f.source, "text"),
            FormField::area("description", "Description", &f.description),
            FormField::input("lost_reason", "Lost reason (required in a lost stage)", &f.lost_reason, "text"),
            FormField::input("won_reason", "Won reason (won stage only)", &f.won_reason, "text"),
        ]
    }
}

async fn form_page(
    app: &AppState,
    auth: &PageAuth,
    id: Option<PublicId>,
    form: OppForm,
    errors: FormErrors,
) -> PageResult {
    let p = &auth.principal;
    let mut tx = app.db.read().await?;
    let accounts = account_choices(&mut tx, p).await?;
    let stages = stage_choices(&pipeline::list_stages(&mut tx, p.tenant_id).await?);
    let owners = user_choices(&mut tx, p.tenant_id).await?;
    tx.commit().await?;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = OppFormPage {
        layout: auth.layout("opportunities"),
        id: id.map(|i| i.to_string()),
        form,
        errors,
        accounts,
        stages,
        owners,
    };
    Ok((status, render(&page)).into_response())
}

#[derive(Debug, Deserialize)]
pub struct NewQuery {
    pub account_id: Option<String>,
}

/// `GET /opportunities/new` (`?account_id=` picks the account).
pub async fn new_form(State(app): State<AppState>, auth: PageAuth, Query(q): Query<NewQuery>) -> PageResult {
    require_page(&auth.principal, T, Action::Create)?;
    let close = now().date().checked_add(time::Duration::days(90)).unwrap_or(now().date());
    let form = OppForm {
        account_id: q.account_id.unwrap_or_default(),
        amount: "0".into(),
        expected_close: close.to_string(),
        owner_id: auth.user.id.to_string(),
        ..Default::default()
    };
    form_page(&app, &auth, None, form, FormErrors::default()).await
}

/// `GET /opportunities/{id}/edit`.
pub async fn edit_form(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    require_page(&auth.principal, T, Action::Update)?;
    let mut tx = app.db.read().await?;
    let o = readable(&mut tx, &auth, &id).await?;
    tx.commit().await?;
    form_page(&app, &auth, Some(o.id), OppForm::of(&o), FormErrors::default()).await
}

/// The typed form as the store's fields, or the fields it got wrong.
struct Typed {
    account_id: Option<PublicId>,
    stage_id: Option<PublicId>,
    probability: Option<i64>,
    currency: Option<Currency>,
    expected_close: Option<time::Date>,
    owner_id: Option<PublicId>,
}

fn typed(f: &OppForm) -> Result<Typed, FormErrors> {
    let mut errs = Vec::new();
    let mut id = |field: &str, s: &str| -> Option<PublicId> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        s.parse().map_err(|_| errs.push(FieldError::new(field, "is not one of the choices"))).ok()
    };
    let (account_id, stage_id, owner_id) =
        (id("account_id", &f.account_id), id("stage_id", &f.stage_id), id("owner_id", &f.owner_id));
    if account_id.is_none() && !errs.iter().any(|e| e.field == "account_id") {
        errs.push(FieldError::new("account_id", "is required"));
    }
    let probability = match f.probability.trim() {
        "" => None,
        p => p
            .parse()
            .map_err(|_| errs.push(FieldError::new("probability", "must be a whole percent from 0 to 100")))
            .ok(),
    };
    let currency = match f.currency.trim() {
        "" => None,
        c => Currency::parse(&c.to_uppercase()).map_err(|e| errs.push(FieldError::new("currency", e.to_string()))).ok(),
    };
    let expected_close = match f.expected_close.trim() {
        "" => {
            errs.push(FieldError::new("expected_close", "is required"));
            None
        }
        d => parse_date("expected_close", d).map_err(|e| errs.extend(e.errors)).ok(),
    };
    if errs.is_empty() {
        Ok(Typed { account_id, stage_id, probability, currency, expected_close, owner_id })
    } else {
        Err(FormErrors::from_fields(errs))
    }
}

/// Saves the form: creates (`id` = `None`) or updates the opportunity, or
/// shows the form again with each error next to its field and nothing stored.
async fn save(app: &AppState, auth: &PageAuth, id: Option<PublicId>, form: OppForm) -> PageResult {
    let p = &auth.principal;
    let mut tx = app.db.write().await?;
    let before = match id {
        Some(id) => {
            let o = readable(&mut tx, auth, &id.to_string()).await?;
            may_act(p, T, Action::Update, o.ownership)?;
            Some(o)
        }
        None => None,
    };
    let saved = async {
        let t = typed(&form)?;
        check_form_account(&mut tx, p, t.account_id, before.as_ref().map(|b| b.account_id)).await?;
        let saved = match &before {
            Some(b) => {
                // A new stage with the probability left as it was takes the stage's default.
                let moved = t.stage_id.is_some_and(|s| s != b.stage_id);
                let probability = t.probability.filter(|pr| !(moved && *pr == b.probability));
                let patch = OpportunityPatch {
                    account_id: t.account_id,
                    name: Some(form.name.clone()),
                    stage_id: t.stage_id,
                    probability,
                    amount: Some(form.amount.trim().to_string()),
                    currency: t.currency,
                    expected_close: t.expected_close,
                    owner_id: Some(t.owner_id),
                    team_id: None,
                    source: Some(blank_none(&form.source)),
                    description: Some(form.description.clone()),
                    lost_reason: Some(blank_none(&form.lost_reason)),
                    won_reason: Some(blank_none(&form.won_reason)),
                };
                let version = form.version.trim().parse::<i64>().ok();
                pipeline::update(&mut tx, &actor_of(p), b, version, patch, now()).await?
            }
            None => {
                let new = NewOpportunity {
                    account_id: t.account_id.unwrap_or_default(),
                    name: form.name.clone(),
                    stage_id: t.stage_id,
                    probability: t.probability,
                    amount: blank_none(&form.amount),
                    currency: t.currency,
                    expected_close: t.expected_close.unwrap_or(now().date()),
                    owner_id: Some(t.owner_id),
                    team_id: None,
                    source: blank_none(&form.source),
                    description: form.description.clone(),
                    lost_reason: blank_none(&form.lost_reason),
                    won_reason: blank_none(&form.won_reason),
                };
                pipeline::create(&mut tx, &actor_of(p), new, now()).await?
            }
        };
        Ok::<_, ApiError>(format!("/opportunities/{}", saved.id))
    }
    .await;
    match finish_save(tx, saved).await? {
        Ok(done) => Ok(done),
        Err(errors) => form_page(app, auth, id, form, errors).await,
    }
}

/// `POST /opportunities`.
pub async fn create(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    require_page(&auth.principal, T, Action::Create)?;
    save(&app, &auth, None, OppForm::parse(&body)).await
}

/// `POST /opportunities/{id}`.
pub async fn update(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>, body: Bytes) -> PageResult {
    require_page(&auth.principal, T, Action::Update)?;
    save(&app, &auth, Some(parse_id("opportunity", &id)?), OppForm::parse(&body)).await
}

// ---------------------------------------------------------------- forecast

#[derive(Template)]
#[template(path = "pipeline_forecast.html")]
struct ForecastPage {
    layout: Layout,
    from: String,
    to: String,
    owner_id: String,
    currency: String,
    owners: Choices,
    error: Option<String>,
    report: Option<ForecastReport>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ForecastQuery {
    from: Option<String>,
    to: Option<String>,
    owner_id: Option<String>,
    currency: Option<String>,
}

/// `GET /reports/pipeline-forecast`: the weighted forecast as a table.
pub async fn forecast(State(app): State<AppState>, auth: PageAuth, Query(q): Query<ForecastQuery>) -> PageResult {
    let p = &auth.principal;
    let scope = require_page(p, T, Action::Read)?;
    let mut tx = app.db.read().await?;
    let owners = user_choices(&mut tx, p.tenant_id).await?;
    let checked = (|| {
        let range = forecast_range(q.from.as_deref(), q.to.as_deref())?;
        let owner = filter_id("owner_id", q.owner_id.as_deref().map(str::trim).unwrap_or("")).map_err(|e| e.0)?;
        let currency = match q.currency.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) => {
                Some(Currency::parse(&c.to_uppercase()).map_err(|e| ApiError::invalid("currency", e.to_string()))?)
            }
            None => None,
        };
        Ok::<_, ApiError>((range, owner, currency))
    })();
    let (report, error, range) = match checked {
        Ok((range, owner, currency)) => {
            (Some(forecast_report(&mut tx, p, scope, range, owner, currency).await?), None, Some(range))
        }
        Err(e) => (None, Some(e.detail.clone()), None),
    };
    tx.commit().await?;
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = ForecastPage {
        layout: auth.layout("forecast"),
        from: range.map(|r| r.0.to_string()).or(q.from).unwrap_or_default(),
        to: range.map(|r| r.1.to_string()).or(q.to).unwrap_or_default(),
        owner_id: q.owner_id.unwrap_or_default(),
        currency: q.currency.unwrap_or_default(),
        owners,
        error,
        report,
    };
    Ok((status, render(&page)).into_response())
}
