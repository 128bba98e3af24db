//! WooCommerce intake (ADR 0015): connections to shops, the intake log of
//! every signed delivery, and how an order becomes an invoice, a payment,
//! credit notes or a voided invoice.
//!
//! - A connection has a name, the shop's URL, the webhook secret (never shown
//!   back), a default warehouse and a tax mapping (a shop rate id or rate code
//!   → a Nave tax). Its `system` (`woo.{name}`) is the external-id system of
//!   the shop's customers and products and the source of every write the
//!   intake makes, so those writes' events are not sent back to the shop.
//! - A delivery is verified by [`verify_signature`] (base64 HMAC-SHA256 of the
//!   raw body, compared in constant time) before anything is stored; then it is
//!   kept in the intake log with its raw body whatever becomes of it: `ok`,
//!   `failed` (the reason says what to fix; [`retry`] runs it again),
//!   `duplicate` (the buyer's e-mail matches several contacts: nothing is
//!   created) or `ignored` (a topic the intake does not take, or an order
//!   state older than the one applied).
//! - Each order has a mapping row (its invoice, payment, the credit note of
//!   each refund, and the last `date_modified_gmt` applied), and a delivery
//!   runs inside a savepoint with the connection row locked: a refused one
//!   leaves nothing but its log entry, two at once are applied one after the
//!   other, the same delivery twice finds everything made already, and an
//!   older state arriving after a newer one is ignored. Same end state.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use nave_domain::DomainError;
use nave_domain::access::RecordType;
use nave_domain::address::AccountAddress;
use nave_domain::contact::Phone;
use nave_domain::document::{DocStatus, DocType};
use nave_domain::email::Email;
use nave_domain::external_id::ExternalId;
use nave_domain::ids::PublicId;
use nave_domain::money::{Currency, format_minor};
use nave_domain::pricing::LineKind;
use nave_domain::woocommerce::{self as woo, MappedTax, Order};
use rust_decimal::Decimal;
use serde::Serialize;
use time::OffsetDateTime;

use crate::accounts::{self, AccountPatch, NewAccount};
use crate::audit::{self, Actor};
use crate::contacts::{self, NewContact};
use crate::db::{DbRow, Tx, now};
use crate::documents::{self, Document, GroupInput, HeaderInput, LineInput, NewDocument};
use crate::payments::{self, AllocationInput, NewPayment};
use crate::{StoreError, StoreResult, args, billing, catalog, expect_version, on_unique, taxes};

// ---------------------------------------------------------------------------
// Signatures

