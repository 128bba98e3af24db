//! `/api/v1/pipeline-stages`, `/api/v1/opportunities` (with their stage
//! history), `/api/v1/accounts/{id}/opportunities` and
//! `/api/v1/reports/pipeline-forecast`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use nave_domain::access::{Action, Principal, RecordType, Scope};
use nave_domain::forecast::{self, Forecast, Sums, YearMonth};
use nave_domain::ids::PublicId;
use nave_domain::money::{Currency, format_minor};
use nave_domain::pipeline::StageKind;
use nave_store::accounts::Visibility;
use nave_store::db::now;
use nave_store::pipeline::{
    self, ForecastQuery, NewOpportunity, Opportunity, OpportunityPatch, OpportunityQuery, Stage, StageChange,
    StageInput, StagePatch,
};
use serde::{Deserialize, Serialize};

use super::accounts::{account_for, account_key};
use super::payment_terms::parse_date;
use super::{double_option, parse_id, user_key};
use crate::begin_write;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiAuth, ApiWrite, ListParams, NoBody, Query};
use crate::present::{ListResponse, may_act, present, present_page, visible_or_404};
use crate::state::AppState;
use crate::write::Writer;

const STAGE: RecordType = RecordType::PipelineStage;
const OPP: RecordType = RecordType::Opportunity;

// ------------------------------------------------------------------ stages

#[utoipa::path(get, path = "/pipeline-stages", tag = "pipeline",
    responses((status = 200, description = "The stages in pipeline order", body = inline(StageList))))]
pub async fn list_pipeline_stages(State(app): State<AppState>, auth: ApiAuth) -> ApiResult<Json<ListResponse>> {
    auth.require(STAGE, Action::Read)?;
    let mut tx = app.db.autocommit().await?;
    let list = pipeline::list_stages(&mut tx, auth.0.tenant_id).await?;
    Ok(Json(present_page(&auth.0, STAGE, &list, None)?))
}

/// Schema of the stage list (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct StageList {
    data: Vec<Stage>,
    next: Option<String>,
}

/// A stage's fields. On create, `name` is required, `kind` defaults to `open`,
/// and `probability` is required for open stages (won stages have 100, lost 0);
/// on update, absent fields stay.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageRequest {
    pub name: Option<String>,
    /// `open`, `won` or `lost`.
    #[schema(value_type = Option<String>)]
    pub kind: Option<StageKind>,
    /// Default probability, integer percent 0–100.
    pub probability: Option<i64>,
    /// Order in the pipeline (default: after the last stage).
    pub position: Option<i64>,
}

#[utoipa::path(post, path = "/pipeline-stages", tag = "pipeline", request_body = StageRequest,
    responses((status = 201, body = Stage), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_pipeline_stage(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<StageRequest>,
) -> ApiResult<Response> {
    auth.require(STAGE, Action::Create)?;
    let b = &req.body;
    let kind = b.kind.unwrap_or(StageKind::Open);
    let input = StageInput {
        name: b.name.clone().ok_or_else(|| ApiError::invalid("name", "is required"))?,
        position: b.position,
        probability: b
            .probability
            .or(kind.fixed_probability())
            .ok_or_else(|| ApiError::invalid("probability", "is required for an open stage"))?,
        kind,
    };
    let mut w = begin_write!(app, auth, req);
    let stage = pipeline::create_stage(w.tx(), &auth.actor(), input).await?;
    let body = present(&auth.0, STAGE, &stage)?;
    w.respond(StatusCode::CREATED, &body).await
}

async fn stage(tx: &mut nave_store::Tx, auth: &ApiAuth, id: &str) -> ApiResult<Stage> {
    pipeline::get_stage(tx, auth.0.tenant_id, parse_id("pipeline_stage", id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("pipeline_stage"))
}

#[utoipa::path(get, path = "/pipeline-stages/{id}", tag = "pipeline", params(("id" = String, Path)),
    responses((status = 200, body = Stage), (status = 404, body = Problem)))]
pub async fn get_pipeline_stage(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    auth.require(STAGE, Action::Read)?;
    let mut tx = app.db.autocommit().await?;
    let s = stage(&mut tx, &auth, &id).await?;
    Ok(Json(present(&auth.0, STAGE, &s)?))
}

