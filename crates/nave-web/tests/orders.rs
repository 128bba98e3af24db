//! Sales orders over the API, on both databases: quote conversion, confirming
//! with the credit limit and stock reservations, cancelling, part shipments,
//! refusals that store nothing, and two shipments of the same line at once.

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

async fn product(app: &TestApp, who: &TestUser, sku: &str, price: &str) -> Value {
    let (s, p) = json(
        app.post(
            "/api/v1/products",
            who,
            &json!({"sku": sku, "name": format!("Widget {sku}"), "list_price": price, "currency": "EUR"}),
        )
        .await,
    )
    .await;
    assert_eq!(s, 201, "{p}");
    p
}

async fn stock_in(app: &TestApp, who: &TestUser, wh: &Value, p: &Value, qty: &str) {
    let body = json!({"warehouse_id": wh["id"], "reason": "opening balance",
        "lines": [{"product_id": p["id"], "quantity": qty, "unit_cost": "4.00"}]});
    let (s, d) = json(app.post("/api/v1/stock-adjustments", who, &body).await).await;
    assert_eq!(s, 201, "{d}");
}

async fn setup(app: &TestApp) -> Setup {
    let mgr = app.user("mgr@example.com", "admin").await;
    let (_, main) = json(app.post("/api/v1/warehouses", &mgr, &json!({"name": "Main"})).await).await;
    let a = product(app, &mgr, "A", "10.00").await;
    let b = product(app, &mgr, "B", "5.00").await;
    stock_in(app, &mgr, &main, &a, "10").await;
    stock_in(app, &mgr, &main, &b, "10").await;
    let (s, account) =
        json(app.post("/api/v1/accounts", &mgr, &json!({"name": "Acme Ltd", "currency": "EUR"})).await).await;
    assert_eq!(s, 201, "{account}");
    Setup { mgr, main, account, a, b }
}

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

/// A draft order of `lines` (product, quantity) from the Main warehouse.
async fn draft_order(app: &TestApp, s: &Setup, account: &Value, lines: &[(&Value, &str)]) -> Value {
    let lines: Vec<Value> = lines.iter().map(|(p, q)| json!({"product_id": p["id"], "quantity": q})).collect();
    let body = json!({"account_id": account["id"], "warehouse_id": s.main["id"], "lines": lines});
    let (st, o) = json(app.post("/api/v1/sales-orders", &s.mgr, &body).await).await;
    assert_eq!(st, 201, "{o}");
    o
}

async fn confirmed_order(app: &TestApp, s: &Setup, lines: &[(&Value, &str)]) -> Value {
    let o = draft_order(app, s, &s.account, lines).await;
    let (st, o) = json(app.post(&format!("/api/v1/sales-orders/{}/confirm", id(&o)), &s.mgr, &json!({})).await).await;
    assert_eq!(st, 200, "{o}");
    assert_eq!(o["status"], "open");
    o
}

fn line(o: &Value, i: usize) -> &Value {
    &o["groups"][0]["lines"][i]
}

/// (on hand, reserved, available) of a product in Main.
async fn level(app: &TestApp, s: &Setup, p: &Value) -> (String, String, String) {
    let path = format!("/api/v1/stock?product_id={}&warehouse_id={}", id(p), id(&s.main));
    let (_, v) = json(app.get(&path, &s.mgr).await).await;
    let l = &v["data"][0];
    let f = |k: &str| l[k].as_str().unwrap_or("?").to_string();
    (f("on_hand"), f("reserved"), f("available"))
}

async fn ledgers_ok(app: &TestApp) {
    let mut tx = app.db.db.read().await.unwrap();
    let bad = nave_store::stock::ledger_mismatches(&mut tx, DEFAULT_TENANT).await.unwrap();
    assert!(bad.is_empty(), "stock: {bad:?}");
    let bad = nave_store::orders::ledger_mismatches(&mut tx, DEFAULT_TENANT).await.unwrap();
    assert!(bad.is_empty(), "orders: {bad:?}");
}

