//! Connector platforms (Zapier, Make) over real HTTP, on both databases: REST
//! hooks subscribed through `/api/v1/hooks` and delivered by the webhook
//! worker to a receiver started by the test on 127.0.0.1, and the polling
//! triggers. The worker runs one pass at a time (`Worker::run_once`).

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use nave_testkit::{TestDb, both_backends};
use nave_web::webhooks::Worker;
use reqwest::Method;
use serde_json::{Value, json};
use support::{TestApp, TestUser, act, created, get_ok, id_of, json};
use time::OffsetDateTime;

/// A receiver that answers every POST with a status the test sets and keeps the bodies.
#[derive(Clone)]
struct Receiver {
    addr: SocketAddr,
    status: Arc<Mutex<u16>>,
    bodies: Arc<Mutex<Vec<Value>>>,
}

async fn receive(State(r): State<Receiver>, body: String) -> StatusCode {
    r.bodies.lock().unwrap().push(serde_json::from_str(&body).unwrap_or(Value::Null));
    StatusCode::from_u16(*r.status.lock().unwrap()).unwrap()
}

impl Receiver {
    async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let r = Receiver {
            addr: listener.local_addr().unwrap(),
            status: Arc::new(Mutex::new(200)),
            bodies: Arc::default(),
        };
        let router = axum::Router::new().route("/catch", axum::routing::post(receive)).with_state(r.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        r
    }
    fn url(&self) -> String {
        format!("http://{}/catch", self.addr)
    }
    fn answer(&self, status: u16) {
        *self.status.lock().unwrap() = status;
    }
    fn bodies(&self) -> Vec<Value> {
        self.bodies.lock().unwrap().clone()
    }
}

fn worker(app: &TestApp) -> Worker {
    Worker::new(app.db.db.clone(), Duration::from_secs(2), Some(app.addr))
}

async fn drain(w: &Worker) {
    for _ in 0..20 {
        let r = w.run_once(OffsetDateTime::now_utc()).await.unwrap();
        if r.sent == 0 && r.enqueued == 0 {
            return;
        }
    }
    panic!("the worker never settled");
}

async fn subscribe(app: &TestApp, who: &TestUser, url: &str, event: &str) -> Value {
    created(app, who, "/api/v1/hooks", json!({"target_url": url, "event": event})).await
}

async fn subscriptions(app: &TestApp, admin: &TestUser) -> Vec<Value> {
    get_ok(app, admin, "/api/v1/webhooks").await["data"].as_array().unwrap().clone()
}

async fn setup_invoice(app: &TestApp, admin: &TestUser, account: &Value) -> Value {
    let vat = created(app, admin, "/api/v1/taxes", json!({"name": "VAT 20", "rate": "20"})).await;
    created(
        app,
        admin,
        "/api/v1/invoices",
        json!({"account_id": account["id"], "currency": "EUR", "lines": [
            {"description": "Consulting", "quantity": "3", "unit_price": "100.00", "tax_ids": [vat["id"]]}]}),
    )
    .await
}

async fn a_rest_hook_gets_each_change_flat_until_unsubscribed(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let rx = Receiver::start().await;
    let hook = subscribe(&app, &admin, &rx.url(), "account.created").await;
    assert_eq!(hook["event"], "account.created");
    let issued = subscribe(&app, &admin, &rx.url(), "invoice.issued").await;
    let subs = subscriptions(&app, &admin).await;
    assert!(subs.iter().all(|s| s["kind"] == "rest_hook"), "{subs:?}");

    let acme = created(&app, &admin, "/api/v1/accounts", json!({"name": "Acme", "currency": "EUR"})).await;
    let inv = setup_invoice(&app, &admin, &acme).await;
    drain(&worker(&app)).await;
    let got = rx.bodies();
    assert_eq!(got.len(), 1, "only the account: the invoice is a draft so far: {got:?}");
    let a = &got[0];
    assert_eq!(a["id"], acme["id"], "the record itself, not an envelope");
    assert_eq!(a["name"], "Acme");
    assert!(a.get("data").is_none() && a.get("type").is_none());
    assert!(got[0].as_object().unwrap().values().all(|v| !v.is_object()), "flat: {a}");

    // Issuing sends the invoice once, as the new-invoice trigger shows it; paying it later sends nothing more.
    let (s, issued_inv) = act(&app, &admin, &format!("/api/v1/invoices/{}/issue", id_of(&inv))).await;
    assert_eq!(s, 200, "{issued_inv}");
    created(
        &app,
        &admin,
        "/api/v1/payments",
        json!({"account_id": acme["id"], "amount": "100.00", "method": "card",
        "allocations": [{"invoice_id": inv["id"], "amount": "100.00"}]}),
    )
    .await;
    drain(&worker(&app)).await;
    let got = rx.bodies();
    assert_eq!(got.len(), 2, "{got:?}");
    let i = &got[1];
    assert_eq!(i["id"], inv["id"]);
    assert_eq!(i["number"], issued_inv["number"]);
    assert_eq!(i["totals_total"], "360.00");
    assert_eq!(i["lines"][0]["description"], "Consulting");
    let sample = get_ok(&app, &admin, "/api/v1/hooks/sample/invoice.issued").await;
    let sample_keys: Vec<&String> = sample[0].as_object().unwrap().keys().collect();
    let hook_keys: Vec<&String> = i.as_object().unwrap().keys().collect();
    assert_eq!(sample_keys, hook_keys, "the sample has the shape of a delivery");

    // Unsubscribed: no more deliveries; someone else's hook is not theirs to remove.
    let rep = app.user("rep@example.com", "sales_rep").await;
    let (s, _) =
        json(app.req(Method::DELETE, &format!("/api/v1/hooks/{}", id_of(&hook)), &rep).send().await.unwrap()).await;
    assert_eq!(s, 404);
    let r = app.req(Method::DELETE, &format!("/api/v1/hooks/{}", id_of(&hook)), &admin).send().await.unwrap();
    assert_eq!(r.status(), 204);
    created(&app, &admin, "/api/v1/accounts", json!({"name": "Later Ltd"})).await;
    drain(&worker(&app)).await;
    assert_eq!(rx.bodies().len(), 2, "nothing after the unsubscribe");
    assert_eq!(subscriptions(&app, &admin).await.len(), 1, "{issued}");

    // Bad events and URLs name their field.
    let (s, v) =
        json(app.post("/api/v1/hooks", &admin, &json!({"target_url": rx.url(), "event": "invoice.paid"})).await).await;
    assert_eq!((s, v["errors"][0]["field"].as_str()), (422, Some("event")), "{v}");
    let own = format!("http://{}/x", app.addr);
    let (s, v) =
        json(app.post("/api/v1/hooks", &admin, &json!({"target_url": own, "event": "account.created"})).await).await;
    assert_eq!((s, v["errors"][0]["field"].as_str()), (422, Some("target_url")), "{v}");
}

