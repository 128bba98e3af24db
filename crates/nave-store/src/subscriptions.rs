//! Subscriptions and the invoice run (rules in `nave_domain::subscription`).
//!
//! [`run_one`] bills the due periods of one subscription in the caller's
//! transaction, with the subscription row locked: each billed period is a row
//! of `subscription_runs` keyed by (subscription, period start), so a second
//! run — even a concurrent one, which waits for the lock and then finds
//! `next_run` moved on — creates nothing new. Each period's invoice is made
//! from the subscription's lines and issued; when the credit limit refuses to
//! issue it, it stays a draft for a person to look at, and the run goes on.
//! Record scope: a subscription has its account's ownership.

use nave_domain::DomainError;
use nave_domain::access::{Ownership, RecordType};
use nave_domain::document::DocType;
use nave_domain::error::Validator;
use nave_domain::ids::PublicId;
use nave_domain::money::{Currency, format_unit_price};
use nave_domain::stock::format_quantity;
use nave_domain::subscription::{
    self as rules, Period, SubscriptionAction, SubscriptionStatus, first_period_from, next_run, period_label,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::accounts::{self, Visibility};
use crate::audit::{self, Actor};
use crate::db::{DbRow, Tx, now};
use crate::documents::{self, GroupInput, HeaderInput, LineInput, NewDocument, to_e4 as e4};
use crate::page::{Cursor, Page, fetch_page};
use crate::{StoreError, StoreResult, and_where, args, catalog, expect_version, parsed};

const T: RecordType = RecordType::Subscription;

/// One line billed every period.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionLine {
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub product_id: Option<PublicId>,
    /// Default: the product's name.
    #[serde(default)]
    pub description: Option<String>,
    #[schema(value_type = String, example = "1")]
    pub quantity: Decimal,
    /// Default: the price-list or list price on the day of each invoice.
    #[schema(value_type = Option<String>, example = "49.00")]
    #[serde(default)]
    pub unit_price: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    pub discount_percent: Option<Decimal>,
}

/// A subscription as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Subscription {
    #[serde(skip)]
    pub key: i64,
    #[serde(skip)]
    pub account_key: i64,
    #[serde(skip)]
    pub ownership: Ownership,
    #[schema(value_type = String)]
    pub id: PublicId,
    #[schema(value_type = String)]
    pub account_id: PublicId,
    pub account_name: String,
    pub name: String,
    #[schema(value_type = String, example = "active")]
    pub status: SubscriptionStatus,
    #[schema(value_type = Vec<String>)]
    pub allowed_actions: Vec<SubscriptionAction>,
    /// `month`, `quarter` or `year`.
    #[schema(value_type = String, example = "month")]
    pub period: Period,
    #[schema(value_type = String, format = Date)]
    #[serde(with = "nave_domain::dates::iso")]
    pub start_date: Date,
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(with = "nave_domain::dates::iso_option")]
    pub end_date: Option<Date>,
    /// The start of the next period to bill; null once past the end date or cancelled.
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(with = "nave_domain::dates::iso_option")]
    pub next_run: Option<Date>,
    #[schema(value_type = String, example = "EUR")]
    pub currency: Currency,
    #[schema(value_type = Option<String>)]
    pub payment_terms_id: Option<PublicId>,
    pub prices_include_tax: bool,
    pub notes: String,
    pub lines: Vec<LineView>,
    /// Invoices billed so far.
    pub invoices_billed: i64,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

/// A subscription line as stored.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LineView {
    #[schema(value_type = Option<String>)]
    pub product_id: Option<PublicId>,
    pub description: String,
    pub quantity: String,
    /// Null: priced on each invoice's day.
    pub unit_price: Option<String>,
    pub discount_percent: String,
}

const SELECT: &str = "SELECT s.id, s.public_id, s.account_id, s.name, s.status, s.period, s.start_date, s.end_date, \
    s.next_run, s.currency, s.prices_include_tax, s.notes, s.version, s.created_at, s.updated_at, \
    a.public_id AS account_public_id, a.name AS account_name, a.owner_id, a.team_id, pt.public_id AS terms_public_id, \
    (SELECT COUNT(*) FROM subscription_runs r WHERE r.tenant_id = s.tenant_id AND r.subscription_id = s.id) AS runs \
    FROM subscriptions s JOIN accounts a ON a.tenant_id = s.tenant_id AND a.id = s.account_id \
    LEFT JOIN payment_terms pt ON pt.tenant_id = s.tenant_id AND pt.id = s.payment_terms_id";

