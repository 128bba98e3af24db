//! `contention`: K clients confirm orders, ship and invoice against the same
//! three products at once, with less stock than they ask for, and pay each
//! invoice twice at the same moment. Through the HTTP API of a real server.
//!
//! Per order: create a sales order for two of the three hot products →
//! confirm (reserves what is available) → create a shipment of everything
//! → ship; when stock runs short the shipment is refused (409) and the client
//! cancels it and the order, releasing its reservation. Shipped orders are
//! invoiced and issued, then two payments of the full amount race for the
//! same invoice: exactly one may be allocated.
//!
//! Then the invariants are checked in the database and the run fails loudly
//! when one breaks: no negative stock, reservations within stock and equal
//! to the reservation rows, stock down by exactly what shipped, no line
//! shipped or invoiced beyond what was ordered, no invoice allocated beyond
//! its total nor payment beyond its amount, and invoice and shipment numbers
//! 1..n without a duplicate or a gap.
//!
//! The reference is the same workload run by one client on a fresh
//! database in the same run: the ratio says what concurrency buys (or costs).

use std::collections::BTreeMap;
use std::time::Instant;

use clap::Args;
use nave_store::args;
use nave_store::tenants::DEFAULT_TENANT;
use serde_json::{Value, json};

use super::{Api, BenchDb, Common, Report, Rng, Server, Timings, admin_token, id_of, round2};

#[derive(Debug, Args)]
pub struct ContentionArgs {
    #[command(flatten)]
    pub common: Common,
    /// Orders in all.
    #[arg(long, default_value_t = 400)]
    pub orders: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
}

impl ContentionArgs {
    pub fn new(common: Common, orders: usize) -> ContentionArgs {
        ContentionArgs { common, orders: orders.min(400), clients: 8 }
    }
}

#[derive(Debug, Default, Clone)]
struct Tally {
    completed: usize,
    refused_for_stock: usize,
    second_payment_refused: usize,
    /// product → units shipped
    shipped: BTreeMap<String, i64>,
}

struct Hot {
    account: String,
    products: Vec<String>,
    stock: i64,
}

async fn setup(api: &Api, orders: usize) -> anyhow::Result<Hot> {
    let mut t = Timings::default();
    let wh = api.post(&mut t, "setup", "/warehouses", &json!({"name": "Main"}), 201).await?;
    let account =
        id_of(&api.post(&mut t, "setup", "/accounts", &json!({"name": "Busy Ltd", "currency": "EUR"}), 201).await?)?;
    // Each order asks for about 2 units of each of two products: about
    // 4/3 of `orders` units per product. Stock covers about 60 % of it.
    let stock = (orders as i64 * 4 / 5).max(2);
    let mut products = Vec::new();
    for i in 0..3 {
        let body = json!({"sku": format!("HOT{i}"), "name": format!("Hot product {i}"), "list_price": "10.00", "currency": "EUR"});
        let p = api.post(&mut t, "setup", "/products", &body, 201).await?;
        let adj = json!({"warehouse_id": wh["id"], "reason": "opening balance",
            "lines": [{"product_id": p["id"], "quantity": stock.to_string(), "unit_cost": "4.00"}]});
        api.post(&mut t, "setup", "/stock-adjustments", &adj, 201).await?;
        products.push(id_of(&p)?);
    }
    Ok(Hot { account, products, stock })
}

