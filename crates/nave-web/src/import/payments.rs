//! Payments received from CSV, in the columns of the payment export
//! (`nave_web::csv_export::PAYMENT_COLUMNS`), matched by `external_id`
//! (`system:id`; `nave:{id}` as for invoices).
//!
//! A new payment is recorded with its allocations: `invoice` names the
//! invoices it settles (each by its key in the invoice export — an external
//! id — or its number) and `allocated` the amounts in the same order (empty:
//! what is left of the invoice's balance, up to what is left of the payment).
//! A posted payment is immutable but for its allocations, so a known payment
//! with the same amount, currency and account allocates the invoices it does
//! not settle yet; a different amount is refused.
//!
//! A user records payments at the accounts their role lets them record
//! payments for, allocates a known payment only when they may change it, and
//! names only invoices they may see.

use nave_domain::access::{Action, RecordType};
use nave_domain::document::DocType;
use nave_domain::external_id::{ExternalId, parse_pair};
use nave_domain::ids::PublicId;
use nave_domain::money::Currency;
use nave_store::Tx;
use nave_store::documents::{self, Document};
use nave_store::payments::{self, AllocationInput, NewPayment, Payment};
use rust_decimal::Decimal;

use super::{Caller, ImportResult, Importer, Outcome, Row, RowError, RowResult, account_of, list, row_errors};
use crate::csv_export::{NAVE_SYSTEM, PAYMENT_COLUMNS};

/// Imports payments.
#[derive(Debug, Default)]
pub struct Payments;

/// The payment named by a key: by external id, or `nave:{id}` by its id here.
async fn find(tx: &mut Tx, t: i64, key: &ExternalId) -> ImportResult<Option<Payment>> {
    if let Some(p) = payments::get_by_external_id(tx, t, key).await? {
        return Ok(Some(p));
    }
    if key.system == NAVE_SYSTEM
        && let Ok(id) = key.id.parse::<PublicId>()
    {
        return Ok(payments::get(tx, t, id).await?);
    }
    Ok(None)
}

/// The invoice an `invoice` entry names: its key (an external id, or
/// `nave:{id}`), else its number; only an invoice the caller may see.
async fn invoice(tx: &mut Tx, caller: &Caller, entry: &str) -> ImportResult<Option<Document>> {
    let t = caller.tenant_id();
    let mut found = None;
    if let Some(e) = parse_pair(entry) {
        found = super::invoices::find(tx, t, &ExternalId::new(e.system.to_lowercase(), e.id)).await?;
    }
    if found.is_none() {
        found = documents::get_by_number(tx, t, DocType::Invoice, entry).await?;
    }
    Ok(found.filter(|d| caller.may(RecordType::Invoice, Action::Read, d.ownership)))
}

fn column(field: &str) -> String {
    match super::field_root(field) {
        "" => "external_id".into(),
        "account_id" => "account".into(),
        "allocations" => "invoice".into(),
        f => f.into(),
    }
}

impl Payments {
    /// The allocations of the row, for a payment of `amount` (left) in `currency`.
    async fn allocations(
        &self,
        tx: &mut Tx,
        caller: &Caller,
        row: &Row,
        already: &[PublicId],
        mut left: Decimal,
    ) -> ImportResult<Result<Vec<AllocationInput>, Vec<RowError>>> {
        let invoices = list(row.cell("invoice"));
        let amounts = list(row.cell("allocated"));
        if !amounts.is_empty() && amounts.len() != invoices.len() {
            return Ok(Err(row.error("allocated", "must list one amount per invoice, in the same order")));
        }
        let mut out = Vec::new();
        for (i, entry) in invoices.iter().enumerate() {
            let Some(d) = invoice(tx, caller, entry).await? else {
                return Ok(Err(row.error("invoice", format!("there is no invoice {entry}"))));
            };
            if already.contains(&d.id) {
                continue;
            }
            let amount = match amounts.get(i) {
                Some(a) => match a.parse::<Decimal>() {
                    Ok(a) => a,
                    Err(_) => return Ok(Err(row.error("allocated", format!("{a} is not an amount")))),
                },
                None => {
                    let balance = d.balance.parse::<Decimal>().unwrap_or_default();
                    balance.min(left)
                }
            };
            left -= amount;
            out.push(AllocationInput { invoice_id: d.id, amount });
        }
        Ok(Ok(out))
    }
}