#[utoipa::path(patch, path = "/pipeline-stages/{id}", tag = "pipeline", request_body = StageRequest,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = Stage), (status = 409, body = Problem), (status = 412, body = Problem),
        (status = 422, body = Problem)))]
pub async fn update_pipeline_stage(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<StageRequest>,
) -> ApiResult<Response> {
    auth.require(STAGE, Action::Update)?;
    let mut w = begin_write!(app, auth, req);
    let before = stage(w.tx(), &auth, &id).await?;
    let b = &req.body;
    let patch = StagePatch { name: b.name.clone(), position: b.position, probability: b.probability, kind: b.kind };
    let after = pipeline::update_stage(w.tx(), &auth.actor(), &before, req.if_match, patch).await?;
    let body = present(&auth.0, STAGE, &after)?;
    w.respond(StatusCode::OK, &body).await
}

#[utoipa::path(delete, path = "/pipeline-stages/{id}", tag = "pipeline",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204), (status = 409, description = "The stage is in use, or the pipeline would lose its won or last lost stage", body = Problem)))]
pub async fn delete_pipeline_stage(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    auth.require(STAGE, Action::Delete)?;
    let mut w = begin_write!(app, auth, req);
    let before = stage(w.tx(), &auth, &id).await?;
    pipeline::delete_stage(w.tx(), &auth.actor(), &before, req.if_match).await?;
    w.respond(StatusCode::NO_CONTENT, &()).await
}

// ---------------------------------------------------------- opportunities

/// Filters of the opportunity lists.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OpportunityFilter {
    /// Only this account's opportunities (not on `/accounts/{id}/opportunities`).
    #[param(value_type = Option<String>)]
    pub account_id: Option<PublicId>,
    #[param(value_type = Option<String>)]
    pub stage_id: Option<PublicId>,
    #[param(value_type = Option<String>)]
    pub owner_id: Option<PublicId>,
    /// `open`, `won` or `lost`.
    #[param(value_type = Option<String>)]
    pub status: Option<StageKind>,
    /// The order: `name`, `account`, `amount`, `probability` or `close` (`-` in front for descending); oldest first without it.
    pub sort: Option<String>,
    pub limit: Option<i64>,
    pub after: Option<String>,
}

async fn list_page(
    app: &AppState,
    auth: &ApiAuth,
    f: OpportunityFilter,
    account: Option<PublicId>,
) -> ApiResult<Json<ListResponse>> {
    let scope = auth.require(OPP, Action::Read)?;
    let paging = ListParams { limit: f.limit, after: f.after.clone() };
    let (sort, cursor, sorted_after) = paging.sorted(pipeline::SORTS, f.sort.as_deref())?;
    let t = auth.0.tenant_id;
    let mut tx = app.db.read().await?;
    let account_key = account_key(&mut tx, &auth.0, account.or(f.account_id)).await?;
    let stage_key = match f.stage_id {
        Some(s) => Some(
            pipeline::get_stage(&mut tx, t, s)
                .await?
                .ok_or_else(|| ApiError::invalid("stage_id", "is not the id of a pipeline stage"))?
                .key,
        ),
        None => None,
    };
    let owner_key = user_key(&mut tx, t, f.owner_id, "owner_id").await?;
    let q = OpportunityQuery {
        words: vec![],
        visibility: Visibility::of(&auth.0, scope),
        account_key,
        stage_key,
        owner_key,
        status: f.status,
        cursor,
        sort,
        sorted_after,
        limit: paging.limit()?,
    };
    let page = pipeline::list(&mut tx, t, &q).await?;
    tx.commit().await?;
    Ok(Json(present_page(&auth.0, OPP, &page.items, q.sort.next_of(&page))?))
}

#[utoipa::path(get, path = "/opportunities", tag = "pipeline", params(OpportunityFilter),
    responses((status = 200, description = "A page of the opportunities the caller may see", body = inline(OpportunityList))))]
pub async fn list_opportunities(
    State(app): State<AppState>,
    auth: ApiAuth,
    Query(f): Query<OpportunityFilter>,
) -> ApiResult<Json<ListResponse>> {
    list_page(&app, &auth, f, None).await
}

#[utoipa::path(get, path = "/accounts/{id}/opportunities", tag = "pipeline", params(("id" = String, Path), OpportunityFilter),
    responses((status = 200, description = "A page of the account's opportunities the caller may see", body = inline(OpportunityList)),
        (status = 404, body = Problem)))]
