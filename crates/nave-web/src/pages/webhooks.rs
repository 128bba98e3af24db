//! The webhook pages (admin area): `/webhooks` lists the subscriptions and
//! why any was disabled, `/webhooks/new` adds one, `/webhooks/{id}` edits it
//! (URL, event types, system, active), rotates its secret, and shows its
//! delivery log with a replay button per delivery and a replay of a period.
//! Forms post to the same origin (the CSRF middleware guards them) and carry
//! the record's version.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use nave_domain::access::{Action, RecordType};
use nave_store::webhooks::{self, Delivery, DeliveryQuery, NewSubscription, Subscription, SubscriptionPatch};

use super::{FormData, FormErrors, Layout, PageAuth, PageResult, fmt_time, render, require_page};
use crate::error::ApiError;
use crate::extract::actor_of;
use crate::state::AppState;

const T: RecordType = RecordType::Webhook;

/// Every route of the pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(list).post(create))
        .route("/webhooks/new", get(new_form))
        .route("/webhooks/{id}", get(show).post(update))
        .route("/webhooks/{id}/rotate", post(rotate))
        .route("/webhooks/{id}/delete", post(delete))
        .route("/webhooks/{id}/replay", post(replay_period))
        .route("/webhooks/{id}/deliveries/{delivery}/replay", post(replay_one))
}

/// A subscription as a row of the list.
#[derive(Debug)]
struct Row {
    id: String,
    label: String,
    url: String,
    state: String,
    failures: i64,
    last_success: String,
}

fn label_of(s: &Subscription) -> String {
    if s.description.is_empty() { s.url.clone() } else { s.description.clone() }
}

fn state_of(s: &Subscription) -> String {
    match (&s.disabled_reason, s.active) {
        (Some(r), false) => format!("disabled: {r}"),
        (_, true) => "active".into(),
        (None, false) => "paused".into(),
    }
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<Row>,
    can_create: bool,
}

/// `GET /webhooks`.
async fn list(State(app): State<AppState>, auth: PageAuth) -> PageResult {
    let p = &auth.principal;
    require_page(p, T, Action::Read)?;
    let mut tx = app.db.read().await?;
    let subs = webhooks::list(&mut tx, p.tenant_id).await?;
    tx.commit().await?;
    let rows = subs
        .iter()
        .map(|s| Row {
            id: s.id.to_string(),
            label: label_of(s),
            url: s.url.clone(),
            state: state_of(s),
            failures: s.consecutive_failures,
            last_success: s.last_success_at.map(fmt_time).unwrap_or_else(|| "—".into()),
        })
        .collect();
    let can_create = p.scope_for(T, Action::Create).is_some();
    Ok(render(&ListPage { layout: auth.layout("webhooks"), rows, can_create }).into_response())
}

/// The fields of the subscription form, as typed.
#[derive(Debug, Default)]
struct Fields {
    url: String,
    description: String,
    event_types: String,
    system: String,
    active: bool,
}

impl Fields {
    fn of(s: &Subscription) -> Self {
        Fields {
            url: s.url.clone(),
            description: s.description.clone(),
            event_types: s.event_types.join(", "),
            system: s.system.clone().unwrap_or_default(),
            active: s.active,
        }
    }

    fn from_form(f: &FormData) -> Self {
        Fields {
            url: f.get("url"),
            description: f.get("description"),
            event_types: f.get("event_types"),
            system: f.get("system"),
            active: f.checked("active"),
        }
    }

    fn types(&self) -> Vec<String> {
        self.event_types.split([',', ' ', '\n']).map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect()
    }
}

#[derive(Template)]
#[template(path = "webhook_form.html")]
struct FormPage {
    layout: Layout,
    fields: Fields,
    errors: FormErrors,
}

/// `GET /webhooks/new`.
async fn new_form(auth: PageAuth) -> PageResult {
    require_page(&auth.principal, T, Action::Create)?;
    let fields = Fields { active: true, ..Default::default() };
    Ok(render(&FormPage { layout: auth.layout("webhooks"), fields, errors: FormErrors::default() }).into_response())
}

