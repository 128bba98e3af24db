//! Syncing with other systems over the API, on both databases: the upsert
//! and lookup by external id (idempotent, one record when two PUTs race),
//! per-field master rules (a write from another source leaves the field and
//! records one conflict; the master's write applies; accept and dismiss) and
//! the source of a token's writes on events and audit entries.

mod support;

use nave_testkit::{TestDb, both_backends};
use reqwest::Method;
use serde_json::{Value, json};
use support::{TestApp, TestUser, form, json, page, session};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// A token of `who` that writes for `system`.
async fn token_for(app: &TestApp, who: &TestUser, system: &str) -> TestUser {
    let (s, v) = json(app.post("/api/v1/tokens", who, &json!({"name": system, "source_system": system})).await).await;
    assert_eq!(s, 201, "{v}");
    TestUser { user: who.user.clone(), token: v["token"].as_str().unwrap().to_string() }
}

async fn put(app: &TestApp, who: &TestUser, path: &str, body: &Value) -> (u16, Value) {
    json(app.req(Method::PUT, path, who).json(body).send().await.unwrap()).await
}

async fn patch(app: &TestApp, who: &TestUser, path: &str, body: &Value) -> (u16, Value) {
    json(app.req(Method::PATCH, path, who).json(body).send().await.unwrap()).await
}

async fn get(app: &TestApp, who: &TestUser, path: &str) -> (u16, Value) {
    json(app.get(path, who).await).await
}

