//! The order-to-cash pages over real HTTP, on both databases: shipping an
//! order from its page (and the shipment list, detail and order desk),
//! invoicing it by lines, crediting an invoice with the goods returned to
//! stock, recording a payment allocated oldest first, allocating the rest,
//! applying and refunding a credit note; each with a refused input shown
//! next to its field, and a role kept out.

mod support;

use nave_testkit::{TestDb, both_backends};
use serde_json::{Value, json};
use support::{TestApp, TestUser, form, json, page, session};

struct Setup {
    admin: TestUser,
    cookie: String,
    main: Value,
    account: Value,
    a: Value,
    order: Value,
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// An admin, a Main warehouse with 10 × A (cost 4.00), and an open order of 4 × A at 10.00.
async fn setup(app: &TestApp) -> Setup {
    let admin = app.user("admin@example.com", "admin").await;
    let (_, main) = json(app.post("/api/v1/warehouses", &admin, &json!({"name": "Main"})).await).await;
    let body = json!({"sku": "A", "name": "Widget A", "list_price": "10.00", "currency": "EUR"});
    let (_, a) = json(app.post("/api/v1/products", &admin, &body).await).await;
    let body = json!({"warehouse_id": main["id"], "reason": "opening balance",
        "lines": [{"product_id": a["id"], "quantity": "10", "unit_cost": "4.00"}]});
    let (st, _) = json(app.post("/api/v1/stock-adjustments", &admin, &body).await).await;
    assert_eq!(st, 201);
    let (_, account) =
        json(app.post("/api/v1/accounts", &admin, &json!({"name": "Acme Ltd", "currency": "EUR"})).await).await;
    let body = json!({"account_id": account["id"], "warehouse_id": main["id"],
        "lines": [{"product_id": a["id"], "quantity": "4"}]});
    let (st, o) = json(app.post("/api/v1/sales-orders", &admin, &body).await).await;
    assert_eq!(st, 201, "{o}");
    let (st, order) =
        json(app.post(&format!("/api/v1/sales-orders/{}/confirm", id(&o)), &admin, &json!({})).await).await;
    assert_eq!(st, 200, "{order}");
    let cookie = session(app, "admin@example.com").await;
    Setup { admin, cookie, main, account, a, order }
}

async fn api(app: &TestApp, s: &Setup, path: &str) -> Value {
    let (st, v) = json(app.get(path, &s.admin).await).await;
    assert_eq!(st, 200, "{path}: {v}");
    v
}

async fn on_hand(app: &TestApp, s: &Setup) -> String {
    let v = api(app, s, &format!("/api/v1/stock?product_id={}&warehouse_id={}", id(&s.a), id(&s.main))).await;
    v["data"][0]["on_hand"].as_str().unwrap().to_string()
}

fn line_id(order: &Value) -> String {
    order["groups"][0]["lines"][0]["id"].as_str().unwrap().to_string()
}

/// Ships `qty` of the order's line from its page; returns the shipment's path.
async fn ship(app: &TestApp, s: &Setup, qty: &str) -> String {
    let path = format!("/sales-orders/{}/ship", id(&s.order));
    let lid = line_id(&s.order);
    let fields = [
        ("warehouse_id", id(&s.main)),
        ("carrier", "DHL".to_string()),
        ("tracking_number", "TRK-1".to_string()),
        ("ship_now", "true".to_string()),
        ("lines[0].line_id", lid),
        ("lines[0].quantity", qty.to_string()),
    ];
    let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (st, to, body) = form(app, &s.cookie, &path, &f).await;
    assert_eq!(st, 303, "{body}");
    to
}

async fn an_order_is_shipped_from_its_page_and_the_shipment_listed(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let order_path = format!("/sales-orders/{}", id(&s.order));
    let (_, html) = page(&app, &s.cookie, &order_path).await;
    assert!(html.contains(&format!("{order_path}/ship")), "the order offers Ship");
    assert!(html.contains(&format!("{order_path}/invoice")), "and Invoice");
    let (st, html) = page(&app, &s.cookie, &format!("{order_path}/ship")).await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("name=\"lines[0].quantity\" value=\"4\""), "defaults to what is left: {html}");
    assert!(html.contains(&format!("value=\"{}\" selected", id(&s.main))), "the order's warehouse is chosen");

