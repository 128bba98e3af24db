//! Invoices and payments by external id, and the CSV exports of every main
//! record type (API lists with `format=csv` or `Accept: text/csv`, and the
//! list pages' "Export CSV" links), over real HTTP on both databases. The
//! import side (`nave import`) is tested with the binary in
//! `crates/nave/tests/import_export.rs`.

mod support;

use reqwest::Method;
use serde_json::{Value, json};
use support::{TestApp, TestUser, act, created, get_ok, id_of, json, page, session};

use nave_testkit::{TestDb, both_backends};

async fn put(app: &TestApp, who: &TestUser, path: &str, body: Value) -> (u16, Value) {
    json(app.req(Method::PUT, path, who).json(&body).send().await.unwrap()).await
}

async fn csv(app: &TestApp, who: &TestUser, path: &str, accept: Option<&str>) -> (u16, String, String) {
    let mut r = app.req(Method::GET, path, who);
    if let Some(a) = accept {
        r = r.header("accept", a);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, ct, r.text().await.unwrap())
}

fn rows(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

async fn invoices_and_payments_upsert_by_external_id(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let acme = created(&app, &admin, "/api/v1/accounts", json!({"name": "Acme", "currency": "EUR"})).await;
    let body = json!({"account_id": acme["id"], "reference": "PO-7",
        "lines": [{"description": "Setup", "quantity": "1", "unit_price": "250.00"}]});
    let (s, inv) = put(&app, &admin, "/api/v1/invoices/by-external-id/acct/INV-1", body.clone()).await;
    assert_eq!(s, 201, "{inv}");
    assert_eq!(inv["external_ids"], json!([{"system": "acct", "id": "INV-1"}]));
    assert_eq!(inv["status"], "draft");
    let mut changed = body.clone();
    changed["lines"][0]["unit_price"] = json!("300.00");
    let (s, again) = put(&app, &admin, "/api/v1/invoices/by-external-id/acct/INV-1", changed).await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(again["id"], inv["id"], "updated, not duplicated");
    assert_eq!(again["totals"]["total"], "300.00");
    let found = get_ok(&app, &admin, "/api/v1/invoices/by-external-id/ACCT/INV-1").await;
    assert_eq!(found["id"], inv["id"]);
    let listed = get_ok(&app, &admin, "/api/v1/invoices").await;
    assert_eq!(listed["data"][0]["external_ids"][0]["id"], "INV-1", "lists show external ids");

    let (s, issued) = act(&app, &admin, &format!("/api/v1/invoices/{}/issue", id_of(&inv))).await;
    assert_eq!(s, 200, "{issued}");
    let (s, refused) = put(&app, &admin, "/api/v1/invoices/by-external-id/acct/INV-1", body.clone()).await;
    assert_eq!(s, 409, "an issued invoice is immutable: {refused}");
    assert!(refused["detail"].as_str().unwrap().contains("credit note"), "{refused}");

    // A payment: created with its allocation, found again by its id, never changed.
    let pay = json!({"account_id": acme["id"], "amount": "100.00", "method": "bank_transfer",
        "allocations": [{"invoice_id": inv["id"], "amount": "100.00"}]});
    let (s, p) = put(&app, &admin, "/api/v1/payments/by-external-id/bank/TX-1", pay.clone()).await;
    assert_eq!(s, 201, "{p}");
    assert_eq!(p["external_ids"][0]["system"], "bank");
    let (s, p2) = put(&app, &admin, "/api/v1/payments/by-external-id/bank/TX-1", pay.clone()).await;
    assert_eq!((s, &p2["id"], &p2["allocated"]), (200, &p["id"], &json!("100.00")), "{p2}");
    let mut more = pay.clone();
    more["amount"] = json!("150.00");
    let (s, v) = put(&app, &admin, "/api/v1/payments/by-external-id/bank/TX-1", more).await;
    assert_eq!(s, 409, "{v}");
    let payments = get_ok(&app, &admin, "/api/v1/payments").await;
    assert_eq!(payments["data"].as_array().unwrap().len(), 1);
    let got = get_ok(&app, &admin, "/api/v1/payments/by-external-id/bank/TX-1").await;
    assert_eq!(got["allocations"][0]["invoice_id"], inv["id"]);
    let (s, _) = json(app.get("/api/v1/payments/by-external-id/bank/TX-404", &admin).await).await;
    assert_eq!(s, 404);
}

async fn every_main_record_type_exports_csv_within_scope(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let rep = app.user("rep@example.com", "sales_rep").await;
    let vat = created(&app, &admin, "/api/v1/taxes", json!({"name": "VAT 20", "rate": "20"})).await;
    let cat =
        created(&app, &admin, "/api/v1/tax-categories", json!({"name": "Standard", "tax_ids": [vat["id"]]})).await;
    created(
        &app,
        &admin,
        "/api/v1/products",
        json!({"sku": "DR-1", "name": "Drill", "list_price": "120.00",
        "currency": "EUR", "cost": "70.00", "tax_category_id": cat["id"]}),
    )
    .await;
    let theirs = created(
        &app,
        &admin,
        "/api/v1/accounts",
        json!({"name": "Admin Co", "currency": "EUR",
        "external_ids": [{"system": "erp", "id": "C-1"}]}),
    )
    .await;
    let mine = created(&app, &rep, "/api/v1/accounts", json!({"name": "Rep Co", "currency": "EUR"})).await;
    created(
        &app,
        &admin,
        "/api/v1/contacts",
        json!({"account_id": theirs["id"], "first_name": "Ann", "last_name": "Lee"}),
    )
    .await;
    let inv = created(&app, &admin, "/api/v1/invoices", json!({"account_id": theirs["id"],
        "external_ids": [{"system": "acct", "id": "INV-9"}],
        "groups": [{"name": "Tools", "discount_percent": "10", "lines": [
            {"description": "Drill", "quantity": "2", "unit_price": "120.00", "tax_ids": [vat["id"]]},
            {"description": "Note", "kind": "comment"}]},
            {"name": "", "lines": [{"description": "Delivery", "kind": "shipping", "unit_price": "10.00", "tax_ids": []}]}]}))
    .await;
    act(&app, &admin, &format!("/api/v1/invoices/{}/issue", id_of(&inv))).await;
    created(
        &app,
        &admin,
        "/api/v1/invoices",
        json!({"account_id": mine["id"],
        "lines": [{"description": "Mine", "quantity": "1", "unit_price": "5.00"}]}),
    )
    .await;
    created(
        &app,
        &admin,
        "/api/v1/payments",
        json!({"account_id": theirs["id"], "amount": "50.00",
        "method": "card", "external_ids": [{"system": "bank", "id": "TX-5"}],
        "allocations": [{"invoice_id": inv["id"], "amount": "50.00"}]}),
    )
    .await;

    let (s, ct, text) = csv(&app, &admin, "/api/v1/invoices?format=csv", None).await;
    assert_eq!(s, 200, "{text}");
    assert!(ct.starts_with("text/csv"), "{ct}");
    let r = rows(&text);
    assert_eq!(r[0], nave_web::csv_export::INVOICE_COLUMNS);
    let inv_rows: Vec<&Vec<String>> = r.iter().filter(|row| row[0] == "acct:INV-9").collect();
    assert_eq!(inv_rows.len(), 3, "one row per line: {text}");
    assert_eq!(inv_rows[0][2], "erp:C-1", "the account by its external id");
    assert_eq!(inv_rows[0][10], "Tools");
    assert_eq!(inv_rows[2][19], "none", "a line without tax says so");
    assert_eq!(inv_rows[0][20], inv["totals"]["total"].as_str().unwrap_or_default().to_string().replace('"', ""));
    let (s, _, by_accept) = csv(&app, &admin, "/api/v1/invoices", Some("text/csv")).await;
    assert_eq!((s, by_accept.lines().next()), (200, text.lines().next()));

    let (_, _, pays) = csv(&app, &admin, "/api/v1/payments", Some("text/csv")).await;
    let r = rows(&pays);
    assert_eq!(r[0], nave_web::csv_export::PAYMENT_COLUMNS);
    assert_eq!((r[1][0].as_str(), r[1][8].as_str(), r[1][9].as_str()), ("bank:TX-5", "acct:INV-9", "50.00"));

    for path in ["/api/v1/accounts", "/api/v1/contacts", "/api/v1/products"] {
        let (s, ct, _) = csv(&app, &admin, path, Some("text/csv")).await;
        assert!(s == 200 && ct.starts_with("text/csv"), "{path}: {s} {ct}");
    }
    let (s, _, _) = csv(&app, &admin, "/api/v1/quotes?format=csv", None).await;
    assert_eq!(s, 422, "quotes have no CSV export");

    // The rep's exports hold their own records only; cost is not a column for them.
    let (_, _, rep_invoices) = csv(&app, &rep, "/api/v1/invoices?format=csv", None).await;
    assert_eq!(rows(&rep_invoices).len(), 2, "the header and the rep's one line: {rep_invoices}");
    let cookie = session(&app, "rep@example.com").await;
    for (path, columns) in [
        ("/invoices/export.csv", nave_web::csv_export::INVOICE_COLUMNS.len()),
        ("/payments/export.csv", nave_web::csv_export::PAYMENT_COLUMNS.len()),
        ("/contacts/export.csv", nave_store::contacts::CSV_COLUMNS.len()),
    ] {
        let (s, body) = page(&app, &cookie, path).await;
        assert_eq!(s, 200, "{path}: {body}");
        let r = rows(&body);
        assert_eq!(r[0].len(), columns, "{path}");
        assert!(r.len() <= 2, "{path}: only the rep's records: {body}");
    }
    let (_, products) = page(&app, &cookie, "/products/export.csv").await;
    assert!(!products.lines().next().unwrap().contains("cost"), "{products}");
    let admin_cookie = session(&app, "admin@example.com").await;
    for list in ["/invoices", "/payments", "/products", "/accounts"] {
        let (_, html) = page(&app, &admin_cookie, list).await;
        assert!(html.contains(&format!("action=\"/exports{list}\"")), "{list} has its export button: {html}");
    }
}

both_backends!(invoices_and_payments_upsert_by_external_id, every_main_record_type_exports_csv_within_scope);