async fn shipment(app: &TestApp, s: &Setup, order: &Value, lines: Option<Value>) -> (u16, Value) {
    let mut body = json!({"sales_order_id": order["id"], "carrier": "DHL"});
    if let Some(l) = lines {
        body["lines"] = l;
    }
    json(app.post("/api/v1/shipments", &s.mgr, &body).await).await
}

async fn ship(app: &TestApp, s: &Setup, sh: &Value) -> (u16, Value) {
    json(app.post(&format!("/api/v1/shipments/{}/ship", id(sh)), &s.mgr, &json!({})).await).await
}

async fn get_order(app: &TestApp, s: &Setup, o: &Value) -> Value {
    json(app.get(&format!("/api/v1/sales-orders/{}", id(o)), &s.mgr).await).await.1
}

async fn an_accepted_quote_converts_once_to_a_confirmed_order(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let body = json!({"account_id": s.account["id"], "lines": [{"product_id": s.a["id"], "quantity": "3"}, {"product_id": s.b["id"], "quantity": "2"}]});
    let (_, q) = json(app.post("/api/v1/quotes", &s.mgr, &body).await).await;
    let qid = id(&q).to_string();
    // A draft quote does not convert.
    let (st, p) = json(app.post(&format!("/api/v1/quotes/{qid}/convert"), &s.mgr, &json!({})).await).await;
    assert_eq!(st, 409, "{p}");
    for action in ["send", "accept"] {
        let (st, p) = json(app.post(&format!("/api/v1/quotes/{qid}/{action}"), &s.mgr, &json!({})).await).await;
        assert_eq!(st, 200, "{p}");
    }
    let (_, accepted) = json(app.get(&format!("/api/v1/quotes/{qid}"), &s.mgr).await).await;
    let (st, o) =
        json(app.post(&format!("/api/v1/quotes/{qid}/convert"), &s.mgr, &json!({"to": "sales_order"})).await).await;
    assert_eq!(st, 201, "{o}");
    assert_eq!(o["status"], "open");
    assert!(o["number"].as_str().unwrap().starts_with("SO-"), "{o}");
    assert_eq!(o["origin_id"], q["id"]);
    assert_eq!(line(&o, 0)["origin_line_id"], line(&q, 0)["id"]);
    assert_eq!(line(&o, 1)["origin_line_id"], line(&q, 1)["id"]);
    assert_eq!(o["totals"]["total"], q["totals"]["total"]);
    assert_eq!(line(&o, 0)["quantity_reserved"], "3", "conversion confirms, and confirming reserves");
    let (st, again) = json(app.post(&format!("/api/v1/quotes/{qid}/convert"), &s.mgr, &json!({})).await).await;
    assert_eq!(st, 200, "{again}");
    assert_eq!(again["id"], o["id"]);
    let (_, after) = json(app.get(&format!("/api/v1/quotes/{qid}"), &s.mgr).await).await;
    assert_eq!(after["status"], "accepted");
    assert_eq!(after["version"], accepted["version"], "the quote itself is not changed");
    let (_, list) = json(app.get("/api/v1/sales-orders", &s.mgr).await).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "one order only");
    ledgers_ok(&app).await;
}

async fn confirming_reserves_stock_and_cancelling_releases_it(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let o = confirmed_order(&app, &s, &[(&s.a, "3")]).await;
    assert_eq!(line(&o, 0)["quantity_reserved"], "3");
    assert_eq!(level(&app, &s, &s.a).await, ("10".into(), "3".into(), "7".into()));
    // More than is available reserves what there is; the order still confirms.
    let big = confirmed_order(&app, &s, &[(&s.a, "9")]).await;
    assert_eq!(line(&big, 0)["quantity_reserved"], "7");
    assert_eq!(level(&app, &s, &s.a).await, ("10".into(), "10".into(), "0".into()));
    ledgers_ok(&app).await;
    let (st, c) = json(app.post(&format!("/api/v1/sales-orders/{}/cancel", id(&o)), &s.mgr, &json!({})).await).await;
    assert_eq!(st, 200, "{c}");
    assert_eq!(c["status"], "cancelled");
    assert_eq!(line(&c, 0)["quantity_reserved"], "0");
    assert_eq!(level(&app, &s, &s.a).await, ("10".into(), "7".into(), "3".into()));
    // Cancelled is final.
    let (st, _) = json(app.post(&format!("/api/v1/sales-orders/{}/cancel", id(&o)), &s.mgr, &json!({})).await).await;
    assert_eq!(st, 409);
    // An order with a draft shipment is not cancelled.
    let (st, _) = shipment(&app, &s, &big, None).await;
    assert_eq!(st, 201);
    let (st, p) = json(app.post(&format!("/api/v1/sales-orders/{}/cancel", id(&big)), &s.mgr, &json!({})).await).await;
    assert_eq!(st, 409, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("draft shipment"), "{p}");
    ledgers_ok(&app).await;
}

