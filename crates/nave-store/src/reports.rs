//! The reports a sales team needs (issue 8): one function per report, each
//! one SQL aggregation (two for a few) over stored columns, never a
//! re-pricing.
//!
//! One source of truth: every amount comes from the pricing results stored
//! with the documents (`documents.net_minor`, `balance_minor`, `total_minor`;
//! `document_lines.taxable_base_minor`, quantities) — the same numbers the
//! documents API shows. Net sales of a period are, as in
//! [`crate::documents::sales_by_year`]: the net (tax and shipping excluded)
//! of invoices issued, part paid or paid, minus the net of credit notes
//! issued or applied, by document date. Per product or category the net of a
//! document is split by its lines' taxable bases (their net after the group
//! discount), which add up exactly to the document's net; shipping lines are
//! left out, like shipping is left out of the net.
//!
//! Every function takes the tenant, the caller's record scope (a
//! [`Visibility`], from `Visibility::of(principal, scope)`: a sales rep with
//! scope `own` sees only the accounts they own, and everything of those
//! accounts) and a [`ReportFilter`]; some take options of their own.
//! Amounts of different currencies are never added: every row is for one
//! currency. Rows carry the ids of the records behind them and a `documents`
//! link to the filtered document list (drill-down).
//!
//! Cost and margin come from the same stored results: the cost of goods
//! sold each invoice line records when the invoice is issued
//! (`document_lines.cost_minor`, the moving-average cost of the outgoing
//! movements, see `billing::record_costs`), less the cost a credit note
//! gives back when it returns goods to stock (recorded the same way on the
//! credit note's lines). Costs are in the company currency, so a margin
//! (net − cost) is given only for rows in it. [`profit`] groups them per
//! customer, product, product category or sales order; top customers and
//! products rank by margin on request. Cost and margin are field-secured:
//! the caller's [`CostFields`] say which of them a report carries, and
//! without them the figures and columns are absent, not empty.
//!
//! Results share their shape: a [`Period`] (flattened as `from`, `to`) and
//! a [`Table`] built column by column ([`Table::of`]), the same cells for
//! the page and the CSV. Receivables and payables aging are one function
//! over invoices or bills ([`AgingSide`]).
//!
//! Speed: the sales figures of sales by account, sales by category, top
//! customers, most and least popular products and profit per customer,
//! category and product come from the monthly sales summaries
//! ([`crate::sales_summary`], ADR 0019), the same sums kept per month with
//! the documents; the other reports are one indexed aggregation each
//! (indexes of migration 0018). The `nave bench reports` workload times them
//! against hand-written SQL over the documents.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use nave_domain::forecast::{YearMonth, weighted_minor};
use nave_domain::ids::PublicId;
use nave_domain::money::{Currency, format_minor};
use nave_domain::stock::format_quantity;
use rust_decimal::Decimal;
use serde::Serialize;
use time::{Date, Duration, Month, OffsetDateTime, Time};

use crate::accounts::Visibility;
use crate::db::{Arg, DbRow, Dialect, Tx};
use crate::sales_summary::{self, Grain, SOLD};
use crate::{StoreError, StoreResult, and_where, args, parsed};

// ---------------------------------------------------------------------------
// Filters and shared output

/// What a report covers. Every field is optional; `None` = no restriction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportFilter {
    /// First day of the period (document date, inclusive).
    pub from: Option<Date>,
    /// Last day of the period (inclusive).
    pub to: Option<Date>,
    /// One account (its store key).
    pub account_key: Option<i64>,
    /// Accounts owned by this user (key); for the pipeline, opportunities owned by them.
    pub owner_key: Option<i64>,
    /// Accounts of this team (key); for the pipeline, opportunities of the team.
    pub team_key: Option<i64>,
    /// Lines of products in this product category (key) only.
    pub category_key: Option<i64>,
    /// Documents (opportunities) in this currency only.
    pub currency: Option<Currency>,
}

/// An account a row is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AccountRef {
    #[schema(value_type = String)]
    pub id: PublicId,
    pub name: String,
}

/// The period a report covers (both days included); every report over a
/// period carries it flattened, as `from` and `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Period {
    #[serde(with = "nave_domain::dates::iso")]
    #[schema(value_type = String, format = Date)]
    pub from: Date,
    #[serde(with = "nave_domain::dates::iso")]
    #[schema(value_type = String, format = Date)]
    pub to: Date,
}

/// A report as a table: the columns and the cells the page shows and the
/// CSV holds, so both carry the very same figures as the JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// Starts the table of `rows`: columns are added one by one, each name
    /// beside the cell it shows, so a header never drifts from its cells.
    pub fn of<R>(rows: &[R]) -> TableOf<'_, R> {
        TableOf { rows, columns: vec![] }
    }
}

/// A column: its name and how a row gives its cell.
type Column<'r, R> = (String, Box<dyn Fn(&R) -> String + 'r>);

/// A table being built from report rows of type `R` ([`Table::of`]).
pub struct TableOf<'r, R> {
    rows: &'r [R],
    columns: Vec<Column<'r, R>>,
}

impl<'r, R> TableOf<'r, R> {
    /// A column named `name` whose cell is `cell(row)`.
    pub fn col(mut self, name: impl Into<String>, cell: impl Fn(&R) -> String + 'r) -> Self {
        self.columns.push((name.into(), Box::new(cell)));
        self
    }

    /// The column only when `on` (e.g. a field the caller may see).
    pub fn col_if(self, on: bool, name: impl Into<String>, cell: impl Fn(&R) -> String + 'r) -> Self {
        if on { self.col(name, cell) } else { self }
    }

    /// The `account` (name) and `account_id` columns.
    pub fn account(self, account: impl Fn(&R) -> &AccountRef + Copy + 'r) -> Self {
        self.col("account", move |r| account(r).name.clone()).col("account_id", move |r| account(r).id.to_string())
    }

    /// The `currency` column.
    pub fn currency(self, currency: impl Fn(&R) -> Currency + 'r) -> Self {
        self.col("currency", move |r| currency(r).code().to_string())
    }

    pub fn build(self) -> Table {
        Table {
            columns: self.columns.iter().map(|(n, _)| n.clone()).collect(),
            rows: self.rows.iter().map(|r| self.columns.iter().map(|(_, cell)| cell(r)).collect()).collect(),
        }
    }
}

/// An optional figure as a cell (empty when absent).
fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

fn currency_of(r: &dyn DbRow) -> StoreResult<Currency> {
    parsed(Currency::parse(&r.text("currency")?))
}

fn public(r: &dyn DbRow, col: &str) -> StoreResult<PublicId> {
    Ok(PublicId::from_uuid(r.uuid(col)?))
}

fn date(y: i32, m: Month, d: u8) -> StoreResult<Date> {
    Date::from_calendar_date(y, m, d).map_err(|e| StoreError::Decode(e.to_string()))
}

fn iso(d: Date) -> String {
    nave_domain::dates::format(d)
}

/// Per account and currency: the account, the currency, the net per category
/// and the categories bought.
type CategoryCells = (AccountRef, Currency, Vec<i64>, BTreeSet<usize>);

/// `part / whole` as a percent with one decimal (`None` when `whole` is 0).
fn percent(part: i64, whole: i64) -> Option<String> {
    if whole == 0 {
        return None;
    }
    let p = Decimal::from(part) * Decimal::from(100) / Decimal::from(whole);
    Some(format!("{:.1}", p.round_dp_with_strategy(1, rust_decimal::RoundingStrategy::MidpointAwayFromZero)))
}

/// `sum / n` with one decimal (`None` when `n` is 0).
fn average(sum: i64, n: i64) -> Option<String> {
    (n > 0).then(|| {
        let avg = (Decimal::from(sum) / Decimal::from(n))
            .round_dp_with_strategy(1, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        format!("{avg:.1}")
    })
}

/// Restricts `col` (an account key) to the accounts the caller may see and
/// the filter's account, owner and team.
pub(crate) fn push_accounts(sql: &mut String, a: &mut Vec<Arg>, col: &str, vis: Visibility, f: &ReportFilter) {
    if let Some(k) = f.account_key {
        and_where(sql, a, &format!("{col} = $?"), k);
    }
    if vis == Visibility::All && f.owner_key.is_none() && f.team_key.is_none() {
        return;
    }
    sql.push_str(&format!(" AND {col} IN (SELECT a.id FROM accounts a WHERE a.tenant_id = $1"));
    vis.push_on("a.owner_id", "a.team_id", sql, a);
    if let Some(o) = f.owner_key {
        and_where(sql, a, "a.owner_id = $?", o);
    }
    if let Some(t) = f.team_key {
        and_where(sql, a, "a.team_id = $?", t);
    }
    sql.push(')');
}

/// The link to the documents of `doc` (`invoices`, `credit-notes`,
/// `sales-orders`) of an account in the period.
fn documents_link(resource: &str, account: PublicId, from: Option<Date>, to: Option<Date>, extra: &str) -> String {
    let mut s = format!("/api/v1/{resource}?account_id={account}");
    if let Some(d) = from {
        s.push_str(&format!("&from={}", iso(d)));
    }
    if let Some(d) = to {
        s.push_str(&format!("&to={}", iso(d)));
    }
    s.push_str(extra);
    s
}

/// Drill-down: where the documents behind a sales figure are listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SalesLinks {
    pub invoices: String,
    pub credit_notes: String,
}

fn sales_links(account: PublicId, from: Option<Date>, to: Option<Date>) -> SalesLinks {
    SalesLinks {
        invoices: documents_link("invoices", account, from, to, ""),
        credit_notes: documents_link("credit-notes", account, from, to, ""),
    }
}

// ---------------------------------------------------------------------------
// 1. Sales by account by year

/// Options of [`sales_by_account`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SalesByAccountOptions {
    /// How many calendar years, ending with the year of `filter.to` (default:
    /// today's year). `filter.from`, when given, is the first day instead.
    pub years: u8,
    /// An account is flagged when its last year's sales are below the year
    /// before by more than this percent (e.g. 20).
    pub fall_threshold_percent: u32,
}

impl Default for SalesByAccountOptions {
    fn default() -> Self {
        SalesByAccountOptions { years: 3, fall_threshold_percent: 20 }
    }
}

/// Net sales of one year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct YearAmount {
    pub year: i32,
    pub net: String,
    #[serde(skip)]
    pub net_minor: i64,
}

/// One account's net sales per year, in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SalesByAccountRow {
    pub account: AccountRef,
    #[schema(value_type = String, example = "EUR")]
    pub currency: Currency,
    /// Every year of the report, oldest first (0 where nothing was sold).
    pub years: Vec<YearAmount>,
    pub total: String,
    #[serde(skip)]
    pub total_minor: i64,
    /// `up`, `down` or `flat`: the last year against the year before.
    pub trend: String,
    /// The change of the last year against the year before, in percent
    /// (one decimal); absent when the year before sold nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_percent: Option<String>,
    /// The last year fell by more than the threshold.
    pub falling: bool,
    pub documents: SalesLinks,
}

/// Report 1: net sales per account per year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SalesByAccount {
    /// The period covered (`from`, `to`).
    #[serde(flatten)]
    pub period: Period,
    pub years: Vec<i32>,
    pub fall_threshold_percent: u32,
    /// Biggest total first.
    pub rows: Vec<SalesByAccountRow>,
}

