//! Webhooks: subscriptions, their deliveries, and the rules of the delivery
//! worker that the store keeps (ADR 0013).
//!
//! - A subscription has a cursor into the event log. A worker pass turns the
//!   events after it into delivery rows (those the subscription's filters and
//!   its owner's read access let through) and moves the cursor, in one
//!   transaction: an event becomes exactly one delivery per subscription.
//! - A pending delivery is sent when it is due and no earlier delivery of the
//!   same record is still pending on that subscription: order per record, not
//!   per subscription, so one failing record holds back only itself.
//! - Before sending, the worker leases a delivery (its `next_attempt_at` moves a
//!   little past the send timeout). A worker that dies mid-send leaves it
//!   pending; it is sent again once the lease ends. At least once.
//! - A failure is retried after [`RETRY_DELAYS`]; a delivery that fails the last
//!   retry (about a day of failures) is `failed` and disables its subscription,
//!   and so does a `410 Gone`. Disabling writes an audit entry and shows on the
//!   owner's home page and the webhook's page.
//! - Signatures follow Standard Webhooks: [`sign`].
//! - A subscription is a Standard Webhooks subscription or a connector
//!   platform's REST hook ([`Kind`], ADR 0016): same deliveries, retries and
//!   log; a REST hook gets the record itself as its body and is deleted, not
//!   disabled, when its receiver answers `410 Gone`. A REST hook may ask for
//!   `invoice.issued`: the `invoice.updated` event by which an invoice got its
//!   number.

use std::collections::HashSet;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use nave_domain::DomainError;
use nave_domain::access::{Principal, RecordType};
use nave_domain::ids::PublicId;
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::audit::{self, Actor};
use crate::db::{Arg, DbRow, Tx, now};
use crate::events::Event;
use crate::feed::{self, FeedQuery};
use crate::{StoreResult, args, expect_version, roles, users};

/// How long after the previous failure each retry comes: the n-th failure of a
/// delivery waits `RETRY_DELAYS[n - 1]`; after the last one the delivery has failed.
/// Together about 22 hours, so a receiver down for most of a day misses nothing.
pub const RETRY_DELAYS: [Duration; 8] = [
    Duration::seconds(5),
    Duration::seconds(30),
    Duration::minutes(2),
    Duration::minutes(10),
    Duration::hours(1),
    Duration::hours(3),
    Duration::hours(6),
    Duration::hours(12),
];

/// How long the previous secret keeps signing after a rotation, by default.
pub const DEFAULT_OVERLAP: Duration = Duration::hours(24);

/// The wait before the next attempt of a delivery that has failed `attempts`
/// times, or `None` when it has failed for good.
pub fn retry_delay(attempts: i64) -> Option<Duration> {
    usize::try_from(attempts).ok().and_then(|n| n.checked_sub(1)).and_then(|i| RETRY_DELAYS.get(i).copied())
}

// ---------------------------------------------------------------------------
// Signatures (Standard Webhooks)

/// HMAC-SHA256 (RFC 2104) over the `sha2` the store already uses.
pub(crate) fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut ipad = [0x36u8; BLOCK];
    let mut opad = [0x5cu8; BLOCK];
    for i in 0..BLOCK {
        ipad[i] ^= k[i];
        opad[i] ^= k[i];
    }
    let inner = Sha256::new().chain_update(ipad).chain_update(msg).finalize();
    Sha256::new().chain_update(opad).chain_update(inner).finalize().into()
}

