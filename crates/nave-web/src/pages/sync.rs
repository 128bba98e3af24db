//! The admin's master rules (`/settings/master-rules`) and the sync
//! conflicts they record (`/sync-conflicts`, with accept and dismiss). The
//! same store functions as `/api/v1/master-rules` and `/api/v1/sync-conflicts`;
//! forms post to this origin only (the `csrf` middleware refuses others).

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use nave_domain::access::{Action, RecordType};
use nave_domain::sync::{self as rules, ConflictStatus};
use nave_store::sync::{self, MasterRule};

use super::{FormData, FormErrors, Layout, PageAuth, PageResult, fmt_time, render, require_page};
use crate::api::sync::{ConflictFilter, conflict_query, present_conflict};
use crate::error::ApiError;
use crate::extract::{ApiAuth, actor_of};
use crate::state::AppState;

/// Every route of the pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/settings/master-rules", get(rules_page).post(save_rule))
        .route("/settings/master-rules/{id}/delete", post(delete_rule))
        .route("/sync-conflicts", get(conflicts_page))
        .route("/sync-conflicts/{id}/accept", post(accept))
        .route("/sync-conflicts/{id}/dismiss", post(dismiss))
}

// ------------------------------------------------------------ master rules

/// The add form as typed.
#[derive(Debug, Clone, Default)]
struct RuleForm {
    record_type: String,
    field: String,
    system: String,
}

#[derive(Template)]
#[template(path = "master_rules.html")]
struct RulesPage {
    layout: Layout,
    rules: Vec<MasterRule>,
    form: RuleForm,
    errors: FormErrors,
    /// Per record type, the fields a rule may name.
    fields: Vec<(&'static str, String)>,
    record_types: Vec<(String, String)>,
}

async fn show_rules(app: &AppState, auth: &PageAuth, form: RuleForm, errors: FormErrors) -> PageResult {
    let p = &auth.principal;
    let mut tx = app.db.autocommit().await?;
    let list = sync::list_rules(&mut tx, p.tenant_id).await?;
    tx.commit().await?;
    let status = if errors.is_empty() { StatusCode::OK } else { errors.status() };
    let page = RulesPage {
        layout: auth.layout("master_rules"),
        rules: list,
        form,
        errors,
        fields: rules::RECORD_TYPES.iter().map(|t| (t.as_str(), rules::fields(*t).join(", "))).collect(),
        record_types: rules::RECORD_TYPES.iter().map(|t| (t.as_str().to_string(), t.as_str().to_string())).collect(),
    };
    Ok((status, render(&page)).into_response())
}

/// `GET /settings/master-rules`: admins only.
async fn rules_page(State(app): State<AppState>, auth: PageAuth) -> PageResult {
    require_page(&auth.principal, RecordType::MasterRule, Action::Update)?;
    show_rules(&app, &auth, RuleForm { system: "erp".into(), ..Default::default() }, FormErrors::default()).await
}

/// `POST /settings/master-rules`: adds a rule, or changes the system of the
/// field's rule.
async fn save_rule(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    let p = &auth.principal;
    require_page(p, RecordType::MasterRule, Action::Create)?;
    require_page(p, RecordType::MasterRule, Action::Update)?;
    let f = FormData::parse(&body);
    let form = RuleForm { record_type: f.get("record_type"), field: f.get("field"), system: f.get("system") };
    let mut tx = app.db.write().await?;
    let saved = sync::put_rule(&mut tx, &actor_of(p), &form.record_type, &form.field, &form.system, None)
        .await
        .map(|_| "/settings/master-rules".to_string())
        .map_err(ApiError::from);
    match super::finish_save(tx, saved).await? {
        Ok(done) => Ok(done),
        Err(errors) => show_rules(&app, &auth, form, errors).await,
    }
}

/// `POST /settings/master-rules/{id}/delete`.
async fn delete_rule(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    let p = &auth.principal;
    require_page(p, RecordType::MasterRule, Action::Delete)?;
    let id = id.parse().map_err(|_| ApiError::not_found("master rule"))?;
    let mut tx = app.db.write().await?;
    let rule =
        sync::get_rule_by_id(&mut tx, p.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("master rule"))?;
    sync::delete_rule(&mut tx, &actor_of(p), &rule, None).await?;
    tx.commit().await?;
    Ok(Redirect::to("/settings/master-rules").into_response())
}

// ---------------------------------------------------------- sync conflicts

/// One conflict as listed.
struct ConflictRow {
    id: String,
    record_type: String,
    /// The record's page.
    url: String,
    field: String,
    master: String,
    source: String,
    /// The values as JSON text; `None` when the field is hidden from the viewer.
    ours: Option<String>,
    theirs: Option<String>,
    status: String,
    when: String,
    open: bool,
}

#[derive(Template)]
#[template(path = "sync_conflicts.html")]
struct ConflictsPage {
    layout: Layout,
    rows: Vec<ConflictRow>,
    /// `open`, `accepted`, `dismissed` or `` for all.
    status: String,
    record_id: String,
    can_resolve: bool,
    next: Option<String>,
}

/// `?status=&record_id=&after=` of the page (open conflicts unless said otherwise).
#[derive(Debug, serde::Deserialize)]
pub struct ConflictsQuery {
    status: Option<String>,
    record_id: Option<String>,
    after: Option<String>,
}

fn text(v: Option<&serde_json::Value>) -> Option<String> {
    v.map(|v| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "(empty)".to_string(),
        other => other.to_string(),
    })
}

