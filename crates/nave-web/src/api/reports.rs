//! `GET /api/v1/reports/{name}`: the sales team's reports
//! (`nave_store::reports`) as JSON, or as CSV with `?format=csv` or
//! `Accept: text/csv` — the CSV is the report's table, the same cells the
//! page shows. Filters are query parameters; a bad one is a 422 naming it.
//! Every report keeps to the caller's record scope, and fields derived from
//! a sensitive field (the credit limit; cost and margin) are absent without
//! its permission, in the JSON and in the CSV's columns alike.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use nave_domain::access::{Action, Principal, RecordType, Scope};
use nave_domain::ids::PublicId;
use nave_domain::money::Currency;
use nave_store::Tx;
use nave_store::accounts::Visibility;
use nave_store::reports::{self, ReportFilter, Table};
use serde::{Deserialize, Serialize};
use time::Date;

use crate::api::accounts::account_for;
use crate::api::payment_terms::parse_date;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiAuth, Query};
use crate::state::AppState;

/// The reports there are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    SalesByAccount,
    SalesByCategory,
    ReceivablesAging,
    OrderStatus,
    CreditExposure,
    TopCustomers,
    TopProducts,
    DaysToPay,
    PipelineVsWon,
    Service,
    ProfitByCustomer,
    ProfitByProduct,
    ProfitByCategory,
    ProfitByOrder,
    PayablesAging,
}

impl ReportKind {
    pub const ALL: [ReportKind; 15] = [
        ReportKind::SalesByAccount,
        ReportKind::SalesByCategory,
        ReportKind::ReceivablesAging,
        ReportKind::OrderStatus,
        ReportKind::CreditExposure,
        ReportKind::TopCustomers,
        ReportKind::TopProducts,
        ReportKind::DaysToPay,
        ReportKind::PipelineVsWon,
        ReportKind::Service,
        ReportKind::ProfitByCustomer,
        ReportKind::ProfitByProduct,
        ReportKind::ProfitByCategory,
        ReportKind::ProfitByOrder,
        ReportKind::PayablesAging,
    ];

