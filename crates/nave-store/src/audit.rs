//! The audit log: who changed what, when, field by field.
//!
//! [`record_change`] is the one way a store module reports a change: it
//! writes the audit entry and buffers the event in the same transaction.

use nave_domain::access::RecordType;
use nave_domain::ids::PublicId;
use serde::Serialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::db::{Tx, now};
use crate::events::NewEvent;
use crate::page::{Cursor, Page};
use crate::{StoreError, StoreResult, args};

/// Who made a change, and through what.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub tenant_id: i64,
    /// `None` for the system itself (migrations, the demo, the CLI).
    pub user_id: Option<i64>,
    pub token_id: Option<i64>,
    /// The external system a write comes from (a token's system), if any.
    pub source: Option<String>,
    pub request_id: Option<String>,
    /// A person accepting a sync conflict: master rules do not hold back
    /// this write (see `sync`).
    pub master_override: bool,
}

impl Actor {
    /// The system acting on a tenant (CLI commands, demo data).
    pub fn system(tenant_id: i64) -> Self {
        Actor { tenant_id, ..Default::default() }
    }
}

/// What kind of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Created,
    Updated,
    Deleted,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Created => "created",
            ChangeKind::Updated => "updated",
            ChangeKind::Deleted => "deleted",
        }
    }
}

/// One change to one record.
#[derive(Debug, Clone)]
pub struct Change {
    pub record_type: RecordType,
    pub record_id: PublicId,
    pub version: i64,
    pub kind: ChangeKind,
    /// The record before (updates and deletes), as its API JSON.
    pub before: Option<Value>,
    /// The record after (creates and updates), as its API JSON.
    pub after: Option<Value>,
}

/// Field-level differences: `{field: {"before": …, "after": …}}`.
pub fn diff(before: Option<&Value>, after: Option<&Value>) -> Map<String, Value> {
    let empty = Map::new();
    let b = before.and_then(Value::as_object).unwrap_or(&empty);
    let a = after.and_then(Value::as_object).unwrap_or(&empty);
    let mut out = Map::new();
    let skip = |k: &str| matches!(k, "version" | "updated_at" | "created_at");
    for (k, av) in a {
        if skip(k) {
            continue;
        }
        match b.get(k) {
            Some(bv) if bv == av => {}
            Some(bv) => {
                out.insert(k.clone(), json!({"before": bv, "after": av}));
            }
            None => {
                out.insert(k.clone(), json!({"after": av}));
            }
        }
    }
    for (k, bv) in b {
        if !skip(k) && !a.contains_key(k) {
            out.insert(k.clone(), json!({"before": bv}));
        }
    }
    out
}

/// Writes the audit entry of a change and buffers its event.
pub async fn record_change(tx: &mut Tx, actor: &Actor, change: Change) -> StoreResult<()> {
    let changes = diff(change.before.as_ref(), change.after.as_ref());
    let sql = format!(
        "INSERT INTO audit_entries (tenant_id, id, occurred_at, actor_user_id, actor_token_id, source, request_id, \
         record_type, record_id, action, changes) VALUES ($1, {}, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        tx.new_id_expr("audit_entries", "$1")
    );
    tx.execute(
        sql,
        args![
            actor.tenant_id,
            now(),
            actor.user_id,
            actor.token_id,
            actor.source.as_deref(),
            actor.request_id.as_deref(),
            change.record_type.as_str(),
            change.record_id,
            change.kind.as_str(),
            Value::Object(changes).to_string()
        ],
    )
    .await?;
    let payload = match change.kind {
        ChangeKind::Deleted => json!({"id": change.record_id, "deleted": true}),
        _ => change.after.unwrap_or(Value::Null),
    };
    tx.emit(NewEvent {
        tenant_id: actor.tenant_id,
        event_type: format!("{}.{}", change.record_type.as_str(), change.kind.as_str()),
        record_type: change.record_type,
        record_id: change.record_id,
        version: change.version,
        source: actor.source.clone(),
        payload,
    });
    Ok(())
}

/// Records the creation of `record` (its canonical JSON), at version 1.
pub async fn created<R: Serialize>(
    tx: &mut Tx,
    actor: &Actor,
    rt: RecordType,
    id: PublicId,
    record: &R,
) -> StoreResult<()> {
    let after = Some(crate::to_json(record)?);
    let change = Change { record_type: rt, record_id: id, version: 1, kind: ChangeKind::Created, before: None, after };
    record_change(tx, actor, change).await
}

/// Records an update from `before` to `after`, now at `version`.
pub async fn updated<R: Serialize>(
    tx: &mut Tx,
    actor: &Actor,
    rt: RecordType,
    id: PublicId,
    version: i64,
    before: &R,
    after: &R,
) -> StoreResult<()> {
    let (before, after) = (Some(crate::to_json(before)?), Some(crate::to_json(after)?));
    let change = Change { record_type: rt, record_id: id, version, kind: ChangeKind::Updated, before, after };
    record_change(tx, actor, change).await
}

