//! Case pages: the list, one case with the workflow actions its status
//! allows (each a small form), and the case form.

use super::bulk::{self, Batch, BulkError, Refusal};
use super::views::{Sorting, ViewQuery, read_sort};
use super::{
    Choices, FormErrors, FormField, Layout, PageAuth, PageError, PageResult, account_choices, blank_none,
    check_form_account, finish_save, fmt_seconds, fmt_time, form_fields, render, require_page, user_choices,
};
use crate::api::accounts::account_key;
use crate::api::cases::parse_action;
use crate::api::{parse_id, user_key};
use crate::error::ApiError;
use crate::extract::actor_of;
use crate::present::may_act;
use crate::state::AppState;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use nave_domain::access::{Action, Principal, RecordType};
use nave_domain::case::{CaseAction, CaseKind, CasePriority, CaseStatus};
use nave_domain::error::{ErrorCode, FieldError};
use nave_domain::ids::PublicId;
use nave_store::accounts::Visibility;
use nave_store::cases::{self, Case, CasePatch, CaseQuery, DocumentRef, NewCase};
use nave_store::catalog::{self, ProductQuery};
use nave_store::db::now;

const T: RecordType = RecordType::Case;

fn names<E: Copy>(all: &[E], name: impl Fn(E) -> &'static str) -> Choices {
    all.iter().map(|&e| (name(e).to_string(), name(e).to_string())).collect()
}

#[derive(Debug)]
struct CaseRow {
    id: String,
    version: i64,
    subject: String,
    account: String,
    kind: &'static str,
    priority: &'static str,
    status: &'static str,
    assignee: String,
    created: String,
    first_response: String,
    resolution: String,
    satisfaction: String,
}

fn row(c: &Case) -> CaseRow {
    CaseRow {
        id: c.id.to_string(),
        version: c.version,
        subject: c.subject.clone(),
        account: c.account_name.clone(),
        kind: c.kind.as_str(),
        priority: c.priority.as_str(),
        status: c.status.as_str(),
        assignee: c.assignee_name.clone().unwrap_or_default(),
        created: fmt_time(c.created_at),
        first_response: c.first_response_seconds.map(fmt_seconds).unwrap_or_default(),
        resolution: c.resolution_seconds.map(fmt_seconds).unwrap_or_default(),
        satisfaction: c.satisfaction.map(|s| format!("{s}/5")).unwrap_or_default(),
    }
}

/// The columns the cases list may show beside the subject: (key, heading).
const COLUMNS: &[(&str, &str)] = &[
    ("account", "Account"),
    ("kind", "Kind"),
    ("priority", "Priority"),
    ("status", "Status"),
    ("assignee", "Assignee"),
    ("created", "Logged"),
    ("first_response", "First response"),
    ("resolution", "Resolved in"),
    ("satisfaction", "Rating"),
];
/// Shown until the user chooses: all of them.
const DEFAULT_COLUMNS: &[&str] =
    &["account", "kind", "priority", "status", "assignee", "created", "first_response", "resolution", "satisfaction"];
/// The filters (and order) the cases list reads from its query string.
const FILTERS: &[&str] = &["status", "priority", "assignee_id", "account_id", "sort"];

#[derive(Template)]
#[template(path = "cases.html")]
struct CasesPage {
    layout: Layout,
    rows: Vec<CaseRow>,
    next: Option<String>,
    can_create: bool,
    /// Bulk assignment offered: the user may change cases.
    can_bulk: bool,
    statuses: Choices,
    priorities: Choices,
    assignees: Choices,
    status: String,
    priority: String,
    assignee_id: String,
    columns: super::views::Columns,
    views: super::views::ViewsBar,
    /// Why the last bulk action changed nothing.
    error: Option<String>,
    sorting: Sorting,
}

/// A filter from a query string: blank is none, anything else must parse.
fn filter<V: std::str::FromStr>(field: &str, v: &str) -> Result<Option<V>, PageError> {
    match v {
        "" => Ok(None),
        s => Ok(Some(s.parse().map_err(|_| ApiError::invalid(field, "is not one of the choices"))?)),
    }
}

