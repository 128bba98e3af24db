//! `overview`: the 360° view (`GET /api/v1/accounts/{id}/overview`) of
//! accounts of a large generated company, through a real `nave serve`, the
//! biggest customers included, against the same answer computed by
//! hand-written SQL on the same database in the same run.
//!
//! The reference runs, per account, the queries a person would write for
//! the view (the account; up to 200 active contacts, open opportunities and
//! open cases; the 10 latest activities and their count; attachments; up to
//! 200 open quotes, orders and invoices; net sales this year and last;
//! receivables open and overdue; credit exposure), each aggregate in SQL.
//! The API's figures are compared with the reference's for every account,
//! and a difference fails the run.

use std::time::Instant;

use clap::Args;
use nave_store::args;
use nave_store::db::Tx;
use nave_store::tenants::DEFAULT_TENANT;
use serde_json::{Value, json};
use time::Date;
use uuid::Uuid;

use super::generate::{Generated, generate};
use super::{Api, BenchDb, Common, Report, Rng, Server, Timings, admin_token, percentile_ms, round2};

#[derive(Debug, Args)]
pub struct OverviewArgs {
    #[command(flatten)]
    pub common: Common,
    /// Data size (1 = 100,000 accounts, 1,000,000 invoices with 5,000,000 lines).
    #[arg(long, default_value_t = 0.01)]
    pub scale: f64,
    /// Views to open (a tenth of them of the ten biggest customers).
    #[arg(long, default_value_t = 300)]
    pub requests: usize,
}

impl OverviewArgs {
    pub fn new(common: Common, scale: f64) -> OverviewArgs {
        OverviewArgs { common, scale, requests: 300 }
    }
}

/// The figures both sides must agree on.
#[derive(Debug, PartialEq, Eq)]
struct Figures {
    activities: i64,
    contacts: i64,
    open_invoices: i64,
    open_orders: i64,
    open_quotes: i64,
    sales_this_year: i64,
    sales_last_year: i64,
    receivable_open: i64,
    receivable_overdue: i64,
    exposure: i64,
}

fn cents(v: &Value) -> i64 {
    v.as_str()
        .and_then(|s| s.parse::<rust_decimal::Decimal>().ok())
        .and_then(|d| i64::try_from((d * rust_decimal::Decimal::from(100)).trunc()).ok())
        .unwrap_or(0)
}

fn from_api(v: &Value, year: i32) -> Figures {
    let sales =
        |y: i32| v["sales"].as_array().and_then(|a| a.iter().find(|s| s["year"] == y)).map_or(0, |s| cents(&s["net"]));
    let len = |k: &str| v[k].as_array().map_or(0, Vec::len) as i64;
    let r = &v["receivables"][0];
    Figures {
        activities: v["counts"]["activities"].as_i64().unwrap_or(-1),
        contacts: len("contacts"),
        open_invoices: len("open_invoices"),
        open_orders: len("open_sales_orders"),
        open_quotes: len("open_quotes"),
        sales_this_year: sales(year),
        sales_last_year: sales(year - 1),
        receivable_open: cents(&r["open"]),
        receivable_overdue: cents(&r["overdue"]),
        exposure: cents(&v["credit"]["exposure"]),
    }
}