/// Records the deletion of `before`; `version` is the tombstone's.
pub async fn deleted<R: Serialize>(
    tx: &mut Tx,
    actor: &Actor,
    rt: RecordType,
    id: PublicId,
    version: i64,
    before: &R,
) -> StoreResult<()> {
    let before = Some(crate::to_json(before)?);
    let change = Change { record_type: rt, record_id: id, version, kind: ChangeKind::Deleted, before, after: None };
    record_change(tx, actor, change).await
}

/// An audit entry as stored.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    #[serde(skip)]
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub actor_id: Option<PublicId>,
    pub actor_name: Option<String>,
    pub via_token: bool,
    pub source: Option<String>,
    pub request_id: Option<String>,
    pub record_type: String,
    pub record_id: PublicId,
    pub action: String,
    pub changes: Map<String, Value>,
}

/// Filter for reading the audit log (newest first).
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub record_id: Option<PublicId>,
    pub record_types: Vec<RecordType>,
    pub actor_user_id: Option<i64>,
    pub cursor: Option<Cursor>,
    pub limit: i64,
}

/// Audit entries, newest first.
pub async fn list(tx: &mut Tx, tenant_id: i64, q: &AuditQuery) -> StoreResult<Page<AuditEntry>> {
    let mut sql = String::from(
        "SELECT a.id, a.occurred_at, a.actor_token_id, a.source, a.request_id, a.record_type, a.record_id, \
         a.action, a.changes, u.public_id AS actor_public_id, u.name AS actor_name \
         FROM audit_entries a LEFT JOIN users u ON u.tenant_id = a.tenant_id AND u.id = a.actor_user_id \
         WHERE a.tenant_id = $1",
    );
    let mut a = args![tenant_id];
    let mut n = 1;
    let mut next = |sql: &mut String, cond: &str| {
        n += 1;
        sql.push_str(&cond.replace("$?", &format!("${n}")));
    };
    if let Some(id) = q.record_id {
        next(&mut sql, " AND a.record_id = $?");
        a.push(id.into());
    }
    if let Some(u) = q.actor_user_id {
        next(&mut sql, " AND a.actor_user_id = $?");
        a.push(u.into());
    }
    if let Some(c) = q.cursor {
        next(&mut sql, " AND a.id < $?");
        a.push(c.0.into());
    }
    if !q.record_types.is_empty() {
        let list: Vec<&str> = q.record_types.iter().map(|t| t.as_str()).collect();
        // Record-type names are a closed set of identifiers, safe to inline.
        sql.push_str(&format!(" AND a.record_type IN ('{}')", list.join("', '")));
    }
    let limit = q.limit.clamp(1, 200);
    sql.push_str(&format!(" ORDER BY a.id DESC LIMIT {}", limit + 1));
    let rows = tx
        .fetch_all(sql, a, |r| {
            let changes: Value =
                serde_json::from_str(&r.text("changes")?).map_err(|e| StoreError::Decode(e.to_string()))?;
            Ok(AuditEntry {
                id: r.i64("id")?,
                occurred_at: r.ts("occurred_at")?,
                actor_id: r.opt_uuid("actor_public_id")?.map(PublicId::from_uuid),
                actor_name: r.opt_text("actor_name")?,
                via_token: r.opt_i64("actor_token_id")?.is_some(),
                source: r.opt_text("source")?,
                request_id: r.opt_text("request_id")?,
                record_type: r.text("record_type")?,
                record_id: PublicId::from_uuid(r.uuid("record_id")?),
                action: r.text("action")?,
                changes: match changes {
                    Value::Object(m) => m,
                    _ => Map::new(),
                },
            })
        })
        .await?;
    Ok(Page::from_rows(rows, limit, |e| e.id))
}

/// Number of audit entries of a tenant (for tests).
pub async fn count(tx: &mut Tx, tenant_id: i64) -> StoreResult<i64> {
    tx.scalar_i64("SELECT COUNT(*) AS v FROM audit_entries WHERE tenant_id = $1", args![tenant_id]).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diff_lists_changed_added_and_removed_fields_only() {
        let b = json!({"name": "A", "tax_id": "X", "version": 1, "gone": 1});
        let a = json!({"name": "B", "tax_id": "X", "version": 2, "new": true});
        let d = diff(Some(&b), Some(&a));
        assert_eq!(
            Value::Object(d),
            json!({"name": {"before": "A", "after": "B"}, "new": {"after": true}, "gone": {"before": 1}})
        );
    }
}
