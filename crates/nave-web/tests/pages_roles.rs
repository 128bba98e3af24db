//! Every page for every role, over plain HTTP, on both databases: each GET
//! page route (read from the router's source, so a new page is covered the
//! day it is added) renders with 200, or with a proper 403/404 page, and
//! never with a server error, for each built-in role. And each role's home
//! page lists its work: a rep's opportunities, tasks and accounts; the order
//! desk's orders to ship and to invoice; the warehouse's shipments to do;
//! accounting's overdue invoices and unallocated payments; support's open cases.

mod support;

use std::collections::BTreeMap;

use nave_domain::access::BuiltinRole;
use nave_testkit::{TestDb, both_backends};
use nave_web::api::reports::ReportKind;
use serde_json::{Value, json};
use support::{TestApp, TestUser, json, page, session};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_string()
}

async fn put_ok(app: &TestApp, who: &TestUser, path: &str, body: Value) -> Value {
    let (status, v) = json(app.req(reqwest::Method::PUT, path, who).json(&body).send().await.unwrap()).await;
    assert_eq!(status, 200, "{path}: {v}");
    v
}

async fn post_ok(app: &TestApp, who: &TestUser, path: &str, body: Value) -> Value {
    let (status, v) = json(app.post(path, who, &body).await).await;
    assert!(status == 200 || status == 201, "{path}: {status} {v}");
    v
}

/// A small data set with one record of each kind that has a page, and the
/// ids the page paths need, by the name of their `{id}` segment's parent.
struct Data {
    ids: BTreeMap<&'static str, String>,
    users: BTreeMap<&'static str, TestUser>,
    /// Names shown on the home pages.
    order_number: String,
    /// How the home page names the draft shipment (it has no number before it ships).
    shipment_number: String,
    invoice_number: String,
}

