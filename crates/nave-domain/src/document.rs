//! Commercial documents of the sales side — quotes, sales orders, invoices
//! and credit notes — as state machines, with the rules that hold between
//! them: numbering, the per-line quantity ledger and the credit limit.
//!
//! Every document is priced by [`crate::pricing::price`]; this module decides
//! what may happen to it.
//!
//! Lifecycles (DOMAIN.md "Lifecycles"), as explicit actions:
//!
//! | type | from | actions |
//! |---|---|---|
//! | quote | draft | send, accept, reject |
//! | quote | sent | accept, reject, expire, revise |
//! | quote | accepted | convert |
//! | quote | rejected, expired | revise |
//! | sales order | draft | confirm, cancel |
//! | sales order | open | cancel |
//! | invoice, credit note | draft | issue |
//! | invoice | issued, part_paid | void (only while nothing is allocated) |
//! | credit note | issued | void (only while nothing is applied) |
//!
//! Only drafts can be edited; `revise` takes a quote back to draft and keeps
//! the earlier revision readable. An open sales order becomes `completed`
//! once every line is shipped and invoiced in full (or is cancelled). An
//! issued invoice becomes `part_paid` and then `paid` as payments and credits
//! settle it; `overdue` is derived (issued or part paid, past its last due
//! date). An issued credit note becomes `applied` once fully applied or
//! refunded.

use time::Date;

use crate::DomainError;
use crate::access::{RecordType, string_enum};

string_enum! {
    /// The kinds of commercial document of the sales side.
    DocType {
        Quote => "quote",
        SalesOrder => "sales_order",
        Invoice => "invoice",
        CreditNote => "credit_note",
        PurchaseOrder => "purchase_order",
        Receipt => "receipt",
        Bill => "bill",
        BillCredit => "bill_credit",
    }
}

impl DocType {
    /// The record type permissions are given for.
    pub fn record_type(self) -> RecordType {
        match self {
            DocType::Quote => RecordType::Quote,
            DocType::SalesOrder => RecordType::SalesOrder,
            DocType::Invoice => RecordType::Invoice,
            DocType::CreditNote => RecordType::CreditNote,
            DocType::PurchaseOrder => RecordType::PurchaseOrder,
            DocType::Receipt => RecordType::Receipt,
            DocType::Bill => RecordType::Bill,
            DocType::BillCredit => RecordType::BillCredit,
        }
    }

    /// The name people read: "sales order".
    pub fn label(self) -> &'static str {
        match self {
            DocType::Quote => "quote",
            DocType::SalesOrder => "sales order",
            DocType::Invoice => "invoice",
            DocType::CreditNote => "credit note",
            DocType::PurchaseOrder => "purchase order",
            DocType::Receipt => "receipt",
            DocType::Bill => "bill",
            DocType::BillCredit => "bill credit",
        }
    }

    /// Is it paid or applied, and so carries a balance (invoices, bills and
    /// their credits)?
    pub fn has_balance(self) -> bool {
        matches!(self, DocType::Invoice | DocType::CreditNote | DocType::Bill | DocType::BillCredit)
    }

    /// The resource path: `/api/v1/{path}` and the page at `/{path}`.
    pub fn path(self) -> &'static str {
        match self {
            DocType::Quote => "quotes",
            DocType::SalesOrder => "sales-orders",
            DocType::Invoice => "invoices",
            DocType::CreditNote => "credit-notes",
            DocType::PurchaseOrder => "purchase-orders",
            DocType::Receipt => "receipts",
            DocType::Bill => "bills",
            DocType::BillCredit => "bill-credits",
        }
    }

    /// The prefix of the default numbering sequence (`{year}` is the year of
    /// the document date).
    pub fn default_prefix(self) -> &'static str {
        match self {
            DocType::Quote => "QUO-{year}-",
            DocType::SalesOrder => "SO-{year}-",
            DocType::Invoice => "INV-{year}-",
            DocType::CreditNote => "CN-{year}-",
            DocType::PurchaseOrder => "PO-{year}-",
            DocType::Receipt => "REC-{year}-",
            DocType::Bill => "BILL-{year}-",
            DocType::BillCredit => "BC-{year}-",
        }
    }

    /// When the document gets its number: quotes and orders when they are
    /// created (they are references for the customer from the start),
    /// invoices and credit notes only when issued, so a deleted draft never
    /// leaves a gap.
    pub fn numbered_on_create(self) -> bool {
        matches!(self, DocType::Quote | DocType::SalesOrder | DocType::PurchaseOrder)
    }

    /// The purchase side: documents to and from suppliers.
    pub fn is_purchase(self) -> bool {
        matches!(self, DocType::PurchaseOrder | DocType::Receipt | DocType::Bill | DocType::BillCredit)
    }

    /// What is owed and settled by payments: invoices (receivable) and bills (payable).
    pub fn is_invoice_like(self) -> bool {
        matches!(self, DocType::Invoice | DocType::Bill)
    }

    /// What credits an invoice-like document: credit notes and bill credits.
    pub fn is_credit_like(self) -> bool {
        matches!(self, DocType::CreditNote | DocType::BillCredit)
    }

    /// The invoice-like type a credit-like type credits (credit note → invoice, bill credit → bill).
    pub fn credits(self) -> Option<DocType> {
        match self {
            DocType::CreditNote => Some(DocType::Invoice),
            DocType::BillCredit => Some(DocType::Bill),
            _ => None,
        }
    }
}

