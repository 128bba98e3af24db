//! Quotes, orders, invoices and credit notes over the API, on both databases:
//! pricing through the one engine, drafts, quote lifecycle and revisions.

mod support;

use nave_testkit::{TestDb, both_backends};
use serde_json::{Value, json};
use support::{TestApp, TestUser, json};

struct Setup {
    mgr: TestUser,
    account: Value,
    a: Value,
    b: Value,
    vat: Value,
}

async fn setup(app: &TestApp) -> Setup {
    let mgr = app.user("mgr@example.com", "admin").await;
    let (_, vat) = json(app.post("/api/v1/taxes", &mgr, &json!({"name": "VAT 10 %", "rate": "10"})).await).await;
    let (_, cat) =
        json(app.post("/api/v1/tax-categories", &mgr, &json!({"name": "Standard", "tax_ids": [vat["id"]]})).await)
            .await;
    let (_, a) = json(
        app.post(
            "/api/v1/products",
            &mgr,
            &json!({"sku": "A", "name": "Widget A", "list_price": "12.50", "currency": "EUR", "tax_category_id": cat["id"]}),
        )
        .await,
    )
    .await;
    let (_, b) = json(
        app.post(
            "/api/v1/products",
            &mgr,
            &json!({"sku": "B", "name": "Widget B", "list_price": "7.99", "currency": "EUR", "tax_category_id": cat["id"]}),
        )
        .await,
    )
    .await;
    let (s, account) =
        json(app.post("/api/v1/accounts", &mgr, &json!({"name": "Acme Ltd", "currency": "EUR"})).await).await;
    assert_eq!(s, 201, "{account}");
    Setup { mgr, account, a, b, vat }
}

fn lines(s: &Setup) -> Value {
    json!([{"product_id": s.a["id"], "quantity": "3"}, {"product_id": s.b["id"], "quantity": "2"}])
}

async fn a_quote_is_priced_by_the_engine_with_product_defaults(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let (status, q) =
        json(app.post("/api/v1/quotes", &s.mgr, &json!({"account_id": s.account["id"], "lines": lines(&s)})).await)
            .await;
    assert_eq!(status, 201, "{q}");
    assert_eq!(q["status"], "draft");
    assert_eq!(q["currency"], "EUR");
    assert!(q["number"].as_str().unwrap().starts_with("QUO-"), "{q}");
    assert_eq!(q["totals"]["net"], "53.48");
    assert_eq!(q["totals"]["tax"], "5.35");
    assert_eq!(q["totals"]["total"], "58.83");
    assert_eq!(q["totals"]["taxes"][0]["tax_id"], s.vat["id"]);
    assert_eq!(q["totals"]["taxes"][0]["base"], "53.48");
    let l0 = &q["groups"][0]["lines"][0];
    assert_eq!(l0["description"], "Widget A");
    assert_eq!(l0["unit_price"], "12.50");
    assert_eq!(l0["net"], "37.50");
    assert_eq!(l0["tax_ids"][0], s.vat["id"]);
    // Stored totals read back the same.
    let (_, again) = json(app.get(&format!("/api/v1/quotes/{}", q["id"].as_str().unwrap()), &s.mgr).await).await;
    assert_eq!(again["totals"], q["totals"]);
    let (_, list) = json(app.get("/api/v1/quotes?q=acme", &s.mgr).await).await;
    assert_eq!(list["data"][0]["totals"]["total"], "58.83");
    // The PDF is laid out from the same stored document.
    let r = app.get(&format!("/api/v1/quotes/{}/pdf", q["id"].as_str().unwrap()), &s.mgr).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
}

async fn line_level_rounding_and_a_bad_line_are_handled(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let three = json!([
        {"description": "x", "quantity": "1", "unit_price": "0.15", "tax_ids": [s.vat["id"]]},
        {"description": "y", "quantity": "1", "unit_price": "0.15", "tax_ids": [s.vat["id"]]},
        {"description": "z", "quantity": "1", "unit_price": "0.15", "tax_ids": [s.vat["id"]]}
    ]);
    let (_, d) =
        json(app.post("/api/v1/invoices", &s.mgr, &json!({"account_id": s.account["id"], "lines": three})).await).await;
    assert_eq!(d["totals"]["tax"], "0.05", "{d}");
    assert!(d["number"].is_null(), "a draft invoice has no number");
    let (_, l) = json(
        app.post(
            "/api/v1/invoices",
            &s.mgr,
            &json!({"account_id": s.account["id"], "tax_rounding": "line", "lines": three}),
        )
        .await,
    )
    .await;
    assert_eq!(l["totals"]["tax"], "0.06", "{l}");
    let bad = json!({"account_id": s.account["id"], "lines": [{"product_id": s.a["id"], "quantity": "-1"}]});
    let (status, p) = json(app.post("/api/v1/quotes", &s.mgr, &bad).await).await;
    assert_eq!(status, 422, "{p}");
    assert!(p.to_string().contains("groups[0].lines[0].quantity"), "{p}");
}