    /// The name in the URL.
    pub fn slug(self) -> &'static str {
        match self {
            ReportKind::SalesByAccount => "sales-by-account",
            ReportKind::SalesByCategory => "sales-by-category",
            ReportKind::ReceivablesAging => "receivables-aging",
            ReportKind::OrderStatus => "order-status",
            ReportKind::CreditExposure => "credit-exposure",
            ReportKind::TopCustomers => "top-customers",
            ReportKind::TopProducts => "top-products",
            ReportKind::DaysToPay => "days-to-pay",
            ReportKind::PipelineVsWon => "pipeline-vs-won",
            ReportKind::Service => "service",
            ReportKind::ProfitByCustomer => "profit-by-customer",
            ReportKind::ProfitByProduct => "profit-by-product",
            ReportKind::ProfitByCategory => "profit-by-category",
            ReportKind::ProfitByOrder => "profit-by-order",
            ReportKind::PayablesAging => "payables-aging",
        }
    }

    /// The CSV file's name.
    pub fn filename(self) -> &'static str {
        match self {
            ReportKind::SalesByAccount => "sales-by-account.csv",
            ReportKind::SalesByCategory => "sales-by-category.csv",
            ReportKind::ReceivablesAging => "receivables-aging.csv",
            ReportKind::OrderStatus => "order-status.csv",
            ReportKind::CreditExposure => "credit-exposure.csv",
            ReportKind::TopCustomers => "top-customers.csv",
            ReportKind::TopProducts => "top-products.csv",
            ReportKind::DaysToPay => "days-to-pay.csv",
            ReportKind::PipelineVsWon => "pipeline-vs-won.csv",
            ReportKind::Service => "service.csv",
            ReportKind::ProfitByCustomer => "profit-by-customer.csv",
            ReportKind::ProfitByProduct => "profit-by-product.csv",
            ReportKind::ProfitByCategory => "profit-by-category.csv",
            ReportKind::ProfitByOrder => "profit-by-order.csv",
            ReportKind::PayablesAging => "payables-aging.csv",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ReportKind::SalesByAccount => "Sales by account by year",
            ReportKind::SalesByCategory => "Sales by product category",
            ReportKind::ReceivablesAging => "Receivables aging",
            ReportKind::OrderStatus => "Order status",
            ReportKind::CreditExposure => "Credit exposure",
            ReportKind::TopCustomers => "Top customers",
            ReportKind::TopProducts => "Most and least popular products",
            ReportKind::DaysToPay => "Days to pay",
            ReportKind::PipelineVsWon => "Pipeline forecast vs won",
            ReportKind::Service => "Service",
            ReportKind::ProfitByCustomer => "Profit contribution by customer",
            ReportKind::ProfitByProduct => "Profit contribution by product",
            ReportKind::ProfitByCategory => "Profit contribution by product line",
            ReportKind::ProfitByOrder => "Profit per sales order",
            ReportKind::PayablesAging => "Payables aging",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            ReportKind::SalesByAccount => {
                "Net invoiced minus credit notes per account per year, with the trend; falling accounts flagged."
            }
            ReportKind::SalesByCategory => {
                "Net sales per account and product category, with cross-sell gaps: categories similar customers buy."
            }
            ReportKind::ReceivablesAging => "What each account owes at a date, by days past due.",
            ReportKind::OrderStatus => "Open orders with what is left to ship and to invoice, late ones first.",
            ReportKind::CreditExposure => "Accounts near or over their credit limit, with the exposure broken down.",
            ReportKind::TopCustomers => "The customers with the most net sales in a period.",
            ReportKind::TopProducts => "The products with the most and the least net sales in a period.",
            ReportKind::DaysToPay => "How many days customers take to pay their invoices in full.",
            ReportKind::PipelineVsWon => "Open opportunities weighted by probability per month and owner, against won.",
            ReportKind::Service => "Cases opened and closed, response and resolution times, satisfaction.",
            // Worded for every role: a role without cost and margin sees only the sales columns.
            ReportKind::ProfitByCustomer => {
                "Net invoiced less credit notes and the real purchase value of the goods sold, per customer."
            }
            ReportKind::ProfitByProduct => {
                "Net invoiced less credit notes and the real purchase value of the goods sold, per product."
            }
            ReportKind::ProfitByCategory => {
                "Net invoiced less credit notes and the real purchase value of the goods sold, per product line."
            }
            ReportKind::ProfitByOrder => {
                "The same figures for the invoices (and their credit notes) of each sales order."
            }
            ReportKind::PayablesAging => "What is owed to each supplier at a date, by days past due.",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.slug() == s)
    }

    /// The record type whose read permission (and scope) the report needs.
    pub fn record_type(self) -> RecordType {
        match self {
            ReportKind::OrderStatus => RecordType::SalesOrder,
            ReportKind::CreditExposure => RecordType::Account,
            ReportKind::PipelineVsWon => RecordType::Opportunity,
            ReportKind::Service => RecordType::Case,
            ReportKind::PayablesAging => RecordType::Bill,
            _ => RecordType::Invoice,
        }
    }

    /// What a profit report groups by.
    pub fn profit_by(self) -> Option<reports::ProfitBy> {
        match self {
            ReportKind::ProfitByCustomer => Some(reports::ProfitBy::Customer),
            ReportKind::ProfitByProduct => Some(reports::ProfitBy::Product),
            ReportKind::ProfitByCategory => Some(reports::ProfitBy::Category),
            ReportKind::ProfitByOrder => Some(reports::ProfitBy::SalesOrder),
            _ => None,
        }
    }

    /// Which filters the report reads (the page shows only those).
    pub fn uses(self, filter: &str) -> bool {
        let aging = matches!(self, ReportKind::ReceivablesAging | ReportKind::PayablesAging);
        let period = !aging && self != ReportKind::CreditExposure;
        let ranked = matches!(self, ReportKind::TopCustomers | ReportKind::TopProducts) || self.profit_by().is_some();
        match filter {
            "from" | "to" => period,
            "as_of" => aging || self == ReportKind::OrderStatus,
            "category_id" => {
                matches!(
                    self,
                    ReportKind::SalesByAccount
                        | ReportKind::SalesByCategory
                        | ReportKind::TopCustomers
                        | ReportKind::TopProducts
                        | ReportKind::Service
                ) || self.profit_by().is_some()
            }
            "order" => ranked,
            "currency" => !matches!(self, ReportKind::Service),
            "years" | "threshold" => self == ReportKind::SalesByAccount,
            "peer_percent" | "min_peers" => self == ReportKind::SalesByCategory,
            "late_after_days" => self == ReportKind::OrderStatus,
            "near_percent" => self == ReportKind::CreditExposure,
            "limit" => ranked || self == ReportKind::OrderStatus,
            _ => true,
        }
    }
}