async fn part_shipments_track_what_is_left_and_move_stock(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let o = confirmed_order(&app, &s, &[(&s.a, "3"), (&s.b, "2")]).await;
    let (la, lb) = (line(&o, 0)["id"].clone(), line(&o, 1)["id"].clone());
    let (st, sh) = shipment(
        &app,
        &s,
        &o,
        Some(json!([{"order_line_id": la, "quantity": "2"}, {"order_line_id": lb, "quantity": "2"}])),
    )
    .await;
    assert_eq!(st, 201, "{sh}");
    assert_eq!(sh["status"], "draft");
    assert!(sh["number"].is_null());
    assert_eq!(sh["sales_order_number"], o["number"]);
    assert_eq!(sh["account_name"], "Acme Ltd");
    assert_eq!(sh["lines"][0]["sku"], "A");
    let (st, done) = ship(&app, &s, &sh).await;
    assert_eq!(st, 200, "{done}");
    assert_eq!(done["status"], "done");
    assert!(done["number"].as_str().unwrap().starts_with("SHP-"), "{done}");
    let now = get_order(&app, &s, &o).await;
    assert_eq!(now["status"], "open");
    assert_eq!(line(&now, 0)["quantity_shipped"], "2");
    assert_eq!(line(&now, 1)["quantity_shipped"], "2");
    assert_eq!(line(&now, 0)["quantity_reserved"], "1");
    let (_, left) = json(app.get(&format!("/api/v1/sales-orders/{}/left", id(&o)), &s.mgr).await).await;
    assert_eq!(left["lines"][0]["left_to_ship"], "1", "{left}");
    assert_eq!(left["lines"][1]["left_to_ship"], "0", "{left}");
    assert_eq!(left["lines"][0]["left_to_invoice"], "2", "shipped, not invoiced: {left}");
    let (_, desk) = json(app.get("/api/v1/order-desk?view=to_ship", &s.mgr).await).await;
    assert_eq!(desk["data"][0]["id"], o["id"], "{desk}");
    // More than is left is refused, naming the line and what is left.
    let (st, p) = shipment(&app, &s, &o, Some(json!([{"order_line_id": la, "quantity": "2"}]))).await;
    assert_eq!(st, 422, "{p}");
    assert_eq!(p["errors"][0]["field"], "lines[0].quantity", "{p}");
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("1 left"), "{p}");
    // The rest: everything left by default.
    let (st, rest) = shipment(&app, &s, &o, None).await;
    assert_eq!(st, 201, "{rest}");
    assert_eq!(rest["lines"].as_array().unwrap().len(), 1, "{rest}");
    assert_eq!(rest["lines"][0]["quantity"], "1");
    let (st, done2) = ship(&app, &s, &rest).await;
    assert_eq!(st, 200, "{done2}");
    assert_ne!(done2["number"], done["number"]);
    // Shipping it again is a refused transition.
    let (st, _) = ship(&app, &s, &rest).await;
    assert_eq!(st, 409);
    let now = get_order(&app, &s, &o).await;
    assert_eq!(line(&now, 0)["quantity_shipped"], "3");
    assert_eq!(line(&now, 0)["quantity_reserved"], "0");
    assert_eq!(now["status"], "open", "shipped in full but not invoiced");
    assert_eq!(level(&app, &s, &s.a).await, ("7".into(), "0".into(), "7".into()));
    assert_eq!(level(&app, &s, &s.b).await, ("8".into(), "0".into(), "8".into()));
    let (_, moves) = json(app.get(&format!("/api/v1/stock-movements?product_id={}", id(&s.a)), &s.mgr).await).await;
    let moves = moves["data"].as_array().unwrap().clone();
    let out: Vec<&Value> =
        moves.iter().filter(|m| m["reason"].as_str().unwrap().starts_with("shipment SHP-")).collect();
    assert_eq!(out.len(), 2, "{moves:?}");
    assert_eq!(out[0]["quantity"], "-2");
    assert_eq!(out[0]["unit_cost"], "4.00");
    assert_eq!(out[0]["document_id"], done["id"]);
    let (_, desk) = json(app.get("/api/v1/order-desk?view=to_ship", &s.mgr).await).await;
    assert!(desk["data"].as_array().unwrap().is_empty(), "{desk}");
    let (_, desk) = json(app.get("/api/v1/order-desk?view=to_invoice", &s.mgr).await).await;
    assert_eq!(desk["data"][0]["id"], o["id"], "{desk}");
    let (_, list) = json(app.get(&format!("/api/v1/sales-orders/{}/shipments", id(&o)), &s.mgr).await).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    ledgers_ok(&app).await;
}