string_enum! {
    /// Where a document stands. Which statuses a type uses is in the module docs.
    DocStatus {
        Draft => "draft",
        Sent => "sent",
        Accepted => "accepted",
        Rejected => "rejected",
        Expired => "expired",
        Open => "open",
        Completed => "completed",
        Cancelled => "cancelled",
        Issued => "issued",
        PartPaid => "part_paid",
        Paid => "paid",
        Applied => "applied",
        Void => "void",
        Confirmed => "confirmed",
        PartReceived => "part_received",
        Received => "received",
        PartBilled => "part_billed",
        Billed => "billed",
        Done => "done",
    }
}

string_enum! {
    /// The business actions on documents (`POST /{path}/{id}/{action}`).
    DocAction {
        Send => "send",
        Accept => "accept",
        Reject => "reject",
        Expire => "expire",
        Revise => "revise",
        Convert => "convert",
        Confirm => "confirm",
        Cancel => "cancel",
        Issue => "issue",
        Void => "void",
        Receive => "receive",
    }
}

/// The actions allowed on a document of `doc_type` in `status`.
pub fn allowed_actions(doc_type: DocType, status: DocStatus) -> &'static [DocAction] {
    use DocAction as A;
    use DocStatus as S;
    match (doc_type, status) {
        (DocType::Quote, S::Draft) => &[A::Send, A::Accept, A::Reject],
        (DocType::Quote, S::Sent) => &[A::Accept, A::Reject, A::Expire, A::Revise],
        (DocType::Quote, S::Accepted) => &[A::Convert],
        (DocType::Quote, S::Rejected | S::Expired) => &[A::Revise],
        (DocType::SalesOrder, S::Draft) => &[A::Confirm, A::Cancel],
        (DocType::SalesOrder, S::Open) => &[A::Cancel],
        (DocType::Invoice | DocType::CreditNote, S::Draft) => &[A::Issue],
        (DocType::Invoice, S::Issued | S::PartPaid) => &[A::Void],
        (DocType::CreditNote, S::Issued) => &[A::Void],
        (DocType::PurchaseOrder, S::Draft) => &[A::Send, A::Confirm, A::Cancel],
        (DocType::PurchaseOrder, S::Sent) => &[A::Confirm, A::Cancel],
        (DocType::PurchaseOrder, S::Confirmed) => &[A::Cancel],
        (DocType::Receipt, S::Draft) => &[A::Receive],
        (DocType::Bill | DocType::BillCredit, S::Draft) => &[A::Issue],
        (DocType::Bill, S::Issued | S::PartPaid) => &[A::Void],
        (DocType::BillCredit, S::Issued) => &[A::Void],
        _ => &[],
    }
}

/// The status after `action`, or a refusal naming the current status and the
/// allowed actions. (`convert` leaves a quote accepted.)
pub fn transition(doc_type: DocType, status: DocStatus, action: DocAction) -> Result<DocStatus, DomainError> {
    let allowed = allowed_actions(doc_type, status);
    if !allowed.contains(&action) {
        return Err(DomainError::InvalidTransition {
            record: doc_type.label(),
            current: status.as_str().to_string(),
            action: action.as_str(),
            allowed: allowed.iter().map(|a| a.as_str()).collect(),
        });
    }
    use DocAction as A;
    use DocStatus as S;
    Ok(match action {
        A::Send => S::Sent,
        A::Accept | A::Convert => S::Accepted,
        A::Reject => S::Rejected,
        A::Expire => S::Expired,
        A::Revise => S::Draft,
        A::Confirm if doc_type == DocType::PurchaseOrder => S::Confirmed,
        A::Confirm => S::Open,
        A::Cancel => S::Cancelled,
        A::Issue => S::Issued,
        A::Void => S::Void,
        A::Receive => S::Done,
    })
}

