//! The stock ledger over the API, on both databases: moving-average cost,
//! refusals that store nothing, concurrency, transfers, field security.

mod support;

use nave_store::tenants::DEFAULT_TENANT;
use nave_testkit::{TestDb, both_backends};
use serde_json::{Value, json};
use support::{TestApp, TestUser, json};

struct Setup {
    mgr: TestUser,
    main: Value,
    hub: Value,
    drill: Value,
}

async fn setup(app: &TestApp) -> Setup {
    let mgr = app.user("mgr@example.com", "admin").await;
    let (_, main) = json(app.post("/api/v1/warehouses", &mgr, &json!({"name": "Main"})).await).await;
    let (_, hub) = json(app.post("/api/v1/warehouses", &mgr, &json!({"name": "Hub"})).await).await;
    let (_, drill) = json(
        app.post("/api/v1/products", &mgr, &json!({"sku": "DR-1", "name": "Drill", "list_price": "129.90"})).await,
    )
    .await;
    Setup { mgr, main, hub, drill }
}

fn adjustment(wh: &Value, product: &Value, qty: &str, cost: Option<&str>) -> Value {
    let mut line = json!({"product_id": product["id"], "quantity": qty});
    if let Some(c) = cost {
        line["unit_cost"] = json!(c);
    }
    json!({"warehouse_id": wh["id"], "reason": "inventory count", "lines": [line]})
}

async fn on_hand(app: &TestApp, who: &TestUser, product: &Value, wh: &Value) -> String {
    let path = format!(
        "/api/v1/stock?product_id={}&warehouse_id={}",
        product["id"].as_str().unwrap(),
        wh["id"].as_str().unwrap()
    );
    let (_, v) = json(app.get(&path, who).await).await;
    v["data"]
        .as_array()
        .unwrap()
        .first()
        .map(|l| l["on_hand"].as_str().unwrap().to_string())
        .unwrap_or_else(|| "0".into())
}

async fn ledger_ok(app: &TestApp) {
    let mut tx = app.db.db.read().await.unwrap();
    let bad = nave_store::stock::ledger_mismatches(&mut tx, DEFAULT_TENANT).await.unwrap();
    assert!(bad.is_empty(), "{bad:?}");
}

