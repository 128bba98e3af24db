//! The purchase-side pages over plain HTTP, on both databases: a purchase
//! order written, sent and confirmed from its page, received in part from
//! the receive form (into a warehouse, the quantity checked), billed with the
//! supplier's number, the bill issued and paid from the payments-sent form;
//! refusals shown next to their fields with the input kept; the reorder page
//! (a minimum set, the suggestion turned into a draft order); the company
//! page; and which roles are kept out.

mod support;

use nave_testkit::{TestDb, both_backends};
use serde_json::{Value, json};
use support::{TestApp, TestUser, form, json, page, session};

struct Setup {
    admin: TestUser,
    cookie: String,
    main: Value,
    supplier: Value,
    a: Value,
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// The value of the first hidden `version` field of a page.
fn version(html: &str) -> String {
    html.split("name=\"version\" value=\"").nth(1).expect("a version field").split('"').next().unwrap().to_string()
}

/// The id at the end of a redirect to `/{path}/{id}`.
fn id_in(location: &str, path: &str) -> String {
    location
        .strip_prefix(&format!("/{path}/"))
        .unwrap_or_else(|| panic!("{location} is not under /{path}/"))
        .to_string()
}

/// An admin, a Main warehouse, a supplier (EUR, Net 30) and product A that it
/// sells at 4.00 as GX-A.
async fn setup(app: &TestApp) -> Setup {
    let admin = app.user("admin@example.com", "admin").await;
    let (_, main) = json(app.post("/api/v1/warehouses", &admin, &json!({"name": "Main"})).await).await;
    let (st, supplier) = json(
        app.post(
            "/api/v1/accounts",
            &admin,
            &json!({"name": "Globex Supply", "currency": "USD", "kinds": ["supplier"]}),
        )
        .await,
    )
    .await;
    assert_eq!(st, 201, "{supplier}");
    let body = json!({"sku": "A", "name": "Widget A", "list_price": "10.00", "currency": "EUR",
        "suppliers": [{"supplier_id": supplier["id"], "supplier_code": "GX-A", "cost": "4.00", "preferred": true}]});
    let (st, a) = json(app.post("/api/v1/products", &admin, &body).await).await;
    assert_eq!(st, 201, "{a}");
    let cookie = session(app, "admin@example.com").await;
    Setup { admin, cookie, main, supplier, a }
}

async fn api(app: &TestApp, s: &Setup, path: &str) -> Value {
    let (st, v) = json(app.get(path, &s.admin).await).await;
    assert_eq!(st, 200, "{path}: {v}");
    v
}

async fn on_hand(app: &TestApp, s: &Setup) -> String {
    let v = api(app, s, &format!("/api/v1/stock?product_id={}&warehouse_id={}", id(&s.a), id(&s.main))).await;
    v["data"][0]["on_hand"].as_str().unwrap_or("0").to_string()
}

/// Takes a document action from its page (with the version shown); returns the redirect.
async fn act(app: &TestApp, s: &Setup, doc_path: &str, action: &str, extra: &[(&str, &str)]) -> String {
    let (_, html) = page(app, &s.cookie, doc_path).await;
    assert!(html.contains(&format!("{doc_path}/actions/{action}")), "{doc_path} offers {action}: {html}");
    let v = version(&html);
    let mut fields = vec![("version", v.as_str())];
    fields.extend_from_slice(extra);
    let (st, to, body) = form(app, &s.cookie, &format!("{doc_path}/actions/{action}"), &fields).await;
    assert_eq!(st, 303, "{action}: {body}");
    to
}

/// A purchase order of 10 A written in the editor; returns its page path.
async fn new_po(app: &TestApp, s: &Setup) -> String {
    let (st, html) = page(app, &s.cookie, "/purchase-orders/new").await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("Supplier&#39;s reference"), "{html}");
    let (st, to, body) = form(
        app,
        &s.cookie,
        "/purchase-orders",
        &[
            ("account_id", &id(&s.supplier)),
            ("warehouse_id", &id(&s.main)),
            ("groups[0].lines[0].product_id", &id(&s.a)),
            ("groups[0].lines[0].quantity", "10"),
            ("op", "save"),
        ],
    )
    .await;
    assert_eq!(st, 303, "{body}");
    assert!(to.starts_with("/purchase-orders/"), "{to}");
    to
}

