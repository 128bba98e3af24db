//! Per-field master rules and the sync conflicts they record (ADR 0014).
//!
//! Every update of an account, contact or product passes through
//! [`held`] and [`hold_back`] inside the store's own `update` function, so
//! each write path (the API's PATCH, the upsert by external id, pages, the
//! CSV import) obeys the rules the same way: the fields a write sets whose
//! master is not the write's source are held back (written as they were)
//! and each held-back change that would have changed the value becomes a
//! sync conflict. The refused value is taken from a trial of the whole write
//! inside a savepoint, so it is compared and stored in the record's own JSON
//! form (`"5000.00"`, not the `"5000"` that was sent).

use nave_domain::DomainError;
use nave_domain::access::{RecordType, SENSITIVE_FIELDS};
use nave_domain::error::Validator;
use nave_domain::ids::PublicId;
use nave_domain::sync::{self as rules, ConflictStatus};
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::audit::{self, Actor};
use crate::db::{DbRow, Tx, now};
use crate::page::{Cursor, ListSql, Page};
use crate::{StoreError, StoreResult, args, on_unique, to_json};

/// A master rule: `system` masters `field` of `record_type` records.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MasterRule {
    #[serde(skip)]
    pub key: i64,
    #[schema(value_type = String)]
    pub id: PublicId,
    /// `account`, `contact` or `product`.
    #[schema(example = "account")]
    pub record_type: String,
    /// A field of the record's write body, e.g. `credit_limit`.
    #[schema(example = "credit_limit")]
    pub field: String,
    /// The system whose writes change the field: `nave` (Nave itself) or a
    /// token's `source_system`, e.g. `erp`.
    #[schema(example = "erp")]
    pub system: String,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

const RULE_SELECT: &str = "SELECT id, public_id, record_type, field, system, version, created_at, updated_at \
    FROM master_rules";