async fn data(app: &TestApp) -> Data {
    let mut users = BTreeMap::new();
    for role in BuiltinRole::ALL {
        let r = role.as_str();
        users.insert(r, app.user(&format!("{r}@example.com"), r).await);
    }
    let admin = &users["admin"];
    let rep = &users["sales_rep"];
    let mut ids = BTreeMap::new();
    let vat = post_ok(app, admin, "/api/v1/taxes", json!({"name": "VAT 20 %", "rate": "20"})).await;
    let cat = post_ok(app, admin, "/api/v1/tax-categories", json!({"name": "Standard", "tax_ids": [vat["id"]]})).await;
    let main = post_ok(app, admin, "/api/v1/warehouses", json!({"name": "Main"})).await;
    let hub = post_ok(app, admin, "/api/v1/warehouses", json!({"name": "Hub"})).await;
    let pc = post_ok(app, admin, "/api/v1/product-categories", json!({"name": "Tools"})).await;
    let product = post_ok(
        app,
        admin,
        "/api/v1/products",
        json!({"sku": "DR-1", "name": "Drill", "list_price": "120.00", "currency": "EUR", "cost": "70.00",
               "tax_category_id": cat["id"], "category_id": pc["id"]}),
    )
    .await;
    let adj = post_ok(
        app,
        admin,
        "/api/v1/stock-adjustments",
        json!({"warehouse_id": main["id"], "reason": "opening balance",
               "lines": [{"product_id": product["id"], "quantity": "20", "unit_cost": "70.00"}]}),
    )
    .await;
    let transfer = post_ok(
        app,
        admin,
        "/api/v1/stock-transfers",
        json!({"from_warehouse_id": main["id"], "to_warehouse_id": hub["id"], "reason": "replenish",
               "lines": [{"product_id": product["id"], "quantity": "2"}]}),
    )
    .await;
    let pl = post_ok(
        app,
        admin,
        "/api/v1/price-lists",
        json!({"name": "Trade", "currency": "EUR", "items": [{"product_id": product["id"], "price": "110"}]}),
    )
    .await;
    // The rep's account: created by the rep, so theirs.
    let account = post_ok(app, rep, "/api/v1/accounts", json!({"name": "Harbour Supplies", "currency": "EUR"})).await;
    let contact = post_ok(
        app,
        rep,
        "/api/v1/contacts",
        json!({"account_id": account["id"], "first_name": "Greta", "last_name": "Lind"}),
    )
    .await;
    let opp = post_ok(
        app,
        rep,
        "/api/v1/opportunities",
        json!({"account_id": account["id"], "name": "Harbour refit", "amount": "5000.00", "expected_close": "2030-01-31"}),
    )
    .await;
    post_ok(
        app,
        rep,
        "/api/v1/activities",
        json!({"kind": "task", "account_id": account["id"], "subject": "Send the refit samples", "due_date": "2026-03-10"}),
    )
    .await;
    let case = post_ok(
        app,
        rep,
        "/api/v1/cases",
        json!({"account_id": account["id"], "subject": "Drill stops after a minute"}),
    )
    .await;
    let lead = post_ok(app, rep, "/api/v1/leads", json!({"company": "Initech", "last_name": "Gibbons"})).await;
    let lines = json!([{"product_id": product["id"], "quantity": "3"}]);
    let quote = post_ok(app, rep, "/api/v1/quotes", json!({"account_id": account["id"], "lines": lines})).await;
    let order = post_ok(
        app,
        admin,
        "/api/v1/sales-orders",
        json!({"account_id": account["id"], "warehouse_id": main["id"], "invoice_policy": "ordered", "lines": lines}),
    )
    .await;
    let order = post_ok(app, admin, &format!("/api/v1/sales-orders/{}/confirm", id(&order)), json!({})).await;
    let shipment =
        post_ok(app, admin, "/api/v1/shipments", json!({"sales_order_id": order["id"], "carrier": "DHL"})).await;
    let subscription = post_ok(
        app,
        admin,
        "/api/v1/subscriptions",
        json!({"account_id": account["id"], "name": "Support plan", "period": "month", "start_date": "2026-01-31",
               "lines": [{"description": "Support", "quantity": "1", "unit_price": "49.00"}]}),
    )
    .await;
    // An invoice issued long ago on Net 30: overdue.
    let (_, terms) = json(app.get("/api/v1/payment-terms", admin).await).await;
    let net30 = terms["data"].as_array().unwrap().iter().find(|t| t["name"] == "Net 30").unwrap()["id"].clone();
    let invoice = post_ok(
        app,
        admin,
        "/api/v1/invoices",
        json!({"account_id": account["id"], "date": "2025-01-15", "payment_terms_id": net30, "lines": lines}),
    )
    .await;
    let invoice = post_ok(app, admin, &format!("/api/v1/invoices/{}/issue", id(&invoice)), json!({})).await;
    assert_eq!(invoice["overdue"], true, "{invoice}");
    let credit = post_ok(
        app,
        admin,
        "/api/v1/credit-notes",
        json!({"account_id": account["id"], "lines": [{"product_id": product["id"], "quantity": "1"}]}),
    )
    .await;
    // A payment left unallocated: account credit.
    post_ok(
        app,
        admin,
        "/api/v1/payments",
        json!({"account_id": account["id"], "amount": "20.00", "method": "cash", "reference": "TILL-7"}),
    )
    .await;
    // The purchase side: a supplier, a confirmed PO with a receipt and an
    // issued bill, a bill credit, a payment sent, a minimum below stock.
    let supplier = post_ok(
        app,
        admin,
        "/api/v1/accounts",
        json!({"name": "Globex Supply", "currency": "USD", "kinds": ["supplier"]}),
    )
    .await;
    let po = post_ok(
        app,
        admin,
        "/api/v1/purchase-orders",
        json!({"account_id": supplier["id"], "warehouse_id": main["id"],
               "lines": [{"product_id": product["id"], "quantity": "5", "unit_price": "60.00"}]}),
    )
    .await;
    let po = post_ok(app, admin, &format!("/api/v1/purchase-orders/{}/confirm", id(&po)), json!({})).await;
    let po_line = po["groups"][0]["lines"][0]["id"].clone();
    let receipt = post_ok(
        app,
        admin,
        "/api/v1/receipts",
        json!({"account_id": supplier["id"], "purchase_order_id": po["id"],
               "lines": [{"product_id": product["id"], "quantity": "2", "unit_price": "60.00", "origin_line_id": po_line}]}),
    )
    .await;
    post_ok(app, admin, &format!("/api/v1/receipts/{}/receive", id(&receipt)), json!({})).await;
    let bill = post_ok(
        app,
        admin,
        "/api/v1/bills",
        json!({"account_id": supplier["id"], "purchase_order_id": po["id"], "reference": "GX-INV-1"}),
    )
    .await;
    let bill = post_ok(app, admin, &format!("/api/v1/bills/{}/issue", id(&bill)), json!({})).await;
    let bill_credit = post_ok(
        app,
        admin,
        "/api/v1/bill-credits",
        json!({"account_id": supplier["id"], "bill_id": bill["id"], "reference": "GX-CR-1",
               "lines": [{"product_id": product["id"], "quantity": "1", "unit_price": "60.00",
                          "origin_line_id": bill["groups"][0]["lines"][0]["id"]}]}),
    )
    .await;
    let bill_credit = post_ok(app, admin, &format!("/api/v1/bill-credits/{}/issue", id(&bill_credit)), json!({})).await;
    let sent = post_ok(
        app,
        admin,
        "/api/v1/payments-sent",
        json!({"account_id": supplier["id"], "amount": "30.00", "method": "bank_transfer"}),
    )
    .await;
    put_ok(
        app,
        admin,
        "/api/v1/stock-minimums",
        json!({"product_id": product["id"], "warehouse_id": main["id"], "min_quantity": "40"}),
    )
    .await;
    put_ok(
        app,
        admin,
        "/api/v1/settings/company",
        json!({"legal_name": "Nave Trading Ltd", "address": "1 Dock Road\nBristol", "receiving_tolerance_percent": "5"}),
    )
    .await;
    let hook = post_ok(
        app,
        admin,
        "/api/v1/webhooks",
        json!({"url": "http://127.0.0.1:9/hooks", "description": "ERP sync", "active": false}),
    )
    .await;
    let custom_role = post_ok(
        app,
        admin,
        "/api/v1/roles",
        json!({"name": "key_account", "description": "Key accounts", "capabilities": ["view_margin"],
               "permissions": [{"record_type": "account", "action": "read", "scope": "team"}]}),
    )
    .await;
    let rep_user = json!({"id": rep.user.id.to_string()});
    let woo = post_ok(
        app,
        admin,
        "/api/v1/integrations/woocommerce",
        json!({"name": "Web shop", "url": "https://shop.example.com", "secret": "shop-secret-1",
               "warehouse_id": main["id"], "tax_map": [{"woo_rate": "1", "tax_id": vat["id"]}]}),
    )
    .await;
    // A finished export job of the admin's: its pages are the admin's only.
    let admin_cookie = session(app, "admin@example.com").await;
    let r = app.submit("/exports/accounts", &admin_cookie, &[]).await;
    assert_eq!(r.status(), 303);
    let job = support::location(&r);
    for _ in 0..600 {
        let r = app
            .client
            .get(app.url(&format!("{job}/progress")))
            .header("cookie", &admin_cookie)
            .header("hx-request", "true")
            .send()
            .await
            .unwrap();
        if !r.text().await.unwrap().contains("hx-get=") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let job = json!({"id": job.trim_start_matches("/jobs/")});
    for (k, v) in [
        ("jobs", &job),
        ("admin/users", &rep_user),
        ("admin/roles", &custom_role),
        ("webhooks", &hook),
        ("integrations/woocommerce", &woo),
        ("accounts", &account),
        ("contacts", &contact),
        ("opportunities", &opp),
        ("cases", &case),
        ("leads", &lead),
        ("payment-terms", &json!({"id": net30})),
        ("taxes", &vat),
        ("tax-categories", &cat),
        ("stock/adjustments", &adj),
        ("stock/transfers", &transfer),
        ("warehouses", &main),
        ("price-lists", &pl),
        ("products", &product),
        ("product-categories", &pc),
        ("quotes", &quote),
        ("sales-orders", &order),
        ("invoices", &invoice),
        ("credit-notes", &credit),
        ("purchase-orders", &po),
        ("receipts", &receipt),
        ("bills", &bill),
        ("bill-credits", &bill_credit),
        ("payments-sent", &sent),
        ("shipments", &shipment),
        ("subscriptions", &subscription),
    ] {
        ids.insert(k, id(v));
    }
    Data {
        ids,
        users,
        order_number: order["number"].as_str().unwrap().to_string(),
        shipment_number: format!("Shipment of {}", order["number"].as_str().unwrap()),
        invoice_number: invoice["number"].as_str().unwrap().to_string(),
    }
}

/// The GET page routes of the router, read from its source: `lib.rs`, the
/// document pages (whose routes are built per document type, `{p}`), the
/// payment pages (per side, `{b}`; credits per type, `{p}`), the pages
/// that follow a document (ship, receive, bill, credit), the reorder page
/// and the subscription pages.
fn page_routes() -> Vec<String> {
    let mut routes = vec![];
    let documents =
        ["quotes", "sales-orders", "invoices", "credit-notes", "purchase-orders", "receipts", "bills", "bill-credits"];
    for (src, placeholder, paths) in [
        (include_str!("../src/lib.rs"), "", &[""][..]),
        (include_str!("../src/pages/documents.rs"), "{p}", &documents[..]),
        (include_str!("../src/pages/payments.rs"), "{b}", &["payments", "payments-sent"][..]),
        (include_str!("../src/pages/payments.rs"), "{p}", &["credit-notes", "bill-credits"][..]),
        (include_str!("../src/pages/fulfilment.rs"), "", &[""][..]),
        (include_str!("../src/pages/subscriptions.rs"), "", &[""][..]),
        (include_str!("../src/pages/purchase.rs"), "", &[""][..]),
        (include_str!("../src/pages/webhooks.rs"), "", &[""][..]),
        (include_str!("../src/pages/woocommerce.rs"), "", &[""][..]),
        (include_str!("../src/pages/sync.rs"), "", &[""][..]),
        (include_str!("../src/pages/woocommerce.rs"), "", &[""][..]),
    ] {
        let chunks: Vec<&str> = src.split(".route(").skip(1).collect();
        for chunk in chunks {
            let chunk = chunk.trim_start();
            let chunk = chunk.strip_prefix("&format!(").unwrap_or(chunk);
            let Some(rest) = chunk.strip_prefix('"') else { continue };
            let Some(end) = rest.find('"') else { continue };
            let pattern = rest[..end].replace("{{", "{").replace("}}", "}");
            let handler = &rest[end..];
            if !handler.trim_start_matches(['"', ')', ',', ' ', '\n']).starts_with("get(") {
                continue;
            }
            if pattern.starts_with("/api")
                || pattern.starts_with("/assets")
                || pattern == "/health"
                || pattern == "/ready"
            {
                continue;
            }
            if !placeholder.is_empty() && pattern.contains(placeholder) {
                routes.extend(paths.iter().map(|p| pattern.replace(placeholder, p)));
            } else if pattern == "/reports/{name}" {
                // Every report page, the profit and payables reports among them.
                routes.extend(ReportKind::ALL.iter().map(|k| format!("/reports/{}", k.slug())));
            } else if !pattern.contains("{p}") && !pattern.contains("{b}") {
                routes.push(pattern);
            }
        }
    }
    routes.sort();
    routes.dedup();
    routes
}

/// A route with its `{id}` (and other) segments filled from the data set;
/// ids of records without data get an id that exists nowhere (a 404).
fn fill(route: &str, d: &Data) -> String {
    let Some((head, tail)) = route.split_once("/{id}") else { return route.to_string() };
    let key = head.trim_start_matches('/');
    let id = d.ids.get(key).cloned().unwrap_or_else(|| "0190a1b2-0000-7000-8000-000000000000".to_string());
    format!("{head}/{id}{}", tail.replace("{revision}", "1"))
}

/// The HTML of one section (`id="…"` up to its `</section>`) of a page.
fn section<'a>(html: &'a str, id: &str) -> Option<&'a str> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let rest = &html[start..];
    Some(&rest[..rest.find("</section>").unwrap_or(rest.len())])
}

