//! Payment terms over the API and the page, on both databases.

mod support;

use nave_testkit::{TestDb, both_backends};
use reqwest::Method;
use serde_json::{Value, json};
use support::{PASSWORD, TestApp, cookie_pair, json};

fn id_of<'a>(list: &'a Value, name: &str) -> &'a str {
    list["data"].as_array().unwrap().iter().find(|t| t["name"] == name).unwrap()["id"].as_str().unwrap()
}

async fn net_30_gives_the_documented_due_dates(db: TestDb) {
    let app = TestApp::start(db).await;
    let rep = app.user("rep@example.com", "sales_rep").await;
    let (status, list) = json(app.get("/api/v1/payment-terms", &rep).await).await;
    assert_eq!(status, 200);
    let net30 = id_of(&list, "Net 30").to_string();
    for (date, due) in [("2025-01-31", "2025-03-02"), ("2024-01-31", "2024-03-01"), ("2025-12-15", "2026-01-14")] {
        let body = json!({"amount": "100.00", "currency": "USD", "date": date});
        let (status, v) = json(app.post(&format!("/api/v1/payment-terms/{net30}/preview"), &rep, &body).await).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["due_dates"], json!([{"date": due, "amount": "100.00"}]), "{date}");
    }
    let split = id_of(&list, "50 % now, 50 % at 60 days").to_string();
    let body = json!({"amount": "100.01", "currency": "EUR", "date": "2026-01-10"});
    let (_, v) = json(app.post(&format!("/api/v1/payment-terms/{split}/preview"), &rep, &body).await).await;
    assert_eq!(
        v["due_dates"],
        json!([{"date": "2026-01-10", "amount": "50.01"}, {"date": "2026-03-11", "amount": "50.00"}])
    );
}

async fn accounting_manages_terms_and_bad_terms_are_refused(db: TestDb) {
    let app = TestApp::start(db).await;
    let acc = app.user("acc@example.com", "accounting").await;
    let rep = app.user("rep@example.com", "sales_rep").await;
    let good =
        json!({"name": "Net 45 on the 10th", "instalments": [{"percent": null, "days": 45, "day_of_month": 10}]});
    assert_eq!(app.post("/api/v1/payment-terms", &rep, &good).await.status(), 403);
    let (status, t) = json(app.post("/api/v1/payment-terms", &acc, &good).await).await;
    assert_eq!(status, 201, "{t}");
    let (status, _) = json(app.post("/api/v1/payment-terms", &acc, &good).await).await;
    assert_eq!(status, 409, "names are unique");
    for (bad, field) in [
        (json!({"name": "A", "instalments": []}), "instalments"),
        (json!({"name": "B", "instalments": [{"percent": "60", "days": 0}]}), "instalments"),
        (json!({"name": "C", "instalments": [{"percent": 60, "days": 0}, {"days": 30}]}), "instalments[0].percent"),
        (json!({"name": "D", "instalments": [{"days": 0, "day_of_month": 40}]}), "instalments[0].day_of_month"),
        (json!({"name": "E", "instalments": [{"days": -1}]}), "instalments[0].days"),
        (json!({"name": "", "instalments": [{"days": 1}]}), "name"),
    ] {
        let (status, p) = json(app.post("/api/v1/payment-terms", &acc, &bad).await).await;
        assert_eq!(status, 422, "{bad} → {p}");
        assert_eq!(p["errors"][0]["field"], field, "{bad} → {p}");
    }
    let path = format!("/api/v1/payment-terms/{}", t["id"].as_str().unwrap());
    let (status, t2) = json(
        app.req(Method::PATCH, &path, &acc)
            .header("if-match", "1")
            .json(&json!({"active": false}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(t2["active"], false);
    let (_, list) = json(app.get("/api/v1/payment-terms", &acc).await).await;
    assert!(
        list["data"].as_array().unwrap().iter().all(|x| x["name"] != "Net 45 on the 10th"),
        "inactive terms are hidden by default"
    );
    let (_, list) = json(app.get("/api/v1/payment-terms?include_inactive=true", &acc).await).await;
    assert!(list["data"].as_array().unwrap().iter().any(|x| x["name"] == "Net 45 on the 10th"));
    // Unsaved terms can be tried out.
    let body = json!({"amount": "10", "currency": "JPY", "date": "2026-02-20", "instalments": [{"days": 30, "end_of_month": true}]});
    let (status, v) = json(app.post("/api/v1/payment-terms/preview", &rep, &body).await).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["due_dates"], json!([{"date": "2026-03-31", "amount": "10"}]));
    let (status, p) = json(
        app.post(
            "/api/v1/payment-terms/preview",
            &rep,
            &json!({"amount": "1.234", "currency": "USD", "date": "2026-02-30", "instalments": [{"days": 1}]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "amount");
    let (status, p) = json(
        app.post(
            "/api/v1/payment-terms/preview",
            &rep,
            &json!({"amount": "1.23", "currency": "USD", "date": "2026-02-30", "instalments": [{"days": 1}]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "date");
    let r = app.req(Method::DELETE, &path, &acc).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(app.get(&path, &acc).await.status(), 404);
}

async fn the_page_lists_terms_and_computes_due_dates(db: TestDb) {
    let app = TestApp::start(db).await;
    let rep = app.user("rep@example.com", "sales_rep").await;
    let (_, list) = json(app.get("/api/v1/payment-terms", &rep).await).await;
    let net30 = id_of(&list, "Net 30").to_string();
    let set =
        app.login("rep@example.com", PASSWORD).await.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    let cookie = cookie_pair(&set);
    let url = app.url(&format!("/payment-terms?terms={net30}&amount=250.00&currency=USD&date=2025-01-31"));
    let html = app.client.get(url).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("the rest at 30 days, end of month"), "terms are described");
    assert!(html.contains("2025-03-02") && html.contains("250.00 USD"), "the due date is shown");
    let url = app.url(&format!("/payment-terms?terms={net30}&amount=abc&currency=USD&date=2025-01-31"));
    let r = app.client.get(url).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("The amount is not a decimal number"));
}

both_backends!(
    net_30_gives_the_documented_due_dates,
    accounting_manages_terms_and_bad_terms_are_refused,
    the_page_lists_terms_and_computes_due_dates,
);
