//! The 360° view of an account (`GET /accounts/{id}/overview`) over real
//! HTTP on both databases: what it lists, and that each list keeps to what
//! the caller may see.

mod support;

use nave_testkit::{TestDb, both_backends};
use serde_json::{Value, json};
use support::{TestApp, TestUser, json, page, session};

async fn created(app: &TestApp, who: &TestUser, path: &str, body: Value) -> Value {
    let (status, v) = json(app.post(path, who, &body).await).await;
    assert_eq!(status, 201, "{path}: {v}");
    v
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

fn names(list: &Value, field: &str) -> Vec<String> {
    list.as_array().unwrap().iter().map(|x| x[field].as_str().unwrap().to_string()).collect()
}

struct World {
    app: TestApp,
    mgr: TestUser,
    rob: TestUser,
    sara: TestUser,
    acc: String,
}

/// Rob's account with contacts, opportunities (his and Sara's), cases
/// (assigned to Rob, to Sara, and one resolved), activities and a file.
async fn world(db: TestDb) -> World {
    let app = TestApp::start(db).await;
    let mgr = app.user("mgr@example.com", "sales_manager").await;
    let rob = app.user("rob@example.com", "sales_rep").await;
    let sara = app.user("sara@example.com", "sales_rep").await;
    let sue = app.user("sue@example.com", "support").await;
    let acc = id(&created(
        &app,
        &mgr,
        "/api/v1/accounts",
        json!({"name": "Acme", "owner_id": rob.user.id.to_string(), "currency": "EUR", "credit_limit": "5000.00"}),
    )
    .await);
    created(&app, &rob, "/api/v1/contacts", json!({"account_id": acc, "first_name": "Al", "last_name": "Ames"})).await;
    created(
        &app,
        &rob,
        "/api/v1/contacts",
        json!({"account_id": acc, "first_name": "Pia", "last_name": "Prime", "is_primary": true}),
    )
    .await;
    for (name, amount, currency) in
        [("Fleet", "1000.00", "EUR"), ("Spares", "200.00", "EUR"), ("Export", "50.00", "USD")]
    {
        created(
            &app,
            &rob,
            "/api/v1/opportunities",
            json!({"account_id": acc, "name": name, "amount": amount, "currency": currency, "probability": 50,
                   "expected_close": "2026-06-30"}),
        )
        .await;
    }
    created(
        &app,
        &mgr,
        "/api/v1/opportunities",
        json!({"account_id": acc, "name": "Sara's deal", "amount": "9999.00", "expected_close": "2026-06-30",
               "owner_id": sara.user.id.to_string()}),
    )
    .await;
    created(&app, &rob, "/api/v1/cases", json!({"account_id": acc, "subject": "Rob's case", "priority": "high"})).await;
    created(
        &app,
        &sue,
        "/api/v1/cases",
        json!({"account_id": acc, "subject": "Sara's case", "assignee_id": sara.user.id.to_string()}),
    )
    .await;
    let done = created(&app, &rob, "/api/v1/cases", json!({"account_id": acc, "subject": "Done case"})).await;
    let (status, v) = json(
        app.post(
            &format!("/api/v1/cases/{}/actions/resolve", id(&done)),
            &rob,
            &json!({"resolution": "Replaced the part"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    for n in 0..12 {
        created(
            &app,
            &rob,
            "/api/v1/activities",
            json!({"kind": "note", "account_id": acc, "body": format!("Note {n}"),
                   "occurred_at": format!("2026-03-{:02}T10:00:00Z", n + 1)}),
        )
        .await;
    }
    World { app, mgr, rob, sara, acc }
}

async fn overview(app: &TestApp, who: &TestUser, acc: &str) -> (u16, Value) {
    json(app.get(&format!("/api/v1/accounts/{acc}/overview"), who).await).await
}

async fn the_overview_lists_contacts_open_deals_open_cases_and_the_latest_activities(db: TestDb) {
    let w = world(db).await;
    let (status, o) = overview(&w.app, &w.mgr, &w.acc).await;
    assert_eq!(status, 200, "{o}");
    assert_eq!(o["account"]["name"], "Acme");
    assert_eq!(o["account"]["credit_limit"], "5000.00", "a manager sees the credit limit");
    assert_eq!(names(&o["contacts"], "last_name"), ["Prime", "Ames"], "the primary contact comes first");
    let mut deals = names(&o["open_opportunities"]["data"], "name");
    deals.sort();
    assert_eq!(deals, ["Export", "Fleet", "Sara's deal", "Spares"]);
    let eur = o["open_opportunities"]["by_currency"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["currency"] == "EUR")
        .cloned()
        .unwrap();
    assert_eq!((eur["count"].as_i64(), eur["total"].as_str()), (Some(3), Some("11199.00")), "{eur}");
    let mut cases = names(&o["open_cases"], "subject");
    cases.sort();
    assert_eq!(cases, ["Rob's case", "Sara's case"], "resolved cases are not open");
    let latest = names(&o["latest_activities"], "body");
    assert_eq!(latest.len(), 10);
    assert_eq!(latest[0], "Note 11", "newest first");
    assert_eq!(o["counts"], json!({"contacts": 2, "open_opportunities": 4, "open_cases": 2, "activities": 12}));
    assert_eq!(o["attachments"], 0);
    for absent in ["quotes", "orders", "invoices", "balance", "credit_exposure"] {
        assert!(o.get(absent).is_none(), "{absent} does not exist yet and is not faked");
    }

    // The account page shows the same open opportunities and cases, linked.
    let cookie = session(&w.app, "mgr@example.com").await;
    let (status, html) = page(&w.app, &cookie, &format!("/accounts/{}", w.acc)).await;
    assert_eq!(status, 200);
    assert!(html.contains("Open opportunities") && html.contains("Open cases"));
    let fleet = o["open_opportunities"]["data"].as_array().unwrap().iter().find(|d| d["name"] == "Fleet").unwrap();
    assert!(html.contains(&format!("/opportunities/{}", id(fleet))), "the page links the opportunity");
    let case = o["open_cases"].as_array().unwrap().iter().find(|c| c["subject"] == "Rob's case").unwrap();
    assert!(html.contains(&format!("/cases/{}", id(case))), "the page links the case");
    assert!(!html.contains("Done case"));
}

async fn a_reps_overview_keeps_to_their_own_deals_and_cases_and_hides_the_credit_limit(db: TestDb) {
    let w = world(db).await;
    let (status, o) = overview(&w.app, &w.rob, &w.acc).await;
    assert_eq!(status, 200, "{o}");
    let deals = names(&o["open_opportunities"]["data"], "name");
    assert_eq!(deals.len(), 3, "{deals:?}");
    assert!(!deals.contains(&"Sara's deal".to_string()), "another rep's opportunity stays hidden");
    assert_eq!(names(&o["open_cases"], "subject"), ["Rob's case"], "a case assigned to someone else stays hidden");
    assert_eq!(o["counts"]["open_opportunities"], 3);
    assert_eq!(o["counts"]["open_cases"], 1);
    let eur = &o["open_opportunities"]["by_currency"][0];
    assert_eq!((eur["currency"].as_str(), eur["total"].as_str()), (Some("EUR"), Some("1200.00")), "{o}");
    assert!(o["account"].get("credit_limit").is_none(), "a sales rep does not see the credit limit: {o}");

    let cookie = session(&w.app, "rob@example.com").await;
    let (_, html) = page(&w.app, &cookie, &format!("/accounts/{}", w.acc)).await;
    assert!(!html.contains("Sara&#x27;s deal") && !html.contains("Sara's deal"));
    assert!(!html.contains("Sara&#x27;s case") && !html.contains("Sara's case"));
}

async fn the_overview_of_an_account_the_caller_may_not_read_is_not_found(db: TestDb) {
    let w = world(db).await;
    let (status, p) = overview(&w.app, &w.sara, &w.acc).await;
    assert_eq!(status, 404, "{p}");
    let unknown = nave_domain::ids::PublicId::new().to_string();
    assert_eq!(overview(&w.app, &w.mgr, &unknown).await.0, 404);
}

both_backends!(
    the_overview_lists_contacts_open_deals_open_cases_and_the_latest_activities,
    a_reps_overview_keeps_to_their_own_deals_and_cases_and_hides_the_credit_limit,
    the_overview_of_an_account_the_caller_may_not_read_is_not_found,
);
