//! Profit contribution, ranking by margin and payables aging
//! (`GET /api/v1/reports/…`) on both databases, over a scenario built
//! through the API: two purchase orders received at two costs, a sale
//! shipped and invoiced, a return on a credit note, a standalone invoice,
//! and suppliers' bills part paid. The figures are computed by hand and
//! checked against the documents API; field security for a sales rep; the
//! CSV against the JSON; payables aging buckets at chosen dates and scope.

mod support;

use nave_testkit::{TestDb, both_backends};
use reqwest::Method;
use serde_json::{Value, json};
use support::{TestApp, TestUser, json, page, session};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_string()
}

async fn created(app: &TestApp, who: &TestUser, path: &str, body: Value) -> Value {
    let (status, v) = json(app.post(path, who, &body).await).await;
    assert!(status == 201 || status == 200, "{path}: {status} {v}");
    v
}

async fn act(app: &TestApp, who: &TestUser, path: &str) -> Value {
    created(app, who, path, json!({})).await
}

async fn get(app: &TestApp, who: &TestUser, path: &str) -> Value {
    let (status, v) = json(app.get(path, who).await).await;
    assert_eq!(status, 200, "{path}: {v}");
    v
}

fn rows(v: &Value) -> &Vec<Value> {
    v["rows"].as_array().unwrap_or_else(|| panic!("rows: {v}"))
}

fn row<'a>(v: &'a Value, name: &str) -> &'a Value {
    rows(v).iter().find(|r| r["name"] == name).unwrap_or_else(|| panic!("{name} in {v}"))
}

/// Minor units of a decimal string ("12.50" → 1250).
fn minor(s: &Value) -> i64 {
    let s = s.as_str().unwrap_or_else(|| panic!("not an amount: {s}"));
    let (int, frac) = s.split_once('.').unwrap_or((s, "00"));
    let v = int.trim_start_matches('-').parse::<i64>().unwrap() * 100 + frac.parse::<i64>().unwrap();
    if s.starts_with('-') { -v } else { v }
}

const PERIOD: &str = "from=2000-01-01&to=2099-12-31";

struct World {
    app: TestApp,
    mgr: TestUser,
    rob: TestUser,
    /// Rob's customer, and Sara's.
    acme: String,
    bolt: String,
    /// The goods (category Widgets) and the service (category Services).
    a: String,
    order: Value,
}