async fn one_order(api: &Api, t: &mut Timings, hot: &Hot, rng: &mut Rng, tally: &mut Tally) -> anyhow::Result<()> {
    let skip = rng.below(3) as usize;
    let mut lines = Vec::new();
    let mut wanted = Vec::new();
    for (_, p) in hot.products.iter().enumerate().filter(|(i, _)| *i != skip) {
        let q = 1 + rng.below(3) as i64;
        lines.push(json!({"product_id": p, "quantity": q.to_string()}));
        wanted.push((p.clone(), q));
    }
    let order =
        api.post(t, "create_order", "/sales-orders", &json!({"account_id": hot.account, "lines": lines}), 201).await?;
    let oid = id_of(&order)?;
    api.post(t, "confirm_order", &format!("/sales-orders/{oid}/confirm"), &json!({}), 200).await?;
    let (status, ship) = api.call(reqwest::Method::POST, "/shipments", Some(&json!({"sales_order_id": oid}))).await?;
    anyhow::ensure!(status == 201, "create shipment answered {status}: {ship}");
    let sid = id_of(&ship)?;
    let start = Instant::now();
    let (status, body) = api.call(reqwest::Method::POST, &format!("/shipments/{sid}/ship"), Some(&json!({}))).await?;
    t.0.entry("ship").or_default().push(start.elapsed().as_micros() as u64);
    match status {
        200 => {}
        409 => {
            tally.refused_for_stock += 1;
            api.post(t, "cancel", &format!("/shipments/{sid}/cancel"), &json!({}), 200).await?;
            api.post(t, "cancel", &format!("/sales-orders/{oid}/cancel"), &json!({}), 200).await?;
            return Ok(());
        }
        other => anyhow::bail!("ship answered {other}: {body}"),
    }
    for (p, q) in wanted {
        *tally.shipped.entry(p).or_default() += q;
    }
    let inv = api
        .post(t, "create_invoice", "/invoices", &json!({"account_id": hot.account, "sales_order_id": oid}), 201)
        .await?;
    let inv = api.post(t, "issue_invoice", &format!("/invoices/{}/issue", id_of(&inv)?), &json!({}), 200).await?;
    let total = inv["totals"]["total"].clone();
    let pay = json!({"account_id": hot.account, "amount": total, "currency": "EUR", "method": "card",
        "allocations": [{"invoice_id": inv["id"], "amount": total}]});
    let (a, b) = tokio::join!(
        api.call(reqwest::Method::POST, "/payments", Some(&pay)),
        api.call(reqwest::Method::POST, "/payments", Some(&pay))
    );
    let mut codes = [a?.0, b?.0];
    codes.sort_unstable();
    anyhow::ensure!(codes == [201, 422], "two full payments of one invoice answered {codes:?}: over-allocation");
    tally.second_payment_refused += 1;
    tally.completed += 1;
    Ok(())
}

/// The invariants; the first broken one is the error.
async fn check(db: &BenchDb, hot: &Hot, tally: &Tally) -> anyhow::Result<Value> {
    let mut tx = db.db.read().await?;
    let t = DEFAULT_TENANT;
    let levels = tx
        .fetch_all(
            "SELECT p.public_id, l.on_hand_e4, l.reserved_e4, (SELECT CAST(COALESCE(SUM(r.quantity_e4), 0) AS BIGINT) \
             FROM stock_reservations r WHERE r.tenant_id = l.tenant_id AND r.product_id = l.product_id \
             AND r.warehouse_id = l.warehouse_id) AS rows_reserved FROM stock_levels l \
             JOIN products p ON p.tenant_id = l.tenant_id AND p.id = l.product_id WHERE l.tenant_id = $1",
            args![t],
            |r| Ok((r.uuid("public_id")?, r.i64("on_hand_e4")?, r.i64("reserved_e4")?, r.i64("rows_reserved")?)),
        )
        .await?;
    for (pid, on_hand, reserved, rows) in &levels {
        let id = nave_domain::ids::PublicId::from_uuid(*pid).to_string();
        anyhow::ensure!(*on_hand >= 0, "negative stock: product {id} has {on_hand} (1e-4) on hand");
        anyhow::ensure!(
            *reserved >= 0 && reserved <= on_hand,
            "product {id}: {reserved} reserved of {on_hand} on hand"
        );
        anyhow::ensure!(reserved == rows, "product {id}: level says {reserved} reserved, reservations sum to {rows}");
        let shipped = tally.shipped.get(&id).copied().unwrap_or(0);
        anyhow::ensure!(
            *on_hand == (hot.stock - shipped) * 10_000,
            "product {id}: on hand {on_hand} (1e-4) but {} − {shipped} shipped",
            hot.stock
        );
    }
    let over = tx
        .scalar_i64(
            "SELECT COUNT(*) AS v FROM document_lines WHERE tenant_id = $1 AND (qty_shipped_e4 > quantity_e4 \
             OR qty_invoiced_e4 > quantity_e4 OR qty_shipped_e4 < 0 OR qty_reserved_e4 < 0)",
            args![t],
        )
        .await?;
    anyhow::ensure!(over == 0, "{over} order lines shipped or invoiced beyond what was ordered");
    let over_invoices = tx
        .scalar_i64(
            "SELECT COUNT(*) AS v FROM documents d WHERE d.tenant_id = $1 AND d.doc_type = 'invoice' AND \
             (SELECT COALESCE(SUM(a.amount_minor), 0) FROM allocations a WHERE a.tenant_id = d.tenant_id \
             AND a.invoice_id = d.id) > d.total_minor",
            args![t],
        )
        .await?;
    anyhow::ensure!(over_invoices == 0, "{over_invoices} invoices are allocated beyond their total");
    let over_payments = tx
        .scalar_i64(
            "SELECT COUNT(*) AS v FROM payments p WHERE p.tenant_id = $1 AND p.allocated_minor > p.amount_minor",
            args![t],
        )
        .await?;
    anyhow::ensure!(over_payments == 0, "{over_payments} payments are allocated beyond their amount");
    let invoice_numbers = tx
        .fetch_all(
            "SELECT number FROM documents WHERE tenant_id = $1 AND doc_type = 'invoice' AND number IS NOT NULL",
            args![t],
            |r| r.text("number"),
        )
        .await?;
    gapless("invoice", &invoice_numbers, tally.completed)?;
    let shipment_numbers = tx
        .fetch_all("SELECT number FROM shipments WHERE tenant_id = $1 AND number IS NOT NULL", args![t], |r| {
            r.text("number")
        })
        .await?;
    gapless("shipment", &shipment_numbers, tally.completed)?;
    tx.rollback().await?;
    Ok(json!({"negative_stock": 0, "over_shipped_lines": 0, "over_allocated_invoices": 0,
        "over_allocated_payments": 0, "duplicate_or_missing_numbers": 0}))
}