    // More than is left: the error is next to the field, the input kept, nothing stored.
    let lid = line_id(&s.order);
    let (st, _, html) = form(
        &app,
        &s.cookie,
        &format!("{order_path}/ship"),
        &[("warehouse_id", &id(&s.main)), ("carrier", "UPS"), ("lines[0].line_id", &lid), ("lines[0].quantity", "5")],
    )
    .await;
    assert_eq!(st, 422, "{html}");
    assert!(html.contains("lines-0-quantity-err") && html.contains("more than the 4 left to ship"), "{html}");
    assert!(html.contains("value=\"UPS\"") && html.contains("value=\"5\""), "the input is kept");
    assert_eq!(on_hand(&app, &s).await, "10");

    // 3 now, marked done: numbered, stock out.
    let to = ship(&app, &s, "3").await;
    assert!(to.starts_with("/shipments/"), "{to}");
    let (st, html) = page(&app, &s.cookie, &to).await;
    assert_eq!(st, 200);
    assert!(html.contains("SHP-") && html.contains(">done<") && html.contains("TRK-1"), "{html}");
    assert!(!html.contains("/actions/ship"), "a done shipment offers no action");
    assert_eq!(on_hand(&app, &s).await, "7");

    // A draft shipment of the last one, then marked done from its page.
    let (_, _, _) = form(
        &app,
        &s.cookie,
        &format!("{order_path}/ship"),
        &[("warehouse_id", &id(&s.main)), ("lines[0].line_id", &lid), ("lines[0].quantity", "1")],
    )
    .await;
    let (_, list) = page(&app, &s.cookie, "/shipments?status=draft").await;
    let draft = list.split("href=\"/shipments/").nth(1).expect("a draft listed").split('"').next().unwrap().to_string();
    let (_, html) = page(&app, &s.cookie, &format!("/shipments/{draft}")).await;
    assert!(html.contains("Mark done"), "{html}");
    let version = html.split("name=\"version\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let (st, _, body) =
        form(&app, &s.cookie, &format!("/shipments/{draft}/actions/ship"), &[("version", &version)]).await;
    assert_eq!(st, 303, "{body}");
    assert_eq!(on_hand(&app, &s).await, "6");
    let (_, html) = page(&app, &s.cookie, &format!("{order_path}/ship")).await;
    assert!(html.contains("Nothing is left to ship"), "{html}");

    // The list and the order desk.
    let (st, list) = page(&app, &s.cookie, &format!("/shipments?sales_order_id={}", id(&s.order))).await;
    assert_eq!(st, 200);
    assert_eq!(list.matches("href=\"/shipments/").count(), 2, "{list}");
    assert!(list.contains("href=\"/shipments\""), "the navigation links the shipments");
    let (st, desk) = page(&app, &s.cookie, "/order-desk?view=to_invoice").await;
    assert_eq!(st, 200);
    assert!(desk.contains(&format!("{order_path}/invoice")), "{desk}");
    let (_, desk) = page(&app, &s.cookie, "/order-desk").await;
    assert!(!desk.contains(&order_path), "nothing left to ship");

    // A sales rep may not ship; support may see shipments but not make them.
    app.user("rep@example.com", "sales_rep").await;
    let rep = session(&app, "rep@example.com").await;
    let (st, _) = page(&app, &rep, &format!("{order_path}/ship")).await;
    assert_eq!(st, 403);
    app.user("help@example.com", "support").await;
    let help = session(&app, "help@example.com").await;
    let (st, _) = page(&app, &help, "/shipments").await;
    assert_eq!(st, 200);
    let (st, _, _) = form(&app, &help, &format!("/shipments/{draft}/actions/cancel"), &[]).await;
    assert_eq!(st, 403);
}

async fn an_order_is_invoiced_and_the_invoice_credited_with_a_return(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    ship(&app, &s, "4").await;
    let order_path = format!("/sales-orders/{}", id(&s.order));
    let (st, html) = page(&app, &s.cookie, &format!("{order_path}/invoice")).await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("name=\"lines[0].quantity\" value=\"4\""), "what shipped is left to invoice");
    let lid = line_id(&s.order);
    let (st, _, html) = form(
        &app,
        &s.cookie,
        &format!("{order_path}/invoice"),
        &[("lines[0].line_id", &lid), ("lines[0].quantity", "x")],
    )
    .await;
    assert_eq!(st, 422);
    assert!(html.contains("lines-0-quantity-err"), "{html}");
    let (st, to, body) = form(
        &app,
        &s.cookie,
        &format!("{order_path}/invoice"),
        &[("lines[0].line_id", &lid), ("lines[0].quantity", "3")],
    )
    .await;
    assert_eq!(st, 303, "{body}");
    assert!(to.starts_with("/invoices/"), "{to}");
    let inv_id = to.trim_start_matches("/invoices/").to_string();
    let inv = api(&app, &s, &format!("/api/v1/invoices/{inv_id}")).await;
    assert_eq!(inv["totals"]["total"], "30.00", "3 × 10.00: {inv}");
    let (st, _, _) = form(&app, &s.cookie, &format!("{to}/actions/issue"), &[]).await;
    assert_eq!(st, 303);

