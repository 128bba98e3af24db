//! Real-browser tests: headless Chromium, driven over WebDriver, against a
//! real Nave server on a loopback port, on both databases.
//!
//! They check what only a browser shows: that the forms and buttons of the
//! pages work as a person uses them (log in, create an account and a contact,
//! build a quote in the document editor and take it to a sales order, then
//! ship part of it, invoice, issue and pay), that
//! the totals the page shows are the API's, that a sales rep browsing every
//! page never sees a cost or a margin, and that a form posted from another
//! origin is refused even when the browser sends the session cookie with it,
//! and that an import's page follows the job by itself (htmx under the CSP)
//! and shows its summary without a reload.
//!
//! Each test starts its own chromedriver and Chromium (`browser_support`);
//! without chromedriver they skip with a warning, except under `CI=true`.
//! On failure a screenshot and the page source go to
//! `target/browser-screenshots/`.
//!
//! The quote test goes on through the order's pages: part-ship, invoice what
//! shipped, issue, and record the payment that settles it.

mod browser_support;
mod support;

use std::collections::BTreeMap;

use browser_support::Browser;
use nave_domain::locale::Locale;
use nave_domain::money::Currency;
use nave_testkit::{TestDb, both_backends};
use serde_json::{Value, json};
use support::{PASSWORD, TestApp, TestUser, json};

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

async fn post_ok(app: &TestApp, who: &TestUser, path: &str, body: Value) -> Value {
    let (status, v) = json(app.post(path, who, &body).await).await;
    assert!(status == 200 || status == 201, "{path}: {status} {v}");
    v
}

async fn get_ok(app: &TestApp, who: &TestUser, path: &str) -> Value {
    let (status, v) = json(app.get(path, who).await).await;
    assert_eq!(status, 200, "{path}: {v}");
    v
}

/// The browser for a test, named after it and the database; `None` when
/// the browser tests are skipped.
async fn browser(test: &str, db: &TestDb) -> Option<Browser> {
    Browser::start(&format!("{test}-{:?}", db.backend).to_lowercase()).await
}

/// Products A, B, C with a 20 % tax, a warehouse holding them, and an account.
struct Catalog {
    a: Value,
    b: Value,
    c: Value,
    account: Value,
}

async fn catalog(app: &TestApp, admin: &TestUser, owner: Option<&TestUser>) -> Catalog {
    let vat = post_ok(app, admin, "/api/v1/taxes", json!({"name": "VAT 20 %", "rate": "20"})).await;
    let cat = post_ok(app, admin, "/api/v1/tax-categories", json!({"name": "Standard", "tax_ids": [vat["id"]]})).await;
    let wh = post_ok(app, admin, "/api/v1/warehouses", json!({"name": "Main"})).await;
    let mut ps = vec![];
    for (sku, price, cost) in [("A", "12.50", "7.71"), ("B", "7.99", "3.17"), ("C", "100.00", "55.19")] {
        let p = post_ok(
            app,
            admin,
            "/api/v1/products",
            json!({"sku": sku, "name": format!("Widget {sku}"), "list_price": price, "currency": "EUR",
                   "cost": cost, "tax_category_id": cat["id"]}),
        )
        .await;
        let body = json!({"warehouse_id": wh["id"], "reason": "opening balance",
            "lines": [{"product_id": p["id"], "quantity": "50", "unit_cost": "6.13"}]});
        post_ok(app, admin, "/api/v1/stock-adjustments", body).await;
        ps.push(p);
    }
    let account = post_ok(
        app,
        owner.unwrap_or(admin),
        "/api/v1/accounts",
        json!({"name": "Harbour Supplies", "currency": "EUR"}),
    )
    .await;
    let [a, b, c] = <[Value; 3]>::try_from(ps).unwrap();
    Catalog { a, b, c, account }
}

// ------------------------------------------------------------------ tests