async fn a_receiver_answering_410_removes_its_rest_hook(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let rx = Receiver::start().await;
    subscribe(&app, &admin, &rx.url(), "account.created").await;
    rx.answer(410);
    created(&app, &admin, "/api/v1/accounts", json!({"name": "Gone Inc"})).await;
    let r = worker(&app).run_once(OffsetDateTime::now_utc()).await.unwrap();
    assert_eq!((r.sent, r.disabled), (1, 1), "{r:?}");
    assert!(subscriptions(&app, &admin).await.is_empty(), "the REST hook is deleted, not just disabled");
    rx.answer(200);
    created(&app, &admin, "/api/v1/accounts", json!({"name": "After Inc"})).await;
    drain(&worker(&app)).await;
    assert_eq!(rx.bodies().len(), 1);
    let log = get_ok(&app, &admin, "/api/v1/audit-log?record_type=webhook").await;
    assert!(log.to_string().contains("deleted"), "the removal is audited: {log}");
}

async fn polling_triggers_list_newest_first_with_stable_ids_within_scope(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let rep = app.user("rep@example.com", "sales_rep").await;
    let a1 = created(&app, &admin, "/api/v1/accounts", json!({"name": "First", "credit_limit": "5000"})).await;
    let r1 = created(&app, &rep, "/api/v1/accounts", json!({"name": "Rep One"})).await;
    let a2 = created(&app, &admin, "/api/v1/accounts", json!({"name": "Second"})).await;
    let r2 = created(&app, &rep, "/api/v1/accounts", json!({"name": "Rep Two"})).await;

    let all = get_ok(&app, &admin, "/api/v1/triggers/new-account").await;
    let ids: Vec<&str> = all.as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [id_of(&r2), id_of(&a2), id_of(&r1), id_of(&a1)], "newest first");
    assert_eq!(get_ok(&app, &admin, "/api/v1/triggers/new-account").await, all, "stable");
    let two = get_ok(&app, &admin, "/api/v1/triggers/new-account?limit=2").await;
    assert_eq!(two.as_array().unwrap().len(), 2);
    assert_eq!(all[3]["credit_limit"], "5000.00");

    let mine = get_ok(&app, &rep, "/api/v1/triggers/new-account").await;
    let ids: Vec<&str> = mine.as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [id_of(&r2), id_of(&r1)], "a sales rep sees their own accounts only");
    assert!(mine[0].get("credit_limit").is_none(), "nor the fields hidden from them: {}", mine[0]);

    // An update is an item of its own; the same update polled again keeps its id.
    support::created(
        &app,
        &rep,
        "/api/v1/contacts",
        json!({"account_id": r1["id"], "first_name": "Ann", "last_name": "Lee"}),
    )
    .await;
    let (s, _) = json(
        app.req(Method::PATCH, &format!("/api/v1/accounts/{}", id_of(&r1)), &rep)
            .json(&json!({"phone": "+33 1 23 45 67 89"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    let up = get_ok(&app, &rep, "/api/v1/triggers/updated-account").await;
    assert_eq!(up[0]["record_id"], r1["id"]);
    assert_eq!(up[0]["id"], format!("{}:2", id_of(&r1)));
    assert_eq!(get_ok(&app, &rep, "/api/v1/triggers/updated-account").await[0]["id"], up[0]["id"]);
    let contacts = get_ok(&app, &rep, "/api/v1/triggers/new-contact").await;
    assert_eq!(contacts[0]["first_name"], "Ann");

    for (path, status) in [("/api/v1/triggers/new-cat", 404), ("/api/v1/triggers/new-account?limit=101", 422)] {
        let (s, _) = json(app.get(path, &admin).await).await;
        assert_eq!(s, status, "{path}");
    }
    let warehouse = app.user("wh@example.com", "warehouse").await;
    let (s, _) = json(app.get("/api/v1/triggers/new-payment", &warehouse).await).await;
    assert_eq!(s, 403, "a role that may not read payments may not poll them");
}

both_backends!(
    a_rest_hook_gets_each_change_flat_until_unsubscribed,
    a_receiver_answering_410_removes_its_rest_hook,
    polling_triggers_list_newest_first_with_stable_ids_within_scope,
);