/// Report 1, *sales by account by year*: for each account (and currency)
/// in the caller's scope, net invoiced minus credited per calendar year over
/// the last `opts.years` years ending with the year of `filter.to` (default
/// today), the total, the trend of the last year against the one before,
/// and a flag when it fell by more than `opts.fall_threshold_percent`.
/// Filters: period (`from` overrides the first day), account, owner, team,
/// category (then only that category's lines count), currency.
pub async fn sales_by_account(
    tx: &mut Tx,
    tenant_id: i64,
    vis: Visibility,
    filter: &ReportFilter,
    opts: SalesByAccountOptions,
) -> StoreResult<SalesByAccount> {
    let to = filter.to.unwrap_or_else(|| crate::db::now().date());
    let last = to.year();
    let first = last - i32::from(opts.years.clamp(1, 20)) + 1;
    let from = filter.from.unwrap_or(date(first, Month::January, 1)?);
    let mut f = *filter;
    f.from = Some(from);
    f.to = Some(to);
    let (src, a) = sales_summary::facts(tx.dialect(), Grain::for_filter(&f), tenant_id, vis, &f, from, to);
    let year = "SUBSTR(CAST(s.month AS TEXT), 1, 4)";
    let sql = format!(
        "SELECT x.account_id, x.currency, x.y, x.v, a.public_id, a.name FROM (SELECT s.account_id, s.currency, \
         {year} AS y, CAST(SUM(s.invoiced_minor - s.credited_minor) AS BIGINT) AS v FROM ({src}) s \
         GROUP BY s.account_id, s.currency, {year}) x JOIN accounts a ON a.tenant_id = $1 AND a.id = x.account_id"
    );
    let rows = tx
        .fetch_all(sql, a, |r| {
            Ok((
                r.i64("account_id")?,
                currency_of(r)?,
                r.text("y")?.parse::<i32>().map_err(|e| StoreError::Decode(e.to_string()))?,
                r.i64("v")?,
                AccountRef { id: public(r, "public_id")?, name: r.text("name")? },
            ))
        })
        .await?;
    let years: Vec<i32> = (from.year()..=last).collect();
    let mut by: BTreeMap<(i64, &'static str), (AccountRef, Currency, Vec<i64>)> = BTreeMap::new();
    for (key, c, y, v, acc) in rows {
        let e = by.entry((key, c.code())).or_insert_with(|| (acc, c, vec![0; years.len()]));
        if let Some(i) = years.iter().position(|x| *x == y) {
            e.2[i] += v;
        }
    }
    let mut out: Vec<SalesByAccountRow> = by
        .into_values()
        .map(|(account, currency, amounts)| {
            let n = amounts.len();
            let (prev, now) = if n >= 2 { (amounts[n - 2], amounts[n - 1]) } else { (0, amounts[0]) };
            let change_percent = if n >= 2 { percent(now - prev, prev) } else { None };
            let trend = match now.cmp(&prev) {
                std::cmp::Ordering::Greater => "up",
                std::cmp::Ordering::Less => "down",
                std::cmp::Ordering::Equal => "flat",
            };
            // now < prev × (1 − t/100), in integers.
            let falling = n >= 2
                && prev > 0
                && i128::from(now) * 100 < i128::from(prev) * (100 - i128::from(opts.fall_threshold_percent));
            let total_minor: i64 = amounts.iter().sum();
            let documents = sales_links(account.id, Some(from), Some(to));
            SalesByAccountRow {
                account,
                currency,
                years: years
                    .iter()
                    .zip(&amounts)
                    .map(|(y, v)| YearAmount { year: *y, net: format_minor(*v, currency), net_minor: *v })
                    .collect(),
                total: format_minor(total_minor, currency),
                total_minor,
                trend: trend.to_string(),
                change_percent,
                falling,
                documents,
            }
        })
        .collect();
    out.sort_by(|a, b| b.total_minor.cmp(&a.total_minor).then(a.account.name.cmp(&b.account.name)));
    Ok(SalesByAccount {
        period: Period { from, to },
        years,
        fall_threshold_percent: opts.fall_threshold_percent,
        rows: out,
    })
}

impl SalesByAccount {
    pub fn table(&self) -> Table {
        let mut t = Table::of(&self.rows).account(|r| &r.account).currency(|r| r.currency);
        for (i, y) in self.years.iter().enumerate() {
            t = t.col(y.to_string(), move |r| r.years[i].net.clone());
        }
        t.col("total", |r| r.total.clone())
            .col("trend", |r| r.trend.clone())
            .col("change_percent", |r| opt(&r.change_percent))
            .col("falling", |r| yes_no(r.falling))
            .build()
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

fn default_period(filter: &ReportFilter) -> StoreResult<(Date, Date)> {
    let to = filter.to.unwrap_or_else(|| crate::db::now().date());
    let from = match filter.from {
        Some(d) => d,
        None => date(to.year(), Month::January, 1)?,
    };
    Ok((from, to))
}

// ---------------------------------------------------------------------------
// 2. Sales by product category per account, with cross-sell gaps

/// Options of [`sales_by_category`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrossSellOptions {
    /// A category is a gap for an account when, among the accounts that
    /// bought one of the categories it bought, at least this percent also
    /// bought that category (e.g. 50).
    pub peer_percent: u32,
    /// …and at least this many accounts bought both (so one customer's
    /// habits make no rule).
    pub min_peers: u32,
}

impl Default for CrossSellOptions {
    fn default() -> Self {
        CrossSellOptions { peer_percent: 50, min_peers: 2 }
    }
}

/// A product category (`None`: lines without a product or category).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CategoryRef {
    #[schema(value_type = Option<String>)]
    pub id: Option<PublicId>,
    pub name: String,
}

/// One cell of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CategoryAmount {
    #[schema(value_type = Option<String>)]
    pub category_id: Option<PublicId>,
    pub net: String,
    #[serde(skip)]
    pub net_minor: i64,
}

/// One account's net sales per category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SalesByCategoryRow {
    pub account: AccountRef,
    #[schema(value_type = String, example = "EUR")]
    pub currency: Currency,
    /// One cell per category of the report, in its order.
    pub cells: Vec<CategoryAmount>,
    pub total: String,
    #[serde(skip)]
    pub total_minor: i64,
    /// Categories the account never bought in the period that its peers buy.
    pub gaps: Vec<CategoryRef>,
    pub documents: SalesLinks,
}

/// Report 2: the account × category matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SalesByCategory {
    /// The period covered (`from`, `to`).
    #[serde(flatten)]
    pub period: Period,
    /// The columns of the matrix, by name (lines without a category last).
    pub categories: Vec<CategoryRef>,
    pub peer_percent: u32,
    pub min_peers: u32,
    pub rows: Vec<SalesByCategoryRow>,
}

/// Report 2, *sales by product category per account*: net sales of each
/// account (and currency) per product category in the period (default: this
/// year up to today), from the lines' taxable bases, so each row's total is
/// the account's net sales. Cross-sell gaps, the rule: category C is a gap of
/// account A when A bought nothing of C in the period and, for some category
/// B that A bought, at least `peer_percent` % of the accounts that bought B
/// also bought C, and at least `min_peers` accounts bought both. Accounts
/// counted are the report's own rows (the caller's scope and filters); lines
/// without a product category form the "(no category)" column and are
/// never a gap.
pub async fn sales_by_category(
    tx: &mut Tx,
    tenant_id: i64,
    vis: Visibility,
    filter: &ReportFilter,
    opts: CrossSellOptions,
) -> StoreResult<SalesByCategory> {
    let (from, to) = default_period(filter)?;
    let (src, a) = sales_summary::facts(tx.dialect(), Grain::Category, tenant_id, vis, filter, from, to);
    // Category 0 (lines without a product or category) joins no category.
    let sql = format!(
        "SELECT x.account_id, x.currency, x.category_id, x.v, a.public_id, a.name, c.public_id AS category_public_id, \
         c.name AS category_name FROM (SELECT s.account_id, s.currency, s.category_id, \
         CAST(SUM(s.invoiced_minor - s.credited_minor) AS BIGINT) AS v FROM ({src}) s \
         GROUP BY s.account_id, s.currency, s.category_id) x JOIN accounts a ON a.tenant_id = $1 AND a.id = x.account_id \
         LEFT JOIN product_categories c ON c.tenant_id = $1 AND c.id = x.category_id"
    );
    let rows = tx
        .fetch_all(sql, a, |r| {
            let cat = match r.opt_uuid("category_public_id")? {
                Some(u) => CategoryRef { id: Some(PublicId::from_uuid(u)), name: r.text("category_name")? },
                None => CategoryRef { id: None, name: "(no category)".into() },
            };
            Ok((
                r.i64("account_id")?,
                currency_of(r)?,
                cat,
                r.i64("v")?,
                AccountRef { id: public(r, "public_id")?, name: r.text("name")? },
            ))
        })
        .await?;
    let mut categories: Vec<CategoryRef> = Vec::new();
    for (_, _, c, _, _) in &rows {
        if !categories.contains(c) {
            categories.push(c.clone());
        }
    }
    categories.sort_by(|a, b| a.id.is_none().cmp(&b.id.is_none()).then(a.name.cmp(&b.name)));
    let mut by: BTreeMap<(i64, &'static str), CategoryCells> = BTreeMap::new();
    for (key, cur, cat, v, acc) in rows {
        let i = categories.iter().position(|c| *c == cat).unwrap_or_default();
        let e = by.entry((key, cur.code())).or_insert_with(|| (acc, cur, vec![0; categories.len()], BTreeSet::new()));
        e.2[i] += v;
        if v > 0 && cat.id.is_some() {
            e.3.insert(i);
        }
    }
    // Who bought what: buyers per category and per pair of categories.
    let k = categories.len();
    let mut buyers = vec![0u32; k];
    let mut both = vec![0u32; k * k];
    for (_, _, _, bought) in by.values() {
        for &b in bought {
            buyers[b] += 1;
            for &c in bought {
                both[b * k + c] += 1;
            }
        }
    }
    let gap = |bought: &BTreeSet<usize>, c: usize| {
        !bought.contains(&c)
            && bought.iter().any(|&b| {
                let n = both[b * k + c];
                n >= opts.min_peers && u64::from(n) * 100 >= u64::from(buyers[b]) * u64::from(opts.peer_percent)
            })
    };
    let mut out: Vec<SalesByCategoryRow> = by
        .into_values()
        .map(|(account, currency, amounts, bought)| {
            let total_minor = amounts.iter().sum();
            let gaps = (0..k)
                .filter(|&c| categories[c].id.is_some() && gap(&bought, c))
                .map(|c| categories[c].clone())
                .collect();
            SalesByCategoryRow {
                documents: sales_links(account.id, Some(from), Some(to)),
                account,
                currency,
                cells: categories
                    .iter()
                    .zip(&amounts)
                    .map(|(c, v)| CategoryAmount { category_id: c.id, net: format_minor(*v, currency), net_minor: *v })
                    .collect(),
                total: format_minor(total_minor, currency),
                total_minor,
                gaps,
            }
        })
        .collect();
    out.sort_by(|a, b| b.total_minor.cmp(&a.total_minor).then(a.account.name.cmp(&b.account.name)));
    Ok(SalesByCategory {
        period: Period { from, to },
        categories,
        peer_percent: opts.peer_percent,
        min_peers: opts.min_peers,
        rows: out,
    })
}

impl SalesByCategory {
    pub fn table(&self) -> Table {
        let mut t = Table::of(&self.rows).account(|r| &r.account).currency(|r| r.currency);
        for (i, c) in self.categories.iter().enumerate() {
            t = t.col(c.name.clone(), move |r| r.cells[i].net.clone());
        }
        t.col("total", |r| r.total.clone())
            .col("cross_sell_gaps", |r| r.gaps.iter().map(|g| g.name.as_str()).collect::<Vec<_>>().join("; "))
            .build()
    }
}

// ---------------------------------------------------------------------------
// 3. Receivables and payables aging

/// What one account owes (or is owed) at a date, by how late it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AgingRow {
    pub account: AccountRef,
    #[schema(value_type = String, example = "EUR")]
    pub currency: Currency,
    /// Not yet due (or without a due date).
    pub current: String,
    pub days_1_30: String,
    pub days_31_60: String,
    pub days_61_90: String,
    pub days_over_90: String,
    pub total: String,
    /// The five buckets and the total, in minor units.
    #[serde(skip)]
    pub minor: [i64; 6],
    /// Open invoices (receivables) or bills (payables).
    pub open_invoices: i64,
    pub documents: String,
}

