//! The pages of quotes, orders, invoices and credit notes over real HTTP, on
//! both databases: the editor (two lines priced by the server, a bad line
//! kept with its error next to its field, a stale edit), the detail page with
//! the actions its status allows, the lists, the account page's documents,
//! and a rep kept out of another rep's quote.

mod support;

use nave_domain::access::BuiltinRole;
use nave_testkit::{TestDb, both_backends};
use serde_json::{Value, json};
use support::{TestApp, TestUser, form, get_ok, json, page, session};

struct Setup {
    admin: TestUser,
    cookie: String,
    account: Value,
    a: Value,
    b: Value,
}

async fn setup(app: &TestApp) -> Setup {
    let admin = app.user("admin@example.com", "admin").await;
    let (_, vat) = json(app.post("/api/v1/taxes", &admin, &json!({"name": "VAT 10 %", "rate": "10"})).await).await;
    let (_, cat) =
        json(app.post("/api/v1/tax-categories", &admin, &json!({"name": "Standard", "tax_ids": [vat["id"]]})).await)
            .await;
    let mut products = vec![];
    for (sku, name, price) in [("A", "Widget A", "12.50"), ("B", "Widget B", "7.99")] {
        let (s, p) = json(
            app.post(
                "/api/v1/products",
                &admin,
                &json!({"sku": sku, "name": name, "list_price": price, "currency": "EUR", "tax_category_id": cat["id"]}),
            )
            .await,
        )
        .await;
        assert_eq!(s, 201, "{p}");
        products.push(p);
    }
    let (s, account) =
        json(app.post("/api/v1/accounts", &admin, &json!({"name": "Acme Ltd", "currency": "EUR"})).await).await;
    assert_eq!(s, 201, "{account}");
    let cookie = session(app, "admin@example.com").await;
    let b = products.pop().unwrap();
    let a = products.pop().unwrap();
    Setup { admin, cookie, account, a, b }
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// The editor's fields for a quote of the account with lines (product, quantity).
fn quote_form(s: &Setup, lines: &[(&Value, &str)]) -> Vec<(String, String)> {
    let mut f = vec![("account_id".to_string(), id(&s.account)), ("op".into(), "save".into())];
    for (i, (p, q)) in lines.iter().enumerate() {
        f.push((format!("groups[0].lines[{i}].product_id"), id(p)));
        f.push((format!("groups[0].lines[{i}].quantity"), q.to_string()));
    }
    // An empty row, as the editor always shows some: ignored.
    f.push(("groups[0].lines[7].quantity".into(), String::new()));
    f
}

fn pairs(f: &[(String, String)]) -> Vec<(&str, &str)> {
    f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

async fn a_quote_is_made_in_the_editor_and_shown_with_the_servers_totals(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let (status, html) = page(&app, &s.cookie, "/quotes/new").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("name=\"groups[0].lines[0].quantity\""), "the editor has line rows");
    assert!(html.contains("A – Widget A"), "products are offered by SKU and name");
    assert!(html.contains("Acme Ltd"), "the account is offered");
    assert!(html.contains("href=\"/quotes\""), "the navigation links the quotes");
    // ?account_id= picks the account.
    let (_, html) = page(&app, &s.cookie, &format!("/quotes/new?account_id={}", id(&s.account))).await;
    assert!(html.contains(&format!("value=\"{}\" selected", id(&s.account))), "the account is pre-selected");

    let f = quote_form(&s, &[(&s.a, "3"), (&s.b, "2")]);
    let (status, to, body) = form(&app, &s.cookie, "/quotes", &pairs(&f)).await;
    assert_eq!(status, 303, "{body}");
    assert!(to.starts_with("/quotes/"), "{to}");
    let (status, html) = page(&app, &s.cookie, &to).await;
    assert_eq!(status, 200);
    assert!(html.contains("QUO-"), "the quote's number: {html}");
    assert!(html.contains("Widget A") && html.contains("Widget B"), "its lines");
    assert!(html.contains("37.50"), "a line's net");
    assert!(html.contains("58.83"), "the total from the engine");
    assert!(html.contains("VAT 10 %"), "the tax itemized");
    assert!(html.contains("/actions/send"), "a draft quote may be sent");
    assert!(html.contains("/edit"), "a draft may be edited");
    assert!(html.contains(&format!("{to}/pdf")), "the PDF is offered");
    let r = app.client.get(app.url(&format!("{to}/pdf"))).header("cookie", &s.cookie).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert!(r.bytes().await.unwrap().starts_with(b"%PDF-"));

    // The list shows it, and the search finds it.
    let (status, list) = page(&app, &s.cookie, "/quotes").await;
    assert_eq!(status, 200);
    assert!(list.contains(&to) && list.contains("58.83") && list.contains("Acme Ltd"), "{list}");
    let (_, list) = page(&app, &s.cookie, "/quotes?q=acme&status=draft").await;
    assert!(list.contains(&to));
    let (_, list) = page(&app, &s.cookie, "/quotes?status=sent").await;
    assert!(!list.contains(&to), "the status filter works");
    for path in
        ["/sales-orders", "/invoices", "/credit-notes", "/sales-orders/new", "/invoices/new", "/credit-notes/new"]
    {
        let (status, html) = page(&app, &s.cookie, path).await;
        assert_eq!(status, 200, "{path}: {html}");
    }

    // A draft is not converted: refused on the page, naming what is allowed.
    let (status, _, html) = form(&app, &s.cookie, &format!("{to}/actions/convert"), &[("to", "sales_order")]).await;
    assert_eq!(status, 409, "{html}");
    assert!(html.contains("send, accept, reject"), "{html}");

    // Sending: the page then offers what a sent quote allows.
    let (status, back, body) = form(&app, &s.cookie, &format!("{to}/actions/send"), &[]).await;
    assert_eq!(status, 303, "{body}");
    assert_eq!(back, to);
    let (_, html) = page(&app, &s.cookie, &to).await;
    assert!(html.contains(">sent<"), "{html}");
    for a in ["accept", "reject", "expire", "revise"] {
        assert!(html.contains(&format!("/actions/{a}\"")), "offers {a}");
    }
    assert!(!html.contains("/actions/send\""), "no longer offers send");
    assert!(!html.contains(&format!("{to}/edit")), "a sent quote is not edited");
    // An action its status does not allow is refused on the page, readably.
    let (status, _, html) = form(&app, &s.cookie, &format!("{to}/actions/send"), &[]).await;
    assert_eq!(status, 409);
    assert!(html.contains("role=\"alert\"") && html.contains("sent"), "{html}");

    // Revising keeps the earlier revision readable.
    let (status, _, _) = form(&app, &s.cookie, &format!("{to}/actions/revise"), &[]).await;
    assert_eq!(status, 303);
    let (_, html) = page(&app, &s.cookie, &to).await;
    assert!(html.contains(&format!("{to}/revisions/1")), "{html}");
    let (status, html) = page(&app, &s.cookie, &format!("{to}/revisions/1")).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("58.83") && html.contains("Widget B"), "{html}");

    // The account page lists the open quote and offers a new one.
    let (_, html) = page(&app, &s.cookie, &format!("/accounts/{}", id(&s.account))).await;
    assert!(html.contains("Documents"), "{html}");
    assert!(html.contains(&to), "the quote is in the account's documents");
    assert!(html.contains(&format!("/quotes/new?account_id={}", id(&s.account))));
}

