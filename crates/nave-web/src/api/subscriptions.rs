//! `/api/v1/subscriptions`: recurring invoices, their actions, and the run
//! that bills the periods due (also `nave subscriptions run`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use nave_domain::access::{Action, RecordType};
use nave_domain::error::ErrorCode;
use nave_domain::ids::PublicId;
use nave_domain::money::Currency;
use nave_domain::subscription::{Period, SubscriptionAction, SubscriptionStatus};
use nave_store::accounts::Visibility;
use nave_store::db::now;
use nave_store::subscriptions::{self, Subscription, SubscriptionInput, SubscriptionLine, SubscriptionQuery};
use serde::{Deserialize, Serialize};

use super::accounts::account_for;
use super::double_option;
use super::payment_terms::parse_date;
use crate::begin_write;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiAuth, ApiWrite, ListParams, Query};
use crate::present::{ListResponse, may_act, present, present_page, visible_or_404};
use crate::state::AppState;
use crate::write::Writer;

const T: RecordType = RecordType::Subscription;

/// Filters of the subscription list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionFilter {
    #[param(value_type = Option<String>)]
    pub account_id: Option<PublicId>,
    /// `active`, `paused` or `cancelled`.
    #[param(value_type = Option<String>)]
    pub status: Option<SubscriptionStatus>,
    pub limit: Option<i64>,
    pub after: Option<String>,
}

/// Schema of a subscription page (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct SubscriptionList {
    data: Vec<Subscription>,
    next: Option<String>,
}

#[utoipa::path(get, path = "/subscriptions", tag = "subscriptions", params(SubscriptionFilter),
    responses((status = 200, description = "A page of subscriptions, newest first (without lines)", body = inline(SubscriptionList))))]
pub async fn list_subscriptions(
    State(app): State<AppState>,
    auth: ApiAuth,
    Query(f): Query<SubscriptionFilter>,
) -> ApiResult<Json<ListResponse>> {
    let scope = auth.require(T, Action::Read)?;
    let paging = ListParams { limit: f.limit, after: f.after };
    let mut tx = app.db.read().await?;
    let account_key = match f.account_id {
        Some(a) => Some(account_for(&mut tx, &auth.0, "account_id", a).await?.key),
        None => None,
    };
    let q = SubscriptionQuery {
        visibility: Visibility::of(&auth.0, scope),
        account_key,
        status: f.status,
        cursor: paging.cursor()?,
        limit: paging.limit()?,
    };
    let page = subscriptions::list(&mut tx, auth.0.tenant_id, &q).await?;
    tx.commit().await?;
    Ok(Json(present_page(&auth.0, T, &page.items, page.next.map(|c| c.encode()))?))
}

/// A subscription's fields. On create `account_id`, `name` and `lines` are
/// required; on update absent fields stay, `lines` replaces them all.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionRequest {
    #[schema(value_type = Option<String>)]
    pub account_id: Option<PublicId>,
    pub name: Option<String>,
    /// `month` (default), `quarter` or `year`.
    #[schema(value_type = Option<String>)]
    pub period: Option<Period>,
    /// `YYYY-MM-DD`, default today: the first period starts then.
    pub start_date: Option<String>,
    /// No period starting after it is billed.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub end_date: Option<Option<String>>,
    /// Default: the account's currency.
    pub currency: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub payment_terms_id: Option<Option<PublicId>>,
    pub prices_include_tax: Option<bool>,
    pub notes: Option<String>,
    pub lines: Option<Vec<SubscriptionLine>>,
}

impl SubscriptionRequest {
    fn input(self) -> ApiResult<SubscriptionInput> {
        Ok(SubscriptionInput {
            account_id: self.account_id,
            name: self.name,
            period: self.period,
            start_date: self.start_date.as_deref().map(|d| parse_date("start_date", d)).transpose()?,
            end_date: match self.end_date {
                None => None,
                Some(None) => Some(None),
                Some(Some(d)) => Some(Some(parse_date("end_date", &d)?)),
            },
            currency: self
                .currency
                .as_deref()
                .map(|c| {
                    Currency::parse(c).map_err(|_| ApiError::invalid("currency", "is not an ISO 4217 currency code"))
                })
                .transpose()?,
            payment_terms_id: self.payment_terms_id,
            prices_include_tax: self.prices_include_tax,
            notes: self.notes,
            lines: self.lines,
        })
    }
}