async fn shipping_more_than_is_on_hand_is_refused_and_stores_nothing(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let c = product(&app, &s.mgr, "C", "1.00").await;
    stock_in(&app, &s.mgr, &s.main, &c, "1").await;
    let o = confirmed_order(&app, &s, &[(&c, "3")]).await;
    assert_eq!(line(&o, 0)["quantity_reserved"], "1");
    let (st, sh) = shipment(&app, &s, &o, None).await;
    assert_eq!(st, 201, "{sh}");
    let (st, p) = ship(&app, &s, &sh).await;
    assert_eq!(st, 409, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("not enough C"), "{p}");
    let (_, again) = json(app.get(&format!("/api/v1/shipments/{}", id(&sh)), &s.mgr).await).await;
    assert_eq!(again["status"], "draft");
    assert!(again["number"].is_null());
    let now = get_order(&app, &s, &o).await;
    assert_eq!(line(&now, 0)["quantity_shipped"], "0");
    assert_eq!(line(&now, 0)["quantity_reserved"], "1");
    assert_eq!(level(&app, &s, &c).await, ("1".into(), "1".into(), "0".into()));
    // Stock reserved for another order is not taken either.
    let other = confirmed_order(&app, &s, &[(&s.a, "10")]).await;
    assert_eq!(line(&other, 0)["quantity_reserved"], "10");
    let mine = confirmed_order(&app, &s, &[(&s.a, "1")]).await;
    let (_, sh2) = shipment(&app, &s, &mine, None).await;
    let (st, p) = ship(&app, &s, &sh2).await;
    assert_eq!(st, 409, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("reserved for other orders"), "{p}");
    // Drafts are edited and deleted; done or cancelled ones are not.
    let r = app
        .req(reqwest::Method::PATCH, &format!("/api/v1/shipments/{}", id(&sh)), &s.mgr)
        .json(&json!({"tracking_number": "TRK-1", "lines": [{"order_line_id": line(&o, 0)["id"], "quantity": "1"}]}))
        .send()
        .await
        .unwrap();
    let (st, edited) = json(r).await;
    assert_eq!(st, 200, "{edited}");
    assert_eq!(edited["tracking_number"], "TRK-1");
    assert_eq!(edited["lines"][0]["quantity"], "1");
    let r = app.req(reqwest::Method::DELETE, &format!("/api/v1/shipments/{}", id(&sh2)), &s.mgr).send().await.unwrap();
    assert_eq!(r.status(), 204);
    // A draft is cancelled; then the order can be.
    let (st, x) = json(app.post(&format!("/api/v1/shipments/{}/cancel", id(&sh)), &s.mgr, &json!({})).await).await;
    assert_eq!(st, 200, "{x}");
    assert_eq!(x["status"], "cancelled");
    let r = app
        .req(reqwest::Method::PATCH, &format!("/api/v1/shipments/{}", id(&sh)), &s.mgr)
        .json(&json!({"carrier": "UPS"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let (st, _) = json(app.post(&format!("/api/v1/sales-orders/{}/cancel", id(&o)), &s.mgr, &json!({})).await).await;
    assert_eq!(st, 200);
    ledgers_ok(&app).await;
}

async fn the_credit_limit_refuses_confirming_unless_overridden(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let rep = app.user("rep@example.com", "sales_rep").await;
    let (st, acc) = json(
        app.post(
            "/api/v1/accounts",
            &s.mgr,
            &json!({"name": "Tight Co", "currency": "EUR", "credit_limit": "100.00", "owner_id": rep.user.id.to_string()}),
        )
        .await,
    )
    .await;
    assert_eq!(st, 201, "{acc}");
    let o = draft_order(&app, &s, &acc, &[(&s.a, "15")]).await;
    assert_eq!(o["totals"]["total"], "150.00");
    let path = format!("/api/v1/sales-orders/{}/confirm", id(&o));
    let (st, p) = json(app.post(&path, &s.mgr, &json!({})).await).await;
    assert_eq!(st, 409, "{p}");
    let detail = p["detail"].as_str().unwrap();
    for part in ["credit limit 100.00 EUR", "exposure would be 150.00 EUR", "50.00 EUR over"] {
        assert!(detail.contains(part), "{part} in {detail}");
    }
    assert_eq!(get_order(&app, &s, &o).await["status"], "draft");
    let (st, p) = json(app.post(&path, &rep, &json!({"override_reason": "good payer"})).await).await;
    assert_eq!(st, 403, "{p}");
    let (st, ok) = json(app.post(&path, &s.mgr, &json!({"override_reason": "good payer"})).await).await;
    assert_eq!(st, 200, "{ok}");
    assert_eq!(ok["status"], "open");
    assert_eq!(ok["credit_override"]["reason"], "good payer");
    assert_eq!(ok["credit_override"]["user_id"], s.mgr.user.id.to_string());
    // The open order now counts: a second small order is over the limit too.
    let o2 = draft_order(&app, &s, &acc, &[(&s.b, "1")]).await;
    let (st, p) = json(app.post(&format!("/api/v1/sales-orders/{}/confirm", id(&o2)), &s.mgr, &json!({})).await).await;
    assert_eq!(st, 409, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("exposure would be 155.00 EUR"), "{p}");
    ledgers_ok(&app).await;
}

async fn two_shipments_of_the_last_units_at_once_ship_only_once(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let o = confirmed_order(&app, &s, &[(&s.a, "3")]).await;
    let (_, one) = shipment(&app, &s, &o, None).await;
    let (_, two) = shipment(&app, &s, &o, None).await;
    assert_eq!(two["lines"][0]["quantity"], "3", "{two}");
    let (r1, r2) = tokio::join!(ship(&app, &s, &one), ship(&app, &s, &two));
    let mut codes = [r1.0, r2.0];
    codes.sort_unstable();
    assert_eq!(codes, [200, 422], "{:?} {:?}", r1.1, r2.1);
    let now = get_order(&app, &s, &o).await;
    assert_eq!(line(&now, 0)["quantity_shipped"], "3");
    assert_eq!(level(&app, &s, &s.a).await, ("7".into(), "0".into(), "7".into()));
    ledgers_ok(&app).await;
}

both_backends!(
    an_accepted_quote_converts_once_to_a_confirmed_order,
    confirming_reserves_stock_and_cancelling_releases_it,
    part_shipments_track_what_is_left_and_move_stock,
    shipping_more_than_is_on_hand_is_refused_and_stores_nothing,
    the_credit_limit_refuses_confirming_unless_overridden,
    two_shipments_of_the_last_units_at_once_ship_only_once,
);