/// The field names of a 422's errors.
fn fields(v: &Value) -> Vec<String> {
    v["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_string()).collect()
}

async fn putting_by_external_id_twice_gives_one_record(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let path = "/api/v1/accounts/by-external-id/ERP/C-1001";
    let body = json!({"name": "Acme Trading", "currency": "EUR", "credit_limit": "1000"});
    let (s, first) = put(&app, &admin, path, &body).await;
    assert_eq!(s, 201, "{first}");
    assert_eq!(first["external_ids"], json!([{"system": "erp", "id": "C-1001"}]), "the path's id is attached");
    assert_eq!(first["credit_limit"], "1000.00");
    let (s, again) = put(&app, &admin, path, &body).await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(id(&again), id(&first), "the same record");
    assert_eq!((again["name"].clone(), again["credit_limit"].clone()), (json!("Acme Trading"), json!("1000.00")));
    let (_, list) = get(&app, &admin, "/api/v1/accounts?external_id=erp:C-1001").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "{list}");

    // A different body updates the fields it names; the others stay.
    let (s, changed) = put(&app, &admin, path, &json!({"name": "Acme Trading Ltd", "industry": "Retail"})).await;
    assert_eq!(s, 200, "{changed}");
    assert_eq!(id(&changed), id(&first));
    assert_eq!(
        (changed["name"].as_str(), changed["industry"].as_str(), changed["currency"].as_str()),
        (Some("Acme Trading Ltd"), Some("Retail"), Some("EUR"))
    );
    assert_eq!(changed["external_ids"], json!([{"system": "erp", "id": "C-1001"}]));

    // Lookup, unknown ids, refusals naming the field.
    let (s, found) = get(&app, &admin, "/api/v1/accounts/by-external-id/erp/C-1001").await;
    assert_eq!((s, found["name"].as_str()), (200, Some("Acme Trading Ltd")), "{found}");
    let (s, _) = get(&app, &admin, "/api/v1/accounts/by-external-id/erp/C-9999").await;
    assert_eq!(s, 404);
    let (s, v) =
        put(&app, &admin, "/api/v1/accounts/by-external-id/erp/C-2", &json!({"name": "X", "credit_limit": 5})).await;
    assert_eq!((s, fields(&v)), (422, vec!["credit_limit".to_string()]), "{v}");
    let (s, v) =
        put(&app, &admin, "/api/v1/accounts/by-external-id/erp/C-2", &json!({"name": "X", "colour": "red"})).await;
    assert_eq!((s, fields(&v)), (422, vec!["colour".to_string()]), "{v}");
    let (s, v) = put(&app, &admin, "/api/v1/accounts/by-external-id/erp/C-2", &json!({"name": ""})).await;
    assert_eq!((s, fields(&v)), (422, vec!["name".to_string()]), "{v}");
    let other = json!({"name": "Y", "external_ids": [{"system": "erp", "id": "C-3"}]});
    let (s, v) = put(&app, &admin, "/api/v1/accounts/by-external-id/erp/C-2", &other).await;
    assert_eq!((s, fields(&v)), (422, vec!["external_ids".to_string()]), "{v}");
    let (s, v) = put(&app, &admin, "/api/v1/accounts/by-external-id/web%20shop/C-2", &json!({"name": "Z"})).await;
    assert_eq!((s, fields(&v)), (422, vec!["system".to_string()]), "{v}");
    let (_, list) = get(&app, &admin, "/api/v1/accounts?external_id=erp:C-2").await;
    assert!(list["data"].as_array().unwrap().is_empty(), "refused PUTs store nothing: {list}");

    // The 360° view shows the account's ids in other systems.
    let (s, o) = get(&app, &admin, &format!("/api/v1/accounts/{}/overview", id(&first))).await;
    assert_eq!(s, 200, "{o}");
    assert_eq!(o["account"]["external_ids"], json!([{"system": "erp", "id": "C-1001"}]));
    assert_eq!(o["open_sync_conflicts"], 0);

    // Contacts and products the same way.
    let contact =
        json!({"account_id": id(&first), "first_name": "Ann", "last_name": "Lee", "emails": ["ann@acme.example"]});
    let (s, c1) = put(&app, &admin, "/api/v1/contacts/by-external-id/shop/P-1", &contact).await;
    assert_eq!(s, 201, "{c1}");
    let (s, c2) = put(&app, &admin, "/api/v1/contacts/by-external-id/shop/P-1", &json!({"title": "Buyer"})).await;
    assert_eq!(
        (s, id(&c2), c2["title"].as_str(), c2["first_name"].as_str()),
        (200, id(&c1), Some("Buyer"), Some("Ann"))
    );
    let (s, v) =
        put(&app, &admin, "/api/v1/contacts/by-external-id/shop/P-2", &json!({"first_name": "No account"})).await;
    assert_eq!(s, 422, "a new contact needs its account: {v}");
    let product = json!({"sku": "W-1", "name": "Widget", "list_price": "10"});
    let (s, p1) = put(&app, &admin, "/api/v1/products/by-external-id/shop/8301", &product).await;
    assert_eq!(s, 201, "{p1}");
    let (s, p2) = put(&app, &admin, "/api/v1/products/by-external-id/shop/8301", &product).await;
    assert_eq!((s, id(&p2)), (200, id(&p1)));
    let (s, p3) = get(&app, &admin, "/api/v1/products/by-external-id/shop/8301").await;
    assert_eq!((s, p3["sku"].as_str(), p3["list_price"].as_str()), (200, Some("W-1"), Some("10.00")), "{p3}");
}

async fn concurrent_puts_of_a_new_external_id_make_one_record(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let mut tasks = vec![];
    for i in 0..6 {
        let r = app
            .req(Method::PUT, "/api/v1/accounts/by-external-id/erp/RACE-1", &admin)
            .json(&json!({"name": "Race Ltd", "notes": format!("writer {i}")}));
        tasks.push(tokio::spawn(async move { json(r.send().await.unwrap()).await }));
    }
    let mut created = 0;
    let mut ids = vec![];
    for t in tasks {
        let (s, v) = t.await.unwrap();
        assert!(s == 200 || s == 201, "{s}: {v}");
        created += usize::from(s == 201);
        ids.push(id(&v));
    }
    assert_eq!(created, 1, "one PUT creates, the others update");
    ids.dedup();
    assert_eq!(ids.len(), 1, "every PUT answers the same account: {ids:?}");
    let (_, list) = get(&app, &admin, "/api/v1/accounts?q=race").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "{list}");
}

async fn open_conflicts(app: &TestApp, who: &TestUser, record: &str) -> Vec<Value> {
    let (s, v) = get(app, who, &format!("/api/v1/sync-conflicts?status=open&record_id={record}")).await;
    assert_eq!(s, 200, "{v}");
    v["data"].as_array().unwrap().clone()
}

