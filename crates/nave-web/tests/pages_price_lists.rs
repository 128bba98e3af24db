//! The price list pages over real HTTP, on both databases: the list, one
//! list with its price check, and the form with its price rows (success,
//! refusals that store nothing, a stale version), and permissions.

mod support;

use nave_testkit::{TestDb, both_backends};
use serde_json::{Value, json};
use support::{Form, TestApp, TestUser, json, location};

async fn drill(app: &TestApp, mgr: &TestUser) -> Value {
    let body = json!({"sku": "DR-1", "name": "Cordless drill", "list_price": "120.00"});
    json(app.post("/api/v1/products", mgr, &body).await).await.1
}

async fn lists(app: &TestApp, who: &TestUser) -> Vec<Value> {
    json(app.get("/api/v1/price-lists", who).await).await.1["data"].as_array().unwrap().clone()
}

async fn price_lists_are_listed_shown_and_price_checked(db: TestDb) {
    let app = TestApp::start(db).await;
    let mgr = app.user("mgr@example.com", "sales_manager").await;
    let drill = drill(&app, &mgr).await;
    let (_, acme) = json(app.post("/api/v1/accounts", &mgr, &json!({"name": "Acme"})).await).await;
    let body = json!({
        "name": "Wholesale 2026", "currency": "USD", "valid_from": "2026-01-01", "valid_to": "2026-12-31",
        "items": [{"product_id": drill["id"], "price": "100"}, {"product_id": drill["id"], "min_quantity": "10", "price": "90"}],
        "account_ids": [acme["id"]]
    });
    let (status, list) = json(app.post("/api/v1/price-lists", &mgr, &body).await).await;
    assert_eq!(status, 201, "{list}");
    let path = format!("/price-lists/{}", list["id"].as_str().unwrap());

    app.user("rep@example.com", "sales_rep").await;
    let rep = app.session("rep@example.com").await;
    let (status, html) = app.page("/price-lists", &rep).await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("href=\"{path}\">Wholesale 2026</a>")), "{html}");
    assert!(
        html.contains("2026-01-01 to 2026-12-31") && html.contains("<td class=\"num\">1</td>"),
        "validity, 1 account"
    );
    assert!(html.contains("href=\"/price-lists\" aria-current=\"page\""), "the nav marks Price lists");
    assert!(!html.contains("New price list"), "a rep may not create lists");

    let (status, html) = app.page(&path, &rep).await;
    assert_eq!(status, 200);
    assert!(html.contains("DR-1") && html.contains("Cordless drill"));
    assert!(html.contains("100.00") && html.contains("90.00") && html.contains("<td class=\"num\">10</td>"));
    assert!(!html.contains("Edit price list"));
    // The price check resolves as the API does, at this list.
    let (_, html) = app.page(&format!("{path}?sku=dr-1&quantity=12&date=2026-03-01"), &rep).await;
    assert!(html.contains("90.00 USD") && html.contains("price list Wholesale 2026, break ≥ 10"), "{html}");
    let (_, html) = app.page(&format!("{path}?sku=DR-1&quantity=3&date=2026-03-01"), &rep).await;
    assert!(html.contains("100.00 USD") && html.contains("price list Wholesale 2026 on 2026-03-01"));
    let (_, html) = app.page(&format!("{path}?sku=DR-1&quantity=12&date=2027-01-05"), &rep).await;
    assert!(html.contains("120.00 USD") && html.contains("list price"), "outside the window");
    for (q, message) in [
        ("sku=DR-1&quantity=abc", "The quantity must be a decimal number"),
        ("sku=DR-1&quantity=0", "The quantity must be above 0"),
        ("sku=DR-1&date=31/12/2026", "is not a date"),
        ("sku=NOPE", "No product has the SKU"),
    ] {
        let (status, html) = app.page(&format!("{path}?{q}"), &rep).await;
        assert_eq!(status, 200, "{q}");
        assert!(html.contains(message) && html.contains("role=\"alert\""), "{q}: {html}");
    }
    assert_eq!(app.page("/price-lists/nope", &rep).await.0, 404);
    let mgr_cookie = app.session("mgr@example.com").await;
    let (_, html) = app.page(&path, &mgr_cookie).await;
    assert!(html.contains(&format!("href=\"{path}/edit\"")));
}

