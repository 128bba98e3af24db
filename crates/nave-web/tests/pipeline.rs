//! The sales pipeline over real HTTP on both databases: stages, opportunities
//! with their stage history, record scope and the weighted forecast.

mod support;

use nave_testkit::{TestDb, both_backends};
use reqwest::Method;
use serde_json::{Value, json};
use support::{TestApp, TestUser, form, json, page, session};

async fn patch(app: &TestApp, path: &str, who: &TestUser, body: Value) -> (u16, Value) {
    json(app.req(Method::PATCH, path, who).json(&body).send().await.unwrap()).await
}

async fn delete(app: &TestApp, path: &str, who: &TestUser) -> (u16, Value) {
    json(app.req(Method::DELETE, path, who).send().await.unwrap()).await
}

/// The default stages by name: name → id.
async fn stages(app: &TestApp, who: &TestUser) -> Vec<(String, String)> {
    let (status, list) = json(app.get("/api/v1/pipeline-stages", who).await).await;
    assert_eq!(status, 200, "{list}");
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_string(), s["id"].as_str().unwrap().to_string()))
        .collect()
}

fn stage_id(stages: &[(String, String)], name: &str) -> String {
    stages.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no stage {name}")).1.clone()
}

async fn account(app: &TestApp, who: &TestUser, name: &str, currency: &str) -> String {
    let (status, a) = json(app.post("/api/v1/accounts", who, &json!({"name": name, "currency": currency})).await).await;
    assert_eq!(status, 201, "{a}");
    a["id"].as_str().unwrap().to_string()
}

async fn opportunity(app: &TestApp, who: &TestUser, body: Value) -> Value {
    let (status, o) = json(app.post("/api/v1/opportunities", who, &body).await).await;
    assert_eq!(status, 201, "{o}");
    o
}

async fn history_len(app: &TestApp, who: &TestUser, id: &str) -> usize {
    let (status, h) = json(app.get(&format!("/api/v1/opportunities/{id}/history"), who).await).await;
    assert_eq!(status, 200, "{h}");
    h["data"].as_array().unwrap().len()
}

async fn the_default_pipeline_exists_and_its_rules_hold(db: TestDb) {
    let app = TestApp::start(db).await;
    let mgr = app.user("mgr@example.com", "sales_manager").await;
    let rep = app.user("rep@example.com", "sales_rep").await;
    let (_, list) = json(app.get("/api/v1/pipeline-stages", &rep).await).await;
    let got: Vec<_> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("{} {} {}", s["name"].as_str().unwrap(), s["probability"], s["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            "Prospecting 10 open",
            "Qualification 25 open",
            "Proposal 50 open",
            "Negotiation 75 open",
            "Won 100 won",
            "Lost 0 lost"
        ]
    );
    let (status, _) =
        json(app.post("/api/v1/pipeline-stages", &rep, &json!({"name": "Demo", "probability": 30})).await).await;
    assert_eq!(status, 403, "reps read the pipeline but do not change it");

    let s = stages(&app, &mgr).await;
    let won = format!("/api/v1/pipeline-stages/{}", stage_id(&s, "Won"));
    let (status, p) = delete(&app, &won, &mgr).await;
    assert_eq!(status, 409, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("exactly one won stage"), "{p}");
    let (status, p) = patch(&app, &won, &mgr, json!({"kind": "open", "probability": 90})).await;
    assert_eq!(status, 409, "{p}");
    let (status, p) =
        json(app.post("/api/v1/pipeline-stages", &mgr, &json!({"name": "Signed", "kind": "won"})).await).await;
    assert_eq!(status, 409, "{p}");
    let (status, p) = patch(&app, &won, &mgr, json!({"probability": 90})).await;
    assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some("probability")), "{p}");
    let (status, p) = json(app.post("/api/v1/pipeline-stages", &mgr, &json!({"name": "Demo"})).await).await;
    assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some("probability")), "{p}");
    let (status, p) =
        json(app.post("/api/v1/pipeline-stages", &mgr, &json!({"name": "Lost", "kind": "lost"})).await).await;
    assert_eq!(status, 409, "names are unique: {p}");

    // A second lost stage; then the first lost stage may go, but not the last one.
    let (status, nb) =
        json(app.post("/api/v1/pipeline-stages", &mgr, &json!({"name": "No budget", "kind": "lost"})).await).await;
    assert_eq!((status, nb["probability"].as_i64()), (201, Some(0)), "{nb}");
    let (status, _) = delete(&app, &format!("/api/v1/pipeline-stages/{}", stage_id(&s, "Lost")), &mgr).await;
    assert_eq!(status, 204);
    let (status, p) = delete(&app, &format!("/api/v1/pipeline-stages/{}", nb["id"].as_str().unwrap()), &mgr).await;
    assert_eq!(status, 409, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("at least one lost stage"));

    // A stage in use cannot be deleted, and the refusal says how many use it.
    let acc = account(&app, &mgr, "Acme", "EUR").await;
    let proposal = stage_id(&s, "Proposal");
    for n in 0..3 {
        opportunity(
            &app,
            &mgr,
            json!({"account_id": acc, "name": format!("Deal {n}"), "stage_id": proposal, "expected_close": "2026-05-31"}),
        )
        .await;
    }
    let (status, p) = delete(&app, &format!("/api/v1/pipeline-stages/{proposal}"), &mgr).await;
    assert_eq!(status, 409, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("used by 3 opportunities"), "{p}");
    assert_eq!(stages(&app, &mgr).await.len(), 6);
}