async fn logs_in_and_creates_an_account_and_a_contact_through_the_pages(db: TestDb) {
    let Some(b) = browser("accounts_and_contacts", &db).await else { return };
    let app = TestApp::start(db).await;
    let rep = app.user("rita@example.com", "sales_rep").await;
    let base = app.url("");
    b.run(async {
        // A wrong password keeps the user on the login form, with an error.
        b.goto(&format!("{base}/login")).await;
        b.fill("input[name=email]", "rita@example.com").await;
        b.fill("input[name=password]", "not the password").await;
        b.click_and_wait("form[action='/login'] button[type=submit]").await;
        assert_eq!(b.path().await, "/login");
        assert!(b.find_all("input[name=password]").await.len() == 1, "the login form is shown again");

        b.log_in(&base, "rita@example.com", PASSWORD).await;
        assert!(b.body_text().await.contains("rita"), "the signed-in user is shown");

        b.goto(&format!("{base}/accounts/new")).await;
        b.fill("#name", "Blue Harbour GmbH").await;
        b.fill("#currency", "EUR").await;
        b.click_and_wait("form[action='/accounts'] button[type=submit]").await;
        let account_path = b.path().await;
        assert!(account_path.starts_with("/accounts/"), "the new account's page is shown: {account_path}");
        assert!(b.text("h1").await.contains("Blue Harbour GmbH"));
        let account_id = account_path.trim_start_matches("/accounts/").to_string();

        b.click_and_wait(&format!("a[href='/accounts/{account_id}/contacts/new']")).await;
        b.fill("#first_name", "Greta").await;
        b.fill("#last_name", "Lind").await;
        b.fill("#emails", "greta@blueharbour.example").await;
        b.click_and_wait(&format!("form[action='/accounts/{account_id}/contacts'] button[type=submit]")).await;
        let contact_path = b.path().await;
        assert!(contact_path.starts_with("/contacts/"), "the new contact's page is shown: {contact_path}");

        // What the pages stored is what the API reads.
        let a = get_ok(&app, &rep, &format!("/api/v1/accounts/{account_id}")).await;
        assert_eq!(a["name"], "Blue Harbour GmbH");
        assert_eq!(a["owner_id"], json!(rep.user.id.to_string()), "the rep who created it owns it");
        let c =
            get_ok(&app, &rep, &format!("/api/v1/contacts/{}", contact_path.trim_start_matches("/contacts/"))).await;
        assert_eq!((c["first_name"].as_str(), c["last_name"].as_str()), (Some("Greta"), Some("Lind")), "{c}");
        assert_eq!(c["account_id"], json!(account_id));
        assert!(c.to_string().contains("greta@blueharbour.example"), "{c}");
    })
    .await;
}

/// The totals table of a document page: label → amount as shown.
async fn shown_totals(b: &Browser) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for row in b.find_all("table.totals tr").await {
        let th = row.find(fantoccini::Locator::Css("th")).await.unwrap().text().await.unwrap();
        let td = row.find(fantoccini::Locator::Css("td")).await.unwrap().text().await.unwrap();
        out.insert(spaced(th.trim()), spaced(td.trim()));
    }
    out
}

/// Text as WebDriver reads it: no-break spaces come back as plain spaces.
fn spaced(s: &str) -> String {
    s.replace(['\u{a0}', '\u{202f}'], " ")
}

/// Clicks the button of a document action (`send`, `accept`, …).
async fn act(b: &Browser, action: &str) {
    b.click_and_wait(&format!("form[action$='/actions/{action}'] button[type=submit]")).await;
}