/// In USD, the company currency; no taxes.
///
/// - Widget A is bought 4 at 8.00, then 6 at 10.50: moving average 9.50.
/// - Acme (Rob's) orders 5 A at 20.00 and 2 hours of service S at 12.00
///   (cost 5.00); shipped and invoiced: net 124.00, cost 47.50 + 10.00.
/// - Acme returns 1 A to stock on a credit note: 20.00 credited, 9.50 of cost given back.
/// - Bolt (Sara's) is invoiced 1 A at 25.00 without an order: cost 9.50 (the product's cost).
///
/// | | net | cost | margin |
/// |---|---|---|---|
/// | Acme | 104.00 | 48.00 | 56.00 (53.8 %) |
/// | Bolt | 25.00 | 9.50 | 15.50 (62.0 %) |
/// | A | 105.00 | 47.50 | 57.50 (54.8 %) |
/// | S | 24.00 | 10.00 | 14.00 (58.3 %) |
async fn world(db: TestDb) -> World {
    let app = TestApp::start(db).await;
    let mgr = app.user("mgr@example.com", "admin").await;
    let rob = app.user("rob@example.com", "sales_rep").await;
    let sara = app.user("sara@example.com", "sales_rep").await;
    let main = created(&app, &mgr, "/api/v1/warehouses", json!({"name": "Main"})).await;
    let supplier = created(
        &app,
        &mgr,
        "/api/v1/accounts",
        json!({"name": "Initech Parts", "currency": "USD", "kinds": ["supplier"]}),
    )
    .await;
    let widgets = created(&app, &mgr, "/api/v1/product-categories", json!({"name": "Widgets"})).await;
    let services = created(&app, &mgr, "/api/v1/product-categories", json!({"name": "Services"})).await;
    let a = created(
        &app,
        &mgr,
        "/api/v1/products",
        json!({"sku": "A", "name": "Widget A", "list_price": "20.00", "currency": "USD", "category_id": widgets["id"]}),
    )
    .await;
    let s = created(
        &app,
        &mgr,
        "/api/v1/products",
        json!({"sku": "S", "name": "Fitting service", "kind": "service", "unit": "h", "list_price": "12.00",
               "currency": "USD", "cost": "5.00", "category_id": services["id"]}),
    )
    .await;
    for (qty, price) in [("4", "8.00"), ("6", "10.50")] {
        let po = created(
            &app,
            &mgr,
            "/api/v1/purchase-orders",
            json!({"account_id": supplier["id"], "warehouse_id": main["id"],
                   "lines": [{"product_id": a["id"], "quantity": qty, "unit_price": price}]}),
        )
        .await;
        let po = act(&app, &mgr, &format!("/api/v1/purchase-orders/{}/confirm", id(&po))).await;
        let r = created(
            &app,
            &mgr,
            "/api/v1/receipts",
            json!({"account_id": supplier["id"], "purchase_order_id": po["id"]}),
        )
        .await;
        act(&app, &mgr, &format!("/api/v1/receipts/{}/receive", id(&r))).await;
    }
    let a_now = get(&app, &mgr, &format!("/api/v1/products/{}", id(&a))).await;
    assert!(a_now["cost"].as_str().unwrap().starts_with("9.50"), "moving average: {a_now}");
    let customer = |name: &str, owner: &TestUser| json!({"name": name, "currency": "USD", "kinds": ["customer"], "owner_id": owner.user.id.to_string()});
    let acme = id(&created(&app, &mgr, "/api/v1/accounts", customer("Acme", &rob)).await);
    let bolt = id(&created(&app, &mgr, "/api/v1/accounts", customer("Bolt", &sara)).await);
    let order = created(
        &app,
        &mgr,
        "/api/v1/sales-orders",
        json!({"account_id": acme, "warehouse_id": main["id"],
               "lines": [{"product_id": a["id"], "quantity": "5", "unit_price": "20.00"},
                         {"product_id": s["id"], "quantity": "2", "unit_price": "12.00"}]}),
    )
    .await;
    let order = act(&app, &mgr, &format!("/api/v1/sales-orders/{}/confirm", id(&order))).await;
    let sh = created(&app, &mgr, "/api/v1/shipments", json!({"sales_order_id": order["id"]})).await;
    act(&app, &mgr, &format!("/api/v1/shipments/{}/ship", id(&sh))).await;
    let inv = created(&app, &mgr, "/api/v1/invoices", json!({"account_id": acme, "sales_order_id": order["id"]})).await;
    let inv = act(&app, &mgr, &format!("/api/v1/invoices/{}/issue", id(&inv))).await;
    assert_eq!((inv["totals"]["net"].as_str(), inv["cost"].as_str()), (Some("124.00"), Some("57.50")), "{inv}");
    let a_line = inv["groups"][0]["lines"][0].clone();
    let cn = created(
        &app,
        &mgr,
        "/api/v1/credit-notes",
        json!({"account_id": acme, "invoice_id": inv["id"], "return_to_stock": true, "warehouse_id": main["id"],
               "lines": [{"product_id": a["id"], "quantity": "1", "origin_line_id": a_line["id"]}]}),
    )
    .await;
    let cn = act(&app, &mgr, &format!("/api/v1/credit-notes/{}/issue", id(&cn))).await;
    assert_eq!(cn["totals"]["net"], "20.00", "{cn}");
    assert_eq!(cn["groups"][0]["lines"][0]["cost"], "9.50", "the cost the return gives back: {cn}");
    let b = created(
        &app,
        &mgr,
        "/api/v1/invoices",
        json!({"account_id": bolt, "lines": [{"product_id": a["id"], "quantity": "1", "unit_price": "25.00"}]}),
    )
    .await;
    let b = act(&app, &mgr, &format!("/api/v1/invoices/{}/issue", id(&b))).await;
    assert_eq!(b["cost"], "9.50", "{b}");
    World { app, mgr, rob, acme, bolt, a: id(&a), order }
}