async fn probability_follows_the_stage_unless_overridden_and_history_has_one_row_per_move(db: TestDb) {
    let app = TestApp::start(db).await;
    let rep = app.user("rep@example.com", "sales_rep").await;
    let s = stages(&app, &rep).await;
    let acc = account(&app, &rep, "Globex", "USD").await;
    let o = opportunity(
        &app,
        &rep,
        json!({"account_id": acc, "name": "Fleet renewal", "amount": "12500", "expected_close": "2026-06-30", "source": "referral"}),
    )
    .await;
    assert_eq!(
        (o["stage"].as_str(), o["probability"].as_i64(), o["status"].as_str()),
        (Some("Prospecting"), Some(10), Some("open"))
    );
    assert_eq!(
        (o["amount"].as_str(), o["currency"].as_str(), o["weighted_amount"].as_str()),
        (Some("12500.00"), Some("USD"), Some("1250.00"))
    );
    assert_eq!(o["owner_id"], rep.user.id.to_string());
    let id = o["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/opportunities/{id}");
    assert_eq!(history_len(&app, &rep, &id).await, 1, "the first stage is in the history");

    let (_, o) = patch(&app, &path, &rep, json!({"stage_id": stage_id(&s, "Negotiation")})).await;
    assert_eq!(o["probability"], 75, "a new stage brings its default");
    let (_, o) = patch(&app, &path, &rep, json!({"probability": 60})).await;
    assert_eq!(o["probability"], 60, "an override stays on its stage");
    let (_, o) =
        patch(&app, &path, &rep, json!({"stage_id": stage_id(&s, "Negotiation"), "name": "Fleet renewal 2026"})).await;
    assert_eq!(o["probability"], 60, "naming the current stage is no move");
    let (_, o) = patch(&app, &path, &rep, json!({"stage_id": stage_id(&s, "Proposal"), "probability": 55})).await;
    assert_eq!(o["probability"], 55, "a move may name its own probability");
    assert_eq!(history_len(&app, &rep, &id).await, 3, "one row per stage change, none for other edits");

    // Losing needs a reason; refused, nothing changes.
    let before = o["version"].as_i64().unwrap();
    let (status, p) = patch(&app, &path, &rep, json!({"stage_id": stage_id(&s, "Lost")})).await;
    assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some("lost_reason")), "{p}");
    let (_, now) = json(app.get(&path, &rep).await).await;
    assert_eq!((now["version"].as_i64(), now["status"].as_str()), (Some(before), Some("open")));
    assert_eq!(history_len(&app, &rep, &id).await, 3);
    let (status, o) =
        patch(&app, &path, &rep, json!({"stage_id": stage_id(&s, "Lost"), "lost_reason": "Went with a cheaper offer"}))
            .await;
    assert_eq!(status, 200, "{o}");
    assert_eq!((o["status"].as_str(), o["probability"].as_i64()), (Some("lost"), Some(0)));
    assert!(o["closed_at"].is_string());
    let (status, p) = patch(&app, &path, &rep, json!({"won_reason": "?"})).await;
    assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some("won_reason")));

    // Moving back reopens it.
    let (_, o) = patch(&app, &path, &rep, json!({"stage_id": stage_id(&s, "Qualification")})).await;
    assert_eq!((o["status"].as_str(), o["probability"].as_i64()), (Some("open"), Some(25)));
    assert!(o["closed_at"].is_null() && o["lost_reason"].is_null(), "{o}");
    let (_, o) =
        patch(&app, &path, &rep, json!({"stage_id": stage_id(&s, "Won"), "won_reason": "Service level"})).await;
    assert_eq!(
        (o["status"].as_str(), o["probability"].as_i64(), o["won_reason"].as_str()),
        (Some("won"), Some(100), Some("Service level"))
    );

    let (_, h) = json(app.get(&format!("{path}/history"), &rep).await).await;
    let moves: Vec<String> = h["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{}>{} {}",
                c["from_stage"].as_str().unwrap_or("-"),
                c["to_stage"].as_str().unwrap(),
                c["probability"]
            )
        })
        .collect();
    assert_eq!(
        moves,
        [
            "->Prospecting 10",
            "Prospecting>Negotiation 75",
            "Negotiation>Proposal 55",
            "Proposal>Lost 0",
            "Lost>Qualification 25",
            "Qualification>Won 100"
        ]
    );
    assert_eq!(h["data"][1]["changed_by"], rep.user.id.to_string());
    let (_, log) =
        json(app.get("/api/v1/events?types=opportunity", &app.user("adm@example.com", "admin").await).await).await;
    assert_eq!(log["data"].as_array().unwrap().len(), 8, "one event per successful write: {log}");
}