async fn a_quote_is_sent_revised_and_keeps_its_earlier_revision(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let (_, q) =
        json(app.post("/api/v1/quotes", &s.mgr, &json!({"account_id": s.account["id"], "lines": lines(&s)})).await)
            .await;
    let id = q["id"].as_str().unwrap();
    let (status, sent) = json(app.post(&format!("/api/v1/quotes/{id}/send"), &s.mgr, &json!({})).await).await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["status"], "sent");
    // Sent quotes are not edited in place.
    let r = app
        .req(reqwest::Method::PATCH, &format!("/api/v1/quotes/{id}"), &s.mgr)
        .json(&json!({"notes": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let (status, rev) = json(app.post(&format!("/api/v1/quotes/{id}/revise"), &s.mgr, &json!({})).await).await;
    assert_eq!(status, 200, "{rev}");
    assert_eq!(rev["status"], "draft");
    assert_eq!(rev["revision"], 2);
    let r = app
        .req(reqwest::Method::PATCH, &format!("/api/v1/quotes/{id}"), &s.mgr)
        .json(&json!({"lines": [{"product_id": s.a["id"], "quantity": "1"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, now) = json(r).await;
    assert_eq!(now["totals"]["total"], "13.75");
    let (status, old) = json(app.get(&format!("/api/v1/quotes/{id}/revisions/1"), &s.mgr).await).await;
    assert_eq!(status, 200, "{old}");
    assert_eq!(old["totals"]["total"], "58.83");
    // A refused action names the status and the allowed ones.
    let (status, p) = json(app.post(&format!("/api/v1/quotes/{id}/convert"), &s.mgr, &json!({})).await).await;
    assert_eq!(status, 409, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("allowed actions: send, accept, reject"), "{p}");
}

async fn the_overview_shows_open_documents_sales_receivables_and_exposure(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let acc = s.account["id"].as_str().unwrap();
    let r = app
        .req(reqwest::Method::PATCH, &format!("/api/v1/accounts/{acc}"), &s.mgr)
        .json(&json!({"credit_limit": "1000.00"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, inv) =
        json(app.post("/api/v1/invoices", &s.mgr, &json!({"account_id": acc, "lines": lines(&s)})).await).await;
    let (status, issued) =
        json(app.post(&format!("/api/v1/invoices/{}/issue", inv["id"].as_str().unwrap()), &s.mgr, &json!({})).await)
            .await;
    assert_eq!(status, 200, "{issued}");
    app.post("/api/v1/quotes", &s.mgr, &json!({"account_id": acc, "lines": lines(&s)})).await;
    let (status, o) = json(app.get(&format!("/api/v1/accounts/{acc}/overview"), &s.mgr).await).await;
    assert_eq!(status, 200, "{o}");
    assert_eq!(o["open_invoices"][0]["balance"], "58.83");
    assert_eq!(o["open_quotes"].as_array().unwrap().len(), 1);
    assert_eq!(o["sales"][0]["net"], "53.48", "{o}");
    assert_eq!(o["receivables"][0]["open"], "58.83");
    assert_eq!(o["credit"]["exposure"], "58.83");
    assert_eq!(o["credit"]["limit"], "1000.00");
    assert_eq!(o["credit"]["available"], "941.17");
    // Without the credit-limit permission the limit is absent, not blank.
    let rep = app.user("rep@example.com", "read_only").await;
    let (_, o) = json(app.get(&format!("/api/v1/accounts/{acc}/overview"), &rep).await).await;
    assert_eq!(o["credit"]["exposure"], "58.83", "{o}");
    assert!(o["credit"].get("limit").is_none(), "{o}");
}

both_backends!(
    the_overview_shows_open_documents_sales_receivables_and_exposure,
    a_quote_is_priced_by_the_engine_with_product_defaults,
    line_level_rounding_and_a_bad_line_are_handled,
    a_quote_is_sent_revised_and_keeps_its_earlier_revision,
);