/// Report 3: receivables (or payables) aging at a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Aging {
    #[serde(with = "nave_domain::dates::iso")]
    #[schema(value_type = String, format = Date)]
    pub as_of: Date,
    #[serde(skip)]
    pub side: AgingSide,
    /// Biggest total first.
    pub rows: Vec<AgingRow>,
}

/// Which side an aging is of: what customers owe on invoices, or what is
/// owed to suppliers on bills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgingSide {
    Receivables,
    Payables,
}

impl AgingSide {
    fn doc_type(self) -> &'static str {
        match self {
            AgingSide::Receivables => "invoice",
            AgingSide::Payables => "bill",
        }
    }

    /// The API list of the documents.
    fn resource(self) -> &'static str {
        match self {
            AgingSide::Receivables => "invoices",
            AgingSide::Payables => "bills",
        }
    }
}

/// Report 3, *receivables aging*: what each account owed on `as_of`
/// (default today) by days past due: current (not yet due), 1–30, 31–60,
/// 61–90, over 90. An invoice counts when it was issued (document date on or
/// before `as_of`; not void) with its balance at that date: its total less
/// the payments and credit notes allocated to it on or before `as_of`.
/// Payments and credit notes not allocated to an invoice (account credit)
/// do not reduce it. Filters: account, owner, team, currency (the period
/// is not used: aging is at one date).
pub async fn receivables_aging(
    tx: &mut Tx,
    tenant_id: i64,
    vis: Visibility,
    filter: &ReportFilter,
    as_of: Option<Date>,
) -> StoreResult<Aging> {
    aging(tx, tenant_id, vis, filter, as_of, AgingSide::Receivables).await
}

/// *Payables aging*, the twin of [`receivables_aging`] over bills: what the
/// company owed each supplier on `as_of`, by days past due, from the bills
/// issued on or before it less the payments sent and bill credits allocated
/// to them on or before it. Same buckets, filters and scope (the supplier
/// accounts the caller may see).
pub async fn payables_aging(
    tx: &mut Tx,
    tenant_id: i64,
    vis: Visibility,
    filter: &ReportFilter,
    as_of: Option<Date>,
) -> StoreResult<Aging> {
    aging(tx, tenant_id, vis, filter, as_of, AgingSide::Payables).await
}

/// The aging of one side: one aggregation bucketing each open document's
/// balance at `as_of` by its due date.
async fn aging(
    tx: &mut Tx,
    tenant_id: i64,
    vis: Visibility,
    filter: &ReportFilter,
    as_of: Option<Date>,
    side: AgingSide,
) -> StoreResult<Aging> {
    let d0 = as_of.unwrap_or_else(|| crate::db::now().date());
    let b30 = d0 - Duration::days(30);
    let b60 = d0 - Duration::days(60);
    let b90 = d0 - Duration::days(90);
    let mut a = args![tenant_id, d0, b30, b60, b90, side.doc_type()];
    let mut filters = String::new();
    if let Some(c) = filter.currency {
        and_where(&mut filters, &mut a, "d.currency = $?", c.code());
    }
    push_accounts(&mut filters, &mut a, "d.account_id", vis, filter);
    // Each document's balance at the date: its total less what was allocated to it by then.
    let balance = "SELECT d.account_id, d.currency, d.due_date, d.total_minor - COALESCE((SELECT SUM(x.amount_minor) \
                   FROM allocations x WHERE x.tenant_id = d.tenant_id AND x.invoice_id = d.id AND x.allocated_on <= $2), 0) \
                   AS bal FROM documents d WHERE d.tenant_id = $1 AND d.doc_type = $6 AND d.doc_date <= $2";
    // Documents open now, and those paid now with a part allocated after the
    // date: two sets each found through its own index (the status; the
    // allocations by date), never a scan of every paid document.
    let open = format!(
        "{balance} AND d.status IN ('issued', 'part_paid'){filters} UNION ALL {balance} AND d.status = 'paid' \
         AND d.id IN (SELECT al.invoice_id FROM allocations al WHERE al.tenant_id = $1 AND al.allocated_on > $2){filters}"
    );
    let bucket = |cond: &str| format!("CAST(SUM(CASE WHEN {cond} THEN b.bal ELSE 0 END) AS BIGINT)");
    let sql = format!(
        "SELECT s.*, a.public_id, a.name FROM (SELECT b.account_id, b.currency, {} AS c0, {} AS c1, {} AS c2, {} AS c3, \
         {} AS c4, COUNT(*) AS n FROM ({open}) b WHERE b.bal > 0 GROUP BY b.account_id, b.currency) s \
         JOIN accounts a ON a.tenant_id = $1 AND a.id = s.account_id",
        bucket("b.due_date IS NULL OR b.due_date >= $2"),
        bucket("b.due_date < $2 AND b.due_date >= $3"),
        bucket("b.due_date < $3 AND b.due_date >= $4"),
        bucket("b.due_date < $4 AND b.due_date >= $5"),
        bucket("b.due_date < $5"),
    );
    let mut rows = tx
        .fetch_all(sql, a, |r| {
            let c = currency_of(r)?;
            let account = AccountRef { id: public(r, "public_id")?, name: r.text("name")? };
            let m = [r.i64("c0")?, r.i64("c1")?, r.i64("c2")?, r.i64("c3")?, r.i64("c4")?];
            let total: i64 = m.iter().sum();
            Ok(AgingRow {
                documents: documents_link(side.resource(), account.id, None, Some(d0), ""),
                account,
                currency: c,
                current: format_minor(m[0], c),
                days_1_30: format_minor(m[1], c),
                days_31_60: format_minor(m[2], c),
                days_61_90: format_minor(m[3], c),
                days_over_90: format_minor(m[4], c),
                total: format_minor(total, c),
                minor: [m[0], m[1], m[2], m[3], m[4], total],
                open_invoices: r.i64("n")?,
            })
        })
        .await?;
    rows.sort_by(|a, b| b.minor[5].cmp(&a.minor[5]).then(a.account.name.cmp(&b.account.name)));
    Ok(Aging { as_of: d0, side, rows })
}

impl Aging {
    pub fn table(&self) -> Table {
        Table::of(&self.rows)
            .account(|r| &r.account)
            .currency(|r| r.currency)
            .col("current", |r| r.current.clone())
            .col("days_1_30", |r| r.days_1_30.clone())
            .col("days_31_60", |r| r.days_31_60.clone())
            .col("days_61_90", |r| r.days_61_90.clone())
            .col("days_over_90", |r| r.days_over_90.clone())
            .col("total", |r| r.total.clone())
            .col("open_invoices", |r| r.open_invoices.to_string())
            .build()
    }
}

// ---------------------------------------------------------------------------
// 4. Order status

/// Options of [`order_status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderStatusOptions {
    /// An open order with goods left to ship is late once its date is more
    /// than this many days before `as_of`.
    pub late_after_days: u32,
    /// The date ages are counted to (default today).
    pub as_of: Option<Date>,
    /// At most this many orders (late ones first).
    pub limit: u32,
}

impl Default for OrderStatusOptions {
    fn default() -> Self {
        OrderStatusOptions { late_after_days: 14, as_of: None, limit: 500 }
    }
}

/// One open order and what is left on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OrderStatusRow {
    #[schema(value_type = String)]
    pub sales_order_id: PublicId,
    pub number: Option<String>,
    #[serde(with = "nave_domain::dates::iso")]
    #[schema(value_type = String, format = Date)]
    pub date: Date,
    pub account: AccountRef,
    #[schema(value_type = String, example = "EUR")]
    pub currency: Currency,
    /// The order's net.
    pub net: String,
    /// Net value of the goods not shipped yet (line taxable base × quantity
    /// left ÷ quantity, truncated to the minor unit).
    pub left_to_ship: String,
    /// Net value not invoiced yet (ordered − invoiced, as above).
    pub left_to_invoice: String,
    #[serde(skip)]
    pub minor: [i64; 3],
    /// Lines with goods left to ship, and with anything left to invoice.
    pub lines_to_ship: i64,
    pub lines_to_invoice: i64,
    pub age_days: i64,
    pub late: bool,
    pub documents: String,
}

/// Report 4: open orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OrderStatus {
    #[serde(with = "nave_domain::dates::iso")]
    #[schema(value_type = String, format = Date)]
    pub as_of: Date,
    pub late_after_days: u32,
    /// Late first, then oldest first.
    pub rows: Vec<OrderStatusRow>,
}

/// Report 4, *order status*: open sales orders with something left to ship
/// or to invoice, their values left (from the stored line amounts), age and
/// whether late (goods left to ship and older than `late_after_days`), late
/// ones first, then oldest first. Filters: period (order date), account,
/// owner, team, currency.
pub async fn order_status(
    tx: &mut Tx,
    tenant_id: i64,
    vis: Visibility,
    filter: &ReportFilter,
    opts: OrderStatusOptions,
) -> StoreResult<OrderStatus> {
    let as_of = opts.as_of.unwrap_or_else(|| crate::db::now().date());
    let mut a = args![tenant_id];
    let mut src = String::from("WHERE d.tenant_id = $1 AND d.doc_type = 'sales_order' AND d.status = 'open'");
    if let Some(d) = filter.from {
        and_where(&mut src, &mut a, "d.doc_date >= $?", d);
    }
    if let Some(d) = filter.to {
        and_where(&mut src, &mut a, "d.doc_date <= $?", d);
    }
    if let Some(c) = filter.currency {
        and_where(&mut src, &mut a, "d.currency = $?", c.code());
    }
    push_accounts(&mut src, &mut a, "d.account_id", vis, filter);
    let ships = "l.kind = 'product' AND p.kind IN ('goods', 'kit')";
    let sql = format!(
        "SELECT d.id, d.public_id, d.number, d.doc_date, d.currency, d.net_minor, a.public_id AS account_public_id, \
         a.name AS account_name, \
         CAST(SUM(CASE WHEN {ships} AND l.quantity_e4 > l.qty_shipped_e4 THEN l.taxable_base_minor * \
         (l.quantity_e4 - l.qty_shipped_e4) / l.quantity_e4 ELSE 0 END) AS BIGINT) AS ship_v, \
         CAST(SUM(CASE WHEN {ships} AND l.quantity_e4 > l.qty_shipped_e4 THEN 1 ELSE 0 END) AS BIGINT) AS ship_n, \
         CAST(SUM(CASE WHEN l.kind <> 'comment' AND l.quantity_e4 > l.qty_invoiced_e4 THEN l.taxable_base_minor * \
         (l.quantity_e4 - l.qty_invoiced_e4) / l.quantity_e4 ELSE 0 END) AS BIGINT) AS inv_v, \
         CAST(SUM(CASE WHEN l.kind <> 'comment' AND l.quantity_e4 > l.qty_invoiced_e4 THEN 1 ELSE 0 END) AS BIGINT) AS inv_n \
         FROM documents d JOIN accounts a ON a.tenant_id = d.tenant_id AND a.id = d.account_id \
         JOIN document_lines l ON l.tenant_id = d.tenant_id AND l.document_id = d.id \
         LEFT JOIN products p ON p.tenant_id = l.tenant_id AND p.id = l.product_id {src} \
         GROUP BY d.id, d.public_id, d.number, d.doc_date, d.currency, d.net_minor, a.public_id, a.name"
    );
    let late_before = as_of - Duration::days(i64::from(opts.late_after_days));
    let mut rows: Vec<OrderStatusRow> = tx
        .fetch_all(sql, a, |r| {
            let c = currency_of(r)?;
            let d = r.opt_date("doc_date")?.ok_or_else(|| StoreError::Decode("doc_date".into()))?;
            let id = public(r, "public_id")?;
            let m = [r.i64("net_minor")?, r.i64("ship_v")?, r.i64("inv_v")?];
            let ship_n = r.i64("ship_n")?;
            Ok(OrderStatusRow {
                sales_order_id: id,
                number: r.opt_text("number")?,
                date: d,
                account: AccountRef { id: public(r, "account_public_id")?, name: r.text("account_name")? },
                currency: c,
                net: format_minor(m[0], c),
                left_to_ship: format_minor(m[1], c),
                left_to_invoice: format_minor(m[2], c),
                minor: m,
                lines_to_ship: ship_n,
                lines_to_invoice: r.i64("inv_n")?,
                age_days: (as_of - d).whole_days(),
                late: ship_n > 0 && d < late_before,
                documents: format!("/api/v1/sales-orders/{id}"),
            })
        })
        .await?;
    rows.retain(|r| r.lines_to_ship > 0 || r.lines_to_invoice > 0);
    rows.sort_by(|a, b| b.late.cmp(&a.late).then(a.date.cmp(&b.date)).then(a.number.cmp(&b.number)));
    rows.truncate(opts.limit as usize);
    Ok(OrderStatus { as_of, late_after_days: opts.late_after_days, rows })
}