/// The store query of the cases list's view, for the cases `p` may see (the
/// list and its CSV export read the same view).
pub(crate) async fn view_query(
    tx: &mut nave_store::Tx,
    p: &Principal,
    raw: Option<&str>,
) -> Result<(CaseQuery, ViewQuery), PageError> {
    let scope = require_page(p, T, Action::Read)?;
    let v = ViewQuery::parse(raw, FILTERS);
    let status: Option<CaseStatus> = filter("status", v.get("status"))?;
    let priority: Option<CasePriority> = filter("priority", v.get("priority"))?;
    let assignee: Option<PublicId> = filter("assignee_id", v.get("assignee_id"))?;
    let account: Option<PublicId> = filter("account_id", v.get("account_id"))?;
    let (sort, cursor, sorted_after) = read_sort(cases::SORTS, &v)?;
    let query = CaseQuery {
        visibility: Visibility::of(p, scope),
        account_key: account_key(tx, p, account).await?,
        status,
        priority,
        assignee_key: user_key(tx, p.tenant_id, assignee, "assignee_id").await?,
        cursor,
        sort,
        sorted_after,
        ..Default::default()
    };
    Ok((query, v))
}

/// `GET /cases`: filters, the columns chosen, saved views, the CSV export of
/// the view and bulk assignment.
pub async fn list(State(app): State<AppState>, auth: PageAuth, RawQuery(raw): RawQuery) -> PageResult {
    list_page(&app, &auth, raw.as_deref(), None).await
}

/// The list of the view `raw`, with why a bulk action changed nothing.
async fn list_page(app: &AppState, auth: &PageAuth, raw: Option<&str>, refusal: Option<Refusal>) -> PageResult {
    let p = &auth.principal;
    let mut tx = app.db.read().await?;
    let (query, v) = view_query(&mut tx, p, raw).await?;
    let assignees = user_choices(&mut tx, p.tenant_id).await?;
    let page = cases::list(&mut tx, p.tenant_id, &query).await?;
    let views = super::views::bar(&mut tx, auth, "cases", &v.view_qs()).await?;
    tx.commit().await?;
    let view = CasesPage {
        layout: auth.layout("cases"),
        rows: page.items.iter().map(row).collect(),
        next: query.sort.next_of(&page),
        can_create: p.scope_for(T, Action::Create).is_some(),
        can_bulk: p.scope_for(T, Action::Update).is_some(),
        statuses: names(CaseStatus::ALL, CaseStatus::as_str),
        priorities: names(CasePriority::ALL, CasePriority::as_str),
        assignees,
        status: query.status.map(|s| s.to_string()).unwrap_or_default(),
        priority: query.priority.map(|s| s.to_string()).unwrap_or_default(),
        assignee_id: v.get("assignee_id").to_string(),
        columns: super::views::columns(COLUMNS, DEFAULT_COLUMNS, &v.columns),
        views,
        error: refusal.as_ref().map(|r| r.message.clone()),
        sorting: Sorting::new("cases", cases::SORTS, query.sort, &v),
    };
    Ok((refusal.map_or(StatusCode::OK, |r| r.status), render(&view)).into_response())
}

/// `POST /cases/bulk`: assigns the ticked cases to a user, or to nobody (the
/// queue), all or none (see `pages::bulk`); then shows the list's view again.
pub async fn bulk(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    require_page(&auth.principal, T, Action::Update)?;
    let again = async |app: &AppState, auth: &PageAuth, back: &str, r| list_page(app, auth, Some(back), Some(r)).await;
    super::bulk::run(&app, &auth, &body, "cases", assign, again).await
}

/// Assigns every case of the batch, each checked as the case form checks it.
async fn assign(tx: &mut nave_store::Tx, p: &Principal, b: &Batch) -> Result<(), BulkError> {
    let items = b.items_for("assign", "cases")?;
    let assignee =
        b.existing_user(tx, p.tenant_id, "assignee_id", Some("queue"), "choose who the ticked cases go to").await?;
    let actor = actor_of(p);
    for (id, version) in items {
        let Some(before) = cases::get(tx, p.tenant_id, id).await? else {
            return Err(Refusal::not_found("cases").into());
        };
        let what = format!("the case “{}”", before.subject);
        bulk::may_change(p, T, before.ownership, "cases", &what)?;
        let patch = CasePatch { assignee_id: Some(assignee), ..Default::default() };
        cases::update(tx, &actor, &before, version, patch, now()).await.map_err(|e| bulk::refused(e, &what))?;
    }
    Ok(())
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    layout: Layout,
    c: Case,
    row: CaseRow,
    actions: Vec<&'static str>,
    can_edit: bool,
    error: Option<String>,
    attachments: super::attachments::AttachmentsView,
}