fn decode(r: &dyn DbRow) -> StoreResult<Subscription> {
    let status: SubscriptionStatus = parsed(r.text("status")?.parse())?;
    Ok(Subscription {
        key: r.i64("id")?,
        account_key: r.i64("account_id")?,
        ownership: Ownership { owner_id: r.opt_i64("owner_id")?, team_id: r.opt_i64("team_id")? },
        id: PublicId::from_uuid(r.uuid("public_id")?),
        account_id: PublicId::from_uuid(r.uuid("account_public_id")?),
        account_name: r.text("account_name")?,
        name: r.text("name")?,
        status,
        allowed_actions: status.allowed_actions().to_vec(),
        period: parsed(r.text("period")?.parse())?,
        start_date: r.opt_date("start_date")?.ok_or_else(|| StoreError::Decode("start date".into()))?,
        end_date: r.opt_date("end_date")?,
        next_run: r.opt_date("next_run")?,
        currency: parsed(Currency::parse(&r.text("currency")?))?,
        payment_terms_id: r.opt_uuid("terms_public_id")?.map(PublicId::from_uuid),
        prices_include_tax: r.boolean("prices_include_tax")?,
        notes: r.text("notes")?,
        lines: vec![],
        invoices_billed: r.i64("runs")?,
        version: r.i64("version")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

async fn load_lines(tx: &mut Tx, tenant_id: i64, s: &mut Subscription) -> StoreResult<()> {
    let c = s.currency;
    s.lines = tx
        .fetch_all(
            "SELECT l.description, l.quantity_e4, l.unit_price_e4, l.discount_percent_e4, p.public_id AS product_public_id \
             FROM subscription_lines l LEFT JOIN products p ON p.tenant_id = l.tenant_id AND p.id = l.product_id \
             WHERE l.tenant_id = $1 AND l.subscription_id = $2 ORDER BY l.position",
            args![tenant_id, s.key],
            |r| {
                let price = r.i64("unit_price_e4")?;
                Ok(LineView {
                    product_id: r.opt_uuid("product_public_id")?.map(PublicId::from_uuid),
                    description: r.text("description")?,
                    quantity: format_quantity(r.i64("quantity_e4")?),
                    unit_price: (price >= 0).then(|| format_unit_price(price, c)),
                    discount_percent: Decimal::new(r.i64("discount_percent_e4")?, 4).normalize().to_string(),
                })
            },
        )
        .await?;
    Ok(())
}

pub async fn get(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<Option<Subscription>> {
    let s = tx
        .fetch_optional(format!("{SELECT} WHERE s.tenant_id = $1 AND s.public_id = $2"), args![tenant_id, id], decode)
        .await?;
    match s {
        Some(mut s) => {
            load_lines(tx, tenant_id, &mut s).await?;
            Ok(Some(s))
        }
        None => Ok(None),
    }
}

/// Filters of the subscription list.
#[derive(Debug, Clone)]
pub struct SubscriptionQuery {
    pub visibility: Visibility,
    pub account_key: Option<i64>,
    pub status: Option<SubscriptionStatus>,
    pub cursor: Option<Cursor>,
    pub limit: i64,
}

/// Subscriptions, newest first (without their lines).
pub async fn list(tx: &mut Tx, tenant_id: i64, q: &SubscriptionQuery) -> StoreResult<Page<Subscription>> {
    let mut sql = format!("{SELECT} WHERE s.tenant_id = $1");
    let mut a = args![tenant_id];
    q.visibility.push_on("a.owner_id", "a.team_id", &mut sql, &mut a);
    if let Some(k) = q.account_key {
        and_where(&mut sql, &mut a, "s.account_id = $?", k);
    }
    if let Some(s) = q.status {
        and_where(&mut sql, &mut a, "s.status = $?", s.as_str());
    }
    if let Some(c) = q.cursor {
        and_where(&mut sql, &mut a, "s.id < $?", c.0);
    }
    fetch_page(tx, sql, a, "s.id DESC", q.limit, decode, |s| s.key).await
}

/// A subscription's fields; on update `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct SubscriptionInput {
    pub account_id: Option<PublicId>,
    pub name: Option<String>,
    pub period: Option<Period>,
    pub start_date: Option<Date>,
    pub end_date: Option<Option<Date>>,
    pub currency: Option<Currency>,
    pub payment_terms_id: Option<Option<PublicId>>,
    pub prices_include_tax: Option<bool>,
    pub notes: Option<String>,
    pub lines: Option<Vec<SubscriptionLine>>,
}

async fn write_lines(tx: &mut Tx, tenant_id: i64, key: i64, lines: &[SubscriptionLine]) -> StoreResult<()> {
    let mut v = Validator::new();
    if lines.is_empty() || lines.len() > 100 {
        v.add("lines", "a subscription bills 1 to 100 lines");
    }
    tx.execute("DELETE FROM subscription_lines WHERE tenant_id = $1 AND subscription_id = $2", args![tenant_id, key])
        .await?;
    for (i, l) in lines.iter().enumerate() {
        let at = |f: &str| format!("lines[{i}].{f}");
        let product = match l.product_id {
            Some(id) => Some(
                catalog::get_product(tx, tenant_id, id)
                    .await?
                    .ok_or_else(|| DomainError::invalid(at("product_id"), "is not the id of a product"))?,
            ),
            None => None,
        };
        let description = l
            .description
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_string)
            .or_else(|| product.as_ref().map(|p| p.name.clone()));
        if description.is_none() {
            v.add(at("description"), "is required on a line without a product");
        }
        if product.is_none() && l.unit_price.is_none() {
            v.add(at("unit_price"), "is required on a line without a product");
        }
        if l.quantity <= Decimal::ZERO || l.quantity.scale() > 4 {
            v.add(at("quantity"), "must be above 0, with at most 4 decimal places");
        }
        if l.unit_price.is_some_and(|p| p < Decimal::ZERO || p.scale() > 4) {
            v.add(at("unit_price"), "must not be negative, with at most 4 decimal places");
        }
        let disc = l.discount_percent.unwrap_or_default();
        if disc < Decimal::ZERO || disc > Decimal::from(100) {
            v.add(at("discount_percent"), "must be between 0 and 100");
        }
        let sql = format!(
            "INSERT INTO subscription_lines (tenant_id, id, subscription_id, position, product_id, description, quantity_e4, \
             unit_price_e4, discount_percent_e4) VALUES ($1, {}, $2, $3, $4, $5, $6, $7, $8)",
            tx.new_id_expr("subscription_lines", "$1")
        );
        tx.execute(
            sql,
            args![
                tenant_id,
                key,
                i as i64,
                product.as_ref().map(|p| p.key),
                description.unwrap_or_default(),
                e4(l.quantity),
                l.unit_price.map(e4).unwrap_or(-1),
                e4(disc)
            ],
        )
        .await?;
    }
    v.finish()?;
    Ok(())
}

async fn terms_key(tx: &mut Tx, tenant_id: i64, id: Option<PublicId>) -> StoreResult<Option<i64>> {
    match id {
        Some(id) => Ok(Some(
            crate::payment_terms::get(tx, tenant_id, id)
                .await?
                .ok_or_else(|| DomainError::invalid("payment_terms_id", "is not the id of payment terms"))?
                .key,
        )),
        None => Ok(None),
    }
}

fn check_name(name: &str) -> Result<String, DomainError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 200 {
        return Err(DomainError::invalid("name", "must be 1 to 200 characters"));
    }
    Ok(n.to_string())
}

fn check_dates(start: Date, end: Option<Date>) -> Result<(), DomainError> {
    match end {
        Some(e) if e < start => Err(DomainError::invalid("end_date", format!("{e} is before the start date {start}"))),
        _ => Ok(()),
    }
}

pub async fn create(tx: &mut Tx, actor: &Actor, input: SubscriptionInput) -> StoreResult<Subscription> {
    let t = actor.tenant_id;
    let account_id = input.account_id.ok_or_else(|| DomainError::invalid("account_id", "is required"))?;
    let account = accounts::get(tx, t, account_id)
        .await?
        .ok_or_else(|| DomainError::invalid("account_id", "is not the id of an account"))?;
    let name = check_name(input.name.as_deref().unwrap_or(""))?;
    let period = input.period.unwrap_or(Period::Month);
    let start = input.start_date.unwrap_or_else(|| now().date());
    let end = input.end_date.flatten();
    check_dates(start, end)?;
    let terms = match input.payment_terms_id {
        Some(id) => terms_key(tx, t, id).await?,
        None => account.payment_terms_key,
    };
    let id = PublicId::new();
    let at = now();
    let sql = format!(
        "INSERT INTO subscriptions (tenant_id, id, public_id, account_id, name, status, period, start_date, end_date, \
         next_run, currency, payment_terms_id, prices_include_tax, notes, version, created_at, updated_at, created_by, \
         updated_by) VALUES ($1, {}, $2, $3, $4, 'active', $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $13, $14, $14) \
         RETURNING id",
        tx.new_id_expr("subscriptions", "$1")
    );
    let key = tx
        .fetch_one(
            sql,
            args![
                t,
                id,
                account.key,
                name,
                period.as_str(),
                start,
                end,
                next_run(start, period, 0, end),
                input.currency.unwrap_or(account.currency).code(),
                terms,
                input.prices_include_tax.unwrap_or(false),
                input.notes.unwrap_or_default(),
                at,
                actor.user_id
            ],
            |r| r.i64("id"),
        )
        .await?;
    write_lines(tx, t, key, input.lines.as_deref().unwrap_or(&[])).await?;
    let s = get(tx, t, id).await?.ok_or(DomainError::NotFound { record: "subscription" })?;
    audit::created(tx, actor, T, id, &s).await?;
    Ok(s)
}

async fn store(tx: &mut Tx, actor: &Actor, before: &Subscription, after_cols: Cols) -> StoreResult<Subscription> {
    let t = actor.tenant_id;
    let n = tx
        .execute(
            "UPDATE subscriptions SET name = $4, status = $5, period = $6, start_date = $7, end_date = $8, next_run = $9, \
             currency = $10, payment_terms_id = $11, prices_include_tax = $12, notes = $13, version = version + 1, \
             updated_at = $14, updated_by = $15 WHERE tenant_id = $1 AND id = $2 AND version = $3",
            args![
                t,
                before.key,
                before.version,
                after_cols.name,
                after_cols.status.as_str(),
                after_cols.period.as_str(),
                after_cols.start,
                after_cols.end,
                after_cols.next_run,
                after_cols.currency.code(),
                after_cols.terms,
                after_cols.prices_include_tax,
                after_cols.notes,
                now(),
                actor.user_id
            ],
        )
        .await?;
    if n == 0 {
        return Err(DomainError::VersionMismatch { record: "subscription", current: before.version + 1 }.into());
    }
    if let Some(lines) = &after_cols.lines {
        write_lines(tx, t, before.key, lines).await?;
    }
    let after = get(tx, t, before.id).await?.ok_or(DomainError::NotFound { record: "subscription" })?;
    audit::updated(tx, actor, T, after.id, after.version, before, &after).await?;
    Ok(after)
}

struct Cols {
    name: String,
    status: SubscriptionStatus,
    period: Period,
    start: Date,
    end: Option<Date>,
    next_run: Option<Date>,
    currency: Currency,
    terms: Option<i64>,
    prices_include_tax: bool,
    notes: String,
    lines: Option<Vec<SubscriptionLine>>,
}

async fn cols_of(tx: &mut Tx, tenant_id: i64, s: &Subscription) -> StoreResult<Cols> {
    Ok(Cols {
        name: s.name.clone(),
        status: s.status,
        period: s.period,
        start: s.start_date,
        end: s.end_date,
        next_run: s.next_run,
        currency: s.currency,
        terms: terms_key(tx, tenant_id, s.payment_terms_id).await?,
        prices_include_tax: s.prices_include_tax,
        notes: s.notes.clone(),
        lines: None,
    })
}

/// Changes a subscription. Changing the period or dates recomputes the next
/// run from the first period not yet billed.
pub async fn update(
    tx: &mut Tx,
    actor: &Actor,
    before: &Subscription,
    if_version: Option<i64>,
    input: SubscriptionInput,
) -> StoreResult<Subscription> {
    expect_version("subscription", before.version, if_version)?;
    if before.status == SubscriptionStatus::Cancelled {
        return Err(DomainError::Conflict("the subscription is cancelled and can no longer change".into()).into());
    }
    if input.account_id.is_some_and(|a| a != before.account_id) {
        return Err(DomainError::invalid("account_id", "cannot change: make a new subscription").into());
    }
    let t = actor.tenant_id;
    let mut c = cols_of(tx, t, before).await?;
    if let Some(n) = &input.name {
        c.name = check_name(n)?;
    }
    let timing = input.period.is_some() || input.start_date.is_some() || input.end_date.is_some();
    c.period = input.period.unwrap_or(c.period);
    c.start = input.start_date.unwrap_or(c.start);
    c.end = input.end_date.unwrap_or(c.end);
    check_dates(c.start, c.end)?;
    if timing && c.status == SubscriptionStatus::Active {
        let billed = last_billed(tx, t, before.key).await?;
        let k = match billed {
            Some(d) => first_period_from(c.start, c.period, d.next_day().unwrap_or(d)),
            None => 0,
        };
        c.next_run = next_run(c.start, c.period, k, c.end);
    }
    if let Some(cur) = input.currency {
        c.currency = cur;
    }
    if let Some(p) = input.payment_terms_id {
        c.terms = terms_key(tx, t, p).await?;
    }
    c.prices_include_tax = input.prices_include_tax.unwrap_or(c.prices_include_tax);
    if let Some(n) = input.notes {
        c.notes = n;
    }
    c.lines = input.lines;
    store(tx, actor, before, c).await
}

async fn last_billed(tx: &mut Tx, tenant_id: i64, key: i64) -> StoreResult<Option<Date>> {
    tx.fetch_optional(
        "SELECT period_start FROM subscription_runs WHERE tenant_id = $1 AND subscription_id = $2 \
         ORDER BY period_start DESC LIMIT 1",
        args![tenant_id, key],
        |r| r.opt_date("period_start"),
    )
    .await
    .map(Option::flatten)
}

/// Pauses, resumes or cancels. Resuming bills from the first period that
/// starts on or after `today`; cancelling clears the next run.
pub async fn act(
    tx: &mut Tx,
    actor: &Actor,
    before: &Subscription,
    if_version: Option<i64>,
    action: SubscriptionAction,
    today: Date,
) -> StoreResult<Subscription> {
    expect_version("subscription", before.version, if_version)?;
    let status = rules::transition(before.status, action)?;
    let t = actor.tenant_id;
    let mut c = cols_of(tx, t, before).await?;
    c.status = status;
    c.next_run = match action {
        SubscriptionAction::Pause | SubscriptionAction::Cancel => None,
        SubscriptionAction::Resume => {
            let billed = last_billed(tx, t, before.key).await?;
            let from = billed.and_then(|d| d.next_day()).map_or(today, |d| d.max(today));
            next_run(c.start, c.period, first_period_from(c.start, c.period, from), c.end)
        }
    };
    store(tx, actor, before, c).await
}

/// The subscriptions with a period due on or before `today`.
pub async fn due(tx: &mut Tx, tenant_id: i64, today: Date) -> StoreResult<Vec<i64>> {
    tx.fetch_all(
        "SELECT id FROM subscriptions WHERE tenant_id = $1 AND status = 'active' AND next_run <= $2 ORDER BY id",
        args![tenant_id, today],
        |r| r.i64("id"),
    )
    .await
}

/// Bills every due period of one subscription (see the module docs) and
/// returns the invoices made. Safe to call twice or concurrently.
pub async fn run_one(tx: &mut Tx, actor: &Actor, key: i64, today: Date) -> StoreResult<Vec<documents::Document>> {
    let t = actor.tenant_id;
    let lock = format!("SELECT public_id FROM subscriptions WHERE tenant_id = $1 AND id = $2{}", tx.for_update());
    let Some(id) = tx.fetch_optional(lock, args![t, key], |r| Ok(PublicId::from_uuid(r.uuid("public_id")?))).await?
    else {
        return Ok(vec![]);
    };
    let s = get(tx, t, id).await?.ok_or(DomainError::NotFound { record: "subscription" })?;
    let mut made = Vec::new();
    let mut next = s.next_run;
    while let Some(period) = next.filter(|d| *d <= today && s.status == SubscriptionStatus::Active) {
        let already = tx
            .scalar_i64(
                "SELECT COUNT(*) AS v FROM subscription_runs WHERE tenant_id = $1 AND subscription_id = $2 AND period_start = $3",
                args![t, key, period],
            )
            .await?;
        if already == 0 {
            made.push(bill_period(tx, actor, &s, period).await?);
        }
        let k = first_period_from(s.start_date, s.period, period) + 1;
        next = next_run(s.start_date, s.period, k, s.end_date);
    }
    if next != s.next_run {
        tx.execute(
            "UPDATE subscriptions SET next_run = $3, version = version + 1, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
            args![t, key, next, now()],
        )
        .await?;
    }
    Ok(made)
}

async fn bill_period(tx: &mut Tx, actor: &Actor, s: &Subscription, period: Date) -> StoreResult<documents::Document> {
    let t = actor.tenant_id;
    let label = period_label(period, s.period);
    let lines = s
        .lines
        .iter()
        .map(|l| LineInput {
            product_id: l.product_id,
            description: Some(format!("{} ({label})", l.description)),
            quantity: l.quantity.parse().ok(),
            unit_price: l.unit_price.as_deref().and_then(|p| p.parse().ok()),
            discount_percent: l.discount_percent.parse().ok(),
            ..Default::default()
        })
        .collect();
    let header = HeaderInput {
        currency: Some(s.currency),
        date: Some(period),
        payment_terms_id: Some(s.payment_terms_id),
        prices_include_tax: Some(s.prices_include_tax),
        reference: Some(Some(s.name.chars().take(100).collect())),
        ..Default::default()
    };
    let new = NewDocument {
        doc_type: DocType::Invoice,
        account_id: s.account_id,
        header,
        groups: vec![GroupInput { name: s.name.clone(), lines, ..Default::default() }],
        origin_key: None,
    };
    let draft = documents::create(tx, actor, new).await?;
    tx.execute(
        "INSERT INTO subscription_runs (tenant_id, subscription_id, period_start, invoice_id, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
        args![t, s.key, period, draft.key, now()],
    )
    .await?;
    // Issue it; a credit-limit refusal leaves the draft for a person.
    let sp = tx.savepoint().await?;
    match crate::billing::issue(tx, actor, &draft, None, None).await {
        Ok(issued) => {
            tx.release(sp).await?;
            Ok(issued)
        }
        Err(StoreError::Domain(DomainError::Conflict(_))) => {
            tx.rollback_to(sp).await?;
            Ok(draft)
        }
        Err(e) => Err(e),
    }
}

/// The invoices billed by a subscription, newest period first: (period start, invoice id).
pub async fn runs(tx: &mut Tx, tenant_id: i64, key: i64) -> StoreResult<Vec<(Date, PublicId, Option<String>)>> {
    tx.fetch_all(
        "SELECT r.period_start, d.public_id, d.number FROM subscription_runs r JOIN documents d \
         ON d.tenant_id = r.tenant_id AND d.id = r.invoice_id WHERE r.tenant_id = $1 AND r.subscription_id = $2 \
         ORDER BY r.period_start DESC",
        args![tenant_id, key],
        |r| {
            Ok((
                r.opt_date("period_start")?.ok_or_else(|| StoreError::Decode("period".into()))?,
                PublicId::from_uuid(r.uuid("public_id")?),
                r.opt_text("number")?,
            ))
        },
    )
    .await
}
