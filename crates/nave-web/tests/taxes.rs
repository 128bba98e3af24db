//! Taxes and tax categories over the API and the page, on both databases.

mod support;

use nave_testkit::{TestDb, both_backends};
use reqwest::Method;
use serde_json::json;
use support::{PASSWORD, TestApp, cookie_pair, json};

async fn accounting_defines_rates_and_categories(db: TestDb) {
    let app = TestApp::start(db).await;
    let acc = app.user("acc@example.com", "accounting").await;
    let rep = app.user("rep@example.com", "sales_rep").await;
    let body = json!({"name": "VAT 20 %", "rate": "20"});
    assert_eq!(app.post("/api/v1/taxes", &rep, &body).await.status(), 403);
    let (status, vat) = json(app.post("/api/v1/taxes", &acc, &body).await).await;
    assert_eq!(status, 201, "{vat}");
    assert_eq!(vat["rate"], "20");
    let (status, ny) = json(
        app.post("/api/v1/taxes", &acc, &json!({"name": "NY sales tax", "rate": "8.875", "valid_from": "2026-01-01"}))
            .await,
    )
    .await;
    assert_eq!(status, 201, "{ny}");
    assert_eq!(ny["rate"], "8.875");
    assert_eq!(ny["valid_from"], "2026-01-01");
    for (bad, field) in [
        (json!({"name": "A", "rate": 20}), "rate"),
        (json!({"name": "B", "rate": "20.12345"}), "rate"),
        (json!({"name": "C", "rate": "101"}), "rate"),
        (json!({"name": "D", "rate": "5", "valid_from": "2026-02-01", "valid_to": "2026-01-01"}), "valid_to"),
        (json!({"name": "E", "rate": "5", "valid_from": "01/02/2026"}), "valid_from"),
        (json!({"name": " ", "rate": "5"}), "name"),
    ] {
        let (status, p) = json(app.post("/api/v1/taxes", &acc, &bad).await).await;
        assert_eq!(status, 422, "{bad} → {p}");
        assert_eq!(p["errors"][0]["field"], field, "{bad} → {p}");
    }
    assert_eq!(app.post("/api/v1/taxes", &acc, &json!({"name": "vat 20 %", "rate": "19"})).await.status(), 409);

    let (status, cat) = json(
        app.post("/api/v1/tax-categories", &acc, &json!({"name": "Standard goods", "tax_ids": [vat["id"], ny["id"]]}))
            .await,
    )
    .await;
    assert_eq!(status, 201, "{cat}");
    assert_eq!(cat["tax_ids"], json!([vat["id"], ny["id"]]));
    let (status, p) = json(
        app.post("/api/v1/tax-categories", &acc, &json!({"name": "Twice", "tax_ids": [vat["id"], vat["id"]]})).await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "tax_ids[1]");
    let (status, _) = json(
        app.post(
            "/api/v1/tax-categories",
            &acc,
            &json!({"name": "Ghost", "tax_ids": ["01a209b3-6682-76e2-a05a-79ba0311227c"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);

    // A tax in use cannot be deleted; the message names the category.
    let vat_path = format!("/api/v1/taxes/{}", vat["id"].as_str().unwrap());
    let (status, p) = json(app.req(Method::DELETE, &vat_path, &acc).send().await.unwrap()).await;
    assert_eq!(status, 409);
    assert!(p["detail"].as_str().unwrap().contains("Standard goods"), "{p}");
    // Change the category to the one rate; then the other tax can go.
    let cat_path = format!("/api/v1/tax-categories/{}", cat["id"].as_str().unwrap());
    let (status, cat2) = json(
        app.req(Method::PATCH, &cat_path, &acc)
            .header("if-match", "1")
            .json(&json!({"tax_ids": [vat["id"]]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{cat2}");
    assert_eq!(cat2["tax_ids"], json!([vat["id"]]));
    let ny_path = format!("/api/v1/taxes/{}", ny["id"].as_str().unwrap());
    assert_eq!(app.req(Method::DELETE, &ny_path, &acc).send().await.unwrap().status(), 204);
    // Ending a rate keeps its history: valid_to set, then cleared with null.
    let (_, ended) =
        json(app.req(Method::PATCH, &vat_path, &acc).json(&json!({"valid_to": "2026-12-31"})).send().await.unwrap())
            .await;
    assert_eq!(ended["valid_to"], "2026-12-31");
    let (_, open) =
        json(app.req(Method::PATCH, &vat_path, &acc).json(&json!({"valid_to": null})).send().await.unwrap()).await;
    assert!(open["valid_to"].is_null());
    // Everyone reads them, on the API and the page.
    let (status, list) = json(app.get("/api/v1/tax-categories", &rep).await).await;
    assert_eq!(status, 200);
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let set =
        app.login("rep@example.com", PASSWORD).await.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    let html = app
        .client
        .get(app.url("/taxes"))
        .header("cookie", cookie_pair(&set))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("VAT 20 %") && html.contains("Standard goods"));
}

async fn the_accounts_tax_treatment_decides_which_rates_apply(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let (_, vat) = json(app.post("/api/v1/taxes", &admin, &json!({"name": "VAT 20 %", "rate": "20"})).await).await;
    let (_, old) = json(
        app.post("/api/v1/taxes", &admin, &json!({"name": "Old levy", "rate": "1", "valid_to": "2025-12-31"})).await,
    )
    .await;
    let (_, cat) = json(
        app.post("/api/v1/tax-categories", &admin, &json!({"name": "Standard", "tax_ids": [vat["id"], old["id"]]}))
            .await,
    )
    .await;
    let (_, product) = json(
        app.post("/api/v1/products", &admin, &json!({"sku": "P", "name": "P", "tax_category_id": cat["id"]})).await,
    )
    .await;
    let path = |acc: &serde_json::Value, date: &str| {
        format!(
            "/api/v1/products/{}/taxes?account_id={}&date={date}",
            product["id"].as_str().unwrap(),
            acc["id"].as_str().unwrap()
        )
    };
    let (_, std) = json(app.post("/api/v1/accounts", &admin, &json!({"name": "Std"})).await).await;
    assert_eq!(std["tax_treatment"], "standard");
    let (_, eu) =
        json(app.post("/api/v1/accounts", &admin, &json!({"name": "EU B2B", "tax_treatment": "reverse_charge"})).await)
            .await;
    let (_, charity) =
        json(app.post("/api/v1/accounts", &admin, &json!({"name": "Charity", "tax_treatment": "exempt"})).await).await;
    let (status, v) = json(app.get(&path(&std, "2026-03-01"), &admin).await).await;
    assert_eq!(status, 200, "{v}");
    let names: Vec<&str> = v["taxes"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["VAT 20 %"], "the ended levy no longer applies");
    let (_, v) = json(app.get(&path(&std, "2025-06-01"), &admin).await).await;
    assert_eq!(v["taxes"].as_array().unwrap().len(), 2, "both applied in 2025");
    let (_, v) = json(app.get(&path(&eu, "2026-03-01"), &admin).await).await;
    assert_eq!(v["taxes"], json!([]));
    assert!(v["mention"].as_str().unwrap().contains("Reverse charge"));
    let (_, v) = json(app.get(&path(&charity, "2026-03-01"), &admin).await).await;
    assert_eq!(v["taxes"], json!([]));
    assert_eq!(v["tax_treatment"], "exempt");
    let (status, p) =
        json(app.post("/api/v1/accounts", &admin, &json!({"name": "X", "tax_treatment": "offshore"})).await).await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "tax_treatment");
    let (status, changed) = json(
        app.req(Method::PATCH, &format!("/api/v1/accounts/{}", std["id"].as_str().unwrap()), &admin)
            .json(&json!({"tax_treatment": "exempt"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(changed["tax_treatment"], "exempt");
}

both_backends!(accounting_defines_rates_and_categories, the_accounts_tax_treatment_decides_which_rates_apply);