#[utoipa::path(post, path = "/subscriptions", tag = "subscriptions", request_body = SubscriptionRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key")),
    responses((status = 201, body = Subscription), (status = 422, body = Problem)))]
pub async fn create_subscription(
    State(app): State<AppState>,
    auth: ApiAuth,
    req: ApiWrite<SubscriptionRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Create)?;
    let mut w = begin_write!(app, auth, req);
    let account_id = req.body.account_id.ok_or_else(|| ApiError::invalid("account_id", "is required"))?;
    let account = account_for(w.tx(), &auth.0, "account_id", account_id).await?;
    if !auth.0.may(T, Action::Create, account.ownership) {
        return Err(ApiError::forbidden("your role may not create a subscription for this account"));
    }
    let s = subscriptions::create(w.tx(), &auth.actor(), req.body.input()?).await?;
    let body = present(&auth.0, T, &s)?;
    w.respond(StatusCode::CREATED, &body).await
}

async fn load(tx: &mut nave_store::Tx, auth: &ApiAuth, id: &str) -> ApiResult<Subscription> {
    let id: PublicId = id.parse().map_err(|_| ApiError::not_found("subscription"))?;
    subscriptions::get(tx, auth.0.tenant_id, id).await?.ok_or_else(|| ApiError::not_found("subscription"))
}

async fn load_for(w: &mut Writer, auth: &ApiAuth, id: &str, action: Action) -> ApiResult<Subscription> {
    let s = load(w.tx(), auth, id).await?;
    may_act(&auth.0, T, action, s.ownership)?;
    Ok(s)
}

/// A subscription and the invoices it billed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubscriptionInvoice {
    #[schema(value_type = String, format = Date)]
    #[serde(with = "nave_domain::dates::iso")]
    pub period_start: time::Date,
    #[schema(value_type = String)]
    pub invoice_id: PublicId,
    pub number: Option<String>,
}

#[utoipa::path(get, path = "/subscriptions/{id}", tag = "subscriptions", params(("id" = String, Path)),
    responses((status = 200, body = Subscription), (status = 404, body = Problem)))]
pub async fn get_subscription(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    auth.require(T, Action::Read)?;
    let mut tx = app.db.autocommit().await?;
    let s = load(&mut tx, &auth, &id).await?;
    visible_or_404(&auth.0, T, Action::Read, s.ownership)?;
    Ok(Json(present(&auth.0, T, &s)?))
}

#[utoipa::path(get, path = "/subscriptions/{id}/invoices", tag = "subscriptions", params(("id" = String, Path)),
    responses((status = 200, description = "The periods billed, newest first", body = Vec<SubscriptionInvoice>),
        (status = 404, body = Problem)))]
pub async fn list_subscription_invoices(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<SubscriptionInvoice>>> {
    auth.require(T, Action::Read)?;
    let mut tx = app.db.autocommit().await?;
    let s = load(&mut tx, &auth, &id).await?;
    visible_or_404(&auth.0, T, Action::Read, s.ownership)?;
    let runs = subscriptions::runs(&mut tx, auth.0.tenant_id, s.key).await?;
    Ok(Json(
        runs.into_iter()
            .map(|(period_start, invoice_id, number)| SubscriptionInvoice { period_start, invoice_id, number })
            .collect(),
    ))
}

#[utoipa::path(patch, path = "/subscriptions/{id}", tag = "subscriptions", request_body = SubscriptionRequest,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "Expected version")),
    responses((status = 200, body = Subscription), (status = 409, body = Problem), (status = 412, body = Problem),
        (status = 422, body = Problem)))]