/// Whether a document in `status` may still be edited (only drafts).
pub fn editable(status: DocStatus) -> bool {
    status == DocStatus::Draft
}

/// Whether a quote is past its validity on `today` (the day after `valid_until`).
pub fn quote_lapsed(valid_until: Option<Date>, today: Date) -> bool {
    valid_until.is_some_and(|d| today > d)
}

/// The status of an issued invoice or credit note from what settles it:
/// `settled` = payments allocated + credits applied (invoice), or amounts
/// applied + refunded (credit note).
pub fn settlement_status(doc_type: DocType, total: i64, settled: i64) -> DocStatus {
    match doc_type {
        DocType::CreditNote | DocType::BillCredit if settled >= total => DocStatus::Applied,
        DocType::CreditNote | DocType::BillCredit => DocStatus::Issued,
        _ if settled >= total => DocStatus::Paid,
        _ if settled > 0 => DocStatus::PartPaid,
        _ => DocStatus::Issued,
    }
}

/// An invoice is overdue when it is issued or part paid, has a balance and
/// its last due date is before `today`.
pub fn overdue(status: DocStatus, balance: i64, due: Option<Date>, today: Date) -> bool {
    matches!(status, DocStatus::Issued | DocStatus::PartPaid) && balance > 0 && due.is_some_and(|d| d < today)
}

/// The status of a confirmed purchase order from its lines' ledgers
/// (`shipped` = received, `invoiced` = billed): `confirmed` until something
/// is received or billed; then `part_received`/`received` by what arrived,
/// and once billing starts `part_billed`/`billed`; `completed` once every
/// line is received (goods, `goods[i]`) and billed in full.
pub fn purchase_status(lines: &[(LineLedger, bool)]) -> DocStatus {
    let lines: Vec<&(LineLedger, bool)> = lines.iter().filter(|(l, _)| l.ordered > 0).collect();
    if lines.is_empty() {
        return DocStatus::Confirmed;
    }
    let received_all = lines.iter().all(|(l, goods)| !goods || l.shipped >= l.ordered);
    let received_any = lines.iter().any(|(l, goods)| *goods && l.shipped > 0);
    let billed_all = lines.iter().all(|(l, _)| l.invoiced >= l.ordered);
    let billed_any = lines.iter().any(|(l, _)| l.invoiced > 0);
    match () {
        _ if received_all && billed_all => DocStatus::Completed,
        _ if billed_all => DocStatus::Billed,
        _ if billed_any => DocStatus::PartBilled,
        _ if received_all && received_any => DocStatus::Received,
        _ if received_any => DocStatus::PartReceived,
        _ => DocStatus::Confirmed,
    }
}

/// A purchase order in one of these statuses takes receipts and bills.
pub fn purchase_open(status: DocStatus) -> bool {
    matches!(
        status,
        DocStatus::Confirmed
            | DocStatus::PartReceived
            | DocStatus::Received
            | DocStatus::PartBilled
            | DocStatus::Billed
    )
}

string_enum! {
    /// What an invoice created from a sales order takes by default.
    InvoicePolicy {
        /// What was shipped and not yet invoiced (the default).
        Shipped => "shipped",
        /// What was ordered and not yet invoiced (services, prepayment).
        Ordered => "ordered",
    }
}

// ---------------------------------------------------------------------------
// Numbering

/// A document number: the sequence's prefix with `{year}` replaced, then the
/// counter zero-padded to `padding` digits (`INV-2026-00042`).
pub fn format_number(prefix: &str, padding: u32, year: i32, value: i64) -> String {
    format!("{}{:0width$}", prefix.replace("{year}", &year.to_string()), value, width = padding as usize)
}

