//! The purchase side over the API, on both databases: purchase orders,
//! receipts in part and in a foreign currency, the moving-average cost they
//! make and the margin it gives an invoice, refusals (over-receipt, a
//! supplier's bill number used twice), payments sent across two bills, two
//! receipts of the same line at once, and — over random sequences of
//! receipts and shipments — that costing neither loses nor creates value.

mod support;

use nave_store::tenants::DEFAULT_TENANT;
use nave_testkit::{TestDb, both_backends};
use serde_json::{Value, json};
use support::{TestApp, TestUser, act, created, get_ok as get, id_of as id, json, line};

struct Setup {
    mgr: TestUser,
    main: Value,
    /// Sells in GBP (the company currency is USD); its cost for A is 10.00 GBP, code GX-A.
    globex: Value,
    /// Sells in USD, the company currency.
    initech: Value,
    customer: Value,
    a: Value,
}

async fn setup(app: &TestApp) -> Setup {
    let mgr = app.user("mgr@example.com", "admin").await;
    let main = created(app, &mgr, "/api/v1/warehouses", json!({"name": "Main"})).await;
    let (_, terms) = json(app.get("/api/v1/payment-terms", &mgr).await).await;
    let net30 = terms["data"].as_array().unwrap().iter().find(|t| t["name"] == "Net 30").unwrap()["id"].clone();
    let globex = created(
        app,
        &mgr,
        "/api/v1/accounts",
        json!({"name": "Globex Supply", "currency": "GBP", "kinds": ["supplier"], "payment_terms_id": net30}),
    )
    .await;
    let initech = created(
        app,
        &mgr,
        "/api/v1/accounts",
        json!({"name": "Initech Parts", "currency": "USD", "kinds": ["supplier"]}),
    )
    .await;
    let customer = created(app, &mgr, "/api/v1/accounts", json!({"name": "Acme Ltd", "currency": "USD"})).await;
    let a = created(
        app,
        &mgr,
        "/api/v1/products",
        json!({"sku": "A", "name": "Widget A", "list_price": "20.00", "currency": "EUR",
            "suppliers": [{"supplier_id": globex["id"], "supplier_code": "GX-A", "cost": "10.00", "preferred": true}]}),
    )
    .await;
    Setup { mgr, main, globex, initech, customer, a }
}

/// A confirmed purchase order of `qty` A from `supplier` into Main.
async fn confirmed_po(app: &TestApp, s: &Setup, supplier: &Value, qty: &str, price: Option<&str>) -> Value {
    let mut line = json!({"product_id": s.a["id"], "quantity": qty});
    if let Some(p) = price {
        line["unit_price"] = json!(p);
    }
    let po = created(
        app,
        &s.mgr,
        "/api/v1/purchase-orders",
        json!({"account_id": supplier["id"], "warehouse_id": s.main["id"], "lines": [line]}),
    )
    .await;
    let (st, po) = act(app, &s.mgr, &format!("/api/v1/purchase-orders/{}/confirm", id(&po))).await;
    assert_eq!(st, 200, "{po}");
    assert_eq!(po["status"], "confirmed");
    po
}

/// A draft receipt of `qty` of the PO's first line (all that is left when `None`).
async fn draft_receipt(app: &TestApp, s: &Setup, po: &Value, qty: Option<&str>, rate: Option<&str>) -> Value {
    let mut body = json!({"account_id": po["account_id"], "purchase_order_id": po["id"]});
    if let Some(q) = qty {
        body["lines"] = json!([{"product_id": s.a["id"], "quantity": q, "origin_line_id": line(po, 0)["id"]}]);
    }
    if let Some(r) = rate {
        body["exchange_rate"] = json!(r);
    }
    created(app, &s.mgr, "/api/v1/receipts", body).await
}

async fn receive(app: &TestApp, s: &Setup, r: &Value) -> (u16, Value) {
    act(app, &s.mgr, &format!("/api/v1/receipts/{}/receive", id(r))).await
}

/// (on hand, available) of A in Main.
async fn level(app: &TestApp, s: &Setup) -> (String, String) {
    let v = get(app, &s.mgr, &format!("/api/v1/stock?product_id={}&warehouse_id={}", id(&s.a), id(&s.main))).await;
    let l = &v["data"][0];
    (l["on_hand"].as_str().unwrap_or("0").to_string(), l["available"].as_str().unwrap_or("0").to_string())
}

