//! Order to cash over the API, on both databases: the whole flow from a
//! quote to a credited, paid pair of invoices; a credit note that returns
//! goods to stock; and two allocations to the same invoice at once.

mod support;

use nave_store::tenants::DEFAULT_TENANT;
use nave_testkit::{TestDb, both_backends};
use serde_json::{Value, json};
use support::{TestApp, TestUser, json};

struct Setup {
    mgr: TestUser,
    main: Value,
    account: Value,
    a: Value,
    b: Value,
}

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

async fn setup(app: &TestApp) -> Setup {
    let mgr = app.user("mgr@example.com", "admin").await;
    let (_, main) = json(app.post("/api/v1/warehouses", &mgr, &json!({"name": "Main"})).await).await;
    let mut products = vec![];
    for (sku, price) in [("A", "10.00"), ("B", "5.00")] {
        let body = json!({"sku": sku, "name": format!("Widget {sku}"), "list_price": price, "currency": "EUR"});
        let (s, p) = json(app.post("/api/v1/products", &mgr, &body).await).await;
        assert_eq!(s, 201, "{p}");
        let body = json!({"warehouse_id": main["id"], "reason": "opening balance",
            "lines": [{"product_id": p["id"], "quantity": "10", "unit_cost": "4.00"}]});
        let (s, d) = json(app.post("/api/v1/stock-adjustments", &mgr, &body).await).await;
        assert_eq!(s, 201, "{d}");
        products.push(p);
    }
    let (s, account) =
        json(app.post("/api/v1/accounts", &mgr, &json!({"name": "Acme Ltd", "currency": "EUR"})).await).await;
    assert_eq!(s, 201, "{account}");
    let b = products.pop().unwrap();
    let a = products.pop().unwrap();
    Setup { mgr, main, account, a, b }
}

async fn call(app: &TestApp, s: &Setup, path: &str, body: Value) -> Value {
    let (st, v) = json(app.post(path, &s.mgr, &body).await).await;
    assert!(st == 200 || st == 201, "{path}: {st} {v}");
    v
}

async fn get(app: &TestApp, s: &Setup, path: &str) -> Value {
    let (st, v) = json(app.get(path, &s.mgr).await).await;
    assert_eq!(st, 200, "{path}: {v}");
    v
}

/// On hand of a product in Main.
async fn on_hand(app: &TestApp, s: &Setup, p: &Value) -> String {
    let v = get(app, s, &format!("/api/v1/stock?product_id={}&warehouse_id={}", id(p), id(&s.main))).await;
    v["data"][0]["on_hand"].as_str().unwrap().to_string()
}

async fn ledgers_ok(app: &TestApp) {
    let mut tx = app.db.db.read().await.unwrap();
    let bad = nave_store::stock::ledger_mismatches(&mut tx, DEFAULT_TENANT).await.unwrap();
    assert!(bad.is_empty(), "stock: {bad:?}");
    let bad = nave_store::orders::ledger_mismatches(&mut tx, DEFAULT_TENANT).await.unwrap();
    assert!(bad.is_empty(), "orders: {bad:?}");
}

/// An open order of 4 × A and 2 × B (invoiced on what shipped), shipped in full, invoiced and issued.
async fn shipped_invoice(app: &TestApp, s: &Setup) -> (Value, Value) {
    let body = json!({"account_id": s.account["id"], "warehouse_id": s.main["id"],
        "lines": [{"product_id": s.a["id"], "quantity": "4"}, {"product_id": s.b["id"], "quantity": "2"}]});
    let o = call(app, s, "/api/v1/sales-orders", body).await;
    let o = call(app, s, &format!("/api/v1/sales-orders/{}/confirm", id(&o)), json!({})).await;
    let sh = call(app, s, "/api/v1/shipments", json!({"sales_order_id": o["id"]})).await;
    call(app, s, &format!("/api/v1/shipments/{}/ship", id(&sh)), json!({})).await;
    let inv = call(app, s, "/api/v1/invoices", json!({"account_id": s.account["id"], "sales_order_id": o["id"]})).await;
    let inv = call(app, s, &format!("/api/v1/invoices/{}/issue", id(&inv)), json!({})).await;
    assert_eq!(inv["totals"]["total"], "50.00", "{inv}");
    (o, inv)
}

