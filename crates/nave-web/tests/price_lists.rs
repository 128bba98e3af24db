//! Price lists and price resolution over the API, on both databases.

mod support;

use nave_testkit::{TestDb, both_backends};
use reqwest::Method;
use serde_json::json;
use support::{TestApp, json};

async fn an_accounts_price_list_sets_its_prices_with_quantity_breaks(db: TestDb) {
    let app = TestApp::start(db).await;
    let mgr = app.user("mgr@example.com", "sales_manager").await;
    let (_, drill) =
        json(app.post("/api/v1/products", &mgr, &json!({"sku": "DR", "name": "Drill", "list_price": "120.00"})).await)
            .await;
    let (_, acme) = json(app.post("/api/v1/accounts", &mgr, &json!({"name": "Acme"})).await).await;
    let (_, other) = json(app.post("/api/v1/accounts", &mgr, &json!({"name": "Other"})).await).await;
    let body = json!({
        "name": "Wholesale 2026", "currency": "USD", "valid_from": "2026-01-01", "valid_to": "2026-12-31",
        "items": [{"product_id": drill["id"], "price": "100"}, {"product_id": drill["id"], "min_quantity": "10", "price": "90"}],
        "account_ids": [acme["id"]]
    });
    let (status, list) = json(app.post("/api/v1/price-lists", &mgr, &body).await).await;
    assert_eq!(status, 201, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    assert_eq!(list["account_ids"], json!([acme["id"]]));
    let price = |account: &serde_json::Value, qty: &str, date: &str| {
        format!(
            "/api/v1/products/{}/price?account_id={}&quantity={qty}&date={date}",
            drill["id"].as_str().unwrap(),
            account["id"].as_str().unwrap()
        )
    };
    let (status, p) = json(app.get(&price(&acme, "12", "2026-03-01"), &mgr).await).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(
        p,
        json!({"unit_price": "90.00", "currency": "USD", "source": "price_list", "explanation": "price list Wholesale 2026, break ≥ 10"})
    );
    let (_, p) = json(app.get(&price(&acme, "3", "2026-03-01"), &mgr).await).await;
    assert_eq!(p["unit_price"], "100.00");
    let (_, p) = json(app.get(&price(&acme, "12", "2027-01-05"), &mgr).await).await;
    assert_eq!(p["source"], "list_price", "outside the window: {p}");
    assert_eq!(p["unit_price"], "120.00");
    let (_, p) = json(app.get(&price(&other, "12", "2026-03-01"), &mgr).await).await;
    assert_eq!(p["source"], "list_price");

    // A rep may not quote another rep's account, and bad input names its field.
    let rep = app.user("rep@example.com", "sales_rep").await;
    let (status, p) = json(app.get(&price(&acme, "1", "2026-03-01"), &rep).await).await;
    assert_eq!(status, 422, "{p}");
    assert_eq!(p["errors"][0]["field"], "account_id");
    for (q, field) in [("quantity=0", "quantity"), ("quantity=abc", "quantity"), ("date=31/12/2026", "date")] {
        let (status, p) =
            json(app.get(&format!("/api/v1/products/{}/price?{q}", drill["id"].as_str().unwrap()), &mgr).await).await;
        assert_eq!(status, 422, "{q}: {p}");
        assert_eq!(p["errors"][0]["field"], field);
    }
    let dup = json!({"name": "Dup", "items": [{"product_id": drill["id"], "price": "1"}, {"product_id": drill["id"], "price": "2"}]});
    let (status, p) = json(app.post("/api/v1/price-lists", &mgr, &dup).await).await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "items[1].min_quantity");
    let (status, p) = json(
        app.post(
            "/api/v1/price-lists",
            &mgr,
            &json!({"name": "Bad", "items": [{"product_id": drill["id"], "price": "1.23456"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "items[0].price");
    assert_eq!(app.post("/api/v1/price-lists", &rep, &json!({"name": "Mine"})).await.status(), 403);

    // Assigning the other account to a second list moves it there; deleting a list frees its accounts.
    let (_, promo) = json(app.post("/api/v1/price-lists", &mgr, &json!({"name": "Promo", "items": [{"product_id": drill["id"], "price": "80"}], "account_ids": [acme["id"]]})).await).await;
    let (_, first) = json(app.get(&format!("/api/v1/price-lists/{}", list["id"].as_str().unwrap()), &mgr).await).await;
    assert_eq!(first["account_ids"], json!([]), "an account buys at one list");
    let (_, p) = json(app.get(&price(&acme, "1", "2026-03-01"), &mgr).await).await;
    assert_eq!(p["explanation"], "price list Promo");
    let r = app
        .req(Method::DELETE, &format!("/api/v1/price-lists/{}", promo["id"].as_str().unwrap()), &mgr)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (_, p) = json(app.get(&price(&acme, "1", "2026-03-01"), &mgr).await).await;
    assert_eq!(p["source"], "list_price");
}

both_backends!(an_accounts_price_list_sets_its_prices_with_quantity_breaks);
