//! `o2c`: order to cash through the HTTP API of a real `nave serve`, like a
//! client would: per order create a quote → accept → convert to a sales
//! order (confirmed, stock reserved) → create a shipment of everything → ship
//! → invoice the order → issue → record a payment allocated to the invoice.
//! Eight calls per order. K clients run at once, each its share of orders.
//!
//! The reference, measured in the same run against the same server, is the
//! same number of calls to a trivial endpoint (`GET /api/v1/me`): the HTTP,
//! JSON and authentication floor under the workload. Afterwards the end state
//! is checked in the database: every invoice paid, totals and payments equal
//! to what the server quoted, stock down by exactly what was shipped.

use std::collections::HashMap;
use std::time::Instant;

use clap::Args;
use nave_store::args;
use nave_store::tenants::DEFAULT_TENANT;
use serde_json::{Value, json};

use super::{Api, BenchDb, Common, Report, Rng, Server, Timings, admin_token, id_of, round2};

#[derive(Debug, Args)]
pub struct O2cArgs {
    #[command(flatten)]
    pub common: Common,
    /// Orders to run through.
    #[arg(long, default_value_t = 1000)]
    pub orders: usize,
    /// Concurrent clients; one run per value (e.g. --clients 1,8).
    #[arg(long, value_delimiter = ',', default_values_t = vec![1, 8])]
    pub clients: Vec<usize>,
    /// Customers the orders are spread over.
    #[arg(long, default_value_t = 100)]
    pub customers: usize,
    /// Products in stock.
    #[arg(long, default_value_t = 200)]
    pub products: usize,
}

impl O2cArgs {
    pub fn new(common: Common, orders: usize) -> O2cArgs {
        O2cArgs { common, orders, clients: vec![1, 8], customers: 100, products: 200 }
    }
}

/// What the setup made, by public id.
pub struct Catalog {
    pub customers: Vec<String>,
    /// (id, unit price in cents)
    pub products: Vec<String>,
    pub opening_stock: i64,
}

/// A 10 % tax, Net 30 customers in EUR, products with stock in one warehouse.
pub async fn setup(api: &Api, customers: usize, products: usize, opening_stock: i64) -> anyhow::Result<Catalog> {
    let mut t = Timings::default();
    let tax = api.post(&mut t, "setup", "/taxes", &json!({"name": "VAT 10 %", "rate": "10"}), 201).await?;
    let cat =
        api.post(&mut t, "setup", "/tax-categories", &json!({"name": "Standard", "tax_ids": [tax["id"]]}), 201).await?;
    let wh = api.post(&mut t, "setup", "/warehouses", &json!({"name": "Main"}), 201).await?;
    let terms = api.get(&mut t, "setup", "/payment-terms").await?;
    let net30 = terms["data"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["name"] == "Net 30"))
        .map(|x| x["id"].clone())
        .ok_or_else(|| anyhow::anyhow!("no Net 30 payment terms"))?;
    let mut ids = Vec::with_capacity(products);
    let mut stock_lines = Vec::with_capacity(products);
    for i in 0..products {
        let price = format!("{}.{:02}", 5 + (i * 37) % 120, (i * 13) % 100);
        let body = json!({"sku": format!("P{i:05}"), "name": format!("Product {i}"), "list_price": price,
            "currency": "EUR", "tax_category_id": cat["id"], "cost": "3.00"});
        let p = api.post(&mut t, "setup", "/products", &body, 201).await?;
        stock_lines.push(json!({"product_id": p["id"], "quantity": opening_stock.to_string(), "unit_cost": "3.00"}));
        ids.push(id_of(&p)?);
    }
    for chunk in stock_lines.chunks(100) {
        let body = json!({"warehouse_id": wh["id"], "reason": "opening balance", "lines": chunk});
        api.post(&mut t, "setup", "/stock-adjustments", &body, 201).await?;
    }
    let mut accs = Vec::with_capacity(customers);
    for i in 0..customers {
        let body = json!({"name": format!("Customer {i:04} Ltd"), "currency": "EUR", "payment_terms_id": net30});
        accs.push(id_of(&api.post(&mut t, "setup", "/accounts", &body, 201).await?)?);
    }
    Ok(Catalog { customers: accs, products: ids, opening_stock })
}

/// What one client did: per product the quantity shipped, and the invoiced total in cents.
#[derive(Default)]
struct Done {
    shipped: HashMap<String, i64>,
    invoiced_cents: i64,
    orders: usize,
}

fn cents(v: &Value) -> anyhow::Result<i64> {
    let s = v.as_str().ok_or_else(|| anyhow::anyhow!("not a decimal string: {v}"))?;
    let d: rust_decimal::Decimal = s.parse()?;
    Ok((d * rust_decimal::Decimal::from(100)).trunc().try_into()?)
}

