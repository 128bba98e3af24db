//! CSV export and import round trips, on both databases: records made
//! through the API of one Nave, exported through its API (`format=csv`),
//! imported into another Nave with the `nave import` binary, and compared
//! through the second one's API — invoices with their lines to the cent,
//! payments with their allocations. Also: a dry run writes nothing, refused
//! rows name their line and column, a second import updates instead of
//! duplicating, and `--source` makes master rules apply to an import.

use std::net::SocketAddr;
use std::process::{Command, Output};

use nave_domain::email::Email;
use nave_store::audit::Actor;
use nave_store::tenants::DEFAULT_TENANT;
use nave_store::tokens::{self, NewToken};
use nave_store::users::{self, NewUser};
use nave_testkit::{TestDb, both_backends};
use nave_web::state::AppState;
use reqwest::Method;
use serde_json::{Value, json};

struct Server {
    addr: SocketAddr,
    token: String,
    client: reqwest::Client,
    url: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Server {
    async fn start(db: &TestDb) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let state = AppState::new(db.db.clone(), Default::default());
        tokio::spawn(async move {
            nave_web::serve(state, listener, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        let mut tx = db.db.write().await.unwrap();
        let sys = Actor::system(DEFAULT_TENANT);
        let user = users::create(
            &mut tx,
            &sys,
            NewUser {
                email: Email::parse("admin@example.com").unwrap(),
                name: "Admin".into(),
                password_hash: None,
                role: "admin".into(),
                team_id: None,
                locale: None,
            },
        )
        .await
        .unwrap();
        let (_, token) = tokens::create(
            &mut tx,
            &sys,
            NewToken { user_key: user.key, name: "test".into(), source_system: None, expires_at: None },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        Server { addr, token, client: reqwest::Client::new(), url: db.url.clone(), _stop: stop }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut r = self.client.request(method, format!("http://{}{path}", self.addr)).bearer_auth(&self.token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let (s, v) = self.call(Method::POST, path, Some(body)).await;
        assert!(s == 200 || s == 201, "POST {path}: {s} {v}");
        v
    }

    async fn get(&self, path: &str) -> Value {
        let (s, v) = self.call(Method::GET, path, None).await;
        assert_eq!(s, 200, "GET {path}: {v}");
        v
    }

    async fn csv(&self, path: &str) -> String {
        let r = self.client.get(format!("http://{}{path}", self.addr)).bearer_auth(&self.token).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r.text().await.unwrap()
    }

    /// `nave import KIND FILE --db URL [extra…]`.
    fn import(&self, kind: &str, file: &std::path::Path, extra: &[&str]) -> Output {
        let mut args = vec!["import", kind, file.to_str().unwrap(), "--db", &self.url];
        args.extend(extra);
        Command::new(env!("CARGO_BIN_EXE_nave")).args(&args).env_remove("NAVE_DB").output().unwrap()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

fn file(name: &str, content: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("nave-roundtrip-{}", nave_domain::ids::PublicId::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

/// The same taxes, tax category and product line in a new Nave (taxes are not imported).
async fn taxes(s: &Server) -> (Value, Value) {
    let vat = s.post("/api/v1/taxes", json!({"name": "VAT 20", "rate": "20"})).await;
    let low = s.post("/api/v1/taxes", json!({"name": "VAT 7", "rate": "7"})).await;
    s.post("/api/v1/tax-categories", json!({"name": "Standard", "tax_ids": [vat["id"]]})).await;
    (vat, low)
}

async fn invoices_and_payments_round_trip_to_the_cent(t: TestDb) {
    let a = Server::start(&t).await;
    let (vat, low) = taxes(&a).await;
    let cat = a.get("/api/v1/tax-categories").await["data"][0].clone();
    a.post(
        "/api/v1/products",
        json!({"sku": "DR-1", "name": "Drill", "list_price": "119.99", "currency": "EUR",
        "tax_category_id": cat["id"]}),
    )
    .await;
    let acme = a
        .post(
            "/api/v1/accounts",
            json!({"name": "Acme", "currency": "EUR",
        "external_ids": [{"system": "erp", "id": "C-1"}]}),
        )
        .await;
    let beta = a.post("/api/v1/accounts", json!({"name": "Beta GmbH", "currency": "EUR"})).await;
    let inv1 = a.post("/api/v1/invoices", json!({"account_id": acme["id"], "date": "2026-01-15", "reference": "PO-1",
        "external_ids": [{"system": "acct", "id": "INV-1"}],
        "groups": [
            {"name": "Tools", "discount_percent": "7.5", "lines": [
                {"description": "Drill, pro", "quantity": "3", "unit_price": "119.99",
                 "discount_percent": "5", "tax_ids": [vat["id"]]},
                {"kind": "comment", "description": "Delivered in one box"},
                {"description": "Bits", "quantity": "1.5", "unit_price": "3.33", "discount_amount": "0.50", "tax_ids": [vat["id"], low["id"]]}]},
            {"name": "", "lines": [{"kind": "shipping", "description": "Freight", "unit_price": "12.40", "tax_ids": [vat["id"]]}]}]}))
    .await;
    a.post(&format!("/api/v1/invoices/{}/issue", inv1["id"].as_str().unwrap()), json!({})).await;
    let products = a.get("/api/v1/products").await;
    let inv2 = a
        .post(
            "/api/v1/invoices",
            json!({"account_id": beta["id"], "date": "2026-02-01",
        "prices_include_tax": true, "tax_rounding": "line",
        "lines": [{"product_id": products["data"][0]["id"], "quantity": "2"},
                  {"description": "Untaxed service", "quantity": "1", "unit_price": "10.01", "tax_ids": []}]}),
        )
        .await;
    let inv3 = a
        .post(
            "/api/v1/invoices",
            json!({"account_id": acme["id"], "date": "2026-02-10", "currency": "EUR",
        "lines": [{"description": "Draft work", "quantity": "7", "unit_price": "0.07", "tax_ids": [low["id"]]}]}),
        )
        .await;
    a.post(&format!("/api/v1/invoices/{}/issue", inv2["id"].as_str().unwrap()), json!({})).await;
    a.post(
        "/api/v1/payments",
        json!({"account_id": acme["id"], "amount": "100.00", "method": "bank_transfer",
        "date": "2026-01-20", "external_ids": [{"system": "bank", "id": "TX-1"}],
        "allocations": [{"invoice_id": inv1["id"], "amount": "100.00"}]}),
    )
    .await;
    let inv2_now = a.get(&format!("/api/v1/invoices/{}", inv2["id"].as_str().unwrap())).await;
    a.post(
        "/api/v1/payments",
        json!({"account_id": beta["id"], "amount": inv2_now["totals"]["total"], "method": "card",
        "date": "2026-02-02", "allocations": [{"invoice_id": inv2["id"], "amount": inv2_now["totals"]["total"]}]}),
    )
    .await;

    let accounts_csv = file("accounts.csv", &a.csv("/api/v1/accounts?format=csv").await);
    let products_csv = file("products.csv", &a.csv("/api/v1/products?format=csv").await);
    let invoices_csv = file("invoices.csv", &a.csv("/api/v1/invoices?format=csv").await);
    let payments_csv = file("payments.csv", &a.csv("/api/v1/payments?format=csv").await);

    let t2 = TestDb::new(t.backend).await.unwrap();
    let b = Server::start(&t2).await;
    taxes(&b).await;
    for (kind, f) in [("accounts", &accounts_csv), ("products", &products_csv)] {
        let out = b.import(kind, f, &[]);
        assert!(out.status.success(), "{kind}: {}", text(&out.stderr));
    }
    let dry = b.import("invoices", &invoices_csv, &["--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    assert!(text(&dry.stderr).contains("would import 3 invoice(s): 3 new, 0 updated"), "{}", text(&dry.stderr));
    assert_eq!(b.get("/api/v1/invoices").await["data"].as_array().unwrap().len(), 0, "a dry run writes nothing");
    let out = b.import("invoices", &invoices_csv, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = b.import("payments", &payments_csv, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    for (orig, key) in [
        (&inv1, "acct/INV-1".to_string()),
        (&inv2, format!("nave/{}", inv2["id"].as_str().unwrap())),
        (&inv3, format!("nave/{}", inv3["id"].as_str().unwrap())),
    ] {
        let there = a.get(&format!("/api/v1/invoices/{}", orig["id"].as_str().unwrap())).await;
        let here = b.get(&format!("/api/v1/invoices/by-external-id/{key}")).await;
        for f in ["subtotal", "discount", "net", "shipping", "tax", "total"] {
            assert_eq!(here["totals"][f], there["totals"][f], "{key} {f}");
        }
        assert_eq!(
            here["totals"]["taxes"].as_array().unwrap().len(),
            there["totals"]["taxes"].as_array().unwrap().len()
        );
        for f in ["status", "balance", "settled", "date", "reference", "prices_include_tax", "tax_rounding"] {
            assert_eq!(here[f], there[f], "{key} {f}");
        }
        assert_eq!(here["account_name"], there["account_name"]);
    }
    let pays = b.get("/api/v1/payments").await;
    assert_eq!(pays["data"].as_array().unwrap().len(), 2);

    // Importing the same files again updates (drafts, payments) and refuses to change issued invoices.
    let again = b.import("payments", &payments_csv, &[]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(text(&again.stderr).contains("0 new, 2 updated"), "{}", text(&again.stderr));
    assert_eq!(b.get("/api/v1/payments").await["data"].as_array().unwrap().len(), 2, "no duplicates");
    let draft_only: String = std::fs::read_to_string(&invoices_csv)
        .unwrap()
        .lines()
        .enumerate()
        .filter(|(i, l)| *i == 0 || l.contains("Draft work"))
        // 7 × 0.08 = 0.56, with 7 % tax 0.60 (the total cell is checked).
        .map(|(_, l)| format!("{}\n", l.replace("0.07", "0.08").replace(",0.52", ",0.60")))
        .collect();
    let out = b.import("invoices", &file("draft.csv", &draft_only), &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("0 new, 1 updated"), "{}", text(&out.stderr));
    let d = b.get(&format!("/api/v1/invoices/by-external-id/nave/{}", inv3["id"].as_str().unwrap())).await;
    assert_eq!(d["groups"][0]["lines"][0]["unit_price"].as_str().unwrap().trim_end_matches('0'), "0.08");
    assert_eq!(b.get("/api/v1/invoices").await["data"].as_array().unwrap().len(), 3);
    let out = b.import("invoices", &invoices_csv, &[]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("issued invoices cannot change"), "{}", text(&out.stderr));
}

async fn refused_rows_name_their_line_and_column(t: TestDb) {
    let s = Server::start(&t).await;
    taxes(&s).await;
    s.post("/api/v1/accounts", json!({"name": "Acme", "currency": "EUR"})).await;
    let cols = "external_id,account,date,currency,group,description,quantity,unit_price,tax,total,status\n";
    let csv = format!(
        "{cols}\
         x:1,Acme,2026-03-01,EUR,,Good,1,10.00,VAT 20,14.00,issued\n\
         x:1,Acme,2026-03-01,EUR,,Also good,2,1.00,none,14.00,issued\n\
         x:2,Acme,2026-03-01,EUR,,Fine,1,5.00,,,\n\
         x:2,Acme,2026-03-01,EUR,,Bad quantity,lots,5.00,,,\n\
         x:3,Nobody,2026-03-01,EUR,,Whoever,1,5.00,,,\n\
         x:4,Acme,2026-03-01,EUR,,Wrong total,1,5.00,none,6.00,\n\
         x:5,Acme,2026-03-01,EUR,,Taxed oddly,1,5.00,Sales tax,,\n"
    );
    let f = file("bad.csv", &csv);
    let out = s.import("invoices", &f, &[]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    for want in [
        "row 5, column quantity",
        "row 6, column account",
        "row 7, column total: is 6.00 but the lines come to 5.00",
        "row 8, column tax: there is no tax named Sales tax",
    ] {
        assert!(err.contains(want), "{want} in {err}");
    }
    assert!(err.contains("Imported 1 invoice(s): 1 new, 0 updated, 1 issued."), "{err}");
    let list = s.get("/api/v1/invoices").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "the refused invoices left nothing");
    assert_eq!(list["data"][0]["totals"]["total"], "14.00");
    assert_eq!(list["data"][0]["status"], "issued");

    let pays = "external_id,account,amount,invoice,allocated\nbank:1,Acme,5.00,NOPE-1,5.00\nbank:2,Acme,abc,,\n";
    let out = s.import("payments", &file("pays.csv", pays), &[]);
    let err = text(&out.stderr);
    assert!(err.contains("row 2, column invoice: there is no invoice NOPE-1"), "{err}");
    assert!(err.contains("row 3, column amount"), "{err}");
}

async fn an_import_from_another_system_leaves_mastered_fields_and_records_a_conflict(t: TestDb) {
    let s = Server::start(&t).await;
    s.post(
        "/api/v1/accounts",
        json!({"name": "Acme", "currency": "EUR", "credit_limit": "5000",
        "phone": "+33 1 00 00 00 00", "external_ids": [{"system": "erp", "id": "C-1"}]}),
    )
    .await;
    let (st, v) =
        s.call(Method::PUT, "/api/v1/master-rules/account/credit_limit", Some(json!({"system": "erp"}))).await;
    assert_eq!(st, 201, "{v}");
    let f = file("acc.csv", "name,credit_limit,phone,external_ids\nAcme,9000,+33 1 11 11 11 11,erp:C-1\n");
    let out = s.import("accounts", &f, &["--source", "shop"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let acme = s.get("/api/v1/accounts/by-external-id/erp/C-1").await;
    assert_eq!(acme["credit_limit"], "5000.00", "mastered by the ERP: the shop's import leaves it");
    assert_eq!(acme["phone"], "+33 1 11 11 11 11", "the rest of the row is written");
    let conflicts = s.get("/api/v1/sync-conflicts").await;
    let list = conflicts["data"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{conflicts}");
    assert_eq!((list[0]["field"].as_str(), list[0]["source"].as_str()), (Some("credit_limit"), Some("shop")));
    let out = s.import("accounts", &f, &["--source", "ERP"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        s.get("/api/v1/accounts/by-external-id/erp/C-1").await["credit_limit"],
        "9000.00",
        "the master's import applies"
    );
    let bad = s.import("accounts", &f, &["--source", "not a system!"]);
    assert!(!bad.status.success());
}

both_backends!(
    invoices_and_payments_round_trip_to_the_cent,
    refused_rows_name_their_line_and_column,
    an_import_from_another_system_leaves_mastered_fields_and_records_a_conflict,
);