async fn a_credit_note_returning_goods_raises_on_hand_by_what_it_credits(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let (_, inv) = shipped_invoice(&app, &s).await;
    assert_eq!(on_hand(&app, &s, &s.a).await, "6");
    assert_eq!(on_hand(&app, &s, &s.b).await, "8");
    let line = |i: usize| inv["groups"][0]["lines"][i].clone();

    // A return needs its warehouse, and a warehouse needs a return.
    let base = json!({"account_id": s.account["id"], "invoice_id": inv["id"], "return_to_stock": true});
    let (st, v) = json(app.post("/api/v1/credit-notes", &s.mgr, &base).await).await;
    assert_eq!(st, 422, "{v}");
    assert_eq!(v["errors"][0]["field"], "warehouse_id", "{v}");
    let body = json!({"account_id": s.account["id"], "invoice_id": inv["id"], "warehouse_id": s.main["id"]});
    let (st, v) = json(app.post("/api/v1/credit-notes", &s.mgr, &body).await).await;
    assert_eq!(st, 422, "{v}");
    assert_eq!(v["errors"][0]["field"], "return_to_stock", "{v}");

    // 3 of the 4 A come back; nothing moves while the credit note is a draft.
    let body = json!({"account_id": s.account["id"], "invoice_id": inv["id"], "return_to_stock": true,
        "warehouse_id": s.main["id"],
        "lines": [{"product_id": s.a["id"], "quantity": "3", "origin_line_id": line(0)["id"]}]});
    let cn = call(&app, &s, "/api/v1/credit-notes", body).await;
    assert_eq!(cn["warehouse_id"], s.main["id"], "the return's warehouse is on the credit note");
    assert_eq!(on_hand(&app, &s, &s.a).await, "6", "a draft returns nothing");
    let cn = call(&app, &s, &format!("/api/v1/credit-notes/{}/issue", id(&cn)), json!({})).await;
    assert_eq!(cn["status"], "applied", "{cn}");
    assert_eq!(on_hand(&app, &s, &s.a).await, "9", "the credited quantity is back");
    assert_eq!(on_hand(&app, &s, &s.b).await, "8", "B was not credited");
    let moves = get(&app, &s, &format!("/api/v1/stock-movements?product_id={}", id(&s.a))).await;
    let last = moves["data"].as_array().unwrap().iter().find(|m| m["quantity"] == "3").expect("an incoming movement");
    assert!(last["reason"].as_str().unwrap().contains(cn["number"].as_str().unwrap()), "{last}");
    assert_eq!(last["unit_cost"], "4.00", "at the product's cost: {last}");

    // Without return_to_stock, crediting B moves nothing.
    let body = json!({"account_id": s.account["id"], "invoice_id": inv["id"],
        "lines": [{"product_id": s.b["id"], "quantity": "1", "origin_line_id": line(1)["id"]}]});
    let cn2 = call(&app, &s, "/api/v1/credit-notes", body).await;
    call(&app, &s, &format!("/api/v1/credit-notes/{}/issue", id(&cn2)), json!({})).await;
    assert_eq!(on_hand(&app, &s, &s.b).await, "8");
    let inv = get(&app, &s, &format!("/api/v1/invoices/{}", id(&inv))).await;
    assert_eq!(inv["balance"], "15.00", "50 − 30 − 5: {inv}");
    ledgers_ok(&app).await;
}

async fn two_allocations_to_one_invoice_at_once_never_exceed_its_balance(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let (_, inv) = shipped_invoice(&app, &s).await;
    let pay = |amount: &str| {
        json!({"account_id": s.account["id"], "amount": amount, "method": "bank_transfer",
            "allocations": [{"invoice_id": inv["id"], "amount": amount}]})
    };
    let (b1, b2) = (pay("30.00"), pay("30.00"));
    let (r1, r2) = tokio::join!(app.post("/api/v1/payments", &s.mgr, &b1), app.post("/api/v1/payments", &s.mgr, &b2));
    let (s1, v1) = json(r1).await;
    let (s2, v2) = json(r2).await;
    let mut statuses = [s1, s2];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 422], "one fits the balance of 50, the other does not: {v1} {v2}");
    let inv = get(&app, &s, &format!("/api/v1/invoices/{}", id(&inv))).await;
    assert_eq!(inv["balance"], "20.00", "{inv}");
    assert_eq!(inv["status"], "part_paid");
    let list = get(&app, &s, "/api/v1/payments").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "the refused payment stored nothing");

    // Allocating the rest of two payments at once: the balance is never below 0.
    let p = |amount: &str| json!({"account_id": s.account["id"], "amount": amount, "method": "cash"});
    let pa = call(&app, &s, "/api/v1/payments", p("15.00")).await;
    let pb = call(&app, &s, "/api/v1/payments", p("15.00")).await;
    let alloc = json!({"allocations": [{"invoice_id": inv["id"], "amount": "15.00"}]});
    let (path_a, path_b) =
        (format!("/api/v1/payments/{}/allocate", id(&pa)), format!("/api/v1/payments/{}/allocate", id(&pb)));
    let (ra, rb) = tokio::join!(app.post(&path_a, &s.mgr, &alloc), app.post(&path_b, &s.mgr, &alloc));
    let mut statuses = [ra.status().as_u16(), rb.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 422]);
    let inv = get(&app, &s, &format!("/api/v1/invoices/{}", id(&inv))).await;
    assert_eq!(inv["balance"], "5.00", "{inv}");
}

