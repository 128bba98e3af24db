//! The reports (`GET /api/v1/reports/{name}`, `/reports/{name}`) on both
//! databases, over a small company built through the API: exact figures for
//! every report, the sales total against the documents API, record scope,
//! field security, CSV against JSON, bad filters, and a chart on every page.

mod support;

use nave_store::args;
use nave_testkit::{TestDb, both_backends};
use reqwest::Method;
use serde_json::{Value, json};
use support::{TestApp, TestUser, json, page, session};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

async fn created(app: &TestApp, who: &TestUser, path: &str, body: Value) -> Value {
    let (status, v) = json(app.post(path, who, &body).await).await;
    assert!(status == 201 || status == 200, "{path}: {status} {v}");
    v
}

async fn get(app: &TestApp, who: &TestUser, path: &str) -> Value {
    let (status, v) = json(app.get(path, who).await).await;
    assert_eq!(status, 200, "{path}: {v}");
    v
}

async fn patch(app: &TestApp, who: &TestUser, path: &str, body: Value) -> Value {
    let (status, v) = json(app.req(Method::PATCH, path, who).json(&body).send().await.unwrap()).await;
    assert_eq!(status, 200, "{path}: {v}");
    v
}

struct World {
    app: TestApp,
    mgr: TestUser,
    rob: TestUser,
    sue: TestUser,
    /// Accounts A (Rob's), B (Sara's), C (Rob's).
    a: String,
    b: String,
    c: String,
    /// Products: hardware, software, services.
    h1: String,
    s1: String,
    v1: String,
}

async fn invoice(app: &TestApp, w: &TestUser, account: &str, date: &str, net30: &str, lines: Value) -> Value {
    let body = json!({"account_id": account, "date": date, "payment_terms_id": net30, "lines": lines});
    let inv = created(app, w, "/api/v1/invoices", body).await;
    created(app, w, &format!("/api/v1/invoices/{}/issue", id(&inv)), json!({})).await
}

async fn pay(app: &TestApp, w: &TestUser, account: &str, date: &str, invoice: &Value, amount: &str) {
    let body = json!({"account_id": account, "amount": amount, "currency": "EUR", "method": "bank_transfer",
        "date": date, "allocations": [{"invoice_id": invoice["id"], "amount": amount}]});
    created(app, w, "/api/v1/payments", body).await;
}