pub async fn list_account_opportunities(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    Query(f): Query<OpportunityFilter>,
) -> ApiResult<Json<ListResponse>> {
    let account = readable_account_path(&app, &auth, &id, f.account_id).await?;
    list_page(&app, &auth, f, Some(account)).await
}

/// The account of an `/accounts/{id}/…` list, when the caller may read it
/// (404 otherwise); the list's filters may not name another (`filter_account`).
pub async fn readable_account_path(
    app: &AppState,
    auth: &ApiAuth,
    id: &str,
    filter_account: Option<PublicId>,
) -> ApiResult<PublicId> {
    if filter_account.is_some() {
        return Err(ApiError::invalid("account_id", "is given by the path"));
    }
    auth.require(RecordType::Account, Action::Read)?;
    let id = parse_id("account", id)?;
    let mut tx = app.db.autocommit().await?;
    let acc = nave_store::accounts::get(&mut tx, auth.0.tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("account"))?;
    visible_or_404(&auth.0, RecordType::Account, Action::Read, acc.ownership)?;
    Ok(acc.id)
}

/// Schema of an opportunity page (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct OpportunityList {
    data: Vec<Opportunity>,
    next: Option<String>,
}

/// An opportunity's fields. On create, `account_id`, `name` and
/// `expected_close` are required; on update, absent fields stay and `null`
/// clears the optional ones.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpportunityRequest {
    /// An active account the caller may see.
    #[schema(value_type = Option<String>)]
    pub account_id: Option<PublicId>,
    pub name: Option<String>,
    /// Default on create: the first open stage.
    #[schema(value_type = Option<String>)]
    pub stage_id: Option<PublicId>,
    /// Integer percent; default: the stage's when the stage is set or changes.
    pub probability: Option<i64>,
    /// Decimal string, e.g. `"12500.00"` (default `"0"`).
    pub amount: Option<String>,
    /// ISO 4217 code; default: the account's currency.
    #[schema(value_type = Option<String>, example = "EUR")]
    pub currency: Option<Currency>,
    /// `YYYY-MM-DD`.
    pub expected_close: Option<String>,
    /// Default on create: the caller (`null`: nobody).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub owner_id: Option<Option<PublicId>>,
    /// Default: the owner's team.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub team_id: Option<Option<PublicId>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub source: Option<Option<String>>,
    pub description: Option<String>,
    /// Required when the stage is a lost one.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub lost_reason: Option<Option<String>>,
    /// Only for a won stage.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub won_reason: Option<Option<String>>,
}

#[utoipa::path(post, path = "/opportunities", tag = "pipeline", request_body = OpportunityRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    responses((status = 201, body = Opportunity), (status = 422, body = Problem)))]
pub async fn create_opportunity(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<OpportunityRequest>,
) -> ApiResult<Response> {
    auth.require(OPP, Action::Create)?;
    let b = &req.body;
    let account_id = b.account_id.ok_or_else(|| ApiError::invalid("account_id", "is required"))?;
    let name = b.name.clone().ok_or_else(|| ApiError::invalid("name", "is required"))?;
    let close = b.expected_close.as_deref().ok_or_else(|| ApiError::invalid("expected_close", "is required"))?;
    let expected_close = parse_date("expected_close", close)?;
    let mut w = begin_write!(app, auth, req);
    account_for(w.tx(), &auth.0, "account_id", account_id).await?;
    let b = req.body;
    let new = NewOpportunity {
        account_id,
        name,
        stage_id: b.stage_id,
        probability: b.probability,
        amount: b.amount,
        currency: b.currency,
        expected_close,
        owner_id: b.owner_id,
        team_id: b.team_id.flatten(),
        source: b.source.flatten(),
        description: b.description.unwrap_or_default(),
        lost_reason: b.lost_reason.flatten(),
        won_reason: b.won_reason.flatten(),
    };
    let opp = pipeline::create(w.tx(), &auth.actor(), new, now()).await?;
    let body = present(&auth.0, OPP, &opp)?;
    w.respond(StatusCode::CREATED, &body).await
}

/// An opportunity the caller may read (404 otherwise).
async fn readable(tx: &mut nave_store::Tx, auth: &ApiAuth, id: &str) -> ApiResult<Opportunity> {
    auth.require(OPP, Action::Read)?;
    let opp = pipeline::get(tx, auth.0.tenant_id, parse_id("opportunity", id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("opportunity"))?;
    visible_or_404(&auth.0, OPP, Action::Read, opp.ownership)?;
    Ok(opp)
}

#[utoipa::path(get, path = "/opportunities/{id}", tag = "pipeline", params(("id" = String, Path)),
    responses((status = 200, body = Opportunity), (status = 404, body = Problem)))]
