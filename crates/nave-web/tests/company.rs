//! Company settings over the API, on both databases: the defaults before a
//! first save, who may change them, the refusals naming the field and the
//! limit, the logo stored in the database and printed on PDFs, and the
//! receiving tolerance on both sides of its limit, for receipts and bills.

mod support;

use std::io::Cursor;

use nave_testkit::{TestDb, both_backends};
use reqwest::Method;
use serde_json::{Value, json};
use support::{TestApp, TestUser, json};

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 60]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

async fn put(app: &TestApp, who: &TestUser, path: &str, body: Value, version: i64) -> (u16, Value) {
    json(app.req(Method::PUT, path, who).header("if-match", version.to_string()).json(&body).send().await.unwrap())
        .await
}

async fn created(app: &TestApp, who: &TestUser, path: &str, body: Value) -> Value {
    let (s, v) = json(app.post(path, who, &body).await).await;
    assert_eq!(s, 201, "{path}: {v}");
    v
}

async fn pdf_len(app: &TestApp, who: &TestUser, path: &str) -> usize {
    let r = app.get(path, who).await;
    assert_eq!(r.status(), 200, "{path}");
    assert_eq!(r.headers()["content-type"], "application/pdf");
    r.bytes().await.unwrap().len()
}

async fn settings_are_read_by_all_and_written_by_the_admin(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let rep = app.user("rep@example.com", "sales_rep").await;
    let (st, v) = json(app.get("/api/v1/settings/company", &rep).await).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!((v["version"].as_i64(), v["receiving_tolerance_percent"].as_str()), (Some(0), Some("0.0")), "{v}");
    assert!(!v["legal_name"].as_str().unwrap().is_empty(), "the tenant's name until saved: {v}");

    let body = json!({"legal_name": "Nave Trading Ltd", "address": "1 Dock Road\nBristol",
        "tax_id": "VAT GB 123 4567 89", "email": "accounts@nave.example", "phone": "+44 117 000 0000",
        "receiving_tolerance_percent": "5"});
    let (st, v) = put(&app, &rep, "/api/v1/settings/company", body.clone(), 0).await;
    assert_eq!(st, 403, "{v}");
    for (field, bad, limit) in [
        ("receiving_tolerance_percent", json!("100.5"), "between 0 and 100"),
        ("receiving_tolerance_percent", json!("2.25"), "at most one decimal"),
        ("receiving_tolerance_percent", json!("-1"), "between 0 and 100"),
        ("legal_name", json!(""), "1"),
        ("email", json!("not an email"), ""),
    ] {
        let mut b = body.clone();
        b[field] = bad;
        let (st, v) = put(&app, &admin, "/api/v1/settings/company", b, 0).await;
        assert_eq!(st, 422, "{field}: {v}");
        assert_eq!(v["errors"][0]["field"], field, "{v}");
        assert!(v["errors"][0]["message"].as_str().unwrap().contains(limit), "{v}");
    }
    let (st, v) = put(&app, &admin, "/api/v1/settings/company", body.clone(), 0).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!((v["version"].as_i64(), v["receiving_tolerance_percent"].as_str()), (Some(1), Some("5.0")), "{v}");
    let (st, _) = put(&app, &admin, "/api/v1/settings/company", body.clone(), 0).await;
    assert_eq!(st, 412, "a stale version changes nothing");
    let (_, v) = json(app.get("/api/v1/settings/company", &rep).await).await;
    assert_eq!(v["address"], "1 Dock Road\nBristol");

    // A quote's PDF carries the letterhead; with the logo it grows by the image.
    let customer = created(&app, &admin, "/api/v1/accounts", json!({"name": "Acme Ltd", "currency": "EUR"})).await;
    let quote = created(
        &app,
        &admin,
        "/api/v1/quotes",
        json!({"account_id": customer["id"], "lines": [{"description": "Survey", "quantity": "1", "unit_price": "90.00"}]}),
    )
    .await;
    let plain = pdf_len(&app, &admin, &format!("/api/v1/quotes/{}/pdf", id(&quote))).await;
    let logo = png(240, 90);
    let upload = |who: &TestUser, bytes: Vec<u8>, version: i64| {
        app.req(Method::PUT, "/api/v1/settings/company/logo", who)
            .header("content-type", "image/png")
            .header("if-match", version.to_string())
            .body(bytes)
            .send()
    };
    let (st, _) = json(upload(&rep, logo.clone(), 1).await.unwrap()).await;
    assert_eq!(st, 403);
    let (st, v) = json(upload(&admin, b"not an image".to_vec(), 1).await.unwrap()).await;
    assert_eq!(st, 415, "{v}");
    let (st, v) = json(upload(&admin, logo.clone(), 1).await.unwrap()).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["logo"]["content_type"], "image/png", "{v}");
    let r = app.get("/api/v1/settings/company/logo", &rep).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().to_vec(), logo, "the bytes come back from the database");
    let with_logo = pdf_len(&app, &admin, &format!("/api/v1/quotes/{}/pdf", id(&quote))).await;
    assert!(with_logo > plain, "the logo is in the PDF: {with_logo} > {plain}");
    let (st, v) = json(
        app.req(Method::DELETE, "/api/v1/settings/company/logo", &admin).header("if-match", "2").send().await.unwrap(),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert!(v["logo"].is_null(), "{v}");
    assert_eq!(app.get("/api/v1/settings/company/logo", &rep).await.status(), 404);
}