async fn a_non_master_write_leaves_the_field_and_records_one_conflict(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let manager = app.user("manager@example.com", "sales_manager").await;
    let rep = app.user("rep@example.com", "sales_rep").await;
    let shop = token_for(&app, &admin, "shop").await;
    let erp = token_for(&app, &admin, "erp").await;

    // Only the admin manages rules.
    let rule = json!({"system": "ERP"});
    for who in [&manager, &rep] {
        let (s, v) = put(&app, who, "/api/v1/master-rules/account/credit_limit", &rule).await;
        assert_eq!(s, 403, "{v}");
        assert_eq!(get(&app, who, "/api/v1/master-rules").await.0, 403);
    }
    let (s, r) = put(&app, &admin, "/api/v1/master-rules/account/credit_limit", &rule).await;
    assert_eq!((s, r["system"].as_str()), (201, Some("erp")), "{r}");
    let (s, r) = put(&app, &admin, "/api/v1/master-rules/account/credit_limit", &rule).await;
    assert_eq!((s, r["version"].as_i64()), (200, Some(2)), "{r}");
    let (s, v) = put(&app, &admin, "/api/v1/master-rules/account/external_ids", &rule).await;
    assert_eq!((s, fields(&v)), (422, vec!["field".to_string()]), "{v}");
    let (s, v) = put(&app, &admin, "/api/v1/master-rules/contact/emails", &json!({"system": "nave"})).await;
    assert_eq!(s, 201, "{v}");
    let (_, list) = get(&app, &admin, "/api/v1/master-rules").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 2, "{list}");

    let (s, acc) =
        json(app.post("/api/v1/accounts", &admin, &json!({"name": "Globex", "credit_limit": "1000"})).await).await;
    assert_eq!(s, 201, "{acc}");
    let aid = id(&acc);
    let path = format!("/api/v1/accounts/{aid}");

    // The shop changes the limit and the industry: the industry changes, the limit stays.
    let write = json!({"credit_limit": "5000", "industry": "Retail"});
    let (s, v) = patch(&app, &shop, &path, &write).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!((v["industry"].as_str(), v["credit_limit"].as_str()), (Some("Retail"), Some("1000.00")), "{v}");
    let open = open_conflicts(&app, &admin, &aid).await;
    assert_eq!(open.len(), 1, "{open:?}");
    let c = &open[0];
    assert_eq!(
        (c["record_type"].as_str(), c["field"].as_str(), c["source"].as_str(), c["master"].as_str()),
        (Some("account"), Some("credit_limit"), Some("shop"), Some("erp"))
    );
    assert_eq!((c["our_value"].clone(), c["their_value"].clone()), (json!("1000.00"), json!("5000.00")), "{c}");
    // The same change again keeps one conflict open.
    assert_eq!(patch(&app, &shop, &path, &write).await.0, 200);
    assert_eq!(open_conflicts(&app, &admin, &aid).await.len(), 1);
    let (_, o) = get(&app, &admin, &format!("{path}/overview")).await;
    assert_eq!(o["open_sync_conflicts"], 1, "the 360° view counts it");
    // A person in Nave is not the master either.
    let (s, v) = patch(&app, &admin, &path, &json!({"credit_limit": "7000"})).await;
    assert_eq!((s, v["credit_limit"].as_str()), (200, Some("1000.00")), "{v}");
    let open = open_conflicts(&app, &admin, &aid).await;
    assert_eq!(open.len(), 2, "{open:?}");
    assert!(open.iter().any(|c| c["source"] == "nave" && c["their_value"] == "7000.00"), "{open:?}");

    // The master's write applies and opens nothing.
    let (s, v) = patch(&app, &erp, &path, &json!({"credit_limit": "2000"})).await;
    assert_eq!((s, v["credit_limit"].as_str()), (200, Some("2000.00")), "{v}");
    assert_eq!(open_conflicts(&app, &admin, &aid).await.len(), 2);

    // Accepting writes their value as the accepting user; the rule does not stop it.
    let shop_conflict = open_conflicts(&app, &admin, &aid).await.into_iter().find(|c| c["source"] == "shop").unwrap();
    let (s, v) =
        json(app.post(&format!("/api/v1/sync-conflicts/{}/accept", id(&shop_conflict)), &manager, &json!({})).await)
            .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("accepted")), "{v}");
    let (_, a) = get(&app, &admin, &path).await;
    assert_eq!(a["credit_limit"], "5000.00");
    let (_, log) = get(&app, &admin, &format!("/api/v1/audit-log?record_id={aid}")).await;
    let last = &log["data"][0];
    assert_eq!(last["actor_id"].as_str(), Some(manager.user.id.to_string().as_str()), "{last}");
    assert_eq!(last["changes"]["credit_limit"]["after"], "5000.00", "{last}");
    let (s, v) =
        json(app.post(&format!("/api/v1/sync-conflicts/{}/accept", id(&shop_conflict)), &admin, &json!({})).await)
            .await;
    assert_eq!(s, 409, "a conflict is settled once: {v}");

    // Dismissing keeps our value.
    let nave_conflict = open_conflicts(&app, &admin, &aid).await.pop().unwrap();
    let (s, v) =
        json(app.post(&format!("/api/v1/sync-conflicts/{}/dismiss", id(&nave_conflict)), &admin, &json!({})).await)
            .await;
    assert_eq!((s, v["status"].as_str()), (200, Some("dismissed")), "{v}");
    assert_eq!(get(&app, &admin, &path).await.1["credit_limit"], "5000.00");
    assert!(open_conflicts(&app, &admin, &aid).await.is_empty());

    // Those who may not resolve conflicts do not see them.
    assert_eq!(get(&app, &rep, "/api/v1/sync-conflicts").await.0, 403);

    // Contacts, and the upsert path: the shop's e-mails are held back, its title applies.
    let contact = json!({"account_id": aid, "first_name": "Bo", "emails": ["bo@globex.example"]});
    let (s, c) = put(&app, &shop, "/api/v1/contacts/by-external-id/shop/77", &contact).await;
    assert_eq!(s, 201, "a create takes every field: {c}");
    let (s, c) = put(
        &app,
        &shop,
        "/api/v1/contacts/by-external-id/shop/77",
        &json!({"emails": ["bo@shop.example"], "title": "CFO"}),
    )
    .await;
    assert_eq!((s, c["title"].as_str()), (200, Some("CFO")), "{c}");
    assert_eq!(c["emails"], json!(["bo@globex.example"]));
    let open = open_conflicts(&app, &admin, &id(&c)).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(
        (open[0]["their_value"].clone(), open[0]["master"].as_str()),
        (json!(["bo@shop.example"]), Some("nave"))
    );

    // A removed rule holds nothing back any more.
    let r = app.req(Method::DELETE, "/api/v1/master-rules/account/credit_limit", &admin).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let (_, v) = patch(&app, &shop, &path, &json!({"credit_limit": "9000"})).await;
    assert_eq!(v["credit_limit"], "9000.00");
}