    // Credit 2 of the 3 back into Main.
    let (_, html) = page(&app, &s.cookie, &to).await;
    assert!(html.contains(&format!("{to}/credit")), "an issued invoice offers a credit note");
    let inv = api(&app, &s, &format!("/api/v1/invoices/{inv_id}")).await;
    let il = inv["groups"][0]["lines"][0]["id"].as_str().unwrap().to_string();
    let (st, html) = page(&app, &s.cookie, &format!("{to}/credit")).await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("return_to_stock"), "{html}");
    let (st, _, html) = form(
        &app,
        &s.cookie,
        &format!("{to}/credit"),
        &[("return_to_stock", "true"), ("lines[0].line_id", &il), ("lines[0].quantity", "2")],
    )
    .await;
    assert_eq!(st, 422, "a return needs its warehouse");
    assert!(html.contains("warehouse_id-err"), "{html}");
    let (st, cn_path, body) = form(
        &app,
        &s.cookie,
        &format!("{to}/credit"),
        &[
            ("return_to_stock", "true"),
            ("warehouse_id", &id(&s.main)),
            ("lines[0].line_id", &il),
            ("lines[0].quantity", "2"),
        ],
    )
    .await;
    assert_eq!(st, 303, "{body}");
    assert!(cn_path.starts_with("/credit-notes/"), "{cn_path}");
    assert_eq!(on_hand(&app, &s).await, "6");
    let (st, _, _) = form(&app, &s.cookie, &format!("{cn_path}/actions/issue"), &[]).await;
    assert_eq!(st, 303);
    assert_eq!(on_hand(&app, &s).await, "8", "the 2 credited came back");
    let inv = api(&app, &s, &format!("/api/v1/invoices/{inv_id}")).await;
    assert_eq!(inv["balance"], "10.00", "{inv}");

    // A warehouse clerk may not invoice.
    app.user("wh@example.com", "warehouse").await;
    let wh = session(&app, "wh@example.com").await;
    let (st, _) = page(&app, &wh, &format!("{order_path}/invoice")).await;
    assert_eq!(st, 403);
}

/// Two issued invoices of the account: 20.00 (older) and 10.00.
async fn two_invoices(app: &TestApp, s: &Setup) -> (Value, Value) {
    let mut out = vec![];
    for (date, qty) in [("2026-01-10", "2"), ("2026-02-10", "1")] {
        let body =
            json!({"account_id": s.account["id"], "date": date, "lines": [{"product_id": s.a["id"], "quantity": qty}]});
        let (st, inv) = json(app.post("/api/v1/invoices", &s.admin, &body).await).await;
        assert_eq!(st, 201, "{inv}");
        let (st, inv) =
            json(app.post(&format!("/api/v1/invoices/{}/issue", id(&inv)), &s.admin, &json!({})).await).await;
        assert_eq!(st, 200, "{inv}");
        out.push(inv);
    }
    let b = out.pop().unwrap();
    (out.pop().unwrap(), b)
}