/// (net, cost) of what the documents API lists: invoices less credit notes.
async fn documents_figures(w: &World) -> (i64, i64) {
    let (mut net, mut cost) = (0, 0);
    for (resource, sign) in [("invoices", 1), ("credit-notes", -1)] {
        let list = get(&w.app, &w.mgr, &format!("/api/v1/{resource}?limit=100")).await;
        for d in list["data"].as_array().unwrap() {
            let d = get(&w.app, &w.mgr, &format!("/api/v1/{resource}/{}", id(d))).await;
            net += sign * minor(&d["totals"]["net"]);
            for g in d["groups"].as_array().unwrap() {
                for l in g["lines"].as_array().unwrap() {
                    if l.get("cost").is_some() {
                        cost += sign * minor(&l["cost"]);
                    }
                }
            }
        }
    }
    (net, cost)
}

/// (name, net, cost, cost returned, margin, margin %) of each row.
fn figures(v: &Value) -> Vec<(String, String, String, String, String, String)> {
    let s = |x: &Value| x.as_str().unwrap_or("-").to_string();
    rows(v)
        .iter()
        .map(|r| {
            (
                s(&r["name"]),
                s(&r["net"]),
                s(&r["cost"]),
                s(&r["cost_returned"]),
                s(&r["margin"]),
                s(&r["margin_percent"]),
            )
        })
        .collect()
}

fn fig(
    name: &str,
    net: &str,
    cost: &str,
    returned: &str,
    margin: &str,
    pct: &str,
) -> (String, String, String, String, String, String) {
    (name.into(), net.into(), cost.into(), returned.into(), margin.into(), pct.into())
}

async fn profit_per_customer_product_line_and_order_equals_the_documents(db: TestDb) {
    let w = world(db).await;
    let r = get(&w.app, &w.mgr, &format!("/api/v1/reports/profit-by-customer?{PERIOD}")).await;
    assert_eq!(
        (r["by"].as_str(), r["order"].as_str(), r["company_currency"].as_str()),
        (Some("customer"), Some("margin"), Some("USD"))
    );
    assert_eq!(
        figures(&r),
        [
            fig("Acme", "104.00", "48.00", "9.50", "56.00", "53.8"),
            fig("Bolt", "25.00", "9.50", "0.00", "15.50", "62.0")
        ],
        "{r}"
    );
    let acme = row(&r, "Acme");
    assert_eq!((acme["invoiced"].as_str(), acme["credited"].as_str()), (Some("124.00"), Some("20.00")));
    assert_eq!((acme["invoices"].as_i64(), acme["credit_notes"].as_i64()), (Some(1), Some(1)));
    assert_eq!(acme["id"], w.acme.as_str());
    assert!(acme["documents"].as_str().unwrap().starts_with(&format!("/api/v1/invoices?account_id={}", w.acme)));
    // The totals are the documents': net invoiced less credited, cost recorded less given back.
    let (net, cost) = documents_figures(&w).await;
    assert_eq!((net, cost), (12_900, 5_750));
    let total = &r["totals"][0];
    assert_eq!((minor(&total["net"]), minor(&total["cost"]), minor(&total["margin"])), (net, cost, net - cost), "{r}");
    assert_eq!(total["margin_percent"], "55.4");

    let r = get(&w.app, &w.mgr, &format!("/api/v1/reports/profit-by-product?{PERIOD}")).await;
    assert_eq!(
        figures(&r),
        [
            fig("Widget A", "105.00", "47.50", "9.50", "57.50", "54.8"),
            fig("Fitting service", "24.00", "10.00", "0.00", "14.00", "58.3")
        ],
        "{r}"
    );
    assert_eq!(
        (row(&r, "Widget A")["sku"].as_str(), row(&r, "Widget A")["id"].as_str()),
        (Some("A"), Some(w.a.as_str()))
    );
    // Ranked by net sales on request: the same rows, the same order here.
    let by_rev = get(&w.app, &w.mgr, &format!("/api/v1/reports/profit-by-product?{PERIOD}&order=revenue")).await;
    assert_eq!(by_rev["order"], "revenue");
    assert_eq!(figures(&by_rev), figures(&r));

    let r = get(&w.app, &w.mgr, &format!("/api/v1/reports/profit-by-category?{PERIOD}")).await;
    assert_eq!(
        figures(&r),
        [
            fig("Widgets", "105.00", "47.50", "9.50", "57.50", "54.8"),
            fig("Services", "24.00", "10.00", "0.00", "14.00", "58.3")
        ]
    );
    // One product line only, as a filter.
    let cats = get(&w.app, &w.mgr, "/api/v1/product-categories").await;
    let services = cats["data"].as_array().unwrap().iter().find(|c| c["name"] == "Services").unwrap()["id"].clone();
    let r = get(
        &w.app,
        &w.mgr,
        &format!("/api/v1/reports/profit-by-customer?{PERIOD}&category_id={}", services.as_str().unwrap()),
    )
    .await;
    assert_eq!(figures(&r), [fig("Acme", "24.00", "10.00", "0.00", "14.00", "58.3")]);

    let r = get(&w.app, &w.mgr, &format!("/api/v1/reports/profit-by-order?{PERIOD}")).await;
    let number = w.order["number"].as_str().unwrap();
    assert_eq!(
        figures(&r),
        [
            fig(number, "104.00", "48.00", "9.50", "56.00", "53.8"),
            fig("(no sales order)", "25.00", "9.50", "0.00", "15.50", "62.0")
        ]
    );
    let so = row(&r, number);
    assert_eq!(so["account"]["name"], "Acme");
    assert_eq!(so["documents"], format!("/api/v1/sales-orders/{}", id(&w.order)));
    // Every grouping adds up to the same totals.
    for slug in ["profit-by-product", "profit-by-category", "profit-by-order"] {
        let r = get(&w.app, &w.mgr, &format!("/api/v1/reports/{slug}?{PERIOD}")).await;
        assert_eq!((minor(&r["totals"][0]["net"]), minor(&r["totals"][0]["cost"])), (net, cost), "{slug}");
    }
    // Outside the period: nothing.
    let r = get(&w.app, &w.mgr, "/api/v1/reports/profit-by-customer?from=2001-01-01&to=2001-12-31").await;
    assert!(rows(&r).is_empty() && r["totals"].as_array().unwrap().is_empty(), "{r}");
}

