//! The report pages: `/reports` lists the reports the user may open;
//! `/reports/{name}` shows one with its filters, an SVG chart drawn on the
//! server (`chart`), the table (the same cells as the CSV) and a CSV link
//! with the same filters. Figures come from `api::reports::run`, the very
//! call the API makes.
//!
//! The figures are computed in a task of their own, which the page waits
//! for `WebConfig::report_wait`; a report that takes longer becomes a job of
//! the user (`crate::jobs`, `Work::Report`) and the page sends them to the
//! job's page, which links back here with `job={id}` once it is done: the
//! page then shows the job's figures instead of computing them again.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use nave_domain::access::{Action, Principal, Scope};
use nave_domain::error::ErrorCode;
use nave_domain::ids::PublicId;
use nave_domain::money::Currency;
use nave_store::reports::Table;
use tokio::task::{AbortHandle, JoinError};

use crate::api::reports::{Report, ReportKind, ReportParams, run};
use crate::chart::{Chart, ChartKind, Series, Svg};
use crate::error::{ApiError, ApiResult};
use crate::jobs::{Output, Phase, ReportResult, Work};
use crate::pages::{Choices, Layout, PageAuth, PageResult, render, require_page, show, user_choices};
use crate::state::AppState;

/// A report as the index lists it.
#[derive(Debug, Clone)]
pub struct ReportLink {
    pub slug: &'static str,
    pub title: &'static str,
    pub description: &'static str,
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    layout: Layout,
    reports: Vec<ReportLink>,
}

/// `GET /reports`: the reports the user's role may open; the profit
/// reports only to a role that sees costs or margins (to others they are
/// plain sales figures, which the sales reports already give).
pub async fn index(auth: PageAuth) -> PageResult {
    let p = &auth.principal;
    let fields = crate::api::reports::cost_fields(p);
    let reports = ReportKind::ALL
        .into_iter()
        .filter(|k| p.scope_for(k.record_type(), Action::Read).is_some())
        .filter(|k| k.profit_by().is_none() || fields.cost || fields.margin)
        .map(|k| ReportLink { slug: k.slug(), title: k.title(), description: k.description() })
        .collect();
    Ok(render(&ReportsPage { layout: auth.layout("reports"), reports }).into_response())
}

/// One filter input of the form.
#[derive(Debug, Clone)]
pub struct FilterField {
    pub name: &'static str,
    pub label: &'static str,
    /// `date`, `text`, `number` or `select`.
    pub kind: &'static str,
    pub value: String,
    pub choices: Choices,
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    layout: Layout,
    slug: &'static str,
    title: &'static str,
    description: &'static str,
    fields: Vec<FilterField>,
    error: Option<String>,
    svg: Option<Svg>,
    note: Option<String>,
    columns: Vec<String>,
    /// Each row's cells and its drill-down page.
    rows: Vec<(Vec<String>, Option<String>)>,
    csv_link: String,
}

/// The page address of a drill-down the API gives as `/api/v1/…`.
fn page_link(api: &str) -> String {
    api.strip_prefix("/api/v1").unwrap_or(api).to_string()
}

/// A table row as the user reads it: dates and decimal figures in their
/// locale (the CSV keeps the plain values). Whole numbers (years, counts,
/// days) are left as they are.
fn shown_cells(columns: &[String], row: Vec<String>) -> Vec<String> {
    row.into_iter()
        .zip(columns)
        .map(|(cell, col)| {
            if col == "date" || col.ends_with("_date") || col == "as_of" {
                show::date_text(&cell)
            } else if cell.contains('.') && !col.ends_with("_id") {
                show::number(&cell)
            } else {
                cell
            }
        })
        .collect()
}

/// The page's query string without `job`, written again in one form (the
/// form a report job keeps its filters in), and the `job` asked for.
fn split_job(raw: &str) -> (String, Option<String>) {
    let mut job = None;
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        if k == "job" {
            job = Some(v.into_owned());
        } else {
            query.append_pair(&k, &v);
        }
    }
    (query.finish(), job)
}

