//! Payments received, their allocations to invoices, and what credit notes
//! settle: applications to invoices and refunds. Payments sent to suppliers
//! are the same rows with direction `sent`, allocated to bills by the same
//! code (`allocate_to_invoices` with the bill type).
//!
//! Rules (DOMAIN.md "Lifecycles"):
//!
//! - A payment has an account, an amount above 0 in a currency (default the
//!   account's), a date, a method (`bank_transfer`, `card`, `cash`,
//!   `cheque`, `other`), a reference and notes. It may be allocated to
//!   invoices when recorded and later; Σ allocations never exceeds the
//!   amount, and what is not allocated is the account's credit
//!   (`unallocated`).
//! - Each allocation goes to an issued or part-paid invoice of the same
//!   account and currency, and is at most the invoice's balance. The payment
//!   row and each invoice row are locked while allocating, so two payments
//!   allocated at once can never take an invoice below 0. A refused
//!   allocation stores nothing (one transaction).
//! - An invoice's balance = total − payments allocated − credits applied,
//!   never negative; its status follows (`issued` → `part_paid` → `paid`).
//! - An issued credit note settles invoices by being applied to them (an
//!   allocation row naming the credit note) under the same rules, or is
//!   refunded: a refund is recorded as a payment row with direction
//!   `refund` (amount, date, method, reference; fully "allocated", so it is
//!   never account credit) and adds to the credit note's settled amount.
//!   A credit note applied or refunded in full becomes `applied`.

use nave_domain::DomainError;
use nave_domain::access::{Ownership, RecordType};
use nave_domain::document::{DocStatus, DocType};
use nave_domain::error::Validator;
use nave_domain::external_id::ExternalId;
use nave_domain::ids::PublicId;
use nave_domain::money::{Currency, Money, format_minor};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::accounts::Visibility;
use crate::audit::{self, Actor};
use crate::db::{DbRow, Tx, now};
use crate::documents::{self, Document};
use crate::external_ids::{self, PAYMENTS as EXTERNAL};
use crate::page::{Cursor, ListSql, Page, Sort, SortColumn, SortCursor, SortValue};
use crate::{StoreError, StoreResult, and_where, args, billing};

/// The payment methods.
pub const METHODS: &[&str] = &["bank_transfer", "card", "cash", "cheque", "other"];

/// One allocation of a payment to an invoice.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AllocationView {
    #[schema(value_type = String)]
    pub invoice_id: PublicId,
    pub invoice_number: Option<String>,
    pub amount: String,
    #[schema(value_type = String, format = Date)]
    #[serde(with = "nave_domain::dates::iso")]
    pub date: Date,
}

/// A payment as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Payment {
    #[serde(skip)]
    pub key: i64,
    #[serde(skip)]
    pub account_key: i64,
    #[serde(skip)]
    pub ownership: Ownership,
    #[serde(skip)]
    pub amount_minor: i64,
    #[serde(skip)]
    pub allocated_minor: i64,
    #[schema(value_type = String)]
    pub id: PublicId,
    /// `received` (from a customer), `refund` (a credit note paid out) or `sent` (to a supplier).
    pub direction: String,
    #[schema(value_type = String)]
    pub account_id: PublicId,
    pub account_name: String,
    pub amount: String,
    #[schema(value_type = String, example = "EUR")]
    pub currency: Currency,
    #[schema(value_type = String, format = Date)]
    #[serde(with = "nave_domain::dates::iso")]
    pub date: Date,
    /// `bank_transfer`, `card`, `cash`, `cheque` or `other`.
    pub method: String,
    pub reference: Option<String>,
    pub notes: String,
    /// Σ allocations.
    pub allocated: String,
    /// Not yet allocated: the account's credit.
    pub unallocated: String,
    pub status: String,
    /// Empty in lists.
    pub allocations: Vec<AllocationView>,
    /// The payment's ids in other systems (the bank feed, the accounting package).
    #[schema(value_type = Vec<crate::external_ids::ExternalIdSchema>)]
    pub external_ids: Vec<ExternalId>,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

const SELECT: &str = "SELECT p.id, p.public_id, p.direction, p.account_id, p.amount_minor, p.currency, \
    p.payment_date, p.method, p.reference, p.notes, p.allocated_minor, p.status, p.version, p.created_at, \
    p.updated_at, a.public_id AS account_public_id, a.name AS account_name, a.owner_id, a.team_id \
    FROM payments p JOIN accounts a ON a.tenant_id = p.tenant_id AND a.id = p.account_id";