/// Checks a sequence's prefix and padding as an admin enters them.
pub fn check_sequence(prefix: &str, padding: i64) -> Result<(), DomainError> {
    let mut v = crate::error::Validator::new();
    let p = prefix.replace("{year}", "");
    if prefix.is_empty() || prefix.chars().count() > 30 {
        v.add("prefix", "must be 1 to 30 characters, e.g. \"INV-{year}-\"");
    } else if p.contains(['{', '}']) || prefix.chars().any(char::is_control) {
        v.add("prefix", "may use {year} and no other placeholder");
    }
    if !(1..=12).contains(&padding) {
        v.add("padding", "must be 1 to 12 digits");
    }
    v.finish()
}

// ---------------------------------------------------------------------------
// The per-line quantity ledger

/// The quantities of one sales-order line, in 1/10,000 of a unit. Invariants
/// (DOMAIN.md): shipped ≤ ordered, invoiced ≤ ordered, credited ≤ invoiced,
/// reserved ≤ ordered − shipped, none negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LineLedger {
    pub ordered: i64,
    pub reserved: i64,
    pub shipped: i64,
    pub invoiced: i64,
    pub credited: i64,
}

/// A change the ledger refused, with the limit it would break.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {asked} is more than the {left} left to {verb}")]
pub struct LedgerRefusal {
    pub what: &'static str,
    pub verb: &'static str,
    pub asked: i64,
    pub left: i64,
}

impl LineLedger {
    pub fn left_to_ship(&self) -> i64 {
        self.ordered - self.shipped
    }

    /// What is left to invoice under `policy`: shipped or ordered, less what is invoiced already.
    pub fn left_to_invoice(&self, policy: InvoicePolicy) -> i64 {
        let base = match policy {
            InvoicePolicy::Shipped => self.shipped,
            InvoicePolicy::Ordered => self.ordered,
        };
        (base - self.invoiced).max(0)
    }

    /// The most that may still be invoiced, whatever the policy.
    pub fn invoiceable(&self) -> i64 {
        self.ordered - self.invoiced
    }

    pub fn creditable(&self) -> i64 {
        self.invoiced - self.credited
    }

    pub fn holds(&self) -> bool {
        self.ordered >= 0
            && self.shipped >= 0
            && self.invoiced >= 0
            && self.credited >= 0
            && self.reserved >= 0
            && self.shipped <= self.ordered
            && self.invoiced <= self.ordered
            && self.credited <= self.invoiced
            && self.reserved <= self.ordered - self.shipped
    }

    fn take(asked: i64, left: i64, what: &'static str, verb: &'static str) -> Result<(), LedgerRefusal> {
        if asked <= 0 || asked > left {
            return Err(LedgerRefusal { what, verb, asked, left: left.max(0) });
        }
        Ok(())
    }

    /// Ships `qty`; the reservation shrinks by as much as it covers.
    pub fn ship(&mut self, qty: i64) -> Result<(), LedgerRefusal> {
        Self::take(qty, self.left_to_ship(), "quantity", "ship")?;
        self.shipped += qty;
        self.reserved = (self.reserved - qty).max(0);
        Ok(())
    }

    /// Receives `qty` on a purchase-order line (`shipped` counts what was
    /// received), up to what is left plus `allowance` (the tolerance over the
    /// ordered quantity a setting may give; 0 by default).
    pub fn receive(&mut self, qty: i64, allowance: i64) -> Result<(), LedgerRefusal> {
        Self::take(qty, self.left_to_ship() + allowance.max(0), "quantity", "receive")?;
        self.shipped += qty;
        Ok(())
    }

    pub fn invoice(&mut self, qty: i64) -> Result<(), LedgerRefusal> {
        Self::take(qty, self.invoiceable(), "quantity", "invoice")?;
        self.invoiced += qty;
        Ok(())
    }

    /// Bills `qty` on a purchase-order line (`invoiced` counts what was
    /// billed), up to what is left of the ordered quantity plus `allowance`
    /// (the receiving tolerance; 0 by default).
    pub fn bill(&mut self, qty: i64, allowance: i64) -> Result<(), LedgerRefusal> {
        Self::take(qty, self.invoiceable() + allowance.max(0), "quantity", "bill")?;
        self.invoiced += qty;
        Ok(())
    }

    /// Gives back `qty` invoiced (an invoice voided or a draft deleted).
    pub fn uninvoice(&mut self, qty: i64) {
        self.invoiced = (self.invoiced - qty).max(self.credited);
    }

    pub fn credit(&mut self, qty: i64) -> Result<(), LedgerRefusal> {
        Self::take(qty, self.creditable(), "quantity", "credit")?;
        self.credited += qty;
        Ok(())
    }