async fn open_order(app: &TestApp, w: &TestUser, account: &str, date: &str, lines: Value) -> Value {
    let o = created(app, w, "/api/v1/sales-orders", json!({"account_id": account, "date": date, "lines": lines})).await;
    let mut tx = app.db.db.write().await.unwrap();
    tx.execute(
        "UPDATE documents SET status = 'open' WHERE doc_type = 'sales_order' AND public_id = $1",
        args![o["id"].as_str().unwrap().parse::<nave_domain::ids::PublicId>().unwrap()],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    o
}

/// Three accounts, three categories, invoices over 2025 and 2026 (VAT 10 %,
/// Net 30), a credit note, payments, two open orders, opportunities, cases.
///
/// | account | 2025 net | 2026 net | 2026 by category |
/// |---|---|---|---|
/// | A (Rob) | 200.00 | 200.00 − 50.00 credited = 150.00 | Hardware 100.00, Software 50.00 |
/// | B (Sara) | 150.00 | 50.00 | Software 50.00 |
/// | C (Rob) | — | 110.00 | Hardware 100.00, Services 10.00 |
async fn world(db: TestDb) -> World {
    let app = TestApp::start(db).await;
    let mgr = app.user("mgr@example.com", "admin").await;
    let rob = app.user("rob@example.com", "sales_rep").await;
    let sara = app.user("sara@example.com", "sales_rep").await;
    let sue = app.user("sue@example.com", "support").await;
    let vat = created(&app, &mgr, "/api/v1/taxes", json!({"name": "VAT 10 %", "rate": "10"})).await;
    let std = created(&app, &mgr, "/api/v1/tax-categories", json!({"name": "Standard", "tax_ids": [vat["id"]]})).await;
    let mut products = vec![];
    for (sku, cat, price) in [("H1", "Hardware", "100.00"), ("S1", "Software", "50.00"), ("V1", "Services", "10.00")] {
        let c = created(&app, &mgr, "/api/v1/product-categories", json!({"name": cat})).await;
        let p = created(
            &app,
            &mgr,
            "/api/v1/products",
            json!({"sku": sku, "name": format!("{cat} {sku}"), "list_price": price, "currency": "EUR",
                   "category_id": c["id"], "tax_category_id": std["id"]}),
        )
        .await;
        products.push(id(&p));
    }
    let (h1, s1, v1) = (products[0].clone(), products[1].clone(), products[2].clone());
    let acc = |name: &str, owner: &TestUser| json!({"name": name, "currency": "EUR", "kinds": ["customer"], "owner_id": owner.user.id.to_string()});
    let a = id(&created(&app, &mgr, "/api/v1/accounts", acc("Alpha", &rob)).await);
    let b = id(&created(&app, &mgr, "/api/v1/accounts", acc("Beta", &sara)).await);
    let c = id(&created(&app, &mgr, "/api/v1/accounts", acc("Gamma", &rob)).await);
    let terms = get(&app, &mgr, "/api/v1/payment-terms").await;
    let net30 = terms["data"].as_array().unwrap().iter().find(|t| t["name"] == "Net 30").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let line = |p: &str, q: &str| json!({"product_id": p, "quantity": q});

    // 2025: A 2 × H1 (220.00), paid after 40 days; B H1 + S1 (165.00), paid in two parts, in full after 50 days.
    let a25 = invoice(&app, &mgr, &a, "2025-03-10", &net30, json!([line(&h1, "2")])).await;
    assert_eq!(a25["totals"]["total"], "220.00", "{a25}");
    pay(&app, &mgr, &a, "2025-04-19", &a25, "220.00").await;
    let b25 = invoice(&app, &mgr, &b, "2025-05-01", &net30, json!([line(&h1, "1"), line(&s1, "1")])).await;
    pay(&app, &mgr, &b, "2025-05-11", &b25, "100.00").await;
    pay(&app, &mgr, &b, "2025-06-20", &b25, "65.00").await;
    // 2026: A H1 + 2 × S1 (220.00) with one S1 credited (55.00); B S1 (55.00); C V1 + H1 (121.00).
    let a26 = invoice(&app, &mgr, &a, "2026-02-01", &net30, json!([line(&h1, "1"), line(&s1, "2")])).await;
    let s1_line = a26["groups"][0]["lines"][1].clone();
    let cn = created(
        &app,
        &mgr,
        "/api/v1/credit-notes",
        json!({"account_id": a, "invoice_id": a26["id"], "date": "2026-02-10",
               "lines": [{"product_id": s1, "quantity": "1", "origin_line_id": s1_line["id"]}]}),
    )
    .await;
    let cn = created(&app, &mgr, &format!("/api/v1/credit-notes/{}/issue", id(&cn)), json!({})).await;
    assert_eq!((cn["status"].as_str(), cn["totals"]["total"].as_str()), (Some("applied"), Some("55.00")), "{cn}");
    invoice(&app, &mgr, &b, "2026-01-15", &net30, json!([line(&s1, "1")])).await;
    invoice(&app, &mgr, &c, "2026-03-01", &net30, json!([line(&v1, "1"), line(&h1, "1")])).await;
    // A draft and a void invoice count for nothing.
    created(&app, &mgr, "/api/v1/invoices", json!({"account_id": c, "date": "2026-03-02", "lines": [line(&h1, "9")]}))
        .await;
    let void = created(
        &app,
        &mgr,
        "/api/v1/invoices",
        json!({"account_id": c, "date": "2026-03-03", "lines": [line(&h1, "7")]}),
    )
    .await;
    created(&app, &mgr, &format!("/api/v1/invoices/{}/issue", id(&void)), json!({})).await;
    created(&app, &mgr, &format!("/api/v1/invoices/{}/void", id(&void)), json!({})).await;

    // Open orders: C 3 × H1 on 2026-03-01 (330.00), A 1 × S1 on 2026-04-10 (55.00).
    open_order(&app, &mgr, &c, "2026-03-01", json!([line(&h1, "3")])).await;
    open_order(&app, &mgr, &a, "2026-04-10", json!([line(&s1, "1")])).await;
    // Credit limits, set once the invoices are issued.
    patch(&app, &mgr, &format!("/api/v1/accounts/{a}"), json!({"credit_limit": "250.00"})).await;
    patch(&app, &mgr, &format!("/api/v1/accounts/{c}"), json!({"credit_limit": "500.00"})).await;
    patch(&app, &mgr, &format!("/api/v1/accounts/{b}"), json!({"credit_limit": "1000.00"})).await;
    World { app, mgr, rob, sue, a, b, c, h1, s1, v1 }
}

fn rows(v: &Value) -> &Vec<Value> {
    v["rows"].as_array().unwrap_or_else(|| panic!("rows: {v}"))
}

fn names(v: &Value) -> Vec<String> {
    rows(v).iter().map(|r| r["account"]["name"].as_str().unwrap().to_string()).collect()
}

fn row<'a>(v: &'a Value, account: &str) -> &'a Value {
    rows(v).iter().find(|r| r["account"]["name"] == account).unwrap_or_else(|| panic!("{account} in {v}"))
}