impl OrderStatus {
    pub fn table(&self) -> Table {
        Table::of(&self.rows)
            .col("number", |r| r.number.clone().unwrap_or_default())
            .col("sales_order_id", |r| r.sales_order_id.to_string())
            .col("date", |r| iso(r.date))
            .col("account", |r| r.account.name.clone())
            .currency(|r| r.currency)
            .col("net", |r| r.net.clone())
            .col("left_to_ship", |r| r.left_to_ship.clone())
            .col("left_to_invoice", |r| r.left_to_invoice.clone())
            .col("age_days", |r| r.age_days.to_string())
            .col("late", |r| yes_no(r.late))
            .build()
    }
}

// ---------------------------------------------------------------------------
// 5. Credit exposure

/// Options of [`credit_exposure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditExposureOptions {
    /// Accounts whose exposure is at least this percent of their limit (e.g. 80).
    pub near_percent: u32,
    /// Whether the caller may see credit limits (field security). Without,
    /// the limit and everything derived from it are absent and the report
    /// lists every account with an exposure, biggest first.
    pub with_limits: bool,
}

impl Default for CreditExposureOptions {
    fn default() -> Self {
        CreditExposureOptions { near_percent: 80, with_limits: true }
    }
}

/// One account's exposure, broken down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ExposureRow {
    pub account: AccountRef,
    #[schema(value_type = String, example = "EUR")]
    pub currency: Currency,
    /// Open receivables (balances of issued and part-paid invoices).
    pub receivables: String,
    /// The part of them past due.
    pub overdue: String,
    /// Open orders not yet invoiced.
    pub open_orders: String,
    /// receivables + open_orders (`nave_store::credit::exposure`).
    pub exposure: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credit_limit: Option<String>,
    /// exposure ÷ limit, in percent (one decimal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_percent: Option<String>,
    /// limit − exposure (negative when over).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headroom: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub over_limit: Option<bool>,
    /// receivables, overdue, open orders, exposure, limit.
    #[serde(skip)]
    pub minor: [i64; 5],
    pub documents: SalesLinks,
}

/// Report 5: accounts near or over their credit limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CreditExposure {
    pub near_percent: u32,
    pub with_limits: bool,
    pub rows: Vec<ExposureRow>,
}

/// Report 5, *credit exposure*: accounts whose exposure (open receivables +
/// open orders not yet invoiced, exactly as [`crate::credit::exposure`]
/// counts it, in the account's currency) is at least `near_percent` % of
/// their credit limit, most used first, with the exposure broken down. With
/// `with_limits` false (the caller may not see credit limits) the limit,
/// use, headroom and over flag are absent and every account with an exposure
/// is listed, biggest first. Filters: account, owner, team, currency (of
/// the account).
pub async fn credit_exposure(
    tx: &mut Tx,
    tenant_id: i64,
    vis: Visibility,
    filter: &ReportFilter,
    opts: CreditExposureOptions,
) -> StoreResult<CreditExposure> {
    let today = crate::db::now().date();
    let mut a = args![tenant_id, today];
    let mut cond = String::new();
    if let Some(c) = filter.currency {
        and_where(&mut cond, &mut a, "a.currency = $?", c.code());
    }
    if opts.with_limits {
        cond.push_str(" AND a.credit_limit_minor IS NOT NULL");
    }
    push_accounts(&mut cond, &mut a, "a.id", vis, filter);
    let sql = format!(
        "SELECT a.id, a.public_id, a.name, a.currency, a.credit_limit_minor, COALESCE(r.open_v, 0) AS open_v, \
         COALESCE(r.late_v, 0) AS late_v, COALESCE(o.orders_v, 0) AS orders_v FROM accounts a \
         LEFT JOIN (SELECT d.account_id, CAST(SUM(d.balance_minor) AS BIGINT) AS open_v, CAST(SUM(CASE WHEN \
         d.due_date < $2 THEN d.balance_minor ELSE 0 END) AS BIGINT) AS late_v FROM documents d WHERE d.tenant_id = $1 \
         AND d.doc_type = 'invoice' AND d.status IN ('issued', 'part_paid') GROUP BY d.account_id) r ON r.account_id = a.id \
         LEFT JOIN (SELECT x.account_id, CAST(SUM(CASE WHEN x.total_minor > x.inv THEN x.total_minor - x.inv ELSE 0 END) \
         AS BIGINT) AS orders_v FROM (SELECT d.account_id, d.total_minor, COALESCE((SELECT SUM(i.total_minor) FROM \
         documents i WHERE i.tenant_id = d.tenant_id AND i.origin_id = d.id AND i.doc_type = 'invoice' AND i.status IN \
         ('issued', 'part_paid', 'paid')), 0) AS inv FROM documents d WHERE d.tenant_id = $1 AND d.doc_type = \
         'sales_order' AND d.status = 'open') x GROUP BY x.account_id) o ON o.account_id = a.id \
         WHERE a.tenant_id = $1{cond} AND (r.open_v IS NOT NULL OR o.orders_v IS NOT NULL)"
    );
    let near = i128::from(opts.near_percent);
    let mut rows: Vec<ExposureRow> = tx
        .fetch_all(sql, a, |r| {
            let c = currency_of(r)?;
            let account = AccountRef { id: public(r, "public_id")?, name: r.text("name")? };
            let (open, late, orders) = (r.i64("open_v")?, r.i64("late_v")?, r.i64("orders_v")?);
            let exposure = open.saturating_add(orders);
            let limit = r.opt_i64("credit_limit_minor")?.filter(|_| opts.with_limits);
            Ok(ExposureRow {
                documents: sales_links(account.id, None, None),
                account,
                currency: c,
                receivables: format_minor(open, c),
                overdue: format_minor(late, c),
                open_orders: format_minor(orders, c),
                exposure: format_minor(exposure, c),
                credit_limit: limit.map(|l| format_minor(l, c)),
                used_percent: limit.and_then(|l| percent(exposure, l)),
                headroom: limit.map(|l| format_minor(l - exposure, c)),
                over_limit: limit.map(|l| exposure > l),
                minor: [open, late, orders, exposure, limit.unwrap_or_default()],
            })
        })
        .await?;
    if opts.with_limits {
        rows.retain(|r| i128::from(r.minor[3]) * 100 >= i128::from(r.minor[4]) * near && r.minor[3] > 0);
        // Most used first: exposure/limit descending, compared exactly.
        rows.sort_by(|a, b| {
            let (x, y) = (
                i128::from(a.minor[3]) * i128::from(b.minor[4].max(1)),
                i128::from(b.minor[3]) * i128::from(a.minor[4].max(1)),
            );
            y.cmp(&x).then(a.account.name.cmp(&b.account.name))
        });
    } else {
        rows.retain(|r| r.minor[3] > 0);
        rows.sort_by(|a, b| b.minor[3].cmp(&a.minor[3]).then(a.account.name.cmp(&b.account.name)));
    }
    Ok(CreditExposure { near_percent: opts.near_percent, with_limits: opts.with_limits, rows })
}

impl CreditExposure {
    pub fn table(&self) -> Table {
        let limits = self.with_limits;
        Table::of(&self.rows)
            .account(|r| &r.account)
            .currency(|r| r.currency)
            .col("receivables", |r| r.receivables.clone())
            .col("overdue", |r| r.overdue.clone())
            .col("open_orders", |r| r.open_orders.clone())
            .col("exposure", |r| r.exposure.clone())
            .col_if(limits, "credit_limit", |r| opt(&r.credit_limit))
            .col_if(limits, "used_percent", |r| opt(&r.used_percent))
            .col_if(limits, "headroom", |r| opt(&r.headroom))
            .col_if(limits, "over_limit", |r| yes_no(r.over_limit.unwrap_or_default()))
            .build()
    }
}

// ---------------------------------------------------------------------------
// 6. Top customers and most / least popular products

/// Options of [`top_customers`] and [`product_sales`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopOptions {
    /// Rows (customers; products at each end).
    pub limit: u32,
    /// By net sales or by margin (margin needs `fields.margin`).
    pub order: Ranking,
    /// The cost and margin figures the caller may see.
    pub fields: CostFields,
}

impl Default for TopOptions {
    fn default() -> Self {
        TopOptions { limit: 10, order: Ranking::Revenue, fields: CostFields::default() }
    }
}

/// Cost, margin and margin % of a row, as far as the caller may see them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MarginFigures {
    /// Cost of goods sold less the cost returned, in the company currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<String>,
    /// net − cost (rows in the company currency only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub margin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub margin_percent: Option<String>,
    #[serde(skip)]
    pub margin_minor: Option<i64>,
}

impl MarginFigures {
    fn new(sums: &ProfitSums, currency: Currency, company: Currency, fields: CostFields) -> Self {
        let margin = sums.margin(currency, company).filter(|_| fields.margin);
        MarginFigures {
            cost: fields.cost.then(|| format_minor(sums.cost(), company)),
            margin: margin.map(|m| format_minor(m, currency)),
            margin_percent: margin.and_then(|m| percent(m, sums.net())),
            margin_minor: margin,
        }
    }

    /// The ranking key: rows with a margin first, then by margin.
    fn key(&self) -> (bool, i64) {
        (self.margin_minor.is_some(), self.margin_minor.unwrap_or(0))
    }
}

/// One customer's net sales in the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TopCustomerRow {
    pub rank: u32,
    pub account: AccountRef,
    #[schema(value_type = String, example = "EUR")]
    pub currency: Currency,
    pub net: String,
    #[serde(skip)]
    pub net_minor: i64,
    /// Share of the currency's total over all customers in the report's scope, in percent.
    pub share_percent: Option<String>,
    #[serde(flatten)]
    pub margins: MarginFigures,
    pub documents: SalesLinks,
}

/// Report 6a: the best customers by net sales or margin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TopCustomers {
    /// The period covered (`from`, `to`).
    #[serde(flatten)]
    pub period: Period,
    /// `revenue` or `margin`.
    pub order: String,
    pub with_cost: bool,
    pub with_margin: bool,
    pub rows: Vec<TopCustomerRow>,
}

