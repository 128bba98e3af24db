//! The WooCommerce pages (admin area): `/integrations/woocommerce` lists the
//! connections with the webhook URL to paste into each shop and adds one;
//! `/integrations/woocommerce/{id}` edits a connection (name, URL, secret,
//! warehouse, tax mapping) and shows its intake log, where a delivery that
//! failed can be run again once the mapping is fixed. Forms post to the same
//! origin (the CSRF middleware guards them) and carry the record's version.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use nave_domain::access::{Action, RecordType};
use nave_domain::ids::PublicId;
use nave_store::woocommerce::{self, Connection, ConnectionPatch, IntakeEntry, IntakeQuery, NewConnection};
use nave_store::{catalog, taxes};

use super::{Choices, FormData, FormErrors, Layout, PageAuth, PageResult, fmt_time, render, require_page};
use crate::error::ApiError;
use crate::extract::actor_of;
use crate::state::AppState;

const T: RecordType = RecordType::Integration;

/// Every route of the pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/integrations/woocommerce", get(list).post(create))
        .route("/integrations/woocommerce/{id}", get(show).post(update))
        .route("/integrations/woocommerce/{id}/delete", post(delete))
        .route("/integrations/woocommerce/{id}/intake/{entry}/retry", post(retry))
}

/// `http(s)://host` of the request, so the page shows the full webhook URL.
fn origin(headers: &HeaderMap) -> String {
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let proto = headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()).unwrap_or("http");
    format!("{proto}://{host}")
}

/// A connection as a row of the list.
#[derive(Debug)]
struct Row {
    id: String,
    name: String,
    url: String,
    system: String,
    webhook_url: String,
    taxes: usize,
}

/// The fields of the connection form, as typed.
#[derive(Debug, Default)]
struct Fields {
    name: String,
    url: String,
    warehouse_id: String,
    /// (shop rate, Nave tax id) rows, with blank rows to add more.
    tax_map: Vec<(String, String)>,
}

impl Fields {
    fn of(c: &Connection) -> Self {
        let mut tax_map: Vec<(String, String)> =
            c.tax_map.iter().map(|m| (m.woo_rate.clone(), m.tax_id.to_string())).collect();
        tax_map.extend([(String::new(), String::new()), (String::new(), String::new())]);
        Fields {
            name: c.name.clone(),
            url: c.url.clone(),
            warehouse_id: c.warehouse_id.map(|w| w.to_string()).unwrap_or_default(),
            tax_map,
        }
    }

    fn from_form(f: &FormData) -> Self {
        Fields {
            name: f.get("name"),
            url: f.get("url"),
            warehouse_id: f.get("warehouse_id"),
            tax_map: f
                .rows("tax_map", &["woo_rate", "tax_id"])
                .into_iter()
                .map(|r| (r[0].clone(), r[1].clone()))
                .collect(),
        }
    }

    fn warehouse(&self, errors: &mut FormErrors) -> Option<PublicId> {
        let w = self.warehouse_id.trim();
        if w.is_empty() {
            return None;
        }
        match w.parse() {
            Ok(id) => Some(id),
            Err(_) => {
                errors.add("warehouse_id", "is not a warehouse");
                None
            }
        }
    }

    fn pairs(&self, errors: &mut FormErrors) -> Vec<(String, PublicId)> {
        let mut out = Vec::new();
        for (i, (rate, tax)) in self.tax_map.iter().enumerate() {
            match tax.trim().parse::<PublicId>() {
                Ok(id) => out.push((rate.clone(), id)),
                Err(_) => errors.add(format!("tax_map[{i}].tax_id"), "choose a Nave tax"),
            }
        }
        out
    }
}

async fn choices(app: &AppState, tenant_id: i64) -> Result<(Choices, Choices), ApiError> {
    let mut tx = app.db.read().await?;
    let warehouses = catalog::list_warehouses(&mut tx, tenant_id).await?;
    let taxes = taxes::list_taxes(&mut tx, tenant_id).await?;
    tx.commit().await?;
    Ok((
        warehouses.into_iter().filter(|w| w.active).map(|w| (w.id.to_string(), w.name)).collect(),
        taxes.into_iter().map(|t| (t.id.to_string(), format!("{} ({} %)", t.name, t.rate))).collect(),
    ))
}

#[derive(Template)]
#[template(path = "woocommerce.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<Row>,
    can_create: bool,
    fields: Fields,
    errors: FormErrors,
    warehouses: Choices,
    origin: String,
}