/// The numbers' trailing counters are exactly 1..=n.
fn gapless(what: &str, numbers: &[String], n: usize) -> anyhow::Result<()> {
    let mut seq: Vec<u64> = numbers
        .iter()
        .map(|s| {
            let digits: String =
                s.chars().rev().take_while(char::is_ascii_digit).collect::<Vec<_>>().into_iter().rev().collect();
            digits.parse::<u64>().map_err(|_| anyhow::anyhow!("{what} number {s:?} has no counter"))
        })
        .collect::<anyhow::Result<_>>()?;
    seq.sort_unstable();
    let want: Vec<u64> = (1..=n as u64).collect();
    anyhow::ensure!(seq == want, "{what} numbers are not 1..{n} without gaps or duplicates: {seq:?}");
    Ok(())
}

async fn run_once(a: &ContentionArgs, clients: usize) -> anyhow::Result<(f64, Tally, Value, Timings)> {
    let db = BenchDb::fresh(&a.common).await?;
    let token = admin_token(&db.db).await?;
    let server = Server::start(&db.url)?;
    let api = Api::new(&server.base, &token)?;
    let hot = std::sync::Arc::new(setup(&api, a.orders).await?);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (api, hot) = (api.clone(), hot.clone());
        let n = a.orders / clients + usize::from(c < a.orders % clients);
        let seed = a.common.seed.wrapping_add(c as u64 * 104_729);
        tasks.push(tokio::spawn(async move {
            let (mut rng, mut t, mut tally) = (Rng::new(seed), Timings::default(), Tally::default());
            for _ in 0..n {
                one_order(&api, &mut t, &hot, &mut rng, &mut tally).await?;
            }
            Ok::<_, anyhow::Error>((t, tally))
        }));
    }
    let mut timings = Timings::default();
    let mut tally = Tally::default();
    for task in tasks {
        let (t, x) = task.await??;
        timings.merge(t);
        tally.completed += x.completed;
        tally.refused_for_stock += x.refused_for_stock;
        tally.second_payment_refused += x.second_payment_refused;
        for (k, v) in x.shipped {
            *tally.shipped.entry(k).or_default() += v;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    drop(server);
    let checks = check(&db, &hot, &tally).await;
    db.finish().await;
    Ok((secs, tally, checks?, timings))
}

pub async fn run(a: ContentionArgs) -> anyhow::Result<()> {
    anyhow::ensure!(a.orders > 0 && a.clients > 0, "--orders and --clients must be at least 1");
    let (secs, tally, checks, mut timings) = run_once(&a, a.clients).await?;
    let (ref_secs, ref_tally, _, _) = run_once(&a, 1).await?;
    let per_s = round2(a.orders as f64 / secs);
    let ref_per_s = round2(a.orders as f64 / ref_secs);
    Report {
        workload: "contention",
        db: super::o2c::db_name(&a.common),
        params: json!({"orders": a.orders, "clients": a.clients, "hot_products": 3, "seed": a.common.seed}),
        metrics: json!({
            "orders_per_s": per_s,
            "completed_orders": tally.completed,
            "refused_for_stock": tally.refused_for_stock,
            "double_payments_refused": tally.second_payment_refused,
            "elapsed_s": round2(secs),
            "latency": timings.summary(),
            "invariants": checks,
        }),
        reference: json!({"what": "the same orders by one client", "orders_per_s": ref_per_s,
            "completed_orders": ref_tally.completed}),
        ratio: Some(round2(per_s / ref_per_s.max(f64::MIN_POSITIVE))),
    }
    .emit();
    Ok(())
}