/// Report 6a, *top customers*: the `opts.limit` accounts with the most net
/// sales (or, with `opts.order` margin, the biggest margin) in the period
/// (default this year up to today), per currency, with their share of the
/// total, and their cost and margin as [`profit`] counts them when
/// `opts.fields` allows. Filters: period, account, owner, team, category
/// (then only that category's lines), currency.
pub async fn top_customers(
    tx: &mut Tx,
    tenant_id: i64,
    vis: Visibility,
    filter: &ReportFilter,
    opts: TopOptions,
) -> StoreResult<TopCustomers> {
    let (from, to) = default_period(filter)?;
    let mut f = *filter;
    f.from = Some(from);
    f.to = Some(to);
    // Net, cost and margin from the same sums as the profit report.
    let (src, a) = sales_summary::facts(tx.dialect(), Grain::for_filter(&f), tenant_id, vis, &f, from, to);
    let sql = format!(
        "SELECT x.*, a.public_id, a.name FROM (SELECT s.account_id, s.currency, {SUMMED} FROM ({src}) s \
         GROUP BY s.account_id, s.currency) x JOIN accounts a ON a.tenant_id = $1 AND a.id = x.account_id"
    );
    let mut rows = tx
        .fetch_all(sql, a, |r| {
            Ok((currency_of(r)?, profit_sums(r)?, AccountRef { id: public(r, "public_id")?, name: r.text("name")? }))
        })
        .await?;
    let company = crate::tenants::currency(tx, tenant_id).await?;
    let mut totals: HashMap<&'static str, i64> = HashMap::new();
    for (c, s, _) in &rows {
        *totals.entry(c.code()).or_default() += s.net();
    }
    // Ranked on the sums, so only the rows kept are formatted.
    let key = |(c, sums, _): &(Currency, ProfitSums, AccountRef)| match opts.order {
        Ranking::Margin => {
            let margin = sums.margin(*c, company).filter(|_| opts.fields.margin);
            ((margin.is_some(), margin.unwrap_or(0)), sums.net())
        }
        Ranking::Revenue => ((true, sums.net()), 0),
    };
    rows.sort_by(|a, b| key(b).cmp(&key(a)).then(a.2.name.cmp(&b.2.name)));
    rows.truncate(opts.limit as usize);
    let rows: Vec<TopCustomerRow> = rows
        .into_iter()
        .enumerate()
        .map(|(i, (c, sums, account))| TopCustomerRow {
            rank: i as u32 + 1,
            documents: sales_links(account.id, Some(from), Some(to)),
            account,
            currency: c,
            net: format_minor(sums.net(), c),
            net_minor: sums.net(),
            share_percent: percent(sums.net(), totals.get(c.code()).copied().unwrap_or_default()),
            margins: MarginFigures::new(&sums, c, company, opts.fields),
        })
        .collect();
    Ok(TopCustomers {
        period: Period { from, to },
        order: opts.order.as_str().into(),
        with_cost: opts.fields.cost,
        with_margin: opts.fields.margin,
        rows,
    })
}

impl TopCustomers {
    pub fn table(&self) -> Table {
        Table::of(&self.rows)
            .col("rank", |r| r.rank.to_string())
            .account(|r| &r.account)
            .currency(|r| r.currency)
            .col("net", |r| r.net.clone())
            .col("share_percent", |r| opt(&r.share_percent))
            .col_if(self.with_cost, "cost", |r| opt(&r.margins.cost))
            .col_if(self.with_margin, "margin", |r| opt(&r.margins.margin))
            .col_if(self.with_margin, "margin_percent", |r| opt(&r.margins.margin_percent))
            .build()
    }
}

/// One product's sales in the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ProductSalesRow {
    /// 1 = the most sold (by net sales or margin, as ordered).
    pub rank: u32,
    /// `most` or `least` popular.
    pub group: String,
    #[schema(value_type = String)]
    pub product_id: PublicId,
    pub sku: String,
    pub name: String,
    pub category: Option<String>,
    #[schema(value_type = String, example = "EUR")]
    pub currency: Currency,
    /// Quantity invoiced less quantity credited.
    pub quantity: String,
    pub net: String,
    #[serde(skip)]
    pub net_minor: i64,
    #[serde(flatten)]
    pub margins: MarginFigures,
    /// Documents that sold it.
    pub documents: i64,
}

/// Report 6b: most and least popular products.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ProductSales {
    /// The period covered (`from`, `to`).
    #[serde(flatten)]
    pub period: Period,
    /// `revenue` or `margin`.
    pub order: String,
    pub with_cost: bool,
    pub with_margin: bool,
    /// The `limit` most sold, then the `limit` least sold (active products
    /// that sold nothing included, with 0), without repeats.
    pub rows: Vec<ProductSalesRow>,
}

/// Report 6b, *most and least popular products* by net sales (or, with
/// `opts.order` margin, by margin) in the period (default this year up to
/// today): the first `opts.limit` and the last `opts.limit` of the ranking,
/// where active products that sold nothing rank with 0 (in the tenant's
/// product currency). Cost (recorded on the invoice lines, less what
/// returns gave back) and margin when `opts.fields` allows. Filters:
/// period, account, owner, team (of the buying account), category, currency.
pub async fn product_sales(
    tx: &mut Tx,
    tenant_id: i64,
    vis: Visibility,
    filter: &ReportFilter,
    opts: TopOptions,
) -> StoreResult<ProductSales> {
    let (from, to) = default_period(filter)?;
    let company = crate::tenants::currency(tx, tenant_id).await?;
    // Per product and currency: quantity, the four sums, documents.
    let (src, mut a) = sales_summary::facts(tx.dialect(), Grain::Product, tenant_id, vis, filter, from, to);
    let sold = format!(
        "SELECT s.product_id, s.currency, CAST(SUM(s.quantity_e4) AS BIGINT) AS q, {SUMMED}, \
         CAST(SUM(s.invoices + s.credit_notes) AS BIGINT) AS n FROM ({src}) s WHERE s.product_id <> 0 \
         GROUP BY s.product_id, s.currency"
    );
    let mut cat = String::new();
    if let Some(c) = filter.category_key {
        and_where(&mut cat, &mut a, "p.category_id = $?", c);
    }
    let cur = filter.currency.map(|c| c.code().to_string());
    let cur_cond = match &cur {
        Some(_) => {
            a.push(cur.clone().into());
            format!(" AND p.currency = ${}", a.len())
        }
        None => String::new(),
    };
    let sql = format!(
        "SELECT p.public_id, p.sku, p.name, c.name AS category_name, COALESCE(s.currency, p.currency) AS currency, \
         COALESCE(s.q, 0) AS q, COALESCE(s.inv, 0) AS inv, COALESCE(s.cn, 0) AS cn, COALESCE(s.inv_cost, 0) AS inv_cost, \
         COALESCE(s.cn_cost, 0) AS cn_cost, COALESCE(s.n, 0) AS n FROM products p LEFT JOIN ({sold}) s \
         ON s.product_id = p.id LEFT JOIN product_categories c ON c.tenant_id = p.tenant_id AND c.id = p.category_id \
         WHERE p.tenant_id = $1 AND (s.product_id IS NOT NULL OR (p.active = TRUE{cur_cond})){cat}"
    );
    let mut rows = tx
        .fetch_all(sql, a, |r| {
            let c = currency_of(r)?;
            let sums = ProfitSums {
                invoiced: r.i64("inv")?,
                credited: r.i64("cn")?,
                cost_invoiced: r.i64("inv_cost")?,
                cost_returned: r.i64("cn_cost")?,
            };
            let v = sums.net();
            Ok(ProductSalesRow {
                rank: 0,
                group: String::new(),
                product_id: public(r, "public_id")?,
                sku: r.text("sku")?,
                name: r.text("name")?,
                category: r.opt_text("category_name")?,
                currency: c,
                quantity: format_quantity(r.i64("q")?),
                net: format_minor(v, c),
                net_minor: v,
                margins: MarginFigures::new(&sums, c, company, opts.fields),
                documents: r.i64("n")?,
            })
        })
        .await?;
    let key = |r: &ProductSalesRow| match opts.order {
        Ranking::Margin => (r.margins.key(), r.net_minor),
        Ranking::Revenue => ((true, r.net_minor), 0),
    };
    rows.sort_by(|a, b| key(b).cmp(&key(a)).then(a.sku.cmp(&b.sku)));
    let n = rows.len();
    let limit = opts.limit as usize;
    let mut out = Vec::new();
    for (i, mut r) in rows.into_iter().enumerate() {
        r.rank = i as u32 + 1;
        if i < limit {
            r.group = "most".into();
            out.push(r);
        } else if i + limit >= n {
            r.group = "least".into();
            out.push(r);
        }
    }
    Ok(ProductSales {
        period: Period { from, to },
        order: opts.order.as_str().into(),
        with_cost: opts.fields.cost,
        with_margin: opts.fields.margin,
        rows: out,
    })
}

impl ProductSales {
    pub fn table(&self) -> Table {
        Table::of(&self.rows)
            .col("rank", |r| r.rank.to_string())
            .col("group", |r| r.group.clone())
            .col("sku", |r| r.sku.clone())
            .col("product", |r| r.name.clone())
            .col("product_id", |r| r.product_id.to_string())
            .col("category", |r| opt(&r.category))
            .currency(|r| r.currency)
            .col("quantity", |r| r.quantity.clone())
            .col("net", |r| r.net.clone())
            .col_if(self.with_cost, "cost", |r| opt(&r.margins.cost))
            .col_if(self.with_margin, "margin", |r| opt(&r.margins.margin))
            .col_if(self.with_margin, "margin_percent", |r| opt(&r.margins.margin_percent))
            .col("documents", |r| r.documents.to_string())
            .build()
    }
}

// ---------------------------------------------------------------------------
// 7. Days to pay

/// How fast one customer pays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DaysToPayRow {
    pub account: AccountRef,
    /// Invoices fully paid, issued in the period.
    pub paid_invoices: i64,
    /// Average days from the invoice date to the day it became fully paid (one decimal).
    pub average_days: String,
    /// Average days from the due date to that day (negative: early).
    pub average_days_late: Option<String>,
    #[serde(skip)]
    pub average_days_e1: i64,
    pub documents: String,
}

/// Report 7: days to pay per customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DaysToPay {
    /// The period covered (`from`, `to`).
    #[serde(flatten)]
    pub period: Period,
    /// Slowest payers first.
    pub rows: Vec<DaysToPayRow>,
}

/// `b − a` in days, for two DATE columns, in each engine's words.
fn days_between(dialect: Dialect, a: &str, b: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("CAST(julianday({b}) - julianday({a}) AS BIGINT)"),
        Dialect::Postgres => format!("CAST({b} - {a} AS BIGINT)"),
    }
}

