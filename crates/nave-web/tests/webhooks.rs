//! Webhooks and the change feed over real HTTP, on both databases. A receiver
//! started by each test on 127.0.0.1 records what the delivery worker sends;
//! the tests drive the worker one pass at a time with the time they choose
//! (`Worker::run_once(now)`), so retries a day apart take no real time.
//! Signatures are checked with Python's `hmac`, an implementation of the
//! scheme independent of Nave's.

mod support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use nave_testkit::{TestDb, both_backends};
use nave_web::webhooks::Worker;
use reqwest::Method;
use serde_json::{Value, json};
use support::{TestApp, TestUser, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

// ---------------------------------------------------------------------------
// A receiver

#[derive(Debug, Clone, PartialEq)]
enum Mode {
    Ok,
    Fail(u16),
    /// Fail with 500 for events of this record, accept the rest.
    FailFor(String),
    /// Never answer.
    Hang,
}

#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
    json: Value,
}

impl Received {
    fn record_id(&self) -> String {
        self.json["data"]["record_id"].as_str().unwrap_or_default().to_string()
    }
    fn version(&self) -> i64 {
        self.json["data"]["version"].as_i64().unwrap_or_default()
    }
}

#[derive(Clone)]
struct Receiver {
    addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    /// Every request, answered or not.
    attempts: Arc<Mutex<Vec<Received>>>,
    /// The requests answered 2xx, in order.
    accepted: Arc<Mutex<Vec<Received>>>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let got = Received {
        id: h("webhook-id"),
        timestamp: h("webhook-timestamp"),
        signature: h("webhook-signature"),
        json: serde_json::from_str(&body).unwrap_or(Value::Null),
        body,
    };
    r.attempts.lock().unwrap().push(got.clone());
    let mode = r.mode.lock().unwrap().clone();
    let status = match mode {
        Mode::Ok => StatusCode::OK,
        Mode::Fail(s) => StatusCode::from_u16(s).unwrap(),
        Mode::FailFor(record) if got.record_id() == record => StatusCode::INTERNAL_SERVER_ERROR,
        Mode::FailFor(_) => StatusCode::NO_CONTENT,
        Mode::Hang => {
            std::future::pending::<()>().await;
            unreachable!()
        }
    };
    if status.is_success() {
        r.accepted.lock().unwrap().push(got);
    }
    status
}

impl Receiver {
    async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let r = Receiver {
            addr: listener.local_addr().unwrap(),
            mode: Arc::new(Mutex::new(Mode::Ok)),
            attempts: Arc::default(),
            accepted: Arc::default(),
        };
        let router = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(r.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        r
    }
    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }
    fn set(&self, m: Mode) {
        *self.mode.lock().unwrap() = m;
    }
    fn attempts(&self) -> Vec<Received> {
        self.attempts.lock().unwrap().clone()
    }
    fn accepted(&self) -> Vec<Received> {
        self.accepted.lock().unwrap().clone()
    }
}

// ---------------------------------------------------------------------------
// Helpers

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

async fn created(app: &TestApp, who: &TestUser, path: &str, body: Value) -> Value {
    let (status, v) = json(app.post(path, who, &body).await).await;
    assert!(status == 201 || status == 200, "POST {path}: {status} {v}");
    v
}

async fn patch(app: &TestApp, who: &TestUser, path: &str, body: Value) -> Value {
    let (status, v) = json(app.req(Method::PATCH, path, who).json(&body).send().await.unwrap()).await;
    assert_eq!(status, 200, "PATCH {path}: {v}");
    v
}

async fn webhook(app: &TestApp, admin: &TestUser, url: &str, extra: Value) -> Value {
    let mut body = json!({"url": url, "event_types": ["account"]});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    created(app, admin, "/api/v1/webhooks", body).await
}

fn worker(app: &TestApp) -> Worker {
    Worker::new(app.db.db.clone(), Duration::from_secs(2), Some(app.addr))
}