async fn builds_a_quote_and_takes_it_through_order_shipment_invoice_and_payment(db: TestDb) {
    let Some(b) = browser("quote_editor", &db).await else { return };
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let mgr = app.user("maria@example.com", "sales_manager").await;
    // Maria reads German formats (1.234,56 €); the admin keeps en-US ($1,234.56).
    let r = app
        .req(reqwest::Method::PATCH, &format!("/api/v1/users/{}", mgr.user.id), &admin)
        .json(&json!({"locale": "de-DE"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let (de, us) = (Locale::parse("de-DE"), Locale::parse("en-US"));
    let eur = Currency::parse("EUR").unwrap();
    let cat = catalog(&app, &admin, None).await;
    let base = app.url("");
    b.run(async {
        b.log_in(&base, "maria@example.com", PASSWORD).await;
        b.goto(&format!("{base}/quotes/new")).await;
        b.select("#account_id", id(&cat.account)).await;
        // Group 1: 3 × A, and 2 × B at 10 % off.
        b.fill("#groups-0-name", "Hardware").await;
        b.select("#g0-l0-product_id", id(&cat.a)).await;
        b.fill("#g0-l0-quantity", "3").await;
        b.select("#g0-l1-product_id", id(&cat.b)).await;
        b.fill("#g0-l1-quantity", "2").await;
        b.fill("#g0-l1-discount_percent", "10").await;
        b.click_and_wait("button[value=add_group]").await;
        // The form comes back with what was typed and a second group.
        assert_eq!(b.find("#g0-l1-discount_percent").await.prop("value").await.unwrap().as_deref(), Some("10"));
        // Group 2: 1 × C with 5.00 off, and a shipping line of 15.00.
        b.fill("#groups-1-name", "Service").await;
        b.select("#g1-l0-product_id", id(&cat.c)).await;
        b.fill("#g1-l0-quantity", "1").await;
        b.fill("#g1-l0-discount_amount", "5").await;
        b.select("#g1-l1-kind", "shipping").await;
        b.fill("#g1-l1-description", "Freight").await;
        b.fill("#g1-l1-quantity", "1").await;
        b.fill("#g1-l1-unit_price", "15").await;
        b.click_and_wait(".actions button[value=save]").await;
        let path = b.path().await;
        assert!(path.starts_with("/quotes/") && !path.ends_with("/new"), "the quote's page is shown: {path}");
        let qid = path.trim_start_matches("/quotes/").to_string();

        let q = get_ok(&app, &mgr, &format!("/api/v1/quotes/{qid}")).await;
        assert_eq!(q["groups"].as_array().unwrap().len(), 2, "{q}");
        let t = &q["totals"];
        assert_eq!(t["shipping"], "15.00", "{t}");
        assert_ne!(t["discount"], "0.00", "the line discounts count: {t}");
        let shown = shown_totals(&b).await;
        let api = |k: &str| Some(spaced(&de.number_text(t[k].as_str().unwrap())));
        for (label, key) in
            [("Subtotal", "subtotal"), ("Discount", "discount"), ("Net", "net"), ("Shipping", "shipping")]
        {
            assert_eq!(shown.get(label).cloned(), api(key), "{label}: {shown:?} vs {t}");
        }
        assert_eq!(shown.get("Tax").cloned(), api("tax"), "{shown:?} vs {t}");
        let de_total = spaced(&de.amount_text(t["total"].as_str().unwrap(), eur));
        assert_eq!(shown.get("Total"), Some(&de_total), "{shown:?} vs {t}");
        assert!(de_total.ends_with(" €") && de_total.contains(','), "German order: {de_total}");
        // 3 × 12.50 + 2 × 7.99 × 0.9 + 100.00 − 5.00 = 146.882 → net 146.88 before shipping.
        assert_eq!(t["net"], "146.88", "{t}");
        // The editor prices the form live on the server: opened again, its totals are the stored ones.
        b.goto(&format!("{base}/quotes/{qid}/edit")).await;
        let live = spaced(b.text_when_shown("#live-totals tr.grand td").await.trim());
        assert_eq!(live, de_total, "the editor's live total is the server's");
        b.goto(&format!("{base}/quotes/{qid}")).await;

        act(&b, "send").await;
        assert!(b.text("h1 .badge").await.contains("sent"));
        act(&b, "accept").await;
        assert!(b.text("h1 .badge").await.contains("accepted"));
        b.click_and_wait("form[action$='/actions/convert']:has(input[name=to][value=sales_order]) button").await;
        let order_path = b.path().await;
        assert!(order_path.starts_with("/sales-orders/"), "the order's page is shown: {order_path}");
        assert!(b.text("h1 .badge").await.contains("open"));
        let o = get_ok(&app, &mgr, &format!("/api/v1{order_path}")).await;
        assert_eq!(o["origin_id"], json!(qid));
        assert_eq!(o["status"], "open");
        assert_eq!(o["totals"]["total"], t["total"], "the order carries the quote's total");
        let shown = shown_totals(&b).await;
        assert_eq!(shown.get("Total"), Some(&de_total));

        // The order desk's work is the admin's here (a sales manager neither ships nor invoices).
        b.click_and_wait("form[action='/logout'] button[type=submit]").await;
        b.log_in(&base, "admin@example.com", PASSWORD).await;
        b.goto(&format!("{base}{order_path}")).await;
        // Part-ship from the order's next steps: 1 of the 3 A and both B, done at once.
        b.click_and_wait(&format!("a[href='{order_path}/ship']")).await;
        assert_eq!(b.path().await, format!("{order_path}/ship"));
        b.fill("#lines-0-quantity", "1").await;
        b.fill("#lines-2-quantity", "").await;
        if b.find("#ship_now").await.prop("checked").await.unwrap().as_deref() != Some("true") {
            b.find("#ship_now").await.click().await.unwrap();
        }
        b.click_and_wait("section.card form button[type=submit]").await;
        let o = get_ok(&app, &mgr, &format!("/api/v1{order_path}")).await;
        let shipped: Vec<&str> = o["groups"][0]["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["quantity_shipped"].as_str().unwrap())
            .collect();
        assert_eq!(shipped, ["1", "2"], "A part-shipped, B shipped: {o}");
        assert_eq!(o["groups"][1]["lines"][0]["quantity_shipped"], "0", "C not yet: {o}");

        // Invoice what shipped (the form's defaults), then issue it.
        b.goto(&format!("{base}{order_path}")).await;
        b.click_and_wait(&format!("a[href='{order_path}/invoice']")).await;
        b.click_and_wait("section.card form button[type=submit]").await;
        let invoice_path = b.path().await;
        assert!(invoice_path.starts_with("/invoices/"), "the draft invoice is shown: {invoice_path}");
        act(&b, "issue").await;
        assert!(b.text("h1 .badge").await.contains("issued"));
        let inv = get_ok(&app, &mgr, &format!("/api/v1{invoice_path}")).await;
        let total = inv["totals"]["total"].as_str().unwrap().to_string();
        let us_total = spaced(&us.amount_text(&total, eur));
        assert!(us_total.starts_with('€'), "US order: {us_total}");
        assert_eq!(shown_totals(&b).await.get("Total"), Some(&us_total), "{inv}");
        let billed: Vec<&str> = inv["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["lines"].as_array().unwrap())
            .map(|l| l["quantity"].as_str().unwrap())
            .collect();
        assert!(billed.contains(&"1") && billed.contains(&"2"), "what shipped is billed: {inv}");

        // Record the payment from the invoice's next step; the invoice is paid.
        b.click_and_wait("a[href^='/payments/new?account_id=']").await;
        b.fill("#amount", &total).await;
        b.click_and_wait("section.card form button[type=submit]").await;
        let inv = get_ok(&app, &mgr, &format!("/api/v1{invoice_path}")).await;
        assert_eq!(inv["status"], "paid", "{inv}");
        assert_eq!(inv["balance"], "0.00", "{inv}");
        b.goto(&format!("{base}{invoice_path}")).await;
        assert!(b.text("h1 .badge").await.contains("paid"));
    })
    .await;
}

/// Does the visible text mention a cost or a margin?
fn mentions_cost_or_margin(text: &str) -> Option<String> {
    let lower = text.to_lowercase();
    lower
        .split(|c: char| !c.is_alphanumeric())
        .find(|w| matches!(*w, "cost" | "costs" | "margin" | "margins"))
        .map(str::to_string)
}

/// Follows every same-origin link from `/` (and from `extra`), breadth
/// first, up to `max` pages, calling `check(path, text, source)` on each.
async fn crawl(b: &Browser, base: &str, extra: &[String], max: usize) -> Vec<(String, String, String)> {
    let mut queue: std::collections::VecDeque<String> =
        std::iter::once("/".to_string()).chain(extra.iter().cloned()).collect();
    let mut seen = std::collections::BTreeSet::new();
    let mut pages = vec![];
    while let Some(path) = queue.pop_front() {
        if pages.len() >= max || !seen.insert(path.clone()) {
            continue;
        }
        b.goto(&format!("{base}{path}")).await;
        let text = b.body_text().await;
        let source = b.source().await;
        for link in b.links().await {
            let Some(rest) = link.strip_prefix(base) else { continue };
            let rest = rest.split('#').next().unwrap_or("").to_string();
            let skip = rest.is_empty()
                || rest.starts_with("/api")
                || rest.starts_with("/assets")
                || rest.starts_with("/logout")
                || rest.ends_with("/pdf")
                || rest.ends_with("/download")
                || rest.ends_with("/picture")
                || rest.contains("export");
            if !skip && !seen.contains(&rest) {
                queue.push_back(rest);
            }
        }
        pages.push((path, text, source));
    }
    pages
}

async fn a_sales_rep_browsing_every_page_never_sees_cost_or_margin(db: TestDb) {
    let Some(b) = browser("rep_no_cost", &db).await else { return };
    let app = TestApp::start(db).await;
    let admin = app.user("admin@example.com", "admin").await;
    let rep = app.user("rita@example.com", "sales_rep").await;
    app.user("maria@example.com", "sales_manager").await;
    let cat = catalog(&app, &admin, Some(&rep)).await;
    // The rep's own quote and order, with the products that have costs.
    let lines = json!([{"product_id": cat.a["id"], "quantity": "2"}, {"product_id": cat.c["id"], "quantity": "1"}]);
    let q = post_ok(&app, &rep, "/api/v1/quotes", json!({"account_id": cat.account["id"], "lines": lines})).await;
    let o = post_ok(&app, &rep, "/api/v1/sales-orders", json!({"account_id": cat.account["id"], "lines": lines})).await;
    post_ok(
        &app,
        &rep,
        "/api/v1/opportunities",
        json!({"account_id": cat.account["id"], "name": "Harbour refit", "amount": "5000.00", "expected_close": "2030-01-31"}),
    )
    .await;
    let base = app.url("");
    let must_reach = vec![
        "/accounts".to_string(),
        "/products".into(),
        format!("/products/{}", id(&cat.a)),
        format!("/products/{}", id(&cat.c)),
        "/stock".into(),
        "/stock/movements".into(),
        "/quotes".into(),
        format!("/quotes/{}", id(&q)),
        format!("/quotes/{}/edit", id(&q)),
        "/sales-orders".into(),
        format!("/sales-orders/{}", id(&o)),
        format!("/accounts/{}", id(&cat.account)),
        "/opportunities".into(),
        "/price-lists".into(),
    ];
    // The costs (product costs, the stock's unit cost and its value, 50 × 6.13) as a page would print them.
    let secrets = ["7.71", "3.17", "55.19", "6.13", "306.50"];
    b.run(async {
        b.log_in(&base, "rita@example.com", PASSWORD).await;
        let pages = crawl(&b, &base, &must_reach, 60).await;
        let reached: Vec<&str> = pages.iter().map(|(p, _, _)| p.as_str()).collect();
        for p in &must_reach {
            assert!(reached.contains(&p.as_str()), "the rep reaches {p}: {reached:?}");
        }
        assert!(pages.len() >= must_reach.len(), "{reached:?}");
        for (path, text, source) in &pages {
            assert_eq!(mentions_cost_or_margin(text), None, "{path} shows a rep the word cost or margin:\n{text}");
            for s in secrets {
                assert!(!source.contains(s), "{path} shows a rep the cost figure {s}");
            }
        }
        // The same pages do show costs to a sales manager: the check can fail.
        b.click_and_wait("form[action='/logout'] button").await;
        b.log_in(&base, "maria@example.com", PASSWORD).await;
        b.goto(&format!("{base}/products/{}", id(&cat.a))).await;
        let text = b.body_text().await;
        assert_eq!(mentions_cost_or_margin(&text).as_deref(), Some("cost"), "{text}");
        // The stock came in at 6.13, which is now the product's (moving-average) cost.
        assert!(b.source().await.contains("6.13"), "the manager sees the cost");
    })
    .await;
}

/// A page on another origin (another loopback port) with a form that posts
/// a new account to Nave, as a hostile site would.
async fn hostile_site(nave: &str) -> (String, tokio::sync::oneshot::Sender<()>) {
    let html = format!(
        "<!doctype html><title>Win a prize</title><form method=post action='{nave}/accounts'>\
         <input name=name value='Evil Corp'><input name=currency value=EUR>\
         <button type=submit>Claim</button></form>"
    );
    let router = axum::Router::new().route("/", axum::routing::get(move || async move { axum::response::Html(html) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    (format!("http://{addr}/"), tx)
}

async fn a_page_form_posted_from_another_origin_is_refused(db: TestDb) {
    let Some(b) = browser("cross_origin", &db).await else { return };
    let app = TestApp::start(db).await;
    let mgr = app.user("maria@example.com", "sales_manager").await;
    let base = app.url("");
    let (evil, _stop) = hostile_site(&base).await;
    b.run(async {
        b.log_in(&base, "maria@example.com", PASSWORD).await;
        // The hostile page is same-site (127.0.0.1) but another origin (port),
        // so the browser sends the session cookie along: only the origin
        // check stands between it and a new account.
        b.goto(&evil).await;
        b.click_and_wait("button[type=submit]").await;
        let text = b.body_text().await;
        assert!(text.contains("Cross-site request refused"), "the post is refused: {text}");
        let list = get_ok(&app, &mgr, "/api/v1/accounts").await;
        assert!(!list.to_string().contains("Evil Corp"), "nothing was stored: {list}");
        // The same form on Nave's own page is accepted.
        b.goto(&format!("{base}/accounts/new")).await;
        b.fill("#name", "Good Corp").await;
        b.fill("#currency", "EUR").await;
        b.click_and_wait("form[action='/accounts'] button[type=submit]").await;
        assert!(b.path().await.starts_with("/accounts/"));
        let list = get_ok(&app, &mgr, "/api/v1/accounts").await;
        assert!(list.to_string().contains("Good Corp"), "{list}");
    })
    .await;
}

/// Holds the accounts table against writes until dropped: on SQLite the one
/// writer, on PostgreSQL an exclusive lock (reads go on).
async fn hold_account_writes(app: &TestApp) -> nave_store::Tx {
    let mut tx = app.db.db.write().await.unwrap();
    if tx.dialect() == nave_store::Dialect::Postgres {
        tx.execute("LOCK TABLE accounts IN EXCLUSIVE MODE", vec![]).await.unwrap();
    }
    tx
}

async fn an_import_shows_its_progress_and_summary_without_a_reload(db: TestDb) {
    let Some(b) = browser("import_progress", &db).await else { return };
    let app = TestApp::start(db).await;
    let admin = app.user("ada@example.com", "admin").await;
    let base = app.url("");
    let dir = std::env::temp_dir().join(format!("nave-browser-import-{}", nave_domain::ids::PublicId::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("accounts.csv");
    std::fs::write(
        &file,
        "name,currency,external_ids\nHarbour Supplies,EUR,erp:A-1\nBroken Ltd,EURO,erp:A-2\nInland Tools,EUR,erp:A-3\n",
    )
    .unwrap();
    b.run(async {
        b.log_in(&base, "ada@example.com", PASSWORD).await;
        b.goto(&format!("{base}/accounts")).await;
        b.click_and_wait("a[href='/imports?kind=accounts']").await;
        assert_eq!(b.path().await, "/imports");
        // The database is held, so the import waits with its page open.
        let hold = hold_account_writes(&app).await;
        b.find("#file").await.send_keys(file.to_str().unwrap()).await.unwrap();
        b.click_and_wait("button[value='import']").await;
        assert!(b.path().await.starts_with("/jobs/"), "the job's page");
        b.find("#job-progress progress").await;
        assert!(b.find_all("#created").await.is_empty(), "not done while the database is held");
        // A mark on this page: a reload would lose it.
        b.client.execute("window.__staysOpen = true; return true;", vec![]).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        assert!(b.body_text().await.contains("of 3 rows"), "the bar counts the file's rows: {}", b.body_text().await);
        hold.rollback().await.unwrap();
        // The summary replaces the bar by itself.
        assert_eq!(b.text("#created").await, "2");
        assert_eq!(b.text("#refused").await, "1");
        assert!(b.text("#row-errors").await.contains("currency"));
        let stayed = b.client.execute("return window.__staysOpen === true;", vec![]).await.unwrap();
        assert_eq!(stayed, json!(true), "the page was updated in place, not reloaded");
        assert!(b.find_all("#job-progress[hx-trigger]").await.is_empty(), "the polling stopped");
        let harbour = get_ok(&app, &admin, "/api/v1/accounts/by-external-id/erp/A-1").await;
        assert_eq!(harbour["name"], "Harbour Supplies");
    })
    .await;
    let _ = std::fs::remove_dir_all(&dir);
}

both_backends!(
    an_import_shows_its_progress_and_summary_without_a_reload,
    logs_in_and_creates_an_account_and_a_contact_through_the_pages,
    builds_a_quote_and_takes_it_through_order_shipment_invoice_and_payment,
    a_sales_rep_browsing_every_page_never_sees_cost_or_margin,
    a_page_form_posted_from_another_origin_is_refused,
);