/// One order through to cash: eight calls.
async fn one_order(api: &Api, t: &mut Timings, cat: &Catalog, rng: &mut Rng, done: &mut Done) -> anyhow::Result<()> {
    let account = &cat.customers[rng.below(cat.customers.len() as u64) as usize];
    let mut lines = Vec::with_capacity(5);
    let mut qty = Vec::with_capacity(5);
    let mut used = Vec::new();
    while lines.len() < 5 {
        let p = rng.below(cat.products.len() as u64) as usize;
        if used.contains(&p) {
            continue;
        }
        used.push(p);
        let q = 1 + rng.below(5) as i64;
        lines.push(json!({"product_id": cat.products[p], "quantity": q.to_string()}));
        qty.push((p, q));
    }
    let q = api.post(t, "create_quote", "/quotes", &json!({"account_id": account, "lines": lines}), 201).await?;
    let qid = id_of(&q)?;
    api.post(t, "accept_quote", &format!("/quotes/{qid}/accept"), &json!({}), 200).await?;
    let order =
        api.post(t, "convert_quote", &format!("/quotes/{qid}/convert"), &json!({"to": "sales_order"}), 201).await?;
    anyhow::ensure!(order["status"] == "open", "the converted order is {}", order["status"]);
    let oid = id_of(&order)?;
    let ship = api.post(t, "create_shipment", "/shipments", &json!({"sales_order_id": oid}), 201).await?;
    api.post(t, "ship", &format!("/shipments/{}/ship", id_of(&ship)?), &json!({}), 200).await?;
    let inv =
        api.post(t, "create_invoice", "/invoices", &json!({"account_id": account, "sales_order_id": oid}), 201).await?;
    let inv = api.post(t, "issue_invoice", &format!("/invoices/{}/issue", id_of(&inv)?), &json!({}), 200).await?;
    anyhow::ensure!(inv["totals"]["total"] == q["totals"]["total"], "invoice total differs from the quote's");
    let total = inv["totals"]["total"].clone();
    let pay = json!({"account_id": account, "amount": total, "currency": "EUR", "method": "bank_transfer",
        "reference": inv["number"], "allocations": [{"invoice_id": inv["id"], "amount": total}]});
    let p = api.post(t, "record_payment", "/payments", &pay, 201).await?;
    anyhow::ensure!(p["unallocated"] == "0.00", "payment left {} unallocated", p["unallocated"]);
    for (p, q) in qty {
        *done.shipped.entry(cat.products[p].clone()).or_default() += q;
    }
    done.invoiced_cents += cents(&total)?;
    done.orders += 1;
    Ok(())
}

/// The floor: `calls` trivial authenticated calls over `clients` connections.
async fn http_floor(api: &Api, calls: usize, clients: usize) -> anyhow::Result<(f64, Timings)> {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let api = api.clone();
        let n = calls / clients + usize::from(c < calls % clients);
        tasks.push(tokio::spawn(async move {
            let mut t = Timings::default();
            for _ in 0..n {
                api.get(&mut t, "me", "/me").await?;
            }
            Ok::<_, anyhow::Error>(t)
        }));
    }
    let mut all = Timings::default();
    for task in tasks {
        all.merge(task.await??);
    }
    Ok((start.elapsed().as_secs_f64(), all))
}

/// Checks the end state in the database after `orders` orders.
async fn check(db: &BenchDb, cat: &Catalog, done: &Done, orders: usize) -> anyhow::Result<()> {
    let mut tx = db.db.read().await?;
    let t = DEFAULT_TENANT;
    let paid = tx
        .scalar_i64(
            "SELECT COUNT(*) AS v FROM documents WHERE tenant_id = $1 AND doc_type = 'invoice' AND status = 'paid' \
             AND balance_minor = 0",
            args![t],
        )
        .await?;
    anyhow::ensure!(paid as usize == orders, "{paid} invoices are paid, expected {orders}");
    let invoiced = tx
        .scalar_i64(
            "SELECT CAST(COALESCE(SUM(total_minor), 0) AS BIGINT) AS v FROM documents WHERE tenant_id = $1 \
             AND doc_type = 'invoice'",
            args![t],
        )
        .await?;
    anyhow::ensure!(
        invoiced == done.invoiced_cents,
        "invoiced {invoiced} cents, the clients saw {}",
        done.invoiced_cents
    );
    let received = tx
        .scalar_i64(
            "SELECT CAST(COALESCE(SUM(allocated_minor), 0) AS BIGINT) AS v FROM payments WHERE tenant_id = $1",
            args![t],
        )
        .await?;
    anyhow::ensure!(received == invoiced, "payments allocated {received} cents against {invoiced} invoiced");
    let levels = tx
        .fetch_all(
            "SELECT p.public_id, l.on_hand_e4, l.reserved_e4 FROM stock_levels l \
             JOIN products p ON p.tenant_id = l.tenant_id AND p.id = l.product_id WHERE l.tenant_id = $1",
            args![t],
            |r| Ok((r.uuid("public_id")?, r.i64("on_hand_e4")?, r.i64("reserved_e4")?)),
        )
        .await?;
    anyhow::ensure!(
        levels.len() == cat.products.len(),
        "{} stock levels for {} products",
        levels.len(),
        cat.products.len()
    );
    for (pid, on_hand, reserved) in levels {
        let id = nave_domain::ids::PublicId::from_uuid(pid).to_string();
        let shipped = done.shipped.get(&id).copied().unwrap_or(0);
        let want = (cat.opening_stock - shipped) * 10_000;
        anyhow::ensure!(on_hand == want, "product {id}: on hand {on_hand} (1e-4), expected {want}");
        anyhow::ensure!(reserved == 0, "product {id}: {reserved} (1e-4) still reserved after shipping everything");
    }
    tx.rollback().await?;
    Ok(())
}

