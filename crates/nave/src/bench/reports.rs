//! `reports`: the sales reports of `nave_store::reports` on a large generated
//! company, each against hand-written SQL for the same figures on the same
//! database in the same run (over the documents and their lines: the
//! reports read the sales summaries, so the reference is also what a report
//! would cost without them): sales by account by year, sales by product
//! line per account, receivables aging, top customers (by net sales and by
//! margin), profit contribution per customer and per product, and payables
//! aging. Each is run a few times (after one warm-up) and its median kept;
//! the report's figures are compared with the reference's and a difference
//! fails the run. The generated documents are in EUR, made the company
//! currency here, so margins are figured.

use std::time::Instant;

use clap::Args;
use nave_store::accounts::Visibility;
use nave_store::args;
use nave_store::db::{Db, Tx};
use nave_store::reports::{
    self, CostFields, CrossSellOptions, ProfitBy, ProfitOptions, Ranking, ReportFilter, SalesByAccountOptions,
    TopOptions,
};
use nave_store::tenants::DEFAULT_TENANT;
use serde_json::{Value, json};
use time::{Date, Duration, Month};

use super::generate::generate;
use super::{BenchDb, Common, Report, round2};

#[derive(Debug, Args)]
pub struct ReportsArgs {
    #[command(flatten)]
    pub common: Common,
    /// Data size (1 = 100,000 accounts, 1,000,000 invoices with 5,000,000 lines).
    #[arg(long, default_value_t = 0.01)]
    pub scale: f64,
    /// Runs of each report and of its reference (the median is kept).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
}

impl ReportsArgs {
    pub fn new(common: Common, scale: f64) -> ReportsArgs {
        ReportsArgs { common, scale, runs: 3 }
    }
}

const SALES: &str = "doc_type IN ('invoice', 'credit_note') AND status IN ('issued', 'part_paid', 'paid', 'applied')";

fn jan1(y: i32) -> anyhow::Result<Date> {
    Ok(Date::from_calendar_date(y, Month::January, 1)?)
}

/// Median milliseconds of `runs` runs of `f`, and its last answer.
async fn timed<T, F>(db: &Db, runs: usize, mut f: F) -> anyhow::Result<(f64, T)>
where
    F: for<'a> FnMut(&'a mut Tx) -> std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<T>> + Send + 'a>>,
{
    let mut times = Vec::new();
    let mut last = None;
    for i in 0..=runs {
        let mut tx = db.read().await?;
        let start = Instant::now();
        let v = f(&mut tx).await?;
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        tx.rollback().await?;
        if i > 0 {
            times.push(ms);
        }
        last = Some(v);
    }
    times.sort_by(f64::total_cmp);
    Ok((round2(times[times.len() / 2]), last.ok_or_else(|| anyhow::anyhow!("no run"))?))
}