/// The editor's live totals: the form as typed, priced by the server and
/// nothing stored; they equal what saving the same form stores.
async fn the_editor_shows_live_totals_from_the_server_without_saving(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let (_, html) = page(&app, &s.cookie, "/quotes/new").await;
    assert!(html.contains("hx-post=\"/quotes/preview\"") && html.contains("id=\"live-totals\""), "{html}");

    // Two groups, a group discount and a shipping line.
    let mut f = quote_form(&s, &[(&s.a, "3"), (&s.b, "2")]);
    f.extend([
        ("groups[0].name".to_string(), "Hardware".to_string()),
        ("groups[1].name".into(), "Freight".into()),
        ("groups[1].discount_percent".into(), "10".into()),
        ("groups[1].lines[0].kind".into(), "shipping".into()),
        ("groups[1].lines[0].description".into(), "Pallet".into()),
        ("groups[1].lines[0].quantity".into(), "1".into()),
        ("groups[1].lines[0].unit_price".into(), "20".into()),
    ]);
    let (status, _, live) = form(&app, &s.cookie, "/quotes/preview", &pairs(&f)).await;
    assert_eq!(status, 200, "{live}");
    let list = get_ok(&app, &s.admin, "/api/v1/quotes").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0, "a preview stores nothing");
    assert!(live.contains("Hardware") && live.contains("Freight"), "each group's net: {live}");

    let (status, to, body) = form(&app, &s.cookie, "/quotes", &pairs(&f)).await;
    assert_eq!(status, 303, "{body}");
    let q = get_ok(&app, &s.admin, &format!("/api/v1{to}")).await;
    let t = &q["totals"];
    for k in ["subtotal", "net", "shipping", "tax"] {
        let shown = format!("<td class=\"num\">{}</td>", t[k].as_str().unwrap());
        assert!(live.contains(&shown), "{k} {shown} in {live}");
    }
    assert!(live.contains(&format!("€{}", t["total"].as_str().unwrap())), "the total with its currency: {live} vs {t}");

    // Groups move and go in the form without saving; saving stores the new order.
    let mut moved = f.clone();
    moved.retain(|(k, _)| k != "op");
    moved.push(("op".into(), "group_down:0".into()));
    let (status, _, html) = form(&app, &s.cookie, &to, &pairs(&moved)).await;
    assert_eq!(status, 200, "{html}");
    let first = html.find("value=\"Freight\"").unwrap();
    let second = html.find("value=\"Hardware\"").unwrap();
    assert!(first < second, "Freight is the first group now");
    assert!(html.contains("value=\"group_up:1\"") && html.contains("value=\"remove_group:0\""), "{html}");
    let q = get_ok(&app, &s.admin, &format!("/api/v1{to}")).await;
    assert_eq!(q["groups"][0]["name"], "Hardware", "nothing saved yet");
    let mut swapped = vec![("op".to_string(), "save".to_string()), ("version".into(), q["version"].to_string())];
    for (k, v) in &f {
        let k = if let Some(rest) = k.strip_prefix("groups[0]") {
            format!("groups[1]{rest}")
        } else if let Some(rest) = k.strip_prefix("groups[1]") {
            format!("groups[0]{rest}")
        } else {
            k.clone()
        };
        if k != "op" {
            swapped.push((k, v.clone()));
        }
    }
    let (status, back, body) = form(&app, &s.cookie, &to, &pairs(&swapped)).await;
    assert_eq!((status, back.as_str()), (303, to.as_str()), "{body}");
    let q2 = get_ok(&app, &s.admin, &format!("/api/v1{to}")).await;
    let names: Vec<&str> = q2["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Freight", "Hardware"]);
    assert_eq!(q2["totals"], q["totals"], "the order of groups changes no amount");
    let mut removed = swapped.clone();
    removed.retain(|(k, _)| k != "op");
    removed.push(("op".into(), "remove_group:0".into()));
    let (_, _, html) = form(&app, &s.cookie, &to, &pairs(&removed)).await;
    assert!(!html.contains("value=\"Freight\"") && html.contains("value=\"Hardware\""), "{html}");
    assert!(!html.contains("remove_group:"), "the one group left cannot be removed");
    let f = swapped;

    // Editing: the preview of the stored draft's form gives the stored totals.
    let (status, _, again) = form(&app, &s.cookie, &format!("{to}/preview"), &pairs(&f)).await;
    assert_eq!(status, 200);
    let totals = |h: &str| h[h.find("<table class=\"totals").unwrap()..].to_string();
    assert_eq!(totals(&again), totals(&live), "the stored draft (groups now swapped) prices the same");

    // An incomplete form says what is missing instead of totals; a bad number is named.
    let (status, _, html) = form(&app, &s.cookie, "/quotes/preview", &[("groups[0].lines[0].quantity", "2")]).await;
    assert_eq!(status, 200);
    assert!(html.contains("Choose the account") && !html.contains("class=\"totals"), "{html}");
    let mut bad = quote_form(&s, &[(&s.a, "three")]);
    bad.push(("op".into(), "save".into()));
    let (_, _, html) = form(&app, &s.cookie, "/quotes/preview", &pairs(&bad)).await;
    assert!(html.contains("group 1, line 1, quantity"), "{html}");

    // A rep may not preview on an account outside their scope, and a foreign post is refused.
    app.user("rep@example.com", "sales_rep").await;
    let rep = session(&app, "rep@example.com").await;
    let (status, _, _) = form(&app, &rep, "/quotes/preview", &pairs(&quote_form(&s, &[(&s.a, "1")]))).await;
    assert!(status == 403 || status == 404 || status == 422, "{status}");
    let r = app
        .client
        .post(app.url("/quotes/preview"))
        .header("cookie", &s.cookie)
        .header("origin", "https://evil.example")
        .form(&pairs(&f))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