/// Where the figures of a report page are.
enum Figures {
    Ready(ApiResult<Arc<Report>>),
    /// Being computed by this job of the user.
    Job(PublicId),
}

/// The figures of the job `id` when it is the user's job of this very
/// report and filters: its figures once done (if computed as the user sees
/// them now), or the job while it runs. Anything else (someone else's job,
/// a forgotten or failed one, other filters) is `None`: the page computes.
fn from_job(app: &AppState, p: &Principal, slug: &str, query: &str, id: &str) -> Option<Figures> {
    let job = app.jobs.get(p, id.parse().ok()?)?;
    match &job.work {
        Work::Report { slug: s, query: q } if *s == slug && q == query => {}
        _ => return None,
    }
    match job.phase() {
        Phase::Done(output) => match &*output {
            Output::Report(r) if r.fits(p) => Some(Figures::Ready(Ok(r.report.clone()))),
            _ => None,
        },
        Phase::Waiting | Phase::Running => Some(Figures::Job(job.id)),
        Phase::Failed(_) => None,
    }
}

/// Aborts the report's task if the request goes away while it waits for it.
struct AbortOnDrop(Option<AbortHandle>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(h) = self.0.take() {
            h.abort();
        }
    }
}

fn joined(outcome: Result<ApiResult<Report>, JoinError>) -> ApiResult<Arc<Report>> {
    match outcome {
        Ok(r) => r.map(Arc::new),
        Err(e) => Err(ApiError::internal(&e)),
    }
}

/// Computes the report in a task of its own and waits for it
/// `report_wait`; past that the task becomes a job of the user. When the
/// user has too many jobs under way, the page waits for it to the end.
async fn compute(
    app: &AppState,
    p: &Principal,
    scope: Scope,
    kind: ReportKind,
    params: ReportParams,
    query: String,
) -> Figures {
    let mut task = tokio::spawn({
        let (app, p) = (app.clone(), p.clone());
        async move {
            let mut tx = app.db.read().await?;
            let report = run(&mut tx, &p, scope, kind, &params).await?;
            tx.commit().await?;
            Ok::<_, ApiError>(report)
        }
    });
    let mut guard = AbortOnDrop(Some(task.abort_handle()));
    // No wait at all makes every report a job, however fast.
    let wait = app.config.report_wait;
    if !wait.is_zero()
        && let Ok(outcome) = tokio::time::timeout(wait, &mut task).await
    {
        return Figures::Ready(joined(outcome));
    }
    let viewer = p.clone();
    let output = move |r: ApiResult<Report>| match r {
        Ok(report) => Ok(Output::Report(ReportResult::new(Arc::new(report), &viewer))),
        Err(e) if e.code == ErrorCode::Internal => {
            tracing::error!(error = %e.detail, "a report job failed");
            Err("the report stopped because of an error on the server".into())
        }
        Err(e) => Err(e.detail),
    };
    match app.jobs.adopt(p, Work::Report { slug: kind.slug(), query }, task, output) {
        Ok(job) => {
            guard.0 = None;
            Figures::Job(job.id)
        }
        Err((_busy, task)) => Figures::Ready(joined(task.await)),
    }
}

