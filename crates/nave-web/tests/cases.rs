//! Service cases over real HTTP on both databases: the workflow actions, the
//! service times, satisfaction, record scope and input checks.

mod support;

use nave_domain::ids::PublicId;
use nave_store::args;
use nave_testkit::{TestDb, both_backends};
use reqwest::Method;
use serde_json::{Value, json};
use support::{TestApp, TestUser, form, json, page, session};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

async fn patch(app: &TestApp, path: &str, who: &TestUser, body: Value) -> (u16, Value) {
    json(app.req(Method::PATCH, path, who).json(&body).send().await.unwrap()).await
}

async fn act(app: &TestApp, id: &str, action: &str, who: &TestUser, body: Value) -> (u16, Value) {
    json(app.post(&format!("/api/v1/cases/{id}/actions/{action}"), who, &body).await).await
}

async fn account(app: &TestApp, who: &TestUser, name: &str) -> String {
    let (status, a) = json(app.post("/api/v1/accounts", who, &json!({"name": name})).await).await;
    assert_eq!(status, 201, "{a}");
    a["id"].as_str().unwrap().to_string()
}

async fn new_case(app: &TestApp, who: &TestUser, body: Value) -> Value {
    let (status, c) = json(app.post("/api/v1/cases", who, &body).await).await;
    assert_eq!(status, 201, "{c}");
    c
}

fn ts(v: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(v.as_str().unwrap_or_else(|| panic!("not a time: {v}")), &Rfc3339).unwrap()
}

/// Moves a case's creation back in time, as if it had been logged `hours` ago.
async fn logged_hours_ago(app: &TestApp, id: &str, hours: i64) {
    let at = nave_store::db::now() - time::Duration::hours(hours);
    let mut tx = app.db.db.write().await.unwrap();
    let n = tx
        .execute("UPDATE cases SET created_at = $1 WHERE public_id = $2", args![at, id.parse::<PublicId>().unwrap()])
        .await
        .unwrap();
    assert_eq!(n, 1);
    tx.commit().await.unwrap();
}

async fn the_workflow_allows_its_actions_and_refuses_others_listing_the_allowed_ones(db: TestDb) {
    let app = TestApp::start(db).await;
    let sue = app.user("sue@example.com", "support").await;
    let acc = account(&app, &app.user("mgr@example.com", "sales_manager").await, "Acme").await;
    let c =
        new_case(&app, &sue, json!({"account_id": acc, "subject": "Drill stops after a minute", "kind": "problem"}))
            .await;
    assert_eq!((c["status"].as_str(), c["priority"].as_str()), (Some("new"), Some("normal")));
    assert_eq!(c["allowed_actions"], json!(["open", "wait", "resolve"]));
    assert_eq!(c["assignee_id"], sue.user.id.to_string(), "whoever logs a case has it");
    let id = c["id"].as_str().unwrap().to_string();

    let refused = |status: u16, p: &Value, allowed: &str| {
        assert_eq!((status, p["code"].as_str()), (409, Some("invalid_transition")), "{p}");
        assert!(p["detail"].as_str().unwrap().ends_with(&format!("allowed actions: {allowed}")), "{p}");
    };
    let (status, p) = act(&app, &id, "close", &sue, json!({})).await;
    refused(status, &p, "open, wait, resolve");
    let (status, p) = act(&app, &id, "reopen", &sue, json!({})).await;
    refused(status, &p, "open, wait, resolve");
    let (status, c) = act(&app, &id, "open", &sue, json!({})).await;
    assert_eq!((status, c["status"].as_str()), (200, Some("open")), "{c}");
    let (status, p) = act(&app, &id, "open", &sue, json!({})).await;
    refused(status, &p, "wait, resolve");
    let (_, c) = act(&app, &id, "wait", &sue, json!({})).await;
    assert_eq!((c["status"].as_str(), c["allowed_actions"].clone()), (Some("waiting"), json!(["open", "resolve"])));
    let (_, c) = act(&app, &id, "open", &sue, json!({})).await;
    assert_eq!(c["status"], "open");

    // Resolving needs a resolution; without one nothing changes.
    let version = c["version"].as_i64().unwrap();
    let (status, p) = act(&app, &id, "resolve", &sue, json!({})).await;
    assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some("resolution")), "{p}");
    let (status, p) = act(&app, &id, "wait", &sue, json!({"resolution": "x"})).await;
    assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some("resolution")), "only resolve takes one");
    let (_, now) = json(app.get(&format!("/api/v1/cases/{id}"), &sue).await).await;
    assert_eq!((now["version"].as_i64(), now["status"].as_str()), (Some(version), Some("open")));
    let (status, c) = act(&app, &id, "resolve", &sue, json!({"resolution": "Replaced the battery pack"})).await;
    assert_eq!(
        (status, c["status"].as_str(), c["resolution"].as_str()),
        (200, Some("resolved"), Some("Replaced the battery pack"))
    );
    let (status, p) = act(&app, &id, "wait", &sue, json!({})).await;
    refused(status, &p, "close, reopen");
    let (_, c) = act(&app, &id, "close", &sue, json!({})).await;
    assert_eq!((c["status"].as_str(), c["allowed_actions"].clone()), (Some("closed"), json!(["reopen"])));
    assert!(c["closed_at"].is_string());
    let (status, p) = act(&app, &id, "resolve", &sue, json!({})).await;
    refused(status, &p, "reopen");
    let (_, c) = act(&app, &id, "reopen", &sue, json!({})).await;
    assert_eq!(c["status"], "open");
    assert!(c["closed_at"].is_null() && c["resolved_at"].is_null() && c["resolution_seconds"].is_null(), "{c}");

    let (status, p) = act(&app, &id, "escalate", &sue, json!({})).await;
    assert_eq!(status, 404, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("open, wait, resolve, close, reopen"));
    let r = app
        .req(Method::POST, &format!("/api/v1/cases/{id}/actions/open"), &sue)
        .header("if-match", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 412, "a stale version is refused");
    let (_, log) =
        json(app.get(&format!("/api/v1/audit-log?record_id={id}"), &app.user("adm@example.com", "admin").await).await)
            .await;
    assert_eq!(log["data"].as_array().unwrap().len(), 7, "created and six actions taken, nothing for refusals");
}