async fn ledgers_ok(app: &TestApp) {
    let mut tx = app.db.db.read().await.unwrap();
    let bad = nave_store::stock::ledger_mismatches(&mut tx, DEFAULT_TENANT).await.unwrap();
    assert!(bad.is_empty(), "stock: {bad:?}");
}

/// Sells and ships `qty` A to the customer at 20.00 EUR, and issues the invoice.
async fn sell(app: &TestApp, s: &Setup, qty: &str) -> Value {
    let o = created(
        app,
        &s.mgr,
        "/api/v1/sales-orders",
        json!({"account_id": s.customer["id"], "warehouse_id": s.main["id"],
            "lines": [{"product_id": s.a["id"], "quantity": qty, "unit_price": "20.00"}]}),
    )
    .await;
    let (st, o) = act(app, &s.mgr, &format!("/api/v1/sales-orders/{}/confirm", id(&o))).await;
    assert_eq!(st, 200, "{o}");
    let sh = created(app, &s.mgr, "/api/v1/shipments", json!({"sales_order_id": o["id"]})).await;
    let (st, sh) = act(app, &s.mgr, &format!("/api/v1/shipments/{}/ship", id(&sh))).await;
    assert_eq!(st, 200, "{sh}");
    let inv =
        created(app, &s.mgr, "/api/v1/invoices", json!({"account_id": s.customer["id"], "sales_order_id": o["id"]}))
            .await;
    assert!(inv.get("cost").is_none(), "a draft has no cost yet: {inv}");
    let (st, inv) = act(app, &s.mgr, &format!("/api/v1/invoices/{}/issue", id(&inv))).await;
    assert_eq!(st, 200, "{inv}");
    inv
}