/// Does `signature` (the `X-WC-Webhook-Signature` header) sign `body` with
/// `secret`? Base64 of HMAC-SHA256 over the raw body, compared in constant time.
pub fn verify_signature(secret: &str, body: &[u8], signature: &str) -> bool {
    let Ok(given) = B64.decode(signature.trim()) else { return false };
    let mac = crate::webhooks::hmac_sha256(secret.as_bytes(), body);
    given.len() == mac.len() && given.iter().zip(mac.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// The signature WooCommerce would send for `body` (the demo's deliveries).
pub fn sign(secret: &str, body: &[u8]) -> String {
    B64.encode(crate::webhooks::hmac_sha256(secret.as_bytes(), body))
}

/// Is `body` WooCommerce's ping (`webhook_id=N`, form-encoded, unsigned),
/// sent when a webhook is saved in the shop?
pub fn is_ping(body: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(body) else { return false };
    let s = s.trim();
    s.strip_prefix("webhook_id=").is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

// ---------------------------------------------------------------------------
// Connections

/// One shop tax rate and the Nave tax it maps to.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = WooTaxMapping)]
pub struct TaxMapping {
    /// The shop's tax rate id (`"1"`) or rate code (`"US-CA-TAX-1"`).
    #[schema(example = "US-CA-TAX-1")]
    pub woo_rate: String,
    #[schema(value_type = String)]
    pub tax_id: PublicId,
    pub tax_name: String,
    #[serde(skip)]
    pub tax_key: i64,
}

/// A connection to a WooCommerce shop (its secret is never shown).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = WooConnection)]
pub struct Connection {
    #[serde(skip)]
    pub key: i64,
    #[serde(skip)]
    pub tenant_id: i64,
    #[schema(value_type = String)]
    pub id: PublicId,
    pub name: String,
    /// The shop's address.
    #[schema(example = "https://shop.example.com")]
    pub url: String,
    /// The external-id system of the shop's customers and products, and the
    /// source of the intake's writes: `woo.` and the name in lower case.
    #[schema(example = "woo.main-shop")]
    pub system: String,
    /// The warehouse the shop's goods ship from.
    #[schema(value_type = Option<String>)]
    pub warehouse_id: Option<PublicId>,
    pub warehouse_name: Option<String>,
    pub tax_map: Vec<TaxMapping>,
    /// Where WooCommerce delivers (Settings → Advanced → Webhooks → Delivery URL), after the server's address.
    #[schema(example = "/api/v1/integrations/woocommerce/0190a1b2-0000-7000-8000-000000000000/webhook")]
    pub webhook_path: String,
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
    pub warehouse_key: Option<i64>,
}

impl Connection {
    /// Who the intake's writes are made by: the system, with the connection's source.
    pub fn actor(&self) -> Actor {
        Actor { source: Some(self.system.clone()), ..Actor::system(self.tenant_id) }
    }
}

const SELECT: &str = "SELECT c.id, c.tenant_id, c.public_id, c.name, c.url, c.system, c.secret, c.warehouse_id, \
    w.public_id AS warehouse_public_id, w.name AS warehouse_name, c.version, c.created_at, c.updated_at \
    FROM woo_connections c LEFT JOIN warehouses w ON w.tenant_id = c.tenant_id AND w.id = c.warehouse_id";

fn decode(r: &dyn DbRow) -> StoreResult<Connection> {
    let id = PublicId::from_uuid(r.uuid("public_id")?);
    Ok(Connection {
        key: r.i64("id")?,
        tenant_id: r.i64("tenant_id")?,
        id,
        name: r.text("name")?,
        url: r.text("url")?,
        system: r.text("system")?,
        warehouse_id: r.opt_uuid("warehouse_public_id")?.map(PublicId::from_uuid),
        warehouse_name: r.opt_text("warehouse_name")?,
        tax_map: vec![],
        webhook_path: format!("/api/v1/integrations/woocommerce/{id}/webhook"),
        version: r.i64("version")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
        secret: r.text("secret")?,
        warehouse_key: r.opt_i64("warehouse_id")?,
    })
}

async fn with_map(tx: &mut Tx, mut c: Connection) -> StoreResult<Connection> {
    c.tax_map = tx
        .fetch_all(
            "SELECT m.woo_rate, m.tax_id, t.public_id, t.name FROM woo_tax_map m \
             JOIN taxes t ON t.tenant_id = m.tenant_id AND t.id = m.tax_id \
             WHERE m.tenant_id = $1 AND m.connection_id = $2 ORDER BY m.position",
            args![c.tenant_id, c.key],
            |r| {
                Ok(TaxMapping {
                    woo_rate: r.text("woo_rate")?,
                    tax_id: PublicId::from_uuid(r.uuid("public_id")?),
                    tax_name: r.text("name")?,
                    tax_key: r.i64("tax_id")?,
                })
            },
        )
        .await?;
    Ok(c)
}

/// Every connection of a tenant, by name.
pub async fn list(tx: &mut Tx, tenant_id: i64) -> StoreResult<Vec<Connection>> {
    let list =
        tx.fetch_all(format!("{SELECT} WHERE c.tenant_id = $1 ORDER BY c.name_key"), args![tenant_id], decode).await?;
    let mut out = Vec::with_capacity(list.len());
    for c in list {
        out.push(with_map(tx, c).await?);
    }
    Ok(out)
}

pub async fn get(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<Option<Connection>> {
    let c = tx
        .fetch_optional(format!("{SELECT} WHERE c.tenant_id = $1 AND c.public_id = $2"), args![tenant_id, id], decode)
        .await?;
    match c {
        Some(c) => Ok(Some(with_map(tx, c).await?)),
        None => Ok(None),
    }
}

/// The connection a webhook URL names, in whichever tenant (WooCommerce sends no credentials but the signature).
pub async fn for_webhook(tx: &mut Tx, id: PublicId) -> StoreResult<Option<Connection>> {
    let c = tx.fetch_optional(format!("{SELECT} WHERE c.public_id = $1"), args![id], decode).await?;
    match c {
        Some(c) => Ok(Some(with_map(tx, c).await?)),
        None => Ok(None),
    }
}

/// A connection as entered.
#[derive(Debug, Clone, Default)]
pub struct NewConnection {
    pub name: String,
    pub url: String,
    pub secret: String,
    pub warehouse_id: Option<PublicId>,
    /// (shop rate id or code, Nave tax id).
    pub tax_map: Vec<(String, PublicId)>,
}

/// Changes to a connection; `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct ConnectionPatch {
    pub name: Option<String>,
    pub url: Option<String>,
    pub secret: Option<String>,
    pub warehouse_id: Option<Option<PublicId>>,
    pub tax_map: Option<Vec<(String, PublicId)>>,
}

fn clean_url(url: &str) -> Result<String, DomainError> {
    let u = url.trim().trim_end_matches('/');
    if !(u.starts_with("https://") || u.starts_with("http://")) || u.len() > 500 || u.contains(char::is_whitespace) {
        return Err(DomainError::invalid(
            "url",
            "must be the shop's http or https address, e.g. https://shop.example.com",
        ));
    }
    Ok(u.to_string())
}

fn clean_secret(secret: &str) -> Result<String, DomainError> {
    let s = secret.trim();
    if s.chars().count() < 8 || s.chars().count() > 200 {
        return Err(DomainError::invalid("secret", "must be the webhook secret set in the shop: 8 to 200 characters"));
    }
    Ok(s.to_string())
}

/// `woo.` and the name, lower case, with anything but `a-z 0-9 . _ -` as `-`.
fn system_of(name: &str) -> String {
    let slug: String = name
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c) { c } else { '-' })
        .collect();
    let slug = slug.trim_matches('-');
    format!("woo.{}", slug.chars().take(36).collect::<String>())
}

async fn resolve_warehouse(tx: &mut Tx, tenant_id: i64, id: Option<PublicId>) -> StoreResult<Option<i64>> {
    match id {
        None => Ok(None),
        Some(id) => Ok(Some(
            catalog::get_warehouse(tx, tenant_id, id)
                .await?
                .ok_or_else(|| DomainError::invalid("warehouse_id", "is not the id of a warehouse"))?
                .key,
        )),
    }
}

async fn write_map(tx: &mut Tx, tenant_id: i64, key: i64, map: &[(String, PublicId)]) -> StoreResult<()> {
    tx.execute("DELETE FROM woo_tax_map WHERE tenant_id = $1 AND connection_id = $2", args![tenant_id, key]).await?;
    let mut seen: Vec<String> = Vec::new();
    for (i, (rate, tax)) in map.iter().enumerate() {
        let rate = rate.trim();
        if rate.is_empty() || rate.chars().count() > 100 {
            return Err(DomainError::invalid(format!("tax_map[{i}].woo_rate"), "must be a rate id or code").into());
        }
        if seen.iter().any(|s| s.eq_ignore_ascii_case(rate)) {
            return Err(
                DomainError::invalid(format!("tax_map[{i}].woo_rate"), format!("{rate} is mapped twice")).into()
            );
        }
        seen.push(rate.to_string());
        let t = taxes::get_tax(tx, tenant_id, *tax)
            .await?
            .ok_or_else(|| DomainError::invalid(format!("tax_map[{i}].tax_id"), "is not the id of a tax"))?;
        tx.execute(
            "INSERT INTO woo_tax_map (tenant_id, connection_id, position, woo_rate, tax_id) VALUES ($1, $2, $3, $4, $5)",
            args![tenant_id, key, i as i64, rate, t.key],
        )
        .await?;
    }
    Ok(())
}

fn duplicate_name(name: &str) -> DomainError {
    DomainError::Conflict(format!(
        "a WooCommerce connection named {name} (or with the same system name) exists already"
    ))
}

/// Creates a connection.
pub async fn create(tx: &mut Tx, actor: &Actor, new: NewConnection) -> StoreResult<Connection> {
    let t = actor.tenant_id;
    let name = crate::clean_name(&new.name, 100)?;
    let url = clean_url(&new.url)?;
    let secret = clean_secret(&new.secret)?;
    let warehouse = resolve_warehouse(tx, t, new.warehouse_id).await?;
    let id = PublicId::new();
    let at = now();
    let sql = format!(
        "INSERT INTO woo_connections (tenant_id, id, public_id, name, name_key, url, system, secret, warehouse_id, \
         version, created_at, updated_at) VALUES ($1, {}, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9) RETURNING id",
        tx.new_id_expr("woo_connections", "$1")
    );
    let r = tx
        .fetch_one(sql, args![t, id, &name, name.to_lowercase(), url, system_of(&name), secret, warehouse, at], |r| {
            r.i64("id")
        })
        .await;
    let r = on_unique(r, "woo_connections_name_key", "woo_connections.name_key", || duplicate_name(&name));
    let key = on_unique(r, "woo_connections_system_key", "woo_connections.system", || duplicate_name(&name))?;
    write_map(tx, t, key, &new.tax_map).await?;
    let c = get(tx, t, id).await?.ok_or(DomainError::NotFound { record: "WooCommerce connection" })?;
    audit::created(tx, actor, RecordType::Integration, id, &c).await?;
    Ok(c)
}

/// Changes a connection. Its system name stays (the external ids use it).
pub async fn update(
    tx: &mut Tx,
    actor: &Actor,
    before: &Connection,
    if_version: Option<i64>,
    patch: ConnectionPatch,
) -> StoreResult<Connection> {
    let t = actor.tenant_id;
    expect_version("WooCommerce connection", before.version, if_version)?;
    let name = match &patch.name {
        Some(n) => crate::clean_name(n, 100)?,
        None => before.name.clone(),
    };
    let url = match &patch.url {
        Some(u) => clean_url(u)?,
        None => before.url.clone(),
    };
    let secret = match &patch.secret {
        Some(s) => clean_secret(s)?,
        None => before.secret.clone(),
    };
    let warehouse = match patch.warehouse_id {
        Some(w) => resolve_warehouse(tx, t, w).await?,
        None => before.warehouse_key,
    };
    let r = tx
        .execute(
            "UPDATE woo_connections SET name = $3, name_key = $4, url = $5, secret = $6, warehouse_id = $7, \
             version = version + 1, updated_at = $8 WHERE tenant_id = $1 AND id = $2",
            args![t, before.key, &name, name.to_lowercase(), url, secret, warehouse, now()],
        )
        .await;
    on_unique(r, "woo_connections_name_key", "woo_connections.name_key", || duplicate_name(&name))?;
    if let Some(map) = &patch.tax_map {
        write_map(tx, t, before.key, map).await?;
    }
    let after = get(tx, t, before.id).await?.ok_or(DomainError::NotFound { record: "WooCommerce connection" })?;
    audit::updated(tx, actor, RecordType::Integration, after.id, after.version, before, &after).await?;
    Ok(after)
}

/// Deletes a connection with its order mappings and intake log (the invoices stay).
pub async fn delete(tx: &mut Tx, actor: &Actor, before: &Connection, if_version: Option<i64>) -> StoreResult<()> {
    expect_version("WooCommerce connection", before.version, if_version)?;
    tx.execute("DELETE FROM woo_connections WHERE tenant_id = $1 AND id = $2", args![actor.tenant_id, before.key])
        .await?;
    audit::deleted(tx, actor, RecordType::Integration, before.id, before.version + 1, before).await
}

// ---------------------------------------------------------------------------
// The intake log

/// One delivery, as the intake log shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = WooIntakeEntry)]
pub struct IntakeEntry {
    #[serde(skip)]
    pub key: i64,
    #[schema(value_type = String)]
    pub id: PublicId,
    /// `X-WC-Webhook-Delivery-ID`.
    pub delivery_id: Option<String>,
    /// `X-WC-Webhook-Topic`, e.g. `order.created`.
    pub topic: String,
    pub woo_order_id: Option<String>,
    /// `ok`, `failed`, `duplicate` or `ignored`.
    pub status: String,
    /// Why it failed, was a duplicate or ignored; what was done otherwise.
    pub reason: Option<String>,
    /// How many times it was run (retries add one).
    pub attempts: i64,
    /// The invoice the order has.
    #[schema(value_type = Option<String>)]
    pub invoice_id: Option<PublicId>,
    pub invoice_number: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub received_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub processed_at: OffsetDateTime,
    /// The raw body as received.
    #[serde(skip)]
    pub body: String,
}

const SELECT_ENTRY: &str = "SELECT e.id, e.public_id, e.delivery_id, e.topic, e.woo_order_id, e.body, e.status, \
    e.reason, e.attempts, d.public_id AS invoice_public_id, d.number AS invoice_number, e.received_at, \
    e.processed_at FROM woo_intake e LEFT JOIN documents d ON d.tenant_id = e.tenant_id AND d.id = e.invoice_id";

fn decode_entry(r: &dyn DbRow) -> StoreResult<IntakeEntry> {
    Ok(IntakeEntry {
        key: r.i64("id")?,
        id: PublicId::from_uuid(r.uuid("public_id")?),
        delivery_id: r.opt_text("delivery_id")?,
        topic: r.text("topic")?,
        woo_order_id: r.opt_text("woo_order_id")?,
        status: r.text("status")?,
        reason: r.opt_text("reason")?,
        attempts: r.i64("attempts")?,
        invoice_id: r.opt_uuid("invoice_public_id")?.map(PublicId::from_uuid),
        invoice_number: r.opt_text("invoice_number")?,
        received_at: r.ts("received_at")?,
        processed_at: r.ts("processed_at")?,
        body: r.text("body")?,
    })
}

/// Filters of the intake log.
#[derive(Debug, Clone, Default)]
pub struct IntakeQuery {
    pub status: Option<String>,
    /// Entries before this key (the `next` of the previous page).
    pub before: Option<i64>,
    pub limit: i64,
}

/// A connection's intake log, newest first.
pub async fn intake(tx: &mut Tx, c: &Connection, q: &IntakeQuery) -> StoreResult<Vec<IntakeEntry>> {
    let mut sql = format!("{SELECT_ENTRY} WHERE e.tenant_id = $1 AND e.connection_id = $2");
    let mut a = args![c.tenant_id, c.key];
    if let Some(s) = &q.status {
        crate::and_where(&mut sql, &mut a, "e.status = $?", s.as_str());
    }
    if let Some(b) = q.before {
        crate::and_where(&mut sql, &mut a, "e.id < $?", b);
    }
    sql.push_str(&format!(" ORDER BY e.id DESC LIMIT {}", q.limit.clamp(1, 500)));
    tx.fetch_all(sql, a, decode_entry).await
}

pub async fn get_entry(tx: &mut Tx, c: &Connection, id: PublicId) -> StoreResult<Option<IntakeEntry>> {
    tx.fetch_optional(
        format!("{SELECT_ENTRY} WHERE e.tenant_id = $1 AND e.connection_id = $2 AND e.public_id = $3"),
        args![c.tenant_id, c.key, id],
        decode_entry,
    )
    .await
}

/// How a run of a delivery ended.
struct Ran {
    status: &'static str,
    reason: Option<String>,
    woo_order_id: Option<String>,
    invoice_key: Option<i64>,
}

/// Takes a verified delivery: runs it and keeps it in the intake log.
pub async fn receive(
    tx: &mut Tx,
    c: &Connection,
    delivery_id: Option<&str>,
    topic: &str,
    body: &str,
) -> StoreResult<IntakeEntry> {
    let received = now();
    let ran = run(tx, c, topic, body).await?;
    let id = PublicId::new();
    let sql = format!(
        "INSERT INTO woo_intake (tenant_id, id, public_id, connection_id, delivery_id, topic, woo_order_id, body, \
         status, reason, attempts, invoice_id, received_at, processed_at) \
         VALUES ($1, {}, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $11, $12)",
        tx.new_id_expr("woo_intake", "$1")
    );
    let topic = topic.trim().chars().take(100).collect::<String>();
    let delivery = delivery_id.map(|d| d.trim().chars().take(100).collect::<String>()).filter(|d| !d.is_empty());
    tx.execute(
        sql,
        args![
            c.tenant_id,
            id,
            c.key,
            delivery,
            topic,
            ran.woo_order_id,
            body,
            ran.status,
            ran.reason,
            ran.invoice_key,
            received,
            now()
        ],
    )
    .await?;
    get_entry(tx, c, id).await?.ok_or_else(|| DomainError::NotFound { record: "intake entry" }.into())
}

/// Runs a logged delivery again (after the mapping was fixed) and records the outcome on it.
pub async fn retry(tx: &mut Tx, c: &Connection, entry: &IntakeEntry) -> StoreResult<IntakeEntry> {
    let ran = run(tx, c, &entry.topic, &entry.body).await?;
    tx.execute(
        "UPDATE woo_intake SET status = $3, reason = $4, woo_order_id = COALESCE($5, woo_order_id), \
         invoice_id = COALESCE($6, invoice_id), attempts = attempts + 1, processed_at = $7 \
         WHERE tenant_id = $1 AND id = $2",
        args![c.tenant_id, entry.key, ran.status, ran.reason, ran.woo_order_id, ran.invoice_key, now()],
    )
    .await?;
    get_entry(tx, c, entry.id).await?.ok_or_else(|| DomainError::NotFound { record: "intake entry" }.into())
}

/// Why a run stopped: a refusal kept in the log, or a database failure that
/// fails the request (WooCommerce then delivers again).
enum Stop {
    Refused(&'static str, String),
    Store(StoreError),
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Domain(d) => Stop::Refused("failed", d.to_string()),
            other => Stop::Store(other),
        }
    }
}

