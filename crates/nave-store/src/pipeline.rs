//! The sales pipeline: its stages, the opportunities that move through them
//! with their stage history, and the rows the weighted forecast is made of.
//! The rules are in `nave_domain::pipeline` and `nave_domain::forecast`.
//!
//! Writes take the time of the change as `at`, so the demo and tests can
//! write history in the past; the API passes the current time.

use nave_domain::DomainError;
use nave_domain::access::{Ownership, RecordType};
use nave_domain::error::Validator;
use nave_domain::forecast::{ForecastItem, YearMonth, weighted_minor};
use nave_domain::ids::PublicId;
use nave_domain::money::{Currency, Money};
use nave_domain::pipeline::{
    self as rules, DEFAULT_PIPELINE, StageKind, Standing, StandingChange, check_pipeline, check_stage_probability,
};
use nave_domain::search::Field;
use serde::Serialize;
use time::{Date, OffsetDateTime};

use crate::accounts::{self, Visibility};
use crate::audit::{self, Actor};
use crate::db::{DbRow, Tx};
use crate::page::{Cursor, ListSql, Page, Sort, SortColumn, SortCursor, SortValue};
use crate::{StoreError, StoreResult, and_where, args, expect_version, on_unique, ownership};

// ------------------------------------------------------------------ stages

/// A pipeline stage as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Stage {
    #[serde(skip)]
    pub key: i64,
    #[schema(value_type = String)]
    pub id: PublicId,
    pub name: String,
    /// Order in the pipeline, lowest first.
    pub position: i64,
    /// Default probability of opportunities in the stage, integer percent.
    pub probability: i64,
    /// `open`, `won` or `lost`.
    #[schema(value_type = String, example = "open")]
    pub kind: StageKind,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

const SELECT_STAGE: &str = "SELECT id, public_id, name, position, probability, kind, version, created_at, updated_at \
    FROM pipeline_stages";

fn decode_kind(s: &str) -> StoreResult<StageKind> {
    s.parse().map_err(|e: nave_domain::access::UnknownName| StoreError::Decode(e.to_string()))
}