/// One run with `clients` clients on a fresh database.
pub async fn run_once(a: &O2cArgs, clients: usize) -> anyhow::Result<Report> {
    let clients = clients.max(1);
    let db = BenchDb::fresh(&a.common).await?;
    let token = admin_token(&db.db).await?;
    let server = Server::start(&db.url)?;
    let api = Api::new(&server.base, &token)?;
    let opening = (a.orders as i64 * 25).max(1000);
    let cat = std::sync::Arc::new(setup(&api, a.customers, a.products, opening).await?);
    eprintln!("o2c: {} orders, {clients} client(s), {} on {}", a.orders, server.base, db.engine);

    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let api = api.clone();
        let cat = cat.clone();
        let n = a.orders / clients + usize::from(c < a.orders % clients);
        let seed = a.common.seed.wrapping_add(c as u64 * 7919);
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng::new(seed);
            let mut t = Timings::default();
            let mut done = Done::default();
            for _ in 0..n {
                one_order(&api, &mut t, &cat, &mut rng, &mut done).await?;
            }
            Ok::<_, anyhow::Error>((t, done))
        }));
    }
    let mut timings = Timings::default();
    let mut done = Done::default();
    for task in tasks {
        let (t, d) = task.await??;
        timings.merge(t);
        for (k, v) in d.shipped {
            *done.shipped.entry(k).or_default() += v;
        }
        done.invoiced_cents += d.invoiced_cents;
        done.orders += d.orders;
    }
    let secs = start.elapsed().as_secs_f64();
    let (rss, peak) = server.rss_mb();
    let calls = timings.calls();
    let (floor_secs, mut floor) = http_floor(&api, calls, clients).await?;
    drop(server);
    check(&db, &cat, &done, a.orders).await?;
    db.finish().await;

    let orders_per_s = round2(a.orders as f64 / secs);
    let floor_orders_per_s = round2(a.orders as f64 / floor_secs);
    Ok(Report {
        workload: "o2c",
        db: db_name(&a.common),
        params: json!({"orders": a.orders, "clients": clients, "customers": a.customers, "products": a.products,
            "lines_per_order": 5, "calls_per_order": calls as f64 / a.orders.max(1) as f64, "seed": a.common.seed}),
        metrics: json!({
            "orders_per_s": orders_per_s,
            "calls_per_s": round2(calls as f64 / secs),
            "elapsed_s": round2(secs),
            "server_rss_mb": rss,
            "server_peak_rss_mb": peak,
            "latency": timings.summary(),
            "end_state": "every order shipped, invoiced and paid; stock and totals checked",
        }),
        reference: json!({
            "what": "the same number of GET /api/v1/me calls (HTTP + JSON + token check), as orders",
            "orders_per_s": floor_orders_per_s,
            "latency": floor.summary(),
        }),
        ratio: Some(round2(orders_per_s / floor_orders_per_s.max(f64::MIN_POSITIVE))),
    })
}

pub fn db_name(c: &Common) -> &'static str {
    match c.db.as_deref() {
        Some(u) if u.starts_with("postgres") => "postgres",
        _ => "sqlite",
    }
}

pub async fn run(a: O2cArgs) -> anyhow::Result<()> {
    anyhow::ensure!(a.orders > 0, "--orders must be at least 1");
    anyhow::ensure!(a.customers > 0 && a.products >= 5, "--customers must be ≥ 1 and --products ≥ 5");
    for &k in &a.clients {
        run_once(&a, k).await?.emit();
    }
    Ok(())
}