/// Report 7, *days to pay*: per account, over the invoices with a document
/// date in the period (default the last 365 days) that are fully paid, the
/// average number of days from the invoice date to the date it became fully
/// paid (the latest allocation of a payment or credit note to it), and the
/// average days past the due date. Filters: period, account, owner, team,
/// currency.
pub async fn days_to_pay(
    tx: &mut Tx,
    tenant_id: i64,
    vis: Visibility,
    filter: &ReportFilter,
) -> StoreResult<DaysToPay> {
    let to = filter.to.unwrap_or_else(|| crate::db::now().date());
    let from = filter.from.unwrap_or(to - Duration::days(365));
    let mut a = args![tenant_id, from, to];
    let mut src = String::from(
        "FROM documents d JOIN allocations al ON al.tenant_id = d.tenant_id AND al.invoice_id = d.id \
         WHERE d.tenant_id = $1 AND d.doc_type = 'invoice' AND d.status = 'paid' AND d.doc_date >= $2 AND d.doc_date <= $3",
    );
    if let Some(c) = filter.currency {
        and_where(&mut src, &mut a, "d.currency = $?", c.code());
    }
    push_accounts(&mut src, &mut a, "d.account_id", vis, filter);
    let dialect = tx.dialect();
    let sql = format!(
        "SELECT s.account_id, s.n, s.days, s.late, s.with_due, a.public_id, a.name FROM (SELECT x.account_id, COUNT(*) AS n, \
         CAST(SUM({}) AS BIGINT) AS days, CAST(SUM(CASE WHEN x.due_date IS NULL THEN 0 ELSE {} END) AS BIGINT) AS late, \
         CAST(SUM(CASE WHEN x.due_date IS NULL THEN 0 ELSE 1 END) AS BIGINT) AS with_due FROM (SELECT d.id, d.account_id, \
         d.doc_date, d.due_date, MAX(al.allocated_on) AS paid_on {src} GROUP BY d.id, d.account_id, d.doc_date, \
         d.due_date) x GROUP BY x.account_id) s JOIN accounts a ON a.tenant_id = $1 AND a.id = s.account_id",
        days_between(dialect, "x.doc_date", "x.paid_on"),
        days_between(dialect, "x.due_date", "x.paid_on"),
    );
    let mut rows = tx
        .fetch_all(sql, a, |r| {
            let account = AccountRef { id: public(r, "public_id")?, name: r.text("name")? };
            let (n, days, late, with_due) = (r.i64("n")?, r.i64("days")?, r.i64("late")?, r.i64("with_due")?);
            let avg = average(days, n).unwrap_or_default();
            Ok(DaysToPayRow {
                documents: documents_link("invoices", account.id, Some(from), Some(to), "&status=paid"),
                account,
                paid_invoices: n,
                average_days_e1: (Decimal::from_str_exact(&avg).unwrap_or_default() * Decimal::from(10))
                    .trunc()
                    .try_into()
                    .unwrap_or_default(),
                average_days: avg,
                average_days_late: average(late, with_due),
            })
        })
        .await?;
    rows.sort_by(|a, b| b.average_days_e1.cmp(&a.average_days_e1).then(a.account.name.cmp(&b.account.name)));
    Ok(DaysToPay { period: Period { from, to }, rows })
}

impl DaysToPay {
    pub fn table(&self) -> Table {
        Table::of(&self.rows)
            .account(|r| &r.account)
            .col("paid_invoices", |r| r.paid_invoices.to_string())
            .col("average_days", |r| r.average_days.clone())
            .col("average_days_late", |r| opt(&r.average_days_late))
            .build()
    }
}

// ---------------------------------------------------------------------------
// 8. Pipeline forecast vs won

/// One month and owner of the pipeline, in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PipelineRow {
    /// `YYYY-MM`.
    pub month: String,
    #[schema(value_type = Option<String>)]
    pub owner_id: Option<PublicId>,
    pub owner: String,
    #[schema(value_type = String, example = "EUR")]
    pub currency: Currency,
    /// Open opportunities expected to close in the month.
    pub open_count: i64,
    pub open_amount: String,
    /// Σ amount × stage probability, rounded per opportunity.
    pub weighted: String,
    /// Opportunities won (closed) in the month.
    pub won_count: i64,
    pub won_amount: String,
    /// open amount, weighted, won amount.
    #[serde(skip)]
    pub minor: [i64; 3],
    pub documents: String,
}

/// Report 8: the weighted pipeline against what was won.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PipelineVsWon {
    /// The period covered (`from`, `to`).
    #[serde(flatten)]
    pub period: Period,
    /// By month, then owner, then currency.
    pub rows: Vec<PipelineRow>,
}

/// Report 8, *pipeline forecast vs won*: per month, owner and currency, the
/// open opportunities expected to close in the month with their amount and
/// weighted amount (amount × probability, rounded per opportunity as in
/// `nave_domain::forecast`), against the opportunities won in that month
/// (closed in a won stage, by close time in UTC). Period default: this year.
/// Filters: period, account, owner, team (of the opportunity), currency;
/// scope: the opportunities the caller may see (`vis` of opportunities).
pub async fn pipeline_vs_won(
    tx: &mut Tx,
    tenant_id: i64,
    vis: Visibility,
    filter: &ReportFilter,
) -> StoreResult<PipelineVsWon> {
    let to = filter.to.unwrap_or(date(crate::db::now().year(), Month::December, 31)?);
    let from = filter.from.unwrap_or(date(to.year(), Month::January, 1)?);
    let start = OffsetDateTime::new_utc(from, Time::MIDNIGHT);
    let end = OffsetDateTime::new_utc(to + Duration::days(1), Time::MIDNIGHT);
    let mut a = args![tenant_id, from, to, start, end];
    let mut sql = String::from(
        "SELECT s.kind, o.expected_close, o.closed_at, o.owner_id, u.public_id AS owner_public_id, u.name AS owner_name, \
         o.currency, o.amount_minor, o.probability FROM opportunities o JOIN pipeline_stages s ON s.tenant_id = o.tenant_id \
         AND s.id = o.stage_id LEFT JOIN users u ON u.tenant_id = o.tenant_id AND u.id = o.owner_id WHERE o.tenant_id = $1 \
         AND ((s.kind = 'open' AND o.expected_close >= $2 AND o.expected_close <= $3) OR (s.kind = 'won' AND \
         o.closed_at >= $4 AND o.closed_at < $5))",
    );
    vis.push_on("o.owner_id", "o.team_id", &mut sql, &mut a);
    if let Some(k) = filter.account_key {
        and_where(&mut sql, &mut a, "o.account_id = $?", k);
    }
    if let Some(k) = filter.owner_key {
        and_where(&mut sql, &mut a, "o.owner_id = $?", k);
    }
    if let Some(k) = filter.team_key {
        and_where(&mut sql, &mut a, "o.team_id = $?", k);
    }
    if let Some(c) = filter.currency {
        and_where(&mut sql, &mut a, "o.currency = $?", c.code());
    }
    type Key = (YearMonth, String, &'static str);
    let mut by: BTreeMap<Key, (Option<PublicId>, Currency, [i64; 5])> = BTreeMap::new();
    let items = tx
        .fetch_all(sql, a, |r| {
            let won = r.text("kind")? == "won";
            let month = if won {
                r.opt_ts("closed_at")?.map(|t| YearMonth::of(t.to_offset(time::UtcOffset::UTC).date()))
            } else {
                r.opt_date("expected_close")?.map(YearMonth::of)
            };
            Ok((
                won,
                month.ok_or_else(|| StoreError::Decode("opportunity month".into()))?,
                r.opt_uuid("owner_public_id")?.map(PublicId::from_uuid),
                r.opt_text("owner_name")?.unwrap_or_else(|| "(nobody)".into()),
                currency_of(r)?,
                r.i64("amount_minor")?,
                r.i64("probability")?,
            ))
        })
        .await?;
    for (won, month, owner_id, owner, c, amount, prob) in items {
        let e = by.entry((month, owner, c.code())).or_insert((owner_id, c, [0; 5]));
        if won {
            e.2[3] += 1;
            e.2[4] += amount;
        } else {
            e.2[0] += 1;
            e.2[1] += amount;
            e.2[2] += weighted_minor(amount, prob);
        }
    }
    let rows = by
        .into_iter()
        .map(|((month, owner, _), (owner_id, c, m))| PipelineRow {
            month: month.to_string(),
            documents: match owner_id {
                Some(o) => format!("/api/v1/opportunities?owner_id={o}"),
                None => "/api/v1/opportunities".to_string(),
            },
            owner_id,
            owner,
            currency: c,
            open_count: m[0],
            open_amount: format_minor(m[1], c),
            weighted: format_minor(m[2], c),
            won_count: m[3],
            won_amount: format_minor(m[4], c),
            minor: [m[1], m[2], m[4]],
        })
        .collect();
    Ok(PipelineVsWon { period: Period { from, to }, rows })
}

impl PipelineVsWon {
    pub fn table(&self) -> Table {
        Table::of(&self.rows)
            .col("month", |r| r.month.clone())
            .col("owner", |r| r.owner.clone())
            .currency(|r| r.currency)
            .col("open_count", |r| r.open_count.to_string())
            .col("open_amount", |r| r.open_amount.clone())
            .col("weighted", |r| r.weighted.clone())
            .col("won_count", |r| r.won_count.to_string())
            .col("won_amount", |r| r.won_amount.clone())
            .build()
    }
}

// ---------------------------------------------------------------------------
// 9. Service

/// Service figures of one account or product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ServiceRow {
    /// `account` or `product`.
    pub group: String,
    #[schema(value_type = Option<String>)]
    pub id: Option<PublicId>,
    pub name: String,
    /// Cases opened in the period.
    pub opened: i64,
    /// Cases closed in the period.
    pub closed: i64,
    /// Complaints (kind `complaint`) opened in the period.
    pub complaints: i64,
    /// Average first-response time of the cases opened in the period, in
    /// seconds (those answered).
    pub average_first_response_seconds: Option<i64>,
    /// Average resolution time of the cases opened in the period, in seconds
    /// (those resolved).
    pub average_resolution_seconds: Option<i64>,
    /// Average satisfaction (1–5, one decimal) of the cases opened in the period that have one.
    pub average_satisfaction: Option<String>,
    pub documents: String,
}

/// Report 9: service per account and per product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Service {
    /// The period covered (`from`, `to`).
    #[serde(flatten)]
    pub period: Period,
    /// Accounts (most opened first), then products (most opened first).
    pub rows: Vec<ServiceRow>,
}

#[derive(Default)]
struct ServiceSums {
    id: Option<PublicId>,
    name: String,
    opened: i64,
    closed: i64,
    complaints: i64,
    first: (i64, i64),
    resolution: (i64, i64),
    satisfaction: (i64, i64),
}