async fn top_customers_and_products_rank_by_margin_too(db: TestDb) {
    let w = world(db).await;
    // Acme leads by net sales and by margin.
    let r = get(&w.app, &w.mgr, &format!("/api/v1/reports/top-customers?{PERIOD}&order=margin")).await;
    assert_eq!(r["order"], "margin");
    let got: Vec<(String, String, String, String)> = rows(&r)
        .iter()
        .map(|x| {
            let s = |k: &str| x[k].as_str().unwrap_or("-").to_string();
            (x["account"]["name"].as_str().unwrap().to_string(), s("net"), s("cost"), s("margin"))
        })
        .collect();
    assert_eq!(
        got,
        [
            ("Acme".into(), "104.00".into(), "48.00".into(), "56.00".into()),
            ("Bolt".into(), "25.00".into(), "9.50".into(), "15.50".into())
        ]
    );
    let r = get(&w.app, &w.mgr, &format!("/api/v1/reports/top-products?{PERIOD}&order=margin&limit=1")).await;
    let got: Vec<(String, String, String, String)> = rows(&r)
        .iter()
        .map(|x| {
            let s = |k: &str| x[k].as_str().unwrap_or("-").to_string();
            (s("group"), s("sku"), s("margin"), s("margin_percent"))
        })
        .collect();
    assert_eq!(
        got,
        [
            ("most".into(), "A".into(), "57.50".into(), "54.8".into()),
            ("least".into(), "S".into(), "14.00".into(), "58.3".into())
        ]
    );
    // A product sold at a loss ranks last by margin although it sold more than S.
    let mut tx = w.app.db.db.write().await.unwrap();
    tx.execute(
        "UPDATE document_lines SET cost_minor = 20000 WHERE cost_minor = 950 AND document_id IN \
         (SELECT id FROM documents WHERE doc_type = 'invoice')",
        vec![],
    )
    .await
    .unwrap();
    // Written past the store: the sales summaries are rebuilt, as after any bulk change.
    nave_store::sales_summary::rebuild(&mut tx, nave_store::tenants::DEFAULT_TENANT).await.unwrap();
    tx.commit().await.unwrap();
    let r = get(&w.app, &w.mgr, &format!("/api/v1/reports/top-products?{PERIOD}&order=margin&limit=1")).await;
    assert_eq!((rows(&r)[0]["sku"].as_str(), rows(&r)[1]["sku"].as_str()), (Some("S"), Some("A")), "{r}");
    assert_eq!(rows(&r)[1]["margin"], "-133.00");
    let r = get(&w.app, &w.mgr, &format!("/api/v1/reports/top-products?{PERIOD}&limit=1")).await;
    assert_eq!(rows(&r)[0]["sku"], "A", "by net sales: {r}");
    // A bad ranking names the parameter.
    let (status, p) = json(w.app.get("/api/v1/reports/top-customers?order=profit", &w.mgr).await).await;
    assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some("order")), "{p}");
}

