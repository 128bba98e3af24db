//! Polling triggers for connector platforms (Zapier, Make; ADR 0016): the
//! newest records of one kind, newest first, within the reader's record
//! scope. A trigger answers ids only; the caller reads each record through its
//! own read path and shows it through field security.

use nave_domain::access::RecordType;
use nave_domain::ids::PublicId;

use crate::accounts::Visibility;
use crate::db::Tx;
use crate::{StoreResult, args};

/// A polling trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// Accounts, newest created first.
    NewAccount,
    /// Accounts, most recently changed first.
    UpdatedAccount,
    /// Contacts, newest created first.
    NewContact,
    /// Invoices, most recently issued first (drafts are not listed).
    NewInvoice,
    /// Payments received, newest recorded first.
    NewPayment,
}

impl Trigger {
    pub const ALL: [Trigger; 5] =
        [Trigger::NewAccount, Trigger::UpdatedAccount, Trigger::NewContact, Trigger::NewInvoice, Trigger::NewPayment];

    /// The name in `/api/v1/triggers/{name}`.
    pub fn name(self) -> &'static str {
        match self {
            Trigger::NewAccount => "new-account",
            Trigger::UpdatedAccount => "updated-account",
            Trigger::NewContact => "new-contact",
            Trigger::NewInvoice => "new-invoice",
            Trigger::NewPayment => "new-payment",
        }
    }

    pub fn parse(s: &str) -> Option<Trigger> {
        Trigger::ALL.into_iter().find(|t| t.name() == s)
    }

    /// The record type listed (its read permission and field security apply).
    pub fn record_type(self) -> RecordType {
        match self {
            Trigger::NewAccount | Trigger::UpdatedAccount => RecordType::Account,
            Trigger::NewContact => RecordType::Contact,
            Trigger::NewInvoice => RecordType::Invoice,
            Trigger::NewPayment => RecordType::Payment,
        }
    }

    /// Does an item stand for a change rather than a record (its id is then
    /// `{record id}:{version}`, so a connector deduplicating by id sees each
    /// change once)?
    pub fn is_change(self) -> bool {
        self == Trigger::UpdatedAccount
    }

    /// The REST-hook event whose deliveries have this trigger's shape.
    pub fn event(self) -> &'static str {
        match self {
            Trigger::NewAccount => "account.created",
            Trigger::UpdatedAccount => "account.updated",
            Trigger::NewContact => "contact.created",
            Trigger::NewInvoice => crate::webhooks::INVOICE_ISSUED,
            Trigger::NewPayment => "payment.created",
        }
    }

    /// The trigger whose items have the shape of a REST hook's `event`.
    pub fn for_event(event: &str) -> Option<Trigger> {
        Trigger::ALL.into_iter().find(|t| t.event() == event)
    }
}

/// The public ids of the newest `limit` records of a trigger that a reader
/// with `visibility` may see, newest first. Ties are broken by key, so the
/// order is stable.
pub async fn newest(
    tx: &mut Tx,
    tenant_id: i64,
    trigger: Trigger,
    visibility: Visibility,
    limit: i64,
) -> StoreResult<Vec<PublicId>> {
    let (from, order) = match trigger {
        Trigger::NewAccount => ("accounts a WHERE a.tenant_id = $1", "a.id DESC"),
        Trigger::UpdatedAccount => ("accounts a WHERE a.tenant_id = $1", "a.updated_at DESC, a.id DESC"),
        Trigger::NewContact => (
            "contacts x JOIN accounts a ON a.tenant_id = x.tenant_id AND a.id = x.account_id WHERE x.tenant_id = $1",
            "x.id DESC",
        ),
        Trigger::NewInvoice => (
            "documents x JOIN accounts a ON a.tenant_id = x.tenant_id AND a.id = x.account_id \
             WHERE x.tenant_id = $1 AND x.doc_type = 'invoice' AND x.issued_at IS NOT NULL",
            "x.issued_at DESC, x.id DESC",
        ),
        Trigger::NewPayment => (
            "payments x JOIN accounts a ON a.tenant_id = x.tenant_id AND a.id = x.account_id \
             WHERE x.tenant_id = $1 AND x.direction = 'received'",
            "x.id DESC",
        ),
    };
    let alias = if from.starts_with("accounts a") { "a" } else { "x" };
    let mut sql = format!("SELECT {alias}.public_id AS pid FROM {from}");
    let mut a = args![tenant_id];
    visibility.push_on("a.owner_id", "a.team_id", &mut sql, &mut a);
    sql.push_str(&format!(" ORDER BY {order} LIMIT {}", limit.clamp(1, 100)));
    tx.fetch_all(sql, a, |r| Ok(PublicId::from_uuid(r.uuid("pid")?))).await
}