async fn a_bad_line_is_shown_next_to_its_field_and_a_stale_edit_is_refused(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    // A quantity the store refuses: the row keeps what was typed, the error is next to it.
    let mut f = quote_form(&s, &[(&s.a, "3"), (&s.b, "-1")]);
    f.push(("reference".into(), "PO-7781".into()));
    let (status, _, html) = form(&app, &s.cookie, "/quotes", &pairs(&f)).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("id=\"g0-l1-quantity-err\""), "the error is next to line 2's quantity: {html}");
    assert!(html.contains("value=\"-1\""), "the input is kept");
    assert!(html.contains("value=\"PO-7781\""), "the header is kept");
    // A quantity that is not a number.
    let f = quote_form(&s, &[(&s.a, "three")]);
    let (status, _, html) = form(&app, &s.cookie, "/quotes", &pairs(&f)).await;
    assert_eq!(status, 422);
    assert!(html.contains("id=\"g0-l0-quantity-err\"") && html.contains("value=\"three\""), "{html}");
    let (_, list) = json(app.get("/api/v1/quotes", &s.admin).await).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 0, "nothing stored");

    // "Add lines" shows the form again with more rows and saves nothing.
    let mut f = quote_form(&s, &[(&s.a, "3")]);
    f.retain(|(k, _)| k != "op");
    f.push(("op".into(), "add_lines:0".into()));
    let (status, _, html) = form(&app, &s.cookie, "/quotes", &pairs(&f)).await;
    assert_eq!(status, 200);
    assert!(html.contains("name=\"groups[0].lines[5].quantity\""), "five more rows");
    assert!(html.contains("value=\"3\""));

    // Edit with the version shown; then again with that stale version: 409.
    let f = quote_form(&s, &[(&s.a, "3")]);
    let (_, to, _) = form(&app, &s.cookie, "/quotes", &pairs(&f)).await;
    let (status, html) = page(&app, &s.cookie, &format!("{to}/edit")).await;
    assert_eq!(status, 200);
    assert!(html.contains("name=\"version\" value=\"1\""), "{html}");
    let edit = |qty: &str| {
        vec![
            ("version".to_string(), "1".to_string()),
            ("groups[0].lines[0].product_id".into(), id(&s.a)),
            ("groups[0].lines[0].quantity".into(), qty.into()),
        ]
    };
    let (status, back, body) = form(&app, &s.cookie, &to, &pairs(&edit("4"))).await;
    assert_eq!(status, 303, "{body}");
    assert_eq!(back, to);
    let (_, html) = page(&app, &s.cookie, &to).await;
    assert!(html.contains("55.00"), "4 × 12.50 + 10 %: {html}");
    let (status, _, html) = form(&app, &s.cookie, &to, &pairs(&edit("5"))).await;
    assert_eq!(status, 409, "{html}");
    assert!(html.contains("Someone else changed this record"), "{html}");
    let (_, html) = page(&app, &s.cookie, &to).await;
    assert!(html.contains("55.00"), "the stale edit changed nothing");

    // A draft is deleted from its page.
    let (status, back, body) = form(&app, &s.cookie, &format!("{to}/delete"), &[("version", "2")]).await;
    assert_eq!(status, 303, "{body}");
    assert_eq!(back, "/quotes");
    let (status, _) = page(&app, &s.cookie, &to).await;
    assert_eq!(status, 404);
}