async fn a_payment_is_recorded_and_allocated_oldest_first(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let (old, new) = two_invoices(&app, &s).await;
    let (st, html) = page(&app, &s.cookie, "/payments/new").await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("Acme Ltd"), "the account is chosen first");
    let (st, html) = page(&app, &s.cookie, &format!("/payments/new?account_id={}", id(&s.account))).await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains(old["number"].as_str().unwrap()) && html.contains(new["number"].as_str().unwrap()));

    // Above an invoice's balance: refused next to that invoice's amount, input kept.
    let acc = id(&s.account);
    let (old_id, new_id) = (id(&old), id(&new));
    let (st, _, html) = form(
        &app,
        &s.cookie,
        "/payments",
        &[
            ("account_id", &acc),
            ("amount", "25.00"),
            ("method", "bank_transfer"),
            ("reference", "REF-9"),
            ("allocations[0].invoice_id", &old_id),
            ("allocations[0].amount", "25.00"),
            ("allocations[1].invoice_id", &new_id),
            ("allocations[1].amount", ""),
        ],
    )
    .await;
    assert_eq!(st, 422, "{html}");
    assert!(html.contains("allocations-0-amount-err"), "{html}");
    assert!(html.contains("value=\"REF-9\""), "the input is kept");
    assert_eq!(api(&app, &s, "/api/v1/payments").await["data"].as_array().unwrap().len(), 0);

    // Amounts left empty: 25.00 settles the older 20.00, then 5.00 of the newer.
    let (st, to, body) = form(
        &app,
        &s.cookie,
        "/payments",
        &[
            ("account_id", &acc),
            ("amount", "25.00"),
            ("method", "bank_transfer"),
            ("allocations[0].invoice_id", &old_id),
            ("allocations[0].amount", ""),
            ("allocations[1].invoice_id", &new_id),
            ("allocations[1].amount", ""),
        ],
    )
    .await;
    assert_eq!(st, 303, "{body}");
    let old = api(&app, &s, &format!("/api/v1/invoices/{old_id}")).await;
    let new = api(&app, &s, &format!("/api/v1/invoices/{new_id}")).await;
    assert_eq!((old["status"].as_str(), new["balance"].as_str()), (Some("paid"), Some("5.00")));
    let (st, html) = page(&app, &s.cookie, &to).await;
    assert_eq!(st, 200);
    assert!(html.contains(old["number"].as_str().unwrap()) && html.contains("20.00"), "{html}");

    // A second payment of 8.00 with nothing allocated; then "allocate the rest" (5.00 to the newer).
    let (st, to, _) = form(
        &app,
        &s.cookie,
        "/payments",
        &[
            ("account_id", &acc),
            ("amount", "8.00"),
            ("method", "cash"),
            ("allocations[0].invoice_id", &new_id),
            ("allocations[0].amount", "0"),
        ],
    )
    .await;
    assert_eq!(st, 303);
    let (_, html) = page(&app, &s.cookie, &to).await;
    assert!(html.contains("Allocate the rest") && html.contains("value=\"5.00\""), "defaults oldest first: {html}");
    let version = html.split("name=\"version\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let (st, _, html) = form(
        &app,
        &s.cookie,
        &format!("{to}/allocate"),
        &[("version", &version), ("allocations[0].invoice_id", &new_id), ("allocations[0].amount", "6.00")],
    )
    .await;
    assert_eq!(st, 422, "above the balance: {html}");
    assert!(html.contains("allocations-0-amount-err"), "{html}");
    let (st, _, body) = form(
        &app,
        &s.cookie,
        &format!("{to}/allocate"),
        &[("version", &version), ("allocations[0].invoice_id", &new_id), ("allocations[0].amount", "5.00")],
    )
    .await;
    assert_eq!(st, 303, "{body}");
    let new = api(&app, &s, &format!("/api/v1/invoices/{new_id}")).await;
    assert_eq!(new["status"], "paid");
    let (_, list) = page(&app, &s.cookie, "/payments").await;
    assert!(list.contains("€25.00") && list.contains("€8.00") && list.contains("3.00"), "amounts in en-US: {list}");

    // The warehouse sees no payments.
    app.user("wh@example.com", "warehouse").await;
    let wh = session(&app, "wh@example.com").await;
    let (st, _) = page(&app, &wh, "/payments").await;
    assert_eq!(st, 403);
    let (_, home) = page(&app, &wh, "/").await;
    assert!(!home.contains("href=\"/payments\""), "no Payments link");
}