async fn a_sales_rep_sees_no_cost_or_margin_anywhere(db: TestDb) {
    let w = world(db).await;
    let r = get(&w.app, &w.rob, &format!("/api/v1/reports/profit-by-customer?{PERIOD}")).await;
    assert_eq!(
        (r["with_cost"].as_bool(), r["with_margin"].as_bool(), r["order"].as_str()),
        (Some(false), Some(false), Some("revenue"))
    );
    assert_eq!(rows(&r).len(), 1, "Rob's own account only: {r}");
    let acme = row(&r, "Acme");
    assert_eq!(acme["net"], "104.00");
    let text = r.to_string();
    for k in ["\"cost\"", "\"cost_returned\"", "\"margin\"", "\"margin_percent\""] {
        assert!(!text.contains(k), "{k} shown to a rep: {r}");
    }
    for slug in ["top-customers", "top-products", "profit-by-product", "profit-by-category", "profit-by-order"] {
        let r = get(&w.app, &w.rob, &format!("/api/v1/reports/{slug}?{PERIOD}")).await;
        assert!(!r.to_string().contains("\"margin") && !r.to_string().contains("\"cost"), "{slug}: {r}");
        let csv = w.app.get(&format!("/api/v1/reports/{slug}?{PERIOD}&format=csv"), &w.rob).await.text().await.unwrap();
        let header = csv.lines().next().unwrap();
        assert!(!header.contains("cost") && !header.contains("margin"), "{slug} CSV: {header}");
    }
    // Ranking by margin is refused, naming the parameter.
    let (status, p) = json(w.app.get("/api/v1/reports/top-customers?order=margin", &w.rob).await).await;
    assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some("order")), "{p}");
    // The credit note's returned cost is hidden from a role without view_cost.
    let viewer = w.app.user("viewer@example.com", "read_only").await;
    let cns = get(&w.app, &w.mgr, "/api/v1/credit-notes").await;
    let cn = get(&w.app, &viewer, &format!("/api/v1/credit-notes/{}", id(&cns["data"][0]))).await;
    assert!(cn["groups"][0]["lines"][0].get("cost").is_none(), "{cn}");
    // The page: net sales, no cost or margin column; no margin ranking offered.
    let cookie = session(&w.app, "rob@example.com").await;
    let (status, html) = page(&w.app, &cookie, &format!("/reports/profit-by-customer?{PERIOD}")).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("104.00") && !html.contains("Bolt"), "{html}");
    assert!(!html.contains(">margin<") && !html.contains(">cost<") && !html.contains("48.00"), "{html}");
    assert!(!html.contains("name=\"order\""), "{html}");
    let visible = html.split("<body").nth(1).unwrap_or(&html).to_lowercase();
    let words: Vec<&str> = visible.split(|c: char| !c.is_alphanumeric()).collect();
    assert!(!words.iter().any(|w| matches!(*w, "cost" | "costs" | "margin" | "margins")), "{html}");
    // Nor are the profit reports listed for a rep; a manager has them.
    let (_, index) = page(&w.app, &cookie, "/reports").await;
    assert!(!index.contains("/reports/profit-by") && index.contains("/reports/top-customers"), "{index}");
    // The manager's page has them, and a chart.
    let cookie = session(&w.app, "mgr@example.com").await;
    let (_, index) = page(&w.app, &cookie, "/reports").await;
    assert!(index.contains("/reports/profit-by-order"), "{index}");
    let (_, html) = page(&w.app, &cookie, &format!("/reports/profit-by-customer?{PERIOD}")).await;
    assert!(html.contains(">margin<") && html.contains("56.00") && html.contains("<svg"), "{html}");
    assert!(html.contains("Margin") && html.contains("Amount (USD)"), "{html}");
    assert!(html.contains(&format!("/invoices?account_id={}", w.acme)), "drill-down: {html}");
    assert!(html.contains(&format!("account_id={}", w.bolt)));
}

