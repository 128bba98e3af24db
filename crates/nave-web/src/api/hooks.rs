//! Connector platforms (Zapier, Make; ADR 0016): REST-hook subscribe and
//! unsubscribe (`/api/v1/hooks`), hook samples, and polling triggers
//! (`/api/v1/triggers/{name}`).
//!
//! A REST hook is a webhook subscription of kind `rest_hook`, owned by the
//! calling token's user and carrying its system (so the connector's own
//! writes are not sent back): the same worker delivers it, with the same
//! retries, order per record and delivery log. Any user may subscribe to the
//! events of records they may read; deliveries are cut to what the owner may
//! see, like the change feed. A trigger lists the newest records, newest
//! first, as flat objects (`crate::connectors`), within the caller's record
//! scope and field security; a hook's deliveries have the same shape.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use nave_domain::access::{Action, RecordType};
use nave_domain::document::DocType;
use nave_store::accounts::Visibility;
use nave_store::triggers::{self, Trigger};
use nave_store::webhooks::{self, Kind, NewSubscription};
use nave_store::{accounts, contacts, documents, payments};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::parse_id;
use crate::begin_write;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiAuth, ApiWrite, NoBody, Query};
use crate::present::present;
use crate::state::AppState;

/// A REST-hook subscription, as a connector platform sends it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HookRequest {
    /// Where each event is POSTed (http or https; never this server).
    #[schema(example = "https://hooks.zapier.com/hooks/standard/123/abc")]
    pub target_url: String,
    /// An event type of the event log (`account.created`, `invoice.updated`,
    /// `payment.created`, …) or `invoice.issued`.
    #[schema(example = "invoice.issued")]
    pub event: String,
}

/// A REST hook.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Hook {
    /// The id to unsubscribe with (`DELETE /hooks/{id}`).
    pub id: String,
    pub target_url: String,
    pub event: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// The record type of a hook's event, or 422 naming `event`.
fn event_record_type(event: &str) -> ApiResult<(String, RecordType)> {
    let event = event.trim().to_ascii_lowercase();
    let bad = || {
        ApiError::invalid(
            "event",
            "must be an event type such as account.created, invoice.updated, payment.created or invoice.issued",
        )
    };
    let clean = webhooks::clean_event_types(std::slice::from_ref(&event)).map_err(|_| bad())?;
    if !event.contains('.') || clean.len() != 1 {
        return Err(bad());
    }
    let rt = event.split('.').next().and_then(|r| r.parse::<RecordType>().ok()).ok_or_else(bad)?;
    Ok((event, rt))
}

#[utoipa::path(post, path = "/hooks", tag = "connectors", request_body = HookRequest,
    description = "Subscribes a REST hook (Zapier, Make): each event of this type on a record the caller may read is \
        POSTed to `target_url` as the record itself, a flat JSON object shaped like the polling triggers' items. \
        A receiver answering 410 Gone removes the hook.",
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    responses((status = 201, body = Hook), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn subscribe_hook(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<HookRequest>,
) -> ApiResult<Response> {
    let (event, rt) = event_record_type(&req.body.event)?;
    auth.require(rt, Action::Read)?;
    let url =
        crate::webhooks::check_url(&req.body.target_url, app.listen_addr.get().copied()).await.map_err(|e| match e
            .errors
            .first()
        {
            Some(f) => ApiError::invalid("target_url", f.message.clone()),
            None => e,
        })?;
    let mut w = begin_write!(app, auth, req);
    let new = NewSubscription {
        kind: Kind::RestHook,
        url,
        description: Some(format!("REST hook: {event}")),
        event_types: vec![event.clone()],
        active: true,
        system: auth.0.source.clone(),
        secret: None,
        owner_key: auth.0.user_id,
    };
    let sub = webhooks::create(w.tx(), &auth.actor(), new).await?;
    let hook = Hook { id: sub.id.to_string(), target_url: sub.url, event, created_at: sub.created_at };
    w.respond(StatusCode::CREATED, &hook).await
}

#[utoipa::path(delete, path = "/hooks/{id}", tag = "connectors", params(("id" = String, Path)),
    description = "Unsubscribes a REST hook: its owner, or a role that manages webhooks.",
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn unsubscribe_hook(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    let id = parse_id("hook", &id)?;
    let mut w = begin_write!(app, auth, req);
    let sub = webhooks::get(w.tx(), auth.0.tenant_id, id)
        .await?
        .filter(|s| s.kind == Kind::RestHook)
        .filter(|s| s.owner_key == auth.0.user_id || auth.0.scope_for(RecordType::Webhook, Action::Delete).is_some())
        .ok_or_else(|| ApiError::not_found("hook"))?;
    webhooks::delete(w.tx(), &auth.actor(), sub.id, None).await?;
    w.respond(StatusCode::NO_CONTENT, &()).await
}

/// How many items a trigger lists.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TriggerParams {
    /// 1 to 100 (default 50).
    pub limit: Option<i64>,
}