async fn service_times_are_computed_from_the_stored_times_and_satisfaction_waits_for_the_resolution(db: TestDb) {
    let app = TestApp::start(db).await;
    let sue = app.user("sue@example.com", "support").await;
    let tom = app.user("tom@example.com", "support").await;
    let acc = account(&app, &app.user("mgr@example.com", "sales_manager").await, "Globex").await;
    let c = new_case(
        &app,
        &sue,
        json!({"account_id": acc, "subject": "Wrong invoice total", "kind": "complaint", "priority": "high",
        "document": {"type": "invoice", "id": "INV-2026-00042"}}),
    )
    .await;
    assert_eq!(c["document"], json!({"type": "invoice", "id": "INV-2026-00042"}));
    assert!(c["first_response_seconds"].is_null() && c["resolution_seconds"].is_null());
    let id = c["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/cases/{id}");
    logged_hours_ago(&app, &id, 2).await;

    // Editing the priority is no response; handing the case to a colleague is.
    let (_, c) = patch(&app, &path, &sue, json!({"priority": "urgent"})).await;
    assert!(c["first_response_seconds"].is_null(), "{c}");
    let (status, c) = patch(&app, &path, &sue, json!({"assignee_id": tom.user.id.to_string()})).await;
    assert_eq!(status, 200, "{c}");
    let first = c["first_response_seconds"].as_i64().unwrap();
    assert_eq!(first, (ts(&c["first_response_at"]) - ts(&c["created_at"])).whole_seconds());
    assert!((7200..7260).contains(&first), "about two hours: {first}");

    let (status, p) = patch(&app, &path, &tom, json!({"satisfaction": 4})).await;
    assert_eq!(
        (status, p["errors"][0]["field"].as_str()),
        (422, Some("satisfaction")),
        "not before the resolution: {p}"
    );
    logged_hours_ago(&app, &id, 5).await;
    let first_at = c["first_response_at"].clone();
    let (_, c) = act(&app, &id, "open", &tom, json!({})).await;
    assert_eq!(c["first_response_at"], first_at, "the first response stays as it was");
    let (_, c) = act(&app, &id, "resolve", &tom, json!({"resolution": "Credit note sent"})).await;
    let took = c["resolution_seconds"].as_i64().unwrap();
    assert_eq!(took, (ts(&c["resolved_at"]) - ts(&c["created_at"])).whole_seconds());
    assert!((18_000..18_060).contains(&took), "about five hours: {took}");

    for (body, field) in [
        (json!({"satisfaction": 6}), "satisfaction"),
        (json!({"satisfaction": 0}), "satisfaction"),
        (json!({"satisfaction": "5"}), "satisfaction"),
        (json!({"satisfaction_comment": "Great"}), "satisfaction_comment"),
    ] {
        let (status, p) = patch(&app, &path, &tom, body.clone()).await;
        assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some(field)), "{body}: {p}");
    }
    let (status, c) =
        patch(&app, &path, &tom, json!({"satisfaction": 5, "satisfaction_comment": "Quick and friendly"})).await;
    assert_eq!((status, c["satisfaction"].as_i64()), (200, Some(5)), "{c}");
    let (_, c) = act(&app, &id, "reopen", &tom, json!({})).await;
    assert!(c["resolution_seconds"].is_null(), "reopening clears the resolution time");
    let (_, c) = act(&app, &id, "resolve", &tom, json!({})).await;
    assert!(c["resolution_seconds"].as_i64().unwrap() >= took, "timed from creation again, the resolution text stands");
}