async fn a_po_received_in_two_parts_gives_the_invoice_its_moving_average_margin(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    // The supplier's cost, code and currency are the line's defaults.
    let po = created(
        &app,
        &s.mgr,
        "/api/v1/purchase-orders",
        json!({"account_id": s.globex["id"], "warehouse_id": s.main["id"],
            "lines": [{"product_id": s.a["id"], "quantity": "10"}]}),
    )
    .await;
    assert!(po["number"].as_str().unwrap().starts_with("PO-"), "{po}");
    assert_eq!((po["currency"].as_str(), po["status"].as_str()), (Some("GBP"), Some("draft")));
    assert_eq!(line(&po, 0)["supplier_code"], "GX-A");
    assert_eq!(line(&po, 0)["unit_price"], "10.00", "{po}");
    assert_eq!(po["totals"]["net"], "100.00");
    let (st, po) = act(&app, &s.mgr, &format!("/api/v1/purchase-orders/{}/send", id(&po))).await;
    assert_eq!((st, po["status"].as_str()), (200, Some("sent")), "{po}");
    let (st, po) = act(&app, &s.mgr, &format!("/api/v1/purchase-orders/{}/confirm", id(&po))).await;
    assert_eq!((st, po["status"].as_str()), (200, Some("confirmed")), "{po}");

    // 4 at 0.90 EUR per USD: 9.00 EUR each. Without the rate it is refused, naming the field.
    let r1 = draft_receipt(&app, &s, &po, Some("4"), None).await;
    let (st, p) = receive(&app, &s, &r1).await;
    assert_eq!(st, 422, "{p}");
    assert_eq!(p["errors"][0]["field"], "exchange_rate", "{p}");
    assert_eq!(level(&app, &s).await.0, "0", "a refused receipt moves nothing");
    let (st, r1) = json(
        app.req(reqwest::Method::PATCH, &format!("/api/v1/receipts/{}", id(&r1)), &s.mgr)
            .json(&json!({"exchange_rate": "0.9"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 200, "{r1}");
    let (st, r1) = receive(&app, &s, &r1).await;
    assert_eq!(st, 200, "{r1}");
    assert_eq!(r1["status"], "done");
    assert!(r1["number"].as_str().unwrap().starts_with("REC-"), "{r1}");
    let po_now = get(&app, &s.mgr, &format!("/api/v1/purchase-orders/{}", id(&po))).await;
    assert_eq!(po_now["status"], "part_received");
    assert_eq!(line(&po_now, 0)["quantity_received"], "4");

    // The other 6 at 0.95: 9.50 EUR each. Average (36.00 + 57.00) / 10 = 9.30.
    let r2 = draft_receipt(&app, &s, &po, None, Some("0.95")).await;
    assert_eq!(line(&r2, 0)["quantity"], "6", "{r2}");
    let (st, r2) = receive(&app, &s, &r2).await;
    assert_eq!(st, 200, "{r2}");
    let po_now = get(&app, &s.mgr, &format!("/api/v1/purchase-orders/{}", id(&po))).await;
    assert_eq!(po_now["status"], "received");
    assert_eq!(level(&app, &s).await, ("10".to_string(), "10".to_string()));
    let a = get(&app, &s.mgr, &format!("/api/v1/products/{}", id(&s.a))).await;
    assert!(a["cost"].as_str().unwrap().starts_with("9.30"), "{a}");

    // Selling 5 at 20.00: cost 5 × 9.30 = 46.50, margin 53.50 = 53.5 %.
    let inv = sell(&app, &s, "5").await;
    assert_eq!(inv["cost"], "46.50", "{inv}");
    assert_eq!(inv["margin"], "53.50", "{inv}");
    assert_eq!(inv["margin_percent"], "53.50", "{inv}");
    assert_eq!(line(&inv, 0)["cost"], "46.50");
    assert_eq!(line(&inv, 0)["margin"], "53.50");
    // Field security: a role without view_cost / view_margin sees neither, in the list either.
    let viewer = app.user("viewer@example.com", "read_only").await;
    let seen = get(&app, &viewer, &format!("/api/v1/invoices/{}", id(&inv))).await;
    assert_eq!(seen["totals"]["total"], inv["totals"]["total"]);
    for k in ["cost", "margin", "margin_percent"] {
        assert!(seen.get(k).is_none(), "{k} shown: {seen}");
        assert!(line(&seen, 0).get(k).is_none(), "line {k} shown: {seen}");
    }
    ledgers_ok(&app).await;
}

async fn receiving_more_than_ordered_is_refused_and_moves_nothing(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let po = confirmed_po(&app, &s, &s.initech, "5", Some("8.00")).await;
    let r = draft_receipt(&app, &s, &po, Some("6"), None).await;
    let (st, p) = receive(&app, &s, &r).await;
    assert_eq!(st, 422, "{p}");
    assert_eq!(p["errors"][0]["field"], "groups[0].lines[0].quantity", "{p}");
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("6 is more than the 5 left to receive"), "{p}");
    assert_eq!(level(&app, &s).await.0, "0");
    let po_now = get(&app, &s.mgr, &format!("/api/v1/purchase-orders/{}", id(&po))).await;
    assert_eq!(
        (po_now["status"].as_str(), line(&po_now, 0)["quantity_received"].as_str()),
        (Some("confirmed"), Some("0"))
    );
    // A received order cannot be cancelled.
    let r = draft_receipt(&app, &s, &po, None, None).await;
    assert_eq!(receive(&app, &s, &r).await.0, 200);
    let (st, p) = act(&app, &s.mgr, &format!("/api/v1/purchase-orders/{}/cancel", id(&po))).await;
    assert_eq!(st, 409, "{p}");
    ledgers_ok(&app).await;
}

async fn a_suppliers_bill_number_is_used_once_per_supplier(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let po = confirmed_po(&app, &s, &s.globex, "10", None).await;
    // Billed on what was ordered (nothing is received yet); the supplier's terms give the due date.
    let bill = created(
        &app,
        &s.mgr,
        "/api/v1/bills",
        json!({"account_id": s.globex["id"], "purchase_order_id": po["id"], "basis": "ordered",
            "date": "2026-03-01", "reference": "INV-777"}),
    )
    .await;
    assert_eq!(line(&bill, 0)["quantity"], "10");
    assert_eq!(bill["totals"]["total"], "100.00", "{bill}");
    let (st, bill) = act(&app, &s.mgr, &format!("/api/v1/bills/{}/issue", id(&bill))).await;
    assert_eq!(st, 200, "{bill}");
    assert!(bill["number"].as_str().unwrap().starts_with("BILL-2026-"), "{bill}");
    assert_eq!(bill["due_date"], "2026-03-31", "{bill}");
    let po_now = get(&app, &s.mgr, &format!("/api/v1/purchase-orders/{}", id(&po))).await;
    assert_eq!(po_now["status"], "billed");
    assert_eq!(line(&po_now, 0)["quantity_billed"], "10");
    // Billing more than ordered is refused by the line ledger.
    let (st, p) = json(
        app.post(
            "/api/v1/bills",
            &s.mgr,
            &json!({"account_id": s.globex["id"], "purchase_order_id": po["id"], "basis": "ordered"}),
        )
        .await,
    )
    .await;
    assert_eq!(st, 409, "{p}");
    // The same number from the same supplier is refused, naming the field; another supplier's is fine.
    let body = |supplier: &Value| {
        json!({"account_id": supplier["id"], "reference": "INV-777",
            "lines": [{"description": "Freight", "quantity": "1", "unit_price": "30.00"}]})
    };
    let (st, p) = json(app.post("/api/v1/bills", &s.mgr, &body(&s.globex)).await).await;
    assert_eq!(st, 422, "{p}");
    assert_eq!(p["errors"][0]["field"], "reference", "{p}");
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("INV-777 is already recorded"), "{p}");
    created(&app, &s.mgr, "/api/v1/bills", body(&s.initech)).await;
    // A bill is issued only with the supplier's number.
    let no_ref = created(
        &app,
        &s.mgr,
        "/api/v1/bills",
        json!({"account_id": s.initech["id"], "lines": [{"description": "Fee", "unit_price": "5.00"}]}),
    )
    .await;
    let (st, p) = act(&app, &s.mgr, &format!("/api/v1/bills/{}/issue", id(&no_ref))).await;
    assert_eq!((st, p["errors"][0]["field"].as_str()), (422, Some("reference")), "{p}");
}

async fn a_payment_sent_settles_two_bills_of_one_supplier(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let mut bills = Vec::new();
    for (n, amount) in [("S-1", "100.00"), ("S-2", "80.00")] {
        let b = created(
            &app,
            &s.mgr,
            "/api/v1/bills",
            json!({"account_id": s.initech["id"], "reference": n,
                "lines": [{"description": "Parts", "quantity": "1", "unit_price": amount}]}),
        )
        .await;
        let (st, b) = act(&app, &s.mgr, &format!("/api/v1/bills/{}/issue", id(&b))).await;
        assert_eq!(st, 200, "{b}");
        bills.push(b);
    }
    // More than a bill's balance is refused and stores nothing.
    let (st, p) = json(
        app.post(
            "/api/v1/payments-sent",
            &s.mgr,
            &json!({"account_id": s.initech["id"], "amount": "200.00", "method": "bank_transfer",
                "allocations": [{"bill_id": bills[1]["id"], "amount": "90.00"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(st, 422, "{p}");
    let pay = created(
        &app,
        &s.mgr,
        "/api/v1/payments-sent",
        json!({"account_id": s.initech["id"], "amount": "150.00", "method": "bank_transfer",
            "allocations": [{"bill_id": bills[0]["id"], "amount": "100.00"}, {"bill_id": bills[1]["id"], "amount": "50.00"}]}),
    )
    .await;
    assert_eq!((pay["direction"].as_str(), pay["allocated"].as_str()), (Some("sent"), Some("150.00")), "{pay}");
    let b0 = get(&app, &s.mgr, &format!("/api/v1/bills/{}", id(&bills[0]))).await;
    let b1 = get(&app, &s.mgr, &format!("/api/v1/bills/{}", id(&bills[1]))).await;
    assert_eq!((b0["status"].as_str(), b0["balance"].as_str()), (Some("paid"), Some("0.00")));
    assert_eq!((b1["status"].as_str(), b1["balance"].as_str()), (Some("part_paid"), Some("30.00")));
    // Payments sent and received are kept apart.
    let sent = get(&app, &s.mgr, "/api/v1/payments-sent").await;
    assert_eq!(sent["data"].as_array().unwrap().len(), 1);
    let received = get(&app, &s.mgr, "/api/v1/payments").await;
    assert!(received["data"].as_array().unwrap().is_empty(), "{received}");
    let (st, _) = json(app.get(&format!("/api/v1/payments/{}", id(&pay)), &s.mgr).await).await;
    assert_eq!(st, 404);
    // A payment received cannot settle a bill.
    let (st, p) = json(
        app.post(
            "/api/v1/payments",
            &s.mgr,
            &json!({"account_id": s.initech["id"], "amount": "30.00", "method": "cash",
                "allocations": [{"invoice_id": bills[1]["id"], "amount": "30.00"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(st, 422, "{p}");
}

async fn two_receipts_of_the_same_line_at_once_never_exceed_the_order(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let po = confirmed_po(&app, &s, &s.initech, "5", Some("8.00")).await;
    let one = draft_receipt(&app, &s, &po, None, None).await;
    let two = draft_receipt(&app, &s, &po, None, None).await;
    assert_eq!(line(&two, 0)["quantity"], "5", "a draft receipt holds nothing");
    let (r1, r2) = tokio::join!(receive(&app, &s, &one), receive(&app, &s, &two));
    let mut codes = [r1.0, r2.0];
    codes.sort_unstable();
    assert_eq!(codes, [200, 422], "{:?} {:?}", r1.1, r2.1);
    let po_now = get(&app, &s.mgr, &format!("/api/v1/purchase-orders/{}", id(&po))).await;
    assert_eq!(line(&po_now, 0)["quantity_received"], "5");
    assert_eq!(level(&app, &s).await.0, "5");
    ledgers_ok(&app).await;
}

/// Σ of the stock movements' values (minor units × 10,000) of one kind of source.
async fn moved_value(app: &TestApp, kind: &str) -> i64 {
    let mut tx = app.db.db.read().await.unwrap();
    tx.scalar_i64(
        "SELECT CAST(COALESCE(SUM(m.value_e4m), 0) AS BIGINT) AS v FROM stock_movements m \
         JOIN stock_documents d ON d.tenant_id = m.tenant_id AND d.id = m.document_id \
         WHERE m.tenant_id = $1 AND d.kind = $2",
        nave_store::args![DEFAULT_TENANT, kind],
    )
    .await
    .unwrap()
}

async fn costing_neither_loses_nor_creates_value_over_receipts_and_shipments(db: TestDb) {
    use proptest::strategy::{Strategy, ValueTree};
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    // Random sequences (deterministic seed): receive q at a cost, or ship up to q.
    let ops = proptest::collection::vec((proptest::bool::ANY, 1i64..6, 100i64..2_000), 4..9);
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut on_hand, mut receipts, mut invoiced_cost) = (0i64, 0i64, 0i64);
    for _ in 0..2 {
        for (inbound, qty, cents) in ops.new_tree(&mut runner).unwrap().current() {
            if inbound || on_hand == 0 {
                let price = format!("{}.{:02}", cents / 100, cents % 100);
                let po = confirmed_po(&app, &s, &s.initech, &qty.to_string(), Some(&price)).await;
                let r = draft_receipt(&app, &s, &po, None, None).await;
                let (st, r) = receive(&app, &s, &r).await;
                assert_eq!(st, 200, "{r}");
                // What the receipt is worth: quantity × unit cost, in minor units × 10,000.
                receipts += qty * cents * 10_000;
                on_hand += qty;
            } else {
                let q = qty.min(on_hand);
                let inv = sell(&app, &s, &q.to_string()).await;
                let cost: rust_decimal::Decimal = inv["cost"].as_str().unwrap().parse().unwrap();
                invoiced_cost += i64::try_from(cost * rust_decimal::Decimal::from(100)).unwrap();
                on_hand -= q;
            }
        }
    }
    let received = moved_value(&app, "receipt").await;
    let cogs = -moved_value(&app, "shipment").await;
    let mut tx = app.db.db.read().await.unwrap();
    let stock_value = tx
        .scalar_i64(
            "SELECT CAST(COALESCE(SUM(value_e4m), 0) AS BIGINT) AS v FROM stock_valuations WHERE tenant_id = $1",
            nave_store::args![DEFAULT_TENANT],
        )
        .await
        .unwrap();
    drop(tx);
    assert_eq!(received, receipts, "receipts are valued at quantity × cost");
    assert_eq!(cogs + stock_value, receipts, "COGS {cogs} + stock {stock_value} = receipts {receipts}");
    // The invoices' costs are the shipments' costs, to the cent.
    assert!((invoiced_cost * 10_000 - cogs).abs() <= 5_000 * 20, "{invoiced_cost} vs {cogs}");
    assert_eq!(level(&app, &s).await.0, on_hand.to_string());
    ledgers_ok(&app).await;
}

async fn reorder_suggestions_become_draft_orders_and_the_supplier_overview_shows_payables(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    // 3 on hand, 2 reserved by a customer order, minimum 10: available 1, order 9 from Globex.
    let po = confirmed_po(&app, &s, &s.initech, "3", Some("8.00")).await;
    let r = draft_receipt(&app, &s, &po, None, None).await;
    assert_eq!(receive(&app, &s, &r).await.0, 200);
    let o = created(
        &app,
        &s.mgr,
        "/api/v1/sales-orders",
        json!({"account_id": s.customer["id"], "warehouse_id": s.main["id"],
            "lines": [{"product_id": s.a["id"], "quantity": "2", "unit_price": "20.00"}]}),
    )
    .await;
    assert_eq!(act(&app, &s.mgr, &format!("/api/v1/sales-orders/{}/confirm", id(&o))).await.0, 200);
    let min = json!({"product_id": s.a["id"], "warehouse_id": s.main["id"], "min_quantity": "10"});
    let (st, v) =
        json(app.req(reqwest::Method::PUT, "/api/v1/stock-minimums", &s.mgr).json(&min).send().await.unwrap()).await;
    assert_eq!(st, 200, "{v}");
    let sug = get(&app, &s.mgr, "/api/v1/reorder-suggestions").await;
    let groups = sug["data"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{sug}");
    assert_eq!(groups[0]["supplier_id"], s.globex["id"]);
    let l = &groups[0]["lines"][0];
    assert_eq!(
        (l["on_hand"].as_str(), l["reserved"].as_str(), l["available"].as_str()),
        (Some("3"), Some("2"), Some("1"))
    );
    assert_eq!(l["suggested_quantity"], "9", "{sug}");
    let (st, made) = json(app.post("/api/v1/reorder-suggestions", &s.mgr, &json!({})).await).await;
    assert_eq!(st, 201, "{made}");
    let po = &made["data"][0];
    assert_eq!((po["status"].as_str(), po["currency"].as_str()), (Some("draft"), Some("GBP")), "{made}");
    assert_eq!(line(po, 0)["quantity"], "9");
    assert_eq!(line(po, 0)["supplier_code"], "GX-A");
    // What is on order counts: nothing more to suggest.
    let sug = get(&app, &s.mgr, "/api/v1/reorder-suggestions").await;
    assert!(sug["data"].as_array().unwrap().is_empty(), "{sug}");

    // The supplier's 360°: its orders, receipts, bills, payments sent and what is owed.
    let bill = created(
        &app,
        &s.mgr,
        "/api/v1/bills",
        json!({"account_id": s.initech["id"], "reference": "B-1",
            "lines": [{"description": "Parts", "quantity": "1", "unit_price": "70.00"}]}),
    )
    .await;
    assert_eq!(act(&app, &s.mgr, &format!("/api/v1/bills/{}/issue", id(&bill))).await.0, 200);
    created(
        &app,
        &s.mgr,
        "/api/v1/payments-sent",
        json!({"account_id": s.initech["id"], "amount": "20.00", "method": "cash",
            "allocations": [{"bill_id": bill["id"], "amount": "20.00"}]}),
    )
    .await;
    let ov = get(&app, &s.mgr, &format!("/api/v1/accounts/{}/overview", id(&s.initech))).await;
    assert_eq!(ov["receipts"].as_array().unwrap().len(), 1, "{ov}");
    assert_eq!(ov["open_bills"][0]["balance"], "50.00", "{ov}");
    assert_eq!(ov["payments_sent"][0]["amount"], "20.00");
    assert_eq!(ov["payables"][0]["open"], "50.00");
    // Received but not billed: still open.
    assert_eq!(ov["open_purchase_orders"][0]["status"], "received", "{ov}");
    let ov = get(&app, &s.mgr, &format!("/api/v1/accounts/{}/overview", id(&s.globex))).await;
    assert_eq!(ov["open_purchase_orders"].as_array().unwrap().len(), 1, "{ov}");
}

both_backends!(
    a_po_received_in_two_parts_gives_the_invoice_its_moving_average_margin,
    receiving_more_than_ordered_is_refused_and_moves_nothing,
    a_suppliers_bill_number_is_used_once_per_supplier,
    a_payment_sent_settles_two_bills_of_one_supplier,
    two_receipts_of_the_same_line_at_once_never_exceed_the_order,
    costing_neither_loses_nor_creates_value_over_receipts_and_shipments,
    reorder_suggestions_become_draft_orders_and_the_supplier_overview_shows_payables,
);
