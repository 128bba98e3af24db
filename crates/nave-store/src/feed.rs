//! The change feed as one reader sees it: the event log after a position,
//! optionally within a period, limited to the events of records the reader may
//! read, with the fields they may not see removed. `/api/v1/events` and the
//! webhook worker (reading as the subscription's owner) both read through here,
//! so a webhook never carries what its owner's feed would not show.
//!
//! Record scope: an event is shown when the reader may read its record type.
//! With the `all` scope that is enough. With `own` or `team` the record must be
//! within the scope **now** (its current owner and team, or for contacts,
//! documents, shipments, payments and subscriptions its account's): accounts,
//! contacts, commercial and purchase documents, shipments, payments,
//! subscriptions, opportunities, cases and leads are checked this way. Events of
//! other record types under a limited scope, and tombstones of records deleted
//! since (they have no owner any more), are not shown to a limited reader.

use std::collections::{HashMap, HashSet};

use nave_domain::access::{Action, Principal, RecordType, Scope};
use nave_domain::ids::PublicId;
use time::OffsetDateTime;

use crate::accounts::Visibility;
use crate::db::{Arg, Tx};
use crate::events::{self, Event};
use crate::{StoreResult, args};

/// How much of a record an event's payload carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Detail {
    /// The record without its document `groups` and `lines`.
    Header,
    /// The whole record as it was after the change (the default).
    #[default]
    Lines,
}

/// What a reader asks of the feed.
#[derive(Debug, Clone, Default)]
pub struct FeedQuery {
    /// Only events after this position.
    pub after: i64,
    /// Only these record types (empty = all).
    pub record_types: Vec<RecordType>,
    /// Only events that happened at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Only events that happened before this time.
    pub until: Option<OffsetDateTime>,
    pub detail: Detail,
    pub limit: i64,
}

/// One page of the feed.
#[derive(Debug, Clone)]
pub struct FeedPage {
    pub events: Vec<Event>,
    /// The last position looked at (events the reader may not see count too),
    /// so a reader resuming after it never reads them again.
    pub last_position: Option<i64>,
}

/// A page of the feed as `p` may see it.
pub async fn read(tx: &mut Tx, p: &Principal, q: &FeedQuery) -> StoreResult<FeedPage> {
    let mut sql = String::from(
        "SELECT position, public_id, event_type, record_type, record_id, version, occurred_at, source, payload \
         FROM events WHERE tenant_id = $1 AND position > $2",
    );
    let mut a = args![p.tenant_id, q.after];
    if !q.record_types.is_empty() {
        let ph = crate::db::bind(&mut a, q.record_types.iter().map(|t| t.as_str().into()));
        sql.push_str(&format!(" AND record_type IN ({})", ph.join(", ")));
    }
    if let Some(s) = q.since {
        a.push(s.into());
        sql.push_str(&format!(" AND occurred_at >= ${}", a.len()));
    }
    if let Some(u) = q.until {
        a.push(u.into());
        sql.push_str(&format!(" AND occurred_at < ${}", a.len()));
    }
    sql.push_str(&format!(" ORDER BY position LIMIT {}", q.limit.clamp(1, 1000)));
    let list = tx.fetch_all(sql, a, events::decode).await?;
    let last_position = list.last().map(|e| e.position);
    let mut events = visible(tx, p, list).await?;
    for e in &mut events {
        shape(p, q.detail, e);
    }
    Ok(FeedPage { events, last_position })
}

/// Removes what `p` may not see from an event's payload, and the lines when
/// only headers are asked for.
pub fn shape(p: &Principal, detail: Detail, e: &mut Event) {
    if let Ok(rt) = e.record_type.parse::<RecordType>() {
        p.redact(rt, &mut e.payload);
    }
    if detail == Detail::Header
        && let Some(o) = e.payload.as_object_mut()
    {
        o.remove("groups");
        o.remove("lines");
    }
}

/// How a record type's rows are reached with their owner and team columns.
fn scoped_table(rt: RecordType) -> Option<(&'static str, &'static str, &'static str)> {
    use RecordType as T;
    const ACCOUNT: &str = "a.owner_id";
    const ACCOUNT_TEAM: &str = "a.team_id";
    let by_account = |from: &'static str| Some((from, ACCOUNT, ACCOUNT_TEAM));
    match rt {
        T::Account => by_account("accounts a"),
        T::Contact => by_account("contacts x JOIN accounts a ON a.tenant_id = x.tenant_id AND a.id = x.account_id"),
        T::Quote
        | T::SalesOrder
        | T::Invoice
        | T::CreditNote
        | T::PurchaseOrder
        | T::Receipt
        | T::Bill
        | T::BillCredit => {
            by_account("documents x JOIN accounts a ON a.tenant_id = x.tenant_id AND a.id = x.account_id")
        }
        T::Shipment => by_account(
            "shipments x JOIN documents d ON d.tenant_id = x.tenant_id AND d.id = x.sales_order_id \
             JOIN accounts a ON a.tenant_id = d.tenant_id AND a.id = d.account_id",
        ),
        T::Payment | T::PaymentSent => {
            by_account("payments x JOIN accounts a ON a.tenant_id = x.tenant_id AND a.id = x.account_id")
        }
        T::Subscription => {
            by_account("subscriptions x JOIN accounts a ON a.tenant_id = x.tenant_id AND a.id = x.account_id")
        }
        T::Opportunity => Some(("opportunities x", "x.owner_id", "x.team_id")),
        T::Case => Some(("cases x", "x.assignee_id", "x.team_id")),
        T::Lead => Some(("leads x", "x.owner_id", "x.team_id")),
        _ => None,
    }
}

/// The events of `list` whose records `p` may read (see the module's rules).
pub async fn visible(tx: &mut Tx, p: &Principal, list: Vec<Event>) -> StoreResult<Vec<Event>> {
    let mut limited: HashMap<RecordType, (Scope, HashSet<PublicId>)> = HashMap::new();
    for e in &list {
        let Ok(rt) = e.record_type.parse::<RecordType>() else { continue };
        if let Some(s @ (Scope::Own | Scope::Team)) = p.scope_for(rt, Action::Read) {
            limited.entry(rt).or_insert_with(|| (s, HashSet::new())).1.insert(e.record_id);
        }
    }
    let mut seen: HashMap<RecordType, HashSet<PublicId>> = HashMap::new();
    for (rt, (scope, ids)) in limited {
        let Some((from, owner, team)) = scoped_table(rt) else { continue };
        let alias = if from.starts_with("accounts a") { "a" } else { "x" };
        let mut a: Vec<Arg> = args![p.tenant_id];
        let ph = crate::db::bind(&mut a, ids.iter().map(|id| Arg::from(*id)));
        let mut sql = format!(
            "SELECT {alias}.public_id AS pid FROM {from} WHERE {alias}.tenant_id = $1 AND {alias}.public_id IN ({})",
            ph.join(", ")
        );
        Visibility::of(p, scope).push_on(owner, team, &mut sql, &mut a);
        let found = tx.fetch_all(sql, a, |r| Ok(PublicId::from_uuid(r.uuid("pid")?))).await?;
        seen.insert(rt, found.into_iter().collect());
    }
    Ok(list
        .into_iter()
        .filter(|e| {
            let Ok(rt) = e.record_type.parse::<RecordType>() else { return false };
            match p.scope_for(rt, Action::Read) {
                None => false,
                Some(Scope::All) => true,
                Some(_) => seen.get(&rt).is_some_and(|s| s.contains(&e.record_id)),
            }
        })
        .collect())
}