/// `GET /sync-conflicts`.
async fn conflicts_page(State(app): State<AppState>, auth: PageAuth, Query(q): Query<ConflictsQuery>) -> PageResult {
    let p = &auth.principal;
    require_page(p, RecordType::SyncConflict, Action::Read)?;
    let status = q.status.clone().unwrap_or_else(|| "open".into());
    let record_id = q.record_id.clone().unwrap_or_default();
    let filter = ConflictFilter {
        status: Some(status.clone()).filter(|s| !s.is_empty()),
        record_type: None,
        record_id: Some(record_id.clone()).filter(|s| !s.is_empty()),
        limit: Some(100),
        after: q.after.clone().filter(|s| !s.is_empty()),
    };
    let query = conflict_query(&filter)?;
    let mut tx = app.db.read().await?;
    let page = sync::list_conflicts(&mut tx, p.tenant_id, &query).await?;
    tx.commit().await?;
    let mut rows = Vec::new();
    for c in &page.items {
        let v = present_conflict(p, c)?;
        let path = match c.record_type.as_str() {
            "account" => "accounts",
            "contact" => "contacts",
            _ => "products",
        };
        rows.push(ConflictRow {
            id: c.id.to_string(),
            record_type: c.record_type.clone(),
            url: format!("/{path}/{}", c.record_id),
            field: c.field.clone(),
            master: c.master.clone(),
            source: c.source.clone(),
            ours: text(v.get("our_value")),
            theirs: text(v.get("their_value")),
            status: c.status.as_str().to_string(),
            when: fmt_time(c.occurred_at),
            open: c.status == ConflictStatus::Open,
        });
    }
    let view = ConflictsPage {
        layout: auth.layout("sync_conflicts"),
        rows,
        status,
        record_id,
        can_resolve: p.scope_for(RecordType::SyncConflict, Action::Update).is_some(),
        next: page.next.map(|c| c.encode()),
    };
    Ok(render(&view).into_response())
}

/// Accepts or dismisses a conflict in one write transaction, then shows the list again.
async fn resolve(app: &AppState, auth: &PageAuth, id: &str, to: ConflictStatus, back: String) -> PageResult {
    let p = &auth.principal;
    require_page(p, RecordType::SyncConflict, Action::Update)?;
    let api = ApiAuth(p.clone());
    let mut tx = app.db.write().await?;
    let c = crate::api::sync::load_conflict(&mut tx, &api, id).await?;
    crate::api::sync::record_visible(&mut tx, &api, &c).await?;
    match to {
        ConflictStatus::Accepted => {
            crate::api::sync::accept(&mut tx, &api, &c).await?;
        }
        _ => {
            sync::resolve(&mut tx, &actor_of(p), &c, to).await?;
        }
    }
    tx.commit().await?;
    Ok(Redirect::to(&back).into_response())
}

/// Where a resolve form returns: the list it was posted from.
fn back_to(body: &[u8]) -> String {
    let f = FormData::parse(body);
    let record = f.get("record_id");
    let ok = !record.is_empty() && record.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok { format!("/sync-conflicts?record_id={record}") } else { "/sync-conflicts".to_string() }
}

/// `POST /sync-conflicts/{id}/accept`.
async fn accept(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>, body: Bytes) -> PageResult {
    resolve(&app, &auth, &id, ConflictStatus::Accepted, back_to(&body)).await
}

/// `POST /sync-conflicts/{id}/dismiss`.
async fn dismiss(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>, body: Bytes) -> PageResult {
    resolve(&app, &auth, &id, ConflictStatus::Dismissed, back_to(&body)).await
}