async fn list_page(
    app: &AppState,
    auth: &PageAuth,
    headers: &HeaderMap,
    typed: Option<(Fields, FormErrors)>,
) -> PageResult {
    let p = &auth.principal;
    let mut tx = app.db.read().await?;
    let list = woocommerce::list(&mut tx, p.tenant_id).await?;
    tx.commit().await?;
    let origin = origin(headers);
    let rows = list
        .iter()
        .map(|c| Row {
            id: c.id.to_string(),
            name: c.name.clone(),
            url: c.url.clone(),
            system: c.system.clone(),
            webhook_url: format!("{origin}{}", c.webhook_path),
            taxes: c.tax_map.len(),
        })
        .collect();
    let (warehouses, _) = choices(app, p.tenant_id).await?;
    let status = typed.as_ref().map_or(axum::http::StatusCode::OK, |(_, e)| e.status());
    let (fields, errors) = typed.unwrap_or_default();
    let page = ListPage {
        layout: auth.layout("woocommerce"),
        rows,
        can_create: p.scope_for(T, Action::Create).is_some(),
        fields,
        errors,
        warehouses,
        origin,
    };
    Ok((status, render(&page)).into_response())
}

/// `GET /integrations/woocommerce`.
async fn list(State(app): State<AppState>, auth: PageAuth, headers: HeaderMap) -> PageResult {
    require_page(&auth.principal, T, Action::Read)?;
    list_page(&app, &auth, &headers, None).await
}

/// `POST /integrations/woocommerce`: adds a connection and opens its page (to map the taxes).
async fn create(State(app): State<AppState>, auth: PageAuth, headers: HeaderMap, body: Bytes) -> PageResult {
    let p = &auth.principal;
    require_page(p, T, Action::Create)?;
    let form = FormData::parse(&body);
    let fields = Fields::from_form(&form);
    let mut errors = FormErrors::default();
    let warehouse_id = fields.warehouse(&mut errors);
    let tax_map = fields.pairs(&mut errors);
    if !errors.is_empty() {
        return list_page(&app, &auth, &headers, Some((fields, errors))).await;
    }
    let new = NewConnection {
        name: fields.name.clone(),
        url: fields.url.clone(),
        secret: form.get("secret"),
        warehouse_id,
        tax_map,
    };
    let mut tx = app.db.write().await?;
    match woocommerce::create(&mut tx, &actor_of(p), new).await {
        Ok(c) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/integrations/woocommerce/{}", c.id)).into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            let errors = super::form_errors(e)?;
            list_page(&app, &auth, &headers, Some((fields, errors))).await
        }
    }
}

/// An intake entry as a row of the log.
#[derive(Debug)]
struct EntryRow {
    id: String,
    received: String,
    topic: String,
    order: String,
    delivery: String,
    status: String,
    reason: String,
    attempts: i64,
    invoice: Option<(String, String)>,
    retry: bool,
}

impl EntryRow {
    fn of(e: &IntakeEntry) -> Self {
        EntryRow {
            id: e.id.to_string(),
            received: fmt_time(e.received_at),
            topic: e.topic.clone(),
            order: e.woo_order_id.clone().unwrap_or_default(),
            delivery: e.delivery_id.clone().unwrap_or_default(),
            status: e.status.clone(),
            reason: e.reason.clone().unwrap_or_default(),
            attempts: e.attempts,
            invoice: e.invoice_id.map(|i| (i.to_string(), e.invoice_number.clone().unwrap_or_else(|| "draft".into()))),
            retry: e.status != "ok",
        }
    }
}

#[derive(Template)]
#[template(path = "woocommerce_connection.html")]
struct ShowPage {
    layout: Layout,
    c: Connection,
    id: String,
    webhook_url: String,
    fields: Fields,
    errors: FormErrors,
    can_edit: bool,
    warehouses: Choices,
    taxes: Choices,
    entries: Vec<EntryRow>,
    status: String,
    notice: Option<String>,
}

async fn show_page(
    app: &AppState,
    auth: &PageAuth,
    headers: &HeaderMap,
    id: &str,
    typed: Option<(Fields, FormErrors)>,
    notice: Option<String>,
    status_filter: Option<String>,
) -> PageResult {
    let p = &auth.principal;
    let key = crate::api::parse_id("WooCommerce connection", id)?;
    let mut tx = app.db.read().await?;
    let c = woocommerce::get(&mut tx, p.tenant_id, key)
        .await?
        .ok_or_else(|| ApiError::not_found("WooCommerce connection"))?;
    let q = IntakeQuery { status: status_filter.clone(), before: None, limit: 100 };
    let entries = woocommerce::intake(&mut tx, &c, &q).await?;
    tx.commit().await?;
    let (warehouses, taxes) = choices(app, p.tenant_id).await?;
    let code = typed.as_ref().map_or(axum::http::StatusCode::OK, |(_, e)| e.status());
    let (fields, errors) = typed.unwrap_or_else(|| (Fields::of(&c), FormErrors::default()));
    let page = ShowPage {
        layout: auth.layout("woocommerce"),
        id: c.id.to_string(),
        webhook_url: format!("{}{}", origin(headers), c.webhook_path),
        fields,
        errors,
        can_edit: p.scope_for(T, Action::Update).is_some(),
        warehouses,
        taxes,
        entries: entries.iter().map(EntryRow::of).collect(),
        status: status_filter.unwrap_or_default(),
        notice,
        c,
    };
    Ok((code, render(&page)).into_response())
}