/// Report 9, *service*: per account and per product (of the case), the
/// cases opened and closed in the period (default this year up to today, by
/// UTC time), complaints opened, and over the cases opened in the period the
/// average first-response and resolution times (seconds, rounded down) and
/// the average satisfaction. Scope: the cases the caller may see (`vis` of
/// cases: their assignee and team). Filters: period, account, owner and team
/// (of the case), category (of the case's product).
pub async fn service(tx: &mut Tx, tenant_id: i64, vis: Visibility, filter: &ReportFilter) -> StoreResult<Service> {
    let (from, to) = default_period(filter)?;
    let start = OffsetDateTime::new_utc(from, Time::MIDNIGHT);
    let end = OffsetDateTime::new_utc(to + Duration::days(1), Time::MIDNIGHT);
    let mut a = args![tenant_id, start, end];
    let mut sql = String::from(
        "SELECT c.kind, c.created_at, c.closed_at, c.first_response_seconds, c.resolution_seconds, c.satisfaction, \
         a.public_id AS account_public_id, a.name AS account_name, p.public_id AS product_public_id, p.name AS product_name \
         FROM cases c JOIN accounts a ON a.tenant_id = c.tenant_id AND a.id = c.account_id \
         LEFT JOIN products p ON p.tenant_id = c.tenant_id AND p.id = c.product_id WHERE c.tenant_id = $1 \
         AND ((c.created_at >= $2 AND c.created_at < $3) OR (c.closed_at >= $2 AND c.closed_at < $3))",
    );
    vis.push_on("c.assignee_id", "c.team_id", &mut sql, &mut a);
    if let Some(k) = filter.account_key {
        and_where(&mut sql, &mut a, "c.account_id = $?", k);
    }
    if let Some(k) = filter.owner_key {
        and_where(&mut sql, &mut a, "c.assignee_id = $?", k);
    }
    if let Some(k) = filter.team_key {
        and_where(&mut sql, &mut a, "c.team_id = $?", k);
    }
    if let Some(k) = filter.category_key {
        and_where(&mut sql, &mut a, "p.category_id = $?", k);
    }
    let cases = tx
        .fetch_all(sql, a, |r| {
            Ok((
                r.text("kind")?,
                r.ts("created_at")?,
                r.opt_ts("closed_at")?,
                r.opt_i64("first_response_seconds")?,
                r.opt_i64("resolution_seconds")?,
                r.opt_i64("satisfaction")?,
                (public(r, "account_public_id")?, r.text("account_name")?),
                r.opt_uuid("product_public_id")?.map(PublicId::from_uuid).zip(r.opt_text("product_name")?),
            ))
        })
        .await?;
    let mut accounts: BTreeMap<PublicId, ServiceSums> = BTreeMap::new();
    let mut products: BTreeMap<PublicId, ServiceSums> = BTreeMap::new();
    for (kind, created, closed, first, resolution, sat, account, product) in cases {
        let opened_in = created >= start && created < end;
        let closed_in = closed.is_some_and(|t| t >= start && t < end);
        let mut groups = vec![(&mut accounts, account)];
        if let Some(p) = product {
            groups.push((&mut products, p));
        }
        for (map, (id, name)) in groups {
            let s = map.entry(id).or_insert_with(|| ServiceSums { id: Some(id), name, ..Default::default() });
            if closed_in {
                s.closed += 1;
            }
            if !opened_in {
                continue;
            }
            s.opened += 1;
            if kind == "complaint" {
                s.complaints += 1;
            }
            let add = |pair: &mut (i64, i64), v: Option<i64>| {
                if let Some(v) = v {
                    pair.0 += v;
                    pair.1 += 1;
                }
            };
            add(&mut s.first, first);
            add(&mut s.resolution, resolution);
            add(&mut s.satisfaction, sat);
        }
    }
    let finish = |group: &str, map: BTreeMap<PublicId, ServiceSums>| {
        let mut v: Vec<ServiceRow> = map
            .into_values()
            .map(|s| ServiceRow {
                group: group.to_string(),
                documents: match (group, s.id) {
                    ("account", Some(id)) => format!("/api/v1/accounts/{id}/cases"),
                    (_, Some(id)) => format!("/api/v1/cases?product_id={id}"),
                    _ => "/api/v1/cases".into(),
                },
                id: s.id,
                name: s.name,
                opened: s.opened,
                closed: s.closed,
                complaints: s.complaints,
                average_first_response_seconds: (s.first.1 > 0).then(|| s.first.0 / s.first.1),
                average_resolution_seconds: (s.resolution.1 > 0).then(|| s.resolution.0 / s.resolution.1),
                average_satisfaction: average(s.satisfaction.0, s.satisfaction.1),
            })
            .collect();
        v.sort_by(|a, b| b.opened.cmp(&a.opened).then(a.name.cmp(&b.name)));
        v
    };
    let mut rows = finish("account", accounts);
    rows.extend(finish("product", products));
    Ok(Service { period: Period { from, to }, rows })
}

impl Service {
    pub fn table(&self) -> Table {
        let num = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
        Table::of(&self.rows)
            .col("group", |r| r.group.clone())
            .col("name", |r| r.name.clone())
            .col("id", |r| r.id.map(|i| i.to_string()).unwrap_or_default())
            .col("opened", |r| r.opened.to_string())
            .col("closed", |r| r.closed.to_string())
            .col("complaints", |r| r.complaints.to_string())
            .col("average_first_response_seconds", move |r| num(r.average_first_response_seconds))
            .col("average_resolution_seconds", move |r| num(r.average_resolution_seconds))
            .col("average_satisfaction", |r| opt(&r.average_satisfaction))
            .build()
    }
}

// ---------------------------------------------------------------------------
// 10. Profit contribution

/// What a profit report groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfitBy {
    Customer,
    Product,
    /// Product category (product line).
    Category,
    /// The sales order the invoices were made from (credit notes through
    /// their invoice).
    SalesOrder,
}

impl ProfitBy {
    pub fn as_str(self) -> &'static str {
        match self {
            ProfitBy::Customer => "customer",
            ProfitBy::Product => "product",
            ProfitBy::Category => "category",
            ProfitBy::SalesOrder => "sales_order",
        }
    }
}

/// How rows are ranked: by net revenue or by margin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ranking {
    #[default]
    Revenue,
    /// Needs `with_margin`; rows without a margin (in another currency than
    /// the company's) come after those with one.
    Margin,
}

impl Ranking {
    pub fn as_str(self) -> &'static str {
        match self {
            Ranking::Revenue => "revenue",
            Ranking::Margin => "margin",
        }
    }
}

/// What the caller may see of cost and margin (field security: the
/// `cost` and `margin` fields of invoices).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CostFields {
    /// Cost of goods sold and the cost returned.
    pub cost: bool,
    /// Margin and margin %.
    pub margin: bool,
}

/// Options of [`profit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfitOptions {
    pub by: ProfitBy,
    pub order: Ranking,
    /// At most this many rows (the totals cover every row).
    pub limit: u32,
    pub fields: CostFields,
}

/// The sums of one group in one currency, in minor units: invoiced net,
/// credited net, cost of goods invoiced (company currency), cost given back
/// by returns to stock (company currency).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProfitSums {
    pub invoiced: i64,
    pub credited: i64,
    pub cost_invoiced: i64,
    pub cost_returned: i64,
}

impl ProfitSums {
    /// Net revenue: invoiced − credited.
    pub fn net(&self) -> i64 {
        self.invoiced - self.credited
    }

    /// Net cost of goods sold: invoiced − returned.
    pub fn cost(&self) -> i64 {
        self.cost_invoiced - self.cost_returned
    }

    /// Net revenue − net cost, when the revenue is in the company currency
    /// (the cost's); `None` otherwise: amounts of two currencies are never
    /// subtracted.
    pub fn margin(&self, currency: Currency, company: Currency) -> Option<i64> {
        (currency == company).then(|| self.net() - self.cost())
    }

    fn add(&mut self, o: &ProfitSums) {
        self.invoiced += o.invoiced;
        self.credited += o.credited;
        self.cost_invoiced += o.cost_invoiced;
        self.cost_returned += o.cost_returned;
    }
}

/// Revenue, cost and margin figures as the JSON shows them; cost and margin
/// are absent when the caller may not see them (or, for margins, when the
/// revenue is in another currency than the cost).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ProfitFigures {
    #[schema(value_type = String, example = "EUR")]
    pub currency: Currency,
    /// Net invoiced (tax and shipping excluded).
    pub invoiced: String,
    /// Net of the credit notes.
    pub credited: String,
    /// invoiced − credited.
    pub net: String,
    /// Cost of goods sold: recorded on the invoice lines at issue, less what
    /// returns to stock gave back; in the company currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<String>,
    /// The part of the cost given back by credit notes returning goods to stock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_returned: Option<String>,
    /// net − cost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub margin: Option<String>,
    /// margin ÷ net × 100, one decimal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub margin_percent: Option<String>,
    #[serde(skip)]
    pub sums: ProfitSums,
    /// The margin in minor units, when shown.
    #[serde(skip)]
    pub margin_minor: Option<i64>,
}

impl ProfitFigures {
    fn new(sums: ProfitSums, currency: Currency, company: Currency, fields: CostFields) -> Self {
        let margin = sums.margin(currency, company).filter(|_| fields.margin);
        ProfitFigures {
            currency,
            invoiced: format_minor(sums.invoiced, currency),
            credited: format_minor(sums.credited, currency),
            net: format_minor(sums.net(), currency),
            cost: fields.cost.then(|| format_minor(sums.cost(), company)),
            cost_returned: fields.cost.then(|| format_minor(sums.cost_returned, company)),
            margin: margin.map(|m| format_minor(m, currency)),
            margin_percent: margin.and_then(|m| percent(m, sums.net())),
            sums,
            margin_minor: margin,
        }
    }
}

/// One customer, product, category or sales order, in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ProfitRow {
    /// The account, product, category or sales order (absent: lines without
    /// a product, products without a category, invoices without an order).
    #[schema(value_type = Option<String>)]
    pub id: Option<PublicId>,
    /// Its name (a sales order: its number).
    pub name: String,
    /// A product's SKU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// A sales order's account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountRef>,
    #[serde(flatten)]
    pub figures: ProfitFigures,
    /// Invoices and credit notes behind the figures.
    pub invoices: i64,
    pub credit_notes: i64,
    /// Drill-down: where the documents behind the row are.
    pub documents: String,
}

/// Report 10: profit contribution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Profit {
    #[serde(flatten)]
    pub period: Period,
    /// `customer`, `product`, `category` or `sales_order`.
    pub by: String,
    /// `revenue` or `margin`: what ranks the rows, biggest first.
    pub order: String,
    /// The currency of every cost; margins are given for rows in it.
    #[schema(value_type = String, example = "EUR")]
    pub company_currency: Currency,
    /// Whether cost and margin figures are in (field security).
    pub with_cost: bool,
    pub with_margin: bool,
    pub rows: Vec<ProfitRow>,
    /// Per currency, over every row (also those past the limit).
    pub totals: Vec<ProfitFigures>,
}

/// Per group key (None: no product / category / order) and currency: the sums,
/// invoices and credit notes.
type ProfitGroups = Vec<(Option<i64>, Currency, ProfitSums, i64, i64)>;