struct Po {
    admin: TestUser,
    supplier: Value,
    a: Value,
    po: Value,
}

/// A confirmed purchase order of 10 A at 4.00, with the tolerance set to `tolerance` %.
async fn po_with_tolerance(app: &TestApp, tolerance: &str) -> Po {
    let admin = app.user("admin@example.com", "admin").await;
    let (st, v) = put(
        app,
        &admin,
        "/api/v1/settings/company",
        json!({"legal_name": "Nave Trading Ltd", "receiving_tolerance_percent": tolerance}),
        0,
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let main = created(app, &admin, "/api/v1/warehouses", json!({"name": "Main"})).await;
    let supplier = created(
        app,
        &admin,
        "/api/v1/accounts",
        json!({"name": "Globex Supply", "currency": "USD", "kinds": ["supplier"]}),
    )
    .await;
    let a = created(
        app,
        &admin,
        "/api/v1/products",
        json!({"sku": "A", "name": "Widget A", "list_price": "9.00", "currency": "EUR"}),
    )
    .await;
    let po = created(
        app,
        &admin,
        "/api/v1/purchase-orders",
        json!({"account_id": supplier["id"], "warehouse_id": main["id"],
            "lines": [{"product_id": a["id"], "quantity": "10", "unit_price": "4.00"}]}),
    )
    .await;
    let (st, po) =
        json(app.post(&format!("/api/v1/purchase-orders/{}/confirm", id(&po)), &admin, &json!({})).await).await;
    assert_eq!(st, 200, "{po}");
    Po { admin, supplier, a, po }
}

/// Receives `qty` of the order's line: (status, body of the receive).
async fn receive(app: &TestApp, p: &Po, qty: &str) -> (u16, Value) {
    let body = json!({"account_id": p.supplier["id"], "purchase_order_id": p.po["id"],
        "lines": [{"product_id": p.a["id"], "quantity": qty, "unit_price": "4.00",
            "origin_line_id": p.po["groups"][0]["lines"][0]["id"]}]});
    let rc = created(app, &p.admin, "/api/v1/receipts", body).await;
    json(app.post(&format!("/api/v1/receipts/{}/receive", id(&rc)), &p.admin, &json!({})).await).await
}

/// Bills `qty` of the order's line as a draft: (status, body).
async fn bill(app: &TestApp, p: &Po, qty: &str, number: &str) -> (u16, Value) {
    let body = json!({"account_id": p.supplier["id"], "purchase_order_id": p.po["id"], "reference": number,
        "lines": [{"product_id": p.a["id"], "quantity": qty, "unit_price": "4.00",
            "origin_line_id": p.po["groups"][0]["lines"][0]["id"]}]});
    json(app.post("/api/v1/bills", &p.admin, &body).await).await
}

async fn without_a_tolerance_nothing_more_than_ordered_is_received_or_billed(db: TestDb) {
    let app = TestApp::start(db).await;
    let p = po_with_tolerance(&app, "0").await;
    let (st, v) = receive(&app, &p, "10.0001").await;
    assert_eq!(st, 422, "{v}");
    assert_eq!(v["errors"][0]["field"], "groups[0].lines[0].quantity", "{v}");
    assert!(v["errors"][0]["message"].as_str().unwrap().contains("ordered 10"), "{v}");
    let (st, v) = receive(&app, &p, "10").await;
    assert_eq!(st, 200, "exactly what was ordered: {v}");
    let (st, v) = bill(&app, &p, "10.0001", "B-1").await;
    assert_eq!(st, 422, "{v}");
    assert_eq!(v["errors"][0]["field"], "groups[0].lines[0].quantity", "{v}");
    let (st, v) = bill(&app, &p, "10", "B-1").await;
    assert_eq!(st, 201, "{v}");
}

async fn a_tolerance_allows_up_to_its_share_more_and_refuses_above_naming_the_limit(db: TestDb) {
    let app = TestApp::start(db).await;
    let p = po_with_tolerance(&app, "5").await;
    // 5 % of 10 is 0.5: 10.5 in all may come in, in two receipts.
    let (st, v) = receive(&app, &p, "8").await;
    assert_eq!(st, 200, "{v}");
    let (st, v) = receive(&app, &p, "2.5001").await;
    assert_eq!(st, 422, "just above the limit: {v}");
    assert_eq!(v["errors"][0]["field"], "groups[0].lines[0].quantity", "{v}");
    let msg = v["errors"][0]["message"].as_str().unwrap();
    assert!(msg.contains("5.0 % receiving tolerance") && msg.contains("at most 10.5"), "{msg}");
    let (st, v) = receive(&app, &p, "2.5").await;
    assert_eq!(st, 200, "at the limit: {v}");
    let (_, po) = json(app.get(&format!("/api/v1/purchase-orders/{}", id(&p.po)), &p.admin).await).await;
    assert_eq!(po["groups"][0]["lines"][0]["quantity_received"], "10.5", "{po}");
    assert_eq!(po["status"], "received", "{po}");

    // Billing: up to 10.5 too, and no more.
    let (st, v) = bill(&app, &p, "10.5001", "B-1").await;
    assert_eq!(st, 422, "{v}");
    assert_eq!(v["errors"][0]["field"], "groups[0].lines[0].quantity", "{v}");
    assert!(v["errors"][0]["message"].as_str().unwrap().contains("at most 10.5"), "{v}");
    let (st, v) = bill(&app, &p, "10.5", "B-1").await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["totals"]["total"], "42.00", "10.5 × 4.00: {v}");
    let (st, v) = json(app.post(&format!("/api/v1/bills/{}/issue", id(&v)), &p.admin, &json!({})).await).await;
    assert_eq!(st, 200, "{v}");
    let (_, po) = json(app.get(&format!("/api/v1/purchase-orders/{}", id(&p.po)), &p.admin).await).await;
    assert_eq!(po["status"], "completed", "{po}");
    let mut tx = app.db.db.read().await.unwrap();
    let bad = nave_store::stock::ledger_mismatches(&mut tx, nave_store::tenants::DEFAULT_TENANT).await.unwrap();
    assert!(bad.is_empty(), "{bad:?}");
}