async fn a_source_tokens_writes_carry_its_source(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let shop = token_for(&app, &admin, "shop").await;
    let (_, before) = get(&app, &admin, "/api/v1/events?limit=1000").await;
    let after = before["next"].as_str().unwrap().to_string();
    let (s, acc) = put(&app, &shop, "/api/v1/accounts/by-external-id/shop/42", &json!({"name": "Initech"})).await;
    assert_eq!(s, 201, "{acc}");
    let (s, _) = patch(&app, &shop, &format!("/api/v1/accounts/{}", id(&acc)), &json!({"industry": "Software"})).await;
    assert_eq!(s, 200);
    let (s, _) = patch(&app, &admin, &format!("/api/v1/accounts/{}", id(&acc)), &json!({"industry": "IT"})).await;
    assert_eq!(s, 200);
    let (_, ev) = get(&app, &admin, &format!("/api/v1/events?after={after}&types=account")).await;
    let mine: Vec<&Value> = ev["data"].as_array().unwrap().iter().filter(|e| e["record_id"] == acc["id"]).collect();
    let seen: Vec<(&str, Option<&str>)> =
        mine.iter().map(|e| (e["type"].as_str().unwrap(), e["source"].as_str())).collect();
    assert_eq!(
        seen,
        [("account.created", Some("shop")), ("account.updated", Some("shop")), ("account.updated", None)],
        "{ev}"
    );
    let (_, log) = get(&app, &admin, &format!("/api/v1/audit-log?record_id={}", id(&acc))).await;
    let sources: Vec<Option<&str>> = log["data"].as_array().unwrap().iter().map(|e| e["source"].as_str()).collect();
    assert_eq!(sources, [None, Some("shop"), Some("shop")], "newest first: {log}");
}