async fn every_page_renders_for_every_role_without_a_server_error(db: TestDb) {
    let app = TestApp::start(db).await;
    let d = data(&app).await;
    let routes = page_routes();
    for must in [
        "/",
        "/accounts/{id}",
        "/quotes/{id}",
        "/invoices/{id}/edit",
        "/stock",
        "/settings/tokens",
        "/reports/profit-by-customer",
        "/reports/profit-by-product",
        "/reports/profit-by-category",
        "/reports/profit-by-order",
        "/reports/payables-aging",
        "/purchase-orders/{id}",
        "/purchase-orders/{id}/receive",
        "/purchase-orders/{id}/bill",
        "/receipts/{id}",
        "/bills/{id}/credit",
        "/bill-credits/{id}/apply",
        "/payments-sent/{id}",
        "/payments-sent/new",
        "/reorder-suggestions",
        "/settings/company",
        "/webhooks",
        "/webhooks/new",
        "/webhooks/{id}",
        "/settings/master-rules",
        "/sync-conflicts",
        "/accounts/export.csv",
        "/admin/users/{id}",
        "/admin/users/new",
        "/admin/roles/{id}",
        "/admin/roles/new",
        "/admin/teams",
        "/integrations/woocommerce",
        "/integrations/woocommerce/{id}",
        "/contacts",
        "/cases",
        "/cases/export.csv",
        "/opportunities",
        "/opportunities/export.csv",
        "/leads/export.csv",
        "/quotes/export.csv",
        "/invoices/export.csv",
        "/bills/export.csv",
        "/shipments",
        "/subscriptions",
        "/imports",
        "/jobs/{id}",
        "/jobs/{id}/progress",
        "/jobs/{id}/download",
    ] {
        assert!(routes.iter().any(|r| r == must), "the route list has {must}: {routes:?}");
    }
    let mut failures = vec![];
    for role in BuiltinRole::ALL {
        let cookie = session(&app, &format!("{}@example.com", role.as_str())).await;
        for route in &routes {
            // PDFs are rendered by typst; one role (the admin, below) is enough.
            if route.ends_with("/pdf") && *role != BuiltinRole::Admin {
                continue;
            }
            let path = fill(route, &d);
            let r = app.client.get(app.url(&path)).header("cookie", &cookie).send().await.unwrap();
            let status = r.status().as_u16();
            let pdf = r.headers().get("content-type").is_some_and(|c| c.as_bytes().starts_with(b"application/pdf"));
            let csv = r.headers().get("content-type").is_some_and(|c| c.as_bytes().starts_with(b"text/csv"));
            let body = r.text().await.unwrap_or_default();
            let ok = match status {
                200 => pdf || csv || (body.contains("</html>") && !body.contains("The page could not be shown")),
                // Refused: not allowed, not there, or not in a state for this page
                // (the editor of a document that is no longer a draft).
                403 | 404 | 409 => body.contains("</html>"),
                // Some forms redirect (e.g. the login form of a signed-in user).
                303 | 302 => true,
                _ => false,
            };
            if !ok {
                failures.push(format!("{} GET {path} → {status}", role.as_str()));
            }
            // The admin may do everything: every page exists for them,
            // except records the data set has none of.
            let missing_record = route.contains("{id}")
                && !d.ids.contains_key(route.split("/{id}").next().unwrap().trim_start_matches('/'));
            let expected_refusal = (status == 404
                && (missing_record || route.contains("{revision}") || route.ends_with("/picture")))
                // Editors of documents that are no longer drafts, and the forms
                // that settle a credit still in draft.
                || (status == 409
                    && (route.ends_with("/edit") || route.ends_with("/apply") || route.ends_with("/refund")))
                || status == 303;
            if *role == BuiltinRole::Admin && status != 200 && !expected_refusal {
                failures.push(format!("admin GET {path} → {status}, expected 200"));
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

async fn each_role_finds_its_work_on_its_home_page(db: TestDb) {
    let app = TestApp::start(db).await;
    let d = data(&app).await;
    let home = |role: &'static str| {
        let app = &app;
        async move {
            let cookie = session(app, &format!("{role}@example.com")).await;
            let (status, html) = page(app, &cookie, "/").await;
            assert_eq!(status, 200, "{role}: {html}");
            html
        }
    };
    let has = |html: &str, sec: &str, what: &str| {
        let s = section(html, sec).unwrap_or_else(|| panic!("no section {sec}"));
        assert!(s.contains(what), "section {sec} lists {what}: {s}");
    };

    let rep = home("sales_rep").await;
    has(&rep, "open-opportunities", "Harbour refit");
    has(&rep, "open-tasks", "Send the refit samples");
    has(&rep, "recent-accounts", "Harbour Supplies");
    has(&rep, "open-cases", "Drill stops after a minute");
    for other in ["orders-to-ship", "orders-to-invoice", "shipments-to-do", "overdue-invoices", "unallocated-payments"]
    {
        assert!(section(&rep, other).is_none(), "a rep's home has no {other}");
    }

    let desk = home("order_desk").await;
    has(&desk, "orders-to-ship", &d.order_number);
    has(&desk, "orders-to-invoice", &d.order_number);
    assert!(section(&desk, "open-opportunities").is_none());
    assert!(section(&desk, "unallocated-payments").is_none());

    let wh = home("warehouse").await;
    has(&wh, "shipments-to-do", &d.shipment_number);
    has(&wh, "shipments-to-do", "from Main");
    has(&wh, "orders-to-ship", &d.order_number);
    assert!(section(&wh, "orders-to-invoice").is_none());
    assert!(section(&wh, "overdue-invoices").is_none());

    let acc = home("accounting").await;
    has(&acc, "overdue-invoices", &d.invoice_number);
    has(&acc, "unallocated-payments", "TILL-7");
    has(&acc, "unallocated-payments", "20.00");
    assert!(section(&acc, "open-cases").is_none());
    assert!(section(&acc, "shipments-to-do").is_none());

    let sup = home("support").await;
    has(&sup, "open-cases", "Drill stops after a minute");
    assert!(section(&sup, "orders-to-ship").is_none());
    assert!(section(&sup, "overdue-invoices").is_none());

    // Done work leaves the lists: the shipment goes out, the payment is allocated.
    let admin = &d.users["admin"];
    let (_, shipments) = json(app.get("/api/v1/shipments", admin).await).await;
    let sh = shipments["data"][0]["id"].as_str().unwrap().to_string();
    post_ok(&app, admin, &format!("/api/v1/shipments/{sh}/ship"), json!({})).await;
    let wh = home("warehouse").await;
    assert!(!section(&wh, "shipments-to-do").unwrap().contains(&d.shipment_number), "shipped: no longer to do");
    assert!(!section(&wh, "orders-to-ship").unwrap().contains(&d.order_number), "all shipped");
    let read_only = home("read_only").await;
    for other in ["orders-to-ship", "shipments-to-do", "overdue-invoices", "open-cases", "open-opportunities"] {
        assert!(section(&read_only, other).is_none(), "read-only works on nothing: {other}");
    }
}

both_backends!(every_page_renders_for_every_role_without_a_server_error, each_role_finds_its_work_on_its_home_page);