async fn the_price_list_form_creates_and_edits_lists_with_price_rows(db: TestDb) {
    let app = TestApp::start(db).await;
    let mgr = app.user("mgr@example.com", "sales_manager").await;
    drill(&app, &mgr).await;
    let cookie = app.session("mgr@example.com").await;

    let (status, html) = app.page("/price-lists/new", &cookie).await;
    assert_eq!(status, 200);
    assert!(html.contains("value=\"USD\""), "the company currency by default");
    assert!(html.contains("name=\"items[4].price\"") && html.contains("for=\"items-0-sku\""), "empty rows to fill");

    let r = app
        .submit(
            "/price-lists",
            &cookie,
            &[
                ("name", "Retail"),
                ("currency", "usd"),
                ("active", "true"),
                ("items[0].sku", "DR-1"),
                ("items[0].min_quantity", ""),
                ("items[0].price", "99.5"),
                ("items[1].sku", ""),
                ("items[1].min_quantity", ""),
                ("items[1].price", ""),
                ("items[2].sku", "dr-1"),
                ("items[2].min_quantity", "5"),
                ("items[2].price", "90"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let path = location(&r);
    assert!(path.starts_with("/price-lists/"), "{path}");
    let stored = lists(&app, &mgr).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["name"], "Retail");
    let items: Vec<(&str, &str)> = stored[0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["min_quantity"].as_str().unwrap(), i["price"].as_str().unwrap()))
        .collect();
    assert_eq!(items, vec![("0", "99.50"), ("5", "90.00")]);

    // Refusals name the row and field, keep the input and store nothing.
    let before = app.log_counts().await;
    let bad: [(Form, &[&str]); 3] = [
        (
            &[
                ("name", "Broken"),
                ("currency", "USD"),
                ("items[0].sku", "NOPE"),
                ("items[0].price", "1"),
                ("items[1].sku", "DR-1"),
                ("items[1].price", "1.23456"),
                ("items[2].sku", "DR-1"),
                ("items[2].min_quantity", "abc"),
                ("items[2].price", "1"),
            ],
            &[
                "no product has the SKU NOPE",
                "id=\"items-1-price-err\"",
                "at most 4 decimal places",
                "id=\"items-2-min_quantity-err\"",
                "value=\"NOPE\"",
            ],
        ),
        (
            &[("name", "Dates"), ("currency", "USD"), ("valid_from", "2026-02-01"), ("valid_to", "2026-01-01")],
            &["must not be before valid_from", "id=\"valid_to-err\""],
        ),
        (&[("name", "retail"), ("currency", "XYZ")], &["id=\"currency-err\""]),
    ];
    for (fields, expected) in bad {
        let r = app.submit("/price-lists", &cookie, fields).await;
        assert_eq!(r.status(), 422, "{fields:?}");
        let html = r.text().await.unwrap();
        for e in expected {
            assert!(html.contains(e), "{e} in {html}");
        }
    }
    let r = app.submit("/price-lists", &cookie, &[("name", "retail"), ("currency", "USD")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("already exists"));
    assert_eq!(app.log_counts().await, before, "nothing stored");
    assert_eq!(lists(&app, &mgr).await.len(), 1);

    // Editing replaces the rows; a stale form is refused.
    let (status, html) = app.page(&format!("{path}/edit"), &cookie).await;
    assert_eq!(status, 200);
    assert!(html.contains("name=\"version\" value=\"1\"") && html.contains("value=\"99.50\""));
    let r = app
        .submit(
            &path,
            &cookie,
            &[
                ("version", "1"),
                ("name", "Retail 2026"),
                ("currency", "USD"),
                ("items[0].sku", "DR-1"),
                ("items[0].price", "95"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), path);
    let stored = lists(&app, &mgr).await;
    assert_eq!((stored[0]["name"].as_str(), stored[0]["version"].as_i64()), (Some("Retail 2026"), Some(2)));
    assert_eq!(stored[0]["active"], false, "an unticked box");
    assert_eq!(stored[0]["items"].as_array().unwrap().len(), 1);
    let r = app.submit(&path, &cookie, &[("version", "1"), ("name", "Stale"), ("currency", "USD")]).await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("Someone else changed this record"));
    assert_eq!(lists(&app, &mgr).await[0]["name"], "Retail 2026");

    // A rep may do none of it.
    app.user("rep@example.com", "sales_rep").await;
    let rep = app.session("rep@example.com").await;
    assert_eq!(app.page("/price-lists/new", &rep).await.0, 403);
    assert_eq!(app.page(&format!("{path}/edit"), &rep).await.0, 403);
    let before = app.log_counts().await;
    assert_eq!(app.submit("/price-lists", &rep, &[("name", "Rogue"), ("currency", "USD")]).await.status(), 403);
    assert_eq!(
        app.submit(&path, &rep, &[("version", "2"), ("name", "Rogue"), ("currency", "USD")]).await.status(),
        403
    );
    assert_eq!(app.log_counts().await, before);
}

both_backends!(
    price_lists_are_listed_shown_and_price_checked,
    the_price_list_form_creates_and_edits_lists_with_price_rows,
);