async fn a_credit_note_is_applied_and_refunded_from_its_page(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let (old, new) = two_invoices(&app, &s).await;
    // A credit note of 2 × A (20.00) on the paid-in-full... first pay the older, then credit it.
    let body = json!({"account_id": s.account["id"], "amount": "20.00", "method": "cash",
        "allocations": [{"invoice_id": old["id"], "amount": "20.00"}]});
    let (st, _) = json(app.post("/api/v1/payments", &s.admin, &body).await).await;
    assert_eq!(st, 201);
    let body = json!({"account_id": s.account["id"], "invoice_id": old["id"]});
    let (st, cn) = json(app.post("/api/v1/credit-notes", &s.admin, &body).await).await;
    assert_eq!(st, 201, "{cn}");
    let (st, cn) = json(app.post(&format!("/api/v1/credit-notes/{}/issue", id(&cn)), &s.admin, &json!({})).await).await;
    assert_eq!(st, 200, "{cn}");
    assert_eq!(cn["balance"], "20.00", "nothing to apply to a paid invoice: {cn}");
    let cn_path = format!("/credit-notes/{}", id(&cn));
    let (_, html) = page(&app, &s.cookie, &cn_path).await;
    assert!(html.contains(&format!("{cn_path}/apply")) && html.contains(&format!("{cn_path}/refund")), "{html}");

    // Apply: defaults to the newer invoice's 10.00.
    let (st, html) = page(&app, &s.cookie, &format!("{cn_path}/apply")).await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("value=\"10.00\""), "{html}");
    let version = html.split("name=\"version\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let new_id = id(&new);
    let (st, _, body) = form(
        &app,
        &s.cookie,
        &format!("{cn_path}/apply"),
        &[("version", &version), ("allocations[0].invoice_id", &new_id), ("allocations[0].amount", "10.00")],
    )
    .await;
    assert_eq!(st, 303, "{body}");
    let new = api(&app, &s, &format!("/api/v1/invoices/{new_id}")).await;
    assert_eq!(new["status"], "paid");

    // Refund: more than is left is refused next to the amount; the rest is paid back.
    let (st, html) = page(&app, &s.cookie, &format!("{cn_path}/refund")).await;
    assert_eq!(st, 200);
    let version = html.split("name=\"version\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let (st, _, html) = form(
        &app,
        &s.cookie,
        &format!("{cn_path}/refund"),
        &[("version", &version), ("amount", "11.00"), ("method", "bank_transfer"), ("reference", "RF")],
    )
    .await;
    assert_eq!(st, 422, "{html}");
    assert!(html.contains("amount-err") && html.contains("value=\"RF\""), "{html}");
    let (st, _, body) = form(
        &app,
        &s.cookie,
        &format!("{cn_path}/refund"),
        &[("version", &version), ("amount", "10.00"), ("method", "bank_transfer")],
    )
    .await;
    assert_eq!(st, 303, "{body}");
    let cn = api(&app, &s, &format!("/api/v1/credit-notes/{}", id(&cn))).await;
    assert_eq!((cn["status"].as_str(), cn["balance"].as_str()), (Some("applied"), Some("0.00")), "{cn}");
    let (st, _) = page(&app, &s.cookie, &format!("{cn_path}/refund")).await;
    assert_eq!(st, 409, "nothing is left to refund");

    // Support reads credit notes but may not apply them.
    app.user("help@example.com", "support").await;
    let help = session(&app, "help@example.com").await;
    let (st, _) = page(&app, &help, &format!("{cn_path}/apply")).await;
    assert_eq!(st, 403);
}