/// The filters and options of a report, as query parameters. Each report
/// reads the ones that apply to it (see the user guide) and ignores the rest.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// First day of the period, `YYYY-MM-DD`.
    pub from: Option<String>,
    /// Last day of the period, `YYYY-MM-DD` (not before `from`).
    pub to: Option<String>,
    /// The date of an aging or order-status report (default today).
    pub as_of: Option<String>,
    /// One account.
    pub account_id: Option<String>,
    /// Accounts owned by this user (pipeline: opportunities; service: cases assigned).
    pub owner_id: Option<String>,
    /// Accounts of this team.
    pub team_id: Option<String>,
    /// Lines of products in this category.
    pub category_id: Option<String>,
    /// ISO 4217 code.
    pub currency: Option<String>,
    /// Sales by account: how many years (1–20, default 3).
    pub years: Option<String>,
    /// Sales by account: flag a fall of more than this percent (default 20).
    pub threshold: Option<String>,
    /// Sales by category: percent of peers that must buy a category for a gap (default 50).
    pub peer_percent: Option<String>,
    /// Sales by category: accounts that must buy both (default 2).
    pub min_peers: Option<String>,
    /// Order status: days after which an order not shipped is late (default 14).
    pub late_after_days: Option<String>,
    /// Credit exposure: percent of the limit from which an account is listed (default 80).
    pub near_percent: Option<String>,
    /// Top customers and products: rows (1–500, default 10); order status and profit: rows (default 500).
    pub limit: Option<String>,
    /// Top customers and products, profit: rank by `revenue` (net sales) or `margin` (needs the
    /// permission to see margins). Default: revenue; profit reports: margin when it may be seen.
    pub order: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

impl ReportParams {
    /// The parameters as a query string (empty ones left out), for links.
    pub fn query_string(&self) -> String {
        let v = serde_json::to_value(self).unwrap_or_default();
        let mut s = form_urlencoded::Serializer::new(String::new());
        if let Some(o) = v.as_object() {
            for (k, v) in o {
                if let Some(x) = v.as_str().filter(|x| !x.is_empty()) {
                    s.append_pair(k, x);
                }
            }
        }
        s.finish()
    }
}

/// Any report's JSON.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Report {
    SalesByAccount(reports::SalesByAccount),
    SalesByCategory(reports::SalesByCategory),
    /// Receivables or payables aging.
    Aging(reports::Aging),
    OrderStatus(reports::OrderStatus),
    CreditExposure(reports::CreditExposure),
    TopCustomers(reports::TopCustomers),
    TopProducts(reports::ProductSales),
    DaysToPay(reports::DaysToPay),
    PipelineVsWon(reports::PipelineVsWon),
    Service(reports::Service),
    Profit(reports::Profit),
}