async fn quote_to_cash_with_two_shipments_two_invoices_one_payment_and_a_credit(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    // Quote → send → accept → convert.
    let body = json!({"account_id": s.account["id"],
        "lines": [{"product_id": s.a["id"], "quantity": "4"}, {"product_id": s.b["id"], "quantity": "2"}]});
    let q = call(&app, &s, "/api/v1/quotes", body).await;
    call(&app, &s, &format!("/api/v1/quotes/{}/send", id(&q)), json!({})).await;
    let q = call(&app, &s, &format!("/api/v1/quotes/{}/accept", id(&q)), json!({})).await;
    assert_eq!(q["status"], "accepted");
    let o = call(&app, &s, &format!("/api/v1/quotes/{}/convert", id(&q)), json!({"to": "sales_order"})).await;
    assert_eq!(o["doc_type"], "sales_order", "{o}");
    assert_eq!(o["status"], "open", "{o}");
    let ol = |i: usize| o["groups"][0]["lines"][i]["id"].clone();

    // Ship 3 × A now; invoice what shipped (policy shipped): 30.00.
    let sh = call(&app, &s, "/api/v1/shipments",
        json!({"sales_order_id": o["id"], "warehouse_id": s.main["id"], "lines": [{"order_line_id": ol(0), "quantity": "3"}]}))
        .await;
    call(&app, &s, &format!("/api/v1/shipments/{}/ship", id(&sh)), json!({})).await;
    let inv1 =
        call(&app, &s, "/api/v1/invoices", json!({"account_id": s.account["id"], "sales_order_id": o["id"]})).await;
    let inv1 = call(&app, &s, &format!("/api/v1/invoices/{}/issue", id(&inv1)), json!({})).await;
    assert_eq!(inv1["totals"]["total"], "30.00", "{inv1}");

    // Ship the rest (1 × A, 2 × B), invoice it: 20.00; the order completes.
    let sh2 = call(&app, &s, "/api/v1/shipments", json!({"sales_order_id": o["id"]})).await;
    call(&app, &s, &format!("/api/v1/shipments/{}/ship", id(&sh2)), json!({})).await;
    let inv2 =
        call(&app, &s, "/api/v1/invoices", json!({"account_id": s.account["id"], "sales_order_id": o["id"]})).await;
    let inv2 = call(&app, &s, &format!("/api/v1/invoices/{}/issue", id(&inv2)), json!({})).await;
    assert_eq!(inv2["totals"]["total"], "20.00", "{inv2}");
    let o = get(&app, &s, &format!("/api/v1/sales-orders/{}", id(&o))).await;
    assert_eq!(o["status"], "completed", "shipped and invoiced in full: {o}");
    assert_eq!(on_hand(&app, &s, &s.a).await, "6");
    assert_eq!(on_hand(&app, &s, &s.b).await, "8");

    // One payment of 45.00 across both: 30 to the first, 15 to the second.
    let pay = call(
        &app,
        &s,
        "/api/v1/payments",
        json!({"account_id": s.account["id"], "amount": "45.00",
        "method": "bank_transfer", "allocations": [
            {"invoice_id": inv1["id"], "amount": "30.00"}, {"invoice_id": inv2["id"], "amount": "15.00"}]}),
    )
    .await;
    assert_eq!(pay["unallocated"], "0.00", "{pay}");

    // Credit 1 × B on the second invoice (5.00), returned to stock: it is paid in full.
    let il = inv2["groups"][0]["lines"].as_array().unwrap().iter().find(|l| l["sku"] == "B").unwrap().clone();
    let cn = call(
        &app,
        &s,
        "/api/v1/credit-notes",
        json!({"account_id": s.account["id"], "invoice_id": inv2["id"],
        "return_to_stock": true, "warehouse_id": s.main["id"],
        "lines": [{"product_id": s.b["id"], "quantity": "1", "origin_line_id": il["id"]}]}),
    )
    .await;
    let cn = call(&app, &s, &format!("/api/v1/credit-notes/{}/issue", id(&cn)), json!({})).await;
    assert_eq!(cn["status"], "applied", "{cn}");
    assert_eq!(cn["balance"], "0.00");

    let inv1 = get(&app, &s, &format!("/api/v1/invoices/{}", id(&inv1))).await;
    let inv2 = get(&app, &s, &format!("/api/v1/invoices/{}", id(&inv2))).await;
    assert_eq!((inv1["status"].as_str(), inv1["balance"].as_str()), (Some("paid"), Some("0.00")), "{inv1}");
    assert_eq!((inv2["status"].as_str(), inv2["balance"].as_str()), (Some("paid"), Some("0.00")), "{inv2}");
    assert_eq!(inv2["settled"], "20.00");
    assert_eq!(on_hand(&app, &s, &s.b).await, "9", "the credited B is back");
    ledgers_ok(&app).await;
}

both_backends!(
    a_credit_note_returning_goods_raises_on_hand_by_what_it_credits,
    two_allocations_to_one_invoice_at_once_never_exceed_its_balance,
    quote_to_cash_with_two_shipments_two_invoices_one_payment_and_a_credit,
);