async fn a_subscription_is_made_paused_resumed_and_run_from_its_pages(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let (st, html) = page(&app, &s.cookie, "/subscriptions/new").await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("name=\"lines[0].quantity\""), "{html}");
    let acc = id(&s.account);
    let a = id(&s.a);
    // A bad quantity: shown next to its field, the name kept, nothing stored.
    let (st, _, html) = form(
        &app,
        &s.cookie,
        "/subscriptions",
        &[
            ("account_id", &acc),
            ("name", "Widget club"),
            ("period", "month"),
            ("start_date", "2026-01-01"),
            ("lines[0].product_id", &a),
            ("lines[0].quantity", "two"),
        ],
    )
    .await;
    assert_eq!(st, 422, "{html}");
    assert!(html.contains("lines-0-quantity-err") && html.contains("value=\"Widget club\""), "{html}");
    let (st, to, body) = form(
        &app,
        &s.cookie,
        "/subscriptions",
        &[
            ("account_id", &acc),
            ("name", "Widget club"),
            ("period", "month"),
            ("start_date", "2026-01-01"),
            ("lines[0].product_id", &a),
            ("lines[0].quantity", "2"),
            ("lines[0].unit_price", "9.00"),
            ("lines[1].quantity", ""),
        ],
    )
    .await;
    assert_eq!(st, 303, "{body}");
    let (st, html) = page(&app, &s.cookie, &to).await;
    assert_eq!(st, 200);
    assert!(html.contains("Widget club") && html.contains("every month") && html.contains("9.00"), "{html}");
    assert!(html.contains("/actions/pause") && html.contains("/actions/cancel") && !html.contains("/actions/resume"));
    // Run due now (admin): the periods started since January are billed, once.
    let (st, list) = page(&app, &s.cookie, "/subscriptions").await;
    assert_eq!(st, 200);
    assert!(list.contains("Run due now") && list.contains("Widget club"), "{list}");
    let (st, back, _) = form(&app, &s.cookie, "/subscriptions/run", &[]).await;
    assert_eq!(st, 303);
    assert!(back.starts_with("/subscriptions?ran=") && back != "/subscriptions?ran=0", "{back}");
    let (_, list) = page(&app, &s.cookie, &back).await;
    assert!(list.contains("The run billed"), "{list}");
    let (_, html) = page(&app, &s.cookie, &to).await;
    assert!(html.contains("INV-"), "its invoices are listed: {html}");
    let (_, back2, _) = form(&app, &s.cookie, "/subscriptions/run", &[]).await;
    assert_eq!(back2, "/subscriptions?ran=0", "nothing is billed twice");
    let version = html.split("name=\"version\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let (st, _, _) = form(&app, &s.cookie, &format!("{to}/actions/pause"), &[("version", &version)]).await;
    assert_eq!(st, 303);
    let (_, html) = page(&app, &s.cookie, &to).await;
    assert!(html.contains(">paused<") && html.contains("/actions/resume"), "{html}");
    // Pausing again is refused on the page, naming what is allowed.
    let (st, _, html) = form(&app, &s.cookie, &format!("{to}/actions/pause"), &[]).await;
    assert_eq!(st, 409, "{html}");
    assert!(html.contains("role=\"alert\""), "{html}");
    let (st, _, _) = form(&app, &s.cookie, &format!("{to}/actions/resume"), &[]).await;
    assert_eq!(st, 303);
    // Edit: the end date.
    let (st, html) = page(&app, &s.cookie, &format!("{to}/edit")).await;
    assert_eq!(st, 200, "{html}");
    let version = html.split("name=\"version\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let (st, _, body) = form(
        &app,
        &s.cookie,
        &to,
        &[
            ("version", &version),
            ("name", "Widget club"),
            ("period", "month"),
            ("start_date", "2026-01-01"),
            ("end_date", "2026-12-31"),
            ("lines[0].product_id", &a),
            ("lines[0].quantity", "2"),
            ("lines[0].unit_price", "9.00"),
        ],
    )
    .await;
    assert_eq!(st, 303, "{body}");
    let (_, html) = page(&app, &s.cookie, &to).await;
    assert!(html.contains("12/31/2026"), "the end date in en-US: {html}");
    // A rep reads subscriptions of their accounts but may not run them.
    app.user("rep@example.com", "sales_rep").await;
    let rep = session(&app, "rep@example.com").await;
    let (st, list) = page(&app, &rep, "/subscriptions").await;
    assert_eq!(st, 200);
    assert!(!list.contains("Run due now"));
    let (st, _, _) = form(&app, &rep, "/subscriptions/run", &[]).await;
    assert_eq!(st, 403);
}