/// A case `p` may read, or a 404 page.
async fn readable(tx: &mut nave_store::Tx, auth: &PageAuth, id: PublicId) -> Result<Case, PageError> {
    let p = &auth.principal;
    Ok(cases::get(tx, p.tenant_id, id)
        .await?
        .filter(|c| p.may(T, Action::Read, c.ownership))
        .ok_or_else(|| ApiError::not_found("case"))?)
}

async fn case_page(
    app: &AppState,
    auth: &PageAuth,
    id: PublicId,
    error: Option<String>,
) -> Result<CasePage, PageError> {
    let mut tx = app.db.read().await?;
    let c = readable(&mut tx, auth, id).await?;
    tx.commit().await?;
    let can_edit = auth.principal.may(T, Action::Update, c.ownership);
    let attachments = super::attachments::view(app, &auth.principal, T, c.id).await?;
    Ok(CasePage {
        attachments,
        layout: auth.layout("cases"),
        row: row(&c),
        actions: if can_edit { c.allowed_actions.iter().map(|a| a.as_str()).collect() } else { vec![] },
        can_edit,
        error,
        c,
    })
}

/// `GET /cases/{id}`.
pub async fn show(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    require_page(&auth.principal, T, Action::Read)?;
    Ok(render(&case_page(&app, &auth, parse_id("case", &id)?, None).await?).into_response())
}

/// `POST /cases/{id}/actions/{action}`: takes the action, or shows the case
/// again with the refusal (409 for an action its status does not allow, 422
/// for a missing resolution).
pub async fn act(
    State(app): State<AppState>,
    auth: PageAuth,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> PageResult {
    let p = &auth.principal;
    require_page(p, T, Action::Update)?;
    let id = parse_id("case", &id)?;
    let action = parse_action(&action)?;
    let resolution = form_fields(&body).remove("resolution").filter(|_| action == CaseAction::Resolve);
    let mut tx = app.db.write().await?;
    let before = readable(&mut tx, &auth, id).await?;
    if !p.may(T, Action::Update, before.ownership) {
        return Err(ApiError::forbidden("your role may not update this case").into());
    }
    match cases::act(&mut tx, &actor_of(p), &before, None, action, resolution, now()).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/cases/{id}")).into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            let e: ApiError = e.into();
            if !matches!(e.code, ErrorCode::InvalidTransition | ErrorCode::ValidationFailed) {
                return Err(e.into());
            }
            let message =
                e.errors.first().map(|f| format!("The {} {}.", f.field, f.message)).unwrap_or(e.detail.clone());
            let page = case_page(&app, &auth, id, Some(message)).await?;
            Ok((e.status(), render(&page)).into_response())
        }
    }
}

// ---------------------------------------------------------------- the form

/// The case form as typed, kept when it is shown again with errors.
#[derive(Debug, Clone, Default)]
pub struct CaseForm {
    account_id: String,
    subject: String,
    kind: String,
    priority: String,
    assignee_id: String,
    product_id: String,
    document_type: String,
    document_id: String,
    description: String,
    resolution: String,
    satisfaction: String,
    satisfaction_comment: String,
    version: String,
}

impl CaseForm {
    fn parse(body: &[u8]) -> Self {
        let mut f = form_fields(body);
        let mut take = |k: &str| f.remove(k).unwrap_or_default();
        CaseForm {
            account_id: take("account_id"),
            subject: take("subject"),
            kind: take("kind"),
            priority: take("priority"),
            assignee_id: take("assignee_id"),
            product_id: take("product_id"),
            document_type: take("document.type"),
            document_id: take("document.id"),
            description: take("description"),
            resolution: take("resolution"),
            satisfaction: take("satisfaction"),
            satisfaction_comment: take("satisfaction_comment"),
            version: take("version"),
        }
    }

    fn of(c: &Case) -> Self {
        let id = |i: Option<PublicId>| i.map(|i| i.to_string()).unwrap_or_default();
        CaseForm {
            account_id: c.account_id.to_string(),
            subject: c.subject.clone(),
            kind: c.kind.to_string(),
            priority: c.priority.to_string(),
            assignee_id: id(c.assignee_id),
            product_id: id(c.product_id),
            document_type: c.document.as_ref().map(|d| d.kind.clone()).unwrap_or_default(),
            document_id: c.document.as_ref().map(|d| d.id.clone()).unwrap_or_default(),
            description: c.description.clone(),
            resolution: c.resolution.clone().unwrap_or_default(),
            satisfaction: c.satisfaction.map(|s| s.to_string()).unwrap_or_default(),
            satisfaction_comment: c.satisfaction_comment.clone().unwrap_or_default(),
            version: c.version.to_string(),
        }
    }
}