async fn receipts_set_the_moving_average_and_issues_take_it(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let (status, a) =
        json(app.post("/api/v1/stock-adjustments", &s.mgr, &adjustment(&s.main, &s.drill, "10", Some("4.00"))).await)
            .await;
    assert_eq!(status, 201, "{a}");
    assert_eq!(a["lines"][0]["quantity"], "10");
    app.post("/api/v1/stock-adjustments", &s.mgr, &adjustment(&s.main, &s.drill, "10", Some("6.00"))).await;
    let (_, drill) =
        json(app.get(&format!("/api/v1/products/{}", s.drill["id"].as_str().unwrap()), &s.mgr).await).await;
    assert_eq!(drill["cost"], "5.00", "moving average of 10 @ 4 and 10 @ 6");
    let (status, out) =
        json(app.post("/api/v1/stock-adjustments", &s.mgr, &adjustment(&s.main, &s.drill, "-5", None)).await).await;
    assert_eq!(status, 201, "{out}");
    assert_eq!(out["lines"][0]["unit_cost"], "5.00");
    assert_eq!(out["lines"][0]["value"], "-25.00");
    assert_eq!(on_hand(&app, &s.mgr, &s.drill, &s.main).await, "15");
    ledger_ok(&app).await;

    // A warehouse clerk adjusts stock but sees and sets no cost; a rep reads levels.
    let clerk = app.user("clerk@example.com", "warehouse").await;
    let (status, p) =
        json(app.post("/api/v1/stock-adjustments", &clerk, &adjustment(&s.main, &s.drill, "1", Some("9.00"))).await)
            .await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "lines[0].unit_cost");
    let (status, c) =
        json(app.post("/api/v1/stock-adjustments", &clerk, &adjustment(&s.main, &s.drill, "1", None)).await).await;
    assert_eq!(status, 201, "{c}");
    assert!(c["lines"][0].get("unit_cost").is_none() && c["lines"][0].get("value").is_none(), "{c}");
    let rep = app.user("rep@example.com", "sales_rep").await;
    assert_eq!(on_hand(&app, &rep, &s.drill, &s.main).await, "16");
    let (_, moves) = json(app.get("/api/v1/stock-movements", &rep).await).await;
    assert_eq!(moves["data"].as_array().unwrap().len(), 4);
    assert!(moves["data"][0].get("unit_cost").is_none(), "{moves}");
    assert_eq!(
        app.post("/api/v1/stock-adjustments", &rep, &adjustment(&s.main, &s.drill, "1", None)).await.status(),
        403
    );

    // Products and warehouses with movements are archived, never deleted.
    let (status, p) = json(
        app.req(reqwest::Method::DELETE, &format!("/api/v1/products/{}", s.drill["id"].as_str().unwrap()), &s.mgr)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 409, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("stock movement"), "{p}");
    let (status, _) = json(
        app.req(reqwest::Method::DELETE, &format!("/api/v1/warehouses/{}", s.main["id"].as_str().unwrap()), &s.mgr)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 409);

    // Levels as of a past day come from the movements.
    let (_, past) = json(app.get("/api/v1/stock?as_of=2000-01-01", &s.mgr).await).await;
    assert_eq!(past["data"].as_array().unwrap().len(), 0);
    let today = time::OffsetDateTime::now_utc().date();
    let (_, now) = json(app.get(&format!("/api/v1/stock?as_of={today}"), &s.mgr).await).await;
    assert_eq!(now["data"][0]["on_hand"], "16");
}

async fn an_issue_beyond_stock_is_refused_and_stores_nothing(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    app.post("/api/v1/stock-adjustments", &s.mgr, &adjustment(&s.main, &s.drill, "3", Some("10"))).await;
    let before = app.log_counts().await;
    let (status, p) =
        json(app.post("/api/v1/stock-adjustments", &s.mgr, &adjustment(&s.main, &s.drill, "-5", None)).await).await;
    assert_eq!(status, 409, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("only 3 on hand, 5 asked"), "{p}");
    assert_eq!(on_hand(&app, &s.mgr, &s.drill, &s.main).await, "3");
    assert_eq!(app.log_counts().await, before, "nothing half-written");
    // Bad lines name their field.
    for (body, field) in [
        (json!({"warehouse_id": s.main["id"], "reason": "x", "lines": []}), "lines"),
        (
            json!({"warehouse_id": s.main["id"], "reason": "x", "lines": [{"product_id": s.drill["id"], "quantity": "0"}]}),
            "lines[0].quantity",
        ),
        (
            json!({"warehouse_id": s.main["id"], "reason": "x", "lines": [{"product_id": s.drill["id"], "quantity": "1.23456"}]}),
            "lines[0].quantity",
        ),
        (
            json!({"warehouse_id": s.main["id"], "reason": "x", "lines": [{"product_id": s.drill["id"], "quantity": 2}]}),
            "lines[0].quantity",
        ),
        (
            json!({"warehouse_id": s.main["id"], "reason": "", "lines": [{"product_id": s.drill["id"], "quantity": "1"}]}),
            "reason",
        ),
        (
            json!({"warehouse_id": s.drill["id"], "reason": "x", "lines": [{"product_id": s.drill["id"], "quantity": "1"}]}),
            "warehouse_id",
        ),
    ] {
        let (status, p) = json(app.post("/api/v1/stock-adjustments", &s.mgr, &body).await).await;
        assert_eq!(status, 422, "{body} → {p}");
        assert_eq!(p["errors"][0]["field"], field, "{body} → {p}");
    }
    let (_, svc) =
        json(app.post("/api/v1/products", &s.mgr, &json!({"sku": "SV-1", "name": "Install", "kind": "service"})).await)
            .await;
    let (status, p) =
        json(app.post("/api/v1/stock-adjustments", &s.mgr, &adjustment(&s.main, &svc, "1", None)).await).await;
    assert_eq!(status, 422);
    assert_eq!(p["errors"][0]["field"], "lines[0].product_id");
    // A warehouse that allows negative stock lets it go below zero.
    let (_, drop) =
        json(app.post("/api/v1/warehouses", &s.mgr, &json!({"name": "Drop", "allow_negative_stock": true})).await)
            .await;
    let (status, _) =
        json(app.post("/api/v1/stock-adjustments", &s.mgr, &adjustment(&drop, &s.drill, "-2", None)).await).await;
    assert_eq!(status, 201);
    assert_eq!(on_hand(&app, &s.mgr, &s.drill, &drop).await, "-2");
    ledger_ok(&app).await;
}

