//! Drop shipping over the API and the pages, on both databases: a sales-order
//! line marked drop-ship makes a purchase order to the product's preferred
//! supplier, delivered to the customer; receiving it ships the line at the
//! supplier's cost without touching the warehouse's stock or average cost;
//! the invoice's margin is computed from that cost; refusals name the line.

mod support;

use nave_store::tenants::DEFAULT_TENANT;
use nave_testkit::{TestDb, both_backends};
use serde_json::{Value, json};
use support::{TestApp, TestUser, act, created, form, get_ok as get, id_of as id, json, line, page, session};

struct Setup {
    mgr: TestUser,
    main: Value,
    supplier: Value,
    customer: Value,
    /// Goods with a preferred supplier (cost 12.00), 5 in stock at 8.00.
    d: Value,
    /// Goods without a supplier.
    lone: Value,
}

async fn setup(app: &TestApp) -> Setup {
    let mgr = app.user("mgr@example.com", "admin").await;
    let main = created(app, &mgr, "/api/v1/warehouses", json!({"name": "Main", "address": "1 Depot Way"})).await;
    let supplier = created(
        app,
        &mgr,
        "/api/v1/accounts",
        json!({"name": "Direct Supplies", "currency": "USD", "kinds": ["supplier"]}),
    )
    .await;
    let customer = created(
        app,
        &mgr,
        "/api/v1/accounts",
        json!({"name": "Acme Ltd", "currency": "USD", "addresses": [
            {"label": "Office", "line1": "1 Office Rd", "city": "Leeds", "country": "GB", "is_default_billing": true},
            {"label": "Site", "line1": "9 Building Site", "city": "York", "postal_code": "YO1 7HH", "country": "GB",
             "is_default_shipping": true}]}),
    )
    .await;
    let d = created(
        app,
        &mgr,
        "/api/v1/products",
        json!({"sku": "D", "name": "Big crate", "list_price": "30.00", "currency": "USD",
            "suppliers": [{"supplier_id": supplier["id"], "supplier_code": "DS-D", "cost": "12.00", "preferred": true}]}),
    )
    .await;
    let lone = created(
        app,
        &mgr,
        "/api/v1/products",
        json!({"sku": "L", "name": "Lone", "list_price": "5.00", "currency": "USD"}),
    )
    .await;
    let body = json!({"warehouse_id": main["id"], "reason": "opening balance",
        "lines": [{"product_id": d["id"], "quantity": "5", "unit_cost": "8.00"}]});
    created(app, &mgr, "/api/v1/stock-adjustments", body).await;
    Setup { mgr, main, supplier, customer, d, lone }
}

/// A draft sales order of `qty` D to the customer at 30.00, drop-shipped.
async fn drop_ship_order(app: &TestApp, s: &Setup, product: &Value, qty: &str) -> Value {
    created(
        app,
        &s.mgr,
        "/api/v1/sales-orders",
        json!({"account_id": s.customer["id"], "warehouse_id": s.main["id"],
            "lines": [{"product_id": product["id"], "quantity": qty, "unit_price": "30.00", "drop_ship": true}]}),
    )
    .await
}

/// (on hand, reserved) of D in Main, and D's cost.
async fn stock_of_d(app: &TestApp, s: &Setup) -> (String, String, String) {
    let v = get(app, &s.mgr, &format!("/api/v1/stock?product_id={}&warehouse_id={}", id(&s.d), id(&s.main))).await;
    let l = &v["data"][0];
    let p = get(app, &s.mgr, &format!("/api/v1/products/{}", id(&s.d))).await;
    (
        l["on_hand"].as_str().unwrap().to_string(),
        l["reserved"].as_str().unwrap().to_string(),
        p["cost"].as_str().unwrap().to_string(),
    )
}

async fn ledgers_ok(app: &TestApp) {
    let mut tx = app.db.db.read().await.unwrap();
    let bad = nave_store::stock::ledger_mismatches(&mut tx, DEFAULT_TENANT).await.unwrap();
    assert!(bad.is_empty(), "stock: {bad:?}");
    let bad = nave_store::orders::ledger_mismatches(&mut tx, DEFAULT_TENANT).await.unwrap();
    assert!(bad.is_empty(), "orders: {bad:?}");
}