const YEARS: &str = "/api/v1/reports/sales-by-account?years=2&to=2026-12-31&threshold=30";

async fn sales_by_account_has_each_year_the_trend_and_the_falling_accounts(db: TestDb) {
    let w = world(db).await;
    let r = get(&w.app, &w.mgr, YEARS).await;
    assert_eq!(r["years"], json!([2025, 2026]), "{r}");
    assert_eq!((r["from"].as_str(), r["to"].as_str()), (Some("2025-01-01"), Some("2026-12-31")));
    assert_eq!(names(&r), ["Alpha", "Beta", "Gamma"], "biggest total first: {r}");
    let a = row(&r, "Alpha");
    assert_eq!(a["years"], json!([{"year": 2025, "net": "200.00"}, {"year": 2026, "net": "150.00"}]));
    assert_eq!(
        (a["total"].as_str(), a["trend"].as_str(), a["change_percent"].as_str()),
        (Some("350.00"), Some("down"), Some("-25.0"))
    );
    assert_eq!(a["falling"], false, "25 % is within the 30 % threshold");
    assert_eq!(
        a["documents"]["invoices"],
        format!("/api/v1/invoices?account_id={}&from=2025-01-01&to=2026-12-31", w.a)
    );
    let b = row(&r, "Beta");
    assert_eq!(
        (b["total"].as_str(), b["change_percent"].as_str(), b["falling"].as_bool()),
        (Some("200.00"), Some("-66.7"), Some(true))
    );
    let c = row(&r, "Gamma");
    assert_eq!(c["years"][0]["net"], "0.00");
    assert_eq!((c["trend"].as_str(), c["falling"].as_bool()), (Some("up"), Some(false)));
    assert!(c.get("change_percent").is_none(), "nothing to compare with: {c}");
    // The default threshold (20 %) flags Alpha too; a category keeps to its lines.
    let r = get(&w.app, &w.mgr, "/api/v1/reports/sales-by-account?years=2&to=2026-12-31").await;
    assert_eq!(row(&r, "Alpha")["falling"], true);
    let cats = get(&w.app, &w.mgr, "/api/v1/product-categories").await;
    let software = cats["data"].as_array().unwrap().iter().find(|c| c["name"] == "Software").unwrap()["id"].clone();
    let r = get(&w.app, &w.mgr, &format!("{YEARS}&category_id={}", software.as_str().unwrap())).await;
    assert_eq!(names(&r), ["Beta", "Alpha"], "{r}");
    assert_eq!(row(&r, "Alpha")["years"], json!([{"year": 2025, "net": "0.00"}, {"year": 2026, "net": "50.00"}]));
    // One account.
    let r = get(&w.app, &w.mgr, &format!("{YEARS}&account_id={}", w.c)).await;
    assert_eq!(names(&r), ["Gamma"]);
}

/// The sum of what the documents API says was issued, per the rule of the report.
async fn documents_net(app: &TestApp, who: &TestUser, resource: &str, statuses: &[&str]) -> i64 {
    let v = get(app, who, &format!("/api/v1/{resource}?limit=200&from=2025-01-01&to=2026-12-31")).await;
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| statuses.contains(&d["status"].as_str().unwrap()))
        .map(|d| {
            let doc = d["totals"]["net"].as_str().unwrap().replace('.', "");
            doc.parse::<i64>().unwrap()
        })
        .sum()
}

async fn the_sales_total_is_the_issued_invoices_less_the_credit_notes_of_the_documents_api(db: TestDb) {
    let w = world(db).await;
    let r = get(&w.app, &w.mgr, YEARS).await;
    let report: i64 =
        rows(&r).iter().map(|x| x["total"].as_str().unwrap().replace('.', "").parse::<i64>().unwrap()).sum();
    let invoiced = documents_net(&w.app, &w.mgr, "invoices", &["issued", "part_paid", "paid"]).await;
    let credited = documents_net(&w.app, &w.mgr, "credit-notes", &["issued", "applied"]).await;
    assert_eq!((invoiced, credited), (71_000, 5_000));
    assert_eq!(report, invoiced - credited);
    // Per category the lines add up to the same total.
    let m = get(&w.app, &w.mgr, "/api/v1/reports/sales-by-category?from=2025-01-01&to=2026-12-31").await;
    let cells: i64 = rows(&m)
        .iter()
        .flat_map(|x| x["cells"].as_array().unwrap().iter())
        .map(|c| c["net"].as_str().unwrap().replace('.', "").parse::<i64>().unwrap())
        .sum();
    assert_eq!(cells, report);
}