async fn a_rep_sees_only_the_quotes_of_their_own_accounts(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let ann = app.user("ann@example.com", "sales_rep").await;
    let bob = app.user("bob@example.com", "sales_rep").await;
    let (_, bobs) = json(
        app.post(
            "/api/v1/accounts",
            &s.admin,
            &json!({"name": "Bob's Customer", "currency": "EUR", "owner_id": bob.user.id.to_string()}),
        )
        .await,
    )
    .await;
    let (status, q) = json(
        app.post(
            "/api/v1/quotes",
            &s.admin,
            &json!({"account_id": bobs["id"], "lines": [{"product_id": s.a["id"], "quantity": "1"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{q}");
    let path = format!("/quotes/{}", id(&q));
    let ann_cookie = session(&app, &ann.user.email.to_string()).await;
    let (status, _) = page(&app, &ann_cookie, &path).await;
    assert_eq!(status, 404, "another rep's quote is not found");
    let (status, _) = page(&app, &ann_cookie, &format!("{path}/edit")).await;
    assert_eq!(status, 404);
    let (_, list) = page(&app, &ann_cookie, "/quotes").await;
    assert!(!list.contains(&path), "nor listed");
    let (status, _, _) = form(&app, &ann_cookie, &format!("{path}/actions/send"), &[]).await;
    assert_eq!(status, 404, "nor acted on");
    let bob_cookie = session(&app, &bob.user.email.to_string()).await;
    let (status, html) = page(&app, &bob_cookie, &path).await;
    assert_eq!(status, 200, "{html}");
    // A rep reads invoices but may not make them: no "New" button.
    let (_, html) = page(&app, &bob_cookie, "/invoices").await;
    assert!(!html.contains("/invoices/new"), "{html}");
    let (status, _) = page(&app, &bob_cookie, "/invoices/new").await;
    assert_eq!(status, 403);
}

async fn every_document_page_renders_for_every_role(db: TestDb) {
    let app = TestApp::start(db).await;
    let s = setup(&app).await;
    let (_, q) = json(
        app.post(
            "/api/v1/quotes",
            &s.admin,
            &json!({"account_id": s.account["id"], "lines": [{"product_id": s.a["id"], "quantity": "2"}]}),
        )
        .await,
    )
    .await;
    let (_, inv) = json(
        app.post(
            "/api/v1/invoices",
            &s.admin,
            &json!({"account_id": s.account["id"], "lines": [{"product_id": s.b["id"], "quantity": "1"}]}),
        )
        .await,
    )
    .await;
    let (quote, invoice) = (format!("/quotes/{}", id(&q)), format!("/invoices/{}", id(&inv)));
    let account = format!("/accounts/{}", id(&s.account));
    for &role in BuiltinRole::ALL {
        let email = format!("{}.user@example.com", role.as_str());
        app.user(&email, role.as_str()).await;
        let cookie = session(&app, &email).await;
        let paths = [
            "/quotes".to_string(),
            "/sales-orders".into(),
            "/invoices".into(),
            "/credit-notes".into(),
            "/quotes/new".into(),
            "/invoices/new".into(),
            quote.clone(),
            format!("{quote}/edit"),
            invoice.clone(),
            account.clone(),
        ];
        for path in &paths {
            let (status, html) = page(&app, &cookie, path).await;
            assert!(status < 500, "{role} {path}: {status}");
            assert!(html.contains("</html>"), "{role} {path}: a whole page");
        }
        let (status, html) = page(&app, &cookie, "/").await;
        assert_eq!(status, 200);
        let reads_quotes = !matches!(role, BuiltinRole::Warehouse);
        assert_eq!(html.contains("href=\"/quotes\""), reads_quotes, "{role}: the Quotes link follows the role");
    }
}

both_backends!(
    the_editor_shows_live_totals_from_the_server_without_saving,
    a_quote_is_made_in_the_editor_and_shown_with_the_servers_totals,
    a_bad_line_is_shown_next_to_its_field_and_a_stale_edit_is_refused,
    a_rep_sees_only_the_quotes_of_their_own_accounts,
    every_document_page_renders_for_every_role,
);