async fn a_purchase_order_is_received_in_part_billed_and_paid_from_the_pages(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let po_path = new_po(&app, &s).await;
    let po_id = id_in(&po_path, "purchase-orders");

    // A draft: the supplier's code and cost are the line's defaults; send, confirm and cancel are offered.
    let (_, html) = page(&app, &s.cookie, &po_path).await;
    assert!(html.contains("GX-A") && html.contains("40.00"), "code and 10 × 4.00: {html}");
    for a in ["send", "confirm", "cancel"] {
        assert!(html.contains(&format!("{po_path}/actions/{a}")), "a draft offers {a}");
    }
    assert!(html.contains(&format!("{po_path}/pdf")), "the PDF link");
    act(&app, &s, &po_path, "send", &[]).await;
    let (_, html) = page(&app, &s.cookie, &po_path).await;
    assert!(!html.contains(&format!("{po_path}/actions/send")), "sent: no second send");
    assert!(!html.contains(&format!("{po_path}/receive")), "not confirmed: nothing to receive yet");
    act(&app, &s, &po_path, "confirm", &[]).await;
    let (_, html) = page(&app, &s.cookie, &po_path).await;
    assert!(html.contains(">confirmed<"), "{html}");
    assert!(html.contains(&format!("{po_path}/receive")) && html.contains(&format!("{po_path}/bill")), "{html}");

    // The receive form: everything left by default, into the order's warehouse.
    let (st, html) = page(&app, &s.cookie, &format!("{po_path}/receive")).await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("name=\"lines[0].quantity\" value=\"10\""), "{html}");
    assert!(html.contains(&format!("value=\"{}\" selected", id(&s.main))), "the order's warehouse is chosen");
    let po = api(&app, &s, &format!("/api/v1/purchase-orders/{po_id}")).await;
    let lid = po["groups"][0]["lines"][0]["id"].as_str().unwrap().to_string();

    // More than ordered: refused next to the field, the input kept, nothing stored.
    let (st, _, html) = form(
        &app,
        &s.cookie,
        &format!("{po_path}/receive"),
        &[("warehouse_id", &id(&s.main)), ("notes", "dock 3"), ("lines[0].line_id", &lid), ("lines[0].quantity", "11")],
    )
    .await;
    assert_eq!(st, 422, "{html}");
    assert!(html.contains("lines-0-quantity-err") && html.contains("more than the 10 left to receive"), "{html}");
    assert!(html.contains("dock 3") && html.contains("value=\"11\""), "the input is kept");
    assert_eq!(on_hand(&app, &s).await, "0");

    // 4 received now: numbered, into stock.
    let (st, to, body) = form(
        &app,
        &s.cookie,
        &format!("{po_path}/receive"),
        &[
            ("warehouse_id", &id(&s.main)),
            ("receive_now", "true"),
            ("lines[0].line_id", &lid),
            ("lines[0].quantity", "4"),
        ],
    )
    .await;
    assert_eq!(st, 303, "{body}");
    let (_, html) = page(&app, &s.cookie, &to).await;
    assert!(html.contains(">done<") && html.contains("REC-"), "{html}");
    assert_eq!(on_hand(&app, &s).await, "4");
    let (_, html) = page(&app, &s.cookie, &po_path).await;
    assert!(html.contains(">part_received<"), "{html}");
    assert!(!html.contains(&format!("{po_path}/actions/cancel")), "received in part: no cancel");
    let (_, html) = page(&app, &s.cookie, &format!("{po_path}/receive")).await;
    assert!(html.contains("name=\"lines[0].quantity\" value=\"6\""), "6 left: {html}");

    // The bill form: what is received and not billed, with the supplier's number.
    let (st, html) = page(&app, &s.cookie, &format!("{po_path}/bill")).await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("name=\"lines[0].quantity\" value=\"4\""), "{html}");
    let (st, to, body) = form(
        &app,
        &s.cookie,
        &format!("{po_path}/bill"),
        &[("basis", "received"), ("reference", "GX-INV-77"), ("lines[0].line_id", &lid), ("lines[0].quantity", "4")],
    )
    .await;
    assert_eq!(st, 303, "{body}");
    let bill_path = to.clone();
    let bill_id = id_in(&to, "bills");
    let (_, html) = page(&app, &s.cookie, &bill_path).await;
    assert!(html.contains("GX-INV-77") && html.contains("Supplier&#39;s bill number"), "{html}");
    act(&app, &s, &bill_path, "issue", &[]).await;
    let bill = api(&app, &s, &format!("/api/v1/bills/{bill_id}")).await;
    assert_eq!(bill["status"], "issued", "{bill}");
    assert_eq!(bill["balance"], "16.00", "4 × 4.00: {bill}");

    // The same supplier number on a second bill is refused next to its field.
    let (st, _, html) = form(
        &app,
        &s.cookie,
        &format!("{po_path}/bill"),
        &[("basis", "ordered"), ("reference", "GX-INV-77"), ("lines[0].line_id", &lid), ("lines[0].quantity", "1")],
    )
    .await;
    assert_eq!(st, 422, "{html}");
    assert!(html.contains("reference-err") && html.contains("already recorded"), "{html}");

    // Pay 10.00 of it from the payments-sent form: allocated to the bill, oldest first.
    let (_, html) = page(&app, &s.cookie, &bill_path).await;
    let new_payment = format!("/payments-sent/new?account_id={}", id(&s.supplier));
    assert!(html.contains(&new_payment.replace('&', "&amp;")) || html.contains(&new_payment), "{html}");
    let (st, html) = page(&app, &s.cookie, &new_payment).await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains(&format!("/bills/{bill_id}")), "the open bill is listed: {html}");
    let (st, _, html) = form(
        &app,
        &s.cookie,
        "/payments-sent",
        &[("account_id", &id(&s.supplier)), ("amount", "abc"), ("method", "bank_transfer")],
    )
    .await;
    assert_eq!(st, 422);
    assert!(html.contains("amount-err"), "{html}");
    let (st, to, body) = form(
        &app,
        &s.cookie,
        "/payments-sent",
        &[
            ("account_id", &id(&s.supplier)),
            ("amount", "10.00"),
            ("method", "bank_transfer"),
            ("reference", "PAY-GX-1"),
            ("allocations[0].invoice_id", &bill_id),
            ("allocations[0].amount", ""),
        ],
    )
    .await;
    assert_eq!(st, 303, "{body}");
    assert!(to.starts_with("/payments-sent/"), "{to}");
    let (_, html) = page(&app, &s.cookie, &to).await;
    assert!(html.contains("Payment sent") && html.contains(&format!("/bills/{bill_id}")), "{html}");
    let bill = api(&app, &s, &format!("/api/v1/bills/{bill_id}")).await;
    assert_eq!((bill["status"].as_str(), bill["balance"].as_str()), (Some("part_paid"), Some("6.00")), "{bill}");
    let (_, list) = page(&app, &s.cookie, "/payments-sent").await;
    assert!(list.contains("PAY-GX-1") && list.contains("href=\"/payments-sent\""), "{list}");
    let (_, list) = page(&app, &s.cookie, "/payments").await;
    assert!(!list.contains("PAY-GX-1"), "payments received do not list it");

    // The lists and the PDF.
    let (_, list) = page(&app, &s.cookie, "/purchase-orders").await;
    assert!(list.contains(&po_path) && list.contains("href=\"/reorder-suggestions\""), "{list}");
    let (_, list) = page(&app, &s.cookie, "/receipts").await;
    assert!(list.contains("REC-") && !list.contains("/receipts/new"), "receipts are made from an order: {list}");
    let r = app.client.get(app.url(&format!("{po_path}/pdf"))).header("cookie", &s.cookie).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");

    // The warehouse receives but does not bill; accounting pays; a rep sees no purchase side.
    app.user("wh@example.com", "warehouse").await;
    let wh = session(&app, "wh@example.com").await;
    assert_eq!(page(&app, &wh, &format!("{po_path}/receive")).await.0, 200);
    assert_eq!(page(&app, &wh, &format!("{po_path}/bill")).await.0, 403);
    app.user("acc@example.com", "accounting").await;
    let acc = session(&app, "acc@example.com").await;
    assert_eq!(page(&app, &acc, &new_payment).await.0, 200);
    assert_eq!(page(&app, &acc, &format!("{po_path}/receive")).await.0, 403);
    app.user("rep@example.com", "sales_rep").await;
    let rep = session(&app, "rep@example.com").await;
    let (st, home) = page(&app, &rep, "/").await;
    assert_eq!(st, 200);
    assert!(!home.contains("href=\"/purchase-orders\""), "no purchase links for a rep");
    assert_eq!(page(&app, &rep, "/purchase-orders").await.0, 403);
    assert_eq!(page(&app, &rep, "/payments-sent").await.0, 403);
}