/// Runs passes at `now` until one does nothing.
async fn drain(w: &Worker, now: OffsetDateTime) {
    for _ in 0..20 {
        let r = w.run_once(now).await.unwrap();
        if r.sent == 0 && r.enqueued == 0 {
            return;
        }
    }
    panic!("the worker never settled");
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// The Standard Webhooks signature computed by Python's standard library.
fn python_signature(secret: &str, msg_id: &str, timestamp: &str, body: &str) -> String {
    let script = "import base64, hashlib, hmac, sys\n\
        secret, msg_id, ts = sys.argv[1], sys.argv[2], sys.argv[3]\n\
        body = sys.stdin.buffer.read()\n\
        key = base64.b64decode(secret[len('whsec_'):])\n\
        mac = hmac.new(key, msg_id.encode() + b'.' + ts.encode() + b'.' + body, hashlib.sha256).digest()\n\
        print('v1,' + base64.b64encode(mac).decode())";
    let mut child = std::process::Command::new("python3")
        .args(["-c", script, secret, msg_id, timestamp])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

async fn feed(app: &TestApp, who: &TestUser, query: &str) -> (u16, Value) {
    json(app.get(&format!("/api/v1/events?{query}"), who).await).await
}

fn field_of(v: &Value) -> String {
    v["errors"][0]["field"].as_str().unwrap_or_default().to_string()
}

// ---------------------------------------------------------------------------
// Tests

async fn signatures_verify_independently_and_a_rotation_signs_with_both_secrets(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let rx = Receiver::start().await;
    let hook = webhook(&app, &admin, &rx.url(), json!({})).await;
    let secret = hook["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{hook}");
    let (_, list) = json(app.get("/api/v1/webhooks", &admin).await).await;
    assert!(list["data"][0].get("secret").is_none(), "lists never show the secret: {list}");

    let acme = created(&app, &admin, "/api/v1/accounts", json!({"name": "Acme"})).await;
    let w = worker(&app);
    drain(&w, now()).await;
    let got = rx.accepted();
    assert_eq!(got.len(), 1, "{got:?}");
    let m = &got[0];
    assert_eq!(m.json["type"], "account.created");
    assert_eq!(m.json["data"]["record_id"], acme["id"]);
    assert_eq!(m.signature, python_signature(&secret, &m.id, &m.timestamp, &m.body));
    // The message id is the event's id, as the change feed shows it.
    let (_, evs) = feed(&app, &admin, "types=account").await;
    assert_eq!(evs["data"][0]["id"].as_str().unwrap(), m.id);

    // Rotation: the new secret and, during the overlap, the old one both sign.
    let rotated = created(&app, &admin, &format!("/api/v1/webhooks/{}/rotate-secret", id(&hook)), json!({})).await;
    let new_secret = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret);
    patch(&app, &admin, &format!("/api/v1/accounts/{}", id(&acme)), json!({"name": "Acme Ltd"})).await;
    drain(&w, now()).await;
    let m = rx.accepted()[1].clone();
    let sigs: Vec<&str> = m.signature.split(' ').collect();
    assert_eq!(
        sigs,
        [
            python_signature(&new_secret, &m.id, &m.timestamp, &m.body),
            python_signature(&secret, &m.id, &m.timestamp, &m.body)
        ]
    );
    // After the overlap only the new secret signs.
    let later = now() + time::Duration::hours(25);
    patch(&app, &admin, &format!("/api/v1/accounts/{}", id(&acme)), json!({"name": "Acme Group"})).await;
    drain(&w, later).await;
    let m = rx.accepted()[2].clone();
    assert_eq!(m.signature, python_signature(&new_secret, &m.id, &m.timestamp, &m.body));
    // A given secret must be a whsec_ secret.
    let (status, v) = json(
        app.post(&format!("/api/v1/webhooks/{}/rotate-secret", id(&hook)), &admin, &json!({"secret": "hunter2"})).await,
    )
    .await;
    assert_eq!((status, field_of(&v).as_str()), (422, "secret"), "{v}");
}

async fn a_failing_receiver_that_recovers_gets_every_event_once_in_order_per_record(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let rx = Receiver::start().await;
    let hook = webhook(&app, &admin, &rx.url(), json!({})).await;
    let a = created(&app, &admin, "/api/v1/accounts", json!({"name": "Alpha"})).await;
    let b = created(&app, &admin, "/api/v1/accounts", json!({"name": "Beta"})).await;
    for name in ["Alpha 2", "Alpha 3"] {
        patch(&app, &admin, &format!("/api/v1/accounts/{}", id(&a)), json!({"name": name})).await;
    }
    let c = created(&app, &admin, "/api/v1/accounts", json!({"name": "Gamma"})).await;

    // Alpha's receiver side is broken: Alpha's first event fails, its later ones
    // wait behind it; Beta and Gamma go through.
    rx.set(Mode::FailFor(id(&a)));
    let w = worker(&app);
    let t0 = now();
    drain(&w, t0).await;
    let tried: Vec<(String, i64)> = rx.attempts().iter().map(|m| (m.record_id(), m.version())).collect();
    assert_eq!(tried.iter().filter(|(r, _)| *r == id(&a)).collect::<Vec<_>>(), [&(id(&a), 1)], "{tried:?}");
    let mut others: Vec<String> = rx.accepted().iter().map(Received::record_id).collect();
    others.sort();
    let mut expected = vec![id(&b), id(&c)];
    expected.sort();
    assert_eq!(others, expected);

    // Still failing at the first retry (5 s later), then the receiver recovers.
    drain(&w, t0 + time::Duration::seconds(6)).await;
    assert_eq!(rx.attempts().len(), 4, "the retry came, and only it");
    rx.set(Mode::Ok);
    drain(&w, t0 + time::Duration::seconds(5)).await;
    assert_eq!(rx.attempts().len(), 4, "not before it is due (30 s after the second failure)");
    drain(&w, t0 + time::Duration::seconds(40)).await;

    // Every event exactly once (by message id), Alpha's in order, no gaps.
    let got = rx.accepted();
    let mut ids: Vec<String> = got.iter().map(|m| m.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), got.len(), "no event accepted twice");
    let (_, evs) = feed(&app, &admin, "types=account").await;
    let mut all: Vec<String> = evs["data"].as_array().unwrap().iter().map(id).collect();
    all.sort();
    assert_eq!(ids, all, "every account event arrived");
    let alpha: Vec<i64> = got.iter().filter(|m| m.record_id() == id(&a)).map(Received::version).collect();
    assert_eq!(alpha, [1, 2, 3]);

    // The delivery log tells the story of Alpha's first event.
    let (_, log) = json(app.get(&format!("/api/v1/webhooks/{}/deliveries", id(&hook)), &admin).await).await;
    let first = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["record_id"] == a["id"] && d["event_type"] == "account.created")
        .unwrap()
        .clone();
    assert_eq!(
        (first["status"].as_str(), first["attempts"].as_i64(), first["response_status"].as_i64()),
        (Some("succeeded"), Some(3), Some(200)),
        "{first}"
    );
    let (_, h) = json(app.get(&format!("/api/v1/webhooks/{}", id(&hook)), &admin).await).await;
    assert_eq!(h["consecutive_failures"], 0);
    assert_eq!(h["active"], true);
}