impl Report {
    /// The table the page shows and the CSV holds.
    pub fn table(&self) -> Table {
        match self {
            Report::SalesByAccount(r) => r.table(),
            Report::SalesByCategory(r) => r.table(),
            Report::Aging(r) => r.table(),
            Report::OrderStatus(r) => r.table(),
            Report::CreditExposure(r) => r.table(),
            Report::TopCustomers(r) => r.table(),
            Report::TopProducts(r) => r.table(),
            Report::DaysToPay(r) => r.table(),
            Report::PipelineVsWon(r) => r.table(),
            Report::Service(r) => r.table(),
            Report::Profit(r) => r.table(),
        }
    }
}

fn number<T>(field: &str, s: Option<&str>, default: T, range: (T, T)) -> ApiResult<T>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => match s.parse::<T>() {
            Ok(v) if v >= range.0 && v <= range.1 => Ok(v),
            _ => Err(ApiError::invalid(field, format!("must be a whole number from {} to {}", range.0, range.1))),
        },
    }
}

fn date(field: &str, s: Option<&str>) -> ApiResult<Option<Date>> {
    s.map(str::trim).filter(|s| !s.is_empty()).map(|s| parse_date(field, s)).transpose()
}

fn id(field: &str, s: Option<&str>) -> ApiResult<Option<PublicId>> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<PublicId>().map_err(|_| ApiError::invalid(field, "is not a valid id")))
        .transpose()
}

/// The filter of `params`, with ids resolved to keys within what `p` may see.
async fn filter_of(tx: &mut Tx, p: &Principal, f: &ReportParams) -> ApiResult<ReportFilter> {
    let from = date("from", f.from.as_deref())?;
    let to = date("to", f.to.as_deref())?;
    if let (Some(a), Some(b)) = (from, to)
        && a > b
    {
        return Err(ApiError::invalid("to", "must not be before from"));
    }
    let currency = match f.currency.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(c) => Some(Currency::parse(&c.to_uppercase()).map_err(|e| ApiError::invalid("currency", e.to_string()))?),
        None => None,
    };
    let account_key = match id("account_id", f.account_id.as_deref())? {
        Some(a) => Some(account_for(tx, p, "account_id", a).await?.key),
        None => None,
    };
    let owner_key = crate::api::user_key(tx, p.tenant_id, id("owner_id", f.owner_id.as_deref())?, "owner_id").await?;
    let team_key = match id("team_id", f.team_id.as_deref())? {
        Some(t) => Some(nave_store::teams::resolve(tx, p.tenant_id, t, "team_id").await?),
        None => None,
    };
    let category_key = match id("category_id", f.category_id.as_deref())? {
        Some(c) => Some(
            nave_store::catalog::get_category(tx, p.tenant_id, c)
                .await?
                .ok_or_else(|| ApiError::invalid("category_id", "is not the id of a product category"))?
                .key,
        ),
        None => None,
    };
    Ok(ReportFilter { from, to, account_key, owner_key, team_key, category_key, currency })
}

/// The cost and margin figures `p` may see: those of invoices.
pub fn cost_fields(p: &Principal) -> reports::CostFields {
    reports::CostFields {
        cost: p.sees_field(RecordType::Invoice, "cost"),
        margin: p.sees_field(RecordType::Invoice, "margin"),
    }
}

/// The `order` parameter: `revenue` or `margin` (refused without the right
/// to see margins), `default` when absent.
fn ranking(s: Option<&str>, fields: reports::CostFields, default: reports::Ranking) -> ApiResult<reports::Ranking> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some("revenue") => Ok(reports::Ranking::Revenue),
        Some("margin") if fields.margin => Ok(reports::Ranking::Margin),
        Some("margin") => Err(ApiError::invalid("order", "margin: your role may not see margins")),
        Some(_) => Err(ApiError::invalid("order", "must be revenue or margin")),
    }
}