async fn sales_by_category_is_a_matrix_with_cross_sell_gaps(db: TestDb) {
    let w = world(db).await;
    let path = "/api/v1/reports/sales-by-category?from=2026-01-01&to=2026-12-31&min_peers=1";
    let r = get(&w.app, &w.mgr, path).await;
    let cats: Vec<&str> = r["categories"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(cats, ["Hardware", "Services", "Software"]);
    let cells = |name: &str| -> Vec<String> {
        row(&r, name)["cells"].as_array().unwrap().iter().map(|c| c["net"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(cells("Alpha"), ["100.00", "0.00", "50.00"]);
    assert_eq!(cells("Beta"), ["0.00", "0.00", "50.00"]);
    assert_eq!(cells("Gamma"), ["100.00", "10.00", "0.00"]);
    let gaps = |name: &str| -> Vec<String> {
        row(&r, name)["gaps"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_string()).collect()
    };
    // Half of the hardware buyers (Gamma) buy services, half (Alpha) software, half of the software buyers hardware.
    assert_eq!(gaps("Alpha"), ["Services"]);
    assert_eq!(gaps("Beta"), ["Hardware"]);
    assert_eq!(gaps("Gamma"), ["Software"]);
    // Two accounts must buy both by default: no rule from a single customer.
    let r = get(&w.app, &w.mgr, "/api/v1/reports/sales-by-category?from=2026-01-01&to=2026-12-31").await;
    assert!(rows(&r).iter().all(|x| x["gaps"] == json!([])), "{r}");
    assert_eq!(row(&r, "Alpha")["total"], "150.00");
}

async fn receivables_age_at_any_date(db: TestDb) {
    let w = world(db).await;
    let r = get(&w.app, &w.mgr, "/api/v1/reports/receivables-aging?as_of=2026-04-15").await;
    assert_eq!(r["as_of"], "2026-04-15");
    assert_eq!(names(&r), ["Alpha", "Gamma", "Beta"], "{r}");
    let buckets = |name: &str| -> Vec<String> {
        let x = row(&r, name);
        ["current", "days_1_30", "days_31_60", "days_61_90", "days_over_90", "total"]
            .iter()
            .map(|k| x[*k].as_str().unwrap().to_string())
            .collect()
    };
    // Alpha: 220.00 − 55.00 credited, due 2026-03-03 (43 days); Beta due 2026-02-14 (60 days); Gamma due 2026-03-31.
    assert_eq!(buckets("Alpha"), ["0.00", "0.00", "165.00", "0.00", "0.00", "165.00"]);
    assert_eq!(buckets("Beta"), ["0.00", "0.00", "55.00", "0.00", "0.00", "55.00"]);
    assert_eq!(buckets("Gamma"), ["0.00", "121.00", "0.00", "0.00", "0.00", "121.00"]);
    // A year later everything unpaid is over 90 days.
    let r = get(&w.app, &w.mgr, "/api/v1/reports/receivables-aging?as_of=2027-04-15").await;
    assert_eq!(row(&r, "Alpha")["days_over_90"], "165.00");
    // In the past: on 2025-05-20 Beta had paid 100.00 of 165.00, not yet due; Alpha had paid in full.
    let r = get(&w.app, &w.mgr, "/api/v1/reports/receivables-aging?as_of=2025-05-20").await;
    assert_eq!(names(&r), ["Beta"], "{r}");
    assert_eq!(
        (row(&r, "Beta")["current"].as_str(), row(&r, "Beta")["open_invoices"].as_i64()),
        (Some("65.00"), Some(1))
    );
    // On 2025-04-15 Alpha's invoice (due 2025-04-09) was 6 days late.
    let r = get(&w.app, &w.mgr, "/api/v1/reports/receivables-aging?as_of=2025-04-15").await;
    assert_eq!(row(&r, "Alpha")["days_1_30"], "220.00");
}

async fn order_status_lists_open_orders_late_first(db: TestDb) {
    let w = world(db).await;
    let r = get(&w.app, &w.mgr, "/api/v1/reports/order-status?as_of=2026-04-15").await;
    assert_eq!(names(&r), ["Gamma", "Alpha"], "{r}");
    let g = row(&r, "Gamma");
    assert_eq!(
        (
            g["net"].as_str(),
            g["left_to_ship"].as_str(),
            g["left_to_invoice"].as_str(),
            g["age_days"].as_i64(),
            g["late"].as_bool()
        ),
        (Some("300.00"), Some("300.00"), Some("300.00"), Some(45), Some(true))
    );
    let a = row(&r, "Alpha");
    assert_eq!(
        (a["left_to_invoice"].as_str(), a["age_days"].as_i64(), a["late"].as_bool()),
        (Some("50.00"), Some(5), Some(false))
    );
    assert!(a["documents"].as_str().unwrap().starts_with("/api/v1/sales-orders/"));
}

async fn credit_exposure_lists_accounts_near_their_limit_and_hides_limits_without_the_permission(db: TestDb) {
    let w = world(db).await;
    let r = get(&w.app, &w.mgr, "/api/v1/reports/credit-exposure").await;
    // Gamma: 121.00 + 330.00 = 451.00 of 500.00; Alpha: 165.00 + 55.00 = 220.00 of 250.00; Beta 55.00 of 1000.00.
    assert_eq!(names(&r), ["Gamma", "Alpha"], "{r}");
    let g = row(&r, "Gamma");
    assert_eq!(
        (g["receivables"].as_str(), g["open_orders"].as_str(), g["exposure"].as_str(), g["credit_limit"].as_str()),
        (Some("121.00"), Some("330.00"), Some("451.00"), Some("500.00"))
    );
    assert_eq!(
        (g["used_percent"].as_str(), g["headroom"].as_str(), g["over_limit"].as_bool()),
        (Some("90.2"), Some("49.00"), Some(false))
    );
    assert_eq!(row(&r, "Alpha")["used_percent"], "88.0");
    // Over 85 %: Gamma only.
    let r = get(&w.app, &w.mgr, "/api/v1/reports/credit-exposure?near_percent=89").await;
    assert_eq!(names(&r), ["Gamma"]);
    // Support may not see credit limits: no limit, no use, every exposure.
    let r = get(&w.app, &w.sue, "/api/v1/reports/credit-exposure").await;
    assert_eq!(names(&r), ["Gamma", "Alpha", "Beta"], "{r}");
    for x in rows(&r) {
        for f in ["credit_limit", "used_percent", "headroom", "over_limit"] {
            assert!(x.get(f).is_none(), "{f} is absent: {x}");
        }
    }
    let csv = w.app.get("/api/v1/reports/credit-exposure?format=csv", &w.sue).await.text().await.unwrap();
    assert!(!csv.contains("credit_limit") && !csv.contains("used_percent"), "{csv}");
}

async fn top_customers_and_products_rank_by_net_sales(db: TestDb) {
    let w = world(db).await;
    let r = get(&w.app, &w.mgr, "/api/v1/reports/top-customers?from=2026-01-01&to=2026-12-31").await;
    let got: Vec<(i64, String, String, String)> = rows(&r)
        .iter()
        .map(|x| {
            (
                x["rank"].as_i64().unwrap(),
                x["account"]["name"].as_str().unwrap().into(),
                x["net"].as_str().unwrap().into(),
                x["share_percent"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (1, "Alpha".into(), "150.00".into(), "48.4".into()),
            (2, "Gamma".into(), "110.00".into(), "35.5".into()),
            (3, "Beta".into(), "50.00".into(), "16.1".into())
        ]
    );
    let r = get(&w.app, &w.mgr, "/api/v1/reports/top-customers?from=2026-01-01&to=2026-12-31&limit=1").await;
    assert_eq!(names(&r), ["Alpha"]);
    let r = get(&w.app, &w.mgr, "/api/v1/reports/top-products?from=2026-01-01&to=2026-12-31&limit=1").await;
    let got: Vec<(String, String, String, String)> = rows(&r)
        .iter()
        .map(|x| {
            (
                x["group"].as_str().unwrap().into(),
                x["sku"].as_str().unwrap().into(),
                x["quantity"].as_str().unwrap().into(),
                x["net"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("most".into(), "H1".into(), "2".into(), "200.00".into()),
            ("least".into(), "V1".into(), "1".into(), "10.00".into())
        ]
    );
    assert_eq!(rows(&r)[0]["product_id"], w.h1.as_str());
    let r = get(&w.app, &w.mgr, "/api/v1/reports/top-products?from=2026-01-01&to=2026-12-31").await;
    let s1 = rows(&r).iter().find(|x| x["product_id"] == w.s1.as_str()).unwrap();
    assert_eq!(
        (s1["quantity"].as_str(), s1["net"].as_str(), s1["rank"].as_i64()),
        (Some("2"), Some("100.00"), Some(2))
    );
    // A product nobody bought in the period ranks last with nothing.
    let r = get(&w.app, &w.mgr, "/api/v1/reports/top-products?from=2024-01-01&to=2024-12-31").await;
    assert!(rows(&r).iter().all(|x| x["net"] == "0.00"), "{r}");
    assert!(rows(&r).iter().any(|x| x["product_id"] == w.v1.as_str()));
}

async fn days_to_pay_averages_issue_to_full_payment(db: TestDb) {
    let w = world(db).await;
    let r = get(&w.app, &w.mgr, "/api/v1/reports/days-to-pay?from=2025-01-01&to=2025-12-31").await;
    assert_eq!(names(&r), ["Beta", "Alpha"], "slowest first: {r}");
    let b = row(&r, "Beta");
    assert_eq!(
        (b["paid_invoices"].as_i64(), b["average_days"].as_str(), b["average_days_late"].as_str()),
        (Some(1), Some("50.0"), Some("20.0"))
    );
    let a = row(&r, "Alpha");
    assert_eq!((a["average_days"].as_str(), a["average_days_late"].as_str()), (Some("40.0"), Some("10.0")));
    // 2026's invoices are not paid in full.
    let r = get(&w.app, &w.mgr, "/api/v1/reports/days-to-pay?from=2026-01-01&to=2026-12-31").await;
    assert_eq!(rows(&r).len(), 0, "{r}");
}

async fn the_pipeline_is_weighted_by_month_and_owner_against_won(db: TestDb) {
    let w = world(db).await;
    let opp = |account: &str, owner: &TestUser, amount: &str, p: i64, close: &str| {
        json!({"account_id": account, "name": format!("Deal {amount}"), "amount": amount, "currency": "EUR",
               "probability": p, "expected_close": close, "owner_id": owner.user.id.to_string()})
    };
    created(&w.app, &w.mgr, "/api/v1/opportunities", opp(&w.a, &w.rob, "1000.00", 50, "2026-05-15")).await;
    created(&w.app, &w.mgr, "/api/v1/opportunities", opp(&w.c, &w.rob, "33.33", 50, "2026-05-20")).await;
    let sara = get(&w.app, &w.mgr, "/api/v1/users").await["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "sara@example.com")
        .unwrap()["id"]
        .clone();
    let body = json!({"account_id": w.b, "name": "Beta deal", "amount": "300.00", "currency": "EUR", "probability": 20,
        "expected_close": "2026-05-20", "owner_id": sara});
    created(&w.app, &w.mgr, "/api/v1/opportunities", body).await;
    let won = created(&w.app, &w.mgr, "/api/v1/opportunities", opp(&w.a, &w.rob, "400.00", 10, "2026-06-30")).await;
    let stages = get(&w.app, &w.mgr, "/api/v1/pipeline-stages").await;
    let won_stage = stages["data"].as_array().unwrap().iter().find(|s| s["kind"] == "won").unwrap()["id"].clone();
    patch(&w.app, &w.mgr, &format!("/api/v1/opportunities/{}", id(&won)), json!({"stage_id": won_stage})).await;
    let path = "/api/v1/reports/pipeline-vs-won?from=2026-01-01&to=2099-12-31";
    let r = get(&w.app, &w.mgr, path).await;
    let may: Vec<(String, i64, String, String)> = rows(&r)
        .iter()
        .filter(|x| x["month"] == "2026-05")
        .map(|x| {
            (
                x["owner"].as_str().unwrap().into(),
                x["open_count"].as_i64().unwrap(),
                x["open_amount"].as_str().unwrap().into(),
                x["weighted"].as_str().unwrap().into(),
            )
        })
        .collect();
    // 1000.00 × 50 % + 33.33 × 50 % (16.665 → 16.67).
    let rob_name = w.rob.user.name.clone();
    assert!(may.contains(&(rob_name.clone(), 2, "1033.33".into(), "516.67".into())), "{may:?}");
    assert_eq!(may.len(), 2, "{may:?}");
    let won_rows: Vec<&Value> = rows(&r).iter().filter(|x| x["won_count"].as_i64() == Some(1)).collect();
    assert_eq!(won_rows.len(), 1, "{r}");
    assert_eq!(
        (won_rows[0]["won_amount"].as_str(), won_rows[0]["owner"].as_str()),
        (Some("400.00"), Some(rob_name.as_str()))
    );
    // Rob sees his own opportunities only.
    let r = get(&w.app, &w.rob, path).await;
    assert!(rows(&r).iter().all(|x| x["owner"] == rob_name.as_str()), "{r}");
    assert_eq!(rows(&r).len(), 2);
}

async fn service_counts_cases_times_and_satisfaction_per_account_and_product(db: TestDb) {
    let w = world(db).await;
    let new_case = |body: Value| created(&w.app, &w.sue, "/api/v1/cases", body);
    let c1 = new_case(json!({"account_id": w.a, "subject": "How to install", "kind": "question"})).await;
    let c2 = new_case(json!({"account_id": w.a, "subject": "Broken", "kind": "complaint", "product_id": w.h1})).await;
    new_case(json!({"account_id": w.b, "subject": "Invoice copy", "kind": "question"})).await;
    let act = |c: &Value, action: &str, body: Value| {
        let path = format!("/api/v1/cases/{}/actions/{action}", id(c));
        let (app, sue) = (&w.app, &w.sue);
        async move { created(app, sue, &path, body).await }
    };
    act(&c1, "resolve", json!({"resolution": "Sent the guide"})).await;
    act(&c1, "close", json!({})).await;
    patch(&w.app, &w.sue, &format!("/api/v1/cases/{}", id(&c1)), json!({"satisfaction": 4})).await;
    // Service times as if the cases had taken a while (the store takes them from the clock).
    let mut tx = w.app.db.db.write().await.unwrap();
    for (c, first, resolution) in [(&c1, Some(600_i64), Some(3600_i64)), (&c2, Some(1200), None)] {
        tx.execute(
            "UPDATE cases SET first_response_seconds = $1, resolution_seconds = $2 WHERE public_id = $3",
            args![first, resolution, c["id"].as_str().unwrap().parse::<nave_domain::ids::PublicId>().unwrap()],
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let r = get(&w.app, &w.mgr, "/api/v1/reports/service").await;
    let find = |group: &str, name: &str| -> Value {
        rows(&r)
            .iter()
            .find(|x| x["group"] == group && x["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name}: {r}"))
    };
    let a = find("account", "Alpha");
    assert_eq!(
        (a["opened"].as_i64(), a["closed"].as_i64(), a["complaints"].as_i64()),
        (Some(2), Some(1), Some(1)),
        "{a}"
    );
    assert_eq!(
        (
            a["average_first_response_seconds"].as_i64(),
            a["average_resolution_seconds"].as_i64(),
            a["average_satisfaction"].as_str()
        ),
        (Some(900), Some(3600), Some("4.0"))
    );
    let p = find("product", "Hardware H1");
    assert_eq!(
        (p["opened"].as_i64(), p["complaints"].as_i64(), p["average_first_response_seconds"].as_i64()),
        (Some(1), Some(1), Some(1200))
    );
    assert!(p["average_satisfaction"].is_null());
    assert_eq!(find("account", "Beta")["opened"], 1);
}

async fn a_sales_rep_sees_only_own_accounts(db: TestDb) {
    let w = world(db).await;
    let r = get(&w.app, &w.rob, YEARS).await;
    assert_eq!(names(&r), ["Alpha", "Gamma"], "{r}");
    for path in [
        "/api/v1/reports/receivables-aging?as_of=2026-04-15",
        "/api/v1/reports/top-customers?from=2026-01-01&to=2026-12-31",
        "/api/v1/reports/sales-by-category?from=2026-01-01&to=2026-12-31",
        "/api/v1/reports/order-status",
    ] {
        let r = get(&w.app, &w.rob, path).await;
        assert!(!names(&r).contains(&"Beta".to_string()) && !names(&r).is_empty(), "{path}: {r}");
    }
    // Sara's account is not a filter Rob may use.
    let (status, p) = json(w.app.get(&format!("{YEARS}&account_id={}", w.b), &w.rob).await).await;
    assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some("account_id")), "{p}");
}

/// CSV text as rows of cells (the test data has no quoted commas).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    text.lines().map(|l| l.split(',').map(|c| c.trim_matches('"').to_string()).collect()).collect()
}

async fn the_csv_has_the_figures_of_the_json(db: TestDb) {
    let w = world(db).await;
    let r = get(&w.app, &w.mgr, YEARS).await;
    let resp = w.app.get(&format!("{YEARS}&format=csv"), &w.mgr).await;
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv_rows(&resp.text().await.unwrap());
    assert_eq!(
        csv[0],
        ["account", "account_id", "currency", "2025", "2026", "total", "trend", "change_percent", "falling"]
    );
    assert_eq!(csv.len(), rows(&r).len() + 1);
    for (line, x) in csv[1..].iter().zip(rows(&r)) {
        assert_eq!(line[0], x["account"]["name"].as_str().unwrap());
        assert_eq!(line[3], x["years"][0]["net"].as_str().unwrap());
        assert_eq!(line[4], x["years"][1]["net"].as_str().unwrap());
        assert_eq!(line[5], x["total"].as_str().unwrap());
    }
    // `Accept: text/csv` gives the same file.
    let by_accept = w.app.req(Method::GET, YEARS, &w.mgr).header("accept", "text/csv").send().await.unwrap();
    assert_eq!(csv_rows(&by_accept.text().await.unwrap()), csv);
    let aging = get(&w.app, &w.mgr, "/api/v1/reports/receivables-aging?as_of=2026-04-15").await;
    let text =
        w.app.get("/api/v1/reports/receivables-aging?as_of=2026-04-15&format=csv", &w.mgr).await.text().await.unwrap();
    let csv = csv_rows(&text);
    assert_eq!(csv[1][0], "Alpha");
    assert_eq!(csv[1][5], aging["rows"][0]["days_31_60"].as_str().unwrap());
    assert_eq!(csv[1][8], "165.00");
}

async fn bad_filters_are_problems_naming_the_parameter(db: TestDb) {
    let w = world(db).await;
    for (query, field) in [
        ("sales-by-account?from=2026-05-01&to=2026-01-01", "to"),
        ("sales-by-account?currency=XYZ", "currency"),
        ("top-customers?from=yesterday", "from"),
        ("top-customers?limit=0", "limit"),
        ("sales-by-account?colour=red", ""),
        ("receivables-aging?format=xml", "format"),
        ("sales-by-account?owner_id=nobody", "owner_id"),
    ] {
        let resp = w.app.get(&format!("/api/v1/reports/{query}"), &w.mgr).await;
        assert_eq!(resp.headers()["content-type"], "application/problem+json", "{query}");
        let (status, p) = json(resp).await;
        assert_eq!(status, 422, "{query}: {p}");
        if !field.is_empty() {
            assert_eq!(p["errors"][0]["field"].as_str(), Some(field), "{query}: {p}");
        }
    }
    let (status, p) = json(w.app.get("/api/v1/reports/margin", &w.mgr).await).await;
    assert_eq!(status, 404, "{p}");
    // A role without invoices may not see sales: 403.
    let wh = w.app.user("wh@example.com", "warehouse").await;
    let (status, _) = json(w.app.get(YEARS, &wh).await).await;
    assert_eq!(status, 403);
}

async fn every_report_page_has_a_chart_a_table_and_a_csv_link(db: TestDb) {
    let w = world(db).await;
    let cookie = session(&w.app, "mgr@example.com").await;
    let (status, html) = page(&w.app, &cookie, "/reports").await;
    assert_eq!(status, 200);
    for slug in [
        "sales-by-account",
        "sales-by-category",
        "receivables-aging",
        "order-status",
        "credit-exposure",
        "top-customers",
        "top-products",
        "days-to-pay",
        "pipeline-vs-won",
        "service",
        "profit-by-customer",
        "profit-by-product",
        "profit-by-category",
        "profit-by-order",
        "payables-aging",
    ] {
        assert!(html.contains(&format!("href=\"/reports/{slug}\"")), "index links {slug}");
        let (status, html) = page(&w.app, &cookie, &format!("/reports/{slug}?from=2025-01-01&to=2026-12-31")).await;
        assert_eq!(status, 200, "{slug}: {html}");
        assert!(html.contains("<svg") && html.contains("</svg>"), "{slug} has a chart");
        assert!(html.contains(&format!("/api/v1/reports/{slug}?")) && html.contains("format=csv"), "{slug} CSV link");
    }
    let (_, html) = page(&w.app, &cookie, "/reports/sales-by-account?years=2&to=2026-12-31").await;
    assert!(html.contains("Net sales (EUR)") && html.contains(">2025<") && html.contains("350.00"), "{html}");
    assert!(html.contains(&format!("/invoices?account_id={}", w.a)), "drill-down to the invoices");
    // A bad filter shows the form again with the message.
    let (status, html) = page(&w.app, &cookie, "/reports/top-customers?from=2026-05-01&to=2026-01-01").await;
    assert_eq!(status, 422);
    assert!(html.contains("must not be before from"), "{html}");
    // Rob's page shows his accounts only.
    let cookie = session(&w.app, "rob@example.com").await;
    let (_, html) = page(&w.app, &cookie, "/reports/sales-by-account?years=2&to=2026-12-31").await;
    assert!(html.contains("Alpha") && !html.contains("Beta"), "{html}");
}

both_backends!(
    sales_by_account_has_each_year_the_trend_and_the_falling_accounts,
    the_sales_total_is_the_issued_invoices_less_the_credit_notes_of_the_documents_api,
    sales_by_category_is_a_matrix_with_cross_sell_gaps,
    receivables_age_at_any_date,
    order_status_lists_open_orders_late_first,
    credit_exposure_lists_accounts_near_their_limit_and_hides_limits_without_the_permission,
    top_customers_and_products_rank_by_net_sales,
    days_to_pay_averages_issue_to_full_payment,
    the_pipeline_is_weighted_by_month_and_owner_against_won,
    service_counts_cases_times_and_satisfaction_per_account_and_product,
    a_sales_rep_sees_only_own_accounts,
    the_csv_has_the_figures_of_the_json,
    bad_filters_are_problems_naming_the_parameter,
    every_report_page_has_a_chart_a_table_and_a_csv_link,
);