async fn the_reorder_page_sets_minimums_and_orders_what_is_short(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let (st, html) = page(&app, &s.cookie, "/reorder-suggestions").await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("Nothing is below its minimum"), "{html}");

    // A bad minimum is refused next to its field, the choice kept.
    let (st, _, html) = form(
        &app,
        &s.cookie,
        "/reorder-suggestions/minimums",
        &[
            ("minimums[0].product_id", &id(&s.a)),
            ("minimums[0].warehouse_id", &id(&s.main)),
            ("minimums[0].min_quantity", "-2"),
        ],
    )
    .await;
    assert_eq!(st, 422, "{html}");
    assert!(html.contains("minimums-0-min_quantity-err") && html.contains("value=\"-2\""), "{html}");
    let (st, _, body) = form(
        &app,
        &s.cookie,
        "/reorder-suggestions/minimums",
        &[
            ("minimums[0].product_id", &id(&s.a)),
            ("minimums[0].warehouse_id", &id(&s.main)),
            ("minimums[0].min_quantity", "12"),
            ("minimums[1].product_id", ""),
            ("minimums[1].warehouse_id", ""),
            ("minimums[1].min_quantity", ""),
        ],
    )
    .await;
    assert_eq!(st, 303, "{body}");
    let (_, html) = page(&app, &s.cookie, "/reorder-suggestions").await;
    assert!(html.contains("Globex Supply") && html.contains("GX-A") && html.contains("<strong>12</strong>"), "{html}");
    assert!(html.contains("name=\"minimums[0].stored\" value=\"12\""), "the minimum is listed to edit: {html}");

    // One button: a draft purchase order of the 12 short.
    let (st, to, body) = form(&app, &s.cookie, "/reorder-suggestions", &[("warehouse_id", "")]).await;
    assert_eq!(st, 303, "{body}");
    assert_eq!(to, "/purchase-orders?status=draft");
    let list = api(&app, &s, "/api/v1/purchase-orders?status=draft").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "{list}");
    let po = api(&app, &s, &format!("/api/v1/purchase-orders/{}", id(&list["data"][0]))).await;
    assert_eq!(po["groups"][0]["lines"][0]["quantity"], "12", "{po}");
    let (_, html) = page(&app, &s.cookie, "/reorder-suggestions").await;
    assert!(html.contains("Nothing is below its minimum"), "on order now: {html}");

    // Read-only sees the page without the forms; a rep not at all.
    app.user("ro@example.com", "read_only").await;
    let ro = session(&app, "ro@example.com").await;
    let (st, html) = page(&app, &ro, "/reorder-suggestions").await;
    assert_eq!(st, 200);
    assert!(!html.contains("Save minimums") && html.contains("Widget A"), "{html}");
    let (st, _, _) = form(&app, &ro, "/reorder-suggestions", &[]).await;
    assert_eq!(st, 403);
    app.user("rep@example.com", "sales_rep").await;
    let rep = session(&app, "rep@example.com").await;
    assert_eq!(page(&app, &rep, "/reorder-suggestions").await.0, 403);
}

