//! Invoices and credit notes: made from orders and invoices, issued with
//! their number and due dates, voided.

use nave_domain::DomainError;
use nave_domain::ids::PublicId;

use crate::StoreResult;
use crate::audit::Actor;
use crate::db::Tx;
use crate::documents::{Document, GroupInput, HeaderInput};

/// A draft invoice for a sales order of the account `account_key`.
pub async fn invoice_from_order(
    _tx: &mut Tx,
    _actor: &Actor,
    _account_key: i64,
    _order: PublicId,
    _header: HeaderInput,
    _groups: Option<Vec<GroupInput>>,
) -> StoreResult<Document> {
    Err(DomainError::Conflict("PLACEHOLDER".into()).into())
}

/// A draft credit note for an invoice of the account `account_key`.
pub async fn credit_from_invoice(
    _tx: &mut Tx,
    _actor: &Actor,
    _account_key: i64,
    _invoice: PublicId,
    _header: HeaderInput,
    _groups: Option<Vec<GroupInput>>,
) -> StoreResult<Document> {
    Err(DomainError::Conflict("PLACEHOLDER".into()).into())
}

pub async fn issue(
    _tx: &mut Tx,
    _actor: &Actor,
    _doc: &Document,
    _if_version: Option<i64>,
    _override_reason: Option<String>,
) -> StoreResult<Document> {
    Err(DomainError::Conflict("PLACEHOLDER".into()).into())
}

pub async fn void(_tx: &mut Tx, _actor: &Actor, _doc: &Document, _if_version: Option<i64>) -> StoreResult<Document> {
    Err(DomainError::Conflict("PLACEHOLDER".into()).into())
}