pub async fn get_opportunity(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let mut tx = app.db.autocommit().await?;
    let opp = readable(&mut tx, &auth, &id).await?;
    Ok(Json(present(&auth.0, OPP, &opp)?))
}

#[utoipa::path(get, path = "/opportunities/{id}/history", tag = "pipeline", params(("id" = String, Path)),
    responses((status = 200, description = "Every stage the opportunity reached, oldest first", body = inline(StageHistory)),
        (status = 404, body = Problem)))]
pub async fn get_opportunity_history(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<ListResponse>> {
    let mut tx = app.db.read().await?;
    let opp = readable(&mut tx, &auth, &id).await?;
    let history = pipeline::history(&mut tx, auth.0.tenant_id, opp.key).await?;
    tx.commit().await?;
    Ok(Json(present_page(&auth.0, OPP, &history, None)?))
}

/// Schema of a stage history (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct StageHistory {
    data: Vec<StageChange>,
    next: Option<String>,
}

async fn load_for(w: &mut Writer, auth: &ApiAuth, id: &str, action: Action) -> ApiResult<Opportunity> {
    let opp = pipeline::get(w.tx(), auth.0.tenant_id, parse_id("opportunity", id)?)
        .await?
        .ok_or_else(|| ApiError::not_found("opportunity"))?;
    may_act(&auth.0, OPP, action, opp.ownership)?;
    Ok(opp)
}

#[utoipa::path(patch, path = "/opportunities/{id}", tag = "pipeline", request_body = OpportunityRequest,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "Expected version")),
    responses((status = 200, body = Opportunity), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn update_opportunity(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<OpportunityRequest>,
) -> ApiResult<Response> {
    auth.require(OPP, Action::Update)?;
    let expected_close = req.body.expected_close.as_deref().map(|d| parse_date("expected_close", d)).transpose()?;
    let mut w = begin_write!(app, auth, req);
    let before = load_for(&mut w, &auth, &id, Action::Update).await?;
    if let Some(a) = req.body.account_id.filter(|a| *a != before.account_id) {
        account_for(w.tx(), &auth.0, "account_id", a).await?;
    }
    let b = req.body;
    let patch = OpportunityPatch {
        account_id: b.account_id,
        name: b.name,
        stage_id: b.stage_id,
        probability: b.probability,
        amount: b.amount,
        currency: b.currency,
        expected_close,
        owner_id: b.owner_id,
        team_id: b.team_id,
        source: b.source,
        description: b.description,
        lost_reason: b.lost_reason,
        won_reason: b.won_reason,
    };
    let opp = pipeline::update(w.tx(), &auth.actor(), &before, req.if_match, patch, now()).await?;
    let body = present(&auth.0, OPP, &opp)?;
    w.respond(StatusCode::OK, &body).await
}

#[utoipa::path(delete, path = "/opportunities/{id}", tag = "pipeline",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "Expected version")),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_opportunity(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<NoBody>,
) -> ApiResult<Response> {
    auth.require(OPP, Action::Delete)?;
    let mut w = begin_write!(app, auth, req);
    let before = load_for(&mut w, &auth, &id, Action::Delete).await?;
    pipeline::delete(w.tx(), &auth.actor(), &before, req.if_match).await?;
    w.respond(StatusCode::NO_CONTENT, &()).await
}

// ---------------------------------------------------------------- forecast

/// What the forecast covers.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ForecastParams {
    /// First month, `YYYY-MM` (default: this month).
    pub from: Option<String>,
    /// Last month, `YYYY-MM` (default: 11 months after `from`); at most 60 months in all.
    pub to: Option<String>,
    /// Only this owner's opportunities.
    #[param(value_type = Option<String>)]
    pub owner_id: Option<PublicId>,
    /// Only opportunities in this currency.
    #[param(value_type = Option<String>)]
    pub currency: Option<Currency>,
}

/// Count and sums of a group, in its currency (decimal strings).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ForecastSums {
    #[schema(value_type = String, example = "EUR")]
    pub currency: Currency,
    pub count: i64,
    /// Σ amounts.
    pub amount: String,
    /// Σ of each opportunity's amount × probability, each rounded to the minor unit.
    pub weighted_amount: String,
}

