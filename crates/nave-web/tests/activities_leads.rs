//! Activities on the account timeline, and leads with their conversion, over
//! real HTTP on both databases.

mod support;

use nave_testkit::{TestDb, both_backends};
use reqwest::Method;
use serde_json::{Value, json};
use support::{TestApp, TestUser, form, json, page, session};

async fn account(app: &TestApp, who: &TestUser, name: &str) -> String {
    let body = json!({"name": name, "kinds": ["customer"], "currency": "USD", "allow_duplicate": true});
    let (status, a) = json(app.post("/api/v1/accounts", who, &body).await).await;
    assert_eq!(status, 201, "{a}");
    a["id"].as_str().unwrap().to_string()
}

fn kinds(list: &Value) -> Vec<String> {
    list["data"].as_array().unwrap().iter().map(|a| a["kind"].as_str().unwrap().to_string()).collect()
}

async fn the_timeline_shows_an_accounts_touches_newest_first_within_scope(db: TestDb) {
    let app = TestApp::start(db).await;
    let ann = app.user("ann@example.com", "sales_rep").await;
    let bob = app.user("bob@example.com", "sales_rep").await;
    let acme = account(&app, &ann, "Acme").await;
    let other = account(&app, &bob, "Globex").await;
    let (status, contact) = json(
        app.post("/api/v1/contacts", &ann, &json!({"account_id": acme, "first_name": "Jo", "last_name": "Buyer"}))
            .await,
    )
    .await;
    assert_eq!(status, 201, "{contact}");
    let jo = contact["id"].as_str().unwrap();
    let at = |d: u32| format!("2026-03-{d:02}T09:00:00Z");
    for (kind, extra, day) in [
        (
            "call",
            json!({"subject": "Intro", "direction": "outbound", "duration_seconds": 300, "outcome": "connected", "contact_id": jo}),
            2,
        ),
        ("meeting", json!({"subject": "Demo", "ends_at": "2026-03-05T10:30:00Z", "attendees": ["Jo", "Ann"]}), 5),
        (
            "email",
            json!({"subject": "Offer", "direction": "outbound", "email_to": ["jo@acme.example"], "body": "Please find…"}),
            6,
        ),
        ("task", json!({"subject": "Send samples", "due_date": "2026-03-10"}), 7),
        ("note", json!({"body": "Prefers email over calls"}), 8),
        ("chat", json!({"body": "Visitor: do you ship to Canada?\nAnn: yes"}), 9),
    ] {
        let mut body = extra.clone();
        body["kind"] = json!(kind);
        body["account_id"] = json!(acme);
        body["occurred_at"] = json!(at(day));
        let (status, a) = json(app.post("/api/v1/activities", &ann, &body).await).await;
        assert_eq!(status, 201, "{kind}: {a}");
    }
    let (_, timeline) = json(app.get(&format!("/api/v1/accounts/{acme}/timeline"), &ann).await).await;
    assert_eq!(kinds(&timeline), vec!["chat", "note", "task", "email", "meeting", "call"], "newest first");
    let (_, calls) = json(app.get(&format!("/api/v1/accounts/{acme}/timeline?kind=call,meeting"), &ann).await).await;
    assert_eq!(kinds(&calls), vec!["meeting", "call"]);
    let (_, paged) = json(app.get(&format!("/api/v1/accounts/{acme}/timeline?limit=4"), &ann).await).await;
    assert_eq!(kinds(&paged).len(), 4);
    let next = paged["next"].as_str().unwrap();
    let (_, rest) = json(app.get(&format!("/api/v1/accounts/{acme}/timeline?limit=4&after={next}"), &ann).await).await;
    assert_eq!(kinds(&rest), vec!["meeting", "call"], "the second page goes on where the first stopped");
    let (_, by_contact) = json(app.get(&format!("/api/v1/activities?contact_id={jo}"), &ann).await).await;
    assert_eq!(kinds(&by_contact), vec!["call"]);

    // Bob sees none of it, and cannot log on Acme; his own account is his.
    assert_eq!(app.get(&format!("/api/v1/accounts/{acme}/timeline"), &bob).await.status(), 404);
    let (_, all) = json(app.get("/api/v1/activities", &bob).await).await;
    assert!(all["data"].as_array().unwrap().is_empty());
    let (status, _) =
        json(app.post("/api/v1/activities", &bob, &json!({"kind": "note", "account_id": acme, "body": "x"})).await)
            .await;
    assert_eq!(status, 422);
    let (status, _) =
        json(app.post("/api/v1/activities", &bob, &json!({"kind": "note", "account_id": other, "body": "mine"})).await)
            .await;
    assert_eq!(status, 201);

    // Bad input names the field; nothing is stored.
    for (bad, field) in [
        (json!({"kind": "call", "account_id": acme, "subject": "x"}), "direction"),
        (
            json!({"kind": "meeting", "account_id": acme, "subject": "x", "occurred_at": at(3), "ends_at": at(2)}),
            "ends_at",
        ),
        (
            json!({"kind": "note", "account_id": acme, "body": "x", "contact_id": contact["id"], "due_date": "2026-01-01"}),
            "due_date",
        ),
        (json!({"kind": "note", "body": "x"}), "account_id"),
        (json!({"kind": "gossip", "account_id": acme}), "kind"),
    ] {
        let (status, p) = json(app.post("/api/v1/activities", &ann, &bad).await).await;
        assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some(field)), "{bad}: {p}");
    }
    // A contact of another account cannot be named.
    let (status, p) = json(
        app.post(
            "/api/v1/activities",
            &bob,
            &json!({"kind": "note", "account_id": other, "body": "x", "contact_id": jo}),
        )
        .await,
    )
    .await;
    assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some("contact_id")));
    let (_, timeline) = json(app.get(&format!("/api/v1/accounts/{acme}/timeline"), &ann).await).await;
    assert_eq!(kinds(&timeline).len(), 6);

    // Ticking the task done records when; the account page shows the timeline with a log form.
    let task = timeline["data"].as_array().unwrap().iter().find(|a| a["kind"] == "task").unwrap().clone();
    let path = format!("/api/v1/activities/{}", task["id"].as_str().unwrap());
    let (status, done) =
        json(app.req(Method::PATCH, &path, &ann).json(&json!({"done": true})).send().await.unwrap()).await;
    assert_eq!(status, 200, "{done}");
    assert!(done["done_at"].is_string());
    let cookie = session(&app, "ann@example.com").await;
    let (status, html) = page(&app, &cookie, &format!("/accounts/{acme}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Prefers email over calls") && html.contains("Log an activity"), "{html}");
    let (status, location, _) = form(
        &app,
        &cookie,
        "/activities",
        &[
            ("owner_type", "account"),
            ("owner_id", &acme),
            ("kind", "task"),
            ("subject", "Call back"),
            ("due_date", "2026-04-01"),
        ],
    )
    .await;
    assert_eq!((status, location.as_str()), (303, format!("/accounts/{acme}").as_str()));
    let (_, html) = page(&app, &cookie, "/").await;
    assert!(html.contains("Call back"), "the home page lists my open tasks: {html}");
    let (status, _, html) =
        form(&app, &cookie, "/activities", &[("owner_type", "account"), ("owner_id", &acme), ("kind", "call")]).await;
    assert_eq!(status, 422);
    assert!(html.contains("direction"), "{html}");
}