async fn bad_opportunity_input_names_the_field_and_stores_nothing(db: TestDb) {
    let app = TestApp::start(db).await;
    let mgr = app.user("mgr@example.com", "sales_manager").await;
    let acc = account(&app, &mgr, "Initech", "EUR").await;
    let old = account(&app, &mgr, "Old Corp", "EUR").await;
    let (status, _) = patch(&app, &format!("/api/v1/accounts/{old}"), &mgr, json!({"archived": true})).await;
    assert_eq!(status, 200);
    let counts = app.log_counts().await;
    let ok = json!({"account_id": acc, "name": "Deal", "expected_close": "2026-05-31"});
    let with = |k: &str, v: Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = ok.clone();
        b.as_object_mut().unwrap().remove(k);
        b
    };
    for (body, field) in [
        (with("amount", json!(12.5)), "amount"),
        (with("amount", json!("12.345")), "amount"),
        (with("amount", json!("-5")), "amount"),
        (with("probability", json!(101)), "probability"),
        (with("probability", json!(12.5)), "probability"),
        (with("expected_close", json!("2026-13-01")), "expected_close"),
        (with("account_id", json!(old)), "account_id"),
        (with("stage_id", json!(acc)), "stage_id"),
        (with("currency", json!("EURO")), "currency"),
        (with("name", json!("  ")), "name"),
        (with("colour", json!("red")), "colour"),
        (without("name"), "name"),
        (without("account_id"), "account_id"),
        (without("expected_close"), "expected_close"),
    ] {
        let (status, p) = json(app.post("/api/v1/opportunities", &mgr, &body).await).await;
        assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some(field)), "{body}: {p}");
    }
    let (_, list) = json(app.get("/api/v1/opportunities", &mgr).await).await;
    assert!(list["data"].as_array().unwrap().is_empty(), "nothing stored");
    assert_eq!(app.log_counts().await, counts, "no audit entry, no event");
}