/// CSV text as rows of cells (no quoted commas in this data).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    text.lines().map(|l| l.split(',').map(|c| c.trim_matches('"').to_string()).collect()).collect()
}

async fn the_profit_csv_has_the_figures_of_the_json(db: TestDb) {
    let w = world(db).await;
    for slug in ["profit-by-customer", "profit-by-product", "profit-by-order"] {
        let r = get(&w.app, &w.mgr, &format!("/api/v1/reports/{slug}?{PERIOD}")).await;
        let resp = w.app.get(&format!("/api/v1/reports/{slug}?{PERIOD}&format=csv"), &w.mgr).await;
        assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
        let csv = csv_rows(&resp.text().await.unwrap());
        assert_eq!(csv.len(), rows(&r).len() + 1, "{slug}");
        let col = |name: &str| {
            csv[0].iter().position(|c| c == name).unwrap_or_else(|| panic!("{slug}: {name} in {:?}", csv[0]))
        };
        for (line, x) in csv[1..].iter().zip(rows(&r)) {
            for k in ["net", "invoiced", "credited", "cost", "cost_returned", "margin", "margin_percent", "currency"] {
                assert_eq!(line[col(k)], x[k].as_str().unwrap(), "{slug} {k}");
            }
            assert_eq!(line[1], x["id"].as_str().unwrap_or(""), "{slug} id");
        }
    }
    let r = get(&w.app, &w.mgr, &format!("/api/v1/reports/top-customers?{PERIOD}&order=margin")).await;
    let text = w.app.get(&format!("/api/v1/reports/top-customers?{PERIOD}&order=margin&format=csv"), &w.mgr).await;
    let csv = csv_rows(&text.text().await.unwrap());
    assert_eq!(
        csv[0],
        ["rank", "account", "account_id", "currency", "net", "share_percent", "cost", "margin", "margin_percent"]
    );
    assert_eq!(csv[1][7], rows(&r)[0]["margin"].as_str().unwrap());
}