fn decode_rule(r: &dyn DbRow) -> StoreResult<MasterRule> {
    Ok(MasterRule {
        key: r.i64("id")?,
        id: PublicId::from_uuid(r.uuid("public_id")?),
        record_type: r.text("record_type")?,
        field: r.text("field")?,
        system: r.text("system")?,
        version: r.i64("version")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

/// Every rule of a tenant, by record type and field.
pub async fn list_rules(tx: &mut Tx, tenant_id: i64) -> StoreResult<Vec<MasterRule>> {
    tx.fetch_all(
        format!("{RULE_SELECT} WHERE tenant_id = $1 ORDER BY record_type, field"),
        args![tenant_id],
        decode_rule,
    )
    .await
}

/// The rule of one field, if any.
pub async fn get_rule(tx: &mut Tx, tenant_id: i64, record_type: &str, field: &str) -> StoreResult<Option<MasterRule>> {
    tx.fetch_optional(
        format!("{RULE_SELECT} WHERE tenant_id = $1 AND record_type = $2 AND field = $3"),
        args![tenant_id, record_type, field],
        decode_rule,
    )
    .await
}

/// The rule with this id, if any.
pub async fn get_rule_by_id(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<Option<MasterRule>> {
    tx.fetch_optional(
        format!("{RULE_SELECT} WHERE tenant_id = $1 AND public_id = $2"),
        args![tenant_id, id],
        decode_rule,
    )
    .await
}

/// Says which system masters a field: creates the rule (`true`) or changes
/// the system of the field's rule (`false`).
pub async fn put_rule(
    tx: &mut Tx,
    actor: &Actor,
    record_type: &str,
    field: &str,
    system: &str,
    if_version: Option<i64>,
) -> StoreResult<(MasterRule, bool)> {
    let mut v = Validator::new();
    let checked = rules::check_rule(&mut v, record_type.trim(), field.trim(), system);
    v.finish()?;
    let (rt, system) = checked.expect("a checked rule");
    let (t, field, at) = (actor.tenant_id, field.trim(), now());
    match get_rule(tx, t, rt.as_str(), field).await? {
        Some(before) => {
            crate::expect_version("master rule", before.version, if_version)?;
            tx.execute(
                "UPDATE master_rules SET system = $3, version = version + 1, updated_at = $4, updated_by = $5 \
                 WHERE tenant_id = $1 AND id = $2",
                args![t, before.key, &system, at, actor.user_id],
            )
            .await?;
            let after =
                get_rule(tx, t, rt.as_str(), field).await?.ok_or(DomainError::NotFound { record: "master rule" })?;
            audit::updated(tx, actor, RecordType::MasterRule, after.id, after.version, &before, &after).await?;
            Ok((after, false))
        }
        None => {
            let id = PublicId::new();
            let sql = format!(
                "INSERT INTO master_rules (tenant_id, id, public_id, record_type, field, system, version, created_at, \
                 updated_at, updated_by) VALUES ($1, {}, $2, $3, $4, $5, 1, $6, $6, $7)",
                tx.new_id_expr("master_rules", "$1")
            );
            let r = tx.execute(sql, args![t, id, rt.as_str(), field, &system, at, actor.user_id]).await;
            on_unique(r, "master_rules_field_key", "master_rules.field", || {
                DomainError::Conflict(format!("{rt} {field} already has a rule"))
            })?;
            let after =
                get_rule(tx, t, rt.as_str(), field).await?.ok_or(DomainError::NotFound { record: "master rule" })?;
            audit::created(tx, actor, RecordType::MasterRule, after.id, &after).await?;
            Ok((after, true))
        }
    }
}

/// Removes a rule: the field is written by every source again.
pub async fn delete_rule(tx: &mut Tx, actor: &Actor, rule: &MasterRule, if_version: Option<i64>) -> StoreResult<()> {
    crate::expect_version("master rule", rule.version, if_version)?;
    tx.execute("DELETE FROM master_rules WHERE tenant_id = $1 AND id = $2", args![actor.tenant_id, rule.key]).await?;
    audit::deleted(tx, actor, RecordType::MasterRule, rule.id, rule.version + 1, rule).await
}

/// A change a master rule held back: the record's value when it came
/// (`our_value`) and the value the source sent (`their_value`), both as in
/// the record's JSON.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SyncConflict {
    #[serde(skip)]
    pub key: i64,
    #[serde(skip)]
    pub record_key: i64,
    #[schema(value_type = String)]
    pub id: PublicId,
    /// `account`, `contact` or `product`.
    pub record_type: String,
    #[schema(value_type = String)]
    pub record_id: PublicId,
    /// The field, e.g. `credit_limit`.
    pub field: String,
    /// The system that masters the field.
    #[schema(example = "erp")]
    pub master: String,
    /// Where the refused write came from (`nave` for people in Nave).
    #[schema(example = "shop")]
    pub source: String,
    /// The record's value when the change came; absent when the caller may not see the field.
    #[schema(value_type = Option<Object>)]
    pub our_value: Value,
    /// The value the source sent; absent when the caller may not see the field.
    #[schema(value_type = Option<Object>)]
    pub their_value: Value,
    /// `open`, `accepted` or `dismissed`.
    #[schema(value_type = String, example = "open")]
    pub status: ConflictStatus,
    /// When the change came (the latest one, when the source sent it again).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<OffsetDateTime>,
    /// The user who accepted or dismissed it.
    #[schema(value_type = Option<String>)]
    pub resolved_by: Option<PublicId>,
    pub version: i64,
}

impl SyncConflict {
    /// The record type as a type.
    pub fn record_type(&self) -> StoreResult<RecordType> {
        self.record_type.parse().map_err(|e: nave_domain::access::UnknownName| StoreError::Decode(e.to_string()))
    }

    /// Is the field hidden from some roles (e.g. `credit_limit`)? Then the
    /// audit log and events carry the conflict without its values.
    pub fn field_is_sensitive(&self) -> bool {
        SENSITIVE_FIELDS.iter().any(|f| f.record_type.as_str() == self.record_type && f.path == self.field)
    }

    /// The conflict as the audit log and events carry it.
    fn logged(&self) -> StoreResult<Value> {
        let mut v = to_json(self)?;
        if self.field_is_sensitive()
            && let Value::Object(m) = &mut v
        {
            m.remove("our_value");
            m.remove("their_value");
        }
        Ok(v)
    }
}

const CONFLICT_SELECT: &str = "SELECT c.id, c.public_id, c.record_type, c.record_id, c.record_public_id, c.field, \
    c.master, c.source, c.our_value, c.their_value, c.status, c.occurred_at, c.resolved_at, c.version, \
    u.public_id AS resolved_by_public_id \
    FROM sync_conflicts c LEFT JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.resolved_by";

fn decode_conflict(r: &dyn DbRow) -> StoreResult<SyncConflict> {
    let json = |s: String| serde_json::from_str::<Value>(&s).map_err(|e| StoreError::Decode(e.to_string()));
    Ok(SyncConflict {
        key: r.i64("id")?,
        record_key: r.i64("record_id")?,
        id: PublicId::from_uuid(r.uuid("public_id")?),
        record_type: r.text("record_type")?,
        record_id: PublicId::from_uuid(r.uuid("record_public_id")?),
        field: r.text("field")?,
        master: r.text("master")?,
        source: r.text("source")?,
        our_value: json(r.text("our_value")?)?,
        their_value: json(r.text("their_value")?)?,
        status: r
            .text("status")?
            .parse()
            .map_err(|e: nave_domain::access::UnknownName| StoreError::Decode(e.to_string()))?,
        occurred_at: r.ts("occurred_at")?,
        resolved_at: r.opt_ts("resolved_at")?,
        resolved_by: r.opt_uuid("resolved_by_public_id")?.map(PublicId::from_uuid),
        version: r.i64("version")?,
    })
}

/// Filters of the conflict list (newest first).
#[derive(Debug, Clone, Default)]
pub struct ConflictQuery {
    pub status: Option<ConflictStatus>,
    pub record_type: Option<RecordType>,
    pub record_id: Option<PublicId>,
    pub cursor: Option<Cursor>,
    pub limit: i64,
}

/// Sync conflicts, newest first.
pub async fn list_conflicts(tx: &mut Tx, tenant_id: i64, q: &ConflictQuery) -> StoreResult<Page<SyncConflict>> {
    let mut f = ListSql::new(CONFLICT_SELECT, "c.tenant_id", tenant_id);
    f.and_some("c.status = ?", q.status.map(|s| s.as_str()));
    f.and_some("c.record_type = ?", q.record_type.map(|t| t.as_str()));
    f.and_some("c.record_public_id = ?", q.record_id);
    f.and_some("c.id < ?", q.cursor.map(|c| c.0));
    let limit = q.limit.clamp(1, 200);
    f.sql.push_str(&format!(" ORDER BY c.id DESC LIMIT {}", limit + 1));
    let rows = tx.fetch_all(f.sql, f.args, decode_conflict).await?;
    Ok(Page::from_rows(rows, limit, |c| c.key))
}

pub async fn get_conflict(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<Option<SyncConflict>> {
    tx.fetch_optional(
        format!("{CONFLICT_SELECT} WHERE c.tenant_id = $1 AND c.public_id = $2"),
        args![tenant_id, id],
        |r| decode_conflict(r),
    )
    .await
}

/// How many conflicts of one record are open.
pub async fn open_count(tx: &mut Tx, tenant_id: i64, record_type: RecordType, record_key: i64) -> StoreResult<i64> {
    tx.scalar_i64(
        "SELECT COUNT(*) AS v FROM sync_conflicts WHERE tenant_id = $1 AND record_type = $2 AND record_id = $3 \
         AND status = $4",
        args![tenant_id, record_type.as_str(), record_key, ConflictStatus::Open.as_str()],
    )
    .await
}

/// Accepts (the caller has written their value to the record, as the
/// acting user) or dismisses an open conflict.
pub async fn resolve(tx: &mut Tx, actor: &Actor, c: &SyncConflict, to: ConflictStatus) -> StoreResult<SyncConflict> {
    if c.status != ConflictStatus::Open || to == ConflictStatus::Open {
        let action = if to == ConflictStatus::Accepted { "accept" } else { "dismiss" };
        return Err(DomainError::InvalidTransition {
            record: "sync conflict",
            current: c.status.as_str().to_string(),
            action,
            allowed: vec![],
        }
        .into());
    }
    let n = tx
        .execute(
            "UPDATE sync_conflicts SET status = $4, resolved_at = $5, resolved_by = $6, version = version + 1 \
             WHERE tenant_id = $1 AND id = $2 AND version = $3",
            args![actor.tenant_id, c.key, c.version, to.as_str(), now(), actor.user_id],
        )
        .await?;
    if n == 0 {
        return Err(DomainError::VersionMismatch { record: "sync conflict", current: c.version + 1 }.into());
    }
    let after =
        get_conflict(tx, actor.tenant_id, c.id).await?.ok_or(DomainError::NotFound { record: "sync conflict" })?;
    audit::record_change(
        tx,
        actor,
        audit::Change {
            record_type: RecordType::SyncConflict,
            record_id: after.id,
            version: after.version,
            kind: audit::ChangeKind::Updated,
            before: Some(c.logged()?),
            after: Some(after.logged()?),
        },
    )
    .await?;
    Ok(after)
}

/// Removes the conflicts of a record that is being deleted (they name the
/// record by key, like attachments).
pub async fn delete_for_record(
    tx: &mut Tx,
    tenant_id: i64,
    record_type: RecordType,
    record_key: i64,
) -> StoreResult<()> {
    tx.execute(
        "DELETE FROM sync_conflicts WHERE tenant_id = $1 AND record_type = $2 AND record_id = $3",
        args![tenant_id, record_type.as_str(), record_key],
    )
    .await?;
    Ok(())
}

/// A write to a synced record, as master rules see it.
pub trait Guarded {
    /// The record the write changes.
    type Record: Serialize;
    /// Does the write set `field` (a field of [`nave_domain::sync::fields`])?
    /// When unsure, yes: the trial decides whether the value changes.
    fn sets(&self, field: &str, before: &Self::Record) -> bool;
    /// Makes the write leave `field` as it is in `before`.
    fn keep(&mut self, field: &str, before: &Self::Record);
}

/// One field a write must not change: its rule's master.
#[derive(Debug, Clone)]
pub struct Held {
    pub field: String,
    pub master: String,
}

/// The fields `write` sets that the rules keep from the actor's source.
/// Empty for a person accepting a sync conflict (`actor.master_override`).
pub async fn held<P: Guarded>(
    tx: &mut Tx,
    actor: &Actor,
    record_type: RecordType,
    write: &P,
    before: &P::Record,
) -> StoreResult<Vec<Held>> {
    if actor.master_override {
        return Ok(vec![]);
    }
    let source = rules::source_of(actor.source.as_deref());
    let list = tx
        .fetch_all(
            "SELECT field, system FROM master_rules WHERE tenant_id = $1 AND record_type = $2 ORDER BY field",
            args![actor.tenant_id, record_type.as_str()],
            |r| Ok(Held { field: r.text("field")?, master: r.text("system")? }),
        )
        .await?;
    Ok(list.into_iter().filter(|h| rules::refuses(&h.master, source) && write.sets(&h.field, before)).collect())
}

/// Takes the held fields out of `write` and records a conflict for each
/// one whose value the trial of the whole write (`trial`) changed. An open
/// conflict of the same record, field and source is brought up to date
/// instead of a second one being opened.
#[allow(clippy::too_many_arguments)]
pub async fn hold_back<P: Guarded>(
    tx: &mut Tx,
    actor: &Actor,
    record_type: RecordType,
    record: (i64, PublicId),
    held: &[Held],
    before: &P::Record,
    trial: &P::Record,
    write: &mut P,
) -> StoreResult<()> {
    let (ours, theirs) = (to_json(before)?, to_json(trial)?);
    let source = rules::source_of(actor.source.as_deref()).to_string();
    for h in held {
        write.keep(&h.field, before);
        let our = rules::value_of(record_type, &h.field, &ours);
        let their = rules::value_of(record_type, &h.field, &theirs);
        if our != their {
            record_conflict(tx, actor, record_type, record, h, &source, &our, &their).await?;
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn record_conflict(
    tx: &mut Tx,
    actor: &Actor,
    record_type: RecordType,
    (record_key, record_id): (i64, PublicId),
    h: &Held,
    source: &str,
    our: &Value,
    their: &Value,
) -> StoreResult<()> {
    let t = actor.tenant_id;
    let at = now();
    let open = tx
        .fetch_optional(
            format!(
                "{CONFLICT_SELECT} WHERE c.tenant_id = $1 AND c.record_type = $2 AND c.record_id = $3 AND c.field = $4 \
                 AND c.source = $5 AND c.status = $6"
            ),
            args![t, record_type.as_str(), record_key, &h.field, source, ConflictStatus::Open.as_str()],
            decode_conflict,
        )
        .await?;
    if let Some(before) = open {
        tx.execute(
            "UPDATE sync_conflicts SET our_value = $3, their_value = $4, master = $5, occurred_at = $6, \
             version = version + 1 WHERE tenant_id = $1 AND id = $2",
            args![t, before.key, our.to_string(), their.to_string(), &h.master, at],
        )
        .await?;
        let after = get_conflict(tx, t, before.id).await?.ok_or(DomainError::NotFound { record: "sync conflict" })?;
        let change = audit::Change {
            record_type: RecordType::SyncConflict,
            record_id: after.id,
            version: after.version,
            kind: audit::ChangeKind::Updated,
            before: Some(before.logged()?),
            after: Some(after.logged()?),
        };
        return audit::record_change(tx, actor, change).await;
    }
    let id = PublicId::new();
    let sql = format!(
        "INSERT INTO sync_conflicts (tenant_id, id, public_id, record_type, record_id, record_public_id, field, master, \
         source, our_value, their_value, status, occurred_at, version) \
         VALUES ($1, {}, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1)",
        tx.new_id_expr("sync_conflicts", "$1")
    );
    tx.execute(
        sql,
        args![
            t,
            id,
            record_type.as_str(),
            record_key,
            record_id,
            &h.field,
            &h.master,
            source,
            our.to_string(),
            their.to_string(),
            ConflictStatus::Open.as_str(),
            at
        ],
    )
    .await?;
    let after = get_conflict(tx, t, id).await?.ok_or(DomainError::NotFound { record: "sync conflict" })?;
    let change = audit::Change {
        record_type: RecordType::SyncConflict,
        record_id: id,
        version: 1,
        kind: audit::ChangeKind::Created,
        before: None,
        after: Some(after.logged()?),
    };
    audit::record_change(tx, actor, change).await
}