impl From<DomainError> for Stop {
    fn from(e: DomainError) -> Self {
        Stop::Refused("failed", e.to_string())
    }
}

fn failed(reason: impl Into<String>) -> Stop {
    Stop::Refused("failed", reason.into())
}

/// What a run did: notes for the log, and the order's invoice.
#[derive(Default)]
struct Done {
    notes: Vec<String>,
    invoice_key: Option<i64>,
}

async fn run(tx: &mut Tx, c: &Connection, topic: &str, body: &str) -> StoreResult<Ran> {
    // One delivery of a connection at a time: the mapping rows are read and written in order.
    tx.execute(
        "UPDATE woo_connections SET version = version WHERE tenant_id = $1 AND id = $2",
        args![c.tenant_id, c.key],
    )
    .await?;
    let topic = topic.trim();
    if !topic.starts_with("order.") {
        return Ok(Ran {
            status: "ignored",
            reason: Some(format!("the topic {topic} is not taken: only order.* deliveries make documents")),
            woo_order_id: None,
            invoice_key: None,
        });
    }
    let order: Order = match serde_json::from_str(body) {
        Ok(o) => o,
        Err(e) => {
            return Ok(Ran {
                status: "failed",
                reason: Some(format!("the body is not a WooCommerce order: {e}")),
                woo_order_id: None,
                invoice_key: None,
            });
        }
    };
    let woo_id = Some(order.id.trim().to_string()).filter(|s| !s.is_empty());
    let Some(order_id) = woo_id.clone() else {
        return Ok(Ran {
            status: "failed",
            reason: Some("the order has no id".into()),
            woo_order_id: None,
            invoice_key: None,
        });
    };
    let sp = tx.savepoint().await?;
    match apply(tx, c, topic, &order_id, &order).await {
        Ok(done) => {
            tx.release(sp).await?;
            let reason = (!done.notes.is_empty()).then(|| done.notes.join("; "));
            Ok(Ran { status: "ok", reason, woo_order_id: woo_id, invoice_key: done.invoice_key })
        }
        Err(Stop::Refused(status, reason)) => {
            tx.rollback_to(sp).await?;
            let invoice_key = mapping(tx, c, &order_id).await?.and_then(|m| m.invoice_key);
            Ok(Ran { status, reason: Some(reason), woo_order_id: woo_id, invoice_key })
        }
        Err(Stop::Store(e)) => Err(e),
    }
}