/// Filter of the intake log on the page.
#[derive(Debug, serde::Deserialize)]
struct LogFilter {
    status: Option<String>,
}

/// `GET /integrations/woocommerce/{id}` (`?status=failed` shows only those).
async fn show(
    State(app): State<AppState>,
    auth: PageAuth,
    headers: HeaderMap,
    Path(id): Path<String>,
    axum::extract::Query(f): axum::extract::Query<LogFilter>,
) -> PageResult {
    require_page(&auth.principal, T, Action::Read)?;
    let status = f.status.filter(|s| matches!(s.as_str(), "ok" | "failed" | "duplicate" | "ignored"));
    show_page(&app, &auth, &headers, &id, None, None, status).await
}

/// `POST /integrations/woocommerce/{id}`: saves the settings (a blank secret keeps the current one).
async fn update(
    State(app): State<AppState>,
    auth: PageAuth,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> PageResult {
    let p = &auth.principal;
    require_page(p, T, Action::Update)?;
    let form = FormData::parse(&body);
    let fields = Fields::from_form(&form);
    let mut errors = FormErrors::default();
    let warehouse_id = fields.warehouse(&mut errors);
    let tax_map = fields.pairs(&mut errors);
    if !errors.is_empty() {
        return show_page(&app, &auth, &headers, &id, Some((fields, errors)), None, None).await;
    }
    let key = crate::api::parse_id("WooCommerce connection", &id)?;
    let secret = form.get("secret");
    let mut tx = app.db.write().await?;
    let before = woocommerce::get(&mut tx, p.tenant_id, key)
        .await?
        .ok_or_else(|| ApiError::not_found("WooCommerce connection"))?;
    let patch = ConnectionPatch {
        name: Some(fields.name.clone()),
        url: Some(fields.url.clone()),
        secret: Some(secret).filter(|s| !s.trim().is_empty()),
        warehouse_id: Some(warehouse_id),
        tax_map: Some(tax_map),
    };
    let version = Some(form.version()).filter(|v| *v > 0);
    match woocommerce::update(&mut tx, &actor_of(p), &before, version, patch).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/integrations/woocommerce/{id}")).into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            let errors = super::form_errors(e)?;
            show_page(&app, &auth, &headers, &id, Some((fields, errors)), None, None).await
        }
    }
}

/// `POST /integrations/woocommerce/{id}/delete`.
async fn delete(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    let p = &auth.principal;
    require_page(p, T, Action::Delete)?;
    let key = crate::api::parse_id("WooCommerce connection", &id)?;
    let mut tx = app.db.write().await?;
    let before = woocommerce::get(&mut tx, p.tenant_id, key)
        .await?
        .ok_or_else(|| ApiError::not_found("WooCommerce connection"))?;
    woocommerce::delete(&mut tx, &actor_of(p), &before, None).await?;
    tx.commit().await?;
    Ok(Redirect::to("/integrations/woocommerce").into_response())
}

/// `POST /integrations/woocommerce/{id}/intake/{entry}/retry`.
async fn retry(
    State(app): State<AppState>,
    auth: PageAuth,
    headers: HeaderMap,
    Path((id, entry)): Path<(String, String)>,
) -> PageResult {
    let p = &auth.principal;
    require_page(p, T, Action::Update)?;
    let key = crate::api::parse_id("WooCommerce connection", &id)?;
    let entry = crate::api::parse_id("intake entry", &entry)?;
    let mut tx = app.db.write().await?;
    let c = woocommerce::get(&mut tx, p.tenant_id, key)
        .await?
        .ok_or_else(|| ApiError::not_found("WooCommerce connection"))?;
    let e = woocommerce::get_entry(&mut tx, &c, entry).await?.ok_or_else(|| ApiError::not_found("intake entry"))?;
    let e = woocommerce::retry(&mut tx, &c, &e).await?;
    tx.commit().await?;
    let notice =
        format!("Run again: {}{}", e.status, e.reason.as_deref().map(|r| format!(" — {r}")).unwrap_or_default());
    show_page(&app, &auth, &headers, &id, None, Some(notice), None).await
}