async fn concurrent_issues_never_drive_stock_negative(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    app.post("/api/v1/stock-adjustments", &s.mgr, &adjustment(&s.main, &s.drill, "10", Some("2"))).await;
    let mut calls = Vec::new();
    for _ in 0..20 {
        let r = app
            .req(reqwest::Method::POST, "/api/v1/stock-adjustments", &s.mgr)
            .json(&adjustment(&s.main, &s.drill, "-1", None));
        calls.push(tokio::spawn(async move { r.send().await.unwrap().status().as_u16() }));
    }
    let mut ok = 0;
    for c in calls {
        match c.await.unwrap() {
            201 => ok += 1,
            409 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(ok, 10, "exactly the stock on hand was issued");
    assert_eq!(on_hand(&app, &s.mgr, &s.drill, &s.main).await, "0");
    ledger_ok(&app).await;
}

async fn transfers_move_stock_without_revaluing_it(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    app.post("/api/v1/stock-adjustments", &s.mgr, &adjustment(&s.main, &s.drill, "8", Some("3.00"))).await;
    let body = json!({"from_warehouse_id": s.main["id"], "to_warehouse_id": s.hub["id"], "reason": "replenish", "lines": [{"product_id": s.drill["id"], "quantity": "5"}]});
    let (status, t) = json(app.post("/api/v1/stock-transfers", &s.mgr, &body).await).await;
    assert_eq!(status, 201, "{t}");
    assert_eq!(t["lines"].as_array().unwrap().len(), 2);
    assert_eq!(on_hand(&app, &s.mgr, &s.drill, &s.main).await, "3");
    assert_eq!(on_hand(&app, &s.mgr, &s.drill, &s.hub).await, "5");
    let (_, drill) =
        json(app.get(&format!("/api/v1/products/{}", s.drill["id"].as_str().unwrap()), &s.mgr).await).await;
    assert_eq!(drill["cost"], "3.00");
    let (_, again) =
        json(app.get(&format!("/api/v1/stock-transfers/{}", t["id"].as_str().unwrap()), &s.mgr).await).await;
    assert_eq!(again["lines"], t["lines"]);
    let too_much = json!({"from_warehouse_id": s.main["id"], "to_warehouse_id": s.hub["id"], "reason": "x", "lines": [{"product_id": s.drill["id"], "quantity": "4"}]});
    assert_eq!(app.post("/api/v1/stock-transfers", &s.mgr, &too_much).await.status(), 409);
    let same = json!({"from_warehouse_id": s.main["id"], "to_warehouse_id": s.main["id"], "reason": "x", "lines": [{"product_id": s.drill["id"], "quantity": "1"}]});
    assert_eq!(app.post("/api/v1/stock-transfers", &s.mgr, &same).await.status(), 422);
    ledger_ok(&app).await;
}

both_backends!(
    receipts_set_the_moving_average_and_issues_take_it,
    an_issue_beyond_stock_is_refused_and_stores_nothing,
    concurrent_issues_never_drive_stock_negative,
    transfers_move_stock_without_revaluing_it,
);