impl ForecastSums {
    fn of(currency: Currency, s: &Sums) -> Self {
        ForecastSums {
            currency,
            count: s.count,
            amount: format_minor(s.total_minor, currency),
            weighted_amount: format_minor(s.weighted_minor, currency),
        }
    }
}

/// One month, one owner, one currency.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ForecastLine {
    /// `YYYY-MM`.
    pub month: String,
    #[schema(value_type = Option<String>)]
    pub owner_id: Option<PublicId>,
    pub owner_name: Option<String>,
    #[serde(flatten)]
    pub sums: ForecastSums,
}

/// One month over all owners, in one currency.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ForecastMonth {
    pub month: String,
    #[serde(flatten)]
    pub sums: ForecastSums,
}

/// The weighted forecast of open opportunities by expected-close month and
/// owner. Currencies are never added together.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ForecastReport {
    pub from: String,
    pub to: String,
    pub lines: Vec<ForecastLine>,
    pub months: Vec<ForecastMonth>,
    /// Per currency over the whole range.
    pub totals: Vec<ForecastSums>,
}

/// The months a forecast covers, from the caller's parameters.
pub fn forecast_range(from: Option<&str>, to: Option<&str>) -> ApiResult<(YearMonth, YearMonth)> {
    let month = |field: &str, s: &str| s.parse::<YearMonth>().map_err(|e| ApiError::invalid(field, e.to_string()));
    let from = match from.filter(|s| !s.is_empty()) {
        Some(s) => month("from", s)?,
        None => YearMonth::of(now().date()),
    };
    let to = match to.filter(|s| !s.is_empty()) {
        Some(s) => month("to", s)?,
        None => from.plus(11),
    };
    match from.months_through(to) {
        0 => Err(ApiError::invalid("to", "must not be before from")),
        1..=60 => Ok((from, to)),
        _ => Err(ApiError::invalid("to", "must be at most 60 months after from")),
    }
}

/// Builds the forecast `p` may see: only the opportunities in their read scope.
pub async fn forecast_report(
    tx: &mut nave_store::Tx,
    p: &Principal,
    scope: Scope,
    (from, to): (YearMonth, YearMonth),
    owner_id: Option<PublicId>,
    currency: Option<Currency>,
) -> ApiResult<ForecastReport> {
    let owner_key = user_key(tx, p.tenant_id, owner_id, "owner_id").await?;
    let q = ForecastQuery { visibility: Visibility::of(p, scope), from, to, owner_key, currency };
    let (items, owners) = pipeline::forecast_items(tx, p.tenant_id, &q).await?;
    let Forecast { lines, months, totals } = forecast::forecast(&items, from, to);
    let owner = |k: Option<i64>| owners.iter().find(|(key, _, _)| Some(*key) == k);
    Ok(ForecastReport {
        from: from.to_string(),
        to: to.to_string(),
        lines: lines
            .iter()
            .map(|l| ForecastLine {
                month: l.month.to_string(),
                owner_id: owner(l.owner).map(|o| o.1),
                owner_name: owner(l.owner).map(|o| o.2.clone()),
                sums: ForecastSums::of(l.currency, &l.sums),
            })
            .collect(),
        months: months
            .iter()
            .map(|(m, c, s)| ForecastMonth { month: m.to_string(), sums: ForecastSums::of(*c, s) })
            .collect(),
        totals: totals.iter().map(|(c, s)| ForecastSums::of(*c, s)).collect(),
    })
}

#[utoipa::path(get, path = "/reports/pipeline-forecast", tag = "pipeline", params(ForecastParams),
    responses((status = 200, body = ForecastReport), (status = 422, body = Problem)))]
pub async fn get_pipeline_forecast(
    State(app): State<AppState>,
    auth: ApiAuth,
    Query(f): Query<ForecastParams>,
) -> ApiResult<Json<ForecastReport>> {
    let scope = auth.require(OPP, Action::Read)?;
    let range = forecast_range(f.from.as_deref(), f.to.as_deref())?;
    let mut tx = app.db.read().await?;
    let report = forecast_report(&mut tx, &auth.0, scope, range, f.owner_id, f.currency).await?;
    tx.commit().await?;
    Ok(Json(report))
}