/// The hand-written SQL of the view, for one account.
async fn by_hand(tx: &mut Tx, id: Uuid, today: Date) -> anyhow::Result<Figures> {
    let t = DEFAULT_TENANT;
    let (key, _name, _limit) = tx
        .fetch_one(
            "SELECT a.id, a.name, a.credit_limit_minor FROM accounts a WHERE a.tenant_id = $1 AND a.public_id = $2",
            args![t, id],
            |r| Ok((r.i64("id")?, r.text("name")?, r.opt_i64("credit_limit_minor")?)),
        )
        .await?;
    let contacts = tx
        .fetch_all(
            "SELECT c.id, c.first_name, c.last_name, c.is_primary FROM contacts c WHERE c.tenant_id = $1 \
             AND c.account_id = $2 AND c.archived = FALSE ORDER BY c.id LIMIT 200",
            args![t, key],
            |r| r.i64("id"),
        )
        .await?;
    let _opps = tx
        .fetch_all(
            "SELECT o.id, o.amount_minor, o.probability FROM opportunities o JOIN pipeline_stages s \
             ON s.tenant_id = o.tenant_id AND s.id = o.stage_id WHERE o.tenant_id = $1 AND o.account_id = $2 \
             AND s.kind = 'open' ORDER BY o.id LIMIT 200",
            args![t, key],
            |r| r.i64("id"),
        )
        .await?;
    let _cases = tx
        .fetch_all(
            "SELECT id, subject FROM cases WHERE tenant_id = $1 AND account_id = $2 \
             AND status NOT IN ('resolved', 'closed') ORDER BY id LIMIT 200",
            args![t, key],
            |r| r.i64("id"),
        )
        .await?;
    let _latest = tx
        .fetch_all(
            "SELECT id, subject FROM activities WHERE tenant_id = $1 AND account_id = $2 \
             ORDER BY occurred_at DESC LIMIT 10",
            args![t, key],
            |r| r.i64("id"),
        )
        .await?;
    let activities = tx
        .scalar_i64("SELECT COUNT(*) AS v FROM activities WHERE tenant_id = $1 AND account_id = $2", args![t, key])
        .await?;
    let _attachments = tx
        .scalar_i64(
            "SELECT COUNT(*) AS v FROM attachments WHERE tenant_id = $1 AND record_type = 'account' AND record_id = $2",
            args![t, key],
        )
        .await?;
    let mut open = Vec::new();
    for (doc_type, statuses) in [
        ("quote", "'draft', 'sent', 'accepted'"),
        ("sales_order", "'draft', 'open'"),
        ("invoice", "'draft', 'issued', 'part_paid'"),
    ] {
        let rows = tx
            .fetch_all(
                format!(
                    "SELECT id, number, total_minor, balance_minor FROM documents WHERE tenant_id = $1 \
                     AND account_id = $2 AND doc_type = '{doc_type}' AND status IN ({statuses}) ORDER BY id DESC LIMIT 200"
                ),
                args![t, key],
                |r| r.i64("id"),
            )
            .await?;
        open.push(rows.len() as i64);
    }
    let year_start = |y: i32| Date::from_calendar_date(y, time::Month::January, 1);
    let (this, last) = (year_start(today.year())?, year_start(today.year() - 1)?);
    let (sales_this_year, sales_last_year) = tx
        .fetch_one(
            "SELECT CAST(COALESCE(SUM(CASE WHEN doc_date >= $3 THEN CASE WHEN doc_type = 'credit_note' \
             THEN -net_minor ELSE net_minor END ELSE 0 END), 0) AS BIGINT) AS this_year, \
             CAST(COALESCE(SUM(CASE WHEN doc_date < $3 THEN CASE WHEN doc_type = 'credit_note' \
             THEN -net_minor ELSE net_minor END ELSE 0 END), 0) AS BIGINT) AS last_year \
             FROM documents WHERE tenant_id = $1 AND account_id = $2 AND doc_type IN ('invoice', 'credit_note') \
             AND status IN ('issued', 'part_paid', 'paid', 'applied') AND doc_date >= $4",
            args![t, key, this, last],
            |r| Ok((r.i64("this_year")?, r.i64("last_year")?)),
        )
        .await?;
    let (receivable_open, receivable_overdue) = tx
        .fetch_one(
            "SELECT CAST(COALESCE(SUM(balance_minor), 0) AS BIGINT) AS open, \
             CAST(COALESCE(SUM(CASE WHEN due_date < $3 THEN balance_minor ELSE 0 END), 0) AS BIGINT) AS overdue \
             FROM documents WHERE tenant_id = $1 AND account_id = $2 AND doc_type = 'invoice' \
             AND status IN ('issued', 'part_paid') AND balance_minor > 0",
            args![t, key, today],
            |r| Ok((r.i64("open")?, r.i64("overdue")?)),
        )
        .await?;
    let orders = tx
        .scalar_i64(
            "SELECT CAST(COALESCE(SUM(CASE WHEN d.total_minor > COALESCE(i.invoiced, 0) \
             THEN d.total_minor - COALESCE(i.invoiced, 0) ELSE 0 END), 0) AS BIGINT) AS v FROM documents d \
             LEFT JOIN (SELECT origin_id, SUM(total_minor) AS invoiced FROM documents WHERE tenant_id = $1 \
             AND account_id = $2 AND doc_type = 'invoice' AND status IN ('issued', 'part_paid', 'paid') \
             GROUP BY origin_id) i ON i.origin_id = d.id \
             WHERE d.tenant_id = $1 AND d.account_id = $2 AND d.doc_type = 'sales_order' AND d.status = 'open'",
            args![t, key],
        )
        .await?;
    Ok(Figures {
        activities,
        contacts: contacts.len() as i64,
        open_quotes: open[0],
        open_orders: open[1],
        open_invoices: open[2],
        sales_this_year,
        sales_last_year,
        receivable_open,
        receivable_overdue,
        exposure: receivable_open + orders,
    })
}