fn decode_stage(r: &dyn DbRow) -> StoreResult<Stage> {
    Ok(Stage {
        key: r.i64("id")?,
        id: PublicId::from_uuid(r.uuid("public_id")?),
        name: r.text("name")?,
        position: r.i64("position")?,
        probability: r.i64("probability")?,
        kind: decode_kind(&r.text("kind")?)?,
        version: r.i64("version")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

/// The stages in pipeline order.
pub async fn list_stages(tx: &mut Tx, tenant_id: i64) -> StoreResult<Vec<Stage>> {
    tx.fetch_all(format!("{SELECT_STAGE} WHERE tenant_id = $1 ORDER BY position, id"), args![tenant_id], decode_stage)
        .await
}

pub async fn get_stage(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<Option<Stage>> {
    tx.fetch_optional(
        format!("{SELECT_STAGE} WHERE tenant_id = $1 AND public_id = $2"),
        args![tenant_id, id],
        decode_stage,
    )
    .await
}

/// Every stage, locked against other stage changes until the transaction
/// ends, so that two changes cannot together break the pipeline's rules.
async fn lock_stages(tx: &mut Tx, tenant_id: i64) -> StoreResult<Vec<Stage>> {
    let sql = format!("{SELECT_STAGE} WHERE tenant_id = $1 ORDER BY position, id{}", tx.for_update());
    tx.fetch_all(sql, args![tenant_id], decode_stage).await
}

fn duplicate_stage(name: &str) -> DomainError {
    DomainError::Conflict(format!("a stage named {name} already exists"))
}

/// A stage's fields; on create, `None` position means after the last stage.
#[derive(Debug, Clone)]
pub struct StageInput {
    pub name: String,
    pub position: Option<i64>,
    pub probability: i64,
    pub kind: StageKind,
}

async fn insert_stage(tx: &mut Tx, actor: &Actor, input: &StageInput, position: i64) -> StoreResult<PublicId> {
    let id = PublicId::new();
    let sql = format!(
        "INSERT INTO pipeline_stages (tenant_id, id, public_id, name, name_key, position, probability, kind, version, \
         created_at, updated_at, created_by, updated_by) VALUES ($1, {}, $2, $3, $4, $5, $6, $7, 1, $8, $8, $9, $9) \
         ON CONFLICT DO NOTHING",
        tx.new_id_expr("pipeline_stages", "$1")
    );
    let name = input.name.trim();
    let n = tx
        .execute(
            sql,
            args![
                actor.tenant_id,
                id,
                name,
                name.to_lowercase(),
                position,
                input.probability,
                input.kind.as_str(),
                crate::db::now(),
                actor.user_id
            ],
        )
        .await?;
    if n == 0 {
        return Err(duplicate_stage(name).into());
    }
    Ok(id)
}

/// Seeds the default pipeline of a company that has no stages yet (see
/// [`DEFAULT_PIPELINE`]); a company always keeps at least two stages, so
/// this happens once.
pub async fn seed_default_pipeline(tx: &mut Tx, tenant_id: i64) -> StoreResult<()> {
    let have =
        tx.scalar_i64("SELECT COUNT(*) AS v FROM pipeline_stages WHERE tenant_id = $1", args![tenant_id]).await?;
    if have > 0 {
        return Ok(());
    }
    let system = Actor::system(tenant_id);
    for (i, (name, probability, kind)) in DEFAULT_PIPELINE.iter().enumerate() {
        let input = StageInput { name: (*name).into(), position: None, probability: *probability, kind: *kind };
        match insert_stage(tx, &system, &input, (i as i64 + 1) * 10).await {
            // Another server seeding at the same moment got there first.
            Err(StoreError::Domain(DomainError::Conflict(_))) => {}
            other => {
                other?;
            }
        }
    }
    Ok(())
}

fn check_stage(input: &StageInput) -> Result<(), DomainError> {
    let mut v = Validator::new();
    if let Err(DomainError::Validation(e)) = crate::clean_name(&input.name, 100) {
        e.into_iter().for_each(|e| v.add(e.field, e.message));
    }
    check_stage_probability(&mut v, input.kind, input.probability);
    v.finish()
}

pub async fn create_stage(tx: &mut Tx, actor: &Actor, input: StageInput) -> StoreResult<Stage> {
    check_stage(&input)?;
    let stages = lock_stages(tx, actor.tenant_id).await?;
    check_pipeline(stages.iter().map(|s| s.kind).chain([input.kind]))?;
    let position = input.position.unwrap_or_else(|| stages.iter().map(|s| s.position).max().unwrap_or(0) + 10);
    let id = insert_stage(tx, actor, &input, position).await?;
    let stage = get_stage(tx, actor.tenant_id, id).await?.ok_or(DomainError::NotFound { record: "pipeline_stage" })?;
    audit::created(tx, actor, RecordType::PipelineStage, id, &stage).await?;
    Ok(stage)
}

/// How many opportunities are in a stage now.
async fn opportunities_in(tx: &mut Tx, tenant_id: i64, stage_key: i64) -> StoreResult<i64> {
    tx.scalar_i64(
        "SELECT COUNT(*) AS v FROM opportunities WHERE tenant_id = $1 AND stage_id = $2",
        args![tenant_id, stage_key],
    )
    .await
}

/// Changes to a stage; `None` keeps the current value. A new kind brings its
/// fixed probability unless one is given.
#[derive(Debug, Clone, Default)]
pub struct StagePatch {
    pub name: Option<String>,
    pub position: Option<i64>,
    pub probability: Option<i64>,
    pub kind: Option<StageKind>,
}

pub async fn update_stage(
    tx: &mut Tx,
    actor: &Actor,
    before: &Stage,
    if_version: Option<i64>,
    patch: StagePatch,
) -> StoreResult<Stage> {
    expect_version("pipeline_stage", before.version, if_version)?;
    let kind = patch.kind.unwrap_or(before.kind);
    let probability = match (patch.probability, kind != before.kind) {
        (Some(p), _) => p,
        (None, true) => kind.fixed_probability().unwrap_or(before.probability),
        (None, false) => before.probability,
    };
    let input = StageInput {
        name: patch.name.clone().unwrap_or_else(|| before.name.clone()),
        position: Some(patch.position.unwrap_or(before.position)),
        probability,
        kind,
    };
    check_stage(&input)?;
    let t = actor.tenant_id;
    let stages = lock_stages(tx, t).await?;
    if kind != before.kind {
        let used = opportunities_in(tx, t, before.key).await?;
        if used > 0 {
            return Err(DomainError::Conflict(format!(
                "the stage {} holds {used} opportunit{}; move them to another stage before making it a {kind} stage",
                before.name,
                if used == 1 { "y" } else { "ies" }
            ))
            .into());
        }
        check_pipeline(stages.iter().map(|s| if s.key == before.key { kind } else { s.kind }))?;
    }
    let name = input.name.trim().to_string();
    let r = tx
        .execute(
            "UPDATE pipeline_stages SET name = $4, name_key = $5, position = $6, probability = $7, kind = $8, \
             version = version + 1, updated_at = $9, updated_by = $10 WHERE tenant_id = $1 AND id = $2 AND version = $3",
            args![
                t,
                before.key,
                before.version,
                &name,
                name.to_lowercase(),
                input.position,
                probability,
                kind.as_str(),
                crate::db::now(),
                actor.user_id
            ],
        )
        .await;
    let n = on_unique(r, "pipeline_stages_name_key", "pipeline_stages.name_key", || duplicate_stage(&name))?;
    if n == 0 {
        let current = get_stage(tx, t, before.id).await?.map_or(before.version, |s| s.version);
        return Err(DomainError::VersionMismatch { record: "pipeline_stage", current }.into());
    }
    let after = get_stage(tx, t, before.id).await?.ok_or(DomainError::NotFound { record: "pipeline_stage" })?;
    audit::updated(tx, actor, RecordType::PipelineStage, after.id, after.version, before, &after).await?;
    Ok(after)
}

/// Deletes a stage no opportunity is in, when the pipeline stays whole.
pub async fn delete_stage(tx: &mut Tx, actor: &Actor, before: &Stage, if_version: Option<i64>) -> StoreResult<()> {
    expect_version("pipeline_stage", before.version, if_version)?;
    let t = actor.tenant_id;
    let stages = lock_stages(tx, t).await?;
    let used = opportunities_in(tx, t, before.key).await?;
    if used > 0 {
        return Err(DomainError::Conflict(format!(
            "the stage {} is used by {used} opportunit{}; move them to another stage first",
            before.name,
            if used == 1 { "y" } else { "ies" }
        ))
        .into());
    }
    check_pipeline(stages.iter().filter(|s| s.key != before.key).map(|s| s.kind))?;
    tx.execute("DELETE FROM pipeline_stages WHERE tenant_id = $1 AND id = $2", args![t, before.key]).await?;
    audit::deleted(tx, actor, RecordType::PipelineStage, before.id, before.version + 1, before).await
}

/// A stage by public id for an opportunity, or a validation error on `stage_id`.
async fn resolve_stage(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<Stage> {
    get_stage(tx, tenant_id, id)
        .await?
        .ok_or_else(|| DomainError::invalid("stage_id", "is not the id of a pipeline stage").into())
}

// ---------------------------------------------------------- opportunities

/// An opportunity as the API shows it. Its `status` is its stage's kind.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Opportunity {
    #[serde(skip)]
    pub key: i64,
    #[serde(skip)]
    pub ownership: Ownership,
    #[serde(skip)]
    pub stage_key: i64,
    #[serde(skip)]
    pub account_key: i64,
    #[serde(skip)]
    pub amount_minor: i64,
    #[serde(skip)]
    pub close_date: Date,
    #[schema(value_type = String)]
    pub id: PublicId,
    #[schema(value_type = String)]
    pub account_id: PublicId,
    pub account_name: String,
    pub name: String,
    #[schema(value_type = String)]
    pub stage_id: PublicId,
    /// The stage's name.
    pub stage: String,
    /// `open`, `won` or `lost`: the kind of the stage.
    #[schema(value_type = String, example = "open")]
    pub status: StageKind,
    /// Integer percent, 0–100.
    pub probability: i64,
    /// Decimal string in `currency`.
    #[schema(example = "12500.00")]
    pub amount: String,
    #[schema(value_type = String, example = "EUR")]
    pub currency: Currency,
    /// `amount` × `probability`, rounded half away from zero to the currency's minor unit.
    #[schema(example = "6250.00")]
    pub weighted_amount: String,
    /// `YYYY-MM-DD`.
    #[schema(example = "2026-06-30")]
    pub expected_close: String,
    #[schema(value_type = Option<String>)]
    pub owner_id: Option<PublicId>,
    pub owner_name: Option<String>,
    #[schema(value_type = Option<String>)]
    pub team_id: Option<PublicId>,
    /// Where the opportunity came from (`referral`, `web`, `trade fair`, …).
    pub source: Option<String>,
    pub description: String,
    /// When it was won or lost; `null` while open.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<OffsetDateTime>,
    pub lost_reason: Option<String>,
    pub won_reason: Option<String>,
    pub version: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl Opportunity {
    /// What the stage decides, for the next change.
    fn standing(&self) -> Standing {
        Standing {
            kind: self.status,
            probability: self.probability,
            closed_at: self.closed_at,
            lost_reason: self.lost_reason.clone(),
            won_reason: self.won_reason.clone(),
        }
    }
}

const SELECT_OPP: &str = "SELECT o.id, o.public_id, o.account_id, o.name, o.stage_id, o.probability, o.amount_minor, \
    o.currency, o.expected_close, o.owner_id, o.team_id, o.source, o.description, o.closed_at, o.lost_reason, \
    o.won_reason, o.version, o.created_at, o.updated_at, a.public_id AS account_public_id, a.name AS account_name, \
    s.public_id AS stage_public_id, s.name AS stage_name, s.kind AS stage_kind, u.public_id AS owner_public_id, \
    u.name AS owner_name, t.public_id AS team_public_id \
    FROM opportunities o \
    JOIN accounts a ON a.tenant_id = o.tenant_id AND a.id = o.account_id \
    JOIN pipeline_stages s ON s.tenant_id = o.tenant_id AND s.id = o.stage_id \
    LEFT JOIN users u ON u.tenant_id = o.tenant_id AND u.id = o.owner_id \
    LEFT JOIN teams t ON t.tenant_id = o.tenant_id AND t.id = o.team_id";

fn decode_opp(r: &dyn DbRow) -> StoreResult<Opportunity> {
    let currency = Currency::parse(&r.text("currency")?).map_err(|e| StoreError::Decode(e.to_string()))?;
    let amount_minor = r.i64("amount_minor")?;
    let probability = r.i64("probability")?;
    let close_date =
        r.opt_date("expected_close")?.ok_or_else(|| StoreError::Decode("expected_close is null".into()))?;
    Ok(Opportunity {
        key: r.i64("id")?,
        ownership: Ownership { owner_id: r.opt_i64("owner_id")?, team_id: r.opt_i64("team_id")? },
        stage_key: r.i64("stage_id")?,
        account_key: r.i64("account_id")?,
        amount_minor,
        close_date,
        id: PublicId::from_uuid(r.uuid("public_id")?),
        account_id: PublicId::from_uuid(r.uuid("account_public_id")?),
        account_name: r.text("account_name")?,
        name: r.text("name")?,
        stage_id: PublicId::from_uuid(r.uuid("stage_public_id")?),
        stage: r.text("stage_name")?,
        status: decode_kind(&r.text("stage_kind")?)?,
        probability,
        amount: Money::from_minor(amount_minor, currency).to_string(),
        currency,
        weighted_amount: Money::from_minor(weighted_minor(amount_minor, probability), currency).to_string(),
        expected_close: close_date.to_string(),
        owner_id: r.opt_uuid("owner_public_id")?.map(PublicId::from_uuid),
        owner_name: r.opt_text("owner_name")?,
        team_id: r.opt_uuid("team_public_id")?.map(PublicId::from_uuid),
        source: r.opt_text("source")?,
        description: r.text("description")?,
        closed_at: r.opt_ts("closed_at")?,
        lost_reason: r.opt_text("lost_reason")?,
        won_reason: r.opt_text("won_reason")?,
        version: r.i64("version")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

pub async fn get(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<Option<Opportunity>> {
    tx.fetch_optional(
        format!("{SELECT_OPP} WHERE o.tenant_id = $1 AND o.public_id = $2"),
        args![tenant_id, id],
        decode_opp,
    )
    .await
}

/// Filters of the opportunity list.
#[derive(Debug, Clone)]
pub struct OpportunityQuery {
    pub visibility: Visibility,
    pub account_key: Option<i64>,
    pub stage_key: Option<i64>,
    pub owner_key: Option<i64>,
    pub status: Option<StageKind>,
    /// Search words: each must begin a word of the opportunity's name.
    pub words: Vec<String>,
    pub cursor: Option<Cursor>,
    /// The order; the list's own (no column) pages by `cursor`, the others by `sorted_after`.
    pub sort: Sort<Opportunity>,
    pub sorted_after: Option<SortCursor>,
    pub limit: i64,
}

/// The columns the opportunity list sorts by (`?sort=`); without one, oldest first.
pub static SORTS: &[SortColumn<Opportunity>] = &[
    SortColumn { name: "name", sql: "o.name", value: |o| SortValue::Text(o.name.clone()) },
    SortColumn { name: "account", sql: "a.name", value: |o| SortValue::Text(o.account_name.clone()) },
    SortColumn { name: "amount", sql: "o.amount_minor", value: |o| SortValue::Int(o.amount_minor) },
    SortColumn { name: "probability", sql: "o.probability", value: |o| SortValue::Int(o.probability) },
    SortColumn { name: "close", sql: "o.expected_close", value: |o| SortValue::Date(o.close_date) },
];

impl Default for OpportunityQuery {
    fn default() -> Self {
        Self {
            visibility: Visibility::All,
            account_key: None,
            stage_key: None,
            owner_key: None,
            status: None,
            words: vec![],
            cursor: None,
            sort: Sort::default(),
            sorted_after: None,
            limit: 50,
        }
    }
}

/// Opportunities, oldest first.
/// Writes the words an opportunity is found by: its name.
pub async fn index(tx: &mut Tx, tenant_id: i64, o: &Opportunity) -> StoreResult<()> {
    crate::search::index(tx, tenant_id, RecordType::Opportunity, o.key, &[Field::Text(&o.name)]).await
}

pub async fn list(tx: &mut Tx, tenant_id: i64, q: &OpportunityQuery) -> StoreResult<Page<Opportunity>> {
    let mut sql = format!("{SELECT_OPP} WHERE o.tenant_id = $1");
    let mut a = args![tenant_id];
    q.visibility.push_on("o.owner_id", "o.team_id", &mut sql, &mut a);
    if let Some(k) = q.account_key {
        and_where(&mut sql, &mut a, "o.account_id = $?", k);
    }
    if let Some(k) = q.stage_key {
        and_where(&mut sql, &mut a, "o.stage_id = $?", k);
    }
    if let Some(k) = q.owner_key {
        and_where(&mut sql, &mut a, "o.owner_id = $?", k);
    }
    if let Some(s) = q.status {
        and_where(&mut sql, &mut a, "s.kind = $?", s.as_str());
    }
    if let Some(cond) = crate::search::matching_keys("o.id", RecordType::Opportunity, &q.words, &mut a) {
        sql.push_str(&format!(" AND {cond}"));
    }
    let mut f = ListSql { sql, args: a };
    let limit = f.sorted_page("o.id", false, q.sort, q.cursor, q.sorted_after.as_ref(), q.limit);
    let rows = tx.fetch_all(f.sql, f.args, decode_opp).await?;
    Ok(Page::from_rows(rows, limit, |o| o.key))
}

/// One step of an opportunity's way through the pipeline.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StageChange {
    #[serde(skip)]
    pub key: i64,
    /// The stage left (`null` for the stage the opportunity was created in).
    #[schema(value_type = Option<String>)]
    pub from_stage_id: Option<PublicId>,
    pub from_stage: Option<String>,
    #[schema(value_type = String)]
    pub to_stage_id: PublicId,
    pub to_stage: String,
    /// The status the move led to.
    #[schema(value_type = String, example = "open")]
    pub status: StageKind,
    /// The probability after the move.
    pub probability: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub changed_at: OffsetDateTime,
    #[schema(value_type = Option<String>)]
    pub changed_by: Option<PublicId>,
    pub changed_by_name: Option<String>,
}

/// The stage history of an opportunity, oldest first.
pub async fn history(tx: &mut Tx, tenant_id: i64, opportunity_key: i64) -> StoreResult<Vec<StageChange>> {
    tx.fetch_all(
        "SELECT h.id, h.from_stage_id, h.from_stage_name, h.to_stage_id, h.to_stage_name, h.to_kind, h.probability, \
         h.changed_at, u.public_id AS user_public_id, u.name AS user_name FROM opportunity_stage_history h \
         LEFT JOIN users u ON u.tenant_id = h.tenant_id AND u.id = h.changed_by \
         WHERE h.tenant_id = $1 AND h.opportunity_id = $2 ORDER BY h.id",
        args![tenant_id, opportunity_key],
        |r| {
            Ok(StageChange {
                key: r.i64("id")?,
                from_stage_id: r.opt_uuid("from_stage_id")?.map(PublicId::from_uuid),
                from_stage: r.opt_text("from_stage_name")?,
                to_stage_id: PublicId::from_uuid(r.uuid("to_stage_id")?),
                to_stage: r.text("to_stage_name")?,
                status: decode_kind(&r.text("to_kind")?)?,
                probability: r.i64("probability")?,
                changed_at: r.ts("changed_at")?,
                changed_by: r.opt_uuid("user_public_id")?.map(PublicId::from_uuid),
                changed_by_name: r.opt_text("user_name")?,
            })
        },
    )
    .await
}

/// Appends a history row: the move from `from` (none on creation) to `to`.
async fn record_move(
    tx: &mut Tx,
    actor: &Actor,
    opportunity_key: i64,
    from: Option<(PublicId, &str)>,
    to: &Stage,
    probability: i64,
    at: OffsetDateTime,
) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO opportunity_stage_history (tenant_id, id, opportunity_id, from_stage_id, from_stage_name, \
         to_stage_id, to_stage_name, to_kind, probability, changed_at, changed_by) \
         VALUES ($1, {}, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        tx.new_id_expr("opportunity_stage_history", "$1")
    );
    tx.execute(
        sql,
        args![
            actor.tenant_id,
            opportunity_key,
            from.map(|f| f.0.as_uuid()),
            from.map(|f| f.1),
            to.id,
            &to.name,
            to.kind.as_str(),
            probability,
            at,
            actor.user_id
        ],
    )
    .await?;
    Ok(())
}

/// An opportunity to create. Text where the API takes decimal strings.
#[derive(Debug, Clone)]
pub struct NewOpportunity {
    pub account_id: PublicId,
    pub name: String,
    /// Default: the first open stage of the pipeline.
    pub stage_id: Option<PublicId>,
    /// Default: the stage's.
    pub probability: Option<i64>,
    /// Decimal string (default `"0"`).
    pub amount: Option<String>,
    /// Default: the account's currency.
    pub currency: Option<Currency>,
    pub expected_close: Date,
    /// `None`: the acting user; `Some(None)`: nobody.
    pub owner_id: Option<Option<PublicId>>,
    /// Default: the owner's team.
    pub team_id: Option<PublicId>,
    pub source: Option<String>,
    pub description: String,
    pub lost_reason: Option<String>,
    pub won_reason: Option<String>,
}

/// The checked fields every write of an opportunity stores.
struct Fields {
    name: String,
    amount_minor: i64,
    source: Option<String>,
    description: String,
}

fn check_fields(
    v: &mut Validator,
    name: &str,
    amount: &str,
    currency: Currency,
    source: Option<&str>,
    description: &str,
) -> Fields {
    let n = name.trim().to_string();
    if n.is_empty() || n.chars().count() > 200 {
        v.add("name", "must be 1 to 200 characters");
    }
    let amount_minor = match Money::parse(amount, currency) {
        Ok(m) if m.is_negative() => {
            v.add("amount", "must not be negative");
            0
        }
        Ok(m) => m.minor(),
        Err(e) => {
            v.add("amount", e.to_string());
            0
        }
    };
    let source = source.map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    if source.as_ref().is_some_and(|s| s.chars().count() > 100) {
        v.add("source", "must be at most 100 characters");
    }
    if description.chars().count() > 10_000 {
        v.add("description", "must be at most 10,000 characters");
    }
    Fields { name: n, amount_minor, source, description: description.trim().to_string() }
}

/// The account an opportunity hangs from: it must exist and be active.
async fn active_account(tx: &mut Tx, tenant_id: i64, id: PublicId) -> StoreResult<accounts::Account> {
    let acc = accounts::get(tx, tenant_id, id)
        .await?
        .ok_or_else(|| DomainError::invalid("account_id", "is not the id of an account"))?;
    if acc.archived {
        return Err(DomainError::invalid("account_id", format!("{} is archived", acc.name)).into());
    }
    Ok(acc)
}

pub async fn create(tx: &mut Tx, actor: &Actor, new: NewOpportunity, at: OffsetDateTime) -> StoreResult<Opportunity> {
    let t = actor.tenant_id;
    let account = active_account(tx, t, new.account_id).await?;
    let stage = match new.stage_id {
        Some(s) => resolve_stage(tx, t, s).await?,
        None => list_stages(tx, t)
            .await?
            .into_iter()
            .find(|s| s.kind == StageKind::Open)
            .ok_or_else(|| DomainError::invalid("stage_id", "is required: the pipeline has no open stage"))?,
    };
    let currency = new.currency.unwrap_or(account.currency);
    let mut v = Validator::new();
    let f = check_fields(
        &mut v,
        &new.name,
        new.amount.as_deref().unwrap_or("0"),
        currency,
        new.source.as_deref(),
        &new.description,
    );
    let change = StandingChange {
        stage: Some((stage.kind, stage.probability)),
        probability: new.probability,
        lost_reason: new.lost_reason.as_deref().map(Some),
        won_reason: new.won_reason.as_deref().map(Some),
    };
    let standing = rules::settle(&mut v, None, &change, at);
    v.finish()?;
    let standing = standing.ok_or_else(|| DomainError::invalid("stage_id", "is required"))?;
    let own = ownership::for_new(tx, actor, new.owner_id, new.team_id, "owner_id").await?;
    let id = PublicId::new();
    let sql = format!(
        "INSERT INTO opportunities (tenant_id, id, public_id, account_id, name, stage_id, probability, amount_minor, \
         currency, expected_close, owner_id, team_id, source, description, closed_at, lost_reason, won_reason, version, \
         created_at, updated_at, created_by, updated_by) \
         VALUES ($1, {}, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 1, $17, $17, $18, $18)",
        tx.new_id_expr("opportunities", "$1")
    );
    tx.execute(
        sql,
        args![
            t,
            id,
            account.key,
            &f.name,
            stage.key,
            standing.probability,
            f.amount_minor,
            currency.code(),
            new.expected_close,
            own.owner_id,
            own.team_id,
            f.source,
            &f.description,
            standing.closed_at,
            standing.lost_reason,
            standing.won_reason,
            at,
            actor.user_id
        ],
    )
    .await?;
    let opp = get(tx, t, id).await?.ok_or(DomainError::NotFound { record: "opportunity" })?;
    record_move(tx, actor, opp.key, None, &stage, opp.probability, at).await?;
    index(tx, actor.tenant_id, &opp).await?;
    audit::created(tx, actor, RecordType::Opportunity, id, &opp).await?;
    Ok(opp)
}

/// Changes to an opportunity; `None` keeps the current value, `Some(None)` clears.
#[derive(Debug, Clone, Default)]
pub struct OpportunityPatch {
    pub account_id: Option<PublicId>,
    pub name: Option<String>,
    pub stage_id: Option<PublicId>,
    pub probability: Option<i64>,
    pub amount: Option<String>,
    pub currency: Option<Currency>,
    pub expected_close: Option<Date>,
    pub owner_id: Option<Option<PublicId>>,
    pub team_id: Option<Option<PublicId>>,
    pub source: Option<Option<String>>,
    pub description: Option<String>,
    pub lost_reason: Option<Option<String>>,
    pub won_reason: Option<Option<String>>,
}

/// Updates an opportunity (the caller has checked the permission on
/// `before`). A new stage appends one history row, in this transaction.
pub async fn update(
    tx: &mut Tx,
    actor: &Actor,
    before: &Opportunity,
    if_version: Option<i64>,
    patch: OpportunityPatch,
    at: OffsetDateTime,
) -> StoreResult<Opportunity> {
    expect_version("opportunity", before.version, if_version)?;
    let t = actor.tenant_id;
    let account_key = match patch.account_id {
        Some(a) if a != before.account_id => active_account(tx, t, a).await?.key,
        _ => before.account_key,
    };
    let moved_to = match patch.stage_id {
        Some(s) if s != before.stage_id => Some(resolve_stage(tx, t, s).await?),
        _ => None,
    };
    let currency = patch.currency.unwrap_or(before.currency);
    let mut v = Validator::new();
    let f = check_fields(
        &mut v,
        patch.name.as_deref().unwrap_or(&before.name),
        patch.amount.as_deref().unwrap_or(&before.amount),
        currency,
        match &patch.source {
            Some(s) => s.as_deref(),
            None => before.source.as_deref(),
        },
        patch.description.as_deref().unwrap_or(&before.description),
    );
    let change = StandingChange {
        stage: moved_to.as_ref().map(|s| (s.kind, s.probability)),
        probability: patch.probability,
        lost_reason: patch.lost_reason.as_ref().map(|r| r.as_deref()),
        won_reason: patch.won_reason.as_ref().map(|r| r.as_deref()),
    };
    let before_standing = before.standing();
    let standing = rules::settle(&mut v, Some(&before_standing), &change, at);
    v.finish()?;
    let standing = standing.unwrap_or(before_standing);
    let own = ownership::changed(tx, t, before.ownership, patch.owner_id, patch.team_id, "owner_id", false).await?;
    let n = tx
        .execute(
            "UPDATE opportunities SET account_id = $4, name = $5, stage_id = $6, probability = $7, amount_minor = $8, \
             currency = $9, expected_close = $10, owner_id = $11, team_id = $12, source = $13, description = $14, \
             closed_at = $15, lost_reason = $16, won_reason = $17, version = version + 1, updated_at = $18, \
             updated_by = $19 WHERE tenant_id = $1 AND id = $2 AND version = $3",
            args![
                t,
                before.key,
                before.version,
                account_key,
                &f.name,
                moved_to.as_ref().map_or(before.stage_key, |s| s.key),
                standing.probability,
                f.amount_minor,
                currency.code(),
                patch.expected_close.unwrap_or(before.close_date),
                own.owner_id,
                own.team_id,
                f.source,
                &f.description,
                standing.closed_at,
                standing.lost_reason,
                standing.won_reason,
                at,
                actor.user_id
            ],
        )
        .await?;
    if n == 0 {
        let current = get(tx, t, before.id).await?.map_or(before.version, |o| o.version);
        return Err(DomainError::VersionMismatch { record: "opportunity", current }.into());
    }
    let after = get(tx, t, before.id).await?.ok_or(DomainError::NotFound { record: "opportunity" })?;
    if let Some(stage) = &moved_to {
        record_move(tx, actor, after.key, Some((before.stage_id, &before.stage)), stage, after.probability, at).await?;
    }
    index(tx, actor.tenant_id, &after).await?;
    audit::updated(tx, actor, RecordType::Opportunity, after.id, after.version, before, &after).await?;
    Ok(after)
}

/// Deletes an opportunity and its stage history.
pub async fn delete(tx: &mut Tx, actor: &Actor, before: &Opportunity, if_version: Option<i64>) -> StoreResult<()> {
    expect_version("opportunity", before.version, if_version)?;
    crate::attachments::delete_for_record(
        tx,
        actor,
        crate::attachments::Owner { record_type: RecordType::Opportunity, key: before.key, id: before.id },
    )
    .await?;
    crate::search::remove(tx, actor.tenant_id, RecordType::Opportunity, before.key).await?;
    tx.execute("DELETE FROM opportunities WHERE tenant_id = $1 AND id = $2", args![actor.tenant_id, before.key])
        .await?;
    audit::deleted(tx, actor, RecordType::Opportunity, before.id, before.version + 1, before).await
}

// ---------------------------------------------------------------- forecast

/// Which open opportunities a forecast reads.
#[derive(Debug, Clone)]
pub struct ForecastQuery {
    pub visibility: Visibility,
    pub from: YearMonth,
    pub to: YearMonth,
    pub owner_key: Option<i64>,
    pub currency: Option<Currency>,
}

/// The open opportunities expected to close in the query's months, as the
/// forecast's items (owned by user key), with the owners' names by key.
pub async fn forecast_items(
    tx: &mut Tx,
    tenant_id: i64,
    q: &ForecastQuery,
) -> StoreResult<(Vec<ForecastItem<Option<i64>>>, Vec<(i64, PublicId, String)>)> {
    let mut sql = String::from(
        "SELECT o.expected_close, o.owner_id, o.currency, o.amount_minor, o.probability FROM opportunities o \
         JOIN pipeline_stages s ON s.tenant_id = o.tenant_id AND s.id = o.stage_id WHERE o.tenant_id = $1",
    );
    let mut a = args![tenant_id];
    and_where(&mut sql, &mut a, "s.kind = $?", StageKind::Open.as_str());
    and_where(&mut sql, &mut a, "o.expected_close >= $?", q.from.first_day());
    and_where(&mut sql, &mut a, "o.expected_close <= $?", q.to.last_day());
    q.visibility.push_on("o.owner_id", "o.team_id", &mut sql, &mut a);
    if let Some(k) = q.owner_key {
        and_where(&mut sql, &mut a, "o.owner_id = $?", k);
    }
    if let Some(c) = q.currency {
        and_where(&mut sql, &mut a, "o.currency = $?", c.code());
    }
    let items = tx
        .fetch_all(sql, a, |r| {
            let date = r.opt_date("expected_close")?.ok_or_else(|| StoreError::Decode("expected_close".into()))?;
            Ok(ForecastItem {
                month: YearMonth::of(date),
                owner: r.opt_i64("owner_id")?,
                currency: Currency::parse(&r.text("currency")?).map_err(|e| StoreError::Decode(e.to_string()))?,
                amount_minor: r.i64("amount_minor")?,
                probability: r.i64("probability")?,
            })
        })
        .await?;
    let owners = tx
        .fetch_all("SELECT id, public_id, name FROM users WHERE tenant_id = $1", args![tenant_id], |r| {
            Ok((r.i64("id")?, PublicId::from_uuid(r.uuid("public_id")?), r.text("name")?))
        })
        .await?;
    Ok((items, owners))
}