/// Bills of two suppliers, one of them the buyer's: Initech 100.00 (2026-01-01),
/// 50.00 (2026-02-20) and 30.00 (2025-10-01), 40.00 paid on 2026-03-01;
/// Globex 70.00 (2026-03-10). No payment terms: due on their date.
async fn payables_age_at_any_date_within_scope(db: TestDb) {
    let app = TestApp::start(db).await;
    let mgr = app.user("mgr@example.com", "admin").await;
    let perms = json!([{"record_type": "bill", "action": "read", "scope": "own"},
                       {"record_type": "account", "action": "read", "scope": "own"}]);
    created(&app, &mgr, "/api/v1/roles", json!({"name": "buyer", "permissions": perms})).await;
    let buyer = app.user("buyer@example.com", "buyer").await;
    let supplier = |name: &str, owner: &TestUser| json!({"name": name, "currency": "USD", "kinds": ["supplier"], "owner_id": owner.user.id.to_string()});
    let initech = created(&app, &mgr, "/api/v1/accounts", supplier("Initech", &buyer)).await;
    let globex = created(&app, &mgr, "/api/v1/accounts", supplier("Globex", &mgr)).await;
    let mut bills = vec![];
    for (who, reference, date, amount) in [
        (&initech, "I-1", "2026-01-01", "100.00"),
        (&initech, "I-2", "2026-02-20", "50.00"),
        (&initech, "I-3", "2025-10-01", "30.00"),
        (&globex, "G-1", "2026-03-10", "70.00"),
    ] {
        let b = created(
            &app,
            &mgr,
            "/api/v1/bills",
            json!({"account_id": who["id"], "reference": reference, "date": date,
                   "lines": [{"description": "Parts", "quantity": "1", "unit_price": amount}]}),
        )
        .await;
        bills.push(act(&app, &mgr, &format!("/api/v1/bills/{}/issue", id(&b))).await);
    }
    created(
        &app,
        &mgr,
        "/api/v1/payments-sent",
        json!({"account_id": initech["id"], "amount": "40.00", "method": "bank_transfer", "date": "2026-03-01",
               "allocations": [{"bill_id": bills[0]["id"], "amount": "40.00"}]}),
    )
    .await;
    let buckets = |r: &Value, name: &str| -> Vec<String> {
        let x = rows(r).iter().find(|x| x["account"]["name"] == name).unwrap_or_else(|| panic!("{name}: {r}"));
        ["current", "days_1_30", "days_31_60", "days_61_90", "days_over_90", "total"]
            .iter()
            .map(|k| x[k].as_str().unwrap().to_string())
            .collect()
    };
    let aging = |as_of: &str| format!("/api/v1/reports/payables-aging?as_of={as_of}");
    let r = get(&app, &mgr, &aging("2026-03-15")).await;
    assert_eq!(r["as_of"], "2026-03-15");
    assert_eq!(buckets(&r, "Initech"), ["0.00", "50.00", "0.00", "60.00", "30.00", "140.00"], "{r}");
    assert_eq!(buckets(&r, "Globex"), ["0.00", "70.00", "0.00", "0.00", "0.00", "70.00"]);
    assert_eq!(rows(&r)[0]["open_invoices"], 3);
    assert_eq!(rows(&r)[0]["documents"], format!("/api/v1/bills?account_id={}&to=2026-03-15", id(&initech)));
    // Before the payment: all of the first bill; before the second bill: without it.
    let r = get(&app, &mgr, &aging("2026-02-25")).await;
    assert_eq!(buckets(&r, "Initech"), ["0.00", "50.00", "100.00", "0.00", "30.00", "180.00"]);
    assert!(rows(&r).iter().all(|x| x["account"]["name"] != "Globex"), "not yet billed: {r}");
    let r = get(&app, &mgr, &aging("2026-01-15")).await;
    assert_eq!(buckets(&r, "Initech"), ["0.00", "100.00", "0.00", "0.00", "30.00", "130.00"]);
    // The totals are the bills' balances (documents API) at today.
    let r = get(&app, &mgr, "/api/v1/reports/payables-aging").await;
    let list = get(&app, &mgr, "/api/v1/bills?limit=100").await;
    let open: i64 = list["data"].as_array().unwrap().iter().map(|b| minor(&b["balance"])).sum();
    let total: i64 = rows(&r).iter().map(|x| minor(&x["total"])).sum();
    assert_eq!(total, open);
    // CSV = JSON.
    let text = app.get(&format!("{}&format=csv", aging("2026-03-15")), &mgr).await.text().await.unwrap();
    let csv = csv_rows(&text);
    assert_eq!(csv[0][..4], ["account", "account_id", "currency", "current"]);
    assert_eq!(csv[1][6], "60.00");
    assert_eq!(csv[1][8], "140.00");
    // Scope: the buyer sees the suppliers they own; a sales rep may not see bills at all.
    let r = get(&app, &buyer, &aging("2026-03-15")).await;
    assert_eq!(rows(&r).len(), 1, "{r}");
    assert_eq!(rows(&r)[0]["account"]["name"], "Initech");
    let rep = app.user("rep@example.com", "sales_rep").await;
    let (status, _) = json(app.get(&aging("2026-03-15"), &rep).await).await;
    assert_eq!(status, 403);
    // The page: chart, table, a link to the supplier.
    let cookie = session(&app, "mgr@example.com").await;
    let (status, html) = page(&app, &cookie, "/reports/payables-aging?as_of=2026-03-15").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("<svg") && html.contains("140.00") && html.contains("Days past due"), "{html}");
    assert!(html.contains(&format!("href=\"/accounts/{}\"", id(&initech))), "{html}");
    let (status, _) = json(app.req(Method::GET, &aging("someday"), &mgr).send().await.unwrap()).await;
    assert_eq!(status, 422);
}

both_backends!(
    profit_per_customer_product_line_and_order_equals_the_documents,
    top_customers_and_products_rank_by_margin_too,
    a_sales_rep_sees_no_cost_or_margin_anywhere,
    the_profit_csv_has_the_figures_of_the_json,
    payables_age_at_any_date_within_scope,
);