// ---------------------------------------------------------------------------
// Applying an order

/// What Nave made for one shop order.
struct Mapping {
    key: i64,
    invoice_key: Option<i64>,
    payment_key: Option<i64>,
    modified_at: Option<OffsetDateTime>,
    deleted: bool,
}

async fn mapping(tx: &mut Tx, c: &Connection, woo_id: &str) -> StoreResult<Option<Mapping>> {
    tx.fetch_optional(
        "SELECT id, invoice_id, payment_id, modified_at, deleted FROM woo_orders \
         WHERE tenant_id = $1 AND connection_id = $2 AND woo_order_id = $3",
        args![c.tenant_id, c.key, woo_id],
        |r| {
            Ok(Mapping {
                key: r.i64("id")?,
                invoice_key: r.opt_i64("invoice_id")?,
                payment_key: r.opt_i64("payment_id")?,
                modified_at: r.opt_ts("modified_at")?,
                deleted: r.boolean("deleted")?,
            })
        },
    )
    .await
}

async fn mapping_or_new(tx: &mut Tx, c: &Connection, woo_id: &str) -> StoreResult<Mapping> {
    if let Some(m) = mapping(tx, c, woo_id).await? {
        return Ok(m);
    }
    let sql = format!(
        "INSERT INTO woo_orders (tenant_id, id, connection_id, woo_order_id, woo_status, deleted, updated_at) \
         VALUES ($1, {}, $2, $3, '', FALSE, $4)",
        tx.new_id_expr("woo_orders", "$1")
    );
    tx.execute(sql, args![c.tenant_id, c.key, woo_id, now()]).await?;
    mapping(tx, c, woo_id).await?.ok_or_else(|| DomainError::NotFound { record: "order mapping" }.into())
}

