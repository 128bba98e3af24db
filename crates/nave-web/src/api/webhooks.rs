//! `/api/v1/webhooks`: subscriptions to the event log, delivered by the
//! background worker (`crate::webhooks`) per Standard Webhooks; their delivery
//! logs and replays. Only roles with the `webhook` permission (the admin) see
//! or change them. The secret is shown on create, on a single read and after
//! a rotation; never in lists, audit entries or events.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use nave_domain::access::{Action, RecordType};
use nave_store::webhooks::{self, Delivery, DeliveryQuery, NewSubscription, Subscription, SubscriptionPatch};
use serde::{Deserialize, Serialize};

use super::{double_option, parse_id};
use crate::begin_write;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiAuth, ApiWrite, NoBody, Query};
use crate::state::AppState;

const T: RecordType = RecordType::Webhook;

/// A subscription with its signing secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub subscription: Subscription,
    /// `whsec_` + base64: the key of the `webhook-signature` HMAC is the base64-decoded part.
    pub secret: String,
}

impl WebhookWithSecret {
    fn of(s: Subscription) -> Self {
        let secret = s.secret.clone();
        WebhookWithSecret { subscription: s, secret }
    }
}

/// Schema of a subscription list (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct WebhookList {
    data: Vec<Subscription>,
    next: Option<String>,
}

#[utoipa::path(get, path = "/webhooks", tag = "webhooks",
    responses((status = 200, description = "Every subscription (without secrets)", body = inline(WebhookList)),
        (status = 403, body = Problem)))]
pub async fn list_webhooks(State(app): State<AppState>, auth: ApiAuth) -> ApiResult<Json<serde_json::Value>> {
    auth.require(T, Action::Read)?;
    let mut tx = app.db.read().await?;
    let list = webhooks::list(&mut tx, auth.0.tenant_id).await?;
    tx.commit().await?;
    Ok(Json(serde_json::json!({ "data": list, "next": null })))
}

/// A new subscription.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// http or https; never this server itself.
    #[schema(example = "https://erp.example.com/nave/webhooks")]
    pub url: String,
    pub description: Option<String>,
    /// Record types (`account`) or event types (`invoice.created`); empty or absent = every event.
    #[serde(default)]
    pub event_types: Vec<String>,
    /// Default true.
    pub active: Option<bool>,
    /// The connector's system (as its API token's `source_system`): its own changes are not sent back.
    pub system: Option<String>,
    /// `whsec_` + base64 of 24 to 64 bytes; absent = a random one.
    pub secret: Option<String>,
}

async fn find(tx: &mut nave_store::Tx, tenant_id: i64, id: &str) -> ApiResult<Subscription> {
    webhooks::get(tx, tenant_id, parse_id("webhook", id)?).await?.ok_or_else(|| ApiError::not_found("webhook"))
}

#[utoipa::path(post, path = "/webhooks", tag = "webhooks", request_body = CreateWebhookRequest,
    responses((status = 201, body = WebhookWithSecret), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_webhook(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<CreateWebhookRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Create)?;
    let url = crate::webhooks::check_url(&req.body.url, app.listen_addr.get().copied()).await?;
    let mut w = begin_write!(app, auth, req);
    let b = &req.body;
    let new = NewSubscription {
        kind: nave_store::webhooks::Kind::Webhook,
        url,
        description: b.description.clone(),
        event_types: b.event_types.clone(),
        active: b.active.unwrap_or(true),
        system: b.system.clone(),
        secret: b.secret.clone(),
        owner_key: auth.0.user_id,
    };
    let sub = webhooks::create(w.tx(), &auth.actor(), new).await?;
    w.respond(StatusCode::CREATED, &WebhookWithSecret::of(sub)).await
}

#[utoipa::path(get, path = "/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = WebhookWithSecret), (status = 404, body = Problem)))]
pub async fn get_webhook(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<WebhookWithSecret>> {
    auth.require(T, Action::Read)?;
    let mut tx = app.db.read().await?;
    let sub = find(&mut tx, auth.0.tenant_id, &id).await?;
    tx.commit().await?;
    Ok(Json(WebhookWithSecret::of(sub)))
}

/// Changes to a subscription; absent fields stay.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookRequest {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    /// `true` on a disabled subscription enables it again: it carries on where it stopped.
    pub active: Option<bool>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub system: Option<Option<String>>,
}

#[utoipa::path(patch, path = "/webhooks/{id}", tag = "webhooks", request_body = UpdateWebhookRequest,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = Subscription), (status = 404, body = Problem), (status = 412, body = Problem),
        (status = 422, body = Problem)))]
pub async fn update_webhook(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<UpdateWebhookRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Update)?;
    let id = parse_id("webhook", &id)?;
    let url = match &req.body.url {
        Some(u) => Some(crate::webhooks::check_url(u, app.listen_addr.get().copied()).await?),
        None => None,
    };
    let mut w = begin_write!(app, auth, req);
    let b = &req.body;
    let patch = SubscriptionPatch {
        url,
        description: b.description.clone(),
        event_types: b.event_types.clone(),
        active: b.active,
        system: b.system.clone(),
    };
    let sub = webhooks::update(w.tx(), &auth.actor(), id, req.if_match, patch).await?;
    w.respond(StatusCode::OK, &sub).await
}