#[derive(Template)]
#[template(path = "case_form.html")]
struct CaseFormPage {
    layout: Layout,
    id: Option<String>,
    form: CaseForm,
    errors: FormErrors,
    /// The case is resolved or closed: it may be rated.
    rated: bool,
    accounts: Choices,
    assignees: Choices,
    products: Choices,
}

impl CaseFormPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }

    fn fields(&self) -> Vec<FormField> {
        let f = &self.form;
        let mut fields = vec![
            FormField::select("account_id", "Account", &f.account_id, self.accounts.clone(), "(choose)"),
            FormField::input("subject", "Subject", &f.subject, "text"),
            FormField::select("kind", "Kind", &f.kind, names(CaseKind::ALL, CaseKind::as_str), ""),
            FormField::select("priority", "Priority", &f.priority, names(CasePriority::ALL, CasePriority::as_str), ""),
            FormField::select("assignee_id", "Assignee", &f.assignee_id, self.assignees.clone(), "(nobody: the queue)"),
            FormField::select("product_id", "Product", &f.product_id, self.products.clone(), "(none)"),
            FormField::input(
                "document.type",
                "Related document type (e.g. invoice, sales_order)",
                &f.document_type,
                "text",
            ),
            FormField::input("document.id", "Related document number", &f.document_id, "text"),
            FormField::area("description", "Description", &f.description),
        ];
        if self.id.is_some() {
            fields.push(FormField::area("resolution", "Resolution", &f.resolution));
        }
        if self.rated {
            let scores = (1..=5).map(|s| (s.to_string(), format!("{s} of 5"))).collect();
            fields.push(FormField::select(
                "satisfaction",
                "Customer satisfaction",
                &f.satisfaction,
                scores,
                "(not rated)",
            ));
            fields.push(FormField::area("satisfaction_comment", "Customer's comment", &f.satisfaction_comment));
        }
        fields
    }
}

async fn form_page(
    app: &AppState,
    auth: &PageAuth,
    existing: Option<&Case>,
    form: CaseForm,
    errors: FormErrors,
) -> PageResult {
    let p = &auth.principal;
    let mut tx = app.db.read().await?;
    let accounts = account_choices(&mut tx, p).await?;
    let assignees = user_choices(&mut tx, p.tenant_id).await?;
    let products = catalog::list_products(&mut tx, p.tenant_id, &ProductQuery { limit: 200, ..Default::default() })
        .await?
        .items
        .into_iter()
        .map(|pr| (pr.id.to_string(), format!("{} – {}", pr.sku, pr.name)))
        .collect();
    tx.commit().await?;
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = CaseFormPage {
        layout: auth.layout("cases"),
        id: existing.map(|c| c.id.to_string()),
        rated: existing.is_some_and(|c| c.status.is_done()),
        form,
        errors,
        accounts,
        assignees,
        products,
    };
    Ok((status, render(&page)).into_response())
}

/// `GET /cases/new` (`?account_id=` picks the account).
pub async fn new_form(
    State(app): State<AppState>,
    auth: PageAuth,
    Query(q): Query<super::pipeline::NewQuery>,
) -> PageResult {
    require_page(&auth.principal, T, Action::Create)?;
    let form = CaseForm {
        account_id: q.account_id.unwrap_or_default(),
        kind: CaseKind::Question.to_string(),
        priority: CasePriority::Normal.to_string(),
        assignee_id: auth.user.id.to_string(),
        ..Default::default()
    };
    form_page(&app, &auth, None, form, FormErrors::default()).await
}

/// `GET /cases/{id}/edit`.
pub async fn edit_form(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    require_page(&auth.principal, T, Action::Update)?;
    let mut tx = app.db.read().await?;
    let c = readable(&mut tx, &auth, parse_id("case", &id)?).await?;
    tx.commit().await?;
    form_page(&app, &auth, Some(&c), CaseForm::of(&c), FormErrors::default()).await
}

/// The typed form's ids, kinds and numbers, or the fields it got wrong.
struct Typed {
    account_id: Option<PublicId>,
    kind: CaseKind,
    priority: CasePriority,
    assignee_id: Option<PublicId>,
    product_id: Option<PublicId>,
    document: Option<DocumentRef>,
    satisfaction: Option<i64>,
}