async fn reps_see_only_their_own_opportunities_and_their_own_forecast(db: TestDb) {
    let app = TestApp::start(db).await;
    let mgr = app.user("mgr@example.com", "sales_manager").await;
    let rob = app.user("rob@example.com", "sales_rep").await;
    let sara = app.user("sara@example.com", "sales_rep").await;
    let robs_acc = account(&app, &rob, "Rob's customer", "USD").await;
    let saras_acc = account(&app, &sara, "Sara's customer", "USD").await;
    let mine = opportunity(
        &app,
        &rob,
        json!({"account_id": robs_acc, "name": "Rob's deal", "amount": "1000", "expected_close": "2026-03-10"}),
    )
    .await;
    let hers = opportunity(
        &app,
        &sara,
        json!({"account_id": saras_acc, "name": "Sara's deal", "amount": "5000", "expected_close": "2026-03-20"}),
    )
    .await;
    let hers_path = format!("/api/v1/opportunities/{}", hers["id"].as_str().unwrap());

    let names = |v: &Value| {
        v["data"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    let (_, list) = json(app.get("/api/v1/opportunities", &rob).await).await;
    assert_eq!(names(&list), ["Rob's deal"]);
    let (_, list) = json(app.get("/api/v1/opportunities", &mgr).await).await;
    assert_eq!(names(&list).len(), 2);
    let (_, list) = json(app.get(&format!("/api/v1/opportunities?owner_id={}", sara.user.id), &mgr).await).await;
    assert_eq!(names(&list), ["Sara's deal"]);
    assert_eq!(app.get(&hers_path, &rob).await.status(), 404);
    assert_eq!(app.get(&format!("{hers_path}/history"), &rob).await.status(), 404);
    assert_eq!(patch(&app, &hers_path, &rob, json!({"name": "Mine now"})).await.0, 404);
    assert_eq!(delete(&app, &hers_path, &rob).await.0, 404);
    assert_eq!(app.get(&format!("/api/v1/accounts/{saras_acc}/opportunities"), &rob).await.status(), 404);
    let (_, list) = json(app.get(&format!("/api/v1/accounts/{robs_acc}/opportunities"), &rob).await).await;
    assert_eq!(names(&list), ["Rob's deal"]);
    let (_, list) = json(app.get(&format!("/api/v1/accounts/{saras_acc}/opportunities"), &mgr).await).await;
    assert_eq!(names(&list), ["Sara's deal"]);
    // A rep cannot hang an opportunity on an account they cannot see.
    let (status, p) = json(
        app.post(
            "/api/v1/opportunities",
            &rob,
            &json!({"account_id": saras_acc, "name": "Sneaky", "expected_close": "2026-03-01"}),
        )
        .await,
    )
    .await;
    assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some("account_id")), "{p}");

    let forecast = "/api/v1/reports/pipeline-forecast?from=2026-03&to=2026-03";
    let (status, f) = json(app.get(forecast, &rob).await).await;
    assert_eq!(status, 200, "{f}");
    assert_eq!(f["lines"].as_array().unwrap().len(), 1, "{f}");
    assert_eq!(f["lines"][0]["owner_id"], rob.user.id.to_string());
    assert_eq!(f["totals"], json!([{"currency": "USD", "count": 1, "amount": "1000.00", "weighted_amount": "100.00"}]));
    let (_, f) = json(app.get(&format!("{forecast}&owner_id={}", sara.user.id), &rob).await).await;
    assert!(f["lines"].as_array().unwrap().is_empty(), "asking for another rep's forecast shows nothing: {f}");
    let (_, f) = json(app.get(forecast, &mgr).await).await;
    assert_eq!(f["totals"][0]["amount"], "6000.00");
    assert_eq!(mine["status"], "open");
}