async fn killing_the_worker_mid_delivery_loses_nothing(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let rx = Receiver::start().await;
    webhook(&app, &admin, &rx.url(), json!({})).await;
    for name in ["One", "Two"] {
        created(&app, &admin, "/api/v1/accounts", json!({"name": name})).await;
    }
    rx.set(Mode::Hang);
    let t0 = now();
    // A worker with a long timeout is stopped while the receiver holds both requests.
    let slow = Worker::new(app.db.db.clone(), Duration::from_secs(30), Some(app.addr));
    let pass = tokio::spawn(async move { slow.run_once(t0).await });
    for _ in 0..500 {
        if rx.attempts().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(rx.attempts().len(), 2);
    pass.abort();
    let _ = pass.await;
    rx.set(Mode::Ok);

    // A new worker on the same database: nothing while the lease may still be
    // honoured by a live worker, then everything.
    let w = worker(&app);
    let r = w.run_once(t0 + time::Duration::seconds(1)).await.unwrap();
    assert_eq!(r.sent, 0, "leased deliveries are not sent twice at once");
    drain(&w, t0 + time::Duration::seconds(60)).await;
    let got = rx.accepted();
    assert_eq!(got.len(), 2, "{got:?}");
    let hung: Vec<String> = rx.attempts()[..2].iter().map(|m| m.id.clone()).collect();
    let mut sent_again: Vec<String> = got.iter().map(|m| m.id.clone()).collect();
    let mut hung_sorted = hung.clone();
    hung_sorted.sort();
    sent_again.sort();
    assert_eq!(sent_again, hung_sorted, "the same messages (same webhook-id) again");
}

async fn replay_resends_exactly_the_chosen_deliveries(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let rx = Receiver::start().await;
    let hook = webhook(&app, &admin, &rx.url(), json!({})).await;
    let mut accounts = vec![];
    for name in ["A", "B", "C"] {
        accounts.push(created(&app, &admin, "/api/v1/accounts", json!({"name": name})).await);
    }
    let w = worker(&app);
    drain(&w, now()).await;
    assert_eq!(rx.accepted().len(), 3);
    let (_, log) = json(app.get(&format!("/api/v1/webhooks/{}/deliveries", id(&hook)), &admin).await).await;
    let by_record: HashMap<String, Value> = log["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["record_id"].as_str().unwrap().to_string(), d.clone()))
        .collect();
    let d = |i: usize| by_record[&id(&accounts[i])].clone();

    // One delivery.
    let replayed =
        created(&app, &admin, &format!("/api/v1/webhooks/{}/deliveries/{}/replay", id(&hook), id(&d(1))), json!({}))
            .await;
    assert_eq!(replayed["status"], "pending");
    drain(&w, now() + time::Duration::seconds(1)).await;
    let got = rx.accepted();
    assert_eq!(got.len(), 4);
    assert_eq!(got[3].id, d(1)["event_id"].as_str().unwrap(), "the same message id again");

    // A period: A and B happened in [A, C), C did not.
    let (status, r) = json(
        app.post(
            &format!("/api/v1/webhooks/{}/replay", id(&hook)),
            &admin,
            &json!({"from": d(0)["occurred_at"], "until": d(2)["occurred_at"]}),
        )
        .await,
    )
    .await;
    assert_eq!((status, r["replayed"].as_i64()), (200, Some(2)), "{r}");
    drain(&w, now() + time::Duration::seconds(1)).await;
    let mut again: Vec<String> = rx.accepted()[4..].iter().map(|m| m.id.clone()).collect();
    again.sort();
    let mut expected =
        vec![d(0)["event_id"].as_str().unwrap().to_string(), d(1)["event_id"].as_str().unwrap().to_string()];
    expected.sort();
    assert_eq!(again, expected);
    let (status, v) = json(
        app.post(
            &format!("/api/v1/webhooks/{}/replay", id(&hook)),
            &admin,
            &json!({"from": "soon", "until": "2026-01-01"}),
        )
        .await,
    )
    .await;
    assert_eq!((status, field_of(&v).as_str()), (422, "from"), "{v}");
}

async fn urls_at_the_server_itself_or_not_http_are_refused_and_only_admins_manage_webhooks(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let rep = app.user("rep@example.com", "sales_rep").await;
    let own = app.addr;
    for url in [
        format!("http://{own}/api/v1/accounts"),
        format!("http://localhost:{}/x", own.port()),
        format!("http://0.0.0.0:{}/x", own.port()),
        "ftp://example.com/x".to_string(),
        "not a url".to_string(),
        "file:///etc/passwd".to_string(),
    ] {
        let (status, v) = json(app.post("/api/v1/webhooks", &admin, &json!({"url": url})).await).await;
        assert_eq!((status, field_of(&v).as_str()), (422, "url"), "{url}: {v}");
    }
    // Another port on loopback is someone else: allowed.
    let ok =
        created(&app, &admin, "/api/v1/webhooks", json!({"url": "http://127.0.0.1:9/hook", "active": false})).await;
    let (status, v) = json(
        app.post("/api/v1/webhooks", &admin, &json!({"url": "http://127.0.0.1:9/", "event_types": ["invoice.paid"]}))
            .await,
    )
    .await;
    assert_eq!((status, field_of(&v).as_str()), (422, "event_types[0]"), "{v}");
    let (status, v) = json(
        app.req(Method::PATCH, &format!("/api/v1/webhooks/{}", id(&ok)), &admin)
            .json(&json!({"url": format!("http://127.0.0.1:{}/", own.port())}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, field_of(&v).as_str()), (422, "url"), "{v}");
    assert_eq!(app.get("/api/v1/webhooks", &rep).await.status(), 403);
    assert_eq!(app.post("/api/v1/webhooks", &rep, &json!({"url": "http://127.0.0.1:9/"})).await.status(), 403);
    // The secret never reaches the audit log or the events.
    let (_, evs) = feed(&app, &admin, "types=webhook").await;
    assert!(!evs.to_string().contains("whsec_"), "{evs}");
    let (_, log) = json(app.get("/api/v1/audit-log", &admin).await).await;
    assert!(!log.to_string().contains("whsec_"));
}

async fn events_caused_by_the_subscriptions_own_system_are_not_sent_back(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let rx = Receiver::start().await;
    webhook(&app, &admin, &rx.url(), json!({"system": "ERP"})).await;
    let (_, t) =
        json(app.post("/api/v1/tokens", &admin, &json!({"name": "erp sync", "source_system": "erp"})).await).await;
    let erp = TestUser { user: admin.user.clone(), token: t["token"].as_str().unwrap().to_string() };
    let theirs = created(&app, &erp, "/api/v1/accounts", json!({"name": "From the ERP"})).await;
    let ours = created(&app, &admin, "/api/v1/accounts", json!({"name": "Typed in Nave"})).await;
    drain(&worker(&app), now()).await;
    let got: Vec<String> = rx.accepted().iter().map(Received::record_id).collect();
    assert_eq!(got, [id(&ours)], "the ERP's own change ({}) is not echoed", id(&theirs));
    let (_, evs) = feed(&app, &admin, "types=account").await;
    assert_eq!(evs["data"][0]["source"], "erp", "the feed still shows it, with its source");
}

async fn a_receiver_failing_for_a_day_disables_the_subscription_and_tells_its_owner(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let rx = Receiver::start().await;
    rx.set(Mode::Fail(503));
    let hook = webhook(&app, &admin, &rx.url(), json!({"description": "ERP sync"})).await;
    created(&app, &admin, "/api/v1/accounts", json!({"name": "Acme"})).await;
    let w = worker(&app);
    let mut t = now();
    for _ in 0..12 {
        drain(&w, t).await;
        t += time::Duration::hours(13);
    }
    assert_eq!(rx.attempts().len(), 9, "the first attempt and eight retries");
    let (_, h) = json(app.get(&format!("/api/v1/webhooks/{}", id(&hook)), &admin).await).await;
    assert_eq!(h["active"], false, "{h}");
    assert!(h["disabled_reason"].as_str().unwrap().contains("failed 9 times"), "{h}");
    let (_, log) = json(app.get(&format!("/api/v1/webhooks/{}/deliveries", id(&hook)), &admin).await).await;
    assert_eq!(
        (log["data"][0]["status"].as_str(), log["data"][0]["response_status"].as_i64()),
        (Some("failed"), Some(503))
    );
    // The owner is told: an audit entry, and a line on their home page.
    let (_, audit) = json(app.get(&format!("/api/v1/audit-log?record_id={}", id(&hook)), &admin).await).await;
    assert!(audit.to_string().contains("disabled_reason"), "{audit}");
    let cookie = app.session("admin@example.com").await;
    let (_, home) = app.page("/", &cookie).await;
    assert!(home.contains("ERP sync") && home.contains("was disabled"), "{home}");
    let (status, page) = app.page(&format!("/webhooks/{}", id(&hook)), &cookie).await;
    assert_eq!(status, 200);
    assert!(page.contains("failed 9 times"));

    // Enabled again, it carries on: the next event is delivered.
    rx.set(Mode::Ok);
    patch(&app, &admin, &format!("/api/v1/webhooks/{}", id(&hook)), json!({"active": true})).await;
    created(&app, &admin, "/api/v1/accounts", json!({"name": "Beta"})).await;
    drain(&w, t).await;
    assert_eq!(rx.accepted().len(), 1);

    // 410 Gone disables at once.
    rx.set(Mode::Fail(410));
    created(&app, &admin, "/api/v1/accounts", json!({"name": "Gamma"})).await;
    drain(&w, t).await;
    let (_, h) = json(app.get(&format!("/api/v1/webhooks/{}", id(&hook)), &admin).await).await;
    assert_eq!(h["active"], false);
    assert!(h["disabled_reason"].as_str().unwrap().contains("410"), "{h}");
}

async fn the_worker_started_with_the_server_delivers_in_the_background(db: TestDb) {
    let config = nave_web::WebConfig { webhook_worker: true, ..Default::default() };
    let app = TestApp::start_with(db, config).await;
    let admin = app.user("admin@example.com", "admin").await;
    let rx = Receiver::start().await;
    webhook(&app, &admin, &rx.url(), json!({})).await;
    let a = created(&app, &admin, "/api/v1/accounts", json!({"name": "Acme"})).await;
    for _ in 0..1000 {
        if !rx.accepted().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(rx.accepted().iter().map(Received::record_id).collect::<Vec<_>>(), [id(&a)]);
}

async fn the_change_feed_filters_by_period_and_detail_within_scope_and_field_security(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let ro = app.user("ro@example.com", "read_only").await;
    let rep = app.user("rep@example.com", "sales_rep").await;

    // Periods.
    let a = created(&app, &admin, "/api/v1/accounts", json!({"name": "Early"})).await;
    let (_, evs) = feed(&app, &admin, "types=account").await;
    let a_at = evs["data"][0]["occurred_at"].as_str().unwrap().to_string();
    let b = created(&app, &admin, "/api/v1/accounts", json!({"name": "Late"})).await;
    let (_, evs) = feed(&app, &admin, "types=account").await;
    let b_at = evs["data"][1]["occurred_at"].as_str().unwrap().to_string();
    assert!(b_at > a_at);
    let enc = |s: &str| s.replace('+', "%2B");
    let ids = |v: &Value| {
        v["data"].as_array().unwrap().iter().map(|e| e["record_id"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    let (_, v) = feed(&app, &admin, &format!("types=account&since={}", enc(&b_at))).await;
    assert_eq!(ids(&v), [id(&b)]);
    let (_, v) = feed(&app, &admin, &format!("types=account&until={}", enc(&b_at))).await;
    assert_eq!(ids(&v), [id(&a)]);
    let today = OffsetDateTime::parse(&a_at, &Rfc3339).unwrap().date();
    let (_, v) = feed(&app, &admin, &format!("types=account&since={today}&until={today}")).await;
    assert_eq!(ids(&v).len(), 2, "a date as until means up to its end: {v}");
    let (_, v) = feed(&app, &admin, "since=2000-01-01&until=2000-01-02").await;
    assert!(v["data"].as_array().unwrap().is_empty());
    for (q, field) in [
        ("since=yesterday", "since"),
        ("until=2026-13-01", "until"),
        ("detail=full", "detail"),
        ("since=2026-02-01&until=2026-01-01", "until"),
    ] {
        let (status, v) = feed(&app, &admin, q).await;
        assert_eq!((status, field_of(&v).as_str()), (422, field), "{q}: {v}");
        assert_eq!(v["status"], 422);
    }

    // Detail: documents with or without their lines (lines by default).
    created(
        &app,
        &admin,
        "/api/v1/quotes",
        json!({"account_id": a["id"], "lines": [{"description": "Survey", "quantity": "1", "unit_price": "90.00"}]}),
    )
    .await;
    let (_, v) = feed(&app, &admin, "types=quote").await;
    assert!(v["data"][0]["payload"]["groups"][0]["lines"].is_array(), "{v}");
    let (_, v) = feed(&app, &admin, "types=quote&detail=header").await;
    let p = &v["data"][0]["payload"];
    assert!(p.get("groups").is_none() && p.get("lines").is_none() && p.get("balance").is_some(), "{p}");

    // Field security: a product's cost only for those who may see costs.
    created(&app, &admin, "/api/v1/products", json!({"sku": "P-1", "name": "Pump", "cost": "12.5000"})).await;
    let (_, v) = feed(&app, &admin, "types=product").await;
    assert!(v["data"][0]["payload"].get("cost").is_some(), "{v}");
    let (_, v) = feed(&app, &ro, "types=product").await;
    assert!(v["data"][0]["payload"].get("cost").is_none(), "{v}");
    assert_eq!(app.get("/api/v1/events", &rep).await.status(), 403, "a sales rep has no change feed at all");

    // Record scope: a role reading accounts of its own only sees their events.
    let perms = json!([
        {"record_type": "event", "action": "read", "scope": "all"},
        {"record_type": "account", "action": "read", "scope": "own"},
        {"record_type": "quote", "action": "read", "scope": "own"},
        {"record_type": "product", "action": "read", "scope": "all"}
    ]);
    created(&app, &admin, "/api/v1/roles", json!({"name": "rep_connector", "permissions": perms})).await;
    let conn = app.user("conn@example.com", "rep_connector").await;
    let mine = created(&app, &admin, "/api/v1/accounts", json!({"name": "Mine", "owner_id": conn.user.id})).await;
    created(
        &app,
        &admin,
        "/api/v1/quotes",
        json!({"account_id": mine["id"], "lines": [{"description": "Fit", "quantity": "1", "unit_price": "10.00"}]}),
    )
    .await;
    let (status, v) = feed(&app, &conn, "limit=1000").await;
    assert_eq!(status, 200, "{v}");
    let seen: Vec<(String, String)> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["record_type"].as_str().unwrap().to_string(), e["record_id"].as_str().unwrap().to_string()))
        .collect();
    assert!(seen.contains(&("account".into(), id(&mine))), "{seen:?}");
    assert!(!seen.iter().any(|(t, r)| t == "account" && (*r == id(&a) || *r == id(&b))), "{seen:?}");
    assert_eq!(seen.iter().filter(|(t, _)| t == "quote").count(), 1, "only the quote of their account: {seen:?}");
    assert!(!seen.iter().any(|(t, _)| t == "user" || t == "role"), "no events of types they may not read: {seen:?}");
    assert!(
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["record_type"] == "product")
            .all(|e| e["payload"].get("cost").is_none())
    );
    // The cursor moves past events they may not see, so polling never stalls.
    let last_position = v["next"].as_str().unwrap().parse::<i64>().unwrap();
    let (_, all) = feed(&app, &admin, "limit=1000").await;
    assert_eq!(last_position, all["next"].as_str().unwrap().parse::<i64>().unwrap());
}

async fn the_webhook_pages_create_rotate_and_replay_with_same_origin_forms(db: TestDb) {
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    app.user("rep@example.com", "sales_rep").await;
    let rx = Receiver::start().await;
    let cookie = app.session("admin@example.com").await;
    let (status, html) = app.page("/webhooks/new", &cookie).await;
    assert_eq!(status, 200, "{html}");
    // The server's own address is refused next to the field.
    let own = format!("http://{}/hooks", app.addr);
    let r = app.submit("/webhooks", &cookie, &[("url", own.as_str()), ("event_types", "account")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("points at this Nave server itself"));
    let url = rx.url();
    let fields = [("url", url.as_str()), ("description", "Books"), ("event_types", "account"), ("active", "true")];
    let r = app.submit("/webhooks", &cookie, &fields).await;
    assert_eq!(r.status(), 303);
    let page_url = support::location(&r);
    let (status, html) = app.page(&page_url, &cookie).await;
    assert_eq!(status, 200);
    assert!(html.contains("whsec_") && html.contains("Books"), "{html}");
    let hook_id = page_url.trim_start_matches("/webhooks/").to_string();
    let (_, listed) = app.page("/webhooks", &cookie).await;
    assert!(listed.contains("Books") && listed.contains("active"));

    let r = app.submit(&format!("/webhooks/{hook_id}/rotate"), &cookie, &[]).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("previous secret signs too"));
    created(&app, &admin, "/api/v1/accounts", json!({"name": "Acme"})).await;
    drain(&worker(&app), now()).await;
    assert_eq!(rx.accepted()[0].signature.split(' ').count(), 2, "signed with both secrets during the overlap");
    let (_, html) = app.page(&page_url, &cookie).await;
    assert!(html.contains("account.created") && html.contains("Send again"), "{html}");
    let (_, log) = json(app.get(&format!("/api/v1/webhooks/{hook_id}/deliveries"), &admin).await).await;
    let delivery = id(&log["data"][0]);
    let r = app.submit(&format!("/webhooks/{hook_id}/deliveries/{delivery}/replay"), &cookie, &[]).await;
    assert_eq!(r.status(), 200);
    drain(&worker(&app), now() + time::Duration::seconds(1)).await;
    assert_eq!(rx.accepted().len(), 2);
    assert_eq!(rx.accepted()[0].id, rx.accepted()[1].id);

    // Pausing through the form: the box unticked.
    let (_, h) = json(app.get(&format!("/api/v1/webhooks/{hook_id}"), &admin).await).await;
    let version = h["version"].to_string();
    let paused =
        [("version", version.as_str()), ("url", url.as_str()), ("description", "Books"), ("event_types", "account")];
    assert_eq!(app.submit(&page_url, &cookie, &paused).await.status(), 303);
    let (_, h) = json(app.get(&format!("/api/v1/webhooks/{hook_id}"), &admin).await).await;
    assert_eq!(h["active"], false);

    // A form posted from another site is refused, and a rep may not see the pages.
    let r = app
        .client
        .post(app.url(&format!("/webhooks/{hook_id}/rotate")))
        .header("cookie", &cookie)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let rep = app.session("rep@example.com").await;
    assert_eq!(app.page("/webhooks", &rep).await.0, 403);
}

both_backends!(
    signatures_verify_independently_and_a_rotation_signs_with_both_secrets,
    a_failing_receiver_that_recovers_gets_every_event_once_in_order_per_record,
    killing_the_worker_mid_delivery_loses_nothing,
    replay_resends_exactly_the_chosen_deliveries,
    urls_at_the_server_itself_or_not_http_are_refused_and_only_admins_manage_webhooks,
    events_caused_by_the_subscriptions_own_system_are_not_sent_back,
    a_receiver_failing_for_a_day_disables_the_subscription_and_tells_its_owner,
    the_worker_started_with_the_server_delivers_in_the_background,
    the_change_feed_filters_by_period_and_detail_within_scope_and_field_security,
    the_webhook_pages_create_rotate_and_replay_with_same_origin_forms,
);