async fn cases_follow_record_scope(db: TestDb) {
    let app = TestApp::start(db).await;
    let sue = app.user("sue@example.com", "support").await;
    let rob = app.user("rob@example.com", "sales_rep").await;
    let sara = app.user("sara@example.com", "sales_rep").await;
    let robs_acc = account(&app, &rob, "Rob's customer").await;
    let saras_acc = account(&app, &sara, "Sara's customer").await;
    let robs = new_case(&app, &rob, json!({"account_id": robs_acc, "subject": "Where is my order?"})).await;
    let for_sara = new_case(
        &app,
        &sue,
        json!({"account_id": saras_acc, "subject": "Broken hinge", "assignee_id": sara.user.id.to_string()}),
    )
    .await;
    new_case(&app, &sue, json!({"account_id": saras_acc, "subject": "Unassigned", "assignee_id": null})).await;

    let subjects = |v: &Value| {
        v["data"].as_array().unwrap().iter().map(|c| c["subject"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    let (_, list) = json(app.get("/api/v1/cases", &sue).await).await;
    assert_eq!(subjects(&list).len(), 3, "support sees every case");
    let (_, list) = json(app.get("/api/v1/cases", &rob).await).await;
    assert_eq!(subjects(&list), ["Where is my order?"]);
    let (_, list) = json(app.get("/api/v1/cases", &sara).await).await;
    assert_eq!(subjects(&list), ["Broken hinge"], "a case assigned to a rep is theirs");
    let hers = format!("/api/v1/cases/{}", for_sara["id"].as_str().unwrap());
    assert_eq!(app.get(&hers, &rob).await.status(), 404);
    assert_eq!(patch(&app, &hers, &rob, json!({"subject": "x"})).await.0, 404);
    assert_eq!(act(&app, for_sara["id"].as_str().unwrap(), "open", &rob, json!({})).await.0, 404);
    assert_eq!(app.get(&format!("/api/v1/accounts/{saras_acc}/cases"), &rob).await.status(), 404);
    let (_, list) = json(app.get(&format!("/api/v1/accounts/{saras_acc}/cases"), &sue).await).await;
    assert_eq!(subjects(&list).len(), 2);
    let (_, list) = json(app.get(&format!("/api/v1/cases?assignee_id={}&status=new", sara.user.id), &sue).await).await;
    assert_eq!(subjects(&list), ["Broken hinge"]);
    // Reps cannot delete cases; support can.
    let robs_path = format!("/api/v1/cases/{}", robs["id"].as_str().unwrap());
    assert_eq!(app.req(Method::DELETE, &robs_path, &rob).send().await.unwrap().status(), 403);
    assert_eq!(app.req(Method::DELETE, &robs_path, &sue).send().await.unwrap().status(), 204);
}

async fn bad_case_input_names_the_field_and_stores_nothing(db: TestDb) {
    let app = TestApp::start(db).await;
    let sue = app.user("sue@example.com", "support").await;
    let acc = account(&app, &app.user("mgr@example.com", "sales_manager").await, "Initech").await;
    let counts = app.log_counts().await;
    let ok = json!({"account_id": acc, "subject": "Help"});
    let with = |k: &str, v: Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    for (body, field) in [
        (json!({"subject": "Help"}), "account_id"),
        (json!({"account_id": acc}), "subject"),
        (with("subject", json!(" ")), "subject"),
        (with("kind", json!("bug")), "kind"),
        (with("priority", json!("asap")), "priority"),
        (with("status", json!("closed")), "status"),
        (with("product_id", json!(acc)), "product_id"),
        (with("assignee_id", json!(acc)), "assignee_id"),
        (with("account_id", json!(PublicId::new().to_string())), "account_id"),
        (with("document", json!({"type": "Sales Order", "id": "1"})), "document.type"),
        (with("document", json!({"type": "invoice"})), "document"),
        (with("satisfaction", json!(5)), "satisfaction"),
    ] {
        let (status, p) = json(app.post("/api/v1/cases", &sue, &body).await).await;
        assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some(field)), "{body}: {p}");
    }
    let (_, list) = json(app.get("/api/v1/cases", &sue).await).await;
    assert!(list["data"].as_array().unwrap().is_empty(), "nothing stored");
    assert_eq!(app.log_counts().await, counts);
}

async fn the_case_pages_offer_only_the_allowed_actions_and_take_them(db: TestDb) {
    let app = TestApp::start(db).await;
    let sue = app.user("sue@example.com", "support").await;
    let acc = account(&app, &app.user("mgr@example.com", "sales_manager").await, "Pied Piper").await;
    let cookie = session(&app, "sue@example.com").await;
    let me = sue.user.id.to_string();
    let mut fields = vec![
        ("account_id", acc.as_str()),
        ("subject", " "),
        ("kind", "problem"),
        ("priority", "high"),
        ("assignee_id", me.as_str()),
        ("product_id", ""),
        ("document.type", "invoice"),
        ("document.id", ""),
        ("description", "Compression ratio is off"),
    ];
    let (status, _, html) = form(&app, &cookie, "/cases", &fields).await;
    assert_eq!(status, 422);
    assert!(
        html.contains("aria-describedby=\"subject-err\"") && html.contains("aria-describedby=\"document.id-err\""),
        "{html}"
    );
    let (_, list) = json(app.get("/api/v1/cases", &sue).await).await;
    assert!(list["data"].as_array().unwrap().is_empty(), "nothing was stored");
    fields[1] = ("subject", "Compression is off");
    fields[7] = ("document.id", "INV-7");
    let (status, location, _) = form(&app, &cookie, "/cases", &fields).await;
    assert_eq!(status, 303);
    let (_, html) = page(&app, &cookie, &location).await;
    for a in ["open", "wait", "resolve"] {
        assert!(html.contains(&format!("{location}/actions/{a}\"")), "{a} is offered");
    }
    for a in ["close", "reopen"] {
        assert!(!html.contains(&format!("{location}/actions/{a}\"")), "{a} is not offered");
    }
    assert!(html.contains("invoice INV-7"));

    let (status, _, html) = form(&app, &cookie, &format!("{location}/actions/close"), &[]).await;
    assert_eq!(status, 409);
    assert!(html.contains("allowed actions: open, wait, resolve"), "{html}");
    let (status, _, html) = form(&app, &cookie, &format!("{location}/actions/resolve"), &[("resolution", "")]).await;
    assert_eq!(status, 422);
    assert!(html.contains("is required to resolve a case"), "{html}");
    let (status, back, _) =
        form(&app, &cookie, &format!("{location}/actions/resolve"), &[("resolution", "Tuned the codec")]).await;
    assert_eq!((status, back.as_str()), (303, location.as_str()));
    let (_, html) = page(&app, &cookie, &location).await;
    assert!(
        html.contains(&format!("{location}/actions/close\"")) && !html.contains(&format!("{location}/actions/open\""))
    );
    assert!(html.contains("Tuned the codec"));

    // Once resolved, the form offers the rating.
    let (_, html) = page(&app, &cookie, &format!("{location}/edit")).await;
    assert!(html.contains("name=\"satisfaction\""));
    let mut rated = fields.clone();
    rated.extend([
        ("resolution", "Tuned the codec"),
        ("satisfaction", "4"),
        ("satisfaction_comment", "Fast"),
        ("version", "2"),
    ]);
    let (status, _, html) = form(&app, &cookie, &location, &rated).await;
    assert_eq!(status, 303, "{html}");
    let (_, c) = json(app.get(&format!("/api/v1{location}"), &sue).await).await;
    assert_eq!((c["satisfaction"].as_i64(), c["satisfaction_comment"].as_str()), (Some(4), Some("Fast")));
    let (_, html) = page(&app, &cookie, "/cases?status=resolved&priority=high").await;
    assert!(html.contains("Compression is off") && html.contains("4/5"));
    let (_, html) = page(&app, &cookie, "/cases?status=open").await;
    assert!(!html.contains("Compression is off"));
}

both_backends!(
    the_workflow_allows_its_actions_and_refuses_others_listing_the_allowed_ones,
    service_times_are_computed_from_the_stored_times_and_satisfaction_waits_for_the_resolution,
    cases_follow_record_scope,
    bad_case_input_names_the_field_and_stores_nothing,
    the_case_pages_offer_only_the_allowed_actions_and_take_them,
);