async fn save_mapping(tx: &mut Tx, c: &Connection, m: &Mapping, status: &str) -> StoreResult<()> {
    tx.execute(
        "UPDATE woo_orders SET invoice_id = $3, payment_id = $4, modified_at = $5, deleted = $6, woo_status = $7, \
         updated_at = $8 WHERE tenant_id = $1 AND id = $2",
        args![c.tenant_id, m.key, m.invoice_key, m.payment_key, m.modified_at, m.deleted, status, now()],
    )
    .await?;
    Ok(())
}

async fn document(tx: &mut Tx, t: i64, key: i64) -> Result<Document, Stop> {
    Ok(documents::get_by_key(tx, t, key).await?.ok_or(DomainError::NotFound { record: "invoice" })?)
}

fn label(d: &Document) -> String {
    format!("{} {}", d.doc_type.label(), d.number.as_deref().unwrap_or("(draft)"))
}

async fn apply(tx: &mut Tx, c: &Connection, topic: &str, woo_id: &str, order: &Order) -> Result<Done, Stop> {
    let t = c.tenant_id;
    let actor = c.actor();
    let mut m = mapping_or_new(tx, c, woo_id).await?;
    let mut done = Done { invoice_key: m.invoice_key, ..Default::default() };
    if topic == "order.deleted" {
        if let Some(inv) = m.invoice_key {
            let inv = document(tx, t, inv).await?;
            done.notes.push(void_unpaid(tx, &actor, &inv).await?);
        } else {
            done.notes.push("deleted in the shop before it was invoiced: nothing to void".into());
        }
        m.deleted = true;
        save_mapping(tx, c, &m, "deleted").await?;
        return Ok(done);
    }
    if m.deleted && topic != "order.restored" {
        return Err(Stop::Refused(
            "ignored",
            "the order was deleted in the shop; only its order.restored delivery brings it back".into(),
        ));
    }
    let modified = order.modified_at();
    if let (Some(last), Some(this)) = (m.modified_at, modified)
        && this < last
    {
        return Err(Stop::Refused(
            "ignored",
            format!(
                "an older state of the order (modified {}) than the one already applied ({}): nothing changed",
                fmt(this),
                fmt(last)
            ),
        ));
    }
    m.deleted = false;
    let current = match m.invoice_key {
        Some(k) => Some(document(tx, t, k).await?),
        None => None,
    };
    if order.is_off() {
        match &current {
            Some(inv) => done.notes.push(void_unpaid(tx, &actor, inv).await?),
            None => done.notes.push(format!("{}: no invoice was made", order.status)),
        }
    } else if order.wants_invoice() {
        let inv = invoice(tx, c, order, current, &mut done.notes).await?;
        m.invoice_key = Some(inv.key);
        done.invoice_key = Some(inv.key);
        if m.payment_key.is_none() && order.is_paid() {
            m.payment_key = pay(tx, c, order, &inv, &mut done.notes).await?;
        }
        refunds(tx, c, &m, order, &mut done.notes).await?;
    } else {
        done.notes.push(format!(
            "{}: the invoice is made once the order is processing, on hold or completed",
            if order.status.is_empty() { "no status" } else { order.status.as_str() }
        ));
    }
    m.modified_at = match (m.modified_at, modified) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => b.or(a),
    };
    save_mapping(tx, c, &m, &order.status).await?;
    Ok(done)
}