fn typed(f: &CaseForm) -> Result<Typed, FormErrors> {
    let mut errs = Vec::new();
    let mut pick = |field: &str, s: &str| -> Option<String> {
        let s = s.trim();
        (!s.is_empty()).then(|| s.to_string()).or_else(|| {
            if field == "account_id" {
                errs.push(FieldError::new(field, "is required"));
            }
            None
        })
    };
    let (account, assignee, product) =
        (pick("account_id", &f.account_id), pick("assignee_id", &f.assignee_id), pick("product_id", &f.product_id));
    let mut parse = |field: &str, v: Option<String>| -> Option<PublicId> {
        v.and_then(|s| s.parse().map_err(|_| errs.push(FieldError::new(field, "is not one of the choices"))).ok())
    };
    let (account_id, assignee_id, product_id) =
        (parse("account_id", account), parse("assignee_id", assignee), parse("product_id", product));
    let kind = f.kind.parse().map_err(|_| errs.push(FieldError::new("kind", "is not one of the choices"))).ok();
    let priority =
        f.priority.parse().map_err(|_| errs.push(FieldError::new("priority", "is not one of the choices"))).ok();
    let satisfaction = match f.satisfaction.trim() {
        "" => None,
        s => s.parse().map_err(|_| errs.push(FieldError::new("satisfaction", "must be a score from 1 to 5"))).ok(),
    };
    let document = (!f.document_type.trim().is_empty() || !f.document_id.trim().is_empty())
        .then(|| DocumentRef { kind: f.document_type.clone(), id: f.document_id.clone() });
    match (kind, priority) {
        (Some(kind), Some(priority)) if errs.is_empty() => {
            Ok(Typed { account_id, kind, priority, assignee_id, product_id, document, satisfaction })
        }
        _ => Err(FormErrors::from_fields(errs)),
    }
}

/// Saves the form, or shows it again with each error next to its field and nothing stored.
async fn save(app: &AppState, auth: &PageAuth, id: Option<PublicId>, form: CaseForm) -> PageResult {
    let p = &auth.principal;
    let mut tx = app.db.write().await?;
    let before = match id {
        Some(id) => {
            let c = readable(&mut tx, auth, id).await?;
            may_act(p, T, Action::Update, c.ownership)?;
            Some(c)
        }
        None => None,
    };
    let saved = async {
        let t = typed(&form)?;
        check_form_account(&mut tx, p, t.account_id, before.as_ref().map(|b| b.account_id)).await?;
        let saved = match &before {
            Some(b) => {
                let rated = b.status.is_done();
                let patch = CasePatch {
                    account_id: t.account_id,
                    subject: Some(form.subject.clone()),
                    description: Some(form.description.clone()),
                    kind: Some(t.kind),
                    priority: Some(t.priority),
                    assignee_id: Some(t.assignee_id),
                    team_id: None,
                    product_id: Some(t.product_id),
                    document: Some(t.document),
                    resolution: Some(blank_none(&form.resolution)),
                    satisfaction: rated.then_some(t.satisfaction),
                    satisfaction_comment: rated.then(|| blank_none(&form.satisfaction_comment)),
                };
                let version = form.version.trim().parse::<i64>().ok();
                cases::update(&mut tx, &actor_of(p), b, version, patch, now()).await?
            }
            None => {
                let new = NewCase {
                    account_id: t.account_id.unwrap_or_default(),
                    subject: form.subject.clone(),
                    description: form.description.clone(),
                    kind: t.kind,
                    priority: t.priority,
                    assignee_id: Some(t.assignee_id),
                    team_id: None,
                    product_id: t.product_id,
                    document: t.document,
                    resolution: None,
                };
                cases::create(&mut tx, &actor_of(p), new, now()).await?
            }
        };
        Ok::<_, ApiError>(format!("/cases/{}", saved.id))
    }
    .await;
    match finish_save(tx, saved).await? {
        Ok(done) => Ok(done),
        Err(errors) => form_page(app, auth, before.as_ref(), form, errors).await,
    }
}

/// `POST /cases`.
pub async fn create(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    require_page(&auth.principal, T, Action::Create)?;
    save(&app, &auth, None, CaseForm::parse(&body)).await
}

/// `POST /cases/{id}`.
pub async fn update(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>, body: Bytes) -> PageResult {
    require_page(&auth.principal, T, Action::Update)?;
    save(&app, &auth, Some(parse_id("case", &id)?), CaseForm::parse(&body)).await
}