#[utoipa::path(delete, path = "/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_webhook(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    auth.require(T, Action::Delete)?;
    let id = parse_id("webhook", &id)?;
    let mut w = begin_write!(app, auth, req);
    webhooks::delete(w.tx(), &auth.actor(), id, req.if_match).await?;
    w.respond(StatusCode::NO_CONTENT, &()).await
}

/// A secret rotation.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecretRequest {
    /// The new secret; absent = a random one.
    pub secret: Option<String>,
    /// How long the old secret keeps signing (a second signature), 0 to 168 hours; default 24.
    pub overlap_hours: Option<i64>,
}

#[utoipa::path(post, path = "/webhooks/{id}/rotate-secret", tag = "webhooks", request_body = RotateSecretRequest,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = WebhookWithSecret), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn rotate_webhook_secret(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<RotateSecretRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Update)?;
    let id = parse_id("webhook", &id)?;
    let mut w = begin_write!(app, auth, req);
    let hours = req.body.overlap_hours.unwrap_or(24);
    if !(0..=168).contains(&hours) {
        return Err(ApiError::invalid("overlap_hours", "must be between 0 and 168"));
    }
    let secret = req.body.secret.clone();
    let sub =
        webhooks::rotate_secret(w.tx(), &auth.actor(), id, req.if_match, secret, time::Duration::hours(hours)).await?;
    w.respond(StatusCode::OK, &WebhookWithSecret::of(sub)).await
}

/// Filters of a delivery log.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryFilter {
    /// `pending`, `succeeded` or `failed`.
    pub status: Option<String>,
    /// The `next` value of the previous page.
    pub after: Option<String>,
    /// 1 to 200 (default 50).
    pub limit: Option<i64>,
}

/// Schema of a delivery list (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct WebhookDeliveryList {
    data: Vec<Delivery>,
    next: Option<String>,
}

#[utoipa::path(get, path = "/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = String, Path), DeliveryFilter),
    responses((status = 200, description = "The delivery log, newest event first", body = inline(WebhookDeliveryList)),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn list_webhook_deliveries(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    Query(f): Query<DeliveryFilter>,
) -> ApiResult<Json<serde_json::Value>> {
    auth.require(T, Action::Read)?;
    if let Some(s) = &f.status
        && !matches!(s.as_str(), "pending" | "succeeded" | "failed")
    {
        return Err(ApiError::invalid("status", "must be pending, succeeded or failed"));
    }
    let before = match f.after.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            s.parse::<i64>().map_err(|_| ApiError::invalid("after", "must be the `next` value of a previous page"))?,
        ),
    };
    let limit = f.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 200"));
    }
    let mut tx = app.db.read().await?;
    let sub = find(&mut tx, auth.0.tenant_id, &id).await?;
    let list =
        webhooks::deliveries(&mut tx, auth.0.tenant_id, sub.key, &DeliveryQuery { status: f.status, before, limit })
            .await?;
    tx.commit().await?;
    let next = (list.len() as i64 == limit).then(|| list.last().map(|d| d.event_position.to_string())).flatten();
    Ok(Json(serde_json::json!({ "data": list, "next": next })))
}

#[utoipa::path(post, path = "/webhooks/{id}/deliveries/{delivery}/replay", tag = "webhooks",
    params(("id" = String, Path), ("delivery" = String, Path)),
    responses((status = 200, description = "The delivery, pending again", body = Delivery), (status = 404, body = Problem)))]
pub async fn replay_webhook_delivery(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path((id, delivery)): Path<(String, String)>,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    auth.require(T, Action::Update)?;
    let delivery = parse_id("delivery", &delivery)?;
    let mut w = begin_write!(app, auth, req);
    let sub = find(w.tx(), auth.0.tenant_id, &id).await?;
    let d = webhooks::replay(w.tx(), auth.0.tenant_id, sub.key, delivery).await?;
    w.respond(StatusCode::OK, &d).await
}

/// A period of events whose deliveries to send again.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookReplayRequest {
    /// RFC 3339 or a date (its start): events that happened at or after it.
    pub from: String,
    /// RFC 3339 or a date (its end): events that happened before it.
    pub until: String,
}

/// How many deliveries a replay queued.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookReplayResult {
    pub replayed: u64,
}

#[utoipa::path(post, path = "/webhooks/{id}/replay", tag = "webhooks", request_body = WebhookReplayRequest,
    params(("id" = String, Path)),
    responses((status = 200, body = WebhookReplayResult), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn replay_webhook_period(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<WebhookReplayRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Update)?;
    let from = super::events::parse_bound("from", Some(&req.body.from), false)?
        .ok_or_else(|| ApiError::invalid("from", "is required"))?;
    let until = super::events::parse_bound("until", Some(&req.body.until), true)?
        .ok_or_else(|| ApiError::invalid("until", "is required"))?;
    if until <= from {
        return Err(ApiError::invalid("until", "must be after from"));
    }
    let mut w = begin_write!(app, auth, req);
    let sub = find(w.tx(), auth.0.tenant_id, &id).await?;
    let n = webhooks::replay_period(w.tx(), auth.0.tenant_id, sub.key, from, until).await?;
    w.respond(StatusCode::OK, &WebhookReplayResult { replayed: n }).await
}
