//! The search box over real HTTP on both databases: prefix words, codes, the
//! caller's record scope, and an index that follows every change.

mod support;

use nave_testkit::{TestDb, both_backends};
use reqwest::Method;
use serde_json::json;
use support::{TestApp, TestUser, json};

async fn titles(app: &TestApp, who: &TestUser, q: &str) -> Vec<String> {
    let path = format!("/api/v1/search?q={}", form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>());
    let (status, body) = json(app.get(&path, who).await).await;
    assert_eq!(status, 200, "{body}");
    let mut t: Vec<String> =
        body["data"].as_array().unwrap().iter().map(|h| h["title"].as_str().unwrap().to_string()).collect();
    t.sort();
    t
}

async fn search_finds_by_word_beginnings_within_the_callers_scope(db: TestDb) {
    let app = TestApp::start(db).await;
    let ann = app.user("ann@example.com", "sales_rep").await;
    let bob = app.user("bob@example.com", "sales_rep").await;
    let mgr = app.user("mgr@example.com", "sales_manager").await;
    let mut ids = Vec::new();
    for (who, name, tax_id, tags) in [
        (&ann, "Acme Corporation", "DE 123.456.789", vec!["key account"]),
        (&ann, "Acme Tools Ltd", "GB999", vec![]),
        (&bob, "Müller & Söhne GmbH", "ATU 555", vec!["berlin"]),
        (&bob, "Acmeville Bakery", "", vec![]),
    ] {
        let body = json!({"name": name, "kinds": ["customer"], "currency": "EUR", "tax_id": tax_id, "tags": tags});
        let (status, a) = json(app.post("/api/v1/accounts", who, &body).await).await;
        assert_eq!(status, 201, "{a}");
        ids.push(a["id"].as_str().unwrap().to_string());
    }
    assert_eq!(titles(&app, &mgr, "acme").await, vec!["Acme Corporation", "Acme Tools Ltd", "Acmeville Bakery"]);
    assert_eq!(titles(&app, &mgr, "ACME to").await, vec!["Acme Tools Ltd"], "every word must match");
    assert_eq!(titles(&app, &mgr, "müll").await, vec!["Müller & Söhne GmbH"]);
    assert_eq!(titles(&app, &mgr, "de123456").await, vec!["Acme Corporation"], "codes without punctuation");
    assert_eq!(titles(&app, &mgr, "key").await, vec!["Acme Corporation"], "tags");
    assert!(titles(&app, &mgr, "corporationx").await.is_empty());
    assert!(titles(&app, &mgr, "   ").await.is_empty());

    // Reps find only what they may open.
    assert_eq!(titles(&app, &ann, "acme").await, vec!["Acme Corporation", "Acme Tools Ltd"]);
    assert_eq!(titles(&app, &bob, "acme").await, vec!["Acmeville Bakery"]);
    assert!(titles(&app, &bob, "de123").await.is_empty());

    // The index follows renames and deletes; the account list takes the same words.
    let path = format!("/api/v1/accounts/{}", ids[1]);
    let (status, _) =
        json(app.req(Method::PATCH, &path, &mgr).json(&json!({"name": "Zenith Tools Ltd"})).send().await.unwrap())
            .await;
    assert_eq!(status, 200);
    assert_eq!(titles(&app, &mgr, "acme").await, vec!["Acme Corporation", "Acmeville Bakery"]);
    assert_eq!(titles(&app, &mgr, "zen").await, vec!["Zenith Tools Ltd"]);
    let (_, list) = json(app.get("/api/v1/accounts?q=tools", &mgr).await).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let (status, _) = json(app.req(Method::DELETE, &path, &mgr).send().await.unwrap()).await;
    assert_eq!(status, 204);
    assert!(titles(&app, &mgr, "zen").await.is_empty());

    assert_eq!(app.get("/api/v1/search?q=a&limit=0", &mgr).await.status(), 422);
    assert_eq!(app.get("/api/v1/search", &mgr).await.status(), 422, "q is required");
}

async fn the_search_page_shows_hits_with_links(db: TestDb) {
    let app = TestApp::start(db).await;
    let mgr = app.user("mgr@example.com", "sales_manager").await;
    let (_, a) = json(
        app.post("/api/v1/accounts", &mgr, &json!({"name": "Globex", "kinds": ["customer"], "currency": "USD"})).await,
    )
    .await;
    let cookie = app.session("mgr@example.com").await;
    let (_, html) = app.page("/search?q=glo", &cookie).await;
    assert!(html.contains(&format!("href=\"/accounts/{}\"", a["id"].as_str().unwrap())), "{html}");
    let (_, html) = app.page("/search?q=nothing", &cookie).await;
    assert!(html.contains("Nothing matches"));
}

async fn search_finds_contacts_leads_opportunities_and_cases_the_caller_may_see(db: TestDb) {
    let app = TestApp::start(db).await;
    let ann = app.user("ann@example.com", "sales_rep").await;
    let bob = app.user("bob@example.com", "sales_rep").await;
    let mgr = app.user("mgr@example.com", "sales_manager").await;
    let body = json!({"name": "Umbrella Corp", "kinds": ["customer"], "currency": "USD"});
    let (_, acc) = json(app.post("/api/v1/accounts", &ann, &body).await).await;
    let acc = acc["id"].as_str().unwrap();
    let contact = json!({"account_id": acc, "first_name": "Alice", "last_name": "Marlowe", "emails": ["alice@umbrella.example"], "phones": [{"label": "work", "number": "+1 (555) 010-7788"}]});
    assert_eq!(app.post("/api/v1/contacts", &ann, &contact).await.status(), 201);
    let opp = json!({"account_id": acc, "name": "Zeppelin fleet", "amount": "5000", "expected_close": "2026-06-30"});
    assert_eq!(app.post("/api/v1/opportunities", &ann, &opp).await.status(), 201);
    let case = json!({"account_id": acc, "subject": "Zeppelin leaks helium", "kind": "problem"});
    assert_eq!(app.post("/api/v1/cases", &ann, &case).await.status(), 201);
    let lead = json!({"company": "Zeppelin Works", "first_name": "Otto"});
    assert_eq!(app.post("/api/v1/leads", &ann, &lead).await.status(), 201);

    let kinds = |v: &serde_json::Value| {
        let mut k: Vec<String> =
            v["data"].as_array().unwrap().iter().map(|h| h["record_type"].as_str().unwrap().to_string()).collect();
        k.sort();
        k
    };
    let (_, hits) = json(app.get("/api/v1/search?q=zeppelin", &ann).await).await;
    assert_eq!(kinds(&hits), vec!["case", "lead", "opportunity"]);
    for q in ["alice", "umbrella.example", "5550107788", "marl"] {
        let (_, hits) = json(app.get(&format!("/api/v1/search?q={q}"), &ann).await).await;
        assert_eq!(kinds(&hits), vec!["contact"], "{q}");
    }
    let (_, hits) = json(app.get("/api/v1/search?q=zeppelin", &mgr).await).await;
    assert_eq!(kinds(&hits), vec!["case", "lead", "opportunity"], "the manager sees all");
    for q in ["zeppelin", "alice"] {
        let (_, hits) = json(app.get(&format!("/api/v1/search?q={q}"), &bob).await).await;
        assert!(hits["data"].as_array().unwrap().is_empty(), "bob may see none of ann's records: {hits}");
    }
}

both_backends!(
    search_finds_by_word_beginnings_within_the_callers_scope,
    the_search_page_shows_hits_with_links,
    search_finds_contacts_leads_opportunities_and_cases_the_caller_may_see,
);