async fn the_pages_manage_rules_and_settle_conflicts(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    app.user("rep@example.com", "sales_rep").await;
    let shop = token_for(&app, &admin, "shop").await;
    let cookie = session(&app, "admin@example.com").await;
    let rep_cookie = session(&app, "rep@example.com").await;

    let (s, _, body) = form(
        &app,
        &cookie,
        "/settings/master-rules",
        &[("record_type", "account"), ("field", "colour"), ("system", "erp")],
    )
    .await;
    assert_eq!(s, 422, "a field no rule may name is shown next to the field");
    assert!(body.contains("is not a field of account"), "{body}");
    let (s, to, _) = form(
        &app,
        &cookie,
        "/settings/master-rules",
        &[("record_type", "account"), ("field", "industry"), ("system", "erp")],
    )
    .await;
    assert_eq!((s, to.as_str()), (303, "/settings/master-rules"));
    let (s, body) = page(&app, &cookie, "/settings/master-rules").await;
    assert_eq!(s, 200);
    assert!(body.contains("<code>industry</code>") && body.contains("<code>erp</code>"), "{body}");
    assert_eq!(page(&app, &rep_cookie, "/settings/master-rules").await.0, 403);
    let (s, _, _) = form(
        &app,
        &rep_cookie,
        "/settings/master-rules",
        &[("record_type", "account"), ("field", "name"), ("system", "erp")],
    )
    .await;
    assert_eq!(s, 403);

    let (_, acc) =
        json(app.post("/api/v1/accounts", &admin, &json!({"name": "Umbrella", "industry": "Pharma"})).await).await;
    let aid = id(&acc);
    let (s, _) = patch(&app, &shop, &format!("/api/v1/accounts/{aid}"), &json!({"industry": "Retail"})).await;
    assert_eq!(s, 200);
    let (_, body) = page(&app, &cookie, &format!("/accounts/{aid}")).await;
    assert!(body.contains(&format!("/sync-conflicts?record_id={aid}")), "the account page links its conflicts");
    let (s, body) = page(&app, &cookie, &format!("/sync-conflicts?record_id={aid}")).await;
    assert_eq!(s, 200);
    assert!(body.contains("Pharma") && body.contains("Retail"), "{body}");
    let conflict = id(&open_conflicts(&app, &admin, &aid).await[0]);
    let (s, to, _) = form(&app, &cookie, &format!("/sync-conflicts/{conflict}/accept"), &[("record_id", &aid)]).await;
    assert_eq!((s, to), (303, format!("/sync-conflicts?record_id={aid}")));
    assert_eq!(get(&app, &admin, &format!("/api/v1/accounts/{aid}")).await.1["industry"], "Retail");
    assert!(open_conflicts(&app, &admin, &aid).await.is_empty());

    // A rule removed from the page holds nothing back.
    let (_, list) = get(&app, &admin, "/api/v1/master-rules").await;
    let rule = id(&list["data"][0]);
    let (s, to, _) = form(&app, &cookie, &format!("/settings/master-rules/{rule}/delete"), &[]).await;
    assert_eq!((s, to.as_str()), (303, "/settings/master-rules"));
    let (_, v) = patch(&app, &shop, &format!("/api/v1/accounts/{aid}"), &json!({"industry": "Biotech"})).await;
    assert_eq!(v["industry"], "Biotech");
}

both_backends!(
    the_pages_manage_rules_and_settle_conflicts,
    putting_by_external_id_twice_gives_one_record,
    concurrent_puts_of_a_new_external_id_make_one_record,
    a_non_master_write_leaves_the_field_and_records_one_conflict,
    a_source_tokens_writes_carry_its_source
);