async fn the_company_page_saves_the_letterhead_for_the_admin_only(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let (st, html) = page(&app, &s.cookie, "/settings/company").await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("Save the company's details first"), "{html}");
    let (st, _, html) = form(
        &app,
        &s.cookie,
        "/settings/company",
        &[
            ("version", "0"),
            ("legal_name", "Nave Trading Ltd"),
            ("address", "1 Dock Road"),
            ("receiving_tolerance_percent", "120"),
        ],
    )
    .await;
    assert_eq!(st, 422, "{html}");
    assert!(html.contains("receiving_tolerance_percent-err") && html.contains("between 0 and 100"), "{html}");
    assert!(html.contains("value=\"120\"") && html.contains("1 Dock Road"), "the input is kept");
    let (st, _, body) = form(
        &app,
        &s.cookie,
        "/settings/company",
        &[
            ("version", "0"),
            ("legal_name", "Nave Trading Ltd"),
            ("address", "1 Dock Road\nBristol BS1 4XX"),
            ("tax_id", "VAT GB 123 4567 89"),
            ("email", "accounts@nave.example"),
            ("receiving_tolerance_percent", "2.5"),
        ],
    )
    .await;
    assert_eq!(st, 303, "{body}");
    let v = api(&app, &s, "/api/v1/settings/company").await;
    assert_eq!(v["legal_name"], "Nave Trading Ltd");
    assert_eq!(v["receiving_tolerance_percent"], "2.5");
    let (_, html) = page(&app, &s.cookie, "/settings/company").await;
    assert!(html.contains("/settings/company/logo"), "a saved company may upload its logo");
    app.user("mgr@example.com", "sales_manager").await;
    let mgr = session(&app, "mgr@example.com").await;
    assert_eq!(page(&app, &mgr, "/settings/company").await.0, 403);
    let (st, _, _) = form(&app, &mgr, "/settings/company", &[("legal_name", "Hijack")]).await;
    assert_eq!(st, 403);
}

