//! WooCommerce intake over real HTTP, on both databases: each test POSTs
//! WooCommerce order bodies to the running server's webhook on loopback,
//! signed as WooCommerce signs them (base64 HMAC-SHA256 of the raw body),
//! the signature computed by Python's `hmac`, independently of Nave's.

mod support;

use nave_testkit::{TestDb, both_backends};
use reqwest::Method;
use serde_json::{Value, json};
use support::{TestApp, TestUser, created, get_ok, json, page, session};

const SECRET: &str = "wc-secret-4242";

/// The signature WooCommerce sends, computed by Python's standard library.
fn python_signature(secret: &str, body: &[u8]) -> String {
    let script = "import base64, hashlib, hmac, sys\n\
        body = sys.stdin.buffer.read()\n\
        print(base64.b64encode(hmac.new(sys.argv[1].encode(), body, hashlib.sha256).digest()).decode())";
    let mut child = std::process::Command::new("python3")
        .args(["-c", script, secret])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(body).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

struct Shop {
    admin: TestUser,
    conn: Value,
    vat: Value,
}

impl Shop {
    fn id(&self) -> &str {
        self.conn["id"].as_str().unwrap()
    }
}

/// Taxes, products and a connection mapping the shop's rate 1 (by id) and
/// DE-VAT-19-1 (by code) to them.
async fn shop(app: &TestApp) -> Shop {
    let admin = app.user("admin@example.com", "admin").await;
    let sales = created(app, &admin, "/api/v1/taxes", json!({"name": "Sales tax 10 %", "rate": "10"})).await;
    let vat = created(app, &admin, "/api/v1/taxes", json!({"name": "MwSt 19 %", "rate": "19"})).await;
    for (sku, name) in [("MUG-1", "Mug"), ("TEE-1", "T-shirt")] {
        created(
            app,
            &admin,
            "/api/v1/products",
            json!({"sku": sku, "name": name, "list_price": "10.00", "currency": "USD"}),
        )
        .await;
    }
    let conn = created(
        app,
        &admin,
        "/api/v1/integrations/woocommerce",
        json!({"name": "Main shop", "url": "https://shop.example.com/", "secret": SECRET,
               "tax_map": [{"woo_rate": "1", "tax_id": sales["id"]}, {"woo_rate": "DE-VAT-19-1", "tax_id": vat["id"]}]}),
    )
    .await;
    assert!(conn.get("secret").is_none(), "the secret is never shown: {conn}");
    assert_eq!(conn["system"], "woo.main-shop");
    Shop { admin, conn, vat }
}

/// POSTs `body` to the connection's webhook as WooCommerce does.
async fn deliver(app: &TestApp, shop: &Shop, topic: &str, delivery: &str, body: &Value) -> (u16, Value) {
    let raw = serde_json::to_vec(body).unwrap();
    let sig = python_signature(SECRET, &raw);
    send(app, shop, topic, delivery, raw, Some(sig)).await
}

async fn send(
    app: &TestApp,
    shop: &Shop,
    topic: &str,
    delivery: &str,
    raw: Vec<u8>,
    sig: Option<String>,
) -> (u16, Value) {
    let mut r = app
        .client
        .post(app.url(&format!("/api/v1/integrations/woocommerce/{}/webhook", shop.id())))
        .header("content-type", "application/json")
        .header("x-wc-webhook-topic", topic)
        .header("x-wc-webhook-delivery-id", delivery)
        .header("x-wc-webhook-source", "https://shop.example.com/");
    if let Some(s) = sig {
        r = r.header("x-wc-webhook-signature", s);
    }
    json(r.body(raw).send().await.unwrap()).await
}

/// A USD order: two mugs at 12.00, shipping 5.00, 10 % tax (rate 1): 31.90.
fn usd_order(id: i64, customer: i64, email: &str, status: &str, modified: &str) -> Value {
    json!({
        "id": id, "number": id.to_string(), "status": status, "currency": "USD",
        "date_created": "2026-03-02T08:00:00", "date_created_gmt": "2026-03-02T07:00:00",
        "date_modified": format!("2026-03-02T{modified}"), "date_modified_gmt": format!("2026-03-02T{modified}"),
        "date_paid": null, "date_paid_gmt": if status == "processing" || status == "completed" { json!("2026-03-02T07:01:00") } else { Value::Null },
        "prices_include_tax": false, "customer_id": customer,
        "billing": {"first_name": "Ann", "last_name": "Lee", "company": "", "address_1": "1 Main St", "address_2": "",
                    "city": "Springfield", "state": "IL", "postcode": "62701", "country": "US", "email": email, "phone": "+1 217 555 0100"},
        "shipping": {"first_name": "Ann", "last_name": "Lee", "address_1": "1 Main St", "city": "Springfield", "country": "US"},
        "line_items": [{"id": 11, "name": "Mug", "product_id": 40, "variation_id": 0, "sku": "MUG-1", "quantity": 2,
                        "subtotal": "24.00", "subtotal_tax": "2.40", "total": "24.00", "total_tax": "2.40",
                        "taxes": [{"id": 1, "total": "2.4", "subtotal": "2.4"}]}],
        "shipping_lines": [{"id": 12, "method_title": "Flat rate", "total": "5.00", "total_tax": "0.50",
                            "taxes": [{"id": 1, "total": "0.5", "subtotal": ""}]}],
        "fee_lines": [], "coupon_lines": [],
        "tax_lines": [{"id": 13, "rate_id": 1, "rate_code": "US-IL-TAX-1", "label": "Tax", "rate_percent": 10,
                       "tax_total": "2.40", "shipping_tax_total": "0.50"}],
        "refunds": [],
        "discount_total": "0.00", "shipping_total": "5.00", "total": "31.90", "total_tax": "2.90",
        "payment_method": "stripe", "transaction_id": "ch_1"
    })
}

async fn order_docs(app: &TestApp, shop: &Shop, woo_id: &str) -> Value {
    get_ok(app, &shop.admin, &format!("/api/v1/integrations/woocommerce/{}/orders/{woo_id}", shop.id())).await
}

async fn intake(app: &TestApp, shop: &Shop) -> Vec<Value> {
    let v = get_ok(app, &shop.admin, &format!("/api/v1/integrations/woocommerce/{}/intake", shop.id())).await;
    v["data"].as_array().unwrap().clone()
}

async fn invoice_count(app: &TestApp, shop: &Shop) -> usize {
    get_ok(app, &shop.admin, "/api/v1/invoices?limit=100").await["data"].as_array().unwrap().len()
}

// ---------------------------------------------------------------------------

async fn a_paid_order_makes_the_customer_a_paid_invoice_and_its_payment(db: TestDb) {
    let app = TestApp::start(db).await;
    let shop = shop(&app).await;
    let (s, entry) = deliver(
        &app,
        &shop,
        "order.created",
        "9001",
        &usd_order(101, 7, "Ann.Lee@Example.com", "processing", "07:02:00"),
    )
    .await;
    assert_eq!(s, 200, "{entry}");
    assert_eq!(entry["status"], "ok", "{entry}");
    assert_eq!(entry["delivery_id"], "9001");
    let docs = order_docs(&app, &shop, "101").await;
    let inv = get_ok(&app, &shop.admin, &format!("/api/v1/invoices/{}", docs["invoice"].as_str().unwrap())).await;
    assert_eq!(inv["status"], "paid", "{inv}");
    assert_eq!(inv["currency"], "USD");
    assert_eq!(inv["date"], "2026-03-02");
    assert!(inv["number"].as_str().unwrap().len() > 3, "numbered: {inv}");
    assert_eq!(inv["reference"], "WooCommerce order #101");
    let t = &inv["totals"];
    assert_eq!(
        (t["net"].as_str(), t["shipping"].as_str(), t["tax"].as_str(), t["total"].as_str()),
        (Some("24.00"), Some("5.00"), Some("2.90"), Some("31.90")),
        "{t}"
    );
    assert_eq!(t["taxes"][0]["name"], "Sales tax 10 %");
    let pay = get_ok(&app, &shop.admin, &format!("/api/v1/payments/{}", docs["payment"].as_str().unwrap())).await;
    assert_eq!(
        (pay["amount"].as_str(), pay["method"].as_str(), pay["reference"].as_str()),
        (Some("31.90"), Some("card"), Some("ch_1"))
    );
    assert_eq!(pay["allocated"], "31.90");
    // The customer: an account holding the shop's customer id, and a contact with the e-mail.
    let acc = get_ok(&app, &shop.admin, &format!("/api/v1/accounts/{}", inv["account_id"].as_str().unwrap())).await;
    assert_eq!(acc["name"], "Ann Lee");
    assert_eq!(acc["external_ids"], json!([{"system": "woo.main-shop", "id": "7"}]));
    let contacts =
        get_ok(&app, &shop.admin, &format!("/api/v1/accounts/{}/contacts", acc["id"].as_str().unwrap())).await;
    assert_eq!(contacts["data"][0]["email"], "Ann.Lee@example.com");
    // The intake's writes carry the connection's system, so they are not echoed back to the shop.
    let evs = get_ok(&app, &shop.admin, "/api/v1/events?types=invoice").await;
    assert!(evs["data"].as_array().unwrap().iter().all(|e| e["source"] == "woo.main-shop"), "{evs}");

    // The next order of the same customer (by customer id, another e-mail) goes to the same account.
    let mut again = usd_order(102, 7, "ann@work.example.com", "processing", "09:00:00");
    again["billing"]["first_name"] = json!("Annie");
    let (_, e) = deliver(&app, &shop, "order.created", "9002", &again).await;
    assert_eq!(e["status"], "ok", "{e}");
    let inv2 = get_ok(
        &app,
        &shop.admin,
        &format!("/api/v1/invoices/{}", order_docs(&app, &shop, "102").await["invoice"].as_str().unwrap()),
    )
    .await;
    assert_eq!(inv2["account_id"], inv["account_id"]);
    // A guest with the first e-mail in another case: the same account too.
    let (_, e) = deliver(
        &app,
        &shop,
        "order.created",
        "9003",
        &usd_order(103, 0, "ANN.LEE@example.com", "processing", "09:30:00"),
    )
    .await;
    let inv3 = get_ok(&app, &shop.admin, &format!("/api/v1/invoices/{}", e["invoice_id"].as_str().unwrap())).await;
    assert_eq!(inv3["account_id"], inv["account_id"]);
    assert_eq!(get_ok(&app, &shop.admin, "/api/v1/accounts").await["data"].as_array().unwrap().len(), 1);
}

/// A guest order in euros: 10 % coupon on every line, a gift-wrap fee, shipping, 19 % VAT (rate 7, mapped by code).
fn eur_order(status: &str, modified: &str, paid: bool) -> Value {
    let vat = |t: &str| json!([{"id": 7, "total": t, "subtotal": t}]);
    json!({
        "id": 301, "number": "301", "status": status, "currency": "EUR",
        "date_created": "2026-03-05T10:00:00", "date_created_gmt": "2026-03-05T09:00:00",
        "date_modified": "2026-03-05T10:00:00", "date_modified_gmt": format!("2026-03-05T{modified}"),
        "date_paid_gmt": if paid { json!("2026-03-05T09:30:00") } else { Value::Null },
        "prices_include_tax": false, "customer_id": 0,
        "billing": {"first_name": "Lena", "last_name": "Schmidt", "company": "", "address_1": "Hauptstr. 1",
                    "city": "Berlin", "postcode": "10115", "country": "DE", "email": "lena@example.de", "phone": ""},
        "line_items": [
            {"id": 1, "name": "T-shirt", "product_id": 41, "sku": "TEE-1", "quantity": 3,
             "subtotal": "60.00", "subtotal_tax": "11.40", "total": "54.00", "total_tax": "10.26", "taxes": vat("10.26")},
            {"id": 2, "name": "Mug", "product_id": 40, "sku": "MUG-1", "quantity": 1,
             "subtotal": "12.00", "subtotal_tax": "2.28", "total": "10.80", "total_tax": "2.05", "taxes": vat("2.052")}],
        "fee_lines": [{"id": 3, "name": "Gift wrap", "total": "2.50", "total_tax": "0.48", "taxes": vat("0.475")}],
        "shipping_lines": [{"id": 4, "method_title": "DHL", "total": "4.90", "total_tax": "0.93", "taxes": vat("0.931")}],
        "coupon_lines": [{"id": 5, "code": "save10", "discount": "7.20", "discount_tax": "1.37"}],
        "tax_lines": [{"id": 6, "rate_id": 7, "rate_code": "DE-VAT-19-1", "label": "MwSt", "rate_percent": 19,
                       "tax_total": "12.79", "shipping_tax_total": "0.93"}],
        "refunds": [],
        "discount_total": "7.20", "shipping_total": "4.90", "total": "85.92", "total_tax": "13.72",
        "payment_method": "bacs", "transaction_id": ""
    })
}

async fn a_guest_order_in_euros_with_a_coupon_and_a_fee_reproduces_the_shops_totals(db: TestDb) {
    let app = TestApp::start(db).await;
    let shop = shop(&app).await;
    let (_, e) = deliver(&app, &shop, "order.created", "1", &eur_order("on-hold", "09:00:00", false)).await;
    assert_eq!(e["status"], "ok", "{e}");
    let docs = order_docs(&app, &shop, "301").await;
    assert!(docs["payment"].is_null(), "on hold: not paid yet: {docs}");
    let inv = get_ok(&app, &shop.admin, &format!("/api/v1/invoices/{}", docs["invoice"].as_str().unwrap())).await;
    assert_eq!((inv["status"].as_str(), inv["currency"].as_str()), (Some("issued"), Some("EUR")), "{inv}");
    let t = &inv["totals"];
    assert_eq!(t["subtotal"], "74.50", "{t}"); // 60 + 12 + 2.50 gift wrap
    assert_eq!(t["discount"], "7.20");
    assert_eq!(t["net"], "67.30");
    assert_eq!(t["shipping"], "4.90");
    assert_eq!(t["tax"], "13.72");
    assert_eq!(t["total"], "85.92");
    assert_eq!(
        t["taxes"],
        json!([{"tax_id": shop.vat["id"], "name": "MwSt 19 %", "rate": "19", "base": "72.20", "amount": "13.72"}])
    );
    let lines = inv["groups"][0]["lines"].as_array().unwrap();
    let descriptions: Vec<&str> = lines.iter().map(|l| l["description"].as_str().unwrap()).collect();
    assert_eq!(descriptions, ["T-shirt", "Mug", "Gift wrap", "DHL", "Coupon save10: −7.20 EUR"]);
    assert_eq!(
        (lines[0]["quantity"].as_str(), lines[0]["unit_price"].as_str(), lines[0]["discount_amount"].as_str()),
        (Some("3"), Some("20.00"), Some("6.00")),
        "{}",
        lines[0]
    );
    let acc = get_ok(&app, &shop.admin, &format!("/api/v1/accounts/{}", inv["account_id"].as_str().unwrap())).await;
    assert_eq!((acc["name"].as_str(), acc["currency"].as_str()), (Some("Lena Schmidt"), Some("EUR")));
    assert_eq!(acc["external_ids"], json!([]), "a guest has no customer id");

    // Paid later: the same invoice, now paid in euros.
    let (_, e) = deliver(&app, &shop, "order.updated", "2", &eur_order("processing", "09:30:00", true)).await;
    assert_eq!(e["status"], "ok", "{e}");
    let docs2 = order_docs(&app, &shop, "301").await;
    assert_eq!(docs2["invoice"], docs["invoice"]);
    let pay = get_ok(&app, &shop.admin, &format!("/api/v1/payments/{}", docs2["payment"].as_str().unwrap())).await;
    assert_eq!(
        (pay["amount"].as_str(), pay["currency"].as_str(), pay["method"].as_str()),
        (Some("85.92"), Some("EUR"), Some("bank_transfer"))
    );
    let inv = get_ok(&app, &shop.admin, &format!("/api/v1/invoices/{}", docs["invoice"].as_str().unwrap())).await;
    assert_eq!(inv["status"], "paid");
}

async fn refunds_become_credit_notes_paid_back_one_per_refund(db: TestDb) {
    let app = TestApp::start(db).await;
    let shop = shop(&app).await;
    let mut o = usd_order(401, 8, "bo@example.com", "completed", "08:00:00");
    deliver(&app, &shop, "order.created", "1", &o).await;
    o["refunds"] = json!([{"id": 501, "reason": "Broken mug", "total": "-11.00"}]);
    o["date_modified_gmt"] = json!("2026-03-02T09:00:00");
    let (_, e) = deliver(&app, &shop, "order.updated", "2", &o).await;
    assert_eq!(e["status"], "ok", "{e}");
    assert!(e["reason"].as_str().unwrap().contains("refund #501"), "{e}");
    // Again (WooCommerce retries): still one credit note.
    deliver(&app, &shop, "order.updated", "2", &o).await;
    let docs = order_docs(&app, &shop, "401").await;
    assert_eq!(docs["credit_notes"].as_array().unwrap().len(), 1, "{docs}");
    let cn =
        get_ok(&app, &shop.admin, &format!("/api/v1/credit-notes/{}", docs["credit_notes"][0].as_str().unwrap())).await;
    assert_eq!(cn["totals"]["total"], "11.00", "{cn}");
    assert_eq!(cn["totals"]["tax"], "1.00", "11.00 with 10 % tax included: {cn}");
    assert_eq!(cn["status"], "applied", "paid back to the buyer: {cn}");
    assert_eq!(cn["invoice_id"], docs["invoice"]);
    let inv = get_ok(&app, &shop.admin, &format!("/api/v1/invoices/{}", docs["invoice"].as_str().unwrap())).await;
    assert_eq!(inv["status"], "paid");

    // The rest refunded: a second credit note for it.
    o["status"] = json!("refunded");
    o["refunds"] =
        json!([{"id": 502, "reason": "", "total": "-20.90"}, {"id": 501, "reason": "Broken mug", "total": "-11.00"}]);
    o["date_modified_gmt"] = json!("2026-03-02T10:00:00");
    deliver(&app, &shop, "order.updated", "3", &o).await;
    let docs = order_docs(&app, &shop, "401").await;
    let totals: Vec<String> = futures_totals(&app, &shop, &docs).await;
    assert_eq!(totals, ["11.00", "20.90"]);

    // A whole refund at once credits every line of the invoice.
    let mut w = usd_order(402, 9, "cy@example.com", "refunded", "11:00:00");
    w["refunds"] = json!([{"id": 601, "reason": "Changed mind", "total": "-31.90"}]);
    let (_, e) = deliver(&app, &shop, "order.updated", "4", &w).await;
    assert_eq!(e["status"], "ok", "{e}");
    let docs = order_docs(&app, &shop, "402").await;
    let cn =
        get_ok(&app, &shop.admin, &format!("/api/v1/credit-notes/{}", docs["credit_notes"][0].as_str().unwrap())).await;
    assert_eq!(
        (cn["totals"]["total"].as_str(), cn["totals"]["tax"].as_str(), cn["totals"]["shipping"].as_str()),
        (Some("31.90"), Some("2.90"), Some("5.00")),
        "{cn}"
    );
    assert_eq!(cn["status"], "applied");
}

async fn futures_totals(app: &TestApp, shop: &Shop, docs: &Value) -> Vec<String> {
    let mut out = vec![];
    for id in docs["credit_notes"].as_array().unwrap() {
        let cn = get_ok(app, &shop.admin, &format!("/api/v1/credit-notes/{}", id.as_str().unwrap())).await;
        out.push(cn["totals"]["total"].as_str().unwrap().to_string());
    }
    out.sort();
    out
}

async fn a_cancelled_or_deleted_order_voids_its_unpaid_invoice(db: TestDb) {
    let app = TestApp::start(db).await;
    let shop = shop(&app).await;
    let mut o = usd_order(501, 0, "di@example.com", "on-hold", "08:00:00");
    o["payment_method"] = json!("bacs");
    deliver(&app, &shop, "order.created", "1", &o).await;
    let inv_id = order_docs(&app, &shop, "501").await["invoice"].as_str().unwrap().to_string();
    o["status"] = json!("cancelled");
    o["date_modified_gmt"] = json!("2026-03-02T09:00:00");
    let (_, e) = deliver(&app, &shop, "order.updated", "2", &o).await;
    assert_eq!(e["status"], "ok", "{e}");
    let inv = get_ok(&app, &shop.admin, &format!("/api/v1/invoices/{inv_id}")).await;
    assert_eq!(inv["status"], "void", "{inv}");

    // Deleted in the shop (the body is the id alone): voided as well, and later states are ignored.
    let mut o = usd_order(502, 0, "di@example.com", "on-hold", "08:00:00");
    o["payment_method"] = json!("bacs");
    deliver(&app, &shop, "order.created", "3", &o).await;
    let (_, e) = deliver(&app, &shop, "order.deleted", "4", &json!({"id": 502})).await;
    assert_eq!(e["status"], "ok", "{e}");
    let inv = order_docs(&app, &shop, "502").await["invoice"].as_str().unwrap().to_string();
    assert_eq!(get_ok(&app, &shop.admin, &format!("/api/v1/invoices/{inv}")).await["status"], "void");
    o["date_modified_gmt"] = json!("2026-03-02T12:00:00");
    let (_, e) = deliver(&app, &shop, "order.updated", "5", &o).await;
    assert_eq!(e["status"], "ignored", "{e}");
    // Restored: a new invoice for it.
    let (_, e) = deliver(&app, &shop, "order.restored", "6", &o).await;
    assert_eq!(e["status"], "ok", "{e}");
    assert_ne!(order_docs(&app, &shop, "502").await["invoice"].as_str().unwrap(), inv);
}

async fn a_tampered_or_unsigned_body_is_refused_and_the_ping_answered(db: TestDb) {
    let app = TestApp::start(db).await;
    let shop = shop(&app).await;
    let body = serde_json::to_vec(&usd_order(601, 0, "ed@example.com", "processing", "08:00:00")).unwrap();
    let sig = python_signature(SECRET, &body);
    let tampered = String::from_utf8(body.clone()).unwrap().replace("\"31.90\"", "\"1.90\"").into_bytes();
    let r = app
        .client
        .post(app.url(&format!("/api/v1/integrations/woocommerce/{}/webhook", shop.id())))
        .header("x-wc-webhook-topic", "order.created")
        .header("x-wc-webhook-signature", &sig)
        .body(tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers().get("content-type").unwrap(), "application/problem+json");
    let (s, _) = send(&app, &shop, "order.created", "2", body.clone(), None).await;
    assert_eq!(s, 401, "no signature");
    let (s, _) =
        send(&app, &shop, "order.created", "3", body.clone(), Some(python_signature("other-secret", &body))).await;
    assert_eq!(s, 401, "another secret");
    // WooCommerce's ping when the webhook is saved: form-encoded, unsigned.
    let r = app
        .client
        .post(app.url(&format!("/api/v1/integrations/woocommerce/{}/webhook", shop.id())))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("webhook_id=12")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(intake(&app, &shop).await.is_empty(), "nothing stored");
    assert_eq!(invoice_count(&app, &shop).await, 0);
    // An unknown connection is 404; the real body with its signature is taken.
    let r = app
        .client
        .post(app.url("/api/v1/integrations/woocommerce/0190a1b2-0000-7000-8000-000000000000/webhook"))
        .header("x-wc-webhook-signature", &sig)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let (s, e) = send(&app, &shop, "order.created", "4", body, Some(sig)).await;
    assert_eq!((s, e["status"].as_str()), (200, Some("ok")), "{e}");
}

async fn the_same_delivery_twice_or_out_of_order_gives_the_same_end_state(db: TestDb) {
    let app = TestApp::start(db).await;
    let shop = shop(&app).await;
    let state = |id: i64, status: &str, modified: &str| {
        let mut o = usd_order(id, 0, "fay@example.com", status, modified);
        o["payment_method"] = json!("bacs");
        o
    };
    // In order: on hold, then paid; the paid delivery twice.
    deliver(&app, &shop, "order.created", "1", &state(701, "on-hold", "08:00:00")).await;
    deliver(&app, &shop, "order.updated", "2", &state(701, "processing", "08:05:00")).await;
    deliver(&app, &shop, "order.updated", "2", &state(701, "processing", "08:05:00")).await;
    // Out of order: paid first, then the older on-hold state.
    deliver(&app, &shop, "order.updated", "4", &state(702, "processing", "08:05:00")).await;
    let (_, e) = deliver(&app, &shop, "order.created", "3", &state(702, "on-hold", "08:00:00")).await;
    assert_eq!(e["status"], "ignored", "{e}");
    assert!(e["reason"].as_str().unwrap().contains("older"), "{e}");
    for id in ["701", "702"] {
        let docs = order_docs(&app, &shop, id).await;
        let inv = get_ok(&app, &shop.admin, &format!("/api/v1/invoices/{}", docs["invoice"].as_str().unwrap())).await;
        assert_eq!(
            (inv["status"].as_str(), inv["totals"]["total"].as_str()),
            (Some("paid"), Some("31.90")),
            "{id}: {inv}"
        );
        assert!(docs["credit_notes"].as_array().unwrap().is_empty());
    }
    assert_eq!(invoice_count(&app, &shop).await, 2, "one invoice per order");
    let pays = get_ok(&app, &shop.admin, "/api/v1/payments").await;
    assert_eq!(pays["data"].as_array().unwrap().len(), 2, "one payment per order: {pays}");
    assert_eq!(intake(&app, &shop).await.len(), 5, "every delivery is in the log");
}

async fn an_unmappable_order_is_kept_and_retried_once_the_product_exists(db: TestDb) {
    let app = TestApp::start(db).await;
    let shop = shop(&app).await;
    let mut o = usd_order(801, 12, "gil@example.com", "processing", "08:00:00");
    o["line_items"][0]["sku"] = json!("CAP-9");
    o["line_items"][0]["name"] = json!("Cap");
    let (s, e) = deliver(&app, &shop, "order.created", "1", &o).await;
    assert_eq!(s, 200, "taken, to be retried: {e}");
    assert_eq!(e["status"], "failed", "{e}");
    assert!(e["reason"].as_str().unwrap().contains("CAP-9"), "{e}");
    assert_eq!(invoice_count(&app, &shop).await, 0, "nothing half-made");
    assert!(get_ok(&app, &shop.admin, "/api/v1/accounts").await["data"].as_array().unwrap().is_empty());
    let retry = format!("/api/v1/integrations/woocommerce/{}/intake/{}/retry", shop.id(), e["id"].as_str().unwrap());
    let (s, again) = json(app.post(&retry, &shop.admin, &json!({})).await).await;
    assert_eq!((s, again["status"].as_str()), (200, Some("failed")), "{again}");
    created(
        &app,
        &shop.admin,
        "/api/v1/products",
        json!({"sku": "CAP-9", "name": "Cap", "list_price": "12.00", "currency": "USD"}),
    )
    .await;
    let (s, again) = json(app.post(&retry, &shop.admin, &json!({})).await).await;
    assert_eq!((s, again["status"].as_str(), again["attempts"].as_i64()), (200, Some("ok"), Some(3)), "{again}");
    assert!(again["invoice_number"].is_string(), "{again}");
    // A rate the mapping lacks waits too, naming the rate.
    let mut o = usd_order(802, 0, "hal@example.com", "processing", "08:00:00");
    o["line_items"][0]["taxes"] = json!([{"id": 99, "total": "2.4"}]);
    o["tax_lines"][0]["rate_id"] = json!(99);
    o["tax_lines"][0]["rate_code"] = json!("US-NY-TAX-1");
    let (_, e) = deliver(&app, &shop, "order.created", "2", &o).await;
    assert!(e["reason"].as_str().unwrap().contains("tax mapping"), "{e}");
    // Two contacts share an e-mail: reported as a duplicate, no third account.
    for name in ["Ivy One", "Ivy Two"] {
        let a = created(&app, &shop.admin, "/api/v1/accounts", json!({"name": name, "currency": "USD"})).await;
        created(
            &app,
            &shop.admin,
            "/api/v1/contacts",
            json!({"account_id": a["id"], "first_name": "Ivy", "last_name": name, "emails": ["ivy@example.com"]}),
        )
        .await;
    }
    let (_, e) =
        deliver(&app, &shop, "order.created", "3", &usd_order(803, 0, "IVY@example.com", "processing", "08:00:00"))
            .await;
    assert_eq!(e["status"], "duplicate", "{e}");
    assert_eq!(get_ok(&app, &shop.admin, "/api/v1/accounts").await["data"].as_array().unwrap().len(), 3);
    let failed =
        get_ok(&app, &shop.admin, &format!("/api/v1/integrations/woocommerce/{}/intake?status=failed", shop.id()))
            .await;
    assert_eq!(failed["data"].as_array().unwrap().len(), 1, "{failed}");
}

async fn connections_are_the_admins_and_their_pages_show_the_webhook_url_and_log(db: TestDb) {
    let app = TestApp::start(db).await;
    let shop = shop(&app).await;
    let rep = app.user("rep@example.com", "sales_rep").await;
    let (s, _) = json(app.get("/api/v1/integrations/woocommerce", &rep).await).await;
    assert_eq!(s, 403);
    let list = get_ok(&app, &shop.admin, "/api/v1/integrations/woocommerce").await;
    assert!(list["data"][0].get("secret").is_none());
    assert_eq!(list["data"][0]["tax_map"][1]["woo_rate"], "DE-VAT-19-1");
    // PATCH: a new secret signs from now on; the mapping is replaced.
    let (s, c) = json(
        app.req(Method::PATCH, &format!("/api/v1/integrations/woocommerce/{}", shop.id()), &shop.admin)
            .json(&json!({"secret": "rotated-secret", "tax_map": []}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["tax_map"], json!([]));
    let (s, _) =
        deliver(&app, &shop, "order.created", "1", &usd_order(901, 0, "jo@example.com", "processing", "08:00:00"))
            .await;
    assert_eq!(s, 401, "the old secret no longer signs");

    let cookie = session(&app, "admin@example.com").await;
    let (s, html) = page(&app, &cookie, "/integrations/woocommerce").await;
    assert_eq!(s, 200);
    assert!(html.contains(&format!("/api/v1/integrations/woocommerce/{}/webhook", shop.id())), "{html}");
    let (s, _, _) = support::form(
        &app,
        &cookie,
        "/integrations/woocommerce",
        &[("name", "Outlet"), ("url", "https://outlet.example.com"), ("secret", "outlet-secret"), ("warehouse_id", "")],
    )
    .await;
    assert_eq!(s, 303);
    let (s, html) = page(&app, &cookie, &format!("/integrations/woocommerce/{}", shop.id())).await;
    assert_eq!(s, 200);
    assert!(html.contains("Intake log") && html.contains("Tax mapping"), "{html}");
    let rep_cookie = session(&app, "rep@example.com").await;
    let (s, _) = page(&app, &rep_cookie, "/integrations/woocommerce").await;
    assert_eq!(s, 403);
    let (s, _) = json(
        app.req(Method::DELETE, &format!("/api/v1/integrations/woocommerce/{}", shop.id()), &shop.admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 204);
}

both_backends!(
    a_paid_order_makes_the_customer_a_paid_invoice_and_its_payment,
    a_guest_order_in_euros_with_a_coupon_and_a_fee_reproduces_the_shops_totals,
    refunds_become_credit_notes_paid_back_one_per_refund,
    a_cancelled_or_deleted_order_voids_its_unpaid_invoice,
    a_tampered_or_unsigned_body_is_refused_and_the_ping_answered,
    the_same_delivery_twice_or_out_of_order_gives_the_same_end_state,
    an_unmappable_order_is_kept_and_retried_once_the_product_exists,
    connections_are_the_admins_and_their_pages_show_the_webhook_url_and_log,
);