fn decode(r: &dyn DbRow) -> StoreResult<Payment> {
    let currency = Currency::parse(&r.text("currency")?).map_err(|e| StoreError::Decode(e.to_string()))?;
    let amount = r.i64("amount_minor")?;
    let allocated = r.i64("allocated_minor")?;
    Ok(Payment {
        key: r.i64("id")?,
        account_key: r.i64("account_id")?,
        ownership: Ownership { owner_id: r.opt_i64("owner_id")?, team_id: r.opt_i64("team_id")? },
        amount_minor: amount,
        allocated_minor: allocated,
        id: PublicId::from_uuid(r.uuid("public_id")?),
        direction: r.text("direction")?,
        account_id: PublicId::from_uuid(r.uuid("account_public_id")?),
        account_name: r.text("account_name")?,
        amount: format_minor(amount, currency),
        currency,
        date: r.opt_date("payment_date")?.ok_or_else(|| StoreError::Decode("payment without a date".into()))?,
        method: r.text("method")?,
        reference: r.opt_text("reference")?,
        notes: r.text("notes")?,
        allocated: format_minor(allocated, currency),
        unallocated: format_minor(amount - allocated, currency),
        status: r.text("status")?,
        allocations: vec![],
        external_ids: vec![],
        version: r.i64("version")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

async fn load_allocations(tx: &mut Tx, tenant_id: i64, p: &mut Payment) -> StoreResult<()> {
    let c = p.currency;
    p.external_ids = external_ids::load(tx, EXTERNAL, tenant_id, &[p.key]).await?.into_iter().map(|(_, e)| e).collect();
    p.allocations = tx
        .fetch_all(
            "SELECT d.public_id, d.number, al.amount_minor, al.allocated_on FROM allocations al \
             JOIN documents d ON d.tenant_id = al.tenant_id AND d.id = al.invoice_id \
             WHERE al.tenant_id = $1 AND al.payment_id = $2 ORDER BY al.id",
            args![tenant_id, p.key],
            |r| {
                Ok(AllocationView {
                    invoice_id: PublicId::from_uuid(r.uuid("public_id")?),
                    invoice_number: r.opt_text("number")?,
                    amount: format_minor(r.i64("amount_minor")?, c),
                    date: r.opt_date("allocated_on")?.ok_or_else(|| StoreError::Decode("allocation date".into()))?,
                })
            },
        )
        .await?;
    Ok(())
}

/// A payment by public id, with its allocations.
pub async fn get(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<Option<Payment>> {
    let p = tx
        .fetch_optional(format!("{SELECT} WHERE p.tenant_id = $1 AND p.public_id = $2"), args![tenant_id, id], decode)
        .await?;
    match p {
        Some(mut p) => {
            load_allocations(tx, tenant_id, &mut p).await?;
            Ok(Some(p))
        }
        None => Ok(None),
    }
}

async fn get_by_key(tx: &mut Tx, tenant_id: i64, key: i64) -> StoreResult<Payment> {
    let mut p = tx
        .fetch_optional(format!("{SELECT} WHERE p.tenant_id = $1 AND p.id = $2"), args![tenant_id, key], decode)
        .await?
        .ok_or(DomainError::NotFound { record: "payment" })?;
    load_allocations(tx, tenant_id, &mut p).await?;
    Ok(p)
}

/// Filters of the payment list.
#[derive(Debug, Clone)]
pub struct PaymentQuery {
    /// Payments sent to suppliers; otherwise payments received and refunds.
    pub sent: bool,
    pub visibility: Visibility,
    pub account_key: Option<i64>,
    pub cursor: Option<Cursor>,
    /// The order; the list's own (no column) pages by `cursor`, the others by `sorted_after`.
    pub sort: Sort<Payment>,
    pub sorted_after: Option<SortCursor>,
    pub limit: i64,
}

impl Default for PaymentQuery {
    fn default() -> Self {
        Self {
            sent: false,
            visibility: Visibility::All,
            account_key: None,
            cursor: None,
            sort: Sort::default(),
            sorted_after: None,
            limit: 50,
        }
    }
}

/// The columns the payment lists sort by (`?sort=`); without one, newest first.
pub static SORTS: &[SortColumn<Payment>] = &[
    SortColumn { name: "date", sql: "p.payment_date", value: |p| SortValue::Date(p.date) },
    SortColumn { name: "amount", sql: "p.amount_minor", value: |p| SortValue::Int(p.amount_minor) },
    SortColumn { name: "account", sql: "a.name", value: |p| SortValue::Text(p.account_name.clone()) },
];

/// Payments, newest first (without their allocations).
pub async fn list(tx: &mut Tx, tenant_id: i64, q: &PaymentQuery) -> StoreResult<Page<Payment>> {
    let mut sql = format!("{SELECT} WHERE p.tenant_id = $1");
    let mut a = args![tenant_id];
    sql.push_str(if q.sent { " AND p.direction = 'sent'" } else { " AND p.direction <> 'sent'" });
    q.visibility.push_on("a.owner_id", "a.team_id", &mut sql, &mut a);
    if let Some(k) = q.account_key {
        and_where(&mut sql, &mut a, "p.account_id = $?", k);
    }
    let mut f = ListSql { sql, args: a };
    let limit = f.sorted_page("p.id", true, q.sort, q.cursor, q.sorted_after.as_ref(), q.limit);
    let rows = tx.fetch_all(f.sql, f.args, decode).await?;
    let mut page = Page::from_rows(rows, limit, |p| p.key);
    let keys: Vec<i64> = page.items.iter().map(|p| p.key).collect();
    let ext = external_ids::load(tx, EXTERNAL, tenant_id, &keys).await?;
    for p in &mut page.items {
        p.external_ids = ext.iter().filter(|(k, _)| *k == p.key).map(|(_, e)| e.clone()).collect();
    }
    Ok(page)
}

/// The payment holding this id in another system, with its allocations.
pub async fn get_by_external_id(tx: &mut Tx, tenant_id: i64, e: &ExternalId) -> StoreResult<Option<Payment>> {
    match external_ids::owner_of(tx, EXTERNAL, tenant_id, e).await? {
        Some(key) => Ok(Some(get_by_key(tx, tenant_id, key).await?)),
        None => Ok(None),
    }
}

/// Received payments with something left unallocated (the account's credit
/// waiting to be allocated), oldest first, at most `limit` (the accounting
/// home page's work list).
pub async fn unallocated(tx: &mut Tx, tenant_id: i64, visibility: Visibility, limit: i64) -> StoreResult<Vec<Payment>> {
    let mut sql = format!(
        "{SELECT} WHERE p.tenant_id = $1 AND p.direction = 'received' AND p.status = 'posted' \
         AND p.amount_minor > p.allocated_minor"
    );
    let mut a = args![tenant_id];
    visibility.push_on("a.owner_id", "a.team_id", &mut sql, &mut a);
    a.push(limit.clamp(1, 100).into());
    sql.push_str(&format!(" ORDER BY p.payment_date, p.id LIMIT ${}", a.len()));
    tx.fetch_all(sql, a, decode).await
}

/// One allocation as entered: an invoice (a bill, for payments sent) and an amount (decimal).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocationInput {
    /// The invoice; payments sent name a bill here or in `bill_id`.
    #[schema(value_type = String)]
    #[serde(alias = "bill_id")]
    pub invoice_id: PublicId,
    #[schema(value_type = String, example = "45.08")]
    pub amount: Decimal,
}

/// A new payment received.
#[derive(Debug, Clone)]
pub struct NewPayment {
    /// Sent to a supplier (allocated to bills) rather than received.
    pub sent: bool,
    pub account_id: PublicId,
    pub amount: Decimal,
    pub currency: Option<Currency>,
    pub date: Option<Date>,
    pub method: String,
    pub reference: Option<String>,
    pub notes: String,
    pub allocations: Vec<AllocationInput>,
    /// The payment's ids in other systems.
    pub external_ids: Vec<ExternalId>,
}

fn minor(v: &mut Validator, field: &str, d: Decimal, c: Currency) -> i64 {
    match Money::from_decimal_exact(d, c) {
        Ok(m) if m.minor() > 0 => m.minor(),
        Ok(_) => {
            v.add(field, "must be above 0");
            0
        }
        Err(_) => {
            v.add(field, format!("must have at most {} decimals ({})", c.minor_units(), c.code()));
            0
        }
    }
}

fn check_method(v: &mut Validator, method: &str) {
    if !METHODS.contains(&method) {
        v.add("method", format!("must be one of {}", METHODS.join(", ")));
    }
}

fn clean(v: &mut Validator, field: &str, s: Option<&str>, max: usize) -> Option<String> {
    let s = s.map(str::trim).filter(|s| !s.is_empty())?;
    if s.chars().count() > max {
        v.add(field, format!("must be at most {max} characters"));
    }
    Some(s.to_string())
}

/// Writes one allocation row: from a payment or a credit note to an invoice.
pub(crate) async fn record_allocation(
    tx: &mut Tx,
    actor: &Actor,
    payment_key: Option<i64>,
    credit_note_key: Option<i64>,
    invoice_key: i64,
    amount: i64,
    on: Date,
) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO allocations (tenant_id, id, payment_id, credit_note_id, invoice_id, amount_minor, allocated_on, \
         created_at, created_by) VALUES ($1, {}, $2, $3, $4, $5, $6, $7, $8)",
        tx.new_id_expr("allocations", "$1")
    );
    tx.execute(
        sql,
        args![actor.tenant_id, payment_key, credit_note_key, invoice_key, amount, on, now(), actor.user_id],
    )
    .await?;
    Ok(())
}

/// What allocations are made from: a payment or a credit note of an account,
/// in a currency, with `available` left to allocate.
struct Source {
    /// What it settles: invoices, or bills (payments sent, bill credits).
    target: DocType,
    payment: Option<i64>,
    credit_note: Option<i64>,
    account_key: i64,
    currency: Currency,
    available: i64,
}

/// Checks and writes allocations from `from`; returns the Σ allocated.
/// Refusals name the allocation's field and the limit.
async fn allocate_to_invoices(
    tx: &mut Tx,
    actor: &Actor,
    from: &Source,
    inputs: &[AllocationInput],
    on: Date,
) -> StoreResult<i64> {
    let t = actor.tenant_id;
    let (account_key, currency, available) = (from.account_key, from.currency, from.available);
    let mut v = Validator::new();
    let amounts: Vec<i64> = inputs
        .iter()
        .enumerate()
        .map(|(i, a)| minor(&mut v, &format!("allocations[{i}].amount"), a.amount, currency))
        .collect();
    v.finish()?;
    let sum: i64 = amounts.iter().sum();
    if sum > available {
        return Err(DomainError::invalid(
            "allocations",
            format!(
                "the allocations add up to {} {c}, more than the {} {c} available to allocate",
                format_minor(sum, currency),
                format_minor(available, currency),
                c = currency.code()
            ),
        )
        .into());
    }
    let what = from.target.label();
    for (i, (a, amount)) in inputs.iter().zip(&amounts).enumerate() {
        let field = format!("allocations[{i}].invoice_id");
        let found = documents::get(tx, t, from.target, a.invoice_id).await?;
        let Some(found) = found else {
            return Err(DomainError::invalid(
                field,
                format!("is not the id of a{} {what}", if what == "invoice" { "n" } else { "" }),
            )
            .into());
        };
        // Lock, then read the balance as it is now.
        let inv: Document = documents::lock_header(tx, t, found.key).await?;
        if inv.account_key != account_key {
            return Err(DomainError::invalid(
                field,
                format!("is {} {what} of another account", if what == "invoice" { "an" } else { "a" }),
            )
            .into());
        }
        if inv.currency != currency {
            return Err(DomainError::invalid(
                field,
                format!(
                    "is {} {what} in {}, not {}",
                    if what == "invoice" { "an" } else { "a" },
                    inv.currency.code(),
                    currency.code()
                ),
            )
            .into());
        }
        let number = inv.number.clone().unwrap_or_default();
        if !matches!(inv.status, DocStatus::Issued | DocStatus::PartPaid) {
            return Err(DomainError::invalid(
                field,
                format!("{what} {number} is {}: only issued or part paid {what}s take allocations", inv.status),
            )
            .into());
        }
        if *amount > inv.balance_minor {
            return Err(DomainError::invalid(
                format!("allocations[{i}].amount"),
                format!(
                    "{} {c} is more than the {} {c} balance of {what} {number}",
                    format_minor(*amount, currency),
                    format_minor(inv.balance_minor, currency),
                    c = currency.code()
                ),
            )
            .into());
        }
        record_allocation(tx, actor, from.payment, from.credit_note, inv.key, *amount, on).await?;
        billing::settle(tx, actor, inv.key, *amount).await?;
    }
    Ok(sum)
}

/// Records a payment received, with its first allocations.
pub async fn create(tx: &mut Tx, actor: &Actor, new: NewPayment) -> StoreResult<Payment> {
    let t = actor.tenant_id;
    let account = crate::accounts::get(tx, t, new.account_id)
        .await?
        .ok_or_else(|| DomainError::invalid("account_id", "is not the id of an account"))?;
    let currency = new.currency.unwrap_or(account.currency);
    let mut v = Validator::new();
    let amount = minor(&mut v, "amount", new.amount, currency);
    check_method(&mut v, &new.method);
    let reference = clean(&mut v, "reference", new.reference.as_deref(), 100);
    let notes = clean(&mut v, "notes", Some(&new.notes), 4000).unwrap_or_default();
    let ext = nave_domain::external_id::check_external_ids(&mut v, "external_ids", &new.external_ids);
    v.finish()?;
    let date = new.date.unwrap_or_else(|| now().date());
    let id = PublicId::new();
    let at = now();
    let sql = format!(
        "INSERT INTO payments (tenant_id, id, public_id, direction, account_id, amount_minor, currency, payment_date, \
         method, reference, notes, allocated_minor, status, version, created_at, updated_at, created_by, updated_by) \
         VALUES ($1, {}, $2, $12, $3, $4, $5, $6, $7, $8, $9, 0, 'posted', 1, $10, $10, $11, $11) RETURNING id",
        tx.new_id_expr("payments", "$1")
    );
    let key = tx
        .fetch_one(
            sql,
            args![
                t,
                id,
                account.key,
                amount,
                currency.code(),
                date,
                new.method.as_str(),
                reference,
                notes,
                at,
                actor.user_id,
                if new.sent { "sent" } else { "received" }
            ],
            |r| r.i64("id"),
        )
        .await?;
    external_ids::insert(tx, EXTERNAL, t, key, &ext).await?;
    let target = if new.sent { DocType::Bill } else { DocType::Invoice };
    let sum = allocate_to_invoices(
        tx,
        actor,
        &Source {
            target,
            payment: Some(key),
            credit_note: None,
            account_key: account.key,
            currency,
            available: amount,
        },
        &new.allocations,
        date,
    )
    .await?;
    tx.execute("UPDATE payments SET allocated_minor = $3 WHERE tenant_id = $1 AND id = $2", args![t, key, sum]).await?;
    let p = get_by_key(tx, t, key).await?;
    audit::created(tx, actor, record_type(&p), id, &p).await?;
    Ok(p)
}

/// Allocates more of a payment to invoices (up to what is unallocated).
pub async fn allocate(
    tx: &mut Tx,
    actor: &Actor,
    before: &Payment,
    if_version: Option<i64>,
    inputs: &[AllocationInput],
) -> StoreResult<Payment> {
    let t = actor.tenant_id;
    crate::expect_version("payment", before.version, if_version)?;
    if inputs.is_empty() {
        return Err(DomainError::invalid("allocations", "give at least one allocation").into());
    }
    let sql =
        format!("SELECT allocated_minor, version FROM payments WHERE tenant_id = $1 AND id = $2{}", tx.for_update());
    let (allocated, version) =
        tx.fetch_one(sql, args![t, before.key], |r| Ok((r.i64("allocated_minor")?, r.i64("version")?))).await?;
    if version != before.version {
        return Err(DomainError::VersionMismatch { record: "payment", current: version }.into());
    }
    if !matches!(before.direction.as_str(), "received" | "sent") || before.status != "posted" {
        return Err(DomainError::Conflict("only a posted payment received or sent can be allocated".into()).into());
    }
    let target = if before.direction == "sent" { DocType::Bill } else { DocType::Invoice };
    let available = before.amount_minor - allocated;
    let sum = allocate_to_invoices(
        tx,
        actor,
        &Source {
            target,
            payment: Some(before.key),
            credit_note: None,
            account_key: before.account_key,
            currency: before.currency,
            available,
        },
        inputs,
        now().date(),
    )
    .await?;
    tx.execute(
        "UPDATE payments SET allocated_minor = allocated_minor + $3, version = version + 1, updated_at = $4, \
         updated_by = $5 WHERE tenant_id = $1 AND id = $2",
        args![t, before.key, sum, now(), actor.user_id],
    )
    .await?;
    let after = get_by_key(tx, t, before.key).await?;
    audit::updated(tx, actor, record_type(&after), after.id, after.version, before, &after).await?;
    Ok(after)
}

/// The record type a payment is permitted and audited as.
pub fn record_type(p: &Payment) -> RecordType {
    if p.direction == "sent" { RecordType::PaymentSent } else { RecordType::Payment }
}

async fn lock_credit_note(tx: &mut Tx, t: i64, cn: &Document, if_version: Option<i64>) -> StoreResult<Document> {
    crate::expect_version("credit note", cn.version, if_version)?;
    let head = documents::lock_header(tx, t, cn.key).await?;
    if head.version != cn.version {
        return Err(DomainError::VersionMismatch { record: "credit note", current: head.version }.into());
    }
    if !head.doc_type.is_credit_like() || head.status != DocStatus::Issued {
        return Err(DomainError::Conflict(format!(
            "the {what} is {}: only an issued {what} with a balance is applied or refunded",
            head.status,
            what = head.doc_type.label()
        ))
        .into());
    }
    Ok(head)
}

/// Applies an issued credit note to invoices of its account (Σ ≤ its balance).
pub async fn apply_credit_note(
    tx: &mut Tx,
    actor: &Actor,
    cn: &Document,
    if_version: Option<i64>,
    inputs: &[AllocationInput],
) -> StoreResult<Document> {
    let t = actor.tenant_id;
    let head = lock_credit_note(tx, t, cn, if_version).await?;
    if inputs.is_empty() {
        return Err(DomainError::invalid("allocations", "give at least one allocation").into());
    }
    let sum = allocate_to_invoices(
        tx,
        actor,
        &Source {
            target: head.doc_type.credits().unwrap_or(DocType::Invoice),
            payment: None,
            credit_note: Some(head.key),
            account_key: head.account_key,
            currency: head.currency,
            available: head.balance_minor,
        },
        inputs,
        now().date(),
    )
    .await?;
    billing::settle(tx, actor, head.key, sum).await
}

/// A refund of a credit note as entered.
#[derive(Debug, Clone)]
pub struct Refund {
    pub amount: Decimal,
    pub date: Option<Date>,
    pub method: String,
    pub reference: Option<String>,
}

/// Refunds (part of) an issued credit note's balance: a payment row with
/// direction `refund`, and the credit note settled by as much.
pub async fn refund_credit_note(
    tx: &mut Tx,
    actor: &Actor,
    cn: &Document,
    if_version: Option<i64>,
    refund: Refund,
) -> StoreResult<Document> {
    let t = actor.tenant_id;
    let head = lock_credit_note(tx, t, cn, if_version).await?;
    let c = head.currency;
    let mut v = Validator::new();
    let amount = minor(&mut v, "amount", refund.amount, c);
    check_method(&mut v, &refund.method);
    let reference = clean(&mut v, "reference", refund.reference.as_deref(), 100);
    v.finish()?;
    if amount > head.balance_minor {
        return Err(DomainError::invalid(
            "amount",
            format!(
                "{} {} is more than the {} {} left on credit note {}",
                format_minor(amount, c),
                c.code(),
                format_minor(head.balance_minor, c),
                c.code(),
                head.number.as_deref().unwrap_or("")
            ),
        )
        .into());
    }
    let id = PublicId::new();
    let at = now();
    let sql = format!(
        "INSERT INTO payments (tenant_id, id, public_id, direction, account_id, amount_minor, currency, payment_date, \
         method, reference, notes, allocated_minor, status, version, created_at, updated_at, created_by, updated_by) \
         VALUES ($1, {}, $2, 'refund', $3, $4, $5, $6, $7, $8, $9, $4, 'posted', 1, $10, $10, $11, $11) RETURNING id",
        tx.new_id_expr("payments", "$1")
    );
    let notes = format!("Refund of credit note {}", head.number.as_deref().unwrap_or(""));
    let key = tx
        .fetch_one(
            sql,
            args![
                t,
                id,
                head.account_key,
                amount,
                c.code(),
                refund.date.unwrap_or_else(|| at.date()),
                refund.method.as_str(),
                reference,
                notes,
                at,
                actor.user_id
            ],
            |r| r.i64("id"),
        )
        .await?;
    let p = get_by_key(tx, t, key).await?;
    audit::created(tx, actor, RecordType::Payment, id, &p).await?;
    billing::settle(tx, actor, head.key, amount).await
}