async fn the_numbering_page_changes_a_prefix_and_refuses_a_bad_one(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let (st, html) = page(&app, &s.cookie, "/sequences").await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("INV-"), "{html}");
    let (st, html) = page(&app, &s.cookie, "/sequences?edit=invoice").await;
    assert_eq!(st, 200);
    let version = html.split("name=\"version\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let (st, _, html) =
        form(&app, &s.cookie, "/sequences/invoice", &[("version", &version), ("prefix", "F{year}/"), ("padding", "x")])
            .await;
    assert_eq!(st, 422, "{html}");
    assert!(html.contains("padding-err") && html.contains("value=\"F{year}/\""), "{html}");
    let (st, _, body) = form(
        &app,
        &s.cookie,
        "/sequences/invoice",
        &[("version", &version), ("prefix", "F{year}/"), ("padding", "4"), ("yearly", "true")],
    )
    .await;
    assert_eq!(st, 303, "{body}");
    let (_, html) = page(&app, &s.cookie, "/sequences").await;
    assert!(html.contains("/0001"), "{html}");
    // A sales rep reads the numbering but has no form, and may not post one.
    app.user("rep@example.com", "sales_rep").await;
    let rep = session(&app, "rep@example.com").await;
    let (st, html) = page(&app, &rep, "/sequences?edit=invoice").await;
    assert_eq!(st, 200);
    assert!(!html.contains("action=\"/sequences/invoice\""));
    let (st, _, _) = form(&app, &rep, "/sequences/invoice", &[("prefix", "X"), ("padding", "3")]).await;
    assert_eq!(st, 403);
}

async fn the_account_page_shows_payments_and_credit_exposure_to_those_who_may_see_them(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let body = json!({"credit_limit": "100.00"});
    let r = app
        .req(reqwest::Method::PATCH, &format!("/api/v1/accounts/{}", id(&s.account)), &s.admin)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    let (old, _) = two_invoices(&app, &s).await;
    let body = json!({"account_id": s.account["id"], "amount": "12.00", "method": "card", "reference": "CARD-77",
        "allocations": [{"invoice_id": old["id"], "amount": "12.00"}]});
    let (st, _) = json(app.post("/api/v1/payments", &s.admin, &body).await).await;
    assert_eq!(st, 201);
    let path = format!("/accounts/{}", id(&s.account));
    let (st, html) = page(&app, &s.cookie, &path).await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("Latest payments") && html.contains("12.00"), "{html}");
    // Exposure: the open order (40.00) + invoices (30.00 − 12.00) = 58.00 of 100.00.
    assert!(html.contains("<meter") && html.contains("value=\"58.00\"") && html.contains("max=\"100.00\""), "{html}");
    // A warehouse clerk may not open accounts at all, so sees neither payments nor credit.
    app.user("wh@example.com", "warehouse").await;
    let wh = session(&app, "wh@example.com").await;
    let (st, html) = page(&app, &wh, &path).await;
    assert_eq!(st, 403);
    assert!(!html.contains("Latest payments") && !html.contains("<meter"), "{html}");
    // Support sees the exposure but not the limit.
    app.user("help@example.com", "support").await;
    let help = session(&app, "help@example.com").await;
    let (_, html) = page(&app, &help, &path).await;
    assert!(html.contains("58.00") && !html.contains("100.00"), "{html}");
}

both_backends!(
    an_order_is_shipped_from_its_page_and_the_shipment_listed,
    an_order_is_invoiced_and_the_invoice_credited_with_a_return,
    a_payment_is_recorded_and_allocated_oldest_first,
    a_credit_note_is_applied_and_refunded_from_its_page,
    a_subscription_is_made_paused_resumed_and_run_from_its_pages,
    the_numbering_page_changes_a_prefix_and_refuses_a_bad_one,
    the_account_page_shows_payments_and_credit_exposure_to_those_who_may_see_them,
);