/// `GET /reports/{name}`: the report, or, when its figures take longer
/// than the page waits, a redirect to the job computing them.
/// `job={id}` shows the figures of the user's finished job of the same
/// report and filters.
pub async fn show(
    State(app): State<AppState>,
    auth: PageAuth,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> PageResult {
    let kind = ReportKind::parse(&name).ok_or_else(|| ApiError::not_found("report"))?;
    let p = &auth.principal;
    let scope = require_page(p, kind.record_type(), Action::Read)?;
    let (query, job) = split_job(query.as_deref().unwrap_or(""));
    let parsed: Result<ReportParams, ApiError> =
        serde_urlencoded::from_str(&query).map_err(|e| ApiError::invalid("query", e.to_string()));
    let params = parsed.clone().unwrap_or_default();
    let figures = match parsed {
        Err(e) => Figures::Ready(Err(e)),
        Ok(f) => match job.and_then(|id| from_job(&app, p, kind.slug(), &query, &id)) {
            Some(figures) => figures,
            None => compute(&app, p, scope, kind, f, query).await,
        },
    };
    let result = match figures {
        Figures::Ready(r) => r,
        Figures::Job(id) => return Ok(Redirect::to(&format!("/jobs/{id}")).into_response()),
    };
    let mut tx = app.db.read().await?;
    let users = user_choices(&mut tx, p.tenant_id).await?;
    let teams: Choices =
        nave_store::teams::list(&mut tx, p.tenant_id).await?.into_iter().map(|t| (t.id.to_string(), t.name)).collect();
    let categories: Choices = nave_store::catalog::list_categories(&mut tx, p.tenant_id)
        .await?
        .into_iter()
        .map(|c| (c.id.to_string(), c.name))
        .collect();
    tx.commit().await?;
    let (report, error) = match result {
        Ok(r) => (Some(r), None),
        Err(e) if e.status() == StatusCode::UNPROCESSABLE_ENTITY => (None, Some(e.detail.clone())),
        Err(e) => return Err(e.into()),
    };
    let field =
        |name: &'static str, label: &'static str, kind_: &'static str, value: &Option<String>, choices: &Choices| {
            FilterField { name, label, kind: kind_, value: value.clone().unwrap_or_default(), choices: choices.clone() }
        };
    let none = Choices::new();
    let ranks: Choices = vec![("revenue".into(), "Net sales".into()), ("margin".into(), "Margin".into())];
    let all = [
        field("from", "From", "date", &params.from, &none),
        field("to", "To", "date", &params.to, &none),
        field("as_of", "As of", "date", &params.as_of, &none),
        field("owner_id", "Owner", "select", &params.owner_id, &users),
        field("team_id", "Team", "select", &params.team_id, &teams),
        field("category_id", "Category", "select", &params.category_id, &categories),
        field("currency", "Currency", "text", &params.currency, &none),
        field("years", "Years", "number", &params.years, &none),
        field("threshold", "Fall % flagged", "number", &params.threshold, &none),
        field("peer_percent", "Peers buying %", "number", &params.peer_percent, &none),
        field("min_peers", "Min. peers", "number", &params.min_peers, &none),
        field("late_after_days", "Late after days", "number", &params.late_after_days, &none),
        field("near_percent", "Near limit %", "number", &params.near_percent, &none),
        field("limit", "Rows", "number", &params.limit, &none),
        field("order", "Rank by", "select", &params.order, &ranks),
    ];
    // Ranking by margin is offered to those who may see margins.
    let sees_margin = crate::api::reports::cost_fields(p).margin;
    let mut fields: Vec<FilterField> =
        all.into_iter().filter(|f| kind.uses(f.name) && (f.name != "order" || sees_margin)).collect();
    if let Some(a) = params.account_id.clone().filter(|a| !a.is_empty()) {
        fields.push(FilterField { name: "account_id", label: "Account", kind: "hidden", value: a, choices: vec![] });
    }
    let mut csv_params = params.clone();
    csv_params.format = Some("csv".into());
    let csv_link = format!("/api/v1/reports/{}?{}", kind.slug(), csv_params.query_string());
    let (svg, note, table, links) = match &report {
        Some(r) => {
            let (chart, note) = chart_of(kind, r);
            (Some(chart.layout()), note, r.table(), r.row_links().iter().map(|l| page_link(l)).collect())
        }
        None => (None, None, Table::default(), vec![]),
    };
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = ReportPage {
        layout: auth.layout("reports"),
        slug: kind.slug(),
        title: kind.title(),
        description: kind.description(),
        fields,
        error,
        svg,
        note,
        rows: {
            let mut links = links.into_iter();
            table.rows.into_iter().map(|r| (shown_cells(&table.columns, r), links.next())).collect()
        },
        columns: table.columns,
        csv_link,
    };
    Ok((status, render(&page)).into_response())
}