async fn the_forecast_rounds_each_opportunity_and_adds_up_exactly(db: TestDb) {
    let app = TestApp::start(db).await;
    let mgr = app.user("mgr@example.com", "sales_manager").await;
    let s = stages(&app, &mgr).await;
    let usd = account(&app, &mgr, "Dollar Inc", "USD").await;
    let eur = account(&app, &mgr, "Euro GmbH", "EUR").await;
    let jpy = account(&app, &mgr, "Yen KK", "JPY").await;
    for (acc, amount, stage, probability, close) in [
        (&usd, "100.01", "Proposal", None, "2026-04-02"),       // 50.005 → 50.01
        (&usd, "0.03", "Proposal", None, "2026-04-30"),         // 0.015 → 0.02
        (&usd, "333.33", "Prospecting", None, "2026-05-15"),    // 33.333 → 33.33
        (&usd, "10.05", "Negotiation", Some(33), "2026-05-31"), // 3.3165 → 3.32
        (&eur, "99.99", "Qualification", None, "2026-04-10"),   // 24.9975 → 25.00
        (&jpy, "1001", "Qualification", None, "2026-05-01"),    // 250.25 → 250
        (&usd, "5000.00", "Won", None, "2026-04-15"),           // closed: not in the forecast
        (&usd, "7000.00", "Proposal", None, "2026-06-01"),      // after the range
    ] {
        let mut body = json!({"account_id": acc, "name": "Deal", "amount": amount, "stage_id": stage_id(&s, stage), "expected_close": close});
        if let Some(p) = probability {
            body["probability"] = json!(p);
        }
        opportunity(&app, &mgr, body).await;
    }
    let (status, f) = json(app.get("/api/v1/reports/pipeline-forecast?from=2026-04&to=2026-05", &mgr).await).await;
    assert_eq!(status, 200, "{f}");
    assert_eq!(
        f["totals"],
        json!([
            {"currency": "EUR", "count": 1, "amount": "99.99", "weighted_amount": "25.00"},
            {"currency": "JPY", "count": 1, "amount": "1001", "weighted_amount": "250"},
            {"currency": "USD", "count": 4, "amount": "443.42", "weighted_amount": "86.68"}
        ])
    );
    let months: Vec<String> = f["months"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{} {} {} {}",
                m["month"].as_str().unwrap(),
                m["currency"].as_str().unwrap(),
                m["amount"].as_str().unwrap(),
                m["weighted_amount"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        months,
        ["2026-04 EUR 99.99 25.00", "2026-04 USD 100.04 50.03", "2026-05 JPY 1001 250", "2026-05 USD 343.38 36.65"]
    );
    assert_eq!(f["lines"][0]["owner_id"], mgr.user.id.to_string());
    let (_, f) =
        json(app.get("/api/v1/reports/pipeline-forecast?from=2026-04&to=2026-05&currency=EUR", &mgr).await).await;
    assert_eq!(f["totals"].as_array().unwrap().len(), 1);
    for (q, field) in [
        ("from=2026-4", "from"),
        ("from=2026-05&to=2026-04", "to"),
        ("from=2026-01&to=2031-01", "to"),
        ("currency=XXX", "currency"),
        ("owner=1", "owner"),
    ] {
        let (status, p) = json(app.get(&format!("/api/v1/reports/pipeline-forecast?{q}"), &mgr).await).await;
        assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some(field)), "{q}: {p}");
    }
}