/// Runs report `kind` for `p` with `params` (the permission was checked and
/// gave `scope`).
pub async fn run(tx: &mut Tx, p: &Principal, scope: Scope, kind: ReportKind, f: &ReportParams) -> ApiResult<Report> {
    let filter = filter_of(tx, p, f).await?;
    let vis = Visibility::of(p, scope);
    let t = p.tenant_id;
    let as_of = date("as_of", f.as_of.as_deref())?;
    let limit = |default| number("limit", f.limit.as_deref(), default, (1u32, 500u32));
    let fields = cost_fields(p);
    let top =
        |order| -> ApiResult<reports::TopOptions> { Ok(reports::TopOptions { limit: limit(10)?, order, fields }) };
    Ok(match kind {
        ReportKind::SalesByAccount => {
            let opts = reports::SalesByAccountOptions {
                years: number("years", f.years.as_deref(), 3u8, (1, 20))?,
                fall_threshold_percent: number("threshold", f.threshold.as_deref(), 20u32, (0, 100))?,
            };
            Report::SalesByAccount(reports::sales_by_account(tx, t, vis, &filter, opts).await?)
        }
        ReportKind::SalesByCategory => {
            let opts = reports::CrossSellOptions {
                peer_percent: number("peer_percent", f.peer_percent.as_deref(), 50u32, (1, 100))?,
                min_peers: number("min_peers", f.min_peers.as_deref(), 2u32, (1, 1000))?,
            };
            Report::SalesByCategory(reports::sales_by_category(tx, t, vis, &filter, opts).await?)
        }
        ReportKind::ReceivablesAging => Report::Aging(reports::receivables_aging(tx, t, vis, &filter, as_of).await?),
        ReportKind::OrderStatus => {
            let opts = reports::OrderStatusOptions {
                late_after_days: number("late_after_days", f.late_after_days.as_deref(), 14u32, (0, 3650))?,
                as_of,
                limit: limit(500)?,
            };
            Report::OrderStatus(reports::order_status(tx, t, vis, &filter, opts).await?)
        }
        ReportKind::CreditExposure => {
            let opts = reports::CreditExposureOptions {
                near_percent: number("near_percent", f.near_percent.as_deref(), 80u32, (0, 1000))?,
                with_limits: p.sees_field(RecordType::Account, "credit_limit"),
            };
            Report::CreditExposure(reports::credit_exposure(tx, t, vis, &filter, opts).await?)
        }
        ReportKind::TopCustomers => {
            let opts = top(ranking(f.order.as_deref(), fields, reports::Ranking::Revenue)?)?;
            Report::TopCustomers(reports::top_customers(tx, t, vis, &filter, opts).await?)
        }
        ReportKind::TopProducts => {
            let opts = top(ranking(f.order.as_deref(), fields, reports::Ranking::Revenue)?)?;
            Report::TopProducts(reports::product_sales(tx, t, vis, &filter, opts).await?)
        }
        ReportKind::ProfitByCustomer
        | ReportKind::ProfitByProduct
        | ReportKind::ProfitByCategory
        | ReportKind::ProfitByOrder => {
            let default = if fields.margin { reports::Ranking::Margin } else { reports::Ranking::Revenue };
            let opts = reports::ProfitOptions {
                by: kind.profit_by().unwrap_or(reports::ProfitBy::Customer),
                order: ranking(f.order.as_deref(), fields, default)?,
                limit: limit(500)?,
                fields,
            };
            Report::Profit(reports::profit(tx, t, vis, &filter, opts).await?)
        }
        ReportKind::PayablesAging => Report::Aging(reports::payables_aging(tx, t, vis, &filter, as_of).await?),
        ReportKind::DaysToPay => Report::DaysToPay(reports::days_to_pay(tx, t, vis, &filter).await?),
        ReportKind::PipelineVsWon => Report::PipelineVsWon(reports::pipeline_vs_won(tx, t, vis, &filter).await?),
        ReportKind::Service => Report::Service(reports::service(tx, t, vis, &filter).await?),
    })
}