/// The one aggregation of the profit figures: over the lines (shipping and
/// comments left out) of invoices and credit notes counted as sales in the
/// period, grouped by `by` and currency.
async fn profit_groups(
    tx: &mut Tx,
    tenant_id: i64,
    vis: Visibility,
    filter: &ReportFilter,
    from: Date,
    to: Date,
    by: ProfitBy,
) -> StoreResult<ProfitGroups> {
    // The summaries have every figure and the documents' counts; per product
    // not by category, and per sales order never: those are summed from the
    // lines.
    let summary = match by {
        ProfitBy::Customer => Some((Grain::for_filter(filter), "s.account_id")),
        ProfitBy::Category => Some((Grain::Category, "NULLIF(s.category_id, 0)")),
        ProfitBy::Product if filter.category_key.is_none() => Some((Grain::Product, "NULLIF(s.product_id, 0)")),
        ProfitBy::Product | ProfitBy::SalesOrder => None,
    };
    if let Some((grain, key)) = summary {
        let (src, a) = sales_summary::facts(tx.dialect(), grain, tenant_id, vis, filter, from, to);
        let sql = format!(
            "SELECT {key} AS k, s.currency, {SUMMED}, CAST(SUM(s.invoices) AS BIGINT) AS n_inv, \
             CAST(SUM(s.credit_notes) AS BIGINT) AS n_cn FROM ({src}) s GROUP BY {key}, s.currency"
        );
        return tx
            .fetch_all(sql, a, |r| {
                Ok((r.opt_i64("k")?, currency_of(r)?, profit_sums(r)?, r.i64("n_inv")?, r.i64("n_cn")?))
            })
            .await;
    }
    let mut a = args![tenant_id, from, to];
    let mut src = format!(
        "FROM documents d JOIN document_lines l ON l.tenant_id = d.tenant_id AND l.document_id = d.id \
         LEFT JOIN products p ON p.tenant_id = l.tenant_id AND p.id = l.product_id \
         WHERE d.tenant_id = $1 AND {SOLD} AND d.doc_date >= $2 AND d.doc_date <= $3 \
         AND l.kind NOT IN ('shipping', 'comment')"
    );
    if let Some(c) = filter.category_key {
        and_where(&mut src, &mut a, "p.category_id = $?", c);
    }
    if let Some(c) = filter.currency {
        and_where(&mut src, &mut a, "d.currency = $?", c.code());
    }
    push_accounts(&mut src, &mut a, "d.account_id", vis, filter);
    let key = match by {
        ProfitBy::Customer => "d.account_id",
        ProfitBy::Product => "l.product_id",
        ProfitBy::Category => "p.category_id",
        // An invoice's order is its origin; a credit note's, its invoice's origin.
        ProfitBy::SalesOrder => {
            "CASE WHEN d.doc_type = 'invoice' THEN d.origin_id ELSE (SELECT i.origin_id FROM documents i \
             WHERE i.tenant_id = d.tenant_id AND i.id = d.origin_id) END"
        }
    };
    let when = |t: &str, v: &str| format!("CAST(SUM(CASE WHEN x.doc_type = '{t}' THEN {v} ELSE 0 END) AS BIGINT)");
    let count = |t: &str| format!("COUNT(DISTINCT CASE WHEN x.doc_type = '{t}' THEN x.doc_id END)");
    let sql = format!(
        "SELECT x.k, x.currency, {} AS inv, {} AS cn, {} AS inv_cost, {} AS cn_cost, {} AS n_inv, {} AS n_cn \
         FROM (SELECT {key} AS k, d.currency, d.doc_type, d.id AS doc_id, l.taxable_base_minor AS base, \
         COALESCE(l.cost_minor, 0) AS cost {src}) x GROUP BY x.k, x.currency",
        when("invoice", "x.base"),
        when("credit_note", "x.base"),
        when("invoice", "x.cost"),
        when("credit_note", "x.cost"),
        count("invoice"),
        count("credit_note"),
    );
    tx.fetch_all(sql, a, |r| Ok((r.opt_i64("k")?, currency_of(r)?, profit_sums(r)?, r.i64("n_inv")?, r.i64("n_cn")?)))
        .await
}

/// The four sums of summary rows `s` (see [`sales_summary::facts`]), as the
/// columns [`profit_sums`] reads.
const SUMMED: &str = "CAST(SUM(s.invoiced_minor) AS BIGINT) AS inv, CAST(SUM(s.credited_minor) AS BIGINT) AS cn, \
     CAST(SUM(s.cost_invoiced_minor) AS BIGINT) AS inv_cost, CAST(SUM(s.cost_returned_minor) AS BIGINT) AS cn_cost";

/// The four sums of a row with the columns `inv`, `cn`, `inv_cost`, `cn_cost`.
fn profit_sums(r: &dyn DbRow) -> StoreResult<ProfitSums> {
    Ok(ProfitSums {
        invoiced: r.i64("inv")?,
        credited: r.i64("cn")?,
        cost_invoiced: r.i64("inv_cost")?,
        cost_returned: r.i64("cn_cost")?,
    })
}

/// Who a group is about: (public id, name, SKU, account).
type Subject = (PublicId, String, Option<String>, Option<AccountRef>);

/// The subjects of the group keys.
type Subjects = HashMap<i64, Subject>;

/// Per subject (None: none) and currency: the sums, invoices and credit notes.
type MergedGroups = BTreeMap<(Option<PublicId>, &'static str), (ProfitSums, Currency, i64, i64)>;

async fn profit_subjects(tx: &mut Tx, tenant_id: i64, by: ProfitBy, keys: &[i64]) -> StoreResult<Subjects> {
    let mut out = Subjects::new();
    // In chunks, so no statement carries too many parameters.
    for chunk in keys.chunks(500) {
        let mut a = args![tenant_id];
        let list = chunk
            .iter()
            .map(|k| {
                a.push((*k).into());
                format!("${}", a.len())
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = match by {
            ProfitBy::Customer => format!(
                "SELECT x.id, x.public_id, x.name, NULL AS sku, NULL AS account_public_id, NULL AS account_name \
                 FROM accounts x WHERE x.tenant_id = $1 AND x.id IN ({list})"
            ),
            ProfitBy::Product => format!(
                "SELECT x.id, x.public_id, x.name, x.sku, NULL AS account_public_id, NULL AS account_name \
                 FROM products x WHERE x.tenant_id = $1 AND x.id IN ({list})"
            ),
            ProfitBy::Category => format!(
                "SELECT x.id, x.public_id, x.name, NULL AS sku, NULL AS account_public_id, NULL AS account_name \
                 FROM product_categories x WHERE x.tenant_id = $1 AND x.id IN ({list})"
            ),
            ProfitBy::SalesOrder => format!(
                "SELECT x.id, x.public_id, COALESCE(x.number, '(draft)') AS name, NULL AS sku, \
                 a.public_id AS account_public_id, a.name AS account_name FROM documents x \
                 JOIN accounts a ON a.tenant_id = x.tenant_id AND a.id = x.account_id \
                 WHERE x.tenant_id = $1 AND x.doc_type = 'sales_order' AND x.id IN ({list})"
            ),
        };
        let rows = tx
            .fetch_all(sql, a, |r| {
                let account = match r.opt_uuid("account_public_id")? {
                    Some(u) => Some(AccountRef { id: PublicId::from_uuid(u), name: r.text("account_name")? }),
                    None => None,
                };
                Ok((r.i64("id")?, (public(r, "public_id")?, r.text("name")?, r.opt_text("sku")?, account)))
            })
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

/// Report 10, *profit contribution*: per customer, product, product
/// category or sales order (`opts.by`) and currency, in the period (default
/// this year up to today, by document date), the net invoiced and credited
/// (the lines' taxable bases, as in the sales reports), the cost of goods
/// sold recorded on the invoice lines at issue less the cost that credit
/// notes returning goods to stock gave back, and the margin (net − cost)
/// with its percent of the net. Cost is in the company currency; margins
/// are given for rows in it only. Cost and margin figures are absent unless
/// `opts.fields` allows them. Rows ranked by `opts.order`, at most
/// `opts.limit`; `totals` per currency cover every row. Filters: period,
/// account, owner, team, category, currency.
pub async fn profit(
    tx: &mut Tx,
    tenant_id: i64,
    vis: Visibility,
    filter: &ReportFilter,
    opts: ProfitOptions,
) -> StoreResult<Profit> {
    let (from, to) = default_period(filter)?;
    let company = crate::tenants::currency(tx, tenant_id).await?;
    let groups = profit_groups(tx, tenant_id, vis, filter, from, to, opts.by).await?;
    let keys: Vec<i64> = groups.iter().filter_map(|g| g.0).collect::<BTreeSet<_>>().into_iter().collect();
    let subjects = profit_subjects(tx, tenant_id, opts.by, &keys).await?;
    // Lines without a subject (and keys that are not one, e.g. an invoice
    // from something else than a sales order) make one row per currency.
    let mut merged = MergedGroups::new();
    let mut totals: BTreeMap<&'static str, (ProfitSums, Currency)> = BTreeMap::new();
    for (k, c, sums, n_inv, n_cn) in groups {
        let id = k.and_then(|k| subjects.get(&k)).map(|s| s.0);
        let e = merged.entry((id, c.code())).or_insert((ProfitSums::default(), c, 0, 0));
        e.0.add(&sums);
        e.2 += n_inv;
        e.3 += n_cn;
        totals.entry(c.code()).or_insert((ProfitSums::default(), c)).0.add(&sums);
    }
    let by_id: HashMap<PublicId, &Subject> = subjects.values().map(|s| (s.0, s)).collect();
    let period = Period { from, to };
    let mut rows: Vec<ProfitRow> = merged
        .into_iter()
        .map(|((id, _), (sums, c, invoices, credit_notes))| {
            let subject = id.and_then(|i| by_id.get(&i));
            let name = match (subject, opts.by) {
                (Some(s), _) => s.1.clone(),
                (None, ProfitBy::Customer) => "(no account)".into(),
                (None, ProfitBy::Product) => "(no product)".into(),
                (None, ProfitBy::Category) => "(no category)".into(),
                (None, ProfitBy::SalesOrder) => "(no sales order)".into(),
            };
            ProfitRow {
                documents: profit_link(opts.by, id, period),
                id,
                name,
                sku: subject.and_then(|s| s.2.clone()),
                account: subject.and_then(|s| s.3.clone()),
                figures: ProfitFigures::new(sums, c, company, opts.fields),
                invoices,
                credit_notes,
            }
        })
        .collect();
    let ranked = |r: &ProfitRow| match opts.order {
        Ranking::Margin => {
            (r.figures.margin_minor.is_some(), r.figures.margin_minor.unwrap_or(0), r.figures.sums.net())
        }
        Ranking::Revenue => (true, r.figures.sums.net(), 0),
    };
    rows.sort_by(|a, b| ranked(b).cmp(&ranked(a)).then(a.name.cmp(&b.name)));
    rows.truncate(opts.limit as usize);
    Ok(Profit {
        period,
        by: opts.by.as_str().into(),
        order: opts.order.as_str().into(),
        company_currency: company,
        with_cost: opts.fields.cost,
        with_margin: opts.fields.margin,
        rows,
        totals: totals.into_values().map(|(s, c)| ProfitFigures::new(s, c, company, opts.fields)).collect(),
    })
}

/// The drill-down of a profit row.
fn profit_link(by: ProfitBy, id: Option<PublicId>, p: Period) -> String {
    match (by, id) {
        (ProfitBy::Customer, Some(a)) => documents_link("invoices", a, Some(p.from), Some(p.to), ""),
        (ProfitBy::Product, Some(x)) => format!("/api/v1/products/{x}"),
        (ProfitBy::Category, Some(x)) => format!("/api/v1/products?category_id={x}"),
        (ProfitBy::SalesOrder, Some(x)) => format!("/api/v1/sales-orders/{x}"),
        _ => format!("/api/v1/invoices?from={}&to={}", iso(p.from), iso(p.to)),
    }
}

impl Profit {
    pub fn table(&self) -> Table {
        let (cost, margin) = (self.with_cost, self.with_margin);
        let by = self.by.as_str();
        fn f(r: &ProfitRow) -> &ProfitFigures {
            &r.figures
        }
        Table::of(&self.rows)
            .col(by, |r| r.name.clone())
            .col("id", |r| r.id.map(|i| i.to_string()).unwrap_or_default())
            .col_if(by == "product", "sku", |r| opt(&r.sku))
            .col_if(by == "sales_order", "account", |r| r.account.as_ref().map(|a| a.name.clone()).unwrap_or_default())
            .currency(move |r| f(r).currency)
            .col("invoiced", move |r| f(r).invoiced.clone())
            .col("credited", move |r| f(r).credited.clone())
            .col("net", move |r| f(r).net.clone())
            .col_if(cost, "cost", move |r| opt(&f(r).cost))
            .col_if(cost, "cost_returned", move |r| opt(&f(r).cost_returned))
            .col_if(margin, "margin", move |r| opt(&f(r).margin))
            .col_if(margin, "margin_percent", move |r| opt(&f(r).margin_percent))
            .col("invoices", |r| r.invoices.to_string())
            .col("credit_notes", |r| r.credit_notes.to_string())
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percents_and_averages_round_half_away_from_zero_to_one_decimal() {
        assert_eq!(percent(1, 3).as_deref(), Some("33.3"));
        assert_eq!(percent(-1, 8).as_deref(), Some("-12.5"));
        assert_eq!(percent(5, 0), None);
        assert_eq!(average(5, 2).as_deref(), Some("2.5"));
        assert_eq!(average(1, 0), None);
    }
}
