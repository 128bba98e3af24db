//! Merging duplicate accounts (`POST /accounts/{id}/actions/merge`) over
//! real HTTP on both databases: everything moves, nothing is left pointing
//! at the merged account, the audit log and the events say so, bad merges
//! are refused with the reason, and retries replay.

mod support;

use nave_domain::ids::PublicId;
use nave_store::args;
use nave_testkit::{TestDb, both_backends};
use reqwest::Method;
use serde_json::{Value, json};
use support::{TestApp, TestUser, form, json, page, session};

async fn created(app: &TestApp, who: &TestUser, path: &str, body: Value) -> Value {
    let (status, v) = json(app.post(path, who, &body).await).await;
    assert_eq!(status, 201, "{path}: {v}");
    v
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

async fn key_of(app: &TestApp, id: &str) -> i64 {
    let mut tx = app.db.db.write().await.unwrap();
    let k = tx
        .scalar_i64("SELECT id AS v FROM accounts WHERE public_id = $1", args![id.parse::<PublicId>().unwrap()])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    k
}

/// Every column that refers to an account by key.
const REFERENCES: [(&str, &str); 12] = [
    ("accounts", "parent_id"),
    ("contacts", "account_id"),
    ("activities", "account_id"),
    ("opportunities", "account_id"),
    ("cases", "account_id"),
    ("leads", "account_id"),
    ("account_addresses", "account_id"),
    ("account_external_ids", "account_id"),
    ("account_price_lists", "account_id"),
    ("product_suppliers", "supplier_id"),
    ("attachments", "record_id"),
    ("search_terms", "record_id"),
];

async fn references(app: &TestApp, key: i64) -> Vec<(String, i64)> {
    let mut tx = app.db.db.write().await.unwrap();
    let mut out = Vec::new();
    for (table, col) in REFERENCES {
        let extra = if matches!(table, "attachments" | "search_terms") { " AND record_type = 'account'" } else { "" };
        let sql = format!("SELECT COUNT(*) AS v FROM {table} WHERE {col} = $1{extra}");
        out.push((format!("{table}.{col}"), tx.scalar_i64(sql, args![key]).await.unwrap()));
    }
    tx.commit().await.unwrap();
    out
}

async fn merge(app: &TestApp, who: &TestUser, loser: &str, into: &str, key: Option<&str>) -> (u16, Value) {
    let mut r =
        app.req(Method::POST, &format!("/api/v1/accounts/{loser}/actions/merge"), who).json(&json!({"into": into}));
    if let Some(k) = key {
        r = r.header("Idempotency-Key", k);
    }
    json(r.send().await.unwrap()).await
}

async fn a_merge_moves_every_linked_record_and_leaves_nothing_pointing_at_the_duplicate(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let keep = created(
        &app,
        &admin,
        "/api/v1/accounts",
        json!({"name": "Acme", "kinds": ["customer", "supplier"],
        "currency": "EUR", "external_ids": [{"system": "erp", "id": "C-1"}],
        "addresses": [{"label": "HQ", "line1": "1 Main St", "city": "Springfield", "country": "US",
                       "is_default_billing": true, "is_default_shipping": true}]}),
    )
    .await;
    let dup = created(
        &app,
        &admin,
        "/api/v1/accounts",
        json!({"name": "ACME Ltd", "kinds": ["customer", "supplier"],
        "currency": "EUR", "allow_duplicate": true,
        "external_ids": [{"system": "erp", "id": "C-2"}, {"system": "shop", "id": "S-9"}],
        "addresses": [{"label": "Depot", "line1": "2 Side St", "city": "Shelbyville", "country": "US",
                       "is_default_billing": true, "is_default_shipping": true}]}),
    )
    .await;
    let (keep_id, dup_id) = (id(&keep), id(&dup));
    let dup_key = key_of(&app, &dup_id).await;
    created(
        &app,
        &admin,
        "/api/v1/contacts",
        json!({"account_id": keep_id, "first_name": "Kim", "last_name": "Keep", "is_primary": true}),
    )
    .await;
    created(
        &app,
        &admin,
        "/api/v1/contacts",
        json!({"account_id": dup_id, "first_name": "Dan", "last_name": "Dup", "is_primary": true}),
    )
    .await;
    created(&app, &admin, "/api/v1/activities", json!({"kind": "note", "account_id": dup_id, "body": "Met at fair"}))
        .await;
    created(
        &app,
        &admin,
        "/api/v1/opportunities",
        json!({"account_id": dup_id, "name": "Deal", "expected_close": "2026-06-30"}),
    )
    .await;
    created(&app, &admin, "/api/v1/cases", json!({"account_id": dup_id, "subject": "Broken"})).await;
    created(&app, &admin, "/api/v1/accounts", json!({"name": "Acme Branch", "parent_id": dup_id, "currency": "EUR"}))
        .await;
    let (status, a) = json(
        app.req(
            Method::POST,
            &format!("/api/v1/attachments?record_type=account&record_id={dup_id}&filename=c.txt"),
            &admin,
        )
        .body(b"contract".to_vec())
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{a}");
    let product = created(&app, &admin, "/api/v1/products", json!({"sku": "B-1", "name": "Bolt"})).await;
    let (status, p) = json(
        app.req(Method::PATCH, &format!("/api/v1/products/{}", id(&product)), &admin)
            .json(&json!({"suppliers": [{"supplier_id": dup_id, "cost": "1"}]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{p}");
    created(&app, &admin, "/api/v1/price-lists", json!({"name": "Dealers", "account_ids": [dup_id]})).await;
    let lead = created(&app, &admin, "/api/v1/leads", json!({"company": "Acme", "last_name": "Lee"})).await;
    {
        let mut tx = app.db.db.write().await.unwrap();
        tx.execute(
            "UPDATE leads SET account_id = $1 WHERE public_id = $2",
            args![dup_key, lead["id"].as_str().unwrap().parse::<PublicId>().unwrap()],
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let before = references(&app, dup_key).await;
    for (what, n) in &before {
        assert!(*n > 0, "the duplicate has no {what}: the test would not see a missed table");
    }

    let (status, after) = merge(&app, &admin, &dup_id, &keep_id, Some("merge-1")).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(
        references(&app, dup_key).await.iter().filter(|(_, n)| *n > 0).collect::<Vec<_>>(),
        Vec::<&(String, i64)>::new()
    );
    assert_eq!(app.get(&format!("/api/v1/accounts/{dup_id}"), &admin).await.status(), 404);
    assert_eq!(after["external_ids"], json!([{"system": "erp", "id": "C-1"}, {"system": "shop", "id": "S-9"}]));
    let addrs = after["addresses"].as_array().unwrap();
    assert_eq!(addrs.len(), 2);
    assert_eq!(addrs.iter().filter(|a| a["is_default_billing"] == true).count(), 1, "the survivor's default stays");
    let (_, contacts) = json(app.get(&format!("/api/v1/accounts/{keep_id}/contacts"), &admin).await).await;
    let primary: Vec<&Value> =
        contacts["data"].as_array().unwrap().iter().filter(|c| c["is_primary"] == true).collect();
    assert_eq!((contacts["data"].as_array().unwrap().len(), primary.len()), (2, 1));
    assert_eq!(primary[0]["last_name"], "Keep", "the survivor keeps its primary contact");
    let (_, ov) = json(app.get(&format!("/api/v1/accounts/{keep_id}/overview"), &admin).await).await;
    assert_eq!(ov["counts"], json!({"contacts": 2, "open_opportunities": 1, "open_cases": 1, "activities": 1}));
    assert_eq!(ov["attachments"], 1);

    // The audit log of both and the event feed tell.
    let (_, log) = json(app.get(&format!("/api/v1/audit-log?record_id={keep_id}"), &admin).await).await;
    let merged = log["data"].as_array().unwrap().iter().find(|e| e["action"] == "updated").expect("an update entry");
    assert_eq!(merged["changes"]["merged_from"]["after"]["id"], dup_id.as_str(), "{merged}");
    let (_, log) = json(app.get(&format!("/api/v1/audit-log?record_id={dup_id}"), &admin).await).await;
    assert!(log["data"].as_array().unwrap().iter().any(|e| e["action"] == "deleted"), "{log}");
    let (_, events) = json(app.get("/api/v1/events?limit=200", &admin).await).await;
    let types: Vec<(String, String)> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap_or_default().to_string(),
                e["record_id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert!(types.contains(&("account.deleted".into(), dup_id.clone())), "{events}");
    assert!(types.contains(&("account.updated".into(), keep_id.clone())), "{events}");

    // A retry with the same key replays; without it the duplicate is gone.
    let (status, again) = merge(&app, &admin, &dup_id, &keep_id, Some("merge-1")).await;
    assert_eq!((status, again["id"].clone()), (200, after["id"].clone()));
    assert_eq!(merge(&app, &admin, &dup_id, &keep_id, None).await.0, 404);
}

async fn bad_merges_are_refused_with_the_reason(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let rep = app.user("rep@example.com", "sales_rep").await;
    let acc = |name: &str, extra: Value| {
        let mut body = json!({"name": name, "currency": "EUR", "allow_duplicate": true});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let a = id(&created(&app, &admin, "/api/v1/accounts", acc("A", json!({}))).await);
    let child = id(&created(&app, &admin, "/api/v1/accounts", acc("A child", json!({"parent_id": a}))).await);
    let archived = id(&created(&app, &admin, "/api/v1/accounts", acc("Old", json!({}))).await);
    let r = app.req(Method::PATCH, &format!("/api/v1/accounts/{archived}"), &admin).json(&json!({"archived": true}));
    assert_eq!(r.send().await.unwrap().status(), 200);
    let usd = id(&created(&app, &admin, "/api/v1/accounts", acc("Dollar", json!({"currency": "USD"}))).await);
    for (loser, into, says) in [
        (&a, &a, "into itself"),
        (&a, &archived, "archived"),
        (&child, &a, "ancestor"),
        (&a, &child, "ancestor"),
        (&a, &usd, "different currencies"),
    ] {
        let (status, p) = merge(&app, &admin, loser, into, None).await;
        assert_eq!(status, 409, "{p}");
        assert!(p["detail"].as_str().unwrap().contains(says), "{says}: {p}");
    }
    let (status, p) = merge(&app, &admin, &a, &PublicId::new().to_string(), None).await;
    assert_eq!((status, p["errors"][0]["field"].as_str()), (422, Some("into")), "{p}");
    // A rep may not delete another's account (it is not even visible to them).
    let mine = id(&created(&app, &rep, "/api/v1/accounts", acc("Mine", json!({}))).await);
    assert_eq!(merge(&app, &rep, &a, &mine, None).await.0, 404);
    assert_eq!(app.get(&format!("/api/v1/accounts/{a}"), &admin).await.status(), 200, "nothing was merged");
}

async fn the_account_page_offers_likely_duplicates_to_merge_into(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let keep = id(&created(&app, &admin, "/api/v1/accounts", json!({"name": "Initech"})).await);
    let dup =
        id(&created(&app, &admin, "/api/v1/accounts", json!({"name": "Initech Inc.", "allow_duplicate": true})).await);
    let cookie = session(&app, "admin@example.com").await;
    let (status, html) = page(&app, &cookie, &format!("/accounts/{dup}")).await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("<option value=\"{keep}\">Initech</option>")), "{html}");
    let (status, location, body) = form(&app, &cookie, &format!("/accounts/{dup}/merge"), &[("into", &keep)]).await;
    assert_eq!((status, location.as_str()), (303, format!("/accounts/{keep}").as_str()), "{body}");
    assert_eq!(app.get(&format!("/api/v1/accounts/{dup}"), &admin).await.status(), 404);
    let (status, _, _) = form(&app, &cookie, &format!("/accounts/{keep}/merge"), &[("into_id", &keep)]).await;
    assert_eq!(status, 409, "merging into itself is refused on the page too");
}

both_backends!(
    the_account_page_offers_likely_duplicates_to_merge_into,
    a_merge_moves_every_linked_record_and_leaves_nothing_pointing_at_the_duplicate,
    bad_merges_are_refused_with_the_reason,
);
