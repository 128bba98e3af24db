//! Service cases: their fields, the workflow actions and the service times
//! kept with them. The rules are in `nave_domain::case`.
//!
//! Record scope: a case belongs to its assignee (and the assignee's team);
//! a case logged without an assignee is assigned to whoever logged it.
//! Writes take the time of the change as `at` (see `pipeline`).

use nave_domain::DomainError;
use nave_domain::access::{Ownership, RecordType};
use nave_domain::case::{
    self as rules, CaseAction, CaseClock, CaseKind, CasePriority, CaseStatus, check_document, check_satisfaction,
    check_subject, check_text,
};
use nave_domain::error::Validator;
use nave_domain::ids::PublicId;
use nave_domain::search::Field;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::accounts::{self, Visibility};
use crate::audit::{self, Actor};
use crate::db::{DbRow, Tx};
use crate::page::{Cursor, ListSql, Page, Sort, SortColumn, SortCursor, SortValue};
use crate::{StoreResult, and_where, args, catalog, expect_version, ownership, parsed};

const T: RecordType = RecordType::Case;

/// A reference to a document the case is about (free text until the
/// order-side documents exist): `{"type": "invoice", "id": "INV-2026-00042"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentRef {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

/// A case as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Case {
    #[serde(skip)]
    pub key: i64,
    /// Owner = the assignee, for record scope.
    #[serde(skip)]
    pub ownership: Ownership,
    #[serde(skip)]
    pub account_key: i64,
    #[serde(skip)]
    pub product_key: Option<i64>,
    #[schema(value_type = String)]
    pub id: PublicId,
    #[schema(value_type = String)]
    pub account_id: PublicId,
    pub account_name: String,
    pub subject: String,
    pub description: String,
    /// `question`, `problem` or `complaint`.
    #[schema(value_type = String, example = "problem")]
    pub kind: CaseKind,
    /// `low`, `normal`, `high` or `urgent`.
    #[schema(value_type = String, example = "normal")]
    pub priority: CasePriority,
    /// `new`, `open`, `waiting`, `resolved` or `closed`.
    #[schema(value_type = String, example = "open")]
    pub status: CaseStatus,
    /// The actions allowed from `status` (`POST /cases/{id}/actions/{action}`).
    #[schema(value_type = Vec<String>, example = json!(["wait", "resolve"]))]
    pub allowed_actions: Vec<CaseAction>,
    #[schema(value_type = Option<String>)]
    pub assignee_id: Option<PublicId>,
    pub assignee_name: Option<String>,
    #[schema(value_type = Option<String>)]
    pub team_id: Option<PublicId>,
    #[schema(value_type = Option<String>)]
    pub product_id: Option<PublicId>,
    pub product_name: Option<String>,
    pub document: Option<DocumentRef>,
    pub resolution: Option<String>,
    /// 1 (poor) to 5 (excellent), once resolved or closed.
    pub satisfaction: Option<i64>,
    pub satisfaction_comment: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub first_response_at: Option<OffsetDateTime>,
    /// Seconds from creation to the first response (see the user guide).
    pub first_response_seconds: Option<i64>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<OffsetDateTime>,
    /// Seconds from creation to the resolution; `null` while not resolved.
    pub resolution_seconds: Option<i64>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<OffsetDateTime>,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl Case {
    fn clock(&self) -> CaseClock {
        CaseClock {
            created_at: self.created_at,
            first_response_at: self.first_response_at,
            resolved_at: self.resolved_at,
            closed_at: self.closed_at,
        }
    }
}

const SELECT: &str = "SELECT c.id, c.public_id, c.account_id, c.subject, c.description, c.kind, c.priority, c.status, \
    c.assignee_id, c.team_id, c.product_id, c.document_type, c.document_ref, c.resolution, c.satisfaction, c.satisfaction_comment, \
    c.first_response_at, c.first_response_seconds, c.resolved_at, c.resolution_seconds, c.closed_at, c.version, \
    c.created_at, c.updated_at, a.public_id AS account_public_id, a.name AS account_name, \
    u.public_id AS assignee_public_id, u.name AS assignee_name, t.public_id AS team_public_id, \
    p.public_id AS product_public_id, p.name AS product_name \
    FROM cases c \
    JOIN accounts a ON a.tenant_id = c.tenant_id AND a.id = c.account_id \
    LEFT JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.assignee_id \
    LEFT JOIN teams t ON t.tenant_id = c.tenant_id AND t.id = c.team_id \
    LEFT JOIN products p ON p.tenant_id = c.tenant_id AND p.id = c.product_id";