fn fmt(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Voids an invoice nothing was paid on; says what was done.
async fn void_unpaid(tx: &mut Tx, actor: &Actor, inv: &Document) -> Result<String, Stop> {
    match inv.status {
        DocStatus::Void => Ok(format!("{} is void already", label(inv))),
        DocStatus::Issued if inv.settled_minor == 0 => {
            billing::void(tx, actor, inv, None).await?;
            Ok(format!("{} voided", label(inv)))
        }
        _ => Ok(format!(
            "{} has {} {} settled: it stays; a refund in the shop credits it",
            label(inv),
            format_minor(inv.settled_minor, inv.currency),
            inv.currency.code()
        )),
    }
}

/// The Nave taxes of the shop rates the order's lines carry, by rate id.
async fn mapped_rates(
    tx: &mut Tx,
    c: &Connection,
    order: &Order,
    plan: &woo::Plan,
) -> Result<(HashMap<String, MappedTax>, HashMap<String, PublicId>), Stop> {
    let mut out = HashMap::new();
    let mut ids = HashMap::new();
    for rate in plan.lines.iter().flat_map(|l| l.rates.iter()) {
        if out.contains_key(rate) {
            continue;
        }
        let tl = order.tax_lines.iter().find(|t| t.rate_id.trim() == rate);
        let code = tl.map(|t| t.rate_code.trim()).unwrap_or("");
        let entry = c
            .tax_map
            .iter()
            .find(|e| e.woo_rate == *rate || (!code.is_empty() && e.woo_rate.eq_ignore_ascii_case(code)));
        let Some(entry) = entry else {
            return Err(failed(format!(
                "the shop's tax rate {rate}{} is not in the connection's tax mapping: map it to a Nave tax, then retry",
                match tl {
                    Some(t) => format!(" ({} {} %)", t.rate_code, t.rate_percent),
                    None => String::new(),
                }
            )));
        };
        let tax =
            taxes::get_tax(tx, c.tenant_id, entry.tax_id).await?.ok_or(DomainError::NotFound { record: "tax" })?;
        let rate_percent: Decimal = tax.rate.parse().unwrap_or_default();
        if let Some(shop) = tl.and_then(|t| Decimal::from_str_exact(t.rate_percent.trim()).ok())
            && shop.normalize() != rate_percent.normalize()
        {
            return Err(failed(format!(
                "the shop's rate {} is {} % but the Nave tax {} it maps to is {} %: fix the mapping, then retry",
                if code.is_empty() { rate.as_str() } else { code },
                shop.normalize(),
                tax.name,
                tax.rate
            )));
        }
        ids.insert(rate.clone(), tax.id);
        out.insert(rate.clone(), MappedTax { tax_id: tax.id.to_string(), name: tax.name.clone(), rate_percent });
    }
    Ok((out, ids))
}

/// The invoice of the order: the one made before when the order's total is
/// unchanged; otherwise a new one (voiding the old one while nothing is paid
/// on it), issued.
async fn invoice(
    tx: &mut Tx,
    c: &Connection,
    order: &Order,
    current: Option<Document>,
    notes: &mut Vec<String>,
) -> Result<Document, Stop> {
    let actor = c.actor();
    let plan = woo::plan(order).map_err(failed)?;
    let (rates, tax_ids) = mapped_rates(tx, c, order, &plan).await?;
    let rounding = woo::choose_rounding(&plan, &rates).map_err(failed)?;
    if let Some(inv) = current.filter(|d| d.status != DocStatus::Void) {
        if inv.total_minor == plan.total_minor && inv.currency == plan.currency {
            return Ok(inv);
        }
        if inv.settled_minor != 0 {
            return Err(failed(format!(
                "the order's total is now {} {} but {} ({} {}) has payments: correct it with a credit note",
                format_minor(plan.total_minor, plan.currency),
                plan.currency.code(),
                label(&inv),
                format_minor(inv.total_minor, inv.currency),
                inv.currency.code()
            )));
        }
        billing::void(tx, &actor, &inv, None).await?;
        notes.push(format!("{} voided: the order changed", label(&inv)));
    }
    let account = customer(tx, c, order, plan.currency).await?;
    let mut lines = Vec::with_capacity(plan.lines.len());
    for (i, l) in plan.lines.iter().enumerate() {
        let product = match l.kind {
            LineKind::Product => Some(product(tx, c, i, l).await?),
            _ => None,
        };
        let comment = l.kind == LineKind::Comment;
        lines.push(LineInput {
            kind: Some(l.kind),
            product_id: product,
            description: Some(l.description.clone()),
            quantity: Some(l.quantity),
            unit_price: (!comment).then_some(l.unit_price),
            discount_amount: (!comment).then_some(l.discount_amount),
            tax_ids: Some(l.rates.iter().filter_map(|r| tax_ids.get(r).copied()).fold(Vec::new(), |mut v, id| {
                if !v.contains(&id) {
                    v.push(id);
                }
                v
            })),
            ..Default::default()
        });
    }
    let number = if order.number.trim().is_empty() { order.id.trim() } else { order.number.trim() };
    let header = HeaderInput {
        currency: Some(plan.currency),
        date: Some(order.created_at().unwrap_or_else(now).date()),
        payment_terms_id: Some(None),
        prices_include_tax: Some(false),
        tax_rounding: Some(rounding),
        reference: Some(Some(format!("WooCommerce order #{number}"))),
        notes: Some(format!("From the shop {} ({}).", c.name, c.url)),
        ..Default::default()
    };
    let new = NewDocument {
        doc_type: DocType::Invoice,
        account_id: account,
        header,
        groups: vec![GroupInput { lines, ..Default::default() }],
        origin_key: None,
    };
    let doc = documents::create(tx, &actor, new).await?;
    if doc.total_minor != plan.total_minor {
        return Err(failed(format!(
            "the invoice's total {} differs from the shop's {}: nothing was stored",
            format_minor(doc.total_minor, doc.currency),
            format_minor(plan.total_minor, plan.currency)
        )));
    }
    // The shop has taken the order: a paid one is issued above a credit limit, with the reason.
    let reason = order.is_paid().then(|| format!("paid in the shop {} (order #{number})", c.name));
    let issued = billing::issue(tx, &actor, &doc, None, reason).await?;
    notes.push(format!("{} issued", label(&issued)));
    Ok(issued)
}

/// The product of a shop line: by the shop's product id as an external id, else by SKU.
async fn product(tx: &mut Tx, c: &Connection, i: usize, l: &woo::PlannedLine) -> Result<PublicId, Stop> {
    let t = c.tenant_id;
    if let Some(pid) = &l.woo_product_id
        && let Some(p) = catalog::get_product_by_external_id(tx, t, &ExternalId::new(&c.system, pid)).await?
    {
        return Ok(p.id);
    }
    if let Some(sku) = &l.sku
        && let Some(p) = catalog::get_product_by_sku(tx, t, sku).await?
    {
        return Ok(p.id);
    }
    Err(failed(format!(
        "line {} ({}): no product has the SKU {}{}: create it (or give a product that external id), then retry",
        i + 1,
        l.description,
        l.sku.as_deref().unwrap_or("(none)"),
        match &l.woo_product_id {
            Some(p) => format!(" or the external id {}:{p}", c.system),
            None => String::new(),
        }
    )))
}

/// The buyer's account: by the shop's customer id (an external id of the
/// account), else by the billing e-mail among contacts (case-insensitive);
/// a new account and contact when nobody matches. An e-mail several
/// contacts share is a duplicate: nothing is created.
async fn customer(tx: &mut Tx, c: &Connection, order: &Order, currency: Currency) -> Result<PublicId, Stop> {
    let t = c.tenant_id;
    let actor = c.actor();
    let b = &order.billing;
    let email = Email::parse(&b.email).ok();
    let ext = order.customer().map(|id| ExternalId::new(&c.system, id));
    if let Some(e) = &ext
        && let Some(a) = accounts::get_by_external_id(tx, t, e).await?
    {
        if let Some(email) = &email
            && contacts_with(tx, t, email).await?.iter().all(|(_, acc, _)| *acc != a.key)
        {
            new_contact(tx, &actor, a.id, order, email).await?;
        }
        return Ok(a.id);
    }
    let Some(email) = email else {
        return Err(failed(format!(
            "the order has no usable billing e-mail (\"{}\") to find or create the customer by",
            b.email
        )));
    };
    let found = contacts_with(tx, t, &email).await?;
    match found.as_slice() {
        [] => {}
        [(_, account_key, _)] => {
            let a =
                accounts::get_by_key(tx, t, *account_key).await?.ok_or(DomainError::NotFound { record: "account" })?;
            if let Some(e) = ext
                && !a.external_ids.iter().any(|x| x.system == e.system)
            {
                let mut ids = a.external_ids.clone();
                ids.push(e);
                let patch = AccountPatch { external_ids: Some(ids), ..Default::default() };
                accounts::update(tx, &actor, &a, None, patch).await?;
            }
            return Ok(a.id);
        }
        many => {
            let names: Vec<&str> = many.iter().map(|(_, _, n)| n.as_str()).collect();
            return Err(Stop::Refused(
                "duplicate",
                format!(
                    "the e-mail {email} belongs to {} contacts ({}): merge them (or remove the address from all but one), then retry",
                    many.len(),
                    names.join(", ")
                ),
            ));
        }
    }
    let person = format!("{} {}", b.first_name.trim(), b.last_name.trim());
    let name = [b.company.trim(), person.trim()]
        .into_iter()
        .find(|s| !s.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| email.to_string());
    let mut new = NewAccount::named(name, currency);
    if !b.address_1.trim().is_empty() && !b.city.trim().is_empty() && !b.country.trim().is_empty() {
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        new.addresses = vec![AccountAddress {
            label: "Billing".into(),
            line1: b.address_1.trim().to_string(),
            line2: opt(&b.address_2),
            city: b.city.trim().to_string(),
            region: opt(&b.state),
            postal_code: opt(&b.postcode),
            country: b.country.trim().to_string(),
            is_default_billing: true,
            is_default_shipping: true,
        }];
    }
    new.external_ids = ext.into_iter().collect();
    new.notes = format!("Created by the WooCommerce intake of {}.", c.name);
    let a = accounts::create(tx, &actor, new).await?;
    new_contact(tx, &actor, a.id, order, &email).await?;
    Ok(a.id)
}

/// Contacts having the e-mail: (contact key, account key, "Name (Account)").
async fn contacts_with(tx: &mut Tx, t: i64, email: &Email) -> StoreResult<Vec<(i64, i64, String)>> {
    tx.fetch_all(
        "SELECT DISTINCT c.id, c.account_id, c.first_name, c.last_name, a.name FROM contact_emails e \
         JOIN contacts c ON c.tenant_id = e.tenant_id AND c.id = e.contact_id \
         JOIN accounts a ON a.tenant_id = c.tenant_id AND a.id = c.account_id \
         WHERE e.tenant_id = $1 AND e.email_key = $2 ORDER BY c.id",
        args![t, email.key()],
        |r| {
            let who = format!("{} {}", r.text("first_name")?, r.text("last_name")?).trim().to_string();
            Ok((r.i64("id")?, r.i64("account_id")?, format!("{who} at {}", r.text("name")?)))
        },
    )
    .await
}

async fn new_contact(tx: &mut Tx, actor: &Actor, account: PublicId, order: &Order, email: &Email) -> StoreResult<()> {
    let b = &order.billing;
    let (mut first, last) = (b.first_name.trim().to_string(), b.last_name.trim().to_string());
    if first.is_empty() && last.is_empty() {
        first = email.as_str().split('@').next().unwrap_or("").to_string();
    }
    let phones = Some(b.phone.trim())
        .filter(|p| !p.is_empty())
        .map(|p| vec![Phone { label: String::new(), number: p.to_string() }])
        .unwrap_or_default();
    let new = NewContact {
        account_id: Some(account),
        first_name: first,
        last_name: last,
        emails: vec![email.to_string()],
        phones,
        ..Default::default()
    };
    contacts::create(tx, actor, new).await?;
    Ok(())
}

/// Records the order's payment and allocates it to the invoice.
async fn pay(
    tx: &mut Tx,
    c: &Connection,
    order: &Order,
    inv: &Document,
    notes: &mut Vec<String>,
) -> Result<Option<i64>, Stop> {
    if !matches!(inv.status, DocStatus::Issued | DocStatus::PartPaid) || inv.balance_minor <= 0 {
        return Ok(None);
    }
    let amount = Decimal::new(inv.balance_minor, inv.currency.minor_units());
    let reference = Some(order.transaction_id.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| format!("WooCommerce order #{}", order.id.trim()));
    let new = NewPayment {
        sent: false,
        account_id: inv.account_id,
        amount,
        currency: Some(inv.currency),
        date: Some(order.paid_at().or(order.created_at()).unwrap_or_else(now).date()),
        method: woo::payment_method(&order.payment_method).to_string(),
        reference: Some(reference.chars().take(100).collect()),
        notes: format!("Paid in the shop {} ({}).", c.name, order.payment_method.trim()),
        allocations: vec![AllocationInput { invoice_id: inv.id, amount }],
        external_ids: vec![],
    };
    let p = payments::create(tx, &c.actor(), new).await?;
    notes.push(format!("payment of {} {} recorded", p.amount, p.currency.code()));
    Ok(Some(p.key))
}

/// A credit note for each refund not credited yet; paid back when the invoice was paid.
async fn refunds(tx: &mut Tx, c: &Connection, m: &Mapping, order: &Order, notes: &mut Vec<String>) -> Result<(), Stop> {
    let t = c.tenant_id;
    let actor = c.actor();
    let Some(inv_key) = m.invoice_key else { return Ok(()) };
    let known: Vec<String> = tx
        .fetch_all(
            "SELECT woo_refund_id FROM woo_refunds WHERE tenant_id = $1 AND order_id = $2",
            args![t, m.key],
            |r| r.text("woo_refund_id"),
        )
        .await?;
    for r in &order.refunds {
        let rid = r.id.trim();
        if rid.is_empty() || known.iter().any(|k| k == rid) {
            continue;
        }
        let inv = document(tx, t, inv_key).await?;
        let amt = -woo::amount(&r.total, inv.currency, "refunds.total").map_err(failed)?;
        let amt = amt.abs();
        if amt == 0 {
            continue;
        }
        let whole = order.refunds.len() == 1 && amt == inv.total_minor;
        let mut header = HeaderInput::default();
        let groups = if whole {
            None
        } else {
            // A part refund: one line of the amount, tax included; with the
            // invoice's one tax when it has one (the shop does not say how a
            // part refund splits between rates).
            let tax = match inv.totals.taxes.as_slice() {
                [one] => vec![one.tax_id],
                _ => vec![],
            };
            header.prices_include_tax = Some(true);
            let reason = r.reason.trim();
            Some(vec![GroupInput {
                lines: vec![LineInput {
                    kind: Some(LineKind::Text),
                    description: Some(if reason.is_empty() {
                        format!("Refund #{rid}")
                    } else {
                        format!("Refund #{rid}: {reason}")
                    }),
                    quantity: Some(Decimal::ONE),
                    unit_price: Some(Decimal::new(amt, inv.currency.minor_units())),
                    tax_ids: Some(tax),
                    ..Default::default()
                }],
                ..Default::default()
            }])
        };
        let draft = billing::credit_from_invoice(tx, &actor, inv.account_key, inv.id, header, groups).await?;
        if draft.total_minor != amt {
            return Err(failed(format!(
                "the credit note for refund #{rid} would be {} but the shop refunded {}: nothing was stored",
                format_minor(draft.total_minor, inv.currency),
                format_minor(amt, inv.currency)
            )));
        }
        let cn = billing::issue(tx, &actor, &draft, None, None).await?;
        let mut note = format!("refund #{rid}: {} issued", label(&cn));
        // What the invoice did not take (it was paid) went back to the buyer.
        if cn.balance_minor > 0 && m.payment_key.is_some() {
            let refund = payments::Refund {
                amount: Decimal::new(cn.balance_minor, cn.currency.minor_units()),
                date: Some(order.modified_at().unwrap_or_else(now).date()),
                method: woo::payment_method(&order.payment_method).to_string(),
                reference: Some(format!("WooCommerce refund #{rid}")),
            };
            payments::refund_credit_note(tx, &actor, &cn, None, refund).await?;
            note.push_str(" and paid back");
        }
        notes.push(note);
        tx.execute(
            "INSERT INTO woo_refunds (tenant_id, order_id, woo_refund_id, credit_note_id) VALUES ($1, $2, $3, $4)",
            args![t, m.key, rid, cn.key],
        )
        .await?;
    }
    Ok(())
}

/// The order mapping of a shop order: its invoice, payment and credit notes (for tests and pages).
pub async fn order_documents(tx: &mut Tx, c: &Connection, woo_id: &str) -> StoreResult<Option<OrderDocuments>> {
    let Some(m) = mapping(tx, c, woo_id).await? else { return Ok(None) };
    let mut out = OrderDocuments { invoice: None, payment: None, credit_notes: vec![] };
    if let Some(k) = m.invoice_key {
        out.invoice = documents::get_by_key(tx, c.tenant_id, k).await?.map(|d| d.id);
    }
    if let Some(k) = m.payment_key {
        out.payment = tx
            .fetch_optional(
                "SELECT public_id FROM payments WHERE tenant_id = $1 AND id = $2",
                args![c.tenant_id, k],
                |r| r.uuid("public_id"),
            )
            .await?
            .map(PublicId::from_uuid);
    }
    out.credit_notes = tx
        .fetch_all(
            "SELECT d.public_id FROM woo_refunds r JOIN documents d ON d.tenant_id = r.tenant_id AND d.id = r.credit_note_id \
             WHERE r.tenant_id = $1 AND r.order_id = $2 ORDER BY r.woo_refund_id",
            args![c.tenant_id, m.key],
            |r| r.uuid("public_id"),
        )
        .await?
        .into_iter()
        .map(PublicId::from_uuid)
        .collect();
    Ok(Some(out))
}

/// What Nave made for a shop order.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = WooOrderDocuments)]
pub struct OrderDocuments {
    #[schema(value_type = Option<String>)]
    pub invoice: Option<PublicId>,
    #[schema(value_type = Option<String>)]
    pub payment: Option<PublicId>,
    #[schema(value_type = Vec<String>)]
    pub credit_notes: Vec<PublicId>,
}