/// A trigger's items as `auth` may see them, newest first.
async fn run_trigger(app: &AppState, auth: &ApiAuth, trigger: Trigger, limit: Option<i64>) -> ApiResult<Vec<Value>> {
    let limit = limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 100"));
    }
    let rt = trigger.record_type();
    let scope = auth.require(rt, Action::Read)?;
    let t = auth.0.tenant_id;
    let mut tx = app.db.read().await?;
    let ids = triggers::newest(&mut tx, t, trigger, Visibility::of(&auth.0, scope), limit).await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let (record, version) = match trigger {
            Trigger::NewAccount | Trigger::UpdatedAccount => match accounts::get(&mut tx, t, id).await? {
                Some(a) => (present(&auth.0, rt, &a)?, a.version),
                None => continue,
            },
            Trigger::NewContact => match contacts::get(&mut tx, t, id).await? {
                Some(c) => (present(&auth.0, rt, &c)?, c.version),
                None => continue,
            },
            Trigger::NewInvoice => match documents::get(&mut tx, t, DocType::Invoice, id).await? {
                Some(d) => (present(&auth.0, rt, &d)?, d.version),
                None => continue,
            },
            Trigger::NewPayment => match payments::get(&mut tx, t, id).await? {
                Some(p) => (present(&auth.0, rt, &p)?, p.version),
                None => continue,
            },
        };
        out.push(crate::connectors::item(&record, trigger.is_change().then_some(version)));
    }
    tx.commit().await?;
    Ok(out)
}

#[utoipa::path(get, path = "/triggers/{name}", tag = "connectors", params(("name" = String, Path,
        description = "`new-account`, `updated-account`, `new-contact`, `new-invoice` (issued) or `new-payment`"), TriggerParams),
    description = "A polling trigger: the newest records, newest first, as a plain JSON array of flat objects with \
        stable ids (connectors deduplicate by `id`; `updated-account` items are changes, with `id` = \
        `{record id}:{version}` and `record_id`). Only records the caller may read, without the fields they may not see.",
    responses((status = 200, description = "Newest first", body = Vec<Object>), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn poll_trigger(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(name): Path<String>,
    Query(q): Query<TriggerParams>,
) -> ApiResult<Json<Vec<Value>>> {
    let trigger = Trigger::parse(&name).ok_or_else(|| ApiError::not_found("trigger"))?;
    Ok(Json(run_trigger(&app, &auth, trigger, q.limit).await?))
}

#[utoipa::path(get, path = "/hooks/sample/{event}", tag = "connectors", params(("event" = String, Path,
        description = "`account.created`, `account.updated`, `contact.created`, `invoice.issued` or `payment.created`"), TriggerParams),
    description = "Sample items of a REST hook's event (what a connector shows while a user sets up a hook): the \
        output of the polling trigger of the same shape.",
    responses((status = 200, description = "Newest first", body = Vec<Object>), (status = 404, body = Problem)))]
pub async fn hook_sample(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(event): Path<String>,
    Query(q): Query<TriggerParams>,
) -> ApiResult<Json<Vec<Value>>> {
    let trigger = Trigger::for_event(&event.to_ascii_lowercase()).ok_or_else(|| {
        ApiError::new(
            nave_domain::error::ErrorCode::NotFound,
            format!(
                "there is no sample for {event}; samples exist for {}",
                Trigger::ALL.iter().map(|t| t.event()).collect::<Vec<_>>().join(", ")
            ),
        )
    })?;
    Ok(Json(run_trigger(&app, &auth, trigger, q.limit).await?))
}