async fn the_opportunity_pages_list_board_show_create_and_edit(db: TestDb) {
    let app = TestApp::start(db).await;
    let mgr = app.user("mgr@example.com", "sales_manager").await;
    let cookie = session(&app, "mgr@example.com").await;
    let s = stages(&app, &mgr).await;
    let acc = account(&app, &mgr, "Hooli", "USD").await;
    let me = mgr.user.id.to_string();
    let (status, html) = page(&app, &cookie, &format!("/opportunities/new?account_id={acc}")).await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("<option value=\"{acc}\" selected>Hooli</option>")), "the account is picked");

    let mut fields = vec![
        ("account_id", acc.as_str()),
        ("name", "Warehouse racks"),
        ("stage_id", ""),
        ("probability", ""),
        ("amount", "12,00"),
        ("currency", ""),
        ("expected_close", "2026-07-01"),
        ("owner_id", me.as_str()),
        ("source", "trade fair"),
        ("description", ""),
        ("lost_reason", ""),
        ("won_reason", ""),
    ];
    let (status, _, html) = form(&app, &cookie, "/opportunities", &fields).await;
    assert_eq!(status, 422);
    assert!(html.contains("aria-invalid=\"true\" aria-describedby=\"amount-err\""), "the amount is marked");
    assert!(html.contains("value=\"Warehouse racks\""), "what was typed is kept");
    let (_, list) = json(app.get("/api/v1/opportunities", &mgr).await).await;
    assert!(list["data"].as_array().unwrap().is_empty(), "nothing was stored");
    fields[4] = ("amount", "1200");
    let (status, location, _) = form(&app, &cookie, "/opportunities", &fields).await;
    assert_eq!(status, 303);
    let id = location.strip_prefix("/opportunities/").unwrap().to_string();
    let (_, html) = page(&app, &cookie, &location).await;
    assert!(html.contains("Prospecting") && html.contains("(created)") && html.contains("$1,200.00"), "{html}");

    // Editing: a new stage with the probability left as it was takes the stage's default.
    let negotiation = stage_id(&s, "Negotiation");
    let lost = stage_id(&s, "Lost");
    let mut edit = fields.clone();
    edit.extend([("version", "1")]);
    edit[2] = ("stage_id", negotiation.as_str());
    edit[3] = ("probability", "10");
    let (status, _, html) = form(&app, &cookie, &location, &edit).await;
    assert_eq!(status, 303, "{html}");
    let (_, o) = json(app.get(&format!("/api/v1/opportunities/{id}"), &mgr).await).await;
    assert_eq!((o["stage"].as_str(), o["probability"].as_i64()), (Some("Negotiation"), Some(75)));
    let mut lose = edit.clone();
    lose[2] = ("stage_id", lost.as_str());
    lose[12] = ("version", "2");
    let (status, _, html) = form(&app, &cookie, &location, &lose).await;
    assert_eq!(status, 422);
    assert!(html.contains("is required when the opportunity is lost"), "{html}");

    let (_, html) = page(&app, &cookie, "/opportunities").await;
    assert!(html.contains("Warehouse racks") && html.contains("75 %"));
    let (_, html) = page(&app, &cookie, "/opportunities?view=board").await;
    assert!(html.contains("class=\"column won\"") && html.contains("aria-label=\"Negotiation\""), "{html}");
    let (_, html) =
        page(&app, &cookie, &format!("/opportunities?view=board&stage_id={}", stage_id(&s, "Proposal"))).await;
    assert!(!html.contains("Warehouse racks"), "the stage filter applies to the board");
    let (status, html) = page(&app, &cookie, "/reports/pipeline-forecast?from=2026-07&to=2026-07").await;
    assert_eq!(status, 200);
    assert!(html.contains("1,200.00") && html.contains("900.00"), "amount and weighted amount: {html}");
    let (status, html) = page(&app, &cookie, "/reports/pipeline-forecast?from=July").await;
    assert_eq!(status, 422);
    assert!(html.contains("must be a month written YYYY-MM"));
}

both_backends!(
    the_default_pipeline_exists_and_its_rules_hold,
    probability_follows_the_stage_unless_overridden_and_history_has_one_row_per_move,
    bad_opportunity_input_names_the_field_and_stores_nothing,
    reps_see_only_their_own_opportunities_and_their_own_forecast,
    the_forecast_rounds_each_opportunity_and_adds_up_exactly,
    the_opportunity_pages_list_board_show_create_and_edit,
);