pub async fn update_subscription(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(id): Path<String>,
    req: ApiWrite<SubscriptionRequest>,
) -> ApiResult<Response> {
    auth.require(T, Action::Update)?;
    let mut w = begin_write!(app, auth, req);
    let before = load_for(&mut w, &auth, &id, Action::Update).await?;
    let s = subscriptions::update(w.tx(), &auth.actor(), &before, req.if_match, req.body.input()?).await?;
    let body = present(&auth.0, T, &s)?;
    w.respond(StatusCode::OK, &body).await
}

#[utoipa::path(post, path = "/subscriptions/{id}/{action}", tag = "subscriptions",
    params(("id" = String, Path), ("action" = String, Path, description = "`pause`, `resume` or `cancel`"),
        ("If-Match" = Option<String>, Header, description = "Expected version")),
    responses((status = 200, body = Subscription),
        (status = 409, description = "Not allowed from the status (`invalid_transition`)", body = Problem)))]
pub async fn act_on_subscription(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path((id, action)): Path<(String, String)>,
    req: ApiWrite<crate::extract::NoBody>,
) -> ApiResult<Response> {
    auth.require(T, Action::Update)?;
    let action: SubscriptionAction = action
        .parse()
        .map_err(|_| ApiError::new(ErrorCode::NotFound, format!("there is no subscription action {action}")))?;
    let mut w = begin_write!(app, auth, req);
    let before = load_for(&mut w, &auth, &id, Action::Update).await?;
    let s = subscriptions::act(w.tx(), &auth.actor(), &before, req.if_match, action, now().date()).await?;
    let body = present(&auth.0, T, &s)?;
    w.respond(StatusCode::OK, &body).await
}

/// The run's input.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// Bill the periods starting on or before this day (`YYYY-MM-DD`, default today).
    pub date: Option<String>,
}

/// What a run billed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunResult {
    pub subscriptions: i64,
    /// The invoices made (issued, or draft when the credit limit held them back).
    pub invoices: Vec<RunInvoice>,
}

/// One invoice a run made.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunInvoice {
    #[schema(value_type = String)]
    pub id: PublicId,
    pub number: Option<String>,
    pub status: String,
    pub total: String,
}

/// Runs every due subscription of the tenant, one transaction each.
pub async fn run_due(db: &nave_store::Db, actor: &nave_store::audit::Actor, date: time::Date) -> ApiResult<RunResult> {
    let mut tx = db.read().await?;
    let due = subscriptions::due(&mut tx, actor.tenant_id, date).await?;
    tx.commit().await?;
    let mut out = RunResult { subscriptions: 0, invoices: vec![] };
    for key in due {
        let mut tx = db.write().await?;
        let made = subscriptions::run_one(&mut tx, actor, key, date).await?;
        tx.commit().await?;
        out.subscriptions += 1;
        out.invoices.extend(made.into_iter().map(|d| RunInvoice {
            id: d.id,
            number: d.number,
            status: d.status.to_string(),
            total: d.totals.total,
        }));
    }
    Ok(out)
}

#[utoipa::path(post, path = "/subscriptions/run", tag = "subscriptions", request_body = RunRequest,
    description = "Bills every period due on or before `date` of every active subscription, exactly once: \
        running it again, or twice at once, bills nothing new. Needs update on subscriptions and create on invoices.",
    responses((status = 200, body = RunResult), (status = 422, body = Problem)))]
pub async fn run_subscriptions(
    State(app): State<AppState>,
    auth: ApiAuth,
    Json(req): Json<RunRequest>,
) -> ApiResult<Json<RunResult>> {
    if auth.0.scope_for(T, Action::Update) != Some(nave_domain::access::Scope::All)
        || auth.0.scope_for(RecordType::Invoice, Action::Create) != Some(nave_domain::access::Scope::All)
    {
        return Err(ApiError::forbidden(
            "running subscriptions needs update on all subscriptions and create on invoices",
        ));
    }
    let date = match req.date {
        Some(d) => parse_date("date", &d)?,
        None => now().date(),
    };
    Ok(Json(run_due(&app.db, &auth.actor(), date).await?))
}