/// The currency most rows are in (the chart draws one currency).
fn main_currency(currencies: impl Iterator<Item = Currency>) -> Option<Currency> {
    let mut counts: Vec<(Currency, usize)> = Vec::new();
    for c in currencies {
        match counts.iter_mut().find(|(x, _)| *x == c) {
            Some(e) => e.1 += 1,
            None => counts.push((c, 1)),
        }
    }
    counts.into_iter().max_by_key(|(_, n)| *n).map(|(c, _)| c)
}

const TOP: usize = 12;

fn bar(title: String, x: &str, y: String, decimals: u32, labels: Vec<String>, series: Vec<Series>) -> Chart {
    Chart { kind: ChartKind::Bar, title, x_label: x.into(), y_label: y, decimals, labels, series }
}

fn money_note(main: Option<Currency>, all: usize, shown: usize) -> Option<String> {
    match main {
        Some(c) if shown < all => {
            Some(format!("The chart shows the amounts in {}; the table has every currency.", c.code()))
        }
        _ => None,
    }
}

/// The chart of a report, and a note on what it leaves out.
fn chart_of(kind: ReportKind, report: &Report) -> (Chart, Option<String>) {
    let title = kind.title().to_string();
    match report {
        Report::SalesByAccount(r) => {
            let main = main_currency(r.rows.iter().map(|x| x.currency));
            let rows: Vec<_> = r.rows.iter().filter(|x| Some(x.currency) == main).collect();
            let cur = main.map(|c| c.code()).unwrap_or("");
            let labels = r.years.iter().map(|y| y.to_string()).collect();
            let series = rows
                .iter()
                .take(6)
                .map(|x| Series { name: x.account.name.clone(), values: x.years.iter().map(|y| y.net_minor).collect() })
                .collect();
            let d = main.map(|c| c.minor_units()).unwrap_or(2);
            let mut note = money_note(main, r.rows.len(), rows.len());
            if rows.len() > 6 {
                note = Some(format!(
                    "The chart shows the six biggest accounts{}.",
                    note.map(|n| format!(". {n}")).unwrap_or_default()
                ));
            }
            let mut c =
                bar(format!("{title}: net sales per year"), "Year", format!("Net sales ({cur})"), d, labels, series);
            c.kind = ChartKind::Line;
            (c, note)
        }
        Report::SalesByCategory(r) => {
            let main = main_currency(r.rows.iter().map(|x| x.currency));
            let rows: Vec<_> = r.rows.iter().filter(|x| Some(x.currency) == main).collect();
            let cur = main.map(|c| c.code()).unwrap_or("");
            let values =
                (0..r.categories.len()).map(|i| rows.iter().map(|x| x.cells[i].net_minor).sum::<i64>()).collect();
            let labels = r.categories.iter().map(|c| c.name.clone()).collect();
            let d = main.map(|c| c.minor_units()).unwrap_or(2);
            let s = vec![Series { name: "All accounts".into(), values }];
            (
                bar(
                    format!("{title}: net sales per category"),
                    "Product category",
                    format!("Net sales ({cur})"),
                    d,
                    labels,
                    s,
                ),
                money_note(main, r.rows.len(), rows.len()),
            )
        }
        Report::Aging(r) => {
            let main = main_currency(r.rows.iter().map(|x| x.currency));
            let rows: Vec<_> = r.rows.iter().filter(|x| Some(x.currency) == main).collect();
            let cur = main.map(|c| c.code()).unwrap_or("");
            let values = (0..5).map(|i| rows.iter().map(|x| x.minor[i]).sum::<i64>()).collect();
            let labels = ["Current", "1–30", "31–60", "61–90", "> 90"].iter().map(|s| s.to_string()).collect();
            let d = main.map(|c| c.minor_units()).unwrap_or(2);
            (
                bar(
                    format!("{title} at {}", show::date(r.as_of)),
                    "Days past due",
                    format!("Open balance ({cur})"),
                    d,
                    labels,
                    vec![Series { name: "All accounts".into(), values }],
                ),
                money_note(main, r.rows.len(), rows.len()),
            )
        }
        Report::OrderStatus(r) => {
            let main = main_currency(r.rows.iter().map(|x| x.currency));
            let rows: Vec<_> = r.rows.iter().filter(|x| Some(x.currency) == main).take(TOP).collect();
            let cur = main.map(|c| c.code()).unwrap_or("");
            let labels = rows.iter().map(|x| x.number.clone().unwrap_or_else(|| "draft".into())).collect();
            let d = main.map(|c| c.minor_units()).unwrap_or(2);
            let s = vec![
                Series { name: "Left to ship".into(), values: rows.iter().map(|x| x.minor[1]).collect() },
                Series { name: "Left to invoice".into(), values: rows.iter().map(|x| x.minor[2]).collect() },
            ];
            (
                bar(
                    format!("{title}: the first {TOP} orders"),
                    "Sales order",
                    format!("Net value ({cur})"),
                    d,
                    labels,
                    s,
                ),
                money_note(main, r.rows.len(), rows.len()),
            )
        }
        Report::CreditExposure(r) => {
            let rows: Vec<_> = r.rows.iter().take(TOP).collect();
            let labels = rows.iter().map(|x| x.account.name.clone()).collect();
            if r.with_limits {
                let values = rows
                    .iter()
                    .map(|x| {
                        x.used_percent
                            .as_deref()
                            .and_then(|p| p.parse::<rust_decimal::Decimal>().ok())
                            .and_then(|p| i64::try_from((p * rust_decimal::Decimal::from(10)).trunc()).ok())
                            .unwrap_or_default()
                    })
                    .collect();
                let s = vec![Series { name: "Exposure / limit".into(), values }];
                (bar(format!("{title}: use of the credit limit"), "Account", "Used (%)".into(), 1, labels, s), None)
            } else {
                let main = main_currency(rows.iter().map(|x| x.currency));
                let cur = main.map(|c| c.code()).unwrap_or("");
                let s = vec![Series {
                    name: "Exposure".into(),
                    values: rows.iter().map(|x| if Some(x.currency) == main { x.minor[3] } else { 0 }).collect(),
                }];
                let d = main.map(|c| c.minor_units()).unwrap_or(2);
                (bar(format!("{title}: biggest exposures"), "Account", format!("Exposure ({cur})"), d, labels, s), None)
            }
        }
        Report::TopCustomers(r) => {
            let main = main_currency(r.rows.iter().map(|x| x.currency));
            let rows: Vec<_> = r.rows.iter().filter(|x| Some(x.currency) == main).take(TOP).collect();
            let cur = main.map(|c| c.code()).unwrap_or("");
            let d = main.map(|c| c.minor_units()).unwrap_or(2);
            let s = vec![Series { name: "Net sales".into(), values: rows.iter().map(|x| x.net_minor).collect() }];
            let labels = rows.iter().map(|x| x.account.name.clone()).collect();
            (
                bar(format!("{title}: net sales"), "Customer", format!("Net sales ({cur})"), d, labels, s),
                money_note(main, r.rows.len(), rows.len()),
            )
        }
        Report::TopProducts(r) => {
            let main = main_currency(r.rows.iter().map(|x| x.currency));
            let rows: Vec<_> = r.rows.iter().filter(|x| Some(x.currency) == main).collect();
            let cur = main.map(|c| c.code()).unwrap_or("");
            let d = main.map(|c| c.minor_units()).unwrap_or(2);
            let s = vec![Series { name: "Net sales".into(), values: rows.iter().map(|x| x.net_minor).collect() }];
            let labels = rows.iter().map(|x| x.sku.clone()).collect();
            (
                bar(format!("{title}: net sales"), "Product (SKU)", format!("Net sales ({cur})"), d, labels, s),
                money_note(main, r.rows.len(), rows.len()),
            )
        }
        Report::DaysToPay(r) => {
            let rows: Vec<_> = r.rows.iter().take(TOP).collect();
            let s =
                vec![Series { name: "Average days".into(), values: rows.iter().map(|x| x.average_days_e1).collect() }];
            let labels = rows.iter().map(|x| x.account.name.clone()).collect();
            (
                bar(
                    format!("{title}: slowest payers"),
                    "Customer",
                    "Days from invoice to full payment".into(),
                    1,
                    labels,
                    s,
                ),
                None,
            )
        }
        Report::PipelineVsWon(r) => {
            let main = main_currency(r.rows.iter().map(|x| x.currency));
            let cur = main.map(|c| c.code()).unwrap_or("");
            let mut months: Vec<String> = r.rows.iter().map(|x| x.month.clone()).collect();
            months.dedup();
            let sum = |i: usize| {
                months
                    .iter()
                    .map(|m| {
                        r.rows.iter().filter(|x| &x.month == m && Some(x.currency) == main).map(|x| x.minor[i]).sum()
                    })
                    .collect()
            };
            let s = vec![
                Series { name: "Weighted pipeline".into(), values: sum(1) },
                Series { name: "Won".into(), values: sum(2) },
            ];
            let d = main.map(|c| c.minor_units()).unwrap_or(2);
            let n = r.rows.len();
            let shown = r.rows.iter().filter(|x| Some(x.currency) == main).count();
            let mut c = bar(format!("{title} per month"), "Month", format!("Amount ({cur})"), d, months, s);
            c.kind = ChartKind::Line;
            (c, money_note(main, n, shown))
        }
        Report::Profit(r) => {
            let main = main_currency(r.rows.iter().map(|x| x.figures.currency));
            let rows: Vec<_> = r.rows.iter().filter(|x| Some(x.figures.currency) == main).take(TOP).collect();
            let cur = main.map(|c| c.code()).unwrap_or("");
            let d = main.map(|c| c.minor_units()).unwrap_or(2);
            let labels = rows.iter().map(|x| x.sku.clone().unwrap_or_else(|| x.name.clone())).collect();
            let mut s =
                vec![Series { name: "Net sales".into(), values: rows.iter().map(|x| x.figures.sums.net()).collect() }];
            // Cost and margin only where they may be seen and share the currency of the sales.
            let same = main == Some(r.company_currency);
            if r.with_cost && same {
                s.push(Series {
                    name: "Cost of goods sold".into(),
                    values: rows.iter().map(|x| x.figures.sums.cost()).collect(),
                });
            }
            if r.with_margin && same {
                s.push(Series {
                    name: "Margin".into(),
                    values: rows.iter().map(|x| x.figures.margin_minor.unwrap_or(0)).collect(),
                });
            }
            let x_label = match r.by.as_str() {
                "product" => "Product (SKU)",
                "category" => "Product line",
                "sales_order" => "Sales order",
                _ => "Customer",
            };
            let what = if r.with_margin && same { "net sales, cost and margin" } else { "net sales" };
            let in_main = r.rows.iter().filter(|x| Some(x.figures.currency) == main).count();
            let mut note = money_note(main, r.rows.len(), in_main);
            if in_main > TOP {
                note = Some(format!("The chart shows the first {TOP} rows. {}", note.unwrap_or_default()));
            }
            (bar(format!("{title}: {what}"), x_label, format!("Amount ({cur})"), d, labels, s), note)
        }
        Report::Service(r) => {
            let rows: Vec<_> = r.rows.iter().filter(|x| x.group == "account").take(TOP).collect();
            let s = vec![
                Series { name: "Opened".into(), values: rows.iter().map(|x| x.opened).collect() },
                Series { name: "Closed".into(), values: rows.iter().map(|x| x.closed).collect() },
            ];
            let labels = rows.iter().map(|x| x.name.clone()).collect();
            (bar(format!("{title}: cases per account"), "Account", "Cases (count)".into(), 0, labels, s), None)
        }
    }
}