fn decode(r: &dyn DbRow) -> StoreResult<Case> {
    let status: CaseStatus = parsed(r.text("status")?.parse())?;
    let document = match (r.opt_text("document_type")?, r.opt_text("document_ref")?) {
        (Some(kind), Some(id)) => Some(DocumentRef { kind, id }),
        _ => None,
    };
    Ok(Case {
        key: r.i64("id")?,
        ownership: Ownership { owner_id: r.opt_i64("assignee_id")?, team_id: r.opt_i64("team_id")? },
        account_key: r.i64("account_id")?,
        product_key: r.opt_i64("product_id")?,
        id: PublicId::from_uuid(r.uuid("public_id")?),
        account_id: PublicId::from_uuid(r.uuid("account_public_id")?),
        account_name: r.text("account_name")?,
        subject: r.text("subject")?,
        description: r.text("description")?,
        kind: parsed(r.text("kind")?.parse())?,
        priority: parsed(r.text("priority")?.parse())?,
        status,
        allowed_actions: status.allowed_actions().to_vec(),
        assignee_id: r.opt_uuid("assignee_public_id")?.map(PublicId::from_uuid),
        assignee_name: r.opt_text("assignee_name")?,
        team_id: r.opt_uuid("team_public_id")?.map(PublicId::from_uuid),
        product_id: r.opt_uuid("product_public_id")?.map(PublicId::from_uuid),
        product_name: r.opt_text("product_name")?,
        document,
        resolution: r.opt_text("resolution")?,
        satisfaction: r.opt_i64("satisfaction")?,
        satisfaction_comment: r.opt_text("satisfaction_comment")?,
        first_response_at: r.opt_ts("first_response_at")?,
        first_response_seconds: r.opt_i64("first_response_seconds")?,
        resolved_at: r.opt_ts("resolved_at")?,
        resolution_seconds: r.opt_i64("resolution_seconds")?,
        closed_at: r.opt_ts("closed_at")?,
        version: r.i64("version")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

pub async fn get(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<Option<Case>> {
    tx.fetch_optional(format!("{SELECT} WHERE c.tenant_id = $1 AND c.public_id = $2"), args![tenant_id, id], decode)
        .await
}

/// Filters of the case list.
#[derive(Debug, Clone)]
pub struct CaseQuery {
    pub visibility: Visibility,
    pub account_key: Option<i64>,
    pub status: Option<CaseStatus>,
    pub priority: Option<CasePriority>,
    pub kind: Option<CaseKind>,
    pub assignee_key: Option<i64>,
    /// Search words: each must begin a word of the case's subject.
    pub words: Vec<String>,
    /// Only cases still being worked on (neither resolved nor closed).
    pub open_only: bool,
    pub cursor: Option<Cursor>,
    /// The order; the list's own (no column) pages by `cursor`, the others by `sorted_after`.
    pub sort: Sort<Case>,
    pub sorted_after: Option<SortCursor>,
    pub limit: i64,
}

/// The columns the case list sorts by (`?sort=`); without one, newest first.
pub static SORTS: &[SortColumn<Case>] = &[
    SortColumn { name: "subject", sql: "c.subject", value: |c| SortValue::Text(c.subject.clone()) },
    SortColumn { name: "account", sql: "a.name", value: |c| SortValue::Text(c.account_name.clone()) },
    SortColumn {
        name: "priority",
        sql: "(CASE c.priority WHEN 'low' THEN 0 WHEN 'normal' THEN 1 WHEN 'high' THEN 2 ELSE 3 END)",
        value: |c| {
            SortValue::Int(match c.priority {
                CasePriority::Low => 0,
                CasePriority::Normal => 1,
                CasePriority::High => 2,
                CasePriority::Urgent => 3,
            })
        },
    },
    SortColumn { name: "created", sql: "c.id", value: |c| SortValue::Int(c.key) },
];

impl Default for CaseQuery {
    fn default() -> Self {
        Self {
            visibility: Visibility::All,
            account_key: None,
            status: None,
            priority: None,
            kind: None,
            assignee_key: None,
            words: vec![],
            open_only: false,
            cursor: None,
            sort: Sort::default(),
            sorted_after: None,
            limit: 50,
        }
    }
}

/// Cases, newest first.
/// Writes the words a case is found by: its subject.
pub async fn index(tx: &mut Tx, tenant_id: i64, c: &Case) -> StoreResult<()> {
    crate::search::index(tx, tenant_id, T, c.key, &[Field::Text(&c.subject)]).await
}

pub async fn list(tx: &mut Tx, tenant_id: i64, q: &CaseQuery) -> StoreResult<Page<Case>> {
    let mut sql = format!("{SELECT} WHERE c.tenant_id = $1");
    let mut a = args![tenant_id];
    q.visibility.push_on("c.assignee_id", "c.team_id", &mut sql, &mut a);
    if let Some(k) = q.account_key {
        and_where(&mut sql, &mut a, "c.account_id = $?", k);
    }
    if let Some(s) = q.status {
        and_where(&mut sql, &mut a, "c.status = $?", s.as_str());
    }
    if let Some(p) = q.priority {
        and_where(&mut sql, &mut a, "c.priority = $?", p.as_str());
    }
    if let Some(k) = q.kind {
        and_where(&mut sql, &mut a, "c.kind = $?", k.as_str());
    }
    if let Some(u) = q.assignee_key {
        and_where(&mut sql, &mut a, "c.assignee_id = $?", u);
    }
    if let Some(cond) = crate::search::matching_keys("c.id", T, &q.words, &mut a) {
        sql.push_str(&format!(" AND {cond}"));
    }
    if q.open_only {
        sql.push_str(" AND c.status NOT IN ('resolved', 'closed')");
    }
    let mut f = ListSql { sql, args: a };
    let limit = f.sorted_page("c.id", true, q.sort, q.cursor, q.sorted_after.as_ref(), q.limit);
    let rows = tx.fetch_all(f.sql, f.args, decode).await?;
    Ok(Page::from_rows(rows, limit, |c| c.key))
}

/// A case to log.
#[derive(Debug, Clone)]
pub struct NewCase {
    pub account_id: PublicId,
    pub subject: String,
    pub description: String,
    pub kind: CaseKind,
    pub priority: CasePriority,
    /// `None`: the user logging the case; `Some(None)`: nobody (a queue).
    pub assignee_id: Option<Option<PublicId>>,
    /// Default: the assignee's team.
    pub team_id: Option<PublicId>,
    pub product_id: Option<PublicId>,
    pub document: Option<DocumentRef>,
    /// How it was solved, if that is known already.
    pub resolution: Option<String>,
}

async fn resolve_account(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<i64> {
    Ok(accounts::get(tx, tenant_id, id)
        .await?
        .ok_or_else(|| DomainError::invalid("account_id", "is not the id of an account"))?
        .key)
}

async fn resolve_product(tx: &mut Tx, tenant_id: i64, id: Option<PublicId>) -> StoreResult<Option<i64>> {
    match id {
        Some(p) => Ok(Some(
            catalog::get_product(tx, tenant_id, p)
                .await?
                .ok_or_else(|| DomainError::invalid("product_id", "is not the id of a product"))?
                .key,
        )),
        None => Ok(None),
    }
}

fn check_doc(v: &mut Validator, d: Option<&DocumentRef>) -> Option<DocumentRef> {
    d.map(|d| {
        let (kind, id) = check_document(v, &d.kind, &d.id);
        DocumentRef { kind, id }
    })
}

pub async fn create(tx: &mut Tx, actor: &Actor, new: NewCase, at: OffsetDateTime) -> StoreResult<Case> {
    let t = actor.tenant_id;
    let mut v = Validator::new();
    let subject = check_subject(&mut v, &new.subject);
    let description = check_text(&mut v, "description", Some(&new.description)).unwrap_or_default();
    let document = check_doc(&mut v, new.document.as_ref());
    let resolution = check_text(&mut v, "resolution", new.resolution.as_deref());
    v.finish()?;
    let account_key = resolve_account(tx, t, new.account_id).await?;
    let product_key = resolve_product(tx, t, new.product_id).await?;
    let own = ownership::for_new(tx, actor, new.assignee_id, new.team_id, "assignee_id").await?;
    let id = PublicId::new();
    let sql = format!(
        "INSERT INTO cases (tenant_id, id, public_id, account_id, subject, description, kind, priority, status, \
         assignee_id, team_id, product_id, document_type, document_ref, resolution, version, created_at, updated_at, \
         created_by, updated_by) VALUES ($1, {}, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1, $15, $15, \
         $16, $16)",
        tx.new_id_expr("cases", "$1")
    );
    tx.execute(
        sql,
        args![
            t,
            id,
            account_key,
            &subject,
            &description,
            new.kind.as_str(),
            new.priority.as_str(),
            CaseStatus::New.as_str(),
            own.owner_id,
            own.team_id,
            product_key,
            document.as_ref().map(|d| d.kind.clone()),
            document.as_ref().map(|d| d.id.clone()),
            resolution,
            at,
            actor.user_id
        ],
    )
    .await?;
    let case = get(tx, t, id).await?.ok_or(DomainError::NotFound { record: "case" })?;
    index(tx, actor.tenant_id, &case).await?;
    audit::created(tx, actor, T, id, &case).await?;
    Ok(case)
}

/// Changes to a case; `None` keeps the current value, `Some(None)` clears.
/// The status changes only through [`act`].
#[derive(Debug, Clone, Default)]
pub struct CasePatch {
    pub account_id: Option<PublicId>,
    pub subject: Option<String>,
    pub description: Option<String>,
    pub kind: Option<CaseKind>,
    pub priority: Option<CasePriority>,
    pub assignee_id: Option<Option<PublicId>>,
    pub team_id: Option<Option<PublicId>>,
    pub product_id: Option<Option<PublicId>>,
    pub document: Option<Option<DocumentRef>>,
    pub resolution: Option<Option<String>>,
    pub satisfaction: Option<Option<i64>>,
    pub satisfaction_comment: Option<Option<String>>,
}

/// Writes a case's changeable columns, its status and its clock, checking the
/// version; returns the case as stored, with the change audited.
async fn store(
    tx: &mut Tx,
    actor: &Actor,
    before: &Case,
    row: Row,
    clock: CaseClock,
    at: OffsetDateTime,
) -> StoreResult<Case> {
    let t = actor.tenant_id;
    let n = tx
        .execute(
            "UPDATE cases SET account_id = $4, subject = $5, description = $6, kind = $7, priority = $8, status = $9, \
             assignee_id = $10, team_id = $11, product_id = $12, document_type = $13, document_ref = $14, \
             resolution = $15, satisfaction = $16, satisfaction_comment = $17, first_response_at = $18, \
             first_response_seconds = $19, resolved_at = $20, resolution_seconds = $21, closed_at = $22, \
             version = version + 1, updated_at = $23, updated_by = $24 \
             WHERE tenant_id = $1 AND id = $2 AND version = $3",
            args![
                t,
                before.key,
                before.version,
                row.account_key,
                row.subject,
                row.description,
                row.kind.as_str(),
                row.priority.as_str(),
                row.status.as_str(),
                row.ownership.owner_id,
                row.ownership.team_id,
                row.product_key,
                row.document.as_ref().map(|d| d.kind.clone()),
                row.document.as_ref().map(|d| d.id.clone()),
                row.resolution,
                row.satisfaction,
                row.satisfaction_comment,
                clock.first_response_at,
                clock.first_response_seconds(),
                clock.resolved_at,
                clock.resolution_seconds(),
                clock.closed_at,
                at,
                actor.user_id
            ],
        )
        .await?;
    if n == 0 {
        let current = get(tx, t, before.id).await?.map_or(before.version, |c| c.version);
        return Err(DomainError::VersionMismatch { record: "case", current }.into());
    }
    let after = get(tx, t, before.id).await?.ok_or(DomainError::NotFound { record: "case" })?;
    index(tx, actor.tenant_id, &after).await?;
    audit::updated(tx, actor, T, after.id, after.version, before, &after).await?;
    Ok(after)
}

/// The stored columns of a case, as a write leaves them.
struct Row {
    account_key: i64,
    subject: String,
    description: String,
    kind: CaseKind,
    priority: CasePriority,
    status: CaseStatus,
    ownership: Ownership,
    product_key: Option<i64>,
    document: Option<DocumentRef>,
    resolution: Option<String>,
    satisfaction: Option<i64>,
    satisfaction_comment: Option<String>,
}

impl Row {
    fn of(c: &Case) -> Row {
        Row {
            account_key: c.account_key,
            subject: c.subject.clone(),
            description: c.description.clone(),
            kind: c.kind,
            priority: c.priority,
            status: c.status,
            ownership: c.ownership,
            product_key: c.product_key,
            document: c.document.clone(),
            resolution: c.resolution.clone(),
            satisfaction: c.satisfaction,
            satisfaction_comment: c.satisfaction_comment.clone(),
        }
    }
}

/// Updates a case (the caller has checked the permission on `before`). A
/// change of assignee to someone may be the case's first response.
pub async fn update(
    tx: &mut Tx,
    actor: &Actor,
    before: &Case,
    if_version: Option<i64>,
    patch: CasePatch,
    at: OffsetDateTime,
) -> StoreResult<Case> {
    expect_version("case", before.version, if_version)?;
    let t = actor.tenant_id;
    let mut row = Row::of(before);
    let mut v = Validator::new();
    if let Some(s) = &patch.subject {
        row.subject = check_subject(&mut v, s);
    }
    if let Some(d) = &patch.description {
        row.description = check_text(&mut v, "description", Some(d)).unwrap_or_default();
    }
    if let Some(r) = &patch.resolution {
        row.resolution = check_text(&mut v, "resolution", r.as_deref());
    }
    if let Some(d) = &patch.document {
        row.document = check_doc(&mut v, d.as_ref());
    }
    let rating_changed = patch.satisfaction.is_some() || patch.satisfaction_comment.is_some();
    if let Some(s) = patch.satisfaction {
        row.satisfaction = s;
    }
    if let Some(c) = &patch.satisfaction_comment {
        row.satisfaction_comment = check_text(&mut v, "satisfaction_comment", c.as_deref());
    }
    check_satisfaction(&mut v, before.status, row.satisfaction, rating_changed);
    if row.satisfaction_comment.is_some() && row.satisfaction.is_none() {
        v.add("satisfaction_comment", "needs a satisfaction score");
    }
    v.finish()?;
    row.kind = patch.kind.unwrap_or(row.kind);
    row.priority = patch.priority.unwrap_or(row.priority);
    if let Some(a) = patch.account_id.filter(|a| *a != before.account_id) {
        row.account_key = resolve_account(tx, t, a).await?;
    }
    if let Some(p) = patch.product_id {
        row.product_key = resolve_product(tx, t, p).await?;
    }
    row.ownership =
        ownership::changed(tx, t, before.ownership, patch.assignee_id, patch.team_id, "assignee_id", true).await?;
    let mut clock = before.clock();
    if row.ownership.owner_id.is_some() && row.ownership.owner_id != before.ownership.owner_id {
        clock.assigned(at);
    }
    store(tx, actor, before, row, clock, at).await
}

/// Takes a workflow action on a case; `resolution` (required to resolve
/// unless the case already has one) is taken by `resolve` only.
pub async fn act(
    tx: &mut Tx,
    actor: &Actor,
    before: &Case,
    if_version: Option<i64>,
    action: CaseAction,
    resolution: Option<String>,
    at: OffsetDateTime,
) -> StoreResult<Case> {
    expect_version("case", before.version, if_version)?;
    let status = rules::transition(before.status, action)?;
    let mut row = Row::of(before);
    let mut v = Validator::new();
    if resolution.is_some() && action != CaseAction::Resolve {
        v.add("resolution", "is taken by the resolve action only");
    }
    if let Some(r) = resolution {
        row.resolution = check_text(&mut v, "resolution", Some(&r));
    }
    if action == CaseAction::Resolve && row.resolution.is_none() {
        v.add("resolution", "is required to resolve a case: say how it was solved");
    }
    v.finish()?;
    row.status = status;
    let mut clock = before.clock();
    clock.act(before.status, action, at);
    store(tx, actor, before, row, clock, at).await
}

/// Deletes a case.
pub async fn delete(tx: &mut Tx, actor: &Actor, before: &Case, if_version: Option<i64>) -> StoreResult<()> {
    expect_version("case", before.version, if_version)?;
    crate::attachments::delete_for_record(
        tx,
        actor,
        crate::attachments::Owner { record_type: RecordType::Case, key: before.key, id: before.id },
    )
    .await?;
    crate::search::remove(tx, actor.tenant_id, T, before.key).await?;
    tx.execute("DELETE FROM cases WHERE tenant_id = $1 AND id = $2", args![actor.tenant_id, before.key]).await?;
    audit::deleted(tx, actor, T, before.id, before.version + 1, before).await
}