async fn a_lead_converts_once_into_an_account_a_contact_and_an_opportunity(db: TestDb) {
    let app = TestApp::start(db).await;
    let ann = app.user("ann@example.com", "sales_rep").await;
    let bob = app.user("bob@example.com", "sales_rep").await;
    let body = json!({"company": "Initech", "first_name": "Peter", "last_name": "Gibbons", "title": "Engineer",
        "email": "peter@initech.example", "phone": "+1 555 0100", "source": "trade fair", "estimated_amount": "12000.00"});
    let (status, lead) = json(app.post("/api/v1/leads", &ann, &body).await).await;
    assert_eq!(status, 201, "{lead}");
    assert_eq!(lead["status"], "new");
    let id = lead["id"].as_str().unwrap().to_string();
    let (status, _) = json(
        app.post(
            "/api/v1/activities",
            &ann,
            &json!({"kind": "call", "lead_id": id, "subject": "Qualifying", "direction": "outbound"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(app.get(&format!("/api/v1/leads/{id}"), &bob).await.status(), 404, "leads are their owner's");
    for (bad, field) in [
        (json!({"company": "X", "email": "not-an-email"}), "email"),
        (json!({"company": "X", "status": "converted"}), "status"),
        (json!({"company": "", "first_name": "", "last_name": ""}), "company"),
        (json!({"company": "X", "estimated_amount": "-5"}), "estimated_amount"),
    ] {
        let (status, p) = json(app.post("/api/v1/leads", &ann, &bad).await).await;
        assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some(field)), "{bad}: {p}");
    }

    let convert = format!("/api/v1/leads/{id}/actions/convert");
    let req = json!({"opportunity": {"expected_close": "2026-06-30"}});
    let send = || app.req(Method::POST, &convert, &ann).header("idempotency-key", "convert-initech").json(&req).send();
    let (status, converted) = json(send().await.unwrap()).await;
    assert_eq!(status, 200, "{converted}");
    assert_eq!(converted["status"], "converted");
    let (status, again) = json(send().await.unwrap()).await;
    assert_eq!(status, 200, "a retry replays the answer");
    assert_eq!(again["account_id"], converted["account_id"]);
    let (status, p) = json(app.req(Method::POST, &convert, &ann).json(&req).send().await.unwrap()).await;
    assert_eq!(status, 409, "a second conversion is refused: {p}");
    assert_eq!(p["code"], "invalid_transition");

    // Exactly one of each was made, linked, and the lead's call moved to the account.
    let acc = converted["account_id"].as_str().unwrap();
    let (_, accounts) = json(app.get("/api/v1/accounts", &ann).await).await;
    assert_eq!(accounts["data"].as_array().unwrap().len(), 1);
    assert_eq!(accounts["data"][0]["name"], "Initech");
    let (_, contacts) = json(app.get(&format!("/api/v1/accounts/{acc}/contacts"), &ann).await).await;
    assert_eq!(contacts["data"].as_array().unwrap().len(), 1);
    assert_eq!(contacts["data"][0]["last_name"], "Gibbons");
    assert_eq!(Some(contacts["data"][0]["id"].as_str().unwrap()), converted["contact_id"].as_str());
    let (_, opps) = json(app.get(&format!("/api/v1/accounts/{acc}/opportunities"), &ann).await).await;
    assert_eq!(opps["data"].as_array().unwrap().len(), 1);
    assert_eq!(opps["data"][0]["amount"], "12000.00");
    let (_, timeline) = json(app.get(&format!("/api/v1/accounts/{acc}/timeline"), &ann).await).await;
    assert_eq!(timeline["data"][0]["subject"], "Qualifying");
    assert_eq!(timeline["data"][0]["lead_id"].as_str(), Some(id.as_str()), "the history stays linked to the lead");
    let (status, _) = json(
        app.req(Method::PATCH, &format!("/api/v1/leads/{id}"), &ann).json(&json!({"notes": "x"})).send().await.unwrap(),
    )
    .await;
    assert_eq!(status, 409, "a converted lead is kept as it was");

    // From the pages: a lead converted into an existing account's new contact, without an opportunity.
    let cookie = session(&app, "ann@example.com").await;
    let (status, location, _) = form(
        &app,
        &cookie,
        "/leads",
        &[("company", "Hooli"), ("first_name", "Gavin"), ("status", "qualified"), ("currency", "USD")],
    )
    .await;
    assert_eq!(status, 303, "{location}");
    let (status, html) = page(&app, &cookie, &location).await;
    assert_eq!(status, 200);
    assert!(html.contains("Convert lead"));
    let version = "1";
    let (status, to, _) =
        form(&app, &cookie, &format!("{location}/convert"), &[("version", version), ("expected_close", "")]).await;
    assert_eq!(status, 303);
    assert!(to.starts_with("/accounts/"), "{to}");
    let (_, accounts) = json(app.get("/api/v1/accounts", &ann).await).await;
    assert_eq!(accounts["data"].as_array().unwrap().len(), 2);
}

both_backends!(
    the_timeline_shows_an_accounts_touches_newest_first_within_scope,
    a_lead_converts_once_into_an_account_a_contact_and_an_opportunity,
);