async fn a_receipt_in_a_foreign_currency_asks_for_the_rate_on_the_page(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    // A supplier selling in GBP (the company books in USD), 5 A at 3.00 GBP.
    let (st, gbp) = json(
        app.post(
            "/api/v1/accounts",
            &s.admin,
            &json!({"name": "Albion Tools", "currency": "GBP", "kinds": ["supplier"]}),
        )
        .await,
    )
    .await;
    assert_eq!(st, 201, "{gbp}");
    let body = json!({"account_id": gbp["id"], "warehouse_id": s.main["id"],
        "lines": [{"product_id": s.a["id"], "quantity": "5", "unit_price": "3.00"}]});
    let (st, po) = json(app.post("/api/v1/purchase-orders", &s.admin, &body).await).await;
    assert_eq!(st, 201, "{po}");
    let po_path = format!("/purchase-orders/{}", id(&po));
    act(&app, &s, &po_path, "confirm", &[]).await;
    let lid = po["groups"][0]["lines"][0]["id"].as_str().unwrap().to_string();

    // The form asks for the rate; without it the receipt is refused next to the field.
    let (st, html) = page(&app, &s.cookie, &format!("{po_path}/receive")).await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("name=\"exchange_rate\""), "{html}");
    let lines = [("lines[0].line_id", lid.as_str()), ("lines[0].quantity", "5")];
    let mut fields = vec![("warehouse_id", id(&s.main)), ("receive_now", "true".into())];
    fields.extend(lines.iter().map(|(k, v)| (*k, v.to_string())));
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (st, _, html) = form(&app, &s.cookie, &format!("{po_path}/receive"), &borrowed).await;
    assert_eq!(st, 422, "{html}");
    assert!(html.contains("exchange_rate-err") || html.contains("is required"), "{html}");
    assert_eq!(on_hand(&app, &s).await, "0", "nothing received");

    // A rate that is not a number is refused too; 1.25 USD per GBP brings 5 in at 3.75.
    let mut with_rate = borrowed.clone();
    with_rate.push(("exchange_rate", "abc"));
    let (st, _, html) = form(&app, &s.cookie, &format!("{po_path}/receive"), &with_rate).await;
    assert_eq!(st, 422, "{html}");
    assert!(html.contains("must be a number"), "{html}");
    with_rate.pop();
    with_rate.push(("exchange_rate", "1.25"));
    let (st, to, body) = form(&app, &s.cookie, &format!("{po_path}/receive"), &with_rate).await;
    assert_eq!(st, 303, "{body}");
    let (_, html) = page(&app, &s.cookie, &to).await;
    assert!(html.contains("Exchange rate") && html.contains("1.25"), "{html}");
    assert_eq!(on_hand(&app, &s).await, "5");
    let product = api(&app, &s, &format!("/api/v1/products/{}", id(&s.a))).await;
    assert_eq!(product["cost"], "3.75", "{product}");
}

both_backends!(
    a_purchase_order_is_received_in_part_billed_and_paid_from_the_pages,
    a_receipt_in_a_foreign_currency_asks_for_the_rate_on_the_page,
    the_reorder_page_sets_minimums_and_orders_what_is_short,
    the_company_page_saves_the_letterhead_for_the_admin_only
);