/// `POST /webhooks`: creates a subscription and opens its page (with the secret).
async fn create(State(app): State<AppState>, auth: PageAuth, body: Bytes) -> PageResult {
    let p = &auth.principal;
    require_page(p, T, Action::Create)?;
    let form = FormData::parse(&body);
    let fields = Fields::from_form(&form);
    let again = |fields: Fields, errors: FormErrors| -> PageResult {
        let status = errors.status();
        Ok((status, render(&FormPage { layout: auth.layout("webhooks"), fields, errors })).into_response())
    };
    let url = match crate::webhooks::check_url(&fields.url, app.listen_addr.get().copied()).await {
        Ok(u) => u,
        Err(e) => return again(fields, super::form_errors(e)?),
    };
    let mut tx = app.db.write().await?;
    let new = NewSubscription {
        kind: nave_store::webhooks::Kind::Webhook,
        url,
        description: Some(fields.description.clone()),
        event_types: fields.types(),
        active: fields.active,
        system: Some(fields.system.clone()),
        secret: None,
        owner_key: p.user_id,
    };
    match webhooks::create(&mut tx, &actor_of(p), new).await {
        Ok(s) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/webhooks/{}", s.id)).into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            again(fields, super::form_errors(e)?)
        }
    }
}

/// A delivery as a row of the log.
#[derive(Debug)]
struct DeliveryRow {
    id: String,
    event_type: String,
    occurred: String,
    status: String,
    attempts: i64,
    response: String,
    last_attempt: String,
    next_attempt: String,
    error: String,
}

impl DeliveryRow {
    fn of(d: &Delivery) -> Self {
        DeliveryRow {
            id: d.id.to_string(),
            event_type: d.event_type.clone(),
            occurred: fmt_time(d.occurred_at),
            status: d.status.clone(),
            attempts: d.attempts,
            response: d.response_status.map(|s| s.to_string()).unwrap_or_default(),
            last_attempt: d.last_attempt_at.map(fmt_time).unwrap_or_default(),
            next_attempt: if d.status == "pending" {
                d.next_attempt_at.map(fmt_time).unwrap_or_default()
            } else {
                String::new()
            },
            error: d.last_error.clone().unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "webhook.html")]
struct ShowPage {
    layout: Layout,
    s: Subscription,
    id: String,
    state: String,
    previous_until: String,
    disabled_on: String,
    fields: Fields,
    errors: FormErrors,
    can_edit: bool,
    deliveries: Vec<DeliveryRow>,
    pending: i64,
    succeeded: i64,
    failed: i64,
    notice: Option<String>,
}

async fn show_page(
    app: &AppState,
    auth: &PageAuth,
    id: &str,
    typed: Option<(Fields, FormErrors)>,
    notice: Option<String>,
) -> PageResult {
    let p = &auth.principal;
    let id = crate::api::parse_id("webhook", id)?;
    let mut tx = app.db.read().await?;
    let s = webhooks::get(&mut tx, p.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("webhook"))?;
    let list =
        webhooks::deliveries(&mut tx, p.tenant_id, s.key, &DeliveryQuery { limit: 50, ..Default::default() }).await?;
    let (pending, succeeded, failed) = webhooks::counts(&mut tx, p.tenant_id, s.key).await?;
    tx.commit().await?;
    let status = typed.as_ref().map_or(axum::http::StatusCode::OK, |(_, e)| e.status());
    let (fields, errors) = typed.unwrap_or_else(|| (Fields::of(&s), FormErrors::default()));
    let view = ShowPage {
        layout: auth.layout("webhooks"),
        id: s.id.to_string(),
        state: state_of(&s),
        previous_until: s
            .previous_secret_until
            .filter(|u| *u > nave_store::db::now())
            .map(fmt_time)
            .unwrap_or_default(),
        disabled_on: s.disabled_at.map(fmt_time).unwrap_or_default(),
        fields,
        errors,
        can_edit: p.scope_for(T, Action::Update).is_some(),
        deliveries: list.iter().map(DeliveryRow::of).collect(),
        pending,
        succeeded,
        failed,
        notice,
        s,
    };
    Ok((status, render(&view)).into_response())
}

/// `GET /webhooks/{id}`.
async fn show(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    require_page(&auth.principal, T, Action::Read)?;
    show_page(&app, &auth, &id, None, None).await
}

/// `POST /webhooks/{id}`: saves the form (the active box pauses, resumes or re-enables).
async fn update(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>, body: Bytes) -> PageResult {
    let p = &auth.principal;
    require_page(p, T, Action::Update)?;
    let form = FormData::parse(&body);
    let fields = Fields::from_form(&form);
    let url = match crate::webhooks::check_url(&fields.url, app.listen_addr.get().copied()).await {
        Ok(u) => u,
        Err(e) => {
            let errors = super::form_errors(e)?;
            return show_page(&app, &auth, &id, Some((fields, errors)), None).await;
        }
    };
    let key = crate::api::parse_id("webhook", &id)?;
    let mut tx = app.db.write().await?;
    let patch = SubscriptionPatch {
        url: Some(url),
        description: Some(fields.description.clone()),
        event_types: Some(fields.types()),
        active: Some(fields.active),
        system: Some(Some(fields.system.clone())),
    };
    let version = Some(form.version()).filter(|v| *v > 0);
    match webhooks::update(&mut tx, &actor_of(p), key, version, patch).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/webhooks/{id}")).into_response())
        }
        Err(e) => {
            tx.rollback().await?;
            let e: ApiError = e.into();
            if e.code == nave_domain::error::ErrorCode::NotFound {
                return Err(e.into());
            }
            let errors = super::form_errors(e)?;
            show_page(&app, &auth, &id, Some((fields, errors)), None).await
        }
    }
}

