//! Sales orders: converting quotes, confirming (credit limit, stock
//! reservations), cancelling, and the order desk's views.

use nave_domain::DomainError;
use nave_domain::document::DocType;

use crate::StoreResult;
use crate::audit::Actor;
use crate::db::Tx;
use crate::documents::Document;

/// Converts an accepted quote into one sales order (confirmed) or an invoice
/// (draft); returns whether it was created now, and the document. Converting
/// again returns the document made the first time.
pub async fn convert_quote(
    _tx: &mut Tx,
    _actor: &Actor,
    _quote: &Document,
    _if_version: Option<i64>,
    _to: DocType,
    _override_reason: Option<String>,
) -> StoreResult<(bool, Document)> {
    Err(DomainError::Conflict("PLACEHOLDER".into()).into())
}

pub async fn confirm(
    _tx: &mut Tx,
    _actor: &Actor,
    _order: &Document,
    _if_version: Option<i64>,
    _override_reason: Option<String>,
) -> StoreResult<Document> {
    Err(DomainError::Conflict("PLACEHOLDER".into()).into())
}

pub async fn cancel(
    _tx: &mut Tx,
    _actor: &Actor,
    _order: &Document,
    _if_version: Option<i64>,
) -> StoreResult<Document> {
    Err(DomainError::Conflict("PLACEHOLDER".into()).into())
}
