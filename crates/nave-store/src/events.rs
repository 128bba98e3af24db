//! The event log: a transactional outbox of every committed change.
//!
//! DOMAIN.md "Events": every committed change emits an event (type, record,
//! version, time) in the same transaction; deletes leave tombstones; nothing
//! is emitted for a rolled-back change. Positions are gapless per tenant and
//! follow commit order (see [`crate::db::Tx::commit`]); webhooks and the
//! change feed read by position.

use nave_domain::access::RecordType;
use nave_domain::ids::PublicId;
use serde::Serialize;
use time::OffsetDateTime;

use crate::db::{DbRow, Tx, now};
use crate::{StoreError, StoreResult, args};

/// An event about to be written.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub tenant_id: i64,
    pub event_type: String,
    pub record_type: RecordType,
    pub record_id: PublicId,
    pub version: i64,
    pub source: Option<String>,
    /// The record as it is after the change (a tombstone for deletes).
    pub payload: serde_json::Value,
}

/// An event as stored.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub position: i64,
    pub id: PublicId,
    #[serde(rename = "type")]
    pub event_type: String,
    pub record_type: String,
    pub record_id: PublicId,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub source: Option<String>,
    pub payload: serde_json::Value,
}

pub(crate) async fn write_buffered(tx: &mut Tx, events: Vec<NewEvent>) -> StoreResult<()> {
    let tenant_id = events[0].tenant_id;
    if events.iter().any(|e| e.tenant_id != tenant_id) {
        return Err(StoreError::Decode("one transaction wrote events for several tenants".into()));
    }
    let n = events.len() as i64;
    let last = tx
        .fetch_one(
            "UPDATE tenant_counters SET event_position = event_position + $2 WHERE tenant_id = $1 \
             RETURNING event_position AS v",
            args![tenant_id, n],
            |r| r.i64("v"),
        )
        .await?;
    let at = now();
    // Many events (an import's batch) go in a few statements of up to 100 rows each.
    let mut position = last - n + 1;
    let mut events = events.into_iter().peekable();
    while events.peek().is_some() {
        let chunk: Vec<NewEvent> = events.by_ref().take(100).collect();
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = i * 10;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    b + 8,
                    b + 9,
                    b + 10
                )
            })
            .collect();
        let mut a = Vec::with_capacity(chunk.len() * 10);
        for e in chunk {
            a.extend(args![
                tenant_id,
                position,
                PublicId::new(),
                e.event_type,
                e.record_type.as_str(),
                e.record_id,
                e.version,
                at,
                e.source,
                e.payload.to_string()
            ]);
            position += 1;
        }
        tx.execute(
            format!(
                "INSERT INTO events (tenant_id, position, public_id, event_type, record_type, record_id, version, \
                 occurred_at, source, payload) VALUES {}",
                rows.join(", ")
            ),
            a,
        )
        .await?;
    }
    Ok(())
}

pub(crate) fn decode(r: &dyn DbRow) -> StoreResult<Event> {
    let payload = r.text("payload")?;
    Ok(Event {
        position: r.i64("position")?,
        id: PublicId::from_uuid(r.uuid("public_id")?),
        event_type: r.text("event_type")?,
        record_type: r.text("record_type")?,
        record_id: PublicId::from_uuid(r.uuid("record_id")?),
        version: r.i64("version")?,
        occurred_at: r.ts("occurred_at")?,
        source: r.opt_text("source")?,
        payload: serde_json::from_str(&payload).map_err(|e| StoreError::Decode(e.to_string()))?,
    })
}

/// Filter for reading the log.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// Only events after this position.
    pub after: i64,
    /// Only these record types (empty = all).
    pub record_types: Vec<RecordType>,
    pub limit: i64,
}

/// Events after a position, in order.
pub async fn list(tx: &mut Tx, tenant_id: i64, q: &EventQuery) -> StoreResult<Vec<Event>> {
    let mut sql = String::from(
        "SELECT position, public_id, event_type, record_type, record_id, version, occurred_at, source, payload \
         FROM events WHERE tenant_id = $1 AND position > $2",
    );
    let mut a = args![tenant_id, q.after];
    if !q.record_types.is_empty() {
        let ph = crate::db::bind(&mut a, q.record_types.iter().map(|t| t.as_str().into()));
        sql.push_str(&format!(" AND record_type IN ({})", ph.join(", ")));
    }
    sql.push_str(&format!(" ORDER BY position LIMIT {}", q.limit.clamp(1, 1000)));
    tx.fetch_all(sql, a, decode).await
}

/// Number of events of a tenant (for tests and health pages).
pub async fn count(tx: &mut Tx, tenant_id: i64) -> StoreResult<i64> {
    tx.scalar_i64("SELECT COUNT(*) AS v FROM events WHERE tenant_id = $1", args![tenant_id]).await
}