/// `POST /webhooks/{id}/rotate`: a new secret; the old one signs too for 24 hours.
async fn rotate(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    let p = &auth.principal;
    require_page(p, T, Action::Update)?;
    let key = crate::api::parse_id("webhook", &id)?;
    let mut tx = app.db.write().await?;
    webhooks::rotate_secret(&mut tx, &actor_of(p), key, None, None, webhooks::DEFAULT_OVERLAP).await?;
    tx.commit().await?;
    let notice = "A new secret is in use. The previous one signs too (a second signature) for 24 hours: \
                  give the receiver the new secret before then.";
    show_page(&app, &auth, &id, None, Some(notice.into())).await
}

/// `POST /webhooks/{id}/delete`.
async fn delete(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>) -> PageResult {
    let p = &auth.principal;
    require_page(p, T, Action::Delete)?;
    let key = crate::api::parse_id("webhook", &id)?;
    let mut tx = app.db.write().await?;
    webhooks::delete(&mut tx, &actor_of(p), key, None).await?;
    tx.commit().await?;
    Ok(Redirect::to("/webhooks").into_response())
}

/// `POST /webhooks/{id}/deliveries/{delivery}/replay`.
async fn replay_one(
    State(app): State<AppState>,
    auth: PageAuth,
    Path((id, delivery)): Path<(String, String)>,
) -> PageResult {
    let p = &auth.principal;
    require_page(p, T, Action::Update)?;
    let key = crate::api::parse_id("webhook", &id)?;
    let delivery = crate::api::parse_id("delivery", &delivery)?;
    let mut tx = app.db.write().await?;
    let s = webhooks::get(&mut tx, p.tenant_id, key).await?.ok_or_else(|| ApiError::not_found("webhook"))?;
    webhooks::replay(&mut tx, p.tenant_id, s.key, delivery).await?;
    tx.commit().await?;
    show_page(&app, &auth, &id, None, Some("The delivery will be sent again shortly.".into())).await
}

/// `POST /webhooks/{id}/replay`: every delivery of events in a period, again.
async fn replay_period(State(app): State<AppState>, auth: PageAuth, Path(id): Path<String>, body: Bytes) -> PageResult {
    let p = &auth.principal;
    require_page(p, T, Action::Update)?;
    let form = FormData::parse(&body);
    let bounds = crate::api::events::parse_bound("from", Some(&form.get("from")), false).and_then(|from| {
        crate::api::events::parse_bound("until", Some(&form.get("until")), true).map(|until| (from, until))
    });
    let (from, until) = match bounds {
        Ok((Some(f), Some(u))) if u > f => (f, u),
        Ok(_) => {
            let notice = "Give a period: from and until (dates or times), until after from.";
            return show_page(&app, &auth, &id, None, Some(notice.into())).await;
        }
        Err(e) => return show_page(&app, &auth, &id, None, Some(e.detail)).await,
    };
    let key = crate::api::parse_id("webhook", &id)?;
    let mut tx = app.db.write().await?;
    let s = webhooks::get(&mut tx, p.tenant_id, key).await?.ok_or_else(|| ApiError::not_found("webhook"))?;
    let n = webhooks::replay_period(&mut tx, p.tenant_id, s.key, from, until).await?;
    tx.commit().await?;
    show_page(&app, &auth, &id, None, Some(format!("{n} deliveries will be sent again shortly."))).await
}