/// Receives `qty` of the PO's first line.
async fn receive(app: &TestApp, s: &Setup, po: &Value, qty: &str) -> (u16, Value) {
    let r = created(
        app,
        &s.mgr,
        "/api/v1/receipts",
        json!({"account_id": po["account_id"], "purchase_order_id": po["id"],
            "lines": [{"product_id": s.d["id"], "quantity": qty, "origin_line_id": line(po, 0)["id"]}]}),
    )
    .await;
    act(app, &s.mgr, &format!("/api/v1/receipts/{}/receive", id(&r))).await
}

async fn a_drop_ship_line_is_bought_for_the_customer_and_shipped_when_received(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let so = drop_ship_order(&app, &s, &s.d, "3").await;
    assert_eq!(line(&so, 0)["drop_ship"], true, "{so}");
    let (st, so) = act(&app, &s.mgr, &format!("/api/v1/sales-orders/{}/confirm", id(&so))).await;
    assert_eq!(st, 200, "{so}");
    assert_eq!(line(&so, 0)["quantity_reserved"], "0", "a drop-ship line holds no stock: {so}");
    let orders = so["drop_ship_orders"].as_array().expect("the purchase orders made");
    assert_eq!(orders.len(), 1, "{so}");
    assert_eq!(
        (orders[0]["supplier_name"].as_str(), orders[0]["status"].as_str()),
        (Some("Direct Supplies"), Some("draft"))
    );

    // The purchase order: the supplier's cost and code, delivered to the customer's site.
    let po = get(&app, &s.mgr, &format!("/api/v1/purchase-orders/{}", orders[0]["id"].as_str().unwrap())).await;
    assert_eq!(po["account_id"], s.supplier["id"]);
    assert_eq!((line(&po, 0)["quantity"].as_str(), line(&po, 0)["unit_price"].as_str()), (Some("3"), Some("12.00")));
    assert_eq!(line(&po, 0)["supplier_code"], "DS-D");
    assert_eq!(po["shipping_address"]["line1"], "9 Building Site", "{po}");
    assert_eq!(po["drop_ship_for"]["sales_order_id"], so["id"]);
    assert_eq!(po["drop_ship_for"]["customer_name"], "Acme Ltd");
    // Asking again orders nothing more.
    let (st, again) = act(&app, &s.mgr, &format!("/api/v1/sales-orders/{}/drop-ship-orders", id(&so))).await;
    assert_eq!((st, again["data"].as_array().map(Vec::len)), (201, Some(0)), "{again}");

    // The warehouse does not ship it.
    let (st, p) = json(app.post("/api/v1/shipments", &s.mgr, &json!({"sales_order_id": so["id"]})).await).await;
    assert_eq!(st, 422, "{p}");
    let (st, p) = json(
        app.post(
            "/api/v1/shipments",
            &s.mgr,
            &json!({"sales_order_id": so["id"], "lines": [{"order_line_id": line(&so, 0)["id"], "quantity": "1"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(st, 422, "{p}");
    assert_eq!(p["errors"][0]["field"], "lines[0].order_line_id", "{p}");
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("drop-shipped"), "{p}");

    // Receiving 2, then 1, ships the order line; the warehouse keeps its 5 at 8.00.
    let (st, po) = act(&app, &s.mgr, &format!("/api/v1/purchase-orders/{}/confirm", id(&po))).await;
    assert_eq!(st, 200, "{po}");
    let (st, r) = receive(&app, &s, &po, "2").await;
    assert_eq!(st, 200, "{r}");
    let so_now = get(&app, &s.mgr, &format!("/api/v1/sales-orders/{}", id(&so))).await;
    assert_eq!(line(&so_now, 0)["quantity_shipped"], "2", "{so_now}");
    assert_eq!(so_now["status"], "open");
    assert_eq!(stock_of_d(&app, &s).await, ("5".into(), "0".into(), "8.00".into()));
    let (st, r) = receive(&app, &s, &po, "1").await;
    assert_eq!(st, 200, "{r}");
    let shipments = get(&app, &s.mgr, &format!("/api/v1/sales-orders/{}/shipments", id(&so))).await;
    let shipments = shipments["data"].as_array().unwrap();
    assert_eq!(shipments.len(), 2, "{shipments:?}");
    assert!(shipments.iter().all(|x| x["status"] == "done" && x["number"].as_str().unwrap().starts_with("SHP-")));
    let shipped: Vec<&str> = shipments.iter().map(|x| x["lines"][0]["quantity"].as_str().unwrap()).collect();
    assert!(shipped.contains(&"2") && shipped.contains(&"1"), "{shipped:?}");
    assert_eq!(stock_of_d(&app, &s).await, ("5".into(), "0".into(), "8.00".into()));
    let po_now = get(&app, &s.mgr, &format!("/api/v1/purchase-orders/{}", id(&po))).await;
    assert_eq!(po_now["status"], "received", "{po_now}");
    ledgers_ok(&app).await;

    // The invoice's cost of goods sold is what the supplier charged: 3 × 12.00.
    let inv =
        created(&app, &s.mgr, "/api/v1/invoices", json!({"account_id": s.customer["id"], "sales_order_id": so["id"]}))
            .await;
    assert!(line(&inv, 0).get("drop_ship").is_none(), "an invoice line is not drop-shipped: {inv}");
    let (st, inv) = act(&app, &s.mgr, &format!("/api/v1/invoices/{}/issue", id(&inv))).await;
    assert_eq!(st, 200, "{inv}");
    assert_eq!(line(&inv, 0)["cost"], "36.00", "{inv}");
    assert_eq!(line(&inv, 0)["margin"], "54.00", "{inv}");
}

async fn drop_ship_refusals_name_the_line_and_store_nothing(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    // Without a supplier to deliver it, the order cannot be confirmed.
    let so = drop_ship_order(&app, &s, &s.lone, "1").await;
    let (st, p) = act(&app, &s.mgr, &format!("/api/v1/sales-orders/{}/confirm", id(&so))).await;
    assert_eq!(st, 422, "{p}");
    assert_eq!(p["errors"][0]["field"], "groups[0].lines[0].drop_ship", "{p}");
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("supplier"), "{p}");
    let so_now = get(&app, &s.mgr, &format!("/api/v1/sales-orders/{}", id(&so))).await;
    assert_eq!(so_now["status"], "draft");
    let pos = get(&app, &s.mgr, "/api/v1/purchase-orders").await;
    assert_eq!(pos["data"].as_array().unwrap().len(), 0, "{pos}");

    // Only quote and order lines of goods are drop-shipped.
    let body = json!({"account_id": s.customer["id"],
        "lines": [{"product_id": s.d["id"], "quantity": "1", "drop_ship": true}]});
    let (st, p) = json(app.post("/api/v1/invoices", &s.mgr, &body).await).await;
    assert_eq!(st, 422, "{p}");
    assert_eq!(p["errors"][0]["field"], "groups[0].lines[0].drop_ship", "{p}");
    let body = json!({"account_id": s.customer["id"],
        "lines": [{"description": "Installation", "unit_price": "50.00", "drop_ship": true}]});
    let (st, p) = json(app.post("/api/v1/quotes", &s.mgr, &body).await).await;
    assert_eq!(st, 422, "{p}");
    assert_eq!(p["errors"][0]["field"], "groups[0].lines[0].drop_ship", "{p}");

    // A quote's drop-ship line stays one on the order it becomes.
    let body = json!({"account_id": s.customer["id"],
        "lines": [{"product_id": s.d["id"], "quantity": "2", "drop_ship": true}]});
    let q = created(&app, &s.mgr, "/api/v1/quotes", body).await;
    let (st, q) = act(&app, &s.mgr, &format!("/api/v1/quotes/{}/accept", id(&q))).await;
    assert_eq!(st, 200, "{q}");
    let (st, so) = act(&app, &s.mgr, &format!("/api/v1/quotes/{}/convert", id(&q))).await;
    assert_eq!(st, 201, "{so}");
    assert_eq!(line(&so, 0)["drop_ship"], true, "{so}");
}

async fn cancelling_the_order_cancels_its_drop_ship_purchase_orders_until_goods_arrive(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let so = drop_ship_order(&app, &s, &s.d, "2").await;
    let (_, so) = act(&app, &s.mgr, &format!("/api/v1/sales-orders/{}/confirm", id(&so))).await;
    let po_id = so["drop_ship_orders"][0]["id"].as_str().unwrap().to_string();
    let (st, so) = act(&app, &s.mgr, &format!("/api/v1/sales-orders/{}/cancel", id(&so))).await;
    assert_eq!(st, 200, "{so}");
    let po = get(&app, &s.mgr, &format!("/api/v1/purchase-orders/{po_id}")).await;
    assert_eq!(po["status"], "cancelled");

    // Once the supplier has delivered part of it, the order is not cancelled.
    let so = drop_ship_order(&app, &s, &s.d, "2").await;
    let (_, so) = act(&app, &s.mgr, &format!("/api/v1/sales-orders/{}/confirm", id(&so))).await;
    let po_id = so["drop_ship_orders"][0]["id"].as_str().unwrap().to_string();
    let (st, po) = act(&app, &s.mgr, &format!("/api/v1/purchase-orders/{po_id}/confirm")).await;
    assert_eq!(st, 200, "{po}");
    let (st, r) = receive(&app, &s, &po, "1").await;
    assert_eq!(st, 200, "{r}");
    let (st, p) = act(&app, &s.mgr, &format!("/api/v1/sales-orders/{}/cancel", id(&so))).await;
    assert!(st == 409 || st == 422, "{st} {p}");
    let po = get(&app, &s.mgr, &format!("/api/v1/purchase-orders/{po_id}")).await;
    assert_eq!(po["status"], "part_received");
    ledgers_ok(&app).await;
}

async fn the_pages_mark_drop_ship_lines_and_link_order_and_purchase(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let cookie = session(&app, "mgr@example.com").await;
    let show = |path: String| {
        let (app, cookie) = (&app, &cookie);
        async move {
            let (st, html) = page(app, cookie, &path).await;
            assert_eq!(st, 200, "{path}: {html}");
            html
        }
    };
    // The order editor offers the choice per line, and keeps it.
    assert!(show("/sales-orders/new".into()).await.contains("supplier delivers"));
    let (st, to, body) = form(
        &app,
        &cookie,
        "/sales-orders",
        &[
            ("account_id", id(&s.customer)),
            ("warehouse_id", id(&s.main)),
            ("groups[0].lines[0].product_id", id(&s.d)),
            ("groups[0].lines[0].quantity", "1"),
            ("groups[0].lines[0].drop_ship", "true"),
            ("op", "save"),
        ],
    )
    .await;
    assert_eq!(st, 303, "{body}");
    let so = get(&app, &s.mgr, &format!("/api/v1{to}")).await;
    assert_eq!(line(&so, 0)["drop_ship"], true, "{so}");
    let (_, so) = act(&app, &s.mgr, &format!("/api/v1/sales-orders/{}/confirm", id(&so))).await;
    let po_id = so["drop_ship_orders"][0]["id"].as_str().unwrap().to_string();
    let html = show(format!("/sales-orders/{}", id(&so))).await;
    assert!(html.contains("drop-ship</span>"), "the line is marked: {html}");
    assert!(html.contains(&format!("/purchase-orders/{po_id}")), "the purchase order is linked: {html}");
    assert!(!html.contains("Make drop-ship purchase orders"), "nothing left to order: {html}");
    let html = show(format!("/purchase-orders/{po_id}")).await;
    assert!(html.contains("Drop-ship for") && html.contains(&format!("/sales-orders/{}", id(&so))), "{html}");
    assert!(html.contains("9 Building Site"), "the delivery address: {html}");

    // Cancelling the purchase order offers to order the line again, from the order's page.
    let (st, _) = act(&app, &s.mgr, &format!("/api/v1/purchase-orders/{po_id}/cancel")).await;
    assert_eq!(st, 200);
    assert!(show(format!("/sales-orders/{}", id(&so))).await.contains("Make drop-ship purchase orders"));
    let (st, _, body) = form(&app, &cookie, &format!("/sales-orders/{}/drop-ship-orders", id(&so)), &[]).await;
    assert_eq!(st, 303, "{body}");
    let so = get(&app, &s.mgr, &format!("/api/v1/sales-orders/{}", id(&so))).await;
    let orders = so["drop_ship_orders"].as_array().unwrap();
    assert_eq!(orders.len(), 2, "{so}");
    assert!(orders.iter().any(|o| o["status"] == "draft"), "{so}");
}

both_backends!(
    a_drop_ship_line_is_bought_for_the_customer_and_shipped_when_received,
    drop_ship_refusals_name_the_line_and_store_nothing,
    cancelling_the_order_cancels_its_drop_ship_purchase_orders_until_goods_arrive,
    the_pages_mark_drop_ship_lines_and_link_order_and_purchase,
);
