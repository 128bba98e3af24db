//! Subscriptions over the API, on both databases: periods counted from the
//! start, every period billed exactly once (twice run, or run at once), pause,
//! resume and cancel.

mod support;

use nave_testkit::{TestDb, both_backends};
use serde_json::{Value, json};
use support::{TestApp, TestUser, json};

async fn setup(app: &TestApp) -> (TestUser, Value) {
    let mgr = app.user("mgr@example.com", "admin").await;
    let (_, account) =
        json(app.post("/api/v1/accounts", &mgr, &json!({"name": "Acme Ltd", "currency": "EUR"})).await).await;
    let (status, s) = json(
        app.post(
            "/api/v1/subscriptions",
            &mgr,
            &json!({"account_id": account["id"], "name": "Support plan", "period": "month", "start_date": "2026-01-31",
                "lines": [{"description": "Support", "quantity": "1", "unit_price": "49.00"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{s}");
    (mgr, s)
}

async fn run(app: &TestApp, who: &TestUser, date: &str) -> Value {
    let (status, r) = json(app.post("/api/v1/subscriptions/run", who, &json!({"date": date})).await).await;
    assert_eq!(status, 200, "{r}");
    r
}

async fn every_period_is_billed_once_from_the_start_date(db: TestDb) {
    let app = TestApp::start(db).await;
    let (mgr, s) = setup(&app).await;
    assert_eq!(s["next_run"], "2026-01-31");
    let r = run(&app, &mgr, "2026-03-31").await;
    let invoices = r["invoices"].as_array().unwrap();
    assert_eq!(invoices.len(), 3, "{r}");
    assert!(invoices.iter().all(|i| i["status"] == "issued" && i["total"] == "49.00"), "{r}");
    let id = s["id"].as_str().unwrap();
    let (_, billed) = json(app.get(&format!("/api/v1/subscriptions/{id}/invoices"), &mgr).await).await;
    let periods: Vec<&str> = billed.as_array().unwrap().iter().map(|b| b["period_start"].as_str().unwrap()).collect();
    assert_eq!(periods, ["2026-03-31", "2026-02-28", "2026-01-31"]);
    // Running again for the same dates bills nothing new.
    assert_eq!(run(&app, &mgr, "2026-03-31").await["invoices"].as_array().unwrap().len(), 0);
    let (_, now) = json(app.get(&format!("/api/v1/subscriptions/{id}"), &mgr).await).await;
    assert_eq!(now["next_run"], "2026-04-30");
    assert_eq!(now["invoices_billed"], 3);
    // Two runs at once bill April once.
    let (a, b) = tokio::join!(run(&app, &mgr, "2026-04-30"), run(&app, &mgr, "2026-04-30"));
    let made = a["invoices"].as_array().unwrap().len() + b["invoices"].as_array().unwrap().len();
    assert_eq!(made, 1, "{a} {b}");
    let (_, list) = json(app.get("/api/v1/invoices?limit=50", &mgr).await).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 4);
}

async fn pause_resume_and_cancel_follow_the_lifecycle(db: TestDb) {
    let app = TestApp::start(db).await;
    let (mgr, s) = setup(&app).await;
    let id = s["id"].as_str().unwrap();
    let (status, p) = json(app.post(&format!("/api/v1/subscriptions/{id}/pause"), &mgr, &json!({})).await).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["status"], "paused");
    assert!(p["next_run"].is_null());
    assert_eq!(run(&app, &mgr, "2026-06-30").await["invoices"].as_array().unwrap().len(), 0);
    let (_, r) = json(app.post(&format!("/api/v1/subscriptions/{id}/resume"), &mgr, &json!({})).await).await;
    assert_eq!(r["status"], "active");
    assert!(r["next_run"].as_str().is_some(), "{r}");
    let (_, c) = json(app.post(&format!("/api/v1/subscriptions/{id}/cancel"), &mgr, &json!({})).await).await;
    assert_eq!(c["status"], "cancelled");
    let (status, e) = json(app.post(&format!("/api/v1/subscriptions/{id}/resume"), &mgr, &json!({})).await).await;
    assert_eq!(status, 409, "{e}");
    assert!(e["detail"].as_str().unwrap().contains("it is cancelled"), "{e}");
    // A line without a price or product is refused, naming the field.
    let (status, e) = json(
        app.post(
            "/api/v1/subscriptions",
            &mgr,
            &json!({"account_id": s["account_id"], "name": "X", "lines": [{"description": "x", "quantity": "1"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "{e}");
    assert!(e.to_string().contains("lines[0].unit_price"), "{e}");
}

both_backends!(every_period_is_billed_once_from_the_start_date, pause_resume_and_cancel_follow_the_lifecycle);
