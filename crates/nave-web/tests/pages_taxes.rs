//! The tax rate and tax category forms over real HTTP, on both databases:
//! success, refusals that store nothing, a stale version, permissions.

mod support;

use nave_testkit::{TestDb, both_backends};
use serde_json::{Value, json};
use support::{TestApp, TestUser, json, location};

async fn taxes(app: &TestApp, who: &TestUser) -> Vec<Value> {
    json(app.get("/api/v1/taxes", who).await).await.1["data"].as_array().unwrap().clone()
}

async fn categories(app: &TestApp, who: &TestUser) -> Vec<Value> {
    json(app.get("/api/v1/tax-categories", who).await).await.1["data"].as_array().unwrap().clone()
}

async fn tax_rates_are_created_and_edited_from_the_taxes_page(db: TestDb) {
    let app = TestApp::start(db).await;
    let acc = app.user("acc@example.com", "accounting").await;
    let cookie = app.session("acc@example.com").await;
    let (status, html) = app.page("/taxes", &cookie).await;
    assert_eq!(status, 200);
    assert!(html.contains("href=\"/taxes/new\"") && html.contains("href=\"/tax-categories/new\""));
    let (status, html) = app.page("/taxes/new", &cookie).await;
    assert_eq!(status, 200);
    assert!(html.contains("for=\"rate\"") && html.contains("name=\"valid_from\""));

    let r = app
        .submit(
            "/taxes",
            &cookie,
            &[("name", "NY sales tax"), ("rate", "8.875"), ("valid_from", "2026-01-01"), ("active", "true")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/taxes");
    let stored = taxes(&app, &acc).await;
    assert_eq!(stored.len(), 1);
    assert_eq!((stored[0]["rate"].as_str(), stored[0]["valid_from"].as_str()), (Some("8.875"), Some("2026-01-01")));
    let (_, html) = app.page("/taxes", &cookie).await;
    assert!(html.contains("NY sales tax") && html.contains("8.875 %") && html.contains("from 2026-01-01"));
    let edit = format!("/taxes/{}", stored[0]["id"].as_str().unwrap());
    assert!(html.contains(&format!("href=\"{edit}/edit\"")));

    let before = app.log_counts().await;
    for (fields, expected) in [
        (vec![("name", "A"), ("rate", "abc")], "id=\"rate-err\""),
        (vec![("name", "B"), ("rate", "101")], "must be between 0 and 100"),
        (vec![("name", "C"), ("rate", "5"), ("valid_from", "01/02/2026")], "must be a date written YYYY-MM-DD"),
        (
            vec![("name", "D"), ("rate", "5"), ("valid_from", "2026-02-01"), ("valid_to", "2026-01-01")],
            "must not be before valid_from",
        ),
        (vec![("name", " "), ("rate", "5")], "id=\"name-err\""),
        (vec![("name", "ny SALES tax"), ("rate", "5")], "already exists"),
    ] {
        let r = app.submit("/taxes", &cookie, &fields).await;
        assert_eq!(r.status(), 422, "{fields:?}");
        let html = r.text().await.unwrap();
        assert!(html.contains(expected) && html.contains("role=\"alert\""), "{expected} in {html}");
    }
    assert_eq!(app.log_counts().await, before, "nothing stored");

    let (status, html) = app.page(&format!("{edit}/edit"), &cookie).await;
    assert_eq!(status, 200);
    assert!(html.contains("name=\"version\" value=\"1\"") && html.contains("value=\"8.875\""));
    let r = app
        .submit(
            &edit,
            &cookie,
            &[
                ("version", "1"),
                ("name", "NY sales tax"),
                ("rate", "8.875"),
                ("valid_from", "2026-01-01"),
                ("valid_to", "2026-12-31"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let t = &taxes(&app, &acc).await[0];
    assert_eq!(
        (t["valid_to"].as_str(), t["active"].as_bool(), t["version"].as_i64()),
        (Some("2026-12-31"), Some(false), Some(2))
    );
    let r = app.submit(&edit, &cookie, &[("version", "1"), ("name", "Stale"), ("rate", "1")]).await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("Someone else changed this record"));
    assert_eq!(taxes(&app, &acc).await[0]["name"], "NY sales tax");

    app.user("rep@example.com", "sales_rep").await;
    let rep = app.session("rep@example.com").await;
    let (status, html) = app.page("/taxes", &rep).await;
    assert_eq!(status, 200);
    assert!(!html.contains("/taxes/new") && !html.contains("/edit"), "a rep only reads taxes");
    assert_eq!(app.page("/taxes/new", &rep).await.0, 403);
    assert_eq!(app.page(&format!("{edit}/edit"), &rep).await.0, 403);
    let before = app.log_counts().await;
    assert_eq!(app.submit("/taxes", &rep, &[("name", "Rogue"), ("rate", "1")]).await.status(), 403);
    assert_eq!(app.submit(&edit, &rep, &[("version", "2"), ("name", "Rogue"), ("rate", "1")]).await.status(), 403);
    assert_eq!(app.log_counts().await, before);
}

async fn tax_categories_choose_their_rates_by_checkboxes(db: TestDb) {
    let app = TestApp::start(db).await;
    let acc = app.user("acc@example.com", "accounting").await;
    let (_, state) = json(app.post("/api/v1/taxes", &acc, &json!({"name": "State", "rate": "4"})).await).await;
    let (_, city) = json(app.post("/api/v1/taxes", &acc, &json!({"name": "City", "rate": "4.875"})).await).await;
    let (state_id, city_id) = (state["id"].as_str().unwrap(), city["id"].as_str().unwrap());
    let cookie = app.session("acc@example.com").await;

    let (status, html) = app.page("/tax-categories/new", &cookie).await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("value=\"{state_id}\"")) && html.contains("City (4.875 %)"));
    let r = app
        .submit("/tax-categories", &cookie, &[("name", "Standard goods"), ("tax_ids", state_id), ("tax_ids", city_id)])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/taxes");
    let cats = categories(&app, &acc).await;
    assert_eq!(cats[0]["tax_ids"], json!([state_id, city_id]));
    let (_, html) = app.page("/taxes", &cookie).await;
    assert!(html.contains("Standard goods") && html.contains("State, City"));

    let before = app.log_counts().await;
    for (fields, expected) in [
        (vec![("name", " ")], "id=\"name-err\""),
        (vec![("name", "standard GOODS")], "already exists"),
        (vec![("name", "Odd"), ("tax_ids", "not-an-id")], "is not the id of a tax"),
    ] {
        let r = app.submit("/tax-categories", &cookie, &fields).await;
        assert_eq!(r.status(), 422, "{fields:?}");
        let html = r.text().await.unwrap();
        assert!(html.contains(expected), "{expected} in {html}");
    }
    assert_eq!(app.log_counts().await, before, "nothing stored");

    let edit = format!("/tax-categories/{}", cats[0]["id"].as_str().unwrap());
    let (status, html) = app.page(&format!("{edit}/edit"), &cookie).await;
    assert_eq!(status, 200);
    assert!(html.contains("name=\"version\" value=\"1\""));
    assert_eq!(html.matches("checked").count(), 2, "both rates ticked");
    let r = app.submit(&edit, &cookie, &[("version", "1"), ("name", "Standard goods"), ("tax_ids", city_id)]).await;
    assert_eq!(r.status(), 303);
    let cats = categories(&app, &acc).await;
    assert_eq!((cats[0]["tax_ids"].clone(), cats[0]["version"].as_i64()), (json!([city_id]), Some(2)));
    let r = app.submit(&edit, &cookie, &[("version", "1"), ("name", "Stale")]).await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("Someone else changed this record"));
    assert_eq!(categories(&app, &acc).await[0]["name"], "Standard goods");

    app.user("rep@example.com", "sales_rep").await;
    let rep = app.session("rep@example.com").await;
    assert_eq!(app.page("/tax-categories/new", &rep).await.0, 403);
    assert_eq!(app.page(&format!("{edit}/edit"), &rep).await.0, 403);
    assert_eq!(app.submit("/tax-categories", &rep, &[("name", "Rogue")]).await.status(), 403);
    assert_eq!(app.submit(&edit, &rep, &[("version", "2"), ("name", "Rogue")]).await.status(), 403);
}

both_backends!(tax_rates_are_created_and_edited_from_the_taxes_page, tax_categories_choose_their_rates_by_checkboxes);