async fn a_purchase_order_prints_the_letterhead_the_supplier_codes_and_the_delivery_address(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let body = json!({"legal_name": "Nave Trading Ltd", "address": "1 Dock Road\nBristol BS1 4XX",
        "tax_id": "VAT GB 123 4567 89", "email": "accounts@nave.example", "phone": "+44 117 000 0000"});
    let (st, v) = put(&app, &admin, "/api/v1/settings/company", body, 0).await;
    assert_eq!(st, 200, "{v}");
    let main = created(
        &app,
        &admin,
        "/api/v1/warehouses",
        json!({"name": "Main", "address": "Unit 4, Harbour Park\nAvonmouth"}),
    )
    .await;
    let supplier = created(
        &app,
        &admin,
        "/api/v1/accounts",
        json!({"name": "Globex Supply", "currency": "USD", "kinds": ["supplier"]}),
    )
    .await;
    let a = created(
        &app,
        &admin,
        "/api/v1/products",
        json!({"sku": "A", "name": "Widget A", "list_price": "9.00", "currency": "USD",
            "suppliers": [{"supplier_id": supplier["id"], "supplier_code": "GX-A", "cost": "4.00"}]}),
    )
    .await;
    let po = created(
        &app,
        &admin,
        "/api/v1/purchase-orders",
        json!({"account_id": supplier["id"], "warehouse_id": main["id"], "lines": [{"product_id": a["id"], "quantity": "3"}]}),
    )
    .await;
    assert!(pdf_len(&app, &admin, &format!("/api/v1/purchase-orders/{}/pdf", id(&po))).await > 0);

    // What the PDF is laid out from.
    let mut tx = app.db.db.read().await.unwrap();
    let t = nave_store::tenants::DEFAULT_TENANT;
    let doc =
        nave_store::documents::get(&mut tx, t, nave_domain::document::DocType::PurchaseOrder, id(&po).parse().unwrap())
            .await
            .unwrap()
            .unwrap();
    let pdf = nave_web::pdf::document_pdf(&mut tx, t, &doc).await.unwrap();
    assert_eq!(pdf.title, "Purchase order");
    assert_eq!(pdf.company.name, "Nave Trading Ltd");
    assert_eq!(pdf.company.lines, ["1 Dock Road", "Bristol BS1 4XX", "accounts@nave.example · +44 117 000 0000"]);
    assert_eq!(pdf.company.tax_id.as_deref(), Some("VAT GB 123 4567 89"));
    assert_eq!((pdf.customer.name.as_str(), pdf.customer_heading.as_str()), ("Globex Supply", "Supplier"));
    let to = pdf.ship_to.expect("a delivery address");
    assert_eq!(pdf.ship_to_heading, "Deliver to");
    assert_eq!(to.lines, ["Unit 4, Harbour Park", "Avonmouth"]);
    assert_eq!(pdf.code_heading, "Supplier code");
    let line = &pdf.groups[0].lines[0];
    assert_eq!(
        (line.sku.as_deref(), line.code.as_deref(), line.unit_price.as_str()),
        (Some("A"), Some("GX-A"), "4.00")
    );
}

both_backends!(
    a_purchase_order_prints_the_letterhead_the_supplier_codes_and_the_delivery_address,
    settings_are_read_by_all_and_written_by_the_admin,
    without_a_tolerance_nothing_more_than_ordered_is_received_or_billed,
    a_tolerance_allows_up_to_its_share_more_and_refuses_above_naming_the_limit
);