    pub fn uncredit(&mut self, qty: i64) {
        self.credited = (self.credited - qty).max(0);
    }

    /// Whether the line needs nothing more: shipped and invoiced in full.
    pub fn done(&self, goods: bool) -> bool {
        (!goods || self.shipped >= self.ordered) && self.invoiced >= self.ordered
    }
}

// ---------------------------------------------------------------------------
// Credit limit

/// A refusal by the credit limit: amounts in minor units of the company
/// currency, formatted by the caller into the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditShortfall {
    pub limit: i64,
    /// Exposure after the change.
    pub exposure: i64,
    pub shortfall: i64,
}

/// DOMAIN.md "Credit limit": exposure = open receivables + open orders not yet
/// invoiced. A change that raises exposure by `added` to above `limit` is
/// refused; a change that does not raise it (or an account without a limit)
/// always passes, so an account already over its limit can still be
/// invoiced for what was ordered.
pub fn check_credit(limit: Option<i64>, exposure_before: i64, added: i64) -> Result<(), CreditShortfall> {
    let Some(limit) = limit else { return Ok(()) };
    let exposure = exposure_before.saturating_add(added);
    if added > 0 && exposure > limit {
        return Err(CreditShortfall { limit, exposure, shortfall: exposure - limit });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_invoice_number_is_the_prefix_with_the_year_and_a_padded_counter() {
        assert_eq!(format_number("INV-{year}-", 5, 2026, 42), "INV-2026-00042");
        assert_eq!(format_number("SO", 3, 2026, 1234), "SO1234");
    }

    #[test]
    fn a_sequence_prefix_takes_only_the_year_placeholder() {
        assert!(check_sequence("INV-{year}-", 5).is_ok());
        assert!(check_sequence("INV-{month}-", 5).is_err());
        assert!(check_sequence("", 5).is_err());
        assert!(check_sequence("INV-", 0).is_err());
    }

    #[test]
    fn a_refused_action_names_the_status_and_the_allowed_actions() {
        let e = transition(DocType::Invoice, DocStatus::Paid, DocAction::Void).unwrap_err();
        assert_eq!(e.to_string(), "cannot void the invoice: it is paid; allowed actions: none");
        let e = transition(DocType::Quote, DocStatus::Draft, DocAction::Convert).unwrap_err();
        assert_eq!(e.to_string(), "cannot convert the quote: it is draft; allowed actions: send, accept, reject");
    }

    #[test]
    fn a_quote_goes_from_draft_to_sent_to_accepted_and_converts() {
        let s = transition(DocType::Quote, DocStatus::Draft, DocAction::Send).unwrap();
        let s = transition(DocType::Quote, s, DocAction::Accept).unwrap();
        assert_eq!(transition(DocType::Quote, s, DocAction::Convert).unwrap(), DocStatus::Accepted);
        assert!(transition(DocType::Quote, s, DocAction::Revise).is_err());
    }

    #[test]
    fn only_drafts_are_editable() {
        for s in DocStatus::ALL {
            assert_eq!(editable(*s), *s == DocStatus::Draft);
        }
    }

    #[test]
    fn settlement_moves_an_invoice_from_issued_to_part_paid_to_paid() {
        assert_eq!(settlement_status(DocType::Invoice, 100, 0), DocStatus::Issued);
        assert_eq!(settlement_status(DocType::Invoice, 100, 1), DocStatus::PartPaid);
        assert_eq!(settlement_status(DocType::Invoice, 100, 100), DocStatus::Paid);
        assert_eq!(settlement_status(DocType::CreditNote, 100, 40), DocStatus::Issued);
        assert_eq!(settlement_status(DocType::CreditNote, 100, 100), DocStatus::Applied);
    }

    #[test]
    fn overdue_needs_a_balance_and_a_past_due_date() {
        let d = time::macros::date!(2026 - 03 - 01);
        let today = time::macros::date!(2026 - 03 - 02);
        assert!(overdue(DocStatus::Issued, 10, Some(d), today));
        assert!(!overdue(DocStatus::Issued, 10, Some(d), d));
        assert!(!overdue(DocStatus::Paid, 0, Some(d), today));
        assert!(!overdue(DocStatus::Draft, 10, Some(d), today));
    }

    #[test]
    fn the_credit_limit_refuses_a_rise_above_it_naming_the_shortfall() {
        assert_eq!(
            check_credit(Some(1000), 900, 150),
            Err(CreditShortfall { limit: 1000, exposure: 1050, shortfall: 50 })
        );
        assert!(check_credit(Some(1000), 900, 100).is_ok());
        assert!(check_credit(None, 900, 10_000).is_ok());
        // Already over the limit, but this change adds nothing.
        assert!(check_credit(Some(1000), 1200, 0).is_ok());
    }

    #[test]
    fn shipping_more_than_is_left_is_refused_with_the_limit() {
        let mut l = LineLedger { ordered: 30_000, ..Default::default() };
        l.ship(20_000).unwrap();
        let e = l.ship(20_000).unwrap_err();
        assert_eq!(e.left, 10_000);
        assert_eq!(l.shipped, 20_000);
    }

    #[test]
    fn a_purchase_order_goes_from_draft_to_sent_to_confirmed_and_follows_its_lines() {
        let s = transition(DocType::PurchaseOrder, DocStatus::Draft, DocAction::Send).unwrap();
        assert_eq!(s, DocStatus::Sent);
        assert_eq!(transition(DocType::PurchaseOrder, s, DocAction::Confirm).unwrap(), DocStatus::Confirmed);
        let e = transition(DocType::PurchaseOrder, DocStatus::Received, DocAction::Cancel).unwrap_err();
        assert!(e.to_string().contains("it is received"), "{e}");
        let l = |o, r, b| (LineLedger { ordered: o, shipped: r, invoiced: b, ..Default::default() }, true);
        assert_eq!(purchase_status(&[l(10, 0, 0)]), DocStatus::Confirmed);
        assert_eq!(purchase_status(&[l(10, 4, 0)]), DocStatus::PartReceived);
        assert_eq!(purchase_status(&[l(10, 10, 0)]), DocStatus::Received);
        assert_eq!(purchase_status(&[l(10, 10, 3)]), DocStatus::PartBilled);
        assert_eq!(purchase_status(&[l(10, 4, 10)]), DocStatus::Billed);
        assert_eq!(purchase_status(&[l(10, 10, 10)]), DocStatus::Completed);
        // A service line is never received: billing it in full completes it.
        let svc = (LineLedger { ordered: 10, invoiced: 10, ..Default::default() }, false);
        assert_eq!(purchase_status(&[svc]), DocStatus::Completed);
    }

    #[test]
    fn receiving_more_than_ordered_is_refused_beyond_the_tolerance() {
        let mut l = LineLedger { ordered: 100_000, ..Default::default() };
        l.receive(60_000, 0).unwrap();
        let e = l.receive(50_000, 0).unwrap_err();
        assert_eq!((e.left, e.verb), (40_000, "receive"));
        l.receive(50_000, 10_000).unwrap();
        assert_eq!(l.shipped, 110_000);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Ship(i64),
        Invoice(i64),
        Uninvoice(i64),
        Credit(i64),
        Uncredit(i64),
        Reserve(i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        let q = 0i64..50_000;
        prop_oneof![
            q.clone().prop_map(Op::Ship),
            q.clone().prop_map(Op::Invoice),
            q.clone().prop_map(Op::Uninvoice),
            q.clone().prop_map(Op::Credit),
            q.clone().prop_map(Op::Uncredit),
            q.prop_map(Op::Reserve),
        ]
    }

    proptest! {
        /// Whatever sequence of shipments, invoices, credits and their reversals
        /// is attempted, the ledger's invariants hold after every step, and a
        /// refused step changes nothing.
        #[test]
        fn the_quantity_ledger_never_breaks_its_invariants(ordered in 0i64..100_000, ops in proptest::collection::vec(op(), 0..40)) {
            let mut l = LineLedger { ordered, ..Default::default() };
            for o in ops {
                let before = l;
                let r = match o {
                    Op::Ship(q) => l.ship(q),
                    Op::Invoice(q) => l.invoice(q),
                    Op::Uninvoice(q) => { l.uninvoice(q); Ok(()) }
                    Op::Credit(q) => l.credit(q),
                    Op::Uncredit(q) => { l.uncredit(q); Ok(()) }
                    Op::Reserve(q) => { l.reserved = q.min(l.left_to_ship()); Ok(()) }
                };
                if r.is_err() {
                    prop_assert_eq!(l, before);
                }
                prop_assert!(l.holds(), "{:?}", l);
            }
        }
    }
}