impl Importer for Payments {
    const NOUN: &'static str = "payment";
    const RECORD: RecordType = RecordType::Payment;
    const COLUMNS: &'static [&'static str] = &PAYMENT_COLUMNS;
    const REQUIRED: &'static str = "amount";

    fn keys(&self, row: &Row) -> Vec<(&'static str, String, String)> {
        row.cell("external_id").map(|k| ("external_id", k.to_lowercase(), k.to_string())).into_iter().collect()
    }

    async fn import(&mut self, tx: &mut Tx, caller: &Caller, row: &Row) -> ImportResult<RowResult> {
        let (t, actor) = (caller.tenant_id(), &caller.actor);
        let key = match row.cell("external_id") {
            None => None,
            Some(k) => match parse_pair(k).filter(|e| !e.system.is_empty() && !e.id.is_empty()) {
                Some(e) => Some(ExternalId::new(e.system.to_lowercase(), e.id)),
                None => return Ok(row.refuse("external_id", "must be system:id, e.g. bank:TX-881")),
            },
        };
        let existing = match &key {
            Some(k) => find(tx, t, k).await?,
            None => None,
        };
        let Some(amount) = row.cell("amount") else { return Ok(row.refuse("amount", "is required")) };
        let Ok(amount) = amount.parse::<Decimal>() else {
            return Ok(row.refuse("amount", "must be a number, e.g. 120.00"));
        };
        let currency = match row.cell("currency") {
            None => None,
            Some(c) => match Currency::parse(&c.to_ascii_uppercase()) {
                Ok(c) => Some(c),
                Err(e) => return Ok(row.refuse("currency", e.to_string())),
            },
        };
        if let Some(p) = &existing
            && !caller.may(RecordType::Payment, Action::Update, p.ownership)
        {
            return Ok(row.refuse("external_id", "names a payment your role may not change"));
        }
        let permission = match &existing {
            Some(_) => (RecordType::Payment, Action::Update, "change payments of"),
            None => (RecordType::Payment, Action::Create, "record payments for"),
        };
        let account_id = match row.cell("account") {
            Some(cell) => match account_of(tx, caller, row, cell, permission).await? {
                Ok(a) => Some(a.id),
                Err(e) => return Ok(Err(e)),
            },
            None if existing.is_some() => None,
            None => return Ok(row.refuse("account", "is required for a new payment")),
        };
        if let Some(p) = &existing {
            // Posted payments are immutable but for their allocations.
            if p.direction == "sent" {
                return Ok(row.refuse("external_id", "names a payment sent; this file holds payments received"));
            }
            if p.amount.parse::<Decimal>().ok() != Some(amount) {
                return Ok(row.refuse("amount", format!("the payment is posted at {}: it cannot change", p.amount)));
            }
            if currency.is_some_and(|c| c != p.currency) {
                return Ok(row.refuse("currency", "the payment is posted: its currency cannot change"));
            }
            if account_id.is_some_and(|a| a != p.account_id) {
                return Ok(row.refuse("account", "the payment is posted: its account cannot change"));
            }
            let already: Vec<PublicId> = p.allocations.iter().map(|a| a.invoice_id).collect();
            let left = p.unallocated.parse::<Decimal>().unwrap_or_default();
            let new = match self.allocations(tx, caller, row, &already, left).await? {
                Ok(a) => a,
                Err(e) => return Ok(Err(e)),
            };
            if new.is_empty() {
                return Ok(Ok(Outcome::Unchanged));
            }
            if let Err(e) = payments::allocate(tx, actor, p, None, &new).await {
                return Ok(Err(row_errors(row, e, column)?));
            }
            return Ok(Ok(Outcome::Updated));
        }
        let date = match row.cell("date") {
            None => None,
            Some(d) => match nave_domain::dates::parse(d) {
                Some(d) => Some(d),
                None => return Ok(row.refuse("date", "must be a date written YYYY-MM-DD")),
            },
        };
        let allocations = match self.allocations(tx, caller, row, &[], amount).await? {
            Ok(a) => a,
            Err(e) => return Ok(Err(e)),
        };
        let new = NewPayment {
            sent: false,
            account_id: account_id.expect("a new payment has its account"),
            amount,
            currency,
            date,
            method: row.cell("method").unwrap_or("bank_transfer").to_string(),
            reference: row.cell("reference").map(str::to_string),
            notes: row.cell("notes").unwrap_or("").to_string(),
            allocations,
            external_ids: key.into_iter().collect(),
        };
        match payments::create(tx, actor, new).await {
            Ok(_) => Ok(Ok(Outcome::Created)),
            Err(e) => Ok(Err(row_errors(row, e, column)?)),
        }
    }
}