pub async fn run(a: ReportsArgs) -> anyhow::Result<()> {
    let runs = a.runs.max(1);
    let db = BenchDb::fresh(&a.common).await?;
    eprintln!("reports: generating scale {} on {} …", a.scale, db.engine);
    let g = generate(&db.db, a.scale, a.common.seed).await?;
    let t = DEFAULT_TENANT;
    {
        // The generated documents' currency is the company's: costs and margins agree.
        let mut tx = db.db.write().await?;
        tx.execute("UPDATE tenants SET currency = 'EUR' WHERE id = $1", args![t]).await?;
        tx.commit().await?;
    }
    let all = CostFields { cost: true, margin: true };
    let today = nave_store::db::now().date();
    let y = today.year();
    let (from3, to) = (jan1(y - 2)?, today);
    let mut out = serde_json::Map::new();
    let mut worst = 0.0f64;
    let mut record = |name: &str, ms: f64, ref_ms: f64| {
        let ratio = round2(ms / ref_ms.max(0.01));
        worst = worst.max(ratio);
        out.insert(name.into(), json!({"ms": ms, "reference_ms": ref_ms, "ratio": ratio}));
    };

    // 1. Sales by account by year (three years).
    let (ms, report) = timed(&db.db, runs, |tx| {
        Box::pin(async move {
            let f = ReportFilter { to: Some(to), ..Default::default() };
            Ok(reports::sales_by_account(tx, t, Visibility::All, &f, SalesByAccountOptions::default()).await?)
        })
    })
    .await?;
    let got: i64 = report.rows.iter().map(|r| r.total_minor).sum();
    let sql = format!(
        "SELECT account_id, currency, CAST(SUM(CASE WHEN doc_date >= $4 THEN s ELSE 0 END) AS BIGINT) AS y0, \
         CAST(SUM(CASE WHEN doc_date >= $5 AND doc_date < $4 THEN s ELSE 0 END) AS BIGINT) AS y1, \
         CAST(SUM(CASE WHEN doc_date < $5 THEN s ELSE 0 END) AS BIGINT) AS y2, CAST(SUM(s) AS BIGINT) AS total \
         FROM (SELECT account_id, currency, doc_date, CASE WHEN doc_type = 'credit_note' THEN -net_minor ELSE net_minor END AS s \
         FROM documents WHERE tenant_id = $1 AND {SALES} AND doc_date >= $2 AND doc_date <= $3) x \
         GROUP BY account_id, currency"
    );
    let (y0, y1) = (jan1(y)?, jan1(y - 1)?);
    let (ref_ms, want) = timed(&db.db, runs, |tx| {
        let sql = sql.clone();
        Box::pin(async move {
            let rows = tx.fetch_all(sql, args![t, from3, to, y0, y1], |r| r.i64("total")).await?;
            Ok(rows.into_iter().sum::<i64>())
        })
    })
    .await?;
    anyhow::ensure!(got == want, "sales by account: the report totals {got}, the SQL {want}");
    record("sales_by_account", ms, ref_ms);

    // 2. Sales by product line per account (this year and last).
    let from2 = jan1(y - 1)?;
    let (ms, report) = timed(&db.db, runs, |tx| {
        Box::pin(async move {
            let f = ReportFilter { from: Some(from2), to: Some(to), ..Default::default() };
            Ok(reports::sales_by_category(tx, t, Visibility::All, &f, CrossSellOptions::default()).await?)
        })
    })
    .await?;
    let got: i64 = report.rows.iter().map(|r| r.total_minor).sum();
    let sql = format!(
        "SELECT d.account_id, p.category_id, CAST(SUM(CASE WHEN d.doc_type = 'credit_note' THEN -l.taxable_base_minor \
         ELSE l.taxable_base_minor END) AS BIGINT) AS net FROM documents d \
         JOIN document_lines l ON l.tenant_id = d.tenant_id AND l.document_id = d.id \
         LEFT JOIN products p ON p.tenant_id = l.tenant_id AND p.id = l.product_id \
         WHERE d.tenant_id = $1 AND d.{} AND d.doc_date >= $2 AND d.doc_date <= $3 AND l.kind <> 'shipping' \
         GROUP BY d.account_id, p.category_id",
        SALES.replace(" AND status", " AND d.status")
    );
    let (ref_ms, want) = timed(&db.db, runs, |tx| {
        let sql = sql.clone();
        Box::pin(async move {
            let rows = tx.fetch_all(sql, args![t, from2, to], |r| r.i64("net")).await?;
            Ok(rows.into_iter().sum::<i64>())
        })
    })
    .await?;
    anyhow::ensure!(got == want, "sales by product line: the report totals {got}, the SQL {want}");
    record("sales_by_product_line", ms, ref_ms);

    // 3. Receivables and payables aging as of today.
    for (name, doc_type) in [("receivables_aging", "invoice"), ("payables_aging", "bill")] {
        let (ms, report) = timed(&db.db, runs, |tx| {
            Box::pin(async move {
                let f = ReportFilter::default();
                Ok(if doc_type == "bill" {
                    reports::payables_aging(tx, t, Visibility::All, &f, Some(today)).await?
                } else {
                    reports::receivables_aging(tx, t, Visibility::All, &f, Some(today)).await?
                })
            })
        })
        .await?;
        let mut got = [0i64; 6];
        for r in &report.rows {
            for (g, m) in got.iter_mut().zip(r.minor) {
                *g += m;
            }
        }
        let (b30, b60, b90) = (today - Duration::days(30), today - Duration::days(60), today - Duration::days(90));
        let sql = "SELECT d.account_id, d.due_date, d.total_minor - COALESCE(x.paid, 0) AS balance FROM documents d \
                   LEFT JOIN (SELECT invoice_id, CAST(SUM(amount_minor) AS BIGINT) AS paid FROM allocations WHERE tenant_id = $1 \
                   AND allocated_on <= $2 GROUP BY invoice_id) x ON x.invoice_id = d.id \
                   WHERE d.tenant_id = $1 AND d.doc_type = $3 AND d.status IN ('issued', 'part_paid', 'paid') \
                   AND d.doc_date <= $2 AND d.total_minor > COALESCE(x.paid, 0)";
        let (ref_ms, want) = timed(&db.db, runs, |tx| {
            Box::pin(async move {
                let rows = tx
                    .fetch_all(sql, args![t, today, doc_type], |r| Ok((r.opt_date("due_date")?, r.i64("balance")?)))
                    .await?;
                let mut b = [0i64; 6];
                for (due, bal) in rows {
                    let i = match due {
                        Some(d) if d < b90 => 4,
                        Some(d) if d < b60 => 3,
                        Some(d) if d < b30 => 2,
                        Some(d) if d < today => 1,
                        _ => 0,
                    };
                    b[i] += bal;
                    b[5] += bal;
                }
                Ok(b)
            })
        })
        .await?;
        anyhow::ensure!(got == want, "{name}: the report's buckets {got:?}, the SQL's {want:?}");
        anyhow::ensure!(got[5] > 0, "{name}: nothing open in the generated data");
        record(name, ms, ref_ms);
    }

    // 4. Top 20 customers this year.
    let (ms, report) = timed(&db.db, runs, |tx| {
        Box::pin(async move {
            let f = ReportFilter { from: Some(y0), to: Some(to), ..Default::default() };
            let opts = TopOptions { limit: 20, ..Default::default() };
            Ok(reports::top_customers(tx, t, Visibility::All, &f, opts).await?)
        })
    })
    .await?;
    let got: Vec<i64> = report.rows.iter().map(|r| r.net_minor).collect();
    let sql = format!(
        "SELECT account_id, CAST(SUM(CASE WHEN doc_type = 'credit_note' THEN -net_minor ELSE net_minor END) AS BIGINT) AS net \
         FROM documents WHERE tenant_id = $1 AND {SALES} AND doc_date >= $2 AND doc_date <= $3 \
         GROUP BY account_id, currency ORDER BY net DESC LIMIT 20"
    );
    let (ref_ms, want) = timed(&db.db, runs, |tx| {
        let sql = sql.clone();
        Box::pin(async move { Ok(tx.fetch_all(sql, args![t, y0, to], |r| r.i64("net")).await?) })
    })
    .await?;
    anyhow::ensure!(got == want, "top customers: the report's {got:?}, the SQL's {want:?}");
    record("top_customers", ms, ref_ms);

    // 5. Top 20 customers this year by margin.
    let (ms, report) = timed(&db.db, runs, |tx| {
        Box::pin(async move {
            let f = ReportFilter { from: Some(y0), to: Some(to), ..Default::default() };
            let opts = TopOptions { limit: 20, order: Ranking::Margin, fields: all };
            Ok(reports::top_customers(tx, t, Visibility::All, &f, opts).await?)
        })
    })
    .await?;
    let got: Vec<i64> = report.rows.iter().filter_map(|r| r.margins.margin_minor).collect();
    let signed = |v: &str| format!("CASE WHEN d.doc_type = 'credit_note' THEN -{v} ELSE {v} END");
    let margin =
        format!("CAST(SUM({}) AS BIGINT) AS margin", signed("(l.taxable_base_minor - COALESCE(l.cost_minor, 0))"));
    let lines = format!(
        "FROM documents d JOIN document_lines l ON l.tenant_id = d.tenant_id AND l.document_id = d.id \
         WHERE d.tenant_id = $1 AND d.{} AND d.doc_date >= $2 AND d.doc_date <= $3 \
         AND l.kind NOT IN ('shipping', 'comment')",
        SALES.replace(" AND status", " AND d.status")
    );
    let sql = format!("SELECT d.account_id, {margin} {lines} GROUP BY d.account_id ORDER BY margin DESC LIMIT 20");
    let (ref_ms, want) = timed(&db.db, runs, |tx| {
        let sql = sql.clone();
        Box::pin(async move { Ok(tx.fetch_all(sql, args![t, y0, to], |r| r.i64("margin")).await?) })
    })
    .await?;
    anyhow::ensure!(got == want, "top customers by margin: the report's {got:?}, the SQL's {want:?}");
    record("top_customers_by_margin", ms, ref_ms);

    // 6. Profit contribution per customer and per product (this year and last).
    for (name, by, key) in [
        ("profit_by_customer", ProfitBy::Customer, "d.account_id"),
        ("profit_by_product", ProfitBy::Product, "l.product_id"),
    ] {
        let (ms, report) = timed(&db.db, runs, |tx| {
            Box::pin(async move {
                let f = ReportFilter { from: Some(from2), to: Some(to), ..Default::default() };
                let opts = ProfitOptions { by, order: Ranking::Margin, limit: 500, fields: all };
                Ok(reports::profit(tx, t, Visibility::All, &f, opts).await?)
            })
        })
        .await?;
        let got: Vec<(i64, i64)> =
            report.totals.iter().map(|x| (x.sums.net(), x.margin_minor.unwrap_or_default())).collect();
        let top: Vec<i64> = report.rows.iter().take(20).filter_map(|r| r.figures.margin_minor).collect();
        let sql = format!(
            "SELECT {key} AS k, CAST(SUM({}) AS BIGINT) AS net, {margin} {lines} GROUP BY {key} ORDER BY margin DESC",
            signed("l.taxable_base_minor")
        );
        let (ref_ms, (want, want_top)) = timed(&db.db, runs, |tx| {
            let sql = sql.clone();
            Box::pin(async move {
                let rows = tx.fetch_all(sql, args![t, from2, to], |r| Ok((r.i64("net")?, r.i64("margin")?))).await?;
                let total = rows.iter().fold((0, 0), |a, r| (a.0 + r.0, a.1 + r.1));
                Ok((vec![total], rows.iter().take(20).map(|r| r.1).collect::<Vec<i64>>()))
            })
        })
        .await?;
        anyhow::ensure!(got == want, "{name}: the report's totals {got:?}, the SQL's {want:?}");
        anyhow::ensure!(top == want_top, "{name}: the report's biggest margins {top:?}, the SQL's {want_top:?}");
        anyhow::ensure!(want[0].1 > 0, "{name}: no margin in the generated data");
        record(name, ms, ref_ms);
    }

    let engine = db.engine;
    db.finish().await;
    Report {
        workload: "reports",
        db: engine,
        params: json!({"scale": a.scale, "runs": runs, "accounts": g.sizes.accounts, "invoices": g.sizes.invoices,
            "invoice_lines": g.invoice_lines, "seed": a.common.seed}),
        metrics: json!({"reports": Value::Object(out), "generate_s": round2(g.seconds)}),
        reference: json!({"what": "hand-written SQL computing the same figures from the documents and their lines, without the sales summaries, per report (reference_ms)"}),
        ratio: Some(worst),
    }
    .emit();
    Ok(())
}