/// The key bytes of a `whsec_…` secret, or why it is not one.
pub fn secret_key(secret: &str) -> Result<Vec<u8>, &'static str> {
    let b = secret.strip_prefix("whsec_").ok_or("must start with whsec_")?;
    let key = B64.decode(b).map_err(|_| "must be whsec_ followed by base64")?;
    if !(24..=64).contains(&key.len()) {
        return Err("must hold 24 to 64 bytes of key");
    }
    Ok(key)
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` keyed with the secret's bytes.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> Result<String, &'static str> {
    let key = secret_key(secret)?;
    let mut msg = format!("{msg_id}.{timestamp}.").into_bytes();
    msg.extend_from_slice(body);
    Ok(format!("v1,{}", B64.encode(hmac_sha256(&key, &msg))))
}

/// A new secret: `whsec_` and 32 random bytes in base64.
pub fn generate_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("whsec_{}", B64.encode(bytes))
}

// ---------------------------------------------------------------------------
// Subscriptions

/// What a subscription is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = WebhookKind)]
pub enum Kind {
    /// A Standard Webhooks subscription: the event envelope, signed.
    #[default]
    Webhook,
    /// A connector platform's REST hook (Zapier, Make): the record itself as
    /// a flat object; a `410 Gone` deletes it.
    RestHook,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Webhook => "webhook",
            Kind::RestHook => "rest_hook",
        }
    }
}

/// The derived event a REST hook may ask for: an invoice issued.
pub const INVOICE_ISSUED: &str = "invoice.issued";

/// A webhook subscription as the API shows it (never with its secrets: the
/// API adds the current secret where the admin asks for it; audit entries and
/// events never carry one).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = WebhookSubscription)]
pub struct Subscription {
    #[serde(skip)]
    pub key: i64,
    #[schema(value_type = String)]
    pub id: PublicId,
    /// `webhook` (Standard Webhooks) or `rest_hook` (a connector platform's REST hook).
    pub kind: Kind,
    /// Where events are POSTed (http or https).
    pub url: String,
    pub description: String,
    /// Event types (`invoice.created`) or record types (`account`: all its events); empty = every event.
    pub event_types: Vec<String>,
    /// Sends events while true; a disabled subscription is inactive with `disabled_reason`.
    pub active: bool,
    /// The connector's system: events caused by writes of this system are not sent back to it.
    pub system: Option<String>,
    /// Who manages it; events are sent as this user may read them, and they are told when it is disabled.
    #[schema(value_type = String)]
    pub owner_id: PublicId,
    pub owner_name: String,
    /// Failed attempts since the last success.
    pub consecutive_failures: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub failing_since: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_success_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub disabled_at: Option<OffsetDateTime>,
    pub disabled_reason: Option<String>,
    /// Until then deliveries carry a second signature made with the previous secret.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub previous_secret_until: Option<OffsetDateTime>,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
    #[serde(skip)]
    pub secret: String,
    #[serde(skip)]
    pub previous_secret: Option<String>,
    #[serde(skip)]
    pub owner_key: i64,
    #[serde(skip)]
    pub cursor: i64,
}

impl Subscription {
    /// The secrets that sign a delivery at `at`: the current one, and the
    /// previous one during the overlap after a rotation.
    pub fn signing_secrets(&self, at: OffsetDateTime) -> Vec<&str> {
        let mut s = vec![self.secret.as_str()];
        if let (Some(p), Some(until)) = (&self.previous_secret, self.previous_secret_until)
            && at < until
        {
            s.push(p);
        }
        s
    }

    /// Does an event of `event_type` (`account.updated`) pass the type filter?
    pub fn wants(&self, event_type: &str) -> bool {
        let record_type = event_type.split('.').next().unwrap_or(event_type);
        self.event_types.is_empty() || self.event_types.iter().any(|t| t == event_type || t == record_type)
    }

    /// Does it ask for issued invoices (a derived event, checked per event)?
    pub fn wants_issued(&self) -> bool {
        self.event_types.iter().any(|t| t == INVOICE_ISSUED)
    }
}

const SELECT: &str = "SELECT s.id, s.public_id, s.kind, s.url, s.description, s.event_types, s.secret, s.previous_secret, \
    s.previous_secret_until, s.active, s.source_system, s.owner_id, u.public_id AS owner_public_id, \
    u.name AS owner_name, s.event_cursor, s.consecutive_failures, s.failing_since, s.last_success_at, s.disabled_at, \
    s.disabled_reason, s.version, s.created_at, s.updated_at FROM webhook_subscriptions s \
    JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.owner_id";

fn decode(r: &dyn DbRow) -> StoreResult<Subscription> {
    let types = r.text("event_types")?;
    Ok(Subscription {
        key: r.i64("id")?,
        id: PublicId::from_uuid(r.uuid("public_id")?),
        kind: if r.text("kind")? == "rest_hook" { Kind::RestHook } else { Kind::Webhook },
        url: r.text("url")?,
        description: r.text("description")?,
        event_types: types.split(',').filter(|t| !t.is_empty()).map(str::to_string).collect(),
        active: r.boolean("active")?,
        system: r.opt_text("source_system")?,
        owner_id: PublicId::from_uuid(r.uuid("owner_public_id")?),
        owner_name: r.text("owner_name")?,
        consecutive_failures: r.i64("consecutive_failures")?,
        failing_since: r.opt_ts("failing_since")?,
        last_success_at: r.opt_ts("last_success_at")?,
        disabled_at: r.opt_ts("disabled_at")?,
        disabled_reason: r.opt_text("disabled_reason")?,
        previous_secret_until: r.opt_ts("previous_secret_until")?,
        version: r.i64("version")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
        secret: r.text("secret")?,
        previous_secret: r.opt_text("previous_secret")?,
        owner_key: r.i64("owner_id")?,
        cursor: r.i64("event_cursor")?,
    })
}

pub async fn list(tx: &mut Tx, tenant_id: i64) -> StoreResult<Vec<Subscription>> {
    tx.fetch_all(format!("{SELECT} WHERE s.tenant_id = $1 ORDER BY s.id"), args![tenant_id], decode).await
}

pub async fn get(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<Option<Subscription>> {
    tx.fetch_optional(format!("{SELECT} WHERE s.tenant_id = $1 AND s.public_id = $2"), args![tenant_id, id], decode)
        .await
}

async fn get_by_key(tx: &mut Tx, tenant_id: i64, key: i64) -> StoreResult<Subscription> {
    tx.fetch_optional(format!("{SELECT} WHERE s.tenant_id = $1 AND s.id = $2"), args![tenant_id, key], decode)
        .await?
        .ok_or_else(|| DomainError::NotFound { record: "webhook" }.into())
}

/// Subscriptions disabled after failures whose owner is `user_key` (for their home page).
pub async fn disabled_for_owner(tx: &mut Tx, tenant_id: i64, user_key: i64) -> StoreResult<Vec<Subscription>> {
    tx.fetch_all(
        format!(
            "{SELECT} WHERE s.tenant_id = $1 AND s.owner_id = $2 AND s.active = FALSE AND s.disabled_at IS NOT NULL \
             ORDER BY s.disabled_at DESC"
        ),
        args![tenant_id, user_key],
        decode,
    )
    .await
}

/// Checks and normalises the event-type filter: each entry a record type or
/// `record_type.created|updated|deleted`.
pub fn clean_event_types(types: &[String]) -> Result<Vec<String>, DomainError> {
    let mut out: Vec<String> = Vec::new();
    for (i, t) in types.iter().enumerate() {
        let t = t.trim().to_ascii_lowercase();
        if t == INVOICE_ISSUED {
            // Derived from `invoice.updated`; offered to REST hooks.
            if !out.contains(&t) {
                out.push(t);
            }
            continue;
        }
        let (rt, kind) = match t.split_once('.') {
            Some((rt, kind)) => (rt, Some(kind)),
            None => (t.as_str(), None),
        };
        let ok =
            rt.parse::<RecordType>().is_ok() && kind.is_none_or(|k| matches!(k, "created" | "updated" | "deleted"));
        if !ok {
            return Err(DomainError::invalid(
                format!("event_types[{i}]"),
                "must be a record type (`account`) or an event type (`account.updated`)",
            ));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

fn clean_system(system: Option<String>) -> Result<Option<String>, DomainError> {
    match system.map(|s| s.trim().to_ascii_lowercase()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) if s.len() <= 50 && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) => Ok(Some(s)),
        Some(_) => Err(DomainError::invalid("system", "must be up to 50 letters, digits, '-', '_' or '.'")),
    }
}

fn clean_secret(secret: Option<String>, field: &str) -> Result<String, DomainError> {
    match secret {
        None => Ok(generate_secret()),
        Some(s) => secret_key(&s).map(|_| s).map_err(|m| DomainError::invalid(field, m)),
    }
}

fn clean_description(d: Option<String>) -> Result<String, DomainError> {
    let d = d.unwrap_or_default().trim().to_string();
    if d.chars().count() > 200 {
        return Err(DomainError::invalid("description", "must be at most 200 characters"));
    }
    Ok(d)
}

/// A new subscription. The URL must already be checked by the caller (it knows
/// the server's own address).
#[derive(Debug, Clone, Default)]
pub struct NewSubscription {
    pub kind: Kind,
    pub url: String,
    pub description: Option<String>,
    pub event_types: Vec<String>,
    pub active: bool,
    pub system: Option<String>,
    /// `None`: a new random secret.
    pub secret: Option<String>,
    pub owner_key: i64,
}

/// The current end of the event log, where a new subscription starts.
async fn log_end(tx: &mut Tx, tenant_id: i64) -> StoreResult<i64> {
    tx.scalar_i64("SELECT COALESCE(MAX(position), 0) AS v FROM events WHERE tenant_id = $1", args![tenant_id]).await
}

/// Creates a subscription; it receives events committed from now on.
pub async fn create(tx: &mut Tx, actor: &Actor, new: NewSubscription) -> StoreResult<Subscription> {
    let t = actor.tenant_id;
    let types = clean_event_types(&new.event_types)?;
    let system = clean_system(new.system)?;
    let secret = clean_secret(new.secret, "secret")?;
    let description = clean_description(new.description)?;
    let id = PublicId::new();
    let at = now();
    // Events this transaction made before (a demo load) come before the subscription too.
    let cursor = log_end(tx, t).await? + tx.events.len() as i64;
    let sql = format!(
        "INSERT INTO webhook_subscriptions (tenant_id, id, public_id, url, description, event_types, secret, active, \
         source_system, owner_id, event_cursor, consecutive_failures, version, created_at, updated_at, kind) \
         VALUES ($1, {}, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, 1, $11, $11, $12)",
        tx.new_id_expr("webhook_subscriptions", "$1")
    );
    tx.execute(
        sql,
        args![
            t,
            id,
            new.url,
            description,
            types.join(","),
            secret,
            new.active,
            system,
            new.owner_key,
            cursor,
            at,
            new.kind.as_str()
        ],
    )
    .await?;
    let sub = get(tx, t, id).await?.ok_or(DomainError::NotFound { record: "webhook" })?;
    audit::created(tx, actor, RecordType::Webhook, id, &sub).await?;
    Ok(sub)
}

/// Changes to a subscription; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct SubscriptionPatch {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub active: Option<bool>,
    /// `Some(None)` clears the system.
    pub system: Option<Option<String>>,
}

/// Updates a subscription. Activating a disabled one clears the reason and the
/// failure counters; it carries on from its cursor, so nothing is skipped.
pub async fn update(
    tx: &mut Tx,
    actor: &Actor,
    id: PublicId,
    if_version: Option<i64>,
    patch: SubscriptionPatch,
) -> StoreResult<Subscription> {
    let t = actor.tenant_id;
    let before = get(tx, t, id).await?.ok_or(DomainError::NotFound { record: "webhook" })?;
    expect_version("webhook", before.version, if_version)?;
    let types = match &patch.event_types {
        Some(list) => clean_event_types(list)?,
        None => before.event_types.clone(),
    };
    let system = match patch.system {
        Some(s) => clean_system(s)?,
        None => before.system.clone(),
    };
    let description = match patch.description {
        Some(d) => clean_description(Some(d))?,
        None => before.description.clone(),
    };
    let active = patch.active.unwrap_or(before.active);
    let reactivated = active && !before.active;
    tx.execute(
        "UPDATE webhook_subscriptions SET url = $3, description = $4, event_types = $5, active = $6, \
         source_system = $7, version = version + 1, updated_at = $8, \
         disabled_at = CASE WHEN $9 THEN NULL ELSE disabled_at END, \
         disabled_reason = CASE WHEN $9 THEN NULL ELSE disabled_reason END, \
         consecutive_failures = CASE WHEN $9 THEN 0 ELSE consecutive_failures END, \
         failing_since = CASE WHEN $9 THEN NULL ELSE failing_since END \
         WHERE tenant_id = $1 AND id = $2",
        args![
            t,
            before.key,
            patch.url.unwrap_or_else(|| before.url.clone()),
            description,
            types.join(","),
            active,
            system,
            now(),
            reactivated
        ],
    )
    .await?;
    let after = get_by_key(tx, t, before.key).await?;
    audit::updated(tx, actor, RecordType::Webhook, id, after.version, &before, &after).await?;
    Ok(after)
}

/// Deletes a subscription and its delivery log.
pub async fn delete(tx: &mut Tx, actor: &Actor, id: PublicId, if_version: Option<i64>) -> StoreResult<()> {
    let before = get(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "webhook" })?;
    expect_version("webhook", before.version, if_version)?;
    tx.execute(
        "DELETE FROM webhook_subscriptions WHERE tenant_id = $1 AND id = $2",
        args![actor.tenant_id, before.key],
    )
    .await?;
    audit::deleted(tx, actor, RecordType::Webhook, id, before.version + 1, &before).await
}

/// Gives a subscription a new secret (`None`: a random one). The old secret
/// keeps signing, as a second signature, for `overlap`, so a receiver can
/// switch without refusing a delivery.
pub async fn rotate_secret(
    tx: &mut Tx,
    actor: &Actor,
    id: PublicId,
    if_version: Option<i64>,
    secret: Option<String>,
    overlap: Duration,
) -> StoreResult<Subscription> {
    let t = actor.tenant_id;
    let before = get(tx, t, id).await?.ok_or(DomainError::NotFound { record: "webhook" })?;
    expect_version("webhook", before.version, if_version)?;
    if overlap < Duration::ZERO || overlap > Duration::days(7) {
        return Err(DomainError::invalid("overlap_hours", "must be between 0 and 168").into());
    }
    let secret = clean_secret(secret, "secret")?;
    if secret == before.secret {
        return Err(DomainError::invalid("secret", "must differ from the current secret").into());
    }
    let at = now();
    tx.execute(
        "UPDATE webhook_subscriptions SET previous_secret = secret, secret = $3, previous_secret_until = $4, \
         version = version + 1, updated_at = $5 WHERE tenant_id = $1 AND id = $2",
        args![t, before.key, secret, at + overlap, at],
    )
    .await?;
    let after = get_by_key(tx, t, before.key).await?;
    audit::updated(tx, actor, RecordType::Webhook, id, after.version, &before, &after).await?;
    Ok(after)
}

// ---------------------------------------------------------------------------
// Deliveries

/// One event sent (or to be sent) to one subscription.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = WebhookDelivery)]
pub struct Delivery {
    #[serde(skip)]
    pub key: i64,
    #[schema(value_type = String)]
    pub id: PublicId,
    /// The event's id: the `webhook-id` header of every attempt.
    #[schema(value_type = String)]
    pub event_id: PublicId,
    pub event_position: i64,
    pub event_type: String,
    #[schema(value_type = String)]
    pub record_id: PublicId,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: OffsetDateTime,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    pub attempts: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_attempt_at: Option<OffsetDateTime>,
    /// The receiver's HTTP status of the last attempt.
    pub response_status: Option<i64>,
    /// Why the last attempt failed (no answer, timeout, status).
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub completed_at: Option<OffsetDateTime>,
}

const DSELECT: &str = "SELECT id, public_id, event_id, event_position, event_type, record_id, occurred_at, status, \
    attempts, next_attempt_at, last_attempt_at, response_status, last_error, created_at, completed_at \
    FROM webhook_deliveries";

fn decode_delivery(r: &dyn DbRow) -> StoreResult<Delivery> {
    Ok(Delivery {
        key: r.i64("id")?,
        id: PublicId::from_uuid(r.uuid("public_id")?),
        event_id: PublicId::from_uuid(r.uuid("event_id")?),
        event_position: r.i64("event_position")?,
        event_type: r.text("event_type")?,
        record_id: PublicId::from_uuid(r.uuid("record_id")?),
        occurred_at: r.ts("occurred_at")?,
        status: r.text("status")?,
        attempts: r.i64("attempts")?,
        next_attempt_at: r.opt_ts("next_attempt_at")?,
        last_attempt_at: r.opt_ts("last_attempt_at")?,
        response_status: r.opt_i64("response_status")?,
        last_error: r.opt_text("last_error")?,
        created_at: r.ts("created_at")?,
        completed_at: r.opt_ts("completed_at")?,
    })
}

/// Filter of a delivery log.
#[derive(Debug, Clone, Default)]
pub struct DeliveryQuery {
    pub status: Option<String>,
    /// Only deliveries of events before this position (paging, newest first).
    pub before: Option<i64>,
    pub limit: i64,
}

/// A subscription's deliveries, newest event first.
pub async fn deliveries(tx: &mut Tx, tenant_id: i64, sub_key: i64, q: &DeliveryQuery) -> StoreResult<Vec<Delivery>> {
    let mut sql = format!("{DSELECT} WHERE tenant_id = $1 AND subscription_id = $2");
    let mut a = args![tenant_id, sub_key];
    if let Some(s) = &q.status {
        a.push(s.as_str().into());
        sql.push_str(&format!(" AND status = ${}", a.len()));
    }
    if let Some(b) = q.before {
        a.push(b.into());
        sql.push_str(&format!(" AND event_position < ${}", a.len()));
    }
    sql.push_str(&format!(" ORDER BY event_position DESC LIMIT {}", q.limit.clamp(1, 200)));
    tx.fetch_all(sql, a, decode_delivery).await
}

pub async fn delivery(tx: &mut Tx, tenant_id: i64, sub_key: i64, id: PublicId) -> StoreResult<Option<Delivery>> {
    tx.fetch_optional(
        format!("{DSELECT} WHERE tenant_id = $1 AND subscription_id = $2 AND public_id = $3"),
        args![tenant_id, sub_key, id],
        decode_delivery,
    )
    .await
}

const REQUEUE: &str = "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $3, \
    completed_at = NULL";

/// Sends one delivery again (whatever its status), from its first attempt.
pub async fn replay(tx: &mut Tx, tenant_id: i64, sub_key: i64, id: PublicId) -> StoreResult<Delivery> {
    let d = delivery(tx, tenant_id, sub_key, id).await?.ok_or(DomainError::NotFound { record: "delivery" })?;
    tx.execute(format!("{REQUEUE} WHERE tenant_id = $1 AND id = $2"), args![tenant_id, d.key, now()]).await?;
    Ok(delivery(tx, tenant_id, sub_key, id).await?.expect("the delivery just updated"))
}

/// Sends again exactly the deliveries of events that happened in `[from, until)`;
/// returns how many.
pub async fn replay_period(
    tx: &mut Tx,
    tenant_id: i64,
    sub_key: i64,
    from: OffsetDateTime,
    until: OffsetDateTime,
) -> StoreResult<u64> {
    tx.execute(
        format!("{REQUEUE} WHERE tenant_id = $1 AND subscription_id = $2 AND occurred_at >= $4 AND occurred_at < $5"),
        args![tenant_id, sub_key, now(), from, until],
    )
    .await
}

// ---------------------------------------------------------------------------
// The worker's side

/// Tenants with an active subscription.
pub async fn tenants_with_active(tx: &mut Tx) -> StoreResult<Vec<i64>> {
    tx.fetch_all("SELECT DISTINCT tenant_id FROM webhook_subscriptions WHERE active = TRUE", vec![], |r| {
        r.i64("tenant_id")
    })
    .await
}

/// The active subscriptions of a tenant.
pub async fn active(tx: &mut Tx, tenant_id: i64) -> StoreResult<Vec<Subscription>> {
    tx.fetch_all(format!("{SELECT} WHERE s.tenant_id = $1 AND s.active = TRUE ORDER BY s.id"), args![tenant_id], decode)
        .await
}

/// The owner of a subscription as a reader of the event log.
pub async fn owner_principal(tx: &mut Tx, tenant_id: i64, sub: &Subscription) -> StoreResult<Principal> {
    let user =
        users::get_by_key(tx, tenant_id, sub.owner_key).await?.ok_or(DomainError::NotFound { record: "user" })?;
    let grants = roles::grants_of(tx, tenant_id, user.role_key).await?;
    Ok(Principal {
        tenant_id,
        user_id: user.key,
        team_id: user.team_key,
        role: user.role,
        grants: std::sync::Arc::new(grants),
        token_id: None,
        source: None,
    })
}

/// Turns up to `batch` events after the subscription's cursor into pending
/// deliveries due at `at`, and moves the cursor past them. Events the owner
/// may not read, of other types, or caused by the subscription's own system
/// are passed over. Returns how many deliveries were made.
pub async fn enqueue(
    tx: &mut Tx,
    tenant_id: i64,
    sub: &Subscription,
    owner: &Principal,
    at: OffsetDateTime,
    batch: i64,
) -> StoreResult<usize> {
    let q = FeedQuery { after: sub.cursor, limit: batch, ..Default::default() };
    let page = feed::read(tx, owner, &q).await?;
    let Some(last) = page.last_position else { return Ok(0) };
    let mut list: Vec<(&Event, &str)> = Vec::new();
    for e in &page.events {
        if sub.system.is_some() && e.source.as_deref().map(str::to_ascii_lowercase) == sub.system {
            continue;
        }
        if sub.wants(&e.event_type) {
            list.push((e, e.event_type.as_str()));
        } else if sub.wants_issued() && e.event_type == "invoice.updated" && issues(tx, tenant_id, e).await? {
            list.push((e, INVOICE_ISSUED));
        }
    }
    for chunk in list.chunks(50) {
        // SQLite: keys counted on from the highest (the write transaction holds every other writer off).
        let base = match tx.dialect() {
            crate::Dialect::Sqlite => Some(
                tx.scalar_i64(
                    "SELECT COALESCE(MAX(id), 0) AS v FROM webhook_deliveries WHERE tenant_id = $1",
                    args![tenant_id],
                )
                .await?,
            ),
            crate::Dialect::Postgres => None,
        };
        let mut a: Vec<Arg> = Vec::new();
        let mut rows = Vec::new();
        for (i, (e, event_type)) in chunk.iter().enumerate() {
            let id = match base {
                Some(b) => crate::db::bind(&mut a, args![b + 1 + i as i64]).join(""),
                None => "DEFAULT".to_string(),
            };
            let ph = crate::db::bind(
                &mut a,
                args![
                    tenant_id,
                    PublicId::new(),
                    sub.key,
                    e.position,
                    e.id,
                    *event_type,
                    e.record_id,
                    e.occurred_at,
                    at
                ],
            );
            rows.push(format!(
                "({}, {id}, {}, {}, {}, {}, {}, {}, {}, 'pending', 0, {}, {})",
                ph[0], ph[1], ph[2], ph[3], ph[4], ph[5], ph[6], ph[7], ph[8], ph[8]
            ));
        }
        tx.execute(
            format!(
                "INSERT INTO webhook_deliveries (tenant_id, id, public_id, subscription_id, event_position, event_id, \
                 event_type, record_id, occurred_at, status, attempts, next_attempt_at, created_at) VALUES {}",
                rows.join(", ")
            ),
            a,
        )
        .await?;
    }
    tx.execute(
        "UPDATE webhook_subscriptions SET event_cursor = $3 WHERE tenant_id = $1 AND id = $2 AND event_cursor < $3",
        args![tenant_id, sub.key, last],
    )
    .await?;
    Ok(list.len())
}

/// Is `e` (an `invoice.updated` event) the one by which the invoice was
/// issued: it has a number and the record's previous event had none?
async fn issues(tx: &mut Tx, tenant_id: i64, e: &Event) -> StoreResult<bool> {
    let numbered = |v: &serde_json::Value| v.get("number").is_some_and(|n| !n.is_null());
    if !numbered(&e.payload) {
        return Ok(false);
    }
    let previous = tx
        .fetch_optional(
            "SELECT position, public_id, event_type, record_type, record_id, version, occurred_at, source, payload \
             FROM events WHERE tenant_id = $1 AND record_id = $2 AND position < $3 ORDER BY position DESC LIMIT 1",
            args![tenant_id, e.record_id, e.position],
            crate::events::decode,
        )
        .await?;
    Ok(previous.is_none_or(|p| !numbered(&p.payload)))
}

/// A delivery leased for sending, with its event.
#[derive(Debug, Clone)]
pub struct Leased {
    pub delivery_key: i64,
    /// The delivery's event type: the event's, or a derived one (`invoice.issued`).
    pub event_type: String,
    pub event: Event,
}

/// Leases the deliveries of a subscription that may be sent at `at`: due, and
/// the first pending one of their record. Their `next_attempt_at` moves to
/// `at + lease`, so a worker that dies while sending leaves them to be sent
/// again then.
pub async fn lease_due(
    tx: &mut Tx,
    tenant_id: i64,
    sub: &Subscription,
    at: OffsetDateTime,
    lease: Duration,
    max: usize,
) -> StoreResult<Vec<Leased>> {
    let pending = tx
        .fetch_all(
            "SELECT id, event_position, record_id, next_attempt_at, event_type FROM webhook_deliveries \
             WHERE tenant_id = $1 AND subscription_id = $2 AND status = 'pending' ORDER BY event_position LIMIT 2000",
            args![tenant_id, sub.key],
            |r| {
                Ok((
                    r.i64("id")?,
                    r.i64("event_position")?,
                    r.uuid("record_id")?,
                    r.opt_ts("next_attempt_at")?,
                    r.text("event_type")?,
                ))
            },
        )
        .await?;
    let mut blocked = HashSet::new();
    let mut due = Vec::new();
    for (key, position, record, next, event_type) in pending {
        // Only the earliest pending delivery of a record may go; the rest wait for it.
        if !blocked.insert(record) {
            continue;
        }
        if next.is_none_or(|n| n <= at) {
            due.push((key, position, event_type));
            if due.len() >= max {
                break;
            }
        }
    }
    if due.is_empty() {
        return Ok(vec![]);
    }
    let mut a = args![tenant_id, at + lease];
    let ph = crate::db::bind(&mut a, due.iter().map(|(k, _, _)| Arg::from(*k)));
    tx.execute(
        format!(
            "UPDATE webhook_deliveries SET next_attempt_at = $2 WHERE tenant_id = $1 AND id IN ({})",
            ph.join(", ")
        ),
        a,
    )
    .await?;
    let mut a = args![tenant_id];
    let ph = crate::db::bind(&mut a, due.iter().map(|(_, p, _)| Arg::from(*p)));
    let events = tx
        .fetch_all(
            format!(
                "SELECT position, public_id, event_type, record_type, record_id, version, occurred_at, source, payload \
                 FROM events WHERE tenant_id = $1 AND position IN ({}) ORDER BY position",
                ph.join(", ")
            ),
            a,
            crate::events::decode,
        )
        .await?;
    Ok(due
        .into_iter()
        .filter_map(|(key, p, event_type)| {
            events.iter().find(|e| e.position == p).map(|e| Leased { delivery_key: key, event_type, event: e.clone() })
        })
        .collect())
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Records an attempt made at `at`: success; or a retry later; or, after the
/// last retry or a `410 Gone`, a failed delivery and the subscription disabled
/// (with an audit entry). Returns the reason when it disabled the subscription.
pub async fn record_attempt(
    tx: &mut Tx,
    tenant_id: i64,
    sub_key: i64,
    delivery_key: i64,
    outcome: &Outcome,
    at: OffsetDateTime,
) -> StoreResult<Option<String>> {
    let attempts = tx
        .fetch_optional(
            "SELECT attempts, status FROM webhook_deliveries WHERE tenant_id = $1 AND id = $2",
            args![tenant_id, delivery_key],
            |r| Ok((r.i64("attempts")?, r.text("status")?)),
        )
        .await?;
    // Deleted with its subscription, or settled by another worker meanwhile: nothing to record.
    let Some((attempts, status)) = attempts else { return Ok(None) };
    if status != "pending" {
        return Ok(None);
    }
    let attempts = attempts + 1;
    let code = outcome.status.map(i64::from);
    let error = outcome.error.as_ref().map(|e| e.chars().take(500).collect::<String>());
    if outcome.succeeded() {
        tx.execute(
            "UPDATE webhook_deliveries SET status = 'succeeded', attempts = $3, last_attempt_at = $4, \
             response_status = $5, last_error = NULL, next_attempt_at = NULL, completed_at = $4 \
             WHERE tenant_id = $1 AND id = $2",
            args![tenant_id, delivery_key, attempts, at, code],
        )
        .await?;
        tx.execute(
            "UPDATE webhook_subscriptions SET consecutive_failures = 0, failing_since = NULL, last_success_at = $3 \
             WHERE tenant_id = $1 AND id = $2",
            args![tenant_id, sub_key, at],
        )
        .await?;
        return Ok(None);
    }
    let gone = outcome.status == Some(410);
    let retry = if gone { None } else { retry_delay(attempts) };
    match retry {
        Some(d) => {
            tx.execute(
                "UPDATE webhook_deliveries SET attempts = $3, last_attempt_at = $4, response_status = $5, \
                 last_error = $6, next_attempt_at = $7 WHERE tenant_id = $1 AND id = $2",
                args![tenant_id, delivery_key, attempts, at, code, error.clone(), at + d],
            )
            .await?;
        }
        None => {
            tx.execute(
                "UPDATE webhook_deliveries SET status = 'failed', attempts = $3, last_attempt_at = $4, \
                 response_status = $5, last_error = $6, next_attempt_at = NULL, completed_at = $4 \
                 WHERE tenant_id = $1 AND id = $2",
                args![tenant_id, delivery_key, attempts, at, code, error.clone()],
            )
            .await?;
        }
    }
    tx.execute(
        "UPDATE webhook_subscriptions SET consecutive_failures = consecutive_failures + 1, \
         failing_since = COALESCE(failing_since, $3) WHERE tenant_id = $1 AND id = $2",
        args![tenant_id, sub_key, at],
    )
    .await?;
    if retry.is_some() {
        return Ok(None);
    }
    if gone && get_by_key(tx, tenant_id, sub_key).await?.kind == Kind::RestHook {
        // A connector platform says the hook is gone: unsubscribe it (ADR 0016).
        let before = get_by_key(tx, tenant_id, sub_key).await?;
        tx.execute("DELETE FROM webhook_subscriptions WHERE tenant_id = $1 AND id = $2", args![tenant_id, sub_key])
            .await?;
        let actor = Actor::system(tenant_id);
        audit::deleted(tx, &actor, RecordType::Webhook, before.id, before.version + 1, &before).await?;
        return Ok(Some("the receiver answered 410 Gone: the REST hook was removed".to_string()));
    }
    let reason = if gone {
        "the receiver answered 410 Gone".to_string()
    } else {
        format!("a delivery failed {attempts} times over about a day ({})", error.as_deref().unwrap_or("no answer"))
    };
    disable(tx, tenant_id, sub_key, &reason, at).await?;
    Ok(Some(reason))
}

/// Disables a subscription after failures, with an audit entry by the system.
async fn disable(tx: &mut Tx, tenant_id: i64, sub_key: i64, reason: &str, at: OffsetDateTime) -> StoreResult<()> {
    let before = get_by_key(tx, tenant_id, sub_key).await?;
    if !before.active {
        return Ok(());
    }
    tx.execute(
        "UPDATE webhook_subscriptions SET active = FALSE, disabled_at = $3, disabled_reason = $4, \
         version = version + 1, updated_at = $3 WHERE tenant_id = $1 AND id = $2",
        args![tenant_id, sub_key, at, reason],
    )
    .await?;
    let after = get_by_key(tx, tenant_id, sub_key).await?;
    let actor = Actor::system(tenant_id);
    audit::updated(tx, &actor, RecordType::Webhook, after.id, after.version, &before, &after).await
}

/// Counts of a subscription's deliveries by status (pending, succeeded, failed).
pub async fn counts(tx: &mut Tx, tenant_id: i64, sub_key: i64) -> StoreResult<(i64, i64, i64)> {
    let rows = tx
        .fetch_all(
            "SELECT status, COUNT(*) AS n FROM webhook_deliveries WHERE tenant_id = $1 AND subscription_id = $2 \
             GROUP BY status",
            args![tenant_id, sub_key],
            |r| Ok((r.text("status")?, r.i64("n")?)),
        )
        .await?;
    let n = |s: &str| rows.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
    Ok((n("pending"), n("succeeded"), n("failed")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn hmac_hashes_keys_longer_than_a_block() {
        // RFC 4231 case 6: a 131-byte key.
        let mac = hmac_sha256(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    }

    #[test]
    fn secrets_are_whsec_and_base64_of_enough_bytes() {
        let s = generate_secret();
        assert_eq!(secret_key(&s).unwrap().len(), 32);
        assert!(secret_key("whsec_c2hvcnQ=").is_err(), "too short");
        assert!(secret_key("nope").is_err());
    }

    #[test]
    fn retries_span_about_a_day_then_stop() {
        let total: Duration = RETRY_DELAYS.iter().copied().sum();
        assert!(total > Duration::hours(20) && total < Duration::hours(26), "{total}");
        assert_eq!(retry_delay(1), Some(Duration::seconds(5)));
        assert_eq!(retry_delay(8), Some(Duration::hours(12)));
        assert_eq!(retry_delay(9), None);
    }

    #[test]
    fn event_type_filters_take_record_types_and_event_types() {
        let ok = clean_event_types(&["Account".into(), "invoice.created".into(), "account".into()]).unwrap();
        assert_eq!(ok, ["account", "invoice.created"]);
        let e = clean_event_types(&["account".into(), "invoice.paid".into()]).unwrap_err();
        assert!(format!("{e:?}").contains("event_types[1]"), "{e:?}");
    }
}