/// Does the request ask for CSV (`?format=csv`, or `Accept: text/csv`)?
pub fn wants_csv(format: Option<&str>, headers: &HeaderMap) -> ApiResult<bool> {
    if crate::api::accounts::wants_csv(format)? {
        return Ok(true);
    }
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    Ok(format.is_none() && accept.split(',').any(|a| a.trim().starts_with("text/csv")))
}

/// A report's table as a CSV response.
pub fn csv(kind: ReportKind, table: &Table) -> ApiResult<Response> {
    let header: Vec<&str> = table.columns.iter().map(String::as_str).collect();
    crate::csv_export::response(kind.filename(), &header, &table.rows)
}

#[utoipa::path(get, path = "/reports/{name}", tag = "reports",
    params(("name" = String, Path, description = "sales-by-account, sales-by-category, receivables-aging, order-status, \
        credit-exposure, top-customers, top-products, days-to-pay, pipeline-vs-won, service, profit-by-customer, \
        profit-by-product, profit-by-category, profit-by-order or payables-aging"), ReportParams),
    responses((status = 200, description = "The report (JSON), or its table as CSV with `format=csv` or `Accept: text/csv`",
        content((Report = "application/json"), (String = "text/csv"))),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn get_report(
    State(app): State<AppState>,
    auth: ApiAuth,
    Path(name): Path<String>,
    headers: HeaderMap,
    Query(f): Query<ReportParams>,
) -> ApiResult<Response> {
    let kind = ReportKind::parse(&name).ok_or_else(|| ApiError::not_found("report"))?;
    let scope = auth.require(kind.record_type(), Action::Read)?;
    let csv_out = wants_csv(f.format.as_deref(), &headers)?;
    let mut tx = app.db.read().await?;
    let report = run(&mut tx, &auth.0, scope, kind, &f).await?;
    tx.commit().await?;
    if csv_out {
        return csv(kind, &report.table());
    }
    Ok(Json(report).into_response())
}

impl Report {
    /// Each table row's drill-down: the API address of the documents (or
    /// records) behind its figures, in the order of [`Report::table`]'s rows.
    pub fn row_links(&self) -> Vec<String> {
        match self {
            Report::SalesByAccount(r) => r.rows.iter().map(|x| x.documents.invoices.clone()).collect(),
            Report::SalesByCategory(r) => r.rows.iter().map(|x| x.documents.invoices.clone()).collect(),
            // Payables: the supplier's overview, which lists its bills.
            Report::Aging(r) if r.side == reports::AgingSide::Payables => {
                r.rows.iter().map(|x| format!("/api/v1/accounts/{}", x.account.id)).collect()
            }
            Report::Aging(r) => r.rows.iter().map(|x| x.documents.clone()).collect(),
            Report::Profit(r) => r.rows.iter().map(|x| x.documents.clone()).collect(),
            Report::OrderStatus(r) => r.rows.iter().map(|x| x.documents.clone()).collect(),
            Report::CreditExposure(r) => r.rows.iter().map(|x| x.documents.invoices.clone()).collect(),
            Report::TopCustomers(r) => r.rows.iter().map(|x| x.documents.invoices.clone()).collect(),
            Report::TopProducts(r) => r.rows.iter().map(|x| format!("/api/v1/products/{}", x.product_id)).collect(),
            Report::DaysToPay(r) => r.rows.iter().map(|x| x.documents.clone()).collect(),
            Report::PipelineVsWon(r) => r.rows.iter().map(|x| x.documents.clone()).collect(),
            Report::Service(r) => r
                .rows
                .iter()
                .map(|x| match (x.group.as_str(), x.id) {
                    ("account", Some(id)) => format!("/api/v1/accounts/{id}"),
                    (_, Some(id)) => format!("/api/v1/products/{id}"),
                    _ => "/api/v1/cases".into(),
                })
                .collect(),
        }
    }
}