/// The accounts to open: the ten biggest in turn for a tenth of the
/// requests, the rest at random.
fn picks(g: &Generated, n: usize, seed: u64) -> Vec<(Uuid, bool)> {
    let mut rng = Rng::new(seed ^ 0x0BE7);
    let big = g.accounts.len().min(10);
    (0..n)
        .map(|i| {
            if i % 10 == 0 {
                (g.accounts[(i / 10) % big], true)
            } else {
                (g.accounts[rng.below(g.accounts.len() as u64) as usize], false)
            }
        })
        .collect()
}

pub async fn run(a: OverviewArgs) -> anyhow::Result<()> {
    anyhow::ensure!(a.requests > 0, "--requests must be at least 1");
    let db = BenchDb::fresh(&a.common).await?;
    eprintln!("overview: generating scale {} on {} …", a.scale, db.engine);
    let g = generate(&db.db, a.scale, a.common.seed).await?;
    eprintln!("overview: {} rows in {:.1} s", g.rows, g.seconds);
    let token = admin_token(&db.db).await?;
    let server = Server::start(&db.url)?;
    let api = Api::new(&server.base, &token)?;
    let today = nave_store::db::now().date();
    let picks = picks(&g, a.requests, a.common.seed);
    // Warm both sides up on a few accounts first.
    for (id, _) in picks.iter().take(10) {
        api.get(&mut Timings::default(), "warmup", &format!("/accounts/{id}/overview")).await?;
        let mut tx = db.db.read().await?;
        by_hand(&mut tx, *id, today).await?;
        tx.rollback().await?;
    }
    let (mut api_all, mut api_big, mut sql_all, mut sql_big) = (vec![], vec![], vec![], vec![]);
    for (id, big) in &picks {
        let start = Instant::now();
        let v = api.get(&mut Timings::default(), "overview", &format!("/accounts/{id}/overview")).await?;
        let api_us = start.elapsed().as_micros() as u64;
        let start = Instant::now();
        let mut tx = db.db.read().await?;
        let want = by_hand(&mut tx, *id, today).await?;
        tx.rollback().await?;
        let sql_us = start.elapsed().as_micros() as u64;
        let got = from_api(&v, today.year());
        anyhow::ensure!(got == want, "account {id}: the API's view {got:?} differs from the SQL's {want:?}");
        api_all.push(api_us);
        sql_all.push(sql_us);
        if *big {
            api_big.push(api_us);
            sql_big.push(sql_us);
        }
    }
    let (rss, peak) = server.rss_mb();
    drop(server);
    let engine = db.engine;
    db.finish().await;
    let p99 = percentile_ms(&mut api_all, 99.0);
    let ref_p99 = percentile_ms(&mut sql_all, 99.0);
    Report {
        workload: "overview",
        db: engine,
        params: json!({"scale": a.scale, "requests": a.requests, "accounts": g.sizes.accounts,
            "invoices": g.sizes.invoices, "invoice_lines": g.invoice_lines, "activities": g.sizes.activities,
            "seed": a.common.seed}),
        metrics: json!({
            "p50_ms": percentile_ms(&mut api_all, 50.0),
            "p99_ms": p99,
            "biggest_accounts_p50_ms": percentile_ms(&mut api_big, 50.0),
            "biggest_accounts_p99_ms": percentile_ms(&mut api_big, 99.0),
            "server_rss_mb": rss,
            "server_peak_rss_mb": peak,
            "generate_s": round2(g.seconds),
            "generate_rows_per_s": round2(g.rows as f64 / g.seconds.max(1e-9)),
        }),
        reference: json!({
            "what": "hand-written SQL for the same figures, in-process (no HTTP)",
            "p50_ms": percentile_ms(&mut sql_all, 50.0),
            "p99_ms": ref_p99,
            "biggest_accounts_p99_ms": percentile_ms(&mut sql_big, 99.0),
        }),
        ratio: Some(round2(p99 / ref_p99.max(0.01))),
    }
    .emit();
    Ok(())
}
